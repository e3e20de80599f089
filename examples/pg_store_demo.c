/*
 * pg_store_demo: routing state that lives in a PostgreSQL database.
 *
 * A router normally keeps rotation pointers, claims and deadlines in
 * memory; with pg_store (pg_store.h) they live in PostgreSQL, so a second
 * run, another process or a scheduler that ticks deadlines carries on
 * where the first left off. The self-check:
 *
 *   run 1   routes four leads inside one batch (one transaction);
 *   run 2   opens the store again with a new router: the rotation goes on
 *           with the next rep, a lead routed before stays with its rep, a
 *           rep at capacity is skipped; one lead is acknowledged, a tick
 *           past the deadline moves the other hot lead to another rep;
 *   then    checks the assignment windows, lists the events recorded for
 *           a lead, rolls a batch back (nothing of it stays), shows two
 *           handles on one database (each sees the other's commits, a
 *           commit based on a stale pool state conflicts), and cuts the
 *           store's connection: the call fails with EIO, the next one
 *           reconnects; a batch cut short leaves nothing. Last, commits
 *           made straight to the store: a conflict inside a batch, an
 *           account claim, a pool state larger than the buffer.
 *
 * It works in a schema of its own (lr_demo_<pid>; names starting with pg_ are
 * the server's), dropped at the
 * end, and exits non-zero on any surprise.
 *
 * Usage: pg_store_demo [CONNINFO]     (default: $LEADROUTE_PG; neither: skip,
 *                                      exit 77)
 *        pg_store_demo route CONNINFO SCHEMA LEADS NOW_MS
 *            route the leads of file LEADS (lines "id,priority") at clock
 *            time NOW_MS with a five-rep round robin, for multi-process tests
 *        pg_store_demo tick CONNINFO SCHEMA NOW_MS
 *            one tick of that router's deadlines at NOW_MS
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* getpid */
#endif
#include "pg_store.h"

#include <leadroute/leadroute.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

/* Hot leads must be followed up within 30 minutes; the others have no
 * deadline. Every lead goes to the sales pool. */
static const char table_csv[] =
    "#! name: demo\n"
    "#! hit_policy: first\n"
    "rule,priority,out:pool,out:sla_minutes:number\n"
    "hot,hot,sales,30\n"
    "rest,-,sales,\n";

/* Round robin over three reps; cy holds at most one open lead. An overdue
 * lead is reassigned within the pool up to twice (max_hops). */
static const char roster_csv[] =
    "#! pools\n"
    "id,strategy,max_hops\n"
    "sales,round_robin,2\n"
    "#! reps\n"
    "id,name,pools,capacity\n"
    "ana,Ana Lima,sales,\n"
    "bo,Bo Chen,sales,\n"
    "cy,Cy Okafor,sales,1\n";

#define MINUTE_MS ((int64_t)60 * 1000)
#define T0 ((int64_t)1772442000000) /* 2026-03-02T09:00:00Z */

/* The route and tick modes: five reps in one round robin, no caps. */
static const char route_roster_csv[] =
    "#! pools\n"
    "id,strategy,max_hops\n"
    "sales,round_robin,2\n"
    "#! reps\n"
    "id,pools\n"
    "r1,sales\nr2,sales\nr3,sales\nr4,sales\nr5,sales\n";

/* The schema the store's tables live in. */
static const char *demo_schema;
/* The roster of the routers run_open() makes. */
static const char *demo_roster = roster_csv;
/* Record each routing decision as an event (the self-check does). */
static int record_routes = 1;

/* The clock the router reads: the demo moves it by hand. */
static int64_t demo_now = T0;

static int64_t demo_clock(void *user_data)
{
    (void)user_data;
    return demo_now;
}

/* Everything one run wires together. */
typedef struct run {
    pg_store *store;
    leadroute_router *router;
    leadroute_decision *decision;
} run;

/* What the demo saw assigned to each rep, to check the store's windows. */
static const char *const rep_ids[] = { "ana", "bo", "cy" };
#define REP_COUNT 3
typedef struct tally {
    uint64_t count[REP_COUNT];
    double value[REP_COUNT];
} tally;

static void tally_add(tally *t, const char *rep, double value)
{
    for (size_t i = 0; i < REP_COUNT; i++)
        if (rep && strcmp(rep, rep_ids[i]) == 0) {
            t->count[i]++;
            t->value[i] += value;
        }
}

#if defined(__GNUC__)
#define PRINTF_LIKE(a, b) __attribute__((format(printf, a, b)))
#else
#define PRINTF_LIKE(a, b)
#endif

static int failed(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* A check that did not hold: say what, return 1. */
static int failed(const char *fmt, ...)
{
    va_list ap;
    fputs("pg_store_demo: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

/* Text for a string that may be NULL. */
static const char *show(const char *s)
{
    return s ? s : "(none)";
}

static int lib_failed(const char *what, int rc)
{
    fprintf(stderr, "pg_store_demo: %s failed: %s (%s)\n", what, leadroute_error_last()->message,
            leadroute_strerror(rc));
    return 1;
}

static int store_failed(const char *what, int rc, const pg_store *store)
{
    fprintf(stderr, "pg_store_demo: %s failed: %s (%s)\n", what, pg_store_errmsg(store),
            leadroute_strerror(rc));
    return 1;
}

/* Sums of deal values, added in another order by the store: equal to within rounding. */
static int same_value(double a, double b)
{
    double d = a > b ? a - b : b - a, scale = a > 0 ? a : -a;
    return d <= 1e-9 * (scale > 1 ? scale : 1);
}

static int same(const char *a, const char *b)
{
    return a && b ? strcmp(a, b) == 0 : a == b;
}

/* Notify: the host hears of every assignment. Here the moves a tick makes
 * are recorded as events beside the routing decisions. */
static int on_assigned(void *user_data, const leadroute_assignment *a)
{
    pg_store *store = user_data;
    char detail[512];
    if (!a->previous)
        return LEADROUTE_OK; /* routes are recorded with their trace by route_lead() */
    snprintf(detail, sizeof detail, "{\"rep\":\"%s\",\"previous\":\"%s\",\"hops\":%" PRIu32 "}", a->rep_id,
             a->previous, a->hops);
    pg_store_event e = { a->at_ms, a->escalated ? "escalated" : "reassigned", a->key, a->lead_id, detail };
    return pg_store_record(store, &e) == LEADROUTE_OK ? LEADROUTE_OK : LEADROUTE_EIO;
}

static void run_close(run *r)
{
    leadroute_decision_free(r->decision);
    leadroute_router_free(r->router);
    pg_store_close(r->store);
    memset(r, 0, sizeof *r);
}

/* Open the database and a router that keeps its state there. */
static int run_open(run *r, const char *path)
{
    leadroute_table *table = NULL;
    leadroute_roster *roster = NULL;
    leadroute_clock clock = { LEADROUTE_CLOCK_VERSION, demo_clock };
    leadroute_notify notify = { LEADROUTE_NOTIFY_VERSION, on_assigned };
    char err[512];
    int rc;

    memset(r, 0, sizeof *r);
    if ((rc = pg_store_open_schema(&r->store, path, demo_schema, err, sizeof err)) != LEADROUTE_OK) {
        fprintf(stderr, "pg_store_demo: %s (%s)\n", err, leadroute_strerror(rc));
        return 1;
    }
    if ((rc = leadroute_table_parse(&table, table_csv, strlen(table_csv), "demo.csv", NULL)) != LEADROUTE_OK)
        return lib_failed("leadroute_table_parse", rc);
    rc = leadroute_roster_parse(&roster, demo_roster, strlen(demo_roster), "roster.csv", NULL);
    if (rc != LEADROUTE_OK) {
        leadroute_table_unref(table);
        return lib_failed("leadroute_roster_parse", rc);
    }
    /* Several processes routing from one pool take turns on its state: a
     * process whose commit loses the compare-and-swap reads the pool again
     * and retries. On a busy machine a slow process can lose more than the
     * default 64 times in a row, so the route and tick modes allow more. */
    leadroute_router_options options = LEADROUTE_ROUTER_OPTIONS_INIT;
    options.max_retries = demo_roster == route_roster_csv ? 10000 : 0;
    rc = leadroute_router_new(&r->router, table, roster, &options);
    leadroute_table_unref(table); /* the router holds its own references */
    leadroute_roster_unref(roster);
    if (rc != LEADROUTE_OK)
        return lib_failed("leadroute_router_new", rc);
    /* the callbacks are copied; set them before routing starts */
    if ((rc = leadroute_router_set_store(r->router, &pg_store_methods, r->store)) != LEADROUTE_OK ||
        (rc = leadroute_router_set_clock(r->router, &clock, NULL)) != LEADROUTE_OK ||
        (rc = leadroute_router_set_notify(r->router, &notify, r->store)) != LEADROUTE_OK)
        return lib_failed("leadroute_router_set_...", rc);
    if ((rc = leadroute_decision_new(&r->decision, NULL)) != LEADROUTE_OK)
        return lib_failed("leadroute_decision_new", rc);
    return 0;
}

/* Route one lead and record the decision's trace as an event, so a later
 * `explain` can say why. Returns the rep (owned by the decision) in *rep. */
static int route_lead(run *r, const char *id, const char *priority, double deal_value, tally *seen,
                      uint32_t *status, const char **rep)
{
    leadroute_field fields[2];
    leadroute_value init = LEADROUTE_VALUE_INIT;
    leadroute_lead lead;
    char key[64], trace[8192];
    size_t needed = 0;
    int rc;

    fields[0].name = "priority";
    fields[0].value = init;
    fields[0].value.type = LEADROUTE_VALUE_STRING;
    fields[0].value.string = priority;
    fields[1].name = "deal_value"; /* the pool's value field: the window sums it */
    fields[1].value = init;
    fields[1].value.type = LEADROUTE_VALUE_NUMBER;
    fields[1].value.number = deal_value;
    leadroute_lead_init(&lead, LEADROUTE_LEAD_VERSION);
    lead.id = id;
    lead.fields = fields;
    lead.field_count = 2;

    if ((rc = leadroute_route(r->router, &lead, LEADROUTE_ROUTE_TRACE, r->decision)) != LEADROUTE_OK) {
        fprintf(stderr, "pg_store_demo: %s: %s\n", id, leadroute_decision_reason(r->decision));
        if (rc == LEADROUTE_ECALLBACK || rc == LEADROUTE_ECONFLICT)
            fprintf(stderr, "pg_store_demo: the store says: %s\n", pg_store_errmsg(r->store));
        return lib_failed("leadroute_route", rc);
    }
    *status = leadroute_decision_status(r->decision);
    *rep = leadroute_decision_rep(r->decision);
    if (*status != LEADROUTE_ROUTE_ASSIGNED || !record_routes)
        return 0; /* existing: nothing new to record */
    if (seen)
        tally_add(seen, *rep, deal_value);
    rc = leadroute_decision_explain(r->decision, LEADROUTE_EXPLAIN_JSON, trace, sizeof trace, &needed);
    if (rc != LEADROUTE_OK || needed >= sizeof trace)
        return lib_failed("leadroute_decision_explain", rc != LEADROUTE_OK ? rc : LEADROUTE_ERANGE);
    snprintf(key, sizeof key, "lead:%s", id);
    pg_store_event e = { demo_now, "routed", key, id, trace };
    if ((rc = pg_store_record(r->store, &e)) != LEADROUTE_OK)
        return store_failed("pg_store_record", rc, r->store);
    return 0;
}

/* Route a lead that must be newly assigned to `want` (NULL: anyone). */
static int expect_assigned(run *r, const char *id, const char *priority, double value, tally *seen,
                           const char *want, const char **got)
{
    uint32_t status = 0;
    const char *rep = NULL;
    if (route_lead(r, id, priority, value, seen, &status, &rep) != 0)
        return 1;
    if (status != LEADROUTE_ROUTE_ASSIGNED || (want && !same(rep, want))) {
        fprintf(stderr, "pg_store_demo: %s: expected assigned to %s, got %s to %s\n", id,
                want ? want : "anyone",
                leadroute_route_status_name(status), rep ? rep : "nobody");
        return 1;
    }
    if (got)
        *got = rep;
    return 0;
}

/* pg_store_events callback: count and print. */
typedef struct event_list {
    size_t n;
    char kinds[128];
} event_list;

static int collect_event(void *ctx, const pg_store_event *e)
{
    event_list *l = ctx;
    size_t used = strlen(l->kinds);
    snprintf(l->kinds + used, sizeof l->kinds - used, "%s%s", used ? "," : "", e->kind);
    l->n++;
    return 0;
}

static int count_pending(void *ctx, const leadroute_assignment *a)
{
    (void)a;
    (*(size_t *)ctx)++;
    return 0;
}

/* Pool version as the store has it. */
static int pool_version(pg_store *store, uint64_t *version)
{
    char buf[256];
    size_t length = 0;
    int rc = pg_store_methods.load_pool(store, "sales", buf, sizeof buf, &length, version);
    return rc == LEADROUTE_OK ? 0 : store_failed("load_pool", rc, store);
}

/* Run 1: four leads in one batch, all or nothing. */
static int run_one(const char *path, tally *seen)
{
    run r;
    int status = 1, rc;
    if (run_open(&r, path) != 0)
        goto done;
    if ((rc = pg_store_begin(r.store)) != LEADROUTE_OK) {
        store_failed("pg_store_begin", rc, r.store);
        goto done;
    }
    /* round robin: the next rep by id after the last one served */
    static const struct { const char *id, *priority, *rep; double value; } leads[] = {
        { "L-1", "hot", "ana", 1000 }, { "L-2", "cold", "bo", 2000 },
        { "L-3", "hot", "cy", 3000 },  { "L-4", "cold", "ana", 4000 },
    };
    for (size_t i = 0; i < sizeof leads / sizeof leads[0]; i++) {
        if (expect_assigned(&r, leads[i].id, leads[i].priority, leads[i].value, seen, leads[i].rep, NULL) != 0)
            goto done;
        printf("run 1: %s -> %s\n", leads[i].id, leads[i].rep);
    }
    if ((rc = pg_store_commit(r.store)) != LEADROUTE_OK) {
        store_failed("pg_store_commit", rc, r.store);
        goto done;
    }
    status = 0;
done:
    run_close(&r); /* an open batch would be rolled back here */
    return status;
}

/* Run 2: a new process, in effect: new store handle, new router. */
static int run_two(const char *path, tally *seen)
{
    run r;
    leadroute_assignment a;
    int status = 1, rc;
    uint32_t st = 0;
    const char *rep = NULL;

    if (run_open(&r, path) != 0)
        goto done;
    demo_now = T0 + 10 * MINUTE_MS;
    /* a fresh router would start at ana: bo proves the rotation came from the file */
    if (expect_assigned(&r, "L-5", "cold", 5000, seen, "bo", NULL) != 0)
        goto done;
    printf("run 2: L-5 -> bo (rotation continued)\n");
    /* cy still holds L-3 from run 1 and has a capacity of 1 */
    if (expect_assigned(&r, "L-6", "cold", 6000, seen, "ana", NULL) != 0)
        goto done;
    printf("run 2: L-6 -> ana (cy at capacity with L-3)\n");
    if (route_lead(&r, "L-2", "cold", 2000, seen, &st, &rep) != 0)
        goto done;
    if (st != LEADROUTE_ROUTE_EXISTING || !same(rep, "bo")) {
        failed("L-2 again: expected existing with bo, got %s with %s", leadroute_route_status_name(st), show(rep));
        goto done;
    }
    printf("run 2: L-2 again -> %s, still %s\n", leadroute_route_status_name(st), rep);

    /* ana follows L-1 up; a second acknowledgement keeps the first time */
    if ((rc = leadroute_router_acknowledge(r.router, "L-1")) != LEADROUTE_OK) {
        lib_failed("leadroute_router_acknowledge", rc);
        goto done;
    }
    demo_now += MINUTE_MS;
    if ((rc = leadroute_router_acknowledge(r.router, "L-1")) != LEADROUTE_OK) {
        lib_failed("leadroute_router_acknowledge (again)", rc);
        goto done;
    }
    if ((rc = pg_store_get(r.store, "lead:L-1", &a)) != LEADROUTE_OK) {
        store_failed("pg_store_get", rc, r.store);
        goto done;
    }
    if (a.acknowledged_ms != T0 + 10 * MINUTE_MS) {
        failed("L-1: acknowledged at the wrong time");
        goto done;
    }
    printf("run 2: L-1 acknowledged by %s\n", a.rep_id);

    /* 31 minutes after run 1: L-3 (hot, 30 min, not acknowledged) is overdue */
    demo_now = T0 + 31 * MINUTE_MS;
    leadroute_tick_stats stats = LEADROUTE_TICK_STATS_INIT;
    if ((rc = leadroute_router_tick(r.router, demo_now, NULL, NULL, &stats)) != LEADROUTE_OK) {
        lib_failed("leadroute_router_tick", rc);
        goto done;
    }
    if (stats.due != 1 || stats.reassigned != 1) {
        fprintf(stderr,
                "pg_store_demo: tick: expected 1 due and 1 reassigned, got %" PRIu64 " and %" PRIu64 "\n",
                stats.due, stats.reassigned);
        goto done;
    }
    if ((rc = pg_store_get(r.store, "lead:L-3", &a)) != LEADROUTE_OK) {
        store_failed("pg_store_get", rc, r.store);
        goto done;
    }
    if (same(a.rep_id, "cy") || a.history_count != 1 || !same(a.history[0], "cy") || !same(a.previous, "cy") ||
        a.hops != 1 || a.acknowledged_ms != 0 || a.deadline_ms != demo_now + 30 * MINUTE_MS) {
        failed("L-3 after the tick: expected a new rep with history [cy], got %s after %s", show(a.rep_id),
               show(a.history_count ? a.history[0] : NULL));
        goto done;
    }
    tally_add(seen, a.rep_id, a.value); /* a reassignment counts for the new rep */
    printf("tick: L-3 overdue, moved from %s to %s (history: %s)\n", a.history[0], a.rep_id, a.history[0]);

    /* pending deadlines: only L-3's new one (L-1 is acknowledged) */
    size_t pending = 0;
    if ((rc = leadroute_router_list_due(r.router, INT64_MAX, count_pending, &pending)) != LEADROUTE_OK) {
        lib_failed("leadroute_router_list_due", rc);
        goto done;
    }
    if (pending != 1) {
        failed("expected 1 pending deadline");
        goto done;
    }
    status = 0;
done:
    run_close(&r);
    return status;
}

/* The store's windows agree with what the demo saw assigned. */
static int check_windows(pg_store *store, const tally *seen)
{
    uint64_t total = 0, n = 0;
    double total_value = 0, v = 0;
    int rc;
    for (size_t i = 0; i < REP_COUNT; i++) {
        if ((rc = pg_store_methods.window(store, rep_ids[i], NULL, T0, &n, &v)) != LEADROUTE_OK)
            return store_failed("window", rc, store);
        printf("window: %-3s %" PRIu64 " assignments, value %.0f\n", rep_ids[i], n, v);
        if (n != seen->count[i] || !same_value(v, seen->value[i]))
            return failed("window of %s disagrees with the assignments made", rep_ids[i]);
        total += n;
        total_value += v;
    }
    if ((rc = pg_store_methods.window(store, NULL, "sales", T0, &n, &v)) != LEADROUTE_OK)
        return store_failed("window", rc, store);
    printf("window: pool sales %" PRIu64 " assignments, value %.0f\n", n, v);
    if (n != total || !same_value(v, total_value))
        return failed("window of pool sales disagrees with its reps'");
    /* nothing before T0, nothing after now */
    if ((rc = pg_store_methods.window(store, NULL, "sales", demo_now + 1, &n, &v)) != LEADROUTE_OK)
        return store_failed("window", rc, store);
    if (n != 0)
        return failed("window after the last assignment is not empty");
    return 0;
}

/* Events of L-3: its route, then the tick's move. */
static int check_events(pg_store *store)
{
    event_list by_id = { 0, "" }, by_key = { 0, "" };
    size_t count = 0;
    int rc;
    if ((rc = pg_store_events(store, "L-3", collect_event, &by_id, &count)) != LEADROUTE_OK ||
        (rc = pg_store_events(store, "lead:L-3", collect_event, &by_key, NULL)) != LEADROUTE_OK)
        return store_failed("pg_store_events", rc, store);
    printf("events of L-3: %s\n", by_id.kinds);
    if (count != 2 || by_id.n != 2 || strcmp(by_id.kinds, "routed,reassigned") != 0 || by_key.n != 2)
        return failed("events of L-3: expected routed,reassigned, got %s", by_id.kinds);
    return 0;
}

/* A batch rolled back leaves nothing: no claim, no event, no rotation. */
static int check_rollback(const char *path, tally *seen)
{
    run r;
    leadroute_assignment a;
    uint64_t before = 0, after = 0;
    const char *rep = NULL;
    char first_rep[32];
    event_list events = { 0, "" };
    int status = 1, rc;

    if (run_open(&r, path) != 0 || pool_version(r.store, &before) != 0)
        goto done;
    if ((rc = pg_store_begin(r.store)) != LEADROUTE_OK) {
        store_failed("pg_store_begin", rc, r.store);
        goto done;
    }
    if (expect_assigned(&r, "L-7", "hot", 7000, NULL, NULL, &rep) != 0)
        goto done;
    snprintf(first_rep, sizeof first_rep, "%s", rep);
    if (pg_store_get(r.store, "lead:L-7", &a) != LEADROUTE_OK) { /* visible inside the batch */
        failed("L-7 is not visible inside its own batch");
        goto done;
    }
    if ((rc = pg_store_rollback(r.store)) != LEADROUTE_OK) {
        store_failed("pg_store_rollback", rc, r.store);
        goto done;
    }
    if ((rc = pg_store_get(r.store, "lead:L-7", &a)) != LEADROUTE_ENOTFOUND ||
        pg_store_events(r.store, "L-7", collect_event, &events, NULL) != LEADROUTE_OK || events.n != 0 ||
        pool_version(r.store, &after) != 0 || after != before) {
        failed("the rolled-back batch left something behind (L-7's claim, its event or the pool state)");
        goto done;
    }
    /* the rotation did not move: L-7 goes to the same rep again */
    if (expect_assigned(&r, "L-7", "hot", 7000, seen, first_rep, NULL) != 0)
        goto done;
    printf("rollback: L-7 -> %s undone; routed again -> %s\n", first_rep, first_rep);
    status = 0;
done:
    run_close(&r);
    return status;
}

/* Two handles on one file: each sees the other's commits, and a commit
 * based on what one read before the other wrote conflicts. */
static int check_two_handles(const char *path, tally *seen)
{
    run r;
    pg_store *other = NULL;
    leadroute_assignment a, stale_a;
    uint64_t version = 0;
    char err[512], owner[64] = "";
    const char *rep = NULL;
    int status = 1, rc;

    if (run_open(&r, path) != 0)
        goto done;
    if ((rc = pg_store_open_schema(&other, path, demo_schema, err, sizeof err)) != LEADROUTE_OK) {
        fprintf(stderr, "pg_store_demo: %s\n", err);
        goto done;
    }
    /* the other handle reads the pool state, then this one routes a lead */
    if (pool_version(other, &version) != 0)
        goto done;
    if (expect_assigned(&r, "L-8", "cold", 8000, seen, NULL, &rep) != 0)
        goto done;
    if ((rc = pg_store_get(other, "lead:L-8", &a)) != LEADROUTE_OK || !same(a.rep_id, rep)) {
        failed("the other handle does not see L-8 with %s", show(rep));
        goto done;
    }
    printf("two handles: L-8 -> %s, seen by the other handle\n", rep);

    /* a commit from the other handle with the version it read: stale */
    memset(&stale_a, 0, sizeof stale_a);
    stale_a.version = LEADROUTE_ASSIGNMENT_VERSION;
    stale_a.key = "lead:L-9";
    stale_a.lead_id = "L-9";
    stale_a.rep_id = "cy";
    stale_a.pool_id = "sales";
    stale_a.at_ms = demo_now;
    leadroute_commit stale = { LEADROUTE_COMMIT_VERSION, &stale_a, "sales", version, "x", 1, 0, NULL };
    rc = pg_store_methods.commit(other, &stale, owner, sizeof owner);
    if (rc != LEADROUTE_ECONFLICT) {
        failed("a stale commit should conflict, got %s", leadroute_strerror(rc));
        goto done;
    }
    if (pg_store_get(r.store, "lead:L-9", &a) != LEADROUTE_ENOTFOUND) {
        failed("the conflicting commit claimed L-9");
        goto done;
    }
    printf("two handles: stale commit -> %s (%s)\n", leadroute_strerror(rc), pg_store_errmsg(other));

    /* with the current version, a key someone holds: EEXISTS names the holder */
    if (pool_version(other, &version) != 0)
        goto done;
    stale_a.key = "lead:L-8";
    stale.expected_version = version;
    rc = pg_store_methods.commit(other, &stale, owner, sizeof owner);
    if (rc != LEADROUTE_EEXISTS || !same(owner, rep)) {
        failed("a commit on a held key should say EEXISTS and name %s, got %s", show(rep), owner);
        goto done;
    }
    uint64_t unchanged = 0;
    if (pool_version(r.store, &unchanged) != 0 || unchanged != version) {
        failed("the refused commit changed the pool state");
        goto done;
    }
    printf("two handles: commit on held key -> %s, held by %s\n", leadroute_strerror(rc), owner);
    status = 0;
done:
    pg_store_close(other);
    run_close(&r);
    return status;
}

/* A plain libpq connection beside the store's, for what a store does not
 * do: end another connection, drop the demo's schema. */
static int admin_exec(const char *conninfo, const char *sql, const char *want)
{
    const char *keys[] = { "dbname", NULL };
    const char *values[] = { conninfo, NULL };
    PGconn *c = PQconnectdbParams(keys, values, 1);
    PGresult *r = c && PQstatus(c) == CONNECTION_OK ? PQexec(c, sql) : NULL;
    ExecStatusType st = PQresultStatus(r);
    int ok = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) &&
             (!want || (PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), want) == 0));
    if (!ok)
        fprintf(stderr, "pg_store_demo: %s: %s", sql,
                r ? PQresultErrorMessage(r) : c ? PQerrorMessage(c) : "out of memory\n");
    PQclear(r);
    PQfinish(c);
    return ok ? 0 : 1;
}

/* End the server process of the store's connection, as a server restart or
 * a network failure would, and wait until it is gone. */
static int cut_connection(const char *conninfo, pg_store *store)
{
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d, 10000)", pg_store_backend_pid(store));
    return admin_exec(conninfo, sql, "t");
}

/* A lost connection: the call fails with EIO and a message, the next one
 * reconnects; a batch cut short leaves nothing behind. */
static int check_reconnect(const char *path)
{
    run r;
    leadroute_assignment a;
    char holder[64];
    uint64_t before = 0, after = 0;
    event_list events = { 0, "" };
    int status = 1, rc;

    if (run_open(&r, path) != 0)
        goto done;
    int first_pid = pg_store_backend_pid(r.store);
    if (cut_connection(path, r.store) != 0)
        goto done;
    rc = pg_store_methods.find_claim(r.store, "lead:L-1", holder, sizeof holder);
    if (rc != LEADROUTE_EIO || !*pg_store_errmsg(r.store)) {
        failed("a call on a lost connection should fail with EIO and say why, got %s", leadroute_strerror(rc));
        goto done;
    }
    printf("reconnect: connection cut -> %s (%.60s...)\n", leadroute_strerror(rc), pg_store_errmsg(r.store));
    rc = pg_store_methods.find_claim(r.store, "lead:L-1", holder, sizeof holder);
    if (rc != LEADROUTE_OK || !same(holder, "ana") || pg_store_backend_pid(r.store) == first_pid) {
        failed("the call after a lost connection should reconnect and find L-1 with ana: %s",
               pg_store_errmsg(r.store));
        goto done;
    }
    printf("reconnect: next call reconnected, L-1 still with %s\n", holder);

    /* a batch whose connection is cut before COMMIT: all of it is gone */
    if (pool_version(r.store, &before) != 0)
        goto done;
    if ((rc = pg_store_begin(r.store)) != LEADROUTE_OK) {
        store_failed("pg_store_begin", rc, r.store);
        goto done;
    }
    if (expect_assigned(&r, "L-10", "hot", 10000, NULL, NULL, NULL) != 0 || cut_connection(path, r.store) != 0)
        goto done;
    if ((rc = pg_store_commit(r.store)) != LEADROUTE_EIO) {
        failed("committing a batch on a lost connection should fail with EIO, got %s", leadroute_strerror(rc));
        goto done;
    }
    if ((rc = pg_store_get(r.store, "lead:L-10", &a)) != LEADROUTE_ENOTFOUND ||
        pg_store_events(r.store, "L-10", collect_event, &events, NULL) != LEADROUTE_OK || events.n != 0 ||
        pool_version(r.store, &after) != 0 || after != before) {
        failed("the batch cut short left something behind (L-10's claim, its event or the pool state): %s",
               pg_store_errmsg(r.store));
        goto done;
    }
    printf("reconnect: batch cut short -> nothing of L-10 kept\n");
    status = 0;
done:
    run_close(&r);
    return status;
}

/* Commits straight to the store, as a host without the router would make
 * them (pool "direct" and reps zed and yan are not in the roster, so the
 * router's windows above are untouched): a conflict inside a batch leaves
 * the batch going, an account claim stays with its first owner, and a pool
 * state longer than the buffer is reported, not copied. */
static int check_batch_and_accounts(const char *path)
{
    pg_store *store = NULL;
    leadroute_assignment a;
    char err[512], holder[64], state[8] = "";
    size_t length = 0;
    uint64_t version = 0;
    uint32_t open = 99;
    int status = 1, rc;

    if ((rc = pg_store_open_schema(&store, path, demo_schema, err, sizeof err)) != LEADROUTE_OK) {
        fprintf(stderr, "pg_store_demo: %s\n", err);
        return 1;
    }
    memset(&a, 0, sizeof a);
    a.version = LEADROUTE_ASSIGNMENT_VERSION;
    a.key = "lead:L-20";
    a.lead_id = "L-20";
    a.rep_id = "zed";
    a.pool_id = "direct";
    a.at_ms = demo_now;
    leadroute_commit c = { LEADROUTE_COMMIT_VERSION, &a, "direct", 0, "s1", 2, 0, "account:acme.example" };
    if ((rc = pg_store_begin(store)) != LEADROUTE_OK ||
        (rc = pg_store_methods.commit(store, &c, holder, sizeof holder)) != LEADROUTE_OK) {
        store_failed("a direct commit in a batch", rc, store);
        goto done;
    }
    a.key = "lead:L-21";
    a.lead_id = "L-21";
    a.rep_id = "yan";
    c.state = "s2";
    if ((rc = pg_store_methods.commit(store, &c, holder, sizeof holder)) != LEADROUTE_ECONFLICT) {
        failed("a stale commit in a batch should conflict, got %s", leadroute_strerror(rc));
        goto done;
    }
    c.expected_version = 1;
    if ((rc = pg_store_methods.commit(store, &c, holder, sizeof holder)) != LEADROUTE_OK ||
        (rc = pg_store_commit(store)) != LEADROUTE_OK) {
        store_failed("the batch after a conflict", rc, store);
        goto done;
    }
    printf("batch: stale commit refused, the batch went on and committed\n");
    if (pg_store_methods.find_claim(store, "account:acme.example", holder, sizeof holder) != LEADROUTE_OK ||
        !same(holder, "zed") || pg_store_methods.close(store, "account:acme.example") != LEADROUTE_ENOTFOUND) {
        failed("the account claim should stay with its first owner zed and not close (held by %s)", holder);
        goto done;
    }
    if ((rc = pg_store_methods.close(store, "lead:L-21")) != LEADROUTE_OK ||
        (rc = pg_store_methods.open_count(store, "yan", &open)) != LEADROUTE_OK || open != 0 ||
        pg_store_methods.close(store, "lead:L-21") != LEADROUTE_ENOTFOUND) {
        failed("closing L-21 should free yan's open lead, once: %s", pg_store_errmsg(store));
        goto done;
    }
    printf("accounts: acme.example stays with %s; L-21 closed, yan has %u open\n", holder, (unsigned)open);
    if ((rc = pg_store_methods.load_pool(store, "direct", state, 1, &length, &version)) != LEADROUTE_OK ||
        length != 2 || version != 2 || state[0] != '\0' ||
        (rc = pg_store_methods.load_pool(store, "direct", state, sizeof state, &length, &version)) !=
            LEADROUTE_OK ||
        length != 2 || memcmp(state, "s2", 2) != 0) {
        failed("load_pool should report 2 bytes at version 2 and copy them only when they fit");
        goto done;
    }
    printf("load_pool: 2 bytes do not fit in 1, fit in %zu\n", sizeof state);
    status = 0;
done:
    pg_store_close(store);
    return status;
}

static int usage(void)
{
    fprintf(stderr, "usage: pg_store_demo [CONNINFO]\n"
                    "       pg_store_demo route CONNINFO SCHEMA LEADS NOW_MS\n"
                    "       pg_store_demo tick CONNINFO SCHEMA NOW_MS\n");
    return 2;
}

/* A clock time from the command line. */
static int parse_ms(const char *text, int64_t *out)
{
    char *end = NULL;
    long long v = strtoll(text, &end, 10);
    if (!*text || *end)
        return failed("not a time in milliseconds: %s", text);
    *out = (int64_t)v;
    return 0;
}

/* `route`: every lead of the file, one commit each, as one of several processes. */
static int route_mode(const char *conninfo, const char *leads, const char *now)
{
    run r;
    char line[256];
    size_t assigned = 0, existing = 0, other = 0;
    int status = 1;
    FILE *f = NULL;

    demo_roster = route_roster_csv;
    record_routes = 0;
    if (parse_ms(now, &demo_now) != 0 || run_open(&r, conninfo) != 0)
        goto done;
    if (!(f = fopen(leads, "r"))) {
        perror(leads);
        goto done;
    }
    while (fgets(line, sizeof line, f)) {
        char *comma = strchr(line, ',');
        uint32_t st = 0;
        const char *rep = NULL;
        line[strcspn(line, "\r\n")] = '\0';
        if (!comma) {
            failed("%s: a line is not \"id,priority\": %s", leads, line);
            goto done;
        }
        *comma = '\0';
        if (route_lead(&r, line, comma + 1, 0, NULL, &st, &rep) != 0)
            goto done;
        if (st == LEADROUTE_ROUTE_ASSIGNED)
            assigned++;
        else if (st == LEADROUTE_ROUTE_EXISTING)
            existing++;
        else
            other++;
    }
    if (ferror(f)) {
        perror(leads);
        goto done;
    }
    printf("routed %zu: assigned %zu, existing %zu, other %zu\n", assigned + existing + other, assigned, existing,
           other);
    status = other == 0 ? 0 : 1;
done:
    if (f)
        fclose(f);
    run_close(&r);
    return status;
}

/* `tick`: one tick of the route mode's router. */
static int tick_mode(const char *conninfo, const char *now)
{
    run r;
    leadroute_tick_stats stats = LEADROUTE_TICK_STATS_INIT;
    int status = 1, rc;

    demo_roster = route_roster_csv;
    if (parse_ms(now, &demo_now) != 0 || run_open(&r, conninfo) != 0)
        goto done;
    if ((rc = leadroute_router_tick(r.router, demo_now, NULL, NULL, &stats)) != LEADROUTE_OK) {
        lib_failed("leadroute_router_tick", rc);
        goto done;
    }
    printf("tick: due %" PRIu64 ", reassigned %" PRIu64 ", escalated %" PRIu64 ", kept %" PRIu64
           ", raced %" PRIu64 "\n",
           stats.due, stats.reassigned, stats.escalated, stats.kept, stats.raced);
    status = 0;
done:
    run_close(&r);
    return status;
}

int main(int argc, char **argv)
{
    char schema[64], drop[160];
    int status = 1;
    tally seen;

    if (argc >= 2 && strcmp(argv[1], "route") == 0) {
        if (argc != 6)
            return usage();
        demo_schema = argv[3];
        return route_mode(argv[2], argv[4], argv[5]);
    }
    if (argc >= 2 && strcmp(argv[1], "tick") == 0) {
        if (argc != 5)
            return usage();
        demo_schema = argv[3];
        return tick_mode(argv[2], argv[4]);
    }
    if (argc > 2)
        return usage();
    const char *path = argc == 2 ? argv[1] : getenv("LEADROUTE_PG"); /* the conninfo */
    if (!path || !*path) {
        fprintf(stderr, "pg_store_demo: no PostgreSQL to use (give a conninfo or set LEADROUTE_PG): skipped\n");
        return 77;
    }
    memset(&seen, 0, sizeof seen);
    /* a schema of its own: a run left over by an earlier process would change every answer */
    snprintf(schema, sizeof schema, "lr_demo_%ld", (long)getpid());
    snprintf(drop, sizeof drop, "SET client_min_messages = warning; DROP SCHEMA IF EXISTS %s CASCADE", schema);
    demo_schema = schema;
    if (admin_exec(path, drop, NULL) != 0)
        return 1;
    printf("schema: %s\n", schema);

    if (run_one(path, &seen) == 0 && run_two(path, &seen) == 0) {
        pg_store *store = NULL;
        char err[512];
        int rc = pg_store_open_schema(&store, path, demo_schema, err, sizeof err);
        if (rc != LEADROUTE_OK)
            fprintf(stderr, "pg_store_demo: %s\n", err);
        else if (check_windows(store, &seen) == 0 && check_events(store) == 0)
            status = 0;
        pg_store_close(store);
    }
    if (status == 0)
        status = check_rollback(path, &seen);
    if (status == 0)
        status = check_two_handles(path, &seen);
    if (status == 0)
        status = check_reconnect(path);
    if (status == 0)
        status = check_batch_and_accounts(path);
    if (status == 0) {
        /* the windows still agree after the rollback, the two handles and the lost connections */
        pg_store *store = NULL;
        char err[512];
        if (pg_store_open_schema(&store, path, demo_schema, err, sizeof err) != LEADROUTE_OK) {
            fprintf(stderr, "pg_store_demo: %s\n", err);
            status = 1;
        } else {
            status = check_windows(store, &seen);
        }
        pg_store_close(store);
    }
    if (admin_exec(path, drop, NULL) != 0)
        status = 1;
    printf("%s\n", status == 0 ? "pg_store_demo: all checks passed" : "pg_store_demo: FAILED");
    return status;
}
