/* Allocation through the object's allocator; a bump arena for table data. */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/error.h"

static void *lr__default_alloc(void *ud, size_t size)
{
    (void)ud;
    return malloc(size);
}

static void lr__default_free(void *ud, void *ptr)
{
    (void)ud;
    free(ptr);
}

int lr__alloc_init(lr__alloc *out, const leadroute_allocator *from)
{
    if (!from) {
        out->alloc = lr__default_alloc;
        out->free = lr__default_free;
        out->user_data = NULL;
        return LEADROUTE_OK;
    }
    if (from->version == 0 || from->version > LEADROUTE_ALLOCATOR_VERSION)
        return lr__error_set(LEADROUTE_EVERSION, "leadroute_allocator version %u is not supported (1..%u)",
                             from->version, LEADROUTE_ALLOCATOR_VERSION);
    if (!from->alloc || !from->free)
        return lr__error_set(LEADROUTE_EINVAL, "leadroute_allocator needs both alloc and free");
    out->alloc = from->alloc;
    out->free = from->free;
    out->user_data = from->user_data;
    return LEADROUTE_OK;
}

void *lr__malloc(const lr__alloc *a, size_t size)
{
    return a->alloc(a->user_data, size ? size : 1);
}

void *lr__calloc(const lr__alloc *a, size_t count, size_t size)
{
    void *p;
    if (size && count > SIZE_MAX / size)
        return NULL;
    p = lr__malloc(a, count * size);
    if (p)
        memset(p, 0, count * size);
    return p;
}

void lr__alloc_export(const lr__alloc *a, leadroute_allocator *out)
{
    out->version = LEADROUTE_ALLOCATOR_VERSION;
    out->alloc = a->alloc;
    out->free = a->free;
    out->user_data = a->user_data;
}

void lr__free(const lr__alloc *a, void *ptr)
{
    if (ptr)
        a->free(a->user_data, ptr);
}

void *lr__realloc(const lr__alloc *a, void *ptr, size_t old_size, size_t new_size)
{
    void *p = lr__malloc(a, new_size);
    if (!p)
        return NULL;
    if (ptr) {
        memcpy(p, ptr, old_size < new_size ? old_size : new_size);
        lr__free(a, ptr);
    }
    return p;
}

int lr__vec_reserve(const lr__alloc *a, void **items, uint32_t *cap, size_t need, size_t elem)
{
    size_t ncap;
    void *p;
    if (need <= *cap)
        return LEADROUTE_OK;
    if (need > UINT32_MAX / 2)
        return lr__error_set(LEADROUTE_ELIMIT, "too many elements (%zu)", need);
    ncap = *cap ? *cap : 8;
    while (ncap < need)
        ncap *= 2;
    if (elem && ncap > SIZE_MAX / elem)
        return lr__error_nomem();
    p = lr__realloc(a, *items, (size_t)*cap * elem, ncap * elem);
    if (!p)
        return lr__error_nomem();
    *items = p;
    *cap = (uint32_t)ncap;
    return LEADROUTE_OK;
}

struct lr__arena_chunk {
    lr__arena_chunk *next;
    size_t size, used;
    /* data follows, 16-byte aligned */
};

#define LR__CHUNK_HEAD ((sizeof(lr__arena_chunk) + 15u) & ~(size_t)15u)  /* keeps data 16-aligned */
#define LR__CHUNK_FIRST ((size_t)4 * 1024)
#define LR__CHUNK_MAX ((size_t)1024 * 1024)

void lr__arena_init(lr__arena *arena, const lr__alloc *alloc)
{
    arena->alloc = alloc;
    arena->head = NULL;
    arena->used = 0;
    arena->total = 0;
}

/* Where a block of `size` starts in the head chunk; SIZE_MAX: not there. */
static size_t lr__arena_at(const lr__arena *arena, size_t size, size_t align)
{
    const lr__arena_chunk *c = arena->head;
    size_t at;
    if (!c)
        return SIZE_MAX;
    at = (c->used + align - 1) & ~(align - 1);
    return at > c->size || c->size - at < size ? SIZE_MAX : at;
}

/* The data size of the chunk added for a block of `size` that does not
 * fit the head; *own: the chunk is the block's alone. */
static size_t lr__arena_grow(const lr__arena *arena, size_t size, int *own)
{
    /* chunks double as the arena grows, so small tables stay small */
    size_t grow = arena->total < LR__CHUNK_FIRST ? LR__CHUNK_FIRST
                  : arena->total > LR__CHUNK_MAX ? LR__CHUNK_MAX : arena->total;
    *own = size > grow / 2;
    return *own ? size : grow;
}

size_t lr__arena_cost(const lr__arena *arena, size_t size)
{
    size_t csize;
    int own;
    if (size == 0)
        size = 1;
    if (lr__arena_at(arena, size, 8) != SIZE_MAX)
        return 0;
    csize = lr__arena_grow(arena, size, &own);
    return csize > SIZE_MAX - LR__CHUNK_HEAD ? SIZE_MAX : LR__CHUNK_HEAD + csize;
}

/* `align` is 1 (text) or 8 (everything else); chunk data starts 16-aligned. */
static void *lr__arena_take(lr__arena *arena, size_t size, size_t align)
{
    lr__arena_chunk *head = arena->head, *c = head;
    size_t at;
    if (size == 0)
        size = 1;
    if ((at = lr__arena_at(arena, size, align)) == SIZE_MAX) {
        int own;
        size_t csize = lr__arena_grow(arena, size, &own);
        if (csize > SIZE_MAX - LR__CHUNK_HEAD)
            return NULL;
        c = lr__malloc(arena->alloc, LR__CHUNK_HEAD + csize);
        if (!c)
            return NULL;
        c->size = csize;
        c->used = 0;
        at = 0;
        /* A chunk made for one big block goes behind the head, which keeps its room. */
        if (head && own && head->size - head->used >= 256) {
            c->next = head->next;
            head->next = c;
        } else {
            c->next = head;
            arena->head = c;
        }
        arena->total += LR__CHUNK_HEAD + csize;
    }
    c->used = at + size;
    arena->used += size;
    return (char *)c + LR__CHUNK_HEAD + at;
}

void *lr__arena_alloc(lr__arena *arena, size_t size)
{
    return lr__arena_take(arena, size, 8);
}

void *lr__arena_zalloc(lr__arena *arena, size_t size)
{
    void *p = lr__arena_alloc(arena, size);
    if (p)
        memset(p, 0, size);
    return p;
}

char *lr__arena_strndup(lr__arena *arena, const char *s, size_t n)
{
    char *p = lr__arena_take(arena, n + 1, 1);
    if (!p)
        return NULL;
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void lr__arena_free(lr__arena *arena)
{
    lr__arena_chunk *c = arena->head;
    while (c) {
        lr__arena_chunk *next = c->next;
        lr__free(arena->alloc, c);
        c = next;
    }
    arena->head = NULL;
    arena->used = arena->total = 0;
}
