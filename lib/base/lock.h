/* A lock for critical sections of a few hundred nanoseconds, such as the
 * built-in store's: one atomic exchange takes it and a release store gives
 * it back, where a mutex pays a library call each way and a second atomic
 * operation. A waiter spins briefly, then yields its core, so that a holder
 * who lost its core gets it back. Not recursive; cannot fail. */
#ifndef LR_BASE_LOCK_H
#define LR_BASE_LOCK_H

#include <stdatomic.h>

typedef struct lr__lock {
    atomic_int held;
} lr__lock;

/* The contended path: spin, yield, retry. */
void lr__lock_wait(lr__lock *l);

static inline void lr__lock_init(lr__lock *l)
{
    atomic_init(&l->held, 0);
}

static inline void lr__lock_acquire(lr__lock *l)
{
    if (atomic_exchange_explicit(&l->held, 1, memory_order_acquire))
        lr__lock_wait(l);
}

static inline void lr__lock_release(lr__lock *l)
{
    atomic_store_explicit(&l->held, 0, memory_order_release);
}

#endif
