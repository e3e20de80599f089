/*
 * Malformed input never crashes: seeded mutations of valid table and leads
 * texts (bytes replaced, inserted, deleted, lines duplicated or cut) go
 * through the parsers; whatever parses is evaluated by both evaluators,
 * which must agree. Run under ASan/UBSan and valgrind by tests/run.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "leadroute/leadroute.h"
#include "table/reference.h"

static uint64_t rng_state;

static uint64_t rng(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static size_t below(size_t n)
{
    return n ? (size_t)(rng() % n) : 0;
}

static const char table_seed[] =
    "#! name: robustness\n"
    "#! hit_policy: first\n"
    "#! priority: pool = a, b\n"
    "rule,region:ci,country,postal,employees:number,vip:bool,products:set,out:pool,out:sla:number\n"
    "r1,EMEA,\"DE, AT\",\"10*, starts with \"\"20\"\"\",[10..100),true,\"crm, ai\",a,5\n"
    "r2,not(APAC),!= US,-,>= 1e3,-,not(crm),b,60\n"
    "r3,\"NA, LATAM\",null,9*,]1..5[,false,-,c,\n"
    "r4,-,-,-,< -2.5,null,null,-,1440\n";

static const char leads_seed[] =
    "id,region,country,postal,employees,vip,products:set\n"
    "l1,emea,DE,10115,50,true,crm;ai\n"
    "l2,NA,,94105,3,false,\n"
    "l3,APAC,JP,100,-7,,hardware\n";

/* Characters that matter to the grammars, so mutations hit the parsers' edges. */
static const char interesting[] = ",\"\n\r#!:-*[](). <>=;\\0123456789aZ\xc3\xa9\xff";

static size_t mutate(const char *seed, size_t len, char *out, size_t cap)
{
    size_t n = len, edits = 1 + below(6), e;
    memcpy(out, seed, len);
    for (e = 0; e < edits; e++) {
        size_t at = below(n + 1);
        switch (below(5)) {
        case 0: /* replace */
            if (n)
                out[below(n)] = below(3) ? interesting[below(sizeof interesting - 1)] : (char)below(256);
            break;
        case 1: /* insert */
            if (n + 1 < cap) {
                memmove(out + at + 1, out + at, n - at);
                out[at] = interesting[below(sizeof interesting - 1)];
                n++;
            }
            break;
        case 2: /* delete a run */
            if (n) {
                size_t k = 1 + below(8);
                if (at + k > n)
                    k = n - at;
                memmove(out + at, out + at + k, n - at - k);
                n -= k;
            }
            break;
        case 3: /* duplicate a run */
            if (n && n + 64 < cap) {
                char run[64];
                size_t k = 1 + below(40), from = below(n);
                if (from + k > n)
                    k = n - from;
                memcpy(run, out + from, k);
                memmove(out + at + k, out + at, n - at);
                memcpy(out + at, run, k);
                n += k;
            }
            break;
        default: /* cut */
            n = at;
            break;
        }
    }
    return n;
}

static void compare_evaluators(const leadroute_table *t, const leadroute_leads *leads)
{
    leadroute_result *a = NULL, *b = NULL;
    size_t i, j;
    assert_int_equal(leadroute_result_new(&a, t, NULL), LEADROUTE_OK);
    assert_int_equal(leadroute_result_new(&b, t, NULL), LEADROUTE_OK);
    for (i = 0; i < leadroute_leads_count(leads); i++) {
        const leadroute_lead *lead = leadroute_leads_get(leads, i);
        int ra = leadroute_table_eval(t, lead, a);
        int rb = lr__table_eval_reference(t, lead, b);
        assert_int_equal(ra, rb);
        assert_int_equal(leadroute_result_count(a), leadroute_result_count(b));
        for (j = 0; j < leadroute_result_count(a); j++)
            assert_int_equal(leadroute_result_rule(a, j), leadroute_result_rule(b, j));
    }
    leadroute_result_free(a);
    leadroute_result_free(b);
}

static void test_mutated_tables_and_leads(void **state)
{
    char tbuf[4096], lbuf[4096];
    size_t iterations = 20000, i, parsed_tables = 0, parsed_leads = 0;
    const char *scale = getenv("LEADROUTE_DIFF_SCALE");
    (void)state;
    if (scale)
        iterations = (size_t)(iterations * atof(scale)) + 1;
    rng_state = 20261124;
    for (i = 0; i < iterations; i++) {
        leadroute_table *t = NULL;
        leadroute_leads *leads = NULL;
        size_t tn = i % 4 ? mutate(table_seed, sizeof table_seed - 1, tbuf, sizeof tbuf)
                          : sizeof table_seed - 1;
        size_t ln = i % 4 == 0 ? mutate(leads_seed, sizeof leads_seed - 1, lbuf, sizeof lbuf)
                               : sizeof leads_seed - 1;
        int rc;
        if (i % 4 == 0)
            memcpy(tbuf, table_seed, tn);
        else
            memcpy(lbuf, leads_seed, ln);
        rc = leadroute_table_parse(&t, tbuf, tn, "mutant.csv", NULL);
        if (rc != LEADROUTE_OK) {
            /* a failure is a clean error with a message, and no table */
            assert_null(t);
            assert_true(rc == LEADROUTE_EPARSE || rc == LEADROUTE_ETABLE || rc == LEADROUTE_ELIMIT);
            assert_true(leadroute_error_last()->message[0] != '\0');
            continue;
        }
        parsed_tables++;
        rc = leadroute_leads_parse(&leads, lbuf, ln, "mutant-leads.csv", t, NULL);
        if (rc == LEADROUTE_OK) {
            parsed_leads++;
            compare_evaluators(t, leads);
            leadroute_leads_free(leads);
        } else {
            assert_null(leads);
        }
        leadroute_table_unref(t);
    }
    printf("[robustness] %zu mutants: %zu tables and %zu lead files parsed, the rest rejected cleanly\n",
           iterations, parsed_tables, parsed_leads);
    assert_true(parsed_tables > 0);
}

/* Arbitrary bytes, not derived from a valid text. */
static void test_random_bytes(void **state)
{
    char buf[512];
    size_t i, k;
    (void)state;
    rng_state = 77;
    for (i = 0; i < 5000; i++) {
        leadroute_table *t = NULL;
        leadroute_leads *leads = NULL;
        size_t n = below(sizeof buf);
        for (k = 0; k < n; k++)
            buf[k] = below(2) ? interesting[below(sizeof interesting - 1)] : (char)below(256);
        if (leadroute_table_parse(&t, buf, n, "bytes.csv", NULL) == LEADROUTE_OK)
            leadroute_table_unref(t);
        else
            assert_null(t);
        if (leadroute_leads_parse(&leads, buf, n, "bytes.csv", NULL, NULL) == LEADROUTE_OK)
            leadroute_leads_free(leads);
        else
            assert_null(leads);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mutated_tables_and_leads),
        cmocka_unit_test(test_random_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
