/*
 * What the SQLite store's fault tests share: a fresh database file and a
 * claim of one key.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef SQLITE_TEST_DB_H
#define SQLITE_TEST_DB_H

#include "sqlite_store.h"

#include <leadroute/leadroute.h>

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* `path` names `file` in `dir` (created if missing), with no database, WAL
 * or shared-memory file of an earlier run left. */
static void fresh_db(const char *dir, const char *file, char *path, size_t cap)
{
    static const char *const suffixes[] = { "", "-wal", "-shm" };
    mkdir(dir, 0700);
    snprintf(path, cap, "%s/%s", dir, file);
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s%s", path, suffixes[i]);
        remove(p);
    }
}

/* Claim `key` for rep "ann", with no pool: one claim and one log row. */
static int claim(sqlite_store *s, const char *key, char *owner, size_t cap)
{
    leadroute_assignment a;
    memset(&a, 0, sizeof a);
    a.version = LEADROUTE_ASSIGNMENT_VERSION;
    a.key = key;
    a.lead_id = key;
    a.rep_id = "ann";
    a.at_ms = 1772442000000;
    leadroute_commit cm = { LEADROUTE_COMMIT_VERSION, &a, NULL, 0, NULL, 0, 0, NULL, 0 };
    return sqlite_store_methods.commit(s, &cm, owner, cap);
}

#endif
