/* The machine's wall clock, in milliseconds since the epoch: the router's
 * clock when the host gives none, and the built-in store's bound on how far
 * back its logs need to reach. A few milliseconds of resolution is plenty
 * for both, and the coarse clock is cheaper where there is one. */
#ifndef LR_BASE_CLOCK_H
#define LR_BASE_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t lr__wall_clock_ms(void)
{
    struct timespec ts;
#ifdef CLOCK_REALTIME_COARSE
    if (clock_gettime(CLOCK_REALTIME_COARSE, &ts) != 0)
#else
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
#endif
        return 0;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
