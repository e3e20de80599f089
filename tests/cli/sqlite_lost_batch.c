/*
 * sqlite_lost_batch: a batch that SQLite rolls back by itself (here a file
 * size limit makes a write fail, as a full disk would) stays lost: the
 * store refuses every write until the host ends the batch, commits nothing
 * of it, and the file holds only what was committed before the batch.
 *
 * Usage: sqlite_lost_batch DIRECTORY   (exits 0 on success, 77 when the
 * limit could not make a write fail, 1 on a surprise)
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "sqlite_test_db.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SKIP 77

static int failed(const char *what, const sqlite_store *s)
{
    fprintf(stderr, "sqlite_lost_batch: %s%s%s\n", what, s ? ": " : "", s ? sqlite_store_errmsg(s) : "");
    return 1;
}

static off_t size_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : 0;
}

/* In a child, as the limit holds for the process: returns its exit status. */
static int lose_a_batch(const char *path)
{
    sqlite_store *s = NULL;
    char err[512], owner[64], key[32];
    int rc = LEADROUTE_OK, n;

    if (sqlite_store_open(&s, path, err, sizeof err) != LEADROUTE_OK) {
        fprintf(stderr, "sqlite_lost_batch: %s\n", err);
        return 1;
    }
    /* writing past the limit fails with EFBIG instead of a signal */
    signal(SIGXFSZ, SIG_IGN);
    char wal[4200];
    snprintf(wal, sizeof wal, "%s-wal", path);
    struct rlimit lim;
    /* the soft limit only, so that it can be lifted again */
    if (getrlimit(RLIMIT_FSIZE, &lim) != 0)
        return SKIP;
    rlim_t hard = lim.rlim_max;
    lim.rlim_cur = (rlim_t)(size_of(path) + size_of(wal) + 256 * 1024);
    if (hard != RLIM_INFINITY && lim.rlim_cur > hard)
        return SKIP;
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0) {
        perror("sqlite_lost_batch: setrlimit");
        return SKIP;
    }
    if (sqlite_store_begin(s) != LEADROUTE_OK)
        return failed("begin", s);
    /* a batch larger than SQLite's page cache, which spills it to the file */
    for (n = 0; n < 200000 && rc == LEADROUTE_OK; n++) {
        snprintf(key, sizeof key, "lead:B-%06d", n);
        rc = claim(s, key, owner, sizeof owner);
    }
    if (rc == LEADROUTE_OK) {
        rc = sqlite_store_commit(s);
        sqlite_store_close(s);
        fprintf(stderr, "sqlite_lost_batch: no write failed in the batch (its commit said %d): skipped\n", rc);
        return SKIP;
    }
    if (!strstr(sqlite_store_errmsg(s), "the open batch was rolled back")) {
        /* the write failed, but SQLite kept the transaction: nothing to see */
        fprintf(stderr, "sqlite_lost_batch: SQLite kept the batch after \"%s\": skipped\n", sqlite_store_errmsg(s));
        sqlite_store_rollback(s);
        sqlite_store_close(s);
        return SKIP;
    }
    printf("batch lost at commit %d: %s\n", n, sqlite_store_errmsg(s));
    /* the limit is lifted: the next write would succeed, outside any batch */
    lim.rlim_cur = hard;
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0) {
        perror("sqlite_lost_batch: setrlimit");
        return SKIP;
    }
    rc = claim(s, "lead:after", owner, sizeof owner);
    if (rc != LEADROUTE_EIO || !strstr(sqlite_store_errmsg(s), "refused") || !sqlite_store_failure_lasts(s))
        return failed("a write after the batch was lost should be refused with EIO, for good", s);
    printf("next write: %s\n", sqlite_store_errmsg(s));
    if (sqlite_store_methods.close(s, "lead:before") != LEADROUTE_EIO)
        return failed("a close after the batch was lost should be refused", s);
    if (sqlite_store_commit(s) != LEADROUTE_EIO || !strstr(sqlite_store_errmsg(s), "nothing of it was kept"))
        return failed("committing the lost batch should say EIO, nothing kept", s);
    printf("commit: %s\n", sqlite_store_errmsg(s));
    /* the batch is over: writes go on */
    if (claim(s, "lead:after", owner, sizeof owner) != LEADROUTE_OK)
        return failed("a write after the lost batch was ended should be kept", s);
    sqlite_store_close(s);
    return 0;
}

int main(int argc, char **argv)
{
    char path[4096], err[512], owner[64];
    sqlite_store *s = NULL;
    int status;

    if (argc != 2) {
        fprintf(stderr, "usage: sqlite_lost_batch DIRECTORY\n");
        return 2;
    }
    fresh_db(argv[1], "lost.db", path, sizeof path);
    if (sqlite_store_open(&s, path, err, sizeof err) != LEADROUTE_OK) {
        fprintf(stderr, "sqlite_lost_batch: %s\n", err);
        return 1;
    }
    if (claim(s, "lead:before", owner, sizeof owner) != LEADROUTE_OK)
        return failed("claim before the batch", s);
    sqlite_store_close(s);

    pid_t pid = fork();
    if (pid < 0)
        return failed("fork", NULL);
    if (pid == 0) {
        int st = lose_a_batch(path);
        fflush(stdout);
        _exit(st);
    }
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return failed("the child did not exit", NULL);
    if (WEXITSTATUS(status) != 0)
        return WEXITSTATUS(status);

    /* what the file keeps: the claim before the batch and the one after it, nothing of the batch */
    if (sqlite_store_open_existing(&s, path, err, sizeof err) != LEADROUTE_OK) {
        fprintf(stderr, "sqlite_lost_batch: %s\n", err);
        return 1;
    }
    uint32_t open = 0;
    if (sqlite_store_methods.find_claim(s, "lead:before", owner, sizeof owner) != LEADROUTE_OK ||
        sqlite_store_methods.find_claim(s, "lead:after", owner, sizeof owner) != LEADROUTE_OK ||
        sqlite_store_methods.find_claim(s, "lead:B-000000", owner, sizeof owner) != LEADROUTE_ENOTFOUND ||
        sqlite_store_methods.open_count(s, "ann", &open) != LEADROUTE_OK || open != 2)
        return failed("the file should hold lead:before and lead:after only, 2 open for ann", s);
    sqlite_store_close(s);
    printf("sqlite_lost_batch: the lost batch left nothing, the writes before and after it stand\n");
    return 0;
}
