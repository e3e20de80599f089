/*
 * bench_tick: leadroute_router_tick() over many open assignments, a few of
 * them overdue, with the built-in in-memory store.
 *
 * Setup (not timed): a table whose rule gives urgent leads a 5-minute SLA and
 * the others 10 days; a pool of 50 reps (round robin, max 2 hops, escalation
 * owner); N leads routed at time T0 (default 1,000,000), 1% urgent. Timed:
 * one tick at T0 + 10 minutes, which finds the urgent ones overdue and
 * reassigns each within the pool; then a second tick at the same time,
 * which must move nothing (ticks are idempotent).
 *
 * Usage: bench_tick [--leads N] [--overdue PERCENT]
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "leadroute/leadroute.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int64_t g_now;
static int64_t fake_now(void *user_data)
{
    (void)user_data;
    return g_now;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_tick: %s: %s\n", what, leadroute_error_last()->message);
    exit(1);
}

int main(int argc, char **argv)
{
    static const char table_csv[] = "urgent,out:pool,out:sla_minutes:number\n"
                                    "yes,sales,5\n"
                                    "-,sales,14400\n";
    size_t n = 1000000, i, urgent = 0;
    double percent = 1.0, t0, t1, t2;
    leadroute_table *table = NULL;
    leadroute_roster *roster = NULL;
    leadroute_router *router = NULL;
    leadroute_decision *d = NULL;
    leadroute_rep reps[50];
    leadroute_pool pool;
    char ids[50][8];
    const char *pools[1] = { "sales" };
    leadroute_clock clock = { LEADROUTE_CLOCK_VERSION, fake_now };
    leadroute_tick_stats st1 = LEADROUTE_TICK_STATS_INIT, st2 = LEADROUTE_TICK_STATS_INIT;

    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--leads") == 0 && a + 1 < argc)
            n = strtoul(argv[++a], NULL, 10);
        else if (strcmp(argv[a], "--overdue") == 0 && a + 1 < argc)
            percent = atof(argv[++a]);
        else {
            fprintf(stderr, "usage: bench_tick [--leads N] [--overdue PERCENT]\n");
            return 2;
        }
    }
    if (leadroute_table_parse(&table, table_csv, strlen(table_csv), "bench.csv", NULL))
        die("table");
    for (i = 0; i < 50; i++) {
        leadroute_rep_init(&reps[i], LEADROUTE_REP_VERSION);
        snprintf(ids[i], sizeof ids[i], "r%02zu", i);
        reps[i].id = ids[i];
        reps[i].pools = pools;
        reps[i].pool_count = 1;
    }
    leadroute_pool_init(&pool, LEADROUTE_POOL_VERSION);
    pool.id = "sales";
    pool.max_hops = 2;
    pool.escalation_owner = "r00";
    if (leadroute_roster_new(&roster, reps, 50, &pool, 1, NULL))
        die("roster");
    if (leadroute_router_new(&router, table, roster, NULL) || leadroute_decision_new(&d, NULL))
        die("router");
    leadroute_router_set_clock(router, &clock, NULL);
    g_now = 1795500000000LL;

    printf("routing %zu leads (%.2f%% with a 5-minute SLA)...\n", n, percent);
    t0 = now_s();
    for (i = 0; i < n; i++) {
        char id[24];
        int is_urgent = (double)(i % 10000) < percent * 100.0;
        leadroute_field f[1] = { { "urgent", LEADROUTE_VALUE_INIT } };
        leadroute_lead lead = LEADROUTE_LEAD_INIT;
        snprintf(id, sizeof id, "L%zu", i);
        f[0].value.type = LEADROUTE_VALUE_STRING;
        f[0].value.string = is_urgent ? "yes" : "no";
        lead.id = id;
        lead.fields = f;
        lead.field_count = 1;
        if (leadroute_route(router, &lead, 0, d) || leadroute_decision_status(d) != LEADROUTE_ROUTE_ASSIGNED)
            die("route");
        urgent += (size_t)is_urgent;
    }
    t1 = now_s();
    printf("routed in %.2f s\n", t1 - t0);

    g_now += 10 * 60 * 1000;
    t1 = now_s();
    if (leadroute_router_tick(router, g_now, NULL, NULL, &st1))
        die("tick");
    t2 = now_s();
    printf("tick over %zu open assignments: %.3f s; due %llu, reassigned %llu, escalated %llu, kept %llu, "
           "raced %llu\n",
           n, t2 - t1, (unsigned long long)st1.due, (unsigned long long)st1.reassigned,
           (unsigned long long)st1.escalated, (unsigned long long)st1.kept, (unsigned long long)st1.raced);
    t1 = now_s();
    if (leadroute_router_tick(router, g_now, NULL, NULL, &st2))
        die("second tick");
    t2 = now_s();
    printf("second tick at the same time: %.3f s; due %llu, moved %llu\n", t2 - t1, (unsigned long long)st2.due,
           (unsigned long long)(st2.reassigned + st2.escalated));

    int ok = st1.due == urgent && st1.reassigned == urgent && st2.reassigned + st2.escalated == 0;
    printf("check: due == urgent leads (%zu) and all reassigned, second tick moved nothing: %s\n", urgent,
           ok ? "yes" : "NO");
    leadroute_decision_free(d);
    leadroute_router_free(router);
    leadroute_roster_unref(roster);
    leadroute_table_unref(table);
    return ok ? 0 : 1;
}
