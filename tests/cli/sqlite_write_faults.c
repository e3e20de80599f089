/*
 * sqlite_write_faults: the SQLite store when a write fails, through a VFS
 * that wraps the default one and fails writes on demand with the code a
 * full disk, a passing I/O error or a busy commit gives.
 *
 * - A full disk is a failure that lasts (sqlite_store_failure_lasts() says
 *   so, and the CLI stops instead of retrying); a passing I/O error or a busy
 *   commit is not. None leaves anything written (a busy COMMIT leaves the
 *   transaction open: the store rolls it back), and writes go on once the
 *   fault ends.
 * - A batch whose COMMIT fails while SQLite keeps the transaction open (as a
 *   busy commit does) is rolled back by the store: nothing of it stays, and
 *   the next write is not swallowed by the transaction left behind.
 *
 * Usage: sqlite_write_faults DIRECTORY   (exits 0 on success, 1 on a failure)
 *
 * SPDX-License-Identifier: MIT
 */
#include "sqlite_test_db.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

/* ---- a VFS whose writes fail on demand ---------------------------------------------- */

static int write_fault; /* SQLITE_OK, or what every write returns */
static unsigned long writes_failed;

typedef struct {
    sqlite3_file base;
    sqlite3_file *real; /* the default VFS's file, just after this struct */
} fault_file;

static sqlite3_vfs *real_vfs;

static sqlite3_file *real_of(sqlite3_file *f)
{
    return ((fault_file *)f)->real;
}

static int f_close(sqlite3_file *f)
{
    return real_of(f)->pMethods->xClose(real_of(f));
}

static int f_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
    return real_of(f)->pMethods->xRead(real_of(f), buf, n, off);
}

static int f_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
    if (write_fault != SQLITE_OK) {
        writes_failed++;
        return write_fault;
    }
    return real_of(f)->pMethods->xWrite(real_of(f), buf, n, off);
}

static int f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    return real_of(f)->pMethods->xTruncate(real_of(f), size);
}

static int f_sync(sqlite3_file *f, int flags)
{
    return real_of(f)->pMethods->xSync(real_of(f), flags);
}

static int f_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return real_of(f)->pMethods->xFileSize(real_of(f), size);
}

static int f_lock(sqlite3_file *f, int level)
{
    return real_of(f)->pMethods->xLock(real_of(f), level);
}

static int f_unlock(sqlite3_file *f, int level)
{
    return real_of(f)->pMethods->xUnlock(real_of(f), level);
}

static int f_reserved(sqlite3_file *f, int *out)
{
    return real_of(f)->pMethods->xCheckReservedLock(real_of(f), out);
}

static int f_control(sqlite3_file *f, int op, void *arg)
{
    return real_of(f)->pMethods->xFileControl(real_of(f), op, arg);
}

static int f_sector(sqlite3_file *f)
{
    return real_of(f)->pMethods->xSectorSize(real_of(f));
}

static int f_device(sqlite3_file *f)
{
    return real_of(f)->pMethods->xDeviceCharacteristics(real_of(f));
}

static int f_shm_map(sqlite3_file *f, int region, int size, int extend, void volatile **p)
{
    return real_of(f)->pMethods->xShmMap(real_of(f), region, size, extend, p);
}

static int f_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
    return real_of(f)->pMethods->xShmLock(real_of(f), offset, n, flags);
}

static void f_shm_barrier(sqlite3_file *f)
{
    real_of(f)->pMethods->xShmBarrier(real_of(f));
}

static int f_shm_unmap(sqlite3_file *f, int delete_flag)
{
    return real_of(f)->pMethods->xShmUnmap(real_of(f), delete_flag);
}

/* version 2: no memory-mapped reads, so that every page goes through f_read */
static const sqlite3_io_methods fault_methods = {
    2, f_close, f_read, f_write, f_truncate, f_sync, f_size, f_lock, f_unlock, f_reserved,
    f_control, f_sector, f_device, f_shm_map, f_shm_lock, f_shm_barrier, f_shm_unmap, NULL, NULL,
};

static int fault_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
    fault_file *ff = (fault_file *)f;
    (void)vfs;
    ff->real = (sqlite3_file *)(ff + 1);
    int rc = real_vfs->xOpen(real_vfs, name, ff->real, flags, out_flags);
    /* no methods: SQLite calls no xClose (the default VFS's own rule) */
    ff->base.pMethods = rc == SQLITE_OK && ff->real->pMethods ? &fault_methods : NULL;
    return rc;
}

static sqlite3_vfs fault_vfs;

static int install_fault_vfs(void)
{
    if (!(real_vfs = sqlite3_vfs_find(NULL)))
        return -1;
    fault_vfs = *real_vfs; /* every other method is the default VFS's, on its own data */
    fault_vfs.pNext = NULL;
    fault_vfs.zName = "write-faults";
    fault_vfs.szOsFile = (int)sizeof(fault_file) + real_vfs->szOsFile;
    fault_vfs.xOpen = fault_open;
    return sqlite3_vfs_register(&fault_vfs, 1) == SQLITE_OK ? 0 : -1;
}

/* ---- checks ----------------------------------------------------------------------------- */

static int failures;

static void fail(const char *what, const sqlite_store *s)
{
    fprintf(stderr, "sqlite_write_faults: %s%s%s\n", what, s ? ": " : "", s ? sqlite_store_errmsg(s) : "");
    failures++;
}

/* claim(), when the owner named in a refusal does not matter */
static int claim_key(sqlite_store *s, const char *key)
{
    char owner[64];
    return claim(s, key, owner, sizeof owner);
}

static int held(sqlite_store *s, const char *key)
{
    char owner[64];
    return sqlite_store_methods.find_claim(s, key, owner, sizeof owner) == LEADROUTE_OK;
}

/* A commit while every write fails with `fault`: EIO naming SQLite's
 * `message`, lasting as `lasts` says, nothing claimed; then the fault ends
 * and the same claim is kept. */
static void check_failed_write(sqlite_store *s, const char *key, int fault, const char *message, int lasts)
{
    char what[256];
    unsigned long before = writes_failed;
    write_fault = fault;
    int rc = claim_key(s, key);
    write_fault = SQLITE_OK;
    snprintf(what, sizeof what, "a commit of %s while writes fail with \"%s\"", key, message);
    if (writes_failed == before) {
        fail(strcat(what, " tried no write"), NULL);
        return;
    }
    if (rc != LEADROUTE_EIO || !strstr(sqlite_store_errmsg(s), message)) {
        fprintf(stderr, "sqlite_write_faults: %s gave %d\n", what, rc);
        fail("it should give EIO with SQLite's message", s);
    }
    if (sqlite_store_failure_lasts(s) != lasts) {
        fprintf(stderr, "sqlite_write_faults: %s: failure_lasts %d\n", what, sqlite_store_failure_lasts(s));
        fail(lasts ? "a full disk should be a failure that lasts" : "a passing I/O error should not last", s);
    }
    if (held(s, key))
        fail("the failed commit claimed its key", s);
    if (claim_key(s, key) != LEADROUTE_OK || !held(s, key))
        fail("the same commit once the fault ended should be kept", s);
}

/* A batch of two claims whose COMMIT fails with the transaction still open. */
static void check_failed_batch_commit(sqlite_store *s)
{
    if (sqlite_store_begin(s) != LEADROUTE_OK || claim_key(s, "lead:batch-1") != LEADROUTE_OK ||
        claim_key(s, "lead:batch-2") != LEADROUTE_OK) {
        fail("a batch of two claims", s);
        return;
    }
    unsigned long before = writes_failed;
    write_fault = SQLITE_BUSY; /* a busy COMMIT leaves the transaction open */
    int rc = sqlite_store_commit(s);
    write_fault = SQLITE_OK;
    if (writes_failed == before) {
        fail("the batch's COMMIT tried no write", NULL);
        return;
    }
    if (rc != LEADROUTE_EIO || !strstr(sqlite_store_errmsg(s), "commit batch: database is locked"))
        fail("a batch whose COMMIT failed should give EIO naming the commit", s);
    if (held(s, "lead:batch-1") || held(s, "lead:batch-2"))
        fail("a batch whose COMMIT failed should leave nothing claimed", s);
    /* a new batch starts, and a plain write is committed on its own */
    if (sqlite_store_begin(s) != LEADROUTE_OK || sqlite_store_rollback(s) != LEADROUTE_OK)
        fail("a new batch after the failed COMMIT", s);
    if (claim_key(s, "lead:after-batch") != LEADROUTE_OK)
        fail("a write after the failed batch", s);
}

int main(int argc, char **argv)
{
    char path[4096], err[512];
    sqlite_store *s = NULL;

    if (argc != 2) {
        fprintf(stderr, "usage: sqlite_write_faults DIRECTORY\n");
        return 2;
    }
    if (install_fault_vfs() != 0) {
        fprintf(stderr, "sqlite_write_faults: cannot register the VFS\n");
        return 1;
    }
    fresh_db(argv[1], "faults.db", path, sizeof path);
    if (sqlite_store_open(&s, path, err, sizeof err) != LEADROUTE_OK) {
        fprintf(stderr, "sqlite_write_faults: %s\n", err);
        return 1;
    }
    if (claim_key(s, "lead:before") != LEADROUTE_OK)
        fail("a claim with no fault", s);
    check_failed_write(s, "lead:full", SQLITE_FULL, "database or disk is full", 1);
    check_failed_write(s, "lead:ioerr", SQLITE_IOERR_WRITE, "disk I/O error", 0);
    check_failed_write(s, "lead:busy", SQLITE_BUSY, "database is locked", 0);
    check_failed_batch_commit(s);
    sqlite_store_close(s);

    /* what the file keeps, read by a new connection */
    if (sqlite_store_open_existing(&s, path, err, sizeof err) != LEADROUTE_OK) {
        fprintf(stderr, "sqlite_write_faults: %s\n", err);
        return 1;
    }
    uint32_t open = 0;
    if (!held(s, "lead:before") || !held(s, "lead:full") || !held(s, "lead:ioerr") || !held(s, "lead:busy") ||
        !held(s, "lead:after-batch") || held(s, "lead:batch-1") || held(s, "lead:batch-2") ||
        sqlite_store_methods.open_count(s, "ann", &open) != LEADROUTE_OK || open != 5)
        fail("the file should hold the five claims made with no fault, 5 open for ann, nothing of the batch", s);
    sqlite_store_close(s);
    if (failures)
        return 1;
    printf("sqlite_write_faults: a full disk lasts, an I/O error passes, a failed batch COMMIT leaves nothing\n");
    return 0;
}
