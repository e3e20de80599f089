/*
 * pg_store_worker: one of several processes routing through one PostgreSQL
 * store, for check_pg_store.py.
 *
 *   pg_store_worker route CONNINFO SCHEMA LEADS NOW_MS BATCH ORDER
 *       route the leads of file LEADS (lines "id,priority,segment") at
 *       clock time NOW_MS, BATCH leads per batch (one transaction). ORDER
 *       "grouped" routes each batch's leads grouped by segment, "stream" in
 *       the file's order (see route_batch()). Each batch first reads the
 *       holders of all its keys in one round trip
 *       (pg_store_prefetch_claims). A batch that fails (a lost connection)
 *       is rolled back and routed again.
 *   pg_store_worker tick CONNINFO SCHEMA NOW_MS
 *       one tick of the same router's deadlines at NOW_MS; every move is
 *       recorded as a "reassigned" (or "escalated") event.
 *
 * The routing: hot leads must be followed up within 30 minutes; leads of
 * segment "partner" go to the weighted pool partners (w1..w4, weights 1 to
 * 4), the others to the round robin sales (r1..r5). No caps, no capacity:
 * every share is the strategy's alone. Prints one line of figures and exits
 * non-zero on any failure.
 *
 * SPDX-License-Identifier: MIT
 */
#include "pg_store.h"

#include <leadroute/leadroute.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char table_csv[] =
    "#! name: proof\n"
    "#! hit_policy: first\n"
    "rule,priority,segment,out:pool,out:sla_minutes:number\n"
    "hot-partner,hot,partner,partners,30\n"
    "hot,hot,-,sales,30\n"
    "partner,-,partner,partners,\n"
    "rest,-,-,sales,\n";

static const char roster_csv[] =
    "#! pools\n"
    "id,strategy,max_hops\n"
    "sales,round_robin,2\n"
    "partners,weighted,2\n"
    "#! reps\n"
    "id,pools,weight\n"
    "r1,sales,1\nr2,sales,1\nr3,sales,1\nr4,sales,1\nr5,sales,1\n"
    "w1,partners,1\nw2,partners,2\nw3,partners,3\nw4,partners,4\n";

/* A batch that keeps failing is given up after this many runs. */
#define MAX_BATCH_RUNS 200

static int64_t clock_now;

static int64_t worker_clock(void *user_data)
{
    (void)user_data;
    return clock_now;
}

/* A tick's moves are recorded beside the claims, so the test can count them. */
static int on_assigned(void *user_data, const leadroute_assignment *a)
{
    char detail[256];
    if (!a->previous)
        return LEADROUTE_OK;
    snprintf(detail, sizeof detail, "{\"rep\":\"%s\",\"previous\":\"%s\",\"hops\":%" PRIu32 "}", a->rep_id,
             a->previous, a->hops);
    pg_store_event e = { a->at_ms, a->escalated ? "escalated" : "reassigned", a->key, a->lead_id, detail };
    return pg_store_record(user_data, &e) == LEADROUTE_OK ? LEADROUTE_OK : LEADROUTE_EIO;
}

static int lib_failed(const char *what, int rc)
{
    fprintf(stderr, "pg_store_worker: %s failed: %s (%s)\n", what, leadroute_error_last()->message,
            leadroute_strerror(rc));
    return 1;
}

/* The store and a router that keeps its state there. */
static int open_router(const char *conninfo, const char *schema, pg_store **store, leadroute_router **router)
{
    leadroute_table *table = NULL;
    leadroute_roster *roster = NULL;
    leadroute_clock clock = { LEADROUTE_CLOCK_VERSION, worker_clock };
    leadroute_notify notify = { LEADROUTE_NOTIFY_VERSION, on_assigned };
    leadroute_router_options options = LEADROUTE_ROUTER_OPTIONS_INIT;
    char err[512];
    int rc;

    if ((rc = pg_store_open_schema(store, conninfo, schema, err, sizeof err)) != LEADROUTE_OK) {
        fprintf(stderr, "pg_store_worker: %s (%s)\n", err, leadroute_strerror(rc));
        return 1;
    }
    if ((rc = leadroute_table_parse(&table, table_csv, strlen(table_csv), "proof.csv", NULL)) != LEADROUTE_OK)
        return lib_failed("leadroute_table_parse", rc);
    if ((rc = leadroute_roster_parse(&roster, roster_csv, strlen(roster_csv), "roster.csv", NULL)) !=
        LEADROUTE_OK) {
        leadroute_table_unref(table);
        return lib_failed("leadroute_roster_parse", rc);
    }
    /* Every commit is a compare-and-swap on the pool's state version: a
     * process whose commit loses reads the pool again and retries, and loses
     * only because another process committed, so the retry is safe and the
     * whole system always progresses. One process alone never loses; among
     * eight on two shared cores, a process descheduled between its read and
     * its commit can lose many times in a row, and the default of 64 would
     * turn that bad luck into a failed route. A host with several processes
     * on one pool sets the limit by how long it may wait, not by count. */
    options.max_retries = 1000000;
    rc = leadroute_router_new(router, table, roster, &options);
    leadroute_table_unref(table); /* the router holds its own references */
    leadroute_roster_unref(roster);
    if (rc != LEADROUTE_OK)
        return lib_failed("leadroute_router_new", rc);
    if ((rc = leadroute_router_set_store(*router, &pg_store_methods, *store)) != LEADROUTE_OK ||
        (rc = leadroute_router_set_clock(*router, &clock, NULL)) != LEADROUTE_OK ||
        (rc = leadroute_router_set_notify(*router, &notify, *store)) != LEADROUTE_OK)
        return lib_failed("leadroute_router_set_...", rc);
    return 0;
}

/* A whole number from the command line. */
static int parse_i64(const char *text, int64_t min, int64_t *out)
{
    char *end = NULL;
    long long v = strtoll(text, &end, 10);
    if (!*text || *end || v < min) {
        fprintf(stderr, "pg_store_worker: not a number >= %" PRId64 ": %s\n", min, text);
        return 1;
    }
    *out = (int64_t)v;
    return 0;
}

/* One lead of the file: "id,priority,segment", split in place. */
typedef struct lead_line {
    char *id, *priority, *segment;
} lead_line;

/* All the leads of the file; *text holds their bytes. */
static int read_leads(const char *path, char **text, lead_line **leads, size_t *count)
{
    FILE *f = fopen(path, "rb");
    long size = -1;
    *text = NULL;
    *leads = NULL;
    *count = 0;
    if (!f || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        perror(path);
        if (f)
            fclose(f);
        return 1;
    }
    size_t lines = 0, n = (size_t)size;
    char *t = malloc(n + 1);
    if (!t || fread(t, 1, n, f) != n) {
        fprintf(stderr, "pg_store_worker: cannot read %s\n", path);
        free(t);
        fclose(f);
        return 1;
    }
    fclose(f);
    t[n] = '\0';
    for (size_t i = 0; i < n; i++)
        lines += t[i] == '\n';
    lead_line *v = calloc(lines + 1, sizeof *v);
    if (!v) {
        free(t);
        fputs("pg_store_worker: out of memory\n", stderr);
        return 1;
    }
    size_t k = 0;
    for (char *line = t, *next; *line; line = next) {
        next = line + strcspn(line, "\n");
        if (*next)
            *next++ = '\0';
        line[strcspn(line, "\r")] = '\0';
        if (!*line)
            continue;
        char *c1 = strchr(line, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
        if (!c2 || k > lines) {
            fprintf(stderr, "pg_store_worker: %s: a line is not \"id,priority,segment\": %s\n", path, line);
            free(v);
            free(t);
            return 1;
        }
        *c1 = *c2 = '\0';
        v[k++] = (lead_line){ line, c1 + 1, c2 + 1 };
    }
    *text = t;
    *leads = v;
    *count = k;
    return 0;
}

/* What one run of a batch gave. */
typedef struct batch_counts {
    size_t assigned, existing, other;
} batch_counts;

/* Grouped by segment, in the file's order within one. */
static int by_segment(const void *a, const void *b)
{
    const lead_line *x = *(const lead_line *const *)a, *y = *(const lead_line *const *)b;
    int c = strcmp(x->segment, y->segment);
    return c ? c : (x > y) - (x < y);
}

/* Route leads order[0..n) in one batch; 0 when the batch committed.
 * `keys` has room for n keys of the store ("lead:" and the id).
 *
 * A batch holds the store's lock from pg_store_begin() to its end: the
 * batches of all processes run one after the other, whatever order they
 * take the pools in, so the stream order and the grouped one do not
 * deadlock each other. */
static int route_batch(pg_store *store, leadroute_router *router, leadroute_decision *decision,
                       const lead_line *const *order, size_t n, char **keys, batch_counts *counts)
{
    leadroute_value init = LEADROUTE_VALUE_INIT;
    leadroute_field fields[2];
    leadroute_lead lead;
    int rc;

    memset(counts, 0, sizeof *counts);
    for (size_t i = 0; i < n; i++) {
        free(keys[i]);
        size_t len = strlen(order[i]->id) + 6;
        if (!(keys[i] = malloc(len)))
            return 1;
        snprintf(keys[i], len, "lead:%s", order[i]->id);
    }
    if ((rc = pg_store_begin(store)) != LEADROUTE_OK ||
        (rc = pg_store_prefetch_claims(store, (const char *const *)keys, n)) != LEADROUTE_OK)
        return 1;
    for (size_t i = 0; i < n; i++) {
        const lead_line *l = order[i];
        fields[0].name = "priority";
        fields[0].value = init;
        fields[0].value.type = LEADROUTE_VALUE_STRING;
        fields[0].value.string = l->priority;
        fields[1].name = "segment";
        fields[1].value = init;
        fields[1].value.type = LEADROUTE_VALUE_STRING;
        fields[1].value.string = l->segment;
        leadroute_lead_init(&lead, LEADROUTE_LEAD_VERSION);
        lead.id = l->id;
        lead.fields = fields;
        lead.field_count = 2;
        if ((rc = leadroute_route(router, &lead, 0, decision)) != LEADROUTE_OK)
            return 1;
        uint32_t st = leadroute_decision_status(decision);
        if (st == LEADROUTE_ROUTE_ASSIGNED)
            counts->assigned++;
        else if (st == LEADROUTE_ROUTE_EXISTING)
            counts->existing++;
        else
            counts->other++;
    }
    return pg_store_commit(store) == LEADROUTE_OK ? 0 : 1;
}

/* `route`: every lead of the file, in batches, as one of several processes. */
static int route_mode(const char *conninfo, const char *schema, const char *path, int64_t batch, int grouped)
{
    const lead_line **order = NULL;
    char **keys = NULL;
    pg_store *store = NULL;
    leadroute_router *router = NULL;
    leadroute_decision *decision = NULL;
    lead_line *leads = NULL;
    char *text = NULL;
    size_t count = 0, batches = 0, reruns = 0;
    batch_counts total = { 0, 0, 0 };
    int status = 1, rc;

    if (read_leads(path, &text, &leads, &count) != 0 || open_router(conninfo, schema, &store, &router) != 0)
        goto done;
    if ((rc = leadroute_decision_new(&decision, NULL)) != LEADROUTE_OK) {
        lib_failed("leadroute_decision_new", rc);
        goto done;
    }
    if (!(order = malloc((count ? count : 1) * sizeof *order)) ||
        !(keys = calloc((size_t)batch < count ? (size_t)batch : count ? count : 1, sizeof *keys))) {
        fputs("pg_store_worker: out of memory\n", stderr);
        goto done;
    }
    for (size_t i = 0; i < count; i++)
        order[i] = &leads[i];
    for (size_t from = 0; from < count; from += (size_t)batch) {
        size_t to = count - from > (size_t)batch ? from + (size_t)batch : count;
        batch_counts counts;
        int runs = 0;
        if (grouped)
            qsort(order + from, to - from, sizeof *order, by_segment);
        /* only the run that commits counts: a failed one left nothing behind */
        while (route_batch(store, router, decision, order + from, to - from, keys, &counts) != 0) {
            if (++runs >= MAX_BATCH_RUNS) {
                fprintf(stderr, "pg_store_worker: leads %zu to %zu failed %d times, the last: %s (the store: %s)\n",
                        from, to, runs, leadroute_error_last()->message, pg_store_errmsg(store));
                goto done;
            }
            pg_store_rollback(store); /* a no-op when the failure took the batch already */
            reruns++;
        }
        batches++;
        total.assigned += counts.assigned;
        total.existing += counts.existing;
        total.other += counts.other;
    }
    printf("routed %zu: assigned %zu, existing %zu, other %zu, batches %zu, re-run %zu, round trips %" PRIu64 "\n",
           total.assigned + total.existing + total.other, total.assigned, total.existing, total.other, batches,
           reruns, pg_store_round_trips(store));
    status = total.other == 0 ? 0 : 1;
done:
    leadroute_decision_free(decision);
    leadroute_router_free(router);
    pg_store_close(store);
    for (size_t i = 0; keys && i < ((size_t)batch < count ? (size_t)batch : count); i++)
        free(keys[i]);
    free(keys);
    free((void *)order);
    free(leads);
    free(text);
    return status;
}

/* `tick`: one tick of the router's deadlines. */
static int tick_mode(const char *conninfo, const char *schema)
{
    pg_store *store = NULL;
    leadroute_router *router = NULL;
    leadroute_tick_stats stats = LEADROUTE_TICK_STATS_INIT;
    int status = 1, rc;

    if (open_router(conninfo, schema, &store, &router) != 0)
        goto done;
    if ((rc = leadroute_router_tick(router, clock_now, NULL, NULL, &stats)) != LEADROUTE_OK) {
        lib_failed("leadroute_router_tick", rc);
        fprintf(stderr, "pg_store_worker: the store says: %s\n", pg_store_errmsg(store));
        goto done;
    }
    printf("tick: due %" PRIu64 ", reassigned %" PRIu64 ", escalated %" PRIu64 ", kept %" PRIu64 ", raced %" PRIu64
           "\n",
           stats.due, stats.reassigned, stats.escalated, stats.kept, stats.raced);
    status = 0;
done:
    leadroute_router_free(router);
    pg_store_close(store);
    return status;
}

static int usage(void)
{
    fputs("usage: pg_store_worker route CONNINFO SCHEMA LEADS NOW_MS BATCH grouped|stream\n"
          "       pg_store_worker tick CONNINFO SCHEMA NOW_MS\n",
          stderr);
    return 2;
}

int main(int argc, char **argv)
{
    int64_t batch = 0;
    if (argc == 8 && strcmp(argv[1], "route") == 0) {
        int grouped = strcmp(argv[7], "grouped") == 0;
        if (parse_i64(argv[5], 0, &clock_now) != 0 || parse_i64(argv[6], 1, &batch) != 0 ||
            (!grouped && strcmp(argv[7], "stream") != 0))
            return usage();
        return route_mode(argv[2], argv[3], argv[4], batch, grouped);
    }
    if (argc == 5 && strcmp(argv[1], "tick") == 0) {
        if (parse_i64(argv[4], 0, &clock_now) != 0)
            return 2;
        return tick_mode(argv[2], argv[3]);
    }
    return usage();
}
