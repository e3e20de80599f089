/*
 * The bad-input catalogue of docs/robustness.md: every class of bad input a
 * host or a table author can produce that no other unit test covers, with
 * the exact error code and the shape of its message. Host callbacks that
 * return garbage run in a child process, so a crash fails this test instead
 * of ending the suite.
 *
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE 1 /* fork, waitpid */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "leadroute/leadroute.h"
#include "router/memstore.h"

#define NOW_MS INT64_C(1772357400000)

static void ok(int rc)
{
    if (rc != LEADROUTE_OK)
        fail_msg("call failed (%d): %s", rc, leadroute_error_last()->message);
}

/* The call gave `want`, the thread's last error says so, and its message
 * contains `needle`. Prints the message: docs/robustness.md quotes them. */
static void expect_error(const char *what, int got, int want, const char *needle)
{
    const leadroute_error *e = leadroute_error_last();
    if (got != want)
        fail_msg("%s: got %d (%s), want %d: %s", what, got, leadroute_strerror(got), want, e->message);
    if (e->code != want)
        fail_msg("%s: last error %d, want %d", what, e->code, want);
    if (needle && !strstr(e->message, needle))
        fail_msg("%s: message '%s' lacks '%s'", what, e->message, needle);
    print_message("  %-40s %-3d %s\n", what, got, e->message);
}

static const char *const TABLE =
    "rule,kind,score:number,out:pool,out:sla_minutes:number\n"
    "hot,-,>= 50,p,30\n"
    "rest,-,-,p,30\n";

static leadroute_table *table_ok(const char *text)
{
    leadroute_table *t = NULL;
    ok(leadroute_table_parse(&t, text, strlen(text), "t.csv", NULL));
    return t;
}

static leadroute_roster *roster_ok(void)
{
    static const char *const pools[] = { "p" };
    leadroute_rep reps[2] = { LEADROUTE_REP_INIT, LEADROUTE_REP_INIT };
    leadroute_pool pool = LEADROUTE_POOL_INIT;
    leadroute_roster *ro = NULL;
    reps[0].id = "alice";
    reps[0].pools = pools;
    reps[0].pool_count = 1;
    reps[1] = reps[0];
    reps[1].id = "bob";
    pool.id = "p";
    ok(leadroute_roster_new(&ro, reps, 2, &pool, 1, NULL));
    return ro;
}

static int64_t fixed_now(void *ud)
{
    (void)ud;
    return NOW_MS;
}

static leadroute_router *router_ok(void)
{
    leadroute_table *t = table_ok(TABLE);
    leadroute_roster *ro = roster_ok();
    leadroute_router *r = NULL;
    leadroute_clock clk = { LEADROUTE_CLOCK_VERSION, fixed_now };
    ok(leadroute_router_new(&r, t, ro, NULL));
    ok(leadroute_router_set_clock(r, &clk, NULL));
    leadroute_table_unref(t);
    leadroute_roster_unref(ro);
    return r;
}

/* The metrics JSON: what must not move when a call fails (but the error count). */
static void metrics(leadroute_router *r, char *buf, size_t cap)
{
    char *p;
    ok(leadroute_router_metrics_json(r, buf, cap, NULL));
    if ((p = strstr(buf, "\"error\":")) != NULL) {
        char *q = p += 8;
        while (*q >= '0' && *q <= '9')
            q++;
        *p = '#';
        memmove(p + 1, q, strlen(q) + 1);
    }
}

/* ---- tables -------------------------------------------------------------------- */

static int parse_rc(const char *text, size_t n)
{
    leadroute_table *t = (leadroute_table *)&t;
    int rc = leadroute_table_parse(&t, text, n, "t.csv", NULL);
    if (rc != LEADROUTE_OK && t != NULL)
        fail_msg("table parse failed (%d) but gave a table", rc);
    leadroute_table_unref(rc == LEADROUTE_OK ? t : NULL);
    return rc;
}

static void test_empty_inputs(void **state)
{
    leadroute_roster *ro = (leadroute_roster *)&ro;
    leadroute_leads *ls = (leadroute_leads *)&ls;
    (void)state;
    expect_error("empty table text", parse_rc("", 0), LEADROUTE_EPARSE,
                 "t.csv:1:1: no header row: expected a line such as 'rule,region,score:number,out:pool'");
    expect_error("table of comments only", parse_rc("# nothing\n\n", 11), LEADROUTE_EPARSE,
                 "t.csv:2:1: no header row: expected a line such as");
    assert_int_equal(parse_rc("rule,x,out:o\n", 13), LEADROUTE_OK); /* a table without rules is valid */
    expect_error("empty roster text", leadroute_roster_parse(&ro, "", 0, "r.csv", NULL), LEADROUTE_EPARSE,
                 "r.csv:1:1: empty roster: expected a '#! reps' section with a header row");
    assert_null(ro);
    expect_error("empty leads text", leadroute_leads_parse(&ls, "", 0, "l.csv", NULL, NULL), LEADROUTE_EPARSE,
                 "l.csv:1:1: no header row: the file holds no data");
    assert_null(ls);
    expect_error("table file that does not exist",
                 leadroute_table_load((leadroute_table **)&ro, "/nonexistent/t.csv", NULL), LEADROUTE_EIO,
                 "/nonexistent/t.csv: cannot open: ");
}

static void test_gigantic_tables(void **state)
{
    size_t cap = 64 * (LEADROUTE_MAX_COLUMNS + 2) + LEADROUTE_MAX_STRING + 1024, n = 0;
    char *text = malloc(cap);
    int i;
    (void)state;
    assert_non_null(text);
    /* one input column too many */
    n = (size_t)snprintf(text, cap, "rule");
    for (i = 0; i <= LEADROUTE_MAX_COLUMNS; i++)
        n += (size_t)snprintf(text + n, cap - n, ",c%d", i);
    n += (size_t)snprintf(text + n, cap - n, ",out:o\nr");
    for (i = 0; i <= LEADROUTE_MAX_COLUMNS; i++)
        n += (size_t)snprintf(text + n, cap - n, ",-");
    n += (size_t)snprintf(text + n, cap - n, ",x\n");
    expect_error("257 input columns", parse_rc(text, n), LEADROUTE_ELIMIT, "t.csv:1:1176: more than 256 input columns");
    /* a column name longer than LEADROUTE_MAX_NAME */
    n = (size_t)snprintf(text, cap, "rule,");
    memset(text + n, 'n', LEADROUTE_MAX_NAME + 1);
    n += LEADROUTE_MAX_NAME + 1;
    n += (size_t)snprintf(text + n, cap - n, ",out:o\nr,-,x\n");
    expect_error("column name of 257 bytes", parse_rc(text, n), LEADROUTE_EPARSE,
                 "t.csv:1:6: input column name 'nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn...' "
                 "must be 1 to 256 bytes");
    /* a cell longer than LEADROUTE_MAX_STRING */
    n = (size_t)snprintf(text, cap, "rule,x,out:o\nr,");
    memset(text + n, 'v', LEADROUTE_MAX_STRING + 1);
    n += LEADROUTE_MAX_STRING + 1;
    n += (size_t)snprintf(text + n, cap - n, ",x\n");
    expect_error("cell of 4097 bytes", parse_rc(text, n), LEADROUTE_ELIMIT, "t.csv:2:3: field longer than 4096 bytes");
    free(text);
}

static void test_table_text_garbage(void **state)
{
    static const char nul[] = "rule,x,out:o\nr,a\0b,x\n";
    (void)state;
    expect_error("NUL byte inside a table", parse_rc(nul, sizeof nul - 1), LEADROUTE_EPARSE,
                 "t.csv:2:4: NUL byte: the file is not UTF-8 text (a UTF-16 or binary file?)");
    expect_error("invalid UTF-8 in a cell", parse_rc("rule,x,out:o\nr,\xff,x\n", 19), LEADROUTE_EPARSE,
                 "t.csv:2:3: invalid UTF-8: byte 0xFF after '' starts no character (save the file as UTF-8)");
    expect_error("unterminated quote", parse_rc("rule,x,out:o\nr,\"abc,x\n", 22), LEADROUTE_EPARSE,
                 "t.csv:2:3: unterminated quoted field (missing closing '\"')");
    expect_error("NaN bound in a number cell", parse_rc("rule,x:number,out:o\nr,>= nan,x\n", 31),
                 LEADROUTE_EPARSE, "t.csv:2:6: column 'x' (number): cannot read '>= nan': expected a number after '>='");
    expect_error("infinite bound in a number cell", parse_rc("rule,x:number,out:o\nr,< inf,x\n", 30),
                 LEADROUTE_EPARSE, "t.csv:2:5: column 'x' (number): cannot read '< inf': expected a number after '<'");
    expect_error("duplicate rule ids", parse_rc("rule,x,out:o\nr,a,x\nr,b,y\n", 26), LEADROUTE_ETABLE,
                 "t.csv:3:1: duplicate rule id 'r' (first on line 2)");
}

/* A carriage return without a line feed (old Mac line ends), but for the
 * last byte: an error in a table or roster, a skipped row in a leads file. */
static void test_lone_cr_in_files(void **state)
{
    static const char roster[] = "#! reps\nid,pools\nalice,p\nb\rob,p\n#! pools\nid\np\n";
    static const char leads[] = "id,region\nL1,EM\rEA\nL2,NA\n";
    leadroute_roster *ro = (leadroute_roster *)&ro;
    leadroute_leads *ls = NULL;
    (void)state;
    expect_error("lone CR in a table", parse_rc("rule,x,out:o\nr,a\rb,x\n", 22), LEADROUTE_EPARSE,
                 "t.csv:2:4: a carriage return without a line feed: lines end with LF or CRLF");
    expect_error("lone CR in a roster", leadroute_roster_parse(&ro, roster, sizeof roster - 1, "r.csv", NULL),
                 LEADROUTE_EPARSE, "r.csv:4:2: a carriage return without a line feed: lines end with LF or CRLF");
    assert_null(ro);
    {
        /* a CR as the very last byte ends the last line */
        static const char last[] = "#! reps\nid,pools\nalice,p\n#! pools\nid\np\r";
        ok(leadroute_roster_parse(&ro, last, sizeof last - 1, "r.csv", NULL));
        leadroute_roster_unref(ro);
        ro = NULL;
    }
    ok(leadroute_leads_parse(&ls, leads, sizeof leads - 1, "l.csv", NULL, NULL));
    print_message("  %-40s %-3d %s\n", "lone CR in a leads file", 0, leadroute_leads_error(ls, 0));
    assert_int_equal(leadroute_leads_count(ls), 1);
    assert_string_equal(leadroute_leads_get(ls, 0)->id, "L2");
    assert_int_equal(leadroute_leads_error_count(ls), 1);
    assert_int_equal(leadroute_leads_error_line(ls, 0), 2);
    if (!strstr(leadroute_leads_error(ls, 0), "l.csv:2:6: a carriage return without a line feed: lines end with LF"))
        fail_msg("leads error: %s", leadroute_leads_error(ls, 0));
    assert_int_equal(leadroute_error_last()->code, LEADROUTE_EPARSE);
    leadroute_leads_free(ls);
}

/* ---- rosters ------------------------------------------------------------------- */

static void test_fallback_cycles(void **state)
{
    leadroute_pool pools[3] = { LEADROUTE_POOL_INIT, LEADROUTE_POOL_INIT, LEADROUTE_POOL_INIT };
    leadroute_rep rep = LEADROUTE_REP_INIT;
    leadroute_roster *ro = (leadroute_roster *)&ro;
    static const char *const in[] = { "a" };
    static const char text[] = "#! pools\nid,fallback\na,b\nb,a\n#! reps\nid,pools\nx,a\n";
    (void)state;
    rep.id = "x";
    rep.pools = in;
    rep.pool_count = 1;
    pools[0].id = "a";
    pools[0].fallback = "b";
    pools[1].id = "b";
    pools[1].fallback = "c";
    pools[2].id = "c";
    pools[2].fallback = "a";
    expect_error("fallback cycle a -> b -> c -> a", leadroute_roster_new(&ro, &rep, 1, pools, 3, NULL),
                 LEADROUTE_EINVAL, "loops back");
    assert_null(ro);
    pools[0].fallback = "a";
    expect_error("pool that falls back to itself", leadroute_roster_new(&ro, &rep, 1, pools, 1, NULL),
                 LEADROUTE_EINVAL, "loops back");
    expect_error("fallback cycle in a roster file",
                 leadroute_roster_parse(&ro, text, sizeof text - 1, "r.csv", NULL), LEADROUTE_EINVAL, "loops back");
    assert_null(ro);
}

static void test_roster_numbers(void **state)
{
    leadroute_rep rep = LEADROUTE_REP_INIT;
    leadroute_pool pool = LEADROUTE_POOL_INIT;
    leadroute_tier_rule tier = { NAN, 1 };
    leadroute_roster *ro = NULL;
    static const char *const in[] = { "p" };
    (void)state;
    rep.id = "x";
    rep.pools = in;
    rep.pool_count = 1;
    pool.id = "p";
    rep.weight = NAN;
    expect_error("rep weight NaN", leadroute_roster_new(&ro, &rep, 1, &pool, 1, NULL), LEADROUTE_EINVAL,
                 "weight must be a finite number > 0");
    rep.weight = INFINITY;
    expect_error("rep weight infinite", leadroute_roster_new(&ro, &rep, 1, &pool, 1, NULL), LEADROUTE_EINVAL,
                 "weight must be a finite number > 0");
    rep.weight = 1;
    pool.tiers = &tier;
    pool.tier_count = 1;
    expect_error("tier score NaN", leadroute_roster_new(&ro, &rep, 1, &pool, 1, NULL), LEADROUTE_EINVAL,
                 "pool 'p': tier 0 has a score that is not finite");
    tier.min_score = -INFINITY;
    expect_error("tier score -infinity", leadroute_roster_new(&ro, &rep, 1, &pool, 1, NULL), LEADROUTE_EINVAL,
                 "pool 'p': tier 0 has a score that is not finite");
    pool.tiers = NULL;
    pool.tier_count = 0;
    pool.sla_minutes = INFINITY;
    expect_error("pool SLA infinite", leadroute_roster_new(&ro, &rep, 1, &pool, 1, NULL), LEADROUTE_EINVAL,
                 "pool 'p': sla_minutes must be a finite number >= 0");
    pool.sla_minutes = NAN;
    expect_error("pool SLA NaN", leadroute_roster_new(&ro, &rep, 1, &pool, 1, NULL), LEADROUTE_EINVAL,
                 "pool 'p': sla_minutes must be a finite number >= 0");
    pool.sla_minutes = 0;
    pool.strategy = 99;
    expect_error("unknown strategy 99", leadroute_roster_new(&ro, &rep, 1, &pool, 1, NULL), LEADROUTE_EINVAL,
                 "pool 'p': unknown strategy 99");
    assert_null(ro);
}

/* ---- leads handed to the router ------------------------------------------------ */

static void test_route_bad_leads(void **state)
{
    leadroute_router *r = router_ok();
    leadroute_decision *d = NULL;
    leadroute_field f = { "score", LEADROUTE_VALUE_INIT };
    leadroute_lead l = LEADROUTE_LEAD_INIT;
    char before[4096], after[4096];
    char *huge = malloc(LEADROUTE_MAX_STRING + 2);
    (void)state;
    assert_non_null(huge);
    ok(leadroute_decision_new(&d, NULL));
    metrics(r, before, sizeof before);
    l.id = "L1";
    l.fields = &f;
    l.field_count = 1;
    f.value.type = LEADROUTE_VALUE_NUMBER;
    f.value.number = NAN;
    expect_error("lead number NaN", leadroute_route(r, &l, 0, d), LEADROUTE_ELEAD,
                 "lead field 'score': number is NaN, not a finite number");
    assert_int_equal(leadroute_decision_status(d), LEADROUTE_ROUTE_UNROUTED);
    f.value.number = -INFINITY;
    expect_error("lead number -infinity", leadroute_route(r, &l, 0, d), LEADROUTE_ELEAD,
                 "lead field 'score': number is infinite, not a finite number");
    f.value.number = 60;
    f.value.type = 9;
    expect_error("lead value type 9", leadroute_route(r, &l, 0, d), LEADROUTE_ELEAD,
                 "lead field 'score': unknown value type 9");
    f.value.type = LEADROUTE_VALUE_STRING;
    f.value.string = NULL;
    expect_error("lead string NULL", leadroute_route(r, &l, 0, d), LEADROUTE_ELEAD,
                 "lead field 'score': string is NULL");
    f.value.string = "6\xc0\xb0";
    expect_error("lead string overlong UTF-8", leadroute_route(r, &l, 0, d), LEADROUTE_ELEAD,
                 "lead field 'score': string is not valid UTF-8");
    memset(huge, '7', LEADROUTE_MAX_STRING + 1);
    huge[LEADROUTE_MAX_STRING + 1] = 0;
    f.value.string = huge;
    expect_error("lead string of 4097 bytes", leadroute_route(r, &l, 0, d), LEADROUTE_ELEAD,
                 "lead field 'score': string is longer than 4096 bytes");
    f.value.string = "70";
    l.id = "L\xed\xa0\x80";
    expect_error("lead id with a surrogate", leadroute_route(r, &l, 0, d), LEADROUTE_ELEAD,
                 "lead: lead id is not valid UTF-8");
    l.id = huge;
    expect_error("lead id of 4097 bytes", leadroute_route(r, &l, 0, d), LEADROUTE_ELEAD,
                 "lead: lead id is longer than 4096 bytes");
    l.id = NULL;
    expect_error("lead without id or dedupe key", leadroute_route(r, &l, 0, d), LEADROUTE_ELEAD,
                 "lead has no id: it is needed to route the lead only once");
    l.id = "   ";
    expect_error("lead id of blanks", leadroute_route(r, &l, 0, d), LEADROUTE_ELEAD,
                 "lead has no id: it is needed to route the lead only once");
    l.id = "L1";
    l.version = 0;
    expect_error("lead version 0", leadroute_route(r, &l, 0, d), LEADROUTE_EVERSION,
                 "leadroute_lead version 0 is not supported (1..");
    l.version = LEADROUTE_LEAD_VERSION + 1;
    expect_error("lead version from the future", leadroute_route(r, &l, 0, d), LEADROUTE_EVERSION,
                 "is not supported (1..");
    l.version = LEADROUTE_LEAD_VERSION;
    l.fields = NULL;
    expect_error("lead fields NULL with a count", leadroute_route(r, &l, 0, d), LEADROUTE_EINVAL,
                 "lead has 1 fields but fields is NULL");
    l.fields = &f;
    expect_error("unknown route flag", leadroute_route(r, &l, 0x80, d), LEADROUTE_EINVAL, "unknown route flags 0x80");
    /* fresh decisions (status none), so that the UNROUTED status is the failed call's */
    {
        leadroute_decision *d2 = NULL;
        ok(leadroute_decision_new(&d2, NULL));
        assert_int_not_equal(leadroute_decision_status(d2), LEADROUTE_ROUTE_UNROUTED);
        expect_error("NULL lead", leadroute_route(r, NULL, 0, d2), LEADROUTE_EINVAL,
                     "router and lead must not be NULL");
        assert_int_equal(leadroute_decision_status(d2), LEADROUTE_ROUTE_UNROUTED);
        leadroute_decision_free(d2);
        d2 = NULL;
        ok(leadroute_decision_new(&d2, NULL));
        expect_error("NULL router", leadroute_route(NULL, &l, 0, d2), LEADROUTE_EINVAL,
                     "router and lead must not be NULL");
        assert_int_equal(leadroute_decision_status(d2), LEADROUTE_ROUTE_UNROUTED);
        leadroute_decision_free(d2);
    }
    expect_error("NULL decision", leadroute_route(r, &l, 0, NULL), LEADROUTE_EINVAL, "decision must not be NULL");
    /* nothing moved but the error count */
    metrics(r, after, sizeof after);
    assert_string_equal(before, after);
    ok(leadroute_route(r, &l, 0, d));
    assert_string_equal(leadroute_decision_rep(d), "alice");
    free(huge);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

static void test_router_api_misuse(void **state)
{
    leadroute_router *r = router_ok();
    leadroute_table *t = table_ok(TABLE);
    leadroute_router *out = (leadroute_router *)&out;
    leadroute_router_options o = LEADROUTE_ROUTER_OPTIONS_INIT;
    leadroute_store st;
    leadroute_tick_stats ts = LEADROUTE_TICK_STATS_INIT;
    leadroute_latency_stats ls = LEADROUTE_LATENCY_STATS_INIT;
    char key[8], rep[8];
    (void)state;
    expect_error("router_new with NULL roster", leadroute_router_new(&out, t, NULL, NULL), LEADROUTE_EINVAL,
                 NULL);
    assert_null(out);
    o.version = 0;
    {
        leadroute_roster *ro = roster_ok();
        expect_error("router options version 0", leadroute_router_new(&out, t, ro, &o), LEADROUTE_EVERSION,
                     "version");
        assert_null(out);
        leadroute_roster_unref(ro);
    }
    memcpy(&st, &lr__memstore_methods, sizeof st);
    st.commit = NULL;
    expect_error("store without commit", leadroute_router_set_store(r, &st, NULL), LEADROUTE_EINVAL,
                 "a version 1 store needs every method");
    st.commit = lr__memstore_methods.commit;
    st.version = 2;
    expect_error("store version 2", leadroute_router_set_store(r, &st, NULL), LEADROUTE_EVERSION,
                 "store version 2 is not supported (1..");
    expect_error("set_table NULL", leadroute_router_set_table(r, NULL), LEADROUTE_EINVAL, NULL);
    expect_error("set_roster NULL", leadroute_router_set_roster(r, NULL), LEADROUTE_EINVAL, NULL);
    expect_error("acknowledge NULL key", leadroute_router_acknowledge(r, NULL), LEADROUTE_EINVAL,
                 "router and key must not be NULL");
    expect_error("acknowledge empty key", leadroute_router_acknowledge(r, ""), LEADROUTE_EINVAL, "key is empty");
    expect_error("acknowledge blank key", leadroute_router_acknowledge(r, "  "), LEADROUTE_EINVAL, "key is empty");
    expect_error("acknowledge unknown key", leadroute_router_acknowledge(r, "nobody"), LEADROUTE_ENOTFOUND,
                 "no lead is claimed under key 'nobody'");
    expect_error("close unknown key", leadroute_router_close(r, "nobody"), LEADROUTE_ENOTFOUND,
                 "no lead is claimed under key 'nobody'");
    expect_error("close NULL key", leadroute_router_close(r, NULL), LEADROUTE_EINVAL,
                 "router and key must not be NULL");
    expect_error("close empty key", leadroute_router_close(r, ""), LEADROUTE_EINVAL, "key is empty");
    /* malformed keys: not UTF-8, or longer than LEADROUTE_MAX_STRING */
    expect_error("acknowledge key not UTF-8", leadroute_router_acknowledge(r, "L\xff"), LEADROUTE_EINVAL,
                 "key must be 1..4096 bytes of UTF-8");
    expect_error("close key with a surrogate", leadroute_router_close(r, "L\xed\xa0\x80"), LEADROUTE_EINVAL,
                 "key must be 1..4096 bytes of UTF-8");
    {
        char *huge = malloc(LEADROUTE_MAX_STRING + 2);
        assert_non_null(huge);
        memset(huge, 'k', LEADROUTE_MAX_STRING + 1);
        huge[LEADROUTE_MAX_STRING + 1] = 0;
        expect_error("acknowledge key of 4097 bytes", leadroute_router_acknowledge(r, huge), LEADROUTE_EINVAL,
                     "key must be 1..4096 bytes of UTF-8");
        expect_error("close key of 4097 bytes", leadroute_router_close(r, huge), LEADROUTE_EINVAL,
                     "key must be 1..4096 bytes of UTF-8");
        free(huge);
    }
    ts.version = 0;
    expect_error("tick stats version 0", leadroute_router_tick(r, NOW_MS, NULL, NULL, &ts), LEADROUTE_EVERSION,
                 "version");
    expect_error("tick NULL router", leadroute_router_tick(NULL, NOW_MS, NULL, NULL, NULL), LEADROUTE_EINVAL,
                 NULL);
    ls.version = 9;
    expect_error("latency stats version 9",
                 leadroute_router_latency(r, NULL, NULL, LEADROUTE_LATENCY_CAPTURE_TO_ASSIGN, &ls),
                 LEADROUTE_EVERSION, NULL);
    ls.version = LEADROUTE_LATENCY_STATS_VERSION;
    expect_error("latency of unknown rep", leadroute_router_latency(r, "zed", NULL, 0, &ls), LEADROUTE_ENOTFOUND,
                 NULL);
    expect_error("latency measure 7", leadroute_router_latency(r, NULL, NULL, 7, &ls), LEADROUTE_EINVAL,
                 "router and stats must not be NULL, which must be a leadroute_latency, ");
    expect_error("pending index out of range", leadroute_router_pending(r, 0, key, sizeof key, rep, sizeof rep),
                 LEADROUTE_ERANGE, "pending notification 0 of 0");
    expect_error("explain NULL decision", leadroute_decision_explain(NULL, 3, NULL, 0, NULL), LEADROUTE_EINVAL,
                 "decision must not be NULL");
    {
        /* an unknown format, asked of a real decision (a routed lead) */
        leadroute_decision *d = NULL;
        leadroute_lead l = LEADROUTE_LEAD_INIT;
        char text[256];
        size_t needed = 99;
        ok(leadroute_decision_new(&d, NULL));
        l.id = "L1";
        ok(leadroute_route(r, &l, LEADROUTE_ROUTE_TRACE | LEADROUTE_ROUTE_DRY_RUN, d));
        expect_error("explain format 7", leadroute_decision_explain(d, 7, text, sizeof text, &needed),
                     LEADROUTE_EINVAL, "unknown explain format 7");
        assert_int_equal(needed, 0);
        leadroute_decision_free(d);
    }
    expect_error("metrics NULL router", leadroute_router_metrics_json(NULL, NULL, 0, NULL), LEADROUTE_EINVAL,
                 NULL);
    leadroute_table_unref(t);
    leadroute_router_free(r);
}

/* ---- host callbacks that return garbage ----------------------------------------- */

/* Run `probe` in a child: 0 if it returned normally, else the test fails
 * with the signal that killed it. */
static void in_child(const char *what, void (*probe)(void))
{
    pid_t pid;
    int status = 0;
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* the default actions: a crash must end the child, not resume the test runner */
        signal(SIGSEGV, SIG_DFL);
        signal(SIGBUS, SIG_DFL);
        signal(SIGILL, SIG_DFL);
        signal(SIGFPE, SIG_DFL);
        signal(SIGABRT, SIG_DFL);
        probe();
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status))
        fail_msg("%s: the library crashed (signal %d)", what, WTERMSIG(status));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("%s: the probe failed (status %d)", what, status);
}

/* A store that forwards to the memory store and lies where told. */
typedef struct liar {
    lr__memstore *m;
    int load_calls;
    size_t load_length;        /* != 0: claim this length (1: the buffer's size + 1) */
    const char *holder;        /* != NULL: find_claim says this rep holds every key */
    int hide_claims;           /* find_claim says "not claimed" this many times */
    int fail_find_after_hide;  /* then fails with LEADROUTE_EIO once */
    int due_garbage;           /* list_due hands out: 1 history NULL with a count, 2 a short key,
                                  3 an assignment of version 7, 4 of version 0, 5 a history count
                                  over UINT32_MAX / 8 */
    int fail_commit;           /* commit fails with LEADROUTE_EIO */
    double window_value;
} liar;

static int l_load_pool(void *ud, const char *pool, void *buf, size_t cap, size_t *len, uint64_t *ver)
{
    liar *l = ud;
    if (++l->load_calls > 50)
        return LEADROUTE_EIO;     /* the router would ask forever */
    if (l->load_length) {
        /* 1: always one byte more than the buffer offered */
        *len = l->load_length == 1 ? cap + 1 : l->load_length;
        *ver = 1;
        return LEADROUTE_OK;
    }
    return lr__memstore_methods.load_pool(l->m, pool, buf, cap, len, ver);
}

static int l_find_claim(void *ud, const char *key, char *rep, size_t cap)
{
    liar *l = ud;
    if (l->holder) {
        snprintf(rep, cap, "%s", l->holder);
        return LEADROUTE_OK;
    }
    if (l->hide_claims > 0) {
        l->hide_claims--;
        return LEADROUTE_ENOTFOUND;
    }
    if (l->fail_find_after_hide) {
        l->fail_find_after_hide = 0;
        return LEADROUTE_EIO;
    }
    return lr__memstore_methods.find_claim(l->m, key, rep, cap);
}

static int l_open_count(void *ud, const char *rep, uint32_t *n)
{
    liar *l = ud;
    return lr__memstore_methods.open_count(l->m, rep, n);
}

static int l_commit(void *ud, const leadroute_commit *c, char *owner, size_t cap)
{
    liar *l = ud;
    if (l->fail_commit)
        return LEADROUTE_EIO;
    return lr__memstore_methods.commit(l->m, c, owner, cap);
}

static int l_close(void *ud, const char *key)
{
    liar *l = ud;
    return lr__memstore_methods.close(l->m, key);
}

static int l_window(void *ud, const char *rep, const char *pool, int64_t since, uint64_t *count, double *value)
{
    liar *l = ud;
    int rc = lr__memstore_methods.window(l->m, rep, pool, since, count, value);
    if (l->window_value != 0)
        *value = l->window_value;
    return rc;
}

static int l_acknowledge(void *ud, const char *key, int64_t at, int64_t *assigned, char *rep, size_t rep_cap,
                         char *pool, size_t pool_cap)
{
    liar *l = ud;
    return lr__memstore_methods.acknowledge(l->m, key, at, assigned, rep, rep_cap, pool, pool_cap);
}

static int l_list_due(void *ud, int64_t now, int (*each)(void *, const leadroute_assignment *), void *ctx)
{
    liar *l = ud;
    leadroute_assignment a;
    (void)now;
    memset(&a, 0, sizeof a);
    a.version = LEADROUTE_ASSIGNMENT_VERSION;
    a.key = l->due_garbage == 2 ? "x" : "lead:L1";
    a.rep_id = "alice";
    a.pool_id = "p";
    a.rule_id = "rest";
    a.sla_minutes = 30;
    a.deadline_ms = NOW_MS - 1;
    if (l->due_garbage == 1) {
        a.history = NULL;
        a.history_count = 3;
    }
    if (l->due_garbage == 5) {
        static const char *const one[] = { "bob" }; /* the count lies: the router must not read on */
        a.history = one;
        a.history_count = (size_t)UINT32_MAX / 8 + 1;
    }
    if (l->due_garbage == 3 || l->due_garbage == 4)
        a.version = l->due_garbage == 3 ? 7 : 0;
    return each(ctx, &a);
}

static const leadroute_store LIAR = { LEADROUTE_STORE_VERSION, l_load_pool, l_find_claim, l_open_count, l_commit,
                                      l_close, l_window, l_acknowledge, l_list_due };

static liar g_liar;

static leadroute_router *liar_router(void)
{
    leadroute_router *r = router_ok();
    memset(&g_liar, 0, sizeof g_liar);
    ok(lr__memstore_new(&g_liar.m, NULL, NULL, NULL));
    ok(leadroute_router_set_store(r, &LIAR, &g_liar));
    return r;
}

static void liar_free(leadroute_router *r)
{
    leadroute_router_free(r);
    lr__memstore_free(g_liar.m);
}

static void probe_load_pool_length_max(void)
{
    leadroute_router *r = liar_router();
    leadroute_decision *d = NULL;
    leadroute_lead l = LEADROUTE_LEAD_INIT;
    int rc;
    l.id = "L1";
    ok(leadroute_decision_new(&d, NULL));
    g_liar.load_length = SIZE_MAX;
    rc = leadroute_route(r, &l, 0, d);
    print_message("  %-40s %-3d %s (load_pool called %d times)\n", "load_pool length SIZE_MAX", rc,
                  leadroute_error_last()->message, g_liar.load_calls);
    /* at once: no second call with a larger buffer */
    if (rc != LEADROUTE_ECALLBACK || g_liar.load_calls != 1)
        _exit(3);
    {
        char want[128];
        snprintf(want, sizeof want, "store load_pool callback gave an impossible length %zu for pool 'p'", SIZE_MAX);
        if (!strstr(leadroute_error_last()->message, want))
            _exit(5);
    }
    if (leadroute_decision_status(d) != LEADROUTE_ROUTE_UNROUTED)
        _exit(6);
    leadroute_decision_free(d);
    liar_free(r);
}

/* What the headers promise of failed calls: an init function given an
 * unknown version leaves the struct as it was, a getter that fails writes
 * nothing, and a callback setter that refuses its table keeps the old one. */
#define POISON 0xA5
#define EXPECT_UNTOUCHED(what, call, want, obj)                                                     \
    do {                                                                                            \
        unsigned char before_[sizeof(obj)];                                                         \
        memset(&(obj), POISON, sizeof(obj));                                                        \
        memcpy(before_, &(obj), sizeof(obj));                                                       \
        expect_error(what, (call), (want), NULL);                                                   \
        if (memcmp(before_, &(obj), sizeof(obj)) != 0)                                              \
            fail_msg("%s: the struct changed", what);                                               \
    } while (0)

static int notified_count;
static int count_notify(void *ud, const leadroute_assignment *a)
{
    (void)ud;
    (void)a;
    notified_count++;
    return LEADROUTE_OK;
}

static int everyone_away(void *ud, const char *rep, const leadroute_lead *lead, int64_t now, uint32_t *verdict,
                         char *reason, size_t cap)
{
    (void)ud, (void)rep, (void)lead, (void)now;
    *verdict = LEADROUTE_AWAY;
    snprintf(reason, cap, "on holiday");
    return LEADROUTE_OK;
}

static int failing_commit(void *ud, const leadroute_commit *c, char *owner, size_t cap)
{
    (void)ud, (void)c, (void)owner, (void)cap;
    return LEADROUTE_EIO;
}

static void test_failed_calls_change_nothing(void **state)
{
    leadroute_value v;
    leadroute_lead l;
    leadroute_allocator al;
    leadroute_table_options to;
    leadroute_rule ru;
    leadroute_rep rep;
    leadroute_pool pool;
    leadroute_router_options ro;
    leadroute_diagnostic dg;
    uint32_t bad[] = { 0, 1000 };
    size_t i;
    (void)state;

    for (i = 0; i < 2; i++) {
        EXPECT_UNTOUCHED("value_init bad version", leadroute_value_init(&v, bad[i]), LEADROUTE_EVERSION, v);
        EXPECT_UNTOUCHED("lead_init bad version", leadroute_lead_init(&l, bad[i]), LEADROUTE_EVERSION, l);
        EXPECT_UNTOUCHED("allocator_init bad version", leadroute_allocator_init(&al, bad[i]), LEADROUTE_EVERSION,
                         al);
        EXPECT_UNTOUCHED("table_options_init bad version", leadroute_table_options_init(&to, bad[i]),
                         LEADROUTE_EVERSION, to);
        EXPECT_UNTOUCHED("rule_init bad version", leadroute_rule_init(&ru, bad[i]), LEADROUTE_EVERSION, ru);
        EXPECT_UNTOUCHED("rep_init bad version", leadroute_rep_init(&rep, bad[i]), LEADROUTE_EVERSION, rep);
        EXPECT_UNTOUCHED("pool_init bad version", leadroute_pool_init(&pool, bad[i]), LEADROUTE_EVERSION, pool);
        EXPECT_UNTOUCHED("router_options_init bad version", leadroute_router_options_init(&ro, bad[i]),
                         LEADROUTE_EVERSION, ro);
    }

    {
        /* a table with one lint finding: rule b is shadowed by a */
        leadroute_table *t = table_ok("rule,x,out:y\na,-,1\nb,k,2\n");
        leadroute_roster *ros = roster_ok();
        assert_int_equal(leadroute_table_diagnostic_count(t), 1);
        EXPECT_UNTOUCHED("diagnostic bad version", leadroute_table_diagnostic(t, 0, &dg), LEADROUTE_EVERSION, dg);
        memset(&dg, POISON, sizeof dg);
        dg.version = LEADROUTE_DIAGNOSTIC_VERSION;
        {
            leadroute_diagnostic before = dg;
            expect_error("diagnostic out of range", leadroute_table_diagnostic(t, 1, &dg), LEADROUTE_ERANGE, NULL);
            assert_memory_equal(&before, &dg, sizeof dg);
        }
        memset(&rep, POISON, sizeof rep);
        rep.version = LEADROUTE_REP_VERSION;
        {
            leadroute_rep before = rep;
            expect_error("roster_rep out of range", leadroute_roster_rep(ros, 2, &rep), LEADROUTE_ERANGE, NULL);
            assert_memory_equal(&before, &rep, sizeof rep);
        }
        EXPECT_UNTOUCHED("roster_rep bad version", leadroute_roster_rep(ros, 0, &rep), LEADROUTE_EVERSION, rep);
        EXPECT_UNTOUCHED("roster_pool bad version", leadroute_roster_pool(ros, 0, &pool), LEADROUTE_EVERSION, pool);
        memset(&pool, POISON, sizeof pool);
        pool.version = LEADROUTE_POOL_VERSION;
        {
            leadroute_pool before = pool;
            expect_error("roster_pool out of range", leadroute_roster_pool(ros, 1, &pool), LEADROUTE_ERANGE, NULL);
            assert_memory_equal(&before, &pool, sizeof pool);
        }
        leadroute_roster_unref(ros);
        leadroute_table_unref(t);
    }

    {
        /* getters on no decision, and on a decision with one candidate */
        leadroute_router *r = router_ok();
        leadroute_decision *d = NULL;
        leadroute_field f[1] = { { "score", LEADROUTE_VALUE_INIT } };
        leadroute_lead lead = LEADROUTE_LEAD_INIT;
        const char *rep_id = "x", *pool_id = "y", *detail = "z";
        uint32_t verdict = 77;
        leadroute_notify nt = { LEADROUTE_NOTIFY_VERSION, count_notify };
        leadroute_availability av = { LEADROUTE_AVAILABILITY_VERSION, everyone_away };
        leadroute_clock clk = { LEADROUTE_CLOCK_VERSION, fixed_now };
        char text[4096];

        assert_int_equal(leadroute_decision_status(NULL), 0);
        assert_null(leadroute_decision_rep(NULL));
        assert_string_equal(leadroute_decision_reason(NULL), "");
        assert_int_equal(leadroute_decision_notified(NULL), 0);
        assert_int_equal(leadroute_decision_candidate_count(NULL), 0);
        assert_string_equal(leadroute_route_status_name(0), "none");
        assert_string_equal(leadroute_route_status_name(99), "none");
        expect_error("candidate of NULL", leadroute_decision_candidate(NULL, 0, &rep_id, &pool_id, &verdict, &detail),
                     LEADROUTE_EINVAL, NULL);

        ok(leadroute_decision_new(&d, NULL));
        ok(leadroute_router_set_notify(r, &nt, NULL));
        f[0].value.type = LEADROUTE_VALUE_NUMBER;
        f[0].value.number = 60;
        lead.fields = f;
        lead.field_count = 1;
        lead.id = "L1";
        notified_count = 0;
        ok(leadroute_route(r, &lead, 0, d));
        assert_int_equal(leadroute_decision_candidate_count(d), 1);
        expect_error("candidate out of range", leadroute_decision_candidate(d, 1, &rep_id, &pool_id, &verdict, &detail),
                     LEADROUTE_ERANGE, NULL);
        assert_string_equal(rep_id, "x");
        assert_string_equal(pool_id, "y");
        assert_string_equal(detail, "z");
        assert_int_equal(verdict, 77);

        /* refused callback tables keep the ones in place */
        nt.version = 2;
        nt.assigned = NULL; /* were it taken, nobody would be notified */
        expect_error("notify version 2", leadroute_router_set_notify(r, &nt, NULL), LEADROUTE_EVERSION, "version");
        lead.id = "L2";
        ok(leadroute_route(r, &lead, 0, d));
        assert_int_equal(leadroute_decision_status(d), LEADROUTE_ROUTE_ASSIGNED);
        assert_int_equal(notified_count, 2);

        ok(leadroute_router_set_availability(r, &av, NULL));
        av.version = 0;
        av.check = NULL; /* were it taken, everyone would be available */
        expect_error("availability version 0", leadroute_router_set_availability(r, &av, NULL), LEADROUTE_EVERSION,
                     "version");
        lead.id = "L3";
        ok(leadroute_route(r, &lead, 0, d));
        assert_int_not_equal(leadroute_decision_status(d), LEADROUTE_ROUTE_ASSIGNED);

        clk.version = 9;
        clk.now_ms = NULL; /* were it taken, the system clock would tell the time */
        expect_error("clock version 9", leadroute_router_set_clock(r, &clk, NULL), LEADROUTE_EVERSION, "version");
        lead.id = "L4";
        ok(leadroute_route(r, &lead, LEADROUTE_ROUTE_TRACE, d));
        ok(leadroute_decision_explain(d, LEADROUTE_EXPLAIN_TEXT, text, sizeof text, NULL));
        if (!strstr(text, "at 2026-03-01T09:30:00.000Z"))
            fail_msg("the fixed clock is gone:\n%s", text);

        {
            leadroute_store st;
            memcpy(&st, &lr__memstore_methods, sizeof st);
            st.version = 2;
            st.commit = failing_commit; /* were it taken, routing would fail */
            expect_error("store version 2", leadroute_router_set_store(r, &st, NULL), LEADROUTE_EVERSION,
                         "store version 2 is not supported (1..");
            ok(leadroute_router_set_availability(r, NULL, NULL));
            lead.id = "L5";
            ok(leadroute_route(r, &lead, 0, d));
            assert_int_equal(leadroute_decision_status(d), LEADROUTE_ROUTE_ASSIGNED);
            /* refused for a missing method (EINVAL): the same */
            st.version = LEADROUTE_STORE_VERSION;
            st.close = NULL;
            expect_error("store without close", leadroute_router_set_store(r, &st, NULL), LEADROUTE_EINVAL,
                         "a version 1 store needs every method");
            lead.id = "L6";
            ok(leadroute_route(r, &lead, 0, d));
            assert_int_equal(leadroute_decision_status(d), LEADROUTE_ROUTE_ASSIGNED);
        }

        leadroute_decision_free(d);
        leadroute_router_free(r);
    }
}

static void test_load_pool_length_lies(void **state)
{
    leadroute_router *r;
    leadroute_decision *d = NULL;
    leadroute_lead l = LEADROUTE_LEAD_INIT;
    (void)state;
    /* a length larger than any buffer, every time: asked again a few times (a state may grow
     * between two reads when other hosts write it; docs/router.md allows 3 larger buffers), then
     * an error */
    r = liar_router();
    ok(leadroute_decision_new(&d, NULL));
    l.id = "L1";
    g_liar.load_length = 1;
    expect_error("load_pool length grows without end", leadroute_route(r, &l, 0, d), LEADROUTE_ECALLBACK,
                 "store load_pool callback asked for a larger buffer 4 times in a row for pool 'p' (last: ");
    if (g_liar.load_calls != 4)
        fail_msg("load_pool called %d times: a store that keeps asking for more is not believed", g_liar.load_calls);
    leadroute_decision_free(d);
    liar_free(r);
}

static void test_load_pool_length_max(void **state)
{
    (void)state;
    in_child("load_pool length SIZE_MAX", probe_load_pool_length_max);
}

/* Everyone away: the call leaves the lead unassigned. */
static int all_away(void *ud, const char *rep_id, const leadroute_lead *lead, int64_t now_ms, uint32_t *verdict,
                    char *reason, size_t cap)
{
    (void)ud, (void)rep_id, (void)lead, (void)now_ms, (void)reason, (void)cap;
    *verdict = LEADROUTE_AWAY;
    return LEADROUTE_OK;
}

/* A claim made by another call for the same lead while this one walked
 * its pool: this call, which found nobody, reports that claim (existing),
 * not a queue or an unassigned lead for a lead a rep holds. The store
 * hides the claim from the first look, as a call that began first would
 * see it. A failing second look fails the call and writes nothing. */
static void test_claim_made_during_a_call(void **state)
{
    leadroute_router *r = liar_router();
    leadroute_decision *d = NULL;
    leadroute_lead l = LEADROUTE_LEAD_INIT;
    const leadroute_availability away = { LEADROUTE_AVAILABILITY_VERSION, all_away };
    char before[4096], after[4096];
    (void)state;
    ok(leadroute_decision_new(&d, NULL));
    l.id = "L1";
    ok(leadroute_route(r, &l, 0, d));
    assert_int_equal(leadroute_decision_status(d), LEADROUTE_ROUTE_ASSIGNED);
    assert_string_equal(leadroute_decision_rep(d), "alice");
    ok(leadroute_router_set_availability(r, &away, NULL));

    g_liar.hide_claims = 1;
    ok(leadroute_route(r, &l, LEADROUTE_ROUTE_TRACE, d));
    assert_int_equal(leadroute_decision_status(d), LEADROUTE_ROUTE_EXISTING);
    assert_string_equal(leadroute_decision_rep(d), "alice");
    assert_null(leadroute_decision_pool(d));
    assert_int_equal(leadroute_decision_candidate_count(d), 0);
    assert_string_equal(leadroute_decision_reason(d), "already assigned to alice (key L1)");
    assert_int_equal(g_liar.hide_claims, 0);

    /* a new lead, unclaimed: unassigned, as before */
    l.id = "L2";
    ok(leadroute_route(r, &l, 0, d));
    assert_int_equal(leadroute_decision_status(d), LEADROUTE_ROUTE_UNASSIGNED);

    /* the second look fails: an error, and no counter moves */
    metrics(r, before, sizeof before);
    g_liar.hide_claims = 1;
    g_liar.fail_find_after_hide = 1;
    l.id = "L1";
    expect_error("find_claim fails on the second look", leadroute_route(r, &l, 0, d), LEADROUTE_ECALLBACK,
                 "store find_claim callback failed");
    assert_int_equal(leadroute_decision_status(d), LEADROUTE_ROUTE_UNROUTED);
    metrics(r, after, sizeof after);
    assert_string_equal(before, after);
    leadroute_decision_free(d);
    liar_free(r);
}

static void test_find_claim_garbage(void **state)
{
    leadroute_router *r = liar_router();
    leadroute_decision *d = NULL;
    leadroute_lead l = LEADROUTE_LEAD_INIT;
    char before[4096], after[4096];
    (void)state;
    ok(leadroute_decision_new(&d, NULL));
    l.id = "L1";
    metrics(r, before, sizeof before);
    /* a holder that is no rep id at all */
    g_liar.holder = "";
    expect_error("find_claim: OK with an empty holder", leadroute_route(r, &l, 0, d), LEADROUTE_ECALLBACK,
                 "store find_claim callback gave an empty rep id for key 'L1'");
    assert_int_equal(leadroute_decision_status(d), LEADROUTE_ROUTE_UNROUTED);
    metrics(r, after, sizeof after);
    assert_string_equal(before, after);
    /* a holder the roster does not know is another host's rep: it keeps the lead */
    g_liar.holder = "zed";
    ok(leadroute_route(r, &l, 0, d));
    assert_int_equal(leadroute_decision_status(d), LEADROUTE_ROUTE_EXISTING);
    assert_string_equal(leadroute_decision_rep(d), "zed");
    leadroute_decision_free(d);
    liar_free(r);
}

/* In the liar's built-in store: L1 held by alice since an hour ago, due a
 * millisecond ago, as the liar lists it. */
static int liar_claim_overdue_l1(void)
{
    leadroute_assignment a;
    leadroute_commit cm;
    char owner[64];
    memset(&a, 0, sizeof a);
    a.version = LEADROUTE_ASSIGNMENT_VERSION;
    a.key = "lead:L1";
    a.rep_id = "alice";
    a.at_ms = NOW_MS - 60 * 60000;
    a.deadline_ms = NOW_MS - 1;
    memset(&cm, 0, sizeof cm);
    cm.version = LEADROUTE_COMMIT_VERSION;
    cm.assignment = &a;
    return lr__memstore_methods.commit(g_liar.m, &cm, owner, sizeof owner);
}

/* list_due's garbage in `history`: ECALLBACK with `want` in the message, and
 * the tick moves nothing (the lead the liar lists is really held by alice). */
static void probe_due_history(int garbage, const char *what, const char *want)
{
    leadroute_router *r = liar_router();
    leadroute_tick_stats st = LEADROUTE_TICK_STATS_INIT;
    char holder[64], before[4096], after[4096];
    int rc;
    if (liar_claim_overdue_l1() != LEADROUTE_OK)
        _exit(4);
    metrics(r, before, sizeof before);
    g_liar.due_garbage = garbage;
    rc = leadroute_router_tick(r, NOW_MS, NULL, NULL, &st);
    print_message("  %-40s %-3d %s\n", what, rc, leadroute_error_last()->message);
    if (rc != LEADROUTE_ECALLBACK || leadroute_error_last()->code != LEADROUTE_ECALLBACK)
        _exit(3);
    if (!strstr(leadroute_error_last()->message, want)) {
        print_message("  message lacks '%s'\n", want);
        _exit(5);
    }
    if (st.reassigned + st.escalated + st.raced != 0) {
        print_message("  the tick moved a lead\n");
        _exit(6);
    }
    if (lr__memstore_methods.find_claim(g_liar.m, "lead:L1", holder, sizeof holder) != LEADROUTE_OK ||
        strcmp(holder, "alice") != 0) {
        print_message("  lead:L1 is no longer alice's\n");
        _exit(7);
    }
    metrics(r, after, sizeof after);
    if (strcmp(before, after) != 0) {
        print_message("  the metrics moved:\n%s\n%s\n", before, after);
        _exit(8);
    }
    liar_free(r);
}

static void probe_due_history_null(void)
{
    probe_due_history(1, "list_due history NULL, count 3",
                      "store list_due callback gave 3 history entries and history NULL for key 'lead:L1'");
}

static void probe_due_history_too_long(void)
{
    char want[128];
    snprintf(want, sizeof want, "store list_due callback gave %zu history entries for key 'lead:L1'",
             (size_t)UINT32_MAX / 8 + 1);
    probe_due_history(5, "list_due history count over UINT32_MAX/8", want);
}

static void probe_due_short_key(void)
{
    leadroute_router *r = liar_router();
    leadroute_tick_stats st = LEADROUTE_TICK_STATS_INIT;
    int rc;
    g_liar.due_garbage = 2;
    rc = leadroute_router_tick(r, NOW_MS, NULL, NULL, &st);
    print_message("  %-40s %-3d kept %llu\n", "list_due key 'x' (no lead: prefix)", rc,
                  (unsigned long long)st.kept);
    if (rc != LEADROUTE_OK || st.kept != 1)
        _exit(3);
    liar_free(r);
}

static void test_list_due_history_garbage(void **state)
{
    (void)state;
    in_child("list_due history NULL with a count", probe_due_history_null);
    in_child("list_due history count over UINT32_MAX / 8", probe_due_history_too_long);
}

static int count_listed(void *ctx, const leadroute_assignment *a)
{
    (void)a;
    ++*(int *)ctx;
    return 0;
}

/* An assignment of a struct version the library does not know is the
 * store's garbage: the tick moves nothing, and leadroute_router_list_due()
 * hands it to nobody. */
static void test_list_due_version_garbage(void **state)
{
    static const char *const want[] = { "version 7 (1..", "version 0 (1.." };
    (void)state;
    for (int k = 0; k < 2; k++) {
        leadroute_router *r = liar_router();
        leadroute_tick_stats st = LEADROUTE_TICK_STATS_INIT;
        int listed = 0;
        g_liar.due_garbage = 3 + k;
        assert_int_equal(leadroute_router_tick(r, NOW_MS, NULL, NULL, &st), LEADROUTE_ECALLBACK);
        print_message("  %-40s %s\n", "list_due assignment version", leadroute_error_last()->message);
        assert_non_null(strstr(leadroute_error_last()->message, want[k]));
        assert_int_equal(st.reassigned + st.escalated, 0);
        assert_int_equal(leadroute_router_list_due(r, NOW_MS, count_listed, &listed), LEADROUTE_ECALLBACK);
        assert_non_null(strstr(leadroute_error_last()->message, want[k]));
        assert_int_equal(listed, 0);
        liar_free(r);
    }
}

static void test_list_due_short_key(void **state)
{
    (void)state;
    in_child("list_due key without the lead: prefix", probe_due_short_key);
}

/* A move that fails does not fail the tick (the other leads still move): the
 * lead stays, counted as kept, and the metrics count the failed move. */
static void test_tick_move_fails(void **state)
{
    leadroute_router *r = liar_router();
    leadroute_tick_stats st = LEADROUTE_TICK_STATS_INIT;
    char json[4096];
    unsigned long long failed = 99;
    const char *p;
    (void)state;
    /* the lead the liar lists as due is really held by alice: a tick's
     * move of a lead nobody holds would be moot (closed meanwhile) */
    ok(liar_claim_overdue_l1());
    g_liar.fail_commit = 1;
    ok(leadroute_router_tick(r, NOW_MS, NULL, NULL, &st));
    assert_int_equal(st.due, 1);
    assert_int_equal(st.kept, 1);
    assert_int_equal(st.reassigned + st.escalated + st.raced, 0);
    ok(leadroute_router_metrics_json(r, json, sizeof json, NULL));
    p = strstr(json, "\"failed_moves\":");
    assert_non_null(p);
    assert_int_equal(sscanf(p, "\"failed_moves\":%llu", &failed), 1);
    assert_int_equal(failed, 1);
    print_message("  %-40s %-3d kept %llu, failed_moves %llu\n", "tick whose commit fails", 0,
                  (unsigned long long)st.kept, failed);
    /* the store works again: the next tick moves it, and the count stays */
    g_liar.fail_commit = 0;
    ok(leadroute_router_tick(r, NOW_MS, NULL, NULL, &st));
    assert_int_equal(st.reassigned, 1);
    ok(leadroute_router_metrics_json(r, json, sizeof json, NULL));
    assert_non_null(strstr(json, "\"failed_moves\":1}"));
    liar_free(r);
}

static void test_window_garbage(void **state)
{
    leadroute_table *t = table_ok("rule,out:pool\nr,v\n");
    leadroute_rep reps[2] = { LEADROUTE_REP_INIT, LEADROUTE_REP_INIT };
    leadroute_pool pool = LEADROUTE_POOL_INIT;
    leadroute_roster *ro = NULL;
    leadroute_router *r = NULL;
    leadroute_decision *d = NULL;
    leadroute_lead l = LEADROUTE_LEAD_INIT;
    static const char *const in[] = { "v" };
    (void)state;
    reps[0].id = "a";
    reps[0].pools = in;
    reps[0].pool_count = 1;
    reps[1] = reps[0];
    reps[1].id = "b";
    pool.id = "v";
    pool.strategy = LEADROUTE_STRATEGY_VALUE_BALANCED;
    ok(leadroute_roster_new(&ro, reps, 2, &pool, 1, NULL));
    ok(leadroute_router_new(&r, t, ro, NULL));
    memset(&g_liar, 0, sizeof g_liar);
    ok(lr__memstore_new(&g_liar.m, NULL, NULL, NULL));
    ok(leadroute_router_set_store(r, &LIAR, &g_liar));
    ok(leadroute_decision_new(&d, NULL));
    l.id = "L1";
    g_liar.window_value = NAN;
    expect_error("window: value NaN", leadroute_route(r, &l, 0, d), LEADROUTE_ECALLBACK,
                 "store window callback gave value nan for pool 'v'");
    assert_int_equal(leadroute_decision_status(d), LEADROUTE_ROUTE_UNROUTED);
    g_liar.window_value = INFINITY;
    expect_error("window: value infinite", leadroute_route(r, &l, 0, d), LEADROUTE_ECALLBACK,
                 "store window callback gave value inf for pool 'v'");
    assert_int_equal(leadroute_decision_status(d), LEADROUTE_ROUTE_UNROUTED);
    g_liar.window_value = -5;
    expect_error("window: negative value", leadroute_route(r, &l, 0, d), LEADROUTE_ECALLBACK,
                 "store window callback gave value -5 for pool 'v'");
    assert_int_equal(leadroute_decision_status(d), LEADROUTE_ROUTE_UNROUTED);
    /* the store answers again: the lead is assigned */
    g_liar.window_value = 0;
    ok(leadroute_route(r, &l, 0, d));
    assert_int_equal(leadroute_decision_status(d), LEADROUTE_ROUTE_ASSIGNED);
    leadroute_decision_free(d);
    leadroute_router_free(r);
    lr__memstore_free(g_liar.m);
    leadroute_roster_unref(ro);
    leadroute_table_unref(t);
}

/* A notify callback that returns a positive number: a failure like any other. */
static int notify_positive(void *ud, const leadroute_assignment *a)
{
    (void)ud;
    (void)a;
    return 7;
}

static void test_notify_garbage(void **state)
{
    leadroute_router *r = router_ok();
    leadroute_decision *d = NULL;
    leadroute_notify n = { LEADROUTE_NOTIFY_VERSION, notify_positive };
    leadroute_lead l = LEADROUTE_LEAD_INIT;
    (void)state;
    ok(leadroute_router_set_notify(r, &n, NULL));
    ok(leadroute_decision_new(&d, NULL));
    l.id = "L1";
    ok(leadroute_route(r, &l, 0, d));
    assert_int_equal(leadroute_decision_status(d), LEADROUTE_ROUTE_ASSIGNED);
    assert_int_equal(leadroute_decision_notified(d), 0);
    assert_int_equal(leadroute_router_pending_count(r), 1);
    print_message("  %-40s %-3d %s\n", "notify returns 7", 0, leadroute_decision_reason(d));
    n.version = 0;
    expect_error("notify version 0", leadroute_router_set_notify(r, &n, NULL), LEADROUTE_EVERSION, NULL);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_inputs),
        cmocka_unit_test(test_gigantic_tables),
        cmocka_unit_test(test_table_text_garbage),
        cmocka_unit_test(test_lone_cr_in_files),
        cmocka_unit_test(test_fallback_cycles),
        cmocka_unit_test(test_roster_numbers),
        cmocka_unit_test(test_route_bad_leads),
        cmocka_unit_test(test_router_api_misuse),
        cmocka_unit_test(test_failed_calls_change_nothing),
        cmocka_unit_test(test_load_pool_length_lies),
        cmocka_unit_test(test_load_pool_length_max),
        cmocka_unit_test(test_find_claim_garbage),
        cmocka_unit_test(test_claim_made_during_a_call),
        cmocka_unit_test(test_list_due_history_garbage),
        cmocka_unit_test(test_list_due_version_garbage),
        cmocka_unit_test(test_list_due_short_key),
        cmocka_unit_test(test_tick_move_fails),
        cmocka_unit_test(test_window_garbage),
        cmocka_unit_test(test_notify_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
