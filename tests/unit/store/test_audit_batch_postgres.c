/*
 * test_audit_batch_postgres.c - every case of test_audit_batch.c on PostgreSQL, a
 * database per test (tests/unit/db/pgtest.h): the unnest path with its array
 * literals.  Skipped (77) without $SAMVERKA_TEST_PG.
 */
#define AUDIT_TEST_POSTGRES 1
#include "test_audit_batch.c"
