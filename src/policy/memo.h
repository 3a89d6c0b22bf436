/*
 * memo.h - internal to policy/: the entries of an sv_policy_memo (policy.h).
 * A version is sv__policy_memo_version's, taken before the database is read;
 * 0 means nothing may be reused or kept.
 */
#ifndef SV_POLICY_MEMO_H
#define SV_POLICY_MEMO_H

#include "policy/policy.h"

uint64_t sv__policy_memo_version(const sv_policy_memo *m, sv_db *db);
/* PractitionerRole id's organisation and role (into a) and its mask, as kept. */
bool sv__policy_memo_role(const sv_policy_memo *m, uint64_t version, const char *id, sv_access *a,
                          int *ret_mask);
void sv__policy_memo_role_keep(sv_policy_memo *m, uint64_t version, const char *id,
                               const sv_access *a, int mask);
/* sv_access_btg_until of holder, as kept. */
bool sv__policy_memo_btg(const sv_policy_memo *m, uint64_t version, const char *holder,
                         int64_t *ret_until);
void sv__policy_memo_btg_keep(sv_policy_memo *m, uint64_t version, const char *holder,
                              int64_t until);

#endif
