/* access.c - see access.h.  Every piece of SQL below is a constant. */
#include "store/access.h"

#include <stdlib.h>
#include <string.h>

#include "store/combined.h"

static const char SQL_VISIBLE[] =
    "SELECT r.deleted, r.category, " SV_ACCESS_VISIBLE("r.rid") " FROM resource r"
                                                                " WHERE r.type = ? AND r.id = ?";
static const char SQL_COMPARTMENTS[] =
    "SELECT x.target_id FROM resource r JOIN idx_reference x ON x.rid = r.rid"
    " WHERE r.type = ? AND r.id = ? AND r.deleted = 0 AND x.param = '_compartment'"
    " ORDER BY x.target_id";
static const char SQL_ALLOWS[] =
    "SELECT 1 FROM access_grant WHERE patient = ? AND holder IN (?, ?) AND t_from <= ?"
    " AND t_to > ? AND (mask & ? & ?) != 0 LIMIT 1";
static const char SQL_GRANTS_OF[] =
    "SELECT mask, t_from, t_to FROM access_grant WHERE patient = ? AND holder IN (?, ?)";
static const char SQL_DELETE_DERIVED[] =
    "DELETE FROM access_grant WHERE patient = ? AND derived = 1";
static const char SQL_DERIVED[] =
    "SELECT holder, mask, t_from, t_to FROM access_grant WHERE patient = ? AND derived = 1";
static const char SQL_DELETE_ONE[] =
    "DELETE FROM access_grant WHERE patient = ? AND holder = ? AND t_from = ? AND t_to = ?"
    " AND mask = ? AND derived = 1";
static const char SQL_UPDATE_ONE[] =
    "UPDATE access_grant SET mask = ?, t_to = ? WHERE patient = ? AND holder = ? AND t_from = ?"
    " AND t_to = ? AND mask = ? AND derived = 1";
static const char SQL_INSERT[] =
    "INSERT INTO access_grant (patient, holder, mask, t_from, t_to, derived, reason)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)";
static const char SQL_BTG_LIVE[] =
    "SELECT 1 FROM access_grant WHERE patient = ? AND holder = ? AND t_from <= ? AND t_to > ?"
    " AND derived = 0 LIMIT 1";
static const char SQL_BTG_UNTIL[] =
    "SELECT MAX(t_to) FROM access_grant WHERE holder = ? AND derived = 0";
static const char SQL_SET_CATEGORY[] = "UPDATE resource SET category = ? WHERE type = ? AND id = ?";
static const char SQL_SCAN[] = "SELECT r.rid, r.type, r.id, v.json FROM resource r"
                               " JOIN resource_version v ON v.rid = r.rid AND v.version = r.version"
                               " WHERE r.rid > ? AND r.deleted = 0 ORDER BY r.rid LIMIT ?";
static const char SQL_BUILT[] = "SELECT built FROM access_state WHERE one = 1";
static const char SQL_SET_BUILT[] = "UPDATE access_state SET built = ? WHERE one = 1";

void sv_access_value(const sv_access_filter *f, int k, const char **ret_text, int64_t *ret_int)
{
    *ret_text = NULL;
    *ret_int = 0;
    switch (k) {
    case 0: /* bypass */
        *ret_int = f == NULL;
        break;
    case 1: /* the first holder's grant: holder, now, now, mask */
        *ret_text = f && f->holder1 ? f->holder1 : "";
        break;
    case 5: /* the second's */
        *ret_text = f && f->holder2 ? f->holder2 : f && f->holder1 ? f->holder1 : "";
        break;
    case 2:
    case 3:
    case 6:
    case 7:
        *ret_int = f ? f->now : 0;
        break;
    default:
        *ret_int = f ? f->mask : 0;
        break;
    }
}

void sv_access_row_value(const sv_access_filter *f, int k, const char **ret_text, int64_t *ret_int)
{
    if (k >= 3) { /* the general check, after its bypass */
        sv_access_value(f, k - 2, ret_text, ret_int);
        return;
    }
    *ret_text = NULL;
    *ret_int = f ? (k == 0 ? f->mask : f->now) : 0;
}

int sv_access_bind(sv_stmt *st, int i, const sv_access_filter *f)
{
    for (int k = 0; k < SV_ACCESS_BINDS; k++) {
        const char *text;
        int64_t n;
        sv_access_value(f, k, &text, &n);
        if (text)
            sv_stmt_bind_text(st, i++, text);
        else
            sv_stmt_bind_int64(st, i++, n);
    }
    return i;
}

sv_err sv_access_visible(sv_db *db, const sv_access_filter *f, const char *type, const char *id,
                         bool *ret_visible, sv_buf *reterr)
{
    *ret_visible = false;
    sv_stmt *st = NULL;
    sv_err e = sv_db_stmt(db, SQL_VISIBLE, &st, reterr);
    if (e)
        return e;
    int i = sv_access_bind(st, 1, f);
    sv_stmt_bind_text(st, i++, type);
    sv_stmt_bind_text(st, i++, id);
    bool row = false;
    e = sv_stmt_step(st, &row, reterr);
    if (!e && row) {
        bool deleted = sv_stmt_column_int64(st, 0) != 0;
        int category = (int)sv_stmt_column_int64(st, 1);
        bool granted = sv_stmt_column_int64(st, 2) != 0;
        *ret_visible = !f || (granted && (!deleted || category == 0));
    }
    sv_stmt_reset(st);
    return e;
}

sv_err sv_access_patient_allows(sv_db *db, const sv_access_filter *f, const char *patient,
                                int category, bool *ret_allowed, sv_buf *reterr)
{
    *ret_allowed = false;
    sv_stmt *st = NULL;
    sv_err e = sv_db_stmt(db, SQL_ALLOWS, &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_text(st, 1, patient);
    sv_stmt_bind_text(st, 2, f->holder1);
    sv_stmt_bind_text(st, 3, f->holder2 ? f->holder2 : f->holder1);
    sv_stmt_bind_int64(st, 4, f->now);
    sv_stmt_bind_int64(st, 5, f->now);
    sv_stmt_bind_int64(st, 6, f->mask);
    sv_stmt_bind_int64(st, 7, category);
    bool row = false;
    e = sv_stmt_step(st, &row, reterr);
    *ret_allowed = !e && row;
    sv_stmt_reset(st);
    return e;
}

sv_err sv_access_compartments(sv_db *db, const char *type, const char *id, sv_access_patient_fn fn,
                              void *ctx, sv_buf *reterr)
{
    sv_stmt *st = NULL;
    sv_err e = sv_db_stmt(db, SQL_COMPARTMENTS, &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_text(st, 1, type);
    sv_stmt_bind_text(st, 2, id);
    for (;;) {
        bool row = false;
        e = sv_stmt_step(st, &row, reterr);
        if (e || !row)
            break;
        size_t n = 0;
        const char *p = sv_stmt_column_text(st, 0, &n);
        char patient[128];
        if (!p || n >= sizeof(patient))
            continue;
        memcpy(patient, p, n);
        patient[n] = '\0';
        fn(ctx, patient);
    }
    sv_stmt_reset(st);
    return e;
}

static sv_err insert(sv_db *db, const char *patient, const sv_access_grant *g, bool derived,
                     const char *reason, sv_buf *reterr)
{
    sv_stmt *st = NULL;
    sv_err e = sv_db_stmt(db, SQL_INSERT, &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_text(st, 1, patient);
    sv_stmt_bind_text(st, 2, g->holder);
    sv_stmt_bind_int64(st, 3, g->mask);
    sv_stmt_bind_int64(st, 4, g->from);
    sv_stmt_bind_int64(st, 5, g->to);
    sv_stmt_bind_int64(st, 6, derived);
    sv_stmt_bind_text(st, 7, reason);
    return sv_stmt_run(st, reterr);
}

/* Every derived grant of patient deleted and grants[0..n) written, all copies taken again:
 * the way when the stored rows cannot be told apart by their values (one is stored more
 * often than grants holds it). */
static sv_err replace_all(sv_db *db, const char *patient, const sv_access_grant *grants, size_t n,
                          sv_buf *reterr)
{
    sv_stmt *st = NULL;
    sv_err e = sv_db_stmt(db, SQL_DELETE_DERIVED, &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_text(st, 1, patient);
    e = sv_stmt_run(st, reterr);
    for (size_t k = 0; !e && k < n; k++)
        e = insert(db, patient, &grants[k], true, NULL, reterr);
    if (!e) /* the worklist rows' copies of these grants (store/combined.h) */
        e = sv__combined_restamp(db, patient, reterr);
    return e;
}

/* A stored derived grant that the new set does not hold; its holder is at holder in
 * the diff's text. */
typedef struct stale_grant {
    size_t holder;
    int mask;
    int64_t from, to;
} stale_grant;

/* The stored derived grants of one citizen against the new set want[0..n). */
typedef struct grant_diff {
    const sv_access_grant *want;
    size_t n;
    bool *stored; /* stored[k]: want[k] is stored already */
    stale_grant *stale;
    size_t nstale, capstale;
    sv_buf text;          /* the stale grants' holders, each NUL-terminated */
    bool duplicate;       /* a row is stored more often than wanted (no derivation does it) */
    const char **changed; /* the holders whose grants are written */
    size_t nchanged;
} grant_diff;

static bool same_holder(const char *holder, const char *text, size_t len)
{
    return strncmp(holder, text, len) == 0 && holder[len] == '\0';
}

static bool same_grant(const sv_access_grant *g, const char *holder, size_t len, int mask,
                       int64_t from, int64_t to)
{
    return g->mask == mask && g->from == from && g->to == to && same_holder(g->holder, holder, len);
}

/* One stored row: it matches a wanted grant not matched yet, or it is stale. */
static void diff_stored(grant_diff *d, const char *holder, size_t len, int mask, int64_t from,
                        int64_t to)
{
    bool wanted = false;
    for (size_t k = 0; k < d->n; k++)
        if (same_grant(&d->want[k], holder, len, mask, from, to)) {
            if (!d->stored[k]) {
                d->stored[k] = true;
                return;
            }
            wanted = true;
        }
    if (wanted) { /* stored more often than wanted */
        d->duplicate = true;
        return;
    }
    for (size_t i = 0; i < d->nstale; i++) {
        const stale_grant *s = &d->stale[i];
        if (s->mask == mask && s->from == from && s->to == to &&
            same_holder(d->text.ptr + s->holder, holder, len))
            d->duplicate = true;
    }
    if (d->nstale == d->capstale) {
        d->capstale = d->capstale ? 2 * d->capstale : 8;
        d->stale = realloc(d->stale, d->capstale * sizeof(*d->stale));
        if (!d->stale)
            abort();
    }
    d->stale[d->nstale++] = (stale_grant){d->text.len, mask, from, to};
    sv_buf_add(&d->text, holder, len);
    sv_buf_addc(&d->text, '\0');
}

static sv_err diff_read(sv_db *db, const char *patient, grant_diff *d, sv_buf *reterr)
{
    sv_stmt *st = NULL;
    sv_err e = sv_db_stmt(db, SQL_DERIVED, &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_text(st, 1, patient);
    for (;;) {
        bool row = false;
        e = sv_stmt_step(st, &row, reterr);
        if (e || !row)
            break;
        size_t len = 0;
        const char *holder = sv_stmt_column_text(st, 0, &len);
        diff_stored(d, holder ? holder : "", holder ? len : 0, (int)sv_stmt_column_int64(st, 1),
                    sv_stmt_column_int64(st, 2), sv_stmt_column_int64(st, 3));
    }
    sv_stmt_reset(st);
    return e;
}

static void diff_changed(grant_diff *d, const char *holder)
{
    for (size_t i = 0; i < d->nchanged; i++)
        if (strcmp(d->changed[i], holder) == 0)
            return;
    d->changed[d->nchanged++] = holder;
}

/* The stale grant s becomes the wanted grant of its holder that starts when it does
 * (a period that ends elsewhere, a mask that changed), else goes. */
static sv_err diff_stale(sv_db *db, const char *patient, grant_diff *d, const stale_grant *s,
                         sv_buf *reterr)
{
    const char *holder = d->text.ptr + s->holder;
    size_t k = 0;
    while (k < d->n &&
           (d->stored[k] || d->want[k].from != s->from || strcmp(d->want[k].holder, holder) != 0))
        k++;
    sv_stmt *st = NULL;
    sv_err e = sv_db_stmt(db, k < d->n ? SQL_UPDATE_ONE : SQL_DELETE_ONE, &st, reterr);
    if (e)
        return e;
    int i = 1;
    if (k < d->n) {
        d->stored[k] = true;
        sv_stmt_bind_int64(st, i++, d->want[k].mask);
        sv_stmt_bind_int64(st, i++, d->want[k].to);
    }
    sv_stmt_bind_text(st, i++, patient);
    sv_stmt_bind_text(st, i++, holder);
    sv_stmt_bind_int64(st, i++, s->from);
    sv_stmt_bind_int64(st, i++, s->to);
    sv_stmt_bind_int64(st, i++, s->mask);
    diff_changed(d, holder);
    return sv_stmt_run(st, reterr);
}

sv_err sv_access_grants_replace(sv_db *db, const char *patient, const sv_access_grant *grants,
                                size_t n, sv_buf *reterr)
{
    bool stored_small[32] = {false};
    grant_diff d = {.want = grants, .n = n, .stored = stored_small, .text = SV_BUF_INIT};
    if (n > sizeof(stored_small) / sizeof(stored_small[0])) {
        d.stored = calloc(n, sizeof(*d.stored));
        if (!d.stored)
            abort();
    }
    sv_err e = diff_read(db, patient, &d, reterr);
    if (e)
        goto out;
    if (d.duplicate) {
        e = replace_all(db, patient, grants, n, reterr);
        goto out;
    }
    size_t missing = 0;
    for (size_t k = 0; k < n; k++)
        missing += !d.stored[k];
    if (d.nstale == 0 && missing == 0) /* the derivation changed nothing: nothing is written */
        goto out;
    d.changed = malloc((d.nstale + n) * sizeof(*d.changed));
    if (!d.changed)
        abort();
    for (size_t i = 0; !e && i < d.nstale; i++)
        e = diff_stale(db, patient, &d, &d.stale[i], reterr);
    for (size_t k = 0; !e && k < n; k++)
        if (!d.stored[k]) {
            e = insert(db, patient, &grants[k], true, NULL, reterr);
            diff_changed(&d, grants[k].holder);
        }
    /* the worklist rows' copies of the grants that changed (store/combined.h) */
    for (size_t i = 0; !e && i < d.nchanged; i++)
        e = sv__combined_restamp_holder(db, patient, d.changed[i], reterr);
out:
    if (d.stored != stored_small)
        free(d.stored);
    free(d.stale);
    free(d.changed);
    sv_buf_release(&d.text);
    return e;
}

sv_err sv_access_grants_of(sv_db *db, const char *patient, const char *holder1, const char *holder2,
                           sv_access_grant_fn fn, void *ctx, sv_buf *reterr)
{
    sv_stmt *st = NULL;
    sv_err e = sv_db_stmt(db, SQL_GRANTS_OF, &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_text(st, 1, patient);
    sv_stmt_bind_text(st, 2, holder1);
    sv_stmt_bind_text(st, 3, holder2 ? holder2 : holder1);
    for (;;) {
        bool row = false;
        e = sv_stmt_step(st, &row, reterr);
        if (e || !row)
            break;
        fn(ctx, (int)sv_stmt_column_int64(st, 0), sv_stmt_column_int64(st, 1),
           sv_stmt_column_int64(st, 2));
    }
    sv_stmt_reset(st);
    return e;
}

sv_err sv_access_grant_add(sv_db *db, const char *patient, const sv_access_grant *grant,
                           const char *reason, sv_buf *reterr)
{
    return insert(db, patient, grant, false, reason, reterr);
}

sv_err sv_access_btg_live(sv_db *db, const char *patient, const char *holder, int64_t now,
                          bool *ret_live, sv_buf *reterr)
{
    *ret_live = false;
    sv_stmt *st = NULL;
    sv_err e = sv_db_stmt(db, SQL_BTG_LIVE, &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_text(st, 1, patient);
    sv_stmt_bind_text(st, 2, holder);
    sv_stmt_bind_int64(st, 3, now);
    sv_stmt_bind_int64(st, 4, now);
    bool row = false;
    e = sv_stmt_step(st, &row, reterr);
    *ret_live = !e && row;
    sv_stmt_reset(st);
    return e;
}

sv_err sv_access_btg_until(sv_db *db, const char *holder, int64_t *ret_until, sv_buf *reterr)
{
    sv_stmt *st = NULL;
    sv_err e = sv_db_stmt(db, SQL_BTG_UNTIL, &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_text(st, 1, holder);
    bool row = false;
    e = sv_stmt_step(st, &row, reterr);
    if (!e)
        *ret_until =
            row && !sv_stmt_column_is_null(st, 0) ? sv_stmt_column_int64(st, 0) : SV_ACCESS_NEVER;
    sv_stmt_reset(st);
    return e;
}

sv_err sv_access_set_category(sv_db *db, const char *type, const char *id, int category,
                              sv_buf *reterr)
{
    sv_stmt *st = NULL;
    sv_err e = sv_db_stmt(db, SQL_SET_CATEGORY, &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_int64(st, 1, category);
    sv_stmt_bind_text(st, 2, type);
    sv_stmt_bind_text(st, 3, id);
    e = sv_stmt_run(st, reterr);
    if (!e) /* the worklist rows carry it too (store/combined.h) */
        e = sv__combined_set_category(db, type, id, category, reterr);
    return e;
}

sv_err sv_access_scan(sv_db *db, int64_t after_rid, int64_t limit, sv_access_scan_fn fn, void *ctx,
                      int64_t *ret_last_rid, sv_buf *reterr)
{
    sv_stmt *st = NULL;
    sv_err e = sv_db_stmt(db, SQL_SCAN, &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_int64(st, 1, after_rid);
    sv_stmt_bind_int64(st, 2, limit);
    for (;;) {
        bool row = false;
        e = sv_stmt_step(st, &row, reterr);
        if (e || !row)
            break;
        size_t tn = 0, in = 0, jn = 0;
        int64_t rid = sv_stmt_column_int64(st, 0);
        const char *t = sv_stmt_column_text(st, 1, &tn);
        const char *i = sv_stmt_column_text(st, 2, &in);
        const char *j = sv_stmt_column_text(st, 3, &jn);
        char type[64], id[128];
        if (!t || !i || tn >= sizeof(type) || in >= sizeof(id))
            continue;
        memcpy(type, t, tn);
        type[tn] = '\0';
        memcpy(id, i, in);
        id[in] = '\0';
        *ret_last_rid = rid;
        if (!fn(ctx, rid, type, id, j, jn))
            break;
    }
    sv_stmt_reset(st);
    return e;
}

sv_err sv_access_built(sv_db *db, bool *ret_built, sv_buf *reterr)
{
    *ret_built = false;
    sv_stmt *st = NULL;
    sv_err e = sv_db_stmt(db, SQL_BUILT, &st, reterr);
    if (e)
        return e;
    bool row = false;
    e = sv_stmt_step(st, &row, reterr);
    if (!e && row)
        *ret_built = sv_stmt_column_int64(st, 0) != 0;
    sv_stmt_reset(st);
    return e;
}

sv_err sv_access_set_built(sv_db *db, bool built, sv_buf *reterr)
{
    sv_stmt *st = NULL;
    sv_err e = sv_db_stmt(db, SQL_SET_BUILT, &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_int64(st, 1, built);
    return sv_stmt_run(st, reterr);
}
