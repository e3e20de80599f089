/* Error codes, the thread-local last error, and the run-time version. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>

#include "leadroute/leadroute.h"
#include "testutil.h"
#include "base/error.h"
#include "base/value.h"

static const int all_codes[] = {
    LEADROUTE_OK, LEADROUTE_EINVAL, LEADROUTE_EVERSION, LEADROUTE_ENOMEM,
    LEADROUTE_EPARSE, LEADROUTE_ETABLE, LEADROUTE_ELEAD, LEADROUTE_EHITPOLICY,
    LEADROUTE_ERANGE, LEADROUTE_EIO, LEADROUTE_ELIMIT, LEADROUTE_ENOTFOUND,
    LEADROUTE_EUSER, LEADROUTE_ENOTSUP, LEADROUTE_ECONFLICT, LEADROUTE_EEXISTS,
    LEADROUTE_ECALLBACK,
};
#define NCODES (sizeof all_codes / sizeof all_codes[0])

static void test_codes_are_pinned(void **state)
{
    (void)state;
    /* Numbers are part of the ABI: a change here breaks every host. */
    assert_int_equal(LEADROUTE_OK, 0);
    assert_int_equal(LEADROUTE_EINVAL, -1);
    assert_int_equal(LEADROUTE_EVERSION, -2);
    assert_int_equal(LEADROUTE_ENOMEM, -3);
    assert_int_equal(LEADROUTE_EPARSE, -4);
    assert_int_equal(LEADROUTE_ETABLE, -5);
    assert_int_equal(LEADROUTE_ELEAD, -6);
    assert_int_equal(LEADROUTE_EHITPOLICY, -7);
    assert_int_equal(LEADROUTE_ERANGE, -8);
    assert_int_equal(LEADROUTE_EIO, -9);
    assert_int_equal(LEADROUTE_ELIMIT, -10);
    assert_int_equal(LEADROUTE_ENOTFOUND, -11);
    assert_int_equal(LEADROUTE_EUSER, -12);
    assert_int_equal(LEADROUTE_ENOTSUP, -13);
    assert_int_equal(LEADROUTE_ECONFLICT, -14);
    assert_int_equal(LEADROUTE_EEXISTS, -15);
    assert_int_equal(LEADROUTE_ECALLBACK, -16);
}

static void test_strerror_every_code(void **state)
{
    (void)state;
    for (size_t i = 0; i < NCODES; i++) {
        const char *s = leadroute_strerror(all_codes[i]);
        assert_non_null(s);
        assert_true(strlen(s) > 0);
        assert_string_not_equal(s, "unknown error");
        /* Each code has its own text. */
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(s, leadroute_strerror(all_codes[j]));
    }
    assert_string_equal(leadroute_strerror(LEADROUTE_EINVAL), "invalid argument");
}

static void test_strerror_unknown(void **state)
{
    (void)state;
    const int unknown[] = { -17, -100, 1, 42, INT_MIN, INT_MAX };
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *s = leadroute_strerror(unknown[i]);
        assert_non_null(s);
        assert_string_equal(s, "unknown error");
    }
}

static void test_error_last_never_null(void **state)
{
    (void)state;
    leadroute_error_clear();
    const leadroute_error *e = leadroute_error_last();
    assert_non_null(e);
    assert_int_equal(e->code, LEADROUTE_OK);
    assert_non_null(e->message);
    assert_string_equal(e->message, "");
    assert_null(e->file);
    assert_int_equal(e->line, 0);
    assert_int_equal(e->column, 0);
}

static void test_error_set_on_null_args(void **state)
{
    (void)state;
    leadroute_error_clear();
    assert_int_equal(leadroute_lead_validate(NULL), LEADROUTE_EINVAL);
    const leadroute_error *e = leadroute_error_last();
    assert_non_null(e);
    assert_int_equal(e->code, LEADROUTE_EINVAL);
    assert_non_null(e->message);
    assert_string_equal(e->message, "lead is NULL");

    leadroute_error_clear();
    assert_int_equal(leadroute_value_init(NULL, LEADROUTE_VALUE_VERSION), LEADROUTE_EINVAL);
    e = leadroute_error_last();
    assert_int_equal(e->code, LEADROUTE_EINVAL);
    assert_string_equal(e->message, "value is NULL");

    leadroute_value v;
    leadroute_error_clear();
    assert_int_equal(leadroute_value_init(&v, 0), LEADROUTE_EVERSION);
    e = leadroute_error_last();
    assert_int_equal(e->code, LEADROUTE_EVERSION);
    assert_true(strlen(e->message) > 0);

    leadroute_table *t = (leadroute_table *)&v; /* must be overwritten with NULL */
    leadroute_error_clear();
    assert_int_equal(leadroute_table_parse(&t, NULL, 10, NULL, NULL), LEADROUTE_EINVAL);
    assert_null(t);
    e = leadroute_error_last();
    assert_int_equal(e->code, LEADROUTE_EINVAL);
    assert_string_equal(e->message, "text is NULL");

    leadroute_error_clear();
    assert_int_equal(leadroute_table_parse(NULL, "a,out:b\n1,2\n", 12, NULL, NULL), LEADROUTE_EINVAL);
    assert_int_equal(leadroute_error_last()->code, LEADROUTE_EINVAL);
    assert_string_equal(leadroute_error_last()->message, "out is NULL");

    leadroute_error_clear();
    assert_int_equal(leadroute_roster_parse(NULL, "", 0, NULL, NULL), LEADROUTE_EINVAL);
    assert_int_equal(leadroute_error_last()->code, LEADROUTE_EINVAL);
    assert_string_equal(leadroute_error_last()->message, "out is NULL");

    leadroute_error_clear();
    assert_int_equal(leadroute_leads_parse(NULL, "", 0, NULL, NULL, NULL), LEADROUTE_EINVAL);
    assert_int_equal(leadroute_error_last()->code, LEADROUTE_EINVAL);
    assert_string_equal(leadroute_error_last()->message, "leadroute_leads_parse: out is NULL");

    leadroute_error_clear();
    assert_int_equal(leadroute_error_last()->code, LEADROUTE_OK);
    assert_string_equal(leadroute_error_last()->message, "");
}

static void test_error_message_is_null_terminated_copy(void **state)
{
    (void)state;
    /* The message must stay readable after the failing call returned. */
    leadroute_error_clear();
    assert_int_equal(leadroute_lead_init(NULL, LEADROUTE_LEAD_VERSION), LEADROUTE_EINVAL);
    const char *m = leadroute_error_last()->message;
    char copy[512];
    size_t n = strlen(m);
    assert_true(n > 0 && n < sizeof copy);
    memcpy(copy, m, n + 1);
    assert_string_equal(copy, leadroute_error_last()->message);
}

/* Messages quote what hosts wrote (ids, cells, lead values, paths):
 * whatever that holds, a message is one line of valid UTF-8, safe to log,
 * print, put in JSON or decode in Python. */
static void test_error_message_escapes_quoted_text(void **state)
{
    char big[3001];
    const char *m;
    size_t n, i;
    (void)state;
    assert_int_equal(lr__error_set(LEADROUTE_EINVAL, "id '%s'", "a\tb\x01\x7f" "c\n"), LEADROUTE_EINVAL);
    assert_string_equal(leadroute_error_last()->message, "id 'a\\x09b\\x01\\x7fc\\x0a'");
    /* bytes that start no UTF-8 character (a stray byte, a character cut
     * short, a surrogate) are escaped one by one; valid characters stay */
    lr__error_set(LEADROUTE_EINVAL, "'%s'", "\xff" "\xc3\xa9" "\xc3(" "\xed\xa0\x80" "\xe2\x82");
    assert_string_equal(leadroute_error_last()->message,
                        "'\\xff\xc3\xa9\\xc3(\\xed\\xa0\\x80\\xe2\\x82'");
    /* C1 controls (NEL) and the line and paragraph separators break lines
     * too: escaped byte by byte; a character next to them stays */
    lr__error_set(LEADROUTE_EINVAL, "'%s'", "a\xc2\x85" "b\xe2\x80\xa8" "c\xe2\x80\xa9" "\xc2\xa0" "\xe2\x80\xa6");
    assert_string_equal(leadroute_error_last()->message,
                        "'a\\xc2\\x85b\\xe2\\x80\\xa8c\\xe2\\x80\\xa9\xc2\xa0\xe2\x80\xa6'");
    /* a file path goes through the same */
    lr__error_set_at(LEADROUTE_EPARSE, "dir\n/t.csv", 2, 3, "bad");
    assert_string_equal(leadroute_error_last()->message, "dir\\x0a/t.csv:2:3: bad");
    assert_string_equal(leadroute_error_last()->file, "dir\n/t.csv");
    /* a message too long to keep ends with "..." after a whole character */
    for (i = 0; i + 2 < sizeof big; i += 2)
        memcpy(big + i, "\xc3\xa9", 2);
    big[i] = '\0';
    lr__error_set(LEADROUTE_EINVAL, "x%s", big);
    m = leadroute_error_last()->message;
    n = strlen(m);
    assert_true(n >= 1000 && n <= 1023);
    assert_string_equal(m + n - 3, "...");
    assert_true(lr__utf8_valid(m, n));
    assert_int_equal((n - 4) % 2, 0); /* "x", then whole two-byte characters */
    /* a message built from the previous one is still whole */
    lr__error_set(LEADROUTE_EINVAL, "id '%s'", "a\tb");
    lr__error_set(LEADROUTE_EINVAL, "%s, again", leadroute_error_last()->message);
    assert_string_equal(leadroute_error_last()->message, "id 'a\\x09b', again");
}

/* --- per-thread state --------------------------------------------------- */

typedef struct thread_probe {
    int seen_code_before;     /* code visible in the new thread before it fails */
    int seen_message_empty;
    int own_rc;
    int own_code_after;
    int message_nonempty;
} thread_probe;

static void *probe_thread(void *arg)
{
    thread_probe *p = arg;
    const leadroute_error *e = leadroute_error_last();
    p->seen_code_before = e ? e->code : 12345;
    p->seen_message_empty = e && e->message && e->message[0] == '\0';
    leadroute_value v;
    p->own_rc = leadroute_value_init(&v, 99);
    e = leadroute_error_last();
    p->own_code_after = e ? e->code : 12345;
    p->message_nonempty = e && e->message && e->message[0] != '\0';
    return NULL;
}

/* A message that fits is kept whole; one byte more and it is cut on a
 * character, ending in "...", within the 1023 bytes. */
static void test_error_message_fits_whole(void **state)
{
    (void)state;
    char src[1100], dst[1024];
    for (size_t len = 1018; len <= 1030; len++) {
        memset(src, 'k', len);
        src[len - 1] = '\'';
        src[len] = '\0';
        lr__message_clean(dst, sizeof dst, src);
        if (len <= 1023) {
            assert_string_equal(dst, src);
        } else {
            assert_int_equal(strlen(dst), 1023);
            assert_memory_equal(dst + 1020, "...", 4);
        }
    }
    /* the same through the API: a 1023-byte message keeps its end */
    memset(src, 'k', 1000);
    src[1000] = '\0';
    lr__error_set(LEADROUTE_EINVAL, "no lead '%s' at all, seen", src);
    assert_int_equal(strlen(leadroute_error_last()->message), 1023);
    expect_message_has("at all, seen");
}

/* A message cut where the next character is shown as \xNN (four bytes)
 * still fits: at most cap - 1 bytes, ending in "...", for every place the
 * cut may land, before a plain character or an escaped one. */
static void test_error_message_cut_at_an_escape(void **state)
{
    (void)state;
    char src[700], dst[600];
    for (size_t cap = 40; cap <= sizeof dst; cap += 37)
        for (size_t j = 0; j < 12; j++) {
            memset(src, 'a', j);
            memset(src + j, '\x01', sizeof src - 1 - j);
            src[sizeof src - 1] = '\0';
            memset(dst, 0x55, sizeof dst);
            lr__message_clean(dst, cap, src);
            if (strlen(dst) > cap - 1 || strcmp(dst + strlen(dst) - 3, "...") != 0)
                fail_msg("cap %zu, %zu plain bytes first: %zu bytes '%s'", cap, j, strlen(dst), dst);
            for (size_t k = cap; k < sizeof dst; k++)
                assert_int_equal((unsigned char)dst[k], 0x55);
        }
}

/* An allocator that scribbles over what it frees, so that a pointer kept
 * into freed memory reads as garbage. */
static void *scribble_alloc(void *ud, size_t n)
{
    size_t *p = malloc(n + 16);
    (void)ud;
    if (!p)
        return NULL;
    p[0] = n;
    return (char *)p + 16;
}

static void scribble_free(void *ud, void *q)
{
    size_t *p;
    (void)ud;
    if (!q)
        return;
    p = (size_t *)(void *)((char *)q - 16);
    memset(q, 'Z', p[0]);
    free(p);
}

/* The error keeps its own copy of the file name, past the caller's string
 * and the arena of the parse that failed; clearing forgets file and line. */
static void test_error_file_copied_and_cleared(void **state)
{
    const leadroute_allocator scribbler = { LEADROUTE_ALLOCATOR_VERSION, scribble_alloc, scribble_free, NULL };
    char name[16];
    leadroute_leads *l = NULL;
    (void)state;
    snprintf(name, sizeof name, "mine.csv");
    assert_int_equal(leadroute_leads_parse(&l, "", 0, name, NULL, &scribbler), LEADROUTE_EPARSE);
    memset(name, 'Z', sizeof name - 1);
    assert_non_null(leadroute_error_last()->file);
    assert_string_equal(leadroute_error_last()->file, "mine.csv");
    assert_int_equal(leadroute_error_last()->line, 1);
    leadroute_error_clear();
    assert_int_equal(leadroute_error_last()->code, LEADROUTE_OK);
    assert_null(leadroute_error_last()->file);
    assert_int_equal(leadroute_error_last()->line, 0);
    assert_int_equal(leadroute_error_last()->column, 0);
}

/* A path too long for a message is shown by its end, from a whole
 * character; one of 200 bytes is shown whole. */
static void test_error_long_paths(void **state)
{
    char path[400];
    leadroute_leads *l = NULL;
    (void)state;
    memset(path, 'p', 200);
    memcpy(path, "/nonexistent/", 13);
    path[200] = '\0';
    assert_int_equal(leadroute_leads_load(&l, path, NULL, NULL), LEADROUTE_EIO);
    expect_message_has(path);
    snprintf(path, sizeof path, "/nonexistent/x");
    for (int i = 0; i < 100; i++)
        strcat(path, "\xc3\xa4");
    assert_int_equal(leadroute_leads_load(&l, path, NULL, NULL), LEADROUTE_EIO);
    if (!strstr(leadroute_error_last()->message, "...\xc3\xa4") || strstr(leadroute_error_last()->message, "\\x"))
        fail_msg("message '%s'", leadroute_error_last()->message);
}

static void test_error_is_per_thread(void **state)
{
    (void)state;
    /* An error on this thread is not visible in a new thread ... */
    leadroute_error_clear();
    assert_int_equal(leadroute_lead_validate(NULL), LEADROUTE_EINVAL);
    assert_int_equal(leadroute_error_last()->code, LEADROUTE_EINVAL);
    char before[512];
    snprintf(before, sizeof before, "%s", leadroute_error_last()->message);

    thread_probe p;
    memset(&p, 0, sizeof p);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, probe_thread, &p), 0);
    assert_int_equal(pthread_join(th, NULL), 0);

    assert_int_equal(p.seen_code_before, LEADROUTE_OK);
    assert_true(p.seen_message_empty);
    assert_int_equal(p.own_rc, LEADROUTE_EVERSION);
    assert_int_equal(p.own_code_after, LEADROUTE_EVERSION);
    assert_true(p.message_nonempty);

    /* ... and the other thread's error did not overwrite ours. */
    assert_int_equal(leadroute_error_last()->code, LEADROUTE_EINVAL);
    assert_string_equal(leadroute_error_last()->message, before);
}

#define NTHREADS 4
typedef struct storm_arg {
    int id;
    int failures;
} storm_arg;

static void *storm_thread(void *arg)
{
    storm_arg *a = arg;
    for (int i = 0; i < 2000; i++) {
        int rc;
        int want;
        if ((a->id + i) % 2 == 0) {
            rc = leadroute_lead_validate(NULL);
            want = LEADROUTE_EINVAL;
        } else {
            leadroute_lead l;
            rc = leadroute_lead_init(&l, 7);
            want = LEADROUTE_EVERSION;
        }
        if (rc != want || leadroute_error_last()->code != want)
            a->failures++;
        leadroute_error_clear();
        if (leadroute_error_last()->code != LEADROUTE_OK)
            a->failures++;
    }
    return NULL;
}

static void test_error_threads_concurrently(void **state)
{
    (void)state;
    pthread_t th[NTHREADS];
    storm_arg args[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        args[i].id = i;
        args[i].failures = 0;
        assert_int_equal(pthread_create(&th[i], NULL, storm_thread, &args[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(args[i].failures, 0);
    }
}

static void test_version(void **state)
{
    (void)state;
    assert_int_equal(leadroute_version_number(), LEADROUTE_VERSION_NUMBER);
    assert_int_equal(LEADROUTE_VERSION_NUMBER,
                     LEADROUTE_VERSION_MAJOR * 10000 + LEADROUTE_VERSION_MINOR * 100 +
                         LEADROUTE_VERSION_PATCH);
    assert_non_null(leadroute_version_string());
    assert_string_equal(leadroute_version_string(), LEADROUTE_VERSION_STRING);
    char expect[32];
    snprintf(expect, sizeof expect, "%d.%d.%d", LEADROUTE_VERSION_MAJOR, LEADROUTE_VERSION_MINOR,
             LEADROUTE_VERSION_PATCH);
    assert_string_equal(leadroute_version_string(), expect);
}

/* ---- tests added by mutation testing of lib/base/error.c ---- */

/* A path over 200 bytes is shown as "..." and its last 197 bytes, moved
 * forward to a whole character when the cut lands inside one. */
static void test_error_path_tail_exact(void **state)
{
    char path[400], want[512];
    size_t i;
    (void)state;
    for (i = 0; i < 250; i++)
        path[i] = (char)('a' + i % 26);
    path[250] = '\0';
    lr__error_set_at(LEADROUTE_EPARSE, path, 1, 2, "x");
    snprintf(want, sizeof want, "...%s:1:2: x", path + 250 - 197);
    assert_string_equal(leadroute_error_last()->message, want);
    assert_string_equal(leadroute_error_last()->file, path);

    /* "a" and 150 two-byte characters: 301 bytes, the cut at byte 104
     * falls inside a character, so 196 bytes are shown */
    path[0] = 'a';
    for (i = 1; i + 1 < 302; i += 2)
        memcpy(path + i, "\xc3\xa4", 2);
    path[301] = '\0';
    lr__error_set_at(LEADROUTE_EPARSE, path, 1, 2, "x");
    snprintf(want, sizeof want, "...%s:1:2: x", path + 105);
    assert_string_equal(leadroute_error_last()->message, want);
}

/* The position a message starts with: line and column, the line alone, or
 * neither; an error set without a file has no file. */
static void test_error_position_forms(void **state)
{
    (void)state;
    lr__error_set_at(LEADROUTE_EPARSE, "f.csv", 3, 4, "bad");
    assert_string_equal(leadroute_error_last()->message, "f.csv:3:4: bad");
    lr__error_set_at(LEADROUTE_EPARSE, "f.csv", 3, 0, "bad");
    assert_string_equal(leadroute_error_last()->message, "f.csv:3: bad");
    assert_int_equal(leadroute_error_last()->line, 3);
    assert_int_equal(leadroute_error_last()->column, 0);
    lr__error_set_at(LEADROUTE_EPARSE, "f.csv", 0, 0, "bad");
    assert_string_equal(leadroute_error_last()->message, "f.csv: bad");
    /* a later error without a file forgets the earlier one's */
    lr__error_set(LEADROUTE_EINVAL, "plain");
    assert_string_equal(leadroute_error_last()->message, "plain");
    assert_null(leadroute_error_last()->file);
    assert_int_equal(leadroute_error_last()->line, 0);
    assert_int_equal(leadroute_error_last()->column, 0);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codes_are_pinned),
        cmocka_unit_test(test_strerror_every_code),
        cmocka_unit_test(test_strerror_unknown),
        cmocka_unit_test(test_error_last_never_null),
        cmocka_unit_test(test_error_set_on_null_args),
        cmocka_unit_test(test_error_message_is_null_terminated_copy),
        cmocka_unit_test(test_error_message_escapes_quoted_text),
        cmocka_unit_test(test_error_message_fits_whole),
        cmocka_unit_test(test_error_message_cut_at_an_escape),
        cmocka_unit_test(test_error_file_copied_and_cleared),
        cmocka_unit_test(test_error_long_paths),
        cmocka_unit_test(test_error_is_per_thread),
        cmocka_unit_test(test_error_threads_concurrently),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_error_path_tail_exact),
        cmocka_unit_test(test_error_position_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
