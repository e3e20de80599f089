/*
 * store_check: the conformance self-check shared by the host store demos
 * (see store_check.h).
 * SPDX-License-Identifier: MIT
 */
#include "store_check.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* What the check saw assigned to each rep, to compare with the store's windows. */
static const char *const rep_ids[] = { "ana", "bo", "cy" };
#define REP_COUNT 3

struct store_check {
    const store_check_ops *ops;
    void *user;
    int64_t now; /* the clock the routers read: moved by hand */
    uint64_t count[REP_COUNT];
    double value[REP_COUNT];
};

static void tally_add(store_check *c, const char *rep, double value)
{
    for (size_t i = 0; i < REP_COUNT; i++)
        if (rep && strcmp(rep, rep_ids[i]) == 0) {
            c->count[i]++;
            c->value[i] += value;
        }
}

/* ---- messages -------------------------------------------------------------------------------------- */

int store_check_failed(const store_check *c, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", c->ops->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

int store_check_store_failed(const store_check *c, const char *what, int rc, const void *store)
{
    return store_check_failed(c, "%s failed: %s (%s)", what, c->ops->errmsg(store), leadroute_strerror(rc));
}

static int lib_failed(const store_check *c, const char *what, int rc)
{
    return store_check_failed(c, "%s failed: %s (%s)", what, leadroute_error_last()->message,
                              leadroute_strerror(rc));
}

/* Text for a string that may be NULL. */
static const char *show(const char *s)
{
    return s ? s : "(none)";
}

static int same(const char *a, const char *b)
{
    return a && b ? strcmp(a, b) == 0 : a == b;
}

/* Sums of deal values, added in another order by the store: equal to within rounding. */
static int same_value(double a, double b)
{
    double d = a > b ? a - b : b - a, scale = a > 0 ? a : -a;
    return d <= 1e-9 * (scale > 1 ? scale : 1);
}

int64_t store_check_now(const store_check *c)
{
    return c->now;
}

/* ---- a handle and its router ------------------------------------------------------------------------ */

static int64_t check_clock(void *user_data)
{
    return ((const store_check *)user_data)->now;
}

/* Notify: the host hears of every assignment. The moves a tick makes are
 * recorded as events beside the routing decisions. */
static int on_assigned(void *user_data, const leadroute_assignment *a)
{
    store_check_run *r = user_data;
    char detail[512];
    if (!a->previous)
        return LEADROUTE_OK; /* routes are recorded with their trace by route_lead() */
    snprintf(detail, sizeof detail, "{\"rep\":\"%s\",\"previous\":\"%s\",\"hops\":%" PRIu32 "}", a->rep_id,
             a->previous, a->hops);
    store_check_event e = { a->at_ms, a->escalated ? "escalated" : "reassigned", a->key, a->lead_id, detail };
    return r->check->ops->record(r->store, &e) == LEADROUTE_OK ? LEADROUTE_OK : LEADROUTE_EIO;
}

void store_check_run_close(store_check_run *r)
{
    leadroute_decision_free(r->decision);
    leadroute_router_free(r->router);
    if (r->store)
        r->check->ops->close(r->store);
    r->decision = NULL;
    r->router = NULL;
    r->store = NULL;
}

int store_check_run_open(store_check *c, store_check_run *r)
{
    leadroute_table *table = NULL;
    leadroute_roster *roster = NULL;
    leadroute_clock clock = { LEADROUTE_CLOCK_VERSION, check_clock };
    leadroute_notify notify = { LEADROUTE_NOTIFY_VERSION, on_assigned };
    char err[512];
    int rc;

    memset(r, 0, sizeof *r);
    r->check = c;
    if ((rc = c->ops->open(c->user, &r->store, err, sizeof err)) != LEADROUTE_OK) {
        r->store = NULL;
        return store_check_failed(c, "%s (%s)", err, leadroute_strerror(rc));
    }
    if ((rc = leadroute_table_parse(&table, table_csv, strlen(table_csv), "demo.csv", NULL)) != LEADROUTE_OK)
        return lib_failed(c, "leadroute_table_parse", rc);
    rc = leadroute_roster_parse(&roster, roster_csv, strlen(roster_csv), "roster.csv", NULL);
    if (rc != LEADROUTE_OK) {
        leadroute_table_unref(table);
        return lib_failed(c, "leadroute_roster_parse", rc);
    }
    rc = leadroute_router_new(&r->router, table, roster, NULL);
    leadroute_table_unref(table); /* the router holds its own references */
    leadroute_roster_unref(roster);
    if (rc != LEADROUTE_OK)
        return lib_failed(c, "leadroute_router_new", rc);
    /* the callbacks are copied, the run is not: it must stay where it is while the router lives */
    if ((rc = leadroute_router_set_store(r->router, c->ops->methods, r->store)) != LEADROUTE_OK ||
        (rc = leadroute_router_set_clock(r->router, &clock, c)) != LEADROUTE_OK ||
        (rc = leadroute_router_set_notify(r->router, &notify, r)) != LEADROUTE_OK)
        return lib_failed(c, "leadroute_router_set_...", rc);
    if ((rc = leadroute_decision_new(&r->decision, NULL)) != LEADROUTE_OK)
        return lib_failed(c, "leadroute_decision_new", rc);
    return 0;
}

/* Route one lead and record the decision's trace as an event, so a later
 * `explain` can say why. Returns the rep (owned by the decision) in *rep. */
static int route_lead(store_check_run *r, const char *id, const char *priority, double deal_value, int counted,
                      uint32_t *status, const char **rep)
{
    store_check *c = r->check;
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
        store_check_failed(c, "%s: %s", id, leadroute_decision_reason(r->decision));
        if (rc == LEADROUTE_ECALLBACK || rc == LEADROUTE_ECONFLICT)
            store_check_failed(c, "the store says: %s", c->ops->errmsg(r->store));
        return lib_failed(c, "leadroute_route", rc);
    }
    *status = leadroute_decision_status(r->decision);
    *rep = leadroute_decision_rep(r->decision);
    if (*status != LEADROUTE_ROUTE_ASSIGNED)
        return 0; /* existing: nothing new to record */
    if (counted)
        tally_add(c, *rep, deal_value);
    rc = leadroute_decision_explain(r->decision, LEADROUTE_EXPLAIN_JSON, trace, sizeof trace, &needed);
    if (rc != LEADROUTE_OK || needed >= sizeof trace)
        return lib_failed(c, "leadroute_decision_explain", rc != LEADROUTE_OK ? rc : LEADROUTE_ERANGE);
    snprintf(key, sizeof key, "lead:%s", id);
    store_check_event e = { c->now, "routed", key, id, trace };
    if ((rc = c->ops->record(r->store, &e)) != LEADROUTE_OK)
        return store_check_store_failed(c, "record", rc, r->store);
    return 0;
}

int store_check_expect_assigned(store_check_run *r, const char *id, const char *priority, double deal_value,
                                int counted, const char *want, const char **got)
{
    uint32_t status = 0;
    const char *rep = NULL;
    if (route_lead(r, id, priority, deal_value, counted, &status, &rep) != 0)
        return 1;
    if (status != LEADROUTE_ROUTE_ASSIGNED || (want && !same(rep, want)))
        return store_check_failed(r->check, "%s: expected assigned to %s, got %s to %s", id,
                                  want ? want : "anyone", leadroute_route_status_name(status), show(rep));
    if (got)
        *got = rep;
    return 0;
}

/* ---- reading the store --------------------------------------------------------------------------------- */

/* The kinds of a lead's events, comma-separated. */
typedef struct event_list {
    size_t n;
    char kinds[128];
} event_list;

static int collect_event(void *ctx, const store_check_event *e)
{
    event_list *l = ctx;
    size_t used = strlen(l->kinds);
    snprintf(l->kinds + used, sizeof l->kinds - used, "%s%s", used ? "," : "", e->kind);
    l->n++;
    return 0;
}

int store_check_event_count(store_check *c, void *store, const char *lead, size_t *count)
{
    event_list events = { 0, "" };
    int rc = c->ops->events(store, lead, collect_event, &events, NULL);
    if (rc != LEADROUTE_OK)
        return store_check_store_failed(c, "events", rc, store);
    *count = events.n;
    return 0;
}

static int count_pending(void *ctx, const leadroute_assignment *a)
{
    (void)a;
    (*(size_t *)ctx)++;
    return 0;
}

int store_check_pool_version(store_check *c, void *store, const char *pool, uint64_t *version)
{
    char buf[256];
    size_t length = 0;
    int rc = c->ops->methods->load_pool(store, pool, buf, sizeof buf, &length, version);
    return rc == LEADROUTE_OK ? 0 : store_check_store_failed(c, "load_pool", rc, store);
}

/* ---- the checks ------------------------------------------------------------------------------------------ */

/* Run 1: four leads in one batch, all or nothing. */
static int run_one(store_check *c)
{
    store_check_run r;
    int status = 1, rc;
    if (store_check_run_open(c, &r) != 0)
        goto done;
    if ((rc = c->ops->begin(r.store)) != LEADROUTE_OK) {
        store_check_store_failed(c, "begin", rc, r.store);
        goto done;
    }
    /* round robin: the next rep by id after the last one served */
    static const struct { const char *id, *priority, *rep; double value; } leads[] = {
        { "L-1", "hot", "ana", 1000 }, { "L-2", "cold", "bo", 2000 },
        { "L-3", "hot", "cy", 3000 },  { "L-4", "cold", "ana", 4000 },
    };
    for (size_t i = 0; i < sizeof leads / sizeof leads[0]; i++) {
        if (store_check_expect_assigned(&r, leads[i].id, leads[i].priority, leads[i].value, 1, leads[i].rep,
                                        NULL) != 0)
            goto done;
        printf("run 1: %s -> %s\n", leads[i].id, leads[i].rep);
    }
    if ((rc = c->ops->commit(r.store)) != LEADROUTE_OK) {
        store_check_store_failed(c, "commit", rc, r.store);
        goto done;
    }
    status = 0;
done:
    store_check_run_close(&r); /* an open batch would be rolled back here */
    return status;
}

/* Run 2: a new process, in effect: new store handle, new router. */
static int run_two(store_check *c)
{
    store_check_run r;
    leadroute_assignment a;
    int status = 1, rc;
    uint32_t st = 0;
    const char *rep = NULL;

    if (store_check_run_open(c, &r) != 0)
        goto done;
    c->now = T0 + 10 * MINUTE_MS;
    /* a fresh router would start at ana: bo proves the rotation came from the store */
    if (store_check_expect_assigned(&r, "L-5", "cold", 5000, 1, "bo", NULL) != 0)
        goto done;
    printf("run 2: L-5 -> bo (rotation continued)\n");
    /* cy still holds L-3 from run 1 and has a capacity of 1 */
    if (store_check_expect_assigned(&r, "L-6", "cold", 6000, 1, "ana", NULL) != 0)
        goto done;
    printf("run 2: L-6 -> ana (cy at capacity with L-3)\n");
    if (route_lead(&r, "L-2", "cold", 2000, 1, &st, &rep) != 0)
        goto done;
    if (st != LEADROUTE_ROUTE_EXISTING || !same(rep, "bo")) {
        store_check_failed(c, "L-2 again: expected existing with bo, got %s with %s",
                           leadroute_route_status_name(st), show(rep));
        goto done;
    }
    printf("run 2: L-2 again -> %s, still %s\n", leadroute_route_status_name(st), rep);

    /* ana follows L-1 up; a second acknowledgement keeps the first time */
    if ((rc = leadroute_router_acknowledge(r.router, "L-1")) != LEADROUTE_OK) {
        lib_failed(c, "leadroute_router_acknowledge", rc);
        goto done;
    }
    c->now += MINUTE_MS;
    if ((rc = leadroute_router_acknowledge(r.router, "L-1")) != LEADROUTE_OK) {
        lib_failed(c, "leadroute_router_acknowledge (again)", rc);
        goto done;
    }
    if ((rc = c->ops->get(r.store, "lead:L-1", &a)) != LEADROUTE_OK) {
        store_check_store_failed(c, "get", rc, r.store);
        goto done;
    }
    if (a.acknowledged_ms != T0 + 10 * MINUTE_MS) {
        store_check_failed(c, "L-1: acknowledged at the wrong time");
        goto done;
    }
    printf("run 2: L-1 acknowledged by %s\n", a.rep_id);

    /* 31 minutes after run 1: L-3 (hot, 30 min, not acknowledged) is overdue */
    c->now = T0 + 31 * MINUTE_MS;
    leadroute_tick_stats stats = LEADROUTE_TICK_STATS_INIT;
    if ((rc = leadroute_router_tick(r.router, c->now, NULL, NULL, &stats)) != LEADROUTE_OK) {
        lib_failed(c, "leadroute_router_tick", rc);
        goto done;
    }
    if (stats.due != 1 || stats.reassigned != 1) {
        store_check_failed(c, "tick: expected 1 due and 1 reassigned, got %" PRIu64 " and %" PRIu64, stats.due,
                           stats.reassigned);
        goto done;
    }
    if ((rc = c->ops->get(r.store, "lead:L-3", &a)) != LEADROUTE_OK) {
        store_check_store_failed(c, "get", rc, r.store);
        goto done;
    }
    if (same(a.rep_id, "cy") || a.history_count != 1 || !same(a.history[0], "cy") || !same(a.previous, "cy") ||
        a.hops != 1 || a.acknowledged_ms != 0 || a.deadline_ms != c->now + 30 * MINUTE_MS) {
        store_check_failed(c, "L-3 after the tick: expected a new rep with history [cy], got %s after %s",
                           show(a.rep_id), show(a.history_count ? a.history[0] : NULL));
        goto done;
    }
    tally_add(c, a.rep_id, a.value); /* a reassignment counts for the new rep */
    printf("tick: L-3 overdue, moved from %s to %s (history: %s)\n", a.history[0], a.rep_id, a.history[0]);

    /* pending deadlines: only L-3's new one (L-1 is acknowledged) */
    size_t pending = 0;
    if ((rc = leadroute_router_list_due(r.router, INT64_MAX, count_pending, &pending)) != LEADROUTE_OK) {
        lib_failed(c, "leadroute_router_list_due", rc);
        goto done;
    }
    if (pending != 1) {
        store_check_failed(c, "expected 1 pending deadline, got %zu", pending);
        goto done;
    }
    status = 0;
done:
    store_check_run_close(&r);
    return status;
}

/* The store's windows agree with what the check saw assigned. */
static int check_windows(store_check *c)
{
    const leadroute_store *m = c->ops->methods;
    void *store = NULL;
    char err[512];
    uint64_t total = 0, n = 0;
    double total_value = 0, v = 0;
    int status = 1, rc;

    if ((rc = c->ops->open(c->user, &store, err, sizeof err)) != LEADROUTE_OK)
        return store_check_failed(c, "%s (%s)", err, leadroute_strerror(rc));
    for (size_t i = 0; i < REP_COUNT; i++) {
        if ((rc = m->window(store, rep_ids[i], NULL, T0, &n, &v)) != LEADROUTE_OK) {
            store_check_store_failed(c, "window", rc, store);
            goto done;
        }
        printf("window: %-3s %" PRIu64 " assignments, value %.0f\n", rep_ids[i], n, v);
        if (n != c->count[i] || !same_value(v, c->value[i])) {
            store_check_failed(c, "window of %s disagrees with the assignments made", rep_ids[i]);
            goto done;
        }
        total += n;
        total_value += v;
    }
    if ((rc = m->window(store, NULL, "sales", T0, &n, &v)) != LEADROUTE_OK) {
        store_check_store_failed(c, "window", rc, store);
        goto done;
    }
    printf("window: pool sales %" PRIu64 " assignments, value %.0f\n", n, v);
    if (n != total || !same_value(v, total_value)) {
        store_check_failed(c, "window of pool sales disagrees with its reps'");
        goto done;
    }
    /* nothing before T0, nothing after now */
    if ((rc = m->window(store, NULL, "sales", c->now + 1, &n, &v)) != LEADROUTE_OK) {
        store_check_store_failed(c, "window", rc, store);
        goto done;
    }
    if (n != 0) {
        store_check_failed(c, "window after the last assignment is not empty");
        goto done;
    }
    status = 0;
done:
    c->ops->close(store);
    return status;
}

/* Events of L-3: its route, then the tick's move. */
static int check_events(store_check *c)
{
    event_list by_id = { 0, "" }, by_key = { 0, "" };
    void *store = NULL;
    char err[512];
    size_t count = 0;
    int status = 1, rc;

    if ((rc = c->ops->open(c->user, &store, err, sizeof err)) != LEADROUTE_OK)
        return store_check_failed(c, "%s (%s)", err, leadroute_strerror(rc));
    if ((rc = c->ops->events(store, "L-3", collect_event, &by_id, &count)) != LEADROUTE_OK ||
        (rc = c->ops->events(store, "lead:L-3", collect_event, &by_key, NULL)) != LEADROUTE_OK) {
        store_check_store_failed(c, "events", rc, store);
        goto done;
    }
    printf("events of L-3: %s\n", by_id.kinds);
    if (count != 2 || by_id.n != 2 || strcmp(by_id.kinds, "routed,reassigned") != 0 || by_key.n != 2) {
        store_check_failed(c, "events of L-3: expected routed,reassigned, got %s", by_id.kinds);
        goto done;
    }
    /* an event needs a key */
    store_check_event keyless = { c->now, "noted", NULL, "L-3", NULL };
    if ((rc = c->ops->record(store, &keyless)) != LEADROUTE_EINVAL) {
        store_check_failed(c, "recording an event without a key should say EINVAL, got %s", leadroute_strerror(rc));
        goto done;
    }
    status = 0;
done:
    c->ops->close(store);
    return status;
}

/* A batch rolled back leaves nothing: no claim, no event, no rotation. */
static int check_rollback(store_check *c)
{
    store_check_run r;
    leadroute_assignment a;
    uint64_t before = 0, after = 0;
    const char *rep = NULL;
    char first_rep[32];
    size_t events = 0;
    int status = 1, rc;

    if (store_check_run_open(c, &r) != 0 || store_check_pool_version(c, r.store, "sales", &before) != 0)
        goto done;
    if ((rc = c->ops->begin(r.store)) != LEADROUTE_OK) {
        store_check_store_failed(c, "begin", rc, r.store);
        goto done;
    }
    if (store_check_expect_assigned(&r, "L-7", "hot", 7000, 0, NULL, &rep) != 0)
        goto done;
    snprintf(first_rep, sizeof first_rep, "%s", rep);
    if (c->ops->get(r.store, "lead:L-7", &a) != LEADROUTE_OK) { /* visible inside the batch */
        store_check_failed(c, "L-7 is not visible inside its own batch");
        goto done;
    }
    if ((rc = c->ops->rollback(r.store)) != LEADROUTE_OK) {
        store_check_store_failed(c, "rollback", rc, r.store);
        goto done;
    }
    if (c->ops->get(r.store, "lead:L-7", &a) != LEADROUTE_ENOTFOUND ||
        store_check_event_count(c, r.store, "L-7", &events) != 0 || events != 0 ||
        store_check_pool_version(c, r.store, "sales", &after) != 0 || after != before) {
        store_check_failed(c, "the rolled-back batch left something behind (L-7's claim, its event or the pool "
                              "state)");
        goto done;
    }
    /* the rotation did not move: L-7 goes to the same rep again */
    if (store_check_expect_assigned(&r, "L-7", "hot", 7000, 1, first_rep, NULL) != 0)
        goto done;
    printf("rollback: L-7 -> %s undone; routed again -> %s\n", first_rep, first_rep);
    status = 0;
done:
    store_check_run_close(&r);
    return status;
}

/* Two handles on one database: each sees the other's commits, and a commit
 * based on what one read before the other wrote conflicts. */
static int check_two_handles(store_check *c)
{
    const leadroute_store *m = c->ops->methods;
    store_check_run r;
    void *other = NULL;
    leadroute_assignment a, stale_a;
    uint64_t version = 0;
    char err[512], owner[64] = "";
    const char *rep = NULL;
    int status = 1, rc;

    if (store_check_run_open(c, &r) != 0)
        goto done;
    if ((rc = c->ops->open(c->user, &other, err, sizeof err)) != LEADROUTE_OK) {
        other = NULL;
        store_check_failed(c, "%s (%s)", err, leadroute_strerror(rc));
        goto done;
    }
    /* the other handle reads the pool state, then this one routes a lead */
    if (store_check_pool_version(c, other, "sales", &version) != 0)
        goto done;
    if (store_check_expect_assigned(&r, "L-8", "cold", 8000, 1, NULL, &rep) != 0)
        goto done;
    if ((rc = c->ops->get(other, "lead:L-8", &a)) != LEADROUTE_OK || !same(a.rep_id, rep)) {
        store_check_failed(c, "the other handle does not see L-8 with %s", show(rep));
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
    stale_a.at_ms = c->now;
    leadroute_commit stale = { LEADROUTE_COMMIT_VERSION, &stale_a, "sales", version, "x", 1, 0, NULL, 0 };
    rc = m->commit(other, &stale, owner, sizeof owner);
    if (rc != LEADROUTE_ECONFLICT) {
        store_check_failed(c, "a stale commit should conflict, got %s", leadroute_strerror(rc));
        goto done;
    }
    if (c->ops->get(r.store, "lead:L-9", &a) != LEADROUTE_ENOTFOUND) {
        store_check_failed(c, "the conflicting commit claimed L-9");
        goto done;
    }
    printf("two handles: stale commit -> %s (%s)\n", leadroute_strerror(rc), c->ops->errmsg(other));
    /* after the conflict the other handle reads the pool state L-8's route wrote, bytes and version */
    {
        char mine[256], theirs[256];
        size_t mine_length = 0, their_length = 0;
        uint64_t mine_version = 0, their_version = 1;
        if ((rc = m->load_pool(r.store, "sales", mine, sizeof mine, &mine_length, &mine_version)) != LEADROUTE_OK ||
            (rc = m->load_pool(other, "sales", theirs, sizeof theirs, &their_length, &their_version)) !=
                LEADROUTE_OK ||
            mine_version != their_version || mine_length != their_length || mine_length > sizeof mine ||
            memcmp(mine, theirs, mine_length) != 0) {
            store_check_failed(c, "after the stale commit the other handle should read the state L-8's route wrote: "
                                  "%zu bytes at version %" PRIu64 ", not %zu at %" PRIu64 " (%s)",
                               mine_length, mine_version, their_length, their_version, leadroute_strerror(rc));
            goto done;
        }
    }

    /* with the current version, a key someone holds: EEXISTS names the holder */
    if (store_check_pool_version(c, other, "sales", &version) != 0)
        goto done;
    stale_a.key = "lead:L-8";
    stale.expected_version = version;
    rc = m->commit(other, &stale, owner, sizeof owner);
    if (rc != LEADROUTE_EEXISTS || !same(owner, rep)) {
        store_check_failed(c, "a commit on a held key should say EEXISTS and name %s, got %s", show(rep), owner);
        goto done;
    }
    uint64_t unchanged = 0;
    if (store_check_pool_version(c, r.store, "sales", &unchanged) != 0 || unchanged != version) {
        store_check_failed(c, "the refused commit changed the pool state");
        goto done;
    }
    printf("two handles: commit on held key -> %s, held by %s\n", leadroute_strerror(rc), owner);
    status = 0;
done:
    if (other)
        c->ops->close(other);
    store_check_run_close(&r);
    return status;
}

void store_check_first_assignment(leadroute_assignment *a, const char *key, const char *rep, int64_t at_ms,
                                  double sla)
{
    memset(a, 0, sizeof *a);
    a->version = LEADROUTE_ASSIGNMENT_VERSION;
    a->key = key;
    a->lead_id = key + 5;
    a->rep_id = rep;
    a->at_ms = at_ms;
    a->sla_minutes = sla;
    a->deadline_ms = sla > 0 ? at_ms + (int64_t)sla * MINUTE_MS : 0;
}

/* Commits straight to the store, as a host without the router would make
 * them (pool "direct" and reps zed and yan are not in the roster, so the
 * router's windows are untouched): a conflict inside a batch leaves the
 * batch going, an account claim stays with its first owner, and a pool
 * state longer than the buffer is reported, not copied. */
static int check_batch_and_accounts(store_check *c)
{
    const leadroute_store *m = c->ops->methods;
    void *store = NULL;
    leadroute_assignment a;
    char err[512], holder[64], state[8] = "";
    size_t length = 0;
    uint64_t version = 0;
    uint32_t open = 99;
    int status = 1, rc;

    if ((rc = c->ops->open(c->user, &store, err, sizeof err)) != LEADROUTE_OK)
        return store_check_failed(c, "%s (%s)", err, leadroute_strerror(rc));
    store_check_first_assignment(&a, "lead:L-20", "zed", c->now, 0);
    a.pool_id = "direct";
    leadroute_commit cm = { LEADROUTE_COMMIT_VERSION, &a, "direct", 0, "s1", 2, 0, "account:acme.example", 0 };
    if ((rc = c->ops->begin(store)) != LEADROUTE_OK ||
        (rc = m->commit(store, &cm, holder, sizeof holder)) != LEADROUTE_OK) {
        store_check_store_failed(c, "a direct commit in a batch", rc, store);
        goto done;
    }
    a.key = "lead:L-21";
    a.lead_id = "L-21";
    a.rep_id = "yan";
    cm.state = "s2";
    if ((rc = m->commit(store, &cm, holder, sizeof holder)) != LEADROUTE_ECONFLICT) {
        store_check_failed(c, "a stale commit in a batch should conflict, got %s", leadroute_strerror(rc));
        goto done;
    }
    cm.expected_version = 1;
    if ((rc = m->commit(store, &cm, holder, sizeof holder)) != LEADROUTE_OK ||
        (rc = c->ops->commit(store)) != LEADROUTE_OK) {
        store_check_store_failed(c, "the batch after a conflict", rc, store);
        goto done;
    }
    printf("batch: stale commit refused, the batch went on and committed\n");
    if (m->find_claim(store, "account:acme.example", holder, sizeof holder) != LEADROUTE_OK ||
        !same(holder, "zed") || m->close(store, "account:acme.example") != LEADROUTE_ENOTFOUND) {
        store_check_failed(c, "the account claim should stay with its first owner zed and not close (held by %s)",
                           holder);
        goto done;
    }
    if ((rc = m->close(store, "lead:L-21")) != LEADROUTE_OK || (rc = m->open_count(store, "yan", &open)) !=
        LEADROUTE_OK || open != 0 || m->close(store, "lead:L-21") != LEADROUTE_ENOTFOUND) {
        store_check_failed(c, "closing L-21 should free yan's open lead, once: %s", c->ops->errmsg(store));
        goto done;
    }
    printf("accounts: acme.example stays with %s; L-21 closed, yan has %u open\n", holder, (unsigned)open);
    /* an account claim is no lead's assignment; its holder's id (4 bytes) does not fit in 3 */
    if ((rc = c->ops->get(store, "account:acme.example", &a)) != LEADROUTE_ENOTFOUND ||
        (rc = m->find_claim(store, "account:acme.example", holder, 3)) != LEADROUTE_ERANGE) {
        store_check_failed(c, "the lookup of account acme.example should say ENOTFOUND, and its holder zed in 3 "
                              "bytes ERANGE: %s", leadroute_strerror(rc));
        goto done;
    }
    if ((rc = m->load_pool(store, "direct", state, 1, &length, &version)) != LEADROUTE_OK || length != 2 ||
        version != 2 || state[0] != '\0' ||
        (rc = m->load_pool(store, "direct", state, sizeof state, &length, &version)) != LEADROUTE_OK ||
        length != 2 || memcmp(state, "s2", 2) != 0) {
        store_check_failed(c, "load_pool should report 2 bytes at version 2 and copy them only when they fit");
        goto done;
    }
    printf("load_pool: 2 bytes do not fit in 1, fit in %zu\n", sizeof state);
    status = 0;
done:
    c->ops->close(store);
    return status;
}

/* A tick's move (LEADROUTE_COMMIT_FOLLOW_UP, commit version 2) takes the
 * lead from its holder only: from `previous` exactly, not acknowledged
 * since, and still due at the move's time (assigned again meanwhile, it is
 * not). Anything else changes nothing and says EEXISTS with the holder, or
 * "" for a lead closed meanwhile. A version 1 commit has no flags to read.
 * Reps zed, yan and xu and their leads are outside the roster, without a
 * pool: the windows are untouched. */
static int check_follow_up(store_check *c)
{
    const leadroute_store *m = c->ops->methods;
    void *store = NULL;
    leadroute_assignment a, got;
    char err[512], owner[64];
    uint32_t open = 0;
    int status = 1, rc;

    if ((rc = c->ops->open(c->user, &store, err, sizeof err)) != LEADROUTE_OK)
        return store_check_failed(c, "%s (%s)", err, leadroute_strerror(rc));
    store_check_first_assignment(&a, "lead:L-30", "zed", c->now, 30);
    leadroute_commit cm = { LEADROUTE_COMMIT_VERSION, &a, NULL, 0, NULL, 0, 0, NULL, 0 };
    if ((rc = m->commit(store, &cm, owner, sizeof owner)) != LEADROUTE_OK) {
        store_check_store_failed(c, "commit of L-30", rc, store);
        goto done;
    }
    /* overdue at its deadline: moved from zed to yan */
    a.at_ms = c->now + 30 * MINUTE_MS;
    a.rep_id = "yan";
    a.previous = "zed";
    a.hops = 1;
    cm.flags = LEADROUTE_COMMIT_FOLLOW_UP;
    if ((rc = m->commit(store, &cm, owner, sizeof owner)) != LEADROUTE_OK ||
        (rc = c->ops->get(store, "lead:L-30", &got)) != LEADROUTE_OK || !same(got.rep_id, "yan") ||
        got.history_count != 1 || !same(got.history[0], "zed")) {
        store_check_failed(c, "a follow-up from the holder should move L-30 to yan after zed: %s (%s)",
                           leadroute_strerror(rc), c->ops->errmsg(store));
        goto done;
    }
    /* a second tick that listed it with zed: yan holds it now */
    a.rep_id = "xu";
    snprintf(owner, sizeof owner, "?");
    rc = m->commit(store, &cm, owner, sizeof owner);
    if (rc != LEADROUTE_EEXISTS || !same(owner, "yan")) {
        store_check_failed(c, "a follow-up from zed, who no longer holds L-30, should say EEXISTS and name yan, "
                              "got %s and \"%s\"",
                           leadroute_strerror(rc), owner);
        goto done;
    }
    printf("follow-up: L-30 moved from zed to yan; a second move from zed -> %s, held by %s\n",
           leadroute_strerror(rc), owner);
    /* a move that names no previous holder moves nothing either, and names the holder (none for a
     * free key, which it does not claim) */
    a.previous = NULL;
    snprintf(owner, sizeof owner, "?");
    rc = m->commit(store, &cm, owner, sizeof owner);
    if (rc != LEADROUTE_EEXISTS || !same(owner, "yan")) {
        store_check_failed(c, "a follow-up of L-30 naming no previous holder should say EEXISTS and name yan, "
                              "got %s and \"%s\"",
                           leadroute_strerror(rc), owner);
        goto done;
    }
    a.key = "lead:L-39";
    snprintf(owner, sizeof owner, "?");
    rc = m->commit(store, &cm, owner, sizeof owner);
    if (rc != LEADROUTE_EEXISTS || !same(owner, "") ||
        (rc = m->find_claim(store, "lead:L-39", owner, sizeof owner)) != LEADROUTE_ENOTFOUND) {
        store_check_failed(c, "a follow-up of the free L-39 naming no previous holder should say EEXISTS and "
                              "name no one, and claim nothing: %s, \"%s\"",
                           leadroute_strerror(rc), owner);
        goto done;
    }
    a.key = "lead:L-30";
    a.previous = "zed";

    /* yan follows it up, timed by a clock a minute behind the one that moved it (recorded at the
     * move's time: never before it); a tick that listed it before, inside a batch, leaves it with yan */
    if ((rc = m->acknowledge(store, "lead:L-30", a.at_ms - MINUTE_MS, NULL, NULL, 0, NULL, 0)) != LEADROUTE_OK) {
        store_check_store_failed(c, "acknowledge L-30", rc, store);
        goto done;
    }
    a.previous = "yan";
    a.hops = 2;
    snprintf(owner, sizeof owner, "?");
    if ((rc = c->ops->begin(store)) != LEADROUTE_OK) {
        store_check_store_failed(c, "begin", rc, store);
        goto done;
    }
    rc = m->commit(store, &cm, owner, sizeof owner);
    if (rc != LEADROUTE_EEXISTS || !same(owner, "yan")) {
        store_check_failed(c, "a follow-up of an acknowledged lead should say EEXISTS and name yan, got %s and "
                              "\"%s\"",
                           leadroute_strerror(rc), owner);
        goto done;
    }
    if ((rc = c->ops->commit(store)) != LEADROUTE_OK) {
        store_check_store_failed(c, "commit of the batch", rc, store);
        goto done;
    }
    if ((rc = c->ops->get(store, "lead:L-30", &got)) != LEADROUTE_OK || !same(got.rep_id, "yan") ||
        got.acknowledged_ms == 0 || got.history_count != 1 || (rc = m->open_count(store, "xu", &open)) !=
        LEADROUTE_OK || open != 0) {
        store_check_failed(c, "the refused follow-up changed L-30 (or gave xu an open lead)");
        goto done;
    }
    if (got.acknowledged_ms != got.at_ms) {
        store_check_failed(c, "L-30 acknowledged a minute before its move: recorded at %" PRId64 " ms from the move, "
                              "not at the move's time",
                           got.acknowledged_ms - got.at_ms);
        goto done;
    }
    printf("follow-up: L-30 acknowledged by yan -> a move from yan says %s, L-30 stays\n",
           leadroute_strerror(LEADROUTE_EEXISTS));

    /* closed meanwhile: the move finds no holder, owner "", the key stays free */
    if ((rc = m->close(store, "lead:L-30")) != LEADROUTE_OK) {
        store_check_store_failed(c, "close L-30", rc, store);
        goto done;
    }
    a.rep_id = "xu";
    snprintf(owner, sizeof owner, "?");
    rc = m->commit(store, &cm, owner, sizeof owner);
    if (rc != LEADROUTE_EEXISTS || owner[0] != '\0' ||
        m->find_claim(store, "lead:L-30", err, sizeof err) != LEADROUTE_ENOTFOUND) {
        store_check_failed(c, "a follow-up of a closed lead should say EEXISTS with no holder and claim nothing, "
                              "got %s and \"%s\"",
                           leadroute_strerror(rc), owner);
        goto done;
    }
    /* version 1 has no flags: the same commit claims the free key */
    cm.version = 1;
    if ((rc = m->commit(store, &cm, owner, sizeof owner)) != LEADROUTE_OK ||
        m->find_claim(store, "lead:L-30", err, sizeof err) != LEADROUTE_OK || !same(err, "xu")) {
        store_check_failed(c, "a version 1 commit should not read the flags and claim the free L-30 for xu: %s",
                           leadroute_strerror(rc));
        goto done;
    }
    if ((rc = m->close(store, "lead:L-30")) != LEADROUTE_OK) {
        store_check_store_failed(c, "close L-30", rc, store);
        goto done;
    }
    /* nor whether it names a previous holder: a version 1 commit claims the free L-33 */
    store_check_first_assignment(&a, "lead:L-33", "xu", c->now, 0);
    if ((rc = m->commit(store, &cm, owner, sizeof owner)) != LEADROUTE_OK ||
        m->find_claim(store, "lead:L-33", err, sizeof err) != LEADROUTE_OK || !same(err, "xu") ||
        (rc = m->close(store, "lead:L-33")) != LEADROUTE_OK) {
        store_check_failed(c, "a version 1 commit with the follow-up flag and no previous holder should claim the "
                              "free L-33 for xu: %s", leadroute_strerror(rc));
        goto done;
    }
    printf("follow-up: L-30 closed -> a move says %s, no holder; a version 1 commit claims it\n",
           leadroute_strerror(LEADROUTE_EEXISTS));

    /* assigned again (zed to yan, a new deadline) after a tick listed it with zed's: the tick's
     * move from yan at zed's deadline finds it not due, and yan keeps it */
    cm.version = LEADROUTE_COMMIT_VERSION;
    cm.flags = 0;
    store_check_first_assignment(&a, "lead:L-31", "zed", c->now, 30);
    {
        static const struct {
            const char *rep, *previous, *what;
            int64_t at_min;
        } steps[] = { { "zed", NULL, "commit of L-31", 0 }, { "yan", "zed", "reassignment of L-31", 5 } };
        for (size_t k = 0; k < sizeof steps / sizeof *steps; k++) {
            a.rep_id = steps[k].rep;
            a.previous = steps[k].previous;
            a.at_ms = c->now + steps[k].at_min * MINUTE_MS;
            a.deadline_ms = a.at_ms + 30 * MINUTE_MS;
            if ((rc = m->commit(store, &cm, owner, sizeof owner)) != LEADROUTE_OK) {
                store_check_store_failed(c, steps[k].what, rc, store);
                goto done;
            }
        }
    }
    a.rep_id = "xu";
    a.previous = "yan";
    a.hops = 1;
    a.at_ms = c->now + 30 * MINUTE_MS;
    a.deadline_ms = a.at_ms + 30 * MINUTE_MS;
    cm.flags = LEADROUTE_COMMIT_FOLLOW_UP;
    snprintf(owner, sizeof owner, "?");
    rc = m->commit(store, &cm, owner, sizeof owner);
    if (rc != LEADROUTE_EEXISTS || !same(owner, "yan") || (rc = c->ops->get(store, "lead:L-31", &got)) !=
        LEADROUTE_OK || !same(got.rep_id, "yan")) {
        store_check_failed(c, "a follow-up of L-31, assigned again to yan and due 5 minutes later, should say "
                              "EEXISTS, name yan and leave it with yan: %s and \"%s\"",
                           leadroute_strerror(rc), owner);
        goto done;
    }
    /* at its own deadline it moves */
    a.at_ms = c->now + 35 * MINUTE_MS;
    if ((rc = m->commit(store, &cm, owner, sizeof owner)) != LEADROUTE_OK ||
        (rc = m->close(store, "lead:L-31")) != LEADROUTE_OK) {
        store_check_failed(c, "a follow-up of L-31 at its deadline should move it: %s (%s)", leadroute_strerror(rc),
                           c->ops->errmsg(store));
        goto done;
    }
    printf("follow-up: L-31 assigned again before its deadline -> a move says %s; at the new deadline it moves\n",
           leadroute_strerror(LEADROUTE_EEXISTS));
    /* a move naming no previous holder moves nothing, even to a free key */
    store_check_first_assignment(&a, "lead:L-32", "xu", c->now, 30);
    a.hops = 1;
    cm.flags = LEADROUTE_COMMIT_FOLLOW_UP;
    snprintf(owner, sizeof owner, "?");
    rc = m->commit(store, &cm, owner, sizeof owner);
    if (rc != LEADROUTE_EEXISTS || owner[0] != '\0' ||
        m->find_claim(store, "lead:L-32", owner, sizeof owner) != LEADROUTE_ENOTFOUND) {
        store_check_failed(c, "a follow-up of free L-32 naming no previous holder should say EEXISTS with an empty "
                              "owner and claim nothing: %s", leadroute_strerror(rc));
        goto done;
    }
    printf("follow-up: a move from no previous holder says %s and claims nothing\n",
           leadroute_strerror(LEADROUTE_EEXISTS));
    status = 0;
done:
    c->ops->close(store);
    return status;
}

/* Whether list_due at `now_ms` lists `key`. */
typedef struct due_probe {
    const char *key;
    int found;
} due_probe;

static int find_due(void *ctx, const leadroute_assignment *a)
{
    due_probe *p = ctx;
    if (same(a->key, p->key))
        p->found = 1;
    return 0;
}

/* Stops the listing at the first assignment with its own code. */
static int stop_listing(void *ctx, const leadroute_assignment *a)
{
    (void)a;
    ++*(int *)ctx;
    return 42;
}

/* Close each of `keys`, as a check's leads are left for the next one: 0,
 * or 1 with the first failure reported. */
static int close_keys(store_check *c, void *store, const char *const *keys, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc = c->ops->methods->close(store, keys[i]);
        if (rc != LEADROUTE_OK)
            return store_check_store_failed(c, keys[i], rc, store);
    }
    return 0;
}

static int lists_due(const leadroute_store *m, void *store, int64_t now_ms, const char *key, int *found)
{
    due_probe p = { key, 0 };
    int rc = m->list_due(store, now_ms, find_due, &p);
    *found = p.found;
    return rc;
}

/* Duties of the contract the routing story does not reach, as a store
 * could break them unseen: list_due lists only what is due at `now_ms`;
 * commit itself refuses a rep at the commit's capacity (the router checks
 * first, so only another host's lead makes it matter); acknowledge gives
 * back the assignment it acknowledged, keeps the first of two
 * acknowledgements (EEXISTS) and knows no unclaimed key nor any account
 * claim; list_due stops when `each` says so, and returns what it said; an
 * account claim holds no open lead; a reassignment clears the
 * acknowledgement, so that the new holder's deadline applies. Reps wu, vu
 * and tu are outside the roster, their leads without a pool. */
static int check_contract_details(store_check *c)
{
    const leadroute_store *m = c->ops->methods;
    void *store = NULL;
    leadroute_assignment a, got;
    char err[512], owner[64], rep[64], pool[64];
    int64_t deadline = c->now + 30 * MINUTE_MS, assigned = 0;
    uint32_t open = 99;
    int status = 1, rc, found = 0;

    if ((rc = c->ops->open(c->user, &store, err, sizeof err)) != LEADROUTE_OK)
        return store_check_failed(c, "%s (%s)", err, leadroute_strerror(rc));
    store_check_first_assignment(&a, "lead:L-40", "wu", c->now, 30);
    leadroute_commit cm = { LEADROUTE_COMMIT_VERSION, &a, NULL, 0, NULL, 0, 0, NULL, 0 };
    if ((rc = m->commit(store, &cm, owner, sizeof owner)) != LEADROUTE_OK) {
        store_check_store_failed(c, "commit of L-40", rc, store);
        goto done;
    }
    if ((rc = lists_due(m, store, deadline - 1, "lead:L-40", &found)) != LEADROUTE_OK || found) {
        store_check_failed(c, "list_due a millisecond before L-40's deadline should not list it (%s)",
                           leadroute_strerror(rc));
        goto done;
    }
    if ((rc = lists_due(m, store, deadline, "lead:L-40", &found)) != LEADROUTE_OK || !found) {
        store_check_failed(c, "list_due at L-40's deadline should list it (%s)", leadroute_strerror(rc));
        goto done;
    }
    printf("list_due: L-40 listed from its deadline on, not a millisecond before\n");

    /* wu holds one open lead: a commit whose capacity is 1 is refused, and changes nothing */
    a.key = "lead:L-41";
    a.lead_id = "L-41";
    cm.capacity = 1;
    rc = m->commit(store, &cm, owner, sizeof owner);
    found = m->find_claim(store, "lead:L-41", owner, sizeof owner) == LEADROUTE_OK;
    if (m->open_count(store, "wu", &open) != LEADROUTE_OK)
        open = 0;
    if (rc != LEADROUTE_ECONFLICT || found || open != 1) {
        store_check_failed(c, "a commit to wu with capacity 1 while wu holds one open lead should be refused with "
                              "ECONFLICT and claim nothing: got %s, L-41 %s, wu has %u open",
                           leadroute_strerror(rc), found ? "claimed" : "free", (unsigned)open);
        goto done;
    }
    printf("commit: capacity 1 reached by wu -> %s, nothing claimed\n", leadroute_strerror(LEADROUTE_ECONFLICT));

    /* an account claim is no open lead */
    a.key = "lead:L-42";
    a.lead_id = "L-42";
    a.rep_id = "tu";
    cm.capacity = 0;
    cm.account_key = "account:tu.example";
    if ((rc = m->commit(store, &cm, owner, sizeof owner)) != LEADROUTE_OK ||
        (rc = m->open_count(store, "tu", &open)) != LEADROUTE_OK || open != 1) {
        store_check_failed(c, "tu holds L-42 and the account tu.example: 1 open lead, not %u (%s)", (unsigned)open,
                           leadroute_strerror(rc));
        goto done;
    }
    if ((rc = m->acknowledge(store, "account:tu.example", c->now, NULL, NULL, 0, NULL, 0)) != LEADROUTE_ENOTFOUND) {
        store_check_failed(c, "acknowledging an account claim should say ENOTFOUND, got %s", leadroute_strerror(rc));
        goto done;
    }
    /* nor does it count against a capacity: with capacity 2, L-43 goes to tu */
    a.key = "lead:L-43";
    a.lead_id = "L-43";
    cm.capacity = 2;
    cm.account_key = NULL;
    if ((rc = m->commit(store, &cm, owner, sizeof owner)) != LEADROUTE_OK ||
        (rc = m->close(store, "lead:L-43")) != LEADROUTE_OK) {
        store_check_failed(c, "tu holds L-42 and the account tu.example: a commit with capacity 2 should be taken, "
                              "got %s", leadroute_strerror(rc));
        goto done;
    }
    cm.capacity = 0;
    /* a commit to vu naming the account tu.example leaves it with tu */
    a.key = "lead:L-44";
    a.lead_id = "L-44";
    a.rep_id = "vu";
    cm.account_key = "account:tu.example";
    if ((rc = m->commit(store, &cm, owner, sizeof owner)) != LEADROUTE_OK ||
        (rc = m->find_claim(store, "account:tu.example", rep, sizeof rep)) != LEADROUTE_OK || !same(rep, "tu") ||
        (rc = m->close(store, "lead:L-44")) != LEADROUTE_OK) {
        store_check_failed(c, "a commit to vu naming the account tu.example should leave it with tu: %s, \"%s\"",
                           leadroute_strerror(rc), rep);
        goto done;
    }
    /* a value that is not a number, and a commit version the store does not know, are refused */
    a.key = "lead:L-45";
    a.lead_id = "L-45";
    a.rep_id = "tu";
    cm.account_key = NULL;
    a.value = strtod("nan", NULL);
    if ((rc = m->commit(store, &cm, owner, sizeof owner)) != LEADROUTE_EINVAL) {
        store_check_failed(c, "a commit of L-45 whose value is NaN should say EINVAL, got %s", leadroute_strerror(rc));
        goto done;
    }
    a.value = 0;
    cm.version = LEADROUTE_COMMIT_VERSION + 1;
    rc = m->commit(store, &cm, owner, sizeof owner);
    cm.version = LEADROUTE_COMMIT_VERSION;
    if (rc != LEADROUTE_EVERSION || m->find_claim(store, "lead:L-45", owner, sizeof owner) != LEADROUTE_ENOTFOUND) {
        store_check_failed(c, "a commit of version %u should say EVERSION and claim nothing, got %s",
                           (unsigned)LEADROUTE_COMMIT_VERSION + 1, leadroute_strerror(rc));
        goto done;
    }
    printf("accounts: tu.example is no open lead of tu, and cannot be acknowledged\n");

    /* acknowledge gives back the assignment it acknowledged */
    rep[0] = pool[0] = '?';
    rep[1] = pool[1] = '\0';
    if ((rc = m->acknowledge(store, "lead:L-40", c->now + MINUTE_MS, &assigned, rep, sizeof rep, pool, sizeof pool)) !=
            LEADROUTE_OK || assigned != c->now || !same(rep, "wu") || pool[0] != '\0') {
        store_check_failed(c, "acknowledge of L-40 should give back its assignment: at %" PRId64 ", by wu, no pool; "
                              "got %s, at %" PRId64 ", rep \"%s\", pool \"%s\"",
                           c->now, leadroute_strerror(rc), assigned, rep, pool);
        goto done;
    }
    /* a second acknowledgement keeps the first (EEXISTS); an unclaimed key has none */
    assigned = 0;
    if ((rc = m->acknowledge(store, "lead:L-40", c->now + 2 * MINUTE_MS, &assigned, NULL, 0, NULL, 0)) !=
            LEADROUTE_EEXISTS || assigned != c->now ||
        (rc = c->ops->get(store, "lead:L-40", &got)) != LEADROUTE_OK || got.acknowledged_ms != c->now + MINUTE_MS) {
        store_check_failed(c, "a second acknowledgement of L-40 should say EEXISTS and keep the first time");
        goto done;
    }
    if ((rc = m->acknowledge(store, "lead:L-never", c->now, NULL, NULL, 0, NULL, 0)) != LEADROUTE_ENOTFOUND) {
        store_check_failed(c, "acknowledging a key never claimed should say ENOTFOUND, got %s", leadroute_strerror(rc));
        goto done;
    }
    /* `each` stops the listing: its code comes back, after one call */
    found = 0;
    if ((rc = m->list_due(store, INT64_MAX, stop_listing, &found)) != 42 || found != 1) {
        store_check_failed(c, "list_due should stop when each returns 42, and return 42: got %d after %d calls", rc,
                           found);
        goto done;
    }
    /* a host's reassignment to vu: the acknowledgement was wu's, vu's deadline applies */
    a.key = "lead:L-40";
    a.lead_id = "L-40";
    a.rep_id = "vu";
    a.previous = "wu";
    a.at_ms = c->now + 2 * MINUTE_MS;
    a.deadline_ms = a.at_ms + 30 * MINUTE_MS;
    cm.account_key = NULL;
    if ((rc = m->commit(store, &cm, owner, sizeof owner)) != LEADROUTE_OK ||
        (rc = c->ops->get(store, "lead:L-40", &got)) != LEADROUTE_OK || !same(got.rep_id, "vu") ||
        got.acknowledged_ms != 0) {
        store_check_failed(c, "reassigning the acknowledged L-40 to vu should clear its acknowledgement (%s, "
                              "acknowledged_ms %" PRId64 ")",
                           leadroute_strerror(rc), rc == LEADROUTE_OK ? got.acknowledged_ms : 0);
        goto done;
    }
    /* a reassignment adds the previous holder to the history, so that no tick gives the lead back */
    if (got.history_count != 1 || !same(got.history[0], "wu")) {
        store_check_failed(c, "reassigning L-40 from wu to vu should add wu to its history, got %zu entries (%s)",
                           got.history_count, show(got.history_count ? got.history[0] : NULL));
        goto done;
    }
    /* a second host's reassignment from wu, decided before the first committed: vu holds it now */
    a.rep_id = "tu";
    owner[0] = '\0';
    if ((rc = m->commit(store, &cm, owner, sizeof owner)) != LEADROUTE_EEXISTS || !same(owner, "vu") ||
        (rc = c->ops->get(store, "lead:L-40", &got)) != LEADROUTE_OK || !same(got.rep_id, "vu") ||
        (rc = m->open_count(store, "tu", &open)) != LEADROUTE_OK || open != 1) {
        store_check_failed(c, "a reassignment of L-40 from wu, which vu holds now, should fail with EEXISTS naming "
                              "vu and change nothing (%s, owner \"%s\", tu with %u open leads)",
                           leadroute_strerror(rc), owner, (unsigned)open);
        goto done;
    }
    a.rep_id = "vu";
    if ((rc = lists_due(m, store, a.deadline_ms, "lead:L-40", &found)) != LEADROUTE_OK || !found) {
        store_check_failed(c, "L-40, reassigned to vu, should be due at vu's deadline (%s)", leadroute_strerror(rc));
        goto done;
    }
    printf("acknowledge: gives back L-40 by wu; reassigned to vu (wu in its history, a stale reassignment from "
           "wu refused), it is due again at vu's deadline\n");
    if ((rc = m->close(store, "lead:L-40")) != LEADROUTE_OK || (rc = m->close(store, "lead:L-42")) != LEADROUTE_OK) {
        store_check_store_failed(c, "close L-40 and L-42", rc, store);
        goto done;
    }
    status = 0;
done:
    c->ops->close(store);
    return status;
}

/* The due assignment of key `key` as list_due gave it: its numbers, and
 * its strings copied (the listing only lends them). */
typedef struct due_copy {
    const char *key;
    int found;
    leadroute_assignment a; /* numbers only: its strings are NULL */
    char rep[32], lead[32], pool[32], rule[32], previous[32], history[4][32];
} due_copy;

static int copy_due(void *ctx, const leadroute_assignment *a)
{
    due_copy *d = ctx;
    if (d->found || !same(a->key, d->key))
        return 0;
    d->found = 1;
    d->a = *a;
    d->a.key = d->a.lead_id = d->a.rep_id = d->a.pool_id = d->a.rule_id = d->a.previous = NULL;
    d->a.history = NULL;
    snprintf(d->rep, sizeof d->rep, "%s", show(a->rep_id));
    snprintf(d->lead, sizeof d->lead, "%s", show(a->lead_id));
    snprintf(d->pool, sizeof d->pool, "%s", show(a->pool_id));
    snprintf(d->rule, sizeof d->rule, "%s", show(a->rule_id));
    snprintf(d->previous, sizeof d->previous, "%s", show(a->previous));
    for (size_t i = 0; i < a->history_count && i < 4; i++)
        snprintf(d->history[i], sizeof d->history[i], "%s", show(a->history[i]));
    return 0;
}

/* More of the contract, each answer exact: every field of an assignment
 * comes back from list_due and the lookup as committed, the history in
 * order with `previous` its last entry; a commit whose expected version is
 * ahead of the store's conflicts; a state that fills the buffer exactly is
 * copied; an assignment counts in the window of its own pool, else the
 * commit's; a tick's move of a lead with no deadline is refused; an
 * acknowledgement at the epoch is recorded; an assignment exactly 31 days
 * older than a commit stays in the windows. Reps pa, pb, pc and pd and
 * pools lpool, vpool and apool are outside the roster. */
static int check_store_answers(store_check *c)
{
    const leadroute_store *m = c->ops->methods;
    void *store = NULL;
    leadroute_assignment a, got;
    char err[512], owner[64], pool[64], state[8];
    const int64_t day = 24 * 60 * MINUTE_MS, t = c->now;
    size_t length = 0;
    uint64_t version = 99, n = 0;
    double v = 0;
    int status = 1, rc, found = 0;

    if ((rc = c->ops->open(c->user, &store, err, sizeof err)) != LEADROUTE_OK)
        return store_check_failed(c, "%s (%s)", err, leadroute_strerror(rc));
    leadroute_commit cm = { LEADROUTE_COMMIT_VERSION, &a, NULL, 0, NULL, 0, 0, NULL, 0 };

    /* L-70: pa, then pb, then pc; every field as committed, history [pa, pb] */
    static const char *const holders[] = { "pa", "pb", "pc" };
    store_check_first_assignment(&a, "lead:L-70", "pa", t, 45);
    a.pool_id = "lpool";
    a.rule_id = "r-70";
    a.table_hash = UINT64_C(0xfedcba9876543210);
    a.value = 1234.5;
    for (size_t i = 0; i < 3; i++) {
        a.rep_id = holders[i];
        a.previous = i ? holders[i - 1] : NULL;
        a.hops = (uint32_t)i + 3;
        a.escalated = (int)i;
        if ((rc = m->commit(store, &cm, owner, sizeof owner)) != LEADROUTE_OK) {
            store_check_store_failed(c, "commit of L-70", rc, store);
            goto done;
        }
    }
    due_copy d;
    memset(&d, 0, sizeof d);
    d.key = "lead:L-70";
    if ((rc = m->list_due(store, a.deadline_ms, copy_due, &d)) != LEADROUTE_OK || !d.found ||
        !same(d.rep, "pc") || !same(d.lead, "L-70") || !same(d.pool, "lpool") || !same(d.rule, "r-70") ||
        d.a.table_hash != UINT64_C(0xfedcba9876543210) || d.a.at_ms != t || d.a.sla_minutes != 45 ||
        d.a.deadline_ms != t + 45 * MINUTE_MS || d.a.value != 1234.5 || d.a.hops != 5 || d.a.escalated != 1 ||
        d.a.acknowledged_ms != 0 || d.a.history_count != 2 || !same(d.history[0], "pa") ||
        !same(d.history[1], "pb") || !same(d.previous, "pb")) {
        store_check_failed(c, "list_due should give L-70 as committed (pc, pool lpool, rule r-70, hash, at, SLA 45, "
                              "value 1234.5, hops 5, escalated, history [pa, pb], previous pb): %s, found %d, rep %s, "
                              "pool %s, rule %s, hops %" PRIu32 ", escalated %d, %zu in history (%s, %s), previous %s",
                           leadroute_strerror(rc), d.found, d.rep, d.pool, d.rule, d.a.hops, d.a.escalated,
                           d.a.history_count, d.history[0], d.history[1], d.previous);
        goto done;
    }
    if ((rc = c->ops->get(store, "lead:L-70", &got)) != LEADROUTE_OK || !same(got.rep_id, "pc") ||
        !same(got.pool_id, "lpool") || !same(got.rule_id, "r-70") || got.escalated != 1 || got.hops != 5 ||
        got.history_count != 2 || !same(got.history[0], "pa") || !same(got.history[1], "pb") ||
        !same(got.previous, "pb")) {
        store_check_failed(c, "the lookup of L-70 should give pc after [pa, pb], previous pb: %s, %zu in history, "
                              "previous %s", leadroute_strerror(rc), rc == LEADROUTE_OK ? got.history_count : 0,
                           rc == LEADROUTE_OK ? show(got.previous) : "?");
        goto done;
    }
    /* acknowledge gives back the pool (not the rule) */
    pool[0] = '?';
    pool[1] = '\0';
    if ((rc = m->acknowledge(store, "lead:L-70", t, NULL, NULL, 0, pool, sizeof pool)) != LEADROUTE_OK ||
        !same(pool, "lpool")) {
        store_check_failed(c, "acknowledge of L-70 should give back its pool lpool: %s, \"%s\"",
                           leadroute_strerror(rc), pool);
        goto done;
    }
    printf("list_due: L-70 as committed, history [pa, pb] then pc; acknowledge gives pool %s\n", pool);

    /* a tick's move of a lead with no deadline (assigned again without one) is refused */
    store_check_first_assignment(&a, "lead:L-71", "pa", t, 0);
    cm.flags = 0;
    if ((rc = m->commit(store, &cm, owner, sizeof owner)) != LEADROUTE_OK) {
        store_check_store_failed(c, "commit of L-71", rc, store);
        goto done;
    }
    a.rep_id = "pb";
    a.previous = "pa";
    a.at_ms = t + day;
    a.deadline_ms = a.at_ms + 30 * MINUTE_MS;
    cm.flags = LEADROUTE_COMMIT_FOLLOW_UP;
    snprintf(owner, sizeof owner, "?");
    rc = m->commit(store, &cm, owner, sizeof owner);
    if (rc != LEADROUTE_EEXISTS || !same(owner, "pa") ||
        m->find_claim(store, "lead:L-71", err, sizeof err) != LEADROUTE_OK || !same(err, "pa")) {
        store_check_failed(c, "a follow-up of L-71, which has no deadline, should say EEXISTS, name pa and leave "
                              "it with pa: %s, \"%s\"", leadroute_strerror(rc), owner);
        goto done;
    }
    cm.flags = 0;
    printf("follow-up: L-71 without a deadline is not moved (%s, held by %s)\n", leadroute_strerror(rc), owner);
    /* a reassignment from ox, who never held L-71 (an id that sorts before its holder's) */
    a.previous = "ox";
    snprintf(owner, sizeof owner, "?");
    rc = m->commit(store, &cm, owner, sizeof owner);
    if (rc != LEADROUTE_EEXISTS || !same(owner, "pa") ||
        m->find_claim(store, "lead:L-71", err, sizeof err) != LEADROUTE_OK || !same(err, "pa")) {
        store_check_failed(c, "a reassignment of L-71 from ox, while pa holds it, should say EEXISTS, name pa and "
                              "leave it with pa: %s, \"%s\"", leadroute_strerror(rc), owner);
        goto done;
    }

    /* pool vpool never written: a commit expecting version 3 conflicts and writes nothing */
    store_check_first_assignment(&a, "lead:L-72", "pa", t, 0);
    a.pool_id = "apool";
    a.value = 7;
    cm.pool_id = "vpool";
    cm.expected_version = 3;
    cm.state = "abc";
    cm.state_length = 3;
    if ((rc = m->commit(store, &cm, owner, sizeof owner)) != LEADROUTE_ECONFLICT ||
        m->find_claim(store, "lead:L-72", err, sizeof err) != LEADROUTE_ENOTFOUND ||
        (rc = m->load_pool(store, "vpool", state, sizeof state, &length, &version)) != LEADROUTE_OK ||
        version != 0 || length != 0) {
        store_check_failed(c, "a commit expecting version 3 of the unwritten vpool should conflict and write nothing: "
                              "%s, version %" PRIu64 ", length %zu", leadroute_strerror(rc), version, length);
        goto done;
    }
    /* at version 0 it goes; the 3 bytes of state fit a buffer of exactly 3 */
    cm.expected_version = 0;
    memset(state, 0, sizeof state);
    if ((rc = m->commit(store, &cm, owner, sizeof owner)) != LEADROUTE_OK ||
        (rc = m->load_pool(store, "vpool", state, 3, &length, &version)) != LEADROUTE_OK || version != 1 ||
        length != 3 || memcmp(state, "abc", 3) != 0) {
        store_check_failed(c, "vpool's 3 bytes at version 1 should be copied into a buffer of 3: %s, version %" PRIu64
                              ", length %zu, \"%.3s\"", leadroute_strerror(rc), version, length, state);
        goto done;
    }
    /* L-73 without a pool of its own counts for the commit's pool vpool; L-72 for apool */
    store_check_first_assignment(&a, "lead:L-73", "pb", t, 0);
    a.value = 5;
    cm.expected_version = 1;
    if ((rc = m->commit(store, &cm, owner, sizeof owner)) != LEADROUTE_OK) {
        store_check_store_failed(c, "commit of L-73", rc, store);
        goto done;
    }
    cm.pool_id = NULL;
    cm.state = NULL;
    cm.state_length = 0;
    static const struct {
        const char *pool;
        double v;
    } windows[] = { { "apool", 7 }, { "vpool", 5 } };
    for (size_t i = 0; i < sizeof windows / sizeof *windows; i++) {
        if ((rc = m->window(store, NULL, windows[i].pool, t, &n, &v)) != LEADROUTE_OK || n != 1 ||
            !same_value(v, windows[i].v)) {
            store_check_failed(c, "window of pool %s from L-72's time should hold 1 assignment of value %.0f, not "
                                  "%" PRIu64 " of %.0f (%s)", windows[i].pool, windows[i].v, n, v,
                               leadroute_strerror(rc));
            goto done;
        }
    }
    /* by rep within a pool: pa's L-72 counts in apool from its very time on, not in vpool */
    if ((rc = m->window(store, "pa", "apool", t, &n, &v)) != LEADROUTE_OK || n != 1 || !same_value(v, 7) ||
        (rc = m->window(store, "pa", "vpool", t, &n, &v)) != LEADROUTE_OK || n != 0) {
        store_check_failed(c, "windows of pa within apool (L-72) and within vpool (none) are wrong: %" PRIu64 " (%s)",
                           n, leadroute_strerror(rc));
        goto done;
    }
    /* a lead never moved has no history; empty pool and rule ids are kept as none */
    store_check_first_assignment(&a, "lead:L-77", "pb", t, 0);
    a.pool_id = "";
    a.rule_id = "";
    if ((rc = m->commit(store, &cm, owner, sizeof owner)) != LEADROUTE_OK ||
        (rc = c->ops->get(store, "lead:L-77", &got)) != LEADROUTE_OK || got.history_count != 0 || got.previous ||
        got.pool_id || got.rule_id) {
        store_check_failed(c, "L-77, never moved, with empty pool and rule ids: expected no history and no ids, got "
                              "%zu in history, pool %s, rule %s (%s)", rc == LEADROUTE_OK ? got.history_count : 0,
                           rc == LEADROUTE_OK ? show(got.pool_id) : "?", rc == LEADROUTE_OK ? show(got.rule_id) : "?",
                           leadroute_strerror(rc));
        goto done;
    }
    printf("windows: L-72 counts for its pool apool, L-73 for the commit's vpool\n");

    /* acknowledged at the epoch, for an assignment made then: recorded all the same */
    store_check_first_assignment(&a, "lead:L-74", "pc", 0, 1);
    if ((rc = m->commit(store, &cm, owner, sizeof owner)) != LEADROUTE_OK ||
        (rc = m->acknowledge(store, "lead:L-74", 0, NULL, NULL, 0, NULL, 0)) != LEADROUTE_OK) {
        store_check_store_failed(c, "commit and acknowledgement of L-74 at the epoch", rc, store);
        goto done;
    }
    if ((rc = m->acknowledge(store, "lead:L-74", MINUTE_MS, NULL, NULL, 0, NULL, 0)) != LEADROUTE_EEXISTS ||
        (rc = lists_due(m, store, INT64_MAX, "lead:L-74", &found)) != LEADROUTE_OK || found) {
        store_check_failed(c, "L-74 acknowledged at the epoch should stay acknowledged (a second acknowledgement "
                              "EEXISTS, not due): %s, %s", leadroute_strerror(rc), found ? "due" : "not due");
        goto done;
    }
    printf("acknowledge: at the epoch, recorded\n");

    /* pd: an assignment exactly 31 days older than the next commit stays in the windows */
    for (int i = 0; i < 2; i++) {
        char key[16];
        snprintf(key, sizeof key, "lead:L-7%d", 5 + i);
        store_check_first_assignment(&a, key, "pd", t - (62 - 31 * i) * day, 0);
        if ((rc = m->commit(store, &cm, owner, sizeof owner)) != LEADROUTE_OK) {
            store_check_store_failed(c, "commit of L-75 or L-76", rc, store);
            goto done;
        }
    }
    if ((rc = m->window(store, "pd", NULL, t - 62 * day, &n, &v)) != LEADROUTE_OK || n != 2) {
        store_check_failed(c, "window of pd from 62 days back should hold L-75 and L-76, 31 days apart: %" PRIu64
                              " (%s)", n, leadroute_strerror(rc));
        goto done;
    }
    printf("window: an assignment 31 days older than a commit stays\n");

    static const char *const keys[] = { "lead:L-70", "lead:L-71", "lead:L-72", "lead:L-73", "lead:L-74",
                                        "lead:L-75", "lead:L-76", "lead:L-77" };
    if (close_keys(c, store, keys, sizeof keys / sizeof *keys) != 0)
        goto done;
    status = 0;
done:
    c->ops->close(store);
    return status;
}

/* Inside a batch, closing a lead gives its rep one open lead less, once:
 * whether the batch had read the rep's count before or not, the count the
 * next commit checks its capacity against is the true one, and the batch
 * commits. Rep ru is outside the roster, its leads without a pool. */
static int check_close_in_batch(store_check *c)
{
    const leadroute_store *m = c->ops->methods;
    void *store = NULL;
    leadroute_assignment a;
    char err[512], owner[64];
    uint32_t open = 99;
    int status = 1, rc, in_batch = 0;

    if ((rc = c->ops->open(c->user, &store, err, sizeof err)) != LEADROUTE_OK)
        return store_check_failed(c, "%s (%s)", err, leadroute_strerror(rc));
    leadroute_commit cm = { LEADROUTE_COMMIT_VERSION, &a, NULL, 0, NULL, 0, 0, NULL, 0 };
    for (int i = 0; i < 2; i++) {
        char key[16];
        snprintf(key, sizeof key, "lead:L-6%d", i);
        store_check_first_assignment(&a, key, "ru", c->now, 0);
        if ((rc = m->commit(store, &cm, owner, sizeof owner)) != LEADROUTE_OK) {
            store_check_store_failed(c, "commit of L-60 or L-61", rc, store);
            goto done;
        }
    }
    if ((rc = c->ops->begin(store)) != LEADROUTE_OK) {
        store_check_store_failed(c, "begin", rc, store);
        goto done;
    }
    in_batch = 1;
    if ((rc = m->find_claim(store, "lead:L-60", owner, sizeof owner)) != LEADROUTE_OK ||
        (rc = m->close(store, "lead:L-60")) != LEADROUTE_OK) {
        store_check_store_failed(c, "closing L-60 in a batch", rc, store);
        goto done;
    }
    if ((rc = m->open_count(store, "ru", &open)) != LEADROUTE_OK || open != 1) {
        store_check_failed(c, "after closing L-60 in a batch, ru should hold 1 open lead, not %u (%s)",
                           (unsigned)open, leadroute_strerror(rc));
        goto done;
    }
    store_check_first_assignment(&a, "lead:L-62", "ru", c->now, 0);
    cm.capacity = 2;
    if ((rc = m->commit(store, &cm, owner, sizeof owner)) != LEADROUTE_OK ||
        (rc = m->open_count(store, "ru", &open)) != LEADROUTE_OK || open != 2) {
        store_check_failed(c, "L-62 to ru with capacity 2 after a close should be taken, leaving 2 open, not %u (%s)",
                           (unsigned)open, leadroute_strerror(rc));
        goto done;
    }
    in_batch = 0;
    if ((rc = c->ops->commit(store)) != LEADROUTE_OK) {
        store_check_store_failed(c, "the batch with a close and a commit", rc, store);
        goto done;
    }
    if ((rc = m->open_count(store, "ru", &open)) != LEADROUTE_OK || open != 2 ||
        m->find_claim(store, "lead:L-60", owner, sizeof owner) != LEADROUTE_ENOTFOUND) {
        store_check_failed(c, "after the batch, ru should hold L-61 and L-62 (2 open, not %u) and L-60 be free",
                           (unsigned)open);
        goto done;
    }
    printf("batch: a close counts once; ru holds 2 open leads after the batch\n");
    status = 0;
done:
    if (in_batch)
        (void)c->ops->rollback(store);
    c->ops->close(store);
    return status;
}

/* A batch answers as the store does outside one, its own commits included:
 * accounts it claimed (read as free before, or never read), open leads,
 * windows by rep and by the assignment's own pool, list_due, acknowledge
 * and the events recorded in it (by time, then in recording order); a
 * lead committed and moved twice in one batch, a reassignment clearing the
 * acknowledgement and adding to the history, a claim after a previous
 * holder let go, a rep at capacity and a held key refused; a tick's move
 * inside the batch seen by the batch's next reads. Reps ba, bb and bc and
 * pools bpool, bpool2 and bpool3 are outside the roster. */
static int check_batch_details(store_check *c)
{
    const leadroute_store *m = c->ops->methods;
    void *store = NULL;
    leadroute_assignment a, got;
    char err[512], owner[64], holder[64], state[8];
    const int64_t t = c->now;
    event_list kinds = { 0, "" };
    size_t length = 0;
    uint64_t n = 0, version = 99;
    uint32_t open = 99;
    double v = 0;
    int status = 1, rc, found = 0, in_batch = 0;

    if ((rc = c->ops->open(c->user, &store, err, sizeof err)) != LEADROUTE_OK)
        return store_check_failed(c, "%s (%s)", err, leadroute_strerror(rc));
    leadroute_commit cm = { LEADROUTE_COMMIT_VERSION, &a, NULL, 0, NULL, 0, 0, "account:b1.example", 0 };
    if ((rc = c->ops->begin(store)) != LEADROUTE_OK) {
        store_check_store_failed(c, "begin", rc, store);
        goto done;
    }
    in_batch = 1;
    /* b1.example read as free first, b2.example never read: both claimed for ba by the batch */
    if ((rc = m->find_claim(store, "account:b1.example", holder, sizeof holder)) != LEADROUTE_ENOTFOUND) {
        store_check_failed(c, "account b1.example should be free: %s", leadroute_strerror(rc));
        goto done;
    }
    store_check_first_assignment(&a, "lead:L-80", "ba", t, 30);
    a.pool_id = "bpool";
    for (int i = 0; i < 2; i++) {
        if ((rc = m->commit(store, &cm, owner, sizeof owner)) != LEADROUTE_OK) {
            store_check_store_failed(c, "a commit in a batch", rc, store);
            goto done;
        }
        a.key = "lead:L-81";
        a.lead_id = "L-81";
        cm.account_key = "account:b2.example";
    }
    if ((rc = m->open_count(store, "ba", &open)) != LEADROUTE_OK || open != 2) {
        store_check_failed(c, "in a batch, ba should hold its 2 leads committed in it, not %u (%s)", (unsigned)open,
                           leadroute_strerror(rc));
        goto done;
    }
    store_check_first_assignment(&a, "lead:L-82", "bb", t, 0);
    cm.account_key = NULL;
    if ((rc = m->commit(store, &cm, owner, sizeof owner)) != LEADROUTE_OK) {
        store_check_store_failed(c, "commit of L-82 in a batch", rc, store);
        goto done;
    }
    static const char *const accounts[] = { "account:b1.example", "account:b2.example" };
    for (size_t i = 0; i < 2; i++) {
        snprintf(holder, sizeof holder, "?");
        if ((rc = m->find_claim(store, accounts[i], holder, sizeof holder)) != LEADROUTE_OK || !same(holder, "ba")) {
            store_check_failed(c, "in the batch that claimed it for ba, %s should be held by ba: %s, \"%s\"",
                               accounts[i], leadroute_strerror(rc), holder);
            goto done;
        }
    }
    if ((rc = m->open_count(store, "bb", &open)) != LEADROUTE_OK || open != 1) {
        store_check_failed(c, "in a batch, bb should hold L-82, 1 open lead, not %u (%s)", (unsigned)open,
                           leadroute_strerror(rc));
        goto done;
    }
    /* L-83 of pool bpool2 by its assignment (none by the commit): counted in the windows at once */
    store_check_first_assignment(&a, "lead:L-83", "bc", t, 0);
    a.pool_id = "bpool2";
    a.value = 3;
    if ((rc = m->commit(store, &cm, owner, sizeof owner)) != LEADROUTE_OK ||
        (rc = m->window(store, NULL, "bpool2", t, &n, &v)) != LEADROUTE_OK || n != 1 || !same_value(v, 3)) {
        store_check_failed(c, "in a batch, the window of bpool2 should hold L-83 committed in it: %" PRIu64 " (%s)", n,
                           leadroute_strerror(rc));
        goto done;
    }
    store_check_first_assignment(&a, "lead:L-84", "bc", t, 30);
    if ((rc = m->commit(store, &cm, owner, sizeof owner)) != LEADROUTE_OK ||
        (rc = lists_due(m, store, t + 30 * MINUTE_MS, "lead:L-84", &found)) != LEADROUTE_OK || !found ||
        (rc = m->window(store, "bc", NULL, t, &n, &v)) != LEADROUTE_OK || n != 2) {
        store_check_failed(c, "in a batch, bc's window should hold L-83 and L-84 (%" PRIu64 ") and list_due list L-84 "
                              "(%s): %s", n, found ? "listed" : "not listed", leadroute_strerror(rc));
        goto done;
    }
    store_check_first_assignment(&a, "lead:L-85", "bc", t, 30);
    if ((rc = m->commit(store, &cm, owner, sizeof owner)) != LEADROUTE_OK ||
        (rc = m->acknowledge(store, "lead:L-85", t + MINUTE_MS, NULL, NULL, 0, NULL, 0)) != LEADROUTE_OK) {
        store_check_failed(c, "in a batch, L-85 committed in it should be acknowledged: %s (%s)", leadroute_strerror(rc),
                           c->ops->errmsg(store));
        goto done;
    }
    /* events recorded in the batch: by time, then in recording order */
    static const struct { int64_t at; const char *kind; } recorded[] = {
        { 1, "b-first" }, { 1, "b-second" }, { 0, "b-earlier" },
    };
    for (size_t i = 0; i < 3; i++) {
        store_check_event e = { t + recorded[i].at, recorded[i].kind, "lead:L-85", "L-85", NULL };
        if ((rc = c->ops->record(store, &e)) != LEADROUTE_OK) {
            store_check_store_failed(c, "record in a batch", rc, store);
            goto done;
        }
    }
    if ((rc = c->ops->events(store, "L-85", collect_event, &kinds, NULL)) != LEADROUTE_OK ||
        strcmp(kinds.kinds, "b-earlier,b-first,b-second") != 0) {
        store_check_failed(c, "events of L-85 recorded in a batch: expected b-earlier,b-first,b-second, got %s (%s)",
                           kinds.kinds, leadroute_strerror(rc));
        goto done;
    }
    printf("batch: its own accounts, open leads, windows, due leads, acknowledgements and events are seen in it\n");

    /* L-80 acknowledged, then moved ba -> bb -> bc in the batch: no acknowledgement, history [ba, bb] */
    if ((rc = m->acknowledge(store, "lead:L-80", t + MINUTE_MS, NULL, NULL, 0, NULL, 0)) != LEADROUTE_OK) {
        store_check_store_failed(c, "acknowledge L-80", rc, store);
        goto done;
    }
    store_check_first_assignment(&a, "lead:L-80", "bb", t + 2 * MINUTE_MS, 30);
    a.previous = "ba";
    if ((rc = m->commit(store, &cm, owner, sizeof owner)) != LEADROUTE_OK ||
        (rc = m->open_count(store, "ba", &open)) != LEADROUTE_OK || open != 1) {
        store_check_failed(c, "L-80 moved from ba to bb in a batch: ba should hold 1 open lead, not %u (%s)",
                           (unsigned)open, leadroute_strerror(rc));
        goto done;
    }
    a.rep_id = "bc";
    a.previous = "bb";
    if ((rc = m->commit(store, &cm, owner, sizeof owner)) != LEADROUTE_OK ||
        (rc = c->ops->get(store, "lead:L-80", &got)) != LEADROUTE_OK || !same(got.rep_id, "bc") ||
        got.acknowledged_ms != 0 || got.history_count != 2 || !same(got.history[0], "ba") ||
        !same(got.history[1], "bb")) {
        store_check_failed(c, "L-80 acknowledged, then moved ba -> bb -> bc in a batch: expected bc after [ba, bb], not "
                              "acknowledged: %s (%s)", leadroute_strerror(rc), c->ops->errmsg(store));
        goto done;
    }
    /* bz let go of L-86: it is claimed, bz in its history */
    store_check_first_assignment(&a, "lead:L-86", "bc", t, 0);
    a.previous = "bz";
    if ((rc = m->commit(store, &cm, owner, sizeof owner)) != LEADROUTE_OK ||
        (rc = c->ops->get(store, "lead:L-86", &got)) != LEADROUTE_OK || !same(got.rep_id, "bc") ||
        got.history_count != 1 || !same(got.history[0], "bz")) {
        store_check_failed(c, "L-86, which bz let go, claimed for bc in a batch: expected history [bz]: %s, %zu entries",
                           leadroute_strerror(rc), rc == LEADROUTE_OK ? got.history_count : 0);
        goto done;
    }
    /* bc holds 5 open leads: capacity 5 refused; L-81 held by ba: EEXISTS naming ba */
    store_check_first_assignment(&a, "lead:L-87", "bc", t, 0);
    cm.capacity = 5;
    if ((rc = m->commit(store, &cm, owner, sizeof owner)) != LEADROUTE_ECONFLICT) {
        store_check_failed(c, "in a batch, a commit to bc with 5 open leads and capacity 5 should say ECONFLICT, got %s",
                           leadroute_strerror(rc));
        goto done;
    }
    cm.capacity = 0;
    store_check_first_assignment(&a, "lead:L-81", "bb", t, 0);
    snprintf(owner, sizeof owner, "?");
    if ((rc = m->commit(store, &cm, owner, sizeof owner)) != LEADROUTE_EEXISTS || !same(owner, "ba")) {
        store_check_failed(c, "in a batch, a commit of L-81, held by ba, should say EEXISTS and name ba: %s, \"%s\"",
                           leadroute_strerror(rc), owner);
        goto done;
    }
    /* a tick's move of L-84 (bc to ba) in the batch, with pool bpool3: the batch reads what it did */
    if ((rc = m->find_claim(store, "lead:L-84", holder, sizeof holder)) != LEADROUTE_OK ||
        (rc = m->load_pool(store, "bpool3", state, sizeof state, &length, &version)) != LEADROUTE_OK || version != 0) {
        store_check_failed(c, "L-84 held and bpool3 unwritten before the move: %s", leadroute_strerror(rc));
        goto done;
    }
    store_check_first_assignment(&a, "lead:L-84", "ba", t + 30 * MINUTE_MS, 30);
    a.previous = "bc";
    a.hops = 1;
    leadroute_commit move = { LEADROUTE_COMMIT_VERSION, &a, "bpool3", 0, "m1", 2, 0, NULL,
                              LEADROUTE_COMMIT_FOLLOW_UP };
    if ((rc = m->commit(store, &move, owner, sizeof owner)) != LEADROUTE_OK) {
        store_check_store_failed(c, "the move of L-84 in a batch", rc, store);
        goto done;
    }
    if ((rc = m->find_claim(store, "lead:L-84", holder, sizeof holder)) != LEADROUTE_OK || !same(holder, "ba") ||
        (rc = m->open_count(store, "ba", &open)) != LEADROUTE_OK || open != 2 ||
        (rc = m->load_pool(store, "bpool3", state, sizeof state, &length, &version)) != LEADROUTE_OK ||
        version != 1 || length != 2) {
        store_check_failed(c, "after the move of L-84 to ba in a batch: expected ba holding it (\"%s\"), with 2 open "
                              "leads (%u), bpool3 at version 1 (%" PRIu64 "): %s", holder, (unsigned)open, version,
                           leadroute_strerror(rc));
        goto done;
    }
    in_batch = 0;
    if ((rc = c->ops->commit(store)) != LEADROUTE_OK) {
        store_check_store_failed(c, "commit of the batch", rc, store);
        goto done;
    }
    printf("batch: L-80 moved twice in one batch (history [ba, bb]), a capacity and a held key refused, a tick's "
           "move read back\n");
    static const char *const keys[] = { "lead:L-80", "lead:L-81", "lead:L-82", "lead:L-83",
                                        "lead:L-84", "lead:L-85", "lead:L-86" };
    if (close_keys(c, store, keys, sizeof keys / sizeof *keys) != 0)
        goto done;
    status = 0;
done:
    if (in_batch)
        (void)c->ops->rollback(store);
    c->ops->close(store);
    return status;
}

/* A commit dated two months ahead of the router's clock (another host's,
 * or a clock set forward by hand) must not hide the commits dated by the
 * router's clock after it: rolling caps and value windows read them. A
 * store may drop what is more than 31 days older than the commit it writes,
 * never what is that much older than its newest entry (so this check runs
 * last), and a batch no more than its commits one by one. Reps su and sv
 * are outside the roster, their leads without a pool. */
static int check_window_beside_entry_ahead(store_check *c)
{
    const leadroute_store *m = c->ops->methods;
    void *store = NULL;
    leadroute_assignment a;
    char err[512], owner[64];
    const int64_t day = 24 * 60 * MINUTE_MS;
    uint64_t n = 0;
    double v = 0;
    int status = 1, rc, in_batch = 0;

    if ((rc = c->ops->open(c->user, &store, err, sizeof err)) != LEADROUTE_OK)
        return store_check_failed(c, "%s (%s)", err, leadroute_strerror(rc));
    store_check_first_assignment(&a, "lead:L-50", "su", c->now + 62 * day, 0);
    a.value = 1;
    leadroute_commit cm = { LEADROUTE_COMMIT_VERSION, &a, NULL, 0, NULL, 0, 0, NULL, 0 };
    if ((rc = m->commit(store, &cm, owner, sizeof owner)) != LEADROUTE_OK) {
        store_check_store_failed(c, "commit of L-50", rc, store);
        goto done;
    }
    for (int i = 1; i <= 2; i++) {
        char key[16];
        snprintf(key, sizeof key, "lead:L-5%d", i);
        store_check_first_assignment(&a, key, "su", c->now + i * MINUTE_MS, 0);
        a.value = 10 * i;
        if ((rc = m->commit(store, &cm, owner, sizeof owner)) != LEADROUTE_OK) {
            store_check_store_failed(c, "commit of L-51 or L-52", rc, store);
            goto done;
        }
    }
    if ((rc = m->window(store, "su", NULL, c->now, &n, &v)) != LEADROUTE_OK) {
        store_check_store_failed(c, "window", rc, store);
        goto done;
    }
    if (n != 3 || !same_value(v, 31)) {
        store_check_failed(c, "window of su from now should hold L-51 and L-52, dated now, beside L-50, dated two "
                              "months ahead: 3 assignments of value 31, not %" PRIu64 " of value %.0f", n, v);
        goto done;
    }
    printf("window: a commit two months ahead hides none of those dated now after it\n");
    /* the same in one batch: its commit dated now is pruned by none of the batch's */
    if ((rc = c->ops->begin(store)) != LEADROUTE_OK) {
        store_check_store_failed(c, "begin", rc, store);
        goto done;
    }
    in_batch = 1;
    for (int i = 3; i <= 4; i++) {
        char key[16];
        snprintf(key, sizeof key, "lead:L-5%d", i);
        store_check_first_assignment(&a, key, "sv", i == 3 ? c->now + 62 * day : c->now + MINUTE_MS, 0);
        a.value = i == 3 ? 1 : 30;
        if ((rc = m->commit(store, &cm, owner, sizeof owner)) != LEADROUTE_OK) {
            store_check_store_failed(c, "commit of L-53 or L-54 in a batch", rc, store);
            goto done;
        }
    }
    in_batch = 0;
    if ((rc = c->ops->commit(store)) != LEADROUTE_OK) {
        store_check_store_failed(c, "the batch of L-53 and L-54", rc, store);
        goto done;
    }
    if ((rc = m->window(store, "sv", NULL, c->now, &n, &v)) != LEADROUTE_OK || n != 2 || !same_value(v, 31)) {
        store_check_failed(c, "window of sv from now after a batch of L-53, dated two months ahead, then L-54, dated "
                              "now, should hold both: 2 assignments of value 31, not %" PRIu64 " of value %.0f (%s)",
                           n, v, leadroute_strerror(rc));
        goto done;
    }
    printf("window: nor does one in a batch with it\n");
    status = 0;
done:
    if (in_batch)
        (void)c->ops->rollback(store);
    c->ops->close(store);
    return status;
}

/* The assignment log's pruning, seen through one rep's window: rep `kept`
 * gets key `kept_key` at `kept_at`; then rep `other` gets `batch_key` in a
 * batch, and `repeat_key` (closed again each time) 64 times, all at `at`,
 * so that a store that prunes only now and then has pruned. After each,
 * the window of `kept` from `from` must still hold its one assignment. */
typedef struct {
    const char *kept, *kept_key, *other, *batch_key, *repeat_key, *why;
    int64_t kept_at, at, from;
} log_case;

static int check_log_keeps(store_check *c, const log_case *k)
{
    const leadroute_store *m = c->ops->methods;
    void *store = NULL;
    leadroute_assignment a;
    char err[512], owner[64];
    uint64_t n = 0;
    double v = 0;
    int status = 1, rc, in_batch = 0;

    if ((rc = c->ops->open(c->user, &store, err, sizeof err)) != LEADROUTE_OK)
        return store_check_failed(c, "%s (%s)", err, leadroute_strerror(rc));
    leadroute_commit cm = { LEADROUTE_COMMIT_VERSION, &a, NULL, 0, NULL, 0, 0, NULL, 0 };
    store_check_first_assignment(&a, k->kept_key, k->kept, k->kept_at, 0);
    if ((rc = m->commit(store, &cm, owner, sizeof owner)) != LEADROUTE_OK || (rc = c->ops->begin(store)) != LEADROUTE_OK) {
        store_check_store_failed(c, k->kept_key, rc, store);
        goto done;
    }
    in_batch = 1;
    store_check_first_assignment(&a, k->batch_key, k->other, k->at, 0);
    if ((rc = m->commit(store, &cm, owner, sizeof owner)) != LEADROUTE_OK) {
        store_check_store_failed(c, k->batch_key, rc, store);
        goto done;
    }
    in_batch = 0;
    if ((rc = c->ops->commit(store)) != LEADROUTE_OK) {
        store_check_store_failed(c, "the batch", rc, store);
        goto done;
    }
    for (int i = 0; i <= 64; i++) {
        if ((rc = m->window(store, k->kept, NULL, k->from, &n, &v)) != LEADROUTE_OK || n != 1) {
            store_check_failed(c, "window of %s after %d commits %s: %" PRIu64 " assignments, not 1 (%s)", k->kept,
                               i + 1, k->why, n, leadroute_strerror(rc));
            goto done;
        }
        if (i == 64)
            break;
        store_check_first_assignment(&a, k->repeat_key, k->other, k->at, 0);
        if ((rc = m->commit(store, &cm, owner, sizeof owner)) != LEADROUTE_OK ||
            (rc = m->close(store, k->repeat_key)) != LEADROUTE_OK) {
            store_check_store_failed(c, k->repeat_key, rc, store);
            goto done;
        }
    }
    if ((rc = m->close(store, k->kept_key)) != LEADROUTE_OK || (rc = m->close(store, k->batch_key)) != LEADROUTE_OK) {
        store_check_store_failed(c, "close", rc, store);
        goto done;
    }
    status = 0;
done:
    if (in_batch)
        (void)c->ops->rollback(store);
    c->ops->close(store);
    return status;
}

/* An assignment exactly 31 days older than a commit stays in the windows,
 * after a batch and after any number of commits (a store may prune its log
 * only now and then). Reps ka and kb are outside the roster. */
static int check_log_kept(store_check *c)
{
    const int64_t day = 24 * 60 * MINUTE_MS;
    const log_case k = { "ka", "lead:L-90", "kb", "lead:L-91", "lead:L-92", "31 days after L-90 (which it should hold)",
                         c->now - 31 * day, c->now, c->now - 31 * day };
    if (check_log_keeps(c, &k) != 0)
        return 1;
    printf("window: an assignment 31 days older than a batch and 64 commits after it stays\n");
    return 0;
}

/* Commits dated two months ahead of this machine's clock, in a batch and
 * one by one, prune nothing within 31 days of the clock: the store's own
 * clock, if earlier, bounds what it drops. Runs last: those commits may
 * drop everything dated more than 31 days before the clock. Reps kc and
 * kd are outside the roster. */
static int check_log_beside_clock(store_check *c)
{
    const int64_t day = 24 * 60 * MINUTE_MS, wall = (int64_t)time(NULL) * 1000;
    const log_case k = { "kc", "lead:L-93", "kd", "lead:L-94", "lead:L-95",
                         "two months ahead of this machine's clock (L-93, a day before the clock, should stay)",
                         wall - day, wall + 62 * day, wall - 2 * day };
    if (check_log_keeps(c, &k) != 0)
        return 1;
    printf("window: commits two months ahead of the clock, in a batch or not, keep what is a day old\n");
    return 0;
}

/* Settings: a read sets nothing, the first value set stays (a second set
 * reads it back, on another handle too), `schema` is the store's own, and a
 * value that does not fit the caller's buffer is ERANGE. */
static int check_meta(store_check *c)
{
    void *store = NULL, *other = NULL;
    char err[512], held[16];
    int status = 1, rc, found = -1;

    if (!c->ops->meta)
        return 0;
    if ((rc = c->ops->open(c->user, &store, err, sizeof err)) != LEADROUTE_OK ||
        (rc = c->ops->open(c->user, &other, err, sizeof err)) != LEADROUTE_OK) {
        c->ops->close(store);
        return store_check_failed(c, "%s (%s)", err, leadroute_strerror(rc));
    }
    if ((rc = c->ops->meta(store, "check.setting", NULL, held, sizeof held, &found)) != LEADROUTE_OK || found) {
        store_check_failed(c, "meta: a setting never set: %s, found %d", leadroute_strerror(rc), found);
        goto done;
    }
    if ((rc = c->ops->meta(store, "check.setting", "first", held, sizeof held, &found)) != LEADROUTE_OK ||
        !found || strcmp(held, "first") != 0 ||
        (rc = c->ops->meta(other, "check.setting", "second", held, sizeof held, &found)) != LEADROUTE_OK ||
        !found || strcmp(held, "first") != 0) {
        store_check_failed(c, "meta: the first value set stays: %s, '%s'", leadroute_strerror(rc), held);
        goto done;
    }
    if ((rc = c->ops->meta(store, "schema", "9", held, sizeof held, &found)) != LEADROUTE_EINVAL) {
        store_check_failed(c, "meta: setting 'schema' gave %s, not EINVAL", leadroute_strerror(rc));
        goto done;
    }
    if ((rc = c->ops->meta(store, "check.setting", NULL, held, 5, &found)) != LEADROUTE_ERANGE) {
        store_check_failed(c, "meta: 'first' in 5 bytes gave %s, not ERANGE", leadroute_strerror(rc));
        goto done;
    }
    printf("settings: the first value set stays\n");
    status = 0;
done:
    c->ops->close(other);
    c->ops->close(store);
    return status;
}

int store_check_run_all(const store_check_ops *ops, void *user)
{
    store_check c;
    memset(&c, 0, sizeof c);
    c.ops = ops;
    c.user = user;
    c.now = T0;
    if (run_one(&c) != 0 || run_two(&c) != 0 || check_windows(&c) != 0 || check_events(&c) != 0 ||
        check_rollback(&c) != 0 || check_two_handles(&c) != 0 || check_batch_and_accounts(&c) != 0 ||
        check_follow_up(&c) != 0 || check_contract_details(&c) != 0 || check_close_in_batch(&c) != 0 ||
        check_batch_details(&c) != 0 || check_store_answers(&c) != 0 || check_log_kept(&c) != 0 ||
        check_meta(&c) != 0)
        return 1;
    if (ops->extra && ops->extra(&c, user) != 0)
        return 1;
    /* the windows still agree after the rollback, the two handles and the
     * store's own checks; last, as its commit two months ahead may drop
     * what is older than a month before it */
    return check_windows(&c) != 0 || check_window_beside_entry_ahead(&c) != 0 || check_log_beside_clock(&c) != 0;
}
