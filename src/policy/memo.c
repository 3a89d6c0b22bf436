/*
 * memo.c - see policy.h, "memo": what the access of a request reads from the
 * database (a PractitionerRole's organisation and role codes, a user's last
 * break-the-glass end), kept per connection for as long as nothing at all has
 * been committed to the database (sv_db_data_version).  Any write - of the
 * PractitionerRole, a grant, anything - makes every entry stale, so a kept value
 * is always the one the database would give.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "policy/memo.h"

#define MEMO_SLOTS 32

/* Every memo's lookups in this process, for /metrics (relaxed: counts only). */
static atomic_llong memo_hits, memo_misses;

static bool counted(bool hit)
{
    atomic_fetch_add_explicit(hit ? &memo_hits : &memo_misses, 1, memory_order_relaxed);
    return hit;
}

void sv_policy_memo_counts(int64_t *ret_hits, int64_t *ret_misses)
{
    *ret_hits = atomic_load_explicit(&memo_hits, memory_order_relaxed);
    *ret_misses = atomic_load_explicit(&memo_misses, memory_order_relaxed);
}

typedef struct role_entry {
    uint64_t data_version; /* 0: empty */
    char id[SV_POLICY_NAME_MAX];
    char organisation[SV_POLICY_NAME_MAX];
    char role[64];
    int mask;
} role_entry;

typedef struct btg_entry {
    uint64_t data_version; /* 0: empty */
    char holder[SV_POLICY_NAME_MAX];
    int64_t until;
} btg_entry;

struct sv_policy_memo {
    role_entry roles[MEMO_SLOTS];
    btg_entry btg[MEMO_SLOTS];
    size_t next_role, next_btg; /* round robin: the working set is a handful of users */
};

sv_policy_memo *sv_policy_memo_new(void)
{
    sv_policy_memo *m = calloc(1, sizeof(*m));
    if (!m)
        abort();
    return m;
}

void sv_policy_memo_free(sv_policy_memo *m)
{
    free(m);
}

uint64_t sv__policy_memo_version(const sv_policy_memo *m, sv_db *db)
{
    uint64_t v = 0;
    if (!m || !sv_db_data_version(db, &v))
        return 0;
    return v;
}

bool sv__policy_memo_role(const sv_policy_memo *m, uint64_t version, const char *id, sv_access *a,
                          int *ret_mask)
{
    if (!m || version == 0)
        return false;
    for (size_t i = 0; i < MEMO_SLOTS; i++) {
        const role_entry *r = &m->roles[i];
        if (r->data_version == version && strcmp(r->id, id) == 0) {
            memcpy(a->organisation, r->organisation, sizeof(a->organisation));
            memcpy(a->role, r->role, sizeof(a->role));
            *ret_mask = r->mask;
            return counted(true);
        }
    }
    return counted(false);
}

void sv__policy_memo_role_keep(sv_policy_memo *m, uint64_t version, const char *id,
                               const sv_access *a, int mask)
{
    if (!m || version == 0 || strlen(id) >= SV_POLICY_NAME_MAX)
        return;
    role_entry *r = &m->roles[m->next_role++ % MEMO_SLOTS];
    r->data_version = version;
    strcpy(r->id, id);
    memcpy(r->organisation, a->organisation, sizeof(r->organisation));
    memcpy(r->role, a->role, sizeof(r->role));
    r->mask = mask;
}

bool sv__policy_memo_btg(const sv_policy_memo *m, uint64_t version, const char *holder,
                         int64_t *ret_until)
{
    if (!m || version == 0)
        return false;
    for (size_t i = 0; i < MEMO_SLOTS; i++) {
        const btg_entry *b = &m->btg[i];
        if (b->data_version == version && strcmp(b->holder, holder) == 0) {
            *ret_until = b->until;
            return counted(true);
        }
    }
    return counted(false);
}

void sv__policy_memo_btg_keep(sv_policy_memo *m, uint64_t version, const char *holder,
                              int64_t until)
{
    if (!m || version == 0 || strlen(holder) >= SV_POLICY_NAME_MAX)
        return;
    btg_entry *b = &m->btg[m->next_btg++ % MEMO_SLOTS];
    b->data_version = version;
    strcpy(b->holder, holder);
    b->until = until;
}
