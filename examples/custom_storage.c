/*
 * custom_storage: plug your own store into the router.
 *
 * The router keeps its state in a store: each pool's rotation (a versioned
 * text), claims (lead key -> rep) and open-lead counts per rep. The built-in
 * store lives in one router's memory; a CRM that routes from several hosts
 * plugs in a store backed by the database they share, through the
 * `leadroute_store` callback table (include/leadroute/router.h, and
 * "Store contract" in docs/router.md).
 *
 * This store keeps everything in small C arrays behind one pthread mutex,
 * which plays the part of a database transaction: swap the bodies of the
 * five methods for SQL or Redis calls and the rest stays the same. Two
 * routers sharing it stand for two hosts. The program routes a dozen leads
 * and checks rotation, re-routing, capacity, two hosts racing for the same
 * leads, a failing commit, what the router refuses from a store without
 * the optional methods, and a tick's move that a close made moot. It exits
 * non-zero on any surprise.
 *
 * SPDX-License-Identifier: MIT
 */
#define _POSIX_C_SOURCE 200809L /* pthreads and nanosleep under -std=c11 */

#include <leadroute/leadroute.h>

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* ---- the store ----------------------------------------------------------- */

/* Fixed sizes keep the example short; a real store has database rows. A
 * pool's state grows with its members (round robin keeps a line of every
 * member's id, weighted a pass per member): size it for the largest pool. */
#define MAX_POOLS 8
#define MAX_REPS 32
#define MAX_CLAIMS 128
#define NONE ((size_t)-1)

struct pool_row { char id[64]; char state[1024]; size_t length; uint64_t version; };
struct rep_row { char id[64]; uint32_t open; };
struct claim_row { char key[128]; size_t rep; int is_account; }; /* rep: index into reps */

typedef struct memory_store {
    pthread_mutex_t lock; /* held for the whole of every method: each is one transaction */
    struct pool_row pools[MAX_POOLS];
    struct rep_row reps[MAX_REPS];
    struct claim_row claims[MAX_CLAIMS];
    size_t pool_count, rep_count, claim_count;
    int fail_commits;   /* set by the checks: commit fails as if the database were down */
    unsigned conflicts; /* compare-and-swap losses the router had to retry */
    long read_delay_ns; /* a database round trip after each pool read: widens races */
} memory_store;

static size_t find_pool(const memory_store *s, const char *id)
{
    for (size_t i = 0; i < s->pool_count; i++)
        if (strcmp(s->pools[i].id, id) == 0)
            return i;
    return NONE;
}

static size_t find_rep(const memory_store *s, const char *id)
{
    for (size_t i = 0; i < s->rep_count; i++)
        if (strcmp(s->reps[i].id, id) == 0)
            return i;
    return NONE;
}

static size_t find_claim(const memory_store *s, const char *key)
{
    for (size_t i = 0; i < s->claim_count; i++)
        if (strcmp(s->claims[i].key, key) == 0)
            return i;
    return NONE;
}

/* A lock that cannot be taken is a store failure, reported like any other. */
static int lock_store(memory_store *s)
{
    return pthread_mutex_lock(&s->lock) == 0 ? LEADROUTE_OK : LEADROUTE_EIO;
}

static void unlock_store(memory_store *s)
{
    (void)pthread_mutex_unlock(&s->lock);
}

/* State and version are read together, under one lock: the version the
 * commit compares must be that of the very state the router decided on.
 * Growing buffer: when the state does not fit, report its length and leave
 * `buf` alone; the router calls again with `*length` bytes. */
static int store_load_pool(void *user_data, const char *pool_id, void *buf, size_t cap, size_t *length,
                           uint64_t *state_version)
{
    memory_store *s = user_data;
    size_t i;

    if (lock_store(s) != LEADROUTE_OK)
        return LEADROUTE_EIO;
    i = find_pool(s, pool_id);
    *length = i == NONE ? 0 : s->pools[i].length; /* never written: length 0, version 0 */
    *state_version = i == NONE ? 0 : s->pools[i].version;
    if (i != NONE && s->pools[i].length > 0 && s->pools[i].length <= cap)
        memcpy(buf, s->pools[i].state, s->pools[i].length);
    unlock_store(s);
    if (s->read_delay_ns > 0) {
        struct timespec delay = {0, s->read_delay_ns};

        (void)nanosleep(&delay, NULL);
    }
    return LEADROUTE_OK;
}

/* Lead claims ("lead:<key>") and account claims ("account:<domain>") alike. */
static int store_find_claim(void *user_data, const char *key, char *rep_id, size_t cap)
{
    memory_store *s = user_data;
    size_t i;

    if (lock_store(s) != LEADROUTE_OK)
        return LEADROUTE_EIO;
    i = find_claim(s, key);
    if (i != NONE && cap > 0)
        snprintf(rep_id, cap, "%s", s->reps[s->claims[i].rep].id);
    unlock_store(s);
    return i == NONE ? LEADROUTE_ENOTFOUND : LEADROUTE_OK;
}

static int store_open_count(void *user_data, const char *rep_id, uint32_t *count)
{
    memory_store *s = user_data;
    size_t i;

    if (lock_store(s) != LEADROUTE_OK)
        return LEADROUTE_EIO;
    i = find_rep(s, rep_id);
    *count = i == NONE ? 0 : s->reps[i].open;
    unlock_store(s);
    return LEADROUTE_OK;
}

/*
 * The one write, all or nothing. The router decided on what it read before,
 * and another host may have written since; each check catches one way that
 * stale read would do harm:
 * 1. pool version: hosts A and B both read the same line of reps, cara
 *    first, both pick cara and both write her to its back: a lost update
 *    (cara gets two leads, dev loses his turn). The second commit fails
 *    instead; its router re-reads, picks dev.
 * 2. capacity: A and B both saw dev at 1 of 2 open leads and both give him
 *    one: 3 of 2. Counting again inside the transaction stops the second.
 * 3. the claim: a CRM webhook delivered twice reaches A and B at once, and
 *    the lead would go to two reps. The second sees the key held (EEXISTS
 *    with the holder) and reports "existing" with the winner. A tick's move
 *    of an overdue lead (LEADROUTE_COMMIT_FOLLOW_UP, commit version 2) also
 *    needs the key still held by `previous` and still due at the move's
 *    time: a lead closed, acknowledged or moved since the tick listed it
 *    stays as it is (EEXISTS, owner the holder, or "" when no one holds
 *    it). This store keeps no deadlines (it has no `list_due`, so the
 *    router never ticks it): none of its leads is due, and every such move
 *    is refused. A store that keeps them checks them here.
 * 4. then all the writes, with nothing left that can fail: a rotation
 *    advanced without its claim, or a claim without its open count, would
 *    skip a rep's turn or let the counts drift.
 */
static int store_commit(void *user_data, const leadroute_commit *c, char *owner, size_t owner_cap)
{
    memory_store *s = user_data;
    const leadroute_assignment *a = c->assignment;
    size_t pool, rep, claim, previous;
    int rc = LEADROUTE_OK, claim_account;
    /* `flags` exists only from version 2 on */
    int follow_up = c->version >= 2 && (c->flags & LEADROUTE_COMMIT_FOLLOW_UP) != 0;

    if (lock_store(s) != LEADROUTE_OK)
        return LEADROUTE_EIO;
    pool = c->pool_id != NULL ? find_pool(s, c->pool_id) : NONE;
    rep = find_rep(s, a->rep_id);
    claim = find_claim(s, a->key);
    if (s->fail_commits) {
        rc = LEADROUTE_EIO;
    } else if (c->pool_id != NULL && /* 1: a pool never written has version 0 */
               (pool == NONE ? 0 : s->pools[pool].version) != c->expected_version) {
        rc = LEADROUTE_ECONFLICT;
    } else if (c->capacity > 0 && rep != NONE && s->reps[rep].open >= c->capacity) { /* 2 */
        rc = LEADROUTE_ECONFLICT;
    } else if (claim != NONE && (a->previous == NULL || /* 3: free, or held by `previous` (reassigning) */
                                 strcmp(s->reps[s->claims[claim].rep].id, a->previous) != 0)) {
        if (owner_cap > 0)
            snprintf(owner, owner_cap, "%s", s->reps[s->claims[claim].rep].id);
        rc = LEADROUTE_EEXISTS;
    } else if (follow_up) { /* 3: a tick's move, and no lead here is ever due */
        if (owner_cap > 0)
            snprintf(owner, owner_cap, "%s", claim == NONE ? "" : s->reps[s->claims[claim].rep].id);
        rc = LEADROUTE_EEXISTS;
    }
    if (rc != LEADROUTE_OK) {
        s->conflicts += rc == LEADROUTE_ECONFLICT;
        unlock_store(s);
        return rc;
    }
    previous = claim == NONE ? NONE : s->claims[claim].rep;
    /* The first rep to get a lead of an account owns it; taken, it blocks nothing. */
    claim_account = c->account_key != NULL && find_claim(s, c->account_key) == NONE;

    /* Every check passed. Make sure every write fits before making any, so
     * that a full store is an error that leaves it exactly as it was. */
    if ((c->pool_id != NULL && (c->state_length > sizeof s->pools[0].state ||
                                strlen(c->pool_id) >= sizeof s->pools[0].id ||
                                (pool == NONE && s->pool_count == MAX_POOLS))) ||
        (rep == NONE && (strlen(a->rep_id) >= sizeof s->reps[0].id || s->rep_count == MAX_REPS)) ||
        strlen(a->key) >= sizeof s->claims[0].key ||
        (claim_account && strlen(c->account_key) >= sizeof s->claims[0].key) ||
        s->claim_count + (claim == NONE) + (size_t)claim_account > MAX_CLAIMS) {
        unlock_store(s);
        return LEADROUTE_ELIMIT;
    }

    /* 4: nothing below can fail. */
    if (c->pool_id != NULL) {
        if (pool == NONE) {
            pool = s->pool_count++;
            strcpy(s->pools[pool].id, c->pool_id);
        }
        if (c->state_length > 0)
            memcpy(s->pools[pool].state, c->state, c->state_length);
        s->pools[pool].length = c->state_length;
        s->pools[pool].version = c->expected_version + 1;
    }
    if (rep == NONE) {
        rep = s->rep_count++;
        strcpy(s->reps[rep].id, a->rep_id);
        s->reps[rep].open = 0;
    }
    if (claim == NONE) {
        claim = s->claim_count++;
        strcpy(s->claims[claim].key, a->key);
        s->claims[claim].is_account = 0;
    }
    s->claims[claim].rep = rep;
    s->reps[rep].open++;
    if (previous != NONE && s->reps[previous].open > 0)
        s->reps[previous].open--; /* the lead moved away from its old holder */
    if (claim_account) {
        strcpy(s->claims[s->claim_count].key, c->account_key);
        s->claims[s->claim_count].rep = rep;
        s->claims[s->claim_count].is_account = 1;
        s->claim_count++;
    }
    /* A store with `window` or `list_due` would also append the assignment
     * (time, deadline, value, hops) to a log here; this one has neither. */
    unlock_store(s);
    return LEADROUTE_OK;
}

/* The lead is done: its rep has room for one more. Account claims stay. */
static int store_close(void *user_data, const char *key)
{
    memory_store *s = user_data;
    size_t i;
    int rc = LEADROUTE_ENOTFOUND;

    if (lock_store(s) != LEADROUTE_OK)
        return LEADROUTE_EIO;
    i = find_claim(s, key);
    if (i != NONE && !s->claims[i].is_account) {
        if (s->reps[s->claims[i].rep].open > 0)
            s->reps[s->claims[i].rep].open--;
        s->claims[i] = s->claims[--s->claim_count];
        rc = LEADROUTE_OK;
    }
    unlock_store(s);
    return rc;
}

/* The optional methods are left NULL. Without `window` the router refuses
 * routes that reach a rep or pool with caps (cap_day, ...) or a
 * value-balanced pool; without
 * `acknowledge` and `list_due`, acknowledgements, ticks and due listings.
 * Each refusal is LEADROUTE_ENOTSUP. */
static const leadroute_store memory_store_methods = {
    LEADROUTE_STORE_VERSION, store_load_pool, store_find_claim, store_open_count, store_commit, store_close,
    NULL /* window */, NULL /* acknowledge */, NULL /* list_due */
};

/* ---- the host ------------------------------------------------------------ */

static const char table_csv[] =
    "rule,source,out:pool\n"
    "inbound,-,inbound\n";

/* Round robin by rep id; dev takes at most 2 open leads at once. */
static const char roster_csv[] =
    "#! pools\n"
    "id,strategy\n"
    "inbound,round_robin\n"
    "#! reps\n"
    "id,name,pools,capacity\n"
    "ana,Ana Costa,inbound,\n"
    "ben,Ben Ito,inbound,\n"
    "cara,Cara Diaz,inbound,\n"
    "dev,Dev Rao,inbound,2\n";

/* Rosters that need the `window` method this store lacks. */
static const char *const window_rosters[][2] = {
    {"a daily cap", "#! reps\nid,pools,cap_day\nana,inbound,50\n"},
    {"a value-balanced pool",
     "#! pools\nid,strategy\ninbound,value_balanced\n#! reps\nid,pools\nana,inbound\n"},
};

/* Leave main() with a message when a check fails. */
#define EXPECT(condition, ...)                                                                             \
    do {                                                                                                   \
        if (!(condition)) {                                                                                \
            complain(__VA_ARGS__);                                                                         \
            goto done;                                                                                     \
        }                                                                                                  \
    } while (0)

#if defined(__GNUC__)
#define PRINTF_LIKE(a, b) __attribute__((format(printf, a, b)))
#else
#define PRINTF_LIKE(a, b)
#endif

static void complain(const char *format, ...) PRINTF_LIKE(1, 2);

static void complain(const char *format, ...)
{
    va_list args;

    fputs("custom_storage: ", stderr);
    va_start(args, format);
    vfprintf(stderr, format, args);
    va_end(args);
    fputc('\n', stderr);
}

/* What a failed call must leave untouched: claims, open leads, pool versions. */
struct snapshot { size_t claims; uint32_t open; uint64_t versions; };

static struct snapshot take_snapshot(memory_store *s)
{
    struct snapshot snap = {0, 0, 0};

    (void)pthread_mutex_lock(&s->lock);
    snap.claims = s->claim_count;
    for (size_t i = 0; i < s->rep_count; i++)
        snap.open += s->reps[i].open;
    for (size_t i = 0; i < s->pool_count; i++)
        snap.versions += s->pools[i].version;
    (void)pthread_mutex_unlock(&s->lock);
    return snap;
}

static int same_snapshot(struct snapshot a, struct snapshot b)
{
    return a.claims == b.claims && a.open == b.open && a.versions == b.versions;
}

/* Commit straight into the store, as the router would: `key` to `rep`. */
static int commit_to(memory_store *s, const char *key, const char *rep, const char *previous, uint32_t capacity,
                     const char *account_key, char *owner, size_t owner_cap)
{
    leadroute_assignment a;
    leadroute_commit c;

    memset(&a, 0, sizeof a);
    a.version = LEADROUTE_ASSIGNMENT_VERSION;
    a.key = key;
    a.rep_id = rep;
    a.previous = previous;
    memset(&c, 0, sizeof c);
    c.version = LEADROUTE_COMMIT_VERSION;
    c.assignment = &a;
    c.capacity = capacity;
    c.account_key = account_key;
    return store_commit(s, &c, owner, owner_cap);
}

/* Route a lead that has only an id (its dedupe key) and a source. */
static int route_lead(leadroute_router *router, const char *id, uint32_t flags, leadroute_decision *d)
{
    leadroute_field field = {"source", LEADROUTE_VALUE_INIT};
    leadroute_lead lead = LEADROUTE_LEAD_INIT;

    field.value.type = LEADROUTE_VALUE_STRING;
    field.value.string = "web";
    lead.id = id;
    lead.fields = &field;
    lead.field_count = 1;
    return leadroute_route(router, &lead, flags, d);
}

static const char *status_of(const leadroute_decision *d)
{
    return leadroute_route_status_name(leadroute_decision_status(d));
}

static const char *rep_of(const leadroute_decision *d)
{
    return leadroute_decision_rep(d) != NULL ? leadroute_decision_rep(d) : "-";
}

/* One host, on its own thread, routing the same keys as the other. */
#define HOST_LEADS 16
struct host_run {
    leadroute_router *router;
    int rc;
    uint32_t status[HOST_LEADS];
    char rep[HOST_LEADS][64];
};

static void *host_main(void *arg)
{
    struct host_run *run = arg;
    leadroute_decision *d = NULL;
    char key[16];

    run->rc = leadroute_decision_new(&d, NULL);
    for (int i = 0; i < HOST_LEADS && run->rc == LEADROUTE_OK; i++) {
        snprintf(key, sizeof key, "H-%02d", i + 1);
        run->rc = route_lead(run->router, key, 0, d);
        run->status[i] = leadroute_decision_status(d);
        snprintf(run->rep[i], sizeof run->rep[i], "%s", rep_of(d));
    }
    leadroute_decision_free(d);
    return NULL;
}

int main(void)
{
    /* Round robin by id, except L-12: dev is next but holds 2 of 2 open leads. */
    static const char *const expected[] = {"ana", "ben", "cara", "dev", "ana", "ben",
                                           "cara", "dev", "ana", "ben", "cara", "ana"};
    static const char *const rep_ids[] = {"ana", "ben", "cara", "dev"};
    static memory_store store; /* zeroed; large for a stack */
    static char big_state[sizeof store.pools[0].state + 1]; /* one byte more than a pool state holds */
    leadroute_table *table = NULL;
    leadroute_roster *roster = NULL, *other = NULL;
    leadroute_router *host_a = NULL, *host_b = NULL;
    leadroute_decision *d = NULL;
    struct host_run runs[2] = {{NULL, 0, {0}, {{0}}}, {NULL, 0, {0}, {{0}}}};
    struct snapshot before;
    leadroute_assignment moved;
    leadroute_commit move;
    pthread_t threads[2];
    char id[16], holder[64] = "", predicted[64], state[64];
    const char *rep, *detail, *dev_detail = NULL;
    size_t length = 0;
    uint64_t version = 0;
    uint32_t open = 0, verdict, dev_verdict = 0;
    int status = 1, rc, started = 0, wins[2] = {0, 0};

    if (pthread_mutex_init(&store.lock, NULL) != 0) {
        complain("cannot create the store's mutex");
        return 1;
    }
    EXPECT(leadroute_table_parse(&table, table_csv, strlen(table_csv), "table.csv", NULL) == LEADROUTE_OK &&
               leadroute_roster_parse(&roster, roster_csv, strlen(roster_csv), "roster.csv", NULL) ==
                   LEADROUTE_OK &&
               leadroute_router_new(&host_a, table, roster, NULL) == LEADROUTE_OK &&
               leadroute_router_new(&host_b, table, roster, NULL) == LEADROUTE_OK &&
               leadroute_decision_new(&d, NULL) == LEADROUTE_OK,
           "setting up failed: %s", leadroute_error_last()->message);
    /* Both routers use this one store, as two hosts share one database. */
    EXPECT(leadroute_router_set_store(host_a, &memory_store_methods, &store) == LEADROUTE_OK &&
               leadroute_router_set_store(host_b, &memory_store_methods, &store) == LEADROUTE_OK,
           "leadroute_router_set_store failed: %s", leadroute_error_last()->message);

    /* A dozen leads through host A; L-12 traced, to see every candidate. */
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        snprintf(id, sizeof id, "L-%02zu", i + 1);
        rc = route_lead(host_a, id, i == 11 ? LEADROUTE_ROUTE_TRACE : 0, d);
        printf("%-5s %-9s %-5s %s\n", id, status_of(d), rep_of(d), leadroute_decision_reason(d));
        EXPECT(rc == LEADROUTE_OK && strcmp(rep_of(d), expected[i]) == 0, "%s should go to %s", id,
               expected[i]);
    }
    for (size_t i = 0; i < leadroute_decision_candidate_count(d); i++) {
        if (leadroute_decision_candidate(d, i, &rep, NULL, &verdict, &detail) == LEADROUTE_OK &&
            rep != NULL && strcmp(rep, "dev") == 0) {
            dev_verdict = verdict;
            dev_detail = detail;
        }
    }
    EXPECT(dev_verdict == LEADROUTE_VERDICT_AT_CAPACITY, "L-12 should skip dev at capacity");
    printf("L-12: dev skipped, at capacity: %s\n", dev_detail != NULL ? dev_detail : "-");

    /* The store agrees: each rep holds its share of the rotation, and the
     * pool state names the last rep served, one version per commit. Read
     * the state as the router does: its length first, then the text, into
     * a buffer of just that length. */
    for (size_t r = 0; r < 4; r++) {
        uint32_t want = 0;

        for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
            want += strcmp(expected[i], rep_ids[r]) == 0;
        EXPECT(store_open_count(&store, rep_ids[r], &open) == LEADROUTE_OK && open == want,
               "the store counts %u open leads for %s, not %u", open, rep_ids[r], want);
    }
    EXPECT(store_load_pool(&store, "inbound", NULL, 0, &length, &version) == LEADROUTE_OK &&
               length < sizeof state &&
               store_load_pool(&store, "inbound", state, length, &length, &version) == LEADROUTE_OK &&
               version == 12,
           "the pool state should be short and at version 12, not %llu", (unsigned long long)version);
    state[length] = '\0';
    /* the line of reps, next in turn first: dev, skipped at capacity, keeps
     * his place at its front; ana, served last, is at its back */
    EXPECT(strcmp(state, "rr2\ndev\nben\ncara\nana") == 0,
           "the pool state should be the line dev, ben, cara, ana, not \"%s\"", state);
    printf("round robin: ok, pool state version %llu, the line dev, ben, cara, ana\n", (unsigned long long)version);

    /* The same lead again: the claim holds, the rep keeps it. */
    rc = route_lead(host_a, "L-03", 0, d);
    printf("L-03 again: %s with %s\n", status_of(d), rep_of(d));
    EXPECT(rc == LEADROUTE_OK && leadroute_decision_status(d) == LEADROUTE_ROUTE_EXISTING &&
               strcmp(rep_of(d), "cara") == 0,
           "L-03 should stay with cara");

    /* Closing L-04 gives dev room for one more; a second close finds nothing. */
    EXPECT(leadroute_router_close(host_a, "L-04") == LEADROUTE_OK &&
               leadroute_router_close(host_a, "L-04") == LEADROUTE_ENOTFOUND &&
               store_open_count(&store, "dev", &open) == LEADROUTE_OK && open == 1,
           "closing L-04 should leave dev with 1 open lead");
    printf("closed L-04: dev has %u open lead\n", open);

    /* A commit that fails: a dry run says who would get L-13; with the
     * database "down" the lead is unrouted and the store unchanged; once it
     * is back, L-13 goes where it would have gone. */
    EXPECT(route_lead(host_a, "L-13", LEADROUTE_ROUTE_DRY_RUN, d) == LEADROUTE_OK &&
               leadroute_decision_rep(d) != NULL,
           "dry run of L-13 failed: %s", leadroute_error_last()->message);
    snprintf(predicted, sizeof predicted, "%s", rep_of(d));
    before = take_snapshot(&store);
    store.fail_commits = 1; /* no other thread runs now: no lock needed */
    rc = route_lead(host_a, "L-13", 0, d);
    store.fail_commits = 0;
    printf("L-13 with the store down: %s, %s: %s\n", status_of(d), leadroute_strerror(rc),
           leadroute_error_last()->message);
    EXPECT(rc == LEADROUTE_ECALLBACK && leadroute_decision_status(d) == LEADROUTE_ROUTE_UNROUTED &&
               same_snapshot(before, take_snapshot(&store)) &&
               store_find_claim(&store, "lead:L-13", holder, sizeof holder) == LEADROUTE_ENOTFOUND,
           "a failed commit should leave L-13 unrouted and the store unchanged");
    rc = route_lead(host_a, "L-13", 0, d);
    printf("L-13 with the store back: %s to %s (the dry run said %s)\n", status_of(d), rep_of(d), predicted);
    EXPECT(rc == LEADROUTE_OK && leadroute_decision_status(d) == LEADROUTE_ROUTE_ASSIGNED &&
               strcmp(rep_of(d), predicted) == 0,
           "L-13 should go to %s once the store is back", predicted);

    /* Two hosts route the same 16 leads at once. Each pool read takes as
     * long as a trip to a database, so their decisions overlap and the
     * commit's checks have work to do. */
    before = take_snapshot(&store);
    store.read_delay_ns = 200000; /* 0.2 ms, set before the threads start */
    runs[0].router = host_a;
    runs[1].router = host_b;
    for (; started < 2; started++)
        if (pthread_create(&threads[started], NULL, host_main, &runs[started]) != 0)
            break;
    for (int t = 0; t < started; t++)
        (void)pthread_join(threads[t], NULL);
    store.read_delay_ns = 0;
    EXPECT(started == 2 && runs[0].rc == LEADROUTE_OK && runs[1].rc == LEADROUTE_OK, "a host failed: %s / %s",
           leadroute_strerror(runs[0].rc), leadroute_strerror(runs[1].rc));
    for (int i = 0; i < HOST_LEADS; i++) {
        int b_won = runs[1].status[i] == LEADROUTE_ROUTE_ASSIGNED;
        char key[16];

        /* One host assigned it, the other found it taken, and the store agrees. */
        snprintf(key, sizeof key, "lead:H-%02d", i + 1);
        EXPECT(runs[b_won].status[i] == LEADROUTE_ROUTE_ASSIGNED &&
                   runs[!b_won].status[i] == LEADROUTE_ROUTE_EXISTING &&
                   strcmp(runs[0].rep[i], runs[1].rep[i]) == 0 &&
                   store_find_claim(&store, key, holder, sizeof holder) == LEADROUTE_OK &&
                   strcmp(holder, runs[0].rep[i]) == 0,
               "H-%02d: host A says %s %s, host B %s %s, the store %s", i + 1,
               leadroute_route_status_name(runs[0].status[i]), runs[0].rep[i],
               leadroute_route_status_name(runs[1].status[i]), runs[1].rep[i], holder);
        wins[b_won]++;
    }
    EXPECT(take_snapshot(&store).open == before.open + HOST_LEADS &&
               store_open_count(&store, "dev", &open) == LEADROUTE_OK && open <= 2,
           "after the race: %u open leads, not %u, or dev over capacity (%u of 2)",
           take_snapshot(&store).open, before.open + HOST_LEADS, open);
    printf("two hosts: %d leads routed by both, each assigned once (A won %d, B won %d; %u commits "
           "retried)\n", HOST_LEADS, wins[0], wins[1], store.conflicts);

    /* What the router refuses from a store without the optional methods. */
    rc = leadroute_router_acknowledge(host_a, "L-01");
    printf("acknowledge without the method: %s\n", leadroute_strerror(rc));
    EXPECT(rc == LEADROUTE_ENOTSUP, "acknowledge should be refused");
    rc = leadroute_router_tick(host_a, 0, NULL, NULL, NULL);
    printf("tick without list_due: %s\n", leadroute_strerror(rc));
    EXPECT(rc == LEADROUTE_ENOTSUP, "tick should be refused");
    for (size_t i = 0; i < sizeof window_rosters / sizeof window_rosters[0]; i++) {
        const char *what = window_rosters[i][0], *text = window_rosters[i][1];

        EXPECT(leadroute_roster_parse(&other, text, strlen(text), "window.csv", NULL) == LEADROUTE_OK &&
                   leadroute_router_set_roster(host_b, other) == LEADROUTE_OK,
               "loading the roster with %s failed: %s", what, leadroute_error_last()->message);
        leadroute_roster_unref(other);
        other = NULL;
        before = take_snapshot(&store);
        rc = route_lead(host_b, "W-01", 0, d);
        printf("a roster with %s, without window: %s, %s\n", what, status_of(d), leadroute_strerror(rc));
        EXPECT(rc == LEADROUTE_ENOTSUP && same_snapshot(before, take_snapshot(&store)),
               "a roster with %s should be refused, with no change", what);
    }

    /* A tick's move, as leadroute_router_tick() commits it with a store that
     * has list_due: L-04 came due with dev, but dev closed it before the move
     * landed. The move is refused (owner "": no one holds it) and changes
     * nothing. L-01, still with ana, is refused too (owner "ana"): this store
     * keeps no deadlines, so none of its leads is ever due. */
    memset(&moved, 0, sizeof moved);
    moved.version = LEADROUTE_ASSIGNMENT_VERSION;
    moved.key = "lead:L-04";
    moved.rep_id = "ana";
    moved.previous = "dev";
    moved.hops = 1;
    memset(&move, 0, sizeof move);
    move.version = LEADROUTE_COMMIT_VERSION;
    move.assignment = &moved;
    move.flags = LEADROUTE_COMMIT_FOLLOW_UP;
    before = take_snapshot(&store);
    snprintf(holder, sizeof holder, "%s", "untouched");
    rc = store_commit(&store, &move, holder, sizeof holder);
    printf("a tick's move of L-04, closed since it came due: %s, owner \"%s\"\n", leadroute_strerror(rc),
           holder);
    EXPECT(rc == LEADROUTE_EEXISTS && holder[0] == '\0' && same_snapshot(before, take_snapshot(&store)) &&
               store_find_claim(&store, "lead:L-04", holder, sizeof holder) == LEADROUTE_ENOTFOUND,
           "moving the closed L-04 should be refused with no holder and no change");
    moved.key = "lead:L-01";
    moved.rep_id = "ben";
    moved.previous = "ana";
    rc = store_commit(&store, &move, holder, sizeof holder);
    printf("a tick's move of L-01, still with ana but not due: %s, owner \"%s\"\n", leadroute_strerror(rc), holder);
    EXPECT(rc == LEADROUTE_EEXISTS && strcmp(holder, "ana") == 0 && same_snapshot(before, take_snapshot(&store)) &&
               store_find_claim(&store, "lead:L-01", holder, sizeof holder) == LEADROUTE_OK &&
               strcmp(holder, "ana") == 0,
           "moving L-01, which is not due, should be refused naming ana, with no change");
    /* nor does a move that names no holder take a free key */
    moved.key = "lead:L-99";
    moved.previous = NULL;
    snprintf(holder, sizeof holder, "%s", "untouched");
    rc = store_commit(&store, &move, holder, sizeof holder);
    EXPECT(rc == LEADROUTE_EEXISTS && holder[0] == '\0' && same_snapshot(before, take_snapshot(&store)),
           "a move of the free L-99 naming no holder should be refused with no holder and no change");

    /* The commit's other checks. eve is new to the store (0 open leads) and
     * takes 1 at most: C-1 and the account acme.example are hers, C-2 is
     * refused (ECONFLICT, no change). */
    EXPECT(store_open_count(&store, "eve", &open) == LEADROUTE_OK && open == 0 &&
               commit_to(&store, "lead:C-1", "eve", NULL, 1, "account:acme.example", holder, sizeof holder) ==
                   LEADROUTE_OK,
           "eve, unknown to the store, should have 0 open leads and get C-1");
    before = take_snapshot(&store);
    rc = commit_to(&store, "lead:C-2", "eve", NULL, 1, NULL, holder, sizeof holder);
    printf("C-2 to eve, at 1 of 1 open lead: %s\n", leadroute_strerror(rc));
    EXPECT(rc == LEADROUTE_ECONFLICT && same_snapshot(before, take_snapshot(&store)),
           "eve is at capacity: C-2 should be refused with no change");
    /* A reassignment from a rep who no longer holds the lead names the holder. */
    rc = commit_to(&store, "lead:C-1", "fay", "dev", 0, NULL, holder, sizeof holder);
    printf("C-1 from dev to fay, but eve holds it: %s, owner \"%s\"\n", leadroute_strerror(rc), holder);
    EXPECT(rc == LEADROUTE_EEXISTS && strcmp(holder, "eve") == 0 && same_snapshot(before, take_snapshot(&store)),
           "moving C-1 from dev should be refused, naming eve, with no change");
    /* The account stays with its first rep: fay's lead of it commits, and
     * closing the account claim finds no lead. */
    EXPECT(commit_to(&store, "lead:C-2", "fay", NULL, 0, "account:acme.example", holder, sizeof holder) ==
                   LEADROUTE_OK &&
               store_find_claim(&store, "account:acme.example", holder, sizeof holder) == LEADROUTE_OK &&
               strcmp(holder, "eve") == 0 && store_close(&store, "account:acme.example") == LEADROUTE_ENOTFOUND,
           "the account acme.example should stay with eve, and not close");
    /* eve hands C-1 to fay; fay closes both: their counts go back to 0. */
    EXPECT(commit_to(&store, "lead:C-1", "fay", "eve", 0, NULL, holder, sizeof holder) == LEADROUTE_OK &&
               store_open_count(&store, "eve", &open) == LEADROUTE_OK && open == 0 &&
               store_close(&store, "lead:C-1") == LEADROUTE_OK && store_close(&store, "lead:C-2") == LEADROUTE_OK &&
               store_open_count(&store, "fay", &open) == LEADROUTE_OK && open == 0,
           "after C-1 moved to fay and both closed, eve and fay should have 0 open leads");
    printf("capacity, holder, account and counts: ok\n");

    /* A full store: the commit that does not fit is refused whole, and the
     * last one that does is stored. A state just too long: */
    memset(&moved, 0, sizeof moved);
    moved.version = LEADROUTE_ASSIGNMENT_VERSION;
    moved.key = "lead:C-3";
    moved.rep_id = "eve";
    memset(&move, 0, sizeof move);
    move.version = LEADROUTE_COMMIT_VERSION;
    move.assignment = &moved;
    move.pool_id = "big";
    move.state = big_state;
    move.state_length = sizeof big_state;
    before = take_snapshot(&store);
    EXPECT(store_commit(&store, &move, holder, sizeof holder) == LEADROUTE_ELIMIT &&
               same_snapshot(before, take_snapshot(&store)) &&
               store_find_claim(&store, "lead:C-3", holder, sizeof holder) == LEADROUTE_ENOTFOUND,
           "a state too long for the store should be refused with no change");
    move.state_length = sizeof big_state - 1;
    EXPECT(store_commit(&store, &move, holder, sizeof holder) == LEADROUTE_OK &&
               store_load_pool(&store, "big", NULL, 0, &length, &version) == LEADROUTE_OK &&
               length == sizeof big_state - 1 && version == 1 && store_close(&store, "lead:C-3") == LEADROUTE_OK,
           "a state that just fits should be stored, and C-3 then closes");
    /* Check 1 above, which the race cannot reach (both hosts route the same
     * leads, and the claim stops the second): a commit decided on version 0
     * of "big", now at version 1, is refused and changes nothing. */
    moved.key = "lead:C-4";
    before = take_snapshot(&store);
    rc = store_commit(&store, &move, holder, sizeof holder);
    printf("C-4 on a stale read of pool big: %s\n", leadroute_strerror(rc));
    EXPECT(rc == LEADROUTE_ECONFLICT && same_snapshot(before, take_snapshot(&store)),
           "a commit on a stale pool version should be refused with no change");
    /* Claims until the store is full: */
    for (int i = 0; rc != LEADROUTE_ELIMIT && i < 2 * MAX_CLAIMS; i++) {
        snprintf(id, sizeof id, "lead:F-%03d", i);
        rc = commit_to(&store, id, "eve", NULL, 0, NULL, holder, sizeof holder);
        EXPECT(rc == LEADROUTE_OK || rc == LEADROUTE_ELIMIT, "filling the store: %s", leadroute_strerror(rc));
    }
    EXPECT(rc == LEADROUTE_ELIMIT && store.claim_count == MAX_CLAIMS, "the store should hold %d claims, not %zu",
           MAX_CLAIMS, store.claim_count);
    printf("a full store: refused, nothing lost\n");
    puts("custom store: all checks passed");
    status = 0;

done:
    leadroute_roster_unref(other);
    leadroute_decision_free(d);
    leadroute_router_free(host_b);
    leadroute_router_free(host_a);
    leadroute_roster_unref(roster);
    leadroute_table_unref(table);
    (void)pthread_mutex_destroy(&store.lock);
    return status;
}
