/*
 * metadata.c - GET /fhir/metadata: a CapabilityStatement that tells the truth
 * about what this build does, built from the same tables the server uses
 * (supported types, search parameters).  Built once, then served as text.
 */
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "base/datetime.h"
#include "base/version.h"
#include "fhir/searchparam.h"
#include "fhir/types.h"

static json_t *strings(const char *const *list)
{
    json_t *a = json_array();
    for (size_t i = 0; list[i]; i++)
        json_array_append_new(a, json_string(list[i]));
    return a;
}

static json_t *interaction_list(const char *const *codes)
{
    json_t *a = json_array();
    for (size_t i = 0; codes[i]; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "code", json_string(codes[i]));
        json_array_append_new(a, o);
    }
    return a;
}

/* "*" and Type:param for each reference parameter of type. */
static json_t *search_includes(const char *type)
{
    json_t *a = json_array();
    json_array_append_new(a, json_string("*"));
    size_t n = 0;
    const sv_searchparam *const *list = sv_searchparam_list(type, &n);
    for (size_t k = 0; k < n; k++) {
        if (list[k]->type != SV_SEARCHPARAM_REFERENCE)
            continue;
        sv_buf b = SV_BUF_INIT;
        sv_buf_addf(&b, "%s:%s", type, list[k]->code);
        json_array_append_new(a, json_string(b.ptr));
        sv_buf_release(&b);
    }
    return a;
}

/* Source:param for each reference parameter of a stored type that may point at type. */
static json_t *search_revincludes(const char *type, const char *const *types, size_t ntypes)
{
    json_t *a = json_array();
    for (size_t t = 0; t < ntypes; t++) {
        size_t n = 0;
        const sv_searchparam *const *list = sv_searchparam_list(types[t], &n);
        for (size_t k = 0; k < n; k++) {
            const sv_searchparam *sp = list[k];
            if (sp->type != SV_SEARCHPARAM_REFERENCE)
                continue;
            bool targets = !sp->targets;
            for (size_t i = 0; sp->targets && sp->targets[i]; i++)
                targets |= strcmp(sp->targets[i], type) == 0;
            if (!targets)
                continue;
            sv_buf b = SV_BUF_INIT;
            sv_buf_addf(&b, "%s:%s", types[t], sp->code);
            json_array_append_new(a, json_string(b.ptr));
            sv_buf_release(&b);
        }
    }
    return a;
}

char *sv__api_metadata_build(const char *base_url, size_t *ret_len)
{
    static const char *const type_interactions[] = {
        "read",         "vread",  "update",      "patch", "delete", "history-instance",
        "history-type", "create", "search-type", NULL};
    static const char *const system_interactions[] = {"transaction", "batch", "history-system",
                                                      NULL};
    static const char *const formats[] = {"application/fhir+json", "json", NULL};
    static const char *const patch_formats[] = {"application/json-patch+json", NULL};

    json_t *cs = json_object();
    json_object_set_new(cs, "resourceType", json_string("CapabilityStatement"));
    json_object_set_new(cs, "status", json_string("active"));
    char now[SV_INSTANT_LEN];
    sv_datetime_format_instant(sv_clock_now_ms(), now);
    json_object_set_new(cs, "date", json_string(now));
    json_object_set_new(cs, "publisher", json_string("samverka"));
    json_object_set_new(cs, "kind", json_string("instance"));
    json_t *software = json_object();
    json_object_set_new(software, "name", json_string("samverka"));
    json_object_set_new(software, "version", json_string(SV_VERSION));
    json_object_set_new(cs, "software", software);
    json_t *impl = json_object();
    json_object_set_new(impl, "description",
                        json_string("samverka care-coordination server (FHIR R4)"));
    json_object_set_new(impl, "url", json_string(base_url));
    json_object_set_new(cs, "implementation", impl);
    json_object_set_new(cs, "fhirVersion", json_string("4.0.1"));
    json_object_set_new(cs, "format", strings(formats));
    json_object_set_new(cs, "patchFormat", strings(patch_formats));

    json_t *rest = json_object();
    json_object_set_new(rest, "mode", json_string("server"));
    json_t *resources = json_array();
    size_t ntypes = 0;
    const char *const *types = sv_fhir_supported_types(&ntypes);
    for (size_t i = 0; i < ntypes; i++) {
        json_t *r = json_object();
        json_object_set_new(r, "type", json_string(types[i]));
        if (strcmp(types[i], "AuditEvent") == 0) {
            /* a read-only view of the audit log (api/audit_routes.c, docs/access.md) */
            static const char *const view_interactions[] = {"read", "search-type", NULL};
            json_object_set_new(r, "interaction", interaction_list(view_interactions));
            json_object_set_new(r, "searchParam",
                                json_pack("[{s:s, s:s}, {s:s, s:s}]", "name", "patient", "type",
                                          "reference", "name", "date", "type", "date"));
            json_array_append_new(resources, r);
            continue;
        }
        json_object_set_new(r, "interaction", interaction_list(type_interactions));
        json_object_set_new(r, "versioning", json_string("versioned-update"));
        json_object_set_new(r, "readHistory", json_true());
        json_object_set_new(r, "updateCreate", json_true());
        json_object_set_new(r, "conditionalCreate", json_true());
        json_object_set_new(r, "conditionalUpdate", json_true());
        json_object_set_new(r, "conditionalDelete", json_string("not-supported"));
        json_t *sps = json_array();
        size_t nsp = 0;
        const sv_searchparam *const *list = sv_searchparam_list(types[i], &nsp);
        for (size_t k = 0; k < nsp; k++) {
            const sv_searchparam *sp = list[k];
            /* Only what the engine answers today: no composite or special yet. */
            if (sp->type == SV_SEARCHPARAM_COMPOSITE || sp->type == SV_SEARCHPARAM_SPECIAL)
                continue;
            if (sp->code[0] == '_' && strcmp(sp->code, "_id") != 0 &&
                strcmp(sp->code, "_lastUpdated") != 0 && strcmp(sp->code, "_tag") != 0 &&
                strcmp(sp->code, "_profile") != 0 && strcmp(sp->code, "_security") != 0 &&
                strcmp(sp->code, "_source") != 0)
                continue;
            json_t *o = json_object();
            json_object_set_new(o, "name", json_string(sp->code));
            if (sp->url)
                json_object_set_new(o, "definition", json_string(sp->url));
            json_object_set_new(o, "type", json_string(sv_searchparam_type_name(sp->type)));
            json_array_append_new(sps, o);
        }
        if (json_array_size(sps))
            json_object_set_new(r, "searchParam", sps);
        else
            json_decref(sps);
        json_object_set_new(r, "searchInclude", search_includes(types[i]));
        json_t *rev = search_revincludes(types[i], types, ntypes);
        if (json_array_size(rev))
            json_object_set_new(r, "searchRevInclude", rev);
        else
            json_decref(rev);
        if (strcmp(types[i], "Patient") == 0) {
            json_t *op = json_object();
            json_object_set_new(op, "name", json_string("everything"));
            json_object_set_new(
                op, "definition",
                json_string("http://hl7.org/fhir/OperationDefinition/Patient-everything"));
            json_t *ops = json_array();
            json_array_append_new(ops, op);
            json_array_append_new(
                ops,
                json_pack("{s:s, s:s}", "name", "export", "definition",
                          "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export"));
            json_object_set_new(r, "operation", ops);
        }
        if (strcmp(types[i], "PlanDefinition") == 0) /* pathways: docs/coordination.md */
            json_object_set_new(
                r, "operation",
                json_pack("[{s:s, s:s}, {s:s, s:s}]", "name", "apply", "definition",
                          "http://hl7.org/fhir/OperationDefinition/PlanDefinition-apply", "name",
                          "deviations", "definition",
                          "urn:samverka:OperationDefinition/PlanDefinition-deviations"));
        json_array_append_new(resources, r);
    }
    json_object_set_new(rest, "resource", resources);
    /* Patient/[id]/[type] and $everything; membership as the R4 definition says,
     * plus Task (fhir/compartment.h). */
    json_t *compartments = json_array();
    json_array_append_new(compartments,
                          json_string("http://hl7.org/fhir/CompartmentDefinition/patient"));
    json_object_set_new(rest, "compartment", compartments);
    json_object_set_new(rest, "interaction", interaction_list(system_interactions));
    /* MedCom messaging (docs/medcom.md); FHIR XML is read, answers are JSON. */
    json_object_set_new(
        rest, "operation",
        json_pack("[{s:s, s:s}, {s:s, s:s}]", "name", "process-message", "definition",
                  "http://hl7.org/fhir/OperationDefinition/MessageHeader-process-message", "name",
                  "export", "definition",
                  "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"));
    json_t *rests = json_array();
    json_array_append_new(rests, rest);
    json_object_set_new(cs, "rest", rests);

    sv_buf b = SV_BUF_INIT;
    sv_fhir_dump(cs, &b);
    json_decref(cs);
    return sv_buf_detach(&b, ret_len);
}
