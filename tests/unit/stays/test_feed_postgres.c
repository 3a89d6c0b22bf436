/*
 * test_feed_postgres.c - every case of test_feed.c on PostgreSQL (tests/unit/db/
 * tmpdb.h with TMPDB_POSTGRES).  Skipped (77) without $SAMVERKA_TEST_PG.
 */
#define TMPDB_POSTGRES 1
#include "test_feed.c"
