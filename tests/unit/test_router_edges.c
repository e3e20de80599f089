/* Routing at its edges, each a case a slip in the router would change:
 * window and deadline boundaries, tie-breaks, rounding, decay over time,
 * escalation through fallbacks, the per-member filter path, the calendar
 * of capture times, breach counting, weighted strides and stored passes,
 * the default owner's caps, and fairness of what a pool gave its members;
 * rotation over non-ASCII ids and after a lost commit, weighted states a
 * store gives back damaged or under another scale, catch-up for a new
 * member, and metrics text (table version, infinite spread, blanks in ids).
 * Rosters are roster files; the clock is the test's. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>
#include <cmocka.h>

#include "leadroute/leadroute.h"
#include "router/memstore.h"
#include "testutil.h"

#define MIN_MS 60000LL
#define HOUR_MS (60 * MIN_MS)
#define T0 1767225600000LL /* 2026-01-01T00:00:00Z */
#define TABLE_TO(pool) "rule,out:pool\nall," pool "\n"

static int64_t g_now;
static const char *g_away;  /* the rep the availability callback says is away */
static leadroute_decision *g_d;

static int64_t test_clock(void *ud)
{
    (void)ud;
    return g_now;
}

static int away_check(void *ud, const char *rep, const leadroute_lead *lead, int64_t now, uint32_t *verdict,
                      char *why, size_t cap)
{
    (void)ud, (void)lead, (void)now, (void)why, (void)cap;
    *verdict = g_away && strcmp(rep, g_away) == 0 ? LEADROUTE_AWAY : LEADROUTE_AVAILABLE;
    return LEADROUTE_OK;
}

/* What the host was told, in order. */
typedef struct told {
    char key[16], rep[16], pool[16];
    int64_t at, deadline;
    int escalated;
} told;
static told g_told[16];
static size_t g_ntold;

static int remember(void *ud, const leadroute_assignment *a)
{
    told *t;
    (void)ud;
    if (g_ntold == sizeof g_told / sizeof *g_told)
        return LEADROUTE_EUSER;
    t = &g_told[g_ntold++];
    snprintf(t->key, sizeof t->key, "%s", a->key);
    snprintf(t->rep, sizeof t->rep, "%s", a->rep_id);
    snprintf(t->pool, sizeof t->pool, "%s", a->pool_id ? a->pool_id : "");
    t->at = a->at_ms;
    t->deadline = a->deadline_ms;
    t->escalated = a->escalated;
    return LEADROUTE_OK;
}

static leadroute_router *router_with(const char *table, const char *roster, const leadroute_router_options *o)
{
    static const leadroute_clock clock = { LEADROUTE_CLOCK_VERSION, test_clock };
    static const leadroute_availability avail = { LEADROUTE_AVAILABILITY_VERSION, away_check };
    static const leadroute_notify notify = { LEADROUTE_NOTIFY_VERSION, remember };
    leadroute_table *t = NULL;
    leadroute_roster *ro = NULL;
    leadroute_router *r = NULL;
    if (leadroute_table_parse(&t, table, strlen(table), "t.csv", NULL) != LEADROUTE_OK ||
        leadroute_roster_parse(&ro, roster, strlen(roster), "r.csv", NULL) != LEADROUTE_OK ||
        leadroute_router_new(&r, t, ro, o) != LEADROUTE_OK)
        fail_msg("set-up: %s", leadroute_error_last()->message);
    assert_int_equal(leadroute_router_set_clock(r, &clock, NULL), LEADROUTE_OK);
    assert_int_equal(leadroute_router_set_availability(r, &avail, NULL), LEADROUTE_OK);
    assert_int_equal(leadroute_router_set_notify(r, &notify, NULL), LEADROUTE_OK);
    leadroute_table_unref(t);
    leadroute_roster_unref(ro);
    return r;
}

static void swap_roster(leadroute_router *r, const char *roster)
{
    leadroute_roster *ro = NULL;
    if (leadroute_roster_parse(&ro, roster, strlen(roster), "r.csv", NULL) != LEADROUTE_OK)
        fail_msg("roster: %s", leadroute_error_last()->message);
    assert_int_equal(leadroute_router_set_roster(r, ro), LEADROUTE_OK);
    leadroute_roster_unref(ro);
}

static int setup(void **state)
{
    (void)state;
    g_now = T0;
    g_away = NULL;
    g_ntold = 0;
    return leadroute_decision_new(&g_d, NULL);
}

static int teardown(void **state)
{
    (void)state;
    leadroute_decision_free(g_d);
    return 0;
}

/* Route `l` (its id set to `id`); the rep it went to, "" when none. */
static const char *route_lead(leadroute_router *r, tlead *l, const char *id, uint32_t flags)
{
    const char *rep;
    l->lead.id = id;
    assert_int_equal(leadroute_route(r, &l->lead, flags, g_d), LEADROUTE_OK);
    rep = leadroute_decision_rep(g_d);
    return leadroute_decision_status(g_d) == LEADROUTE_ROUTE_ASSIGNED && rep ? rep : "";
}

static const char *route_id(leadroute_router *r, const char *id, uint32_t flags)
{
    tlead l;
    tl_init(&l);
    return route_lead(r, &l, id, flags);
}

static leadroute_tick_stats tick(leadroute_router *r, leadroute_lead_lookup lookup, void *ctx)
{
    leadroute_tick_stats st = LEADROUTE_TICK_STATS_INIT;
    assert_int_equal(leadroute_router_tick(r, g_now, lookup, ctx, &st), LEADROUTE_OK);
    return st;
}

static const told *told_of(const char *key, size_t nth)
{
    for (size_t i = 0; i < g_ntold; i++)
        if (strcmp(g_told[i].key, key) == 0 && nth-- == 0)
            return &g_told[i];
    fail_msg("the host was not told of %s", key);
    return NULL;
}

/* A rolling cap counts an assignment exactly a window old: the store's
 * window is "at or after since_ms". */
static void test_cap_window_includes_its_start(void **state)
{
    leadroute_router *r = router_with(TABLE_TO("p"), "#! reps\nid,pools,cap_day\na,p,1\n", NULL);
    (void)state;
    assert_string_equal(route_id(r, "L1", 0), "a");
    g_now = T0 + 24 * HOUR_MS;
    assert_string_equal(route_id(r, "L2", 0), "");
    assert_int_equal(leadroute_decision_status(g_d), LEADROUTE_ROUTE_UNASSIGNED);
    g_now++;
    assert_string_equal(route_id(r, "L3", 0), "a");
    leadroute_router_free(r);
}

/* Leads due at the same instant move in key order: A first, so A takes
 * the next rep in turn (z) and B the one after (x). */
static void test_tick_ties_go_by_key(void **state)
{
    leadroute_router *r = router_with(TABLE_TO("p"), "#! pools\nid,sla_minutes\np,10\n#! reps\nid,pools\nx,p\ny,p\nz,p\n",
                                      NULL);
    leadroute_tick_stats st;
    (void)state;
    assert_string_equal(route_id(r, "B", 0), "x");
    assert_string_equal(route_id(r, "A", 0), "y");
    g_now = T0 + 10 * MIN_MS + 1;
    st = tick(r, NULL, NULL);
    assert_int_equal(st.reassigned, 2);
    assert_string_equal(g_told[2].key, "lead:A");
    assert_string_equal(g_told[2].rep, "z");
    assert_string_equal(g_told[3].key, "lead:B");
    assert_string_equal(g_told[3].rep, "y");
    leadroute_router_free(r);
}

/* docs/router.md: a due lead a tick has no pool for stays with its holder,
 * counted as kept at every tick: one a rule's direct owner took (even when
 * the rule names a pool too), and one whose pool a roster swap removed
 * (even when its holder left with it). */
static void test_tick_keeps_leads_without_a_pool(void **state)
{
    leadroute_router *r = router_with("rule,kind,out:owner,out:pool,out:sla_minutes:number\n"
                                      "vip,vip,o,p,10\nall,-,,p,10\n",
                                      "#! reps\nid,pools\no,\nx,p\ny,p\n", NULL);
    leadroute_tick_stats st;
    tlead l;
    (void)state;
    tl_init(&l);
    tl_str(&l, "kind", "vip");
    assert_string_equal(route_lead(r, &l, "V", 0), "o");
    assert_string_equal(route_id(r, "P", 0), "x");
    /* the pool is renamed and x leaves with it */
    swap_roster(r, "#! reps\nid,pools\no,\ny,q\nz,q\n");
    for (int i = 1; i <= 2; i++) {
        g_now = T0 + (int64_t)i * 11 * MIN_MS;
        st = tick(r, NULL, NULL);
        assert_int_equal(st.due, 2);
        assert_int_equal(st.kept, 2);
        assert_int_equal(st.reassigned + st.escalated, 0);
    }
    assert_int_equal(g_ntold, 2); /* the two routes, no move */
    leadroute_router_free(r);
}

/* A join offset shrinks to nothing over one value window: b, back after
 * two days away, joins 200 behind a; 36 hours later (of a 48-hour window)
 * a quarter of it is left, so b with 51 is still the lowest and takes L4. */
static void test_join_offset_decays(void **state)
{
    leadroute_router *r = router_with(
        TABLE_TO("v"), "#! pools\nid,strategy,value_window_days\nv,value_balanced,2\n#! reps\nid,pools\na,v\nb,v\n", NULL);
    tlead l;
    (void)state;
    tl_init(&l);
    tl_num(&l, "deal_value", 100);
    g_away = "b";
    assert_string_equal(route_lead(r, &l, "L1", 0), "a");
    g_now = T0 + 25 * HOUR_MS;
    assert_string_equal(route_lead(r, &l, "L2", 0), "a");
    g_away = NULL;
    tl_init(&l);
    tl_num(&l, "deal_value", 1);
    g_now = T0 + 30 * HOUR_MS;
    assert_string_equal(route_lead(r, &l, "L3", 0), "b");
    g_now = T0 + 66 * HOUR_MS;
    assert_string_equal(route_lead(r, &l, "L4", 0), "b");
    leadroute_router_free(r);
}

/* An untraced decision's reason counts the eligible members, not all. */
static void test_reason_counts_eligible_members(void **state)
{
    leadroute_router *r = router_with(TABLE_TO("p"), "#! reps\nid,pools,active\na,p,yes\nb,p,yes\nc,p,no\n", NULL);
    (void)state;
    assert_string_equal(route_id(r, "L1", 0), "a");
    assert_string_equal(leadroute_decision_reason(g_d), "pool p, round robin among 2 eligible of 3 members");
    leadroute_router_free(r);
}

/* An escalation pool where no one can take the lead falls back as any
 * pool does: e has no members, its fallback f has z. */
static void test_escalation_takes_fallbacks(void **state)
{
    leadroute_router *r = router_with(TABLE_TO("p"),
                                      "#! pools\nid,sla_minutes,max_hops,escalation_pool,fallback\np,10,0,e,\ne,,,,f\n"
                                      "f,,,,\n#! reps\nid,pools\nx,p\nz,f\n",
                                      NULL);
    leadroute_tick_stats st;
    const told *t;
    (void)state;
    assert_string_equal(route_id(r, "L1", 0), "x");
    g_now = T0 + 10 * MIN_MS + 1;
    st = tick(r, NULL, NULL);
    assert_int_equal(st.escalated, 1);
    assert_int_equal(st.kept, 0);
    t = told_of("lead:L1", 1);
    assert_string_equal(t->rep, "z");
    assert_string_equal(t->pool, "f");
    assert_true(t->escalated);
    leadroute_router_free(r);
}

/* A blank value asks for no skill, on the path that checks filters per
 * member (those past the first 16) as on the cached one. */
static void test_blank_value_asks_nothing_past_sixteen_filters(void **state)
{
    leadroute_router *r = router_with(TABLE_TO("p"),
                                      "#! pools\nid,filters\np,x0=s;x1=s;x2=s;x3=s;x4=s;x5=s;x6=s;x7=s;x8=s;x9=s;"
                                      "x10=s;x11=s;x12=s;x13=s;x14=s;x15=s;x16=s\n#! reps\nid,pools,s\na,p,k\n",
                                      NULL);
    tlead l;
    (void)state;
    tl_init(&l);
    tl_str(&l, "x0", "   ");
    assert_string_equal(route_lead(r, &l, "L1", 0), "a");
    tl_init(&l);
    tl_str(&l, "x16", "   ");
    assert_string_equal(route_lead(r, &l, "L2", 0), "a");
    /* and a value the rep lacks there still keeps it out */
    tl_init(&l);
    tl_str(&l, "x16", "other");
    assert_string_equal(route_lead(r, &l, "L3", 0), "");
    leadroute_router_free(r);
}

/* Leads only some members can take (a language, a score tier) must not
 * starve the others: between two members that can take the same leads,
 * those leads split evenly, whatever the mix, under round robin and
 * weighted alike; the member that alone takes the others gets those. */
static void filtered_mix(const char *strategy, int tiers, int mix, uint32_t got[3])
{
    char roster[512];
    uint32_t seed = 12345u;
    tlead l;
    if (tiers)
        snprintf(roster, sizeof roster,
                 "#! pools\nid,strategy,tiers\np,%s,>=80:2\n#! reps\nid,pools,tier\nanna,p,2\nben,p,0\ncara,p,0\n",
                 strategy);
    else
        snprintf(roster, sizeof roster,
                 "#! pools\nid,strategy,filters\np,%s,language=languages\n"
                 "#! reps\nid,pools,languages\nanna,p,\"en, de\"\nben,p,en\ncara,p,en\n",
                 strategy);
    leadroute_router *r = router_with("rule,out:pool\nall,p\n", roster, NULL);
    got[0] = got[1] = got[2] = 0;
    for (int i = 0; i < 1000; i++) {
        char id[16];
        int special;
        seed = seed * 1103515245u + 12345u;
        special = mix == 0 ? i % 2 == 0 : mix == 1 ? (seed >> 16) % 2 == 0 : (seed >> 16) % 5 != 0;
        tl_init(&l);
        if (tiers)
            tl_num(&l, "score", special ? 95 : 40);
        else
            tl_str(&l, "language", special ? "de" : "en");
        snprintf(id, sizeof id, "L%d", i);
        const char *rep = route_lead(r, &l, id, 0);
        if (special)
            assert_string_equal(rep, "anna");
        got[rep[0] == 'a' ? 0 : rep[0] == 'b' ? 1 : 2]++;
    }
    leadroute_router_free(r);
}

static void test_filtered_leads_starve_no_one(void **state)
{
    static const char *const strategies[] = { "round_robin", "weighted" };
    (void)state;
    for (int s = 0; s < 2; s++)
        for (int tiers = 0; tiers < 2; tiers++)
            for (int mix = 0; mix < 3; mix++) {
                uint32_t got[3];
                filtered_mix(strategies[s], tiers, mix, got);
                /* ben and cara take the same leads: within one of each other */
                if (got[1] > got[2] + 1 || got[2] > got[1] + 1)
                    fail_msg("%s, %s, mix %d: anna %u, ben %u, cara %u", strategies[s], tiers ? "tiers" : "skills",
                             mix, got[0], got[1], got[2]);
                assert_int_equal(got[0] + got[1] + got[2], 1000);
            }
}

/* A decision's cache of the state it wrote is only a cache: the same leads
 * go to the same reps whether each read finds it (one decision) or not
 * (two decisions taking turns, as two threads or hosts would), also when
 * the filters leave one member many leads ahead: 30 German leads, then 30
 * English ones, in a pool where only anna speaks German. */
static void same_picks_either_way(const char *strategy, char out[2][64])
{
    char roster[256];
    snprintf(roster, sizeof roster,
             "#! pools\nid,strategy,filters\np,%s,language=languages\n"
             "#! reps\nid,pools,languages\nanna,p,\"en, de\"\nben,p,en\ncara,p,en\n",
             strategy);
    for (int nd = 1; nd <= 2; nd++) {
        leadroute_router *r = router_with("rule,out:pool\nall,p\n", roster, NULL);
        leadroute_decision *d[2] = { g_d, NULL };
        tlead l;
        assert_int_equal(leadroute_decision_new(&d[1], NULL), LEADROUTE_OK);
        for (int i = 0; i < 60; i++) {
            char id[16];
            tl_init(&l);
            tl_str(&l, "language", i < 30 ? "de" : "en");
            snprintf(id, sizeof id, "L%d", i);
            l.lead.id = id;
            assert_int_equal(leadroute_route(r, &l.lead, 0, d[i % nd]), LEADROUTE_OK);
            out[nd - 1][i] = leadroute_decision_rep(d[i % nd])[0];
        }
        out[nd - 1][60] = 0;
        leadroute_decision_free(d[1]);
        leadroute_router_free(r);
    }
}

/* The same over random mixes: five reps of random weights and languages,
 * leads in three languages, a random rep away for each lead, join and
 * catch-up calibration. */
static void random_picks(const char *pool, uint32_t seed, int nd, char *out, size_t n)
{
    static const char *const langs[] = { "de", "en", "fr" };
    static const char *const spoken[] = { "en", "\"en, de\"", "\"fr, en\"", "de", "\"de, fr, en\"" };
    static const char *const ids[] = { "a", "b", "c", "d", "e" };
    char roster[1024];
    size_t len = (size_t)snprintf(roster, sizeof roster, "#! pools\nid,strategy,filters,calibration\n%s\n"
                                  "#! reps\nid,pools,languages,weight\n", pool);
    uint32_t r0 = seed;
    for (int i = 0; i < 5; i++) {
        r0 = r0 * 1103515245u + 12345u;
        len += (size_t)snprintf(roster + len, sizeof roster - len, "%s,p,%s,%u\n", ids[i], spoken[(i + seed) % 5],
                                1 + (r0 >> 16) % 3);
    }
    leadroute_router *r = router_with("rule,out:pool\nall,p\n", roster, NULL);
    leadroute_decision *d[2] = { g_d, NULL };
    assert_int_equal(leadroute_decision_new(&d[1], NULL), LEADROUTE_OK);
    for (size_t i = 0; i < n; i++) {
        char id[16];
        tlead l;
        r0 = r0 * 1103515245u + 12345u;
        tl_init(&l);
        tl_str(&l, "language", langs[(r0 >> 16) % 3]);
        g_away = (r0 >> 8) % 4 ? NULL : ids[(r0 >> 20) % 5];
        snprintf(id, sizeof id, "L%zu", i);
        l.lead.id = id;
        assert_int_equal(leadroute_route(r, &l.lead, 0, d[i % (size_t)nd]), LEADROUTE_OK);
        const char *rep = leadroute_decision_rep(d[i % (size_t)nd]);
        out[i] = rep ? rep[0] : '-';
    }
    out[n] = 0;
    g_away = NULL;
    leadroute_decision_free(d[1]);
    leadroute_router_free(r);
}

static void test_cache_changes_no_pick(void **state)
{
    static const char *const strategies[] = { "round_robin", "weighted" };
    static const char *const pools[] = { "p,round_robin,language=languages,", "p,weighted,language=languages,join",
                                         "p,weighted,language=languages,catch_up" };
    (void)state;
    for (int s = 0; s < 2; s++) {
        char picks[2][64];
        same_picks_either_way(strategies[s], picks);
        if (strcmp(picks[0], picks[1]) != 0)
            fail_msg("%s: one decision %s, two %s", strategies[s], picks[0], picks[1]);
    }
    for (uint32_t seed = 1; seed <= 40; seed++)
        for (int p = 0; p < 3; p++) {
            char one[401], two[401];
            random_picks(pools[p], seed, 1, one, 400);
            random_picks(pools[p], seed, 2, two, 400);
            if (strcmp(one, two) != 0)
                fail_msg("%s, seed %u: one decision\n%s\ntwo\n%s", pools[p], seed, one, two);
        }
}

/* A round-robin pool past 64 members (its scratch kept with the cache):
 * 300 leads to 100 reps are three each, in the same order whichever
 * decision routes them. */
static void test_round_robin_large_pool(void **state)
{
    char roster[4096], picks[2][300 * 4];
    size_t len = (size_t)snprintf(roster, sizeof roster, "#! reps\nid,pools\n");
    (void)state;
    for (int i = 0; i < 100; i++)
        len += (size_t)snprintf(roster + len, sizeof roster - len, "r%03d,p\n", i);
    for (int nd = 1; nd <= 2; nd++) {
        leadroute_router *r = router_with(TABLE_TO("p"), roster, NULL);
        leadroute_decision *d[2] = { g_d, NULL };
        uint32_t got[100] = { 0 };
        assert_int_equal(leadroute_decision_new(&d[1], NULL), LEADROUTE_OK);
        picks[nd - 1][0] = 0;
        for (int i = 0; i < 300; i++) {
            char id[16];
            tlead l;
            tl_init(&l);
            snprintf(id, sizeof id, "L%d", i);
            l.lead.id = id;
            assert_int_equal(leadroute_route(r, &l.lead, 0, d[i % nd]), LEADROUTE_OK);
            const char *rep = leadroute_decision_rep(d[i % nd]);
            got[atoi(rep + 1)]++;
            strcat(picks[nd - 1], rep + 1);
        }
        for (int i = 0; i < 100; i++)
            assert_int_equal(got[i], 3);
        leadroute_decision_free(d[1]);
        leadroute_router_free(r);
    }
    assert_string_equal(picks[0], picks[1]);
}

/* Two members that can take the same leads stay close in a weighted pool
 * with specialists beside them: the lifts under the level never run into 0
 * (the stored passes keep room for them), where the lifted would tie and the
 * lowest id would win. A sequence that left a0 two leads ahead of zz, then
 * 10,000 random leads in four languages. */
static void test_weighted_peers_stay_close(void **state)
{
    static const char *const langs[] = { "de", "en", "fr", "en" };
    const char *seq = "deeddffdeede";
    leadroute_router *r = router_with("rule,out:pool\nall,p\n",
                                      "#! pools\nid,strategy,filters\np,weighted,language=languages\n"
                                      "#! reps\nid,pools,languages\na,p,\"en, de\"\na0,p,en\nb,p,\"en, fr\"\nzz,p,en\n",
                                      NULL);
    uint32_t a0 = 0, zz = 0, worst = 0, seed = 3;
    (void)state;
    for (int i = 0; i < 10012; i++) {
        char id[16];
        tlead l;
        const char *lang;
        if (i < 12) {
            lang = seq[i] == 'd' ? "de" : seq[i] == 'e' ? "en" : "fr";
        } else {
            seed = seed * 1103515245u + 12345u;
            lang = langs[(seed >> 16) % 4];
        }
        tl_init(&l);
        tl_str(&l, "language", lang);
        snprintf(id, sizeof id, "L%d", i);
        const char *rep = route_lead(r, &l, id, 0);
        a0 += strcmp(rep, "a0") == 0;
        zz += strcmp(rep, "zz") == 0;
        uint32_t gap = a0 > zz ? a0 - zz : zz - a0;
        if (gap > worst)
            worst = gap;
        if (i == 11 && gap > 1)
            fail_msg("after the 12 leads: a0 %u, zz %u", a0, zz);
    }
    print_message("a0 %u, zz %u, widest gap %u\n", a0, zz, worst);
    if (worst > 2)
        fail_msg("a0 and zz drifted %u leads apart (a0 %u, zz %u)", worst, a0, zz);
    leadroute_router_free(r);
}

/* Weights hold between members a filter keeps out of the same leads: a
 * (weight 2) and b (weight 1) speak English, c English and German. c takes
 * every German lead; of the rest, a and b must split 2:1 whatever the mix,
 * not drift toward even as when every member a lead passed over was lifted
 * to the level (7,500 each when the languages alternate). And when a alone
 * takes the German leads (a speaking both, b only English), a's extra leads
 * count, up to two turns: a and b end at 2:1 of all leads when the
 * languages alternate, between 2:1 and 2.3:1 at random (without the
 * credit, a would take 5 in 6 with half the leads German). */
static void weighted_mix(const char *langs_a, const char *langs_c, int mix, uint32_t got[3])
{
    char roster[512];
    uint32_t seed = 777u;
    snprintf(roster, sizeof roster,
             "#! pools\nid,strategy,filters\np,weighted,language=languages\n"
             "#! reps\nid,pools,languages,weight\na,p,%s,2\nb,p,en,1\nc,p,%s,1\n",
             langs_a, langs_c);
    leadroute_router *r = router_with("rule,out:pool\nall,p\n", roster, NULL);
    got[0] = got[1] = got[2] = 0;
    for (int i = 0; i < 6000; i++) {
        char id[16];
        tlead l;
        int german;
        seed = seed * 1103515245u + 12345u;
        german = mix == 0 ? i % 2 == 0 : mix == 1 ? (seed >> 16) % 2 == 0 : (seed >> 16) % 4 == 0;
        tl_init(&l);
        tl_str(&l, "language", german ? "de" : "en");
        snprintf(id, sizeof id, "L%d", i);
        const char *rep = route_lead(r, &l, id, 0);
        got[rep[0] - 'a']++;
    }
    leadroute_router_free(r);
}

static void test_weighted_shares_hold_under_filters(void **state)
{
    (void)state;
    for (int mix = 0; mix < 3; mix++) {
        uint32_t got[3];
        weighted_mix("en", "\"en, de\"", mix, got);
        print_message("c speaks German, mix %d: a %u, b %u, c %u\n", mix, got[0], got[1], got[2]);
        if (got[0] > 2 * got[1] + 3 || 2 * got[1] > got[0] + 3)
            fail_msg("mix %d: a %u, b %u (c %u): not 2:1", mix, got[0], got[1], got[2]);
        weighted_mix("\"en, de\"", "fr", mix, got);
        print_message("a speaks German, mix %d: a %u, b %u, c %u\n", mix, got[0], got[1], got[2]);
        assert_int_equal(got[2], 0);
        if (mix == 0 ? got[0] != 2 * got[1] : (got[0] + 3 < 2 * got[1] || got[0] * 10 > got[1] * 23))
            fail_msg("mix %d: a %u, b %u: not between 2:1 and 2.3:1", mix, got[0], got[1]);
    }
}

/* The credit a filter leaves is bounded (two turns): after 300 leads only
 * anna could take, she gets one of the first seven the others can take too
 * (ben and cara take two turns each first), not none of the next 600; and
 * after 300 leads cara's tier kept her from, she takes no more than three
 * in a row once leads fit her again. */
static void test_weighted_credit_is_bounded(void **state)
{
    leadroute_router *r = router_with("rule,out:pool\nall,p\n",
                                      "#! pools\nid,strategy,filters,tiers\np,weighted,language=languages,>=80:2\n"
                                      "#! reps\nid,pools,languages,tier\nanna,p,\"en, de\",2\nben,p,en,2\ncara,p,en,0\n",
                                      NULL);
    int first_anna = -1, run = 0, longest = 0;
    tlead l;
    (void)state;
    for (int i = 0; i < 300; i++) {
        char id[16];
        tl_init(&l);
        tl_str(&l, "language", "de");
        snprintf(id, sizeof id, "D%d", i);
        assert_string_equal(route_lead(r, &l, id, 0), "anna");
    }
    for (int i = 0; i < 12 && first_anna < 0; i++) {
        char id[16];
        tl_init(&l);
        tl_str(&l, "language", "en");
        snprintf(id, sizeof id, "E%d", i);
        if (strcmp(route_lead(r, &l, id, 0), "anna") == 0)
            first_anna = i;
    }
    if (first_anna < 0 || first_anna > 6)
        fail_msg("anna's first English lead: %d", first_anna);
    for (int i = 0; i < 300; i++) {
        char id[16];
        tl_init(&l);
        tl_str(&l, "language", "en");
        tl_num(&l, "score", 95);
        snprintf(id, sizeof id, "H%d", i);
        assert_string_not_equal(route_lead(r, &l, id, 0), "cara");
    }
    for (int i = 0; i < 30; i++) {
        char id[16];
        tl_init(&l);
        tl_str(&l, "language", "en");
        tl_num(&l, "score", 40);
        snprintf(id, sizeof id, "C%d", i);
        run = strcmp(route_lead(r, &l, id, 0), "cara") == 0 ? run + 1 : 0;
        if (run > longest)
            longest = run;
    }
    print_message("anna's first English lead: %d; cara's longest run: %d\n", first_anna, longest);
    if (longest > 3 || longest == 0)
        fail_msg("cara's longest run after her tier kept her out: %d", longest);
    leadroute_router_free(r);
}

/* Reps of equal weight who each alone speak one language besides English,
 * with half the leads English and the rest spread over their languages at
 * random: the English leads split evenly, not by id (when the credit's
 * bound brought several down onto one pass, the lowest id won each tie and
 * the English shares ran from 1,314 down to 792 of 6,000). */
static void test_weighted_credit_keeps_peers_even(void **state)
{
    static const char *const langs[] = { "de", "fr", "es", "it", "nl", "pt" };
    char roster[512];
    size_t len = (size_t)snprintf(roster, sizeof roster,
                                  "#! pools\nid,strategy,filters\np,weighted,language=languages\n"
                                  "#! reps\nid,pools,languages\n");
    uint32_t en[6] = { 0 }, seed = 99, lo = UINT32_MAX, hi = 0;
    (void)state;
    for (int k = 0; k < 6; k++)
        len += (size_t)snprintf(roster + len, sizeof roster - len, "r%d,p,\"en, %s\"\n", k, langs[k]);
    leadroute_router *r = router_with("rule,out:pool\nall,p\n", roster, NULL);
    for (int i = 0; i < 12000; i++) {
        char id[16];
        tlead l;
        int english;
        seed = seed * 1103515245u + 12345u;
        english = (seed >> 16) % 2 == 0;
        tl_init(&l);
        tl_str(&l, "language", english ? "en" : langs[(seed >> 20) % 6]);
        snprintf(id, sizeof id, "L%d", i);
        const char *rep = route_lead(r, &l, id, 0);
        if (english)
            en[rep[1] - '0']++;
    }
    for (int k = 0; k < 6; k++) {
        lo = en[k] < lo ? en[k] : lo;
        hi = en[k] > hi ? en[k] : hi;
    }
    print_message("English leads: %u %u %u %u %u %u\n", en[0], en[1], en[2], en[3], en[4], en[5]);
    if (hi - lo > 120)
        fail_msg("English leads from %u to %u", lo, hi);
    leadroute_router_free(r);
}

/* A staircase of tiers, one rep each: 100 leads for each tier from the
 * lowest up, then leads anyone can take. The top rep, who took the most,
 * waits about two turns and a half (15 leads; three turns at most), not
 * the 35 that chained credit gave. */
static void test_weighted_staircase_waits_a_turn(void **state)
{
    leadroute_router *r = router_with("rule,out:pool\nall,p\n",
                                      "#! pools\nid,strategy,tiers\np,weighted,\">=50:5; >=40:4; >=30:3; >=20:2; >=10:1\"\n"
                                      "#! reps\nid,pools,tier\nt0,p,0\nt1,p,1\nt2,p,2\nt3,p,3\nt4,p,4\nt5,p,5\n",
                                      NULL);
    int first_top = -1, at = 0;
    (void)state;
    for (int k = 1; k < 6; k++)
        for (int i = 0; i < 100; i++) {
            char id[16];
            tlead l;
            tl_init(&l);
            tl_num(&l, "score", 10 * k + 5);
            snprintf(id, sizeof id, "T%d-%d", k, i);
            route_lead(r, &l, id, 0);
        }
    for (int i = 0; i < 40 && first_top < 0; i++, at++) {
        char id[16];
        tlead l;
        tl_init(&l);
        tl_num(&l, "score", 0);
        snprintf(id, sizeof id, "A%d", i);
        if (strcmp(route_lead(r, &l, id, 0), "t5") == 0)
            first_top = at;
    }
    if (first_top < 0 || first_top > 17)
        fail_msg("the top rep's first lead anyone could take: %d", first_top);
    leadroute_router_free(r);
}

/* Members that take the same leads keep their weights when a member the
 * others cannot match sits far below them at some leads: g (weight 10)
 * speaks only French, h (weight 10) and l (weight 1) English and French;
 * the leads go English four times, then French. h and l must split what g
 * leaves them 10:1 (bounding each member's credit on its own let l take
 * 111 leads to h's 4,289); and with equal weights, half the leads French at
 * random, h and l within a lead or two of each other. */
static void test_weighted_bound_keeps_peers(void **state)
{
    (void)state;
    for (int equal = 0; equal < 2; equal++) {
        char roster[256];
        uint32_t got[3] = { 0, 0, 0 }, seed = 5;
        snprintf(roster, sizeof roster,
                 "#! pools\nid,strategy,filters\np,weighted,language=languages\n"
                 "#! reps\nid,pools,languages,weight\ng,p,fr,%d\nh,p,\"en, fr\",%d\nl,p,\"en, fr\",1\n",
                 equal ? 1 : 10, equal ? 1 : 10);
        leadroute_router *r = router_with("rule,out:pool\nall,p\n", roster, NULL);
        for (int i = 0; i < 5500; i++) {
            char id[16];
            tlead l;
            int french;
            seed = seed * 1103515245u + 12345u;
            french = equal ? (seed >> 16) % 2 == 0 : i % 5 == 4;
            tl_init(&l);
            tl_str(&l, "language", french ? "fr" : "en");
            snprintf(id, sizeof id, "L%d", i);
            const char *rep = route_lead(r, &l, id, 0);
            got[rep[0] == 'g' ? 0 : rep[0] == 'h' ? 1 : 2]++;
        }
        print_message("%s: g %u, h %u, l %u\n", equal ? "equal" : "10:10:1", got[0], got[1], got[2]);
        if (equal ? (got[1] > got[2] + 2 || got[2] > got[1] + 2) : (got[1] > 10 * got[2] + 10 || 10 * got[2] > got[1] + 10))
            fail_msg("%s: h %u, l %u", equal ? "equal weights" : "weights 10 and 1", got[1], got[2]);
        leadroute_router_free(r);
    }
}

/* Ten reps of weight 1, each speaking English and a language of its own;
 * rep k first takes k leads of its language, so that their passes stand in
 * a staircase of one-stride steps, then only English leads come. The top
 * rep's first one comes after about three turns (30 leads), not after the
 * five and more that one group spanning the whole staircase gave (54). */
static void test_weighted_staircase_of_small_steps(void **state)
{
    char roster[512];
    size_t len = (size_t)snprintf(roster, sizeof roster,
                                  "#! pools\nid,strategy,filters\np,weighted,language=languages\n"
                                  "#! reps\nid,pools,languages\n");
    int first_top = -1, n = 0;
    (void)state;
    for (int k = 0; k < 10; k++)
        len += (size_t)snprintf(roster + len, sizeof roster - len, "r%d,p,\"en, x%d\"\n", k, k);
    leadroute_router *r = router_with("rule,out:pool\nall,p\n", roster, NULL);
    for (int k = 0; k < 10; k++)
        for (int i = 0; i < k; i++) {
            char id[16], lang[8];
            tlead l;
            snprintf(lang, sizeof lang, "x%d", k);
            tl_init(&l);
            tl_str(&l, "language", lang);
            snprintf(id, sizeof id, "X%d", n++);
            assert_int_equal(route_lead(r, &l, id, 0)[1] - '0', k);
        }
    for (int i = 0; i < 80 && first_top < 0; i++) {
        char id[16];
        tlead l;
        tl_init(&l);
        tl_str(&l, "language", "en");
        snprintf(id, sizeof id, "E%d", i);
        if (strcmp(route_lead(r, &l, id, 0), "r9") == 0)
            first_top = i;
    }
    print_message("the top rep's first English lead: %d\n", first_top);
    if (first_top < 0 || first_top > 40)
        fail_msg("the top rep's first English lead: %d", first_top);
    leadroute_router_free(r);
}

/* Weighted passes stay near one another however long a filter keeps a
 * member out: with a stride of 1e15 (weight 1e-9), passes that grew by a
 * stride a lead would reach 2^64 in some 37,000 leads, and from there every
 * lead would tie and go to the lowest id. zed's tier keeps it out of all. */
static void test_weighted_passes_stay_bounded(void **state)
{
    leadroute_router *r = router_with("rule,out:pool\nall,p\n",
                                      "#! pools\nid,strategy,tiers\np,weighted,>=80:2\n"
                                      "#! reps\nid,pools,tier,weight\nanna,p,2,0.000000001\nben,p,2,0.000000001\n"
                                      "zed,p,0,0.000000001\n",
                                      NULL);
    uint32_t last[2] = { 0, 0 };
    tlead l;
    (void)state;
    for (int i = 0; i < 60000; i++) {
        char id[16];
        tl_init(&l);
        tl_num(&l, "score", 95);
        snprintf(id, sizeof id, "L%d", i);
        const char *rep = route_lead(r, &l, id, 0);
        if (i >= 59000)
            last[rep[0] == 'b']++;
        assert_true(rep[0] == 'a' || rep[0] == 'b');
    }
    if (last[0] != 500 || last[1] != 500)
        fail_msg("the last 1,000 leads: anna %u, ben %u", last[0], last[1]);
    leadroute_router_free(r);
}

/* A deadline is the SLA in milliseconds to the nearest one: 1.9 ms is 2. */
static void test_deadline_rounds_to_nearest_ms(void **state)
{
    leadroute_router *r = router_with(TABLE_TO("p"),
                                      "#! pools\nid,sla_minutes\np,0.0000316666666666667\n#! reps\nid,pools\na,p\n", NULL);
    const told *t;
    (void)state;
    assert_string_equal(route_id(r, "L1", 0), "a");
    t = told_of("lead:L1", 0);
    assert_int_equal(t->deadline - t->at, 2);
    leadroute_router_free(r);
}

/* The capture-to-assignment figures of one lead routed now (to a, the one
 * rep), captured at the time `text` gives, or at `number` when it is NULL. */
static leadroute_latency_stats one_capture(const char *text, double number)
{
    leadroute_router_options o = LEADROUTE_ROUTER_OPTIONS_INIT;
    leadroute_latency_stats st = LEADROUTE_LATENCY_STATS_INIT;
    leadroute_router *r;
    tlead l;
    o.captured_field = "captured_at";
    r = router_with(TABLE_TO("p"), "#! reps\nid,pools\na,p\n", &o);
    tl_init(&l);
    if (text)
        tl_str(&l, "captured_at", text);
    else
        tl_num(&l, "captured_at", number);
    assert_string_equal(route_lead(r, &l, "L1", 0), "a");
    assert_int_equal(leadroute_router_latency(r, NULL, NULL, LEADROUTE_LATENCY_CAPTURE_TO_ASSIGN, &st),
                     LEADROUTE_OK);
    assert_int_equal(st.count, 1);
    leadroute_router_free(r);
    return st;
}

/* 2000-02-29 is a date (a leap year by the 400-year rule): a capture time
 * on it gives a capture-to-assignment sample. */
static void test_capture_time_on_a_400_year_leap_day(void **state)
{
    leadroute_latency_stats st;
    (void)state;
    g_now = 951782400000LL + 5000; /* 2000-02-29T00:00:05Z */
    st = one_capture("2000-02-29T00:00:00Z", 0);
    assert_true(st.mean_ms == 5000);
}

/* A lead a tick finds due is a breach, even when another host closes it
 * before the tick can move it (raced). The store here is the built-in
 * one, whose listing closes the lead behind the router's back once it has
 * listed it, as another host sharing the store would. */
static lr__memstore *g_shared;

static int close_after_listing(void *ud, int64_t now, int (*each)(void *, const leadroute_assignment *), void *ctx)
{
    int rc = lr__memstore_methods.list_due(ud, now, each, ctx);
    assert_int_equal(lr__memstore_methods.close(ud, "lead:L1"), LEADROUTE_OK);
    return rc;
}

static void test_raced_lead_is_a_breach(void **state)
{
    leadroute_router *r = router_with(TABLE_TO("p"), "#! pools\nid,sla_minutes\np,10\n#! reps\nid,pools\nx,p\ny,p\n",
                                      NULL);
    leadroute_store store = lr__memstore_methods;
    leadroute_tick_stats st;
    char json[8192];
    (void)state;
    assert_int_equal(lr__memstore_new(&g_shared, NULL, NULL, NULL), LEADROUTE_OK);
    store.list_due = close_after_listing;
    assert_int_equal(leadroute_router_set_store(r, &store, g_shared), LEADROUTE_OK);
    assert_string_equal(route_id(r, "L1", 0), "x");
    g_now = T0 + 10 * MIN_MS + 1;
    st = tick(r, NULL, NULL);
    assert_int_equal(st.due, 1);
    assert_int_equal(st.raced, 1);
    assert_int_equal(leadroute_router_metrics_json(r, json, sizeof json, NULL), LEADROUTE_OK);
    if (!strstr(json, "\"breaches\":1"))
        fail_msg("a raced lead is no breach: %s", json);
    leadroute_router_free(r);
    lr__memstore_free(g_shared);
}

/* The pool state a traced decision wrote, from its JSON explanation. */
static void state_after(char *out, size_t cap)
{
    char json[8192];
    const char *p, *e;
    assert_int_equal(leadroute_decision_explain(g_d, LEADROUTE_EXPLAIN_JSON, json, sizeof json, NULL), LEADROUTE_OK);
    p = strstr(json, "\"state_after\":\"");
    assert_non_null(p);
    p += strlen("\"state_after\":\"");
    e = strchr(p, '"');
    assert_non_null(e);
    assert_true((size_t)(e - p) < cap);
    memcpy(out, p, (size_t)(e - p));
    out[e - p] = '\0';
}

/* Weighted strides are rounded, not cut: weights 1 and 1.5 give strides
 * 10000000 and 6666667, and the order the host sees follows from them. */
static void test_weighted_strides_round(void **state)
{
    leadroute_router *r = router_with(TABLE_TO("w"),
                                      "#! pools\nid,strategy\nw,weighted\n#! reps\nid,pools,weight\na,w,1\nb,w,1.5\n", NULL);
    char got[16] = "", id[8], st[256];
    (void)state;
    for (int i = 0; i < 10; i++) {
        snprintf(id, sizeof id, "L%d", i + 1);
        strcat(got, route_id(r, id, LEADROUTE_ROUTE_TRACE));
    }
    assert_string_equal(got, "abbababbab");
    state_after(st, sizeof st);
    if (!strstr(st, "s 10000000 6666667"))
        fail_msg("strides in '%s'", st);
    leadroute_router_free(r);
}

/* Weighted passes are stored relative to the smallest (or the virtual
 * time, whichever is lower), less a unit per member and one (room for the
 * next lifts just under the level): after a and b one lead each, the
 * third's state starts from 3. */
static void test_weighted_passes_stored_relative(void **state)
{
    leadroute_router *r = router_with(TABLE_TO("w"), "#! pools\nid,strategy\nw,weighted\n#! reps\nid,pools\na,w\nb,w\n",
                                      NULL);
    char st[256];
    (void)state;
    assert_string_equal(route_id(r, "L1", 0), "a");
    assert_string_equal(route_id(r, "L2", 0), "b");
    assert_string_equal(route_id(r, "L3", LEADROUTE_ROUTE_TRACE), "a");
    state_after(st, sizeof st);
    if (strncmp(st, "wr1 3\\u000a10000003 a\\u000a3 b\\u000a", strlen("wr1 3\\u000a10000003 a\\u000a3 b\\u000a")) != 0)
        fail_msg("state after '%s'", st);
    leadroute_router_free(r);
}

/* An empty pool's default owner takes the lead whatever its own caps,
 * a cap of 0 (paused) included. */
static void test_default_owner_past_its_caps(void **state)
{
    leadroute_router *r = router_with(TABLE_TO("p"),
                                      "#! pools\nid,on_empty,default_owner\np,default_owner,boss\n"
                                      "#! reps\nid,pools,active,cap_day\na,p,no,\nboss,,yes,0\n",
                                      NULL);
    (void)state;
    assert_string_equal(route_id(r, "L1", 0), "boss");
    leadroute_router_free(r);
}

/* Fairness counts what the pool gave its current members: a lead its
 * default owner (no member) took counts for none of them. */
static void test_fairness_leaves_out_non_members(void **state)
{
    leadroute_router *r = router_with(TABLE_TO("p"),
                                      "#! pools\nid,on_empty,default_owner,cap_day\np,default_owner,boss,0\n"
                                      "#! reps\nid,pools\nboss,\ncarl,p\ndave,p\n",
                                      NULL);
    double spread = -1, jain = -1;
    (void)state;
    assert_string_equal(route_id(r, "L1", 0), "boss");
    assert_int_equal(leadroute_router_pool_fairness(r, "p", &spread, &jain), LEADROUTE_OK);
    assert_true(spread == 0);
    assert_true(jain == 1);
    leadroute_router_free(r);
}

/* A built-in store whose first load of a pool gives `g_state` instead, and
 * whose first `g_conflicts` commits lose their compare-and-swap. */
static const char *g_state;
static int g_conflicts;

static int crafted_load(void *ud, const char *pool, void *buf, size_t cap, size_t *len, uint64_t *version)
{
    if (g_state) {
        size_t n = strlen(g_state);
        *len = n;
        *version = 0;
        if (n <= cap) {
            memcpy(buf, g_state, n);
            g_state = NULL;
        }
        return LEADROUTE_OK;
    }
    return lr__memstore_methods.load_pool(ud, pool, buf, cap, len, version);
}

static int conflicting_commit(void *ud, const leadroute_commit *c, char *owner, size_t cap)
{
    if (g_conflicts > 0) {
        g_conflicts--;
        return LEADROUTE_ECONFLICT;
    }
    return lr__memstore_methods.commit(ud, c, owner, cap);
}

static lr__memstore *g_ms;

static void use_wrapped_store(leadroute_router *r)
{
    leadroute_store store = lr__memstore_methods;
    store.load_pool = crafted_load;
    store.commit = conflicting_commit;
    assert_int_equal(lr__memstore_new(&g_ms, NULL, NULL, NULL), LEADROUTE_OK);
    assert_int_equal(leadroute_router_set_store(r, &store, g_ms), LEADROUTE_OK);
}

/* ids are compared as bytes (unsigned), as the roster orders them:
 * after "zed" comes "émile" (0xC3 > 'z'), not "zed" again. */
static void test_rr_non_ascii_ids(void **state)
{
    leadroute_router *r = router_with(TABLE_TO("p"), "#! reps\nid,pools\nzed,p\n\xc3\xa9mile,p\n", NULL);
    (void)state;
    assert_string_equal(route_id(r, "L1", 0), "zed");
    assert_string_equal(route_id(r, "L2", 0), "\xc3\xa9mile");
    assert_string_equal(route_id(r, "L3", 0), "zed");
    leadroute_router_free(r);
}

/* a pick retried after a conflict writes one state, not the failed
 * pick's state followed by the new one. */
static void test_rr_state_after_conflict(void **state)
{
    leadroute_router *r = router_with(TABLE_TO("p"), "#! reps\nid,pools\na,p\nab,p\nb,p\n", NULL);
    char st[256];
    (void)state;
    use_wrapped_store(r);
    g_conflicts = 1;
    assert_string_equal(route_id(r, "L1", LEADROUTE_ROUTE_TRACE), "a");
    state_after(st, sizeof st);
    assert_string_equal(st, "rr2\\u000aab\\u000ab\\u000aa"); /* as JSON writes it */
    assert_string_equal(route_id(r, "L2", 0), "ab");
    leadroute_router_free(r);
    lr__memstore_free(g_ms);
}

/* a number whose leading digits are "100" after whole pairs (1e6,
 * the stride of a heaviest weight of 10) is written as such. */
static void test_weighted_stride_one_million(void **state)
{
    leadroute_router *r = router_with(TABLE_TO("w"),
                                      "#! pools\nid,strategy\nw,weighted\n#! reps\nid,pools,weight\na,w,10\nb,w,1\n", NULL);
    char st[256];
    (void)state;
    assert_string_equal(route_id(r, "L1", LEADROUTE_ROUTE_TRACE), "a");
    state_after(st, sizeof st);
    assert_string_equal(st, "wr1 0\\u000a1000000 a\\u000a0 b\\u000as 1000000 10000000");
    leadroute_router_free(r);
}

/* weights 1 and 1e-9 lower the scale so the light stride is 1e15
 * (docs: lowered so that the lightest member's is at most 10^15). */
static void test_weighted_lightest_stride_capped(void **state)
{
    leadroute_router *r = router_with(TABLE_TO("w"),
                                      "#! pools\nid,strategy\nw,weighted\n#! reps\nid,pools,weight\na,w,1\nb,w,1e-9\n", NULL);
    char st[256];
    (void)state;
    assert_string_equal(route_id(r, "L1", LEADROUTE_ROUTE_TRACE), "a");
    state_after(st, sizeof st);
    if (!strstr(st, "s 1000000 1000000000000000"))
        fail_msg("strides in '%s'", st);
    leadroute_router_free(r);
}

#define W_ROSTER "#! pools\nid,strategy\nw,weighted\n#! reps\nid,pools\na,w\nb,w\n"
#define CU_ROSTER "#! pools\nid,strategy,calibration\nw,weighted,catch_up\n#! reps\nid,pools\na,w\nb,w\n"

/* The rep the first lead goes to when the store gives `state` as pool w's
 * (reps a and b); `after` (cap bytes, NULL: not read) gets the state written. */
static const char *first_from_state(const char *roster, const char *state, char *after, size_t cap)
{
    static char rep[16];
    leadroute_router *r = router_with(TABLE_TO("w"), roster, NULL);
    use_wrapped_store(r);
    g_state = state;
    snprintf(rep, sizeof rep, "%s", route_id(r, "L1", after ? LEADROUTE_ROUTE_TRACE : 0));
    if (after)
        state_after(after, cap);
    leadroute_router_free(r);
    lr__memstore_free(g_ms);
    return rep;
}

/* a strides line with a 0 is damaged: none of it is read, and the
 * passes are taken as written: a (3e6) before b (5e6), b's not halved by
 * the stride of 2e7 the line gives it. */
static void test_weighted_zero_stride_ignored(void **state)
{
    (void)state;
    assert_string_equal(first_from_state(W_ROSTER, "wr1 0\n3000000 a\n5000000 b\ns 0 20000000", NULL, 0), "a");
}

/* a strides line followed by anything else is not read: b's pass is
 * taken as written (5e6, behind a's 3e6), not halved by a stride of 2e7. */
static void test_weighted_strides_line_with_trailer_ignored(void **state)
{
    (void)state;
    assert_string_equal(first_from_state(W_ROSTER, "wr1 0\n3000000 a\n5000000 b\ns 10000000 20000000x", NULL, 0), "a");
}

/* a pass written under another stride is scaled to the nearest
 * whole number: 2 of stride 3 is 6666666.67 of stride 1e7, so 6666667. */
static void test_weighted_restride_rounds(void **state)
{
    char st[256];
    (void)state;
    assert_string_equal(first_from_state(W_ROSTER, "wr1 0\n0 a\n2 b\ns 10000000 3", st, sizeof st), "a");
    assert_string_equal(st, "wr1 0\\u000a10000000 a\\u000a6666667 b\\u000as 10000000 10000000");
}

/* under catch-up, a pass one old turn behind the virtual time stays
 * one new turn behind when the stride changes: a (owed a lead) goes first. */
static void test_catch_up_restride_keeps_deficit(void **state)
{
    (void)state;
    assert_string_equal(first_from_state(CU_ROSTER, "wr1 20000000\n0 a\n20000000 b\ns 20000000 10000000", NULL, 0), "a");
}

/* under catch-up, a rep new to the pool starts at the virtual time
 * (it missed nothing): c, added while a is owed leads, gets no burst. */
static void test_catch_up_new_member_starts_at_level(void **state)
{
    const char *pools = "#! pools\nid,strategy,calibration\nw,weighted,catch_up\n";
    leadroute_router *r;
    char roster[256];
    (void)state;
    snprintf(roster, sizeof roster, "%s#! reps\nid,pools,active\na,w,no\nb,w,yes\n", pools);
    r = router_with(TABLE_TO("w"), roster, NULL);
    for (int i = 0; i < 4; i++) {
        char id[8];
        snprintf(id, sizeof id, "A%d", i);
        assert_string_equal(route_id(r, id, 0), "b");
    }
    snprintf(roster, sizeof roster, "%s#! reps\nid,pools,active\na,w,no\nb,w,yes\nc,w,yes\n", pools);
    swap_roster(r, roster);
    /* b stays a turn ahead of vt; c joins at vt, so c then b alternate */
    assert_string_equal(route_id(r, "B1", 0), "c");
    assert_string_equal(route_id(r, "B2", 0), "b");
    leadroute_router_free(r);
}

/* samples under 8 ms have buckets one ms wide: a single 5 ms sample
 * reads back as 5 ms at every percentile. */
static void test_latency_small_exact(void **state)
{
    leadroute_latency_stats st;
    (void)state;
    st = one_capture(NULL, (double)(T0 - 5));
    assert_true(st.mean_ms == 5);
    if (st.p50_ms != 5 || st.p90_ms != 5 || st.p99_ms != 5)
        fail_msg("p50 %g p90 %g p99 %g", st.p50_ms, st.p90_ms, st.p99_ms);
}

/* a pass scaled past what 64 bits hold (1e13 of stride 1 is 1e20 of
 * stride 1e7) is kept to two turns ahead, not wrapped: b, half a turn ahead,
 * goes first. */
static void test_weighted_restride_saturates(void **state)
{
    (void)state;
    assert_string_equal(first_from_state(W_ROSTER, "wr1 0\n10000000000000 a\n5000000 b\ns 1 10000000", NULL, 0), "b");
}

/* any other number is "none" (router.h). */
static void test_status_name_other(void **state)
{
    (void)state;
    assert_string_equal(leadroute_route_status_name(0), "none");
    assert_string_equal(leadroute_route_status_name(99), "none");
}

/* the metrics' table_version is 16 hex digits, leading zeros kept,
 * the same text as the explanation's. */
static void test_metrics_table_version_leading_zero(void **state)
{
    char table[64], want[64], json[4096];
    leadroute_table *t = NULL;
    leadroute_router *r;
    uint64_t h = 0;
    int i;
    (void)state;
    for (i = 0; i < 10000; i++) {
        snprintf(table, sizeof table, "rule,out:pool\nr%d,p\n", i);
        assert_int_equal(leadroute_table_parse(&t, table, strlen(table), "t.csv", NULL), LEADROUTE_OK);
        h = leadroute_table_hash(t);
        leadroute_table_unref(t);
        if (h >> 60 == 0)
            break;
    }
    assert_true(h >> 60 == 0);
    r = router_with(table, "#! reps\nid,pools\na,p\n", NULL);
    assert_int_equal(leadroute_router_metrics_json(r, json, sizeof json, NULL), LEADROUTE_OK);
    snprintf(want, sizeof want, "{\"table_version\":\"%016" PRIx64 "\",", h);
    if (strncmp(json, want, strlen(want)) != 0)
        fail_msg("want %s in %s", want, json);
    leadroute_router_free(r);
}

/* a spread past the largest double is null in the metrics JSON (weights
 * near the smallest double), never "inf", which is no JSON. */
static void test_metrics_infinite_spread_is_null(void **state)
{
    leadroute_router *r = router_with(TABLE_TO("w"),
                                      "#! pools\nid,strategy\nw,weighted\n#! reps\nid,pools,weight\na,w,5e-324\nb,w,5e-324\n",
                                      NULL);
    char json[4096];
    double spread = 0, jain = 0;
    (void)state;
    assert_string_equal(route_id(r, "L1", 0), "a");
    assert_int_equal(leadroute_router_pool_fairness(r, "w", &spread, &jain), LEADROUTE_OK);
    assert_true(isinf(spread));
    assert_int_equal(leadroute_router_metrics_json(r, json, sizeof json, NULL), LEADROUTE_OK);
    if (!strstr(json, "\"spread\":null,"))
        fail_msg("spread in %s", json);
    leadroute_router_free(r);
}

/* a space in an id is written as itself in the metrics JSON. */
static void test_metrics_space_in_id(void **state)
{
    leadroute_router *r = router_with("rule,out:pool\nbig deal,p\n", "#! reps\nid,pools\nann lee,p\n", NULL);
    char json[4096];
    (void)state;
    assert_string_equal(route_id(r, "L1", 0), "ann lee");
    assert_int_equal(leadroute_router_metrics_json(r, json, sizeof json, NULL), LEADROUTE_OK);
    if (!strstr(json, "\"rules\":{\"big deal\":1}") || !strstr(json, "\"reps\":{\"ann lee\":1}"))
        fail_msg("ids in %s", json);
    leadroute_router_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cap_window_includes_its_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tick_ties_go_by_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tick_keeps_leads_without_a_pool, setup, teardown),
        cmocka_unit_test_setup_teardown(test_join_offset_decays, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reason_counts_eligible_members, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escalation_takes_fallbacks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blank_value_asks_nothing_past_sixteen_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filtered_leads_starve_no_one, setup, teardown),
        cmocka_unit_test_setup_teardown(test_weighted_shares_hold_under_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_weighted_credit_is_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_weighted_credit_keeps_peers_even, setup, teardown),
        cmocka_unit_test_setup_teardown(test_weighted_staircase_waits_a_turn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_weighted_bound_keeps_peers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_weighted_staircase_of_small_steps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_changes_no_pick, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_robin_large_pool, setup, teardown),
        cmocka_unit_test_setup_teardown(test_weighted_peers_stay_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_weighted_passes_stay_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadline_rounds_to_nearest_ms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_capture_time_on_a_400_year_leap_day, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raced_lead_is_a_breach, setup, teardown),
        cmocka_unit_test_setup_teardown(test_weighted_strides_round, setup, teardown),
        cmocka_unit_test_setup_teardown(test_weighted_passes_stored_relative, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_owner_past_its_caps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fairness_leaves_out_non_members, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rr_non_ascii_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rr_state_after_conflict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_weighted_stride_one_million, setup, teardown),
        cmocka_unit_test_setup_teardown(test_weighted_lightest_stride_capped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_weighted_zero_stride_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_weighted_strides_line_with_trailer_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_weighted_restride_rounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_catch_up_restride_keeps_deficit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_catch_up_new_member_starts_at_level, setup, teardown),
        cmocka_unit_test_setup_teardown(test_latency_small_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_weighted_restride_saturates, setup, teardown),
        cmocka_unit_test(test_status_name_other),
        cmocka_unit_test_setup_teardown(test_metrics_table_version_leading_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics_infinite_spread_is_null, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics_space_in_id, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
