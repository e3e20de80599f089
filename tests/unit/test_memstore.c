/* The built-in store: the commit contract, close, load_pool, overlays,
 * limits, allocation failures and many threads at once; assignment records
 * (window, acknowledge, list_due, history). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <stdatomic.h>
#include <math.h>
#include <time.h>
#include <cmocka.h>

#include "leadroute/leadroute.h"
#include "base/hash.h"
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

/* One commit; fields the test does not need stay NULL / 0. `apool` is the
 * assignment's pool when it differs from the commit's; `lead` the lead id
 * when it differs from the key. */
typedef struct tc {
    const char *key, *rep, *previous, *pool, *state, *account, *apool, *lead, *rule;
    uint64_t expected;
    uint32_t capacity;
    int64_t at, deadline;
    double value, sla;
    uint32_t hops;
    int escalated;
    uint64_t table_hash;
    int follow_up;      /* LEADROUTE_COMMIT_FOLLOW_UP: a tick's move */
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
    a.lead_id = t->lead ? t->lead : t->key;
    a.rep_id = t->rep;
    a.previous = t->previous;
    a.pool_id = t->apool ? t->apool : t->pool;
    a.rule_id = t->rule ? t->rule : "rule";
    a.at_ms = t->at;
    a.deadline_ms = t->deadline;
    a.value = t->value;
    a.sla_minutes = t->sla;
    a.hops = t->hops;
    a.escalated = t->escalated;
    a.table_hash = t->table_hash;
    c.version = LEADROUTE_COMMIT_VERSION;
    c.assignment = &a;
    c.pool_id = t->pool;
    c.expected_version = t->expected;
    c.state = t->state;
    c.state_length = t->state ? strlen(t->state) : 0;
    c.capacity = t->capacity;
    c.account_key = t->account;
    c.flags = t->follow_up ? LEADROUTE_COMMIT_FOLLOW_UP : 0;
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
    assert_non_null(ST->window);
    assert_non_null(ST->acknowledge);
    assert_non_null(ST->list_due);
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
    leadroute_assignment a = { LEADROUTE_ASSIGNMENT_VERSION, "k1", NULL, "cy", NULL, NULL, NULL, 0, 0, 0,
                               0, 0.0, 0, 0, NULL, 0, 0 };
    leadroute_commit c = { LEADROUTE_COMMIT_VERSION, &a, NULL, 0, NULL, 0, 0, NULL, 0 };
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
    /* close is for leads: an account claim stays with its first owner, and
     * its holder's open leads stay as they are (as in every host store) */
    ok(commit(m, &(tc){ .key = "k3", .rep = "ann" }));
    assert_int_equal(ST->close(m, "acme.com"), LEADROUTE_ENOTFOUND);
    assert_int_equal(open_of(m, "ann"), 1);
    assert_string_equal(holder(m, "acme.com"), "ann");
    ok(commit(m, &(tc){ .key = "k4", .rep = "dee", .account = "acme.com" }));
    assert_string_equal(holder(m, "acme.com"), "ann");
    /* an account key equal to the lead's key: one claim, one open lead */
    ok(commit(m, &(tc){ .key = "same", .rep = "eve", .account = "same" }));
    assert_string_equal(holder(m, "same"), "eve");
    assert_int_equal(open_of(m, "eve"), 1);
    lr__memstore_free(m);
}

/* The lead's key as its own account key: closing the lead releases the one
 * claim and the one open lead it made. */
static void test_account_key_same_close(void **state)
{
    lr__memstore *m = store_new();
    (void)state;
    ok(commit(m, &(tc){ .key = "same", .rep = "eve", .account = "same" }));
    assert_int_equal(open_of(m, "eve"), 1);
    ok(ST->close(m, "same"));
    assert_string_equal(holder(m, "same"), "");
    assert_int_equal(open_of(m, "eve"), 0);
    assert_int_equal(ST->close(m, "same"), LEADROUTE_ENOTFOUND);
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
    char *key_longest = malloc(LEADROUTE_MAX_STRING + 9), *key_too_long = malloc(LEADROUTE_MAX_STRING + 10);
    char buf[16];
    size_t len;
    uint64_t v;
    uint32_t n;
    (void)state;
    assert_non_null(longest);
    assert_non_null(too_long);
    assert_non_null(key_longest);
    assert_non_null(key_too_long);
    memset(longest, 'k', LEADROUTE_MAX_STRING);
    longest[LEADROUTE_MAX_STRING] = '\0';
    memset(too_long, 'k', LEADROUTE_MAX_STRING + 1);
    too_long[LEADROUTE_MAX_STRING + 1] = '\0';
    /* claim keys carry a namespace ("account:", "lead:"): 8 bytes more */
    memset(key_longest, 'k', LEADROUTE_MAX_STRING + 8);
    key_longest[LEADROUTE_MAX_STRING + 8] = '\0';
    memset(key_too_long, 'k', LEADROUTE_MAX_STRING + 9);
    key_too_long[LEADROUTE_MAX_STRING + 9] = '\0';

    assert_int_equal(commit(m, &(tc){ .key = key_too_long, .lead = "l", .rep = "ann" }), LEADROUTE_ELIMIT);
    expect_message_has("key");
    assert_int_equal(commit(m, &(tc){ .key = "k", .lead = too_long, .rep = "ann" }), LEADROUTE_ELIMIT);
    expect_message_has("lead id");
    assert_int_equal(commit(m, &(tc){ .key = "k", .rep = too_long }), LEADROUTE_ELIMIT);
    assert_int_equal(commit(m, &(tc){ .key = "k", .rep = "ann", .previous = too_long }), LEADROUTE_ELIMIT);
    assert_int_equal(commit(m, &(tc){ .key = "k", .rep = "ann", .pool = too_long }), LEADROUTE_ELIMIT);
    assert_int_equal(commit(m, &(tc){ .key = "k", .rep = "ann", .account = key_too_long }), LEADROUTE_ELIMIT);
    assert_int_equal(ST->find_claim(m, key_too_long, buf, sizeof buf), LEADROUTE_ELIMIT);
    assert_int_equal(ST->close(m, key_too_long), LEADROUTE_ELIMIT);
    assert_int_equal(ST->open_count(m, too_long, &n), LEADROUTE_ELIMIT);
    assert_int_equal(ST->load_pool(m, too_long, buf, sizeof buf, &len, &v), LEADROUTE_ELIMIT);
    assert_string_equal(holder(m, "k"), "");
    assert_int_equal(open_of(m, "ann"), 0);
    assert_int_equal(lr__memstore_assignments(m), 0);

    /* the limits themselves are fine */
    ok(commit(m, &(tc){ .key = longest, .rep = longest, .pool = longest, .account = "a" }));
    assert_string_equal(holder(m, longest), longest);
    assert_int_equal(open_of(m, longest), 1);
    ok(ST->close(m, longest));
    ok(commit(m, &(tc){ .key = key_longest, .lead = "l", .rep = "ann", .account = key_longest + 1 }));
    assert_string_equal(holder(m, key_longest), "ann");
    assert_string_equal(holder(m, key_longest + 1), "ann");
    ok(ST->close(m, key_longest));
    free(longest);
    free(too_long);
    free(key_longest);
    free(key_too_long);
    lr__memstore_free(m);
}

static void test_misuse(void **state)
{
    lr__memstore *m = store_new();
    leadroute_assignment a = { LEADROUTE_ASSIGNMENT_VERSION, "k", NULL, "ann", NULL, NULL, NULL, 0, 0, 0,
                               0, 0.0, 0, 0, NULL, 0, 0 };
    leadroute_commit c = { LEADROUTE_COMMIT_VERSION, &a, NULL, 0, NULL, 0, 0, NULL, 0 };
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
                                       guard_open_count, guard_commit, guard_close, NULL, NULL, NULL };

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

/* ---- assignment records: window, acknowledge, list_due ------------------ */

#define HOUR_MS ((int64_t)3600 * 1000)
#define DAY_MS (24 * HOUR_MS)
#define T0 ((int64_t)1700000000000)  /* a fixed clock, ms since the epoch */

/* Count in a window; `*value` (may be NULL) gets the summed value. */
static uint64_t win_of(const leadroute_store *st, void *m, const char *rep, const char *pool, int64_t since,
                       double *value)
{
    uint64_t n = 777;
    double v = -1.0;
    ok(st->window(m, rep, pool, since, &n, &v));
    if (value)
        *value = v;
    return n;
}

/* A listed assignment, copied: its pointers die with the call. */
typedef struct listed {
    char key[64], lead[64], rep[32], pool[32], rule[32], hist[6][16];
    int has_lead, has_pool, has_rule;
    size_t nhist;
    leadroute_assignment a;  /* the scalars */
} listed;

typedef struct collector {
    listed *v;
    size_t n, cap;
    size_t stop_after;  /* 0: never stop */
    int stop_rc;
} collector;

static void copy_str(char *dst, size_t cap, const char *src)
{
    assert_non_null(src);
    assert_true(strlen(src) < cap);
    strcpy(dst, src);
}

static int collect(void *ctx, const leadroute_assignment *a)
{
    collector *c = ctx;
    listed *l;
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 16;
        c->v = realloc(c->v, c->cap * sizeof *c->v);
        assert_non_null(c->v);
    }
    l = &c->v[c->n++];
    memset(l, 0, sizeof *l);
    assert_int_equal(a->version, LEADROUTE_ASSIGNMENT_VERSION);
    assert_null(a->previous);
    copy_str(l->key, sizeof l->key, a->key);
    copy_str(l->rep, sizeof l->rep, a->rep_id);
    if ((l->has_lead = a->lead_id != NULL))
        copy_str(l->lead, sizeof l->lead, a->lead_id);
    if ((l->has_pool = a->pool_id != NULL))
        copy_str(l->pool, sizeof l->pool, a->pool_id);
    if ((l->has_rule = a->rule_id != NULL))
        copy_str(l->rule, sizeof l->rule, a->rule_id);
    assert_true(a->history_count <= 6);
    assert_true((a->history == NULL) == (a->history_count == 0));
    for (size_t i = 0; i < a->history_count; i++)
        copy_str(l->hist[i], sizeof l->hist[i], a->history[i]);
    l->nhist = a->history_count;
    l->a = *a;
    if (c->stop_after && c->n == c->stop_after)
        return c->stop_rc;
    return 0;
}

static collector due_of(const leadroute_store *st, void *m, int64_t now)
{
    collector c;
    memset(&c, 0, sizeof c);
    ok(st->list_due(m, now, collect, &c));
    return c;
}

/* The listed entry of `key` (fails if listed twice), or NULL. */
static const listed *find_listed(const collector *c, const char *key)
{
    const listed *found = NULL;
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->v[i].key, key) == 0) {
            if (found)
                fail_msg("key %s listed twice", key);
            found = &c->v[i];
        }
    }
    return found;
}

/* The listed keys, sorted, joined by spaces. */
static const char *due_keys(const leadroute_store *st, void *m, int64_t now)
{
    static char out[1024];
    collector c = due_of(st, m, now);
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < c.n; i++)
        for (size_t j = i + 1; j < c.n; j++)
            if (strcmp(c.v[j].key, c.v[i].key) < 0) {
                listed t = c.v[i];
                c.v[i] = c.v[j];
                c.v[j] = t;
            }
    for (size_t i = 0; i < c.n; i++) {
        int w = snprintf(out + used, sizeof out - used, "%s%s", i ? " " : "", c.v[i].key);
        assert_true(w > 0 && (size_t)w < sizeof out - used);
        used += (size_t)w;
    }
    free(c.v);
    return out;
}

static int ack(const leadroute_store *st, void *m, const char *key, int64_t at)
{
    char rep[32], pool[32];
    int64_t assigned = -1;
    return st->acknowledge(m, key, at, &assigned, rep, sizeof rep, pool, sizeof pool);
}

static void test_window_rep_and_pool(void **state)
{
    lr__memstore *m = store_new();
    const int64_t now = T0;
    double v = 0;
    uint64_t n = 9;
    (void)state;
    /* ann in emea: the 24 h, 7 d and 30 d boundaries, each side */
    ok(commit(m, &(tc){ .key = "a1", .rep = "ann", .pool = "emea", .expected = 0, .at = now - HOUR_MS, .value = 1 }));
    ok(commit(m, &(tc){ .key = "a2", .rep = "ann", .pool = "emea", .expected = 1, .at = now - DAY_MS, .value = 2 }));
    ok(commit(m, &(tc){ .key = "a3", .rep = "ann", .pool = "emea", .expected = 2, .at = now - DAY_MS - 1,
                        .value = 4 }));
    ok(commit(m, &(tc){ .key = "a4", .rep = "ann", .pool = "emea", .expected = 3, .at = now - 7 * DAY_MS,
                        .value = 8 }));
    ok(commit(m, &(tc){ .key = "a5", .rep = "ann", .pool = "emea", .expected = 4, .at = now - 7 * DAY_MS - 1,
                        .value = 16 }));
    ok(commit(m, &(tc){ .key = "a6", .rep = "ann", .pool = "emea", .expected = 5, .at = now - 30 * DAY_MS,
                        .value = 32 }));
    ok(commit(m, &(tc){ .key = "a7", .rep = "ann", .pool = "emea", .expected = 6, .at = now - 30 * DAY_MS - 1,
                        .value = 64 }));
    /* bob in emea and in na; the store's clock order is the commit order */
    ok(commit(m, &(tc){ .key = "b1", .rep = "bob", .pool = "emea", .expected = 7, .at = now - 2 * DAY_MS,
                        .value = 100 }));
    ok(commit(m, &(tc){ .key = "b2", .rep = "bob", .pool = "na", .at = now - 3 * HOUR_MS, .value = 200 }));
    /* the assignment's pool counts when the commit writes no pool state */
    ok(commit(m, &(tc){ .key = "b3", .rep = "bob", .apool = "vip", .at = now, .value = 0.5 }));

    assert_int_equal(win_of(ST, m, "ann", NULL, now - DAY_MS, &v), 2);
    assert_true(v == 3.0);
    assert_int_equal(win_of(ST, m, "ann", NULL, now - 7 * DAY_MS, &v), 4);
    assert_true(v == 15.0);
    assert_int_equal(win_of(ST, m, "ann", NULL, now - 30 * DAY_MS, &v), 6);
    assert_true(v == 63.0);
    assert_int_equal(win_of(ST, m, "ann", NULL, INT64_MIN, &v), 7);
    assert_true(v == 127.0);
    assert_int_equal(win_of(ST, m, "ann", NULL, now + 1, &v), 0);
    assert_true(v == 0.0);

    assert_int_equal(win_of(ST, m, "bob", NULL, now - DAY_MS, &v), 2);
    assert_true(v == 200.5);
    assert_int_equal(win_of(ST, m, "bob", NULL, now - 7 * DAY_MS, &v), 3);
    assert_true(v == 300.5);
    assert_int_equal(win_of(ST, m, NULL, "emea", now - DAY_MS, &v), 2);
    assert_true(v == 3.0);
    assert_int_equal(win_of(ST, m, NULL, "emea", now - 7 * DAY_MS, &v), 5);
    assert_true(v == 115.0);
    assert_int_equal(win_of(ST, m, NULL, "emea", now - 30 * DAY_MS, &v), 7);
    assert_int_equal(win_of(ST, m, NULL, "na", now - 30 * DAY_MS, &v), 1);
    assert_true(v == 200.0);
    assert_int_equal(win_of(ST, m, NULL, "vip", now, &v), 1);
    assert_true(v == 0.5);
    assert_int_equal(win_of(ST, m, NULL, "nowhere", INT64_MIN, &v), 0);
    assert_int_equal(win_of(ST, m, "nobody", NULL, INT64_MIN, &v), 0);
    assert_true(v == 0.0);

    /* a reassignment counts for the new rep and the commit's pool; the old
     * rep keeps what it was given; closing changes no window */
    ok(commit(m, &(tc){ .key = "a1", .rep = "cy", .previous = "ann", .pool = "na", .expected = 1, .at = now,
                        .value = 1000 }));
    assert_int_equal(win_of(ST, m, "cy", NULL, now - DAY_MS, &v), 1);
    assert_true(v == 1000.0);
    assert_int_equal(win_of(ST, m, "ann", NULL, now - DAY_MS, &v), 2);
    assert_int_equal(win_of(ST, m, NULL, "na", now - DAY_MS, &v), 2);
    assert_true(v == 1200.0);
    ok(ST->close(m, "a2"));
    ok(ST->close(m, "a1"));
    assert_int_equal(win_of(ST, m, "ann", NULL, now - DAY_MS, &v), 2);
    assert_int_equal(win_of(ST, m, "cy", NULL, now - DAY_MS, &v), 1);
    /* a failed commit counts nowhere */
    assert_int_equal(commit(m, &(tc){ .key = "b1", .rep = "ann", .pool = "emea", .expected = 8, .at = now }),
                     LEADROUTE_EEXISTS);
    assert_int_equal(commit(m, &(tc){ .key = "z1", .rep = "ann", .pool = "emea", .expected = 3, .at = now }),
                     LEADROUTE_ECONFLICT);
    assert_int_equal(win_of(ST, m, "ann", NULL, now - DAY_MS, &v), 2);
    assert_int_equal(win_of(ST, m, NULL, "emea", now - DAY_MS, &v), 2);

    /* misuse */
    assert_int_equal(ST->window(m, "ann", "emea", 0, &n, &v), LEADROUTE_EINVAL);
    assert_int_equal(ST->window(m, NULL, NULL, 0, &n, &v), LEADROUTE_EINVAL);
    assert_int_equal(ST->window(m, "ann", NULL, 0, NULL, &v), LEADROUTE_EINVAL);
    assert_int_equal(ST->window(m, "ann", NULL, 0, &n, NULL), LEADROUTE_EINVAL);
    assert_int_equal(ST->window(NULL, "ann", NULL, 0, &n, &v), LEADROUTE_EINVAL);
    {
        leadroute_assignment a;
        leadroute_commit c = { LEADROUTE_COMMIT_VERSION, &a, NULL, 0, NULL, 0, 0, NULL, 0 };
        memset(&a, 0, sizeof a);
        a.version = LEADROUTE_ASSIGNMENT_VERSION;
        a.key = "nan";
        a.rep_id = "ann";
        a.value = NAN;
        assert_int_equal(ST->commit(m, &c, NULL, 0), LEADROUTE_EINVAL);
        a.value = INFINITY;
        assert_int_equal(ST->commit(m, &c, NULL, 0), LEADROUTE_EINVAL);
        assert_string_equal(holder(m, "nan"), "");
    }
    lr__memstore_free(m);
}

/* Adding an entry drops those more than 31 days older than it. */
static void test_window_prune(void **state)
{
    lr__memstore *m = store_new();
    const int64_t month = 31 * DAY_MS;
    char key[32];
    double v = 0;
    (void)state;
    ok(commit(m, &(tc){ .key = "k0", .rep = "ann", .pool = "p", .at = T0, .value = 1 }));
    ok(commit(m, &(tc){ .key = "k1", .rep = "ann", .pool = "p", .expected = 1, .at = T0 + month, .value = 2 }));
    assert_int_equal(win_of(ST, m, "ann", NULL, INT64_MIN, &v), 2);  /* exactly 31 days: kept */
    ok(commit(m, &(tc){ .key = "k2", .rep = "ann", .pool = "p", .expected = 2, .at = T0 + month + 1, .value = 4 }));
    assert_int_equal(win_of(ST, m, "ann", NULL, INT64_MIN, &v), 2);
    assert_true(v == 6.0);
    assert_int_equal(win_of(ST, m, NULL, "p", INT64_MIN, &v), 2);
    /* a late entry is kept: it is in the windows of the clock that dated
     * it; the next entry more than 31 days after it drops it */
    ok(commit(m, &(tc){ .key = "k3", .rep = "ann", .pool = "p", .expected = 3, .at = T0, .value = 8 }));
    assert_string_equal(holder(m, "k3"), "ann");
    assert_int_equal(win_of(ST, m, "ann", NULL, INT64_MIN, &v), 3);
    assert_true(v == 14.0);
    assert_int_equal(win_of(ST, m, "ann", NULL, T0 + 1, &v), 2);
    assert_true(v == 6.0);
    ok(commit(m, &(tc){ .key = "k4", .rep = "ann", .pool = "p", .expected = 4, .at = T0 + month + 2, .value = 16 }));
    assert_int_equal(win_of(ST, m, "ann", NULL, INT64_MIN, &v), 3);
    assert_true(v == 22.0);

    /* hourly for a year: a window never holds more than 31 days + 1 entry,
     * and the sums stay exact while the log is compacted and grown */
    for (int i = 0; i < 24 * 365; i++) {
        int64_t at = T0 + 2 * month + (int64_t)i * HOUR_MS;
        snprintf(key, sizeof key, "h%d", i);
        ok(commit(m, &(tc){ .key = key, .rep = "bob", .at = at, .value = i }));
        if (i % 997 == 0 || i == 24 * 365 - 1) {
            int live = i + 1 < 31 * 24 + 1 ? i + 1 : 31 * 24 + 1;
            double sum = 0;
            for (int j = i + 1 - live; j <= i; j++)
                sum += j;
            assert_int_equal(win_of(ST, m, "bob", NULL, INT64_MIN, &v), live);
            assert_true(v == sum);
            /* 24 h back from the newest: 25 entries (both ends) once there are */
            assert_int_equal(win_of(ST, m, "bob", NULL, at - DAY_MS, &v), i + 1 < 25 ? i + 1 : 25);
        }
    }
    lr__memstore_free(m);
}

/* A router whose clock is behind this machine's (a replay, a test clock)
 * adds one entry dated two months ahead of its clock: the entries it adds
 * after that, dated by its clock, stay in its windows. Those more than 31
 * days older than the one ahead went when it was added. */
static void test_window_after_entry_ahead(void **state)
{
    lr__memstore *m = store_new();
    const int64_t month = 31 * DAY_MS;
    double v = 0;
    (void)state;
    ok(commit(m, &(tc){ .key = "k0", .rep = "ann", .pool = "p", .at = T0, .value = 1 }));
    ok(commit(m, &(tc){ .key = "k1", .rep = "ann", .pool = "p", .expected = 1, .at = T0 + 2 * month, .value = 2 }));
    assert_int_equal(win_of(ST, m, "ann", NULL, INT64_MIN, &v), 1);
    ok(commit(m, &(tc){ .key = "k2", .rep = "ann", .pool = "p", .expected = 2, .at = T0 + HOUR_MS, .value = 4 }));
    ok(commit(m, &(tc){ .key = "k3", .rep = "ann", .pool = "p", .expected = 3, .at = T0 + 2 * HOUR_MS, .value = 8 }));
    /* the day before the router's clock: k2, k3, and k1 ahead of it */
    assert_int_equal(win_of(ST, m, "ann", NULL, T0 + 2 * HOUR_MS - DAY_MS, &v), 3);
    assert_true(v == 14.0);
    assert_int_equal(win_of(ST, m, NULL, "p", T0 + 2 * HOUR_MS - DAY_MS, &v), 3);
    lr__memstore_free(m);
}

/* Deals far below the running sum's precision still count: 30 deals of
 * 5e14 make 1.5e16, whose unit in the last place is 2, yet quarter deals
 * after them add up exactly, on a new entry, on the entry of their
 * millisecond, on one put back in time, and after the big deals have left
 * the window and the log was compacted and grown. */
static void test_window_sums_exact(void **state)
{
    lr__memstore *m = store_new();
    const int64_t month = 31 * DAY_MS;
    char key[32];
    double v = 0;
    uint64_t n = 0;
    (void)state;
    for (int i = 0; i < 30; i++) {
        snprintf(key, sizeof key, "big%d", i);
        ok(commit(m, &(tc){ .key = key, .rep = "ann", .pool = "p", .expected = (uint64_t)n++,
                            .at = T0 + i, .value = 5e14 }));
    }
    for (int i = 0; i < 8; i++) {
        snprintf(key, sizeof key, "q%d", i);
        /* two per millisecond, the last pair put back before the third */
        int64_t at = T0 + HOUR_MS + (i < 6 ? i / 2 : 1) * 1000 + (i >= 6);
        ok(commit(m, &(tc){ .key = key, .rep = "ann", .pool = "p", .expected = (uint64_t)n++, .at = at,
                            .value = 0.25 }));
    }
    assert_int_equal(win_of(ST, m, "ann", NULL, T0 + HOUR_MS, &v), 8);
    assert_true(v == 2.0);
    assert_int_equal(win_of(ST, m, NULL, "p", T0 + HOUR_MS, &v), 8);
    assert_true(v == 2.0);
    assert_int_equal(win_of(ST, m, "ann", NULL, T0 + HOUR_MS + 1001, &v), 4);
    assert_true(v == 1.0);
    assert_int_equal(win_of(ST, m, "ann", NULL, INT64_MIN, &v), 38);
    assert_true(v == 1.5e16 + 2.0);
    /* a month later every deal so far is out of every window; a thousand
     * quarters more compact and grow the log */
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "r%d", i);
        ok(commit(m, &(tc){ .key = key, .rep = "ann", .pool = "p", .expected = (uint64_t)n++,
                            .at = T0 + month + 3 * HOUR_MS + i, .value = 0.25 }));
    }
    assert_int_equal(win_of(ST, m, "ann", NULL, INT64_MIN, &v), 1000);
    assert_true(v == 250.0);
    assert_int_equal(win_of(ST, m, NULL, "p", INT64_MIN, &v), 1000);
    assert_true(v == 250.0);
    lr__memstore_free(m);
}

/* A late commit exactly 31 days before the newest entry is inside the
 * longest window a pool may ask for (value_window_days 31), so it counts;
 * one millisecond earlier it is out of the windows of the newest entry's
 * clock, but kept for the clock that dated it. */
static void test_window_late_at_cutoff(void **state)
{
    lr__memstore *m = store_new();
    const int64_t month = 31 * DAY_MS;
    double v = 0;
    (void)state;
    ok(commit(m, &(tc){ .key = "k0", .rep = "ann", .pool = "p", .at = T0, .value = 1 }));
    ok(commit(m, &(tc){ .key = "k1", .rep = "ann", .pool = "p", .expected = 1, .at = T0 - month, .value = 2 }));
    assert_int_equal(win_of(ST, m, "ann", NULL, T0 - month, &v), 2);
    assert_true(v == 3.0);
    assert_int_equal(win_of(ST, m, NULL, "p", T0 - month, &v), 2);
    assert_true(v == 3.0);
    ok(commit(m, &(tc){ .key = "k2", .rep = "ann", .pool = "p", .expected = 2, .at = T0 - month - 1, .value = 4 }));
    assert_string_equal(holder(m, "k2"), "ann");
    assert_int_equal(win_of(ST, m, "ann", NULL, T0 - month, &v), 2);
    assert_true(v == 3.0);
    assert_int_equal(win_of(ST, m, "ann", NULL, T0 - month - 1, &v), 3);
    assert_true(v == 7.0);
    lr__memstore_free(m);
}

/* A clock that goes back: entries are kept in time order anyway. */
/* Commits in time order with some far back in time, then windows from many
 * starts against a brute-force count. `crowded`: many assignments share a
 * millisecond (the log keeps one entry per millisecond), and jumps back are
 * short; else one a minute and jumps of up to 10 days. */
static void window_case(int crowded)
{
    enum { N = 3000 };
    lr__memstore *m = store_new();
    static int64_t at[N];
    static double val[N];
    uint64_t seed = 42;
    char key[32];
    int64_t first = crowded ? T0 - 300 : T0 - 10 * DAY_MS;
    int64_t span = crowded ? N / 7 + 301 : (int64_t)N * 60000 + 10 * DAY_MS;
    for (int i = 0; i < N; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        int back = (seed >> 33) % 7 == 0;
        if (crowded)
            at[i] = T0 + i / 7 - (back ? (int64_t)((seed >> 20) % 300) : 0);
        else
            at[i] = T0 + (int64_t)i * 60000 - (back ? (int64_t)((seed >> 20) % (10 * DAY_MS)) : 0);
        val[i] = (double)((seed >> 40) % 1000);
        snprintf(key, sizeof key, "o%d", i);
        ok(commit(m, &(tc){ .key = key, .rep = i % 2 ? "ann" : "bob", .apool = "p", .at = at[i], .value = val[i] }));
    }
    for (int q = 0; q < 200; q++) {
        int64_t since = first + (int64_t)q * span / 200;
        uint64_t n_all = 0, n_ann = 0;
        double v_all = 0, v_ann = 0, v = 0;
        for (int i = 0; i < N; i++) {
            if (at[i] >= since) {
                n_all++;
                v_all += val[i];
                if (i % 2) {
                    n_ann++;
                    v_ann += val[i];
                }
            }
        }
        assert_int_equal(win_of(ST, m, NULL, "p", since, &v), n_all);
        assert_true(v == v_all);
        assert_int_equal(win_of(ST, m, "ann", NULL, since, &v), n_ann);
        assert_true(v == v_ann);
    }
    lr__memstore_free(m);
}

static void test_window_out_of_order(void **state)
{
    (void)state;
    window_case(0);
    window_case(1);
}

/* A tick's move (LEADROUTE_COMMIT_FOLLOW_UP) is refused once the lead was
 * acknowledged, closed or assigned again after it came due; a plain
 * reassignment is not. */
static void test_follow_up_moot(void **state)
{
    lr__memstore *m = store_new();
    (void)state;
    ok(commit(m, &(tc){ .key = "lead:1", .rep = "ana", .at = T0, .deadline = T0 + HOUR_MS }));
    ok(commit(m, &(tc){ .key = "lead:2", .rep = "ana", .at = T0, .deadline = T0 + HOUR_MS }));
    assert_int_equal(open_of(m, "ana"), 2);
    /* due and unacknowledged: the move goes through */
    ok(commit(m, &(tc){ .key = "lead:1", .rep = "bo", .previous = "ana", .at = T0 + 2 * HOUR_MS, .hops = 1,
                        .follow_up = 1 }));
    assert_string_equal(holder(m, "lead:1"), "bo");
    /* acknowledged since: the next move is moot, nothing changes */
    ok(ack(ST, m, "lead:1", T0 + 2 * HOUR_MS + 1));
    assert_int_equal(commit(m, &(tc){ .key = "lead:1", .rep = "cy", .previous = "bo", .at = T0 + 3 * HOUR_MS,
                                      .hops = 2, .follow_up = 1 }), LEADROUTE_EEXISTS);
    assert_string_equal(owner_buf, "bo");
    assert_string_equal(holder(m, "lead:1"), "bo");
    assert_int_equal(open_of(m, "bo"), 1);
    assert_int_equal(open_of(m, "cy"), 0);
    /* closed since: moot too, and the key stays free */
    ok(ST->close(m, "lead:2"));
    assert_int_equal(commit(m, &(tc){ .key = "lead:2", .rep = "cy", .previous = "ana", .at = T0 + 3 * HOUR_MS,
                                      .hops = 1, .follow_up = 1 }), LEADROUTE_EEXISTS);
    assert_string_equal(owner_buf, "");
    assert_string_equal(holder(m, "lead:2"), "");
    assert_int_equal(open_of(m, "cy"), 0);
    /* the same commit without the flag (a reassignment the host asked for) claims it */
    ok(commit(m, &(tc){ .key = "lead:2", .rep = "cy", .previous = "ana", .at = T0 + 3 * HOUR_MS, .hops = 1 }));
    assert_string_equal(holder(m, "lead:2"), "cy");
    /* assigned again after a tick listed it (a new deadline): not due at the move's time, moot;
     * at its own deadline it moves */
    ok(commit(m, &(tc){ .key = "lead:3", .rep = "ana", .at = T0, .deadline = T0 + HOUR_MS }));
    ok(commit(m, &(tc){ .key = "lead:3", .rep = "bo", .previous = "ana", .at = T0 + HOUR_MS / 2,
                        .deadline = T0 + 3 * HOUR_MS / 2 }));
    assert_int_equal(commit(m, &(tc){ .key = "lead:3", .rep = "ana", .previous = "bo", .at = T0 + HOUR_MS,
                                      .hops = 1, .follow_up = 1 }), LEADROUTE_EEXISTS);
    assert_string_equal(owner_buf, "bo");
    assert_string_equal(holder(m, "lead:3"), "bo");
    ok(commit(m, &(tc){ .key = "lead:3", .rep = "cy", .previous = "bo", .at = T0 + 3 * HOUR_MS / 2, .hops = 1,
                        .follow_up = 1 }));
    assert_string_equal(holder(m, "lead:3"), "cy");
    lr__memstore_free(m);
}

/* An overlay of an overlay of a host store (a fork of a fork) acknowledges
 * a lead the host store holds, as one overlay does: the claim is found
 * below every memstore ancestor, not taken for an account claim. */
static void test_acknowledge_through_two_overlays(void **state)
{
    lr__memstore *p = parent_with_data();
    lr__memstore *o1 = overlay_new(&guard, p), *o1b = overlay_new(&guard, p);
    lr__memstore *o2 = overlay_new(ST, o1);
    (void)state;
    ok(ack(ST, o1b, "k1", T0));
    ok(ack(ST, o2, "k1", T0));
    assert_int_equal(ack(ST, o2, "k1", T0 + 1), LEADROUTE_EEXISTS);
    assert_int_equal(ack(ST, o2, "nobody", T0), LEADROUTE_ENOTFOUND);
    /* an account claim in a memstore ancestor is still no lead */
    ok(commit(o1, &(tc){ .key = "k9", .rep = "bob", .account = "beta.io" }));
    assert_int_equal(ack(ST, o2, "beta.io", T0), LEADROUTE_ENOTFOUND);
    ok(ack(ST, o2, "k9", T0));
    assert_int_equal(guard_writes, 0);
    lr__memstore_free(o2);
    lr__memstore_free(o1);
    lr__memstore_free(o1b);
    lr__memstore_free(p);
}

/* An account key an ancestor holds cannot be closed, in an overlay as in
 * the store itself, and takes no open lead from its holder; and a follow-up
 * move that names no previous holder moves nothing. */
static void test_overlay_close_account_and_bare_follow_up(void **state)
{
    lr__memstore *p = parent_with_data(); /* ann: k1, k2 and the account acme.com */
    lr__memstore *o = overlay_new(ST, p);
    (void)state;
    assert_int_equal(open_of(o, "ann"), 2);
    assert_int_equal(ST->close(o, "acme.com"), LEADROUTE_ENOTFOUND);
    assert_string_equal(holder(o, "acme.com"), "ann");
    assert_int_equal(open_of(o, "ann"), 2);
    assert_int_equal(open_of(p, "ann"), 2);
    ok(ST->close(o, "k2"));
    assert_int_equal(open_of(o, "ann"), 1);
    assert_int_equal(commit(o, &(tc){ .key = "free", .rep = "bob", .follow_up = 1 }), LEADROUTE_EEXISTS);
    assert_string_equal(owner_buf, "");
    assert_string_equal(holder(o, "free"), "");
    assert_int_equal(open_of(o, "bob"), 1); /* k3 only */
    lr__memstore_free(o);
    lr__memstore_free(p);
}

static void test_acknowledge(void **state)
{
    lr__memstore *m = store_new();
    char rep[4] = "zz", pool[32] = "zz";
    int64_t assigned = 0;
    (void)state;
    ok(commit(m, &(tc){ .key = "k1", .rep = "annabel", .pool = "emea", .at = T0, .deadline = T0 + HOUR_MS,
                        .account = "acme.com" }));
    ok(commit(m, &(tc){ .key = "k2", .rep = "bob", .at = T0 + 5, .deadline = T0 + HOUR_MS }));
    assert_string_equal(due_keys(ST, m, T0 + HOUR_MS), "k1 k2");
    /* the answer says when, to whom and from where; ids are truncated */
    ok(ST->acknowledge(m, "k1", T0 + 60000, &assigned, rep, sizeof rep, pool, sizeof pool));
    assert_int_equal(assigned, T0);
    assert_string_equal(rep, "ann");
    assert_string_equal(pool, "emea");
    assert_string_equal(due_keys(ST, m, T0 + 2 * HOUR_MS), "k2");
    /* twice: the first time stands */
    assert_int_equal(ST->acknowledge(m, "k1", T0 + 90000, &assigned, NULL, 0, NULL, 0), LEADROUTE_EEXISTS);
    assert_int_equal(assigned, T0);
    assert_int_equal(lr__memstore_acknowledged(m, "k1"), T0 + 60000);
    ok(ST->acknowledge(m, "k2", T0 + 70000, NULL, NULL, 0, pool, sizeof pool));
    assert_string_equal(pool, "");  /* no pool */
    assert_string_equal(due_keys(ST, m, INT64_MAX), "");
    /* timed before its assignment (a clock read before another thread's
     * commit, or a host's clock behind): recorded at the assignment's time,
     * so that no acknowledgement precedes what it acknowledges */
    ok(commit(m, &(tc){ .key = "k3", .rep = "cy", .at = T0 + HOUR_MS, .deadline = T0 + 2 * HOUR_MS }));
    ok(ST->acknowledge(m, "k3", T0 + 1, &assigned, NULL, 0, NULL, 0));
    assert_int_equal(assigned, T0 + HOUR_MS);
    assert_int_equal(lr__memstore_acknowledged(m, "k3"), T0 + HOUR_MS);
    assert_int_equal(ack(ST, m, "k3", T0 + 3 * HOUR_MS), LEADROUTE_EEXISTS);
    assert_int_equal(lr__memstore_acknowledged(m, "k3"), T0 + HOUR_MS);
    assert_int_equal(lr__memstore_acknowledged(m, "nope"), 0);
    /* not claimed, an account claim, closed */
    assert_int_equal(ack(ST, m, "nope", T0), LEADROUTE_ENOTFOUND);
    expect_message_has("nope");
    assert_int_equal(ack(ST, m, "acme.com", T0), LEADROUTE_ENOTFOUND);
    ok(ST->close(m, "k2"));
    assert_int_equal(ack(ST, m, "k2", T0), LEADROUTE_ENOTFOUND);
    /* misuse */
    assert_int_equal(ack(ST, m, "k1", 0), LEADROUTE_EINVAL);
    assert_int_equal(ack(ST, m, NULL, T0), LEADROUTE_EINVAL);
    assert_int_equal(ack(ST, NULL, "k1", T0), LEADROUTE_EINVAL);
    assert_int_equal(ST->acknowledge(m, "k1", T0, NULL, NULL, 4, NULL, 0), LEADROUTE_EINVAL);
    lr__memstore_free(m);
}

static void test_list_due_filters(void **state)
{
    lr__memstore *m = store_new();
    const int64_t now = T0 + DAY_MS;
    const listed *l;
    collector c;
    (void)state;
    ok(commit(m, &(tc){ .key = "none", .rep = "ann", .at = T0 }));
    ok(commit(m, &(tc){ .key = "later", .rep = "ann", .at = T0, .deadline = now + 1 }));
    ok(commit(m, &(tc){ .key = "due", .rep = "ann", .pool = "emea", .rule = "r7", .lead = "L-1", .at = T0,
                        .deadline = now - 5, .value = 2500.25, .sla = 30, .hops = 0, .table_hash = 0xfeedu,
                        .account = "acme.com" }));
    ok(commit(m, &(tc){ .key = "exact", .rep = "bob", .at = T0 + 1, .deadline = now }));
    ok(commit(m, &(tc){ .key = "acked", .rep = "bob", .at = T0, .deadline = now - 5 }));
    ok(ack(ST, m, "acked", T0 + 10));
    ok(commit(m, &(tc){ .key = "closed", .rep = "bob", .at = T0, .deadline = now - 5 }));
    ok(ST->close(m, "closed"));
    /* an account claim of a lead that has a deadline is no lead itself */
    ok(commit(m, &(tc){ .key = "other", .rep = "cy", .at = T0, .deadline = now - 5, .account = "globex.com" }));
    /* lead ids that end the key, or not, or are empty */
    ok(commit(m, &(tc){ .key = "lead:L-9", .lead = "L-9", .rep = "cy", .at = T0, .deadline = now }));
    ok(commit(m, &(tc){ .key = "lead:x", .lead = "lead:xy", .rep = "cy", .at = T0, .deadline = now }));
    ok(commit(m, &(tc){ .key = "lead:e", .lead = "", .rep = "cy", .at = T0, .deadline = now }));
    assert_string_equal(due_keys(ST, m, now), "due exact lead:L-9 lead:e lead:x other");
    assert_string_equal(due_keys(ST, m, now - 6), "");
    assert_string_equal(due_keys(ST, m, now + 1), "due exact later lead:L-9 lead:e lead:x other");

    c = due_of(ST, m, now);
    l = find_listed(&c, "due");
    assert_non_null(l);
    assert_string_equal(l->rep, "ann");
    assert_true(l->has_lead && l->has_pool && l->has_rule);
    assert_string_equal(l->lead, "L-1");
    assert_string_equal(l->pool, "emea");
    assert_string_equal(l->rule, "r7");
    assert_true(l->a.table_hash == 0xfeedu);
    assert_int_equal(l->a.at_ms, T0);
    assert_int_equal(l->a.deadline_ms, now - 5);
    assert_true(l->a.value == 2500.25);
    assert_true(l->a.sla_minutes == 30.0);
    assert_int_equal(l->a.hops, 0);
    assert_int_equal(l->a.escalated, 0);
    assert_int_equal(l->nhist, 0);
    assert_int_equal(l->a.acknowledged_ms, 0);
    l = find_listed(&c, "exact");
    assert_non_null(l);
    assert_string_equal(l->lead, "exact");  /* the lead id equal to the key */
    assert_false(l->has_pool);
    assert_string_equal(find_listed(&c, "lead:L-9")->lead, "L-9");
    assert_string_equal(find_listed(&c, "lead:x")->lead, "lead:xy");
    assert_true(find_listed(&c, "lead:e")->has_lead);
    assert_string_equal(find_listed(&c, "lead:e")->lead, "");
    free(c.v);
    assert_int_equal(ST->list_due(m, now, NULL, NULL), LEADROUTE_EINVAL);
    assert_int_equal(ST->list_due(NULL, now, collect, &c), LEADROUTE_EINVAL);
    lr__memstore_free(m);
}

/* Reassignments: history oldest first, acknowledgement cleared, counts. */
static void test_history(void **state)
{
    lr__memstore *m = store_new();
    const listed *l;
    collector c;
    (void)state;
    ok(commit(m, &(tc){ .key = "k", .rep = "ann", .pool = "p", .at = T0, .deadline = T0 + HOUR_MS, .value = 5 }));
    ok(ack(ST, m, "k", T0 + 1));
    ok(commit(m, &(tc){ .key = "k", .rep = "bob", .previous = "ann", .pool = "p", .expected = 1,
                        .at = T0 + 2 * HOUR_MS, .deadline = T0 + 3 * HOUR_MS, .hops = 1, .value = 5 }));
    c = due_of(ST, m, T0 + 3 * HOUR_MS);
    assert_int_equal(c.n, 1);
    l = &c.v[0];
    assert_string_equal(l->rep, "bob");
    assert_int_equal(l->nhist, 1);
    assert_string_equal(l->hist[0], "ann");
    assert_int_equal(l->a.hops, 1);
    assert_int_equal(l->a.acknowledged_ms, 0);
    assert_int_equal(l->a.deadline_ms, T0 + 3 * HOUR_MS);
    free(c.v);
    ok(commit(m, &(tc){ .key = "k", .rep = "cy", .previous = "bob", .apool = "escalations", .at = T0 + 4 * HOUR_MS,
                        .deadline = T0 + 5 * HOUR_MS, .hops = 2, .escalated = 1, .value = 5 }));
    assert_string_equal(due_keys(ST, m, T0 + 5 * HOUR_MS - 1), "");
    c = due_of(ST, m, T0 + 5 * HOUR_MS);
    assert_int_equal(c.n, 1);
    l = &c.v[0];
    assert_string_equal(l->rep, "cy");
    assert_int_equal(l->nhist, 2);
    assert_string_equal(l->hist[0], "ann");
    assert_string_equal(l->hist[1], "bob");
    assert_int_equal(l->a.hops, 2);
    assert_int_equal(l->a.escalated, 1);
    assert_string_equal(l->pool, "escalations");
    free(c.v);
    assert_int_equal(open_of(m, "ann"), 0);
    assert_int_equal(open_of(m, "bob"), 0);
    assert_int_equal(open_of(m, "cy"), 1);
    assert_int_equal(win_of(ST, m, "ann", NULL, T0, NULL), 1);
    assert_int_equal(win_of(ST, m, "bob", NULL, T0, NULL), 1);
    assert_int_equal(win_of(ST, m, "cy", NULL, T0, NULL), 1);
    assert_int_equal(win_of(ST, m, NULL, "p", T0, NULL), 2);
    assert_int_equal(win_of(ST, m, NULL, "escalations", T0, NULL), 1);
    /* closed and claimed again: a new lead, no history */
    ok(ST->close(m, "k"));
    assert_string_equal(due_keys(ST, m, INT64_MAX), "");
    ok(commit(m, &(tc){ .key = "k", .rep = "dee", .at = T0, .deadline = T0 }));
    c = due_of(ST, m, T0);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.v[0].nhist, 0);
    free(c.v);
    lr__memstore_free(m);
}

static void test_list_due_stops(void **state)
{
    lr__memstore *m = store_new();
    char key[32];
    collector c;
    (void)state;
    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof key, "k%d", i);
        ok(commit(m, &(tc){ .key = key, .rep = "ann", .at = T0, .deadline = T0 }));
    }
    memset(&c, 0, sizeof c);
    c.stop_after = 3;
    c.stop_rc = 7;
    assert_int_equal(ST->list_due(m, T0, collect, &c), 7);
    assert_int_equal(c.n, 3);
    free(c.v);
    memset(&c, 0, sizeof c);
    c.stop_after = 150;
    c.stop_rc = LEADROUTE_EUSER;
    assert_int_equal(ST->list_due(m, T0, collect, &c), LEADROUTE_EUSER);
    assert_int_equal(c.n, 150);
    free(c.v);
    /* the store is free to use right after */
    ok(ack(ST, m, "k0", T0));
    c = due_of(ST, m, T0);
    assert_int_equal(c.n, 199);
    free(c.v);
    lr__memstore_free(m);
}

static void test_overlay_records(void **state)
{
    lr__memstore *p = store_new();
    lr__memstore *o;
    const listed *l;
    collector c;
    double v = 0;
    (void)state;
    ok(commit(p, &(tc){ .key = "k1", .rep = "ann", .pool = "emea", .at = T0, .deadline = T0, .value = 10,
                        .account = "acme.com" }));
    ok(commit(p, &(tc){ .key = "k2", .rep = "bob", .at = T0, .deadline = T0, .value = 20 }));
    ok(commit(p, &(tc){ .key = "k3", .rep = "ann", .at = T0, .deadline = T0 }));
    ok(commit(p, &(tc){ .key = "k3", .rep = "cy", .previous = "ann", .at = T0, .deadline = T0, .hops = 1 }));
    ok(commit(p, &(tc){ .key = "k5", .rep = "cy", .at = T0, .deadline = T0 }));
    ok(ack(ST, p, "k5", T0));
    o = overlay_new(ST, p);
    assert_string_equal(due_keys(ST, o, T0), "k1 k2 k3");

    /* windows: the parent's plus the overlay's own */
    ok(commit(o, &(tc){ .key = "k4", .rep = "ann", .pool = "emea", .expected = 1, .at = T0 + 1, .deadline = T0,
                        .value = 1 }));
    assert_int_equal(win_of(ST, o, "ann", NULL, T0, &v), 3);
    assert_true(v == 11.0);
    assert_int_equal(win_of(ST, p, "ann", NULL, T0, &v), 2);
    assert_true(v == 10.0);
    assert_int_equal(win_of(ST, o, NULL, "emea", T0 + 1, &v), 1);
    assert_string_equal(due_keys(ST, o, T0), "k1 k2 k3 k4");
    assert_string_equal(due_keys(ST, p, T0), "k1 k2 k3");

    /* acknowledging or closing a parent's lead hides it here only */
    {
        char rep[32], pool[32];
        int64_t assigned = 0;
        ok(ST->acknowledge(o, "k1", T0 + 9, &assigned, rep, sizeof rep, pool, sizeof pool));
        assert_int_equal(assigned, T0);
        assert_string_equal(rep, "ann");
        assert_string_equal(pool, "emea");
        assert_int_equal(ack(ST, o, "k1", T0 + 10), LEADROUTE_EEXISTS);
        assert_int_equal(lr__memstore_acknowledged(o, "k1"), T0 + 9);
        assert_int_equal(lr__memstore_acknowledged(p, "k1"), 0);
        /* the copy of a parent's record is no earlier than its assignment either */
        ok(ST->acknowledge(o, "k2", T0 - 5, &assigned, NULL, 0, NULL, 0));
        assert_int_equal(assigned, T0);
        assert_int_equal(lr__memstore_acknowledged(o, "k2"), T0);
    }
    assert_string_equal(holder(o, "k1"), "ann");
    assert_int_equal(open_of(o, "ann"), 2);  /* k1 from the parent (k3 went to cy), k4 */
    ok(ST->close(o, "k2"));
    assert_string_equal(due_keys(ST, o, T0), "k3 k4");
    assert_string_equal(due_keys(ST, p, T0), "k1 k2 k3");
    /* a parent's acknowledged lead stays acknowledged; an account is no lead */
    assert_int_equal(ack(ST, o, "k5", T0 + 20), LEADROUTE_EEXISTS);
    assert_int_equal(ack(ST, o, "acme.com", T0), LEADROUTE_ENOTFOUND);
    assert_int_equal(ack(ST, o, "k2", T0), LEADROUTE_ENOTFOUND);
    assert_int_equal(ack(ST, o, "nope", T0), LEADROUTE_ENOTFOUND);
    /* the mirror of k1 closes and moves like the parent's claim */
    ok(ST->close(o, "k1"));
    assert_int_equal(open_of(o, "ann"), 1);
    assert_int_equal(open_of(p, "ann"), 1);
    assert_string_equal(holder(o, "k1"), "");
    assert_string_equal(holder(p, "k1"), "ann");

    /* reassigning a parent's lead carries the parent's history */
    ok(commit(o, &(tc){ .key = "k3", .rep = "dee", .previous = "cy", .at = T0 + 2, .deadline = T0, .hops = 2 }));
    c = due_of(ST, o, T0);
    l = find_listed(&c, "k3");
    assert_non_null(l);
    assert_string_equal(l->rep, "dee");
    assert_int_equal(l->nhist, 2);
    assert_string_equal(l->hist[0], "ann");
    assert_string_equal(l->hist[1], "cy");
    assert_int_equal(c.n, 2);
    free(c.v);
    c = due_of(ST, p, T0);
    l = find_listed(&c, "k3");
    assert_non_null(l);
    assert_string_equal(l->rep, "cy");
    assert_int_equal(l->nhist, 1);
    free(c.v);
    /* the parent's new due leads show through; an early stop passes through */
    ok(commit(p, &(tc){ .key = "k6", .rep = "bob", .at = T0, .deadline = T0 }));
    assert_string_equal(due_keys(ST, o, T0), "k3 k4 k6");
    memset(&c, 0, sizeof c);
    c.stop_after = 3;
    c.stop_rc = 5;
    assert_int_equal(ST->list_due(o, T0, collect, &c), 5);
    free(c.v);
    lr__memstore_free(o);
    lr__memstore_free(p);
}

/* An overlay over a store without the optional methods. */
static void test_overlay_foreign_parent(void **state)
{
    lr__memstore *p = store_new();
    lr__memstore *o;
    uint64_t n;
    double v;
    int64_t assigned = 0;
    char rep[32], pool[32] = "x";
    (void)state;
    ok(commit(p, &(tc){ .key = "k1", .rep = "ann", .at = T0, .deadline = T0 }));
    o = overlay_new(&guard, p);
    guard_writes = 0;
    assert_int_equal(ST->window(o, "ann", NULL, T0, &n, &v), LEADROUTE_ENOTSUP);
    ok(commit(o, &(tc){ .key = "k2", .rep = "bob", .at = T0, .deadline = T0 }));
    assert_string_equal(due_keys(ST, o, T0), "k2");  /* the parent cannot list */
    /* its record cannot be read: the acknowledgement time stands in */
    ok(ST->acknowledge(o, "k1", T0 + 50, &assigned, rep, sizeof rep, pool, sizeof pool));
    assert_int_equal(assigned, T0 + 50);
    assert_string_equal(rep, "ann");
    assert_string_equal(pool, "");
    assert_int_equal(ack(ST, o, "k1", T0 + 60), LEADROUTE_EEXISTS);
    ok(commit(o, &(tc){ .key = "k1", .rep = "bob", .previous = "ann", .at = T0, .deadline = T0 }));
    {
        collector c = due_of(ST, o, T0);
        const listed *l = find_listed(&c, "k1");
        assert_non_null(l);
        assert_int_equal(l->nhist, 1);
        assert_string_equal(l->hist[0], "ann");
        free(c.v);
    }
    assert_int_equal(open_of(o, "ann"), 0);
    assert_int_equal(open_of(o, "bob"), 2);
    assert_int_equal(guard_writes, 0);
    lr__memstore_free(o);
    lr__memstore_free(p);
}

/* Records and logs under allocation failures: all or nothing. */
static void test_nomem_records(void **state)
{
    int succeeded = 0;
    (void)state;
    for (long fail_at = 0; fail_at < 100 && !succeeded; fail_at++) {
        budget b = { -1, 0, 0, 0 };
        lr__alloc a = { budget_alloc, budget_free, &b };
        lr__memstore *m = NULL, *o = NULL;
        collector c;
        int rc;
        ok(lr__memstore_new(&m, &a, NULL, NULL));
        ok(commit(m, &(tc){ .key = "k0", .rep = "ann", .pool = "p", .state = "x", .at = T0, .deadline = T0 }));
        ok(lr__memstore_new(&o, &a, ST, m));
        b.left = fail_at;
        rc = commit(o, &(tc){ .key = "k0", .rep = "bob", .previous = "ann", .pool = "p", .expected = 1,
                              .apool = "q", .at = T0 + 1, .deadline = T0, .value = 3 });
        if (rc == LEADROUTE_OK)
            rc = ack(ST, o, "k0", T0 + 2);
        if (rc == LEADROUTE_OK) {
            memset(&c, 0, sizeof c);
            rc = ST->list_due(o, T0, collect, &c);
            free(c.v);
        }
        b.left = -1;
        if (rc == LEADROUTE_OK) {
            succeeded = 1;
            assert_string_equal(holder(o, "k0"), "bob");
            assert_int_equal(win_of(ST, o, "bob", NULL, T0, NULL), 1);
            assert_int_equal(win_of(ST, o, NULL, "q", T0, NULL), 1);
        } else {
            assert_int_equal(rc, LEADROUTE_ENOMEM);
            /* the commit happened whole or not at all */
            if (strcmp(holder(o, "k0"), "bob") == 0) {
                assert_int_equal(win_of(ST, o, "bob", NULL, T0, NULL), 1);
                assert_int_equal(win_of(ST, o, NULL, "q", T0, NULL), 1);
                assert_int_equal(open_of(o, "ann"), 0);
            } else {
                assert_string_equal(holder(o, "k0"), "ann");
                assert_int_equal(win_of(ST, o, "bob", NULL, T0, NULL), 0);
                assert_int_equal(win_of(ST, o, NULL, "q", T0, NULL), 0);
                assert_int_equal(win_of(ST, o, NULL, "p", T0, NULL), 1);
                assert_int_equal(open_of(o, "ann"), 1);
                assert_string_equal(due_keys(ST, o, T0), "k0");
            }
        }
        lr__memstore_free(o);
        lr__memstore_free(m);
        assert_int_equal(b.live, 0);
    }
    assert_true(succeeded);
}

/* Commits with deadlines, reassignments and acknowledgements on 4 threads
 * while another lists the due leads: every listed lead is due, and at the
 * end exactly the expected ones are. */
#define DUE_THREADS 4
#define DUE_PER_THREAD 20000

typedef struct due_worker {
    lr__memstore *m;
    int t;
    uint32_t due_left, errors;
    char error[256];
} due_worker;

static _Atomic int due_running;

static void *due_worker_run(void *arg)
{
    due_worker *w = arg;
    char key[48], rep[16], prev[16];
    for (int i = 0; i < DUE_PER_THREAD; i++) {
        int rc;
        snprintf(key, sizeof key, "t%d-%d", w->t, i);
        snprintf(rep, sizeof rep, "r%d", i % 7);
        /* every other lead is due at T0; every 4th is acknowledged; every
         * 8th is reassigned once, every 16th is closed */
        rc = commit(w->m, &(tc){ .key = key, .rep = rep, .apool = "p", .at = T0 + i,
                                 .deadline = i % 2 ? T0 + DAY_MS : T0, .value = 1 });
        if (rc == LEADROUTE_OK && i % 8 == 0) {
            snprintf(prev, sizeof prev, "%s", rep);
            snprintf(rep, sizeof rep, "r%d", (i + 1) % 7);
            rc = commit(w->m, &(tc){ .key = key, .rep = rep, .previous = prev, .apool = "p", .at = T0 + i,
                                     .deadline = T0, .hops = 1, .value = 1 });
        }
        if (rc == LEADROUTE_OK && i % 4 == 2)
            rc = ack(ST, w->m, key, T0 + i);
        if (rc == LEADROUTE_OK && i % 16 == 4)
            rc = ST->close(w->m, key);
        if (rc != LEADROUTE_OK && w->errors++ == 0)
            snprintf(w->error, sizeof w->error, "%s: %d %s", key, rc, leadroute_error_last()->message);
        if (i % 2 == 0 && i % 4 != 2 && i % 16 != 4)
            w->due_left++;
    }
    return NULL;
}

typedef struct due_check {
    uint64_t seen, bad;
} due_check;

static int due_check_each(void *ctx, const leadroute_assignment *a)
{
    due_check *c = ctx;
    c->seen++;
    if (a->deadline_ms != T0 || a->acknowledged_ms != 0 || !a->rep_id || a->rep_id[0] != 'r' || !a->key ||
        a->key[0] != 't' || (a->hops == 1) != (a->history_count == 1) ||
        (a->history_count == 1 && a->history[0][0] != 'r'))
        c->bad++;
    return 0;
}

static void *due_lister_run(void *arg)
{
    lr__memstore *m = arg;
    due_check *c = calloc(1, sizeof *c);
    uint64_t n, rounds = 0;
    double v;
    while (atomic_load(&due_running) || rounds < 2) {
        if (ST->list_due(m, T0, due_check_each, c) != LEADROUTE_OK ||
            ST->window(m, NULL, "p", T0, &n, &v) != LEADROUTE_OK)
            c->bad++;
        rounds++;
    }
    return c;
}

static void test_due_threads(void **state)
{
    lr__memstore *m = store_new();
    due_worker w[DUE_THREADS];
    pthread_t th[DUE_THREADS], lister;
    due_check *lc = NULL, final = { 0, 0 };
    uint32_t due_left = 0;
    uint64_t n = 0;
    double v = 0;
    (void)state;
    atomic_store(&due_running, 1);
    assert_int_equal(pthread_create(&lister, NULL, due_lister_run, m), 0);
    for (int t = 0; t < DUE_THREADS; t++) {
        memset(&w[t], 0, sizeof w[t]);
        w[t].m = m;
        w[t].t = t;
        assert_int_equal(pthread_create(&th[t], NULL, due_worker_run, &w[t]), 0);
    }
    for (int t = 0; t < DUE_THREADS; t++) {
        assert_int_equal(pthread_join(th[t], NULL), 0);
        if (w[t].errors)
            fail_msg("%u errors, first: %s", w[t].errors, w[t].error);
        due_left += w[t].due_left;
    }
    atomic_store(&due_running, 0);
    assert_int_equal(pthread_join(lister, (void **)&lc), 0);
    assert_non_null(lc);
    assert_int_equal(lc->bad, 0);
    free(lc);
    ok(ST->list_due(m, T0, due_check_each, &final));
    assert_int_equal(final.bad, 0);
    assert_int_equal(final.seen, due_left);
    /* each commit (reassignments too) counted once in the pool's window */
    ok(ST->window(m, NULL, "p", T0, &n, &v));
    assert_int_equal(n, DUE_THREADS * (DUE_PER_THREAD + DUE_PER_THREAD / 8));
    assert_true(v == (double)n);
    lr__memstore_free(m);
}

/* 1,000,000 open leads (LEADROUTE_BENCH_DUE_N overrides), 1% due: how long
 * list_due takes. Printed, not asserted. */
static int count_each(void *ctx, const leadroute_assignment *a)
{
    (void)a;
    ++*(uint64_t *)ctx;
    return 0;
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void test_due_timing(void **state)
{
    lr__memstore *m = store_new();
    const char *env = getenv("LEADROUTE_BENCH_DUE_N");
    long total = env ? strtol(env, NULL, 10) : 1000000;
    uint64_t seen = 0, expected = 0;
    struct timespec t0;
    double commit_s, list_s = 1e9;
    char key[32], rep[16];
    (void)state;
    if (total < 100)
        total = 100;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < total; i++) {
        int due = i % 100 == 0;
        snprintf(key, sizeof key, "lead-%ld", i);
        snprintf(rep, sizeof rep, "rep-%ld", i % 50);
        ok(commit(m, &(tc){ .key = key, .rep = rep, .apool = "pool-1", .rule = "r1", .at = T0 + i,
                            .deadline = due ? T0 : T0 + DAY_MS, .value = 100 }));
        expected += (uint64_t)due;
    }
    commit_s = seconds_since(&t0);
    for (int round = 0; round < 3; round++) {
        double s;
        seen = 0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        ok(ST->list_due(m, T0 + 1, count_each, &seen));
        s = seconds_since(&t0);
        if (s < list_s)
            list_s = s;
        assert_int_equal(seen, expected);
    }
    print_message("list_due: %ld open leads, %llu due: %.1f ms (best of 3); %.0f ns per commit\n", total,
                  (unsigned long long)expected, list_s * 1e3, commit_s * 1e9 / (double)total);
    lr__memstore_free(m);
}

/* ---- edges a slip in the store would pass ------------------------------------- */

/* an owner id exactly as long as the buffer is truncated, not written
 * one byte past it. */
static void test_owner_exact_fit(void **state)
{
    lr__memstore *m = store_new();
    leadroute_assignment a = { LEADROUTE_ASSIGNMENT_VERSION, "k1", NULL, "cy", NULL, NULL, NULL, 0, 0, 0,
                               0, 0.0, 0, 0, NULL, 0, 0 };
    leadroute_commit c = { LEADROUTE_COMMIT_VERSION, &a, NULL, 0, NULL, 0, 0, NULL, 0 };
    char small[8];
    (void)state;
    ok(commit(m, &(tc){ .key = "k1", .rep = "ann" }));
    memset(small, '#', sizeof small);
    assert_int_equal(ST->commit(m, &c, small, 3), LEADROUTE_EEXISTS);  /* "ann" needs 4 */
    assert_string_equal(small, "an");
    assert_int_equal(small[3], '#');  /* past the 3 bytes given: untouched */
    lr__memstore_free(m);
}

/* a parent's find_claim failing with EEXISTS inside a commit is a read
 * error (EIO), not the commit's "claimed meanwhile" verdict. */
static int eexists_find_claim(void *ud, const char *key, char *rep, size_t cap)
{
    (void)ud, (void)key, (void)rep, (void)cap;
    return LEADROUTE_EEXISTS;
}

static void test_parent_read_eexists_is_eio(void **state)
{
    lr__memstore *p = store_new();
    leadroute_store bad = guard;
    lr__memstore *o;
    (void)state;
    bad.find_claim = eexists_find_claim;
    o = overlay_new(&bad, p);
    assert_int_equal(commit(o, &(tc){ .key = "k1", .rep = "bob" }), LEADROUTE_EIO);
    expect_message_has("find_claim");
    assert_int_equal(open_of(o, "bob"), 0);
    lr__memstore_free(o);
    lr__memstore_free(p);
}

/* A follow-up move naming no previous holder is refused, and `owner` gets
 * the key's holder, as for any refused move ("" for a free key). */
static void test_follow_up_no_previous_held(void **state)
{
    lr__memstore *m = store_new();
    (void)state;
    ok(commit(m, &(tc){ .key = "lead:1", .rep = "ann", .at = T0, .deadline = T0 }));
    assert_int_equal(commit(m, &(tc){ .key = "lead:1", .rep = "bob", .at = T0 + 1, .follow_up = 1 }),
                     LEADROUTE_EEXISTS);
    assert_string_equal(owner_buf, "ann");
    expect_message_has("names no previous holder");
    assert_int_equal(commit(m, &(tc){ .key = "lead:2", .rep = "bob", .at = T0 + 1, .follow_up = 1 }),
                     LEADROUTE_EEXISTS);
    assert_string_equal(owner_buf, "");
    lr__memstore_free(m);
}

/* an account key that merely starts with the lead's key is a claim
 * of its own. */
static void test_account_key_prefix_of_lead_key(void **state)
{
    lr__memstore *m = store_new();
    (void)state;
    ok(commit(m, &(tc){ .key = "acme", .rep = "ann", .account = "acme.com" }));
    assert_string_equal(holder(m, "acme"), "ann");
    assert_string_equal(holder(m, "acme.com"), "ann");
    assert_int_equal(open_of(m, "ann"), 1);
    lr__memstore_free(m);
}

/* a follow-up move of a lead that has no deadline is moot. */
static void test_follow_up_without_deadline(void **state)
{
    lr__memstore *m = store_new();
    (void)state;
    ok(commit(m, &(tc){ .key = "lead:1", .rep = "ana", .at = T0 }));  /* no deadline */
    assert_int_equal(commit(m, &(tc){ .key = "lead:1", .rep = "bo", .previous = "ana", .at = T0 + HOUR_MS,
                                      .hops = 1, .follow_up = 1 }), LEADROUTE_EEXISTS);
    assert_string_equal(owner_buf, "ana");
    assert_string_equal(holder(m, "lead:1"), "ana");
    assert_int_equal(open_of(m, "bo"), 0);
    lr__memstore_free(m);
}

/* taking over a key that `previous` holds as an account claim takes
 * no open lead from `previous` (an account claim is none). */
static void test_reassign_account_claim_keeps_counts(void **state)
{
    lr__memstore *m = store_new();
    (void)state;
    ok(commit(m, &(tc){ .key = "k1", .rep = "ann", .account = "acme.com" }));
    assert_int_equal(open_of(m, "ann"), 1);
    ok(commit(m, &(tc){ .key = "acme.com", .rep = "bob", .previous = "ann" }));
    assert_string_equal(holder(m, "acme.com"), "bob");
    assert_int_equal(open_of(m, "ann"), 1);  /* k1 still */
    assert_int_equal(open_of(m, "bob"), 1);
    lr__memstore_free(m);
}

/* a lead closed in an overlay and claimed again carries no history of
 * the closed one, as in a plain store. */
static void test_overlay_close_forgets_history(void **state)
{
    lr__memstore *p = store_new();
    lr__memstore *o = overlay_new(ST, p);
    lr__memstore *stores[2] = { p, o };
    (void)state;
    for (int i = 0; i < 2; i++) {
        lr__memstore *m = stores[i];
        collector c;
        const listed *l;
        ok(commit(m, &(tc){ .key = "k", .rep = "ann", .at = T0, .deadline = T0 }));
        ok(commit(m, &(tc){ .key = "k", .rep = "bob", .previous = "ann", .at = T0, .deadline = T0, .hops = 1 }));
        ok(ST->close(m, "k"));
        ok(commit(m, &(tc){ .key = "k", .rep = "cy", .previous = "bob", .at = T0, .deadline = T0 }));
        c = due_of(ST, m, T0);
        l = find_listed(&c, "k");
        assert_non_null(l);
        assert_int_equal(l->nhist, 1);
        assert_string_equal(l->hist[0], "bob");
        free(c.v);
        ok(ST->close(m, "k"));
    }
    lr__memstore_free(o);
    lr__memstore_free(p);
}

/* an overlay that released two of its parent's due leads whose keys
 * share a shard lists neither, whatever order their slots are in. */
static void two_keys_out_of_hash_order(char *a, char *b, size_t cap)
{
    static char keys[4096][16];
    for (int i = 0; i < 4096; i++) {
        uint64_t hi;
        snprintf(keys[i], sizeof keys[i], "lead:%d", i);
        hi = lr__hash(keys[i], strlen(keys[i]));
        for (int j = 0; j < i; j++) {
            uint64_t hj = lr__hash(keys[j], strlen(keys[j]));
            /* same shard (top 6 bits), i before j in the shard's 16 slots, yet a larger hash */
            if ((hi >> 58) == (hj >> 58) && (hi & 15) < (hj & 15) && hi > hj) {
                snprintf(a, cap, "%s", keys[i]);
                snprintf(b, cap, "%s", keys[j]);
                return;
            }
        }
    }
    fail_msg("no pair of keys found");
}

static void test_overlay_releases_two_in_one_shard(void **state)
{
    lr__memstore *p = store_new();
    lr__memstore *o;
    char a[16], b[16];
    (void)state;
    two_keys_out_of_hash_order(a, b, sizeof a);
    ok(commit(p, &(tc){ .key = a, .rep = "ann", .at = T0, .deadline = T0 }));
    ok(commit(p, &(tc){ .key = b, .rep = "ann", .at = T0, .deadline = T0 }));
    o = overlay_new(ST, p);
    ok(ST->close(o, a));
    ok(ST->close(o, b));
    assert_string_equal(due_keys(ST, o, T0), "");
    collector all = due_of(ST, p, T0);
    assert_int_equal(all.n, 2);
    free(all.v);
    lr__memstore_free(o);
    lr__memstore_free(p);
}

/* Claiming and closing one key over and over needs no memory
 * beyond the first round (the slot and the claim are reused). */
static void test_churn_allocates_nothing(void **state)
{
    budget b = { -1, 0, 0, 0 };
    lr__alloc al = { budget_alloc, budget_free, &b };
    lr__memstore *m = NULL;
    (void)state;
    ok(lr__memstore_new(&m, &al, NULL, NULL));
    ok(commit(m, &(tc){ .key = "k", .rep = "ann", .at = T0 }));
    ok(ST->close(m, "k"));
    b.left = 0;  /* every allocation fails from here on */
    for (int i = 0; i < 1000; i++) {
        ok(commit(m, &(tc){ .key = "k", .rep = "ann", .at = T0 }));
        ok(ST->close(m, "k"));
    }
    b.left = -1;
    lr__memstore_free(m);
    assert_int_equal(b.live, 0);
}

/* two commits for one rep with a capacity of 1, both past the first
 * check when neither has committed yet (here: both inside the parent's
 * find_claim at once, as a host store's slow read), never both succeed. */
static _Atomic int rendezvous;
static lr__memstore *race_store;
static int race_rc[2];
static const char *race_key[2];

static int slow_find_claim(void *ud, const char *key, char *rep, size_t cap)
{
    struct timespec t0, t1;
    (void)ud, (void)key, (void)rep, (void)cap;
    atomic_fetch_add(&rendezvous, 1);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do  /* wait for the other commit, 2 s at most */
        clock_gettime(CLOCK_MONOTONIC, &t1);
    while (atomic_load(&rendezvous) < 2 && t1.tv_sec - t0.tv_sec < 2);
    return LEADROUTE_ENOTFOUND;
}

static int zero_open_count(void *ud, const char *rep, uint32_t *count)
{
    (void)ud, (void)rep;
    *count = 0;
    return LEADROUTE_OK;
}

static void *race_run(void *arg)
{
    int t = (int)(intptr_t)arg;
    race_rc[t] = commit(race_store, &(tc){ .key = race_key[t], .rep = "solo", .capacity = 1 });
    return NULL;
}

static void test_capacity_race(void **state)
{
    static char keys[2][16];
    leadroute_store slow = guard;
    lr__memstore *p = store_new();
    pthread_t th[2];
    int n = 0;
    (void)state;
    /* two keys in different shards, so neither commit waits for the other's lock */
    snprintf(keys[0], sizeof keys[0], "k0");
    for (int i = 1; n == 0; i++) {
        snprintf(keys[1], sizeof keys[1], "k%d", i);
        n = (lr__hash(keys[0], 2) >> 58) != (lr__hash(keys[1], strlen(keys[1])) >> 58);
    }
    race_key[0] = keys[0];
    race_key[1] = keys[1];
    slow.find_claim = slow_find_claim;
    slow.open_count = zero_open_count;
    race_store = overlay_new(&slow, p);
    atomic_store(&rendezvous, 0);
    for (int t = 0; t < 2; t++)
        assert_int_equal(pthread_create(&th[t], NULL, race_run, (void *)(intptr_t)t), 0);
    for (int t = 0; t < 2; t++)
        assert_int_equal(pthread_join(th[t], NULL), 0);
    assert_int_equal((race_rc[0] == LEADROUTE_OK) + (race_rc[1] == LEADROUTE_OK), 1);
    assert_int_equal(race_rc[0] == LEADROUTE_OK ? race_rc[1] : race_rc[0], LEADROUTE_ECONFLICT);
    assert_int_equal(open_of(race_store, "solo"), 1);
    lr__memstore_free(race_store);
    lr__memstore_free(p);
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
        cmocka_unit_test(test_account_key_same_close),
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
        cmocka_unit_test(test_window_rep_and_pool),
        cmocka_unit_test(test_window_prune),
        cmocka_unit_test(test_window_after_entry_ahead),
        cmocka_unit_test(test_window_sums_exact),
        cmocka_unit_test(test_window_late_at_cutoff),
        cmocka_unit_test(test_window_out_of_order),
        cmocka_unit_test(test_acknowledge_through_two_overlays),
        cmocka_unit_test(test_overlay_close_account_and_bare_follow_up),
        cmocka_unit_test(test_acknowledge),
        cmocka_unit_test(test_list_due_filters),
        cmocka_unit_test(test_history),
        cmocka_unit_test(test_list_due_stops),
        cmocka_unit_test(test_overlay_records),
        cmocka_unit_test(test_overlay_foreign_parent),
        cmocka_unit_test(test_nomem_records),
        cmocka_unit_test(test_due_threads),
        cmocka_unit_test(test_due_timing),
        cmocka_unit_test(test_follow_up_moot),
        cmocka_unit_test(test_owner_exact_fit),
        cmocka_unit_test(test_parent_read_eexists_is_eio),
        cmocka_unit_test(test_follow_up_no_previous_held),
        cmocka_unit_test(test_account_key_prefix_of_lead_key),
        cmocka_unit_test(test_follow_up_without_deadline),
        cmocka_unit_test(test_reassign_account_claim_keeps_counts),
        cmocka_unit_test(test_overlay_close_forgets_history),
        cmocka_unit_test(test_overlay_releases_two_in_one_shard),
        cmocka_unit_test(test_churn_allocates_nothing),
        cmocka_unit_test(test_capacity_race),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
