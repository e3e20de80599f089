/*
 * sqlite_store_demo: routing state that lives in a SQLite file.
 *
 * A router normally keeps rotation pointers, claims and deadlines in
 * memory; with sqlite_store (sqlite_store.h) they live in one database
 * file, so a second run, another process or a scheduler that ticks
 * deadlines carries on where the first left off. The program:
 *
 *   run 1   routes four leads inside one batch (one transaction);
 *   run 2   opens the file again with a new router: the rotation goes on
 *           with the next rep, a lead routed before stays with its rep, a
 *           rep at capacity is skipped; one lead is acknowledged, a tick
 *           past the deadline moves the other hot lead to another rep;
 *   then    checks the assignment windows, lists the events recorded for
 *           a lead, rolls a batch back (nothing of it stays), shows two
 *           handles on one file (each sees the other's commits, a commit
 *           based on a stale pool state conflicts), and commits straight to
 *           the store: a conflict inside a batch, an account claim, a pool
 *           state larger than the buffer.
 *
 * The checks are store_check.c's, shared with pg_store_demo; this file
 * wires them to sqlite_store and keeps the database file in a directory.
 * It exits non-zero on any surprise.
 * Usage: sqlite_store_demo [DIRECTORY]   (default: a new temporary directory,
 * removed at the end; a directory given keeps the database for a look with
 * the sqlite3 shell).
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#endif
#include "sqlite_store.h"
#include "store_check.h"

#include <leadroute/leadroute.h>
#include <sqlite3.h>

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DB_NAME "sqlite_store_demo.db"

/* store_check's view of sqlite_store: the same calls, with untyped handles. */
static int check_open(void *path, void **store, char *err, size_t err_cap)
{
    sqlite_store *s = NULL;
    int rc = sqlite_store_open(&s, path, err, err_cap);
    *store = s;
    return rc;
}

static void check_close(void *store)
{
    sqlite_store_close(store);
}

static int check_begin(void *store)
{
    return sqlite_store_begin(store);
}

static int check_commit(void *store)
{
    return sqlite_store_commit(store);
}

static int check_rollback(void *store)
{
    return sqlite_store_rollback(store);
}

static const char *check_errmsg(const void *store)
{
    return sqlite_store_errmsg(store);
}

static int check_get(void *store, const char *key, leadroute_assignment *out)
{
    return sqlite_store_get(store, key, out);
}

static int check_record(void *store, const store_check_event *e)
{
    sqlite_store_event event = { e->at_ms, e->kind, e->key, e->lead_id, e->detail };
    return sqlite_store_record(store, &event);
}

/* sqlite_store_events hands out its own event type: pass each one on as store_check's. */
typedef struct event_relay {
    int (*each)(void *ctx, const store_check_event *event);
    void *ctx;
} event_relay;

static int relay_event(void *ctx, const sqlite_store_event *e)
{
    const event_relay *relay = ctx;
    store_check_event event = { e->at_ms, e->kind, e->key, e->lead_id, e->detail };
    return relay->each(relay->ctx, &event);
}

static int check_events(void *store, const char *lead, int (*each)(void *ctx, const store_check_event *event),
                        void *ctx, size_t *count)
{
    event_relay relay = { each, ctx };
    return sqlite_store_events(store, lead, relay_event, &relay, count);
}

static int check_meta(void *store, const char *key, const char *value, char *held, size_t cap, int *found)
{
    return sqlite_store_meta(store, key, value, held, cap, found);
}

/* ---- sqlite_store's own answers (store_check_ops.extra) ------------------------------------------ */

typedef struct kinds {
    sqlite_store *store;
    char text[64];
    int inner; /* what sqlite_store_events said when called from inside `each` */
} kinds;

static int add_kind(void *ctx, const sqlite_store_event *e)
{
    kinds *k = ctx;
    size_t used = strlen(k->text);
    snprintf(k->text + used, sizeof k->text - used, "%s%s", used ? "," : "", e->kind);
    return 0;
}

static int list_inside(void *ctx, const sqlite_store_event *e)
{
    kinds *k = ctx;
    kinds ignored = { NULL, "", 0 };
    k->inner = sqlite_store_events(k->store, "E-1", add_kind, &ignored, NULL);
    return add_kind(ctx, e);
}

static int add_due_key(void *ctx, const leadroute_assignment *a)
{
    kinds *k = ctx;
    size_t used = strlen(k->text);
    snprintf(k->text + used, sizeof k->text - used, "%s%s", used ? "," : "", a->key);
    return 0;
}

/* Run `sql` on the database through a connection of its own. */
static int raw_exec(store_check *check, const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    char *msg = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    }
    if (rc != SQLITE_OK)
        store_check_failed(check, "%s: %s", sql, msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    sqlite3_close(db);
    return rc != SQLITE_OK;
}

/* Beyond the store contract, as sqlite_store.h promises: batches refuse to
 * nest and to commit when none is open, and a rollback without one does
 * nothing; events come oldest first by time, then in recording order, and
 * no listing runs inside another; the lookup knows no account claim;
 * find_claim refuses a buffer one byte short; empty ids read back as NULL;
 * a commit refuses unknown versions and values SQLite cannot keep; a window
 * given both a rep and a pool counts the rep's assignments of that pool;
 * list_due goes by deadline, then key; a commit whose write fails half way
 * leaves nothing, also inside a batch. Reps qa and qz and pools qpool,
 * qpool2 and qzpool are outside the roster. */
static int sqlite_checks(store_check *check, void *path)
{
    const leadroute_store *m = &sqlite_store_methods;
    sqlite_store *s = NULL;
    leadroute_assignment a, got;
    char err[512], owner[8];
    const int64_t t = store_check_now(check);
    uint64_t n = 0;
    double v = 0;
    int rc, status = 1;

    if ((rc = sqlite_store_open(&s, path, err, sizeof err)) != LEADROUTE_OK)
        return store_check_failed(check, "%s (%s)", err, leadroute_strerror(rc));
    if ((rc = sqlite_store_commit(s)) != LEADROUTE_EINVAL || (rc = sqlite_store_rollback(s)) != LEADROUTE_OK ||
        (rc = sqlite_store_begin(s)) != LEADROUTE_OK || (rc = sqlite_store_begin(s)) != LEADROUTE_EINVAL ||
        (rc = sqlite_store_rollback(s)) != LEADROUTE_OK || (rc = sqlite_store_rollback(s)) != LEADROUTE_OK) {
        store_check_failed(check, "batches: a commit without one is EINVAL, a rollback without one OK, a second "
                                  "begin EINVAL: %s (%s)", leadroute_strerror(rc), sqlite_store_errmsg(s));
        goto done;
    }
    printf("batches: commit without one -> EINVAL, begin inside one -> EINVAL, rollback without one -> OK\n");

    /* recorded out of time order: listed by time, then as recorded */
    static const struct { int64_t at; const char *kind; } recorded[] = { { 2000, "b" }, { 1000, "a" },
                                                                            { 3000, "c" }, { 3000, "d" } };
    for (size_t i = 0; i < sizeof recorded / sizeof *recorded; i++) {
        sqlite_store_event e = { recorded[i].at, recorded[i].kind, "lead:E-1", "E-1", NULL };
        if ((rc = sqlite_store_record(s, &e)) != LEADROUTE_OK) {
            store_check_store_failed(check, "record", rc, s);
            goto done;
        }
    }
    kinds k = { s, "", 0 };
    size_t count = 0;
    if ((rc = sqlite_store_events(s, "E-1", list_inside, &k, &count)) != LEADROUTE_OK ||
        strcmp(k.text, "a,b,c,d") != 0 || count != 4 || k.inner != LEADROUTE_EINVAL) {
        store_check_failed(check, "events of E-1 should come as a,b,c,d (by time, then as recorded), a listing "
                                  "inside one EINVAL: %s, \"%s\", %zu, inner %s", leadroute_strerror(rc), k.text,
                           count, leadroute_strerror(k.inner));
        goto done;
    }
    printf("events: by time, then as recorded (%s); none listed inside a listing\n", k.text);

    /* an account claim is no lead to look up; a holder's id needs its NUL */
    store_check_first_assignment(&a, "lead:Q-1", "qa", t, 0);
    a.lead_id = "";
    a.pool_id = "";
    a.rule_id = "";
    leadroute_commit cm = { LEADROUTE_COMMIT_VERSION, &a, NULL, 0, NULL, 0, 0, "account:q.example", 0 };
    if ((rc = m->commit(s, &cm, owner, sizeof owner)) != LEADROUTE_OK) {
        store_check_store_failed(check, "commit of Q-1", rc, s);
        goto done;
    }
    if ((rc = sqlite_store_get(s, "account:q.example", &got)) != LEADROUTE_ENOTFOUND) {
        store_check_failed(check, "the lookup of an account claim should say ENOTFOUND, not %s",
                           leadroute_strerror(rc));
        goto done;
    }
    memset(owner, '#', sizeof owner);
    if ((rc = m->find_claim(s, "lead:Q-1", owner, 2)) != LEADROUTE_ERANGE || owner[2] != '#') {
        store_check_failed(check, "find_claim of qa's Q-1 in 2 bytes should say ERANGE and write nothing past "
                                  "them: %s", leadroute_strerror(rc));
        goto done;
    }
    if ((rc = sqlite_store_get(s, "lead:Q-1", &got)) != LEADROUTE_OK || got.lead_id || got.pool_id ||
        got.rule_id) {
        store_check_failed(check, "Q-1 committed with empty lead, pool and rule ids should read them back as NULL: "
                                  "%s, lead %s, pool %s, rule %s", leadroute_strerror(rc),
                           rc == LEADROUTE_OK && got.lead_id ? "\"\"" : "NULL",
                           rc == LEADROUTE_OK && got.pool_id ? "\"\"" : "NULL",
                           rc == LEADROUTE_OK && got.rule_id ? "\"\"" : "NULL");
        goto done;
    }
    printf("lookup: no account claim; empty ids read back as NULL; find_claim in 2 bytes -> ERANGE\n");

    /* what a commit refuses before it writes: versions it does not know, a state without its bytes, a value
     * or an SLA that is not a number (SQLite would keep NULL) */
    static const struct { uint32_t commit_version, assignment_version; int no_state; double value, sla; int want; }
    refused[] = {
        { 0, LEADROUTE_ASSIGNMENT_VERSION, 0, 1, 0, LEADROUTE_EVERSION },
        { LEADROUTE_COMMIT_VERSION + 1, LEADROUTE_ASSIGNMENT_VERSION, 0, 1, 0, LEADROUTE_EVERSION },
        { LEADROUTE_COMMIT_VERSION, 0, 0, 1, 0, LEADROUTE_EVERSION },
        { LEADROUTE_COMMIT_VERSION, LEADROUTE_ASSIGNMENT_VERSION + 1, 0, 1, 0, LEADROUTE_EVERSION },
        { LEADROUTE_COMMIT_VERSION, LEADROUTE_ASSIGNMENT_VERSION, 1, 1, 0, LEADROUTE_EINVAL },
        { LEADROUTE_COMMIT_VERSION, LEADROUTE_ASSIGNMENT_VERSION, 0, NAN, 0, LEADROUTE_EINVAL },
        { LEADROUTE_COMMIT_VERSION, LEADROUTE_ASSIGNMENT_VERSION, 0, 1, NAN, LEADROUTE_EINVAL },
    };
    a.key = "lead:Q-9";
    a.lead_id = "Q-9";
    cm.account_key = NULL;
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        leadroute_commit bad = cm;
        bad.version = refused[i].commit_version;
        a.version = refused[i].assignment_version;
        a.value = refused[i].value;
        a.sla_minutes = refused[i].sla;
        if (refused[i].no_state) {
            bad.pool_id = "qpool";
            bad.state_length = 2;
        }
        rc = m->commit(s, &bad, owner, sizeof owner);
        if (rc != refused[i].want || m->find_claim(s, "lead:Q-9", err, sizeof err) != LEADROUTE_ENOTFOUND) {
            store_check_failed(check, "refused commit %zu of Q-9 should say %s and claim nothing, not %s", i,
                               leadroute_strerror(refused[i].want), leadroute_strerror(rc));
            goto done;
        }
    }
    a.version = LEADROUTE_ASSIGNMENT_VERSION;
    a.sla_minutes = 0;
    printf("commit: unknown versions -> EVERSION, a state without bytes or a value that is no number -> EINVAL\n");

    /* qa: Q-2 in qpool, Q-3 in qpool2, both at t: by rep within a pool, each counts once */
    for (int i = 0; i < 2; i++) {
        char key[16];
        snprintf(key, sizeof key, "lead:Q-%d", i + 2);
        a.key = key;
        a.lead_id = key + 5;
        a.pool_id = i ? "qpool2" : "qpool";
        a.value = 10 + i;
        if ((rc = m->commit(s, &cm, owner, sizeof owner)) != LEADROUTE_OK) {
            store_check_store_failed(check, "commit of Q-2 or Q-3", rc, s);
            goto done;
        }
    }
    if ((rc = m->window(s, "qa", "qpool", t, &n, &v)) != LEADROUTE_OK || n != 1 || v != 10 ||
        (rc = m->window(s, "qa", "qpool2", t, &n, &v)) != LEADROUTE_OK || n != 1 || v != 11 ||
        (rc = m->window(s, "qa", "qpool", t + 1, &n, &v)) != LEADROUTE_OK || n != 0) {
        store_check_failed(check, "window of qa within qpool (Q-2) and qpool2 (Q-3) from their time should count "
                                  "one each, none a millisecond later: %" PRIu64 " of value %.0f (%s)", n, v,
                           leadroute_strerror(rc));
        goto done;
    }
    printf("window: qa within qpool counts Q-2 only\n");

    /* list_due in deadline order, then by key: due at t + 2 min, Q-4 at t + 1 min */
    for (int i = 2; i <= 4; i++) {
        char key[16];
        snprintf(key, sizeof key, "lead:Q-%d", i);
        a.key = key;
        a.lead_id = key + 5;
        a.pool_id = NULL;
        a.sla_minutes = i == 4 ? 1 : 2;
        a.deadline_ms = t + (i == 4 ? 1 : 2) * 60000;
        a.previous = i == 4 ? NULL : "qa";
        if ((rc = m->commit(s, &cm, owner, sizeof owner)) != LEADROUTE_OK) {
            store_check_store_failed(check, "commit of Q-2, Q-3 or Q-4 with a deadline", rc, s);
            goto done;
        }
    }
    a.previous = NULL;
    a.sla_minutes = 0;
    a.deadline_ms = 0;
    kinds due = { s, "", 0 };
    if ((rc = m->list_due(s, t + 2 * 60000, add_due_key, &due)) != LEADROUTE_OK ||
        strcmp(due.text, "lead:Q-4,lead:Q-2,lead:Q-3") != 0) {
        store_check_failed(check, "list_due should give Q-4, then Q-2 and Q-3 (same deadline, by key): %s, \"%s\"",
                           leadroute_strerror(rc), due.text);
        goto done;
    }
    printf("list_due: by deadline, then key (%s)\n", due.text);

    /* a write that fails after the first ones (here a trigger refuses qz's log row, and SQLite keeps the
     * transaction) leaves nothing of the commit: on its own, and inside a batch, which goes on */
    if (raw_exec(check, path, "CREATE TRIGGER refuse_qz AFTER INSERT ON assignments WHEN NEW.rep = 'qz' "
                              "BEGIN SELECT RAISE(ABORT, 'qz refused by the check'); END") != 0)
        goto done;
    store_check_first_assignment(&a, "lead:Q-5", "qz", t, 0);
    leadroute_commit half = { LEADROUTE_COMMIT_VERSION, &a, "qzpool", 0, "z1", 2, 0, "account:qz.example", 0 };
    for (int in_batch = 0; in_batch < 2; in_batch++) {
        uint64_t version = 99;
        size_t length = 0;
        char state[8];
        if (in_batch && (rc = sqlite_store_begin(s)) != LEADROUTE_OK) {
            store_check_store_failed(check, "begin", rc, s);
            goto done;
        }
        rc = m->commit(s, &half, owner, sizeof owner);
        if (rc != LEADROUTE_EIO || !strstr(sqlite_store_errmsg(s), "qz refused by the check")) {
            store_check_failed(check, "a commit whose log row a trigger refuses should fail with EIO, saying why: %s "
                                      "(%s)", leadroute_strerror(rc), sqlite_store_errmsg(s));
            goto done;
        }
        if (in_batch) {
            a.rep_id = "qa"; /* the batch goes on: a commit after the failed one is kept */
            half.account_key = NULL;
            if ((rc = m->commit(s, &half, owner, sizeof owner)) != LEADROUTE_OK ||
                (rc = sqlite_store_commit(s)) != LEADROUTE_OK) {
                store_check_store_failed(check, "the batch after a half-failed commit", rc, s);
                goto done;
            }
        }
        if ((rc = m->load_pool(s, "qzpool", state, sizeof state, &length, &version)) != LEADROUTE_OK ||
            version != (uint64_t)in_batch ||
            m->find_claim(s, "lead:Q-5", err, sizeof err) != (in_batch ? LEADROUTE_OK : LEADROUTE_ENOTFOUND) ||
            (in_batch && strcmp(err, "qa") != 0) ||
            m->find_claim(s, "account:qz.example", err, sizeof err) != LEADROUTE_ENOTFOUND) {
            store_check_failed(check, "the commit to qz that failed half way %s left some of it: qzpool at version "
                                      "%" PRIu64 " (%s)", in_batch ? "in a batch" : "on its own", version,
                               leadroute_strerror(rc));
            goto done;
        }
    }
    if (raw_exec(check, path, "DROP TRIGGER refuse_qz") != 0)
        goto done;
    printf("commit: a write failing half way leaves nothing of it, on its own and in a batch\n");

    for (int i = 1; i <= 5; i++) {
        char key[16];
        snprintf(key, sizeof key, "lead:Q-%d", i);
        if ((rc = m->close(s, key)) != LEADROUTE_OK) {
            store_check_store_failed(check, "close", rc, s);
            goto done;
        }
    }
    status = 0;
done:
    (void)sqlite_store_rollback(s);
    sqlite_store_close(s);
    return status;
}

static const store_check_ops sqlite_check_ops = {
    "sqlite_store_demo", &sqlite_store_methods, check_open, check_close, check_begin, check_commit,
    check_rollback, check_errmsg, check_get, check_record, check_events, sqlite_checks, check_meta,
};

static void remove_database(const char *dir)
{
    static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
    char path[4096];
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        snprintf(path, sizeof path, "%s/%s%s", dir, DB_NAME, suffixes[i]);
        if (remove(path) != 0 && errno != ENOENT)
            fprintf(stderr, "sqlite_store_demo: cannot remove %s: %s\n", path, strerror(errno));
    }
}

int main(int argc, char **argv)
{
    char temp_dir[4096], path[4096];
    const char *dir;
    int made_dir = 0, status;

    if (argc > 2) {
        fprintf(stderr, "usage: sqlite_store_demo [DIRECTORY]\n");
        return 2;
    }
    if (argc == 2) {
        dir = argv[1];
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(temp_dir, sizeof temp_dir, "%s/sqlite_store_demo.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(temp_dir)) {
            fprintf(stderr, "sqlite_store_demo: cannot create a directory %s: %s\n", temp_dir, strerror(errno));
            return 1;
        }
        dir = temp_dir;
        made_dir = 1;
    }
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, DB_NAME) >= sizeof path) {
        fprintf(stderr, "sqlite_store_demo: directory name too long\n");
        return 2;
    }
    remove_database(dir); /* a database left by an earlier run would change every answer */
    printf("database: %s\n", path);

    status = store_check_run_all(&sqlite_check_ops, path);

    if (made_dir) {
        remove_database(dir);
        if (rmdir(dir) != 0)
            fprintf(stderr, "sqlite_store_demo: cannot remove %s: %s\n", dir, strerror(errno));
    }
    printf("%s\n", status == 0 ? "sqlite_store_demo: all checks passed" : "sqlite_store_demo: FAILED");
    return status;
}
