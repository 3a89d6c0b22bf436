/*
 * pool.h - threads for the requests that wait (inside http/ only; server.c uses it).
 *
 * A libmicrohttpd worker serves many connections in one event loop, and it
 * accepts them in bursts, so that eight connections opened at once may all land
 * on one or two of its workers.  A handler that sleeps - a write waiting for the
 * database's single writer and for its group's sync - then stalls every other
 * connection of that worker: with eight connections on two workers, at most two
 * MedCom messages were ever in flight, and the writer's batches stayed small.
 * So the server suspends the connection of such a request and hands it to this
 * pool; a pool thread runs the handler and resumes the connection, and the
 * worker goes on with its other connections meanwhile.
 *
 * Items are run in the order pushed.  A thread is started when an item is pushed
 * and no thread waits for it, up to the bound; a thread, once started, stays until
 * sv__pool_stop (each keeps a database connection and its allocator's heap, so a
 * pool sized for a burst holds that memory after it).  sv__pool_stop runs what is
 * still queued, then joins the threads: nothing pushed is ever dropped.
 */
#ifndef SV_HTTP_POOL_H
#define SV_HTTP_POOL_H

#include <stdbool.h>

#include "base/error.h"

typedef struct sv__pool_item {
    struct sv__pool_item *next;
} sv__pool_item;

/* Runs on a pool thread; item is the pushed one (embed sv__pool_item in yours). */
typedef void (*sv__pool_fn)(void *ctx, sv__pool_item *item);

typedef struct sv__pool sv__pool;

/* A pool of at most threads (>= 1) threads that call fn(ctx, item) for each pushed
 * item; one runs from the start. */
sv_err sv__pool_start(unsigned threads, sv__pool_fn fn, void *ctx, sv__pool **ret_pool);
/* Queues item (not owned); any thread. */
void sv__pool_push(sv__pool *pool, sv__pool_item *item);
/* Runs every queued item, joins the threads and frees the pool.  Accepts NULL. */
void sv__pool_stop(sv__pool *pool);

#endif
