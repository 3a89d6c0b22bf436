/* plan.c - see plan.h. */
#include "coord/plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/datetime.h"
#include "coord/codes.h"
#include "coord/notify.h"
#include "coord/util.h"
#include "store/resource.h"

static const char *const sip_steps[] = {"call",       "needs",  "plan", "follow-up",
                                        "evaluation", "closed", NULL};
static const char *const plan_categories[] = {"sip", "rehabilitation", "discharge", "pathway",
                                              NULL};

static bool listed(const char *const *list, const char *code)
{
    for (size_t i = 0; code && list[i]; i++)
        if (strcmp(list[i], code) == 0)
            return true;
    return false;
}

int sv__coord_sip_step_rank(const char *code)
{
    for (int i = 0; code && sip_steps[i]; i++)
        if (strcmp(sip_steps[i], code) == 0)
            return i;
    return -1;
}

const char *sv__coord_sip_step(const json_t *plan)
{
    return json_string_value(
        json_object_get(sv__coord_extension(plan, SV_EXT_SIP_STEP), "valueCode"));
}

sv_err sv__coord_plan_before(sv_rest *r, const json_t *old, json_t *plan, sv_outcome *out)
{
    (void)r;
    const json_t *step = sv__coord_extension(plan, SV_EXT_SIP_STEP);
    if (step) {
        const char *code = json_string_value(json_object_get(step, "valueCode"));
        if (!listed(sip_steps, code)) {
            sv_outcome_add(out, SV_SEV_ERROR, "code-invalid", "CarePlan.extension",
                           "the SIP step '%s' is not one of call, needs, plan, follow-up, "
                           "evaluation, closed",
                           code ? code : "");
            return SV_ERR_PROCESSING;
        }
        /* The SIP process goes forward (steps may be skipped); closed is the end. */
        const char *was = old ? sv__coord_sip_step(old) : NULL;
        if (was && sv__coord_sip_step_rank(code) < sv__coord_sip_step_rank(was)) {
            sv_outcome_add(out, SV_SEV_ERROR, "business-rule", "CarePlan.extension",
                           "the SIP step cannot go back from '%s' to '%s'", was, code);
            return SV_ERR_PROCESSING;
        }
    } else if (old && sv__coord_sip_step(old)) {
        sv_outcome_add(out, SV_SEV_ERROR, "business-rule", "CarePlan.extension",
                       "the SIP step '%s' cannot be removed; close the plan with step 'closed'",
                       sv__coord_sip_step(old));
        return SV_ERR_PROCESSING;
    }
    size_t i;
    const json_t *cat;
    json_array_foreach(json_object_get(plan, "category"), i, cat)
    {
        const char *code = sv__coord_code_of(cat, SV_SYS_CAREPLAN_CATEGORY);
        if (sv__coord_has_code(cat, SV_SYS_CAREPLAN_CATEGORY, NULL) &&
            !listed(plan_categories, code)) {
            char path[48];
            snprintf(path, sizeof(path), "CarePlan.category[%zu]", i);
            sv_outcome_add(out, SV_SEV_ERROR, "code-invalid", path,
                           "'%s' is not a plan category (sip, rehabilitation, discharge, "
                           "pathway)",
                           code ? code : "");
            return SV_ERR_PROCESSING;
        }
    }
    return SV_OK;
}

/* ---- parties --------------------------------------------------------------- */

/* The party a reference stands for in an agreement: a PractitionerRole agrees
 * for its organisation; Organization, Patient and RelatedPerson for themselves. */
static bool party_of(sv_db *db, const char *ref, char out[SV_COORD_REF_LEN])
{
    if (sv__coord_ref_id(ref, "Organization") || sv__coord_ref_id(ref, "Patient") ||
        sv__coord_ref_id(ref, "RelatedPerson")) {
        snprintf(out, SV_COORD_REF_LEN, "%s", ref);
        return true;
    }
    if (!sv__coord_ref_id(ref, "PractitionerRole"))
        return false;
    json_t *role = sv__coord_load(db, ref);
    bool ok = role && sv__coord_ref(json_object_get(role, "organization"), out);
    json_decref(role);
    return ok;
}

static void add_unique(json_t *list, const char *ref)
{
    size_t i;
    const json_t *v;
    json_array_foreach(list, i, v) if (strcmp(json_string_value(v), ref) == 0) return;
    json_array_append_new(list, json_string(ref));
}

/* The parties who must agree: the citizen (subject), the organisations of the
 * contributors and of the activities' performers.  New reference. */
static json_t *plan_parties(sv_db *db, const json_t *plan)
{
    json_t *parties = json_array();
    char ref[SV_COORD_REF_LEN], party[SV_COORD_REF_LEN];
    if (sv__coord_ref(json_object_get(plan, "subject"), ref) && sv__coord_ref_id(ref, "Patient"))
        add_unique(parties, ref);
    size_t i, k;
    const json_t *c, *a, *p;
    json_array_foreach(json_object_get(plan, "contributor"), i, c)
    {
        if (sv__coord_ref(c, ref) && party_of(db, ref, party))
            add_unique(parties, party);
    }
    json_array_foreach(json_object_get(plan, "activity"), i, a)
    {
        json_array_foreach(json_object_get(json_object_get(a, "detail"), "performer"), k, p)
        {
            if (sv__coord_ref(p, ref) && party_of(db, ref, party))
                add_unique(parties, party);
        }
    }
    return parties;
}

/* ---- what an agreement is about ---------------------------------------------- */

/* The plan as the parties agree to it: without meta, narrative and SIP step (a
 * step forward is the process, not the content).  New reference. */
static json_t *agreed_content(const json_t *plan)
{
    json_t *c = json_deep_copy(plan);
    json_object_del(c, "meta");
    json_object_del(c, "text");
    json_t *exts = json_object_get(c, "extension");
    for (size_t i = json_array_size(exts); i-- > 0;) {
        const char *u = json_string_value(json_object_get(json_array_get(exts, i), "url"));
        if (u && strcmp(u, SV_EXT_SIP_STEP) == 0)
            json_array_remove(exts, i);
    }
    if (exts && !json_array_size(exts))
        json_object_del(c, "extension");
    return c;
}

bool sv__coord_plan_same_content(const json_t *a, const json_t *b)
{
    json_t *ca = agreed_content(a), *cb = agreed_content(b);
    bool same = json_equal(ca, cb);
    json_decref(ca);
    json_decref(cb);
    return same;
}

/* The oldest version v such that versions v..current all have the current
 * version's content: an agreement to any of them holds for the current one. */
static int64_t first_same_version(sv_db *db, const char *id, const json_t *current, int64_t version)
{
    int64_t first = version;
    for (int64_t v = version - 1; v >= 1; v--) {
        sv_stored s = {0};
        if (sv_store_vread(db, "CarePlan", id, v, &s, NULL) != SV_OK) {
            sv_stored_clear(&s);
            break;
        }
        json_t *j = s.json && !s.deleted ? sv_json_loadb(s.json, s.json_len, 0, NULL) : NULL;
        sv_stored_clear(&s);
        bool same = j && sv__coord_plan_same_content(j, current);
        json_decref(j);
        if (!same)
            break;
        first = v;
    }
    return first;
}

/* ---- agreements ------------------------------------------------------------- */

static bool is_agreement(const json_t *prov)
{
    return sv__coord_has_code(json_object_get(prov, "activity"), SV_SYS_PROVENANCE_ACTIVITY,
                              "agreement");
}

/* The plan id and version an agreement names ("CarePlan/x/_history/3"). */
static bool agreement_target(const json_t *prov, char id[65], int64_t *version)
{
    const char *t = json_string_value(
        json_object_get(json_array_get(json_object_get(prov, "target"), 0), "reference"));
    const char *h = t ? strstr(t, "/_history/") : NULL;
    if (!t || strncmp(t, "CarePlan/", 9) != 0 || !h || (size_t)(h - t - 9) >= 65 || h == t + 9)
        return false;
    memcpy(id, t + 9, (size_t)(h - t - 9));
    id[h - t - 9] = '\0';
    char *end = NULL;
    long long v = strtoll(h + 10, &end, 10);
    if (!end || *end || v < 1)
        return false;
    *version = v;
    return true;
}

/* The party an agreement is given by: its first agent's who. */
static bool agreement_party(sv_db *db, const json_t *prov, char out[SV_COORD_REF_LEN])
{
    char who[SV_COORD_REF_LEN];
    size_t i;
    const json_t *agent;
    json_array_foreach(json_object_get(prov, "agent"), i, agent)
    {
        if (sv__coord_ref(json_object_get(agent, "who"), who))
            return party_of(db, who, out);
    }
    return false;
}

static bool has_party(const json_t *parties, const char *party)
{
    size_t i;
    const json_t *v;
    json_array_foreach(parties, i, v) if (strcmp(json_string_value(v), party) == 0) return true;
    return false;
}

sv_err sv__coord_agreement_before(sv_rest *r, json_t *prov, sv_outcome *out)
{
    if (!is_agreement(prov))
        return SV_OK;
    char id[65];
    int64_t version;
    if (!agreement_target(prov, id, &version)) {
        sv_outcome_add(out, SV_SEV_ERROR, "business-rule", "Provenance.target[0]",
                       "an agreement names one plan version: CarePlan/[id]/_history/[version]");
        return SV_ERR_PROCESSING;
    }
    sv_stored cur;
    if (sv_store_current(r->db, "CarePlan", id, true, &cur, NULL) != SV_OK || cur.deleted) {
        sv_stored_clear(&cur);
        sv_outcome_add(out, SV_SEV_ERROR, "not-found", "Provenance.target[0]",
                       "CarePlan/%s is not known", id);
        return SV_ERR_PROCESSING;
    }
    json_t *plan = sv_json_loadb(cur.json, cur.json_len, 0, NULL);
    int64_t current = cur.version;
    sv_stored_clear(&cur);
    sv_err e = SV_OK;
    if (version != current) {
        sv_outcome_add(out, SV_SEV_ERROR, "business-rule", "Provenance.target[0]",
                       "agreement is given to the current version of CarePlan/%s, %lld, not "
                       "%lld",
                       id, (long long)current, (long long)version);
        e = SV_ERR_PROCESSING;
    }
    char party[SV_COORD_REF_LEN];
    json_t *parties = plan_parties(r->db, plan);
    if (!e && (!agreement_party(r->db, prov, party) || !has_party(parties, party))) {
        sv_outcome_add(out, SV_SEV_ERROR, "business-rule", "Provenance.agent[0].who",
                       "only the citizen or a participating organisation (contributor or "
                       "activity performer) of CarePlan/%s can agree to it",
                       id);
        e = SV_ERR_PROCESSING;
    }
    /* The citizen as a second target puts the agreement in their compartment:
     * the citizen and the team see it, and the citizen may give it. */
    char subject[SV_COORD_REF_LEN];
    if (!e && sv__coord_ref(json_object_get(plan, "subject"), subject) &&
        sv__coord_ref_id(subject, "Patient")) {
        bool has = false;
        size_t i;
        const json_t *t;
        json_t *targets = json_object_get(prov, "target");
        json_array_foreach(targets, i, t)
        {
            char ref[SV_COORD_REF_LEN];
            has = has || (sv__coord_ref(t, ref) && strcmp(ref, subject) == 0);
        }
        if (!has)
            json_array_append_new(targets, json_pack("{s:s}", "reference", subject));
    }
    json_decref(parties);
    json_decref(plan);
    return e;
}

static sv_err agreed_by_all(sv_db *db, const char *id, const char *skip, bool *ret,
                            json_t **ret_plan);

sv_err sv__coord_agreement_after(sv_rest *r, const char *prov_id, const json_t *prov,
                                 sv_outcome *out)
{
    char id[65];
    int64_t version;
    if (!is_agreement(prov) || !agreement_target(prov, id, &version))
        return SV_OK;
    bool now_all = false, before_all = false;
    json_t *plan = NULL;
    sv_err e = agreed_by_all(r->db, id, NULL, &now_all, &plan);
    if (!e && now_all)
        e = agreed_by_all(r->db, id, prov_id, &before_all, NULL);
    if (!e && now_all && !before_all) {
        json_t *parties = plan_parties(r->db, plan);
        char citizen[SV_COORD_REF_LEN], focus[SV_COORD_REF_LEN];
        bool has_citizen = sv__coord_ref(json_object_get(plan, "subject"), citizen);
        snprintf(focus, sizeof(focus), "CarePlan/%s", id);
        sv_coord_notice n = {.kind = SV_NOTICE_PLAN_AGREED,
                             .citizen = has_citizen ? citizen : NULL,
                             .resource = focus,
                             .text = json_string_value(json_object_get(plan, "title"))};
        sv_buf err = SV_BUF_INIT;
        size_t i;
        const json_t *p;
        json_array_foreach(parties, i, p)
        {
            if (!e)
                e = sv_coord_notify_party(r->db, json_string_value(p), &n, &err);
        }
        sv_buf_release(&err);
        json_decref(parties);
        /* A SIP plan agreed by all moves on to follow-up. */
        if (!e && sv__coord_sip_step(plan))
            e = sv__coord_plan_advance(r, id, "follow-up", NULL);
    }
    json_decref(plan);
    if (e)
        sv_outcome_add(out, SV_SEV_ERROR, "exception", NULL,
                       "the plan's agreement cannot be recorded");
    return e;
}

typedef struct agreed_ctx {
    sv_db *db;
    const char *id;
    int64_t version;  /* 0: any version */
    int64_t from;     /* with version: agreements to from..version count */
    const char *skip; /* a Provenance id left out, or NULL */
    json_t *found;    /* party -> Provenance reference */
} agreed_ctx;

static bool collect_agreement(void *ctx, const json_t *prov)
{
    agreed_ctx *a = ctx;
    char id[65], party[SV_COORD_REF_LEN], ref[SV_COORD_REF_LEN];
    int64_t version;
    if (!is_agreement(prov) || !agreement_target(prov, id, &version) || strcmp(id, a->id) != 0 ||
        (a->version && (version > a->version || version < a->from)) ||
        !agreement_party(a->db, prov, party))
        return true;
    const char *pid = json_string_value(json_object_get(prov, "id"));
    if (!pid || (a->skip && strcmp(pid, a->skip) == 0))
        return true;
    snprintf(ref, sizeof(ref), "Provenance/%s", pid);
    json_object_set_new(
        a->found, party,
        json_pack("{s:s, s:O}", "reference", ref, "recorded", json_object_get(prov, "recorded")));
    return true;
}

/* Agreements to CarePlan/id versions from..version (version 0: any),
 * party -> {reference, recorded}. */
static json_t *agreements_but(sv_db *db, const char *id, int64_t from, int64_t version,
                              const char *skip)
{
    char target[SV_COORD_REF_LEN];
    snprintf(target, sizeof(target), "CarePlan/%s", id);
    const char *names[] = {"target"};
    const char *values[] = {target};
    agreed_ctx a = {
        .db = db, .id = id, .version = version, .from = from, .skip = skip, .found = json_object()};
    sv__coord_find(db, "Provenance", names, values, 1, 1000, collect_agreement, &a);
    return a.found;
}

static json_t *agreements(sv_db *db, const char *id, int64_t from, int64_t version)
{
    return agreements_but(db, id, from, version, NULL);
}

/* Whether every party of the current version agreed, not counting Provenance
 * skip (may be NULL).  *ret_plan (may be NULL) gets the current plan. */
static sv_err agreed_by_all(sv_db *db, const char *id, const char *skip, bool *ret,
                            json_t **ret_plan)
{
    *ret = false;
    sv_stored cur = {0};
    sv_err e = sv_store_current(db, "CarePlan", id, true, &cur, NULL);
    json_t *plan =
        !e && !cur.deleted && cur.json ? sv_json_loadb(cur.json, cur.json_len, 0, NULL) : NULL;
    int64_t version = cur.version;
    sv_stored_clear(&cur);
    if (!plan)
        return e == SV_ERR_NOT_FOUND ? SV_OK : e;
    json_t *parties = plan_parties(db, plan);
    json_t *agreed =
        agreements_but(db, id, first_same_version(db, id, plan, version), version, skip);
    bool all = json_array_size(parties) > 0;
    size_t i;
    const json_t *p;
    json_array_foreach(parties, i, p) all = all && json_object_get(agreed, json_string_value(p));
    json_decref(agreed);
    json_decref(parties);
    *ret = all;
    if (ret_plan)
        *ret_plan = plan;
    else
        json_decref(plan);
    return SV_OK;
}

sv_err sv__coord_plan_advance(sv_rest *r, const char *id, const char *step, bool *ret_moved)
{
    if (ret_moved)
        *ret_moved = false;
    char ref[SV_COORD_REF_LEN];
    snprintf(ref, sizeof(ref), "CarePlan/%s", id);
    json_t *plan = NULL;
    sv_err e = sv__coord_load_checked(r->db, ref, &plan);
    if (e)
        return e == SV_ERR_NOT_FOUND ? SV_OK : e;
    const char *was = sv__coord_sip_step(plan);
    if (sv__coord_sip_step_rank(was) >= sv__coord_sip_step_rank(step)) {
        json_decref(plan);
        return SV_OK;
    }
    json_t *ext = (json_t *)sv__coord_extension(plan, SV_EXT_SIP_STEP);
    if (ext) {
        json_object_set_new(ext, "valueCode", json_string(step));
    } else {
        if (!json_is_array(json_object_get(plan, "extension")))
            json_object_set_new(plan, "extension", json_array());
        json_array_append_new(json_object_get(plan, "extension"),
                              json_pack("{s:s, s:s}", "url", SV_EXT_SIP_STEP, "valueCode", step));
    }
    json_object_del(plan, "meta");
    /* A consequence of the rules, not of the caller's access: written as the process. */
    sv_rest sys = *r;
    sys.access = NULL;
    sv_rest_result res;
    sv_rest_result_init(&res);
    e = sv_rest_update(&sys, "CarePlan", id, plan, NULL, &res);
    sv_rest_result_clear(&res);
    json_decref(plan);
    if (!e && ret_moved)
        *ret_moved = true;
    return e;
}

sv_err sv__coord_plan_after(sv_rest *r, const char *id, int64_t version, const json_t *old,
                            const json_t *plan, sv_outcome *out)
{
    (void)version;
    const char *status = json_string_value(json_object_get(plan, "status"));
    if (status && (strcmp(status, "entered-in-error") == 0 || strcmp(status, "revoked") == 0))
        return SV_OK;
    if (old && sv__coord_plan_same_content(old, plan))
        return SV_OK; /* a SIP step forward: nothing to agree to again */
    json_t *parties = plan_parties(r->db, plan);
    bool asks = !old;
    if (old) {
        json_t *earlier = agreements(r->db, id, 0, 0);
        asks = json_object_size(earlier) > 0;
        json_decref(earlier);
    }
    char citizen[SV_COORD_REF_LEN], focus[SV_COORD_REF_LEN];
    bool has_citizen = sv__coord_ref(json_object_get(plan, "subject"), citizen);
    snprintf(focus, sizeof(focus), "CarePlan/%s", id);
    sv_coord_notice n = {.citizen = has_citizen ? citizen : NULL,
                         .resource = focus,
                         .text = json_string_value(json_object_get(plan, "title"))};
    sv_buf err = SV_BUF_INIT;
    sv_err e = SV_OK;
    size_t i;
    const json_t *p;
    json_array_foreach(parties, i, p)
    {
        if (!e && old) {
            n.kind = SV_NOTICE_PLAN_CHANGED;
            e = sv_coord_notify_party(r->db, json_string_value(p), &n, &err);
        }
        if (!e && asks) {
            n.kind = SV_NOTICE_PLAN_AWAITING;
            e = sv_coord_notify_party(r->db, json_string_value(p), &n, &err);
        }
    }
    sv_buf_release(&err);
    json_decref(parties);
    if (e)
        sv_outcome_add(out, SV_SEV_ERROR, "exception", NULL, "the plan's parties cannot be told");
    return e;
}

sv_err sv_coord_plan_agreement(sv_db *db, const char *id, json_t **ret, sv_outcome *out)
{
    sv_stored cur;
    if (sv_store_current(db, "CarePlan", id, true, &cur, NULL) != SV_OK || cur.deleted) {
        sv_stored_clear(&cur);
        sv_outcome_add(out, SV_SEV_ERROR, "not-found", NULL, "CarePlan/%s is not known", id);
        return SV_ERR_NOT_FOUND;
    }
    json_t *plan = sv_json_loadb(cur.json, cur.json_len, 0, NULL);
    int64_t version = cur.version;
    sv_stored_clear(&cur);
    json_t *parties = plan_parties(db, plan);
    json_t *agreed = agreements(db, id, first_same_version(db, id, plan, version), version);
    json_t *list = json_array();
    bool all = json_array_size(parties) > 0;
    size_t i;
    const json_t *p;
    json_array_foreach(parties, i, p)
    {
        const char *party = json_string_value(p);
        json_t *by = json_object_get(agreed, party);
        json_t *entry =
            json_pack("{s:{s:s}, s:b}", "party", "reference", party, "agreed", by != NULL);
        if (by)
            json_object_set(entry, "provenance", by);
        all = all && by;
        json_array_append_new(list, entry);
    }
    char target[SV_COORD_REF_LEN + 32];
    snprintf(target, sizeof(target), "CarePlan/%s/_history/%lld", id, (long long)version);
    *ret = json_pack("{s:{s:s}, s:I, s:b, s:o}", "plan", "reference", target, "version",
                     (json_int_t)version, "agreedByAll", all, "parties", list);
    json_decref(agreed);
    json_decref(parties);
    json_decref(plan);
    return SV_OK;
}
