/* team.c - see team.h. */
#include "coord/team.h"

#include <stdio.h>
#include <string.h>

#include "base/datetime.h"
#include "base/id.h"
#include "coord/codes.h"
#include "coord/notify.h"
#include "store/audit.h"
#include "store/include.h"

static bool is_coordination(const json_t *team)
{
    return team && sv__coord_has_code(json_object_get(team, "category"), SV_SYS_CARE_TEAM_CATEGORY,
                                      "coordination");
}

static bool is_active(const json_t *team)
{
    const char *s = json_string_value(json_object_get(team, "status"));
    return s && strcmp(s, "active") == 0;
}

static bool is_coordinator(const json_t *participant, int64_t now)
{
    return sv__coord_has_code(json_object_get(participant, "role"), SV_SYS_CARE_TEAM_ROLE,
                              "coordinator") &&
           sv__coord_period_covers(json_object_get(participant, "period"), now);
}

/* The number of active coordinators; the first one's member into out ("" if none). */
static int coordinators(const json_t *team, int64_t now, char out[SV_COORD_REF_LEN])
{
    int n = 0;
    out[0] = '\0';
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(team, "participant"), i, p)
    {
        if (!is_coordinator(p, now))
            continue;
        if (n++ == 0 && !sv__coord_ref(json_object_get(p, "member"), out))
            out[0] = '\0';
    }
    return n;
}

static const char *reason_of(const json_t *team)
{
    return json_string_value(
        json_object_get(sv__coord_extension(team, SV_EXT_HANDOVER_REASON), "valueString"));
}

typedef struct other_ctx {
    const char *id;
    char found[65];
} other_ctx;

static bool other_team(void *ctx, const json_t *team)
{
    other_ctx *o = ctx;
    const char *id = json_string_value(json_object_get(team, "id"));
    if (id && strcmp(id, o->id) != 0 && is_coordination(team) && is_active(team)) {
        snprintf(o->found, sizeof(o->found), "%s", id);
        return false;
    }
    return true;
}

sv_err sv__coord_team_before(sv_rest *r, const char *id, const json_t *old, json_t *team,
                             sv_outcome *out)
{
    if (!is_coordination(team) || !is_active(team))
        return SV_OK;
    char subject[SV_COORD_REF_LEN];
    if (!sv__coord_ref(json_object_get(team, "subject"), subject) ||
        !sv__coord_ref_id(subject, "Patient")) {
        sv_outcome_add(out, SV_SEV_ERROR, "business-rule", "CareTeam.subject",
                       "a coordination team is about one citizen: subject must be a Patient");
        return SV_ERR_PROCESSING;
    }
    int64_t now = sv_clock_now_ms();
    char coordinator[SV_COORD_REF_LEN];
    int n = coordinators(team, now, coordinator);
    if (n != 1 || !coordinator[0]) {
        sv_outcome_add(out, SV_SEV_ERROR, "business-rule", "CareTeam.participant",
                       "an active coordination team needs exactly one active participant with "
                       "role %s#coordinator and a member; it has %d",
                       SV_SYS_CARE_TEAM_ROLE, n);
        return SV_ERR_PROCESSING;
    }
    const char *names[] = {"subject", "status", "category"};
    const char *values[] = {subject, "active", SV_SYS_CARE_TEAM_CATEGORY "|coordination"};
    other_ctx o = {.id = id};
    sv_err e = sv__coord_find(r->db, "CareTeam", names, values, 3, 10, other_team, &o);
    if (e) {
        sv_outcome_add(out, SV_SEV_ERROR, "exception", NULL, "the team cannot be checked");
        return e;
    }
    if (o.found[0]) {
        sv_outcome_add(out, SV_SEV_ERROR, "conflict", "CareTeam.subject",
                       "%s already has an active coordination team, CareTeam/%s; end it "
                       "(status inactive) or change that one",
                       subject, o.found);
        return SV_ERR_CONFLICT;
    }
    char before[SV_COORD_REF_LEN] = "";
    if (is_coordination(old) && is_active(old))
        coordinators(old, now, before);
    if (before[0] && strcmp(before, coordinator) != 0) {
        const char *reason = reason_of(team);
        const char *old_reason = reason_of(old);
        if (!reason || !*reason || (old_reason && strcmp(reason, old_reason) == 0)) {
            sv_outcome_add(out, SV_SEV_ERROR, "required", "CareTeam.extension",
                           "a new coordinator (%s instead of %s) needs the reason for the "
                           "hand-over in extension %s",
                           coordinator, before, SV_EXT_HANDOVER_REASON);
            return SV_ERR_PROCESSING;
        }
    }
    return SV_OK;
}

/* ---- after: provenance and notices ----------------------------------------- */

static json_t *ref_json(const char *ref)
{
    return json_pack("{s:s}", "reference", ref);
}

static json_t *coding(const char *system, const char *code, const char *display)
{
    return json_pack("{s:[{s:s, s:s, s:s}]}", "coding", "system", system, "code", code, "display",
                     display);
}

/* Who acts, as a Provenance agent: the request's PractitionerRole when known. */
static json_t *author_agent(const sv_rest *r)
{
    const sv_audit_actor *a = r->actor ? r->actor : &sv_audit_system;
    json_t *who;
    if (a->role && *a->role && sv_id_valid(a->role, strlen(a->role))) {
        char ref[SV_COORD_REF_LEN];
        snprintf(ref, sizeof(ref), "PractitionerRole/%s", a->role);
        who = ref_json(ref);
    } else {
        char display[160];
        snprintf(display, sizeof(display), "%s%s%s", a->kind ? a->kind : "system", a->id ? " " : "",
                 a->id ? a->id : "");
        who = json_pack("{s:s}", "display", display);
    }
    return json_pack("{s:o, s:o}", "type",
                     coding("http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                            "author", "Author"),
                     "who", who);
}

static sv_err record_handover(sv_rest *r, const char *id, int64_t version, const char *before,
                              const char *after, const char *reason, sv_outcome *out)
{
    char target[SV_COORD_REF_LEN + 32], ts[SV_INSTANT_LEN];
    snprintf(target, sizeof(target), "CareTeam/%s/_history/%lld", id, (long long)version);
    sv_datetime_format_instant(sv_clock_now_ms(), ts);
    json_t *agents = json_array();
    json_array_append_new(agents, author_agent(r));
    if (before[0])
        json_array_append_new(
            agents,
            json_pack("{s:[o], s:o}", "role",
                      coding(SV_SYS_CARE_TEAM_ROLE, "previous-coordinator", "Previous coordinator"),
                      "who", ref_json(before)));
    json_array_append_new(agents,
                          json_pack("{s:[o], s:o}", "role",
                                    coding(SV_SYS_CARE_TEAM_ROLE, "coordinator", "Coordinator"),
                                    "who", ref_json(after)));
    json_t *prov = json_pack("{s:s, s:[o], s:s, s:o, s:o}", "resourceType", "Provenance", "target",
                             ref_json(target), "recorded", ts, "activity",
                             coding(SV_SYS_PROVENANCE_ACTIVITY,
                                    before[0] ? "coordinator-handover" : "coordinator-named",
                                    before[0] ? "Coordinator hand-over" : "Coordinator named"),
                             "agent", agents);
    if (reason && *reason)
        json_object_set_new(prov, "reason", json_pack("[{s:s}]", "text", reason));
    sv_rest_result res;
    sv_rest_result_init(&res);
    sv_err e = sv_rest_create(r, "Provenance", prov, NULL, &res);
    for (size_t i = 0; e && i < res.outcome.len; i++)
        sv_outcome_add(out, res.outcome.issues[i].severity, res.outcome.issues[i].code,
                       res.outcome.issues[i].expression, "hand-over provenance: %s",
                       res.outcome.issues[i].diagnostics ? res.outcome.issues[i].diagnostics : "");
    sv_rest_result_clear(&res);
    json_decref(prov);
    return e;
}

/* Adds ref to the list unless it is there. */
static void add_party(json_t *list, const char *ref)
{
    size_t i;
    const json_t *v;
    json_array_foreach(list, i, v) if (strcmp(json_string_value(v), ref) == 0) return;
    json_array_append_new(list, json_string(ref));
}

sv_err sv__coord_team_after(sv_rest *r, const char *id, int64_t version, const json_t *old,
                            const json_t *team, sv_outcome *out)
{
    if (!is_coordination(team) || !is_active(team))
        return SV_OK;
    int64_t now = sv_clock_now_ms();
    char before[SV_COORD_REF_LEN] = "", after[SV_COORD_REF_LEN];
    if (is_coordination(old) && is_active(old))
        coordinators(old, now, before);
    coordinators(team, now, after);
    if (!after[0] || strcmp(before, after) == 0)
        return SV_OK;
    sv_err e = record_handover(r, id, version, before, after, reason_of(team), out);
    if (e)
        return e;
    char subject[SV_COORD_REF_LEN];
    sv__coord_ref(json_object_get(team, "subject"), subject);
    json_t *parties = json_array();
    add_party(parties, subject);
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(team, "participant"), i, p)
    {
        char member[SV_COORD_REF_LEN];
        if (sv__coord_period_covers(json_object_get(p, "period"), now) &&
            sv__coord_ref(json_object_get(p, "member"), member))
            add_party(parties, member);
    }
    if (before[0])
        add_party(parties, before);
    json_array_foreach(json_object_get(team, "managingOrganization"), i, p)
    {
        char org[SV_COORD_REF_LEN];
        if (sv__coord_ref(p, org))
            add_party(parties, org);
    }
    char focus[SV_COORD_REF_LEN];
    snprintf(focus, sizeof(focus), "CareTeam/%s", id);
    sv_coord_notice n = {.kind = SV_NOTICE_COORDINATOR_CHANGED,
                         .citizen = subject,
                         .resource = focus,
                         .text = reason_of(team)};
    sv_buf err = SV_BUF_INIT;
    const json_t *v;
    json_array_foreach(parties, i, v)
    {
        if (!e)
            e = sv_coord_notify_party(r->db, json_string_value(v), &n, &err);
    }
    sv_buf_release(&err);
    json_decref(parties);
    if (e)
        sv_outcome_add(out, SV_SEV_ERROR, "exception", NULL, "the team cannot be notified");
    return e;
}

/* ---- lookups ----------------------------------------------------------------- */

typedef struct team_find {
    json_t *team;
} team_find;

static bool keep_team(void *ctx, const json_t *team)
{
    team_find *t = ctx;
    if (!is_coordination(team) || !is_active(team))
        return true;
    t->team = json_incref((json_t *)team);
    return false;
}

static bool seen(void *ctx, int64_t rid, const sv_stored *s)
{
    (void)rid;
    (void)s;
    *(bool *)ctx = true;
    return false;
}

/* Whether any CareTeam has citizen ("Patient/id") as its subject: one probe of the
 * reference index, where the search below costs ~75 k instructions (parse, SQL
 * assembled and run) and finds nothing for most citizens - the stay rules ask it for
 * every admission (docs/performance/medcom.md, "Session 4, later").  The search
 * matches the same rows (no base url: Type/id only) and then filters them. */
static sv_err any_team(sv_db *db, const char *citizen, bool *ret)
{
    *ret = true;
    const char *id = strncmp(citizen, "Patient/", 8) == 0 ? citizen + 8 : NULL;
    if (!id || !sv_id_valid(id, strlen(id)))
        return SV_OK; /* the search decides (and says what is wrong) */
    *ret = false;
    sv_store_referrers_query q = {.param = "subject",
                                  .target_type = "Patient",
                                  .target_id = id,
                                  .type = "CareTeam",
                                  .since = INT64_MIN,
                                  .limit = 1,
                                  .keys_only = true};
    return sv_store_referrers(db, &q, seen, ret, NULL, NULL);
}

/* The citizen's active coordination team (caller decrefs), or NULL. */
static json_t *active_team(sv_db *db, const char *citizen, sv_err *ret_e)
{
    bool any = true;
    *ret_e = any_team(db, citizen, &any);
    if (*ret_e || !any)
        return NULL;
    const char *names[] = {"subject", "status", "category"};
    const char *values[] = {citizen, "active", SV_SYS_CARE_TEAM_CATEGORY "|coordination"};
    team_find t = {0};
    *ret_e = sv__coord_find(db, "CareTeam", names, values, 3, 10, keep_team, &t);
    if (*ret_e) {
        json_decref(t.team);
        return NULL;
    }
    return t.team;
}

sv_err sv__coord_team_coordinator(sv_db *db, const char *citizen, char out[SV_COORD_REF_LEN],
                                  char ret_team[SV_COORD_REF_LEN])
{
    out[0] = '\0';
    if (ret_team)
        ret_team[0] = '\0';
    sv_err e;
    json_t *team = active_team(db, citizen, &e);
    if (!team)
        return e;
    coordinators(team, sv_clock_now_ms(), out);
    if (ret_team)
        snprintf(ret_team, SV_COORD_REF_LEN, "CareTeam/%s",
                 json_string_value(json_object_get(team, "id")));
    json_decref(team);
    return SV_OK;
}

/* Appends the telecom entries of j to list. */
static void add_telecom(json_t *list, const json_t *j)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(j, "telecom"), i, t) json_array_append(list, t);
}

static json_t *named_ref(const char *ref, const json_t *resource)
{
    char buf[256];
    json_t *r = ref_json(ref);
    const char *name = resource ? sv__coord_name(resource, buf) : "";
    if (*name)
        json_object_set_new(r, "display", json_string(name));
    return r;
}

static json_t *member_view(sv_db *db, const json_t *participant, int64_t now)
{
    char member[SV_COORD_REF_LEN];
    if (!sv__coord_ref(json_object_get(participant, "member"), member))
        return NULL;
    json_t *m = sv__coord_load(db, member);
    json_t *person = NULL, *org = NULL;
    char org_ref[SV_COORD_REF_LEN] = "", person_ref[SV_COORD_REF_LEN] = "";
    if (sv__coord_ref_id(member, "PractitionerRole")) {
        if (sv__coord_ref(json_object_get(m, "practitioner"), person_ref))
            person = sv__coord_load(db, person_ref);
        sv__coord_ref(json_object_get(m, "organization"), org_ref);
    } else if (sv__coord_ref_id(member, "Organization")) {
        snprintf(org_ref, sizeof(org_ref), "%s", member);
    }
    if (!org_ref[0])
        sv__coord_ref(json_object_get(participant, "onBehalfOf"), org_ref);
    if (org_ref[0])
        org =
            sv__coord_ref_id(member, "Organization") ? json_incref(m) : sv__coord_load(db, org_ref);
    json_t *view = json_object();
    json_t *mref = named_ref(member, person ? person : m);
    json_object_set_new(view, "member", mref);
    if (person_ref[0])
        json_object_set_new(view, "person", named_ref(person_ref, person));
    if (org_ref[0])
        json_object_set_new(view, "organization", named_ref(org_ref, org));
    json_t *roles = json_array();
    size_t i;
    json_t *role;
    json_array_foreach(json_object_get(participant, "role"), i, role)
        json_array_append(roles, role);
    json_array_foreach(json_object_get(m, "code"), i, role) /* PractitionerRole.code */
        json_array_append(roles, role);
    json_object_set_new(view, "role", roles);
    json_object_set_new(view, "coordinator", json_boolean(is_coordinator(participant, now)));
    json_t *telecom = json_array();
    add_telecom(telecom, m);
    if (person)
        add_telecom(telecom, person);
    if (json_array_size(telecom) == 0 && org)
        add_telecom(telecom, org); /* no direct line: the organisation's */
    json_object_set_new(view, "telecom", telecom);
    if (json_object_get(participant, "period"))
        json_object_set(view, "period", json_object_get(participant, "period"));
    json_decref(m);
    json_decref(person);
    json_decref(org);
    return view;
}

sv_err sv_coord_team_view(sv_db *db, const char *patient_id, json_t **ret, sv_outcome *out)
{
    char citizen[SV_COORD_REF_LEN];
    snprintf(citizen, sizeof(citizen), "Patient/%s", patient_id);
    json_t *patient = sv__coord_load(db, citizen);
    if (!patient) {
        sv_outcome_add(out, SV_SEV_ERROR, "not-found", NULL, "Patient/%s is not known", patient_id);
        return SV_ERR_NOT_FOUND;
    }
    sv_err e;
    json_t *team = active_team(db, citizen, &e);
    if (!team) {
        json_decref(patient);
        if (e) {
            sv_outcome_add(out, SV_SEV_ERROR, "exception", NULL, "storage failure");
            return e;
        }
        sv_outcome_add(out, SV_SEV_ERROR, "not-found", NULL,
                       "Patient/%s has no active coordination team", patient_id);
        return SV_ERR_NOT_FOUND;
    }
    int64_t now = sv_clock_now_ms();
    json_t *first = json_array(), *rest = json_array();
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(team, "participant"), i, p)
    {
        if (!sv__coord_period_covers(json_object_get(p, "period"), now))
            continue;
        json_t *v = member_view(db, p, now);
        if (v)
            json_array_append_new(is_coordinator(p, now) ? first : rest, v);
    }
    json_array_extend(first, rest);
    json_decref(rest);
    char team_ref[SV_COORD_REF_LEN];
    snprintf(team_ref, sizeof(team_ref), "CareTeam/%s",
             json_string_value(json_object_get(team, "id")));
    *ret = json_pack("{s:o, s:o, s:o}", "patient", named_ref(citizen, patient), "careTeam",
                     named_ref(team_ref, team), "members", first);
    json_decref(team);
    json_decref(patient);
    return SV_OK;
}
