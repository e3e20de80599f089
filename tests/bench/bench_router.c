/*
 * bench_router: full routing (leadroute_route) of distinct leads through a
 * territory table and a roster, with the built-in in-memory store.
 *
 * Table (seeded): 1,000 rules shaped like bench_table's territory table:
 *   inputs:  region (6), country:ci (30 codes, each in one region), postal
 *            (prefix lists for US CA GB DE FR AU, else -), industry (20,
 *            lists of 1-3 or -), employees:number (bands or -), score:number
 *            (thresholds or -), language (10 or -), products:set (12, lists)
 *   outputs: pool (one of the 5 pools below, by region and segment: rules
 *            for companies of 1000+ go to enterprise, low-score rules to
 *            inside-sales, the rest to their region's pool), sla_minutes
 *   rules:   a few generic VIP rules, then per region and country specific
 *            rules (most specific first) and a country catch-all, a
 *            catch-all per region, a global catch-all (inside-sales).
 * Roster: 50 reps in 5 pools of 10:
 *   americas      round robin
 *   enterprise    weighted (weights 1..3), fallback inside-sales
 *   inside-sales  least loaded, capacity per rep, queue "overflow" when full
 *   emea          round robin, filter language=languages, tiers >=80:2 >=50:1,
 *                 fallback inside-sales
 *   apac          weighted, filter language=languages, tiers >=85:2 >=60:1,
 *                 fallback inside-sales
 * Leads: distinct ids, skewed countries and sizes as in bench_table, every
 * lead routed once and claimed (no callbacks, no closes).
 *
 * Measured, each on a fresh router, best of --runs:
 *   1 thread, trace off; 1 thread, LEADROUTE_ROUTE_TRACE; 2 threads (each its
 *   own decision, disjoint halves of the leads), trace off.
 * Roster swaps: leadroute_router_set_roster with 10,000 and 50,000 reps
 *   (the five pools, every rep moved to another pool each swap, the same ids
 *   each time), ms per swap, --runs swaps after leadroute_router_new.
 *
 * Usage: bench_router [--leads M] [--runs R] [--seed X] [--only off|trace|threads|swap]
 *
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "leadroute/leadroute.h"

#define BENCH_NAME "bench_router"
#include "bench_util.h"

/* A cell holding a list needs quotes (cells never hold a quote). */
static void sb_cell(sbuf *b, const char *cell)
{
    sb_printf(b, strchr(cell, ',') ? ",\"%s\"" : ",%s", cell);
}

/* ------------------------------------------------------------------------ */
/* Domains (as in bench_table). */

enum { NREGIONS = 6, NCOUNTRIES = 30, NINDUSTRIES = 20, NLANGS = 10, NPRODUCTS = 12, NCOLS = 8 };
enum { R_NA, R_LATAM, R_EMEA_W, R_EMEA_C, R_NORDICS, R_APAC };

static const char *const REGIONS[NREGIONS] = {"NA", "LATAM", "EMEA-WEST", "EMEA-CENTRAL", "NORDICS", "APAC"};

enum postal_style { P_NONE, P_DIGITS5, P_DIGITS4, P_CA, P_GB };

typedef struct country {
    const char *code;
    int region;
    double weight;
    int postal;
    int lang;
} country;

static const char *const LANGS[NLANGS] = {"en", "de", "fr", "es", "pt", "it", "ja", "nl", "sv", "pl"};

static const country COUNTRIES[NCOUNTRIES] = {
    {"US", 0, 28.0, P_DIGITS5, 0}, {"CA", 0, 5.0, P_CA, 0},     {"MX", 1, 2.0, P_NONE, 3},
    {"BR", 1, 3.0, P_NONE, 4},     {"AR", 1, 1.0, P_NONE, 3},   {"CL", 1, 0.6, P_NONE, 3},
    {"CO", 1, 0.6, P_NONE, 3},     {"PE", 1, 0.3, P_NONE, 3},   {"GB", 2, 9.0, P_GB, 0},
    {"IE", 2, 1.0, P_NONE, 0},     {"FR", 2, 5.0, P_DIGITS5, 2}, {"ES", 2, 2.5, P_NONE, 3},
    {"PT", 2, 0.7, P_NONE, 4},     {"BE", 2, 1.0, P_NONE, 2},   {"NL", 2, 3.0, P_NONE, 7},
    {"DE", 3, 8.0, P_DIGITS5, 1},  {"AT", 3, 1.2, P_NONE, 1},   {"CH", 3, 1.5, P_NONE, 1},
    {"PL", 3, 1.2, P_NONE, 9},     {"CZ", 3, 0.5, P_NONE, 0},   {"IT", 3, 2.5, P_NONE, 5},
    {"SE", 4, 1.5, P_NONE, 8},     {"NO", 4, 0.8, P_NONE, 0},   {"DK", 4, 0.8, P_NONE, 0},
    {"FI", 4, 0.6, P_NONE, 0},     {"JP", 5, 4.0, P_NONE, 6},   {"AU", 5, 4.0, P_DIGITS4, 0},
    {"IN", 5, 4.0, P_NONE, 0},     {"SG", 5, 1.5, P_NONE, 0},   {"KR", 5, 0.9, P_NONE, 0},
};

static const char *const UNKNOWN_COUNTRIES[] = {"ZA", "NG", "EG", "AE", "TR", "XX"};

static const char *const INDUSTRIES[NINDUSTRIES] = {
    "software", "fintech", "banking", "insurance", "healthcare", "pharma", "retail",
    "ecommerce", "manufacturing", "automotive", "energy", "telecom", "media", "education",
    "government", "logistics", "hospitality", "realestate", "agriculture", "nonprofit",
};
static const double INDUSTRY_W[NINDUSTRIES] = {18, 8, 6, 5, 7, 3, 6, 6, 8, 3, 3, 3, 3, 4, 2, 4, 2, 2, 1, 2};

static const char *const PRODUCTS[NPRODUCTS] = {
    "crm", "cpq", "analytics", "marketing", "service", "commerce",
    "field", "billing", "ai", "data", "security", "platform",
};
static const double PRODUCT_W[NPRODUCTS] = {20, 6, 10, 12, 10, 5, 3, 4, 8, 6, 5, 4};

/* Employee bands; index >= 6 are enterprise bands (1000+). */
static const char *const EMPLOYEE_CELLS[] = {"<10", "<50", "[10..50)", "[50..200)", "[200..1000)", "<200",
                                             ">=1000", "[1000..5000)", ">=5000"};
static const char *const SCORE_CELLS[] = {">=80", ">=90", ">=50", "[50..80)", ">=70", "<50", "<30"};
static const int SLAS[] = {5, 15, 30, 60, 120, 240, 480, 1440};
static const char *const GB_AREAS[] = {"SW", "SE", "EC", "WC", "W", "N", "NW", "E", "M", "B",
                                       "L", "G", "EH", "LS", "BS", "CF", "OX", "CB", "RG", "BT"};
static const char CA_LETTERS[] = "ABCEGHJKLMNPRSTVXY";

/* The five pools and the pool of each region's ordinary leads. */
enum { POOL_AMERICAS, POOL_ENTERPRISE, POOL_INSIDE, POOL_EMEA, POOL_APAC, NPOOLS };
static const char *const POOL_IDS[NPOOLS] = {"americas", "enterprise", "inside-sales", "emea", "apac"};
static const int REGION_POOL[NREGIONS] = {POOL_AMERICAS, POOL_AMERICAS, POOL_EMEA, POOL_EMEA, POOL_EMEA, POOL_APAC};

/* ------------------------------------------------------------------------ */
/* Table. */

static void postal_prefix(rng *r, int style, sbuf *b)
{
    switch (style) {
    case P_DIGITS5:
        if (rng_chance(r, 0.6))
            sb_printf(b, "%02u*", rng_below(r, 100));
        else
            sb_printf(b, "%03u*", rng_below(r, 1000));
        break;
    case P_DIGITS4:
        sb_printf(b, "%u*", 1 + rng_below(r, 9));
        break;
    case P_CA:
        sb_printf(b, "%c*", CA_LETTERS[rng_below(r, 18)]);
        break;
    default:
        sb_printf(b, "%s*", GB_AREAS[rng_below(r, 20)]);
        break;
    }
}

static void list_cell(rng *r, const char *const *dom, const double *w, uint32_t n, uint32_t max_items, sbuf *b)
{
    uint32_t k = 1 + rng_below(r, max_items), picked[4], np = 0;
    while (np < k) {
        uint32_t v = rng_weighted(r, w, n), dup = 0;
        for (uint32_t i = 0; i < np; i++)
            dup |= picked[i] == v;
        if (!dup)
            picked[np++] = v;
    }
    for (uint32_t i = 0; i < np; i++)
        sb_printf(b, "%s%s", i ? ", " : "", dom[picked[i]]);
}

typedef struct gen_rule {
    char cells[NCOLS][96];
    int specificity, order, employees, score;  /* band/score cell index or -1 */
} gen_rule;

static int by_specificity(const void *a, const void *b)
{
    const gen_rule *x = a, *y = b;
    if (x->specificity != y->specificity)
        return y->specificity - x->specificity;
    return x->order - y->order;
}

static void set_cell(gen_rule *g, int k, sbuf *b)
{
    snprintf(g->cells[k], sizeof g->cells[k], "%s", b->len ? b->p : "-");
    b->len = 0;
    if (b->p)
        b->p[0] = 0;
}

static void make_country_rule(rng *r, int c, gen_rule *g, sbuf *b)
{
    const country *co = &COUNTRIES[c];
    memset(g, 0, sizeof *g);
    g->employees = g->score = -1;
    sb_printf(b, "%s", rng_chance(r, 0.9) ? REGIONS[co->region] : "-");
    set_cell(g, 0, b);
    sb_printf(b, "%s", co->code);
    set_cell(g, 1, b);
    if (co->postal != P_NONE && rng_chance(r, 0.6)) {
        uint32_t k = 1 + rng_below(r, 3);
        for (uint32_t i = 0; i < k; i++) {
            if (i)
                sb_printf(b, ", ");
            postal_prefix(r, co->postal, b);
        }
        g->specificity++;
    }
    set_cell(g, 2, b);
    if (rng_chance(r, 0.55)) {
        list_cell(r, INDUSTRIES, INDUSTRY_W, NINDUSTRIES, 3, b);
        g->specificity++;
    }
    set_cell(g, 3, b);
    if (rng_chance(r, 0.6)) {
        g->employees = (int)rng_below(r, 9);
        sb_printf(b, "%s", EMPLOYEE_CELLS[g->employees]);
        g->specificity++;
    }
    set_cell(g, 4, b);
    if (rng_chance(r, 0.25)) {
        g->score = (int)rng_below(r, 7);
        sb_printf(b, "%s", SCORE_CELLS[g->score]);
        g->specificity++;
    }
    set_cell(g, 5, b);
    if (rng_chance(r, 0.2)) {
        sb_printf(b, "%s", LANGS[co->lang]);
        g->specificity++;
    }
    set_cell(g, 6, b);
    if (rng_chance(r, 0.25) || g->specificity == 0) {
        list_cell(r, PRODUCTS, PRODUCT_W, NPRODUCTS, 2, b);
        g->specificity++;
    }
    set_cell(g, 7, b);
}

static void add_row(sbuf *t, const char *id, const char *const *cells, int pool, int sla)
{
    sb_printf(t, "%s", id);
    for (int i = 0; i < NCOLS; i++)
        sb_cell(t, cells[i]);
    sb_printf(t, ",%s,%d\n", POOL_IDS[pool], sla);
}

/* Exactly `n` rules (n >= 64). */
static char *make_table(uint64_t seed, size_t n, size_t *len_out)
{
    rng r = {seed * 0x9E3779B97F4A7C15ull + n};
    sbuf t = {0}, b = {0};
    sb_printf(&t, "#! name: router benchmark %zu\n#! hit_policy: first\n", n);
    sb_printf(&t, "rule,region,country:ci,postal,industry,employees:number,score:number,language,"
                  "products:set,out:pool,out:sla_minutes:number\n");
    static const char *const vip[][NCOLS] = {
        {"-", "-", "-", "-", ">=5000", ">=90", "-", "-"},
        {"-", "-", "-", "-", ">=1000", ">=85", "-", "ai, data"},
        {"-", "-", "-", "banking, insurance", ">=5000", ">=80", "-", "-"},
        {"-", "-", "-", "government", "-", ">=70", "-", "-"},
    };
    static const int vip_pool[] = {POOL_ENTERPRISE, POOL_ENTERPRISE, POOL_ENTERPRISE, POOL_INSIDE};
    char id[64];
    for (size_t i = 0; i < 4; i++) {
        snprintf(id, sizeof id, "vip-%zu", i + 1);
        add_row(&t, id, vip[i], vip_pool[i], i < 3 ? 5 : 30);
    }
    size_t fixed = 4 + NCOUNTRIES + NREGIONS + 1, specific = n - fixed, given = 0;
    double wsum = 0, rem[NCOUNTRIES];
    size_t share[NCOUNTRIES];
    for (int c = 0; c < NCOUNTRIES; c++)
        wsum += COUNTRIES[c].weight;
    for (int c = 0; c < NCOUNTRIES; c++) {
        double exact = (double)specific * COUNTRIES[c].weight / wsum;
        share[c] = (size_t)exact;
        rem[c] = exact - (double)share[c];
        given += share[c];
    }
    while (given < specific) {
        int best = 0;
        for (int c = 1; c < NCOUNTRIES; c++)
            if (rem[c] > rem[best])
                best = c;
        share[best]++;
        rem[best] = -1;
        given++;
    }
    gen_rule *block = xmalloc(specific * sizeof *block);
    for (int reg = 0; reg < NREGIONS; reg++) {
        for (int c = 0; c < NCOUNTRIES; c++) {
            if (COUNTRIES[c].region != reg)
                continue;
            for (size_t i = 0; i < share[c]; i++) {
                make_country_rule(&r, c, &block[i], &b);
                block[i].order = (int)i;
            }
            qsort(block, share[c], sizeof *block, by_specificity);
            for (size_t i = 0; i < share[c]; i++) {
                const char *cells[NCOLS];
                int pool = REGION_POOL[reg];
                /* segment: companies of 1000+ to enterprise, weak scores to inside sales */
                if (block[i].employees >= 6)
                    pool = POOL_ENTERPRISE;
                else if (block[i].score >= 5)
                    pool = POOL_INSIDE;
                for (int k = 0; k < NCOLS; k++)
                    cells[k] = block[i].cells[k];
                snprintf(id, sizeof id, "%s-%zu", COUNTRIES[c].code, i + 1);
                add_row(&t, id, cells, pool, SLAS[rng_below(&r, 8)]);
            }
            const char *cells[NCOLS] = {REGIONS[reg], COUNTRIES[c].code, "-", "-", "-", "-", "-", "-"};
            snprintf(id, sizeof id, "%s-all", COUNTRIES[c].code);
            add_row(&t, id, cells, REGION_POOL[reg], 240);
        }
        const char *cells[NCOLS] = {REGIONS[reg], "-", "-", "-", "-", "-", "-", "-"};
        snprintf(id, sizeof id, "%s-all", REGIONS[reg]);
        add_row(&t, id, cells, REGION_POOL[reg], 480);
    }
    const char *cells[NCOLS] = {"-", "-", "-", "-", "-", "-", "-", "-"};
    add_row(&t, "catch-all", cells, POOL_INSIDE, 1440);
    free(block);
    free(b.p);
    *len_out = t.len;
    return t.p;
}

/* ------------------------------------------------------------------------ */
/* Roster: 10 reps per pool. */

enum { NREPS = 50, REPS_PER_POOL = 10 };

/* Languages spoken by the EMEA and APAC reps: everyone has English, most a
 * second or third language, so a few leads find no one and fall back. */
static const char *const EMEA_LANGS[REPS_PER_POOL][4] = {
    {"en", "de", NULL}, {"en", "de", "fr", NULL}, {"en", "fr", NULL}, {"en", "es", "pt", NULL},
    {"en", "it", NULL}, {"en", "nl", "de", NULL}, {"en", "sv", NULL}, {"en", "pl", "de", NULL},
    {"en", "fr", "es", NULL}, {"en", NULL},
};
static const char *const APAC_LANGS[REPS_PER_POOL][4] = {
    {"en", "ja", NULL}, {"en", NULL}, {"en", "ja", NULL}, {"en", NULL}, {"en", NULL},
    {"ja", NULL},       {"en", NULL}, {"en", "ja", NULL}, {"en", NULL}, {"en", NULL},
};

typedef struct roster_spec {
    char ids[NREPS][16];
    const char *pool_of[NREPS][1];
    leadroute_field skills[NREPS][1];
} roster_spec;

/* Rep ids by pool, for the per-pool counts (the roster lists them in id order). */
static roster_spec g_rep_ids;

static leadroute_roster *make_roster(uint32_t inside_capacity)
{
    leadroute_rep reps[NREPS];
    for (int i = 0; i < NREPS; i++) {
        int pool = i / REPS_PER_POOL, k = i % REPS_PER_POOL;
        leadroute_rep *r = &reps[i];
        leadroute_rep_init(r, LEADROUTE_REP_VERSION);
        snprintf(g_rep_ids.ids[i], sizeof g_rep_ids.ids[i], "%s-%02d", POOL_IDS[pool], k + 1);
        g_rep_ids.pool_of[i][0] = POOL_IDS[pool];
        r->id = g_rep_ids.ids[i];
        r->pools = g_rep_ids.pool_of[i];
        r->pool_count = 1;
        r->tier = (uint32_t)(k % 3);
        if (pool == POOL_ENTERPRISE)
            r->weight = 1.0 + (double)(k % 3);
        if (pool == POOL_INSIDE)
            r->capacity = inside_capacity + (uint32_t)k * (inside_capacity / 10);
        if (pool == POOL_EMEA || pool == POOL_APAC) {
            const char *const *langs = pool == POOL_EMEA ? EMEA_LANGS[k] : APAC_LANGS[k];
            size_t n = 0;
            while (langs[n])
                n++;
            g_rep_ids.skills[i][0].name = "languages";
            g_rep_ids.skills[i][0].value = (leadroute_value)LEADROUTE_VALUE_INIT;
            g_rep_ids.skills[i][0].value.type = LEADROUTE_VALUE_SET;
            g_rep_ids.skills[i][0].value.items = langs;
            g_rep_ids.skills[i][0].value.item_count = n;
            r->skills = g_rep_ids.skills[i];
            r->skill_count = 1;
        }
    }
    static const leadroute_skill_filter lang_filter[] = {{"language", "languages"}};
    static const leadroute_tier_rule emea_tiers[] = {{80, 2}, {50, 1}};
    static const leadroute_tier_rule apac_tiers[] = {{85, 2}, {60, 1}};
    leadroute_pool pools[NPOOLS];
    for (int p = 0; p < NPOOLS; p++) {
        leadroute_pool_init(&pools[p], LEADROUTE_POOL_VERSION);
        pools[p].id = POOL_IDS[p];
    }
    pools[POOL_AMERICAS].strategy = LEADROUTE_STRATEGY_ROUND_ROBIN;
    pools[POOL_AMERICAS].fallback = POOL_IDS[POOL_INSIDE];
    pools[POOL_ENTERPRISE].strategy = LEADROUTE_STRATEGY_WEIGHTED;
    pools[POOL_ENTERPRISE].fallback = POOL_IDS[POOL_INSIDE];
    pools[POOL_INSIDE].strategy = LEADROUTE_STRATEGY_LEAST_LOADED;
    pools[POOL_INSIDE].on_empty = LEADROUTE_EMPTY_QUEUE;
    pools[POOL_INSIDE].queue = "overflow";
    pools[POOL_EMEA].strategy = LEADROUTE_STRATEGY_ROUND_ROBIN;
    pools[POOL_EMEA].filters = lang_filter;
    pools[POOL_EMEA].filter_count = 1;
    pools[POOL_EMEA].tiers = emea_tiers;
    pools[POOL_EMEA].tier_count = 2;
    pools[POOL_EMEA].fallback = POOL_IDS[POOL_INSIDE];
    pools[POOL_APAC].strategy = LEADROUTE_STRATEGY_WEIGHTED;
    pools[POOL_APAC].filters = lang_filter;
    pools[POOL_APAC].filter_count = 1;
    pools[POOL_APAC].tiers = apac_tiers;
    pools[POOL_APAC].tier_count = 2;
    pools[POOL_APAC].fallback = POOL_IDS[POOL_INSIDE];
    leadroute_roster *ro = NULL;
    if (leadroute_roster_new(&ro, reps, NREPS, pools, NPOOLS, NULL) != LEADROUTE_OK)
        die("roster: %s", leadroute_error_last()->message);
    return ro;
}

/* ------------------------------------------------------------------------ */
/* Roster swaps. */

/* `n` reps spread over the five pools; `shift` moves each to another pool,
 * so two rosters with the same ids differ in every membership. */
static leadroute_roster *make_big_roster(uint32_t n, uint32_t shift)
{
    leadroute_rep *reps = xmalloc(sizeof *reps * n);
    char *ids = xmalloc((size_t)n * 16);
    const char **pool_of = xmalloc(sizeof *pool_of * n);
    leadroute_pool pools[NPOOLS];
    leadroute_roster *ro = NULL;
    for (int p = 0; p < NPOOLS; p++) {
        leadroute_pool_init(&pools[p], LEADROUTE_POOL_VERSION);
        pools[p].id = POOL_IDS[p];
        pools[p].strategy = LEADROUTE_STRATEGY_ROUND_ROBIN;
    }
    for (uint32_t i = 0; i < n; i++) {
        leadroute_rep_init(&reps[i], LEADROUTE_REP_VERSION);
        snprintf(ids + (size_t)i * 16, 16, "rep-%06u", i);
        pool_of[i] = POOL_IDS[(i + shift) % NPOOLS];
        reps[i].id = ids + (size_t)i * 16;
        reps[i].pools = &pool_of[i];
        reps[i].pool_count = 1;
    }
    if (leadroute_roster_new(&ro, reps, n, pools, NPOOLS, NULL) != LEADROUTE_OK)
        die("roster of %u reps: %s", n, leadroute_error_last()->message);
    free(reps);
    free(ids);
    free((void *)pool_of);
    return ro;
}

/* A router made with one roster of `n` reps, then `runs` swaps between it
 * and a second one with the same ids: the router has seen every id. */
static void measure_swaps(leadroute_table *table, uint32_t n, int runs)
{
    leadroute_roster *ro[2] = {make_big_roster(n, 0), make_big_roster(n, 1)};
    leadroute_router *router = NULL;
    double t0 = now_s(), made, best = 0, sum = 0;
    if (leadroute_router_new(&router, table, ro[0], NULL) != LEADROUTE_OK)
        die("router_new: %s", leadroute_error_last()->message);
    made = now_s() - t0;
    for (int k = 0; k < runs; k++) {
        t0 = now_s();
        if (leadroute_router_set_roster(router, ro[(k + 1) % 2]) != LEADROUTE_OK)
            die("set_roster: %s", leadroute_error_last()->message);
        double dt = now_s() - t0;
        best = k == 0 || dt < best ? dt : best;
        sum += dt;
    }
    printf("  %6u reps: router_new %.1f ms; set_roster %.2f ms per swap (best), %.2f ms (mean of %d)\n", n,
           1e3 * made, 1e3 * best, 1e3 * sum / runs, runs);
    fflush(stdout);
    leadroute_router_free(router);
    leadroute_roster_unref(ro[0]);
    leadroute_roster_unref(ro[1]);
}

/* ------------------------------------------------------------------------ */
/* Leads: distinct ids, the table's eight fields in column order. */

typedef struct lead_store {
    size_t n;
    leadroute_lead *leads;
    leadroute_field *fields;  /* n * NCOLS */
    char *ids;                /* n * 12 */
    char *postal;             /* n * 12 */
    const char **items;       /* n * 3 */
} lead_store;

static void set_string(leadroute_value *v, const char *s)
{
    v->type = LEADROUTE_VALUE_STRING;
    v->string = s;
}

static void set_number(leadroute_value *v, double x)
{
    v->type = LEADROUTE_VALUE_NUMBER;
    v->number = x;
}

static void make_leads(lead_store *ls, size_t n, uint64_t seed, const leadroute_table *t)
{
    rng r = {seed ^ 0x5EEDull};
    const char *names[NCOLS];
    double cw[NCOUNTRIES];
    static const double band_lo[] = {1, 10, 50, 200, 1000, 5000};
    static const double band_hi[] = {10, 50, 200, 1000, 5000, 100000};
    static const double band_w[] = {20, 25, 25, 15, 10, 5};
    if (leadroute_table_input_count(t) != NCOLS)
        die("table has %zu inputs, expected %d", leadroute_table_input_count(t), NCOLS);
    for (int k = 0; k < NCOLS; k++)
        names[k] = leadroute_table_input_name(t, (size_t)k);
    for (int c = 0; c < NCOUNTRIES; c++)
        cw[c] = COUNTRIES[c].weight;
    ls->n = n;
    ls->leads = xmalloc(n * sizeof *ls->leads);
    ls->fields = xmalloc(n * NCOLS * sizeof *ls->fields);
    ls->ids = xmalloc(n * 12);
    ls->postal = xmalloc(n * 12);
    ls->items = xmalloc(n * 3 * sizeof *ls->items);
    for (size_t i = 0; i < n; i++) {
        leadroute_field *f = &ls->fields[i * NCOLS];
        for (int k = 0; k < NCOLS; k++) {
            f[k].name = names[k];
            f[k].value = (leadroute_value)LEADROUTE_VALUE_INIT;
        }
        int unknown = rng_chance(&r, 0.02);
        const country *co = &COUNTRIES[rng_weighted(&r, cw, NCOUNTRIES)];
        if (!rng_chance(&r, 0.02))
            set_string(&f[0].value, REGIONS[unknown || rng_chance(&r, 0.03) ? (int)rng_below(&r, NREGIONS)
                                                                              : co->region]);
        if (unknown)
            set_string(&f[1].value, UNKNOWN_COUNTRIES[rng_below(&r, 6)]);
        else if (!rng_chance(&r, 0.01))
            set_string(&f[1].value, co->code);
        char *pc = &ls->postal[i * 12];
        switch (unknown ? P_DIGITS5 : co->postal) {
        case P_DIGITS4: snprintf(pc, 12, "%04u", 1000 + rng_below(&r, 9000)); break;
        case P_CA:
            snprintf(pc, 12, "%c%u%c %u%c%u", CA_LETTERS[rng_below(&r, 18)], rng_below(&r, 10),
                     'A' + rng_below(&r, 26), rng_below(&r, 10), 'A' + rng_below(&r, 26), rng_below(&r, 10));
            break;
        case P_GB:
            snprintf(pc, 12, "%s%u %u%c%c", GB_AREAS[rng_below(&r, 20)], 1 + rng_below(&r, 20), rng_below(&r, 10),
                     'A' + rng_below(&r, 26), 'A' + rng_below(&r, 26));
            break;
        default: snprintf(pc, 12, "%05u", rng_below(&r, 100000)); break;
        }
        if (!rng_chance(&r, 0.05))
            set_string(&f[2].value, pc);
        if (!rng_chance(&r, 0.03))
            set_string(&f[3].value, INDUSTRIES[rng_weighted(&r, INDUSTRY_W, NINDUSTRIES)]);
        if (!rng_chance(&r, 0.03)) {
            uint32_t b = rng_weighted(&r, band_w, 6);
            set_number(&f[4].value, (double)(uint32_t)(band_lo[b] + rng_unit(&r) * (band_hi[b] - band_lo[b])));
        }
        if (!rng_chance(&r, 0.05)) {
            double u = rng_unit(&r);
            set_number(&f[5].value, (double)(uint32_t)(100.0 * u * (0.5 + 0.5 * u)));
        }
        if (!rng_chance(&r, 0.05)) {
            double u = rng_unit(&r);
            set_string(&f[6].value, LANGS[u < 0.85 ? co->lang : u < 0.95 ? 0 : (int)rng_below(&r, NLANGS)]);
        }
        uint32_t np = rng_below(&r, 4);
        const char **it = &ls->items[i * 3];
        for (uint32_t k = 0; k < np; k++) {
            it[k] = PRODUCTS[rng_weighted(&r, PRODUCT_W, NPRODUCTS)];
            for (uint32_t j = 0; j < k; j++)
                if (it[j] == it[k]) {
                    k--;  /* draw again: no duplicates */
                    break;
                }
        }
        f[7].value.type = LEADROUTE_VALUE_SET;
        f[7].value.items = it;
        f[7].value.item_count = np;
        snprintf(&ls->ids[i * 12], 12, "L%08zu", i + 1);
        leadroute_lead *l = &ls->leads[i];
        *l = (leadroute_lead)LEADROUTE_LEAD_INIT;
        l->id = &ls->ids[i * 12];
        l->fields = f;
        l->field_count = NCOLS;
    }
}

/* ------------------------------------------------------------------------ */
/* Runs. */

typedef struct tally {
    uint64_t status[6];  /* by leadroute_route_status; [0] unused */
    uint64_t errors;     /* leadroute_route() != LEADROUTE_OK */
    double start, end;
} tally;

typedef struct job {
    leadroute_router *router;
    const lead_store *ls;
    size_t lo, hi;
    uint32_t flags;
    pthread_barrier_t *barrier;
    tally t;
} job;

static void *route_range(void *arg)
{
    job *j = arg;
    leadroute_decision *d = NULL;
    if (leadroute_decision_new(&d, NULL) != LEADROUTE_OK)
        die("decision_new: %s", leadroute_error_last()->message);
    memset(&j->t, 0, sizeof j->t);
    if (j->barrier)
        pthread_barrier_wait(j->barrier);
    j->t.start = now_s();
    for (size_t i = j->lo; i < j->hi; i++) {
        int rc = leadroute_route(j->router, &j->ls->leads[i], j->flags, d);
        j->t.errors += rc != LEADROUTE_OK;
        j->t.status[leadroute_decision_status(d) % 6]++;
    }
    j->t.end = now_s();
    leadroute_decision_free(d);
    return NULL;
}

/* Calibration: table evaluation alone shares nothing between threads, so its
 * 2-thread speed-up is what this machine gives at best. */
typedef struct eval_job {
    const leadroute_table *table;
    const lead_store *ls;
    size_t lo, hi;
    pthread_barrier_t *barrier;
    uint64_t hits;
    double start, end;
} eval_job;

static void *eval_range(void *arg)
{
    eval_job *j = arg;
    leadroute_result *res = NULL;
    if (leadroute_result_new(&res, j->table, NULL) != LEADROUTE_OK)
        die("result_new: %s", leadroute_error_last()->message);
    if (j->barrier)
        pthread_barrier_wait(j->barrier);
    j->start = now_s();
    for (int round = 0; round < 2; round++)
        for (size_t i = j->lo; i < j->hi; i++)
            if (leadroute_table_eval(j->table, &j->ls->leads[i], res) == LEADROUTE_OK)
                j->hits += leadroute_result_count(res);
    j->end = now_s();
    leadroute_result_free(res);
    return NULL;
}

/* Evaluations per second with `threads` threads over all leads, twice. */
static double eval_rate(const leadroute_table *table, const lead_store *ls, int threads)
{
    eval_job jobs[2];
    pthread_t tid[2];
    pthread_barrier_t barrier;
    memset(jobs, 0, sizeof jobs);
    if (threads > 1)
        pthread_barrier_init(&barrier, NULL, (unsigned)threads);
    for (int k = 0; k < threads; k++) {
        jobs[k].table = table;
        jobs[k].ls = ls;
        jobs[k].lo = ls->n * (size_t)k / (size_t)threads;
        jobs[k].hi = ls->n * (size_t)(k + 1) / (size_t)threads;
        jobs[k].barrier = threads > 1 ? &barrier : NULL;
    }
    if (threads == 1) {
        eval_range(&jobs[0]);
    } else {
        for (int k = 0; k < threads; k++)
            if (pthread_create(&tid[k], NULL, eval_range, &jobs[k]) != 0)
                die("pthread_create failed");
        for (int k = 0; k < threads; k++)
            pthread_join(tid[k], NULL);
        pthread_barrier_destroy(&barrier);
    }
    double start = jobs[0].start, end = jobs[0].end;
    for (int k = 1; k < threads; k++) {
        start = jobs[k].start < start ? jobs[k].start : start;
        end = jobs[k].end > end ? jobs[k].end : end;
    }
    return 2.0 * (double)ls->n / (end - start);
}

typedef struct result {
    double seconds, leads_per_s;
    tally t;
    int ok;
} result;

/* One measurement on a fresh router; checks the tallies against the
 * router's own counters. */
static result measure(leadroute_table *table, leadroute_roster *roster, const lead_store *ls, int threads,
                      uint32_t flags, int verbose)
{
    leadroute_router *router = NULL;
    job jobs[2];
    pthread_t tid[2];
    pthread_barrier_t barrier;
    result res;
    memset(&res, 0, sizeof res);
    if (leadroute_router_new(&router, table, roster, NULL) != LEADROUTE_OK)
        die("router_new: %s", leadroute_error_last()->message);
    if (threads > 1)
        pthread_barrier_init(&barrier, NULL, (unsigned)threads);
    for (int k = 0; k < threads; k++) {
        jobs[k].router = router;
        jobs[k].ls = ls;
        jobs[k].lo = ls->n * (size_t)k / (size_t)threads;
        jobs[k].hi = ls->n * (size_t)(k + 1) / (size_t)threads;
        jobs[k].flags = flags;
        jobs[k].barrier = threads > 1 ? &barrier : NULL;
    }
    if (threads == 1) {
        route_range(&jobs[0]);
    } else {
        for (int k = 0; k < threads; k++)
            if (pthread_create(&tid[k], NULL, route_range, &jobs[k]) != 0)
                die("pthread_create failed");
        for (int k = 0; k < threads; k++)
            pthread_join(tid[k], NULL);
        pthread_barrier_destroy(&barrier);
    }
    double start = jobs[0].t.start, end = jobs[0].t.end;
    for (int k = 0; k < threads; k++) {
        if (jobs[k].t.start < start)
            start = jobs[k].t.start;
        if (jobs[k].t.end > end)
            end = jobs[k].t.end;
        for (int s = 0; s < 6; s++)
            res.t.status[s] += jobs[k].t.status[s];
        res.t.errors += jobs[k].t.errors;
    }
    res.seconds = end - start;
    res.leads_per_s = (double)ls->n / res.seconds;

    /* Sanity: every lead is new, so none is existing or unrouted, and the
     * router's counters agree with what the decisions said. */
    const uint64_t *st = res.t.status;
    uint64_t assigned = st[LEADROUTE_ROUTE_ASSIGNED], queued = st[LEADROUTE_ROUTE_QUEUED];
    uint64_t unassigned = st[LEADROUTE_ROUTE_UNASSIGNED], routed = (uint64_t)ls->n;
    uint64_t by_rep = 0, unrouted_metric = 0;
    for (size_t i = 0; i < leadroute_roster_rep_count(roster); i++)
        by_rep += leadroute_router_rep_assigned(router, leadroute_roster_rep_id(roster, i));
    for (uint32_t k = 0; k < LEADROUTE_UNROUTED_REASONS; k++)
        if (k != LEADROUTE_UNROUTED_ERROR)
            unrouted_metric += leadroute_router_unrouted(router, k);
    res.ok = res.t.errors == 0 && st[LEADROUTE_ROUTE_UNROUTED] == 0 && st[LEADROUTE_ROUTE_EXISTING] == 0 &&
             assigned == routed - queued - unassigned && by_rep == assigned && unrouted_metric == unassigned &&
             leadroute_router_unrouted(router, LEADROUTE_UNROUTED_ERROR) == 0;
    if (verbose) {
        printf("  assigned %" PRIu64 ", queued %" PRIu64 ", unassigned %" PRIu64 ", existing %" PRIu64
               ", unrouted %" PRIu64 ", errors %" PRIu64 "\n",
               assigned, queued, unassigned, st[LEADROUTE_ROUTE_EXISTING], st[LEADROUTE_ROUTE_UNROUTED],
               res.t.errors);
        printf("  check: assigned (%" PRIu64 ") == routed - queued - unassigned (%" PRIu64 "): %s; "
               "sum of per-rep counters %" PRIu64 ": %s; no errors: %s\n",
               assigned, routed - queued - unassigned, assigned == routed - queued - unassigned ? "yes" : "NO",
               by_rep, by_rep == assigned ? "agrees" : "DISAGREES",
               res.t.errors == 0 && st[LEADROUTE_ROUTE_UNROUTED] == 0 ? "yes" : "NO");
        for (int p = 0; p < NPOOLS; p++) {
            double spread = 0, jain = 0;
            uint64_t n = 0;
            for (int k = 0; k < REPS_PER_POOL; k++)
                n += leadroute_router_rep_assigned(router, g_rep_ids.ids[p * REPS_PER_POOL + k]);
            if (leadroute_router_pool_fairness(router, POOL_IDS[p], &spread, &jain) != LEADROUTE_OK)
                die("pool_fairness(%s): %s", POOL_IDS[p], leadroute_error_last()->message);
            printf("  pool %-12s %8" PRIu64 " leads to its reps, spread %.0f, Jain %.4f\n", POOL_IDS[p], n, spread,
                   jain);
        }
    }
    leadroute_router_free(router);
    return res;
}

static result best_of(leadroute_table *table, leadroute_roster *roster, const lead_store *ls, int threads,
                      uint32_t flags, int runs, const char *label)
{
    result best;
    int ok = 1;
    memset(&best, 0, sizeof best);
    printf("\n%s (best of %d):\n", label, runs);
    for (int k = 0; k < runs; k++) {
        result r = measure(table, roster, ls, threads, flags, k == 0);
        ok &= r.ok;
        printf("  run %d: %.3f s, %.0f leads/s, %.0f ns/lead%s\n", k + 1, r.seconds, r.leads_per_s,
               1e9 * r.seconds * threads / (double)ls->n, r.ok ? "" : "  SANITY CHECK FAILED");
        if (r.leads_per_s > best.leads_per_s)
            best = r;
    }
    best.ok = ok;
    fflush(stdout);
    return best;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_router [--leads M] [--runs R] [--seed X] [--only off|trace|threads|swap]\n"
                    "  --leads M   distinct leads routed per measurement (default 1000000)\n"
                    "  --runs R    measurements per configuration, best kept (default 3)\n"
                    "  --seed X    generator seed (default 1)\n"
                    "  --only C    one configuration (for profiling)\n");
    exit(2);
}

int main(int argc, char **argv)
{
    size_t nleads = 1000000, nrules = 1000;
    int runs = 3;
    uint64_t seed = 1;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        const char *a = argv[i], *v = argv[++i];
        if (strcmp(a, "--only") == 0) {
            if (strcmp(v, "off") && strcmp(v, "trace") && strcmp(v, "threads") && strcmp(v, "swap"))
                usage();
            only = v;
            continue;
        }
        char *end = NULL;
        unsigned long long x = strtoull(v, &end, 0);
        if (!*v || *end)
            usage();
        if (strcmp(a, "--leads") == 0 && x >= 2 && x <= 100000000)
            nleads = (size_t)x;
        else if (strcmp(a, "--runs") == 0 && x >= 1 && x <= 100)
            runs = (int)x;
        else if (strcmp(a, "--seed") == 0)
            seed = x;
        else
            usage();
    }

    size_t len = 0;
    char *text = make_table(seed, nrules, &len);
    leadroute_table_options opt = LEADROUTE_TABLE_OPTIONS_INIT;
    opt.flags = LEADROUTE_TABLE_NO_LINT;
    leadroute_table *table = NULL;
    if (leadroute_table_parse(&table, text, len, "bench-router.csv", &opt) != LEADROUTE_OK)
        die("table: %s", leadroute_error_last()->message);
    free(text);
    if (leadroute_table_rule_count(table) != nrules)
        die("table has %zu rules, expected %zu", leadroute_table_rule_count(table), nrules);
    if (only && strcmp(only, "swap") == 0) {
        printf("libleadroute %s router benchmark: roster swaps, table of %zu rules\n", leadroute_version_string(),
               nrules);
        measure_swaps(table, 10000, runs);
        measure_swaps(table, 50000, runs);
        leadroute_table_unref(table);
        return 0;
    }
    /* inside-sales caps (8,000..15,200 per 1M leads) fill before the end, so
     * the least-loaded pool meets its capacity and the overflow queue is used */
    uint32_t cap = (uint32_t)(nleads / 125 ? nleads / 125 : 1);
    leadroute_roster *roster = make_roster(cap);
    lead_store ls;
    double t0 = now_s();
    make_leads(&ls, nleads, seed, table);

    printf("libleadroute %s router benchmark (seed %" PRIu64 ", %zu distinct leads per measurement)\n",
           leadroute_version_string(), seed, nleads);
    printf("table: %zu rules (territory shape of bench_table; outputs pool, sla_minutes), hit policy first\n",
           nrules);
    printf("roster: %zu reps in %zu pools: americas (round robin), enterprise (weighted), inside-sales (least\n"
           "  loaded, capacity %u..%u, queue when full), emea (round robin) and apac (weighted) with a language\n"
           "  filter and score tiers, both falling back to inside-sales; built-in store, no callbacks\n",
           leadroute_roster_rep_count(roster), leadroute_roster_pool_count(roster), cap, cap + 9 * (cap / 10));
    printf("generated leads in %.2f s\n", now_s() - t0);

    result none = {0, 0, {{0}, 0, 0, 0}, 1};
    result off = none, trace = none, two = none;
    if (!only || strcmp(only, "off") == 0)
        off = best_of(table, roster, &ls, 1, 0, runs, "1 thread, trace off");
    if (!only || strcmp(only, "trace") == 0)
        trace = best_of(table, roster, &ls, 1, LEADROUTE_ROUTE_TRACE, runs, "1 thread, LEADROUTE_ROUTE_TRACE");
    if (!only || strcmp(only, "threads") == 0)
        two = best_of(table, roster, &ls, 2, 0, runs, "2 threads (disjoint halves), trace off");
    int ok = off.ok && trace.ok && two.ok;
    double eval1 = 0, eval2 = 0;
    if (!only || strcmp(only, "threads") == 0) {
        for (int k = 0; k < runs; k++) {
            double a = eval_rate(table, &ls, 1), b = eval_rate(table, &ls, 2);
            eval1 = a > eval1 ? a : eval1;
            eval2 = b > eval2 ? b : eval2;
        }
        printf("\ncalibration, table evaluation alone (nothing shared; best of %d): 1 thread %.0f/s, "
               "2 threads %.0f/s: %.2fx\n", runs, eval1, eval2, eval2 / eval1);
    }
    if (!only) {
        double ratio = two.leads_per_s / off.leads_per_s;
        printf("\n| configuration | leads/s | ns/lead | target | met |\n");
        printf("| --- | ---: | ---: | ---: | :---: |\n");
        printf("| 1 thread, trace off | %.0f | %.0f | >= 1,000,000/s | %s |\n", off.leads_per_s,
               1e9 / off.leads_per_s, off.leads_per_s >= 1e6 ? "yes" : "no");
        printf("| 1 thread, trace on | %.0f | %.0f | >= 300,000/s | %s |\n", trace.leads_per_s,
               1e9 / trace.leads_per_s, trace.leads_per_s >= 3e5 ? "yes" : "no");
        printf("| 2 threads, trace off | %.0f | %.0f per thread | >= 1.6x one thread | %s (%.2fx) |\n",
               two.leads_per_s, 2e9 / two.leads_per_s, ratio >= 1.6 ? "yes" : "no", ratio);
        printf("| calibration: table evaluation alone, 2 threads | %.0f | | this machine's ceiling | %.2fx |\n",
               eval2, eval2 / eval1);
    }
    if (!only) {
        printf("\nroster swaps (leadroute_router_set_roster, five pools, the same ids each swap):\n");
        measure_swaps(table, 10000, runs);
        measure_swaps(table, 50000, runs);
    }
    printf("\nsanity checks: %s\n", ok ? "passed" : "FAILED");

    leadroute_roster_unref(roster);
    leadroute_table_unref(table);
    free(ls.leads);
    free(ls.fields);
    free(ls.ids);
    free(ls.postal);
    free(ls.items);
    return ok ? 0 : 1;
}
