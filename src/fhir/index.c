/* index.c - see index.h. */
#include "fhir/index.h"

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

/* ---- token --------------------------------------------------------------------------- */

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
        if (value)
            add_row(ctx, SV_INDEX_TOKEN, get_string(v, "system"), value, NULL);
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
    const char *ref = get_string(v, "reference");
    if (!ref || !*ref)
        return; /* identifier-only (logical) references are not indexed yet */
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

static void rows_truncate(sv_index_rows *rows, size_t len)
{
    for (size_t i = len; i < rows->len; i++) {
        free(rows->rows[i].system);
        free(rows->rows[i].value);
        free(rows->rows[i].exact);
    }
    rows->len = len;
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
        void (*index_item)(extract_ctx *, const sv_fhirpath_item *);
        switch (p->type) {
        case SV_SEARCHPARAM_STRING:
            index_item = index_string;
            break;
        case SV_SEARCHPARAM_TOKEN:
            index_item = index_token;
            break;
        case SV_SEARCHPARAM_REFERENCE:
            index_item = index_reference;
            break;
        case SV_SEARCHPARAM_DATE:
            index_item = index_date;
            break;
        case SV_SEARCHPARAM_NUMBER:
            index_item = index_number;
            break;
        case SV_SEARCHPARAM_QUANTITY:
            index_item = index_quantity;
            break;
        case SV_SEARCHPARAM_URI:
            index_item = index_uri;
            break;
        default:
            continue; /* composite, special */
        }
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
        rows_truncate(rows, start);
    return err;
}
