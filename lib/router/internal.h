/* Router internals: the compiled roster, the decision record, the router. */
#ifndef LR_ROUTER_INTERNAL_H
#define LR_ROUTER_INTERNAL_H

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "leadroute/router.h"
#include "base/alloc.h"

#define LR_NONE UINT32_MAX

/* `reason` not formatted yet: the common assignment sentence is written on
 * first read, since most hosts never read it. */
#define LR_LAZY (UINT32_MAX - 1)

/* ---- times ---------------------------------------------------------------- */

/* Times are int64 milliseconds from the host's clock, its arguments, a
 * lead's field or a store, any of which may sit at the ends of the range:
 * arithmetic on them saturates, so an extreme time gives an extreme
 * answer, never an overflow. */
static inline int64_t lr__time_add(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b)
        return INT64_MAX;
    if (b < 0 && a < INT64_MIN - b)
        return INT64_MIN;
    return a + b;
}

static inline int64_t lr__time_sub(int64_t a, int64_t b)
{
    if (b < 0 && a > INT64_MAX + b)
        return INT64_MAX;
    if (b > 0 && a < INT64_MIN + b)
        return INT64_MIN;
    return a - b;
}

/* The time `minutes` (> 0) after `at`, to the nearest millisecond but at
 * least one later (a deadline at the assignment itself would be due at once,
 * and every tick at that instant would move the lead again); INT64_MAX when
 * that is past the range: an SLA of more minutes than milliseconds fit is a
 * deadline that never comes. Never 0, which is no deadline at all. */
static inline int64_t lr__time_after(int64_t at, double minutes)
{
    double ms = minutes * 60000.0;
    int64_t step;
    /* 2^63: llround of it or more has no int64 to give */
    if (!(ms < 9223372036854775808.0))
        return INT64_MAX;
    step = (int64_t)llround(ms);
    at = lr__time_add(at, step > 0 ? step : 1);
    return at != 0 ? at : 1; /* 0 is no deadline: a clock before the epoch can land there */
}

/* ---- roster -------------------------------------------------------------- */

/* A skill set: items trimmed, case-folded, sorted (strcmp), unique. */
typedef struct lr__skill {
    const char *name;
    const char **items;
    uint32_t nitems;
} lr__skill;

typedef struct lr__rep {
    const char *id, *name;
    uint32_t input;           /* index in the reps given to leadroute_roster_new() */
    uint32_t id_len;
    uint32_t *pools;          /* pool indexes */
    uint32_t npools;
    double weight;
    uint32_t capacity, tier;
    int active;
    lr__skill *skills;        /* sorted by name */
    uint32_t nskills;
    uint32_t caps[3];         /* day, week, month; LEADROUTE_NO_CAP = none */
    int has_caps;             /* any of them set: the check asks the store */
} lr__rep;

/* The rolling windows of caps, in milliseconds. */
#define LR_WINDOWS 3
extern const int64_t lr__window_ms[LR_WINDOWS];
extern const char *const lr__window_name[LR_WINDOWS];

typedef struct lr__pool {
    const char *id;
    uint32_t input;               /* index in the pools given to leadroute_roster_new() */
    uint32_t strategy;
    leadroute_skill_filter *filters;
    uint32_t nfilters;
    const char *score_field;
    leadroute_tier_rule *tiers;   /* sorted by min_score, highest first */
    uint32_t ntiers;
    uint32_t fallback;            /* pool index or LR_NONE */
    uint32_t on_empty;
    uint32_t default_owner;       /* rep index or LR_NONE */
    const char *queue;
    int owner_first;
    uint32_t *members;            /* rep indexes, in id order */
    uint32_t nmembers;
    uint32_t caps[3];             /* day, week, month; LEADROUTE_NO_CAP = none */
    int has_caps;
    double sla_minutes;           /* default deadline, 0 = none */
    uint32_t max_hops;
    uint32_t escalation_pool;     /* pool index or LR_NONE */
    uint32_t escalation_owner;    /* rep index or LR_NONE */
    uint32_t calibration;
    const char *value_field;
    uint32_t value_window_days;
    const lr__skill **fskills;    /* [filter * nmembers + member]: the member's set for that filter, or NULL */
    uint64_t *strides;            /* weighted: each member's stride, in members order (lr__strides) */
} lr__pool;

/* What leadroute_roster_rep() hands out that lr__rep does not hold in public
 * form. Made once at creation and kept apart from lr__rep, so routing never
 * touches it and reading it back allocates nothing. */
typedef struct lr__rep_view {
    const char **pools;           /* pool ids, in the order given, each once */
    leadroute_field *skills;      /* one set of normalised items per lr__skill, same order */
} lr__rep_view;

struct leadroute_roster {
    atomic_uint refs;
    lr__alloc alloc;
    lr__arena arena;
    lr__rep *reps;                /* sorted by id */
    uint32_t nreps;
    lr__pool *pools;              /* sorted by id */
    uint32_t npools;
    lr__rep_view *views;          /* per rep, same index */
    int owner_first;              /* some pool puts an account's owner first */
};

/* Which of the reps or pools given a failed roster check is about, so that
 * the roster reader can name its line. */
enum { LR_CULPRIT_NONE = 0, LR_CULPRIT_REP = 1, LR_CULPRIT_POOL = 2 };
typedef struct lr__roster_culprit {
    int kind;                     /* LR_CULPRIT_* */
    uint32_t index;               /* into the reps or pools given */
    uint32_t first;               /* an id given twice: where it came first; else LR_NONE */
} lr__roster_culprit;

/* leadroute_roster_new(), setting `*who` when a check fails. */
int lr__roster_new(leadroute_roster **out, const leadroute_rep *reps, size_t rep_count, const leadroute_pool *pools,
                   size_t pool_count, const leadroute_allocator *allocator, lr__roster_culprit *who);

/* Index of the rep / pool with this id, or LR_NONE. */
uint32_t lr__roster_rep(const leadroute_roster *r, const char *id);
uint32_t lr__roster_pool(const leadroute_roster *r, const char *id);
/* 1 if `item` (any case, untrimmed) is in the rep's skill set `skill`. */
int lr__rep_has_skill(const lr__rep *rep, const char *skill, const char *item);
/* 1 if the trimmed, case-folded `norm` is in `s` (NULL: no such set). */
int lr__skill_has(const lr__skill *s, const char *norm);
/* Trim and case-fold `item` into `out` (`cap` bytes); 0 if it does not fit. */
int lr__skill_norm_into(const char *item, char *out, size_t cap);

/* ---- decision ------------------------------------------------------------ */

/* Strings of a decision live in its text buffer, named by offset, so the
 * buffer may grow; LR_NONE = no string. */
typedef struct lr__candidate {
    uint32_t rep_id;      /* offset */
    uint32_t pool_id;     /* offset */
    uint32_t verdict;     /* leadroute_verdict */
    uint32_t detail;      /* offset or LR_NONE */
} lr__candidate;

/* The last weighted state a decision wrote and its passes, per member:
 * when the store hands the same text back (no one else picked in between),
 * it need not be parsed again. Valid while the decision holds the roster. */
typedef struct lr__wcache {
    const void *pool;             /* NULL: empty */
    char *text;
    size_t len, cap;
    uint64_t *pass;               /* weighted: the members' passes */
    uint32_t cap_pass;
    uint64_t vt;
    uint32_t *order;              /* round robin: the line, as member positions */
    uint32_t cap_order;
    uint32_t *work;               /* round robin: scratch for pools past 64 members, kept */
    size_t cap_work;
} lr__wcache;

/* How the rep was picked, for the trace. */
typedef enum lr__how {
    LR_HOW_NONE = 0,
    LR_HOW_DIRECT = 1,        /* the table's owner output */
    LR_HOW_ACCOUNT = 2,       /* the account's owner */
    LR_HOW_STRATEGY = 3,      /* the pool's strategy */
    LR_HOW_DEFAULT_OWNER = 4, /* an empty pool's default owner */
    LR_HOW_EXISTING = 5,      /* the key was claimed already */
    LR_HOW_ESCALATION = 6     /* an overdue lead escalated to its pool's escalation owner */
} lr__how;

struct leadroute_decision {
    lr__alloc alloc;
    struct lr__gen *gen;          /* table + roster used; referenced, and reused by the next
                                     call while the router still has the same one */
    leadroute_result *result;     /* evaluation scratch, sized for result_table */
    const leadroute_table *result_table;

    uint32_t status;              /* leadroute_route_status, 0 before any call */
    int code;                     /* the call's return code */
    uint32_t how;                 /* lr__how */
    uint32_t strategy;            /* the pool's strategy when how == STRATEGY */
    uint32_t rep, pool, queue, rule, label, tags, reason, lead_id, key, previous; /* offsets */
    uint32_t state_before, state_after;  /* offsets: the pool state, as text */
    uint32_t rule_index;          /* LR_NONE if no rule matched */
    uint32_t rep_index, pool_index; /* of the assignment in the roster used, or LR_NONE */
    uint32_t rule_line;
    uint32_t lazy_eligible, lazy_members;  /* for a LR_LAZY reason */
    int64_t deadline_ms;          /* follow-up deadline of the assignment, 0 = none */
    double value;                 /* the lead's deal value, as committed */
    uint32_t hops;                /* reassignments before this assignment */
    int escalated;
    double sla_minutes;
    uint64_t table_hash;
    int64_t at_ms;
    int notified;
    int dry_run;
    int nomem;                    /* a string or trace line could not be recorded: the call must not
                                     report the outcome as if it were whole */
    uint32_t stripe;              /* which stripe of shared counters this decision bumps */

    lr__candidate *cands;
    uint32_t ncands, cap_cands;
    uint32_t *chain;              /* offsets of the pool ids walked, in order */
    uint32_t nchain, cap_chain;

    char *text;                   /* NUL-separated strings */
    uint32_t text_len, text_cap;
    const char **ext;             /* borrowed strings (roster and table own them; `gen` keeps both alive) */
    uint32_t next, cap_ext;

    /* per-call availability cache, by rep index: 0 = not asked, else verdict + 1 */
    uint8_t *avail;
    uint8_t *excl;                /* per call, by rep index: 1 = an earlier holder of the lead (ticks) */
    uint32_t *avail_reason;       /* offsets */
    uint32_t cap_avail;
    uint32_t *scratch;            /* eligible rep indexes */
    uint32_t cap_scratch;
    char *state_buf, *next_buf;   /* pool state read and written, kept between calls */
    size_t state_cap, next_cap;
    lr__wcache wcache;            /* the weighted state written last */
    lr__wcache *rcaches;          /* per pool index: the round-robin state written last */
    uint32_t cap_rcaches;
    void *vbuf;                   /* value-balancing scratch, kept between calls */
    size_t vbuf_cap;
    /* The pending notification of the next assignment, made before its commit so that a notify
     * that fails cannot lose it; handed to the router when it does. The router's memory: the
     * block keeps that allocator (spare_alloc). */
    struct lr__pending *spare;
    size_t spare_cap;
    lr__alloc spare_alloc;
};

/* Append a string to the decision's text; returns its offset, LR_NONE on ENOMEM (and sets
 * d->nomem). */
uint32_t lr__decision_str(leadroute_decision *d, const char *s);
uint32_t lr__decision_strn(leadroute_decision *d, const char *s, size_t n);
/* Room for `n` more bytes of text, so that the strings written after a commit cannot fail. */
int lr__decision_reserve(leadroute_decision *d, size_t n);
/* A string the decision's table or roster owns: kept by pointer, not copied. */
#define LR_EXT 0x80000000u
uint32_t lr__decision_ref(leadroute_decision *d, const char *s);
/* The string at offset `off`, NULL for LR_NONE. */
static inline const char *lr__decision_at(const leadroute_decision *d, uint32_t off)
{
    if (off >= LR_LAZY)
        return NULL;
    return off & LR_EXT ? d->ext[off & ~LR_EXT] : d->text + off;
}
/* Write a LR_LAZY reason out; decisions are used by one thread at a time. */
void lr__decision_finish(const leadroute_decision *d);

/* Render the trace (explain.c). */
int lr__explain_text(const leadroute_decision *d, char *buf, size_t cap, size_t *needed);
int lr__explain_json(const leadroute_decision *d, char *buf, size_t cap, size_t *needed);

/* ---- router -------------------------------------------------------------- */

/* A counter that routing threads bump often: one cache line per stripe, a
 * decision always bumps its own stripe, reads add them up. */
#define LR_STRIPES 4
typedef struct lr__striped {
    struct {
        _Atomic uint64_t v;
        char pad[64 - sizeof(uint64_t)];
    } s[LR_STRIPES];
} lr__striped;

static inline void lr__striped_add(lr__striped *c, uint32_t stripe)
{
    atomic_fetch_add_explicit(&c->s[stripe % LR_STRIPES].v, 1, memory_order_relaxed);
}

static inline void lr__striped_add_n(lr__striped *c, uint32_t stripe, uint64_t n)
{
    atomic_fetch_add_explicit(&c->s[stripe % LR_STRIPES].v, n, memory_order_relaxed);
}

static inline uint64_t lr__striped_sum(lr__striped *c)
{
    uint64_t n = 0;
    uint32_t i;
    for (i = 0; i < LR_STRIPES; i++)
        n += atomic_load_explicit(&c->s[i].v, memory_order_relaxed);
    return n;
}

/* A counter shared by every roster that names the same rep or pool. */
/* Latencies in ms: bucket b < 4 holds b; above, two mantissa bits per
 * power of two (buckets 19% wide at most). */
#define LR_HIST_BUCKETS 256
/* `sum` is 128 bits, `sum_hi` counting its carries: a sample may be near
 * 2^63 ms (a capture time far back), and the mean stays exact. */
typedef struct lr__hist {
    _Atomic uint64_t n, sum, sum_hi;
    _Atomic uint64_t b[LR_HIST_BUCKETS];
} lr__hist;

void lr__hist_add(lr__hist *h, uint64_t ms);
void lr__hist_stats(lr__hist *h, leadroute_latency_stats *out);

typedef struct lr__counter {
    lr__striped assigned;
    const char *id;
    struct lr__counter *next;
    _Atomic(lr__hist *) lat[2];   /* per leadroute_latency, made on first sample */
    /* A pool's: its assignments to each rep that was ever its member, by rep id (sorted), so
     * that fairness counts what a rep got from this pool, not from every pool it is in. */
    struct lr__counter *members;
    int fresh;                    /* made for a generation still being built (counter_lock) */
} lr__counter;

/* What one routing call uses, swapped as a whole. */
typedef struct lr__gen {
    atomic_uint refs;
    leadroute_table *table;
    leadroute_roster *roster;
    uint32_t out_owner, out_pool, out_queue, out_status, out_sla, out_tags; /* output index or LR_NONE */
    _Atomic uint64_t *rule_hits;  /* per rule of `table`, hit_stripes rows of nrules (see lr__hits_of) */
    uint32_t hit_stripes, hit_rules;
    uint32_t *rule_owner;         /* per rule: rep index of its owner output, LR_NONE, or LR_LAZY (not a rep) */
    uint32_t *rule_pool;          /* per rule: pool index of its pool output, LR_NONE, or LR_LAZY (not a pool) */
    lr__counter **rep_counters;   /* per rep of `roster` */
    lr__counter **pool_counters;  /* per pool of `roster` */
    lr__counter **member_counters; /* per pool, its members' counters in members order, */
    uint32_t *member_base;         /* from member_base[pool]: its pool counter's `members` */
} lr__gen;

/* Count a committed assignment for its rep, its pool, and the rep as a
 * member of that pool (d->rep_index, d->pool_index of `g`'s roster). */
void lr__count_assigned(const lr__gen *g, const leadroute_decision *d);

/* A notification that notify refused, waiting for a retry: one block, its strings after the
 * struct, allocated by the router's allocator. */
/* Buckets of pending notifications by key: a notification delivered finds
 * the older ones of its lead, which it supersedes, without a walk of the
 * whole list (which may be long after the host's endpoint was down). The
 * router starts with LR_PENDING_BUCKETS of its own and grows the table
 * fourfold whenever the list passes twice its size, so that chains stay
 * short however long the endpoint stays down. */
#define LR_PENDING_BUCKETS 1024

typedef struct lr__pending {
    struct lr__pending *next;
    struct lr__pending **pprev;   /* the pointer to this one: unlinked anywhere in O(1) */
    struct lr__pending *same;     /* next in its key's bucket (lr__pending_bucket) */
    uint64_t seq;                 /* order of recording: a later one of a key supersedes it */
    uint64_t hash;                /* of key: its bucket, also after the table grows */
    const char *key, *rep_id, *lead_id, *pool_id, *rule_id, *previous;
    uint64_t table_hash;
    int64_t at_ms, deadline_ms;
    double sla_minutes, value;
    uint32_t hops;
    int escalated;
    /* a retry is delivering it, with pending_lock released: other retries
     * leave it alone, and a later delivery of its lead marks it superseded
     * instead of freeing it; the retry drops it when the call returns */
    uint8_t in_flight, superseded;
} lr__pending;

struct leadroute_router {
    lr__alloc alloc;
    char *dedupe_field, *account_field;
    char *out_names[6];           /* owner, pool, queue, status, sla, tags */
    uint32_t max_retries;

    pthread_mutex_t gen_lock;     /* guards `gen` swaps and reads of the pointer */
    pthread_mutex_t swap_lock;    /* one table or roster replacement at a time */
    _Atomic(lr__gen *) gen;       /* written under gen_lock; read bare to spot a change */

    pthread_mutex_t counter_lock; /* guards the counter lists */
    /* sorted by id, so a swap matches them in one walk; a counter stays once made */
    lr__counter *rep_counters, *pool_counters;
    lr__striped unrouted[LEADROUTE_UNROUTED_REASONS];
    lr__striped routed;
    lr__striped acknowledged, sla_breaches, reassignments;
    lr__striped failed_moves;     /* tick moves that failed (store or memory): the lead stayed */
    lr__hist lat[2];              /* whole-router speed to lead */
    char *captured_field;
    int dedupe_fold;              /* dedupe keys without case (options) */

    leadroute_store store;
    void *store_user;
    struct lr__memstore *memstore; /* the built-in store, always there (fork overlays use it too) */
    leadroute_store memstore_methods; /* its methods as this router offers them (a fork's lack what
                                         its parent's store lacks), for set_store(NULL) */
    leadroute_availability availability;
    void *availability_user;
    int has_availability;
    leadroute_notify notify;
    void *notify_user;
    int has_notify;
    leadroute_clock clock;
    void *clock_user;
    int has_clock;

    /* Held from the last look at rolling caps to the commit of a capped
     * rep or pool, so that two routes cannot both take its last unit. */
    pthread_mutex_t caps_lock;

    pthread_mutex_t pending_lock;
    /* oldest first; a list, so recording one needs no allocation once the notify failed */
    lr__pending *pending, **pending_tail;
    uint32_t npending;
    atomic_uint npending_hint;    /* npending, read without the lock to skip it when 0 */
    uint64_t pending_seq;
    lr__pending **pending_buckets; /* by key: a later notification finds the older; pending_own or grown */
    size_t pending_mask;          /* buckets - 1 */
    lr__pending *pending_own[LR_PENDING_BUCKETS];
    lr__pending *pending_cursor;  /* the entry at pending_cursor_at, for reads by index in order */
    uint32_t pending_cursor_at;
};

/* Hits of rule `i`, summed over its stripes. */
uint64_t lr__gen_rule_hits(const lr__gen *g, size_t i);

lr__gen *lr__gen_acquire(leadroute_router *r);
/* The router's current generation for a decision that holds `held` (or
 * NULL): `held` itself when still current, without locking; else a new
 * reference, and `held` is released. */
lr__gen *lr__gen_refresh(leadroute_router *r, lr__gen *held);
void lr__gen_release(lr__gen *g);

/* ---- strategies (strategy.c) ------------------------------------------- */

/* Pool state: what a strategy remembers between calls, kept in the store as
 * text so a database row shows it plainly:
 *   round robin:  "rr2\n<rep id>\n..." the members' line, next in turn first ("rr1 <last
 *                 rep id>" from earlier releases is read too)
 *   weighted:     "wr1 <virtual time>\n<pass> <rep id>\n...\ns <stride> ..." one line per member
 *                 seen, then their strides in the same order (none in older states)
 *   least loaded: "" (it reads open counts instead)
 *   value balanced: "vb1\n<offset> <as of ms> <rep id>\n..." (join offsets, router.c)
 * Rep ids hold no newline (the roster checks that). */
typedef struct lr__state {
    char *text;
    size_t len, cap;
} lr__state;

/* Pick one of `n` eligible reps (indexes into roster, in id order) and
 * write the pool's next state into `next`. `open` gives open counts per
 * eligible rep for least loaded (may be NULL otherwise).
 * Returns the chosen position in `eligible`, or a negative error code. */
/* "round robin", "weighted round robin", ...; NULL if unknown. */
const char *lr__strategy_name(uint32_t strategy);

/* Value balancing: the lowest summed value, then the fewest assignments,
 * then the first (eligible reps come in id order). */
int lr__pick_value(const double *value, const uint64_t *count, uint32_t n);

/* Weighted pools: the largest weight of a member over the smallest. Past
 * it, integral strides cannot follow the weights (lr__strides). */
#define LR_WEIGHT_SPAN_MAX 1e10

/* Each of `n` members' stride (pool->members order), weights spanning at
 * most LR_WEIGHT_SPAN_MAX. */
void lr__strides(const lr__rep *reps, const uint32_t *members, uint32_t n, uint64_t *out);

/* Pick among `eligible` (n reps, in member order). `kept` lists the members
 * (in member order) that this lead alone kept out, by a skill, a tier or
 * as an earlier holder: a weighted pool keeps their place, while members
 * in neither list (away, at capacity, inactive) join at the level on their
 * return. `open` holds the eligible reps' open counts for least loaded. */
int lr__strategy_pick(const leadroute_roster *ro, const lr__pool *pool, const uint32_t *eligible, uint32_t n,
                      const uint32_t *kept, uint32_t nkept, const uint32_t *open, const char *state,
                      size_t state_len, lr__state *next, const lr__alloc *alloc, lr__wcache *cache);

#endif
