/*
 * recent.c - see resource.h, sv_store_current_json: the few resources the
 * connection's open transaction read or wrote last, parsed.
 *
 * A MedCom admission reads its citizen's Patient in medcom/ (the parties), in
 * policy/ (the grant derivation) and in stays/ (the rules' parties): each read
 * was a statement and a parse of the same text.  The memo hangs on the
 * connection (sv_db.memo; a connection is used by one thread at a time) and
 * trusts an entry only while the transaction's serial is the one it was made
 * under: every begin, ROLLBACK TO (any sv_db_exec) and write-lock change it, so
 * nothing another writer committed or a rollback undid is ever handed out.
 * Within the serial, sv_store_write forgets the resource it writes.
 */
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "store/resource.h"

/* A message's citizen and stay, and the Organizations its rules look up, for the
 * few messages of a batch (one transaction) that come from one department. */
#define RECENT_SLOTS 8

typedef struct entry {
    uint64_t serial; /* 0: empty */
    uint64_t used;   /* when last put or found: the least recent gives way */
    char type[32];
    char id[65];
    int64_t version;
    json_t *json;
} entry;

typedef struct recent {
    entry slots[RECENT_SLOTS];
    uint64_t clock;
} recent;

static void entry_clear(entry *en)
{
    json_decref(en->json);
    memset(en, 0, sizeof(*en));
}

static void recent_free(void *memo)
{
    recent *m = memo;
    if (!m)
        return;
    for (size_t i = 0; i < RECENT_SLOTS; i++)
        entry_clear(&m->slots[i]);
    free(m);
}

static recent *recent_of(sv_db *db, bool create)
{
    if (db->memo_free == recent_free)
        return db->memo;
    if (!create || db->memo_free) /* another layer's memo: none of ours */
        return NULL;
    recent *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    db->memo = m;
    db->memo_free = recent_free;
    return m;
}

static bool names_fit(const char *type, const char *id)
{
    return strlen(type) < sizeof(((entry *)0)->type) && strlen(id) < sizeof(((entry *)0)->id);
}

static entry *find(recent *m, uint64_t serial, const char *type, const char *id)
{
    for (size_t i = 0; m && i < RECENT_SLOTS; i++) {
        entry *en = &m->slots[i];
        if (en->serial == serial && strcmp(en->id, id) == 0 && strcmp(en->type, type) == 0)
            return en;
    }
    return NULL;
}

static void put(sv_db *db, uint64_t serial, const char *type, const char *id, int64_t version,
                json_t *json)
{
    recent *m = recent_of(db, true);
    if (!m || !serial || !json || !names_fit(type, id))
        return;
    entry *en = find(m, serial, type, id);
    for (size_t i = 0; !en && i < RECENT_SLOTS; i++)
        if (m->slots[i].serial != serial) /* empty, or of a state that has passed */
            en = &m->slots[i];
    if (!en) { /* all of this state: the least recently used gives way */
        en = &m->slots[0];
        for (size_t i = 1; i < RECENT_SLOTS; i++)
            if (m->slots[i].used < en->used)
                en = &m->slots[i];
    }
    entry_clear(en);
    en->serial = serial;
    en->used = ++m->clock;
    strcpy(en->type, type);
    strcpy(en->id, id);
    en->version = version;
    en->json = json_incref(json);
}

void sv_store_recent_put(sv_db *db, const char *type, const char *id, int64_t version, json_t *json)
{
    put(db, sv_db_tx_serial(db), type, id, version, json);
}

void sv_store_recent_forget(sv_db *db, const char *type, const char *id)
{
    recent *m = recent_of(db, false);
    for (size_t i = 0; m && i < RECENT_SLOTS; i++) {
        entry *en = &m->slots[i];
        if (en->serial && (!type || (strcmp(en->id, id) == 0 && strcmp(en->type, type) == 0)))
            entry_clear(en);
    }
}

bool sv_store_recent_get(sv_db *db, const char *type, const char *id, json_t **ret_json,
                         int64_t *ret_version)
{
    uint64_t serial = sv_db_tx_serial(db);
    recent *m = recent_of(db, false);
    entry *en = serial ? find(m, serial, type, id) : NULL;
    if (!en)
        return false;
    en->used = ++m->clock;
    *ret_json = json_incref(en->json);
    if (ret_version)
        *ret_version = en->version;
    return true;
}

sv_err sv_store_current_json(sv_db *db, const char *type, const char *id, json_t **ret_json,
                             int64_t *ret_version, sv_buf *reterr)
{
    if (sv_store_recent_get(db, type, id, ret_json, ret_version))
        return SV_OK;
    uint64_t serial = sv_db_tx_serial(db);
    sv_stored s;
    sv_err e = sv_store_current(db, type, id, true, &s, reterr);
    if (e)
        return e;
    json_t *j = NULL;
    int64_t version = s.version;
    if (!s.deleted && s.json && !(j = sv_json_loadb(s.json, s.json_len, 0, NULL)))
        e = SV_ERR_NOMEM;
    sv_stored_clear(&s);
    if (e)
        return e;
    if (ret_version)
        *ret_version = version;
    put(db, serial, type, id, version, j);
    *ret_json = j;
    return SV_OK;
}

/* sv_store_find_token's statement with the current version's text of each match. */
static const char SQL_FIND_TOKEN_JSON[] =
    "SELECT r.id, r.version, v.json FROM idx_token t JOIN resource r ON r.rid = t.rid"
    " JOIN resource_version v ON v.rid = r.rid AND v.version = r.version"
    " WHERE t.type = ? AND t.param = ? AND t.value = ? AND t.system = ? AND r.deleted = 0"
    " LIMIT 2";

sv_err sv_store_find_token_json(sv_db *db, const char *type, const char *param, const char *system,
                                const char *value, char ret_ids[2][65], int *ret_count,
                                json_t **ret_json, int64_t *ret_version, sv_buf *reterr)
{
    uint64_t serial = sv_db_tx_serial(db);
    sv_stmt *st;
    sv_err e = sv_db_stmt(db, SQL_FIND_TOKEN_JSON, &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_text(st, 1, type);
    sv_stmt_bind_text(st, 2, param);
    sv_stmt_bind_text(st, 3, value);
    sv_stmt_bind_text(st, 4, system);
    int n = 0;
    json_t *first = NULL;
    int64_t version = 0;
    for (;;) {
        bool row = false;
        e = sv_stmt_step(st, &row, reterr);
        if (e || !row)
            break;
        size_t len = 0;
        const char *id = sv_stmt_column_text(st, 0, &len);
        if (!id || len >= 65 || n >= 2)
            continue;
        memcpy(ret_ids[n], id, len);
        ret_ids[n][len] = '\0';
        if (n++ > 0) /* more than one: no JSON is given */
            continue;
        /* the text is the statement's until its next step: parsed now, unless the
         * memo holds this version already */
        version = sv_stmt_column_int64(st, 1);
        int64_t kept = 0;
        if (!sv_store_recent_get(db, type, ret_ids[0], &first, &kept) || kept != version) {
            json_decref(first);
            size_t json_len = 0;
            const char *json = sv_stmt_column_text(st, 2, &json_len);
            first = json ? sv_json_loadb(json, json_len, 0, NULL) : NULL;
            if (!first) {
                e = SV_ERR_NOMEM;
                break;
            }
        }
    }
    sv_stmt_reset(st);
    if (!e && n == 1) {
        put(db, serial, type, ret_ids[0], version, first);
        *ret_json = first;
        *ret_version = version;
        first = NULL;
    }
    json_decref(first);
    if (!e)
        *ret_count = n;
    return e;
}
