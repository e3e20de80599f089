/* The contended path of lr__lock. */
#include <sched.h>

#include "base/lock.h"

/* Tell the core we are spinning: it saves power and lets the other
 * hardware thread of the core run. */
static inline void lr__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Spins this many times between yields: about the length of a critical
 * section, so that a holder that runs releases before we give up the core. */
#define LR_LOCK_SPINS 128

void lr__lock_wait(lr__lock *l)
{
    for (;;) {
        int i;
        for (i = 0; i < LR_LOCK_SPINS && atomic_load_explicit(&l->held, memory_order_relaxed); i++)
            lr__cpu_relax();
        if (atomic_load_explicit(&l->held, memory_order_relaxed))
            sched_yield();
        else if (!atomic_exchange_explicit(&l->held, 1, memory_order_acquire))
            return;
    }
}
