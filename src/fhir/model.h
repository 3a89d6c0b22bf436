/*
 * model.h - the FHIR R4 type model as static tables.
 *
 * The tables themselves live in generated/r4_model.c, written by
 * tools/gen_validator.mjs from the official R4 StructureDefinitions and value
 * sets; this header is the hand-written description of their layout.  All
 * data is const and static: no initialisation, nothing owned, safe to read
 * from any thread.  Strings are offsets into sv_model_strings (read them with
 * sv_model_str()).  Depends only on libc; must not depend on jansson or on
 * anything that runs node at build time.
 *
 * Shape of the model:
 * - sv_model_types: every R4 primitive, complex datatype and resource type,
 *   sorted by name (binary search).  Profiles (SimpleQuantity, ...) are not
 *   types.  A complex or resource type owns a run of elements, its children.
 * - sv_model_elements: runs of sibling elements, each run sorted by name.
 *   A choice element "value[x]" is stored as "value" with SV_MODEL_EL_CHOICE;
 *   the JSON name is the name plus a type code with its first letter in upper
 *   case (valueString).  An element of type BackboneElement or Element that
 *   declares its own children (Bundle.entry, Timing.repeat) points at its own
 *   run; contentReference elements (Questionnaire.item.item) share the run
 *   they refer to.
 * - sv_model_type_refs: lists of type indexes (an element's allowed types,
 *   and the resource types a Reference may point at; none means any).
 * - sv_model_valuesets/sv_model_codes: the expansions of the value sets bound
 *   with required strength, codes sorted (strcmp) within each set.
 *
 * FHIRPath (fhirpath.c) compiles against the same tables and needs three more:
 * - sv_model_type_bases: the base type of each type (Age -> Quantity,
 *   Patient -> DomainResource -> Resource, code -> string -> Element).
 * - sv_model_backbones: every run that belongs to a backbone element rather than
 *   to a type, with the path of the element that declares it ("Patient.contact",
 *   "Questionnaire.item" also for Questionnaire.item.item).  FHIRPath uses the
 *   path as the type name of such values.
 * - sv_model_profiles: the constraints on data types (SimpleQuantity,
 *   MoneyQuantity), which FHIRPath accepts as type names.
 *
 * Search's _summary (fhir/search_result.c) needs one more:
 * - sv_model_element_summary: a bit per element, set when its definition says
 *   isSummary (sv_model_element_is_summary()).
 */
#ifndef SV_FHIR_MODEL_H
#define SV_FHIR_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest number of children of one type or backbone element (checked by the
 * generated file at compile time); validation keeps one byte per child. */
#define SV_MODEL_MAX_CHILDREN 64

typedef enum sv_model_kind {
    SV_MODEL_KIND_PRIMITIVE,
    SV_MODEL_KIND_COMPLEX,
    SV_MODEL_KIND_RESOURCE
} sv_model_kind;

/* The hand-written check a type gets besides its structure. */
typedef enum sv_model_builtin {
    SV_MODEL_BUILTIN_NONE,
    /* primitives: JSON type and lexical format */
    SV_MODEL_BUILTIN_BOOLEAN,
    SV_MODEL_BUILTIN_INTEGER,
    SV_MODEL_BUILTIN_DECIMAL,
    SV_MODEL_BUILTIN_POSITIVE_INT,
    SV_MODEL_BUILTIN_UNSIGNED_INT,
    SV_MODEL_BUILTIN_STRING,
    SV_MODEL_BUILTIN_MARKDOWN,
    SV_MODEL_BUILTIN_CODE,
    SV_MODEL_BUILTIN_ID,
    SV_MODEL_BUILTIN_URI,
    SV_MODEL_BUILTIN_URL,
    SV_MODEL_BUILTIN_CANONICAL,
    SV_MODEL_BUILTIN_OID,
    SV_MODEL_BUILTIN_UUID,
    SV_MODEL_BUILTIN_BASE64,
    SV_MODEL_BUILTIN_DATE,
    SV_MODEL_BUILTIN_DATETIME,
    SV_MODEL_BUILTIN_INSTANT,
    SV_MODEL_BUILTIN_TIME,
    SV_MODEL_BUILTIN_XHTML,
    /* complex types */
    SV_MODEL_BUILTIN_REFERENCE,  /* reference shape and target type */
    SV_MODEL_BUILTIN_IDENTIFIER, /* national identifiers (ident.h) */
    SV_MODEL_BUILTIN_CODING,     /* required bindings on Coding */
    SV_MODEL_BUILTIN_CODEABLE_CONCEPT
} sv_model_builtin;

typedef struct sv_model_type {
    uint32_t name;    /* offset in sv_model_strings */
    uint8_t kind;     /* sv_model_kind */
    uint8_t abstract; /* Resource, DomainResource, Element, BackboneElement */
    uint8_t builtin;  /* sv_model_builtin */
    uint16_t first;   /* first child in sv_model_elements */
    uint16_t count;   /* number of children (0 for primitives) */
} sv_model_type;

/* sv_model_element.flags */
#define SV_MODEL_EL_CHOICE 0x01       /* name[x]: JSON name carries the type */
#define SV_MODEL_EL_ARRAY 0x02        /* max = "*": must be a JSON array */
#define SV_MODEL_EL_REQUIRED 0x04     /* min = 1 */
#define SV_MODEL_EL_NO_EXTENSION 0x08 /* an XML attribute (Element.id, Extension.url): no _name */

typedef struct sv_model_element {
    uint32_t name;  /* offset in sv_model_strings; without "[x]" */
    uint8_t flags;  /* SV_MODEL_EL_* */
    uint16_t types; /* first of ntypes type indexes in sv_model_type_refs */
    uint8_t ntypes;
    uint16_t targets; /* first of ntargets resource type indexes for a Reference */
    uint8_t ntargets; /* 0: any resource type */
    uint16_t first;   /* own children (BackboneElement/Element), else 0 */
    uint16_t count;   /* number of own children; 0 means: use the type's */
    uint16_t binding; /* 1 + index in sv_model_valuesets of a required binding; 0: none */
} sv_model_element;

typedef struct sv_model_valueset {
    uint32_t url;   /* offset in sv_model_strings */
    uint32_t first; /* first code in sv_model_codes */
    uint32_t count;
} sv_model_valueset;

typedef struct sv_model_code {
    uint32_t code;   /* offset in sv_model_strings */
    uint32_t system; /* offset in sv_model_strings */
} sv_model_code;

/* sv_model_type_bases[] value of a type without a base (Element, Resource). */
#define SV_MODEL_NO_TYPE 0xFFFF

typedef struct sv_model_backbone {
    uint32_t path;  /* offset in sv_model_strings: "Patient.contact" */
    uint16_t type;  /* BackboneElement or Element (index in sv_model_types) */
    uint16_t first; /* its run of children in sv_model_elements */
    uint16_t count;
} sv_model_backbone;

typedef struct sv_model_profile {
    uint32_t name; /* offset in sv_model_strings: "SimpleQuantity" */
    uint16_t type; /* the type constrained (index in sv_model_types): Quantity */
} sv_model_profile;

/* The generated tables (generated/r4_model.c). */
extern const char sv_model_strings[];
extern const sv_model_type sv_model_types[];
extern const size_t sv_model_type_count;
extern const sv_model_element sv_model_elements[];
extern const size_t sv_model_element_count;
extern const uint16_t sv_model_type_refs[];
extern const sv_model_valueset sv_model_valuesets[];
extern const size_t sv_model_valueset_count;
extern const sv_model_code sv_model_codes[];
extern const uint16_t sv_model_type_bases[];         /* parallel to sv_model_types */
extern const sv_model_backbone sv_model_backbones[]; /* sorted by first */
extern const size_t sv_model_backbone_count;
extern const sv_model_profile sv_model_profiles[]; /* sorted by name */
extern const size_t sv_model_profile_count;
extern const uint8_t sv_model_element_summary[]; /* a bit per sv_model_elements row */

static inline const char *sv_model_str(uint32_t offset)
{
    return sv_model_strings + offset;
}

static inline const char *sv_model_type_name(const sv_model_type *t)
{
    return sv_model_strings + t->name;
}

static inline const char *sv_model_element_name(const sv_model_element *e)
{
    return sv_model_strings + e->name;
}

/* The i-th allowed type of an element. */
static inline const sv_model_type *sv_model_element_type(const sv_model_element *e, unsigned i)
{
    return &sv_model_types[sv_model_type_refs[e->types + i]];
}

/* The type t derives from, or NULL for Element and Resource. */
static inline const sv_model_type *sv_model_type_base(const sv_model_type *t)
{
    uint16_t base = sv_model_type_bases[t - sv_model_types];
    return base == SV_MODEL_NO_TYPE ? NULL : &sv_model_types[base];
}

/* Whether the definition of e marks it isSummary (part of _summary=true). */
static inline bool sv_model_element_is_summary(const sv_model_element *e)
{
    size_t i = (size_t)(e - sv_model_elements);
    return (sv_model_element_summary[i >> 3] >> (i & 7)) & 1;
}

/* Lookups (binary search; all return borrowed pointers into the tables). */

/* Any type by exact name ("Patient", "HumanName", "dateTime"); NULL if none. */
const sv_model_type *sv_model_type_find(const char *name);
/* Same for a name that is not NUL-terminated. */
const sv_model_type *sv_model_type_findn(const char *name, size_t len);
/* True for a concrete (non-abstract) R4 resource type name. */
bool sv_model_is_resource_type(const char *name);
/* A child of a type or of a backbone element by its stored name (no [x]). */
const sv_model_element *sv_model_element_find(const sv_model_element *first, size_t count,
                                              const char *name, size_t len);
/* The children of an element: its own run, else those of its (single) type. */
void sv_model_element_children(const sv_model_element *e, const sv_model_element **ret_first,
                               size_t *ret_count);
/* Whether code (and, when system is not NULL, system) is in value set
 * index vs (sv_model_element.binding - 1). */
bool sv_model_valueset_contains(unsigned vs, const char *system, const char *code);
/* The canonical url of value set index vs. */
const char *sv_model_valueset_url(unsigned vs);
/* The backbone element whose children e has (e->count != 0), or NULL when e uses its type's. */
const sv_model_backbone *sv_model_backbone_of(const sv_model_element *e);
/* An element by its path, [x] left out: "Patient.contact.name", "Observation.value";
 * contentReference elements are followed ("Questionnaire.item.item.text").  NULL for a bare
 * type name, an unknown path, or a step into a choice or a primitive. */
const sv_model_element *sv_model_element_find_path(const char *path, size_t len);
/* A profile by exact name ("SimpleQuantity"); NULL if none.  A linear scan: R4 has two. */
const sv_model_profile *sv_model_profile_find(const char *name);

#endif
