/*
 * bench_table: compile time, memory and evaluation speed of decision tables
 * shaped like a sales-ops territory table, against the reference evaluator.
 *
 * Table shape (seeded, deterministic for a given --seed and N):
 *   inputs:  region (6 values), country:ci (30 codes, each in one region),
 *            postal (prefix cells such as 94* or "10*, 11*" for the countries
 *            that route by postal code: US CA GB DE FR AU; else -),
 *            industry (20 values, lists of 1-3 or -),
 *            employees:number (bands on 10/50/200/1000/5000, e.g. [50..200), >=1000, or -),
 *            score:number (thresholds such as >=80, or -),
 *            language (10 values or -), products:set (12 values, lists of 1-2 or -)
 *   outputs: pool, sla_minutes:number
 *   rules:   a few generic VIP rules at the top (score/size/products, other
 *            cells -); then one block per region, holding one block per
 *            country (rule count proportional to the country's share of
 *            leads), specific rules first (sorted by number of non-'-'
 *            cells, most specific first), the country's catch-all last;
 *            each region ends with a region catch-all; one global catch-all
 *            closes the table. Hit policy `first`; the COLLECT run uses the
 *            same rules with `#! hit_policy: collect`.
 * Leads: generated once (default 1,000,000) and shared by every N: countries
 * skewed (US ~28 %, GB ~9 %, DE ~8 %, ...), 2 % unknown countries, region
 * consistent with the country 95 % of the time, realistic postal codes,
 * skewed industries and company sizes, some lower-case country codes, a few
 * missing fields and values outside the domains. Fields are in table column
 * order and use the table's own name pointers.
 *
 * Usage: bench_table [--rules N]... [--leads M] [--seconds S] [--seed X] [--first-only] [--evals N]
 *                    [--order sequential|replay|shuffle|same]
 *
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "leadroute/leadroute.h"
#include "table/internal.h"
#include "table/reference.h"

/* The optimizer must not drop the measured work. */
static volatile uint64_t g_sink;

/* --evals N: exactly N evaluations and no warm-up, so that instruction
 * counts under valgrind's callgrind are per evaluation. */
static uint64_t g_evals;

#define BENCH_NAME "bench_table"
#include "bench_util.h"

/* A CSV field holding a list needs quotes. */
static void sb_field(sbuf *b, const char *cell)
{
    if (strchr(cell, ',') || strchr(cell, '"')) {
        sb_add(b, "\"");
        for (const char *p = cell; *p; p++) {
            char ch[3] = {*p, 0, 0};
            if (*p == '"')
                ch[1] = '"';
            sb_add(b, ch);
        }
        sb_add(b, "\"");
    } else {
        sb_add(b, cell);
    }
}

/* ------------------------------------------------------------------------ */
/* Domains. */

enum { NREGIONS = 6, NCOUNTRIES = 30, NINDUSTRIES = 20, NLANGS = 10, NPRODUCTS = 12, NCOLS = 8 };

static const char *const REGIONS[NREGIONS] = {"NA", "LATAM", "EMEA-WEST", "EMEA-CENTRAL", "NORDICS", "APAC"};
static const char *const REGION_TAGS[NREGIONS] = {"na", "latam", "emea-w", "emea-c", "nordics", "apac"};

enum postal_style { P_NONE, P_DIGITS5, P_DIGITS4, P_CA, P_GB };

typedef struct country {
    const char *code;
    const char *lower;
    int region;
    double weight;     /* share of leads */
    int postal;        /* enum postal_style */
    int lang;          /* index into LANGS */
} country;

static const char *const LANGS[NLANGS] = {"en", "de", "fr", "es", "pt", "it", "ja", "nl", "sv", "pl"};

static const country COUNTRIES[NCOUNTRIES] = {
    {"US", "us", 0, 28.0, P_DIGITS5, 0}, {"CA", "ca", 0, 5.0, P_CA, 0},
    {"MX", "mx", 1, 2.0, P_NONE, 3},     {"BR", "br", 1, 3.0, P_NONE, 4},
    {"AR", "ar", 1, 1.0, P_NONE, 3},     {"CL", "cl", 1, 0.6, P_NONE, 3},
    {"CO", "co", 1, 0.6, P_NONE, 3},     {"PE", "pe", 1, 0.3, P_NONE, 3},
    {"GB", "gb", 2, 9.0, P_GB, 0},       {"IE", "ie", 2, 1.0, P_NONE, 0},
    {"FR", "fr", 2, 5.0, P_DIGITS5, 2},  {"ES", "es", 2, 2.5, P_NONE, 3},
    {"PT", "pt", 2, 0.7, P_NONE, 4},     {"BE", "be", 2, 1.0, P_NONE, 2},
    {"NL", "nl", 2, 3.0, P_NONE, 7},     {"DE", "de", 3, 8.0, P_DIGITS5, 1},
    {"AT", "at", 3, 1.2, P_NONE, 1},     {"CH", "ch", 3, 1.5, P_NONE, 1},
    {"PL", "pl", 3, 1.2, P_NONE, 9},     {"CZ", "cz", 3, 0.5, P_NONE, 0},
    {"IT", "it", 3, 2.5, P_NONE, 5},     {"SE", "se", 4, 1.5, P_NONE, 8},
    {"NO", "no", 4, 0.8, P_NONE, 0},     {"DK", "dk", 4, 0.8, P_NONE, 0},
    {"FI", "fi", 4, 0.6, P_NONE, 0},     {"JP", "jp", 5, 4.0, P_NONE, 6},
    {"AU", "au", 5, 4.0, P_DIGITS4, 0},  {"IN", "in", 5, 4.0, P_NONE, 0},
    {"SG", "sg", 5, 1.5, P_NONE, 0},     {"KR", "kr", 5, 0.9, P_NONE, 0},
};

static const char *const UNKNOWN_COUNTRIES[] = {"ZA", "NG", "EG", "AE", "TR", "XX"};

static const char *const INDUSTRIES[NINDUSTRIES] = {
    "software", "fintech", "banking", "insurance", "healthcare", "pharma", "retail",
    "ecommerce", "manufacturing", "automotive", "energy", "telecom", "media", "education",
    "government", "logistics", "hospitality", "realestate", "agriculture", "nonprofit",
};
static const double INDUSTRY_W[NINDUSTRIES] = {
    18, 8, 6, 5, 7, 3, 6, 6, 8, 3, 3, 3, 3, 4, 2, 4, 2, 2, 1, 2,
};

static const char *const PRODUCTS[NPRODUCTS] = {
    "crm", "cpq", "analytics", "marketing", "service", "commerce",
    "field", "billing", "ai", "data", "security", "platform",
};
static const double PRODUCT_W[NPRODUCTS] = {20, 6, 10, 12, 10, 5, 3, 4, 8, 6, 5, 4};

/* Band cells on fixed boundaries, and lead sizes drawn per band. */
static const char *const EMPLOYEE_CELLS[] = {
    "<10", "<50", "[10..50)", "[50..200)", "[200..1000)", ">=200", ">=1000", "[1000..5000)", ">=5000", "<200",
};
static const char *const SCORE_CELLS[] = {">=80", ">=90", ">=50", "<50", "[50..80)", ">=70", "<30"};
static const int SLAS[] = {5, 15, 30, 60, 120, 240, 480, 1440};

static const char *const GB_AREAS[] = {
    "SW", "SE", "EC", "WC", "W", "N", "NW", "E", "M", "B", "L", "G", "EH", "LS", "BS", "CF", "OX", "CB", "RG", "BT",
};
static const char CA_LETTERS[] = "ABCEGHJKLMNPRSTVXY";

/* ------------------------------------------------------------------------ */
/* Table generation. */

/* One postal prefix cell item, e.g. 94* or 941* or SW* or M5*. */
static void postal_prefix(rng *r, int style, char *out, size_t cap)
{
    switch (style) {
    case P_DIGITS5:
        if (rng_chance(r, 0.6))
            snprintf(out, cap, "%02u*", rng_below(r, 100));
        else
            snprintf(out, cap, "%03u*", rng_below(r, 1000));
        break;
    case P_DIGITS4:
        if (rng_chance(r, 0.6))
            snprintf(out, cap, "%u*", 1 + rng_below(r, 9));
        else
            snprintf(out, cap, "%02u*", 10 + rng_below(r, 90));
        break;
    case P_CA:
        if (rng_chance(r, 0.5))
            snprintf(out, cap, "%c*", CA_LETTERS[rng_below(r, 18)]);
        else
            snprintf(out, cap, "%c%u*", CA_LETTERS[rng_below(r, 18)], rng_below(r, 10));
        break;
    case P_GB:
        snprintf(out, cap, "%s*", GB_AREAS[rng_below(r, 20)]);
        break;
    default:
        snprintf(out, cap, "-");
        break;
    }
}

typedef struct gen_rule {
    char *cells[NCOLS];
    int specificity;
    int order;  /* generation order, for a stable sort */
} gen_rule;

static int by_specificity(const void *a, const void *b)
{
    const gen_rule *x = a, *y = b;
    if (x->specificity != y->specificity)
        return y->specificity - x->specificity;
    return x->order - y->order;
}

static char *list_cell(rng *r, const char *const *dom, const double *w, uint32_t n, uint32_t max_items)
{
    uint32_t k = 1 + rng_below(r, max_items);
    uint32_t picked[4];
    uint32_t np = 0;
    while (np < k) {
        uint32_t v = rng_weighted(r, w, n);
        int dup = 0;
        for (uint32_t i = 0; i < np; i++)
            dup |= picked[i] == v;
        if (!dup)
            picked[np++] = v;
    }
    sbuf b = {0};
    for (uint32_t i = 0; i < np; i++)
        sb_printf(&b, "%s%s", i ? ", " : "", dom[picked[i]]);
    return b.p;
}

/* A specific rule for country `c`. */
static void make_country_rule(rng *r, int c, gen_rule *g)
{
    const country *co = &COUNTRIES[c];
    sbuf b = {0};
    g->specificity = 0;
    g->cells[0] = strdup(rng_chance(r, 0.9) ? REGIONS[co->region] : "-");
    /* Sometimes a rule covers neighbours too: "DE, AT, CH". */
    if (rng_chance(r, 0.1)) {
        sb_add(&b, co->code);
        for (int i = 0, added = 0; i < NCOUNTRIES && added < 2; i++) {
            if (i != c && COUNTRIES[i].region == co->region && rng_chance(r, 0.5)) {
                sb_printf(&b, ", %s", COUNTRIES[i].code);
                added++;
            }
        }
        g->cells[1] = b.p;
        b.p = NULL;
        b.len = b.cap = 0;
    } else {
        g->cells[1] = strdup(co->code);
    }
    if (co->postal != P_NONE && rng_chance(r, 0.6)) {
        uint32_t k = 1 + rng_below(r, 3);
        for (uint32_t i = 0; i < k; i++) {
            char p[16];
            postal_prefix(r, co->postal, p, sizeof(p));
            sb_printf(&b, "%s%s", i ? ", " : "", p);
        }
        g->cells[2] = b.p;
        b.p = NULL;
        b.len = b.cap = 0;
        g->specificity++;
    } else {
        g->cells[2] = strdup("-");
    }
    if (rng_chance(r, 0.55)) {
        g->cells[3] = list_cell(r, INDUSTRIES, INDUSTRY_W, NINDUSTRIES, 3);
        g->specificity++;
    } else {
        g->cells[3] = strdup("-");
    }
    if (rng_chance(r, 0.6)) {
        g->cells[4] = strdup(EMPLOYEE_CELLS[rng_below(r, 10)]);
        g->specificity++;
    } else {
        g->cells[4] = strdup("-");
    }
    if (rng_chance(r, 0.25)) {
        g->cells[5] = strdup(SCORE_CELLS[rng_below(r, 7)]);
        g->specificity++;
    } else {
        g->cells[5] = strdup("-");
    }
    if (rng_chance(r, 0.2)) {
        if (rng_chance(r, 0.7))
            g->cells[6] = strdup(LANGS[co->lang]);
        else {
            sb_printf(&b, "%s, %s", LANGS[co->lang], LANGS[rng_below(r, NLANGS)]);
            g->cells[6] = b.p;
            b.p = NULL;
            b.len = b.cap = 0;
        }
        g->specificity++;
    } else {
        g->cells[6] = strdup("-");
    }
    if (rng_chance(r, 0.25)) {
        g->cells[7] = list_cell(r, PRODUCTS, PRODUCT_W, NPRODUCTS, 2);
        g->specificity++;
    } else {
        g->cells[7] = strdup("-");
    }
    /* A rule with nothing but the country would duplicate the catch-all. */
    if (g->specificity == 0) {
        free(g->cells[3]);
        g->cells[3] = list_cell(r, INDUSTRIES, INDUSTRY_W, NINDUSTRIES, 3);
        g->specificity++;
    }
}

static void add_row(sbuf *t, const char *id, char *const *cells, const char *pool, int sla)
{
    sb_add(t, id);
    for (int i = 0; i < NCOLS; i++) {
        sb_add(t, ",");
        sb_field(t, cells[i]);
    }
    sb_printf(t, ",%s,%d\n", pool, sla);
}

/* The whole table text with `n` rules (n >= 64). */
static char *make_table(uint64_t seed, size_t n, const char *policy, size_t *len_out)
{
    rng r = {seed * 0x9E3779B97F4A7C15ull + n};
    sbuf t = {0};
    sb_printf(&t, "#! name: territory benchmark %zu\n#! hit_policy: %s\n", n, policy);
    sb_add(&t, "rule,region,country:ci,postal,industry,employees:number,score:number,language,"
               "products:set,out:pool,out:sla_minutes:number\n");

    /* Generic rules at the top. */
    static const char *const vip[][NCOLS + 2] = {
        {"-", "-", "-", "-", ">=5000", ">=90", "-", "-", "global-aces", "5"},
        {"-", "-", "-", "-", "-", ">=95", "-", "-", "inbound-aces", "5"},
        {"-", "-", "-", "-", ">=1000", ">=85", "-", "ai, data", "ai-strategic", "15"},
        {"-", "-", "-", "banking, insurance", ">=5000", ">=80", "-", "-", "fsi-strategic", "15"},
        {"-", "-", "-", "government", "-", ">=70", "-", "-", "public-sector", "30"},
    };
    size_t ngeneric = n >= 1000 ? 5 : 3;
    char idbuf[64];
    for (size_t i = 0; i < ngeneric; i++) {
        snprintf(idbuf, sizeof(idbuf), "vip-%zu", i + 1);
        add_row(&t, idbuf, (char *const *)vip[i], vip[i][8], atoi(vip[i][9]));
    }

    /* Specific rules shared out by lead share: largest remainder. */
    size_t fixed = ngeneric + NCOUNTRIES + NREGIONS + 1;
    size_t specific = n > fixed ? n - fixed : 0;
    double wsum = 0;
    for (int c = 0; c < NCOUNTRIES; c++)
        wsum += COUNTRIES[c].weight;
    size_t share[NCOUNTRIES], given = 0;
    double rem[NCOUNTRIES];
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

    gen_rule *block = NULL;
    size_t block_cap = 0;
    for (int reg = 0; reg < NREGIONS; reg++) {
        for (int c = 0; c < NCOUNTRIES; c++) {
            if (COUNTRIES[c].region != reg)
                continue;
            if (share[c] > block_cap) {
                block_cap = share[c];
                block = realloc(block, block_cap * sizeof(*block));
                if (!block)
                    die("out of memory");
            }
            for (size_t i = 0; i < share[c]; i++) {
                make_country_rule(&r, c, &block[i]);
                block[i].order = (int)i;
            }
            /* People write specific rules before general ones. */
            qsort(block, share[c], sizeof(*block), by_specificity);
            for (size_t i = 0; i < share[c]; i++) {
                char pool[64];
                snprintf(pool, sizeof(pool), "%s-%s-%u", REGION_TAGS[reg], COUNTRIES[c].lower, rng_below(&r, 12));
                snprintf(idbuf, sizeof(idbuf), "%s-%zu", COUNTRIES[c].lower, i + 1);
                add_row(&t, idbuf, block[i].cells, pool, SLAS[rng_below(&r, 8)]);
                for (int k = 0; k < NCOLS; k++)
                    free(block[i].cells[k]);
            }
            /* Country catch-all. */
            char *cells[NCOLS] = {(char *)REGIONS[reg], (char *)COUNTRIES[c].code, "-", "-", "-", "-", "-", "-"};
            char pool[64];
            snprintf(pool, sizeof(pool), "%s-%s-general", REGION_TAGS[reg], COUNTRIES[c].lower);
            snprintf(idbuf, sizeof(idbuf), "%s-all", COUNTRIES[c].lower);
            add_row(&t, idbuf, cells, pool, 240);
        }
        char *cells[NCOLS] = {(char *)REGIONS[reg], "-", "-", "-", "-", "-", "-", "-"};
        char pool[64];
        snprintf(pool, sizeof(pool), "%s-general", REGION_TAGS[reg]);
        snprintf(idbuf, sizeof(idbuf), "%s-all", REGION_TAGS[reg]);
        add_row(&t, idbuf, cells, pool, 480);
    }
    free(block);
    char *cells[NCOLS] = {"-", "-", "-", "-", "-", "-", "-", "-"};
    add_row(&t, "catch-all", cells, "nurture", 1440);
    *len_out = t.len;
    return t.p;
}

/* ------------------------------------------------------------------------ */
/* Leads: all NCOLS fields, in table column order; a missing value is null. */

typedef struct lead_store {
    size_t n;
    leadroute_lead *leads;
    leadroute_field *fields;   /* n * NCOLS */
    char *postal;              /* n * 12 */
    const char **items;        /* n * 3 */
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

static void make_leads(lead_store *ls, size_t n, uint64_t seed)
{
    rng r = {seed ^ 0x5EEDull};
    ls->n = n;
    ls->leads = xmalloc(n * sizeof(*ls->leads));
    ls->fields = xmalloc(n * NCOLS * sizeof(*ls->fields));
    ls->postal = xmalloc(n * 12);
    ls->items = xmalloc(n * 3 * sizeof(*ls->items));
    double cw[NCOUNTRIES];
    for (int c = 0; c < NCOUNTRIES; c++)
        cw[c] = COUNTRIES[c].weight;
    /* Company size bands (lo, hi) and their shares. */
    static const double band_lo[] = {1, 10, 50, 200, 1000, 5000};
    static const double band_hi[] = {10, 50, 200, 1000, 5000, 100000};
    static const double band_w[] = {20, 25, 25, 15, 10, 5};
    static const double exact_sizes[] = {10, 50, 200, 1000, 5000};

    for (size_t i = 0; i < n; i++) {
        leadroute_field *f = &ls->fields[i * NCOLS];
        for (int k = 0; k < NCOLS; k++) {
            f[k].name = NULL;  /* set per table */
            f[k].value = (leadroute_value)LEADROUTE_VALUE_INIT;
        }
        int unknown = rng_chance(&r, 0.02);
        int c = (int)rng_weighted(&r, cw, NCOUNTRIES);
        const country *co = &COUNTRIES[c];

        /* region */
        if (!rng_chance(&r, 0.02)) {
            int reg = co->region;
            if (unknown || rng_chance(&r, 0.03))
                reg = (int)rng_below(&r, NREGIONS);
            set_string(&f[0].value, REGIONS[reg]);
        }
        /* country:ci */
        if (unknown)
            set_string(&f[1].value, UNKNOWN_COUNTRIES[rng_below(&r, 6)]);
        else if (!rng_chance(&r, 0.01))
            set_string(&f[1].value, rng_chance(&r, 0.1) ? co->lower : co->code);
        /* postal */
        char *pc = &ls->postal[i * 12];
        pc[0] = '\0';
        if (!rng_chance(&r, 0.05)) {
            int style = unknown ? P_DIGITS5 : co->postal;
            switch (style) {
            case P_DIGITS4:
                snprintf(pc, 12, "%04u", 1000 + rng_below(&r, 9000));
                break;
            case P_CA:
                snprintf(pc, 12, "%c%u%c %u%c%u", CA_LETTERS[rng_below(&r, 18)], rng_below(&r, 10),
                         'A' + rng_below(&r, 26), rng_below(&r, 10), 'A' + rng_below(&r, 26), rng_below(&r, 10));
                break;
            case P_GB:
                snprintf(pc, 12, "%s%u %u%c%c", GB_AREAS[rng_below(&r, 20)], 1 + rng_below(&r, 20),
                         rng_below(&r, 10), 'A' + rng_below(&r, 26), 'A' + rng_below(&r, 26));
                break;
            default:
                snprintf(pc, 12, "%05u", rng_below(&r, 100000));
                break;
            }
            set_string(&f[2].value, pc);
        }
        /* industry */
        if (!rng_chance(&r, 0.03)) {
            if (rng_chance(&r, 0.03))
                set_string(&f[3].value, rng_chance(&r, 0.5) ? "mining" : "crypto");
            else
                set_string(&f[3].value, INDUSTRIES[rng_weighted(&r, INDUSTRY_W, NINDUSTRIES)]);
        }
        /* employees:number */
        if (!rng_chance(&r, 0.03)) {
            if (rng_chance(&r, 0.03)) {
                set_number(&f[4].value, exact_sizes[rng_below(&r, 5)]);
            } else {
                uint32_t b = rng_weighted(&r, band_w, 6);
                set_number(&f[4].value,
                           (double)(uint32_t)(band_lo[b] + rng_unit(&r) * (band_hi[b] - band_lo[b])));
            }
        }
        /* score:number, skewed low */
        if (!rng_chance(&r, 0.05)) {
            double u = rng_unit(&r);
            set_number(&f[5].value, (double)(uint32_t)(100.0 * u * (0.5 + 0.5 * u)));
        }
        /* language */
        if (!rng_chance(&r, 0.05)) {
            double u = rng_unit(&r);
            int lang = u < 0.85 ? co->lang : u < 0.95 ? 0 : (int)rng_below(&r, NLANGS);
            set_string(&f[6].value, LANGS[lang]);
        }
        /* products:set, 0-3 items */
        uint32_t np = rng_below(&r, 4);
        const char **it = &ls->items[i * 3];
        for (uint32_t k = 0; k < np; k++) {
            it[k] = PRODUCTS[rng_weighted(&r, PRODUCT_W, NPRODUCTS)];
            for (uint32_t j = 0; j < k; j++)
                if (it[j] == it[k])
                    it[k--] = NULL;  /* draw again: no duplicates */
        }
        f[7].value.type = LEADROUTE_VALUE_SET;
        f[7].value.items = it;
        f[7].value.item_count = np;

        leadroute_lead *l = &ls->leads[i];
        *l = (leadroute_lead)LEADROUTE_LEAD_INIT;
        l->fields = f;
        l->field_count = NCOLS;
    }
}

/* Point every lead's field names at the table's own names (cheapest lookup). */
static void bind_names(lead_store *ls, const leadroute_table *t)
{
    if (leadroute_table_input_count(t) != NCOLS)
        die("table has %zu input columns, expected %d", leadroute_table_input_count(t), NCOLS);
    const char *names[NCOLS];
    for (int k = 0; k < NCOLS; k++)
        names[k] = leadroute_table_input_name(t, (size_t)k);
    for (size_t i = 0; i < ls->n; i++) {
        leadroute_field *f = &ls->fields[i * NCOLS];
        for (int k = 0; k < NCOLS; k++)
            f[k].name = names[k];
    }
}

/* ------------------------------------------------------------------------ */
/* Measurements. */

static leadroute_table *parse_table(const char *text, size_t len, uint32_t flags, double *seconds)
{
    leadroute_table_options opt = LEADROUTE_TABLE_OPTIONS_INIT;
    opt.flags = flags;
    leadroute_table *t = NULL;
    double t0 = now_s();
    int rc = leadroute_table_parse(&t, text, len, "bench.csv", &opt);
    *seconds = now_s() - t0;
    if (rc != LEADROUTE_OK)
        die("parse failed (%d): %s", rc, leadroute_error_last()->message);
    return t;
}

typedef struct run {
    uint64_t evals, hits, errors;
    double seconds;
} run;

/* --order: in which order the compiled loops take the leads. `sequential`
 * (the default) is the array order; `replay` one shuffled order, the same
 * on every pass, which a branch predictor can learn when the leads are
 * few; `shuffle` a new order on every pass, which it cannot (the shuffle,
 * one swap per lead, is timed too); `same` the first lead every time.
 * With --leads 1000 (in cache) the three last tell apart the cost of
 * mispredicted branches on the leads' values. */
enum { ORDER_SEQUENTIAL, ORDER_REPLAY, ORDER_SHUFFLE, ORDER_SAME };
static int g_order;
static uint32_t *g_perm;
static rng g_perm_rng = {0x0DDE5ull};

static void shuffle_perm(size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = rng_below(&g_perm_rng, (uint32_t)i);
        uint32_t tmp = g_perm[i - 1];
        g_perm[i - 1] = g_perm[j];
        g_perm[j] = tmp;
    }
}

static void order_init(size_t n)
{
    if (g_order == ORDER_SEQUENTIAL)
        return;
    g_perm = xmalloc(n * sizeof *g_perm);
    for (size_t i = 0; i < n; i++)
        g_perm[i] = g_order == ORDER_SAME ? 0 : (uint32_t)i;
    if (g_order == ORDER_REPLAY)
        shuffle_perm(n);
}

static const leadroute_lead *lead_at(const lead_store *ls, size_t i)
{
    return g_perm ? &ls->leads[g_perm[i]] : &ls->leads[i];
}

typedef int (*eval_fn)(const leadroute_table *, const leadroute_lead *, leadroute_result *);

/* Evaluate the lead array with `eval` over and over for about `seconds`. */
static run run_with(eval_fn eval, const leadroute_table *t, leadroute_result *res, const lead_store *ls,
                    double seconds)
{
    run out = {0, 0, 0, 0};
    uint64_t sum = 0;
    size_t i = 0;
    double t0 = now_s(), el;
    do {
        size_t start = i, end = i + 8192 < ls->n ? i + 8192 : ls->n;
        if (g_evals && end - start > g_evals - out.evals)
            end = start + (size_t)(g_evals - out.evals);
        if (i == 0 && g_order == ORDER_SHUFFLE)
            shuffle_perm(ls->n);
        for (; i < end; i++) {
            int rc = eval(t, lead_at(ls, i), res);
            size_t n = leadroute_result_count(res);
            out.hits += n;
            out.errors += rc != LEADROUTE_OK;
            sum += n ? leadroute_result_rule(res, 0) : (size_t)rc;
        }
        out.evals += end - start;
        if (i == ls->n)
            i = 0;
        el = now_s() - t0;
    } while (g_evals ? out.evals < g_evals : el < seconds);
    g_sink += sum;
    out.seconds = el;
    return out;
}

/* What any evaluator pays to read a lead at all, with no table: every
 * field's name, version, type and value, every string and set item to its
 * end. Timed over the same leads, it is the floor of the reading figure. */
static int touch_lead(const leadroute_table *t, const leadroute_lead *lead, leadroute_result *res)
{
    uint64_t acc = 0;
    (void)t;
    (void)res;
    for (size_t k = 0; k < lead->field_count; k++) {
        const leadroute_value *v = &lead->fields[k].value;
        acc += (uintptr_t)lead->fields[k].name ^ v->version ^ v->type;
        if (v->type == LEADROUTE_VALUE_STRING) {
            acc += strlen(v->string);
        } else if (v->type == LEADROUTE_VALUE_NUMBER) {
            acc += (uint64_t)(int64_t)v->number;
        } else if (v->type == LEADROUTE_VALUE_SET) {
            for (size_t j = 0; j < v->item_count; j++)
                acc += strlen(v->items[j]);
        }
    }
    g_sink += acc;
    return LEADROUTE_OK;
}

static run run_compiled(const leadroute_table *t, leadroute_result *res, const lead_store *ls, double seconds)
{
    return run_with(leadroute_table_eval, t, res, ls, seconds);
}

/* Encodes one evaluation's outcome for the agreement check. */
static size_t outcome_of(int rc, const leadroute_result *res)
{
    if (rc != LEADROUTE_OK)
        return SIZE_MAX - 1 - (size_t)(-rc);
    return leadroute_result_count(res) ? leadroute_result_rule(res, 0) : SIZE_MAX;
}

/* Same loop with the reference evaluator; on the first pass over the leads
 * it records each outcome in ref_out[i] and sets *covered. */
static run run_reference(const leadroute_table *t, leadroute_result *res, const lead_store *ls, double seconds,
                         size_t *ref_out, size_t *covered)
{
    run out = {0, 0, 0, 0};
    uint64_t sum = 0;
    size_t i = 0, first_pass_done = 0;
    int first_pass = 1;
    double t0 = now_s(), el;
    do {
        size_t start = i, end = i + 16 < ls->n ? i + 16 : ls->n;
        for (; i < end; i++) {
            int rc = lr__table_eval_reference(t, &ls->leads[i], res);
            size_t n = leadroute_result_count(res);
            out.hits += n;
            out.errors += rc != LEADROUTE_OK;
            size_t o = outcome_of(rc, res);
            sum += o;
            if (first_pass)
                ref_out[i] = o;
        }
        out.evals += end - start;
        if (first_pass)
            first_pass_done = i;
        if (i == ls->n) {
            i = 0;
            first_pass = 0;
        }
        el = now_s() - t0;
    } while (el < seconds);
    g_sink += sum;
    out.seconds = el;
    *covered = first_pass_done;
    return out;
}

/* FNV-1a over outcomes: one number to compare and print. */
static uint64_t checksum_add(uint64_t cs, size_t o)
{
    for (int b = 0; b < 8; b++) {
        cs ^= (uint64_t)((o >> (8 * b)) & 0xFF);
        cs *= 0x100000001B3ull;
    }
    return cs;
}

typedef struct row {
    size_t rules;
    double compile_ms, lint_ms, mib;
    double first_eps, collect_eps, ref_eps, avg_hits;
    double read_ns; /* reading the lead and planning the columns, without the scan */
    double touch_ns; /* touching the lead's memory alone (touch_lead) */
    double plain_eps; /* FIRST with the plain per-column AND */
    size_t diagnostics;
} row;

static void usage(void)
{
    fprintf(stderr, "usage: bench_table [--rules N]... [--leads M] [--seconds S] [--seed X] [--first-only] [--evals N]\n"
                    "                   [--order sequential|replay|shuffle|same]\n"
                    "  --rules N    table size, 64..%d; repeat for several (default 100 1000 10000 100000)\n"
                    "  --leads M    leads generated once and shared (default 1000000)\n"
                    "  --seconds S  time per evaluation measurement (default 2)\n"
                    "  --seed X     generator seed (default 1)\n"
                    "  --first-only measure compiled FIRST only (for profiling; no reference, no COLLECT)\n"
                    "  --evals N    with --first-only: exactly N evaluations, no warm-up (for callgrind)\n"
                    "  --order O    order of the leads in the compiled runs: sequential (default), replay\n"
                    "               (one shuffle, every pass), shuffle (a new one every pass), same (lead 1)\n",
            LEADROUTE_MAX_RULES);
    exit(2);
}

static double parse_double(const char *s, const char *what)
{
    char *end = NULL;
    double v = strtod(s, &end);
    if (!s[0] || *end || !(v > 0))
        die("bad %s '%s'", what, s);
    return v;
}

/* --first-only: measure FIRST alone, for profiling the compiled path. */
static int g_first_only;

static int bench_one(const lead_store *ls_const, size_t nrules, uint64_t seed, double seconds, row *out)
{
    lead_store *ls = (lead_store *)ls_const;
    int passed = 0;   /* set where the checks end; every failure jumps to done */
    memset(out, 0, sizeof(*out));
    out->rules = nrules;
    printf("\n== %zu rules ==\n", nrules);

    size_t len = 0, clen = 0;
    char *text = make_table(seed, nrules, "first", &len);
    char *ctext = make_table(seed, nrules, "collect", &clen);
    printf("table text: %zu bytes\n", len);

    /* Compile without lint, best of 3. */
    leadroute_table *t = NULL;
    double best = 1e300;
    for (int k = 0; k < 3; k++) {
        double s;
        leadroute_table *x = parse_table(text, len, LEADROUTE_TABLE_NO_LINT, &s);
        if (s < best)
            best = s;
        if (t)
            leadroute_table_unref(t);
        t = x;
    }
    out->compile_ms = best * 1e3;
    if (leadroute_table_rule_count(t) != nrules)
        die("table has %zu rules, expected %zu", leadroute_table_rule_count(t), nrules);
    printf("compile (no lint, best of 3): %.2f ms\n", out->compile_ms);

    out->lint_ms = -1;
    if (nrules <= 10000) {
        double s;
        leadroute_table *lt = parse_table(text, len, 0, &s);
        out->lint_ms = s * 1e3;
        out->diagnostics = leadroute_table_diagnostic_count(lt);
        double extra = out->lint_ms - out->compile_ms;
        printf("compile with lint (once): %.2f ms, so lint takes ~%.2f ms; %zu diagnostics\n", out->lint_ms,
               extra > 0 ? extra : 0.0, out->diagnostics);
        leadroute_table_unref(lt);
    }

    out->mib = (double)leadroute_table_memory(t) / (1024.0 * 1024.0);
    printf("compiled memory: %.3f MiB (%zu bytes)\n", out->mib, leadroute_table_memory(t));

    leadroute_result *res = NULL;
    if (leadroute_result_new(&res, t, NULL) != LEADROUTE_OK)
        die("result_new: %s", leadroute_error_last()->message);

    /* FIRST, compiled. */
    bind_names(ls, t);
    if (!g_evals)
        (void)run_compiled(t, res, ls, seconds * 0.05);  /* warm caches */
    run f = run_compiled(t, res, ls, seconds);
    out->first_eps = (double)f.evals / f.seconds;
    printf("FIRST compiled: %.3f M eval/s, %.1f ns/eval (%" PRIu64 " evals in %.2f s, %" PRIu64 " errors)\n",
           out->first_eps / 1e6, 1e9 / out->first_eps, f.evals, f.seconds, f.errors);
    if (f.errors) {
        /* every generated lead is valid: an error is a defect, not a figure */
        for (size_t i = 0; i < ls->n; i++)
            if (leadroute_table_eval(t, &ls->leads[i], res) != LEADROUTE_OK) {
                printf("FIRST compiled: lead %zu failed: %s\n", i, leadroute_error_last()->message);
                break;
            }
        goto done;
    }
    if (g_first_only) {
        /* the figures stand for correct answers: compare a sample with the
         * reference (not with --evals, whose instruction counts it would
         * inflate) */
        int agree = 1;
        size_t sample = ls->n < 1000 ? ls->n : 1000, i;
        leadroute_result *rr = NULL;
        if (!g_evals && leadroute_result_new(&rr, t, NULL) != LEADROUTE_OK)
            die("result_new: %s", leadroute_error_last()->message);
        for (i = 0; i < sample && !g_evals && agree; i++) {
            size_t oc = outcome_of(leadroute_table_eval(t, &ls->leads[i], res), res);
            size_t orf = outcome_of(lr__table_eval_reference(t, &ls->leads[i], rr), rr);
            if (oc != orf) {
                printf("FIRST: DISAGREE at lead %zu: compiled outcome %zu, reference %zu (SIZE_MAX = no hit)\n", i,
                       oc, orf);
                agree = 0;
            }
        }
        if (!g_evals && agree)
            printf("FIRST compiled and reference agree on %zu leads\n", sample);
        leadroute_result_free(rr);
        passed = agree;
        goto done;
    }

    /* The same evaluations without the scan and the hit policy: what reading
     * a lead and planning its columns cost, apart from the scan. */
    run pl = run_with(lr__table_eval_plan_only, t, res, ls, seconds / 2);
    out->read_ns = 1e9 * pl.seconds / (double)pl.evals;
    printf("FIRST reading and planning only (no scan): %.1f ns/eval, so the scan and the hit policy take "
           "%.1f ns\n", out->read_ns, 1e9 / out->first_eps - out->read_ns);
    run tl = run_with(touch_lead, t, res, ls, seconds / 2);
    out->touch_ns = 1e9 * tl.seconds / (double)tl.evals;
    printf("touching every field, string and item of the leads alone (no table): %.1f ns/lead\n", out->touch_ns);

    /* The same evaluations with the plain per-column bitset AND: every word
     * of every column in order, no block skipped. */
    run pa = run_with(lr__table_eval_plain, t, res, ls, seconds / 2);
    out->plain_eps = (double)pa.evals / pa.seconds;
    if (t->scan == t->scan_plain)
        printf("FIRST plain per-column AND (no skipping): %.3f M eval/s, %.1f ns/eval: the scan of FIRST "
               "compiled too, as tables of at most %u rules skip nothing\n", out->plain_eps / 1e6,
               1e9 / out->plain_eps, lr__plain_scan_words * 64);
    else
        printf("FIRST plain per-column AND (no skipping): %.3f M eval/s, %.1f ns/eval, so skipping gains %.2fx\n",
               out->plain_eps / 1e6, 1e9 / out->plain_eps, out->first_eps / out->plain_eps);

    /* FIRST, reference: a slice of leads for at least 0.5 s. */
    size_t *ref_out = xmalloc(ls->n * sizeof(size_t));
    size_t covered = 0;
    double ref_seconds = seconds / 2 < 0.5 ? 0.5 : seconds / 2;
    /* Warm up first: a big table's rules are cold after the compiled run. */
    (void)run_reference(t, res, ls, ref_seconds * 0.25, ref_out, &covered);
    run rf = run_reference(t, res, ls, ref_seconds, ref_out, &covered);
    out->ref_eps = (double)rf.evals / rf.seconds;
    printf("FIRST reference: %.3f k eval/s (%" PRIu64 " evals in %.2f s)\n", out->ref_eps / 1e3, rf.evals,
           rf.seconds);
    printf("compiled/reference: %.1fx\n", out->first_eps / out->ref_eps);

    /* Agreement on at least 10,000 leads (outside the timed loops). */
    size_t sample = covered > 10000 ? covered : 10000;
    if (sample > ls->n)
        sample = ls->n;
    uint64_t cs_c = 0xCBF29CE484222325ull, cs_r = cs_c;
    double depth = 0;
    size_t nhit = 0;
    for (size_t i = 0; i < sample; i++) {
        int rp = lr__table_eval_plain(t, &ls->leads[i], res);
        size_t op = outcome_of(rp, res);
        int rc = leadroute_table_eval(t, &ls->leads[i], res);
        size_t oc = outcome_of(rc, res);
        size_t orf;
        if (i < covered) {
            orf = ref_out[i];
        } else {
            int rr = lr__table_eval_reference(t, &ls->leads[i], res);
            orf = outcome_of(rr, res);
        }
        cs_c = checksum_add(cs_c, oc);
        cs_r = checksum_add(cs_r, orf);
        if (oc != orf || op != oc) {
            printf("checksum: DISAGREE at lead %zu: compiled outcome %zu, plain AND %zu, reference outcome %zu "
                   "(SIZE_MAX = no hit)\n", i, oc, op, orf);
            free(ref_out);
            goto done;
        }
        if (orf < SIZE_MAX - 64) {
            depth += (double)orf;
            nhit++;
        }
    }
    free(ref_out);
    printf("checksum of matched rules over %zu leads: compiled (and plain AND) %016" PRIx64 ", reference %016" PRIx64
           ": agree\n",
           sample, cs_c, cs_r);
    printf("FIRST: %.1f%% of leads hit a rule; mean index of the matched rule %.0f of %zu\n",
           100.0 * (double)nhit / (double)sample, nhit ? depth / (double)nhit : 0.0, nrules);
    leadroute_result_free(res);
    res = NULL;
    leadroute_table_unref(t);
    t = NULL;

    /* COLLECT: same rules, every match. */
    double s;
    leadroute_table *ct = parse_table(ctext, clen, LEADROUTE_TABLE_NO_LINT, &s);
    if (leadroute_table_hit_policy(ct) != LEADROUTE_HIT_COLLECT)
        die("collect table has hit policy %u", leadroute_table_hit_policy(ct));
    leadroute_result *cres = NULL, *rres = NULL;
    if (leadroute_result_new(&cres, ct, NULL) != LEADROUTE_OK || leadroute_result_new(&rres, ct, NULL) != LEADROUTE_OK)
        die("result_new: %s", leadroute_error_last()->message);
    bind_names(ls, ct);
    (void)run_compiled(ct, cres, ls, seconds * 0.05);
    run c = run_compiled(ct, cres, ls, seconds);
    out->collect_eps = (double)c.evals / c.seconds;
    out->avg_hits = (double)c.hits / (double)c.evals;
    printf("COLLECT compiled: %.3f M eval/s, %.1f ns/eval, %.2f hits per lead on average (%" PRIu64 " errors)\n",
           out->collect_eps / 1e6, 1e9 / out->collect_eps, out->avg_hits, c.errors);

    /* COLLECT agreement on a smaller sample: the reference scans every rule. */
    size_t csample = nrules <= 10000 ? 2000 : 300;
    if (csample > ls->n)
        csample = ls->n;
    int ok = c.errors == 0;
    if (!ok)
        printf("COLLECT compiled: errors on valid leads\n");
    for (size_t i = 0; i < csample && ok; i++) {
        int a = leadroute_table_eval(ct, &ls->leads[i], cres);
        int b = lr__table_eval_reference(ct, &ls->leads[i], rres);
        size_t na = leadroute_result_count(cres), nb = leadroute_result_count(rres);
        ok = a == b && na == nb;
        for (size_t k = 0; ok && k < na; k++)
            ok = leadroute_result_rule(cres, k) == leadroute_result_rule(rres, k);
        if (!ok)
            printf("COLLECT: DISAGREE at lead %zu: compiled rc %d, %zu hits; reference rc %d, %zu hits\n", i, a, na,
                   b, nb);
    }
    if (ok)
        printf("COLLECT hit lists over %zu leads: agree\n", csample);
    leadroute_result_free(cres);
    leadroute_result_free(rres);
    leadroute_table_unref(ct);
    passed = ok;
done:
    leadroute_result_free(res);
    leadroute_table_unref(t);
    free(text);
    free(ctext);
    return passed ? 0 : 1;
}

int main(int argc, char **argv)
{
    size_t rules[16], nr = 0;
    size_t nleads = 1000000;
    double seconds = 2.0;
    uint64_t seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--first-only") == 0) {
            g_first_only = 1;
            continue;
        }
        if (i + 1 >= argc) {
            if (strcmp(a, "--help") && strcmp(a, "-h"))
                fprintf(stderr, "bench_table: missing value after %s\n", a);
            usage();
        }
        const char *v = argv[++i];
        if (strcmp(a, "--rules") == 0) {
            double x = parse_double(v, "rule count");
            if (x < 64 || x > LEADROUTE_MAX_RULES || nr == 16)
                die("--rules must be 64..%d, at most 16 times", LEADROUTE_MAX_RULES);
            rules[nr++] = (size_t)x;
        } else if (strcmp(a, "--leads") == 0) {
            double x = parse_double(v, "lead count");
            if (x < 1 || x > 1e8)
                die("--leads must be 1..100000000");
            nleads = (size_t)x;
        } else if (strcmp(a, "--evals") == 0) {
            g_evals = (uint64_t)parse_double(v, "evaluation count");
            g_first_only = 1;
        } else if (strcmp(a, "--order") == 0) {
            static const char *const names[] = {"sequential", "replay", "shuffle", "same"};
            g_order = -1;
            for (int k = 0; k < 4; k++)
                if (strcmp(v, names[k]) == 0)
                    g_order = k;
            if (g_order < 0)
                die("--order must be sequential, replay, shuffle or same");
        } else if (strcmp(a, "--seconds") == 0) {
            seconds = parse_double(v, "seconds");
        } else if (strcmp(a, "--seed") == 0) {
            char *end = NULL;
            seed = strtoull(v, &end, 0);
            if (!*v || *end)
                die("bad seed '%s'", v);
        } else {
            usage();
        }
    }
    if (nr == 0) {
        static const size_t defaults[] = {100, 1000, 10000, 100000};
        for (size_t i = 0; i < 4; i++)
            rules[nr++] = defaults[i];
    }

    printf("libleadroute %s table benchmark (seed %" PRIu64 ", %zu leads, %.2f s per measurement)\n",
           leadroute_version_string(), seed, nleads, seconds);
    printf("Table shape: a sales-ops territory table.\n"
           "  inputs : region (6), country:ci (30, each in one region), postal (prefix lists such as 94* or\n"
           "           \"10*, 11*\" for US CA GB DE FR AU, else -), industry (20, lists of 1-3 or -),\n"
           "           employees:number (bands on 10/50/200/1000/5000 or -), score:number (thresholds or -),\n"
           "           language (10 or -), products:set (12, lists of 1-2 or -)\n"
           "  outputs: pool, sla_minutes:number\n"
           "  rules  : 3-5 generic VIP rules first; then per region, per country (rules in proportion\n"
           "           to the country's lead share) specific rules sorted most specific first and a\n"
           "           country catch-all; a catch-all per region; one global catch-all last.\n"
           "  leads  : countries skewed (US 28%%, GB 9%%, DE 8%%, ...), 2%% unknown countries, region\n"
           "           consistent 95%%, realistic postal codes, skewed industries and sizes, 10%% lower-case\n"
           "           country codes, 1-5%% missing per field; fields in column order, table name pointers.\n");

    lead_store ls;
    double t0 = now_s();
    make_leads(&ls, nleads, seed);
    order_init(nleads);
    printf("generated %zu leads in %.2f s\n", nleads, now_s() - t0);
    if (g_order != ORDER_SEQUENTIAL)
        printf("compiled runs take the leads in %s order\n",
               g_order == ORDER_REPLAY ? "one shuffled" : g_order == ORDER_SHUFFLE ? "a new shuffled" : "the first lead's");

    row rows[16];
    int failed = 0;
    for (size_t i = 0; i < nr; i++) {
        fflush(stdout);
        if (bench_one(&ls, rules[i], seed, seconds, &rows[i]) != 0) {
            failed = 1;
            nr = i + 1;
            break;
        }
    }

    if (g_first_only) {
        /* no reference, plain AND or COLLECT figures to show */
        printf("\n| rules | compile ms | memory MiB | FIRST M eval/s | ns/eval |\n| ---: | ---: | ---: | ---: | ---: |\n");
        for (size_t i = 0; i < nr && !(failed && i + 1 == nr); i++)
            printf("| %zu | %.2f | %.3f | %.2f | %.1f |\n", rows[i].rules, rows[i].compile_ms, rows[i].mib,
                   rows[i].first_eps / 1e6, 1e9 / rows[i].first_eps);
        goto done;
    }
    printf("\n| rules | compile ms | memory MiB | FIRST M eval/s | ns/eval | COLLECT M eval/s | reference k eval/s "
           "| compiled/reference |\n");
    printf("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for (size_t i = 0; i < nr; i++) {
        const row *r = &rows[i];
        if (failed && i + 1 == nr)
            break;
        printf("| %zu | %.2f | %.3f | %.2f | %.1f | %.2f | %.2f | %.0fx |\n", r->rules, r->compile_ms, r->mib,
               r->first_eps / 1e6, 1e9 / r->first_eps, r->collect_eps / 1e6, r->ref_eps / 1e3,
               r->first_eps / r->ref_eps);
    }
    printf("\nFIRST ns/eval split (reading and planning + scan; touching the lead's memory alone):");
    for (size_t i = 0; i < nr; i++)
        if (!(failed && i + 1 == nr))
            printf(" %zu rules: %.0f + %.0f; %.0f;", rows[i].rules, rows[i].read_ns,
                   1e9 / rows[i].first_eps - rows[i].read_ns, rows[i].touch_ns);
    printf("\nFIRST compiled / plain per-column AND (the same up to 2,048 rules):");
    for (size_t i = 0; i < nr; i++)
        if (!(failed && i + 1 == nr))
            printf(" %zu rules: %.2f / %.2f M eval/s (%.2fx);", rows[i].rules, rows[i].first_eps / 1e6,
                   rows[i].plain_eps / 1e6, rows[i].first_eps / rows[i].plain_eps);
    printf("\nCOLLECT average hits per lead:");
    for (size_t i = 0; i < nr; i++)
        if (!(failed && i + 1 == nr))
            printf(" %zu rules: %.2f;", rows[i].rules, rows[i].avg_hits);
    printf("\nlint (compile with lint, N <= 10000):");
    for (size_t i = 0; i < nr; i++)
        if (!(failed && i + 1 == nr) && rows[i].lint_ms >= 0)
            printf(" %zu rules: %.1f ms;", rows[i].rules, rows[i].lint_ms);
    printf("\n");
done:
    free(ls.leads);
    free(ls.fields);
    free(ls.postal);
    free(ls.items);
    free(g_perm);
    if (failed) {
        fprintf(stderr, "bench_table: the %zu-rule table failed its checks (see above)\n", rows[nr - 1].rules);
        return 1;
    }
    return 0;
}
