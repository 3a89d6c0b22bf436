/*
 * run.c - one event acted on, inside the transaction of its cause: recorded in
 * stay_event, told to the home municipality, GP and coordinator (and to the
 * parties the rules add), the board's row brought up to date, and the rules of
 * the stay's ruleset run.  When the home municipality cannot be found, the
 * department gets a task to find it: nobody told is never silent.
 */
#include <stdio.h>
#include <string.h>

#include "base/datetime.h"
#include "coord/codes.h"
#include "coord/notify.h"
#include "stays/internal.h"

static const char SQL_EVENT_ADD[] =
    "INSERT INTO stay_event (time, at, kind, source, medcom_seq, patient_id, encounter_id,"
    " encounter_version, ruleset, provider, municipality, municipality_from, gp, coordinator,"
    " told, rules, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

static const char SQL_LAST_RULESET[] =
    "SELECT ruleset FROM stay_event WHERE patient_id = ? AND ruleset IS NOT NULL"
    " ORDER BY seq DESC LIMIT 1";

/* For an event of the plan or team: the ruleset of the citizen's latest stay
 * (the rules that made the tasks it may end), else by the citizen's country. */
static sv_err ruleset_of_citizen(sv_db *db, const sv_stays *s, const char *patient,
                                 const sv__ruleset **ret, sv_buf *reterr)
{
    sv_stmt *st;
    sv_err e = sv_db_stmt(db, SQL_LAST_RULESET, &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_text(st, 1, sv__coord_ref_id(patient, "Patient"));
    bool row = false;
    e = sv_stmt_step(st, &row, reterr);
    *ret = !e && row ? sv__stays_ruleset(s, sv_stmt_column_text(st, 0, NULL)) : NULL;
    sv_stmt_reset(st);
    if (!e && !*ret)
        *ret = sv__stays_choose(db, s, patient, NULL);
    return e;
}

static bool stay_kind(const char *kind)
{
    return strncmp(kind, "encounter.", 10) == 0 || strcmp(kind, "patient.died") == 0;
}

/* "encounter.discharge-ready" -> "stay-discharge-ready", "patient.died" -> "stay-died" */
static void notice_kind(const char *kind, char out[64])
{
    const char *dot = strchr(kind, '.');
    snprintf(out, 64, "stay-%s", dot ? dot + 1 : kind);
}

static const char *nz(const char *s)
{
    return s && *s ? s : NULL;
}

static bool rule_on(const json_t *rule, const char *kind)
{
    const json_t *on = json_object_get(rule, "on");
    if (json_is_string(on))
        return strcmp(json_string_value(on), kind) == 0;
    size_t i;
    const json_t *v;
    json_array_foreach(on, i, v) if (strcmp(json_string_value(v), kind) == 0) return true;
    return false;
}

static bool listed(const json_t *list, const char *value)
{
    size_t i;
    const json_t *v;
    if (json_is_string(list))
        return value && strcmp(json_string_value(list), value) == 0;
    json_array_foreach(list, i, v) if (value && json_is_string(v) &&
                                       strcmp(json_string_value(v), value) == 0) return true;
    return false;
}

/* home, nursing-home, died, other, unspecified (Encounter.hospitalization.dischargeDisposition) */
static const char *disposition(const json_t *enc)
{
    const char *code = sv__coord_code_of(
        json_object_get(json_object_get(enc, "hospitalization"), "dischargeDisposition"),
        "http://terminology.hl7.org/CodeSystem/discharge-disposition");
    if (!code)
        return "unspecified";
    if (strcmp(code, "home") == 0 || strcmp(code, "alt-home") == 0)
        return "home";
    if (strcmp(code, "snf") == 0 || strcmp(code, "long") == 0)
        return "nursing-home";
    if (strcmp(code, "exp") == 0)
        return "died";
    return "other";
}

typedef struct plan_ctx {
    int64_t start; /* latest period.start of an open rehabilitation plan */
    bool found;
} plan_ctx;

static bool plan_visit(void *ctx, const json_t *plan)
{
    plan_ctx *p = ctx;
    const char *status = json_string_value(json_object_get(plan, "status"));
    if (!status ||
        (strcmp(status, "active") && strcmp(status, "draft") && strcmp(status, "on-hold")))
        return true;
    p->found = true;
    int64_t s = sv__coord_time(json_object_get(json_object_get(plan, "period"), "start"));
    if (s != INT64_MIN && s > p->start)
        p->start = s;
    return true;
}

static sv_err rehab_plan(sv_db *db, const char *patient, plan_ctx *ret)
{
    const char *names[] = {"patient", "category"};
    const char *values[] = {patient, SV_SYS_CAREPLAN_CATEGORY "|rehabilitation"};
    ret->found = false;
    ret->start = INT64_MIN;
    return sv__coord_find(db, "CarePlan", names, values, 2, 100, plan_visit, ret);
}

/* Does when hold for the event?  Unknown conditions were refused at load. */
static sv_err holds(sv_db *db, const json_t *when, const sv__stay_event *ev, bool *ret)
{
    *ret = true;
    const char *k;
    const json_t *v;
    const json_t *enc = ev->encounter ? ev->resource : NULL;
    json_object_foreach((json_t *)when, k, v)
    {
        if (strcmp(k, "class") == 0) {
            *ret = listed(
                v, json_string_value(json_object_get(json_object_get(enc, "class"), "code")));
        } else if (strcmp(k, "missing") == 0 || strcmp(k, "present") == 0) {
            bool has = sv__stays_expected(enc) != NULL;
            *ret = strcmp(k, "present") == 0 ? has : !has;
        } else if (strcmp(k, "flag") == 0) {
            *ret = json_is_true(
                json_object_get(sv__coord_extension(enc, SV_EXT_ADMISSION_REPORT), "valueBoolean"));
        } else if (strcmp(k, "disposition") == 0) {
            *ret = listed(v, disposition(enc));
        } else if (strcmp(k, "plan") == 0) {
            plan_ctx p;
            sv_err e = rehab_plan(db, ev->patient, &p);
            if (e)
                return e;
            *ret = p.found;
        }
        if (!*ret)
            break;
    }
    return SV_OK;
}

static const char *party_ref(const sv__parties *p, const char *party)
{
    if (strcmp(party, "home-municipality") == 0)
        return nz(p->municipality);
    if (strcmp(party, "gp") == 0)
        return nz(p->gp);
    if (strcmp(party, "coordinator") == 0)
        return nz(p->coordinator);
    if (strcmp(party, "department") == 0)
        return nz(p->department);
    if (strcmp(party, "coordinator-or-gp") == 0)
        return nz(p->coordinator) ? p->coordinator : nz(p->gp);
    return NULL;
}

typedef struct told {
    char refs[8][SV_COORD_REF_LEN];
    size_t n;
} told;

static sv_err tell(sv_db *db, told *t, const char *party, const sv_coord_notice *n, sv_buf *reterr)
{
    if (!party)
        return SV_OK;
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->refs[i], party) == 0)
            return SV_OK;
    if (t->n < 8)
        snprintf(t->refs[t->n++], SV_COORD_REF_LEN, "%s", party);
    return sv_coord_notify_party(db, party, n, reterr);
}

static void describe(const sv__stay_event *ev, const sv__parties *p, sv_buf *out)
{
    const json_t *enc = ev->encounter ? ev->resource : NULL;
    const char *dot = strchr(ev->kind, '.');
    sv_buf_addf(out, "%s", dot ? dot + 1 : ev->kind);
    const char *cls = json_string_value(json_object_get(json_object_get(enc, "class"), "code"));
    if (cls)
        sv_buf_addf(out, " (%s)",
                    strcmp(cls, "EMER") == 0  ? "acute ambulant"
                    : strcmp(cls, "IMP") == 0 ? "inpatient"
                                              : cls);
    if (p->department[0])
        sv_buf_addf(out, " at %s", p->department);
    if (strcmp(ev->kind, "encounter.discharged") == 0)
        sv_buf_addf(out, " to %s", disposition(enc));
    const char *expected = sv__stays_expected(enc);
    if (expected && strcmp(ev->kind, "encounter.discharged") && strcmp(ev->kind, "patient.died"))
        sv_buf_addf(out, "; expected discharge %s", expected);
    if (ev->detail)
        sv_buf_addf(out, "; %s", ev->detail);
}

static sv_err record(sv_db *db, const sv__stay_event *ev, const sv__ruleset *set,
                     const sv__parties *p, const char *told_list, const char *rules, sv_buf *reterr)
{
    sv_stmt *st;
    sv_err e = sv_db_stmt(db, SQL_EVENT_ADD, &st, reterr);
    if (e)
        return e;
    int i = 1;
    sv_stmt_bind_int64(st, i++, sv_clock_now_ms());
    sv_stmt_bind_int64(st, i++, ev->at);
    sv_stmt_bind_text(st, i++, ev->kind);
    sv_stmt_bind_text(st, i++, ev->source);
    sv_stmt_bind_int64(st, i++, ev->medcom_seq);
    /* ids, as in medcom_event and stay_board */
    sv_stmt_bind_text(st, i++, sv__coord_ref_id(ev->patient, "Patient"));
    sv_stmt_bind_text(st, i++, ev->encounter ? sv__coord_ref_id(ev->encounter, "Encounter") : NULL);
    sv_stmt_bind_int64(st, i++, ev->version);
    sv_stmt_bind_text(st, i++, set ? set->id : NULL);
    sv_stmt_bind_text(st, i++, nz(p->department));
    sv_stmt_bind_text(st, i++, nz(p->municipality));
    sv_stmt_bind_text(st, i++, p->municipality_from);
    sv_stmt_bind_text(st, i++, nz(p->gp));
    sv_stmt_bind_text(st, i++, nz(p->coordinator));
    sv_stmt_bind_text(st, i++, nz(told_list));
    sv_stmt_bind_text(st, i++, nz(rules));
    sv_stmt_bind_text(st, i++, ev->detail);
    return sv_stmt_run(st, reterr);
}

static const char *source_url(const sv__ruleset *set, const json_t *sourced)
{
    const char *id = json_string_value(json_object_get(sourced, "source"));
    return json_string_value(json_object_get(json_object_get(set->sources, id), "url"));
}

/* The rule's tasks for this event. */
static sv_err make_tasks(sv_rest *r, const sv__ruleset *set, const json_t *rule,
                         const sv__stay_event *ev, const sv__parties *p, int64_t payment_from,
                         sv_buf *reterr)
{
    size_t i;
    const json_t *t;
    json_array_foreach(json_object_get(rule, "tasks"), i, t)
    {
        bool ok = true;
        sv_err e = holds(r->db, json_object_get(t, "when"), ev, &ok);
        if (e)
            return e;
        if (!ok)
            continue;
        const char *party = json_string_value(json_object_get(t, "owner"));
        const char *owner = party_ref(p, party);
        const char *note = NULL;
        char why[400];
        if (!owner) {
            /* Nobody responsible is not an option: the department, else the home
             * municipality, else the coordinator holds it and must hand it on. */
            owner = nz(p->department)     ? p->department
                    : nz(p->municipality) ? p->municipality
                                          : nz(p->coordinator);
            snprintf(why, sizeof(why),
                     "no %s is known for the citizen: assigned to %s, who must "
                     "hand it on",
                     party, owner ? owner : "nobody");
            note = why;
        }
        const json_t *dl = json_object_get(t, "deadline");
        const char *value = json_string_value(json_object_get(dl, "value"));
        sv__task_spec spec = {.code = json_string_value(json_object_get(t, "code")),
                              .title = json_string_value(json_object_get(t, "title")),
                              .owner = owner,
                              .patient = ev->patient,
                              .encounter = ev->encounter,
                              .ruleset = set->id,
                              .rule = json_string_value(json_object_get(rule, "id")),
                              .source = source_url(set, dl),
                              .confirmed = json_is_true(json_object_get(dl, "confirmed")),
                              .start = ev->at,
                              .fixed_end = INT64_MIN,
                              .country = set->country,
                              .note = note};
        if (strcmp(value, "payment") == 0) {
            if (payment_from == INT64_MIN)
                continue; /* no payment responsibility: nothing to race against */
            spec.fixed_end = payment_from;
        } else if (sv_deadline_parse(value, strlen(value), &spec.deadline, reterr)) {
            return SV_ERR_INTERNAL; /* checked at load */
        }
        const char *from = json_string_value(json_object_get(t, "from"));
        if (from && strcmp(from, "later-of-plan-start") == 0) {
            plan_ctx pc;
            e = rehab_plan(r->db, ev->patient, &pc);
            if (e)
                return e;
            if (pc.start > spec.start)
                spec.start = pc.start;
        }
        bool created;
        e = sv__stays_task_create(r, &spec, &created, reterr);
        if (e)
            return e;
    }
    return SV_OK;
}

static sv_err close_listed(sv_rest *r, const json_t *rule, const char *key,
                           const sv__stay_event *ev)
{
    size_t i;
    const json_t *code;
    char why[160];
    snprintf(why, sizeof(why), "%s by rule %s on %s",
             strcmp(key, "complete") == 0 ? "done" : "no longer needed",
             json_string_value(json_object_get(rule, "id")), ev->kind);
    json_array_foreach(json_object_get(rule, key), i, code)
    {
        sv_err e = sv__stays_tasks_close(r, ev->patient, ev->encounter, json_string_value(code),
                                         strcmp(key, "complete") == 0, why, NULL, NULL);
        if (e)
            return e;
    }
    return SV_OK;
}

sv_err sv__stays_run(sv_rest *r, const sv_stays *s, const sv__stay_event *ev, sv_buf *reterr)
{
    const json_t *enc = ev->encounter ? ev->resource : NULL;
    sv__parties p;
    sv_err e = sv__stays_parties(r->db, ev->patient, enc, ev->citizen, &p);
    if (e)
        return e;
    const sv__ruleset *set = NULL;
    if (enc)
        set = sv__stays_choose(r->db, s, ev->patient, enc);
    else
        e = ruleset_of_citizen(r->db, s, ev->patient, &set, reterr);
    if (e)
        return e;
    bool stay = stay_kind(ev->kind);

    /* The rules that apply. */
    const json_t *applies[32];
    size_t n = 0;
    sv_buf rules = SV_BUF_INIT;
    size_t i;
    const json_t *rule;
    json_array_foreach(set ? set->rules : NULL, i, rule)
    {
        bool ok = false;
        if (!rule_on(rule, ev->kind))
            continue;
        e = holds(r->db, json_object_get(rule, "when"), ev, &ok);
        if (e)
            goto out;
        if (ok && n < 32) {
            applies[n++] = rule;
            sv_buf_addf(&rules, "%s%s", rules.len ? "," : "",
                        json_string_value(json_object_get(rule, "id")));
        }
    }

    /* Notices: the three parties for every stay event, and whom the rules add. */
    told t = {.n = 0};
    sv_buf text = SV_BUF_INIT;
    describe(ev, &p, &text);
    char kind[64];
    notice_kind(ev->kind, kind);
    const char *focus = ev->encounter ? ev->encounter : NULL;
    sv_coord_notice notice = {
        .kind = kind, .citizen = ev->patient, .resource = focus, .text = text.ptr};
    if (stay) {
        e = tell(r->db, &t, nz(p.municipality), &notice, reterr);
        if (!e)
            e = tell(r->db, &t, nz(p.gp), &notice, reterr);
        if (!e)
            e = tell(r->db, &t, nz(p.coordinator), &notice, reterr);
    }
    for (size_t k = 0; !e && k < n; k++) {
        const json_t *party;
        json_array_foreach(json_object_get(json_object_get(applies[k], "notify"), "parties"), i,
                           party)
        {
            if (!e && sv_coord_notice_kind_known(kind))
                e = tell(r->db, &t, party_ref(&p, json_string_value(party)), &notice, reterr);
        }
    }
    sv_buf_release(&text);
    sv_buf told_list = SV_BUF_INIT;
    for (size_t k = 0; k < t.n; k++)
        sv_buf_addf(&told_list, "%s%s", k ? "," : "", t.refs[k]);
    if (!e)
        e = record(r->db, ev, set, &p, told_list.ptr, rules.ptr, reterr);
    sv_buf_release(&told_list);

    /* The board, then the tasks (a task may race the payment responsibility). */
    int64_t payment_from = INT64_MIN;
    if (!e && ev->encounter)
        e = sv__stays_board_update(r, set, &p, ev, &payment_from, reterr);
    for (size_t k = 0; !e && k < n; k++) {
        e = close_listed(r, applies[k], "complete", ev);
        if (!e)
            e = close_listed(r, applies[k], "cancel", ev);
        if (!e)
            e = make_tasks(r, set, applies[k], ev, &p, payment_from, reterr);
    }
    if (!e && stay && !p.municipality[0] && strcmp(ev->kind, "encounter.cancelled") != 0) {
        sv__task_spec find = {
            .code = SV_TASK_FIND_MUNICIPALITY,
            .title = "The citizen's home municipality is not known, so it was not told of the "
                     "stay: find it (Patient.managingOrganization) and tell it",
            .owner = nz(p.department)    ? p.department
                     : nz(p.coordinator) ? p.coordinator
                                         : nz(p.gp),
            .patient = ev->patient,
            .encounter = ev->encounter,
            .ruleset = set ? set->id : "none",
            .rule = "samverka-home-municipality",
            .confirmed = true,
            .start = sv_clock_now_ms(),
            .fixed_end = INT64_MIN,
            .deadline = {.amount = 24, .unit = SV_DEADLINE_HOURS},
            .country = set ? set->country : SV_CAL_DK};
        bool created;
        e = sv__stays_task_create(r, &find, &created, reterr);
    }
out:
    sv_buf_release(&rules);
    return e;
}
