/*
 * test_batch_postgres.c - test_batch.c on PostgreSQL (tests/unit/db/tmpdb.h): there
 * each connection is a writer of its own (its transactions run beside the others'),
 * so each message is a batch; a refusal undoes its transaction the same way.
 * Skipped (77) without $SAMVERKA_TEST_PG.
 */
#define TMPDB_POSTGRES 1
#include "test_batch.c"
