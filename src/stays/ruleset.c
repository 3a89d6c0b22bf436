/*
 * ruleset.c - loading and checking the rulesets (data/rulesets, one JSON file each), and
 * choosing one for a stay.  A ruleset is checked whole when it is loaded, so a
 * typo in a rule stops the server at start rather than silently dropping a
 * legal deadline.  "extends" takes the parent's sources, payment and rules; a
 * rule with the parent's id replaces it.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stays/internal.h"
#include "store/resource.h"

static const char *const events[] = {
    "encounter.admitted",
    "encounter.leave-started",
    "encounter.leave-ended",
    "encounter.discharge-ready",
    "encounter.discharge-ready-withdrawn",
    "encounter.discharged",
    "patient.died",
    "encounter.corrected",
    "encounter.cancelled",
    "plan.sip-called",
    "team.coordinator-appointed",
};
static const char *const parties[] = {"home-municipality", "gp", "coordinator", "department",
                                      "coordinator-or-gp"};
static const char *const conditions[] = {"class", "missing", "present",
                                         "flag",  "plan",    "disposition"};

static bool in(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; s && i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}
#define IN(s, list) in((s), (list), sizeof(list) / sizeof((list)[0]))

typedef struct check {
    const char *file;
    sv_buf *reterr;
    const json_t *sources;
    sv_err e;
} check;

static void bad(check *c, const char *path, const char *what)
{
    if (!c->e && c->reterr)
        sv_buf_addf(c->reterr, "ruleset %s: %s: %s", c->file, path, what);
    c->e = SV_ERR_INVALID;
}

/* A sourced value: {"value"?, "source": id of sources, "confirmed": bool, "note"?}. */
static void check_sourced(check *c, const json_t *v, const char *path, bool needs_value)
{
    if (!json_is_object(v)) {
        bad(c, path, "must be an object with source and confirmed");
        return;
    }
    const char *src = json_string_value(json_object_get(v, "source"));
    if (!src || !json_object_get(c->sources, src))
        bad(c, path, "needs a source named in sources");
    if (!json_is_boolean(json_object_get(v, "confirmed")))
        bad(c, path, "needs confirmed: true or false");
    if (needs_value && !json_object_get(v, "value"))
        bad(c, path, "needs a value");
}

static void check_when(check *c, const json_t *when, const char *path)
{
    if (!when)
        return;
    if (!json_is_object(when)) {
        bad(c, path, "when must be an object");
        return;
    }
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)when, k, v)
    {
        if (!IN(k, conditions))
            bad(c, path, "unknown condition");
    }
}

static void check_deadline(check *c, const json_t *d, const char *path)
{
    check_sourced(c, d, path, true);
    const char *v = json_string_value(json_object_get(d, "value"));
    sv_deadline_spec spec;
    if (!v || (strcmp(v, "payment") != 0 && sv_deadline_parse(v, strlen(v), &spec, NULL)))
        bad(c, path, "value must be a deadline such as 24h, 3d, 3wd, 7d-eod, or payment");
}

static void check_codes(check *c, const json_t *list, const char *path)
{
    size_t i;
    const json_t *v;
    if (list && !json_is_array(list))
        bad(c, path, "must be an array of task codes");
    json_array_foreach(list, i, v) if (!json_is_string(v)) bad(c, path, "must hold strings");
}

static void check_rule(check *c, const json_t *rule, size_t index)
{
    char path[96];
    snprintf(path, sizeof(path), "rules[%zu]", index);
    static const char *const keys[] = {"id",    "title",    "on",     "when",   "notify",
                                       "tasks", "complete", "cancel", "source", "note"};
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)rule, k, v) if (!IN(k, keys)) bad(c, path, "unknown key");
    if (!json_is_string(json_object_get(rule, "id")))
        bad(c, path, "needs an id");
    const json_t *on = json_object_get(rule, "on");
    if (json_is_string(on)) {
        if (!IN(json_string_value(on), events))
            bad(c, path, "on: unknown event");
    } else if (json_is_array(on) && json_array_size(on) > 0) {
        size_t i;
        json_array_foreach(on, i, v) if (!IN(json_string_value(v), events))
            bad(c, path, "on: unknown event");
    } else {
        bad(c, path, "on must name an event or a list of events");
    }
    check_when(c, json_object_get(rule, "when"), path);
    const json_t *notify = json_object_get(rule, "notify");
    if (notify) {
        check_sourced(c, notify, path, false);
        size_t i;
        json_array_foreach(json_object_get(notify, "parties"), i,
                           v) if (!IN(json_string_value(v), parties))
            bad(c, path, "notify: unknown party");
    }
    const char *src = json_string_value(json_object_get(rule, "source"));
    if (src && !json_object_get(c->sources, src))
        bad(c, path, "source is not named in sources");
    if (!notify && !src && !json_object_get(rule, "tasks"))
        bad(c, path, "a rule without notify or tasks needs a source");
    check_codes(c, json_object_get(rule, "complete"), path);
    check_codes(c, json_object_get(rule, "cancel"), path);
    const json_t *tasks = json_object_get(rule, "tasks");
    if (tasks && !json_is_array(tasks))
        bad(c, path, "tasks must be an array");
    size_t i;
    const json_t *t;
    json_array_foreach(tasks, i, t)
    {
        char tp[128];
        snprintf(tp, sizeof(tp), "%s.tasks[%zu]", path, i);
        if (!json_is_string(json_object_get(t, "code")) ||
            !json_is_string(json_object_get(t, "title")))
            bad(c, tp, "needs code and title");
        if (!IN(json_string_value(json_object_get(t, "owner")), parties))
            bad(c, tp, "owner must be a party");
        const char *from = json_string_value(json_object_get(t, "from"));
        if (from && strcmp(from, "event") != 0 && strcmp(from, "later-of-plan-start") != 0)
            bad(c, tp, "from must be event or later-of-plan-start");
        check_when(c, json_object_get(t, "when"), tp);
        char dp[160];
        snprintf(dp, sizeof(dp), "%s.deadline", tp);
        check_deadline(c, json_object_get(t, "deadline"), dp);
    }
}

static void check_payment(check *c, const json_t *p)
{
    if (!p)
        return;
    const json_t *days = json_object_get(p, "days");
    check_sourced(c, days, "payment.days", true);
    json_int_t d = json_integer_value(json_object_get(days, "value"));
    if (!json_is_integer(json_object_get(days, "value")) || d < 0 || d > 60)
        bad(c, "payment.days", "value must be 0..60 days");
    const json_t *cut = json_object_get(p, "cutoff");
    if (cut) {
        check_sourced(c, cut, "payment.cutoff", true);
        int h, m;
        const char *v = json_string_value(json_object_get(cut, "value"));
        if (!v || sscanf(v, "%2d:%2d", &h, &m) != 2 || h < 0 || h > 23 || m < 0 || m > 59)
            bad(c, "payment.cutoff", "value must be HH:MM");
    }
    if (json_object_get(p, "requiresNotices"))
        check_sourced(c, json_object_get(p, "requiresNotices"), "payment.requiresNotices", true);
    if (json_object_get(p, "dayRate"))
        check_sourced(c, json_object_get(p, "dayRate"), "payment.dayRate", true);
}

static void ruleset_clear(sv__ruleset *r)
{
    json_decref(r->doc);
    json_decref(r->rules);
    json_decref(r->sources);
    memset(r, 0, sizeof(*r));
}

/* Builds set from doc (stolen) and its parent (already built, or NULL). */
static sv_err build(sv__ruleset *set, json_t *doc, const sv__ruleset *parent, const char *file,
                    sv_buf *reterr)
{
    check c = {.file = file, .reterr = reterr};
    set->doc = doc;
    static const char *const keys[] = {"id",   "extends", "country", "title",
                                       "note", "sources", "payment", "rules"};
    const char *k;
    const json_t *v;
    json_object_foreach(doc, k, v) if (!IN(k, keys)) bad(&c, k, "unknown key");
    const char *id = json_string_value(json_object_get(doc, "id"));
    const char *country = json_string_value(json_object_get(doc, "country"));
    if (!id || strlen(id) >= sizeof(set->id))
        bad(&c, "id", "needs an id (at most 63 characters)");
    else
        snprintf(set->id, sizeof(set->id), "%s", id);
    if (country && strcmp(country, "DK") == 0)
        set->country = SV_CAL_DK;
    else if (country && strcmp(country, "SE") == 0)
        set->country = SV_CAL_SE;
    else
        bad(&c, "country", "must be DK or SE");
    set->sources = parent ? json_deep_copy(parent->sources) : json_object();
    if (json_object_get(doc, "sources") && !json_is_object(json_object_get(doc, "sources")))
        bad(&c, "sources", "must be an object");
    json_object_update(set->sources, json_object_get(doc, "sources"));
    json_object_foreach(set->sources, k, v) if (!json_is_string(json_object_get(v, "url")) ||
                                                !json_is_string(json_object_get(v, "title")))
        bad(&c, "sources", "each source needs a title and a url");
    c.sources = set->sources;
    set->payment = json_object_get(doc, "payment");
    if (!set->payment && parent)
        set->payment = parent->payment;
    else
        check_payment(&c, set->payment);
    set->rules = parent ? json_deep_copy(parent->rules) : json_array();
    const json_t *own = json_object_get(doc, "rules");
    if (own && !json_is_array(own))
        bad(&c, "rules", "must be an array");
    size_t i;
    const json_t *rule;
    json_array_foreach(own, i, rule)
    {
        check_rule(&c, rule, i);
        const char *rid = json_string_value(json_object_get(rule, "id"));
        size_t j;
        const json_t *old;
        bool replaced = false;
        json_array_foreach(set->rules, j, old)
        {
            const char *oid = json_string_value(json_object_get(old, "id"));
            if (rid && oid && strcmp(rid, oid) == 0) {
                json_array_set(set->rules, j, (json_t *)rule);
                replaced = true;
                break;
            }
        }
        if (!replaced)
            json_array_append(set->rules, (json_t *)rule);
    }
    return c.e;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

sv_err sv_stays_load(const char *dir, sv_stays **ret, sv_buf *reterr)
{
    sv_stays *s = calloc(1, sizeof(*s));
    if (!s)
        return SV_ERR_NOMEM;
    char *names[64];
    size_t n = 0;
    DIR *d = dir ? opendir(dir) : NULL;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL && n < 64) {
        size_t len = strlen(de->d_name);
        if (len > 5 && strcmp(de->d_name + len - 5, ".json") == 0)
            names[n++] = strdup(de->d_name);
    }
    if (d)
        closedir(d);
    qsort(names, n, sizeof(names[0]), by_name);
    json_t *docs[64] = {0};
    sv_err e = SV_OK;
    for (size_t i = 0; i < n && !e; i++) {
        char path[1200];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        json_error_t jerr;
        docs[i] = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
        if (!json_is_object(docs[i])) {
            if (reterr)
                sv_buf_addf(reterr, "ruleset %s: line %d: %s", names[i], jerr.line, jerr.text);
            e = SV_ERR_INVALID;
        }
    }
    s->sets = calloc(n ? n : 1, sizeof(*s->sets));
    if (!s->sets)
        e = SV_ERR_NOMEM;
    /* Parents first: a set is built once its parent is (at most n rounds). */
    bool built[64] = {0};
    for (size_t round = 0; !e && round < n; round++) {
        for (size_t i = 0; !e && i < n; i++) {
            if (built[i])
                continue;
            const char *ext = json_string_value(json_object_get(docs[i], "extends"));
            const sv__ruleset *parent = ext ? sv__stays_ruleset(s, ext) : NULL;
            if (ext && !parent)
                continue;
            e = build(&s->sets[s->n], docs[i], parent, names[i], reterr);
            docs[i] = NULL;
            if (!e && sv__stays_ruleset(s, s->sets[s->n].id)) {
                if (reterr)
                    sv_buf_addf(reterr, "ruleset %s: id '%s' is used twice", names[i],
                                s->sets[s->n].id);
                e = SV_ERR_INVALID;
            }
            s->n++;
            built[i] = true;
        }
    }
    for (size_t i = 0; !e && i < n; i++) {
        if (!built[i]) {
            if (reterr)
                sv_buf_addf(reterr, "ruleset %s: extends an unknown ruleset", names[i]);
            e = SV_ERR_INVALID;
        }
    }
    for (size_t i = 0; i < n; i++) {
        json_decref(docs[i]);
        free(names[i]);
    }
    if (e) {
        sv_stays_free(s);
        return e;
    }
    sv__stays_hooks_init(s);
    *ret = s;
    return SV_OK;
}

void sv_stays_free(sv_stays *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        ruleset_clear(&s->sets[i]);
    free(s->sets);
    free(s);
}

size_t sv_stays_count(const sv_stays *s)
{
    return s ? s->n : 0;
}

const char *sv_stays_id(const sv_stays *s, size_t i)
{
    return s && i < s->n ? s->sets[i].id : NULL;
}

const sv__ruleset *sv__stays_ruleset(const sv_stays *s, const char *id)
{
    for (size_t i = 0; s && id && i < s->n; i++)
        if (s->sets[i].id[0] && strcmp(s->sets[i].id, id) == 0)
            return &s->sets[i];
    return NULL;
}

/* ---- choosing ------------------------------------------------------------- */

static const char *country_of(const json_t *resource)
{
    size_t i;
    const json_t *a;
    json_array_foreach(json_object_get(resource, "address"), i, a)
    {
        const char *c = json_string_value(json_object_get(a, "country"));
        if (c && strcmp(c, "DK") == 0)
            return "DK"; /* static: the resource is freed before the answer is used */
        if (c && strcmp(c, "SE") == 0)
            return "SE";
    }
    json_array_foreach(json_object_get(resource, "identifier"), i, a)
    {
        const char *sys = json_string_value(json_object_get(a, "system"));
        if (sys && strcmp(sys, "urn:oid:1.2.208.176.1.1") == 0) /* SOR */
            return "DK";
        if (sys && strcmp(sys, "urn:oid:1.2.752.29.4.19") == 0) /* HSA */
            return "SE";
    }
    return NULL;
}

static const sv__ruleset *by_country(const sv_stays *s, const char *country)
{
    if (!country)
        return NULL;
    return sv__stays_ruleset(s, strcmp(country, "DK") == 0 ? "dk" : "se");
}

/* The current JSON of ref ("Type/id") through the transaction's memo: a batch of
 * messages from one department asks for the same Organizations again.  Shared:
 * read only.  NULL when missing, deleted or unreadable (as sv__coord_load). */
static json_t *load_recent(sv_db *db, const char *ref)
{
    char type[64];
    const char *slash = ref ? strchr(ref, '/') : NULL;
    if (!slash || (size_t)(slash - ref) >= sizeof(type))
        return NULL;
    memcpy(type, ref, (size_t)(slash - ref));
    type[slash - ref] = '\0';
    json_t *j = NULL;
    if (sv_store_current_json(db, type, slash + 1, &j, NULL, NULL) != SV_OK)
        return NULL;
    return j;
}

const sv__ruleset *sv__stays_choose(sv_db *db, const sv_stays *s, const char *patient,
                                    const json_t *encounter)
{
    char ref[SV_COORD_REF_LEN];
    const char *country = NULL;
    const sv__ruleset *found = NULL;
    bool has = sv__coord_ref(json_object_get(encounter, "serviceProvider"), ref);
    for (int hop = 0; has && hop < 8 && !found; hop++) {
        json_t *org = load_recent(db, ref);
        if (!org)
            break;
        const json_t *ext = sv__coord_extension(org, SV_EXT_RULESET);
        const char *id = json_string_value(json_object_get(ext, "valueCode"));
        if (!id)
            id = json_string_value(json_object_get(ext, "valueString"));
        found = sv__stays_ruleset(s, id);
        if (!country)
            country = country_of(org);
        has = sv__coord_ref(json_object_get(org, "partOf"), ref);
        json_decref(org);
    }
    if (found)
        return found;
    if (country)
        return by_country(s, country);
    json_t *p = patient ? load_recent(db, patient) : NULL;
    found = by_country(s, country_of(p));
    json_decref(p);
    return found;
}
