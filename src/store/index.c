/* index.c - see index.h. */
#include "store/index.h"

#include <stdlib.h>
#include <string.h>

static char *dup_or_null(const char *s)
{
    if (!s)
        return NULL;
    char *p = strdup(s);
    if (!p)
        abort();
    return p;
}

sv_index_row *sv_index_rows_add(sv_index_rows *r, sv_index_kind kind, const char *param,
                                const char *system, const char *value, const char *exact)
{
    if (r->len == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        sv_index_row *p = realloc(r->rows, cap * sizeof(*p));
        if (!p)
            abort();
        r->rows = p;
        r->cap = cap;
    }
    sv_index_row *row = &r->rows[r->len++];
    memset(row, 0, sizeof(*row));
    row->kind = kind;
    row->param = param;
    row->system = dup_or_null(system);
    row->value = dup_or_null(value);
    row->exact = dup_or_null(exact);
    return row;
}

sv_index_row *sv_index_rows_add_pair(sv_index_rows *r, const char *param, const char *system,
                                     const char *value, const char *system2, const char *value2)
{
    sv_index_row *row = sv_index_rows_add(r, SV_INDEX_COMPOSITE, param, system, value, NULL);
    row->system2 = dup_or_null(system2);
    row->value2 = dup_or_null(value2);
    return row;
}

void sv_index_rows_truncate(sv_index_rows *r, size_t from)
{
    for (size_t i = from; i < r->len; i++) {
        free(r->rows[i].system);
        free(r->rows[i].value);
        free(r->rows[i].exact);
        free(r->rows[i].system2);
        free(r->rows[i].value2);
    }
    if (from < r->len)
        r->len = from;
}

void sv_index_rows_clear(sv_index_rows *r)
{
    if (!r)
        return;
    sv_index_rows_truncate(r, 0);
    free(r->rows);
    r->rows = NULL;
    r->len = r->cap = 0;
}
