/*
 * detect.c - the write hooks: coordination's rules first (coord/coord.h), then
 * the events a write means.  An Encounter's old and new versions are compared
 * (status, the discharge-ready and expected-discharge extensions); a CarePlan of
 * category sip that gains a SIP step means a SIP was called; a coordination
 * CareTeam that gains a coordinator means one was appointed.  Each event runs
 * inside the write's transaction, so a stay is never stored without its
 * notices and tasks, nor they without it.
 */
#include <string.h>

#include "base/datetime.h"
#include "coord/codes.h"
#include "coord/coord.h"
#include "store/audit.h"
#include "stays/internal.h"

bool sv__stays_active(const char *status)
{
    return status && (strcmp(status, "in-progress") == 0 || strcmp(status, "onleave") == 0 ||
                      strcmp(status, "arrived") == 0 || strcmp(status, "triaged") == 0);
}

int64_t sv__stays_ready_at(const json_t *encounter)
{
    const json_t *ext = sv__coord_extension(encounter, SV_EXT_DISCHARGE_READY);
    if (!ext)
        return INT64_MIN;
    return sv__coord_time(json_object_get(sv__coord_extension(ext, "time"), "valueDateTime"));
}

const char *sv__stays_expected(const json_t *encounter)
{
    const json_t *ready = sv__coord_extension(encounter, SV_EXT_DISCHARGE_READY);
    const char *d = json_string_value(
        json_object_get(sv__coord_extension(ready, "expectedDischarge"), "valueDate"));
    if (!d)
        d = json_string_value(json_object_get(
            sv__coord_extension(encounter, SV_EXT_EXPECTED_DISCHARGE), "valueDate"));
    return d;
}

static bool same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int64_t period_time(const json_t *enc, const char *key)
{
    int64_t t = sv__coord_time(json_object_get(json_object_get(enc, "period"), key));
    return t == INT64_MIN ? sv_clock_now_ms() : t;
}

typedef struct found {
    const char *kind[4];
    int64_t at[4];
    const char *detail[4];
    size_t n;
} found;

static void add(found *f, const char *kind, int64_t at, const char *detail)
{
    if (f->n < 4) {
        f->kind[f->n] = kind;
        f->at[f->n] = at;
        f->detail[f->n] = detail;
        f->n++;
    }
}

static bool is_died(const json_t *enc)
{
    return sv__coord_has_code(
        json_object_get(json_object_get(enc, "hospitalization"), "dischargeDisposition"),
        "http://terminology.hl7.org/CodeSystem/discharge-disposition", "exp");
}

static void encounter_events(const json_t *old, const json_t *cur, found *f)
{
    const char *os = old ? json_string_value(json_object_get(old, "status")) : NULL;
    const char *ns = json_string_value(json_object_get(cur, "status"));
    bool oa = sv__stays_active(os), na = sv__stays_active(ns);
    int64_t now = sv_clock_now_ms();
    if (ns && !same_text(os, ns) &&
        (strcmp(ns, "entered-in-error") == 0 || strcmp(ns, "cancelled") == 0)) {
        add(f, "encounter.cancelled", now, NULL);
        return;
    }
    bool was_finished = os && strcmp(os, "finished") == 0;
    if (na && !oa && !was_finished)
        add(f, "encounter.admitted", period_time(cur, "start"), NULL);
    if (na && was_finished)
        add(f, "encounter.corrected", now, "the discharge was taken back");
    if (na && oa && strcmp(ns, "onleave") == 0 && strcmp(os, "onleave") != 0)
        add(f, "encounter.leave-started", now, NULL);
    if (na && oa && strcmp(os, "onleave") == 0 && strcmp(ns, "onleave") != 0)
        add(f, "encounter.leave-ended", now, NULL);
    if (na) {
        int64_t was = oa ? sv__stays_ready_at(old) : INT64_MIN;
        int64_t is = sv__stays_ready_at(cur);
        if (is != INT64_MIN && was == INT64_MIN)
            add(f, "encounter.discharge-ready", is, NULL);
        else if (is == INT64_MIN && was != INT64_MIN)
            add(f, "encounter.discharge-ready-withdrawn", now, NULL);
        else if (is != was)
            add(f, "encounter.corrected", now, "the discharge-ready time changed");
        else if (oa && !same_text(sv__stays_expected(old), sv__stays_expected(cur)))
            add(f, "encounter.corrected", now, "the expected discharge date changed");
    }
    /* A stay created already finished is a record of the past, not an event. */
    if (old && ns && strcmp(ns, "finished") == 0 && !was_finished)
        add(f, is_died(cur) ? "patient.died" : "encounter.discharged", period_time(cur, "end"),
            NULL);
}

static bool has_coordinator(const json_t *team, char out[SV_COORD_REF_LEN])
{
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(team, "participant"), i, p)
    {
        if (sv__coord_has_code(json_object_get(p, "role"), SV_SYS_CARE_TEAM_ROLE, "coordinator") &&
            sv__coord_ref(json_object_get(p, "member"), out))
            return true;
    }
    return false;
}

static sv_err run_all(sv_rest *r, sv_stays *s, const found *f, const char *patient,
                      const char *encounter, const json_t *stored, int64_t version, sv_outcome *out)
{
    sv_rest sys = *r;
    sys.access = NULL;
    sys.actor = &sv_audit_system;
    sys.hooks = &s->hooks;
    sv_err e = SV_OK;
    for (size_t i = 0; !e && i < f->n; i++) {
        sv__stay_event ev = {.kind = f->kind[i],
                             .source = "rest",
                             .patient = patient,
                             .encounter = encounter,
                             .resource = stored,
                             .version = version,
                             .at = f->at[i],
                             .detail = f->detail[i]};
        sv_buf err = SV_BUF_INIT;
        e = sv__stays_run(&sys, s, &ev, &err);
        if (e)
            sv_outcome_add(out, SV_SEV_ERROR, "exception", NULL,
                           "the stay's rules could not be applied: %s", err.len ? err.ptr : "");
        sv_buf_release(&err);
    }
    return e;
}

static sv_err before_write(void *ctx, sv_rest *r, const char *type, const char *id,
                           const json_t *old, json_t *resource, sv_outcome *out)
{
    (void)ctx;
    const sv_rest_hooks *coord = sv_coord_hooks();
    sv_err e = coord->before_write(coord->ctx, r, type, id, old, resource, out);
    if (e || strcmp(type, "Encounter") != 0)
        return e;
    size_t i;
    const json_t *ext;
    json_array_foreach(json_object_get(resource, "extension"), i, ext)
    {
        const char *url = json_string_value(json_object_get(ext, "url"));
        if (!url || strcmp(url, SV_EXT_DISCHARGE_READY) != 0)
            continue;
        if (sv__coord_time(json_object_get(sv__coord_extension(ext, "time"), "valueDateTime")) ==
            INT64_MIN) {
            char path[64];
            snprintf(path, sizeof(path), "Encounter.extension[%zu]", i);
            sv_outcome_add(out, SV_SEV_ERROR, "required", path,
                           "discharge-ready needs a time (extension time, valueDateTime)");
            return SV_ERR_PROCESSING;
        }
    }
    return SV_OK;
}

static sv_err after_write(void *ctx, sv_rest *r, const char *type, const char *id, int64_t version,
                          const json_t *old, const json_t *stored, sv_outcome *out)
{
    sv_stays *s = ctx;
    const sv_rest_hooks *coord = sv_coord_hooks();
    sv_err e = coord->after_write(coord->ctx, r, type, id, version, old, stored, out);
    if (e)
        return e;
    found f = {.n = 0};
    char patient[SV_COORD_REF_LEN], self[SV_COORD_REF_LEN];
    int64_t now = sv_clock_now_ms();
    if (strcmp(type, "Encounter") == 0) {
        if (!sv__coord_ref(json_object_get(stored, "subject"), patient) ||
            !sv__coord_ref_id(patient, "Patient"))
            return SV_OK;
        encounter_events(old, stored, &f);
        snprintf(self, sizeof(self), "Encounter/%s", id);
        return run_all(r, s, &f, patient, self, stored, version, out);
    }
    if (!sv__coord_ref(json_object_get(stored, "subject"), patient) ||
        !sv__coord_ref_id(patient, "Patient"))
        return SV_OK;
    if (strcmp(type, "CarePlan") == 0 &&
        sv__coord_has_code(json_object_get(stored, "category"), SV_SYS_CAREPLAN_CATEGORY, "sip") &&
        sv__coord_extension(stored, SV_EXT_SIP_STEP) &&
        !(old && sv__coord_extension(old, SV_EXT_SIP_STEP)))
        add(&f, "plan.sip-called", now, NULL);
    char was[SV_COORD_REF_LEN] = "", is[SV_COORD_REF_LEN];
    if (strcmp(type, "CareTeam") == 0 && has_coordinator(stored, is) &&
        !(old && has_coordinator(old, was) && strcmp(was, is) == 0))
        add(&f, "team.coordinator-appointed", now, NULL);
    return run_all(r, s, &f, patient, NULL, stored, version, out);
}

void sv__stays_hooks_init(sv_stays *s)
{
    s->hooks = (sv_rest_hooks){.ctx = s, .before_write = before_write, .after_write = after_write};
}

const sv_rest_hooks *sv_stays_hooks(sv_stays *s)
{
    return &s->hooks;
}
