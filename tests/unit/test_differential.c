/*
 * Differential test: the compiled evaluator (leadroute_table_eval) must give
 * exactly the results of the row-by-row reference evaluator
 * (lr__table_eval_reference) on seeded random tables and leads, and so must
 * its plain-AND form (lr__table_eval_plain), the benchmark's baseline.
 *
 * Tables are generated as CSV text covering every hit policy, column type and
 * cell form of docs/table-format.md, over small value domains so that rules
 * hit often and boundary values are hit exactly. Leads draw from the same
 * domains plus values outside them, missing fields, case variants, numbers
 * written as strings and the occasional invalid value (both evaluators must
 * agree on errors too).
 *
 * LEADROUTE_DIFF_SCALE (float, default 1.0) scales the amount of work, e.g.
 * 0.01 under valgrind; LEADROUTE_DIFF_SEED (integer, default 0) shifts every
 * seed to explore other tables. On a difference the seed, the (shrunk) table,
 * the lead and both results are printed.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leadroute/leadroute.h"
#include "table/internal.h"
#include "table/reference.h"

/* ------------------------------------------------------------------------ */
/* Deterministic PRNG (splitmix64): same seed, same tables, on every platform. */

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint32_t rng_below(rng *r, uint32_t n)
{
    return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* True with probability p. */
static int rng_chance(rng *r, double p)
{
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0) < p;
}

#define PICK(r, arr) ((arr)[rng_below((r), (uint32_t)(sizeof(arr) / sizeof((arr)[0])))])

/* ------------------------------------------------------------------------ */
/* Growable text buffer. */

typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

static void sb_reserve(sbuf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        abort();
    }
    b->p = p;
    b->cap = cap;
}

static void sb_addn(sbuf *b, const char *s, size_t n)
{
    sb_reserve(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_add(sbuf *b, const char *s) { sb_addn(b, s, strlen(s)); }

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    sb_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static void sb_clear(sbuf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}

static char *sb_steal(sbuf *b)
{
    char *p = b->p ? b->p : strdup("");
    b->p = NULL;
    b->len = b->cap = 0;
    return p;
}

/* ------------------------------------------------------------------------ */
/* Value domains. Small on purpose: hits are frequent and every literal of a
 * cell is also a lead value, so boundaries are hit exactly. */

static const char *const STR_DOM[] = {
    "EMEA", "emea", "Emea", "NA", "APAC", "a", "b", "ab", "abc", "abd",
    "Ärger", "ärger", "ÄRGER", "Москва", "москва", "Ωmega", "ωmega", "straße",
    "42", "null", "x y", "q\"x", "b\\s", "-x", "<3", "Zulu", "zulu", "@a", "[a", "`a", "{a",
};
/* Values a lead may carry that no cell names. */
static const char *const STR_OUT[] = {
    "EMEAX", "abcd", "zz", "c", "em", "Москваа", "ÄRGERLICH", "4", "421", "nul", "A B",
};
static const char *const PREFIX_DOM[] = {
    "a", "ab", "E", "em", "EM", "Ä", "ä", "Мо", "мо", "Ω", "4", "nu", "x ", "q\"", "b\\",
};

static const double NUM_DOM[] = {-1, 0, 1, 2, 2.5, 3, 5, 10, 100};
static const double NUM_LEAD_EXTRA[] = {-100, 0.5, 2.4999999, 2.5000001, 4, 7, 1000, 1e9, 99.5};

static const char *const POOL_DOM[] = {"p1", "p2", "p3", "p4"};
static const double OUTNUM_DOM[] = {0, 1, 2.5, 5, -3, 10};

/* A string is safe to write bare when it has letters and digits only, does
 * not start with a digit and is not a keyword. */
static int bare_ok(const char *s)
{
    if (!*s)
        return 0;
    if (*s >= '0' && *s <= '9')
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (!(*p >= 0x80 || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
            return 0;
    }
    static const char *const kw[] = {"null", "true", "false", "not", "starts", "with"};
    for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++) {
        if (strcmp(s, kw[i]) == 0)
            return 0;
    }
    return 1;
}

/* S-FEEL string literal: quoted with \" and \\ escapes. */
static void add_quoted(sbuf *b, const char *s)
{
    sb_add(b, "\"");
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            sb_add(b, "\\");
        sb_addn(b, s, 1);
    }
    sb_add(b, "\"");
}

static void add_string_lit(rng *r, sbuf *b, const char *s)
{
    if (bare_ok(s) && rng_chance(r, 0.5))
        sb_add(b, s);
    else
        add_quoted(b, s);
}

/* Several spellings of the same number. */
static void add_number_lit(rng *r, sbuf *b, double v)
{
    uint32_t k = rng_below(r, 10);
    if (v == 10 && k == 0)
        sb_add(b, "1e1");
    else if (v == 100 && k == 0)
        sb_add(b, "1.0e2");
    else if (v == 3 && k == 0)
        sb_add(b, "+3");
    else if (v == 0 && k == 0)
        sb_add(b, "-0");
    else if (v == 2.5 && k == 0)
        sb_add(b, "25e-1");
    else if (v == 1 && k == 0)
        sb_add(b, "1.000");
    else
        sb_printf(b, "%.17g", v);
}

/* ------------------------------------------------------------------------ */
/* Table model. */

enum { MAX_COLS = 8, MAX_OUTS = 3 };

typedef struct col {
    uint32_t type;  /* LEADROUTE_TYPE_* */
    int ci;
    char name[16];
} col;

typedef struct gen_table {
    int ncols;
    col cols[MAX_COLS];
    int nouts;
    col outs[MAX_OUTS];
    uint32_t policy, agg;
    double any_p;        /* chance that an input cell is "-" */
    double null_p;       /* chance of a null-ish cell form */
    int inject_error;    /* this table may get one empty interval */
    uint32_t wide;       /* > 0: also K generated values, to grow the indexes */
    int expect_error;    /* an empty interval was written on purpose */
    int crlf;
    sbuf head;           /* directives and header line */
    char **rows;         /* one CSV line per rule, without line end */
    char **extras;       /* comment/blank lines emitted before each row, or NULL */
    size_t nrows;
} gen_table;

static void gen_table_free(gen_table *t)
{
    for (size_t i = 0; i < t->nrows; i++) {
        free(t->rows[i]);
        free(t->extras[i]);
    }
    free(t->rows);
    free(t->extras);
    free(t->head.p);
    memset(t, 0, sizeof(*t));
}

/* Join head and the rows selected by `keep` (NULL = all) into table text. */
static char *gen_table_text(const gen_table *t, const unsigned char *keep, size_t *len_out)
{
    sbuf b = {0};
    const char *eol = t->crlf ? "\r\n" : "\n";
    sb_add(&b, t->head.p);
    for (size_t i = 0; i < t->nrows; i++) {
        if (keep && !keep[i])
            continue;
        if (t->extras[i]) {
            sb_add(&b, t->extras[i]);
            sb_add(&b, eol);
        }
        sb_add(&b, t->rows[i]);
        sb_add(&b, eol);
    }
    *len_out = b.len;
    return sb_steal(&b);
}

/* Append one CSV field, quoting it when RFC 4180 requires. */
static void add_csv_field(sbuf *b, const char *cell)
{
    if (strpbrk(cell, ",\"\r\n")) {
        sb_add(b, "\"");
        for (const char *p = cell; *p; p++) {
            if (*p == '"')
                sb_add(b, "\"");
            sb_addn(b, p, 1);
        }
        sb_add(b, "\"");
    } else {
        sb_add(b, cell);
    }
}

/* Cell values: the small domain, or in a wide table often one of `wide`
 * generated ones ("v17", 17.5), so that indexes hold thousands of keys. */
static const char *cell_string(rng *r, const gen_table *t, char *tmp, size_t cap)
{
    if (t->wide && rng_chance(r, 0.6)) {
        snprintf(tmp, cap, "v%u", rng_below(r, t->wide));
        return tmp;
    }
    return PICK(r, STR_DOM);
}

static const char *cell_prefix(rng *r, const gen_table *t, char *tmp, size_t cap)
{
    if (t->wide && rng_chance(r, 0.5)) {
        snprintf(tmp, cap, "v%u", rng_below(r, t->wide / 20 + 1));
        return tmp;
    }
    return PICK(r, PREFIX_DOM);
}

static double cell_number(rng *r, const gen_table *t)
{
    if (t->wide && rng_chance(r, 0.6)) {
        double u = (double)rng_below(r, t->wide);
        return rng_chance(r, 0.1) ? u + 0.5 : u;
    }
    return PICK(r, NUM_DOM);
}

/* One S-FEEL test usable inside a list (no "-", no "!=", no not()). */
static void add_simple_test(rng *r, gen_table *t, const col *c, sbuf *b)
{
    char tmp[32];
    switch (c->type) {
    case LEADROUTE_TYPE_STRING:
    case LEADROUTE_TYPE_SET: {
        uint32_t k = rng_below(r, 10);
        if (k < 6) {
            add_string_lit(r, b, cell_string(r, t, tmp, sizeof(tmp)));
        } else if (k < 9) {
            const char *p = cell_prefix(r, t, tmp, sizeof(tmp));
            uint32_t f = rng_below(r, 3);
            if (f == 0 && bare_ok(p)) {
                sb_add(b, p);
                sb_add(b, "*");
            } else if (f <= 1) {
                add_quoted(b, p);
                sb_add(b, "*");
            } else {
                sb_add(b, "starts with ");
                add_quoted(b, p);
            }
        } else {
            sb_add(b, "null");
        }
        break;
    }
    case LEADROUTE_TYPE_NUMBER: {
        uint32_t k = rng_below(r, 10);
        if (k < 3) {
            add_number_lit(r, b, cell_number(r, t));
        } else if (k < 6) {
            static const char *const ops[] = {"<", "<=", ">", ">="};
            sb_add(b, PICK(r, ops));
            if (rng_chance(r, 0.5))
                sb_add(b, " ");
            add_number_lit(r, b, cell_number(r, t));
        } else if (k < 9) {
            /* Interval, all seven bracket forms; rarely an empty one. */
            static const char *const forms[][2] = {
                {"[", "]"}, {"(", ")"}, {"[", ")"}, {"(", "]"}, {"]", "["}, {"]", "]"}, {"[", "["},
            };
            uint32_t f = rng_below(r, 7);
            int lo_open = forms[f][0][0] != '[';
            int hi_open = forms[f][1][0] != ']';
            double lo = cell_number(r, t), hi = cell_number(r, t);
            if (lo > hi) {
                double x = lo;
                lo = hi;
                hi = x;
            }
            int empty = lo > hi || (lo == hi && (lo_open || hi_open));
            int inject = t->inject_error && !t->expect_error && rng_chance(r, 0.2);
            if (empty && !inject) {
                f = 0;  /* lo == hi here: [a..a] is valid */
                empty = 0;
            } else if (!empty && inject) {
                double x = lo;
                lo = hi + 1;
                hi = x;
                empty = 1;
            }
            if (empty)
                t->expect_error = 1;
            sb_add(b, forms[f][0]);
            add_number_lit(r, b, lo);
            sb_add(b, "..");
            add_number_lit(r, b, hi);
            sb_add(b, forms[f][1]);
        } else {
            sb_add(b, "null");
        }
        break;
    }
    case LEADROUTE_TYPE_BOOL: {
        uint32_t k = rng_below(r, 5);
        sb_add(b, k < 2 ? "true" : k < 4 ? "false" : "null");
        break;
    }
    default:
        break;
    }
}

/* One whole input cell, any form. */
static void add_input_cell(rng *r, gen_table *t, const col *c, sbuf *b)
{
    char tmp[32];
    if (rng_chance(r, t->any_p)) {
        sb_add(b, rng_chance(r, 0.8) ? "-" : "");
        return;
    }
    uint32_t k = rng_below(r, 100);
    if (k < 45) {
        add_simple_test(r, t, c, b);
    } else if (k < 55) {
        /* "= x" */
        sb_add(b, "= ");
        if (c->type == LEADROUTE_TYPE_NUMBER)
            add_number_lit(r, b, cell_number(r, t));
        else if (c->type == LEADROUTE_TYPE_BOOL)
            sb_add(b, rng_chance(r, 0.5) ? "true" : "false");
        else
            add_string_lit(r, b, cell_string(r, t, tmp, sizeof(tmp)));
    } else if (k < 62) {
        /* "!= x", whole cell */
        sb_add(b, rng_chance(r, 0.5) ? "!= " : "!=");
        if (c->type == LEADROUTE_TYPE_NUMBER)
            add_number_lit(r, b, cell_number(r, t));
        else if (c->type == LEADROUTE_TYPE_BOOL)
            sb_add(b, rng_chance(r, 0.5) ? "true" : "false");
        else
            add_string_lit(r, b, cell_string(r, t, tmp, sizeof(tmp)));
    } else if (k < 66 || rng_chance(r, t->null_p)) {
        sb_add(b, "null");
    } else {
        /* A list of 2-4 tests, sometimes under not(...). */
        int neg = rng_chance(r, 0.3);
        int n = 2 + (int)rng_below(r, 3);
        if (neg)
            sb_add(b, rng_chance(r, 0.5) ? "not(" : "not( ");
        for (int i = 0; i < n; i++) {
            if (i)
                sb_add(b, rng_chance(r, 0.7) ? ", " : ",");
            add_simple_test(r, t, c, b);
        }
        if (neg)
            sb_add(b, ")");
    }
}

static void add_output_cell(rng *r, const gen_table *t, const col *c, sbuf *b)
{
    if (rng_chance(r, 0.12)) {
        static const char *const nulls[] = {"", "-", "null"};
        sb_add(b, PICK(r, nulls));
        return;
    }
    /* ANY needs agreeing outputs now and then: fewer values. */
    uint32_t narrow = t->policy == LEADROUTE_HIT_ANY ? 2 : 0;
    switch (c->type) {
    case LEADROUTE_TYPE_STRING: {
        const char *v = POOL_DOM[narrow ? rng_below(r, narrow) : rng_below(r, 4)];
        if (rng_chance(r, 0.3))
            add_quoted(b, v);
        else
            sb_add(b, v);
        break;
    }
    case LEADROUTE_TYPE_NUMBER:
        add_number_lit(r, b, OUTNUM_DOM[narrow ? rng_below(r, narrow) : rng_below(r, 6)]);
        break;
    case LEADROUTE_TYPE_BOOL:
        sb_add(b, narrow || rng_chance(r, 0.6) ? "true" : "false");
        break;
    default:
        break;
    }
}

static void gen_table_make(gen_table *t, uint64_t seed, size_t nrules)
{
    rng r = {seed};
    memset(t, 0, sizeof(*t));

    static const uint32_t policies[] = {
        LEADROUTE_HIT_FIRST, LEADROUTE_HIT_UNIQUE, LEADROUTE_HIT_ANY, LEADROUTE_HIT_PRIORITY,
        LEADROUTE_HIT_RULE_ORDER, LEADROUTE_HIT_OUTPUT_ORDER, LEADROUTE_HIT_COLLECT,
    };
    t->policy = PICK(&r, policies);
    t->agg = LEADROUTE_AGG_NONE;
    if (t->policy == LEADROUTE_HIT_COLLECT && rng_chance(&r, 0.6))
        t->agg = 1 + rng_below(&r, 4);

    /* Sparse tables need few "-" cells so that deep rules are reached. */
    static const double any_ps[] = {0.15, 0.35, 0.5, 0.65, 0.8};
    t->any_p = PICK(&r, any_ps);
    t->null_p = rng_chance(&r, 0.5) ? 0.05 : 0.0;
    t->crlf = rng_chance(&r, 0.1);
    t->inject_error = rng_chance(&r, 0.02);
    t->wide = rng_chance(&r, 0.25) ? 50 + rng_below(&r, 3000) : 0;

    t->ncols = 1 + (int)rng_below(&r, MAX_COLS);
    for (int i = 0; i < t->ncols; i++) {
        col *c = &t->cols[i];
        static const uint32_t types[] = {
            LEADROUTE_TYPE_STRING, LEADROUTE_TYPE_STRING, LEADROUTE_TYPE_NUMBER,
            LEADROUTE_TYPE_NUMBER, LEADROUTE_TYPE_BOOL, LEADROUTE_TYPE_SET,
        };
        c->type = PICK(&r, types);
        c->ci = (c->type == LEADROUTE_TYPE_STRING || c->type == LEADROUTE_TYPE_SET) && rng_chance(&r, 0.4);
        snprintf(c->name, sizeof(c->name), "f%d", i);
    }

    /* Outputs: sum/min/max need numbers only. */
    int numeric_only = t->agg == LEADROUTE_AGG_SUM || t->agg == LEADROUTE_AGG_MIN || t->agg == LEADROUTE_AGG_MAX;
    if (numeric_only) {
        t->nouts = 1 + (int)rng_below(&r, 2);
        for (int i = 0; i < t->nouts; i++) {
            t->outs[i].type = LEADROUTE_TYPE_NUMBER;
            snprintf(t->outs[i].name, sizeof(t->outs[i].name), "n%d", i);
        }
    } else {
        t->nouts = 1 + (int)rng_below(&r, 3);
        static const uint32_t otypes[] = {LEADROUTE_TYPE_STRING, LEADROUTE_TYPE_NUMBER, LEADROUTE_TYPE_BOOL};
        for (int i = 0; i < t->nouts; i++) {
            /* The first output is the string "pool", which priority lists rank. */
            t->outs[i].type = i == 0 ? LEADROUTE_TYPE_STRING : PICK(&r, otypes);
            if (i == 0)
                snprintf(t->outs[i].name, sizeof(t->outs[i].name), "pool");
            else
                snprintf(t->outs[i].name, sizeof(t->outs[i].name), "o%d", i);
        }
    }

    /* Directives. */
    sbuf *h = &t->head;
    const char *eol = t->crlf ? "\r\n" : "\n";
    if (rng_chance(&r, 0.05))
        sb_add(h, "\xEF\xBB\xBF");
    if (rng_chance(&r, 0.3))
        sb_printf(h, "#! name: differential %llu%s", (unsigned long long)seed, eol);
    if (rng_chance(&r, 0.2))
        sb_printf(h, "# generated table%s", eol);
    const char *pname = NULL;
    switch (t->policy) {
    case LEADROUTE_HIT_FIRST: {
        static const char *const n[] = {"first", "F"};
        pname = rng_chance(&r, 0.2) ? NULL : PICK(&r, n);  /* NULL: rely on the default */
        break;
    }
    case LEADROUTE_HIT_UNIQUE: {
        static const char *const n[] = {"unique", "U"};
        pname = PICK(&r, n);
        break;
    }
    case LEADROUTE_HIT_ANY: {
        static const char *const n[] = {"any", "A"};
        pname = PICK(&r, n);
        break;
    }
    case LEADROUTE_HIT_PRIORITY: {
        static const char *const n[] = {"priority", "P"};
        pname = PICK(&r, n);
        break;
    }
    case LEADROUTE_HIT_RULE_ORDER: {
        static const char *const n[] = {"rule order", "rule_order", "R"};
        pname = PICK(&r, n);
        break;
    }
    case LEADROUTE_HIT_OUTPUT_ORDER: {
        static const char *const n[] = {"output order", "output_order", "O"};
        pname = PICK(&r, n);
        break;
    }
    default:
        pname = "collect";
        break;
    }
    if (t->policy == LEADROUTE_HIT_COLLECT) {
        static const char *const letters[] = {"", "+", "#", "<", ">"};
        static const char *const words[] = {"none", "sum", "count", "min", "max"};
        if (rng_chance(&r, 0.4)) {
            sb_printf(h, "#! hit_policy: C%s%s", letters[t->agg], eol);
        } else {
            sb_printf(h, "#! hit_policy: %s%s", rng_chance(&r, 0.5) ? "collect" : "C", eol);
            if (t->agg != LEADROUTE_AGG_NONE || rng_chance(&r, 0.3))
                sb_printf(h, "#! aggregation: %s%s",
                          rng_chance(&r, 0.5) ? words[t->agg] : (t->agg ? letters[t->agg] : "none"), eol);
        }
    } else if (pname) {
        if (rng_chance(&r, 0.1))
            sb_printf(h, "\"#! hit_policy: %s\",,%s", pname, eol);  /* spreadsheet-quoted */
        else
            sb_printf(h, "#! hit_policy: %s%s", pname, eol);
    }
    int need_prio = t->policy == LEADROUTE_HIT_PRIORITY || t->policy == LEADROUTE_HIT_OUTPUT_ORDER;
    if (need_prio || rng_chance(&r, 0.1)) {
        /* A permutation of some pool values; the rest rank below all. */
        const char *perm[4] = {"p1", "p2", "p3", "p4"};
        for (int i = 3; i > 0; i--) {
            uint32_t j = rng_below(&r, (uint32_t)i + 1);
            const char *x = perm[i];
            perm[i] = perm[j];
            perm[j] = x;
        }
        uint32_t n = 2 + rng_below(&r, 3);
        if (t->outs[0].type == LEADROUTE_TYPE_STRING) {
            sbuf line = {0};
            sb_add(&line, "#! priority: pool = ");
            for (uint32_t i = 0; i < n; i++)
                sb_printf(&line, "%s%s", i ? ", " : "", perm[i]);
            sb_add(h, line.p);
            sb_add(h, eol);
            free(line.p);
        }
        for (int o = 1; o < t->nouts; o++) {
            if (t->outs[o].type == LEADROUTE_TYPE_NUMBER && rng_chance(&r, 0.4))
                sb_printf(h, "#! priority: %s = 5, 0, 10, 1%s", t->outs[o].name, eol);
            else if (t->outs[o].type == LEADROUTE_TYPE_BOOL && rng_chance(&r, 0.4))
                sb_printf(h, "#! priority: %s = false, true%s", t->outs[o].name, eol);
        }
        if (t->outs[0].type == LEADROUTE_TYPE_NUMBER)
            sb_printf(h, "#! priority: %s = 5, 0, 10, 1%s", t->outs[0].name, eol);
    }

    /* Header. */
    int with_id = rng_chance(&r, 0.5);
    if (with_id)
        sb_add(h, "rule,");
    for (int i = 0; i < t->ncols; i++) {
        const col *c = &t->cols[i];
        if (i)
            sb_add(h, ",");
        sb_add(h, c->name);
        switch (c->type) {
        case LEADROUTE_TYPE_STRING:
            if (c->ci)
                sb_add(h, rng_chance(&r, 0.5) ? ":ci" : ":string:ci");
            else if (rng_chance(&r, 0.3))
                sb_add(h, ":string");
            break;
        case LEADROUTE_TYPE_NUMBER:
            sb_add(h, ":number");
            break;
        case LEADROUTE_TYPE_BOOL:
            sb_add(h, ":bool");
            break;
        case LEADROUTE_TYPE_SET:
            sb_add(h, c->ci ? ":set:ci" : ":set");
            break;
        default:
            break;
        }
    }
    for (int i = 0; i < t->nouts; i++) {
        sb_printf(h, ",out:%s", t->outs[i].name);
        if (t->outs[i].type == LEADROUTE_TYPE_NUMBER)
            sb_add(h, ":number");
        else if (t->outs[i].type == LEADROUTE_TYPE_BOOL)
            sb_add(h, ":bool");
        else if (rng_chance(&r, 0.3))
            sb_add(h, ":string");
    }
    sb_add(h, eol);

    /* Rules. */
    t->nrows = nrules;
    t->rows = calloc(nrules, sizeof(char *));
    t->extras = calloc(nrules, sizeof(char *));
    assert_non_null(t->rows);
    assert_non_null(t->extras);
    sbuf row = {0}, cell = {0};
    for (size_t i = 0; i < nrules; i++) {
        sb_clear(&row);
        if (with_id)
            sb_printf(&row, "r%zu,", i + 1);
        int blank = !with_id;  /* an all-empty row is skipped by the spec, not a rule */
        for (int c = 0; c < t->ncols; c++) {
            sb_clear(&cell);
            if (rng_chance(&r, 0.05))
                sb_add(&cell, "  ");
            add_input_cell(&r, t, &t->cols[c], &cell);
            if (rng_chance(&r, 0.05))
                sb_add(&cell, " ");
            if (c)
                sb_add(&row, ",");
            blank &= strspn(cell.p, " ") == cell.len;
            add_csv_field(&row, cell.p);
        }
        for (int o = 0; o < t->nouts; o++) {
            sb_clear(&cell);
            add_output_cell(&r, t, &t->outs[o], &cell);
            sb_add(&row, ",");
            blank &= strspn(cell.p, " ") == cell.len;
            add_csv_field(&row, cell.p);
        }
        if (blank) {
            sb_clear(&row);
            sb_add(&row, "-");
            for (int k = 1; k < t->ncols + t->nouts; k++)
                sb_add(&row, ",");
        }
        if (rng_chance(&r, 0.02))
            sb_add(&row, ",,");  /* trailing empty cells are ignored */
        t->rows[i] = strdup(row.p);
        if (rng_chance(&r, 0.02)) {
            static const char *const extras[] = {"# a comment, with a comma", "", ",,,", "#"};
            t->extras[i] = strdup(PICK(&r, extras));
        }
    }
    free(row.p);
    free(cell.p);
}

/* ------------------------------------------------------------------------ */
/* Leads. */

typedef struct gen_lead {
    leadroute_lead lead;
    leadroute_field fields[MAX_COLS + 4];
    const char *items[MAX_COLS + 4][6];
    char bufs[MAX_COLS + 4][192];
} gen_lead;

static const char *const OWN_NAMES[] = {"f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7"};

/* Random case changes of ASCII letters, and padding. */
static const char *vary_string(rng *r, const char *s, char *buf, size_t cap)
{
    size_t n = strlen(s);
    if (n + 3 > cap)
        return s;
    size_t o = 0;
    int pad = rng_chance(r, 0.05);
    if (pad)
        buf[o++] = ' ';
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (rng_chance(r, 0.2)) {
            if (ch >= 'a' && ch <= 'z')
                ch = (char)(ch - 32);
            else if (ch >= 'A' && ch <= 'Z')
                ch = (char)(ch + 32);
        }
        buf[o++] = ch;
    }
    if (pad || rng_chance(r, 0.03))
        buf[o++] = '\t';
    buf[o] = '\0';
    return buf;
}

static const char *lead_string(rng *r, const gen_table *t, char *buf, size_t cap)
{
    uint32_t k = rng_below(r, 100);
    const char *s;
    char tmp[32];
    if (t->wide && rng_chance(r, 0.5)) {
        snprintf(tmp, sizeof(tmp), "v%u", rng_below(r, t->wide + t->wide / 10 + 1));
        if (rng_chance(r, 0.3) && vary_string(r, tmp, buf, cap) == buf)
            return buf;
        snprintf(buf, cap, "%s", tmp);  /* tmp does not outlive this call */
        return buf;
    }
    if (k < 65)
        s = PICK(r, STR_DOM);
    else if (k < 90)
        s = PICK(r, STR_OUT);
    else
        s = PICK(r, PREFIX_DOM);
    if (rng_chance(r, 0.3))
        return vary_string(r, s, buf, cap);
    return s;
}

static void gen_value(rng *r, const gen_table *t, const col *c, leadroute_value *v, const char **items, char *buf, size_t cap)
{
    *v = (leadroute_value)LEADROUTE_VALUE_INIT;
    uint32_t k = rng_below(r, 1000);
    /* Missing in its several forms. */
    if (k < 30) {
        v->type = LEADROUTE_VALUE_NULL;
        return;
    }
    if (k < 55) {
        v->type = LEADROUTE_VALUE_STRING;
        v->string = k < 45 ? "" : "   ";
        return;
    }
    /* Rare wrong types and invalid values: both evaluators must agree. */
    if (k < 58) {
        switch (rng_below(r, 4)) {
        case 0:
            v->type = LEADROUTE_VALUE_NUMBER;
            v->number = NAN;
            break;
        case 1:
            v->type = LEADROUTE_VALUE_STRING;
            v->string = "not a number";
            break;
        case 2:
            v->type = LEADROUTE_VALUE_BOOL;
            v->boolean = 1;
            break;
        default:
            v->type = LEADROUTE_VALUE_NUMBER;
            v->number = 7;
            break;
        }
        return;
    }
    switch (c->type) {
    case LEADROUTE_TYPE_STRING:
        v->type = LEADROUTE_VALUE_STRING;
        v->string = lead_string(r, t, buf, cap);
        break;
    case LEADROUTE_TYPE_NUMBER: {
        double x = rng_chance(r, 0.8) ? PICK(r, NUM_DOM) : PICK(r, NUM_LEAD_EXTRA);
        if (t->wide && rng_chance(r, 0.5))
            x = (double)rng_below(r, t->wide + t->wide / 10 + 1) + (rng_chance(r, 0.2) ? 0.5 : 0.0);
        if (x == 0 && rng_chance(r, 0.2))
            x = -0.0;
        if (rng_chance(r, 0.2)) {
            /* A number written as a string. */
            v->type = LEADROUTE_VALUE_STRING;
            uint32_t f = rng_below(r, 4);
            if (f == 0)
                snprintf(buf, cap, " %.10g ", x);
            else if (f == 1)
                snprintf(buf, cap, "%.10e", x);
            else if (f == 2 && !signbit(x))
                snprintf(buf, cap, "+%.10g", x);
            else
                snprintf(buf, cap, "%.10g", x);
            v->string = buf;
        } else {
            v->type = LEADROUTE_VALUE_NUMBER;
            v->number = x;
        }
        break;
    }
    case LEADROUTE_TYPE_BOOL:
        if (rng_chance(r, 0.2)) {
            static const char *const s[] = {"true", "false", "TRUE", "False", "tRuE"};
            v->type = LEADROUTE_VALUE_STRING;
            v->string = PICK(r, s);
        } else {
            v->type = LEADROUTE_VALUE_BOOL;
            v->boolean = rng_chance(r, 0.5) ? (rng_chance(r, 0.1) ? 7 : 1) : 0;
        }
        break;
    case LEADROUTE_TYPE_SET:
        if (rng_chance(r, 0.15)) {
            v->type = LEADROUTE_VALUE_STRING;
            v->string = lead_string(r, t, buf, cap);
        } else {
            /* up to 6 items: the scan takes up to 4 parts in its fast form */
            size_t n = rng_below(r, 7);
            size_t each = cap / 6;
            for (size_t i = 0; i < n; i++)
                items[i] = lead_string(r, t, buf + i * each, each);
            v->type = LEADROUTE_VALUE_SET;
            v->items = items;
            v->item_count = n;
        }
        break;
    default:
        break;
    }
}

static void gen_lead_make(rng *r, const gen_table *t, const leadroute_table *table, gen_lead *g)
{
    g->lead = (leadroute_lead)LEADROUTE_LEAD_INIT;
    size_t n = 0;
    int own_names = rng_chance(r, 0.3);
    for (int i = 0; i < t->ncols; i++) {
        if (rng_chance(r, 0.06))
            continue;  /* field absent */
        leadroute_field *f = &g->fields[n];
        f->name = own_names ? OWN_NAMES[i] : leadroute_table_input_name(table, (size_t)i);
        gen_value(r, t, &t->cols[i], &f->value, g->items[n], g->bufs[n], sizeof(g->bufs[n]));
        n++;
    }
    /* Fields no column reads. */
    if (rng_chance(r, 0.1)) {
        leadroute_field *f = &g->fields[n++];
        f->name = rng_chance(r, 0.5) ? "zz" : "F0";
        f->value = (leadroute_value)LEADROUTE_VALUE_INIT;
        f->value.type = LEADROUTE_VALUE_STRING;
        f->value.string = "EMEA";
    }
    /* Rarely a duplicate name, which makes the lead invalid. */
    if (n > 0 && rng_chance(r, 0.002)) {
        g->fields[n] = g->fields[rng_below(r, (uint32_t)n)];
        n++;
    }
    if (n > 1 && rng_chance(r, 0.1)) {
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = rng_below(r, (uint32_t)i + 1);
            leadroute_field x = g->fields[i];
            g->fields[i] = g->fields[j];
            g->fields[j] = x;
        }
    }
    g->lead.id = "lead";
    g->lead.fields = g->fields;
    g->lead.field_count = n;
}

static void dump_value(const leadroute_value *v)
{
    if (!v) {
        printf("(no value)");
        return;
    }
    switch (v->type) {
    case LEADROUTE_VALUE_NULL:
        printf("null");
        break;
    case LEADROUTE_VALUE_STRING:
        printf("\"%s\" (string)", v->string ? v->string : "(NULL)");
        break;
    case LEADROUTE_VALUE_NUMBER:
        printf("%.17g (number)", v->number);
        break;
    case LEADROUTE_VALUE_BOOL:
        printf("%d (bool)", v->boolean);
        break;
    case LEADROUTE_VALUE_SET:
        printf("{");
        for (size_t i = 0; i < v->item_count; i++)
            printf("%s\"%s\"", i ? ", " : "", v->items[i]);
        printf("} (set)");
        break;
    default:
        printf("(type %u)", v->type);
        break;
    }
}

static void dump_lead(const leadroute_lead *lead)
{
    printf("  lead:");
    if (lead->field_count == 0)
        printf(" (no fields)");
    for (size_t i = 0; i < lead->field_count; i++) {
        printf(" %s=", lead->fields[i].name);
        dump_value(&lead->fields[i].value);
        printf(";");
    }
    printf("\n");
}

/* ------------------------------------------------------------------------ */
/* Comparison. */

static int value_equal(const leadroute_value *a, const leadroute_value *b)
{
    if (!a || !b)
        return a == b;
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case LEADROUTE_VALUE_NULL:
        return 1;
    case LEADROUTE_VALUE_STRING:
        return a->string && b->string && strcmp(a->string, b->string) == 0;
    case LEADROUTE_VALUE_NUMBER:
        return a->number == b->number;
    case LEADROUTE_VALUE_BOOL:
        return !a->boolean == !b->boolean;
    default:
        return 0;
    }
}

/* Do two evaluations of one lead give the same code, hits, outputs and
 * aggregates? */
static int same_result(const leadroute_table *table, int rc, const leadroute_result *rc_res, int rr,
                       const leadroute_result *rr_res)
{
    if (rc != rr)
        return 0;
    size_t n = leadroute_result_count(rc_res);
    if (n != leadroute_result_count(rr_res))
        return 0;
    size_t nout = leadroute_table_output_count(table);
    for (size_t i = 0; i < n; i++) {
        if (leadroute_result_rule(rc_res, i) != leadroute_result_rule(rr_res, i))
            return 0;
        for (size_t o = 0; o < nout; o++) {
            if (!value_equal(leadroute_result_output(rc_res, i, o), leadroute_result_output(rr_res, i, o)))
                return 0;
        }
    }
    if (leadroute_table_aggregation(table) != LEADROUTE_AGG_NONE) {
        for (size_t o = 0; o < nout; o++) {
            if (!value_equal(leadroute_result_aggregate(rc_res, o), leadroute_result_aggregate(rr_res, o)))
                return 0;
        }
    }
    return 1;
}

/* Which evaluator the last disagreement was with. */
static const char *g_other = "reference";

/* Evaluate with the compiled evaluator, then with its plain-AND form (no
 * block skipped, lr__table_eval_plain) and with the reference into rr_res;
 * 1 when all three agree. On a difference rr_res holds the other's answer,
 * named by g_other. */
static int agree(const leadroute_table *table, const leadroute_lead *lead, leadroute_result *rc_res,
                 leadroute_result *rr_res, int *rc_out, int *rr_out)
{
    int rc = leadroute_table_eval(table, lead, rc_res);
    int rp = lr__table_eval_plain(table, lead, rr_res);
    *rc_out = rc;
    *rr_out = rp;
    g_other = "plain AND";
    if (!same_result(table, rc, rc_res, rp, rr_res))
        return 0;
    *rr_out = lr__table_eval_reference(table, lead, rr_res);
    g_other = "reference";
    return same_result(table, rc, rc_res, *rr_out, rr_res);
}

static void dump_result(const char *who, const leadroute_table *table, int rc, const leadroute_result *res)
{
    size_t n = leadroute_result_count(res);
    printf("  %s: rc=%d hits=%zu rules=[", who, rc, n);
    for (size_t i = 0; i < n && i < 40; i++)
        printf("%s%zu", i ? " " : "", leadroute_result_rule(res, i));
    printf("%s]", n > 40 ? " ..." : "");
    if (leadroute_table_aggregation(table) != LEADROUTE_AGG_NONE) {
        printf(" aggregates=");
        for (size_t o = 0; o < leadroute_table_output_count(table); o++) {
            printf("%s", o ? ", " : "");
            dump_value(leadroute_result_aggregate(res, o));
        }
    }
    printf("\n");
}

static leadroute_table *compile_text(const char *text, size_t len, int *rc_out)
{
    static unsigned calls;
    leadroute_table_options opt = LEADROUTE_TABLE_OPTIONS_INIT;
    opt.flags = LEADROUTE_TABLE_NO_LINT;
    leadroute_table *table = NULL;
    /* every other table lets sparse outcomes in, as big tables do; every
     * other pair scans with the portable kernel, whatever the CPU; and every
     * other four skip empty blocks, as tables over 2,048 rules do (the
     * others scan every word, as small ones do, which agree() checks
     * against the skipping scan anyway) */
    uint32_t plain_words = lr__plain_scan_words;
    lr__dense_column_bytes = calls % 2 ? 0 : (uint64_t)4 << 20;
    lr__scan_portable_only = (calls / 2) % 2;
    if ((calls / 4) % 2)
        lr__plain_scan_words = 0;
    calls++;
    *rc_out = leadroute_table_parse(&table, text, len, "differential.csv", &opt);
    lr__dense_column_bytes = (uint64_t)4 << 20;
    lr__scan_portable_only = 0;
    lr__plain_scan_words = plain_words;
    return table;
}

/* Drop rules one at a time while the lead still shows a difference, so the
 * printed table is small enough to read. */
static void shrink_and_report(const gen_table *t, const leadroute_lead *lead)
{
    unsigned char *keep = malloc(t->nrows ? t->nrows : 1);
    assert_non_null(keep);
    memset(keep, 1, t->nrows);
    for (size_t i = 0; i < t->nrows && t->nrows <= 1200; i++) {
        keep[i] = 0;
        size_t len;
        char *text = gen_table_text(t, keep, &len);
        int rc;
        leadroute_table *table = compile_text(text, len, &rc);
        int still = 0;
        if (table) {
            leadroute_result *a = NULL, *b = NULL;
            if (leadroute_result_new(&a, table, NULL) == LEADROUTE_OK &&
                leadroute_result_new(&b, table, NULL) == LEADROUTE_OK) {
                int x, y;
                still = !agree(table, lead, a, b, &x, &y);
            }
            leadroute_result_free(a);
            leadroute_result_free(b);
            leadroute_table_unref(table);
        }
        free(text);
        if (!still)
            keep[i] = 1;
    }
    size_t len;
    char *text = gen_table_text(t, keep, &len);
    int rc;
    leadroute_table *table = compile_text(text, len, &rc);
    printf("  shrunk table:\n----\n%s----\n", text);
    dump_lead(lead);
    if (table) {
        leadroute_result *a = NULL, *b = NULL;
        leadroute_result_new(&a, table, NULL);
        leadroute_result_new(&b, table, NULL);
        int x, y;
        agree(table, lead, a, b, &x, &y);
        dump_result(g_other, table, y, b);
        dump_result("compiled", table, x, a);
        leadroute_result_free(a);
        leadroute_result_free(b);
        leadroute_table_unref(table);
    }
    free(text);
    free(keep);
}

/* ------------------------------------------------------------------------ */
/* Driver. */

static double g_scale = 1.0;
static int g_reports, g_reports_elead;
static leadroute_result *g_ra, *g_rb;  /* shared by tables that reuse results */
static uint64_t g_seed_offset;        /* LEADROUTE_DIFF_SEED: explore other tables */
static uint64_t g_tables, g_skipped, g_comparisons, g_differences, g_hits, g_errors, g_errors_lead, g_errors_policy;

typedef struct run_stats {
    uint64_t tables, skipped, rejected, comparisons, differences, elead_differences;
} run_stats;

/* Generate one table from `seed`, compare `nleads` leads. */
static void run_table(uint64_t seed, size_t nrules, size_t nleads, run_stats *st)
{
    gen_table t;
    gen_table_make(&t, seed, nrules);
    size_t len;
    char *text = gen_table_text(&t, NULL, &len);
    int rc;
    leadroute_table *table = compile_text(text, len, &rc);
    if (t.expect_error) {
        /* An empty interval was written on purpose: the spec makes it a table error. */
        if (table || (rc != LEADROUTE_EPARSE && rc != LEADROUTE_ETABLE)) {
            printf("seed %llu: table with an empty interval: expected EPARSE/ETABLE, got %d\n----\n%s----\n",
                   (unsigned long long)seed, rc, text);
            st->differences++;
        }
        st->skipped++;
        leadroute_table_unref(table);
        free(text);
        gen_table_free(&t);
        return;
    }
    if (!table) {
        /* Every other generated table is valid per the spec: a rejection is a failure. */
        if (g_reports++ < 5)
            printf("seed %llu: valid generated table rejected: rc %d: %s\n----\n%s----\n",
                   (unsigned long long)seed, rc, leadroute_error_last()->message,
                   nrules <= 300 ? text : "(large table not printed)\n");
        st->differences++;
        st->rejected++;
        free(text);
        gen_table_free(&t);
        return;
    }
    assert_int_equal(leadroute_table_rule_count(table), nrules);
    assert_int_equal(leadroute_table_hit_policy(table), t.policy);
    assert_int_equal(leadroute_table_aggregation(table), t.agg);
    assert_int_equal(leadroute_table_input_count(table), (size_t)t.ncols);

    /* Odd seeds reuse results made for earlier tables (grown with
     * leadroute_result_reserve), so stale state from another table shows. */
    leadroute_result *ra = NULL, *rb = NULL;
    int reuse = (int)(seed & 1);
    if (reuse) {
        if (!g_ra) {
            assert_int_equal(leadroute_result_new(&g_ra, table, NULL), LEADROUTE_OK);
            assert_int_equal(leadroute_result_new(&g_rb, table, NULL), LEADROUTE_OK);
        }
        assert_int_equal(leadroute_result_reserve(g_ra, table), LEADROUTE_OK);
        assert_int_equal(leadroute_result_reserve(g_rb, table), LEADROUTE_OK);
        ra = g_ra;
        rb = g_rb;
    } else {
        assert_int_equal(leadroute_result_new(&ra, table, NULL), LEADROUTE_OK);
        assert_int_equal(leadroute_result_new(&rb, table, NULL), LEADROUTE_OK);
    }

    rng r = {seed ^ 0xA5A5A5A5DEADBEEFull};
    gen_lead g;
    int reported = 0;
    for (size_t i = 0; i < nleads; i++) {
        gen_lead_make(&r, &t, table, &g);
        int x, y;
        st->comparisons++;
        if (!agree(table, &g.lead, ra, rb, &x, &y)) {
            st->differences++;
            /* Kept apart so that one kind of difference does not hide the others. */
            int lead_err = (x == LEADROUTE_ELEAD) != (y == LEADROUTE_ELEAD);
            if (lead_err)
                st->elead_differences++;
            int *budget = lead_err ? &g_reports_elead : &g_reports;
            if (reported++ < 1 && (*budget)++ < 3) {
                printf("DIFFERENCE seed %llu (table %zu rules, lead #%zu)\n", (unsigned long long)seed, nrules, i);
                dump_lead(&g.lead);
                dump_result(g_other, table, y, rb);
                dump_result("compiled", table, x, ra);
                shrink_and_report(&t, &g.lead);
            }
            continue;
        }
        g_hits += leadroute_result_count(ra);
        if (x == LEADROUTE_ERANGE || x == LEADROUTE_EINVAL || x == LEADROUTE_EVERSION) {
            /* Results are always reserved and leads well formed: both failing alike is still wrong. */
            if (g_reports++ < 5)
                printf("seed %llu lead #%zu: both evaluators returned %d: %s\n", (unsigned long long)seed, i, x,
                       leadroute_error_last()->message);
            st->differences++;
        }
        if (x == LEADROUTE_ELEAD)
            g_errors_lead++;
        else if (x == LEADROUTE_EHITPOLICY)
            g_errors_policy++;
        else if (x != LEADROUTE_OK)
            g_errors++;
    }
    st->tables++;
    if (!reuse) {
        leadroute_result_free(ra);
        leadroute_result_free(rb);
    }
    leadroute_table_unref(table);
    free(text);
    gen_table_free(&t);
}

static size_t scaled(size_t n, size_t min)
{
    double v = (double)n * g_scale;
    size_t s = v < 1 ? 0 : (size_t)(v + 0.5);
    return s < min ? min : s;
}

static void finish(const char *name, const run_stats *st)
{
    printf("[differential] %s: %llu tables compared, %llu with an intended table error, %llu valid ones "
           "rejected, %llu comparisons, %llu differences (%llu of them ELEAD on one side only)\n",
           name, (unsigned long long)st->tables, (unsigned long long)st->skipped, (unsigned long long)st->rejected,
           (unsigned long long)st->comparisons, (unsigned long long)st->differences,
           (unsigned long long)st->elead_differences);
    g_tables += st->tables;
    g_skipped += st->skipped;
    g_comparisons += st->comparisons;
    g_differences += st->differences;
    assert_true(st->tables > 0);
    assert_int_equal(st->differences, 0);
}

/* `ntables` tables of lo..lo+span-1 rules, seeded from `base`. */
static void run_random_sizes(const char *name, uint64_t base, size_t ntables, size_t nleads, size_t lo,
                             size_t span)
{
    run_stats st = {0};
    for (size_t i = 0; i < ntables; i++) {
        uint64_t seed = g_seed_offset + base + i;
        rng r = {seed};
        run_table(seed, lo + rng_below(&r, (uint32_t)span), nleads, &st);
    }
    finish(name, &st);
}

/* 1..64 rules: a single bitset word. */
static void test_small_tables(void **state)
{
    (void)state;
    run_random_sizes("small (1-64 rules)", 0x1000000ull, scaled(1500, 3), 400, 1, 64);
}

/* 65..300 rules: several words. */
static void test_medium_tables(void **state)
{
    (void)state;
    run_random_sizes("medium (65-300 rules)", 0x2000000ull, scaled(600, 2), 600, 65, 236);
}

/* Rule counts at word and block boundaries. */
static void test_boundary_tables(void **state)
{
    (void)state;
    static const size_t counts[] = {
        1, 2, 63, 64, 65, 127, 128, 129, 191, 192, 193, 255, 256, 257,
        511, 512, 513, 1023, 1024, 1025, 2047, 2048, 2049,
    };
    run_stats st = {0};
    size_t nleads = scaled(2000, 20);
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
        for (uint64_t k = 0; k < 3; k++) {
            uint64_t seed = g_seed_offset + 0x3000000ull + i * 16 + k;
            run_table(seed, counts[i], nleads, &st);
        }
    }
    finish("boundaries (63..2049 rules)", &st);
}

/* About 5000 rules. */
static void test_big_tables(void **state)
{
    (void)state;
    run_stats st = {0};
    size_t nleads = scaled(20000, 200);
    for (uint64_t k = 0; k < 2; k++) {
        uint64_t seed = g_seed_offset + 0x4000000ull + k;
        run_table(seed, k == 0 ? 5000 : 4999, nleads, &st);
        if (g_scale < 0.1)
            break;
    }
    finish("big (~5000 rules)", &st);
}

/* Which columns the compiler stores dense: each one whose outcomes fit in
 * lr__dense_column_bytes, and bigger ones while they add up to 8 times
 * that; a column past that budget keeps its mostly empty outcomes sparse.
 * 384 rules (6 words, 8 padded: 64 bytes per outcome); `small` has 4
 * outcomes, `b` and `c` one key per rule of one word (42 and 62 outcomes).
 * With 512 bytes per column: small fits, b (2,688 bytes) fits the budget of
 * 4,096, c (3,968 more) does not. Results still agree with the reference. */
static void test_dense_budget(void **state)
{
    (void)state;
    char *text = malloc(64 * 1024);
    assert_non_null(text);
    size_t n = (size_t)sprintf(text, "rule,small,b,c,out:r\n");
    for (int i = 0; i < 384; i++) {
        char b[16] = "-", c[16] = "-";
        if (i >= 64 && i < 104)
            sprintf(b, "b%d", i - 64);
        if (i < 60)
            sprintf(c, "c%d", i);
        n += (size_t)sprintf(text + n, "r%d,%s,%s,%s,%d\n", i, i % 3 ? "x" : "y", b, c, i);
    }
    lr__dense_column_bytes = 512;
    leadroute_table *t = NULL;
    int rc = leadroute_table_parse(&t, text, n, "budget.csv", NULL);
    lr__dense_column_bytes = (uint64_t)4 << 20;
    assert_int_equal(rc, LEADROUTE_OK);

    const uint32_t want_outcomes[3] = {4, 42, 62};
    uint32_t sparse[3] = {0, 0, 0};
    for (uint32_t k = 0; k < 3; k++) {
        const lr__index *ix = &t->index[k];
        assert_int_equal(ix->noutcomes, want_outcomes[k]);
        for (uint32_t o = 0; o < ix->noutcomes; o++)
            sparse[k] += ix->outcomes[o].nnz != LR_DENSE;
    }
    assert_int_equal(sparse[0], 0);
    assert_int_equal(sparse[1], 0);
    assert_int_equal(sparse[2], 62); /* its keys differ from D in one word, null and other in none */

    leadroute_result *ra = NULL, *rb = NULL;
    assert_int_equal(leadroute_result_new(&ra, t, NULL), LEADROUTE_OK);
    assert_int_equal(leadroute_result_new(&rb, t, NULL), LEADROUTE_OK);
    for (int i = 0; i < 200; i++) {
        char b[16], c[16];
        sprintf(b, "b%d", i % 45);
        sprintf(c, "c%d", (i * 7) % 65);
        leadroute_field f[3] = {
            {"small", {LEADROUTE_VALUE_VERSION, LEADROUTE_VALUE_STRING, i % 2 ? "x" : "y", 0, 0, NULL, 0}},
            {"b", {LEADROUTE_VALUE_VERSION, LEADROUTE_VALUE_STRING, b, 0, 0, NULL, 0}},
            {"c", {LEADROUTE_VALUE_VERSION, LEADROUTE_VALUE_STRING, c, 0, 0, NULL, 0}},
        };
        leadroute_lead lead = LEADROUTE_LEAD_INIT;
        lead.fields = f;
        lead.field_count = 3;
        assert_int_equal(leadroute_table_eval(t, &lead, ra), LEADROUTE_OK);
        assert_int_equal(lr__table_eval_reference(t, &lead, rb), LEADROUTE_OK);
        assert_int_equal(leadroute_result_count(ra), 1);
        assert_int_equal(leadroute_result_count(rb), 1);
        assert_int_equal(leadroute_result_rule(ra, 0), leadroute_result_rule(rb, 0));
    }
    leadroute_result_free(ra);
    leadroute_result_free(rb);
    leadroute_table_unref(t);
    free(text);
}

/* Tables of more than 32,768 rules (over LR_SCAN_TOP_MIN blocks of 4,096)
 * skip blocks by the top words of the summaries before reading the
 * summaries themselves. Here one column holds the block a rule is in, so a
 * lead's candidates sit in one or two blocks, the last one included; the
 * selective column is a string column (dense) in the first table and a set
 * column in the second. Every answer agrees with the plain AND and the
 * reference, and a lead of block b hits rules of that block. */
static void test_top_words(void **state)
{
    (void)state;
    enum { NBLOCKS = 10, BLOCK = 4096, NRULES = (NBLOCKS - 1) * BLOCK + 1000 };
    for (int mode = 0; mode < 2; mode++) {
        size_t cap = (size_t)NRULES * 48 + 256, n;
        char *text = malloc(cap);
        assert_non_null(text);
        n = (size_t)sprintf(text, "#! hit_policy: %s\nrule,block,tags:set,n:number,out:r\n",
                            mode ? "first" : "rule order");
        for (int i = 0; i < NRULES; i++) {
            char sel[16];
            sprintf(sel, "%c%d", mode ? 't' : 'b', i / BLOCK);
            n += (size_t)sprintf(text + n, "r%d,%s,%s,>= %d,%d\n", i, mode ? "-" : sel, mode ? sel : "-", i % 50, i);
        }
        assert_true(n < cap);
        leadroute_table *t = NULL;
        assert_int_equal(leadroute_table_parse(&t, text, n, "top.csv", NULL), LEADROUTE_OK);
        assert_true(t->nsum > 8);
        leadroute_result *ra = NULL, *rb = NULL;
        assert_int_equal(leadroute_result_new(&ra, t, NULL), LEADROUTE_OK);
        assert_int_equal(leadroute_result_new(&rb, t, NULL), LEADROUTE_OK);
        for (int b = 0; b <= NBLOCKS; b++) {
            for (int k = 0; k < 3; k++) {
                static const double ns[3] = {0, 25, 60};
                char key[16], key2[16];
                const char *items[2] = {key, key2};
                int rc, rr;
                sprintf(key, "%c%d", mode ? 't' : 'b', b);
                sprintf(key2, "t%d", (b + 3) % NBLOCKS);
                leadroute_field f[2] = {
                    {mode ? "tags" : "block", {LEADROUTE_VALUE_VERSION, LEADROUTE_VALUE_STRING, key, 0, 0, NULL, 0}},
                    {"n", {LEADROUTE_VALUE_VERSION, LEADROUTE_VALUE_NUMBER, NULL, ns[k], 0, NULL, 0}},
                };
                if (mode) {
                    f[0].value.type = LEADROUTE_VALUE_SET;
                    f[0].value.string = NULL;
                    f[0].value.items = items;
                    f[0].value.item_count = k == 2 && b < NBLOCKS ? 2 : 1;
                }
                leadroute_lead lead = LEADROUTE_LEAD_INIT;
                lead.fields = f;
                lead.field_count = 2;
                if (!agree(t, &lead, ra, rb, &rc, &rr)) {
                    dump_lead(&lead);
                    dump_result("compiled", t, rc, ra);
                    dump_result(g_other, t, rr, rb);
                    fail_msg("top words: block %d, n %g: the compiled table and the %s differ", b, ns[k], g_other);
                }
                assert_int_equal(rc, LEADROUTE_OK);
                if (b == NBLOCKS) {
                    assert_int_equal(leadroute_result_count(ra), 0);
                } else {
                    size_t first = leadroute_result_rule(ra, 0);
                    size_t lo = (size_t)b * BLOCK;
                    if (mode && k == 2 && b < NBLOCKS && (size_t)((b + 3) % NBLOCKS) * BLOCK < lo)
                        lo = (size_t)((b + 3) % NBLOCKS) * BLOCK;
                    assert_true(leadroute_result_count(ra) > 0);
                    assert_true(first >= lo && first < lo + BLOCK);
                }
            }
        }
        leadroute_result_free(ra);
        leadroute_result_free(rb);
        leadroute_table_unref(t);
        free(text);
    }
}

/* Keys that differ only in their last byte (the 8th or the 16th, whose
 * bits sit at the top of a key word) spread over the slots: the slot is
 * the top bits of the hash products, which every key byte reaches. So do
 * keys put into a map sized for none, which grows four times on the way. */
static void test_keymap_spread(void **state)
{
    (void)state;
    for (int f = 0; f < 8; f++) {
        lr__alloc a;
        lr__keymap m;
        char keys[52][24];
        uint32_t i, existing, probes = 0, n = 52;
        assert_int_equal(lr__alloc_init(&a, NULL), LEADROUTE_OK);
        assert_int_equal(lr__keymap_init(&m, &a, f < 4 ? n : 0), LEADROUTE_OK);
        for (i = 0; i < n; i++) {
            char last = (char)(i < 26 ? 'A' + i : 'a' + (i - 26));
            if (f % 4 == 0)
                snprintf(keys[i], sizeof keys[i], "product%u", i);
            else if (f % 4 == 1)
                snprintf(keys[i], sizeof keys[i], "SW1A 1A%c", last);
            else if (f % 4 == 2)
                snprintf(keys[i], sizeof keys[i], "abcdefghijklmn%02u", i);
            else
                snprintf(keys[i], sizeof keys[i], "%09u", 100000000u + i);
            assert_int_equal(lr__keymap_put(&m, &a, keys[i], (uint32_t)strlen(keys[i]), i, &existing),
                             LEADROUTE_OK);
        }
        for (i = 0; i < n; i++) {
            uint64_t w0, w1;
            uint32_t s, p = 1;
            lr__key_words(keys[i], strlen(keys[i]), &w0, &w1);
            for (s = lr__key_slot(&m, w0, w1); m.slots[s].w0 != w0 || m.slots[s].w1 != w1; s = (s + 1) & m.mask)
                p++;
            assert_int_equal(m.slots[s].outcome, i);
            probes += p;
        }
        /* one run of n keys would average (n + 1) / 2 probes */
        assert_int_equal(m.mask + 1, 256);
        if (probes > 2 * n)
            fail_msg("keys '%s'...: %u probes for %u keys", keys[0], probes, n);
        lr__keymap_free(&m, &a);
    }
}

static int group_setup(void **state)
{
    (void)state;
    const char *s = getenv("LEADROUTE_DIFF_SCALE");
    if (s && *s) {
        char *end = NULL;
        double v = strtod(s, &end);
        if (end != s && v > 0 && v <= 100)
            g_scale = v;
        else
            fprintf(stderr, "ignoring LEADROUTE_DIFF_SCALE='%s'\n", s);
    }
    s = getenv("LEADROUTE_DIFF_SEED");
    if (s && *s)
        g_seed_offset = strtoull(s, NULL, 0) << 32;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    leadroute_result_free(g_ra);
    leadroute_result_free(g_rb);
    printf("[differential] seed offset %llu\n", (unsigned long long)(g_seed_offset >> 32));
    printf("[differential] total: %llu tables, %llu comparisons (scale %g), %llu hits; agreed results: "
           "%llu ELEAD, %llu EHITPOLICY, %llu other errors; %llu differences\n",
           (unsigned long long)g_tables, (unsigned long long)g_comparisons, g_scale, (unsigned long long)g_hits,
           (unsigned long long)g_errors_lead, (unsigned long long)g_errors_policy, (unsigned long long)g_errors,
           (unsigned long long)g_differences);
    return 0;
}

/* Sparse outcomes far apart: the scan gallops through their word lists
 * when it jumps ahead, and must land on every word it needs. Two columns
 * of a key each, on a few rules spread over up to 78 words (so that the
 * steps of the gallop vary), stored sparse; every hit of the lead holding
 * both keys, as RULE ORDER lists them, against the reference evaluator,
 * with the plain scan and with the skipping one. */
static void test_sparse_gallop(void **state)
{
    static char text[200000];
    rng seed = { 0x5ca77e4ed };
    (void)state;
    for (int round = 0; round < 60; round++) {
        uint32_t nrules = round % 2 ? 1600 : 5000, nw = nrules / 64, npicks = 2 + round % 24, i;
        size_t n = (size_t)snprintf(text, sizeof text, "#! hit_policy: rule order\nrule,a,b,out:x\n");
        char *akey = calloc(nrules, 1), *bkey = calloc(nrules, 1);
        assert_non_null(akey);
        assert_non_null(bkey);
        for (i = 0; i < npicks; i++) {
            uint32_t w = rng_below(&seed, nw), r = w * 64 + rng_below(&seed, 64);
            akey[r] = 1;
            bkey[r] = rng_below(&seed, 3) != 0;
        }
        for (i = 0; i < nrules; i++)
            n += (size_t)snprintf(text + n, sizeof text - n, "r%u,%s,%s,%u\n", i, akey[i] ? "k" : "z",
                                  bkey[i] ? "m" : "n", i);
        assert_true(n < sizeof text);
        for (int skipping = 0; skipping < 2; skipping++) {
            uint32_t plain_words = lr__plain_scan_words;
            leadroute_table *t = NULL;
            leadroute_result *rc = NULL, *rr = NULL;
            leadroute_field f[2] = { { "a", LEADROUTE_VALUE_INIT }, { "b", LEADROUTE_VALUE_INIT } };
            leadroute_lead l = LEADROUTE_LEAD_INIT;
            lr__dense_column_bytes = 0;
            if (skipping)
                lr__plain_scan_words = 0;
            assert_int_equal(leadroute_table_parse(&t, text, n, "gallop.csv", NULL), LEADROUTE_OK);
            lr__dense_column_bytes = (uint64_t)4 << 20;
            lr__plain_scan_words = plain_words;
            assert_int_equal(leadroute_result_new(&rc, t, NULL), LEADROUTE_OK);
            assert_int_equal(leadroute_result_new(&rr, t, NULL), LEADROUTE_OK);
            f[0].value.type = f[1].value.type = LEADROUTE_VALUE_STRING;
            f[0].value.string = "k";
            f[1].value.string = "m";
            l.id = "L";
            l.fields = f;
            l.field_count = 2;
            assert_int_equal(leadroute_table_eval(t, &l, rc), LEADROUTE_OK);
            assert_int_equal(lr__table_eval_reference(t, &l, rr), LEADROUTE_OK);
            if (leadroute_result_count(rc) != leadroute_result_count(rr))
                fail_msg("round %d (%u rules, %u picks, skipping %d): %zu hits, the reference %zu", round, nrules,
                         npicks, skipping, leadroute_result_count(rc), leadroute_result_count(rr));
            for (size_t h = 0; h < leadroute_result_count(rr); h++)
                assert_string_equal(leadroute_result_rule_id(rc, h), leadroute_result_rule_id(rr, h));
            leadroute_result_free(rc);
            leadroute_result_free(rr);
            leadroute_table_unref(t);
        }
        free(akey);
        free(bkey);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_tables),
        cmocka_unit_test(test_medium_tables),
        cmocka_unit_test(test_boundary_tables),
        cmocka_unit_test(test_big_tables),
        cmocka_unit_test(test_dense_budget),
        cmocka_unit_test(test_top_words),
        cmocka_unit_test(test_keymap_spread),
        cmocka_unit_test(test_sparse_gallop),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
