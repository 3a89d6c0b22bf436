/* search.c - see search.h.  Every piece of SQL below is a constant. */
#include "store/search.h"

#include <string.h>

#include "store/index.h"

static const char SQL_SELECT[] =
    "SELECT r.type, r.id, r.version, r.last_updated, v.json, v.seq, v.method"
    " FROM resource r JOIN resource_version v ON v.rid = r.rid AND v.version = r.version"
    " WHERE r.type = ? AND r.deleted = 0";
static const char SQL_COUNT[] =
    "SELECT COUNT(*) FROM resource r WHERE r.type = ? AND r.deleted = 0";
static const char SQL_ORDER[] = " ORDER BY r.rid LIMIT ? OFFSET ?";

static const char F_ID[] = "r.id = ?";
static const char F_LU_EQ[] = "(r.last_updated >= ? AND r.last_updated <= ?)";
static const char F_LU_NE[] = "NOT (r.last_updated >= ? AND r.last_updated <= ?)";
static const char F_LU_LT[] = "r.last_updated < ?";
static const char F_LU_GT[] = "r.last_updated > ?";
static const char F_STRING[] = "EXISTS (SELECT 1 FROM idx_string s WHERE s.rid = r.rid AND"
                               " s.param = ? AND s.value >= ? AND s.value < ?)";
static const char F_STRING_EXACT[] =
    "EXISTS (SELECT 1 FROM idx_string s WHERE s.rid = r.rid AND s.param = ? AND s.exact = ?)";
static const char F_STRING_CONTAINS[] = "EXISTS (SELECT 1 FROM idx_string s WHERE s.rid = r.rid"
                                        " AND s.param = ? AND instr(s.value, ?) > 0)";
static const char F_TOKEN_SC[] = "EXISTS (SELECT 1 FROM idx_token t WHERE t.rid = r.rid AND"
                                 " t.param = ? AND t.value = ? AND t.system = ?)";
static const char F_TOKEN_C[] = "EXISTS (SELECT 1 FROM idx_token t WHERE t.rid = r.rid AND"
                                " t.param = ? AND t.value = ?)";
static const char F_TOKEN_NC[] = "EXISTS (SELECT 1 FROM idx_token t WHERE t.rid = r.rid AND"
                                 " t.param = ? AND t.value = ? AND t.system IS NULL)";
static const char F_TOKEN_S[] = "EXISTS (SELECT 1 FROM idx_token t WHERE t.rid = r.rid AND"
                                " t.param = ? AND t.system = ?)";
static const char F_TOKEN_TEXT[] = "EXISTS (SELECT 1 FROM idx_token t WHERE t.rid = r.rid AND"
                                   " t.param = ? AND t.exact IS NOT NULL AND"
                                   " lower(t.exact) >= ? AND lower(t.exact) < ?)";
static const char F_REF_TYPED[] = "EXISTS (SELECT 1 FROM idx_reference x WHERE x.rid = r.rid AND"
                                  " x.param = ? AND x.target_id = ? AND x.target_type = ?)";
static const char F_REF_ID[] = "EXISTS (SELECT 1 FROM idx_reference x WHERE x.rid = r.rid AND"
                               " x.param = ? AND x.target_id = ?)";
static const char F_REF_URL[] = "EXISTS (SELECT 1 FROM idx_reference x WHERE x.rid = r.rid AND"
                                " x.param = ? AND x.url = ?)";
static const char F_URI[] =
    "EXISTS (SELECT 1 FROM idx_uri u WHERE u.rid = r.rid AND u.param = ? AND u.uri = ?)";
/* Dates: the resource's range [low, high] against the parameter's [?, ?]. */
static const char F_DATE_EQ[] = "EXISTS (SELECT 1 FROM idx_date d WHERE d.rid = r.rid AND"
                                " d.param = ? AND d.low >= ? AND d.high <= ?)";
static const char F_DATE_NE[] = "EXISTS (SELECT 1 FROM idx_date d WHERE d.rid = r.rid AND"
                                " d.param = ? AND NOT (d.low >= ? AND d.high <= ?))";
static const char F_DATE_LT[] = "EXISTS (SELECT 1 FROM idx_date d WHERE d.rid = r.rid AND"
                                " d.param = ? AND d.low < ?)";
static const char F_DATE_GT[] = "EXISTS (SELECT 1 FROM idx_date d WHERE d.rid = r.rid AND"
                                " d.param = ? AND d.high > ?)";
static const char F_DATE_SA[] = "EXISTS (SELECT 1 FROM idx_date d WHERE d.rid = r.rid AND"
                                " d.param = ? AND d.low > ?)";
static const char F_DATE_EB[] = "EXISTS (SELECT 1 FROM idx_date d WHERE d.rid = r.rid AND"
                                " d.param = ? AND d.high < ?)";
static const char F_DATE_AP[] = "EXISTS (SELECT 1 FROM idx_date d WHERE d.rid = r.rid AND"
                                " d.param = ? AND d.low <= ? AND d.high >= ?)";
static const char F_NUM_EQ[] = "EXISTS (SELECT 1 FROM idx_number n WHERE n.rid = r.rid AND"
                               " n.param = ? AND n.value >= ? AND n.value < ?)";
static const char F_NUM_NE[] = "NOT EXISTS (SELECT 1 FROM idx_number n WHERE n.rid = r.rid AND"
                               " n.param = ? AND n.value >= ? AND n.value < ?)";
static const char F_NUM_LT[] = "EXISTS (SELECT 1 FROM idx_number n WHERE n.rid = r.rid AND"
                               " n.param = ? AND n.value < ?)";
static const char F_NUM_GT[] = "EXISTS (SELECT 1 FROM idx_number n WHERE n.rid = r.rid AND"
                               " n.param = ? AND n.value > ?)";
static const char F_NUM_LE[] = "EXISTS (SELECT 1 FROM idx_number n WHERE n.rid = r.rid AND"
                               " n.param = ? AND n.value <= ?)";
static const char F_NUM_GE[] = "EXISTS (SELECT 1 FROM idx_number n WHERE n.rid = r.rid AND"
                               " n.param = ? AND n.value >= ?)";
static const char F_QTY_EQ[] = "EXISTS (SELECT 1 FROM idx_quantity q WHERE q.rid = r.rid AND"
                               " q.param = ? AND q.value >= ? AND q.value < ?)";
static const char F_QTY_NE[] = "NOT EXISTS (SELECT 1 FROM idx_quantity q WHERE q.rid = r.rid AND"
                               " q.param = ? AND q.value >= ? AND q.value < ?)";
static const char F_QTY_LT[] = "EXISTS (SELECT 1 FROM idx_quantity q WHERE q.rid = r.rid AND"
                               " q.param = ? AND q.value < ?)";
static const char F_QTY_GT[] = "EXISTS (SELECT 1 FROM idx_quantity q WHERE q.rid = r.rid AND"
                               " q.param = ? AND q.value > ?)";
static const char F_QTY_LE[] = "EXISTS (SELECT 1 FROM idx_quantity q WHERE q.rid = r.rid AND"
                               " q.param = ? AND q.value <= ?)";
static const char F_QTY_GE[] = "EXISTS (SELECT 1 FROM idx_quantity q WHERE q.rid = r.rid AND"
                               " q.param = ? AND q.value >= ?)";
static const char *const F_MISSING[] = {
    [SV_INDEX_STRING] =
        "NOT EXISTS (SELECT 1 FROM idx_string z WHERE z.rid = r.rid AND z.param = ?)",
    [SV_INDEX_TOKEN] = "NOT EXISTS (SELECT 1 FROM idx_token z WHERE z.rid = r.rid AND z.param = ?)",
    [SV_INDEX_REFERENCE] =
        "NOT EXISTS (SELECT 1 FROM idx_reference z WHERE z.rid = r.rid AND z.param = ?)",
    [SV_INDEX_DATE] = "NOT EXISTS (SELECT 1 FROM idx_date z WHERE z.rid = r.rid AND z.param = ?)",
    [SV_INDEX_NUMBER] =
        "NOT EXISTS (SELECT 1 FROM idx_number z WHERE z.rid = r.rid AND z.param = ?)",
    [SV_INDEX_QUANTITY] =
        "NOT EXISTS (SELECT 1 FROM idx_quantity z WHERE z.rid = r.rid AND z.param = ?)",
    [SV_INDEX_URI] = "NOT EXISTS (SELECT 1 FROM idx_uri z WHERE z.rid = r.rid AND z.param = ?)",
};
static const char *const F_PRESENT[] = {
    [SV_INDEX_STRING] = "EXISTS (SELECT 1 FROM idx_string z WHERE z.rid = r.rid AND z.param = ?)",
    [SV_INDEX_TOKEN] = "EXISTS (SELECT 1 FROM idx_token z WHERE z.rid = r.rid AND z.param = ?)",
    [SV_INDEX_REFERENCE] =
        "EXISTS (SELECT 1 FROM idx_reference z WHERE z.rid = r.rid AND z.param = ?)",
    [SV_INDEX_DATE] = "EXISTS (SELECT 1 FROM idx_date z WHERE z.rid = r.rid AND z.param = ?)",
    [SV_INDEX_NUMBER] = "EXISTS (SELECT 1 FROM idx_number z WHERE z.rid = r.rid AND z.param = ?)",
    [SV_INDEX_QUANTITY] =
        "EXISTS (SELECT 1 FROM idx_quantity z WHERE z.rid = r.rid AND z.param = ?)",
    [SV_INDEX_URI] = "EXISTS (SELECT 1 FROM idx_uri z WHERE z.rid = r.rid AND z.param = ?)",
};

/* The upper bound of a prefix range: prefix followed by U+10FFFF. */
static const char MAX_CHAR[] = "\xf4\x8f\xbf\xbf";

typedef struct binder {
    sv_stmt *st;
    int i;
} binder;

/* Picks the fragment of one value and binds its parameters (or only counts). */
static const char *fragment(const char *param, const sv_clause_value *v, binder *b, sv_buf *tmp)
{
    sv_stmt *st = b ? b->st : NULL;
#define BT(s) (st ? (void)sv_stmt_bind_text(st, b->i++, (s)) : (void)0)
#define BI(x) (st ? (void)sv_stmt_bind_int64(st, b->i++, (x)) : (void)0)
#define BD(x) (st ? (void)sv_stmt_bind_double(st, b->i++, (x)) : (void)0)
    switch (v->kind) {
    case SV_CLAUSE_ID:
        BT(v->value);
        return F_ID;
    case SV_CLAUSE_LAST_UPDATED:
        switch (v->cmp) {
        case SV_CMP_NE:
            BI(v->low), BI(v->high);
            return F_LU_NE;
        case SV_CMP_LT:
        case SV_CMP_EB:
            BI(v->low);
            return F_LU_LT;
        case SV_CMP_LE:
            BI(v->high + 1);
            return F_LU_LT;
        case SV_CMP_GT:
        case SV_CMP_SA:
            BI(v->high);
            return F_LU_GT;
        case SV_CMP_GE:
            BI(v->low - 1);
            return F_LU_GT;
        default:
            BI(v->low), BI(v->high);
            return F_LU_EQ;
        }
    case SV_CLAUSE_STRING:
    case SV_CLAUSE_TOKEN_TEXT:
        BT(param);
        BT(v->value);
        if (st) {
            sv_buf_reset(tmp);
            sv_buf_adds(tmp, v->value);
            sv_buf_adds(tmp, MAX_CHAR);
            BT(tmp->ptr);
        }
        return v->kind == SV_CLAUSE_STRING ? F_STRING : F_TOKEN_TEXT;
    case SV_CLAUSE_STRING_EXACT:
        BT(param), BT(v->value);
        return F_STRING_EXACT;
    case SV_CLAUSE_STRING_CONTAINS:
        BT(param), BT(v->value);
        return F_STRING_CONTAINS;
    case SV_CLAUSE_TOKEN:
        BT(param);
        if (!v->value) {
            BT(v->system);
            return F_TOKEN_S;
        }
        BT(v->value);
        if (!v->system_set)
            return F_TOKEN_C;
        if (!v->system)
            return F_TOKEN_NC;
        BT(v->system);
        return F_TOKEN_SC;
    case SV_CLAUSE_REFERENCE:
        BT(param), BT(v->value);
        if (v->system) {
            BT(v->system);
            return F_REF_TYPED;
        }
        return F_REF_ID;
    case SV_CLAUSE_REFERENCE_URL:
        BT(param), BT(v->value);
        return F_REF_URL;
    case SV_CLAUSE_URI:
        BT(param), BT(v->value);
        return F_URI;
    case SV_CLAUSE_DATE:
        BT(param);
        switch (v->cmp) {
        case SV_CMP_NE:
            BI(v->low), BI(v->high);
            return F_DATE_NE;
        case SV_CMP_LT:
            BI(v->low);
            return F_DATE_LT;
        case SV_CMP_LE:
            BI(v->high + 1);
            return F_DATE_LT;
        case SV_CMP_GT:
            BI(v->high);
            return F_DATE_GT;
        case SV_CMP_GE:
            BI(v->low - 1);
            return F_DATE_GT;
        case SV_CMP_SA:
            BI(v->high);
            return F_DATE_SA;
        case SV_CMP_EB:
            BI(v->low);
            return F_DATE_EB;
        case SV_CMP_AP:
            BI(v->high), BI(v->low);
            return F_DATE_AP;
        default:
            BI(v->low), BI(v->high);
            return F_DATE_EQ;
        }
    case SV_CLAUSE_NUMBER:
    case SV_CLAUSE_QUANTITY: {
        bool q = v->kind == SV_CLAUSE_QUANTITY;
        BT(param);
        switch (v->cmp) {
        case SV_CMP_NE:
            BD(v->dlow), BD(v->dhigh);
            return q ? F_QTY_NE : F_NUM_NE;
        case SV_CMP_LT:
        case SV_CMP_EB:
            BD(v->number);
            return q ? F_QTY_LT : F_NUM_LT;
        case SV_CMP_GT:
        case SV_CMP_SA:
            BD(v->number);
            return q ? F_QTY_GT : F_NUM_GT;
        case SV_CMP_LE:
            BD(v->number);
            return q ? F_QTY_LE : F_NUM_LE;
        case SV_CMP_GE:
            BD(v->number);
            return q ? F_QTY_GE : F_NUM_GE;
        default:
            BD(v->dlow), BD(v->dhigh);
            return q ? F_QTY_EQ : F_NUM_EQ;
        }
    }
    case SV_CLAUSE_MISSING:
        BT(param);
        return v->number != 0 ? F_MISSING[v->index_kind] : F_PRESENT[v->index_kind];
    }
    return F_ID;
#undef BT
#undef BI
#undef BD
}

/* Appends " AND (f1 OR f2 ...)" for each clause. */
static void build_where(sv_buf *sql, const sv_clause *clauses, size_t n, sv_buf *tmp)
{
    for (size_t c = 0; c < n; c++) {
        sv_buf_adds(sql, clauses[c].negate ? " AND NOT (" : " AND (");
        for (size_t k = 0; k < clauses[c].nvalues; k++) {
            if (k)
                sv_buf_adds(sql, " OR ");
            sv_buf_adds(sql, fragment(clauses[c].param, &clauses[c].values[k], NULL, tmp));
        }
        sv_buf_addc(sql, ')');
    }
}

static void bind_where(binder *b, const sv_clause *clauses, size_t n, sv_buf *tmp)
{
    for (size_t c = 0; c < n; c++)
        for (size_t k = 0; k < clauses[c].nvalues; k++)
            fragment(clauses[c].param, &clauses[c].values[k], b, tmp);
}

sv_err sv_store_search(sv_db *db, const char *type, const sv_clause *clauses, size_t nclauses,
                       int64_t offset, int64_t limit, sv_store_visit visit, void *ctx,
                       int64_t *ret_total, sv_buf *reterr)
{
    sv_buf sql = SV_BUF_INIT, tmp = SV_BUF_INIT;
    sv_stmt *st = NULL;
    sv_err e = SV_OK;
    if (ret_total) {
        sv_buf_adds(&sql, SQL_COUNT);
        build_where(&sql, clauses, nclauses, &tmp);
        e = sv_db_prepare(db, sql.ptr, &st, reterr);
        if (e)
            goto out;
        binder b = {st, 1};
        sv_stmt_bind_text(st, b.i++, type);
        bind_where(&b, clauses, nclauses, &tmp);
        bool row = false;
        e = sv_stmt_step(st, &row, reterr);
        if (e)
            goto out;
        *ret_total = row ? sv_stmt_column_int64(st, 0) : 0;
        sv_stmt_finalize(st);
        st = NULL;
    }
    if (limit <= 0)
        goto out;
    sv_buf_reset(&sql);
    sv_buf_adds(&sql, SQL_SELECT);
    build_where(&sql, clauses, nclauses, &tmp);
    sv_buf_adds(&sql, SQL_ORDER);
    e = sv_db_prepare(db, sql.ptr, &st, reterr);
    if (e)
        goto out;
    binder b = {st, 1};
    sv_stmt_bind_text(st, b.i++, type);
    bind_where(&b, clauses, nclauses, &tmp);
    sv_stmt_bind_int64(st, b.i++, limit);
    sv_stmt_bind_int64(st, b.i++, offset);
    for (;;) {
        bool row = false;
        e = sv_stmt_step(st, &row, reterr);
        if (e || !row)
            break;
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
        if (!visit(ctx, &s))
            break;
    }
out:
    sv_stmt_finalize(st);
    sv_buf_release(&sql);
    sv_buf_release(&tmp);
    return e;
}
