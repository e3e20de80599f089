/* Evaluation: argument checks, field lookup, and many threads on one table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <pthread.h>
#include <cmocka.h>

#include "leadroute/leadroute.h"
#include "testutil.h"

#define COLLECT_TABLE \
    "#! hit_policy: collect\n" \
    "#! aggregation: sum\n" \
    "rule,region:ci,employees:number,tags:set,out:points:number\n" \
    "a,EMEA,-,-,10\n" \
    "b,-,>= 100,-,5\n" \
    "c,\"NA, APAC\",[10..500),crm,3\n" \
    "d,not(EMEA),-,not(erp),1\n" \
    "e,-,null,-,100\n"

/* --- a deterministic family of leads --------------------------------------- */

#define NLEADS 2000
static const char *regions[] = { "EMEA", "emea", "NA", "APAC", "LATAM", "" };
static const char *countries[] = { "DE", "AT", "CH", "US", "FR", "" };
static const char *postals[] = { "94107", "95014", "98101", "10001", "80331" };
static const char *industries[] = { "software", "fintech", "retail" };
static const char *langs[] = { "de", "en", "fr" };
static const char *tagsets[][2] = { { "crm", "erp" }, { "hr", "bi" }, { "erp", "x" }, { "crm", "hr" } };

typedef struct glead {
    tlead l;
} glead;

static uint32_t next_rand(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*s >> 33);
}

static glead *make_leads(void)
{
    glead *g = calloc(NLEADS, sizeof *g);
    assert_non_null(g);
    uint64_t s = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < NLEADS; i++) {
        tlead *l = &g[i].l;
        tl_init(l);
        /* Each field is present three times out of four, in a varying order. */
        uint32_t order = next_rand(&s) % 3;
        if (order == 0 && next_rand(&s) % 4)
            tl_num(l, "score", (double)(next_rand(&s) % 120));
        if (next_rand(&s) % 4)
            tl_str(l, "region", regions[next_rand(&s) % 6]);
        if (next_rand(&s) % 4)
            tl_str(l, "country", countries[next_rand(&s) % 6]);
        if (order == 1 && next_rand(&s) % 4)
            tl_num(l, "score", (double)(next_rand(&s) % 120));
        if (next_rand(&s) % 4)
            tl_num(l, "employees", (double)(next_rand(&s) % 2000));
        if (next_rand(&s) % 4)
            tl_str(l, "postal", postals[next_rand(&s) % 5]);
        if (next_rand(&s) % 4)
            tl_str(l, "industry", industries[next_rand(&s) % 3]);
        if (next_rand(&s) % 4)
            tl_str(l, "language", langs[next_rand(&s) % 3]);
        if (next_rand(&s) % 2)
            tl_set(l, "tags", tagsets[next_rand(&s) % 4], 1 + next_rand(&s) % 2);
        if (order == 2 && next_rand(&s) % 4)
            tl_num(l, "score", (double)(next_rand(&s) % 120));
        if (next_rand(&s) % 2)
            tl_str(l, "unread_field", "ignored");
    }
    return g;
}

/* A compact answer: status, hit ids, outputs and aggregates. */
static void describe(const leadroute_table *t, leadroute_result *r, int rc, char *out, size_t cap)
{
    size_t k = (size_t)snprintf(out, cap, "%d:", rc);
    for (size_t i = 0; i < leadroute_result_count(r); i++) {
        k += (size_t)snprintf(out + k, cap - k, "%s", leadroute_result_rule_id(r, i));
        for (size_t o = 0; o < leadroute_table_output_count(t); o++) {
            const leadroute_value *v = leadroute_result_output(r, i, o);
            if (v->type == LEADROUTE_VALUE_STRING)
                k += (size_t)snprintf(out + k, cap - k, "|%s", v->string);
            else if (v->type == LEADROUTE_VALUE_NUMBER)
                k += (size_t)snprintf(out + k, cap - k, "|%g", v->number);
            else
                k += (size_t)snprintf(out + k, cap - k, "|~");
        }
        k += (size_t)snprintf(out + k, cap - k, ";");
    }
    for (size_t o = 0; o < leadroute_table_output_count(t); o++) {
        const leadroute_value *v = leadroute_result_aggregate(r, o);
        if (v && v->type == LEADROUTE_VALUE_NUMBER)
            k += (size_t)snprintf(out + k, cap - k, "=%g", v->number);
        else if (v)
            k += (size_t)snprintf(out + k, cap - k, "=~");
    }
}

#define ANS 256
typedef struct job {
    const leadroute_table *t;
    const glead *leads;
    const char (*expect)[ANS];
    int start, step;
    int mismatches;
    int errors;
} job;

static void *worker(void *arg)
{
    job *j = arg;
    leadroute_result *r = NULL;
    if (leadroute_result_new(&r, j->t, NULL) != LEADROUTE_OK) {
        j->errors++;
        return NULL;
    }
    char got[ANS];
    for (int rep = 0; rep < 5; rep++) {
        /* Each thread walks the leads in its own order. */
        for (int n = 0; n < NLEADS; n++) {
            int i = (j->start + n * j->step) % NLEADS;
            int rc = leadroute_table_eval(j->t, &j->leads[i].l.lead, r);
            describe(j->t, r, rc, got, sizeof got);
            if (strcmp(got, j->expect[i]) != 0)
                j->mismatches++;
        }
    }
    leadroute_result_free(r);
    return NULL;
}

static void run_threads(const char *text, const char *const *must_see, size_t n_must)
{
    leadroute_table *t = parse_ok(text);
    glead *leads = make_leads();
    char (*expect)[ANS] = calloc(NLEADS, sizeof *expect);
    assert_non_null(expect);
    leadroute_result *r = NULL;
    assert_int_equal(leadroute_result_new(&r, t, NULL), LEADROUTE_OK);
    for (int i = 0; i < NLEADS; i++) {
        int rc = leadroute_table_eval(t, &leads[i].l.lead, r);
        assert_int_equal(rc, LEADROUTE_OK);
        describe(t, r, rc, expect[i], ANS);
    }
    leadroute_result_free(r);
    /* The single-threaded run exercises every rule (so the comparison means something). */
    for (size_t m = 0; m < n_must; m++) {
        int seen = 0;
        for (int i = 0; i < NLEADS && !seen; i++)
            seen = strstr(expect[i], must_see[m]) != NULL;
        if (!seen)
            fail_msg("no lead hit '%s'", must_see[m]);
    }

    enum { NT = 4 };
    pthread_t th[NT];
    job jobs[NT];
    const int steps[NT] = { 1, 7, 13, 1999 };   /* all coprime with NLEADS */
    for (int k = 0; k < NT; k++) {
        jobs[k] = (job){ t, leads, (const char (*)[ANS])expect, k * 500, steps[k], 0, 0 };
        assert_int_equal(pthread_create(&th[k], NULL, worker, &jobs[k]), 0);
    }
    for (int k = 0; k < NT; k++) {
        assert_int_equal(pthread_join(th[k], NULL), 0);
        assert_int_equal(jobs[k].errors, 0);
        assert_int_equal(jobs[k].mismatches, 0);
    }
    free(expect);
    free(leads);
    leadroute_table_unref(t);
}

static void test_threads_first(void **state)
{
    (void)state;
    const char *must[] = { "vip|", "ent-emea|", "dach-smb|", "us-west|", "catch-all|" };
    run_threads(DOC_EXAMPLE, must, 5);
}

static void test_threads_collect(void **state)
{
    (void)state;
    const char *must[] = { "a|", "b|", "c|", "d|", "e|" };
    run_threads(COLLECT_TABLE, must, 5);
}

/* Threads holding their own references, dropping them in any order. */
static void *ref_worker(void *arg)
{
    leadroute_table *t = arg;
    tlead l;
    tl_init(&l);
    tl_num(&l, "score", 99);
    leadroute_result *r = NULL;
    if (leadroute_result_new(&r, t, NULL) == LEADROUTE_OK) {
        for (int i = 0; i < 1000; i++)
            (void)leadroute_table_eval(t, &l.lead, r);
        leadroute_result_free(r);
    }
    leadroute_table_unref(t);
    return NULL;
}

static void test_threads_refcount(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok(DOC_EXAMPLE);
    pthread_t th[4];
    for (int k = 0; k < 4; k++)
        assert_int_equal(pthread_create(&th[k], NULL, ref_worker, leadroute_table_ref(t)), 0);
    leadroute_table_unref(t);      /* the threads keep it alive */
    for (int k = 0; k < 4; k++)
        assert_int_equal(pthread_join(th[k], NULL), 0);
}

/* --- arguments -------------------------------------------------------------- */

static void test_eval_bad_args(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok(DOC_EXAMPLE);
    leadroute_result *r = NULL;
    assert_int_equal(leadroute_result_new(&r, t, NULL), LEADROUTE_OK);
    tlead l;
    tl_init(&l);
    tl_str(&l, "region", "EMEA");

    leadroute_error_clear();
    assert_int_equal(leadroute_table_eval(NULL, &l.lead, r), LEADROUTE_EINVAL);
    assert_int_equal(leadroute_error_last()->code, LEADROUTE_EINVAL);
    assert_int_equal(leadroute_table_eval(t, NULL, r), LEADROUTE_EINVAL);
    assert_int_equal(leadroute_table_eval(t, &l.lead, NULL), LEADROUTE_EINVAL);

    l.lead.version = 0;
    leadroute_error_clear();
    assert_int_equal(leadroute_table_eval(t, &l.lead, r), LEADROUTE_EVERSION);
    assert_int_equal(leadroute_error_last()->code, LEADROUTE_EVERSION);
    assert_int_equal(leadroute_result_count(r), 0);
    l.lead.version = 99;
    assert_int_equal(leadroute_table_eval(t, &l.lead, r), LEADROUTE_EVERSION);
    l.lead.version = LEADROUTE_LEAD_VERSION;
    assert_int_equal(leadroute_table_eval(t, &l.lead, r), LEADROUTE_OK);
    assert_string_equal(leadroute_result_rule_id(r, 0), "catch-all");

    /* A bad value version in a field the table reads. */
    l.f[0].value.version = 0;
    assert_int_equal(leadroute_table_eval(t, &l.lead, r), LEADROUTE_EVERSION);
    l.f[0].value.version = LEADROUTE_VALUE_VERSION;

    /* fields NULL with a count. */
    leadroute_lead bad = LEADROUTE_LEAD_INIT;
    bad.field_count = 2;
    assert_int_equal(leadroute_table_eval(t, &bad, r), LEADROUTE_EINVAL);
    /* no fields at all is a valid lead */
    bad.field_count = 0;
    assert_int_equal(leadroute_table_eval(t, &bad, r), LEADROUTE_OK);
    assert_string_equal(leadroute_result_rule_id(r, 0), "catch-all");

    leadroute_result_free(r);
    leadroute_table_unref(t);
}

static void test_duplicate_field_in_lead(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok(DOC_EXAMPLE);
    tlead l;
    tl_init(&l);
    tl_str(&l, "region", "EMEA");
    tl_num(&l, "employees", 5000);
    tl_str(&l, "region", "NA");
    /* validation rejects the twin; evaluation reads the first one (value.h) */
    assert_int_equal(leadroute_lead_validate(&l.lead), LEADROUTE_ELEAD);
    expect_message_has("region");
    assert_string_equal(hits(t, &l), "ent-emea");
    leadroute_table_unref(t);
}

/* Text in a number column: what is not a number, and what is one too
 * large for a double, are told apart. */
static void test_number_text_errors(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok(DOC_EXAMPLE);
    leadroute_result *r = NULL;
    static const struct { const char *text; const char *message; } bad[] = {
        { "1e400", "lead field 'employees': '1e400' is past the range of a double (not a finite number)" },
        { " -1e400 ", "lead field 'employees': '-1e400' is past the range of a double (not a finite number)" },
        { "lots", "lead field 'employees': 'lots' is not a number" },
        { "1e", "lead field 'employees': '1e' is not a number" },
    };
    assert_int_equal(leadroute_result_new(&r, t, NULL), LEADROUTE_OK);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tlead l;
        tl_init(&l);
        tl_str(&l, "region", "EMEA");
        tl_str(&l, "employees", bad[i].text);
        assert_int_equal(leadroute_table_eval(t, &l.lead, r), LEADROUTE_ELEAD);
        assert_string_equal(leadroute_error_last()->message, bad[i].message);
    }
    leadroute_result_free(r);
    leadroute_table_unref(t);
}

/* --- field lookup ------------------------------------------------------------ */

static void test_field_order_and_extras(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok(DOC_EXAMPLE);

    /* The us-west lead in table order, reversed, and shuffled with extras. */
    tlead a;
    tl_init(&a);
    tl_str(&a, "region", "NA");
    tl_str(&a, "country", "US");
    tl_str(&a, "postal", "94107");
    tl_str(&a, "industry", "software");
    tl_num(&a, "employees", 120);
    tl_num(&a, "score", 10);
    tl_str(&a, "language", "en");
    assert_string_equal(hits(t, &a), "us-west");

    tlead b;
    tl_init(&b);
    for (size_t i = a.lead.field_count; i-- > 0;)
        b.f[b.lead.field_count++] = a.f[i];
    assert_string_equal(hits(t, &b), "us-west");

    tlead c;
    tl_init(&c);
    tl_str(&c, "zz_extra", "1");
    tl_num(&c, "employees", 120);
    tl_str(&c, "Region", "EMEA");          /* names match exactly: not region */
    tl_str(&c, "industry", "software");
    tl_num(&c, "a", NAN);                  /* unread, so never checked */
    tl_str(&c, "postal", "94107");
    tl_str(&c, "regio", "EMEA");
    tl_str(&c, "region2", "EMEA");
    tl_str(&c, "country", "US");
    tl_str(&c, "region", "NA");
    tl_str(&c, "", "empty name");
    assert_string_equal(hits(t, &c), "us-west");

    /* Name pointers taken from the table work like any other. */
    tlead d;
    tl_init(&d);
    tl_num(&d, leadroute_table_input_name(t, 5), 95);   /* score */
    assert_string_equal(hits(t, &d), "vip");

    /* Names copied into separate buffers. */
    char n1[16], n2[16];
    strcpy(n1, "score");
    strcpy(n2, "region");
    tlead e;
    tl_init(&e);
    tl_str(&e, n2, "EMEA");
    tl_num(&e, n1, 91);
    assert_string_equal(hits(t, &e), "vip");

    /* A lead whose only fields are unknown sees every column missing. */
    tlead f;
    tl_init(&f);
    tl_str(&f, "foo", "bar");
    tl_num(&f, "baz", 1);
    assert_string_equal(hits(t, &f), "catch-all");
    f.lead.id = NULL;                      /* the id is optional */
    assert_string_equal(hits(t, &f), "catch-all");

    /* A field without a name is no field the table reads, wherever it
     * stands: the us-west lead with one at the front, in the middle, at
     * the end, and in front of fields in another order. Only validation
     * refuses it. */
    for (size_t at = 0; at <= a.lead.field_count; at++) {
        for (int reversed = 0; reversed < 2; reversed++) {
            tlead g;
            tl_init(&g);
            for (size_t i = 0; i <= a.lead.field_count; i++) {
                if (i == at) {
                    tl_str(&g, "x", "nameless");
                    g.f[g.lead.field_count - 1].name = NULL;
                }
                if (i < a.lead.field_count)
                    g.f[g.lead.field_count++] = a.f[reversed ? a.lead.field_count - 1 - i : i];
            }
            assert_string_equal(hits(t, &g), "us-west");
            assert_int_equal(leadroute_lead_validate(&g.lead), LEADROUTE_ELEAD);
            expect_message_has("has no name");
        }
    }

    leadroute_table_unref(t);
}

static void test_many_fields(void **state)
{
    (void)state;
    /* A lead at the field limit with the read field last. */
    leadroute_table *t = parse_ok("rule,needle:number,out:o\nhit,42,x\n");
    size_t n = LEADROUTE_MAX_FIELDS;
    leadroute_field *f = calloc(n, sizeof *f);
    char (*names)[16] = calloc(n, sizeof *names);
    assert_non_null(f);
    assert_non_null(names);
    for (size_t i = 0; i < n; i++) {
        snprintf(names[i], sizeof names[i], "f%zu", i);
        leadroute_value v = LEADROUTE_VALUE_INIT;
        f[i].name = names[i];
        f[i].value = v;
        f[i].value.type = LEADROUTE_VALUE_NUMBER;
        f[i].value.number = (double)i;
    }
    strcpy(names[n - 1], "needle");
    f[n - 1].value.number = 42;
    leadroute_lead l = LEADROUTE_LEAD_INIT;
    l.fields = f;
    l.field_count = n;
    leadroute_result *r = NULL;
    assert_int_equal(leadroute_result_new(&r, t, NULL), LEADROUTE_OK);
    assert_int_equal(leadroute_table_eval(t, &l, r), LEADROUTE_OK);
    assert_int_equal(leadroute_result_count(r), 1);
    f[n - 1].value.number = 41;
    assert_int_equal(leadroute_table_eval(t, &l, r), LEADROUTE_OK);
    assert_int_equal(leadroute_result_count(r), 0);
    leadroute_result_free(r);
    free(f);
    free(names);
    leadroute_table_unref(t);
}

/* The rule a lead with `name` and the one-item set {tag} matches, read
 * through the table's own name pointers (the fast path) or through copies
 * of the names (the general path); SIZE_MAX for none. */
static size_t first_rule(const leadroute_table *t, leadroute_result *r, int own_names, const char *name,
                         const char *tag)
{
    leadroute_field f[2];
    leadroute_lead l = LEADROUTE_LEAD_INIT;
    leadroute_value v = LEADROUTE_VALUE_INIT;
    f[0].name = own_names ? leadroute_table_input_name(t, 0) : "name";
    f[1].name = own_names ? leadroute_table_input_name(t, 1) : "tags";
    f[0].value = v;
    f[0].value.type = LEADROUTE_VALUE_STRING;
    f[0].value.string = name;
    f[1].value = v;
    f[1].value.type = LEADROUTE_VALUE_SET;
    f[1].value.items = tag ? &tag : NULL;
    f[1].value.item_count = tag ? 1 : 0;
    l.fields = f;
    l.field_count = 2;
    assert_int_equal(leadroute_table_eval(t, &l, r), LEADROUTE_OK);
    return leadroute_result_count(r) ? leadroute_result_rule(r, 0) : SIZE_MAX;
}

/* Strings of every length up to 25 bytes, starting at every offset of an
 * aligned word, in heap blocks that end with their NUL: the fast path
 * reads a short string by the aligned words that hold it (which memcheck
 * checks when the suite runs under valgrind), finding its length in the
 * first three, and must find what the general path finds. Rules 0-24 name
 * the first 1-25 letters of the alphabet, 25-49 hold them as set items,
 * 50-53 are the prefixes of 20, 15, 8 and 3 letters (one longer than the
 * fast path's 16-byte keys), 54 takes the rest. */
#define WORDS_MAX 25
#define WORDS_P20 (2 * WORDS_MAX)
#define WORDS_REST (2 * WORDS_MAX + 4)
static void test_string_words(void **state)
{
    (void)state;
    static const char alpha[] = "abcdefghijklmnopqrstuvwxy";
    char text[8192];
    size_t len = (size_t)snprintf(text, sizeof text, "rule,name:ci,tags:set,out:o\n");
    for (int k = 1; k <= WORDS_MAX; k++)
        len += (size_t)snprintf(text + len, sizeof text - len, "k%d,%.*s,-,x\n", k, k, alpha);
    for (int k = 1; k <= WORDS_MAX; k++)
        len += (size_t)snprintf(text + len, sizeof text - len, "s%d,zz,%.*s,x\n", k, k, alpha);
    len += (size_t)snprintf(text + len, sizeof text - len,
                            "p20,abcdefghijklmnopqrst*,-,x\np15,abcdefghijklmno*,-,x\n"
                            "p8,abcdefgh*,-,x\np3,abc*,-,x\nrest,-,-,x\n");
    assert_true(len < sizeof text);
    leadroute_table *t = parse_ok(text);
    leadroute_result *r = NULL;
    assert_int_equal(leadroute_result_new(&r, t, NULL), LEADROUTE_OK);

    for (size_t n = 0; n <= WORDS_MAX; n++) {
        for (size_t off = 0; off < 8; off++) {
            char *block = malloc(off + n + 1);
            assert_non_null(block);
            char *s = block + off;
            size_t want, other;
            /* the first n letters, in upper case for the :ci column */
            for (size_t i = 0; i < n; i++)
                s[i] = (char)(alpha[i] - 'a' + 'A');
            s[n] = '\0';
            want = n ? n - 1 : WORDS_REST; /* empty is missing: only the catch-all accepts it */
            for (int own = 0; own < 2; own++)
                assert_int_equal(first_rule(t, r, own, s, NULL), want);
            /* the same letters as a set item (case-sensitive column) */
            for (size_t i = 0; i < n; i++)
                s[i] = alpha[i];
            for (int own = 0; own < 2; own++)
                assert_int_equal(first_rule(t, r, own, "zz", s), n ? WORDS_MAX - 1 + n : WORDS_REST);
            /* the last letter changed: the longest prefix it still has */
            if (n) {
                s[n - 1] = '#';
                other = n - 1 >= 20 ? WORDS_P20 : n - 1 >= 15 ? WORDS_P20 + 1 : n - 1 >= 8 ? WORDS_P20 + 2
                        : n - 1 >= 3 ? WORDS_P20 + 3 : WORDS_REST;
                for (int own = 0; own < 2; own++) {
                    assert_int_equal(first_rule(t, r, own, s, NULL), other);
                    assert_int_equal(first_rule(t, r, own, "zz", s), WORDS_REST);
                }
            }
            free(block);
        }
    }
    leadroute_result_free(r);
    leadroute_table_unref(t);
}

/* Getters given NULL answer 0, and reserving for another table only grows
 * the result: after a table of fewer rules but more inputs, it still fits
 * the first. */
static void test_null_getters_and_reserve_grows(void **state)
{
    leadroute_table *many = parse_ok("rule,region,out:o\nr1,EMEA,a\nr2,NA,b\nr3,APAC,c\nr4,LATAM,d\n");
    leadroute_table *wide = parse_ok("rule,region,country,out:o\nr1,EMEA,DE,a\n");
    leadroute_result *r = NULL;
    tlead l;
    (void)state;
    assert_true(leadroute_table_hash(NULL) == 0);
    assert_int_equal(leadroute_table_rule_count(NULL), 0);
    assert_int_equal(leadroute_result_new(&r, many, NULL), LEADROUTE_OK);
    assert_int_equal(leadroute_result_reserve(r, wide), LEADROUTE_OK);
    tl_init(&l);
    tl_str(&l, "region", "NA");
    assert_int_equal(leadroute_table_eval(many, &l.lead, r), LEADROUTE_OK);
    assert_string_equal(leadroute_result_rule_id(r, 0), "r2");
    tl_init(&l);
    tl_str(&l, "region", "EMEA");
    tl_str(&l, "country", "DE");
    assert_int_equal(leadroute_table_eval(wide, &l.lead, r), LEADROUTE_OK);
    assert_string_equal(leadroute_result_rule_id(r, 0), "r1");
    leadroute_result_free(r);
    leadroute_table_unref(wide);
    leadroute_table_unref(many);
}

/* Every table and result getter answers NULL, 0 or SIZE_MAX for a NULL
 * object, as the header promises. */
static void test_null_object_getters(void **state)
{
    (void)state;
    assert_null(leadroute_table_name(NULL));
    assert_null(leadroute_table_version(NULL));
    assert_int_equal(leadroute_table_hit_policy(NULL), 0);
    assert_int_equal(leadroute_table_aggregation(NULL), 0);
    assert_int_equal(leadroute_table_memory(NULL), 0);
    assert_int_equal(leadroute_table_input_count(NULL), 0);
    assert_int_equal(leadroute_table_output_count(NULL), 0);
    assert_int_equal(leadroute_table_diagnostic_count(NULL), 0);
    assert_null(leadroute_table_rule_id(NULL, 0));
    assert_int_equal(leadroute_table_rule_line(NULL, 0), 0);
    assert_null(leadroute_table_rule_output(NULL, 0, 0));
    assert_null(leadroute_table_input_name(NULL, 0));
    assert_int_equal(leadroute_table_input_type(NULL, 0), 0);
    assert_null(leadroute_table_output_name(NULL, 0));
    assert_int_equal(leadroute_table_output_type(NULL, 0), 0);
    assert_int_equal(leadroute_result_count(NULL), 0);
    assert_true(leadroute_result_rule(NULL, 0) == SIZE_MAX);
    assert_null(leadroute_result_rule_id(NULL, 0));
    assert_null(leadroute_result_output(NULL, 0, 0));
    assert_null(leadroute_result_aggregate(NULL, 0));
}

/* ---- what the fast path and the hit policies must not let slip ---------------- */

/* a set item blank on one side only is trimmed like one blank on both. */
static void test_set_item_blank_one_side(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok("#! hit_policy: rule order\nrule,tags:set,out:o\na,crm,A\nb,-,B\n");
    static const char *const lead_blank[] = { " crm" };
    static const char *const trail_blank[] = { "crm\t" };
    static const char *const both[] = { " crm\t" };
    tlead l;
    tl_init(&l);
    tl_set(&l, "tags", both, 1);
    assert_string_equal(hits(t, &l), "a,b");
    tl_init(&l);
    tl_set(&l, "tags", lead_blank, 1);
    assert_string_equal(hits(t, &l), "a,b");
    tl_init(&l);
    tl_set(&l, "tags", trail_blank, 1);
    assert_string_equal(hits(t, &l), "a,b");
    leadroute_table_unref(t);
}

/* a string with a leading blank only, under the table's own name
 * pointer (the fast path), is trimmed as under any other name pointer. */
static void test_fast_path_leading_blank(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok("rule,region,out:o\na,EMEA,A\n");
    tlead l;
    tl_init(&l);
    tl_str(&l, leadroute_table_input_name(t, 0), " EMEA");
    assert_string_equal(hits(t, &l), "a");
    tl_init(&l);
    tl_str(&l, "region", " EMEA");
    assert_string_equal(hits(t, &l), "a");
    leadroute_table_unref(t);
}

/* a bad value is refused whether or not the field uses the
 * table's own name pointer. */
static void test_fast_path_checks_values(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok("rule,region,out:o\na,EMEA,A\nb,-,B\n");
    for (int own = 0; own < 2; own++) {
        const char *name = own ? leadroute_table_input_name(t, 0) : "region";
        tlead l;
        /* invalid UTF-8 in a string longer than 16 bytes: a lone 0x80 */
        tl_init(&l);
        tl_str(&l, name, "abcdefghijklmnop\x80q");
        assert_int_equal(eval_rc(t, &l), LEADROUTE_ELEAD);
        /* a value struct of an unknown version */
        tl_init(&l);
        tl_str(&l, name, "EMEA");
        l.f[0].value.version = 0;
        assert_int_equal(eval_rc(t, &l), LEADROUTE_EVERSION);
        l.f[0].value.version = LEADROUTE_VALUE_VERSION + 1;
        assert_int_equal(eval_rc(t, &l), LEADROUTE_EVERSION);
        /* a NULL string */
        tl_init(&l);
        tl_str(&l, name, "EMEA");
        l.f[0].value.string = NULL;
        assert_int_equal(eval_rc(t, &l), LEADROUTE_ELEAD);
    }
    leadroute_table_unref(t);
}

/* a result that served an aggregating table gives no aggregate for
 * a table that does not aggregate. */
static void test_aggregate_not_left_over(void **state)
{
    (void)state;
    leadroute_table *sum = parse_ok("#! hit_policy: C+\nrule,x:number,out:n:number\na,-,5\n");
    leadroute_table *plain = parse_ok("#! hit_policy: collect\nrule,x:number,out:n:number\na,-,5\n");
    leadroute_result *r = NULL;
    tlead l;
    tl_init(&l);
    tl_num(&l, "x", 1);
    assert_int_equal(leadroute_result_new(&r, sum, NULL), LEADROUTE_OK);
    assert_int_equal(leadroute_table_eval(sum, &l.lead, r), LEADROUTE_OK);
    assert_non_null(leadroute_result_aggregate(r, 0));
    assert_int_equal(leadroute_table_eval(plain, &l.lead, r), LEADROUTE_OK);
    assert_int_equal(leadroute_result_count(r), 1);
    assert_null(leadroute_result_aggregate(r, 0));
    /* and an evaluation that fails leaves none either */
    assert_int_equal(leadroute_table_eval(sum, &l.lead, r), LEADROUTE_OK);
    tl_init(&l);
    tl_num(&l, "x", NAN);
    assert_int_equal(leadroute_table_eval(sum, &l.lead, r), LEADROUTE_ELEAD);
    assert_null(leadroute_result_aggregate(r, 0));
    leadroute_result_free(r);
    leadroute_table_unref(sum);
    leadroute_table_unref(plain);
}

/* "A number output of -0 is 0" (docs/table-format.md), also for a
 * rule that wrote 0 after one that wrote -0. */
static void test_negative_zero_output_is_zero(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok("#! hit_policy: rule order\nrule,x:number,out:n:number\nr1,-,-0\nr2,-,0\n");
    leadroute_result *r = NULL;
    tlead l;
    tl_init(&l);
    assert_int_equal(leadroute_result_new(&r, t, NULL), LEADROUTE_OK);
    assert_int_equal(leadroute_table_eval(t, &l.lead, r), LEADROUTE_OK);
    assert_int_equal(leadroute_result_count(r), 2);
    assert_false(signbit(leadroute_result_output(r, 0, 0)->number));
    assert_false(signbit(leadroute_result_output(r, 1, 0)->number));
    assert_false(signbit(leadroute_table_rule_output(t, 1, 0)->number));
    leadroute_result_free(r);
    leadroute_table_unref(t);
}

/* an aggregation needs outputs, and SUM/MIN/MAX number ones. */
static void test_aggregation_checks(void **state)
{
    (void)state;
    assert_int_equal(parse_rc("#! hit_policy: C+\nrule,x\na,-\n"), LEADROUTE_ETABLE);
    assert_int_equal(parse_rc("#! hit_policy: C#\nrule,x\na,-\n"), LEADROUTE_ETABLE);
    assert_int_equal(parse_rc("#! hit_policy: C+\nrule,x,out:b:bool\na,-,true\n"), LEADROUTE_ETABLE);
    assert_int_equal(parse_rc("#! hit_policy: C<\nrule,x,out:b:bool\na,-,true\n"), LEADROUTE_ETABLE);
}

/* the message names the aggregation that needs numbers, and the output. */
static void test_aggregation_messages(void **state)
{
    (void)state;
    static const struct { const char *policy, *name; } aggs[] = {
        { "C+", "sum" }, { "C<", "min" }, { "C>", "max" },
    };
    for (size_t i = 0; i < sizeof aggs / sizeof *aggs; i++) {
        char text[128], want[160];
        snprintf(text, sizeof text, "#! hit_policy: %s\nrule,x,out:b:bool\na,-,true\n", aggs[i].policy);
        assert_int_equal(parse_rc(text), LEADROUTE_ETABLE);
        snprintf(want, sizeof want,
                 "t.csv:1:16: aggregation %s needs number outputs; output 'b' is not a number "
                 "(declare it as out:b:number)", aggs[i].name);
        assert_string_equal(leadroute_error_last()->message, want);
    }
}

/* the hash covers what a table means, and only that. */
static uint64_t hash_of(const char *text)
{
    leadroute_table *t = parse_ok(text);
    uint64_t h = leadroute_table_hash(t);
    leadroute_table_unref(t);
    return h;
}

static void test_hash_meaning(void **state)
{
    (void)state;
    uint64_t base = hash_of("rule,code,out:o\na,42,A\n");
    /* different meaning, different hash */
    assert_true(base != hash_of("rule,code:ci,out:o\na,42,A\n"));        /* column flags */
    assert_true(base != hash_of("rule,code,out:o\na,not(42),A\n"));      /* a negated cell */
    assert_true(base != hash_of("rule,code,out:o\na,42,B\n"));           /* an output value */
    /* the same meaning, the same hash: -0 is 0 */
    assert_true(hash_of("rule,x:number,out:o\na,[-0..5],A\n") == hash_of("rule,x:number,out:o\na,[0..5],A\n"));
}

/* the message of a UNIQUE conflict between exactly two rules. */
static void test_unique_message_two_rules(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok("#! hit_policy: unique\nrule,x:number,out:o\nlo,< 10,L\nmid,[5..20],M\n");
    tlead l;
    tl_init(&l);
    tl_num(&l, "x", 7);
    assert_int_equal(eval_rc(t, &l), LEADROUTE_EHITPOLICY);
    assert_string_equal(leadroute_error_last()->message, "hit policy unique: 2 rules match this lead ('lo' and 'mid')");
    leadroute_table_unref(t);
}

/* the message for a value of the wrong type names the column's type. */
static void test_wrong_type_message(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok("rule,flag:bool,out:o\na,true,A\n");
    tlead l;
    tl_init(&l);
    tl_num(&l, "flag", 1);
    assert_int_equal(eval_rc(t, &l), LEADROUTE_ELEAD);
    expect_message_has("the table reads a bool column, the lead gives a number");
    leadroute_table_unref(t);
}

/* a column of 20,000 keys keeps its outcomes sparse; an outcome that
 * rejects some rules must still filter them, even when the words it
 * changes also hold rules of the column default. */
static void test_sparse_outcome_popcount(void **state)
{
    (void)state;
    enum { N = 20000 };
    size_t cap = (size_t)N * 32 + 128, k;
    char *text = malloc(cap);
    assert_non_null(text);
    k = (size_t)snprintf(text, cap, "#! hit_policy: rule order\nrule,region,out:o\n");
    for (int i = 0; i < N; i++) {
        if (i >= 64 && i < 96)
            k += (size_t)snprintf(text + k, cap - k, "r%d,K,x\n", i);
        else if (i >= 96 && i < 128)
            k += (size_t)snprintf(text + k, cap - k, "r%d,-,x\n", i);
        else if (i >= 128 && i < 160)
            k += (size_t)snprintf(text + k, cap - k, "r%d,L,x\n", i);
        else
            k += (size_t)snprintf(text + k, cap - k, "r%d,not(z%d),x\n", i, i);
    }
    leadroute_table_options o = LEADROUTE_TABLE_OPTIONS_INIT;
    o.flags = LEADROUTE_TABLE_NO_LINT;
    leadroute_table *t = parse_opts(text, &o);
    free(text);
    leadroute_result *r = NULL;
    assert_int_equal(leadroute_result_new(&r, t, NULL), LEADROUTE_OK);
    tlead l;
    tl_init(&l);
    tl_str(&l, "region", "K");
    assert_int_equal(leadroute_table_eval(t, &l.lead, r), LEADROUTE_OK);
    assert_int_equal(leadroute_result_count(r), N - 32);   /* all but the L rules */
    for (size_t i = 0; i < leadroute_result_count(r); i++)
        assert_true(leadroute_result_rule(r, i) < 128 || leadroute_result_rule(r, i) >= 160);
    leadroute_result_free(r);
    leadroute_table_unref(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_first),
        cmocka_unit_test(test_threads_collect),
        cmocka_unit_test(test_threads_refcount),
        cmocka_unit_test(test_eval_bad_args),
        cmocka_unit_test(test_duplicate_field_in_lead),
        cmocka_unit_test(test_number_text_errors),
        cmocka_unit_test(test_field_order_and_extras),
        cmocka_unit_test(test_many_fields),
        cmocka_unit_test(test_string_words),
        cmocka_unit_test(test_null_getters_and_reserve_grows),
        cmocka_unit_test(test_null_object_getters),
        cmocka_unit_test(test_set_item_blank_one_side),
        cmocka_unit_test(test_fast_path_leading_blank),
        cmocka_unit_test(test_fast_path_checks_values),
        cmocka_unit_test(test_aggregate_not_left_over),
        cmocka_unit_test(test_negative_zero_output_is_zero),
        cmocka_unit_test(test_aggregation_checks),
        cmocka_unit_test(test_aggregation_messages),
        cmocka_unit_test(test_hash_meaning),
        cmocka_unit_test(test_unique_message_two_rules),
        cmocka_unit_test(test_wrong_type_message),
        cmocka_unit_test(test_sparse_outcome_popcount),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
