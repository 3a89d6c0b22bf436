/*
 * sqlite_backup.c - sv_db_backup (db.h): an online copy of a SQLite database
 * with SQLite's backup API, for `samverka backup` (docs/operations.md).
 *
 * The copy is taken in one step under one read transaction, so it is one
 * consistent snapshot; in WAL mode writers go on meanwhile (a stepwise copy
 * would restart whenever another connection writes).  It is written to
 * PATH.tmp, synced and renamed, so that a file at PATH is always complete.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "db/sqlite_int.h"

sv_err sv_db_backup(sv_db *db, const char *path, sv_buf *reterr)
{
    if (db->be != &sv_db_sqlite_backend) {
        if (reterr)
            sv_buf_addf(reterr,
                        "backup copies SQLite databases; for %s use its own tools"
                        " (pg_dump)",
                        sv_db_backend_name(db));
        return SV_ERR_UNSUPPORTED;
    }
    if (access(path, F_OK) == 0) {
        if (reterr)
            sv_buf_addf(reterr, "'%s' exists already", path);
        return SV_ERR_CONFLICT;
    }
    char tmp[4200];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
        return SV_ERR_INVALID;
    unlink(tmp);
    sqlite3 *dest = NULL;
    int rc = sqlite3_open_v2(tmp, &dest, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    sv_err e = SV_OK;
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(dest, 10000);
        sqlite3_backup *b = sqlite3_backup_init(dest, "main", ((sqlite_db *)db)->handle, "main");
        if (!b) {
            rc = sqlite3_errcode(dest);
        } else {
            do {
                rc = sqlite3_backup_step(b, -1);
                if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
                    sqlite3_sleep(50);
            } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
            int frc = sqlite3_backup_finish(b);
            if (rc == SQLITE_DONE)
                rc = frc;
        }
    }
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(dest, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        if (reterr)
            sv_buf_addf(reterr, "sqlite backup: %s",
                        dest ? sqlite3_errmsg(dest) : sqlite3_errstr(rc));
        e = SV_ERR_IO;
    }
    sqlite3_close(dest);
    if (!e) {
        FILE *f = fopen(tmp, "r+");
        if (!f || fsync(fileno(f)) != 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
            if (reterr)
                sv_buf_addf(reterr, "cannot write '%s': %s", path, strerror(errno));
            e = SV_ERR_IO;
        }
    }
    if (e)
        unlink(tmp);
    return e;
}
