/* SPDX-License-Identifier: MIT */
/*
 * bench_contention: many routers (as many hosts would) share one store whose
 * commits take a while, as a database's round trip does, and all route into
 * one pool at once. For each strategy whose commits are checked (round robin:
 * the pool state's version; least loaded: the counts the pick compared) it
 * prints how many routes were assigned, how many ran out of retries
 * (LEADROUTE_ECONFLICT), the commits tried and refused, and the spread of the
 * reps' leads.
 *
 *   bench_contention [--routers 4,16,64] [--leads N] [--reps R]
 *                    [--commit-us MIN-MAX] [--retries K] [--seed X]
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "leadroute/leadroute.h"
#include "router/memstore.h"

#define MAX_ROUTER_COUNTS 16
#define MAX_REPS 64

typedef struct config {
    int routers[MAX_ROUTER_COUNTS];
    int nrouters;
    int leads, reps;
    long commit_min_us, commit_max_us;
    uint32_t retries;
    uint64_t seed;
} config;

static config g_cfg;
static atomic_long g_commits, g_refused;
static _Thread_local uint64_t tl_rng;

static uint64_t next_random(void)
{
    tl_rng ^= tl_rng << 13;
    tl_rng ^= tl_rng >> 7;
    tl_rng ^= tl_rng << 17;
    return tl_rng;
}

/* The in-memory store's commit after a pause of commit-us. */
static int slow_commit(void *ud, const leadroute_commit *cm, char *owner, size_t cap)
{
    long span = g_cfg.commit_max_us - g_cfg.commit_min_us + 1;
    long us = g_cfg.commit_min_us + (long)(next_random() % (uint64_t)span);
    struct timespec pause = { us / 1000000, (us % 1000000) * 1000 };
    while (nanosleep(&pause, &pause) != 0 && errno == EINTR)
        ;
    int rc = lr__memstore_methods.commit(ud, cm, owner, cap);
    atomic_fetch_add(&g_commits, 1);
    if (rc == LEADROUTE_ECONFLICT)
        atomic_fetch_add(&g_refused, 1);
    return rc;
}

typedef struct worker {
    leadroute_router *router;
    int index, assigned, failed, other;
} worker;

static void *route_leads(void *arg)
{
    worker *w = arg;
    leadroute_decision *d = NULL;
    tl_rng = g_cfg.seed ^ ((uint64_t)(w->index + 1) * 0x9E3779B97F4A7C15ull);
    if (leadroute_decision_new(&d, NULL) != LEADROUTE_OK) {
        w->other = g_cfg.leads;
        return NULL;
    }
    for (int i = 0; i < g_cfg.leads; i++) {
        char id[48];
        leadroute_lead lead = LEADROUTE_LEAD_INIT;
        snprintf(id, sizeof id, "R%d-%d", w->index, i);
        lead.id = id;
        int rc = leadroute_route(w->router, &lead, 0, d);
        if (rc == LEADROUTE_OK && leadroute_decision_status(d) == LEADROUTE_ROUTE_ASSIGNED)
            w->assigned++;
        else if (rc == LEADROUTE_ECONFLICT)
            w->failed++;
        else
            w->other++;
    }
    leadroute_decision_free(d);
    return NULL;
}

static int run_one(const char *strategy, int nrouters)
{
    char text[4096];
    size_t len = (size_t)snprintf(text, sizeof text, "#! pools\nid,strategy\np,%s\n#! reps\nid,pools\n", strategy);
    static const char table_text[] = "rule,kind,out:owner,out:pool,out:queue,out:status,out:sla_minutes:number,"
                                     "out:tags\nr,-,,p,,,,\n";
    leadroute_roster *roster = NULL;
    leadroute_table *table = NULL;
    lr__memstore *store = NULL;
    leadroute_store methods = lr__memstore_methods;
    leadroute_router_options options;
    leadroute_router **routers = calloc((size_t)nrouters, sizeof *routers);
    worker *workers = calloc((size_t)nrouters, sizeof *workers);
    pthread_t *threads = calloc((size_t)nrouters, sizeof *threads);
    int rc = 1, started = 0;

    for (int k = 0; k < g_cfg.reps; k++)
        len += (size_t)snprintf(text + len, sizeof text - len, "rep%02d,p\n", k);
    methods.commit = slow_commit;
    leadroute_router_options_init(&options, LEADROUTE_ROUTER_OPTIONS_VERSION);
    options.max_retries = g_cfg.retries;
    if (!routers || !workers || !threads ||
        leadroute_roster_parse(&roster, text, len, "contention.csv", NULL) != LEADROUTE_OK ||
        leadroute_table_parse(&table, table_text, sizeof table_text - 1, "contention-table.csv", NULL) !=
            LEADROUTE_OK ||
        lr__memstore_new(&store, NULL, NULL, NULL) != LEADROUTE_OK) {
        fprintf(stderr, "bench_contention: set-up failed: %s\n", leadroute_error_last()->message);
        goto done;
    }
    for (int k = 0; k < nrouters; k++) {
        if (leadroute_router_new(&routers[k], table, roster, &options) != LEADROUTE_OK ||
            leadroute_router_set_store(routers[k], &methods, store) != LEADROUTE_OK) {
            fprintf(stderr, "bench_contention: router: %s\n", leadroute_error_last()->message);
            goto done;
        }
        workers[k] = (worker){ routers[k], k, 0, 0, 0 };
    }
    atomic_store(&g_commits, 0);
    atomic_store(&g_refused, 0);
    for (; started < nrouters; started++)
        if (pthread_create(&threads[started], NULL, route_leads, &workers[started]) != 0) {
            fprintf(stderr, "bench_contention: cannot start thread %d\n", started);
            break;
        }
    int assigned = 0, failed = 0, other = 0;
    for (int k = 0; k < started; k++) {
        pthread_join(threads[k], NULL);
        assigned += workers[k].assigned;
        failed += workers[k].failed;
        other += workers[k].other;
    }
    if (started < nrouters)
        goto done;
    uint32_t lo = UINT32_MAX, hi = 0;
    for (int k = 0; k < g_cfg.reps; k++) {
        char rep[16];
        uint32_t open = 0;
        snprintf(rep, sizeof rep, "rep%02d", k);
        if (lr__memstore_methods.open_count(store, rep, &open) != LEADROUTE_OK)
            goto done;
        lo = open < lo ? open : lo;
        hi = open > hi ? open : hi;
    }
    long commits = atomic_load(&g_commits), refused = atomic_load(&g_refused);
    int routes = nrouters * g_cfg.leads;
    printf("| %s | %d | %d | %d | %d (%.2f%%) | %d | %ld | %ld | %.2f | %u |\n", strategy, nrouters, routes, assigned,
           failed, 100.0 * failed / routes, other, commits, refused, (double)commits / (assigned ? assigned : 1),
           hi - lo);
    rc = 0;
done:
    for (int k = 0; k < nrouters && routers; k++)
        leadroute_router_free(routers[k]);
    lr__memstore_free(store);
    leadroute_table_unref(table);
    leadroute_roster_unref(roster);
    free(routers);
    free(workers);
    free(threads);
    return rc;
}

static int parse_list(const char *s, config *c)
{
    c->nrouters = 0;
    while (*s) {
        char *end = NULL;
        long v = strtol(s, &end, 10);
        if (end == s || v < 1 || v > 1024 || c->nrouters == MAX_ROUTER_COUNTS)
            return -1;
        c->routers[c->nrouters++] = (int)v;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return -1;
    }
    return c->nrouters ? 0 : -1;
}

static int usage(const char *why)
{
    if (why)
        fprintf(stderr, "bench_contention: %s\n", why);
    fprintf(stderr, "usage: bench_contention [--routers 4,16,64] [--leads N] [--reps R] [--commit-us MIN-MAX]\n"
                    "                        [--retries K] [--seed X]\n");
    return 2;
}

int main(int argc, char **argv)
{
    config *c = &g_cfg;
    *c = (config){ { 4, 16, 64 }, 3, 30, 4, 200, 600, 64, 0x2545F4914F6CDD1Dull };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (strcmp(a, "--help") == 0)
            return usage(NULL), 0;
        if (!v)
            return usage("every option takes a value");
        i++;
        if (strcmp(a, "--routers") == 0) {
            if (parse_list(v, c) != 0)
                return usage("--routers takes a list of 1 to 1024, e.g. 4,16,64");
        } else if (strcmp(a, "--leads") == 0) {
            long n = strtol(v, &end, 10);
            if (*end || n < 1 || n > 1000000)
                return usage("--leads takes 1 to 1000000");
            c->leads = (int)n;
        } else if (strcmp(a, "--reps") == 0) {
            long n = strtol(v, &end, 10);
            if (*end || n < 1 || n > MAX_REPS)
                return usage("--reps takes 1 to 64");
            c->reps = (int)n;
        } else if (strcmp(a, "--commit-us") == 0) {
            long lo = strtol(v, &end, 10), hi = lo;
            if (*end == '-')
                hi = strtol(end + 1, &end, 10);
            if (*end || lo < 0 || hi < lo || hi > 1000000)
                return usage("--commit-us takes MIN-MAX microseconds, 0 to 1000000");
            c->commit_min_us = lo;
            c->commit_max_us = hi;
        } else if (strcmp(a, "--retries") == 0) {
            long n = strtol(v, &end, 10);
            if (*end || n < 1 || n > 100000)
                return usage("--retries takes 1 to 100000");
            c->retries = (uint32_t)n;
        } else if (strcmp(a, "--seed") == 0) {
            c->seed = strtoull(v, &end, 0);
            if (*end || !c->seed)
                return usage("--seed takes a non-zero number");
        } else {
            return usage("unknown option");
        }
    }
    printf("%d leads per router into one pool of %d reps; commits take %ld-%ld us; max_retries %u\n\n", c->leads,
           c->reps, c->commit_min_us, c->commit_max_us, c->retries);
    printf("| strategy | routers | routes | assigned | out of retries | other | commits | refused | "
           "commits per assignment | spread |\n");
    printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (int i = 0; i < c->nrouters; i++)
        for (int s = 0; s < 2; s++)
            if (run_one(s ? "round_robin" : "least_loaded", c->routers[i]) != 0)
                return 1;
    return 0;
}
