/* Custom allocators: used, balanced, and failure at every allocation. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "leadroute/leadroute.h"
#include "base/alloc.h"
#include "testutil.h"

typedef struct counter {
    long live;      /* allocations not yet freed */
    long allocs;    /* successful allocations */
    long calls;     /* alloc calls, failed ones included */
    long fail_at;   /* fail the call with this 1-based number; 0 = never */
    long failed;
    long bad_frees; /* free of a pointer we did not hand out (by header) */
    size_t bytes;   /* bytes of the allocations not yet freed */
} counter;

#define MAGIC 0x5eadb0a7c0ffee11ull

/* Each block carries a header so foreign or double frees are caught. */
typedef union header {
    struct { uint64_t magic; size_t size; } h;
    max_align_t align;
} header;

static void *count_alloc(void *ud, size_t size)
{
    counter *c = ud;
    c->calls++;
    if (c->fail_at && c->calls == c->fail_at) {
        c->failed++;
        return NULL;
    }
    header *h = malloc(sizeof(header) + size);
    if (h == NULL)
        return NULL;
    h->h.magic = MAGIC;
    h->h.size = size;
    c->live++;
    c->allocs++;
    c->bytes += size;
    return h + 1;
}

static void count_free(void *ud, void *p)
{
    counter *c = ud;
    if (p == NULL)
        return;
    header *h = (header *)p - 1;
    if (h->h.magic != MAGIC) {
        c->bad_frees++;
        return;
    }
    h->h.magic = 0;
    c->live--;
    c->bytes -= h->h.size;
    free(h);
}

static leadroute_allocator make_alloc(counter *c)
{
    leadroute_allocator a = LEADROUTE_ALLOCATOR_INIT;
    a.alloc = count_alloc;
    a.free = count_free;
    a.user_data = c;
    return a;
}

static const char *TABLE =
    "\xEF\xBB\xBF# small table touching most of the parser\n"
    "#! name: alloc test\n"
    "#! version: 1\n"
    "#! hit_policy: priority\n"
    "#! priority: pool = gold, silver, bronze\n"
    "rule,region:ci,country,postal,employees:number,tags:set,active:bool,out:pool,out:sla:number\n"
    "vip,-,-,-,>= 1000,-,true,gold,5\n"
    "emea,EMEA,\"DE, AT, CH\",-,\"[10..1000)\",\"crm, erp\",-,silver,60\n"
    "west,NA,US,\"94*, starts with \"\"95\"\"\",-,not(hr),-,silver,120\n"
    "nul,null,!= US,-,null,-,false,bronze,\n"
    "all,-,-,-,-,-,-,bronze,1440\n";

static int parse_with(counter *c, leadroute_table **out)
{
    leadroute_allocator a = make_alloc(c);
    leadroute_table_options o = LEADROUTE_TABLE_OPTIONS_INIT;
    o.allocator = &a;
    return leadroute_table_parse(out, TABLE, strlen(TABLE), "alloc.csv", &o);
}

static void test_allocator_is_used_and_balanced(void **state)
{
    (void)state;
    counter c;
    memset(&c, 0, sizeof c);
    leadroute_table *t = NULL;
    assert_int_equal(parse_with(&c, &t), LEADROUTE_OK);
    assert_non_null(t);
    assert_true(c.allocs > 0);
    assert_true(c.live > 0);

    counter rc;
    memset(&rc, 0, sizeof rc);
    leadroute_allocator ra = make_alloc(&rc);
    leadroute_result *r = NULL;
    assert_int_equal(leadroute_result_new(&r, t, &ra), LEADROUTE_OK);
    assert_true(rc.allocs > 0);

    /* Evaluation allocates nothing. */
    long table_allocs = c.allocs, result_allocs = rc.allocs;
    leadroute_field f[4];
    const char *tags[] = { "erp" };
    leadroute_value v = LEADROUTE_VALUE_INIT;
    f[0].name = "region";
    f[0].value = v;
    f[0].value.type = LEADROUTE_VALUE_STRING;
    f[0].value.string = "emea";
    f[1].name = "country";
    f[1].value = v;
    f[1].value.type = LEADROUTE_VALUE_STRING;
    f[1].value.string = "AT";
    f[2].name = "employees";
    f[2].value = v;
    f[2].value.type = LEADROUTE_VALUE_NUMBER;
    f[2].value.number = 50;
    f[3].name = "tags";
    f[3].value = v;
    f[3].value.type = LEADROUTE_VALUE_SET;
    f[3].value.items = tags;
    f[3].value.item_count = 1;
    leadroute_lead l = LEADROUTE_LEAD_INIT;
    l.fields = f;
    l.field_count = 4;
    for (int i = 0; i < 100; i++)
        assert_int_equal(leadroute_table_eval(t, &l, r), LEADROUTE_OK);
    assert_int_equal(leadroute_result_count(r), 1);
    assert_string_equal(leadroute_result_rule_id(r, 0), "emea");
    assert_int_equal(c.allocs, table_allocs);
    assert_int_equal(rc.allocs, result_allocs);

    leadroute_result_free(r);
    assert_int_equal(rc.live, 0);
    leadroute_table_unref(t);
    assert_int_equal(c.live, 0);
    assert_int_equal(c.bad_frees, 0);
    assert_int_equal(rc.bad_frees, 0);
}

static void test_builder_allocator_balanced(void **state)
{
    (void)state;
    counter c;
    memset(&c, 0, sizeof c);
    leadroute_allocator a = make_alloc(&c);
    leadroute_table_options o = LEADROUTE_TABLE_OPTIONS_INIT;
    o.allocator = &a;
    leadroute_table_builder *b = NULL;
    assert_int_equal(leadroute_table_builder_new(&b, &o), LEADROUTE_OK);
    assert_true(c.allocs > 0);
    assert_int_equal(leadroute_table_builder_add_input(b, "x", LEADROUTE_TYPE_NUMBER, 0), LEADROUTE_OK);
    assert_int_equal(leadroute_table_builder_add_output(b, "o", LEADROUTE_TYPE_STRING), LEADROUTE_OK);
    leadroute_rule r = LEADROUTE_RULE_INIT;
    const char *in[] = { "[1..5]" }, *out[] = { "a" };
    r.inputs = in;
    r.input_count = 1;
    r.outputs = out;
    r.output_count = 1;
    assert_int_equal(leadroute_table_builder_add_rule(b, &r), LEADROUTE_OK);
    leadroute_table *t = NULL;
    assert_int_equal(leadroute_table_builder_build(&t, b), LEADROUTE_OK);
    leadroute_table_builder_free(b);
    assert_true(c.live > 0);
    leadroute_table_unref(t);
    assert_int_equal(c.live, 0);
    assert_int_equal(c.bad_frees, 0);
}

static void test_parse_fails_at_every_allocation(void **state)
{
    (void)state;
    counter ref;
    memset(&ref, 0, sizeof ref);
    leadroute_table *t = NULL;
    assert_int_equal(parse_with(&ref, &t), LEADROUTE_OK);
    uint64_t hash = leadroute_table_hash(t);
    leadroute_table_unref(t);
    long n = ref.calls;
    assert_true(n > 0);

    long enomem = 0;
    for (long k = 1; k <= n + 5; k++) {
        counter c;
        memset(&c, 0, sizeof c);
        c.fail_at = k;
        t = (leadroute_table *)&c;
        leadroute_error_clear();
        int rc = parse_with(&c, &t);
        if (rc == LEADROUTE_OK) {
            assert_non_null(t);
            assert_true(leadroute_table_hash(t) == hash);
            leadroute_table_unref(t);
        } else {
            if (rc != LEADROUTE_ENOMEM)
                fail_msg("k=%ld: got %d (%s), want ENOMEM or OK", k, rc, leadroute_error_last()->message);
            assert_null(t);
            assert_int_equal(leadroute_error_last()->code, LEADROUTE_ENOMEM);
            enomem++;
        }
        if (c.live != 0)
            fail_msg("k=%ld (rc %d): %ld allocations leaked", k, rc, c.live);
        assert_int_equal(c.bad_frees, 0);
        if (k > n)
            assert_int_equal(rc, LEADROUTE_OK);
    }
    assert_true(enomem > 0);
}

/* Run a builder sequence where only the k-th allocation fails. A call that
 * fails with ENOMEM must leave things unchanged, so retrying it succeeds. */
static int retry(int rc, int (*again)(void *), void *arg, long *enomem)
{
    if (rc == LEADROUTE_ENOMEM) {
        (*enomem)++;
        rc = again(arg);
    }
    return rc;
}

typedef struct bstep {
    leadroute_table_builder *b;
    leadroute_table **out;
    const leadroute_rule *rule;
    const char *key;
    const char *name;
    uint32_t type;
} bstep;

static int do_input(void *p)
{
    bstep *s = p;
    return leadroute_table_builder_add_input(s->b, s->name, s->type, 0);
}

static int do_output(void *p)
{
    bstep *s = p;
    return leadroute_table_builder_add_output(s->b, s->name, s->type);
}

static int do_rule(void *p)
{
    bstep *s = p;
    return leadroute_table_builder_add_rule(s->b, s->rule);
}

static int do_build(void *p)
{
    bstep *s = p;
    return leadroute_table_builder_build(s->out, s->b);
}

static int do_set(void *p)
{
    bstep *s = p;
    return leadroute_table_builder_set(s->b, s->key, s->name);
}

static uint64_t run_builder(counter *c, long *enomem)
{
    leadroute_allocator a = make_alloc(c);
    leadroute_table_options o = LEADROUTE_TABLE_OPTIONS_INIT;
    o.allocator = &a;
    leadroute_table_builder *b = NULL;
    int rc = leadroute_table_builder_new(&b, &o);
    if (rc == LEADROUTE_ENOMEM) {
        assert_null(b);
        (*enomem)++;
        rc = leadroute_table_builder_new(&b, &o);
    }
    assert_int_equal(rc, LEADROUTE_OK);
    leadroute_table *t = NULL;
    bstep s = { b, &t, NULL, "hit_policy", "priority", 0 };
    assert_int_equal(retry(do_set(&s), do_set, &s, enomem), LEADROUTE_OK);
    s.key = "priority";
    s.name = "pool = gold, silver";
    assert_int_equal(retry(do_set(&s), do_set, &s, enomem), LEADROUTE_OK);
    const char *names[] = { "region", "employees", "tags" };
    const uint32_t types[] = { LEADROUTE_TYPE_STRING, LEADROUTE_TYPE_NUMBER, LEADROUTE_TYPE_SET };
    for (size_t i = 0; i < 3; i++) {
        s.name = names[i];
        s.type = types[i];
        assert_int_equal(retry(do_input(&s), do_input, &s, enomem), LEADROUTE_OK);
    }
    s.name = "pool";
    s.type = LEADROUTE_TYPE_STRING;
    assert_int_equal(retry(do_output(&s), do_output, &s, enomem), LEADROUTE_OK);
    const char *r1[] = { "EMEA, NA", ">= 100", "crm" }, *o1[] = { "gold" };
    const char *r2[] = { "not(APAC)", "[1..5)", "-" }, *o2[] = { "silver" };
    const char *r3[] = { "-", "-", "-" }, *o3[] = { "bronze" };
    const char *const *rin[] = { r1, r2, r3 };
    const char *const *rout[] = { o1, o2, o3 };
    const char *ids[] = { "r1", NULL, "r3" };
    for (size_t i = 0; i < 3; i++) {
        leadroute_rule r = LEADROUTE_RULE_INIT;
        r.id = ids[i];
        r.inputs = rin[i];
        r.input_count = 3;
        r.outputs = rout[i];
        r.output_count = 1;
        s.rule = &r;
        assert_int_equal(retry(do_rule(&s), do_rule, &s, enomem), LEADROUTE_OK);
    }
    rc = do_build(&s);
    if (rc == LEADROUTE_ENOMEM)
        assert_null(t);
    assert_int_equal(retry(rc, do_build, &s, enomem), LEADROUTE_OK);
    leadroute_table_builder_free(b);
    assert_int_equal(leadroute_table_rule_count(t), 3);
    assert_string_equal(leadroute_table_rule_id(t, 1), "2");
    uint64_t h = leadroute_table_hash(t);
    leadroute_table_unref(t);
    return h;
}

static void test_builder_fails_at_every_allocation(void **state)
{
    (void)state;
    counter ref;
    memset(&ref, 0, sizeof ref);
    long enomem = 0;
    uint64_t hash = run_builder(&ref, &enomem);
    assert_int_equal(enomem, 0);
    assert_int_equal(ref.live, 0);
    long n = ref.calls;
    long total = 0;
    for (long k = 1; k <= n + 3; k++) {
        counter c;
        memset(&c, 0, sizeof c);
        c.fail_at = k;
        enomem = 0;
        uint64_t h = run_builder(&c, &enomem);
        assert_true(h == hash);
        if (c.live != 0)
            fail_msg("k=%ld: %ld allocations leaked", k, c.live);
        assert_int_equal(c.bad_frees, 0);
        total += enomem;
    }
    assert_true(total > 0);
}

static void test_result_alloc_failures(void **state)
{
    (void)state;
    leadroute_table *t = NULL;
    assert_int_equal(leadroute_table_parse(&t, TABLE, strlen(TABLE), NULL, NULL), LEADROUTE_OK);
    counter ref;
    memset(&ref, 0, sizeof ref);
    leadroute_allocator a = make_alloc(&ref);
    leadroute_result *r = NULL;
    assert_int_equal(leadroute_result_new(&r, t, &a), LEADROUTE_OK);
    leadroute_result_free(r);
    assert_int_equal(ref.live, 0);
    for (long k = 1; k <= ref.calls; k++) {
        counter c;
        memset(&c, 0, sizeof c);
        c.fail_at = k;
        a = make_alloc(&c);
        r = (leadroute_result *)&c;
        assert_int_equal(leadroute_result_new(&r, t, &a), LEADROUTE_ENOMEM);
        assert_null(r);
        assert_int_equal(c.live, 0);
    }

    /* reserve: on ENOMEM the result is unchanged and still works for the
     * table it already fits. */
    char big[16384];
    size_t k = (size_t)snprintf(big, sizeof big, "#! hit_policy: collect\nrule,x:number,out:o\n");
    for (int i = 0; i < 300; i++)
        k += (size_t)snprintf(big + k, sizeof big - k, "r%d,>= %d,o\n", i, i);
    leadroute_table *tb = NULL;
    assert_int_equal(leadroute_table_parse(&tb, big, k, NULL, NULL), LEADROUTE_OK);
    counter c;
    memset(&c, 0, sizeof c);
    a = make_alloc(&c);
    assert_int_equal(leadroute_result_new(&r, t, &a), LEADROUTE_OK);
    c.fail_at = c.calls + 1;
    int rc = leadroute_result_reserve(r, tb);
    if (rc == LEADROUTE_ENOMEM) {
        leadroute_lead l = LEADROUTE_LEAD_INIT;
        assert_int_equal(leadroute_table_eval(t, &l, r), LEADROUTE_OK);
        assert_string_equal(leadroute_result_rule_id(r, 0), "all");
        assert_int_equal(leadroute_table_eval(tb, &l, r), LEADROUTE_ERANGE);
        assert_int_equal(leadroute_result_reserve(r, tb), LEADROUTE_OK);
    } else {
        assert_int_equal(rc, LEADROUTE_OK);
    }
    leadroute_field f = { "x", LEADROUTE_VALUE_INIT };
    f.value.type = LEADROUTE_VALUE_NUMBER;
    f.value.number = 1000;
    leadroute_lead l = LEADROUTE_LEAD_INIT;
    l.fields = &f;
    l.field_count = 1;
    assert_int_equal(leadroute_table_eval(tb, &l, r), LEADROUTE_OK);
    assert_int_equal(leadroute_result_count(r), 300);
    leadroute_result_free(r);
    assert_int_equal(c.live, 0);
    leadroute_table_unref(tb);
    leadroute_table_unref(t);
}

/* Reserving for a table the result already fits changes nothing: no
 * allocation (so no ENOMEM either), and the last evaluation's hits stay. */
static void test_reserve_when_it_fits(void **state)
{
    (void)state;
    leadroute_table *t = NULL, *small = NULL;
    assert_int_equal(leadroute_table_parse(&t, TABLE, strlen(TABLE), NULL, NULL), LEADROUTE_OK);
    static const char text[] = "rule,x,out:o\nonly,-,o\n";
    assert_int_equal(leadroute_table_parse(&small, text, strlen(text), NULL, NULL), LEADROUTE_OK);
    counter c;
    memset(&c, 0, sizeof c);
    leadroute_allocator a = make_alloc(&c);
    leadroute_result *r = NULL;
    assert_int_equal(leadroute_result_new(&r, t, &a), LEADROUTE_OK);
    leadroute_lead l = LEADROUTE_LEAD_INIT;
    assert_int_equal(leadroute_table_eval(t, &l, r), LEADROUTE_OK);
    long calls = c.calls;
    c.fail_at = calls + 1;
    assert_int_equal(leadroute_result_reserve(r, t), LEADROUTE_OK);
    assert_int_equal(leadroute_result_reserve(r, small), LEADROUTE_OK);
    assert_int_equal(c.calls, calls);
    assert_int_equal(leadroute_result_count(r), 1);
    assert_string_equal(leadroute_result_rule_id(r, 0), "all");
    leadroute_result_free(r);
    assert_int_equal(c.live, 0);
    leadroute_table_unref(small);
    leadroute_table_unref(t);
}

/* The index may take exactly max_memory bytes: a small table, all in the
 * arena's first chunk, under a cap of that chunk passes the index check and
 * is refused by the whole-table one; a byte less and the index is refused. */
static void test_max_memory_index_exactly(void **state)
{
    (void)state;
    static const char text[] = "rule,region,out:o\nr1,EMEA,a\n";
    lr__alloc a;
    lr__arena arena;
    char want[256];
    assert_int_equal(lr__alloc_init(&a, NULL), LEADROUTE_OK);
    lr__arena_init(&arena, &a);
    size_t chunk = lr__arena_cost(&arena, 1);
    leadroute_table_options o = LEADROUTE_TABLE_OPTIONS_INIT;
    o.flags = LEADROUTE_TABLE_NO_LINT;
    leadroute_table *t = NULL;
    assert_int_equal(leadroute_table_parse(&t, text, strlen(text), NULL, &o), LEADROUTE_OK);
    size_t whole = leadroute_table_memory(t);
    leadroute_table_unref(t);
    assert_true(whole > chunk);
    o.max_memory = chunk;
    t = NULL;
    assert_int_equal(leadroute_table_parse(&t, text, strlen(text), NULL, &o), LEADROUTE_ELIMIT);
    assert_null(t);
    snprintf(want, sizeof want,
             "the compiled table needs %zu bytes, more than %zu; raise leadroute_table_options.max_memory or "
             "simplify the table", whole, chunk);
    assert_string_equal(leadroute_error_last()->message, want);
    o.max_memory = chunk - 1;
    assert_int_equal(leadroute_table_parse(&t, text, strlen(text), NULL, &o), LEADROUTE_ELIMIT);
    snprintf(want, sizeof want,
             "the compiled index needs more than %zu bytes (at column 'region'); raise "
             "leadroute_table_options.max_memory or simplify the table", chunk - 1);
    assert_string_equal(leadroute_error_last()->message, want);
}

/* leadroute_table_memory() is every byte the table holds from its
 * allocator: the table itself, its arena and its key maps (text, set and
 * bool columns have a key map of keys and one of prefixes; number columns
 * have none). */
static void test_table_memory_is_what_it_holds(void **state)
{
    (void)state;
    static const char text[] =
        "#! hit_policy: collect\n"
        "rule,region:ci,postal,tags:set,active:bool,score:number,out:pool\n"
        "a,EMEA,\"94*, 95*\",\"crm, erp\",true,>=90,gold\n"
        "b,\"NA, LATAM\",10115,not(hr),-,[50..90),silver\n"
        "c,-,\"1*, 2*, 3*\",-,false,-,bronze\n";
    for (int lint = 0; lint < 2; lint++) {
        counter c;
        memset(&c, 0, sizeof c);
        leadroute_allocator a = make_alloc(&c);
        leadroute_table_options o = LEADROUTE_TABLE_OPTIONS_INIT;
        o.allocator = &a;
        o.flags = lint ? 0 : LEADROUTE_TABLE_NO_LINT;
        leadroute_table *t = NULL;
        assert_int_equal(leadroute_table_parse(&t, text, strlen(text), NULL, &o), LEADROUTE_OK);
        assert_int_equal(leadroute_table_memory(t), c.bytes);
        leadroute_table_unref(t);
        assert_int_equal(c.bytes, 0);
        assert_int_equal(c.live, 0);
    }
}

static void test_max_memory(void **state)
{
    (void)state;
    char big[16384];
    size_t k = (size_t)snprintf(big, sizeof big, "rule,x:number,y,out:o\n");
    for (int i = 0; i < 300; i++)
        k += (size_t)snprintf(big + k, sizeof big - k, "r%d,>= %d,v%d,o\n", i, i, i);
    counter c;
    memset(&c, 0, sizeof c);
    leadroute_allocator a = make_alloc(&c);
    leadroute_table_options o = LEADROUTE_TABLE_OPTIONS_INIT;
    o.allocator = &a;
    o.max_memory = 64;
    leadroute_table *t = (leadroute_table *)&c;
    assert_int_equal(leadroute_table_parse(&t, big, k, NULL, &o), LEADROUTE_ELIMIT);
    assert_null(t);
    /* a cap under 1 MiB is given in bytes, not as "0 MiB" */
    assert_non_null(strstr(leadroute_error_last()->message, "needs more than 64 bytes"));
    assert_int_equal(c.live, 0);
    o.max_memory = 0;   /* the default cap is far away */
    assert_int_equal(leadroute_table_parse(&t, big, k, NULL, &o), LEADROUTE_OK);
    assert_true(leadroute_table_memory(t) > 64);
    leadroute_table_unref(t);
    assert_int_equal(c.live, 0);

    /* the cap is of the whole table: outputs, key maps and lint findings
     * too, not only the index (200 outputs of 4,000 bytes here) */
    size_t cap = 200 * 4100 + 64, n;
    char *text = malloc(cap);
    assert_non_null(text);
    n = (size_t)snprintf(text, cap, "rule,k,out:o\n");
    for (int i = 0; i < 200; i++) {
        n += (size_t)snprintf(text + n, cap - n, "r%d,k%d,%d", i, i, i);
        memset(text + n, 'v', 4000);
        n += 4000;
        text[n++] = '\n';
    }
    o.max_memory = 0;
    assert_int_equal(leadroute_table_parse(&t, text, n, NULL, &o), LEADROUTE_OK);
    size_t whole = leadroute_table_memory(t);
    leadroute_table_unref(t);
    assert_true(whole > 800000);
    for (size_t limit = whole / 8; limit <= whole + 4096; limit += whole / 8) {
        o.max_memory = limit;
        t = NULL;
        int rc = leadroute_table_parse(&t, text, n, NULL, &o);
        if (limit < whole) {
            if (rc != LEADROUTE_ELIMIT)
                fail_msg("a table of %zu bytes under a cap of %zu: %d", whole, limit, rc);
            assert_null(t);
        } else {
            assert_int_equal(rc, LEADROUTE_OK);
            assert_true(leadroute_table_memory(t) <= limit);
            leadroute_table_unref(t);
        }
        assert_int_equal(c.live, 0);
    }
    free(text);

    /* with or without lint, every hit policy keeps to the cap: priority
     * tables hold a rank per rule beside the index */
    static const char *const heads[] = { "#! hit_policy: priority\n#! priority: p = a, b\n",
                                         "#! hit_policy: output order\n#! priority: p = a, b\n",
                                         "#! hit_policy: first\n" };
    for (size_t h = 0; h < sizeof heads / sizeof *heads; h++) {
        n = (size_t)snprintf(text = malloc(cap), cap, "%srule,x:number,out:p\n", heads[h]);
        for (int i = 0; i < 450; i++)
            n += (size_t)snprintf(text + n, cap - n, "r%d,-,%s\n", i, i % 2 ? "a" : "b");
        for (int lint = 0; lint < 2; lint++) {
            o.flags = lint ? 0 : LEADROUTE_TABLE_NO_LINT;
            o.max_memory = 0;
            assert_int_equal(leadroute_table_parse(&t, text, n, NULL, &o), LEADROUTE_OK);
            whole = leadroute_table_memory(t);
            leadroute_table_unref(t);
            o.max_memory = whole - 1;
            if (leadroute_table_parse(&t, text, n, NULL, &o) != LEADROUTE_ELIMIT)
                fail_msg("%s with lint %d: a table of %zu bytes passed a cap of %zu", heads[h], lint, whole,
                         whole - 1);
            assert_null(t);
            o.max_memory = whole;
            assert_int_equal(leadroute_table_parse(&t, text, n, NULL, &o), LEADROUTE_OK);
            leadroute_table_unref(t);
            assert_int_equal(c.live, 0);
        }
        free(text);
    }
    o.flags = 0;
}

static void *refuse_alloc(void *ud, size_t size)
{
    ++*(long *)ud;
    (void)size;
    return NULL;
}

/* The internal allocation helpers keep their promises: an overflowing
 * count is refused before any allocation, a vector past its limit is
 * ELIMIT without asking the allocator, and arena blocks are 8-byte
 * aligned whatever came before them. */
static void test_internal_helpers(void **state)
{
    long asked = 0;
    lr__alloc a;
    lr__arena arena;
    void *v = NULL;
    uint32_t cap = 0;
    (void)state;
    assert_int_equal(lr__alloc_init(&a, NULL), LEADROUTE_OK);
    assert_null(lr__calloc(&a, SIZE_MAX / 2 + 2, 2));
    assert_null(lr__calloc(&a, 2, SIZE_MAX / 2 + 2));
    {
        lr__alloc r = a;
        r.alloc = refuse_alloc;
        r.user_data = &asked;
        assert_int_equal(lr__vec_reserve(&r, &v, &cap, (size_t)1 << 31, 1), LEADROUTE_ELIMIT);
        assert_int_equal(asked, 0);
        assert_int_equal(lr__vec_reserve(&r, &v, &cap, 16, 1), LEADROUTE_ENOMEM);
        assert_int_equal(asked, 1);
        assert_int_equal(cap, 0);
    }
    lr__arena_init(&arena, &a);
    for (size_t n = 1; n < 40; n++) {
        char *s = lr__arena_strndup(&arena, "abcdefghijklmnopqrstuvwxyz0123456789abcdef", n);
        void *p = lr__arena_alloc(&arena, 8);
        assert_non_null(s);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 8, 0);
    }
    lr__arena_free(&arena);
}

static void test_bad_allocators(void **state)
{
    (void)state;
    counter c;
    memset(&c, 0, sizeof c);
    leadroute_allocator a = make_alloc(&c);
    leadroute_table_options o = LEADROUTE_TABLE_OPTIONS_INIT;
    o.allocator = &a;
    leadroute_table *t = NULL;
    a.version = 0;
    assert_int_equal(leadroute_table_parse(&t, TABLE, strlen(TABLE), NULL, &o), LEADROUTE_EVERSION);
    expect_message_has("leadroute_allocator version 0 is not supported (1..");
    a.version = 7;
    assert_int_equal(leadroute_table_parse(&t, TABLE, strlen(TABLE), NULL, &o), LEADROUTE_EVERSION);
    expect_message_has("leadroute_allocator version 7 is not supported (1..");
    a.version = LEADROUTE_ALLOCATOR_VERSION;
    a.free = NULL;          /* both functions are required */
    assert_int_equal(leadroute_table_parse(&t, TABLE, strlen(TABLE), NULL, &o), LEADROUTE_EINVAL);
    assert_int_equal(leadroute_error_last()->code, LEADROUTE_EINVAL);
    expect_message_has("leadroute_allocator needs both alloc and free");
    a.free = count_free;
    a.alloc = NULL;
    assert_int_equal(leadroute_table_parse(&t, TABLE, strlen(TABLE), NULL, &o), LEADROUTE_EINVAL);
    expect_message_has("leadroute_allocator needs both alloc and free");
    leadroute_table_builder *b = NULL;
    assert_int_equal(leadroute_table_builder_new(&b, &o), LEADROUTE_EINVAL);
    assert_int_equal(leadroute_error_last()->code, LEADROUTE_EINVAL);
    expect_message_has("leadroute_allocator needs both alloc and free");
    assert_null(b);
    assert_int_equal(c.calls, 0);
}

/* ---- test added by mutation testing of lib/base/alloc.c ---- */

/* UINT32_MAX / 2 elements is still within the limit: the allocator is
 * asked (and refuses), one more is ELIMIT without asking. */
static void test_vec_reserve_limit_boundary(void **state)
{
    long asked = 0;
    lr__alloc r;
    void *v = NULL;
    uint32_t cap = 0;
    (void)state;
    assert_int_equal(lr__alloc_init(&r, NULL), LEADROUTE_OK);
    r.alloc = refuse_alloc;
    r.user_data = &asked;
    assert_int_equal(lr__vec_reserve(&r, &v, &cap, UINT32_MAX / 2, 1), LEADROUTE_ENOMEM);
    assert_int_equal(asked, 1);
    assert_int_equal(lr__vec_reserve(&r, &v, &cap, (size_t)UINT32_MAX / 2 + 1, 1), LEADROUTE_ELIMIT);
    assert_int_equal(asked, 1);
    assert_int_equal(cap, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allocator_is_used_and_balanced),
        cmocka_unit_test(test_builder_allocator_balanced),
        cmocka_unit_test(test_parse_fails_at_every_allocation),
        cmocka_unit_test(test_builder_fails_at_every_allocation),
        cmocka_unit_test(test_result_alloc_failures),
        cmocka_unit_test(test_reserve_when_it_fits),
        cmocka_unit_test(test_max_memory_index_exactly),
        cmocka_unit_test(test_table_memory_is_what_it_holds),
        cmocka_unit_test(test_max_memory),
        cmocka_unit_test(test_internal_helpers),
        cmocka_unit_test(test_bad_allocators),
        cmocka_unit_test(test_vec_reserve_limit_boundary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
