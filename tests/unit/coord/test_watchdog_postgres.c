/*
 * test_watchdog_postgres.c - every case of test_watchdog.c on PostgreSQL, a
 * database per test (tests/unit/db/pgtest.h): there the ticks of two processes
 * pick their jobs with FOR UPDATE SKIP LOCKED before they wait for the write
 * lock, and each job still fires once.  Skipped (77) without $SAMVERKA_TEST_PG.
 */
#define TMPDB_POSTGRES 1
#include "test_watchdog.c"
