/*
 * medication.c - the medication hand-over, "the Gurli rule"
 * (docs/medication.md; seed 001: a new diuretic never entered in the nursing
 * home's system, and taken for an error there).
 *
 * The hospital submits the changes of one discharge as one set
 * (Patient/{id}/$medication-handover, one transaction).  Each change is
 * written to the citizen's medication list (MedicationStatement) and becomes a
 * reconciliation item: a Task (code medication-reconciliation) owned by the
 * receiving organisation, with a deadline from data/medication/
 * reconciliation.json.  Until it is confirmed the citizen carries an active
 * Flag; the coordinator is told; the watchdog escalates at the deadline.
 * Confirming ($confirm) clears the Flag, disputing ($dispute) tells the
 * hospital and the coordinator; each is a Provenance naming who and when.
 * The Task's rules run in the Task hook (sv__coord_reconciliation_after), so a
 * reconciliation Task written any other way behaves the same.
 */
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "base/datetime.h"
#include "coord/care.h"
#include "coord/codes.h"
#include "coord/notify.h"
#include "coord/task.h"
#include "coord/team.h"
#include "coord/util.h"

#define SV_SYS_FLAG_ID "http://samverka.org/fhir/NamingSystem/reconciliation-flag"

static const json_t *param_in(const json_t *list, const char *name, const char *key)
{
    size_t i;
    const json_t *p;
    json_array_foreach(list, i, p)
    {
        const char *n = json_string_value(json_object_get(p, "name"));
        if (n && strcmp(n, name) == 0)
            return key ? json_object_get(p, key) : p;
    }
    return NULL;
}

static sv_err bad(sv_outcome *out, sv_err e, const char *code, const char *path, const char *msg)
{
    sv_outcome_add(out, SV_SEV_ERROR, code, path, "%s", msg);
    return e;
}

static const char *change_word(const char *type)
{
    if (strcmp(type, "started") == 0)
        return "started";
    if (strcmp(type, "stopped") == 0)
        return "stopped";
    return "dose changed";
}

/* One change: the statement written, and its reconciliation Task. */
static sv_err apply_change(sv_rest *r, const char *patient, const json_t *change, size_t index,
                           const char *receiver, const char *requester, const json_t *encounter,
                           json_t *items, sv_outcome *out)
{
    char path[96], ts[SV_INSTANT_LEN];
    const json_t *parts = json_object_get(change, "part");
    const char *type = json_string_value(param_in(parts, "type", "valueCode"));
    snprintf(path, sizeof(path), "Parameters.parameter[%zu].part", index);
    if (!type ||
        (strcmp(type, "started") && strcmp(type, "stopped") && strcmp(type, "dose-changed")))
        return bad(out, SV_ERR_INVALID, "required", path,
                   "each change has a type: started, stopped or dose-changed");
    sv_datetime_format_instant(sv_clock_now_ms(), ts);
    char statement_id[65];
    json_t *statement = NULL;
    sv_err e = SV_OK;
    if (strcmp(type, "started") == 0) {
        const json_t *given = param_in(parts, "statement", "resource");
        const char *rt = json_string_value(json_object_get(given, "resourceType"));
        if (!rt || strcmp(rt, "MedicationStatement") != 0)
            return bad(out, SV_ERR_INVALID, "required", path,
                       "a started medication comes as a MedicationStatement (part statement)");
        char subject[SV_COORD_REF_LEN];
        if (json_object_get(given, "subject") &&
            (!sv__coord_ref(json_object_get(given, "subject"), subject) ||
             strcmp(subject, patient) != 0))
            return bad(out, SV_ERR_PROCESSING, "business-rule", path,
                       "the statement is about another citizen than the hand-over");
        statement = json_deep_copy(given);
        json_object_del(statement, "id");
        json_object_del(statement, "meta");
        json_object_set_new(statement, "subject", json_pack("{s:s}", "reference", patient));
        json_object_set_new(statement, "status", json_string("active"));
        if (!json_object_get(statement, "dateAsserted"))
            json_object_set_new(statement, "dateAsserted", json_string(ts));
        e = sv__coord_write(r, "MedicationStatement", NULL, statement, statement_id, out);
    } else {
        char target[SV_COORD_REF_LEN], subject[SV_COORD_REF_LEN];
        if (!sv__coord_ref(param_in(parts, "target", "valueReference"), target) ||
            !sv__coord_ref_id(target, "MedicationStatement"))
            return bad(out, SV_ERR_INVALID, "required", path,
                       "a stopped or changed medication names its MedicationStatement (part "
                       "target)");
        sv_rest_result rr;
        sv_rest_result_init(&rr);
        e = sv_rest_read(r, "MedicationStatement", sv__coord_ref_id(target, "MedicationStatement"),
                         &rr);
        statement = e ? NULL : sv_json_loadb(rr.body.ptr, rr.body.len, 0, NULL);
        sv_rest_result_clear(&rr);
        if (e || !statement)
            return bad(out, e == SV_ERR_NOT_FOUND || !e ? SV_ERR_PROCESSING : e, "not-found", path,
                       "the MedicationStatement to change is not known");
        const char *status = json_string_value(json_object_get(statement, "status"));
        if (!sv__coord_ref(json_object_get(statement, "subject"), subject) ||
            strcmp(subject, patient) != 0)
            e = bad(out, SV_ERR_PROCESSING, "business-rule", path,
                    "the MedicationStatement is about another citizen than the hand-over");
        else if (!status || strcmp(status, "active") != 0)
            e = bad(out, SV_ERR_PROCESSING, "business-rule", path,
                    "only an active medication is stopped or changed");
        json_object_del(statement, "meta");
        if (!e && strcmp(type, "stopped") == 0) {
            json_object_set_new(statement, "status", json_string("stopped"));
        } else if (!e) {
            json_t *dosage = json_array();
            size_t i;
            const json_t *p;
            json_array_foreach(parts, i, p)
            {
                const char *n = json_string_value(json_object_get(p, "name"));
                if (n && strcmp(n, "dosage") == 0 && json_object_get(p, "valueDosage"))
                    json_array_append(dosage, json_object_get(p, "valueDosage"));
            }
            if (!json_array_size(dosage))
                e = bad(out, SV_ERR_INVALID, "required", path,
                        "a changed dose comes as the new dosage (part dosage, valueDosage)");
            json_object_set_new(statement, "dosage", dosage);
        }
        json_object_set_new(statement, "dateAsserted", json_string(ts));
        snprintf(statement_id, sizeof(statement_id), "%s",
                 sv__coord_ref_id(target, "MedicationStatement"));
        if (!e)
            e = sv__coord_write(r, "MedicationStatement", statement_id, statement, NULL, out);
    }
    json_decref(statement);
    if (e)
        return e;
    /* The Task names no medicine: it is coordination data, the statement is
     * medication data (docs/access.md); the focus leads there for who may see it. */
    char focus[SV_COORD_REF_LEN], text[160], task_id[65];
    snprintf(focus, sizeof(focus), "MedicationStatement/%s", statement_id);
    snprintf(text, sizeof(text), "Medication change at discharge to confirm: %s",
             change_word(type));
    json_t *task = json_pack(
        "{s:s, s:s, s:s, s:s, s:{s:[{s:s, s:s, s:s}]}, s:s, s:{s:s}, s:{s:s}, s:{s:s}, s:s, "
        "s:[{s:{s:s}, s:s}], s:[o]}",
        "resourceType", "Task", "status", "requested", "intent", "order", "priority", "urgent",
        "code", "coding", "system", SV_SYS_TASK_CODE, "code", "medication-reconciliation",
        "display", "Medication reconciliation", "description", text, "focus", "reference", focus,
        "for", "reference", patient, "owner", "reference", receiver, "authoredOn", ts, "input",
        "type", "text", "change", "valueString", type, "extension",
        sv__coord_rule_extension(sv__coord_reconciliation_deadline()));
    if (requester[0])
        json_object_set_new(task, "requester", json_pack("{s:s}", "reference", requester));
    if (encounter)
        json_object_set(task, "encounter", (json_t *)encounter);
    const char *note = json_string_value(param_in(parts, "note", "valueString"));
    if (note)
        json_object_set_new(task, "note", json_pack("[{s:s, s:s}]", "text", note, "time", ts));
    e = sv__coord_write(r, "Task", NULL, task, task_id, out);
    json_decref(task);
    if (!e)
        json_array_append_new(
            items, json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:{s:s}}, {s:s, s:{s:s+}}]}", "name",
                             "item", "part", "name", "type", "valueCode", type, "name", "statement",
                             "valueReference", "reference", focus, "name", "task", "valueReference",
                             "reference", "Task/", task_id));
    return e;
}

sv_err sv_coord_medication_handover(sv_rest *r, const char *patient_id, const json_t *params,
                                    sv_rest_result *res)
{
    sv_outcome *out = &res->outcome;
    const json_t *list = json_object_get(params, "parameter");
    char patient[SV_COORD_REF_LEN], receiver[SV_COORD_REF_LEN], requester[SV_COORD_REF_LEN];
    snprintf(patient, sizeof(patient), "Patient/%s", patient_id);
    sv_err e = sv_rest_read(r, "Patient", patient_id, res); /* 404 when not visible */
    sv_rest_result_clear(res);
    sv_rest_result_init(res);
    out = &res->outcome;
    if (e)
        return bad(out, e, "not-found", NULL, "the citizen is not known");
    if (!sv__coord_ref(param_in(list, "receiver", "valueReference"), receiver) ||
        !sv__coord_ref_id(receiver, "Organization"))
        return bad(out, SV_ERR_INVALID, "required", "receiver",
                   "the organisation that takes over the medication (parameter receiver, "
                   "valueReference Organization/id)");
    snprintf(requester, sizeof(requester), "%s", sv__coord_caller_org(r));
    if (!requester[0] && !sv__coord_ref(param_in(list, "sender", "valueReference"), requester))
        requester[0] = '\0';
    const json_t *encounter = param_in(list, "encounter", "valueReference");
    size_t nchanges = 0;
    sv_buf err = SV_BUF_INIT;
    e = sv_db_begin(r->db, SV_TX_WRITE, &err);
    sv_buf_release(&err);
    if (e)
        return bad(out, e, "transient", NULL, "the database is busy");
    json_t *items = json_array();
    size_t i;
    const json_t *p;
    json_array_foreach(list, i, p)
    {
        const char *n = json_string_value(json_object_get(p, "name"));
        if (!n || strcmp(n, "change") != 0)
            continue;
        nchanges++;
        e = apply_change(r, patient, p, i, receiver, requester, encounter, items, out);
        if (e)
            break;
    }
    if (!e && !nchanges)
        e = bad(out, SV_ERR_INVALID, "required", "change",
                "a hand-over has at least one change (parameter change)");
    if (!e)
        e = sv_db_commit(r->db, &err);
    else
        sv_db_rollback(r->db);
    sv_buf_release(&err);
    if (!e) {
        json_t *answer = json_pack("{s:s, s:O}", "resourceType", "Parameters", "parameter", items);
        sv_fhir_dump(answer, &res->body);
        json_decref(answer);
        res->status = 200;
    }
    json_decref(items);
    return e;
}

/* ---- confirm and dispute -------------------------------------------------------- */

static json_t *param_top(const json_t *params, const char *name, const char *key)
{
    return (json_t *)param_in(json_object_get(params, "parameter"), name, key);
}

sv_err sv_coord_reconciliation_settle(sv_rest *r, const char *task_id, bool confirm,
                                      const json_t *params, sv_rest_result *res)
{
    const char *comment = json_string_value(param_top(params, "comment", "valueString"));
    if (!confirm && (!comment || !*comment))
        return bad(&res->outcome, SV_ERR_INVALID, "required", "comment",
                   "a dispute says why (parameter comment, valueString)");
    sv_err e = sv_rest_read(r, "Task", task_id, res);
    json_t *task = e ? NULL : sv_json_loadb(res->body.ptr, res->body.len, 0, NULL);
    sv_rest_result_clear(res);
    sv_rest_result_init(res);
    if (e)
        return bad(&res->outcome, e, "not-found", NULL, "the task is not known");
    const char *code = sv__coord_task_code(task);
    const char *status = json_string_value(json_object_get(task, "status"));
    char owner[SV_COORD_REF_LEN] = "";
    sv__coord_ref(json_object_get(task, "owner"), owner);
    const char *caller = sv__coord_caller_org(r);
    if (!code || strcmp(code, "medication-reconciliation") != 0)
        e = bad(&res->outcome, SV_ERR_PROCESSING, "business-rule", "Task.code",
                "only a medication reconciliation item is confirmed or disputed");
    else if (sv_coord_task_status_final(status))
        e = bad(&res->outcome, SV_ERR_CONFLICT, "conflict", "Task.status",
                "the item is settled already");
    else if (caller[0] && strcmp(caller, owner) != 0)
        e = bad(&res->outcome, SV_ERR_FORBIDDEN, "forbidden", "Task.owner",
                "only the receiving organisation confirms or disputes its items");
    if (e) {
        json_decref(task);
        return e;
    }
    char ts[SV_INSTANT_LEN];
    sv_datetime_format_instant(sv_clock_now_ms(), ts);
    json_object_del(task, "meta");
    json_object_set_new(task, "status", json_string(confirm ? "completed" : "rejected"));
    json_object_set_new(task, "businessStatus",
                        json_pack("{s:[{s:s, s:s}]}", "coding", "system", SV_SYS_TASK_BUSINESS,
                                  "code", confirm ? "confirmed" : "disputed"));
    json_object_set_new(task, "lastModified", json_string(ts));
    json_t *agent = sv__coord_author_agent(r);
    json_t *note =
        json_pack("{s:s, s:s}", "time", ts, "text",
                  comment ? comment : (confirm ? "Entered in our medication system" : ""));
    /* Annotation.author names a Practitioner, not a role: the role's person. */
    const char *who =
        json_string_value(json_object_get(json_object_get(agent, "who"), "reference"));
    json_t *role = who ? sv__coord_load(r->db, who) : NULL;
    char person[SV_COORD_REF_LEN];
    if (role && sv__coord_ref(json_object_get(role, "practitioner"), person))
        json_object_set_new(note, "authorReference", json_pack("{s:s}", "reference", person));
    else if (who)
        json_object_set_new(note, "authorString", json_string(who));
    else
        json_object_set(note, "authorString",
                        json_object_get(json_object_get(agent, "who"), "display"));
    json_decref(role);
    json_decref(agent);
    json_t *notes = json_object_get(task, "note");
    if (!json_is_array(notes)) {
        notes = json_array();
        json_object_set_new(task, "note", notes);
    }
    json_array_append_new(notes, note);
    if (!confirm)
        json_object_set_new(task, "statusReason", json_pack("{s:s}", "text", comment));
    e = sv_rest_update(r, "Task", task_id, task, NULL, res);
    json_decref(task);
    return e;
}

/* ---- the Task hook: alert, notices, who settled it -------------------------------- */

typedef struct flag_ctx {
    char id[65];
} flag_ctx;

static bool first_flag(void *ctx, const json_t *flag)
{
    flag_ctx *f = ctx;
    const char *id = json_string_value(json_object_get(flag, "id"));
    if (id && strlen(id) < 65)
        snprintf(f->id, sizeof(f->id), "%s", id);
    return false;
}

static sv_err find_flag(sv_rest *r, const char *task_ref, char out[65])
{
    char value[SV_COORD_REF_LEN + 64];
    snprintf(value, sizeof(value), "%s|%s", SV_SYS_FLAG_ID, task_ref);
    const char *names[] = {"identifier"};
    const char *values[] = {value};
    flag_ctx f = {.id = ""};
    sv_err e = sv__coord_find(r->db, "Flag", names, values, 1, 1, first_flag, &f);
    snprintf(out, 65, "%s", f.id);
    return e;
}

static sv_err notify_coordinator(sv_rest *r, const char *citizen, const sv_coord_notice *n,
                                 sv_buf *err)
{
    char coordinator[SV_COORD_REF_LEN] = "";
    sv_err e = sv__coord_team_coordinator(r->db, citizen, coordinator, NULL);
    if (!e && coordinator[0])
        e = sv_coord_notify_party(r->db, coordinator, n, err);
    return e;
}

static sv_err raise_flag(sv_rest *r, const char *task_ref, const json_t *task, const char *citizen,
                         sv_outcome *out)
{
    char ts[SV_INSTANT_LEN];
    sv_datetime_format_instant(sv_clock_now_ms(), ts);
    json_t *flag =
        json_pack("{s:s, s:[{s:s, s:s}], s:s, s:[{s:[{s:s, s:s}]}], s:{s:[{s:s, s:s, s:s}], s:s}, "
                  "s:{s:s}, s:{s:s}, s:[{s:s, s:{s:s}}]}",
                  "resourceType", "Flag", "identifier", "system", SV_SYS_FLAG_ID, "value", task_ref,
                  "status", "active", "category", "coding", "system",
                  "http://terminology.hl7.org/CodeSystem/flag-category", "code", "drug", "code",
                  "coding", "system", SV_SYS_FLAG_CODE, "code", "medication-unconfirmed", "display",
                  "Medication change not confirmed", "text",
                  "A medication change is not yet confirmed by the receiving organisation",
                  "subject", "reference", citizen, "period", "start", ts, "extension", "url",
                  SV_EXT_FLAG_DETAIL, "valueReference", "reference", task_ref);
    if (json_object_get(task, "requester"))
        json_object_set(flag, "author", json_object_get(task, "requester"));
    sv_err e = sv__coord_write(r, "Flag", NULL, flag, NULL, out);
    json_decref(flag);
    return e;
}

static sv_err set_flag(sv_rest *r, const char *task_ref, const char *status, const char *text,
                       sv_outcome *out)
{
    char id[65], ref[SV_COORD_REF_LEN];
    sv_err e = find_flag(r, task_ref, id);
    if (e || !id[0])
        return e;
    snprintf(ref, sizeof(ref), "Flag/%s", id);
    json_t *flag = sv__coord_load(r->db, ref);
    if (!flag)
        return SV_OK;
    json_object_del(flag, "meta");
    json_object_set_new(flag, "status", json_string(status));
    json_object_set_new(json_object_get(flag, "code"), "text", json_string(text));
    if (strcmp(status, "inactive") == 0) {
        char ts[SV_INSTANT_LEN];
        sv_datetime_format_instant(sv_clock_now_ms(), ts);
        json_object_set_new(json_object_get(flag, "period"), "end", json_string(ts));
    }
    e = sv__coord_write(r, "Flag", id, flag, NULL, out);
    json_decref(flag);
    return e;
}

static sv_err record(sv_rest *r, const char *task_id, int64_t version, const json_t *task,
                     const char *activity, const char *display, sv_outcome *out)
{
    char target[SV_COORD_REF_LEN + 32], ts[SV_INSTANT_LEN];
    snprintf(target, sizeof(target), "Task/%s/_history/%lld", task_id, (long long)version);
    sv_datetime_format_instant(sv_clock_now_ms(), ts);
    json_t *targets = json_pack("[{s:s}]", "reference", target);
    char focus[SV_COORD_REF_LEN];
    if (sv__coord_ref(json_object_get(task, "focus"), focus))
        json_array_append_new(targets, json_pack("{s:s}", "reference", focus));
    json_t *prov = json_pack("{s:s, s:o, s:s, s:{s:[{s:s, s:s, s:s}]}, s:[o]}", "resourceType",
                             "Provenance", "target", targets, "recorded", ts, "activity", "coding",
                             "system", SV_SYS_PROVENANCE_ACTIVITY, "code", activity, "display",
                             display, "agent", sv__coord_author_agent(r));
    const char *reason =
        json_string_value(json_object_get(json_object_get(task, "statusReason"), "text"));
    if (reason)
        json_object_set_new(prov, "reason", json_pack("[{s:s}]", "text", reason));
    sv_err e = sv__coord_write(r, "Provenance", NULL, prov, NULL, out);
    json_decref(prov);
    return e;
}

static bool became(const json_t *old, const json_t *task, const char *status)
{
    const char *now = json_string_value(json_object_get(task, "status"));
    const char *before = old ? json_string_value(json_object_get(old, "status")) : NULL;
    return now && strcmp(now, status) == 0 && (!before || strcmp(before, status) != 0);
}

sv_err sv__coord_reconciliation_after(sv_rest *r, const char *id, int64_t version,
                                      const json_t *old, const json_t *task, sv_outcome *out)
{
    const char *code = sv__coord_task_code(task);
    if (code && strcmp(code, "rehabilitation-start") == 0)
        return sv__coord_rehab_task_after(r, id, task);
    if (!code || strcmp(code, "medication-reconciliation") != 0)
        return SV_OK;
    char task_ref[SV_COORD_REF_LEN], citizen[SV_COORD_REF_LEN], requester[SV_COORD_REF_LEN];
    snprintf(task_ref, sizeof(task_ref), "Task/%s", id);
    if (!sv__coord_ref(json_object_get(task, "for"), citizen) ||
        !sv__coord_ref_id(citizen, "Patient"))
        return bad(out, SV_ERR_PROCESSING, "required", "Task.for",
                   "a reconciliation item is for one citizen (Patient)");
    bool has_requester = sv__coord_ref(json_object_get(task, "requester"), requester);
    sv_buf err = SV_BUF_INIT;
    sv_coord_notice n = {.citizen = citizen, .resource = task_ref};
    sv_err e = SV_OK;
    if (!old) {
        n.kind = SV_NOTICE_MEDICATION_CHANGE;
        n.text = "A medication change awaits confirmation by the receiving organisation";
        e = raise_flag(r, task_ref, task, citizen, out);
        if (!e)
            e = notify_coordinator(r, citizen, &n, &err);
    } else if (became(old, task, "completed")) {
        e = set_flag(r, task_ref, "inactive", "Medication change confirmed", out);
        if (!e)
            e = record(r, id, version, task, "medication-confirmed",
                       "Medication change confirmed as entered", out);
    } else if (became(old, task, "rejected")) {
        n.kind = SV_NOTICE_MEDICATION_DISPUTED;
        n.text = "The receiving organisation disputes a medication change";
        e = set_flag(r, task_ref, "active", "Medication change disputed by the receiver", out);
        if (!e)
            e = record(r, id, version, task, "medication-disputed", "Medication change disputed",
                       out);
        if (!e && has_requester)
            e = sv_coord_notify_party(r->db, requester, &n, &err);
        if (!e)
            e = notify_coordinator(r, citizen, &n, &err);
    } else if (became(old, task, "cancelled") || became(old, task, "entered-in-error")) {
        e = set_flag(r, task_ref, "inactive", "Medication change withdrawn", out);
    } else if (sv__coord_has_code(json_object_get(task, "businessStatus"), SV_SYS_TASK_BUSINESS,
                                  "overdue") &&
               !sv__coord_has_code(json_object_get(old, "businessStatus"), SV_SYS_TASK_BUSINESS,
                                   "overdue")) {
        e = set_flag(r, task_ref, "active",
                     "Medication change not confirmed by its deadline: escalated", out);
    }
    if (e && !out->len)
        sv_outcome_add(out, SV_SEV_ERROR, "exception", NULL, "the reconciliation follow-up failed");
    sv_buf_release(&err);
    return e;
}
