/* XXH3, inlined so that no XXH* symbol leaves the library. */
#ifndef LR_BASE_HASH_H
#define LR_BASE_HASH_H

#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include <xxhash.h>

static inline uint64_t lr__hash(const void *data, size_t len)
{
    return XXH3_64bits(data, len);
}

#endif
