/*
 * fhirpath.h - a compiled subset of FHIRPath over jansson values.
 *
 * Enough for the expressions of the R4 search parameters: paths, `|` unions,
 * `[n]`, parentheses, `$this`, `%resource`, string/number/boolean literals, `=` `!=` `and`
 * `or` `xor`, `is X` / `as X`, and the functions where(), exists(), empty(),
 * not(), first(), last(), hasValue(), ofType(X), as(X), is(X), resolve() and
 * extension('url').  Type names may be qualified (FHIR.Quantity).
 *
 * Every path step is looked up in the R4 model (fhir/model.h, the one the validator
 * uses) when compiling, so an unknown element is a compile error and evaluation is a chain of
 * json_object_get calls.  Choice elements are handled both ways round:
 * `Observation.value.ofType(Quantity)` and `(Observation.value as Quantity)`
 * read valueQuantity directly.  resolve() does not fetch anything: it yields
 * contained resources ("#id") and, for other references, a placeholder carrying
 * only the target type, so that `where(resolve() is Patient)` works; such
 * placeholders are dropped from results and cannot be navigated.
 *
 * Not supported: arithmetic, string functions, comparisons other than = and !=,
 * extensions on primitives (`_given`), variables other than $this, %resource and
 * %rootResource (both the resource evaluated; contained resources are not separate).
 *
 * Threads: a compiled sv_fhirpath is immutable; any number of threads may
 * evaluate it at once (jansson values are only read).
 * Depends on base/, jansson and the generated model (fhir/model.h).
 */
#ifndef SV_FHIR_FHIRPATH_H
#define SV_FHIR_FHIRPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "base/buf.h"

/* ---- type names --------------------------------------------------------------------- */

/*
 * FHIRPath types are named by strings: the R4 types and profiles of fhir/model.h
 * ("HumanName", "code", "SimpleQuantity"), and for a backbone element the path that
 * declares it ("Patient.contact", "Questionnaire.item" also for Questionnaire.item.item).
 * A value has the type of its element, except a resource's id: "string", as R4 declares it
 * (the model says id, for the validator's format check).
 */

/* True if type is ancestor or derives from it (Age -> Quantity, Patient -> Resource,
 * Patient.contact -> BackboneElement).  Primitives match only themselves. */
bool sv_fhir_type_is(const char *type, const char *ancestor);
/* The static name of the concrete resource type name[0..len), or NULL if there is none. */
const char *sv_fhir_resource_type(const char *name, size_t len);

/* A Reference.reference (or canonical) taken apart; the views point into the input. */
typedef struct sv_fhir_reference {
    const char *type; /* static resource type name ("Patient"), or NULL when there is none:
                         urn:uuid:/urn:oid:, "#id", or a last-but-one segment that is not a type */
    sv_str id;        /* the last segment when type is set; the id after '#' when contained */
    sv_str target;    /* the reference without any "/_history/..." suffix */
    bool absolute;    /* has a scheme: "http://...", "urn:uuid:..." */
    bool contained;   /* "#id" */
} sv_fhir_reference;

/* Takes ref apart: "Patient/1", "Patient/1/_history/2", "https://x/fhir/Patient/1",
 * "urn:uuid:...", "#p1".  Never fails; see the fields for what was found. */
void sv_fhir_reference_parse(const char *ref, sv_fhir_reference *ret_reference);

/* ---- compiled expressions ------------------------------------------------------------- */

typedef struct sv_fhirpath sv_fhirpath;

typedef struct sv_fhirpath_item {
    const json_t *node; /* borrowed from the evaluated resource, or a static boolean/literal */
    const char *type;   /* static string: "HumanName", "code", "Patient.contact" (backbone);
                           NULL when the model does not say (untyped JSON) */
} sv_fhirpath_item;

typedef struct sv_fhirpath_items {
    sv_fhirpath_item *items; /* owned */
    size_t len, cap;
} sv_fhirpath_items;

#define SV_FHIRPATH_ITEMS_INIT                                                                     \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

void sv_fhirpath_items_release(sv_fhirpath_items *items); /* accepts NULL */

/*
 * Compiles expression.  context_type is the type of the resource it will be
 * evaluated on ("Patient"), or NULL when the expression names it itself
 * ("Patient.name") or must work on any type.  On failure returns SV_ERR_PARSE
 * (syntax), SV_ERR_INVALID (unknown element, type, function or variable),
 * SV_ERR_TOO_DEEP (parentheses nested beyond 64) or SV_ERR_TOO_LARGE (more than
 * 512 tokens), appends a message to reterr if not NULL, and leaves *ret_expr
 * untouched.  The caller
 * frees the result with sv_fhirpath_free.
 */
int sv_fhirpath_compile(const char *expression, const char *context_type, sv_fhirpath **ret_expr,
                        sv_buf *reterr);
void sv_fhirpath_free(sv_fhirpath *expr); /* accepts NULL */
/* The source text the expression was compiled from. */
const char *sv_fhirpath_source(const sv_fhirpath *expr);

/*
 * Evaluates expr with resource as the context and appends the result items to
 * ret_items (the caller may reuse one buffer across calls; reset len first).
 * The nodes are borrowed from resource and live as long as it does.
 * Returns SV_OK, or SV_ERR_TOO_LARGE if the result grows beyond
 * SV_FHIRPATH_MAX_ITEMS (ret_items then has its length at entry).
 */
#define SV_FHIRPATH_MAX_ITEMS 100000
int sv_fhirpath_eval(const sv_fhirpath *expr, const json_t *resource, sv_fhirpath_items *ret_items);
/* The same, with the resource's type already known (sv_fhir_resource_type of its
 * resourceType): saves a lookup per call when many expressions run on one resource. */
int sv_fhirpath_eval_as(const sv_fhirpath *expr, const json_t *resource, const char *type,
                        sv_fhirpath_items *ret_items);

#endif
