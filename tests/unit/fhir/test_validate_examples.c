/*
 * test_validate_examples.c - runs every official R4 example (npm package
 * hl7.fhir.r4.examples) through sv_fhir_validate.
 *
 * Fails if a file is rejected that is not listed in
 * tests/data/r4-examples-known-invalid.txt, if a listed file is accepted, or
 * if the list names a file that does not exist.  Each list line is
 * "filename<TAB>what the example gets wrong".  Skips when node_modules is
 * absent (the C build does not need node).
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fhir/validate.h"

#define EXAMPLES_DIR SV_SOURCE_DIR "/node_modules/hl7.fhir.r4.examples"
#define KNOWN_INVALID SV_SOURCE_DIR "/tests/data/r4-examples-known-invalid.txt"

typedef struct names {
    char **v;
    size_t len, cap;
} names;

static void names_add(names *n, const char *s)
{
    if (n->len == n->cap) {
        n->cap = n->cap ? n->cap * 2 : 256;
        n->v = realloc(n->v, n->cap * sizeof(*n->v));
        assert_non_null(n->v);
    }
    n->v[n->len] = strdup(s);
    assert_non_null(n->v[n->len]);
    n->len++;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_free(names *n)
{
    for (size_t i = 0; i < n->len; i++)
        free(n->v[i]);
    free(n->v);
}

static bool names_has(const names *n, const char *s)
{
    return bsearch(&s, n->v, n->len, sizeof(*n->v), cmp_str) != NULL;
}

/* Reads the file names of the known-invalid list (text before the tab). */
static void load_known(names *known)
{
    FILE *f = fopen(KNOWN_INVALID, "r");
    assert_non_null(f);
    char line[1024];
    int lineno = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        if (line[0] == '#' || line[0] == '\n')
            continue;
        char *tab = strchr(line, '\t');
        if (!tab || tab[1] == '\n' || tab[1] == '\0') {
            fail_msg("%s:%d: expected filename<TAB>reason", KNOWN_INVALID, lineno);
        }
        *tab = '\0';
        names_add(known, line);
    }
    fclose(f);
    qsort(known->v, known->len, sizeof(*known->v), cmp_str);
}

static void test_examples(void **state)
{
    (void)state;
    DIR *d = opendir(EXAMPLES_DIR);
    if (!d) {
        printf("skipping: %s not found (run npm ci)\n", EXAMPLES_DIR);
        skip();
    }
    names files = {0}, known = {0};
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len > 5 && strcmp(de->d_name + len - 5, ".json") == 0)
            names_add(&files, de->d_name);
    }
    closedir(d);
    qsort(files.v, files.len, sizeof(*files.v), cmp_str);
    load_known(&known);

    int failures = 0;
    size_t accepted = 0, rejected = 0;
    for (size_t i = 0; i < files.len; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", EXAMPLES_DIR, files.v[i]);
        json_error_t jerr;
        json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
        sv_outcome o = SV_OUTCOME_INIT;
        int errors;
        if (!j) {
            sv_outcome_add(&o, SV_SEV_ERROR, "structure", NULL, "json: %s (line %d)", jerr.text,
                           jerr.line);
            errors = 1;
        } else {
            errors = sv_fhir_validate(j, &o);
        }
        bool listed = names_has(&known, files.v[i]);
        if (errors)
            rejected++;
        else
            accepted++;
        if (errors && !listed) {
            failures++;
            printf("REJECTED %s\n", files.v[i]);
            for (size_t k = 0; k < o.len; k++)
                if (o.issues[k].severity <= SV_SEV_ERROR)
                    printf("    %s: %s [%s]\n",
                           o.issues[k].expression ? o.issues[k].expression : "(none)",
                           o.issues[k].diagnostics, o.issues[k].code);
        } else if (!errors && listed) {
            failures++;
            printf("ACCEPTED but listed as known-invalid: %s\n", files.v[i]);
        }
        sv_outcome_clear(&o);
        json_decref(j);
    }
    for (size_t k = 0; k < known.len; k++) {
        if (!names_has(&files, known.v[k])) {
            failures++;
            printf("LISTED but no such example: %s\n", known.v[k]);
        }
    }
    printf("%zu examples: %zu accepted, %zu rejected, %zu listed as known-invalid\n", files.len,
           accepted, rejected, known.len);
    names_free(&files);
    names_free(&known);
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_examples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
