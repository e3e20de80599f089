/* Allocation through the object's allocator, and a bump arena. */
#ifndef LR_BASE_ALLOC_H
#define LR_BASE_ALLOC_H

#include <stddef.h>
#include <stdint.h>
#include "leadroute/common.h"

typedef struct lr__alloc {
    void *(*alloc)(void *user_data, size_t size);
    void (*free)(void *user_data, void *ptr);
    void *user_data;
} lr__alloc;

/* Copy a public allocator (NULL = malloc/free). Sets the error on failure. */
int lr__alloc_init(lr__alloc *out, const leadroute_allocator *from);

/* The public form of an allocator, to hand to another object's constructor. */
void lr__alloc_export(const lr__alloc *a, leadroute_allocator *out);

void *lr__malloc(const lr__alloc *a, size_t size);
void *lr__calloc(const lr__alloc *a, size_t count, size_t size);   /* overflow-checked */
void lr__free(const lr__alloc *a, void *ptr);
/* Grow or shrink; on failure returns NULL and leaves `ptr` untouched. */
void *lr__realloc(const lr__alloc *a, void *ptr, size_t old_size, size_t new_size);

/* Grow a vector of `elem` bytes so that it holds at least `need` elements. */
int lr__vec_reserve(const lr__alloc *a, void **items, uint32_t *cap, size_t need, size_t elem);

/* Bump arena: many small allocations freed at once. Returned memory is
 * 8-byte aligned (strings are packed) and not zeroed unless asked. */
typedef struct lr__arena_chunk lr__arena_chunk;
typedef struct lr__arena {
    const lr__alloc *alloc;
    lr__arena_chunk *head;
    size_t used, total;
} lr__arena;

void lr__arena_init(lr__arena *arena, const lr__alloc *alloc);
void *lr__arena_alloc(lr__arena *arena, size_t size);
void *lr__arena_zalloc(lr__arena *arena, size_t size);
char *lr__arena_strndup(lr__arena *arena, const char *s, size_t n);
/* The bytes lr__arena_alloc(arena, size) would take from the allocator: 0
 * when the block fits the current chunk, else the whole chunk it adds. */
size_t lr__arena_cost(const lr__arena *arena, size_t size);
void lr__arena_free(lr__arena *arena);

#endif
