/* combined.c - see combined.h. */
#include "store/combined.h"

#include <stdbool.h>
#include <string.h>

#include "base/datetime.h"

/*
 * The worklists of coordination (issue 3's single-organisation queries).  Schema
 * migration 8 backfilled exactly these; a definition added later needs its own
 * backfill migration, or the resources written before it are not found through it.
 */
static const sv_combined_def defs[] = {
    {"Task", "owner", "status", "deadline"},
    {"Encounter", "service-provider", "status", "date"},
    {"Communication", "recipient", "status", "sent"},
};

/*
 * "Served by" rows for the results indicator coordinator-and-agreed-plan
 * (results/calc.c): which organisation served which citizen when.  Schema migration
 * 13 backfilled exactly these.
 */
typedef struct served_def {
    const char *type;  /* resource type */
    const char *value; /* reference parameter: who served (owner, service-provider) */
    const char *date;  /* date parameter: when */
    bool instant;      /* the date counts as its start only (low = high) */
} served_def;

static const served_def served_defs[] = {
    {"Task", "owner", "authored-on", true},
    {"Encounter", "service-provider", "date", false},
    {"EpisodeOfCare", "organization", "date", false},
};

static const char SQL_ADD[] =
    "INSERT INTO idx_combined (rid, type, param, target_type, target_id,"
    " code, low, high, multi, patient) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/* The grant of a worklist row's target for its citizen that is live at ?, else the next
 * one (a holder's derived grants do not overlap), with its mask and the resource's
 * category (g_cat); none: NULLs.  A target whose id has a '/' (an absolute url) is no
 * holder: its rows get no copy, so that a search's range of Type/id and its url holds
 * copies of Type/id's grants only (store/search.c). */
#define SET_STAMP                                                                                  \
    "(g_mask, g_cat, g_from, g_to) = (SELECT g.mask, g.mask & r.category, g.t_from, g.t_to"        \
    " FROM access_grant g, resource r WHERE r.rid = idx_combined.rid AND"                          \
    " g.patient = idx_combined.patient AND"                                                        \
    " g.holder = idx_combined.target_type || '/' || idx_combined.target_id AND"                    \
    " idx_combined.target_id NOT LIKE '%/%' AND g.t_to > ? ORDER BY g.t_from LIMIT 1)"
static const char SQL_STAMP_RID[] =
    "UPDATE idx_combined SET " SET_STAMP " WHERE rid = ? AND patient IS NOT NULL";
static const char SQL_STAMP_PATIENT[] = "UPDATE idx_combined SET " SET_STAMP " WHERE patient = ?";
/* The rows that can hold a copy of one holder's grants: target_type || '/' || target_id
 * is the holder and target_id has no '/' (the others hold none, SET_STAMP). */
static const char SQL_STAMP_HOLDER[] =
    "UPDATE idx_combined SET " SET_STAMP " WHERE patient = ? AND target_type = ? AND target_id = ?";
static const char SQL_SET_CATEGORY[] =
    "UPDATE idx_combined SET g_cat = g_mask & ? WHERE rid = (SELECT r.rid FROM resource r"
    " WHERE r.type = ? AND r.id = ?) AND patient IS NOT NULL";

const sv_combined_def *sv_combined_find(const char *type, const char *reference)
{
    if (!type || !reference)
        return NULL;
    for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++)
        if (strcmp(defs[i].type, type) == 0 && strcmp(defs[i].reference, reference) == 0)
            return &defs[i];
    return NULL;
}

static bool same(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Whether rows[0..i) hold a row of the same kind and param with the same key as rows[i]:
 * (target_type, target_id) for references, the code for tokens. */
static bool seen_before(const sv_index_rows *rows, size_t i)
{
    const sv_index_row *r = &rows->rows[i];
    for (size_t j = 0; j < i; j++) {
        const sv_index_row *o = &rows->rows[j];
        if (o->kind != r->kind || strcmp(o->param, r->param) != 0 || !same(o->value, r->value))
            continue;
        if (r->kind != SV_INDEX_REFERENCE || same(o->system, r->system))
            return true;
    }
    return false;
}

/* What every row of one resource and definition shares. */
typedef struct shared {
    bool dated;
    int64_t low, high;
    bool multi; /* the resource has more than one row of the definition */
} shared;

static sv_err add(sv_db *db, int64_t rid, const sv_combined_def *d, const sv_index_row *ref,
                  const char *code, const shared *sh, const char *patient, sv_buf *reterr)
{
    sv_stmt *st;
    sv_err e = sv_db_stmt(db, SQL_ADD, &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_int64(st, 1, rid);
    sv_stmt_bind_text(st, 2, d->type);
    sv_stmt_bind_text(st, 3, d->reference);
    sv_stmt_bind_text(st, 4, ref->system);
    sv_stmt_bind_text(st, 5, ref->value);
    sv_stmt_bind_text(st, 6, code);
    if (sh->dated) {
        sv_stmt_bind_int64(st, 7, sh->low);
        sv_stmt_bind_int64(st, 8, sh->high);
    } else {
        sv_stmt_bind_null(st, 7);
        sv_stmt_bind_null(st, 8);
    }
    sv_stmt_bind_int64(st, 9, sh->multi);
    sv_stmt_bind_text(st, 10, patient);
    return sv_stmt_run(st, reterr);
}

/* The citizen of the only Patient compartment in rows; NULL for none or several (their
 * rows are checked the general way, store/access.h). */
static const char *only_patient(const sv_index_rows *rows)
{
    const char *patient = NULL;
    for (size_t i = 0; i < rows->len; i++) {
        const sv_index_row *r = &rows->rows[i];
        if (r->kind != SV_INDEX_REFERENCE || strcmp(r->param, "_compartment") != 0)
            continue;
        if (!r->value || (patient && strcmp(patient, r->value) != 0))
            return NULL;
        patient = r->value;
    }
    return patient;
}

static bool is_ref(const sv_combined_def *d, const sv_index_rows *rows, size_t i)
{
    const sv_index_row *r = &rows->rows[i];
    return r->kind == SV_INDEX_REFERENCE && strcmp(r->param, d->reference) == 0 &&
           !seen_before(rows, i);
}

static bool is_code(const sv_combined_def *d, const sv_index_rows *rows, size_t i)
{
    const sv_index_row *t = &rows->rows[i];
    return t->kind == SV_INDEX_TOKEN && strcmp(t->param, d->code) == 0 && t->value &&
           !seen_before(rows, i);
}

/* The rows of one definition: every reference row times every distinct code (or NULL). */
static sv_err write_def(sv_db *db, int64_t rid, const sv_combined_def *d, const sv_index_rows *rows,
                        const char *patient, sv_buf *reterr)
{
    shared sh = {0};
    size_t nrefs = 0, ncodes = 0;
    for (size_t i = 0; i < rows->len; i++) {
        const sv_index_row *r = &rows->rows[i];
        nrefs += is_ref(d, rows, i);
        ncodes += is_code(d, rows, i);
        if (r->kind != SV_INDEX_DATE || strcmp(r->param, d->date) != 0)
            continue;
        sh.low = !sh.dated || r->low < sh.low ? r->low : sh.low;
        sh.high = !sh.dated || r->high > sh.high ? r->high : sh.high;
        sh.dated = true;
    }
    sh.multi = nrefs * (ncodes ? ncodes : 1) > 1;
    sv_err e = SV_OK;
    for (size_t i = 0; i < rows->len && !e; i++) {
        if (!is_ref(d, rows, i))
            continue;
        for (size_t k = 0; k < rows->len && !e; k++)
            if (is_code(d, rows, k))
                e = add(db, rid, d, &rows->rows[i], rows->rows[k].value, &sh, patient, reterr);
        if (!ncodes && !e)
            e = add(db, rid, d, &rows->rows[i], NULL, &sh, patient, reterr);
    }
    return e;
}

static bool is_param_ref(const char *param, const sv_index_rows *rows, size_t i)
{
    const sv_index_row *r = &rows->rows[i];
    return r->kind == SV_INDEX_REFERENCE && strcmp(r->param, param) == 0 && !seen_before(rows, i);
}

/* The served-by rows of one definition: every patient times every organisation, with
 * the least start and greatest end of the date (or the least start twice). */
static sv_err write_served(sv_db *db, int64_t rid, const served_def *d, const sv_index_rows *rows,
                           sv_buf *reterr)
{
    shared sh = {0};
    for (size_t i = 0; i < rows->len; i++) {
        const sv_index_row *r = &rows->rows[i];
        if (r->kind != SV_INDEX_DATE || strcmp(r->param, d->date) != 0)
            continue;
        sh.low = !sh.dated || r->low < sh.low ? r->low : sh.low;
        sh.high = !sh.dated || r->high > sh.high ? r->high : sh.high;
        sh.dated = true;
    }
    if (!sh.dated) /* never in a period */
        return SV_OK;
    if (d->instant)
        sh.high = sh.low;
    sv_err e = SV_OK;
    for (size_t i = 0; i < rows->len && !e; i++) {
        if (!is_param_ref("patient", rows, i) || !rows->rows[i].value)
            continue;
        for (size_t k = 0; k < rows->len && !e; k++) {
            if (!is_param_ref(d->value, rows, k) || !rows->rows[k].value)
                continue;
            sv_stmt *st;
            e = sv_db_stmt(db, SQL_ADD, &st, reterr);
            if (e)
                break;
            sv_stmt_bind_int64(st, 1, rid);
            sv_stmt_bind_text(st, 2, "Patient"); /* one range for all types (combined.h) */
            sv_stmt_bind_text(st, 3, SV_SERVED_BY);
            sv_stmt_bind_text(st, 4, rows->rows[k].system);
            sv_stmt_bind_text(st, 5, rows->rows[i].value);
            sv_stmt_bind_text(st, 6, rows->rows[k].value);
            sv_stmt_bind_int64(st, 7, sh.low);
            sv_stmt_bind_int64(st, 8, sh.high);
            sv_stmt_bind_int64(st, 9, 0);
            e = sv_stmt_run(st, reterr);
        }
    }
    return e;
}

sv_err sv__combined_write(sv_db *db, int64_t rid, const char *type, const sv_index_rows *rows,
                          sv_buf *reterr)
{
    sv_err e = SV_OK;
    const char *patient = only_patient(rows);
    bool worklist = false;
    for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]) && !e; i++)
        if (strcmp(defs[i].type, type) == 0) {
            e = write_def(db, rid, &defs[i], rows, patient, reterr);
            worklist = true;
        }
    for (size_t i = 0; i < sizeof(served_defs) / sizeof(served_defs[0]) && !e; i++)
        if (strcmp(served_defs[i].type, type) == 0)
            e = write_served(db, rid, &served_defs[i], rows, reterr);
    if (!e && worklist && patient) {
        sv_stmt *st;
        e = sv_db_stmt(db, SQL_STAMP_RID, &st, reterr);
        if (!e) {
            sv_stmt_bind_int64(st, 1, sv_clock_now_ms());
            sv_stmt_bind_int64(st, 2, rid);
            e = sv_stmt_run(st, reterr);
        }
    }
    return e;
}

sv_err sv__combined_restamp(sv_db *db, const char *patient, sv_buf *reterr)
{
    sv_stmt *st;
    sv_err e = sv_db_stmt(db, SQL_STAMP_PATIENT, &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_int64(st, 1, sv_clock_now_ms());
    sv_stmt_bind_text(st, 2, patient);
    return sv_stmt_run(st, reterr);
}

sv_err sv__combined_restamp_holder(sv_db *db, const char *patient, const char *holder,
                                   sv_buf *reterr)
{
    const char *slash = strrchr(holder, '/');
    if (!slash) /* no worklist target is named so ("user:NAME"): no row has its copy */
        return SV_OK;
    sv_stmt *st;
    sv_err e = sv_db_stmt(db, SQL_STAMP_HOLDER, &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_int64(st, 1, sv_clock_now_ms());
    sv_stmt_bind_text(st, 2, patient);
    sv_stmt_bind_textn(st, 3, holder, (size_t)(slash - holder));
    sv_stmt_bind_text(st, 4, slash + 1);
    return sv_stmt_run(st, reterr);
}

sv_err sv__combined_set_category(sv_db *db, const char *type, const char *id, int category,
                                 sv_buf *reterr)
{
    sv_stmt *st;
    sv_err e = sv_db_stmt(db, SQL_SET_CATEGORY, &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_int64(st, 1, category);
    sv_stmt_bind_text(st, 2, type);
    sv_stmt_bind_text(st, 3, id);
    return sv_stmt_run(st, reterr);
}
