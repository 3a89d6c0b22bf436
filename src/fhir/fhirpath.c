/* fhirpath.c - see fhirpath.h. */
#include "fhir/fhirpath.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "fhir/model.h"

/* ---- the model, as FHIRPath sees it ------------------------------------------------- */

/*
 * FHIRPath names types with strings, and so do the items and compiled nodes here: the
 * names of model.h's types and profiles, and for a backbone element the path that declares
 * it ("Patient.contact").  All are static (model strings, or literals in this file), so
 * items can carry them without owning anything.
 */
typedef struct fp_type {
    const char *name;             /* static */
    const sv_model_type *type;    /* the type itself; for a profile the type it constrains,
                                     for a backbone element BackboneElement or Element */
    bool named;                   /* name is type's own name (not a profile or backbone) */
    const sv_model_element *kids; /* children, sorted by name */
    size_t nkids;
} fp_type;

/* What the type name stands for; false if it names no type. */
static bool type_lookup(const char *name, fp_type *ret)
{
    if (!name)
        return false;
    size_t len = strlen(name);
    if (memchr(name, '.', len)) {
        const sv_model_element *e = sv_model_element_find_path(name, len);
        const sv_model_backbone *b = e ? sv_model_backbone_of(e) : NULL;
        if (!b)
            return false;
        *ret = (fp_type){sv_model_str(b->path), &sv_model_types[b->type], false,
                         &sv_model_elements[b->first], b->count};
        return true;
    }
    const sv_model_type *t = sv_model_type_findn(name, len);
    if (t) {
        *ret = (fp_type){sv_model_type_name(t), t, true, &sv_model_elements[t->first], t->count};
        return true;
    }
    const sv_model_profile *p = sv_model_profile_find(name);
    if (p) {
        t = &sv_model_types[p->type];
        *ret = (fp_type){sv_model_str(p->name), t, false, &sv_model_elements[t->first], t->count};
        return true;
    }
    return false;
}

/* Bounds the walk up the hierarchy; the generator checks the model is at most 8 deep. */
#define MAX_TYPE_DEPTH 16

bool sv_fhir_type_is(const char *type, const char *ancestor)
{
    if (!type)
        return false;
    if (type == ancestor || strcmp(type, ancestor) == 0)
        return true;
    fp_type t;
    /* Primitives match exactly: code is not a string, as ofType(string) should not pick codes. */
    if (!type_lookup(type, &t) || t.type->kind == SV_MODEL_KIND_PRIMITIVE)
        return false;
    const sv_model_type *m = t.named ? sv_model_type_base(t.type) : t.type;
    for (int depth = 0; m && depth < MAX_TYPE_DEPTH; depth++, m = sv_model_type_base(m)) {
        if (strcmp(sv_model_type_name(m), ancestor) == 0)
            return true;
    }
    return false;
}

static bool is_choice(const sv_model_element *e)
{
    return (e->flags & SV_MODEL_EL_CHOICE) != 0;
}

static const sv_model_element *child_find(const fp_type *owner, const char *name, size_t len)
{
    return sv_model_element_find(owner->kids, owner->nkids, name, len);
}

/* The type name of the values of e, a child of owner and not a choice. */
static const char *element_type_name(const fp_type *owner, const sv_model_element *e)
{
    const sv_model_backbone *b = sv_model_backbone_of(e);
    if (b)
        return sv_model_str(b->path);
    /*
     * R4 declares the id of a resource as System.String, that is FHIR string, and FHIRPath
     * keeps that; the model says id because the validator checks the id format
     * (tools/gen_validator.mjs).
     */
    if (owner->named && owner->type->kind == SV_MODEL_KIND_RESOURCE &&
        strcmp(sv_model_element_name(e), "id") == 0)
        return "string";
    return sv_model_type_name(sv_model_element_type(e, 0));
}

/* Whether the JSON name suffix ("Quantity", "DateTime") names choice type t. */
static bool choice_suffix_is(const char *suffix, const sv_model_type *t)
{
    const char *name = sv_model_type_name(t);
    char first = name[0];
    if (first >= 'a' && first <= 'z')
        first = (char)(first - 'a' + 'A');
    return suffix[0] == first && strcmp(suffix + 1, name + 1) == 0;
}

const char *sv_fhir_resource_type(const char *name, size_t len)
{
    const sv_model_type *t = sv_model_type_findn(name, len);
    if (!t || t->kind != SV_MODEL_KIND_RESOURCE || t->abstract)
        return NULL;
    return sv_model_type_name(t);
}

static bool is_id_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.';
}

void sv_fhir_reference_parse(const char *ref, sv_fhir_reference *ret_reference)
{
    size_t len = strlen(ref);
    memset(ret_reference, 0, sizeof(*ret_reference));
    ret_reference->target = (sv_str){ref, len};
    if (ref[0] == '#') {
        ret_reference->contained = true;
        ret_reference->id = (sv_str){ref + 1, len - 1};
        return;
    }
    /* A scheme ("http:", "urn:") before any '/' makes it absolute. */
    for (size_t i = 0; i < len; i++) {
        char c = ref[i];
        if (c == ':') {
            ret_reference->absolute = i > 0;
            break;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (i > 0 && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'))))
            break;
    }
    if (ret_reference->absolute && strncmp(ref, "urn:", 4) == 0)
        return; /* urn:uuid:, urn:oid: name no type */
    const char *history = NULL;
    for (const char *h = strstr(ref, "/_history/"); h; h = strstr(h + 1, "/_history/"))
        history = h;
    if (history)
        ret_reference->target.len = (size_t)(history - ref);
    /* Type/id are the last two segments of the target. */
    const char *end = ref + ret_reference->target.len;
    const char *id = end;
    while (id > ref && id[-1] != '/')
        id--;
    if (id == end || id == ref)
        return;
    for (const char *p = id; p < end; p++) {
        if (!is_id_char(*p))
            return;
    }
    const char *type = id - 1;
    while (type > ref && type[-1] != '/')
        type--;
    const char *name = sv_fhir_resource_type(type, (size_t)(id - 1 - type));
    if (!name)
        return;
    ret_reference->type = name;
    ret_reference->id = (sv_str){id, (size_t)(end - id)};
}

/* ---- syntax tree --------------------------------------------------------------------- */

typedef enum op {
    OP_FOCUS,         /* $this */
    OP_ROOT,          /* %resource, %rootResource: the resource evaluated */
    OP_LITERAL,       /* 'text', 12, 1.5, true, false */
    OP_EMPTY_LITERAL, /* {} */
    OP_TYPE_FILTER,   /* a leading type name: Patient.name */
    OP_CHILD,         /* .name */
    OP_INDEX,         /* [n] */
    OP_WHERE,
    OP_EXISTS,
    OP_EMPTY,
    OP_NOT,
    OP_HAS_VALUE,
    OP_FIRST,
    OP_LAST,
    OP_OF_TYPE, /* ofType(X), as(X), `as X` */
    OP_IS,      /* is(X), `is X` */
    OP_RESOLVE,
    OP_EXTENSION,
    OP_UNION,
    OP_AND,
    OP_OR,
    OP_XOR,
    OP_EQ,
    OP_NE,
} op;

/* Up to this many choice candidates are read by direct key; more are found by a scan. */
#define MAX_CHOICE_KEYS 4

typedef struct choice_key {
    char *key;        /* "valueQuantity" */
    const char *type; /* "Quantity" */
} choice_key;

typedef struct node {
    op op;
    struct node *input;              /* chain predecessor; NULL: the focus */
    struct node *left, *right;       /* operands; left is the argument of where()/exists() */
    char *name;                      /* OP_CHILD element name, OP_EXTENSION url */
    const sv_model_element *element; /* OP_CHILD: resolved at compile time, or NULL */
    choice_key keys[MAX_CHOICE_KEYS];
    size_t nkeys;      /* OP_CHILD on a choice: direct keys when nkeys > 0 */
    const char *type;  /* OP_TYPE_FILTER, OP_OF_TYPE, OP_IS: static type name */
    json_t *literal;   /* OP_LITERAL */
    const char *ltype; /* OP_LITERAL type */
    size_t index;      /* OP_INDEX */
    const char *out;   /* static type of the results; NULL when known only at run time */
} node;

struct sv_fhirpath {
    char *source;
    node *root;
};

static void node_free(node *n)
{
    if (!n)
        return;
    node_free(n->input);
    node_free(n->left);
    node_free(n->right);
    free(n->name);
    for (size_t i = 0; i < n->nkeys; i++)
        free(n->keys[i].key);
    if (n->literal)
        json_decref(n->literal);
    free(n);
}

static node *node_new(op o, node *input)
{
    node *n = calloc(1, sizeof(*n));
    if (!n)
        abort();
    n->op = o;
    n->input = input;
    return n;
}

/*
 * A choice member named by its JSON name ("valueQuantity", "eventCoding"): the
 * choice element and the member's type, or NULL.  FHIRPath proper navigates by
 * "value", but the JSON name is unambiguous and common in hand-written paths.
 */
static const sv_model_element *find_choice_member(const fp_type *owner, const char *name,
                                                  const char **ret_type)
{
    size_t len = strlen(name);
    for (size_t i = 1; i < len; i++) {
        if (name[i] < 'A' || name[i] > 'Z')
            continue;
        const sv_model_element *e = child_find(owner, name, i);
        if (!e || !is_choice(e))
            continue;
        for (unsigned k = 0; k < e->ntypes; k++) {
            const sv_model_type *t = sv_model_element_type(e, k);
            if (choice_suffix_is(name + i, t)) {
                *ret_type = sv_model_type_name(t);
                return e;
            }
        }
    }
    return NULL;
}

/* ---- lexer --------------------------------------------------------------------------- */

typedef enum tok_kind { TOK_END, TOK_IDENT, TOK_STRING, TOK_NUMBER, TOK_SYMBOL } tok_kind;

typedef struct token {
    tok_kind kind;
    const char *start; /* in the source; TOK_IDENT excludes backticks */
    size_t len;
} token;

#define MAX_DEPTH 64
/*
 * Evaluation and freeing recurse along the tree, whose size is bounded by the number
 * of tokens; this keeps the stack use of one evaluation to a few hundred kilobytes.
 * The longest R4 search expression (per base type) is far below it.
 */
#define MAX_TOKENS 512

typedef struct parser {
    const char *src;
    const char *pos; /* after tok */
    token tok;
    sv_buf *reterr;
    int err; /* first error, SV_OK while none */
    int depth;
    int tokens;
} parser;

static void fail(parser *ps, int err, const char *fmt, const char *a, size_t alen, const char *b)
{
    if (ps->err)
        return;
    ps->err = err;
    if (ps->reterr) {
        sv_buf_addf(ps->reterr, "fhirpath '%s': ", ps->src);
        sv_buf_addf(ps->reterr, fmt, (int)alen, a, b ? b : "");
    }
}

static bool is_ident_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static void next(parser *ps)
{
    const char *p = ps->pos;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    token *t = &ps->tok;
    t->start = p;
    if (++ps->tokens > MAX_TOKENS) {
        fail(ps, SV_ERR_TOO_LARGE, "longer than %.*s%s tokens", "512", 3, NULL);
        t->kind = TOK_END;
        t->len = 0;
        return;
    }
    if (*p == '\0') {
        t->kind = TOK_END;
        t->len = 0;
    } else if (is_ident_start(*p) || ((*p == '$' || *p == '%') && is_ident_start(p[1]))) {
        const char *s = p++;
        while (is_ident_start(*p) || is_digit(*p))
            p++;
        t->kind = TOK_IDENT;
        t->len = (size_t)(p - s);
    } else if (*p == '`') {
        const char *s = ++p;
        while (*p && *p != '`')
            p++;
        t->kind = TOK_IDENT;
        t->start = s;
        t->len = (size_t)(p - s);
        if (*p != '`') {
            fail(ps, SV_ERR_PARSE, "unterminated identifier%.*s%s", "", 0, NULL);
        } else {
            p++;
        }
    } else if (*p == '\'') {
        const char *s = p++;
        while (*p && *p != '\'') {
            if (*p == '\\' && p[1])
                p++;
            p++;
        }
        if (*p != '\'') {
            fail(ps, SV_ERR_PARSE, "unterminated string%.*s%s", "", 0, NULL);
        } else {
            p++;
        }
        t->kind = TOK_STRING;
        t->len = (size_t)(p - s);
    } else if (is_digit(*p)) {
        const char *s = p;
        while (is_digit(*p))
            p++;
        if (*p == '.' && is_digit(p[1])) {
            p++;
            while (is_digit(*p))
                p++;
        }
        t->kind = TOK_NUMBER;
        t->len = (size_t)(p - s);
    } else {
        t->kind = TOK_SYMBOL;
        t->len = (p[0] == '!' && p[1] == '=') || (p[0] == '!' && p[1] == '~') ||
                         (p[0] == '<' && p[1] == '=') || (p[0] == '>' && p[1] == '=')
                     ? 2
                     : 1;
        p += t->len;
    }
    ps->pos = p;
}

static bool tok_is(const parser *ps, tok_kind kind, const char *text)
{
    return ps->tok.kind == kind && ps->tok.len == strlen(text) &&
           memcmp(ps->tok.start, text, ps->tok.len) == 0;
}

static bool accept(parser *ps, const char *symbol)
{
    if (!tok_is(ps, TOK_SYMBOL, symbol))
        return false;
    next(ps);
    return true;
}

static bool expect_symbol(parser *ps, const char *symbol)
{
    if (accept(ps, symbol))
        return true;
    if (ps->tok.kind == TOK_END)
        fail(ps, SV_ERR_PARSE, "expected '%.*s%s' at end", symbol, strlen(symbol), NULL);
    else
        fail(ps, SV_ERR_PARSE, "unexpected '%.*s', expected '%s'", ps->tok.start, ps->tok.len,
             symbol);
    return false;
}

/* Decodes a FHIRPath string literal token (with its quotes) into a jansson string. */
static json_t *string_literal(const token *t)
{
    sv_buf b = SV_BUF_INIT;
    const char *p = t->start + 1, *end = t->start + t->len - 1;
    while (p < end) {
        if (*p != '\\') {
            sv_buf_addc(&b, *p++);
            continue;
        }
        p++;
        char c = *p++;
        switch (c) {
        case 'n':
            sv_buf_addc(&b, '\n');
            break;
        case 'r':
            sv_buf_addc(&b, '\r');
            break;
        case 't':
            sv_buf_addc(&b, '\t');
            break;
        case 'f':
            sv_buf_addc(&b, '\f');
            break;
        case 'u': {
            unsigned cp = 0;
            for (int i = 0; i < 4 && p < end; i++, p++) {
                char h = *p;
                cp = cp * 16 + (unsigned)(is_digit(h) ? h - '0' : (h | 0x20) - 'a' + 10);
            }
            if (cp < 0x80) {
                sv_buf_addc(&b, (char)cp);
            } else if (cp < 0x800) {
                sv_buf_addc(&b, (char)(0xC0 | (cp >> 6)));
                sv_buf_addc(&b, (char)(0x80 | (cp & 0x3F)));
            } else {
                sv_buf_addc(&b, (char)(0xE0 | (cp >> 12)));
                sv_buf_addc(&b, (char)(0x80 | ((cp >> 6) & 0x3F)));
                sv_buf_addc(&b, (char)(0x80 | (cp & 0x3F)));
            }
            break;
        }
        default: /* \' \" \` \\ \/ */
            sv_buf_addc(&b, c);
            break;
        }
    }
    json_t *s = json_stringn(b.ptr, b.len);
    sv_buf_release(&b);
    return s ? s : json_string("");
}

/* ---- parser -------------------------------------------------------------------------- */

static node *parse_expr(parser *ps, const char *focus);

/* A type specifier: Name or FHIR.Name or System.Name; returns the model's static name. */
static const char *parse_type_specifier(parser *ps)
{
    if (ps->tok.kind != TOK_IDENT) {
        fail(ps, SV_ERR_PARSE, "expected a type name at '%.*s'%s", ps->tok.start, ps->tok.len,
             NULL);
        return NULL;
    }
    token name = ps->tok;
    next(ps);
    bool system = false;
    if ((name.len == 4 && memcmp(name.start, "FHIR", 4) == 0) ||
        (name.len == 6 && memcmp(name.start, "System", 6) == 0)) {
        if (tok_is(ps, TOK_SYMBOL, ".")) {
            system = name.len == 6;
            next(ps);
            if (ps->tok.kind != TOK_IDENT) {
                fail(ps, SV_ERR_PARSE, "expected a type name at '%.*s'%s", ps->tok.start,
                     ps->tok.len, NULL);
                return NULL;
            }
            name = ps->tok;
            next(ps);
        }
    }
    char buf[128];
    if (name.len >= sizeof(buf)) {
        fail(ps, SV_ERR_INVALID, "unknown type '%.*s'%s", name.start, name.len, NULL);
        return NULL;
    }
    memcpy(buf, name.start, name.len);
    buf[name.len] = '\0';
    if (system && buf[0] >= 'A' && buf[0] <= 'Z')
        buf[0] = (char)(buf[0] - 'A' + 'a'); /* System.String -> string */
    fp_type t;
    bool found = type_lookup(buf, &t);
    if (!found && buf[0] >= 'A' && buf[0] <= 'Z') {
        /* An unqualified FHIRPath system type (DateTime, String) names the FHIR primitive;
         * R4's Observation-code-value-date writes ofType(DateTime). */
        buf[0] = (char)(buf[0] - 'A' + 'a');
        found = type_lookup(buf, &t) && t.type->kind == SV_MODEL_KIND_PRIMITIVE;
    }
    if (!found) {
        fail(ps, SV_ERR_INVALID, "unknown type '%.*s'%s", name.start, name.len, NULL);
        return NULL;
    }
    return t.name;
}

static bool is_abstract_resource(const char *type)
{
    return strcmp(type, "Resource") == 0 || strcmp(type, "DomainResource") == 0;
}

/* Capitalises the first letter of type after prefix: ("value", "dateTime") -> "valueDateTime". */
static char *choice_key_name(const char *prefix, const char *type)
{
    size_t pl = strlen(prefix), tl = strlen(type);
    char *k = malloc(pl + tl + 1);
    if (!k)
        abort();
    memcpy(k, prefix, pl);
    memcpy(k + pl, type, tl + 1);
    if (k[pl] >= 'a' && k[pl] <= 'z')
        k[pl] = (char)(k[pl] - 'a' + 'A');
    return k;
}

/* Sets up an OP_CHILD for element e of owner, keeping only the choice types that are a
 * `only`.  owner may be NULL for a choice (its members name their types). */
static void child_set_element(node *n, const fp_type *owner, const sv_model_element *e,
                              const char *only)
{
    for (size_t i = 0; i < n->nkeys; i++)
        free(n->keys[i].key);
    n->nkeys = 0;
    n->element = e;
    if (!is_choice(e)) {
        n->out = element_type_name(owner, e);
        return;
    }
    size_t count = 0;
    const char *last = NULL;
    for (unsigned k = 0; k < e->ntypes; k++) {
        const char *type = sv_model_type_name(sv_model_element_type(e, k));
        if (!only || sv_fhir_type_is(type, only)) {
            count++;
            last = type;
        }
    }
    n->out = count == 1 ? last : NULL;
    if (count == 0 || count > MAX_CHOICE_KEYS)
        return;
    for (unsigned k = 0; k < e->ntypes; k++) {
        const char *type = sv_model_type_name(sv_model_element_type(e, k));
        if (!only || sv_fhir_type_is(type, only)) {
            n->keys[n->nkeys].key = choice_key_name(sv_model_element_name(e), type);
            n->keys[n->nkeys].type = type;
            n->nkeys++;
        }
    }
}

static node *make_child(parser *ps, node *input, const char *in_type, const token *name)
{
    node *n = node_new(OP_CHILD, input);
    n->name = strndup(name->start, name->len);
    if (!n->name)
        abort();
    if (!in_type)
        return n; /* looked up per item at run time */
    fp_type owner;
    const sv_model_element *e = NULL;
    const char *member;
    bool known = type_lookup(in_type, &owner);
    if (known && (e = child_find(&owner, name->start, name->len))) {
        child_set_element(n, &owner, e, NULL);
    } else if (known && (e = find_choice_member(&owner, n->name, &member))) {
        n->element = e;
        n->keys[0].key = strdup(n->name);
        if (!n->keys[0].key)
            abort();
        n->keys[0].type = member;
        n->nkeys = 1;
        n->out = member;
    } else if (!is_abstract_resource(in_type)) {
        fail(ps, SV_ERR_INVALID, "unknown element '%.*s' on '%s'", name->start, name->len, in_type);
    }
    return n;
}

/* ofType(X) / as(X) / `as X`: filters by type, and narrows a choice to its X member. */
static node *make_of_type(node *input, const char *type)
{
    node *n = node_new(OP_OF_TYPE, input);
    n->type = type;
    n->out = type;
    if (input && input->op == OP_CHILD && input->element && is_choice(input->element))
        child_set_element(input, NULL, input->element, type);
    return n;
}

static node *parse_function(parser *ps, node *input, const char *in_type, const token *name)
{
    /* the current token is '(' */
    char fn[16];
    if (name->len >= sizeof(fn)) {
        fail(ps, SV_ERR_INVALID, "unsupported function '%.*s'%s", name->start, name->len, NULL);
        return input;
    }
    memcpy(fn, name->start, name->len);
    fn[name->len] = '\0';
    next(ps);
    node *n = NULL;
    if (strcmp(fn, "where") == 0 || strcmp(fn, "exists") == 0) {
        n = node_new(fn[0] == 'w' ? OP_WHERE : OP_EXISTS, input);
        n->out = fn[0] == 'w' ? in_type : "boolean";
        if (n->op == OP_WHERE || !tok_is(ps, TOK_SYMBOL, ")"))
            n->left = parse_expr(ps, in_type);
    } else if (strcmp(fn, "ofType") == 0 || strcmp(fn, "as") == 0 || strcmp(fn, "is") == 0) {
        const char *type = parse_type_specifier(ps);
        if (!type)
            return input;
        if (fn[0] == 'i') {
            n = node_new(OP_IS, input);
            n->type = type;
            n->out = "boolean";
        } else {
            n = make_of_type(input, type);
        }
    } else if (strcmp(fn, "extension") == 0) {
        if (ps->tok.kind != TOK_STRING) {
            fail(ps, SV_ERR_PARSE, "extension() needs a string url, not '%.*s'%s", ps->tok.start,
                 ps->tok.len, NULL);
            return input;
        }
        json_t *url = string_literal(&ps->tok);
        next(ps);
        n = node_new(OP_EXTENSION, input);
        n->name = strdup(json_string_value(url));
        json_decref(url);
        if (!n->name)
            abort();
        n->out = "Extension";
    } else {
        static const struct {
            const char *name;
            op op;
        } simple[] = {
            {"empty", OP_EMPTY}, {"not", OP_NOT},   {"hasValue", OP_HAS_VALUE},
            {"first", OP_FIRST}, {"last", OP_LAST}, {"resolve", OP_RESOLVE},
        };
        for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
            if (strcmp(fn, simple[i].name) == 0) {
                n = node_new(simple[i].op, input);
                break;
            }
        }
        if (!n) {
            fail(ps, SV_ERR_INVALID, "unsupported function '%.*s'%s", name->start, name->len, NULL);
            return input;
        }
        n->out = n->op == OP_FIRST || n->op == OP_LAST ? in_type
                 : n->op == OP_RESOLVE                 ? NULL
                                                       : "boolean";
    }
    expect_symbol(ps, ")");
    return n;
}

static node *parse_term(parser *ps, const char *focus)
{
    token t = ps->tok;
    if (accept(ps, "(")) {
        node *n = parse_expr(ps, focus);
        expect_symbol(ps, ")");
        return n;
    }
    if (accept(ps, "{")) {
        expect_symbol(ps, "}");
        return node_new(OP_EMPTY_LITERAL, NULL);
    }
    if (t.kind == TOK_STRING || t.kind == TOK_NUMBER) {
        node *n = node_new(OP_LITERAL, NULL);
        if (t.kind == TOK_STRING) {
            n->literal = string_literal(&t);
            n->ltype = "string";
        } else if (memchr(t.start, '.', t.len)) {
            n->literal = json_real(strtod(t.start, NULL));
            n->ltype = "decimal";
        } else {
            n->literal = json_integer(strtoll(t.start, NULL, 10));
            n->ltype = "integer";
        }
        n->out = n->ltype;
        next(ps);
        return n;
    }
    if (t.kind != TOK_IDENT) {
        if (t.kind == TOK_END)
            fail(ps, SV_ERR_PARSE, "unexpected end%.*s%s", "", 0, NULL);
        else
            fail(ps, SV_ERR_PARSE, "unexpected '%.*s'%s", t.start, t.len, NULL);
        return NULL;
    }
    next(ps);
    if ((t.len == 4 && memcmp(t.start, "true", 4) == 0) ||
        (t.len == 5 && memcmp(t.start, "false", 5) == 0)) {
        node *n = node_new(OP_LITERAL, NULL);
        n->literal = t.len == 4 ? json_true() : json_false();
        n->ltype = "boolean";
        n->out = "boolean";
        return n;
    }
    if (t.start[0] == '%') {
        if (!((t.len == 9 && memcmp(t.start, "%resource", 9) == 0) ||
              (t.len == 13 && memcmp(t.start, "%rootResource", 13) == 0))) {
            fail(ps, SV_ERR_INVALID, "unsupported variable '%.*s'%s", t.start, t.len, NULL);
            return NULL;
        }
        return node_new(OP_ROOT, NULL); /* its type is known only at run time */
    }
    if (t.start[0] == '$') {
        if (t.len != 5 || memcmp(t.start, "$this", 5) != 0) {
            fail(ps, SV_ERR_INVALID, "unsupported variable '%.*s'%s", t.start, t.len, NULL);
            return NULL;
        }
        node *n = node_new(OP_FOCUS, NULL);
        n->out = focus;
        return n;
    }
    if (tok_is(ps, TOK_SYMBOL, "("))
        return parse_function(ps, NULL, focus, &t);
    if (t.start[0] >= 'A' && t.start[0] <= 'Z') {
        const sv_model_type *type = sv_model_type_findn(t.start, t.len);
        if (type && type->kind == SV_MODEL_KIND_RESOURCE) {
            node *n = node_new(OP_TYPE_FILTER, NULL);
            n->type = sv_model_type_name(type);
            n->out = n->type;
            return n;
        }
    }
    return make_child(ps, NULL, focus, &t);
}

static node *parse_invocations(parser *ps, const char *focus)
{
    node *n = parse_term(ps, focus);
    while (!ps->err) {
        if (accept(ps, ".")) {
            if (ps->tok.kind != TOK_IDENT) {
                fail(ps, SV_ERR_PARSE, "expected a name after '.', not '%.*s'%s", ps->tok.start,
                     ps->tok.len, NULL);
                break;
            }
            token name = ps->tok;
            next(ps);
            const char *in_type = n ? n->out : NULL;
            if (tok_is(ps, TOK_SYMBOL, "("))
                n = parse_function(ps, n, in_type, &name);
            else
                n = make_child(ps, n, in_type, &name);
        } else if (accept(ps, "[")) {
            if (ps->tok.kind != TOK_NUMBER || memchr(ps->tok.start, '.', ps->tok.len)) {
                fail(ps, SV_ERR_INVALID, "only integer indexes are supported, not '%.*s'%s",
                     ps->tok.start, ps->tok.len, NULL);
                break;
            }
            node *idx = node_new(OP_INDEX, n);
            idx->index = (size_t)strtoull(ps->tok.start, NULL, 10);
            idx->out = n ? n->out : NULL;
            n = idx;
            next(ps);
            expect_symbol(ps, "]");
        } else {
            break;
        }
    }
    return n;
}

static node *parse_type_op(parser *ps, const char *focus)
{
    node *n = parse_invocations(ps, focus);
    while (!ps->err && (tok_is(ps, TOK_IDENT, "is") || tok_is(ps, TOK_IDENT, "as"))) {
        bool is = ps->tok.start[0] == 'i';
        next(ps);
        const char *type = parse_type_specifier(ps);
        if (!type)
            break;
        if (is) {
            node *t = node_new(OP_IS, n);
            t->type = type;
            t->out = "boolean";
            n = t;
        } else {
            n = make_of_type(n, type);
        }
    }
    return n;
}

static node *binary(op o, node *left, node *right, const char *out)
{
    node *n = node_new(o, NULL);
    n->left = left;
    n->right = right;
    n->out = out;
    return n;
}

static node *parse_union(parser *ps, const char *focus)
{
    node *n = parse_type_op(ps, focus);
    while (!ps->err && accept(ps, "|")) {
        node *r = parse_type_op(ps, focus);
        const char *out = n && r && n->out && r->out && strcmp(n->out, r->out) == 0 ? n->out : NULL;
        n = binary(OP_UNION, n, r, out);
    }
    return n;
}

static node *parse_equality(parser *ps, const char *focus)
{
    node *n = parse_union(ps, focus);
    while (!ps->err) {
        op o;
        if (accept(ps, "="))
            o = OP_EQ;
        else if (accept(ps, "!="))
            o = OP_NE;
        else
            break;
        n = binary(o, n, parse_union(ps, focus), "boolean");
    }
    return n;
}

static node *parse_and(parser *ps, const char *focus)
{
    node *n = parse_equality(ps, focus);
    while (!ps->err && tok_is(ps, TOK_IDENT, "and")) {
        next(ps);
        n = binary(OP_AND, n, parse_equality(ps, focus), "boolean");
    }
    return n;
}

static node *parse_expr(parser *ps, const char *focus)
{
    if (++ps->depth > MAX_DEPTH) {
        fail(ps, SV_ERR_TOO_DEEP, "nested deeper than %.*s%s", "64", 2, NULL);
        return NULL;
    }
    node *n = parse_and(ps, focus);
    while (!ps->err && (tok_is(ps, TOK_IDENT, "or") || tok_is(ps, TOK_IDENT, "xor"))) {
        op o = ps->tok.start[0] == 'o' ? OP_OR : OP_XOR;
        next(ps);
        n = binary(o, n, parse_and(ps, focus), "boolean");
    }
    ps->depth--;
    return n;
}

int sv_fhirpath_compile(const char *expression, const char *context_type, sv_fhirpath **ret_expr,
                        sv_buf *reterr)
{
    parser ps = {.src = expression, .pos = expression, .reterr = reterr};
    if (context_type) {
        fp_type t;
        if (!type_lookup(context_type, &t)) {
            fail(&ps, SV_ERR_INVALID, "unknown context type '%.*s'%s", context_type,
                 strlen(context_type), NULL);
            return ps.err;
        }
        context_type = t.name;
    }
    next(&ps);
    node *root = parse_expr(&ps, context_type);
    if (!ps.err && ps.tok.kind != TOK_END)
        fail(&ps, SV_ERR_PARSE, "unexpected '%.*s'%s", ps.tok.start, ps.tok.len, NULL);
    if (!ps.err && !root)
        fail(&ps, SV_ERR_PARSE, "empty expression%.*s%s", "", 0, NULL);
    if (ps.err) {
        node_free(root);
        return ps.err;
    }
    sv_fhirpath *e = malloc(sizeof(*e));
    if (!e)
        abort();
    e->source = strdup(expression);
    if (!e->source)
        abort();
    e->root = root;
    *ret_expr = e;
    return SV_OK;
}

void sv_fhirpath_free(sv_fhirpath *expr)
{
    if (!expr)
        return;
    node_free(expr->root);
    free(expr->source);
    free(expr);
}

const char *sv_fhirpath_source(const sv_fhirpath *expr)
{
    return expr->source;
}

/* ---- evaluation ---------------------------------------------------------------------- */

#define ITEM_UNRESOLVED 1u /* resolve() placeholder: carries a type, not a resource */

typedef struct item {
    const json_t *node;
    const char *type;
    unsigned flags;
} item;

/* A collection with room for a few items inline, so most steps never allocate. */
typedef struct coll {
    item *v;
    size_t len, cap;
    item small[6];
} coll;

typedef struct eval_ctx {
    const json_t *root;
    size_t pushed; /* items created so far, against runaway expressions */
    int err;
} eval_ctx;

/* Bounds the work of one evaluation (where() re-evaluates per item). */
#define MAX_PUSHED (SV_FHIRPATH_MAX_ITEMS * 10)

static void coll_init(coll *c)
{
    c->v = c->small;
    c->len = 0;
    c->cap = sizeof(c->small) / sizeof(c->small[0]);
}

static void coll_release(coll *c)
{
    if (c->v != c->small)
        free(c->v);
}

static void push(eval_ctx *ctx, coll *c, const json_t *node, const char *type, unsigned flags)
{
    if (++ctx->pushed > MAX_PUSHED) {
        ctx->err = SV_ERR_TOO_LARGE;
        return;
    }
    if (c->len == c->cap) {
        size_t cap = c->cap * 2;
        item *v;
        if (c->v == c->small) {
            v = malloc(cap * sizeof(*v));
            if (v)
                memcpy(v, c->small, c->len * sizeof(*v));
        } else {
            v = realloc(c->v, cap * sizeof(*v));
        }
        if (!v)
            abort();
        c->v = v;
        c->cap = cap;
    }
    c->v[c->len++] = (item){node, type, flags};
}

static void push_bool(eval_ctx *ctx, coll *c, bool b)
{
    push(ctx, c, b ? json_true() : json_false(), "boolean", 0);
}

/* The concrete type of a value typed "Resource" in the model: its resourceType. */
static bool is_resource_or_domain(const char *type)
{
    return (type[0] == 'R' && strcmp(type, "Resource") == 0) ||
           (type[0] == 'D' && strcmp(type, "DomainResource") == 0);
}

static const char *resource_type_of(const json_t *v, const char *declared)
{
    if (!declared || !is_resource_or_domain(declared) || !json_is_object(v))
        return declared;
    const json_t *rt = json_object_get(v, "resourceType");
    if (!json_is_string(rt))
        return declared;
    const char *name = sv_fhir_resource_type(json_string_value(rt), json_string_length(rt));
    return name ? name : declared;
}

/* Pushes v, or each element of v if it is an array; JSON nulls (primitive arrays) skipped. */
static void push_values(eval_ctx *ctx, coll *out, const json_t *v, const char *type)
{
    if (!v)
        return;
    if (json_is_array(v)) {
        size_t n = json_array_size(v);
        for (size_t i = 0; i < n; i++) {
            const json_t *e = json_array_get(v, i);
            if (!json_is_null(e))
                push(ctx, out, e, resource_type_of(e, type), 0);
        }
    } else if (!json_is_null(v)) {
        push(ctx, out, v, resource_type_of(v, type), 0);
    }
}

/* Every member of a choice element present on obj: valueQuantity, valueString, ... */
static void scan_choice(eval_ctx *ctx, coll *out, const json_t *obj, const sv_model_element *e)
{
    const char *prefix = sv_model_element_name(e);
    size_t plen = strlen(prefix);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        if (strncmp(key, prefix, plen) != 0 || key[plen] < 'A' || key[plen] > 'Z')
            continue;
        for (unsigned k = 0; k < e->ntypes; k++) {
            const sv_model_type *t = sv_model_element_type(e, k);
            if (choice_suffix_is(key + plen, t)) {
                push_values(ctx, out, v, sv_model_type_name(t));
                break;
            }
        }
    }
}

static void eval(eval_ctx *ctx, const node *n, const coll *focus, coll *out);

typedef enum truth { TRUTH_EMPTY, TRUTH_FALSE, TRUTH_TRUE } truth;

/* FHIRPath singleton evaluation: one boolean is itself, any other single item is true. */
static truth truth_of(const coll *c)
{
    if (c->len == 0)
        return TRUTH_EMPTY;
    if (c->len == 1 && json_is_boolean(c->v[0].node))
        return json_is_true(c->v[0].node) ? TRUTH_TRUE : TRUTH_FALSE;
    return TRUTH_TRUE;
}

static truth eval_truth(eval_ctx *ctx, const node *n, const coll *focus)
{
    coll r;
    coll_init(&r);
    eval(ctx, n, focus, &r);
    truth t = truth_of(&r);
    coll_release(&r);
    return t;
}

static bool items_equal(const item *a, const item *b)
{
    if (a->node == b->node)
        return true;
    if (json_is_string(a->node) && json_is_string(b->node))
        return json_string_length(a->node) == json_string_length(b->node) &&
               memcmp(json_string_value(a->node), json_string_value(b->node),
                      json_string_length(a->node)) == 0;
    if (json_is_number(a->node) && json_is_number(b->node))
        return json_number_value(a->node) == json_number_value(b->node);
    return json_equal((json_t *)a->node, (json_t *)b->node);
}

static void eval_resolve(eval_ctx *ctx, const coll *in, coll *out)
{
    for (size_t i = 0; i < in->len; i++) {
        const json_t *v = in->v[i].node;
        const json_t *ref = json_is_object(v) ? json_object_get(v, "reference") : v;
        if (!json_is_string(ref))
            continue;
        sv_fhir_reference r;
        sv_fhir_reference_parse(json_string_value(ref), &r);
        if (r.contained) {
            const json_t *contained = json_object_get(ctx->root, "contained");
            size_t n = json_array_size(contained);
            for (size_t k = 0; k < n; k++) {
                const json_t *c = json_array_get(contained, k);
                const json_t *id = json_object_get(c, "id");
                if (json_is_string(id) && json_string_length(id) == r.id.len &&
                    memcmp(json_string_value(id), r.id.ptr, r.id.len) == 0) {
                    push(ctx, out, c, resource_type_of(c, "Resource"), 0);
                    break;
                }
            }
        } else if (r.type) {
            push(ctx, out, v, r.type, ITEM_UNRESOLVED);
        }
    }
}

static void eval_child(eval_ctx *ctx, const node *n, const coll *in, coll *out)
{
    for (size_t i = 0; i < in->len && !ctx->err; i++) {
        const item *it = &in->v[i];
        if ((it->flags & ITEM_UNRESOLVED) || !json_is_object(it->node))
            continue;
        if (n->element) { /* resolved when compiling */
            if (n->nkeys) {
                for (size_t k = 0; k < n->nkeys; k++)
                    push_values(ctx, out, json_object_get(it->node, n->keys[k].key),
                                n->keys[k].type);
            } else if (is_choice(n->element)) {
                scan_choice(ctx, out, it->node, n->element);
            } else {
                push_values(ctx, out, json_object_get(it->node, n->name), n->out);
            }
            continue;
        }
        fp_type owner;
        const sv_model_element *e = NULL;
        const char *member = NULL;
        if (type_lookup(it->type, &owner)) {
            e = child_find(&owner, n->name, strlen(n->name));
            if (!e)
                e = find_choice_member(&owner, n->name, &member);
        }
        if (member) {
            push_values(ctx, out, json_object_get(it->node, n->name), member);
        } else if (!e) {
            /* Outside the model (unknown type): plain JSON navigation, untyped. */
            push_values(ctx, out, json_object_get(it->node, n->name), NULL);
        } else if (!is_choice(e)) {
            push_values(ctx, out, json_object_get(it->node, n->name), element_type_name(&owner, e));
        } else {
            scan_choice(ctx, out, it->node, e);
        }
    }
}

static void eval(eval_ctx *ctx, const node *n, const coll *focus, coll *out)
{
    if (ctx->err)
        return;
    /* Binary operators and literals do not take an input chain. */
    switch (n->op) {
    case OP_LITERAL:
        push(ctx, out, n->literal, n->ltype, 0);
        return;
    case OP_EMPTY_LITERAL:
        return;
    case OP_UNION: {
        size_t start = out->len;
        eval(ctx, n->left, focus, out);
        size_t mid = out->len;
        coll r;
        coll_init(&r);
        eval(ctx, n->right, focus, &r);
        for (size_t i = 0; i < r.len; i++) {
            bool dup = false;
            for (size_t k = start; k < mid && !dup; k++)
                dup = out->v[k].node == r.v[i].node && out->v[k].type == r.v[i].type;
            if (!dup)
                push(ctx, out, r.v[i].node, r.v[i].type, r.v[i].flags);
        }
        coll_release(&r);
        return;
    }
    case OP_AND:
    case OP_OR:
    case OP_XOR: {
        truth a = eval_truth(ctx, n->left, focus);
        truth b = eval_truth(ctx, n->right, focus);
        if (n->op == OP_AND) {
            if (a == TRUTH_FALSE || b == TRUTH_FALSE)
                push_bool(ctx, out, false);
            else if (a == TRUTH_TRUE && b == TRUTH_TRUE)
                push_bool(ctx, out, true);
        } else if (n->op == OP_OR) {
            if (a == TRUTH_TRUE || b == TRUTH_TRUE)
                push_bool(ctx, out, true);
            else if (a == TRUTH_FALSE && b == TRUTH_FALSE)
                push_bool(ctx, out, false);
        } else if (a != TRUTH_EMPTY && b != TRUTH_EMPTY) {
            push_bool(ctx, out, a != b);
        }
        return;
    }
    case OP_EQ:
    case OP_NE: {
        coll a, b;
        coll_init(&a);
        coll_init(&b);
        eval(ctx, n->left, focus, &a);
        eval(ctx, n->right, focus, &b);
        if (a.len && b.len) {
            bool eq = a.len == b.len;
            for (size_t i = 0; i < a.len && eq; i++)
                eq = items_equal(&a.v[i], &b.v[i]);
            push_bool(ctx, out, n->op == OP_EQ ? eq : !eq);
        }
        coll_release(&a);
        coll_release(&b);
        return;
    }
    default:
        break;
    }

    coll tmp;
    const coll *in = focus;
    if (n->input) {
        coll_init(&tmp);
        eval(ctx, n->input, focus, &tmp);
        in = &tmp;
    }
    switch (n->op) {
    case OP_ROOT:
        push(ctx, out, ctx->root, resource_type_of(ctx->root, "Resource"), 0);
        break;
    case OP_FOCUS:
        for (size_t i = 0; i < in->len; i++)
            push(ctx, out, in->v[i].node, in->v[i].type, in->v[i].flags);
        break;
    case OP_TYPE_FILTER:
    case OP_OF_TYPE:
        for (size_t i = 0; i < in->len; i++) {
            const item *it = &in->v[i];
            /* "Resource" at the root of the common parameters: the root is one by definition */
            bool keep =
                it->node == ctx->root && n->type[0] == 'R' && strcmp(n->type, "Resource") == 0;
            if (keep || (it->type && sv_fhir_type_is(it->type, n->type)))
                push(ctx, out, it->node, it->type, it->flags);
        }
        break;
    case OP_CHILD:
        eval_child(ctx, n, in, out);
        break;
    case OP_INDEX:
        if (n->index < in->len)
            push(ctx, out, in->v[n->index].node, in->v[n->index].type, in->v[n->index].flags);
        break;
    case OP_FIRST:
    case OP_LAST:
        if (in->len) {
            const item *it = &in->v[n->op == OP_FIRST ? 0 : in->len - 1];
            push(ctx, out, it->node, it->type, it->flags);
        }
        break;
    case OP_WHERE:
    case OP_EXISTS: {
        size_t found = 0;
        for (size_t i = 0; i < in->len && !ctx->err; i++) {
            bool keep = true;
            if (n->left) {
                coll one;
                coll_init(&one);
                push(ctx, &one, in->v[i].node, in->v[i].type, in->v[i].flags);
                keep = eval_truth(ctx, n->left, &one) == TRUTH_TRUE;
                coll_release(&one);
            }
            if (!keep)
                continue;
            found++;
            if (n->op == OP_WHERE)
                push(ctx, out, in->v[i].node, in->v[i].type, in->v[i].flags);
            else
                break;
        }
        if (n->op == OP_EXISTS)
            push_bool(ctx, out, found > 0);
        break;
    }
    case OP_EMPTY:
        push_bool(ctx, out, in->len == 0);
        break;
    case OP_NOT: {
        truth t = truth_of(in);
        if (t != TRUTH_EMPTY)
            push_bool(ctx, out, t == TRUTH_FALSE);
        break;
    }
    case OP_HAS_VALUE:
        push_bool(ctx, out,
                  in->len == 1 && !json_is_object(in->v[0].node) && !json_is_array(in->v[0].node));
        break;
    case OP_IS:
        if (in->len == 1)
            push_bool(ctx, out, in->v[0].type && sv_fhir_type_is(in->v[0].type, n->type));
        break;
    case OP_RESOLVE:
        eval_resolve(ctx, in, out);
        break;
    case OP_EXTENSION:
        for (size_t i = 0; i < in->len; i++) {
            if (in->v[i].flags & ITEM_UNRESOLVED)
                continue;
            const json_t *exts = json_object_get(in->v[i].node, "extension");
            size_t count = json_array_size(exts);
            for (size_t k = 0; k < count; k++) {
                const json_t *ext = json_array_get(exts, k);
                const json_t *url = json_object_get(ext, "url");
                if (json_is_string(url) && strcmp(json_string_value(url), n->name) == 0)
                    push(ctx, out, ext, "Extension", 0);
            }
        }
        break;
    default:
        ctx->err = SV_ERR_INTERNAL;
        break;
    }
    if (in == &tmp)
        coll_release(&tmp);
}

void sv_fhirpath_items_release(sv_fhirpath_items *items)
{
    if (!items)
        return;
    free(items->items);
    items->items = NULL;
    items->len = items->cap = 0;
}

int sv_fhirpath_eval(const sv_fhirpath *expr, const json_t *resource, sv_fhirpath_items *ret_items)
{
    return sv_fhirpath_eval_as(expr, resource, resource_type_of(resource, "Resource"), ret_items);
}

int sv_fhirpath_eval_as(const sv_fhirpath *expr, const json_t *resource, const char *type,
                        sv_fhirpath_items *ret_items)
{
    eval_ctx ctx = {.root = resource};
    coll focus, result;
    coll_init(&focus);
    coll_init(&result);
    push(&ctx, &focus, resource, type, 0);
    eval(&ctx, expr->root, &focus, &result);
    size_t start = ret_items->len;
    for (size_t i = 0; i < result.len && !ctx.err; i++) {
        if (result.v[i].flags & ITEM_UNRESOLVED)
            continue;
        if (ret_items->len - start >= SV_FHIRPATH_MAX_ITEMS) {
            ctx.err = SV_ERR_TOO_LARGE;
            break;
        }
        if (ret_items->len == ret_items->cap) {
            size_t cap = ret_items->cap ? ret_items->cap * 2 : 16;
            sv_fhirpath_item *p = realloc(ret_items->items, cap * sizeof(*p));
            if (!p)
                abort();
            ret_items->items = p;
            ret_items->cap = cap;
        }
        ret_items->items[ret_items->len++] = (sv_fhirpath_item){result.v[i].node, result.v[i].type};
    }
    coll_release(&focus);
    coll_release(&result);
    if (ctx.err)
        ret_items->len = start;
    return ctx.err ? ctx.err : SV_OK;
}
