/*
 * Helpers shared by the benchmark programs: timing, fatal errors, a seeded
 * random generator, a growing text buffer. Each program defines BENCH_NAME
 * (used in messages) before including this file.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef LEADROUTE_BENCH_UTIL_H
#define LEADROUTE_BENCH_UTIL_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef BENCH_NAME
#error "define BENCH_NAME before including bench_util.h"
#endif

#define BENCH_MAYBE_UNUSED __attribute__((unused))

static BENCH_MAYBE_UNUSED double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static BENCH_MAYBE_UNUSED void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static BENCH_MAYBE_UNUSED void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", BENCH_NAME);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static BENCH_MAYBE_UNUSED void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        die("out of memory (%zu bytes)", n);
    return p;
}

/* ------------------------------------------------------------------------ */
/* splitmix64: deterministic across platforms. */

typedef struct rng {
    uint64_t s;
} rng;

static BENCH_MAYBE_UNUSED uint64_t rng_next(rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static BENCH_MAYBE_UNUSED uint32_t rng_below(rng *r, uint32_t n)
{
    return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

static BENCH_MAYBE_UNUSED double rng_unit(rng *r)
{
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

static BENCH_MAYBE_UNUSED int rng_chance(rng *r, double p) { return rng_unit(r) < p; }

/* Index drawn from `n` weights. */
static BENCH_MAYBE_UNUSED uint32_t rng_weighted(rng *r, const double *w, uint32_t n)
{
    double total = 0;
    for (uint32_t i = 0; i < n; i++)
        total += w[i];
    double x = rng_unit(r) * total;
    for (uint32_t i = 0; i < n; i++) {
        if (x < w[i])
            return i;
        x -= w[i];
    }
    return n - 1;
}

/* ------------------------------------------------------------------------ */
/* Text buffer. */

typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

static BENCH_MAYBE_UNUSED void sb_reserve(sbuf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        die("out of memory");
    b->p = p;
    b->cap = cap;
}

static BENCH_MAYBE_UNUSED void sb_add(sbuf *b, const char *s)
{
    size_t n = strlen(s);
    sb_reserve(b, n);
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}

static BENCH_MAYBE_UNUSED void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static BENCH_MAYBE_UNUSED void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    sb_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* A CSV field holding a list needs quotes. */

#endif
