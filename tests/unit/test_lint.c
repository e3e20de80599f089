/* Lint: shadowed rules, UNIQUE overlaps, missing catch-all, priorities. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "leadroute/leadroute.h"
#include "base/value.h"
#include "table/internal.h"
#include "testutil.h"

/* The bounds lint and compiling work within, as the library sets them.
 * Tests lower them to reach a bound on a small table; each test starts
 * and ends with them reset (bounds_fixture), so that a test that fails
 * before it restores them leaks no lowered bound into the tests after. */
typedef struct lint_bounds {
    size_t scratch_bytes, memo_bytes;
    uint32_t nomatch_steps;
    uint64_t pairwise_words, nomatch_words, dense_column_bytes;
} lint_bounds;

static lint_bounds defaults;

static void bounds_restore(void)
{
    lr__lint_scratch_bytes = defaults.scratch_bytes;
    lr__lint_memo_bytes = defaults.memo_bytes;
    lr__lint_nomatch_steps = defaults.nomatch_steps;
    lr__lint_pairwise_words = defaults.pairwise_words;
    lr__lint_nomatch_words = defaults.nomatch_words;
    lr__dense_column_bytes = defaults.dense_column_bytes;
}

static int bounds_fixture(void **state)
{
    (void)state;
    bounds_restore();
    return 0;
}

static leadroute_diagnostic diag(const leadroute_table *t, size_t i)
{
    leadroute_diagnostic d = LEADROUTE_DIAGNOSTIC_INIT;
    int rc = leadroute_table_diagnostic(t, i, &d);
    if (rc != LEADROUTE_OK)
        fail_msg("diagnostic %zu: %d %s", i, rc, leadroute_error_last()->message);
    assert_non_null(d.message);
    return d;
}

static size_t count_kind(const leadroute_table *t, uint32_t kind)
{
    size_t n = 0;
    for (size_t i = 0; i < leadroute_table_diagnostic_count(t); i++)
        if (diag(t, i).kind == kind)
            n++;
    return n;
}

/* The first diagnostic of `kind` (fails if none). */
static leadroute_diagnostic find_kind(const leadroute_table *t, uint32_t kind)
{
    for (size_t i = 0; i < leadroute_table_diagnostic_count(t); i++) {
        leadroute_diagnostic d = diag(t, i);
        if (d.kind == kind)
            return d;
    }
    fail_msg("no diagnostic of kind %u", (unsigned)kind);
    leadroute_diagnostic none = LEADROUTE_DIAGNOSTIC_INIT;
    return none;
}

static void dump(const leadroute_table *t)
{
    for (size_t i = 0; i < leadroute_table_diagnostic_count(t); i++)
        print_message("  diag %zu: %s\n", i, diag(t, i).message);
}

static void expect_count(const leadroute_table *t, size_t n)
{
    if (leadroute_table_diagnostic_count(t) != n) {
        dump(t);
        fail_msg("want %zu diagnostics, got %zu", n, leadroute_table_diagnostic_count(t));
    }
}

/* A table with the pairwise checks' word budget lowered to `words`. */
static leadroute_table *parse_with_pairwise_words(const char *text, uint64_t words)
{
    lr__lint_pairwise_words = words;
    leadroute_table *t = parse_ok(text);
    bounds_restore();
    return t;
}

/* The table's only finding: `rule` can never fire, shadowed by `other`
 * (NULL: by several rules together). Returns it for further checks. */
static leadroute_diagnostic expect_one_shadowed(const leadroute_table *t, const char *rule, const char *other)
{
    expect_count(t, 1);
    leadroute_diagnostic d = diag(t, 0);
    assert_int_equal(d.kind, LEADROUTE_DIAG_SHADOWED);
    assert_string_equal(d.rule_id, rule);
    if (other)
        assert_string_equal(d.other_rule_id, other);
    else
        assert_null(d.other_rule_id);
    return d;
}

/* --- witness "field=value; ..." back into a lead -------------------------- */

/* Witnesses are not bounded by a buffer of the library: values and set
 * items may be up to LEADROUTE_MAX_STRING bytes each. */
#define WLEAD_ITEMS 256
typedef struct wlead {
    tlead l;
    char buf[1 << 15];
    const char *items[TL_MAX][WLEAD_ITEMS];
} wlead;

/* Remove surrounding quotes (with \" and \\ escapes) in place. */
static char *unquote(char *s)
{
    while (*s == ' ')
        s++;
    size_t n = strlen(s);
    while (n && s[n - 1] == ' ')
        s[--n] = '\0';
    if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
        char *w = s;
        for (char *p = s + 1; p < s + n - 1; p++) {
            if (*p == '\\' && p + 1 < s + n - 1)
                p++;
            *w++ = *p;
        }
        *w = '\0';
    }
    return s;
}

/* Split at `sep` outside double quotes. */
static char *split_next(char **cursor, char sep)
{
    char *start = *cursor;
    if (start == NULL)
        return NULL;
    int inq = 0;
    for (char *p = start; *p; p++) {
        if (*p == '\\' && inq && p[1]) {
            p++;
            continue;
        }
        if (*p == '"')
            inq = !inq;
        else if (*p == sep && !inq) {
            *p = '\0';
            *cursor = p + 1;
            return start;
        }
    }
    *cursor = NULL;
    return start;
}

static void witness_lead(wlead *w, const leadroute_table *t, const char *witness)
{
    tl_init(&w->l);
    assert_non_null(witness);
    assert_true(strlen(witness) < sizeof w->buf);
    strcpy(w->buf, witness);
    char *cur = w->buf;
    char *part;
    while ((part = split_next(&cur, ';')) != NULL) {
        while (*part == ' ')
            part++;
        if (*part == '\0')
            continue;
        /* the first '=' outside quotes: a quoted field name may hold one */
        char *val = part, *name = split_next(&val, '=');
        if (val == NULL && part[0] == '(' && part[strlen(part) - 1] == ')')
            continue;                     /* a remark such as "(every field missing)" */
        if (val == NULL)
            fail_msg("witness '%s': no '=' in '%s'", witness, part);
        name = unquote(name);
        while (*val == ' ')
            val++;
        size_t vn = strlen(val);
        while (vn && val[vn - 1] == ' ')
            val[--vn] = '\0';
        if (vn == 0 || strcmp(val, "null") == 0)
            continue;                     /* a missing field */
        int is_set = 0;
        for (size_t i = 0; i < leadroute_table_input_count(t); i++)
            if (strcmp(leadroute_table_input_name(t, i), name) == 0 &&
                leadroute_table_input_type(t, i) == LEADROUTE_TYPE_SET)
                is_set = 1;
        if (is_set) {
            /* A set is written {a, b} or [a, b] or a, b. */
            size_t idx = w->l.lead.field_count;
            char *ic = val;
            if (vn >= 2 && (val[0] == '{' || val[0] == '[')) {
                val[vn - 1] = '\0';
                ic = val + 1;
            }
            size_t n = 0;
            char *item;
            while ((item = split_next(&ic, ',')) != NULL && n < WLEAD_ITEMS) {
                item = unquote(item);
                if (*item)
                    w->items[idx][n++] = item;
            }
            tl_set(&w->l, name, w->items[idx], n);
        } else {
            /* Number and bool columns read strings too. */
            tl_str(&w->l, name, unquote(val));
        }
    }
}

/* --- FIRST: shadowed rules ------------------------------------------------- */

static void test_shadowed_by_one_rule(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok(
        "#! hit_policy: first\n"            /* 1 */
        "rule,region,n:number,out:o\n"      /* 2 */
        "wide,EMEA,-,a\n"                   /* 3 */
        "narrow,EMEA,>= 10,b\n"             /* 4 */
        "other,NA,-,c\n"                    /* 5 */
        "all,-,-,d\n");                     /* 6 */
    expect_count(t, 1);
    leadroute_diagnostic d = diag(t, 0);
    assert_int_equal(d.kind, LEADROUTE_DIAG_SHADOWED);
    assert_string_equal(d.rule_id, "narrow");
    assert_int_equal(d.line, 4);
    assert_non_null(d.other_rule_id);
    assert_string_equal(d.other_rule_id, "wide");
    assert_int_equal(d.other_line, 3);
    if (strstr(d.message, "t.csv:4") == NULL)
        fail_msg("message '%s' lacks t.csv:4", d.message);
    if (strstr(d.message, "narrow") == NULL || strstr(d.message, "wide") == NULL)
        fail_msg("message '%s' does not name both rules", d.message);
    /* the earlier rule is located too, by its own line */
    if (strstr(d.message, "rule 'wide' (line 3)") == NULL)
        fail_msg("message '%s' lacks the line of 'wide'", d.message);
    leadroute_table_unref(t);
}

static void test_shadowed_by_union(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok(
        "rule,region,n:number,out:o\n"      /* 1 */
        "lo,-,< 10,a\n"                     /* 2 */
        "hi,-,>= 10,b\n"                    /* 3 */
        "mid,EMEA,[5..20],c\n"              /* 4 */
        "all,-,-,d\n");                     /* 5 */
    leadroute_diagnostic d = expect_one_shadowed(t, "mid", NULL); /* no single rule covers it */
    assert_int_equal(d.line, 4);
    assert_int_equal(d.other_line, 0);
    if (strstr(d.message, "t.csv:4: rule 'mid' can never fire") != d.message)
        fail_msg("message '%s' does not start at rule 'mid' on line 4", d.message);
    leadroute_table_unref(t);

    /* Two closed intervals that meet cover the range between them ... */
    t = parse_ok(
        "rule,n:number,out:o\n"
        "a,[0..10],a\n"
        "b,(10..20],b\n"
        "c,[5..15],c\n"
        "all,-,d\n");
    expect_one_shadowed(t, "c", NULL);
    leadroute_table_unref(t);

    /* ... but not when 10 falls between them. */
    t = parse_ok(
        "rule,n:number,out:o\n"
        "a,[0..10),a\n"
        "b,(10..20],b\n"
        "c,[5..15],c\n"
        "all,-,d\n");
    expect_count(t, 0);
    tlead l;
    tl_init(&l);
    tl_num(&l, "n", 10);
    assert_string_equal(hits(t, &l), "c");
    leadroute_table_unref(t);
}

static void test_not_shadowed(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok(
        "rule,region,n:number,out:o\n"
        "a,EMEA,< 10,x\n"
        "b,EMEA,-,y\n"
        "c,-,-,z\n");
    expect_count(t, 0);
    leadroute_table_unref(t);
}

static void test_shadow_reasoning_per_column_type(void **state)
{
    (void)state;
    struct { const char *col, *first, *second; int shadowed; } cases[] = {
        { "country", "\"DE, AT\"", "DE", 1 },
        { "country", "DE", "\"DE, AT\"", 0 },
        { "country", "not(DE)", "AT", 1 },
        { "country", "not(DE)", "\"not(DE, AT)\"", 1 },
        { "country", "\"not(DE, AT)\"", "not(DE)", 0 },
        { "country", "!= DE", "null", 1 },       /* missing is not DE */
        { "country", "DE", "null", 0 },
        { "country:ci", "de", "DE", 1 },
        { "country", "de", "DE", 0 },
        { "postal", "94*", "941*", 1 },
        { "postal", "941*", "94*", 0 },
        { "postal", "94*", "94107", 1 },
        { "n:number", ">= 10", "[20..30]", 1 },
        { "n:number", "> 10", "[10..30]", 0 },
        { "n:number", "[1..5]", "3", 1 },
        { "n:number", "not(3)", "4", 1 },
        { "flag:bool", "true", "true", 1 },
        { "flag:bool", "true", "false", 0 },
        { "tags:set", "crm", "crm", 1 },
        { "tags:set", "\"crm, erp\"", "erp", 1 },
        { "tags:set", "not(crm)", "null", 1 },
        { "tags:set", "not(crm)", "ads", 0 },    /* {ads, crm} fails not(crm) */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, "rule,%s,out:o\nfirst,%s,a\nsecond,%s,b\nall,-,c\n", cases[i].col,
                 cases[i].first, cases[i].second);
        leadroute_table *t = parse_ok(text);
        size_t n = count_kind(t, LEADROUTE_DIAG_SHADOWED);
        if (n != (size_t)cases[i].shadowed) {
            dump(t);
            fail_msg("case %zu (%s: '%s' then '%s'): want %d shadowed, got %zu", i, cases[i].col,
                     cases[i].first, cases[i].second, cases[i].shadowed, n);
        }
        if (n) {
            leadroute_diagnostic d = find_kind(t, LEADROUTE_DIAG_SHADOWED);
            assert_string_equal(d.rule_id, "second");
            assert_string_equal(d.other_rule_id, "first");
        }
        leadroute_table_unref(t);
    }
}

/* No single earlier rule covers 'j', but the four together do, in its
 * last column: lint walks all 4 x 4 x 4 x 4 combinations of j's values. */
static void test_shadowed_by_union_over_columns(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok(
        "rule,c1,c2,c3,c4,out:o\n"
        "ra,-,-,-,a,x\n"
        "rb,-,-,-,b,x\n"
        "rc,-,-,-,c,x\n"
        "rd,-,-,-,d,x\n"
        "j,\"a, b, c, d\",\"a, b, c, d\",\"a, b, c, d\",\"a, b, c, d\",y\n"
        "all,-,-,-,-,z\n");
    expect_one_shadowed(t, "j", NULL);
    leadroute_table_unref(t);
}

/* 'j' fires on the lead with every field missing, found last (missing is
 * each column's last class) after thousands of covered combinations: the
 * search stops at its bound first, and a notice says that whether j can
 * fire is not known, rather than nothing at all. */
static void test_shadow_search_cut_short_says_so(void **state)
{
    (void)state;
    char text[1024];
    size_t n = 0;
    n += (size_t)snprintf(text + n, sizeof text - n, "rule,c1,c2,c3,c4,c5,c6,c7,c8,out:o\n");
    const char *last[] = { "a", "b", "c", "null" };
    for (int i = 0; i < 4; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "r%d,\"a, b, c\",-,-,-,-,-,-,%s,x\n", i, last[i]);
    n += (size_t)snprintf(text + n, sizeof text - n, "j");
    for (int c = 0; c < 8; c++)
        n += (size_t)snprintf(text + n, sizeof text - n, ",\"a, b, c, null\"");
    n += (size_t)snprintf(text + n, sizeof text - n, ",y\nall,-,-,-,-,-,-,-,-,z\n");
    leadroute_table *t = parse_ok(text);
    expect_count(t, 1);
    leadroute_diagnostic d = diag(t, 0);
    assert_int_equal(d.kind, LEADROUTE_DIAG_SHADOWED_UNDECIDED);
    assert_string_equal(d.rule_id, "j");
    assert_int_equal(d.line, 6);
    assert_null(d.other_rule_id);
    assert_null(d.witness);
    assert_string_equal(d.message, "t.csv:6: lint could not tell whether rule 'j' can fire (whether the rules "
                                   "before it together match every lead it matches): it stopped at its bound "
                                   "of 4096 steps per rule");
    tlead l;
    tl_init(&l);
    assert_string_equal(hits(t, &l), "j");
    leadroute_table_unref(t);
}

/* When the work budget of the pairwise checks runs out, the rules the
 * shadow check did not reach are counted in its notice too (r23, which
 * can never fire, among them); the rules before them are still checked. */
static void test_shadow_check_out_of_words(void **state)
{
    (void)state;
    char text[2048], want[512];
    size_t n = (size_t)snprintf(text, sizeof text, "rule,c1,c2,c3,out:o\n");
    for (int r = 0; r < 24; r++)
        n += (size_t)snprintf(text + n, sizeof text - n, "r%d,k%d,-,-,x\n", r, r % 12 == 11 ? 0 : r);
    n += (size_t)snprintf(text + n, sizeof text - n, "all,-,-,-,y\n");
    assert_true(n < sizeof text);
    leadroute_table *t = parse_ok(text);
    expect_count(t, 2); /* r11 and r23 repeat r0's key */
    assert_string_equal(diag(t, 1).rule_id, "r23");
    leadroute_table_unref(t);
    t = parse_with_pairwise_words(text, 120);
    expect_count(t, 2);
    assert_string_equal(diag(t, 0).rule_id, "r11");
    leadroute_diagnostic d = diag(t, 1);
    int first = -1;
    assert_int_equal(d.kind, LEADROUTE_DIAG_SHADOWED_UNDECIDED);
    if (sscanf(d.rule_id, "r%d", &first) != 1 || first <= 11 || first > 23)
        fail_msg("the first rule not checked is '%s'", d.rule_id);
    assert_int_equal(d.line, (uint32_t)first + 2);
    snprintf(want, sizeof want, "t.csv:%d: lint could not tell whether rule 'r%d' and %d later rules can fire "
             "(whether the rules before each one together match every lead it matches): it stopped when its "
             "budget of 120 words of bitset work ran out", first + 2, first, 24 - first);
    assert_string_equal(d.message, want);
    leadroute_table_unref(t);
}

/* A rule whose cell accepts no value fires for no lead, first or not:
 * said as such, with no earlier rule named (one would cover it only
 * vacuously). */
static void test_shadow_rule_matching_nothing(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok("rule,flag:bool,out:x\nnever,\"not(true, false, null)\",1\nall,-,2\n");
    leadroute_diagnostic d = expect_one_shadowed(t, "never", NULL);
    assert_string_equal(d.message, "t.csv:2: rule 'never' can never fire: no lead matches it (its cell in column "
                                   "'flag' accepts no value)");
    leadroute_table_unref(t);
    t = parse_ok("rule,n:number,out:x\nnever,> 1.7976931348623157e308,1\nall,-,2\n");
    expect_one_shadowed(t, "never", NULL);
    leadroute_table_unref(t);
    /* after another rule: the same words, not "rule 'first' before it" */
    t = parse_ok("rule,flag:bool,n:number,out:x\nfirst,true,-,0\nnever,-,> 1.7976931348623157e308,1\nall,-,-,2\n");
    d = expect_one_shadowed(t, "never", NULL);
    assert_non_null(strstr(d.message, "no lead matches it (its cell in column 'n' accepts no value)"));
    leadroute_table_unref(t);
    /* a cell that accepts only null still matches a lead */
    t = parse_ok("rule,flag:bool,out:x\nonly-null,\"not(true, false)\",1\nall,-,2\n");
    expect_count(t, 0);
    leadroute_table_unref(t);
}

/* A table the shadow check would need more than its budget for is not
 * checked at all, and says so as when the budget runs out partway: the
 * notice counts every rule after the first ('dup', an exact copy of r0
 * that never fires, among them). The check costs 12 rules * 1 word *
 * (3 + 1) columns = 48 words by the estimate; with one word more it
 * starts. */
static void test_shadow_check_too_big_to_start(void **state)
{
    (void)state;
    char text[1024];
    size_t n = (size_t)snprintf(text, sizeof text, "rule,c1,c2,c3,out:o\n");
    for (int r = 0; r < 10; r++)
        n += (size_t)snprintf(text + n, sizeof text - n, "r%d,k%d,-,-,x\n", r, r);
    n += (size_t)snprintf(text + n, sizeof text - n, "dup,k0,-,-,x\nall,-,-,-,y\n");
    assert_true(n < sizeof text);
    leadroute_table *t = parse_with_pairwise_words(text, 48);
    expect_count(t, 1);
    leadroute_diagnostic d = diag(t, 0);
    assert_int_equal(d.kind, LEADROUTE_DIAG_SHADOWED_UNDECIDED);
    assert_string_equal(d.rule_id, "r1");
    assert_int_equal(d.line, 3);
    assert_null(d.other_rule_id);
    assert_null(d.witness);
    assert_string_equal(d.message, "t.csv:3: lint could not tell whether rule 'r1' and 10 later rules can fire "
                                   "(whether the rules before each one together match every lead it matches): it "
                                   "did not start, as a table this size would need more than its budget of 48 "
                                   "words of bitset work");
    leadroute_table_unref(t);

    /* one word more: it starts, and stops partway */
    t = parse_with_pairwise_words(text, 49);
    expect_count(t, 1);
    d = diag(t, 0);
    assert_int_equal(d.kind, LEADROUTE_DIAG_SHADOWED_UNDECIDED);
    assert_string_not_equal(d.rule_id, "r1");
    if (!strstr(d.message, "it stopped when its budget of 49 words of bitset work ran out"))
        fail_msg("message '%s'", d.message);
    leadroute_table_unref(t);
    t = parse_ok(text);
    expect_one_shadowed(t, "dup", "r0");
    leadroute_table_unref(t);

    /* a table of one rule has nothing to check; shadowing is FIRST's alone */
    t = parse_with_pairwise_words("rule,c1,out:o\nall,-,y\n", 0);
    expect_count(t, 0);
    leadroute_table_unref(t);
    char any[1100];
    snprintf(any, sizeof any, "#! hit_policy: any\n%s", text);
    t = parse_with_pairwise_words(any, 10);
    assert_int_equal(leadroute_table_hit_policy(t), LEADROUTE_HIT_ANY);
    expect_count(t, 0);
    leadroute_table_unref(t);
}

/* Rule 64 starts a new 64-bit word of the rule bitsets: it is compared
 * with the 64 rules before it, and never with itself. */
static void test_findings_across_word_boundary(void **state)
{
    (void)state;
    static char text[4096];
    for (int unique = 0; unique < 2; unique++)
        for (int dup = 0; dup < 2; dup++) {
            size_t n = (size_t)snprintf(text, sizeof text, "#! hit_policy: %s\nrule,s,out:o\n",
                                        unique ? "unique" : "first");
            for (int r = 0; r < 130; r++)
                n += (size_t)snprintf(text + n, sizeof text - n, "r%d,k%d,x\n", r, dup && r == 64 ? 3 : r);
            if (!unique)
                n += (size_t)snprintf(text + n, sizeof text - n, "all,-,z\n");
            leadroute_table *t = parse_ok(text);
            uint32_t kind = unique ? LEADROUTE_DIAG_OVERLAP : LEADROUTE_DIAG_SHADOWED;
            if (count_kind(t, kind) != (size_t)dup) {
                dump(t);
                fail_msg("%s, rule 64 %s: want %d findings of kind %u", unique ? "unique" : "first",
                         dup ? "repeats rule 3" : "distinct", dup, (unsigned)kind);
            }
            if (dup) {
                leadroute_diagnostic d = find_kind(t, kind);
                assert_string_equal(d.rule_id, "r64");
                assert_string_equal(d.other_rule_id, "r3");
            }
            leadroute_table_unref(t);
        }
}

static void test_doc_example_is_clean(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok(
        "#! name: inbound routing\n"
        "#! version: 2026-11\n"
        "#! hit_policy: first\n"
        "rule,region,country,postal,industry,employees:number,score:number,language,out:pool,out:sla_minutes:number\n"
        "vip,-,-,-,-,-,>=90,-,inbound-aces,5\n"
        "ent-emea,EMEA,-,-,-,>=1000,-,-,emea-enterprise,60\n"
        "dach-smb,EMEA,\"DE, AT, CH\",-,-,<1000,-,de,dach-smb,120\n"
        "us-west,NA,US,\"94*, 95*, 98*\",\"software, fintech\",[50..1000),-,-,us-west,120\n"
        "catch-all,-,-,-,-,-,-,-,nurture,1440\n");
    expect_count(t, 0);
    leadroute_table_unref(t);
}

/* --- UNIQUE: overlaps with a witness ---------------------------------------- */

static void check_overlap(const char *text, const char *a, const char *b)
{
    leadroute_table *t = parse_ok(text);
    if (count_kind(t, LEADROUTE_DIAG_OVERLAP) != 1) {
        dump(t);
        fail_msg("want one overlap");
    }
    leadroute_diagnostic d = find_kind(t, LEADROUTE_DIAG_OVERLAP);
    assert_non_null(d.rule_id);
    assert_non_null(d.other_rule_id);
    int ab = strcmp(d.rule_id, a) == 0 && strcmp(d.other_rule_id, b) == 0;
    int ba = strcmp(d.rule_id, b) == 0 && strcmp(d.other_rule_id, a) == 0;
    if (!ab && !ba)
        fail_msg("overlap names %s and %s, want %s and %s", d.rule_id, d.other_rule_id, a, b);
    assert_true(d.line > 0);
    assert_true(d.other_line > 0);
    assert_true(d.line != d.other_line);
    assert_non_null(d.witness);

    /* The witness really matches both rules. */
    wlead w;
    witness_lead(&w, t, d.witness);
    leadroute_result *r = NULL;
    assert_int_equal(leadroute_result_new(&r, t, NULL), LEADROUTE_OK);
    int rc = leadroute_table_eval(t, &w.l.lead, r);
    if (rc != LEADROUTE_EHITPOLICY)
        fail_msg("witness '%s' gave %d, want EHITPOLICY", d.witness, rc);
    int seen_a = 0, seen_b = 0;
    for (size_t i = 0; i < leadroute_result_count(r); i++) {
        seen_a |= strcmp(leadroute_result_rule_id(r, i), a) == 0;
        seen_b |= strcmp(leadroute_result_rule_id(r, i), b) == 0;
    }
    if (!seen_a || !seen_b)
        fail_msg("witness '%s' does not match both %s and %s", d.witness, a, b);
    leadroute_result_free(r);
    leadroute_table_unref(t);
}

static void test_unique_overlap(void **state)
{
    (void)state;
    check_overlap(
        "#! hit_policy: unique\n"
        "rule,region,n:number,out:o\n"
        "r1,\"EMEA, NA\",>= 10,a\n"          /* 3 */
        "r2,EMEA,< 50,b\n"                    /* 4 */
        "r3,APAC,-,c\n"
        "r4,\"not(EMEA, NA, APAC)\",-,d\n",
        "r1", "r2");
    check_overlap(
        "#! hit_policy: unique\n"
        "rule,tags:set,flag:bool,postal,out:o\n"
        "s1,crm,true,94*,a\n"
        "s2,erp,-,941*,b\n"
        "s3,\"not(crm, erp, null)\",-,-,c\n"
        "s4,null,false,-,d\n",
        "s1", "s2");
    check_overlap(
        "#! hit_policy: unique\n"
        "rule,city:ci,n:number,out:o\n"
        "c1,m\xC3\xbc" "nchen,(1..5),a\n"
        "c2,M\xC3\x9C" "NCHEN,[4..9],b\n",
        "c1", "c2");
}

static void test_unique_no_overlap(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok(
        "#! hit_policy: unique\n"
        "rule,region,n:number,out:o\n"
        "r1,EMEA,< 10,a\n"
        "r2,EMEA,>= 10,b\n"
        "r3,not(EMEA),-,c\n"
        "r4,EMEA,null,d\n");
    assert_int_equal(count_kind(t, LEADROUTE_DIAG_OVERLAP), 0);
    assert_int_equal(count_kind(t, LEADROUTE_DIAG_NO_MATCH), 0);   /* together they cover all */
    assert_int_equal(count_kind(t, LEADROUTE_DIAG_SHADOWED), 0);    /* not FIRST */
    leadroute_table_unref(t);
}

/* The finding belongs to the later rule of the pair: its id and line, and
 * a message that starts at that line and names the two in table order. */
static void test_overlap_names_later_rule(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok(
        "#! hit_policy: unique\n"            /* 1 */
        "rule,region,n:number,out:o\n"      /* 2 */
        "r1,EMEA,>= 10,a\n"                  /* 3 */
        "r2,EMEA,< 50,b\n"                   /* 4 */
        "r3,not(EMEA),-,c\n");               /* 5 */
    expect_count(t, 2);                      /* the overlap, and EMEA with n missing */
    leadroute_diagnostic d = find_kind(t, LEADROUTE_DIAG_OVERLAP);
    assert_string_equal(d.rule_id, "r2");
    assert_int_equal(d.line, 4);
    assert_string_equal(d.other_rule_id, "r1");
    assert_int_equal(d.other_line, 3);
    if (strstr(d.message, "t.csv:4: rules 'r1' and 'r2' both match") != d.message)
        fail_msg("message '%s'", d.message);
    leadroute_table_unref(t);
}

/* 24 UNIQUE rules that all share c1 and c2, told apart by c3 but for r11
 * and r23, which repeat r0's key: three overlaps, (r0, r11), (r0, r23) and
 * (r11, r23). */
static void overlap_table(char *text, size_t cap)
{
    size_t n = (size_t)snprintf(text, cap, "#! hit_policy: unique\nrule,c1,c2,c3,out:o\n");
    for (int r = 0; r < 24; r++)
        n += (size_t)snprintf(text + n, cap - n, "r%d,a,b,k%d,x\n", r, r % 12 == 11 ? 0 : r);
    assert_true(n < cap);
}

/* When the work budget runs out, the rules the overlap check has not
 * compared with the rules before them are counted in one notice, so that
 * r23's overlaps do not go unreported with nothing to say so. Whatever the
 * budget, each overlap is reported or its later rule counted. */
static void test_overlap_check_out_of_words(void **state)
{
    (void)state;
    char text[2048], want[512];
    int seen_last = 0, seen_whole = 0;
    overlap_table(text, sizeof text);
    leadroute_table *t = parse_ok(text);
    assert_int_equal(count_kind(t, LEADROUTE_DIAG_OVERLAP), 3);
    assert_int_equal(count_kind(t, LEADROUTE_DIAG_OVERLAP_UNDECIDED), 0);
    leadroute_table_unref(t);

    t = parse_with_pairwise_words(text, 120);
    assert_int_equal(count_kind(t, LEADROUTE_DIAG_OVERLAP), 1);
    assert_string_equal(find_kind(t, LEADROUTE_DIAG_OVERLAP).rule_id, "r11");
    assert_int_equal(count_kind(t, LEADROUTE_DIAG_OVERLAP_UNDECIDED), 1);
    leadroute_diagnostic d = find_kind(t, LEADROUTE_DIAG_OVERLAP_UNDECIDED);
    int first = -1;
    if (sscanf(d.rule_id, "r%d", &first) != 1 || first <= 11 || first >= 23)
        fail_msg("the first rule not checked is '%s'", d.rule_id);
    assert_int_equal(d.line, (uint32_t)first + 3);
    assert_null(d.other_rule_id);
    assert_int_equal(d.other_line, 0);
    assert_null(d.witness);
    snprintf(want, sizeof want, "t.csv:%d: lint could not tell whether rule 'r%d' and %d later rules overlap "
             "earlier rules (whether some lead matches one of them and a rule before it, which hit policy "
             "unique forbids): it stopped when its budget of 120 words of bitset work ran out", first + 3, first,
             23 - first);
    assert_string_equal(d.message, want);
    leadroute_table_unref(t);

    for (uint64_t words = 97; words < 4000 && !seen_whole; words++) {
        t = parse_with_pairwise_words(text, words);
        size_t notices = count_kind(t, LEADROUTE_DIAG_OVERLAP_UNDECIDED);
        first = 24;
        if (notices == 1 && sscanf(find_kind(t, LEADROUTE_DIAG_OVERLAP_UNDECIDED).rule_id, "r%d", &first) != 1)
            fail_msg("budget %llu: no rule in the notice", (unsigned long long)words);
        if (notices > 1 || count_kind(t, LEADROUTE_DIAG_OVERLAP) != (size_t)(first > 11) + (first > 23) * 2u) {
            dump(t);
            fail_msg("budget %llu: an overlap neither reported nor counted", (unsigned long long)words);
        }
        if (first == 23) {
            seen_last = 1;
            snprintf(want, sizeof want, "t.csv:26: lint could not tell whether rule 'r23' overlaps an earlier "
                     "rule (whether some lead matches it and a rule before it, which hit policy unique forbids): "
                     "it stopped when its budget of %llu words of bitset work ran out", (unsigned long long)words);
            assert_string_equal(find_kind(t, LEADROUTE_DIAG_OVERLAP_UNDECIDED).message, want);
        }
        seen_whole = first == 24;
        leadroute_table_unref(t);
    }
    assert_true(seen_last);
    assert_true(seen_whole);
}

/* A table the overlap check would need more than its budget for is not
 * checked at all: the notice counts every rule after the first. The check
 * is for UNIQUE only, and so is its notice. */
static void test_overlap_check_too_big_to_start(void **state)
{
    (void)state;
    char text[2048];
    overlap_table(text, sizeof text);
    leadroute_table *t = parse_with_pairwise_words(text, 10);
    assert_int_equal(count_kind(t, LEADROUTE_DIAG_OVERLAP), 0);
    assert_int_equal(count_kind(t, LEADROUTE_DIAG_OVERLAP_UNDECIDED), 1);
    leadroute_diagnostic d = find_kind(t, LEADROUTE_DIAG_OVERLAP_UNDECIDED);
    assert_string_equal(d.rule_id, "r1");
    assert_int_equal(d.line, 4);
    assert_string_equal(d.message, "t.csv:4: lint could not tell whether rule 'r1' and 22 later rules overlap "
                                   "earlier rules (whether some lead matches one of them and a rule before it, "
                                   "which hit policy unique forbids): it did not start, as a table this size would "
                                   "need more than its budget of 10 words of bitset work");
    leadroute_table_unref(t);
    memcpy(text, "#! hit_policy: any   ", 21);
    t = parse_with_pairwise_words(text, 10);
    assert_int_equal(leadroute_table_hit_policy(t), LEADROUTE_HIT_ANY);
    assert_int_equal(count_kind(t, LEADROUTE_DIAG_OVERLAP_UNDECIDED), 0);
    leadroute_table_unref(t);
}

/* Shadowing is a FIRST finding and overlap a UNIQUE one: other policies
 * use every match (or, for ANY, allow agreeing ones), so neither applies. */
static void test_findings_follow_hit_policy(void **state)
{
    (void)state;
    static const char *const policies[] = { "first", "unique", "any", "priority", "rule order", "output order",
                                            "collect", "C+" };
    for (size_t i = 0; i < sizeof policies / sizeof *policies; i++) {
        char text[256];
        snprintf(text, sizeof text,
                 "#! hit_policy: %s\n#! priority: o = 1, 2, 3\nrule,region,out:o:number\n"
                 "wide,EMEA,1\nnarrow,EMEA,2\nall,-,3\n", policies[i]);
        leadroute_table *t = parse_ok(text);
        int first = strcmp(policies[i], "first") == 0, unique = strcmp(policies[i], "unique") == 0;
        if (count_kind(t, LEADROUTE_DIAG_SHADOWED) != (size_t)first ||
            count_kind(t, LEADROUTE_DIAG_OVERLAP) != (size_t)(unique ? 3 : 0)) {
            dump(t);
            fail_msg("hit policy %s: want %d shadowed and %d overlaps", policies[i], first, unique ? 3 : 0);
        }
        leadroute_table_unref(t);
    }
}

/* --- no catch-all ------------------------------------------------------------ */

static void test_no_match_witness(void **state)
{
    (void)state;
    /* All but the first need a witness with some field present. */
    const char *tables[] = {
        "rule,region,n:number,out:o\na,EMEA,-,x\nb,-,>= 10,y\n",
        "rule,region,n:number,out:o\na,EMEA,-,x\nb,-,>= 10,y\nc,null,null,z\n",
        "#! hit_policy: rule order\nrule,tags:set,flag:bool,out:o\na,crm,-,x\nb,-,true,y\nc,null,-,z\n",
        "#! hit_policy: unique\nrule,n:number,out:o\na,< 0,x\nb,> 0,y\nc,null,z\n",
        "rule,country:ci,postal,out:o\na,\"de, at\",-,x\nb,-,94*,y\nc,not(fr),not(1*),z\n",
        /* no rules at all: every lead, the empty witness too */
        "rule,region,n:number,out:o\n",
    };
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        leadroute_table *t = parse_ok(tables[i]);
        if (count_kind(t, LEADROUTE_DIAG_NO_MATCH) != 1) {
            dump(t);
            fail_msg("table %zu: want one NO_MATCH", i);
        }
        leadroute_diagnostic d = find_kind(t, LEADROUTE_DIAG_NO_MATCH);
        assert_null(d.rule_id);
        assert_int_equal(d.line, 0);
        assert_null(d.other_rule_id);
        assert_int_equal(d.other_line, 0);
        assert_non_null(d.witness);
        wlead w;
        witness_lead(&w, t, d.witness);
        const char *h = hits(t, &w.l);
        if (strcmp(h, "") != 0)
            fail_msg("table %zu: witness '%s' matches '%s'", i, d.witness, h);
        leadroute_table_unref(t);
    }

    /* A :ci column whose prefixes take every first character lint tries
     * before the capitals, and a*: "Az-other" lands in a*'s class once
     * folded, so it is no witness; a lower-case one is. */
    {
        static const char firsts[] = "zq~!#$%&+./0123456789:;<=>?@";
        char text[2048];
        size_t n = (size_t)snprintf(text, sizeof text, "rule,a:ci,out:o\n");
        for (size_t i = 0; firsts[i]; i++)
            n += (size_t)snprintf(text + n, sizeof text - n, "r%zu,\"\"\"%c\"\"*\",x\n", i, firsts[i]);
        snprintf(text + n, sizeof text - n, "ra,a*,x\nrn,null,x\n");
        leadroute_table *t = parse_ok(text);
        leadroute_diagnostic d = find_kind(t, LEADROUTE_DIAG_NO_MATCH);
        wlead w;
        assert_non_null(d.witness);
        witness_lead(&w, t, d.witness);
        const char *h = hits(t, &w.l);
        if (strcmp(h, "") != 0)
            fail_msg(":ci table: witness '%s' matches '%s'", d.witness, h);
        leadroute_table_unref(t);
    }
}

/* A witness is given whole, however long: 200 set items of 26 bytes, or
 * two values of 3,000 bytes, read back into a lead that matches no rule
 * (with the last item or the second value cut, some rule would match). The
 * message shows it cut on a character, ending in "...". */
/* A long file name shows its end in lint messages, which keep their line
 * and stay valid UTF-8 (the name is 150 two-byte characters). */
/* A column with values lint cannot name (a prefix for each first byte it
 * tries) leaves some rules undecided, but not one another rule covers in
 * every class, named or not: r2 repeats r1 and is reported. */
static void test_shadowed_beside_unnamed_values(void **state)
{
    (void)state;
    static const char firsts[] = "zq~!#$%&+./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ^_`abcdefghijklmnoprstuvwxy{|}";
    char text[2048];
    size_t n = (size_t)snprintf(text, sizeof text, "rule,postal,country,out:pool\nr0,\"");
    for (size_t i = 0; firsts[i]; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%s\"\"%c\"\"*", i ? ", " : "", firsts[i]);
    n += (size_t)snprintf(text + n, sizeof text - n, "\",-,p0\nr1,-,DE,p1\nr2,-,DE,p2\nall,-,-,p3\n");
    assert_true(n < sizeof text);
    leadroute_table *t = parse_ok(text);
    expect_one_shadowed(t, "r2", "r1");
    assert_int_equal(count_kind(t, LEADROUTE_DIAG_SHADOWED_UNDECIDED), 0);
    leadroute_table_unref(t);
}

static void test_long_file_name_in_messages(void **state)
{
    (void)state;
    char name[400] = "/data/";
    const char *text = "rule,s,out:o\nr1,a,x\nr2,a,y\n";
    leadroute_table *t = NULL;
    for (int i = 0; i < 150; i++)
        strcat(name, "\xc3\xa9");
    strcat(name, ".csv");
    assert_int_equal(leadroute_table_parse(&t, text, strlen(text), name, NULL), LEADROUTE_OK);
    assert_true(leadroute_table_diagnostic_count(t) >= 2);
    for (size_t i = 0; i < leadroute_table_diagnostic_count(t); i++) {
        leadroute_diagnostic d = diag(t, i);
        if (!lr__utf8_valid(d.message, strlen(d.message)) || strncmp(d.message, "...", 3) != 0)
            fail_msg("diagnostic %zu: '%s'", i, d.message);
        if (d.kind == LEADROUTE_DIAG_SHADOWED && !strstr(d.message, "\xc3\xa9.csv:3: rule 'r2' can never fire"))
            fail_msg("diagnostic %zu: '%s'", i, d.message);
    }
    leadroute_table_unref(t);
}

static void test_long_witness_whole(void **state)
{
    (void)state;
    static char text[1 << 15];
    static wlead w;
    size_t n = (size_t)snprintf(text, sizeof text, "rule,tags:set,out:x\n");
    for (int i = 0; i < 200; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "r%d,not(item-with-a-long-name-%04d),x\n", i, i);
    for (int round = 0; round < 2; round++) {
        if (round == 1) {
            char k[3001], m[3001];
            memset(k, 'k', 3000);
            memset(m, 'm', 3000);
            k[3000] = m[3000] = '\0';
            snprintf(text, sizeof text, "rule,a,b,out:x\nr1,\"not(%s)\",-,p\nr2,-,\"not(%s)\",q\n", k, m);
        }
        leadroute_table *t = parse_ok(text);
        assert_int_equal(count_kind(t, LEADROUTE_DIAG_NO_MATCH), 1);
        leadroute_diagnostic d = find_kind(t, LEADROUTE_DIAG_NO_MATCH);
        size_t len = strlen(d.witness);
        if (len < (round ? 6000u : 5600u))
            fail_msg("round %d: witness of %zu bytes, cut?", round, len);
        assert_int_equal(d.witness[len - 1], round ? 'm' : '}');
        witness_lead(&w, t, d.witness);
        const char *h = hits(t, &w.l);
        if (strcmp(h, "") != 0)
            fail_msg("round %d: witness matches '%s'", round, h);
        len = strlen(d.message);
        assert_true(len < 2048);
        assert_string_equal(d.message + len - 3, "...");
        assert_true(lr__utf8_valid(d.message, len));
        leadroute_table_unref(t);
    }
}

/* The witness of the one overlap a two-rule UNIQUE table over `score` has. */
static void expect_overlap_witness(const char *cells_a, const char *cells_b, const char *want)
{
    char text[256];
    snprintf(text, sizeof text, "#! hit_policy: unique\nrule,score:number,out:o\na,%s,x\nb,%s,y\n", cells_a,
             cells_b);
    leadroute_table *t = parse_ok(text);
    assert_string_equal(find_kind(t, LEADROUTE_DIAG_OVERLAP).witness, want);
    leadroute_table_unref(t);
}

static void test_witness_numbers_read_well(void **state)
{
    (void)state;
    /* below the lowest bound: a whole number, not the double just below 80 */
    expect_overlap_witness("< 80", "<= 90", "score=79");
    /* between two bounds: the next whole number; above the highest: one more */
    expect_overlap_witness("(85..90)", "> 85", "score=86");
    expect_overlap_witness("> 90.5", ">= 0", "score=92");
    /* no whole number fits: the midpoint, in as few digits as read back exactly */
    expect_overlap_witness("(0.3..0.4)", "> 0.3", "score=0.35");
    expect_overlap_witness("(0.1..0.2)", "> 0.1", "score=0.15");
    /* past a bound too large for the next whole number to differ */
    expect_overlap_witness("> 1e20", ">= 0", "score=2e+20");
    expect_overlap_witness("< -1e20", "<= 0", "score=-2e+20");
    /* and past bounds whose double would overflow */
    expect_overlap_witness("> 9e307", ">= 0", "score=1e+308");
    expect_overlap_witness("> 1e308", ">= 0", "score=1.4e+308");
    expect_overlap_witness("< -1e308", "<= 0", "score=-1.4e+308");
    /* the empty witness (only a missing score goes unmatched) is spelled
     * out in the message */
    leadroute_table *t = parse_ok("rule,score:number,out:o\na,< 80,x\nb,>= 80,y\n");
    leadroute_diagnostic d = find_kind(t, LEADROUTE_DIAG_NO_MATCH);
    assert_string_equal(d.witness, "");
    if (!strstr(d.message, "for example: a lead with every field missing"))
        fail_msg("message '%s' leaves the empty witness blank", d.message);
    leadroute_table_unref(t);
    t = parse_ok("rule,score:number,out:o\n");
    d = find_kind(t, LEADROUTE_DIAG_NO_MATCH);
    assert_string_equal(d.witness, "");
    assert_non_null(strstr(d.message, "no rules"));
    leadroute_table_unref(t);
}

/* A number column with a gap no double falls in (bounds that are
 * neighbouring doubles, or the largest double) still gives findings: the
 * empty gap holds no lead, so it is no class, and the column stays
 * complete. */
static void test_empty_number_gaps(void **state)
{
    static const char *const cells[] = {
        "1.7976931348623157e308", ">= 1.7976931348623157e308", "<= -1.7976931348623157e308",
        "[1..1.0000000000000002)", "\"<= 1, >= 1.0000000000000002\"", "[0..4.9e-324)",
        "\"1, 1.0000000000000002\"",
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cells / sizeof *cells; i++) {
        char text[256];
        leadroute_table *t;
        snprintf(text, sizeof text, "rule,n:number,s,out:o\nr1,-,x,a\nr2,-,x,b\nr3,%s,-,c\n", cells[i]);
        t = parse_ok(text);
        if (count_kind(t, LEADROUTE_DIAG_SHADOWED) != 1 || count_kind(t, LEADROUTE_DIAG_NO_MATCH) != 1) {
            dump(t);
            fail_msg("cell %s: want r2 shadowed and a no-match witness", cells[i]);
        }
        assert_string_equal(find_kind(t, LEADROUTE_DIAG_SHADOWED).rule_id, "r2");
        leadroute_table_unref(t);
    }
}

/* A no-match lead deep in a table of many columns, where trying the
 * classes in table order would first walk through tens of thousands of
 * combinations that some rule matches. */
static void test_no_match_deep(void **state)
{
    (void)state;
    char text[2048];
    size_t n = 0;
    n += (size_t)snprintf(text + n, sizeof text - n, "rule");
    for (int c = 1; c <= 8; c++)
        n += (size_t)snprintf(text + n, sizeof text - n, ",c%d", c);
    n += (size_t)snprintf(text + n, sizeof text - n, ",out:o\n");
    for (int kind = 0; kind < 2; kind++)
        for (int r = 1; r <= 8; r++) {
            n += (size_t)snprintf(text + n, sizeof text - n, "%c%d", kind ? 'r' : 'k', r);
            for (int c = 1; c <= 8; c++)
                n += (size_t)snprintf(text + n, sizeof text - n, ",%s",
                                      c != r ? "-" : kind ? "not(a)" : "\"b, c\"");
            n += (size_t)snprintf(text + n, sizeof text - n, ",x\n");
        }
    leadroute_table *t = parse_ok(text);
    if (count_kind(t, LEADROUTE_DIAG_NO_MATCH) != 1) {
        dump(t);
        fail_msg("want one NO_MATCH");
    }
    wlead w;
    witness_lead(&w, t, find_kind(t, LEADROUTE_DIAG_NO_MATCH).witness);
    assert_string_equal(hits(t, &w.l), "");
    leadroute_table_unref(t);
}

/* A table over bool c, k string columns d1..dk and bool e. Leads with c
 * true are all matched, but only by rules that each pin e, so no subtree
 * there is skipped: searching it takes about 2^(k+1) combinations. A
 * missing c is matched by one rule that accepts everything else. Leads
 * with c false are matched by `nb` rules, none with e false: there lie
 * the leads no rule matches. */
static char *no_match_search_table(int k, int nb)
{
    size_t cap = 65536, n = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    n += (size_t)snprintf(text + n, cap - n, "#! hit_policy: collect\nrule,c:bool");
    for (int i = 1; i <= k; i++)
        n += (size_t)snprintf(text + n, cap - n, ",d%d", i);
    n += (size_t)snprintf(text + n, cap - n, ",e:bool,out:o\nz,null");
    for (int i = 1; i <= k; i++)
        n += (size_t)snprintf(text + n, cap - n, ",-");
    n += (size_t)snprintf(text + n, cap - n, ",-,x\n");
    static const char *const e[] = { "true", "false", "null" };
    for (int pin = 0; pin <= k; pin++)     /* pin = k: every d missing */
        for (int v = 0; v < 3; v++) {
            n += (size_t)snprintf(text + n, cap - n, "p%d%s,true", pin, e[v]);
            for (int i = 0; i < k; i++)
                n += (size_t)snprintf(text + n, cap - n, ",%s", pin == k ? "null" : i == pin ? "not(null)" : "-");
            n += (size_t)snprintf(text + n, cap - n, ",%s,x\n", e[v]);
        }
    for (int b = 0; b < nb; b++) {
        n += (size_t)snprintf(text + n, cap - n, "b%d,false", b);
        for (int i = 0; i < k; i++)
            n += (size_t)snprintf(text + n, cap - n, ",-");
        n += (size_t)snprintf(text + n, cap - n, ",%s,x\n", b % 2 ? "null" : "true");
    }
    assert_true(n < cap);
    return text;
}

static void expect_no_match_found(const char *text)
{
    leadroute_table *t = parse_ok(text);
    if (count_kind(t, LEADROUTE_DIAG_NO_MATCH) != 1) {
        dump(t);
        fail_msg("want one NO_MATCH");
    }
    wlead w;
    witness_lead(&w, t, find_kind(t, LEADROUTE_DIAG_NO_MATCH).witness);
    assert_string_equal(hits(t, &w.l), "");
    leadroute_table_unref(t);
}

/* The search skips the subtree of the missing c (one rule accepts all that
 * is left) and tries c false (2 rules) before c true (3k + 3 rules); with
 * k = 16 anything else walks through some 2^17 combinations first. */
static void test_no_match_search_skips_and_orders(void **state)
{
    (void)state;
    char *text = no_match_search_table(16, 2);
    expect_no_match_found(text);
    free(text);
}

/* With c false holding more rules than c true, the search walks the 2^14
 * or so combinations of c true first: well within its bound. */
static void test_no_match_search_within_bound(void **state)
{
    (void)state;
    char *text = no_match_search_table(13, 43);
    expect_no_match_found(text);
    free(text);
}

/* A territory table without a catch-all: 30 countries, each split by
 * company size into four bands (the last for a missing size), each with
 * 120 rules for a postal code and an industry; other countries go to one
 * not(...) rule. Every lead is matched, but for `hole` (a country index,
 * or -1), whose band for a missing size is left out and which has two more
 * postal rules (so that it does not come first by its count of rules).
 * Walking the postal codes and industries of a country takes some 2,700
 * steps. */
static char *territory_table(int hole)
{
    size_t cap = 1 << 20, n = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    n += (size_t)snprintf(text + n, cap - n, "#! hit_policy: collect\nrule,country,postal,industry,size:number,out:o\n");
    static const char *const bands[] = { "< 200", "[200..1000)", ">= 1000", "null" };
    for (int c = 0; c < 30; c++) {
        for (int b = 0; b < 4; b++)
            if (c != hole || b != 3)
                n += (size_t)snprintf(text + n, cap - n, "k%d-b%d,k%d,-,-,%s,x\n", c, b, c, bands[b]);
        for (int p = 0; p < (c == hole ? 122 : 120); p++)
            n += (size_t)snprintf(text + n, cap - n, "k%d-p%d,k%d,p%d,i%d,-,x\n", c, p, c, p, (p * 7 + c) % 20);
    }
    n += (size_t)snprintf(text + n, cap - n, "rest,\"not(");
    for (int c = 0; c < 30; c++)
        n += (size_t)snprintf(text + n, cap - n, "%sk%d", c ? ", " : "", c);
    n += (size_t)snprintf(text + n, cap - n, ")\",-,-,-,x\n");
    assert_true(n < cap);
    return text;
}

/* A rule alive that only one column left can still refuse must be refused,
 * with all such rules, by one value of that column: the four bands of a
 * country cover its sizes, so the search leaves each complete country at
 * once, finds the lead of the hole, and shows a table without one complete
 * rather than stopping at its bound. */
static void test_no_match_search_checks_forward(void **state)
{
    (void)state;
    char *text = territory_table(17);
    leadroute_table *t = parse_ok(text);
    expect_count(t, 1);
    leadroute_diagnostic d = find_kind(t, LEADROUTE_DIAG_NO_MATCH);
    wlead w;
    witness_lead(&w, t, d.witness);
    assert_string_equal(hits(t, &w.l), "");
    if (strstr(d.witness, "country=k17") == NULL)
        fail_msg("witness '%s' is not in country k17", d.witness);
    leadroute_table_unref(t);
    free(text);
    text = territory_table(-1);
    t = parse_ok(text);
    expect_count(t, 0);
    leadroute_table_unref(t);
    free(text);
}

/* Bool columns and rules that each pin three of them (to true, or to false
 * or missing): whether some lead escapes every rule is a satisfiability
 * question, which can take the search many steps. */
static char *pinned_triples_table(int columns, int rules, uint64_t seed)
{
    size_t cap = (size_t)(rules + 2) * ((size_t)columns * 16 + 32), n = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    n += (size_t)snprintf(text + n, cap - n, "#! hit_policy: collect\nrule");
    for (int c = 0; c < columns; c++)
        n += (size_t)snprintf(text + n, cap - n, ",c%d:bool", c);
    n += (size_t)snprintf(text + n, cap - n, ",out:o\n");
    for (int r = 0; r < rules; r++) {
        int pin[3];
        for (int k = 0; k < 3; k++) {
            int again;
            do {
                pin[k] = (int)(xorshift(&seed) % (uint64_t)columns);
                again = 0;
                for (int q = 0; q < k; q++)
                    again |= pin[q] == pin[k];
            } while (again);
        }
        n += (size_t)snprintf(text + n, cap - n, "r%d", r);
        for (int c = 0; c < columns; c++) {
            const char *cell = "-";
            for (int k = 0; k < 3; k++)
                if (pin[k] == c)
                    cell = xorshift(&seed) % 2 ? "true" : "\"false, null\"";
            n += (size_t)snprintf(text + n, cap - n, ",%s", cell);
        }
        n += (size_t)snprintf(text + n, cap - n, ",x\n");
    }
    assert_true(n < cap);
    return text;
}

/* When the search reaches its bound it says so, without a witness, rather
 * than report nothing; within the bound the same table is decided. */
static void test_no_match_search_cut_short(void **state)
{
    (void)state;
    char *text = pinned_triples_table(30, 129, 0x3A7);
    leadroute_table *t = parse_ok(text);
    assert_int_equal(count_kind(t, LEADROUTE_DIAG_NO_MATCH_UNDECIDED), 0);
    leadroute_table_unref(t);
    lr__lint_nomatch_steps = 100;
    t = parse_ok(text);
    bounds_restore();
    expect_count(t, 1);
    leadroute_diagnostic d = diag(t, 0);
    assert_int_equal(d.kind, LEADROUTE_DIAG_NO_MATCH_UNDECIDED);
    assert_null(d.rule_id);
    assert_null(d.other_rule_id);
    assert_null(d.witness);
    assert_int_equal(d.line, 0);
    if (strstr(d.message, "t.csv: the table has no catch-all rule, and lint stopped looking for a lead no rule "
                          "matches after 100 steps, its bound, having neither") != d.message)
        fail_msg("message '%s'", d.message);
    leadroute_table_unref(t);
    free(text);
}

/* A search stopped by its budget of words of bitset work, well before its
 * bound of steps, says so rather than name the steps as its bound. */
static void test_no_match_search_out_of_words(void **state)
{
    (void)state;
    char *text = pinned_triples_table(30, 129, 0x3A7);
    lr__lint_nomatch_words = 5000;
    leadroute_table *t = parse_ok(text);
    bounds_restore();
    expect_count(t, 1);
    leadroute_diagnostic d = diag(t, 0);
    assert_int_equal(d.kind, LEADROUTE_DIAG_NO_MATCH_UNDECIDED);
    assert_null(d.witness);
    if (strstr(d.message, "when its budget of 5000 words of bitset work ran out, having neither found one nor "
                          "ruled it out") == NULL || strstr(d.message, "its bound") != NULL)
        fail_msg("message '%s'", d.message);
    leadroute_table_unref(t);
    free(text);
}

/* An allocator that counts the bytes held, and the most held at once. */
typedef struct held_bytes {
    size_t now, peak;
} held_bytes;

typedef union held_header {
    size_t size;
    max_align_t align;
} held_header;

static void *held_alloc(void *user_data, size_t size)
{
    held_bytes *h = user_data;
    held_header *p = malloc(sizeof *p + size);
    if (!p)
        return NULL;
    p->size = size;
    h->now += size;
    if (h->now > h->peak)
        h->peak = h->now;
    return p + 1;
}

static void held_free(void *user_data, void *ptr)
{
    held_bytes *h = user_data;
    held_header *p = ptr ? (held_header *)ptr - 1 : NULL;
    if (!p)
        return;
    h->now -= p->size;
    free(p);
}

/* The most bytes parsing (and linting) `text` held at once, with the
 * no-match search's memo capped at `memo` bytes; its notice in `message`. */
static size_t peak_with_memo(const char *text, size_t memo, char *message, size_t cap)
{
    held_bytes h = { 0, 0 };
    leadroute_allocator a = LEADROUTE_ALLOCATOR_INIT;
    leadroute_table_options o = LEADROUTE_TABLE_OPTIONS_INIT;
    a.alloc = held_alloc;
    a.free = held_free;
    a.user_data = &h;
    o.allocator = &a;
    lr__lint_memo_bytes = memo;
    leadroute_table *t = parse_opts(text, &o);
    bounds_restore();
    expect_count(t, 1);
    snprintf(message, cap, "%s", diag(t, 0).message);
    leadroute_table_unref(t);
    assert_int_equal(h.now, 0);
    return h.peak;
}

/* The memo of the no-match search never holds more than its cap, not even
 * while its table grows or when an entry needs a new chunk: at the peak,
 * parsing holds no more than the cap beyond what it holds without a memo
 * (caps from 80 kB to 3.5 MB, where a check made after growing overshot
 * by half to more than three times). It is used (half the cap at least),
 * and once full the search goes on, to the same notice. */
static void test_no_match_memo_within_cap(void **state)
{
    (void)state;
    static const size_t caps[] = { 80000, 300000, 1800000, 3500000 };
    char *text = pinned_triples_table(100, 430, 0x9E3779B97F4A7C15ull);
    char bare[512], message[512];
    size_t base = peak_with_memo(text, 0, bare, sizeof bare);
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        size_t peak = peak_with_memo(text, caps[i], message, sizeof message);
        if (peak > base + caps[i] || peak < base + caps[i] / 2)
            fail_msg("memo capped at %zu bytes held %zu", caps[i], peak - base);
        assert_string_equal(message, bare);
    }
    free(text);
}

/* A lead's values are trimmed, so a witness value never starts or ends
 * with a blank: "New " would be read as "New", which `"New "*` refuses. */
static void test_witness_values_without_blank_ends(void **state)
{
    (void)state;
    wlead w;
    leadroute_table *t = parse_ok("#! hit_policy: unique\nrule,city,out:o\na,\"\"\"New \"\"*\",x\nb,-,y\n");
    leadroute_diagnostic d = find_kind(t, LEADROUTE_DIAG_OVERLAP);
    witness_lead(&w, t, d.witness);
    if (eval_rc(t, &w.l) != LEADROUTE_EHITPOLICY)
        fail_msg("overlap witness '%s' does not match both rules", d.witness);
    leadroute_table_unref(t);
    t = parse_ok("rule,s,n:number,out:o\na,\"\"\"New \"\"*\",> 5,x\nb,\"not(\"\"New \"\"*)\",-,y\n");
    d = find_kind(t, LEADROUTE_DIAG_NO_MATCH);
    witness_lead(&w, t, d.witness);
    if (strcmp(hits(t, &w.l), "") != 0)
        fail_msg("no-match witness '%s' matches '%s'", d.witness, hits(t, &w.l));
    leadroute_table_unref(t);
}

/* Witness values that hold the witness's own separators are quoted, and
 * read back as the value. */
static void test_witness_values_quoted(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok("#! hit_policy: unique\nrule,s,tags:set,out:o\n"
                                  "a,\"\"\"x; y=z\"\"\",\"\"\"p, q\"\"\",1\n"
                                  "b,-,-,2\n");
    leadroute_diagnostic d = find_kind(t, LEADROUTE_DIAG_OVERLAP);
    assert_string_equal(d.witness, "s=\"x; y=z\"; tags={\"p, q\"}");
    wlead w;
    witness_lead(&w, t, d.witness);
    assert_int_equal(eval_rc(t, &w.l), LEADROUTE_EHITPOLICY);
    expect_message_has("('a' and 'b')");
    leadroute_table_unref(t);
    t = parse_ok("#! hit_policy: unique\nrule,s,out:o\na,\"\"\"null\"\"\",1\nb,-,2\n");
    assert_string_equal(find_kind(t, LEADROUTE_DIAG_OVERLAP).witness, "s=\"null\"");
    leadroute_table_unref(t);
    /* braces and backslashes are quoted too, a backslash escaped */
    t = parse_ok("#! hit_policy: unique\nrule,s,out:o\na,a{b,1\nb,-,2\n");
    assert_string_equal(find_kind(t, LEADROUTE_DIAG_OVERLAP).witness, "s=\"a{b\"");
    leadroute_table_unref(t);
    t = parse_ok("#! hit_policy: unique\nrule,s,out:o\na,a\\b,1\nb,-,2\n");
    d = find_kind(t, LEADROUTE_DIAG_OVERLAP);
    assert_string_equal(d.witness, "s=\"a\\\\b\"");
    witness_lead(&w, t, d.witness);
    assert_int_equal(eval_rc(t, &w.l), LEADROUTE_EHITPOLICY);
    leadroute_table_unref(t);
    /* field names by the same rule: read plainly, "a=b"=zz-other would be
     * field a holding b=zz-other, and match r1 */
    t = parse_ok("rule,a=b,x; y,out:o\nr1,null,-,x\nr2,v,-,y\n");
    d = find_kind(t, LEADROUTE_DIAG_NO_MATCH);
    assert_string_equal(d.witness, "\"a=b\"=zz-other");
    witness_lead(&w, t, d.witness);
    assert_string_equal(hits(t, &w.l), "");
    leadroute_table_unref(t);
    /* a message is one line, as error messages are: the witness in it shows
     * a line break or a terminal escape as \xNN (the witness keeps it) */
    t = parse_ok("rule,a,out:o\nr1,\"not(\"\"x\ny\x1b[2J\"\")\",A\n");
    d = find_kind(t, LEADROUTE_DIAG_NO_MATCH);
    assert_string_equal(d.witness, "a=\"x\ny\x1b[2J\"");
    if (!strstr(d.message, "for example: a=\"x\\x0ay\\x1b[2J\"") || strchr(d.message, '\n') ||
        strchr(d.message, 0x1b))
        fail_msg("message '%s'", d.message);
    leadroute_table_unref(t);
    /* and a value holding a line break is quoted */
    t = parse_ok("#! hit_policy: unique\nrule,s,out:o\na,\"\"\"x\ny\"\"\",1\nb,-,2\n");
    assert_string_equal(find_kind(t, LEADROUTE_DIAG_OVERLAP).witness, "s=\"x\ny\"");
    leadroute_table_unref(t);
}

/* The findings of `text` as one string: kind, rules, witness and message
 * of each. */
static char *findings_of(const char *text)
{
    leadroute_table *t = parse_ok(text);
    size_t n = leadroute_table_diagnostic_count(t), len = 1;
    char *out = calloc(1, 1);
    assert_non_null(out);
    for (size_t i = 0; i < n; i++) {
        leadroute_diagnostic d = diag(t, i);
        char line[4096];
        int k = snprintf(line, sizeof line, "%u|%s|%s|%s|%s\n", d.kind, d.rule_id ? d.rule_id : "-",
                         d.other_rule_id ? d.other_rule_id : "-", d.witness ? d.witness : "-", d.message);
        out = realloc(out, len + (size_t)k);
        assert_non_null(out);
        memcpy(out + len - 1, line, (size_t)k + 1);
        len += (size_t)k;
    }
    leadroute_table_unref(t);
    return out;
}

/* Lint keeps class bitsets while they fit its memory and reads the rest
 * from the compiled outcomes, dense or sparse: the findings are the same
 * either way, on seeded random tables of every cell form. */
static void test_findings_without_kept_bitsets(void **state)
{
    (void)state;
    static const char *const scells[] = { "-", "a", "b", "\"a, b\"", "c*", "not(a)", "!= b", "null", "\"a, c*\"",
                                          "\"not(a, null)\"", "d", "ab*" };
    static const char *const ncells[] = { "-", "< 10", ">= 10", "[5..20)", "null", "not(< 10)", "7", "> 30" };
    static const char *const tcells[] = { "-", "x", "y", "\"x, y\"", "not(x)", "null" };
    uint64_t seed = 0x11A7;
    for (int round = 0; round < 300; round++) {
        char text[8192];
        size_t n = 0;
        int rules = 2 + (int)(xorshift(&seed) % 24);
        n += (size_t)snprintf(text + n, sizeof text - n, "#! hit_policy: %s\nrule,s,n:number,t:set,out:o\n",
                              xorshift(&seed) % 2 ? "first" : "unique");
        for (int r = 0; r < rules; r++)
            n += (size_t)snprintf(text + n, sizeof text - n, "r%d,%s,%s,%s,%d\n", r,
                                  scells[xorshift(&seed) % (sizeof scells / sizeof *scells)],
                                  ncells[xorshift(&seed) % (sizeof ncells / sizeof *ncells)],
                                  tcells[xorshift(&seed) % (sizeof tcells / sizeof *tcells)], r % 3);
        char *kept = findings_of(text);
        lr__lint_scratch_bytes = 0;
        char *read = findings_of(text);
        lr__dense_column_bytes = 0;
        char *sparse = findings_of(text);
        bounds_restore();
        if (strcmp(kept, read) != 0 || strcmp(kept, sparse) != 0)
            fail_msg("table:\n%s\nkept:\n%s\nread from dense outcomes:\n%s\nread from sparse ones:\n%s", text,
                     kept, read, sparse);
        free(kept);
        free(read);
        free(sparse);
    }
    /* tables of a few hundred rules whose keys sit in blocks, as territories
     * do, so that with lr__dense_column_bytes 0 their outcomes are sparse */
    for (int round = 0; round < 40; round++) {
        static char text[65536];
        size_t n = 0;
        int rules = 300 + (int)(xorshift(&seed) % 400), block = 10 + (int)(xorshift(&seed) % 20);
        n += (size_t)snprintf(text + n, sizeof text - n, "#! hit_policy: %s\nrule,s,n:number,t:set,out:o\n",
                              xorshift(&seed) % 2 ? "first" : "unique");
        for (int r = 0; r < rules; r++) {
            uint64_t form = xorshift(&seed) % 10;
            char scell[64];
            if (form == 0 && round % 2) /* half the tables have no catch-all */
                snprintf(scell, sizeof scell, "-");
            else if (form == 1)
                snprintf(scell, sizeof scell, "k%d*", r / block);
            else if (form == 2)
                snprintf(scell, sizeof scell, "\"k%d, k%d\"", r / block, r / block + 1);
            else if (form == 3)
                snprintf(scell, sizeof scell, "not(k%d)", r / block);
            else
                snprintf(scell, sizeof scell, "k%d", r / block);
            n += (size_t)snprintf(text + n, sizeof text - n, "r%d,%s,%s,%s,%d\n", r, scell,
                                  ncells[xorshift(&seed) % (sizeof ncells / sizeof *ncells)],
                                  xorshift(&seed) % 4 ? "-" : tcells[xorshift(&seed) % (sizeof tcells / sizeof *tcells)],
                                  r % 3);
        }
        char *kept = findings_of(text);
        lr__lint_scratch_bytes = 0;
        lr__dense_column_bytes = 0;
        char *sparse = findings_of(text);
        bounds_restore();
        if (strcmp(kept, sparse) != 0)
            fail_msg("table:\n%s\nkept:\n%s\nread from sparse outcomes:\n%s", text, kept, sparse);
        free(kept);
        free(sparse);
    }
    /* a positive cell that accepts every class of its column covers a later
     * '-', also where every class is read from a sparse outcome (a table of
     * 13 words, where each class differs from the default in one or two) */
    static char text[32768];
    size_t n = (size_t)snprintf(text, sizeof text, "rule,n:number,out:o\na,\"< 0, >= 0, null\",x\n");
    for (int r = 0; r < 800; r++)
        n += (size_t)snprintf(text + n, sizeof text - n, "r%d,[%d..%d),x\n", r, r, r + 1);
    n += (size_t)snprintf(text + n, sizeof text - n, "b,-,y\n");
    assert_true(n < sizeof text);
    for (int mode = 0; mode < 3; mode++) {
        lr__lint_scratch_bytes = mode ? 0 : defaults.scratch_bytes;
        lr__dense_column_bytes = mode == 2 ? 0 : defaults.dense_column_bytes;
        leadroute_table *t = parse_ok(text);
        bounds_restore();
        expect_count(t, 801);
        leadroute_diagnostic d = diag(t, 800);
        assert_string_equal(d.rule_id, "b");
        assert_non_null(d.other_rule_id);
        assert_string_equal(d.other_rule_id, "a");
        leadroute_table_unref(t);
    }
}

static void test_catch_all_means_no_no_match(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok("rule,region,n:number,out:o\na,EMEA,-,x\nb,-,>= 10,y\nall,-,-,z\n");
    assert_int_equal(count_kind(t, LEADROUTE_DIAG_NO_MATCH), 0);
    leadroute_table_unref(t);
    /* Empty cells are a catch-all too. */
    t = parse_ok("rule,region,n:number,out:o\na,EMEA,-,x\nall,,,z\n");
    assert_int_equal(count_kind(t, LEADROUTE_DIAG_NO_MATCH), 0);
    leadroute_table_unref(t);
}

/* --- value classes without an obvious representative ------------------------ */

/* A key of the longest allowed string is a class like any other. */
static void test_longest_key(void **state)
{
    (void)state;
    static char text[2 * LEADROUTE_MAX_STRING + 64];
    char key[LEADROUTE_MAX_STRING + 1];
    memset(key, 'k', LEADROUTE_MAX_STRING);
    key[LEADROUTE_MAX_STRING] = '\0';
    snprintf(text, sizeof text, "rule,s,out:o\na,%s,x\nb,%s,y\nall,-,z\n", key, key);
    leadroute_table *t = parse_ok(text);
    expect_one_shadowed(t, "b", "a");
    leadroute_table_unref(t);
}

/* The values under a* that are not keys are found even when the first
 * few extensions of "a" are keys ("a-other" reads as one). */
static void test_prefix_class_beside_keys(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok(
        "rule,s,out:o\n"
        "p,\"a, a0, a1, a9, ax, az, a~\",x\n"
        "q,a*,y\n"
        "r,a*,z\n"
        "all,-,w\n");
    expect_one_shadowed(t, "r", "q");
    leadroute_table_unref(t);
}

/* The values under a* that are none of p's keys, which lint finds no
 * value for: every extension of "a" it tries is a key. */
#define UNNAMED_KEYS "a, a0, a1, a9, ax, az, a~, a-other, a_0, a~~other"

/* When lint finds no value for a class of a column, it reports no rule
 * shadowed: a class it cannot name could still reach the rule. It counts
 * the rule in a notice instead, which says why, rather than say nothing.
 * In both tables such values reach q. */
static void test_unnamed_class_keeps_findings_sound(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok("rule,s,out:o\np,\"" UNNAMED_KEYS "\",x\nq,a*,y\nall,-,z\n");
    expect_count(t, 1);
    leadroute_diagnostic d = diag(t, 0);
    assert_int_equal(d.kind, LEADROUTE_DIAG_SHADOWED_UNDECIDED);
    assert_string_equal(d.rule_id, "q");
    assert_int_equal(d.line, 3);
    assert_null(d.witness);
    assert_string_equal(d.message, "t.csv:3: lint could not tell whether rule 'q' can fire (whether the rules "
                                   "before it together match every lead it matches): it could not name a value for "
                                   "some values of column 's'");
    tlead l;
    tl_init(&l);
    tl_str(&l, "s", "ab");
    assert_string_equal(hits(t, &l), "q");
    leadroute_table_unref(t);

    /* prefixes claim every first byte lint tries for a value in no class */
    static const char firsts[] = "zq~!#$%&+./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                 "^_`abcdefghijklmnoprstuvwxy{|}";
    char text[1024];
    size_t n = (size_t)snprintf(text, sizeof text, "rule,s,out:o\np,\"");
    for (size_t i = 0; firsts[i]; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "\"\"%c\"\"*, ", firsts[i]);
    n += (size_t)snprintf(text + n, sizeof text - n, "null\",x\nq,-,y\n");
    assert_true(n < sizeof text);
    t = parse_ok(text);
    expect_count(t, 1);
    d = diag(t, 0);
    assert_int_equal(d.kind, LEADROUTE_DIAG_SHADOWED_UNDECIDED);
    assert_string_equal(d.rule_id, "q");
    assert_string_equal(d.message, "t.csv:3: lint could not tell whether rule 'q' can fire (whether the rules "
                                   "before it together match every lead it matches): it could not name a value for "
                                   "some values of column 's'");
    tl_init(&l);
    tl_str(&l, "s", "-x");
    assert_string_equal(hits(t, &l), "q");
    leadroute_table_unref(t);

    /* Without a catch-all: a lead that matches no rule and has values lint
     * names is reported as ever ("zz-other" here). When every such lead
     * matches a rule, whether some other lead does not is not known, and a
     * notice says so: "ab" in both columns matches none. The rules that
     * leads with named values reach are not counted. */
    t = parse_ok("rule,s,out:o\np,\"" UNNAMED_KEYS "\",x\nq,a*,y\n");
    expect_count(t, 2);
    assert_int_equal(diag(t, 0).kind, LEADROUTE_DIAG_SHADOWED_UNDECIDED);
    assert_int_equal(diag(t, 1).kind, LEADROUTE_DIAG_NO_MATCH);
    assert_string_equal(diag(t, 1).witness, "s=zz-other");
    leadroute_table_unref(t);
    t = parse_ok("rule,s,u,out:o\np,\"" UNNAMED_KEYS "\",\"" UNNAMED_KEYS "\",x\nq,not(a*),-,y\nr,-,not(a*),z\n");
    expect_count(t, 1);
    d = diag(t, 0);
    assert_int_equal(d.kind, LEADROUTE_DIAG_NO_MATCH_UNDECIDED);
    assert_null(d.rule_id);
    assert_int_equal(d.line, 0);
    assert_null(d.witness);
    assert_string_equal(d.message, "t.csv: the table has no catch-all rule, and lint found a rule for every lead it "
                                   "tried, but could not name a value for some values of column 's' and 1 other "
                                   "column: some leads may match no rule");
    tl_init(&l);
    tl_str(&l, "s", "ab");
    tl_str(&l, "u", "ab");
    assert_string_equal(hits(t, &l), "");
    leadroute_table_unref(t);
}

/* Two UNIQUE rules that meet only on values lint cannot name overlap with
 * no witness it could give: q (a*) and r (every value but p's keys) both
 * match "ab". The overlap check compares the rules on the classes it
 * found, and its notice counts r, the later of the two, as not compared;
 * 'all' overlaps every rule and is reported. With the budget lowered, the
 * rules it did not reach are counted in the same notice. */
static void test_unnamed_class_overlap_undecided(void **state)
{
    (void)state;
    char want[256];
    const char *text = "#! hit_policy: unique\nrule,s,t,out:o\n"
                       "p,\"" UNNAMED_KEYS "\",1,x\n"
                       "q,a*,2,y\n"
                       "r,\"not(" UNNAMED_KEYS ")\",2,z\n"
                       "s1,b,3,x\ns2,c,3,y\ns3,d,3,z\n"
                       "all,-,-,w\n";
    leadroute_table *t = parse_ok(text);
    assert_int_equal(count_kind(t, LEADROUTE_DIAG_OVERLAP), 6);
    for (size_t i = 0; i < leadroute_table_diagnostic_count(t); i++)
        if (diag(t, i).kind == LEADROUTE_DIAG_OVERLAP)
            assert_string_equal(diag(t, i).rule_id, "all");
    assert_int_equal(count_kind(t, LEADROUTE_DIAG_OVERLAP_UNDECIDED), 1);
    leadroute_diagnostic d = find_kind(t, LEADROUTE_DIAG_OVERLAP_UNDECIDED);
    assert_string_equal(d.rule_id, "r");
    assert_int_equal(d.line, 5);
    assert_null(d.other_rule_id);
    assert_null(d.witness);
    assert_string_equal(d.message, "t.csv:5: lint could not tell whether rule 'r' overlaps an earlier rule "
                                   "(whether some lead matches it and a rule before it, which hit policy unique "
                                   "forbids): it could not name a value for some values of column 's' that such a "
                                   "rule and a rule before it both accept");
    tlead l;
    tl_init(&l);
    tl_str(&l, "s", "ab");
    tl_str(&l, "t", "2");
    assert_int_equal(eval_rc(t, &l), LEADROUTE_EHITPOLICY);
    leadroute_table_unref(t);

    /* With less budget, the rules not reached are counted in the same
     * notice, from q or r on; once it runs out after r, with both reasons.
     * 'all', whose overlaps are the only ones, is never reached then. */
    int both = 0;
    for (uint64_t words = 20; words < 400 && !both; words++) {
        t = parse_with_pairwise_words(text, words);
        if (count_kind(t, LEADROUTE_DIAG_OVERLAP_UNDECIDED) != 1)
            fail_msg("budget %llu: no notice", (unsigned long long)words);
        d = find_kind(t, LEADROUTE_DIAG_OVERLAP_UNDECIDED);
        if (strcmp(d.rule_id, "q") != 0 && strcmp(d.rule_id, "r") != 0)
            fail_msg("budget %llu: '%s'", (unsigned long long)words, d.message);
        if (strstr(d.message, "could not name") && strstr(d.message, "stopped when")) {
            const char *later = strstr(d.message, " and ");
            int count = 0;
            both = 1;
            assert_string_equal(d.rule_id, "r");
            if (!later || sscanf(later, " and %d later rule", &count) != 1 || count < 1 || count > 4)
                fail_msg("budget %llu: '%s'", (unsigned long long)words, d.message);
            assert_int_equal(count_kind(t, LEADROUTE_DIAG_OVERLAP), 0);
            snprintf(want, sizeof want, "that such a rule and a rule before it both accept, and stopped when its "
                     "budget of %llu words of bitset work ran out", (unsigned long long)words);
            if (!strstr(d.message, want))
                fail_msg("message '%s'", d.message);
        }
        leadroute_table_unref(t);
    }
    assert_true(both);

    /* p takes only values whose first byte lint never tries ("-x"), and
     * 'all' every value: before, their overlap was reported with a lead
     * that has every field missing, which p refuses */
    static const char firsts[] = "zq~!#$%&+./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                 "^_`abcdefghijklmnoprstuvwxy{|}";
    char edge[1024];
    size_t n = (size_t)snprintf(edge, sizeof edge, "#! hit_policy: unique\nrule,s,out:o\np,\"not(");
    for (size_t i = 0; firsts[i]; i++)
        n += (size_t)snprintf(edge + n, sizeof edge - n, "\"\"%c\"\"*, ", firsts[i]);
    n += (size_t)snprintf(edge + n, sizeof edge - n, "null)\",x\nall,-,y\n");
    assert_true(n < sizeof edge);
    t = parse_ok(edge);
    expect_count(t, 1);
    d = diag(t, 0);
    assert_int_equal(d.kind, LEADROUTE_DIAG_OVERLAP_UNDECIDED);
    assert_string_equal(d.rule_id, "all");
    if (!strstr(d.message, "could not name a value for some values of column 's'"))
        fail_msg("message '%s'", d.message);
    tl_init(&l);
    tl_str(&l, "s", "-x");
    assert_int_equal(eval_rc(t, &l), LEADROUTE_EHITPOLICY);
    leadroute_table_unref(t);
}

/* --- set columns with negated cells ------------------------------------------ */

/* Whether a lead passes not(T) in a set column depends on all its items
 * together: r1 takes the leads holding crm, r2 all others with an item,
 * so r3 never fires, and a lead holding both a and b fails not(a) and
 * not(b) alike. */
static void test_negated_set_cells(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok("rule,tags:set,out:o\nr1,crm,x\nr2,\"not(crm, null)\",y\nr3,ads,z\nall,-,w\n");
    expect_one_shadowed(t, "r3", NULL);
    leadroute_table_unref(t);
    /* not(crm) takes the missing value too, so nothing is left for 'all' */
    t = parse_ok("rule,tags:set,out:o\nr1,crm,x\nr2,not(crm),y\nall,-,w\n");
    expect_one_shadowed(t, "all", NULL);
    leadroute_table_unref(t);
    /* with another column r3 is reached where r1 and r2 are not */
    t = parse_ok("rule,tags:set,s,out:o\nr1,crm,-,x\nr2,not(crm),a,y\nr3,ads,-,z\nall,-,-,w\n");
    expect_count(t, 0);
    leadroute_table_unref(t);
    /* r2 alone covers r3 when r3's items are all outside r2's list */
    t = parse_ok("rule,tags:set,out:o\nr1,ads,x\nr2,\"not(crm, erp)\",y\nr3,\"not(crm, erp, ads)\",z\nall,-,w\n");
    expect_one_shadowed(t, "r3", "r2");
    leadroute_table_unref(t);
    t = parse_ok("rule,tags:set,out:o\nr1,not(a),x\nr2,not(b),y\n");
    leadroute_diagnostic d = find_kind(t, LEADROUTE_DIAG_NO_MATCH);
    assert_string_equal(d.witness, "tags={a, b}");
    wlead w;
    witness_lead(&w, t, d.witness);
    assert_string_equal(hits(t, &w.l), "");
    leadroute_table_unref(t);
}

/* The leads of the exhaustive check: every subset of the items a, b, c,
 * xy, zz in each set column (the empty one is a missing field) and x, y,
 * zz or nothing in the string column: each class combination of the
 * cells below at least once. */
#define EX_ITEMS 5
static void exhaustive_lead(tlead *l, uint32_t code, int two_sets)
{
    static const char *const items[EX_ITEMS] = { "a", "b", "c", "xy", "zz" };
    static const char *const strs[] = { "x", "y", "zz" };
    static const char *pick[2][EX_ITEMS];
    const char *const names[2] = { "tags", "ch" };
    tl_init(l);
    for (int s = 0; s < 1 + two_sets; s++, code >>= EX_ITEMS) {
        size_t n = 0;
        for (int i = 0; i < EX_ITEMS; i++)
            if (code & (1u << i))
                pick[s][n++] = items[i];
        if (n)
            tl_set(l, names[s], pick[s], n);
    }
    if (code % 4 < 3)
        tl_str(l, "s", strs[code % 4]);
}

/* Lint is exact with negated set cells: on seeded random tables of set
 * cells of every form, the rules it reports shadowed are exactly those no
 * lead reaches first, the overlaps exactly the pairs some lead matches,
 * and it finds a lead no rule matches whenever there is one; every
 * witness does what its finding says. The truth comes from evaluating
 * every lead of the domain above against the same rules under RULE ORDER. */
static void test_set_findings_exact(void **state)
{
    (void)state;
    static const char *const setcells[] = { "-", "a", "b", "c", "\"a, b\"", "not(a)", "not(b)", "\"not(a, b)\"",
                                            "null", "not(null)", "\"not(a, null)\"", "\"b, null\"", "x*",
                                            "not(x*)", "\"not(a, c, x*)\"", "\"a, c, x*\"" };
    static const char *const strcells[] = { "-", "x", "y", "not(x)", "null", "\"x, y\"", "\"not(x, null)\"" };
    uint64_t seed = 0x5E7C0DE;
    for (int round = 0; round < 400; round++) {
        int two_sets = round % 3 == 2, rules = 2 + (int)(xorshift(&seed) % (two_sets ? 6 : 8));
        char body[2048], text[2200];
        size_t n = 0;
        for (int r = 0; r < rules; r++) {
            n += (size_t)snprintf(body + n, sizeof body - n, "r%d,%s,%s", r,
                                  setcells[xorshift(&seed) % (sizeof setcells / sizeof *setcells)],
                                  strcells[xorshift(&seed) % 3 ? 0 : xorshift(&seed) % (sizeof strcells /
                                                                                        sizeof *strcells)]);
            if (two_sets)
                n += (size_t)snprintf(body + n, sizeof body - n, ",%s",
                                      setcells[xorshift(&seed) % (sizeof setcells / sizeof *setcells)]);
            n += (size_t)snprintf(body + n, sizeof body - n, ",%d\n", r);
        }
        const char *header = two_sets ? "rule,tags:set,s,ch:set,out:o\n" : "rule,tags:set,s,out:o\n";
        leadroute_table_options o = LEADROUTE_TABLE_OPTIONS_INIT;
        o.flags = LEADROUTE_TABLE_NO_LINT;
        snprintf(text, sizeof text, "#! hit_policy: rule order\n%s%s", header, body);
        leadroute_table *all = parse_opts(text, &o);
        leadroute_result *res = NULL;
        assert_int_equal(leadroute_result_new(&res, all, NULL), LEADROUTE_OK);
        int reached[10] = { 0 }, overlap[10][10] = { { 0 } }, unmatched = 0;
        uint32_t leads = 4u << (EX_ITEMS * (1 + two_sets));
        for (uint32_t code = 0; code < leads; code++) {
            tlead l;
            exhaustive_lead(&l, (code >> 2) | (code & 3) << (EX_ITEMS * (1 + two_sets)), two_sets);
            assert_int_equal(leadroute_table_eval(all, &l.lead, res), LEADROUTE_OK);
            size_t m = leadroute_result_count(res);
            unmatched |= m == 0;
            if (m)
                reached[leadroute_result_rule(res, 0)] = 1;
            for (size_t a = 0; a < m; a++)
                for (size_t b = a + 1; b < m; b++)
                    overlap[leadroute_result_rule(res, a)][leadroute_result_rule(res, b)] = 1;
        }
        leadroute_result_free(res);
        leadroute_table_unref(all);

        for (int unique = 0; unique < 2; unique++) {
            snprintf(text, sizeof text, "#! hit_policy: %s\n%s%s", unique ? "unique" : "first", header, body);
            /* every fourth table has its classes read from sparse outcomes */
            if (round % 4 == 3) {
                lr__lint_scratch_bytes = 0;
                lr__dense_column_bytes = 0;
            }
            leadroute_table *t = parse_ok(text);
            bounds_restore();
            int found[10] = { 0 }, pairs[10][10] = { { 0 } }, nomatch = 0;
            for (size_t i = 0; i < leadroute_table_diagnostic_count(t); i++) {
                leadroute_diagnostic d = diag(t, i);
                int r = d.rule_id ? atoi(d.rule_id + 1) : -1, other = d.other_rule_id ? atoi(d.other_rule_id + 1) : -1;
                wlead w;
                if (d.kind == LEADROUTE_DIAG_SHADOWED) {
                    found[r] = 1;
                } else if (d.kind == LEADROUTE_DIAG_OVERLAP) {
                    pairs[other][r] = 1;
                    witness_lead(&w, t, d.witness);
                    if (eval_rc(t, &w.l) != LEADROUTE_EHITPOLICY)
                        fail_msg("table:\n%s\noverlap witness '%s' does not match both", text, d.witness);
                } else if (d.kind == LEADROUTE_DIAG_NO_MATCH) {
                    nomatch = 1;
                    witness_lead(&w, t, d.witness);
                    if (strcmp(hits(t, &w.l), "") != 0)
                        fail_msg("table:\n%s\nno-match witness '%s' matches '%s'", text, d.witness, hits(t, &w.l));
                }
            }
            if (nomatch != unmatched) {
                dump(t);
                fail_msg("table:\n%s\nwant %s no-match finding", text, unmatched ? "a" : "no");
            }
            for (int r = 0; r < rules; r++) {
                if (!unique && found[r] == reached[r]) {
                    dump(t);
                    fail_msg("table:\n%s\nrule r%d: some lead reaches it first: %s; reported shadowed: %s", text, r,
                             reached[r] ? "yes" : "no", found[r] ? "yes" : "no");
                }
                for (int q = 0; unique && q < r; q++)
                    if (pairs[q][r] != overlap[q][r]) {
                        dump(t);
                        fail_msg("table:\n%s\nrules r%d and r%d: some lead matches both: %s; reported: %s", text,
                                 q, r, overlap[q][r] ? "yes" : "no", pairs[q][r] ? "yes" : "no");
                    }
            }
            leadroute_table_unref(t);
        }
    }
}

/* --- unlisted priority ------------------------------------------------------ */

static void test_unlisted_priority(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok(
        "#! hit_policy: priority\n"        /* 1 */
        "#! priority: pool = gold, silver\n"
        "rule,x,out:pool\n"                /* 3 */
        "g,a,gold\n"                       /* 4 */
        "w,b,weird\n"                      /* 5 */
        "c,-,silver\n"                    /* 6 */
        "n1,d,null\n"                      /* 7: null ranks last anyway */
        "n2,e,-\n");
    assert_int_equal(count_kind(t, LEADROUTE_DIAG_UNLISTED_PRIORITY), 1);
    leadroute_diagnostic d = find_kind(t, LEADROUTE_DIAG_UNLISTED_PRIORITY);
    assert_string_equal(d.rule_id, "w");
    assert_int_equal(d.line, 5);
    if (strstr(d.message, "value 'weird' is not in its priority list") == NULL)
        fail_msg("message '%s' does not name the value", d.message);
    if (strstr(d.message, "t.csv:5: rule 'w'") != d.message)
        fail_msg("message '%s' does not start at rule 'w' on line 5", d.message);
    leadroute_table_unref(t);

    /* numbers in their shortest form; a long value cut on a character */
    t = parse_ok("#! hit_policy: priority\n#! priority: n = 1, 2\nrule,x,out:n:number\na,a,0.1\nb,b,2\n");
    assert_int_equal(count_kind(t, LEADROUTE_DIAG_UNLISTED_PRIORITY), 1);
    d = find_kind(t, LEADROUTE_DIAG_UNLISTED_PRIORITY);
    if (strstr(d.message, "value 0.1 is not") == NULL)
        fail_msg("message '%s' does not show 0.1", d.message);
    leadroute_table_unref(t);
    t = parse_ok("#! hit_policy: priority\n#! priority: p = a\nrule,x,out:p\n"
                 "r,a,\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4"
                 "\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4\xc3\xa4x\n");
    d = find_kind(t, LEADROUTE_DIAG_UNLISTED_PRIORITY);
    assert_non_null(strstr(d.message, "\xc3\xa4\xc3\xa4...' is not"));
    assert_true(lr__utf8_valid(d.message, strlen(d.message)));
    leadroute_table_unref(t);

    /* output order ranks too; the other hit policies use no list, so it is no finding there */
    static const char *const policies[] = { "output order", "first", "unique", "any", "rule order", "collect" };
    for (size_t i = 0; i < sizeof policies / sizeof policies[0]; i++) {
        char text[160];
        snprintf(text, sizeof text, "#! hit_policy: %s\n#! priority: x = a\nrule,s,out:x\nr1,-,b\n", policies[i]);
        t = parse_ok(text);
        if (count_kind(t, LEADROUTE_DIAG_UNLISTED_PRIORITY) != (i == 0 ? 1u : 0u))
            fail_msg("hit policy %s: %zu unlisted priority findings, want %d", policies[i],
                     count_kind(t, LEADROUTE_DIAG_UNLISTED_PRIORITY), i == 0);
        leadroute_table_unref(t);
    }
}

/* At most 1000 findings are kept; a notice says how many more lint found
 * and which rule the first of them is about. */
static void test_findings_capped(void **state)
{
    (void)state;
    static char text[32768];
    size_t n = (size_t)snprintf(text, sizeof text, "#! hit_policy: priority\n#! priority: p = a\nrule,x,out:p\n");
    for (int r = 0; r < 1001; r++)
        n += (size_t)snprintf(text + n, sizeof text - n, "r%d,-,z\n", r);
    assert_true(n < sizeof text);
    leadroute_table *t = parse_ok(text);
    expect_count(t, 1001);
    assert_int_equal(count_kind(t, LEADROUTE_DIAG_UNLISTED_PRIORITY), 1000);
    leadroute_diagnostic d = diag(t, 999);
    assert_string_equal(d.rule_id, "r999");
    d = diag(t, 1000);
    assert_int_equal(d.kind, LEADROUTE_DIAG_TRUNCATED);
    assert_string_equal(d.rule_id, "r1000");
    assert_int_equal(d.line, 1004);
    assert_null(d.other_rule_id);
    assert_null(d.witness);
    assert_string_equal(d.message, "t.csv:1004: lint keeps at most 1000 findings, and left out 1 more, about rule "
                                   "'r1000'");
    leadroute_table_unref(t);
}

/* A FIRST table of `dups` copies of r0, which never fire, and a rule 'j'
 * whose shadow search stops at its bound (as in
 * test_shadow_search_cut_short_says_so), with or without a catch-all. */
static char *cut_short_with_dups(int dups, int catch_all)
{
    size_t cap = 64 + (size_t)dups * 40 + 512, n = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    n += (size_t)snprintf(text + n, cap - n, "rule,c1,c2,c3,c4,c5,c6,c7,c8,out:o\n");
    const char *last[] = { "a", "b", "c", "null" };
    for (int i = 0; i < 4; i++)
        n += (size_t)snprintf(text + n, cap - n, "r%d,\"a, b, c\",-,-,-,-,-,-,%s,x\n", i, last[i]);
    for (int i = 0; i < dups; i++)
        n += (size_t)snprintf(text + n, cap - n, "dup%d,\"a, b, c\",-,-,-,-,-,-,a,x\n", i);
    n += (size_t)snprintf(text + n, cap - n, "j");
    for (int c = 0; c < 8; c++)
        n += (size_t)snprintf(text + n, cap - n, ",\"a, b, c, null\"");
    n += (size_t)snprintf(text + n, cap - n, ",y\n%s", catch_all ? "all,-,-,-,-,-,-,-,-,z\n" : "");
    assert_true(n < cap);
    return text;
}

/* The cap is on findings: the notices that say what lint could not tell
 * are kept beside 1000 of them, and so is the one that says findings were
 * left out (none while there are only 1000). */
static void test_findings_cap_keeps_notices(void **state)
{
    (void)state;
    char *text = cut_short_with_dups(1000, 1);
    leadroute_table *t = parse_ok(text);
    expect_count(t, 1001);
    assert_int_equal(count_kind(t, LEADROUTE_DIAG_SHADOWED), 1000);
    assert_string_equal(diag(t, 1000).rule_id, "j");
    assert_int_equal(diag(t, 1000).kind, LEADROUTE_DIAG_SHADOWED_UNDECIDED);
    leadroute_table_unref(t);
    free(text);

    text = cut_short_with_dups(1005, 1);
    t = parse_ok(text);
    expect_count(t, 1002);
    assert_int_equal(count_kind(t, LEADROUTE_DIAG_SHADOWED), 1000);
    assert_string_equal(diag(t, 999).rule_id, "dup999");
    leadroute_diagnostic d = diag(t, 1000);
    assert_int_equal(d.kind, LEADROUTE_DIAG_SHADOWED_UNDECIDED);
    assert_string_equal(d.rule_id, "j");
    d = diag(t, 1001);
    assert_int_equal(d.kind, LEADROUTE_DIAG_TRUNCATED);
    assert_string_equal(d.rule_id, "dup1000");
    assert_int_equal(d.line, 1006);
    assert_string_equal(d.message, "t.csv:1006: lint keeps at most 1000 findings, and left out 5 more, the first "
                                   "about rule 'dup1000'");
    leadroute_table_unref(t);
    free(text);

    /* without the catch-all, the lead no rule matches is left out too */
    text = cut_short_with_dups(1005, 0);
    t = parse_ok(text);
    expect_count(t, 1002);
    assert_int_equal(count_kind(t, LEADROUTE_DIAG_NO_MATCH), 0);
    d = diag(t, 1001);
    assert_int_equal(d.kind, LEADROUTE_DIAG_TRUNCATED);
    if (!strstr(d.message, "left out 6 more, the first about rule 'dup1000'"))
        fail_msg("message '%s'", d.message);
    leadroute_table_unref(t);
    free(text);
}

/* The overlap check counts the overlaps past the cap rather than stop at
 * it: 46 UNIQUE rules with one key make 1035 pairs, the last 35 of them
 * with r45, and the lead with another key that matches no rule makes 36
 * findings left out. The notice for the rules the budget left unchecked is
 * kept beside them. */
static void test_findings_cap_counts_overlaps(void **state)
{
    (void)state;
    static char text[4096];
    size_t n = (size_t)snprintf(text, sizeof text, "#! hit_policy: unique\nrule,k,out:o\n");
    for (int r = 0; r < 46; r++)
        n += (size_t)snprintf(text + n, sizeof text - n, "r%d,k,x\n", r);
    assert_true(n < sizeof text);
    leadroute_table *t = parse_ok(text);
    expect_count(t, 1001);
    assert_int_equal(count_kind(t, LEADROUTE_DIAG_OVERLAP), 1000);
    leadroute_diagnostic d = diag(t, 1000);
    assert_int_equal(d.kind, LEADROUTE_DIAG_TRUNCATED);
    assert_string_equal(d.message, "t.csv:48: lint keeps at most 1000 findings, and left out 36 more, the first "
                                   "about rule 'r45'");
    leadroute_table_unref(t);

    /* with 14 rules more, a budget that runs out after the cap is reached:
     * both notices */
    for (int r = 46; r < 60; r++)
        n += (size_t)snprintf(text + n, sizeof text - n, "r%d,k,x\n", r);
    assert_true(n < sizeof text);
    int both = 0;
    for (uint64_t words = 100; words < 4000 && !both; words++) {
        t = parse_with_pairwise_words(text, words);
        size_t capped = count_kind(t, LEADROUTE_DIAG_TRUNCATED), undecided = count_kind(t, LEADROUTE_DIAG_OVERLAP_UNDECIDED);
        both = capped && undecided;
        if (both) {
            assert_int_equal(count_kind(t, LEADROUTE_DIAG_OVERLAP), 1000);
            assert_int_equal(diag(t, leadroute_table_diagnostic_count(t) - 1).kind, LEADROUTE_DIAG_TRUNCATED);
        }
        leadroute_table_unref(t);
    }
    assert_true(both);

    /* a witness per pair is paid for: 1,000 words cannot pay for the
     * 1,000 pairs of the cap, so the rules left are counted instead */
    t = parse_with_pairwise_words(text, 1000);
    if (count_kind(t, LEADROUTE_DIAG_OVERLAP) >= 600 || count_kind(t, LEADROUTE_DIAG_OVERLAP_UNDECIDED) != 1) {
        dump(t);
        fail_msg("1000 words paid for %zu overlaps", count_kind(t, LEADROUTE_DIAG_OVERLAP));
    }
    leadroute_table_unref(t);

    /* a rule no lead matches overlaps nothing, past the cap too: 45 rules
     * of key a make 990 pairs and 5 of key b 10, 1,000 in all; the lead of
     * another key is the one left out, not the pairs of 'last' with the dead
     * rule, which are no overlap */
    n = (size_t)snprintf(text, sizeof text, "#! hit_policy: unique\nrule,s,b:bool,out:o\n");
    for (int r = 0; r < 50; r++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%c%d,%c,-,x\n", r < 45 ? 'a' : 'b', r, r < 45 ? 'a' : 'b');
    n += (size_t)snprintf(text + n, sizeof text - n, "dead,-,\"not(true, false, null)\",x\nlast,z,-,x\n");
    assert_true(n < sizeof text);
    t = parse_ok(text);
    assert_int_equal(count_kind(t, LEADROUTE_DIAG_OVERLAP), 1000);
    d = diag(t, leadroute_table_diagnostic_count(t) - 1);
    assert_int_equal(d.kind, LEADROUTE_DIAG_TRUNCATED);
    assert_null(d.rule_id);
    if (!strstr(d.message, "lint keeps at most 1000 findings, and left out 1 more")) {
        dump(t);
        fail_msg("message '%s'", d.message);
    }
    leadroute_table_unref(t);
}

/* --- flags and accessor errors ----------------------------------------------- */

static void test_no_lint_flag(void **state)
{
    (void)state;
    const char *text = "rule,region,n:number,out:o\nwide,EMEA,-,a\nnarrow,EMEA,>= 10,b\n";
    leadroute_table *t = parse_ok(text);
    assert_true(leadroute_table_diagnostic_count(t) >= 2);    /* shadowed + no match */
    leadroute_table_unref(t);
    leadroute_table_options o = LEADROUTE_TABLE_OPTIONS_INIT;
    o.flags = LEADROUTE_TABLE_NO_LINT;
    t = parse_opts(text, &o);
    assert_int_equal(leadroute_table_diagnostic_count(t), 0);
    leadroute_diagnostic d = LEADROUTE_DIAGNOSTIC_INIT;
    assert_int_equal(leadroute_table_diagnostic(t, 0, &d), LEADROUTE_ERANGE);
    /* Lint does not change the meaning. */
    tlead l;
    tl_init(&l);
    tl_str(&l, "region", "EMEA");
    assert_string_equal(hits(t, &l), "wide");
    leadroute_table_unref(t);
}

static void test_builder_lint(void **state)
{
    (void)state;
    for (int nolint = 0; nolint < 2; nolint++) {
        leadroute_table_options o = LEADROUTE_TABLE_OPTIONS_INIT;
        o.flags = nolint ? LEADROUTE_TABLE_NO_LINT : 0;
        leadroute_table_builder *b = NULL;
        assert_int_equal(leadroute_table_builder_new(&b, &o), LEADROUTE_OK);
        assert_int_equal(leadroute_table_builder_add_input(b, "region", LEADROUTE_TYPE_STRING, 0), LEADROUTE_OK);
        assert_int_equal(leadroute_table_builder_add_output(b, "o", LEADROUTE_TYPE_STRING), LEADROUTE_OK);
        const char *c1[] = { "EMEA, NA" }, *c2[] = { "NA" }, *c3[] = { "-" }, *out[] = { "x" };
        const char *const *cells[] = { c1, c2, c3 };
        const char *ids[] = { "wide", "narrow", "all" };
        for (size_t i = 0; i < 3; i++) {
            leadroute_rule r = LEADROUTE_RULE_INIT;
            r.id = ids[i];
            r.inputs = cells[i];
            r.input_count = 1;
            r.outputs = out;
            r.output_count = 1;
            assert_int_equal(leadroute_table_builder_add_rule(b, &r), LEADROUTE_OK);
        }
        leadroute_table *t = NULL;
        assert_int_equal(leadroute_table_builder_build(&t, b), LEADROUTE_OK);
        leadroute_table_builder_free(b);
        if (nolint) {
            expect_count(t, 0);
        } else {
            leadroute_diagnostic d = expect_one_shadowed(t, "narrow", "wide");
            assert_int_equal(d.line, 0);          /* built tables have no lines */
            assert_int_equal(d.other_line, 0);
        }
        leadroute_table_unref(t);
    }
}

static void test_diagnostic_accessor_errors(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok("rule,region,out:o\nwide,EMEA,a\nnarrow,EMEA,b\nall,-,c\n");
    expect_count(t, 1);
    leadroute_diagnostic d = LEADROUTE_DIAGNOSTIC_INIT;
    assert_int_equal(leadroute_table_diagnostic(t, 0, &d), LEADROUTE_OK);
    assert_int_equal(d.kind, LEADROUTE_DIAG_SHADOWED);
    assert_int_equal(d.version, LEADROUTE_DIAGNOSTIC_VERSION);
    leadroute_error_clear();
    assert_int_equal(leadroute_table_diagnostic(t, 1, &d), LEADROUTE_ERANGE);
    assert_int_equal(leadroute_error_last()->code, LEADROUTE_ERANGE);
    assert_int_equal(leadroute_table_diagnostic(t, SIZE_MAX, &d), LEADROUTE_ERANGE);
    d.version = 0;
    assert_int_equal(leadroute_table_diagnostic(t, 0, &d), LEADROUTE_EVERSION);
    d.version = LEADROUTE_DIAGNOSTIC_VERSION + 1;
    assert_int_equal(leadroute_table_diagnostic(t, 0, &d), LEADROUTE_EVERSION);
    assert_int_equal(leadroute_table_diagnostic(t, 0, NULL), LEADROUTE_EINVAL);
    d.version = LEADROUTE_DIAGNOSTIC_VERSION;
    assert_int_equal(leadroute_table_diagnostic(NULL, 0, &d), LEADROUTE_EINVAL);
    assert_int_equal(leadroute_table_diagnostic_count(NULL), 0);
    leadroute_table_unref(t);
}

/* Every test starts from the library's bounds and leaves them so. */
/* The only NO_MATCH finding's witness equals `want`. */
static void expect_no_match_witness(const char *text, const char *want)
{
    leadroute_table *t = parse_ok(text);
    if (count_kind(t, LEADROUTE_DIAG_NO_MATCH) != 1) {
        dump(t);
        fail_msg("want one no-match finding");
    }
    assert_string_equal(find_kind(t, LEADROUTE_DIAG_NO_MATCH).witness, want);
    leadroute_table_unref(t);
}

/* 999 never-firing rules, j's notice and the no-match finding: notices do
 * not count toward the cap of 1000 findings. */
static void test_notice_outside_cap(void **state)
{
    (void)state;
    char *text = cut_short_with_dups(999, 0);
    leadroute_table *t = parse_ok(text);
    /* 999 shadowed dups, j's notice, then the no-match finding: the 1000th */
    expect_count(t, 1001);
    assert_int_equal(count_kind(t, LEADROUTE_DIAG_SHADOWED), 999);
    assert_int_equal(count_kind(t, LEADROUTE_DIAG_SHADOWED_UNDECIDED), 1);
    assert_int_equal(count_kind(t, LEADROUTE_DIAG_NO_MATCH), 1);
    assert_int_equal(count_kind(t, LEADROUTE_DIAG_TRUNCATED), 0);
    leadroute_table_unref(t);
    free(text);
}

/* number witnesses */
static void test_number_witnesses(void **state)
{
    (void)state;
    /* below a huge bound: the rounded midpoint of (-inf..1e20) */
    expect_no_match_witness("rule,n:number,out:o\nr1,>= 1e20,a\nr2,null,b\n", "n=8e+19");
    /* an interval of four doubles: the midpoint needs 17 digits */
    expect_no_match_witness("rule,n:number,out:o\nr1,<= 0.1,a\nr2,>= 0.10000000000000006,b\nr3,null,c\n",
                            "n=0.10000000000000003");
    /* the one double above the largest point, the largest double */
    expect_no_match_witness("rule,n:number,out:o\nr1,<= 1.7976931348623155e308,a\nr2,null,b\n",
                            "n=1.7976931348623157e+308");
    /* a column with no points: 0 */
    expect_no_match_witness("rule,n:number,out:o\na,null,x\n", "n=0");
}

/* a key of LEADROUTE_MAX_STRING bytes is a value lint can name */
static void test_longest_key_overlap(void **state)
{
    (void)state;
    static char text[2 * LEADROUTE_MAX_STRING + 128], want[LEADROUTE_MAX_STRING + 8];
    char key[LEADROUTE_MAX_STRING + 1];
    memset(key, 'k', LEADROUTE_MAX_STRING);
    key[LEADROUTE_MAX_STRING] = '\0';
    snprintf(text, sizeof text, "#! hit_policy: unique\nrule,s,out:o\na,%s,x\nb,%s,y\nall,-,z\n", key, key);
    leadroute_table *t = parse_ok(text);
    assert_int_equal(count_kind(t, LEADROUTE_DIAG_OVERLAP_UNDECIDED), 0);
    leadroute_diagnostic d = find_kind(t, LEADROUTE_DIAG_OVERLAP);
    assert_string_equal(d.rule_id, "b");
    snprintf(want, sizeof want, "s=%s", key);
    assert_string_equal(d.witness, want);
    leadroute_table_unref(t);
}

/* a class lint cannot name that j does not accept does not hide a
 * rule that covers j */
static void test_unnamed_class_j_refuses(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok("rule,s,out:o\np,\"" UNNAMED_KEYS "\",x\nq,a*,y\nr,b,z\ns,b,w\nall,-,v\n");
    assert_int_equal(count_kind(t, LEADROUTE_DIAG_SHADOWED), 1);
    leadroute_diagnostic d = find_kind(t, LEADROUTE_DIAG_SHADOWED);
    assert_string_equal(d.rule_id, "s");
    assert_string_equal(d.other_rule_id, "r");
    d = find_kind(t, LEADROUTE_DIAG_SHADOWED_UNDECIDED);
    assert_string_equal(d.rule_id, "q");
    assert_non_null(strstr(d.message, "rule 'q' can fire"));
    leadroute_table_unref(t);
}

/* the gap between two neighbouring doubles holds no lead, even when
 * its rules are its own */
static void test_empty_gap_own_rules(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok("#! hit_policy: unique\nrule,n:number,out:o\nr1,(1..5],a\n"
                                  "r2,[0..1.0000000000000002),b\n");
    expect_count(t, 1);
    assert_int_equal(diag(t, 0).kind, LEADROUTE_DIAG_NO_MATCH);
    leadroute_table_unref(t);
}

/* a blank inside a value needs no quotes */
static void test_witness_inner_blank(void **state)
{
    (void)state;
    expect_no_match_witness("rule,s,out:o\nr1,not(New York),a\n", "s=New York");
}

/* the no-match search takes the class leaving the fewest rules first */
static void test_no_match_fewest_first(void **state)
{
    (void)state;
    expect_no_match_witness("rule,s,t,out:o\nr1,x,a,a\nr2,x,b,b\nr3,y,a,c\nr4,-,c,d\n",
                            "s=zz-other; t=zz-other");
}

/* a lead holds at most LEADROUTE_MAX_SET_ITEMS items: escaping the
 * 256 negated rules takes all 256 x items, and j needs y besides */
static void test_set_holds_at_most_max_items(void **state)
{
    (void)state;
    static char text[16384];
    size_t n = (size_t)snprintf(text, sizeof text, "rule,tags:set,out:o\n");
    for (int i = 0; i < LEADROUTE_MAX_SET_ITEMS; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "r%d,not(x%d),a\n", i, i);
    n += (size_t)snprintf(text + n, sizeof text - n, "j,y,b\nall,-,c\n");
    assert_true(n < sizeof text);
    leadroute_table *t = parse_ok(text);
    expect_one_shadowed(t, "j", NULL);
    leadroute_table_unref(t);
}

/* an item that keeps no other rule alive is tried first */
static void test_set_item_keeping_nothing_first(void **state)
{
    (void)state;
    expect_no_match_witness("rule,tags:set,tags2:set,out:o\nr1,\"not(a, b)\",-,x\nr2,b,x,y\n", "tags={a}");
}

/* two rules in the shadow notice */
static void test_shadow_notice_two_rules(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok("rule,s,u,out:o\np,\"" UNNAMED_KEYS "\",-,x\nq,a*,-,y\np2,-,\"" UNNAMED_KEYS
                                  "\",x\nq2,-,a*,y\nall,-,-,z\n");
    expect_count(t, 1);
    assert_string_equal(diag(t, 0).message,
                        "t.csv:3: lint could not tell whether rule 'q' and 1 later rule can fire (whether the rules "
                        "before each one together match every lead it matches): it could not name a value for some "
                        "values of column 's' and 1 other column");
    leadroute_table_unref(t);
}

/* a cut and an unnamed column in one shadow notice */
static void test_shadow_notice_cut_and_unnamed(void **state)
{
    (void)state;
    char text[2048];
    size_t n = (size_t)snprintf(text, sizeof text, "rule,c1,c2,c3,c4,c5,c6,c7,c8,s,out:o\n");
    const char *last[] = { "a", "b", "c", "null" };
    for (int i = 0; i < 4; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "r%d,\"a, b, c\",-,-,-,-,-,-,%s,-,x\n", i, last[i]);
    n += (size_t)snprintf(text + n, sizeof text - n, "j");
    for (int c = 0; c < 8; c++)
        n += (size_t)snprintf(text + n, sizeof text - n, ",\"a, b, c, null\"");
    n += (size_t)snprintf(text + n, sizeof text - n, ",-,y\np,-,-,-,-,-,-,-,-,\"" UNNAMED_KEYS "\",x\n"
                          "q,-,-,-,-,-,-,-,-,a*,y\nall,-,-,-,-,-,-,-,-,-,z\n");
    assert_true(n < sizeof text);
    leadroute_table *t = parse_ok(text);
    expect_count(t, 1);
    assert_string_equal(diag(t, 0).message,
                        "t.csv:6: lint could not tell whether rule 'j' and 1 later rule can fire (whether the rules "
                        "before each one together match every lead it matches): it stopped at its bound of 4096 "
                        "steps per rule, and could not name a value for some values of column 's'");
    leadroute_table_unref(t);
}

/* in a set column with a class lint cannot name, a rule seen to
 * cover j on the named classes does not make j shadowed: {ab} reaches q */
static void test_set_unnamed_no_false_shadow(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok("rule,tags:set,out:o\np,\"" UNNAMED_KEYS "\",x\nq,a*,y\nall,-,w\n");
    assert_int_equal(count_kind(t, LEADROUTE_DIAG_SHADOWED), 0);
    assert_int_equal(count_kind(t, LEADROUTE_DIAG_SHADOWED_UNDECIDED), 1);
    tlead l;
    tl_init(&l);
    const char *items[] = { "ab" };
    tl_set(&l, "tags", items, 1);
    assert_string_equal(hits(t, &l), "q");
    leadroute_table_unref(t);
}

/* two rules in the overlap notice */
static void test_overlap_notice_two_rules(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok("#! hit_policy: unique\nrule,s,t,out:o\np,\"" UNNAMED_KEYS "\",1,x\n"
                                  "q,a*,2,y\nr,\"not(" UNNAMED_KEYS ")\",2,z\nq2,a*,3,y\nr2,\"not(" UNNAMED_KEYS
                                  ")\",3,z\n");
    leadroute_diagnostic d = find_kind(t, LEADROUTE_DIAG_OVERLAP_UNDECIDED);
    assert_non_null(strstr(d.message, "rule 'r' and 1 later rule overlap earlier rules"));
    leadroute_table_unref(t);
}

/* past the cap, a pair that meets only on values lint cannot name
 * is still counted in the overlap notice, not among the findings left out */
static void test_cap_keeps_unnamed_overlap_notice(void **state)
{
    (void)state;
    static const char firsts[] = "zq~!#$%&+./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                 "^_`abcdefghijklmnoprstuvwxy{|}";
    static char text[16384];
    size_t n = (size_t)snprintf(text, sizeof text, "#! hit_policy: unique\nrule,s,t,out:o\n");
    for (int i = 0; i < 46; i++) /* 1035 overlapping pairs */
        n += (size_t)snprintf(text + n, sizeof text - n, "d%d,-,1,x\n", i);
    n += (size_t)snprintf(text + n, sizeof text - n, "r,\"not(");
    for (size_t i = 0; firsts[i]; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%s\"\"%c\"\"*", i ? ", " : "", firsts[i]);
    n += (size_t)snprintf(text + n, sizeof text - n, ", null)\",2,y\nj,-,2,z\n");
    assert_true(n < sizeof text);
    leadroute_table *t = parse_ok(text);
    assert_int_equal(count_kind(t, LEADROUTE_DIAG_OVERLAP), 1000);
    leadroute_diagnostic d = find_kind(t, LEADROUTE_DIAG_OVERLAP_UNDECIDED);
    assert_string_equal(d.rule_id, "j");
    leadroute_table_unref(t);
}


/* with lint's memory bound reached and sparse outcomes, two positive
 * set cells still meet in a lead holding an item of each */
static void test_sparse_set_items_overlap(void **state)
{
    (void)state;
    static char text[65536];
    size_t n = (size_t)snprintf(text, sizeof text, "#! hit_policy: unique\nrule,s,t:set,out:o\n");
    for (int r = 0; r < 1000; r++)
        n += (size_t)snprintf(text + n, sizeof text - n, "r%d,k%d,%s,x\n", r, r,
                              r == 100 ? "x" : r == 200 ? "y" : "-");
    n += (size_t)snprintf(text + n, sizeof text - n, "a,q,x,x\nb,q,y,y\n");
    assert_true(n < sizeof text);
    for (int round = 0; round < 2; round++) {
        lr__lint_scratch_bytes = round ? 0 : lr__lint_scratch_bytes;
        lr__dense_column_bytes = round ? 0 : lr__dense_column_bytes;
        leadroute_table *t = parse_ok(text);
        bounds_restore();
        leadroute_diagnostic d = find_kind(t, LEADROUTE_DIAG_OVERLAP);
        assert_string_equal(d.rule_id, "b");
        assert_string_equal(d.other_rule_id, "a");
        assert_int_equal(count_kind(t, LEADROUTE_DIAG_OVERLAP), 1);
        leadroute_table_unref(t);
    }
}


/* a rule of the columns left that accepts everything ends a path of
 * the shadow search at once; walking 5^8 leads instead hits the bound */
static void test_shadow_search_prunes_by_rest(void **state)
{
    (void)state;
    char text[1024];
    size_t n = (size_t)snprintf(text, sizeof text, "rule,c1,c2,c3,c4,c5,c6,c7,c8,c9,out:o\nk");
    for (int c = 0; c < 8; c++)
        n += (size_t)snprintf(text + n, sizeof text - n, ",\"a, b, c\"");
    n += (size_t)snprintf(text + n, sizeof text - n, ",z,o\nr0,-,-,-,-,-,-,-,-,x,o\nr1,-,-,-,-,-,-,-,-,y,o\n"
                          "j,-,-,-,-,-,-,-,-,\"x, y\",o\nall,-,-,-,-,-,-,-,-,-,o\n");
    leadroute_table *t = parse_ok(text);
    expect_one_shadowed(t, "j", NULL);
    leadroute_table_unref(t);
}

/* Set columns whose leads need n1, n2 and n3 items to escape every
 * negated rule (no third column when n3 is 0), then j and k. */
static leadroute_table *negated_sets(int n1, int n2, int n3)
{
    static char text[65536];
    const char *ids = "rst";
    int counts[3] = { n1, n2, n3 };
    size_t n = (size_t)snprintf(text, sizeof text, "rule,c,tags:set,tags2:set,tags3:set,out:o\n");
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < counts[c]; i++) {
            char cell[32];
            snprintf(cell, sizeof cell, "not(x%d)", i);
            n += (size_t)snprintf(text + n, sizeof text - n, "%c%d,-,%s,%s,%s,a\n", ids[c], i, c == 0 ? cell : "-",
                                  c == 1 ? cell : "-", c == 2 ? cell : "-");
        }
    n += (size_t)snprintf(text + n, sizeof text - n, "j,z,-,-,-,b\nk,w,-,-,-,b\nall,-,-,-,-,c\n");
    assert_true(n < sizeof text);
    return parse_ok(text);
}

/* The set search's bound is on the items picked along one path, 512 (two
 * full sets), whatever the number of set columns: 256 + 256 items fit, and
 * 256 + 255 + 2 do not. */
static void test_set_items_bound(void **state)
{
    (void)state;
    leadroute_table *t = negated_sets(256, 256, 0);
    expect_count(t, 0);
    leadroute_table_unref(t);
    t = negated_sets(256, 255, 2);
    expect_count(t, 1);
    assert_int_equal(diag(t, 0).kind, LEADROUTE_DIAG_SHADOWED_UNDECIDED);
    assert_string_equal(diag(t, 0).rule_id, "j");
    assert_non_null(strstr(diag(t, 0).message, "at its bound of 512 set items along one path"));
    leadroute_table_unref(t);
}


#define lint_test(f) cmocka_unit_test_setup_teardown(f, bounds_fixture, bounds_fixture)

/* Names and sorts of the kinds, as documented: hosts ask these instead of
 * keeping lists of their own. */
static void test_diagnostic_kinds(void **state)
{
    static const struct {
        uint32_t kind;
        const char *name;
        int notice;
    } kinds[] = {
        { LEADROUTE_DIAG_SHADOWED, "shadowed", 0 },
        { LEADROUTE_DIAG_OVERLAP, "overlap", 0 },
        { LEADROUTE_DIAG_NO_MATCH, "no_match", 0 },
        { LEADROUTE_DIAG_UNLISTED_PRIORITY, "unlisted_priority", 0 },
        { LEADROUTE_DIAG_NO_MATCH_UNDECIDED, "no_match_undecided", 1 },
        { LEADROUTE_DIAG_SHADOWED_UNDECIDED, "shadowed_undecided", 1 },
        { LEADROUTE_DIAG_OVERLAP_UNDECIDED, "overlap_undecided", 1 },
        { LEADROUTE_DIAG_TRUNCATED, "truncated", 1 },
    };
    static const uint32_t not_kinds[] = { 0, LEADROUTE_DIAG_TRUNCATED + 1, UINT32_MAX };
    (void)state;
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        assert_string_equal(leadroute_diagnostic_kind_name(kinds[i].kind), kinds[i].name);
        assert_int_equal(leadroute_diagnostic_is_notice(kinds[i].kind), kinds[i].notice);
    }
    for (size_t i = 0; i < sizeof not_kinds / sizeof *not_kinds; i++) {
        char want[64];
        snprintf(want, sizeof want, "%u is not a diagnostic kind (1..8)", (unsigned)not_kinds[i]);
        assert_string_equal(leadroute_diagnostic_kind_name(not_kinds[i]), "unknown");
        leadroute_error_clear();
        assert_int_equal(leadroute_diagnostic_is_notice(not_kinds[i]), LEADROUTE_EINVAL);
        assert_int_equal(leadroute_error_last()->code, LEADROUTE_EINVAL);
        assert_string_equal(leadroute_error_last()->message, want);
    }

    /* a table's own diagnostics: a finding and a notice */
    lr__lint_nomatch_steps = 1;
    leadroute_table *t = parse_ok("rule,a,b,c,out:o\nr1,x,-,-,1\nr2,-,y,-,2\nr3,-,-,z,3\nr4,x,y,z,4\n");
    leadroute_diagnostic d = find_kind(t, LEADROUTE_DIAG_SHADOWED);
    assert_int_equal(leadroute_diagnostic_is_notice(d.kind), 0);
    d = find_kind(t, LEADROUTE_DIAG_NO_MATCH_UNDECIDED);
    assert_int_equal(leadroute_diagnostic_is_notice(d.kind), 1);
    assert_string_equal(leadroute_diagnostic_kind_name(d.kind), "no_match_undecided");
    leadroute_table_unref(t);
}

int main(void)
{
    /* read before any test can lower them */
    defaults = (lint_bounds){ lr__lint_scratch_bytes, lr__lint_memo_bytes, lr__lint_nomatch_steps,
                              lr__lint_pairwise_words, lr__lint_nomatch_words, lr__dense_column_bytes };
    const struct CMUnitTest tests[] = {
        lint_test(test_shadowed_by_one_rule),
        lint_test(test_shadowed_by_union),
        lint_test(test_not_shadowed),
        lint_test(test_shadow_reasoning_per_column_type),
        lint_test(test_shadowed_by_union_over_columns),
        lint_test(test_shadow_search_cut_short_says_so),
        lint_test(test_shadow_check_out_of_words),
        lint_test(test_shadow_check_too_big_to_start),
        lint_test(test_shadow_rule_matching_nothing),
        lint_test(test_findings_across_word_boundary),
        lint_test(test_doc_example_is_clean),
        lint_test(test_long_file_name_in_messages),
        lint_test(test_shadowed_beside_unnamed_values),
        lint_test(test_unique_overlap),
        lint_test(test_unique_no_overlap),
        lint_test(test_overlap_names_later_rule),
        lint_test(test_overlap_check_out_of_words),
        lint_test(test_overlap_check_too_big_to_start),
        lint_test(test_findings_follow_hit_policy),
        lint_test(test_no_match_witness),
        lint_test(test_long_witness_whole),
        lint_test(test_witness_numbers_read_well),
        lint_test(test_empty_number_gaps),
        lint_test(test_no_match_deep),
        lint_test(test_no_match_search_skips_and_orders),
        lint_test(test_no_match_search_within_bound),
        lint_test(test_no_match_search_checks_forward),
        lint_test(test_no_match_search_cut_short),
        lint_test(test_no_match_search_out_of_words),
        lint_test(test_no_match_memo_within_cap),
        lint_test(test_witness_values_quoted),
        lint_test(test_witness_values_without_blank_ends),
        lint_test(test_findings_without_kept_bitsets),
        lint_test(test_catch_all_means_no_no_match),
        lint_test(test_longest_key),
        lint_test(test_prefix_class_beside_keys),
        lint_test(test_unnamed_class_keeps_findings_sound),
        lint_test(test_unnamed_class_overlap_undecided),
        lint_test(test_negated_set_cells),
        lint_test(test_set_findings_exact),
        lint_test(test_unlisted_priority),
        lint_test(test_findings_capped),
        lint_test(test_findings_cap_keeps_notices),
        lint_test(test_findings_cap_counts_overlaps),
        lint_test(test_no_lint_flag),
        lint_test(test_builder_lint),
        lint_test(test_diagnostic_accessor_errors),
        lint_test(test_diagnostic_kinds),
        lint_test(test_notice_outside_cap),
        lint_test(test_number_witnesses),
        lint_test(test_longest_key_overlap),
        lint_test(test_unnamed_class_j_refuses),
        lint_test(test_empty_gap_own_rules),
        lint_test(test_witness_inner_blank),
        lint_test(test_no_match_fewest_first),
        lint_test(test_set_holds_at_most_max_items),
        lint_test(test_set_item_keeping_nothing_first),
        lint_test(test_shadow_notice_two_rules),
        lint_test(test_shadow_notice_cut_and_unnamed),
        lint_test(test_set_unnamed_no_false_shadow),
        lint_test(test_overlap_notice_two_rules),
        lint_test(test_cap_keeps_unnamed_overlap_notice),
        lint_test(test_sparse_set_items_overlap),
        lint_test(test_shadow_search_prunes_by_rest),
        lint_test(test_set_items_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
