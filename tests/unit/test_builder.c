/* The builder API: same meaning as CSV text, errors, atomicity, refcounts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "leadroute/leadroute.h"
#include "testutil.h"

static void ok(int rc)
{
    if (rc != LEADROUTE_OK)
        fail_msg("call failed (%d): %s", rc, leadroute_error_last()->message);
}

static int add_rule(leadroute_table_builder *b, const char *id, const char *const *in, size_t nin,
                    const char *const *out, size_t nout)
{
    leadroute_rule r = LEADROUTE_RULE_INIT;
    r.id = id;
    r.inputs = in;
    r.input_count = nin;
    r.outputs = out;
    r.output_count = nout;
    leadroute_error_clear();
    return leadroute_table_builder_add_rule(b, &r);
}

static leadroute_table_builder *new_builder(void)
{
    leadroute_table_builder *b = NULL;
    ok(leadroute_table_builder_new(&b, NULL));
    assert_non_null(b);
    return b;
}

static leadroute_table *build(leadroute_table_builder *b)
{
    leadroute_table *t = NULL;
    ok(leadroute_table_builder_build(&t, b));
    assert_non_null(t);
    return t;
}

static leadroute_table_builder *doc_builder(void)
{
    leadroute_table_builder *b = new_builder();
    ok(leadroute_table_builder_set(b, "name", "inbound routing"));
    ok(leadroute_table_builder_set(b, "version", "2026-11"));
    ok(leadroute_table_builder_set(b, "hit_policy", "first"));
    const char *in[] = { "region", "country", "postal", "industry", "employees", "score", "language" };
    const uint32_t ty[] = { LEADROUTE_TYPE_STRING, LEADROUTE_TYPE_STRING, LEADROUTE_TYPE_STRING,
                            LEADROUTE_TYPE_STRING, LEADROUTE_TYPE_NUMBER, LEADROUTE_TYPE_NUMBER,
                            LEADROUTE_TYPE_STRING };
    for (size_t i = 0; i < 7; i++)
        ok(leadroute_table_builder_add_input(b, in[i], ty[i], 0));
    ok(leadroute_table_builder_add_output(b, "pool", LEADROUTE_TYPE_STRING));
    ok(leadroute_table_builder_add_output(b, "sla_minutes", LEADROUTE_TYPE_NUMBER));
    const char *r1[] = { "-", "-", "-", "-", "-", ">=90", "-" };
    const char *o1[] = { "inbound-aces", "5" };
    const char *r2[] = { "EMEA", "-", "-", "-", ">=1000", "-", "-" };
    const char *o2[] = { "emea-enterprise", "60" };
    const char *r3[] = { "EMEA", "DE, AT, CH", "-", "-", "<1000", "-", "de" };
    const char *o3[] = { "dach-smb", "120" };
    const char *r4[] = { "NA", "US", "94*, 95*, 98*", "software, fintech", "[50..1000)", "-", "-" };
    const char *o4[] = { "us-west", "120" };
    const char *r5[] = { "-", "-", "-", "-", "-", "-", "-" };
    const char *o5[] = { "nurture", "1440" };
    ok(add_rule(b, "vip", r1, 7, o1, 2));
    ok(add_rule(b, "ent-emea", r2, 7, o2, 2));
    ok(add_rule(b, "dach-smb", r3, 7, o3, 2));
    ok(add_rule(b, "us-west", r4, 7, o4, 2));
    ok(add_rule(b, "catch-all", r5, 7, o5, 2));
    return b;
}

/* Both tables give the same status, hits and outputs for this lead. */
static void same_eval(const leadroute_table *a, const leadroute_table *b, const tlead *l)
{
    leadroute_result *ra = NULL, *rb = NULL;
    ok(leadroute_result_new(&ra, a, NULL));
    ok(leadroute_result_new(&rb, b, NULL));
    int rca = leadroute_table_eval(a, &l->lead, ra);
    int rcb = leadroute_table_eval(b, &l->lead, rb);
    assert_int_equal(rca, rcb);
    assert_int_equal(leadroute_result_count(ra), leadroute_result_count(rb));
    for (size_t i = 0; i < leadroute_result_count(ra); i++) {
        assert_string_equal(leadroute_result_rule_id(ra, i), leadroute_result_rule_id(rb, i));
        for (size_t o = 0; o < leadroute_table_output_count(a); o++) {
            const leadroute_value *va = leadroute_result_output(ra, i, o);
            const leadroute_value *vb = leadroute_result_output(rb, i, o);
            assert_non_null(va);
            assert_non_null(vb);
            assert_int_equal(va->type, vb->type);
            if (va->type == LEADROUTE_VALUE_STRING)
                assert_string_equal(va->string, vb->string);
            if (va->type == LEADROUTE_VALUE_NUMBER)
                assert_true(va->number == vb->number);
            if (va->type == LEADROUTE_VALUE_BOOL)
                assert_int_equal(va->boolean != 0, vb->boolean != 0);
        }
    }
    leadroute_result_free(ra);
    leadroute_result_free(rb);
}

static void test_builder_matches_csv(void **state)
{
    (void)state;
    leadroute_table_builder *b = doc_builder();
    leadroute_table *built = build(b);
    leadroute_table_builder_free(b);   /* the table outlives its builder */
    leadroute_table *parsed = parse_ok(DOC_EXAMPLE);

    assert_true(leadroute_table_hash(built) == leadroute_table_hash(parsed));
    assert_string_equal(leadroute_table_name(built), "inbound routing");
    assert_string_equal(leadroute_table_version(built), "2026-11");
    assert_int_equal(leadroute_table_hit_policy(built), LEADROUTE_HIT_FIRST);
    assert_int_equal(leadroute_table_rule_count(built), 5);
    assert_string_equal(leadroute_table_rule_id(built, 3), "us-west");
    assert_int_equal(leadroute_table_rule_line(built, 3), 0);   /* no source line */
    assert_int_equal(leadroute_table_input_count(built), 7);
    assert_string_equal(leadroute_table_input_name(built, 6), "language");
    assert_int_equal(leadroute_table_input_type(built, 4), LEADROUTE_TYPE_NUMBER);
    assert_int_equal(leadroute_table_output_type(built, 1), LEADROUTE_TYPE_NUMBER);
    assert_int_equal(leadroute_table_output_index(built, "sla_minutes"), 1);

    tlead l;
    tl_init(&l);
    tl_num(&l, "score", 95);
    same_eval(built, parsed, &l);
    assert_string_equal(hits(built, &l), "vip");
    tl_init(&l);
    tl_str(&l, "region", "EMEA");
    tl_num(&l, "employees", 1000);
    same_eval(built, parsed, &l);
    assert_string_equal(hits(built, &l), "ent-emea");
    tl_init(&l);
    tl_str(&l, "region", "EMEA");
    tl_str(&l, "country", "CH");
    tl_num(&l, "employees", 10);
    tl_str(&l, "language", "de");
    same_eval(built, parsed, &l);
    assert_string_equal(hits(built, &l), "dach-smb");
    tl_init(&l);
    tl_str(&l, "region", "NA");
    tl_str(&l, "country", "US");
    tl_str(&l, "postal", "95014");
    tl_str(&l, "industry", "software");
    tl_num(&l, "employees", 999.5);
    same_eval(built, parsed, &l);
    assert_string_equal(hits(built, &l), "us-west");
    tl_init(&l);
    same_eval(built, parsed, &l);
    assert_string_equal(hits(built, &l), "catch-all");

    leadroute_table_unref(built);
    leadroute_table_unref(parsed);
}

static void test_builder_every_form_matches_csv(void **state)
{
    (void)state;
    /* Quotes, :ci, sets, bools, null, not(), != and a priority list. */
    const char *csv =
        "#! hit_policy: priority\n"
        "#! priority: tier = gold, silver\n"
        "rule,country:ci,tags:set,active:bool,n:number,s,out:tier,out:w:number,out:f:bool\n"
        "a,\"de, at\",\"crm, erp*\",true,\"(1..5], >= 100\",\"\"\"x, y\"\"\",gold,1,true\n"
        "b,not(de),!= crm,false,null,-,silver,,false\n"
        "c,-,-,-,-,-,,2,\n";
    leadroute_table *parsed = parse_ok(csv);

    leadroute_table_builder *b = new_builder();
    ok(leadroute_table_builder_set(b, "hit_policy", "priority"));
    ok(leadroute_table_builder_set(b, "priority", "tier = gold, silver"));
    ok(leadroute_table_builder_add_input(b, "country", LEADROUTE_TYPE_STRING,
                                         LEADROUTE_COLUMN_CASE_INSENSITIVE));
    ok(leadroute_table_builder_add_input(b, "tags", LEADROUTE_TYPE_SET, 0));
    ok(leadroute_table_builder_add_input(b, "active", LEADROUTE_TYPE_BOOL, 0));
    ok(leadroute_table_builder_add_input(b, "n", LEADROUTE_TYPE_NUMBER, 0));
    ok(leadroute_table_builder_add_input(b, "s", LEADROUTE_TYPE_STRING, 0));
    ok(leadroute_table_builder_add_output(b, "tier", LEADROUTE_TYPE_STRING));
    ok(leadroute_table_builder_add_output(b, "w", LEADROUTE_TYPE_NUMBER));
    ok(leadroute_table_builder_add_output(b, "f", LEADROUTE_TYPE_BOOL));
    const char *ia[] = { "de, at", "crm, erp*", "true", "(1..5], >= 100", "\"x, y\"" };
    const char *oa[] = { "gold", "1", "true" };
    const char *ib[] = { "not(de)", "!= crm", "false", "null", "-" };
    const char *ob[] = { "silver", NULL, "false" };
    const char *ic[] = { NULL, "", "-", NULL, "" };        /* NULL and "" mean any */
    const char *oc[] = { "", "2", NULL };                  /* NULL and "" mean null */
    ok(add_rule(b, "a", ia, 5, oa, 3));
    ok(add_rule(b, "b", ib, 5, ob, 3));
    ok(add_rule(b, "c", ic, 5, oc, 3));
    leadroute_table *built = build(b);
    leadroute_table_builder_free(b);

    assert_true(leadroute_table_hash(built) == leadroute_table_hash(parsed));

    const char *erp[] = { "erpx", "hr" };
    const char *hr[] = { "hr" };
    const char *crm[] = { "hr", "crm" };
    tlead l;
    tl_init(&l);
    tl_str(&l, "country", "DE");
    tl_set(&l, "tags", erp, 2);
    tl_bool(&l, "active", 1);
    tl_num(&l, "n", 5);
    tl_str(&l, "s", "x, y");
    assert_string_equal(hits(built, &l), "a");
    same_eval(built, parsed, &l);

    tl_init(&l);
    tl_str(&l, "country", "fr");
    tl_set(&l, "tags", hr, 1);
    tl_bool(&l, "active", 0);
    assert_string_equal(hits(built, &l), "b");
    same_eval(built, parsed, &l);
    leadroute_result *r = NULL;
    ok(leadroute_result_new(&r, built, NULL));
    ok(leadroute_table_eval(built, &l.lead, r));
    assert_string_equal(leadroute_result_output(r, 0, 0)->string, "silver");
    assert_int_equal(leadroute_result_output(r, 0, 1)->type, LEADROUTE_VALUE_NULL);
    assert_int_equal(leadroute_result_output(r, 0, 2)->type, LEADROUTE_VALUE_BOOL);
    assert_int_equal(leadroute_result_output(r, 0, 2)->boolean, 0);

    l.f[1].value.items = crm;
    l.f[1].value.item_count = 2;
    assert_string_equal(hits(built, &l), "c");
    same_eval(built, parsed, &l);
    ok(leadroute_table_eval(built, &l.lead, r));
    assert_int_equal(leadroute_result_output(r, 0, 0)->type, LEADROUTE_VALUE_NULL);
    assert_true(leadroute_result_output(r, 0, 1)->number == 2.0);
    assert_int_equal(leadroute_result_output(r, 0, 2)->type, LEADROUTE_VALUE_NULL);
    leadroute_result_free(r);

    leadroute_table_unref(built);
    leadroute_table_unref(parsed);
}

static void test_builder_default_ids(void **state)
{
    (void)state;
    leadroute_table *parsed = parse_ok("region,out:o\nEMEA,a\nNA,b\n-,c\n");
    leadroute_table_builder *b = new_builder();
    ok(leadroute_table_builder_add_input(b, "region", LEADROUTE_TYPE_STRING, 0));
    ok(leadroute_table_builder_add_output(b, "o", LEADROUTE_TYPE_STRING));
    const char *i1[] = { "EMEA" }, *i2[] = { "NA" }, *i3[] = { "-" };
    const char *o1[] = { "a" }, *o2[] = { "b" }, *o3[] = { "c" };
    ok(add_rule(b, NULL, i1, 1, o1, 1));
    const char *bad[] = { "< 5" };                 /* fails: must not take position 2 */
    assert_int_equal(add_rule(b, NULL, bad, 1, o2, 1), LEADROUTE_EPARSE);
    ok(add_rule(b, NULL, i2, 1, o2, 1));
    ok(add_rule(b, NULL, i3, 1, o3, 1));
    leadroute_table *built = build(b);
    leadroute_table_builder_free(b);
    assert_int_equal(leadroute_table_rule_count(built), 3);
    assert_string_equal(leadroute_table_rule_id(built, 0), "1");
    assert_string_equal(leadroute_table_rule_id(built, 1), "2");
    assert_string_equal(leadroute_table_rule_id(built, 2), "3");
    assert_true(leadroute_table_hash(built) == leadroute_table_hash(parsed));
    tlead l;
    tl_init(&l);
    tl_str(&l, "region", "NA");
    assert_string_equal(hits(built, &l), "2");
    leadroute_table_unref(built);
    leadroute_table_unref(parsed);
}

static void test_builder_errors_name_rule_and_column(void **state)
{
    (void)state;
    leadroute_table_builder *b = new_builder();
    ok(leadroute_table_builder_add_input(b, "region", LEADROUTE_TYPE_STRING, 0));
    ok(leadroute_table_builder_add_input(b, "employees", LEADROUTE_TYPE_NUMBER, 0));
    ok(leadroute_table_builder_add_output(b, "pool", LEADROUTE_TYPE_STRING));
    const char *in[] = { "EMEA", ">= ten" };
    const char *out[] = { "p" };
    assert_int_equal(add_rule(b, "big-deals", in, 2, out, 1), LEADROUTE_EPARSE);
    const leadroute_error *e = leadroute_error_last();
    assert_int_equal(e->code, LEADROUTE_EPARSE);
    expect_message_has("big-deals");
    expect_message_has("employees");
    expect_message_has(">= ten");
    assert_null(e->file);
    assert_int_equal(e->line, 0);
    assert_int_equal(e->column, 0);
    assert_true(strncmp(e->message, "<table>", 7) != 0);

    const char *in2[] = { "EMEA", "5" };
    const char *out2[] = { "p" };
    leadroute_table_builder *b2 = new_builder();
    ok(leadroute_table_builder_add_input(b2, "region", LEADROUTE_TYPE_STRING, 0));
    ok(leadroute_table_builder_add_output(b2, "score", LEADROUTE_TYPE_NUMBER));
    const char *in3[] = { "EMEA" };
    const char *out3[] = { "high" };               /* not a number */
    assert_int_equal(add_rule(b2, "r7", in3, 1, out3, 1), LEADROUTE_EPARSE);
    expect_message_has("r7");
    expect_message_has("score");
    assert_int_equal(leadroute_error_last()->line, 0);
    leadroute_table_builder_free(b2);

    /* an id with a control character, no line or column to give */
    assert_int_equal(add_rule(b, "big\ndeals", in2, 2, out2, 1), LEADROUTE_ETABLE);
    expect_message_has("rule id 'big\\x0adeals' holds a control character");
    assert_int_equal(leadroute_error_last()->line, 0);
    /* an id whose text goes on past 4,096 bytes of blanks is all of it, not its start */
    {
        char long_id[5002];
        memset(long_id, ' ', sizeof long_id - 1);
        memcpy(long_id, "abc", 3);
        long_id[5000] = 'Z';
        long_id[5001] = '\0';
        assert_int_equal(add_rule(b, long_id, in2, 2, out2, 1), LEADROUTE_ETABLE);
        expect_message_has("the rule id must be 1 to 256 bytes of UTF-8");
        long_id[5000] = '\x01';
        assert_int_equal(add_rule(b, long_id, in2, 2, out2, 1), LEADROUTE_ETABLE);
    }

    /* The builder is still usable after the error. */
    ok(add_rule(b, "big-deals", in2, 2, out2, 1));
    leadroute_table *t = build(b);
    assert_int_equal(leadroute_table_rule_count(t), 1);
    leadroute_table_unref(t);
    leadroute_table_builder_free(b);
}

static void test_builder_unchanged_after_failed_rule(void **state)
{
    (void)state;
    leadroute_table_builder *b = new_builder();
    ok(leadroute_table_builder_add_input(b, "x", LEADROUTE_TYPE_NUMBER, 0));
    ok(leadroute_table_builder_add_output(b, "o", LEADROUTE_TYPE_STRING));
    const char *good1[] = { "< 10" }, *good2[] = { ">= 10" }, *bad[] = { "[5..3]" };
    const char *o1[] = { "lo" }, *o2[] = { "hi" };
    ok(add_rule(b, "r1", good1, 1, o1, 1));
    leadroute_table *before = build(b);
    uint64_t h_before = leadroute_table_hash(before);

    /* Bad cell, wrong counts, duplicate id, bad version: each leaves it as it was. */
    assert_int_equal(add_rule(b, "r2", bad, 1, o2, 1), LEADROUTE_EPARSE);
    const char *two[] = { "1", "2" };
    assert_int_equal(add_rule(b, "r2", two, 2, o2, 1), LEADROUTE_ETABLE);
    assert_int_equal(add_rule(b, "r2", good2, 1, two, 2), LEADROUTE_ETABLE);
    assert_int_equal(add_rule(b, "r2", good2, 0, o2, 1), LEADROUTE_ETABLE);
    assert_int_equal(add_rule(b, "r1", good2, 1, o2, 1), LEADROUTE_ETABLE);
    expect_message_has("duplicate rule id 'r1'");
    leadroute_rule rv = LEADROUTE_RULE_INIT;
    rv.id = "r2";
    rv.inputs = good2;
    rv.input_count = 1;
    rv.outputs = o2;
    rv.output_count = 1;
    rv.version = 0;
    assert_int_equal(leadroute_table_builder_add_rule(b, &rv), LEADROUTE_EVERSION);
    rv.version = 99;
    assert_int_equal(leadroute_table_builder_add_rule(b, &rv), LEADROUTE_EVERSION);
    assert_int_equal(leadroute_table_builder_add_rule(b, NULL), LEADROUTE_EINVAL);
    assert_int_equal(leadroute_table_builder_add_rule(NULL, &rv), LEADROUTE_EINVAL);

    leadroute_table *same = build(b);
    assert_int_equal(leadroute_table_rule_count(same), 1);
    assert_true(leadroute_table_hash(same) == h_before);

    /* r2 was never taken, so it can be added now. */
    ok(add_rule(b, "r2", good2, 1, o2, 1));
    leadroute_table *after = build(b);
    assert_int_equal(leadroute_table_rule_count(after), 2);
    assert_string_equal(leadroute_table_rule_id(after, 1), "r2");
    assert_true(leadroute_table_hash(after) != h_before);
    /* Tables built earlier did not change. */
    assert_int_equal(leadroute_table_rule_count(before), 1);
    tlead l;
    tl_init(&l);
    tl_num(&l, "x", 50);
    assert_string_equal(hits(before, &l), "");
    assert_string_equal(hits(after, &l), "r2");

    leadroute_table_unref(before);
    leadroute_table_unref(same);
    leadroute_table_unref(after);
    leadroute_table_builder_free(b);
}

static void test_builder_columns_before_rules(void **state)
{
    (void)state;
    leadroute_table_builder *b = new_builder();
    ok(leadroute_table_builder_add_input(b, "x", LEADROUTE_TYPE_STRING, 0));
    ok(leadroute_table_builder_add_output(b, "o", LEADROUTE_TYPE_STRING));
    const char *i1[] = { "a" }, *o1[] = { "b" };
    ok(add_rule(b, "r1", i1, 1, o1, 1));
    leadroute_error_clear();
    assert_int_equal(leadroute_table_builder_add_input(b, "y", LEADROUTE_TYPE_STRING, 0), LEADROUTE_ETABLE);
    assert_int_equal(leadroute_error_last()->code, LEADROUTE_ETABLE);
    assert_int_equal(leadroute_table_builder_add_output(b, "p", LEADROUTE_TYPE_STRING), LEADROUTE_ETABLE);
    leadroute_table *t = build(b);
    assert_int_equal(leadroute_table_input_count(t), 1);
    assert_int_equal(leadroute_table_output_count(t), 1);
    leadroute_table_unref(t);
    leadroute_table_builder_free(b);
}

static void test_builder_column_errors(void **state)
{
    (void)state;
    leadroute_table_builder *b = new_builder();
    ok(leadroute_table_builder_add_input(b, "region", LEADROUTE_TYPE_STRING, 0));
    assert_int_equal(leadroute_table_builder_add_input(b, "region", LEADROUTE_TYPE_NUMBER, 0), LEADROUTE_ETABLE);
    expect_message_has("region");
    assert_int_equal(leadroute_table_builder_add_input(b, "n", 0, 0), LEADROUTE_EINVAL);
    assert_int_equal(leadroute_table_builder_add_input(b, "n", 99, 0), LEADROUTE_EINVAL);
    assert_int_equal(leadroute_table_builder_add_input(b, "n", LEADROUTE_TYPE_NUMBER, 0x80u), LEADROUTE_EINVAL);
    assert_int_equal(leadroute_table_builder_add_input(b, NULL, LEADROUTE_TYPE_NUMBER, 0), LEADROUTE_EINVAL);
    assert_int_equal(leadroute_table_builder_add_input(NULL, "n", LEADROUTE_TYPE_NUMBER, 0), LEADROUTE_EINVAL);
    int rc = leadroute_table_builder_add_input(b, "", LEADROUTE_TYPE_NUMBER, 0);
    assert_true(rc == LEADROUTE_EINVAL || rc == LEADROUTE_ETABLE);
    char longname[LEADROUTE_MAX_NAME + 2];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    rc = leadroute_table_builder_add_input(b, longname, LEADROUTE_TYPE_NUMBER, 0);
    assert_true(rc == LEADROUTE_EINVAL || rc == LEADROUTE_ELIMIT);
    longname[LEADROUTE_MAX_NAME] = '\0';                /* exactly the limit is fine */
    ok(leadroute_table_builder_add_input(b, longname, LEADROUTE_TYPE_NUMBER, 0));
    assert_int_equal(leadroute_table_builder_add_input(b, "bad\xFFname", LEADROUTE_TYPE_STRING, 0),
                     LEADROUTE_EINVAL);
    /* a control character in a name: EINVAL, the name shown escaped */
    assert_int_equal(leadroute_table_builder_add_input(b, "reg\x01ion", LEADROUTE_TYPE_STRING, 0),
                     LEADROUTE_EINVAL);
    assert_int_equal(leadroute_error_last()->code, LEADROUTE_EINVAL);
    expect_message_has("input column name 'reg\\x01ion' holds a control character");

    ok(leadroute_table_builder_add_output(b, "pool", LEADROUTE_TYPE_STRING));
    assert_int_equal(leadroute_table_builder_add_output(b, "po\tol", LEADROUTE_TYPE_STRING), LEADROUTE_EINVAL);
    expect_message_has("output column name 'po\\x09ol' holds a control character");
    assert_int_equal(leadroute_table_builder_add_output(b, "pool", LEADROUTE_TYPE_STRING), LEADROUTE_ETABLE);
    assert_int_equal(leadroute_table_builder_add_output(b, "tags", LEADROUTE_TYPE_SET), LEADROUTE_EINVAL);
    assert_int_equal(leadroute_table_builder_add_output(b, "z", 0), LEADROUTE_EINVAL);
    assert_int_equal(leadroute_table_builder_add_output(b, NULL, LEADROUTE_TYPE_STRING), LEADROUTE_EINVAL);
    /* An output may share its name with an input. */
    ok(leadroute_table_builder_add_output(b, "region", LEADROUTE_TYPE_STRING));

    leadroute_table *t = build(b);
    assert_int_equal(leadroute_table_input_count(t), 2);
    assert_int_equal(leadroute_table_output_count(t), 2);
    assert_string_equal(leadroute_table_input_name(t, 1), longname);
    leadroute_table_unref(t);
    leadroute_table_builder_free(b);
}

static void test_builder_set(void **state)
{
    (void)state;
    leadroute_table_builder *b = new_builder();
    ok(leadroute_table_builder_set(b, "hit_policy", "rule order"));
    assert_int_equal(leadroute_table_builder_set(b, "colour", "red"), LEADROUTE_EINVAL);
    assert_int_equal(leadroute_table_builder_set(b, "hit_policy", "random"), LEADROUTE_EPARSE);
    assert_int_equal(leadroute_table_builder_set(b, "aggregation", "avg"), LEADROUTE_EPARSE);
    assert_int_equal(leadroute_table_builder_set(NULL, "name", "x"), LEADROUTE_EINVAL);
    assert_int_equal(leadroute_table_builder_set(b, NULL, "x"), LEADROUTE_EINVAL);
    ok(leadroute_table_builder_set(b, "name", "first name"));
    ok(leadroute_table_builder_set(b, "name", "second name"));
    ok(leadroute_table_builder_add_input(b, "x", LEADROUTE_TYPE_NUMBER, 0));
    ok(leadroute_table_builder_add_output(b, "o", LEADROUTE_TYPE_NUMBER));
    const char *i1[] = { ">= 0" }, *o1[] = { "1" };
    const char *i2[] = { ">= 10" }, *o2[] = { "2" };
    ok(add_rule(b, "a", i1, 1, o1, 1));
    ok(add_rule(b, "b", i2, 1, o2, 1));
    leadroute_table *t = build(b);
    /* The failed set left the policy as it was. */
    assert_int_equal(leadroute_table_hit_policy(t), LEADROUTE_HIT_RULE_ORDER);
    assert_string_equal(leadroute_table_name(t), "second name");
    tlead l;
    tl_init(&l);
    tl_num(&l, "x", 20);
    assert_string_equal(hits(t, &l), "a,b");
    leadroute_table_unref(t);

    /* DMN letters, aggregation, and a build that must fail. */
    ok(leadroute_table_builder_set(b, "hit_policy", "C"));
    ok(leadroute_table_builder_set(b, "aggregation", "sum"));
    t = build(b);
    assert_int_equal(leadroute_table_hit_policy(t), LEADROUTE_HIT_COLLECT);
    assert_int_equal(leadroute_table_aggregation(t), LEADROUTE_AGG_SUM);
    leadroute_result *r = NULL;
    ok(leadroute_result_new(&r, t, NULL));
    ok(leadroute_table_eval(t, &l.lead, r));
    assert_true(leadroute_result_aggregate(r, 0)->number == 3.0);
    leadroute_result_free(r);
    leadroute_table_unref(t);

    ok(leadroute_table_builder_set(b, "aggregation", "none"));
    ok(leadroute_table_builder_set(b, "hit_policy", "priority"));
    t = (leadroute_table *)1;
    assert_int_equal(leadroute_table_builder_build(&t, b), LEADROUTE_ETABLE);   /* no priority list */
    assert_null(t);
    ok(leadroute_table_builder_set(b, "priority", "o = 2, 1"));
    t = build(b);
    assert_string_equal(hits(t, &l), "b");
    leadroute_table_unref(t);
    leadroute_table_builder_free(b);
}

static void test_builder_sum_needs_numbers(void **state)
{
    (void)state;
    leadroute_table_builder *b = new_builder();
    ok(leadroute_table_builder_set(b, "hit_policy", "C+"));
    ok(leadroute_table_builder_add_input(b, "x", LEADROUTE_TYPE_STRING, 0));
    ok(leadroute_table_builder_add_output(b, "o", LEADROUTE_TYPE_STRING));
    leadroute_table *t = (leadroute_table *)1;
    assert_int_equal(leadroute_table_builder_build(&t, b), LEADROUTE_ETABLE);
    assert_null(t);
    leadroute_table_builder_free(b);
}

/* A plain policy set after C+ drops the aggregation C+ brought and brings
 * back the one the aggregation property set, if any. */
static void test_builder_policy_then_plain(void **state)
{
    (void)state;
    leadroute_table_builder *b = new_builder();
    ok(leadroute_table_builder_add_input(b, "x", LEADROUTE_TYPE_STRING, 0));
    ok(leadroute_table_builder_add_output(b, "n", LEADROUTE_TYPE_NUMBER));
    ok(leadroute_table_builder_set(b, "hit_policy", "C+"));
    ok(leadroute_table_builder_set(b, "hit_policy", "first"));
    leadroute_table *t = build(b);
    assert_int_equal(leadroute_table_hit_policy(t), LEADROUTE_HIT_FIRST);
    assert_int_equal(leadroute_table_aggregation(t), LEADROUTE_AGG_NONE);
    leadroute_table_unref(t);

    ok(leadroute_table_builder_set(b, "hit_policy", "C>"));
    ok(leadroute_table_builder_set(b, "hit_policy", "collect"));
    t = build(b);
    assert_int_equal(leadroute_table_hit_policy(t), LEADROUTE_HIT_COLLECT);
    assert_int_equal(leadroute_table_aggregation(t), LEADROUTE_AGG_NONE);
    leadroute_table_unref(t);
    leadroute_table_builder_free(b);

    b = new_builder();
    ok(leadroute_table_builder_add_input(b, "x", LEADROUTE_TYPE_STRING, 0));
    ok(leadroute_table_builder_add_output(b, "n", LEADROUTE_TYPE_NUMBER));
    ok(leadroute_table_builder_set(b, "aggregation", "min"));
    ok(leadroute_table_builder_set(b, "hit_policy", "collect"));
    t = build(b);
    assert_int_equal(leadroute_table_aggregation(t), LEADROUTE_AGG_MIN);
    leadroute_table_unref(t);
    /* C+ in between does not replace it: a plain policy brings it back */
    static const struct {
        const char *key, *value;
        uint32_t policy, aggregation;
    } steps[] = {
        { "hit_policy", "C+", LEADROUTE_HIT_COLLECT, LEADROUTE_AGG_SUM },
        { "hit_policy", "collect", LEADROUTE_HIT_COLLECT, LEADROUTE_AGG_MIN },
        { "aggregation", "none", LEADROUTE_HIT_COLLECT, LEADROUTE_AGG_NONE },
        { "hit_policy", "C#", LEADROUTE_HIT_COLLECT, LEADROUTE_AGG_COUNT },
        /* set while C# is the policy: C# still applies, then the property */
        { "aggregation", "max", LEADROUTE_HIT_COLLECT, LEADROUTE_AGG_COUNT },
        { "hit_policy", "collect", LEADROUTE_HIT_COLLECT, LEADROUTE_AGG_MAX },
        { "aggregation", "none", LEADROUTE_HIT_COLLECT, LEADROUTE_AGG_NONE },
        { "hit_policy", "first", LEADROUTE_HIT_FIRST, LEADROUTE_AGG_NONE },
    };
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
        ok(leadroute_table_builder_set(b, steps[i].key, steps[i].value));
        t = build(b);
        assert_int_equal(leadroute_table_hit_policy(t), steps[i].policy);
        assert_int_equal(leadroute_table_aggregation(t), steps[i].aggregation);
        leadroute_table_unref(t);
    }
    leadroute_table_builder_free(b);
}

/* Property text through the API is checked as a cell's is: at most
 * LEADROUTE_MAX_STRING bytes of UTF-8, or an error that changes nothing. */
static void test_builder_set_text_checked(void **state)
{
    static const char *const bad[] = {
        "o = a, \xC0\x80",     /* an overlong NUL */
        "o = a, \xED\xA0\x80", /* a surrogate */
        "\xFF = a",
    };
    char *long_value = malloc(LEADROUTE_MAX_STRING + 2);
    leadroute_table_builder *b = new_builder();
    leadroute_table *t;
    uint64_t hash;
    size_t i;
    (void)state;
    assert_non_null(long_value);
    ok(leadroute_table_builder_add_input(b, "x", LEADROUTE_TYPE_STRING, 0));
    ok(leadroute_table_builder_add_output(b, "o", LEADROUTE_TYPE_STRING));
    ok(leadroute_table_builder_set(b, "hit_policy", "priority"));
    ok(leadroute_table_builder_set(b, "priority", "o = a, b"));
    t = build(b);
    hash = leadroute_table_hash(t);
    leadroute_table_unref(t);
    for (i = 0; i < sizeof bad / sizeof *bad; i++) {
        leadroute_error_clear();
        assert_int_equal(leadroute_table_builder_set(b, "priority", bad[i]), LEADROUTE_EPARSE);
        assert_string_equal(leadroute_error_last()->message,
                            "a table property value must be at most 4096 bytes of UTF-8");
        assert_int_equal(leadroute_table_builder_set(b, "name", bad[i]), LEADROUTE_EPARSE);
    }
    memset(long_value, 'a', LEADROUTE_MAX_STRING + 1);
    memcpy(long_value, "o = ", 4);
    long_value[LEADROUTE_MAX_STRING + 1] = 0;
    assert_int_equal(leadroute_table_builder_set(b, "priority", long_value), LEADROUTE_EPARSE);
    assert_int_equal(leadroute_table_builder_set(b, "\xC0\x80", "x"), LEADROUTE_EINVAL);
    /* nothing was kept: the table is the one built before */
    t = build(b);
    assert_true(leadroute_table_hash(t) == hash);
    leadroute_table_unref(t);
    /* the longest value is fine */
    long_value[LEADROUTE_MAX_STRING] = 0;
    memcpy(long_value, "p = ", 4);
    ok(leadroute_table_builder_set(b, "priority", long_value));
    leadroute_table_builder_free(b);
    free(long_value);
}

static void test_builder_new_args(void **state)
{
    (void)state;
    leadroute_table_builder *b = NULL;
    assert_int_equal(leadroute_table_builder_new(NULL, NULL), LEADROUTE_EINVAL);
    leadroute_table_options o = LEADROUTE_TABLE_OPTIONS_INIT;
    o.version = 0;
    assert_int_equal(leadroute_table_builder_new(&b, &o), LEADROUTE_EVERSION);
    o.version = 42;
    assert_int_equal(leadroute_table_builder_new(&b, &o), LEADROUTE_EVERSION);
    o.version = LEADROUTE_TABLE_OPTIONS_VERSION;
    ok(leadroute_table_builder_new(&b, &o));
    leadroute_table *t = NULL;
    assert_int_equal(leadroute_table_builder_build(NULL, b), LEADROUTE_EINVAL);
    /* *out is NULL after any error, a NULL argument too */
    t = (leadroute_table *)&o;
    assert_int_equal(leadroute_table_builder_build(&t, NULL), LEADROUTE_EINVAL);
    assert_null(t);
    t = (leadroute_table *)&o;
    assert_int_equal(leadroute_table_load(&t, NULL, NULL), LEADROUTE_EINVAL);
    assert_null(t);
    leadroute_result *r = (leadroute_result *)&o;
    assert_int_equal(leadroute_result_new(&r, NULL, NULL), LEADROUTE_EINVAL);
    assert_null(r);
    leadroute_table_builder_free(b);
    leadroute_table_builder_free(NULL);

    /* a flag this release does not know is refused, not ignored */
    o.flags = 0x80;
    b = (leadroute_table_builder *)&o;
    assert_int_equal(leadroute_table_builder_new(&b, &o), LEADROUTE_EINVAL);
    assert_null(b);
    assert_non_null(strstr(leadroute_error_last()->message, "unknown table option flags 0x80"));
    assert_int_equal(leadroute_table_parse(&t, "a,out:b\n", 8, NULL, &o), LEADROUTE_EINVAL);
    assert_null(t);
    /* loading reports the misuse before it looks for the file */
    t = (leadroute_table *)&o;
    assert_int_equal(leadroute_table_load(&t, "/nonexistent/dir/t.csv", &o), LEADROUTE_EINVAL);
    assert_null(t);
    assert_non_null(strstr(leadroute_error_last()->message, "unknown table option flags 0x80"));
}

/* --- reference counting, observed through a counting allocator ------------- */

typedef struct counter {
    long live;
    long allocs;
} counter;

static void *count_alloc(void *ud, size_t size)
{
    counter *c = ud;
    void *p = malloc(size ? size : 1);
    if (p) {
        c->live++;
        c->allocs++;
    }
    return p;
}

static void count_free(void *ud, void *p)
{
    counter *c = ud;
    if (p) {
        c->live--;
        free(p);
    }
}

static void test_table_ref_unref(void **state)
{
    (void)state;
    counter c = { 0, 0 };
    leadroute_allocator a = LEADROUTE_ALLOCATOR_INIT;
    a.alloc = count_alloc;
    a.free = count_free;
    a.user_data = &c;
    leadroute_table_options o = LEADROUTE_TABLE_OPTIONS_INIT;
    o.allocator = &a;

    leadroute_table_builder *b = NULL;
    ok(leadroute_table_builder_new(&b, &o));
    ok(leadroute_table_builder_add_input(b, "x", LEADROUTE_TYPE_STRING, 0));
    ok(leadroute_table_builder_add_output(b, "o", LEADROUTE_TYPE_STRING));
    const char *i1[] = { "a" }, *o1[] = { "A" };
    ok(add_rule(b, "r1", i1, 1, o1, 1));
    leadroute_table *t = build(b);
    leadroute_table_builder_free(b);
    assert_true(c.allocs > 0);
    long table_live = c.live;
    assert_true(table_live > 0);                    /* the table's memory */

    assert_ptr_equal(leadroute_table_ref(t), t);
    assert_ptr_equal(leadroute_table_ref(t), t);
    leadroute_table_unref(t);
    leadroute_table_unref(t);
    assert_int_equal(c.live, table_live);           /* one reference left */
    tlead l;
    tl_init(&l);
    tl_str(&l, "x", "a");
    assert_string_equal(hits(t, &l), "r1");
    leadroute_table_unref(t);                       /* the last one frees it */
    assert_int_equal(c.live, 0);

    assert_null(leadroute_table_ref(NULL));
    leadroute_table_unref(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builder_matches_csv),
        cmocka_unit_test(test_builder_every_form_matches_csv),
        cmocka_unit_test(test_builder_default_ids),
        cmocka_unit_test(test_builder_errors_name_rule_and_column),
        cmocka_unit_test(test_builder_unchanged_after_failed_rule),
        cmocka_unit_test(test_builder_columns_before_rules),
        cmocka_unit_test(test_builder_column_errors),
        cmocka_unit_test(test_builder_set),
        cmocka_unit_test(test_builder_sum_needs_numbers),
        cmocka_unit_test(test_builder_policy_then_plain),
        cmocka_unit_test(test_builder_set_text_checked),
        cmocka_unit_test(test_builder_new_args),
        cmocka_unit_test(test_table_ref_unref),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
