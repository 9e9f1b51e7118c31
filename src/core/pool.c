/*
 * pool.c — the thread pool.
 *
 * A job is published by bumping `generation`; workers spin on it for a short
 * while (decode runs hundreds of tiny jobs per token, and a sleep/wake costs
 * more than the job), then wait on a condition variable. Each worker runs
 * fn(arg, ith, nth) and decrements `pending`; the caller runs ith 0 itself
 * and then waits for pending to reach 0.
 */
#include "hearth/core.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

#define SPIN_ITERS 200000

struct worker {
    struct hearth_pool *pool;
    int ith;
    pthread_t thread;
};

struct hearth_pool {
    int n;                      /* threads, caller included */
    struct worker *workers;     /* n - 1 background workers */
    hearth_pool_fn fn;
    void *arg;
    atomic_uint generation;     /* bumped for each job */
    atomic_int pending;         /* workers still running the current job */
    atomic_int sleepers;        /* workers waiting on cond */
    atomic_bool stop;
    pthread_mutex_t mu;
    pthread_cond_t cond;
};

static void *worker_main(void *p) {
    struct worker *w = p;
    struct hearth_pool *pool = w->pool;
    unsigned seen = 0;
    for (;;) {
        unsigned gen;
        int spins = 0;
        while ((gen = atomic_load_explicit(&pool->generation, memory_order_acquire)) == seen &&
               !atomic_load(&pool->stop)) {
            if (++spins < SPIN_ITERS) {
                if (spins % 1024 == 0) sched_yield();   /* oversubscribed: let others run */
                else cpu_relax();
                continue;
            }
            pthread_mutex_lock(&pool->mu);
            atomic_fetch_add(&pool->sleepers, 1);
            while (atomic_load(&pool->generation) == seen && !atomic_load(&pool->stop))
                pthread_cond_wait(&pool->cond, &pool->mu);
            atomic_fetch_sub(&pool->sleepers, 1);
            pthread_mutex_unlock(&pool->mu);
            spins = 0;
        }
        if (atomic_load(&pool->stop)) return NULL;
        seen = gen;
        pool->fn(pool->arg, w->ith, pool->n);
        atomic_fetch_sub_explicit(&pool->pending, 1, memory_order_release);
    }
}

int hearth_cpu_count(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

hearth_pool *hearth_pool_create(int n_threads) {
    if (n_threads <= 0) n_threads = hearth_cpu_count();
    struct hearth_pool *pool = calloc(1, sizeof *pool);
    if (!pool) return NULL;
    pool->n = n_threads;
    pthread_mutex_init(&pool->mu, NULL);
    pthread_cond_init(&pool->cond, NULL);
    if (n_threads > 1) {
        pool->workers = calloc((size_t)n_threads - 1, sizeof *pool->workers);
        if (!pool->workers) { free(pool); return NULL; }
        for (int i = 1; i < n_threads; i++) {
            struct worker *w = &pool->workers[i - 1];
            w->pool = pool;
            w->ith = i;
            if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
                pool->n = i;   /* run with the threads we got */
                break;
            }
        }
    }
    return pool;
}

void hearth_pool_free(hearth_pool *pool) {
    if (!pool) return;
    pthread_mutex_lock(&pool->mu);
    atomic_store(&pool->stop, true);
    pthread_cond_broadcast(&pool->cond);
    pthread_mutex_unlock(&pool->mu);
    for (int i = 1; i < pool->n; i++) pthread_join(pool->workers[i - 1].thread, NULL);
    pthread_mutex_destroy(&pool->mu);
    pthread_cond_destroy(&pool->cond);
    free(pool->workers);
    free(pool);
}

int hearth_pool_size(const hearth_pool *pool) { return pool ? pool->n : 1; }

void hearth_pool_run(hearth_pool *pool, hearth_pool_fn fn, void *arg) {
    if (!pool || pool->n == 1) {
        fn(arg, 0, 1);
        return;
    }
    pool->fn = fn;
    pool->arg = arg;
    atomic_store(&pool->pending, pool->n - 1);
    atomic_fetch_add_explicit(&pool->generation, 1, memory_order_release);
    if (atomic_load(&pool->sleepers) > 0) {
        pthread_mutex_lock(&pool->mu);
        pthread_cond_broadcast(&pool->cond);
        pthread_mutex_unlock(&pool->mu);
    }
    fn(arg, 0, pool->n);
    for (unsigned spins = 1; atomic_load_explicit(&pool->pending, memory_order_acquire) > 0; spins++) {
        if (spins % 1024 == 0) sched_yield();
        else cpu_relax();
    }
}

void hearth_split_rows(int64_t n, int ith, int nth, int64_t *r0, int64_t *r1) {
    int64_t per = n / nth, extra = n % nth;
    *r0 = ith * per + (ith < extra ? ith : extra);
    *r1 = *r0 + per + (ith < extra ? 1 : 0);
}

double hearth_time_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
