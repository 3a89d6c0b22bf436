/*
 * pgtest.h - test helper: fresh PostgreSQL databases on the cluster named by
 * $SAMVERKA_TEST_PG (an admin URI; tools/pg-scratch.sh starts a throw-away
 * cluster and sets it: `tools/pg-scratch.sh run ctest --test-dir build`).
 *
 * Without the variable a PostgreSQL test exits with PGTEST_SKIP, which ctest
 * reports as skipped (SKIP_RETURN_CODE in CMakeLists.txt); tools/check.sh always
 * sets it.  Header-only, like tmpdb.h.  Uses db.h only.
 */
#ifndef SV_TEST_PGTEST_H
#define SV_TEST_PGTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"

#define PGTEST_SKIP 77

/* The admin URI, or NULL after saying why the tests are skipped. */
static inline const char *pgtest_admin_uri(const char *suite)
{
    const char *uri = getenv("SAMVERKA_TEST_PG");
    if (uri && *uri)
        return uri;
    printf("SKIP %s: SAMVERKA_TEST_PG is not set (tools/pg-scratch.sh run ctest ... sets it)\n",
           suite);
    return NULL;
}

static inline sv_db *pgtest_open(const char *uri)
{
    sv_db *db = NULL;
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_db_open(uri, NULL, &db, &err);
    if (e) {
        fprintf(stderr, "pgtest: open '%s': %s (%s)\n", uri, sv_strerror(e), err.ptr);
        abort();
    }
    sv_buf_release(&err);
    return db;
}

/* Creates an empty database and writes a URI that opens it into uri: the admin
 * URI with its database name replaced. */
static inline void pgtest_create(char *uri, size_t cap)
{
    static int counter;
    const char *admin = getenv("SAMVERKA_TEST_PG");
    if (!admin) {
        fprintf(stderr, "pgtest: SAMVERKA_TEST_PG is not set\n");
        abort();
    }
    char name[64], sql[128];
    snprintf(name, sizeof(name), "sv_unit_%ld_%d", (long)getpid(), ++counter);
    /* Test-only SQL: the name is made here, not taken from a user. */
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
    sv_db *db = pgtest_open(admin);
    sv_buf err = SV_BUF_INIT;
    if (sv_db_exec(db, sql, &err)) {
        fprintf(stderr, "pgtest: %s: %s\n", sql, err.ptr);
        abort();
    }
    sv_buf_release(&err);
    sv_db_close(db);
    /* postgres://user@host:port/DB?params: replace DB */
    const char *host = strstr(admin, "://");
    const char *slash = strchr(host ? host + 3 : admin, '/');
    const char *query = strchr(admin, '?');
    size_t head =
        slash ? (size_t)(slash - admin) : (query ? (size_t)(query - admin) : strlen(admin));
    snprintf(uri, cap, "%.*s/%s%s", (int)head, admin, name, query ? query : "");
}

/* Drops the database create made (its connections must be closed). */
static inline void pgtest_destroy(const char *uri)
{
    const char *slash = strrchr(uri, '/');
    char name[64], sql[160];
    snprintf(name, sizeof(name), "%.*s", (int)strcspn(slash + 1, "?"), slash + 1);
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    sv_db *db = pgtest_open(getenv("SAMVERKA_TEST_PG"));
    sv_buf err = SV_BUF_INIT;
    if (sv_db_exec(db, sql, &err))
        fprintf(stderr, "pgtest: %s: %s\n", sql, err.ptr);
    sv_buf_release(&err);
    sv_db_close(db);
}

#endif
