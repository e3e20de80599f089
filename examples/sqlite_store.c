/*
 * A host store for libleadroute in one SQLite database (see sqlite_store.h).
 *
 * Schema (version 1, SQLITE_STORE_SCHEMA_VERSION):
 *
 *   meta (key TEXT PRIMARY KEY, value TEXT)        -- 'schema' -> '1', and the
 *       settings of sqlite_store_meta()
 *   pools (id TEXT PRIMARY KEY, version INTEGER, state BLOB)
 *       A pool's strategy state and its compare-and-swap version. A pool
 *       never written has no row (version 0). The version is a uint64_t kept
 *       in SQLite's signed 64-bit integer.
 *   claims (key TEXT PRIMARY KEY, rep TEXT, is_account INTEGER, ...)
 *       key -> rep. Account claims (is_account = 1, keys "account:...") only
 *       name the account's owner. Lead claims (is_account = 0) carry the
 *       lead's current assignment: lead_id, pool_id, rule_id, table_hash
 *       (uint64_t stored as its signed 64-bit pattern), at_ms, sla_minutes,
 *       deadline_ms (0 = none), value, hops, escalated (0/1),
 *       acknowledged_ms (0 = not yet) and history: the earlier holders,
 *       oldest first, as one BLOB of ids each followed by a NUL byte (NULL =
 *       none). Empty lead, pool and rule ids are stored as NULL.
 *       A rep's open leads are the lead claims it holds: counted through the
 *       partial index claims_open, never stored, so they cannot drift.
 *       The partial index claims_due (deadline_ms, key) holds only the
 *       assignments that can come due, in list_due's order.
 *   assignments (at_ms, rep, pool_id, value)
 *       The assignment log behind rolling caps and value windows: one row
 *       per commit, for the assignment's pool (else the commit's pool).
 *       Indexed by (rep, at_ms) and (pool_id, at_ms); rows more than 31 days
 *       older than the commit's own time, or than this machine's clock if that
 *       is earlier, are deleted as commits go, since no window reaches further
 *       back (30-day caps, value windows of 1..31 days). Not the newest row's
 *       time: one row from a clock far ahead would delete every later one.
 *   events (id INTEGER PRIMARY KEY, at_ms, kind, key, lead_id, detail)
 *       Recorded decisions (sqlite_store_record), indexed by lead id and key.
 *
 * Durability: WAL with synchronous=NORMAL. A committed transaction survives
 * a killed process (it is in the WAL file before COMMIT returns); after a
 * power failure the last transactions before the crash may be lost, never
 * half of one. synchronous=FULL would also keep those, at the price of an
 * fsync per commit.
 *
 * Transactions: outside a batch every write method runs in BEGIN IMMEDIATE
 * ... COMMIT. IMMEDIATE takes the write lock at the start: a deferred
 * transaction that reads first and writes later can fail in WAL mode with
 * SQLITE_BUSY_SNAPSHOT when another connection committed in between. Inside
 * a batch (sqlite_store_begin) a method is a SAVEPOINT, rolled back to on
 * failure, so a commit that returns ECONFLICT or EEXISTS leaves nothing
 * behind. Reads are single SELECT statements: each sees one snapshot.
 *
 * Not thread-safe: one thread at a time per store (see sqlite_store.h).
 * SPDX-License-Identifier: MIT
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* stat */
#endif
#include "sqlite_store.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

/* How long a second process waits for the write lock before giving up. */
#define BUSY_TIMEOUT_MS 5000

/* No window reaches further back than 31 days (see the schema above). */
#define LOG_KEEP_MS ((int64_t)31 * 24 * 60 * 60 * 1000)

/* Log rows before this time are past every window: LOG_KEEP_MS before the
 * commit's time, or before this machine's clock if that is earlier (a host
 * whose clock runs far ahead, or a --now in the future, must not delete the
 * rows that windows read at the real time). */
static int64_t log_prune_before(int64_t at_ms)
{
    struct timespec ts;
    int64_t t = at_ms;
    if (clock_gettime(CLOCK_REALTIME, &ts) == 0) {
        int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        if (now < t)
            t = now;
    }
    return t < INT64_MIN + LOG_KEEP_MS ? INT64_MIN : t - LOG_KEEP_MS;
}

static const char schema_sql[] =
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;\n"
    "CREATE TABLE pools (id TEXT PRIMARY KEY, version INTEGER NOT NULL, state BLOB NOT NULL) WITHOUT ROWID;\n"
    "CREATE TABLE claims (\n"
    "  key TEXT PRIMARY KEY,\n"
    "  rep TEXT NOT NULL,\n"
    "  is_account INTEGER NOT NULL CHECK (is_account IN (0, 1)),\n"
    "  lead_id TEXT, pool_id TEXT, rule_id TEXT,\n"
    "  table_hash INTEGER NOT NULL DEFAULT 0,\n"
    "  at_ms INTEGER NOT NULL DEFAULT 0,\n"
    "  sla_minutes REAL NOT NULL DEFAULT 0,\n"
    "  deadline_ms INTEGER NOT NULL DEFAULT 0,\n"
    "  value REAL NOT NULL DEFAULT 0,\n"
    "  hops INTEGER NOT NULL DEFAULT 0,\n"
    "  escalated INTEGER NOT NULL DEFAULT 0,\n"
    "  acknowledged_ms INTEGER NOT NULL DEFAULT 0,\n"
    "  history BLOB\n"
    ") WITHOUT ROWID;\n"
    "CREATE INDEX claims_open ON claims (rep) WHERE is_account = 0;\n"
    "CREATE INDEX claims_due ON claims (deadline_ms, key)\n"
    "  WHERE is_account = 0 AND deadline_ms <> 0 AND acknowledged_ms = 0;\n"
    "CREATE TABLE assignments (at_ms INTEGER NOT NULL, rep TEXT NOT NULL, pool_id TEXT, value REAL NOT NULL);\n"
    "CREATE INDEX assignments_rep ON assignments (rep, at_ms);\n"
    "CREATE INDEX assignments_pool ON assignments (pool_id, at_ms) WHERE pool_id IS NOT NULL;\n"
    "CREATE INDEX assignments_at ON assignments (at_ms);\n"
    "CREATE TABLE events (id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, kind TEXT NOT NULL,\n"
    "  key TEXT NOT NULL, lead_id TEXT, detail TEXT);\n"
    "CREATE INDEX events_lead ON events (lead_id) WHERE lead_id IS NOT NULL;\n"
    "CREATE INDEX events_key ON events (key);\n";

/* The columns of a claim, in the order read_claim() expects them. */
#define CLAIM_COLUMNS                                                                                      \
    "key, rep, is_account, lead_id, pool_id, rule_id, table_hash, at_ms, sla_minutes, deadline_ms, value, " \
    "hops, escalated, acknowledged_ms, history"

/* Every statement, prepared once at open and reset after each use. */
enum {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_SAVEPOINT,
    ST_RELEASE,
    ST_ROLLBACK_TO,
    ST_POOL_GET,
    ST_POOL_PUT,
    ST_CLAIM_HOLDER,
    ST_CLAIM_GET,
    ST_OPEN_COUNT,
    ST_LEAD_PUT,
    ST_ACCOUNT_PUT,
    ST_CLOSE,
    ST_LOG_ADD,
    ST_LOG_PRUNE,
    ST_WINDOW_REP,
    ST_WINDOW_REP_POOL,
    ST_WINDOW_POOL,
    ST_ACK_SET,
    ST_LIST_DUE,
    ST_EVENT_ADD,
    ST_EVENTS,
    ST_COUNT
};

static const char *const statement_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_SAVEPOINT] = "SAVEPOINT leadroute_call",
    [ST_RELEASE] = "RELEASE leadroute_call",
    [ST_ROLLBACK_TO] = "ROLLBACK TO leadroute_call",
    [ST_POOL_GET] = "SELECT version, state FROM pools WHERE id = ?1",
    [ST_POOL_PUT] = "INSERT INTO pools (id, version, state) VALUES (?1, ?2, ?3) "
                    "ON CONFLICT (id) DO UPDATE SET version = excluded.version, state = excluded.state",
    [ST_CLAIM_HOLDER] = "SELECT rep FROM claims WHERE key = ?1",
    [ST_CLAIM_GET] = "SELECT " CLAIM_COLUMNS " FROM claims WHERE key = ?1",
    [ST_OPEN_COUNT] = "SELECT count(*) FROM claims WHERE rep = ?1 AND is_account = 0",
    [ST_LEAD_PUT] = "INSERT OR REPLACE INTO claims (" CLAIM_COLUMNS ") "
                    "VALUES (?1, ?2, 0, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 0, ?13)",
    [ST_ACCOUNT_PUT] = "INSERT INTO claims (key, rep, is_account) VALUES (?1, ?2, 1) ON CONFLICT (key) DO NOTHING",
    [ST_CLOSE] = "DELETE FROM claims WHERE key = ?1 AND is_account = 0",
    [ST_LOG_ADD] = "INSERT INTO assignments (at_ms, rep, pool_id, value) VALUES (?1, ?2, ?3, ?4)",
    [ST_LOG_PRUNE] = "DELETE FROM assignments WHERE at_ms < ?1",
    [ST_WINDOW_REP] = "SELECT count(*), total(value) FROM assignments WHERE rep = ?1 AND at_ms >= ?2",
    [ST_WINDOW_REP_POOL] = "SELECT count(*), total(value) FROM assignments "
                           "WHERE rep = ?1 AND pool_id = ?2 AND at_ms >= ?3",
    [ST_WINDOW_POOL] = "SELECT count(*), total(value) FROM assignments WHERE pool_id = ?1 AND at_ms >= ?2",
    /* never before the assignment: the router reads its clock before the call */
    [ST_ACK_SET] = "UPDATE claims SET acknowledged_ms = max(?2, at_ms) WHERE key = ?1 AND is_account = 0",
    /* the WHERE repeats the one of claims_due, so that index serves it */
    [ST_LIST_DUE] = "SELECT " CLAIM_COLUMNS " FROM claims "
                    "WHERE is_account = 0 AND deadline_ms <> 0 AND acknowledged_ms = 0 AND deadline_ms <= ?1 "
                    "ORDER BY deadline_ms, key",
    [ST_EVENT_ADD] = "INSERT INTO events (at_ms, kind, key, lead_id, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_EVENTS] = "SELECT at_ms, kind, key, lead_id, detail FROM events WHERE lead_id = ?1 OR key = ?1 "
                  "ORDER BY at_ms, id",
};

/* A growing byte buffer: strings read from rows are appended and later
 * addressed by offset (the buffer may move while it grows). */
typedef struct text_buf {
    char *p;
    size_t len, cap;
} text_buf;

#define NO_TEXT SIZE_MAX /* the offset of an absent (NULL) string */

/* A lead claim as read from a row, its strings in a text_buf. */
typedef struct claim_row {
    size_t key, rep, lead_id, pool_id, rule_id, history; /* offsets, or NO_TEXT */
    size_t history_count;
    int is_account, escalated;
    uint64_t table_hash;
    int64_t at_ms, deadline_ms, acknowledged_ms;
    double sla_minutes, value;
    uint32_t hops;
} claim_row;

struct sqlite_store {
    sqlite3 *db;
    char *path;          /* as given, for messages */
    int in_batch;        /* sqlite_store_begin() opened a transaction */
    int batch_lost;      /* SQLite rolled that transaction back by itself: writes are refused
                            until the host ends the batch */
    char lost_why[768];  /* the failure that lost it, for the refusals' messages */
    int listing_events;  /* ST_EVENTS is stepping: sqlite_store_events is not reentrant */
    int tidy;            /* a reader that found no -wal and -shm file: see close_reader() */
    sqlite3_stmt *st[ST_COUNT];
    char errmsg[768];
    int lasting;         /* the failure in errmsg will not pass: see sqlite_store_failure_lasts() */
    /* what sqlite_store_get() hands out, valid until the next call */
    text_buf get_text;
    const char **get_history;
    size_t get_history_cap;
};

/* ---- messages and statements ---------------------------------------------- */

#if defined(__GNUC__)
#define PRINTF_LIKE(a, b) __attribute__((format(printf, a, b)))
#else
#define PRINTF_LIKE(a, b)
#endif

static int set_error(sqlite_store *s, int code, const char *fmt, ...) PRINTF_LIKE(3, 4);

/* Record a message for sqlite_store_errmsg() and return `code`. */
static int set_error(sqlite_store *s, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->errmsg, sizeof s->errmsg, fmt, ap);
    va_end(ap);
    s->lasting = 0;
    return code;
}

/* Whether SQLite's error `code` will come back however often the write is
 * tried again: the file is read-only or not ours, the disk is full, the
 * database is damaged. A busy or locked database, an I/O error and memory
 * may pass. */
static int failure_lasts(int code)
{
    switch (code & 0xff) {
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
    case SQLITE_CANTOPEN:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_FULL:
        return 1;
    default:
        return 0;
    }
}

/* The directory of `path` ("." for a bare name, with its trailing '/'
 * otherwise), malloc'd; NULL when out of memory. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) + 1 : 1;
    char *dir = malloc(n + 1);
    if (dir) {
        memcpy(dir, slash ? path : ".", n);
        dir[n] = '\0';
    }
    return dir;
}

/* SQLite keeps its journal (and a WAL database its -wal and -shm files)
 * beside the database, so in a directory this user may not write a new
 * database fails with "unable to open database file" and an existing one
 * with "attempt to write a readonly database", though the file itself may
 * be writable. For such a failure (SQLite code `rc`) in such a directory,
 * the note that says so, else "". */
static const char *dir_note(const char *path, int rc)
{
    char *dir;
    int denied;

    if ((rc & 0xff) != SQLITE_READONLY && (rc & 0xff) != SQLITE_CANTOPEN)
        return "";
    if (!(dir = dir_of(path)))
        return "";
    denied = access(dir, W_OK | X_OK) != 0 && errno == EACCES;
    free(dir);
    return denied ? " (its directory may not be written, and SQLite keeps its journal beside the database)" : "";
}

/* A failed SQLite call: "path: what: SQLite's message". Call it before any
 * other call on the connection, which would replace SQLite's message. */
static int sql_error(sqlite_store *s, const char *what)
{
    int code = sqlite3_extended_errcode(s->db), lasting = failure_lasts(code);
    set_error(s, LEADROUTE_EIO, "%s: %s: %s%s", s->path, what, sqlite3_errmsg(s->db), dir_note(s->path, code));
    s->lasting = lasting;
    return LEADROUTE_EIO;
}

static int nomem(sqlite_store *s, const char *what)
{
    return set_error(s, LEADROUTE_ENOMEM, "%s: %s: out of memory", s->path, what);
}

/* One step; SQLITE_ROW and SQLITE_DONE are the answers, anything else an
 * error whose message is recorded. */
static int step(sqlite_store *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        sql_error(s, what);
    return rc;
}

/* Ready the statement for its next use; bound strings are no longer referenced. */
static void finish(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* Run a statement that returns no rows. */
static int run(sqlite_store *s, int id, const char *what)
{
    int rc = step(s, s->st[id], what);
    finish(s->st[id]);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? LEADROUTE_OK : LEADROUTE_EIO;
}

/* Bind helpers: the strings are bound SQLITE_STATIC (they outlive the
 * statement's use, and finish() clears the bindings). A NULL string binds
 * NULL; so does an empty one with `empty_is_null`. */
static int bind_text(sqlite3_stmt *st, int i, const char *v, int empty_is_null)
{
    if (!v || (empty_is_null && !*v))
        return sqlite3_bind_null(st, i);
    return sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

static int bind_blob(sqlite3_stmt *st, int i, const void *v, size_t n)
{
    /* a NULL pointer would bind NULL, not an empty blob */
    return sqlite3_bind_blob64(st, i, n ? v : "", (sqlite3_uint64)n, SQLITE_STATIC);
}

/* ---- transactions ------------------------------------------------------------ */

/* The start of a write method: a transaction of its own, or a savepoint
 * inside the open batch. */
static int tx_begin(sqlite_store *s, const char *what)
{
    if (s->batch_lost) {
        /* writing now would keep each write on its own, beyond the reach
         * of the host's rollback: the host ends the batch first */
        set_error(s, LEADROUTE_EIO, "%s: %s: refused: the open batch was rolled back after \"%s\"; end it "
                  "(sqlite_store_rollback) before writing again", s->path, what, s->lost_why);
        s->lasting = 1;
        return LEADROUTE_EIO;
    }
    if (run(s, s->in_batch ? ST_SAVEPOINT : ST_BEGIN, what) != LEADROUTE_OK)
        return LEADROUTE_EIO;
    return LEADROUTE_OK;
}

/* Some errors (disk full, I/O, out of memory) make SQLite roll back the
 * whole transaction by itself: then the batch is lost, and the message says
 * so. It stays open for the host, refusing writes, until the host ends it. */
static void note_lost_batch(sqlite_store *s)
{
    if (s->in_batch && !s->batch_lost && sqlite3_get_autocommit(s->db)) {
        size_t n = strlen(s->errmsg);
        s->batch_lost = 1;
        snprintf(s->lost_why, sizeof s->lost_why, "%s", s->errmsg);
        snprintf(s->errmsg + n, sizeof s->errmsg - n, "%s", "; the open batch was rolled back");
    }
}

/* The end of a write method whose result is `result`: keep its changes on
 * LEADROUTE_OK, else undo all of them. Returns the method's result, or
 * LEADROUTE_EIO when keeping the changes failed. */
static int tx_end(sqlite_store *s, int result, const char *what)
{
    if (result == LEADROUTE_OK) {
        if (run(s, s->in_batch ? ST_RELEASE : ST_COMMIT, what) == LEADROUTE_OK)
            return LEADROUTE_OK;
        result = LEADROUTE_EIO; /* and undo below */
    }
    if (sqlite3_get_autocommit(s->db)) { /* already rolled back by SQLite */
        note_lost_batch(s);
        return result;
    }
    if (s->in_batch) {
        /* ROLLBACK TO keeps the savepoint open: RELEASE ends it */
        if (run(s, ST_ROLLBACK_TO, what) != LEADROUTE_OK || run(s, ST_RELEASE, what) != LEADROUTE_OK) {
            result = LEADROUTE_EIO;
            note_lost_batch(s);
        }
    } else if (!sqlite3_get_autocommit(s->db)) {
        char kept[sizeof s->errmsg];
        int kept_lasting = s->lasting;
        memcpy(kept, s->errmsg, sizeof kept);
        if (run(s, ST_ROLLBACK, what) != LEADROUTE_OK && result != LEADROUTE_EIO) {
            result = LEADROUTE_EIO; /* the rollback's own message stands */
        } else {
            memcpy(s->errmsg, kept, sizeof kept); /* the reason for the rollback is what matters */
            s->lasting = kept_lasting;
        }
    }
    return result;
}

/* ---- reading claims ------------------------------------------------------------ */

/* Append `n` bytes and a NUL; `*off` gets where they start. */
static int text_add(text_buf *b, const void *data, size_t n, size_t *off)
{
    if (n > SIZE_MAX - b->len - 2)
        return LEADROUTE_ENOMEM;
    if (b->len + n + 2 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 2)
            cap = cap <= SIZE_MAX / 2 ? cap * 2 : b->len + n + 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return LEADROUTE_ENOMEM;
        b->p = p;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, data, n);
    b->p[b->len + n] = '\0';
    *off = b->len;
    b->len += n + 1;
    return LEADROUTE_OK;
}

/* Column `col` as text into `b` (NO_TEXT for NULL). */
static int column_text(sqlite3_stmt *st, int col, text_buf *b, size_t *off)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL) {
        *off = NO_TEXT;
        return LEADROUTE_OK;
    }
    const unsigned char *t = sqlite3_column_text(st, col);
    if (!t) /* a value that is not NULL reads as NULL only when out of memory */
        return LEADROUTE_ENOMEM;
    return text_add(b, t, (size_t)sqlite3_column_bytes(st, col), off);
}

/* The history column: ids each followed by a NUL. A blob whose last id lost
 * its NUL still reads (text_add adds one). */
static int column_history(sqlite3_stmt *st, int col, text_buf *b, size_t *off, size_t *count)
{
    const unsigned char *h = sqlite3_column_blob(st, col);
    size_t n = (size_t)sqlite3_column_bytes(st, col);
    *off = NO_TEXT;
    *count = 0;
    if (n == 0)
        return LEADROUTE_OK; /* NULL or empty: no earlier holder */
    if (!h)
        return LEADROUTE_ENOMEM;
    if (h[n - 1] == '\0')
        n--; /* text_add writes the last NUL */
    for (size_t i = 0; i < n; i++)
        *count += h[i] == '\0';
    (*count)++;
    return text_add(b, h, n, off);
}

static uint32_t clamp_u32(sqlite3_int64 v)
{
    return v < 0 ? 0 : v > (sqlite3_int64)UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* Read a row of CLAIM_COLUMNS into `r`, its strings into `b`. */
static int read_claim(sqlite3_stmt *st, text_buf *b, claim_row *r)
{
    int rc;
    memset(r, 0, sizeof *r);
    if ((rc = column_text(st, 0, b, &r->key)) != 0 || (rc = column_text(st, 1, b, &r->rep)) != 0 ||
        (rc = column_text(st, 3, b, &r->lead_id)) != 0 || (rc = column_text(st, 4, b, &r->pool_id)) != 0 ||
        (rc = column_text(st, 5, b, &r->rule_id)) != 0 ||
        (rc = column_history(st, 14, b, &r->history, &r->history_count)) != 0)
        return rc;
    r->is_account = sqlite3_column_int64(st, 2) != 0;
    r->table_hash = (uint64_t)sqlite3_column_int64(st, 6);
    r->at_ms = sqlite3_column_int64(st, 7);
    r->sla_minutes = sqlite3_column_double(st, 8);
    r->deadline_ms = sqlite3_column_int64(st, 9);
    r->value = sqlite3_column_double(st, 10);
    r->hops = clamp_u32(sqlite3_column_int64(st, 11));
    r->escalated = sqlite3_column_int64(st, 12) != 0;
    r->acknowledged_ms = sqlite3_column_int64(st, 13);
    return LEADROUTE_OK;
}

static const char *text_at(const text_buf *b, size_t off)
{
    return off == NO_TEXT ? NULL : b->p + off;
}

/* An assignment as a listing gives it; `history` has room for the row's
 * history_count pointers. */
static void fill_assignment(const claim_row *r, const text_buf *b, const char **history, leadroute_assignment *a)
{
    memset(a, 0, sizeof *a);
    a->version = LEADROUTE_ASSIGNMENT_VERSION;
    a->key = text_at(b, r->key);
    a->lead_id = text_at(b, r->lead_id);
    a->rep_id = text_at(b, r->rep);
    a->pool_id = text_at(b, r->pool_id);
    a->rule_id = text_at(b, r->rule_id);
    a->table_hash = r->table_hash;
    a->at_ms = r->at_ms;
    a->sla_minutes = r->sla_minutes;
    a->deadline_ms = r->deadline_ms;
    a->value = r->value;
    a->hops = r->hops;
    a->escalated = r->escalated;
    a->acknowledged_ms = r->acknowledged_ms;
    const char *h = text_at(b, r->history);
    for (size_t i = 0; i < r->history_count; i++) {
        history[i] = h;
        h += strlen(h) + 1;
    }
    a->history = r->history_count ? history : NULL;
    a->history_count = r->history_count;
    a->previous = r->history_count ? history[r->history_count - 1] : NULL;
}

/* Room for `n` history pointers. */
static int history_room(const char ***v, size_t *cap, size_t n)
{
    if (n <= *cap)
        return LEADROUTE_OK;
    const char **grown = n <= SIZE_MAX / sizeof *grown ? realloc((void *)*v, n * sizeof *grown) : NULL;
    if (!grown)
        return LEADROUTE_ENOMEM;
    *v = grown;
    *cap = n;
    return LEADROUTE_OK;
}

/* ---- the store methods ------------------------------------------------------------ */

static int sq_load_pool(void *user, const char *pool_id, void *buf, size_t cap, size_t *length,
                        uint64_t *state_version)
{
    sqlite_store *s = user;
    if (!s || !pool_id || !length || !state_version || (!buf && cap > 0))
        return LEADROUTE_EINVAL;
    sqlite3_stmt *st = s->st[ST_POOL_GET];
    int rc = LEADROUTE_OK, r;
    if (bind_text(st, 1, pool_id, 0) != SQLITE_OK) {
        rc = sql_error(s, "load_pool");
    } else if ((r = step(s, st, "load_pool")) == SQLITE_ROW) {
        const void *state = sqlite3_column_blob(st, 1);
        size_t n = (size_t)sqlite3_column_bytes(st, 1);
        if (n && !state) {
            rc = nomem(s, "load_pool");
        } else {
            *length = n;
            *state_version = (uint64_t)sqlite3_column_int64(st, 0);
            if (n && n <= cap)
                memcpy(buf, state, n); /* else the router asks again with room for `n` */
        }
    } else if (r == SQLITE_DONE) { /* never written */
        *length = 0;
        *state_version = 0;
    } else {
        rc = LEADROUTE_EIO;
    }
    finish(st);
    return rc;
}

/* The rep holding `key` into `rep_id` (`cap` bytes), ENOTFOUND when the key
 * is free. An id of `cap` bytes or more is ERANGE, or with `cut` cut to fit
 * (nothing is copied when `cap` is 0). */
static int claim_holder(sqlite_store *s, const char *key, char *rep_id, size_t cap, int cut, const char *what)
{
    sqlite3_stmt *st = s->st[ST_CLAIM_HOLDER];
    int rc, r;
    if (bind_text(st, 1, key, 0) != SQLITE_OK) {
        rc = sql_error(s, what);
    } else if ((r = step(s, st, what)) == SQLITE_ROW) {
        const char *rep = (const char *)sqlite3_column_text(st, 0);
        size_t n = rep ? strlen(rep) : 0;
        rc = LEADROUTE_OK;
        if (!rep)
            rc = nomem(s, what);
        else if (n >= cap && !cut)
            rc = set_error(s, LEADROUTE_ERANGE, "%s: the holder's id needs %zu bytes, %zu given", what, n + 1,
                           cap);
        else if (cap)
            snprintf(rep_id, cap, "%s", rep);
    } else {
        rc = r == SQLITE_DONE ? LEADROUTE_ENOTFOUND : LEADROUTE_EIO;
    }
    finish(st);
    return rc;
}

static int sq_find_claim(void *user, const char *key, char *rep_id, size_t cap)
{
    sqlite_store *s = user;
    if (!s || !key || (!rep_id && cap > 0))
        return LEADROUTE_EINVAL;
    return claim_holder(s, key, rep_id, cap, 0, "find_claim");
}

/* The lead claims `rep_id` holds. */
static int count_open(sqlite_store *s, const char *rep_id, const char *what, sqlite3_int64 *n)
{
    sqlite3_stmt *st = s->st[ST_OPEN_COUNT];
    int rc = LEADROUTE_OK;
    if (bind_text(st, 1, rep_id, 0) != SQLITE_OK)
        rc = sql_error(s, what);
    else if (step(s, st, what) == SQLITE_ROW)
        *n = sqlite3_column_int64(st, 0);
    else
        rc = LEADROUTE_EIO;
    finish(st);
    return rc;
}

static int sq_open_count(void *user, const char *rep_id, uint32_t *count)
{
    sqlite_store *s = user;
    sqlite3_int64 n = 0;
    if (!s || !rep_id || !count)
        return LEADROUTE_EINVAL;
    int rc = count_open(s, rep_id, "open_count", &n);
    if (rc == LEADROUTE_OK)
        *count = clamp_u32(n);
    return rc;
}

static int check_commit(sqlite_store *s, const leadroute_commit *cm)
{
    const leadroute_assignment *a = cm ? cm->assignment : NULL;
    if (!cm || !a)
        return set_error(s, LEADROUTE_EINVAL, "commit: NULL commit or assignment");
    if (cm->version == 0 || cm->version > LEADROUTE_COMMIT_VERSION || a->version == 0 ||
        a->version > LEADROUTE_ASSIGNMENT_VERSION)
        return set_error(s, LEADROUTE_EVERSION,
                         "commit: commit version %u or assignment version %u is not supported",
                         (unsigned)cm->version, (unsigned)a->version);
    if (!a->key || !a->rep_id || (cm->pool_id && cm->state_length && !cm->state))
        return set_error(s, LEADROUTE_EINVAL,
                         "commit: the assignment needs a key and a rep id, the state its bytes");
    /* SQLite stores NaN as NULL: it would not read back */
    if (!isfinite(a->value) || !isfinite(a->sla_minutes))
        return set_error(s, LEADROUTE_EINVAL, "commit: the value or SLA of %s is not finite", a->key);
    return LEADROUTE_OK;
}

/* Step 3 of a commit: who holds the key, and its history if `previous`
 * holds it. `*held` 0 = free, 1 = held by `previous` (history copied into a
 * new `*history` of `*history_len` bytes), EEXISTS = held by someone else
 * (copied into `owner`). A tick's move (`follow_up`) also needs `previous`
 * to hold the key still unacknowledged: a close or an acknowledgement made
 * after the tick listed the lead wins, EEXISTS with the holder or "". */
static int read_holder(sqlite_store *s, const leadroute_assignment *a, int follow_up, char *owner,
                       size_t owner_cap, int *held, unsigned char **history, size_t *history_len)
{
    sqlite3_stmt *st = s->st[ST_CLAIM_GET];
    int rc = LEADROUTE_OK, r;
    *held = 0;
    *history = NULL;
    *history_len = 0;
    if (bind_text(st, 1, a->key, 0) != SQLITE_OK) {
        rc = sql_error(s, "commit");
    } else if ((r = step(s, st, "commit")) == SQLITE_ROW) {
        const char *holder = (const char *)sqlite3_column_text(st, 1);
        if (!holder) {
            rc = nomem(s, "commit");
        } else if (!a->previous || strcmp(holder, a->previous) != 0) {
            if (owner && owner_cap)
                snprintf(owner, owner_cap, "%s", holder);
            rc = set_error(s, LEADROUTE_EEXISTS, "commit: %s is held by %s", a->key, holder);
        } else if (follow_up && sqlite3_column_int64(st, 13) != 0) {
            if (owner && owner_cap)
                snprintf(owner, owner_cap, "%s", holder);
            rc = set_error(s, LEADROUTE_EEXISTS, "commit: %s was acknowledged by %s since it came due",
                           a->key, holder);
        } else if (follow_up && (sqlite3_column_int64(st, 9) == 0 || sqlite3_column_int64(st, 9) > a->at_ms)) {
            /* not due at the move's time: assigned again since the tick listed it */
            if (owner && owner_cap)
                snprintf(owner, owner_cap, "%s", holder);
            rc = set_error(s, LEADROUTE_EEXISTS, "commit: %s was assigned again since it came due", a->key);
        } else {
            const void *h = sqlite3_column_blob(st, 14);
            size_t n = (size_t)sqlite3_column_bytes(st, 14);
            *held = 1;
            if (n && !h) {
                rc = nomem(s, "commit");
            } else if (n) {
                if (!(*history = malloc(n)))
                    rc = nomem(s, "commit");
                else {
                    memcpy(*history, h, n);
                    *history_len = n;
                }
            }
        }
    } else if (r != SQLITE_DONE) {
        rc = LEADROUTE_EIO;
    } else if (follow_up) {
        if (owner && owner_cap)
            owner[0] = '\0';
        rc = set_error(s, LEADROUTE_EEXISTS, "commit: %s was closed since it came due", a->key);
    }
    finish(st);
    return rc;
}

/* `history` + `previous` and its NUL, in a new buffer (the old one is freed). */
static int history_append(unsigned char **history, size_t *len, const char *previous)
{
    size_t n = strlen(previous) + 1, old = *len;
    /* an old blob that lost its last NUL gets it back, so ids stay apart */
    size_t fix = old && (*history)[old - 1] != '\0';
    unsigned char *h = realloc(*history, old + fix + n);
    if (!h)
        return LEADROUTE_ENOMEM;
    if (fix)
        h[old] = '\0';
    memcpy(h + old + fix, previous, n);
    *history = h;
    *len = old + fix + n;
    return LEADROUTE_OK;
}

/* Step 4: the writes. */
static int write_commit(sqlite_store *s, const leadroute_commit *cm, const unsigned char *history,
                        size_t history_len)
{
    const leadroute_assignment *a = cm->assignment;
    sqlite3_stmt *st;
    int b;

    if (cm->pool_id) {
        st = s->st[ST_POOL_PUT];
        if ((b = bind_text(st, 1, cm->pool_id, 0)) != SQLITE_OK ||
            (b = sqlite3_bind_int64(st, 2, (sqlite3_int64)(cm->expected_version + 1))) != SQLITE_OK ||
            (b = bind_blob(st, 3, cm->state, cm->state_length)) != SQLITE_OK) {
            sql_error(s, "commit: pool state");
            finish(st);
            return LEADROUTE_EIO;
        }
        if (run(s, ST_POOL_PUT, "commit: pool state") != LEADROUTE_OK)
            return LEADROUTE_EIO;
    }

    st = s->st[ST_LEAD_PUT];
    if ((b = bind_text(st, 1, a->key, 0)) != SQLITE_OK || (b = bind_text(st, 2, a->rep_id, 0)) != SQLITE_OK ||
        (b = bind_text(st, 3, a->lead_id, 1)) != SQLITE_OK || (b = bind_text(st, 4, a->pool_id, 1)) != SQLITE_OK ||
        (b = bind_text(st, 5, a->rule_id, 1)) != SQLITE_OK ||
        (b = sqlite3_bind_int64(st, 6, (sqlite3_int64)a->table_hash)) != SQLITE_OK ||
        (b = sqlite3_bind_int64(st, 7, a->at_ms)) != SQLITE_OK ||
        (b = sqlite3_bind_double(st, 8, a->sla_minutes)) != SQLITE_OK ||
        (b = sqlite3_bind_int64(st, 9, a->deadline_ms)) != SQLITE_OK ||
        (b = sqlite3_bind_double(st, 10, a->value)) != SQLITE_OK ||
        (b = sqlite3_bind_int64(st, 11, a->hops)) != SQLITE_OK ||
        (b = sqlite3_bind_int(st, 12, a->escalated != 0)) != SQLITE_OK ||
        (b = history_len ? bind_blob(st, 13, history, history_len) : sqlite3_bind_null(st, 13)) != SQLITE_OK) {
        sql_error(s, "commit: claim");
        finish(st);
        return LEADROUTE_EIO;
    }
    if (run(s, ST_LEAD_PUT, "commit: claim") != LEADROUTE_OK)
        return LEADROUTE_EIO;

    /* the log: the assignment's pool, else the commit's */
    const char *log_pool = a->pool_id && *a->pool_id ? a->pool_id : cm->pool_id;
    st = s->st[ST_LOG_ADD];
    if ((b = sqlite3_bind_int64(st, 1, a->at_ms)) != SQLITE_OK ||
        (b = bind_text(st, 2, a->rep_id, 0)) != SQLITE_OK || (b = bind_text(st, 3, log_pool, 1)) != SQLITE_OK ||
        (b = sqlite3_bind_double(st, 4, a->value)) != SQLITE_OK) {
        sql_error(s, "commit: assignment log");
        finish(st);
        return LEADROUTE_EIO;
    }
    if (run(s, ST_LOG_ADD, "commit: assignment log") != LEADROUTE_OK)
        return LEADROUTE_EIO;
    st = s->st[ST_LOG_PRUNE];
    if (sqlite3_bind_int64(st, 1, log_prune_before(a->at_ms)) != SQLITE_OK) {
        sql_error(s, "commit: assignment log");
        finish(st);
        return LEADROUTE_EIO;
    }
    if (run(s, ST_LOG_PRUNE, "commit: assignment log") != LEADROUTE_OK)
        return LEADROUTE_EIO;

    if (cm->account_key) { /* taken only when free: DO NOTHING otherwise */
        st = s->st[ST_ACCOUNT_PUT];
        if ((b = bind_text(st, 1, cm->account_key, 0)) != SQLITE_OK ||
            (b = bind_text(st, 2, a->rep_id, 0)) != SQLITE_OK) {
            sql_error(s, "commit: account claim");
            finish(st);
            return LEADROUTE_EIO;
        }
        if (run(s, ST_ACCOUNT_PUT, "commit: account claim") != LEADROUTE_OK)
            return LEADROUTE_EIO;
    }
    return LEADROUTE_OK;
}

static int sq_commit(void *user, const leadroute_commit *cm, char *owner, size_t owner_cap)
{
    sqlite_store *s = user;
    if (!s)
        return LEADROUTE_EINVAL;
    int rc = check_commit(s, cm);
    if (rc != LEADROUTE_OK)
        return rc;
    const leadroute_assignment *a = cm->assignment;
    if (cm->version >= 2 && (cm->flags & LEADROUTE_COMMIT_FOLLOW_UP) && !a->previous) {
        /* a move from nobody moves nothing: refused, naming the holder ("" for a free key) */
        rc = claim_holder(s, a->key, owner, owner ? owner_cap : 0, 1, "commit");
        if (rc == LEADROUTE_ENOTFOUND && owner && owner_cap)
            owner[0] = '\0';
        else if (rc != LEADROUTE_OK && rc != LEADROUTE_ENOTFOUND)
            return rc;
        return set_error(s, LEADROUTE_EEXISTS, "commit: the move of %s names no previous holder; nothing moved",
                         a->key);
    }
    if ((rc = tx_begin(s, "commit")) != LEADROUTE_OK)
        return rc;

    unsigned char *history = NULL;
    size_t history_len = 0;
    int held = 0;
    /* 1. the pool state version */
    if (cm->pool_id) {
        uint64_t version = 0;
        size_t length = 0;
        rc = sq_load_pool(s, cm->pool_id, NULL, 0, &length, &version);
        if (rc == LEADROUTE_OK && version != cm->expected_version)
            rc = set_error(s, LEADROUTE_ECONFLICT, "commit: pool %s is at version %llu, expected %llu",
                           cm->pool_id, (unsigned long long)version, (unsigned long long)cm->expected_version);
    }
    /* 2. the rep's capacity */
    if (rc == LEADROUTE_OK && cm->capacity > 0) {
        sqlite3_int64 open = 0;
        rc = count_open(s, a->rep_id, "commit", &open);
        if (rc == LEADROUTE_OK && open >= (sqlite3_int64)cm->capacity)
            rc = set_error(s, LEADROUTE_ECONFLICT, "commit: rep %s has reached the commit's capacity of %u open leads", a->rep_id,
                           (unsigned)cm->capacity);
    }
    /* 3. the key: free, or held by `previous` (a tick's move: held by
     *    `previous` and not acknowledged; flags exist from version 2 on) */
    int follow_up = cm->version >= 2 && (cm->flags & LEADROUTE_COMMIT_FOLLOW_UP);
    if (rc == LEADROUTE_OK)
        rc = read_holder(s, a, follow_up, owner, owner_cap, &held, &history, &history_len);
    /* 4. the writes; a reassignment adds `previous` to the history (kept
     *    even if `previous` closed the lead meanwhile), and the new holder
     *    starts unacknowledged */
    if (rc == LEADROUTE_OK && a->previous && history_append(&history, &history_len, a->previous) != 0)
        rc = nomem(s, "commit");
    if (rc == LEADROUTE_OK)
        rc = write_commit(s, cm, history, history_len);
    free(history);
    return tx_end(s, rc, "commit");
}

static int sq_close(void *user, const char *key)
{
    sqlite_store *s = user;
    if (!s || !key)
        return LEADROUTE_EINVAL;
    int rc = tx_begin(s, "close");
    if (rc != LEADROUTE_OK)
        return rc;
    sqlite3_stmt *st = s->st[ST_CLOSE];
    if (bind_text(st, 1, key, 0) != SQLITE_OK) {
        rc = sql_error(s, "close");
        finish(st);
    } else if ((rc = run(s, ST_CLOSE, "close")) == LEADROUTE_OK && sqlite3_changes(s->db) == 0) {
        /* account claims are never closed */
        rc = set_error(s, LEADROUTE_ENOTFOUND, "close: no lead of key %s is claimed", key);
    }
    return tx_end(s, rc, "close");
}

static int sq_window(void *user, const char *rep_id, const char *pool_id, int64_t since_ms, uint64_t *count,
                     double *value)
{
    sqlite_store *s = user;
    if (!s || (!rep_id && !pool_id))
        return LEADROUTE_EINVAL;
    /* by rep, by pool, or (both given) by rep within the pool */
    int id = rep_id ? (pool_id ? ST_WINDOW_REP_POOL : ST_WINDOW_REP) : ST_WINDOW_POOL;
    sqlite3_stmt *st = s->st[id];
    int rc = LEADROUTE_OK, b, i = 1;
    if ((rep_id && (b = bind_text(st, i++, rep_id, 0)) != SQLITE_OK) ||
        (pool_id && (b = bind_text(st, i++, pool_id, 0)) != SQLITE_OK) ||
        (b = sqlite3_bind_int64(st, i, since_ms)) != SQLITE_OK) {
        rc = sql_error(s, "window");
    } else if (step(s, st, "window") == SQLITE_ROW) {
        if (count)
            *count = (uint64_t)sqlite3_column_int64(st, 0);
        if (value)
            *value = sqlite3_column_double(st, 1);
    } else {
        rc = LEADROUTE_EIO;
    }
    finish(st);
    return rc;
}

static int sq_acknowledge(void *user, const char *key, int64_t at_ms, int64_t *assigned_ms, char *rep_id,
                          size_t rep_cap, char *pool_id, size_t pool_cap)
{
    sqlite_store *s = user;
    if (!s || !key || (!rep_id && rep_cap > 0) || (!pool_id && pool_cap > 0))
        return LEADROUTE_EINVAL;
    int rc = tx_begin(s, "acknowledge"), r;
    if (rc != LEADROUTE_OK)
        return rc;
    int64_t acknowledged = 0;
    sqlite3_stmt *st = s->st[ST_CLAIM_GET];
    if (bind_text(st, 1, key, 0) != SQLITE_OK) {
        rc = sql_error(s, "acknowledge");
    } else if ((r = step(s, st, "acknowledge")) == SQLITE_ROW && sqlite3_column_int64(st, 2) == 0) {
        const char *rep = (const char *)sqlite3_column_text(st, 1);
        const char *pool = (const char *)sqlite3_column_text(st, 4); /* NULL: none */
        if (!rep)
            rc = nomem(s, "acknowledge");
        if (assigned_ms)
            *assigned_ms = sqlite3_column_int64(st, 7);
        if (rep_id && rep_cap)
            snprintf(rep_id, rep_cap, "%s", rep ? rep : "");
        if (pool_id && pool_cap)
            snprintf(pool_id, pool_cap, "%s", pool ? pool : "");
        acknowledged = sqlite3_column_int64(st, 13);
    } else if (r == SQLITE_ROW || r == SQLITE_DONE) { /* account claims are not acknowledged */
        rc = set_error(s, LEADROUTE_ENOTFOUND, "acknowledge: no lead of key %s is claimed", key);
    } else {
        rc = LEADROUTE_EIO;
    }
    finish(st);
    if (rc == LEADROUTE_OK && acknowledged != 0) {
        rc = set_error(s, LEADROUTE_EEXISTS, "acknowledge: %s was acknowledged before", key);
    } else if (rc == LEADROUTE_OK) {
        st = s->st[ST_ACK_SET];
        /* 0 means "not yet", so a follow-up at the epoch itself is moved by 1 ms */
        if (bind_text(st, 1, key, 0) != SQLITE_OK ||
            sqlite3_bind_int64(st, 2, at_ms != 0 ? at_ms : 1) != SQLITE_OK) {
            rc = sql_error(s, "acknowledge");
            finish(st);
        } else {
            rc = run(s, ST_ACK_SET, "acknowledge");
        }
    }
    return tx_end(s, rc, "acknowledge");
}

/* Every due row is read before `each` runs: the statement is done, so
 * `each` may even call the store. */
static int sq_list_due(void *user, int64_t now_ms, int (*each)(void *ctx, const leadroute_assignment *a),
                       void *ctx)
{
    sqlite_store *s = user;
    if (!s || !each)
        return LEADROUTE_EINVAL;
    text_buf text = { NULL, 0, 0 };
    claim_row *rows = NULL;
    size_t n = 0, cap = 0, most_history = 0;
    const char **history = NULL;
    sqlite3_stmt *st = s->st[ST_LIST_DUE];
    int rc = LEADROUTE_OK, r = SQLITE_DONE;
    if (sqlite3_bind_int64(st, 1, now_ms) != SQLITE_OK)
        rc = sql_error(s, "list_due");
    while (rc == LEADROUTE_OK && (r = step(s, st, "list_due")) == SQLITE_ROW) {
        if (n == cap) {
            size_t grown_cap = cap ? cap * 2 : 16;
            claim_row *grown =
                grown_cap <= SIZE_MAX / sizeof *grown ? realloc(rows, grown_cap * sizeof *grown) : NULL;
            if (!grown) {
                rc = nomem(s, "list_due");
                break;
            }
            rows = grown;
            cap = grown_cap;
        }
        if (read_claim(st, &text, &rows[n]) != LEADROUTE_OK) {
            rc = nomem(s, "list_due");
            break;
        }
        if (rows[n].history_count > most_history)
            most_history = rows[n].history_count;
        n++;
    }
    if (rc == LEADROUTE_OK && r != SQLITE_DONE)
        rc = LEADROUTE_EIO;
    finish(st);
    if (rc == LEADROUTE_OK && most_history && !(history = malloc(most_history * sizeof *history)))
        rc = nomem(s, "list_due");
    for (size_t i = 0; i < n && rc == LEADROUTE_OK; i++) {
        leadroute_assignment a;
        fill_assignment(&rows[i], &text, history, &a);
        rc = each(ctx, &a);
    }
    free((void *)history);
    free(rows);
    free(text.p);
    return rc;
}

const leadroute_store sqlite_store_methods = {
    LEADROUTE_STORE_VERSION, sq_load_pool, sq_find_claim, sq_open_count, sq_commit, sq_close,
    sq_window, sq_acknowledge, sq_list_due,
};

/* ---- beyond the store contract ----------------------------------------------------- */

int sqlite_store_get(sqlite_store *s, const char *key, leadroute_assignment *out)
{
    if (!s || !key || !out)
        return LEADROUTE_EINVAL;
    sqlite3_stmt *st = s->st[ST_CLAIM_GET];
    claim_row row;
    int rc = LEADROUTE_OK, r;
    memset(&row, 0, sizeof row);
    s->get_text.len = 0; /* the previous answer's strings go */
    if (bind_text(st, 1, key, 0) != SQLITE_OK)
        rc = sql_error(s, "get");
    else if ((r = step(s, st, "get")) == SQLITE_ROW && sqlite3_column_int64(st, 2) == 0)
        rc = read_claim(st, &s->get_text, &row) == LEADROUTE_OK ? LEADROUTE_OK : nomem(s, "get");
    else if (r == SQLITE_ROW || r == SQLITE_DONE)
        rc = set_error(s, LEADROUTE_ENOTFOUND, "get: no lead of key %s is claimed", key);
    else
        rc = LEADROUTE_EIO;
    finish(st);
    if (rc == LEADROUTE_OK && history_room(&s->get_history, &s->get_history_cap, row.history_count) != 0)
        rc = nomem(s, "get");
    if (rc == LEADROUTE_OK)
        fill_assignment(&row, &s->get_text, s->get_history, out);
    return rc;
}

int sqlite_store_record(sqlite_store *s, const sqlite_store_event *e)
{
    if (!s)
        return LEADROUTE_EINVAL;
    if (!e || !e->kind || !e->key)
        return set_error(s, LEADROUTE_EINVAL, "record: an event needs a kind and a key");
    int rc = tx_begin(s, "record"), b;
    if (rc != LEADROUTE_OK)
        return rc;
    sqlite3_stmt *st = s->st[ST_EVENT_ADD];
    if ((b = sqlite3_bind_int64(st, 1, e->at_ms)) != SQLITE_OK ||
        (b = bind_text(st, 2, e->kind, 0)) != SQLITE_OK ||
        (b = bind_text(st, 3, e->key, 0)) != SQLITE_OK || (b = bind_text(st, 4, e->lead_id, 0)) != SQLITE_OK ||
        (b = bind_text(st, 5, e->detail, 0)) != SQLITE_OK) {
        rc = sql_error(s, "record");
        finish(st);
    } else {
        rc = run(s, ST_EVENT_ADD, "record");
    }
    return tx_end(s, rc, "record");
}

int sqlite_store_events(sqlite_store *s, const char *lead, int (*each)(void *ctx, const sqlite_store_event *event),
                        void *ctx, size_t *count)
{
    if (count)
        *count = 0;
    if (!s)
        return LEADROUTE_EINVAL;
    if (!lead || !each)
        return set_error(s, LEADROUTE_EINVAL, "events: NULL lead or callback");
    if (s->listing_events) /* its statement is in use by the listing that called us */
        return set_error(s, LEADROUTE_EINVAL, "events: called from inside an events listing");
    sqlite3_stmt *st = s->st[ST_EVENTS];
    int rc = LEADROUTE_OK, r = SQLITE_DONE;
    size_t listed = 0;
    if (bind_text(st, 1, lead, 0) != SQLITE_OK)
        rc = sql_error(s, "events");
    s->listing_events = 1;
    while (rc == LEADROUTE_OK && (r = step(s, st, "events")) == SQLITE_ROW) {
        sqlite_store_event e;
        e.at_ms = sqlite3_column_int64(st, 0);
        e.kind = (const char *)sqlite3_column_text(st, 1);
        e.key = (const char *)sqlite3_column_text(st, 2);
        e.lead_id = (const char *)sqlite3_column_text(st, 3);
        e.detail = (const char *)sqlite3_column_text(st, 4);
        if (!e.kind || !e.key || (!e.lead_id && sqlite3_column_type(st, 3) != SQLITE_NULL) ||
            (!e.detail && sqlite3_column_type(st, 4) != SQLITE_NULL)) {
            rc = nomem(s, "events");
            break;
        }
        listed++;
        rc = each(ctx, &e);
    }
    if (rc == LEADROUTE_OK && r != SQLITE_DONE)
        rc = LEADROUTE_EIO;
    s->listing_events = 0;
    finish(st);
    if (count)
        *count = listed;
    return rc;
}

const char *sqlite_store_errmsg(const sqlite_store *s)
{
    return s ? s->errmsg : "";
}

int sqlite_store_failure_lasts(const sqlite_store *s)
{
    return s ? s->lasting : 0;
}

/* ---- settings ------------------------------------------------------------------- */

/* One prepared use of `sql` with `key` (and `value`) bound: ROW or DONE, or
 * an error with its message recorded. Copies a row's first column into
 * `held`. Settings are read once per run: no cached statement. */
static int meta_step(sqlite_store *s, const char *sql, const char *key, const char *value, char *held, size_t cap,
                     int *found)
{
    sqlite3_stmt *st = NULL;
    int rc = LEADROUTE_OK, src;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return sql_error(s, "meta");
    if (bind_text(st, 1, key, 0) != SQLITE_OK || (value && bind_text(st, 2, value, 0) != SQLITE_OK)) {
        rc = sql_error(s, "meta");
    } else if ((src = step(s, st, "meta")) == SQLITE_ROW) {
        const unsigned char *v = sqlite3_column_text(st, 0);
        size_t n = v ? strlen((const char *)v) : 0;
        if (n >= cap) {
            rc = set_error(s, LEADROUTE_ERANGE, "%s: meta '%s': its value takes %zu bytes, %zu given", s->path, key,
                           n + 1, cap);
        } else {
            memcpy(held, v ? (const char *)v : "", n + 1);
            *found = 1;
        }
    } else if (src != SQLITE_DONE) {
        rc = LEADROUTE_EIO;
    }
    sqlite3_finalize(st);
    return rc;
}

int sqlite_store_meta(sqlite_store *s, const char *key, const char *value, char *held, size_t cap, int *found)
{
    int rc;
    if (!s)
        return LEADROUTE_EINVAL;
    if (!key || !held || !cap || !found)
        return set_error(s, LEADROUTE_EINVAL, "meta: key, held (at least 1 byte) and found are needed");
    *found = 0;
    held[0] = '\0';
    if (value && strcmp(key, "schema") == 0)
        return set_error(s, LEADROUTE_EINVAL, "meta: 'schema' is the store's own");
    if (value) {
        if ((rc = tx_begin(s, "meta")) != LEADROUTE_OK)
            return rc;
        rc = meta_step(s, "INSERT OR IGNORE INTO meta (key, value) VALUES (?1, ?2)", key, value, held, cap, found);
        if ((rc = tx_end(s, rc, "meta")) != LEADROUTE_OK)
            return rc;
    }
    return meta_step(s, "SELECT value FROM meta WHERE key = ?1", key, NULL, held, cap, found);
}

/* ---- batches --------------------------------------------------------------------------- */

int sqlite_store_begin(sqlite_store *s)
{
    if (!s)
        return LEADROUTE_EINVAL;
    if (s->in_batch)
        return set_error(s, LEADROUTE_EINVAL, "begin: a batch is already open");
    if (run(s, ST_BEGIN, "begin") != LEADROUTE_OK)
        return LEADROUTE_EIO;
    s->in_batch = 1;
    return LEADROUTE_OK;
}

int sqlite_store_commit(sqlite_store *s)
{
    if (!s)
        return LEADROUTE_EINVAL;
    if (!s->in_batch)
        return set_error(s, LEADROUTE_EINVAL, "commit: no batch is open");
    if (s->batch_lost) {
        s->in_batch = s->batch_lost = 0;
        set_error(s, LEADROUTE_EIO, "%s: commit batch: the batch was rolled back after \"%s\"; nothing of it "
                  "was kept", s->path, s->lost_why);
        s->lasting = 1;
        return LEADROUTE_EIO;
    }
    int rc = run(s, ST_COMMIT, "commit batch");
    if (rc != LEADROUTE_OK && !sqlite3_get_autocommit(s->db)) {
        /* all of the batch or none of it: none */
        char kept[sizeof s->errmsg];
        int kept_lasting = s->lasting;
        memcpy(kept, s->errmsg, sizeof kept);
        (void)run(s, ST_ROLLBACK, "rollback batch");
        memcpy(s->errmsg, kept, sizeof kept);
        s->lasting = kept_lasting;
    }
    s->in_batch = 0;
    return rc;
}

int sqlite_store_rollback(sqlite_store *s)
{
    if (!s)
        return LEADROUTE_EINVAL;
    if (!s->in_batch)
        return LEADROUTE_OK;
    s->in_batch = s->batch_lost = 0;
    if (sqlite3_get_autocommit(s->db))
        return LEADROUTE_OK; /* SQLite rolled it back already */
    return run(s, ST_ROLLBACK, "rollback batch");
}

/* ---- opening ------------------------------------------------------------------------------ */

static int open_error(char *err, size_t cap, int code, const char *fmt, ...) PRINTF_LIKE(4, 5);

static int open_error(char *err, size_t cap, int code, const char *fmt, ...)
{
    if (err && cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, cap, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* SQLite's answer for a file that is not a database (or is encrypted). */
static int not_a_database(int rc)
{
    return rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT;
}

/* The message for SQLite code `rc` while opening `name`: EPARSE for a file
 * that is not a database, else EIO with SQLite's message. */
static int db_error(char *err, size_t cap, const char *name, sqlite3 *db, int rc)
{
    if (not_a_database(rc))
        return open_error(err, cap, LEADROUTE_EPARSE, "%s: not a SQLite database (%s)", name, sqlite3_errstr(rc));
    return open_error(err, cap, LEADROUTE_EIO, "%s: %s%s", name, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc),
                      dir_note(name, rc));
}

/* One-row, one-column query as an integer. */
static int query_int(sqlite3 *db, const char *sql, const char *arg, sqlite3_int64 *out, int *sqlite_rc)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK && arg)
        rc = sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *out = sqlite3_column_int64(st, 0);
            rc = SQLITE_OK;
        } else if (rc == SQLITE_DONE) {
            rc = SQLITE_NOTFOUND; /* no row */
        }
    }
    *sqlite_rc = rc;
    sqlite3_finalize(st);
    return rc == SQLITE_OK;
}

/* How many tables the database has, and whether `meta` is one of them. */
static int count_tables(sqlite3 *db, const char *name, char *err, size_t cap, sqlite3_int64 *tables,
                        sqlite3_int64 *has_meta)
{
    int src;
    if (!query_int(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'", NULL, tables, &src) ||
        !query_int(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'meta'", NULL, has_meta,
                   &src))
        return db_error(err, cap, name, db, src);
    return LEADROUTE_OK;
}

/* Create the tables in an empty database. In BEGIN IMMEDIATE, counting the
 * tables again: of two processes creating the same new file at once, the
 * second finds the first one's tables. */
static int create_schema(sqlite3 *db, const char *name, char *err, size_t cap)
{
    sqlite3_int64 tables = 0, has_meta = 0;
    char insert_meta[96], *msg = NULL;
    int src = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (src != SQLITE_OK)
        return db_error(err, cap, name, db, src);
    int rc = count_tables(db, name, err, cap, &tables, &has_meta);
    snprintf(insert_meta, sizeof insert_meta, "INSERT INTO meta (key, value) VALUES ('schema', '%d')",
             SQLITE_STORE_SCHEMA_VERSION);
    if (rc == LEADROUTE_OK && tables == 0 &&
        (sqlite3_exec(db, schema_sql, NULL, NULL, &msg) != SQLITE_OK ||
         sqlite3_exec(db, insert_meta, NULL, NULL, &msg) != SQLITE_OK))
        rc = open_error(err, cap, LEADROUTE_EIO, "%s: cannot create the tables: %s", name,
                        msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    if (rc == LEADROUTE_OK && (src = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL)) != SQLITE_OK)
        rc = db_error(err, cap, name, db, src);
    if (rc != LEADROUTE_OK && !sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* Check the schema, creating it in an empty database unless `read_only`.
 * `name` is the path for messages. Only reads unless the database is empty,
 * so opening a store does not wait for another process's open batch. */
static int check_schema(sqlite3 *db, const char *name, int read_only, char *err, size_t cap)
{
    sqlite3_int64 tables = 0, has_meta = 0, version = 0;
    int src, rc = count_tables(db, name, err, cap, &tables, &has_meta);
    if (rc == LEADROUTE_OK && tables == 0 && read_only)
        return open_error(err, cap, LEADROUTE_EPARSE, "%s: an empty database, not a leadroute store yet", name);
    if (rc == LEADROUTE_OK && tables == 0) {
        /* a new (or empty) database: ours now */
        if ((rc = create_schema(db, name, err, cap)) == LEADROUTE_OK)
            rc = count_tables(db, name, err, cap, &tables, &has_meta);
    }
    if (rc != LEADROUTE_OK)
        return rc;
    if (!has_meta)
        return open_error(err, cap, LEADROUTE_EPARSE,
                          "%s: a SQLite database, but not a leadroute store (it has tables but no 'meta' table)",
                          name);
    if (!query_int(db, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = ?1", "schema", &version, &src))
        return src == SQLITE_NOTFOUND ? open_error(err, cap, LEADROUTE_EPARSE,
                                                   "%s: not a leadroute store (no schema version in 'meta')", name)
               : src == SQLITE_ERROR  ? open_error(err, cap, LEADROUTE_EPARSE,
                                                   "%s: not a leadroute store (its 'meta' table: %s)", name,
                                                   sqlite3_errmsg(db))
                                      : db_error(err, cap, name, db, src);
    if (version != SQLITE_STORE_SCHEMA_VERSION)
        return open_error(err, cap, LEADROUTE_EPARSE,
                          "%s: leadroute store schema version %lld is not supported "
                          "(this program reads version %d)",
                          name, (long long)version, SQLITE_STORE_SCHEMA_VERSION);
    return LEADROUTE_OK;
}

/* WAL and synchronous=NORMAL for a file; an in-memory database keeps its
 * own journal ("memory"). */
static int set_journal(sqlite3 *db, const char *name, char *err, size_t cap)
{
    sqlite3_stmt *st = NULL;
    const char *file = sqlite3_db_filename(db, "main");
    int on_disk = file && *file;
    int rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st, NULL), ok = 0, waited_ms = 0;
    /* Switching a new file to WAL needs it to itself: while another process
     * creates or switches the same file the pragma is SQLITE_BUSY at once,
     * without the busy handler, so it waits here as the handler would. */
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_BUSY && waited_ms < BUSY_TIMEOUT_MS) {
        struct timespec pause = { 0, 10 * 1000 * 1000 };
        sqlite3_reset(st);
        nanosleep(&pause, NULL);
        waited_ms += 10;
        rc = SQLITE_OK;
    }
    if (rc == SQLITE_ROW) {
        const char *mode = (const char *)sqlite3_column_text(st, 0);
        ok = !on_disk || (mode && strcmp(mode, "wal") == 0);
        if (!ok) {
            rc = open_error(err, cap, LEADROUTE_EIO, "%s: cannot use WAL mode (the journal mode stays '%s')", name,
                            mode ? mode : "?");
            sqlite3_finalize(st);
            return rc;
        }
    }
    if (!ok) {
        rc = db_error(err, cap, name, db, rc);
        sqlite3_finalize(st);
        return rc;
    }
    sqlite3_finalize(st);
    if (sqlite3_exec(db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL) != SQLITE_OK)
        return open_error(err, cap, LEADROUTE_EIO, "%s: %s", name, sqlite3_errmsg(db));
    return LEADROUTE_OK;
}

/* Is there a file NAME`suffix` ("-wal", "-shm") beside the database? 1 also
 * when it cannot be told. */
static int has_sidecar(const char *path, const char *suffix)
{
    size_t n = strlen(path), m = strlen(suffix);
    char *name = malloc(n + m + 1);
    struct stat info;
    if (!name)
        return 1;
    memcpy(name, path, n);
    memcpy(name + n, suffix, m + 1);
    int missing = stat(name, &info) != 0 && errno == ENOENT;
    free(name);
    return !missing;
}

/* sqlite3_open_v2 of the file named `path`, as it is named: SQLite built
 * with URI names (Debian's is) reads a name starting with "file:" as a URI,
 * dropping its query and opening another file than the one the caller
 * checked, so such a name is opened as "./file:...". */
static int open_file(const char *path, sqlite3 **db, int flags)
{
    char *plain;
    int rc;
    if (strncmp(path, "file:", 5) != 0)
        return sqlite3_open_v2(path, db, flags, NULL);
    if (!(plain = sqlite3_mprintf("./%s", path))) {
        *db = NULL;
        return SQLITE_NOMEM;
    }
    rc = sqlite3_open_v2(plain, db, flags, NULL);
    sqlite3_free(plain);
    return rc;
}

/* Close a connection that only read `path`. Reading a WAL database, SQLite
 * creates its -wal and -shm files when the directory allows, and removes
 * them only when a connection that may write closes last. So a reader that
 * found neither (`tidy`) closes through such a connection, opened for a
 * moment without SQLITE_OPEN_CREATE: its close takes the exclusive lock
 * without waiting, and only when it gets it (no other connection has the
 * database open) checkpoints the -wal and removes both. While a writer is
 * at work the lock is refused and the files stay, the writer's to remove;
 * a writer that closed while the reader held the database could not
 * checkpoint, and its commits are moved into the file here, as it would
 * have done. When the file may not be written by this user, the files
 * stay. Nothing waits: no busy timeout. */
static void close_reader(sqlite3 *db, const char *path, int tidy)
{
    sqlite3 *rw = NULL;
    sqlite3_close(db);
    if (!tidy || (!has_sidecar(path, "-wal") && !has_sidecar(path, "-shm")))
        return;
    if (open_file(path, &rw, SQLITE_OPEN_READWRITE) == SQLITE_OK && !sqlite3_db_readonly(rw, "main"))
        sqlite3_exec(rw, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL); /* opens the -wal */
    sqlite3_close(rw);
}

void sqlite_store_close(sqlite_store *s)
{
    if (!s)
        return;
    if (s->in_batch && !sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(s->st[i]);
    close_reader(s->db, s->path, s->tidy); /* every statement is finalized: it closes */
    free(s->get_text.p);
    free((void *)s->get_history);
    free(s->path);
    free(s);
}

/* A store around `db` (taken over, closed on error): schema checked, or
 * created when the database is empty; statements prepared. A `read_only`
 * database is left as it is: no journal mode set, no table created; `tidy`
 * as for close_reader(). */
static int store_wrap(sqlite_store **out, sqlite3 *db, const char *name, int read_only, int tidy, char *err,
                      size_t cap)
{
    sqlite_store *s = calloc(1, sizeof *s);
    size_t n = strlen(name) + 1;
    char *path = malloc(n);
    if (!s || !path) {
        free(s);
        free(path);
        close_reader(db, name, tidy);
        return open_error(err, cap, LEADROUTE_ENOMEM, "%s: out of memory", name);
    }
    memcpy(path, name, n);
    s->db = db;
    s->path = path;
    s->tidy = tidy;
    int rc = sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS) == SQLITE_OK
                 ? LEADROUTE_OK
                 : open_error(err, cap, LEADROUTE_EIO, "%s: %s", name, sqlite3_errmsg(db));
    if (rc == LEADROUTE_OK && !read_only) {
        /* a database of another program is refused before anything of it
         * changes: the journal mode is kept in the file */
        sqlite3_int64 tables = 0, has_meta = 0;
        rc = count_tables(db, name, err, cap, &tables, &has_meta);
        if (rc == LEADROUTE_OK && tables > 0)
            rc = check_schema(db, name, 1, err, cap);
        if (rc == LEADROUTE_OK)
            rc = set_journal(db, name, err, cap);
    }
    if (rc == LEADROUTE_OK)
        rc = check_schema(db, name, read_only, err, cap);
    for (int i = 0; i < ST_COUNT && rc == LEADROUTE_OK; i++)
        if (sqlite3_prepare_v3(db, statement_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) != SQLITE_OK)
            rc = open_error(err, cap, LEADROUTE_EIO, "%s: cannot prepare \"%s\": %s", name, statement_sql[i],
                            sqlite3_errmsg(db));
    if (rc != LEADROUTE_OK) {
        sqlite_store_close(s);
        return rc;
    }
    *out = s;
    return LEADROUTE_OK;
}

/* sqlite3_open_v2, with its failure as a message. */
static int open_db(sqlite3 **db, const char *path, int flags, char *err, size_t cap)
{
    int rc = open_file(path, db, flags);
    if (rc == SQLITE_OK) {
        /* before the first read: another process's checkpoint or WAL
         * recovery holds a short lock that this one waits out */
        sqlite3_busy_timeout(*db, BUSY_TIMEOUT_MS);
        return LEADROUTE_OK;
    }
    int code = *db ? LEADROUTE_EIO : LEADROUTE_ENOMEM;
    open_error(err, cap, code, "cannot open %s: %s%s", path, *db ? sqlite3_errmsg(*db) : "out of memory",
               *db ? dir_note(path, rc) : "");
    sqlite3_close(*db);
    *db = NULL;
    return code;
}

/* `path` as a URI filename that opens it immutable: "file:" and the path
 * with every byte but letters, digits and "/._-~" percent-encoded (an
 * absolute path after an empty authority, so that "//x" stays a path).
 * NULL when out of memory; free with sqlite3_free(). */
static char *immutable_uri(const char *path)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(path);
    char *uri = sqlite3_malloc64(n * 3 + sizeof "file://?immutable=1"), *at = uri;
    if (!uri)
        return NULL;
    at += sprintf(at, "%s", path[0] == '/' ? "file://" : "file:");
    for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            strchr("/._-~", *c)) {
            *at++ = (char)*c;
        } else {
            *at++ = '%';
            *at++ = hex[*c >> 4];
            *at++ = hex[*c & 15];
        }
    }
    strcpy(at, "?immutable=1");
    return uri;
}

/* Open an existing database only to read it, and read it once. In WAL mode
 * even a reader needs the -shm index beside the database, and one that may
 * not write the directory cannot create it: SQLite then refuses to read at
 * all ("attempt to write a readonly database"). When there is no -wal file
 * either, every committed transaction is in the database file and no writer
 * is at work (a writer keeps a -wal file), so the file is read as immutable.
 * `*tidy` tells whether neither file was there before, for close_reader(),
 * which closes `*out`. The message names `path`. */
static int open_readable(sqlite3 **out, int *tidy, const char *path, char *err, size_t cap)
{
    static const char probe[] = "SELECT count(*) FROM sqlite_schema";
    sqlite3 *db = NULL;
    sqlite3_int64 tables;
    /* looked at before SQLite may create them */
    *tidy = !has_sidecar(path, "-wal") && !has_sidecar(path, "-shm");
    int src, rc = open_db(&db, path, SQLITE_OPEN_READONLY, err, cap);
    if (rc != LEADROUTE_OK)
        return rc;
    int no_index = !query_int(db, probe, NULL, &tables, &src) &&
                   ((src & 0xff) == SQLITE_READONLY || (src & 0xff) == SQLITE_CANTOPEN);
    if (no_index && has_sidecar(path, "-wal")) {
        close_reader(db, path, *tidy);
        return open_error(err, cap, LEADROUTE_EIO,
                          "%s: cannot be read here: a -wal file is beside it, but no -shm index that this user "
                          "may create (a writer is at work, or one stopped without cleaning up)",
                          path);
    }
    if (no_index) {
        char *uri = immutable_uri(path);
        close_reader(db, path, *tidy);
        db = NULL;
        src = uri ? sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) : SQLITE_NOMEM;
        sqlite3_free(uri);
        if (src == SQLITE_OK)
            query_int(db, probe, NULL, &tables, &src);
    }
    if (src != SQLITE_OK) {
        rc = db ? db_error(err, cap, path, db, src)
                : open_error(err, cap, LEADROUTE_ENOMEM, "cannot open %s: out of memory", path);
        close_reader(db, path, *tidy);
        return rc;
    }
    *out = db;
    return LEADROUTE_OK;
}

/* SQLite keeps NAME-journal, NAME-wal and NAME-shm beside the database. A
 * name with no room for the longest suffix in its directory opens, then
 * fails at the first write with "unable to open database file", leaving an
 * empty file behind: refuse it first, saying why. A directory whose limit
 * cannot be read is left to SQLite's own message. */
static int check_name_room(const char *path, char *err, size_t cap)
{
    static const char suffix[] = "-journal";
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    long name_max;
    char *dir;

    if (strcmp(path, ":memory:") == 0)
        return LEADROUTE_OK;
    if (!(dir = dir_of(path)))
        return open_error(err, cap, LEADROUTE_ENOMEM, "%s: out of memory", path);
    name_max = pathconf(dir, _PC_NAME_MAX);
    free(dir);
    if (name_max > 0 && strlen(base) + strlen(suffix) > (size_t)name_max)
        return open_error(err, cap, LEADROUTE_EINVAL,
                          "%s: the file name is too long: SQLite needs room for '%s' after it "
                          "(at most %ld bytes for the name here, this one has %zu)",
                          path, suffix, name_max - (long)strlen(suffix), strlen(base));
    return LEADROUTE_OK;
}

int sqlite_store_open(sqlite_store **out, const char *path, char *err, size_t err_cap)
{
    sqlite3 *db = NULL;
    if (out)
        *out = NULL;
    if (!out || !path)
        return open_error(err, err_cap, LEADROUTE_EINVAL, "sqlite_store_open: NULL argument");
    int rc = check_name_room(path, err, err_cap);
    if (rc != LEADROUTE_OK)
        return rc;
    rc = open_db(&db, path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, err, err_cap);
    return rc == LEADROUTE_OK ? store_wrap(out, db, path, 0, 0, err, err_cap) : rc;
}

int sqlite_store_open_existing(sqlite_store **out, const char *path, char *err, size_t err_cap)
{
    sqlite3 *db = NULL;
    sqlite3_int64 tables = 0, has_meta = 0;
    if (out)
        *out = NULL;
    if (!out || !path)
        return open_error(err, err_cap, LEADROUTE_EINVAL, "sqlite_store_open_existing: NULL argument");
    int rc = check_name_room(path, err, err_cap);
    if (rc == LEADROUTE_OK)
        rc = open_db(&db, path, SQLITE_OPEN_READWRITE, err, err_cap); /* no CREATE: a missing file fails */
    if (rc == LEADROUTE_OK)
        rc = count_tables(db, path, err, err_cap, &tables, &has_meta);
    if (rc == LEADROUTE_OK && tables == 0)
        rc = open_error(err, err_cap, LEADROUTE_EPARSE, "%s: an empty database, not a leadroute store yet", path);
    if (rc != LEADROUTE_OK) {
        sqlite3_close(db);
        return rc;
    }
    return store_wrap(out, db, path, 0, 0, err, err_cap);
}

int sqlite_store_open_readonly(sqlite_store **out, const char *path, char *err, size_t err_cap)
{
    sqlite3 *db = NULL;
    if (out)
        *out = NULL;
    if (!out || !path)
        return open_error(err, err_cap, LEADROUTE_EINVAL, "sqlite_store_open_readonly: NULL argument");
    int tidy, rc = open_readable(&db, &tidy, path, err, err_cap);
    return rc == LEADROUTE_OK ? store_wrap(out, db, path, 1, tidy, err, err_cap) : rc;
}

int sqlite_store_open_copy(sqlite_store **out, const char *path, char *err, size_t err_cap)
{
    sqlite3 *src = NULL, *db = NULL;
    struct stat info;
    int tidy;
    if (out)
        *out = NULL;
    if (!out || !path)
        return open_error(err, err_cap, LEADROUTE_EINVAL, "sqlite_store_open_copy: NULL argument");
    int rc = open_db(&db, ":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, err, err_cap);
    if (rc != LEADROUTE_OK)
        return rc;
    if (stat(path, &info) != 0) {
        if (errno != ENOENT) {
            rc = open_error(err, err_cap, LEADROUTE_EIO, "cannot open %s: %s", path, strerror(errno));
            sqlite3_close(db);
            return rc;
        }
        return store_wrap(out, db, path, 0, 0, err, err_cap); /* no file yet: an empty store */
    }
    /* read-only: a what-if run never writes the file, nor creates it */
    if ((rc = open_readable(&src, &tidy, path, err, err_cap)) != LEADROUTE_OK) {
        sqlite3_close(db);
        return rc;
    }
    sqlite3_backup *backup = sqlite3_backup_init(db, "main", src, "main");
    if (!backup) {
        rc = open_error(err, err_cap, LEADROUTE_EIO, "%s: cannot copy: %s", path, sqlite3_errmsg(db));
    } else {
        int step_rc = sqlite3_backup_step(backup, -1); /* all pages at once: one consistent snapshot */
        int finish_rc = sqlite3_backup_finish(backup);
        if (step_rc != SQLITE_DONE || finish_rc != SQLITE_OK) {
            int bad = step_rc != SQLITE_DONE ? step_rc : finish_rc;
            rc = not_a_database(bad) ? db_error(err, err_cap, path, NULL, bad)
                                     : open_error(err, err_cap, LEADROUTE_EIO, "%s: cannot copy: %s", path,
                                                  sqlite3_errstr(bad));
        }
    }
    close_reader(src, path, tidy);
    if (rc != LEADROUTE_OK) {
        sqlite3_close(db);
        return rc;
    }
    return store_wrap(out, db, path, 0, 0, err, err_cap);
}
