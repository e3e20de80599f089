/* Open-addressing hash map from strings to uint32 (linear probing; short
 * keys stored in the slots, see lr__key_words). */
#include <string.h>

#include "base/error.h"
#include "base/hash.h"
#include "table/internal.h"

uint64_t lr__key_hash_long(const char *s, size_t len)
{
    return lr__hash(s, len);
}

int lr__keymap_init(lr__keymap *m, const lr__alloc *a, uint32_t expected)
{
    uint32_t size = 16, shift = 60;
    while (size < expected * 2u + 2u && size < (1u << 30))
        size *= 2, shift--;
    m->slots = lr__calloc(a, size, sizeof *m->slots);
    if (!m->slots)
        return lr__error_nomem();
    m->mask = size - 1;
    m->count = 0;
    m->shift = shift;
    return LEADROUTE_OK;
}

void lr__keymap_free(lr__keymap *m, const lr__alloc *a)
{
    lr__free(a, m->slots);
    m->slots = NULL;
    m->mask = m->count = 0;
    m->shift = 64;
}

static int lr__keymap_grow(lr__keymap *m, const lr__alloc *a)
{
    lr__keymap bigger;
    uint32_t i;
    if (m->mask >= (1u << 30))
        return lr__error_set(LEADROUTE_ELIMIT, "too many distinct keys");
    bigger.slots = lr__calloc(a, (size_t)(m->mask + 1) * 2, sizeof *bigger.slots);
    if (!bigger.slots)
        return lr__error_nomem();
    bigger.mask = m->mask * 2 + 1;
    bigger.count = m->count;
    bigger.shift = m->shift - 1;
    for (i = 0; i <= m->mask; i++)
        if (m->slots[i].str) {
            const lr__keymap_entry *e = &m->slots[i];
            *lr__keymap_probe(&bigger, e->w0, e->w1, e->str, e->len) = *e;
        }
    lr__free(a, m->slots);
    *m = bigger;
    return LEADROUTE_OK;
}

/* Maps of up to this many slots are kept at most a quarter full, bigger
 * ones half: a probe that runs past its first slot is a mispredicted
 * branch on the lead's value, and small maps stay in cache either way. */
#define LR_KEYMAP_SPARSE_SLOTS 16384u

static inline uint32_t lr__keymap_spread(const lr__keymap *m)
{
    return m->mask < LR_KEYMAP_SPARSE_SLOTS ? 4u : 2u;
}

int lr__keymap_put(lr__keymap *m, const lr__alloc *a, const char *s, uint32_t len, uint32_t value,
                   uint32_t *existing)
{
    uint64_t w0, w1;
    lr__keymap_entry *e;
    lr__key_words(s, len, &w0, &w1);
    e = lr__keymap_probe(m, w0, w1, s, len);
    if (e->str) {
        *existing = e->outcome;
        return LEADROUTE_OK;
    }
    *existing = UINT32_MAX;
    if ((m->count + 1) * lr__keymap_spread(m) > m->mask + 1) {
        int rc = lr__keymap_grow(m, a);
        if (rc)
            return rc;
        e = lr__keymap_probe(m, w0, w1, s, len);
    }
    e->w0 = w0;
    e->w1 = w1;
    e->str = s;
    e->len = len;
    e->outcome = value;
    m->count++;
    return LEADROUTE_OK;
}

