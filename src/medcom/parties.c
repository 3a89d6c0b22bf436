/*
 * parties.c - who a message is about and between: the citizen found by CPR
 * (never by the sender's Patient id, which is only the sender's), and the
 * organisations found by their SOR identifier.  A new citizen or organisation
 * is created from the message with only the elements that carry no references
 * into the sender's bundle.
 *
 * Organizations are found by SOR through the link table (the ones messages
 * created) and else by their identifier in the index (the ones an
 * administrator registered), so that a municipality set up by hand is the one
 * messages name.  A citizen whose home municipality nothing else says (no
 * managingOrganization, no address with a municipality code) is registered to
 * the one the notification's receiver belongs to.
 */
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "fhir/ident.h"
#include "medcom/internal.h"
#include "store/resource.h"

static void copy_issues(const sv_outcome *from, sv_outcome *to)
{
    for (size_t i = 0; i < from->len; i++)
        sv_outcome_add(to, from->issues[i].severity, from->issues[i].code,
                       from->issues[i].expression, "%s",
                       from->issues[i].diagnostics ? from->issues[i].diagnostics : "");
}

/* A new resource of type with the listed members of src (deep copies). */
static json_t *pick(const char *type, const json_t *src, const char *const *keys, size_t nkeys)
{
    json_t *o = json_pack("{s:s}", "resourceType", type);
    json_t *profile = json_object_get(json_object_get(src, "meta"), "profile");
    if (profile)
        json_object_set_new(o, "meta", json_pack("{s:O}", "profile", profile));
    for (size_t i = 0; i < nkeys; i++) {
        json_t *v = json_object_get(src, keys[i]);
        if (v)
            json_object_set_new(o, keys[i], json_deep_copy(v));
    }
    return o;
}

static const char *const patient_keys[] = {"identifier",      "active",           "name",
                                           "telecom",         "gender",           "birthDate",
                                           "deceasedBoolean", "deceasedDateTime", "address"};
static const char *const org_keys[] = {"identifier", "active",  "type",
                                       "name",       "telecom", "address"};

/* The citizen's home municipality is known: registered, or an address code. */
static bool has_municipality(const json_t *patient)
{
    if (json_object_get(patient, "managingOrganization"))
        return true;
    size_t i, k;
    const json_t *a, *x;
    json_array_foreach(json_object_get(patient, "address"), i, a)
    {
        json_array_foreach(json_object_get(a, "extension"), k, x)
        {
            const char *url = json_string_value(json_object_get(x, "url"));
            if (url && strcmp(url, SV__MEDCOM_MUNICIPALITY_EXT) == 0)
                return true;
        }
    }
    return false;
}

/* The current JSON of type/id (new reference in *ret; NULL when deleted). */
static sv_err load_current(sv_db *db, const char *type, const char *id, json_t **ret)
{
    sv_stored s;
    memset(&s, 0, sizeof(s));
    *ret = NULL;
    sv_err e = sv_store_current(db, type, id, true, &s, NULL);
    if (!e && s.json && !(*ret = sv_json_loadb(s.json, s.json_len, 0, NULL)))
        e = SV_ERR_NOMEM;
    sv_stored_clear(&s);
    return e;
}

/* An existing citizen (current: shared, never changed) without a home
 * municipality gets the message's. */
static sv_err register_home(sv_rest *r, const char *id, const json_t *current, sv__medcom_home *at,
                            sv_outcome *out)
{
    if (!current || !at || has_municipality(current))
        return SV_OK;
    const char *home = NULL;
    sv_err e = sv__medcom_home_ref(r, at, &home);
    if (e || !home[0])
        return e;
    json_t *p = json_deep_copy(current);
    if (!p)
        return SV_ERR_NOMEM;
    json_object_del(p, "meta");
    json_object_set_new(p, "managingOrganization", json_pack("{s:s}", "reference", home));
    sv_rest_result rr;
    sv_rest_result_init(&rr);
    rr.keep_recent = true;
    e = sv_rest_update(r, "Patient", id, p, NULL, &rr);
    if (e)
        copy_issues(&rr.outcome, out);
    sv_rest_result_clear(&rr);
    json_decref(p);
    return e;
}

sv_err sv__medcom_patient(sv_rest *r, const sv__medcom_msg *msg, sv__medcom_home *at,
                          char ret_id[65], int64_t *ret_before, sv_outcome *out)
{
    char ids[2][65];
    int count = 0;
    /* The citizen found and read by one statement, into the transaction's memo: the
     * grant derivation and the stay rules after this read the same Patient again. */
    json_t *current = NULL;
    int64_t version = 0;
    sv_err e = sv_store_find_token_json(r->db, "Patient", "identifier", SV_IDENT_SYSTEM_CPR,
                                        msg->cpr, ids, &count, &current, &version, NULL);
    if (e)
        return e;
    if (count > 1) {
        json_decref(current);
        char path[96];
        sv__medcom_path(path, sizeof(path), msg->patient_index, "identifier");
        sv_outcome_add(out, SV_SEV_ERROR, "multiple-matches", path,
                       "more than one citizen here has this CPR-nummer; the message cannot be "
                       "matched safely");
        return SV_ERR_PROCESSING;
    }
    if (count == 1) {
        snprintf(ret_id, 65, "%s", ids[0]);
        *ret_before = version;
        e = register_home(r, ret_id, current, at, out);
        json_decref(current);
        return e;
    }
    json_t *p =
        pick("Patient", msg->patient, patient_keys, sizeof(patient_keys) / sizeof(patient_keys[0]));
    const char *home = NULL;
    if (at && !has_municipality(p))
        e = sv__medcom_home_ref(r, at, &home);
    if (e) {
        json_decref(p);
        return e;
    }
    if (home && home[0])
        json_object_set_new(p, "managingOrganization", json_pack("{s:s}", "reference", home));
    sv_rest_result rr;
    sv_rest_result_init(&rr);
    rr.keep_recent = true;
    e = sv_rest_create(r, "Patient", p, NULL, &rr);
    json_decref(p);
    if (e)
        copy_issues(&rr.outcome, out);
    else
        snprintf(ret_id, 65, "%s", rr.id);
    *ret_before = 0;
    sv_rest_result_clear(&rr);
    return e;
}

/* The identifier a sender's Organization is known by: SOR first, else the first
 * identifier with a system.  Returns false when it has none. */
static bool org_key(const json_t *org, char *key, size_t cap)
{
    json_t *ids = json_object_get(org, "identifier");
    const char *best_system = NULL, *best_value = NULL;
    for (size_t i = 0; i < json_array_size(ids); i++) {
        json_t *id = json_array_get(ids, i);
        const char *system = json_string_value(json_object_get(id, "system"));
        const char *value = json_string_value(json_object_get(id, "value"));
        if (!system || !value)
            continue;
        if (strcmp(system, SV__MEDCOM_SOR_SYSTEM) == 0 || !best_system) {
            best_system = system;
            best_value = value;
            if (strcmp(system, SV__MEDCOM_SOR_SYSTEM) == 0)
                break;
        }
    }
    if (!best_system)
        return false;
    int n = snprintf(key, cap, "org:%s|%s", best_system, best_value);
    return n > 0 && (size_t)n < cap;
}

/* An Organization registered here with the message's SOR id (exactly one),
 * linked for the next message. */
static sv_err find_registered(sv_rest *r, const json_t *org, const char *key, char ret_id[65])
{
    const char *sor = NULL;
    size_t i;
    const json_t *id;
    json_array_foreach(json_object_get(org, "identifier"), i, id)
    {
        const char *system = json_string_value(json_object_get(id, "system"));
        if (system && strcmp(system, SV__MEDCOM_SOR_SYSTEM) == 0)
            sor = json_string_value(json_object_get(id, "value"));
    }
    if (!sor)
        return SV_ERR_NOT_FOUND;
    char ids[2][65];
    int count = 0;
    sv_err e = sv_store_find_token(r->db, "Organization", "identifier", SV__MEDCOM_SOR_SYSTEM, sor,
                                   ids, &count, NULL);
    if (e)
        return e;
    if (count != 1)
        return SV_ERR_NOT_FOUND;
    snprintf(ret_id, 65, "%s", ids[0]);
    return sv__medcom_link_add(r->db, key, "Organization", ret_id);
}

/* The organisations the messages of one transaction named: a batch (process.c) comes
 * from few departments to few municipalities, so a message's two lookups are mostly
 * those of the message before.  Each entry is trusted only under the transaction
 * serial it was found or made under (sv_db_tx_serial: a new transaction, a rollback,
 * any ROLLBACK TO changes it), so nothing an undone transaction created is handed
 * out; the messages of one transaction are applied by one thread. */
#define ORG_MEMO_SLOTS 4

typedef struct org_memo_entry {
    uint64_t serial; /* 0: empty */
    char key[300];
    char id[65];
} org_memo_entry;

static _Thread_local org_memo_entry org_memo[ORG_MEMO_SLOTS];
static _Thread_local unsigned org_memo_next;

static bool org_memo_find(uint64_t serial, const char *key, char ret_id[65])
{
    for (size_t i = 0; serial && i < ORG_MEMO_SLOTS; i++)
        if (org_memo[i].serial == serial && strcmp(org_memo[i].key, key) == 0) {
            memcpy(ret_id, org_memo[i].id, sizeof(org_memo[i].id));
            return true;
        }
    return false;
}

static void org_memo_keep(uint64_t serial, const char *key, const char *id)
{
    size_t key_len = strlen(key), id_len = strlen(id);
    if (!serial || key_len >= sizeof(org_memo[0].key) || id_len >= sizeof(org_memo[0].id))
        return;
    org_memo_entry *en = &org_memo[org_memo_next++ % ORG_MEMO_SLOTS];
    en->serial = serial;
    memcpy(en->key, key, key_len + 1);
    memcpy(en->id, id, id_len + 1);
}

static sv_err organization(sv_rest *r, const json_t *org, const char *key, char ret_id[65],
                           sv_outcome *out)
{
    if (key) {
        sv_err e = sv__medcom_link_find(r->db, key, ret_id);
        if (e != SV_ERR_NOT_FOUND)
            return e;
        e = find_registered(r, org, key, ret_id);
        if (e != SV_ERR_NOT_FOUND)
            return e;
    }
    json_t *o = pick("Organization", org, org_keys, sizeof(org_keys) / sizeof(org_keys[0]));
    sv_rest_result rr;
    sv_rest_result_init(&rr);
    sv_err e = sv_rest_create(r, "Organization", o, NULL, &rr);
    json_decref(o);
    if (e)
        copy_issues(&rr.outcome, out);
    else
        snprintf(ret_id, 65, "%s", rr.id);
    sv_rest_result_clear(&rr);
    if (!e && key)
        e = sv__medcom_link_add(r->db, key, "Organization", ret_id);
    return e;
}

sv_err sv__medcom_organization(sv_rest *r, const json_t *org, char ret_id[65], sv_outcome *out)
{
    char key[300];
    if (!org_key(org, key, sizeof(key)))
        return organization(r, org, NULL, ret_id, out);
    if (org_memo_find(sv_db_tx_serial(r->db), key, ret_id))
        return SV_OK;
    sv_err e = organization(r, org, key, ret_id, out);
    if (!e) /* as the transaction now is: a savepoint of the create may have moved the serial */
        org_memo_keep(sv_db_tx_serial(r->db), key, ret_id);
    return e;
}

static bool is_municipality(const json_t *org)
{
    size_t i;
    const json_t *id;
    json_array_foreach(json_object_get(org, "identifier"), i, id)
    {
        const char *system = json_string_value(json_object_get(id, "system"));
        if (system && strcmp(system, SV__MEDCOM_MUNICIPALITY_SID) == 0)
            return true;
    }
    return false;
}

sv_err sv__medcom_receiver_home(sv_rest *r, const sv__medcom_msg *msg, sv__medcom_home *ret,
                                sv_outcome *out)
{
    memset(ret, 0, sizeof(*ret));
    return sv__medcom_organization(r, msg->receiver_org, ret->receiver, out);
}

sv_err sv__medcom_home_ref(sv_rest *r, sv__medcom_home *home, const char **ret_ref)
{
    *ret_ref = home->ref;
    if (home->walked)
        return SV_OK;
    snprintf(home->ref, sizeof(home->ref), "Organization/%s", home->receiver);
    /* up the partOf chain (bounded: a loop in the data must not hang a message) */
    char at[65];
    snprintf(at, sizeof(at), "%s", home->receiver);
    sv_err e = SV_OK;
    for (int depth = 0; depth < 8; depth++) {
        json_t *o;
        e = load_current(r->db, "Organization", at, &o);
        if (e == SV_ERR_NOT_FOUND) { /* a partOf that dangles: the receiver itself */
            e = SV_OK;
            break;
        }
        if (e || !o)
            break;
        if (is_municipality(o)) {
            snprintf(home->ref, sizeof(home->ref), "Organization/%s", at);
            json_decref(o);
            break;
        }
        const char *up =
            json_string_value(json_object_get(json_object_get(o, "partOf"), "reference"));
        bool next = up && strncmp(up, "Organization/", 13) == 0 && strlen(up + 13) < sizeof(at);
        if (next)
            snprintf(at, sizeof(at), "%s", up + 13);
        json_decref(o);
        if (!next)
            break;
    }
    home->walked = !e;
    return e;
}
