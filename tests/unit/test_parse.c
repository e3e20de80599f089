/* Table text: parsing, metadata, directives, error locations, hashing. */
#include <math.h>
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
#include "testutil.h"

/* Evaluate and return "rule_id pool sla" of the single hit. */
static char route_buf[256];
static const char *route(const leadroute_table *t, const tlead *l)
{
    leadroute_result *r = NULL;
    assert_int_equal(leadroute_result_new(&r, t, NULL), LEADROUTE_OK);
    assert_int_equal(leadroute_table_eval(t, &l->lead, r), LEADROUTE_OK);
    assert_int_equal(leadroute_result_count(r), 1);
    const leadroute_value *pool = leadroute_result_output(r, 0, 0);
    const leadroute_value *sla = leadroute_result_output(r, 0, 1);
    assert_non_null(pool);
    assert_non_null(sla);
    assert_int_equal(pool->type, LEADROUTE_VALUE_STRING);
    assert_int_equal(sla->type, LEADROUTE_VALUE_NUMBER);
    snprintf(route_buf, sizeof route_buf, "%s %s %g", leadroute_result_rule_id(r, 0), pool->string,
             sla->number);
    leadroute_result_free(r);
    return route_buf;
}

static void check_doc_example(const leadroute_table *t)
{
    assert_string_equal(leadroute_table_name(t), "inbound routing");
    assert_string_equal(leadroute_table_version(t), "2026-11");
    assert_int_equal(leadroute_table_hit_policy(t), LEADROUTE_HIT_FIRST);
    assert_int_equal(leadroute_table_aggregation(t), LEADROUTE_AGG_NONE);
    assert_true(leadroute_table_memory(t) > 0);

    assert_int_equal(leadroute_table_rule_count(t), 5);
    const char *ids[] = { "vip", "ent-emea", "dach-smb", "us-west", "catch-all" };
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(leadroute_table_rule_id(t, i), ids[i]);
        assert_int_equal(leadroute_table_rule_line(t, i), (uint32_t)(5 + i));
    }
    assert_null(leadroute_table_rule_id(t, 5));
    assert_int_equal(leadroute_table_rule_line(t, 5), 0);

    const char *in[] = { "region", "country", "postal", "industry", "employees", "score", "language" };
    const uint32_t in_t[] = { LEADROUTE_TYPE_STRING, LEADROUTE_TYPE_STRING, LEADROUTE_TYPE_STRING,
                              LEADROUTE_TYPE_STRING, LEADROUTE_TYPE_NUMBER, LEADROUTE_TYPE_NUMBER,
                              LEADROUTE_TYPE_STRING };
    assert_int_equal(leadroute_table_input_count(t), 7);
    for (size_t i = 0; i < 7; i++) {
        assert_string_equal(leadroute_table_input_name(t, i), in[i]);
        assert_int_equal(leadroute_table_input_type(t, i), in_t[i]);
    }
    assert_null(leadroute_table_input_name(t, 7));
    assert_int_equal(leadroute_table_input_type(t, 7), 0);

    assert_int_equal(leadroute_table_output_count(t), 2);
    assert_string_equal(leadroute_table_output_name(t, 0), "pool");
    assert_string_equal(leadroute_table_output_name(t, 1), "sla_minutes");
    assert_int_equal(leadroute_table_output_type(t, 0), LEADROUTE_TYPE_STRING);
    assert_int_equal(leadroute_table_output_type(t, 1), LEADROUTE_TYPE_NUMBER);
    assert_null(leadroute_table_output_name(t, 2));
    assert_int_equal(leadroute_table_output_type(t, 2), 0);
    assert_int_equal(leadroute_table_output_index(t, "pool"), 0);
    assert_int_equal(leadroute_table_output_index(t, "sla_minutes"), 1);
    assert_int_equal(leadroute_table_output_index(t, "region"), LEADROUTE_ENOTFOUND);
    assert_int_equal(leadroute_table_output_index(t, "out:pool"), LEADROUTE_ENOTFOUND);
    assert_int_equal(leadroute_table_output_index(t, NULL), LEADROUTE_EINVAL);

    tlead l;
    tl_init(&l);
    tl_num(&l, "score", 95);
    tl_str(&l, "region", "EMEA");
    tl_num(&l, "employees", 5000);
    assert_string_equal(route(t, &l), "vip inbound-aces 5");

    tl_init(&l);
    tl_str(&l, "region", "EMEA");
    tl_num(&l, "employees", 1000);
    tl_num(&l, "score", 89.5);
    assert_string_equal(route(t, &l), "ent-emea emea-enterprise 60");

    tl_init(&l);
    tl_str(&l, "region", "EMEA");
    tl_str(&l, "country", "AT");
    tl_num(&l, "employees", 999);
    tl_str(&l, "language", "de");
    assert_string_equal(route(t, &l), "dach-smb dach-smb 120");
    l.f[3].value.string = "fr";
    assert_string_equal(route(t, &l), "catch-all nurture 1440");

    tl_init(&l);
    tl_str(&l, "region", "NA");
    tl_str(&l, "country", "US");
    tl_str(&l, "postal", "98101");
    tl_str(&l, "industry", "fintech");
    tl_num(&l, "employees", 50);
    assert_string_equal(route(t, &l), "us-west us-west 120");
    l.f[4].value.number = 1000;                   /* [50..1000) is open at 1000 */
    assert_string_equal(route(t, &l), "catch-all nurture 1440");
    l.f[4].value.number = 999;
    l.f[2].value.string = "10001";
    assert_string_equal(route(t, &l), "catch-all nurture 1440");

    tl_init(&l);
    assert_string_equal(route(t, &l), "catch-all nurture 1440");
    tl_str(&l, "score", "90");                    /* a string holding a number */
    assert_string_equal(route(t, &l), "vip inbound-aces 5");
}

static void test_doc_example(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok(DOC_EXAMPLE);
    check_doc_example(t);
    leadroute_table_unref(t);
}

static void test_text_not_nul_terminated(void **state)
{
    (void)state;
    const char *good = "rule,region,out:o\nr1,EMEA,x\n";
    size_t n = strlen(good);
    char *buf = malloc(n + 16);
    assert_non_null(buf);
    memcpy(buf, good, n);
    memcpy(buf + n, "r2,\"broken", 10); /* past `length`: must not be read */
    leadroute_table *t = NULL;
    assert_int_equal(leadroute_table_parse(&t, buf, n, NULL, NULL), LEADROUTE_OK);
    assert_int_equal(leadroute_table_rule_count(t), 1);
    leadroute_table_unref(t);
    free(buf);
}

static const char *data_path(const char *name)
{
    static char path[1024];
    const char *dir = getenv("LEADROUTE_TEST_DATA");
    if (dir == NULL)
        fail_msg("LEADROUTE_TEST_DATA is not set");
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

static void test_load(void **state)
{
    (void)state;
    leadroute_table *t = NULL;
    int rc = leadroute_table_load(&t, data_path("example.csv"), NULL);
    if (rc != LEADROUTE_OK)
        fail_msg("load: %s", leadroute_error_last()->message);
    check_doc_example(t);
    leadroute_table_unref(t);

    /* An error in a loaded file names that file. */
    const char *bad = data_path("bad_number.csv");
    t = (leadroute_table *)1;
    leadroute_error_clear();
    assert_int_equal(leadroute_table_load(&t, bad, NULL), LEADROUTE_EPARSE);
    assert_null(t);
    const leadroute_error *e = leadroute_error_last();
    assert_int_equal(e->line, 3);
    assert_true(e->column >= 4 && e->column <= 9);    /* within the cell '>= ten' */
    assert_non_null(e->file);
    assert_string_equal(e->file, bad);
    char prefix[1100];
    snprintf(prefix, sizeof prefix, "%s:3:%u: ", bad, (unsigned)e->column);
    if (strncmp(e->message, prefix, strlen(prefix)) != 0)
        fail_msg("message '%s' does not start with '%s'", e->message, prefix);
    expect_message_has("employees");
    expect_message_has(">= ten");
}

static void test_load_missing_file(void **state)
{
    (void)state;
    leadroute_table *t = (leadroute_table *)1;
    leadroute_error_clear();
    assert_int_equal(leadroute_table_load(&t, "/nonexistent/dir/no-such-table.csv", NULL), LEADROUTE_EIO);
    assert_null(t);
    assert_int_equal(leadroute_error_last()->code, LEADROUTE_EIO);
    expect_message_has("no-such-table.csv");
    assert_int_equal(leadroute_table_load(&t, NULL, NULL), LEADROUTE_EINVAL);
    assert_int_equal(leadroute_table_load(NULL, data_path("example.csv"), NULL), LEADROUTE_EINVAL);
}

static void test_parse_bad_args(void **state)
{
    (void)state;
    leadroute_table *t = NULL;
    const char *text = "region,out:o\nEMEA,x\n";
    leadroute_table_options o = LEADROUTE_TABLE_OPTIONS_INIT;
    o.version = 0;
    assert_int_equal(leadroute_table_parse(&t, text, strlen(text), NULL, &o), LEADROUTE_EVERSION);
    assert_null(t);
    o.version = 99;
    assert_int_equal(leadroute_table_parse(&t, text, strlen(text), NULL, &o), LEADROUTE_EVERSION);
    o.version = LEADROUTE_TABLE_OPTIONS_VERSION;
    assert_int_equal(leadroute_table_parse(&t, text, strlen(text), NULL, &o), LEADROUTE_OK);
    leadroute_table_unref(t);
}

static void test_default_ids_and_lines(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok(
        "#! name: no ids\n"          /* 1 */
        "# a comment\n"              /* 2 */
        "region,out:o\n"             /* 3 */
        "\n"                         /* 4 */
        "EMEA,a\n"                   /* 5 */
        "# between rules\n"          /* 6 */
        ",\n"                        /* 7 */
        "NA,b\n"                     /* 8 */
        "-,c\n");                    /* 9 */
    assert_int_equal(leadroute_table_rule_count(t), 3);
    assert_string_equal(leadroute_table_rule_id(t, 0), "1");
    assert_string_equal(leadroute_table_rule_id(t, 1), "2");
    assert_string_equal(leadroute_table_rule_id(t, 2), "3");
    assert_int_equal(leadroute_table_rule_line(t, 0), 5);
    assert_int_equal(leadroute_table_rule_line(t, 1), 8);
    assert_int_equal(leadroute_table_rule_line(t, 2), 9);
    assert_int_equal(leadroute_table_input_count(t), 1);
    assert_string_equal(leadroute_table_input_name(t, 0), "region");
    tlead l;
    tl_init(&l);
    tl_str(&l, "region", "NA");
    assert_string_equal(hits(t, &l), "2");
    leadroute_table_unref(t);
}

static void test_no_directives_defaults(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok("region,out:o\nEMEA,a\n");
    assert_string_equal(leadroute_table_name(t), "");
    assert_string_equal(leadroute_table_version(t), "");
    assert_int_equal(leadroute_table_hit_policy(t), LEADROUTE_HIT_FIRST);
    assert_int_equal(leadroute_table_aggregation(t), LEADROUTE_AGG_NONE);
    leadroute_table_unref(t);
}

static void test_column_suffixes(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok(
        "rule,country:ci,tags:set:ci,n:number,flag:bool,s:string,c2:string:ci,tags2:set,"
        "out:o:string,out:b:bool,out:x\n"
        "r1,de,crm,1,true,a,b,c,x,true,y\n");
    const char *names[] = { "country", "tags", "n", "flag", "s", "c2", "tags2" };
    const uint32_t types[] = { LEADROUTE_TYPE_STRING, LEADROUTE_TYPE_SET, LEADROUTE_TYPE_NUMBER,
                               LEADROUTE_TYPE_BOOL, LEADROUTE_TYPE_STRING, LEADROUTE_TYPE_STRING,
                               LEADROUTE_TYPE_SET };
    assert_int_equal(leadroute_table_input_count(t), 7);
    for (size_t i = 0; i < 7; i++) {
        assert_string_equal(leadroute_table_input_name(t, i), names[i]);
        assert_int_equal(leadroute_table_input_type(t, i), types[i]);
    }
    assert_int_equal(leadroute_table_output_count(t), 3);
    assert_string_equal(leadroute_table_output_name(t, 0), "o");
    assert_string_equal(leadroute_table_output_name(t, 1), "b");
    assert_string_equal(leadroute_table_output_name(t, 2), "x");
    assert_int_equal(leadroute_table_output_type(t, 0), LEADROUTE_TYPE_STRING);
    assert_int_equal(leadroute_table_output_type(t, 1), LEADROUTE_TYPE_BOOL);
    assert_int_equal(leadroute_table_output_type(t, 2), LEADROUTE_TYPE_STRING);
    assert_int_equal(leadroute_table_output_index(t, "b"), 1);
    assert_int_equal(leadroute_table_output_index(t, "x"), 2);

    /* :ci really applies to the column, and only to it. */
    const char *crm[] = { "CRM" };
    tlead l;
    tl_init(&l);
    tl_str(&l, "country", "DE");
    tl_set(&l, "tags", crm, 1);
    tl_num(&l, "n", 1);
    tl_bool(&l, "flag", 1);
    tl_str(&l, "s", "a");
    tl_str(&l, "c2", "B");
    tl_str(&l, "tags2", "c");
    assert_string_equal(hits(t, &l), "r1");
    l.f[4].value.string = "A";                   /* s is case-sensitive */
    assert_string_equal(hits(t, &l), "");
    leadroute_table_unref(t);
}

/* --- directives ----------------------------------------------------------- */

static void expect_policy(const char *directives, uint32_t policy, uint32_t agg)
{
    char text[1024];
    snprintf(text, sizeof text,
             "%s#! priority: o = 1, 2\nrule,x,out:o:number\nr1,a,1\nr2,-,2\n", directives);
    leadroute_table *t = parse_ok(text);
    if (leadroute_table_hit_policy(t) != policy || leadroute_table_aggregation(t) != agg)
        fail_msg("'%s': got policy %u agg %u, want %u %u", directives,
                 (unsigned)leadroute_table_hit_policy(t), (unsigned)leadroute_table_aggregation(t),
                 (unsigned)policy, (unsigned)agg);
    leadroute_table_unref(t);
}

static void expect_error(const char *text, int code, uint32_t line, uint32_t col_lo, uint32_t col_hi,
                         const char *needle);

static void test_hit_policy_directives(void **state)
{
    (void)state;
    expect_policy("#! hit_policy: first\n", LEADROUTE_HIT_FIRST, LEADROUTE_AGG_NONE);
    expect_policy("#! hit_policy: F\n", LEADROUTE_HIT_FIRST, LEADROUTE_AGG_NONE);
    expect_policy("#! hit_policy: unique\n", LEADROUTE_HIT_UNIQUE, LEADROUTE_AGG_NONE);
    expect_policy("#! hit_policy: U\n", LEADROUTE_HIT_UNIQUE, LEADROUTE_AGG_NONE);
    expect_policy("#! hit_policy: any\n", LEADROUTE_HIT_ANY, LEADROUTE_AGG_NONE);
    expect_policy("#! hit_policy: A\n", LEADROUTE_HIT_ANY, LEADROUTE_AGG_NONE);
    expect_policy("#! hit_policy: priority\n", LEADROUTE_HIT_PRIORITY, LEADROUTE_AGG_NONE);
    expect_policy("#! hit_policy: P\n", LEADROUTE_HIT_PRIORITY, LEADROUTE_AGG_NONE);
    expect_policy("#! hit_policy: rule order\n", LEADROUTE_HIT_RULE_ORDER, LEADROUTE_AGG_NONE);
    expect_policy("#! hit_policy: rule_order\n", LEADROUTE_HIT_RULE_ORDER, LEADROUTE_AGG_NONE);
    expect_policy("#! hit_policy: R\n", LEADROUTE_HIT_RULE_ORDER, LEADROUTE_AGG_NONE);
    expect_policy("#! hit_policy: output order\n", LEADROUTE_HIT_OUTPUT_ORDER, LEADROUTE_AGG_NONE);
    expect_policy("#! hit_policy: output_order\n", LEADROUTE_HIT_OUTPUT_ORDER, LEADROUTE_AGG_NONE);
    expect_policy("#! hit_policy: O\n", LEADROUTE_HIT_OUTPUT_ORDER, LEADROUTE_AGG_NONE);
    expect_policy("#! hit_policy: collect\n", LEADROUTE_HIT_COLLECT, LEADROUTE_AGG_NONE);
    expect_policy("#! hit_policy: C\n", LEADROUTE_HIT_COLLECT, LEADROUTE_AGG_NONE);
    expect_policy("#! hit_policy: C+\n", LEADROUTE_HIT_COLLECT, LEADROUTE_AGG_SUM);
    expect_policy("#! hit_policy: C#\n", LEADROUTE_HIT_COLLECT, LEADROUTE_AGG_COUNT);
    expect_policy("#! hit_policy: C<\n", LEADROUTE_HIT_COLLECT, LEADROUTE_AGG_MIN);
    expect_policy("#! hit_policy: C>\n", LEADROUTE_HIT_COLLECT, LEADROUTE_AGG_MAX);
    expect_policy("#!hit_policy:first\n", LEADROUTE_HIT_FIRST, LEADROUTE_AGG_NONE);
    expect_policy("#!   hit_policy :   rule order   \n", LEADROUTE_HIT_RULE_ORDER, LEADROUTE_AGG_NONE);
    /* a run of separators between two words is one */
    expect_policy("#! hit__policy: rule__order\n", LEADROUTE_HIT_RULE_ORDER, LEADROUTE_AGG_NONE);
    expect_policy("#! Hit _ Policy: Output - _Order\n", LEADROUTE_HIT_OUTPUT_ORDER, LEADROUTE_AGG_NONE);
    /* but a '-' or '_' that is not between words is text */
    expect_error("#! hit_policy: rule_order_\nrule,x,out:o\nr1,a,1\n", LEADROUTE_EPARSE, 1, 16, 16,
                 "unknown hit policy 'rule_order_'");
}

static void test_aggregation_directives(void **state)
{
    (void)state;
    static const struct { const char *word; uint32_t agg; } aggs[] = {
        { "none", LEADROUTE_AGG_NONE }, { "sum", LEADROUTE_AGG_SUM }, { "+", LEADROUTE_AGG_SUM },
        { "count", LEADROUTE_AGG_COUNT }, { "#", LEADROUTE_AGG_COUNT },
        { "min", LEADROUTE_AGG_MIN }, { "<", LEADROUTE_AGG_MIN },
        { "max", LEADROUTE_AGG_MAX }, { ">", LEADROUTE_AGG_MAX },
    };
    for (size_t i = 0; i < sizeof aggs / sizeof aggs[0]; i++) {
        char d[128];
        snprintf(d, sizeof d, "#! hit_policy: collect\n#! aggregation: %s\n", aggs[i].word);
        expect_policy(d, LEADROUTE_HIT_COLLECT, aggs[i].agg);
    }
    /* none, the default, goes with any policy; the others only with collect */
    expect_policy("#! hit_policy: first\n#! aggregation: none\n", LEADROUTE_HIT_FIRST, LEADROUTE_AGG_NONE);
    expect_policy("#! aggregation: none\n#! hit_policy: rule order\n", LEADROUTE_HIT_RULE_ORDER, LEADROUTE_AGG_NONE);
    expect_error("#! hit_policy: first\n#! aggregation: sum\nrule,x,out:o\nr1,a,1\n", LEADROUTE_ETABLE, 2, 17, 17,
                 "an aggregation needs hit_policy collect");
}

static void test_name_version_directives(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok("#! name:   spaced out name  \n#! version: v1.2, final\nx,out:o\na,b\n");
    assert_string_equal(leadroute_table_name(t), "spaced out name");
    assert_string_equal(leadroute_table_version(t), "v1.2, final");
    leadroute_table_unref(t);
}

/* --- file syntax ------------------------------------------------------------ */

static void check_small(const leadroute_table *t)
{
    assert_string_equal(leadroute_table_name(t), "small");
    assert_int_equal(leadroute_table_hit_policy(t), LEADROUTE_HIT_RULE_ORDER);
    assert_int_equal(leadroute_table_rule_count(t), 2);
    assert_string_equal(leadroute_table_rule_id(t, 0), "a");
    assert_string_equal(leadroute_table_rule_id(t, 1), "b");
    assert_int_equal(leadroute_table_input_count(t), 2);
    assert_string_equal(leadroute_table_input_name(t, 0), "region");
    assert_string_equal(leadroute_table_input_name(t, 1), "n");
    assert_string_equal(leadroute_table_output_name(t, 0), "pool");
    tlead l;
    tl_init(&l);
    tl_str(&l, "region", "EMEA");
    tl_num(&l, "n", 7);
    assert_string_equal(hits(t, &l), "a,b");
    leadroute_result *r = NULL;
    assert_int_equal(leadroute_result_new(&r, t, NULL), LEADROUTE_OK);
    assert_int_equal(leadroute_table_eval(t, &l.lead, r), LEADROUTE_OK);
    assert_string_equal(leadroute_result_output(r, 0, 0)->string, "p1");
    assert_string_equal(leadroute_result_output(r, 1, 0)->string, "p 2"); /* no \r kept */
    leadroute_result_free(r);
}

static void test_bom_crlf_comments(void **state)
{
    (void)state;
    const char *plain =
        "#! name: small\n#! hit_policy: rule order\nrule,region,n:number,out:pool\n"
        "a,EMEA,>= 5,p1\nb,-,-,p 2\n";
    const char *fancy =
        "\xEF\xBB\xBF"
        "# leading comment, with commas,,,\r\n"
        "#! name: small,,,,\r\n"
        "\r\n"
        ",,,\r\n"
        "\"#! hit_policy: rule order\",,,\r\n"
        "rule,region,n:number,out:pool\r\n"
        "# between\r\n"
        ",,,\r\n"
        "   \r\n"
        "a, EMEA ,>= 5,p1,,\r\n"
        "\"# quoted comment, inside\",,,\r\n"
        "b,-,-, p 2 \r\n";
    leadroute_table *t1 = parse_ok(plain);
    leadroute_table *t2 = parse_ok(fancy);
    check_small(t1);
    check_small(t2);
    assert_int_equal(leadroute_table_rule_line(t1, 0), 4);
    assert_int_equal(leadroute_table_rule_line(t1, 1), 5);
    assert_int_equal(leadroute_table_rule_line(t2, 0), 10);
    assert_int_equal(leadroute_table_rule_line(t2, 1), 12);
    assert_true(leadroute_table_hash(t1) == leadroute_table_hash(t2));
    leadroute_table_unref(t1);
    leadroute_table_unref(t2);
}

static void test_quoted_priority_directive(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok(
        "#! hit_policy: priority\n"
        "\"#! priority: pool = gold, silver\",,\n"
        "rule,x,out:pool\n"
        "s,-,silver\n"
        "g,-,gold\n");
    tlead l;
    tl_init(&l);
    tl_str(&l, "x", "1");
    assert_string_equal(hits(t, &l), "g");
    leadroute_table_unref(t);
}

static void test_rule_ids_trimmed(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok("rule,x,out:o\n  vip ,a,b\n\"spaced id\",c,d\n");
    assert_string_equal(leadroute_table_rule_id(t, 0), "vip");
    assert_string_equal(leadroute_table_rule_id(t, 1), "spaced id");
    leadroute_table_unref(t);
    /* Ids are compared after trimming, so these two collide. */
    int rc = parse_rc("rule,x,out:o\na,a,b\n a ,b,c\n");
    assert_int_equal(rc, LEADROUTE_ETABLE);
    assert_int_equal(leadroute_error_last()->line, 3);
}

/* Each rule's outputs as it gives them, read without a lead, and what an
 * evaluation that hits the rule returns. */
static void test_rule_outputs(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok("rule,x,out:pool,out:sla:number,out:vip:bool\n"
                                  "a,1,emea, 60 ,true\n"
                                  "b,2,,,\n"
                                  "c,3,\"na, west\",1e3,false\n");
    const leadroute_value *v;
    leadroute_result *r = NULL;
    tlead l;
    assert_int_equal(leadroute_result_new(&r, t, NULL), LEADROUTE_OK);
    v = leadroute_table_rule_output(t, 0, 0);
    assert_non_null(v);
    assert_int_equal(v->type, LEADROUTE_VALUE_STRING);
    assert_string_equal(v->string, "emea");
    v = leadroute_table_rule_output(t, 0, 1);
    assert_int_equal(v->type, LEADROUTE_VALUE_NUMBER);
    assert_true(v->number == 60);
    v = leadroute_table_rule_output(t, 0, 2);
    assert_int_equal(v->type, LEADROUTE_VALUE_BOOL);
    assert_int_equal(v->boolean, 1);
    for (size_t j = 0; j < 3; j++)
        assert_int_equal(leadroute_table_rule_output(t, 1, j)->type, LEADROUTE_VALUE_NULL);
    assert_string_equal(leadroute_table_rule_output(t, 2, 0)->string, "na, west");
    assert_true(leadroute_table_rule_output(t, 2, 1)->number == 1000);
    assert_int_equal(leadroute_table_rule_output(t, 2, 2)->boolean, 0);
    /* the very values an evaluation hands out */
    for (size_t i = 0; i < 3; i++) {
        char x[2] = { (char)('1' + i), 0 };
        tl_init(&l);
        tl_str(&l, "x", x);
        assert_int_equal(leadroute_table_eval(t, &l.lead, r), LEADROUTE_OK);
        assert_int_equal(leadroute_result_count(r), 1);
        for (size_t j = 0; j < 3; j++)
            assert_ptr_equal(leadroute_result_output(r, 0, j), leadroute_table_rule_output(t, i, j));
    }
    assert_null(leadroute_table_rule_output(t, 3, 0));
    assert_null(leadroute_table_rule_output(t, 0, 3));
    assert_null(leadroute_table_rule_output(NULL, 0, 0));
    leadroute_result_free(r);
    leadroute_table_unref(t);
}

static void test_no_trailing_newline(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok("x,out:o\na,b\nc,d");
    assert_int_equal(leadroute_table_rule_count(t), 2);
    leadroute_table_unref(t);
}

/* --- errors with locations -------------------------------------------------- */

#define EITHER_PARSE_OR_TABLE 1000

/* The last error has `code` (or EPARSE/ETABLE for EITHER_PARSE_OR_TABLE),
 * is at `line` with a column in [col_lo, col_hi], in file "t.csv", and the
 * message starts with exactly "t.csv:line:col: ". */
static void expect_at(int rc, int code, uint32_t line, uint32_t col_lo, uint32_t col_hi)
{
    const leadroute_error *e = leadroute_error_last();
    if (code == EITHER_PARSE_OR_TABLE) {
        if (rc != LEADROUTE_EPARSE && rc != LEADROUTE_ETABLE)
            fail_msg("want EPARSE or ETABLE, got %d (%s)", rc, e->message);
    } else if (rc != code) {
        fail_msg("want %d, got %d (%s)", code, rc, e->message);
    }
    assert_int_equal(e->code, rc);
    if (e->line != line || e->column < col_lo || e->column > col_hi)
        fail_msg("want line %u col %u..%u, got %u:%u (%s)", (unsigned)line, (unsigned)col_lo,
                 (unsigned)col_hi, (unsigned)e->line, (unsigned)e->column, e->message);
    assert_non_null(e->file);
    assert_string_equal(e->file, "t.csv");
    char prefix[64];
    snprintf(prefix, sizeof prefix, "t.csv:%u:%u: ", (unsigned)e->line, (unsigned)e->column);
    if (strncmp(e->message, prefix, strlen(prefix)) != 0)
        fail_msg("message '%s' does not start with '%s'", e->message, prefix);
    assert_true(strlen(e->message) > strlen(prefix));
}

static void test_error_unterminated_quote(void **state)
{
    (void)state;
    int rc = parse_rc("rule,region,out:o\nr1,\"EMEA,x\n");
    expect_at(rc, LEADROUTE_EPARSE, 2, 4, 4);
}

static void test_error_cell_count(void **state)
{
    (void)state;
    int rc = parse_rc("rule,region,n:number,out:o\nr1,EMEA,1,x\nr2,NA\n");
    expect_at(rc, EITHER_PARSE_OR_TABLE, 3, 1, 6);
    rc = parse_rc("rule,region,out:o\nr1,EMEA,x,surplus\n");
    expect_at(rc, EITHER_PARSE_OR_TABLE, 2, 1, 18);
    /* Extra trailing empty cells are fine. */
    leadroute_table *t = parse_ok("rule,region,out:o\nr1,EMEA,x,,,\n");
    assert_int_equal(leadroute_table_rule_count(t), 1);
    leadroute_table_unref(t);
}

static void test_error_unknown_directive(void **state)
{
    (void)state;
    int rc = parse_rc("#! name: x\n#! colour: red\nrule,region,out:o\nr1,a,x\n");
    expect_at(rc, EITHER_PARSE_OR_TABLE, 2, 1, 14);
    expect_message_has("colour");
}

static void test_error_unknown_type(void **state)
{
    (void)state;
    int rc = parse_rc("rule,employees:integer,out:o\nr1,1,x\n");
    expect_at(rc, EITHER_PARSE_OR_TABLE, 1, 6, 22);
    expect_message_has("integer");
    rc = parse_rc("rule,x,out:o:set\nr1,1,x\n");       /* set is input only */
    expect_at(rc, EITHER_PARSE_OR_TABLE, 1, 8, 16);
    rc = parse_rc("rule,x:number:cs,out:o\nr1,1,x\n");
    expect_at(rc, EITHER_PARSE_OR_TABLE, 1, 6, 16);
}

static void test_error_duplicate_names(void **state)
{
    (void)state;
    int rc = parse_rc("rule,region,country,region,out:o\nr1,a,b,c,x\n");
    expect_at(rc, LEADROUTE_ETABLE, 1, 21, 26);
    expect_message_has("region");
    rc = parse_rc("rule,region,out:o,out:o\nr1,a,x,y\n");
    expect_at(rc, LEADROUTE_ETABLE, 1, 19, 23);
    /* An input and an output may share a name. */
    leadroute_table *t = parse_ok("rule,pool,out:pool\nr1,a,b\n");
    leadroute_table_unref(t);
}

static void test_error_duplicate_rule_id(void **state)
{
    (void)state;
    int rc = parse_rc("rule,region,out:o\na,EMEA,x\nb,NA,y\na,APAC,z\n");
    expect_at(rc, LEADROUTE_ETABLE, 4, 1, 1);
    rc = parse_rc("rule,region,out:o\na,EMEA,x\n,NA,y\n");   /* empty id */
    expect_at(rc, EITHER_PARSE_OR_TABLE, 3, 1, 1);
    /* a control character in an id (a line break in a quoted cell, a tab) would break messages,
     * CSV and JSON lines, as it would in a column name */
    rc = parse_rc("rule,region,out:o\na,EMEA,x\n\"b\nc\",NA,y\n");
    expect_at(rc, LEADROUTE_ETABLE, 3, 1, 1);
    expect_message_has("rule id 'b\\x0ac' holds a control character");
    rc = parse_rc("rule,region,out:o\na\tb,EMEA,x\n");
    expect_at(rc, LEADROUTE_ETABLE, 2, 1, 1);
    expect_message_has("holds a control character");
}

static void test_error_empty_header(void **state)
{
    (void)state;
    int rc = parse_rc("rule,region,,out:o\nr1,a,b,x\n");
    expect_at(rc, EITHER_PARSE_OR_TABLE, 1, 13, 13);
    rc = parse_rc("rule,region,out:\nr1,a,x\n");
    expect_at(rc, EITHER_PARSE_OR_TABLE, 1, 13, 16);
    expect_message_has("column 'out:' needs a name before its ':' (expected 'out:name' or 'out:name:type')");
    rc = parse_rc("rule,region,out::number\nr1,a,x\n");
    expect_at(rc, LEADROUTE_EPARSE, 1, 13, 13);
    expect_message_has("column 'out::number' needs a name");
    rc = parse_rc("rule, :number,out:o\nr1,1,x\n");
    expect_at(rc, LEADROUTE_EPARSE, 1, 6, 6);
    expect_message_has("column ' :number' needs a name before its ':' (expected 'field' or 'field:type')");
    /* No header at all. */
    rc = parse_rc("");
    assert_true(rc == LEADROUTE_EPARSE || rc == LEADROUTE_ETABLE);
    rc = parse_rc("# only a comment\n#! name: x\n\n");
    assert_true(rc == LEADROUTE_EPARSE || rc == LEADROUTE_ETABLE);
}

/* A bad cell in the row of a table with every column type. */
#define BAD_HEADER "rule,s,n:number,b:bool,t:set,out:o,out:num:number,out:flag:bool\n"
static void expect_bad_cell(size_t col, const char *cell)
{
    const char *good[] = { "r1", "a", "1", "true", "x", "o", "1", "true" };
    char row[512];
    size_t k = 0;
    uint32_t start = 0, end = 0;
    for (size_t i = 0; i < 8; i++) {
        const char *c = i == col ? cell : good[i];
        if (i)
            row[k++] = ',';
        if (i == col)
            start = (uint32_t)k + 1;
        int quote = strpbrk(c, ",\"") != NULL;
        if (quote)
            row[k++] = '"';
        for (const char *p = c; *p; p++) {
            if (*p == '"')
                row[k++] = '"';
            row[k++] = *p;
        }
        if (quote)
            row[k++] = '"';
        if (i == col)
            end = (uint32_t)k;
    }
    row[k] = '\0';
    char text[1024];
    snprintf(text, sizeof text, BAD_HEADER "%s\n", row);
    int rc = parse_rc(text);
    if (rc == LEADROUTE_OK)
        fail_msg("cell '%s' in column %zu was accepted", cell, col);
    /* in the cell, or just past it where something is missing */
    expect_at(rc, LEADROUTE_EPARSE, 2, start, end + 1);
}

static void test_error_bad_cells(void **state)
{
    (void)state;
    /* sanity: the good row parses */
    leadroute_table *t = parse_ok(BAD_HEADER "r1,a,1,true,x,o,1,true\n");
    leadroute_table_unref(t);

    /* number column */
    expect_bad_cell(2, "ten");
    expect_bad_cell(2, ">= ten");
    expect_bad_cell(2, "1.2.3");
    expect_bad_cell(2, "1,5x");
    expect_bad_cell(2, "94*");                 /* prefix in a number column */
    expect_bad_cell(2, "starts with \"9\"");
    expect_bad_cell(2, "[5..3]");              /* empty intervals */
    expect_bad_cell(2, "(5..5)");
    expect_bad_cell(2, "[5..5)");
    expect_bad_cell(2, "]5..5]");
    expect_bad_cell(2, "[1..2");
    assert_int_equal(leadroute_error_last()->column, 11); /* where the ']' is missing */
    expect_bad_cell(2, "[a..2]");
    expect_bad_cell(2, "1, != 2");             /* != only as the whole cell */
    expect_bad_cell(2, "!= 1, 2");
    expect_bad_cell(2, "1, not(2)");           /* not() only at top level */
    expect_bad_cell(2, "not(not(1))");
    expect_bad_cell(2, "not(1");
    expect_bad_cell(2, "0x10");
    /* the number grammar: [+-]digits[.digits][e[+-]digits], finite */
    expect_bad_cell(2, "5.");
    expect_bad_cell(2, "1e");
    expect_bad_cell(2, "1e+");
    expect_bad_cell(2, "--1");
    expect_bad_cell(2, "1 000");
    expect_bad_cell(2, "1e999");
    expect_bad_cell(2, "< 1e999");
    expect_bad_cell(2, "inf");
    expect_bad_cell(2, "nan");
    /* string column */
    expect_bad_cell(1, "< 5");                 /* comparison in a string column */
    expect_bad_cell(1, ">= a");
    expect_bad_cell(1, "\"abc");
    expect_bad_cell(1, "a, != b");
    expect_bad_cell(1, "a, not(b)");
    /* bool column */
    expect_bad_cell(3, "maybe");
    expect_bad_cell(3, "< 1");
    expect_bad_cell(3, "tru*");
    /* set column */
    expect_bad_cell(4, ">= 5");
    expect_bad_cell(4, "< 5");
    /* outputs */
    expect_bad_cell(6, "abc");
    expect_bad_cell(6, ">= 5");
    expect_bad_cell(7, "yes");
    /* no digits before the point: not in the grammar */
    expect_bad_cell(2, ".5");
}

static void test_error_message_names_column_and_text(void **state)
{
    (void)state;
    int rc = parse_rc("rule,region,employees:number,out:o\nr1,EMEA,>= ten,x\n");
    expect_at(rc, LEADROUTE_EPARSE, 2, 9, 14);
    expect_message_has("employees");
    expect_message_has(">= ten");
}

static void test_error_default_filename(void **state)
{
    (void)state;
    const char *text = "rule,n:number,out:o\nr1,abc,x\n";
    leadroute_table *t = NULL;
    assert_int_equal(leadroute_table_parse(&t, text, strlen(text), NULL, NULL), LEADROUTE_EPARSE);
    const char *m = leadroute_error_last()->message;
    if (strncmp(m, "<table>:2:", 10) != 0)
        fail_msg("message '%s' does not start with '<table>:2:'", m);
}

static void test_error_policies(void **state)
{
    (void)state;
    int rc = parse_rc("#! hit_policy: random\nrule,x,out:o\nr1,a,b\n");
    expect_at(rc, LEADROUTE_EPARSE, 1, 1, 21);
    expect_message_has("random");

    rc = parse_rc("#! hit_policy: collect\n#! aggregation: avg\nrule,x,out:o:number\nr1,a,1\n");
    expect_at(rc, LEADROUTE_EPARSE, 2, 1, 20);

    /* PRIORITY and OUTPUT ORDER need a priority list. */
    rc = parse_rc("#! hit_policy: priority\nrule,x,out:o\nr1,a,b\n");
    assert_int_equal(rc, LEADROUTE_ETABLE);
    rc = parse_rc("#! hit_policy: output order\nrule,x,out:o\nr1,a,b\n");
    assert_int_equal(rc, LEADROUTE_ETABLE);

    /* SUM, MIN, MAX need number outputs. */
    rc = parse_rc("#! hit_policy: collect\n#! aggregation: sum\nrule,x,out:o\nr1,a,b\n");
    assert_int_equal(rc, LEADROUTE_ETABLE);
    rc = parse_rc("#! hit_policy: C+\nrule,x,out:o\nr1,a,b\n");
    assert_int_equal(rc, LEADROUTE_ETABLE);
    rc = parse_rc("#! hit_policy: C<\nrule,x,out:n:number,out:b:bool\nr1,a,1,true\n");
    assert_int_equal(rc, LEADROUTE_ETABLE);
    rc = parse_rc("#! hit_policy: C>\nrule,x,out:o\nr1,a,b\n");
    assert_int_equal(rc, LEADROUTE_ETABLE);
    /* COUNT works on any output type. */
    leadroute_table *t = parse_ok("#! hit_policy: C#\nrule,x,out:o\nr1,a,b\n");
    leadroute_table_unref(t);

    /* An aggregation belongs to COLLECT only. */
    rc = parse_rc("#! hit_policy: first\n#! aggregation: sum\nrule,x,out:o:number\nr1,a,1\n");
    assert_true(rc == LEADROUTE_EPARSE || rc == LEADROUTE_ETABLE);

    /* A priority list for an output that does not exist. */
    rc = parse_rc("#! hit_policy: priority\n#! priority: nope = a, b\nrule,x,out:o\nr1,a,b\n");
    assert_true(rc < 0);

    /* A directive given twice: which one was meant? */
    rc = parse_rc("#! hit_policy: first\n#! name: t\n#! hit_policy: unique\nrule,x,out:o\nr1,a,b\n");
    expect_at(rc, LEADROUTE_EPARSE, 3, 1, 1);
    expect_message_has("a second 'hit_policy' directive: the first is on line 1");
    rc = parse_rc("#! hit_policy: collect\n#! aggregation: count\n#! aggregation: sum\nrule,x,out:o:number\nr1,a,1\n");
    expect_at(rc, LEADROUTE_EPARSE, 3, 1, 1);
    expect_message_has("line 2");
    rc = parse_rc("#! name: a\n#! version: 1\n#! name: b\nrule,x,out:o\nr1,a,b\n");
    expect_at(rc, LEADROUTE_EPARSE, 3, 1, 1);
    expect_message_has("a second 'name' directive: the first is on line 1");
    rc = parse_rc("#! version: 1\n#! version: 2\nrule,x,out:o\nr1,a,b\n");
    expect_at(rc, LEADROUTE_EPARSE, 2, 1, 1);
    /* C+ names an aggregation: an aggregation directive as well is a
     * second one, in either order */
    rc = parse_rc("#! hit_policy: C+\n#! aggregation: max\nrule,x,out:o:number\nr1,a,1\n");
    expect_at(rc, LEADROUTE_EPARSE, 2, 17, 17); /* at the value, as in the other order */
    expect_message_has("the hit policy on line 1 already names one");
    rc = parse_rc("#! aggregation: sum\n#! hit_policy: C>\nrule,x,out:o:number\nr1,a,1\n");
    expect_at(rc, LEADROUTE_EPARSE, 2, 16, 16); /* at the value */
    expect_message_has("hit policy 'C>' names an aggregation, but the 'aggregation' directive on line 1");
    /* a plain collect keeps the aggregation directive's */
    t = parse_ok("#! aggregation: max\n#! hit_policy: collect\nrule,x,out:o:number\nr1,a,1\n");
    assert_int_equal(leadroute_table_aggregation(t), LEADROUTE_AGG_MAX);
    leadroute_table_unref(t);
}

static void test_multiline_cell_lines(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok(
        "rule,x,out:note\n"               /* 1 */
        "r1,a,\"two\nlines\"\n"         /* 2-3 */
        "r2,b,plain\n");                  /* 4 */
    assert_int_equal(leadroute_table_rule_line(t, 0), 2);
    assert_int_equal(leadroute_table_rule_line(t, 1), 4);
    leadroute_result *r = NULL;
    assert_int_equal(leadroute_result_new(&r, t, NULL), LEADROUTE_OK);
    tlead l;
    tl_init(&l);
    tl_str(&l, "x", "a");
    assert_int_equal(leadroute_table_eval(t, &l.lead, r), LEADROUTE_OK);
    assert_string_equal(leadroute_result_output(r, 0, 0)->string, "two\nlines");
    leadroute_result_free(r);
    leadroute_table_unref(t);

    /* An error after a multi-line cell still names the right line. */
    int rc = parse_rc("rule,x,out:note\nr1,a,\"two\nlines\"\nr2,b\n");
    expect_at(rc, EITHER_PARSE_OR_TABLE, 4, 1, 5);
}

/* Parse text that must fail with `code` at line:col_lo..col_hi, saying `needle`. */
static void expect_error(const char *text, int code, uint32_t line, uint32_t col_lo, uint32_t col_hi,
                         const char *needle)
{
    expect_at(parse_rc(text), code, line, col_lo, col_hi);
    expect_message_has(needle);
}

/* A header that is one cell holding semicolons or tabs: a file saved with
 * another separator, told as such at the first separator; a quoted cell,
 * or a header of several cells, is taken as written. Control characters
 * are no part of a column name. */
static void test_error_other_separator(void **state)
{
    (void)state;
    leadroute_table *t;
    expect_error("rule;region;out:pool\nr1;EMEA;p\n", LEADROUTE_EPARSE, 1, 5, 5,
                 "the header is one cell with ';' in it: the file looks separated by semicolons");
    expect_error("# exported\nrule\tregion\tout:pool,,\nr1\tEMEA\tp\n", LEADROUTE_EPARSE, 2, 5, 5,
                 "the header is one cell with a tab in it: the file looks separated by tabs");
    expect_error("  region;x\n", LEADROUTE_EPARSE, 1, 9, 9, "separated by semicolons");
    /* quoted, it is one column's name, whose ':' parts are read as usual */
    t = parse_ok("\"out:a;b\"\nx\n");
    assert_int_equal(leadroute_table_output_count(t), 1);
    leadroute_table_unref(t);
    /* several cells: a ';' inside one is part of its name */
    t = parse_ok("rule,re;gion,out:pool\nr1,EMEA,p\n");
    assert_string_equal(leadroute_table_input_name(t, 0), "re;gion");
    leadroute_table_unref(t);
    expect_error("rule,\"reg\x01ion\",out:pool\nr1,EMEA,p\n", LEADROUTE_EPARSE, 1, 6, 6,
                 "input column name 'reg\\x01ion' holds a control character");
    expect_error("rule,region,\"out:po\tol\"\nr1,EMEA,p\n", LEADROUTE_EPARSE, 1, 13, 13,
                 "output column name 'po\\x09ol' holds a control character");
    /* C1 controls and the line and paragraph separators, in names and ids */
    expect_error("rule,reg\xc2\x85ion,out:pool\nr1,EMEA,p\n", LEADROUTE_EPARSE, 1, 6, 6,
                 "input column name 'reg\\xc2\\x85ion' holds a control character");
    expect_error("rule,region,out:po\xe2\x80\xa8ol\nr1,EMEA,p\n", LEADROUTE_EPARSE, 1, 13, 13,
                 "output column name 'po\\xe2\\x80\\xa8ol' holds a line separator");
    expect_error("rule,region,out:pool\nr\xe2\x80\xa9" "1,EMEA,p\n", LEADROUTE_ETABLE, 2, 1, 1,
                 "rule id 'r\\xe2\\x80\\xa9" "1' holds a paragraph separator");
    /* a byte order mark inside a name: invisible, it would match no lead field */
    expect_error("rule,\xef\xbb\xbfregion,out:pool\nr1,EMEA,p\n", LEADROUTE_EPARSE, 1, 6, 6,
                 "input column name '\\xef\\xbb\\xbfregion' holds a byte order mark (U+FEFF)");
    expect_error("rule,region,out:pool\nr\xef\xbb\xbf" "1,EMEA,p\n", LEADROUTE_ETABLE, 2, 1, 1,
                 "rule id 'r\\xef\\xbb\\xbf" "1' holds a byte order mark (U+FEFF)");
    /* at the start of the file it is the file's own mark, and skipped */
    leadroute_table_unref(parse_ok("\xef\xbb\xbfrule,region,out:pool\nr1,EMEA,p\n"));
    t = parse_ok("rule,re\xc2\xa0gion,out:pool\nr\xe2\x80\xa6,EMEA,p\n");
    assert_string_equal(leadroute_table_input_name(t, 0), "re\xc2\xa0gion");
    leadroute_table_unref(t);
}

/* The hits of a lead holding one string field. */
static const char *hits_for(const leadroute_table *t, const char *field, const char *value)
{
    static tlead l;
    tl_init(&l);
    tl_str(&l, field, value);
    return hits(t, &l);
}

/* Errors at the text they are about, saying what was expected there. */
static void test_error_points_at_the_culprit(void **state)
{
    (void)state;
    /* a null or empty priority entry, at it; the list quoted without the blanks before it */
    expect_error("#! hit_policy: priority\n#! priority: o = a, null\nrule,s,out:o\nr1,-,x\n", LEADROUTE_EPARSE, 2,
                 21, 21, "cannot read 'a, null': a priority list holds values, not null or empty entries");
    expect_error("#! hit_policy: priority\n#! priority: o = -, b\nrule,s,out:o\nr1,-,x\n", LEADROUTE_EPARSE, 2, 18,
                 18, "not null or empty entries");
    /* a bare priority entry holding a quote, refused as in output cells */
    expect_error("#! hit_policy: priority\n#! priority: o = a\"x, b\nrule,s,out:o\nr1,-,b\n", LEADROUTE_EPARSE, 2,
                 19, 19, "a '\"' inside a bare word: quote the whole value");
    /* a closed quoted output followed by text is not "unterminated" */
    expect_error("rule,s,out:o\nr1,-,\"\"\"a\"\" x\"\n", LEADROUTE_EPARSE, 2, 13, 13,
                 "cannot read '\"a\" x': unexpected text after the closing '\"'");
    expect_error("rule,s,out:o\nr1,-,\"\"\"a\"\n", LEADROUTE_EPARSE, 2, 7, 7, "unterminated string");
    /* after = or !=, a number column takes a number or null */
    expect_error("rule,n:number,out:o\nr1,!= [1..2],x\n", LEADROUTE_EPARSE, 2, 7, 7,
                 "expected a number or null after '!='");
    expect_error("rule,n:number,out:o\nr1,= >= 5,x\n", LEADROUTE_EPARSE, 2, 6, 6, "expected a number or null after '='");
    /* and a string column no second operator, which would be read as part
     * of the text (== EMEA as "= EMEA") and never match: quoted it is text */
    expect_error("rule,s,out:o\nr1,== EMEA,x\n", LEADROUTE_EPARSE, 2, 5, 5,
                 "cannot read '== EMEA': expected a value after '=', not another operator: "
                 "quote a value that starts with '=', as in = \"=x\"");
    expect_error("rule,s,out:o\nr1,!= <a,x\n", LEADROUTE_EPARSE, 2, 7, 7,
                 "expected a value after '!=', not another operator: quote a value that starts with '<'");
    expect_error("rule,s:set,out:o\nr1,= !a,x\n", LEADROUTE_EPARSE, 2, 6, 6, "starts with '!'");
    expect_error("rule,s,out:o\nr1,=>5,x\n", LEADROUTE_EPARSE, 2, 5, 5, "starts with '>'");
    /* a bare word that starts with '!' but is no '!=' */
    expect_error("rule,s,out:o\nr1,!important,x\n", LEADROUTE_EPARSE, 2, 4, 4,
                 "cannot read '!important': a value that starts with '!' must be quoted, as in \"!x\" "
                 "('!=' must be the whole cell)");
    expect_error("rule,s,out:o\nr1,\"a, !b\",x\n", LEADROUTE_EPARSE, 2, 8, 8, "starts with '!' must be quoted");
    expect_error("rule,s,out:o\nr1,\"a, != b\",x\n", LEADROUTE_EPARSE, 2, 8, 8,
                 "'!=' must be the whole cell; to exclude several values use not(a, b)");
    /* on a later line of a multi-line quoted cell, the column of that line */
    expect_error("rule,score:number,out:x\nr1,\"1,\n  [5..x]\",a\n", LEADROUTE_EPARSE, 3, 7, 7,
                 "expected a number after '..'");
    /* not(...) missing its ')': at the cell's last character */
    expect_error("rule,region,out:x\nr1,\"not(a, b\",x\n", LEADROUTE_EPARSE, 2, 12, 12,
                 "not(...) must be the whole cell and end with ')'");
    /* a cell beyond the last column: at that cell */
    expect_error("rule,region,out:x\nr1,EMEA,hit,,extra\n", LEADROUTE_ETABLE, 2, 14, 14,
                 "this cell is beyond the last column");
    /* no header: at the file's last line, after its comments and directives */
    expect_error("#! name: t\n\n# only comments\n\n", LEADROUTE_EPARSE, 4, 1, 1, "no header row");
    /* a quoted directive with blanks before its '#': at the '#' */
    expect_error("rule,s,out:o\n\"  #! name: x\",,\nr1,-,x\n", LEADROUTE_EPARSE, 2, 4, 4, "after the header");
    expect_error("\"  #! nocolon\",,\nrule,s,out:o\nr1,-,x\n", LEADROUTE_EPARSE, 1, 4, 4,
                 "needs the form '#! key: value'");
    expect_error("\" #! hit_policy: \"\"x\"\"\",,\nrule,s,out:o\nr1,-,x\n", LEADROUTE_EPARSE, 1, 18, 18,
                 "unknown hit policy '\"x\"'");
    /* a quoted directive whose value starts on a later line: there */
    expect_error("\"#! hit_policy:\nbogus\",,\nrule,s,out:o\nr1,-,x\n", LEADROUTE_EPARSE, 2, 1, 1,
                 "unknown hit policy 'bogus'");
    expect_error("\"#! aggregation:\n sum\",,\nrule,s,out:o\nr1,-,1\n", LEADROUTE_ETABLE, 2, 2, 2,
                 "an aggregation needs hit_policy collect");
    expect_error("\"#! hit_policy: priority\",\n\"#! priority:\no = a, a\",,\nrule,s,out:o\nr1,-,a\n", LEADROUTE_ETABLE,
                 3, 8, 8, "names 'a' twice");
    expect_error("\"#! hit_policy: priority\",\n\"#! priority:\nzz = a\",,\nrule,s,out:o\nr1,-,a\n", LEADROUTE_ETABLE,
                 3, 1, 1, "priority list for 'zz', which is not an output column");
    expect_error("\"#! hit_policy:\n\"\"p\"\"\",,\nrule,s,out:o\nr1,-,a\n", LEADROUTE_EPARSE, 2, 1, 1,
                 "unknown hit policy '\"p\"'");
    expect_error("\"#! hit_policy:\n  priority\",,\nrule,s,out:o\nr1,-,a\n", LEADROUTE_ETABLE, 2, 3, 3,
                 "hit policy priority needs at least one priority list");
    /* one type per column, ci at most once */
    expect_error("rule,s:number:string,out:o\nr1,-,x\n", LEADROUTE_EPARSE, 1, 15, 15,
                 "column 's:number:string': a second type 'string'");
    expect_error("rule,s:ci:CI,out:o\nr1,-,x\n", LEADROUTE_EPARSE, 1, 11, 11, "a second 'CI'");
    expect_error("rule,s,out:o:number:bool\nr1,-,1\n", LEADROUTE_EPARSE, 1, 21, 21, "a second type 'bool'");
    leadroute_table *t = parse_ok("rule,s:ci:string,out:o\nr1,A,x\n");
    leadroute_table_unref(t);
    /* a lone CR right after a closing quote is a lone CR */
    expect_error("rule,s,out:o\nr1,-,\"x\"\rr2,-,y\n", LEADROUTE_EPARSE, 2, 9, 9, "a carriage return without a line feed");
}

/* Cells, directives and rows that used to pass, or fail with a poor
 * message: each error names its place, its text and what was expected. */
static void test_precise_errors(void **state)
{
    (void)state;
    leadroute_table *t;
    char big[512];

    /* 'starts with' without its prefix is no literal */
    expect_error("rule,s,out:o\nr1,starts with,x\n", LEADROUTE_EPARSE, 2, 4, 15,
                 "expected a quoted prefix after 'starts with'");
    t = parse_ok("rule,s,out:o\nr1,\"starts with\"\"9\"\"\",x\n"); /* no blank before the quote */
    assert_string_equal(hits_for(t, "s", "95"), "r1");
    leadroute_table_unref(t);

    /* not(...) ends at the cell's end, not at a ')' inside it */
    expect_error("rule,s,out:o\nr1,\"not(a), b)\",x\n", LEADROUTE_EPARSE, 2, 9, 9, "a bracket inside not(...)");

    /* a prefix after '=' is refused by name; after '!=' it is not(prefix) */
    expect_error("rule,s,out:o\nr1,= 9*,x\n", LEADROUTE_EPARSE, 2, 4, 6,
                 "a prefix test (ending in '*') cannot follow '='");
    expect_error("rule,s,out:o\nr1,\"= \"\"94\"\"*\",x\n", LEADROUTE_EPARSE, 2, 7, 7,
                 "a prefix test (ending in '*') cannot follow '=': write it alone, as in \"94\"*");
    expect_error("rule,s:set,out:o\nr1,\"= \"\"94\"\"*\",x\n", LEADROUTE_EPARSE, 2, 7, 7, "cannot follow '='");
    t = parse_ok("rule,s,out:o\nr1,!= 9*,x\n");
    assert_string_equal(hits_for(t, "s", "95"), "");
    assert_string_equal(hits_for(t, "s", "85"), "r1");
    leadroute_table_unref(t);

    /* an operator with nothing after it */
    expect_error("rule,s,out:o\nr1,=,x\n", LEADROUTE_EPARSE, 2, 4, 5, "expected a value after '='");
    expect_error("rule,s,out:o\nr1,!= ,x\n", LEADROUTE_EPARSE, 2, 4, 7, "expected a value after '!='");

    /* a number too large is out of range, not "not a number" */
    expect_error("rule,n:number,out:o\nr1,1e400,x\n", LEADROUTE_EPARSE, 2, 4, 4, "out of range");
    expect_error("rule,n:number,out:o\nr1,< 1e400,x\n", LEADROUTE_EPARSE, 2, 6, 6, "out of range");
    expect_error("rule,n,out:o:number\nr1,a,1e400\n", LEADROUTE_EPARSE, 2, 6, 6, "out of range");
    /* a quoted string where a number or a bool is read: the error points at the string */
    expect_error("rule,a,out:x:bool\nr1,-,\"\"\"true\"\"\"\n", LEADROUTE_EPARSE, 2, 7, 7,
                 "a quoted string in a non-string column");
    expect_error("#! hit_policy: priority\n#! priority: x = \"1\"\nrule,a,out:x:number\nr1,1,1\n", LEADROUTE_EPARSE,
                 2, 18, 18, "a quoted string in a non-string column");
    /* odd quoting in an output cell is refused as in an input cell, not kept as text */
    expect_error("rule,a,out:x\nr1,-,\"\"\"abc\"\n", LEADROUTE_EPARSE, 2, 7, 7, "unterminated string");
    expect_error("rule,a,out:x\nr1,-,abc\"\n", LEADROUTE_EPARSE, 2, 9, 9, "a '\"' inside a bare word");
    expect_error("rule,a,out:x\nr1,-,\"a\"\"b\"\n", LEADROUTE_EPARSE, 2, 8, 8, "a '\"' inside a bare word");
    {
        /* a quoted literal with escaped quotes, "a \"b\"", gives a "b" */
        leadroute_result *r = NULL;
        tlead l;
        t = parse_ok("rule,a,out:x\nr1,-,\"\"\"a \\\"\"b\\\"\"\"\"\"\n");
        assert_int_equal(leadroute_result_new(&r, t, NULL), LEADROUTE_OK);
        tl_init(&l);
        assert_int_equal(leadroute_table_eval(t, &l.lead, r), LEADROUTE_OK);
        assert_string_equal(leadroute_result_output(r, 0, 0)->string, "a \"b\"");
        leadroute_result_free(r);
        leadroute_table_unref(t);
    }

    /* values no lead can match */
    expect_error("rule,s,out:o\nr1,\"\"\"\"\"\",x\n", LEADROUTE_EPARSE, 2, 4, 5, "an empty string matches no lead");
    expect_error("rule,s,out:o\nr1,\"not(\"\" x \"\")\",x\n", LEADROUTE_EPARSE, 2, 4, 9,
                 "a value with a blank at either end matches no lead");
    expect_error("rule,s,out:o\nr1,\"\"\" 9\"\"*\",x\n", LEADROUTE_EPARSE, 2, 4, 5, "a prefix starting with a blank");
    /* every blank trimmed off lead values counts: form feed and vertical tab too */
    expect_error("rule,s,out:o\nr1,\"\"\"\vX\"\"\",x\n", LEADROUTE_EPARSE, 2, 4, 5,
                 "a value with a blank at either end matches no lead");
    expect_error("rule,s,out:o\nr1,\"\"\"X\f\"\"\",x\n", LEADROUTE_EPARSE, 2, 4, 5,
                 "a value with a blank at either end matches no lead");
    expect_error("rule,s,out:o\nr1,\"\"\"\fX\"\"*\",x\n", LEADROUTE_EPARSE, 2, 4, 5, "a prefix starting with a blank");
    t = parse_ok("rule,s,out:o\nr1,\"\"\"New \"\"*\",x\n");     /* a blank at a prefix's end counts */
    assert_string_equal(hits_for(t, "s", "New York"), "r1");
    assert_string_equal(hits_for(t, "s", "Newark"), "");
    leadroute_table_unref(t);
    expect_error("rule,n:number,out:o\nr1,(0.1..0.10000000000000002),x\n", LEADROUTE_EPARSE, 2, 4, 4,
                 "no number lies strictly between its bounds");

    /* a long cell shows the text around the error, as valid UTF-8 */
    strcpy(big, "rule,s,out:o\nr1,\"a");
    for (int i = 0; i < 150; i++)
        strcat(big, "\xC3\xA9");
    strcat(big, ", >5\",x\n");
    expect_error(big, LEADROUTE_EPARSE, 2, 4 + 1 + 1 + 300 + 2, 4 + 1 + 1 + 300 + 2, ", >5'");
    expect_message_has("'...");
    assert_true(lr__utf8_valid(leadroute_error_last()->message, strlen(leadroute_error_last()->message)));

    /* so do the texts other messages quote, when they cut them */
    strcpy(big, "#! hit_policy: x"); /* 'x' puts a character across byte 60 */
    for (int i = 0; i < 40; i++)
        strcat(big, "\xC3\xA9");
    strcat(big, "\nrule,s,out:o\nr1,x,1\n");
    expect_error(big, LEADROUTE_EPARSE, 1, 16, 16, "unknown hit policy 'x\xC3\xA9");
    assert_true(lr__utf8_valid(leadroute_error_last()->message, strlen(leadroute_error_last()->message)));

    /* priority lists: errors at the entry, no null offered, the first list's line */
    expect_error("#! hit_policy: priority\n#! priority: o = 1, x\nrule,a,out:o:number\nr1,x,1\n", LEADROUTE_EPARSE,
                 2, 21, 21, "cannot read '1, x': expected a number");
    if (strstr(leadroute_error_last()->message, "null"))
        fail_msg("a priority list cannot hold null: %s", leadroute_error_last()->message);
    expect_error("#! hit_policy: priority\n#! priority: o = 1\n#! priority: out:o = 2\nrule,a,out:o:number\n"
                 "r1,x,1\n",
                 LEADROUTE_EPARSE, 3, 1, 1, "a second priority list for output 'o': the first is on line 2");
    expect_error("#! hit_policy: priority\n#! priority: o = b, a, b\nrule,a,out:o\nr1,x,a\n", LEADROUTE_ETABLE,
                 2, 24, 24, "names 'b' twice (entries 1 and 3)"); /* at the second 'b' */
    expect_error("#! hit_policy: priority\n#! priority: o = a, b, b\nrule,a,out:o\nr1,x,a\n", LEADROUTE_ETABLE,
                 2, 24, 24, "names 'b' twice (entries 2 and 3)");

    /* hit policy words: '-' and '_' part words only between letters */
    expect_error("#! hit_policy: c-\nrule,a,out:o\nr1,x,1\n", LEADROUTE_EPARSE, 1, 16, 16, "unknown hit policy 'c-'");
    /* a directive a spreadsheet saved as a quoted cell: columns count its opening quote and
     * each '"' of it written "" */
    expect_error("\"#! hit_policy: nope\",,\nrule,a,out:o\nr1,x,1\n", LEADROUTE_EPARSE, 1, 17, 17,
                 "unknown hit policy 'nope'");
    expect_error(" \"#! hit_policy: nope\" ,,\nrule,a,out:o\nr1,x,1\n", LEADROUTE_EPARSE, 1, 18, 18,
                 "unknown hit policy 'nope'");
    /* blanks before the '#' inside the quotes do not count, as on an unquoted line */
    expect_error("\" \t#! hit_policy: nope\",,\nrule,a,out:o\nr1,x,1\n", LEADROUTE_EPARSE, 1, 19, 19,
                 "unknown hit policy 'nope'");
    t = parse_ok("\"  #! hit_policy: collect\",\nrule,a,out:o\nr1,x,1\n");
    assert_int_equal(leadroute_table_hit_policy(t), LEADROUTE_HIT_COLLECT);
    leadroute_table_unref(t);
    expect_error("#! hit_policy: priority\n\"#! priority: o = a, \"\"b\"\" c\",,\nrule,a,out:o\nr1,x,a\n",
                 LEADROUTE_EPARSE, 2, 28, 28, "unexpected text after the closing");
    t = parse_ok("#! hit_policy: Rule-Order\nrule,a,out:o\nr1,x,1\n");
    assert_int_equal(leadroute_table_hit_policy(t), LEADROUTE_HIT_RULE_ORDER);
    leadroute_table_unref(t);

    /* the header: OUT in any case, a blank trailing cell like an empty one */
    t = parse_ok("rule,a,OUT:o, \nr1,x,1\n");
    assert_int_equal(leadroute_table_output_count(t), 1);
    assert_int_equal(leadroute_table_input_count(t), 1);
    leadroute_table_unref(t);
    /* :ci on a column that holds no strings */
    expect_error("rule,n:number:ci,out:o\nr1,1,x\n", LEADROUTE_EPARSE, 1, 6, 6,
                 "input column 'n': case-insensitive matching applies to string and set input columns only");
    expect_error("rule,a,b:bool:ci,out:o\nr1,x,true,x\n", LEADROUTE_EPARSE, 1, 8, 8, "input column 'b'");
    /* at the type word in an unquoted cell, at the cell in a quoted one */
    expect_error("rule,a,out:o:ci\nr1,x,x\n", LEADROUTE_EPARSE, 1, 14, 14, "unknown type 'ci'");
    expect_error("rule,a, n : nmber,out:o\nr1,x,1,x\n", LEADROUTE_EPARSE, 1, 13, 13, "unknown type 'nmber'");
    expect_error("rule,a,\"n:nmber\",out:o\nr1,x,1,x\n", LEADROUTE_EPARSE, 1, 8, 8, "unknown type 'nmber'");
    /* directives: at the output's name, at the value */
    expect_error("#! hit_policy: priority\n#! priority: q = a, b\nrule,a,out:o\nr1,x,a\n", LEADROUTE_ETABLE, 2, 14,
                 14, "priority list for 'q', which is not an output column");
    expect_error("#! hit_policy: priority\n#! priority: out:q = a\nrule,a,out:o\nr1,x,a\n", LEADROUTE_ETABLE, 2,
                 18, 18, "priority list for 'q'");
    expect_error("#! hit_policy: collect\n#!   aggregation: sum\nrule,a,out:o\nr1,x,1\n", LEADROUTE_ETABLE, 2, 19,
                 19, "aggregation sum needs number outputs");
    expect_error("#! aggregation: min\nrule,a,out:o:number\nr1,x,1\n", LEADROUTE_ETABLE, 1, 17, 17,
                 "an aggregation needs hit_policy collect");
    expect_error("#! hit_policy:  output order\nrule,a,out:o\nr1,x,1\n", LEADROUTE_ETABLE, 1, 17, 17,
                 "needs at least one priority list");
    t = parse_ok("Rule,a,out:o\nr1,x,1\n");   /* so is the word rule */
    assert_int_equal(leadroute_table_input_count(t), 1);
    assert_string_equal(hits_for(t, "a", "x"), "r1");
    leadroute_table_unref(t);

    /* a quoted comment stays a comment when a later cell holds a blank */
    t = parse_ok("rule,a,out:o\nr1,x,1\n\"# note\", ,\n  # indented\n\t# tab\n");
    assert_int_equal(leadroute_table_rule_count(t), 1);
    leadroute_table_unref(t);
    t = parse_ok("\"#! hit_policy: collect\", \nrule,a,out:o\nr1,x,1\n");
    assert_int_equal(leadroute_table_hit_policy(t), LEADROUTE_HIT_COLLECT);
    leadroute_table_unref(t);

    /* a long file name: kept whole in `file`, its end in the message, which
     * still holds the error */
    {
        char name[1200];
        leadroute_table *none = NULL;
        memset(name, 'd', sizeof name - 1);
        name[sizeof name - 1] = '\0';
        assert_int_equal(leadroute_table_parse(&none, "rule,a\nr1\n", 10, name, NULL), LEADROUTE_ETABLE);
        assert_null(none);
        assert_string_equal(leadroute_error_last()->file, name);
        assert_true(strncmp(leadroute_error_last()->message, "...ddd", 6) == 0);
        expect_message_has("ddd:2:1: this row has 1 cell");
    }

    /* rows: short ones say what a row needs */
    expect_error("rule,a,out:o\nr1\n", LEADROUTE_ETABLE, 2, 1, 1,
                 "this row has 1 cell, the header has 3: a row needs a cell for every column");
}

static void test_limits_and_bad_bytes(void **state)
{
    (void)state;
    /* A cell longer than LEADROUTE_MAX_STRING. */
    size_t cap = LEADROUTE_MAX_STRING + 128;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t k = (size_t)snprintf(text, cap, "rule,x,out:o\nr1,");
    memset(text + k, 'a', LEADROUTE_MAX_STRING + 1);
    k += LEADROUTE_MAX_STRING + 1;
    k += (size_t)snprintf(text + k, cap - k, ",o\n");
    leadroute_table *t = (leadroute_table *)text;
    leadroute_error_clear();
    assert_int_equal(leadroute_table_parse(&t, text, k, "t.csv", NULL), LEADROUTE_ELIMIT);
    assert_null(t);
    assert_int_equal(leadroute_error_last()->line, 2);
    free(text);

    /* A column name longer than LEADROUTE_MAX_NAME. */
    char hdr[LEADROUTE_MAX_NAME + 64];
    k = (size_t)snprintf(hdr, sizeof hdr, "rule,");
    memset(hdr + k, 'n', LEADROUTE_MAX_NAME + 1);
    k += LEADROUTE_MAX_NAME + 1;
    k += (size_t)snprintf(hdr + k, sizeof hdr - k, ",out:o\nr1,a,b\n");
    t = NULL;
    int rc = leadroute_table_parse(&t, hdr, k, "t.csv", NULL);
    assert_true(rc == LEADROUTE_EPARSE || rc == LEADROUTE_ETABLE || rc == LEADROUTE_ELIMIT);
    assert_null(t);

    /* Invalid UTF-8 and NUL bytes in the text. */
    rc = parse_rc("rule,x,out:o\nr1,M\xFCnchen,o\n");
    expect_at(rc, LEADROUTE_EPARSE, 2, 4, 11);
    const char nul[] = "rule,x,out:o\nr1,a\0b,o\n";
    t = NULL;
    leadroute_error_clear();
    rc = leadroute_table_parse(&t, nul, sizeof nul - 1, "t.csv", NULL);
    assert_int_equal(rc, LEADROUTE_EPARSE);
    assert_null(t);
    assert_int_equal(leadroute_error_last()->line, 2);
}

/* --- hash ----------------------------------------------------------------- */

static uint64_t hash_of(const char *text)
{
    leadroute_table *t = parse_ok(text);
    uint64_t h = leadroute_table_hash(t);
    leadroute_table_unref(t);
    return h;
}

/* An output of -0 is 0: one value, one spelling and one hash, whichever
 * rule comes first. */
static void test_negative_zero_output(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "rule,s,out:n:number\nr1,x,-0\nr2,y,0\n",
        "rule,s,out:n:number\nr1,x,0\nr2,y,-0\n",
        "rule,s,out:n:number\nr1,x,-0\nr2,y,-0\n",
    };
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        leadroute_table *t = parse_ok(texts[i]);
        leadroute_result *res;
        tlead l;
        assert_true(leadroute_table_hash(t) == hash_of(texts[0]));
        assert_int_equal(leadroute_result_new(&res, t, NULL), LEADROUTE_OK);
        for (int k = 0; k < 2; k++) {
            const leadroute_value *v;
            tl_init(&l);
            tl_str(&l, "s", k ? "y" : "x");
            assert_int_equal(leadroute_table_eval(t, &l.lead, res), LEADROUTE_OK);
            assert_int_equal(leadroute_result_count(res), 1);
            v = leadroute_result_output(res, 0, 0);
            assert_int_equal(v->type, LEADROUTE_VALUE_NUMBER);
            if (v->number != 0 || signbit(v->number))
                fail_msg("table %zu, lead %d: output %g, want 0 without a sign", i, k, v->number);
        }
        leadroute_result_free(res);
        leadroute_table_unref(t);
    }
}

static void test_hash(void **state)
{
    (void)state;
    uint64_t base = hash_of(
        "#! name: a\n#! hit_policy: first\nrule,region,n:number,out:o\nr1,EMEA,>= 5,x\nr2,-,-,y\n");
    uint64_t same = hash_of(
        "# comment\n#! name: a different name\n\n#! hit_policy: first\r\n"
        "rule , region ,n:number, out:o\r\n# another\r\n,,,\r\n"
        "r1,  EMEA , >=5 ,x\r\n\r\nr2,-,-,y\r\n");
    assert_true(base == same);
    /* Pinned: hosts persist the hash, so it is the same on every host
     * (numbers are hashed as little-endian bytes) and in every release. */
    assert_true(base == UINT64_C(0x457a097ac0525c7a));
    /* Parsing twice gives the same hash. */
    assert_true(base == hash_of(
        "#! name: a\n#! hit_policy: first\nrule,region,n:number,out:o\nr1,EMEA,>= 5,x\nr2,-,-,y\n"));
    /* A changed cell, output, policy or column changes it. */
    assert_true(base != hash_of(
        "#! hit_policy: first\nrule,region,n:number,out:o\nr1,EMEA,>= 6,x\nr2,-,-,y\n"));
    assert_true(base != hash_of(
        "#! hit_policy: first\nrule,region,n:number,out:o\nr1,APAC,>= 5,x\nr2,-,-,y\n"));
    assert_true(base != hash_of(
        "#! hit_policy: first\nrule,region,n:number,out:o\nr1,EMEA,>= 5,x\nr2,-,-,z\n"));
    assert_true(base != hash_of(
        "#! hit_policy: rule order\nrule,region,n:number,out:o\nr1,EMEA,>= 5,x\nr2,-,-,y\n"));
    assert_true(base != hash_of(
        "#! hit_policy: first\nrule,region,m:number,out:o\nr1,EMEA,>= 5,x\nr2,-,-,y\n"));
    assert_true(base != hash_of(
        "#! hit_policy: first\nrule,region,n:number,out:o\nr2,-,-,y\nr1,EMEA,>= 5,x\n"));
    /* Each form of one cell hashes apart from the others: open and closed
     * bounds, negation, :ci, a prefix and the literal it starts with. */
    {
        static const char *const forms[][2] = {
            { "n:number", "[1..5]" }, { "n:number", "(1..5]" }, { "n:number", "[1..5)" },
            { "n:number", "(1..5)" }, { "n:number", ">= 5" },   { "n:number", "> 5" },
            { "n:number", "<= 5" },   { "n:number", "< 5" },    { "n:number", "5" },
            { "n:number", "!= 5" },   { "n:number", "-" },      { "n", "ab" },
            { "n:ci", "ab" },         { "n", "ab*" },           { "n", "not(ab)" },
            { "n:set", "ab" },
        };
        enum { NFORMS = sizeof forms / sizeof forms[0] };
        uint64_t h[NFORMS];
        for (size_t i = 0; i < NFORMS; i++) {
            char text[128];
            snprintf(text, sizeof text, "rule,%s,out:o\nr1,%s,x\n", forms[i][0], forms[i][1]);
            h[i] = hash_of(text);
            for (size_t j = 0; j < i; j++)
                if (h[i] == h[j])
                    fail_msg("'%s' in %s and '%s' in %s hash alike", forms[i][1], forms[i][0], forms[j][1],
                             forms[j][0]);
        }
    }
}

/* ---- cells, headers and builder calls at their edges: what an error says and where ---- */

/* parse must fail with `code` at line:col (file t.csv). */
static void fails_at(const char *text, int code, uint32_t line, uint32_t col)
{
    int rc = parse_rc(text);
    const leadroute_error *e = leadroute_error_last();
    if (rc != code || e->line != line || e->column != col)
        fail_msg("want %d at %u:%u, got %d at %u:%u (%s)", code, (unsigned)line, (unsigned)col, rc,
                 (unsigned)e->line, (unsigned)e->column, e->message);
}

static const char *hits1(const leadroute_table *t, const char *field, const char *v)
{
    tlead l;
    tl_init(&l);
    tl_str(&l, field, v);
    return hits(t, &l);
}

/* a line break inside a quoted cell starts the count of "" afresh */
static void test_quotes_counted_per_line(void **state)
{
    (void)state;
    /* line 3 is `  ""b",x`: the unterminated "b starts at column 3 */
    fails_at("rule,s,out:o\nr1,\"\"\"a\"\", \n  \"\"b\",x\n", LEADROUTE_EPARSE, 3, 3);
    expect_message_has("unterminated string");
}

/* a cell of exactly 200 bytes is shown whole */
static void test_cell_of_200_shown_whole(void **state)
{
    (void)state;
    char cell[256], text[512];
    size_t k = 0;
    for (int i = 0; i < 66; i++)
        memcpy(cell + k, "1, ", 3), k += 3;
    memcpy(cell + k, "zz", 3); /* 200 bytes, the error at byte 198 */
    snprintf(text, sizeof text, "rule,n:number,out:o\nr1,\"%s\",x\n", cell);
    assert_int_equal(parse_rc(text), LEADROUTE_EPARSE);
    char want[300];
    snprintf(want, sizeof want, "cannot read '%s'", cell);
    expect_message_has(want);
}

/* a long cell is shown by its first 200 bytes */
static void test_excerpt_is_200_bytes(void **state)
{
    (void)state;
    char cell[301], text[512], want[260];
    memset(cell, 'z', 300);
    cell[300] = '\0';
    snprintf(text, sizeof text, "rule,n:number,out:o\nr1,%s,x\n", cell);
    assert_int_equal(parse_rc(text), LEADROUTE_EPARSE);
    snprintf(want, sizeof want, "'%.200s...'", cell);
    expect_message_has(want);
}

/* the excerpt's end steps back over a whole character */
static void test_excerpt_cut_on_a_character(void **state)
{
    (void)state;
    char cell[301], text[512], want[260];
    for (int i = 0; i < 100; i++)
        memcpy(cell + 3 * i, "\xe2\x82\xac", 3); /* the euro sign */
    cell[300] = '\0';
    snprintf(text, sizeof text, "rule,n:number,out:o\nr1,%s,x\n", cell);
    assert_int_equal(parse_rc(text), LEADROUTE_EPARSE);
    snprintf(want, sizeof want, "'%.198s...'", cell); /* 66 whole characters */
    expect_message_has(want);
    assert_null(strstr(leadroute_error_last()->message, "\\x"));
}

/* a tab in the cell shows as a blank */
static void test_tab_shown_as_blank(void **state)
{
    (void)state;
    assert_int_equal(parse_rc("rule,n:number,out:o\nr1,1\t2,x\n"), LEADROUTE_EPARSE);
    expect_message_has("cannot read '1 2'");
}

/* = "94"* is no prefix test */
static void test_quoted_prefix_after_eq_refused(void **state)
{
    (void)state;
    assert_int_equal(parse_rc("rule,s,out:o\nr1,\"= \"\"94\"\"*\",x\n"), LEADROUTE_EPARSE);
}

/* a quoted prefix in a number column is reported at its quote */
static void test_quoted_prefix_number_column_position(void **state)
{
    (void)state;
    fails_at("rule,n:number,out:o\nr1,\"\"\"94\"\"*\",x\n", LEADROUTE_EPARSE, 2, 5);
    expect_message_has("a prefix test needs a string or set column");
}

/* brackets in a bare word are refused only inside not(...) */
static void test_bracket_outside_not_is_text(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok("rule,s,out:o\nr1,a(b),x\n");
    assert_string_equal(hits1(t, "s", "a(b)"), "r1");
    leadroute_table_unref(t);
}

/* '*' alone is an empty prefix, refused */
static void test_lone_star_refused(void **state)
{
    (void)state;
    fails_at("rule,s,out:o\nr1,*,x\n", LEADROUTE_EPARSE, 2, 4);
    expect_message_has("a prefix must not be empty");
}

/* a missing '..' is reported where it is missing */
static void test_missing_dots_position(void **state)
{
    (void)state;
    fails_at("rule,n:number,out:o\nr1,[1 10],x\n", LEADROUTE_EPARSE, 2, 7);
    expect_message_has("expected '..'");
}

/* starts with, then no quote: reported at what follows */
static void test_starts_with_unquoted_position(void **state)
{
    (void)state;
    fails_at("rule,s,out:o\nr1,starts with 94,x\n", LEADROUTE_EPARSE, 2, 16);
    expect_message_has("expected a quoted prefix");
}

/* lists longer than the 64 atoms kept on the stack */
static void test_long_list(void **state)
{
    (void)state;
    char text[4096], v[8];
    size_t k = (size_t)snprintf(text, sizeof text, "rule,s,out:o\nr1,\"");
    for (int i = 0; i < 200; i++)
        k += (size_t)snprintf(text + k, sizeof text - k, "%sv%d", i ? ", " : "", i);
    snprintf(text + k, sizeof text - k, "\",x\n");
    leadroute_table *t = parse_ok(text);
    for (int i = 0; i < 200; i++) {
        snprintf(v, sizeof v, "v%d", i);
        assert_string_equal(hits1(t, "s", v), "r1");
    }
    assert_string_equal(hits1(t, "s", "v200"), "");
    leadroute_table_unref(t);
}

/* blanks may stand between not and '(' */
static void test_not_blank_bracket(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok("rule,s,out:o\nr1,not (a),x\n");
    assert_string_equal(hits1(t, "s", "a"), "");
    assert_string_equal(hits1(t, "s", "b"), "r1");
    leadroute_table_unref(t);
}

/* an empty not() is reported at its '(' */
static void test_empty_not_position(void **state)
{
    (void)state;
    fails_at("rule,s,out:o\nr1,not(  ),x\n", LEADROUTE_EPARSE, 2, 7);
    expect_message_has("not() needs at least one test inside");
}

/* a nested not(...) is named as such */
static void test_nested_not_message(void **state)
{
    (void)state;
    fails_at("rule,s,out:o\nr1,not(not(a)),x\n", LEADROUTE_EPARSE, 2, 8);
    expect_message_has("not(...) cannot be nested");
    assert_null(strstr(leadroute_error_last()->message, "or listed"));
}

/* an output cell of a quoted value then more is refused */
static void test_output_quoted_then_more(void **state)
{
    (void)state;
    fails_at("rule,a,out:o\nr1,a,\"\"\"a\"\", b\"\n", LEADROUTE_EPARSE, 2, 12);
    expect_message_has("unexpected text after the closing");
}

/* a bool input cell's message offers null */
static void test_bool_message(void **state)
{
    (void)state;
    fails_at("rule,b:bool,out:o\nr1,maybe,x\n", LEADROUTE_EPARSE, 2, 4);
    expect_message_has("expected true, false or null");
}

/* a directive after the header is quoted by its first 60 bytes */
static void test_late_directive_cut_at_60(void **state)
{
    (void)state;
    char text[512], d[128], want[128];
    snprintf(d, sizeof d, "#! name: %s", "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz");
    snprintf(text, sizeof text, "rule,a,out:o\n%s\nr1,a,x\n", d);
    fails_at(text, LEADROUTE_EPARSE, 2, 1);
    snprintf(want, sizeof want, "directive '%.60s' after the header", d);
    expect_message_has(want);
}

/* too many ':' parts is reported at the column's cell */
static void test_too_many_parts_position(void **state)
{
    (void)state;
    fails_at("rule,a:b:c:d:e,out:o\nr1,a,x\n", LEADROUTE_EPARSE, 1, 6);
    expect_message_has("too many ':' parts");
}

/* set is no output type */
static void test_output_set_type(void **state)
{
    (void)state;
    fails_at("rule,a,out:o:set\nr1,a,x\n", LEADROUTE_EPARSE, 1, 14);
    expect_message_has("unknown type 'set' (expected string, number or bool)");
}

/* a header with no columns is reported at column 1 */
static void test_no_columns_position(void **state)
{
    (void)state;
    fails_at("rule\nr1\n", LEADROUTE_EPARSE, 1, 1);
    expect_message_has("names no input or output column");
}

/* a short row is reported at its first cell */
static void test_short_row_position(void **state)
{
    (void)state;
    fails_at("rule,a,out:o\nr1,a,x\n  \"r2\",a\n", LEADROUTE_ETABLE, 3, 3);
    expect_message_has("this row has 2 cells");
}

/* an empty rule id is reported at its cell */
static void test_empty_id_position(void **state)
{
    (void)state;
    fails_at("rule,a,out:o\n  \"\",a,x\n", LEADROUTE_ETABLE, 2, 3);
    expect_message_has("empty rule id");
}

/* no text and no length is an empty table text, not a misuse */
static void test_null_text_zero_length(void **state)
{
    (void)state;
    leadroute_table *t = NULL;
    assert_int_equal(leadroute_table_parse(&t, NULL, 0, "t.csv", NULL), LEADROUTE_EPARSE);
    assert_null(t);
    expect_message_has("no header row");
}

/* '_' parts words only between letters, alone or beside blanks */
static void test_underscore_before_blank(void **state)
{
    (void)state;
    expect_policy("#! hit_policy: rule_ order\n", LEADROUTE_HIT_RULE_ORDER, LEADROUTE_AGG_NONE);
    assert_int_equal(parse_rc("#! hit_policy: _rule order\nrule,a,out:o\nr1,a,x\n"), LEADROUTE_EPARSE);
    expect_message_has("unknown hit policy '_rule order'");
}

/* a '"' written "" before a priority list moves its columns */
static void test_quoted_directive_columns(void **state)
{
    (void)state;
    fails_at("#! hit_policy: priority\n\"#! priority: o\"\"x = a, a\"\nrule,a,\"out:o\"\"x\"\nr1,-,a\n",
             LEADROUTE_ETABLE, 2, 25);
    expect_message_has("names 'a' twice");
}

/* a property name that is no UTF-8 is refused as such */
static void test_api_key_not_utf8(void **state)
{
    (void)state;
    leadroute_table_builder *b = NULL;
    assert_int_equal(leadroute_table_builder_new(&b, NULL), LEADROUTE_OK);
    assert_int_equal(leadroute_table_builder_set(b, "name\xff", "x"), LEADROUTE_EINVAL);
    expect_message_has("a table property name must be at most");
    leadroute_table_builder_free(b);
}

/* a column name that is a prefix of another is no duplicate */
static void test_prefix_names_differ(void **state)
{
    (void)state;
    leadroute_table_builder *b = NULL;
    assert_int_equal(leadroute_table_builder_new(&b, NULL), LEADROUTE_OK);
    assert_int_equal(leadroute_table_builder_add_input(b, "ab", LEADROUTE_TYPE_STRING, 0), LEADROUTE_OK);
    assert_int_equal(leadroute_table_builder_add_input(b, "a", LEADROUTE_TYPE_STRING, 0), LEADROUTE_OK);
    assert_int_equal(leadroute_table_builder_add_output(b, "ox", LEADROUTE_TYPE_STRING), LEADROUTE_OK);
    assert_int_equal(leadroute_table_builder_add_output(b, "o", LEADROUTE_TYPE_STRING), LEADROUTE_OK);
    leadroute_table_builder_free(b);
}

/* at most LEADROUTE_MAX_COLUMNS input columns */
static void test_column_limit(void **state)
{
    (void)state;
    leadroute_table_builder *b = NULL;
    char name[16];
    assert_int_equal(leadroute_table_builder_new(&b, NULL), LEADROUTE_OK);
    for (int i = 0; i < LEADROUTE_MAX_COLUMNS; i++) {
        snprintf(name, sizeof name, "c%d", i);
        assert_int_equal(leadroute_table_builder_add_input(b, name, LEADROUTE_TYPE_STRING, 0), LEADROUTE_OK);
    }
    assert_int_equal(leadroute_table_builder_add_input(b, "one-more", LEADROUTE_TYPE_STRING, 0), LEADROUTE_ELIMIT);
    leadroute_table_builder_free(b);
}

/* rule ids of at most 256 bytes, cells of at most 4096 bytes through the API */
static void test_api_limits(void **state)
{
    (void)state;
    leadroute_table_builder *b = NULL;
    leadroute_rule r = LEADROUTE_RULE_INIT;
    char id[LEADROUTE_MAX_NAME + 2], *cell = malloc(LEADROUTE_MAX_STRING + 2);
    const char *in[1], *out[1] = { "x" };
    assert_non_null(cell);
    assert_int_equal(leadroute_table_builder_new(&b, NULL), LEADROUTE_OK);
    assert_int_equal(leadroute_table_builder_add_input(b, "a", LEADROUTE_TYPE_STRING, 0), LEADROUTE_OK);
    assert_int_equal(leadroute_table_builder_add_output(b, "o", LEADROUTE_TYPE_STRING), LEADROUTE_OK);
    memset(id, 'i', LEADROUTE_MAX_NAME + 1);
    id[LEADROUTE_MAX_NAME + 1] = '\0';
    in[0] = "-";
    r.id = id;
    r.inputs = in, r.input_count = 1;
    r.outputs = out, r.output_count = 1;
    assert_int_equal(leadroute_table_builder_add_rule(b, &r), LEADROUTE_ETABLE);
    expect_message_has("the rule id must be 1 to 256 bytes");
    id[LEADROUTE_MAX_NAME] = '\0';
    memset(cell, 'c', LEADROUTE_MAX_STRING + 1);
    cell[LEADROUTE_MAX_STRING + 1] = '\0';
    in[0] = cell;
    assert_int_equal(leadroute_table_builder_add_rule(b, &r), LEADROUTE_ELIMIT);
    in[0] = "-";
    assert_int_equal(leadroute_table_builder_add_rule(b, &r), LEADROUTE_OK);
    free(cell);
    leadroute_table_builder_free(b);
}

/* a duplicate id in a file names the first one's line */
static void test_duplicate_id_line(void **state)
{
    (void)state;
    fails_at("rule,a,out:o\nr1,a,x\nr1,b,y\n", LEADROUTE_ETABLE, 3, 1);
    expect_message_has("duplicate rule id 'r1' (first on line 2)");
}

/* version 0 is no version */
static void test_version_zero(void **state)
{
    (void)state;
    leadroute_table_options o;
    leadroute_rule r;
    assert_int_equal(leadroute_table_options_init(&o, 0), LEADROUTE_EVERSION);
    assert_int_equal(leadroute_rule_init(&r, 0), LEADROUTE_EVERSION);
}

/* a quote that ran past its line and then breaks is reported at the quote */
static void test_stray_quote_position(void **state)
{
    (void)state;
    fails_at("rule,a,out:o\nr1,\"x\ny\"z,w\n", LEADROUTE_EPARSE, 2, 4);
    expect_message_has("the quoted field runs past its line, and its quoting breaks at line 3, column 3");
}

/* the first of a tab and a ';' names the separator */
static void test_first_separator(void **state)
{
    (void)state;
    fails_at("a\tb;c\nx\n", LEADROUTE_EPARSE, 1, 2);
    expect_message_has("separated by tabs");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_doc_example),
        cmocka_unit_test(test_text_not_nul_terminated),
        cmocka_unit_test(test_load),
        cmocka_unit_test(test_load_missing_file),
        cmocka_unit_test(test_parse_bad_args),
        cmocka_unit_test(test_default_ids_and_lines),
        cmocka_unit_test(test_no_directives_defaults),
        cmocka_unit_test(test_column_suffixes),
        cmocka_unit_test(test_hit_policy_directives),
        cmocka_unit_test(test_aggregation_directives),
        cmocka_unit_test(test_name_version_directives),
        cmocka_unit_test(test_bom_crlf_comments),
        cmocka_unit_test(test_quoted_priority_directive),
        cmocka_unit_test(test_rule_ids_trimmed),
        cmocka_unit_test(test_rule_outputs),
        cmocka_unit_test(test_no_trailing_newline),
        cmocka_unit_test(test_error_unterminated_quote),
        cmocka_unit_test(test_error_cell_count),
        cmocka_unit_test(test_error_unknown_directive),
        cmocka_unit_test(test_error_unknown_type),
        cmocka_unit_test(test_error_duplicate_names),
        cmocka_unit_test(test_error_duplicate_rule_id),
        cmocka_unit_test(test_error_empty_header),
        cmocka_unit_test(test_error_other_separator),
        cmocka_unit_test(test_error_bad_cells),
        cmocka_unit_test(test_error_message_names_column_and_text),
        cmocka_unit_test(test_error_default_filename),
        cmocka_unit_test(test_error_policies),
        cmocka_unit_test(test_multiline_cell_lines),
        cmocka_unit_test(test_limits_and_bad_bytes),
        cmocka_unit_test(test_precise_errors),
        cmocka_unit_test(test_error_points_at_the_culprit),
        cmocka_unit_test(test_negative_zero_output),
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_quotes_counted_per_line),
        cmocka_unit_test(test_cell_of_200_shown_whole),
        cmocka_unit_test(test_excerpt_is_200_bytes),
        cmocka_unit_test(test_excerpt_cut_on_a_character),
        cmocka_unit_test(test_tab_shown_as_blank),
        cmocka_unit_test(test_quoted_prefix_after_eq_refused),
        cmocka_unit_test(test_quoted_prefix_number_column_position),
        cmocka_unit_test(test_bracket_outside_not_is_text),
        cmocka_unit_test(test_lone_star_refused),
        cmocka_unit_test(test_missing_dots_position),
        cmocka_unit_test(test_starts_with_unquoted_position),
        cmocka_unit_test(test_long_list),
        cmocka_unit_test(test_not_blank_bracket),
        cmocka_unit_test(test_empty_not_position),
        cmocka_unit_test(test_nested_not_message),
        cmocka_unit_test(test_output_quoted_then_more),
        cmocka_unit_test(test_bool_message),
        cmocka_unit_test(test_late_directive_cut_at_60),
        cmocka_unit_test(test_too_many_parts_position),
        cmocka_unit_test(test_output_set_type),
        cmocka_unit_test(test_no_columns_position),
        cmocka_unit_test(test_short_row_position),
        cmocka_unit_test(test_empty_id_position),
        cmocka_unit_test(test_null_text_zero_length),
        cmocka_unit_test(test_underscore_before_blank),
        cmocka_unit_test(test_quoted_directive_columns),
        cmocka_unit_test(test_api_key_not_utf8),
        cmocka_unit_test(test_prefix_names_differ),
        cmocka_unit_test(test_column_limit),
        cmocka_unit_test(test_api_limits),
        cmocka_unit_test(test_duplicate_id_line),
        cmocka_unit_test(test_version_zero),
        cmocka_unit_test(test_stray_quote_position),
        cmocka_unit_test(test_first_separator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
