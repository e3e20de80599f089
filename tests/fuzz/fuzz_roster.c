/*
 * fuzz_roster: any bytes as a roster CSV (docs/router.md, roster file).
 *
 * When it loads: every rep and pool reads back, the read-back structs build
 * an equal roster again, and a router built with it routes a few leads to
 * each of its pools (a table made for this roster names them), acknowledges
 * some and ticks past every deadline.
 * SPDX-License-Identifier: MIT
 */
#include "fuzz_common.h"

#define MAX_POOLS_ROUTED 12
#define TABLE_CAP 16384

static int64_t clock_now(void *user_data)
{
    return *(int64_t *)user_data;
}

/* A pool id a table cell can name as a quoted string without escapes. */
static int plain_id(const char *id)
{
    if (!*id || strlen(id) > 64)
        return 0;
    for (const char *p = id; *p; p++)
        if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

static void check_reads_back(const leadroute_roster *roster)
{
    size_t nreps = leadroute_roster_rep_count(roster), npools = leadroute_roster_pool_count(roster);
    leadroute_rep *reps = calloc(nreps ? nreps : 1, sizeof *reps);
    leadroute_pool *pools = calloc(npools ? npools : 1, sizeof *pools);
    if (!reps || !pools)
        fuzz_fail("out of memory");
    for (size_t i = 0; i < nreps; i++) {
        reps[i].version = LEADROUTE_REP_VERSION;
        FUZZ_CHECK(leadroute_roster_rep(roster, i, &reps[i]) == LEADROUTE_OK, "rep %zu unreadable", i);
        FUZZ_CHECK(strcmp(reps[i].id, leadroute_roster_rep_id(roster, i)) == 0, "rep %zu id differs", i);
        if (i > 0)
            FUZZ_CHECK(strcmp(reps[i - 1].id, reps[i].id) < 0, "reps not in id order at %zu", i);
    }
    for (size_t i = 0; i < npools; i++) {
        pools[i].version = LEADROUTE_POOL_VERSION;
        FUZZ_CHECK(leadroute_roster_pool(roster, i, &pools[i]) == LEADROUTE_OK, "pool %zu unreadable", i);
        if (i > 0)
            FUZZ_CHECK(strcmp(pools[i - 1].id, pools[i].id) < 0, "pools not in id order at %zu", i);
    }
    leadroute_rep past = LEADROUTE_REP_INIT;
    FUZZ_CHECK(leadroute_roster_rep(roster, nreps, &past) == LEADROUTE_ERANGE, "rep past the end");
    /* docs/router.md: the read-back structs build an equal roster */
    leadroute_roster *again = NULL;
    int rc = leadroute_roster_new(&again, reps, nreps, pools, npools, NULL);
    FUZZ_CHECK(rc == LEADROUTE_OK, "read-back roster refused (%d): %s", rc, leadroute_error_last()->message);
    FUZZ_CHECK(leadroute_roster_rep_count(again) == nreps && leadroute_roster_pool_count(again) == npools,
               "read-back roster has other counts");
    for (size_t i = 0; i < nreps; i++) {
        leadroute_rep r = LEADROUTE_REP_INIT;
        FUZZ_CHECK(leadroute_roster_rep(again, i, &r) == LEADROUTE_OK, "rebuilt rep %zu unreadable", i);
        FUZZ_CHECK(strcmp(r.id, reps[i].id) == 0 && strcmp(r.name, reps[i].name) == 0 &&
                       r.pool_count == reps[i].pool_count && r.skill_count == reps[i].skill_count &&
                       r.weight == reps[i].weight && r.capacity == reps[i].capacity && r.tier == reps[i].tier &&
                       r.active == reps[i].active && r.cap_day == reps[i].cap_day &&
                       r.cap_week == reps[i].cap_week && r.cap_month == reps[i].cap_month,
                   "rebuilt rep %s differs", r.id);
    }
    for (size_t i = 0; i < npools; i++) {
        leadroute_pool p = LEADROUTE_POOL_INIT;
        FUZZ_CHECK(leadroute_roster_pool(again, i, &p) == LEADROUTE_OK, "rebuilt pool %zu unreadable", i);
        FUZZ_CHECK(strcmp(p.id, pools[i].id) == 0 && p.strategy == pools[i].strategy &&
                       p.filter_count == pools[i].filter_count && p.tier_count == pools[i].tier_count &&
                       p.on_empty == pools[i].on_empty && p.owner_first == pools[i].owner_first &&
                       p.max_hops == pools[i].max_hops && p.sla_minutes == pools[i].sla_minutes &&
                       p.value_window_days == pools[i].value_window_days,
                   "rebuilt pool %s differs", p.id);
    }
    leadroute_roster_unref(again);
    free(reps);
    free(pools);
}

/* Rule i sends leads with target = i to the i-th routable pool; a lead
 * with target = -1 goes straight to the first rep. */
static leadroute_table *table_for(const leadroute_roster *roster, size_t *routed)
{
    static char text[TABLE_CAP];
    size_t len = (size_t)snprintf(text, sizeof text,
                                  "rule,target:number,out:pool,out:owner,out:sla_minutes:number\n");
    *routed = 0;
    if (leadroute_roster_rep_count(roster) > 0 && plain_id(leadroute_roster_rep_id(roster, 0)))
        len += (size_t)snprintf(text + len, sizeof text - len, "direct,-1,,\"%s\",1\n",
                                leadroute_roster_rep_id(roster, 0));
    for (size_t i = 0; i < leadroute_roster_pool_count(roster) && *routed < MAX_POOLS_ROUTED; i++) {
        const char *id = leadroute_roster_pool_id(roster, i);
        if (!plain_id(id) || len + strlen(id) + 64 >= sizeof text)
            continue;
        len += (size_t)snprintf(text + len, sizeof text - len, "r%zu,%zu,\"%s\",,\n", *routed, *routed, id);
        (*routed)++;
    }
    leadroute_table *table = NULL;
    int rc = leadroute_table_parse(&table, text, len, "roster-table.csv", NULL);
    FUZZ_CHECK(rc == LEADROUTE_OK, "table for the roster refused (%d): %s\n%s", rc,
               leadroute_error_last()->message, text);
    return table;
}

static void route_some(leadroute_roster *roster, const uint8_t *data, size_t size)
{
    size_t routed = 0;
    leadroute_table *table = table_for(roster, &routed);
    leadroute_router *router = NULL;
    leadroute_decision *d = NULL;
    int64_t now = 1772357400000;
    leadroute_clock clock = { LEADROUTE_CLOCK_VERSION, clock_now };
    if (leadroute_router_new(&router, table, roster, NULL) || leadroute_router_set_clock(router, &clock, &now) ||
        leadroute_decision_new(&d, NULL))
        fuzz_fail("router: %s", leadroute_error_last()->message);
    uint64_t seed = fuzz_hash(data, size);
    static const char *const languages[] = { "en", "de", "fr", "ES", " ja " };
    size_t assigned = 0;
    for (int i = 0; i < 24; i++) {
        uint64_t r = fuzz_rand(&seed);
        char id[16], email[40];
        leadroute_field fields[6];
        leadroute_value v = LEADROUTE_VALUE_INIT;
        size_t n = 0;
        snprintf(id, sizeof id, "L%d", (int)(r % 20));
        v.type = LEADROUTE_VALUE_NUMBER;
        v.number = routed ? (double)((r >> 8) % (routed + 1)) - 1 : -1;
        fields[n].name = "target", fields[n++].value = v;
        v.number = (double)((r >> 16) % 120);
        fields[n].name = "score", fields[n++].value = v;
        v.number = (double)((r >> 24) % 10000);
        fields[n].name = "deal_value", fields[n++].value = v;
        v.type = LEADROUTE_VALUE_STRING;
        v.string = languages[(r >> 32) % 5];
        fields[n].name = "language", fields[n++].value = v;
        snprintf(email, sizeof email, "x@c%u.example", (unsigned)((r >> 40) % 4));
        v.string = email;
        fields[n].name = "email", fields[n++].value = v;
        leadroute_lead lead = LEADROUTE_LEAD_INIT;
        lead.id = id;
        lead.fields = fields;
        lead.field_count = n;
        now += 60000;
        int rc = leadroute_route(router, &lead, (r >> 48) % 4 == 0 ? LEADROUTE_ROUTE_TRACE : 0, d);
        if (rc == LEADROUTE_OK && leadroute_decision_status(d) == LEADROUTE_ROUTE_ASSIGNED) {
            assigned++;
            if ((r >> 52) % 3 == 0)
                leadroute_router_acknowledge(router, id);
        }
    }
    char metrics[4096];
    size_t needed = 0;
    FUZZ_CHECK(leadroute_router_metrics_json(router, metrics, sizeof metrics, &needed) == LEADROUTE_OK,
               "metrics failed");
    const char *routed_at = strstr(metrics, "\"routed\":");
    FUZZ_CHECK(routed_at && strtoull(routed_at + 9, NULL, 10) == assigned,
               "metrics count %s routed, the decisions said %zu", routed_at ? routed_at + 9 : "none", assigned);
    leadroute_tick_stats stats = LEADROUTE_TICK_STATS_INIT;
    for (int t = 0; t < 3; t++) {
        now += (int64_t)7 * 86400000;
        if (leadroute_router_tick(router, now, NULL, NULL, &stats) == LEADROUTE_OK)
            FUZZ_CHECK(stats.due == stats.reassigned + stats.escalated + stats.kept + stats.raced,
                       "tick: due and outcomes differ");
    }
    leadroute_decision_free(d);
    leadroute_router_free(router);
    leadroute_table_unref(table);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    leadroute_roster *roster = NULL;
    int rc = leadroute_roster_parse(&roster, (const char *)data, size, "roster.csv", NULL);
    FUZZ_CHECK((rc == LEADROUTE_OK) == (roster != NULL), "roster_parse returned %d with roster %p", rc,
               (void *)roster);
    if (rc != LEADROUTE_OK) {
        FUZZ_CHECK(leadroute_error_last()->code == rc && leadroute_error_last()->message[0],
                   "roster_parse failed (%d) without a message", rc);
        return 0;
    }
    check_reads_back(roster);
    /* routing cost grows with the roster: keep executions fast */
    if (leadroute_roster_rep_count(roster) <= 64 && leadroute_roster_pool_count(roster) <= 64)
        route_some(roster, data, size);
    leadroute_roster_unref(roster);
    return 0;
}
