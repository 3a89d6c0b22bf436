/* notify_wait.c - see notify_wait.h. */
#include "coord/notify_wait.h"

#include <pthread.h>
#include <stddef.h>

/* Held while the waker runs, so that setting a new one (at shutdown) waits for
 * a call in progress. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static void (*waker)(void *ctx);
static void *waker_ctx;
static uint64_t wakes;

void sv_coord_notice_wake(void)
{
    pthread_mutex_lock(&lock);
    wakes++;
    if (waker)
        waker(waker_ctx);
    pthread_mutex_unlock(&lock);
}

void sv_coord_notice_set_waker(void (*fn)(void *ctx), void *ctx)
{
    pthread_mutex_lock(&lock);
    waker = fn;
    waker_ctx = ctx;
    pthread_mutex_unlock(&lock);
}

uint64_t sv_coord_notice_wakes(void)
{
    pthread_mutex_lock(&lock);
    uint64_t n = wakes;
    pthread_mutex_unlock(&lock);
    return n;
}
