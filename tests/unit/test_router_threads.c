/* The router under threads: four threads route distinct and overlapping
 * leads through one router while a fifth swaps tables and rosters, with an
 * availability callback answering at random; then, single-threaded, the
 * exactness of round robin under changing availability and of weighted
 * shares over many leads.
 *
 * LEADROUTE_DIFF_SCALE (float, default 1.0; read as in test_differential.c)
 * scales the amount of work, e.g. 0.01 under valgrind. Seeds are fixed; the
 * thread interleaving is not, so the threaded test checks invariants that
 * hold for every interleaving.
 *
 * SPDX-License-Identifier: MIT
 */
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

static double g_scale = 1.0;

static size_t scaled(double n)
{
    double v = n * g_scale;
    return v < 1 ? 1 : (size_t)v;
}

static void ok(int rc)
{
    if (rc != LEADROUTE_OK)
        fail_msg("call failed (%d): %s", rc, leadroute_error_last()->message);
}

/* Each routing thread seeds its own generator; the callback reads it. */
static _Thread_local uint64_t tl_rng = 88172645463325252ull;

#define HDR "rule,kind,out:owner,out:pool,out:queue,out:status,out:sla_minutes:number,out:tags\n"

static leadroute_table *parse_text(const char *text)
{
    leadroute_table *t = NULL;
    ok(leadroute_table_parse(&t, text, strlen(text), "threads.csv", NULL));
    return t;
}

/* ---- the threaded run ----------------------------------------------------------- */

#define NREPS 6
#define NLL 4
#define LL_CAP 3
#define NTHREADS 4

static const char *const rep_ids[NREPS] = { "r0", "r1", "r2", "r3", "r4", "r5" };
static const char *const ll_ids[NLL] = { "l0", "l1", "l2", "l3" };

/* Same reps every time, a new roster object each call. */
static leadroute_roster *shared_roster(void)
{
    static const char *const pools_r[] = { "rr", "wt" };
    static const char *const pools_l[] = { "ll" };
    leadroute_rep reps[NREPS + NLL];
    leadroute_pool pools[3];
    leadroute_roster *ro = NULL;
    size_t i;
    for (i = 0; i < NREPS; i++) {
        leadroute_rep r = LEADROUTE_REP_INIT;
        r.id = rep_ids[i];
        r.pools = pools_r;
        r.pool_count = 2;
        r.weight = (double)(i + 1);
        reps[i] = r;
    }
    for (i = 0; i < NLL; i++) {
        leadroute_rep r = LEADROUTE_REP_INIT;
        r.id = ll_ids[i];
        r.pools = pools_l;
        r.pool_count = 1;
        r.capacity = LL_CAP;
        reps[NREPS + i] = r;
    }
    for (i = 0; i < 3; i++) {
        leadroute_pool p = LEADROUTE_POOL_INIT;
        pools[i] = p;
    }
    pools[0].id = "rr";
    pools[0].strategy = LEADROUTE_STRATEGY_ROUND_ROBIN;
    pools[1].id = "wt";
    pools[1].strategy = LEADROUTE_STRATEGY_WEIGHTED;
    pools[2].id = "ll";
    pools[2].strategy = LEADROUTE_STRATEGY_LEAST_LOADED;
    pools[2].on_empty = LEADROUTE_EMPTY_QUEUE;
    pools[2].queue = "overflow";
    ok(leadroute_roster_new(&ro, reps, NREPS + NLL, pools, 3, NULL));
    return ro;
}

static const char *const table_a = HDR "rr,rr,,rr,,,10,\n"
                                       "wt,wt,,wt,,,10,\n"
                                       "ll,ll,,ll,,,10,\n";
/* Same routing, another version (hash). */
static const char *const table_b = HDR "rr-b,rr,,rr,,,20,b\n"
                                       "wt-b,wt,,wt,,,20,b\n"
                                       "ll-b,ll,,ll,,,20,b\n";

/* A key set for the notify log (open addressing, under the log's mutex). */
typedef struct keyset {
    char **slots;
    size_t cap, n;
} keyset;

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* 1 if added, 0 if already there. */
static int keyset_add(keyset *k, const char *key)
{
    size_t i;
    if ((k->n + 1) * 2 > k->cap) {
        keyset g = { calloc(k->cap ? k->cap * 2 : 1024, sizeof(char *)), k->cap ? k->cap * 2 : 1024, 0 };
        assert_non_null(g.slots);
        for (i = 0; i < k->cap; i++)
            if (k->slots[i]) {
                size_t j = hash_str(k->slots[i]) & (g.cap - 1);
                while (g.slots[j])
                    j = (j + 1) & (g.cap - 1);
                g.slots[j] = k->slots[i];
                g.n++;
            }
        free(k->slots);
        *k = g;
    }
    i = hash_str(key) & (k->cap - 1);
    while (k->slots[i]) {
        if (strcmp(k->slots[i], key) == 0)
            return 0;
        i = (i + 1) & (k->cap - 1);
    }
    k->slots[i] = strdup(key);
    assert_non_null(k->slots[i]);
    k->n++;
    return 1;
}

static void keyset_free(keyset *k)
{
    for (size_t i = 0; i < k->cap; i++)
        free(k->slots[i]);
    free(k->slots);
    memset(k, 0, sizeof *k);
}

typedef struct nlog {
    pthread_mutex_t lock;
    keyset keys;
    uint64_t notified, dups, over_cap;
    int open[NLL];       /* open leads of the least-loaded reps, as the host sees them */
    int max_open[NLL];
    char dup_key[128];
} nlog;

static int ll_index(const char *rep)
{
    for (int i = 0; i < NLL; i++)
        if (strcmp(rep, ll_ids[i]) == 0)
            return i;
    return -1;
}

static int log_notify(void *ud, const leadroute_assignment *a)
{
    nlog *l = ud;
    int k = ll_index(a->rep_id);
    pthread_mutex_lock(&l->lock);
    l->notified++;
    if (!keyset_add(&l->keys, a->key)) {
        l->dups++;
        snprintf(l->dup_key, sizeof l->dup_key, "%s", a->key);
    }
    if (k >= 0) {
        /* counted after the commit and uncounted before the close, so this
         * never exceeds the store's count: above the cap means the store was */
        if (++l->open[k] > LL_CAP)
            l->over_cap++;
        if (l->open[k] > l->max_open[k])
            l->max_open[k] = l->open[k];
    }
    pthread_mutex_unlock(&l->lock);
    return LEADROUTE_OK;
}

static int random_avail(void *ud, const char *rep_id, const leadroute_lead *lead, int64_t now_ms, uint32_t *verdict,
                        char *reason, size_t cap)
{
    (void)ud, (void)rep_id, (void)lead, (void)now_ms;
    if (xorshift(&tl_rng) % 4 == 0) {
        *verdict = LEADROUTE_AWAY;
        snprintf(reason, cap, "busy");
    } else {
        *verdict = LEADROUTE_AVAILABLE;
    }
    return LEADROUTE_OK;
}

typedef struct worker {
    int t;
    size_t n, nshared;
    leadroute_router *r;
    nlog *log;
    _Atomic uint32_t *shared_assigned;   /* per shared id: ASSIGNED decisions */
    uint64_t assigned, existing, queued, unassigned, closes;
    int failed;
    char msg[512];
} worker;

static void *route_worker(void *arg)
{
    worker *w = arg;
    leadroute_decision *d = NULL;
    uint64_t rng = 0x9E3779B97F4A7C15ull * (uint64_t)(w->t + 1);
    char (*open)[48] = calloc(64, sizeof *open);   /* least-loaded leads this thread holds */
    size_t nopen = 0;
    tl_rng = 0xD1B54A32D192ED03ull ^ (uint64_t)(w->t + 7);
    if (!open || leadroute_decision_new(&d, NULL) != LEADROUTE_OK) {
        w->failed = 1;
        snprintf(w->msg, sizeof w->msg, "setup failed");
        free(open);
        return NULL;
    }
    for (size_t i = 0; i < w->n && !w->failed; i++) {
        leadroute_field f[1];
        leadroute_value v = LEADROUTE_VALUE_INIT;
        leadroute_lead lead = LEADROUTE_LEAD_INIT;
        char id[48];
        const char *kind;
        long shared = -1;
        uint64_t x = xorshift(&rng);
        if (x % 3 == 0) {
            /* overlapping ids: every thread routes the same ones */
            shared = (long)((x >> 8) % w->nshared);
            snprintf(id, sizeof id, "S%ld", shared);
            kind = shared % 2 ? "rr" : "wt";
        } else {
            snprintf(id, sizeof id, "T%d-%zu", w->t, i);
            kind = (x >> 8) % 3 == 0 ? "rr" : (x >> 8) % 3 == 1 ? "wt" : "ll";
        }
        v.type = LEADROUTE_VALUE_STRING;
        v.string = kind;
        f[0].name = "kind";
        f[0].value = v;
        lead.id = id;
        lead.fields = f;
        lead.field_count = 1;
        int rc = leadroute_route(w->r, &lead, (x >> 20) % 8 == 0 ? LEADROUTE_ROUTE_TRACE : 0, d);
        if (rc != LEADROUTE_OK) {
            w->failed = 1;
            snprintf(w->msg, sizeof w->msg, "lead %s: %d %s", id, rc, leadroute_decision_reason(d));
            break;
        }
        switch (leadroute_decision_status(d)) {
        case LEADROUTE_ROUTE_ASSIGNED:
            w->assigned++;
            if (shared >= 0)
                atomic_fetch_add(&w->shared_assigned[shared], 1);
            if (strcmp(kind, "ll") == 0) {
                if (ll_index(leadroute_decision_rep(d)) < 0) {
                    w->failed = 1;
                    snprintf(w->msg, sizeof w->msg, "ll lead %s went to %s", id, leadroute_decision_rep(d));
                }
                if (nopen < 64)
                    snprintf(open[nopen++], sizeof open[0], "%s", id);
            }
            break;
        case LEADROUTE_ROUTE_EXISTING:
            w->existing++;
            if (shared < 0) {
                w->failed = 1;
                snprintf(w->msg, sizeof w->msg, "distinct lead %s was claimed already by %s", id,
                         leadroute_decision_rep(d));
            }
            break;
        case LEADROUTE_ROUTE_QUEUED:
            w->queued++;
            break;
        case LEADROUTE_ROUTE_UNASSIGNED:
            w->unassigned++;
            break;
        default:
            w->failed = 1;
            snprintf(w->msg, sizeof w->msg, "lead %s: status %u", id, leadroute_decision_status(d));
        }
        /* close the oldest least-loaded lead now and then (rarely enough that
         * one thread alone fills every rep to its cap, whatever the other
         * threads do meanwhile): uncount it first */
        if (nopen && (nopen == 64 || xorshift(&rng) % 8 == 0)) {
            char rep[64] = "";
            int k;
            /* who holds it: the notify log would do, the router says it too */
            lead = (leadroute_lead)LEADROUTE_LEAD_INIT;
            lead.id = open[0];
            lead.fields = f;
            lead.field_count = 1;
            f[0].value.string = "ll";
            if (leadroute_route(w->r, &lead, 0, d) != LEADROUTE_OK ||
                leadroute_decision_status(d) != LEADROUTE_ROUTE_EXISTING) {
                w->failed = 1;
                snprintf(w->msg, sizeof w->msg, "lead %s lost its claim", open[0]);
                break;
            }
            snprintf(rep, sizeof rep, "%s", leadroute_decision_rep(d));
            k = ll_index(rep);
            pthread_mutex_lock(&w->log->lock);
            if (k >= 0)
                w->log->open[k]--;
            pthread_mutex_unlock(&w->log->lock);
            if ((rc = leadroute_router_close(w->r, open[0])) != LEADROUTE_OK) {
                w->failed = 1;
                snprintf(w->msg, sizeof w->msg, "close %s: %d", open[0], rc);
            }
            w->closes++;
            memmove(open[0], open[1], sizeof open[0] * (nopen - 1));
            nopen--;
        }
    }
    leadroute_decision_free(d);
    free(open);
    return NULL;
}

typedef struct swapper {
    leadroute_router *r;
    leadroute_table *tables[2];
    atomic_int *stop;
    unsigned swaps;
    int failed;
} swapper;

static void *swap_worker(void *arg)
{
    swapper *s = arg;
    struct timespec pause = { 0, 200000 };
    while (!atomic_load(s->stop)) {
        leadroute_roster *ro = shared_roster();
        if (leadroute_router_set_table(s->r, s->tables[s->swaps % 2]) != LEADROUTE_OK ||
            leadroute_router_set_roster(s->r, ro) != LEADROUTE_OK)
            s->failed = 1;
        leadroute_roster_unref(ro);
        s->swaps++;
        nanosleep(&pause, NULL);
    }
    return NULL;
}

static void test_threads_route_and_swap(void **state)
{
    (void)state;
    leadroute_table *ta = parse_text(table_a), *tb = parse_text(table_b);
    leadroute_roster *ro = shared_roster();
    leadroute_router *r = NULL;
    nlog log;
    worker w[NTHREADS];
    swapper sw;
    pthread_t th[NTHREADS], ts;
    atomic_int stop = 0;
    size_t per = scaled(100000), nshared = scaled(16000), i;
    _Atomic uint32_t *shared_assigned = calloc(nshared, sizeof *shared_assigned);
    assert_non_null(shared_assigned);

    memset(&log, 0, sizeof log);
    pthread_mutex_init(&log.lock, NULL);
    ok(leadroute_router_new(&r, ta, ro, NULL));
    leadroute_roster_unref(ro);
    leadroute_availability av = { LEADROUTE_AVAILABILITY_VERSION, random_avail };
    leadroute_notify nv = { LEADROUTE_NOTIFY_VERSION, log_notify };
    ok(leadroute_router_set_availability(r, &av, NULL));
    ok(leadroute_router_set_notify(r, &nv, &log));

    memset(&sw, 0, sizeof sw);
    sw.r = r;
    sw.tables[0] = tb;
    sw.tables[1] = ta;
    sw.stop = &stop;
    assert_int_equal(pthread_create(&ts, NULL, swap_worker, &sw), 0);
    for (i = 0; i < NTHREADS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].t = (int)i;
        w[i].n = per;
        w[i].nshared = nshared;
        w[i].r = r;
        w[i].log = &log;
        w[i].shared_assigned = shared_assigned;
        assert_int_equal(pthread_create(&th[i], NULL, route_worker, &w[i]), 0);
    }
    for (i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    atomic_store(&stop, 1);
    pthread_join(ts, NULL);

    uint64_t assigned = 0, existing = 0, queued = 0, closes = 0;
    for (i = 0; i < NTHREADS; i++) {
        if (w[i].failed)
            fail_msg("thread %zu: %s", i, w[i].msg);
        assigned += w[i].assigned;
        existing += w[i].existing;
        queued += w[i].queued;
        closes += w[i].closes;
    }
    assert_false(sw.failed);
    assert_true(sw.swaps > 0);
    /* every key notified exactly once, one notification per ASSIGNED decision */
    if (log.dups)
        fail_msg("%llu keys assigned twice, e.g. %s", (unsigned long long)log.dups, log.dup_key);
    assert_int_equal(log.notified, assigned);
    assert_int_equal(log.keys.n, assigned);
    for (i = 0; i < nshared; i++)
        if (shared_assigned[i] > 1)
            fail_msg("shared lead S%zu was assigned %u times", i, (unsigned)shared_assigned[i]);
    /* the counters agree */
    uint64_t sum = 0;
    for (i = 0; i < NREPS; i++)
        sum += leadroute_router_rep_assigned(r, rep_ids[i]);
    for (i = 0; i < NLL; i++)
        sum += leadroute_router_rep_assigned(r, ll_ids[i]);
    assert_int_equal(sum, assigned);
    /* capacity held: never above the cap, and the cap was reached */
    assert_int_equal(log.over_cap, 0);
    int reached = 0;
    for (i = 0; i < NLL; i++) {
        assert_true(log.open[i] >= 0 && log.open[i] <= LL_CAP);
        reached |= log.max_open[i] == LL_CAP;
    }
    assert_true(reached);
    assert_true(existing > 0);
    assert_true(queued > 0);
    assert_true(closes > 0);
    /* after the dust settles: what is open in the log is open in the store */
    {
        leadroute_decision *d = NULL;
        ok(leadroute_decision_new(&d, NULL));
        ok(leadroute_router_set_availability(r, NULL, NULL));
        /* fill every least-loaded rep to its cap: the places left are exactly cap - open */
        int free_places = 0, got = 0;
        for (i = 0; i < NLL; i++)
            free_places += LL_CAP - log.open[i];
        for (int k = 0; k < NLL * LL_CAP + 2; k++) {
            leadroute_field f[1];
            leadroute_value v = LEADROUTE_VALUE_INIT;
            leadroute_lead lead = LEADROUTE_LEAD_INIT;
            char id[32];
            snprintf(id, sizeof id, "FILL-%d", k);
            v.type = LEADROUTE_VALUE_STRING;
            v.string = "ll";
            f[0].name = "kind";
            f[0].value = v;
            lead.id = id;
            lead.fields = f;
            lead.field_count = 1;
            ok(leadroute_route(r, &lead, 0, d));
            got += leadroute_decision_status(d) == LEADROUTE_ROUTE_ASSIGNED;
        }
        assert_int_equal(got, free_places);
        leadroute_decision_free(d);
    }
    char buf[8192];
    size_t needed = 0;
    ok(leadroute_router_metrics_json(r, buf, sizeof buf, &needed));
    assert_true(needed < sizeof buf);
    print_message("threads: %zu leads per thread, %llu assigned, %llu existing, %llu queued, %llu closed, %u swaps\n",
                  per, (unsigned long long)assigned, (unsigned long long)existing, (unsigned long long)queued,
                  (unsigned long long)closes, sw.swaps);
    leadroute_router_free(r);
    leadroute_table_unref(ta);
    leadroute_table_unref(tb);
    keyset_free(&log.keys);
    pthread_mutex_destroy(&log.lock);
    free(shared_assigned);
}

/* ---- round robin under random availability, one thread -------------------------- */

static unsigned g_mask;   /* bit i: rep i is available */

static int mask_avail(void *ud, const char *rep_id, const leadroute_lead *lead, int64_t now_ms, uint32_t *verdict,
                      char *reason, size_t cap)
{
    (void)ud, (void)lead, (void)now_ms, (void)reason, (void)cap;
    int i = rep_id[1] - '0';
    *verdict = (g_mask >> i) & 1 ? LEADROUTE_AVAILABLE : LEADROUTE_AWAY;
    return LEADROUTE_OK;
}

/* Route lead `id` of kind "rr" (the tables' round-robin rule) with `flags`. */
static void route_kind(leadroute_router *r, const char *id, uint32_t flags, leadroute_decision *d)
{
    leadroute_field f[1];
    leadroute_value v = LEADROUTE_VALUE_INIT;
    leadroute_lead lead = LEADROUTE_LEAD_INIT;
    v.type = LEADROUTE_VALUE_STRING;
    v.string = "rr";
    f[0].name = "kind";
    f[0].value = v;
    lead.id = id;
    lead.fields = f;
    lead.field_count = 1;
    ok(leadroute_route(r, &lead, flags, d));
}

static leadroute_router *single_pool_router(uint32_t strategy, const double *weights, const char *pool_id)
{
    const char *const pools_of[] = { pool_id };
    leadroute_rep reps[NREPS];
    leadroute_pool p = LEADROUTE_POOL_INIT;
    leadroute_roster *ro = NULL;
    leadroute_router *r = NULL;
    char text[256];
    for (int i = 0; i < NREPS; i++) {
        leadroute_rep x = LEADROUTE_REP_INIT;
        x.id = rep_ids[i];
        x.pools = pools_of;
        x.pool_count = 1;
        x.weight = weights ? weights[i] : 1;
        reps[i] = x;
    }
    p.id = pool_id;
    p.strategy = strategy;
    ok(leadroute_roster_new(&ro, reps, NREPS, &p, 1, NULL));
    snprintf(text, sizeof text, HDR "%s,%s,,%s,,,,\n", pool_id, pool_id, pool_id);
    leadroute_table *t = parse_text(text);
    ok(leadroute_router_new(&r, t, ro, NULL));
    leadroute_table_unref(t);
    leadroute_roster_unref(ro);
    return r;
}

/* Availability is fixed within a block of leads (a random subset of the reps,
 * never empty, for a random 1..40 leads). Round robin is then exact: the
 * reps stand in a line, in id order at first; each lead goes to the first
 * available rep in the line, which moves to its back; so within a block
 * the counts of the available reps differ by at most 1, and an away rep
 * gets nothing. */
static void test_round_robin_exact_random_availability(void **state)
{
    (void)state;
    leadroute_router *r = single_pool_router(LEADROUTE_STRATEGY_ROUND_ROBIN, NULL, "rr");
    leadroute_availability av = { LEADROUTE_AVAILABILITY_VERSION, mask_avail };
    leadroute_decision *d = NULL;
    uint64_t rng = 12345;
    size_t total = scaled(1000000), done = 0, blocks = 0;
    int last = -1, line[NREPS];
    unsigned long long per_rep[NREPS] = { 0 };
    for (int i = 0; i < NREPS; i++)
        line[i] = i;
    ok(leadroute_router_set_availability(r, &av, NULL));
    ok(leadroute_decision_new(&d, NULL));
    while (done < total) {
        unsigned count[NREPS] = { 0 };
        size_t len = 1 + xorshift(&rng) % 40, k;
        do
            g_mask = (unsigned)(xorshift(&rng) % (1u << NREPS));
        while (g_mask == 0);
        for (k = 0; k < len && done < total; k++, done++) {
            char id[32];
            int want, got, at = 0;
            while (!((g_mask >> line[at]) & 1))
                at++;
            want = line[at];
            memmove(line + at, line + at + 1, sizeof *line * (size_t)(NREPS - 1 - at));
            line[NREPS - 1] = want;
            snprintf(id, sizeof id, "L%zu", done);
            route_kind(r, id, 0, d);
            if (leadroute_decision_status(d) != LEADROUTE_ROUTE_ASSIGNED)
                fail_msg("lead %zu not assigned: %s", done, leadroute_decision_reason(d));
            got = leadroute_decision_rep(d)[1] - '0';
            if (got != want)
                fail_msg("lead %zu (block %zu, mask 0x%x, last r%d): got r%d, round robin gives r%d", done, blocks,
                         g_mask, last, got, want);
            count[got]++;
            per_rep[got]++;
            last = got;
            ok(leadroute_router_close(r, id));   /* keeps the store small */
        }
        unsigned lo = UINT32_MAX, hi = 0;
        for (int i = 0; i < NREPS; i++) {
            if (!((g_mask >> i) & 1)) {
                assert_int_equal(count[i], 0);
                continue;
            }
            lo = count[i] < lo ? count[i] : lo;
            hi = count[i] > hi ? count[i] : hi;
        }
        if (hi - lo > 1)
            fail_msg("block %zu (mask 0x%x): counts among available reps differ by %u", blocks, g_mask, hi - lo);
        blocks++;
    }
    for (int i = 0; i < NREPS; i++)
        assert_int_equal(leadroute_router_rep_assigned(r, rep_ids[i]), per_rep[i]);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* Weighted, everyone available: shares within 0.5% of the weights. */
static void test_weighted_shares_many_leads(void **state)
{
    (void)state;
    const double weights[NREPS] = { 1, 2, 3, 4, 0.5, 7.5 };   /* sum 18 */
    leadroute_router *r = single_pool_router(LEADROUTE_STRATEGY_WEIGHTED, weights, "wt");
    leadroute_decision *d = NULL;
    size_t total = scaled(1000000), i;
    unsigned long long count[NREPS] = { 0 };
    ok(leadroute_decision_new(&d, NULL));
    for (i = 0; i < total; i++) {
        char id[32];
        leadroute_field f[1];
        leadroute_value v = LEADROUTE_VALUE_INIT;
        leadroute_lead lead = LEADROUTE_LEAD_INIT;
        snprintf(id, sizeof id, "W%zu", i);
        v.type = LEADROUTE_VALUE_STRING;
        v.string = "wt";
        f[0].name = "kind";
        f[0].value = v;
        lead.id = id;
        lead.fields = f;
        lead.field_count = 1;
        ok(leadroute_route(r, &lead, 0, d));
        assert_int_equal(leadroute_decision_status(d), LEADROUTE_ROUTE_ASSIGNED);
        count[leadroute_decision_rep(d)[1] - '0']++;
        ok(leadroute_router_close(r, id));
    }
    for (int k = 0; k < NREPS; k++) {
        double share = (double)count[k] / (double)total, want = weights[k] / 18.0;
        if (share < want * 0.995 || share > want * 1.005)
            fail_msg("r%d: share %.6f, weight share %.6f (%llu of %zu)", k, share, want, count[k], total);
        /* stride scheduling is far tighter: within 2 leads of the exact share */
        double exact = want * (double)total;
        if ((double)count[k] < exact - 2 || (double)count[k] > exact + 2)
            fail_msg("r%d: %llu leads, exact share %.1f", k, count[k], exact);
    }
    double spread = -1, jain = -1;
    ok(leadroute_router_pool_fairness(r, "wt", &spread, &jain));
    assert_true(jain > 0.9999);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* ---- rolling caps under threads ---------------------------------------------------- */

static int64_t fixed_clock(void *ud)
{
    (void)ud;
    return INT64_C(1772357400125);
}

/* Every rep is available, after a pause that lets the other threads reach
 * the same cap check before this one commits. */
static int slow_avail(void *ud, const char *rep_id, const leadroute_lead *lead, int64_t now_ms, uint32_t *verdict,
                      char *reason, size_t cap)
{
    (void)ud, (void)rep_id, (void)lead, (void)now_ms, (void)reason, (void)cap;
    struct timespec pause = { 0, 100 * 1000 };
    nanosleep(&pause, NULL);
    *verdict = LEADROUTE_AVAILABLE;
    return LEADROUTE_OK;
}

/* Every rep is available, after a pause of 0 to 300 microseconds, so the
 * routes of different threads read and commit in ever different orders. */
static int jitter_avail(void *ud, const char *rep_id, const leadroute_lead *lead, int64_t now_ms, uint32_t *verdict,
                        char *reason, size_t cap)
{
    (void)ud, (void)rep_id, (void)lead, (void)now_ms, (void)reason, (void)cap;
    struct timespec pause = { 0, (long)(xorshift(&tl_rng) % 300) * 1000 };
    nanosleep(&pause, NULL);
    *verdict = LEADROUTE_AVAILABLE;
    return LEADROUTE_OK;
}

typedef struct caps_run {
    leadroute_router *r;
    int thread;
    int leads;
    atomic_int *assigned;
} caps_run;

static void *caps_worker(void *arg)
{
    caps_run *w = arg;
    leadroute_decision *d = NULL;
    tl_rng = 0x9E3779B97F4A7C15ull ^ (uint64_t)(w->thread + 1);
    ok(leadroute_decision_new(&d, NULL));
    for (int i = 0; i < w->leads; i++) {
        char id[32];
        leadroute_lead lead = LEADROUTE_LEAD_INIT;
        snprintf(id, sizeof id, "C%d-%d", w->thread, i);
        lead.id = id;
        ok(leadroute_route(w->r, &lead, 0, d));
        if (leadroute_decision_status(d) == LEADROUTE_ROUTE_ASSIGNED)
            atomic_fetch_add(w->assigned, 1);
    }
    leadroute_decision_free(d);
    return NULL;
}

/* A pool capped at 30 a day, two of its three reps at 10: four threads
 * route 20 leads each, every route pausing in the availability check, so
 * that without the caps' lock several would read 9 of 10 and all commit.
 * For each strategy the caps hold exactly. */
static void test_caps_hold_under_threads(void **state)
{
    (void)state;
    static const char *const strategies[] = { "round_robin", "weighted", "least_loaded" };
    for (size_t s = 0; s < sizeof strategies / sizeof *strategies; s++) {
        char text[256];
        leadroute_roster *ro = NULL;
        leadroute_router *r = NULL;
        leadroute_availability av = { LEADROUTE_AVAILABILITY_VERSION, slow_avail };
        leadroute_clock clock = { LEADROUTE_CLOCK_VERSION, fixed_clock };
        atomic_int assigned = 0;
        pthread_t th[4];
        caps_run runs[4];
        int n = snprintf(text, sizeof text,
                         "#! pools\nid,strategy,cap_day\np,%s,30\n#! reps\nid,pools,cap_day\na,p,10\nb,p,10\nc,p,\n",
                         strategies[s]);
        ok(leadroute_roster_parse(&ro, text, (size_t)n, "caps.csv", NULL));
        leadroute_table *t = parse_text(HDR "r,-,,p,,,,\n");
        ok(leadroute_router_new(&r, t, ro, NULL));
        leadroute_table_unref(t);
        leadroute_roster_unref(ro);
        ok(leadroute_router_set_availability(r, &av, NULL));
        ok(leadroute_router_set_clock(r, &clock, NULL));
        for (int i = 0; i < 4; i++) {
            runs[i] = (caps_run){ r, i, 20, &assigned };
            assert_int_equal(pthread_create(&th[i], NULL, caps_worker, &runs[i]), 0);
        }
        for (int i = 0; i < 4; i++)
            pthread_join(th[i], NULL);
        assert_int_equal(atomic_load(&assigned), 30);
        assert_int_equal(leadroute_router_rep_assigned(r, "a"), 10);
        assert_int_equal(leadroute_router_rep_assigned(r, "b"), 10);
        assert_int_equal(leadroute_router_rep_assigned(r, "c"), 10);
        assert_int_equal(leadroute_router_unrouted(r, LEADROUTE_UNROUTED_EMPTY), 50);
        leadroute_router_free(r);
    }
}

/* The in-memory store, with a pause before each commit: a host's store
 * whose commit travels to a database, where another host's commit may land
 * first. */
static int slow_commit(void *ud, const leadroute_commit *cm, char *owner, size_t cap)
{
    struct timespec pause = { 0, (long)(xorshift(&tl_rng) % 600) * 1000 };
    nanosleep(&pause, NULL);
    return lr__memstore_methods.commit(ud, cm, owner, cap);
}

/* Least loaded with four threads and no caps: every route pauses for a
 * while in the availability check of each member, between reading the open
 * counts and committing, so without the commit's check of the picked rep's
 * count two routes would often give the same least loaded rep a lead. With
 * it every commit goes to a rep that was least loaded when it committed, so
 * 120 leads over three reps land exactly 40 each: with one router, and with
 * two routers (two threads each) sharing one store whose commits take a
 * while, as two hosts would: the check is the store's, in its commit. */
static void test_least_loaded_exact_under_threads(void **state)
{
    (void)state;
    static const char text[] = "#! pools\nid,strategy\np,least_loaded\n#! reps\nid,pools\na,p\nb,p\nc,p\n";
    for (int routers = 1; routers <= 2; routers++) {
        leadroute_roster *ro = NULL;
        leadroute_router *r[2] = { NULL, NULL };
        lr__memstore *shared = NULL;
        leadroute_store slow = lr__memstore_methods;
        leadroute_availability av = { LEADROUTE_AVAILABILITY_VERSION, jitter_avail };
        atomic_int assigned = 0;
        pthread_t th[4];
        caps_run runs[4];
        ok(leadroute_roster_parse(&ro, text, sizeof text - 1, "ll.csv", NULL));
        leadroute_table *t = parse_text(HDR "r,-,,p,,,,\n");
        if (routers == 2)
            ok(lr__memstore_new(&shared, NULL, NULL, NULL));
        for (int k = 0; k < routers; k++) {
            ok(leadroute_router_new(&r[k], t, ro, NULL));
            ok(leadroute_router_set_availability(r[k], &av, NULL));
            slow.commit = slow_commit;
            if (shared)
                ok(leadroute_router_set_store(r[k], &slow, shared));
        }
        leadroute_table_unref(t);
        leadroute_roster_unref(ro);
        for (int i = 0; i < 4; i++) {
            runs[i] = (caps_run){ r[i % routers], i, 30, &assigned };
            assert_int_equal(pthread_create(&th[i], NULL, caps_worker, &runs[i]), 0);
        }
        for (int i = 0; i < 4; i++)
            pthread_join(th[i], NULL);
        assert_int_equal(atomic_load(&assigned), 120);
        for (int k = 0; k < 3; k++) {
            const char rep[2] = { (char)('a' + k), 0 };
            uint64_t got = 0;
            for (int j = 0; j < routers; j++)
                got += leadroute_router_rep_assigned(r[j], rep);
            assert_int_equal(got, 40);
            if (shared) { /* and the store holds them all */
                uint32_t open = 0;
                ok(lr__memstore_methods.open_count(shared, rep, &open));
                assert_int_equal(open, 40);
            }
        }
        for (int k = 0; k < routers; k++)
            leadroute_router_free(r[k]);
        lr__memstore_free(shared);
    }
}

static int group_setup(void **state)
{
    (void)state;
    const char *s = getenv("LEADROUTE_DIFF_SCALE");
    if (s && *s) {
        char *end = NULL;
        double v = strtod(s, &end);
        if (end != s && v > 0 && v <= 100)
            g_scale = v;
        else
            fprintf(stderr, "ignoring LEADROUTE_DIFF_SCALE='%s'\n", s);
    }
    return 0;
}

/* ---- a retry holds no router lock while the host's notify runs ------------- */

typedef struct slow_notify {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int failing;      /* notify fails (the notification stays pending) */
    int entered;      /* the retry is inside notify for lead "old" */
    int released;     /* the main thread let it go on */
    int timed_out;    /* it waited 5 s in vain: the main thread was blocked */
} slow_notify;

static int slow_assigned(void *ud, const leadroute_assignment *a)
{
    slow_notify *n = ud;
    struct timespec until;
    int rc = LEADROUTE_OK;
    pthread_mutex_lock(&n->lock);
    if (n->failing) {
        rc = LEADROUTE_EIO;
    } else if (strcmp(a->lead_id, "old") == 0) {
        n->entered = 1;
        pthread_cond_broadcast(&n->cond);
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 5;
        while (!n->released && !n->timed_out)
            if (pthread_cond_timedwait(&n->cond, &n->lock, &until) != 0)
                n->timed_out = 1;
    }
    pthread_mutex_unlock(&n->lock);
    return rc;
}

/* One notification retry; non-NULL when it delivered exactly one. */
static void *retry_worker(void *arg)
{
    leadroute_router *r = arg;
    size_t delivered = 0;
    int rc = leadroute_router_retry_notifications(r, &delivered);
    return (void *)(intptr_t)(rc == LEADROUTE_OK && delivered == 1);
}

/* While one thread's retry waits in the host's notify, another routes a lead
 * (whose notify succeeds, which looks at the pending list) and reads the
 * pending list: neither waits for the retry. Held across the call, the
 * router's lock would make them wait until notify returned, and deadlock a
 * host whose notify takes a lock the waiting thread holds. */
static void test_retry_holds_no_lock_in_notify(void **state)
{
    (void)state;
    slow_notify n;
    memset(&n, 0, sizeof n);
    pthread_mutex_init(&n.lock, NULL);
    pthread_cond_init(&n.cond, NULL);
    leadroute_router *r = single_pool_router(LEADROUTE_STRATEGY_ROUND_ROBIN, NULL, "rr");
    leadroute_notify nv = { LEADROUTE_NOTIFY_VERSION, slow_assigned };
    ok(leadroute_router_set_notify(r, &nv, &n));
    leadroute_decision *d = NULL;
    ok(leadroute_decision_new(&d, NULL));
    n.failing = 1;
    route_kind(r, "old", 0, d);
    assert_int_equal(leadroute_router_pending_count(r), 1);
    n.failing = 0;

    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, retry_worker, r), 0);
    pthread_mutex_lock(&n.lock);
    while (!n.entered)
        pthread_cond_wait(&n.cond, &n.lock);
    pthread_mutex_unlock(&n.lock);
    /* the retry is inside notify now */
    size_t pending = leadroute_router_pending_count(r);
    route_kind(r, "new", 0, d);
    char key[64], rep[64];
    int got = leadroute_router_pending(r, 0, key, sizeof key, rep, sizeof rep);
    pthread_mutex_lock(&n.lock);
    int waited = n.timed_out;
    n.released = 1;
    pthread_cond_broadcast(&n.cond);
    pthread_mutex_unlock(&n.lock);
    void *delivered_one = NULL;
    pthread_join(th, &delivered_one);
    if (waited)
        fail_msg("the main thread waited for the retry's notify to return");
    assert_int_equal(pending, 1);  /* in flight, still pending */
    assert_int_equal(got, LEADROUTE_OK);
    assert_int_equal(leadroute_decision_status(d), LEADROUTE_ROUTE_ASSIGNED);
    assert_true(delivered_one != NULL);
    assert_int_equal(leadroute_router_pending_count(r), 0);
    leadroute_decision_free(d);
    leadroute_router_free(r);
    pthread_cond_destroy(&n.cond);
    pthread_mutex_destroy(&n.lock);
}

/* ---- one lead's notifications reach the host in order, whatever the retries -- */

typedef struct gate_store {
    lr__memstore *m;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int armed;      /* the next find_claim waits until released */
    int waiting, released;
} gate_store;

static gate_store g_gate;

static int gate_find_claim(void *ud, const char *key, char *rep_id, size_t cap)
{
    gate_store *g = ud;
    pthread_mutex_lock(&g->lock);
    if (g->armed) {
        g->armed = 0;
        g->waiting = 1;
        pthread_cond_broadcast(&g->cond);
        while (!g->released)
            pthread_cond_wait(&g->cond, &g->lock);
    }
    pthread_mutex_unlock(&g->lock);
    return lr__memstore_methods.find_claim(g->m, key, rep_id, cap);
}

static int gate_load_pool(void *ud, const char *id, void *buf, size_t cap, size_t *len, uint64_t *ver)
{
    return lr__memstore_methods.load_pool(((gate_store *)ud)->m, id, buf, cap, len, ver);
}

static int gate_open_count(void *ud, const char *id, uint32_t *n)
{
    return lr__memstore_methods.open_count(((gate_store *)ud)->m, id, n);
}

static int gate_commit(void *ud, const leadroute_commit *c, char *owner, size_t cap)
{
    return lr__memstore_methods.commit(((gate_store *)ud)->m, c, owner, cap);
}

static int gate_close(void *ud, const char *key)
{
    return lr__memstore_methods.close(((gate_store *)ud)->m, key);
}

static const leadroute_store GATE_STORE = { LEADROUTE_STORE_VERSION, gate_load_pool, gate_find_claim, gate_open_count,
                                            gate_commit, gate_close, NULL, NULL, NULL };

typedef struct order_log {
    pthread_mutex_t lock;
    int failing;
    char last[64];  /* rep of the last notification delivered for lead X */
    int count;
} order_log;

static int order_notify(void *ud, const leadroute_assignment *a)
{
    order_log *o = ud;
    int rc = LEADROUTE_OK;
    pthread_mutex_lock(&o->lock);
    if (o->failing) {
        rc = LEADROUTE_EIO;
    } else {
        snprintf(o->last, sizeof o->last, "%s", a->rep_id);
        o->count++;
    }
    pthread_mutex_unlock(&o->lock);
    return rc;
}

/* A retry waits in find_claim for lead X's old notification (X with r0)
 * while X is reassigned to r1 with notify failing, and another retry runs:
 * that one must leave X's new notification alone while the old one is in
 * flight, and the first retry then drops the old one as superseded. The
 * host hears of X once, with r1: never r0 after r1. */
static void test_retries_keep_a_leads_order(void **state)
{
    (void)state;
    order_log o;
    memset(&o, 0, sizeof o);
    pthread_mutex_init(&o.lock, NULL);
    memset(&g_gate, 0, sizeof g_gate);
    pthread_mutex_init(&g_gate.lock, NULL);
    pthread_cond_init(&g_gate.cond, NULL);
    ok(lr__memstore_new(&g_gate.m, NULL, NULL, NULL));
    leadroute_router *r = single_pool_router(LEADROUTE_STRATEGY_ROUND_ROBIN, NULL, "rr");
    ok(leadroute_router_set_store(r, &GATE_STORE, &g_gate));
    leadroute_notify nv = { LEADROUTE_NOTIFY_VERSION, order_notify };
    ok(leadroute_router_set_notify(r, &nv, &o));
    leadroute_decision *d = NULL;
    ok(leadroute_decision_new(&d, NULL));

    o.failing = 1;
    route_kind(r, "X", 0, d);
    assert_string_equal(leadroute_decision_rep(d), "r0");
    o.failing = 0;
    g_gate.armed = 1;
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, retry_worker, r), 0); /* its answer does not matter here */
    pthread_mutex_lock(&g_gate.lock);
    while (!g_gate.waiting)
        pthread_cond_wait(&g_gate.cond, &g_gate.lock);
    pthread_mutex_unlock(&g_gate.lock);

    /* X moves to r1; its notification fails too */
    o.failing = 1;
    route_kind(r, "X", LEADROUTE_ROUTE_REASSIGN, d);
    assert_string_equal(leadroute_decision_rep(d), "r1");
    assert_int_equal(leadroute_router_pending_count(r), 2);
    o.failing = 0;
    size_t delivered = 9;
    /* X's old notification is in flight: the new one waits */
    assert_int_equal(leadroute_router_retry_notifications(r, &delivered), LEADROUTE_ECALLBACK);
    assert_int_equal(delivered, 0);
    assert_int_equal(o.count, 0);

    pthread_mutex_lock(&g_gate.lock);
    g_gate.released = 1;
    pthread_cond_broadcast(&g_gate.cond);
    pthread_mutex_unlock(&g_gate.lock);
    pthread_join(th, NULL);
    ok(leadroute_router_retry_notifications(r, &delivered));
    assert_int_equal(o.count, 1);
    assert_string_equal(o.last, "r1");
    assert_int_equal(leadroute_router_pending_count(r), 0);

    leadroute_decision_free(d);
    leadroute_router_free(r);
    lr__memstore_free(g_gate.m);
    pthread_cond_destroy(&g_gate.cond);
    pthread_mutex_destroy(&g_gate.lock);
    pthread_mutex_destroy(&o.lock);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_route_and_swap),
        cmocka_unit_test(test_round_robin_exact_random_availability),
        cmocka_unit_test(test_weighted_shares_many_leads),
        cmocka_unit_test(test_caps_hold_under_threads),
        cmocka_unit_test(test_least_loaded_exact_under_threads),
        cmocka_unit_test(test_retry_holds_no_lock_in_notify),
        cmocka_unit_test(test_retries_keep_a_leads_order),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
