/*
 * A host store for libleadroute in one SQLite database: an example of the
 * `leadroute_store` interface (include/leadroute/router.h, docs/router.md)
 * that a vendor can copy and adapt to its own SQL database.
 *
 * Everything the router keeps from one run to the next lives in the file:
 * pool states (round-robin pointers and the like), claims with each lead's
 * current assignment (deadline, value, hops, earlier holders,
 * acknowledgement), the assignment log behind rolling caps and value
 * windows, and the recorded decision of each lead for `leadroute explain`.
 *
 * The database runs in WAL mode; each store method is one transaction, or a
 * savepoint inside the batch a program opened with sqlite_store_begin(), so a
 * program killed at any moment leaves either all of a commit or none of it.
 * Several processes may share one file: SQLite's locks serialise writers and
 * every commit is a compare-and-swap on the pool state version.
 *
 * Not thread-safe: one thread at a time per sqlite_store (open one per
 * thread; they may share the file).
 *
 * Uses only the public API of <leadroute/leadroute.h> and <sqlite3.h>.
 * SPDX-License-Identifier: MIT
 */
#ifndef LEADROUTE_EXAMPLE_SQLITE_STORE_H
#define LEADROUTE_EXAMPLE_SQLITE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <leadroute/leadroute.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sqlite_store sqlite_store;

/** The schema version kept in the database (table `meta`, key `schema`). */
#define SQLITE_STORE_SCHEMA_VERSION 1

/**
 * Open (creating if missing) the database at `path` and its tables, in WAL
 * mode with a busy timeout, so a second process waits for the first instead
 * of failing. ":memory:" gives a private in-memory database.
 * A file that is not a SQLite database, or one with another schema version,
 * is refused with a message in `err` (`err_cap` bytes) naming `path`, and
 * so is a file name with no room in its directory for the "-journal"
 * SQLite adds to it (nothing is created then).
 * @return LEADROUTE_OK, LEADROUTE_EIO, LEADROUTE_EPARSE (not ours),
 *         LEADROUTE_EINVAL (name too long), LEADROUTE_ENOMEM. *out is NULL
 *         on error.
 */
int sqlite_store_open(sqlite_store **out, const char *path, char *err, size_t err_cap);

/**
 * Open the existing store at `path` to read and write it, as
 * sqlite_store_open() does, but create nothing: a missing file, and an
 * empty database (or an empty file) are refused with a message in `err`,
 * as are the files sqlite_store_open() refuses. For programs that carry on
 * what an earlier run left, where a new store would be a wrong path.
 */
int sqlite_store_open_existing(sqlite_store **out, const char *path, char *err, size_t err_cap);

/**
 * Open the existing database at `path` only to read it: no table is created
 * or changed, so it works on a file or a directory the user may only read
 * (a WAL database there with no -wal file beside it is read as immutable:
 * every commit is in the file). The methods that write fail. A missing
 * file, an empty database and the errors of sqlite_store_open() are refused
 * with a message in `err`.
 * The -wal and -shm files SQLite creates to read a WAL database do not
 * outlive the store when neither was there at the open and the user may
 * write the file: sqlite_store_close() lets SQLite remove them if no other
 * connection has the database open then, without waiting for one. A writer
 * that closed meanwhile had its commits left in the -wal; they are moved
 * into the file then, as that writer would have done.
 */
int sqlite_store_open_readonly(sqlite_store **out, const char *path, char *err, size_t err_cap);

/**
 * A private in-memory copy of the database at `path` (SQLite's backup API),
 * for what-if runs that must not change the file: it is read as by
 * sqlite_store_open_readonly(). A missing file gives an empty store and
 * creates nothing. Errors as sqlite_store_open().
 */
int sqlite_store_open_copy(sqlite_store **out, const char *path, char *err, size_t err_cap);

/** Close the store (NULL-safe); an open batch is rolled back. */
void sqlite_store_close(sqlite_store *store);

/**
 * The methods, for leadroute_router_set_store(router, &sqlite_store_methods,
 * store). Every method of a version 1 store is there, including the
 * optional window, acknowledge and list_due; commit reads version 2 commits
 * (a tick's move, LEADROUTE_COMMIT_FOLLOW_UP, gives way to a close or an
 * acknowledgement made after the lead came due). SQLite failures return
 * LEADROUTE_EIO; sqlite_store_errmsg() then says why.
 */
extern const leadroute_store sqlite_store_methods;

/**
 * Open a batch: one write transaction (BEGIN IMMEDIATE) that the following
 * method calls join as savepoints, until sqlite_store_commit() or
 * sqlite_store_rollback(). Routing many leads in batches of a few hundred is
 * much faster than one transaction per lead, and a crash loses at most the
 * open batch, all of it: no lead half routed. An error after which SQLite
 * rolls the whole transaction back (a full disk, an I/O error) loses the
 * batch the same way, and the message says "the open batch was rolled
 * back"; until the host ends the batch, every write method then fails with
 * LEADROUTE_EIO (sqlite_store_failure_lasts() 1) rather than write outside
 * it, beyond the reach of sqlite_store_rollback().
 * @return LEADROUTE_OK, LEADROUTE_EIO, LEADROUTE_EINVAL (a batch is open).
 */
int sqlite_store_begin(sqlite_store *store);
/** Commit the open batch; a batch lost to an error is not kept, and
 *  LEADROUTE_EIO says so. @return LEADROUTE_OK, LEADROUTE_EIO, LEADROUTE_EINVAL (no batch). */
int sqlite_store_commit(sqlite_store *store);
/** Roll the open batch back (no-op without one). @return LEADROUTE_OK, LEADROUTE_EIO. */
int sqlite_store_rollback(sqlite_store *store);

/** The message of the last failure of this store ("" if none); owned by the store. */
const char *sqlite_store_errmsg(const sqlite_store *store);

/**
 * 1 when the last failure will come back however often it is tried again: the
 * file is read-only or may not be written, the disk is full, the file is
 * damaged or not a database. 0 for failures that may pass (a busy or locked
 * database, an I/O error, memory) and for a NULL store: those are worth
 * another try, these are not.
 */
int sqlite_store_failure_lasts(const sqlite_store *store);

/**
 * The current assignment of a claimed lead key (as the router writes it,
 * e.g. "lead:L-1001"), filled like a listing from list_due: history and
 * acknowledgement included. Strings are owned by the store and valid until
 * its next call. @return LEADROUTE_OK, LEADROUTE_ENOTFOUND, LEADROUTE_EIO.
 */
int sqlite_store_get(sqlite_store *store, const char *key, leadroute_assignment *out);

/** One event of a lead's recorded history, for `leadroute explain`. */
typedef struct sqlite_store_event {
    int64_t at_ms;      /**< clock time of the event */
    const char *kind;   /**< "routed", "reassigned", "escalated", "acknowledged", ... */
    const char *key;    /**< dedupe key */
    const char *lead_id;
    const char *detail; /**< JSON text: a decision trace, or a short object */
} sqlite_store_event;

/**
 * Record an event of a lead (inside the open batch if there is one, so a
 * decision and its trace are written together). Strings are copied.
 * `lead_id` may be NULL. @return LEADROUTE_OK, LEADROUTE_EINVAL, LEADROUTE_EIO.
 */
int sqlite_store_record(sqlite_store *store, const sqlite_store_event *event);

/**
 * Call `each` for every recorded event whose lead id or key equals `lead`,
 * oldest first (by at_ms, then in recording order); the event's strings are
 * borrowed for the call. `each` may call the store, but not
 * sqlite_store_events() itself. A non-zero return from `each` stops and is
 * returned.
 * @return LEADROUTE_OK (also when nothing matched; `*count` says how many
 *         were listed when `count` is not NULL), LEADROUTE_EINVAL (NULL
 *         `lead` or `each`, or called from inside `each`), LEADROUTE_EIO.
 */
int sqlite_store_events(sqlite_store *store, const char *lead,
                        int (*each)(void *ctx, const sqlite_store_event *event), void *ctx, size_t *count);

/**
 * A setting kept with the store's data (table `meta`), for programs that
 * must not mix runs made with different settings: the value of `key`,
 * first set to `value` when the store has none (one statement, so of two
 * processes the first wins and both read its value). `value` NULL only
 * reads. The stored value is copied into `held` (`cap` bytes, at least 1,
 * NUL-terminated); `*found` is 0 when there is none. The key `schema` is
 * the store's own and cannot be set.
 * @return LEADROUTE_OK, LEADROUTE_EINVAL, LEADROUTE_ERANGE (the stored value
 *         does not fit `held`), LEADROUTE_EIO.
 */
int sqlite_store_meta(sqlite_store *store, const char *key, const char *value, char *held, size_t cap, int *found);

#ifdef __cplusplus
}
#endif

#endif /* LEADROUTE_EXAMPLE_SQLITE_STORE_H */
