/* The RFC 4180 reader under the table parser and the leads reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/csv.h"
#include "base/value.h"
#include "leadroute/common.h"

/* Counting allocator: proves every byte goes through lr__alloc and comes back. */
typedef struct counter {
    long live;
    long calls;
} counter;

static void *count_alloc(void *ud, size_t size)
{
    counter *c = ud;
    c->live++;
    c->calls++;
    return malloc(size);
}

static void count_free(void *ud, void *ptr)
{
    counter *c = ud;
    if (ptr)
        c->live--;
    free(ptr);
}

static counter g_count;
static lr__alloc g_alloc = { count_alloc, count_free, &g_count };

/* Each test starts with a clean count, so one failure does not cascade. */
static int reset_count(void **state)
{
    (void)state;
    g_count.live = 0;
    g_count.calls = 0;
    return 0;
}

/* The reader gets an exact-size heap copy so any read past `len` is caught
 * by the sanitizers and valgrind. */
typedef struct fixture {
    lr__csv csv;
    char *copy;
} fixture;

static void open_text(fixture *fx, const char *text, size_t len, int comments_unused)
{
    (void)comments_unused;
    fx->copy = malloc(len ? len : 1);
    assert_non_null(fx->copy);
    if (len)
        memcpy(fx->copy, text, len);
    lr__csv_init(&fx->csv, fx->copy, len, "t.csv", &g_alloc);
}

#define OPEN(fx, lit) open_text((fx), (lit), sizeof(lit) - 1, 0)

static void close_text(fixture *fx)
{
    lr__csv_free(&fx->csv);
    free(fx->copy);
    assert_int_equal(g_count.live, 0);
}

static void assert_field(const lr__csv *csv, uint32_t i, const char *text, uint32_t line, uint32_t col)
{
    assert_true(i < csv->nfields);
    assert_int_equal(csv->fields[i].len, strlen(text));
    assert_memory_equal(csv->fields[i].text, text, strlen(text) + 1);   /* includes the NUL */
    assert_int_equal(csv->fields[i].line, line);
    assert_int_equal(csv->fields[i].col, col);
}

static void assert_error(int rc, int code, const char *prefix, uint32_t line, uint32_t col)
{
    const leadroute_error *e = leadroute_error_last();
    assert_int_equal(rc, code);
    assert_int_equal(e->code, code);
    assert_int_equal(e->line, line);
    assert_int_equal(e->column, col);
    if (strncmp(e->message, prefix, strlen(prefix)) != 0)
        fail_msg("message '%s' does not start with '%s'", e->message, prefix);
}

static void test_simple_records(void **state)
{
    (void)state;
    fixture fx;
    OPEN(&fx, "a,bb,ccc\n1,22,333\n");
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_int_equal(fx.csv.nfields, 3);
    assert_int_equal(fx.csv.line, 1);
    assert_int_equal(fx.csv.is_comment, 0);
    assert_field(&fx.csv, 0, "a", 1, 1);
    assert_field(&fx.csv, 1, "bb", 1, 3);
    assert_field(&fx.csv, 2, "ccc", 1, 6);
    assert_int_equal(fx.csv.fields[1].quoted, 0);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_int_equal(fx.csv.line, 2);
    assert_field(&fx.csv, 0, "1", 2, 1);
    assert_field(&fx.csv, 2, "333", 2, 6);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 0);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 0);
    close_text(&fx);
}

static void test_crlf_and_no_final_newline(void **state)
{
    (void)state;
    fixture fx;
    OPEN(&fx, "a,b\r\nc,d\r\ne,f");
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_field(&fx.csv, 1, "b", 1, 3);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_field(&fx.csv, 0, "c", 2, 1);
    assert_field(&fx.csv, 1, "d", 2, 3);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_int_equal(fx.csv.nfields, 2);
    assert_field(&fx.csv, 1, "f", 3, 3);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 0);
    close_text(&fx);
}

static void test_lone_cr(void **state)
{
    (void)state;
    fixture fx;
    /* a CR alone ends no line (old Mac line ends would make one record of
     * a whole file): an error at the CR, except at the very end; inside
     * quotes it is data */
    OPEN(&fx, "x,a\rb,c\n\"a\rb\",c\r");
    assert_error(lr__csv_next(&fx.csv, 0), LEADROUTE_EPARSE, "t.csv:1:4: a carriage return without a line feed",
                 1, 4);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_int_equal(fx.csv.nfields, 2);
    assert_field(&fx.csv, 0, "a\rb", 2, 1);
    assert_field(&fx.csv, 1, "c", 2, 7);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 0);
    close_text(&fx);
    /* and in a comment line */
    OPEN(&fx, "# a\rb\nx\n");
    assert_error(lr__csv_next(&fx.csv, 1), LEADROUTE_EPARSE, "t.csv:1:4: a carriage return", 1, 4);
    assert_int_equal(lr__csv_next(&fx.csv, 1), 1);
    assert_field(&fx.csv, 0, "x", 2, 1);
    close_text(&fx);
}

static void test_empty_fields_and_blank_lines(void **state)
{
    (void)state;
    fixture fx;
    OPEN(&fx, ",,\n\nx,\n");
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_int_equal(fx.csv.nfields, 3);
    assert_field(&fx.csv, 0, "", 1, 1);
    assert_field(&fx.csv, 1, "", 1, 2);
    assert_field(&fx.csv, 2, "", 1, 3);
    /* a blank line is one empty field */
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_int_equal(fx.csv.nfields, 1);
    assert_int_equal(fx.csv.line, 2);
    assert_field(&fx.csv, 0, "", 2, 1);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_int_equal(fx.csv.nfields, 2);
    assert_field(&fx.csv, 0, "x", 3, 1);
    assert_field(&fx.csv, 1, "", 3, 3);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 0);
    close_text(&fx);
}

static void test_trailing_comma_at_end(void **state)
{
    (void)state;
    fixture fx;
    OPEN(&fx, "a,");
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_int_equal(fx.csv.nfields, 2);
    assert_field(&fx.csv, 1, "", 1, 3);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 0);
    close_text(&fx);
}

static void test_quoted_fields(void **state)
{
    (void)state;
    fixture fx;
    OPEN(&fx, "\"a,b\",\"say \"\"hi\"\"\",\"\"\n\"x\",y\n");
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_int_equal(fx.csv.nfields, 3);
    assert_field(&fx.csv, 0, "a,b", 1, 1);
    assert_int_equal(fx.csv.fields[0].quoted, 1);
    assert_field(&fx.csv, 1, "say \"hi\"", 1, 7);
    assert_int_equal(fx.csv.fields[1].quoted, 1);
    assert_field(&fx.csv, 2, "", 1, 20);
    assert_int_equal(fx.csv.fields[2].quoted, 1);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_field(&fx.csv, 0, "x", 2, 1);
    assert_field(&fx.csv, 1, "y", 2, 5);
    assert_int_equal(fx.csv.fields[1].quoted, 0);
    close_text(&fx);

    /* blanks (space or tab) before an opening quote are dropped, as
     * spreadsheets write `a, "b, c"`; the field starts at its quote */
    OPEN(&fx, "a, \"b, c\",\t\"d\"\n");
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_int_equal(fx.csv.nfields, 3);
    assert_field(&fx.csv, 0, "a", 1, 1);
    assert_field(&fx.csv, 1, "b, c", 1, 4);
    assert_int_equal(fx.csv.fields[1].quoted, 1);
    assert_field(&fx.csv, 2, "d", 1, 12);
    assert_int_equal(fx.csv.fields[2].quoted, 1);
    close_text(&fx);
}

static void test_embedded_line_breaks(void **state)
{
    (void)state;
    fixture fx;
    OPEN(&fx, "\"one\ntwo\",z\r\n\"p\r\nq\",r\nlast\n");
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_int_equal(fx.csv.line, 1);
    assert_field(&fx.csv, 0, "one\ntwo", 1, 1);
    /* z sits on the second physical line, after `two",` */
    assert_field(&fx.csv, 1, "z", 2, 6);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_int_equal(fx.csv.line, 3);
    assert_field(&fx.csv, 0, "p\r\nq", 3, 1);
    assert_field(&fx.csv, 1, "r", 4, 4);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_int_equal(fx.csv.line, 5);
    assert_field(&fx.csv, 0, "last", 5, 1);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 0);
    close_text(&fx);
}

static void test_quote_inside_unquoted_is_literal(void **state)
{
    (void)state;
    fixture fx;
    OPEN(&fx, "ab\"c\"d, \"x\"\n");
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_int_equal(fx.csv.nfields, 2);
    assert_field(&fx.csv, 0, "ab\"c\"d", 1, 1);
    /* blanks before an opening quote are dropped: the field is quoted */
    assert_field(&fx.csv, 1, "x", 1, 9);
    assert_int_equal(fx.csv.fields[1].quoted, 1);
    close_text(&fx);
}

static void test_text_after_closing_quote(void **state)
{
    (void)state;
    fixture fx;
    OPEN(&fx, "ok,fine\nx,\"ab\"c,d\n");
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_error(lr__csv_next(&fx.csv, 0), LEADROUTE_EPARSE, "t.csv:2:7: ", 2, 7);
    assert_non_null(strstr(leadroute_error_last()->message, "after closing quote"));
    assert_string_equal(leadroute_error_last()->file, "t.csv");
    assert_int_equal(fx.csv.nfields, 0);
    close_text(&fx);

    /* blanks after the closing quote are dropped; other text is not */
    OPEN(&fx, "\"a\" \t,b\n\"a\" x,b");
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_field(&fx.csv, 0, "a", 1, 1);
    assert_field(&fx.csv, 1, "b", 1, 7);
    assert_error(lr__csv_next(&fx.csv, 0), LEADROUTE_EPARSE, "t.csv:2:5: ", 2, 5);
    close_text(&fx);
}

static void test_unterminated_quote(void **state)
{
    (void)state;
    fixture fx;
    OPEN(&fx, "h\na,\"bc\nd,e\n");
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    /* reported at the opening quote, however far the scan went */
    assert_error(lr__csv_next(&fx.csv, 0), LEADROUTE_EPARSE, "t.csv:2:3: ", 2, 3);
    assert_non_null(strstr(leadroute_error_last()->message, "unterminated"));
    close_text(&fx);

    /* the closing quote lies just past `len`: it must not be seen */
    static const char text[] = "a,\"b\"";
    open_text(&fx, text, 4, 0);
    assert_error(lr__csv_next(&fx.csv, 0), LEADROUTE_EPARSE, "t.csv:1:3: ", 1, 3);
    close_text(&fx);
}

static void test_never_reads_past_len(void **state)
{
    (void)state;
    fixture fx;
    static const char text[] = "a,b,c,d";
    open_text(&fx, text, 3, 0);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_int_equal(fx.csv.nfields, 2);
    assert_field(&fx.csv, 0, "a", 1, 1);
    assert_field(&fx.csv, 1, "b", 1, 3);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 0);
    close_text(&fx);

    /* "x\r" cut before its LF: the CR ends the line at the end of the data */
    static const char text2[] = "x\r\ny";
    open_text(&fx, text2, 2, 0);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_field(&fx.csv, 0, "x", 1, 1);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 0);
    close_text(&fx);
}

static void test_empty_input(void **state)
{
    (void)state;
    fixture fx;
    open_text(&fx, "", 0, 0);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 0);
    close_text(&fx);

    lr__csv csv;
    lr__csv_init(&csv, NULL, 0, NULL, &g_alloc);
    assert_int_equal(lr__csv_next(&csv, 1), 0);
    lr__csv_free(&csv);
    lr__csv_free(NULL);
    assert_int_equal(lr__csv_next(NULL, 0), LEADROUTE_EINVAL);
}

static void test_nul_byte_rejected(void **state)
{
    (void)state;
    fixture fx;
    static const char text[] = "a,b\0c\nnext,row\n";
    open_text(&fx, text, sizeof text - 1, 0);
    assert_error(lr__csv_next(&fx.csv, 0), LEADROUTE_EPARSE, "t.csv:1:4: NUL byte", 1, 4);
    /* a content error consumes its record: the reader goes on with the next */
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_field(&fx.csv, 0, "next", 2, 1);
    close_text(&fx);

    static const char quoted[] = "x\n\"ab\nc\0d\",e\n";
    open_text(&fx, quoted, sizeof quoted - 1, 0);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_error(lr__csv_next(&fx.csv, 0), LEADROUTE_EPARSE, "t.csv:3:2: NUL byte", 3, 2);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 0);
    close_text(&fx);

    static const char comment[] = "#ab\0\n";
    open_text(&fx, comment, sizeof comment - 1, 0);
    assert_error(lr__csv_next(&fx.csv, 1), LEADROUTE_EPARSE, "t.csv:1:4: NUL byte", 1, 4);
    close_text(&fx);
}

static void test_utf8_validated_per_field(void **state)
{
    (void)state;
    fixture fx;
    OPEN(&fx, "Gr\xC3\xBC\xC3\x9F" "e,\xE2\x82\xAC\n");
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_field(&fx.csv, 0, "Gr\xC3\xBC\xC3\x9F" "e", 1, 1);
    /* columns count bytes */
    assert_field(&fx.csv, 1, "\xE2\x82\xAC", 1, 9);
    close_text(&fx);

    OPEN(&fx, "ok\nfine,b\xC3\x28,c\nafter\n");
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    /* at the bad byte, after the text before it */
    assert_error(lr__csv_next(&fx.csv, 0), LEADROUTE_EPARSE,
                 "t.csv:2:7: invalid UTF-8: byte 0xC3 after 'b' starts no character", 2, 7);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_field(&fx.csv, 0, "after", 3, 1);
    close_text(&fx);

    /* overlong '/' and a UTF-16 surrogate */
    OPEN(&fx, "\"\xC0\xAF\"");
    assert_error(lr__csv_next(&fx.csv, 0), LEADROUTE_EPARSE, "t.csv:1:2: invalid UTF-8: byte 0xC0 after ''", 1, 2);
    close_text(&fx);
    /* in a quoted field each "" before the byte counts two columns, and a
     * line break inside restarts them (and shows as \x0a: a message is one line) */
    OPEN(&fx, "x, \"a\"\"b\nc\"\"d\xFF\"");
    assert_error(lr__csv_next(&fx.csv, 0), LEADROUTE_EPARSE, "t.csv:2:5: invalid UTF-8: byte 0xFF after 'a\"b\\x0ac\"d'",
                 2, 5);
    close_text(&fx);
    OPEN(&fx, "x,\xED\xA0\x80");
    assert_error(lr__csv_next(&fx.csv, 0), LEADROUTE_EPARSE, "t.csv:1:3: ", 1, 3);
    close_text(&fx);
    /* a multi-byte sequence cut by a separator is invalid in both halves */
    OPEN(&fx, "\xE2\x82,\xAC");
    assert_error(lr__csv_next(&fx.csv, 0), LEADROUTE_EPARSE, "t.csv:1:1: ", 1, 1);
    close_text(&fx);
}

static void test_utf8_cut_at_field_end(void **state)
{
    (void)state;
    fixture fx;
    /* a sequence cut by the line end is invalid, whatever the previous
     * record left in the reader's buffer after it */
    OPEN(&fx, "\xC3\xA9\n\xC3\nok\n");
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_field(&fx.csv, 0, "\xC3\xA9", 1, 1);
    assert_error(lr__csv_next(&fx.csv, 0), LEADROUTE_EPARSE, "t.csv:2:1: invalid UTF-8: byte 0xC3 after ''", 2, 1);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_field(&fx.csv, 0, "ok", 3, 1);
    close_text(&fx);
}

static void test_utf8_error_context(void **state)
{
    (void)state;
    fixture fx;
    /* 30 x "é", 'b', then a bad byte: the message shows at most 40 bytes
     * before it, marked as cut, and starts on a character */
    char text[80], want[200];
    size_t n = 0;
    for (int i = 0; i < 30; i++, n += 2)
        memcpy(text + n, "\xC3\xA9", 2);
    memcpy(text + n, "b\xFF\n", 3);
    n += 3;
    open_text(&fx, text, n, 0);
    size_t w = (size_t)snprintf(want, sizeof want, "t.csv:1:62: invalid UTF-8: byte 0xFF after '...");
    for (int i = 0; i < 19; i++, w += 2)
        memcpy(want + w, "\xC3\xA9", 2);
    snprintf(want + w, sizeof want - w, "b' starts no character");
    assert_error(lr__csv_next(&fx.csv, 0), LEADROUTE_EPARSE, want, 1, 62);
    const char *m = leadroute_error_last()->message;
    assert_int_equal(lr__utf8_invalid_at(m, strlen(m)), strlen(m));
    close_text(&fx);
}

static void test_first_content_error_wins(void **state)
{
    (void)state;
    fixture fx;
    static const char text[] = "a\0b\0c,\0\nnext\n";
    open_text(&fx, text, sizeof text - 1, 0);
    assert_error(lr__csv_next(&fx.csv, 0), LEADROUTE_EPARSE, "t.csv:1:2: NUL byte", 1, 2);
    /* a record with bad content hands out no fields */
    assert_int_equal(fx.csv.nfields, 0);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_field(&fx.csv, 0, "next", 2, 1);
    close_text(&fx);
}

static void test_structural_error_repeats(void **state)
{
    (void)state;
    fixture fx;
    /* the reader stays at the broken record: asking again gives the same
     * error at the same place, though the scan crossed a line break */
    OPEN(&fx, "h\na,\"b\nc");
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_error(lr__csv_next(&fx.csv, 0), LEADROUTE_EPARSE, "t.csv:2:3: unterminated", 2, 3);
    assert_error(lr__csv_next(&fx.csv, 0), LEADROUTE_EPARSE, "t.csv:2:3: unterminated", 2, 3);
    assert_int_equal(fx.csv.line, 2);
    close_text(&fx);

    /* so does a bounded reader, though it keeps how far a broken record
     * ran inside quotes: that record is no record read after it */
    static const char chain[] = "h,i\nx\",\"y\nx\",\"y\nx\",\"y\nx\",\"y\n";
    static const char *const want[] = {
        "t.csv:2:4: quoted field closes only at line 3, and its row then has more cells than the header's 2",
        "t.csv:3:4: quoted field runs past its line into the quoted text of the broken row at line 2",
        "t.csv:4:4: quoted field runs past its line, and its row's quoting then breaks at line 5, column 4",
    };
    OPEN(&fx, chain);
    fx.csv.bounded = 1;
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    fx.csv.expect_fields = 2;
    for (uint32_t k = 0; k < 3; k++) {
        assert_error(lr__csv_next(&fx.csv, 0), LEADROUTE_EPARSE, want[k], k + 2, 4);
        assert_error(lr__csv_next(&fx.csv, 0), LEADROUTE_EPARSE, want[k], k + 2, 4);
        assert_int_equal(lr__csv_skip_line(&fx.csv), 1);
    }
    close_text(&fx);
}

/* A caller that goes on past a broken record (the leads reader) skips to
 * the line after the one where it starts; a bounded reader looks no
 * further than LEADROUTE_MAX_STRING bytes for a closing quote. */
static void test_skip_broken_record(void **state)
{
    (void)state;
    fixture fx;
    OPEN(&fx, "h\r\na,\"b\"x\r\nc,d\r\ne,\"f\r\ng,h");
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_int_equal(fx.csv.broken, 0);
    assert_error(lr__csv_next(&fx.csv, 0), LEADROUTE_EPARSE, "t.csv:2:6: unexpected text after closing quote", 2, 6);
    assert_int_equal(fx.csv.broken, 1);
    assert_int_equal(lr__csv_skip_line(&fx.csv), 1);
    assert_int_equal(fx.csv.broken, 0);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_int_equal(fx.csv.line, 3);
    assert_field(&fx.csv, 0, "c", 3, 1);
    assert_field(&fx.csv, 1, "d", 3, 3);
    /* the quote runs to the end; the line after the record's first is read again */
    assert_error(lr__csv_next(&fx.csv, 0), LEADROUTE_EPARSE, "t.csv:4:3: unterminated", 4, 3);
    assert_int_equal(fx.csv.line, 4);
    assert_int_equal(lr__csv_skip_line(&fx.csv), 1);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_field(&fx.csv, 1, "h", 5, 3);
    /* a broken last line without a line end: nothing follows it */
    close_text(&fx);
    OPEN(&fx, "a,\"b\"c");
    assert_error(lr__csv_next(&fx.csv, 0), LEADROUTE_EPARSE, "t.csv:1:6: unexpected text", 1, 6);
    assert_int_equal(lr__csv_skip_line(&fx.csv), 0);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 0);
    close_text(&fx);

    /* content errors are no structure errors: the reader has moved on */
    OPEN(&fx, "a\xFF,b\nc\n");
    assert_int_equal(lr__csv_next(&fx.csv, 0), LEADROUTE_EPARSE);
    assert_int_equal(fx.csv.broken, 0);
    close_text(&fx);

    static char text[LEADROUTE_MAX_STRING + 64];
    size_t n = (size_t)snprintf(text, sizeof text, "x,\"");
    memset(text + n, 'y', LEADROUTE_MAX_STRING);
    n += LEADROUTE_MAX_STRING;
    n += (size_t)snprintf(text + n, sizeof text - n, "\"\n");
    for (int bounded = 0; bounded < 2; bounded++) {
        /* exactly the limit, closed: a field either way */
        open_text(&fx, text, n, 0);
        fx.csv.bounded = bounded;
        assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
        assert_int_equal(fx.csv.fields[1].len, LEADROUTE_MAX_STRING);
        close_text(&fx);
        /* one byte more: a bounded reader stops looking for the quote there */
        text[n - 2] = 'y';
        open_text(&fx, text, n, 0);
        fx.csv.bounded = bounded;
        assert_error(lr__csv_next(&fx.csv, 0), LEADROUTE_EPARSE, "t.csv:1:3: unterminated quoted field", 1, 3);
        if (bounded != (strstr(leadroute_error_last()->message, "within 4096 bytes") != NULL))
            fail_msg("bounded %d: '%s'", bounded, leadroute_error_last()->message);
        close_text(&fx);
        text[n - 2] = '"';
    }
}

/* Past LEADROUTE_MAX_STRING bytes a bounded reader goes on only while a '"'
 * is still to come: a quoted field that closes is one field, too long, and
 * the reader stands after its record (its lines are no records); one that
 * never closes is broken at the bound, even after a quote was seen before. */
static void test_bounded_long_quoted_field(void **state)
{
    (void)state;
    fixture fx;
    size_t big = LEADROUTE_MAX_STRING + 100, cap = 2 * big + 64, n;
    char *text = malloc(cap);
    assert_non_null(text);
    n = (size_t)snprintf(text, cap, "h\na,\"");
    memset(text + n, 'y', big);
    text[n + 2000] = '\n'; /* the field spans lines 2 and 3 */
    n += big;
    n += (size_t)snprintf(text + n, cap - n, "\",z\nb,\"");
    memset(text + n, 'y', big);
    n += big;
    n += (size_t)snprintf(text + n, cap - n, "\nc,d\n");
    open_text(&fx, text, n, 0);
    fx.csv.bounded = 1;
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_error(lr__csv_next(&fx.csv, 0), LEADROUTE_ELIMIT, "t.csv:2:3: field longer than 4096 bytes", 2, 3);
    assert_int_equal(fx.csv.broken, 0);
    /* the quote seen last lies behind this field: none is to come */
    assert_error(lr__csv_next(&fx.csv, 0), LEADROUTE_EPARSE,
                 "t.csv:4:3: unterminated quoted field: expected a closing '\"' within 4096 bytes", 4, 3);
    assert_int_equal(fx.csv.broken, 1);
    assert_int_equal(lr__csv_skip_line(&fx.csv), 1);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_field(&fx.csv, 0, "c", 5, 1);
    assert_field(&fx.csv, 1, "d", 5, 3);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 0);
    close_text(&fx);

    /* in a record of fewer cells than expected the field is not believed:
     * the record is broken, and its second line is read again */
    open_text(&fx, text, n, 0);
    fx.csv.bounded = 1;
    fx.csv.expect_fields = 4;
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    char want[400];
    snprintf(want, sizeof want, "t.csv:2:3: quoted field closes only at line 3, %zu bytes on, past the 4096 bytes "
             "a field may hold, and its row has 3 cells, the header 4: its '\"' is read as a stray quote (a '\"' "
             "inside a quoted field is written '\"\"')", big);
    assert_error(lr__csv_next(&fx.csv, 0), LEADROUTE_EPARSE, want, 2, 3);
    assert_string_equal(leadroute_error_last()->message, want);
    assert_int_equal(fx.csv.broken, 1);
    assert_int_equal(fx.csv.line, 2);
    assert_int_equal(lr__csv_skip_line(&fx.csv), 1);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_int_equal(fx.csv.line, 3);
    assert_int_equal(fx.csv.nfields, 2);
    assert_field(&fx.csv, 1, "z", 3, (uint32_t)(big - 2000 + 2));
    close_text(&fx);
    /* with a cell more, found at that cell */
    open_text(&fx, text, n, 0);
    fx.csv.bounded = 1;
    fx.csv.expect_fields = 2;
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    snprintf(want, sizeof want, "t.csv:2:3: quoted field closes only at line 3, %zu bytes on, past the 4096 bytes "
             "a field may hold, and its row has more cells than the header's 2: its '\"' is read as a stray quote",
             big);
    assert_error(lr__csv_next(&fx.csv, 0), LEADROUTE_EPARSE, want, 2, 3);
    assert_int_equal(fx.csv.broken, 1);
    close_text(&fx);
    /* with as many cells as expected, it is one */
    open_text(&fx, text, n, 0);
    fx.csv.bounded = 1;
    fx.csv.expect_fields = 3;
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_error(lr__csv_next(&fx.csv, 0), LEADROUTE_ELIMIT, "t.csv:2:3: field longer than 4096 bytes", 2, 3);
    close_text(&fx);
    free(text);
}

/* A quoted field that closes past LEADROUTE_MAX_STRING bytes in a record of
 * the expected shape is one field, too long, unless a line inside it, read
 * alone, is a record of that shape too (its quotes closing on the line,
 * not all blank): then its quote is stray, and the record is broken. */
static void test_bounded_row_inside_long_field(void **state)
{
    (void)state;
    static const struct {
        const char *inside;
        int row;
    } cases[] = {
        { "p,q,r", 1 },
        { "p,q,r\r", 1 },           /* CRLF */
        { "p,q,r, ,\t", 1 },        /* blank cells more */
        { " p , \"\" ,r", 1 },      /* a quoted cell, empty: "" is a quote inside the long field */
        { "p,q,\"\"", 1 },          /* the last cell quoted */
        { "p,q,\"\"\r", 1 },        /* and the line ending in CRLF */
        { "p,q", 0 },
        { "p,q,r,s", 0 },
        { " , , ", 0 },             /* blank */
        { "", 0 },
        { "p,\"\"q\"\",r", 0 },     /* alone, text after a closing quote */
        { "p,q,\"\"\"\"x", 0 },     /* alone, text after a closing quote ("""" is one '"') */
        { "p,q,r,\t\"\"", 1 },       /* a blank cell more, quoted after a tab */
    };
    fixture fx;
    size_t cap = 2 * LEADROUTE_MAX_STRING + 256;
    char *text = malloc(cap);
    assert_non_null(text);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        size_t n = (size_t)snprintf(text, cap, "h\na,\"");
        memset(text + n, 'y', LEADROUTE_MAX_STRING);
        n += LEADROUTE_MAX_STRING;
        n += (size_t)snprintf(text + n, cap - n, "\nyy\n%s\nyy\",z\nb,c,d\n", cases[k].inside);
        open_text(&fx, text, n, 0);
        fx.csv.bounded = 1;
        assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
        fx.csv.expect_fields = 3;
        int rc = lr__csv_next(&fx.csv, 0);
        const char *m = leadroute_error_last()->message;
        if (cases[k].row ? rc != LEADROUTE_EPARSE || !strstr(m, "t.csv:2:3: quoted field closes only at line 5, ")
                                || !strstr(m, "and line 4 inside it reads as a row of its own")
                         : rc != LEADROUTE_ELIMIT || strcmp(m, "t.csv:2:3: field longer than 4096 bytes") != 0)
            fail_msg("line '%s' inside: %d '%s'", cases[k].inside, rc, m);
        /* broken, its lines are read again; too long, the record is skipped */
        if (cases[k].row)
            assert_int_equal(lr__csv_skip_line(&fx.csv), 1);
        while ((rc = lr__csv_next(&fx.csv, 0)) != 0 && fx.csv.line < 6)
            if (fx.csv.broken)
                lr__csv_skip_line(&fx.csv);
        assert_int_equal(rc, 1);
        assert_int_equal(fx.csv.line, 6);
        close_text(&fx);
    }
    free(text);
}

/* A field longer than LEADROUTE_MAX_STRING bytes is an error, its text never
 * read: past that the reader counts its bytes instead of copying them, so
 * a stray quote in a large file costs no copy of the file. */
static void test_long_field_not_kept(void **state)
{
    (void)state;
    fixture fx;
    size_t big = 1 << 20, cap = big + 64, n;
    char *text = malloc(cap);
    assert_non_null(text);
    for (int kind = 0; kind < 4; kind++) {
        /* 0, 1: quoted, closed (unbounded, bounded); 2: unquoted; 3: a directive */
        n = (size_t)snprintf(text, cap, kind == 3 ? "h\n#!" : kind == 2 ? "h\na," : "h\na,\"");
        memset(text + n, 'y', big);
        for (size_t k = 100; kind < 2 && k < big; k += 100)
            text[n + k] = '\n';
        n += big;
        n += (size_t)snprintf(text + n, cap - n, kind < 2 ? "\",b\nc,d\n" : "\nc,d\n");
        open_text(&fx, text, n, 0);
        fx.csv.bounded = kind == 1;
        assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
        fx.csv.expect_fields = kind == 1 ? 3 : 0;
        int rc = lr__csv_next(&fx.csv, kind == 3);
        const leadroute_error *e = leadroute_error_last();
        if (rc != LEADROUTE_ELIMIT || strcmp(e->message, kind == 3 ? "t.csv:2:1: field longer than 4096 bytes"
                                                                    : "t.csv:2:3: field longer than 4096 bytes"))
            fail_msg("kind %d: %d '%s'", kind, rc, e->message);
        if (fx.csv.buf_cap > 4 * LEADROUTE_MAX_STRING)
            fail_msg("kind %d: a buffer of %zu bytes", kind, fx.csv.buf_cap);
        assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
        assert_field(&fx.csv, 1, "d", kind < 2 ? 3 + (uint32_t)(big / 100) : 3, 3);
        close_text(&fx);
    }
    /* a stray quote, its closing quote far on: broken, nothing copied past the bound */
    n = (size_t)snprintf(text, cap, "h,i,j\na,\"");
    memset(text + n, 'y', big);
    for (size_t k = 100; k < big; k += 100)
        text[n + k] = '\n';
    n += big;
    n += (size_t)snprintf(text + n, cap - n, "\"\n");
    open_text(&fx, text, n, 0);
    fx.csv.bounded = 1;
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    fx.csv.expect_fields = 3;
    assert_error(lr__csv_next(&fx.csv, 0), LEADROUTE_EPARSE, "t.csv:2:3: quoted field closes only at line", 2, 3);
    if (fx.csv.buf_cap > 4 * LEADROUTE_MAX_STRING)
        fail_msg("stray quote: a buffer of %zu bytes", fx.csv.buf_cap);
    close_text(&fx);
    free(text);
}

/* Rows that each close one quote and open the next (x","y...) chain into one
 * record that runs to the end of the file. A bounded reader stops such a
 * record at its cell past expect_fields, and a record read again from a
 * line break the broken one read inside its quotes is broken at once: each
 * row is reported at its own line, and no byte is scanned once per row
 * before it. */
static void test_bounded_rescans_stay_linear(void **state)
{
    (void)state;
    fixture fx;
    size_t rows = 3000, cap = 16 + rows * 32, n;
    char *text = malloc(cap);
    assert_non_null(text);
    n = (size_t)snprintf(text, cap, "a,b,c\n");
    for (size_t i = 0; i < rows; i++)
        n += (size_t)snprintf(text + n, cap - n, "x\",\"yyyyyyyyyyyyyyyyyyyy\n");
    open_text(&fx, text, n, 0);
    fx.csv.bounded = 1;
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    fx.csv.expect_fields = 3;
    for (uint32_t line = 2; line < rows + 2; line++) {
        int rc = lr__csv_next(&fx.csv, 0);
        const leadroute_error *e = leadroute_error_last();
        if (rc != LEADROUTE_EPARSE || !fx.csv.broken || fx.csv.line != line || e->line != line || e->column != 4)
            fail_msg("row at line %u: rc %d, line %u, error at %u:%u: '%s'", line, rc, fx.csv.line, e->line,
                     e->column, e->message);
        if (line == 2)
            assert_error(rc, LEADROUTE_EPARSE, "t.csv:2:4: quoted field closes only at line 3, and its row then "
                         "has more cells than the header's 3: its '\"' is read as a stray quote", 2, 4);
        if (line == 3)
            assert_error(rc, LEADROUTE_EPARSE, "t.csv:3:4: quoted field runs past its line into the quoted text "
                         "of the broken row at line 2, and reads on from there as that row did", 3, 4);
        if (line == rows - 1) /* the file ends before its cell past the header */
            assert_error(rc, LEADROUTE_EPARSE, "t.csv:2999:4: quoted field runs past its line, and its row's "
                         "quoting then breaks at line 3001, column 4: unterminated quoted field (missing "
                         "closing '\"')", 2999, 4);
        assert_int_equal(lr__csv_skip_line(&fx.csv), line < rows + 1);
    }
    assert_int_equal(lr__csv_next(&fx.csv, 0), 0);
    if (fx.csv.looked_at > 4 * n)
        fail_msg("%zu bytes looked at for %zu", fx.csv.looked_at, n);
    close_text(&fx);

    /* A record of blank cells past expect_fields is still a row; the
     * record after a broken one is read, its line break being its own. */
    static const char ok[] = "a,b,c\n"
                             "1,\"two\nlines\",3,, \n"   /* 2-3: a row, blank cells more */
                             "2,\"stray,3\n"             /* 4: swallows line 5 up to its quote */
                             "4,x\",\"y,\n"              /* 5: ... where the broken row runs on */
                             "z\",5\n"                   /* 6 */
                             "6,\"fine\nstill\",7\n";    /* 7-8: a line break of its own */
    open_text(&fx, ok, sizeof ok - 1, 0);
    fx.csv.bounded = 1;
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    fx.csv.expect_fields = 3;
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_int_equal(fx.csv.nfields, 5);
    assert_field(&fx.csv, 1, "two\nlines", 2, 3);
    assert_error(lr__csv_next(&fx.csv, 0), LEADROUTE_EPARSE, "t.csv:4:3: quoted field closes only at line 5, and "
                 "its row then has more cells than the header's 3", 4, 3);
    assert_int_equal(lr__csv_skip_line(&fx.csv), 1);
    assert_error(lr__csv_next(&fx.csv, 0), LEADROUTE_EPARSE, "t.csv:5:6: quoted field runs past its line into "
                 "the quoted text of the broken row at line 4", 5, 6);
    assert_int_equal(lr__csv_skip_line(&fx.csv), 1);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_field(&fx.csv, 0, "z\"", 6, 1);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_field(&fx.csv, 1, "fine\nstill", 7, 3);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 0);
    close_text(&fx);
    free(text);
}

static void test_comment_trailing_tabs(void **state)
{
    (void)state;
    fixture fx;
    OPEN(&fx, "# note\t,\t\n#! a\t\r\n");
    assert_int_equal(lr__csv_next(&fx.csv, 1), 1);
    assert_field(&fx.csv, 0, "# note", 1, 1);
    assert_int_equal(lr__csv_next(&fx.csv, 1), 1);
    assert_field(&fx.csv, 0, "#! a", 2, 1);
    close_text(&fx);
}

static void test_long_comments(void **state)
{
    (void)state;
    fixture fx;
    size_t n = LEADROUTE_MAX_STRING;
    char *text = malloc(n + 16);
    assert_non_null(text);

    /* a plain comment is cut to the limit, before a character the cut would split */
    text[0] = '#';
    memset(text + 1, 'x', n - 2);
    memcpy(text + n - 1, "\xC3\xA9tail\nz\n", 9);
    open_text(&fx, text, n + 8, 0);
    assert_int_equal(lr__csv_next(&fx.csv, 1), 1);
    assert_int_equal(fx.csv.is_comment, 1);
    assert_int_equal(fx.csv.fields[0].len, n - 1);
    assert_int_equal(fx.csv.fields[0].text[n - 2], 'x');
    assert_int_equal(lr__csv_next(&fx.csv, 1), 1);
    assert_field(&fx.csv, 0, "z", 2, 1);
    close_text(&fx);

    /* a directive is read, not cut: too long is an error */
    memcpy(text, "#! ", 3);
    memset(text + 3, 'x', n);
    memcpy(text + 3 + n, "\nz\n", 3);
    open_text(&fx, text, n + 6, 0);
    assert_error(lr__csv_next(&fx.csv, 1), LEADROUTE_ELIMIT, "t.csv:1:1: ", 1, 1);
    assert_int_equal(lr__csv_next(&fx.csv, 1), 1);
    assert_field(&fx.csv, 0, "z", 2, 1);
    close_text(&fx);
    free(text);
}

/* The next record's comment text, or none when `want` is NULL. */
static void next_comment(fixture *fx, const char *want)
{
    lr__csv_field c;
    assert_int_equal(lr__csv_next(&fx->csv, 1), 1);
    if (!want) {
        assert_int_equal(lr__csv_comment(&fx->csv, &c), 0);
        return;
    }
    assert_int_equal(lr__csv_comment(&fx->csv, &c), 1);
    assert_int_equal(c.len, strlen(want));
    assert_memory_equal(c.text, want, c.len);
}

static void test_quoted_comment(void **state)
{
    (void)state;
    fixture fx;
    /* "#..." in one quoted cell, then only blank cells; blanks before the
     * '#' do not count, as on an unquoted line */
    OPEN(&fx, "\"# note, here\", ,\"\"\n\"# note\",x\n\"#\",\" \",y\nplain,\n\" \t#! reps\",\n  # plain\n"
              "\" x#\"\n");
    next_comment(&fx, "# note, here");
    next_comment(&fx, NULL);
    next_comment(&fx, NULL);
    next_comment(&fx, NULL);
    next_comment(&fx, "#! reps");
    next_comment(&fx, "# plain");
    next_comment(&fx, NULL);
    close_text(&fx);
}

static void test_field_length_limit(void **state)
{
    (void)state;
    fixture fx;
    size_t n = LEADROUTE_MAX_STRING;
    char *text = malloc(n + 16);
    assert_non_null(text);

    /* exactly the limit is fine */
    memset(text, 'x', n);
    memcpy(text + n, ",y\n", 3);
    open_text(&fx, text, n + 3, 0);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_int_equal(fx.csv.fields[0].len, n);
    assert_field(&fx.csv, 1, "y", 1, (uint32_t)n + 2);
    close_text(&fx);

    /* one byte more is ELIMIT at the field start */
    text[0] = 'a';
    text[1] = ',';
    memset(text + 2, 'x', n + 1);
    memcpy(text + 2 + n + 1, "\nz\n", 3);
    open_text(&fx, text, n + 6, 0);
    assert_error(lr__csv_next(&fx.csv, 0), LEADROUTE_ELIMIT, "t.csv:1:3: ", 1, 3);
    assert_non_null(strstr(leadroute_error_last()->message, "4096"));
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_field(&fx.csv, 0, "z", 2, 1);
    close_text(&fx);

    free(text);

    /* quoted: the limit is on the unescaped text ("" counts once) */
    size_t qlen = 2 + 2 * n;
    char *big = malloc(qlen);
    assert_non_null(big);
    big[0] = '"';
    memset(big + 1, '"', 2 * n);
    big[qlen - 1] = '"';
    open_text(&fx, big, qlen, 0);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_int_equal(fx.csv.fields[0].len, n);
    assert_int_equal(fx.csv.fields[0].text[n - 1], '"');
    assert_int_equal(fx.csv.fields[0].text[n], '\0');
    close_text(&fx);
    free(big);
}

static void test_comment_records(void **state)
{
    (void)state;
    fixture fx;
    OPEN(&fx, "#! name: routing, EMEA,,, \r\n# plain \"note\" ,\nrule,a\n #not,comment\n#");
    assert_int_equal(lr__csv_next(&fx.csv, 1), 1);
    assert_int_equal(fx.csv.is_comment, 1);
    assert_int_equal(fx.csv.nfields, 1);
    /* commas inside the line stay; trailing ones and white space go */
    assert_field(&fx.csv, 0, "#! name: routing, EMEA", 1, 1);
    assert_int_equal(lr__csv_next(&fx.csv, 1), 1);
    assert_int_equal(fx.csv.is_comment, 1);
    assert_int_equal(fx.csv.line, 2);
    assert_field(&fx.csv, 0, "# plain \"note\"", 2, 1);
    assert_int_equal(lr__csv_next(&fx.csv, 1), 1);
    assert_int_equal(fx.csv.is_comment, 0);
    assert_int_equal(fx.csv.nfields, 2);
    assert_field(&fx.csv, 1, "a", 3, 6);
    /* '#' may be indented; the comment starts at it */
    assert_int_equal(lr__csv_next(&fx.csv, 1), 1);
    assert_int_equal(fx.csv.is_comment, 1);
    assert_int_equal(fx.csv.nfields, 1);
    assert_field(&fx.csv, 0, "#not,comment", 4, 2);
    assert_int_equal(lr__csv_next(&fx.csv, 1), 1);
    assert_int_equal(fx.csv.is_comment, 1);
    assert_field(&fx.csv, 0, "#", 5, 1);
    assert_int_equal(lr__csv_next(&fx.csv, 1), 0);
    close_text(&fx);

    /* without comment mode the same line is an ordinary record */
    OPEN(&fx, "#! a, b,\n");
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_int_equal(fx.csv.is_comment, 0);
    assert_int_equal(fx.csv.nfields, 3);
    assert_field(&fx.csv, 0, "#! a", 1, 1);
    assert_field(&fx.csv, 1, " b", 1, 6);
    assert_field(&fx.csv, 2, "", 1, 9);
    close_text(&fx);

    /* a comment is one physical line: a quote in it opens nothing */
    OPEN(&fx, "# say \"\nx\n");
    assert_int_equal(lr__csv_next(&fx.csv, 1), 1);
    assert_field(&fx.csv, 0, "# say \"", 1, 1);
    assert_int_equal(lr__csv_next(&fx.csv, 1), 1);
    assert_field(&fx.csv, 0, "x", 2, 1);
    close_text(&fx);

    /* indented by a tab too, a quote and a comma in it included */
    OPEN(&fx, "\t# note, \"quoted\nx\n");
    assert_int_equal(lr__csv_next(&fx.csv, 1), 1);
    assert_int_equal(fx.csv.is_comment, 1);
    assert_field(&fx.csv, 0, "# note, \"quoted", 1, 2);
    assert_int_equal(lr__csv_next(&fx.csv, 1), 1);
    assert_field(&fx.csv, 0, "x", 2, 1);
    close_text(&fx);
}

static void test_byte_order_mark(void **state)
{
    (void)state;
    fixture fx;
    OPEN(&fx, "\xEF\xBB\xBF" "id,b\n\xEF\xBB\xBF,c\n");
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_field(&fx.csv, 0, "id", 1, 1);
    assert_field(&fx.csv, 1, "b", 1, 4);
    /* only a leading mark is skipped */
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_field(&fx.csv, 0, "\xEF\xBB\xBF", 2, 1);
    close_text(&fx);

    OPEN(&fx, "\xEF\xBB\xBF#! hit_policy: first\n");
    assert_int_equal(lr__csv_next(&fx.csv, 1), 1);
    assert_int_equal(fx.csv.is_comment, 1);
    assert_field(&fx.csv, 0, "#! hit_policy: first", 1, 1);
    close_text(&fx);

    OPEN(&fx, "\xEF\xBB\xBF");
    assert_int_equal(lr__csv_next(&fx.csv, 0), 0);
    close_text(&fx);

    /* a cut mark is not a mark: it is invalid UTF-8 */
    OPEN(&fx, "\xEF\xBB");
    assert_error(lr__csv_next(&fx.csv, 0), LEADROUTE_EPARSE, "t.csv:1:1: ", 1, 1);
    close_text(&fx);
    OPEN(&fx, "\xEF\xBB" "id,x\n");
    assert_error(lr__csv_next(&fx.csv, 0), LEADROUTE_EPARSE, "t.csv:1:1: ", 1, 1);
    close_text(&fx);
}

static void test_default_filename(void **state)
{
    (void)state;
    lr__csv csv;
    lr__csv_init(&csv, "\"x", 2, NULL, &g_alloc);
    assert_error(lr__csv_next(&csv, 0), LEADROUTE_EPARSE, "<input>:1:1: ", 1, 1);
    lr__csv_free(&csv);
    assert_int_equal(g_count.live, 0);
}

static void test_many_fields_and_records(void **state)
{
    (void)state;
    /* enough to grow the field vector and the buffer several times */
    size_t cols = 3000, cap = 3 * cols * 10 + 64;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t len = 0;
    for (size_t r = 0; r < 3; r++) {
        for (size_t c = 0; c < cols; c++)
            len += (size_t)snprintf(text + len, cap - len, c ? ",\"%zu\"" : "%zu", c * 10 + r);
        text[len++] = '\n';
    }
    fixture fx;
    open_text(&fx, text, len, 0);
    for (uint32_t r = 0; r < 3; r++) {
        assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
        assert_int_equal(fx.csv.nfields, cols);
        assert_int_equal(fx.csv.line, r + 1);
        for (size_t c = 0; c < cols; c += 997) {
            char want[32];
            snprintf(want, sizeof want, "%zu", c * 10 + r);
            assert_string_equal(fx.csv.fields[c].text, want);
        }
    }
    assert_int_equal(lr__csv_next(&fx.csv, 0), 0);
    assert_true(g_count.calls > 2);
    close_text(&fx);
    free(text);
}

/* For the long records below: `n` bytes of `c` at text[*len]. */
static void text_run(char *text, size_t *len, char c, size_t n)
{
    memset(text + *len, c, n);
    *len += n;
}

/* Read `text` as the leads reader does: bounded, `fields` cells a row. */
static void open_bounded(fixture *fx, const char *text, size_t len, uint32_t fields)
{
    open_text(fx, text, len, 0);
    fx->csv.bounded = 1;
    fx->csv.expect_fields = fields;
}

/* The next record is broken with exactly the message `want`. */
static void assert_broken(fixture *fx, const char *want, uint32_t line, uint32_t col)
{
    assert_error(lr__csv_next(&fx->csv, 0), LEADROUTE_EPARSE, want, line, col);
    assert_string_equal(leadroute_error_last()->message, want);
    assert_int_equal(fx->csv.broken, 1);
}

/* The text before a bad byte is shown up to 40 bytes, "..." marking that
 * more came before it. */
static void test_utf8_error_context_forty_bytes(void **state)
{
    (void)state;
    fixture fx;
    char text[64], want[200];
    memset(text, 'y', 50);
    memcpy(text + 50, "\xE9\n", 2);
    open_text(&fx, text, 52, 0);
    snprintf(want, sizeof want, "t.csv:1:51: invalid UTF-8: byte 0xE9 after '...%.40s' starts no character "
             "(save the file as UTF-8)", text);
    assert_error(lr__csv_next(&fx.csv, 0), LEADROUTE_EPARSE, want, 1, 51);
    assert_string_equal(leadroute_error_last()->message, want);
    close_text(&fx);
    /* 40 bytes before it: all shown, nothing cut */
    open_text(&fx, text + 10, 42, 0);
    snprintf(want, sizeof want, "t.csv:1:41: invalid UTF-8: byte 0xE9 after '%.40s' starts no character "
             "(save the file as UTF-8)", text);
    assert_error(lr__csv_next(&fx.csv, 0), LEADROUTE_EPARSE, want, 1, 41);
    assert_string_equal(leadroute_error_last()->message, want);
    close_text(&fx);
}

/* A plain comment over the limit is cut to exactly LEADROUTE_MAX_STRING
 * bytes; one of exactly the limit is whole (and read without a byte past
 * the data when it ends the file); a cut never drops the '#'. */
static void test_long_comment_cut_at_limit(void **state)
{
    (void)state;
    fixture fx;
    size_t n = LEADROUTE_MAX_STRING;
    char *text = malloc(n + 16);
    assert_non_null(text);

    text[0] = '#';
    memset(text + 1, 'c', n + 9);
    text[n + 10] = '\n';
    open_text(&fx, text, n + 11, 0);
    assert_int_equal(lr__csv_next(&fx.csv, 1), 1);
    assert_int_equal(fx.csv.is_comment, 1);
    assert_int_equal(fx.csv.fields[0].len, n);
    assert_int_equal(fx.csv.fields[0].text[n - 1], 'c');
    assert_int_equal(fx.csv.fields[0].text[n], '\0');
    assert_int_equal(lr__csv_next(&fx.csv, 1), 0);
    close_text(&fx);

    /* exactly the limit, at the end of the data */
    open_text(&fx, text, n, 0);
    assert_int_equal(lr__csv_next(&fx.csv, 1), 1);
    assert_int_equal(fx.csv.is_comment, 1);
    assert_int_equal(fx.csv.fields[0].len, n);
    assert_int_equal(fx.csv.fields[0].text[n - 1], 'c');
    assert_int_equal(lr__csv_next(&fx.csv, 1), 0);
    close_text(&fx);

    /* the same, with a continuation byte just past the data: never read */
    {
        lr__csv csv;
        text[n] = (char)0x80;
        lr__csv_init(&csv, text, n, "t.csv", &g_alloc);
        assert_int_equal(lr__csv_next(&csv, 1), 1);
        assert_int_equal(csv.is_comment, 1);
        assert_int_equal(csv.fields[0].len, n);
        assert_int_equal(lr__csv_next(&csv, 1), 0);
        lr__csv_free(&csv);
        assert_int_equal(g_count.live, 0);
    }

    /* nothing but continuation bytes after the '#': the cut keeps the '#' */
    memset(text + 1, 0x80, n + 9);
    open_text(&fx, text, n + 11, 0);
    assert_int_equal(lr__csv_next(&fx.csv, 1), 1);
    assert_int_equal(fx.csv.is_comment, 1);
    assert_field(&fx.csv, 0, "#", 1, 1);
    assert_int_equal(lr__csv_next(&fx.csv, 1), 0);
    close_text(&fx);
    free(text);
}

/* Bounded: a quoted field of exactly LEADROUTE_MAX_STRING bytes is a field
 * like any other, even in a record of fewer cells than the header; one
 * that reaches the end of the data at that length is unterminated, not
 * "not closed within" the limit. */
static void test_bounded_quoted_field_at_limit(void **state)
{
    (void)state;
    fixture fx;
    size_t n = LEADROUTE_MAX_STRING;
    char *text = malloc(n + 16);
    assert_non_null(text);
    memcpy(text, "a,b\n\"", 5);
    memset(text + 5, 'x', n);
    memcpy(text + 5 + n, "\"\n", 2);
    open_bounded(&fx, text, n + 7, 2);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_int_equal(fx.csv.broken, 0);
    assert_int_equal(fx.csv.nfields, 1);
    assert_int_equal(fx.csv.fields[0].len, n);
    assert_int_equal(fx.csv.fields[0].quoted, 1);
    assert_int_equal(fx.csv.fields[0].line, 2);
    assert_int_equal(fx.csv.fields[0].col, 1);
    assert_int_equal(fx.csv.fields[0].text[n - 1], 'x');
    assert_int_equal(lr__csv_next(&fx.csv, 0), 0);
    close_text(&fx);

    /* no closing quote: the data ends at exactly the limit */
    open_bounded(&fx, text, n + 5, 2);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    const char *want = "t.csv:2:1: unterminated quoted field (missing closing '\"'): expected a '\"' before the "
                       "end of the file (a '\"' inside a quoted field is written '\"\"')";
    assert_broken(&fx, want, 2, 1);
    close_text(&fx);
    free(text);
}

/* Bounded, a record with two quoted fields past the limit and more cells
 * than the header: the message is about the first of them. */
static void test_bounded_first_long_field_reported(void **state)
{
    (void)state;
    fixture fx;
    size_t n = LEADROUTE_MAX_STRING, cap = 2 * n + 64, len;
    char *text = malloc(cap);
    assert_non_null(text);
    len = (size_t)snprintf(text, cap, "h\n,\"");
    text_run(text, &len, 'x', n + 5);
    len += (size_t)snprintf(text + len, cap - len, "\",\"");
    text_run(text, &len, 'y', n + 7);
    len += (size_t)snprintf(text + len, cap - len, "\"\n");
    open_bounded(&fx, text, len, 1);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    char want[400];
    snprintf(want, sizeof want, "t.csv:2:2: quoted field closes only at line 2, %zu bytes on, past the 4096 bytes "
             "a field may hold, and its row has more cells than the header's 1: its '\"' is read as a stray quote "
             "(a '\"' inside a quoted field is written '\"\"')", n + 5);
    assert_broken(&fx, want, 2, 2);
    close_text(&fx);
    free(text);
}

/* Bounded: a record broken as a stray quote ends at its line end, outside
 * quotes; a record read again that is inside quotes at that very line end
 * did not run into the broken record's quoted text, and reads on. */
static void test_bounded_reread_past_stray_record_end(void **state)
{
    (void)state;
    fixture fx;
    size_t n = LEADROUTE_MAX_STRING, cap = n + 64, len;
    char *text = malloc(cap);
    assert_non_null(text);
    len = (size_t)snprintf(text, cap, "a,b,c\n\"");
    text_run(text, &len, 'x', n + 5);
    len += (size_t)snprintf(text + len, cap - len, "\n\",y\nz\"\n");
    open_bounded(&fx, text, len, 3);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    char want[400];
    snprintf(want, sizeof want, "t.csv:2:1: quoted field closes only at line 3, %zu bytes on, past the 4096 bytes "
             "a field may hold, and its row has 2 cells, the header 3: its '\"' is read as a stray quote (a '\"' "
             "inside a quoted field is written '\"\"')", n + 6);
    assert_broken(&fx, want, 2, 1);
    assert_int_equal(lr__csv_skip_line(&fx.csv), 1);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    assert_int_equal(fx.csv.broken, 0);
    assert_int_equal(fx.csv.line, 3);
    assert_int_equal(fx.csv.nfields, 1);
    assert_field(&fx.csv, 0, ",y\nz", 3, 1);
    assert_int_equal(fx.csv.fields[0].quoted, 1);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 0);
    close_text(&fx);
    free(text);
}

/* Bounded: a cell past the header's that is too long counts as not blank
 * even when all of it is blanks (its text is not all kept): one byte over
 * the limit, all blanks, is such a cell. */
static void test_bounded_long_blank_cell_past_header(void **state)
{
    (void)state;
    fixture fx;
    size_t n = LEADROUTE_MAX_STRING, cap = n + 64, len;
    char *text = malloc(cap);
    assert_non_null(text);
    len = (size_t)snprintf(text, cap, "a\n\"x\ny\",");
    text_run(text, &len, ' ', n + 1);
    text[len++] = '\n';
    open_bounded(&fx, text, len, 1);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 1);
    const char *want = "t.csv:2:1: quoted field closes only at line 3, and its row then has more cells than the "
                       "header's 1: its '\"' is read as a stray quote (a '\"' inside a quoted field is written '\"\"')";
    assert_broken(&fx, want, 2, 1);
    assert_int_equal(lr__csv_skip_line(&fx.csv), 1);
    assert_error(lr__csv_next(&fx.csv, 0), LEADROUTE_ELIMIT, "t.csv:3:4: field longer than 4096 bytes", 3, 4);
    assert_int_equal(lr__csv_next(&fx.csv, 0), 0);
    close_text(&fx);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_simple_records, reset_count),
        cmocka_unit_test_setup(test_crlf_and_no_final_newline, reset_count),
        cmocka_unit_test_setup(test_lone_cr, reset_count),
        cmocka_unit_test_setup(test_empty_fields_and_blank_lines, reset_count),
        cmocka_unit_test_setup(test_trailing_comma_at_end, reset_count),
        cmocka_unit_test_setup(test_quoted_fields, reset_count),
        cmocka_unit_test_setup(test_embedded_line_breaks, reset_count),
        cmocka_unit_test_setup(test_quote_inside_unquoted_is_literal, reset_count),
        cmocka_unit_test_setup(test_text_after_closing_quote, reset_count),
        cmocka_unit_test_setup(test_unterminated_quote, reset_count),
        cmocka_unit_test_setup(test_skip_broken_record, reset_count),
        cmocka_unit_test_setup(test_bounded_long_quoted_field, reset_count),
        cmocka_unit_test_setup(test_bounded_rescans_stay_linear, reset_count),
        cmocka_unit_test_setup(test_bounded_row_inside_long_field, reset_count),
        cmocka_unit_test_setup(test_long_field_not_kept, reset_count),
        cmocka_unit_test_setup(test_never_reads_past_len, reset_count),
        cmocka_unit_test_setup(test_empty_input, reset_count),
        cmocka_unit_test_setup(test_nul_byte_rejected, reset_count),
        cmocka_unit_test_setup(test_utf8_validated_per_field, reset_count),
        cmocka_unit_test_setup(test_utf8_cut_at_field_end, reset_count),
        cmocka_unit_test_setup(test_utf8_error_context, reset_count),
        cmocka_unit_test_setup(test_first_content_error_wins, reset_count),
        cmocka_unit_test_setup(test_structural_error_repeats, reset_count),
        cmocka_unit_test_setup(test_field_length_limit, reset_count),
        cmocka_unit_test_setup(test_comment_trailing_tabs, reset_count),
        cmocka_unit_test_setup(test_long_comments, reset_count),
        cmocka_unit_test_setup(test_quoted_comment, reset_count),
        cmocka_unit_test_setup(test_comment_records, reset_count),
        cmocka_unit_test_setup(test_byte_order_mark, reset_count),
        cmocka_unit_test_setup(test_default_filename, reset_count),
        cmocka_unit_test_setup(test_many_fields_and_records, reset_count),
        cmocka_unit_test_setup(test_utf8_error_context_forty_bytes, reset_count),
        cmocka_unit_test_setup(test_long_comment_cut_at_limit, reset_count),
        cmocka_unit_test_setup(test_bounded_quoted_field_at_limit, reset_count),
        cmocka_unit_test_setup(test_bounded_first_long_field_reported, reset_count),
        cmocka_unit_test_setup(test_bounded_reread_past_stray_record_end, reset_count),
        cmocka_unit_test_setup(test_bounded_long_blank_cell_past_header, reset_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
