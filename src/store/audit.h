/*
 * audit.h - the append-only, hash-chained audit log (table audit, schema
 * migration 3).
 *
 * Each record says who (principal kind and id, organisation, role) did what
 * (action, resource type/id/version) concerning which citizen, why (purpose of
 * use), when (ms since 1970 UTC) and with what outcome (the HTTP status).  Its
 * hash is SHA-256 (OpenSSL's libcrypto) over a canonical serialisation of every field,
 * seq included, and the previous record's hash, so a changed, deleted or
 * reordered row breaks the chain.  A one-row table audit_head holds the record
 * count and the last seq and hash, updated by every append (once per batch) in
 * the same transaction: a truncated tail cannot be seen in the chain alone, but it no
 * longer matches the head.
 *
 * The audit table is data, not a diagnostic log: it holds patient ids.
 * Depends on db/, libcrypto (SHA-256) and libsodium (hex) only.
 */
#ifndef SV_STORE_AUDIT_H
#define SV_STORE_AUDIT_H

#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"

#define SV_AUDIT_HASH_HEX 64 /* hex characters of a hash, without the NUL */

/* Who acts.  All strings borrowed; NULL where unknown.  Until identity exists,
 * requests over HTTP act as {"anonymous"} and the process itself (import,
 * demo) as {"system"}. */
typedef struct sv_audit_actor {
    const char *kind; /* anonymous, system, practitioner, citizen, relative, admin */
    const char *id;
    const char *organisation;
    const char *role;
    const char *purpose; /* purpose of use, e.g. TREAT, ETREAT (break-the-glass) */
    /* The PractitionerRole id the practitioner acts in (role above is its role
     * code when the policy knows one); NULL when none.  Not audited: authors of
     * messages and Provenance use it (coord/). */
    const char *practitioner_role;
} sv_audit_actor;

extern const sv_audit_actor sv_audit_anonymous;
extern const sv_audit_actor sv_audit_system;

/* One record.  Strings borrowed; NULL stores SQL NULL.  resource_version 0 = none. */
typedef struct sv_audit_record {
    int64_t time_ms;
    const char *principal_kind; /* NOT NULL */
    const char *principal_id;
    const char *organisation;
    const char *role;
    const char *citizen; /* the Patient id the record concerns */
    const char *action;  /* read, vread, search, history, create, update, patch, delete,
                            transaction, login, login-failed, refused, break-the-glass */
    const char *resource_type;
    const char *resource_id;
    int64_t resource_version;
    const char *purpose;
    int outcome;        /* HTTP status */
    const char *reason; /* why, in the actor's words (break-the-glass); usually NULL */
} sv_audit_record;

/* Fills the principal fields of rec from actor (NULL: sv_audit_system). */
void sv_audit_record_set_actor(sv_audit_record *rec, const sv_audit_actor *actor);

/* Appends rec inside the caller's write transaction (SV_ERR_INTERNAL outside
 * one): the chain's last hash is read under the write lock, so concurrent
 * writers form one chain.  *ret_seq (may be NULL) receives the record's seq. */
sv_err sv_audit_append(sv_db *db, const sv_audit_record *rec, int64_t *ret_seq, sv_buf *reterr);
/* Appends recs[0..n-1] in that order inside the caller's write transaction: the same
 * records, seqs and hashes as n calls of sv_audit_append, written with multi-row
 * INSERTs (PostgreSQL: one INSERT ... SELECT FROM unnest per 1,024 records) and one
 * update of audit_head.  All or nothing within the transaction: on an error, roll it
 * back.  *ret_seq (may be NULL) receives the last record's seq; n 0 writes nothing. */
sv_err sv_audit_append_batch(sv_db *db, const sv_audit_record *recs, size_t n, int64_t *ret_seq,
                             sv_buf *reterr);

/* The citizen (Patient id) of type/id: the id itself for a Patient, else the
 * first Patient compartment row of its current version.  ret_citizen is ""
 * when there is none. */
sv_err sv_audit_citizen_of(sv_db *db, const char *type, const char *id, char ret_citizen[65],
                           sv_buf *reterr);

typedef enum sv_audit_problem {
    SV_AUDIT_OK,
    SV_AUDIT_CHANGED,   /* record's content does not match its hash */
    SV_AUDIT_UNLINKED,  /* record's previous hash is not its predecessor's hash */
    SV_AUDIT_TRUNCATED, /* the chain is shorter than (or ends before) the head says */
} sv_audit_problem;

typedef struct sv_audit_report {
    int64_t records; /* records walked */
    sv_audit_problem problem;
    int64_t seq;          /* the first broken record (CHANGED, UNLINKED); last seq (TRUNCATED) */
    int64_t prev_seq;     /* UNLINKED: the record before it (0: the start of the chain) */
    int64_t head_records; /* what audit_head says */
    int64_t head_seq;
    char last_hash[SV_AUDIT_HASH_HEX + 1];
} sv_audit_report;

/* Walks the whole chain in seq order, in a read transaction.  SV_OK with
 * ret->problem telling whether the chain holds. */
sv_err sv_audit_verify(sv_db *db, sv_audit_report *ret, sv_buf *reterr);

/* The hash of rec as record seq after prev_hash (hex, NUL-terminated).  For tests. */
void sv_audit_hash(const sv_audit_record *rec, int64_t seq, const char *prev_hash,
                   char ret_hash[SV_AUDIT_HASH_HEX + 1]);

/* Tests: the number of records the verify walk reads per query (0: the default). */
void sv__audit_walk_page(int n);

/* ---- reading the log (audit_query.c): the AuditEvent view and "who looked at my data" ---- */

/* Which records, newest first (time, then seq, descending). */
typedef struct sv_audit_query {
    const char *citizen; /* NULL: every record */
    int64_t from, to;    /* time in [from, to); INT64_MIN / INT64_MAX for open ends */
    bool others_only;    /* leave out the records of citizens (their own accesses) */
    int64_t seq;         /* > 0: only this record */
    /* Keyset paging: only records older than (after_time, after_seq); after_seq 0: none. */
    int64_t after_time, after_seq;
    int64_t limit;
} sv_audit_query;

/* Calls fn with each matching record (strings borrowed for the call). */
typedef bool (*sv_audit_record_fn)(void *ctx, int64_t seq, const sv_audit_record *rec);
sv_err sv_audit_list(sv_db *db, const sv_audit_query *q, sv_audit_record_fn fn, void *ctx,
                     sv_buf *reterr);
/* The number of matching records, ignoring paging and limit. */
sv_err sv_audit_count(sv_db *db, const sv_audit_query *q, int64_t *ret_count, sv_buf *reterr);

#endif
