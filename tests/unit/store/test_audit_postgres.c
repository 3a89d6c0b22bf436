/*
 * test_audit_postgres.c - every case of test_audit.c on PostgreSQL, a database
 * per test (tests/unit/db/pgtest.h): tampering found and named, appends from
 * several connections forming one chain.  Skipped (77) without $SAMVERKA_TEST_PG.
 */
#define AUDIT_TEST_POSTGRES 1
#include "test_audit.c"
