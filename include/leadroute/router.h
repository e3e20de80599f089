/*
 * libleadroute: the router (reps, pools, strategies, host callbacks).
 * SPDX-License-Identifier: MIT
 */
#ifndef LEADROUTE_ROUTER_H
#define LEADROUTE_ROUTER_H

#include "common.h"
#include "value.h"
#include "table.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @file
 * The router takes a lead, evaluates the decision table, reads the matched
 * rule's outputs (owner, pool, queue, status, SLA minutes, tags), walks the
 * pool chain, filters reps (active, skills, tier, capacity, availability),
 * picks one with the pool's strategy, claims the lead in the store
 * atomically, notifies the host, and records why (docs/router.md).
 *
 * Objects:
 * - ::leadroute_roster: reps and pools, immutable, reference counted.
 * - ::leadroute_router: table + roster + host callbacks + routing state.
 * - ::leadroute_decision: the outcome of one routing call and its trace;
 *   reusable, one thread at a time.
 *
 * Threads: leadroute_route() is safe from any number of threads on one
 * router, each with its own decision. leadroute_router_set_table() and
 * leadroute_router_set_roster() are atomic and may run while other threads
 * route: a routing call uses one table and one roster from start to end.
 * The leadroute_router_set_store() family (callbacks) must be called before
 * routing starts, not while other threads route.
 *
 * Callbacks run on the routing thread, inside leadroute_route(), and may
 * not call back into the same router. Strings they receive are borrowed for
 * the call. A callback returns LEADROUTE_OK or a negative code (a host error
 * is best LEADROUTE_EUSER or LEADROUTE_EIO); the router then reports
 * LEADROUTE_ECALLBACK and names the callback and its code. The built-in
 * store is not a host callback: when it runs out of memory (a fork's store
 * too, when the router it was forked from uses the built-in one) the
 * router reports LEADROUTE_ENOMEM.
 */

/* ---- reps and pools ------------------------------------------------------ */

/**
 * A sales rep. Strings and arrays are copied by leadroute_roster_new().
 * Skills are named sets: a field whose value is a string or a set of
 * strings, e.g. {"languages", {"en", "de"}}. Skill items are compared
 * case-insensitively after trimming.
 */
typedef struct leadroute_rep {
    uint32_t version;               /**< LEADROUTE_REP_VERSION */
    const char *id;                 /**< stable unique id, required */
    const char *name;               /**< display name; NULL = the id */
    const char *const *pools;       /**< ids of the pools the rep belongs to */
    size_t pool_count;
    double weight;                  /**< share in weighted pools, finite, > 0 (INIT: 1); in one
                                         weighted pool at most 1e10 times its smallest */
    uint32_t capacity;              /**< most open leads at once; 0 = no cap */
    uint32_t tier;                  /**< seniority tier, 0 = most junior */
    const leadroute_field *skills;  /**< named skill sets */
    size_t skill_count;
    int active;                     /**< 0: never offered a lead (INIT: 1) */
    /** Most assignments over the last 24 hours, 7 days and 30 days (rolling,
     *  counted from the store's assignment records). LEADROUTE_NO_CAP (INIT)
     *  for none; 0 means paused: no new leads. */
    uint32_t cap_day, cap_week, cap_month;
} leadroute_rep;

/** A cap that is not set. */
#define LEADROUTE_NO_CAP UINT32_MAX

#define LEADROUTE_REP_VERSION 1
#define LEADROUTE_REP_INIT                                                                                 \
    { LEADROUTE_REP_VERSION, NULL, NULL, NULL, 0, 1.0, 0, 0, NULL, 0, 1, LEADROUTE_NO_CAP, LEADROUTE_NO_CAP,  \
      LEADROUTE_NO_CAP }

/**
 * Initialise a rep with defaults.
 * @return LEADROUTE_OK, EINVAL (NULL), EVERSION (unknown version; `*rep` untouched).
 * Thread-safe: touches only `*rep`.
 */
LEADROUTE_API int leadroute_rep_init(leadroute_rep *rep, uint32_t version);

/** How a pool picks among its eligible, available members. */
typedef enum leadroute_strategy {
    LEADROUTE_STRATEGY_ROUND_ROBIN = 1,  /**< next member by id after the last one served */
    LEADROUTE_STRATEGY_WEIGHTED = 2,     /**< stride scheduling: shares follow weights, within one lead
                                              and 1 part in 100,000 (docs/router.md) */
    LEADROUTE_STRATEGY_LEAST_LOADED = 3, /**< fewest open leads, ties by id */
    LEADROUTE_STRATEGY_VALUE_BALANCED = 4 /**< lowest deal value assigned over the pool's value window,
                                               then fewest assignments, ties by id */
} leadroute_strategy;

/** The largest deal value a lead may carry (in its pool's `value_field`):
 *  routing a lead with more fails with LEADROUTE_ELEAD, so that the sums of
 *  a value window stay finite. A tick's move (leadroute_router_tick()) of a
 *  lead whose looked-up value is above it carries the value of the
 *  assignment it moves instead, so the lead still moves and escalates. */
#define LEADROUTE_MAX_DEAL_VALUE 1e15

/** How a rep back from being away, or new to a pool, re-enters the rotation. */
typedef enum leadroute_calibration {
    LEADROUTE_CALIBRATE_JOIN = 0,     /**< at the pool's current level: no catch-up leads (default) */
    LEADROUTE_CALIBRATE_CATCH_UP = 1  /**< weighted pools: keeps what it missed and catches up, at
                                           most one lead per pool member; value-balanced pools
                                           compare plain sums */
} leadroute_calibration;

/** What a pool does when no member can take the lead and it has no fallback. */
typedef enum leadroute_empty_policy {
    LEADROUTE_EMPTY_UNASSIGNED = 1,    /**< leave the lead unassigned (and say why) */
    LEADROUTE_EMPTY_DEFAULT_OWNER = 2, /**< give it to the pool's default owner */
    LEADROUTE_EMPTY_QUEUE = 3          /**< put it in the pool's queue */
} leadroute_empty_policy;

/**
 * Eligibility filter: the lead's `field` must be in the rep's skill set
 * `skill` (for a set-valued field: every item; blank items ask for
 * nothing). A lead without the field passes. The field must be a string or a set: a number or a bool there
 * makes leadroute_route() fail with LEADROUTE_ELEAD when the pool filters
 * its members; in a tick's move (leadroute_router_tick()) the filter then
 * matches no member. Frozen layout: arrays of it are read with this exact size.
 */
typedef struct leadroute_skill_filter {
    const char *field;  /**< lead field, e.g. "language" */
    const char *skill;  /**< rep skill set, e.g. "languages" */
} leadroute_skill_filter;

/**
 * Score tier: a lead whose score is >= `min_score` goes only to reps whose
 * tier is >= `min_tier` (the highest applicable rule wins; two rules of a
 * pool may not share a `min_score`). Frozen layout.
 */
typedef struct leadroute_tier_rule {
    double min_score;
    uint32_t min_tier;
} leadroute_tier_rule;

/** A pool. Members are the reps that list its id. Copied by leadroute_roster_new(). */
typedef struct leadroute_pool {
    uint32_t version;                       /**< LEADROUTE_POOL_VERSION */
    const char *id;                         /**< unique id, required */
    uint32_t strategy;                      /**< ::leadroute_strategy (INIT: round robin) */
    const leadroute_skill_filter *filters;  /**< all must pass */
    size_t filter_count;
    const char *score_field;                /**< lead field read by `tiers`, at most LEADROUTE_MAX_NAME
                                                 bytes; NULL = "score" */
    const leadroute_tier_rule *tiers;
    size_t tier_count;
    const char *fallback;                   /**< pool tried next when none can take it; NULL = none */
    uint32_t on_empty;                      /**< ::leadroute_empty_policy (INIT: unassigned) */
    const char *default_owner;              /**< rep id, for LEADROUTE_EMPTY_DEFAULT_OWNER */
    const char *queue;                      /**< queue name, for LEADROUTE_EMPTY_QUEUE */
    int owner_first;                        /**< give the lead to its account's owner first */
    /** Most assignments from this pool over 24 h, 7 days, 30 days; LEADROUTE_NO_CAP
     *  (INIT) for none, 0 = paused (the empty-pool policy applies). */
    uint32_t cap_day, cap_week, cap_month;
    double sla_minutes;                     /**< follow-up deadline when the rule gives none; 0 = none */
    uint32_t max_hops;                      /**< reassignments of an overdue lead before it escalates (INIT 2) */
    const char *escalation_pool;            /**< where it escalates: a pool (routed there), */
    const char *escalation_owner;           /**< or else a rep; neither: it stays with its last rep */
    uint32_t calibration;                   /**< ::leadroute_calibration */
    const char *value_field;                /**< lead field of the deal value for value balancing, at
                                                 most LEADROUTE_MAX_NAME bytes; NULL = "deal_value"; the
                                                 value at most LEADROUTE_MAX_DEAL_VALUE */
    uint32_t value_window_days;             /**< value balancing window, 1..31 days; 0 = 30 */
} leadroute_pool;

#define LEADROUTE_POOL_VERSION 1
#define LEADROUTE_POOL_INIT                                                                                \
    { LEADROUTE_POOL_VERSION, NULL, LEADROUTE_STRATEGY_ROUND_ROBIN, NULL, 0, NULL, NULL, 0, NULL,           \
      LEADROUTE_EMPTY_UNASSIGNED, NULL, NULL, 0, LEADROUTE_NO_CAP, LEADROUTE_NO_CAP, LEADROUTE_NO_CAP, 0.0, 2,  \
      NULL, NULL, LEADROUTE_CALIBRATE_JOIN, NULL, 0 }

/**
 * Initialise a pool with defaults.
 * @return LEADROUTE_OK, EINVAL (NULL), EVERSION (unknown version; `*pool` untouched).
 * Thread-safe: touches only `*pool`.
 */
LEADROUTE_API int leadroute_pool_init(leadroute_pool *pool, uint32_t version);

/** Opaque, immutable, reference-counted set of reps and pools. Thread-safe to share. */
typedef struct leadroute_roster leadroute_roster;

/**
 * Check and copy reps and pools into a new roster.
 * Rejected with a precise message (LEADROUTE_EINVAL, LEADROUTE_EVERSION):
 * NULL or duplicate ids, a rep in an unknown pool, a weight that is not
 * finite and > 0, an unknown strategy or empty policy, a fallback to an
 * unknown pool or a fallback cycle, a default owner that is not a rep, a
 * missing queue name, NaN tier scores, a weighted pool whose members'
 * weights differ by more than a factor of 1e10, invalid UTF-8, an empty id
 * or one holding a control character (C0, DEL, C1), a line or paragraph
 * separator (U+2028, U+2029) or a byte order mark (U+FEFF), a skill without
 * a name or given twice.
 * More than 100000 reps or 100000 pools: LEADROUTE_ELIMIT.
 * @param out       receives the roster (reference count 1); NULL on error
 * @param allocator NULL = malloc/free; copied
 * @return LEADROUTE_OK or an error; nothing is allocated on error. Thread-safe.
 */
LEADROUTE_API int leadroute_roster_new(leadroute_roster **out, const leadroute_rep *reps, size_t rep_count,
                                       const leadroute_pool *pools, size_t pool_count,
                                       const leadroute_allocator *allocator);

/**
 * Parse a roster from CSV text (docs/router.md: a `#! pools` section and a
 * `#! reps` section, each with its header row). Errors about a cell or row
 * name file:line:col; errors about the roster as a whole (a rep or pool
 * given twice, a fallback loop, an undefined fallback) carry the
 * file:line:col of the id of the rep or pool concerned, and for an id given
 * twice the line where it came first.
 * @return as leadroute_roster_new(), plus LEADROUTE_EPARSE. Thread-safe.
 */
LEADROUTE_API int leadroute_roster_parse(leadroute_roster **out, const char *text, size_t length,
                                         const char *filename, const leadroute_allocator *allocator);

/** Read a file and call leadroute_roster_parse(). Adds LEADROUTE_EIO. Thread-safe. */
LEADROUTE_API int leadroute_roster_load(leadroute_roster **out, const char *path,
                                        const leadroute_allocator *allocator);

/** Take a reference; returns `roster`. Thread-safe (atomic), NULL-safe. */
LEADROUTE_API leadroute_roster *leadroute_roster_ref(leadroute_roster *roster);
/** Drop a reference; the last one frees. Thread-safe (atomic), NULL-safe. */
LEADROUTE_API void leadroute_roster_unref(leadroute_roster *roster);
/** Number of reps (0 for NULL). Thread-safe. */
LEADROUTE_API size_t leadroute_roster_rep_count(const leadroute_roster *roster);
/** Id of rep `index` in id order, owned by the roster; NULL if out of range. Thread-safe. */
LEADROUTE_API const char *leadroute_roster_rep_id(const leadroute_roster *roster, size_t index);
/** Number of pools (0 for NULL). Thread-safe. */
LEADROUTE_API size_t leadroute_roster_pool_count(const leadroute_roster *roster);
/** Id of pool `index` in id order, owned by the roster; NULL if out of range. Thread-safe. */
LEADROUTE_API const char *leadroute_roster_pool_id(const leadroute_roster *roster, size_t index);

/**
 * Rep `index` (id order, as leadroute_roster_rep_id()) as the roster holds
 * it. The caller sets out->version; the library fills the fields of that
 * version. Strings and arrays point into the roster and stay valid while it
 * lives. Skill items come back normalised (trimmed, case-folded, sorted,
 * unique), skills sorted by name; pools in the order given.
 * @return LEADROUTE_OK, LEADROUTE_EINVAL (NULL), LEADROUTE_EVERSION
 *         (out->version 0 or newer than the library), LEADROUTE_ERANGE
 *         (index out of range); `*out` is untouched on error. Thread-safe.
 */
LEADROUTE_API int leadroute_roster_rep(const leadroute_roster *roster, size_t index, leadroute_rep *out);

/** Pool `index` (id order), filled the same way; ids of fallback, default
 *  owner and escalation pool/owner as strings (NULL when none); tiers as
 *  the roster keeps them (highest min_score first).
 *  @return as leadroute_roster_rep(): LEADROUTE_OK, EINVAL, EVERSION, ERANGE;
 *  `*out` untouched on error. Thread-safe. */
LEADROUTE_API int leadroute_roster_pool(const leadroute_roster *roster, size_t index, leadroute_pool *out);

/* ---- host callbacks ------------------------------------------------------ */

/** An assignment, as handed to the store and to notify. Borrowed for the call. */
typedef struct leadroute_assignment {
    uint32_t version;        /**< LEADROUTE_ASSIGNMENT_VERSION */
    const char *key;         /**< dedupe key of the lead */
    const char *lead_id;     /**< lead id; may be NULL */
    const char *rep_id;      /**< the rep who gets the lead */
    const char *previous;    /**< rep who had it, when reassigning; else NULL */
    const char *pool_id;     /**< pool it came from; NULL for a direct owner */
    const char *rule_id;     /**< matched rule */
    uint64_t table_hash;     /**< leadroute_table_hash() of the table used */
    int64_t at_ms;           /**< clock time of the decision, ms since the epoch */
    double sla_minutes;      /**< from the table, else the pool's default; 0 if none */
    int64_t deadline_ms;     /**< follow-up due by then; 0 = no deadline; INT64_MAX when the SLA
                                  reaches past the int64 range (times saturate, never wrap) */
    double value;            /**< deal value of the lead (its pool's value field), 0 if none */
    uint32_t hops;           /**< ticks' reassignments of this lead within its pool since a
                                  routing call assigned it or a tick escalated it into an
                                  escalation pool: 0 on those (the first assignment, a host's
                                  reassignment with LEADROUTE_ROUTE_REASSIGN, an escalation
                                  into a pool), which thus start the pool's `max_hops` anew;
                                  `history` keeps every earlier holder all the same */
    int escalated;           /**< 1: this assignment is an escalation */
    const char *const *history; /**< in listings from the store: earlier reps of the lead, oldest
                                     first; in a tick's move, those it listed (a store that keeps
                                     its own, as it must, ignores them) */
    size_t history_count;
    int64_t acknowledged_ms; /**< in listings: when the rep acknowledged it, 0 if not yet */
} leadroute_assignment;

#define LEADROUTE_ASSIGNMENT_VERSION 1

/**
 * One atomic write: everything or nothing. The store must, in one
 * transaction:
 * 1. if `pool_id` is not NULL, check that the pool's state version is still
 *    `expected_version`, else fail with LEADROUTE_ECONFLICT;
 * 2. if `capacity` > 0, check that the rep has fewer open leads, else
 *    LEADROUTE_ECONFLICT;
 * 3. claim `assignment->key`: if it is held by someone other than
 *    `assignment->previous` (NULL: by anyone), fail with LEADROUTE_EEXISTS
 *    and copy the holder's rep id into `owner` (`owner_cap` bytes; an
 *    empty one is an error, LEADROUTE_ECALLBACK, but in a tick's move);
 * 4. write the pool state (`state_length` bytes, new version
 *    expected_version + 1); move the claim to the rep; add one open lead to
 *    the rep (and remove one from `previous`); record the assignment (with
 *    its time, deadline, value and hops, for `window` and `list_due`; a
 *    reassignment appends `previous` to the lead's history and clears its
 *    acknowledgement); claim `account_key` for the rep unless it is held
 *    already.
 * A commit with LEADROUTE_COMMIT_FOLLOW_UP in `flags` (version 2) is a tick
 * moving an overdue lead: step 3 then also needs the key to be held by
 * `assignment->previous` exactly (not free: the lead was closed meanwhile),
 * the lead not acknowledged since, and still due at `assignment->at_ms` (its
 * deadline set and not later: else it was assigned again since the tick
 * listed it); otherwise the store changes nothing and returns
 * LEADROUTE_EEXISTS (`owner` gets the holder, or "" if none).
 * A store that reads only version 1 ignores `flags`: a close or an
 * acknowledgement racing a tick may then be undone by the move.
 */
typedef struct leadroute_commit {
    uint32_t version;                         /**< LEADROUTE_COMMIT_VERSION */
    const leadroute_assignment *assignment;
    const char *pool_id;                      /**< NULL: no pool state to write */
    uint64_t expected_version;
    const void *state;
    size_t state_length;
    uint32_t capacity;                        /**< the rep's cap, 0 = none; for a least-loaded
                                                   pick, at most one more than the lowest open
                                                   count it read of the other eligible reps, so
                                                   the rep must still be least loaded */
    const char *account_key;                  /**< NULL = none */
    /* version 2 */
    uint32_t flags;                           /**< LEADROUTE_COMMIT_* bits */
} leadroute_commit;

#define LEADROUTE_COMMIT_VERSION 2

/** The commit moves an overdue lead (a tick): see ::leadroute_commit. */
#define LEADROUTE_COMMIT_FOLLOW_UP 1u

/**
 * Storage: pool state, claims, open-lead counts. Designed so one SQL
 * database or Redis can serve many hosts: state is versioned and every
 * write is one compare-and-swap (commit). Callbacks receive `user_data`
 * first. The first five methods are required; the last three are optional.
 */
typedef struct leadroute_store {
    uint32_t version;  /**< LEADROUTE_STORE_VERSION */
    /** Load a pool's strategy state into `buf` (`cap` bytes) and set
     *  `*length` and `*state_version`. If `*length` > cap the buffer may be
     *  left untouched: the router calls again with a larger one. A pool
     *  never written: length 0, version 0. */
    int (*load_pool)(void *user_data, const char *pool_id, void *buf, size_t cap, size_t *length,
                     uint64_t *state_version);
    /** Who holds `key`: copy the rep id into `rep_id` (`cap` bytes) and return
     *  LEADROUTE_OK, or return LEADROUTE_ENOTFOUND. */
    int (*find_claim)(void *user_data, const char *key, char *rep_id, size_t cap);
    /** Open leads of a rep (0 if unknown): the count `commit` checks
     *  `capacity` against, as it is now, since least-loaded picks are
     *  committed on what it said. */
    int (*open_count)(void *user_data, const char *rep_id, uint32_t *count);
    /** The atomic write described at ::leadroute_commit. */
    int (*commit)(void *user_data, const leadroute_commit *commit, char *owner, size_t owner_cap);
    /** The lead of `key` is closed: release the claim, one open lead less for
     *  its rep. LEADROUTE_ENOTFOUND if not claimed, or claimed for an account
     *  (account claims stay with their first owner). */
    int (*close)(void *user_data, const char *key);
    /* Optional (NULL = not provided). Without `window`, rosters with caps or
     * value-balanced pools are refused at routing time (LEADROUTE_ENOTSUP);
     * without `acknowledge` and `list_due`, so are acknowledgements and ticks. */
    /** Assignments committed at or after `since_ms` to `rep_id` (when
     *  `pool_id` is NULL) or from `pool_id` (when `rep_id` is NULL): how many,
     *  and their summed value. Reassignments count for the new rep; an
     *  assignment counts for its `pool_id` (else the commit's). The router
     *  asks at most 31 days back from its clock, so a store may drop the
     *  assignments more than 31 days older than the one it commits (or
     *  than its own clock, if earlier); not those 31 days older than its
     *  newest one, which may come from a clock far ahead. */
    int (*window)(void *user_data, const char *rep_id, const char *pool_id, int64_t since_ms, uint64_t *count,
                  double *value);
    /** The holder of `key` acknowledged it at `at_ms`: its deadline no longer
     *  applies. Record `at_ms`, or the current assignment's time if that is
     *  later (the router reads its clock before this call, and hosts' clocks
     *  differ): an acknowledgement never precedes its assignment. Also give
     *  back, for speed-to-lead metrics, when the current assignment was
     *  made (`*assigned_ms`), to whom (`rep_id`, `rep_cap` bytes) and from
     *  which pool (`pool_id`, `pool_cap` bytes; "" if none); the buffers may
     *  be NULL with a size of 0, and long ids are truncated.
     *  LEADROUTE_ENOTFOUND if not claimed; acknowledging twice keeps the
     *  first time and returns LEADROUTE_EEXISTS. */
    int (*acknowledge)(void *user_data, const char *key, int64_t at_ms, int64_t *assigned_ms, char *rep_id,
                       size_t rep_cap, char *pool_id, size_t pool_cap);
    /** Call `each` for every claimed, unacknowledged assignment whose
     *  deadline is set and at or before `now_ms`, filled as at commit plus
     *  `history` and `acknowledged_ms`, borrowed for the call. `each` never
     *  calls the store. A non-zero return from `each` stops the listing and
     *  is returned. */
    int (*list_due)(void *user_data, int64_t now_ms, int (*each)(void *ctx, const leadroute_assignment *a),
                    void *ctx);
} leadroute_store;

#define LEADROUTE_STORE_VERSION 1

/** Availability verdicts. */
typedef enum leadroute_availability_verdict {
    LEADROUTE_AVAILABLE = 0,
    LEADROUTE_AWAY = 1,        /**< with a reason: "vacation", "outside hours", ... */
    LEADROUTE_AT_CAPACITY = 2
} leadroute_availability_verdict;

/** Availability: asked only for candidates that pass every other check, once per rep per call. */
typedef struct leadroute_availability {
    uint32_t version;  /**< LEADROUTE_AVAILABILITY_VERSION */
    /** Set `*verdict`; for AWAY, optionally a NUL-terminated reason in `reason` (`cap` bytes). */
    int (*check)(void *user_data, const char *rep_id, const leadroute_lead *lead, int64_t now_ms,
                 uint32_t *verdict, char *reason, size_t cap);
} leadroute_availability;

#define LEADROUTE_AVAILABILITY_VERSION 1

/** Notification after a successful claim. A failure keeps the assignment; the
 *  notification stays pending (leadroute_router_retry_notifications()). */
typedef struct leadroute_notify {
    uint32_t version;  /**< LEADROUTE_NOTIFY_VERSION */
    int (*assigned)(void *user_data, const leadroute_assignment *assignment);
} leadroute_notify;

#define LEADROUTE_NOTIFY_VERSION 1

/** Clock, injectable for tests and simulation. */
typedef struct leadroute_clock {
    uint32_t version;  /**< LEADROUTE_CLOCK_VERSION */
    int64_t (*now_ms)(void *user_data);  /**< milliseconds since the Unix epoch */
} leadroute_clock;

#define LEADROUTE_CLOCK_VERSION 1

/* ---- the router ---------------------------------------------------------- */

/** Opaque router. */
typedef struct leadroute_router leadroute_router;

/** Router options. Output names say which table outputs the router reads. */
typedef struct leadroute_router_options {
    uint32_t version;                      /**< LEADROUTE_ROUTER_OPTIONS_VERSION */
    const leadroute_allocator *allocator;  /**< NULL = malloc/free; copied */
    const char *dedupe_field;   /**< lead field holding the dedupe key; NULL = the lead id */
    const char *account_field;  /**< email or domain for owner-first; NULL = "email" */
    const char *owner_output;   /**< NULL = "owner" */
    const char *pool_output;    /**< NULL = "pool" */
    const char *queue_output;   /**< NULL = "queue" */
    const char *status_output;  /**< NULL = "status" */
    const char *sla_output;     /**< NULL = "sla_minutes"; a number output (`out:sla_minutes:number`) */
    const char *tags_output;    /**< NULL = "tags" */
    uint32_t max_retries;       /**< commit conflicts retried per call (after the fourth, each after
                                     a random pause growing to 2-4 ms); 0 = 64 */
    /** Lead field with the time the lead was captured (milliseconds since the
     *  epoch, or ISO 8601 UTC text such as "2026-11-24T09:30:00Z"), for the
     *  capture-to-assignment metric; NULL = "captured_at". */
    const char *captured_field;
    /** Version 2. 1: dedupe keys compare without case, for keys such as email
     *  addresses: a key is trimmed of Unicode blanks too (the no-break space,
     *  U+2000..U+200B, U+2028, U+2029, U+202F, U+205F, U+3000, U+FEFF) and
     *  case-folded (as `:ci` table columns fold) before it reaches the store,
     *  in leadroute_route(), leadroute_router_close() and
     *  leadroute_router_acknowledge() alike. 0 (default): keys compare as
     *  written, ASCII blanks trimmed. Keys a store holds from routes with the
     *  other setting are not found under the new one. Other values: EINVAL. */
    uint32_t dedupe_fold;
} leadroute_router_options;

#define LEADROUTE_ROUTER_OPTIONS_VERSION 2
#define LEADROUTE_ROUTER_OPTIONS_INIT                                                                      \
    { LEADROUTE_ROUTER_OPTIONS_VERSION, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, 0 }

/**
 * Initialise router options.
 * @return LEADROUTE_OK, EINVAL (NULL), EVERSION (unknown version; `*options` untouched).
 * Thread-safe: touches only `*options`.
 */
LEADROUTE_API int leadroute_router_options_init(leadroute_router_options *options, uint32_t version);

/**
 * Create a router with the built-in thread-safe in-memory store, no
 * availability callback (everyone available), no notify, the system clock.
 * Takes its own references to `table` and `roster`; copies the option
 * strings. `*out` receives the router, to release with
 * leadroute_router_free(), and is NULL on error.
 * @return LEADROUTE_OK, EINVAL (NULL out, table or roster; a table whose SLA
 *         output is not a number column; an allocator missing a function),
 *         EVERSION (options or allocator), ENOMEM.
 * Thread-safe (no shared state; the table and roster are only read).
 */
LEADROUTE_API int leadroute_router_new(leadroute_router **out, leadroute_table *table, leadroute_roster *roster,
                                       const leadroute_router_options *options);

/** Free a router (NULL-safe). No thread may be routing with it. */
LEADROUTE_API void leadroute_router_free(leadroute_router *router);

/**
 * Replace the table atomically; routing calls in flight finish with the old one.
 * The router takes its own reference. Rule hit counts carry over only when
 * the same table is set again.
 * @return LEADROUTE_OK, EINVAL (NULL; a table whose SLA output is not a
 *         number column), ENOMEM (the old table stays in both cases). Thread-safe.
 */
LEADROUTE_API int leadroute_router_set_table(leadroute_router *router, leadroute_table *table);
/**
 * Replace reps and pools atomically. Routing state (rotation, claims, counts)
 * is kept by id. The router takes its own reference.
 * @return LEADROUTE_OK, EINVAL (NULL), ENOMEM (nothing changes: the old
 *         roster stays, and the reps and pools new to the router get no
 *         counters, so leadroute_router_latency() still says ENOTFOUND for
 *         them). Thread-safe.
 */
LEADROUTE_API int leadroute_router_set_roster(leadroute_router *router, leadroute_roster *roster);

/**
 * Use a host store (copied; NULL = back to the built-in store, for a fork
 * its store over its parent's, lacking what that lacks). `user_data` must
 * outlive the router.
 * @return LEADROUTE_OK, EINVAL (NULL router, a method missing), EVERSION; the
 *         router is unchanged on error. Not thread-safe: call it before
 *         routing starts, while no other thread uses the router.
 */
LEADROUTE_API int leadroute_router_set_store(leadroute_router *router, const leadroute_store *store,
                                             void *user_data);
/**
 * Availability callback (copied; NULL or a NULL `check` = everyone available).
 * `user_data` must outlive the router.
 * @return LEADROUTE_OK, EINVAL (NULL router), EVERSION; unchanged on error.
 * Not thread-safe: as leadroute_router_set_store().
 */
LEADROUTE_API int leadroute_router_set_availability(leadroute_router *router,
                                                    const leadroute_availability *availability,
                                                    void *user_data);
/**
 * Notify callback (copied; NULL or a NULL `assigned` = none).
 * `user_data` must outlive the router.
 * @return LEADROUTE_OK, EINVAL (NULL router), EVERSION; unchanged on error.
 * Not thread-safe: as leadroute_router_set_store().
 */
LEADROUTE_API int leadroute_router_set_notify(leadroute_router *router, const leadroute_notify *notify,
                                              void *user_data);
/**
 * Clock (copied; NULL or a NULL `now_ms` = the system clock).
 * `user_data` must outlive the router.
 * @return LEADROUTE_OK, EINVAL (NULL router), EVERSION; unchanged on error.
 * Not thread-safe: as leadroute_router_set_store().
 */
LEADROUTE_API int leadroute_router_set_clock(leadroute_router *router, const leadroute_clock *clock,
                                             void *user_data);

/* ---- routing ------------------------------------------------------------- */

/** Flags for leadroute_route(). */
#define LEADROUTE_ROUTE_TRACE 0x1u     /**< record every candidate and pool for explain */
#define LEADROUTE_ROUTE_REASSIGN 0x2u  /**< route again even if the key is claimed; the holder is excluded,
                                            and keeps the lead (status EXISTING) if no one else can take it */
#define LEADROUTE_ROUTE_DRY_RUN 0x4u   /**< decide without committing or notifying */

/** Opaque decision: the outcome and trace of one routing call. One thread at a
 *  time. It keeps the table and roster of its last call alive (their strings
 *  are what its getters return) until it routes again or is freed. */
typedef struct leadroute_decision leadroute_decision;

/** What happened to the lead. */
typedef enum leadroute_route_status {
    LEADROUTE_ROUTE_ASSIGNED = 1,    /**< a rep got it (new claim, or reassigned) */
    LEADROUTE_ROUTE_EXISTING = 2,    /**< the key was already claimed: that rep keeps it (also a
                                          reassignment that found no one else) */
    LEADROUTE_ROUTE_QUEUED = 3,      /**< put in a queue (table output or empty policy) */
    LEADROUTE_ROUTE_UNASSIGNED = 4,  /**< no one: no rule, no target, or an empty pool's policy */
    LEADROUTE_ROUTE_UNROUTED = 5     /**< an error stopped routing; nothing was changed */
} leadroute_route_status;

/** Candidate verdicts in the trace. */
typedef enum leadroute_verdict {
    LEADROUTE_VERDICT_CHOSEN = 1,
    LEADROUTE_VERDICT_ELIGIBLE = 2,     /**< could have taken it; the strategy chose another */
    LEADROUTE_VERDICT_AWAY = 3,
    LEADROUTE_VERDICT_AT_CAPACITY = 4,
    LEADROUTE_VERDICT_LACKS_SKILL = 5,
    LEADROUTE_VERDICT_TIER = 6,         /**< tier below the lead's score tier */
    LEADROUTE_VERDICT_EXCLUDED = 7,     /**< inactive, unknown, or the previous holder */
    LEADROUTE_VERDICT_NOT_ASKED = 8     /**< the strategy chose before asking (owner first, direct) */
} leadroute_verdict;

/**
 * New decision, to release with leadroute_decision_free(); `*out` is NULL on error.
 * @return LEADROUTE_OK, EINVAL, EVERSION (allocator), ENOMEM. Thread-safe (no
 *         shared state); the decision is then used by one thread at a time.
 */
LEADROUTE_API int leadroute_decision_new(leadroute_decision **out, const leadroute_allocator *allocator);
/** Free a decision (NULL-safe). No other thread may be using it. */
LEADROUTE_API void leadroute_decision_free(leadroute_decision *decision);

/**
 * Route one lead. The decision is overwritten.
 * @return LEADROUTE_OK whenever a decision was made (status ASSIGNED,
 *         EXISTING, QUEUED or UNASSIGNED; a failed notify is still OK and
 *         leadroute_decision_notified() says 0). On error the status is
 *         UNROUTED, the reason says why, and the store and every counter
 *         but one are unchanged (leadroute_router_unrouted() counts the
 *         lead under LEADROUTE_UNROUTED_ERROR, except in a dry run), so
 *         routing the lead again later gives the same outcome:
 *         LEADROUTE_EINVAL, EVERSION, ELEAD (bad lead, no dedupe key, or
 *         a number or bool in a field a skill filter reads),
 *         EHITPOLICY, ERANGE (a COLLECT sum too large for a double),
 *         ENOTFOUND (the rule names a pool the roster lacks),
 *         ENOTSUP (a pool with caps or value balancing, and a store
 *         without `window`), ECALLBACK (a store or availability callback
 *         failed), ECONFLICT (commit conflicts beyond max_retries), ENOMEM.
 * Thread-safe: many threads may route through one router, each with its
 * own decision.
 */
LEADROUTE_API int leadroute_route(leadroute_router *router, const leadroute_lead *lead, uint32_t flags,
                                  leadroute_decision *decision);

/**
 * ::leadroute_route_status of the last call (0 before any, or NULL).
 * This and the getters below: one thread at a time per decision (the reason
 * is composed when first asked for); strings are owned by the decision and
 * valid until it routes again or is freed.
 */
LEADROUTE_API uint32_t leadroute_decision_status(const leadroute_decision *decision);
/** Name of a status: "assigned", "existing", "queued", "unassigned", "unrouted"; "none" for
 *  any other number. Static. Thread-safe. */
LEADROUTE_API const char *leadroute_route_status_name(uint32_t status);
/** Rep who has the lead (ASSIGNED, EXISTING), else NULL. One thread at a time per decision. */
LEADROUTE_API const char *leadroute_decision_rep(const leadroute_decision *decision);
/** Pool it came from, or NULL. One thread at a time per decision. */
LEADROUTE_API const char *leadroute_decision_pool(const leadroute_decision *decision);
/** Queue (QUEUED), or NULL. One thread at a time per decision. */
LEADROUTE_API const char *leadroute_decision_queue(const leadroute_decision *decision);
/** Matched rule id, or NULL. One thread at a time per decision. */
LEADROUTE_API const char *leadroute_decision_rule(const leadroute_decision *decision);
/** One sentence: why this outcome. Never NULL ("" for NULL). One thread at a time per decision. */
LEADROUTE_API const char *leadroute_decision_reason(const leadroute_decision *decision);
/** Table `status` output (e.g. "nurture"), or NULL. One thread at a time per decision. */
LEADROUTE_API const char *leadroute_decision_label(const leadroute_decision *decision);
/** Table `tags` output, or NULL. One thread at a time per decision. */
LEADROUTE_API const char *leadroute_decision_tags(const leadroute_decision *decision);
/** Follow-up SLA of the assignment: the rule's `sla_minutes` output, else the pool's; 0 if none.
 *  One thread at a time per decision. */
LEADROUTE_API double leadroute_decision_sla_minutes(const leadroute_decision *decision);
/** leadroute_table_hash() of the table used, 0 if none. One thread at a time per decision. */
LEADROUTE_API uint64_t leadroute_decision_table_hash(const leadroute_decision *decision);
/** 1 if the host was notified of this assignment, 0 if not (or none to notify, or NULL).
 *  Never fails. One thread at a time per decision. */
LEADROUTE_API int leadroute_decision_notified(const leadroute_decision *decision);
/** Number of candidates in the trace: all with LEADROUTE_ROUTE_TRACE; else the chosen
 *  one, after the direct or account owner passed over if any. One thread at a time per
 *  decision. */
LEADROUTE_API size_t leadroute_decision_candidate_count(const leadroute_decision *decision);
/**
 * Candidate `index`: its rep id, pool and ::leadroute_verdict, and the detail
 * (away reason, missing skill). Out pointers may be NULL.
 * @return LEADROUTE_OK, LEADROUTE_EINVAL (NULL decision), LEADROUTE_ERANGE; the
 *         out pointers are untouched on error. One thread at a time per decision.
 */
LEADROUTE_API int leadroute_decision_candidate(const leadroute_decision *decision, size_t index,
                                               const char **rep_id, const char **pool_id, uint32_t *verdict,
                                               const char **detail);

/** Explain formats. */
#define LEADROUTE_EXPLAIN_TEXT 1  /**< several lines for people */
#define LEADROUTE_EXPLAIN_JSON 2  /**< one line of JSON */

/**
 * Render the decision's trace. Writes at most `cap` bytes including the NUL:
 * text that does not fit is cut before the first character that does not
 * fit whole, so a cut text is still valid UTF-8; `*needed` (may be NULL) gets
 * the full length without the NUL (call with NULL and 0 to size a buffer).
 * @return LEADROUTE_OK (also when the text was cut: compare `*needed` with
 *         `cap`), LEADROUTE_EINVAL (unknown format, NULL decision, or NULL
 *         `buf` with a capacity; `*needed` is then 0).
 * One thread at a time per decision.
 */
LEADROUTE_API int leadroute_decision_explain(const leadroute_decision *decision, int format, char *buf,
                                             size_t cap, size_t *needed);

/* ---- after routing ------------------------------------------------------- */

/** The lead of `key` is closed: frees one unit of its rep's capacity. Thread-safe.
 *  @return LEADROUTE_OK, EINVAL (NULL router or key; a key that is empty
 *          once trimmed, too long or not UTF-8), ENOTFOUND (no claim under the key),
 *          ECALLBACK (the store's close failed; what it changed is the
 *          store's to say). Nothing changes on EINVAL or ENOTFOUND. */
LEADROUTE_API int leadroute_router_close(leadroute_router *router, const char *key);

/** Number of notifications that failed and wait for a retry (0 for a NULL router). Thread-safe. */
LEADROUTE_API size_t leadroute_router_pending_count(leadroute_router *router);

/**
 * Copy pending notification `index` (oldest first): its dedupe key (as the
 * store holds it, without the `lead:` the notification itself names it by:
 * trimmed, and under the option dedupe_fold folded as well) and rep id into
 * the buffers.
 * @return LEADROUTE_OK, EINVAL (NULL router), ERANGE (no such index, a NULL
 *         buffer, or a buffer too small: the message says how many bytes);
 *         on error neither buffer is written. Thread-safe.
 */
LEADROUTE_API int leadroute_router_pending(leadroute_router *router, size_t index, char *key, size_t key_cap,
                                           char *rep_id, size_t rep_cap);

/**
 * Give up the pending notifications of the lead under dedupe key `key`
 * (trimmed, and folded under the option dedupe_fold, as for
 * leadroute_router_close()): a host whose endpoint refuses a lead for good,
 * or that no longer wants the notification of a lead it closed, drops them
 * so that they neither wait in memory nor go out at the next retry. A
 * notification a retry is delivering at that moment counts as discarded:
 * notify may be running with it already; the retry drops it when notify
 * returns, and counts it as delivered only if notify succeeded.
 * @param discarded (may be NULL) how many were dropped.
 * @return LEADROUTE_OK, EINVAL (NULL router or key; a key that is empty
 *         once trimmed, too long or not UTF-8), ENOTFOUND (none pending
 *         under the key). Thread-safe.
 */
LEADROUTE_API int leadroute_router_pending_discard(leadroute_router *router, const char *key, size_t *discarded);

/**
 * Call notify again for every pending notification, oldest first; those that
 * succeed leave the list. A notification superseded by a later assignment
 * of its lead leaves it undelivered (delivered after that one's, it would
 * undo what the host knows): one a later pending one of its lead follows,
 * and one whose lead the store's find_claim shows held by another rep (a
 * move on another host). A notification delivered outside a retry drops
 * the pending ones of its lead at once.
 * No router lock is held while find_claim and notify run: other threads
 * route and read the pending list meanwhile, and a notification one retry
 * is delivering is left to it by another running at the same time (which
 * counts it as still pending).
 * @param delivered (may be NULL) how many succeeded (0 on EINVAL).
 * @return LEADROUTE_OK if none is left pending, EINVAL (NULL router), else
 *         LEADROUTE_ECALLBACK. Thread-safe.
 */
LEADROUTE_API int leadroute_router_retry_notifications(leadroute_router *router, size_t *delivered);

/**
 * A router for simulation: same table, roster and callbacks except notify,
 * whose store reads through to this router's store but writes only to its
 * own memory. Route sample leads through it without touching live state.
 * `*out` receives the fork, to release with leadroute_router_free() before
 * `router` is freed: the fork reads through `router`'s store and callbacks.
 * The fork keeps its changes to reps' open lead counts as differences on
 * top of what the store behind reads: while `router` keeps routing, a lead
 * both change (the fork closes it, then `router` does too) is counted in
 * the fork twice, so its capacities are exact only while `router` leaves
 * the fork's leads alone.
 * @return LEADROUTE_OK, EINVAL, ENOMEM (`*out` NULL on error). Thread-safe
 *         towards `router`.
 */
LEADROUTE_API int leadroute_router_fork(leadroute_router **out, leadroute_router *router);

/* ---- follow-up deadlines ------------------------------------------------- */

/**
 * The rep holding `key` followed the lead up (at the router's clock time):
 * its deadline no longer applies. Acknowledging again is not an error and
 * keeps the first time (the assignment-to-acknowledgement metric counts it
 * once). An assignment stored as newer than the acknowledgement (the clock
 * read before another thread's assignment landed, or a store shared with a
 * host whose clock runs ahead) counts as 0 ms, so every acknowledgement is
 * counted, and the store records the acknowledgement at the assignment's
 * time instead, never before it (see leadroute_store.acknowledge).
 * Thread-safe.
 * @return LEADROUTE_OK, EINVAL (as for leadroute_router_close()), ENOTFOUND
 *         (not claimed), ENOTSUP (the store has no acknowledge method), ECALLBACK.
 */
LEADROUTE_API int leadroute_router_acknowledge(leadroute_router *router, const char *key);

/**
 * Gives a tick the lead of an overdue assignment, so that reassignment can
 * apply the pool's skill filters and score tiers again. Return NULL when the
 * host does not have it: the lead is then reassigned on pool membership,
 * activity, caps, capacity and availability only. Return
 * LEADROUTE_LOOKUP_FAILED when the host cannot tell now (its database is
 * down): the lead then stays with its rep, still due, so that the next tick
 * tries again; it counts in `kept` and in the metrics' failed moves. A
 * lead the library cannot read (a struct version it does not know, more
 * than LEADROUTE_MAX_FIELDS fields) counts as LEADROUTE_LOOKUP_FAILED, and
 * the tick, which still returns LEADROUTE_OK, leaves why as the thread's
 * last error (naming the lead and the rep it stays with). The
 * lead must stay valid until the next call of the lookup or the end of the
 * tick. Its fields are read; its id is not: the move keeps the lead id the
 * store lists. `key` is the dedupe key as the store holds it (without
 * `lead:`): trimmed, and under the option dedupe_fold trimmed of Unicode
 * blanks and case-folded, so that a host keeping leads by their key as
 * written looks them up by that key folded (for an ASCII key, its lower
 * case; `:ci` columns fold the same way, see docs/table-format.md).
 */
typedef const leadroute_lead *(*leadroute_lead_lookup)(void *ctx, const char *key);

/** What a ::leadroute_lead_lookup returns when it failed (no lead lives at this address). */
#define LEADROUTE_LOOKUP_FAILED ((const leadroute_lead *)(uintptr_t)1)

/** What one tick did. */
typedef struct leadroute_tick_stats {
    uint32_t version;     /**< LEADROUTE_TICK_STATS_VERSION */
    uint64_t due;         /**< overdue assignments listed */
    uint64_t reassigned;  /**< moved to another rep of the same pool */
    uint64_t escalated;   /**< moved to the escalation pool or owner */
    uint64_t kept;        /**< no one could take them (or the tick's passes ran out, see
                               leadroute_router_tick()): they stay, still overdue */
    uint64_t raced;       /**< someone else moved them first (another ticker, a close) */
    /* version 2 */
    uint64_t failed;      /**< of `kept`, the leads whose move failed (the store, availability,
                               lookup or memory): they stay, still due, for the next tick */
} leadroute_tick_stats;

#define LEADROUTE_TICK_STATS_VERSION 2
#define LEADROUTE_TICK_STATS_INIT { LEADROUTE_TICK_STATS_VERSION, 0, 0, 0, 0, 0, 0 }

/**
 * Process follow-up deadlines at `now_ms` (the host calls this from its
 * own scheduler; the library starts no threads). Every unacknowledged
 * assignment whose deadline has passed is reassigned within its pool,
 * never to a rep who held the lead before; after the pool's `max_hops`
 * reassignments in it (leadroute_assignment.hops) it escalates to the
 * pool's escalation pool, where it starts at hops 0, else its
 * escalation owner (a pool with neither keeps the lead where it is). Each
 * move is one compare-and-swap commit on the lead's holder, so ticks are
 * idempotent: two hosts ticking at once move a lead once. The longest
 * overdue go first (by deadline, then key), whatever the store's listing
 * order. A lead kept for want of room is offered again while the tick's
 * later moves free some (at most 8 passes in all), so a second tick at the
 * same time moves nothing new but for chains of more than 8 leads each
 * waiting for the next one's rep. Each move is notified like an
 * assignment. The new deadline counts from `now_ms`. A deadline of
 * INT64_MAX never comes: a tick at `now_ms` INT64_MAX acts at INT64_MAX - 1,
 * the last instant a deadline can come.
 * @param lookup may be NULL (see ::leadroute_lead_lookup)
 * @param stats  may be NULL; its version must be set
 * @return LEADROUTE_OK; EINVAL, EVERSION, ENOTSUP (the store cannot list
 *         deadlines), ECALLBACK, ENOMEM. A lead whose move fails is left as
 *         it was and counted in `kept`. Thread-safe.
 */
LEADROUTE_API int leadroute_router_tick(leadroute_router *router, int64_t now_ms, leadroute_lead_lookup lookup,
                                        void *lookup_ctx, leadroute_tick_stats *stats);

/**
 * List the assignments due at `now_ms` (unacknowledged, deadline passed),
 * as the store keeps them, without moving any: `each` gets every one (with
 * its history of holders), borrowed for the call, and may stop the listing
 * by returning non-zero (that value is returned; a negative one is also the
 * thread's last error, "list_due stopped: the callback returned N"). `each`
 * must not call the router or the store. With `now_ms` = INT64_MAX it lists every pending
 * assignment (a deadline set, not acknowledged), due or not: compare
 * `deadline_ms` with the time to tell them apart.
 * @return LEADROUTE_OK, EINVAL, ENOTSUP (no list_due in the store), ECALLBACK,
 *         or what `each` returned. Thread-safe.
 */
LEADROUTE_API int leadroute_router_list_due(leadroute_router *router, int64_t now_ms,
                                            int (*each)(void *ctx, const leadroute_assignment *assignment),
                                            void *ctx);

/* ---- metrics ------------------------------------------------------------- */

/** Unrouted reasons counted in metrics. */
typedef enum leadroute_unrouted_reason {
    LEADROUTE_UNROUTED_NO_RULE = 0,   /**< no rule matched */
    LEADROUTE_UNROUTED_NO_TARGET = 1, /**< the rule names no owner, pool or queue */
    LEADROUTE_UNROUTED_EMPTY = 2,     /**< every pool in the chain empty, policy unassigned */
    LEADROUTE_UNROUTED_ERROR = 3,     /**< an error (bad lead, callback failure) */
    LEADROUTE_UNROUTED_REASONS = 4
} leadroute_unrouted_reason;

/**
 * Metrics as one line of JSON: routed and unrouted counts by reason, hits
 * per rule of the current table, assignments per rep and per pool, and per
 * pool the fairness of assignments among its members (max-min spread and
 * Jain's index), follow-up and speed-to-lead figures, and each rep's load
 * when the store has `window` (docs/router.md, Metrics). Writes like
 * leadroute_decision_explain(). Calls the clock and the store's `window`
 * (a window it fails to count reads null).
 * @return LEADROUTE_OK (also when the text was cut: compare `*needed` with
 *         `cap`), LEADROUTE_EINVAL (NULL router, or NULL `buf` with a
 *         capacity). Thread-safe; each counter is read on its own while
 *         routing goes on, so the figures need not add up exactly.
 */
LEADROUTE_API int leadroute_router_metrics_json(leadroute_router *router, char *buf, size_t cap,
                                                size_t *needed);

/** Assignments made to a rep through this router, a tick's moves to it included; 0 if unknown. Thread-safe. */
LEADROUTE_API uint64_t leadroute_router_rep_assigned(leadroute_router *router, const char *rep_id);
/** Hits of the current table's rule `index`; 0 for a NULL router or an index out of range. Thread-safe. */
LEADROUTE_API uint64_t leadroute_router_rule_hits(leadroute_router *router, size_t index);
/** Leads left unrouted for `reason`; 0 for a NULL router or an unknown reason. Thread-safe. */
LEADROUTE_API uint64_t leadroute_router_unrouted(leadroute_router *router, uint32_t reason);
/**
 * Fairness of a pool: the leads it gave each of its current members (a rep
 * in several pools counts in each for that pool's leads only; direct
 * assignments count in none), max - min (`spread`) and Jain's index
 * (sum^2 / (n * sum of squares), 1 = equal). Weighted pools are judged on
 * assignments divided by weight. Counts are kept by pool and rep id across
 * roster swaps. `spread` and `jain` may be NULL; both are left untouched
 * on error.
 * @return LEADROUTE_OK, EINVAL (NULL router or pool id), ENOTFOUND. Thread-safe.
 */
LEADROUTE_API int leadroute_router_pool_fairness(leadroute_router *router, const char *pool_id, double *spread,
                                                 double *jain);

/** Speed-to-lead measures. */
typedef enum leadroute_latency {
    LEADROUTE_LATENCY_CAPTURE_TO_ASSIGN = 0,  /**< lead capture time to first assignment (of each
                                                   claim: a closed lead routed again counts again) */
    LEADROUTE_LATENCY_ASSIGN_TO_ACK = 1       /**< assignment to acknowledgement by the rep */
} leadroute_latency;

/** Latency summary in milliseconds. Percentiles come from log-scale buckets
 *  (within 19% of the exact value); mean is exact (read while leads are
 *  routed, it is the mean of the samples summed when it was read, count
 *  and percentiles those of a moment before). */
typedef struct leadroute_latency_stats {
    uint32_t version;  /**< LEADROUTE_LATENCY_STATS_VERSION */
    uint64_t count;
    double mean_ms, p50_ms, p90_ms, p99_ms;
} leadroute_latency_stats;

#define LEADROUTE_LATENCY_STATS_VERSION 1
#define LEADROUTE_LATENCY_STATS_INIT { LEADROUTE_LATENCY_STATS_VERSION, 0, 0.0, 0.0, 0.0, 0.0 }

/**
 * Speed to lead for a rep (`rep_id`), a pool (`pool_id`), or the whole router
 * (both NULL), since the router was created. Also in the metrics JSON, with
 * SLA breaches, reassignments and each rep's load over 24 h / 7 d / 30 d.
 * @return LEADROUTE_OK (count 0 when nothing was measured), EINVAL, EVERSION,
 *         ENOTFOUND (no such rep or pool seen by this router). Thread-safe.
 */
LEADROUTE_API int leadroute_router_latency(leadroute_router *router, const char *rep_id, const char *pool_id,
                                           uint32_t which, leadroute_latency_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* LEADROUTE_ROUTER_H */
