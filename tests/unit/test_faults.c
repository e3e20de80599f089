/*
 * Fault injection. test_alloc.c fails the k-th allocation of table parsing,
 * building and results; this program does the same for every other object
 * and call (table compile with lint findings, roster parse and load, router
 * creation, routing in all its shapes, ticks, acknowledgements, swaps,
 * forks, notification retries, metrics and explain), and fails the k-th
 * host callback (store, notify, availability) of a routing sequence. A store
 * whose answers break its contract gets LEADROUTE_ECALLBACK, never a crash.
 *
 * For every k the call must return LEADROUTE_ENOMEM (ECALLBACK only for a
 * host callback that failed) or succeed, leak nothing, and leave the object
 * as it was: the same call made again with a working allocator (or store)
 * gives exactly what a fresh object gives. State is compared through the public API only: metrics
 * JSON, pending notifications, the store's listing of assignments, and dry
 * runs (which show claims, the rotation and its pool state). A swap that
 * fails must also hold no block more than before: some of what it makes
 * shows through no getter.
 *
 * Each scenario prints how many fault points it exercised.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "leadroute/leadroute.h"
#include "router/memstore.h"

#define NOW_MS INT64_C(1772357400000) /* 2026-03-01T09:30:00Z */
#define MIN_MS INT64_C(60000)
#define SNAP_MAX 65536

static void ok(int rc)
{
    if (rc != LEADROUTE_OK)
        fail_msg("call failed (%d): %s", rc, leadroute_error_last()->message);
}

/* ---- a counting allocator that fails the k-th allocation while armed ------- */

typedef struct fault_alloc {
    long live;       /* blocks handed out and not freed */
    long calls;      /* alloc calls while armed */
    long fail_at;    /* the armed call (1-based) that fails; 0 = none */
    long failed;
    long bad_frees;
    int armed;
} fault_alloc;

static fault_alloc g_fa;

typedef union block_header {
    struct {
        uint64_t magic;
        size_t size;
    } h;
    max_align_t align;
} block_header;

#define BLOCK_MAGIC UINT64_C(0x6c726661756c7473)

static void *fa_alloc(void *ud, size_t size)
{
    fault_alloc *fa = ud;
    block_header *h;
    if (fa->armed) {
        fa->calls++;
        if (fa->calls == fa->fail_at) {
            fa->failed++;
            return NULL;
        }
    }
    if (!(h = malloc(sizeof *h + size)))
        return NULL;
    h->h.magic = BLOCK_MAGIC;
    h->h.size = size;
    fa->live++;
    return h + 1;
}

static void fa_free(void *ud, void *p)
{
    fault_alloc *fa = ud;
    block_header *h;
    if (!p)
        return;
    h = (block_header *)p - 1;
    if (h->h.magic != BLOCK_MAGIC) {
        fa->bad_frees++;
        return;
    }
    h->h.magic = 0;
    fa->live--;
    free(h);
}

static const leadroute_allocator g_allocator = { LEADROUTE_ALLOCATOR_VERSION, fa_alloc, fa_free, &g_fa };

static void fa_arm(long fail_at)
{
    g_fa.calls = 0;
    g_fa.failed = 0;
    g_fa.fail_at = fail_at;
    g_fa.armed = 1;
}

static void fa_disarm(void)
{
    g_fa.armed = 0;
}

/* ---- the routing setup every scenario shares --------------------------------- */

static const char *const TABLE =
    "#! name: faults\n"
    "#! hit_policy: first\n"
    "rule,kind,language,out:owner,out:pool,out:queue,out:status,out:sla_minutes:number,out:tags\n"
    "direct,direct,-,carol,rr,,vip,30,\n"
    "weighted,w,-,,wp,,hot,30,web\n"
    "queued,q,-,,,inbox,,,\n"
    "nothing,n,-,,,,,,\n"
    "rr,-,-,,rr,,,30,\n";

/* The second table of a swap: rules in another order, another SLA. */
static const char *const TABLE2 =
    "#! name: faults 2\n"
    "#! hit_policy: first\n"
    "rule,kind,out:owner,out:pool,out:sla_minutes:number\n"
    "w2,w,,wp,45\n"
    "rest,-,,rr,45\n";

/* A table with lint findings (a shadowed rule, no catch-all), and sets,
 * ranges and priorities, so compile and lint both allocate. */
static const char *const LINT_TABLE =
    "#! hit_policy: priority\n"
    "#! priority: tier = gold, silver, bronze\n"
    "rule,region,employees:number,products:set,out:tier\n"
    "a,EMEA,>= 100,\"crm, erp\",gold\n"
    "b,EMEA,>= 500,crm,silver\n"
    "c,\"NA, LATAM\",[10..100),-,bronze\n"
    "d,not(APAC),< 10,not(hr),silver\n";

static const char *const ROSTER =
    "# reps and pools of the fault scenarios\n"
    "#! pools\n"
    "id,strategy,fallback,on_empty,queue,filters,sla_minutes,max_hops,escalation_owner\n"
    "rr,round_robin,,queue,overflow,language=languages,30,2,\n"
    "wp,weighted,rr,unassigned,,,30,1,carol\n"
    "#! reps\n"
    "id,name,pools,weight,capacity,tier,languages\n"
    "alice,Alice,\"rr, wp\",2,,1,\"en, de\"\n"
    "bob,Bob,\"rr, wp\",1,,0,en\n"
    "carol,Carol,rr,1,5,2,\"en, fr\"\n";

/* The roster of a swap: bea (between ids seen before) and dave join, bob
 * leaves the weighted pool, pool np is new (first in id order). */
static const char *const ROSTER2 =
    "#! pools\n"
    "id,strategy,fallback,sla_minutes,max_hops,escalation_owner\n"
    "rr,round_robin,,30,2,\n"
    "wp,weighted,rr,30,1,carol\n"
    "np,least_loaded,,,,\n"
    "#! reps\n"
    "id,pools,weight,languages\n"
    "alice,\"rr, wp\",2,en\n"
    "bea,\"rr, wp\",1,en\n"
    "bob,\"rr, np\",1,en\n"
    "carol,rr,1,en\n"
    "dave,\"rr, wp, np\",3,en\n";

static int64_t g_now = NOW_MS;

static int64_t clock_now(void *ud)
{
    (void)ud;
    return g_now;
}

static const leadroute_clock g_clock = { LEADROUTE_CLOCK_VERSION, clock_now };

/* Notifications as the host saw them, and a switch to make them fail. */
typedef struct notes {
    char line[64][160];
    int n;
    int fail;   /* return this from notify, 0 = succeed */
} notes;

static int notify_record(void *ud, const leadroute_assignment *a)
{
    notes *ns = ud;
    if (ns->fail)
        return ns->fail;
    if (ns->n < 64)
        snprintf(ns->line[ns->n++], sizeof ns->line[0], "%s>%s prev=%s pool=%s hops=%u esc=%d dl=%lld",
                 a->key, a->rep_id, a->previous ? a->previous : "-", a->pool_id ? a->pool_id : "-", a->hops,
                 a->escalated, (long long)a->deadline_ms);
    return LEADROUTE_OK;
}

static const leadroute_notify g_notify = { LEADROUTE_NOTIFY_VERSION, notify_record };

typedef struct lead_buf {
    leadroute_field f[3];
    leadroute_lead lead;
} lead_buf;

static const leadroute_lead *mklead(lead_buf *b, const char *id, const char *kind)
{
    leadroute_value v = LEADROUTE_VALUE_INIT;
    leadroute_lead l = LEADROUTE_LEAD_INIT;
    size_t n = 0;
    memset(b, 0, sizeof *b);
    if (kind) {
        b->f[n].name = "kind";
        b->f[n].value = v;
        b->f[n].value.type = LEADROUTE_VALUE_STRING;
        b->f[n].value.string = kind;
        n++;
    }
    b->f[n].name = "language";
    b->f[n].value = v;
    b->f[n].value.type = LEADROUTE_VALUE_STRING;
    b->f[n].value.string = "en";
    n++;
    b->f[n].name = "captured_at";
    b->f[n].value = v;
    b->f[n].value.type = LEADROUTE_VALUE_NUMBER;
    b->f[n].value.number = (double)(NOW_MS - 5 * MIN_MS);
    n++;
    l.id = id;
    l.fields = b->f;
    l.field_count = n;
    b->lead = l;
    return &b->lead;
}

static leadroute_table *table_of(const char *text)
{
    leadroute_table_options o = LEADROUTE_TABLE_OPTIONS_INIT;
    leadroute_table *t = NULL;
    o.allocator = &g_allocator;
    ok(leadroute_table_parse(&t, text, strlen(text), "faults.csv", &o));
    return t;
}

static leadroute_roster *roster_of(const char *text)
{
    leadroute_roster *ro = NULL;
    ok(leadroute_roster_parse(&ro, text, strlen(text), "roster.csv", &g_allocator));
    return ro;
}

/* A router, a decision and what they need, all on the counting allocator. */
typedef struct fixture {
    leadroute_table *table, *table2;
    leadroute_roster *roster, *roster2;
    leadroute_router *router, *fork;
    leadroute_decision *d;
    notes ns;
    char text[SNAP_MAX];        /* what an op produced besides the decision (explain, metrics) */
} fixture;

static void fx_setup(fixture *fx)
{
    leadroute_router_options o = LEADROUTE_ROUTER_OPTIONS_INIT;
    memset(fx, 0, sizeof *fx);
    g_now = NOW_MS;
    fx->table = table_of(TABLE);
    fx->table2 = table_of(TABLE2);
    fx->roster = roster_of(ROSTER);
    fx->roster2 = roster_of(ROSTER2);
    o.allocator = &g_allocator;
    ok(leadroute_router_new(&fx->router, fx->table, fx->roster, &o));
    ok(leadroute_router_set_clock(fx->router, &g_clock, NULL));
    ok(leadroute_router_set_notify(fx->router, &g_notify, &fx->ns));
    ok(leadroute_decision_new(&fx->d, &g_allocator));
}

static void fx_teardown(fixture *fx)
{
    leadroute_decision_free(fx->d);
    leadroute_router_free(fx->fork);
    leadroute_router_free(fx->router);
    leadroute_roster_unref(fx->roster);
    leadroute_roster_unref(fx->roster2);
    leadroute_table_unref(fx->table);
    leadroute_table_unref(fx->table2);
    memset(fx, 0, sizeof *fx);
}

static int route(fixture *fx, const char *id, const char *kind, uint32_t flags)
{
    lead_buf b;
    return leadroute_route(fx->router, mklead(&b, id, kind), flags, fx->d);
}

static void route_ok(fixture *fx, const char *id, const char *kind, uint32_t flags)
{
    int rc = route(fx, id, kind, flags);
    if (rc != LEADROUTE_OK)
        fail_msg("routing %s failed (%d): %s", id, rc, leadroute_decision_reason(fx->d));
}

/* ---- snapshots: everything observable, as text ------------------------------- */

typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static void sb_add(sbuf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_add(sbuf *s, const char *fmt, ...)
{
    va_list ap;
    int k;
    va_start(ap, fmt);
    k = vsnprintf(s->p + s->n, s->cap - s->n, fmt, ap);
    va_end(ap);
    assert_true(k >= 0 && (size_t)k < s->cap - s->n);
    s->n += (size_t)k;
}

static const char *nz(const char *s)
{
    return s ? s : "(null)";
}

/* A decision: outcome, trace and both renderings. */
static void describe_decision(sbuf *s, const leadroute_decision *d, int with_reason)
{
    char buf[8192];
    size_t i, n = leadroute_decision_candidate_count(d);
    sb_add(s, "status=%s rep=%s pool=%s queue=%s rule=%s label=%s tags=%s sla=%g notified=%d\n",
           leadroute_route_status_name(leadroute_decision_status(d)), nz(leadroute_decision_rep(d)),
           nz(leadroute_decision_pool(d)), nz(leadroute_decision_queue(d)), nz(leadroute_decision_rule(d)),
           nz(leadroute_decision_label(d)), nz(leadroute_decision_tags(d)), leadroute_decision_sla_minutes(d),
           leadroute_decision_notified(d));
    for (i = 0; i < n; i++) {
        const char *rep = NULL, *pool = NULL, *detail = NULL;
        uint32_t verdict = 0;
        ok(leadroute_decision_candidate(d, i, &rep, &pool, &verdict, &detail));
        sb_add(s, "  cand %s %s %u %s\n", nz(rep), nz(pool), verdict, nz(detail));
    }
    if (with_reason) {
        sb_add(s, "reason=%s\n", leadroute_decision_reason(d));
        ok(leadroute_decision_explain(d, LEADROUTE_EXPLAIN_JSON, buf, sizeof buf, NULL));
        sb_add(s, "json=%s\n", buf);
        ok(leadroute_decision_explain(d, LEADROUTE_EXPLAIN_TEXT, buf, sizeof buf, NULL));
        sb_add(s, "text=%s\n", buf);
    }
}

/* Counts a failed call may move by design are blanked: the ERROR count of
 * unrouted leads, SLA breaches (every tick that finds a lead due), and the
 * moves a tick failed to make (counted even when the lead would have stayed
 * anyway; test_catalogue.c checks the count). */
static void mask_number(char *json, const char *key)
{
    char *p = json;
    while ((p = strstr(p, key)) != NULL) {
        p += strlen(key);
        while (*p >= '0' && *p <= '9')
            *p++ = '#';
    }
}

static int snap_due(void *ctx, const leadroute_assignment *a)
{
    sbuf *s = ctx;
    size_t i;
    sb_add(s, "due %s>%s prev=%s pool=%s rule=%s hops=%u esc=%d dl=%lld ack=%lld value=%g hist=", a->key,
           a->rep_id, nz(a->previous), nz(a->pool_id), nz(a->rule_id), a->hops, a->escalated,
           (long long)a->deadline_ms, (long long)a->acknowledged_ms, a->value);
    for (i = 0; i < a->history_count; i++)
        sb_add(s, "%s%s", i ? "," : "", a->history[i]);
    sb_add(s, "\n");
    return 0;
}

static const char *const KNOWN_IDS[] = { "L1", "L2", "L3", "L4", "L5", "L6", "L7" };

/* The observable state of a router. Uses the allocator unarmed and a
 * decision of its own. */
static void snapshot(leadroute_router *r, sbuf *s)
{
    char json[8192], key[256], rep[256];
    leadroute_decision *d = NULL;
    size_t i, n;
    int saved = g_fa.armed;
    g_fa.armed = 0;
    s->n = 0;
    s->p[0] = 0;
    ok(leadroute_router_metrics_json(r, json, sizeof json, NULL));
    mask_number(json, "\"error\":");
    mask_number(json, "\"breaches\":");
    mask_number(json, "\"failed_moves\":");
    sb_add(s, "metrics %s\n", json);
    n = leadroute_router_pending_count(r);
    for (i = 0; i < n; i++) {
        ok(leadroute_router_pending(r, i, key, sizeof key, rep, sizeof rep));
        sb_add(s, "pending %s>%s\n", key, rep);
    }
    ok(leadroute_router_list_due(r, INT64_MAX, snap_due, s));
    /* reps and pools the router has seen: those of a roster it was given, which a swap that
     * failed never was */
    {
        static const char *const reps[] = { "alice", "bea", "dave" }, *const pools[] = { "wp", "np" };
        for (i = 0; i < 5; i++) {
            leadroute_latency_stats st = LEADROUTE_LATENCY_STATS_INIT;
            int rc = leadroute_router_latency(r, i < 3 ? reps[i] : NULL, i < 3 ? NULL : pools[i - 3],
                                              LEADROUTE_LATENCY_CAPTURE_TO_ASSIGN, &st);
            /* not the count: a sample whose histogram cannot be made is skipped by design */
            sb_add(s, "seen %s: %d\n", i < 3 ? reps[i] : pools[i - 3], rc);
        }
    }
    ok(leadroute_decision_new(&d, NULL));
    for (i = 0; i < sizeof KNOWN_IDS / sizeof KNOWN_IDS[0]; i++) {
        lead_buf b;
        ok(leadroute_route(r, mklead(&b, KNOWN_IDS[i], "r"), LEADROUTE_ROUTE_DRY_RUN, d));
        sb_add(s, "%s: %s %s\n", KNOWN_IDS[i], leadroute_route_status_name(leadroute_decision_status(d)),
               nz(leadroute_decision_rep(d)));
    }
    /* who is next, and the pool states before and after */
    {
        static const char *const kinds[] = { "r", "w", "direct" };
        for (i = 0; i < 3; i++) {
            lead_buf b;
            ok(leadroute_route(r, mklead(&b, "next", kinds[i]), LEADROUTE_ROUTE_DRY_RUN | LEADROUTE_ROUTE_TRACE,
                               d));
            ok(leadroute_decision_explain(d, LEADROUTE_EXPLAIN_JSON, json, sizeof json, NULL));
            sb_add(s, "next %s: %s\n", kinds[i], json);
        }
    }
    leadroute_decision_free(d);
    g_fa.armed = saved;
}

/* Mismatches are counted and the first few printed, so one run shows every
 * scenario that breaks; the test fails at its end if there was any. */
static long g_mismatches;

static int expect_same(const char *what, const char *scenario, long k, const char *got, const char *want)
{
    size_t i = 0;
    if (strcmp(got, want) == 0)
        return 1;
    while (got[i] && got[i] == want[i])
        i++;
    if (g_mismatches++ < 40)
        print_message("MISMATCH %s, fault %ld: %s differs at byte %zu:\n--- got\n%.300s\n--- want\n%.300s\n",
                      scenario, k, what, i, got + (i > 60 ? i - 60 : 0), want + (i > 60 ? i - 60 : 0));
    return 0;
}

static void expect_no_mismatch(void)
{
    if (g_mismatches)
        fail_msg("%ld mismatches (see above)", g_mismatches);
}

/* ---- allocation faults on calls of an existing router -------------------------- */

typedef struct scenario {
    const char *name;
    void (*prepare)(fixture *fx);   /* state before the call, allocator unarmed */
    int (*op)(fixture *fx);         /* the call under test */
    int routes;                     /* the call is leadroute_route() on fx->d */
    int no_alloc;                   /* documented to allocate nothing (docs/robustness.md) */
} scenario;

static void prep_none(fixture *fx)
{
    (void)fx;
}

/* Four leads assigned (round robin, weighted, direct), one acknowledged. */
static void prep_state(fixture *fx)
{
    route_ok(fx, "L1", "r", 0);
    route_ok(fx, "L2", "w", LEADROUTE_ROUTE_TRACE);
    route_ok(fx, "L3", "r", 0);
    route_ok(fx, "L4", "direct", 0);
    ok(leadroute_router_acknowledge(fx->router, "L3"));
}

/* A traced reassignment in the decision, for explain. */
static void prep_explain(fixture *fx)
{
    prep_state(fx);
    route_ok(fx, "L2", "w", LEADROUTE_ROUTE_TRACE | LEADROUTE_ROUTE_REASSIGN);
}

/* Deadlines passed: a tick has leads to move. */
static void prep_overdue(fixture *fx)
{
    prep_state(fx);
    g_now = NOW_MS + 31 * MIN_MS;
}

/* Two notifications pending, notify working again. */
static void prep_pending(fixture *fx)
{
    fx->ns.fail = LEADROUTE_EIO;
    route_ok(fx, "L1", "r", 0);
    route_ok(fx, "L2", "w", 0);
    fx->ns.fail = 0;
    assert_int_equal(leadroute_router_pending_count(fx->router), 2);
}

static int op_route_new(fixture *fx)
{
    return route(fx, "L5", "r", 0);
}

static int op_route_new_trace(fixture *fx)
{
    return route(fx, "L5", "r", LEADROUTE_ROUTE_TRACE);
}

static int op_route_weighted_trace(fixture *fx)
{
    return route(fx, "L5", "w", LEADROUTE_ROUTE_TRACE);
}

static int op_route_direct(fixture *fx)
{
    return route(fx, "L5", "direct", LEADROUTE_ROUTE_TRACE);
}

static int op_route_queued(fixture *fx)
{
    return route(fx, "L5", "q", LEADROUTE_ROUTE_TRACE);
}

static int op_route_existing(fixture *fx)
{
    return route(fx, "L1", "r", 0);
}

static int op_route_existing_trace(fixture *fx)
{
    return route(fx, "L2", "w", LEADROUTE_ROUTE_TRACE);
}

static int op_reassign(fixture *fx)
{
    return route(fx, "L1", "r", LEADROUTE_ROUTE_REASSIGN);
}

static int op_reassign_trace(fixture *fx)
{
    return route(fx, "L2", "w", LEADROUTE_ROUTE_REASSIGN | LEADROUTE_ROUTE_TRACE);
}

static int op_dry_run(fixture *fx)
{
    return route(fx, "L5", "w", LEADROUTE_ROUTE_DRY_RUN | LEADROUTE_ROUTE_TRACE);
}

static int op_notify_fails(fixture *fx)
{
    fx->ns.fail = LEADROUTE_EIO;
    int rc = route(fx, "L5", "w", LEADROUTE_ROUTE_TRACE);
    fx->ns.fail = 0;
    return rc;
}

static int op_retry_notifications(fixture *fx)
{
    size_t delivered = 0;
    int rc = leadroute_router_retry_notifications(fx->router, &delivered);
    snprintf(fx->text, sizeof fx->text, "delivered %zu", delivered);
    return rc;
}

static int op_tick(fixture *fx)
{
    leadroute_tick_stats st = LEADROUTE_TICK_STATS_INIT;
    int rc = leadroute_router_tick(fx->router, g_now, NULL, NULL, &st);
    snprintf(fx->text, sizeof fx->text, "due %llu reassigned %llu escalated %llu kept %llu raced %llu",
             (unsigned long long)st.due, (unsigned long long)st.reassigned, (unsigned long long)st.escalated,
             (unsigned long long)st.kept, (unsigned long long)st.raced);
    return rc;
}

static int op_acknowledge(fixture *fx)
{
    return leadroute_router_acknowledge(fx->router, "L1");
}

static int op_close(fixture *fx)
{
    return leadroute_router_close(fx->router, "L1");
}

static int op_set_table(fixture *fx)
{
    return leadroute_router_set_table(fx->router, fx->table2);
}

static int op_set_roster(fixture *fx)
{
    return leadroute_router_set_roster(fx->router, fx->roster2);
}

static int op_metrics(fixture *fx)
{
    size_t needed = 0;
    int rc = leadroute_router_metrics_json(fx->router, fx->text, sizeof fx->text, &needed);
    assert_int_equal(needed, strlen(fx->text));
    return rc;
}

static int op_latency(fixture *fx)
{
    leadroute_latency_stats st = LEADROUTE_LATENCY_STATS_INIT;
    int rc = leadroute_router_latency(fx->router, "alice", NULL, LEADROUTE_LATENCY_CAPTURE_TO_ASSIGN, &st);
    snprintf(fx->text, sizeof fx->text, "count %llu mean %g p50 %g", (unsigned long long)st.count, st.mean_ms,
             st.p50_ms);
    return rc;
}

/* Explain of a traced decision, rendered by size first as docs/router.md shows. */
static int op_explain(fixture *fx)
{
    size_t need = 0, need2 = 0;
    int rc;
    if ((rc = leadroute_decision_explain(fx->d, LEADROUTE_EXPLAIN_TEXT, NULL, 0, &need)) != 0)
        return rc;
    assert_true(need < sizeof fx->text / 2);
    if ((rc = leadroute_decision_explain(fx->d, LEADROUTE_EXPLAIN_TEXT, fx->text, need + 1, NULL)) != 0)
        return rc;
    if ((rc = leadroute_decision_explain(fx->d, LEADROUTE_EXPLAIN_JSON, NULL, 0, &need2)) != 0)
        return rc;
    return leadroute_decision_explain(fx->d, LEADROUTE_EXPLAIN_JSON, fx->text + need + 1, need2 + 1, NULL);
}

/* A fork, and a lead routed through it: the original must not change. */
static int op_fork(fixture *fx)
{
    lead_buf b;
    int rc;
    leadroute_router_free(fx->fork);
    fx->fork = NULL;
    if ((rc = leadroute_router_fork(&fx->fork, fx->router)) != 0) {
        assert_null(fx->fork);
        return rc;
    }
    return leadroute_route(fx->fork, mklead(&b, "L5", "w"), LEADROUTE_ROUTE_TRACE, fx->d);
}

static const scenario SCENARIOS[] = {
    { "route new claim, no trace", prep_none, op_route_new, 1, 0 },
    { "route new claim, trace", prep_none, op_route_new_trace, 1, 0 },
    { "route new claim with state, no trace", prep_state, op_route_new, 1, 0 },
    { "route weighted, trace", prep_state, op_route_weighted_trace, 1, 0 },
    { "route direct owner, trace", prep_state, op_route_direct, 1, 0 },
    { "route to a queue, trace", prep_state, op_route_queued, 1, 1 },
    { "route existing claim, no trace", prep_state, op_route_existing, 1, 1 },
    { "route existing claim, trace", prep_state, op_route_existing_trace, 1, 1 },
    { "reassign, no trace", prep_state, op_reassign, 1, 1 },
    { "reassign, trace", prep_state, op_reassign_trace, 1, 0 },
    { "dry run, trace", prep_state, op_dry_run, 1, 0 },
    { "route with notify failing (pending recorded)", prep_state, op_notify_fails, 1, 0 },
    { "retry pending notifications", prep_pending, op_retry_notifications, 0, 1 },
    { "tick (SLA reassignment)", prep_overdue, op_tick, 0, 0 },
    { "acknowledge", prep_state, op_acknowledge, 0, 0 },
    { "close", prep_state, op_close, 0, 1 },
    { "swap table with state", prep_state, op_set_table, 0, 0 },
    { "swap roster with state", prep_state, op_set_roster, 0, 0 },
    { "metrics snapshot", prep_state, op_metrics, 0, 1 },
    { "latency figures", prep_state, op_latency, 0, 1 },
    { "explain rendering", prep_explain, op_explain, 0, 1 },
    { "fork and route on it", prep_state, op_fork, 0, 0 },
};

/* What a call left: its code, its decision, its text, and the router's state. */
static void outcome(fixture *fx, int rc, sbuf *s)
{
    char snap[SNAP_MAX];
    sbuf st = { snap, 0, sizeof snap };
    s->n = 0;
    sb_add(s, "rc=%d\n", rc);
    describe_decision(s, fx->d, 1);
    sb_add(s, "text=%s|%s\n", fx->text, fx->text + strlen(fx->text) + 1);
    snapshot(fx->router, &st);
    sb_add(s, "%s", snap);
    if (fx->fork) {
        snapshot(fx->fork, &st);
        sb_add(s, "fork:\n%s", snap);
    }
    {
        int i;
        for (i = 0; i < fx->ns.n; i++)
            sb_add(s, "note %s\n", fx->ns.line[i]);
    }
}

/* Across the scenarios: ENOMEM calls whose message is the built-in store's,
 * and of those the ones a failed commit gave (docs/robustness.md quotes it). */
static long g_store_enomem, g_store_commit_enomem;

/* A tick's counts, from the text op_tick writes into an outcome. */
static void tick_counts(const char *outcome_text, unsigned long long c[5])
{
    const char *p = strstr(outcome_text, "text=due ");
    assert_non_null(p);
    assert_int_equal(sscanf(p, "text=due %llu reassigned %llu escalated %llu kept %llu raced %llu", &c[0], &c[1],
                            &c[2], &c[3], &c[4]),
                     5);
}

static void run_scenario(const scenario *sc)
{
    static char before[SNAP_MAX], want[2 * SNAP_MAX], got[2 * SNAP_MAX], now_state[SNAP_MAX];
    sbuf sb_before = { before, 0, sizeof before }, sb_want = { want, 0, sizeof want };
    sbuf sb_got = { got, 0, sizeof got }, sb_now = { now_state, 0, sizeof now_state };
    fixture fx;
    long n, k, enomem = 0, absorbed = 0, store_enomem = 0, tick_kept = 0;
    int rc;

    /* the reference: no fault */
    memset(&g_fa, 0, sizeof g_fa);
    fx_setup(&fx);
    sc->prepare(&fx);
    snapshot(fx.router, &sb_before);
    fa_arm(0);
    rc = sc->op(&fx);
    fa_disarm();
    n = g_fa.calls;
    outcome(&fx, rc, &sb_want);
    fx_teardown(&fx);
    if (g_fa.live != 0)
        fail_msg("%s: %ld blocks leaked without faults", sc->name, g_fa.live);

    for (k = 1; k <= n; k++) {
        int64_t now_before;
        long held;
        memset(&g_fa, 0, sizeof g_fa);
        fx_setup(&fx);
        sc->prepare(&fx);
        now_before = g_now;
        leadroute_error_clear();
        held = g_fa.live;
        fa_arm(k);
        rc = sc->op(&fx);
        fa_disarm();
        held = g_fa.live - held;
        assert_int_equal(g_fa.failed, 1);
        /* the built-in store (and a fork's overlay on it) is the library's own,
         * not a host callback: its ENOMEM comes back as ENOMEM */
        if (rc == LEADROUTE_ECALLBACK)
            fail_msg("%s, fault %ld: ECALLBACK with no host callback: '%s'", sc->name, k,
                     leadroute_error_last()->message);
        if (rc == LEADROUTE_ENOMEM && strstr(leadroute_error_last()->message, "the built-in store ran out of memory")) {
            store_enomem++;
            g_store_enomem++;
            if (strstr(leadroute_error_last()->message, "the built-in store ran out of memory (store commit)"))
                g_store_commit_enomem++;
        }
        if (rc == LEADROUTE_ENOMEM) {
            enomem++;
            if (leadroute_error_last()->code != rc)
                fail_msg("%s, fault %ld: returned %d, last error %d '%s'", sc->name, k, rc,
                         leadroute_error_last()->code, leadroute_error_last()->message);
            if (sc->routes && leadroute_decision_status(fx.d) != LEADROUTE_ROUTE_UNROUTED)
                fail_msg("%s, fault %ld: ENOMEM with decision status %s", sc->name, k,
                         leadroute_route_status_name(leadroute_decision_status(fx.d)));
            /* nothing changed */
            snapshot(fx.router, &sb_now);
            expect_same("state after ENOMEM", sc->name, k, now_state, before);
            /* A swap that failed keeps nothing it made, not a block more than the router held.
             * The snapshot sees the rep and pool counters made for the new roster (latency
             * answers for them), but not those of a pool's members, which fairness reads by
             * member of the current roster only: left behind, they would show nowhere else. */
            if ((sc->op == op_set_roster || sc->op == op_set_table) && held != 0) {
                char more[64];
                snprintf(more, sizeof more, "%ld blocks more", held);
                expect_same("memory held after ENOMEM", sc->name, k, more, "0 blocks more");
            }
            /* and the same call, now able to allocate, gives what a fresh router gives */
            g_now = now_before;
            memset(fx.text, 0, sizeof fx.text);
            rc = sc->op(&fx);
        } else if (rc != LEADROUTE_OK) {
            if (strstr(want, "rc=0\n") == want || rc != atoi(want + 3))
                fail_msg("%s, fault %ld: returned %d (%s), want ENOMEM or the reference outcome", sc->name, k, rc,
                         leadroute_error_last()->message);
        } else {
            absorbed++;
        }
        outcome(&fx, rc, &sb_got);
        if (sc->op == op_tick && rc == LEADROUTE_OK && strcmp(got, want) != 0) {
            /* documented: a move that fails leaves its lead where it was, counted as kept */
            const char *kg = strstr(got, " kept "), *kw = strstr(want, " kept ");
            assert_non_null(kg);
            assert_non_null(kw);
            if (atoi(kg + 6) <= atoi(kw + 6))
                expect_same("tick outcome", sc->name, k, got, want);
            {
                /* the same leads were due; each one more kept is one fewer moved */
                unsigned long long cg[5], cw[5];
                tick_counts(got, cg);
                tick_counts(want, cw);
                assert_int_equal(cg[0], cw[0]);
                assert_int_equal(cg[1] + cg[2] + cg[3] + cg[4], cw[1] + cw[2] + cw[3] + cw[4]);
                assert_true(cg[1] + cg[2] < cw[1] + cw[2]);
            }
            tick_kept++;
        } else {
            expect_same("outcome", sc->name, k, got, want);
        }
        fx_teardown(&fx);
        if (g_fa.live != 0) {
            char leak[64];
            snprintf(leak, sizeof leak, "%ld blocks leaked", g_fa.live);
            expect_same("memory", sc->name, k, leak, "0 blocks leaked");
        }
        assert_int_equal(g_fa.bad_frees, 0);
    }
    print_message("%-46s %3ld fault points, %3ld ENOMEM (%ld from the store), %3ld absorbed (%ld kept by a tick)\n",
                  sc->name, n, enomem, store_enomem, absorbed, tick_kept);
    if (sc->no_alloc && n != 0)
        fail_msg("%s: %ld allocations where none is documented", sc->name, n);
}

static void test_alloc_faults_in_calls(void **state)
{
    size_t i;
    (void)state;
    g_mismatches = 0;
    g_store_enomem = g_store_commit_enomem = 0;
    for (i = 0; i < sizeof SCENARIOS / sizeof SCENARIOS[0]; i++)
        run_scenario(&SCENARIOS[i]);
    expect_no_mismatch();
    /* the built-in store's own ENOMEM is reached, and reported as such (docs/robustness.md) */
    if (g_store_enomem <= 0 || g_store_commit_enomem <= 0)
        fail_msg("'the built-in store ran out of memory' seen %ld times, '(store commit)' %ld times: want > 0",
                 g_store_enomem, g_store_commit_enomem);
}

/* Metrics and explain render into the caller's buffer: no allocation at all. */
static void test_rendering_allocates_nothing(void **state)
{
    fixture fx;
    (void)state;
    memset(&g_fa, 0, sizeof g_fa);
    fx_setup(&fx);
    prep_state(&fx);
    route_ok(&fx, "L6", "w", LEADROUTE_ROUTE_TRACE);
    fa_arm(1);
    ok(leadroute_router_metrics_json(fx.router, fx.text, sizeof fx.text, NULL));
    ok(leadroute_decision_explain(fx.d, LEADROUTE_EXPLAIN_TEXT, fx.text, sizeof fx.text, NULL));
    ok(leadroute_decision_explain(fx.d, LEADROUTE_EXPLAIN_JSON, fx.text, sizeof fx.text, NULL));
    fa_disarm();
    assert_int_equal(g_fa.calls, 0);
    fx_teardown(&fx);
    assert_int_equal(g_fa.live, 0);
}

/* ---- allocation faults in constructors ------------------------------------------ */

typedef struct ctor {
    const char *name;
    int (*make)(void **out);        /* create; *out NULL on error */
    void (*describe)(void *obj, sbuf *s);
    void (*destroy)(void *obj);
} ctor;

static void describe_table(void *obj, sbuf *s)
{
    const leadroute_table *t = obj;
    size_t i, n = leadroute_table_diagnostic_count(t);
    sb_add(s, "hash %016llx rules %zu diagnostics %zu\n", (unsigned long long)leadroute_table_hash(t),
           leadroute_table_rule_count(t), n);
    for (i = 0; i < n; i++) {
        leadroute_diagnostic dg = LEADROUTE_DIAGNOSTIC_INIT;
        ok(leadroute_table_diagnostic(t, i, &dg));
        sb_add(s, "  %u %s %s %s\n", dg.kind, nz(dg.rule_id), nz(dg.witness), dg.message);
    }
}

static void destroy_table(void *obj)
{
    leadroute_table_unref(obj);
}

static int make_lint_table(void **out)
{
    leadroute_table_options o = LEADROUTE_TABLE_OPTIONS_INIT;
    o.allocator = &g_allocator;
    return leadroute_table_parse((leadroute_table **)out, LINT_TABLE, strlen(LINT_TABLE), "lint.csv", &o);
}

static void describe_roster(void *obj, sbuf *s)
{
    const leadroute_roster *ro = obj;
    size_t i, j;
    for (i = 0; i < leadroute_roster_rep_count(ro); i++) {
        leadroute_rep rep = LEADROUTE_REP_INIT;
        ok(leadroute_roster_rep(ro, i, &rep));
        sb_add(s, "rep %s %s w=%g cap=%u tier=%u pools=", rep.id, rep.name, rep.weight, rep.capacity, rep.tier);
        for (j = 0; j < rep.pool_count; j++)
            sb_add(s, "%s,", rep.pools[j]);
        for (j = 0; j < rep.skill_count; j++)
            sb_add(s, " %s:%zu", rep.skills[j].name, rep.skills[j].value.item_count);
        sb_add(s, "\n");
    }
    for (i = 0; i < leadroute_roster_pool_count(ro); i++) {
        leadroute_pool p = LEADROUTE_POOL_INIT;
        ok(leadroute_roster_pool(ro, i, &p));
        sb_add(s, "pool %s %u fb=%s filters=%zu tiers=%zu\n", p.id, p.strategy, nz(p.fallback), p.filter_count,
               p.tier_count);
    }
}

static void destroy_roster(void *obj)
{
    leadroute_roster_unref(obj);
}

static int make_roster_parse(void **out)
{
    return leadroute_roster_parse((leadroute_roster **)out, ROSTER, strlen(ROSTER), "roster.csv", &g_allocator);
}

static int make_roster_load(void **out)
{
    char path[1024];
    const char *dir = getenv("LEADROUTE_TEST_DATA");
    snprintf(path, sizeof path, "%s/roster-example.csv", dir ? dir : "tests/unit/data");
    return leadroute_roster_load((leadroute_roster **)out, path, &g_allocator);
}

/* router_new from a table and a roster made beforehand (not counted). */
static leadroute_table *g_ctor_table;
static leadroute_roster *g_ctor_roster;

static int make_router(void **out)
{
    leadroute_router_options o = LEADROUTE_ROUTER_OPTIONS_INIT;
    o.allocator = &g_allocator;
    return leadroute_router_new((leadroute_router **)out, g_ctor_table, g_ctor_roster, &o);
}

static void describe_router(void *obj, sbuf *s)
{
    char buf[SNAP_MAX];
    sbuf st = { buf, 0, sizeof buf };
    ok(leadroute_router_set_clock(obj, &g_clock, NULL));
    snapshot(obj, &st);
    sb_add(s, "%s", buf);
}

static void destroy_router(void *obj)
{
    leadroute_router_free(obj);
}

static int make_decision(void **out)
{
    return leadroute_decision_new((leadroute_decision **)out, &g_allocator);
}

static void describe_decision_obj(void *obj, sbuf *s)
{
    describe_decision(s, obj, 1);
}

static void destroy_decision(void *obj)
{
    leadroute_decision_free(obj);
}

static const ctor CTORS[] = {
    { "compile a table with lint findings", make_lint_table, describe_table, destroy_table },
    { "roster parse", make_roster_parse, describe_roster, destroy_roster },
    { "roster load", make_roster_load, describe_roster, destroy_roster },
    { "router_new with table and roster", make_router, describe_router, destroy_router },
    { "decision_new", make_decision, describe_decision_obj, destroy_decision },
};

static void run_ctor(const ctor *c)
{
    static char want[SNAP_MAX], got[SNAP_MAX];
    sbuf sw = { want, 0, sizeof want }, sg = { got, 0, sizeof got };
    void *obj = NULL;
    long n, k, enomem = 0;
    long base;
    int rc;

    memset(&g_fa, 0, sizeof g_fa);
    g_ctor_table = table_of(TABLE);
    g_ctor_roster = roster_of(ROSTER);
    base = g_fa.live;
    fa_arm(0);
    ok(c->make(&obj));
    fa_disarm();
    n = g_fa.calls;
    assert_non_null(obj);
    sw.n = 0;
    c->describe(obj, &sw);
    c->destroy(obj);
    assert_int_equal(g_fa.live, base);

    for (k = 1; k <= n; k++) {
        obj = &obj; /* must be reset to NULL on error */
        leadroute_error_clear();
        fa_arm(k);
        rc = c->make(&obj);
        fa_disarm();
        if (rc == LEADROUTE_ENOMEM) {
            enomem++;
            assert_null(obj);
            assert_int_equal(leadroute_error_last()->code, LEADROUTE_ENOMEM);
            if (g_fa.live != base)
                fail_msg("%s, fault %ld: %ld blocks leaked", c->name, k, g_fa.live - base);
            continue;
        }
        if (rc != LEADROUTE_OK)
            fail_msg("%s, fault %ld: returned %d (%s), want ENOMEM or OK", c->name, k, rc,
                     leadroute_error_last()->message);
        /* a failure absorbed inside must not show */
        sg.n = 0;
        c->describe(obj, &sg);
        expect_same("object", c->name, k, got, want);
        c->destroy(obj);
        assert_int_equal(g_fa.live, base);
    }
    leadroute_table_unref(g_ctor_table);
    leadroute_roster_unref(g_ctor_roster);
    assert_int_equal(g_fa.live, 0);
    assert_int_equal(g_fa.bad_frees, 0);
    assert_true(enomem > 0);
    print_message("%-46s %3ld fault points, %3ld ENOMEM\n", c->name, n, enomem);
}

static void test_alloc_faults_in_constructors(void **state)
{
    size_t i;
    (void)state;
    g_mismatches = 0;
    for (i = 0; i < sizeof CTORS / sizeof CTORS[0]; i++)
        run_ctor(&CTORS[i]);
    expect_no_mismatch();
}

/* ---- callback faults -------------------------------------------------------------- */

/* A host store wrapping the built-in memory store, plus availability and
 * notify, all of which fail at the k-th call (counted across them). */
typedef struct host {
    lr__memstore *m;
    notes ns;
    long calls;
    long fail_at;       /* 0 = never */
    int counting;
    char failed[32];    /* the callback that failed, "" if none yet */
} host;

static int host_fault(host *h, const char *what)
{
    if (!h->counting)
        return 0;
    h->calls++;
    if (h->calls != h->fail_at)
        return 0;
    snprintf(h->failed, sizeof h->failed, "%s", what);
    return 1;
}

static int h_load_pool(void *ud, const char *pool_id, void *buf, size_t cap, size_t *length, uint64_t *ver)
{
    host *h = ud;
    if (host_fault(h, "load_pool"))
        return LEADROUTE_EIO;
    return lr__memstore_methods.load_pool(h->m, pool_id, buf, cap, length, ver);
}

static int h_find_claim(void *ud, const char *key, char *rep_id, size_t cap)
{
    host *h = ud;
    if (host_fault(h, "find_claim"))
        return LEADROUTE_EIO;
    return lr__memstore_methods.find_claim(h->m, key, rep_id, cap);
}

static int h_open_count(void *ud, const char *rep_id, uint32_t *count)
{
    host *h = ud;
    if (host_fault(h, "open_count"))
        return LEADROUTE_EIO;
    return lr__memstore_methods.open_count(h->m, rep_id, count);
}

static int h_commit(void *ud, const leadroute_commit *c, char *owner, size_t owner_cap)
{
    host *h = ud;
    if (host_fault(h, "commit"))
        return LEADROUTE_EIO;
    return lr__memstore_methods.commit(h->m, c, owner, owner_cap);
}

static int h_close(void *ud, const char *key)
{
    host *h = ud;
    if (host_fault(h, "close"))
        return LEADROUTE_EIO;
    return lr__memstore_methods.close(h->m, key);
}

static int h_window(void *ud, const char *rep_id, const char *pool_id, int64_t since, uint64_t *count,
                    double *value)
{
    host *h = ud;
    if (host_fault(h, "window"))
        return LEADROUTE_EIO;
    return lr__memstore_methods.window(h->m, rep_id, pool_id, since, count, value);
}

static int h_acknowledge(void *ud, const char *key, int64_t at, int64_t *assigned, char *rep, size_t rep_cap,
                         char *pool, size_t pool_cap)
{
    host *h = ud;
    if (host_fault(h, "acknowledge"))
        return LEADROUTE_EIO;
    return lr__memstore_methods.acknowledge(h->m, key, at, assigned, rep, rep_cap, pool, pool_cap);
}

static int h_list_due(void *ud, int64_t now, int (*each)(void *, const leadroute_assignment *), void *ctx)
{
    host *h = ud;
    if (host_fault(h, "list_due"))
        return LEADROUTE_EIO;
    return lr__memstore_methods.list_due(h->m, now, each, ctx);
}

static const leadroute_store HOST_STORE = { LEADROUTE_STORE_VERSION, h_load_pool, h_find_claim, h_open_count,
                                            h_commit, h_close, h_window, h_acknowledge, h_list_due };

/* bob is away for weighted leads, so availability answers matter. */
static int h_check(void *ud, const char *rep_id, const leadroute_lead *lead, int64_t now, uint32_t *verdict,
                   char *reason, size_t cap)
{
    host *h = ud;
    size_t i;
    (void)now;
    if (host_fault(h, "availability"))
        return LEADROUTE_EUSER;
    *verdict = LEADROUTE_AVAILABLE;
    for (i = 0; i < lead->field_count; i++)
        if (strcmp(lead->fields[i].name, "kind") == 0 && strcmp(lead->fields[i].value.string, "w") == 0 &&
            strcmp(rep_id, "bob") == 0) {
            *verdict = LEADROUTE_AWAY;
            snprintf(reason, cap, "lunch");
        }
    return LEADROUTE_OK;
}

static const leadroute_availability HOST_AVAIL = { LEADROUTE_AVAILABILITY_VERSION, h_check };

static int h_notify(void *ud, const leadroute_assignment *a)
{
    host *h = ud;
    if (host_fault(h, "notify"))
        return LEADROUTE_EUSER;
    return notify_record(&h->ns, a);
}

static const leadroute_notify HOST_NOTIFY = { LEADROUTE_NOTIFY_VERSION, h_notify };

typedef struct hrouter {
    host h;
    leadroute_router *r;
    leadroute_decision *d;
} hrouter;

static void hr_setup(hrouter *hr, leadroute_table *t, leadroute_roster *ro)
{
    memset(hr, 0, sizeof *hr);
    ok(lr__memstore_new(&hr->h.m, NULL, NULL, NULL));
    ok(leadroute_router_new(&hr->r, t, ro, NULL));
    ok(leadroute_router_set_store(hr->r, &HOST_STORE, &hr->h));
    ok(leadroute_router_set_availability(hr->r, &HOST_AVAIL, &hr->h));
    ok(leadroute_router_set_notify(hr->r, &HOST_NOTIFY, &hr->h));
    ok(leadroute_router_set_clock(hr->r, &g_clock, NULL));
    ok(leadroute_decision_new(&hr->d, NULL));
}

static void hr_teardown(hrouter *hr)
{
    leadroute_decision_free(hr->d);
    leadroute_router_free(hr->r);
    lr__memstore_free(hr->h.m);
}

/* One step of the sequence. */
typedef enum step_kind { S_ROUTE, S_ACK, S_TICK, S_CLOSE } step_kind;

typedef struct step {
    step_kind kind;
    const char *id, *lead_kind;
    uint32_t flags;
    int64_t minutes;   /* clock offset for this step */
} step;

static const step SEQUENCE[] = {
    { S_ROUTE, "L1", "r", 0, 0 },
    { S_ROUTE, "L2", "w", LEADROUTE_ROUTE_TRACE, 0 },
    { S_ROUTE, "L3", "r", 0, 1 },
    { S_ROUTE, "L1", "r", 0, 1 },                        /* existing */
    { S_ROUTE, "L4", "direct", LEADROUTE_ROUTE_TRACE, 2 },
    { S_ROUTE, "L2", "w", LEADROUTE_ROUTE_REASSIGN | LEADROUTE_ROUTE_TRACE, 2 },
    { S_ACK, "L1", NULL, 0, 3 },
    { S_TICK, NULL, NULL, 0, 40 },                       /* L2, L3, L4 overdue */
    { S_ROUTE, "L5", "w", LEADROUTE_ROUTE_TRACE, 41 },
    { S_ROUTE, "L6", "r", 0, 41 },
    { S_CLOSE, "L5", NULL, 0, 42 },
    { S_ROUTE, "L3", "r", 0, 42 },                       /* existing, after its move */
    { S_TICK, NULL, NULL, 0, 90 },
};

#define NSTEPS (sizeof SEQUENCE / sizeof SEQUENCE[0])

static int run_step(hrouter *hr, const step *s, char *out, size_t cap)
{
    lead_buf b;
    leadroute_tick_stats st = LEADROUTE_TICK_STATS_INIT;
    int rc;
    g_now = NOW_MS + s->minutes * MIN_MS;
    out[0] = 0;
    switch (s->kind) {
    case S_ROUTE:
        rc = leadroute_route(hr->r, mklead(&b, s->id, s->lead_kind), s->flags, hr->d);
        {
            char buf[8192];
            sbuf sb = { buf, 0, sizeof buf };
            describe_decision(&sb, hr->d, 0);
            snprintf(out, cap, "%s", buf);
        }
        return rc;
    case S_ACK:
        return leadroute_router_acknowledge(hr->r, s->id);
    case S_CLOSE:
        return leadroute_router_close(hr->r, s->id);
    case S_TICK:
        rc = leadroute_router_tick(hr->r, g_now, NULL, NULL, &st);
        snprintf(out, cap, "moved %llu", (unsigned long long)(st.reassigned + st.escalated));
        return rc;
    }
    return LEADROUTE_EINVAL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* Notifications delivered, in a canonical order (a retried one comes late). */
static void notes_text(notes *ns, sbuf *s)
{
    int i;
    qsort(ns->line, (size_t)ns->n, sizeof ns->line[0], cmp_str);
    s->n = 0;
    s->p[0] = 0;
    for (i = 0; i < ns->n; i++)
        sb_add(s, "%s\n", ns->line[i]);
}

static void host_snapshot(hrouter *hr, sbuf *s)
{
    int c = hr->h.counting;
    hr->h.counting = 0;
    snapshot(hr->r, s);
    hr->h.counting = c;
}

/* Holders of every lead the store lists (claimed, not acknowledged), "key>rep" lines. */
static int holder_each(void *ctx, const leadroute_assignment *a)
{
    sbuf *s = ctx;
    sb_add(s, "%s>%s\n", a->key, a->rep_id);
    return 0;
}

static void holders(hrouter *hr, sbuf *s)
{
    int c = hr->h.counting;
    hr->h.counting = 0;
    s->n = 0;
    s->p[0] = 0;
    ok(leadroute_router_list_due(hr->r, INT64_MAX, holder_each, s));
    hr->h.counting = c;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* The holder of `key` in a holders() text, "" if none. */
static void holder_of(const char *text, const char *key, char *out, size_t cap)
{
    char pat[128];
    const char *p;
    size_t n;
    snprintf(pat, sizeof pat, "%s>", key);
    out[0] = 0;
    for (p = text; (p = strstr(p, pat)) != NULL; p++)
        if (p == text || p[-1] == '\n') {
            p += strlen(pat);
            n = strcspn(p, "\n");
            snprintf(out, cap, "%.*s", (int)n, p);
            return;
        }
}

/* After a tick whose move failed: the same leads are held, each by one rep,
 * the failed one by its holder before the tick; a second tick moves it. */
static void holders_after_absorbed_tick(hrouter *f, hrouter *tw, const char *before_snap, long k)
{
    static char hf[8192], ht[8192];
    sbuf sf = { hf, 0, sizeof hf }, st = { ht, 0, sizeof ht };
    const char *p;
    int kept_f = 0, kept_t = 0;
    uint64_t moved_f, moved_t;
    char json[8192];
    holders(f, &sf);
    holders(tw, &st);
    /* the same leads, each held by one rep; more of them still with the
     * holder they had before the tick than the twin kept */
    for (p = ht; *p; p = strchr(p, '\n') + 1) {
        char key[128], rf[128], rt[128], pre[256];
        const char *gt = strchr(p, '>'), *b;
        snprintf(key, sizeof key, "%.*s", (int)(gt - p), p);
        holder_of(hf, key, rf, sizeof rf);
        holder_of(ht, key, rt, sizeof rt);
        if (!rf[0])
            fail_msg("fault %ld: %s lost by a failed tick", k, key);
        snprintf(pre, sizeof pre, "due %s>", key);
        if ((b = strstr(before_snap, pre)) != NULL) {
            b += strlen(pre);
            kept_f += strncmp(b, rf, strlen(rf)) == 0 && b[strlen(rf)] == ' ';
            kept_t += strncmp(b, rt, strlen(rt)) == 0 && b[strlen(rt)] == ' ';
        }
    }
    if (count_lines(hf) != count_lines(ht))
        fail_msg("fault %ld: %d leads held after a failed tick, the twin holds %d", k, count_lines(hf),
                 count_lines(ht));
    if (kept_f < kept_t)
        fail_msg("fault %ld: a failed tick kept %d leads, the twin %d", k, kept_f, kept_t);
    /* the next tick moves what was kept: as many moves in all as the twin made */
    {
        leadroute_tick_stats s1 = LEADROUTE_TICK_STATS_INIT;
        ok(leadroute_router_tick(f->r, g_now, NULL, NULL, &s1));
    }
    ok(leadroute_router_metrics_json(f->r, json, sizeof json, NULL));
    p = strstr(json, "\"reassignments\":");
    assert_non_null(p);
    moved_f = strtoull(p + 16, NULL, 10);
    ok(leadroute_router_metrics_json(tw->r, json, sizeof json, NULL));
    p = strstr(json, "\"reassignments\":");
    moved_t = strtoull(p + 16, NULL, 10);
    if (moved_f != moved_t)
        fail_msg("fault %ld: %llu moves after the second tick, the twin made %llu", k, (unsigned long long)moved_f,
                 (unsigned long long)moved_t);
    holders(f, &sf);
    assert_int_equal(strlen(hf) > 0, 1);
}

static void test_callback_faults(void **state)
{
    static char before[SNAP_MAX], after_f[SNAP_MAX], after_t[SNAP_MAX], nf[8192], nt[8192];
    sbuf sb_before = { before, 0, sizeof before }, sb_f = { after_f, 0, sizeof after_f };
    sbuf sb_t = { after_t, 0, sizeof after_t }, sb_nf = { nf, 0, sizeof nf }, sb_nt = { nt, 0, sizeof nt };
    leadroute_table *t;
    leadroute_roster *ro;
    hrouter ref;
    long n, k;
    long by_kind[4] = { 0, 0, 0, 0 }, notify_faults = 0, absorbed = 0;
    size_t i;
    (void)state;

    g_mismatches = 0;
    memset(&g_fa, 0, sizeof g_fa);
    t = table_of(TABLE);
    ro = roster_of(ROSTER);

    /* count the callback calls of the whole sequence */
    hr_setup(&ref, t, ro);
    ref.h.counting = 1;
    for (i = 0; i < NSTEPS; i++) {
        char out[8192];
        ok(run_step(&ref, &SEQUENCE[i], out, sizeof out));
    }
    n = ref.h.calls;
    hr_teardown(&ref);
    assert_true(n > 20);

    for (k = 1; k <= n; k++) {
        hrouter f, tw;   /* faulty and its twin that never fails */
        int fired = 0, diverged = 0;
        hr_setup(&f, t, ro);
        hr_setup(&tw, t, ro);
        f.h.fail_at = k;
        f.h.counting = 1;
        for (i = 0; i < NSTEPS; i++) {
            const step *s = &SEQUENCE[i];
            char of[8192], ot[8192];
            int rf, rt;
            g_now = NOW_MS + s->minutes * MIN_MS;
            host_snapshot(&tw, &sb_before);
            leadroute_error_clear();
            rf = run_step(&f, s, of, sizeof of);
            if (!fired && f.h.failed[0]) {
                int is_notify = strcmp(f.h.failed, "notify") == 0;
                fired = 1;
                by_kind[s->kind]++;
                if (is_notify) {
                    /* the assignment stands; the notification waits */
                    notify_faults++;
                    ok(rf);
                    if (s->kind == S_ROUTE)
                        assert_int_equal(leadroute_decision_notified(f.d), 0);
                    assert_int_equal(leadroute_router_pending_count(f.r), 1);
                    {
                        char key[256], rep[256];
                        ok(leadroute_router_pending(f.r, 0, key, sizeof key, rep, sizeof rep));
                        assert_non_null(strstr(f.h.failed, "notify"));
                    }
                    size_t delivered = 0;
                    ok(leadroute_router_retry_notifications(f.r, &delivered));
                    assert_int_equal(delivered, 1);
                    rt = run_step(&tw, s, ot, sizeof ot);
                    assert_int_equal(rf, rt);
                } else if (rf == LEADROUTE_OK) {
                    /* only a tick absorbs a failure: the move fails, the lead stays
                     * with its holder, still due, and the next tick moves it */
                    if (s->kind != S_TICK)
                        fail_msg("fault %ld (%s in step %zu): call succeeded", k, f.h.failed, i);
                    absorbed++;
                    rt = run_step(&tw, s, ot, sizeof ot);
                    ok(rt);
                    holders_after_absorbed_tick(&f, &tw, before, k);
                    /* the moves now happen in another order, so rotations differ from
                     * the twin's from here on: the sequence stops for this fault */
                    diverged = 1;
                    break;
                } else {
                    if (rf != LEADROUTE_ECALLBACK)
                        fail_msg("fault %ld (%s in step %zu): returned %d, want ECALLBACK", k, f.h.failed, i, rf);
                    if (leadroute_error_last()->code != LEADROUTE_ECALLBACK ||
                        !strstr(leadroute_error_last()->message, f.h.failed))
                        fail_msg("fault %ld: last error %d '%s' does not name %s", k, leadroute_error_last()->code,
                                 leadroute_error_last()->message, f.h.failed);
                    if (s->kind == S_ROUTE) {
                        assert_int_equal(leadroute_decision_status(f.d), LEADROUTE_ROUTE_UNROUTED);
                        assert_non_null(strstr(leadroute_decision_reason(f.d), f.h.failed));
                    }
                    /* nothing changed: the faulty router equals the twin before the step */
                    host_snapshot(&f, &sb_f);
                    expect_same("state after a failed callback", f.h.failed, k, after_f, before);
                    /* the same step again gives what the twin gets */
                    rf = run_step(&f, s, of, sizeof of);
                    rt = run_step(&tw, s, ot, sizeof ot);
                    assert_int_equal(rf, rt);
                    expect_same("outcome of the retried step", f.h.failed, k, of, ot);
                }
            } else {
                rt = run_step(&tw, s, ot, sizeof ot);
                assert_int_equal(rf, rt);
                expect_same("step outcome", "no fault", k, of, ot);
            }
            host_snapshot(&f, &sb_f);
            host_snapshot(&tw, &sb_t);
            expect_same("state after the step", fired ? f.h.failed : "no fault yet", k, after_f, after_t);
        }
        assert_true(fired);
        /* no lead lost, none assigned twice: the host heard of every assignment once */
        if (!diverged) {
            notes_text(&f.h.ns, &sb_nf);
            notes_text(&tw.h.ns, &sb_nt);
            expect_same("notifications", f.h.failed, k, nf, nt);
        }
        hr_teardown(&f);
        hr_teardown(&tw);
    }
    leadroute_table_unref(t);
    leadroute_roster_unref(ro);
    assert_int_equal(g_fa.live, 0);
    print_message("callback sequence: %ld fault points (route %ld, ack %ld, tick %ld, close %ld; "
                  "notify %ld, absorbed by ticks %ld)\n",
                  n, by_kind[S_ROUTE], by_kind[S_ACK], by_kind[S_TICK], by_kind[S_CLOSE], notify_faults, absorbed);
    expect_no_mismatch();
}

/* ---- a store that breaks its contract ------------------------------------------ */

/* The built-in store behind one method that answers what no store may: the
 * router must report LEADROUTE_ECALLBACK (or skip what it cannot use), never
 * crash or route on the bad answer. */
typedef enum bad_mode {
    BAD_NONE,
    BAD_HISTORY_NULL,     /* list_due: history_count 2, history NULL */
    BAD_NO_REP,           /* list_due: an entry without a rep */
    BAD_EMPTY_HOLDER,     /* find_claim: OK with "" */
    BAD_ACCOUNT_FAILS,    /* find_claim: EIO for "account:" keys */
    BAD_ACCOUNT_EMPTY,    /* find_claim: OK with "" for "account:" keys */
    BAD_NEGATIVE_VALUE,   /* window: a value sum of -5 */
    BAD_HUGE_LENGTH,      /* load_pool: a length no buffer can have */
    BAD_ALWAYS_MORE,      /* load_pool: always one byte more than the buffer */
    BAD_FIND_FAILS,       /* find_claim: EIO for "lead:" keys */
    BAD_UNTERMINATED,     /* find_claim: OK with the buffer full and no NUL */
    BAD_ACCOUNT_UNTERMINATED, /* the same for "account:" keys */
    BAD_FIND_CONFLICT_2ND,/* find_claim: ECONFLICT on the second call for a "lead:" key */
    BAD_COMMIT_EIO,       /* commit: EIO */
    BAD_COMMIT_NO_OWNER,  /* commit: EEXISTS naming no holder */
    BAD_WINDOW_2ND        /* window: EIO from its second call on */
} bad_mode;

typedef struct bad_store {
    lr__memstore *m;
    bad_mode mode;
    long load_calls, find_calls, window_calls;
} bad_store;

static int is_account(const char *key)
{
    return strncmp(key, "account:", 8) == 0;
}

static int b_load_pool(void *ud, const char *pool_id, void *buf, size_t cap, size_t *length, uint64_t *ver)
{
    bad_store *b = ud;
    b->load_calls++;
    if (b->mode == BAD_HUGE_LENGTH || b->mode == BAD_ALWAYS_MORE) {
        *length = b->mode == BAD_HUGE_LENGTH ? SIZE_MAX / 2 : cap + 1;
        *ver = 0;
        return LEADROUTE_OK;
    }
    return lr__memstore_methods.load_pool(b->m, pool_id, buf, cap, length, ver);
}

static int b_find_claim(void *ud, const char *key, char *rep_id, size_t cap)
{
    bad_store *b = ud;
    if (b->mode == BAD_EMPTY_HOLDER || (b->mode == BAD_ACCOUNT_EMPTY && is_account(key))) {
        rep_id[0] = 0;
        return LEADROUTE_OK;
    }
    if (b->mode == BAD_ACCOUNT_UNTERMINATED && is_account(key)) {
        memset(rep_id, 'a', cap);
        return LEADROUTE_OK;
    }
    if (b->mode == BAD_ACCOUNT_FAILS && is_account(key)) {
        /* what a failing store left in the buffer is no answer either */
        snprintf(rep_id, cap, "alice");
        return LEADROUTE_EIO;
    }
    if (!is_account(key)) {
        b->find_calls++;
        if (b->mode == BAD_FIND_FAILS)
            return LEADROUTE_EIO;
        if (b->mode == BAD_UNTERMINATED) {
            memset(rep_id, 'z', cap);
            return LEADROUTE_OK;
        }
        if (b->mode == BAD_FIND_CONFLICT_2ND && b->find_calls == 2)
            return LEADROUTE_ECONFLICT;
    }
    return lr__memstore_methods.find_claim(b->m, key, rep_id, cap);
}

static int b_open_count(void *ud, const char *rep_id, uint32_t *count)
{
    return lr__memstore_methods.open_count(((bad_store *)ud)->m, rep_id, count);
}

static int b_commit(void *ud, const leadroute_commit *c, char *owner, size_t owner_cap)
{
    if (((bad_store *)ud)->mode == BAD_COMMIT_EIO)
        return LEADROUTE_EIO;
    if (((bad_store *)ud)->mode == BAD_COMMIT_NO_OWNER) {
        if (owner_cap)
            owner[0] = 0;
        return LEADROUTE_EEXISTS;
    }
    return lr__memstore_methods.commit(((bad_store *)ud)->m, c, owner, owner_cap);
}

static int b_close(void *ud, const char *key)
{
    return lr__memstore_methods.close(((bad_store *)ud)->m, key);
}

static int b_window(void *ud, const char *rep_id, const char *pool_id, int64_t since, uint64_t *count,
                    double *value)
{
    bad_store *b = ud;
    if (b->mode == BAD_WINDOW_2ND && ++b->window_calls >= 2)
        return LEADROUTE_EIO;
    int rc = lr__memstore_methods.window(b->m, rep_id, pool_id, since, count, value);
    if (rc == LEADROUTE_OK && b->mode == BAD_NEGATIVE_VALUE)
        *value = -5;
    return rc;
}

static int b_acknowledge(void *ud, const char *key, int64_t at, int64_t *assigned, char *rep, size_t rep_cap,
                         char *pool, size_t pool_cap)
{
    return lr__memstore_methods.acknowledge(((bad_store *)ud)->m, key, at, assigned, rep, rep_cap, pool, pool_cap);
}

static int b_list_due(void *ud, int64_t now, int (*each)(void *, const leadroute_assignment *), void *ctx)
{
    bad_store *b = ud;
    leadroute_assignment a;
    if (b->mode != BAD_HISTORY_NULL && b->mode != BAD_NO_REP)
        return lr__memstore_methods.list_due(b->m, now, each, ctx);
    memset(&a, 0, sizeof a);
    a.version = LEADROUTE_ASSIGNMENT_VERSION;
    a.key = "lead:L1";
    a.lead_id = "L1";
    a.rep_id = b->mode == BAD_NO_REP ? NULL : "alice";
    a.pool_id = "rr";
    a.rule_id = "rr";
    a.deadline_ms = now - MIN_MS;
    a.history = NULL;
    a.history_count = b->mode == BAD_HISTORY_NULL ? 2 : 0;
    return each(ctx, &a);
}

static const leadroute_store BAD_STORE = { LEADROUTE_STORE_VERSION, b_load_pool, b_find_claim, b_open_count,
                                           b_commit, b_close, b_window, b_acknowledge, b_list_due };

/* An owner-first pool and a value-balanced one next to the round robin. */
static const char *const CONTRACT_TABLE =
    "#! hit_policy: first\n"
    "rule,kind,out:pool\n"
    "acct,a,owners\n"
    "value,v,deals\n"
    "rest,-,rr\n";

static const char *const CONTRACT_ROSTER =
    "#! pools\n"
    "id,strategy,owner_first\n"
    "owners,round_robin,yes\n"
    "deals,value_balanced,no\n"
    "rr,round_robin,no\n"
    "#! reps\n"
    "id,pools\n"
    "alice,\"owners, deals, rr\"\n"
    "bob,\"owners, deals, rr\"\n";

typedef struct brouter {
    bad_store b;
    leadroute_table *t;
    leadroute_roster *ro;
    leadroute_router *r;
    leadroute_decision *d;
} brouter;

static void br_setup(brouter *br, bad_mode mode)
{
    memset(br, 0, sizeof *br);
    g_now = NOW_MS;
    ok(lr__memstore_new(&br->b.m, NULL, NULL, NULL));
    br->t = table_of(CONTRACT_TABLE);
    br->ro = roster_of(CONTRACT_ROSTER);
    ok(leadroute_router_new(&br->r, br->t, br->ro, NULL));
    ok(leadroute_router_set_store(br->r, &BAD_STORE, &br->b));
    ok(leadroute_router_set_clock(br->r, &g_clock, NULL));
    ok(leadroute_decision_new(&br->d, NULL));
    br->b.mode = mode;
}

static void br_teardown(brouter *br)
{
    leadroute_decision_free(br->d);
    leadroute_router_free(br->r);
    leadroute_roster_unref(br->ro);
    leadroute_table_unref(br->t);
    lr__memstore_free(br->b.m);
}

/* A lead of `kind` with an email, so owner-first pools look up its account. */
static int br_route(brouter *br, const char *id, const char *kind)
{
    lead_buf b;
    leadroute_field f[4];
    leadroute_lead l;
    leadroute_value v = LEADROUTE_VALUE_INIT;
    l = *mklead(&b, id, kind);
    memcpy(f, b.f, l.field_count * sizeof *f);
    f[l.field_count].name = "email";
    f[l.field_count].value = v;
    f[l.field_count].value.type = LEADROUTE_VALUE_STRING;
    f[l.field_count].value.string = "ann@acme.com";
    l.fields = f;
    l.field_count++;
    return leadroute_route(br->r, &l, LEADROUTE_ROUTE_TRACE, br->d);
}

static void expect_error_has(const char *needle)
{
    if (!strstr(leadroute_error_last()->message, needle))
        fail_msg("last error '%s' lacks '%s'", leadroute_error_last()->message, needle);
}

/* A routing call the store's answer makes fail: ECALLBACK, unrouted, nothing claimed. */
static void expect_route_callback_error(brouter *br, const char *id, const char *kind, const char *needle)
{
    char holder[64];
    leadroute_error_clear();
    assert_int_equal(br_route(br, id, kind), LEADROUTE_ECALLBACK);
    assert_int_equal(leadroute_error_last()->code, LEADROUTE_ECALLBACK);
    expect_error_has(needle);
    assert_int_equal(leadroute_decision_status(br->d), LEADROUTE_ROUTE_UNROUTED);
    assert_null(leadroute_decision_rep(br->d));
    assert_non_null(strstr(leadroute_decision_reason(br->d), needle));
    snprintf(holder, sizeof holder, "lead:%s", id);
    assert_int_equal(lr__memstore_methods.find_claim(br->b.m, holder, holder, sizeof holder), LEADROUTE_ENOTFOUND);
}

/* A notification retry asks find_claim whether the lead moved: a store
 * that fails or answers with no rep id decides nothing, and the
 * notification waits (ECALLBACK naming the store's fault); a failing notify
 * is named with its code. Once both work, it is delivered once. */
static void test_retry_with_a_failing_store(void **state)
{
    brouter br;
    notes ns;
    size_t delivered = 9;
    (void)state;
    memset(&ns, 0, sizeof ns);
    br_setup(&br, BAD_NONE);
    leadroute_notify nv = { LEADROUTE_NOTIFY_VERSION, notify_record };
    ok(leadroute_router_set_notify(br.r, &nv, &ns));
    ns.fail = LEADROUTE_EIO;
    ok(br_route(&br, "L1", "r"));
    assert_int_equal(leadroute_router_pending_count(br.r), 1);
    ns.fail = 0;
    static const struct { bad_mode mode; const char *why; } faults[] = {
        { BAD_EMPTY_HOLDER, "store find_claim callback gave an empty rep id for key 'L1'" },
        { BAD_UNTERMINATED, "store find_claim callback gave a rep id longer than 256 bytes" },
        { BAD_FIND_FAILS, "store find_claim callback failed with -9 (input/output error)" },
    };
    for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) {
        br.b.mode = faults[i].mode;
        assert_int_equal(leadroute_router_retry_notifications(br.r, &delivered), LEADROUTE_ECALLBACK);
        assert_int_equal(delivered, 0);
        expect_error_has("1 notification still pending; the last failure: ");
        expect_error_has(faults[i].why);
        assert_int_equal(leadroute_router_pending_count(br.r), 1);
        assert_int_equal(ns.n, 0);
    }
    br.b.mode = BAD_NONE;
    ns.fail = LEADROUTE_EUSER;
    assert_int_equal(leadroute_router_retry_notifications(br.r, &delivered), LEADROUTE_ECALLBACK);
    expect_error_has("the last failure: notify callback failed with -12");
    ns.fail = 0;
    ok(leadroute_router_retry_notifications(br.r, &delivered));
    assert_int_equal(delivered, 1);
    assert_int_equal(ns.n, 1);
    assert_int_equal(leadroute_router_pending_count(br.r), 0);
    br_teardown(&br);
}

/* A failed callback's message names the callback and its code, and adds no
 * message an earlier call left on the thread with the same code. */
static void test_callback_message_is_its_own(void **state)
{
    brouter br;
    leadroute_roster *none = NULL;
    (void)state;
    br_setup(&br, BAD_COMMIT_EIO);
    assert_int_equal(leadroute_roster_load(&none, "/nonexistent/roster.csv", NULL), LEADROUTE_EIO);
    expect_error_has("cannot open");
    assert_int_equal(br_route(&br, "L1", "r"), LEADROUTE_ECALLBACK);
    expect_error_has("store commit callback failed with -9 (input/output error)");
    if (strstr(leadroute_error_last()->message, "cannot open"))
        fail_msg("an older error crept into the message: %s", leadroute_error_last()->message);
    br_teardown(&br);
    /* a commit that says the key is claimed but names no one; the key shown
     * as every message shows a lead's, without its "lead:" */
    br_setup(&br, BAD_COMMIT_NO_OWNER);
    assert_int_equal(br_route(&br, "L1", "r"), LEADROUTE_ECALLBACK);
    expect_error_has("store commit callback said key 'L1' is claimed but gave no rep id");
    br_teardown(&br);
}

/* The rolling caps are read again under the caps lock before the commit: a
 * window failing there is a window failure, not a commit's. */
static void test_cap_recheck_window_failure(void **state)
{
    brouter br;
    (void)state;
    br_setup(&br, BAD_WINDOW_2ND);
    leadroute_roster *capped = roster_of("#! pools\nid,strategy\nrr,round_robin\n#! reps\nid,pools,cap_day\n"
                                         "alice,rr,50\n");
    ok(leadroute_router_set_roster(br.r, capped));
    leadroute_roster_unref(capped);
    expect_route_callback_error(&br, "L1", "r", "store window callback failed with -9");
    if (strstr(leadroute_error_last()->message, "commit"))
        fail_msg("the message names the commit: %s", leadroute_error_last()->message);
    assert_int_equal(br.b.window_calls, 2);
    br_teardown(&br);
}

/* A fork's overlay reads its parent while it commits: a parent read failing
 * with ECONFLICT must not pass for the commit's own conflict (a retry that
 * then succeeds), but fail the call. */
static void test_fork_parent_read_conflict(void **state)
{
    brouter br;
    leadroute_router *f = NULL;
    (void)state;
    br_setup(&br, BAD_FIND_CONFLICT_2ND);
    ok(leadroute_router_fork(&f, br.r));
    leadroute_error_clear();
    lead_buf b;
    assert_int_equal(leadroute_route(f, mklead(&b, "L1", "r"), 0, br.d), LEADROUTE_ECALLBACK);
    expect_error_has("the parent store's find_claim failed with -14");
    assert_int_equal(leadroute_decision_status(br.d), LEADROUTE_ROUTE_UNROUTED);
    leadroute_router_free(f);
    br_teardown(&br);
}

/* list_due with history_count > 0 and no history array: a failed callback, not a crash. */
static void test_list_due_history_null(void **state)
{
    brouter br;
    leadroute_tick_stats st = LEADROUTE_TICK_STATS_INIT;
    (void)state;
    br_setup(&br, BAD_HISTORY_NULL);
    leadroute_error_clear();
    assert_int_equal(leadroute_router_tick(br.r, NOW_MS, NULL, NULL, &st), LEADROUTE_ECALLBACK);
    assert_int_equal(leadroute_error_last()->code, LEADROUTE_ECALLBACK);
    expect_error_has("store list_due callback gave 2 history entries and history NULL for key '");
    assert_int_equal(st.reassigned + st.escalated + st.raced, 0);
    br_teardown(&br);
}

/* An entry without a rep has nothing to move: skipped, not counted, not an error. */
static void test_list_due_no_rep(void **state)
{
    brouter br;
    leadroute_tick_stats st = LEADROUTE_TICK_STATS_INIT;
    (void)state;
    br_setup(&br, BAD_NO_REP);
    st.due = 99;
    ok(leadroute_router_tick(br.r, NOW_MS, NULL, NULL, &st));
    assert_int_equal(st.due, 0);
    assert_int_equal(st.reassigned + st.escalated + st.kept + st.raced, 0);
    br_teardown(&br);
}

/* A claim held by "" is no answer: the lead is neither existing nor free. */
static void test_find_claim_empty_holder(void **state)
{
    brouter br;
    (void)state;
    br_setup(&br, BAD_EMPTY_HOLDER);
    expect_route_callback_error(&br, "L1", "r", "empty rep id");
    br_teardown(&br);
}

/* The account lookup of an owner-first pool fails the call, like any store
 * failure: the strategy must not pick instead of the account owner. */
static void test_find_claim_account(void **state)
{
    brouter br;
    (void)state;
    br_setup(&br, BAD_ACCOUNT_FAILS);
    expect_route_callback_error(&br, "L1", "a", "find_claim callback failed");
    br_teardown(&br);

    br_setup(&br, BAD_ACCOUNT_EMPTY);
    expect_route_callback_error(&br, "L1", "a", "empty rep id");
    expect_error_has("account:acme.com");
    br_teardown(&br);

    /* a rep id with no end is none, not the first 256 bytes of one */
    br_setup(&br, BAD_ACCOUNT_UNTERMINATED);
    expect_route_callback_error(&br, "L1", "a", "gave a rep id longer than 256 bytes for key 'account:acme.com'");
    br_teardown(&br);

    /* the same lead routes once the store answers */
    br_setup(&br, BAD_NONE);
    ok(br_route(&br, "L1", "a"));
    assert_int_equal(leadroute_decision_status(br.d), LEADROUTE_ROUTE_ASSIGNED);
    br_teardown(&br);
}

/* Deal values are never negative: a window summing to -5 is a broken store. */
static void test_window_negative_value(void **state)
{
    brouter br;
    (void)state;
    br_setup(&br, BAD_NEGATIVE_VALUE);
    expect_route_callback_error(&br, "L1", "v", "window");
    expect_error_has("-5");
    br_teardown(&br);
}

/* load_pool lengths the router cannot believe. */
static void test_load_pool_lengths(void **state)
{
    brouter br;
    (void)state;
    br_setup(&br, BAD_HUGE_LENGTH);
    expect_route_callback_error(&br, "L1", "r", "impossible length");
    assert_int_equal(br.b.load_calls, 1);
    br_teardown(&br);

    /* asked again with a larger buffer 3 times (LR_LOAD_REGROWS), then given up */
    br_setup(&br, BAD_ALWAYS_MORE);
    expect_route_callback_error(&br, "L1", "r", "larger buffer 4 times in a row");
    assert_int_equal(br.b.load_calls, 4);
    br_teardown(&br);
}

/* A decision whose text cannot grow: a queued or unassigned outcome that lost
 * a string (queue, reason) is not reported as whole but as ENOMEM. The id
 * lengths move where the decision's text has to grow. */
static void test_alloc_faults_unsent_outcomes(void **state)
{
    static const char *const kinds[] = { "q", "n" };
    static const uint32_t want[] = { LEADROUTE_ROUTE_QUEUED, LEADROUTE_ROUTE_UNASSIGNED };
    static char ref[SNAP_MAX], got[SNAP_MAX];
    sbuf sb_ref = { ref, 0, sizeof ref }, sb_got = { got, 0, sizeof got };
    char id[200];
    size_t len, i;
    long points = 0, enomem = 0;
    (void)state;
    g_mismatches = 0;
    for (i = 0; i < 2; i++) {
        for (len = 1; len < sizeof id; len += 7) {
            fixture fx;
            long n, k;
            memset(id, 'x', len);
            id[len] = 0;
            memset(&g_fa, 0, sizeof g_fa);
            fx_setup(&fx);
            fa_arm(0);
            ok(route(&fx, id, kinds[i], 0));
            fa_disarm();
            n = g_fa.calls;
            assert_int_equal(leadroute_decision_status(fx.d), want[i]);
            sb_ref.n = 0;
            describe_decision(&sb_ref, fx.d, 1);
            fx_teardown(&fx);
            for (k = 1; k <= n; k++) {
                int rc;
                fx_setup(&fx);
                fa_arm(k);
                rc = route(&fx, id, kinds[i], 0);
                fa_disarm();
                points++;
                if (rc == LEADROUTE_ENOMEM) {
                    enomem++;
                    assert_int_equal(leadroute_decision_status(fx.d), LEADROUTE_ROUTE_UNROUTED);
                } else {
                    if (rc != LEADROUTE_OK)
                        fail_msg("kind %s, id length %zu, fault %ld: returned %d", kinds[i], len, k, rc);
                    if (want[i] == LEADROUTE_ROUTE_QUEUED && !leadroute_decision_queue(fx.d))
                        fail_msg("id length %zu, fault %ld: queued without its queue", len, k);
                    /* a success is the whole outcome */
                    sb_got.n = 0;
                    describe_decision(&sb_got, fx.d, 1);
                    expect_same("outcome", kinds[i], k, got, ref);
                }
                fx_teardown(&fx);
                assert_int_equal(g_fa.live, 0);
            }
        }
    }
    assert_true(enomem > 0);
    print_message("queued and unassigned outcomes: %ld fault points, %ld ENOMEM\n", points, enomem);
    expect_no_mismatch();
}

/* A spare notification block too small for the next assignment is replaced
 * before the commit: when notify then fails, keeping the notification needs
 * no allocation, so no allocation failure can lose it. */
static void test_alloc_faults_pending_spare(void **state)
{
    char id[400];
    long n = 0, k, kept = 0;
    (void)state;
    memset(id, 'y', sizeof id - 1);
    id[sizeof id - 1] = 0;
    for (k = 0;; k++) {
        fixture fx;
        int rc;
        memset(&g_fa, 0, sizeof g_fa);
        fx_setup(&fx);
        /* a short lead leaves the decision a small spare block */
        route_ok(&fx, "L1", "r", 0);
        assert_int_equal(leadroute_router_pending_count(fx.router), 0);
        fx.ns.fail = LEADROUTE_EIO;
        fa_arm(k);
        rc = route(&fx, id, "r", 0);
        fa_disarm();
        fx.ns.fail = 0;
        if (k == 0)
            n = g_fa.calls;   /* the fault points: every allocation of the call */
        if (rc == LEADROUTE_OK) {
            assert_int_equal(leadroute_decision_status(fx.d), LEADROUTE_ROUTE_ASSIGNED);
            assert_int_equal(leadroute_decision_notified(fx.d), 0);
            if (leadroute_router_pending_count(fx.router) != 1)
                fail_msg("fault %ld: assigned, notify failed, and the notification was lost", k);
            kept++;
        } else {
            if (rc != LEADROUTE_ENOMEM)
                fail_msg("fault %ld: returned %d (%s)", k, rc, leadroute_error_last()->message);
            assert_int_equal(leadroute_router_pending_count(fx.router), 0);
        }
        fx_teardown(&fx);
        assert_int_equal(g_fa.live, 0);
        if (k >= n)
            break;
    }
    assert_true(kept >= 1);
    print_message("pending notification with a small spare: %ld fault points\n", n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_faults_in_constructors),
        cmocka_unit_test(test_alloc_faults_in_calls),
        cmocka_unit_test(test_rendering_allocates_nothing),
        cmocka_unit_test(test_callback_faults),
        cmocka_unit_test(test_list_due_history_null),
        cmocka_unit_test(test_list_due_no_rep),
        cmocka_unit_test(test_find_claim_empty_holder),
        cmocka_unit_test(test_retry_with_a_failing_store),
        cmocka_unit_test(test_callback_message_is_its_own),
        cmocka_unit_test(test_cap_recheck_window_failure),
        cmocka_unit_test(test_fork_parent_read_conflict),
        cmocka_unit_test(test_find_claim_account),
        cmocka_unit_test(test_window_negative_value),
        cmocka_unit_test(test_load_pool_lengths),
        cmocka_unit_test(test_alloc_faults_unsent_outcomes),
        cmocka_unit_test(test_alloc_faults_pending_spare),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
