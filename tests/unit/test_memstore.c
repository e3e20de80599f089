/* The built-in store: the commit contract, close, load_pool, overlays,
 * limits, allocation failures and many threads at once. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <stdatomic.h>
#include <cmocka.h>

#include "leadroute/leadroute.h"
#include "router/memstore.h"

#define ST (&lr__memstore_methods)

static void ok(int rc)
{
    if (rc != LEADROUTE_OK)
        fail_msg("call failed (%d): %s", rc, leadroute_error_last()->message);
}

static lr__memstore *store_new(void)
{
    lr__memstore *m = NULL;
    ok(lr__memstore_new(&m, NULL, NULL, NULL));
    assert_non_null(m);
    return m;
}

static lr__memstore *overlay_new(const leadroute_store *parent, void *parent_user)
{
    lr__memstore *m = NULL;
    ok(lr__memstore_new(&m, NULL, parent, parent_user));
    assert_non_null(m);
    return m;
}

/* One commit; fields the test does not need stay NULL / 0. */
typedef struct tc {
    const char *key, *rep, *previous, *pool, *state, *account;
    uint64_t expected;
    uint32_t capacity;
} tc;

/* The holder reported by the last commit on this thread. */
static _Thread_local char owner_buf[LEADROUTE_MAX_STRING + 1];

static int commit_to(const leadroute_store *st, void *m, const tc *t)
{
    leadroute_assignment a;
    leadroute_commit c;
    memset(&a, 0, sizeof a);
    memset(&c, 0, sizeof c);
    a.version = LEADROUTE_ASSIGNMENT_VERSION;
    a.key = t->key;
    a.lead_id = t->key;
    a.rep_id = t->rep;
    a.previous = t->previous;
    a.pool_id = t->pool;
    a.rule_id = "rule";
    c.version = LEADROUTE_COMMIT_VERSION;
    c.assignment = &a;
    c.pool_id = t->pool;
    c.expected_version = t->expected;
    c.state = t->state;
    c.state_length = t->state ? strlen(t->state) : 0;
    c.capacity = t->capacity;
    c.account_key = t->account;
    strcpy(owner_buf, "untouched");
    return st->commit(m, &c, owner_buf, sizeof owner_buf);
}

static int commit(lr__memstore *m, const tc *t)
{
    return commit_to(ST, m, t);
}

/* The holder of `key`, or "" when unclaimed; fails on any other error. */
static const char *holder(lr__memstore *m, const char *key)
{
    static char buf[LEADROUTE_MAX_STRING + 1];
    int rc = ST->find_claim(m, key, buf, sizeof buf);
    if (rc == LEADROUTE_ENOTFOUND)
        return "";
    ok(rc);
    return buf;
}

static uint32_t open_of(lr__memstore *m, const char *rep)
{
    uint32_t n = 12345;
    ok(ST->open_count(m, rep, &n));
    return n;
}

/* Pool state as a string; `*version` gets its version. */
static const char *pool_of(lr__memstore *m, const char *pool, uint64_t *version)
{
    static char buf[8192];
    size_t len = 0;
    ok(ST->load_pool(m, pool, buf, sizeof buf - 1, &len, version));
    assert_true(len < sizeof buf);
    buf[len] = '\0';
    return buf;
}

static void expect_message_has(const char *needle)
{
    const char *msg = leadroute_error_last()->message;
    if (!strstr(msg, needle))
        fail_msg("message \"%s\" lacks \"%s\"", msg, needle);
}

/* ---- basics ------------------------------------------------------------- */

static void test_methods(void **state)
{
    (void)state;
    assert_int_equal(ST->version, LEADROUTE_STORE_VERSION);
    assert_non_null(ST->load_pool);
    assert_non_null(ST->find_claim);
    assert_non_null(ST->open_count);
    assert_non_null(ST->commit);
    assert_non_null(ST->close);
    assert_int_equal(lr__memstore_assignments(NULL), 0);
    lr__memstore_free(NULL);
}

static void test_empty(void **state)
{
    lr__memstore *m = store_new();
    char buf[16] = "xyz";
    size_t len = 99;
    uint64_t v = 99;
    (void)state;
    ok(ST->load_pool(m, "p", buf, sizeof buf, &len, &v));
    assert_int_equal(len, 0);
    assert_int_equal(v, 0);
    assert_int_equal(ST->find_claim(m, "k", buf, sizeof buf), LEADROUTE_ENOTFOUND);
    assert_int_equal(open_of(m, "nobody"), 0);
    assert_int_equal(ST->close(m, "k"), LEADROUTE_ENOTFOUND);
    expect_message_has("not claimed");
    assert_int_equal(lr__memstore_assignments(m), 0);
    lr__memstore_free(m);
}

static void test_commit_writes_everything(void **state)
{
    lr__memstore *m = store_new();
    uint64_t v = 0;
    (void)state;
    ok(commit(m, &(tc){ .key = "lead-1", .rep = "ann", .pool = "emea", .state = "rr1 ann" }));
    assert_string_equal(holder(m, "lead-1"), "ann");
    assert_string_equal(pool_of(m, "emea", &v), "rr1 ann");
    assert_int_equal(v, 1);
    assert_int_equal(open_of(m, "ann"), 1);
    assert_int_equal(open_of(m, "bob"), 0);
    assert_int_equal(lr__memstore_assignments(m), 1);

    /* the next write goes from version 1 to 2, and may shrink the state */
    ok(commit(m, &(tc){ .key = "lead-2", .rep = "bob", .pool = "emea", .expected = 1, .state = "rr1 b" }));
    assert_string_equal(pool_of(m, "emea", &v), "rr1 b");
    assert_int_equal(v, 2);
    /* an empty state is a state too */
    ok(commit(m, &(tc){ .key = "lead-3", .rep = "bob", .pool = "emea", .expected = 2, .state = "" }));
    assert_string_equal(pool_of(m, "emea", &v), "");
    assert_int_equal(v, 3);
    /* no pool: only the claim and the count */
    ok(commit(m, &(tc){ .key = "lead-4", .rep = "bob" }));
    assert_int_equal(open_of(m, "bob"), 3);
    assert_string_equal(holder(m, "lead-4"), "bob");
    /* pools are independent */
    ok(commit(m, &(tc){ .key = "lead-5", .rep = "cy", .pool = "na", .state = "x" }));
    assert_string_equal(pool_of(m, "na", &v), "x");
    assert_int_equal(v, 1);
    assert_string_equal(pool_of(m, "emea", &v), "");
    assert_int_equal(v, 3);
    assert_int_equal(lr__memstore_assignments(m), 5);
    lr__memstore_free(m);
}

/* Nothing of a failed commit shows: claims, counts, pool, assignments. */
static void expect_unchanged(lr__memstore *m, const char *key, const char *key_holder, const char *rep,
                             uint32_t rep_open, const char *pool, uint64_t version, const char *pool_state,
                             uint64_t assignments)
{
    uint64_t v = 0;
    assert_string_equal(holder(m, key), key_holder);
    assert_int_equal(open_of(m, rep), rep_open);
    if (pool) {
        assert_string_equal(pool_of(m, pool, &v), pool_state);
        assert_int_equal(v, version);
    }
    assert_int_equal(lr__memstore_assignments(m), assignments);
}

static void test_stale_version(void **state)
{
    lr__memstore *m = store_new();
    (void)state;
    ok(commit(m, &(tc){ .key = "k1", .rep = "ann", .pool = "p", .state = "one" }));
    leadroute_error_clear();
    assert_int_equal(commit(m, &(tc){ .key = "k2", .rep = "bob", .pool = "p", .expected = 0, .state = "two",
                                      .account = "acme.com" }),
                     LEADROUTE_ECONFLICT);
    expect_message_has("version 1");
    expect_unchanged(m, "k2", "", "bob", 0, "p", 1, "one", 1);
    assert_string_equal(holder(m, "acme.com"), "");
    /* a version from the future is as wrong as a stale one */
    assert_int_equal(commit(m, &(tc){ .key = "k2", .rep = "bob", .pool = "p", .expected = 2, .state = "two" }),
                     LEADROUTE_ECONFLICT);
    expect_unchanged(m, "k2", "", "bob", 0, "p", 1, "one", 1);
    /* a pool never written is at version 0 */
    assert_int_equal(commit(m, &(tc){ .key = "k2", .rep = "bob", .pool = "fresh", .expected = 1, .state = "s" }),
                     LEADROUTE_ECONFLICT);
    expect_unchanged(m, "k2", "", "bob", 0, "fresh", 0, "", 1);
    ok(commit(m, &(tc){ .key = "k2", .rep = "bob", .pool = "p", .expected = 1, .state = "two" }));
    expect_unchanged(m, "k2", "bob", "bob", 1, "p", 2, "two", 2);
    lr__memstore_free(m);
}

static void test_capacity(void **state)
{
    lr__memstore *m = store_new();
    (void)state;
    ok(commit(m, &(tc){ .key = "k1", .rep = "ann", .capacity = 2 }));
    ok(commit(m, &(tc){ .key = "k2", .rep = "ann", .pool = "p", .state = "a", .capacity = 2 }));
    assert_int_equal(commit(m, &(tc){ .key = "k3", .rep = "ann", .pool = "p", .expected = 1, .state = "b",
                                      .capacity = 2, .account = "acme.com" }),
                     LEADROUTE_ECONFLICT);
    expect_message_has("capacity");
    expect_unchanged(m, "k3", "", "ann", 2, "p", 1, "a", 2);
    assert_string_equal(holder(m, "acme.com"), "");
    /* a cap of 0 is no cap; a larger cap has room */
    ok(commit(m, &(tc){ .key = "k3", .rep = "ann" }));
    ok(commit(m, &(tc){ .key = "k4", .rep = "ann", .capacity = 4 }));
    assert_int_equal(open_of(m, "ann"), 4);
    assert_int_equal(commit(m, &(tc){ .key = "k5", .rep = "ann", .capacity = 4 }), LEADROUTE_ECONFLICT);
    /* closing a lead frees one unit */
    ok(ST->close(m, "k1"));
    ok(commit(m, &(tc){ .key = "k5", .rep = "ann", .capacity = 4 }));
    assert_int_equal(open_of(m, "ann"), 4);
    lr__memstore_free(m);
}

static void test_claimed_key(void **state)
{
    lr__memstore *m = store_new();
    char small[4];
    leadroute_assignment a = { LEADROUTE_ASSIGNMENT_VERSION, "k1", NULL, "cy", NULL, NULL, NULL, 0, 0, 0 };
    leadroute_commit c = { LEADROUTE_COMMIT_VERSION, &a, NULL, 0, NULL, 0, 0, NULL };
    (void)state;
    ok(commit(m, &(tc){ .key = "k1", .rep = "annabel", .pool = "p", .state = "s1" }));
    assert_int_equal(commit(m, &(tc){ .key = "k1", .rep = "bob", .pool = "p", .expected = 1, .state = "s2",
                                      .account = "acme.com" }),
                     LEADROUTE_EEXISTS);
    assert_string_equal(owner_buf, "annabel");
    expect_message_has("annabel");
    expect_unchanged(m, "k1", "annabel", "bob", 0, "p", 1, "s1", 1);
    assert_int_equal(open_of(m, "annabel"), 1);
    assert_string_equal(holder(m, "acme.com"), "");
    /* naming the wrong previous holder is no way around the claim */
    assert_int_equal(commit(m, &(tc){ .key = "k1", .rep = "bob", .previous = "cy" }), LEADROUTE_EEXISTS);
    assert_string_equal(owner_buf, "annabel");
    /* the holder is truncated to the buffer, never overflowing it */
    assert_int_equal(ST->commit(m, &c, small, sizeof small), LEADROUTE_EEXISTS);
    assert_string_equal(small, "ann");
    assert_int_equal(ST->commit(m, &c, NULL, 0), LEADROUTE_EEXISTS);
    /* the rep who holds the key cannot claim it again either */
    assert_int_equal(commit(m, &(tc){ .key = "k1", .rep = "annabel" }), LEADROUTE_EEXISTS);
    assert_string_equal(owner_buf, "annabel");
    expect_unchanged(m, "k1", "annabel", "annabel", 1, "p", 1, "s1", 1);
    lr__memstore_free(m);
}

/* Version first, then capacity, then the claim. */
static void test_check_order(void **state)
{
    lr__memstore *m = store_new();
    (void)state;
    ok(commit(m, &(tc){ .key = "k1", .rep = "ann", .pool = "p", .state = "s" }));
    assert_int_equal(commit(m, &(tc){ .key = "k1", .rep = "ann", .pool = "p", .expected = 0, .capacity = 1 }),
                     LEADROUTE_ECONFLICT);
    expect_message_has("version");
    assert_string_equal(owner_buf, "untouched");
    assert_int_equal(commit(m, &(tc){ .key = "k1", .rep = "ann", .pool = "p", .expected = 1, .capacity = 1 }),
                     LEADROUTE_ECONFLICT);
    expect_message_has("capacity");
    assert_string_equal(owner_buf, "untouched");
    assert_int_equal(commit(m, &(tc){ .key = "k1", .rep = "ann", .pool = "p", .expected = 1, .capacity = 2 }),
                     LEADROUTE_EEXISTS);
    lr__memstore_free(m);
}

static void test_reassign(void **state)
{
    lr__memstore *m = store_new();
    (void)state;
    ok(commit(m, &(tc){ .key = "k1", .rep = "ann" }));
    ok(commit(m, &(tc){ .key = "k2", .rep = "ann" }));
    ok(commit(m, &(tc){ .key = "k1", .rep = "bob", .previous = "ann", .pool = "p", .state = "rr1 bob" }));
    assert_string_equal(holder(m, "k1"), "bob");
    assert_int_equal(open_of(m, "ann"), 1);
    assert_int_equal(open_of(m, "bob"), 1);
    assert_int_equal(lr__memstore_assignments(m), 3);
    /* the moved claim closes for its new holder */
    ok(ST->close(m, "k1"));
    assert_int_equal(open_of(m, "bob"), 0);
    assert_int_equal(open_of(m, "ann"), 1);
    /* previous no longer holds the key (closed meanwhile): it loses nothing */
    ok(commit(m, &(tc){ .key = "k1", .rep = "cy", .previous = "ann" }));
    assert_int_equal(open_of(m, "ann"), 1);
    assert_int_equal(open_of(m, "cy"), 1);
    /* the capacity of the new rep counts */
    assert_int_equal(commit(m, &(tc){ .key = "k2", .rep = "cy", .previous = "ann", .capacity = 1 }),
                     LEADROUTE_ECONFLICT);
    assert_string_equal(holder(m, "k2"), "ann");
    lr__memstore_free(m);
}

static void test_account_key(void **state)
{
    lr__memstore *m = store_new();
    (void)state;
    ok(commit(m, &(tc){ .key = "k1", .rep = "ann", .account = "acme.com" }));
    assert_string_equal(holder(m, "acme.com"), "ann");
    /* an account claim is not an open lead */
    assert_int_equal(open_of(m, "ann"), 1);
    /* first claim wins: a later lead of the account leaves it alone */
    ok(commit(m, &(tc){ .key = "k2", .rep = "bob", .account = "acme.com" }));
    assert_string_equal(holder(m, "acme.com"), "ann");
    assert_string_equal(holder(m, "k2"), "bob");
    /* nor does a reassignment of the lead that made the claim */
    ok(commit(m, &(tc){ .key = "k1", .rep = "cy", .previous = "ann", .account = "acme.com" }));
    assert_string_equal(holder(m, "acme.com"), "ann");
    assert_int_equal(open_of(m, "ann"), 0);
    /* releasing the account claim takes no open lead from its holder */
    ok(commit(m, &(tc){ .key = "k3", .rep = "ann" }));
    ok(ST->close(m, "acme.com"));
    assert_int_equal(open_of(m, "ann"), 1);
    assert_string_equal(holder(m, "acme.com"), "");
    ok(commit(m, &(tc){ .key = "k4", .rep = "dee", .account = "acme.com" }));
    assert_string_equal(holder(m, "acme.com"), "dee");
    /* an account key equal to the lead's key: one claim, one open lead */
    ok(commit(m, &(tc){ .key = "same", .rep = "eve", .account = "same" }));
    assert_string_equal(holder(m, "same"), "eve");
    assert_int_equal(open_of(m, "eve"), 1);
    lr__memstore_free(m);
}

static void test_close(void **state)
{
    lr__memstore *m = store_new();
    char key[32];
    int i;
    (void)state;
    ok(commit(m, &(tc){ .key = "k1", .rep = "ann" }));
    ok(ST->close(m, "k1"));
    assert_string_equal(holder(m, "k1"), "");
    assert_int_equal(open_of(m, "ann"), 0);
    leadroute_error_clear();
    assert_int_equal(ST->close(m, "k1"), LEADROUTE_ENOTFOUND);
    expect_message_has("k1");
    /* a closed key may be claimed again */
    ok(commit(m, &(tc){ .key = "k1", .rep = "bob" }));
    assert_string_equal(holder(m, "k1"), "bob");

    /* many keys, every third closed: the others stay findable (the table
     * grows and closes shift entries back) */
    for (i = 0; i < 3000; i++) {
        snprintf(key, sizeof key, "lead-%d", i);
        ok(commit(m, &(tc){ .key = key, .rep = i % 2 ? "odd" : "even" }));
    }
    for (i = 0; i < 3000; i += 3) {
        snprintf(key, sizeof key, "lead-%d", i);
        ok(ST->close(m, key));
    }
    for (i = 0; i < 3000; i++) {
        snprintf(key, sizeof key, "lead-%d", i);
        assert_string_equal(holder(m, key), i % 3 == 0 ? "" : i % 2 ? "odd" : "even");
    }
    assert_int_equal(open_of(m, "odd") + open_of(m, "even"), 2000);
    for (i = 0; i < 3000; i += 3) {
        snprintf(key, sizeof key, "lead-%d", i);
        ok(commit(m, &(tc){ .key = key, .rep = "again" }));
    }
    for (i = 0; i < 3000; i++) {
        snprintf(key, sizeof key, "lead-%d", i);
        assert_string_equal(holder(m, key), i % 3 == 0 ? "again" : i % 2 ? "odd" : "even");
    }
    assert_int_equal(open_of(m, "again"), 1000);
    lr__memstore_free(m);
}

static void test_load_pool_buffer(void **state)
{
    lr__memstore *m = store_new();
    char big[200], buf[256];
    size_t len = 0;
    uint64_t v = 0;
    (void)state;
    memset(big, 'w', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ok(commit(m, &(tc){ .key = "k1", .rep = "ann", .pool = "p", .state = big }));
    /* too small: the full length and the version, nothing copied */
    memset(buf, '#', sizeof buf);
    ok(ST->load_pool(m, "p", buf, 10, &len, &v));
    assert_int_equal(len, sizeof big - 1);
    assert_int_equal(v, 1);
    for (size_t i = 0; i < sizeof buf; i++)
        assert_int_equal(buf[i], '#');
    ok(ST->load_pool(m, "p", NULL, 0, &len, &v));
    assert_int_equal(len, sizeof big - 1);
    /* exactly big enough */
    ok(ST->load_pool(m, "p", buf, len, &len, &v));
    assert_memory_equal(buf, big, sizeof big - 1);
    assert_int_equal(buf[sizeof big - 1], '#');
    assert_int_equal(ST->load_pool(m, "p", NULL, 5, &len, &v), LEADROUTE_EINVAL);
    lr__memstore_free(m);
}

static void test_find_claim_range(void **state)
{
    lr__memstore *m = store_new();
    char buf[8];
    (void)state;
    ok(commit(m, &(tc){ .key = "k", .rep = "abcdef" }));
    assert_int_equal(ST->find_claim(m, "k", buf, 6), LEADROUTE_ERANGE);
    assert_int_equal(buf[0], '\0');
    assert_int_equal(ST->find_claim(m, "k", buf, 0), LEADROUTE_ERANGE);
    ok(ST->find_claim(m, "k", buf, 7));
    assert_string_equal(buf, "abcdef");
    lr__memstore_free(m);
}

static void test_limits(void **state)
{
    lr__memstore *m = store_new();
    char *longest = malloc(LEADROUTE_MAX_STRING + 2);
    char *too_long = malloc(LEADROUTE_MAX_STRING + 2);
    char buf[16];
    size_t len;
    uint64_t v;
    uint32_t n;
    (void)state;
    assert_non_null(longest);
    assert_non_null(too_long);
    memset(longest, 'k', LEADROUTE_MAX_STRING);
    longest[LEADROUTE_MAX_STRING] = '\0';
    memset(too_long, 'k', LEADROUTE_MAX_STRING + 1);
    too_long[LEADROUTE_MAX_STRING + 1] = '\0';

    assert_int_equal(commit(m, &(tc){ .key = too_long, .rep = "ann" }), LEADROUTE_ELIMIT);
    expect_message_has("key");
    assert_int_equal(commit(m, &(tc){ .key = "k", .rep = too_long }), LEADROUTE_ELIMIT);
    assert_int_equal(commit(m, &(tc){ .key = "k", .rep = "ann", .previous = too_long }), LEADROUTE_ELIMIT);
    assert_int_equal(commit(m, &(tc){ .key = "k", .rep = "ann", .pool = too_long }), LEADROUTE_ELIMIT);
    assert_int_equal(commit(m, &(tc){ .key = "k", .rep = "ann", .account = too_long }), LEADROUTE_ELIMIT);
    assert_int_equal(ST->find_claim(m, too_long, buf, sizeof buf), LEADROUTE_ELIMIT);
    assert_int_equal(ST->close(m, too_long), LEADROUTE_ELIMIT);
    assert_int_equal(ST->open_count(m, too_long, &n), LEADROUTE_ELIMIT);
    assert_int_equal(ST->load_pool(m, too_long, buf, sizeof buf, &len, &v), LEADROUTE_ELIMIT);
    assert_string_equal(holder(m, "k"), "");
    assert_int_equal(open_of(m, "ann"), 0);
    assert_int_equal(lr__memstore_assignments(m), 0);

    /* the limit itself is fine */
    ok(commit(m, &(tc){ .key = longest, .rep = longest, .pool = longest, .account = "a" }));
    assert_string_equal(holder(m, longest), longest);
    assert_int_equal(open_of(m, longest), 1);
    ok(ST->close(m, longest));
    free(longest);
    free(too_long);
    lr__memstore_free(m);
}

static void test_misuse(void **state)
{
    lr__memstore *m = store_new();
    leadroute_assignment a = { LEADROUTE_ASSIGNMENT_VERSION, "k", NULL, "ann", NULL, NULL, NULL, 0, 0, 0 };
    leadroute_commit c = { LEADROUTE_COMMIT_VERSION, &a, NULL, 0, NULL, 0, 0, NULL };
    leadroute_store bad = lr__memstore_methods;
    lr__memstore *o = (lr__memstore *)1;
    char buf[8];
    size_t len;
    uint64_t v;
    uint32_t n;
    (void)state;
    assert_int_equal(ST->commit(NULL, &c, buf, sizeof buf), LEADROUTE_EINVAL);
    assert_int_equal(ST->commit(m, NULL, buf, sizeof buf), LEADROUTE_EINVAL);
    c.version = 0;
    assert_int_equal(ST->commit(m, &c, buf, sizeof buf), LEADROUTE_EVERSION);
    c.version = LEADROUTE_COMMIT_VERSION + 1;
    assert_int_equal(ST->commit(m, &c, buf, sizeof buf), LEADROUTE_EVERSION);
    c.version = LEADROUTE_COMMIT_VERSION;
    a.version = 0;
    assert_int_equal(ST->commit(m, &c, buf, sizeof buf), LEADROUTE_EVERSION);
    a.version = LEADROUTE_ASSIGNMENT_VERSION;
    a.key = NULL;
    assert_int_equal(ST->commit(m, &c, buf, sizeof buf), LEADROUTE_EINVAL);
    a.key = "k";
    a.rep_id = NULL;
    assert_int_equal(ST->commit(m, &c, buf, sizeof buf), LEADROUTE_EINVAL);
    a.rep_id = "ann";
    c.pool_id = "p";
    c.state_length = 3;  /* with a NULL state */
    assert_int_equal(ST->commit(m, &c, buf, sizeof buf), LEADROUTE_EINVAL);
    c.state_length = 0;
    ok(ST->commit(m, &c, buf, sizeof buf));  /* the same commit, made right */

    assert_int_equal(ST->find_claim(m, NULL, buf, sizeof buf), LEADROUTE_EINVAL);
    assert_int_equal(ST->find_claim(m, "k", NULL, 4), LEADROUTE_EINVAL);
    assert_int_equal(ST->open_count(m, "ann", NULL), LEADROUTE_EINVAL);
    assert_int_equal(ST->open_count(m, NULL, &n), LEADROUTE_EINVAL);
    assert_int_equal(ST->load_pool(m, NULL, buf, sizeof buf, &len, &v), LEADROUTE_EINVAL);
    assert_int_equal(ST->load_pool(m, "p", buf, sizeof buf, NULL, &v), LEADROUTE_EINVAL);
    assert_int_equal(ST->close(m, NULL), LEADROUTE_EINVAL);
    assert_int_equal(ST->close(NULL, "k"), LEADROUTE_EINVAL);

    /* a parent must be a complete store of a known version */
    bad.close = NULL;
    assert_int_equal(lr__memstore_new(&o, NULL, &bad, m), LEADROUTE_EINVAL);
    assert_null(o);
    bad = lr__memstore_methods;
    bad.version = 0;
    assert_int_equal(lr__memstore_new(&o, NULL, &bad, m), LEADROUTE_EVERSION);
    bad.version = LEADROUTE_STORE_VERSION + 1;
    assert_int_equal(lr__memstore_new(&o, NULL, &bad, m), LEADROUTE_EVERSION);
    assert_int_equal(lr__memstore_new(NULL, NULL, NULL, NULL), LEADROUTE_EINVAL);
    lr__memstore_free(m);
}

/* ---- allocation failures ------------------------------------------------ */

typedef struct budget {
    long left;     /* allocations that succeed; < 0: no limit */
    long every;    /* > 0: every n-th allocation fails */
    long calls, live;
} budget;

static void *budget_alloc(void *ud, size_t size)
{
    budget *b = ud;
    void *p;
    b->calls++;
    if (b->left == 0 || (b->every > 0 && b->calls % b->every == 0))
        return NULL;
    if (b->left > 0)
        b->left--;
    p = malloc(size);
    if (p)
        b->live++;
    return p;
}

static void budget_free(void *ud, void *ptr)
{
    budget *b = ud;
    if (ptr)
        b->live--;
    free(ptr);
}

/* A commit that needs every kind of allocation fails cleanly at each one. */
static void test_nomem_each_allocation(void **state)
{
    int succeeded = 0;
    char big[100];
    (void)state;
    memset(big, 's', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    for (long fail_at = 0; fail_at < 100 && !succeeded; fail_at++) {
        budget b = { -1, 0, 0, 0 };
        lr__alloc a = { budget_alloc, budget_free, &b };
        lr__memstore *m = NULL;
        int rc;
        ok(lr__memstore_new(&m, &a, NULL, NULL));
        ok(commit(m, &(tc){ .key = "k0", .rep = "ann", .pool = "p", .state = "x" }));
        b.left = fail_at;
        rc = commit(m, &(tc){ .key = "k1", .rep = "bob", .previous = "ann", .pool = "p", .expected = 1,
                              .state = big, .account = "acme.com" });
        b.left = -1;
        if (rc == LEADROUTE_OK) {
            succeeded = 1;
            assert_string_equal(holder(m, "k1"), "bob");
            assert_string_equal(holder(m, "acme.com"), "bob");
            expect_unchanged(m, "k1", "bob", "bob", 1, "p", 2, big, 2);
        } else {
            assert_int_equal(rc, LEADROUTE_ENOMEM);
            expect_unchanged(m, "k1", "", "bob", 0, "p", 1, "x", 1);
            assert_string_equal(holder(m, "acme.com"), "");
            assert_int_equal(open_of(m, "ann"), 1);
        }
        lr__memstore_free(m);
        assert_int_equal(b.live, 0);
    }
    assert_true(succeeded);
}

/* Many commits and closes while every 7th allocation fails, through table
 * growth: each call either happens completely or not at all. */
static void test_nomem_random(void **state)
{
    budget b = { -1, 0, 0, 0 };
    lr__alloc a = { budget_alloc, budget_free, &b };
    lr__memstore *m = NULL, *o = NULL;
    char key[32];
    uint32_t held = 0, failed = 0;
    (void)state;
    ok(lr__memstore_new(&m, &a, NULL, NULL));
    b.every = 7;
    for (int i = 0; i < 3000; i++) {
        int rc;
        snprintf(key, sizeof key, "lead-%d", i);
        rc = commit(m, &(tc){ .key = key, .rep = "ann" });
        if (rc == LEADROUTE_OK) {
            held++;
            assert_string_equal(holder(m, key), "ann");
        } else {
            assert_int_equal(rc, LEADROUTE_ENOMEM);
            assert_string_equal(holder(m, key), "");
            failed++;
        }
        assert_int_equal(open_of(m, "ann"), held);
    }
    assert_true(failed > 0);
    assert_int_equal(lr__memstore_assignments(m), held);

    /* an overlay hiding the parent's claims needs memory for each */
    b.every = 0;
    ok(lr__memstore_new(&o, &a, ST, m));
    b.every = 7;
    for (int i = 0; i < 3000; i++) {
        int rc;
        snprintf(key, sizeof key, "lead-%d", i);
        if (!*holder(m, key))
            continue;
        rc = ST->close(o, key);
        if (rc == LEADROUTE_OK) {
            held--;
            assert_string_equal(holder(o, key), "");
        } else {
            assert_int_equal(rc, LEADROUTE_ENOMEM);
            assert_string_equal(holder(o, key), "ann");
        }
        assert_int_equal(open_of(o, "ann"), held);
    }
    lr__memstore_free(o);
    lr__memstore_free(m);
    assert_int_equal(b.live, 0);
}

/* ---- overlays ----------------------------------------------------------- */

/* A parent that forwards reads to a memstore and fails the test on a write. */
static int guard_writes;

static int guard_load_pool(void *ud, const char *p, void *buf, size_t cap, size_t *len, uint64_t *v)
{
    return ST->load_pool(ud, p, buf, cap, len, v);
}

static int guard_find_claim(void *ud, const char *key, char *rep, size_t cap)
{
    return ST->find_claim(ud, key, rep, cap);
}

static int guard_open_count(void *ud, const char *rep, uint32_t *count)
{
    return ST->open_count(ud, rep, count);
}

static int guard_commit(void *ud, const leadroute_commit *c, char *owner, size_t cap)
{
    (void)ud, (void)c, (void)owner, (void)cap;
    guard_writes++;
    return LEADROUTE_EUSER;
}

static int guard_close(void *ud, const char *key)
{
    (void)ud, (void)key;
    guard_writes++;
    return LEADROUTE_EUSER;
}

static const leadroute_store guard = { LEADROUTE_STORE_VERSION, guard_load_pool, guard_find_claim,
                                       guard_open_count, guard_commit, guard_close };

static lr__memstore *parent_with_data(void)
{
    lr__memstore *p = store_new();
    ok(commit(p, &(tc){ .key = "k1", .rep = "ann", .pool = "emea", .state = "rr1 ann", .account = "acme.com" }));
    ok(commit(p, &(tc){ .key = "k2", .rep = "ann" }));
    ok(commit(p, &(tc){ .key = "k3", .rep = "bob", .pool = "na", .state = "n1" }));
    return p;
}

static void test_overlay_reads_through(void **state)
{
    lr__memstore *p = parent_with_data();
    lr__memstore *o = overlay_new(&guard, p);
    uint64_t v = 0;
    char buf[4];
    size_t len = 0;
    (void)state;
    guard_writes = 0;
    assert_string_equal(holder(o, "k1"), "ann");
    assert_string_equal(holder(o, "acme.com"), "ann");
    assert_string_equal(holder(o, "nope"), "");
    assert_string_equal(pool_of(o, "emea", &v), "rr1 ann");
    assert_int_equal(v, 1);
    assert_string_equal(pool_of(o, "unknown", &v), "");
    assert_int_equal(v, 0);
    assert_int_equal(open_of(o, "ann"), 2);
    assert_int_equal(open_of(o, "bob"), 1);
    assert_int_equal(open_of(o, "cy"), 0);
    /* the parent's answers keep their rules: small buffers included */
    assert_int_equal(ST->find_claim(o, "k1", buf, 3), LEADROUTE_ERANGE);
    ok(ST->load_pool(o, "emea", buf, sizeof buf, &len, &v));
    assert_int_equal(len, 7);
    /* the parent keeps moving: the overlay sees what it did not write */
    ok(commit(p, &(tc){ .key = "k4", .rep = "cy", .pool = "emea", .expected = 1, .state = "rr1 cy" }));
    assert_string_equal(holder(o, "k4"), "cy");
    assert_string_equal(pool_of(o, "emea", &v), "rr1 cy");
    assert_int_equal(v, 2);
    assert_int_equal(open_of(o, "cy"), 1);
    assert_int_equal(guard_writes, 0);
    assert_int_equal(lr__memstore_assignments(o), 0);
    lr__memstore_free(o);
    lr__memstore_free(p);
}

static void test_overlay_writes_stay(void **state)
{
    lr__memstore *p = parent_with_data();
    lr__memstore *o = overlay_new(&guard, p);
    uint64_t v = 0;
    (void)state;
    guard_writes = 0;
    /* checks use the parent's view until the overlay writes */
    assert_int_equal(commit(o, &(tc){ .key = "k9", .rep = "cy", .pool = "emea", .expected = 0, .state = "o1" }),
                     LEADROUTE_ECONFLICT);
    ok(commit(o, &(tc){ .key = "k9", .rep = "cy", .pool = "emea", .expected = 1, .state = "o1",
                        .account = "globex.com" }));
    assert_string_equal(holder(o, "k9"), "cy");
    assert_string_equal(holder(o, "globex.com"), "cy");
    assert_string_equal(pool_of(o, "emea", &v), "o1");
    assert_int_equal(v, 2);
    assert_int_equal(open_of(o, "cy"), 1);
    assert_int_equal(lr__memstore_assignments(o), 1);
    /* the parent saw none of it */
    assert_string_equal(holder(p, "k9"), "");
    assert_string_equal(holder(p, "globex.com"), "");
    assert_string_equal(pool_of(p, "emea", &v), "rr1 ann");
    assert_int_equal(v, 1);
    assert_int_equal(open_of(p, "cy"), 0);
    assert_int_equal(lr__memstore_assignments(p), 3);
    /* once written, the overlay's pool no longer follows the parent */
    ok(commit(p, &(tc){ .key = "k5", .rep = "ann", .pool = "emea", .expected = 1, .state = "p2" }));
    ok(commit(p, &(tc){ .key = "k6", .rep = "ann", .pool = "emea", .expected = 2, .state = "p3" }));
    assert_string_equal(pool_of(o, "emea", &v), "o1");
    assert_int_equal(v, 2);
    assert_int_equal(commit(o, &(tc){ .key = "k10", .rep = "cy", .pool = "emea", .expected = 3 }),
                     LEADROUTE_ECONFLICT);
    ok(commit(o, &(tc){ .key = "k10", .rep = "cy", .pool = "emea", .expected = 2, .state = "o2" }));
    assert_string_equal(pool_of(p, "emea", &v), "p3");
    /* claims and accounts held in the parent hold in the overlay */
    assert_int_equal(commit(o, &(tc){ .key = "k1", .rep = "cy" }), LEADROUTE_EEXISTS);
    assert_string_equal(owner_buf, "ann");
    ok(commit(o, &(tc){ .key = "k11", .rep = "cy", .account = "acme.com" }));
    assert_string_equal(holder(o, "acme.com"), "ann");
    /* capacity counts the parent's open leads: ann has 4 there */
    assert_int_equal(commit(o, &(tc){ .key = "k12", .rep = "ann", .capacity = 4 }), LEADROUTE_ECONFLICT);
    ok(commit(o, &(tc){ .key = "k12", .rep = "ann", .capacity = 5 }));
    assert_int_equal(open_of(o, "ann"), 5);
    assert_int_equal(open_of(p, "ann"), 4);
    assert_int_equal(guard_writes, 0);
    lr__memstore_free(o);
    lr__memstore_free(p);
}

static void test_overlay_close_and_reassign(void **state)
{
    lr__memstore *p = parent_with_data();
    lr__memstore *o = overlay_new(&guard, p);
    (void)state;
    guard_writes = 0;
    /* closing a parent's claim hides it in the overlay only */
    ok(ST->close(o, "k1"));
    assert_string_equal(holder(o, "k1"), "");
    assert_string_equal(holder(p, "k1"), "ann");
    assert_int_equal(open_of(o, "ann"), 1);
    assert_int_equal(open_of(p, "ann"), 2);
    assert_int_equal(ST->close(o, "k1"), LEADROUTE_ENOTFOUND);
    assert_int_equal(ST->close(o, "nope"), LEADROUTE_ENOTFOUND);
    /* the key is free in the overlay now */
    ok(commit(o, &(tc){ .key = "k1", .rep = "cy" }));
    assert_string_equal(holder(o, "k1"), "cy");
    assert_string_equal(holder(p, "k1"), "ann");
    /* a claim made and released here hides a later claim of the parent */
    ok(commit(o, &(tc){ .key = "k20", .rep = "cy" }));
    ok(ST->close(o, "k20"));
    assert_int_equal(open_of(o, "cy"), 1);
    ok(commit(p, &(tc){ .key = "k20", .rep = "bob" }));
    assert_string_equal(holder(o, "k20"), "");
    assert_string_equal(holder(p, "k20"), "bob");

    /* reassigning a parent's claim moves the counts in the overlay */
    ok(commit(o, &(tc){ .key = "k3", .rep = "dee", .previous = "bob" }));
    assert_string_equal(holder(o, "k3"), "dee");
    assert_string_equal(holder(p, "k3"), "bob");
    assert_int_equal(open_of(o, "bob"), 1);  /* parent 2 (k3, k20), minus k3 */
    assert_int_equal(open_of(o, "dee"), 1);
    assert_int_equal(open_of(p, "bob"), 2);
    assert_int_equal(open_of(p, "dee"), 0);

    /* the overlay's count never goes below zero when the parent closes too */
    ok(ST->close(o, "k2"));
    assert_int_equal(open_of(o, "ann"), 0);
    ok(ST->close(p, "k2"));
    ok(ST->close(p, "k1"));
    assert_int_equal(open_of(p, "ann"), 0);
    assert_int_equal(open_of(o, "ann"), 0);
    assert_int_equal(guard_writes, 0);
    lr__memstore_free(o);
    lr__memstore_free(p);
}

/* An overlay of an overlay reads through both. */
static void test_overlay_chain(void **state)
{
    lr__memstore *p = parent_with_data();
    lr__memstore *o1 = overlay_new(ST, p);
    lr__memstore *o2 = overlay_new(ST, o1);
    uint64_t v = 0;
    (void)state;
    ok(commit(o1, &(tc){ .key = "k7", .rep = "cy", .pool = "na", .expected = 1, .state = "n2" }));
    ok(ST->close(o1, "k2"));
    assert_string_equal(holder(o2, "k7"), "cy");
    assert_string_equal(holder(o2, "k2"), "");
    assert_string_equal(holder(o2, "k1"), "ann");
    assert_string_equal(pool_of(o2, "na", &v), "n2");
    assert_int_equal(v, 2);
    assert_int_equal(open_of(o2, "ann"), 1);
    ok(commit(o2, &(tc){ .key = "k2", .rep = "ann", .pool = "na", .expected = 2, .state = "n3" }));
    assert_int_equal(open_of(o2, "ann"), 2);
    assert_int_equal(open_of(o1, "ann"), 1);
    assert_int_equal(open_of(p, "ann"), 2);
    assert_string_equal(pool_of(o1, "na", &v), "n2");
    lr__memstore_free(o2);
    lr__memstore_free(o1);
    lr__memstore_free(p);
}

/* ---- threads ------------------------------------------------------------ */

#define NTHREADS 4
#define NDISTINCT 20000
#define NCONTENDED 2000
#define NPOOL 3000
#define NCAPPED 100
#define CAP 50
#define NMOVING 50
#define NMOVES 2000
#define NCHURN 50000
#define CHURN_CAP 1

typedef struct worker {
    lr__memstore *m;
    int t;
    char rep[16];
    uint32_t kept, closed, contended_won, pool_writes, conflicts, capped_won, moves, churned, churn_max;
    int8_t *won;          /* per contended key: 1 if this thread won it */
    int8_t *loser_saw;    /* per contended key: the winner this thread was told, -1 none */
    uint32_t errors;
    char error[256];
} worker;

static _Atomic int start_flag;

static void worker_error(worker *w, const char *what, int rc)
{
    if (w->errors++ == 0)
        snprintf(w->error, sizeof w->error, "thread %d, %s: %d %s", w->t, what, rc,
                 leadroute_error_last()->message);
}

static void *worker_run(void *arg)
{
    worker *w = arg;
    char key[64], acct[32], buf[LEADROUTE_MAX_STRING + 1], state_buf[32];
    int rc;
    while (!atomic_load(&start_flag))
        ;
    for (int i = 0; i < NDISTINCT; i++) {
        tc t = { .rep = w->rep };
        snprintf(key, sizeof key, "d-%d-%d", w->t, i);
        t.key = key;
        if (i < 200) {
            /* shared account keys: the first of the four threads wins each */
            snprintf(acct, sizeof acct, "acct-%d", i);
            t.account = acct;
        }
        if ((rc = commit(w->m, &t)) != LEADROUTE_OK) {
            worker_error(w, "distinct commit", rc);
            continue;
        }
        if (i % 3 == 0) {
            if ((rc = ST->close(w->m, key)) != LEADROUTE_OK)
                worker_error(w, "close", rc);
            w->closed++;
        } else {
            w->kept++;
        }
        /* interleave the contended work so threads really meet */
        if (i % 10 == 0 && i / 10 < NCONTENDED) {
            int k = (i / 10 + w->t * 97) % NCONTENDED;  /* threads start at different keys */
            snprintf(key, sizeof key, "c-%d", k);
            rc = commit(w->m, &(tc){ .key = key, .rep = w->rep });
            if (rc == LEADROUTE_OK) {
                w->won[k] = 1;
                w->contended_won++;
            } else if (rc == LEADROUTE_EEXISTS) {
                w->loser_saw[k] = (int8_t)(owner_buf[0] == 'r' ? owner_buf[1] - '0' : 99);
            } else {
                worker_error(w, "contended commit", rc);
            }
        }
    }
    for (int i = 0; i < NPOOL; i++) {
        snprintf(key, sizeof key, "p-%d-%d", w->t, i);
        for (;;) {
            size_t len = 0;
            uint64_t v = 0;
            long n = 0;
            if ((rc = ST->load_pool(w->m, "hot", state_buf, sizeof state_buf - 1, &len, &v)) != LEADROUTE_OK) {
                worker_error(w, "load_pool", rc);
                break;
            }
            state_buf[len] = '\0';
            if (len)
                n = strtol(state_buf, NULL, 10);
            snprintf(state_buf, sizeof state_buf, "%ld", n + 1);
            rc = commit(w->m, &(tc){ .key = key, .rep = w->rep, .pool = "hot", .expected = v,
                                     .state = state_buf });
            if (rc == LEADROUTE_OK) {
                w->pool_writes++;
                break;
            }
            if (rc != LEADROUTE_ECONFLICT) {
                worker_error(w, "pool commit", rc);
                break;
            }
            w->conflicts++;
        }
    }
    for (int i = 0; i < NCAPPED; i++) {
        snprintf(key, sizeof key, "cap-%d-%d", w->t, i);
        rc = commit(w->m, &(tc){ .key = key, .rep = "capped", .capacity = CAP });
        if (rc == LEADROUTE_OK)
            w->capped_won++;
        else if (rc != LEADROUTE_ECONFLICT)
            worker_error(w, "capped commit", rc);
    }
    /* churn at a small cap: claim, look, close; the cap must hold at every look */
    for (int i = 0; i < NCHURN; i++) {
        uint32_t n = 0;
        snprintf(key, sizeof key, "churn-%d-%d", w->t, i);
        rc = commit(w->m, &(tc){ .key = key, .rep = "churner", .capacity = CHURN_CAP });
        if (rc == LEADROUTE_ECONFLICT)
            continue;
        if (rc != LEADROUTE_OK) {
            worker_error(w, "churn commit", rc);
            continue;
        }
        w->churned++;
        if ((rc = ST->open_count(w->m, "churner", &n)) != LEADROUTE_OK)
            worker_error(w, "churn open_count", rc);
        if (n > w->churn_max)
            w->churn_max = n;
        if ((rc = ST->close(w->m, key)) != LEADROUTE_OK)
            worker_error(w, "churn close", rc);
    }
    for (int i = 0; i < NMOVES; i++) {
        snprintf(key, sizeof key, "s-%d", (i * 7 + w->t) % NMOVING);
        rc = ST->find_claim(w->m, key, buf, sizeof buf);
        if (rc != LEADROUTE_OK) {
            worker_error(w, "moving find_claim", rc);
            continue;
        }
        if (strcmp(buf, w->rep) == 0)
            continue;
        rc = commit(w->m, &(tc){ .key = key, .rep = w->rep, .previous = buf });
        if (rc == LEADROUTE_OK)
            w->moves++;
        else if (rc != LEADROUTE_EEXISTS)  /* another thread moved it first */
            worker_error(w, "moving commit", rc);
    }
    return NULL;
}

static void test_threads(void **state)
{
    lr__memstore *m = store_new();
    worker w[NTHREADS];
    pthread_t th[NTHREADS];
    char key[64];
    uint32_t total_open = 0, expected_total = 0, pool_writes = 0, capped = 0, moving_held[NTHREADS] = { 0 };
    uint64_t v = 0;
    (void)state;
    for (int i = 0; i < NMOVING; i++) {
        snprintf(key, sizeof key, "s-%d", i);
        ok(commit(m, &(tc){ .key = key, .rep = "r0" }));
    }
    atomic_store(&start_flag, 0);
    for (int t = 0; t < NTHREADS; t++) {
        memset(&w[t], 0, sizeof w[t]);
        w[t].m = m;
        w[t].t = t;
        snprintf(w[t].rep, sizeof w[t].rep, "r%d", t);
        w[t].won = calloc(NCONTENDED, 1);
        w[t].loser_saw = malloc(NCONTENDED);
        assert_non_null(w[t].won);
        assert_non_null(w[t].loser_saw);
        memset(w[t].loser_saw, -1, NCONTENDED);
        assert_int_equal(pthread_create(&th[t], NULL, worker_run, &w[t]), 0);
    }
    atomic_store(&start_flag, 1);
    for (int t = 0; t < NTHREADS; t++)
        assert_int_equal(pthread_join(th[t], NULL), 0);
    for (int t = 0; t < NTHREADS; t++)
        if (w[t].errors)
            fail_msg("%u errors, first: %s", w[t].errors, w[t].error);

    /* every contended key has exactly one winner, and losers were told who */
    for (int k = 0; k < NCONTENDED; k++) {
        int winners = 0, winner = -1;
        char rep[16];
        snprintf(key, sizeof key, "c-%d", k);
        for (int t = 0; t < NTHREADS; t++) {
            if (w[t].won[k]) {
                winners++;
                winner = t;
            }
        }
        assert_int_equal(winners, 1);
        snprintf(rep, sizeof rep, "r%d", winner);
        assert_string_equal(holder(m, key), rep);
        for (int t = 0; t < NTHREADS; t++)
            if (t != winner)
                assert_int_equal(w[t].loser_saw[k], winner);
    }
    /* shared account keys went to one of the threads, first claim kept */
    for (int i = 0; i < 200; i++) {
        const char *h;
        snprintf(key, sizeof key, "acct-%d", i);
        h = holder(m, key);
        assert_true(h[0] == 'r' && h[1] >= '0' && h[1] < '0' + NTHREADS && h[2] == '\0');
    }
    /* the pool's version counts its writes; no increment was lost */
    for (int t = 0; t < NTHREADS; t++) {
        pool_writes += w[t].pool_writes;
        capped += w[t].capped_won;
    }
    assert_int_equal(pool_writes, NTHREADS * NPOOL);
    snprintf(key, sizeof key, "%u", (unsigned)(NTHREADS * NPOOL));
    assert_string_equal(pool_of(m, "hot", &v), key);
    assert_int_equal(v, pool_writes);
    /* the cap held under contention */
    assert_int_equal(capped, CAP);
    assert_int_equal(open_of(m, "capped"), CAP);
    for (int t = 0; t < NTHREADS; t++)
        if (w[t].churn_max > CHURN_CAP || (w[t].churned > 0 && w[t].churn_max < 1))
            fail_msg("thread %d: %u open leads seen at a cap of %u (%u claims)", t, w[t].churn_max, CHURN_CAP,
                     w[t].churned);
    assert_int_equal(open_of(m, "churner"), 0);
    /* open counts: each rep's own keys plus the moving keys it holds now */
    for (int i = 0; i < NMOVING; i++) {
        const char *h;
        snprintf(key, sizeof key, "s-%d", i);
        h = holder(m, key);
        assert_true(h[0] == 'r' && h[1] >= '0' && h[1] < '0' + NTHREADS);
        moving_held[h[1] - '0']++;
    }
    for (int t = 0; t < NTHREADS; t++) {
        uint32_t expect = w[t].kept + w[t].contended_won + w[t].pool_writes + moving_held[t];
        assert_int_equal(w[t].kept + w[t].closed, NDISTINCT);
        assert_int_equal(open_of(m, w[t].rep), expect);
        total_open += open_of(m, w[t].rep);
        expected_total += w[t].kept + w[t].pool_writes;
    }
    assert_int_equal(total_open, expected_total + NCONTENDED + NMOVING);
    {
        uint64_t assignments = NMOVING;
        for (int t = 0; t < NTHREADS; t++)
            assignments += NDISTINCT + w[t].contended_won + w[t].pool_writes + w[t].capped_won + w[t].moves +
                           w[t].churned;
        assert_int_equal(lr__memstore_assignments(m), assignments);
    }
    for (int t = 0; t < NTHREADS; t++) {
        free(w[t].won);
        free(w[t].loser_saw);
    }
    lr__memstore_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_methods),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_commit_writes_everything),
        cmocka_unit_test(test_stale_version),
        cmocka_unit_test(test_capacity),
        cmocka_unit_test(test_claimed_key),
        cmocka_unit_test(test_check_order),
        cmocka_unit_test(test_reassign),
        cmocka_unit_test(test_account_key),
        cmocka_unit_test(test_close),
        cmocka_unit_test(test_load_pool_buffer),
        cmocka_unit_test(test_find_claim_range),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_misuse),
        cmocka_unit_test(test_nomem_each_allocation),
        cmocka_unit_test(test_nomem_random),
        cmocka_unit_test(test_overlay_reads_through),
        cmocka_unit_test(test_overlay_writes_stay),
        cmocka_unit_test(test_overlay_close_and_reassign),
        cmocka_unit_test(test_overlay_chain),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
