/*
 * access_build.c - see rest.h (sv_fhir_access_build): categories and grants
 * for data stored before the access policy existed (schema migration 5), once.
 */
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "fhir/compartment.h"
#include "fhir/rest.h"
#include "policy/policy.h"

#define BATCH 1000

typedef struct build_ctx {
    sv_db *db;
    sv_policy_patients patients;
    sv_err e;
    sv_buf *reterr;
} build_ctx;

static bool on_resource(void *ctx, int64_t rid, const char *type, const char *id, const char *json,
                        size_t json_len)
{
    (void)rid;
    build_ctx *b = ctx;
    json_t *j = json ? sv_json_loadb(json, json_len, 0, NULL) : NULL;
    int category = sv_policy_category(type, sv_compartment_patient_has_type(type), j);
    json_decref(j);
    b->e = sv_access_set_category(b->db, type, id, category, b->reterr);
    if (!b->e && strcmp(type, "Patient") == 0)
        sv_policy_patients_add(&b->patients, id);
    return b->e == SV_OK;
}

sv_err sv_fhir_access_build(sv_db *db, sv_buf *reterr)
{
    bool built = false;
    sv_err e = sv_access_built(db, &built, reterr);
    if (e || built)
        return e;
    build_ctx b = {.db = db, .reterr = reterr};
    int64_t last = 0;
    for (;;) {
        int64_t before = last;
        e = sv_db_begin(db, SV_TX_WRITE, reterr);
        if (!e)
            e = sv_access_scan(db, last, BATCH, on_resource, &b, &last, reterr);
        if (!e)
            e = b.e;
        if (!e)
            e = sv_db_commit(db, reterr);
        if (e || last == before)
            break;
    }
    for (size_t i = 0; !e && i < b.patients.len; i += BATCH) {
        e = sv_db_begin(db, SV_TX_WRITE, reterr);
        for (size_t k = i; !e && k < b.patients.len && k < i + BATCH; k++)
            e = sv_policy_derive(db, b.patients.ids[k], reterr);
        if (!e)
            e = sv_db_commit(db, reterr);
    }
    if (!e) {
        e = sv_db_begin(db, SV_TX_WRITE, reterr);
        if (!e)
            e = sv_access_set_built(db, true, reterr);
        if (!e)
            e = sv_db_commit(db, reterr);
    }
    if (e)
        sv_db_rollback(db);
    sv_policy_patients_clear(&b.patients);
    return e;
}
