/*
 * log.h - diagnostic log lines on stderr, one line each, key=value.
 *
 * Never log patient data: callers log routes, status codes, sizes, timings and
 * request ids - not paths with ids, query strings or bodies.  Only http/, api/
 * and main call this (library layers return errors instead).
 */
#ifndef SV_BASE_LOG_H
#define SV_BASE_LOG_H

typedef enum sv_log_level { SV_LOG_DEBUG, SV_LOG_INFO, SV_LOG_WARN, SV_LOG_ERROR } sv_log_level;

void sv_log_set_level(sv_log_level min);
sv_log_level sv_log_get_level(void);
void sv_log(sv_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
