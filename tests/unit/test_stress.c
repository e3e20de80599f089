/* Every router operation at once, for a bounded time, through one router:
 * worker threads route private and shared leads (direct owner, round robin,
 * weighted, least loaded with capacity, queue, no target, no rule), dry runs,
 * acknowledge, close, tick follow-up deadlines and read metrics, while one
 * more thread swaps tables and rosters (pool memberships, active flags),
 * flips availability and forks simulation routers. Run twice: everyone
 * available, then with an availability callback whose answers flip.
 *
 * The store is the built-in memory store (lr__memstore) behind a thin layer
 * that records every successful commit in a lock-free log, so the end state
 * can be checked exactly against what the calls reported:
 * - each lead has one chain of holders: one first assignment, then moves
 *   whose `previous` is the holder before; routing reported that first rep
 *   (ASSIGNED, exactly once per key) or a rep of the chain (EXISTING);
 * - the store's claims are the ends of those chains, closed leads stay
 *   closed, each rep's open count is the number of leads it holds, and
 *   the pending (unacknowledged) assignments are exactly the leads never
 *   acknowledged, with their history;
 * - metrics: assignments per rep, rule hits of the final table, notify
 *   count, tick counts and acknowledgement latency counts add up;
 * - round robin: the pool state versions of pool "rr" form one gapless
 *   sequence, each commit picked the first available active member after the
 *   rep of the commit before (the roster it used is told by the pool's SLA,
 *   unique per roster), so within every stretch of one roster and one set of
 *   available reps the counts differ by at most 1. This holds for every
 *   interleaving: nothing here depends on timing.
 *
 * LEADROUTE_STRESS_SECONDS (default 2) bounds each run; LEADROUTE_STRESS_THREADS
 * (4..8, default 4) sets the number of worker threads. Each worker does at
 * least MIN_OPS operations whatever the budget, so a short budget still mixes
 * everything; the lead logs are sized up front and a worker stops early when
 * they run full.
 *
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "leadroute/leadroute.h"
#include "router/memstore.h"
#include "testutil.h"

/* ---- sizes and names ------------------------------------------------------ */

#define MAX_WORKERS 8
#define MIN_OPS 3000
#define MAX_PRIVATE 300000          /* private leads per worker */
#define MAX_SHARED_OPS 120000       /* routes of shared leads per worker */
#define NSHARED 20000
#define COMMIT_CAP (MAX_WORKERS * (MAX_PRIVATE + MAX_SHARED_OPS) / 2)
#define MAX_TABLES 65000         /* table instances (uint16_t in the records) */
#define MAX_EPOCHS 65536
#define TICK_EVERY 500
#define TICK_STEP_MS 61000          /* a tick moves the clock past a 1-minute SLA */
#define RR_SLA_BASE 1000000.0       /* pool rr's SLA minutes, plus the roster epoch: never due */
#define LL_CAP 4
#define KEY_STRIDE (1u << 24)
#define SHARED_BASE 0xF0000000u
#define NO_REP 255

/* r0..r9 serve rr (r0..r5) and wt (r4..r9), l0..l3 the least-loaded pool,
 * e0 and e1 the escalation pool; one bit each in availability masks. */
#define NREPS 16
static const char *const rep_names[NREPS] = { "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7",
                                              "r8", "r9", "l0", "l1", "l2", "l3", "e0", "e1" };
#define ALL_REPS 0xFFFFu

static int rep_index(const char *id)
{
    if (!id || !id[0] || id[1] < '0' || id[1] > '9' || id[2])
        return -1;
    switch (id[0]) {
    case 'r':
        return id[1] - '0';
    case 'l':
        return id[1] <= '3' ? 10 + id[1] - '0' : -1;
    case 'e':
        return id[1] <= '1' ? 14 + id[1] - '0' : -1;
    default:
        return -1;
    }
}

/* Lead kinds: the table's `kind` input. Rule i of every table serves kind i. */
enum { K_RR, K_WT, K_LL, K_OWN, K_Q, K_NT, K_NONE, NKINDS };
#define NRULES K_NONE
static const char *const kind_names[NKINDS] = { "rr", "wt", "ll", "own", "q", "nt", "zz" };

enum { P_NONE, P_RR, P_WT, P_LL, P_ESC };

static int pool_code(const char *id)
{
    if (!id)
        return P_NONE;
    if (strcmp(id, "rr") == 0)
        return P_RR;
    if (strcmp(id, "wt") == 0)
        return P_WT;
    if (strcmp(id, "ll") == 0)
        return P_LL;
    if (strcmp(id, "esc") == 0)
        return P_ESC;
    return -1;
}

/* ---- what the threads share ----------------------------------------------- */

/* One successful commit, as the store saw it. */
typedef struct commit_rec {
    uint64_t version;     /* expected version of pool rr's state; unused for other pools */
    uint32_t key;         /* key id: worker * KEY_STRIDE + index, or SHARED_BASE + index */
    uint32_t epoch;       /* roster epoch, from the SLA of a pool rr assignment */
    uint8_t rep, prev;    /* rep indexes; prev NO_REP for a first assignment */
    uint8_t pool;         /* P_* of the assignment */
    uint8_t rr_state;     /* 1: the commit wrote pool rr's state */
} commit_rec;

/* Roster epoch: what the round-robin check needs of it. */
typedef struct epoch_rec {
    uint16_t rr_members;   /* members of pool rr */
    uint16_t rr_eligible;  /* members of pool rr that are active */
} epoch_rec;

typedef struct shared_state {
    lr__memstore *mem;
    int run_available;               /* run 2: availability callback installed */
    commit_rec *commits;
    _Atomic size_t ncommits;
    atomic_int bad_commit;           /* a commit this test never asked for */
    char bad_key[96];                /* written once, by the thread that set bad_commit first */
    _Atomic uint64_t notified;
    _Atomic uint64_t avail_calls, avail_away;
    _Atomic int64_t now_ms;          /* the router's clock */
    _Atomic uint32_t avail_mask;     /* flipped by the swapper in run 2 */
    atomic_int stop;                 /* workers are done: the swapper stops */
    int64_t deadline_ns;
    epoch_rec *epochs;               /* written by the swapper before a roster is installed */
    _Atomic uint32_t nepochs;
} shared_state;

static shared_state *g;

/* Availability mask of the current call: set by the calling thread before
 * every call, so an answer is fixed for the whole call and known afterwards. */
static _Thread_local uint32_t tl_mask = ALL_REPS;

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- the recording store -------------------------------------------------- */

/* "lead:P<w>.<i>" or "lead:S<i>"; 0 if neither. */
static int parse_key(const char *key, uint32_t *id)
{
    unsigned w;
    unsigned long i;
    char tail;
    if (strncmp(key, "lead:", 5) != 0)
        return 0;
    key += 5;
    if (sscanf(key, "P%u.%lu%c", &w, &i, &tail) == 2 && w < MAX_WORKERS && i < MAX_PRIVATE) {
        *id = w * KEY_STRIDE + (uint32_t)i;
        return 1;
    }
    if (sscanf(key, "S%lu%c", &i, &tail) == 1 && i < NSHARED) {
        *id = SHARED_BASE + (uint32_t)i;
        return 1;
    }
    return 0;
}

static void flag_bad_commit(const char *what, const char *key)
{
    int expected = 0;
    if (atomic_compare_exchange_strong(&g->bad_commit, &expected, 1))
        snprintf(g->bad_key, sizeof g->bad_key, "%s: %.60s", what, key ? key : "(null)");
}

static int rec_load_pool(void *u, const char *pool_id, void *buf, size_t cap, size_t *length, uint64_t *version)
{
    return lr__memstore_methods.load_pool(u, pool_id, buf, cap, length, version);
}

static int rec_find_claim(void *u, const char *key, char *rep_id, size_t cap)
{
    return lr__memstore_methods.find_claim(u, key, rep_id, cap);
}

static int rec_open_count(void *u, const char *rep_id, uint32_t *count)
{
    return lr__memstore_methods.open_count(u, rep_id, count);
}

static int rec_commit(void *u, const leadroute_commit *c, char *owner, size_t owner_cap)
{
    const leadroute_assignment *a = c->assignment;
    int rc = lr__memstore_methods.commit(u, c, owner, owner_cap);
    uint32_t key;
    int rep, prev, pool;
    size_t at;
    if (rc != LEADROUTE_OK)
        return rc;
    rep = rep_index(a->rep_id);
    prev = a->previous ? rep_index(a->previous) : NO_REP;
    pool = pool_code(a->pool_id);
    if (!parse_key(a->key, &key) || rep < 0 || prev < 0 || pool < 0) {
        flag_bad_commit("unexpected commit", a->key);
        return rc;
    }
    /* relaxed: the log must not add ordering between the threads under test */
    at = atomic_fetch_add_explicit(&g->ncommits, 1, memory_order_relaxed);
    if (at >= COMMIT_CAP) {
        flag_bad_commit("commit log full", a->key);
        return rc;
    }
    g->commits[at].key = key;
    g->commits[at].rep = (uint8_t)rep;
    g->commits[at].prev = (uint8_t)prev;
    g->commits[at].pool = (uint8_t)pool;
    g->commits[at].rr_state = c->pool_id && strcmp(c->pool_id, "rr") == 0;
    g->commits[at].version = c->expected_version;
    g->commits[at].epoch = pool == P_RR ? (uint32_t)(a->sla_minutes - RR_SLA_BASE) : 0;
    return rc;
}

static int rec_close(void *u, const char *key)
{
    return lr__memstore_methods.close(u, key);
}

static int rec_window(void *u, const char *rep_id, const char *pool_id, int64_t since_ms, uint64_t *count,
                      double *value)
{
    return lr__memstore_methods.window(u, rep_id, pool_id, since_ms, count, value);
}

static int rec_acknowledge(void *u, const char *key, int64_t at_ms, int64_t *assigned_ms, char *rep_id,
                           size_t rep_cap, char *pool_id, size_t pool_cap)
{
    return lr__memstore_methods.acknowledge(u, key, at_ms, assigned_ms, rep_id, rep_cap, pool_id, pool_cap);
}

static int rec_list_due(void *u, int64_t now_ms, int (*each)(void *ctx, const leadroute_assignment *a), void *ctx)
{
    return lr__memstore_methods.list_due(u, now_ms, each, ctx);
}

static const leadroute_store rec_store = { LEADROUTE_STORE_VERSION, rec_load_pool, rec_find_claim, rec_open_count,
                                           rec_commit, rec_close, rec_window, rec_acknowledge, rec_list_due };

/* ---- callbacks -------------------------------------------------------------- */

static int64_t clock_now(void *u)
{
    (void)u;
    return atomic_load_explicit(&g->now_ms, memory_order_relaxed);
}

static int mask_availability(void *u, const char *rep_id, const leadroute_lead *lead, int64_t now_ms,
                             uint32_t *verdict, char *reason, size_t cap)
{
    int i = rep_index(rep_id);
    (void)u, (void)lead, (void)now_ms;
    atomic_fetch_add_explicit(&g->avail_calls, 1, memory_order_relaxed);
    if (i >= 0 && !((tl_mask >> i) & 1u)) {
        atomic_fetch_add_explicit(&g->avail_away, 1, memory_order_relaxed);
        *verdict = LEADROUTE_AWAY;
        snprintf(reason, cap, "flipped away");
    } else {
        *verdict = LEADROUTE_AVAILABLE;
    }
    return LEADROUTE_OK;
}

static int count_notify(void *u, const leadroute_assignment *a)
{
    (void)u, (void)a;
    atomic_fetch_add_explicit(&g->notified, 1, memory_order_relaxed);
    return LEADROUTE_OK;
}

/* ---- tables and rosters ------------------------------------------------------- */

static int make_table(leadroute_table **out, unsigned k)
{
    char text[1024];
    snprintf(text, sizeof text,
             "rule,kind,out:owner,out:pool,out:queue,out:sla_minutes:number\n"
             "rr-%u,rr,,rr,,\n"
             "wt-%u,wt,,wt,,1\n"
             "ll-%u,ll,,ll,,1\n"
             "own-%u,own,r7,wt,,1\n"
             "q-%u,q,,,inbox,\n"
             "nt-%u,nt,,,,\n",
             k, k, k, k, k, k);
    return leadroute_table_parse(out, text, strlen(text), "stress.csv", NULL);
}

/* Roster of epoch `e`: pool rr gets the reps of `rr_bits` (bits 0..5), pool
 * wt those of `wt_bits` (bits 4..9); reps outside `active` are inactive. */
static int make_roster(leadroute_roster **out, uint32_t e, uint32_t rr_bits, uint32_t wt_bits, uint32_t active)
{
    const char *pool_lists[10][2];
    static const char *const ll_pools[] = { "ll" };
    static const char *const esc_pools[] = { "esc" };
    leadroute_rep reps[NREPS];
    leadroute_pool pools[4];
    size_t i, n;
    for (i = 0; i < NREPS; i++) {
        leadroute_rep r = LEADROUTE_REP_INIT;
        r.id = rep_names[i];
        if (i < 10) {
            n = 0;
            if ((rr_bits >> i) & 1u)
                pool_lists[i][n++] = "rr";
            if ((wt_bits >> i) & 1u)
                pool_lists[i][n++] = "wt";
            r.pools = pool_lists[i];
            r.pool_count = n;
            r.weight = (double)(1 + i % 3);
            r.active = (int)((active >> i) & 1u);
        } else if (i < 14) {
            r.pools = ll_pools;
            r.pool_count = 1;
            r.capacity = LL_CAP;
        } else {
            r.pools = esc_pools;
            r.pool_count = 1;
        }
        reps[i] = r;
    }
    for (i = 0; i < 4; i++) {
        leadroute_pool p = LEADROUTE_POOL_INIT;
        pools[i] = p;
    }
    pools[0].id = "rr";
    pools[0].sla_minutes = RR_SLA_BASE + (double)e;
    pools[1].id = "wt";
    pools[1].strategy = LEADROUTE_STRATEGY_WEIGHTED;
    pools[1].max_hops = 1;
    pools[1].escalation_pool = "esc";
    pools[2].id = "ll";
    pools[2].strategy = LEADROUTE_STRATEGY_LEAST_LOADED;
    pools[2].on_empty = LEADROUTE_EMPTY_QUEUE;
    pools[2].queue = "overflow";
    pools[3].id = "esc";
    pools[3].max_hops = 1;
    return leadroute_roster_new(out, reps, NREPS, pools, 4, NULL);
}

/* A new epoch's roster, recorded before anyone can route with it. */
static int next_roster(leadroute_roster **out, uint64_t *rng)
{
    uint32_t e = atomic_load_explicit(&g->nepochs, memory_order_relaxed), rr_bits, wt_bits, active;
    int rc;
    if (e >= MAX_EPOCHS)
        return LEADROUTE_ELIMIT;
    do
        rr_bits = (uint32_t)(xorshift(rng) & 0x3Fu);
    while (!rr_bits);
    do
        wt_bits = (uint32_t)(xorshift(rng) & 0x3F0u);
    while (!wt_bits);
    /* a quarter of the reps inactive, on average */
    active = (uint32_t)(xorshift(rng) | xorshift(rng)) & 0x3FFu;
    if ((rc = make_roster(out, e, rr_bits, wt_bits, active)) != LEADROUTE_OK)
        return rc;
    g->epochs[e].rr_members = (uint16_t)rr_bits;
    g->epochs[e].rr_eligible = (uint16_t)(rr_bits & active);
    atomic_store_explicit(&g->nepochs, e + 1, memory_order_relaxed);
    return LEADROUTE_OK;
}

/* ---- workers ---------------------------------------------------------------- */

enum { F_ACKED = 1, F_CLOSED = 2, F_DRY = 4 };

typedef struct private_rec {
    uint16_t table;   /* table instance of the decision */
    uint16_t mask;    /* availability mask of the call */
    uint8_t kind, status, rep, flags;
} private_rec;

typedef struct shared_op {
    uint32_t index;
    uint16_t table;
    uint8_t status, rep;
} shared_op;

typedef struct worker {
    int id;
    leadroute_router *r;
    uint64_t rng;
    private_rec *priv;
    size_t npriv;
    shared_op *shared;
    size_t nshared;
    uint64_t ops, routes, dry_runs, acks_ok, acks_missing, closes, ticks, metrics_reads;
    uint64_t tick_due, tick_moved, tick_kept, tick_raced;
    int failed;
    char msg[400];
} worker;

static void worker_fail(worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void worker_fail(worker *w, const char *fmt, ...)
{
    va_list ap;
    if (w->failed)
        return;
    w->failed = 1;
    va_start(ap, fmt);
    vsnprintf(w->msg, sizeof w->msg, fmt, ap);
    va_end(ap);
}

/* Table instance named by a decision's rule ("wt-17"), checked against the kind. */
static int rule_table(const char *rule, int kind, uint16_t *table)
{
    char name[8];
    unsigned k;
    if (!rule || sscanf(rule, "%7[a-z]-%u", name, &k) != 2 || k >= MAX_TABLES || strcmp(name, kind_names[kind]) != 0)
        return 0;
    *table = (uint16_t)k;
    return 1;
}

static int route_one(worker *w, leadroute_decision *d, const char *id, int kind, uint32_t flags)
{
    leadroute_field f[1];
    leadroute_value v = LEADROUTE_VALUE_INIT;
    leadroute_lead lead = LEADROUTE_LEAD_INIT;
    v.type = LEADROUTE_VALUE_STRING;
    v.string = kind_names[kind];
    f[0].name = "kind";
    f[0].value = v;
    lead.id = id;
    lead.fields = f;
    lead.field_count = 1;
    tl_mask = g->run_available ? atomic_load_explicit(&g->avail_mask, memory_order_relaxed) : ALL_REPS;
    return leadroute_route(w->r, &lead, flags, d);
}

/* Which statuses a fresh private lead of each kind may end in. */
static int status_allowed(int kind, uint32_t status)
{
    switch (kind) {
    case K_RR:
    case K_WT:
    case K_OWN:
        return status == LEADROUTE_ROUTE_ASSIGNED || status == LEADROUTE_ROUTE_UNASSIGNED;
    case K_LL:
        return status == LEADROUTE_ROUTE_ASSIGNED || status == LEADROUTE_ROUTE_QUEUED;
    case K_Q:
        return status == LEADROUTE_ROUTE_QUEUED;
    default:
        return status == LEADROUTE_ROUTE_UNASSIGNED;
    }
}

static void op_route_private(worker *w, leadroute_decision *d, uint64_t x)
{
    static const uint8_t mix[20] = { K_RR, K_RR, K_RR, K_RR, K_RR, K_RR, K_WT, K_WT, K_WT, K_WT,
                                     K_LL, K_LL, K_LL, K_LL, K_OWN, K_OWN, K_Q, K_NT, K_NONE, K_RR };
    private_rec *p = &w->priv[w->npriv];
    int kind = mix[(x >> 16) % 20], rc, rep;
    uint32_t st;
    char id[32];
    snprintf(id, sizeof id, "P%d.%zu", w->id, w->npriv);
    rc = route_one(w, d, id, kind, (x >> 40) % 16 == 0 ? LEADROUTE_ROUTE_TRACE : 0);
    w->routes++;
    memset(p, 0, sizeof *p);
    p->kind = (uint8_t)kind;
    p->mask = (uint16_t)tl_mask;
    p->rep = NO_REP;
    w->npriv++;
    if (rc != LEADROUTE_OK) {
        worker_fail(w, "lead %s (%s): %d %s", id, kind_names[kind], rc, leadroute_decision_reason(d));
        return;
    }
    st = leadroute_decision_status(d);
    p->status = (uint8_t)st;
    if (!status_allowed(kind, st)) {
        worker_fail(w, "lead %s (%s): status %s: %s", id, kind_names[kind], leadroute_route_status_name(st),
                    leadroute_decision_reason(d));
        return;
    }
    if (kind == K_NONE) {
        if (leadroute_decision_rule(d))
            worker_fail(w, "lead %s matched rule %s", id, leadroute_decision_rule(d));
        p->table = UINT16_MAX;
        return;
    }
    if (!rule_table(leadroute_decision_rule(d), kind, &p->table)) {
        worker_fail(w, "lead %s (%s): rule %s", id, kind_names[kind], leadroute_decision_rule(d) ? leadroute_decision_rule(d) : "(none)");
        return;
    }
    if (st == LEADROUTE_ROUTE_ASSIGNED) {
        rep = rep_index(leadroute_decision_rep(d));
        if (rep < 0)
            worker_fail(w, "lead %s: assigned to unknown rep %s", id, leadroute_decision_rep(d));
        else
            p->rep = (uint8_t)rep;
    }
}

static void op_route_shared(worker *w, leadroute_decision *d, uint64_t x)
{
    shared_op *s = &w->shared[w->nshared];
    uint32_t index = (uint32_t)((x >> 16) % NSHARED), st;
    char id[32];
    int rc, rep;
    snprintf(id, sizeof id, "S%u", index);
    rc = route_one(w, d, id, K_WT, 0);
    w->routes++;
    s->index = index;
    s->rep = NO_REP;
    w->nshared++;
    if (rc != LEADROUTE_OK) {
        worker_fail(w, "shared lead %s: %d %s", id, rc, leadroute_decision_reason(d));
        return;
    }
    st = leadroute_decision_status(d);
    s->status = (uint8_t)st;
    if (st != LEADROUTE_ROUTE_ASSIGNED && st != LEADROUTE_ROUTE_EXISTING && st != LEADROUTE_ROUTE_UNASSIGNED) {
        worker_fail(w, "shared lead %s: status %s", id, leadroute_route_status_name(st));
        return;
    }
    if (!rule_table(leadroute_decision_rule(d), K_WT, &s->table)) {
        worker_fail(w, "shared lead %s: rule %s", id, leadroute_decision_rule(d) ? leadroute_decision_rule(d) : "(none)");
        return;
    }
    if (st != LEADROUTE_ROUTE_UNASSIGNED) {
        if ((rep = rep_index(leadroute_decision_rep(d))) < 0)
            worker_fail(w, "shared lead %s: rep %s", id, leadroute_decision_rep(d));
        else
            s->rep = (uint8_t)rep;
    }
}

/* A dry run of a fresh lead: decides, and must leave no trace (checked at the end). */
static void op_dry_run(worker *w, leadroute_decision *d, uint64_t x)
{
    char id[32];
    int rc;
    snprintf(id, sizeof id, "D%d.%llu", w->id, (unsigned long long)w->dry_runs);
    rc = route_one(w, d, id, (int)((x >> 16) % 3), LEADROUTE_ROUTE_DRY_RUN | LEADROUTE_ROUTE_TRACE);
    w->dry_runs++;
    if (rc != LEADROUTE_OK)
        worker_fail(w, "dry run %s: %d %s", id, rc, leadroute_decision_reason(d));
}

/* Acknowledge one of this worker's earlier leads: OK when it is claimed,
 * ENOTFOUND when it never was or was closed. */
static void op_acknowledge(worker *w, uint64_t x)
{
    size_t i = (size_t)((x >> 16) % w->npriv);
    private_rec *p = &w->priv[i];
    char id[32];
    int rc, claimed = p->status == LEADROUTE_ROUTE_ASSIGNED && !(p->flags & F_CLOSED);
    snprintf(id, sizeof id, "P%d.%zu", w->id, i);
    rc = leadroute_router_acknowledge(w->r, id);
    if (rc == LEADROUTE_OK && claimed) {
        p->flags |= F_ACKED;
        w->acks_ok++;
    } else if (rc == LEADROUTE_ENOTFOUND && !claimed) {
        w->acks_missing++;
    } else if (rc == LEADROUTE_OK && (p->flags & F_CLOSED)) {
        /* only a commit that moved it after the close can have claimed it again */
        worker_fail(w, "lead %s (%s) was closed, yet acknowledging it succeeded: it is claimed again", id,
                    kind_names[p->kind]);
    } else {
        worker_fail(w, "acknowledge %s (%s, %s%s): %d %s", id, kind_names[p->kind],
                    leadroute_route_status_name(p->status), p->flags & F_CLOSED ? ", closed" : "", rc,
                    leadroute_error_last()->message);
    }
}

/* Close an open lead of this worker: always claimed, so always OK. */
static void op_close(worker *w, size_t i)
{
    private_rec *p = &w->priv[i];
    char id[32];
    int rc;
    snprintf(id, sizeof id, "P%d.%zu", w->id, i);
    rc = leadroute_router_close(w->r, id);
    if (rc != LEADROUTE_OK) {
        worker_fail(w, "close %s (%s): %d %s", id, kind_names[p->kind], rc, leadroute_error_last()->message);
        return;
    }
    p->flags |= F_CLOSED;
    w->closes++;
}

static void op_tick(worker *w)
{
    leadroute_tick_stats st = LEADROUTE_TICK_STATS_INIT;
    int64_t now = atomic_fetch_add_explicit(&g->now_ms, TICK_STEP_MS, memory_order_relaxed) + TICK_STEP_MS;
    int rc;
    tl_mask = g->run_available ? atomic_load_explicit(&g->avail_mask, memory_order_relaxed) : ALL_REPS;
    rc = leadroute_router_tick(w->r, now, NULL, NULL, &st);
    w->ticks++;
    if (rc != LEADROUTE_OK) {
        worker_fail(w, "tick: %d %s", rc, leadroute_error_last()->message);
        return;
    }
    if (st.reassigned + st.escalated + st.kept + st.raced != st.due)
        worker_fail(w, "tick stats do not add up: due %llu, moved %llu+%llu, kept %llu, raced %llu",
                    (unsigned long long)st.due, (unsigned long long)st.reassigned,
                    (unsigned long long)st.escalated, (unsigned long long)st.kept, (unsigned long long)st.raced);
    w->tick_due += st.due;
    w->tick_moved += st.reassigned + st.escalated;
    w->tick_kept += st.kept;
    w->tick_raced += st.raced;
}

static void op_metrics(worker *w, char *buf, size_t cap)
{
    size_t needed = 0;
    int rc = leadroute_router_metrics_json(w->r, buf, cap, &needed);
    w->metrics_reads++;
    if (rc != LEADROUTE_OK || needed >= cap || buf[0] != '{' || buf[needed - 1] != '}')
        worker_fail(w, "metrics: %d, %zu bytes", rc, needed);
    (void)leadroute_router_rep_assigned(w->r, rep_names[(w->ops >> 3) % NREPS]);
    (void)leadroute_router_rule_hits(w->r, (size_t)(w->ops % NRULES));
}

#define OPEN_RING 64

static void *worker_main(void *arg)
{
    worker *w = arg;
    leadroute_decision *d = NULL;
    size_t open_ll[OPEN_RING], nopen = 0;
    size_t metrics_cap = 1 << 16;
    char *metrics = malloc(metrics_cap);
    if (!metrics || leadroute_decision_new(&d, NULL) != LEADROUTE_OK) {
        worker_fail(w, "setup failed");
        free(metrics);
        return NULL;
    }
    while (!w->failed) {
        uint64_t x = xorshift(&w->rng);
        unsigned pick = (unsigned)(x % 100);
        if (w->ops >= MIN_OPS && mono_ns() >= g->deadline_ns)
            break;
        /* stop before a log can run full; ticks may add a commit per open lead */
        if (w->npriv >= MAX_PRIVATE || w->nshared >= MAX_SHARED_OPS ||
            atomic_load_explicit(&g->ncommits, memory_order_relaxed) > COMMIT_CAP / 2)
            break;
        w->ops++;
        if (w->ops % TICK_EVERY == 0) {
            op_tick(w);
        } else if (w->ops % 401 == 0) {
            op_metrics(w, metrics, metrics_cap);
        } else if (pick < 20) {
            op_route_shared(w, d, x);
        } else if (pick < 22) {
            op_dry_run(w, d, x);
        } else if (pick < 37 && w->npriv > 0) {
            op_acknowledge(w, x);
        } else if (pick < 45 && nopen > 0) {
            /* the least-loaded reps only take new leads when some close */
            op_close(w, open_ll[0]);
            memmove(open_ll, open_ll + 1, sizeof open_ll[0] * --nopen);
        } else if (pick < 47 && w->npriv > 0) {
            size_t i = (size_t)((x >> 16) % w->npriv);
            if (w->priv[i].status == LEADROUTE_ROUTE_ASSIGNED && w->priv[i].kind != K_LL &&
                !(w->priv[i].flags & F_CLOSED))
                op_close(w, i);
        } else {
            op_route_private(w, d, x);
            private_rec *p = &w->priv[w->npriv - 1];
            if (p->kind == K_LL && p->status == LEADROUTE_ROUTE_ASSIGNED) {
                if (nopen == OPEN_RING) {
                    op_close(w, open_ll[0]);
                    memmove(open_ll, open_ll + 1, sizeof open_ll[0] * --nopen);
                }
                open_ll[nopen++] = w->npriv - 1;
            }
        }
    }
    leadroute_decision_free(d);
    free(metrics);
    return NULL;
}

/* ---- the swapper ------------------------------------------------------------- */

typedef struct swapper {
    leadroute_router *r;
    uint64_t rng;
    unsigned tables;         /* table instances made, the first by setup */
    uint64_t roster_swaps, table_swaps, flips, forks;
    int failed;
    char msg[300];
} swapper;

static void swapper_fail(swapper *s, const char *what, int rc)
{
    if (!s->failed)
        snprintf(s->msg, sizeof s->msg, "%s: %d %s", what, rc, leadroute_error_last()->message);
    s->failed = 1;
}

/* A simulation router: routes through its own overlay, never the live store. */
static void fork_and_route(swapper *s)
{
    leadroute_router *sim = NULL;
    leadroute_decision *d = NULL;
    int rc, k;
    if ((rc = leadroute_router_fork(&sim, s->r)) != LEADROUTE_OK || (rc = leadroute_decision_new(&d, NULL)) != 0) {
        swapper_fail(s, "fork", rc);
        leadroute_router_free(sim);
        return;
    }
    tl_mask = g->run_available ? atomic_load_explicit(&g->avail_mask, memory_order_relaxed) : ALL_REPS;
    for (k = 0; k < 4 && !s->failed; k++) {
        leadroute_field f[1];
        leadroute_value v = LEADROUTE_VALUE_INIT;
        leadroute_lead lead = LEADROUTE_LEAD_INIT;
        char id[32];
        snprintf(id, sizeof id, "F%llu.%d", (unsigned long long)s->forks, k);
        v.type = LEADROUTE_VALUE_STRING;
        v.string = kind_names[k % 3];
        f[0].name = "kind";
        f[0].value = v;
        lead.id = id;
        lead.fields = f;
        lead.field_count = 1;
        if ((rc = leadroute_route(sim, &lead, 0, d)) != LEADROUTE_OK)
            swapper_fail(s, "route through a fork", rc);
    }
    s->forks++;
    leadroute_decision_free(d);
    leadroute_router_free(sim);
}

/* About one rep in four away, and never no one: a run where every draw came
 * up all-available would test nothing. */
static uint32_t draw_away_mask(uint64_t *rng)
{
    uint32_t m = (uint32_t)(xorshift(rng) | xorshift(rng)) & ALL_REPS;
    if (m == ALL_REPS)
        m &= ~(1u << (xorshift(rng) % NREPS));
    return m;
}

static void *swapper_main(void *arg)
{
    /* one of each kind first (even past the stop), then at random: a slow
     * run (valgrind) makes few rounds, and every kind must still happen */
    static const unsigned first[] = { 0, 6, 11, 15 };
    swapper *s = arg;
    struct timespec pause = { 0, 150000 };
    unsigned round = 0;
    while ((round < sizeof first / sizeof first[0] || !atomic_load_explicit(&g->stop, memory_order_relaxed)) &&
           !s->failed) {
        unsigned pick = round < sizeof first / sizeof first[0] ? first[round] : (unsigned)(xorshift(&s->rng) % 16);
        int rc;
        round++;
        if (pick < 6) {
            leadroute_roster *ro = NULL;
            if ((rc = next_roster(&ro, &s->rng)) == LEADROUTE_ELIMIT)
                continue;
            if (rc != LEADROUTE_OK || (rc = leadroute_router_set_roster(s->r, ro)) != LEADROUTE_OK)
                swapper_fail(s, "roster swap", rc);
            leadroute_roster_unref(ro);
            s->roster_swaps++;
        } else if (pick < 11) {
            leadroute_table *t = NULL;
            if (s->tables >= MAX_TABLES)
                continue;
            if ((rc = make_table(&t, s->tables)) != LEADROUTE_OK || (rc = leadroute_router_set_table(s->r, t)) != 0)
                swapper_fail(s, "table swap", rc);
            leadroute_table_unref(t);
            s->tables++;
            s->table_swaps++;
        } else if (pick < 15) {
            /* run 2: about one rep in four away, a new draw each flip */
            atomic_store_explicit(&g->avail_mask, draw_away_mask(&s->rng), memory_order_relaxed);
            s->flips++;
        } else if (s->forks < 200) {
            fork_and_route(s);
        }
        nanosleep(&pause, NULL);
    }
    return NULL;
}

/* ---- the end-state checks ------------------------------------------------------ */

typedef struct key_view {
    int assigned_reports;      /* ASSIGNED decisions for the key */
    uint8_t assigned_rep;
    uint8_t closed, acked;
    uint8_t listed;            /* seen in the store's pending listing */
    uint32_t first, count;     /* its commits: order[first .. first + count) */
    uint8_t chain[NREPS];      /* holders, first to last */
    uint8_t nchain;
} key_view;

static const commit_rec *sort_base;

static int by_key(const void *x, const void *y)
{
    const commit_rec *a = &sort_base[*(const uint32_t *)x], *b = &sort_base[*(const uint32_t *)y];
    return a->key < b->key ? -1 : a->key > b->key;
}

static int by_version(const void *x, const void *y)
{
    const commit_rec *a = &sort_base[*(const uint32_t *)x], *b = &sort_base[*(const uint32_t *)y];
    return a->version < b->version ? -1 : a->version > b->version;
}

typedef struct checker {
    key_view **priv;            /* per worker, per private lead */
    size_t npriv[MAX_WORKERS];
    key_view *shared;
    const worker *w;
    int nworkers;
} checker;

static key_view *view_of(checker *c, uint32_t key)
{
    if (key >= SHARED_BASE)
        return &c->shared[key - SHARED_BASE];
    if (key / KEY_STRIDE < (uint32_t)c->nworkers && key % KEY_STRIDE < c->npriv[key / KEY_STRIDE])
        return &c->priv[key / KEY_STRIDE][key % KEY_STRIDE];
    return NULL;
}

static void key_name(uint32_t key, char *buf, size_t cap)
{
    if (key >= SHARED_BASE)
        snprintf(buf, cap, "S%u", key - SHARED_BASE);
    else
        snprintf(buf, cap, "P%u.%u", key / KEY_STRIDE, key % KEY_STRIDE);
}

/* Chains of holders out of the commit log: a first assignment, then moves
 * each naming the holder before; no rep twice (a lead never goes back). */
static void check_chains(checker *c, const commit_rec *log, uint32_t *order, size_t n)
{
    size_t i = 0, j;
    sort_base = log;
    for (j = 0; j < n; j++)
        order[j] = (uint32_t)j;
    qsort(order, n, sizeof *order, by_key);
    while (i < n) {
        uint32_t key = log[order[i]].key;
        key_view *v = view_of(c, key);
        char name[32];
        size_t end = i, roots = 0, k;
        key_name(key, name, sizeof name);
        while (end < n && log[order[end]].key == key)
            end++;
        if (!v)
            fail_msg("commit for lead %s, which no worker routed", name);
        v->first = (uint32_t)i;
        v->count = (uint32_t)(end - i);
        for (k = i; k < end; k++)
            if (log[order[k]].prev == NO_REP) {
                roots++;
                v->chain[0] = log[order[k]].rep;
            }
        if (roots != 1)
            fail_msg("lead %s: %zu first assignments (assigned twice)", name, roots);
        v->nchain = 1;
        while (v->nchain < end - i) {
            uint8_t last = v->chain[v->nchain - 1], next = NO_REP;
            for (k = i; k < end; k++)
                if (log[order[k]].prev == last) {
                    if (next != NO_REP)
                        fail_msg("lead %s: moved away from %s twice (a move committed after the lead had "
                                 "moved on or was closed)", name, rep_names[last]);
                    next = log[order[k]].rep;
                }
            if (next == NO_REP)
                fail_msg("lead %s: %zu commits do not form one chain of holders", name, end - i);
            for (k = 0; k < v->nchain; k++)
                if (v->chain[k] == next)
                    fail_msg("lead %s went back to an earlier holder, %s", name, rep_names[next]);
            v->chain[v->nchain++] = next;
        }
        i = end;
    }
}

typedef struct listing {
    checker *c;
    uint64_t listed;
    int failed;
    char msg[300];
} listing;

static int each_pending(void *ctx, const leadroute_assignment *a)
{
    listing *l = ctx;
    uint32_t key;
    key_view *v;
    size_t k;
    if (!parse_key(a->key, &key) || !(v = view_of(l->c, key))) {
        snprintf(l->msg, sizeof l->msg, "pending assignment of unknown key %s", a->key);
        return l->failed = 1;
    }
    l->listed++;
    v->listed = 1;
    if (!v->nchain || rep_index(a->rep_id) != v->chain[v->nchain - 1] || a->history_count != (size_t)v->nchain - 1) {
        snprintf(l->msg, sizeof l->msg, "pending %s: held by %s after %zu holders; the commits say otherwise", a->key,
                 a->rep_id, a->history_count);
        return l->failed = 1;
    }
    for (k = 0; k < a->history_count; k++)
        if (rep_index(a->history[k]) != v->chain[k]) {
            snprintf(l->msg, sizeof l->msg, "pending %s: holder %zu is %s, the commits say %s", a->key, k,
                     a->history[k], rep_names[v->chain[k]]);
            return l->failed = 1;
        }
    if (a->acknowledged_ms != 0) {
        snprintf(l->msg, sizeof l->msg, "pending %s carries an acknowledgement", a->key);
        return l->failed = 1;
    }
    return 0;
}

/* Claims, open counts and pending assignments of the store against the views. */
static void check_store(checker *c, worker *w, int nworkers, uint64_t *claims_out)
{
    uint64_t held[NREPS] = { 0 }, claims = 0;
    char holder[64], name[32];
    listing l;
    int t, i;
    size_t k;
    for (t = 0; t <= nworkers; t++) {
        size_t n = t < nworkers ? c->npriv[t] : NSHARED;
        for (k = 0; k < n; k++) {
            key_view *v = t < nworkers ? &c->priv[t][k] : &c->shared[k];
            char key[48];
            int rc;
            if (t < nworkers)
                snprintf(name, sizeof name, "P%d.%zu", t, k);
            else
                snprintf(name, sizeof name, "S%zu", k);
            snprintf(key, sizeof key, "lead:%s", name);
            rc = lr__memstore_methods.find_claim(g->mem, key, holder, sizeof holder);
            if (v->closed || !v->nchain) {
                if (rc != LEADROUTE_ENOTFOUND)
                    fail_msg("lead %s (%s) is claimed by %s in the store", name,
                             v->closed ? "closed by its worker, after its last holder let it go"
                                       : "never assigned",
                             rc == LEADROUTE_OK ? holder : "?");
                continue;
            }
            if (rc != LEADROUTE_OK)
                fail_msg("lead %s: held by %s per the commits, the store says %d", name,
                         rep_names[v->chain[v->nchain - 1]], rc);
            if (rep_index(holder) != v->chain[v->nchain - 1])
                fail_msg("lead %s: the store says %s, the commits %s", name, holder,
                         rep_names[v->chain[v->nchain - 1]]);
            held[v->chain[v->nchain - 1]]++;
            claims++;
        }
    }
    for (i = 0; i < NREPS; i++) {
        uint32_t open = 0;
        assert_int_equal(lr__memstore_methods.open_count(g->mem, rep_names[i], &open), LEADROUTE_OK);
        if (open != held[i])
            fail_msg("rep %s: %u open leads in the store, holds %llu", rep_names[i], open,
                     (unsigned long long)held[i]);
    }
    /* dry runs and forks left nothing: a sample of their keys */
    for (t = 0; t < nworkers; t++)
        for (k = 0; k < w[t].dry_runs; k += 1 + w[t].dry_runs / 64) {
            char key[48];
            snprintf(key, sizeof key, "lead:D%d.%zu", t, k);
            assert_int_equal(lr__memstore_methods.find_claim(g->mem, key, holder, sizeof holder), LEADROUTE_ENOTFOUND);
        }
    /* every claimed lead has a deadline (the SLA of pool rr is years away):
     * it is pending exactly when it was never acknowledged. A lead moved
     * after its acknowledgement would be pending again. */
    memset(&l, 0, sizeof l);
    l.c = c;
    assert_int_equal(lr__memstore_methods.list_due(g->mem, INT64_MAX, each_pending, &l), l.failed);
    if (l.failed)
        fail_msg("%s", l.msg);
    for (t = 0; t <= nworkers; t++) {
        size_t n = t < nworkers ? c->npriv[t] : NSHARED;
        for (k = 0; k < n; k++) {
            key_view *v = t < nworkers ? &c->priv[t][k] : &c->shared[k];
            if (t < nworkers)
                snprintf(name, sizeof name, "P%d.%zu", t, k);
            else
                snprintf(name, sizeof name, "S%zu", k);
            if (v->closed || !v->nchain) {
                if (v->listed)
                    fail_msg("lead %s is pending but not claimed", name);
            } else if (v->acked && v->listed) {
                fail_msg("lead %s was acknowledged (held by %s after %u holders) yet is pending again: a tick "
                         "moved it after the acknowledgement", name, rep_names[v->chain[v->nchain - 1]],
                         (unsigned)v->nchain);
            } else if (!v->acked && !v->listed) {
                fail_msg("lead %s (held by %s) was never acknowledged but is not pending", name,
                         rep_names[v->chain[v->nchain - 1]]);
            }
        }
    }
    *claims_out = claims;
}

/* Round robin: the versions of pool rr's state have no gap, each pick is the
 * first candidate (member, active, available in that call) in the line of
 * members, which then goes to its back (members that left the pool drop
 * out of the line at the pick, new ones join its front in id order), and so
 * within each stretch of commits made with one roster and one availability
 * mask the candidates' counts differ by at most 1 and everyone else gets
 * none. Returns the number of picks. */
static size_t check_round_robin(checker *c, const commit_rec *log, uint32_t *order, size_t n, size_t *stretches)
{
    size_t nrr = 0, j;
    uint32_t nepochs = atomic_load(&g->nepochs), run_cand = 0;
    unsigned counts[NREPS];
    int prev = -1, i, line[NREPS], nline = 0;
    for (j = 0; j < n; j++)
        if (log[j].rr_state)
            order[nrr++] = (uint32_t)j;
    sort_base = log;
    qsort(order, nrr, sizeof *order, by_version);
    *stretches = 0;
    for (j = 0; j <= nrr; j++) {
        const commit_rec *cr = j < nrr ? &log[order[j]] : NULL;
        uint32_t cand = 0;
        int want = -1;
        char name[32];
        if (cr) {
            uint32_t w = cr->key / KEY_STRIDE, x = cr->key % KEY_STRIDE;
            key_name(cr->key, name, sizeof name);
            if (cr->version != j)
                fail_msg("pool rr: commit %zu of %zu wrote over state version %llu", j, nrr,
                         (unsigned long long)cr->version);
            if (cr->key >= SHARED_BASE || w >= (uint32_t)c->nworkers || x >= c->npriv[w] || cr->pool != P_RR ||
                cr->prev != NO_REP || cr->epoch >= nepochs || c->w[w].priv[x].kind != K_RR)
                fail_msg("pool rr: unexpected commit of %s (pool %u, epoch %u)", name, cr->pool, cr->epoch);
            cand = g->epochs[cr->epoch].rr_eligible & c->w[w].priv[x].mask;
            {
                uint32_t members = g->epochs[cr->epoch].rr_members, known = 0;
                int kept = 0, fresh[NREPS], nfresh = 0, at;
                for (i = 0; i < nline; i++)
                    if ((members >> line[i]) & 1u) {
                        known |= 1u << line[i];
                        line[kept++] = line[i];
                    }
                for (i = 0; i < NREPS; i++)
                    if (((members >> i) & 1u) && !((known >> i) & 1u))
                        fresh[nfresh++] = i;
                memmove(line + nfresh, line, sizeof *line * (size_t)kept);
                memcpy(line, fresh, sizeof *line * (size_t)nfresh);
                nline = kept + nfresh;
                for (at = 0; at < nline && !((cand >> line[at]) & 1u); at++)
                    ;
                if (at < nline) {
                    want = line[at];
                    memmove(line + at, line + at + 1, sizeof *line * (size_t)(nline - 1 - at));
                    line[nline - 1] = want;
                }
            }
            if (want != cr->rep)
                fail_msg("pool rr, pick %zu (%s, roster epoch %u, candidates 0x%x, previous %s): got %s, round robin "
                         "gives %s", j, name, cr->epoch, cand, prev < 0 ? "none" : rep_names[prev],
                         rep_names[cr->rep], want < 0 ? "no one" : rep_names[want]);
        }
        /* a stretch ends where the roster or the candidates change */
        if (j > 0 && (!cr || cand != run_cand || cr->epoch != log[order[j - 1]].epoch)) {
            unsigned lo = UINT32_MAX, hi = 0;
            for (i = 0; i < NREPS; i++) {
                if (!((run_cand >> i) & 1u)) {
                    if (counts[i])
                        fail_msg("pool rr: %s got %u leads in a stretch where it was no candidate", rep_names[i],
                                 counts[i]);
                    continue;
                }
                lo = counts[i] < lo ? counts[i] : lo;
                hi = counts[i] > hi ? counts[i] : hi;
            }
            if (hi - lo > 1)
                fail_msg("pool rr: counts in one stretch differ by %u (candidates 0x%x)", hi - lo, run_cand);
            ++*stretches;
        }
        if (!cr)
            break;
        if (j == 0 || cand != run_cand || cr->epoch != log[order[j - 1]].epoch) {
            memset(counts, 0, sizeof counts);
            run_cand = cand;
        }
        counts[cr->rep]++;
        prev = cr->rep;
    }
    return nrr;
}

static size_t env_size(const char *name, size_t dflt, size_t lo, size_t hi)
{
    const char *s = getenv(name);
    char *end = NULL;
    unsigned long v;
    if (!s || !*s)
        return dflt;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "ignoring %s='%s' (expected %zu..%zu)\n", name, s, lo, hi);
        return dflt;
    }
    return (size_t)v;
}

/* One run: set up, mix, then check everything. */
static void stress_run(int with_availability)
{
    size_t seconds = env_size("LEADROUTE_STRESS_SECONDS", 2, 0, 3600);
    int nworkers = (int)env_size("LEADROUTE_STRESS_THREADS", 4, 4, MAX_WORKERS), t, i;
    shared_state st;
    worker *w = calloc(MAX_WORKERS, sizeof *w);
    swapper sw;
    pthread_t th[MAX_WORKERS], ts;
    leadroute_router *r = NULL;
    leadroute_roster *ro = NULL;
    leadroute_table *tab = NULL;
    leadroute_router_options opts = LEADROUTE_ROUTER_OPTIONS_INIT;
    leadroute_clock clk = { LEADROUTE_CLOCK_VERSION, clock_now };
    leadroute_availability av = { LEADROUTE_AVAILABILITY_VERSION, mask_availability };
    leadroute_notify nv = { LEADROUTE_NOTIFY_VERSION, count_notify };
    checker c;
    uint32_t *order;
    size_t n, j, stretches = 0, rr_picks;
    uint64_t route_assigned[NREPS] = { 0 }, first_commits[NREPS] = { 0 }, all_commits[NREPS] = { 0 };
    uint64_t hits[NRULES] = { 0 }, routes = 0, acks_ok = 0, acks_missing = 0, closes = 0, ticks = 0;
    uint64_t tick_moved = 0, tick_due = 0, tick_kept = 0, tick_raced = 0, dry = 0, existing = 0, queued = 0;
    uint64_t moves = 0, claims = 0, acked_keys = 0, metrics_reads = 0, unassigned = 0;

    assert_non_null(w);
    memset(&st, 0, sizeof st);
    g = &st;
    st.run_available = with_availability;
    st.commits = malloc(sizeof *st.commits * COMMIT_CAP);
    st.epochs = calloc(MAX_EPOCHS, sizeof *st.epochs);
    assert_non_null(st.commits);
    assert_non_null(st.epochs);
    atomic_init(&st.now_ms, INT64_C(1767225600000));   /* 2026-01-01 */
    memset(&sw, 0, sizeof sw);
    sw.rng = 0x2545F4914F6CDD1Dull + (uint64_t)with_availability;
    /* run 2 starts with reps away: under valgrind the swapper may get its
     * first turn only after the workers are done */
    atomic_init(&st.avail_mask, with_availability ? draw_away_mask(&sw.rng) : ALL_REPS);
    assert_int_equal(lr__memstore_new(&st.mem, NULL, NULL, NULL), LEADROUTE_OK);

    assert_int_equal(make_table(&tab, 0), LEADROUTE_OK);
    sw.tables = 1;
    assert_int_equal(next_roster(&ro, &sw.rng), LEADROUTE_OK);
    opts.max_retries = 100000;   /* a conflict means someone else committed: never give up here */
    assert_int_equal(leadroute_router_new(&r, tab, ro, &opts), LEADROUTE_OK);
    leadroute_table_unref(tab);
    leadroute_roster_unref(ro);
    assert_int_equal(leadroute_router_set_store(r, &rec_store, st.mem), LEADROUTE_OK);
    assert_int_equal(leadroute_router_set_clock(r, &clk, NULL), LEADROUTE_OK);
    assert_int_equal(leadroute_router_set_notify(r, &nv, NULL), LEADROUTE_OK);
    if (with_availability)
        assert_int_equal(leadroute_router_set_availability(r, &av, NULL), LEADROUTE_OK);
    sw.r = r;

    st.deadline_ns = mono_ns() + (int64_t)seconds * 1000000000;
    for (t = 0; t < nworkers; t++) {
        w[t].id = t;
        w[t].r = r;
        w[t].rng = 0x9E3779B97F4A7C15ull * (uint64_t)(t + 1) + (uint64_t)with_availability;
        w[t].priv = malloc(sizeof *w[t].priv * MAX_PRIVATE);
        w[t].shared = malloc(sizeof *w[t].shared * MAX_SHARED_OPS);
        assert_non_null(w[t].priv);
        assert_non_null(w[t].shared);
    }
    assert_int_equal(pthread_create(&ts, NULL, swapper_main, &sw), 0);
    for (t = 0; t < nworkers; t++)
        assert_int_equal(pthread_create(&th[t], NULL, worker_main, &w[t]), 0);
    for (t = 0; t < nworkers; t++)
        pthread_join(th[t], NULL);
    atomic_store(&st.stop, 1);
    pthread_join(ts, NULL);

    /* ---- what the threads saw ---- */
    for (t = 0; t < nworkers; t++)
        if (w[t].failed)
            fail_msg("worker %d: %s", t, w[t].msg);
    if (sw.failed)
        fail_msg("swapper: %s", sw.msg);
    if (atomic_load(&st.bad_commit))
        fail_msg("store: %s", st.bad_key);
    n = atomic_load(&st.ncommits);

    /* ---- chains of holders, and what routing reported ---- */
    memset(&c, 0, sizeof c);
    c.nworkers = nworkers;
    c.w = w;
    c.priv = calloc((size_t)nworkers, sizeof *c.priv);
    c.shared = calloc(NSHARED, sizeof *c.shared);
    assert_non_null(c.priv);
    assert_non_null(c.shared);
    for (t = 0; t < nworkers; t++) {
        c.npriv[t] = w[t].npriv;
        c.priv[t] = calloc(w[t].npriv + 1, sizeof **c.priv);
        assert_non_null(c.priv[t]);
    }
    order = malloc(sizeof *order * (n + 1));
    assert_non_null(order);
    check_chains(&c, st.commits, order, n);

    for (t = 0; t < nworkers; t++) {
        for (j = 0; j < w[t].npriv; j++) {
            const private_rec *p = &w[t].priv[j];
            key_view *v = &c.priv[t][j];
            v->closed = (p->flags & F_CLOSED) != 0;
            v->acked = (p->flags & F_ACKED) != 0;
            acked_keys += v->acked;
            if (p->status == LEADROUTE_ROUTE_ASSIGNED) {
                if (!v->nchain || v->chain[0] != p->rep)
                    fail_msg("lead P%d.%zu: routing reported %s, the store's first assignment went to %s", t, j,
                             rep_names[p->rep], v->nchain ? rep_names[v->chain[0]] : "no one");
                route_assigned[p->rep]++;
            } else if (v->nchain) {
                fail_msg("lead P%d.%zu was %s yet committed to %s", t, j, leadroute_route_status_name(p->status),
                         rep_names[v->chain[0]]);
            }
            queued += p->status == LEADROUTE_ROUTE_QUEUED;
            unassigned += p->status == LEADROUTE_ROUTE_UNASSIGNED;
        }
        for (j = 0; j < w[t].nshared; j++) {
            const shared_op *s = &w[t].shared[j];
            key_view *v = &c.shared[s->index];
            if (s->status == LEADROUTE_ROUTE_ASSIGNED) {
                v->assigned_reports++;
                v->assigned_rep = s->rep;
                route_assigned[s->rep]++;
            } else if (s->status == LEADROUTE_ROUTE_EXISTING) {
                int found = 0;
                for (i = 0; i < v->nchain; i++)
                    found |= v->chain[i] == s->rep;
                if (!found)
                    fail_msg("shared lead S%u: routing reported it held by %s, who never held it", s->index,
                             rep_names[s->rep]);
                existing++;
            } else {
                unassigned++;
            }
        }
    }
    for (j = 0; j < NSHARED; j++) {
        key_view *v = &c.shared[j];
        if (v->assigned_reports > 1)
            fail_msg("shared lead S%zu: ASSIGNED %d times", j, v->assigned_reports);
        if ((v->assigned_reports == 1) != (v->nchain > 0))
            fail_msg("shared lead S%zu: %d ASSIGNED decisions, %u holders in the store", j, v->assigned_reports,
                     (unsigned)v->nchain);
        if (v->assigned_reports == 1 && v->chain[0] != v->assigned_rep)
            fail_msg("shared lead S%zu: routing reported %s, the store's first assignment went to %s", j,
                     rep_names[v->assigned_rep], rep_names[v->chain[0]]);
    }

    /* ---- the store ---- */
    check_store(&c, w, nworkers, &claims);

    /* ---- counters ---- */
    for (j = 0; j < n; j++) {
        all_commits[st.commits[j].rep]++;
        if (st.commits[j].prev == NO_REP)
            first_commits[st.commits[j].rep]++;
        else
            moves++;
    }
    for (t = 0; t < nworkers; t++) {
        routes += w[t].routes;
        dry += w[t].dry_runs;
        acks_ok += w[t].acks_ok;
        acks_missing += w[t].acks_missing;
        closes += w[t].closes;
        ticks += w[t].ticks;
        tick_due += w[t].tick_due;
        tick_moved += w[t].tick_moved;
        tick_kept += w[t].tick_kept;
        tick_raced += w[t].tick_raced;
        metrics_reads += w[t].metrics_reads;
    }
    for (i = 0; i < NREPS; i++) {
        uint64_t got = leadroute_router_rep_assigned(r, rep_names[i]);
        if (first_commits[i] != route_assigned[i])
            fail_msg("rep %s: %llu ASSIGNED decisions, %llu first assignments in the store", rep_names[i],
                     (unsigned long long)route_assigned[i], (unsigned long long)first_commits[i]);
        if (got != all_commits[i])
            fail_msg("rep %s: metrics count %llu assignments, the store %llu", rep_names[i],
                     (unsigned long long)got, (unsigned long long)all_commits[i]);
    }
    assert_int_equal(moves, tick_moved);
    assert_int_equal(atomic_load(&st.notified), n);
    assert_int_equal(lr__memstore_assignments(st.mem), n);
    /* rule hits of the last table: every decided call that used it */
    for (t = 0; t < nworkers; t++) {
        for (j = 0; j < w[t].npriv; j++)
            if (w[t].priv[j].kind != K_NONE && w[t].priv[j].table == sw.tables - 1)
                hits[w[t].priv[j].kind]++;
        for (j = 0; j < w[t].nshared; j++)
            if (w[t].shared[j].table == sw.tables - 1)
                hits[K_WT]++;
    }
    for (i = 0; i < NRULES; i++)
        if (leadroute_router_rule_hits(r, (size_t)i) != hits[i])
            fail_msg("rule %s-%u: %llu hits counted, %llu decisions used it", kind_names[i], sw.tables - 1,
                     (unsigned long long)leadroute_router_rule_hits(r, (size_t)i), (unsigned long long)hits[i]);
    {
        leadroute_latency_stats ls = LEADROUTE_LATENCY_STATS_INIT;
        assert_int_equal(leadroute_router_latency(r, NULL, NULL, LEADROUTE_LATENCY_ASSIGN_TO_ACK, &ls), LEADROUTE_OK);
        if (ls.count < acked_keys || ls.count > acks_ok)
            fail_msg("%llu acknowledgements measured; %llu leads acknowledged, %llu successful calls",
                     (unsigned long long)ls.count, (unsigned long long)acked_keys, (unsigned long long)acks_ok);
    }

    /* ---- round robin ---- */
    rr_picks = check_round_robin(&c, st.commits, order, n, &stretches);

    /* ---- the mix really was mixed ---- */
    assert_true(rr_picks > 0);
    assert_true(existing > 0);
    assert_true(queued > 0);
    assert_true(acks_ok > 0 && acks_missing > 0);
    assert_true(closes > 0);
    assert_true(ticks > 0 && tick_due > 0);
    assert_true(sw.roster_swaps > 0 && sw.table_swaps > 0 && sw.forks > 0);
    if (with_availability)
        assert_true(sw.flips > 0 && atomic_load(&st.avail_away) > 0);
    else
        assert_int_equal(atomic_load(&st.avail_calls), 0);

    print_message("stress (%s, %d workers, %zus): %llu routes, %llu dry runs, %zu commits (%llu by ticks), "
                  "%llu claims held; %llu acks (+%llu unclaimed), %llu closes, %llu ticks (due %llu, kept %llu, "
                  "raced %llu); %llu existing, %llu queued, %llu unassigned; %llu roster and %llu table swaps, "
                  "%llu flips (%llu away answers), %llu forks, %llu metrics reads; round robin: %zu picks in %zu stretches\n",
                  with_availability ? "availability flipping" : "everyone available", nworkers, seconds,
                  (unsigned long long)routes, (unsigned long long)dry, n, (unsigned long long)moves,
                  (unsigned long long)claims, (unsigned long long)acks_ok, (unsigned long long)acks_missing,
                  (unsigned long long)closes, (unsigned long long)ticks, (unsigned long long)tick_due,
                  (unsigned long long)tick_kept, (unsigned long long)tick_raced, (unsigned long long)existing,
                  (unsigned long long)queued, (unsigned long long)unassigned,
                  (unsigned long long)sw.roster_swaps, (unsigned long long)sw.table_swaps,
                  (unsigned long long)sw.flips, (unsigned long long)atomic_load(&st.avail_away), (unsigned long long)sw.forks, (unsigned long long)metrics_reads,
                  rr_picks, stretches);

    leadroute_router_free(r);
    lr__memstore_free(st.mem);
    for (t = 0; t < nworkers; t++) {
        free(w[t].priv);
        free(w[t].shared);
        free(c.priv[t]);
    }
    free(c.priv);
    free(c.shared);
    free(order);
    free(w);
    free(st.commits);
    free(st.epochs);
    g = NULL;
}

static void test_stress_everyone_available(void **state)
{
    (void)state;
    stress_run(0);
}

static void test_stress_availability_flipping(void **state)
{
    (void)state;
    stress_run(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stress_everyone_available),
        cmocka_unit_test(test_stress_availability_flipping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
