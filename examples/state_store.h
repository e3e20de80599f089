/*
 * A host store for libleadroute kept in one text file: an example of the
 * `leadroute_store` interface (include/leadroute/router.h, docs/router.md)
 * that a vendor can read, copy and adapt (to SQLite, PostgreSQL, Redis...).
 *
 * The whole state lives in memory while a program runs; state_store_load()
 * reads it from a file and state_store_save() writes it back atomically
 * (FILE.tmp, then rename). The leadroute tool uses it for `route --state`,
 * `tick` and `ack`, so routing state survives from one run to the next.
 *
 * Not thread-safe: one thread at a time per store (the tool is single
 * threaded). A multi-threaded host would put one mutex around every method,
 * or better, use a database whose transactions give the same guarantees.
 *
 * Uses only the public API of <leadroute/leadroute.h>.
 * SPDX-License-Identifier: MIT
 */
#ifndef LEADROUTE_EXAMPLE_STATE_STORE_H
#define LEADROUTE_EXAMPLE_STATE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <leadroute/leadroute.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct state_store state_store;

/** The version written in (and required from) the file's first line. */
#define STATE_STORE_FORMAT_VERSION 1

/** A new, empty store; NULL when out of memory. */
state_store *state_store_new(void);

/** Free a store (NULL-safe). */
void state_store_free(state_store *store);

/**
 * Replace the store's contents with those of the file at `path`. A missing
 * or empty file is an empty state. On error the store is left as it was and
 * `err` (`err_cap` bytes) says why, with "path:line:col: " for a malformed
 * line.
 * @return LEADROUTE_OK, LEADROUTE_EIO (cannot read), LEADROUTE_EPARSE
 *         (malformed), LEADROUTE_ENOMEM.
 */
int state_store_load(state_store *store, const char *path, char *err, size_t err_cap);

/**
 * Write the store to `path`: first to "path.tmp", flushed to disk, then
 * renamed over `path`, so a crash leaves either the old file or the new
 * one, never half of one.
 * @return LEADROUTE_OK, LEADROUTE_EIO (with `err` set), LEADROUTE_ENOMEM.
 */
int state_store_save(const state_store *store, const char *path, char *err, size_t err_cap);

/**
 * The methods, for leadroute_router_set_store(router, &state_store_methods,
 * store). Every method of a version 1 store is there, including the
 * optional window, acknowledge and list_due.
 */
extern const leadroute_store state_store_methods;

/**
 * The current assignment of a claimed lead key (as the router writes it,
 * e.g. "lead:L-1001"), filled like a listing from list_due: history and
 * acknowledgement included. Strings are owned by the store and valid until
 * it next changes. @return LEADROUTE_OK, LEADROUTE_ENOTFOUND.
 */
int state_store_get(const state_store *store, const char *key, leadroute_assignment *out);

#ifdef __cplusplus
}
#endif

#endif /* LEADROUTE_EXAMPLE_STATE_STORE_H */
