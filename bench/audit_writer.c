/*
 * audit_writer.c - the read-audit writer alone (api/audit_log.c over store/audit.c):
 * how many records per second the flushing thread appends, with nothing else using
 * the machine's database.  bench/audit-writer.sh builds and runs it.
 *
 *   bench_audit_writer DB-URI [RECORDS]
 *
 * Migrates DB-URI (a fresh SQLite file or PostgreSQL database), queues RECORDS
 * (default 200000) read records as fast as one thread can (the queue's back-pressure
 * then paces the adding to the writer, as it paces reads in the server), stops the log
 * (which writes what is left) and prints the elapsed time, records per second, this
 * process's CPU per record and whether the chain verifies.  Not a test: its figures go
 * into docs/performance.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "api/audit_log.h"
#include "store/audit.h"
#include "store/schema.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int fail(const char *what, sv_err e, sv_buf *err)
{
    fprintf(stderr, "bench_audit_writer: %s: %s %s\n", what, sv_strerror(e), err->ptr);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: bench_audit_writer DB-URI [RECORDS]\n");
        return 2;
    }
    const char *uri = argv[1];
    long records = argc == 3 ? strtol(argv[2], NULL, 10) : 200000;
    if (records <= 0) {
        fprintf(stderr, "bench_audit_writer: RECORDS must be a positive number\n");
        return 2;
    }
    sv_buf err = SV_BUF_INIT;
    sv_db *db = NULL;
    sv_db_options opt = {.busy_timeout_ms = 5000};
    sv_err e = sv_db_open(uri, &opt, &db, &err);
    if (!e)
        e = sv_schema_migrate(db, NULL, &err);
    if (e)
        return fail("open", e, &err);
    sv_audit_log *log = NULL;
    e = sv_audit_log_start(uri, 5000, &log, &err);
    if (e)
        return fail("start", e, &err);

    /* Records shaped like bench/run.sh's reads by a practitioner. */
    sv_audit_actor actor = {.kind = "practitioner",
                            .id = "Practitioner/bench-writer",
                            .organisation = "Organization/bench",
                            .role = "doctor",
                            .purpose = "TREAT"};
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    int64_t t0_ms = (int64_t)wall.tv_sec * 1000 + wall.tv_nsec / 1000000;
    double cpu0 = cpu_s(), t0 = now_s();
    for (long i = 0; i < records; i++) {
        char id[32];
        snprintf(id, sizeof(id), "bench-%ld", i % 5000);
        sv_audit_record rec = {.time_ms = t0_ms + i / 1000,
                               .citizen = id,
                               .action = "read",
                               .resource_type = "Patient",
                               .resource_id = id,
                               .resource_version = 1,
                               .outcome = 200};
        sv_audit_record_set_actor(&rec, &actor);
        sv_audit_log_add(log, &rec);
    }
    sv_audit_log_stop(log);
    double elapsed = now_s() - t0, cpu = cpu_s() - cpu0;

    sv_audit_report rep;
    e = sv_audit_verify(db, &rep, &err);
    if (e)
        return fail("verify", e, &err);
    printf("backend      %s\n", sv_db_backend_name(db));
    printf("records      %ld queued, %lld in the chain\n", records, (long long)rep.records);
    printf("elapsed      %.2f s\n", elapsed);
    printf("records/s    %.0f\n", (double)records / elapsed);
    printf("cpu/record   %.1f us (this process: the adding thread and the writer)\n",
           cpu / (double)records * 1e6);
    printf("chain        %s\n", rep.problem == SV_AUDIT_OK ? "verifies" : "BROKEN");
    sv_db_close(db);
    sv_buf_release(&err);
    return rep.problem == SV_AUDIT_OK && rep.records >= records ? 0 : 1;
}
