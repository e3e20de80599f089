/* UTF-8 checks, lead validation, the *_init() functions and the value
 * helpers shared by leads and tables (numbers, trimming, folding). */
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
#include "base/value.h"

/* --- leadroute_utf8_valid ----------------------------------------------- */

static int u8(const char *s) { return leadroute_utf8_valid(s, strlen(s)); }
static int u8n(const char *s, size_t n) { return leadroute_utf8_valid(s, n); }

static void test_utf8_valid_forms(void **state)
{
    (void)state;
    assert_int_equal(u8n("", 0), 1);
    assert_int_equal(u8("plain ascii 123"), 1);
    assert_int_equal(u8("\xC3\xA9"), 1);                 /* é U+00E9 */
    assert_int_equal(u8("\xC2\x80"), 1);                 /* U+0080, smallest 2-byte */
    assert_int_equal(u8("\xDF\xBF"), 1);                 /* U+07FF */
    assert_int_equal(u8("\xE0\xA0\x80"), 1);             /* U+0800, smallest 3-byte */
    assert_int_equal(u8("\xE2\x82\xAC"), 1);             /* € */
    assert_int_equal(u8("\xED\x9F\xBF"), 1);             /* U+D7FF, just below surrogates */
    assert_int_equal(u8("\xEE\x80\x80"), 1);             /* U+E000, just above */
    assert_int_equal(u8("\xEF\xBF\xBF"), 1);             /* U+FFFF */
    assert_int_equal(u8("\xF0\x90\x80\x80"), 1);         /* U+10000, smallest 4-byte */
    assert_int_equal(u8("\xF0\x9F\x98\x80"), 1);         /* emoji */
    assert_int_equal(u8("\xF4\x8F\xBF\xBF"), 1);         /* U+10FFFF, the last one */
    assert_int_equal(u8("M\xC3\xBCnchen \xCE\xB1\xCE\xB2 \xD0\x96"), 1);
}

static void test_utf8_overlong(void **state)
{
    (void)state;
    assert_int_equal(u8("\xC0\x80"), 0);
    assert_int_equal(u8("\xC0\xAF"), 0);
    assert_int_equal(u8("\xC1\xBF"), 0);
    assert_int_equal(u8("\xE0\x80\x80"), 0);
    assert_int_equal(u8("\xE0\x9F\xBF"), 0);
    assert_int_equal(u8("\xF0\x80\x80\x80"), 0);
    assert_int_equal(u8("\xF0\x8F\xBF\xBF"), 0);
}

static void test_utf8_surrogates(void **state)
{
    (void)state;
    assert_int_equal(u8("\xED\xA0\x80"), 0);   /* U+D800 */
    assert_int_equal(u8("\xED\xAF\xBF"), 0);   /* U+DBFF */
    assert_int_equal(u8("\xED\xB0\x80"), 0);   /* U+DC00 */
    assert_int_equal(u8("\xED\xBF\xBF"), 0);   /* U+DFFF */
    assert_int_equal(u8("\xED\xA0\xBD\xED\xB8\x80"), 0); /* CESU-8 pair */
}

static void test_utf8_too_big(void **state)
{
    (void)state;
    assert_int_equal(u8("\xF4\x90\x80\x80"), 0);   /* U+110000 */
    assert_int_equal(u8("\xF5\x80\x80\x80"), 0);
    assert_int_equal(u8("\xF7\xBF\xBF\xBF"), 0);
    assert_int_equal(u8("\xF8\x88\x80\x80\x80"), 0);
    assert_int_equal(u8("\xFC\x84\x80\x80\x80\x80"), 0);
    assert_int_equal(u8("\xFE"), 0);
    assert_int_equal(u8("\xFF"), 0);
}

static void test_utf8_truncated_and_broken(void **state)
{
    (void)state;
    assert_int_equal(u8("\xC3"), 0);
    assert_int_equal(u8("\xE2\x82"), 0);
    assert_int_equal(u8("\xF0\x9F\x98"), 0);
    assert_int_equal(u8("ab\xF0\x9F"), 0);
    assert_int_equal(u8("\x80"), 0);              /* lone continuation */
    assert_int_equal(u8("a\xBFz"), 0);
    assert_int_equal(u8("\xC3\x28"), 0);          /* bad continuation */
    assert_int_equal(u8("\xE2\x28\xA1"), 0);
    assert_int_equal(u8("\xF0\x9F\x28\x80"), 0);
    /* every continuation byte is checked, the last one too */
    assert_int_equal(u8("\xE2\x82\x28"), 0);
    assert_int_equal(u8("\xF0\x9F\x98\x28"), 0);
    /* The length is honoured: a valid character cut by it is invalid ... */
    assert_int_equal(u8n("\xC3\xA9", 1), 0);
    assert_int_equal(u8n("\xE2\x82\xAC", 2), 0);
    /* ... and bytes past it are not read. */
    assert_int_equal(u8n("ok\xFF", 2), 1);
    assert_int_equal(u8n("\xC3\xA9\xC3", 2), 1);
}

static void test_utf8_null(void **state)
{
    (void)state;
    assert_int_equal(leadroute_utf8_valid(NULL, 0), 0);
    assert_int_equal(leadroute_utf8_valid(NULL, 5), 0);
}

/* --- leadroute_lead_validate -------------------------------------------- */

static leadroute_value vstr(const char *s)
{
    leadroute_value v = LEADROUTE_VALUE_INIT;
    v.type = LEADROUTE_VALUE_STRING;
    v.string = s;
    return v;
}

static leadroute_value vnum(double d)
{
    leadroute_value v = LEADROUTE_VALUE_INIT;
    v.type = LEADROUTE_VALUE_NUMBER;
    v.number = d;
    return v;
}

static leadroute_value vbool(int b)
{
    leadroute_value v = LEADROUTE_VALUE_INIT;
    v.type = LEADROUTE_VALUE_BOOL;
    v.boolean = b;
    return v;
}

static leadroute_value vset(const char *const *items, size_t n)
{
    leadroute_value v = LEADROUTE_VALUE_INIT;
    v.type = LEADROUTE_VALUE_SET;
    v.items = items;
    v.item_count = n;
    return v;
}

static int validate1(const char *name, leadroute_value v)
{
    leadroute_field f[2];
    f[0].name = "company";
    f[0].value = vstr("Acme");
    f[1].name = name;
    f[1].value = v;
    leadroute_lead l = LEADROUTE_LEAD_INIT;
    l.id = "L-1";
    l.fields = f;
    l.field_count = 2;
    leadroute_error_clear();
    return leadroute_lead_validate(&l);
}

/* The last error has this code and its message names `field`. */
static void expect_error_naming(int code, const char *field)
{
    const leadroute_error *e = leadroute_error_last();
    assert_int_equal(e->code, code);
    assert_non_null(e->message);
    if (strstr(e->message, field) == NULL)
        fail_msg("message '%s' does not name '%s'", e->message, field);
}

static void test_validate_null_and_versions(void **state)
{
    (void)state;
    leadroute_error_clear();
    assert_int_equal(leadroute_lead_validate(NULL), LEADROUTE_EINVAL);
    assert_int_equal(leadroute_error_last()->code, LEADROUTE_EINVAL);

    leadroute_lead l = LEADROUTE_LEAD_INIT;
    l.version = 0;
    assert_int_equal(leadroute_lead_validate(&l), LEADROUTE_EVERSION);
    assert_int_equal(leadroute_error_last()->code, LEADROUTE_EVERSION);
    l.version = 99;
    assert_int_equal(leadroute_lead_validate(&l), LEADROUTE_EVERSION);
    l.version = LEADROUTE_LEAD_VERSION;
    assert_int_equal(leadroute_lead_validate(&l), LEADROUTE_OK);

    /* A value with a bad version inside a good lead. */
    leadroute_value v = vstr("x");
    v.version = 0;
    assert_int_equal(validate1("region", v), LEADROUTE_EVERSION);
    v.version = 99;
    assert_int_equal(validate1("region", v), LEADROUTE_EVERSION);
    v.version = LEADROUTE_VALUE_VERSION + 1; /* the first version not known */
    assert_int_equal(validate1("region", v), LEADROUTE_EVERSION);

    /* fields NULL with a count is a bad argument. */
    l.fields = NULL;
    l.field_count = 3;
    assert_int_equal(leadroute_lead_validate(&l), LEADROUTE_EINVAL);
}

static void test_validate_ok(void **state)
{
    (void)state;
    assert_int_equal(validate1("region", vstr("EMEA")), LEADROUTE_OK);
    assert_int_equal(validate1("region", vstr("")), LEADROUTE_OK);
    assert_int_equal(validate1("city", vstr("M\xC3\xBCnchen")), LEADROUTE_OK);
    assert_int_equal(validate1("score", vnum(-3.5)), LEADROUTE_OK);
    assert_int_equal(validate1("score", vnum(0.0)), LEADROUTE_OK);
    assert_int_equal(validate1("score", vnum(1e300)), LEADROUTE_OK);
    assert_int_equal(validate1("flag", vbool(0)), LEADROUTE_OK);
    assert_int_equal(validate1("flag", vbool(7)), LEADROUTE_OK);
    leadroute_value nul = LEADROUTE_VALUE_INIT;
    assert_int_equal(validate1("missing", nul), LEADROUTE_OK);
    const char *items[] = { "crm", "erp", "\xC3\xA9t\xC3\xA9" };
    assert_int_equal(validate1("tags", vset(items, 3)), LEADROUTE_OK);
    assert_int_equal(validate1("tags", vset(NULL, 0)), LEADROUTE_OK);

    /* No id and no fields. */
    leadroute_lead l = LEADROUTE_LEAD_INIT;
    assert_int_equal(leadroute_lead_validate(&l), LEADROUTE_OK);
    /* Exactly at the limits. */
    char *s = malloc(LEADROUTE_MAX_STRING + 1);
    assert_non_null(s);
    memset(s, 'a', LEADROUTE_MAX_STRING);
    s[LEADROUTE_MAX_STRING] = '\0';
    assert_int_equal(validate1("long", vstr(s)), LEADROUTE_OK);
    free(s);
    char name[LEADROUTE_MAX_NAME + 1];
    memset(name, 'n', LEADROUTE_MAX_NAME);
    name[LEADROUTE_MAX_NAME] = '\0';
    assert_int_equal(validate1(name, vstr("x")), LEADROUTE_OK);
    const char **many = malloc(sizeof(char *) * LEADROUTE_MAX_SET_ITEMS);
    assert_non_null(many);
    for (size_t i = 0; i < LEADROUTE_MAX_SET_ITEMS; i++)
        many[i] = "item";
    assert_int_equal(validate1("tags", vset(many, LEADROUTE_MAX_SET_ITEMS)), LEADROUTE_OK);
    free(many);
}

static void test_validate_bad_numbers(void **state)
{
    (void)state;
    assert_int_equal(validate1("score", vnum(NAN)), LEADROUTE_ELEAD);
    expect_error_naming(LEADROUTE_ELEAD, "score");
    assert_int_equal(validate1("revenue", vnum(INFINITY)), LEADROUTE_ELEAD);
    expect_error_naming(LEADROUTE_ELEAD, "revenue");
    assert_int_equal(validate1("revenue", vnum(-INFINITY)), LEADROUTE_ELEAD);
    expect_error_naming(LEADROUTE_ELEAD, "revenue");
}

static void test_validate_bad_utf8(void **state)
{
    (void)state;
    assert_int_equal(validate1("city", vstr("M\xFCnchen")), LEADROUTE_ELEAD);   /* Latin-1 byte */
    expect_error_naming(LEADROUTE_ELEAD, "city");
    assert_int_equal(validate1("city", vstr("\xED\xA0\x80")), LEADROUTE_ELEAD);
    expect_error_naming(LEADROUTE_ELEAD, "city");
    assert_int_equal(validate1("city", vstr("\xC0\x80")), LEADROUTE_ELEAD);

    const char *items[] = { "ok", "bad\xC3", "fine" };
    assert_int_equal(validate1("interests", vset(items, 3)), LEADROUTE_ELEAD);
    expect_error_naming(LEADROUTE_ELEAD, "interests");

    /* An invalid field name: the lead is invalid. */
    assert_int_equal(validate1("reg\xFFion", vstr("x")), LEADROUTE_ELEAD);

    /* An invalid lead id. */
    leadroute_field f = { "region", LEADROUTE_VALUE_INIT };
    f.value = vstr("EMEA");
    leadroute_lead l = LEADROUTE_LEAD_INIT;
    l.fields = &f;
    l.field_count = 1;
    l.id = "id\xF5\x80\x80\x80";
    leadroute_error_clear();
    assert_int_equal(leadroute_lead_validate(&l), LEADROUTE_ELEAD);
    assert_int_equal(leadroute_error_last()->code, LEADROUTE_ELEAD);
    l.id = "L-\xE2\x82\xAC";
    assert_int_equal(leadroute_lead_validate(&l), LEADROUTE_OK);
}

static void test_validate_too_long(void **state)
{
    (void)state;
    char *s = malloc(LEADROUTE_MAX_STRING + 2);
    assert_non_null(s);
    memset(s, 'a', LEADROUTE_MAX_STRING + 1);
    s[LEADROUTE_MAX_STRING + 1] = '\0';
    assert_int_equal(validate1("notes", vstr(s)), LEADROUTE_ELEAD);
    expect_error_naming(LEADROUTE_ELEAD, "notes");

    const char *items[] = { "short", s };
    assert_int_equal(validate1("tags", vset(items, 2)), LEADROUTE_ELEAD);
    expect_error_naming(LEADROUTE_ELEAD, "tags");

    /* A lead id longer than any limit. */
    leadroute_lead l = LEADROUTE_LEAD_INIT;
    l.id = s;
    assert_int_equal(leadroute_lead_validate(&l), LEADROUTE_ELEAD);
    free(s);

    char name[LEADROUTE_MAX_NAME + 2];
    memset(name, 'n', LEADROUTE_MAX_NAME + 1);
    name[LEADROUTE_MAX_NAME + 1] = '\0';
    assert_int_equal(validate1(name, vstr("x")), LEADROUTE_ELEAD);
    /* An empty name is not a name. */
    assert_int_equal(validate1("", vstr("x")), LEADROUTE_ELEAD);
}

static void test_validate_too_many_items(void **state)
{
    (void)state;
    const char **many = malloc(sizeof(char *) * (LEADROUTE_MAX_SET_ITEMS + 1));
    assert_non_null(many);
    for (size_t i = 0; i <= LEADROUTE_MAX_SET_ITEMS; i++)
        many[i] = "item";
    assert_int_equal(validate1("products", vset(many, LEADROUTE_MAX_SET_ITEMS + 1)), LEADROUTE_ELEAD);
    expect_error_naming(LEADROUTE_ELEAD, "products");
    char want[80];
    snprintf(want, sizeof want, "lead field 'products': set has %d items, more than %d", LEADROUTE_MAX_SET_ITEMS + 1,
             LEADROUTE_MAX_SET_ITEMS);
    assert_string_equal(leadroute_error_last()->message, want);
    free(many);
}

static void test_validate_too_many_fields(void **state)
{
    (void)state;
    size_t n = LEADROUTE_MAX_FIELDS + 1;
    leadroute_field *f = calloc(n, sizeof *f);
    char (*names)[16] = calloc(n, sizeof *names);
    assert_non_null(f);
    assert_non_null(names);
    for (size_t i = 0; i < n; i++) {
        snprintf(names[i], sizeof names[i], "f%zu", i);
        f[i].name = names[i];
        f[i].value = vnum((double)i);
    }
    leadroute_lead l = LEADROUTE_LEAD_INIT;
    l.fields = f;
    l.field_count = LEADROUTE_MAX_FIELDS;
    assert_int_equal(leadroute_lead_validate(&l), LEADROUTE_OK);
    l.field_count = n;
    assert_int_equal(leadroute_lead_validate(&l), LEADROUTE_ELEAD);
    assert_int_equal(leadroute_error_last()->code, LEADROUTE_ELEAD);
    char want[64];
    snprintf(want, sizeof want, "lead has %zu fields, more than %d", n, LEADROUTE_MAX_FIELDS);
    assert_string_equal(leadroute_error_last()->message, want);
    free(f);
    free(names);
}

/* Validate a lead of string fields with these names (at most 4). */
static int validate_names(const char *const *names, size_t n)
{
    leadroute_field f[4];
    leadroute_lead l = LEADROUTE_LEAD_INIT;
    assert_true(n <= 4);
    for (size_t i = 0; i < n; i++) {
        f[i].name = names[i];
        f[i].value = vstr("x");
    }
    l.fields = f;
    l.field_count = n;
    leadroute_error_clear();
    return leadroute_lead_validate(&l);
}

static void test_validate_duplicate_names(void **state)
{
    (void)state;
    static const char *const names[] = { "region", "country", "region" };
    assert_int_equal(validate_names(names, 3), LEADROUTE_ELEAD);
    expect_error_naming(LEADROUTE_ELEAD, "region");
    /* Names differing only in case are different fields. */
    static const char *const cased[] = { "region", "country", "Region" };
    assert_int_equal(validate_names(cased, 3), LEADROUTE_OK);
}

static void test_validate_utf8_edges(void **state)
{
    (void)state;
    /* U+0080 is a character like any other; a stray 0x80 after ASCII is not */
    assert_int_equal(validate1("city", vstr("\xC2\x80")), LEADROUTE_OK);
    assert_int_equal(validate1("city", vstr("ab\xC2\x80" "cd")), LEADROUTE_OK);
    assert_int_equal(validate1("city", vstr("ab\x80")), LEADROUTE_ELEAD);
    expect_error_naming(LEADROUTE_ELEAD, "city");

    /* exactly the limit, ending in a two-byte character */
    char *s = malloc(LEADROUTE_MAX_STRING + 1);
    assert_non_null(s);
    memset(s, 'a', LEADROUTE_MAX_STRING - 2);
    memcpy(s + LEADROUTE_MAX_STRING - 2, "\xC3\xA9", 3);
    assert_int_equal(strlen(s), LEADROUTE_MAX_STRING);
    assert_int_equal(validate1("notes", vstr(s)), LEADROUTE_OK);
    free(s);
}

static void test_validate_messages_say_why(void **state)
{
    (void)state;
    char *s = malloc(LEADROUTE_MAX_STRING + 2);
    assert_non_null(s);
    memset(s, 'a', LEADROUTE_MAX_STRING + 1);
    s[LEADROUTE_MAX_STRING + 1] = '\0';
    assert_int_equal(validate1("notes", vstr(s)), LEADROUTE_ELEAD);
    expect_error_naming(LEADROUTE_ELEAD, "longer than 4096 bytes");
    free(s);
    assert_int_equal(validate1("city", vstr("M\xFCnchen")), LEADROUTE_ELEAD);
    expect_error_naming(LEADROUTE_ELEAD, "not valid UTF-8");
}

static void test_validate_set_without_items(void **state)
{
    (void)state;
    /* a count with no array is a bad set, not something to read */
    assert_int_equal(validate1("tags", vset(NULL, 2)), LEADROUTE_ELEAD);
    expect_error_naming(LEADROUTE_ELEAD, "tags");
}

static void test_validate_adjacent_duplicates(void **state)
{
    (void)state;
    static const char *const names[] = { "region", "region" };
    assert_int_equal(validate_names(names, 2), LEADROUTE_ELEAD);
    expect_error_naming(LEADROUTE_ELEAD, "region");
}

static void test_validate_null_fields_at_limit(void **state)
{
    (void)state;
    /* a count within the limit but no array: still a bad argument */
    leadroute_lead l = LEADROUTE_LEAD_INIT;
    l.field_count = LEADROUTE_MAX_FIELDS;
    assert_int_equal(leadroute_lead_validate(&l), LEADROUTE_EINVAL);
    assert_int_equal(leadroute_error_last()->code, LEADROUTE_EINVAL);
}

/* --- shared value helpers ------------------------------------------------- */

static int num(const char *s, double *out)
{
    return lr__parse_number(s, strlen(s), out);
}

static void test_parse_number_grammar(void **state)
{
    (void)state;
    double v = 0;
    assert_int_equal(num("1e+3", &v), 0);
    assert_true(v == 1000.0);
    assert_int_equal(num("+2.5E-1", &v), 0);
    assert_true(v == 0.25);
    assert_int_equal(num("-7", &v), 0);
    assert_true(v == -7.0);
    assert_int_equal(num("1e+", &v), -1);
    assert_int_equal(num(".5", &v), -1);
    /* a number text as long as a lead's string may be */
    {
        static char longest[LEADROUTE_MAX_STRING + 1];
        memset(longest, '0', LEADROUTE_MAX_STRING - 1);
        longest[LEADROUTE_MAX_STRING - 1] = '1';
        assert_int_equal(lr__parse_number(longest, LEADROUTE_MAX_STRING, &v), 0);
        assert_true(v == 1.0);
    }
    assert_int_equal(num("1.", &v), -1);
    assert_int_equal(num("0x10", &v), -1);
    assert_int_equal(num("inf", &v), -1);
    assert_int_equal(num("1e400", &v), -2);
}

static void test_value_show_cut(void **state)
{
    (void)state;
    char buf[64], text[48];
    leadroute_value v = LEADROUTE_VALUE_INIT;
    v.type = LEADROUTE_VALUE_STRING;
    v.string = text;
    /* 40 bytes are shown whole, without an ellipsis */
    memset(text, 'a', 40);
    text[40] = '\0';
    lr__value_show(&v, buf, sizeof buf);
    assert_string_equal(buf, "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'");
    /* a longer text is cut before a character the 40 bytes would split */
    memset(text, 'a', 39);
    memcpy(text + 39, "\xC3\xA9z", 4);
    lr__value_show(&v, buf, sizeof buf);
    assert_string_equal(buf, "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...'");
    assert_int_equal(leadroute_utf8_valid(buf, strlen(buf)), 1);
}

static void test_value_show_kinds(void **state)
{
    (void)state;
    char buf[64];
    leadroute_value v = LEADROUTE_VALUE_INIT;
    lr__value_show(&v, buf, sizeof buf);
    assert_string_equal(buf, "null");
    v.type = LEADROUTE_VALUE_BOOL;
    v.boolean = 1;
    lr__value_show(&v, buf, sizeof buf);
    assert_string_equal(buf, "true");
    v.boolean = 0;
    lr__value_show(&v, buf, sizeof buf);
    assert_string_equal(buf, "false");
    v.type = LEADROUTE_VALUE_NUMBER;
    v.number = -2.5;
    lr__value_show(&v, buf, sizeof buf);
    assert_string_equal(buf, "-2.5");
    v.type = LEADROUTE_VALUE_STRING;
    v.string = "gold";
    lr__value_show(&v, buf, sizeof buf);
    assert_string_equal(buf, "'gold'");
}

static void test_format_double_whole(void **state)
{
    (void)state;
    char buf[40];
    /* whole numbers are written out, also past 32 bits */
    assert_int_equal(lr__format_double(buf, sizeof buf, 3e9), 10);
    assert_string_equal(buf, "3000000000");
    lr__format_double(buf, sizeof buf, -3e9);
    assert_string_equal(buf, "-3000000000");
    lr__format_double(buf, sizeof buf, 30);
    assert_string_equal(buf, "30");
    lr__format_double(buf, sizeof buf, 0.5);
    assert_string_equal(buf, "0.5");
}

/* whole numbers below 1e15 in magnitude are written out; from 1e15 on,
 * the shortest form that reads back */
static void test_format_double_plain_bound(void **state)
{
    (void)state;
    char buf[40];
    assert_int_equal(lr__format_double(buf, sizeof buf, 1e14), 15);
    assert_string_equal(buf, "100000000000000");
    lr__format_double(buf, sizeof buf, 999999999999999.0);
    assert_string_equal(buf, "999999999999999");
    lr__format_double(buf, sizeof buf, -999999999999999.0);
    assert_string_equal(buf, "-999999999999999");
    lr__format_double(buf, sizeof buf, 1e15);
    assert_string_equal(buf, "1e+15");
    lr__format_double(buf, sizeof buf, -1e15);
    assert_string_equal(buf, "-1e+15");
}

static void test_trim_all_ascii_space(void **state)
{
    (void)state;
    static const char text[] = " \t\r\n\f\vx y\v\f\n\r\t ";
    const char *s = text;
    size_t n = sizeof text - 1;
    lr__trim(&s, &n);
    assert_int_equal(n, 3);
    assert_memory_equal(s, "x y", 3);
}

static void test_equal_ci_whole_word(void **state)
{
    (void)state;
    assert_int_equal(lr__equal_ci("YES", 3, "yes"), 1);
    assert_int_equal(lr__equal_ci("Rr", 2, "rr"), 1);
    /* a start of the word is not the word */
    assert_int_equal(lr__equal_ci("ye", 2, "yes"), 0);
    assert_int_equal(lr__equal_ci("", 0, "no"), 0);
    assert_int_equal(lr__equal_ci("yess", 4, "yes"), 0);
}

static void test_fold_capitals_only(void **state)
{
    (void)state;
    /* AZ À É × ß А Я Σ ς: the sign and sharp s have no capital pair, final sigma is sigma */
    static const char in[] = "AZ\xC3\x80\xC3\x89\xC3\x97\xC3\x9F\xD0\x90\xD0\xAF\xCE\xA3\xCF\x82";
    static const char want[] = "az\xC3\xA0\xC3\xA9\xC3\x97\xC3\x9F\xD0\xB0\xD1\x8F\xCF\x83\xCF\x83";
    char out[sizeof in];
    lr__fold(in, sizeof in - 1, out);
    assert_memory_equal(out, want, sizeof in - 1);
}

/* Unicode's simple case folding in the folded ranges: variant forms fold
 * to their letters, as Unicode's CaseFolding.txt has it. */
static void test_fold_variant_forms(void **state)
{
    static const struct { unsigned from, to; } pairs[] = {
        { 0xB5, 0x3BC },  { 0x345, 0x3B9 }, { 0x3C2, 0x3C3 }, { 0x3D0, 0x3B2 }, { 0x3D1, 0x3B8 },
        { 0x3D5, 0x3C6 }, { 0x3D6, 0x3C0 }, { 0x3F0, 0x3BA }, { 0x3F1, 0x3C1 }, { 0x3F5, 0x3B5 },
        { 0x3F4, 0x3B8 }, { 0x3A3, 0x3C3 }, { 0x3B2, 0x3B2 }, { 0xDF, 0xDF },
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof pairs / sizeof *pairs; i++) {
        char in[2] = { (char)(0xC0 | (pairs[i].from >> 6)), (char)(0x80 | (pairs[i].from & 0x3F)) };
        char want[2] = { (char)(0xC0 | (pairs[i].to >> 6)), (char)(0x80 | (pairs[i].to & 0x3F)) };
        char out[2];
        lr__fold(in, 2, out);
        if (memcmp(out, want, 2) != 0)
            fail_msg("U+%04X folds to %02X %02X, want U+%04X", pairs[i].from, (unsigned char)out[0],
                     (unsigned char)out[1], pairs[i].to);
    }
}

/* --- *_init --------------------------------------------------------------- */

static void test_value_init(void **state)
{
    (void)state;
    leadroute_value v;
    memset(&v, 0xAB, sizeof v);
    assert_int_equal(leadroute_value_init(&v, LEADROUTE_VALUE_VERSION), LEADROUTE_OK);
    assert_int_equal(v.version, LEADROUTE_VALUE_VERSION);
    assert_int_equal(v.type, LEADROUTE_VALUE_NULL);
    assert_null(v.string);
    assert_null(v.items);
    assert_int_equal(v.item_count, 0);
    assert_int_equal(v.boolean, 0);
    assert_true(v.number == 0.0);
    assert_int_equal(leadroute_value_init(&v, 0), LEADROUTE_EVERSION);
    assert_int_equal(leadroute_value_init(&v, LEADROUTE_VALUE_VERSION + 1), LEADROUTE_EVERSION);
    assert_int_equal(leadroute_value_init(NULL, LEADROUTE_VALUE_VERSION), LEADROUTE_EINVAL);
    leadroute_value m = LEADROUTE_VALUE_INIT;
    assert_int_equal(m.version, LEADROUTE_VALUE_VERSION);
    assert_int_equal(m.type, LEADROUTE_VALUE_NULL);
}

static void test_lead_init(void **state)
{
    (void)state;
    leadroute_lead l;
    memset(&l, 0xAB, sizeof l);
    assert_int_equal(leadroute_lead_init(&l, LEADROUTE_LEAD_VERSION), LEADROUTE_OK);
    assert_int_equal(l.version, LEADROUTE_LEAD_VERSION);
    assert_null(l.id);
    assert_null(l.fields);
    assert_int_equal(l.field_count, 0);
    assert_int_equal(leadroute_lead_validate(&l), LEADROUTE_OK);
    assert_int_equal(leadroute_lead_init(&l, 0), LEADROUTE_EVERSION);
    assert_int_equal(leadroute_lead_init(&l, 99), LEADROUTE_EVERSION);
    assert_int_equal(leadroute_lead_init(NULL, LEADROUTE_LEAD_VERSION), LEADROUTE_EINVAL);
}

static void test_rule_init(void **state)
{
    (void)state;
    leadroute_rule r;
    memset(&r, 0xAB, sizeof r);
    assert_int_equal(leadroute_rule_init(&r, LEADROUTE_RULE_VERSION), LEADROUTE_OK);
    assert_int_equal(r.version, LEADROUTE_RULE_VERSION);
    assert_null(r.id);
    assert_null(r.inputs);
    assert_int_equal(r.input_count, 0);
    assert_null(r.outputs);
    assert_int_equal(r.output_count, 0);
    assert_int_equal(leadroute_rule_init(&r, 0), LEADROUTE_EVERSION);
    assert_int_equal(leadroute_rule_init(&r, LEADROUTE_RULE_VERSION + 1), LEADROUTE_EVERSION);
    assert_int_equal(leadroute_rule_init(NULL, LEADROUTE_RULE_VERSION), LEADROUTE_EINVAL);
}

static void test_table_options_init(void **state)
{
    (void)state;
    leadroute_table_options o;
    memset(&o, 0xAB, sizeof o);
    assert_int_equal(leadroute_table_options_init(&o, LEADROUTE_TABLE_OPTIONS_VERSION), LEADROUTE_OK);
    assert_int_equal(o.version, LEADROUTE_TABLE_OPTIONS_VERSION);
    assert_int_equal(o.flags, 0);
    assert_null(o.allocator);
    assert_int_equal(o.max_memory, 0);
    assert_int_equal(leadroute_table_options_init(&o, 0), LEADROUTE_EVERSION);
    assert_int_equal(leadroute_table_options_init(&o, 99), LEADROUTE_EVERSION);
    assert_int_equal(leadroute_table_options_init(NULL, LEADROUTE_TABLE_OPTIONS_VERSION),
                     LEADROUTE_EINVAL);
}

static void test_allocator_init(void **state)
{
    (void)state;
    leadroute_allocator a;
    memset(&a, 0xAB, sizeof a);
    assert_int_equal(leadroute_allocator_init(&a, LEADROUTE_ALLOCATOR_VERSION), LEADROUTE_OK);
    assert_int_equal(a.version, LEADROUTE_ALLOCATOR_VERSION);
    assert_null(a.alloc);
    assert_null(a.free);
    assert_null(a.user_data);
    assert_int_equal(leadroute_allocator_init(&a, 0), LEADROUTE_EVERSION);
    assert_int_equal(leadroute_allocator_init(&a, LEADROUTE_ALLOCATOR_VERSION + 1), LEADROUTE_EVERSION);
    assert_int_equal(leadroute_allocator_init(NULL, LEADROUTE_ALLOCATOR_VERSION), LEADROUTE_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_valid_forms),
        cmocka_unit_test(test_utf8_overlong),
        cmocka_unit_test(test_utf8_surrogates),
        cmocka_unit_test(test_utf8_too_big),
        cmocka_unit_test(test_utf8_truncated_and_broken),
        cmocka_unit_test(test_utf8_null),
        cmocka_unit_test(test_validate_null_and_versions),
        cmocka_unit_test(test_validate_ok),
        cmocka_unit_test(test_validate_bad_numbers),
        cmocka_unit_test(test_validate_bad_utf8),
        cmocka_unit_test(test_validate_too_long),
        cmocka_unit_test(test_validate_too_many_items),
        cmocka_unit_test(test_validate_too_many_fields),
        cmocka_unit_test(test_validate_duplicate_names),
        cmocka_unit_test(test_validate_utf8_edges),
        cmocka_unit_test(test_validate_messages_say_why),
        cmocka_unit_test(test_validate_set_without_items),
        cmocka_unit_test(test_validate_adjacent_duplicates),
        cmocka_unit_test(test_validate_null_fields_at_limit),
        cmocka_unit_test(test_parse_number_grammar),
        cmocka_unit_test(test_value_show_cut),
        cmocka_unit_test(test_value_show_kinds),
        cmocka_unit_test(test_format_double_whole),
        cmocka_unit_test(test_format_double_plain_bound),
        cmocka_unit_test(test_trim_all_ascii_space),
        cmocka_unit_test(test_equal_ci_whole_word),
        cmocka_unit_test(test_fold_capitals_only),
        cmocka_unit_test(test_fold_variant_forms),
        cmocka_unit_test(test_value_init),
        cmocka_unit_test(test_lead_init),
        cmocka_unit_test(test_rule_init),
        cmocka_unit_test(test_table_options_init),
        cmocka_unit_test(test_allocator_init),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
