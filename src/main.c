/*
 * main.c - the samverka command: serve, demo, import, migrate, audit verify, version.
 *
 * Settings come from, in rising precedence: built-in defaults, a config file
 * (--config FILE, "key = value" lines), environment variables (SAMVERKA_*),
 * and command-line flags.  docs/configuration.md lists them all.
 */
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#ifdef SV_MIMALLOC
#include <mimalloc.h>
#endif
#endif
#include <signal.h>
#include <sodium.h>
#include <glob.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "api/api.h"
#include "auth/identity.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/version.h"
#include "http/server.h"
#include "db/db.h"
#include "demo.h"
#include "ops_commands.h"
#include "fhir/load.h"
#include "fhir/reindex.h"
#include "fhir/searchparam.h"
#include "medcom/medcom.h"
#include "store/audit.h"
#include "store/schema.h"

#ifndef SV_DATA_DIR
#define SV_DATA_DIR "data"
#endif
#ifndef SV_WEB_DIR
#define SV_WEB_DIR "web"
#endif

typedef struct settings {
    char listen[256];
    char db[1024];
    char base_url[512];
    char data_dir[1024];
    char web_dir[1024]; /* the web app's files; "" serves none */
    size_t max_body;
    size_t max_attachment; /* bytes of a message's attachments; 0: the default (50 MB) */
    unsigned threads;
    int write_threads;   /* for requests that may write (sv_http_config.waiting_threads); -1: by
                            backend */
    unsigned long_polls; /* parked long polls at most (sv_http_config.max_parked) */
    sv_log_level log_level;
    bool auth_on;               /* auth = on: /fhir needs a session or a bearer token */
    unsigned watchdog_s;        /* seconds between watchdog ticks; 0: no watchdog thread */
    bool test_endpoints;        /* /admin/clock and /admin/watchdog/tick (tests only) */
    bool rules_off;             /* rules = off: no stay rulesets (a plain FHIR store, for tests) */
    unsigned btg_hours;         /* the longest break-the-glass grant (docs/access.md) */
    unsigned min_cell;          /* results: counts below it are masked (docs/results.md) */
    bool mmap_on;               /* mmap = on: request threads map the SQLite file (1 GiB) */
    char medcom_endpoint[2048]; /* "SOR=URL,...,*=URL": where the outbox is delivered */
    char medcom_token[512];     /* bearer token sent with deliveries; "" none */
    unsigned medcom_batch_wait; /* ms the MedCom writer waits for more messages (0: none) */
} settings;

static void defaults(settings *s)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->listen, sizeof(s->listen), "127.0.0.1:8080");
    snprintf(s->db, sizeof(s->db), "var/samverka.db");
    snprintf(s->data_dir, sizeof(s->data_dir), "%s", SV_DATA_DIR);
    snprintf(s->web_dir, sizeof(s->web_dir), "%s", SV_WEB_DIR);
    s->max_body = 10u * 1024 * 1024;
    s->threads = 8;
    s->write_threads = -1;
    s->long_polls = 256;
    s->log_level = SV_LOG_INFO;
    s->watchdog_s = 60;
    s->btg_hours = 4;
    s->min_cell = 5;
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
    } else if (strcmp(key, "web_dir") == 0) {
        snprintf(s->web_dir, sizeof(s->web_dir), "%s", value);
    } else if (strcmp(key, "max_body") == 0) {
        unsigned long long n = strtoull(value, &end, 10);
        if (!*value || *end || n < 1024)
            return -1;
        s->max_body = (size_t)n;
    } else if (strcmp(key, "max_attachment") == 0) {
        unsigned long long n = strtoull(value, &end, 10);
        if (!*value || *end || n < 1)
            return -1;
        s->max_attachment = (size_t)n;
    } else if (strcmp(key, "threads") == 0) {
        unsigned long n = strtoul(value, &end, 10);
        if (!*value || *end || n < 1 || n > 256)
            return -1;
        s->threads = (unsigned)n;
    } else if (strcmp(key, "write_threads") == 0) {
        unsigned long n = strtoul(value, &end, 10);
        if (!*value || *end || n > 1024)
            return -1;
        s->write_threads = (int)n;
    } else if (strcmp(key, "medcom_batch_wait") == 0) {
        unsigned long n = strtoul(value, &end, 10);
        if (!*value || *end || n > 1000)
            return -1;
        s->medcom_batch_wait = (unsigned)n;
    } else if (strcmp(key, "long_polls") == 0) {
        unsigned long n = strtoul(value, &end, 10);
        if (!*value || *end || n > 4096)
            return -1;
        s->long_polls = (unsigned)n;
    } else if (strcmp(key, "log_level") == 0) {
        return parse_level(value, &s->log_level);
    } else if (strcmp(key, "auth") == 0) {
        if (strcmp(value, "on") != 0 && strcmp(value, "off") != 0)
            return -1;
        s->auth_on = strcmp(value, "on") == 0;
    } else if (strcmp(key, "watchdog") == 0) {
        unsigned long n = strtoul(value, &end, 10);
        if (!*value || *end || n > 86400)
            return -1;
        s->watchdog_s = (unsigned)n;
    } else if (strcmp(key, "medcom_endpoint") == 0) {
        if (strlen(value) >= sizeof(s->medcom_endpoint))
            return -1;
        snprintf(s->medcom_endpoint, sizeof(s->medcom_endpoint), "%s", value);
    } else if (strcmp(key, "medcom_token") == 0) {
        if (strlen(value) >= sizeof(s->medcom_token))
            return -1;
        snprintf(s->medcom_token, sizeof(s->medcom_token), "%s", value);
    } else if (strcmp(key, "rules") == 0) {
        if (strcmp(value, "on") != 0 && strcmp(value, "off") != 0)
            return -1;
        s->rules_off = strcmp(value, "off") == 0;
    } else if (strcmp(key, "btg_hours") == 0) {
        unsigned long n = strtoul(value, &end, 10);
        if (!*value || *end || n < 1 || n > 72)
            return -1;
        s->btg_hours = (unsigned)n;
    } else if (strcmp(key, "min_cell") == 0) {
        unsigned long n = strtoul(value, &end, 10);
        if (!*value || *end || n < 1 || n > 1000)
            return -1;
        s->min_cell = (unsigned)n;
    } else if (strcmp(key, "mmap") == 0) {
        if (strcmp(value, "on") != 0 && strcmp(value, "off") != 0)
            return -1;
        s->mmap_on = strcmp(value, "on") == 0;
    } else if (strcmp(key, "test_endpoints") == 0) {
        if (strcmp(value, "on") != 0 && strcmp(value, "off") != 0)
            return -1;
        s->test_endpoints = strcmp(value, "on") == 0;
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
    } vars[] = {{"SAMVERKA_LISTEN", "listen"},
                {"SAMVERKA_DB", "db"},
                {"SAMVERKA_BASE_URL", "base_url"},
                {"SAMVERKA_DATA_DIR", "data_dir"},
                {"SAMVERKA_MAX_BODY", "max_body"},
                {"SAMVERKA_MAX_ATTACHMENT", "max_attachment"},
                {"SAMVERKA_THREADS", "threads"},
                {"SAMVERKA_WRITE_THREADS", "write_threads"},
                {"SAMVERKA_LONG_POLLS", "long_polls"},
                {"SAMVERKA_LOG_LEVEL", "log_level"},
                {"SAMVERKA_AUTH", "auth"},
                {"SAMVERKA_WATCHDOG", "watchdog"},
                {"SAMVERKA_TEST_ENDPOINTS", "test_endpoints"},
                {"SAMVERKA_RULES", "rules"},
                {"SAMVERKA_BTG_HOURS", "btg_hours"},
                {"SAMVERKA_MIN_CELL", "min_cell"},
                {"SAMVERKA_MMAP", "mmap"},
                {"SAMVERKA_WEB_DIR", "web_dir"},
                {"SAMVERKA_MEDCOM_ENDPOINT", "medcom_endpoint"},
                {"SAMVERKA_MEDCOM_TOKEN", "medcom_token"},
                {"SAMVERKA_MEDCOM_BATCH_WAIT", "medcom_batch_wait"}};
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
} flags[] = {{"--listen", "listen"},
             {"--db", "db"},
             {"--base-url", "base_url"},
             {"--data", "data_dir"},
             {"--max-body", "max_body"},
             {"--max-attachment", "max_attachment"},
             {"--threads", "threads"},
             {"--write-threads", "write_threads"},
             {"--long-polls", "long_polls"},
             {"--log-level", "log_level"},
             {"--auth", "auth"},
             {"--watchdog", "watchdog"},
             {"--test-endpoints", "test_endpoints"},
             {"--rules", "rules"},
             {"--btg-hours", "btg_hours"},
             {"--min-cell", "min_cell"},
             {"--mmap", "mmap"},
             {"--web", "web_dir"},
             {"--medcom-endpoint", "medcom_endpoint"},
             {"--medcom-token", "medcom_token"},
             {"--medcom-batch-wait", "medcom_batch_wait"}};

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
    "  import    load Bundle or NDJSON files, or an export directory, into the database\n"
    "  export    write everything in the database to a directory as NDJSON\n"
    "  backup    copy the SQLite database to a file while it is in use\n"
    "  migrate   bring the database schema up to date and exit\n"
    "  audit     verify the audit log's hash chain (audit verify)\n"
    "  reindex   rebuild the search-index rows of every current resource\n"
    "  user      add, list or disable users (user add|list|disable)\n"
    "  token     create a bearer token for an API client (token create)\n"
    "  version   print the version\n"
    "\n"
    "common options (also SAMVERKA_* environment variables and --config FILE):\n"
    "  --db PATH|URI        SQLite file, or postgres://user@host:port/db (default\n"
    "                       var/samverka.db)\n"
    "  --config FILE        read 'key = value' settings from FILE\n"
    "  --log-level LEVEL    debug, info, warn, error (default info)\n"
    "\n"
    "run 'samverka <command> --help' for the options of one command.\n";

static const char usage_serve[] =
    "usage: samverka serve [--listen HOST:PORT] [--db PATH] [options]\n"
    "  --listen HOST:PORT   address to listen on (default 127.0.0.1:8080; port 0 = any)\n"
    "  --db PATH|URI        SQLite database file (created if missing), or a PostgreSQL\n"
    "                       database: postgres://user[:password]@host:port/db[?params]\n"
    "  --base-url URL       public base url for links (default http://HOST:PORT)\n"
    "  --max-body BYTES     largest request body (default 10485760)\n"
    "  --threads N          worker threads (default 8)\n"
    "  --write-threads N    threads for requests that may write (POST, PUT, PATCH, DELETE),\n"
    "                       which wait for the database's writer without holding a worker\n"
    "                       (at most, started as needed; default 128 on SQLite, --threads\n"
    "                       on PostgreSQL, where each holds a server connection; 0: they\n"
    "                       run on the workers)\n"
    "  --long-polls N       long polls (GET /notifications?wait=) waiting at once (default 256)\n"
    "  --log-level LEVEL    debug, info, warn, error\n"
    "  --auth on|off        on: /fhir needs a session or a bearer token (default off)\n"
    "  --watchdog SECONDS   seconds between watchdog ticks (default 60; 0: none)\n"
    "  --max-attachment BYTES  the most a message's attachments may hold (default 50 MB)\n"
    "  --test-endpoints on|off  on: POST /admin/clock and /admin/watchdog/tick (tests only)\n"
    "  --rules on|off       off: no stay rulesets run on admissions and discharges\n"
    "                       (a plain FHIR store; default on)\n"
    "  --btg-hours N        longest break-the-glass grant in hours (default 4; 1..72)\n"
    "  --min-cell N             results: counts from 1 to N-1 are masked (default 5)\n"
    "  --mmap on|off        on: request threads read the SQLite file mapped (up to 1 GiB;\n"
    "                       less CPU per read, but mapped pages count as resident; default off)\n"
    "  --web DIR            the web app's files, served at / (default the source's web/;\n"
    "                       '' serves none)\n"
    "  --medcom-endpoint SOR=URL[,SOR=URL,*=URL]  where the MedCom outbox is delivered, by\n"
    "                       the receiver's SOR id ('*': any other); unset: nothing is sent\n"
    "  --medcom-token TOKEN bearer token sent with those deliveries\n"
    "  --medcom-batch-wait MS  the writer of incoming MedCom messages waits up to MS ms\n"
    "                       for more before it applies them in one transaction (0..1000;\n"
    "                       default 0: it takes what is queued)\n"
    "  --config FILE        settings file\n"
    "SIGINT or SIGTERM: stop accepting, finish requests in flight, close, exit 0.\n";

static const char usage_demo[] =
    "usage: samverka demo [--db PATH] [--data DIR]\n"
    "Loads DIR/demo/*.json (default data/demo: organisations, staff, citizens, their\n"
    "stories, municipal offers), the pathway programmes (DIR/pathways), indicators and\n"
    "questionnaires into the database and creates the demo logins of DIR/demo/users.json,\n"
    "printing each new one with its password.  Loading twice is harmless: demo resources\n"
    "have fixed ids, existing logins are kept.\n";

static const char usage_import[] = "usage: samverka import [--db PATH] FILE...\n"
                                   "       samverka import [--db URI] DIR\n"
                                   "Loads each FILE: a transaction, batch or collection\n"
                                   "Bundle, a single resource, or NDJSON (one resource per\n"
                                   "line).  Resources with an id keep it.  DIR: what\n"
                                   "`samverka export` wrote, into an empty database.\n";

static const char usage_audit[] =
    "usage: samverka audit verify [--db PATH]\n"
    "Walks the audit log's hash chain from the first record to the last and checks it\n"
    "against the stored head.  Prints 'audit: N records, chain ok' and exits 0, or\n"
    "names the first broken record and exits 1 (docs/audit.md).\n";

static bool wants_help(int n, char **rest)
{
    for (int i = 0; i < n; i++)
        if (strcmp(rest[i], "--help") == 0 || strcmp(rest[i], "-h") == 0)
            return true;
    return false;
}

/* The database for messages: a URI's password replaced by "***". */
static const char *db_label(const char *db, char out[1024])
{
    const char *scheme = strstr(db, "://");
    const char *at = scheme ? strchr(scheme + 3, '@') : NULL;
    const char *colon = at ? memchr(scheme + 3, ':', (size_t)(at - scheme - 3)) : NULL;
    if (!colon) {
        snprintf(out, 1024, "%s", db);
        return out;
    }
    snprintf(out, 1024, "%.*s:***%s", (int)(colon - db), db, at);
    return out;
}

/*
 * glibc's malloc gives each thread that allocates its own arena (up to eight per core)
 * and raises its mmap threshold whenever a large block is freed, so that later large
 * blocks (request bodies, Bundles) come from an arena instead of mmap.  Freed memory in
 * an arena mostly stays resident: under the soak (bench/soak.sh) the server's allocated
 * memory went up and down between 5.5 and 11 MiB while the free memory held by its
 * eleven arenas grew from 4 to 9 MiB, and resident memory with it (docs/robustness.md).
 * Two arenas and a fixed threshold (large blocks always mmap'd, and returned when
 * freed) keep that bounded; MALLOC_ARENA_MAX or MALLOC_MMAP_THRESHOLD_ in the
 * environment still wins.
 */
/* The write pool's bound: on SQLite 128, two of the MedCom writer's largest batches,
 * one applied while the other waits for its commit (with 64 senders and 64 threads
 * 1,594-1,899 msg/s, with 128 2,057-2,336: docs/performance/medcom-writer.md); on
 * PostgreSQL each thread holds a server connection of its own, and two processes of
 * 64 passed the test cluster's max_connections, so as many as the workers. */
static unsigned write_threads(const settings *s)
{
    if (s->write_threads >= 0)
        return (unsigned)s->write_threads;
    return sv_db_uri_dialect(s->db) == SV_DIALECT_POSTGRES ? s->threads : 128;
}

static void tune_malloc(void)
{
#ifdef SV_MIMALLOC
    /* Hand freed memory back at once and commit segments as they fill, not whole: with
     * mimalloc's defaults 20,000 mixed reads left 51.8 MiB resident (38 anonymous),
     * with these 39.0 (25.4) - issue 9 wants < 50 MB with a large database open
     * (bench/memory.sh).  MIMALLOC_* in the environment still wins. */
    if (!getenv("MIMALLOC_EAGER_COMMIT"))
        mi_option_set(mi_option_eager_commit, 0);
    if (!getenv("MIMALLOC_PAGE_RESET"))
        mi_option_set(mi_option_page_reset, 1);
    if (!getenv("MIMALLOC_DECOMMIT_DELAY"))
        mi_option_set(mi_option_decommit_delay, 0);
    if (!getenv("MIMALLOC_SEGMENT_DECOMMIT_DELAY"))
        mi_option_set(mi_option_segment_decommit_delay, 0);
#endif
#if defined(__GLIBC__) && !defined(SV_MIMALLOC)
    if (!getenv("MALLOC_ARENA_MAX"))
        mallopt(M_ARENA_MAX, 2);
    if (!getenv("MALLOC_MMAP_THRESHOLD_"))
        mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
}

/* Waits for a stop signal.  Meanwhile, after TRIM_SECONDS in which no request was
 * answered, hands the free pages inside malloc's arenas back to the kernel (glibc; with
 * mimalloc, which returns freed pages on its own after a short delay, mi_collect frees
 * what it still caches), so that resident memory follows what is allocated rather than
 * the most that ever was.
 * Only when idle: malloc_trim holds each arena's lock while it walks it, and every
 * request thread allocating meanwhile waits (with it every 10 s under load the reads'
 * p99 was 124 ms, without 88 ms — one run each; docs/performance.md). */
#define TRIM_SECONDS 10
/* A notice committed (coord/notify_wait.h): the parked long polls look again. */
static void wake_parked(void *srv)
{
    sv_http_server_wake(srv);
}

static int wait_for_stop(const sigset_t *stop)
{
#ifdef __GLIBC__
    struct timespec every = {.tv_sec = TRIM_SECONDS, .tv_nsec = 0};
    int64_t seen = sv_metrics_requests_total(), trimmed_at = -1;
    for (;;) {
        int sig = sigtimedwait(stop, NULL, &every);
        if (sig > 0)
            return sig;
        if (errno != EAGAIN)
            continue;
        int64_t now = sv_metrics_requests_total();
        if (now == seen && now != trimmed_at) { /* idle for a whole interval: once */
#ifdef SV_MIMALLOC
            mi_collect(true);
#else
            malloc_trim(0);
#endif
            trimmed_at = now;
        }
        seen = now;
    }
#else
    int sig = 0;
    sigwait(stop, &sig);
    return sig;
#endif
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
    tune_malloc();
    sv_medcom_set_batch_wait((int)s->medcom_batch_wait);

    sv_searchparam_init();
    sv_http_config hc = {.host = host,
                         .port = port,
                         .max_body = s->max_body,
                         .threads = s->threads,
                         .max_parked = s->long_polls,
                         .timeout_s = 30,
                         .drain_ms = 10000,
                         .handler = sv_api_handle,
                         .waits = sv_api_waits,
                         .waiting_threads = write_threads(s)};
    sv_buf err = SV_BUF_INIT;
    sv_api *api = NULL;
    sv_http_server *srv = NULL;
    char rulesets_dir[1100];
    snprintf(rulesets_dir, sizeof(rulesets_dir), "%s/rulesets", s->data_dir);
    sv_api_config ac = {.db_uri = s->db,
                        .base_url = s->base_url[0] ? s->base_url : NULL,
                        .busy_timeout_ms = 10000,
                        .auth_required = s->auth_on,
                        .watchdog_interval_ms = (int)s->watchdog_s * 1000,
                        .test_endpoints = s->test_endpoints,
                        .data_dir = s->data_dir,
                        .max_attachment = s->max_attachment,
                        .rulesets_dir = s->rules_off ? NULL : rulesets_dir,
                        .btg_hours = (int)s->btg_hours,
                        .min_cell = (int)s->min_cell,
                        .map_file = s->mmap_on,
                        .web_dir = s->web_dir,
                        .medcom_endpoint = s->medcom_endpoint,
                        .medcom_token = s->medcom_token[0] ? s->medcom_token : NULL};
    sv_err e = sv_api_new(&ac, &api, &err);
    if (e) {
        char label[1024];
        fprintf(stderr, "samverka: cannot open database '%s': %s\n", db_label(s->db, label),
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
    sv_api_set_waker(api, wake_parked, srv);
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
    int sig = wait_for_stop(&stop);
    sv_log(SV_LOG_INFO, "event=stopping signal=%d", sig);
    sv_api_set_waker(api, NULL, NULL); /* before srv goes */
    sv_http_server_stop(srv);
    sv_db_write_stats writes;
    sv_api_write_counts(api, &writes);
    sv_medcom_writer_stats mc;
    sv_medcom_writer_stats_get(&mc);
    sv_api_free(api);
    sv_log(SV_LOG_INFO,
           "event=stopped write_transactions=%lld durable_commits=%lld joined=%lld log_syncs=%lld "
           "checkpoints=%lld medcom_batches=%lld medcom_messages=%lld medcom_refusals=%lld",
           (long long)writes.transactions, (long long)writes.commits, (long long)writes.joined,
           (long long)writes.syncs, (long long)writes.checkpoints, (long long)mc.batches,
           (long long)mc.messages, (long long)mc.refusals);
    sv_buf_release(&err);
    return 0;
}

static int open_rest(settings *s, sv_db **ret_db, sv_rest *rest)
{
    sv_buf err = SV_BUF_INIT;
    char label[1024];
    sv_err e = sv_db_open(s->db, NULL, ret_db, &err);
    if (!e)
        e = sv_schema_migrate(*ret_db, NULL, &err);
    if (!e)
        e = sv_fhir_access_build(*ret_db, &err);
    if (e) {
        fprintf(stderr, "samverka: cannot open database '%s': %s\n", db_label(s->db, label),
                err.len ? err.ptr : sv_strerror(e));
        sv_buf_release(&err);
        sv_db_close(*ret_db);
        return -1;
    }
    sv_buf_release(&err);
    memset(rest, 0, sizeof(*rest));
    rest->actor = &sv_audit_system; /* import and demo: the process itself */
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

/* The resources of data/<folder>/ (one JSON resource per file, its id kept):
 * the Measures of the results indicators and the Questionnaires. */
static int load_definitions(settings *s, const char *folder)
{
    char dir[1200];
    snprintf(dir, sizeof(dir), "%s/%s", s->data_dir, folder);
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "samverka: cannot read '%s'\n", dir);
        return 1;
    }
    sv_db *db = NULL;
    sv_rest rest;
    if (open_rest(s, &db, &rest) != 0) {
        closedir(d);
        return 1;
    }
    int rc = 0;
    size_t loaded = 0;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        size_t len = strlen(ent->d_name);
        if (len < 6 || strcmp(ent->d_name + len - 5, ".json") != 0)
            continue;
        char path[1500];
        snprintf(path, sizeof(path), "%s/%s", dir, ent->d_name);
        json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
        const char *type = json_string_value(json_object_get(j, "resourceType"));
        const char *id = json_string_value(json_object_get(j, "id"));
        sv_rest_result res;
        sv_rest_result_init(&res);
        sv_err e = type && id ? sv_rest_update(&rest, type, id, j, NULL, &res) : SV_ERR_INVALID;
        if (e) {
            fprintf(stderr, "samverka: %s: %s\n", path,
                    res.outcome.len ? res.outcome.issues[0].diagnostics : sv_strerror(e));
            rc = 1;
        } else {
            loaded++;
        }
        sv_rest_result_clear(&res);
        json_decref(j);
    }
    closedir(d);
    sv_db_close(db);
    printf("loaded %zu %s\n", loaded, folder);
    return rc;
}

static int cmd_demo(settings *s)
{
    /* The organisations, staff, citizens and their stories, and the demo logins
     * (demo.c); then the municipal offers and every pathway programme. */
    sv_db *db = NULL;
    sv_rest rest;
    if (open_rest(s, &db, &rest) != 0)
        return 1;
    int rc = sv_demo_run(&rest, s->data_dir);
    sv_db_close(db);
    char services[1200];
    snprintf(services, sizeof(services), "%s/demo/services.json", s->data_dir);
    char *paths[65] = {services};
    int n = 1;
    char pattern[1200];
    snprintf(pattern, sizeof(pattern), "%s/pathways/*.json", s->data_dir);
    glob_t g;
    memset(&g, 0, sizeof(g));
    int gr = glob(pattern, 0, NULL, &g); /* sorted: a fixed order */
    for (size_t i = 0; gr == 0 && i < g.gl_pathc && n < 65; i++)
        paths[n++] = g.gl_pathv[i];
    if (!rc)
        rc = load_files(s, n, paths);
    globfree(&g);
    return load_definitions(s, "indicators") || load_definitions(s, "questionnaires") ? 1 : rc;
}

/* samverka audit verify: exit 0 when the chain holds, 1 when it is broken or
 * cannot be read. */
static int cmd_audit_verify(settings *s)
{
    sv_db *db = NULL;
    sv_rest rest;
    if (!strstr(s->db, "://") && access(s->db, F_OK) != 0) {
        fprintf(stderr, "samverka: no database at '%s'\n", s->db);
        return 1;
    }
    if (open_rest(s, &db, &rest) != 0)
        return 1;
    sv_audit_report rep;
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_audit_verify(db, &rep, &err);
    sv_db_close(db);
    if (e) {
        fprintf(stderr, "samverka: cannot read the audit log: %s\n",
                err.len ? err.ptr : sv_strerror(e));
        sv_buf_release(&err);
        return 1;
    }
    sv_buf_release(&err);
    switch (rep.problem) {
    case SV_AUDIT_OK:
        printf("audit: %lld records, chain ok\n", (long long)rep.records);
        printf("audit: last hash %s\n", rep.last_hash);
        return 0;
    case SV_AUDIT_CHANGED:
        printf("audit: record %lld does not match its hash (changed)\n", (long long)rep.seq);
        break;
    case SV_AUDIT_UNLINKED:
        if (rep.prev_seq)
            printf("audit: record %lld: previous hash does not match record %lld (deleted or "
                   "reordered)\n",
                   (long long)rep.seq, (long long)rep.prev_seq);
        else
            printf("audit: record %lld: previous hash is not the start of the chain (deleted or "
                   "reordered)\n",
                   (long long)rep.seq);
        break;
    case SV_AUDIT_TRUNCATED:
        if (rep.records < rep.head_records || rep.seq < rep.head_seq)
            printf("audit: the log ends at record %lld but %lld records were written, the last "
                   "being record %lld (truncated)\n",
                   (long long)rep.seq, (long long)rep.head_records, (long long)rep.head_seq);
        else
            printf("audit: the log ends at record %lld but the head says %lld records ending at "
                   "record %lld (records added or head changed)\n",
                   (long long)rep.seq, (long long)rep.head_records, (long long)rep.head_seq);
        break;
    }
    return 1;
}

/* ---- users and tokens (docs/identity.md) ---- */

static const char usage_user[] =
    "usage: samverka user add --username U --kind practitioner|citizen|relative|admin\n"
    "                         [--practitioner-role ID[,ID...]]... [--patient ID]\n"
    "                         [--related-person ID]\n"
    "                         [--password-stdin]\n"
    "       samverka user list\n"
    "       samverka user disable U\n"
    "add: without --password-stdin a random password is generated and printed once.\n"
    "A practitioner may have several roles (a list, or the flag repeated): the first is\n"
    "the default of each session; POST /auth/role switches (docs/identity.md).\n"
    "disable: the user can no longer log in; their sessions end.\n";

static const char usage_token[] =
    "usage: samverka token create --client NAME --scope \"system/Task.read system/Patient.read\"\n"
    "Creates (or re-scopes) the API client NAME and prints a new bearer token once.  The\n"
    "token is also the client's secret for POST /auth/token (client credentials).\n";

/* The value after option name in rest, or NULL; *ret_bad when it has none. */
static const char *option(int n, char **rest, const char *name, bool *ret_bad)
{
    for (int i = 0; i < n; i++)
        if (strcmp(rest[i], name) == 0) {
            if (i + 1 >= n) {
                *ret_bad = true;
                return NULL;
            }
            return rest[i + 1];
        }
    return NULL;
}

static bool flag_given(int n, char **rest, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(rest[i], name) == 0)
            return true;
    return false;
}

static void print_user(void *ctx, const sv_auth_user *u, bool disabled)
{
    (void)ctx;
    printf("%s\t%s\t%s", u->username, sv_principal_kind_name(u->kind),
           disabled ? "disabled" : "active");
    /* One column per role: "PractitionerRole/a<TAB>PractitionerRole/b". */
    for (const char *r = u->practitioner_role; r && *r;) {
        size_t len = strcspn(r, ",");
        printf("\tPractitionerRole/%.*s", (int)len, r);
        r += len + (r[len] == ',');
    }
    printf("%s%s%s%s\n", u->patient ? "\tPatient/" : "", u->patient ? u->patient : "",
           u->related_person ? "\tRelatedPerson/" : "", u->related_person ? u->related_person : "");
}

/* Every --practitioner-role value (each may itself be "a,b"), joined by commas into
 * out; false when they do not fit or a flag has no value. */
static bool roles_option(int n, char **rest, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (strcmp(rest[i], "--practitioner-role") != 0)
            continue;
        if (i + 1 >= n)
            return false;
        size_t len = strlen(rest[i + 1]);
        if (used + len + 2 > cap)
            return false;
        if (used)
            out[used++] = ',';
        memcpy(out + used, rest[i + 1], len + 1);
        used += len;
        i++;
    }
    return true;
}

static int cmd_user(settings *s, int n, char **rest)
{
    if (n < 1) {
        fputs(usage_user, stderr);
        return 2;
    }
    bool bad = false;
    sv_auth_user u = {0};
    char password[4100] = "", roles[SV_AUTH_ROLES_MAX];
    if (strcmp(rest[0], "add") == 0) {
        u.username = option(n, rest, "--username", &bad);
        const char *kind = option(n, rest, "--kind", &bad);
        if (!roles_option(n, rest, roles, sizeof(roles)))
            bad = true;
        u.practitioner_role = roles[0] ? roles : NULL;
        u.patient = option(n, rest, "--patient", &bad);
        u.related_person = option(n, rest, "--related-person", &bad);
        if (bad || !u.username || !sv_principal_kind_parse(kind, &u.kind)) {
            fputs(usage_user, stderr);
            return 2;
        }
        if (flag_given(n, rest, "--password-stdin")) {
            if (!fgets(password, sizeof(password), stdin)) {
                fputs("samverka: no password on stdin\n", stderr);
                return 2;
            }
            password[strcspn(password, "\r\n")] = '\0';
        } else {
            sv_auth_password_generate(password);
        }
    } else if (strcmp(rest[0], "disable") == 0) {
        if (n != 2) {
            fputs(usage_user, stderr);
            return 2;
        }
    } else if (strcmp(rest[0], "list") != 0) {
        fputs(usage_user, stderr);
        return 2;
    }
    sv_db *db = NULL;
    sv_rest r;
    if (open_rest(s, &db, &r) != 0)
        return 1;
    sv_buf err = SV_BUF_INIT;
    sv_err e;
    if (strcmp(rest[0], "add") == 0) {
        e = sv_auth_user_add(db, &u, password, &err);
        if (!e && !flag_given(n, rest, "--password-stdin"))
            printf("user %s added; password (shown once): %s\n", u.username, password);
        else if (!e)
            printf("user %s added\n", u.username);
        sodium_memzero(password, sizeof(password));
    } else if (strcmp(rest[0], "disable") == 0) {
        e = sv_auth_user_disable(db, rest[1], &err);
        if (!e)
            printf("user %s disabled\n", rest[1]);
    } else {
        e = sv_auth_user_list(db, print_user, NULL, &err);
    }
    if (e)
        fprintf(stderr, "samverka user: %s\n", err.len ? err.ptr : sv_strerror(e));
    sv_buf_release(&err);
    sv_db_close(db);
    return e ? 1 : 0;
}

static int cmd_token(settings *s, int n, char **rest)
{
    bool bad = false;
    const char *client = option(n, rest, "--client", &bad);
    const char *scope = option(n, rest, "--scope", &bad);
    if (n < 1 || strcmp(rest[0], "create") != 0 || bad || !client || !scope) {
        fputs(usage_token, stderr);
        return 2;
    }
    sv_db *db = NULL;
    sv_rest r;
    if (open_rest(s, &db, &r) != 0)
        return 1;
    sv_buf err = SV_BUF_INIT;
    char token[SV_AUTH_SECRET_LEN];
    sv_err e = sv_auth_token_create(db, client, scope, token, &err);
    if (e) {
        fprintf(stderr, "samverka token: %s\n", err.len ? err.ptr : sv_strerror(e));
    } else {
        /* The token alone on stdout, so that scripts can capture it. */
        printf("%s\n", token);
        fprintf(stderr, "token for client %s with scope '%s' (shown once)\n", client, scope);
        sodium_memzero(token, sizeof(token));
    }
    sv_buf_release(&err);
    sv_db_close(db);
    return e ? 1 : 0;
}

/* ---- reindex ---- */

static const char usage_reindex[] =
    "usage: samverka reindex [--db PATH] [--batch N]\n"
    "Rebuilds the search-index and compartment rows of every current resource from\n"
    "its stored JSON, N resources per transaction (default 500), printing progress.\n"
    "Versions and history are unchanged; the server may keep running.\n";

static void print_progress(void *ctx, int64_t done, int64_t total)
{
    (void)ctx;
    printf("reindex: %lld of %lld resources\n", (long long)done, (long long)total);
    fflush(stdout);
}

static int cmd_reindex(settings *s, int n, char **rest)
{
    bool bad = false;
    const char *batch_arg = option(n, rest, "--batch", &bad);
    long batch = SV_REINDEX_BATCH;
    if (batch_arg) {
        char *end = NULL;
        batch = strtol(batch_arg, &end, 10);
        bad = bad || !end || *end || batch < 1 || batch > 1000000;
    }
    if (bad || n != (batch_arg ? 2 : 0)) {
        fputs(usage_reindex, stderr);
        return 2;
    }
    if (!strstr(s->db, "://") && access(s->db, F_OK) != 0) {
        fprintf(stderr, "samverka: no database at '%s'\n", s->db);
        return 1;
    }
    sv_db *db = NULL;
    sv_rest r;
    if (open_rest(s, &db, &r) != 0)
        return 1;
    sv_buf err = SV_BUF_INIT;
    int64_t done = 0;
    sv_err e = sv_fhir_reindex(db, (size_t)batch, print_progress, NULL, &done, &err);
    if (e)
        fprintf(stderr, "samverka reindex: %s (after %lld resources)\n",
                err.len ? err.ptr : sv_strerror(e), (long long)done);
    else
        printf("reindex: done, %lld resources\n", (long long)done);
    sv_buf_release(&err);
    sv_db_close(db);
    return e ? 1 : 0;
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
        } else if (sv_cmd_import_is_dump(nrest, rest)) {
            rc = sv_cmd_import_dump(s.db, rest[0]);
        } else {
            rc = load_files(&s, nrest, rest);
        }
    } else if (strcmp(cmd, "export") == 0 || strcmp(cmd, "backup") == 0) {
        bool exp = strcmp(cmd, "export") == 0;
        if (help) {
            fputs(exp ? sv_usage_export : sv_usage_backup, stdout);
            rc = 0;
        } else {
            rc = exp ? sv_cmd_export(s.db, nrest, rest) : sv_cmd_backup(s.db, nrest, rest);
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
    } else if (strcmp(cmd, "user") == 0) {
        if (help) {
            fputs(usage_user, stdout);
            rc = 0;
        } else {
            rc = cmd_user(&s, nrest, rest);
        }
    } else if (strcmp(cmd, "token") == 0) {
        if (help) {
            fputs(usage_token, stdout);
            rc = 0;
        } else {
            rc = cmd_token(&s, nrest, rest);
        }
    } else if (strcmp(cmd, "reindex") == 0) {
        if (help) {
            fputs(usage_reindex, stdout);
            rc = 0;
        } else {
            rc = cmd_reindex(&s, nrest, rest);
        }
    } else if (strcmp(cmd, "audit") == 0) {
        if (help) {
            fputs(usage_audit, stdout);
            rc = 0;
        } else if (nrest == 1 && strcmp(rest[0], "verify") == 0) {
            rc = cmd_audit_verify(&s);
        } else {
            fputs(usage_audit, stderr);
        }
    } else {
        fprintf(stderr, "samverka: unknown command '%s'\n%s", cmd, usage);
    }
    free(rest);
    return rc;
}
