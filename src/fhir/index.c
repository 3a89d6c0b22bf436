/* index.c - see index.h. */
#include "fhir/index.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/datetime.h"
#include "base/error.h"
#include "base/text.h"
#include "fhir/fhirpath.h"
#include "fhir/searchparam.h"

typedef struct extract_ctx {
    sv_index_rows *rows;
    const char *param;  /* code of the parameter being indexed */
    size_t param_start; /* its first row, for de-duplication */
    sv_buf scratch;     /* folded text, NUL-terminated copies of views */
} extract_ctx;

static bool str_eq_null(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Appends a row unless the same parameter already has an identical one. */
static void add_row(extract_ctx *ctx, sv_index_kind kind, const char *system, const char *value,
                    const char *exact)
{
    sv_index_rows *r = ctx->rows;
    for (size_t i = ctx->param_start; i < r->len; i++) {
        const sv_index_row *o = &r->rows[i];
        if (o->kind == kind && str_eq_null(o->system, system) && str_eq_null(o->value, value) &&
            str_eq_null(o->exact, exact))
            return;
    }
    sv_index_rows_add(r, kind, ctx->param, system, value, exact);
}

/* Rows whose identity includes numbers (date, number, quantity) compare those too. */
static void add_numeric(extract_ctx *ctx, sv_index_kind kind, const char *system, const char *value,
                        const char *exact, double number, int64_t low, int64_t high)
{
    sv_index_rows *r = ctx->rows;
    for (size_t i = ctx->param_start; i < r->len; i++) {
        const sv_index_row *o = &r->rows[i];
        if (o->kind == kind && o->number == number && o->low == low && o->high == high &&
            str_eq_null(o->system, system) && str_eq_null(o->value, value) &&
            str_eq_null(o->exact, exact))
            return;
    }
    sv_index_row *row = sv_index_rows_add(r, kind, ctx->param, system, value, exact);
    row->number = number;
    row->low = low;
    row->high = high;
}

static const char *get_string(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool type_eq(const char *type, const char *name)
{
    return type && strcmp(type, name) == 0;
}

/*
 * Whether a JSON scalar may be read as a value of type: FHIR primitive type names
 * start in lower case, complex and resource types in upper case.  A string where
 * the model says HumanName is malformed data, not a name.  NULL (untyped) passes.
 */
static bool scalar_ok(const char *type)
{
    return !type || (type[0] >= 'a' && type[0] <= 'z');
}

/* ---- string -------------------------------------------------------------------------- */

static void string_row(extract_ctx *ctx, const json_t *v)
{
    if (!json_is_string(v) || json_string_length(v) == 0)
        return;
    sv_buf_reset(&ctx->scratch);
    sv_text_fold(json_string_value(v), json_string_length(v), &ctx->scratch);
    add_row(ctx, SV_INDEX_STRING, NULL, ctx->scratch.ptr, json_string_value(v));
}

/* A string member, or each string of an array member. */
static void string_member(extract_ctx *ctx, const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            string_row(ctx, json_array_get(v, i));
    } else {
        string_row(ctx, v);
    }
}

static void index_string(extract_ctx *ctx, const sv_fhirpath_item *it)
{
    static const char *const name_parts[] = {"family", "given", "prefix", "suffix", "text", NULL};
    static const char *const address_parts[] = {"line",       "city",    "district", "state",
                                                "postalCode", "country", "text",     NULL};
    if (json_is_string(it->node)) {
        if (scalar_ok(it->type))
            string_row(ctx, it->node);
    } else if (json_is_object(it->node)) {
        const char *const *parts = type_eq(it->type, "HumanName") ? name_parts
                                   : type_eq(it->type, "Address") ? address_parts
                                                                  : NULL;
        for (; parts && *parts; parts++)
            string_member(ctx, it->node, *parts);
    }
}

/* A pair row (SV_INDEX_COMPOSITE) unless the parameter already has an identical one. */
static void add_pair(extract_ctx *ctx, const char *system, const char *value, const char *system2,
                     const char *value2, double number, int64_t low, int64_t high)
{
    sv_index_rows *r = ctx->rows;
    for (size_t i = ctx->param_start; i < r->len; i++) {
        const sv_index_row *o = &r->rows[i];
        if (o->kind == SV_INDEX_COMPOSITE && o->number == number && o->low == low &&
            o->high == high && str_eq_null(o->system, system) && str_eq_null(o->value, value) &&
            str_eq_null(o->system2, system2) && str_eq_null(o->value2, value2))
            return;
    }
    sv_index_row *row = sv_index_rows_add_pair(r, ctx->param, system, value, system2, value2);
    row->number = number;
    row->low = low;
    row->high = high;
}

/* ---- token --------------------------------------------------------------------------- */

/* For :of-type: each coding of an Identifier's type, paired with its value. */
static void identifier_type_rows(extract_ctx *ctx, const json_t *identifier, const char *value)
{
    const json_t *codings = json_object_get(json_object_get(identifier, "type"), "coding");
    for (size_t i = 0; i < json_array_size(codings); i++) {
        const json_t *coding = json_array_get(codings, i);
        const char *code = get_string(coding, "code");
        if (code)
            add_pair(ctx, get_string(coding, "system"), code, NULL, value, 0, 0, 0);
    }
}

static void coding_row(extract_ctx *ctx, const json_t *coding)
{
    const char *system = get_string(coding, "system");
    const char *code = get_string(coding, "code");
    const char *display = get_string(coding, "display");
    if (code || display)
        add_row(ctx, SV_INDEX_TOKEN, system, code, display);
}

static void index_token(extract_ctx *ctx, const sv_fhirpath_item *it)
{
    const json_t *v = it->node;
    if ((json_is_string(v) || json_is_boolean(v)) && !scalar_ok(it->type)) {
        return;
    } else if (json_is_string(v)) {
        /* code, id, string, uri used as a token: no system */
        if (json_string_length(v))
            add_row(ctx, SV_INDEX_TOKEN, NULL, json_string_value(v), NULL);
    } else if (json_is_boolean(v)) {
        add_row(ctx, SV_INDEX_TOKEN, NULL, json_is_true(v) ? "true" : "false", NULL);
    } else if (!json_is_object(v)) {
        return;
    } else if (type_eq(it->type, "Coding")) {
        coding_row(ctx, v);
    } else if (type_eq(it->type, "CodeableConcept")) {
        const json_t *codings = json_object_get(v, "coding");
        for (size_t i = 0; i < json_array_size(codings); i++)
            coding_row(ctx, json_array_get(codings, i));
        const char *text = get_string(v, "text");
        if (text)
            add_row(ctx, SV_INDEX_TOKEN, NULL, NULL, text); /* for :text */
    } else if (type_eq(it->type, "Identifier")) {
        const char *value = get_string(v, "value");
        if (value) {
            add_row(ctx, SV_INDEX_TOKEN, get_string(v, "system"), value, NULL);
            identifier_type_rows(ctx, v, value);
        }
    } else if (type_eq(it->type, "ContactPoint")) {
        /* ContactPoint.system is phone/email/..., not a code system */
        const char *value = get_string(v, "value");
        if (value)
            add_row(ctx, SV_INDEX_TOKEN, NULL, value, NULL);
    }
}

/* ---- reference ----------------------------------------------------------------------- */

static const char *copy_view(sv_buf *b, sv_str s)
{
    sv_buf_reset(b);
    sv_buf_add(b, s.ptr, s.len);
    return b->ptr;
}

static void index_reference(extract_ctx *ctx, const sv_fhirpath_item *it)
{
    const json_t *v = it->node;
    if (json_is_string(v)) {
        if (!scalar_ok(it->type))
            return;
        /* canonical or uri: the url without a |version */
        const char *s = json_string_value(v);
        const char *bar = strchr(s, '|');
        const char *value = bar ? copy_view(&ctx->scratch, (sv_str){s, (size_t)(bar - s)}) : s;
        if (*value)
            add_row(ctx, SV_INDEX_REFERENCE, NULL, value, s);
        return;
    }
    if (!json_is_object(v) || !type_eq(it->type, "Reference"))
        return; /* a whole resource (Bundle.entry[0].resource), an Attachment: not indexed */
    /* Reference.identifier (a logical reference) for :identifier, as a token row of the
     * reference parameter. */
    const json_t *identifier = json_object_get(v, "identifier");
    const char *ident_value = get_string(identifier, "value");
    if (ident_value)
        add_row(ctx, SV_INDEX_TOKEN, get_string(identifier, "system"), ident_value, NULL);
    const char *ref = get_string(v, "reference");
    if (!ref || !*ref)
        return;
    sv_fhir_reference r;
    sv_fhir_reference_parse(ref, &r);
    if (r.contained)
        return;
    const char *value;
    if (r.absolute || !r.type)
        value = copy_view(&ctx->scratch, r.target); /* full URL: another server's id differs */
    else
        value = copy_view(&ctx->scratch, r.id);
    add_row(ctx, SV_INDEX_REFERENCE, r.type, value, ref);
}

/* ---- date ---------------------------------------------------------------------------- */

static bool parse_date(const json_t *v, sv_datetime_range *ret)
{
    return json_is_string(v) && sv_datetime_parse(json_string_value(v), json_string_length(v), ret);
}

static void index_date(extract_ctx *ctx, const sv_fhirpath_item *it)
{
    const json_t *v = it->node;
    sv_datetime_range range;
    if (json_is_string(v)) {
        if (it->type && !type_eq(it->type, "date") && !type_eq(it->type, "dateTime") &&
            !type_eq(it->type, "instant"))
            return; /* Procedure.performedString and the like */
        if (parse_date(v, &range))
            add_numeric(ctx, SV_INDEX_DATE, NULL, NULL, NULL, 0, range.low, range.high);
    } else if (type_eq(it->type, "Period")) {
        const json_t *start = json_object_get(v, "start"), *end = json_object_get(v, "end");
        if (!start && !end)
            return;
        int64_t low = INT64_MIN, high = INT64_MAX;
        if (start) {
            if (!parse_date(start, &range))
                return;
            low = range.low;
        }
        if (end) {
            if (!parse_date(end, &range))
                return;
            high = range.high;
        }
        add_numeric(ctx, SV_INDEX_DATE, NULL, NULL, NULL, 0, low, high);
    } else if (type_eq(it->type, "Timing")) {
        const json_t *events = json_object_get(v, "event");
        for (size_t i = 0; i < json_array_size(events); i++) {
            if (parse_date(json_array_get(events, i), &range))
                add_numeric(ctx, SV_INDEX_DATE, NULL, NULL, NULL, 0, range.low, range.high);
        }
    }
}

/* ---- number, quantity, uri ----------------------------------------------------------- */

static void index_number(extract_ctx *ctx, const sv_fhirpath_item *it)
{
    if (json_is_number(it->node) && scalar_ok(it->type))
        add_numeric(ctx, SV_INDEX_NUMBER, NULL, NULL, NULL, json_number_value(it->node), 0, 0);
}

static void index_quantity(extract_ctx *ctx, const sv_fhirpath_item *it)
{
    const json_t *v = it->node;
    if (!json_is_object(v) || !it->type)
        return;
    const json_t *value = json_object_get(v, "value");
    if (!json_is_number(value))
        return;
    if (strcmp(it->type, "Money") == 0) {
        const char *currency = get_string(v, "currency");
        add_numeric(ctx, SV_INDEX_QUANTITY, currency ? "urn:iso:std:iso:4217" : NULL, currency,
                    NULL, json_number_value(value), 0, 0);
    } else if (sv_fhir_type_is(it->type, "Quantity")) {
        /* Quantity, Age, Duration, Distance, Count, SimpleQuantity, MoneyQuantity */
        add_numeric(ctx, SV_INDEX_QUANTITY, get_string(v, "system"), get_string(v, "code"),
                    get_string(v, "unit"), json_number_value(value), 0, 0);
    }
    /* Range and SampledData are not indexed. */
}

static void index_uri(extract_ctx *ctx, const sv_fhirpath_item *it)
{
    if (json_is_string(it->node) && json_string_length(it->node) && scalar_ok(it->type))
        add_row(ctx, SV_INDEX_URI, NULL, json_string_value(it->node), NULL);
}

/* ---- driver -------------------------------------------------------------------------- */

/* ---- composite ------------------------------------------------------------------------ */

/*
 * Composite parameters with two components are indexed as pairs: the expression
 * gives the items (Observation, Observation.component, UsageContext), each
 * component's expression is evaluated on each item, and every token of the first
 * component is paired with every value of the second.  The component expressions
 * and types (found through their definitions' URLs) are compiled once.  Three-part
 * composites (MolecularSequence coordinates) are not indexed.
 */
typedef struct composite_info {
    const sv_searchparam *param;
    sv_fhirpath *expr;
    sv_fhirpath *part[2];
    sv_searchparam_type part_type[2];
} composite_info;

static struct {
    composite_info *items;
    size_t len;
} composites;
static pthread_once_t composites_once = PTHREAD_ONCE_INIT;

static bool type_of_url(const char *url, sv_searchparam_type *ret)
{
    size_t ntables;
    const sv_searchparam_table *tables = sv_searchparam_tables(&ntables);
    for (size_t t = 0; t < ntables; t++) {
        for (size_t i = 0; i < tables[t].len; i++) {
            const sv_searchparam *p = &tables[t].params[i];
            if (p->url && strcmp(p->url, url) == 0 && p->type != SV_SEARCHPARAM_COMPOSITE) {
                *ret = p->type;
                return true;
            }
        }
    }
    return false;
}

static void composites_init(void)
{
    size_t ntables, n = 0;
    const sv_searchparam_table *tables = sv_searchparam_tables(&ntables);
    for (size_t t = 0; t < ntables; t++)
        for (size_t i = 0; i < tables[t].len; i++)
            n += tables[t].params[i].type == SV_SEARCHPARAM_COMPOSITE;
    composites.items = calloc(n ? n : 1, sizeof(composite_info));
    if (!composites.items)
        abort();
    for (size_t t = 0; t < ntables; t++) {
        for (size_t i = 0; i < tables[t].len; i++) {
            const sv_searchparam *p = &tables[t].params[i];
            if (p->type != SV_SEARCHPARAM_COMPOSITE || p->components_len != 2 || !p->expression)
                continue;
            composite_info ci = {.param = p};
            bool ok = sv_fhirpath_compile(p->expression, p->base, &ci.expr, NULL) == SV_OK;
            for (int c = 0; c < 2 && ok; c++) {
                ok = sv_fhirpath_compile(p->components[c].expression, NULL, &ci.part[c], NULL) ==
                         SV_OK &&
                     type_of_url(p->components[c].definition, &ci.part_type[c]);
            }
            if (ok && ci.part_type[0] == SV_SEARCHPARAM_TOKEN) {
                composites.items[composites.len++] = ci;
            } else {
                sv_fhirpath_free(ci.expr);
                sv_fhirpath_free(ci.part[0]);
                sv_fhirpath_free(ci.part[1]);
            }
        }
    }
}

/* The compiled composite p (two parts, the first a token), or NULL. */
static const composite_info *composite_find(const sv_searchparam *p)
{
    pthread_once(&composites_once, composites_init);
    for (size_t i = 0; i < composites.len; i++)
        if (composites.items[i].param == p)
            return &composites.items[i];
    return NULL;
}

bool sv_fhir_index_composite(const sv_searchparam *p, sv_searchparam_type ret_types[2])
{
    const composite_info *ci = composite_find(p);
    if (!ci)
        return false;
    ret_types[0] = ci->part_type[0];
    ret_types[1] = ci->part_type[1];
    return true;
}

static void (*item_indexer(sv_searchparam_type type))(extract_ctx *, const sv_fhirpath_item *);

/* Rows of one component of one item, into ctx->rows after its current end. */
static int component_rows(extract_ctx *ctx, const composite_info *ci, int c,
                          const sv_fhirpath_item *item, sv_fhirpath_items *scratch)
{
    void (*index_item)(extract_ctx *, const sv_fhirpath_item *) = item_indexer(ci->part_type[c]);
    if (!index_item)
        return SV_OK;
    scratch->len = 0;
    int err = sv_fhirpath_eval_as(ci->part[c], item->node, item->type, scratch);
    for (size_t k = 0; k < scratch->len && !err; k++)
        index_item(ctx, &scratch->items[k]);
    return err;
}

static int index_composite(extract_ctx *ctx, const composite_info *ci, const json_t *resource,
                           const char *type)
{
    sv_fhirpath_items items = SV_FHIRPATH_ITEMS_INIT, scratch = SV_FHIRPATH_ITEMS_INIT;
    sv_index_rows parts = SV_INDEX_ROWS_INIT;
    int err = sv_fhirpath_eval_as(ci->expr, resource, type, &items);
    for (size_t i = 0; i < items.len && !err; i++) {
        /* each component's rows go to a scratch list (their own de-duplication) */
        extract_ctx part_ctx = {.rows = &parts, .param = ctx->param, .scratch = SV_BUF_INIT};
        sv_index_rows_truncate(&parts, 0);
        err = component_rows(&part_ctx, ci, 0, &items.items[i], &scratch);
        size_t nfirst = parts.len;
        part_ctx.param_start = nfirst;
        if (!err)
            err = component_rows(&part_ctx, ci, 1, &items.items[i], &scratch);
        sv_buf_release(&part_ctx.scratch);
        for (size_t a = 0; a < nfirst && !err; a++) {
            const sv_index_row *first = &parts.rows[a];
            if (!first->value)
                continue; /* a CodeableConcept's text */
            for (size_t b = nfirst; b < parts.len; b++) {
                const sv_index_row *second = &parts.rows[b];
                if (second->kind == SV_INDEX_TOKEN && !second->value)
                    continue;
                const char *system2 = second->kind == SV_INDEX_STRING ? NULL : second->system;
                add_pair(ctx, first->system, first->value, system2, second->value, second->number,
                         second->low, second->high);
            }
        }
    }
    sv_index_rows_clear(&parts);
    sv_fhirpath_items_release(&items);
    sv_fhirpath_items_release(&scratch);
    return err;
}

int sv_fhir_index_extract(const json_t *resource, sv_index_rows *rows)
{
    const json_t *rt = json_object_get(resource, "resourceType");
    if (!json_is_string(rt))
        return SV_ERR_INVALID;
    size_t nparams;
    const sv_searchparam *const *params = sv_searchparam_list(json_string_value(rt), &nparams);
    if (!params)
        return SV_ERR_INVALID;
    const char *type = sv_fhir_resource_type(json_string_value(rt), json_string_length(rt));

    extract_ctx ctx = {.rows = rows, .scratch = SV_BUF_INIT};
    sv_fhirpath_items items = SV_FHIRPATH_ITEMS_INIT;
    size_t start = rows->len;
    int err = SV_OK;
    for (size_t i = 0; i < nparams && !err; i++) {
        const sv_searchparam *p = params[i];
        if (p->type == SV_SEARCHPARAM_COMPOSITE) {
            const composite_info *ci = composite_find(p);
            if (ci) {
                ctx.param = p->code;
                ctx.param_start = rows->len;
                err = index_composite(&ctx, ci, resource, type);
            }
            continue;
        }
        /* _id and _lastUpdated are searched and sorted on the resource table's own
         * columns (store/search.c RESOURCE_TABLE): rows of theirs would only cost two
         * B-tree inserts per write, one of them at a random key. */
        if (strcmp(p->code, "_id") == 0 || strcmp(p->code, "_lastUpdated") == 0)
            continue;
        void (*index_item)(extract_ctx *, const sv_fhirpath_item *) = item_indexer(p->type);
        if (!index_item)
            continue; /* special */
        const sv_fhirpath *expr = sv_searchparam_fhirpath(p);
        if (!expr)
            continue;
        items.len = 0;
        err = sv_fhirpath_eval_as(expr, resource, type, &items);
        ctx.param = p->code;
        ctx.param_start = rows->len;
        for (size_t k = 0; k < items.len && !err; k++)
            index_item(&ctx, &items.items[k]);
    }
    sv_fhirpath_items_release(&items);
    sv_buf_release(&ctx.scratch);
    if (err)
        sv_index_rows_truncate(rows, start);
    return err;
}

static void (*item_indexer(sv_searchparam_type type))(extract_ctx *, const sv_fhirpath_item *)
{
    switch (type) {
    case SV_SEARCHPARAM_STRING:
        return index_string;
    case SV_SEARCHPARAM_TOKEN:
        return index_token;
    case SV_SEARCHPARAM_REFERENCE:
        return index_reference;
    case SV_SEARCHPARAM_DATE:
        return index_date;
    case SV_SEARCHPARAM_NUMBER:
        return index_number;
    case SV_SEARCHPARAM_QUANTITY:
        return index_quantity;
    case SV_SEARCHPARAM_URI:
        return index_uri;
    default:
        return NULL; /* composite, special */
    }
}
