/* access.c - see policy.h: the access of one request, the write rules, and
 * which citizens' grants a write touches. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/datetime.h"
#include "base/json.h"
#include "policy/memo.h"
#include "policy/policy.h"
#include "store/include.h"
#include "store/resource.h"

static void set(char *dst, size_t cap, const char *prefix, const char *s)
{
    snprintf(dst, cap, "%s%s", prefix, s ? s : "");
}

/* Reads PractitionerRole/id: its organisation and role codes. */
static sv_err read_role(sv_db *db, const char *id, sv_access *a, int *ret_mask, sv_buf *reterr)
{
    *ret_mask = 0;
    sv_stored s;
    memset(&s, 0, sizeof(s));
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_store_current(db, "PractitionerRole", id, true, &s, &err);
    if (e == SV_ERR_NOT_FOUND) {
        sv_buf_release(&err);
        return SV_OK;
    }
    if (e) {
        sv_buf_add(reterr, err.ptr, err.len);
        sv_buf_release(&err);
        return e;
    }
    sv_buf_release(&err);
    json_t *pr = s.json && !s.deleted ? sv_json_loadb(s.json, s.json_len, 0, NULL) : NULL;
    sv_stored_clear(&s);
    const char *org =
        json_string_value(json_object_get(json_object_get(pr, "organization"), "reference"));
    if (pr && !json_is_false(json_object_get(pr, "active")) && org &&
        strncmp(org, "Organization/", 13) == 0 && strlen(org) < sizeof(a->organisation)) {
        strcpy(a->organisation, org);
        size_t i, k;
        const json_t *code, *coding;
        json_array_foreach(json_object_get(pr, "code"), i, code)
        {
            json_array_foreach(json_object_get(code, "coding"), k, coding)
            {
                const char *system = json_string_value(json_object_get(coding, "system"));
                const char *c = json_string_value(json_object_get(coding, "code"));
                if (!system || !c || strcmp(system, SV_POLICY_ROLE_SYSTEM) != 0)
                    continue;
                int m = sv_policy_role_mask(c);
                if (m && !a->role[0] && strlen(c) < sizeof(a->role))
                    strcpy(a->role, c);
                *ret_mask |= m;
            }
        }
    }
    json_decref(pr);
    return SV_OK;
}

/* The practitioner's role (organisation, role code, mask) and break-the-glass end,
 * through the memo when it has them. */
static sv_err practitioner(sv_db *db, sv_policy_memo *m, const sv_policy_who *who, sv_access *a,
                           int *ret_mask, sv_buf *reterr)
{
    uint64_t version = sv__policy_memo_version(m, db);
    const char *role_id = who->practitioner_role;
    if (role_id && *role_id && !sv__policy_memo_role(m, version, role_id, a, ret_mask)) {
        sv_err e = read_role(db, role_id, a, ret_mask, reterr);
        if (e)
            return e;
        sv__policy_memo_role_keep(m, version, role_id, a, *ret_mask);
    }
    if (!sv__policy_memo_btg(m, version, a->holder2, &a->btg_until)) {
        /* On failure every audit record asks the grants table itself. */
        if (sv_access_btg_until(db, a->holder2, &a->btg_until, NULL) != SV_OK)
            a->btg_until = SV_ACCESS_FOREVER;
        else
            sv__policy_memo_btg_keep(m, version, a->holder2, a->btg_until);
    }
    return SV_OK;
}

sv_err sv_policy_access(sv_db *db, const sv_policy_who *who, int64_t now, sv_access *ret,
                        sv_buf *reterr)
{
    return sv_policy_access_memo(db, NULL, who, now, ret, reterr);
}

sv_err sv_policy_access_memo(sv_db *db, sv_policy_memo *m, const sv_policy_who *who, int64_t now,
                             sv_access *ret, sv_buf *reterr)
{
    memset(ret, 0, sizeof(*ret));
    ret->kind = who->kind;
    ret->btg_until = SV_ACCESS_NEVER;
    set(ret->username, sizeof(ret->username), "", who->username);
    int mask = 0;
    /* "-" holds no grant: such a filter sees only resources outside compartments. */
    set(ret->holder1, sizeof(ret->holder1), "-", NULL);
    switch (who->kind) {
    case SV_POLICY_INTERNAL:
    case SV_POLICY_SYSTEM:
        ret->enforced = false;
        break;
    case SV_POLICY_PRACTITIONER: {
        ret->enforced = true;
        set(ret->holder2, sizeof(ret->holder2), "user:", who->username);
        sv_err e = practitioner(db, m, who, ret, &mask, reterr);
        if (e)
            return e;
        if (ret->organisation[0])
            set(ret->holder1, sizeof(ret->holder1), "", ret->organisation);
        break;
    }
    case SV_POLICY_CITIZEN:
        ret->enforced = true;
        set(ret->patient, sizeof(ret->patient), "", who->patient);
        if (who->patient && *who->patient) {
            set(ret->holder1, sizeof(ret->holder1), "Patient/", who->patient);
            mask = SV_CAT_ALL;
        }
        break;
    case SV_POLICY_RELATIVE:
        ret->enforced = true;
        set(ret->related_person, sizeof(ret->related_person), "", who->related_person);
        if (who->related_person && *who->related_person) {
            set(ret->holder1, sizeof(ret->holder1), "RelatedPerson/", who->related_person);
            mask = SV_CAT_ALL;
        }
        break;
    case SV_POLICY_ADMIN:
        ret->enforced = true;
        break;
    }
    if (!ret->holder2[0])
        set(ret->holder2, sizeof(ret->holder2), "", ret->holder1);
    ret->filter.holder1 = ret->holder1;
    ret->filter.holder2 = ret->holder2;
    ret->filter.now = now;
    ret->filter.mask = mask;
    return SV_OK;
}

const sv_access_filter *sv_policy_filter(const sv_access *a)
{
    return a && a->enforced ? &a->filter : NULL;
}

const char *sv_policy_purpose(sv_db *db, const sv_access *a, const char *citizen, const char *dflt)
{
    if (!a || a->kind != SV_POLICY_PRACTITIONER || !citizen || !*citizen)
        return dflt;
    int64_t now = sv_clock_now_ms();
    if (now >= a->btg_until) /* no grant of theirs was live after this */
        return dflt;
    bool live = false;
    sv_access_btg_live(db, citizen, a->holder2, now, &live, NULL);
    return live ? "ETREAT" : dflt;
}

/* ---- writes ------------------------------------------------------------------------ */

static sv_err refuse(sv_buf *reterr, const char *why)
{
    sv_buf_adds(reterr, why);
    return SV_ERR_FORBIDDEN;
}

static bool ref_is(const json_t *ref_holder, const char *key, const char *value)
{
    const char *r =
        json_string_value(json_object_get(json_object_get(ref_holder, key), "reference"));
    return r && value && *value && strcmp(r, value) == 0;
}

/* An admission at one's own organisation: the write that makes the relationship. */
static bool own_admission(const sv_access *a, const char *type, const json_t *resource)
{
    if (!resource || !a->organisation[0])
        return false;
    if (strcmp(type, "Encounter") == 0)
        return ref_is(resource, "serviceProvider", a->organisation);
    if (strcmp(type, "EpisodeOfCare") == 0)
        return ref_is(resource, "managingOrganization", a->organisation);
    return false;
}

static bool one_of(const char *type, const char *const *types)
{
    for (; *types; types++)
        if (strcmp(type, *types) == 0)
            return true;
    return false;
}

/* A Provenance every agent of which is the citizen: the citizen attests for
 * themselves (agreement to their plan, docs/coordination.md). */
static bool own_attestation(const sv_access *a, const char *type, const json_t *resource)
{
    if (strcmp(type, "Provenance") != 0 || !resource || !a->patient[0])
        return false;
    const json_t *agents = json_object_get(resource, "agent");
    if (!json_array_size(agents))
        return false;
    size_t i;
    const json_t *agent;
    json_array_foreach(agents, i, agent)
    {
        const char *who =
            json_string_value(json_object_get(json_object_get(agent, "who"), "reference"));
        if (!who || strncmp(who, "Patient/", 8) != 0 || strcmp(who + 8, a->patient) != 0)
            return false;
    }
    return true;
}

sv_err sv_policy_check_write(sv_db *db, const sv_access *a, const char *type, bool creating,
                             const json_t *resource, int category, const sv_index_rows *rows,
                             sv_buf *reterr)
{
    if (!a || !a->enforced)
        return SV_OK;
    size_t npatients = 0;
    for (size_t i = 0; rows && i < rows->len; i++)
        if (rows->rows[i].kind == SV_INDEX_REFERENCE &&
            strcmp(rows->rows[i].param, "_compartment") == 0)
            npatients++;
    if (a->kind == SV_POLICY_ADMIN)
        return category == 0 ? SV_OK : refuse(reterr, "administrators do not write citizens' data");
    if (category == 0)
        return refuse(reterr, "directory resources are written by administrators and systems");
    if (a->kind == SV_POLICY_CITIZEN) {
        static const char *const mine[] = {"Consent", "Communication", "QuestionnaireResponse",
                                           "Goal", NULL};
        if (!one_of(type, mine) && !own_attestation(a, type, resource))
            return refuse(reterr, "a citizen writes only Consent, Communication,"
                                  " QuestionnaireResponse, Goal and Provenance given by"
                                  " themselves");
    } else if (a->kind == SV_POLICY_RELATIVE) {
        if (strcmp(type, "Communication") != 0)
            return refuse(reterr, "a relative writes only Communication");
        category = SV_CAT_COORDINATION;
    } else if (a->kind == SV_POLICY_PRACTITIONER) {
        if (creating && strcmp(type, "Patient") == 0)
            return SV_OK;
        if (own_admission(a, type, resource))
            return SV_OK;
    }
    if (npatients == 0)
        return a->kind == SV_POLICY_PRACTITIONER
                   ? SV_OK
                   : refuse(reterr, "this must be about the citizen the grant is for");
    for (size_t i = 0; rows && i < rows->len; i++) {
        const sv_index_row *row = &rows->rows[i];
        if (row->kind != SV_INDEX_REFERENCE || strcmp(row->param, "_compartment") != 0)
            continue;
        bool ok = false;
        sv_err e = sv_access_patient_allows(db, &a->filter, row->value, category, &ok, reterr);
        if (e)
            return e;
        if (!ok)
            return refuse(reterr, "no care relationship, consent or role allows this write");
    }
    return SV_OK;
}

/* ---- which citizens' grants a write touches ----------------------------------------- */

void sv_policy_patients_clear(sv_policy_patients *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->len; i++)
        free(p->ids[i]);
    free(p->ids);
    memset(p, 0, sizeof(*p));
}

void sv_policy_patients_add(void *ctx, const char *patient)
{
    sv_policy_patients *p = ctx;
    for (size_t i = 0; i < p->len; i++)
        if (strcmp(p->ids[i], patient) == 0)
            return;
    if (p->len == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 8;
        p->ids = realloc(p->ids, p->cap * sizeof(*p->ids));
        if (!p->ids)
            abort();
    }
    p->ids[p->len++] = strdup(patient);
}

bool sv_policy_type_grants(const char *type)
{
    static const char *const types[] = {"Patient", "CareTeam",         "Encounter", "EpisodeOfCare",
                                        "Consent", "PractitionerRole", NULL};
    return type && one_of(type, types);
}

typedef struct referrer_ctx {
    sv_policy_patients *list;
    const char *param; /* the patient reference of the referrer */
} referrer_ctx;

static bool on_referrer(void *ctx, int64_t rid, const sv_stored *s)
{
    (void)rid;
    referrer_ctx *r = ctx;
    if (strcmp(s->type, "Patient") == 0) {
        sv_policy_patients_add(r->list, s->id);
        return true;
    }
    json_t *j = s->json ? sv_json_loadb(s->json, s->json_len, 0, NULL) : NULL;
    const char *ref = json_string_value(json_object_get(json_object_get(j, r->param), "reference"));
    if (ref && strncmp(ref, "Patient/", 8) == 0 && ref[8])
        sv_policy_patients_add(r->list, ref + 8);
    json_decref(j);
    return true;
}

sv_err sv_policy_patients_of(sv_db *db, const char *type, const char *id, sv_policy_patients *list,
                             sv_buf *reterr)
{
    if (!sv_policy_type_grants(type))
        return SV_OK;
    if (strcmp(type, "Patient") == 0) {
        sv_policy_patients_add(list, id);
        return SV_OK;
    }
    if (strcmp(type, "PractitionerRole") == 0) {
        referrer_ctx ct = {list, "subject"};
        sv_err e = sv_store_refs_to(db, NULL, "PractitionerRole", id, "participant", "CareTeam",
                                    10000, on_referrer, &ct, reterr);
        if (!e)
            e = sv_store_refs_to(db, NULL, "PractitionerRole", id, "general-practitioner",
                                 "Patient", 10000, on_referrer, &ct, reterr);
        return e;
    }
    return sv_access_compartments(db, type, id, sv_policy_patients_add, list, reterr);
}

/* A holder's grants for one patient: (mask, from, to) rows. */
typedef struct grant_set {
    struct {
        int mask;
        int64_t from, to;
    } v[64];
    size_t len;
    bool overflow;
} grant_set;

static void keep_grant(void *ctx, int mask, int64_t from, int64_t to)
{
    grant_set *g = ctx;
    if (g->len == sizeof(g->v) / sizeof(g->v[0])) {
        g->overflow = true;
        return;
    }
    g->v[g->len].mask = mask;
    g->v[g->len].from = from;
    g->v[g->len].to = to;
    g->len++;
}

static int mask_at(const grant_set *g, int64_t t)
{
    int m = 0;
    for (size_t i = 0; i < g->len; i++)
        if (g->v[i].from <= t && t < g->v[i].to)
            m |= g->v[i].mask;
    return m;
}

/* Whether after allows, at some time, a category before did not: checked at every
 * start of an after row and every end of a before row inside it. */
static bool widens(const grant_set *before, const grant_set *after)
{
    if (after->overflow || before->overflow)
        return after->len > 0;
    for (size_t i = 0; i < after->len; i++) {
        int64_t from = after->v[i].from, to = after->v[i].to;
        if (after->v[i].mask & ~mask_at(before, from))
            return true;
        for (size_t k = 0; k < before->len; k++) {
            int64_t p = before->v[k].to;
            if (p > from && p < to && (after->v[i].mask & ~mask_at(before, p)))
                return true;
        }
    }
    return false;
}

/* The writes that are the relationship itself may widen the writer's grants. */
static bool may_widen(const sv_access *a, const char *type, const json_t *resource, bool creating)
{
    if (!a || a->kind != SV_POLICY_PRACTITIONER)
        return true;
    if (creating && strcmp(type, "Patient") == 0)
        return true;
    return own_admission(a, type, resource);
}

sv_err sv_policy_after_write(sv_db *db, const sv_access *a, const char *type, const char *id,
                             const json_t *resource, bool creating,
                             const sv_policy_patients *before, sv_buf *reterr)
{
    if (!sv_policy_type_grants(type))
        return SV_OK;
    bool guard = !may_widen(a, type, resource, creating);
    sv_policy_patients all = {0};
    for (size_t i = 0; before && i < before->len; i++)
        sv_policy_patients_add(&all, before->ids[i]);
    sv_err e = sv_policy_patients_of(db, type, id, &all, reterr);
    for (size_t i = 0; !e && i < all.len; i++) {
        grant_set was = {0}, now = {0};
        if (guard)
            e = sv_access_grants_of(db, all.ids[i], a->holder1, a->holder2, keep_grant, &was,
                                    reterr);
        /* a Patient just written is its own citizen: derive from it as it is */
        const json_t *known =
            resource && strcmp(type, "Patient") == 0 && strcmp(all.ids[i], id) == 0 ? resource
                                                                                    : NULL;
        if (!e)
            e = sv_policy_derive_known(db, all.ids[i], known, reterr);
        if (!e && guard)
            e = sv_access_grants_of(db, all.ids[i], a->holder1, a->holder2, keep_grant, &now,
                                    reterr);
        if (!e && guard && widens(&was, &now))
            e = refuse(reterr, "this write would widen your own organisation's access to the"
                               " citizen; it must come from the citizen or another party");
    }
    sv_policy_patients_clear(&all);
    return e;
}
