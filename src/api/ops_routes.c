/*
 * ops_routes.c - GET /healthz and GET /metrics (docs/operations.md).
 *
 * /healthz answers 200 "ok" only when this process's database connection
 * answers a query and the schema is this build's, else 503 with an
 * OperationOutcome: a load balancer takes the process out of rotation.
 * /metrics is the Prometheus text format: requests by route pattern and status
 * and their latency (base/metrics.h), the database's write transactions and
 * durable commits (their ratio is the group-commit size), the access policy's
 * memo hits and misses, the watchdog's jobs,
 * the MedCom outbox, the audit log's length, and the process's memory, open
 * files and CPU time.  Labels carry route patterns and fixed codes only, never
 * ids or names.  Neither needs a login: they tell nothing about anyone.
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "api/internal.h"
#include "base/datetime.h"
#include "base/metrics.h"
#include "medcom/medcom.h"
#include "ops/gauges.h"
#include "policy/policy.h"

void sv__api_healthz(sv_api *api, const sv_http_request *req, sv_http_response *res)
{
    res->route = "GET /healthz";
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        sv__api_error(res, SV_ERR_METHOD, NULL, "/healthz answers GET");
        return;
    }
    sv_db *db = NULL;
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv__api_conn(api, &db, &err);
    if (!e)
        e = sv_ops_health(db, &err);
    if (e) {
        /* 503 whatever the cause: the process cannot serve now. */
        sv__api_error(res, SV_ERR_BUSY, NULL, "the database is not available: %s",
                      err.len ? err.ptr : sv_strerror(e));
    } else {
        res->status = 200;
        res->content_type = "text/plain; charset=utf-8";
        sv_buf_adds(&res->body, "ok\n");
    }
    sv_buf_release(&err);
}

static int64_t count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int64_t n = 0;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL)
        if (ent->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory's own */
}

static int64_t resident_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long long size = 0, resident = 0;
    if (!f)
        return -1;
    int got = fscanf(f, "%lld %lld", &size, &resident);
    fclose(f);
    return got == 2 ? (int64_t)resident * sysconf(_SC_PAGESIZE) : -1;
}

static void gauge_labelled(sv_buf *out, const char *name, const char *help, const char *label,
                           const char *const *values, const int64_t *counts, int n)
{
    sv_buf_addf(out, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
    for (int i = 0; i < n; i++)
        sv_buf_addf(out, "%s{%s=\"%s\"} %lld\n", name, label, values[i], (long long)counts[i]);
}

void sv__api_metrics(sv_api *api, const sv_http_request *req, sv_http_response *res)
{
    res->route = "GET /metrics";
    if (strcmp(req->method, "GET") != 0) {
        sv__api_error(res, SV_ERR_METHOD, NULL, "/metrics answers GET");
        return;
    }
    sv_buf *out = &res->body;
    sv_metrics_render_requests(out);
    sv_db_write_stats w;
    sv_api_write_counts(api, &w);
    sv_medcom_writer_stats mc;
    sv_medcom_writer_stats_get(&mc);
    /* The write path (SQLite; 0 on PostgreSQL) and the MedCom writer: counters all. */
    const struct {
        const char *name, *help;
        double value;
    } counters[] = {
        {"samverka_db_write_transactions_total",
         "Write transactions committed by this process (SQLite).", (double)w.transactions},
        {"samverka_db_commits_total",
         "Durable commits that carried them (group commit: transactions per commit is the "
         "group size).",
         (double)w.commits},
        {"samverka_db_write_transactions_joined_total",
         "Write transactions that joined a group already open (each in a savepoint, SQLite).",
         (double)w.joined},
        {"samverka_db_log_syncs_total",
         "Syncs of the log that made those commits durable (one can serve several, SQLite).",
         (double)w.syncs},
        {"samverka_db_commit_seconds_total",
         "Time the writer spent in the groups' COMMITs, writing the log (SQLite).",
         (double)w.commit_ns / 1e9},
        {"samverka_db_writer_checkpoint_seconds_total",
         "Of the COMMIT time, the writer's own checkpoints (which let the log restart, SQLite).",
         (double)w.own_checkpoint_ns / 1e9},
        {"samverka_db_log_frames_total", "Pages appended to the log by the commits (SQLite).",
         (double)w.frames},
        {"samverka_db_log_sync_seconds_total", "Time spent syncing the log (SQLite).",
         (double)w.sync_ns / 1e9},
        {"samverka_db_checkpoints_total",
         "Checkpoints of the log into the database file, off the writer (SQLite).",
         (double)w.checkpoints},
        {"samverka_medcom_batches_total",
         "Write transactions of the incoming MedCom messages' writer.", (double)mc.batches},
        {"samverka_medcom_batch_messages_total",
         "Incoming MedCom messages applied in those transactions.", (double)mc.messages},
        {"samverka_medcom_refusals_total",
         "Of those, messages refused for their content (the rest of their batch was applied "
         "again without them).",
         (double)mc.refusals},
        {"samverka_medcom_apply_seconds_total",
         "Time the writer spent applying them (from its wait for the database's writer to the "
         "end, without the commit).",
         (double)mc.apply_ns / 1e9},
        {"samverka_medcom_apply_cpu_seconds_total", "CPU time of the writer's thread meanwhile.",
         (double)mc.apply_cpu_ns / 1e9},
    };
    for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
        sv_metrics_render_value(out, counters[i].name, "counter", counters[i].help,
                                counters[i].value);
    sv_metrics_render_value(out, "samverka_notification_waiters", "gauge",
                            "Long polls on /notifications parked in this process (at most "
                            "--long-polls).",
                            (double)sv_http_parked_count());
    int64_t hits = 0, misses = 0;
    sv_policy_memo_counts(&hits, &misses);
    static const char *const outcomes[] = {"hit", "miss"};
    int64_t memo_counts[] = {hits, misses};
    sv_buf_adds(out, "# HELP samverka_policy_memo_lookups_total Access-policy values looked up in "
                     "the per-connection memo: kept and still valid (hit) or read anew (miss).\n"
                     "# TYPE samverka_policy_memo_lookups_total counter\n");
    for (int i = 0; i < 2; i++)
        sv_buf_addf(out, "samverka_policy_memo_lookups_total{outcome=\"%s\"} %lld\n", outcomes[i],
                    (long long)memo_counts[i]);
    sv_db *db = NULL;
    sv_buf err = SV_BUF_INIT;
    sv_ops_gauges g = {0};
    sv_err e = sv__api_conn(api, &db, &err);
    if (!e)
        e = sv_ops_gauges_read(db, sv_clock_now_ms(), &g, &err);
    sv_metrics_render_value(out, "samverka_db_up", "gauge",
                            "1 when the database answered this scrape's queries.", e ? 0 : 1);
    if (!e) {
        static const char *const jobs[] = {"fired", "waiting", "overdue"};
        int64_t job_counts[] = {g.jobs_fired, g.jobs_waiting, g.jobs_overdue};
        gauge_labelled(out, "samverka_watchdog_jobs",
                       "The watchdog's timed jobs in the database (all processes): fired, "
                       "waiting, and waiting past their time.",
                       "state", jobs, job_counts, 3);
        static const char *const states[] = {"pending", "sent", "other"};
        int64_t outbox_counts[] = {g.outbox_pending, g.outbox_sent, g.outbox_other};
        gauge_labelled(out, "samverka_medcom_outbox_messages",
                       "Outgoing MedCom messages by delivery state; pending is the queue.", "state",
                       states, outbox_counts, 3);
        sv_metrics_render_value(out, "samverka_audit_records", "gauge", "Records in the audit log.",
                                (double)g.audit_records);
        sv_metrics_render_value(out, "samverka_schema_version", "gauge",
                                "The database's schema version.", g.schema_version);
    }
    sv_buf_release(&err);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    sv_metrics_render_value(out, "process_cpu_seconds_total", "counter",
                            "User and system CPU time of the process.", cpu);
    sv_metrics_render_value(out, "process_resident_memory_bytes", "gauge",
                            "Resident memory of the process.", (double)resident_bytes());
    sv_metrics_render_value(out, "process_open_fds", "gauge",
                            "Open file descriptors of the process.", (double)count_fds());
    res->status = 200;
    res->content_type = "text/plain; version=0.0.4; charset=utf-8";
}
