/*
 * store_check: a conformance self-check for a host store of libleadroute.
 *
 * The same routing story runs against any store that offers the methods of
 * `leadroute_store` plus batches, a lookup of a lead's assignment and a log
 * of events (as sqlite_store.h and pg_store.h do):
 *
 *   run 1   four leads routed inside one batch;
 *   run 2   a new handle and router: the rotation goes on, a lead routed
 *           before stays with its rep, a rep at capacity is skipped; a lead
 *           is acknowledged (the first time stays), a tick past the
 *           deadline moves the other hot lead to another rep;
 *   then    the assignment windows agree with what was routed, the events
 *           of a lead are listed, a batch rolled back leaves nothing, two
 *           handles see each other's commits and a stale commit conflicts,
 *           commits made straight to the store (a conflict inside a batch,
 *           an account claim, a pool state larger than the buffer), a
 *           tick's follow-up commits (moved from the holder only: not from
 *           a rep who lost it, not once acknowledged, not once closed),
 *           duties the story does not reach (list_due only what is due at
 *           its time, commit's own capacity check, acknowledge's answers and
 *           none for an account claim, an account claim is no open lead, a
 *           reassignment clears the acknowledgement), the store's own checks
 *           (store_check_ops.extra), the windows again.
 *
 * A demo program fills a store_check_ops with its store's functions and
 * calls store_check_run_all(); the helpers below serve its own checks.
 * Each check prints one line on success; a failure is reported on stderr,
 * prefixed with the program's name.
 *
 * Uses only the public API of <leadroute/leadroute.h>.
 * SPDX-License-Identifier: MIT
 */
#ifndef LEADROUTE_EXAMPLE_STORE_CHECK_H
#define LEADROUTE_EXAMPLE_STORE_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include <leadroute/leadroute.h>

#ifdef __cplusplus
extern "C" {
#endif

/** One event of a lead's history: the fields of sqlite_store_event and pg_store_event. */
typedef struct store_check_event {
    int64_t at_ms;
    const char *kind;
    const char *key;
    const char *lead_id;
    const char *detail;
} store_check_event;

typedef struct store_check store_check;

/**
 * The store under test. `store` arguments are the handles `open` made.
 * Return codes are LEADROUTE_* as the store documents them.
 */
typedef struct store_check_ops {
    const char *name;                /**< program name: prefix of every message */
    const leadroute_store *methods;  /**< all eight methods of a version 1 store */
    /** A new handle on the store under test, every time the same database. */
    int (*open)(void *user, void **store, char *err, size_t err_cap);
    void (*close)(void *store);      /**< NULL-safe; rolls an open batch back */
    int (*begin)(void *store);       /**< open a batch */
    int (*commit)(void *store);      /**< commit the open batch */
    int (*rollback)(void *store);    /**< roll the open batch back */
    const char *(*errmsg)(const void *store);
    /** The current assignment of a claimed key, with its history; ENOTFOUND if none. */
    int (*get)(void *store, const char *key, leadroute_assignment *out);
    int (*record)(void *store, const store_check_event *event);
    /** Every event whose lead id or key is `lead`, oldest first; `*count` (if not NULL) how many. */
    int (*events)(void *store, const char *lead, int (*each)(void *ctx, const store_check_event *event),
                  void *ctx, size_t *count);
    /** The store's own checks, after the shared ones; NULL = none. 0 = passed. */
    int (*extra)(store_check *check, void *user);
    /** Settings kept with the data (sqlite_store_meta(), pg_store_meta()); NULL = none. */
    int (*meta)(void *store, const char *key, const char *value, char *held, size_t cap, int *found);
} store_check_ops;

/**
 * Run every check against a store whose database holds nothing of the
 * leadroute tables yet (or only empty ones). `user` is passed to ops->open
 * and ops->extra. @return 0 when all passed, 1 otherwise (reported on stderr).
 */
int store_check_run_all(const store_check_ops *ops, void *user);

/* ---- helpers for store_check_ops.extra ----------------------------------------------------------- */

/** A store handle with a router that keeps its state there (the demo's table and roster). */
typedef struct store_check_run {
    store_check *check;
    void *store;
    leadroute_router *router;
    leadroute_decision *decision;
} store_check_run;

/** Open a handle and its router; 0 on success. Close with store_check_run_close() either way. */
int store_check_run_open(store_check *check, store_check_run *run);
void store_check_run_close(store_check_run *run);

/**
 * Route lead `id` (fields priority and deal_value), which must be newly
 * assigned, to `want` (NULL: anyone); the rep goes to *got when not NULL
 * (owned by the run's decision). `counted`: the assignment stays and counts
 * in the windows checked at the end. 0 on success.
 */
int store_check_expect_assigned(store_check_run *run, const char *id, const char *priority, double deal_value,
                                int counted, const char *want, const char **got);

/** The state version of pool `pool` as `store` has it; 0 on success. */
int store_check_pool_version(store_check *check, void *store, const char *pool, uint64_t *version);

/** How many events the store lists for `lead`; 0 on success. */
int store_check_event_count(store_check *check, void *store, const char *lead, size_t *count);

/** The clock the check's routers read (milliseconds since the epoch). */
int64_t store_check_now(const store_check *check);

/** A lead's first assignment: `key` ("lead:" and the lead id, which the
 *  assignment points into), no previous holder, no pool, at `at_ms`; a
 *  deadline of `sla` minutes from then, or none for 0. */
void store_check_first_assignment(leadroute_assignment *a, const char *key, const char *rep, int64_t at_ms,
                                  double sla);

#if defined(__GNUC__)
#define STORE_CHECK_PRINTF_LIKE(a, b) __attribute__((format(printf, a, b)))
#else
#define STORE_CHECK_PRINTF_LIKE(a, b)
#endif

/** Report a check that did not hold, prefixed with the program's name; returns 1. */
int store_check_failed(const store_check *check, const char *fmt, ...) STORE_CHECK_PRINTF_LIKE(2, 3);

/** Report a failed store call with the store's message; returns 1. */
int store_check_store_failed(const store_check *check, const char *what, int rc, const void *store);

#ifdef __cplusplus
}
#endif

#endif /* LEADROUTE_EXAMPLE_STORE_CHECK_H */
