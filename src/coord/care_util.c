/* care_util.c - helpers shared by message.c, medication.c and rehab.c (care.h). */
#include <stdio.h>
#include <string.h>

#include "base/id.h"
#include "coord/care.h"
#include "coord/codes.h"
#include "coord/util.h"

json_t *sv__coord_rule_extension(sv_coord_rule rule)
{
    return json_pack("{s:s, s:[{s:s, s:i}, {s:s, s:s}, {s:s, s:s}]}", "url", SV_EXT_DEADLINE_RULE,
                     "extension", "url", "amount", "valueInteger", rule.amount, "url", "unit",
                     "valueCode", sv__coord_unit_code(rule.unit), "url", "country", "valueCode",
                     rule.country == SV_CAL_SE ? "SE" : "DK");
}

const char *sv__coord_task_code(const json_t *task)
{
    return sv__coord_code_of(json_object_get(task, "code"), SV_SYS_TASK_CODE);
}

bool sv__coord_task_one_step(const json_t *task)
{
    const char *code = sv__coord_task_code(task);
    return code &&
           (strcmp(code, "message-answer") == 0 || strcmp(code, "medication-reconciliation") == 0);
}

json_t *sv__coord_author_agent(const sv_rest *r)
{
    const sv_audit_actor *a = r->actor ? r->actor : &sv_audit_system;
    json_t *who;
    char buf[SV_COORD_REF_LEN + 96];
    const char *role = sv__coord_actor_role(r);
    if (role) {
        snprintf(buf, sizeof(buf), "PractitionerRole/%s", role);
        who = json_pack("{s:s}", "reference", buf);
    } else {
        snprintf(buf, sizeof(buf), "%s%s%s", a->kind ? a->kind : "system", a->id ? " " : "",
                 a->id ? a->id : "");
        who = json_pack("{s:s}", "display", buf);
    }
    json_t *agent = json_pack("{s:{s:[{s:s, s:s}]}, s:o}", "type", "coding", "system",
                              "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                              "code", "author", "who", who);
    if (a->organisation && *a->organisation) {
        const char *org = a->organisation;
        if (strncmp(org, "Organization/", 13) == 0)
            snprintf(buf, sizeof(buf), "%s", org);
        else
            snprintf(buf, sizeof(buf), "Organization/%s", org);
        json_object_set_new(agent, "onBehalfOf", json_pack("{s:s}", "reference", buf));
    }
    return agent;
}

const char *sv__coord_actor_role(const sv_rest *r)
{
    const sv_audit_actor *a = r->actor;
    /* Without a policy (auth off) the actor's role is the PractitionerRole id
     * itself; with one, role is the role code and practitioner_role the id. */
    const char *role = a ? (a->practitioner_role ? a->practitioner_role : a->role) : NULL;
    if (!role || !*role || !sv_id_valid(role, strlen(role)))
        return NULL;
    if (a && !a->practitioner_role && r->access && r->access->kind == SV_POLICY_PRACTITIONER)
        return NULL;
    return role;
}

const char *sv__coord_caller_org(const sv_rest *r)
{
    if (r->access && r->access->kind == SV_POLICY_PRACTITIONER && r->access->organisation[0])
        return r->access->organisation;
    return "";
}

sv_err sv__coord_write(sv_rest *r, const char *type, const char *id, json_t *resource, char *ret_id,
                       sv_outcome *out)
{
    sv_rest_result res;
    sv_rest_result_init(&res);
    sv_err e = id ? sv_rest_update(r, type, id, resource, NULL, &res)
                  : sv_rest_create(r, type, resource, NULL, &res);
    if (e) {
        for (size_t i = 0; i < res.outcome.len; i++)
            sv_outcome_add(out, res.outcome.issues[i].severity, res.outcome.issues[i].code,
                           res.outcome.issues[i].expression, "%s",
                           res.outcome.issues[i].diagnostics ? res.outcome.issues[i].diagnostics
                                                             : "");
        if (!res.outcome.len)
            sv_outcome_add(out, SV_SEV_ERROR, "exception", NULL, "writing %s failed: %s", type,
                           sv_strerror(e));
    } else if (ret_id) {
        snprintf(ret_id, 65, "%s", res.id);
    }
    sv_rest_result_clear(&res);
    return e;
}
