/* searchparam.c - see searchparam.h. */
#include "fhir/searchparam.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fhir/model.h"

/*
 * samverka's own parameters, sorted by (base, code).  The URL base is a
 * placeholder until the project has a canonical base of its own.
 */
#define SV_SP_EXT "http://samverka.org/fhir/StructureDefinition/"
static const char *const service_targets[] = {"HealthcareService", NULL};

static const sv_searchparam samverka_params[] = {
    /* The actions of a pathway that a plan left out or changed (with a reason),
     * so that deviations can be counted (docs/coordination.md, "Pathways"). */
    {"CarePlan", "deviation", SV_SEARCHPARAM_TOKEN,
     "CarePlan.extension('" SV_SP_EXT "pathway-deviation').extension('action').value", NULL, NULL,
     0, "urn:samverka:SearchParameter/CarePlan-deviation"},
    /* The pathway (PlanDefinition url) a plan was made from, matched as a uri:
     * R4's instantiates-canonical is a reference parameter. */
    {"CarePlan", "pathway", SV_SEARCHPARAM_URI, "CarePlan.instantiatesCanonical", NULL, NULL, 0,
     "urn:samverka:SearchParameter/CarePlan-pathway"},
    /* The municipal offers (HealthcareService) a plan's activities link to. */
    {"CarePlan", "service", SV_SEARCHPARAM_REFERENCE,
     "CarePlan.activity.extension('" SV_SP_EXT "healthcare-service').value | "
     "CarePlan.activity.detail.extension('" SV_SP_EXT "healthcare-service').value",
     service_targets, NULL, 0, "urn:samverka:SearchParameter/CarePlan-service"},
    /* When the stay's physician declared the citizen discharge-ready (utskrivningsklar,
     * faerdigbehandlet): the results indicators read it (docs/results.md). */
    {"Encounter", "discharge-ready", SV_SEARCHPARAM_DATE,
     "Encounter.extension('http://samverka.org/fhir/StructureDefinition/discharge-ready').value",
     NULL, NULL, 0, "urn:samverka:SearchParameter/Encounter-discharge-ready"},
    /* Acute or planned (v3-ActPriority EM, R): acute readmissions (docs/results.md). */
    {"Encounter", "priority", SV_SEARCHPARAM_TOKEN, "Encounter.priority", NULL, NULL, 0,
     "urn:samverka:SearchParameter/Encounter-priority"},
    /* What a Provenance records (plan agreement, coordinator hand-over). */
    {"Provenance", "activity", SV_SEARCHPARAM_TOKEN, "Provenance.activity", NULL, NULL, 0,
     "urn:samverka:SearchParameter/Provenance-activity"},
    /* A Task's deadline: restriction.period.end (DESIGN: "who does what by when"). */
    {"Task", "deadline", SV_SEARCHPARAM_DATE, "Task.restriction.period.end", NULL, NULL, 0,
     "urn:samverka:SearchParameter/Task-deadline"},
    /* A task whose pathway activity was changed (its action id). */
    {"Task", "deviation", SV_SEARCHPARAM_TOKEN,
     "Task.extension('" SV_SP_EXT "pathway-deviation').extension('action').value", NULL, NULL, 0,
     "urn:samverka:SearchParameter/Task-deviation"},
};

static const sv_searchparam_table tables[] = {
    {"r4", sv__r4_searchparams, 0}, /* len filled in at init: sv__r4_searchparams_len */
    {"samverka", samverka_params, sizeof(samverka_params) / sizeof(samverka_params[0])},
};
#define NTABLES (sizeof(tables) / sizeof(tables[0]))

typedef struct type_params {
    const char *type;              /* static, a model string */
    const sv_searchparam **params; /* sorted by code */
    size_t len;
} type_params;

static struct {
    sv_searchparam_table tables[NTABLES];
    sv_fhirpath **compiled[NTABLES]; /* parallel to each table's params */
    type_params *types;              /* the concrete resource types, sorted by name */
    size_t ntypes;
} reg;

static pthread_once_t once = PTHREAD_ONCE_INIT;

static int cmp_param_code(const void *a, const void *b)
{
    const sv_searchparam *const *pa = a, *const *pb = b;
    return strcmp((*pa)->code, (*pb)->code);
}

/* Adds p to list unless a parameter with its code is there; a later table replaces it. */
static void list_put(type_params *tp, const sv_searchparam *p, size_t cap)
{
    for (size_t i = 0; i < tp->len; i++) {
        if (strcmp(tp->params[i]->code, p->code) == 0) {
            tp->params[i] = p;
            return;
        }
    }
    if (tp->len < cap)
        tp->params[tp->len++] = p;
}

static bool is_wide(const sv_searchparam *p)
{
    return strcmp(p->base, "Resource") == 0 || strcmp(p->base, "DomainResource") == 0;
}

/* The run of tab's parameters whose base is type (tables are sorted by base, then code). */
static void base_run(const sv_searchparam_table *tab, const char *type, size_t *ret_first,
                     size_t *ret_count)
{
    size_t lo = 0, hi = tab->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(tab->params[mid].base, type) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t end = lo;
    while (end < tab->len && strcmp(tab->params[end].base, type) == 0)
        end++;
    *ret_first = lo;
    *ret_count = end - lo;
}

static void init_once(void)
{
    memcpy(reg.tables, tables, sizeof(tables));
    reg.tables[0].len = sv__r4_searchparams_len;

    for (size_t t = 0; t < NTABLES; t++) {
        const sv_searchparam_table *tab = &reg.tables[t];
        reg.compiled[t] = calloc(tab->len ? tab->len : 1, sizeof(sv_fhirpath *));
        if (!reg.compiled[t])
            abort();
        for (size_t i = 0; i < tab->len; i++) {
            const sv_searchparam *p = &tab->params[i];
            if (!p->expression || p->type == SV_SEARCHPARAM_COMPOSITE)
                continue;
            /* A failure leaves NULL: the parameter is then never indexed (the unit test
             * compiles everything and reports failures). */
            sv_fhirpath_compile(p->expression, p->base, &reg.compiled[t][i], NULL);
        }
    }

    /* Per resource type: the Resource-wide parameters, then its own, table by table (each
     * table is sorted by base, so a type's own parameters are one run). */
    reg.types = calloc(sv_model_type_count, sizeof(type_params));
    if (!reg.types)
        abort();
    for (size_t i = 0; i < sv_model_type_count; i++) {
        /* sv_model_types is sorted by name, so reg.types is too */
        const sv_model_type *t = &sv_model_types[i];
        if (t->kind == SV_MODEL_KIND_RESOURCE && !t->abstract)
            reg.types[reg.ntypes++].type = sv_model_type_name(t);
    }
    size_t nwide = 0;
    for (size_t t = 0; t < NTABLES; t++) {
        for (size_t i = 0; i < reg.tables[t].len; i++)
            nwide += is_wide(&reg.tables[t].params[i]);
    }
    for (size_t r = 0; r < reg.ntypes; r++) {
        type_params *tp = &reg.types[r];
        size_t first[NTABLES], count[NTABLES], cap = nwide;
        for (size_t t = 0; t < NTABLES; t++) {
            base_run(&reg.tables[t], tp->type, &first[t], &count[t]);
            cap += count[t];
        }
        tp->params = calloc(cap ? cap : 1, sizeof(*tp->params));
        if (!tp->params)
            abort();
        for (size_t t = 0; t < NTABLES; t++) {
            for (size_t i = 0; i < reg.tables[t].len; i++) {
                if (is_wide(&reg.tables[t].params[i]))
                    list_put(tp, &reg.tables[t].params[i], cap);
            }
        }
        for (size_t t = 0; t < NTABLES; t++) {
            for (size_t i = first[t]; i < first[t] + count[t]; i++)
                list_put(tp, &reg.tables[t].params[i], cap);
        }
        qsort(tp->params, tp->len, sizeof(*tp->params), cmp_param_code);
    }
}

void sv_searchparam_init(void)
{
    pthread_once(&once, init_once);
}

static int cmp_type_params(const void *key, const void *elem)
{
    return strcmp(key, ((const type_params *)elem)->type);
}

static const type_params *find_type(const char *type)
{
    sv_searchparam_init();
    if (!type)
        return NULL;
    return bsearch(type, reg.types, reg.ntypes, sizeof(type_params), cmp_type_params);
}

const sv_searchparam *const *sv_searchparam_list(const char *type, size_t *ret_len)
{
    const type_params *tp = find_type(type);
    *ret_len = tp ? tp->len : 0;
    return tp ? tp->params : NULL;
}

static int cmp_code_key(const void *key, const void *elem)
{
    return strcmp(key, (*(const sv_searchparam *const *)elem)->code);
}

const sv_searchparam *sv_searchparam_find(const char *type, const char *code)
{
    const type_params *tp = find_type(type);
    if (!tp || !code)
        return NULL;
    const sv_searchparam *const *p =
        bsearch(code, tp->params, tp->len, sizeof(*tp->params), cmp_code_key);
    return p ? *p : NULL;
}

const sv_fhirpath *sv_searchparam_fhirpath(const sv_searchparam *p)
{
    sv_searchparam_init();
    for (size_t t = 0; t < NTABLES; t++) {
        const sv_searchparam_table *tab = &reg.tables[t];
        if (p >= tab->params && p < tab->params + tab->len)
            return reg.compiled[t][p - tab->params];
    }
    return NULL;
}

const sv_searchparam_table *sv_searchparam_tables(size_t *ret_len)
{
    sv_searchparam_init();
    *ret_len = NTABLES;
    return reg.tables;
}

const char *sv_searchparam_type_name(sv_searchparam_type type)
{
    static const char *const names[] = {
        [SV_SEARCHPARAM_NUMBER] = "number",       [SV_SEARCHPARAM_DATE] = "date",
        [SV_SEARCHPARAM_STRING] = "string",       [SV_SEARCHPARAM_TOKEN] = "token",
        [SV_SEARCHPARAM_REFERENCE] = "reference", [SV_SEARCHPARAM_COMPOSITE] = "composite",
        [SV_SEARCHPARAM_QUANTITY] = "quantity",   [SV_SEARCHPARAM_URI] = "uri",
        [SV_SEARCHPARAM_SPECIAL] = "special",
    };
    return (unsigned)type < sizeof(names) / sizeof(names[0]) ? names[type] : "unknown";
}
