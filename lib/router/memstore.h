/* The built-in store: thread-safe, in memory, and optionally an overlay that
 * reads through to another store (for simulation) but writes only to itself. */
#ifndef LR_ROUTER_MEMSTORE_H
#define LR_ROUTER_MEMSTORE_H

#include "leadroute/router.h"
#include "base/alloc.h"

typedef struct lr__memstore lr__memstore;

/* `parent` NULL: a plain store. Else reads fall through to `parent` for keys
 * and pools this store has not written; open counts are the parent's plus
 * this store's changes. The parent must outlive the overlay. */
int lr__memstore_new(lr__memstore **out, const lr__alloc *alloc, const leadroute_store *parent,
                     void *parent_user);
void lr__memstore_free(lr__memstore *m);

/* Whether `m` and every store it overlays (a fork's parent, and its
 * parent) are built-in stores: then none of its codes comes from a host. */
int lr__memstore_all_builtin(const lr__memstore *m);

/* The methods; each takes the lr__memstore as user_data. */
extern const leadroute_store lr__memstore_methods;

/* A hint: start fetching the claim slot of `key` into the cache, so that
 * the find_claim that follows some work later does not wait on memory (a
 * store of a million claims is far bigger than the caches). No lock, no
 * effect on the store's state. */
void lr__memstore_prefetch(lr__memstore *m, const char *key, size_t len);

/* Number of assignments recorded (commits that succeeded). */
uint64_t lr__memstore_assignments(lr__memstore *m);

/* When the lead claimed under `key` in this store (not its parent) was
 * acknowledged, as recorded; 0 if not, or not claimed here. */
int64_t lr__memstore_acknowledged(lr__memstore *m, const char *key);

#endif
