/* log.c - see log.h.  One write(2) per line so lines from threads never interleave. */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/datetime.h"

static sv_log_level min_level = SV_LOG_INFO;
static const char *names[] = {"debug", "info", "warn", "error"};

void sv_log_set_level(sv_log_level min)
{
    min_level = min;
}

sv_log_level sv_log_get_level(void)
{
    return min_level;
}

void sv_log(sv_log_level level, const char *fmt, ...)
{
    if (level < min_level)
        return;
    char ts[SV_INSTANT_LEN];
    sv_datetime_format_instant(sv_clock_now_ms(), ts);
    sv_buf b = SV_BUF_INIT;
    sv_buf_addf(&b, "ts=%s level=%s ", ts, names[level]);
    va_list ap;
    va_start(ap, fmt);
    sv_buf_vaddf(&b, fmt, ap);
    va_end(ap);
    sv_buf_addc(&b, '\n');
    ssize_t n = write(STDERR_FILENO, b.ptr, b.len);
    (void)n;
    sv_buf_release(&b);
}
