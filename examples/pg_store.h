/*
 * A host store for libleadroute in PostgreSQL, over libpq: the sibling of
 * sqlite_store.h for hosts whose processes (or machines) share one server.
 * Same semantics for every method as sqlite_store; a vendor can copy it and
 * adapt it to its own schema.
 *
 * Everything the router keeps from one run to the next lives in a handful
 * of tables (prefix `leadroute_`, in the first schema of the search path,
 * or in the schema given to pg_store_open_schema()): pool states, claims
 * with each lead's current assignment, the assignment log behind rolling
 * caps and value windows, and recorded events for `leadroute explain`.
 *
 * Outside a batch each store method is one statement, one round trip, and
 * load_pool answers from the pool states the handle last read or wrote (a
 * stale one costs one ECONFLICT, whose answer brings the current state). A
 * single commit is one call of the SQL function leadroute_commit(), created
 * with the schema: all of it or none of it.
 *
 * Batches (pg_store_begin() to pg_store_commit()) are for speed: the batch
 * takes the store's lock (one per schema) for its whole transaction, so
 * nothing else writes meanwhile, reads pool states, holders and open counts
 * once and keeps them, checks its commits against what it keeps and sends
 * them all at the end in one statement. A batch of 500 leads costs a
 * handful of round trips (pg_store_prefetch_claims() reads the holders of
 * all its keys in one). Every commit and close outside a batch takes the
 * same lock, for the length of its statement: several processes may share
 * the database, and batches and single routes serialise without deadlock.
 *
 * Failures: a lost connection or a failed statement returns LEADROUTE_EIO,
 * pg_store_errmsg() says why, the transaction is rolled back (an open batch
 * with it), and the next call reconnects. A serialization failure or
 * deadlock (SQLSTATE 40001, 40P01) outside a batch returns
 * LEADROUTE_ECONFLICT, which the router retries; inside a batch any failed
 * statement rolls the whole batch back and returns LEADROUTE_EIO (see
 * pg_store_begin()).
 *
 * Not thread-safe: one thread at a time per pg_store (open one per thread).
 *
 * Uses only the public API of <leadroute/leadroute.h> and libpq.
 * SPDX-License-Identifier: MIT
 */
#ifndef LEADROUTE_EXAMPLE_PG_STORE_H
#define LEADROUTE_EXAMPLE_PG_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <leadroute/leadroute.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pg_store pg_store;

/** The schema version kept in the database (table `leadroute_meta`, key `schema`). */
#define PG_STORE_SCHEMA_VERSION 6

/**
 * The longest key, lead id, rep id, pool id or account key (in bytes) the store takes. The
 * library accepts strings of up to LEADROUTE_MAX_STRING, but a PostgreSQL
 * index row holds at most 2,704 bytes: a commit or a recorded event with a
 * longer one fails with LEADROUTE_ELIMIT before anything is sent (a batch
 * goes on), and pg_store_failure_lasts() says 1.
 */
#define PG_STORE_MAX_ID 2600

/**
 * Connect with `conninfo` (libpq key=value or URI) and create the tables if
 * they are missing, under a transaction-scoped advisory lock so two
 * processes starting together do not race. A database of schema version 1
 * to 5 (same tables, older SQL functions) is upgraded in place; from then on
 * a program that reads only an older version refuses it. Any other version
 * is refused with a message in `err`.
 * @return LEADROUTE_OK, LEADROUTE_EIO (cannot connect, SQL failed),
 *         LEADROUTE_EPARSE (another schema version), LEADROUTE_EINVAL,
 *         LEADROUTE_ENOMEM. *out is NULL on error.
 */
int pg_store_open(pg_store **out, const char *conninfo, char *err, size_t err_cap);

/**
 * As pg_store_open(), with the tables in the PostgreSQL schema `schema`
 * (created if missing; lower-case letters, digits and '_' only, at most 63
 * bytes, not starting with "pg_", which PostgreSQL keeps for itself):
 * several independent stores in one database. NULL = pg_store_open(). The
 * schema's search path is added to the connection's own `options` (those of
 * `conninfo`, else of its service file, else of PGOPTIONS, as libpq takes
 * them), which are kept: to learn them it connects once more at open. The
 * schema is created only when missing.
 */
int pg_store_open_schema(pg_store **out, const char *conninfo, const char *schema, char *err, size_t err_cap);

/** Close the store (NULL-safe); an open batch is rolled back. */
void pg_store_close(pg_store *store);

/**
 * The methods, for leadroute_router_set_store(router, &pg_store_methods,
 * store): all eight of a version 1 store; commits of version 2 (follow-up
 * moves) are understood. Round trips per call outside a batch: one each,
 * but load_pool none when the handle knows the pool's state from its last
 * read or write. Routing a lead alone is then one find_claim and one commit
 * (plus open_count for a rep with a capacity, window for caps): 2 round
 * trips, and a commit that meets a stale state one more.
 *
 * Inside a batch: load_pool, find_claim and open_count read the server
 * once per pool, key and rep (none for a key given to
 * pg_store_prefetch_claims()) and then answer from the batch; commit sends
 * nothing (a tick's follow-up commit excepted: the queued commits and it
 * go to the server, two round trips); pg_store_record queues its event.
 * close, acknowledge, list_due, pg_store_get and pg_store_events send the
 * queued commits first (one round trip when there are some), window when
 * they touch what it counts, then ask the server.
 */
extern const leadroute_store pg_store_methods;

/**
 * Open a batch: one transaction (BEGIN) that takes the store's lock (one
 * round trip), joined by the following method calls until pg_store_commit()
 * or pg_store_rollback(). While it is open no other handle writes to the
 * store: their commits and closes wait for it to end, so keep batches short
 * (a few hundred leads). Batches of several processes run one after the
 * other and never deadlock. A connection lost while no batch was open (a
 * server restart) is reconnected and the batch opened; a begin that fails
 * (the lock past a statement timeout) opens no batch, and says no batch was
 * lost.
 *
 * Inside the batch the store answers from what it read under the lock and
 * what its own commits changed, and queues its commits: a commit refused
 * (ECONFLICT, EEXISTS) leaves the batch open and unchanged. The queue goes
 * to the server in one statement at pg_store_commit() (and earlier when a
 * call needs the server to know, see pg_store_methods), which checks every
 * commit again and applies them in order.
 *
 * Any failure of a statement inside the batch (a lost connection, a check
 * the server refuses) rolls the whole batch back: the call returns
 * LEADROUTE_EIO (the router's leadroute_route() then LEADROUTE_ECALLBACK).
 * Until the host ends the batch, every write (commit, close, acknowledge,
 * pg_store_record) then fails with LEADROUTE_EIO (pg_store_failure_lasts()
 * 1) rather than run outside it, beyond the reach of the rollback, and
 * pg_store_commit() says LEADROUTE_EIO, nothing kept. A host that routes in
 * batches therefore, on any failure inside one, calls pg_store_rollback()
 * and routes the batch's leads again: leads it had routed before the
 * failure were rolled back with it.
 * @return LEADROUTE_OK, LEADROUTE_EIO, LEADROUTE_EINVAL (a batch is open).
 */
int pg_store_begin(pg_store *store);

/**
 * Read the holders of `n` keys (as the store sees them: "lead:" and the
 * lead's dedupe key) into the open batch in one round trip, so that the
 * router's find_claim calls for them cost none. Keys the batch knows
 * already are not asked again. Call it after pg_store_begin() with the keys
 * of the leads the batch will route; without it each key costs one round
 * trip, the first time.
 * @return LEADROUTE_OK, LEADROUTE_EINVAL (no batch open, a NULL key),
 *         LEADROUTE_EIO (the batch is then rolled back), LEADROUTE_ENOMEM.
 */
int pg_store_prefetch_claims(pg_store *store, const char *const *keys, size_t n);

/** Send the batch's queued commits (one round trip) and commit it (one more).
 *  @return LEADROUTE_OK, LEADROUTE_EIO (rolled back), LEADROUTE_EINVAL (no batch). */
int pg_store_commit(pg_store *store);
/** Roll the open batch back (no-op without one). @return LEADROUTE_OK, LEADROUTE_EIO. */
int pg_store_rollback(pg_store *store);

/** The message of the last failure of this store ("" if none); owned by the store. */
const char *pg_store_errmsg(const pg_store *store);

/**
 * 1 when the last failure will come back however often it is tried again:
 * the server refuses writes (a standby: read-only transaction), privileges or
 * authorization, a schema not as this store made it, a full disk. 0 for
 * failures that may pass (serialization conflicts, deadlocks, a lost
 * connection) and for a NULL store.
 */
int pg_store_failure_lasts(const pg_store *store);

/**
 * The round trips to the server this handle has made since it was opened:
 * every statement sent and waited for (queries, prepared statements and
 * their preparation, transaction control, including those of opening and of
 * reconnecting; establishing the connection itself is not counted). For
 * benchmarks and tests of the round trips per call documented above.
 * NULL-safe: 0.
 */
uint64_t pg_store_round_trips(const pg_store *store);

/** The process id of the server backend of the store's connection (0 if not connected). */
int pg_store_backend_pid(const pg_store *store);

/**
 * The current assignment of a claimed lead key (e.g. "lead:L-1001"), filled
 * like a listing from list_due: history and acknowledgement included.
 * Strings are owned by the store and valid until its next call.
 * @return LEADROUTE_OK, LEADROUTE_ENOTFOUND, LEADROUTE_EIO.
 */
int pg_store_get(pg_store *store, const char *key, leadroute_assignment *out);

/** One event of a lead's recorded history, for `leadroute explain`. */
typedef struct pg_store_event {
    int64_t at_ms;      /**< clock time of the event */
    const char *kind;   /**< "routed", "reassigned", "escalated", "acknowledged", ... */
    const char *key;    /**< dedupe key */
    const char *lead_id;
    const char *detail; /**< JSON text: a decision trace, or a short object */
} pg_store_event;

/**
 * Record an event of a lead (inside the open batch if there is one: queued,
 * sent with its commits).
 * `lead_id` and `detail` may be NULL. @return LEADROUTE_OK, LEADROUTE_EINVAL, LEADROUTE_EIO.
 */
int pg_store_record(pg_store *store, const pg_store_event *event);

/**
 * Call `each` for every recorded event whose lead id or key equals `lead`,
 * oldest first (by at_ms, then in recording order); strings are borrowed for
 * the call. The rows are read before `each` runs, so `each` may call the
 * store. A non-zero return from `each` stops and is returned.
 * @return LEADROUTE_OK (`*count`, when not NULL, says how many were listed),
 *         LEADROUTE_EINVAL, LEADROUTE_EIO.
 */
int pg_store_events(pg_store *store, const char *lead, int (*each)(void *ctx, const pg_store_event *event),
                    void *ctx, size_t *count);

/**
 * A setting kept with the store's data (table `leadroute_meta`), for
 * programs that must not mix runs made with different settings: the value
 * of `key`, first set to `value` when the store has none (one statement, so
 * of two processes the first wins and both read its value). `value` NULL
 * only reads; setting is refused inside a batch. The stored value is copied
 * into `held` (`cap` bytes, at least 1, NUL-terminated); `*found` is 0 when
 * there is none. The key `schema` is the store's own and cannot be set.
 * @return LEADROUTE_OK, LEADROUTE_EINVAL, LEADROUTE_ERANGE (the stored value
 *         does not fit `held`), LEADROUTE_EIO.
 */
int pg_store_meta(pg_store *store, const char *key, const char *value, char *held, size_t cap, int *found);

#ifdef __cplusplus
}
#endif

#endif /* LEADROUTE_EXAMPLE_PG_STORE_H */
