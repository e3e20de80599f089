/*
 * pg_store_demo: routing state that lives in a PostgreSQL database.
 *
 * A router normally keeps rotation pointers, claims and deadlines in
 * memory; with pg_store (pg_store.h) they live in PostgreSQL, so a second
 * run, another process or a scheduler that ticks deadlines carries on
 * where the first left off. The self-check:
 *
 *   run 1   routes four leads inside one batch (one transaction);
 *   run 2   opens the store again with a new router: the rotation goes on
 *           with the next rep, a lead routed before stays with its rep, a
 *           rep at capacity is skipped; one lead is acknowledged, a tick
 *           past the deadline moves the other hot lead to another rep;
 *   then    checks the assignment windows, lists the events recorded for
 *           a lead, rolls a batch back (nothing of it stays), shows two
 *           handles on one database (each sees the other's commits, a
 *           commit based on a stale pool state conflicts), and commits
 *           straight to the store: a conflict inside a batch, an account
 *           claim, a pool state larger than the buffer;
 *   last    what is PostgreSQL's own: each method costs the round trips
 *           pg_store.h promises (a batch answers from what it read, queues
 *           its commits and sends them in one statement; a stale pool state
 *           outside a batch costs one conflict), and a cut connection makes
 *           the call fail with EIO, the next one reconnects; a batch cut
 *           short leaves nothing.
 *
 * The shared checks are store_check.c's (sqlite_store_demo runs them too);
 * this file wires them to pg_store and adds its own. It works in a schema
 * of its own (lr_demo_<pid>; names starting with pg_ are the server's),
 * dropped at the end, and exits non-zero on any surprise.
 *
 * Usage: pg_store_demo [CONNINFO]     (default: $LEADROUTE_PG; neither: skip,
 *                                      exit 77)
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* getpid */
#endif
#include "pg_store.h"
#include "store_check.h"

#include <leadroute/leadroute.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

/* Where the demo's store lives: the server and the schema. */
typedef struct demo_target {
    const char *conninfo;
    const char *schema;
} demo_target;

/* store_check's view of pg_store: the same calls, with untyped handles. */
static int check_open(void *user, void **store, char *err, size_t err_cap)
{
    const demo_target *t = user;
    pg_store *s = NULL;
    int rc = pg_store_open_schema(&s, t->conninfo, t->schema, err, err_cap);
    *store = s;
    return rc;
}

static void check_close(void *store)
{
    pg_store_close(store);
}

static int check_begin(void *store)
{
    return pg_store_begin(store);
}

static int check_commit(void *store)
{
    return pg_store_commit(store);
}

static int check_rollback(void *store)
{
    return pg_store_rollback(store);
}

static const char *check_errmsg(const void *store)
{
    return pg_store_errmsg(store);
}

static int check_get(void *store, const char *key, leadroute_assignment *out)
{
    return pg_store_get(store, key, out);
}

static int check_record(void *store, const store_check_event *e)
{
    pg_store_event event = { e->at_ms, e->kind, e->key, e->lead_id, e->detail };
    return pg_store_record(store, &event);
}

/* pg_store_events hands out its own event type: pass each one on as store_check's. */
typedef struct event_relay {
    int (*each)(void *ctx, const store_check_event *event);
    void *ctx;
} event_relay;

static int relay_event(void *ctx, const pg_store_event *e)
{
    const event_relay *relay = ctx;
    store_check_event event = { e->at_ms, e->kind, e->key, e->lead_id, e->detail };
    return relay->each(relay->ctx, &event);
}

static int check_events(void *store, const char *lead, int (*each)(void *ctx, const store_check_event *event),
                        void *ctx, size_t *count)
{
    event_relay relay = { each, ctx };
    return pg_store_events(store, lead, relay_event, &relay, count);
}

/* A plain libpq connection beside the store's, for what a store does not
 * do: end another connection, drop the demo's schema. */
static int admin_exec(const char *conninfo, const char *sql, const char *want)
{
    const char *keys[] = { "dbname", NULL };
    const char *values[] = { conninfo, NULL };
    PGconn *c = PQconnectdbParams(keys, values, 1);
    PGresult *r = c && PQstatus(c) == CONNECTION_OK ? PQexec(c, sql) : NULL;
    ExecStatusType st = PQresultStatus(r);
    int ok = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) &&
             (!want || (PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), want) == 0));
    if (!ok)
        fprintf(stderr, "pg_store_demo: %s: %s", sql,
                r ? PQresultErrorMessage(r) : c ? PQerrorMessage(c) : "out of memory\n");
    PQclear(r);
    PQfinish(c);
    return ok ? 0 : 1;
}

/* End the server process of the store's connection, as a server restart or
 * a network failure would, and wait until it is gone. */
static int cut_connection(const char *conninfo, pg_store *store)
{
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d, 10000)", pg_store_backend_pid(store));
    return admin_exec(conninfo, sql, "t");
}

/* Each method costs the round trips pg_store.h documents. Pool "direct" and
 * reps yan and zed are store_check's, outside the roster. */
static int check_round_trips(store_check *check, const demo_target *target)
{
    const leadroute_store *m = &pg_store_methods;
    pg_store *store = NULL, *other = NULL;
    leadroute_assignment a;
    char err[512], buf[64];
    size_t length = 0;
    uint64_t version = 0, count = 0, before;
    uint32_t open = 0;
    double value = 0;
    int status = 1, rc;
    const char *const keys[] = { "lead:L-22", "lead:L-23", "lead:L-1" };

    if (pg_store_round_trips(NULL) != 0)
        return store_check_failed(check, "pg_store_round_trips(NULL) should be 0");
    if ((rc = pg_store_open_schema(&store, target->conninfo, target->schema, err, sizeof err)) != LEADROUTE_OK ||
        (rc = pg_store_open_schema(&other, target->conninfo, target->schema, err, sizeof err)) != LEADROUTE_OK) {
        store_check_failed(check, "%s (%s)", err, leadroute_strerror(rc));
        goto done;
    }
    store_check_first_assignment(&a, "lead:L-22", "yan", store_check_now(check), 0);
    a.pool_id = "direct";
    leadroute_commit cm = { LEADROUTE_COMMIT_VERSION, &a, "direct", 0, "s3", 2, 0, NULL, 0 };
    pg_store_event e = { store_check_now(check), "noted", "lead:L-23", "L-23", NULL };

    /* what each step should cost, checked after it */
#define COSTS(step, want, trips)                                                                               \
    before = pg_store_round_trips(store);                                                                     \
    if ((rc = (step)) != (want) || pg_store_round_trips(store) - before != (trips)) {                        \
        store_check_failed(check, "%s: %s, %llu round trips, expected %d", #step, leadroute_strerror(rc),        \
                           (unsigned long long)(pg_store_round_trips(store) - before), (trips));               \
        goto done;                                                                                            \
    }
    /* outside a batch: one each; a pool state read once is kept */
    COSTS(m->load_pool(store, "direct", buf, sizeof buf, &length, &version), LEADROUTE_OK, 1)
    COSTS(m->load_pool(store, "direct", buf, sizeof buf, &length, &version), LEADROUTE_OK, 0)
    COSTS(m->find_claim(store, "account:acme.example", buf, sizeof buf), LEADROUTE_OK, 1)
    COSTS(m->open_count(store, "yan", &open), LEADROUTE_OK, 1)
    COSTS(m->window(store, "yan", NULL, 0, &count, &value), LEADROUTE_OK, 1)
    printf("round trips: 1 per method outside a batch, none for a pool state the handle keeps\n");

    /* a batch: the lock, the holders of its keys, each pool once; commits queued */
    COSTS(pg_store_begin(store), LEADROUTE_OK, 1)
    COSTS(pg_store_prefetch_claims(store, keys, 3), LEADROUTE_OK, 1)
    COSTS(pg_store_prefetch_claims(store, keys, 3), LEADROUTE_OK, 0)
    COSTS(m->find_claim(store, "lead:L-22", buf, sizeof buf), LEADROUTE_ENOTFOUND, 0)
    COSTS(m->find_claim(store, "lead:L-1", buf, sizeof buf), LEADROUTE_OK, 0)
    COSTS(m->load_pool(store, "direct", buf, sizeof buf, &length, &version), LEADROUTE_OK, 1)
    COSTS(m->open_count(store, "yan", &open), LEADROUTE_OK, 1)
    cm.expected_version = version;
    COSTS(m->commit(store, &cm, buf, sizeof buf), LEADROUTE_OK, 0)
    COSTS(m->commit(store, &cm, buf, sizeof buf), LEADROUTE_ECONFLICT, 0) /* the batch knows the version moved */
    COSTS(m->load_pool(store, "direct", buf, sizeof buf, &length, &version), LEADROUTE_OK, 0)
    COSTS(m->open_count(store, "yan", &open), LEADROUTE_OK, 0)
    if (version != cm.expected_version + 1 || open != 1) {
        store_check_failed(check, "inside the batch: pool direct at %llu and yan with %u open, expected %llu and 1",
                           (unsigned long long)version, (unsigned)open,
                           (unsigned long long)cm.expected_version + 1);
        goto done;
    }
    COSTS(m->find_claim(store, "lead:L-22", buf, sizeof buf), LEADROUTE_OK, 0)
    a.key = "lead:L-23";
    a.lead_id = "L-23";
    cm.expected_version = version;
    COSTS(m->commit(store, &cm, buf, sizeof buf), LEADROUTE_OK, 0)
    COSTS(pg_store_record(store, &e), LEADROUTE_OK, 0)
    COSTS(m->close(store, "lead:L-22"), LEADROUTE_OK, 2) /* the queued commits first, then the close */
    COSTS(m->find_claim(store, "lead:L-22", buf, sizeof buf), LEADROUTE_ENOTFOUND, 0)
    COSTS(m->open_count(store, "yan", &open), LEADROUTE_OK, 0)
    if (open != 1) {
        store_check_failed(check, "after the close yan should have 1 open lead, has %u", (unsigned)open);
        goto done;
    }
    a.key = "lead:L-24";
    a.lead_id = "L-24";
    cm.expected_version = version + 1;
    COSTS(m->commit(store, &cm, buf, sizeof buf), LEADROUTE_OK, 1) /* L-24 not prefetched: its holder is read */
    COSTS(pg_store_commit(store), LEADROUTE_OK, 2)                   /* the queue, then COMMIT */
    uint64_t committed = cm.expected_version + 1;
    COSTS(m->load_pool(store, "direct", buf, sizeof buf, &length, &version), LEADROUTE_OK, 0)
    if (version != committed) {
        store_check_failed(check, "after the batch the handle should keep pool direct at version %llu, not %llu",
                           (unsigned long long)committed, (unsigned long long)version);
        goto done;
    }
    size_t events = 0;
    if (store_check_event_count(check, store, "L-23", &events) != 0 || events != 1 ||
        m->find_claim(store, "lead:L-24", buf, sizeof buf) != LEADROUTE_OK || strcmp(buf, "yan") != 0) {
        store_check_failed(check, "the batch's event of L-23 or its claim of L-24 is missing");
        goto done;
    }
    printf("round trips: a batch of 3 commits, a close and an event: %d\n", 1 + 1 + 1 + 1 + 2 + 1 + 2);

    /* after the batch the handle keeps its pool state; another handle moves it on: the stale commit
     * conflicts, and brings the current state with it */
    COSTS(m->load_pool(store, "direct", buf, sizeof buf, &length, &version), LEADROUTE_OK, 0)
    uint64_t kept = version;
    a.key = "lead:L-25";
    a.lead_id = "L-25";
    cm.expected_version = kept;
    if ((rc = m->commit(other, &cm, buf, sizeof buf)) != LEADROUTE_OK) {
        store_check_store_failed(check, "a commit of the other handle", rc, other);
        goto done;
    }
    a.key = "lead:L-26";
    a.lead_id = "L-26";
    COSTS(m->commit(store, &cm, buf, sizeof buf), LEADROUTE_ECONFLICT, 1)
    COSTS(m->load_pool(store, "direct", buf, sizeof buf, &length, &version), LEADROUTE_OK, 0)
    cm.expected_version = version;
    COSTS(m->commit(store, &cm, buf, sizeof buf), LEADROUTE_OK, 1)
    if (version != kept + 1) {
        store_check_failed(check, "the conflict should have brought version %llu, got %llu",
                           (unsigned long long)kept + 1, (unsigned long long)version);
        goto done;
    }
    /* the other handle moves it on again: the lookup of a key that usually comes first brings the new state */
    a.key = "lead:L-27";
    a.lead_id = "L-27";
    cm.expected_version = version + 1;
    if ((rc = m->commit(other, &cm, buf, sizeof buf)) != LEADROUTE_OK) {
        store_check_store_failed(check, "a commit of the other handle", rc, other);
        goto done;
    }
    COSTS(m->find_claim(store, "lead:L-27", buf, sizeof buf), LEADROUTE_OK, 1)
    COSTS(m->load_pool(store, "direct", buf, sizeof buf, &length, &version), LEADROUTE_OK, 0)
    if (version != cm.expected_version + 1) {
        store_check_failed(check, "find_claim should have brought pool direct's version %llu, got %llu",
                           (unsigned long long)cm.expected_version + 1, (unsigned long long)version);
        goto done;
    }
    printf("round trips: a stale pool state costs one conflict, whose answer brings the current one; a lookup "
           "brings it too\n");
    /* L-1 was acknowledged in run 2: the first time stays */
    COSTS(m->acknowledge(store, "lead:L-1", store_check_now(check), NULL, NULL, 0, NULL, 0), LEADROUTE_EEXISTS, 1)
    const char *const closed[] = { "lead:L-23", "lead:L-24", "lead:L-25", "lead:L-26", "lead:L-27" };
    for (size_t i = 0; i < sizeof closed / sizeof closed[0]; i++)
        if ((rc = m->close(store, closed[i])) != LEADROUTE_OK) {
            store_check_store_failed(check, "close", rc, store);
            goto done;
        }
#undef COSTS
    printf("round trips: %llu in all\n", (unsigned long long)pg_store_round_trips(store));
    status = 0;
done:
    pg_store_close(other);
    pg_store_close(store);
    return status;
}

/* A lost connection: the call fails with EIO and a message, the next one
 * reconnects; a batch cut short leaves nothing behind. */
static int check_reconnect(store_check *check, const demo_target *target)
{
    store_check_run r;
    leadroute_assignment a;
    char holder[64];
    uint64_t before = 0, after = 0;
    size_t events = 0;
    int status = 1, rc;

    if (store_check_run_open(check, &r) != 0)
        goto done;
    pg_store *store = r.store;
    int first_pid = pg_store_backend_pid(store);
    if (cut_connection(target->conninfo, store) != 0)
        goto done;
    rc = pg_store_methods.find_claim(store, "lead:L-1", holder, sizeof holder);
    if (rc != LEADROUTE_EIO || !*pg_store_errmsg(store)) {
        store_check_failed(check, "a call on a lost connection should fail with EIO and say why, got %s",
                           leadroute_strerror(rc));
        goto done;
    }
    printf("reconnect: connection cut -> %s (%.60s...)\n", leadroute_strerror(rc), pg_store_errmsg(store));
    rc = pg_store_methods.find_claim(store, "lead:L-1", holder, sizeof holder);
    if (rc != LEADROUTE_OK || strcmp(holder, "ana") != 0 || pg_store_backend_pid(store) == first_pid) {
        store_check_failed(check, "the call after a lost connection should reconnect and find L-1 with ana: %s",
                           pg_store_errmsg(store));
        goto done;
    }
    printf("reconnect: next call reconnected, L-1 still with %s\n", holder);

    /* a batch whose connection is cut before COMMIT: all of it is gone */
    if (store_check_pool_version(check, store, "sales", &before) != 0)
        goto done;
    if ((rc = pg_store_begin(store)) != LEADROUTE_OK) {
        store_check_store_failed(check, "pg_store_begin", rc, store);
        goto done;
    }
    if (store_check_expect_assigned(&r, "L-10", "hot", 10000, 0, NULL, NULL) != 0 ||
        cut_connection(target->conninfo, store) != 0)
        goto done;
    if ((rc = pg_store_commit(store)) != LEADROUTE_EIO) {
        store_check_failed(check, "committing a batch on a lost connection should fail with EIO, got %s",
                           leadroute_strerror(rc));
        goto done;
    }
    if (pg_store_get(store, "lead:L-10", &a) != LEADROUTE_ENOTFOUND ||
        store_check_event_count(check, store, "L-10", &events) != 0 || events != 0 ||
        store_check_pool_version(check, store, "sales", &after) != 0 || after != before) {
        store_check_failed(check, "the batch cut short left something behind (L-10's claim, its event or the pool "
                                  "state): %s",
                           pg_store_errmsg(store));
        goto done;
    }
    printf("reconnect: batch cut short -> nothing of L-10 kept\n");

    /* a batch whose connection is cut half-way: the writes after the
     * failure are refused, not kept outside the batch, until it is ended */
    memset(&a, 0, sizeof a);
    a.version = LEADROUTE_ASSIGNMENT_VERSION;
    a.rep_id = "qu";
    a.at_ms = 1772442000000;
    leadroute_commit cm = { LEADROUTE_COMMIT_VERSION, &a, NULL, 0, NULL, 0, 0, NULL, 0 };
    if ((rc = pg_store_begin(store)) != LEADROUTE_OK) {
        store_check_store_failed(check, "pg_store_begin", rc, store);
        goto done;
    }
    a.key = "lead:L-70";
    a.lead_id = "L-70";
    if ((rc = pg_store_methods.commit(store, &cm, holder, sizeof holder)) != LEADROUTE_OK ||
        cut_connection(target->conninfo, store) != 0) {
        store_check_store_failed(check, "L-70 in a batch", rc, store);
        goto done;
    }
    a.key = "lead:L-71";
    a.lead_id = "L-71";
    rc = pg_store_methods.find_claim(store, "lead:L-71", holder, sizeof holder);
    if (rc != LEADROUTE_EIO) {
        store_check_failed(check, "a call on a lost connection in a batch should fail with EIO, got %s",
                           leadroute_strerror(rc));
        goto done;
    }
    rc = pg_store_methods.commit(store, &cm, holder, sizeof holder);
    if (rc != LEADROUTE_EIO || !strstr(pg_store_errmsg(store), "refused") || !pg_store_failure_lasts(store)) {
        store_check_failed(check, "a commit after the batch was lost should be refused with EIO, for good: %s (%s)",
                           leadroute_strerror(rc), pg_store_errmsg(store));
        goto done;
    }
    printf("reconnect: batch lost half-way -> next commit refused (%.50s...)\n", pg_store_errmsg(store));
    if ((rc = pg_store_begin(store)) != LEADROUTE_EINVAL) {
        store_check_failed(check, "a begin while the lost batch is not ended should say EINVAL, got %s",
                           leadroute_strerror(rc));
        goto done;
    }
    if ((rc = pg_store_commit(store)) != LEADROUTE_EIO || !strstr(pg_store_errmsg(store), "nothing of it was kept") ||
        !pg_store_failure_lasts(store)) {
        store_check_failed(check, "committing the lost batch should say EIO, nothing kept, for good: %s (%s)",
                           leadroute_strerror(rc), pg_store_errmsg(store));
        goto done;
    }
    if (pg_store_methods.find_claim(store, "lead:L-70", holder, sizeof holder) != LEADROUTE_ENOTFOUND ||
        pg_store_methods.find_claim(store, "lead:L-71", holder, sizeof holder) != LEADROUTE_ENOTFOUND) {
        store_check_failed(check, "nothing of the lost batch should be kept (L-70, L-71): %s", pg_store_errmsg(store));
        goto done;
    }
    if ((rc = pg_store_methods.commit(store, &cm, holder, sizeof holder)) != LEADROUTE_OK ||
        (rc = pg_store_methods.close(store, "lead:L-71")) != LEADROUTE_OK) {
        store_check_store_failed(check, "a commit after the lost batch was ended", rc, store);
        goto done;
    }
    /* the last failure says whether it lasts: a close of a free key passes */
    if ((rc = pg_store_methods.close(store, "lead:L-71")) != LEADROUTE_ENOTFOUND || pg_store_failure_lasts(store)) {
        store_check_failed(check, "closing the free L-71 should say ENOTFOUND, a failure that does not last: %s, %d",
                           leadroute_strerror(rc), pg_store_failure_lasts(store));
        goto done;
    }
    printf("reconnect: the lost batch ended -> nothing of it kept, writes go on\n");

    /* a connection cut while no batch is open: begin reconnects and opens
     * the batch (nothing was lost, nothing to report) */
    if (cut_connection(target->conninfo, store) != 0)
        goto done;
    if ((rc = pg_store_begin(store)) != LEADROUTE_OK || (rc = pg_store_rollback(store)) != LEADROUTE_OK) {
        store_check_failed(check, "pg_store_begin on a connection cut while idle should reconnect and begin: %s (%s)",
                           leadroute_strerror(rc), pg_store_errmsg(store));
        goto done;
    }
    printf("reconnect: a begin after an idle connection was cut -> reconnected, the batch opens\n");

    /* a begin that fails (the lock, held by another batch past this
     * handle's statement timeout) opens no batch: nothing is refused after */
    if (!strstr(target->conninfo, "://")) {
        pg_store *other = NULL;
        char slow[1024], err[512];
        snprintf(slow, sizeof slow, "%s options='-c statement_timeout=300'", target->conninfo);
        if ((rc = pg_store_open_schema(&other, slow, target->schema, err, sizeof err)) != LEADROUTE_OK ||
            (rc = pg_store_begin(store)) != LEADROUTE_OK) {
            store_check_failed(check, "a second handle and a batch: %s (%s)", leadroute_strerror(rc), err);
            pg_store_close(other);
            goto done;
        }
        rc = pg_store_begin(other);
        int said = strstr(pg_store_errmsg(other), "statement timeout") && !strstr(pg_store_errmsg(other), "batch");
        pg_store_rollback(store);
        a.key = "lead:L-72";
        a.lead_id = "L-72";
        if (rc != LEADROUTE_EIO || !said ||
            (rc = pg_store_methods.commit(other, &cm, holder, sizeof holder)) != LEADROUTE_OK ||
            (rc = pg_store_begin(other)) != LEADROUTE_OK || (rc = pg_store_rollback(other)) != LEADROUTE_OK) {
            store_check_failed(check, "after a begin that failed on the lock (no batch lost, said so), a commit and a new "
                                      "batch should work: %s (%s)", leadroute_strerror(rc), pg_store_errmsg(other));
            pg_store_close(other);
            goto done;
        }
        pg_store_close(other);
        printf("reconnect: a failed begin -> no batch, writes and batches go on\n");
    }
    status = 0;
done:
    store_check_run_close(&r);
    return status;
}

/* Failures that last and failures that pass, and what a batch keeps after
 * one: a key the server refuses (not UTF-8) loses the batch, which the
 * host ends with pg_store_rollback(); a missing table and a read-only
 * server last (pg_store_failure_lasts(), a message on one line); an older
 * store's schema version 0 and a schema name over 63 bytes are refused;
 * settings are not set in a batch; a prefetch asks the server again for a
 * key the batch no longer knows; a tick's move of an acknowledged lead
 * says so. Rep qu is outside the roster. */
static int check_failures(store_check *check, const demo_target *target)
{
    const leadroute_store *m = &pg_store_methods;
    pg_store *store = NULL, *other = NULL;
    leadroute_assignment a, got;
    char err[512], holder[64], sql[512], schema[96], held[16];
    int status = 1, rc, found = 0;

    if ((rc = pg_store_open_schema(&store, target->conninfo, target->schema, err, sizeof err)) != LEADROUTE_OK) {
        store_check_failed(check, "%s (%s)", err, leadroute_strerror(rc));
        goto done;
    }
    memset(&a, 0, sizeof a);
    a.version = LEADROUTE_ASSIGNMENT_VERSION;
    a.rep_id = "qu";
    a.at_ms = store_check_now(check);
    leadroute_commit cm = { LEADROUTE_COMMIT_VERSION, &a, NULL, 0, NULL, 0, 0, "account:q.example", 0 };

    /* a batch: L-73 with the account q.example; the lookup flushes it; a prefetch of the account and
     * L-74 reads both; settings are not set; then a key that is not UTF-8 loses the batch */
    a.key = "lead:L-73";
    a.lead_id = "L-73";
    const char *const keys[] = { "account:q.example", "lead:L-74" };
    if ((rc = pg_store_begin(store)) != LEADROUTE_OK || (rc = m->commit(store, &cm, holder, sizeof holder)) !=
        LEADROUTE_OK || (rc = pg_store_get(store, "lead:L-73", &got)) != LEADROUTE_OK ||
        (rc = pg_store_prefetch_claims(store, keys, 2)) != LEADROUTE_OK ||
        (rc = m->find_claim(store, "account:q.example", holder, sizeof holder)) != LEADROUTE_OK ||
        strcmp(holder, "qu") != 0) {
        store_check_failed(check, "in a batch, account q.example claimed with L-73 should be held by qu after a "
                                  "prefetch: %s (%s)", leadroute_strerror(rc), pg_store_errmsg(store));
        goto done;
    }
    if ((rc = pg_store_meta(store, "demo.setting", "x", held, sizeof held, &found)) != LEADROUTE_EINVAL) {
        store_check_failed(check, "setting a setting inside a batch should say EINVAL, got %s", leadroute_strerror(rc));
        goto done;
    }
    if ((rc = m->find_claim(store, "lead:\xff", holder, sizeof holder)) != LEADROUTE_EIO ||
        (rc = m->commit(store, &cm, holder, sizeof holder)) != LEADROUTE_EIO) {
        store_check_failed(check, "a key that is not UTF-8 should fail with EIO and lose the batch: %s (%s)",
                           leadroute_strerror(rc), pg_store_errmsg(store));
        goto done;
    }
    a.key = "lead:L-74";
    a.lead_id = "L-74";
    cm.account_key = NULL;
    if ((rc = pg_store_rollback(store)) != LEADROUTE_OK || (rc = m->commit(store, &cm, holder, sizeof holder)) !=
        LEADROUTE_OK || m->find_claim(store, "lead:L-73", holder, sizeof holder) != LEADROUTE_ENOTFOUND ||
        (rc = m->close(store, "lead:L-74")) != LEADROUTE_OK) {
        store_check_failed(check, "after the lost batch was rolled back, L-73 should be gone and L-74 committed: %s (%s)",
                           leadroute_strerror(rc), pg_store_errmsg(store));
        goto done;
    }
    printf("failures: a key not UTF-8 loses the batch; rolled back, nothing of it kept, writes go on\n");

    /* a tick's move of L-75, acknowledged by qu: refused, and the message says why */
    a.key = "lead:L-75";
    a.lead_id = "L-75";
    a.deadline_ms = a.at_ms + 30 * 60000;
    if ((rc = m->commit(store, &cm, holder, sizeof holder)) != LEADROUTE_OK ||
        (rc = m->acknowledge(store, "lead:L-75", a.at_ms, NULL, NULL, 0, NULL, 0)) != LEADROUTE_OK) {
        store_check_store_failed(check, "commit and acknowledgement of L-75", rc, store);
        goto done;
    }
    a.previous = "qu";
    a.rep_id = "qv";
    a.at_ms = a.deadline_ms;
    cm.flags = LEADROUTE_COMMIT_FOLLOW_UP;
    if ((rc = m->commit(store, &cm, holder, sizeof holder)) != LEADROUTE_EEXISTS ||
        !strstr(pg_store_errmsg(store), "who acknowledged it") || (rc = m->close(store, "lead:L-75")) != LEADROUTE_OK) {
        store_check_failed(check, "a move of L-75, acknowledged by qu, should say EEXISTS, qu acknowledged it: %s (%s)",
                           leadroute_strerror(rc), pg_store_errmsg(store));
        goto done;
    }
    cm.flags = 0;
    a.previous = NULL;
    a.rep_id = "qu";
    a.deadline_ms = 0;

    /* a store whose events table is gone: a failure that lasts; a passing one after it does not */
    snprintf(schema, sizeof schema, "%s_x", target->schema);
    if ((rc = pg_store_open_schema(&other, target->conninfo, schema, err, sizeof err)) != LEADROUTE_OK) {
        store_check_failed(check, "%s (%s)", err, leadroute_strerror(rc));
        goto done;
    }
    snprintf(sql, sizeof sql, "DROP TABLE %s.leadroute_events", schema);
    pg_store_event e = { a.at_ms, "noted", "lead:L-76", "L-76", NULL };
    if (admin_exec(target->conninfo, sql, NULL) != 0)
        goto done;
    if ((rc = pg_store_record(other, &e)) != LEADROUTE_EIO || !pg_store_failure_lasts(other) ||
        strchr(pg_store_errmsg(other), '\n')) {
        store_check_failed(check, "recording an event without its table should fail with EIO, for good, the message on "
                                  "one line: %s, %d (%s)", leadroute_strerror(rc), pg_store_failure_lasts(other),
                           pg_store_errmsg(other));
        goto done;
    }
    if ((rc = m->close(other, "lead:L-76")) != LEADROUTE_ENOTFOUND || pg_store_failure_lasts(other)) {
        store_check_failed(check, "closing the free L-76 should say ENOTFOUND, a failure that does not last: %s, %d",
                           leadroute_strerror(rc), pg_store_failure_lasts(other));
        goto done;
    }
    pg_store_close(other);
    other = NULL;
    printf("failures: a missing table lasts, a free key does not\n");

    /* a server that takes no writes (read-only transactions): a commit fails
     * for good; the connection's options are kept beside the schema's search
     * path, whether the schema comes in them or apart, and whether they come
     * in the connection string or from PGOPTIONS (apart == 2) */
    for (int apart = 0; apart < 3 && !strstr(target->conninfo, "://"); apart++) {
        char conninfo[1024];
        if (apart == 2)
            snprintf(conninfo, sizeof conninfo, "%s", target->conninfo);
        else if (apart)
            snprintf(conninfo, sizeof conninfo, "%s options='-c default_transaction_read_only=on'", target->conninfo);
        else
            snprintf(conninfo, sizeof conninfo,
                     "%s options='-c default_transaction_read_only=on -c search_path=%s'", target->conninfo,
                     target->schema);
        if (apart == 2)
            setenv("PGOPTIONS", "-c default_transaction_read_only=on", 1);
        rc = pg_store_open_schema(&other, conninfo, apart ? target->schema : NULL, err, sizeof err);
        if (apart == 2)
            unsetenv("PGOPTIONS");
        if (rc != LEADROUTE_OK) {
            store_check_failed(check, "a read-only handle: %s (%s)", err, leadroute_strerror(rc));
            goto done;
        }
        a.key = "lead:L-76";
        if ((rc = m->commit(other, &cm, holder, sizeof holder)) != LEADROUTE_EIO || !pg_store_failure_lasts(other) ||
            strchr(pg_store_errmsg(other), '\n') ||
            (rc = m->find_claim(other, "lead:L-1", holder, sizeof holder)) != LEADROUTE_OK) {
            store_check_failed(check, "on a read-only server a commit should fail with EIO, for good, on one line, and "
                                      "reads go on: %s, %d (%s)", leadroute_strerror(rc), pg_store_failure_lasts(other),
                               pg_store_errmsg(other));
            goto done;
        }
        pg_store_close(other);
        other = NULL;
        printf("failures: a read-only server refuses commits for good (schema %s)\n",
               apart == 2 ? "given apart, read-only from PGOPTIONS" : apart ? "given apart" : "in the options");
    }

    /* a store of schema version 0 is refused */
    snprintf(schema, sizeof schema, "%s_v0", target->schema);
    snprintf(sql, sizeof sql, "CREATE SCHEMA %s; CREATE TABLE %s.leadroute_meta (key text PRIMARY KEY, value text); "
             "INSERT INTO %s.leadroute_meta VALUES ('schema', '0')", schema, schema, schema);
    if (admin_exec(target->conninfo, sql, NULL) != 0)
        goto done;
    if ((rc = pg_store_open_schema(&other, target->conninfo, schema, err, sizeof err)) != LEADROUTE_EPARSE ||
        !strstr(err, "version 0")) {
        store_check_failed(check, "a store of schema version 0 should be refused with EPARSE: %s (%s)",
                           leadroute_strerror(rc), err);
        goto done;
    }
    printf("failures: a store of schema version 0 refused\n");

    /* a schema row that is missing, or no number, is named as such */
    for (int k = 0; k < 2; k++) {
        snprintf(schema, sizeof schema, "%s_v%s", target->schema, k ? "abc" : "none");
        snprintf(sql, sizeof sql, "CREATE SCHEMA %s; CREATE TABLE %s.leadroute_meta (key text PRIMARY KEY, value "
                 "text); INSERT INTO %s.leadroute_meta VALUES ('%s', '5x')", schema, schema, schema,
                 k ? "schema" : "other");
        if (admin_exec(target->conninfo, sql, NULL) != 0)
            goto done;
        if ((rc = pg_store_open_schema(&other, target->conninfo, schema, err, sizeof err)) != LEADROUTE_EPARSE ||
            !strstr(err, k ? "holds a schema row that is not a number" : "holds no schema row")) {
            store_check_failed(check, "a store whose schema row is %s should be refused with EPARSE saying so: %s (%s)",
                               k ? "'5x'" : "missing", leadroute_strerror(rc), err);
            goto done;
        }
    }
    printf("failures: a schema row missing or not a number refused, and named\n");

    /* the session's name is the connection string's, else leadroute */
    for (int named = 0; named < 2 && !strstr(target->conninfo, "://"); named++) {
        char conninfo[1024], want[64];
        snprintf(conninfo, sizeof conninfo, "%s%s", target->conninfo, named ? " application_name=crm_sync" : "");
        if ((rc = pg_store_open_schema(&other, conninfo, target->schema, err, sizeof err)) != LEADROUTE_OK) {
            store_check_failed(check, "a handle to read its name: %s (%s)", err, leadroute_strerror(rc));
            goto done;
        }
        snprintf(sql, sizeof sql, "SELECT application_name FROM pg_stat_activity WHERE pid = %d",
                 pg_store_backend_pid(other));
        snprintf(want, sizeof want, "%s", named ? "crm_sync" : "leadroute");
        if (admin_exec(target->conninfo, sql, want) != 0) {
            store_check_failed(check, "the session should be named %s", want);
            goto done;
        }
        pg_store_close(other);
        other = NULL;
    }
    printf("failures: sessions named leadroute unless the connection string names them\n");

    /* a store of the previous schema version is upgraded at open: its
     * functions replaced (here one is missing, which a close of a free key
     * calls and answers ENOTFOUND), its version raised */
    snprintf(schema, sizeof schema, "%s_up", target->schema);
    if ((rc = pg_store_open_schema(&other, target->conninfo, schema, err, sizeof err)) != LEADROUTE_OK) {
        store_check_failed(check, "a store in schema %s: %s (%s)", schema, leadroute_strerror(rc), err);
        goto done;
    }
    pg_store_close(other);
    other = NULL;
    snprintf(sql, sizeof sql, "DROP FUNCTION %s.leadroute_close(text); UPDATE %s.leadroute_meta SET value = '%d' "
             "WHERE key = 'schema'", schema, schema, PG_STORE_SCHEMA_VERSION - 1);
    if (admin_exec(target->conninfo, sql, NULL) != 0)
        goto done;
    snprintf(sql, sizeof sql, "SELECT value FROM %s.leadroute_meta WHERE key = 'schema'", schema);
    snprintf(held, sizeof held, "%d", PG_STORE_SCHEMA_VERSION);
    if ((rc = pg_store_open_schema(&other, target->conninfo, schema, err, sizeof err)) != LEADROUTE_OK ||
        admin_exec(target->conninfo, sql, held) != 0 || (rc = m->close(other, "lead:free")) != LEADROUTE_ENOTFOUND) {
        store_check_failed(check, "a store of schema version %d should be upgraded to %d at open, its functions "
                                  "replaced: %s (%s)", PG_STORE_SCHEMA_VERSION - 1, PG_STORE_SCHEMA_VERSION,
                           leadroute_strerror(rc), other ? pg_store_errmsg(other) : err);
        goto done;
    }
    printf("failures: a store of schema version %d upgraded to %d\n", PG_STORE_SCHEMA_VERSION - 1,
           PG_STORE_SCHEMA_VERSION);
    status = 0;
done:
    pg_store_close(other);
    pg_store_close(store);
    static const char *const suffixes[] = { "x", "v0", "up" };
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        snprintf(sql, sizeof sql, "SET client_min_messages = warning; DROP SCHEMA IF EXISTS %s_%s CASCADE",
                 target->schema, suffixes[i]);
        if (admin_exec(target->conninfo, sql, NULL) != 0)
            status = 1;
    }
    return status;
}

/* A serialization failure outside a batch is a conflict the router retries
 * (ECONFLICT), not EIO: a handle whose transactions are SERIALIZABLE
 * commits to pool "iso" while a batch holds the store's lock, and the
 * batch moves the pool on before the lock lets the commit in. Rep qu is
 * outside the roster. */
static int check_serialization(store_check *check, const demo_target *target)
{
    const leadroute_store *m = &pg_store_methods;
    pg_store *store = NULL;
    leadroute_assignment a;
    char err[512], holder[64], conninfo[1024], sql[256];
    int status = 1, rc, child_status = 0;
    pid_t child = -1;

    if (strstr(target->conninfo, "://"))
        return 0; /* a URI: no options to add */
    snprintf(conninfo, sizeof conninfo, "%s options='-c default_transaction_isolation=serializable -c search_path=%s'",
             target->conninfo, target->schema);
    if ((rc = pg_store_open_schema(&store, target->conninfo, target->schema, err, sizeof err)) != LEADROUTE_OK) {
        store_check_failed(check, "%s (%s)", err, leadroute_strerror(rc));
        goto done;
    }
    store_check_first_assignment(&a, "lead:L-97", "qu", store_check_now(check), 0);
    leadroute_commit cm = { LEADROUTE_COMMIT_VERSION, &a, "iso", 0, "i1", 2, 0, NULL, 0 };
    if ((rc = m->commit(store, &cm, holder, sizeof holder)) != LEADROUTE_OK || (rc = pg_store_begin(store)) != LEADROUTE_OK) {
        store_check_store_failed(check, "commit of L-97 and begin", rc, store);
        goto done;
    }
    fflush(stdout);
    if ((child = fork()) == 0) { /* the other handle, waiting for the lock with its snapshot taken */
        pg_store *other = NULL;
        store_check_first_assignment(&a, "lead:L-98", "qu", store_check_now(check), 0);
        cm.expected_version = 1;
        if (pg_store_open(&other, conninfo, err, sizeof err) != LEADROUTE_OK)
            _exit(100);
        rc = m->commit(other, &cm, holder, sizeof holder);
        _exit(rc == LEADROUTE_ECONFLICT && !pg_store_failure_lasts(other) ? 0 : 100 + (rc < 0 ? -rc : rc));
    }
    /* until the child's commit waits for the store's lock */
    snprintf(sql, sizeof sql, "SELECT count(*) > 0 FROM pg_stat_activity WHERE application_name = 'leadroute' "
             "AND wait_event_type = 'Lock' AND pid <> %d", pg_store_backend_pid(store));
    for (int i = 0; i < 200 && child > 0; i++) {
        const char *keys[] = { "dbname", NULL };
        const char *values[] = { target->conninfo, NULL };
        PGconn *c = PQconnectdbParams(keys, values, 1);
        PGresult *r = PQexec(c, sql);
        int waiting = PQresultStatus(r) == PGRES_TUPLES_OK && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
        PQclear(r);
        PQfinish(c);
        if (waiting)
            break;
        struct timespec pause = { 0, 50000000 };
        nanosleep(&pause, NULL);
    }
    store_check_first_assignment(&a, "lead:L-99", "qu", store_check_now(check), 0);
    cm.expected_version = 1;
    if ((rc = m->commit(store, &cm, holder, sizeof holder)) != LEADROUTE_OK || (rc = pg_store_commit(store)) != LEADROUTE_OK) {
        store_check_store_failed(check, "the batch moving pool iso on", rc, store);
        goto done;
    }
    if (child < 0 || waitpid(child, &child_status, 0) != child || !WIFEXITED(child_status) ||
        WEXITSTATUS(child_status) != 0) {
        store_check_failed(check, "a commit that meets a serialization failure should say ECONFLICT, a failure that "
                                  "passes (the child exited with %d)", WIFEXITED(child_status) ? WEXITSTATUS(child_status) : -1);
        child = -1;
        goto done;
    }
    child = -1;
    if ((rc = m->close(store, "lead:L-97")) != LEADROUTE_OK || (rc = m->close(store, "lead:L-99")) != LEADROUTE_OK) {
        store_check_store_failed(check, "close L-97 and L-99", rc, store);
        goto done;
    }
    printf("failures: a serialization failure outside a batch -> %s\n", leadroute_strerror(LEADROUTE_ECONFLICT));
    status = 0;
done:
    if (child > 0)
        waitpid(child, &child_status, 0);
    pg_store_close(store);
    return status;
}

/* Two handles reaching the same tables take the same lock, whatever their
 * search paths: here the other one has an empty schema first on its path
 * (as a role's own "$user" schema would be), so its current_schema() is
 * not the store's. While a batch holds the lock, its commit waits (its
 * statement timeout stops it) instead of passing the batch. */
static int check_lock_by_tables(store_check *check, const demo_target *target)
{
    const leadroute_store *m = &pg_store_methods;
    pg_store *store = NULL, *other = NULL;
    leadroute_assignment a;
    char err[512], holder[64], conninfo[1024], sql[256];
    int status = 1, rc;

    if (strstr(target->conninfo, "://") || !target->schema)
        return 0; /* a URI: no options to add */
    snprintf(sql, sizeof sql, "CREATE SCHEMA IF NOT EXISTS %s_empty", target->schema);
    if (admin_exec(target->conninfo, sql, NULL) != 0) {
        store_check_failed(check, "cannot create schema %s_empty", target->schema);
        return 1;
    }
    snprintf(conninfo, sizeof conninfo, "%s options='-c search_path=%s_empty,%s -c statement_timeout=1500'",
             target->conninfo, target->schema, target->schema);
    if ((rc = pg_store_open_schema(&store, target->conninfo, target->schema, err, sizeof err)) != LEADROUTE_OK ||
        (rc = pg_store_open(&other, conninfo, err, sizeof err)) != LEADROUTE_OK) {
        store_check_failed(check, "%s (%s)", err, leadroute_strerror(rc));
        goto done;
    }
    if ((rc = pg_store_begin(store)) != LEADROUTE_OK) {
        store_check_store_failed(check, "begin", rc, store);
        goto done;
    }
    store_check_first_assignment(&a, "lead:L-96", "qu", store_check_now(check), 0);
    leadroute_commit cm = { LEADROUTE_COMMIT_VERSION, &a, NULL, 0, NULL, 0, 0, NULL, 0 };
    rc = m->commit(other, &cm, holder, sizeof holder);
    pg_store_rollback(store);
    if (rc == LEADROUTE_OK) {
        m->close(other, "lead:L-96");
        store_check_failed(check, "a handle whose search path starts with an empty schema committed while a batch "
                                  "held the store's lock: it took another lock");
        goto done;
    }
    if (!strstr(pg_store_errmsg(other), "statement timeout")) {
        store_check_failed(check, "the commit waiting for the store's lock should meet its statement timeout, not: %s",
                           pg_store_errmsg(other));
        goto done;
    }
    printf("failures: a handle with another current schema waits for the store's lock\n");
    status = 0;
done:
    pg_store_close(other);
    pg_store_close(store);
    snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s_empty", target->schema);
    admin_exec(target->conninfo, sql, NULL);
    return status;
}

/* A key longer than PostgreSQL indexes is refused before it is sent, for
 * good (LEADROUTE_ELIMIT), and the batch around it goes on. */
static int check_long_key(store_check *check, const demo_target *target)
{
    const leadroute_store *m = &pg_store_methods;
    pg_store *store = NULL;
    leadroute_assignment a;
    char err[512], holder[64], key[PG_STORE_MAX_ID + 8];
    int status = 1, rc;

    if ((rc = pg_store_open_schema(&store, target->conninfo, target->schema, err, sizeof err)) != LEADROUTE_OK) {
        store_check_failed(check, "%s (%s)", err, leadroute_strerror(rc));
        goto done;
    }
    memcpy(key, "lead:", 5);
    memset(key + 5, 'k', PG_STORE_MAX_ID - 4);
    key[PG_STORE_MAX_ID + 1] = '\0';
    if ((rc = pg_store_begin(store)) != LEADROUTE_OK) {
        store_check_store_failed(check, "begin", rc, store);
        goto done;
    }
    store_check_first_assignment(&a, key, "qu", store_check_now(check), 0);
    leadroute_commit cm = { LEADROUTE_COMMIT_VERSION, &a, NULL, 0, NULL, 0, 0, NULL, 0 };
    rc = m->commit(store, &cm, holder, sizeof holder);
    if (rc != LEADROUTE_ELIMIT || !pg_store_failure_lasts(store) || !strstr(pg_store_errmsg(store), "2601 bytes")) {
        store_check_failed(check, "a key of %d bytes should be refused for good (ELIMIT), not: %s (%s)",
                           PG_STORE_MAX_ID + 1, leadroute_strerror(rc), pg_store_errmsg(store));
        goto done;
    }
    /* so is an account claim's key (the lead's own key is short) */
    store_check_first_assignment(&a, "lead:L-94", "qu", store_check_now(check), 0);
    memcpy(key, "account:", 8);
    cm.account_key = key;
    rc = m->commit(store, &cm, holder, sizeof holder);
    cm.account_key = NULL;
    if (rc != LEADROUTE_ELIMIT || !strstr(pg_store_errmsg(store), "account key")) {
        store_check_failed(check, "an account key of %d bytes should be refused for good (ELIMIT), not: %s (%s)",
                           PG_STORE_MAX_ID + 1, leadroute_strerror(rc), pg_store_errmsg(store));
        goto done;
    }
    store_check_first_assignment(&a, "lead:L-95", "qu", store_check_now(check), 0);
    if ((rc = m->commit(store, &cm, holder, sizeof holder)) != LEADROUTE_OK || (rc = pg_store_commit(store)) != LEADROUTE_OK ||
        (rc = m->close(store, "lead:L-95")) != LEADROUTE_OK) {
        store_check_store_failed(check, "the batch after a key too long", rc, store);
        goto done;
    }
    printf("failures: a key of %d bytes refused for good, its batch goes on\n", PG_STORE_MAX_ID + 1);
    status = 0;
done:
    pg_store_close(store);
    return status;
}

/* PostgreSQL's own checks, after the shared ones. */
static int pg_checks(store_check *check, void *user)
{
    return check_round_trips(check, user) != 0 || check_reconnect(check, user) != 0 || check_failures(check, user) != 0 ||
           check_serialization(check, user) != 0 || check_lock_by_tables(check, user) != 0 ||
           check_long_key(check, user) != 0;
}

static int check_meta(void *store, const char *key, const char *value, char *held, size_t cap, int *found)
{
    return pg_store_meta(store, key, value, held, cap, found);
}

static const store_check_ops pg_check_ops = {
    "pg_store_demo", &pg_store_methods, check_open, check_close, check_begin, check_commit,
    check_rollback, check_errmsg, check_get, check_record, check_events, pg_checks, check_meta,
};

int main(int argc, char **argv)
{
    char schema[64], drop[160];
    int status;

    if (argc > 2) {
        fprintf(stderr, "usage: pg_store_demo [CONNINFO]\n");
        return 2;
    }
    const char *conninfo = argc == 2 ? argv[1] : getenv("LEADROUTE_PG");
    if (!conninfo || !*conninfo) {
        fprintf(stderr, "pg_store_demo: no PostgreSQL to use (give a conninfo or set LEADROUTE_PG): skipped\n");
        return 77;
    }
    /* a schema of its own: a run left over by an earlier process would change every answer */
    snprintf(schema, sizeof schema, "lr_demo_%ld", (long)getpid());
    snprintf(drop, sizeof drop, "SET client_min_messages = warning; DROP SCHEMA IF EXISTS %s CASCADE", schema);
    if (admin_exec(conninfo, drop, NULL) != 0)
        return 1;
    printf("schema: %s\n", schema);

    /* schema names the store refuses before it connects */
    static const char *const bad_schemas[] = { "MySchema", "pg_leads", "", "a-b",
                                               "a234567890123456789012345678901234567890123456789012345678901234" };
    for (size_t i = 0; i < sizeof bad_schemas / sizeof bad_schemas[0]; i++) {
        pg_store *refused = (pg_store *)&status;
        char err[256] = "";
        if (pg_store_open_schema(&refused, conninfo, bad_schemas[i], err, sizeof err) != LEADROUTE_EINVAL ||
            refused || !strstr(err, "schema name")) {
            fprintf(stderr, "pg_store_demo: schema \"%s\" should be refused with EINVAL and a message (%s)\n",
                    bad_schemas[i], err);
            return 1;
        }
    }
    printf("schema names: MySchema, pg_leads, \"\", a-b, 64 letters refused\n");

    demo_target target = { conninfo, schema };
    status = store_check_run_all(&pg_check_ops, &target);
    if (admin_exec(conninfo, drop, NULL) != 0)
        status = 1;
    printf("%s\n", status == 0 ? "pg_store_demo: all checks passed" : "pg_store_demo: FAILED");
    return status;
}
