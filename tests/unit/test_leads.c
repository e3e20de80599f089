/* Reading leads from CSV (leadroute_leads_*). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "leadroute/leadroute.h"

#define LIT(s) (s), (sizeof(s) - 1)

/* Counting allocator that can be told to fail after `budget` allocations. */
typedef struct counter {
    long live;
    long calls;
    long budget;   /* < 0: unlimited */
} counter;

static void *count_alloc(void *ud, size_t size)
{
    counter *c = ud;
    if (c->budget >= 0 && c->calls >= c->budget)
        return NULL;
    c->calls++;
    void *p = malloc(size);
    if (p)
        c->live++;
    return p;
}

static void count_free(void *ud, void *ptr)
{
    counter *c = ud;
    if (ptr)
        c->live--;
    free(ptr);
}

static leadroute_allocator make_allocator(counter *c)
{
    leadroute_allocator a = LEADROUTE_ALLOCATOR_INIT;
    a.alloc = count_alloc;
    a.free = count_free;
    a.user_data = c;
    return a;
}

static leadroute_leads *parse_ok(const char *text, size_t len)
{
    leadroute_leads *l = NULL;
    int rc = leadroute_leads_parse(&l, text, len, "leads.csv", NULL, NULL);
    if (rc != LEADROUTE_OK)
        fail_msg("parse failed: %d %s", rc, leadroute_error_last()->message);
    assert_non_null(l);
    return l;
}

static const leadroute_field *field(const leadroute_lead *lead, const char *name)
{
    const leadroute_field *found = NULL;
    for (size_t i = 0; i < lead->field_count; i++) {
        if (strcmp(lead->fields[i].name, name) == 0) {
            assert_null(found);   /* names are unique within a lead */
            found = &lead->fields[i];
        }
    }
    return found;
}

static void assert_string_field(const leadroute_lead *lead, const char *name, const char *want)
{
    const leadroute_field *f = field(lead, name);
    if (!f)
        fail_msg("lead '%s' has no field '%s'", lead->id, name);
    assert_int_equal(f->value.version, LEADROUTE_VALUE_VERSION);
    assert_int_equal(f->value.type, LEADROUTE_VALUE_STRING);
    assert_string_equal(f->value.string, want);
}

static void assert_set_field(const leadroute_lead *lead, const char *name, size_t n, const char *const *want)
{
    const leadroute_field *f = field(lead, name);
    if (!f)
        fail_msg("lead '%s' has no field '%s'", lead->id, name);
    assert_int_equal(f->value.type, LEADROUTE_VALUE_SET);
    assert_int_equal(f->value.item_count, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(f->value.items[i], want[i]);
}

static void test_ids_fields_and_lines(void **state)
{
    (void)state;
    leadroute_leads *l = parse_ok(LIT("region,id,country\n"
                                      "EMEA,L1,DE\n"
                                      "\n"
                                      "  NA , L2 ,\"US\"\n"));
    assert_int_equal(leadroute_leads_count(l), 2);
    assert_int_equal(leadroute_leads_error_count(l), 0);
    const leadroute_lead *a = leadroute_leads_get(l, 0);
    const leadroute_lead *b = leadroute_leads_get(l, 1);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(a->version, LEADROUTE_LEAD_VERSION);
    assert_string_equal(a->id, "L1");
    assert_string_equal(b->id, "L2");
    assert_int_equal(leadroute_leads_line(l, 0), 2);
    assert_int_equal(leadroute_leads_line(l, 1), 4);
    /* every column is a field, the id column too; cells are trimmed */
    assert_int_equal(a->field_count, 3);
    assert_string_field(a, "region", "EMEA");
    assert_string_field(a, "id", "L1");
    assert_string_field(a, "country", "DE");
    assert_string_field(b, "region", "NA");
    assert_string_field(b, "id", "L2");
    assert_int_equal(leadroute_lead_validate(a), LEADROUTE_OK);
    assert_int_equal(leadroute_lead_validate(b), LEADROUTE_OK);
    /* out of range */
    assert_null(leadroute_leads_get(l, 2));
    assert_int_equal(leadroute_leads_line(l, 2), 0);
    assert_null(leadroute_leads_error(l, 0));
    assert_int_equal(leadroute_leads_error_line(l, 0), 0);
    leadroute_leads_free(l);
}

static void test_id_column_choice(void **state)
{
    (void)state;
    /* no id column: the first one */
    leadroute_leads *l = parse_ok(LIT("email,region\na@x.io,EMEA\nb@x.io,NA\n"));
    assert_int_equal(leadroute_leads_count(l), 2);
    assert_string_equal(leadroute_leads_get(l, 0)->id, "a@x.io");
    assert_string_equal(leadroute_leads_get(l, 1)->id, "b@x.io");
    leadroute_leads_free(l);

    /* "ID" in any ASCII case; "idx" is not it */
    l = parse_ok(LIT("idx,Id\n1,A\n2,B\n"));
    assert_string_equal(leadroute_leads_get(l, 0)->id, "A");
    assert_string_equal(leadroute_leads_get(l, 1)->id, "B");
    leadroute_leads_free(l);
}

static void test_missing_fields(void **state)
{
    (void)state;
    leadroute_leads *l = parse_ok(LIT("id,region,score,language\n"
                                      "L1,,90,  \n"
                                      "L2,EMEA,,\"\"\n"));
    const leadroute_lead *a = leadroute_leads_get(l, 0);
    const leadroute_lead *b = leadroute_leads_get(l, 1);
    assert_int_equal(a->field_count, 2);
    assert_null(field(a, "region"));
    assert_null(field(a, "language"));
    /* numbers stay strings: the evaluator converts them */
    assert_string_field(a, "score", "90");
    assert_int_equal(b->field_count, 2);
    assert_string_field(b, "region", "EMEA");
    assert_null(field(b, "score"));
    leadroute_leads_free(l);
}

static void test_set_by_suffix(void **state)
{
    (void)state;
    leadroute_leads *l = parse_ok(LIT("id,products:set,tags\n"
                                      "L1, crm ; ads;;  ,x;y\n"
                                      "L2,; ;,\n"
                                      "L3,solo,\n"));
    const leadroute_lead *a = leadroute_leads_get(l, 0);
    static const char *const want[] = { "crm", "ads" };
    assert_set_field(a, "products", 2, want);
    /* the suffix is not part of the name */
    assert_null(field(a, "products:set"));
    /* other columns keep their ';' */
    assert_string_field(a, "tags", "x;y");
    /* only empty items: the field is missing */
    const leadroute_lead *b = leadroute_leads_get(l, 1);
    assert_int_equal(b->field_count, 1);
    assert_null(field(b, "products"));
    static const char *const one[] = { "solo" };
    assert_set_field(leadroute_leads_get(l, 2), "products", 1, one);
    assert_int_equal(leadroute_lead_validate(a), LEADROUTE_OK);
    leadroute_leads_free(l);
}

static const char TABLE[] = "#! hit_policy: first\n"
                            "rule,region,products:set,score:number,out:pool\n"
                            "crm,EMEA,\"crm, ads\",-,emea-crm\n"
                            "hot,-,-,>= 90,aces\n"
                            "rest,-,-,-,nurture\n";

static leadroute_table *make_table(void)
{
    leadroute_table *t = NULL;
    int rc = leadroute_table_parse(&t, TABLE, sizeof TABLE - 1, "t.csv", NULL);
    if (rc != LEADROUTE_OK)
        fail_msg("table: %s", leadroute_error_last()->message);
    return t;
}

static size_t input_index(const leadroute_table *t, const char *name)
{
    for (size_t i = 0; i < leadroute_table_input_count(t); i++)
        if (strcmp(leadroute_table_input_name(t, i), name) == 0)
            return i;
    fail_msg("no input %s", name);
    return 0;
}

static void test_set_by_table_type(void **state)
{
    (void)state;
    leadroute_table *t = make_table();
    static const char text[] = "id,region,products,score,notes\n"
                               "L1,EMEA,ads; web,10,a;b\n"
                               "L2,NA,crm,95,\n"
                               "L3,EMEA,web,12,\n";
    leadroute_leads *l = NULL;
    assert_int_equal(leadroute_leads_parse(&l, text, sizeof text - 1, "x.csv", t, NULL), LEADROUTE_OK);
    assert_int_equal(leadroute_leads_count(l), 3);
    const leadroute_lead *a = leadroute_leads_get(l, 0);
    static const char *const want[] = { "ads", "web" };
    assert_set_field(a, "products", 2, want);
    assert_string_field(a, "notes", "a;b");
    /* names the table knows are the table's own strings */
    assert_ptr_equal(field(a, "region")->name, leadroute_table_input_name(t, input_index(t, "region")));
    assert_ptr_equal(field(a, "products")->name, leadroute_table_input_name(t, input_index(t, "products")));
    assert_ptr_equal(field(a, "score")->name, leadroute_table_input_name(t, input_index(t, "score")));

    /* the leads keep the table alive: evaluate after dropping our reference */
    leadroute_result *res = NULL;
    assert_int_equal(leadroute_result_new(&res, t, NULL), LEADROUTE_OK);
    leadroute_table_ref(t);
    leadroute_table_unref(t);
    static const char *const pools[] = { "emea-crm", "aces", "nurture" };
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(leadroute_table_eval(t, leadroute_leads_get(l, i), res), LEADROUTE_OK);
        assert_int_equal(leadroute_result_count(res), 1);
        const leadroute_value *v = leadroute_result_output(res, 0, 0);
        assert_non_null(v);
        assert_int_equal(v->type, LEADROUTE_VALUE_STRING);
        assert_string_equal(v->string, pools[i]);
    }
    leadroute_result_free(res);
    leadroute_table_unref(t);
    /* the table's name strings are still there while the leads live */
    assert_string_equal(leadroute_leads_get(l, 0)->fields[1].name, "region");
    leadroute_leads_free(l);
}

static void test_bad_rows_skipped(void **state)
{
    (void)state;
    static const char text[] = "id,region,country\n"    /* 1 */
                               "L1,EMEA,DE\n"            /* 2 */
                               "L2,EMEA\n"               /* 3: too few */
                               "L3,NA,US,extra\n"        /* 4: too many */
                               "L4,NA,US,,\n"            /* 5: trailing empties are fine */
                               ",EMEA,FR\n"              /* 6: empty id */
                               " L1 ,APAC,JP\n"          /* 7: duplicate */
                               "L5,\"multi\nline\",CA\n" /* 8-9 */
                               "L6,b\xC3\x28,US\n"       /* 10: bad UTF-8 */
                               "L7,NA,MX\n";             /* 11 */
    leadroute_error_clear();
    leadroute_leads *l = parse_ok(text, sizeof text - 1);
    /* a success with rows skipped leaves the last one's error (leads.h) */
    assert_int_equal(leadroute_error_last()->code, LEADROUTE_EPARSE);
    if (!strstr(leadroute_error_last()->message, "leads.csv:10:"))
        fail_msg("last error: %s", leadroute_error_last()->message);
    assert_int_equal(leadroute_leads_count(l), 4);
    assert_string_equal(leadroute_leads_get(l, 0)->id, "L1");
    assert_string_equal(leadroute_leads_get(l, 1)->id, "L4");
    assert_string_equal(leadroute_leads_get(l, 2)->id, "L5");
    assert_string_equal(leadroute_leads_get(l, 3)->id, "L7");
    assert_int_equal(leadroute_leads_line(l, 2), 8);
    assert_int_equal(leadroute_leads_line(l, 3), 11);
    /* the first L1 wins */
    assert_string_field(leadroute_leads_get(l, 0), "region", "EMEA");
    assert_string_field(leadroute_leads_get(l, 2), "region", "multi\nline");

    static const struct {
        uint32_t line;
        const char *prefix;
        const char *detail;
    } want[] = {
        { 3, "leads.csv:3: ", "2 cells" },
        { 4, "leads.csv:4: ", "4 cells" },
        { 6, "leads.csv:6:1: ", "empty lead id" },
        { 7, "leads.csv:7:1: ", "id 'L1' (first on line 2)" },
        { 10, "leads.csv:10:5: ", "UTF-8: byte 0xC3 after 'b'" },
    };
    assert_int_equal(leadroute_leads_error_count(l), 5);
    for (size_t i = 0; i < 5; i++) {
        const char *m = leadroute_leads_error(l, i);
        assert_non_null(m);
        assert_int_equal(leadroute_leads_error_line(l, i), want[i].line);
        if (strncmp(m, want[i].prefix, strlen(want[i].prefix)) != 0 || !strstr(m, want[i].detail))
            fail_msg("error %zu: '%s', want '%s...%s'", i, m, want[i].prefix, want[i].detail);
    }
    assert_null(leadroute_leads_error(l, 5));
    leadroute_leads_free(l);
}

/* A row whose quoting is broken is reported where the problem is, with
 * what was expected, and skipped; reading goes on at the line after the
 * row's first, so the leads a stray quote swallowed are read again. */
static void test_broken_quoting(void **state)
{
    (void)state;
    static const char text[] = "id,name,city\n"           /* 1 */
                               "L1,Acme,Berlin\n"         /* 2 */
                               "L2,\"Beta, Inc,Paris\n"   /* 3: closed by the next quote */
                               "L3,\"Gamma\",Rome\n"      /* 4 */
                               "L4,Delta,\"Oslo\"x\n"      /* 5: text after the quote */
                               "L5,Echo,Lima\n"           /* 6 */
                               "L6,\"Fox\n"               /* 7: never closed */
                               "L7,Golf,Rio\n";           /* 8 */
    leadroute_leads *l = parse_ok(text, sizeof text - 1);
    static const char *const ids[] = { "L1", "L3", "L5", "L7" };
    assert_int_equal(leadroute_leads_count(l), 4);
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(leadroute_leads_get(l, i)->id, ids[i]);
        assert_int_equal(leadroute_leads_line(l, i), 2 + 2 * i);
    }
    assert_string_field(leadroute_leads_get(l, 1), "name", "Gamma");
    static const struct {
        uint32_t line;
        const char *message;
    } want[] = {
        /* on the row's own line, at the quote that ran past it (leads.h) */
        { 3, "leads.csv:3:4: the quoted field runs past its line, and its quoting breaks at line 4, column 5: "
             "unexpected text after closing quote (expected ',' or end of line)" },
        { 5, "leads.csv:5:16: unexpected text after closing quote (expected ',' or end of line)" },
        { 7, "leads.csv:7:4: unterminated quoted field (missing closing '\"'): expected a '\"' before the end of "
             "the file (a '\"' inside a quoted field is written '\"\"')" },
    };
    assert_int_equal(leadroute_leads_error_count(l), 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(leadroute_leads_error_line(l, i), want[i].line);
        assert_string_equal(leadroute_leads_error(l, i), want[i].message);
    }
    leadroute_leads_free(l);

    /* A field is at most LEADROUTE_MAX_STRING bytes, so the reader looks no
     * further for a closing quote: a row that opens one costs a bounded
     * scan, not one to the end of the file, and the leads after it are
     * read again. */
    size_t rows = 600, cap = 64 + rows * 16, len = 0;
    char *many = malloc(cap);
    assert_non_null(many);
    len += (size_t)snprintf(many + len, cap - len, "id,note\nfirst,\"never closed\n");
    for (size_t i = 0; i < rows; i++)
        len += (size_t)snprintf(many + len, cap - len, "a%zu,note\n", i);
    assert_true(len < cap);
    l = parse_ok(many, len);
    assert_int_equal(leadroute_leads_count(l), rows);
    assert_string_equal(leadroute_leads_get(l, 0)->id, "a0");
    assert_int_equal(leadroute_leads_line(l, 0), 3);
    assert_int_equal(leadroute_leads_error_count(l), 1);
    assert_int_equal(leadroute_leads_error_line(l, 0), 2);
    assert_string_equal(leadroute_leads_error(l, 0),
                        "leads.csv:2:7: unterminated quoted field: expected a closing '\"' within 4096 bytes, the "
                        "longest a field may be (a '\"' inside a quoted field is written '\"\"')");
    leadroute_leads_free(l);
    free(many);

    /* The same when a '"' comes later: here a literal one ending a cell
     * (27") past the bound, then quoted cells. Taken for the closing quote,
     * it would make the stray quote's cell swallow every row before it; in
     * a record with fewer cells than the header it is not believed, and
     * only the row of the stray quote is lost. */
    cap = 128 + rows * 24;
    many = malloc(cap);
    assert_non_null(many);
    len = (size_t)snprintf(many, cap, "id,name,product\nfirst,\"never closed,crm\n");
    for (size_t i = 0; i < rows; i++) {
        const char *name = i == 400 ? "\"Big, Inc\"" : i == 500 ? "\"\"" : "Name";
        len += (size_t)snprintf(many + len, cap - len, "a%zu,%s,%s\n", i, name, i == 350 ? "monitor 27\"" : "crm");
    }
    assert_true(len < cap);
    const char *stray = strchr(many, '"');
    assert_true(strchr(stray + 1, '"') - stray > LEADROUTE_MAX_STRING); /* the next '"' lies past the bound */
    l = parse_ok(many, len);
    assert_int_equal(leadroute_leads_count(l), rows);
    assert_string_equal(leadroute_leads_get(l, 0)->id, "a0");
    assert_int_equal(leadroute_leads_line(l, 0), 3);
    assert_string_field(leadroute_leads_get(l, 350), "product", "monitor 27\"");
    assert_string_field(leadroute_leads_get(l, 400), "name", "Big, Inc");
    assert_int_equal(leadroute_leads_error_count(l), 1);
    assert_int_equal(leadroute_leads_error_line(l, 0), 2);
    char message[300];
    snprintf(message, sizeof message, "leads.csv:2:7: quoted field closes only at line 353, %zu bytes on, past the "
             "4096 bytes a field may hold, and its row has 2 cells, the header 3: its '\"' is read as a stray quote "
             "(a '\"' inside a quoted field is written '\"\"')",
             (size_t)(strchr(stray + 1, '"') - stray - 1));
    assert_string_equal(leadroute_leads_error(l, 0), message);
    leadroute_leads_free(l);
    free(many);

    /* The same when the stray quote and the later '"' are in the same
     * column: the record they make has the header's number of cells, but
     * the lines inside its quotes are rows of their own. The quote is not
     * believed, and only its row is lost. */
    rows = 300;
    cap = 128 + rows * 40;
    many = malloc(cap);
    assert_non_null(many);
    len = (size_t)snprintf(many, cap, "id,company,city\nL1,\"Acme Robotics,Berlin\n");
    for (size_t i = 2; i < rows; i++)
        len += (size_t)snprintf(many + len, cap - len, "L%zu,Company %zu,Paris\n", i, i);
    len += (size_t)snprintf(many + len, cap - len, "L%zu,Monitor 27\",Rome\n", rows);
    assert_true(len < cap && len > LEADROUTE_MAX_STRING + 100);
    l = parse_ok(many, len);
    assert_int_equal(leadroute_leads_count(l), rows - 1);
    assert_string_equal(leadroute_leads_get(l, 0)->id, "L2");
    assert_int_equal(leadroute_leads_line(l, 0), 3);
    assert_string_field(leadroute_leads_get(l, rows - 2), "company", "Monitor 27\"");
    assert_int_equal(leadroute_leads_line(l, rows - 2), rows + 1);
    assert_int_equal(leadroute_leads_error_count(l), 1);
    assert_int_equal(leadroute_leads_error_line(l, 0), 2);
    snprintf(message, sizeof message, "leads.csv:2:4: quoted field closes only at line 301, %zu bytes on, past the "
             "4096 bytes a field may hold, and line 3 inside it reads as a row of its own: its '\"' is read as a "
             "stray quote (a '\"' inside a quoted field is written '\"\"')",
             (size_t)(strrchr(many, '"') - strchr(many, '"') - 1));
    assert_string_equal(leadroute_leads_error(l, 0), message);
    leadroute_leads_free(l);
    free(many);
}

/* Allocator that keeps the most bytes held at once. */
typedef struct peak {
    size_t now, most;
} peak;

typedef union peak_header {
    size_t size;
    max_align_t align;
} peak_header;

static void *peak_alloc(void *ud, size_t size)
{
    peak *c = ud;
    peak_header *h = malloc(sizeof *h + size);
    if (!h)
        return NULL;
    h->size = size;
    c->now += size;
    if (c->now > c->most)
        c->most = c->now;
    return h + 1;
}

static void peak_free(void *ud, void *ptr)
{
    peak *c = ud;
    if (!ptr)
        return;
    peak_header *h = (peak_header *)ptr - 1;
    c->now -= h->size;
    free(h);
}

/* A quoted cell over LEADROUTE_MAX_STRING bytes is skipped, its text never
 * used: reading it costs no copy of it, however far its quote runs. */
static void test_long_cell_costs_no_copy(void **state)
{
    (void)state;
    size_t big = 2 << 20, cap = big + 128, len;
    char *text = malloc(cap);
    assert_non_null(text);
    len = (size_t)snprintf(text, cap, "id,note,city\na0,first,Oslo\na1,\"");
    memset(text + len, 'y', big);
    for (size_t k = 60; k < big; k += 61)
        text[len + k] = '\n';
    len += big;
    len += (size_t)snprintf(text + len, cap - len, "\",Lima\na2,last,Rio\n");
    peak c = { 0, 0 };
    leadroute_allocator a = LEADROUTE_ALLOCATOR_INIT;
    a.alloc = peak_alloc;
    a.free = peak_free;
    a.user_data = &c;
    leadroute_leads *l = NULL;
    assert_int_equal(leadroute_leads_parse(&l, text, len, "leads.csv", NULL, &a), LEADROUTE_OK);
    assert_int_equal(leadroute_leads_count(l), 2);
    assert_int_equal(leadroute_leads_error_count(l), 1);
    assert_string_equal(leadroute_leads_error(l, 0), "leads.csv:3:4: field longer than 4096 bytes");
    if (c.most > 256 * 1024)
        fail_msg("%zu bytes held at once to read %zu", c.most, len);
    leadroute_leads_free(l);
    assert_int_equal(c.now, 0);
    free(text);
}

/* Rows that each close one quote and open the next (x","y...) chain into
 * one record to the end of the file, and each row read again after the
 * one before it broke did the same, scanning the rest of the file every
 * time. Each is now broken as soon as it has a cell more than the header,
 * or where it runs into the quotes of the row before: every row is
 * reported at its own line, in time linear in the file. */
static void test_stray_quote_on_every_row(void **state)
{
    (void)state;
    size_t rows = 5000, cap = 64 + rows * 32, len;
    char *text = malloc(cap);
    assert_non_null(text);
    len = (size_t)snprintf(text, cap, "id,name,city\nL1,Acme,Berlin\n");
    for (size_t i = 0; i < rows; i++)
        len += (size_t)snprintf(text + len, cap - len, "x\",\"yyyyyyyyyyyyyyyyyyyy\n");
    len += (size_t)snprintf(text + len, cap - len, "x\"z\nL2,Beta,Rome\n"); /* text after the last quote */
    leadroute_leads *l = parse_ok(text, len);
    assert_int_equal(leadroute_leads_count(l), 2);
    assert_string_equal(leadroute_leads_get(l, 1)->id, "L2");
    assert_int_equal(leadroute_leads_line(l, 1), rows + 4);
    assert_int_equal(leadroute_leads_error_count(l), rows + 1);
    for (size_t i = 0; i < rows; i++) {
        char want[32];
        snprintf(want, sizeof want, "leads.csv:%zu:4: ", i + 3);
        const char *m = leadroute_leads_error(l, i);
        if (leadroute_leads_error_line(l, i) != i + 3 || strncmp(m, want, strlen(want)) != 0)
            fail_msg("error %zu, line %u: '%s'", i, leadroute_leads_error_line(l, i), m);
    }
    assert_string_equal(leadroute_leads_error(l, 0),
                        "leads.csv:3:4: quoted field closes only at line 4, and its row then has more cells than "
                        "the header's 3: its '\"' is read as a stray quote (a '\"' inside a quoted field is written "
                        "'\"\"')");
    assert_string_equal(leadroute_leads_error(l, 1),
                        "leads.csv:4:4: quoted field runs past its line into the quoted text of the broken row at "
                        "line 3, and reads on from there as that row did: its '\"' is read as a stray quote");
    assert_string_equal(leadroute_leads_error(l, rows), "leads.csv:5003: row has 1 cell, the header has 3");
    leadroute_leads_free(l);
    free(text);
}

/* A quoted cell that closes more than LEADROUTE_MAX_STRING bytes on is one
 * cell, too long: its row is skipped whole, and the lines inside it, which
 * may look like rows but are none of the header's shape, are not read. */
static void test_long_quoted_cell(void **state)
{
    (void)state;
    size_t cap = 4000 + 200 + 128, n;
    char *text = malloc(cap);
    assert_non_null(text);
    n = (size_t)snprintf(text, cap, "id,note,city\na0,first,Oslo\na1,\"");
    memset(text + n, 'y', 4000);
    n += 4000;
    n += (size_t)snprintf(text + n, cap - n, "\nb9,forged\nb8,forged,Rome,Lima\n");
    memset(text + n, 'y', 200);
    n += 200;
    n += (size_t)snprintf(text + n, cap - n, "\",Lima,\na2,last,Rio\n"); /* a blank cell more is fine */
    leadroute_leads *l = parse_ok(text, n);
    assert_int_equal(leadroute_leads_count(l), 2);
    assert_string_equal(leadroute_leads_get(l, 0)->id, "a0");
    assert_string_equal(leadroute_leads_get(l, 1)->id, "a2");
    assert_int_equal(leadroute_leads_line(l, 1), 7);
    assert_string_field(leadroute_leads_get(l, 1), "city", "Rio");
    assert_int_equal(leadroute_leads_error_count(l), 1);
    assert_int_equal(leadroute_leads_error_line(l, 0), 3);
    assert_string_equal(leadroute_leads_error(l, 0), "leads.csv:3:4: field longer than 4096 bytes");
    leadroute_leads_free(l);
    free(text);
}

static void test_set_item_limit(void **state)
{
    (void)state;
    size_t cap = 16 + (LEADROUTE_MAX_SET_ITEMS + 2) * 3 * 2;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t len = (size_t)snprintf(text, cap, "id,p:set\nok,");
    for (int i = 0; i < LEADROUTE_MAX_SET_ITEMS; i++)
    {
        text[len++] = 'a';
        text[len++] = ';';
    }
    text[len++] = '\n';
    len += (size_t)snprintf(text + len, cap - len, "big,");
    for (int i = 0; i <= LEADROUTE_MAX_SET_ITEMS; i++)
    {
        text[len++] = 'b';
        text[len++] = ';';
    }
    text[len++] = '\n';
    leadroute_leads *l = parse_ok(text, len);
    assert_int_equal(leadroute_leads_count(l), 1);
    assert_int_equal(field(leadroute_leads_get(l, 0), "p")->value.item_count, LEADROUTE_MAX_SET_ITEMS);
    assert_int_equal(leadroute_leads_error_count(l), 1);
    assert_non_null(strstr(leadroute_leads_error(l, 0), "leads.csv:3:5: field 'p' has 257 set items"));
    leadroute_leads_free(l);
    free(text);
}

static void assert_parse_error(const char *text, size_t len, int code, const char *prefix)
{
    leadroute_leads *l = (leadroute_leads *)&l;   /* must be reset to NULL */
    int rc = leadroute_leads_parse(&l, text, len, "bad.csv", NULL, NULL);
    assert_int_equal(rc, code);
    assert_null(l);
    const leadroute_error *e = leadroute_error_last();
    assert_int_equal(e->code, code);
    if (strncmp(e->message, prefix, strlen(prefix)) != 0)
        fail_msg("message '%s' does not start with '%s'", e->message, prefix);
}

static void test_whole_file_errors(void **state)
{
    (void)state;
    assert_parse_error(LIT(""), LEADROUTE_EPARSE, "bad.csv:1:1: no header");
    assert_parse_error(NULL, 0, LEADROUTE_EPARSE, "bad.csv:1:1: no header");
    assert_parse_error(LIT("\xEF\xBB\xBF"), LEADROUTE_EPARSE, "bad.csv:1:1: no header");
    assert_parse_error(LIT("\n,,\n  \n"), LEADROUTE_EPARSE, "bad.csv:4:1: no header");
    assert_parse_error(LIT("id,,region\n"), LEADROUTE_EPARSE, "bad.csv:1:4: header column 2");
    assert_parse_error(LIT("id,region, region\n"), LEADROUTE_EPARSE, "bad.csv:1:11: duplicate field name 'region'");
    /* a name no table column could have (it would match none, unseen) */
    assert_parse_error(LIT("id,\xef\xbb\xbfregion\n"), LEADROUTE_EPARSE,
                       "bad.csv:1:4: field name '\\xef\\xbb\\xbfregion' holds a byte order mark (U+FEFF)");
    assert_parse_error(LIT("id,\"re\tgion\"\n"), LEADROUTE_EPARSE,
                       "bad.csv:1:4: field name 're\\x09gion' holds a control character");
    assert_parse_error(LIT("id,p:set,p\n"), LEADROUTE_EPARSE, "bad.csv:1:10: duplicate");
    assert_parse_error(LIT("id,:set\n"), LEADROUTE_EPARSE, "bad.csv:1:4: ");
    /* saved with semicolons or tabs: said at the first one, not read as one field */
    assert_parse_error(LIT("id;region\nL1;EMEA\n"), LEADROUTE_EPARSE,
                       "bad.csv:1:3: the header is one cell with ';' in it: the file looks separated by semicolons");
    assert_parse_error(LIT("\nid\tregion\nL1\tEMEA\n"), LEADROUTE_EPARSE, "bad.csv:2:3: the header is one cell with a tab");
    /* both: the first one names the separator */
    assert_parse_error(LIT("id;name\tx\n"), LEADROUTE_EPARSE, "bad.csv:1:3: the header is one cell with ';' in it");
    /* broken quoting in the header (in a row it costs the row: test_broken_quoting) */
    assert_parse_error(LIT("id,\"region\nL1,EMEA\n"), LEADROUTE_EPARSE, "bad.csv:1:4: unterminated quoted field");
    assert_parse_error(LIT("id,\"region\"x\nL1,EMEA\n"), LEADROUTE_EPARSE,
                       "bad.csv:1:12: unexpected text after closing quote (expected ',' or end of line)");
    /* a bad byte in the header is fatal: there are no field names to go on with */
    assert_parse_error(LIT("id,re\xFFgion\nL1,x\n"), LEADROUTE_EPARSE, "bad.csv:1:6: invalid UTF-8: byte 0xFF after 're'");

    char name[LEADROUTE_MAX_NAME + 8];
    memcpy(name, "id,", 3);
    memset(name + 3, 'n', LEADROUTE_MAX_NAME + 1);
    assert_parse_error(name, 3 + LEADROUTE_MAX_NAME + 1, LEADROUTE_ELIMIT, "bad.csv:1:4: ");
    /* exactly the limit is fine */
    leadroute_leads *l = parse_ok(name, 3 + LEADROUTE_MAX_NAME);
    assert_int_equal(leadroute_leads_count(l), 0);
    leadroute_leads_free(l);

    /* a name longer than a cell may be: refused as too long, quoted or not;
     * a quote that never closes is broken quoting */
    size_t huge_cap = LEADROUTE_MAX_STRING + 64, hn;
    char *huge = malloc(huge_cap);
    assert_non_null(huge);
    memcpy(huge, "id,", 3);
    memset(huge + 3, 'n', LEADROUTE_MAX_STRING + 1);
    hn = 3 + LEADROUTE_MAX_STRING;
    assert_parse_error(huge, hn, LEADROUTE_ELIMIT, "bad.csv:1:4: field name longer than 256 bytes");
    hn++;
    memcpy(huge + hn, "\nL1,x\n", 6);
    assert_parse_error(huge, hn + 6, LEADROUTE_ELIMIT, "bad.csv:1:4: field longer than 4096 bytes");
    huge[3] = '"';
    memset(huge + 4, 'n', LEADROUTE_MAX_STRING + 1);
    hn = 4 + LEADROUTE_MAX_STRING + 1;
    memcpy(huge + hn, "\"\nL1,x\n", 7);
    assert_parse_error(huge, hn + 7, LEADROUTE_ELIMIT, "bad.csv:1:4: field longer than 4096 bytes");
    memcpy(huge + hn, "\nL1,x\n", 6);
    assert_parse_error(huge, hn + 6, LEADROUTE_EPARSE,
                       "bad.csv:1:4: unterminated quoted field: expected a closing '\"' within 4096 bytes");
    free(huge);

    /* more columns than a lead may have fields */
    size_t cap = (LEADROUTE_MAX_FIELDS + 2) * 8;
    char *wide = malloc(cap);
    assert_non_null(wide);
    size_t len = 0;
    for (int i = 0; i <= LEADROUTE_MAX_FIELDS; i++)
        len += (size_t)snprintf(wide + len, cap - len, i ? ",c%d" : "c%d", i);
    assert_parse_error(wide, len, LEADROUTE_ELIMIT, "bad.csv:1:");
    free(wide);
}

static void test_header_details(void **state)
{
    (void)state;
    /* trailing empty header cells, as spreadsheets write them, are no columns */
    leadroute_leads *l = parse_ok(LIT("id,region, ,\nL1,EMEA\nL2,NA,,\n"));
    assert_int_equal(leadroute_leads_count(l), 2);
    assert_int_equal(leadroute_leads_error_count(l), 0);
    assert_int_equal(leadroute_leads_get(l, 0)->field_count, 2);
    leadroute_leads_free(l);

    /* white space before the suffix, and the suffix in any case */
    l = parse_ok(LIT("id,products :set,Tags:SET\nL1,a;b,x;y\n"));
    static const char *const ab[] = { "a", "b" };
    static const char *const xy[] = { "x", "y" };
    assert_set_field(leadroute_leads_get(l, 0), "products", 2, ab);
    assert_set_field(leadroute_leads_get(l, 0), "Tags", 2, xy);
    leadroute_leads_free(l);

    /* "i" is not "id"; two id columns are refused (test_header_messages_in_full) */
    l = parse_ok(LIT("i,id,x\n1,L1,2\n"));
    assert_string_equal(leadroute_leads_get(l, 0)->id, "L1");
    leadroute_leads_free(l);
}

static void test_header_column_limit(void **state)
{
    (void)state;
    size_t cap = (LEADROUTE_MAX_FIELDS + 2) * 8;
    char *wide = malloc(cap);
    assert_non_null(wide);
    size_t len = 0, extra = 0;
    for (int i = 0; i < LEADROUTE_MAX_FIELDS; i++)
        len += (size_t)snprintf(wide + len, cap - len, i ? ",c%d" : "c%d", i);
    /* exactly the limit is fine */
    leadroute_leads *l = parse_ok(wide, len);
    leadroute_leads_free(l);
    /* one more: reported at the first column past it */
    extra = len + 2;
    len += (size_t)snprintf(wide + len, cap - len, ",c%d", LEADROUTE_MAX_FIELDS);
    char want[32];
    snprintf(want, sizeof want, "bad.csv:1:%zu: ", extra);
    assert_parse_error(wide, len, LEADROUTE_ELIMIT, want);
    free(wide);
}

static void test_header_names_match_table_exactly(void **state)
{
    (void)state;
    leadroute_table *t = make_table();
    /* "prod" and "reg" are not the table's "products" and "region" */
    static const char text[] = "id,prod,reg\nL1,a;b,EMEA\n";
    leadroute_leads *l = NULL;
    assert_int_equal(leadroute_leads_parse(&l, text, sizeof text - 1, "x.csv", t, NULL), LEADROUTE_OK);
    const leadroute_lead *a = leadroute_leads_get(l, 0);
    assert_string_field(a, "prod", "a;b");
    assert_string_field(a, "reg", "EMEA");
    assert_null(field(a, "products"));
    assert_null(field(a, "region"));
    leadroute_leads_free(l);
    leadroute_table_unref(t);
}

static void test_blank_cells_and_rows(void **state)
{
    (void)state;
    /* a row of blank cells is skipped; blank extra cells are fine */
    leadroute_leads *l = parse_ok(LIT("id,region\nL1,EMEA, ,\t\n  , \t\nL2,NA\n"));
    assert_int_equal(leadroute_leads_count(l), 2);
    assert_int_equal(leadroute_leads_error_count(l), 0);
    assert_int_equal(leadroute_leads_get(l, 0)->field_count, 2);
    leadroute_leads_free(l);
}

static void test_ids_that_extend_others(void **state)
{
    (void)state;
    /* longest first, so every earlier id begins with the new one: still new */
    size_t n = 300, cap = n * (n + 2) / 2 + n + 16;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t len = (size_t)snprintf(text, cap, "id\n");
    for (size_t i = n; i > 0; i--) {
        memset(text + len, 'k', i);
        len += i;
        text[len++] = '\n';
    }
    leadroute_leads *l = parse_ok(text, len);
    assert_int_equal(leadroute_leads_count(l), n);
    assert_int_equal(leadroute_leads_error_count(l), 0);
    assert_int_equal(strlen(leadroute_leads_get(l, n - 1)->id), 1);
    leadroute_leads_free(l);
    free(text);
}

static void test_long_duplicate_id_message(void **state)
{
    (void)state;
    /* the message shows a start of a long id and still says where it was first */
    size_t n = LEADROUTE_MAX_STRING, cap = 2 * n + 32;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t len = (size_t)snprintf(text, cap, "id\n");
    for (int r = 0; r < 2; r++) {
        memset(text + len, 'k', n);
        len += n;
        text[len++] = '\n';
    }
    leadroute_leads *l = parse_ok(text, len);
    assert_int_equal(leadroute_leads_count(l), 1);
    assert_int_equal(leadroute_leads_error_count(l), 1);
    assert_non_null(strstr(leadroute_leads_error(l, 0), "(first on line 2)"));
    assert_non_null(strstr(leadroute_leads_error(l, 0), "kkk...' (first"));
    leadroute_leads_free(l);

    /* an id with a line break, and a long one of two-byte characters: one line of valid UTF-8,
     * the break shown as \x0a, the id cut on a character */
    static const char nl[] = "id,region\n\"dup\nid\",EMEA\n\"dup\nid\",EMEA\n";
    l = parse_ok(nl, sizeof nl - 1);
    assert_int_equal(leadroute_leads_error_count(l), 1);
    assert_non_null(strstr(leadroute_leads_error(l, 0), "duplicate lead id 'dup\\x0aid' (first on line 2)"));
    assert_null(strchr(leadroute_leads_error(l, 0), '\n'));
    leadroute_leads_free(l);
    /* an id of exactly 200 bytes is shown whole, with no "..." */
    {
        char dup[512];
        size_t k = (size_t)snprintf(dup, sizeof dup, "id\n");
        for (int row = 0; row < 2; row++) {
            memset(dup + k, 'w', 200);
            k += 200;
            dup[k++] = '\n';
        }
        l = parse_ok(dup, k);
        assert_int_equal(leadroute_leads_error_count(l), 1);
        if (!strstr(leadroute_leads_error(l, 0), "ww' (first on line 2)"))
            fail_msg("message '%s'", leadroute_leads_error(l, 0));
        leadroute_leads_free(l);
    }
    len = (size_t)snprintf(text, cap, "id\n");
    for (int r = 0; r < 2; r++) {
        text[len++] = 'a';
        for (int k = 0; k < 150; k++)
            text[len++] = '\xc3', text[len++] = '\xa9';
        text[len++] = '\n';
    }
    l = parse_ok(text, len);
    assert_int_equal(leadroute_leads_error_count(l), 1);
    assert_true(leadroute_utf8_valid(leadroute_leads_error(l, 0), strlen(leadroute_leads_error(l, 0))));
    assert_null(strstr(leadroute_leads_error(l, 0), "\\x"));
    leadroute_leads_free(l);
    free(text);
}

/* Fails only the allocation numbered `budget`; the ones after it succeed. */
static void *fail_once_alloc(void *ud, size_t size)
{
    counter *c = ud;
    if (c->calls++ == c->budget)
        return NULL;
    void *p = malloc(size);
    if (p)
        c->live++;
    return p;
}

static void test_out_of_memory_mid_row(void **state)
{
    (void)state;
    /* a row that grows the reader's buffer after its first cell: one
     * failed allocation there fails the parse, it does not skip the row
     * and read on from the middle of it */
    char text[600];
    size_t len = (size_t)snprintf(text, sizeof text, "id,notes\n,x\nL1,");
    memset(text + len, 'n', 400);
    len += 400;
    text[len++] = '\n';
    counter c = { 0, 0, -1 };
    leadroute_allocator a = make_allocator(&c);
    leadroute_leads *l = NULL;
    assert_int_equal(leadroute_leads_parse(&l, text, len, NULL, NULL, &a), LEADROUTE_OK);
    assert_int_equal(leadroute_leads_count(l), 1);
    long needed = c.calls;
    leadroute_leads_free(l);
    for (long budget = 0; budget < needed; budget++) {
        counter f = { 0, 0, budget };
        leadroute_allocator fa = make_allocator(&f);
        fa.alloc = fail_once_alloc;
        l = (leadroute_leads *)&l;
        assert_int_equal(leadroute_leads_parse(&l, text, len, NULL, NULL, &fa), LEADROUTE_ENOMEM);
        assert_null(l);
        assert_int_equal(f.live, 0);
    }
}

static void test_misuse(void **state)
{
    (void)state;
    leadroute_leads *l = NULL;
    assert_int_equal(leadroute_leads_parse(NULL, LIT("id\n"), NULL, NULL, NULL), LEADROUTE_EINVAL);
    assert_int_equal(leadroute_leads_parse(&l, NULL, 3, NULL, NULL, NULL), LEADROUTE_EINVAL);
    assert_null(l);
    leadroute_allocator bad = LEADROUTE_ALLOCATOR_INIT;
    bad.version = 99;
    bad.alloc = count_alloc;
    bad.free = count_free;
    assert_int_equal(leadroute_leads_parse(&l, LIT("id\n"), NULL, NULL, &bad), LEADROUTE_EVERSION);
    assert_int_equal(leadroute_leads_load(&l, NULL, NULL, NULL), LEADROUTE_EINVAL);
    assert_int_equal(leadroute_leads_load(NULL, "x.csv", NULL, NULL), LEADROUTE_EINVAL);
    /* NULL objects */
    leadroute_leads_free(NULL);
    assert_int_equal(leadroute_leads_count(NULL), 0);
    assert_null(leadroute_leads_get(NULL, 0));
    assert_int_equal(leadroute_leads_line(NULL, 0), 0);
    assert_int_equal(leadroute_leads_error_count(NULL), 0);
    assert_null(leadroute_leads_error(NULL, 0));
    assert_int_equal(leadroute_leads_error_line(NULL, 0), 0);
    /* the default file name */
    assert_int_equal(leadroute_leads_parse(&l, LIT(""), NULL, NULL, NULL), LEADROUTE_EPARSE);
    assert_string_equal(leadroute_error_last()->message, "<leads>:1:1: no header row: the file holds no data");
}

static void test_load_file(void **state)
{
    (void)state;
    char path[] = "/tmp/leadroute-test-leads-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    static const char text[] = "\xEF\xBB\xBFid,region\r\nL1,EMEA\r\nL2\r\n";
    assert_int_equal(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);

    counter c = { 0, 0, -1 };
    leadroute_allocator a = make_allocator(&c);
    leadroute_leads *l = NULL;
    assert_int_equal(leadroute_leads_load(&l, path, NULL, &a), LEADROUTE_OK);
    assert_int_equal(leadroute_leads_count(l), 1);
    assert_string_equal(leadroute_leads_get(l, 0)->id, "L1");
    assert_string_field(leadroute_leads_get(l, 0), "region", "EMEA");
    assert_int_equal(leadroute_leads_error_count(l), 1);
    /* messages name the file by its path */
    char want[128];
    snprintf(want, sizeof want, "%s:3: ", path);
    assert_memory_equal(leadroute_leads_error(l, 0), want, strlen(want));
    leadroute_leads_free(l);
    assert_int_equal(c.live, 0);
    unlink(path);

    /* a missing file */
    assert_int_equal(leadroute_leads_load(&l, path, NULL, &a), LEADROUTE_EIO);
    assert_null(l);
    assert_non_null(strstr(leadroute_error_last()->message, path));
    /* a directory opens but cannot be read */
    assert_int_equal(leadroute_leads_load(&l, "/", NULL, &a), LEADROUTE_EIO);
    assert_null(l);
    assert_int_equal(c.live, 0);
}

static void test_custom_allocator(void **state)
{
    (void)state;
    static const char text[] = "id,products:set,region\nL1,a;b,EMEA\nL2,c,NA\nbad\n";
    counter c = { 0, 0, -1 };
    leadroute_allocator a = make_allocator(&c);
    leadroute_leads *l = NULL;
    assert_int_equal(leadroute_leads_parse(&l, text, sizeof text - 1, NULL, NULL, &a), LEADROUTE_OK);
    assert_true(c.calls > 0);
    assert_true(c.live > 0);
    long needed = c.calls;
    leadroute_leads_free(l);
    assert_int_equal(c.live, 0);

    /* every allocation failure is ENOMEM, with nothing leaked */
    for (long budget = 0; budget < needed; budget++) {
        counter f = { 0, 0, budget };
        leadroute_allocator fa = make_allocator(&f);
        l = (leadroute_leads *)&l;
        int rc = leadroute_leads_parse(&l, text, sizeof text - 1, NULL, NULL, &fa);
        assert_int_equal(rc, LEADROUTE_ENOMEM);
        assert_null(l);
        assert_int_equal(f.live, 0);
    }
}

static void test_many_leads(void **state)
{
    (void)state;
    size_t n = 20000, cap = n * 32 + 64;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t len = (size_t)snprintf(text, cap, "id,score\n");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(text + len, cap - len, "lead-%zu,%zu\n", i, i % 100);
    /* duplicates of early and late ids, found after the id set has grown */
    len += (size_t)snprintf(text + len, cap - len, "lead-0,1\nlead-%zu,2\n", n - 1);
    leadroute_leads *l = parse_ok(text, len);
    assert_int_equal(leadroute_leads_count(l), n);
    assert_int_equal(leadroute_leads_error_count(l), 2);
    assert_non_null(strstr(leadroute_leads_error(l, 0), "first on line 2"));
    char want[64];
    snprintf(want, sizeof want, "first on line %zu", n + 1);
    assert_non_null(strstr(leadroute_leads_error(l, 1), want));
    assert_string_equal(leadroute_leads_get(l, n - 1)->id, "lead-19999");
    assert_int_equal(leadroute_leads_line(l, n - 1), n + 1);
    leadroute_leads_free(l);
    free(text);
}

/* A set cell of separators only holds no item: the field is missing. */
/* Long paths: a row's message and a file that cannot be opened keep their
 * line and reason, showing the end of the path. */
static void test_long_paths_keep_the_reason(void **state)
{
    (void)state;
    static const size_t lens[] = { 806, 1506, 4000 };
    static char name[4100];
    const char *text = "id,a\nL1\nL3,x\nL3,y\n";
    for (size_t k = 0; k < sizeof lens / sizeof *lens; k++) {
        leadroute_leads *l = NULL;
        memset(name, 'd', lens[k]);
        strcpy(name + lens[k], "/l.csv");
        assert_int_equal(leadroute_leads_parse(&l, text, strlen(text), name, NULL, NULL), LEADROUTE_OK);
        assert_int_equal(leadroute_leads_error_count(l), 2);
        const char *e0 = leadroute_leads_error(l, 0), *e1 = leadroute_leads_error(l, 1);
        if (strncmp(e0, "...ddd", 6) != 0 || !strstr(e0, "ddd/l.csv:2: ") || !strstr(e0, "row has 1 cell"))
            fail_msg("path of %zu bytes: '%s'", lens[k], e0);
        if (!strstr(e1, "ddd/l.csv:4:1: ") || !strstr(e1, "duplicate lead id 'L3' (first on line 3)"))
            fail_msg("path of %zu bytes: '%s'", lens[k], e1);
        leadroute_leads_free(l);
    }
    {
        leadroute_leads *l = NULL;
        size_t n = 0;
        for (int part = 0; part < 11; part++) { /* components within NAME_MAX */
            name[n++] = '/';
            memset(name + n, 'a', 99);
            n += 99;
        }
        strcpy(name + n, "/none.csv");
        assert_int_equal(leadroute_leads_load(&l, name, NULL, NULL), LEADROUTE_EIO);
        assert_null(l);
        assert_true(strncmp(leadroute_error_last()->message, "...aaa", 6) == 0);
        if (!strstr(leadroute_error_last()->message, "aaa/none.csv: cannot open: No such file or directory"))
            fail_msg("'%s'", leadroute_error_last()->message);
    }
}

static void test_empty_set_cells(void **state)
{
    leadroute_leads *leads = NULL;
    char text[2048];
    size_t n = 0;
    int i;
    (void)state;
    const char *two = "id,tags:set\na,;\nb, ; ;\n", *alone = "id:set\n;\n";
    assert_int_equal(leadroute_leads_parse(&leads, two, strlen(two), "e.csv", NULL, NULL), LEADROUTE_OK);
    assert_int_equal(leadroute_leads_count(leads), 2);
    assert_int_equal(leadroute_leads_get(leads, 0)->field_count, 1); /* only the id */
    assert_int_equal(leadroute_leads_get(leads, 1)->field_count, 1);
    leadroute_leads_free(leads);

    /* an empty set as the id column, and after many fields */
    assert_int_equal(leadroute_leads_parse(&leads, alone, strlen(alone), "e.csv", NULL, NULL), LEADROUTE_OK);
    assert_int_equal(leadroute_leads_count(leads), 1);
    assert_int_equal(leadroute_leads_get(leads, 0)->field_count, 0);
    leadroute_leads_free(leads);
    n += (size_t)snprintf(text + n, sizeof text - n, "id");
    for (i = 0; i < 60; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, ",f%d", i);
    n += (size_t)snprintf(text + n, sizeof text - n, ",tags:set\n1");
    for (i = 0; i < 60; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, ",v");
    n += (size_t)snprintf(text + n, sizeof text - n, ",;\n");
    assert_int_equal(leadroute_leads_parse(&leads, text, n, "e.csv", NULL, NULL), LEADROUTE_OK);
    assert_int_equal(leadroute_leads_count(leads), 1);
    assert_int_equal(leadroute_leads_get(leads, 0)->field_count, 61);
    leadroute_leads_free(leads);
}

/* ---- tests added by mutation testing of lib/lead/reader.c ---- */

/* An allocator whose fresh blocks hold 0xA5 and whose freed blocks are
 * overwritten with 'Z': reading past what was written, or memory already
 * freed, shows. */
typedef union fill_header {
    size_t size;
    max_align_t align;
} fill_header;

static void *fill_alloc(void *ud, size_t size)
{
    (void)ud;
    fill_header *h = malloc(sizeof *h + size);
    if (!h)
        return NULL;
    h->size = size;
    memset(h + 1, 0xA5, size);
    return h + 1;
}

static void fill_free(void *ud, void *ptr)
{
    (void)ud;
    if (!ptr)
        return;
    fill_header *h = (fill_header *)ptr - 1;
    memset(ptr, 'Z', h->size);
    free(h);
}

static leadroute_allocator make_fill_allocator(void)
{
    leadroute_allocator a = LEADROUTE_ALLOCATOR_INIT;
    a.alloc = fill_alloc;
    a.free = fill_free;
    return a;
}

/* A row's message keeps up to 599 bytes: a long file name and an id of 200
 * bytes both fit whole. */
static void test_row_message_room(void **state)
{
    (void)state;
    char name[200], id[201], text[512], want[700];
    memset(name, 'f', 185);
    strcpy(name + 185, "/leads.csv"); /* 195 bytes: shown whole */
    memset(id, 'k', 200);
    id[200] = '\0';
    size_t n = (size_t)snprintf(text, sizeof text, "id\n%s\n%s\n", id, id);
    leadroute_leads *l = NULL;
    assert_int_equal(leadroute_leads_parse(&l, text, n, name, NULL, NULL), LEADROUTE_OK);
    assert_int_equal(leadroute_leads_error_count(l), 1);
    snprintf(want, sizeof want, "%s:3:1: duplicate lead id '%s' (first on line 2)", name, id);
    assert_true(strlen(want) > 400);
    assert_string_equal(leadroute_leads_error(l, 0), want);
    leadroute_leads_free(l);
}

/* A duplicate id longer than 200 bytes is shown by its first 200, then "...". */
static void test_long_duplicate_id_cut_at_200(void **state)
{
    (void)state;
    char id[301], text[700], want[400];
    for (int i = 0; i < 300; i++)
        id[i] = (char)('a' + i % 26);
    id[300] = '\0';
    size_t n = (size_t)snprintf(text, sizeof text, "id\n%s\n%s\n", id, id);
    leadroute_leads *l = parse_ok(text, n);
    assert_int_equal(leadroute_leads_error_count(l), 1);
    snprintf(want, sizeof want, "leads.csv:3:1: duplicate lead id '%.200s...' (first on line 2)", id);
    assert_string_equal(leadroute_leads_error(l, 0), want);
    leadroute_leads_free(l);
}

/* Every id seen again is found, however the id set grew in between. */
static void test_every_id_duplicated(void **state)
{
    (void)state;
    size_t n = 3000, cap = n * 2 * 16 + 16, len;
    char *text = malloc(cap);
    assert_non_null(text);
    len = (size_t)snprintf(text, cap, "id\n");
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n; i++)
            len += (size_t)snprintf(text + len, cap - len, "d%zu\n", i);
    leadroute_leads *l = parse_ok(text, len);
    assert_int_equal(leadroute_leads_count(l), n);
    assert_int_equal(leadroute_leads_error_count(l), n);
    for (size_t i = 0; i < n; i++) {
        char want[96];
        snprintf(want, sizeof want, "leads.csv:%zu:1: duplicate lead id 'd%zu' (first on line %zu)", n + 2 + i, i,
                 i + 2);
        assert_string_equal(leadroute_leads_error(l, i), want);
    }
    leadroute_leads_free(l);
    free(text);
}

/* An empty id is reported at its cell, naming the id column, wherever it is. */
static void test_empty_id_names_its_column(void **state)
{
    (void)state;
    leadroute_leads *l = parse_ok(LIT("region,ID\nEMEA,\nNA,L1\n"));
    assert_int_equal(leadroute_leads_count(l), 1);
    assert_int_equal(leadroute_leads_error_count(l), 1);
    assert_string_equal(leadroute_leads_error(l, 0), "leads.csv:2:6: empty lead id (column 'ID')");
    leadroute_leads_free(l);
}

/* Header messages in full: an empty first name, a duplicate naming the
 * earlier column, and the column count of a header too wide (trailing
 * empty cells not counted). */
static void test_header_messages_in_full(void **state)
{
    (void)state;
    assert_parse_error(LIT(",id\nx,L1\n"), LEADROUTE_EPARSE, "bad.csv:1:1: header column 1 has no field name");
    assert_string_equal(leadroute_error_last()->message, "bad.csv:1:1: header column 1 has no field name");
    assert_parse_error(LIT(" :SET ,id\nx,L1\n"), LEADROUTE_EPARSE, "bad.csv:1:1: header column 1 has no field name");
    assert_parse_error(LIT("id,region, region\n"), LEADROUTE_EPARSE, "bad.csv:1:11: ");
    assert_string_equal(leadroute_error_last()->message, "bad.csv:1:11: duplicate field name 'region' (also column 2)");
    assert_parse_error(LIT("a,b,c,a\n"), LEADROUTE_EPARSE, "bad.csv:1:7: ");
    assert_string_equal(leadroute_error_last()->message, "bad.csv:1:7: duplicate field name 'a' (also column 1)");

    /* two columns named id in different cases: which holds the id is not
     * guessed */
    assert_parse_error(LIT("ID,region,id\nA,EMEA,a\n"), LEADROUTE_EPARSE, "bad.csv:1:11: ");
    assert_string_equal(leadroute_error_last()->message,
                        "bad.csv:1:11: header names the lead id twice: 'id' and 'ID' (column 1)");

    size_t cap = (LEADROUTE_MAX_FIELDS + 8) * 8;
    char *wide = malloc(cap);
    assert_non_null(wide);
    size_t len = 0;
    for (int i = 0; i <= LEADROUTE_MAX_FIELDS; i++)
        len += (size_t)snprintf(wide + len, cap - len, i ? ",c%d" : "c%d", i);
    len += (size_t)snprintf(wide + len, cap - len, ",,, \n");
    char want[128];
    snprintf(want, sizeof want, "header has %d columns; a lead holds at most %d fields", LEADROUTE_MAX_FIELDS + 1,
             LEADROUTE_MAX_FIELDS);
    assert_parse_error(wide, len, LEADROUTE_ELIMIT, "bad.csv:1:");
    if (!strstr(leadroute_error_last()->message, want))
        fail_msg("'%s' lacks '%s'", leadroute_error_last()->message, want);
    free(wide);
}

/* The leads keep the table alive: field names the table knows point into
 * it, and stay readable after the caller drops its own reference, even
 * when the table's allocator scribbles over what it frees. */
static void test_leads_keep_table_alive(void **state)
{
    (void)state;
    leadroute_allocator fa = make_fill_allocator();
    leadroute_table_options o = LEADROUTE_TABLE_OPTIONS_INIT;
    o.allocator = &fa;
    leadroute_table *t = NULL;
    if (leadroute_table_parse(&t, TABLE, sizeof TABLE - 1, "t.csv", &o) != LEADROUTE_OK)
        fail_msg("table: %s", leadroute_error_last()->message);
    static const char text[] = "id,region,products\nL1,EMEA,ads;web\n";
    leadroute_leads *l = NULL;
    assert_int_equal(leadroute_leads_parse(&l, text, sizeof text - 1, "x.csv", t, NULL), LEADROUTE_OK);
    leadroute_table_unref(t);
    const leadroute_lead *a = leadroute_leads_get(l, 0);
    assert_string_equal(field(a, "region") ? "found" : "missing", "found");
    static const char *const want[] = { "ads", "web" };
    assert_set_field(a, "products", 2, want);
    leadroute_leads_free(l);
}

/* Accessors past the end answer "none", not what lies beyond the leads. */
static void test_accessors_past_the_end(void **state)
{
    (void)state;
    leadroute_allocator fa = make_fill_allocator();
    static const char text[] = "id\nL1\nL1\n";
    leadroute_leads *l = NULL;
    assert_int_equal(leadroute_leads_parse(&l, text, sizeof text - 1, "x.csv", NULL, &fa), LEADROUTE_OK);
    assert_int_equal(leadroute_leads_count(l), 1);
    assert_int_equal(leadroute_leads_error_count(l), 1);
    assert_null(leadroute_leads_get(l, 1));
    assert_int_equal(leadroute_leads_line(l, 1), 0);
    assert_null(leadroute_leads_error(l, 1));
    assert_int_equal(leadroute_leads_error_line(l, 1), 0);
    leadroute_leads_free(l);
}

/* Misuse messages say which argument was NULL. */
static void test_misuse_messages(void **state)
{
    (void)state;
    leadroute_leads *l = NULL;
    assert_int_equal(leadroute_leads_load(&l, NULL, NULL, NULL), LEADROUTE_EINVAL);
    assert_string_equal(leadroute_error_last()->message, "leadroute_leads_load: path is NULL");
    assert_int_equal(leadroute_leads_load(NULL, "x.csv", NULL, NULL), LEADROUTE_EINVAL);
    assert_string_equal(leadroute_error_last()->message, "leadroute_leads_load: out is NULL");
}

/* ---- test added by mutation testing of lib/base/file.c ---- */

/* A file is read to its last byte, a last line without a line break
 * included; a file that opens but cannot be read says so, with the
 * system's reason. */
static void test_load_file_last_byte_and_read_error(void **state)
{
    (void)state;
    char path[] = "/tmp/leadroute-test-leads-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    static const char text[] = "id,region\nL1,EMEA\nL22,NA";
    assert_int_equal(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    leadroute_leads *l = NULL;
    assert_int_equal(leadroute_leads_load(&l, path, NULL, NULL), LEADROUTE_OK);
    unlink(path);
    assert_int_equal(leadroute_leads_count(l), 2);
    assert_string_equal(leadroute_leads_get(l, 1)->id, "L22");
    assert_string_field(leadroute_leads_get(l, 1), "region", "NA");
    leadroute_leads_free(l);

    assert_int_equal(leadroute_leads_load(&l, "/", NULL, NULL), LEADROUTE_EIO);
    assert_null(l);
    assert_string_equal(leadroute_error_last()->message, "/: cannot read: Is a directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids_fields_and_lines),
        cmocka_unit_test(test_id_column_choice),
        cmocka_unit_test(test_missing_fields),
        cmocka_unit_test(test_set_by_suffix),
        cmocka_unit_test(test_set_by_table_type),
        cmocka_unit_test(test_bad_rows_skipped),
        cmocka_unit_test(test_broken_quoting),
        cmocka_unit_test(test_long_quoted_cell),
        cmocka_unit_test(test_stray_quote_on_every_row),
        cmocka_unit_test(test_long_cell_costs_no_copy),
        cmocka_unit_test(test_set_item_limit),
        cmocka_unit_test(test_whole_file_errors),
        cmocka_unit_test(test_header_details),
        cmocka_unit_test(test_header_column_limit),
        cmocka_unit_test(test_header_names_match_table_exactly),
        cmocka_unit_test(test_blank_cells_and_rows),
        cmocka_unit_test(test_ids_that_extend_others),
        cmocka_unit_test(test_long_duplicate_id_message),
        cmocka_unit_test(test_out_of_memory_mid_row),
        cmocka_unit_test(test_misuse),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_custom_allocator),
        cmocka_unit_test(test_many_leads),
        cmocka_unit_test(test_empty_set_cells),
        cmocka_unit_test(test_long_paths_keep_the_reason),
        cmocka_unit_test(test_row_message_room),
        cmocka_unit_test(test_long_duplicate_id_cut_at_200),
        cmocka_unit_test(test_every_id_duplicated),
        cmocka_unit_test(test_empty_id_names_its_column),
        cmocka_unit_test(test_header_messages_in_full),
        cmocka_unit_test(test_leads_keep_table_alive),
        cmocka_unit_test(test_accessors_past_the_end),
        cmocka_unit_test(test_misuse_messages),
        cmocka_unit_test(test_load_file_last_byte_and_read_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
