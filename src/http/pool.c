/* pool.c - see pool.h: threads over one first-in first-out queue, started as the
 * queue needs them, up to a bound. */
#include "http/pool.h"

#include <pthread.h>
#include <stdlib.h>

struct sv__pool {
    sv__pool_fn fn;
    void *ctx;
    pthread_mutex_t lock;
    pthread_cond_t more;
    sv__pool_item *head, *tail;
    bool stopping;
    unsigned queued;  /* items in the queue */
    unsigned waiting; /* threads waiting for one */
    unsigned nthreads, max;
    pthread_t threads[];
};

static void *run(void *arg)
{
    sv__pool *p = arg;
    pthread_setname_np(pthread_self(), "sv-write");
    pthread_mutex_lock(&p->lock);
    for (;;) {
        sv__pool_item *item = p->head;
        if (!item) {
            if (p->stopping)
                break;
            p->waiting++;
            pthread_cond_wait(&p->more, &p->lock);
            p->waiting--;
            continue;
        }
        p->queued--;
        p->head = item->next;
        if (!p->head)
            p->tail = NULL;
        pthread_mutex_unlock(&p->lock);
        item->next = NULL;
        p->fn(p->ctx, item);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static void join(sv__pool *p)
{
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->more);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->more);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

sv_err sv__pool_start(unsigned threads, sv__pool_fn fn, void *ctx, sv__pool **ret_pool)
{
    if (threads < 1)
        threads = 1;
    sv__pool *p = calloc(1, sizeof(*p) + threads * sizeof(p->threads[0]));
    if (!p)
        return SV_ERR_NOMEM;
    p->fn = fn;
    p->ctx = ctx;
    p->max = threads;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->more, NULL);
    /* One from the start, so that a failure to start more only slows the queue. */
    if (pthread_create(&p->threads[0], NULL, run, p) != 0) {
        join(p);
        return SV_ERR_NOMEM;
    }
    p->nthreads = 1;
    *ret_pool = p;
    return SV_OK;
}

void sv__pool_push(sv__pool *p, sv__pool_item *item)
{
    item->next = NULL;
    pthread_mutex_lock(&p->lock);
    if (p->tail)
        p->tail->next = item;
    else
        p->head = item;
    p->tail = item;
    p->queued++;
    /* More queued than threads waiting to take them: one more thread, up to max. */
    if (p->queued > p->waiting && p->nthreads < p->max &&
        pthread_create(&p->threads[p->nthreads], NULL, run, p) == 0)
        p->nthreads++;
    pthread_cond_signal(&p->more);
    pthread_mutex_unlock(&p->lock);
}

void sv__pool_stop(sv__pool *p)
{
    if (p)
        join(p);
}
