/* Every input cell form of docs/table-format.md against every column type. */
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

/* --- one-cell tables ------------------------------------------------------ */

static char cur_field[64];
static leadroute_table *cur;

/* A table with one input column `col` (header text) and one rule `r1`
 * whose cell text is `cell`; CSV-quoted when it needs to be. */
static leadroute_table *cell_table(const char *col, const char *cell)
{
    char text[2048];
    char q[1024];
    size_t k = 0;
    if (strpbrk(cell, ",\"\n") != NULL) {
        q[k++] = '"';
        for (const char *p = cell; *p; p++) {
            if (*p == '"')
                q[k++] = '"';
            q[k++] = *p;
        }
        q[k++] = '"';
    } else {
        for (const char *p = cell; *p; p++)
            q[k++] = *p;
    }
    q[k] = '\0';
    snprintf(text, sizeof text, "rule,%s,out:o\nr1,%s,yes\n", col, q);
    size_t n = strcspn(col, ":");
    memcpy(cur_field, col, n);
    cur_field[n] = '\0';
    leadroute_table_unref(cur);
    cur = parse_ok(text);
    return cur;
}

static int matched(const tlead *l)
{
    const char *h = hits(cur, l);
    if (strcmp(h, "r1") == 0)
        return 1;
    if (strcmp(h, "") == 0)
        return 0;
    fail_msg("unexpected hits '%s'", h);
    return -1;
}

static int ms(const char *s)
{
    tlead l;
    tl_init(&l);
    tl_str(&l, cur_field, s);
    return matched(&l);
}

static int mn(double d)
{
    tlead l;
    tl_init(&l);
    tl_num(&l, cur_field, d);
    return matched(&l);
}

static int mb(int b)
{
    tlead l;
    tl_init(&l);
    tl_bool(&l, cur_field, b);
    return matched(&l);
}

/* The field is absent from the lead. */
static int mabsent(void)
{
    tlead l;
    tl_init(&l);
    tl_str(&l, "unrelated", "x");
    return matched(&l);
}

/* The field is present with a null value. */
static int mnull(void)
{
    tlead l;
    tl_init(&l);
    tl_null(&l, cur_field);
    return matched(&l);
}

static int mset(size_t n, ...)
{
    const char *items[16];
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        items[i] = va_arg(ap, const char *);
    va_end(ap);
    tlead l;
    tl_init(&l);
    tl_set(&l, cur_field, items, n);
    return matched(&l);
}

/* Missing in all its forms: absent, null, and (for strings) empty. */
static int all_missing_match(void)
{
    int a = mabsent(), b = mnull(), c = ms(""), d = ms("   ");
    if (a == b && b == c && c == d)
        return a;
    fail_msg("missing forms disagree: absent=%d null=%d empty=%d blank=%d", a, b, c, d);
    return -1;
}

static int teardown(void **state)
{
    (void)state;
    leadroute_table_unref(cur);
    cur = NULL;
    return 0;
}

/* --- string columns ------------------------------------------------------- */

static void test_string_any(void **state)
{
    (void)state;
    const char *forms[] = { "-", "" };
    for (size_t i = 0; i < 2; i++) {
        cell_table("region", forms[i]);
        assert_int_equal(ms("EMEA"), 1);
        assert_int_equal(ms("anything at all"), 1);
        assert_int_equal(all_missing_match(), 1);
    }
}

static void test_string_equals(void **state)
{
    (void)state;
    const char *forms[] = { "EMEA", "\"EMEA\"", "= EMEA", "=EMEA", "  EMEA  ", "= \"EMEA\"" };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        cell_table("region", forms[i]);
        assert_int_equal(ms("EMEA"), 1);
        assert_int_equal(ms("  EMEA\t"), 1);     /* lead values are trimmed */
        assert_int_equal(ms("emea"), 0);          /* case matters without :ci */
        assert_int_equal(ms("EMEA2"), 0);
        assert_int_equal(ms("EME"), 0);
        assert_int_equal(ms("NA"), 0);
        assert_int_equal(all_missing_match(), 0);
    }
}

static void test_string_quoted_keeps_text(void **state)
{
    (void)state;
    cell_table("company", "\"Smith, Jones\"");
    assert_int_equal(ms("Smith, Jones"), 1);
    assert_int_equal(ms("Smith"), 0);
    assert_int_equal(ms("Jones"), 0);

    cell_table("company", "\"<5\"");              /* a leading operator, kept as text */
    assert_int_equal(ms("<5"), 1);
    assert_int_equal(ms("4"), 0);

    cell_table("company", "\"say \\\"hi\\\"\"");  /* \" inside quotes */
    assert_int_equal(ms("say \"hi\""), 1);
    assert_int_equal(ms("say hi"), 0);

    cell_table("company", "\"back\\\\slash\"");  /* \\ inside quotes */
    assert_int_equal(ms("back\\slash"), 1);
    assert_int_equal(ms("back\\\\slash"), 0);

    cell_table("company", "\"null\"");            /* the word, not a missing value */
    assert_int_equal(ms("null"), 1);
    assert_int_equal(all_missing_match(), 0);

    cell_table("company", "\"-\"");               /* the text "-", not "any" */
    assert_int_equal(ms("-"), 1);
    assert_int_equal(ms("x"), 0);
    assert_int_equal(all_missing_match(), 0);
}

static void test_string_utf8_and_digits(void **state)
{
    (void)state;
    cell_table("city", "M\xC3\xBCnchen");
    assert_int_equal(ms("M\xC3\xBCnchen"), 1);
    assert_int_equal(ms("m\xC3\xBCnchen"), 0);
    assert_int_equal(ms("Munchen"), 0);

    cell_table("zip", "01067");                   /* digits in a string column are text */
    assert_int_equal(ms("01067"), 1);
    assert_int_equal(ms("1067"), 0);
}

static void test_string_null(void **state)
{
    (void)state;
    cell_table("region", "null");
    assert_int_equal(all_missing_match(), 1);
    assert_int_equal(ms("EMEA"), 0);
    assert_int_equal(ms("null"), 0);

    cell_table("region", "EMEA, null");
    assert_int_equal(all_missing_match(), 1);
    assert_int_equal(ms("EMEA"), 1);
    assert_int_equal(ms("NA"), 0);
}

static void test_string_not_equal(void **state)
{
    (void)state;
    const char *forms[] = { "!= EMEA", "!=EMEA", "not(EMEA)", "not( EMEA )" };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        cell_table("region", forms[i]);
        assert_int_equal(ms("EMEA"), 0);
        assert_int_equal(ms(" EMEA "), 0);
        assert_int_equal(ms("NA"), 1);
        assert_int_equal(ms("emea"), 1);
        assert_int_equal(all_missing_match(), 1);   /* missing is not EMEA */
    }
    /* quoted, a value may start with an operator */
    cell_table("region", "= \"=EMEA\"");
    assert_int_equal(ms("=EMEA"), 1);
    assert_int_equal(ms("EMEA"), 0);
    cell_table("region", "\"!x\", \"<y\"");
    assert_int_equal(ms("!x"), 1);
    assert_int_equal(ms("<y"), 1);
    assert_int_equal(ms("x"), 0);
}

static void test_string_list(void **state)
{
    (void)state;
    const char *forms[] = { "DE, AT, CH", "\"DE\", \"AT\", \"CH\"", "DE,AT,CH", " DE ,  AT,CH " };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        cell_table("country", forms[i]);
        assert_int_equal(ms("DE"), 1);
        assert_int_equal(ms("AT"), 1);
        assert_int_equal(ms("CH"), 1);
        assert_int_equal(ms("FR"), 0);
        assert_int_equal(ms("DE, AT"), 0);
        assert_int_equal(all_missing_match(), 0);
    }
}

static void test_string_not_list(void **state)
{
    (void)state;
    cell_table("country", "not(DE, AT, CH)");
    assert_int_equal(ms("DE"), 0);
    assert_int_equal(ms("AT"), 0);
    assert_int_equal(ms("CH"), 0);
    assert_int_equal(ms("FR"), 1);
    assert_int_equal(all_missing_match(), 1);

    cell_table("country", "not(DE, null)");
    assert_int_equal(ms("DE"), 0);
    assert_int_equal(ms("FR"), 1);
    assert_int_equal(all_missing_match(), 0);

    cell_table("country", "not(null)");
    assert_int_equal(ms("DE"), 1);
    assert_int_equal(all_missing_match(), 0);

    cell_table("country", "!= null");          /* same as not(null) */
    assert_int_equal(ms("DE"), 1);
    assert_int_equal(all_missing_match(), 0);

    cell_table("postal", "not(94*, 95*)");
    assert_int_equal(ms("94107"), 0);
    assert_int_equal(ms("95014"), 0);
    assert_int_equal(ms("10001"), 1);
    assert_int_equal(all_missing_match(), 1);
}

static void test_string_prefix(void **state)
{
    (void)state;
    const char *forms[] = { "94*", "\"94\"*", "starts with \"94\"" };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        cell_table("postal", forms[i]);
        assert_int_equal(ms("94107"), 1);
        assert_int_equal(ms("94"), 1);
        assert_int_equal(ms(" 94107 "), 1);
        assert_int_equal(ms("9"), 0);
        assert_int_equal(ms("19410"), 0);
        assert_int_equal(ms("95014"), 0);
        assert_int_equal(all_missing_match(), 0);
    }
    cell_table("postal", "94*, 95*, 98*");
    assert_int_equal(ms("94107"), 1);
    assert_int_equal(ms("95014"), 1);
    assert_int_equal(ms("98101"), 1);
    assert_int_equal(ms("96001"), 0);

    cell_table("postal", "\"9 4\"*");               /* quoted prefix keeps its space */
    assert_int_equal(ms("9 41"), 1);
    assert_int_equal(ms("941"), 0);

    cell_table("postal", "94*, 10001");             /* prefix and literal in one list */
    assert_int_equal(ms("94000"), 1);
    assert_int_equal(ms("10001"), 1);
    assert_int_equal(ms("100011"), 0);
}

/* --- case-insensitive columns -------------------------------------------- */

static void test_ci_ascii(void **state)
{
    (void)state;
    const char *cols[] = { "country:ci", "country:string:ci" };
    for (size_t i = 0; i < 2; i++) {
        cell_table(cols[i], "de");
        assert_int_equal(ms("DE"), 1);
        assert_int_equal(ms("De"), 1);
        assert_int_equal(ms("de"), 1);
        assert_int_equal(ms(" dE "), 1);
        assert_int_equal(ms("AT"), 0);
        assert_int_equal(all_missing_match(), 0);
    }
    cell_table("country:ci", "DE, at");
    assert_int_equal(ms("de"), 1);
    assert_int_equal(ms("AT"), 1);
    assert_int_equal(ms("ch"), 0);

    cell_table("country:ci", "not(DE)");
    assert_int_equal(ms("de"), 0);
    assert_int_equal(ms("ch"), 1);

    cell_table("country:ci", "!= de");
    assert_int_equal(ms("DE"), 0);
    assert_int_equal(ms("CH"), 1);

    cell_table("country:ci", "deu*");
    assert_int_equal(ms("DEUTSCHLAND"), 1);
    assert_int_equal(ms("Deutschland"), 1);
    assert_int_equal(ms("Dutch"), 0);

    /* the cell's own prefix is folded too, in both spellings */
    cell_table("country:ci", "starts with \"DEU\"");
    assert_int_equal(ms("deutschland"), 1);
    assert_int_equal(ms("DEUTSCHLAND"), 1);
    assert_int_equal(ms("de"), 0);
    cell_table("country:ci", "DEU*");
    assert_int_equal(ms("deutschland"), 1);
    cell_table("country", "starts with \"DEU\"");
    assert_int_equal(ms("deutschland"), 0);
    assert_int_equal(ms("DEUTSCHLAND"), 1);
}

static void test_ci_latin1_greek_cyrillic(void **state)
{
    (void)state;
    cell_table("city:ci", "M\xC3\x9C" "NCHEN");             /* MÜNCHEN */
    assert_int_equal(ms("m\xC3\xBC" "nchen"), 1);           /* münchen */
    assert_int_equal(ms("M\xC3\xBC" "nchen"), 1);
    assert_int_equal(ms("munchen"), 0);

    cell_table("city:ci", "\xC3\x80\xC3\x89\xC3\x8E");      /* ÀÉÎ */
    assert_int_equal(ms("\xC3\xA0\xC3\xA9\xC3\xAE"), 1);    /* àéî */

    cell_table("city:ci", "\xCE\x91\xCE\x98\xCE\x97\xCE\x9D\xCE\x91"); /* ΑΘΗΝΑ */
    assert_int_equal(ms("\xCE\xB1\xCE\xB8\xCE\xB7\xCE\xBD\xCE\xB1"), 1); /* αθηνα */
    assert_int_equal(ms("\xCE\x91\xCE\xB8\xCE\xB7\xCE\xBD\xCE\xB1"), 1); /* Αθηνα */
    assert_int_equal(ms("athina"), 0);

    cell_table("city:ci", "\xD0\x9C\xD0\x9E\xD0\xA1\xD0\x9A\xD0\x92\xD0\x90"); /* МОСКВА */
    assert_int_equal(ms("\xD0\xBC\xD0\xBE\xD1\x81\xD0\xBA\xD0\xB2\xD0\xB0"), 1); /* москва */
    assert_int_equal(ms("\xD0\x9C\xD0\xBE\xD1\x81\xD0\xBA\xD0\xB2\xD0\xB0"), 1); /* Москва */

    cell_table("city:ci", "\xD0\x81\xD0\x9B\xD0\x9A\xD0\x90");  /* ЁЛКА */
    assert_int_equal(ms("\xD1\x91\xD0\xBB\xD0\xBA\xD0\xB0"), 1); /* ёлка */

    /* the ends of each range: Þ (U+00DE), Ί (U+038A), Џ (U+040F), Ѡ
     * (U+0460), Ԯ (U+052E) */
    static const char *const ends[][2] = {
        { "\xC3\x9E" "ing", "\xC3\xBE" "ing" }, { "\xCE\x8A", "\xCE\xAF" }, { "\xD0\x8F", "\xD1\x9F" },
        { "\xD1\xA0", "\xD1\xA1" },             { "\xD4\xAE", "\xD4\xAF" },
    };
    for (size_t i = 0; i < sizeof ends / sizeof *ends; i++) {
        cell_table("city:ci", ends[i][1]);
        if (ms(ends[i][0]) != 1)
            fail_msg("capital %zu does not fold", i);
    }

    /* capitals past Omega and in Cyrillic's later pairs */
    cell_table("city:ci", "\xCE\xAA\xCE\xAB");          /* ΪΫ */
    assert_int_equal(ms("\xCF\x8A\xCF\x8B"), 1);         /* ϊϋ */
    cell_table("city:ci", "\xD2\x90\xD3\x80\xD3\x81");  /* Ґ Ӏ Ӂ */
    assert_int_equal(ms("\xD2\x91\xD3\x8F\xD3\x82"), 1); /* ґ ӏ ӂ */
    assert_int_equal(ms("\xD2\x91\xD3\x8F\xD3\x81"), 1);
    assert_int_equal(ms("\xD2\x91\xD3\x8F\xD3\x83"), 0); /* ӃU+04C3 is another letter */
    cell_table("city:ci", "\xCD\xB0\xCD\xB2\xCD\xB6\xCD\xBF\xCF\xB4");  /* Ͱ Ͳ Ͷ Ϳ ϴ */
    assert_int_equal(ms("\xCD\xB1\xCD\xB3\xCD\xB7\xCF\xB3\xCE\xB8"), 1);   /* ͱ ͳ ͷ ϳ θ */
    cell_table("city:ci", "\xCF\x98\xCF\xBD");          /* Ϙ Ͻ */
    assert_int_equal(ms("\xCF\x99\xCD\xBB"), 1);         /* ϙ ͻ */

    cell_table("city:ci", "M\xC3\x9C*");                /* MÜ* */
    assert_int_equal(ms("m\xC3\xBC" "nchen"), 1);
    assert_int_equal(ms("munchen"), 0);

    cell_table("city:ci", "\"\xD0\x9C\xD0\x9E\"*");  /* "МО"* */
    assert_int_equal(ms("\xD0\xBC\xD0\xBE\xD1\x81\xD0\xBA\xD0\xB2\xD0\xB0"), 1);

    /* U+00D7 × and U+00F7 ÷ sit where a capital and its small letter would,
     * but they are not letters. */
    cell_table("city:ci", "\xC3\x97");
    assert_int_equal(ms("\xC3\x97"), 1);
    assert_int_equal(ms("\xC3\xB7"), 0);

    /* Latin Extended-A (Ł U+0141, ł U+0142) is outside the folded ranges. */
    cell_table("city:ci", "\xC5\x81" "odz");
    assert_int_equal(ms("\xC5\x81" "ODZ"), 1);
    assert_int_equal(ms("\xC5\x82" "odz"), 0);
}

static void test_case_sensitive_by_default_non_ascii(void **state)
{
    (void)state;
    cell_table("city", "M\xC3\x9C" "NCHEN");
    assert_int_equal(ms("m\xC3\xBC" "nchen"), 0);
    assert_int_equal(ms("M\xC3\x9C" "NCHEN"), 1);
}

/* --- number columns ------------------------------------------------------- */

static void test_number_equals(void **state)
{
    (void)state;
    cell_table("employees:number", "42");
    assert_int_equal(mn(42), 1);
    assert_int_equal(mn(42.0000001), 0);
    assert_int_equal(mn(41), 0);
    assert_int_equal(mn(-42), 0);
    assert_int_equal(ms("42"), 1);        /* a string holding a number */
    assert_int_equal(ms("42.0"), 1);
    assert_int_equal(ms("4.2e1"), 1);
    assert_int_equal(ms("43"), 0);
    assert_int_equal(all_missing_match(), 0);

    cell_table("score:number", "-3.5");
    assert_int_equal(mn(-3.5), 1);
    assert_int_equal(mn(3.5), 0);
    assert_int_equal(ms("-3.5"), 1);

    cell_table("score:number", "1e3");
    assert_int_equal(mn(1000), 1);
    assert_int_equal(mn(1), 0);

    cell_table("score:number", "2.5E-1");
    assert_int_equal(mn(0.25), 1);

    cell_table("score:number", "+7");
    assert_int_equal(mn(7), 1);
    assert_int_equal(mn(-7), 0);

    cell_table("score:number", "= 0.5");
    assert_int_equal(mn(0.5), 1);
    assert_int_equal(mn(0.4), 0);

    cell_table("score:number", "0.1");
    assert_int_equal(mn(0.1), 1);
    assert_int_equal(ms("0.1"), 1);
    assert_int_equal(mn(0.10000001), 0);

    cell_table("score:number", "[0.1..0.3]");
    assert_int_equal(mn(0.1), 1);
    assert_int_equal(mn(0.3), 1);
    assert_int_equal(mn(0.30000001), 0);

    cell_table("score:number", "0");
    assert_int_equal(mn(0.0), 1);
    assert_int_equal(mn(-0.0), 1);
    assert_int_equal(all_missing_match(), 0);  /* missing is not zero */
}

static void test_number_comparisons(void **state)
{
    (void)state;
    const char *lt[] = { "< 5", "<5" };
    for (size_t i = 0; i < 2; i++) {
        cell_table("score:number", lt[i]);
        assert_int_equal(mn(4.999), 1);
        assert_int_equal(mn(-100), 1);
        assert_int_equal(mn(5), 0);
        assert_int_equal(mn(5.001), 0);
        assert_int_equal(all_missing_match(), 0);
    }
    cell_table("score:number", "<= 5");
    assert_int_equal(mn(5), 1);
    assert_int_equal(mn(4), 1);
    assert_int_equal(mn(5.0001), 0);
    cell_table("score:number", "> 5");
    assert_int_equal(mn(5), 0);
    assert_int_equal(mn(5.0001), 1);
    assert_int_equal(mn(1e9), 1);
    cell_table("score:number", ">=90");
    assert_int_equal(mn(90), 1);
    assert_int_equal(mn(89.99), 0);
    assert_int_equal(mn(100), 1);
    assert_int_equal(ms("95"), 1);
    assert_int_equal(ms("89"), 0);
    assert_int_equal(all_missing_match(), 0);
    cell_table("score:number", "> -2.5");
    assert_int_equal(mn(-2.5), 0);
    assert_int_equal(mn(-2.4), 1);
    assert_int_equal(mn(-3), 0);
}

static void check_interval(const char *cell, int lo_closed, int hi_closed)
{
    cell_table("employees:number", cell);   /* all of them span 10 .. 20 */
    assert_int_equal(mn(10), lo_closed);
    assert_int_equal(mn(20), hi_closed);
    assert_int_equal(mn(15), 1);
    assert_int_equal(mn(10.0001), 1);
    assert_int_equal(mn(19.9999), 1);
    assert_int_equal(mn(9.9999), 0);
    assert_int_equal(mn(20.0001), 0);
    assert_int_equal(mn(-15), 0);
    assert_int_equal(all_missing_match(), 0);
}

static void test_number_intervals(void **state)
{
    (void)state;
    check_interval("[10..20]", 1, 1);
    check_interval("(10..20)", 0, 0);
    check_interval("[10..20)", 1, 0);
    check_interval("(10..20]", 0, 1);
    check_interval("]10..20[", 0, 0);
    check_interval("]10..20]", 0, 1);
    check_interval("[10..20[", 1, 0);
}

static void test_number_intervals_negative_decimal(void **state)
{
    (void)state;
    cell_table("delta:number", "[-5..-1]");
    assert_int_equal(mn(-5), 1);
    assert_int_equal(mn(-1), 1);
    assert_int_equal(mn(-3), 1);
    assert_int_equal(mn(-5.5), 0);
    assert_int_equal(mn(0), 0);
    assert_int_equal(mn(1), 0);

    cell_table("delta:number", "(-0.5..0.5)");
    assert_int_equal(mn(0), 1);
    assert_int_equal(mn(-0.5), 0);
    assert_int_equal(mn(0.5), 0);
    assert_int_equal(mn(0.49), 1);
    assert_int_equal(mn(-0.49), 1);

    cell_table("delta:number", "[1e2..1.5e2)");
    assert_int_equal(mn(100), 1);
    assert_int_equal(mn(149.9), 1);
    assert_int_equal(mn(150), 0);

    cell_table("delta:number", "[5..5]");    /* one point is not empty */
    assert_int_equal(mn(5), 1);
    assert_int_equal(mn(5.0001), 0);
    assert_int_equal(mn(4.9999), 0);
}

static void test_number_lists_and_not(void **state)
{
    (void)state;
    cell_table("employees:number", "1, 5, >= 100, [10..20]");
    assert_int_equal(mn(1), 1);
    assert_int_equal(mn(5), 1);
    assert_int_equal(mn(100), 1);
    assert_int_equal(mn(5000), 1);
    assert_int_equal(mn(10), 1);
    assert_int_equal(mn(20), 1);
    assert_int_equal(mn(2), 0);
    assert_int_equal(mn(21), 0);
    assert_int_equal(mn(99.5), 0);
    assert_int_equal(all_missing_match(), 0);

    cell_table("employees:number", "not(< 5)");
    assert_int_equal(mn(5), 1);
    assert_int_equal(mn(4), 0);
    assert_int_equal(all_missing_match(), 1);

    cell_table("employees:number", "not([10..20], 50)");
    assert_int_equal(mn(10), 0);
    assert_int_equal(mn(15), 0);
    assert_int_equal(mn(50), 0);
    assert_int_equal(mn(9), 1);
    assert_int_equal(mn(21), 1);
    assert_int_equal(all_missing_match(), 1);

    cell_table("employees:number", "!= 5");
    assert_int_equal(mn(5), 0);
    assert_int_equal(mn(6), 1);
    assert_int_equal(all_missing_match(), 1);

    cell_table("employees:number", "null");
    assert_int_equal(all_missing_match(), 1);
    assert_int_equal(mn(0), 0);

    cell_table("employees:number", "null, > 100");
    assert_int_equal(all_missing_match(), 1);
    assert_int_equal(mn(101), 1);
    assert_int_equal(mn(100), 0);

    cell_table("employees:number", "-");
    assert_int_equal(mn(-1e300), 1);
    assert_int_equal(all_missing_match(), 1);
}

/* --- bool columns --------------------------------------------------------- */

static void test_bool_cells(void **state)
{
    (void)state;
    const char *t_forms[] = { "true", "= true" };
    for (size_t i = 0; i < 2; i++) {
        cell_table("active:bool", t_forms[i]);
        assert_int_equal(mb(1), 1);
        assert_int_equal(mb(7), 1);            /* anything non-zero is true */
        assert_int_equal(mb(0), 0);
        assert_int_equal(ms("true"), 1);
        assert_int_equal(ms("TRUE"), 1);
        assert_int_equal(ms("True"), 1);
        assert_int_equal(ms("false"), 0);
        assert_int_equal(ms("FALSE"), 0);
        assert_int_equal(all_missing_match(), 0);
    }
    cell_table("active:bool", "false");
    assert_int_equal(mb(0), 1);
    assert_int_equal(mb(1), 0);
    assert_int_equal(ms("False"), 1);
    assert_int_equal(all_missing_match(), 0);   /* missing is not false */

    const char *ne[] = { "!= true", "not(true)" };
    for (size_t i = 0; i < 2; i++) {
        cell_table("active:bool", ne[i]);
        assert_int_equal(mb(0), 1);
        assert_int_equal(mb(1), 0);
        assert_int_equal(all_missing_match(), 1);
    }
    cell_table("active:bool", "null");
    assert_int_equal(all_missing_match(), 1);
    assert_int_equal(mb(0), 0);
    assert_int_equal(mb(1), 0);

    cell_table("active:bool", "true, false");
    assert_int_equal(mb(0), 1);
    assert_int_equal(mb(1), 1);
    assert_int_equal(all_missing_match(), 0);
}

/* --- set columns ---------------------------------------------------------- */

static void test_set_cells(void **state)
{
    (void)state;
    cell_table("products:set", "crm");
    assert_int_equal(mset(1, "crm"), 1);
    assert_int_equal(mset(3, "erp", "hr", "crm"), 1);
    assert_int_equal(mset(2, "erp", "hr"), 0);
    assert_int_equal(mset(1, "crm2"), 0);
    assert_int_equal(ms("crm"), 1);             /* a single string is a set of one */
    assert_int_equal(ms("erp"), 0);
    assert_int_equal(mset(0), 0);               /* the empty set is missing */
    assert_int_equal(mabsent(), 0);
    assert_int_equal(mnull(), 0);

    cell_table("products:set", "crm, erp");
    assert_int_equal(mset(1, "erp"), 1);
    assert_int_equal(mset(2, "hr", "crm"), 1);
    assert_int_equal(mset(2, "hr", "bi"), 0);

    const char *nots[] = { "not(crm)", "!= crm" };
    for (size_t i = 0; i < 2; i++) {
        cell_table("products:set", nots[i]);
        assert_int_equal(mset(2, "erp", "hr"), 1);
        assert_int_equal(mset(2, "erp", "crm"), 0);   /* no item may pass */
        assert_int_equal(mset(1, "crm"), 0);
        assert_int_equal(mset(0), 1);
        assert_int_equal(mabsent(), 1);
    }
    cell_table("products:set", "not(crm, erp)");
    assert_int_equal(mset(1, "hr"), 1);
    assert_int_equal(mset(2, "hr", "erp"), 0);
    assert_int_equal(mset(2, "crm", "erp"), 0);

    const char *pre[] = { "cr*", "starts with \"cr\"" };
    for (size_t i = 0; i < 2; i++) {
        cell_table("products:set", pre[i]);
        assert_int_equal(mset(2, "erp", "crm-suite"), 1);
        assert_int_equal(mset(2, "erp", "scrm"), 0);
        assert_int_equal(mset(0), 0);
    }
    cell_table("products:set", "null");
    assert_int_equal(mset(0), 1);
    assert_int_equal(mabsent(), 1);
    assert_int_equal(mnull(), 1);
    assert_int_equal(mset(1, "crm"), 0);

    cell_table("products:set", "-");
    assert_int_equal(mset(0), 1);
    assert_int_equal(mset(2, "a", "b"), 1);
    assert_int_equal(mabsent(), 1);

    cell_table("products:set", "\"a, b\"");
    assert_int_equal(mset(1, "a, b"), 1);
    assert_int_equal(mset(2, "a", "b"), 0);

    cell_table("products:set", "= crm");
    assert_int_equal(mset(2, "erp", "crm"), 1);
    assert_int_equal(mset(1, "erp"), 0);

    cell_table("products:set:ci", "not(CRM)");
    assert_int_equal(mset(2, "erp", "crm"), 0);
    assert_int_equal(mset(1, "erp"), 1);

    cell_table("products:set:ci", "CRM");
    assert_int_equal(mset(2, "erp", "crm"), 1);
    assert_int_equal(mset(1, "Crm"), 1);
    assert_int_equal(mset(1, "erp"), 0);
}

/* --- invalid lead values -------------------------------------------------- */

static void expect_elead(const tlead *l, const char *field)
{
    assert_int_equal(eval_rc(cur, l), LEADROUTE_ELEAD);
    expect_message_has(field);
}

static void test_invalid_lead_values(void **state)
{
    (void)state;
    tlead l;
    cell_table("employees:number", ">= 10");
    tl_init(&l);
    tl_num(&l, "employees", NAN);
    expect_elead(&l, "employees");
    tl_init(&l);
    tl_num(&l, "employees", INFINITY);
    expect_elead(&l, "employees");
    tl_init(&l);
    tl_num(&l, "employees", -INFINITY);
    expect_elead(&l, "employees");
    tl_init(&l);
    tl_str(&l, "employees", "twelve");
    expect_elead(&l, "employees");
    tl_init(&l);
    tl_str(&l, "employees", "12abc");
    expect_elead(&l, "employees");
    tl_init(&l);
    tl_str(&l, "employees", "nan");
    expect_elead(&l, "employees");
    tl_init(&l);
    tl_str(&l, "employees", "inf");
    expect_elead(&l, "employees");
    tl_init(&l);
    tl_str(&l, "employees", "1e999");            /* not finite */
    expect_elead(&l, "employees");
    tl_init(&l);
    tl_str(&l, "employees", "0x10");
    expect_elead(&l, "employees");
    tl_init(&l);
    tl_str(&l, "employees", "1,000");
    expect_elead(&l, "employees");
    tl_init(&l);
    tl_bool(&l, "employees", 1);                 /* wrong type */
    expect_elead(&l, "employees");

    cell_table("region", "EMEA");
    tl_init(&l);
    tl_str(&l, "region", "EM\xFF" "EA");
    expect_elead(&l, "region");
    tl_init(&l);
    tl_str(&l, "region", "\xED\xA0\x80");
    expect_elead(&l, "region");
    char *big = malloc(LEADROUTE_MAX_STRING + 2);
    assert_non_null(big);
    memset(big, 'E', LEADROUTE_MAX_STRING + 1);
    big[LEADROUTE_MAX_STRING + 1] = '\0';
    tl_init(&l);
    tl_str(&l, "region", big);
    expect_elead(&l, "region");

    cell_table("products:set", "crm");
    const char *bad_items[] = { "crm", "e\xC3" };
    tl_init(&l);
    tl_set(&l, "products", bad_items, 2);
    expect_elead(&l, "products");
    const char *long_items[] = { "crm", big };
    tl_init(&l);
    tl_set(&l, "products", long_items, 2);
    expect_elead(&l, "products");
    free(big);

    cell_table("active:bool", "true");
    tl_init(&l);
    tl_str(&l, "active", "yes");                /* only true/false strings */
    expect_elead(&l, "active");

    /* The same invalid value in a field no column reads is ignored. */
    cell_table("region", "EMEA");
    tl_init(&l);
    tl_str(&l, "region", "EMEA");
    tl_num(&l, "unread", NAN);
    tl_str(&l, "unread2", "\xFF");
    assert_string_equal(hits(cur, &l), "r1");
}

/* --- output cells --------------------------------------------------------- */

static void test_output_cells(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok(
        "rule,x,out:s,out:n:number,out:b:bool,out:q\n"
        "a,1,pool-a,5,true,\"\"\"Smith, Jones\"\"\"\n"
        "b,2,-,-2.5e1,false,\n"
        "c,3,null,,-,null\n");
    assert_int_equal(leadroute_table_output_count(t), 4);
    assert_int_equal(leadroute_table_output_type(t, 0), LEADROUTE_TYPE_STRING);
    assert_int_equal(leadroute_table_output_type(t, 1), LEADROUTE_TYPE_NUMBER);
    assert_int_equal(leadroute_table_output_type(t, 2), LEADROUTE_TYPE_BOOL);
    assert_int_equal(leadroute_table_output_type(t, 3), LEADROUTE_TYPE_STRING);
    leadroute_result *r = NULL;
    assert_int_equal(leadroute_result_new(&r, t, NULL), LEADROUTE_OK);
    tlead l;

    tl_init(&l);
    tl_str(&l, "x", "1");
    assert_int_equal(leadroute_table_eval(t, &l.lead, r), LEADROUTE_OK);
    assert_int_equal(leadroute_result_count(r), 1);
    const leadroute_value *v = leadroute_result_output(r, 0, 0);
    assert_non_null(v);
    assert_int_equal(v->type, LEADROUTE_VALUE_STRING);
    assert_string_equal(v->string, "pool-a");
    v = leadroute_result_output(r, 0, 1);
    assert_int_equal(v->type, LEADROUTE_VALUE_NUMBER);
    assert_true(v->number == 5.0);
    v = leadroute_result_output(r, 0, 2);
    assert_int_equal(v->type, LEADROUTE_VALUE_BOOL);
    assert_true(v->boolean != 0);
    v = leadroute_result_output(r, 0, 3);
    assert_int_equal(v->type, LEADROUTE_VALUE_STRING);
    assert_string_equal(v->string, "Smith, Jones");
    assert_null(leadroute_result_output(r, 0, 4));
    assert_null(leadroute_result_output(r, 1, 0));

    tl_init(&l);
    tl_str(&l, "x", "2");
    assert_int_equal(leadroute_table_eval(t, &l.lead, r), LEADROUTE_OK);
    assert_string_equal(leadroute_result_rule_id(r, 0), "b");
    assert_int_equal(leadroute_result_output(r, 0, 0)->type, LEADROUTE_VALUE_NULL);
    assert_int_equal(leadroute_result_output(r, 0, 1)->type, LEADROUTE_VALUE_NUMBER);
    assert_true(leadroute_result_output(r, 0, 1)->number == -25.0);
    assert_int_equal(leadroute_result_output(r, 0, 2)->type, LEADROUTE_VALUE_BOOL);
    assert_int_equal(leadroute_result_output(r, 0, 2)->boolean, 0);
    assert_int_equal(leadroute_result_output(r, 0, 3)->type, LEADROUTE_VALUE_NULL);

    tl_init(&l);
    tl_str(&l, "x", "3");
    assert_int_equal(leadroute_table_eval(t, &l.lead, r), LEADROUTE_OK);
    for (size_t o = 0; o < 4; o++)
        assert_int_equal(leadroute_result_output(r, 0, o)->type, LEADROUTE_VALUE_NULL);

    leadroute_result_free(r);
    leadroute_table_unref(t);
}

/* --- several columns: a rule needs every cell to match -------------------- */

static void test_conjunction_of_columns(void **state)
{
    (void)state;
    leadroute_table *t = parse_ok(
        "rule,region,employees:number,products:set,active:bool,out:o\n"
        "r1,EMEA,>= 100,crm,true,x\n");
    const char *crm[] = { "crm" };
    const char *erp[] = { "erp" };
    tlead l;
    tl_init(&l);
    tl_str(&l, "region", "EMEA");
    tl_num(&l, "employees", 150);
    tl_set(&l, "products", crm, 1);
    tl_bool(&l, "active", 1);
    assert_string_equal(hits(t, &l), "r1");
    l.f[0].value.string = "NA";
    assert_string_equal(hits(t, &l), "");
    l.f[0].value.string = "EMEA";
    l.f[1].value.number = 99;
    assert_string_equal(hits(t, &l), "");
    l.f[1].value.number = 100;
    l.f[2].value.items = erp;
    assert_string_equal(hits(t, &l), "");
    l.f[2].value.items = crm;
    l.f[3].value.boolean = 0;
    assert_string_equal(hits(t, &l), "");
    l.f[3].value.boolean = 1;
    assert_string_equal(hits(t, &l), "r1");
    leadroute_table_unref(t);
}

/* Review findings: Greek accented capitals and final sigma fold like the
 * rest; a COLLECT sum that overflows is an error; a failed call empties the
 * result. */
/* Cell keywords are read in any case: null, not(...), starts with, true
 * and false, and the type name boolean beside bool. */
static void test_keywords_any_case(void **state)
{
    (void)state;
    cell_table("region", "NULL");
    assert_int_equal(ms(""), 1);
    assert_int_equal(mabsent(), 1);
    assert_int_equal(ms("NULL"), 0);
    cell_table("region", "Null");
    assert_int_equal(mnull(), 1);
    cell_table("region", "NOT(EMEA)");
    assert_int_equal(ms("APAC"), 1);
    assert_int_equal(ms("EMEA"), 0);
    cell_table("zip", "Starts With \"94\"");
    assert_int_equal(ms("9412"), 1);
    assert_int_equal(ms("9512"), 0);
    cell_table("won:bool", "TRUE");
    assert_int_equal(mb(1), 1);
    assert_int_equal(mb(0), 0);
    cell_table("won:bool", "False");
    assert_int_equal(mb(0), 1);
    cell_table("won:boolean", "true");
    assert_int_equal(leadroute_table_input_type(cur, 0), LEADROUTE_TYPE_BOOL);
    assert_int_equal(mb(1), 1);
}

/* The short prefix forms drop the blanks before their '*', bare or quoted;
 * a quoted prefix keeps blanks only inside its quotes; `starts with`
 * followed by a comma is the keyword missing its prefix, not a word of a
 * list. */
static void test_prefix_forms_at_their_edges(void **state)
{
    (void)state;
    cell_table("zip", "94 *");
    assert_int_equal(ms("9412"), 1);
    assert_int_equal(ms("94 12"), 1);
    assert_int_equal(ms("9512"), 0);
    cell_table("zip", "\"94 \"  *, \"EM\"\t*");
    assert_int_equal(ms("94 12"), 1);
    assert_int_equal(ms("9412"), 0);
    assert_int_equal(ms("EMEA"), 1);
    cell_table("zip", "not(\"94\" *)");
    assert_int_equal(ms("9412"), 0);
    assert_int_equal(ms("9512"), 1);
    /* read as the quoted prefix without the blank, wherever that one may
     * or may not stand */
    cell_table("zip", "!= \"94\" *");
    assert_int_equal(ms("9412"), 0);
    assert_int_equal(ms("9512"), 1);
    assert_int_equal(parse_rc("rule,zip,out:x\nr1,\"= \"\"94\"\" *\",hit\n"), LEADROUTE_EPARSE);
    expect_message_has("cannot follow '=': write it alone, as in \"94\"*");
    assert_int_equal(parse_rc("rule,n:number,out:x\nr1,\"\"\"94\"\" *\",hit\n"), LEADROUTE_EPARSE);
    expect_message_has("2:5: column 'n' (number): cannot read '\"94\" *': a prefix test needs a string or set column");
    assert_int_equal(parse_rc("rule,region,out:x\nr1,\"starts with, x\",hit\n"), LEADROUTE_EPARSE);
    expect_message_has("expected a quoted prefix after 'starts with'");
}

/* An empty item of a set is skipped on both reading paths: a lead giving
 * the field under the table's own name pointer (read inline) and one
 * under a copy of the name (read through the general checks). */
static void test_set_empty_item_both_paths(void **state)
{
    static const char *const items[] = { "", "crm" };
    leadroute_table *t = parse_ok("#! hit_policy: rule order\nrule,tags:set,out:x\nr_null,null,missing\n"
                                  "r_notnull,not(null),present\nr_crm,crm,crm\n");
    char copy[16];
    tlead l;
    (void)state;
    snprintf(copy, sizeof copy, "%s", leadroute_table_input_name(t, 0));
    tl_init(&l);
    tl_set(&l, leadroute_table_input_name(t, 0), items, 2);
    assert_string_equal(hits(t, &l), "r_notnull,r_crm");
    tl_init(&l);
    tl_set(&l, copy, items, 2);
    assert_string_equal(hits(t, &l), "r_notnull,r_crm");
    /* only empty items: missing, on both paths */
    tl_init(&l);
    tl_set(&l, leadroute_table_input_name(t, 0), items, 1);
    assert_string_equal(hits(t, &l), "r_null");
    tl_init(&l);
    tl_set(&l, copy, items, 1);
    assert_string_equal(hits(t, &l), "r_null");
    leadroute_table_unref(t);
}

static void test_greek_folding_and_overflow(void **state)
{
    leadroute_table *t = parse_ok("code:ci,out:o\n\"\xce\x91\xce\x98\xce\x89\xce\x9d\xce\x91\",athens\n"
                                  "\"\xce\x9f\xce\x94\xce\x9f\xce\xa3\",street\n");
    tlead l;
    (void)state;
    tl_init(&l);
    tl_str(&l, "code", "\xce\xb1\xce\xb8\xce\xae\xce\xbd\xce\xb1"); /* αθήνα */
    assert_string_equal(hits(t, &l), "1");
    tl_init(&l);
    tl_str(&l, "code", "\xce\xbf\xce\xb4\xce\xbf\xcf\x82"); /* οδος with final sigma */
    assert_string_equal(hits(t, &l), "2");
    leadroute_table_unref(t);

    t = parse_ok("#! hit_policy: C+\nk,out:n:number\n-,1e308\n-,1e308\n");
    tl_init(&l);
    tl_str(&l, "k", "x");
    assert_int_equal(eval_rc(t, &l), LEADROUTE_ERANGE);
    expect_message_has("'n'");
    leadroute_table_unref(t);

    {
        leadroute_result *r = NULL;
        t = parse_ok("k,out:o\n-,a\n");
        assert_int_equal(leadroute_result_new(&r, t, NULL), LEADROUTE_OK);
        tl_init(&l);
        assert_int_equal(leadroute_table_eval(t, &l.lead, r), LEADROUTE_OK);
        assert_int_equal(leadroute_result_count(r), 1);
        assert_int_equal(leadroute_table_eval(NULL, &l.lead, r), LEADROUTE_EINVAL);
        assert_int_equal(leadroute_result_count(r), 0);
        leadroute_result_free(r);
        leadroute_table_unref(t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_string_any, teardown),
        cmocka_unit_test_teardown(test_string_equals, teardown),
        cmocka_unit_test_teardown(test_string_quoted_keeps_text, teardown),
        cmocka_unit_test_teardown(test_string_utf8_and_digits, teardown),
        cmocka_unit_test_teardown(test_string_null, teardown),
        cmocka_unit_test_teardown(test_string_not_equal, teardown),
        cmocka_unit_test_teardown(test_string_list, teardown),
        cmocka_unit_test_teardown(test_string_not_list, teardown),
        cmocka_unit_test_teardown(test_string_prefix, teardown),
        cmocka_unit_test_teardown(test_ci_ascii, teardown),
        cmocka_unit_test_teardown(test_ci_latin1_greek_cyrillic, teardown),
        cmocka_unit_test_teardown(test_case_sensitive_by_default_non_ascii, teardown),
        cmocka_unit_test_teardown(test_number_equals, teardown),
        cmocka_unit_test_teardown(test_number_comparisons, teardown),
        cmocka_unit_test_teardown(test_number_intervals, teardown),
        cmocka_unit_test_teardown(test_number_intervals_negative_decimal, teardown),
        cmocka_unit_test_teardown(test_number_lists_and_not, teardown),
        cmocka_unit_test_teardown(test_bool_cells, teardown),
        cmocka_unit_test_teardown(test_set_cells, teardown),
        cmocka_unit_test_teardown(test_invalid_lead_values, teardown),
        cmocka_unit_test_teardown(test_output_cells, teardown),
        cmocka_unit_test_teardown(test_conjunction_of_columns, teardown),
        cmocka_unit_test_teardown(test_keywords_any_case, teardown),
        cmocka_unit_test_teardown(test_prefix_forms_at_their_edges, teardown),
        cmocka_unit_test(test_set_empty_item_both_paths),
        cmocka_unit_test(test_greek_folding_and_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
