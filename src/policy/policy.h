/*
 * policy.h - who may see and change what (docs/access.md, DESIGN.md §4).
 *
 * Three parts:
 *  - categories: each resource in a Patient compartment has one data category,
 *    from its type and made stricter by meta.security labels;
 *  - grants: from a citizen's Patient, CareTeams, Encounters, EpisodesOfCare and
 *    Consents, which holders (organisations, the citizen, relatives) may see which
 *    categories when; kept as rows of access_grant (store/access.h), derived again
 *    in the transaction of every write that can change them, so that a revocation
 *    holds from the next request;
 *  - the access of one request: the principal's holders and role mask, turned into
 *    the store's filter, which every query applies inside its SQL; and the rules
 *    for writes.
 * Depends on store/ and base/ (and jansson); knows nothing of HTTP or sessions:
 * the api layer describes the principal with sv_policy_who.
 */
#ifndef SV_POLICY_POLICY_H
#define SV_POLICY_POLICY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"
#include "store/access.h"
#include "store/index.h"

#define SV_POLICY_CATEGORY_SYSTEM "http://samverka.dk/fhir/CodeSystem/category"
#define SV_POLICY_ROLE_SYSTEM "http://samverka.dk/fhir/CodeSystem/role"
#define SV_POLICY_NAME_MAX 160

/* ---- categories and roles -------------------------------------------------------- */

/* The category bit of a resource of type (SV_CAT_*), its meta.security labels
 * applied (resource may be NULL: the type's default); 0 for types that cannot be
 * in a Patient compartment (the directory; compartment_type false - which types
 * can is the fhir layer's knowledge, fhir/compartment.h). */
int sv_policy_category(const char *type, bool compartment_type, const json_t *resource);
/* "coordination", ... for one category bit; "directory" for 0. */
const char *sv_policy_category_name(int category);
/* The categories a role code allows (0 when unknown). */
int sv_policy_role_mask(const char *code);

/* ---- the access of one request ----------------------------------------------------- */

typedef enum sv_policy_kind {
    SV_POLICY_INTERNAL = 0, /* the process itself, or auth off: no policy */
    SV_POLICY_SYSTEM,       /* API client: its scopes decide, checked before */
    SV_POLICY_PRACTITIONER,
    SV_POLICY_CITIZEN,
    SV_POLICY_RELATIVE,
    SV_POLICY_ADMIN,
} sv_policy_kind;

/* The principal as the identity layer knows it.  Strings borrowed, may be NULL. */
typedef struct sv_policy_who {
    sv_policy_kind kind;
    const char *username;
    const char *practitioner_role; /* PractitionerRole id */
    const char *patient;           /* citizen: Patient id */
    const char *related_person;    /* relative: RelatedPerson id */
} sv_policy_who;

typedef struct sv_access {
    sv_policy_kind kind;
    bool enforced; /* false: internal and system principals see everything */
    char holder1[SV_POLICY_NAME_MAX];
    char holder2[SV_POLICY_NAME_MAX];
    char organisation[SV_POLICY_NAME_MAX]; /* practitioner: "Organization/O", else "" */
    char role[64];                         /* practitioner: the first role code, else "" */
    char username[SV_POLICY_NAME_MAX];
    char patient[SV_POLICY_NAME_MAX];        /* citizen: the Patient id */
    char related_person[SV_POLICY_NAME_MAX]; /* relative: the RelatedPerson id */
    sv_access_filter filter;                 /* points into this struct */
    /* practitioner: the end of their last break-the-glass grant when the access was
     * made (SV_ACCESS_NEVER: none); from then on no access of theirs is ETREAT */
    int64_t btg_until;
} sv_access;

/* The access of a principal at time now (reads its PractitionerRole).  A
 * practitioner whose role is missing, inactive or without an organisation gets
 * an access that sees only the directory. */
sv_err sv_policy_access(sv_db *db, const sv_policy_who *who, int64_t now, sv_access *ret,
                        sv_buf *reterr);

/*
 * A memo: what sv_policy_access reads from the database (PractitionerRoles, users'
 * break-the-glass grants), kept in memory while nothing has been committed to the
 * database since (sv_db_data_version), so that a request that changes nothing
 * costs no statement and no JSON parse for it.  One per connection, used by one
 * thread at a time; caller frees.
 */
typedef struct sv_policy_memo sv_policy_memo;
sv_policy_memo *sv_policy_memo_new(void);
void sv_policy_memo_free(sv_policy_memo *m); /* accepts NULL */
/* Lookups in every memo of this process since it started: kept values found
 * (hits) and not (misses: stale or never kept), for /metrics. */
void sv_policy_memo_counts(int64_t *ret_hits, int64_t *ret_misses);
/* sv_policy_access through memo m (may be NULL: none) of db's connection. */
sv_err sv_policy_access_memo(sv_db *db, sv_policy_memo *m, const sv_policy_who *who, int64_t now,
                             sv_access *ret, sv_buf *reterr);
/* The store filter of a (NULL when a is NULL or not enforced). */
const sv_access_filter *sv_policy_filter(const sv_access *a);

/* The purpose of use to audit for an access by a concerning citizen (a Patient
 * id; NULL or "": not one citizen): "ETREAT" while a is a practitioner with a
 * live break-the-glass grant for that citizen, else dflt.  Errors count as no
 * grant: the record is written all the same. */
const char *sv_policy_purpose(sv_db *db, const sv_access *a, const char *citizen, const char *dflt);

/* ---- writes ------------------------------------------------------------------------ */

/*
 * Whether a may write this version of type/id (docs/access.md, "Writes").
 * The caller has already answered 404 when an existing version is invisible.
 * creating: no current version.  resource: the new content (NULL for a delete);
 * category: its category (a delete: the current one); rows: its index rows with
 * compartment rows (a delete: the current compartments as rows, or NULL).
 * Grants are as before the write.  SV_OK, or SV_ERR_FORBIDDEN with the reason
 * in reterr.
 */
sv_err sv_policy_check_write(sv_db *db, const sv_access *a, const char *type, bool creating,
                             const json_t *resource, int category, const sv_index_rows *rows,
                             sv_buf *reterr);

/* ---- grants ------------------------------------------------------------------------ */

/* The patients whose grants a write of type/id may change, before the write
 * (its current compartments).  Appends ids to *list (caller frees with
 * sv_policy_patients_clear). */
typedef struct sv_policy_patients {
    char **ids;
    size_t len, cap;
} sv_policy_patients;
void sv_policy_patients_clear(sv_policy_patients *p);
/* Adds patient to the list (ctx) unless there; fits sv_access_patient_fn. */
void sv_policy_patients_add(void *ctx, const char *patient);
/* True when a write of type can change grants. */
bool sv_policy_type_grants(const char *type);
sv_err sv_policy_patients_of(sv_db *db, const char *type, const char *id, sv_policy_patients *list,
                             sv_buf *reterr);

/* True when a write of type from old to cur (both the resource's content; NULL:
 * none, which is never the same) leaves everything the derivation reads of it as
 * it was: the members that make its facts or rules, and the reference that makes
 * it a source of its citizen.  The grants are derived in the transaction of every
 * change of a source, so such a write changes no citizen's grants and needs no
 * derivation. */
bool sv_policy_grant_inputs_same(const char *type, const json_t *old, const json_t *cur);

/* Derives the grants of patient again (inside the caller's write transaction). */
sv_err sv_policy_derive(sv_db *db, const char *patient, sv_buf *reterr);
/* The same, with the Patient's current version as the caller has just written it
 * (borrowed; NULL: read it from the store), which saves reading and parsing it. */
sv_err sv_policy_derive_known(sv_db *db, const char *patient, const json_t *current,
                              sv_buf *reterr);
/*
 * Derives the grants of every patient in list and of every patient whose
 * compartment now holds type/id.  When a (may be NULL) is a practitioner, a write
 * that would widen the grants of their own organisation or of themselves is
 * refused with SV_ERR_FORBIDDEN (the caller rolls back): nobody gives themselves
 * access - except by the writes that are the relationship (sv_policy_check_write):
 * registering a Patient, an admission at one's own organisation.  resource: the
 * new content (NULL for a delete); creating: it had no current version.
 */
sv_err sv_policy_after_write(sv_db *db, const sv_access *a, const char *type, const char *id,
                             const json_t *resource, bool creating,
                             const sv_policy_patients *before, sv_buf *reterr);
#endif
