/* A roster names the first place of an id given twice whatever order the C
 * library's qsort leaves equal elements in: C does not promise a stable
 * sort (musl's is not). Linked with -Wl,--wrap=qsort, so the library's
 * sorts here leave every run of equal elements reversed; a program of its
 * own, since the wrap applies to the whole program. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "leadroute/leadroute.h"
#include "testutil.h"

void __real_qsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));
void __wrap_qsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));

static size_t g_calls; /* sorts made through the wrap */

/* Sorted, then each run of equal elements reversed: a legal qsort result. */
void __wrap_qsort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    char *b = base, tmp[512];
    size_t i = 0;
    g_calls++;
    __real_qsort(base, n, size, cmp);
    assert_true(size <= sizeof tmp);
    while (i < n) {
        size_t j = i + 1, lo, hi;
        while (j < n && cmp(b + i * size, b + j * size) == 0)
            j++;
        for (lo = i, hi = j - 1; lo < hi; lo++, hi--) {
            memcpy(tmp, b + lo * size, size);
            memcpy(b + lo * size, b + hi * size, size);
            memcpy(b + hi * size, tmp, size);
        }
        i = j;
    }
}

static void expect_twice(const char *text, const char *where, const char *what)
{
    leadroute_roster *ro = NULL;
    int rc = leadroute_roster_parse(&ro, text, strlen(text), "r.csv", NULL);
    const leadroute_error *e = leadroute_error_last();
    assert_int_equal(rc, LEADROUTE_EINVAL);
    assert_null(ro);
    if (strncmp(e->message, where, strlen(where)) != 0 || !strstr(e->message, what))
        fail_msg("'%s' is not '%s...%s'", e->message, where, what);
}

static void test_first_place_of_a_twin(void **state)
{
    (void)state;
    expect_twice("#! reps\nid,pools\nx,a\nx,a\nx,a\n", "r.csv:4:1: ", "rep id 'x' is given twice (first at line 3)");
    expect_twice("#! reps\nid,pools\nr01,a\nx,a\nr01,a\ny,a\nr01,a\nr01,a\n", "r.csv:5:1: ",
                 "rep id 'r01' is given twice (first at line 3)");
    expect_twice("#! pools\nid\np\nq\np\np\n#! reps\nid,pools\nx,p\n", "r.csv:5:1: ",
                 "pool id 'p' is given twice (first at line 3)");
    /* the library's sorts went through the wrap */
    assert_true(g_calls >= 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_place_of_a_twin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
