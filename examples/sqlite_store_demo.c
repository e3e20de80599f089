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

#include <errno.h>
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

static const store_check_ops sqlite_check_ops = {
    "sqlite_store_demo", &sqlite_store_methods, check_open, check_close, check_begin, check_commit,
    check_rollback, check_errmsg, check_get, check_record, check_events, NULL, check_meta,
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
