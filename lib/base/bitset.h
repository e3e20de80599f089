/* Rule bitsets: bit r of word r/64 stands for rule r. */
#ifndef LR_BASE_BITSET_H
#define LR_BASE_BITSET_H

#include <stdint.h>
#include <string.h>

static inline uint32_t lr__words_for(uint32_t bits) { return (bits + 63u) / 64u; }
static inline void lr__bit_set(uint64_t *w, uint32_t i) { w[i >> 6] |= (uint64_t)1 << (i & 63); }
static inline void lr__bit_flip(uint64_t *w, uint32_t i) { w[i >> 6] ^= (uint64_t)1 << (i & 63); }
static inline int lr__bit_get(const uint64_t *w, uint32_t i) { return (int)((w[i >> 6] >> (i & 63)) & 1u); }
static inline uint32_t lr__ctz64(uint64_t x) { return (uint32_t)__builtin_ctzll(x); }
static inline uint32_t lr__popcount64(uint64_t x) { return (uint32_t)__builtin_popcountll(x); }

#endif
