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

void sv_index_rows_clear(sv_index_rows *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->len; i++) {
        free(r->rows[i].system);
        free(r->rows[i].value);
        free(r->rows[i].exact);
    }
    free(r->rows);
    r->rows = NULL;
    r->len = r->cap = 0;
}
