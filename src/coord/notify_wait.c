/* notify_wait.c - see notify_wait.h. */
#include "coord/notify_wait.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed;
static pthread_once_t cond_once = PTHREAD_ONCE_INIT;
static uint64_t generation;
static int waiters;
static bool closed;

/* The condition variable measures its timeout on the monotonic clock, so that a
 * wall-clock step (NTP, a pinned test clock elsewhere) cannot stretch a wait. */
static void cond_init(void)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&changed, &attr);
    pthread_condattr_destroy(&attr);
}

uint64_t sv_coord_notice_generation(void)
{
    pthread_mutex_lock(&lock);
    uint64_t g = generation;
    pthread_mutex_unlock(&lock);
    return g;
}

void sv_coord_notice_wake(void)
{
    pthread_once(&cond_once, cond_init);
    pthread_mutex_lock(&lock);
    generation++;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

uint64_t sv_coord_notice_wait(uint64_t seen, int64_t timeout_ms)
{
    pthread_once(&cond_once, cond_init);
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    if (timeout_ms < 0)
        timeout_ms = 0;
    until.tv_sec += (time_t)(timeout_ms / 1000);
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&lock);
    while (generation == seen && !closed) {
        if (pthread_cond_timedwait(&changed, &lock, &until) == ETIMEDOUT)
            break;
    }
    uint64_t g = generation;
    pthread_mutex_unlock(&lock);
    return g;
}

void sv_coord_notice_close(void)
{
    pthread_once(&cond_once, cond_init);
    pthread_mutex_lock(&lock);
    closed = true;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

bool sv_coord_notice_waiter_enter(int max)
{
    pthread_mutex_lock(&lock);
    bool ok = waiters < max;
    if (ok)
        waiters++;
    pthread_mutex_unlock(&lock);
    return ok;
}

void sv_coord_notice_waiter_leave(void)
{
    pthread_mutex_lock(&lock);
    waiters--;
    pthread_mutex_unlock(&lock);
}

int sv_coord_notice_waiters(void)
{
    pthread_mutex_lock(&lock);
    int n = waiters;
    pthread_mutex_unlock(&lock);
    return n;
}
