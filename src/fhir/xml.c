/* xml.c - see xml.h. */
#include "fhir/xml.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fhir/model.h"

#define FHIR_NS "http://hl7.org/fhir"
#define XHTML_NS "http://www.w3.org/1999/xhtml"

typedef struct xctx {
    sv_outcome *out;
    char path[512];
    size_t path_len;
    int errors;
} xctx;

static size_t push(xctx *c, const char *seg, long index)
{
    size_t mark = c->path_len;
    int n = snprintf(c->path + c->path_len, sizeof(c->path) - c->path_len, "%s%s", mark ? "." : "",
                     seg);
    if (n > 0 && (size_t)n < sizeof(c->path) - c->path_len)
        c->path_len += (size_t)n;
    if (index >= 0) {
        n = snprintf(c->path + c->path_len, sizeof(c->path) - c->path_len, "[%ld]", index);
        if (n > 0 && (size_t)n < sizeof(c->path) - c->path_len)
            c->path_len += (size_t)n;
    }
    return mark;
}

static void pop(xctx *c, size_t mark)
{
    c->path_len = mark;
    c->path[mark] = '\0';
}

static void err(xctx *c, const char *code, const char *fmt, const char *arg)
{
    c->errors++;
    if (c->errors > 50)
        return;
    sv_outcome_add(c->out, SV_SEV_ERROR, code, c->path_len ? c->path : NULL, fmt, arg ? arg : "");
}

static bool is_fhir(const xmlNode *n)
{
    return n->ns && n->ns->href && strcmp((const char *)n->ns->href, FHIR_NS) == 0;
}

static const char *xname(const xmlNode *n)
{
    return (const char *)n->name;
}

/* The element named name among kids, with the chosen type for a choice. */
static const sv_model_element *resolve(const sv_model_element *kids, size_t n, const char *name,
                                       const sv_model_type **ret_type)
{
    size_t len = strlen(name);
    const sv_model_element *e = sv_model_element_find(kids, n, name, len);
    if (e && !(e->flags & SV_MODEL_EL_CHOICE)) {
        *ret_type = e->ntypes ? sv_model_element_type(e, 0) : NULL;
        return e;
    }
    for (size_t p = 1; p < len; p++) {
        if (name[p] < 'A' || name[p] > 'Z')
            continue;
        e = sv_model_element_find(kids, n, name, p);
        if (!e || !(e->flags & SV_MODEL_EL_CHOICE))
            continue;
        for (unsigned i = 0; i < e->ntypes; i++) {
            const char *tn = sv_model_type_name(sv_model_element_type(e, i));
            char first = tn[0] >= 'a' && tn[0] <= 'z' ? (char)(tn[0] - 'a' + 'A') : tn[0];
            if (first == name[p] && strcmp(tn + 1, name + p + 1) == 0) {
                *ret_type = sv_model_element_type(e, i);
                return e;
            }
        }
    }
    return NULL;
}

static json_t *primitive(xctx *c, const sv_model_type *t, const char *v)
{
    switch (t->builtin) {
    case SV_MODEL_BUILTIN_BOOLEAN:
        if (strcmp(v, "true") == 0)
            return json_true();
        if (strcmp(v, "false") == 0)
            return json_false();
        err(c, "value", "'%s' is not a boolean", v);
        return NULL;
    case SV_MODEL_BUILTIN_INTEGER:
    case SV_MODEL_BUILTIN_POSITIVE_INT:
    case SV_MODEL_BUILTIN_UNSIGNED_INT: {
        char *end = NULL;
        long long x = strtoll(v, &end, 10);
        if (!*v || *end) {
            err(c, "value", "'%s' is not an integer", v);
            return NULL;
        }
        return json_integer((json_int_t)x);
    }
    case SV_MODEL_BUILTIN_DECIMAL: {
        char *end = NULL;
        if (!strpbrk(v, ".eE")) {
            long long x = strtoll(v, &end, 10);
            if (*v && !*end)
                return json_integer((json_int_t)x);
        }
        double d = strtod(v, &end);
        if (!*v || *end) {
            err(c, "value", "'%s' is not a decimal", v);
            return NULL;
        }
        return json_real(d);
    }
    default: {
        json_t *s = json_string(v);
        if (!s)
            err(c, "value", "%s", "the value is not valid UTF-8");
        return s;
    }
    }
}

static bool blank(const char *s)
{
    for (; s && *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
            return false;
    return true;
}

static json_t *resource(xctx *c, xmlNode *node);
static void complex(xctx *c, xmlNode *node, const sv_model_element *kids, size_t nkids, json_t *obj,
                    bool primitive_under);

/* Adds value under key: appended when the element repeats, else set once. */
static void put(xctx *c, json_t *obj, const char *key, json_t *value, bool array)
{
    if (!array) {
        if (json_object_get(obj, key)) {
            err(c, "structure", "element '%s' does not repeat", key);
            json_decref(value);
            return;
        }
        json_object_set_new(obj, key, value ? value : json_null());
        return;
    }
    json_t *arr = json_object_get(obj, key);
    if (!arr) {
        arr = json_array();
        json_object_set_new(obj, key, arr);
    }
    json_array_append_new(arr, value ? value : json_null());
}

static void xhtml(xctx *c, xmlNode *child, json_t *obj)
{
    if (!child->ns || strcmp((const char *)child->ns->href, XHTML_NS) != 0) {
        err(c, "structure", "%s", "the narrative div must be in the xhtml namespace");
        return;
    }
    if (!child->nsDef) /* declared higher up: the JSON form carries it on the div */
        xmlNewNs(child, (const xmlChar *)XHTML_NS, NULL);
    xmlBufferPtr b = xmlBufferCreate();
    xmlNodeDump(b, child->doc, child, 0, 0);
    json_t *s = json_string((const char *)xmlBufferContent(b));
    xmlBufferFree(b);
    if (s)
        json_object_set_new(obj, "div", s);
}

static void element(xctx *c, xmlNode *child, const sv_model_element *kids, size_t nkids,
                    json_t *obj)
{
    const char *name = xname(child);
    if (strcmp(name, "div") == 0 && sv_model_element_find(kids, nkids, "div", 3)) {
        size_t mark = push(c, "div", -1);
        xhtml(c, child, obj);
        pop(c, mark);
        return;
    }
    const sv_model_type *t = NULL;
    const sv_model_element *e = is_fhir(child) ? resolve(kids, nkids, name, &t) : NULL;
    bool array = e && (e->flags & SV_MODEL_EL_ARRAY);
    json_t *existing = json_object_get(obj, name);
    long index = array ? (long)json_array_size(existing) : -1;
    size_t mark = push(c, name, index);
    if (!e || !t) {
        err(c, "structure", "unknown element '%s'", name);
        pop(c, mark);
        return;
    }
    if (t->kind == SV_MODEL_KIND_PRIMITIVE) {
        xmlChar *v = xmlGetProp(child, (const xmlChar *)"value");
        json_t *value = v ? primitive(c, t, (const char *)v) : NULL;
        xmlFree(v);
        json_t *under = json_object();
        complex(c, child, NULL, 0, under, true);
        if (json_object_size(under) == 0) {
            json_decref(under);
            under = NULL;
        }
        if (!value && !under)
            err(c, "required", "%s", "a primitive element needs a value or an extension");
        char ukey[128];
        snprintf(ukey, sizeof(ukey), "_%s", name);
        if (array) {
            put(c, obj, name, value, true);
            put(c, obj, ukey, under, true);
        } else {
            if (value)
                put(c, obj, name, value, false);
            if (under)
                put(c, obj, ukey, under, false);
        }
    } else if (t->kind == SV_MODEL_KIND_RESOURCE ||
               strcmp(sv_model_type_name(t), "Resource") == 0) {
        xmlNode *inner = NULL;
        for (xmlNode *k = child->children; k; k = k->next)
            if (k->type == XML_ELEMENT_NODE) {
                if (inner)
                    err(c, "structure", "%s", "only one resource may be given here");
                inner = k;
            }
        json_t *r = inner ? resource(c, inner) : NULL;
        if (!inner)
            err(c, "required", "%s", "a resource is expected inside this element");
        if (r)
            put(c, obj, name, r, array);
    } else {
        const sv_model_element *first;
        size_t count;
        if (e->count) {
            sv_model_element_children(e, &first, &count);
        } else {
            first = &sv_model_elements[t->first];
            count = t->count;
        }
        json_t *o = json_object();
        complex(c, child, first, count, o, false);
        put(c, obj, name, o, array);
    }
    pop(c, mark);
}

/* Removes arrays that are all null: the "_name" of primitives without ids or
 * extensions, or the values of primitives that only have extensions. */
static void drop_null_arrays(json_t *obj)
{
    const char *key;
    json_t *value;
    void *tmp;
    json_object_foreach_safe(obj, tmp, key, value)
    {
        if (!json_is_array(value))
            continue;
        bool all_null = true;
        for (size_t i = 0; i < json_array_size(value) && all_null; i++)
            all_null = json_is_null(json_array_get(value, i));
        if (all_null)
            json_object_del(obj, key);
    }
}

/* Attributes and child elements of node into obj.  primitive_under: node is a
 * primitive, so only id, extension and the value attribute are allowed. */
static void complex(xctx *c, xmlNode *node, const sv_model_element *kids, size_t nkids, json_t *obj,
                    bool primitive_under)
{
    for (xmlAttr *a = node->properties; a; a = a->next) {
        const char *an = (const char *)a->name;
        if (a->ns) /* xsi:schemaLocation and the like say nothing about content */
            continue;
        xmlChar *v = xmlNodeGetContent((xmlNode *)a);
        if (strcmp(an, "id") == 0 || (!primitive_under && strcmp(an, "url") == 0)) {
            json_t *s = json_string((const char *)v);
            if (s)
                json_object_set_new(obj, an, s);
        } else if (!(primitive_under && strcmp(an, "value") == 0)) {
            err(c, "structure", "unknown attribute '%s'", an);
        }
        xmlFree(v);
    }
    const sv_model_element *ext_kids = NULL;
    size_t ext_n = 0;
    if (primitive_under) { /* a primitive's own children: those of Element */
        const sv_model_type *el = sv_model_type_find("Element");
        ext_kids = &sv_model_elements[el->first];
        ext_n = el->count;
    }
    for (xmlNode *k = node->children; k; k = k->next) {
        if (k->type == XML_TEXT_NODE || k->type == XML_CDATA_SECTION_NODE) {
            if (!blank((const char *)k->content))
                err(c, "structure", "%s", "text is not allowed here; FHIR uses value attributes");
            continue;
        }
        if (k->type != XML_ELEMENT_NODE)
            continue;
        if (primitive_under)
            element(c, k, ext_kids, ext_n, obj);
        else
            element(c, k, kids, nkids, obj);
    }
    drop_null_arrays(obj);
}

static json_t *resource(xctx *c, xmlNode *node)
{
    const char *name = xname(node);
    const sv_model_type *t = sv_model_type_find(name);
    size_t mark = push(c, name, -1);
    if (!is_fhir(node) || !t || t->kind != SV_MODEL_KIND_RESOURCE || t->abstract) {
        err(c, "structure", "'%s' is not a FHIR resource in the namespace " FHIR_NS, name);
        pop(c, mark);
        return NULL;
    }
    json_t *obj = json_pack("{s:s}", "resourceType", name);
    complex(c, node, &sv_model_elements[t->first], t->count, obj, false);
    pop(c, mark);
    /* the path restarts at each resource, as the validator's does */
    return obj;
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_parser(void)
{
    xmlInitParser();
}

bool sv_fhir_xml_media(const char *ct)
{
    static const char *const types[] = {"application/fhir+xml", "application/xml+fhir",
                                        "application/xml", "text/xml"};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        size_t n = strlen(types[i]);
        if (strncasecmp(ct, types[i], n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' '))
            return true;
    }
    return false;
}

sv_err sv_fhir_xml_to_json(const char *text, size_t len, json_t **ret_json, sv_outcome *out)
{
    pthread_once(&init_once, init_parser);
    if (len > INT_MAX) {
        sv_outcome_add(out, SV_SEV_ERROR, "too-long", NULL, "the xml document is too large");
        return SV_ERR_TOO_LARGE;
    }
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    if (!ctxt)
        return SV_ERR_NOMEM;
    /* No network, no entity substitution (XXE), no DTD loading, no messages on stderr. */
    xmlDocPtr doc = xmlCtxtReadMemory(ctxt, text, (int)len, NULL, "UTF-8",
                                      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    sv_err e = SV_OK;
    if (!doc) {
        const xmlError *x = xmlCtxtGetLastError(ctxt);
        char msg[256];
        snprintf(msg, sizeof(msg), "malformed xml at line %d: %s", x ? x->line : 0,
                 x && x->message ? x->message : "parse error");
        size_t n = strlen(msg);
        while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
            msg[--n] = '\0';
        sv_outcome_add(out, SV_SEV_ERROR, "structure", NULL, "%s", msg);
        e = SV_ERR_PARSE;
        goto done;
    }
    if (doc->intSubset || doc->extSubset) {
        sv_outcome_add(out, SV_SEV_ERROR, "structure", NULL,
                       "a document type declaration is not allowed in FHIR xml");
        e = SV_ERR_PARSE;
        goto done;
    }
    xctx c = {.out = out};
    json_t *j = resource(&c, xmlDocGetRootElement(doc));
    if (c.errors) {
        json_decref(j);
        e = SV_ERR_PARSE;
        goto done;
    }
    *ret_json = j;
done:
    xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctxt);
    return e;
}
