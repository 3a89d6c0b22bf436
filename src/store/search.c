/*
 * search.c - see search.h.  Every piece of SQL below is a constant; a query is
 * assembled from them and every value is bound (a list of binds is collected
 * while the text is assembled, so that text and binds cannot disagree).
 *
 * Shapes (docs/search.md explains them with query plans):
 *  - every clause has a *filter* form, a condition on the candidate m.rid that
 *    one covering seek on an idx_*_rid index answers;
 *  - a positive clause also has a *set* form, a SELECT of the rids that match it,
 *    read from an idx_*_lookup index (type, param, value..., rid);
 *  - one clause, the one most likely to match few resources, drives: the page and
 *    the count read its set, the other clauses filter it.  Without a good driver the
 *    live resources of the type are walked in rid order and filtered;
 *  - a reference that drives a worklist (store/combined.h) reads its combined rows
 *    instead, which also answer a status clause and carry the sort date.
 * The count reads index rows only (no resource_version; resource only for _id,
 * _lastUpdated, chains and _has); a sorted page, which reads every match anyway,
 * carries the count in each row instead.  Only the page's rows read their JSON.
 */
#include "store/search.h"

#include <stdlib.h>
#include <string.h>

#include "base/text.h"
#include "store/access.h"
#include "store/combined.h"

/* ---- assembling: SQL text and the values to bind --------------------------------- */

typedef enum bind_kind { B_TEXT, B_INT, B_REAL, B_NULL } bind_kind;

typedef struct bindv {
    bind_kind kind;
    const char *s;
    int64_t i;
    double d;
} bindv;

typedef struct qb {
    sv_buf sql;
    bindv *binds;
    size_t nbinds, capbinds;
    char **owned; /* strings made here (prefix bounds, patterns) */
    size_t nowned, capowned;
    bool postgres;                  /* the few fragments that differ by dialect */
    const sv_access_filter *access; /* every resource the query touches must be visible */
} qb;

static void qb_init(qb *b, const sv_db *db)
{
    memset(b, 0, sizeof(*b));
    sv_buf_init(&b->sql);
    b->postgres = sv_db_dialect_of(db) == SV_DIALECT_POSTGRES;
}

static void qb_release(qb *b)
{
    sv_buf_release(&b->sql);
    free(b->binds);
    for (size_t i = 0; i < b->nowned; i++)
        free(b->owned[i]);
    free(b->owned);
    memset(b, 0, sizeof(*b));
}

static void S(qb *b, const char *fragment)
{
    sv_buf_adds(&b->sql, fragment);
}

static bindv *add_bind(qb *b)
{
    if (b->nbinds == b->capbinds) {
        b->capbinds = b->capbinds ? b->capbinds * 2 : 32;
        b->binds = realloc(b->binds, b->capbinds * sizeof(*b->binds));
        if (!b->binds)
            abort();
    }
    bindv *v = &b->binds[b->nbinds++];
    memset(v, 0, sizeof(*v));
    return v;
}

static void T(qb *b, const char *s)
{
    bindv *v = add_bind(b);
    v->kind = s ? B_TEXT : B_NULL;
    v->s = s;
}

static void I(qb *b, int64_t i)
{
    bindv *v = add_bind(b);
    v->kind = B_INT;
    v->i = i;
}

static void D(qb *b, double d)
{
    bindv *v = add_bind(b);
    v->kind = B_REAL;
    v->d = d;
}

/* " AND <fragment>" with the access filter's values, when there is a filter.
 * fragment is SV_ACCESS_VISIBLE(...) of the row id the caller names. */
static void visible(qb *b, const char *fragment)
{
    if (!b->access)
        return;
    S(b, " AND ");
    S(b, fragment);
    for (int k = 0; k < SV_ACCESS_BINDS; k++) {
        const char *text;
        int64_t n;
        sv_access_value(b->access, k, &text, &n);
        if (text)
            T(b, text);
        else
            I(b, n);
    }
}

/* " AND <SV_ACCESS_VISIBLE_ROW(w)>" on a worklist row w, when there is a filter. */
static void visible_row(qb *b)
{
    if (!b->access)
        return;
    S(b, " AND " SV_ACCESS_VISIBLE_ROW("w"));
    for (int k = 0; k < SV_ACCESS_ROW_BINDS; k++) {
        const char *text;
        int64_t n;
        sv_access_row_value(b->access, k, &text, &n);
        if (text)
            T(b, text);
        else
            I(b, n);
    }
}

static const char *own(qb *b, sv_buf *text)
{
    if (b->nowned == b->capowned) {
        b->capowned = b->capowned ? b->capowned * 2 : 8;
        b->owned = realloc(b->owned, b->capowned * sizeof(char *));
        if (!b->owned)
            abort();
    }
    char *s = sv_buf_detach(text, NULL);
    b->owned[b->nowned++] = s;
    return s;
}

/* The upper bound of a prefix range: prefix followed by U+10FFFF. */
static const char MAX_CHAR[] = "\xf4\x8f\xbf\xbf";

static const char *prefix_end(qb *b, const char *prefix)
{
    sv_buf t = SV_BUF_INIT;
    sv_buf_adds(&t, prefix);
    sv_buf_adds(&t, MAX_CHAR);
    return own(b, &t);
}

/* A LIKE pattern: before + text with % _ \ escaped + after. */
static const char *like_pattern(qb *b, const char *before, const char *text, const char *after)
{
    sv_buf t = SV_BUF_INIT;
    sv_buf_adds(&t, before);
    for (const char *s = text; *s; s++) {
        if (*s == '%' || *s == '_' || *s == '\\')
            sv_buf_addc(&t, '\\');
        sv_buf_addc(&t, *s);
    }
    sv_buf_adds(&t, after);
    return own(b, &t);
}

static const char *folded(qb *b, const char *text)
{
    sv_buf t = SV_BUF_INIT;
    sv_text_fold(text, strlen(text), &t);
    return own(b, &t);
}

/* ---- tables and columns ------------------------------------------------------------ */

/* The index tables, and resource itself for _id and _lastUpdated (RESOURCE_TABLE). */
#define RESOURCE_TABLE SV_INDEX_KIND_COUNT

typedef struct table {
    const char *from;  /* "idx_token t" */
    const char *rid;   /* "t.rid" */
    const char *type;  /* "t.type" */
    const char *param; /* "t.param"; NULL for resource */
} table;

static const table tables[SV_INDEX_KIND_COUNT + 1] = {
    [SV_INDEX_STRING] = {"idx_string s", "s.rid", "s.type", "s.param"},
    [SV_INDEX_TOKEN] = {"idx_token t", "t.rid", "t.type", "t.param"},
    [SV_INDEX_REFERENCE] = {"idx_reference x", "x.rid", "x.type", "x.param"},
    [SV_INDEX_DATE] = {"idx_date d", "d.rid", "d.type", "d.param"},
    [SV_INDEX_NUMBER] = {"idx_number n", "n.rid", "n.type", "n.param"},
    [SV_INDEX_QUANTITY] = {"idx_quantity q", "q.rid", "q.type", "q.param"},
    [SV_INDEX_URI] = {"idx_uri u", "u.rid", "u.type", "u.param"},
    [SV_INDEX_COMPOSITE] = {"idx_composite c", "c.rid", "c.type", "c.param"},
    [RESOURCE_TABLE] = {"resource r", "r.rid", "r.type", NULL},
};

/* The columns a value condition reads; NULL where the table has none. */
typedef struct cols {
    const char *system, *value, *exact, *text, *url;
    const char *low, *high; /* dates */
    const char *number;
    const char *unit_system, *unit_code, *unit_text;
    const char *value2; /* composite rows: the identifier value of :of-type */
} cols;

static const cols COLS_STRING = {.value = "s.value", .exact = "s.exact"};
static const cols COLS_TOKEN = {.system = "t.system", .value = "t.value", .text = "t.text"};
static const cols COLS_REFERENCE = {
    .system = "x.target_type", .value = "x.target_id", .url = "x.url"};
static const cols COLS_DATE = {.low = "d.low", .high = "d.high"};
static const cols COLS_NUMBER = {.number = "n.value"};
static const cols COLS_QUANTITY = {
    .number = "q.value", .unit_system = "q.system", .unit_code = "q.code", .unit_text = "q.unit"};
static const cols COLS_URI = {.value = "u.uri"};
/* _lastUpdated is an instant: a range of one millisecond, so the date conditions apply. */
static const cols COLS_RESOURCE = {
    .value = "r.id", .low = "r.last_updated", .high = "r.last_updated"};
static const cols COLS_PAIR_FIRST = {
    .system = "c.system1", .value = "c.value1", .value2 = "c.value2"};
static const cols COLS_PAIR_SECOND = {.system = "c.system2",
                                      .value = "c.value2",
                                      .low = "c.low2",
                                      .high = "c.high2",
                                      .number = "c.number2",
                                      .unit_system = "c.system2",
                                      .unit_code = "c.value2"};

static int table_of(const sv_clause_value *v)
{
    switch (v->kind) {
    case SV_CLAUSE_ID:
    case SV_CLAUSE_LAST_UPDATED:
        return RESOURCE_TABLE;
    case SV_CLAUSE_STRING:
    case SV_CLAUSE_STRING_EXACT:
    case SV_CLAUSE_STRING_CONTAINS:
        return SV_INDEX_STRING;
    case SV_CLAUSE_TOKEN:
    case SV_CLAUSE_TOKEN_TEXT:
        return SV_INDEX_TOKEN;
    case SV_CLAUSE_REFERENCE:
    case SV_CLAUSE_REFERENCE_URL:
        return SV_INDEX_REFERENCE;
    case SV_CLAUSE_DATE:
        return SV_INDEX_DATE;
    case SV_CLAUSE_NUMBER:
        return SV_INDEX_NUMBER;
    case SV_CLAUSE_QUANTITY:
        return SV_INDEX_QUANTITY;
    case SV_CLAUSE_URI:
    case SV_CLAUSE_URI_BELOW:
    case SV_CLAUSE_URI_ABOVE:
        return SV_INDEX_URI;
    case SV_CLAUSE_TOKEN_OF_TYPE:
    case SV_CLAUSE_COMPOSITE:
        return SV_INDEX_COMPOSITE;
    case SV_CLAUSE_MISSING:
        return (unsigned)v->index_kind < SV_INDEX_KIND_COUNT ? v->index_kind : SV_INDEX_TOKEN;
    }
    return SV_INDEX_TOKEN;
}

static const cols *cols_of(int table)
{
    static const cols *const all[SV_INDEX_KIND_COUNT + 1] = {
        [SV_INDEX_STRING] = &COLS_STRING,
        [SV_INDEX_TOKEN] = &COLS_TOKEN,
        [SV_INDEX_REFERENCE] = &COLS_REFERENCE,
        [SV_INDEX_DATE] = &COLS_DATE,
        [SV_INDEX_NUMBER] = &COLS_NUMBER,
        [SV_INDEX_QUANTITY] = &COLS_QUANTITY,
        [SV_INDEX_URI] = &COLS_URI,
        [SV_INDEX_COMPOSITE] = &COLS_PAIR_FIRST,
        [RESOURCE_TABLE] = &COLS_RESOURCE,
    };
    return all[table];
}

/* ---- value conditions ---------------------------------------------------------------- */

/* col op ? */
static void col_op(qb *b, const char *col, const char *op)
{
    S(b, col);
    S(b, op);
}

/*
 * FHIR R4 date comparisons: the resource's range [low, high] against the search
 * value's [v->low, v->high] (both inclusive).  eq: contained; gt/lt: the range
 * above/below the value overlaps; ge/le: gt/lt or eq; sa/eb: entirely after/before;
 * ap: overlaps (the parser widened the value).
 */
static void date_cond(qb *b, const cols *k, const sv_clause_value *v)
{
    switch (v->cmp) {
    case SV_CMP_NE:
        S(b, "NOT (");
        col_op(b, k->low, " >= ? AND ");
        col_op(b, k->high, " <= ?)");
        I(b, v->low), I(b, v->high);
        return;
    case SV_CMP_LT:
        col_op(b, k->low, " < ?");
        I(b, v->low);
        return;
    case SV_CMP_GT:
        col_op(b, k->high, " > ?");
        I(b, v->high);
        return;
    case SV_CMP_LE: /* lt, or eq (low >= v.low already holds when low < v.low fails) */
        S(b, "(");
        col_op(b, k->low, " < ? OR ");
        col_op(b, k->high, " <= ?)");
        I(b, v->low), I(b, v->high);
        return;
    case SV_CMP_GE:
        S(b, "(");
        col_op(b, k->high, " > ? OR ");
        col_op(b, k->low, " >= ?)");
        I(b, v->high), I(b, v->low);
        return;
    case SV_CMP_SA:
        col_op(b, k->low, " > ?");
        I(b, v->high);
        return;
    case SV_CMP_EB:
        col_op(b, k->high, " < ?");
        I(b, v->low);
        return;
    case SV_CMP_AP:
        col_op(b, k->low, " <= ? AND ");
        col_op(b, k->high, " >= ?");
        I(b, v->high), I(b, v->low);
        return;
    case SV_CMP_EQ:
        break;
    }
    col_op(b, k->low, " >= ? AND ");
    col_op(b, k->high, " <= ?");
    I(b, v->low), I(b, v->high);
}

/* Numbers: eq/ne against the implicit range [dlow, dhigh) of the value as written,
 * sa/eb entirely above/below it, ap against [dlow, dhigh] (the parser made it
 * +-10%), lt/gt/le/ge against the value itself. */
static void number_cond(qb *b, const char *col, const sv_clause_value *v)
{
    switch (v->cmp) {
    case SV_CMP_NE:
        S(b, "NOT (");
        col_op(b, col, " >= ? AND ");
        col_op(b, col, " < ?)");
        D(b, v->dlow), D(b, v->dhigh);
        return;
    case SV_CMP_LT:
        col_op(b, col, " < ?");
        D(b, v->number);
        return;
    case SV_CMP_GT:
        col_op(b, col, " > ?");
        D(b, v->number);
        return;
    case SV_CMP_SA: /* entirely above the implicit range */
        col_op(b, col, " > ?");
        D(b, v->dhigh);
        return;
    case SV_CMP_EB:
        col_op(b, col, " < ?");
        D(b, v->dlow);
        return;
    case SV_CMP_LE:
        col_op(b, col, " <= ?");
        D(b, v->number);
        return;
    case SV_CMP_GE:
        col_op(b, col, " >= ?");
        D(b, v->number);
        return;
    case SV_CMP_AP:
        col_op(b, col, " >= ? AND ");
        col_op(b, col, " <= ?");
        D(b, v->dlow), D(b, v->dhigh);
        return;
    case SV_CMP_EQ:
        break;
    }
    col_op(b, col, " >= ? AND ");
    col_op(b, col, " < ?");
    D(b, v->dlow), D(b, v->dhigh);
}

static void token_cond(qb *b, const cols *k, const sv_clause_value *v)
{
    if (!v->value) { /* system| */
        col_op(b, k->system, " = ?");
        T(b, v->system);
        return;
    }
    col_op(b, k->value, " = ?");
    T(b, v->value);
    if (!v->system_set)
        return;
    S(b, " AND ");
    if (v->system) {
        col_op(b, k->system, " = ?");
        T(b, v->system);
    } else {
        col_op(b, k->system, " IS NULL");
    }
}

/* The uri and its parents: "http://a/b/c" -> itself, "http://a/b/", "http://a/b",
 * "http://a/", "http://a" (never cutting inside "scheme://"). */
static void above_cond(qb *b, const cols *k, const char *uri)
{
    col_op(b, k->value, " IN (?");
    T(b, uri);
    const char *host = strstr(uri, "://");
    size_t start = host ? (size_t)(host - uri) + 3 : 0, len = strlen(uri);
    int n = 0;
    for (size_t p = len; p-- > start && n < 64;) {
        if (uri[p] != '/')
            continue;
        size_t cuts[2] = {p + 1, p}; /* with the slash, without it */
        for (int c = 0; c < 2; c++) {
            if (cuts[c] == len || cuts[c] <= start)
                continue;
            sv_buf t = SV_BUF_INIT;
            sv_buf_add(&t, uri, cuts[c]);
            S(b, ", ?");
            T(b, own(b, &t));
        }
        n++;
    }
    S(b, ")");
}

static void value_cond(qb *b, const cols *k, const sv_clause_value *v)
{
    switch (v->kind) {
    case SV_CLAUSE_ID:
        col_op(b, k->value, " = ?");
        T(b, v->value);
        return;
    case SV_CLAUSE_LAST_UPDATED:
    case SV_CLAUSE_DATE:
        date_cond(b, k, v);
        return;
    case SV_CLAUSE_STRING:
        col_op(b, k->value, " >= ? AND ");
        col_op(b, k->value, " < ?");
        T(b, v->value);
        T(b, prefix_end(b, v->value));
        return;
    case SV_CLAUSE_STRING_EXACT:
        col_op(b, k->value, " = ?"); /* the index holds the folded text */
        T(b, folded(b, v->value));
        if (k->exact) {
            S(b, " AND ");
            col_op(b, k->exact, " = ?");
            T(b, v->value);
        }
        return;
    case SV_CLAUSE_STRING_CONTAINS:
        col_op(b, k->value, " LIKE ? ESCAPE '\\'");
        T(b, like_pattern(b, "%", v->value, "%"));
        return;
    case SV_CLAUSE_TOKEN:
        token_cond(b, k, v);
        return;
    case SV_CLAUSE_TOKEN_TEXT: /* the folded display or text starts with it */
        col_op(b, k->text, " >= ? AND ");
        col_op(b, k->text, " < ?");
        T(b, v->value);
        T(b, prefix_end(b, v->value));
        return;
    case SV_CLAUSE_REFERENCE:
        if (v->system && v->value2) {
            /* Type/id, or the same target written as this server's absolute url */
            col_op(b, k->value, " IN (?, ?) AND (");
            col_op(b, k->system, " = ? OR ");
            col_op(b, k->value, " = ?)");
            T(b, v->value), T(b, v->value2), T(b, v->system), T(b, v->value2);
            return;
        }
        col_op(b, k->value, " = ?");
        T(b, v->value);
        if (v->system) {
            S(b, " AND ");
            col_op(b, k->system, " = ?");
            T(b, v->system);
        }
        return;
    case SV_CLAUSE_REFERENCE_URL:
        col_op(b, k->value, " = ?");
        T(b, v->value);
        if (v->value2 && k->url) {
            S(b, " AND ");
            col_op(b, k->url, " = ?");
            T(b, v->value2);
        }
        return;
    case SV_CLAUSE_NUMBER:
    case SV_CLAUSE_QUANTITY:
        number_cond(b, k->number, v);
        if (v->kind == SV_CLAUSE_QUANTITY && v->value) {
            S(b, " AND ");
            if (v->system) {
                col_op(b, k->unit_system, " = ? AND ");
                col_op(b, k->unit_code, " = ?");
                T(b, v->system), T(b, v->value);
            } else if (k->unit_text) {
                S(b, "(");
                col_op(b, k->unit_code, " = ? OR ");
                col_op(b, k->unit_text, " = ?)");
                T(b, v->value), T(b, v->value);
            } else {
                col_op(b, k->unit_code, " = ?");
                T(b, v->value);
            }
        }
        return;
    case SV_CLAUSE_URI:
        col_op(b, k->value, " = ?");
        T(b, v->value);
        return;
    case SV_CLAUSE_URI_BELOW:
        col_op(b, k->value, " >= ? AND ");
        col_op(b, k->value, " < ?");
        T(b, v->value);
        T(b, prefix_end(b, v->value));
        return;
    case SV_CLAUSE_URI_ABOVE:
        above_cond(b, k, v->value);
        return;
    case SV_CLAUSE_TOKEN_OF_TYPE:
        token_cond(b, &COLS_PAIR_FIRST,
                   &(sv_clause_value){
                       .system = v->system, .system_set = v->system != NULL, .value = v->value});
        S(b, " AND ");
        col_op(b, COLS_PAIR_FIRST.value2, " = ?");
        T(b, v->value2);
        return;
    case SV_CLAUSE_COMPOSITE:
        S(b, "(");
        value_cond(b, &COLS_PAIR_FIRST, &v->parts[0]);
        S(b, ") AND (");
        value_cond(b, &COLS_PAIR_SECOND, &v->parts[1]);
        S(b, ")");
        return;
    case SV_CLAUSE_MISSING:
        S(b, "1 = 1");
        return;
    }
}

/* ---- clauses: filter and set forms ------------------------------------------------- */

static bool same_table(const sv_clause *c)
{
    for (size_t k = 1; k < c->nvalues; k++)
        if (table_of(&c->values[k]) != table_of(&c->values[0]))
            return false;
    return true;
}

/* EXISTS (rows of table for m.rid and the clause's parameter where cond of values[from..to)) */
static void exists_values(qb *b, const sv_clause *c, size_t from, size_t to)
{
    int ti = table_of(&c->values[from]);
    const table *tb = &tables[ti];
    S(b, "EXISTS (SELECT 1 FROM ");
    S(b, tb->from);
    S(b, " WHERE ");
    S(b, tb->rid);
    S(b, " = m.rid");
    if (tb->param) {
        S(b, " AND ");
        S(b, tb->param);
        S(b, " = ?");
        T(b, c->param);
    }
    S(b, " AND (");
    for (size_t k = from; k < to; k++) {
        S(b, k > from ? " OR (" : "(");
        value_cond(b, cols_of(ti), &c->values[k]);
        S(b, ")");
    }
    S(b, "))");
}

static void any_row(qb *b, int ti, const char *param)
{
    const table *tb = &tables[ti];
    S(b, "EXISTS (SELECT 1 FROM ");
    S(b, tb->from);
    S(b, " WHERE ");
    S(b, tb->rid);
    S(b, " = m.rid AND ");
    S(b, tb->param);
    S(b, " = ?)");
    T(b, param);
}

/* The condition on m.rid at the end of the chain. */
static void final_filter(qb *b, const sv_clause *c)
{
    if (c->nvalues == 1 && c->values[0].kind == SV_CLAUSE_MISSING) {
        int ti = table_of(&c->values[0]);
        bool missing = c->values[0].number != 0;
        S(b, missing ? "NOT (" : "(");
        any_row(b, ti, c->param);
        if (ti == SV_INDEX_REFERENCE) { /* a reference by identifier only is a value too */
            S(b, " OR ");
            any_row(b, SV_INDEX_TOKEN, c->param);
        }
        S(b, ")");
        return;
    }
    if (c->nvalues == 0) {
        S(b, "1 = 1");
        return;
    }
    if (c->negate)
        S(b, "NOT ");
    if (same_table(c)) {
        exists_values(b, c, 0, c->nvalues);
        return;
    }
    S(b, "(");
    for (size_t k = 0; k < c->nvalues; k++) {
        if (k)
            S(b, " OR ");
        exists_values(b, c, k, k + 1);
    }
    S(b, ")");
}

static void filter_form(qb *b, const sv_clause *c, size_t level)
{
    if (level == c->nlinks) {
        final_filter(b, c);
        return;
    }
    const sv_clause_link *l = &c->links[level];
    if (!l->reverse) {
        /* a reference of m to a live resource of l->type that matches the rest.
         * PostgreSQL: the target found by (type, id) in a scalar subquery, so that it
         * is always one unique-index seek per reference; as a join, a planner
         * without statistics yet (a freshly loaded table) may scan every resource
         * of the type for each reference instead. */
        S(b, "EXISTS (SELECT 1 FROM idx_reference x WHERE x.rid = m.rid AND x.param = ? AND"
             " x.target_type = ? AND EXISTS (SELECT 1 FROM resource m WHERE ");
        S(b, b->postgres ? "m.rid = (SELECT z.rid FROM resource z WHERE z.type = x.target_type"
                           " AND z.id = x.target_id) AND m.deleted = 0"
                         : "m.type = x.target_type AND m.id = x.target_id AND m.deleted = 0");
        T(b, l->param), T(b, l->type);
        visible(b, SV_ACCESS_VISIBLE("m.rid"));
        S(b, " AND ");
        filter_form(b, c, level + 1);
        S(b, "))");
    } else {
        /* a resource of l->type whose l->param refers to m, that matches the rest */
        S(b, "EXISTS (SELECT 1 FROM resource r WHERE r.rid = m.rid AND EXISTS (SELECT 1 FROM"
             " idx_reference m WHERE m.type = ? AND m.param = ? AND m.target_type = r.type AND"
             " m.target_id = r.id");
        T(b, l->type), T(b, l->param);
        visible(b, SV_ACCESS_VISIBLE("m.rid"));
        S(b, " AND ");
        filter_form(b, c, level + 1);
        S(b, "))");
    }
}

/* How likely the clause is to match few resources (0: it cannot drive at all). */
static int value_score(const sv_clause_value *v)
{
    switch (v->kind) {
    case SV_CLAUSE_ID:
        return 100;
    case SV_CLAUSE_REFERENCE:
    case SV_CLAUSE_REFERENCE_URL:
    case SV_CLAUSE_STRING_EXACT:
    case SV_CLAUSE_URI:
    case SV_CLAUSE_TOKEN_OF_TYPE:
    case SV_CLAUSE_COMPOSITE:
        return 90;
    case SV_CLAUSE_TOKEN:
        return !v->value ? 30 : v->system_set && v->system ? 90 : 70;
    case SV_CLAUSE_STRING:
        return strlen(v->value) >= 3 ? 60 : 40;
    case SV_CLAUSE_URI_ABOVE:
        return 60;
    case SV_CLAUSE_URI_BELOW:
        return 40;
    case SV_CLAUSE_DATE:
    case SV_CLAUSE_NUMBER:
    case SV_CLAUSE_QUANTITY:
        return v->cmp == SV_CMP_EQ ? 50 : v->cmp == SV_CMP_NE ? 5 : 25;
    case SV_CLAUSE_LAST_UPDATED:
        return v->cmp == SV_CMP_EQ ? 40 : v->cmp == SV_CMP_NE ? 5 : 20;
    case SV_CLAUSE_STRING_CONTAINS:
    case SV_CLAUSE_TOKEN_TEXT:
        return 10;
    case SV_CLAUSE_MISSING:
        return 0;
    }
    return 0;
}

static int clause_score(const sv_clause *c)
{
    if (c->negate || c->nvalues == 0)
        return 0;
    int score = 100;
    for (size_t k = 0; k < c->nvalues; k++) {
        int s = value_score(&c->values[k]);
        if (s < score)
            score = s;
    }
    if (score == 0)
        return 0;
    if (c->coarse && score > 45)
        score = 45;
    if (c->nvalues > 1)
        score -= 5;
    if (c->nlinks)
        score -= 5 * (int)c->nlinks;
    return score > 1 ? score : 1;
}

/* SELECT rid of the resources of type that match the clause's values (at the end of the chain). */
static void final_set(qb *b, const char *type, const sv_clause *c)
{
    for (size_t k = 0; k < c->nvalues; k++) {
        int ti = table_of(&c->values[k]);
        const table *tb = &tables[ti];
        if (k)
            S(b, " UNION ALL ");
        S(b, "SELECT ");
        S(b, tb->rid);
        S(b, " AS rid FROM ");
        S(b, tb->from);
        S(b, " WHERE ");
        S(b, tb->type);
        S(b, " = ? AND ");
        T(b, type);
        if (tb->param) {
            S(b, tb->param);
            S(b, " = ? AND (");
            T(b, c->param);
        } else {
            S(b, "r.deleted = 0 AND (");
        }
        value_cond(b, cols_of(ti), &c->values[k]);
        S(b, ")");
    }
}

static void set_form(qb *b, const char *type, const sv_clause *c, size_t level)
{
    if (level == c->nlinks) {
        final_set(b, type, c);
        return;
    }
    const sv_clause_link *l = &c->links[level];
    if (!l->reverse) {
        S(b, "SELECT x.rid AS rid FROM idx_reference x WHERE x.type = ? AND x.param = ? AND"
             " x.target_type = ? AND x.target_id IN (SELECT r.id FROM resource r WHERE"
             " r.rid IN (");
        T(b, type), T(b, l->param), T(b, l->type);
        set_form(b, l->type, c, level + 1);
        S(b, ")");
        visible(b, SV_ACCESS_VISIBLE("r.rid"));
        S(b, ")");
    } else {
        /* From the referring resources to their references to the targets: the join order
         * is fixed (CROSS JOIN), as the planner cannot know the inner set is small, and
         * x.type is left out (x.rid = h.rid implies it) so that x is read by rid. */
        S(b, "SELECT r.rid AS rid FROM (");
        set_form(b, l->type, c, level + 1);
        S(b, ") h CROSS JOIN idx_reference x CROSS JOIN resource r WHERE x.rid = h.rid AND"
             " x.param = ? AND x.target_type = ? AND r.type = ? AND r.id = x.target_id AND"
             " r.deleted = 0");
        T(b, l->param), T(b, type), T(b, type); /* x.rid = h.rid fixes x.type */
        visible(b, SV_ACCESS_VISIBLE("h.rid"));
    }
}

/* ---- the queries ------------------------------------------------------------------- */

/* Thresholds for a driver: walking the type in rid order finds a first page fast
 * when matches are dense, so without a sort only a fairly selective clause drives;
 * a sort or a count visits every match anyway, so any indexed clause beats a walk. */
#define DRIVE_PAGE 45
#define DRIVE_ALL 20

/*
 * Where the rows come from: the driver clause's set (or, clause < 0, the walk of
 * the type); or, when the driver is a reference with combined rows (store/combined.h),
 * their set, which also answers one token clause on the combined code (absorbed) and
 * carries the date the worklist is sorted by (m.low, m.high).
 */
typedef struct drive {
    int clause;
    const sv_combined_def *combined; /* NULL: the clause's own set */
    int absorbed;                    /* the token clause the combined set answers, or -1 */
    bool unique; /* the set has one row per rid: no GROUP BY, no DISTINCT (combined, one value) */
} drive;

/* A clause the combined rows can answer: on the resource itself, positive, and every
 * value of the kind given (plain codes for tokens: the rows hold the code only). */
static bool combinable(const sv_clause *c, sv_clause_kind kind)
{
    if (c->nlinks || c->negate || c->nvalues == 0)
        return false;
    for (size_t k = 0; k < c->nvalues; k++) {
        const sv_clause_value *v = &c->values[k];
        if (v->kind != kind || !v->value || (kind == SV_CLAUSE_TOKEN && v->system_set))
            return false;
    }
    return true;
}

static drive pick_driver(const sv_store_query *q, int threshold)
{
    drive d = {.clause = -1, .absorbed = -1};
    int best_score = threshold - 1;
    for (size_t i = 0; i < q->nclauses; i++) {
        int s = clause_score(&q->clauses[i]);
        if (s > best_score) {
            d.clause = (int)i;
            best_score = s;
        }
    }
    if (d.clause < 0)
        return d;
    const sv_clause *c = &q->clauses[d.clause];
    if (!combinable(c, SV_CLAUSE_REFERENCE)) {
        /* One value of a one-row parameter: its set has each rid once (fhir/index.c
         * extracts one row from one code, and a resource's rows are replaced whole). */
        d.unique = c->single && c->nvalues == 1 && !c->nlinks && !c->negate &&
                   c->values[0].kind == SV_CLAUSE_TOKEN;
        return d;
    }
    d.combined = sv_combined_find(q->type, c->param);
    /* One value: a resource with one combined row (multi = 0) matches at most once; two
     * values may both match one row (Type/id and the bare id). */
    d.unique = d.combined && c->nvalues == 1;
    for (size_t i = 0; d.combined && i < q->nclauses; i++) {
        if (strcmp(q->clauses[i].param, d.combined->code) == 0 &&
            combinable(&q->clauses[i], SV_CLAUSE_TOKEN)) {
            d.absorbed = (int)i;
            break;
        }
    }
    return d;
}

static const cols COLS_COMBINED = {.system = "w.target_type", .value = "w.target_id"};
static const cols COLS_COMBINED_TWIN = {.system = "v.target_type", .value = "v.target_id"};

/* (the value's reference) AND (the codes), on the combined row k names */
static void combined_conds(qb *b, const sv_store_query *q, const drive *d, const sv_clause_value *v,
                           const cols *k, const char *code_in)
{
    const sv_clause *codes = d->absorbed >= 0 ? &q->clauses[d->absorbed] : NULL;
    S(b, "(");
    value_cond(b, k, v);
    S(b, ")");
    if (!codes)
        return;
    S(b, code_in);
    for (size_t j = 0; j < codes->nvalues; j++) {
        S(b, j ? ", ?" : "?");
        T(b, codes->values[j].value);
    }
    S(b, ")");
}

/* ... FROM idx_combined w WHERE (the value's reference) AND (the codes) */
static void combined_where(qb *b, const sv_store_query *q, const drive *d, const sv_clause_value *v)
{
    S(b, " FROM idx_combined w WHERE w.type = ? AND w.param = ? AND ");
    T(b, q->type), T(b, q->clauses[d->clause].param);
    combined_conds(b, q, d, v, &COLS_COMBINED, " AND w.code IN (");
}

/* Whether the driver is the worklist of the filter's first holder (owner=Organization/O
 * asked by O): its combined rows carry O's grants (SV_ACCESS_VISIBLE_ROW), so the
 * filter costs a few comparisons a match. */
static bool own_worklist(const sv_store_query *q, const drive *d)
{
    if (!d->combined || !d->unique || !q->access || !q->access->holder1)
        return false;
    const sv_clause_value *v = &q->clauses[d->clause].values[0];
    const char *h = q->access->holder1;
    size_t n = v->system ? strlen(v->system) : 0;
    return v->kind == SV_CLAUSE_REFERENCE && n && strncmp(h, v->system, n) == 0 && h[n] == '/' &&
           strcmp(h + n + 1, v->value) == 0;
}

/*
 * SELECT rid, low, high of the combined rows of the driver's references (and codes).
 * Unique: the resources with one combined row as they are, and of those with several
 * (multi = 1: rare) the first matching row, so that each rid comes once without
 * sorting every match (every row of one resource carries the same low and high,
 * store/combined.c).  SQLite names that row by rowid, in one pass that the sort of a
 * worklist reads directly; PostgreSQL, without a rowid, groups them in a second arm.
 */
static void combined_set(qb *b, const sv_store_query *q, const drive *d)
{
    const sv_clause *c = &q->clauses[d->clause];
    /* One's own worklist checks the access filter on each row (SV_ACCESS_VISIBLE_ROW),
     * where the row's copy of the grant can answer without a seek; from_where then adds
     * no filter of its own.  The range holds rows whose target is the value (Type/id,
     * which own_worklist found to be the first holder) or its absolute url, which
     * store/combined.c gives no copy. */
    bool rowwise = own_worklist(q, d);
    if (d->unique && !b->postgres) {
        S(b, "SELECT w.rid AS rid, w.low AS low, w.high AS high");
        combined_where(b, q, d, &c->values[0]);
        S(b, " AND (w.multi = 0 OR NOT EXISTS (SELECT 1 FROM idx_combined v WHERE"
             " v.rid = w.rid AND v.param = w.param AND v.type = w.type AND v.rowid < w.rowid"
             " AND ");
        combined_conds(b, q, d, &c->values[0], &COLS_COMBINED_TWIN, " AND v.code IN (");
        S(b, "))");
        if (rowwise)
            visible_row(b);
        return;
    }
    if (d->unique) {
        S(b, "SELECT w.rid AS rid, w.low AS low, w.high AS high");
        combined_where(b, q, d, &c->values[0]);
        S(b, " AND w.multi = 0");
        if (rowwise)
            visible_row(b);
        S(b, " UNION ALL SELECT w.rid AS rid, MIN(w.low) AS low, MAX(w.high) AS high");
        combined_where(b, q, d, &c->values[0]);
        S(b, " AND w.multi = 1");
        if (rowwise)
            visible_row(b);
        S(b, " GROUP BY w.rid");
        return;
    }
    for (size_t k = 0; k < c->nvalues; k++) {
        S(b, k ? " UNION ALL SELECT w.rid AS rid, w.low AS low, w.high AS high"
               : "SELECT w.rid AS rid, w.low AS low, w.high AS high");
        combined_where(b, q, d, &c->values[k]);
    }
}

static void from_where(qb *b, const sv_store_query *q, const drive *d)
{
    if (d->combined) {
        S(b, " FROM (");
        combined_set(b, q, d);
        S(b, ") m WHERE 1 = 1");
    } else if (d->clause >= 0) {
        S(b, " FROM (");
        set_form(b, q->type, &q->clauses[d->clause], 0);
        S(b, ") m WHERE 1 = 1");
    } else {
        S(b, " FROM resource m WHERE m.type = ? AND m.deleted = 0");
        T(b, q->type);
    }
    for (size_t i = 0; i < q->nclauses; i++) {
        if ((int)i == d->clause || (d->combined && (int)i == d->absorbed))
            continue;
        S(b, " AND ");
        filter_form(b, &q->clauses[i], 0);
    }
    if (!own_worklist(q, d)) /* one's own worklist has checked it per row */
        visible(b, SV_ACCESS_VISIBLE("m.rid"));
}

static void build_count(qb *b, const sv_store_query *q)
{
    drive d = pick_driver(q, DRIVE_ALL);
    S(b, d.clause >= 0 && !d.unique ? "SELECT COUNT(*) FROM (SELECT DISTINCT m.rid AS rid"
                                    : "SELECT COUNT(*) FROM (SELECT m.rid AS rid");
    from_where(b, q, &d);
    S(b, ") p");
}

static const char *const KEY_AS[SV_SORT_MAX_KEYS] = {" AS k0", " AS k1", " AS k2", " AS k3",
                                                     " AS k4", " AS k5", " AS k6", " AS k7"};
/* k: the rows with their sort keys, before the keyset condition and the order */
static const char *const KEY_C[SV_SORT_MAX_KEYS] = {"k.k0", "k.k1", "k.k2", "k.k3",
                                                    "k.k4", "k.k5", "k.k6", "k.k7"};
static const char *const KEY_P[SV_SORT_MAX_KEYS] = {"p.k0", "p.k1", "p.k2", "p.k3",
                                                    "p.k4", "p.k5", "p.k6", "p.k7"};

/* The value of a sort key for m.rid: the least value ascending, the greatest descending.
 * The combined rows carry the worklist's date: its least start and greatest end. */
static void sort_expr(qb *b, const sv_sort_key *k, const drive *d)
{
    if (d->combined && k->by == SV_SORT_PARAM && strcmp(k->param, d->combined->date) == 0) {
        if (d->unique)
            S(b, k->descending ? "m.high" : "m.low");
        else
            S(b, k->descending ? "MAX(m.high)" : "MIN(m.low)");
        return;
    }
    static const char *const least[SV_INDEX_KIND_COUNT] = {
        [SV_INDEX_STRING] = "(SELECT MIN(z.value) FROM idx_string z WHERE z.rid = m.rid AND"
                            " z.param = ?)",
        [SV_INDEX_TOKEN] = "(SELECT MIN(z.value) FROM idx_token z WHERE z.rid = m.rid AND"
                           " z.param = ?)",
        [SV_INDEX_REFERENCE] = "(SELECT MIN(z.target_id) FROM idx_reference z WHERE"
                               " z.rid = m.rid AND z.param = ?)",
        [SV_INDEX_DATE] = "(SELECT MIN(z.low) FROM idx_date z WHERE z.rid = m.rid AND"
                          " z.param = ?)",
        [SV_INDEX_NUMBER] = "(SELECT MIN(z.value) FROM idx_number z WHERE z.rid = m.rid AND"
                            " z.param = ?)",
        [SV_INDEX_QUANTITY] = "(SELECT MIN(z.value) FROM idx_quantity z WHERE z.rid = m.rid AND"
                              " z.param = ?)",
        [SV_INDEX_URI] = "(SELECT MIN(z.uri) FROM idx_uri z WHERE z.rid = m.rid AND z.param = ?)",
    };
    static const char *const greatest[SV_INDEX_KIND_COUNT] = {
        [SV_INDEX_STRING] = "(SELECT MAX(z.value) FROM idx_string z WHERE z.rid = m.rid AND"
                            " z.param = ?)",
        [SV_INDEX_TOKEN] = "(SELECT MAX(z.value) FROM idx_token z WHERE z.rid = m.rid AND"
                           " z.param = ?)",
        [SV_INDEX_REFERENCE] = "(SELECT MAX(z.target_id) FROM idx_reference z WHERE"
                               " z.rid = m.rid AND z.param = ?)",
        [SV_INDEX_DATE] = "(SELECT MAX(z.high) FROM idx_date z WHERE z.rid = m.rid AND"
                          " z.param = ?)",
        [SV_INDEX_NUMBER] = "(SELECT MAX(z.value) FROM idx_number z WHERE z.rid = m.rid AND"
                            " z.param = ?)",
        [SV_INDEX_QUANTITY] = "(SELECT MAX(z.value) FROM idx_quantity z WHERE z.rid = m.rid AND"
                              " z.param = ?)",
        [SV_INDEX_URI] = "(SELECT MAX(z.uri) FROM idx_uri z WHERE z.rid = m.rid AND z.param = ?)",
    };
    switch (k->by) {
    case SV_SORT_ID:
        S(b, "(SELECT z.id FROM resource z WHERE z.rid = m.rid)");
        return;
    case SV_SORT_LAST_UPDATED:
        S(b, "(SELECT z.last_updated FROM resource z WHERE z.rid = m.rid)");
        return;
    case SV_SORT_PARAM:
        break;
    }
    int kind = (unsigned)k->index_kind < SV_INDEX_COMPOSITE ? k->index_kind : SV_INDEX_TOKEN;
    S(b, k->descending ? greatest[kind] : least[kind]);
    T(b, k->param);
}

static void bind_key(qb *b, const sv_key_value *v)
{
    switch (v->type) {
    case SV_KEY_INT:
        I(b, v->i);
        break;
    case SV_KEY_REAL:
        D(b, v->d);
        break;
    case SV_KEY_TEXT:
        T(b, v->text ? v->text : "");
        break;
    case SV_KEY_NULL:
        T(b, NULL);
        break;
    }
}

/*
 * Rows after the position: key by key, a later value (missing values come last in
 * both directions), or an equal one and the rest after; finally a larger rid.
 * Backward, the mirror image: an earlier value (any value is earlier than a
 * missing one), or an equal one and the rest before; finally a smaller rid.
 */
static void keyset(qb *b, const sv_store_query *q, size_t j)
{
    const sv_search_position *at = q->after;
    if (j == q->nsort) {
        S(b, q->backward ? "k.rid < ?" : "k.rid > ?");
        I(b, at->rid);
        return;
    }
    const sv_key_value *v = j < at->nkeys ? &at->keys[j] : &(sv_key_value){.type = SV_KEY_NULL};
    bool up = q->sort[j].descending == q->backward; /* "later" means a larger value */
    S(b, "(");
    if (v->type == SV_KEY_NULL) {
        if (q->backward) {
            col_op(b, KEY_C[j], " IS NOT NULL OR (");
            col_op(b, KEY_C[j], " IS NULL AND ");
            keyset(b, q, j + 1);
            S(b, ")");
        } else {
            col_op(b, KEY_C[j], " IS NULL AND ");
            keyset(b, q, j + 1);
        }
    } else {
        S(b, "(");
        col_op(b, KEY_C[j], up ? " > ?" : " < ?");
        bind_key(b, v);
        if (!q->backward) {
            S(b, " OR ");
            col_op(b, KEY_C[j], " IS NULL");
        }
        S(b, ") OR (");
        col_op(b, KEY_C[j], " = ? AND ");
        bind_key(b, v);
        keyset(b, q, j + 1);
        S(b, ")");
    }
    S(b, ")");
}

static void order_by(qb *b, const sv_store_query *q, const char *const *key_cols,
                     const char *rid_col, bool reverse)
{
    S(b, " ORDER BY ");
    for (size_t j = 0; j < q->nsort; j++) {
        S(b, key_cols[j]);
        if (q->sort[j].descending != reverse)
            S(b, reverse ? " DESC NULLS FIRST, " : " DESC NULLS LAST, ");
        else
            S(b, reverse ? " ASC NULLS FIRST, " : " ASC NULLS LAST, ");
    }
    S(b, rid_col);
    if (reverse)
        S(b, " DESC");
}

/*
 * The page query.  with_total (sorted queries only): every row also carries the
 * number of all matches (a window over the rows before the keyset condition), so
 * that a sort, which visits every match anyway, needs no second pass to count.
 */
static void build_page(qb *b, const sv_store_query *q, bool with_total)
{
    bool keys = q->nsort > 0;
    with_total = with_total && keys;
    const sv_search_position *at = q->after && q->after->rid ? q->after : NULL;
    bool reverse = at && q->backward;
    drive d = pick_driver(q, keys ? DRIVE_ALL : DRIVE_PAGE);
    S(b, "SELECT r.type, r.id, r.version, r.last_updated, v.json, v.seq, v.method, p.rid");
    for (size_t j = 0; j < q->nsort; j++) {
        S(b, ", ");
        S(b, KEY_P[j]);
    }
    if (with_total)
        S(b, ", p.n");
    S(b, " FROM (");
    if (keys) {
        S(b, "SELECT k.rid AS rid");
        for (size_t j = 0; j < q->nsort; j++) {
            S(b, ", ");
            S(b, KEY_C[j]);
            S(b, KEY_AS[j]);
        }
        if (with_total)
            S(b, ", k.n AS n");
        S(b, " FROM (");
    }
    S(b, "SELECT m.rid AS rid");
    for (size_t j = 0; j < q->nsort; j++) {
        S(b, ", ");
        sort_expr(b, &q->sort[j], &d);
        S(b, KEY_AS[j]);
    }
    if (with_total)
        S(b, ", COUNT(*) OVER () AS n");
    from_where(b, q, &d);
    if (at && !keys) {
        S(b, reverse ? " AND m.rid < ?" : " AND m.rid > ?");
        I(b, at->rid);
    }
    if (d.clause >= 0 && !d.unique)
        S(b, " GROUP BY m.rid");
    if (keys) {
        S(b, ") k");
        if (at) {
            S(b, " WHERE ");
            keyset(b, q, 0);
        }
        order_by(b, q, KEY_C, "k.rid", reverse);
    } else {
        S(b, reverse ? " ORDER BY m.rid DESC" : " ORDER BY m.rid");
    }
    S(b, " LIMIT ? OFFSET ?");
    I(b, q->limit);
    I(b, q->offset > 0 ? q->offset : 0);
    S(b, ") p JOIN resource r ON r.rid = p.rid"
         " JOIN resource_version v ON v.rid = r.rid AND v.version = r.version");
    order_by(b, q, KEY_P, "p.rid", reverse);
}

static sv_err prepare(sv_db *db, const qb *b, sv_stmt **ret, sv_buf *reterr)
{
    sv_stmt *st = NULL;
    /* The text repeats for every search of the same shape: prepared once per connection. */
    sv_err e = sv_db_prepare_reuse(db, b->sql.ptr, &st, reterr);
    if (e)
        return e;
    for (size_t i = 0; i < b->nbinds && !e; i++) {
        const bindv *v = &b->binds[i];
        int idx = (int)i + 1;
        switch (v->kind) {
        case B_TEXT:
            e = sv_stmt_bind_text(st, idx, v->s);
            break;
        case B_INT:
            e = sv_stmt_bind_int64(st, idx, v->i);
            break;
        case B_REAL:
            e = sv_stmt_bind_double(st, idx, v->d);
            break;
        case B_NULL:
            e = sv_stmt_bind_null(st, idx);
            break;
        }
    }
    if (e) {
        sv_stmt_release(st);
        return e;
    }
    *ret = st;
    return SV_OK;
}

void sv_search_position_clear(sv_search_position *p)
{
    if (!p)
        return;
    for (size_t j = 0; j < p->nkeys && j < SV_SORT_MAX_KEYS; j++)
        free(p->keys[j].text);
    memset(p, 0, sizeof(*p));
}

static sv_key_type key_type(const sv_sort_key *k)
{
    switch (k->by) {
    case SV_SORT_ID:
        return SV_KEY_TEXT;
    case SV_SORT_LAST_UPDATED:
        return SV_KEY_INT;
    case SV_SORT_PARAM:
        break;
    }
    switch (k->index_kind) {
    case SV_INDEX_DATE:
        return SV_KEY_INT;
    case SV_INDEX_NUMBER:
    case SV_INDEX_QUANTITY:
        return SV_KEY_REAL;
    default:
        return SV_KEY_TEXT;
    }
}

static void take_position(sv_stmt *st, const sv_store_query *q, sv_search_position *p)
{
    sv_search_position_clear(p);
    p->rid = sv_stmt_column_int64(st, 7);
    p->nkeys = q->nsort;
    for (size_t j = 0; j < q->nsort; j++) {
        sv_key_value *k = &p->keys[j];
        int col = 8 + (int)j;
        if (sv_stmt_column_is_null(st, col)) {
            k->type = SV_KEY_NULL;
            continue;
        }
        k->type = key_type(&q->sort[j]);
        if (k->type == SV_KEY_INT) {
            k->i = sv_stmt_column_int64(st, col);
        } else if (k->type == SV_KEY_REAL) {
            k->d = sv_stmt_column_double(st, col);
        } else {
            size_t n = 0;
            const char *t = sv_stmt_column_text(st, col, &n);
            k->text = malloc(n + 1);
            if (!k->text)
                abort();
            memcpy(k->text, t, n);
            k->text[n] = '\0';
        }
    }
}

static bool query_ok(const sv_store_query *q, sv_buf *reterr)
{
    const char *what = NULL;
    if (!q->type)
        what = "no resource type";
    else if (q->nsort > SV_SORT_MAX_KEYS)
        what = "too many sort keys";
    for (size_t i = 0; i < q->nclauses && !what; i++) {
        const sv_clause *c = &q->clauses[i];
        if (c->nlinks > SV_CLAUSE_MAX_LINKS)
            what = "chain too long";
        for (size_t k = 0; k < c->nvalues && !what; k++) {
            const sv_clause_value *v = &c->values[k];
            if (v->kind == SV_CLAUSE_COMPOSITE &&
                (v->nparts != 2 || !v->parts || v->parts[0].kind != SV_CLAUSE_TOKEN ||
                 v->parts[1].kind == SV_CLAUSE_COMPOSITE))
                what = "composite value is not a token and one other value";
        }
    }
    if (what && reterr)
        sv_buf_adds(reterr, what);
    return what == NULL;
}

/* Whether a sorted page brings the count along (it reads every match anyway).  Not from
 * a unique set: counting its index range (COUNT(*) over rows as they are) is cheaper
 * than the window, which keeps every match until the end (an insert and a delete in a
 * temporary b-tree each) - unless an access filter applies that a separate count would
 * evaluate for every match a second time at the cost of seeks, which is all but one's
 * own worklist. */
static bool count_in_page(const sv_store_query *q)
{
    drive d = pick_driver(q, DRIVE_ALL);
    if (!d.unique)
        return true;
    return q->access && !own_worklist(q, &d);
}

static sv_err count(sv_db *db, const sv_store_query *q, int64_t *ret_total, sv_buf *reterr)
{
    qb b;
    qb_init(&b, db);
    b.access = q->access;
    build_count(&b, q);
    sv_stmt *st = NULL;
    sv_err e = prepare(db, &b, &st, reterr);
    bool row = false;
    if (!e)
        e = sv_stmt_step(st, &row, reterr);
    if (!e)
        *ret_total = row ? sv_stmt_column_int64(st, 0) : 0;
    sv_stmt_release(st);
    qb_release(&b);
    return e;
}

sv_err sv_store_search_run(sv_db *db, const sv_store_query *q, sv_store_visit visit, void *ctx,
                           int64_t *ret_total, sv_search_position *ret_first,
                           sv_search_position *ret_last, sv_buf *reterr)
{
    if (!query_ok(q, reterr))
        return SV_ERR_INVALID;
    qb b;
    qb_init(&b, db);
    b.access = q->access;
    sv_stmt *st = NULL;
    sv_err e = SV_OK;
    /* The count and the page see one snapshot. */
    bool own_tx = !sv_db_in_tx(db);
    if (own_tx) {
        e = sv_db_begin(db, SV_TX_READ, reterr);
        if (e)
            goto out;
    }
    bool total_in_page = ret_total && q->nsort > 0 && q->limit > 0 && count_in_page(q);
    bool counted = false;
    if (ret_total && !total_in_page) {
        e = count(db, q, ret_total, reterr);
        if (e)
            goto out;
    }
    if (q->limit <= 0)
        goto out;
    build_page(&b, q, total_in_page);
    e = prepare(db, &b, &st, reterr);
    if (e)
        goto out;
    for (;;) {
        bool row = false;
        e = sv_stmt_step(st, &row, reterr);
        if (e || !row)
            break;
        if (total_in_page && !counted) {
            *ret_total = sv_stmt_column_int64(st, 8 + (int)q->nsort);
            counted = true;
        }
        sv_stored s;
        memset(&s, 0, sizeof(s));
        size_t n;
        const char *t = sv_stmt_column_text(st, 0, &n);
        if (n >= sizeof(s.type))
            n = sizeof(s.type) - 1;
        memcpy(s.type, t, n);
        t = sv_stmt_column_text(st, 1, &n);
        if (n >= sizeof(s.id))
            n = sizeof(s.id) - 1;
        memcpy(s.id, t, n);
        s.version = sv_stmt_column_int64(st, 2);
        s.last_updated = sv_stmt_column_int64(st, 3);
        s.json = (char *)sv_stmt_column_text(st, 4, &s.json_len);
        s.seq = sv_stmt_column_int64(st, 5);
        t = sv_stmt_column_text(st, 6, &n);
        if (n >= sizeof(s.method))
            n = sizeof(s.method) - 1;
        memcpy(s.method, t, n);
        if (!visit(ctx, &s))
            break;
        if (ret_first && !ret_first->rid)
            take_position(st, q, ret_first);
        if (ret_last)
            take_position(st, q, ret_last);
    }
    if (!e && total_in_page && !counted) /* no row on this page: count on their own */
        e = count(db, q, ret_total, reterr);
out:
    sv_stmt_release(st);
    if (own_tx && sv_db_in_tx(db)) {
        if (e)
            sv_db_rollback(db);
        else
            e = sv_db_commit(db, reterr);
    }
    qb_release(&b);
    return e;
}

sv_err sv_store_search_explain(sv_db *db, const sv_store_query *q, sv_buf *ret_plan, sv_buf *reterr)
{
    if (!query_ok(q, reterr))
        return SV_ERR_INVALID;
    sv_err e = SV_OK;
    /* SQLite's plan rows carry the step in column 3; PostgreSQL's EXPLAIN one line per row */
    bool postgres = sv_db_dialect_of(db) == SV_DIALECT_POSTGRES;
    for (int pass = 0; pass < 2 && !e; pass++) {
        qb b;
        qb_init(&b, db);
        b.access = q->access;
        S(&b, postgres ? "EXPLAIN " : "EXPLAIN QUERY PLAN ");
        if (pass == 0) /* with the count in the page where a run puts it there */
            build_page(&b, q, count_in_page(q));
        else
            build_count(&b, q);
        sv_stmt *st = NULL;
        e = prepare(db, &b, &st, reterr);
        while (!e) {
            bool row = false;
            e = sv_stmt_step(st, &row, reterr);
            if (e || !row)
                break;
            size_t n;
            const char *detail = sv_stmt_column_text(st, postgres ? 0 : 3, &n);
            sv_buf_adds(ret_plan, pass == 0 ? "page: " : "count: ");
            sv_buf_add(ret_plan, detail, n);
            sv_buf_addc(ret_plan, '\n');
        }
        sv_stmt_release(st);
        qb_release(&b);
    }
    return e;
}

sv_err sv_store_search(sv_db *db, const char *type, const sv_clause *clauses, size_t nclauses,
                       int64_t offset, int64_t limit, sv_store_visit visit, void *ctx,
                       int64_t *ret_total, sv_buf *reterr)
{
    sv_store_query q = {
        .type = type, .clauses = clauses, .nclauses = nclauses, .offset = offset, .limit = limit};
    return sv_store_search_run(db, &q, visit, ctx, ret_total, NULL, NULL, reterr);
}
