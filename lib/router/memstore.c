#define _GNU_SOURCE 1 /* PTHREAD_MUTEX_ADAPTIVE_NP, where the C library has it */
/* The built-in store: claims, pool state, open counts, assignment records
 * and assignment logs in memory.
 *
 * Concurrency: no global lock.
 * - Claims live in 64 shards (chosen by the top bits of the key's XXH3),
 *   each a mutex over a linear-probing table. A lead's claim carries its
 *   assignment record in the same allocation.
 * - Reps and pools live in directories that are read without a lock: an
 *   entry, once published, is never moved or freed before the store, and a
 *   grown table replaces the old one atomically (old tables are kept until
 *   the store is freed, as a reader may still walk one).
 * - A rep's open count is an atomic; a pool has its own mutex for its state
 *   and its assignment log (for `window`); a rep's log has a mutex of its own.
 * Lock order: commit locks the claim shard(s) in shard order, then a pool
 * (one at a time); reps' log mutexes and the directories' mutexes are
 * leaves (nothing is locked while one is held). Open counts are changed
 * with a compare-and-swap that re-checks the capacity, so two commits for
 * one rep never pass the cap together. The parent store of an overlay (and
 * a parent memstore's shard, read for a record) is only called with our
 * locks held, never the other way round; list_due calls `each` with no
 * lock held.
 *
 * Windows reach back 31 days at most: adding an entry drops the entries
 * more than 31 days older than it, or than this machine's clock if that is
 * earlier (lr__ms_cutoff).
 */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/hash.h"
#include "base/lock.h"
#include "router/memstore.h"

#define LR_MS_SHARDS 64u
#define LR_MS_SHARD_BITS 6
#define LR_MS_CACHE_LINE 64u
#define LR_MS_FIRST_SLOTS 16u

/* ---- directory: names to stable entries, lock-free reads ---------------- */

/* First member of every directory entry. */
typedef struct lr__ms_named {
    uint64_t hash;
    const char *name;  /* points into the entry */
    uint32_t len;
} lr__ms_named;

typedef struct lr__ms_dir_table {
    struct lr__ms_dir_table *older;  /* retired tables, freed with the store */
    uint32_t mask;
    _Atomic(lr__ms_named *) slots[];
} lr__ms_dir_table;

/* Entries remembered by the address of the name that found them. */
#define LR_MS_RECENT 64u

typedef struct lr__ms_dir {
    lr__lock lock;  /* writers only */
    _Atomic(lr__ms_dir_table *) table;
    uint32_t count;        /* under lock */
    /* The router passes its roster's ids, the same addresses call after
     * call: the entry an address found last, checked against the text
     * (lr__ms_dir_recent), spares measuring, hashing and probing. */
    _Atomic(lr__ms_named *) recent[LR_MS_RECENT];
} lr__ms_dir;

/* ---- assignment logs ---------------------------------------------------- */

/* How far back a window can reach. */
#define LR_MS_WINDOW_MS ((int64_t)31 * 24 * 60 * 60 * 1000)

/* A running sum kept as two doubles, the rounded sum and what rounding
 * lost (TwoSum), so that a window's sum is exact to about 2^-106 of the
 * running sum: with one double, deals below the running sum's unit in the
 * last place (2 past 2^53) would vanish from every later window. */
typedef struct lr__ms_sum {
    double hi, lo;
} lr__ms_sum;

static inline void lr__ms_sum_add(lr__ms_sum *s, double v)
{
    double t = s->hi + v, bv = t - s->hi;
    s->lo += (s->hi - (t - bv)) + (v - bv);
    s->hi = t;
}

/* a - b as one double */
static inline double lr__ms_sum_diff(const lr__ms_sum *a, const lr__ms_sum *b)
{
    return (a->hi - b->hi) + (a->lo - b->lo);
}

/* The assignments of one millisecond. `n` and `cum`: the count and the
 * values of every assignment up to this entry since the last rebase, so a
 * window's count and sum are one subtraction each. At a high rate many
 * assignments share a millisecond, and one entry for them keeps a log (and
 * the pages it touches) far smaller than one entry per assignment; windows
 * start on a millisecond, so nothing is lost. */
typedef struct lr__ms_event {
    int64_t at_ms;
    uint64_t n;
    lr__ms_sum cum;
} lr__ms_event;

/* Time-ordered (at_ms non-decreasing) entries ev[head..len), under its
 * owner's lock (the rep's log_lock, the pool's lock). A commit makes room
 * before it changes anything, so the append itself cannot fail; `reserved`
 * counts room promised to commits that append later without the lock held
 * in between. */
typedef struct lr__ms_log {
    lr__ms_event *ev;
    size_t head, len, cap, reserved;
    uint64_t base_n;  /* n just before ev[head] */
    lr__ms_sum base;  /* cum just before ev[head] */
} lr__ms_log;

/* Entries sit on cache lines of their own (lr__ms_alloc_lines), the name
 * that every lookup reads apart from the fields that commits write, so
 * threads looking a rep up do not fight over the line its count is on. The
 * name follows the struct. */
typedef struct lr__ms_rep {
    lr__ms_named n;
    void *block;  /* as allocated */
    /* open leads: the count itself, or in an overlay the change made here
     * on top of the parent's count (so it may be negative) */
    _Alignas(LR_MS_CACHE_LINE) _Atomic int64_t open;
    lr__lock log_lock;  /* a leaf: nothing is locked while it is held */
    lr__ms_log log;            /* assignments to the rep */
} lr__ms_rep;

typedef struct lr__ms_pool {
    lr__ms_named n;
    void *block;
    _Alignas(LR_MS_CACHE_LINE) lr__lock lock;
    int written;       /* 0: never written here (an overlay reads the parent) */
    uint64_t version;
    char *state;
    size_t len, cap;
    lr__ms_log log;    /* assignments from the pool, under `lock` */
} lr__ms_pool;

/* ---- claims ------------------------------------------------------------- */

/* Claim keys are namespaced ("lead:" and a dedupe key, "account:" and a
 * domain), so they may pass LEADROUTE_MAX_STRING by the namespace. */
#define LR_MS_KEY_MAX (LEADROUTE_MAX_STRING + 8)

typedef struct lr__ms_claim {
    union {
        lr__ms_rep *holder;                /* NULL: released in this overlay, hides the parent's claim */
        struct lr__ms_claim *next_free;    /* on a slab's free list */
    };
    uint32_t size;       /* bytes of the whole allocation (a slab's size class, see lr__ms_slab_get) */
    uint16_t len;        /* of the key: at most LR_MS_KEY_MAX */
    uint8_t counted;     /* 1: an open lead of the holder; 0: an account claim */
    uint8_t has_rec;     /* 1: an lr__ms_rec follows the key (lead claims) */
    char key[];
} lr__ms_claim;

/* Which optional strings a record keeps. A lead id that ends the key (the
 * router's keys are "lead:<id>") is not stored twice: `lead_len` says
 * where in the key it starts. */
#define LR_MS_LEAD 1u
#define LR_MS_LEAD_IN_KEY 2u
#define LR_MS_POOL 4u
#define LR_MS_RULE 8u

/* The assignment record of a lead claim, in the claim's allocation after
 * the key (8-byte aligned). `text` holds the present strings of lead id,
 * pool id, rule id in that order, then the history, oldest first, each with
 * its NUL; `size` ends with the last of them. */
typedef struct lr__ms_rec {
    int64_t at_ms, deadline_ms, acknowledged_ms;
    double sla_minutes, value;
    uint64_t table_hash;
    uint32_t hops, history_count;
    uint32_t size;      /* bytes of the claim up to the end of its last string */
    uint16_t lead_len;  /* with LR_MS_LEAD_IN_KEY */
    uint8_t escalated, strs;
    char text[];
} lr__ms_rec;

typedef struct lr__ms_slot {
    uint64_t hash;
    lr__ms_claim *claim;  /* NULL: empty */
    int64_t due;          /* the record's deadline while it may come due, else 0: beside the
                             claim, so a commit touches one line and list_due skips others */
} lr__ms_slot;

/* Claims come from slabs: a malloc and a free per lead, and the allocator's
 * header and rounding on ~110 bytes, cost more than the rest of a commit's
 * bookkeeping. Sizes are rounded up to a class of LR_MS_SLAB_STEP bytes; a
 * freed claim goes on its class's list for the next claim of that size
 * (memory returns to the allocator when the store is freed). Claims bigger
 * than LR_MS_SLAB_MAX (long histories) are allocated one by one. */
#define LR_MS_SLAB_STEP 16u
#define LR_MS_SLAB_MAX 512u
#define LR_MS_SLAB_CLASSES (LR_MS_SLAB_MAX / LR_MS_SLAB_STEP)
#define LR_MS_CHUNK_FIRST ((size_t)4096)
#define LR_MS_CHUNK_MAX ((size_t)64 * 1024)

/* A block the slab carves claims from; the claims follow the header. */
typedef struct lr__ms_chunk {
    struct lr__ms_chunk *next;
    size_t size;
} lr__ms_chunk;

typedef struct lr__ms_shard {
    lr__lock lock;
    lr__ms_slot *slots;
    uint32_t mask, count;
    /* commits whose key is here: written under lock, summed on demand, so
     * no counter line is shared by every commit */
    _Atomic uint64_t assigned;
    /* the slab, under lock; a freed claim's `next_free` links its list. A claim
     * may be freed to any shard's lists (all chunks live until the store). */
    lr__ms_chunk *chunks;  /* the newest first: claims are cut from its end */
    size_t chunk_left;
    lr__ms_claim *free_claims[LR_MS_SLAB_CLASSES];
} lr__ms_shard;

/* One shard per cache line, so two threads on neighbouring shards do not
 * share one. */
typedef union lr__ms_shard_line {
    lr__ms_shard s;
    char pad[((sizeof(lr__ms_shard) + LR_MS_CACHE_LINE - 1) / LR_MS_CACHE_LINE) * LR_MS_CACHE_LINE];
} lr__ms_shard_line;

struct lr__memstore {
    lr__alloc alloc;
    int has_parent;
    leadroute_store parent;  /* copied */
    void *parent_user;
    lr__ms_dir reps, pools;
    void *shard_block;       /* as allocated; `shards` is aligned inside it */
    lr__ms_shard_line *shards;
};

/* Holder ids read from the parent go here: the longest valid id fits. */
typedef char lr__ms_idbuf[LEADROUTE_MAX_STRING + 1];

/* ---- assignment logs ---------------------------------------------------- */

static void lr__ms_log_init(lr__ms_log *l)
{
    l->ev = NULL;
    l->head = l->len = l->cap = l->reserved = 0;
    l->base_n = 0;
    l->base.hi = l->base.lo = 0.0;
}

/* First index in [head, len) whose time is >= t (`upper`: > t). */
static size_t lr__ms_log_search(const lr__ms_log *l, int64_t t, int upper)
{
    size_t lo = l->head, hi = l->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->ev[mid].at_ms < t || (upper && l->ev[mid].at_ms == t))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Room for one more entry beside the reserved ones. A full log is
 * compacted when a quarter of it is dead, else moved to one twice the size;
 * either way the running sums restart at the first live entry, so they stay
 * small. Rare, so it may allocate under the owner's lock. */
static int lr__ms_log_room(const lr__alloc *a, lr__ms_log *l)
{
    size_t live = l->len - l->head, need = live + l->reserved + 1, ncap = l->cap, i;
    lr__ms_event *ev = l->ev;
    if (l->len + l->reserved + 1 <= l->cap)
        return LEADROUTE_OK;
    if (l->head < l->cap / 4 || need > l->cap) {
        ncap = l->cap ? l->cap : 16;
        while (ncap < need || ncap < 2 * l->cap) {
            if (ncap > SIZE_MAX / (2 * sizeof *ev))
                return lr__error_nomem();
            ncap *= 2;
        }
        if (!(ev = lr__malloc(a, ncap * sizeof *ev)))
            return lr__error_nomem();
        if (live)
            memcpy(ev, l->ev + l->head, live * sizeof *ev);
        lr__free(a, l->ev);
    } else {
        memmove(ev, ev + l->head, live * sizeof *ev);
    }
    for (i = 0; i < live; i++) {
        ev[i].n -= l->base_n;
        lr__ms_sum_add(&ev[i].cum, -l->base.hi);
        ev[i].cum.lo -= l->base.lo;
    }
    l->ev = ev;
    l->cap = ncap;
    l->head = 0;
    l->len = live;
    l->base_n = 0;
    l->base.hi = l->base.lo = 0.0;
    return LEADROUTE_OK;
}

/* Entries before this are past every window of the one who adds an entry
 * at `at_ms`: the window before that entry, or before this machine's clock
 * if that is earlier. Not before the newest entry: one entry stamped far
 * ahead (a host sharing the store, a clock set forward by hand) would put
 * every entry added after it, with the clock its router keeps, out of every
 * window, so that caps and value windows would read nothing. The same rule
 * as the PostgreSQL store's. */
static int64_t lr__ms_cutoff(int64_t at_ms)
{
    int64_t now = lr__wall_clock_ms(), t = now && now < at_ms ? now : at_ms;
    return t < INT64_MIN + LR_MS_WINDOW_MS ? INT64_MIN : t - LR_MS_WINDOW_MS;
}

/* Add an assignment in time order (a clock that went back puts it inside),
 * to the entry of its millisecond if there is one, then drop what is more
 * than the window older than it (lr__ms_cutoff). Needs the room made by
 * lr__ms_log_room. */
static void lr__ms_log_add(lr__ms_log *l, int64_t at_ms, double value)
{
    size_t p, i;
    uint64_t before_n;
    lr__ms_sum before;
    if (l->len == l->head || l->ev[l->len - 1].at_ms <= at_ms)
        p = l->len;
    else
        p = lr__ms_log_search(l, at_ms, 1);
    if (p > l->head && l->ev[p - 1].at_ms == at_ms) {
        for (i = p - 1; i < l->len; i++) {
            l->ev[i].n++;
            lr__ms_sum_add(&l->ev[i].cum, value);
        }
    } else {
        before_n = p == l->head ? l->base_n : l->ev[p - 1].n;
        before = p == l->head ? l->base : l->ev[p - 1].cum;
        if (p < l->len)
            memmove(l->ev + p + 1, l->ev + p, (l->len - p) * sizeof *l->ev);
        l->ev[p].at_ms = at_ms;
        l->ev[p].n = before_n + 1;
        l->ev[p].cum = before;
        lr__ms_sum_add(&l->ev[p].cum, value);
        l->len++;
        for (i = p + 1; i < l->len; i++) {
            l->ev[i].n++;
            lr__ms_sum_add(&l->ev[i].cum, value);
        }
    }
    /* the clock is read only when the oldest entry may have to go */
    if (l->ev[l->head].at_ms < (at_ms < INT64_MIN + LR_MS_WINDOW_MS ? INT64_MIN : at_ms - LR_MS_WINDOW_MS)) {
        int64_t cut = lr__ms_cutoff(at_ms);
        while (l->ev[l->head].at_ms < cut) {
            l->base_n = l->ev[l->head].n;
            l->base = l->ev[l->head].cum;
            l->head++;
        }
    }
}

/* Add the entries at or after `since_ms` to `*count` and `*value`. */
static void lr__ms_log_query(const lr__ms_log *l, int64_t since_ms, uint64_t *count, double *value)
{
    size_t first = lr__ms_log_search(l, since_ms, 0);
    if (first < l->len) {
        *count += l->ev[l->len - 1].n - (first == l->head ? l->base_n : l->ev[first - 1].n);
        *value += lr__ms_sum_diff(&l->ev[l->len - 1].cum, first == l->head ? &l->base : &l->ev[first - 1].cum);
    }
}

/* ---- directory ---------------------------------------------------------- */

/* `size` bytes starting on a cache line, sharing no line with any other
 * allocation; `*block` gets the pointer to free. */
static void *lr__ms_alloc_lines(const lr__alloc *a, size_t size, void **block)
{
    size_t lines = (size + LR_MS_CACHE_LINE - 1) / LR_MS_CACHE_LINE;
    char *raw = lr__malloc(a, (lines + 1) * LR_MS_CACHE_LINE);
    if (!raw)
        return NULL;
    *block = raw;
    return (void *)(((uintptr_t)raw + LR_MS_CACHE_LINE - 1) & ~(uintptr_t)(LR_MS_CACHE_LINE - 1));
}

static lr__ms_dir_table *lr__ms_dir_table_new(const lr__alloc *a, uint32_t size)
{
    lr__ms_dir_table *t = lr__calloc(a, 1, sizeof *t + (size_t)size * sizeof t->slots[0]);
    if (t)
        t->mask = size - 1;  /* calloc: every slot NULL */
    return t;
}

static int lr__ms_dir_init(lr__ms_dir *d, const lr__alloc *a)
{
    lr__ms_dir_table *t = lr__ms_dir_table_new(a, LR_MS_FIRST_SLOTS);
    uint32_t i;
    if (!t)
        return lr__error_nomem();
    lr__lock_init(&d->lock);
    atomic_init(&d->table, t);
    d->count = 0;
    for (i = 0; i < LR_MS_RECENT; i++)
        atomic_init(&d->recent[i], NULL);
    return LEADROUTE_OK;
}

static lr__ms_named *lr__ms_dir_find(lr__ms_dir *d, uint64_t h, const char *name, uint32_t len)
{
    lr__ms_dir_table *t = atomic_load_explicit(&d->table, memory_order_acquire);
    uint32_t i = (uint32_t)h & t->mask;
    for (;;) {
        lr__ms_named *e = atomic_load_explicit(&t->slots[i], memory_order_acquire);
        if (!e)
            return NULL;
        if (e->hash == h && e->len == len && memcmp(e->name, name, len) == 0)
            return e;
        i = (i + 1) & t->mask;
    }
}

static void lr__ms_dir_place(lr__ms_dir_table *t, lr__ms_named *e)
{
    uint32_t i = (uint32_t)e->hash & t->mask;
    while (atomic_load_explicit(&t->slots[i], memory_order_relaxed))
        i = (i + 1) & t->mask;
    atomic_store_explicit(&t->slots[i], e, memory_order_release);
}

/* Publish `e` unless an entry of that name exists; `*out` gets the entry in
 * the directory (`e` or the older one: the caller frees `e` then). */
static int lr__ms_dir_insert(lr__ms_dir *d, const lr__alloc *a, lr__ms_named *e, lr__ms_named **out)
{
    lr__ms_dir_table *t;
    lr__ms_named *old;
    lr__lock_acquire(&d->lock);
    old = lr__ms_dir_find(d, e->hash, e->name, e->len);
    if (old) {
        lr__lock_release(&d->lock);
        *out = old;
        return LEADROUTE_OK;
    }
    t = atomic_load_explicit(&d->table, memory_order_relaxed);
    if ((d->count + 1u) * 2u > t->mask + 1u) {
        lr__ms_dir_table *nt;
        uint32_t i;
        if (t->mask >= (1u << 29)) {
            lr__lock_release(&d->lock);
            return lr__error_set(LEADROUTE_ELIMIT, "too many distinct reps or pools in the store");
        }
        nt = lr__ms_dir_table_new(a, (t->mask + 1u) * 2u);
        if (!nt) {
            lr__lock_release(&d->lock);
            return lr__error_nomem();
        }
        for (i = 0; i <= t->mask; i++) {
            lr__ms_named *x = atomic_load_explicit(&t->slots[i], memory_order_relaxed);
            if (x)
                lr__ms_dir_place(nt, x);
        }
        nt->older = t;
        atomic_store_explicit(&d->table, nt, memory_order_release);
        t = nt;
    }
    lr__ms_dir_place(t, e);
    d->count++;
    lr__lock_release(&d->lock);
    *out = e;
    return LEADROUTE_OK;
}

/* Free the tables; entries are freed by the caller through `each`. */
static void lr__ms_dir_free(lr__ms_dir *d, const lr__alloc *a, void (*each)(const lr__alloc *, lr__ms_named *))
{
    lr__ms_dir_table *t = atomic_load_explicit(&d->table, memory_order_relaxed);
    uint32_t i;
    if (!t)
        return;
    for (i = 0; i <= t->mask; i++) {
        lr__ms_named *e = atomic_load_explicit(&t->slots[i], memory_order_relaxed);
        if (e)
            each(a, e);
    }
    while (t) {
        lr__ms_dir_table *older = t->older;
        lr__free(a, t);
        t = older;
    }
}

static void lr__ms_rep_free(const lr__alloc *a, lr__ms_named *e)
{
    lr__ms_rep *r = (lr__ms_rep *)e;
    lr__free(a, r->log.ev);
    lr__free(a, r->block);
}

static void lr__ms_pool_free(const lr__alloc *a, lr__ms_named *e)
{
    lr__ms_pool *p = (lr__ms_pool *)e;
    lr__free(a, p->log.ev);
    lr__free(a, p->state);
    lr__free(a, p->block);
}

/* Name a new directory entry: `id` copied to `name` (room after the entry). */
static void lr__ms_named_init(lr__ms_named *n, char *name, const char *id, uint32_t len, uint64_t h)
{
    memcpy(name, id, len);
    name[len] = '\0';
    n->hash = h;
    n->name = name;
    n->len = len;
}

/* Publish a new entry; if another thread published one of the same name
 * first, ours is freed and theirs is the answer. */
static int lr__ms_publish(lr__memstore *m, lr__ms_dir *dir, lr__ms_named *n,
                          void (*free_entry)(const lr__alloc *, lr__ms_named *), lr__ms_named **out)
{
    lr__ms_named *got = NULL;  /* set on success (some compilers cannot tell) */
    int rc = lr__ms_dir_insert(dir, &m->alloc, n, &got);
    if (rc != LEADROUTE_OK || got != n)
        free_entry(&m->alloc, n);
    if (rc == LEADROUTE_OK)
        *out = got;
    return rc;
}

static lr__ms_rep *lr__ms_rep_find(lr__memstore *m, const char *id, uint32_t len, uint64_t h)
{
    return (lr__ms_rep *)lr__ms_dir_find(&m->reps, h, id, len);
}

static int lr__ms_rep_get(lr__memstore *m, const char *id, uint32_t len, uint64_t h, lr__ms_rep **out)
{
    lr__ms_rep *r = lr__ms_rep_find(m, id, len, h);
    lr__ms_named *got;
    void *block;
    int rc;
    if (r) {
        *out = r;
        return LEADROUTE_OK;
    }
    r = lr__ms_alloc_lines(&m->alloc, sizeof *r + (size_t)len + 1, &block);
    if (!r)
        return lr__error_nomem();
    lr__ms_named_init(&r->n, (char *)(r + 1), id, len, h);
    r->block = block;
    atomic_init(&r->open, 0);
    lr__ms_log_init(&r->log);
    lr__lock_init(&r->log_lock);
    if ((rc = lr__ms_publish(m, &m->reps, &r->n, lr__ms_rep_free, &got)) == LEADROUTE_OK)
        *out = (lr__ms_rep *)got;
    return rc;
}

static lr__ms_pool *lr__ms_pool_find(lr__memstore *m, const char *id, uint32_t len, uint64_t h)
{
    return (lr__ms_pool *)lr__ms_dir_find(&m->pools, h, id, len);
}

static int lr__ms_pool_get(lr__memstore *m, const char *id, uint32_t len, uint64_t h, lr__ms_pool **out)
{
    lr__ms_pool *p = lr__ms_pool_find(m, id, len, h);
    lr__ms_named *got;
    void *block;
    int rc;
    if (p) {
        *out = p;
        return LEADROUTE_OK;
    }
    p = lr__ms_alloc_lines(&m->alloc, sizeof *p + (size_t)len + 1, &block);
    if (!p)
        return lr__error_nomem();
    lr__lock_init(&p->lock);
    lr__ms_log_init(&p->log);
    lr__ms_named_init(&p->n, (char *)(p + 1), id, len, h);
    p->block = block;
    p->written = 0;
    p->version = 0;
    p->state = NULL;
    p->len = p->cap = 0;
    if ((rc = lr__ms_publish(m, &m->pools, &p->n, lr__ms_pool_free, &got)) == LEADROUTE_OK)
        *out = (lr__ms_pool *)got;
    return rc;
}

static int lr__ms_len(const char *s, const char *what, uint32_t *len);

/* The entry that `name`'s address found last, if it still names it (an
 * address a roster freed may hold another name now, which only misses).
 * Entries live as long as the store, so any remembered one is safe to
 * read, and its name ends with a NUL. */
static lr__ms_named *lr__ms_dir_recent(lr__ms_dir *d, const char *name)
{
    lr__ms_named *e = atomic_load_explicit(&d->recent[((uintptr_t)name >> 3) % LR_MS_RECENT], memory_order_acquire);
    return e && e->name[0] == name[0] && strcmp(e->name, name) == 0 ? e : NULL;
}

static void lr__ms_dir_remember(lr__ms_dir *d, const char *name, lr__ms_named *e)
{
    atomic_store_explicit(&d->recent[((uintptr_t)name >> 3) % LR_MS_RECENT], e, memory_order_release);
}

/* An existing entry by name (NULL in *out if none), through the recent
 * memory. Errors as lr__ms_len. */
static int lr__ms_dir_known(lr__ms_dir *d, const char *name, const char *what, lr__ms_named **out)
{
    lr__ms_named *e = lr__ms_dir_recent(d, name);
    uint32_t len;
    int rc;
    if (!e) {
        if ((rc = lr__ms_len(name, what, &len)) != LEADROUTE_OK)
            return rc;
        if ((e = lr__ms_dir_find(d, lr__hash(name, len), name, len)) != NULL)
            lr__ms_dir_remember(d, name, e);
    }
    *out = e;
    return LEADROUTE_OK;
}

/* A rep or pool entry by name, made if missing, through the recent
 * memory; *len gets the name's length. Errors as lr__ms_len. */
static int lr__ms_rep_named(lr__memstore *m, const char *id, const char *what, uint32_t *len, lr__ms_rep **out)
{
    lr__ms_named *e = lr__ms_dir_recent(&m->reps, id);
    int rc;
    if (e) {
        *len = e->len;
        *out = (lr__ms_rep *)e;
        return LEADROUTE_OK;
    }
    if ((rc = lr__ms_len(id, what, len)) != LEADROUTE_OK ||
        (rc = lr__ms_rep_get(m, id, *len, lr__hash(id, *len), out)) != LEADROUTE_OK)
        return rc;
    lr__ms_dir_remember(&m->reps, id, &(*out)->n);
    return LEADROUTE_OK;
}

static int lr__ms_pool_named(lr__memstore *m, const char *id, const char *what, uint32_t *len, lr__ms_pool **out)
{
    lr__ms_named *e = lr__ms_dir_recent(&m->pools, id);
    int rc;
    if (e) {
        *len = e->len;
        *out = (lr__ms_pool *)e;
        return LEADROUTE_OK;
    }
    if ((rc = lr__ms_len(id, what, len)) != LEADROUTE_OK ||
        (rc = lr__ms_pool_get(m, id, *len, lr__hash(id, *len), out)) != LEADROUTE_OK)
        return rc;
    lr__ms_dir_remember(&m->pools, id, &(*out)->n);
    return LEADROUTE_OK;
}

/* ---- claim shards ------------------------------------------------------- */

static lr__ms_shard *lr__ms_shard_of(lr__memstore *m, uint64_t h)
{
    return &m->shards[h >> (64 - LR_MS_SHARD_BITS)].s;
}

/* The slot holding `key`, or the empty slot where it would go. Under lock. */
static lr__ms_slot *lr__ms_shard_find(lr__ms_shard *s, uint64_t h, const char *key, uint32_t len)
{
    uint32_t i = (uint32_t)h & s->mask;
    for (;;) {
        lr__ms_slot *sl = &s->slots[i];
        if (!sl->claim)
            return sl;
        if (sl->hash == h && sl->claim->len == len && memcmp(sl->claim->key, key, len) == 0)
            return sl;
        i = (i + 1) & s->mask;
    }
}

/* Room for `extra` more claims: the table is at most half full. Growing
 * moves no claim and changes nothing a reader sees. Under lock. */
static int lr__ms_shard_reserve(lr__memstore *m, lr__ms_shard *s, uint32_t extra)
{
    size_t size = (size_t)s->mask + 1, nsize = size;
    lr__ms_slot *slots;
    uint32_t i, nmask;
    if (((size_t)s->count + extra) * 2 <= size)
        return LEADROUTE_OK;
    while (((size_t)s->count + extra) * 2 > nsize)
        nsize *= 2;
    if (nsize > ((size_t)1 << 31))
        return lr__error_set(LEADROUTE_ELIMIT, "too many claims in one store shard");
    slots = lr__calloc(&m->alloc, nsize, sizeof *slots);
    if (!slots)
        return lr__error_nomem();
    nmask = (uint32_t)(nsize - 1);
    for (i = 0; i < size; i++) {
        if (s->slots[i].claim) {
            uint32_t j = (uint32_t)s->slots[i].hash & nmask;
            while (slots[j].claim)
                j = (j + 1) & nmask;
            slots[j] = s->slots[i];
        }
    }
    lr__free(&m->alloc, s->slots);
    /* atomic stores: lr__memstore_prefetch reads these without the lock */
    __atomic_store_n(&s->slots, slots, __ATOMIC_RELAXED);
    __atomic_store_n(&s->mask, nmask, __ATOMIC_RELAXED);
    return LEADROUTE_OK;
}

/* Empty slot `at` by shifting back the claims that probed past it, so no
 * deletion marker is needed. Under lock. */
static void lr__ms_shard_remove(lr__ms_shard *s, lr__ms_slot *at)
{
    uint32_t i = (uint32_t)(at - s->slots), j = i;
    for (;;) {
        uint32_t k;
        j = (j + 1) & s->mask;
        if (!s->slots[j].claim)
            break;
        k = (uint32_t)s->slots[j].hash & s->mask;
        /* the claim at j stays if its home k lies cyclically in (i, j] */
        if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
            continue;
        s->slots[i] = s->slots[j];
        i = j;
    }
    s->slots[i].claim = NULL;
    s->slots[i].hash = 0;
    s->slots[i].due = 0;
    s->count--;
}

/* A claim of at least `size` bytes (its `size` set, nothing else), from
 * shard `s`'s slab. Under s->lock. */
static lr__ms_claim *lr__ms_slab_get(lr__memstore *m, lr__ms_shard *s, size_t size)
{
    size_t rounded = (size + LR_MS_SLAB_STEP - 1) & ~(size_t)(LR_MS_SLAB_STEP - 1);
    lr__ms_claim *c;
    if (rounded > LR_MS_SLAB_MAX) {
        if (size > UINT32_MAX || !(c = lr__malloc(&m->alloc, size)))
            return NULL;
        c->size = (uint32_t)size;
        return c;
    }
    if ((c = s->free_claims[rounded / LR_MS_SLAB_STEP - 1]) != NULL) {
        s->free_claims[rounded / LR_MS_SLAB_STEP - 1] = c->next_free;
    } else {
        if (s->chunk_left < rounded) {
            /* chunks grow with the shard, so a small store stays small; the
             * tail of the old one is left unused (less than a claim) */
            size_t csize = s->chunks ? s->chunks->size * 2 : LR_MS_CHUNK_FIRST;
            lr__ms_chunk *ch;
            if (csize > LR_MS_CHUNK_MAX)
                csize = LR_MS_CHUNK_MAX;
            if (!(ch = lr__malloc(&m->alloc, csize)))
                return NULL;
            ch->next = s->chunks;
            ch->size = csize;
            s->chunks = ch;
            s->chunk_left = csize - ((sizeof *ch + LR_MS_SLAB_STEP - 1) & ~(size_t)(LR_MS_SLAB_STEP - 1));
        }
        s->chunk_left -= rounded;
        c = (lr__ms_claim *)((char *)s->chunks + s->chunks->size - s->chunk_left - rounded);
    }
    c->size = (uint32_t)rounded;
    return c;
}

/* Give back a claim (NULL: nothing) to shard `s`'s slab. Under s->lock. */
static void lr__ms_slab_put(lr__memstore *m, lr__ms_shard *s, lr__ms_claim *c)
{
    if (!c)
        return;
    if (c->size > LR_MS_SLAB_MAX) {
        lr__free(&m->alloc, c);
        return;
    }
    c->next_free = s->free_claims[c->size / LR_MS_SLAB_STEP - 1];
    s->free_claims[c->size / LR_MS_SLAB_STEP - 1] = c;
}

/* Every chunk of the slab, with the claims in them. */
static void lr__ms_slab_free(const lr__alloc *a, lr__ms_shard *s)
{
    while (s->chunks) {
        lr__ms_chunk *next = s->chunks->next;
        lr__free(a, s->chunks);
        s->chunks = next;
    }
}

/* An account claim (or an overlay's release marker) for `key`. Under s->lock. */
static lr__ms_claim *lr__ms_claim_new(lr__memstore *m, lr__ms_shard *s, const char *key, uint32_t len)
{
    lr__ms_claim *c = lr__ms_slab_get(m, s, offsetof(lr__ms_claim, key) + (size_t)len + 1);
    if (!c)
        return NULL;
    c->holder = NULL;
    c->len = (uint16_t)len;
    c->counted = 0;
    c->has_rec = 0;
    memcpy(c->key, key, len);
    c->key[len] = '\0';
    return c;
}

/* Where the record of a claim with a key of `len` bytes starts. */
static size_t lr__ms_rec_offset(uint32_t len)
{
    return (offsetof(lr__ms_claim, key) + (size_t)len + 1 + 7) & ~(size_t)7;
}

static lr__ms_rec *lr__ms_rec_of(const lr__ms_claim *c)
{
    return c->has_rec ? (lr__ms_rec *)((char *)c + lr__ms_rec_offset(c->len)) : NULL;
}

/* Earlier holders carried into a new record: `count` strings in `bytes`. */
typedef struct lr__ms_hist {
    const char *text;
    size_t bytes;
    uint32_t count;
} lr__ms_hist;

/* Skip the strings of `r` named by `strs`. */
static const char *lr__ms_rec_skip(const lr__ms_rec *r, unsigned strs)
{
    const char *p = r->text;
    unsigned bit;
    for (bit = LR_MS_LEAD; bit <= LR_MS_RULE; bit <<= 1)
        if ((strs & bit) && bit != LR_MS_LEAD_IN_KEY)
            p += strlen(p) + 1;
    return p;
}

static lr__ms_hist lr__ms_rec_hist(const lr__ms_claim *c)
{
    lr__ms_hist h = { NULL, 0, 0 };
    const lr__ms_rec *r = lr__ms_rec_of(c);
    if (r) {
        h.text = lr__ms_rec_skip(r, r->strs);
        h.bytes = (size_t)((const char *)c + r->size - h.text);
        h.count = r->history_count;
    }
    return h;
}

/* The slot's `due` for a claim. */
static int64_t lr__ms_due_of(const lr__ms_claim *c)
{
    const lr__ms_rec *r = lr__ms_rec_of(c);
    return c->holder && c->counted && r && r->acknowledged_ms == 0 ? r->deadline_ms : 0;
}

/* Copy `s` with its NUL to `p`; returns the byte after. */
static char *lr__ms_put(char *p, const char *s)
{
    size_t n = strlen(s) + 1;
    memcpy(p, s, n);
    return p + n;
}

/* A lead claim for `key` recording `a` (at most one extra history entry,
 * `previous`, after `hist`, or when `hist` is NULL after the history `a`
 * lists); no holder yet. Lengths were checked. Under s->lock. */
static int lr__ms_lead_claim_new(lr__memstore *m, lr__ms_shard *s, const leadroute_assignment *a, uint32_t klen,
                                 const lr__ms_hist *hist, const char *previous, lr__ms_claim **out)
{
    size_t off = lr__ms_rec_offset(klen), size = off + offsetof(lr__ms_rec, text), plen = 0, lead_len = 0, i;
    unsigned strs = 0;
    /* no record to take the history from, but the commit lists it (a
     * fork's tick over a host store, which the store cannot read back) */
    int listed = !hist && previous && a->history_count && a->history;
    uint64_t nlisted = 0;
    lr__ms_claim *c;
    lr__ms_rec *r;
    char *p;
    *out = NULL;
    if (a->lead_id) {
        lead_len = strlen(a->lead_id);
        if (lead_len <= klen && memcmp(a->key + klen - lead_len, a->lead_id, lead_len) == 0) {
            strs |= LR_MS_LEAD_IN_KEY;
        } else {
            strs |= LR_MS_LEAD;
            size += lead_len + 1;
        }
    }
    if (a->pool_id) {
        strs |= LR_MS_POOL;
        size += strlen(a->pool_id) + 1;
    }
    if (a->rule_id) {
        strs |= LR_MS_RULE;
        size += strlen(a->rule_id) + 1;
    }
    if (hist)
        size += hist->bytes;
    for (i = 0; listed && i < a->history_count; i++)
        if (a->history[i]) {
            size += strlen(a->history[i]) + 1;
            nlisted++;
        }
    if (previous)
        size += (plen = strlen(previous)) + 1;
    if (size > UINT32_MAX || (hist && hist->count == UINT32_MAX) || nlisted >= UINT32_MAX)
        return lr__error_set(LEADROUTE_ELIMIT, "store commit: the history of key \"%.100s\" is too long", a->key);
    if (!(c = lr__ms_slab_get(m, s, size)))
        return lr__error_nomem();
    c->holder = NULL;
    c->len = (uint16_t)klen;
    c->counted = 1;
    c->has_rec = 1;
    memcpy(c->key, a->key, klen);
    c->key[klen] = '\0';
    r = (lr__ms_rec *)((char *)c + off);
    r->at_ms = a->at_ms;
    r->deadline_ms = a->deadline_ms;
    r->acknowledged_ms = 0;
    r->sla_minutes = a->sla_minutes;
    r->value = a->value;
    r->table_hash = a->table_hash;
    r->hops = a->hops;
    r->history_count = (hist ? hist->count : (uint32_t)nlisted) + (previous != NULL);
    r->size = (uint32_t)size;
    r->lead_len = (uint16_t)((strs & LR_MS_LEAD_IN_KEY) ? lead_len : 0);
    r->escalated = a->escalated != 0;
    r->strs = (uint8_t)strs;
    p = r->text;
    if (strs & LR_MS_LEAD)
        p = lr__ms_put(p, a->lead_id);
    if (strs & LR_MS_POOL)
        p = lr__ms_put(p, a->pool_id);
    if (strs & LR_MS_RULE)
        p = lr__ms_put(p, a->rule_id);
    if (hist && hist->bytes) {
        memcpy(p, hist->text, hist->bytes);
        p += hist->bytes;
    }
    for (i = 0; listed && i < a->history_count; i++)
        if (a->history[i])
            p = lr__ms_put(p, a->history[i]);
    if (previous)
        memcpy(p, previous, plen + 1);
    *out = c;
    return LEADROUTE_OK;
}

/* A copy (from the slab of our shard `own`, which is locked) of the lead
 * claim of `key` in the nearest memstore ancestor that has a slot for it;
 * NULL when that slot holds no record (an account claim) or no memstore
 * ancestor has the key, `*in_host` (may be NULL) telling the second case
 * apart when the ancestors end in another kind of store, which may hold
 * it. Ancestors' locks come after ours. */
static int lr__ms_parent_copy(lr__memstore *m, lr__ms_shard *own, const char *key, uint32_t len, uint64_t h,
                              lr__ms_claim **out, int *in_host);

/* ---- helpers ------------------------------------------------------------ */

/* Length of `s`, or ELIMIT past `max` bytes. */
static int lr__ms_len_max(const char *s, const char *what, size_t max, uint32_t *len)
{
    size_t n = strnlen(s, max + 1);
    *len = 0;
    if (n > max)
        return lr__error_set(LEADROUTE_ELIMIT, "store: %s longer than %zu bytes", what, max);
    *len = (uint32_t)n;
    return LEADROUTE_OK;
}

/* Length of an id, or ELIMIT past LEADROUTE_MAX_STRING. */
static int lr__ms_len(const char *s, const char *what, uint32_t *len)
{
    return lr__ms_len_max(s, what, LEADROUTE_MAX_STRING, len);
}

/* Length of a claim key, or ELIMIT past LR_MS_KEY_MAX. */
static int lr__ms_key_len(const char *s, const char *what, uint32_t *len)
{
    return lr__ms_len_max(s, what, LR_MS_KEY_MAX, len);
}

static int64_t lr__ms_clamp(int64_t v)
{
    return v < 0 ? 0 : v > (int64_t)UINT32_MAX ? (int64_t)UINT32_MAX : v;
}

/* A read of the parent store failed with `rc`. Inside a commit the codes
 * ECONFLICT and EEXISTS would read as the commit's own verdicts (retry;
 * claimed meanwhile), which no read may give: they become EIO, naming
 * the read. */
static int lr__ms_parent_read_failed(const char *what, int rc)
{
    if (rc == LEADROUTE_ECONFLICT || rc == LEADROUTE_EEXISTS)
        return lr__error_set(LEADROUTE_EIO, "the parent store's %s failed with %d (%s)", what, rc,
                             leadroute_strerror(rc));
    return rc;
}

/* The parent's open count of `id` (0 without a parent). */
static int lr__ms_parent_open(lr__memstore *m, const char *id, int64_t *out)
{
    uint32_t c = 0;
    int rc;
    *out = 0;
    if (!m->has_parent)
        return LEADROUTE_OK;
    rc = m->parent.open_count(m->parent_user, id, &c);
    if (rc == LEADROUTE_OK)
        *out = c;
    return rc == LEADROUTE_OK ? rc : lr__ms_parent_read_failed("open_count", rc);
}

/* Who holds `key` in the merged view. `*slot` gets our slot (claim may be
 * NULL); `*holder` the holder's id or NULL; `*counted` whether it is an open
 * lead. The parent is asked only when this store has no slot for the key. */
static int lr__ms_holder(lr__memstore *m, lr__ms_shard *s, uint64_t h, const char *key, uint32_t len,
                         char *buf, lr__ms_slot **slot, const char **holder, int *counted)
{
    lr__ms_slot *sl = lr__ms_shard_find(s, h, key, len);
    int rc;
    *slot = sl;
    *holder = NULL;
    *counted = 0;
    if (sl->claim) {
        if (sl->claim->holder) {
            *holder = sl->claim->holder->n.name;
            *counted = sl->claim->counted;
        }
        return LEADROUTE_OK;
    }
    if (!m->has_parent)
        return LEADROUTE_OK;
    rc = m->parent.find_claim(m->parent_user, key, buf, sizeof(lr__ms_idbuf));
    if (rc == LEADROUTE_ENOTFOUND)
        return LEADROUTE_OK;
    if (rc != LEADROUTE_OK)
        return lr__ms_parent_read_failed("find_claim", rc);
    *holder = buf;
    *counted = 1;  /* the parent does not say; a parent's claim is taken as a lead */
    return LEADROUTE_OK;
}

static void lr__ms_copy_out(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (!dst || cap == 0)
        return;
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* ---- the methods -------------------------------------------------------- */

/* A state that does not fit in `cap` bytes is not copied at all: `*length`
 * says how much room the caller needs, and the caller loads again. */
static int lr__ms_load_pool(void *user_data, const char *pool_id, void *buf, size_t cap, size_t *length,
                            uint64_t *state_version)
{
    lr__memstore *m = user_data;
    lr__ms_named *e;
    lr__ms_pool *p;
    int rc;
    if (!m || !pool_id || !length || !state_version || (!buf && cap > 0))
        return lr__error_set(LEADROUTE_EINVAL, "store load_pool: NULL argument");
    if ((rc = lr__ms_dir_known(&m->pools, pool_id, "pool id", &e)) != LEADROUTE_OK)
        return rc;
    if ((p = (lr__ms_pool *)e) != NULL) {
        lr__lock_acquire(&p->lock);
        if (p->written) {
            *length = p->len;
            *state_version = p->version;
            if (p->len > 0 && p->len <= cap)
                memcpy(buf, p->state, p->len);
            lr__lock_release(&p->lock);
            return LEADROUTE_OK;
        }
        lr__lock_release(&p->lock);
    }
    if (m->has_parent)
        return m->parent.load_pool(m->parent_user, pool_id, buf, cap, length, state_version);
    *length = 0;
    *state_version = 0;
    return LEADROUTE_OK;
}

void lr__memstore_prefetch(lr__memstore *m, const char *key, size_t len)
{
    uint64_t h = lr__hash(key, len);
    lr__ms_shard *s = lr__ms_shard_of(m, h);
    /* Read without the lock: a shard that grows meanwhile may pair the old
     * table with the new mask, and a prefetch of any address is harmless
     * (it never faults), so the worst case is a wasted fetch. */
    lr__ms_slot *slots = __atomic_load_n(&s->slots, __ATOMIC_RELAXED);
    uint32_t mask = __atomic_load_n(&s->mask, __ATOMIC_RELAXED);
    __builtin_prefetch(&slots[(uint32_t)h & mask]);
}

/* ENOTFOUND is the common answer here (every new lead), so it sets no
 * message: formatting one would cost more than the lookup. */
static int lr__ms_find_claim(void *user_data, const char *key, char *rep_id, size_t cap)
{
    lr__memstore *m = user_data;
    lr__ms_shard *s;
    lr__ms_slot *sl;
    lr__ms_rep *holder = NULL;
    int found;
    uint32_t len;
    uint64_t h;
    int rc;
    if (!m || !key || (!rep_id && cap > 0))
        return lr__error_set(LEADROUTE_EINVAL, "store find_claim: NULL argument");
    if ((rc = lr__ms_key_len(key, "key", &len)) != LEADROUTE_OK)
        return rc;
    h = lr__hash(key, len);
    s = lr__ms_shard_of(m, h);
    lr__lock_acquire(&s->lock);
    sl = lr__ms_shard_find(s, h, key, len);
    found = sl->claim != NULL;
    if (found)
        holder = sl->claim->holder;
    lr__lock_release(&s->lock);
    if (holder) {
        /* rep entries never move nor die before the store: safe unlocked */
        if ((size_t)holder->n.len >= cap) {
            if (cap > 0)
                rep_id[0] = '\0';
            return lr__error_set(LEADROUTE_ERANGE, "store find_claim: the holder's id needs %u bytes, %zu given",
                                 holder->n.len + 1u, cap);
        }
        memcpy(rep_id, holder->n.name, (size_t)holder->n.len + 1);
        return LEADROUTE_OK;
    }
    if (!found && m->has_parent)
        return m->parent.find_claim(m->parent_user, key, rep_id, cap);
    return LEADROUTE_ENOTFOUND;
}

static int lr__ms_open_count(void *user_data, const char *rep_id, uint32_t *count)
{
    lr__memstore *m = user_data;
    lr__ms_named *e;
    int64_t base = 0, own = 0;
    int rc;
    if (!m || !rep_id || !count)
        return lr__error_set(LEADROUTE_EINVAL, "store open_count: NULL argument");
    if ((rc = lr__ms_dir_known(&m->reps, rep_id, "rep id", &e)) != LEADROUTE_OK)
        return rc;
    if (e)
        own = atomic_load_explicit(&((lr__ms_rep *)e)->open, memory_order_relaxed);
    if ((rc = lr__ms_parent_open(m, rep_id, &base)) != LEADROUTE_OK)
        return rc;
    *count = (uint32_t)lr__ms_clamp(base + own);
    return LEADROUTE_OK;
}

/* One more open lead for `r` unless that reaches `capacity` (0 = no cap);
 * `base` is the parent's count. Returns 0 if the cap is reached. */
static int lr__ms_open_add(lr__ms_rep *r, int64_t base, uint32_t capacity)
{
    int64_t v = atomic_load_explicit(&r->open, memory_order_relaxed);
    do {
        if (capacity > 0 && lr__ms_clamp(base + v) >= (int64_t)capacity)
            return 0;
    } while (!atomic_compare_exchange_weak_explicit(&r->open, &v, v + 1, memory_order_relaxed,
                                                    memory_order_relaxed));
    return 1;
}

static int lr__ms_commit_check(const leadroute_commit *c)
{
    const leadroute_assignment *a;
    if (!c)
        return lr__error_set(LEADROUTE_EINVAL, "store commit: NULL commit");
    if (c->version == 0 || c->version > LEADROUTE_COMMIT_VERSION)
        return lr__error_set(LEADROUTE_EVERSION, "leadroute_commit version %u is not supported (1..%u)",
                             c->version, LEADROUTE_COMMIT_VERSION);
    a = c->assignment;
    if (!a)
        return lr__error_set(LEADROUTE_EINVAL, "store commit: NULL assignment");
    if (a->version == 0 || a->version > LEADROUTE_ASSIGNMENT_VERSION)
        return lr__error_set(LEADROUTE_EVERSION, "leadroute_assignment version %u is not supported (1..%u)",
                             a->version, LEADROUTE_ASSIGNMENT_VERSION);
    if (!a->key || !a->rep_id)
        return lr__error_set(LEADROUTE_EINVAL, "store commit: the assignment needs a key and a rep id");
    /* one NaN would spoil every later window sum of the rep and the pool */
    if (!isfinite(a->value))
        return lr__error_set(LEADROUTE_EINVAL, "store commit: the deal value of \"%.100s\" is not finite", a->key);
    if (c->pool_id && !c->state && c->state_length > 0)
        return lr__error_set(LEADROUTE_EINVAL, "store commit: NULL state of %zu bytes", c->state_length);
    return LEADROUTE_OK;
}

/* See ::leadroute_commit. Everything is checked and allocated (log places
 * reserved) before the first change, so a failure leaves no trace. A
 * `previous` that does not hold the key any more (closed meanwhile) loses
 * no open lead: the close did that; a follow-up move is refused then. The window counts the assignment for
 * the pool it came from (`assignment->pool_id`), else the commit's pool. */
static int lr__ms_commit(void *user_data, const leadroute_commit *c, char *owner, size_t owner_cap)
{
    lr__memstore *m = user_data;
    const leadroute_assignment *a;
    uint32_t klen, rlen, plen = 0, alen = 0, pool_len = 0, xlen = 0;
    uint64_t kh, ah = 0;
    lr__ms_rep *rep, *prev = NULL;
    lr__ms_pool *pool = NULL, *wpool = NULL;
    lr__ms_shard *ks, *as = NULL, *first, *second;
    lr__ms_slot *ksl, *asl = NULL;
    lr__ms_claim *knew = NULL, *anew = NULL, *kold = NULL, *copy = NULL;
    const char *holder, *aholder;
    int kcounted, acounted, take_account = 0, from_prev, pool_reserved = 0, rep_reserved = 0, follow_up;
    char *nstate = NULL;
    int64_t base = 0;
    lr__ms_idbuf kbuf, abuf;
    int rc;

    if (!m)
        return lr__error_set(LEADROUTE_EINVAL, "store commit: NULL store");
    if ((rc = lr__ms_commit_check(c)) != LEADROUTE_OK)
        return rc;
    a = c->assignment;
    follow_up = c->version >= 2 && (c->flags & LEADROUTE_COMMIT_FOLLOW_UP);
    if (follow_up && !a->previous) {
        /* a move from no one: the key cannot be held by exactly that;
         * `owner` gets its holder, as for any refused move */
        if (!a->key || lr__ms_find_claim(m, a->key, owner, owner_cap) != LEADROUTE_OK)
            lr__ms_copy_out(owner, owner_cap, "");
        return lr__error_set(LEADROUTE_EEXISTS, "store commit: a follow-up move of key \"%.100s\" names no "
                             "previous holder", a->key ? a->key : "");
    }
    if ((rc = lr__ms_key_len(a->key, "key", &klen)) != LEADROUTE_OK ||
        (c->account_key && (rc = lr__ms_key_len(c->account_key, "account key", &alen)) != LEADROUTE_OK) ||
        (a->lead_id && (rc = lr__ms_len(a->lead_id, "lead id", &xlen)) != LEADROUTE_OK) ||
        (a->rule_id && (rc = lr__ms_len(a->rule_id, "rule id", &xlen)) != LEADROUTE_OK))
        return rc;

    /* Entries for names (measured there): invisible until counts or state
     * change. */
    if ((rc = lr__ms_rep_named(m, a->rep_id, "rep id", &rlen, &rep)) != LEADROUTE_OK ||
        (a->previous && (rc = lr__ms_rep_named(m, a->previous, "previous rep id", &plen, &prev)) != LEADROUTE_OK) ||
        (c->pool_id && (rc = lr__ms_pool_named(m, c->pool_id, "pool id", &pool_len, &pool)) != LEADROUTE_OK))
        return rc;
    wpool = pool;
    if (a->pool_id && a->pool_id != c->pool_id && !(c->pool_id && strcmp(a->pool_id, c->pool_id) == 0) &&
        (rc = lr__ms_pool_named(m, a->pool_id, "assignment pool id", &xlen, &wpool)) != LEADROUTE_OK)
        return rc;

    /* The log of a pool other than the commit's is written without its
     * lock held together with the commit's: room is reserved now. */
    if (wpool && wpool != pool) {
        lr__lock_acquire(&wpool->lock);
        if ((rc = lr__ms_log_room(&m->alloc, &wpool->log)) == LEADROUTE_OK)
            wpool->log.reserved++;
        lr__lock_release(&wpool->lock);
        if (rc != LEADROUTE_OK)
            return rc;
        pool_reserved = 1;
    }
    kh = lr__hash(a->key, klen);
    ks = lr__ms_shard_of(m, kh);
    /* An account key equal to the lead's key is held by the rep once the lead is. */
    if (c->account_key && !(alen == klen && memcmp(c->account_key, a->key, klen) == 0)) {
        ah = lr__hash(c->account_key, alen);
        as = lr__ms_shard_of(m, ah);
    }
    first = second = ks;
    if (as && as != ks) {
        first = as < ks ? as : ks;
        second = as < ks ? ks : as;
    }

    /* The shard tables are grown and the claims made (from the shards'
     * slabs, so under their locks) before the pool is locked, so the pool
     * lock, which every routing thread of that pool waits on, covers only
     * the checks and the writes. Lock order: claim shards, then the pool. */
    lr__lock_acquire(&first->lock);
    if (second != first)
        lr__lock_acquire(&second->lock);
    if (as == ks) {
        if ((rc = lr__ms_shard_reserve(m, ks, 1 + (anew != NULL))) != LEADROUTE_OK)
            goto unlock_shards;
    } else if ((rc = lr__ms_shard_reserve(m, ks, 1)) != LEADROUTE_OK ||
               (as && (rc = lr__ms_shard_reserve(m, as, 1)) != LEADROUTE_OK)) {
        goto unlock_shards;
    }
    if (a->previous) {
        /* the record carries the history of the one it replaces */
        lr__ms_slot *sl = lr__ms_shard_find(ks, kh, a->key, klen);
        lr__ms_hist hist = { NULL, 0, 0 };
        int in_host = 0;
        if (sl->claim)
            hist = lr__ms_rec_hist(sl->claim);
        else if ((rc = lr__ms_parent_copy(m, ks, a->key, klen, kh, &copy, &in_host)) != LEADROUTE_OK)
            goto unlock_shards;
        else if (copy)
            hist = lr__ms_rec_hist(copy);
        /* held in a host store only: the history the commit lists, if any */
        if ((rc = lr__ms_lead_claim_new(m, ks, a, klen, in_host ? NULL : &hist, a->previous, &knew)) !=
            LEADROUTE_OK)
            goto unlock_shards;
    } else if ((rc = lr__ms_lead_claim_new(m, ks, a, klen, NULL, NULL, &knew)) != LEADROUTE_OK) {
        goto unlock_shards;
    }
    if (as && !(anew = lr__ms_claim_new(m, as, c->account_key, alen))) {
        rc = lr__error_nomem();
        goto unlock_shards;
    }
    /* the rep's log is written after the pool lock is released, so that
     * lock, the one routing threads queue on, covers no more than it must */
    lr__lock_acquire(&rep->log_lock);
    if ((rc = lr__ms_log_room(&m->alloc, &rep->log)) == LEADROUTE_OK)
        rep->log.reserved++;
    lr__lock_release(&rep->log_lock);
    if (rc != LEADROUTE_OK)
        goto unlock_shards;
    rep_reserved = 1;
    if (pool)
        lr__lock_acquire(&pool->lock);

    /* 1. the pool state version */
    if (pool) {
        uint64_t cur = pool->version;
        if (!pool->written && m->has_parent) {
            char tmp[64];
            size_t tlen = 0;
            rc = m->parent.load_pool(m->parent_user, c->pool_id, tmp, sizeof tmp, &tlen, &cur);
            if (rc != LEADROUTE_OK) {
                rc = lr__ms_parent_read_failed("load_pool", rc);
                goto unlock_all;
            }
        }
        if (cur != c->expected_version) {
            rc = lr__error_set(LEADROUTE_ECONFLICT,
                               "store commit: pool \"%.100s\" is at version %llu, expected %llu", c->pool_id,
                               (unsigned long long)cur, (unsigned long long)c->expected_version);
            goto unlock_all;
        }
    }

    /* 2. the rep's capacity (checked again when the count is raised) */
    if (c->capacity > 0 && (rc = lr__ms_parent_open(m, a->rep_id, &base)) != LEADROUTE_OK)
        goto unlock_all;
    if (c->capacity > 0 &&
        lr__ms_clamp(base + atomic_load_explicit(&rep->open, memory_order_relaxed)) >= (int64_t)c->capacity) {
        rc = lr__error_set(LEADROUTE_ECONFLICT, "store commit: rep \"%.100s\" has reached the commit's capacity of %u open leads",
                           a->rep_id, c->capacity);
        goto unlock_all;
    }

    /* 3. the claim */
    if ((rc = lr__ms_holder(m, ks, kh, a->key, klen, kbuf, &ksl, &holder, &kcounted)) != LEADROUTE_OK)
        goto unlock_all;
    if (holder && (!a->previous || strcmp(holder, a->previous) != 0)) {
        lr__ms_copy_out(owner, owner_cap, holder);
        rc = lr__error_set(LEADROUTE_EEXISTS, "store commit: key \"%.100s\" is held by \"%.100s\"", a->key, holder);
        goto unlock_all;
    }
    if (follow_up) {
        /* a tick's move: moot if the lead was closed or acknowledged since
         * the tick listed it, or assigned again (a deadline not passed at the
         * move's time: the listing the tick moves from is out of date) */
        const lr__ms_claim *cur = ksl->claim ? ksl->claim : copy;
        const lr__ms_rec *rec = cur ? lr__ms_rec_of(cur) : NULL;
        int acked = rec && rec->acknowledged_ms != 0;
        if (!holder || acked || (rec && (rec->deadline_ms == 0 || rec->deadline_ms > a->at_ms))) {
            lr__ms_copy_out(owner, owner_cap, holder ? holder : "");
            rc = lr__error_set(LEADROUTE_EEXISTS, "store commit: key \"%.100s\" was %s since it came due", a->key,
                               !holder ? "closed" : acked ? "acknowledged" : "assigned again");
            goto unlock_all;
        }
    }
    from_prev = holder != NULL && kcounted;
    if (as) {
        if ((rc = lr__ms_holder(m, as, ah, c->account_key, alen, abuf, &asl, &aholder, &acounted)) != LEADROUTE_OK)
            goto unlock_all;
        take_account = aholder == NULL;
    }

    /* Allocate what is left (log room is rarely short), then change
     * everything. */
    if (pool && wpool == pool && (rc = lr__ms_log_room(&m->alloc, &pool->log)) != LEADROUTE_OK)
        goto unlock_all;
    if (pool && c->state_length > pool->cap && !(nstate = lr__malloc(&m->alloc, c->state_length))) {
        rc = lr__error_nomem();
        goto unlock_all;
    }
    if (!lr__ms_open_add(rep, base, c->capacity)) {
        rc = lr__error_set(LEADROUTE_ECONFLICT, "store commit: rep \"%.100s\" has reached the commit's capacity of %u open leads",
                           a->rep_id, c->capacity);
        lr__free(&m->alloc, nstate);
        goto unlock_all;
    }

    if (pool) {
        if (nstate) {
            lr__free(&m->alloc, pool->state);
            pool->state = nstate;
            pool->cap = c->state_length;
        }
        if (c->state_length > 0)
            memcpy(pool->state, c->state, c->state_length);
        pool->len = c->state_length;
        pool->version = c->expected_version + 1;
        pool->written = 1;
    }
    /* the new record replaces whatever claim the slot had */
    kold = ksl->claim;
    if (!kold)
        ks->count++;
    knew->holder = rep;
    ksl->hash = kh;
    ksl->claim = knew;
    ksl->due = lr__ms_due_of(knew);
    knew = NULL;
    if (from_prev)
        atomic_fetch_sub_explicit(&prev->open, 1, memory_order_relaxed);
    if (take_account) {
        /* the lead's key may have just taken the slot found for the account */
        if (as == ks)
            asl = lr__ms_shard_find(as, ah, c->account_key, alen);
        if (!asl->claim) {
            asl->hash = ah;
            asl->claim = anew;
            asl->due = 0;
            anew = NULL;
            as->count++;
        }
        asl->claim->holder = rep;
        asl->claim->counted = 0;
    }
    atomic_store_explicit(&ks->assigned, atomic_load_explicit(&ks->assigned, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    if (pool && wpool == pool)
        lr__ms_log_add(&pool->log, a->at_ms, a->value);
    rc = LEADROUTE_OK;

unlock_all:
    if (rc == LEADROUTE_OK) {
        /* before the pool's lock goes (the rep's log lock is a leaf): a
         * commit that reads the pool's new version then reads the rep's
         * totals with this assignment, as value-balanced picks need */
        lr__lock_acquire(&rep->log_lock);
        rep->log.reserved--;
        lr__ms_log_add(&rep->log, a->at_ms, a->value);
        lr__lock_release(&rep->log_lock);
        rep_reserved = 0;
    }
    if (pool)
        lr__lock_release(&pool->lock);
    if (rc == LEADROUTE_OK && pool_reserved) {
        /* shard locks still held, no other pool's: the lock order holds */
        lr__lock_acquire(&wpool->lock);
        wpool->log.reserved--;
        lr__ms_log_add(&wpool->log, a->at_ms, a->value);
        lr__lock_release(&wpool->lock);
        pool_reserved = 0;
    }
unlock_shards:
    /* records made for keys that turned out to be held, or for a failed
     * commit, and the claim a reassignment replaced: back to the slabs */
    lr__ms_slab_put(m, ks, knew);
    lr__ms_slab_put(m, ks, kold);
    lr__ms_slab_put(m, ks, copy);
    if (anew)
        lr__ms_slab_put(m, as, anew);
    if (second != first)
        lr__lock_release(&second->lock);
    lr__lock_release(&first->lock);
    if (pool_reserved) {
        lr__lock_acquire(&wpool->lock);
        wpool->log.reserved--;
        lr__lock_release(&wpool->lock);
    }
    if (rep_reserved) {
        lr__lock_acquire(&rep->log_lock);
        rep->log.reserved--;
        lr__lock_release(&rep->log_lock);
    }
    return rc;
}

static int lr__ms_close(void *user_data, const char *key)
{
    lr__memstore *m = user_data;
    lr__ms_shard *s;
    lr__ms_slot *sl;
    lr__ms_claim *cl;
    lr__ms_rep *r;
    lr__ms_idbuf buf;
    uint32_t len, rlen;
    uint64_t h;
    int rc;
    if (!m || !key)
        return lr__error_set(LEADROUTE_EINVAL, "store close: NULL argument");
    if ((rc = lr__ms_key_len(key, "key", &len)) != LEADROUTE_OK)
        return rc;
    h = lr__hash(key, len);
    s = lr__ms_shard_of(m, h);
    lr__lock_acquire(&s->lock);
    sl = lr__ms_shard_find(s, h, key, len);
    cl = sl->claim;
    /* a lead's claim only: an account's stays with its first owner (the
     * contract host stores meet, store_check's) */
    if (cl && cl->holder && cl->counted) {
        atomic_fetch_sub_explicit(&cl->holder->open, 1, memory_order_relaxed);
        if (m->has_parent) {
            /* keep the slot: it hides the parent's claim from now on */
            cl->holder = NULL;
            cl->counted = 0;
            cl->has_rec = 0;
            sl->due = 0;
        } else {
            lr__ms_shard_remove(s, sl);
            lr__ms_slab_put(m, s, cl);
        }
        lr__lock_release(&s->lock);
        return LEADROUTE_OK;
    }
    if (cl || !m->has_parent) {
        lr__lock_release(&s->lock);
        return lr__error_set(LEADROUTE_ENOTFOUND, "store close: key \"%.100s\" is not claimed", key);
    }
    /* Held in the parent only: hide it here and count one lead less. */
    rc = m->parent.find_claim(m->parent_user, key, buf, sizeof buf);
    if (rc == LEADROUTE_ENOTFOUND) {
        lr__lock_release(&s->lock);
        return lr__error_set(LEADROUTE_ENOTFOUND, "store close: key \"%.100s\" is not claimed", key);
    }
    if (rc == LEADROUTE_OK && (rc = lr__ms_len(buf, "holder id", &rlen)) == LEADROUTE_OK)
        rc = lr__ms_rep_get(m, buf, rlen, lr__hash(buf, rlen), &r);
    if (rc == LEADROUTE_OK) {
        /* an account claim of a memstore ancestor is not closed; a host
         * store's claims are taken for leads, as the router closes only those */
        lr__ms_claim *copy = NULL;
        int in_host = 0, lead;
        rc = lr__ms_parent_copy(m, s, key, len, h, &copy, &in_host);
        lead = copy != NULL || in_host;
        lr__ms_slab_put(m, s, copy); /* only the answer was needed */
        if (rc == LEADROUTE_OK && !lead) {
            lr__lock_release(&s->lock);
            return lr__error_set(LEADROUTE_ENOTFOUND, "store close: key \"%.100s\" is not claimed", key);
        }
    }
    if (rc != LEADROUTE_OK) {
        lr__lock_release(&s->lock);
        return rc;
    }
    if (!(cl = lr__ms_claim_new(m, s, key, len))) {
        lr__lock_release(&s->lock);
        return lr__error_nomem();
    }
    if ((rc = lr__ms_shard_reserve(m, s, 1)) != LEADROUTE_OK) {
        lr__ms_slab_put(m, s, cl);
        lr__lock_release(&s->lock);
        return rc;
    }
    sl = lr__ms_shard_find(s, h, key, len);
    sl->hash = h;
    sl->claim = cl;
    sl->due = 0;
    s->count++;
    atomic_fetch_sub_explicit(&r->open, 1, memory_order_relaxed);
    lr__lock_release(&s->lock);
    return LEADROUTE_OK;
}

static int lr__ms_parent_is_memstore(const lr__memstore *m)
{
    return m->has_parent && m->parent.find_claim == lr__ms_find_claim;
}

static int lr__ms_parent_copy(lr__memstore *m, lr__ms_shard *own, const char *key, uint32_t len, uint64_t h,
                              lr__ms_claim **out, int *in_host)
{
    lr__memstore *at = m;
    *out = NULL;
    if (in_host)
        *in_host = 0;
    while (lr__ms_parent_is_memstore(at)) {
        lr__memstore *p = at->parent_user;
        lr__ms_shard *s = lr__ms_shard_of(p, h);
        lr__ms_slot *sl;
        lr__lock_acquire(&s->lock);
        sl = lr__ms_shard_find(s, h, key, len);
        if (sl->claim) {
            const lr__ms_claim *c = sl->claim;
            const lr__ms_rec *r = c->holder && c->counted ? lr__ms_rec_of(c) : NULL;
            int rc = LEADROUTE_OK;
            if (r) {
                lr__ms_claim *copy = lr__ms_slab_get(m, own, r->size);
                if (copy) {
                    uint32_t size = copy->size;  /* ours, not the parent's allocation */
                    memcpy(copy, c, r->size);
                    copy->size = size;
                    *out = copy;
                } else {
                    rc = lr__error_nomem();
                }
            }
            lr__lock_release(&s->lock);
            return rc;
        }
        lr__lock_release(&s->lock);
        at = p;
    }
    if (in_host)
        *in_host = at->has_parent;
    return LEADROUTE_OK;
}

/* Binary search in the rep's or pool's log; an overlay adds its parent's
 * answer (so it needs a parent with a window). */
static int lr__ms_window(void *user_data, const char *rep_id, const char *pool_id, int64_t since_ms,
                         uint64_t *count, double *value)
{
    lr__memstore *m = user_data;
    const char *name = rep_id ? rep_id : pool_id;
    uint64_t n = 0, h;
    double v = 0.0;
    uint32_t len;
    int rc;
    if (count)
        *count = 0;
    if (value)
        *value = 0.0;
    if (!m || !count || !value)
        return lr__error_set(LEADROUTE_EINVAL, "store window: NULL argument");
    if (!rep_id == !pool_id)
        return lr__error_set(LEADROUTE_EINVAL, "store window: give a rep id or a pool id, not both nor neither");
    if ((rc = lr__ms_len(name, rep_id ? "rep id" : "pool id", &len)) != LEADROUTE_OK)
        return rc;
    if (m->has_parent) {
        if (!m->parent.window)
            return lr__error_set(LEADROUTE_ENOTSUP, "store window: the parent store has no window method");
        if ((rc = m->parent.window(m->parent_user, rep_id, pool_id, since_ms, &n, &v)) != LEADROUTE_OK)
            return rc;
    }
    h = lr__hash(name, len);
    if (rep_id) {
        lr__ms_rep *r = lr__ms_rep_find(m, name, len, h);
        if (r) {
            lr__lock_acquire(&r->log_lock);
            lr__ms_log_query(&r->log, since_ms, &n, &v);
            lr__lock_release(&r->log_lock);
        }
    } else {
        lr__ms_pool *p = lr__ms_pool_find(m, name, len, h);
        if (p) {
            lr__lock_acquire(&p->lock);
            lr__ms_log_query(&p->log, since_ms, &n, &v);
            lr__lock_release(&p->lock);
        }
    }
    *count = n;
    *value = v;
    return LEADROUTE_OK;
}

/* What acknowledge gives back: the assignment's time, rep and pool (copied
 * truncated to the buffers). */
static void lr__ms_ack_out(const lr__ms_claim *c, int64_t *assigned_ms, char *rep_id, size_t rep_cap,
                           char *pool_id, size_t pool_cap)
{
    const lr__ms_rec *r = lr__ms_rec_of(c);
    if (assigned_ms)
        *assigned_ms = r->at_ms;
    lr__ms_copy_out(rep_id, rep_cap, c->holder->n.name);
    lr__ms_copy_out(pool_id, pool_cap, (r->strs & LR_MS_POOL) ? lr__ms_rec_skip(r, r->strs & LR_MS_LEAD) : "");
}

/* The time an acknowledgement is recorded at: never before its assignment.
 * The router reads its clock before the call, so an assignment another
 * thread commits meanwhile is newer, and a host's clock may lag the one
 * that assigned; the speed-to-lead metric counts such a gap as 0 ms. */
static int64_t lr__ms_ack_time(const lr__ms_rec *r, int64_t at_ms)
{
    return at_ms < r->at_ms ? r->at_ms : at_ms;
}

static int lr__ms_ack_none(const char *key)
{
    return lr__error_set(LEADROUTE_ENOTFOUND, "store acknowledge: no lead of key \"%.100s\" is claimed", key);
}

/* The first acknowledgement counts: a later one changes nothing and says
 * LEADROUTE_EEXISTS (with the same answers). A lead held only in the
 * parent gets an acknowledged copy of its record here, so the parent is not
 * written; when the parent is not a memstore its record cannot be read, and
 * the assignment time given back is `at_ms`. */
static int lr__ms_acknowledge(void *user_data, const char *key, int64_t at_ms, int64_t *assigned_ms, char *rep_id,
                              size_t rep_cap, char *pool_id, size_t pool_cap)
{
    lr__memstore *m = user_data;
    lr__ms_shard *s;
    lr__ms_slot *sl;
    lr__ms_claim *cl = NULL;
    lr__ms_rec *r;
    lr__ms_rep *rep;
    lr__ms_idbuf buf;
    const char *name;
    uint32_t len, rlen;
    uint64_t h;
    int in_host = 0;
    int rc;
    if (!m || !key || (!rep_id && rep_cap > 0) || (!pool_id && pool_cap > 0))
        return lr__error_set(LEADROUTE_EINVAL, "store acknowledge: NULL argument");
    if (at_ms <= 0)
        return lr__error_set(LEADROUTE_EINVAL, "store acknowledge: the time must be > 0 (ms since the epoch)");
    if ((rc = lr__ms_key_len(key, "key", &len)) != LEADROUTE_OK)
        return rc;
    h = lr__hash(key, len);
    s = lr__ms_shard_of(m, h);
    lr__lock_acquire(&s->lock);
    sl = lr__ms_shard_find(s, h, key, len);
    if (sl->claim) {
        cl = sl->claim;
        r = cl->holder && cl->counted ? lr__ms_rec_of(cl) : NULL;
        if (!r) {
            lr__lock_release(&s->lock);
            return lr__ms_ack_none(key);
        }
        rc = LEADROUTE_OK;
        if (r->acknowledged_ms == 0)
            r->acknowledged_ms = lr__ms_ack_time(r, at_ms);
        else
            rc = LEADROUTE_EEXISTS;
        sl->due = 0;
        lr__ms_ack_out(cl, assigned_ms, rep_id, rep_cap, pool_id, pool_cap);
        lr__lock_release(&s->lock);
        if (rc == LEADROUTE_EEXISTS)
            lr__error_set(rc, "store acknowledge: key \"%.100s\" was acknowledged before", key);
        return rc;
    }
    if (!m->has_parent) {
        lr__lock_release(&s->lock);
        return lr__ms_ack_none(key);
    }
    rc = m->parent.find_claim(m->parent_user, key, buf, sizeof buf);
    if (rc == LEADROUTE_OK)
        rc = lr__ms_parent_copy(m, s, key, len, h, &cl, &in_host);
    if (rc == LEADROUTE_OK && !cl) {
        if (!in_host) {
            rc = LEADROUTE_ENOTFOUND;  /* an account claim */
        } else {
            /* the claim is the host store's, below every memstore ancestor */
            leadroute_assignment bare;
            memset(&bare, 0, sizeof bare);
            bare.version = LEADROUTE_ASSIGNMENT_VERSION;
            bare.key = key;
            bare.at_ms = at_ms;
            rc = lr__ms_lead_claim_new(m, s, &bare, len, NULL, NULL, &cl);
        }
    }
    if (rc == LEADROUTE_ENOTFOUND) {
        lr__ms_slab_put(m, s, cl);
        lr__lock_release(&s->lock);
        return lr__ms_ack_none(key);
    }
    /* the copy names the parent's rep entry: take ours of that name */
    name = cl && cl->holder ? cl->holder->n.name : buf;
    if (rc == LEADROUTE_OK && (rc = lr__ms_len(name, "holder id", &rlen)) == LEADROUTE_OK &&
        (rc = lr__ms_rep_get(m, name, rlen, lr__hash(name, rlen), &rep)) == LEADROUTE_OK)
        rc = lr__ms_shard_reserve(m, s, 1);
    if (rc != LEADROUTE_OK) {
        lr__ms_slab_put(m, s, cl);
        lr__lock_release(&s->lock);
        return rc;
    }
    cl->holder = rep;
    cl->counted = 1;
    r = lr__ms_rec_of(cl);
    rc = LEADROUTE_OK;
    if (r->acknowledged_ms == 0)
        r->acknowledged_ms = lr__ms_ack_time(r, at_ms);
    else
        rc = LEADROUTE_EEXISTS;
    lr__ms_ack_out(cl, assigned_ms, rep_id, rep_cap, pool_id, pool_cap);
    sl = lr__ms_shard_find(s, h, key, len);
    sl->hash = h;
    sl->claim = cl;
    sl->due = 0;
    s->count++;
    lr__lock_release(&s->lock);
    if (rc == LEADROUTE_EEXISTS)
        lr__error_set(rc, "store acknowledge: key \"%.100s\" was acknowledged before", key);
    return rc;
}

/* Bytes appended at 8-byte boundaries. */
typedef struct lr__ms_buf {
    char *p;
    size_t len, cap;
} lr__ms_buf;

static void *lr__ms_buf_add(const lr__alloc *a, lr__ms_buf *b, size_t n)
{
    size_t at = (b->len + 7) & ~(size_t)7;
    if (n > SIZE_MAX - at - 8)
        return NULL;
    if (at + n > b->cap) {
        size_t ncap = b->cap ? b->cap : 4096;
        char *np;
        while (ncap < at + n) {
            if (ncap > SIZE_MAX / 2)
                return NULL;
            ncap *= 2;
        }
        if (!(np = lr__realloc(a, b->p, b->cap, ncap)))
            return NULL;
        b->p = np;
        b->cap = ncap;
    }
    b->len = at + n;
    return b->p + at;
}

/* Hand each claim copied into `b` to `each`, as an assignment. */
static int lr__ms_emit(lr__memstore *m, const lr__ms_buf *b, const char ***hist, size_t *hist_cap,
                       int (*each)(void *ctx, const leadroute_assignment *a), void *ctx)
{
    size_t off = 0;
    while (off < b->len) {
        const lr__ms_claim *c = (const lr__ms_claim *)(b->p + off);
        const lr__ms_rec *r = lr__ms_rec_of(c);
        const char *p = r->text;
        leadroute_assignment x;
        uint32_t i;
        int rc;
        memset(&x, 0, sizeof x);
        x.version = LEADROUTE_ASSIGNMENT_VERSION;
        x.key = c->key;
        if (r->strs & LR_MS_LEAD_IN_KEY)
            x.lead_id = c->key + c->len - r->lead_len;
        if (r->strs & LR_MS_LEAD) {
            x.lead_id = p;
            p += strlen(p) + 1;
        }
        x.rep_id = c->holder->n.name;  /* rep entries live as long as the store */
        if (r->strs & LR_MS_POOL) {
            x.pool_id = p;
            p += strlen(p) + 1;
        }
        if (r->strs & LR_MS_RULE) {
            x.rule_id = p;
            p += strlen(p) + 1;
        }
        x.table_hash = r->table_hash;
        x.at_ms = r->at_ms;
        x.sla_minutes = r->sla_minutes;
        x.deadline_ms = r->deadline_ms;
        x.value = r->value;
        x.hops = r->hops;
        x.escalated = r->escalated;
        if (r->history_count > *hist_cap) {
            const char **nh = lr__calloc(&m->alloc, r->history_count, sizeof *nh);
            if (!nh)
                return lr__error_nomem();
            lr__free(&m->alloc, (void *)*hist);
            *hist = nh;
            *hist_cap = r->history_count;
        }
        for (i = 0; i < r->history_count; i++) {
            (*hist)[i] = p;
            p += strlen(p) + 1;
        }
        x.history = r->history_count ? *hist : NULL;
        x.history_count = r->history_count;
        x.acknowledged_ms = r->acknowledged_ms;
        if ((rc = each(ctx, &x)) != 0)
            return rc;
        off += (r->size + 7) & ~(size_t)7;
    }
    return LEADROUTE_OK;
}

/* An overlay lists its parent's due leads except those whose keys it has
 * written or released: a sorted copy of its keys, taken before the parent
 * is asked, filters them without taking any lock of ours. */
typedef struct lr__ms_keyref {
    uint64_t hash;
    size_t off;  /* of the key in the string buffer */
} lr__ms_keyref;

typedef struct lr__ms_filter {
    const lr__ms_keyref *refs;
    size_t count;
    const char *text;
    int (*each)(void *ctx, const leadroute_assignment *a);
    void *ctx;
} lr__ms_filter;

static int lr__ms_keyref_cmp(const void *x, const void *y)
{
    uint64_t a = ((const lr__ms_keyref *)x)->hash, b = ((const lr__ms_keyref *)y)->hash;
    return a < b ? -1 : a > b;
}

static int lr__ms_filter_each(void *ctx, const leadroute_assignment *a)
{
    const lr__ms_filter *f = ctx;
    uint64_t h;
    size_t lo = 0, hi = f->count;
    if (!a || !a->key)
        return f->each(f->ctx, a);
    h = lr__hash(a->key, strlen(a->key));
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->refs[mid].hash < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < f->count && f->refs[lo].hash == h; lo++)
        if (strcmp(f->text + f->refs[lo].off, a->key) == 0)
            return 0;  /* this overlay's own answer stands */
    return f->each(f->ctx, a);
}

static int lr__ms_list_parent_due(lr__memstore *m, int64_t now_ms,
                                  int (*each)(void *ctx, const leadroute_assignment *a), void *ctx)
{
    lr__ms_buf refs = { NULL, 0, 0 }, text = { NULL, 0, 0 };
    lr__ms_filter f;
    uint32_t i, j;
    int rc = LEADROUTE_OK;
    for (i = 0; i < LR_MS_SHARDS && rc == LEADROUTE_OK; i++) {
        lr__ms_shard *s = &m->shards[i].s;
        lr__lock_acquire(&s->lock);
        for (j = 0; j <= s->mask; j++) {
            const lr__ms_claim *c = s->slots[j].claim;
            lr__ms_keyref *ref;
            char *k;
            if (!c)
                continue;
            if (!(k = lr__ms_buf_add(&m->alloc, &text, (size_t)c->len + 1)) ||
                !(ref = lr__ms_buf_add(&m->alloc, &refs, sizeof *ref))) {
                rc = lr__error_nomem();
                break;
            }
            memcpy(k, c->key, (size_t)c->len + 1);
            ref->hash = s->slots[j].hash;
            ref->off = (size_t)(k - text.p);
        }
        lr__lock_release(&s->lock);
    }
    if (rc == LEADROUTE_OK) {
        f.refs = (const lr__ms_keyref *)refs.p;
        f.count = refs.len / sizeof(lr__ms_keyref);
        f.text = text.p;
        f.each = each;
        f.ctx = ctx;
        if (f.count > 1)
            qsort(refs.p, f.count, sizeof(lr__ms_keyref), lr__ms_keyref_cmp);
        rc = m->parent.list_due(m->parent_user, now_ms, lr__ms_filter_each, &f);
    }
    lr__free(&m->alloc, refs.p);
    lr__free(&m->alloc, text.p);
    return rc;
}

/* Shard by shard: copy the due claims under the shard's lock (the slot's
 * `due` says which, so only those are read), then call `each` unlocked.
 * Order: none in particular. An overlay then lists its parent's due leads
 * that it has not written or released (none if the parent has no
 * list_due). */
static int lr__ms_list_due(void *user_data, int64_t now_ms, int (*each)(void *ctx, const leadroute_assignment *a),
                           void *ctx)
{
    lr__memstore *m = user_data;
    lr__ms_buf b = { NULL, 0, 0 };
    const char **hist = NULL;
    size_t hist_cap = 0;
    uint32_t i, j;
    int rc = LEADROUTE_OK;
    if (!m || !each)
        return lr__error_set(LEADROUTE_EINVAL, "store list_due: NULL argument");
    for (i = 0; i < LR_MS_SHARDS && rc == LEADROUTE_OK; i++) {
        lr__ms_shard *s = &m->shards[i].s;
        b.len = 0;
        lr__lock_acquire(&s->lock);
        for (j = 0; j <= s->mask; j++) {
            const lr__ms_slot *sl = &s->slots[j];
            const lr__ms_rec *r;
            void *to;
            if (sl->due == 0 || sl->due > now_ms || !sl->claim || !(r = lr__ms_rec_of(sl->claim)))
                continue;
            if (!(to = lr__ms_buf_add(&m->alloc, &b, r->size))) {
                rc = lr__error_nomem();
                break;
            }
            memcpy(to, sl->claim, r->size);
        }
        lr__lock_release(&s->lock);
        if (rc == LEADROUTE_OK)
            rc = lr__ms_emit(m, &b, &hist, &hist_cap, each, ctx);
    }
    lr__free(&m->alloc, b.p);
    lr__free(&m->alloc, (void *)hist);
    if (rc == LEADROUTE_OK && m->has_parent && m->parent.list_due)
        rc = lr__ms_list_parent_due(m, now_ms, each, ctx);
    return rc;
}

const leadroute_store lr__memstore_methods = {
    LEADROUTE_STORE_VERSION,
    lr__ms_load_pool,
    lr__ms_find_claim,
    lr__ms_open_count,
    lr__ms_commit,
    lr__ms_close,
    lr__ms_window,
    lr__ms_acknowledge,
    lr__ms_list_due,
};

/* ---- life cycle --------------------------------------------------------- */

int lr__memstore_new(lr__memstore **out, const lr__alloc *alloc, const leadroute_store *parent,
                     void *parent_user)
{
    lr__alloc a;
    lr__memstore *m;
    uint32_t i, ready = 0;
    int rc;
    if (!out)
        return lr__error_set(LEADROUTE_EINVAL, "lr__memstore_new: NULL out");
    *out = NULL;
    if (parent) {
        if (parent->version == 0 || parent->version > LEADROUTE_STORE_VERSION)
            return lr__error_set(LEADROUTE_EVERSION, "leadroute_store version %u is not supported (1..%u)",
                                 parent->version, LEADROUTE_STORE_VERSION);
        if (!parent->load_pool || !parent->find_claim || !parent->open_count || !parent->commit ||
            !parent->close)
            return lr__error_set(LEADROUTE_EINVAL, "parent store: every method is required");
    }
    if (alloc)
        a = *alloc;
    else if ((rc = lr__alloc_init(&a, NULL)) != LEADROUTE_OK)
        return rc;
    m = lr__calloc(&a, 1, sizeof *m);
    if (!m)
        return lr__error_nomem();
    m->alloc = a;
    if (parent) {
        m->has_parent = 1;
        m->parent = *parent;
        m->parent_user = parent_user;
    }
    m->shard_block = lr__calloc(&a, 1, sizeof(lr__ms_shard_line) * LR_MS_SHARDS + LR_MS_CACHE_LINE);
    if (!m->shard_block)
        goto nomem;
    m->shards = (lr__ms_shard_line *)(((uintptr_t)m->shard_block + LR_MS_CACHE_LINE - 1) &
                                      ~(uintptr_t)(LR_MS_CACHE_LINE - 1));
    for (ready = 0; ready < LR_MS_SHARDS; ready++) {
        lr__ms_shard *s = &m->shards[ready].s;
        s->slots = lr__calloc(&a, LR_MS_FIRST_SLOTS, sizeof *s->slots);
        if (!s->slots)
            goto nomem;
        lr__lock_init(&s->lock);
        s->mask = LR_MS_FIRST_SLOTS - 1;
        atomic_init(&s->assigned, 0);
    }
    if ((rc = lr__ms_dir_init(&m->reps, &a)) != LEADROUTE_OK)
        goto fail;
    if ((rc = lr__ms_dir_init(&m->pools, &a)) != LEADROUTE_OK) {
        lr__ms_dir_free(&m->reps, &a, lr__ms_rep_free);
        goto fail;
    }
    *out = m;
    return LEADROUTE_OK;

nomem:
    rc = lr__error_nomem();
fail:
    for (i = 0; i < ready; i++)
        lr__free(&a, m->shards[i].s.slots);
    lr__free(&a, m->shard_block);
    lr__free(&a, m);
    return rc;
}

int lr__memstore_all_builtin(const lr__memstore *m)
{
    for (; m->has_parent; m = m->parent_user)
        if (m->parent.commit != lr__memstore_methods.commit)
            return 0;
    return 1;
}

void lr__memstore_free(lr__memstore *m)
{
    uint32_t i, j;
    lr__alloc a;
    if (!m)
        return;
    a = m->alloc;
    for (i = 0; i < LR_MS_SHARDS; i++) {
        lr__ms_shard *s = &m->shards[i].s;
        for (j = 0; j <= s->mask; j++)
            if (s->slots[j].claim && s->slots[j].claim->size > LR_MS_SLAB_MAX)
                lr__free(&a, s->slots[j].claim);
        lr__ms_slab_free(&a, s);
        lr__free(&a, s->slots);
    }
    lr__ms_dir_free(&m->reps, &a, lr__ms_rep_free);
    lr__ms_dir_free(&m->pools, &a, lr__ms_pool_free);
    lr__free(&a, m->shard_block);
    lr__free(&a, m);
}

uint64_t lr__memstore_assignments(lr__memstore *m)
{
    uint64_t n = 0;
    uint32_t i;
    if (!m)
        return 0;
    for (i = 0; i < LR_MS_SHARDS; i++)
        n += atomic_load_explicit(&m->shards[i].s.assigned, memory_order_relaxed);
    return n;
}

int64_t lr__memstore_acknowledged(lr__memstore *m, const char *key)
{
    lr__ms_shard *s;
    const lr__ms_slot *sl;
    int64_t at = 0;
    uint32_t len;
    uint64_t h;
    if (!m || !key || lr__ms_key_len(key, "key", &len) != LEADROUTE_OK)
        return 0;
    h = lr__hash(key, len);
    s = lr__ms_shard_of(m, h);
    lr__lock_acquire(&s->lock);
    sl = lr__ms_shard_find(s, h, key, len);
    if (sl->claim && sl->claim->holder && sl->claim->counted)
        at = lr__ms_rec_of(sl->claim)->acknowledged_ms;
    lr__lock_release(&s->lock);
    return at;
}
