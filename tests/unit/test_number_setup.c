/* Evaluations never allocate: the one-time set-up behind reading numbers
 * from text (a C locale object, which the C library may allocate) runs
 * when a table is compiled, not at the first evaluation that reads a
 * number. Linked with -Wl,--wrap=newlocale to count the set-up; a program
 * of its own, since the set-up happens once per process. */
#define _POSIX_C_SOURCE 200809L
#include <locale.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "testutil.h"

locale_t __real_newlocale(int mask, const char *locale, locale_t base);
locale_t __wrap_newlocale(int mask, const char *locale, locale_t base);

static int g_newlocale_calls;

locale_t __wrap_newlocale(int mask, const char *locale, locale_t base)
{
    g_newlocale_calls++;
    return __real_newlocale(mask, locale, base);
}

static void test_setup_at_compile(void **state)
{
    (void)state;
    /* a number column whose cells are all '-', no lint (whose witness
     * leads print numbers): compiling reads and writes no number */
    leadroute_table_options o = LEADROUTE_TABLE_OPTIONS_INIT;
    leadroute_table *t;
    tlead l;

    o.flags = LEADROUTE_TABLE_NO_LINT;
    assert_int_equal(g_newlocale_calls, 0);
    t = parse_opts("rule,score:number,out:pool\nr1,-,a\n", &o);
    assert_int_equal(g_newlocale_calls, 1);
    tl_init(&l);
    tl_str(&l, "score", " 42.5 ");
    assert_string_equal(hits(t, &l), "r1");
    tl_init(&l);
    tl_str(&l, "score", "many");
    assert_int_equal(eval_rc(t, &l), LEADROUTE_ELEAD);
    assert_int_equal(g_newlocale_calls, 1);
    leadroute_table_unref(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_setup_at_compile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
