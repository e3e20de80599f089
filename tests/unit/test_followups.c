/* The router's follow-up paths, each a case a slip there would change:
 * notifications kept for a retry and what they tell, retries racing a
 * newer notification of their lead (on another thread, held at a gate),
 * the pending list read in order, a fork's settings, the order and the
 * accounting of a tick's moves, a host store's failures and broken
 * contracts, and rule hits kept across swaps. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <pthread.h>

#include "leadroute/leadroute.h"
#include "testutil.h"

#define T0 INT64_C(1772357400000)
#define MIN_MS INT64_C(60000)

static void ok(int rc)
{
    if (rc != LEADROUTE_OK)
        fail_msg("call failed (%d): %s", rc, leadroute_error_last()->message);
}


/* ---- a gate: the next armed callback waits, on its thread, until released ---- */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int armed_find, armed_notify, waiting, released;
} g_gate = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0 };

static void gate_wait_locked(void)
{
    g_gate.waiting = 1;
    pthread_cond_broadcast(&g_gate.cond);
    while (!g_gate.released)
        pthread_cond_wait(&g_gate.cond, &g_gate.lock);
}

static void gate_until_waiting(void)
{
    pthread_mutex_lock(&g_gate.lock);
    while (!g_gate.waiting)
        pthread_cond_wait(&g_gate.cond, &g_gate.lock);
    pthread_mutex_unlock(&g_gate.lock);
}

static void gate_release(void)
{
    pthread_mutex_lock(&g_gate.lock);
    g_gate.released = 1;
    pthread_cond_broadcast(&g_gate.cond);
    pthread_mutex_unlock(&g_gate.lock);
}

static void gate_reset(void)
{
    g_gate.armed_find = g_gate.armed_notify = g_gate.waiting = g_gate.released = 0;
}

/* notify: records, or fails while `failing` */
typedef struct rec {
    int failing, n;
    struct {
        char key[64], rep[48], prev[48];
        int has_prev, escalated;
        uint32_t hops;
        double sla, value;
        int64_t deadline;
        uint64_t hash;
    } v[64];
} rec;

static int rec_assigned(void *ud, const leadroute_assignment *a)
{
    rec *r = ud;
    pthread_mutex_lock(&g_gate.lock);
    if (g_gate.armed_notify) { /* waits, then fails */
        g_gate.armed_notify = 0;
        gate_wait_locked();
        pthread_mutex_unlock(&g_gate.lock);
        return LEADROUTE_EIO;
    }
    pthread_mutex_unlock(&g_gate.lock);
    if (r->failing)
        return LEADROUTE_EIO;
    assert_true(r->n < 64);
    snprintf(r->v[r->n].key, sizeof r->v[r->n].key, "%s", a->key + 5);
    snprintf(r->v[r->n].rep, sizeof r->v[r->n].rep, "%s", a->rep_id);
    r->v[r->n].has_prev = a->previous != NULL;
    snprintf(r->v[r->n].prev, sizeof r->v[r->n].prev, "%s", a->previous ? a->previous : "");
    r->v[r->n].escalated = a->escalated;
    r->v[r->n].hops = a->hops;
    r->v[r->n].sla = a->sla_minutes;
    r->v[r->n].value = a->value;
    r->v[r->n].deadline = a->deadline_ms;
    r->v[r->n].hash = a->table_hash;
    r->n++;
    return LEADROUTE_OK;
}
static const leadroute_notify REC_NOTIFY = { LEADROUTE_NOTIFY_VERSION, rec_assigned };

static int64_t g_now = T0;
static int64_t clock_now(void *ud)
{
    (void)ud;
    return g_now;
}
static const leadroute_clock SIM_CLOCK = { LEADROUTE_CLOCK_VERSION, clock_now };

/* pool p (round robin, sla 10 min, max_hops `hops`, escalating to pool mgr) with reps a,b,c; mgr with m */
static leadroute_roster *roster_pm(uint32_t hops)
{
    static const char *const in_p[] = { "p" }, *const in_mgr[] = { "mgr" };
    leadroute_rep reps[4];
    leadroute_pool pools[2] = { LEADROUTE_POOL_INIT, LEADROUTE_POOL_INIT };
    const char *ids[4] = { "a", "b", "c", "m" };
    leadroute_roster *ro = NULL;
    int i;
    for (i = 0; i < 4; i++) {
        leadroute_rep r = LEADROUTE_REP_INIT;
        r.id = ids[i];
        r.pools = i < 3 ? in_p : in_mgr;
        r.pool_count = 1;
        reps[i] = r;
    }
    pools[0].id = "p";
    pools[0].sla_minutes = 10;
    pools[0].max_hops = hops;
    pools[0].escalation_pool = "mgr";
    pools[1].id = "mgr";
    ok(leadroute_roster_new(&ro, reps, 4, pools, 2, NULL));
    return ro;
}

static leadroute_router *router_with(const char *csv, leadroute_roster *ro, const leadroute_router_options *o,
                                     rec *rc)
{
    leadroute_table *t = parse_ok(csv);
    leadroute_router *r = NULL;
    ok(leadroute_router_new(&r, t, ro, o));
    ok(leadroute_router_set_clock(r, &SIM_CLOCK, NULL));
    if (rc)
        ok(leadroute_router_set_notify(r, &REC_NOTIFY, rc));
    leadroute_table_unref(t);
    leadroute_roster_unref(ro);
    return r;
}

static const char *route_id(leadroute_router *r, leadroute_decision *d, const char *id, uint32_t flags)
{
    tlead l;
    tl_init(&l);
    l.lead.id = id;
    tl_num(&l, "deal_value", 1234);
    ok(leadroute_route(r, &l.lead, flags, d));
    return leadroute_decision_rep(d);
}

#define ALL_TO_P "rule,out:pool\nall,p\n"

/* a notification kept for a retry tells what the failed one would have told */
static void test_retry_keeps_escalation_fields(void **state)
{
    rec rc;
    leadroute_router *r;
    leadroute_decision *d = NULL;
    leadroute_tick_stats st = LEADROUTE_TICK_STATS_INIT;
    size_t delivered = 0;
    (void)state;
    memset(&rc, 0, sizeof rc);
    g_now = T0;
    r = router_with(ALL_TO_P, roster_pm(0), NULL, &rc);
    ok(leadroute_decision_new(&d, NULL));
    assert_string_equal(route_id(r, d, "E1", 0), "a");
    assert_int_equal(rc.n, 1);
    rc.failing = 1;
    g_now = T0 + 10 * MIN_MS;
    ok(leadroute_router_tick(r, g_now, NULL, NULL, &st));
    assert_int_equal(st.escalated, 1);
    assert_int_equal(leadroute_router_pending_count(r), 1);
    rc.failing = 0;
    ok(leadroute_router_retry_notifications(r, &delivered));
    assert_int_equal(delivered, 1);
    assert_int_equal(rc.n, 2);
    assert_string_equal(rc.v[1].rep, "m");
    assert_int_equal(rc.v[1].escalated, 1);            /* */
    assert_true(rc.v[1].sla == 10);                     /* */
    assert_true(rc.v[1].value == 1234);                 /* */
    assert_true(rc.v[1].hash == rc.v[0].hash && rc.v[0].hash != 0); /* */
    assert_int_equal(rc.v[1].deadline, T0 + 20 * MIN_MS);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* three leads whose notifications failed: X, Y, Z pending in that order */
static leadroute_router *three_pending(rec *rc, leadroute_decision **d)
{
    leadroute_router *r;
    memset(rc, 0, sizeof *rc);
    g_now = T0;
    r = router_with(ALL_TO_P, roster_pm(2), NULL, rc);
    ok(leadroute_decision_new(d, NULL));
    rc->failing = 1;
    route_id(r, *d, "X", 0);
    route_id(r, *d, "Y", 0);
    route_id(r, *d, "Z", 0);
    rc->failing = 0;
    assert_int_equal(leadroute_router_pending_count(r), 3);
    return r;
}

/* a notification delivered outside a retry drops the pending one of its lead; reading the
 * list by index afterwards gives the entries as they are now */
static void test_pending_index_after_supersede(void **state)
{
    rec rc;
    leadroute_decision *d = NULL;
    leadroute_router *r = three_pending(&rc, &d);
    char key[32], rep[32];
    (void)state;
    ok(leadroute_router_pending(r, 1, key, sizeof key, rep, sizeof rep));
    assert_string_equal(key, "Y");
    route_id(r, d, "X", LEADROUTE_ROUTE_REASSIGN); /* notified: X's pending one goes */
    assert_int_equal(rc.n, 1);
    assert_int_equal(leadroute_router_pending_count(r), 2);
    ok(leadroute_router_pending(r, 1, key, sizeof key, rep, sizeof rep));
    assert_string_equal(key, "Z");
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* reading the pending list in order */
static void test_pending_in_order(void **state)
{
    rec rc;
    leadroute_decision *d = NULL;
    leadroute_router *r = three_pending(&rc, &d);
    char key[32], rep[32];
    (void)state;
    ok(leadroute_router_pending(r, 0, key, sizeof key, rep, sizeof rep));
    assert_string_equal(key, "X");
    ok(leadroute_router_pending(r, 1, key, sizeof key, rep, sizeof rep));
    assert_string_equal(key, "Y");
    ok(leadroute_router_pending(r, 2, key, sizeof key, rep, sizeof rep));
    assert_string_equal(key, "Z");
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

typedef struct sstore sstore; /* a scripted host store, below */
static leadroute_router *scripted_router(sstore *s, const leadroute_router_options *o, rec *rc);

/* A router (over the scripted store `s`, else the built-in one) whose
 * notification of lead `key` to "a" failed and waits in the pending list;
 * notify still fails (rc->failing) until the caller clears it. */
static leadroute_router *pending_one(rec *rc, sstore *s, leadroute_decision **d, const char *key)
{
    leadroute_router *r;
    memset(rc, 0, sizeof *rc);
    g_now = T0;
    r = s ? scripted_router(s, NULL, rc) : router_with(ALL_TO_P, roster_pm(2), NULL, rc);
    ok(leadroute_decision_new(d, NULL));
    rc->failing = 1;
    assert_string_equal(route_id(r, *d, key, 0), "a");
    assert_int_equal(leadroute_router_pending_count(r), 1);
    return r;
}

/* a lead closed since is still notified (nothing superseded it) */
static void test_retry_closed_lead_delivered(void **state)
{
    rec rc;
    leadroute_router *r;
    leadroute_decision *d = NULL;
    size_t delivered = 0;
    (void)state;
    r = pending_one(&rc, NULL, &d, "C1");
    rc.failing = 0;
    ok(leadroute_router_close(r, "C1"));
    ok(leadroute_router_retry_notifications(r, &delivered));
    assert_int_equal(delivered, 1);
    assert_int_equal(rc.n, 1);
    assert_string_equal(rc.v[0].rep, "a");
    assert_int_equal(leadroute_router_pending_count(r), 0);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* with no notify set, a retry delivers nothing and says the notification still waits */
static void test_retry_without_notify(void **state)
{
    rec rc;
    leadroute_router *r;
    leadroute_decision *d = NULL;
    size_t delivered = 9;
    (void)state;
    r = pending_one(&rc, NULL, &d, "W1");
    ok(leadroute_router_set_notify(r, NULL, NULL));
    assert_int_equal(leadroute_router_retry_notifications(r, &delivered), LEADROUTE_ECALLBACK);
    assert_int_equal(delivered, 0);
    assert_int_equal(leadroute_router_pending_count(r), 1);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* a pending notification whose lead the store shows with another rep now is dropped */
static void test_retry_drops_moved_lead(void **state)
{
    rec rc;
    leadroute_router *r;
    leadroute_decision *d = NULL;
    size_t delivered = 9;
    (void)state;
    r = pending_one(&rc, NULL, &d, "M1");
    ok(leadroute_router_set_notify(r, NULL, NULL)); /* moved without a notification here */
    assert_string_equal(route_id(r, d, "M1", LEADROUTE_ROUTE_REASSIGN), "b");
    rc.failing = 0;
    ok(leadroute_router_set_notify(r, &REC_NOTIFY, &rc));
    ok(leadroute_router_retry_notifications(r, &delivered));
    assert_int_equal(delivered, 0);
    assert_int_equal(rc.n, 0);
    assert_int_equal(leadroute_router_pending_count(r), 0);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* ---- forks keep the parent's options and callbacks ---- */

typedef struct avail {
    const char *away;
} avail;

static int avail_check(void *ud, const char *rep_id, const leadroute_lead *lead, int64_t now, uint32_t *verdict,
                       char *reason, size_t cap)
{
    const avail *a = ud;
    (void)lead, (void)now, (void)reason, (void)cap;
    if (!a)
        return LEADROUTE_EIO;
    *verdict = strcmp(rep_id, a->away) == 0 ? LEADROUTE_AWAY : LEADROUTE_AVAILABLE;
    return LEADROUTE_OK;
}
static const leadroute_availability AVAIL = { LEADROUTE_AVAILABILITY_VERSION, avail_check };

/* a fork asks the parent's availability callback, with the parent's user data */
static void test_fork_keeps_availability(void **state)
{
    leadroute_router *r, *f = NULL;
    leadroute_decision *d = NULL;
    avail av = { "a" };
    (void)state;
    g_now = T0;
    r = router_with(ALL_TO_P, roster_pm(2), NULL, NULL);
    ok(leadroute_router_set_availability(r, &AVAIL, &av));
    ok(leadroute_decision_new(&d, NULL));
    ok(leadroute_router_fork(&f, r));
    assert_string_equal(route_id(f, d, "V1", 0), "b");
    assert_string_equal(route_id(r, d, "V1", 0), "b");
    leadroute_decision_free(d);
    leadroute_router_free(f);
    leadroute_router_free(r);
}

/* a fork reads the outputs and fields its parent was told to */
static void test_fork_keeps_option_names(void **state)
{
    static const char *const in_p[] = { "p" };
    leadroute_router_options o = LEADROUTE_ROUTER_OPTIONS_INIT;
    leadroute_rep reps[2] = { LEADROUTE_REP_INIT, LEADROUTE_REP_INIT };
    leadroute_pool pool = LEADROUTE_POOL_INIT;
    leadroute_roster *ro = NULL;
    leadroute_router *r, *f = NULL;
    leadroute_decision *d = NULL;
    leadroute_latency_stats lat = LEADROUTE_LATENCY_STATS_INIT;
    tlead l;
    (void)state;
    reps[0].id = "a", reps[1].id = "b";
    reps[0].pools = reps[1].pools = in_p;
    reps[0].pool_count = reps[1].pool_count = 1;
    pool.id = "p";
    pool.owner_first = 1;
    pool.sla_minutes = 10;
    ok(leadroute_roster_new(&ro, reps, 2, &pool, 1, NULL));
    o.sla_output = "follow";
    o.tags_output = "labels";
    o.captured_field = "created";
    o.account_field = "mail";
    g_now = T0;
    r = router_with("rule,out:pool,out:follow:number,out:labels\nall,p,30,hot\n", ro, &o, NULL);
    ok(leadroute_decision_new(&d, NULL));
    ok(leadroute_router_fork(&f, r));
    tl_init(&l);
    l.lead.id = "O1";
    tl_str(&l, "mail", "x@acme.example");
    tl_str(&l, "created", "2026-03-01T09:00:00Z");
    ok(leadroute_route(f, &l.lead, 0, d));
    assert_string_equal(leadroute_decision_rep(d), "a");
    assert_true(leadroute_decision_sla_minutes(d) == 30);               /* */
    assert_non_null(leadroute_decision_tags(d));                          /* */
    assert_string_equal(leadroute_decision_tags(d), "hot");
    ok(leadroute_router_latency(f, NULL, NULL, LEADROUTE_LATENCY_CAPTURE_TO_ASSIGN, &lat));
    assert_int_equal(lat.count, 1);                                       /* */
    tl_init(&l);
    l.lead.id = "O2";
    tl_str(&l, "mail", "y@acme.example");
    ok(leadroute_route(f, &l.lead, 0, d));
    assert_string_equal(leadroute_decision_rep(d), "a");                  /* the account's owner */
    leadroute_decision_free(d);
    leadroute_router_free(f);
    leadroute_router_free(r);
}

/* ---- a scripted host store: claims in an array, list_due in array order ---- */

#define SS_MAX 8
typedef struct ss_claim {
    char key[64], rep[32], pool[32], lead_id[32];
    int64_t deadline, at;
    uint32_t hops;
    double value, sla;
    const char *hist[4];
    size_t nhist;
    int live;
    uint32_t version; /* 0: LEADROUTE_ASSIGNMENT_VERSION */
} ss_claim;

struct sstore {
    ss_claim c[SS_MAX];
    int n;
    int commits, find_claims;
    int bump_version; /* every load_pool sees a newer version: another host writes the pool */
    uint64_t version;
    int ignore_stop; /* goes on listing after `each` said stop (breaks the contract) */
    int conflict_close; /* 1: commits conflict, the first one closes the lead (another host did); 2: conflict */
    int garbage_holder; /* find_claim fills the buffer without a NUL */
    int fail_gated_find; /* the gated find_claim fails */
    int commit_nomem;   /* commit fails with LEADROUTE_ENOMEM */
};

static ss_claim *ss_find(sstore *s, const char *key)
{
    int i;
    for (i = 0; i < s->n; i++)
        if (s->c[i].live && strcmp(s->c[i].key, key) == 0)
            return &s->c[i];
    return NULL;
}

static int ss_load_pool(void *ud, const char *id, void *buf, size_t cap, size_t *len, uint64_t *ver)
{
    sstore *s = ud;
    (void)id, (void)buf, (void)cap;
    *len = 0;
    *ver = s->bump_version ? ++s->version : 0;
    return LEADROUTE_OK;
}

static int ss_find_claim(void *ud, const char *key, char *rep, size_t cap)
{
    sstore *s = ud;
    ss_claim *c;
    int rc = LEADROUTE_OK;
    pthread_mutex_lock(&g_gate.lock);
    c = ss_find(s, key);
    s->find_claims++;
    if (!c)
        rc = LEADROUTE_ENOTFOUND;
    else if (s->garbage_holder)
        memset(rep, 'x', cap);
    else
        snprintf(rep, cap, "%s", c->rep);
    if (g_gate.armed_find) { /* read, then paused: the answer is as of before the wait */
        g_gate.armed_find = 0;
        gate_wait_locked();
        if (s->fail_gated_find)
            rc = LEADROUTE_EIO;
    }
    pthread_mutex_unlock(&g_gate.lock);
    return rc;
}

static int ss_open_count(void *ud, const char *rep, uint32_t *n)
{
    sstore *s = ud;
    int i;
    *n = 0;
    for (i = 0; i < s->n; i++)
        if (s->c[i].live && strncmp(s->c[i].key, "lead:", 5) == 0 && strcmp(s->c[i].rep, rep) == 0)
            (*n)++;
    return LEADROUTE_OK;
}

static ss_claim *ss_add(sstore *s, const char *key, const char *rep, const char *pool, int64_t deadline)
{
    ss_claim *c;
    assert_true(s->n < SS_MAX);
    c = &s->c[s->n++];
    memset(c, 0, sizeof *c);
    snprintf(c->key, sizeof c->key, "%s", key);
    snprintf(c->rep, sizeof c->rep, "%s", rep);
    snprintf(c->pool, sizeof c->pool, "%s", pool ? pool : "");
    snprintf(c->lead_id, sizeof c->lead_id, "%s", strncmp(key, "lead:", 5) == 0 ? key + 5 : key);
    c->deadline = deadline;
    c->sla = 10;
    c->live = 1;
    return c;
}

static int ss_commit(void *ud, const leadroute_commit *cm, char *owner, size_t cap)
{
    sstore *s = ud;
    const leadroute_assignment *a = cm->assignment;
    ss_claim *c = ss_find(s, a->key);
    s->commits++;
    if (s->commit_nomem)
        return LEADROUTE_ENOMEM;
    if (s->conflict_close) {
        if (c && s->conflict_close == 1)
            c->live = 0;
        return LEADROUTE_ECONFLICT;
    }
    if ((cm->flags & LEADROUTE_COMMIT_FOLLOW_UP) || a->previous) {
        if (!c || !a->previous || strcmp(c->rep, a->previous) != 0) {
            snprintf(owner, cap, "%s", c ? c->rep : "");
            return LEADROUTE_EEXISTS;
        }
    } else if (c) {
        snprintf(owner, cap, "%s", c->rep);
        return LEADROUTE_EEXISTS;
    } else {
        c = ss_add(s, a->key, a->rep_id, a->pool_id, 0);
    }
    snprintf(c->rep, sizeof c->rep, "%s", a->rep_id);
    snprintf(c->pool, sizeof c->pool, "%s", a->pool_id ? a->pool_id : "");
    c->deadline = a->deadline_ms;
    c->at = a->at_ms;
    c->hops = a->hops;
    c->value = a->value;
    c->sla = a->sla_minutes;
    c->nhist = 0;
    return LEADROUTE_OK;
}

static int ss_close(void *ud, const char *key)
{
    ss_claim *c = ss_find(ud, key);
    if (!c)
        return LEADROUTE_ENOTFOUND;
    c->live = 0;
    return LEADROUTE_OK;
}

static int ss_list_due(void *ud, int64_t now, int (*each)(void *ctx, const leadroute_assignment *a), void *ctx)
{
    sstore *s = ud;
    int i, rc;
    for (i = 0; i < s->n; i++) {
        ss_claim *c = &s->c[i];
        leadroute_assignment a;
        if (!c->live || !c->deadline || c->deadline > now)
            continue;
        memset(&a, 0, sizeof a);
        a.version = c->version ? c->version : LEADROUTE_ASSIGNMENT_VERSION;
        a.key = c->key;
        a.lead_id = c->lead_id;
        a.rep_id = c->rep;
        a.pool_id = c->pool[0] ? c->pool : NULL;
        a.deadline_ms = c->deadline;
        a.at_ms = c->at;
        a.hops = c->hops;
        a.value = c->value;
        a.sla_minutes = c->sla;
        a.history = c->nhist ? c->hist : NULL;
        a.history_count = c->nhist;
        if ((rc = each(ctx, &a)) != 0 && !s->ignore_stop)
            return rc;
    }
    return LEADROUTE_OK;
}

static const leadroute_store SSTORE = { LEADROUTE_STORE_VERSION, ss_load_pool, ss_find_claim, ss_open_count,
                                        ss_commit, ss_close, NULL, NULL, ss_list_due };

/* A router over `s` (emptied first): every lead to pool p of roster_pm(2),
 * the clock at T0, notifications to `rc` (may be NULL). */
static leadroute_router *scripted_router(sstore *s, const leadroute_router_options *o, rec *rc)
{
    leadroute_router *r;
    memset(s, 0, sizeof *s);
    g_now = T0;
    r = router_with(ALL_TO_P, roster_pm(2), o, rc);
    ok(leadroute_router_set_store(r, &SSTORE, s));
    return r;
}

/* a NULL entry in a listed history is skipped, not a failed tick */
static void test_tick_history_with_null_entry(void **state)
{
    sstore s;
    leadroute_router *r;
    leadroute_tick_stats st = LEADROUTE_TICK_STATS_INIT;
    ss_claim *c;
    (void)state;
    r = scripted_router(&s, NULL, NULL);
    c = ss_add(&s, "lead:H1", "a", "p", T0 - 1);
    c->hist[0] = "a";
    c->hist[1] = NULL;
    c->nhist = 2;
    ok(leadroute_router_tick(r, T0, NULL, NULL, &st));
    assert_int_equal(st.due, 1);
    assert_int_equal(st.failed, 0);
    assert_int_equal(st.reassigned, 1);
    assert_string_equal(c->rep, "b");
    leadroute_router_free(r);
}

/* a tick takes the longest overdue first, then by key, whatever the store's order */
static void tick_order(int64_t d_first, int64_t d_second, const char *want_first)
{
    sstore s;
    rec rc;
    leadroute_router *r;
    leadroute_tick_stats st = LEADROUTE_TICK_STATS_INIT;
    memset(&rc, 0, sizeof rc);
    r = scripted_router(&s, NULL, &rc);
    ss_add(&s, "lead:B", "a", "p", d_first);  /* listed first */
    ss_add(&s, "lead:A", "a", "p", d_second);
    ok(leadroute_router_tick(r, T0, NULL, NULL, &st));
    assert_int_equal(st.reassigned, 2);
    assert_int_equal(rc.n, 2);
    assert_string_equal(rc.v[0].key, want_first);
    leadroute_router_free(r);
}

static void test_tick_order_two_leads(void **state)
{
    (void)state;
    tick_order(T0 - 1, T0 - 2, "A"); /* A is older */
    tick_order(T0 - 1, T0 - 1, "A"); /* the same deadline: by key */
}

/* only a lead's claim ("lead:" and a key) is moved; another key a store lists stays */
static void test_tick_leaves_other_keys(void **state)
{
    sstore s;
    rec rc;
    leadroute_router *r;
    leadroute_tick_stats st = LEADROUTE_TICK_STATS_INIT;
    (void)state;
    memset(&rc, 0, sizeof rc);
    r = scripted_router(&s, NULL, &rc);
    ss_add(&s, "account:acme.example", "a", "p", T0 - 1);
    ok(leadroute_router_tick(r, T0, NULL, NULL, &st));
    assert_int_equal(st.due, 1);
    assert_int_equal(st.kept, 1);
    assert_int_equal(st.reassigned, 0);
    assert_int_equal(s.commits, 0);
    assert_string_equal(s.c[0].rep, "a");
    assert_int_equal(rc.n, 0);
    leadroute_router_free(r);
}

/* a tick's move tells the hash of the table that assigned the lead, even after a swap */
static void test_tick_keeps_table_hash(void **state)
{
    rec rc;
    leadroute_router *r;
    leadroute_table *t2;
    leadroute_decision *d = NULL;
    leadroute_tick_stats st = LEADROUTE_TICK_STATS_INIT;
    (void)state;
    memset(&rc, 0, sizeof rc);
    g_now = T0;
    r = router_with(ALL_TO_P, roster_pm(2), NULL, &rc);
    ok(leadroute_decision_new(&d, NULL));
    route_id(r, d, "H1", 0);
    t2 = parse_ok("rule,out:pool\nother,p\n");
    assert_true(leadroute_table_hash(t2) != rc.v[0].hash);
    ok(leadroute_router_set_table(r, t2));
    leadroute_table_unref(t2);
    g_now = T0 + 10 * MIN_MS;
    ok(leadroute_router_tick(r, g_now, NULL, NULL, &st));
    assert_int_equal(st.reassigned, 1);
    assert_int_equal(rc.n, 2);
    assert_true(rc.v[1].hash == rc.v[0].hash);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

typedef struct retry_job {
    leadroute_router *r;
    int rc;
    size_t delivered;
} retry_job;

static void *retry_thread(void *arg)
{
    retry_job *j = arg;
    j->rc = leadroute_router_retry_notifications(j->r, &j->delivered);
    return NULL;
}

/* A retry held at a gate on another thread while the lead it notifies is
 * reassigned: lead `key` is routed to "a" with notify failing, then a
 * retry starts and waits in notify (`at_find` 0, the built-in store) or in
 * find_claim (`at_find` 1, the scripted store; `fail_find` makes that
 * find_claim fail), and the lead is reassigned to "b" meanwhile. The
 * retry is still held: retry_race_end() lets it finish. */
typedef struct retry_race {
    rec rc;
    sstore s;
    leadroute_router *r;
    leadroute_decision *d;
    retry_job j;
    pthread_t th;
} retry_race;

static void retry_race_begin(retry_race *x, const char *key, int at_find, int fail_find)
{
    memset(x, 0, sizeof *x);
    gate_reset();
    x->r = pending_one(&x->rc, at_find ? &x->s : NULL, &x->d, key);
    x->rc.failing = 0;
    x->s.fail_gated_find = fail_find;
    if (at_find)
        g_gate.armed_find = 1;
    else
        g_gate.armed_notify = 1;
    x->j.r = x->r;
    assert_int_equal(pthread_create(&x->th, NULL, retry_thread, &x->j), 0);
    gate_until_waiting();
    assert_string_equal(route_id(x->r, x->d, key, LEADROUTE_ROUTE_REASSIGN), "b");
    assert_int_equal(leadroute_decision_notified(x->d), 1);
}

static void retry_race_end(retry_race *x)
{
    gate_release();
    pthread_join(x->th, NULL);
}

static void retry_race_free(retry_race *x)
{
    leadroute_decision_free(x->d);
    leadroute_router_free(x->r);
}

/* a retry whose notify fails while the lead's newer notification is delivered (by a
 * reassignment on another thread) drops the old one: it is superseded, nothing is left pending */
static void test_retry_superseded_during_notify(void **state)
{
    retry_race x;
    (void)state;
    retry_race_begin(&x, "S1", 0, 0); /* the retry is in notify for S1 (to a) */
    retry_race_end(&x);
    assert_int_equal(leadroute_router_pending_count(x.r), 0);
    assert_int_equal(x.j.rc, LEADROUTE_OK);
    retry_race_free(&x);
}

/* a notification a retry is delivering when the host discards it leaves the list when notify
 * returns, though notify failed; a second discard finds nothing */
static void test_retry_discarded_during_notify(void **state)
{
    rec rc;
    leadroute_decision *d = NULL;
    retry_job j;
    pthread_t th;
    size_t n = 0;
    (void)state;
    gate_reset();
    leadroute_router *r = pending_one(&rc, NULL, &d, "D1");
    g_gate.armed_notify = 1;
    memset(&j, 0, sizeof j);
    j.r = r;
    assert_int_equal(pthread_create(&th, NULL, retry_thread, &j), 0);
    gate_until_waiting();
    ok(leadroute_router_pending_discard(r, "D1", &n));
    assert_int_equal(n, 1);
    assert_int_equal(leadroute_router_pending_discard(r, "D1", &n), LEADROUTE_ENOTFOUND);
    gate_release();
    pthread_join(th, NULL);
    assert_int_equal(j.rc, LEADROUTE_OK);
    assert_int_equal(j.delivered, 0);
    assert_int_equal(leadroute_router_pending_count(r), 0);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* a retry that read the holder before a reassignment delivered its own notification does
 * not deliver the old one after it: the host last hears of the new holder */
static void test_retry_superseded_during_find_claim(void **state)
{
    retry_race x;
    (void)state;
    retry_race_begin(&x, "S2", 1, 0); /* the retry read "a" as S2's holder */
    retry_race_end(&x);
    assert_int_equal(x.j.delivered, 0);
    assert_int_equal(x.rc.n, 1);
    assert_string_equal(x.rc.v[x.rc.n - 1].rep, "b");
    assert_int_equal(leadroute_router_pending_count(x.r), 0);
    retry_race_free(&x);
}

/* A tick whose one move conflicts on every attempt (max_retries 1):
 * `conflict_close` 1 closes the lead at the first conflict (another host
 * did), 2 only conflicts; `garbage_holder` as in sstore. */
static leadroute_tick_stats conflicted_tick(int conflict_close, int garbage_holder)
{
    sstore s;
    leadroute_router *r;
    leadroute_router_options o = LEADROUTE_ROUTER_OPTIONS_INIT;
    leadroute_tick_stats st = LEADROUTE_TICK_STATS_INIT;
    o.max_retries = 1;
    r = scripted_router(&s, &o, NULL);
    ss_add(&s, "lead:Q1", "a", "p", T0 - 1);
    s.conflict_close = conflict_close;
    s.garbage_holder = garbage_holder;
    ok(leadroute_router_tick(r, T0, NULL, NULL, &st));
    assert_int_equal(st.due, 1);
    leadroute_router_free(r);
    return st;
}

/* a move that conflicted all along, of a lead closed meanwhile, is raced, not failed */
static void test_tick_conflicts_then_closed_is_raced(void **state)
{
    leadroute_tick_stats st = conflicted_tick(1, 0);
    (void)state;
    assert_int_equal(st.raced, 1);
    assert_int_equal(st.failed, 0);
}

/* a fork gives up after as many conflicts as its parent */
static void test_fork_keeps_max_retries(void **state)
{
    sstore s;
    leadroute_router *r, *f = NULL;
    leadroute_router_options o = LEADROUTE_ROUTER_OPTIONS_INIT;
    leadroute_decision *d = NULL;
    tlead l;
    (void)state;
    o.max_retries = 1;
    r = scripted_router(&s, &o, NULL);
    ok(leadroute_router_fork(&f, r));
    ok(leadroute_decision_new(&d, NULL));
    s.bump_version = 1;
    tl_init(&l);
    l.lead.id = "F1";
    assert_int_equal(leadroute_route(f, &l.lead, 0, d), LEADROUTE_ECONFLICT);
    expect_message_has("2 times in a row");
    leadroute_decision_free(d);
    leadroute_router_free(f);
    leadroute_router_free(r);
}

static int count_each(void *ctx, const leadroute_assignment *a)
{
    (void)a;
    ++*(int *)ctx;
    return LEADROUTE_OK;
}

/* once the store gave an assignment of an unknown version, the host's callback sees no more
 * of the listing, even from a store that does not stop when told */
static void test_list_due_stops_after_bad_version(void **state)
{
    sstore s;
    leadroute_router *r;
    int n = 0;
    (void)state;
    r = scripted_router(&s, NULL, NULL);
    ss_add(&s, "lead:B1", "a", "p", T0 - 1)->version = 99;
    ss_add(&s, "lead:B2", "a", "p", T0 - 1);
    s.ignore_stop = 1;
    assert_int_equal(leadroute_router_list_due(r, T0, count_each, &n), LEADROUTE_ECALLBACK);
    assert_int_equal(n, 0);
    leadroute_router_free(r);
}

/* an inactive escalation owner does not get the lead */
static void test_escalation_owner_inactive(void **state)
{
    static const char *const in_p[] = { "p" };
    leadroute_rep reps[3] = { LEADROUTE_REP_INIT, LEADROUTE_REP_INIT, LEADROUTE_REP_INIT };
    leadroute_pool pool = LEADROUTE_POOL_INIT;
    leadroute_roster *ro = NULL;
    leadroute_router *r;
    leadroute_decision *d = NULL;
    leadroute_tick_stats st = LEADROUTE_TICK_STATS_INIT;
    rec rc;
    (void)state;
    memset(&rc, 0, sizeof rc);
    reps[0].id = "a", reps[1].id = "b", reps[2].id = "m";
    reps[0].pools = reps[1].pools = in_p;
    reps[0].pool_count = reps[1].pool_count = 1;
    reps[2].active = 0;
    pool.id = "p";
    pool.sla_minutes = 10;
    pool.max_hops = 0;
    pool.escalation_owner = "m";
    ok(leadroute_roster_new(&ro, reps, 3, &pool, 1, NULL));
    g_now = T0;
    r = router_with(ALL_TO_P, ro, NULL, &rc);
    ok(leadroute_decision_new(&d, NULL));
    assert_string_equal(route_id(r, d, "I1", 0), "a");
    g_now = T0 + 10 * MIN_MS;
    ok(leadroute_router_tick(r, g_now, NULL, NULL, &st));
    assert_int_equal(st.due, 1);
    assert_int_equal(st.escalated, 0);
    assert_int_equal(st.kept, 1);
    assert_int_equal(rc.n, 1);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* after conflicts all along, a find_claim that gives no rep id is no sign the lead moved */
static void test_tick_conflicts_then_garbage_holder(void **state)
{
    leadroute_tick_stats st = conflicted_tick(2, 1);
    (void)state;
    assert_int_equal(st.raced, 0);
    assert_int_equal(st.failed, 1);
}

/* a host store's ENOMEM is a failed callback (ECALLBACK), not the router's ENOMEM */
static void test_host_store_nomem_is_callback(void **state)
{
    sstore s;
    leadroute_router *r;
    leadroute_decision *d = NULL;
    tlead l;
    (void)state;
    r = scripted_router(&s, NULL, NULL);
    ok(leadroute_decision_new(&d, NULL));
    s.commit_nomem = 1;
    tl_init(&l);
    l.lead.id = "Z1";
    assert_int_equal(leadroute_route(r, &l.lead, 0, d), LEADROUTE_ECALLBACK);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* rule hits survive a swap to the same table and a roster swap */
static void test_rule_hits_kept_across_swaps(void **state)
{
    leadroute_table *t = parse_ok(ALL_TO_P);
    leadroute_router *r = NULL;
    leadroute_decision *d = NULL;
    (void)state;
    g_now = T0;
    {
        leadroute_roster *ro0 = roster_pm(2);
        ok(leadroute_router_new(&r, t, ro0, NULL));
        leadroute_roster_unref(ro0);
    }
    ok(leadroute_decision_new(&d, NULL));
    route_id(r, d, "H1", 0);
    route_id(r, d, "H2", 0);
    assert_int_equal(leadroute_router_rule_hits(r, 0), 2);
    ok(leadroute_router_set_table(r, t));           /* */
    assert_int_equal(leadroute_router_rule_hits(r, 0), 2);
    {
        leadroute_roster *ro = roster_pm(3);
        ok(leadroute_router_set_roster(r, ro));    /* */
        leadroute_roster_unref(ro);
    }
    assert_int_equal(leadroute_router_rule_hits(r, 0), 2);
    route_id(r, d, "H3", 0);
    assert_int_equal(leadroute_router_rule_hits(r, 0), 3);
    leadroute_table_unref(t);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* a retry whose find_claim failed for a notification superseded meanwhile leaves nothing
 * pending, and says so: LEADROUTE_OK */
static void test_retry_failed_find_but_superseded(void **state)
{
    retry_race x;
    (void)state;
    retry_race_begin(&x, "S3", 1, 1);
    retry_race_end(&x);
    assert_int_equal(leadroute_router_pending_count(x.r), 0);
    assert_int_equal(x.j.rc, LEADROUTE_OK);
    retry_race_free(&x);
}

/* an older notification a newer pending one of its lead follows is dropped without asking
 * the store */
static void test_retry_drops_older_without_store(void **state)
{
    rec rc;
    sstore s;
    leadroute_router *r;
    leadroute_decision *d = NULL;
    size_t delivered = 0;
    (void)state;
    r = pending_one(&rc, &s, &d, "D1");
    assert_string_equal(route_id(r, d, "D1", LEADROUTE_ROUTE_REASSIGN), "b");
    rc.failing = 0;
    assert_int_equal(leadroute_router_pending_count(r), 2);
    s.find_claims = 0;
    ok(leadroute_router_retry_notifications(r, &delivered));
    assert_int_equal(delivered, 1);
    assert_int_equal(s.find_claims, 1);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_keeps_escalation_fields),
        cmocka_unit_test(test_pending_index_after_supersede),
        cmocka_unit_test(test_pending_in_order),
        cmocka_unit_test(test_retry_closed_lead_delivered),
        cmocka_unit_test(test_retry_without_notify),
        cmocka_unit_test(test_retry_drops_moved_lead),
        cmocka_unit_test(test_fork_keeps_availability),
        cmocka_unit_test(test_fork_keeps_option_names),
        cmocka_unit_test(test_tick_history_with_null_entry),
        cmocka_unit_test(test_tick_order_two_leads),
        cmocka_unit_test(test_tick_leaves_other_keys),
        cmocka_unit_test(test_tick_keeps_table_hash),
        cmocka_unit_test(test_retry_superseded_during_notify),
        cmocka_unit_test(test_retry_discarded_during_notify),
        cmocka_unit_test(test_retry_superseded_during_find_claim),
        cmocka_unit_test(test_tick_conflicts_then_closed_is_raced),
        cmocka_unit_test(test_fork_keeps_max_retries),
        cmocka_unit_test(test_list_due_stops_after_bad_version),
        cmocka_unit_test(test_escalation_owner_inactive),
        cmocka_unit_test(test_tick_conflicts_then_garbage_holder),
        cmocka_unit_test(test_host_store_nomem_is_callback),
        cmocka_unit_test(test_rule_hits_kept_across_swaps),
        cmocka_unit_test(test_retry_failed_find_but_superseded),
        cmocka_unit_test(test_retry_drops_older_without_store),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
