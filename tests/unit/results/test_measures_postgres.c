/*
 * test_measures_postgres.c - every case of test_measures.c on PostgreSQL, a
 * database per fixture (tests/unit/db/tmpdb.h with TMPDB_POSTGRES): the same
 * hand-computed answers from both backends.  Skipped (77) without
 * $SAMVERKA_TEST_PG.
 */
#define TMPDB_POSTGRES 1
#include "test_measures.c"
