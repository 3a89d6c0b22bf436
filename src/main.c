/*
 * main.c - the samverka command: serve, demo, import, version.
 *
 * Settings come from, in rising precedence: built-in defaults, a config file
 * (--config FILE, "key = value" lines), environment variables (SAMVERKA_*),
 * and command-line flags.  docs/configuration.md lists them all.
 */
#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "api/api.h"
#include "base/log.h"
#include "base/version.h"
#include "db/db.h"
#include "fhir/load.h"
#include "fhir/searchparam.h"
#include "store/schema.h"

#ifndef SV_DATA_DIR
#define SV_DATA_DIR "data"
#endif

typedef struct settings {
    char listen[256];
    char db[1024];
    char base_url[512];
    char data_dir[1024];
    size_t max_body;
    unsigned threads;
    sv_log_level log_level;
} settings;

static void defaults(settings *s)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->listen, sizeof(s->listen), "127.0.0.1:8080");
    snprintf(s->db, sizeof(s->db), "var/samverka.db");
    snprintf(s->data_dir, sizeof(s->data_dir), "%s", SV_DATA_DIR);
    s->max_body = 10u * 1024 * 1024;
    s->threads = 8;
    s->log_level = SV_LOG_INFO;
}

static int parse_level(const char *v, sv_log_level *ret)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (strcasecmp(v, names[i]) == 0) {
            *ret = (sv_log_level)i;
            return 0;
        }
    return -1;
}

/* Applies one setting by its config-file key; returns -1 when key or value is bad. */
static int set_key(settings *s, const char *key, const char *value)
{
    char *end = NULL;
    if (strcmp(key, "listen") == 0) {
        snprintf(s->listen, sizeof(s->listen), "%s", value);
    } else if (strcmp(key, "db") == 0) {
        snprintf(s->db, sizeof(s->db), "%s", value);
    } else if (strcmp(key, "base_url") == 0) {
        snprintf(s->base_url, sizeof(s->base_url), "%s", value);
    } else if (strcmp(key, "data_dir") == 0) {
        snprintf(s->data_dir, sizeof(s->data_dir), "%s", value);
    } else if (strcmp(key, "max_body") == 0) {
        unsigned long long n = strtoull(value, &end, 10);
        if (!*value || *end || n < 1024)
            return -1;
        s->max_body = (size_t)n;
    } else if (strcmp(key, "threads") == 0) {
        unsigned long n = strtoul(value, &end, 10);
        if (!*value || *end || n < 1 || n > 256)
            return -1;
        s->threads = (unsigned)n;
    } else if (strcmp(key, "log_level") == 0) {
        return parse_level(value, &s->log_level);
    } else {
        return -1;
    }
    return 0;
}

static int load_config(settings *s, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "samverka: cannot read config file '%s': %s\n", path, strerror(errno));
        return -1;
    }
    char line[2048];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == '\n' || *p == '\0')
            continue;
        char *eq = strchr(p, '=');
        if (!eq) {
            fprintf(stderr, "samverka: %s:%d: expected 'key = value'\n", path, lineno);
            rc = -1;
            continue;
        }
        *eq = '\0';
        char *key = p, *value = eq + 1;
        for (char *k = eq - 1; k >= key && (*k == ' ' || *k == '\t'); k--)
            *k = '\0';
        while (*value == ' ' || *value == '\t')
            value++;
        size_t n = strlen(value);
        while (n && (value[n - 1] == '\n' || value[n - 1] == '\r' || value[n - 1] == ' '))
            value[--n] = '\0';
        if (set_key(s, key, value) != 0) {
            fprintf(stderr, "samverka: %s:%d: bad setting '%s'\n", path, lineno, key);
            rc = -1;
        }
    }
    fclose(f);
    return rc;
}

static int load_env(settings *s)
{
    static const struct {
        const char *env, *key;
    } vars[] = {{"SAMVERKA_LISTEN", "listen"},      {"SAMVERKA_DB", "db"},
                {"SAMVERKA_BASE_URL", "base_url"},  {"SAMVERKA_DATA_DIR", "data_dir"},
                {"SAMVERKA_MAX_BODY", "max_body"},  {"SAMVERKA_THREADS", "threads"},
                {"SAMVERKA_LOG_LEVEL", "log_level"}};
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        const char *v = getenv(vars[i].env);
        if (v && set_key(s, vars[i].key, v) != 0) {
            fprintf(stderr, "samverka: bad value in %s\n", vars[i].env);
            return -1;
        }
    }
    return 0;
}

static const struct {
    const char *flag, *key;
} flags[] = {{"--listen", "listen"},      {"--db", "db"},
             {"--base-url", "base_url"},  {"--data", "data_dir"},
             {"--max-body", "max_body"},  {"--threads", "threads"},
             {"--log-level", "log_level"}};

/* Reads settings from config, env and flags; leaves other arguments in rest. */
static int parse_args(settings *s, int argc, char **argv, char **rest, int *nrest)
{
    defaults(s);
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc || load_config(s, argv[i + 1]) != 0)
                return -1;
            i++;
        }
    }
    if (load_env(s) != 0)
        return -1;
    *nrest = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0) {
            i++;
            continue;
        }
        bool matched = false;
        for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]); k++) {
            size_t fl = strlen(flags[k].flag);
            if (strncmp(argv[i], flags[k].flag, fl) == 0 &&
                (argv[i][fl] == '\0' || argv[i][fl] == '=')) {
                const char *value = argv[i][fl] == '=' ? argv[i] + fl + 1 : NULL;
                if (!value) {
                    if (i + 1 >= argc) {
                        fprintf(stderr, "samverka: %s needs a value\n", flags[k].flag);
                        return -1;
                    }
                    value = argv[++i];
                }
                if (set_key(s, flags[k].key, value) != 0) {
                    fprintf(stderr, "samverka: bad value '%s' for %s\n", value, flags[k].flag);
                    return -1;
                }
                matched = true;
                break;
            }
        }
        if (!matched)
            rest[(*nrest)++] = argv[i];
    }
    return 0;
}

static int split_listen(const char *listen, char *host, size_t cap, unsigned *port)
{
    const char *colon = strrchr(listen, ':');
    if (!colon || (size_t)(colon - listen) >= cap)
        return -1;
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    char *end = NULL;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (!colon[1] || *end || p > 65535)
        return -1;
    *port = (unsigned)p;
    return 0;
}

static const char usage[] =
    "usage: samverka <command> [options]\n"
    "\n"
    "commands:\n"
    "  serve     serve the FHIR api over HTTP\n"
    "  demo      load the demo organisations, staff and citizens into the database\n"
    "  import    load Bundle or NDJSON files into the database\n"
    "  migrate   bring the database schema up to date and exit\n"
    "  version   print the version\n"
    "\n"
    "common options (also SAMVERKA_* environment variables and --config FILE):\n"
    "  --db PATH            database (default var/samverka.db)\n"
    "  --config FILE        read 'key = value' settings from FILE\n"
    "  --log-level LEVEL    debug, info, warn, error (default info)\n"
    "\n"
    "run 'samverka <command> --help' for the options of one command.\n";

static const char usage_serve[] =
    "usage: samverka serve [--listen HOST:PORT] [--db PATH] [options]\n"
    "  --listen HOST:PORT   address to listen on (default 127.0.0.1:8080; port 0 = any)\n"
    "  --db PATH            SQLite database file (created if missing)\n"
    "  --base-url URL       public base url for links (default http://HOST:PORT)\n"
    "  --max-body BYTES     largest request body (default 10485760)\n"
    "  --threads N          worker threads (default 8)\n"
    "  --log-level LEVEL    debug, info, warn, error\n"
    "  --config FILE        settings file\n"
    "SIGINT or SIGTERM: stop accepting, finish requests in flight, close, exit 0.\n";

static const char usage_demo[] =
    "usage: samverka demo [--db PATH] [--data DIR]\n"
    "Loads DIR/demo/*.json (default data/demo) into the database.  Loading twice is\n"
    "harmless: demo resources have fixed ids.\n";

static const char usage_import[] = "usage: samverka import [--db PATH] FILE...\n"
                                   "Loads each FILE: a transaction, batch or collection\n"
                                   "Bundle, a single resource, or NDJSON (one resource per\n"
                                   "line).  Resources with an id keep it.\n";

static bool wants_help(int n, char **rest)
{
    for (int i = 0; i < n; i++)
        if (strcmp(rest[i], "--help") == 0 || strcmp(rest[i], "-h") == 0)
            return true;
    return false;
}

static int cmd_serve(settings *s)
{
    char host[256];
    unsigned port;
    if (split_listen(s->listen, host, sizeof(host), &port) != 0) {
        fprintf(stderr, "samverka: --listen '%s' is not HOST:PORT\n", s->listen);
        return 2;
    }
    /* Block the stop signals in every thread; main waits for them with sigwait. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    sv_searchparam_init();
    sv_http_config hc = {.host = host,
                         .port = port,
                         .max_body = s->max_body,
                         .threads = s->threads,
                         .timeout_s = 30,
                         .drain_ms = 10000,
                         .handler = sv_api_handle};
    sv_buf err = SV_BUF_INIT;
    sv_api *api = NULL;
    sv_http_server *srv = NULL;
    sv_api_config ac = {
        .db_uri = s->db, .base_url = s->base_url[0] ? s->base_url : NULL, .busy_timeout_ms = 10000};
    sv_err e = sv_api_new(&ac, &api, &err);
    if (e) {
        fprintf(stderr, "samverka: cannot open database '%s': %s\n", s->db,
                err.len ? err.ptr : sv_strerror(e));
        sv_buf_release(&err);
        return 1;
    }
    hc.ctx = api;
    e = sv_http_server_start(&hc, &srv, &err);
    if (e) {
        fprintf(stderr, "samverka: %s\n", err.ptr);
        sv_buf_release(&err);
        sv_api_free(api);
        return 1;
    }
    if (!s->base_url[0]) {
        char base[600];
        snprintf(base, sizeof(base), "http://%s:%u", host, sv_http_server_port(srv));
        sv_api_set_base_url(api, base);
    }
    sv_log(SV_LOG_INFO, "event=listening address=%s:%u threads=%u version=%s", host,
           sv_http_server_port(srv), s->threads, SV_VERSION);
    /* The line scripts and tests wait for (stdout, flushed). */
    printf("samverka listening on http://%s:%u\n", host, sv_http_server_port(srv));
    fflush(stdout);
    int sig = 0;
    sigwait(&stop, &sig);
    sv_log(SV_LOG_INFO, "event=stopping signal=%d", sig);
    sv_http_server_stop(srv);
    sv_api_free(api);
    sv_log(SV_LOG_INFO, "event=stopped");
    sv_buf_release(&err);
    return 0;
}

static int open_rest(settings *s, sv_db **ret_db, sv_rest *rest)
{
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_db_open(s->db, NULL, ret_db, &err);
    if (!e)
        e = sv_schema_migrate(*ret_db, NULL, &err);
    if (e) {
        fprintf(stderr, "samverka: cannot open database '%s': %s\n", s->db,
                err.len ? err.ptr : sv_strerror(e));
        sv_buf_release(&err);
        sv_db_close(*ret_db);
        return -1;
    }
    sv_buf_release(&err);
    static char base[600];
    snprintf(base, sizeof(base), "%s/fhir", s->base_url[0] ? s->base_url : "http://localhost");
    rest->db = *ret_db;
    rest->base_url = base;
    rest->default_count = 50;
    rest->max_count = 1000;
    return 0;
}

static int load_files(settings *s, int n, char **files)
{
    sv_db *db = NULL;
    sv_rest rest;
    if (open_rest(s, &db, &rest) != 0)
        return 1;
    int rc = 0;
    sv_load_stats total = {0};
    for (int i = 0; i < n; i++) {
        sv_load_stats st = {0};
        sv_buf err = SV_BUF_INIT;
        sv_err e = sv_load_file(&rest, files[i], &st, &err);
        if (err.len)
            fputs(err.ptr, stderr);
        if (e)
            rc = 1;
        total.resources += st.resources;
        total.failed += st.failed;
        sv_buf_release(&err);
    }
    printf("loaded %zu resources, %zu failed\n", total.resources, total.failed);
    sv_db_close(db);
    return rc;
}

static int cmd_demo(settings *s)
{
    char pattern[1100];
    snprintf(pattern, sizeof(pattern), "%s/demo", s->data_dir);
    /* The demo files in a fixed order: organisations before the people in them. */
    static const char *const files[] = {"organizations.json", "practitioners.json",
                                        "citizens.json"};
    char *paths[3];
    char buf[3][1200];
    for (int i = 0; i < 3; i++) {
        snprintf(buf[i], sizeof(buf[i]), "%s/%s", pattern, files[i]);
        paths[i] = buf[i];
    }
    return load_files(s, 3, paths);
}

int main(int argc, char **argv)
{
    if (sodium_init() < 0) {
        fputs("samverka: libsodium failed to initialise\n", stderr);
        return 1;
    }
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    settings s;
    char **rest = calloc((size_t)argc, sizeof(char *));
    int nrest = 0;
    if (parse_args(&s, argc - 2, argv + 2, rest, &nrest) != 0) {
        free(rest);
        return 2;
    }
    sv_log_set_level(s.log_level);
    int rc = 2;
    bool help = wants_help(nrest, rest);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("samverka %s (sqlite schema %d)\n", SV_VERSION, sv_schema_latest());
        rc = 0;
    } else if (strcmp(cmd, "serve") == 0) {
        if (help) {
            fputs(usage_serve, stdout);
            rc = 0;
        } else if (nrest) {
            fprintf(stderr, "samverka serve: unknown argument '%s'\n%s", rest[0], usage_serve);
        } else {
            rc = cmd_serve(&s);
        }
    } else if (strcmp(cmd, "demo") == 0) {
        if (help) {
            fputs(usage_demo, stdout);
            rc = 0;
        } else {
            rc = cmd_demo(&s);
        }
    } else if (strcmp(cmd, "import") == 0) {
        if (help) {
            fputs(usage_import, stdout);
            rc = 0;
        } else if (nrest == 0) {
            fputs(usage_import, stderr);
        } else {
            rc = load_files(&s, nrest, rest);
        }
    } else if (strcmp(cmd, "migrate") == 0) {
        sv_db *db = NULL;
        sv_rest r;
        if (help) {
            puts("usage: samverka migrate [--db PATH]");
            rc = 0;
        } else if (open_rest(&s, &db, &r) == 0) {
            printf("schema at version %d\n", sv_schema_latest());
            sv_db_close(db);
            rc = 0;
        } else {
            rc = 1;
        }
    } else {
        fprintf(stderr, "samverka: unknown command '%s'\n%s", cmd, usage);
    }
    free(rest);
    return rc;
}
