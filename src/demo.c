/*
 * demo.c - `samverka demo`: loads the demo organisations, staff, citizens and
 * their stories, and creates the demo logins (printed once, with their
 * passwords).  Part of the samverka command only (docs/web.md, README).
 *
 * The stories (data/demo/stories.json) carry dates relative to the day they are
 * loaded, written "{{day:+3}}" (YYYY-MM-DD, UTC, three days from today), so that
 * deadlines, stays and countdowns look the same whenever the demo is started.
 * They pass the coordination rules (coord hooks): teams, plans and tasks get
 * their Provenance, notices and watchdog jobs as if entered through the api.
 */
#include "demo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/identity.h"
#include "base/datetime.h"
#include "base/json.h"
#include "coord/coord.h"
#include "fhir/load.h"

#define MAX_FILE (4u * 1024 * 1024)

static char *read_all(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    sv_buf b = SV_BUF_INIT;
    char chunk[8192];
    size_t got;
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0 && b.len < MAX_FILE)
        sv_buf_add(&b, chunk, got);
    fclose(f);
    return sv_buf_detach(&b, ret_len);
}

/* Replaces each "{{day:±N}}" in text by the date N days from today (UTC). */
static void expand_days(const char *text, int64_t now_ms, sv_buf *out)
{
    const char *p = text;
    for (;;) {
        const char *open = strstr(p, "{{day:");
        if (!open) {
            sv_buf_adds(out, p);
            return;
        }
        char *end = NULL;
        long days = strtol(open + 6, &end, 10);
        if (!end || strncmp(end, "}}", 2) != 0) {
            sv_buf_add(out, p, (size_t)(open + 6 - p));
            p = open + 6;
            continue;
        }
        sv_buf_add(out, p, (size_t)(open - p));
        char instant[SV_INSTANT_LEN];
        sv_datetime_format_instant(now_ms + (int64_t)days * 86400000, instant);
        sv_buf_add(out, instant, 10); /* YYYY-MM-DD */
        p = end + 2;
    }
}

/* Loads path after expanding its relative dates, through a private temporary copy. */
static sv_err load_dated(sv_rest *rest, const char *path, sv_load_stats *st, sv_buf *reterr)
{
    size_t len = 0;
    char *text = read_all(path, &len);
    if (!text) {
        sv_buf_addf(reterr, "%s: cannot be read\n", path);
        return SV_ERR_IO;
    }
    sv_buf expanded = SV_BUF_INIT;
    expand_days(text, sv_clock_now_ms(), &expanded);
    free(text);
    char tmp[] = "/tmp/samverka-demo-XXXXXX";
    int fd = mkstemp(tmp);
    sv_err e = SV_OK;
    if (fd < 0 || write(fd, expanded.ptr, expanded.len) != (ssize_t)expanded.len) {
        sv_buf_addf(reterr, "%s: cannot write a temporary copy\n", path);
        e = SV_ERR_IO;
    }
    if (fd >= 0)
        close(fd);
    sv_buf_release(&expanded);
    if (!e) {
        const sv_rest_hooks *saved = rest->hooks;
        rest->hooks = sv_coord_hooks();
        e = sv_load_file(rest, tmp, st, reterr);
        rest->hooks = saved;
    }
    if (fd >= 0)
        unlink(tmp);
    return e;
}

/* Creates the logins of users.json; prints each with its new password.  A user
 * that exists already keeps their password (it was printed when made). */
static int add_users(sv_db *db, const char *path)
{
    size_t len = 0;
    char *text = read_all(path, &len);
    if (!text) {
        fprintf(stderr, "samverka demo: cannot read '%s'\n", path);
        return 1;
    }
    json_t *root = NULL;
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_json_parse(text, len, 16, SV_JSON_TOP_OBJECT, &root, &err, NULL);
    free(text);
    if (e) {
        fprintf(stderr, "samverka demo: '%s': %s\n", path, err.ptr);
        sv_buf_release(&err);
        return 1;
    }
    int rc = 0;
    printf("\ndemo logins (open the web app at the address below and log in):\n");
    size_t i;
    json_t *u;
    json_array_foreach(json_object_get(root, "users"), i, u)
    {
        sv_auth_user user = {
            .username = json_string_value(json_object_get(u, "username")),
            .practitioner_role = json_string_value(json_object_get(u, "practitionerRole")),
            .patient = json_string_value(json_object_get(u, "patient")),
            .related_person = json_string_value(json_object_get(u, "relatedPerson"))};
        const char *kind = json_string_value(json_object_get(u, "kind"));
        const char *who = json_string_value(json_object_get(u, "description"));
        if (!user.username || !sv_principal_kind_parse(kind, &user.kind)) {
            fprintf(stderr, "samverka demo: '%s': user %zu is incomplete\n", path, i);
            rc = 1;
            continue;
        }
        char password[25];
        sv_auth_password_generate(password);
        sv_buf_reset(&err);
        e = sv_auth_user_add(db, &user, password, &err);
        if (e == SV_ERR_CONFLICT)
            printf("  %-8s (exists; password as printed before)  %s\n", user.username,
                   who ? who : "");
        else if (e) {
            fprintf(stderr, "samverka demo: user %s: %s\n", user.username,
                    err.len ? err.ptr : sv_strerror(e));
            rc = 1;
        } else
            printf("  %-8s %s  %s\n", user.username, password, who ? who : "");
    }
    sv_buf_release(&err);
    json_decref(root);
    return rc;
}

int sv_demo_run(sv_rest *rest, const char *data_dir)
{
    /* Organisations before the people in them, people before their stories. */
    static const char *const files[] = {"organizations.json", "practitioners.json", "citizens.json",
                                        "stories.json"};
    int rc = 0;
    sv_load_stats total = {0};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char path[1200];
        snprintf(path, sizeof(path), "%s/demo/%s", data_dir, files[i]);
        sv_load_stats st = {0};
        sv_buf err = SV_BUF_INIT;
        sv_err e = strcmp(files[i], "stories.json") == 0 ? load_dated(rest, path, &st, &err)
                                                         : sv_load_file(rest, path, &st, &err);
        if (err.len)
            fputs(err.ptr, stderr);
        if (e)
            rc = 1;
        total.resources += st.resources;
        total.failed += st.failed;
        sv_buf_release(&err);
    }
    printf("loaded %zu resources, %zu failed\n", total.resources, total.failed);
    char users[1200];
    snprintf(users, sizeof(users), "%s/demo/users.json", data_dir);
    if (add_users(rest->db, users) != 0)
        rc = 1;
    fflush(stdout);
    return rc;
}
