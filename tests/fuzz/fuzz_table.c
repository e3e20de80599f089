/*
 * fuzz_table: any bytes as a decision table.
 *
 * The first byte picks options (lint or not, dense or sparse compiled
 * columns, scan with or without skipping); the rest is the table text. The text is parsed with and without
 * lint: both must agree. When it compiles, every getter is read, and leads
 * made of the table's own words and numbers (and their neighbours) are
 * evaluated by the compiled index and by the reference evaluator, which
 * must agree exactly.
 * SPDX-License-Identifier: MIT
 */
#include <ctype.h>
#include <math.h>

#include "fuzz_common.h"
/* compile.c: the size under which compiled columns stay dense, and the one
 * under which tables scan without skipping (internal) */
extern uint64_t lr__dense_column_bytes;
extern uint32_t lr__plain_scan_words;

#define TOKENS_MAX 48
#define TOKEN_LEN 40
#define LEADS_PER_INPUT 12

typedef struct token_pool {
    char text[TOKENS_MAX][TOKEN_LEN + 1];
    size_t count;
    double numbers[TOKENS_MAX * 3];
    size_t number_count;
} token_pool;

/* Words of the table text (cells split on the characters the cell syntax
 * uses), and every number among them with its two neighbours, so that
 * comparisons and interval ends are probed on both sides. */
static void collect_tokens(token_pool *p, const char *text, size_t length)
{
    static const char separators[] = ",;\"()[]<>=!\n\r\t *";
    size_t i = 0;
    p->count = p->number_count = 0;
    while (i < length && p->count < TOKENS_MAX) {
        while (i < length && (strchr(separators, text[i]) || text[i] == 0))
            i++;
        size_t start = i;
        while (i < length && text[i] && !strchr(separators, text[i]))
            i++;
        size_t n = i - start;
        if (n == 0 || n > TOKEN_LEN)
            continue;
        memcpy(p->text[p->count], text + start, n);
        p->text[p->count][n] = 0;
        /* interval ends such as "5..10" give both numbers */
        char *dots = strstr(p->text[p->count], "..");
        char *end;
        double d = strtod(p->text[p->count], &end);
        if (end != p->text[p->count] && isfinite(d) && p->number_count + 3 <= TOKENS_MAX * 3) {
            p->numbers[p->number_count++] = d;
            p->numbers[p->number_count++] = nextafter(d, -INFINITY);
            p->numbers[p->number_count++] = nextafter(d, INFINITY);
        }
        if (dots) {
            d = strtod(dots + 2, &end);
            if (end != dots + 2 && isfinite(d) && p->number_count + 1 <= TOKENS_MAX * 3)
                p->numbers[p->number_count++] = d;
        }
        p->count++;
    }
}

typedef struct lead_space {
    leadroute_field fields[LEADROUTE_MAX_COLUMNS + 2];
    const char *items[LEADROUTE_MAX_COLUMNS][4];
    char scratch[LEADROUTE_MAX_COLUMNS][TOKEN_LEN + 2];
    char number_text[LEADROUTE_MAX_COLUMNS][32];
    leadroute_lead lead;
} lead_space;

static const char *pick_word(const token_pool *p, uint64_t *rng)
{
    static const char *const fallback[] = { "", " ", "EMEA", "true", "null", "-", "0" };
    if (p->count == 0 || fuzz_rand(rng) % 8 == 0)
        return fallback[fuzz_rand(rng) % (sizeof fallback / sizeof *fallback)];
    return p->text[fuzz_rand(rng) % p->count];
}

static double pick_number(const token_pool *p, uint64_t *rng)
{
    static const double edges[] = { 0.0, -0.0, 1.0, -1.0, 1e308, -1e308, 5e-324 };
    if (p->number_count == 0 || fuzz_rand(rng) % 6 == 0)
        return edges[fuzz_rand(rng) % (sizeof edges / sizeof *edges)];
    return p->numbers[fuzz_rand(rng) % p->number_count];
}

/* One lead: each input column gets a value of its type, a value of another
 * type, a variant of a word (prefix, case change), or nothing. */
static void make_lead(lead_space *s, const leadroute_table *table, const token_pool *p, uint64_t *rng)
{
    size_t ninputs = leadroute_table_input_count(table), n = 0;
    for (size_t c = 0; c < ninputs && n < LEADROUTE_MAX_COLUMNS; c++) {
        uint64_t r = fuzz_rand(rng);
        if (r % 7 == 0)
            continue; /* missing */
        leadroute_field *f = &s->fields[n];
        leadroute_value v = LEADROUTE_VALUE_INIT;
        f->name = leadroute_table_input_name(table, c);
        uint32_t type = leadroute_table_input_type(table, c);
        if ((r >> 8) % 5 == 0)
            type = 1 + (uint32_t)((r >> 16) % 4); /* a value of another type */
        switch (type) {
        case LEADROUTE_TYPE_NUMBER:
            if ((r >> 24) % 3 == 0) {
                snprintf(s->number_text[n], sizeof s->number_text[n], "%.17g", pick_number(p, rng));
                v.type = LEADROUTE_VALUE_STRING;
                v.string = s->number_text[n];
            } else {
                v.type = LEADROUTE_VALUE_NUMBER;
                v.number = pick_number(p, rng);
            }
            break;
        case LEADROUTE_TYPE_BOOL:
            v.type = LEADROUTE_VALUE_BOOL;
            v.boolean = (int)((r >> 24) % 3);
            break;
        case LEADROUTE_TYPE_SET: {
            size_t k = (size_t)((r >> 24) % 4);
            for (size_t i = 0; i < k; i++)
                s->items[n][i] = pick_word(p, rng);
            v.type = LEADROUTE_VALUE_SET;
            v.items = s->items[n];
            v.item_count = k;
            break;
        }
        default: {
            const char *w = pick_word(p, rng);
            size_t len = strlen(w);
            v.type = LEADROUTE_VALUE_STRING;
            switch ((r >> 24) % 4) {
            case 0: /* a prefix */
                len = len ? (size_t)(fuzz_rand(rng) % (len + 1)) : 0;
                memcpy(s->scratch[n], w, len);
                s->scratch[n][len] = 0;
                v.string = s->scratch[n];
                break;
            case 1: /* case changed, for :ci columns */
                for (size_t i = 0; i <= len; i++)
                    s->scratch[n][i] = (char)(isupper((unsigned char)w[i]) ? tolower((unsigned char)w[i])
                                                                           : toupper((unsigned char)w[i]));
                v.string = s->scratch[n];
                break;
            case 2: /* padded: lead strings are trimmed */
                snprintf(s->scratch[n], sizeof s->scratch[n], " %.*s", TOKEN_LEN - 1, w);
                v.string = s->scratch[n];
                break;
            default:
                v.string = w;
                break;
            }
            break;
        }
        }
        f->value = v;
        n++;
    }
    leadroute_lead l = LEADROUTE_LEAD_INIT;
    l.id = "fuzz";
    l.fields = s->fields;
    l.field_count = n;
    /* sometimes the fields come in reverse order, so lookups by name run */
    if (n > 1 && fuzz_rand(rng) % 3 == 0) {
        for (size_t i = 0; i < n / 2; i++) {
            leadroute_field t = s->fields[i];
            s->fields[i] = s->fields[n - 1 - i];
            s->fields[n - 1 - i] = t;
        }
    }
    s->lead = l;
}

static volatile size_t fuzz_sink;

static void read_getters(const leadroute_table *t)
{
    size_t sink = strlen(leadroute_table_name(t)) + strlen(leadroute_table_version(t));
    for (size_t i = 0; i < leadroute_table_rule_count(t); i++) {
        const char *id = leadroute_table_rule_id(t, i);
        FUZZ_CHECK(id && *id, "rule %zu has no id", i);
        sink += strlen(id) + leadroute_table_rule_line(t, i);
    }
    for (size_t i = 0; i < leadroute_table_input_count(t); i++) {
        FUZZ_CHECK(leadroute_table_input_name(t, i) != NULL, "input %zu has no name", i);
        uint32_t type = leadroute_table_input_type(t, i);
        FUZZ_CHECK(type >= LEADROUTE_TYPE_STRING && type <= LEADROUTE_TYPE_SET, "input %zu type %u", i, type);
    }
    for (size_t i = 0; i < leadroute_table_output_count(t); i++) {
        const char *name = leadroute_table_output_name(t, i);
        FUZZ_CHECK(name != NULL, "output %zu has no name", i);
        int idx = leadroute_table_output_index(t, name);
        FUZZ_CHECK(idx >= 0 && (size_t)idx <= i, "output %s found at %d, not %zu", name, idx, i);
    }
    for (size_t i = 0; i < leadroute_table_diagnostic_count(t); i++) {
        leadroute_diagnostic d = LEADROUTE_DIAGNOSTIC_INIT;
        FUZZ_CHECK(leadroute_table_diagnostic(t, i, &d) == LEADROUTE_OK, "diagnostic %zu unreadable", i);
        FUZZ_CHECK(d.message != NULL, "diagnostic %zu without message", i);
        sink += strlen(d.message);
    }
    FUZZ_CHECK(leadroute_table_memory(t) > 0, "table reports no memory");
    fuzz_sink += sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    const char *text = (const char *)data + 1;
    size_t length = size - 1;

    leadroute_table_options plain = LEADROUTE_TABLE_OPTIONS_INIT;
    leadroute_table_options linted = LEADROUTE_TABLE_OPTIONS_INIT;
    plain.flags = LEADROUTE_TABLE_NO_LINT;
    leadroute_table *table = NULL, *table_lint = NULL;

    /* half the inputs compile to sparse columns, as big tables do, and half
     * to the skipping scan of tables over 2,048 rules */
    uint32_t plain_words = lr__plain_scan_words;
    lr__dense_column_bytes = mode & 1 ? 0 : (uint64_t)4 << 20;
    if (mode & 4)
        lr__plain_scan_words = 0;
    int rc = leadroute_table_parse(&table, text, length, "fuzz.csv", &plain);
    FUZZ_CHECK((rc == LEADROUTE_OK) == (table != NULL), "parse returned %d with table %p", rc, (void *)table);
    if (rc != LEADROUTE_OK)
        FUZZ_CHECK(leadroute_error_last()->code == rc && leadroute_error_last()->message[0],
                   "parse failed (%d) without an error message", rc);
    if (mode & 2) {
        int rl = leadroute_table_parse(&table_lint, text, length, "fuzz.csv", &linted);
        FUZZ_CHECK(rl == rc, "parse with lint returned %d, without %d", rl, rc);
        if (table_lint) {
            FUZZ_CHECK(leadroute_table_hash(table_lint) == leadroute_table_hash(table),
                       "lint changed the table hash");
            read_getters(table_lint);
        }
    }
    lr__dense_column_bytes = (uint64_t)4 << 20;
    lr__plain_scan_words = plain_words;
    if (!table) {
        leadroute_table_unref(table_lint);
        return 0;
    }
    read_getters(table);

    leadroute_result *compiled = NULL, *reference = NULL;
    if (leadroute_result_new(&compiled, table, NULL) != LEADROUTE_OK ||
        leadroute_result_new(&reference, table, NULL) != LEADROUTE_OK)
        fuzz_fail("result_new failed: %s", leadroute_error_last()->message);

    static token_pool pool;
    static lead_space space;
    collect_tokens(&pool, text, length);
    uint64_t rng = fuzz_hash(data, size);
    for (int i = 0; i < LEADS_PER_INPUT; i++) {
        make_lead(&space, table, &pool, &rng);
        int er = fuzz_eval_both(table, &space.lead, compiled, reference);
        if (er == LEADROUTE_OK && leadroute_lead_validate(&space.lead) == LEADROUTE_OK && table_lint)
            fuzz_eval_both(table_lint, &space.lead, compiled, reference);
    }
    leadroute_result_free(compiled);
    leadroute_result_free(reference);
    leadroute_table_unref(table);
    leadroute_table_unref(table_lint);
    return 0;
}
