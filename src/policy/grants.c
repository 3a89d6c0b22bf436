/*
 * grants.c - see policy.h: deriving a citizen's access_grant rows from the
 * resources that make up care relationships and consent (docs/access.md).
 *
 * The facts (relationships) and rules (consents) each hold over a period; the
 * grants are computed per holder over the elementary intervals between all
 * their period ends, so that a grant row is one [from, to) with one mask and a
 * query needs only "a live row with a shared bit".
 */
#include <stdlib.h>
#include <string.h>

#include "base/datetime.h"
#include "base/json.h"
#include "policy/policy.h"
#include "store/include.h"
#include "store/resource.h"

#define MAX_LOADED 10000 /* resources of one kind per citizen read for the derivation */

typedef struct fact {
    char holder[SV_POLICY_NAME_MAX];
    int mask;
    int64_t from, to;
} fact;

typedef struct rule {
    bool deny;
    char **actors; /* holders; none: everyone */
    size_t nactors;
    int mask;         /* categories named; 0: none named */
    int64_t from, to; /* [from, to) */
} rule;

typedef struct derivation {
    sv_db *db;
    const char *patient;
    fact *facts;
    size_t nfacts, capfacts;
    rule *rules;
    size_t nrules, caprules;
    sv_err err;
    sv_buf *reterr;
} derivation;

static void *grow(void *p, size_t *cap, size_t len, size_t size)
{
    if (len < *cap)
        return p;
    *cap = *cap ? *cap * 2 : 16;
    p = realloc(p, *cap * size);
    if (!p)
        abort();
    return p;
}

static void add_fact(derivation *d, const char *holder, int mask, int64_t from, int64_t to)
{
    if (!holder || !*holder || from >= to || strlen(holder) >= SV_POLICY_NAME_MAX)
        return;
    d->facts = grow(d->facts, &d->capfacts, d->nfacts, sizeof(*d->facts));
    fact *f = &d->facts[d->nfacts++];
    strcpy(f->holder, holder);
    f->mask = mask;
    f->from = from;
    f->to = to;
}

/* ---- reading FHIR values ---------------------------------------------------------- */

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* "Type/id" of a relative reference when it is of type; else NULL. */
static const char *ref_of_type(const json_t *ref, const char *type)
{
    const char *r = str(ref, "reference");
    size_t n = strlen(type);
    if (!r || strncmp(r, type, n) != 0 || r[n] != '/' || !r[n + 1] || strchr(r + n + 1, '/'))
        return NULL;
    return r;
}

/* The period [start, end) of a FHIR Period (end: the last ms of its precision + 1). */
static void period_of(const json_t *period, int64_t *from, int64_t *to)
{
    *from = SV_ACCESS_NEVER;
    *to = SV_ACCESS_FOREVER;
    sv_datetime_range r;
    const char *s = str(period, "start");
    if (s && sv_datetime_parse(s, strlen(s), &r))
        *from = r.low;
    const char *e = str(period, "end");
    if (e && sv_datetime_parse(e, strlen(e), &r))
        *to = r.high + 1;
}

static void intersect(int64_t *from, int64_t *to, const json_t *period)
{
    int64_t f, t;
    period_of(period, &f, &t);
    if (f > *from)
        *from = f;
    if (t < *to)
        *to = t;
}

/* The organisation ("Organization/O") of a PractitionerRole reference, into out. */
static bool role_organisation(derivation *d, const char *role_ref, char out[SV_POLICY_NAME_MAX])
{
    sv_stored s;
    memset(&s, 0, sizeof(s));
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_store_current(d->db, "PractitionerRole", role_ref + strlen("PractitionerRole/"),
                                true, &s, &err);
    sv_buf_release(&err);
    if (e || s.deleted || !s.json) {
        sv_stored_clear(&s);
        return false;
    }
    json_t *pr = sv_json_loadb(s.json, s.json_len, 0, NULL);
    sv_stored_clear(&s);
    const char *org = ref_of_type(json_object_get(pr, "organization"), "Organization");
    bool ok =
        org && strlen(org) < SV_POLICY_NAME_MAX && !json_is_false(json_object_get(pr, "active"));
    if (ok)
        strcpy(out, org);
    json_decref(pr);
    return ok;
}

/* The holder of a participant/GP reference: an Organization, or a PractitionerRole's. */
static bool holder_of(derivation *d, const json_t *ref, char out[SV_POLICY_NAME_MAX])
{
    const char *org = ref_of_type(ref, "Organization");
    if (org && strlen(org) < SV_POLICY_NAME_MAX) {
        strcpy(out, org);
        return true;
    }
    const char *role = ref_of_type(ref, "PractitionerRole");
    return role && role_organisation(d, role, out);
}

/* ---- the sources ------------------------------------------------------------------- */

static void from_patient(derivation *d, const json_t *p)
{
    char holder[SV_POLICY_NAME_MAX];
    const char *home = ref_of_type(json_object_get(p, "managingOrganization"), "Organization");
    if (home)
        add_fact(d, home, SV_CAT_COORDINATION, SV_ACCESS_NEVER, SV_ACCESS_FOREVER);
    size_t i;
    const json_t *gp;
    json_array_foreach(json_object_get(p, "generalPractitioner"), i, gp)
    {
        if (holder_of(d, gp, holder))
            add_fact(d, holder, SV_CAT_COORDINATION, SV_ACCESS_NEVER, SV_ACCESS_FOREVER);
    }
}

static void from_care_team(derivation *d, const json_t *ct)
{
    const char *status = str(ct, "status");
    if (!status || strcmp(status, "active") != 0)
        return;
    int64_t from0, to0;
    period_of(json_object_get(ct, "period"), &from0, &to0);
    size_t i;
    const json_t *part;
    json_array_foreach(json_object_get(ct, "participant"), i, part)
    {
        int64_t from = from0, to = to0;
        intersect(&from, &to, json_object_get(part, "period"));
        char holder[SV_POLICY_NAME_MAX];
        if (holder_of(d, json_object_get(part, "member"), holder))
            add_fact(d, holder, SV_CAT_ALL, from, to);
        const char *org = ref_of_type(json_object_get(part, "onBehalfOf"), "Organization");
        if (org)
            add_fact(d, org, SV_CAT_ALL, from, to);
    }
}

static bool encounter_live(const json_t *enc)
{
    static const char *const live[] = {"arrived", "triaged", "in-progress", "onleave"};
    const char *status = str(enc, "status");
    bool ok = false;
    for (size_t i = 0; status && i < sizeof(live) / sizeof(live[0]); i++)
        ok = ok || strcmp(status, live[i]) == 0;
    return ok;
}

static void from_encounter(derivation *d, const json_t *enc)
{
    bool ok = encounter_live(enc);
    const char *org = ref_of_type(json_object_get(enc, "serviceProvider"), "Organization");
    if (ok && org)
        add_fact(d, org, SV_CAT_ALL, SV_ACCESS_NEVER, SV_ACCESS_FOREVER);
}

static void from_episode(derivation *d, const json_t *eoc)
{
    const char *status = str(eoc, "status");
    const char *org = ref_of_type(json_object_get(eoc, "managingOrganization"), "Organization");
    if (!status || strcmp(status, "active") != 0 || !org)
        return;
    int64_t from, to;
    period_of(json_object_get(eoc, "period"), &from, &to);
    add_fact(d, org, SV_CAT_ALL, from, to);
}

static int labels_mask(const json_t *labels)
{
    static const char *const names[] = {"coordination", "medication", "clinical", "social",
                                        "sensitive"};
    int mask = 0;
    size_t i;
    const json_t *c;
    json_array_foreach(labels, i, c)
    {
        const char *system = str(c, "system"), *code = str(c, "code");
        if (!system || !code || strcmp(system, SV_POLICY_CATEGORY_SYSTEM) != 0)
            continue;
        for (int k = 0; k < 5; k++)
            if (strcmp(code, names[k]) == 0)
                mask |= 1 << k;
    }
    return mask;
}

static void from_consent(derivation *d, const json_t *c)
{
    const char *status = str(c, "status");
    if (!status || strcmp(status, "active") != 0)
        return;
    const json_t *prov = json_object_get(c, "provision");
    const char *type = str(prov, "type");
    d->rules = grow(d->rules, &d->caprules, d->nrules, sizeof(*d->rules));
    rule *r = &d->rules[d->nrules++];
    memset(r, 0, sizeof(*r));
    r->deny = type && strcmp(type, "deny") == 0;
    r->mask = labels_mask(json_object_get(prov, "securityLabel"));
    period_of(json_object_get(prov, "period"), &r->from, &r->to);
    const json_t *actors = json_object_get(prov, "actor");
    r->actors = calloc(json_array_size(actors) + 1, sizeof(char *));
    if (!r->actors)
        abort();
    size_t i;
    const json_t *a;
    json_array_foreach(actors, i, a)
    {
        const json_t *ref = json_object_get(a, "reference");
        const char *h = ref_of_type(ref, "Organization");
        if (!h)
            h = ref_of_type(ref, "RelatedPerson");
        if (!h) /* an actor we cannot name: the rule is about someone else */
            h = "-";
        r->actors[r->nactors++] = strdup(h);
    }
}

/* What the derivation reads of each type (from_patient, role_organisation and the
 * from_ functions above; the reference of sources[] below): kept next to them. */
static bool same_members(const json_t *old, const json_t *cur, const char *const *keys)
{
    for (; *keys; keys++) {
        const json_t *a = json_object_get(old, *keys), *b = json_object_get(cur, *keys);
        if ((a || b) && !(a && b && json_equal(a, b)))
            return false;
    }
    return true;
}

bool sv_policy_grant_inputs_same(const char *type, const json_t *old, const json_t *cur)
{
    static const char *const patient[] = {"managingOrganization", "generalPractitioner", NULL};
    static const char *const role[] = {"organization", "active", NULL};
    static const char *const care_team[] = {"subject", "status", "period", "participant", NULL};
    static const char *const encounter[] = {"subject", "serviceProvider", NULL};
    static const char *const episode[] = {"patient", "status", "managingOrganization", "period",
                                          NULL};
    static const char *const consent[] = {"patient", "status", "provision", NULL};
    if (!type || !json_is_object(old) || !json_is_object(cur))
        return false;
    if (strcmp(type, "Patient") == 0)
        return same_members(old, cur, patient);
    if (strcmp(type, "PractitionerRole") == 0)
        return same_members(old, cur, role);
    if (strcmp(type, "CareTeam") == 0)
        return same_members(old, cur, care_team);
    if (strcmp(type, "Encounter") == 0) /* its status counts only as live or not */
        return encounter_live(old) == encounter_live(cur) && same_members(old, cur, encounter);
    if (strcmp(type, "EpisodeOfCare") == 0)
        return same_members(old, cur, episode);
    if (strcmp(type, "Consent") == 0)
        return same_members(old, cur, consent);
    return false;
}

typedef void (*source_fn)(derivation *d, const json_t *resource);

/* The resources that make up the citizen's relationships and consents: who refers to
 * the Patient through which parameter, and what each says. */
static const sv_store_ref_source sources[] = {
    {"CareTeam", "subject"},
    {"Encounter", "subject"},
    {"EpisodeOfCare", "patient"},
    {"Consent", "patient"},
};
static const source_fn source_fns[] = {from_care_team, from_encounter, from_episode, from_consent};

static bool on_resource(void *ctx, size_t source, int64_t rid, const sv_stored *s)
{
    (void)rid;
    derivation *d = ctx;
    /* A source the transaction has just written (a message's stay) is in its memo
     * as a tree: that version's text is not parsed again. */
    json_t *j = NULL;
    int64_t version = 0;
    if (!sv_store_recent_get(d->db, s->type, s->id, &j, &version) || version != s->version) {
        json_decref(j);
        j = s->json ? sv_json_loadb(s->json, s->json_len, 0, NULL) : NULL;
    }
    if (j)
        source_fns[source](d, j);
    json_decref(j);
    return true;
}

/* One statement for all the sources; what they add does not depend on their order. */
static void load(derivation *d)
{
    _Static_assert(sizeof(sources) / sizeof(sources[0]) <= SV_STORE_REF_SOURCES_MAX,
                   "one statement reads every source");
    d->err = sv_store_refs_to_sources(d->db, "Patient", d->patient, sources,
                                      sizeof(sources) / sizeof(sources[0]), MAX_LOADED, on_resource,
                                      d, d->reterr);
}

/* ---- from facts and rules to grants ------------------------------------------------ */

static bool rule_names(const rule *r, const char *holder, bool everyone_counts)
{
    if (r->nactors == 0)
        return everyone_counts;
    for (size_t i = 0; i < r->nactors; i++)
        if (strcmp(r->actors[i], holder) == 0)
            return true;
    return false;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The mask of holder at time t. */
static int mask_at(const derivation *d, const char *holder, bool relative, int64_t t)
{
    int rel = 0, permit = 0, deny = 0;
    for (size_t i = 0; i < d->nfacts; i++)
        if (strcmp(d->facts[i].holder, holder) == 0 && d->facts[i].from <= t && t < d->facts[i].to)
            rel |= d->facts[i].mask;
    for (size_t i = 0; i < d->nrules; i++) {
        const rule *r = &d->rules[i];
        if (!(r->from <= t && t < r->to) || !rule_names(r, holder, !relative))
            continue;
        if (r->deny)
            deny |= r->mask ? r->mask : SV_CAT_ALL;
        else if (relative) /* a proxy grant without categories: coordination */
            permit |= r->mask ? r->mask : SV_CAT_COORDINATION;
        else
            permit |= r->mask ? r->mask : SV_CAT_ALL;
    }
    if (relative)
        return permit & ~deny;
    int consent = SV_CAT_ALL & ~deny & ~((SV_CAT_SOCIAL | SV_CAT_SENSITIVE) & ~permit);
    return rel & consent;
}

typedef struct grants {
    sv_access_grant *v;
    size_t len, cap;
    const char **holders; /* borrowed: the derivation's facts and rules, or self */
    size_t nholders, capholders;
} grants;

static void grants_for(const derivation *d, const char *holder, bool relative, grants *out)
{
    size_t cap = 2 + 2 * (d->nfacts + d->nrules), n = 0;
    int64_t small[64];
    int64_t *pts = cap <= sizeof(small) / sizeof(small[0]) ? small : malloc(cap * sizeof(*pts));
    if (!pts)
        abort();
    pts[n++] = SV_ACCESS_NEVER;
    for (size_t i = 0; i < d->nfacts; i++)
        if (strcmp(d->facts[i].holder, holder) == 0) {
            pts[n++] = d->facts[i].from;
            pts[n++] = d->facts[i].to;
        }
    for (size_t i = 0; i < d->nrules; i++)
        if (rule_names(&d->rules[i], holder, !relative)) {
            pts[n++] = d->rules[i].from;
            pts[n++] = d->rules[i].to;
        }
    qsort(pts, n, sizeof(*pts), cmp_i64);
    out->holders = grow(out->holders, &out->capholders, out->nholders, sizeof(char *));
    out->holders[out->nholders++] = holder;
    const char *h = holder;
    int prev = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && pts[i] == pts[i - 1])
            continue;
        if (pts[i] == SV_ACCESS_FOREVER)
            break;
        int m = mask_at(d, holder, relative, pts[i]);
        if (m == prev) /* the same mask goes on */
            continue;
        if (prev) /* close this holder's open grant */
            out->v[out->len - 1].to = pts[i];
        if (m) {
            out->v = grow(out->v, &out->cap, out->len, sizeof(*out->v));
            out->v[out->len++] = (sv_access_grant){h, m, pts[i], SV_ACCESS_FOREVER};
        }
        prev = m;
    }
    if (pts != small)
        free(pts);
}

static bool seen_holder(const grants *g, const char *holder)
{
    for (size_t i = 0; i < g->nholders; i++)
        if (strcmp(g->holders[i], holder) == 0)
            return true;
    return false;
}

sv_err sv_policy_derive(sv_db *db, const char *patient, sv_buf *reterr)
{
    return sv_policy_derive_known(db, patient, NULL, reterr);
}

sv_err sv_policy_derive_known(sv_db *db, const char *patient, const json_t *current, sv_buf *reterr)
{
    derivation d = {.db = db, .patient = patient, .reterr = reterr};
    grants g = {0};
    bool exists = current != NULL;
    if (current) {
        from_patient(&d, current);
    } else {
        /* through the transaction's memo: a message's parties read it just before */
        json_t *p = NULL;
        sv_err e = sv_store_current_json(db, "Patient", patient, &p, NULL, NULL);
        exists = !e && p;
        if (exists)
            from_patient(&d, p);
        json_decref(p);
        if (e && e != SV_ERR_NOT_FOUND) {
            d.err = e;
            goto out;
        }
    }
    load(&d);
    if (d.err)
        goto out;
    char self[SV_POLICY_NAME_MAX] = "Patient/";
    size_t plen = strlen(patient); /* cut as a snprintf would */
    if (plen > sizeof(self) - sizeof("Patient/"))
        plen = sizeof(self) - sizeof("Patient/");
    memcpy(self + strlen("Patient/"), patient, plen);
    self[strlen("Patient/") + plen] = '\0';
    if (exists) {
        g.holders = grow(g.holders, &g.capholders, g.nholders, sizeof(char *));
        g.holders[g.nholders++] = self;
        g.v = grow(g.v, &g.cap, g.len, sizeof(*g.v));
        g.v[g.len++] =
            (sv_access_grant){g.holders[0], SV_CAT_ALL, SV_ACCESS_NEVER, SV_ACCESS_FOREVER};
    }
    for (size_t i = 0; i < d.nfacts; i++)
        if (!seen_holder(&g, d.facts[i].holder))
            grants_for(&d, d.facts[i].holder, false, &g);
    for (size_t i = 0; i < d.nrules; i++)
        for (size_t k = 0; k < d.rules[i].nactors; k++) {
            const char *a = d.rules[i].actors[k];
            if (strncmp(a, "RelatedPerson/", 14) == 0 && !seen_holder(&g, a))
                grants_for(&d, a, true, &g);
        }
    d.err = sv_access_grants_replace(db, patient, g.v, g.len, reterr);
out:
    for (size_t i = 0; i < d.nrules; i++) {
        for (size_t k = 0; k < d.rules[i].nactors; k++)
            free(d.rules[i].actors[k]);
        free(d.rules[i].actors);
    }
    free(d.rules);
    free(d.facts);
    free(g.holders);
    free(g.v);
    return d.err;
}
