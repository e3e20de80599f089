/* Hit policies, aggregations, result accessors and result sizing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "leadroute/leadroute.h"
#include "testutil.h"
#include "table/reference.h"

/* A lead with a single number field x. */
static const tlead *lx(double x)
{
    static tlead l;
    tl_init(&l);
    tl_num(&l, "x", x);
    return &l;
}

/* Evaluate, expect `rc`, and return the hit ids joined by ','. */
static char any_buf[1024];
static const char *hits_rc(const leadroute_table *t, const tlead *l, int want_rc)
{
    leadroute_result *r = NULL;
    assert_int_equal(leadroute_result_new(&r, t, NULL), LEADROUTE_OK);
    int rc = leadroute_table_eval(t, &l->lead, r);
    if (rc != want_rc)
        fail_msg("eval: want %d, got %d (%s)", want_rc, rc, leadroute_error_last()->message);
    any_buf[0] = '\0';
    for (size_t i = 0; i < leadroute_result_count(r); i++) {
        if (i)
            strcat(any_buf, ",");
        strcat(any_buf, leadroute_result_rule_id(r, i));
    }
    leadroute_result_free(r);
    return any_buf;
}

static void test_first(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok(
        "#! hit_policy: first\nrule,x:number,out:o\na,< 10,A\nb,< 20,B\nc,-,C\n");
    assert_string_equal(hits(t, lx(5)), "a");
    assert_string_equal(hits(t, lx(15)), "b");
    assert_string_equal(hits(t, lx(25)), "c");
    leadroute_table_unref(t);

    t = parse_ok("rule,x:number,out:o\na,< 10,A\nb,< 20,B\n");   /* first is the default */
    assert_string_equal(hits(t, lx(5)), "a");
    assert_string_equal(hits(t, lx(25)), "");
    leadroute_table_unref(t);
}

static void test_first_across_words(void **state)
{
    (void)state;
    /* 200 rules, so the matching rule sits beyond the first 64-bit words. */
    size_t cap = 200 * 32 + 64;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t k = (size_t)snprintf(text, cap, "rule,x:number,out:o:number\n");
    for (int i = 0; i < 200; i++)
        k += (size_t)snprintf(text + k, cap - k, "r%d,%d,%d\n", i, i, i * 2);
    leadroute_table *t = parse_ok(text);
    free(text);
    assert_int_equal(leadroute_table_rule_count(t), 200);
    assert_string_equal(hits(t, lx(0)), "r0");
    assert_string_equal(hits(t, lx(63)), "r63");
    assert_string_equal(hits(t, lx(64)), "r64");
    assert_string_equal(hits(t, lx(130)), "r130");
    assert_string_equal(hits(t, lx(199)), "r199");
    assert_string_equal(hits(t, lx(200)), "");
    leadroute_result *r = NULL;
    assert_int_equal(leadroute_result_new(&r, t, NULL), LEADROUTE_OK);
    assert_int_equal(leadroute_table_eval(t, &lx(130)->lead, r), LEADROUTE_OK);
    assert_int_equal(leadroute_result_rule(r, 0), 130);
    assert_true(leadroute_result_output(r, 0, 0)->number == 260.0);
    leadroute_result_free(r);
    leadroute_table_unref(t);
}

static void test_unique(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok(
        "#! hit_policy: unique\nrule,x:number,out:o\nlo,< 10,low\nmid,[5..20],mid\nhi,> 20,high\n");
    assert_string_equal(hits(t, lx(3)), "lo");
    assert_string_equal(hits(t, lx(15)), "mid");
    assert_string_equal(hits(t, lx(20)), "mid");
    assert_string_equal(hits(t, lx(25)), "hi");
    tlead none;
    tl_init(&none);
    assert_string_equal(hits(t, &none), "");

    /* x = 7 matches lo and mid: a violation that lists both. */
    leadroute_result *r = NULL;
    assert_int_equal(leadroute_result_new(&r, t, NULL), LEADROUTE_OK);
    leadroute_error_clear();
    assert_int_equal(leadroute_table_eval(t, &lx(7)->lead, r), LEADROUTE_EHITPOLICY);
    assert_int_equal(leadroute_error_last()->code, LEADROUTE_EHITPOLICY);
    assert_int_equal(leadroute_result_count(r), 2);
    assert_string_equal(leadroute_result_rule_id(r, 0), "lo");
    assert_string_equal(leadroute_result_rule_id(r, 1), "mid");
    assert_int_equal(leadroute_result_rule(r, 0), 0);
    assert_int_equal(leadroute_result_rule(r, 1), 1);
    /* The same result is reusable for a good evaluation afterwards. */
    assert_int_equal(leadroute_table_eval(t, &lx(25)->lead, r), LEADROUTE_OK);
    assert_int_equal(leadroute_result_count(r), 1);
    assert_string_equal(leadroute_result_rule_id(r, 0), "hi");
    assert_string_equal(leadroute_result_output(r, 0, 0)->string, "high");
    leadroute_result_free(r);
    leadroute_table_unref(t);

    /* Three overlapping rules: all three are listed. */
    t = parse_ok("#! hit_policy: U\nrule,x:number,out:o\na,-,1\nb,> 0,2\nc,< 100,3\n");
    assert_string_equal(hits_rc(t, lx(50), LEADROUTE_EHITPOLICY), "a,b,c");
    assert_string_equal(hits_rc(t, lx(-5), LEADROUTE_EHITPOLICY), "a,c");
    leadroute_table_unref(t);
}

static void test_any(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok(
        "#! hit_policy: any\nrule,x:number,out:o,out:n:number\n"
        "a,< 10,same,1\nb,< 5,same,1\nc,[3..4],other,1\nd,>= 100,-,\ne,>= 200,null,-\n"
        "f,>= 300,-,7\n");
    assert_string_equal(hits(t, lx(7)), "a");
    assert_string_equal(hits(t, lx(4.5)), "a");       /* a and b agree: the first is returned */
    assert_string_equal(hits_rc(t, lx(3), LEADROUTE_EHITPOLICY), "a,b,c");
    assert_string_equal(hits(t, lx(50)), "");
    assert_string_equal(hits(t, lx(250)), "d");       /* null outputs agree with null outputs */
    assert_string_equal(hits_rc(t, lx(350), LEADROUTE_EHITPOLICY), "d,e,f");

    leadroute_result *r = NULL;
    assert_int_equal(leadroute_result_new(&r, t, NULL), LEADROUTE_OK);
    assert_int_equal(leadroute_table_eval(t, &lx(4)->lead, r), LEADROUTE_EHITPOLICY);
    assert_int_equal(leadroute_result_count(r), 3);
    assert_int_equal(leadroute_table_eval(t, &lx(4.5)->lead, r), LEADROUTE_OK);
    assert_int_equal(leadroute_result_count(r), 1);
    assert_string_equal(leadroute_result_output(r, 0, 0)->string, "same");
    assert_true(leadroute_result_output(r, 0, 1)->number == 1.0);
    leadroute_result_free(r);
    leadroute_table_unref(t);

    /* Two hits that differ in their second output only. */
    t = parse_ok("#! hit_policy: any\nrule,x:number,out:o,out:n:number\na,< 10,same,1\nb,< 5,same,2\n");
    assert_string_equal(hits(t, lx(7)), "a");
    assert_string_equal(hits_rc(t, lx(4), LEADROUTE_EHITPOLICY), "a,b");
    assert_non_null(strstr(leadroute_error_last()->message, "rules 'a' and 'b' both match but give different 'n'"));
    leadroute_table_unref(t);

    /* Outputs are compared as values: 1 and 1.0 are equal. */
    t = parse_ok("#! hit_policy: A\nrule,x:number,out:n:number\na,< 10,1\nb,< 5,1.0\nc,< 2,1e0\n");
    assert_string_equal(hits(t, lx(1)), "a");
    leadroute_table_unref(t);
}

#define PRIO_TABLE(policy) \
    "#! hit_policy: " policy "\n" \
    "#! priority: pool = gold, silver, bronze\n" \
    "rule,x:number,out:pool,out:sla:number\n" \
    "b,>= 0,bronze,3\n" \
    "s,>= 10,silver,2\n" \
    "g,>= 20,gold,1\n" \
    "u,>= 30,unlisted,0\n" \
    "s2,>= 40,silver,9\n"

static void test_priority(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok(PRIO_TABLE("priority"));
    assert_string_equal(hits(t, lx(5)), "b");
    assert_string_equal(hits(t, lx(15)), "s");
    assert_string_equal(hits(t, lx(25)), "g");
    assert_string_equal(hits(t, lx(35)), "g");     /* unlisted ranks below every listed value */
    assert_string_equal(hits(t, lx(45)), "g");
    assert_string_equal(hits(t, lx(-1)), "");
    leadroute_result *r = NULL;
    assert_int_equal(leadroute_result_new(&r, t, NULL), LEADROUTE_OK);
    assert_int_equal(leadroute_table_eval(t, &lx(45)->lead, r), LEADROUTE_OK);
    assert_int_equal(leadroute_result_count(r), 1);
    assert_string_equal(leadroute_result_output(r, 0, 0)->string, "gold");
    assert_true(leadroute_result_output(r, 0, 1)->number == 1.0);
    leadroute_result_free(r);
    leadroute_table_unref(t);

    t = parse_ok(PRIO_TABLE("P"));
    assert_string_equal(hits(t, lx(15)), "s");
    leadroute_table_unref(t);
}

static void test_priority_unlisted_and_ties(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok(
        "#! hit_policy: priority\n#! priority: pool = gold, silver\n"
        "rule,x:number,out:pool\n"
        "u1,>= 0,weird\nu2,>= 0,other\nn,>= 5,\ns1,>= 10,silver\ns2,>= 10,silver\n");
    assert_string_equal(hits(t, lx(1)), "u1");      /* both unlisted: table order */
    assert_string_equal(hits(t, lx(7)), "u1");      /* a null output is not listed either */
    assert_string_equal(hits(t, lx(15)), "s1");     /* tie on silver: table order */
    leadroute_table_unref(t);
}

static void test_priority_column_order(void **state)
{
    (void)state;
    /* Outputs are compared in column order (pool, then tier), whatever the
     * order of the directives. */
    leadroute_table *t = parse_ok(
        "#! hit_policy: priority\n"
        "#! priority: tier = high, low\n"
        "#! priority: pool = a, b\n"
        "rule,x,out:pool,out:tier,out:note\n"
        "r1,-,a,low,z\n"
        "r2,-,b,high,y\n"
        "r3,-,a,high,x\n");
    tlead l;
    tl_init(&l);
    assert_string_equal(hits(t, &l), "r3");
    leadroute_table_unref(t);

    t = parse_ok(
        "#! hit_policy: output order\n"
        "#! priority: tier = high, low\n"
        "#! priority: pool = a, b\n"
        "rule,x,out:pool,out:tier\n"
        "r1,-,a,low\n"
        "r2,-,b,high\n"
        "r3,-,a,high\n"
        "r4,-,b,low\n");
    assert_string_equal(hits(t, &l), "r3,r1,r2,r4");
    leadroute_table_unref(t);
}

static void test_rule_order(void **state)
{
    (void)state;
    const char *policies[] = { "rule order", "R" };
    for (size_t p = 0; p < 2; p++) {
        char text[512];
        snprintf(text, sizeof text,
                 "#! hit_policy: %s\nrule,x:number,out:o\nc,>= 20,C\na,>= 0,A\nb,>= 10,B\n",
                 policies[p]);
        leadroute_table *t = parse_ok(text);
        assert_string_equal(hits(t, lx(25)), "c,a,b");
        assert_string_equal(hits(t, lx(15)), "a,b");
        assert_string_equal(hits(t, lx(-1)), "");
        leadroute_result *r = NULL;
        assert_int_equal(leadroute_result_new(&r, t, NULL), LEADROUTE_OK);
        assert_int_equal(leadroute_table_eval(t, &lx(25)->lead, r), LEADROUTE_OK);
        assert_int_equal(leadroute_result_count(r), 3);
        assert_int_equal(leadroute_result_rule(r, 0), 0);
        assert_int_equal(leadroute_result_rule(r, 1), 1);
        assert_int_equal(leadroute_result_rule(r, 2), 2);
        assert_string_equal(leadroute_result_output(r, 0, 0)->string, "C");
        assert_string_equal(leadroute_result_output(r, 1, 0)->string, "A");
        assert_string_equal(leadroute_result_output(r, 2, 0)->string, "B");
        assert_int_equal(leadroute_result_rule(r, 3), SIZE_MAX);
        assert_null(leadroute_result_rule_id(r, 3));
        assert_null(leadroute_result_output(r, 3, 0));
        assert_null(leadroute_result_output(r, 0, 1));
        assert_null(leadroute_result_aggregate(r, 0));   /* no aggregation */
        leadroute_result_free(r);
        leadroute_table_unref(t);
    }
}

static void test_output_order(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok(PRIO_TABLE("output order"));
    assert_string_equal(hits(t, lx(45)), "g,s,s2,b,u");
    assert_string_equal(hits(t, lx(35)), "g,s,b,u");
    assert_string_equal(hits(t, lx(15)), "s,b");
    assert_string_equal(hits(t, lx(-1)), "");
    leadroute_result *r = NULL;
    assert_int_equal(leadroute_result_new(&r, t, NULL), LEADROUTE_OK);
    assert_int_equal(leadroute_table_eval(t, &lx(45)->lead, r), LEADROUTE_OK);
    assert_int_equal(leadroute_result_rule(r, 0), 2);
    assert_int_equal(leadroute_result_rule(r, 4), 3);
    assert_string_equal(leadroute_result_output(r, 2, 0)->string, "silver");
    assert_true(leadroute_result_output(r, 2, 1)->number == 9.0);
    leadroute_result_free(r);
    leadroute_table_unref(t);

    t = parse_ok(PRIO_TABLE("O"));
    assert_string_equal(hits(t, lx(45)), "g,s,s2,b,u");
    leadroute_table_unref(t);
}

static void test_collect_plain(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok(
        "#! hit_policy: collect\nrule,x:number,out:o\nc,>= 20,C\na,>= 0,A\nb,>= 10,B\n");
    assert_string_equal(hits(t, lx(25)), "c,a,b");
    assert_string_equal(hits(t, lx(5)), "a");
    assert_string_equal(hits(t, lx(-5)), "");
    leadroute_result *r = NULL;
    assert_int_equal(leadroute_result_new(&r, t, NULL), LEADROUTE_OK);
    assert_int_equal(leadroute_table_eval(t, &lx(25)->lead, r), LEADROUTE_OK);
    assert_null(leadroute_result_aggregate(r, 0));
    leadroute_result_free(r);
    leadroute_table_unref(t);
}

/* Evaluate x and return aggregate `out`, copied. */
static leadroute_value agg(const leadroute_table *t, double x, size_t out, size_t want_hits)
{
    leadroute_result *r = NULL;
    assert_int_equal(leadroute_result_new(&r, t, NULL), LEADROUTE_OK);
    assert_int_equal(leadroute_table_eval(t, &lx(x)->lead, r), LEADROUTE_OK);
    assert_int_equal(leadroute_result_count(r), want_hits);
    const leadroute_value *v = leadroute_result_aggregate(r, out);
    assert_non_null(v);
    leadroute_value copy = *v;
    assert_null(leadroute_result_aggregate(r, leadroute_table_output_count(t)));
    leadroute_result_free(r);
    return copy;
}

static void expect_num(leadroute_value v, double want)
{
    assert_int_equal(v.type, LEADROUTE_VALUE_NUMBER);
    if (fabs(v.number - want) > 1e-9)
        fail_msg("want %g, got %g", want, v.number);
}

static void test_collect_sum(void **state)
{
    (void)state;
    const char *policies[] = { "#! hit_policy: collect\n#! aggregation: sum\n", "#! hit_policy: C+\n" };
    for (size_t p = 0; p < 2; p++) {
        char text[512];
        snprintf(text, sizeof text,
                 "%srule,x:number,out:score:number,out:bonus:number\n"
                 "r1,[0..100),10,1\nr2,>= 10,5,\nr3,>= 20,2.5,-\nr4,>= 30,-,null\n",
                 policies[p]);
        leadroute_table *t = parse_ok(text);
        assert_int_equal(leadroute_table_hit_policy(t), LEADROUTE_HIT_COLLECT);
        assert_int_equal(leadroute_table_aggregation(t), LEADROUTE_AGG_SUM);
        expect_num(agg(t, 5, 0, 1), 10);
        expect_num(agg(t, 5, 1, 1), 1);
        expect_num(agg(t, 25, 0, 3), 17.5);
        expect_num(agg(t, 25, 1, 3), 1);
        expect_num(agg(t, 35, 0, 4), 17.5);
        expect_num(agg(t, 150, 0, 3), 7.5);
        assert_int_equal(agg(t, 150, 1, 3).type, LEADROUTE_VALUE_NULL);  /* only nulls */
        assert_int_equal(agg(t, -1, 0, 0).type, LEADROUTE_VALUE_NULL);   /* no hits */
        assert_int_equal(agg(t, -1, 1, 0).type, LEADROUTE_VALUE_NULL);
        leadroute_table_unref(t);
    }
}

static void test_collect_count(void **state)
{
    (void)state;
    const char *policies[] = { "#! hit_policy: collect\n#! aggregation: count\n", "#! hit_policy: C#\n" };
    for (size_t p = 0; p < 2; p++) {
        char text[512];
        snprintf(text, sizeof text,
                 "%srule,x:number,out:pool,out:n:number,out:f:bool\n"
                 "r1,>= 0,a,1,true\nr2,>= 10,b,1,false\nr3,>= 20,a,,true\nr4,>= 30,-,2,\n",
                 policies[p]);
        leadroute_table *t = parse_ok(text);
        assert_int_equal(leadroute_table_aggregation(t), LEADROUTE_AGG_COUNT);
        expect_num(agg(t, 35, 0, 4), 2);     /* a, b, a, null: two distinct */
        expect_num(agg(t, 35, 1, 4), 2);     /* 1, 1, null, 2 */
        expect_num(agg(t, 35, 2, 4), 2);     /* true, false, true, null */
        expect_num(agg(t, 25, 0, 3), 2);
        expect_num(agg(t, 5, 0, 1), 1);
        expect_num(agg(t, 5, 1, 1), 1);
        expect_num(agg(t, -1, 0, 0), 0);     /* no hits: 0, not null */
        expect_num(agg(t, -1, 1, 0), 0);
        leadroute_table_unref(t);
    }
}

/* -0 and 0 are one output value: COUNT counts it once, ANY sees agreement. */
static void test_negative_zero_output(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok("#! hit_policy: C#\nrule,x:number,out:n:number\nr1,-,0\nr2,-,-0\nr3,-,-0.0\n");
    expect_num(agg(t, 1, 0, 3), 1);
    leadroute_table_unref(t);
    t = parse_ok("#! hit_policy: any\nrule,x:number,out:n:number\nr1,-,-0\nr2,-,0\n");
    assert_string_equal(hits(t, lx(1)), "r1");
    leadroute_table_unref(t);
}

static void test_collect_min_max(void **state)
{
    (void)state;
    const char *rows = "rule,x:number,out:n:number\nr1,>= 0,5\nr2,>= 10,-3\nr3,>= 20,\nr4,>= 30,7\n";
    char text[512];
    const char *mins[] = { "#! hit_policy: C<\n", "#! hit_policy: collect\n#! aggregation: min\n" };
    const char *maxs[] = { "#! hit_policy: C>\n", "#! hit_policy: collect\n#! aggregation: max\n" };
    for (size_t p = 0; p < 2; p++) {
        snprintf(text, sizeof text, "%s%s", mins[p], rows);
        leadroute_table *t = parse_ok(text);
        assert_int_equal(leadroute_table_aggregation(t), LEADROUTE_AGG_MIN);
        expect_num(agg(t, 5, 0, 1), 5);
        expect_num(agg(t, 35, 0, 4), -3);
        expect_num(agg(t, 25, 0, 3), -3);
        assert_int_equal(agg(t, -1, 0, 0).type, LEADROUTE_VALUE_NULL);
        leadroute_table_unref(t);

        snprintf(text, sizeof text, "%s%s", maxs[p], rows);
        t = parse_ok(text);
        assert_int_equal(leadroute_table_aggregation(t), LEADROUTE_AGG_MAX);
        expect_num(agg(t, 5, 0, 1), 5);
        expect_num(agg(t, 15, 0, 2), 5);
        expect_num(agg(t, 35, 0, 4), 7);
        assert_int_equal(agg(t, -1, 0, 0).type, LEADROUTE_VALUE_NULL);
        leadroute_table_unref(t);
    }
    /* Only null outputs among the hits. */
    leadroute_table *t = parse_ok("#! hit_policy: C>\nrule,x:number,out:n:number\nr1,>= 0,\nr2,>= 10,-\n");
    assert_int_equal(agg(t, 15, 0, 2).type, LEADROUTE_VALUE_NULL);
    leadroute_table_unref(t);
}

static void test_aggregation_getter_only_collect(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok("#! hit_policy: rule order\nrule,x:number,out:n:number\nr1,-,1\n");
    assert_int_equal(leadroute_table_aggregation(t), LEADROUTE_AGG_NONE);
    leadroute_table_unref(t);
}

/* --- result lifetime, errors and sizing ------------------------------------ */

static void test_result_after_error(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok("#! hit_policy: rule order\nrule,x:number,out:o\na,-,A\nb,< 10,B\n");
    leadroute_result *r = NULL;
    assert_int_equal(leadroute_result_new(&r, t, NULL), LEADROUTE_OK);
    assert_int_equal(leadroute_result_count(r), 0);     /* nothing evaluated yet */
    assert_int_equal(leadroute_table_eval(t, &lx(5)->lead, r), LEADROUTE_OK);
    assert_int_equal(leadroute_result_count(r), 2);
    assert_int_equal(leadroute_table_eval(t, &lx(NAN)->lead, r), LEADROUTE_ELEAD);
    assert_int_equal(leadroute_result_count(r), 0);
    assert_null(leadroute_result_rule_id(r, 0));
    assert_int_equal(leadroute_result_rule(r, 0), SIZE_MAX);
    leadroute_result_free(r);
    leadroute_table_unref(t);
}

static leadroute_table *many_rules(int n)
{
    size_t cap = (size_t)n * 24 + 128;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t k = (size_t)snprintf(text, cap, "#! hit_policy: rule order\nrule,x:number,out:o:number\n");
    for (int i = 0; i < n; i++)
        k += (size_t)snprintf(text + k, cap - k, "r%d,<= %d,%d\n", i, i, i);
    leadroute_table *t = parse_ok(text);
    free(text);
    return t;
}

/* A sum too large for a double is an error of that evaluation, which
 * leaves no hits behind. */
static void test_sum_overflow_leaves_no_hits(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok("#! hit_policy: C+\nx,out:v:number\n-,1e308\n-,1e308\n");
    leadroute_result *r = NULL;
    leadroute_lead lead = LEADROUTE_LEAD_INIT;
    assert_int_equal(leadroute_result_new(&r, t, NULL), LEADROUTE_OK);
    assert_int_equal(leadroute_table_eval(t, &lead, r), LEADROUTE_ERANGE);
    assert_non_null(strstr(leadroute_error_last()->message, "too large for a double"));
    assert_int_equal(leadroute_result_count(r), 0);
    assert_null(leadroute_result_rule_id(r, 0));
    leadroute_result_free(r);
    leadroute_table_unref(t);
}

/* A sum that fits is given whatever the order of the rules, even when
 * adding them in that order passes the range of a double on the way. */
static void test_sum_that_fits_in_any_order(void **state)
{
    static const char *const tables[] = {
        "#! hit_policy: C+\nx,out:v:number\n-,1e308\n-,1e308\n-,-1e308\n",
        "#! hit_policy: C+\nx,out:v:number\n-,-1e308\n-,1e308\n-,1e308\n",
        "#! hit_policy: C+\nx,out:v:number\n-,1.5e308\n-,1.5e308\n-,-1.5e308\n-,0.25\n",
    };
    static const double want[] = { 1e308, 1e308, 1.5e308 };
    (void)state;
    for (size_t k = 0; k < sizeof tables / sizeof *tables; k++) {
        leadroute_table *t = parse_ok(tables[k]);
        leadroute_result *r = NULL;
        leadroute_lead lead = LEADROUTE_LEAD_INIT;
        assert_int_equal(leadroute_result_new(&r, t, NULL), LEADROUTE_OK);
        assert_int_equal(leadroute_table_eval(t, &lead, r), LEADROUTE_OK);
        assert_int_equal(leadroute_result_count(r), 3 + (k == 2));
        assert_non_null(leadroute_result_aggregate(r, 0));
        assert_true(leadroute_result_aggregate(r, 0)->number == want[k]);
        /* and the reference evaluator agrees */
        assert_int_equal(lr__table_eval_reference(t, &lead, r), LEADROUTE_OK);
        assert_true(leadroute_result_aggregate(r, 0)->number == want[k]);
        leadroute_result_free(r);
        leadroute_table_unref(t);
    }
}

static void test_result_reserve(void **state)
{
    (void)state;
    leadroute_table *small = many_rules(2);
    leadroute_table *big = many_rules(200);
    leadroute_result *r = NULL;
    assert_int_equal(leadroute_result_new(&r, small, NULL), LEADROUTE_OK);
    assert_int_equal(leadroute_table_eval(small, &lx(0)->lead, r), LEADROUTE_OK);
    assert_int_equal(leadroute_result_count(r), 2);

    leadroute_error_clear();
    assert_int_equal(leadroute_table_eval(big, &lx(0)->lead, r), LEADROUTE_ERANGE);
    assert_int_equal(leadroute_error_last()->code, LEADROUTE_ERANGE);
    assert_int_equal(leadroute_result_count(r), 0);

    /* grown, the result holds no evaluation */
    assert_int_equal(leadroute_table_eval(small, &lx(0)->lead, r), LEADROUTE_OK);
    assert_int_equal(leadroute_result_reserve(r, big), LEADROUTE_OK);
    assert_int_equal(leadroute_result_count(r), 0);
    assert_null(leadroute_result_rule_id(r, 0));
    assert_int_equal(leadroute_table_eval(big, &lx(0)->lead, r), LEADROUTE_OK);
    assert_int_equal(leadroute_result_count(r), 200);
    assert_string_equal(leadroute_result_rule_id(r, 199), "r199");
    assert_int_equal(leadroute_table_eval(big, &lx(150)->lead, r), LEADROUTE_OK);
    assert_int_equal(leadroute_result_count(r), 50);
    assert_string_equal(leadroute_result_rule_id(r, 0), "r150");
    assert_true(leadroute_result_output(r, 49, 0)->number == 199.0);
    /* Still fits the small table; reserving for a smaller one is fine. */
    assert_int_equal(leadroute_result_reserve(r, small), LEADROUTE_OK);
    assert_int_equal(leadroute_table_eval(small, &lx(1)->lead, r), LEADROUTE_OK);
    assert_string_equal(leadroute_result_rule_id(r, 0), "r1");
    assert_int_equal(leadroute_table_eval(big, &lx(198)->lead, r), LEADROUTE_OK);
    assert_int_equal(leadroute_result_count(r), 2);

    assert_int_equal(leadroute_result_reserve(NULL, big), LEADROUTE_EINVAL);
    assert_int_equal(leadroute_result_reserve(r, NULL), LEADROUTE_EINVAL);
    leadroute_result_free(r);

    /* A result made for the big table serves the small one. */
    assert_int_equal(leadroute_result_new(&r, big, NULL), LEADROUTE_OK);
    assert_int_equal(leadroute_table_eval(small, &lx(0)->lead, r), LEADROUTE_OK);
    assert_int_equal(leadroute_result_count(r), 2);
    leadroute_result_free(r);
    leadroute_table_unref(small);
    leadroute_table_unref(big);
}

static void test_result_new_args(void **state)
{
    (void)state;
    leadroute_table *t = many_rules(3);
    leadroute_result *r = (leadroute_result *)1;
    assert_int_equal(leadroute_result_new(&r, NULL, NULL), LEADROUTE_EINVAL);
    assert_int_equal(leadroute_result_new(NULL, t, NULL), LEADROUTE_EINVAL);
    leadroute_allocator a = LEADROUTE_ALLOCATOR_INIT;
    a.version = 0;
    assert_int_equal(leadroute_result_new(&r, t, &a), LEADROUTE_EVERSION);
    a.version = 2;
    assert_int_equal(leadroute_result_new(&r, t, &a), LEADROUTE_EVERSION);
    a.version = LEADROUTE_ALLOCATOR_VERSION;   /* but no functions */
    assert_int_equal(leadroute_result_new(&r, t, &a), LEADROUTE_EINVAL);
    leadroute_result_free(NULL);
    leadroute_table_unref(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first),
        cmocka_unit_test(test_first_across_words),
        cmocka_unit_test(test_unique),
        cmocka_unit_test(test_any),
        cmocka_unit_test(test_priority),
        cmocka_unit_test(test_priority_unlisted_and_ties),
        cmocka_unit_test(test_priority_column_order),
        cmocka_unit_test(test_rule_order),
        cmocka_unit_test(test_output_order),
        cmocka_unit_test(test_collect_plain),
        cmocka_unit_test(test_collect_sum),
        cmocka_unit_test(test_collect_count),
        cmocka_unit_test(test_negative_zero_output),
        cmocka_unit_test(test_collect_min_max),
        cmocka_unit_test(test_aggregation_getter_only_collect),
        cmocka_unit_test(test_result_after_error),
        cmocka_unit_test(test_sum_overflow_leaves_no_hits),
        cmocka_unit_test(test_sum_that_fits_in_any_order),
        cmocka_unit_test(test_result_reserve),
        cmocka_unit_test(test_result_new_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
