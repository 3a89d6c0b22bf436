/*
 * postgres_listen.c - sv_db_listen (db.h): one PostgreSQL connection per
 * listener, in a thread of its own, that runs LISTEN and hands each
 * notification to the caller's function.  It is kept apart from the request
 * connections because a LISTEN connection must not be in a transaction to
 * receive anything, and because waiting on its socket must not hold up
 * statements.  A pipe wakes the thread for stop.
 */
#include "db/db.h"

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHANNEL_MAX 63 /* PostgreSQL's identifier length */
#define RECONNECT_MS 1000

struct sv_db_listener {
    char *uri;
    char channel[CHANNEL_MAX + 1];
    sv_db_listen_fn fn;
    void *ctx;
    PGconn *conn;
    int stop_pipe[2]; /* [0] polled by the thread, [1] written by stop */
    pthread_t thread;
    atomic_bool stopping;
};

static bool channel_valid(const char *c)
{
    size_t n = strlen(c);
    if (n == 0 || n > CHANNEL_MAX || (c[0] >= '0' && c[0] <= '9'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((c[i] >= 'a' && c[i] <= 'z') || (c[i] >= '0' && c[i] <= '9') || c[i] == '_'))
            return false;
    return true;
}

static bool is_postgres_uri(const char *uri)
{
    return strncmp(uri, "postgres://", 11) == 0 || strncmp(uri, "postgresql://", 13) == 0;
}

static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* A new connection that listens, or NULL (the message in reterr when given). */
static PGconn *connect_listening(const sv_db_listener *l, sv_buf *reterr)
{
    PGconn *conn = PQconnectdb(l->uri);
    if (!conn)
        return NULL;
    if (PQstatus(conn) == CONNECTION_OK) {
        PQsetNoticeProcessor(conn, ignore_notice, NULL);
        /* The channel was checked to be a plain identifier, so it is quoted as is. */
        sv_buf sql = SV_BUF_INIT;
        sv_buf_adds(&sql, "LISTEN \"");
        sv_buf_adds(&sql, l->channel);
        sv_buf_adds(&sql, "\"");
        PGresult *r = PQexec(conn, sql.ptr);
        bool ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        sv_buf_release(&sql);
        if (ok)
            return conn;
    }
    if (reterr) {
        /* libpq's message names host and port, never the password */
        const char *msg = PQerrorMessage(conn);
        size_t n = strlen(msg);
        while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
            n--;
        sv_buf_adds(reterr, "listen: ");
        sv_buf_add(reterr, msg, n);
    }
    PQfinish(conn);
    return NULL;
}

/* Waits for fd to be readable or for stop, up to timeout_ms (-1: no limit).
 * False when stop was asked. */
static bool wait_readable(sv_db_listener *l, int fd, int timeout_ms)
{
    struct pollfd p[2] = {{.fd = l->stop_pipe[0], .events = POLLIN}, {.fd = fd, .events = POLLIN}};
    int n = poll(p, fd >= 0 ? 2 : 1, timeout_ms);
    if (n < 0 && errno != EINTR)
        return !atomic_load(&l->stopping);
    return !(p[0].revents & POLLIN) && !atomic_load(&l->stopping);
}

static void *listen_thread(void *arg)
{
    sv_db_listener *l = arg;
    while (!atomic_load(&l->stopping)) {
        if (!l->conn) {
            if (!wait_readable(l, -1, RECONNECT_MS))
                break;
            l->conn = connect_listening(l, NULL);
            if (l->conn)
                l->fn(l->ctx, NULL); /* what was sent while away is lost: re-check */
            continue;
        }
        if (!wait_readable(l, PQsocket(l->conn), -1))
            break;
        if (!PQconsumeInput(l->conn) || PQstatus(l->conn) != CONNECTION_OK) {
            PQfinish(l->conn);
            l->conn = NULL;
            continue;
        }
        PGnotify *n;
        while ((n = PQnotifies(l->conn)) != NULL) {
            l->fn(l->ctx, n->extra ? n->extra : "");
            PQfreemem(n);
        }
    }
    return NULL;
}

static void listener_free(sv_db_listener *l)
{
    if (l->conn)
        PQfinish(l->conn);
    if (l->stop_pipe[0] >= 0)
        close(l->stop_pipe[0]);
    if (l->stop_pipe[1] >= 0)
        close(l->stop_pipe[1]);
    free(l->uri);
    free(l);
}

sv_err sv_db_listen(const char *uri, const char *channel, sv_db_listen_fn fn, void *ctx,
                    sv_db_listener **ret_listener, sv_buf *reterr)
{
    if (!is_postgres_uri(uri)) {
        if (reterr)
            sv_buf_adds(reterr, "listen: only PostgreSQL delivers notifications between processes");
        return SV_ERR_UNSUPPORTED;
    }
    if (!channel_valid(channel)) {
        if (reterr)
            sv_buf_addf(reterr, "listen: channel '%s' is not a plain identifier", channel);
        return SV_ERR_INVALID;
    }
    sv_db_listener *l = calloc(1, sizeof(*l));
    if (!l)
        return SV_ERR_NOMEM;
    l->stop_pipe[0] = l->stop_pipe[1] = -1;
    l->uri = strdup(uri);
    strcpy(l->channel, channel);
    l->fn = fn;
    l->ctx = ctx;
    atomic_init(&l->stopping, false);
    if (!l->uri || pipe(l->stop_pipe) != 0) {
        listener_free(l);
        return SV_ERR_NOMEM;
    }
    l->conn = connect_listening(l, reterr);
    if (!l->conn) {
        listener_free(l);
        return SV_ERR_IO;
    }
    if (pthread_create(&l->thread, NULL, listen_thread, l) != 0) {
        listener_free(l);
        return SV_ERR_NOMEM;
    }
    *ret_listener = l;
    return SV_OK;
}

void sv_db_listener_stop(sv_db_listener *l)
{
    if (!l)
        return;
    atomic_store(&l->stopping, true);
    ssize_t w;
    do
        w = write(l->stop_pipe[1], "x", 1);
    while (w < 0 && errno == EINTR);
    pthread_join(l->thread, NULL);
    listener_free(l);
}
