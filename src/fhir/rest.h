/*
 * rest.h - the FHIR REST interactions on one database connection: read, vread,
 * create (also conditional), update (also as create), patch, delete, history.
 *
 * HTTP-free: api/ maps requests onto these and results onto responses, and
 * fhir/bundle.c runs them inside one transaction for transaction Bundles.  Each
 * function opens its own write transaction unless the connection is already in
 * one (then the caller commits or rolls back).
 * Errors: the sv_err return decides the status; res->outcome holds the issues.
 * Depends on store/ and the rest of fhir/.
 */
#ifndef SV_FHIR_REST_H
#define SV_FHIR_REST_H

#include <jansson.h>
#include <stdint.h>

#include "db/db.h"
#include "fhir/outcome.h"
#include "fhir/query.h"
#include "policy/policy.h"
#include "store/audit.h"

typedef struct sv_rest sv_rest;

/*
 * Write hooks: domain rules that live above fhir/ (src/coord: task workflow,
 * one coordinator per team, plan agreement) and that fhir/ must not call by
 * name.  api/ sets them; with sv_rest.hooks NULL (or a NULL member) nothing
 * changes.  Both run inside the write's transaction for every create, update
 * and patch, directly or as an entry of a transaction Bundle; deletes do not
 * call them.  Errors go to outcome (with the element path) and roll the whole
 * write back: SV_ERR_PROCESSING answers 422, SV_ERR_CONFLICT 409.
 */
typedef struct sv_rest_hooks {
    void *ctx;
    /* Before a version is stored.  old is the current version (NULL when the
     * resource is new or deleted); resource is the validated version about to be
     * written, without meta.  The hook may fill derived elements of resource (a
     * computed deadline); resource is validated again afterwards. */
    sv_err (*before_write)(void *ctx, sv_rest *r, const char *type, const char *id,
                           const json_t *old, json_t *resource, sv_outcome *outcome);
    /* After the version and its audit record are written.  stored is the version
     * as stored (with meta).  May write more through r: the same transaction. */
    sv_err (*after_write)(void *ctx, sv_rest *r, const char *type, const char *id, int64_t version,
                          const json_t *old, const json_t *stored, sv_outcome *outcome);
} sv_rest_hooks;

struct sv_rest {
    sv_db *db;
    /* Who acts, for the audit records that every write appends in its own
     * transaction (store/audit.h); NULL: the process itself (sv_audit_system).
     * Borrowed. */
    const sv_audit_actor *actor;
    /* What the caller may see and change (policy/policy.h): every read, search,
     * history, include, operation and write applies it.  NULL: no policy (the
     * process itself, auth off).  Borrowed. */
    const sv_access *access;
    const char *base_url;       /* e.g. "http://127.0.0.1:8080/fhir", no trailing slash; borrowed */
    int64_t default_count;      /* page size when _count is absent */
    int64_t max_count;          /* the largest _count honoured */
    const sv_rest_hooks *hooks; /* NULL: none; borrowed */
    /* NULL: each write of a Patient, CareTeam, Encounter... derives the grants of its
     * citizens at once (sv_policy_after_write).  Else, when access is NULL (no
     * practitioner whose own widening must be refused), a write only adds those
     * citizens here, and the caller derives each once (sv_policy_derive) before its
     * transaction ends: a message that creates a Patient and an Encounter derives the
     * citizen once, not twice.  Nothing in between may rely on the grants.  Borrowed. */
    sv_policy_patients *defer_grants;
};

typedef struct sv_rest_result {
    int status;  /* HTTP status on success (200, 201, 204) */
    sv_buf body; /* JSON text (resource, Bundle); may be empty */
    char type[64];
    char id[65];
    int64_t version; /* 0 when not about one resource version */
    int64_t last_updated;
    bool created;       /* a new resource (Location header) */
    sv_outcome outcome; /* the issues of a failure (and warnings) */
    /* Set by the caller of a create or update that will not change its resource
     * afterwards: the version written is entered as it is stored into the
     * transaction's memo (sv_store_recent_put), so that the readers after it in
     * the transaction need not read and parse it again. */
    bool keep_recent;
} sv_rest_result;

void sv_rest_result_init(sv_rest_result *res);
void sv_rest_result_clear(sv_rest_result *res);

sv_err sv_rest_read(sv_rest *r, const char *type, const char *id, sv_rest_result *res);
sv_err sv_rest_vread(sv_rest *r, const char *type, const char *id, const char *version,
                     sv_rest_result *res);
/* resource is borrowed; if_none_exist is the raw query ("identifier=a|b") or NULL. */
sv_err sv_rest_create(sv_rest *r, const char *type, const json_t *resource,
                      const char *if_none_exist, sv_rest_result *res);
/* Create with an id chosen by the caller (transactions pre-assign ids). */
sv_err sv_rest_create_as(sv_rest *r, const char *type, const json_t *resource, const char *id,
                         sv_rest_result *res);
/* Runs a conditional query (If-None-Exist, conditional update and references):
 * *ret_count is 0, 1 or 2 (meaning "more than one"); ret_id receives the id of a
 * single match. */
sv_err sv_rest_match(sv_rest *r, const char *type, const char *query, int *ret_count,
                     char ret_id[65], sv_rest_result *res);
/* Update, or create with the client's id when absent.  if_match: the ETag value
 * (W/"3") or NULL. */
sv_err sv_rest_update(sv_rest *r, const char *type, const char *id, const json_t *resource,
                      const char *if_match, sv_rest_result *res);
/* Conditional update (PUT [type]?criteria): one match is updated (a body id
 * must then name it), none creates (with the body's id if it is free), more
 * than one is SV_ERR_MULTIPLE.  criteria is borrowed. */
sv_err sv_rest_update_conditional(sv_rest *r, const char *type, const sv_query *criteria,
                                  const json_t *resource, const char *if_match,
                                  sv_rest_result *res);
/* JSON Patch (RFC 6902) of the current version. */
sv_err sv_rest_patch(sv_rest *r, const char *type, const char *id, const json_t *patch,
                     const char *if_match, sv_rest_result *res);
/* if_match: the ETag value (W/"3") or NULL; a deleted resource matches no ETag. */
sv_err sv_rest_delete(sv_rest *r, const char *type, const char *id, const char *if_match,
                      sv_rest_result *res);
/* History Bundle of the system (type NULL), a type (id NULL) or an instance.
 * Parameters: _count, _since, _page (a cursor from a next link). */
sv_err sv_rest_history(sv_rest *r, const char *type, const char *id, const sv_query *q,
                       sv_rest_result *res);

/* Categories and access grants of data stored before the access policy (schema
 * migration 5), once: a no-op when access_state says they are built.  Runs its
 * own transactions, in batches (fhir/access_build.c). */
sv_err sv_fhir_access_build(sv_db *db, sv_buf *reterr);

/* Writes the resource's canonical form: resourceType, id, meta first (with
 * versionId and lastUpdated set), then the other elements.  New reference. */
json_t *sv_rest_with_meta(const json_t *resource, const char *id, int64_t version,
                          int64_t last_updated);
/* Compact JSON text of j appended to out (decimals keep 15 significant digits). */
void sv_fhir_dump(const json_t *j, sv_buf *out);
/* Appends s as a JSON string literal (with quotes). */
void sv_json_quote(sv_buf *out, const char *s);

#endif
