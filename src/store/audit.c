/* audit.c - see audit.h. */
#include "store/audit.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const sv_audit_actor sv_audit_anonymous = {.kind = "anonymous"};
const sv_audit_actor sv_audit_system = {.kind = "system"};

static const char GENESIS[SV_AUDIT_HASH_HEX + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

static const char SQL_HEAD[] = "SELECT records, last_seq, last_hash FROM audit_head WHERE one = 1";
#define INSERT_INTO                                                                                \
    "INSERT INTO audit (seq, time, principal_kind, principal_id, organisation, role, citizen,"     \
    " action, resource_type, resource_id, resource_version, purpose, outcome, prev_hash, hash,"    \
    " reason) "
enum { COLUMNS = 16 };
#define ROW_1 "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
#define ROW_4 ROW_1 ", " ROW_1 ", " ROW_1 ", " ROW_1
#define ROW_16 ROW_4 ", " ROW_4 ", " ROW_4 ", " ROW_4
#define ROW_64 ROW_16 ", " ROW_16 ", " ROW_16 ", " ROW_16
/* A batch goes in multi-row INSERTs of 64, 16, 4 and 1 rows (1,024 parameters at most,
 * under SQLite's limit): four statements kept in the connection's cache, and a batch of
 * any size takes at most three of each smaller one for its tail. */
static const struct {
    size_t rows;
    const char *sql;
} INSERTS[] = {
    {64, INSERT_INTO "VALUES " ROW_64},
    {16, INSERT_INTO "VALUES " ROW_16},
    {4, INSERT_INTO "VALUES " ROW_4},
    {1, INSERT_INTO "VALUES " ROW_1},
};
/* PostgreSQL takes a batch as one array per column (a round trip per statement is what
 * costs there); PG_ROWS bounds the size of one statement's parameters. */
static const char SQL_INSERT_UNNEST[] =
    INSERT_INTO "SELECT * FROM unnest(CAST(? AS BIGINT[]), CAST(? AS BIGINT[]),"
                " CAST(? AS TEXT[]), CAST(? AS TEXT[]), CAST(? AS TEXT[]), CAST(? AS TEXT[]),"
                " CAST(? AS TEXT[]), CAST(? AS TEXT[]), CAST(? AS TEXT[]), CAST(? AS TEXT[]),"
                " CAST(? AS BIGINT[]), CAST(? AS TEXT[]), CAST(? AS BIGINT[]), CAST(? AS TEXT[]),"
                " CAST(? AS TEXT[]), CAST(? AS TEXT[]))";
enum { PG_ROWS = 1024 };
static const char SQL_HEAD_UPDATE[] =
    "UPDATE audit_head SET records = records + ?, last_seq = ?, last_hash = ? WHERE one = 1";
static const char SQL_WALK[] =
    "SELECT seq, time, principal_kind, principal_id, organisation, role, citizen, action,"
    " resource_type, resource_id, resource_version, purpose, outcome, prev_hash, hash, reason"
    " FROM audit WHERE seq > ? ORDER BY seq LIMIT ?";
/* The walk reads the log in pages: a PostgreSQL result is held whole in memory. */
enum { WALK_PAGE = 10000 };
static int walk_page = WALK_PAGE;

void sv__audit_walk_page(int n)
{
    walk_page = n > 0 ? n : WALK_PAGE;
}

static const char SQL_CITIZEN[] =
    "SELECT x.target_id FROM resource r JOIN idx_reference x ON x.rid = r.rid"
    " WHERE r.type = ? AND r.id = ? AND x.param = '_compartment' AND x.target_type = 'Patient'"
    " ORDER BY x.target_id LIMIT 1";

void sv_audit_record_set_actor(sv_audit_record *rec, const sv_audit_actor *actor)
{
    if (!actor)
        actor = &sv_audit_system;
    rec->principal_kind = actor->kind ? actor->kind : "anonymous";
    rec->principal_id = actor->id;
    rec->organisation = actor->organisation;
    rec->role = actor->role;
    rec->purpose = actor->purpose;
}

/* Canonical serialisation: a version tag, then every field in column order,
 * each one of "n\n" (NULL), "i<decimal>\n" or "s<length>:<bytes>\n" - length
 * prefixes, so that no choice of values can make two records serialise alike.
 * Written into one buffer and hashed in one call: fed field by field (three updates
 * and a snprintf each) the hash was a fifth of the read-audit writer's CPU.  The digest
 * is OpenSSL's, which uses the CPU's SHA instructions (libsodium's C code does not); the
 * bytes hashed and the hash are as they always were. */
enum { SMALL_RECORD = 1024, INT_TEXT = 24 /* "i", 20 digits and a sign, "\n" */ };

static char *put_uint(char *at, uint64_t v)
{
    char digits[20];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *at++ = digits[--n];
    return at;
}

static char *put_text(char *at, const char *s, size_t len)
{
    if (!s) {
        memcpy(at, "n\n", 2);
        return at + 2;
    }
    *at++ = 's';
    at = put_uint(at, len);
    *at++ = ':';
    memcpy(at, s, len);
    at += len;
    *at++ = '\n';
    return at;
}

static char *put_int(char *at, int64_t v, bool is_null)
{
    if (is_null) {
        memcpy(at, "n\n", 2);
        return at + 2;
    }
    *at++ = 'i';
    if (v < 0) {
        *at++ = '-';
        at = put_uint(at, (uint64_t)0 - (uint64_t)v);
    } else {
        at = put_uint(at, (uint64_t)v);
    }
    *at++ = '\n';
    return at;
}

/* SHA-256 from OpenSSL, fetched once: the one-shot SHA256() looks the algorithm up on
 * every call. */
static EVP_MD *sha256;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static void sha256_digest(const char *data, size_t len, unsigned char out[32])
{
    pthread_once(&sha256_once, sha256_fetch);
    unsigned int n = 0;
    if (!sha256 || !EVP_Digest(data, len, out, &n, sha256, NULL) || n != 32)
        abort(); /* no SHA-256 means no audit chain: nothing sensible to go on with */
}

void sv_audit_hash(const sv_audit_record *rec, int64_t seq, const char *prev_hash,
                   char ret_hash[SV_AUDIT_HASH_HEX + 1])
{
    const char *texts[] = {rec->principal_kind, rec->principal_id, rec->organisation,
                           rec->role,           rec->citizen,      rec->action,
                           rec->resource_type,  rec->resource_id,  rec->purpose,
                           rec->reason,         prev_hash};
    enum { N_TEXTS = sizeof(texts) / sizeof(texts[0]) };
    size_t len[N_TEXTS], need = 16 + 4 * INT_TEXT;
    for (size_t i = 0; i < N_TEXTS; i++) {
        len[i] = texts[i] ? strlen(texts[i]) : 0;
        need += len[i] + INT_TEXT + 2;
    }
    char small[SMALL_RECORD];
    char *buf = need <= sizeof(small) ? small : malloc(need);
    if (!buf)
        abort(); /* a record is a few hundred bytes; there is no hash to return without it */
    /* A reason (added by migration 10) changes the tag and is fed after the outcome;
     * records without one hash as they did before it existed. */
    char *at = buf;
    memcpy(at, rec->reason ? "sv-audit-2\n" : "sv-audit-1\n", 11);
    at += 11;
    at = put_int(at, seq, false);
    at = put_int(at, rec->time_ms, false);
    for (size_t i = 0; i <= 7; i++) /* principal_kind .. resource_id */
        at = put_text(at, texts[i], len[i]);
    at = put_int(at, rec->resource_version, rec->resource_version == 0);
    at = put_text(at, texts[8], len[8]); /* purpose */
    at = put_int(at, rec->outcome, false);
    if (rec->reason)
        at = put_text(at, texts[9], len[9]);
    at = put_text(at, texts[10], len[10]); /* the previous hash */
    unsigned char out[32];
    sha256_digest(buf, (size_t)(at - buf), out);
    if (buf != small)
        free(buf);
    sodium_bin2hex(ret_hash, SV_AUDIT_HASH_HEX + 1, out, sizeof(out));
}

typedef struct head {
    int64_t records, last_seq;
    char last_hash[SV_AUDIT_HASH_HEX + 1];
} head;

/* The head this thread's last append left, valid while that transaction's state lasts:
 * the transaction holds the write lock, so nobody else moves the head, and the next
 * append of a transaction (a Bundle of many) need not read it again. */
static _Thread_local struct {
    const sv_db *db;
    uint64_t tx_serial;
    head h;
} last_head;

static sv_err read_head(sv_db *db, head *ret, sv_buf *reterr)
{
    uint64_t serial = sv_db_tx_serial(db);
    if (serial && last_head.db == db && last_head.tx_serial == serial) {
        *ret = last_head.h;
        return SV_OK;
    }
    sv_stmt *st;
    sv_err e = sv_db_stmt(db, SQL_HEAD, &st, reterr);
    if (e)
        return e;
    bool row = false;
    e = sv_stmt_step(st, &row, reterr);
    if (e)
        return e;
    if (!row) {
        sv_stmt_reset(st);
        if (reterr)
            sv_buf_adds(reterr, "audit_head has no row");
        return SV_ERR_INTERNAL;
    }
    ret->records = sv_stmt_column_int64(st, 0);
    ret->last_seq = sv_stmt_column_int64(st, 1);
    size_t n = 0;
    const char *h = sv_stmt_column_text(st, 2, &n);
    snprintf(ret->last_hash, sizeof(ret->last_hash), "%.*s", (int)n, h ? h : "");
    sv_stmt_reset(st);
    return SV_OK;
}

static sv_err bind_opt_text(sv_stmt *st, int idx, const char *s)
{
    return s ? sv_stmt_bind_text_static(st, idx, s) : sv_stmt_bind_null(st, idx);
}

/* Record i of a batch with its place in the chain. */
typedef struct linked {
    const sv_audit_record *rec;
    int64_t seq;
    const char *prev_hash, *hash;
} linked;

/* Binds one row's 16 parameters from idx + 1 on. */
static void bind_row(sv_stmt *st, int idx, const linked *l)
{
    const sv_audit_record *rec = l->rec;
    sv_stmt_bind_int64(st, idx + 1, l->seq);
    sv_stmt_bind_int64(st, idx + 2, rec->time_ms);
    sv_stmt_bind_text_static(st, idx + 3, rec->principal_kind);
    bind_opt_text(st, idx + 4, rec->principal_id);
    bind_opt_text(st, idx + 5, rec->organisation);
    bind_opt_text(st, idx + 6, rec->role);
    bind_opt_text(st, idx + 7, rec->citizen);
    sv_stmt_bind_text_static(st, idx + 8, rec->action);
    bind_opt_text(st, idx + 9, rec->resource_type);
    bind_opt_text(st, idx + 10, rec->resource_id);
    if (rec->resource_version)
        sv_stmt_bind_int64(st, idx + 11, rec->resource_version);
    else
        sv_stmt_bind_null(st, idx + 11);
    bind_opt_text(st, idx + 12, rec->purpose);
    sv_stmt_bind_int64(st, idx + 13, rec->outcome);
    sv_stmt_bind_text_static(st, idx + 14, l->prev_hash);
    sv_stmt_bind_text_static(st, idx + 15, l->hash);
    bind_opt_text(st, idx + 16, rec->reason);
}

/* rows records in the largest multi-row INSERT that fits, repeated. */
static sv_err insert_values(sv_db *db, const linked *rows, size_t n, sv_buf *reterr)
{
    size_t done = 0;
    for (size_t k = 0; k < sizeof(INSERTS) / sizeof(INSERTS[0]); k++) {
        while (n - done >= INSERTS[k].rows) {
            sv_stmt *st;
            sv_err e = sv_db_stmt(db, INSERTS[k].sql, &st, reterr);
            if (e)
                return e;
            for (size_t r = 0; r < INSERTS[k].rows; r++)
                bind_row(st, (int)(r * COLUMNS), &rows[done + r]);
            e = sv_stmt_run(st, reterr);
            if (e)
                return e;
            done += INSERTS[k].rows;
        }
    }
    return SV_OK;
}

/* PostgreSQL array literals: "{a,NULL,\"b c\"}" - every text quoted, '"' and '\' escaped. */
static void array_next(sv_buf *b)
{
    sv_buf_addc(b, b->len ? ',' : '{');
}

static void array_text(sv_buf *b, const char *s)
{
    array_next(b);
    if (!s) {
        sv_buf_adds(b, "NULL");
        return;
    }
    sv_buf_addc(b, '"');
    for (const char *p = s; *p; p++) {
        if (*p == '"' || *p == '\\')
            sv_buf_addc(b, '\\');
        sv_buf_addc(b, *p);
    }
    sv_buf_addc(b, '"');
}

static void array_int(sv_buf *b, int64_t v, bool is_null)
{
    array_next(b);
    if (is_null)
        sv_buf_adds(b, "NULL");
    else
        sv_buf_addf(b, "%lld", (long long)v);
}

/* rows records (n >= 1) in one INSERT ... SELECT FROM unnest of one array per column. */
static sv_err insert_unnest(sv_db *db, const linked *rows, size_t n, sv_buf col[COLUMNS],
                            sv_buf *reterr)
{
    for (int c = 0; c < COLUMNS; c++)
        sv_buf_reset(&col[c]);
    for (size_t i = 0; i < n; i++) {
        const sv_audit_record *rec = rows[i].rec;
        array_int(&col[0], rows[i].seq, false);
        array_int(&col[1], rec->time_ms, false);
        array_text(&col[2], rec->principal_kind);
        array_text(&col[3], rec->principal_id);
        array_text(&col[4], rec->organisation);
        array_text(&col[5], rec->role);
        array_text(&col[6], rec->citizen);
        array_text(&col[7], rec->action);
        array_text(&col[8], rec->resource_type);
        array_text(&col[9], rec->resource_id);
        array_int(&col[10], rec->resource_version, rec->resource_version == 0);
        array_text(&col[11], rec->purpose);
        array_int(&col[12], rec->outcome, false);
        array_text(&col[13], rows[i].prev_hash);
        array_text(&col[14], rows[i].hash);
        array_text(&col[15], rec->reason);
    }
    sv_stmt *st;
    sv_err e = sv_db_stmt(db, SQL_INSERT_UNNEST, &st, reterr);
    if (e)
        return e;
    for (int c = 0; c < COLUMNS; c++) {
        sv_buf_addc(&col[c], '}');
        sv_stmt_bind_textn_static(st, c + 1, col[c].ptr, col[c].len);
    }
    return sv_stmt_run(st, reterr);
}

sv_err sv_audit_append_batch(sv_db *db, const sv_audit_record *recs, size_t n, int64_t *ret_seq,
                             sv_buf *reterr)
{
    if (!sv_db_in_tx(db)) {
        if (reterr)
            sv_buf_adds(reterr, "sv_audit_append needs a write transaction");
        return SV_ERR_INTERNAL;
    }
    for (size_t i = 0; i < n; i++) {
        if (!recs[i].principal_kind || !recs[i].action) {
            if (reterr)
                sv_buf_adds(reterr, "an audit record needs a principal kind and an action");
            return SV_ERR_INTERNAL;
        }
    }
    if (n == 0)
        return SV_OK;
    head h;
    sv_err e = read_head(db, &h, reterr);
    if (e)
        return e;
    /* The chain in memory first: record i links to hash i - 1 (the head's for the first). */
    char(*hashes)[SV_AUDIT_HASH_HEX + 1] = n > 1 ? malloc(n * sizeof(*hashes)) : NULL;
    linked *rows = n > 1 ? malloc(n * sizeof(*rows)) : NULL;
    char one_hash[1][SV_AUDIT_HASH_HEX + 1];
    linked one_row[1];
    if (n == 1) {
        hashes = one_hash;
        rows = one_row;
    } else if (!hashes || !rows) {
        free(hashes);
        free(rows);
        return SV_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        rows[i].rec = &recs[i];
        rows[i].seq = h.last_seq + 1 + (int64_t)i;
        rows[i].prev_hash = i ? hashes[i - 1] : h.last_hash;
        sv_audit_hash(&recs[i], rows[i].seq, rows[i].prev_hash, hashes[i]);
        rows[i].hash = hashes[i];
    }

    if (n > 1 && sv_db_dialect_of(db) == SV_DIALECT_POSTGRES) {
        sv_buf col[COLUMNS];
        for (int c = 0; c < COLUMNS; c++)
            sv_buf_init(&col[c]);
        for (size_t done = 0; done < n && !e; done += PG_ROWS)
            e = insert_unnest(db, &rows[done], n - done < PG_ROWS ? n - done : PG_ROWS, col,
                              reterr);
        for (int c = 0; c < COLUMNS; c++)
            sv_buf_release(&col[c]);
    } else {
        e = insert_values(db, rows, n, reterr);
    }
    sv_stmt *st;
    if (!e)
        e = sv_db_stmt(db, SQL_HEAD_UPDATE, &st, reterr);
    if (!e) {
        sv_stmt_bind_int64(st, 1, (int64_t)n);
        sv_stmt_bind_int64(st, 2, rows[n - 1].seq);
        sv_stmt_bind_text_static(st, 3, hashes[n - 1]);
        e = sv_stmt_run(st, reterr);
    }
    if (!e) {
        last_head.db = db;
        last_head.tx_serial = sv_db_tx_serial(db);
        last_head.h.records = h.records + (int64_t)n;
        last_head.h.last_seq = rows[n - 1].seq;
        memcpy(last_head.h.last_hash, hashes[n - 1], sizeof(last_head.h.last_hash));
        if (ret_seq)
            *ret_seq = rows[n - 1].seq;
    }
    if (n > 1) {
        free(hashes);
        free(rows);
    }
    return e;
}

sv_err sv_audit_append(sv_db *db, const sv_audit_record *rec, int64_t *ret_seq, sv_buf *reterr)
{
    return sv_audit_append_batch(db, rec, 1, ret_seq, reterr);
}

sv_err sv_audit_citizen_of(sv_db *db, const char *type, const char *id, char ret_citizen[65],
                           sv_buf *reterr)
{
    ret_citizen[0] = '\0';
    if (!type || !id)
        return SV_OK;
    if (strcmp(type, "Patient") == 0) {
        snprintf(ret_citizen, 65, "%s", id);
        return SV_OK;
    }
    sv_stmt *st;
    sv_err e = sv_db_stmt(db, SQL_CITIZEN, &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_text_static(st, 1, type);
    sv_stmt_bind_text_static(st, 2, id);
    bool row = false;
    e = sv_stmt_step(st, &row, reterr);
    if (e)
        return e;
    if (row) {
        size_t n = 0;
        const char *t = sv_stmt_column_text(st, 0, &n);
        snprintf(ret_citizen, 65, "%.*s", (int)n, t ? t : "");
    }
    sv_stmt_reset(st);
    return SV_OK;
}

/* A column as a NUL-terminated copy in buf (NULL for SQL NULL); buf is one of the
 * walk's per-field buffers, valid until the next row. */
static const char *column_copy(sv_stmt *st, int col, sv_buf *buf)
{
    sv_buf_reset(buf);
    if (sv_stmt_column_is_null(st, col))
        return NULL;
    size_t n = 0;
    const char *t = sv_stmt_column_text(st, col, &n);
    sv_buf_add(buf, t ? t : "", n);
    return buf->ptr;
}

enum { N_TEXT = 12 };

sv_err sv_audit_verify(sv_db *db, sv_audit_report *ret, sv_buf *reterr)
{
    sv_audit_report rep;
    memset(&rep, 0, sizeof(rep));
    memcpy(rep.last_hash, GENESIS, sizeof(rep.last_hash));
    sv_err e = sv_db_begin(db, SV_TX_READ, reterr);
    if (e)
        return e;
    head h;
    e = read_head(db, &h, reterr);
    sv_stmt *st = NULL;
    if (!e)
        e = sv_db_stmt(db, SQL_WALK, &st, reterr);
    if (e) {
        sv_db_rollback(db);
        return e;
    }
    rep.head_records = h.records;
    rep.head_seq = h.last_seq;
    sv_buf text[N_TEXT];
    for (int i = 0; i < N_TEXT; i++)
        sv_buf_init(&text[i]);
    int64_t prev_seq = 0, after = INT64_MIN;
    int in_page = 0;
    sv_stmt_bind_int64(st, 1, after);
    sv_stmt_bind_int64(st, 2, walk_page);
    for (;;) {
        bool row = false;
        e = sv_stmt_step(st, &row, reterr);
        if (e)
            break;
        if (!row) {
            if (in_page < walk_page)
                break;
            sv_stmt_reset(st); /* the next page */
            sv_stmt_bind_int64(st, 1, after);
            sv_stmt_bind_int64(st, 2, walk_page);
            in_page = 0;
            continue;
        }
        in_page++;
        int64_t seq = sv_stmt_column_int64(st, 0);
        after = seq;
        sv_audit_record rec = {
            .time_ms = sv_stmt_column_int64(st, 1),
            .principal_kind = column_copy(st, 2, &text[0]),
            .principal_id = column_copy(st, 3, &text[1]),
            .organisation = column_copy(st, 4, &text[2]),
            .role = column_copy(st, 5, &text[3]),
            .citizen = column_copy(st, 6, &text[4]),
            .action = column_copy(st, 7, &text[5]),
            .resource_type = column_copy(st, 8, &text[6]),
            .resource_id = column_copy(st, 9, &text[7]),
            .resource_version = sv_stmt_column_is_null(st, 10) ? 0 : sv_stmt_column_int64(st, 10),
            .purpose = column_copy(st, 11, &text[8]),
            .outcome = (int)sv_stmt_column_int64(st, 12),
            .reason = column_copy(st, 15, &text[11]),
        };
        const char *prev_hash = column_copy(st, 13, &text[9]);
        const char *stored = column_copy(st, 14, &text[10]);
        rep.records++;
        /* The link first: a deleted or moved record shows as the first record whose
         * previous hash is not the hash of the record before it. */
        if (!prev_hash || strcmp(prev_hash, rep.last_hash) != 0) {
            rep.problem = SV_AUDIT_UNLINKED;
            rep.seq = seq;
            rep.prev_seq = prev_seq;
            break;
        }
        char hash[SV_AUDIT_HASH_HEX + 1];
        sv_audit_hash(&rec, seq, prev_hash, hash);
        if (!stored || strcmp(stored, hash) != 0) {
            rep.problem = SV_AUDIT_CHANGED;
            rep.seq = seq;
            break;
        }
        memcpy(rep.last_hash, stored, sizeof(rep.last_hash));
        prev_seq = seq;
    }
    sv_stmt_reset(st);
    for (int i = 0; i < N_TEXT; i++)
        sv_buf_release(&text[i]);
    sv_db_rollback(db); /* read-only: nothing to commit */
    if (e)
        return e;
    if (rep.problem == SV_AUDIT_OK && (rep.records != h.records || prev_seq != h.last_seq ||
                                       strcmp(rep.last_hash, h.last_hash))) {
        rep.problem = SV_AUDIT_TRUNCATED;
        rep.seq = prev_seq;
    }
    *ret = rep;
    return SV_OK;
}
