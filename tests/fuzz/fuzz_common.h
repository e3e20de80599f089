/*
 * Helpers shared by the fuzz targets: a byte reader, a deterministic random
 * stream seeded from the input, and the check that the compiled evaluator
 * agrees with the row-by-row reference evaluator.
 *
 * Fuzz targets are test code: a broken invariant stops the process with
 * fuzz_fail(), which prints why and aborts so libFuzzer saves the input.
 * SPDX-License-Identifier: MIT
 */
#ifndef LEADROUTE_FUZZ_COMMON_H
#define LEADROUTE_FUZZ_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leadroute/leadroute.h"
#include "table/reference.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2), noreturn))
#endif
static inline void fuzz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fuzz invariant broken: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

#define FUZZ_CHECK(cond, ...)                                                                              \
    do {                                                                                                   \
        if (!(cond))                                                                                       \
            fuzz_fail(__VA_ARGS__);                                                                        \
    } while (0)

/* Reads the input front to back; past the end every read gives zeros, so a
 * short input is simply a stream that stops early. */
typedef struct fuzz_bytes {
    const uint8_t *data;
    size_t size, pos;
} fuzz_bytes;

static inline int fuzz_more(const fuzz_bytes *b)
{
    return b->pos < b->size;
}

static inline uint8_t fuzz_u8(fuzz_bytes *b)
{
    return b->pos < b->size ? b->data[b->pos++] : 0;
}

static inline uint32_t fuzz_u32(fuzz_bytes *b)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v = v << 8 | fuzz_u8(b);
    return v;
}

static inline double fuzz_double_bits(fuzz_bytes *b)
{
    uint64_t bits = (uint64_t)fuzz_u32(b) << 32 | fuzz_u32(b);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/* splitmix64: deterministic per input, so every crash replays. */
static inline uint64_t fuzz_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static inline uint64_t fuzz_hash(const uint8_t *data, size_t size)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 0x100000001b3u;
    return h;
}

static inline int fuzz_value_equal(const leadroute_value *a, const leadroute_value *b)
{
    if (!a || !b)
        return a == b;
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case LEADROUTE_VALUE_NULL:
        return 1;
    case LEADROUTE_VALUE_STRING:
        return a->string && b->string && strcmp(a->string, b->string) == 0;
    case LEADROUTE_VALUE_NUMBER:
        /* both NaN is agreement too: the same computation on the same outputs */
        return a->number == b->number || (a->number != a->number && b->number != b->number);
    case LEADROUTE_VALUE_BOOL:
        return !a->boolean == !b->boolean;
    default:
        return 0;
    }
}

/* Evaluate with the compiled index and with the reference; abort on any
 * difference in code, hits, outputs or aggregates. Returns the code. */
static inline int fuzz_eval_both(const leadroute_table *table, const leadroute_lead *lead,
                                 leadroute_result *compiled, leadroute_result *reference)
{
    int rc = leadroute_table_eval(table, lead, compiled);
    int rr = lr__table_eval_reference(table, lead, reference);
    FUZZ_CHECK(rc == rr, "compiled eval returned %d, reference %d", rc, rr);
    size_t n = leadroute_result_count(compiled);
    FUZZ_CHECK(n == leadroute_result_count(reference), "compiled eval has %zu hits, reference %zu", n,
               leadroute_result_count(reference));
    size_t nout = leadroute_table_output_count(table);
    for (size_t i = 0; i < n; i++) {
        size_t a = leadroute_result_rule(compiled, i), b = leadroute_result_rule(reference, i);
        FUZZ_CHECK(a == b, "hit %zu: compiled rule %zu, reference rule %zu", i, a, b);
        for (size_t o = 0; o < nout; o++)
            FUZZ_CHECK(fuzz_value_equal(leadroute_result_output(compiled, i, o),
                                        leadroute_result_output(reference, i, o)),
                       "hit %zu output %zu differs between compiled and reference", i, o);
    }
    if (leadroute_table_aggregation(table) != LEADROUTE_AGG_NONE) {
        for (size_t o = 0; o < nout; o++)
            FUZZ_CHECK(fuzz_value_equal(leadroute_result_aggregate(compiled, o),
                                        leadroute_result_aggregate(reference, o)),
                       "aggregate of output %zu differs between compiled and reference", o);
    }
    return rc;
}

#endif
