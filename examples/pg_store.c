/*
 * A host store for libleadroute in PostgreSQL (see pg_store.h).
 *
 * Schema (version 1, PG_STORE_SCHEMA_VERSION), every text column in the "C"
 * collation so keys compare and sort byte by byte, as in sqlite_store:
 *
 *   leadroute_meta (key, value)                     -- 'schema' -> '1'
 *   leadroute_pools (id, version bigint, state bytea)
 *       A pool's strategy state and its compare-and-swap version; a pool
 *       never written has no row (version 0). uint64_t versions and table
 *       hashes are kept as their signed 64-bit pattern.
 *   leadroute_claims (key, rep, is_account, lead_id, pool_id, rule_id,
 *                     table_hash, at_ms, sla_minutes, deadline_ms, value,
 *                     hops, escalated, acknowledged_ms, history text[])
 *       As in sqlite_store: account claims only name the owner; lead claims
 *       carry the lead's current assignment. Open leads are counted from the
 *       lead claims (partial index leadroute_claims_open), never stored.
 *   leadroute_assignments (id, at_ms, key, rep, pool_id, value)
 *       The assignment log behind windows, one row per commit, pruned past
 *       31 days before the newest row. `id` gives the commit order of a
 *       pool's assignments (they serialise on the pool's row lock).
 *   leadroute_events (id, at_ms, kind, key, lead_id, detail)
 *
 * A commit is one call of the SQL function leadroute_commit(): the pool
 * state compare-and-swap (UPDATE ... WHERE version = expected, or INSERT ...
 * ON CONFLICT DO NOTHING for version 0), the capacity check under a
 * per-rep advisory lock, the claim (UPDATE of the row `previous` holds, else
 * INSERT ... ON CONFLICT DO NOTHING; the loser reads the winner), the log
 * and the account claim. A refused check raises inside a plpgsql block,
 * which undoes the block's writes, and comes back as a result code: the
 * function is all or nothing, one statement, one round trip.
 *
 * Concurrency: READ COMMITTED. Writers of one pool queue on its row lock
 * and re-check the version after waiting; writers of one key on the claim
 * row. Locks are taken in one order (pool, rep, key, account), so single
 * commits do not deadlock; batches holding locks across commits can, and
 * the loser gets SQLSTATE 40P01: its whole batch is rolled back and the
 * call returns EIO, for the host to run the batch again.
 *
 * Parameters and results travel in binary format: no number formatting that
 * depends on the locale, bytes of the pool state as they are.
 * SPDX-License-Identifier: MIT
 */
#include "pg_store.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

/* No window reaches further back than 31 days. */
#define LOG_KEEP_MS ((int64_t)31 * 24 * 60 * 60 * 1000)

/* pg_advisory_xact_lock key of schema creation: "lrschema" in ASCII. */
#define SCHEMA_LOCK_KEY "7814984425301630317"

/* Type OIDs of the parameters (pg_type.h is server-side: the values are fixed). */
#define T_BOOL 16
#define T_BYTEA 17
#define T_INT8 20
#define T_TEXT 25
#define T_FLOAT8 701

/* In parts: C compilers need not take string literals over 4095 bytes. */
static const char *const schema_sql[] = {
    "CREATE TABLE leadroute_meta (key text COLLATE \"C\" PRIMARY KEY, value text NOT NULL);\n"
    "CREATE TABLE leadroute_pools (id text COLLATE \"C\" PRIMARY KEY, version bigint NOT NULL,\n"
    "  state bytea NOT NULL);\n"
    "CREATE TABLE leadroute_claims (\n"
    "  key text COLLATE \"C\" PRIMARY KEY,\n"
    "  rep text COLLATE \"C\" NOT NULL,\n"
    "  is_account boolean NOT NULL,\n"
    "  lead_id text COLLATE \"C\", pool_id text COLLATE \"C\", rule_id text COLLATE \"C\",\n"
    "  table_hash bigint NOT NULL DEFAULT 0,\n"
    "  at_ms bigint NOT NULL DEFAULT 0,\n"
    "  sla_minutes double precision NOT NULL DEFAULT 0,\n"
    "  deadline_ms bigint NOT NULL DEFAULT 0,\n"
    "  value double precision NOT NULL DEFAULT 0,\n"
    "  hops bigint NOT NULL DEFAULT 0,\n"
    "  escalated boolean NOT NULL DEFAULT false,\n"
    "  acknowledged_ms bigint NOT NULL DEFAULT 0,\n"
    "  history text[]);\n"
    "CREATE INDEX leadroute_claims_open ON leadroute_claims (rep) WHERE NOT is_account;\n"
    "CREATE INDEX leadroute_claims_due ON leadroute_claims (deadline_ms, key)\n"
    "  WHERE NOT is_account AND deadline_ms <> 0 AND acknowledged_ms = 0;\n"
    "CREATE TABLE leadroute_assignments (id bigserial PRIMARY KEY, at_ms bigint NOT NULL,\n"
    "  key text COLLATE \"C\", rep text COLLATE \"C\" NOT NULL, pool_id text COLLATE \"C\",\n"
    "  value double precision NOT NULL);\n"
    "CREATE INDEX leadroute_assignments_rep ON leadroute_assignments (rep, at_ms);\n"
    "CREATE INDEX leadroute_assignments_pool ON leadroute_assignments (pool_id, at_ms)\n"
    "  WHERE pool_id IS NOT NULL;\n"
    "CREATE INDEX leadroute_assignments_at ON leadroute_assignments (at_ms);\n"
    "CREATE TABLE leadroute_events (id bigserial PRIMARY KEY, at_ms bigint NOT NULL, kind text NOT NULL,\n"
    "  key text COLLATE \"C\" NOT NULL, lead_id text COLLATE \"C\", detail text);\n"
    "CREATE INDEX leadroute_events_lead ON leadroute_events (lead_id) WHERE lead_id IS NOT NULL;\n"
    "CREATE INDEX leadroute_events_key ON leadroute_events (key);\n",
    /* code 0 = done, 1 = pool version moved (detail: the version now), 2 = rep
     * at capacity (detail: its open leads), 3 = key held (detail: holder),
     * 4 = the holder let go between two statements (the router retries) */
    "CREATE FUNCTION leadroute_commit(p_pool text, p_expected bigint, p_state bytea, p_capacity bigint,\n"
    "  p_key text, p_rep text, p_previous text, p_lead_id text, p_assign_pool text, p_rule text,\n"
    "  p_table_hash bigint, p_at_ms bigint, p_sla double precision, p_deadline bigint,\n"
    "  p_value double precision, p_hops bigint, p_escalated boolean, p_account text, p_keep_ms bigint,\n"
    "  OUT code integer, OUT detail text) LANGUAGE plpgsql AS $fn$\n"
    "DECLARE\n"
    "  n bigint;\n"
    "BEGIN\n"
    "  code := 0;\n"
    "  detail := NULL;\n"
    "  BEGIN\n"
    "    IF p_pool IS NOT NULL THEN\n"
    "      IF p_expected = 0 THEN\n"
    "        INSERT INTO leadroute_pools (id, version, state) VALUES (p_pool, 1, p_state)\n"
    "          ON CONFLICT (id) DO NOTHING;\n"
    "      ELSE\n"
    "        UPDATE leadroute_pools SET version = p_expected + 1, state = p_state\n"
    "          WHERE id = p_pool AND version = p_expected;\n"
    "      END IF;\n"
    "      GET DIAGNOSTICS n = ROW_COUNT;\n"
    "      IF n = 0 THEN\n"
    "        code := 1;\n"
    "        SELECT version::text INTO detail FROM leadroute_pools WHERE id = p_pool;\n"
    "        RAISE EXCEPTION USING ERRCODE = 'LR001';\n"
    "      END IF;\n"
    "    END IF;\n"
    "    IF p_capacity > 0 THEN\n"
    "      PERFORM pg_advisory_xact_lock(hashtextextended('leadroute rep ' || p_rep, 0));\n"
    "      SELECT count(*) INTO n FROM leadroute_claims WHERE rep = p_rep AND NOT is_account;\n"
    "      IF n >= p_capacity THEN\n"
    "        code := 2;\n"
    "        detail := n::text;\n"
    "        RAISE EXCEPTION USING ERRCODE = 'LR001';\n"
    "      END IF;\n"
    "    END IF;\n"
    "    n := 0;\n"
    "    IF p_previous IS NOT NULL THEN\n"
    "      UPDATE leadroute_claims SET rep = p_rep, is_account = false, lead_id = p_lead_id,\n"
    "          pool_id = p_assign_pool, rule_id = p_rule, table_hash = p_table_hash, at_ms = p_at_ms,\n"
    "          sla_minutes = p_sla, deadline_ms = p_deadline, value = p_value, hops = p_hops,\n"
    "          escalated = p_escalated, acknowledged_ms = 0,\n"
    "          history = coalesce(history, '{}'::text[]) || p_previous\n"
    "        WHERE key = p_key AND rep = p_previous;\n"
    "      GET DIAGNOSTICS n = ROW_COUNT;\n"
    "    END IF;\n"
    "    IF n = 0 THEN\n"
    "      INSERT INTO leadroute_claims (key, rep, is_account, lead_id, pool_id, rule_id, table_hash, at_ms,\n"
    "          sla_minutes, deadline_ms, value, hops, escalated, acknowledged_ms, history)\n"
    "        VALUES (p_key, p_rep, false, p_lead_id, p_assign_pool, p_rule, p_table_hash, p_at_ms, p_sla,\n"
    "          p_deadline, p_value, p_hops, p_escalated, 0,\n"
    "          CASE WHEN p_previous IS NULL THEN NULL ELSE ARRAY[p_previous] END)\n"
    "        ON CONFLICT (key) DO NOTHING;\n"
    "      GET DIAGNOSTICS n = ROW_COUNT;\n"
    "      IF n = 0 THEN\n"
    "        SELECT rep INTO detail FROM leadroute_claims WHERE key = p_key;\n"
    "        code := CASE WHEN detail IS NULL THEN 4 ELSE 3 END;\n"
    "        RAISE EXCEPTION USING ERRCODE = 'LR001';\n"
    "      END IF;\n"
    "    END IF;\n"
    "    INSERT INTO leadroute_assignments (at_ms, key, rep, pool_id, value)\n"
    "      VALUES (p_at_ms, p_key, p_rep, coalesce(p_assign_pool, p_pool), p_value);\n"
    "    DELETE FROM leadroute_assignments\n"
    "      WHERE at_ms < (SELECT max(at_ms) FROM leadroute_assignments) - p_keep_ms;\n"
    "    IF p_account IS NOT NULL THEN\n"
    "      INSERT INTO leadroute_claims (key, rep, is_account) VALUES (p_account, p_rep, true)\n"
    "        ON CONFLICT (key) DO NOTHING;\n"
    "    END IF;\n"
    "  EXCEPTION WHEN SQLSTATE 'LR001' THEN\n"
    "    RETURN; -- the block's writes are undone; code and detail say why\n"
    "  END;\n"
    "END\n"
    "$fn$;\n",
};

/* The columns of a lead claim, in the order read_claim() expects them; the
 * history comes out as bytes: the ids, each but the last followed by a NUL. */
#define CLAIM_COLUMNS                                                                                       \
    "key, rep, lead_id, pool_id, rule_id, table_hash, at_ms, sla_minutes, deadline_ms, value, hops, "        \
    "escalated, acknowledged_ms, "                                                                           \
    "(SELECT string_agg(convert_to(h, 'UTF8'), '\\x00'::bytea ORDER BY i) "                                  \
    "   FROM unnest(history) WITH ORDINALITY AS u(h, i))"

enum {
    C_KEY, C_REP, C_LEAD, C_POOL, C_RULE, C_HASH, C_AT, C_SLA, C_DEADLINE, C_VALUE, C_HOPS, C_ESC, C_ACK, C_HIST
};

/* Every statement, prepared once per connection (again after a reconnect). */
enum {
    ST_POOL_GET,
    ST_CLAIM_HOLDER,
    ST_CLAIM_GET,
    ST_OPEN_COUNT,
    ST_COMMIT,
    ST_CLOSE,
    ST_WINDOW_REP,
    ST_WINDOW_REP_POOL,
    ST_WINDOW_POOL,
    ST_ACK,
    ST_LIST_DUE,
    ST_EVENT_ADD,
    ST_EVENTS,
    ST_COUNT
};

#define MAX_PARAMS 19

typedef struct statement {
    const char *name, *sql;
    int n;
    unsigned int types[MAX_PARAMS];
} statement;

static const statement statements[ST_COUNT] = {
    [ST_POOL_GET] = { "lr_pool_get", "SELECT version, state FROM leadroute_pools WHERE id = $1", 1, { T_TEXT } },
    [ST_CLAIM_HOLDER] = { "lr_claim_holder", "SELECT rep FROM leadroute_claims WHERE key = $1", 1, { T_TEXT } },
    [ST_CLAIM_GET] = { "lr_claim_get",
                       "SELECT " CLAIM_COLUMNS " FROM leadroute_claims WHERE key = $1 AND NOT is_account", 1,
                       { T_TEXT } },
    [ST_OPEN_COUNT] = { "lr_open_count",
                        "SELECT count(*) FROM leadroute_claims WHERE rep = $1 AND NOT is_account",
                        1, { T_TEXT } },
    [ST_COMMIT] = { "lr_commit",
                    "SELECT code, detail FROM leadroute_commit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
                    "$11, $12, $13, $14, $15, $16, $17, $18, $19)",
                    19,
                    { T_TEXT, T_INT8, T_BYTEA, T_INT8, T_TEXT, T_TEXT, T_TEXT, T_TEXT, T_TEXT, T_TEXT, T_INT8,
                      T_INT8, T_FLOAT8, T_INT8, T_FLOAT8, T_INT8, T_BOOL, T_TEXT, T_INT8 } },
    [ST_CLOSE] = { "lr_close", "DELETE FROM leadroute_claims WHERE key = $1 AND NOT is_account", 1, { T_TEXT } },
    [ST_WINDOW_REP] = { "lr_window_rep",
                        "SELECT count(*), coalesce(sum(value), 0) FROM leadroute_assignments "
                        "WHERE rep = $1 AND at_ms >= $2",
                        2, { T_TEXT, T_INT8 } },
    [ST_WINDOW_REP_POOL] = { "lr_window_rep_pool",
                             "SELECT count(*), coalesce(sum(value), 0) FROM leadroute_assignments "
                             "WHERE rep = $1 AND pool_id = $2 AND at_ms >= $3",
                             3, { T_TEXT, T_TEXT, T_INT8 } },
    [ST_WINDOW_POOL] = { "lr_window_pool",
                         "SELECT count(*), coalesce(sum(value), 0) FROM leadroute_assignments "
                         "WHERE pool_id = $1 AND at_ms >= $2",
                         2, { T_TEXT, T_INT8 } },
    /* the first acknowledgement wins: the old time is read under the row lock */
    [ST_ACK] = { "lr_ack",
                 "UPDATE leadroute_claims c SET acknowledged_ms = CASE WHEN o.old = 0 THEN $2 ELSE o.old END "
                 "FROM (SELECT key, acknowledged_ms AS old FROM leadroute_claims "
                 "      WHERE key = $1 AND NOT is_account FOR UPDATE) o "
                 "WHERE c.key = o.key RETURNING c.rep, c.pool_id, c.at_ms, o.old",
                 2, { T_TEXT, T_INT8 } },
    /* the WHERE repeats the one of leadroute_claims_due, so that index serves it */
    [ST_LIST_DUE] = { "lr_list_due",
                      "SELECT " CLAIM_COLUMNS " FROM leadroute_claims "
                      "WHERE NOT is_account AND deadline_ms <> 0 AND acknowledged_ms = 0 AND deadline_ms <= $1 "
                      "ORDER BY deadline_ms, key",
                      1, { T_INT8 } },
    [ST_EVENT_ADD] = { "lr_event_add",
                       "INSERT INTO leadroute_events (at_ms, kind, key, lead_id, detail) "
                       "VALUES ($1, $2, $3, $4, $5)",
                       5, { T_INT8, T_TEXT, T_TEXT, T_TEXT, T_TEXT } },
    [ST_EVENTS] = { "lr_events",
                    "SELECT at_ms, kind, key, lead_id, detail FROM leadroute_events "
                    "WHERE lead_id = $1 OR key = $1 ORDER BY at_ms, id",
                    1, { T_TEXT } },
};

struct pg_store {
    PGconn *conn;
    int prepared;   /* the statements exist on this connection */
    int in_batch;   /* pg_store_begin() opened a transaction */
    int savepoint;  /* a method's savepoint is open inside the batch */
    uint64_t round_trips; /* statements sent since opening, for pg_store_round_trips() */
    char errmsg[1024];
    /* what pg_store_get() hands out, valid until the next call */
    PGresult *get_result;
    const char **get_history;
    size_t get_history_cap;
};

/* ---- messages ------------------------------------------------------------------ */

#if defined(__GNUC__)
#define PRINTF_LIKE(a, b) __attribute__((format(printf, a, b)))
#else
#define PRINTF_LIKE(a, b)
#endif

static int set_error(pg_store *s, int code, const char *fmt, ...) PRINTF_LIKE(3, 4);

/* Record a message for pg_store_errmsg() and return `code`. */
static int set_error(pg_store *s, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->errmsg, sizeof s->errmsg, fmt, ap);
    va_end(ap);
    for (char *c = s->errmsg; *c; c++) /* one line: libpq's messages run over several */
        if (*c == '\n' || *c == '\t')
            *c = ' ';
    return code;
}

/* Add to the message. */
static void add_error(pg_store *s, const char *more)
{
    size_t n = strlen(s->errmsg);
    snprintf(s->errmsg + n, sizeof s->errmsg - n, "%s", more);
}

/* libpq's messages end with a newline: `n` bytes without it. */
static int trimmed(const char *m)
{
    size_t n = m ? strlen(m) : 0;
    while (n && (m[n - 1] == '\n' || m[n - 1] == ' '))
        n--;
    return (int)n;
}

/* ---- parameters and results -------------------------------------------------------------- */

/* The parameters of one call, all in binary format. */
typedef struct params {
    const char *values[MAX_PARAMS];
    int lengths[MAX_PARAMS];
    int formats[MAX_PARAMS];
    char numbers[MAX_PARAMS][8];
    int n;
} params;

static void put_text(params *p, const char *v)
{
    p->values[p->n] = v; /* NULL: SQL NULL */
    p->lengths[p->n] = v ? (int)strlen(v) : 0;
    p->formats[p->n++] = 1;
}

/* NULL for an empty string, as sqlite_store keeps empty ids. */
static void put_id(params *p, const char *v)
{
    put_text(p, v && *v ? v : NULL);
}

static void put_bytes(params *p, const void *v, size_t n)
{
    p->values[p->n] = n ? v : ""; /* an empty state is not NULL */
    p->lengths[p->n] = (int)n;
    p->formats[p->n++] = 1;
}

static void put_i64(params *p, int64_t v)
{
    uint64_t u = (uint64_t)v;
    for (int i = 0; i < 8; i++)
        p->numbers[p->n][i] = (char)(unsigned char)(u >> (56 - 8 * i));
    put_bytes(p, p->numbers[p->n], 8);
}

static void put_f64(params *p, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    put_i64(p, (int64_t)u);
}

static void put_bool(params *p, int v)
{
    p->numbers[p->n][0] = v ? 1 : 0;
    put_bytes(p, p->numbers[p->n], 1);
}

static int64_t get_i64(const PGresult *r, int row, int col)
{
    const unsigned char *v = (const unsigned char *)PQgetvalue(r, row, col);
    uint64_t u = 0;
    int n = PQgetlength(r, row, col);
    if (PQgetisnull(r, row, col) || (n != 8 && n != 4))
        return 0;
    for (int i = 0; i < n; i++)
        u = u << 8 | v[i];
    return n == 4 ? (int64_t)(int32_t)(uint32_t)u : (int64_t)u;
}

static double get_f64(const PGresult *r, int row, int col)
{
    uint64_t u = (uint64_t)get_i64(r, row, col);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static const char *get_text(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

static uint32_t clamp_u32(int64_t v)
{
    return v < 0 ? 0 : v > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* ---- connection and statements ------------------------------------------------------------------- */

/* Every statement goes through these three, so pg_store_round_trips() counts them all. */
static PGresult *exec_sql(pg_store *s, const char *sql)
{
    s->round_trips++;
    return PQexec(s->conn, sql);
}

/* A prepared statement with binary parameters and results. */
static PGresult *exec_prepared(pg_store *s, const char *name, const params *p)
{
    s->round_trips++;
    return PQexecPrepared(s->conn, name, p->n, p->values, p->lengths, p->formats, 1);
}

static PGresult *prepare(pg_store *s, const statement *st)
{
    s->round_trips++;
    return PQprepare(s->conn, st->name, st->sql, st->n, st->types);
}

static int prepare_all(pg_store *s)
{
    /* after a failure half-way, some exist already: start from none */
    PQclear(exec_sql(s, "DEALLOCATE ALL"));
    for (int i = 0; i < ST_COUNT; i++) {
        PGresult *r = prepare(s, &statements[i]);
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            set_error(s, LEADROUTE_EIO, "cannot prepare %s: %.*s", statements[i].name,
                      trimmed(PQresultErrorMessage(r)), PQresultErrorMessage(r));
        PQclear(r);
        if (!ok)
            return LEADROUTE_EIO;
    }
    s->prepared = 1;
    return LEADROUTE_OK;
}

/* A usable connection: after a loss, reconnect (the open batch, if any,
 * went with the old one) and prepare the statements again. */
static int ensure_connected(pg_store *s, const char *what)
{
    if (PQstatus(s->conn) == CONNECTION_OK && s->prepared)
        return LEADROUTE_OK;
    int lost_batch = s->in_batch;
    s->in_batch = s->savepoint = 0;
    if (PQstatus(s->conn) != CONNECTION_OK) {
        s->prepared = 0;
        PQreset(s->conn);
        if (PQstatus(s->conn) != CONNECTION_OK)
            return set_error(s, LEADROUTE_EIO, "%s: cannot reconnect: %.*s", what,
                             trimmed(PQerrorMessage(s->conn)), PQerrorMessage(s->conn));
    }
    if (prepare_all(s) != LEADROUTE_OK)
        return LEADROUTE_EIO;
    if (lost_batch)
        return set_error(s, LEADROUTE_EIO, "%s: the connection was lost with the open batch (rolled back)", what);
    return LEADROUTE_OK;
}

/* After a failed statement: a lost connection takes the batch with it; a
 * failed statement outside a method's savepoint aborts the batch, which is
 * then rolled back (all of it or none of it: none). */
static void after_failure(pg_store *s)
{
    if (!s->in_batch)
        return;
    if (PQstatus(s->conn) != CONNECTION_OK) {
        s->in_batch = s->savepoint = 0;
        add_error(s, "; the connection was lost with the open batch (rolled back)");
    } else if (!s->savepoint && PQtransactionStatus(s->conn) == PQTRANS_INERROR) {
        PQclear(exec_sql(s, "ROLLBACK"));
        s->in_batch = 0;
        add_error(s, "; the open batch was rolled back");
    }
}

/* The result of a failed call as a code: ECONFLICT for a serialization
 * failure or deadlock outside a batch (the router retries), else EIO.
 * Inside a batch such a failure rolls the whole batch back: the locks the
 * other transaction waits for were taken by the batch's earlier calls, so
 * the call alone, retried, would meet them again. The host runs the batch
 * again. */
static int result_error(pg_store *s, PGresult *r, const char *what)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *m = r && *PQresultErrorMessage(r) ? PQresultErrorMessage(r) : PQerrorMessage(s->conn);
    int code = state && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0) ? LEADROUTE_ECONFLICT
                                                                                       : LEADROUTE_EIO;
    set_error(s, code, "%s: %.*s", what, trimmed(m), m);
    if (code == LEADROUTE_ECONFLICT && s->in_batch && PQstatus(s->conn) == CONNECTION_OK) {
        PQclear(exec_sql(s, "ROLLBACK"));
        s->in_batch = s->savepoint = 0;
        add_error(s, "; the open batch was rolled back, run it again");
        return LEADROUTE_EIO;
    }
    after_failure(s);
    return code;
}

/* Run prepared statement `id`; *out gets the result (binary columns) to
 * PQclear, or NULL on failure, whose code is returned. */
static int run(pg_store *s, int id, const params *p, const char *what, PGresult **out)
{
    *out = NULL;
    int rc = ensure_connected(s, what);
    if (rc != LEADROUTE_OK)
        return rc;
    PGresult *r = exec_prepared(s, statements[id].name, p);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        rc = result_error(s, r, what);
        PQclear(r);
        return rc;
    }
    *out = r;
    return LEADROUTE_OK;
}

/* A statement without parameters or rows (transaction control). */
static int run_simple(pg_store *s, const char *sql, const char *what)
{
    PGresult *r = exec_sql(s, sql);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? LEADROUTE_OK : result_error(s, r, what);
    PQclear(r);
    return rc;
}

/* ---- transactions ------------------------------------------------------------------------------ */

/* The start of a write method: a statement is its own transaction; inside a
 * batch, a savepoint, so that a refused or failed call leaves the batch as
 * it was. */
static int tx_begin(pg_store *s, const char *what)
{
    int rc = ensure_connected(s, what);
    if (rc != LEADROUTE_OK || !s->in_batch)
        return rc;
    if ((rc = run_simple(s, "SAVEPOINT leadroute_call", what)) == LEADROUTE_OK)
        s->savepoint = 1;
    return rc;
}

/* The end of a write method whose result is `result`: inside a batch keep
 * the savepoint's changes on LEADROUTE_OK, else undo them. */
static int tx_end(pg_store *s, int result, const char *what)
{
    if (!s->in_batch || !s->savepoint)
        return result;
    if (result == LEADROUTE_OK) {
        if (run_simple(s, "RELEASE SAVEPOINT leadroute_call", what) == LEADROUTE_OK) {
            s->savepoint = 0;
            return LEADROUTE_OK;
        }
        result = LEADROUTE_EIO;
        if (!s->in_batch)
            return result;
    }
    char kept[sizeof s->errmsg];
    memcpy(kept, s->errmsg, sizeof kept);
    if (run_simple(s, "ROLLBACK TO SAVEPOINT leadroute_call", what) == LEADROUTE_OK &&
        run_simple(s, "RELEASE SAVEPOINT leadroute_call", what) == LEADROUTE_OK) {
        memcpy(s->errmsg, kept, sizeof kept); /* the reason for the rollback is what matters */
    } else if (s->in_batch) {
        PQclear(exec_sql(s, "ROLLBACK"));
        s->in_batch = 0;
        add_error(s, "; the open batch was rolled back");
        result = LEADROUTE_EIO;
    }
    s->savepoint = 0;
    return result;
}

/* ---- reading claims ------------------------------------------------------------------------------ */

/* Ids in the history bytes of row `row`. */
static size_t history_count(const PGresult *r, int row)
{
    int n = PQgetisnull(r, row, C_HIST) ? 0 : PQgetlength(r, row, C_HIST);
    const char *h = PQgetvalue(r, row, C_HIST);
    size_t count = n > 0;
    for (int i = 0; i < n; i++)
        count += h[i] == '\0';
    return count;
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

/* An assignment as a listing gives it, its strings in the result (libpq ends
 * every value with a NUL, so the last history id is terminated too);
 * `history` has room for history_count() pointers. */
static void fill_assignment(const PGresult *r, int row, const char **history, leadroute_assignment *a)
{
    memset(a, 0, sizeof *a);
    a->version = LEADROUTE_ASSIGNMENT_VERSION;
    a->key = get_text(r, row, C_KEY);
    a->rep_id = get_text(r, row, C_REP);
    a->lead_id = get_text(r, row, C_LEAD);
    a->pool_id = get_text(r, row, C_POOL);
    a->rule_id = get_text(r, row, C_RULE);
    a->table_hash = (uint64_t)get_i64(r, row, C_HASH);
    a->at_ms = get_i64(r, row, C_AT);
    a->sla_minutes = get_f64(r, row, C_SLA);
    a->deadline_ms = get_i64(r, row, C_DEADLINE);
    a->value = get_f64(r, row, C_VALUE);
    a->hops = clamp_u32(get_i64(r, row, C_HOPS));
    a->escalated = !PQgetisnull(r, row, C_ESC) && PQgetvalue(r, row, C_ESC)[0] != 0;
    a->acknowledged_ms = get_i64(r, row, C_ACK);
    size_t count = history_count(r, row);
    const char *h = PQgetvalue(r, row, C_HIST);
    for (size_t i = 0; i < count; i++) {
        history[i] = h;
        h += strlen(h) + 1;
    }
    a->history = count ? history : NULL;
    a->history_count = count;
    a->previous = count ? history[count - 1] : NULL;
}

/* ---- the store methods ------------------------------------------------------------------------------ */

static int pg_load_pool(void *user, const char *pool_id, void *buf, size_t cap, size_t *length,
                        uint64_t *state_version)
{
    pg_store *s = user;
    params p = { 0 };
    PGresult *r;
    if (!s || !pool_id || !length || !state_version || (!buf && cap > 0))
        return LEADROUTE_EINVAL;
    put_text(&p, pool_id);
    int rc = run(s, ST_POOL_GET, &p, "load_pool", &r);
    if (rc != LEADROUTE_OK)
        return rc;
    if (PQntuples(r) == 0) { /* never written */
        *length = 0;
        *state_version = 0;
    } else {
        size_t n = (size_t)PQgetlength(r, 0, 1);
        *length = n;
        *state_version = (uint64_t)get_i64(r, 0, 0);
        if (n && n <= cap)
            memcpy(buf, PQgetvalue(r, 0, 1), n); /* else the router asks again with room for `n` */
    }
    PQclear(r);
    return LEADROUTE_OK;
}

static int pg_find_claim(void *user, const char *key, char *rep_id, size_t cap)
{
    pg_store *s = user;
    params p = { 0 };
    PGresult *r;
    if (!s || !key || (!rep_id && cap > 0))
        return LEADROUTE_EINVAL;
    put_text(&p, key);
    int rc = run(s, ST_CLAIM_HOLDER, &p, "find_claim", &r);
    if (rc != LEADROUTE_OK)
        return rc;
    if (PQntuples(r) == 0) {
        rc = LEADROUTE_ENOTFOUND;
    } else {
        const char *rep = PQgetvalue(r, 0, 0);
        size_t n = strlen(rep);
        if (n >= cap)
            rc = set_error(s, LEADROUTE_ERANGE, "find_claim: the holder's id needs %zu bytes, %zu given", n + 1,
                           cap);
        else
            memcpy(rep_id, rep, n + 1);
    }
    PQclear(r);
    return rc;
}

static int pg_open_count(void *user, const char *rep_id, uint32_t *count)
{
    pg_store *s = user;
    params p = { 0 };
    PGresult *r;
    if (!s || !rep_id || !count)
        return LEADROUTE_EINVAL;
    put_text(&p, rep_id);
    int rc = run(s, ST_OPEN_COUNT, &p, "open_count", &r);
    if (rc != LEADROUTE_OK)
        return rc;
    *count = clamp_u32(get_i64(r, 0, 0));
    PQclear(r);
    return LEADROUTE_OK;
}

static int check_commit(pg_store *s, const leadroute_commit *cm)
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
    if (cm->state_length > (size_t)INT32_MAX)
        return set_error(s, LEADROUTE_EINVAL, "commit: a pool state of %zu bytes is too large", cm->state_length);
    /* kept like sqlite_store, which cannot store NaN */
    if (!isfinite(a->value) || !isfinite(a->sla_minutes))
        return set_error(s, LEADROUTE_EINVAL, "commit: the value or SLA of %s is not finite", a->key);
    return LEADROUTE_OK;
}

static int pg_commit(void *user, const leadroute_commit *cm, char *owner, size_t owner_cap)
{
    pg_store *s = user;
    params p = { 0 };
    PGresult *r = NULL;
    if (!s)
        return LEADROUTE_EINVAL;
    int rc = check_commit(s, cm);
    if (rc != LEADROUTE_OK)
        return rc;
    const leadroute_assignment *a = cm->assignment;
    put_text(&p, cm->pool_id);
    put_i64(&p, (int64_t)cm->expected_version);
    if (cm->pool_id)
        put_bytes(&p, cm->state, cm->state_length);
    else
        put_text(&p, NULL);
    put_i64(&p, cm->capacity);
    put_text(&p, a->key);
    put_text(&p, a->rep_id);
    put_text(&p, a->previous);
    put_id(&p, a->lead_id);
    put_id(&p, a->pool_id);
    put_id(&p, a->rule_id);
    put_i64(&p, (int64_t)a->table_hash);
    put_i64(&p, a->at_ms);
    put_f64(&p, a->sla_minutes);
    put_i64(&p, a->deadline_ms);
    put_f64(&p, a->value);
    put_i64(&p, a->hops);
    put_bool(&p, a->escalated != 0);
    put_text(&p, cm->account_key);
    put_i64(&p, LOG_KEEP_MS);

    if ((rc = tx_begin(s, "commit")) != LEADROUTE_OK)
        return rc;
    if ((rc = run(s, ST_COMMIT, &p, "commit", &r)) == LEADROUTE_OK) {
        int64_t code = PQntuples(r) == 1 ? get_i64(r, 0, 0) : -1;
        const char *detail = PQntuples(r) == 1 ? get_text(r, 0, 1) : NULL;
        switch (code) {
        case 0:
            break;
        case 1:
            rc = set_error(s, LEADROUTE_ECONFLICT, "commit: pool %s is at version %s, expected %llu", cm->pool_id,
                           detail ? detail : "0", (unsigned long long)cm->expected_version);
            break;
        case 2:
            rc = set_error(s, LEADROUTE_ECONFLICT, "commit: rep %s is at its capacity of %u open leads",
                           a->rep_id, (unsigned)cm->capacity);
            break;
        case 3:
            if (owner && owner_cap)
                snprintf(owner, owner_cap, "%s", detail ? detail : "");
            rc = set_error(s, LEADROUTE_EEXISTS, "commit: %s is held by %s", a->key, detail ? detail : "?");
            break;
        case 4:
            rc = set_error(s, LEADROUTE_ECONFLICT, "commit: the holder of %s let it go meanwhile", a->key);
            break;
        default:
            rc = set_error(s, LEADROUTE_EIO, "commit: leadroute_commit() gave an unexpected answer");
            break;
        }
        PQclear(r);
    }
    return tx_end(s, rc, "commit");
}

static int pg_close(void *user, const char *key)
{
    pg_store *s = user;
    params p = { 0 };
    PGresult *r;
    if (!s || !key)
        return LEADROUTE_EINVAL;
    put_text(&p, key);
    int rc = tx_begin(s, "close");
    if (rc != LEADROUTE_OK)
        return rc;
    if ((rc = run(s, ST_CLOSE, &p, "close", &r)) == LEADROUTE_OK) {
        /* account claims are never closed */
        if (strcmp(PQcmdTuples(r), "0") == 0)
            rc = set_error(s, LEADROUTE_ENOTFOUND, "close: no lead of key %s is claimed", key);
        PQclear(r);
    }
    return tx_end(s, rc, "close");
}

static int pg_window(void *user, const char *rep_id, const char *pool_id, int64_t since_ms, uint64_t *count,
                     double *value)
{
    pg_store *s = user;
    params p = { 0 };
    PGresult *r;
    if (!s || (!rep_id && !pool_id))
        return LEADROUTE_EINVAL;
    /* by rep, by pool, or (both given) by rep within the pool */
    int id = rep_id ? (pool_id ? ST_WINDOW_REP_POOL : ST_WINDOW_REP) : ST_WINDOW_POOL;
    if (rep_id)
        put_text(&p, rep_id);
    if (pool_id)
        put_text(&p, pool_id);
    put_i64(&p, since_ms);
    int rc = run(s, id, &p, "window", &r);
    if (rc != LEADROUTE_OK)
        return rc;
    if (count)
        *count = (uint64_t)get_i64(r, 0, 0);
    if (value)
        *value = get_f64(r, 0, 1);
    PQclear(r);
    return LEADROUTE_OK;
}

static int pg_acknowledge(void *user, const char *key, int64_t at_ms, int64_t *assigned_ms, char *rep_id,
                          size_t rep_cap, char *pool_id, size_t pool_cap)
{
    pg_store *s = user;
    params p = { 0 };
    PGresult *r;
    if (!s || !key || (!rep_id && rep_cap > 0) || (!pool_id && pool_cap > 0))
        return LEADROUTE_EINVAL;
    put_text(&p, key);
    put_i64(&p, at_ms != 0 ? at_ms : 1); /* 0 means "not yet": a follow-up at the epoch is moved by 1 ms */
    int rc = tx_begin(s, "acknowledge");
    if (rc != LEADROUTE_OK)
        return rc;
    if ((rc = run(s, ST_ACK, &p, "acknowledge", &r)) == LEADROUTE_OK) {
        if (PQntuples(r) == 0) {
            rc = set_error(s, LEADROUTE_ENOTFOUND, "acknowledge: no lead of key %s is claimed", key);
        } else {
            const char *pool = get_text(r, 0, 1);
            if (assigned_ms)
                *assigned_ms = get_i64(r, 0, 2);
            if (rep_id && rep_cap)
                snprintf(rep_id, rep_cap, "%s", PQgetvalue(r, 0, 0));
            if (pool_id && pool_cap)
                snprintf(pool_id, pool_cap, "%s", pool ? pool : "");
            if (get_i64(r, 0, 3) != 0)
                rc = set_error(s, LEADROUTE_EEXISTS, "acknowledge: %s was acknowledged before", key);
        }
        PQclear(r);
    }
    /* EEXISTS kept the old time: nothing to undo, the savepoint is released */
    int again = rc == LEADROUTE_EEXISTS;
    int end = tx_end(s, again ? LEADROUTE_OK : rc, "acknowledge");
    return again && end == LEADROUTE_OK ? LEADROUTE_EEXISTS : end;
}

/* The rows are all read before `each` runs, so `each` may even call the store. */
static int pg_list_due(void *user, int64_t now_ms, int (*each)(void *ctx, const leadroute_assignment *a),
                       void *ctx)
{
    pg_store *s = user;
    params p = { 0 };
    PGresult *r;
    const char **history = NULL;
    size_t history_cap = 0;
    if (!s || !each)
        return LEADROUTE_EINVAL;
    put_i64(&p, now_ms);
    int rc = run(s, ST_LIST_DUE, &p, "list_due", &r);
    if (rc != LEADROUTE_OK)
        return rc;
    for (int i = 0; i < PQntuples(r) && rc == LEADROUTE_OK; i++) {
        leadroute_assignment a;
        if (history_room(&history, &history_cap, history_count(r, i)) != LEADROUTE_OK) {
            rc = set_error(s, LEADROUTE_ENOMEM, "list_due: out of memory");
            break;
        }
        fill_assignment(r, i, history, &a);
        rc = each(ctx, &a);
    }
    free((void *)history);
    PQclear(r);
    return rc;
}

const leadroute_store pg_store_methods = {
    LEADROUTE_STORE_VERSION, pg_load_pool, pg_find_claim, pg_open_count, pg_commit, pg_close,
    pg_window, pg_acknowledge, pg_list_due,
};

/* ---- beyond the store contract ------------------------------------------------------------------- */

int pg_store_get(pg_store *s, const char *key, leadroute_assignment *out)
{
    params p = { 0 };
    PGresult *r;
    if (!s || !key || !out)
        return LEADROUTE_EINVAL;
    PQclear(s->get_result); /* the previous answer's strings go */
    s->get_result = NULL;
    put_text(&p, key);
    int rc = run(s, ST_CLAIM_GET, &p, "get", &r);
    if (rc != LEADROUTE_OK)
        return rc;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return set_error(s, LEADROUTE_ENOTFOUND, "get: no lead of key %s is claimed", key);
    }
    if (history_room(&s->get_history, &s->get_history_cap, history_count(r, 0)) != LEADROUTE_OK) {
        PQclear(r);
        return set_error(s, LEADROUTE_ENOMEM, "get: out of memory");
    }
    s->get_result = r;
    fill_assignment(r, 0, s->get_history, out);
    return LEADROUTE_OK;
}

int pg_store_record(pg_store *s, const pg_store_event *e)
{
    params p = { 0 };
    PGresult *r;
    if (!s)
        return LEADROUTE_EINVAL;
    if (!e || !e->kind || !e->key)
        return set_error(s, LEADROUTE_EINVAL, "record: an event needs a kind and a key");
    put_i64(&p, e->at_ms);
    put_text(&p, e->kind);
    put_text(&p, e->key);
    put_text(&p, e->lead_id);
    put_text(&p, e->detail);
    int rc = tx_begin(s, "record");
    if (rc != LEADROUTE_OK)
        return rc;
    if ((rc = run(s, ST_EVENT_ADD, &p, "record", &r)) == LEADROUTE_OK)
        PQclear(r);
    return tx_end(s, rc, "record");
}

int pg_store_events(pg_store *s, const char *lead, int (*each)(void *ctx, const pg_store_event *event), void *ctx,
                    size_t *count)
{
    params p = { 0 };
    PGresult *r;
    size_t listed = 0;
    if (count)
        *count = 0;
    if (!s)
        return LEADROUTE_EINVAL;
    if (!lead || !each)
        return set_error(s, LEADROUTE_EINVAL, "events: NULL lead or callback");
    put_text(&p, lead);
    int rc = run(s, ST_EVENTS, &p, "events", &r);
    if (rc != LEADROUTE_OK)
        return rc;
    for (int i = 0; i < PQntuples(r) && rc == LEADROUTE_OK; i++) {
        pg_store_event e = { get_i64(r, i, 0), get_text(r, i, 1), get_text(r, i, 2), get_text(r, i, 3),
                             get_text(r, i, 4) };
        listed++;
        rc = each(ctx, &e);
    }
    PQclear(r);
    if (count)
        *count = listed;
    return rc;
}

const char *pg_store_errmsg(const pg_store *s)
{
    return s ? s->errmsg : "";
}

uint64_t pg_store_round_trips(const pg_store *s)
{
    return s ? s->round_trips : 0;
}

int pg_store_backend_pid(const pg_store *s)
{
    return s && PQstatus(s->conn) == CONNECTION_OK ? PQbackendPID(s->conn) : 0;
}

/* ---- batches ---------------------------------------------------------------------------------------- */

int pg_store_begin(pg_store *s)
{
    if (!s)
        return LEADROUTE_EINVAL;
    if (s->in_batch)
        return set_error(s, LEADROUTE_EINVAL, "begin: a batch is already open");
    int rc = ensure_connected(s, "begin");
    if (rc == LEADROUTE_OK && (rc = run_simple(s, "BEGIN", "begin")) == LEADROUTE_OK)
        s->in_batch = 1;
    return rc;
}

int pg_store_commit(pg_store *s)
{
    if (!s)
        return LEADROUTE_EINVAL;
    if (!s->in_batch)
        return set_error(s, LEADROUTE_EINVAL, "commit: no batch is open");
    /* COMMIT of an aborted transaction "succeeds" as a rollback: check the answer */
    PGresult *r = exec_sql(s, "COMMIT");
    int rc = LEADROUTE_OK;
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        rc = result_error(s, r, "commit batch");
    else if (strcmp(PQcmdStatus(r), "COMMIT") != 0)
        rc = set_error(s, LEADROUTE_EIO, "commit batch: the transaction had failed and was rolled back");
    PQclear(r);
    s->in_batch = s->savepoint = 0;
    return rc;
}

int pg_store_rollback(pg_store *s)
{
    if (!s)
        return LEADROUTE_EINVAL;
    if (!s->in_batch)
        return LEADROUTE_OK;
    s->in_batch = s->savepoint = 0;
    if (PQstatus(s->conn) != CONNECTION_OK)
        return LEADROUTE_OK; /* the server rolled it back with the connection */
    return run_simple(s, "ROLLBACK", "rollback batch");
}

/* Server notices ("schema already exists, skipping") are no business of the host's stderr. */
static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* ---- opening ----------------------------------------------------------------------------------------- */

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

/* A query in text format during opening; NULL (message in err) on failure. */
static PGresult *open_query(pg_store *s, const char *sql, ExecStatusType want, char *err, size_t cap)
{
    PGconn *c = s->conn;
    PGresult *r = exec_sql(s, sql);
    if (PQresultStatus(r) == want)
        return r;
    const char *m = *PQresultErrorMessage(r) ? PQresultErrorMessage(r) : PQerrorMessage(c);
    open_error(err, cap, LEADROUTE_EIO, "%s: %.*s", PQdb(c), trimmed(m), m);
    PQclear(r);
    return NULL;
}

/* Create or check the tables in one transaction under an advisory lock: of
 * two processes opening a new database at once, the second waits and then
 * finds the first one's tables. */
static int migrate(pg_store *s, const char *schema, char *err, size_t cap)
{
    PGconn *c = s->conn;
    PGresult *r;
    int rc = LEADROUTE_EIO;
    if (!(r = open_query(s, "BEGIN", PGRES_COMMAND_OK, err, cap)))
        return LEADROUTE_EIO;
    PQclear(r);
    if (!(r = open_query(s, "SELECT pg_advisory_xact_lock(" SCHEMA_LOCK_KEY ")", PGRES_TUPLES_OK, err, cap)))
        goto fail;
    PQclear(r);
    if (schema) {
        char *quoted = PQescapeIdentifier(c, schema, strlen(schema)), sql[160];
        if (!quoted) {
            rc = open_error(err, cap, LEADROUTE_ENOMEM, "%s: out of memory", schema);
            goto fail;
        }
        snprintf(sql, sizeof sql, "CREATE SCHEMA IF NOT EXISTS %s", quoted);
        PQfreemem(quoted);
        if (!(r = open_query(s, sql, PGRES_COMMAND_OK, err, cap)))
            goto fail;
        PQclear(r);
    }
    if (!(r = open_query(s, "SELECT to_regclass('leadroute_meta') IS NOT NULL", PGRES_TUPLES_OK, err, cap)))
        goto fail;
    int exists = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (!exists) {
        char insert_meta[96];
        snprintf(insert_meta, sizeof insert_meta, "INSERT INTO leadroute_meta VALUES ('schema', '%d')",
                 PG_STORE_SCHEMA_VERSION);
        for (size_t i = 0; i < sizeof schema_sql / sizeof schema_sql[0]; i++) {
            if (!(r = open_query(s, schema_sql[i], PGRES_COMMAND_OK, err, cap)))
                goto fail;
            PQclear(r);
        }
        if (!(r = open_query(s, insert_meta, PGRES_COMMAND_OK, err, cap)))
            goto fail;
        PQclear(r);
    } else {
        if (!(r = open_query(s, "SELECT value FROM leadroute_meta WHERE key = 'schema'", PGRES_TUPLES_OK, err,
                             cap)))
            goto fail;
        long version = PQntuples(r) ? strtol(PQgetvalue(r, 0, 0), NULL, 10) : 0;
        PQclear(r);
        /* a later schema version would add its upgrade steps here, from `version` up */
        if (version != PG_STORE_SCHEMA_VERSION) {
            rc = open_error(err, cap, LEADROUTE_EPARSE,
                            "%s: leadroute store schema version %ld is not supported (this program reads "
                            "version %d)",
                            PQdb(c), version, PG_STORE_SCHEMA_VERSION);
            goto fail;
        }
    }
    if (!(r = open_query(s, "COMMIT", PGRES_COMMAND_OK, err, cap)))
        goto fail;
    PQclear(r);
    return LEADROUTE_OK;
fail:
    PQclear(exec_sql(s, "ROLLBACK"));
    return rc;
}

void pg_store_close(pg_store *s)
{
    if (!s)
        return;
    if (s->in_batch && PQstatus(s->conn) == CONNECTION_OK)
        PQclear(exec_sql(s, "ROLLBACK"));
    PQclear(s->get_result);
    free((void *)s->get_history);
    PQfinish(s->conn);
    free(s);
}

int pg_store_open_schema(pg_store **out, const char *conninfo, const char *schema, char *err, size_t err_cap)
{
    char options[128];
    if (out)
        *out = NULL;
    if (!out || !conninfo)
        return open_error(err, err_cap, LEADROUTE_EINVAL, "pg_store_open: NULL argument");
    if (schema) {
        size_t n = strspn(schema, "abcdefghijklmnopqrstuvwxyz_0123456789");
        if (n == 0 || n > 63 || schema[n] != '\0')
            return open_error(err, err_cap, LEADROUTE_EINVAL,
                              "pg_store_open: schema name \"%s\" is not lower-case letters, digits and '_' "
                              "(at most 63)",
                              schema);
        snprintf(options, sizeof options, "-csearch_path=%s", schema);
    }
    /* conninfo is expanded as the dbname; what follows overrides it */
    const char *keys[] = { "dbname", "client_encoding", "application_name", schema ? "options" : NULL, NULL };
    const char *values[] = { conninfo, "UTF8", "leadroute", schema ? options : NULL, NULL };
    pg_store *s = calloc(1, sizeof *s);
    if (!s)
        return open_error(err, err_cap, LEADROUTE_ENOMEM, "pg_store_open: out of memory");
    s->conn = PQconnectdbParams(keys, values, 1);
    int rc;
    if (!s->conn) {
        rc = open_error(err, err_cap, LEADROUTE_ENOMEM, "pg_store_open: out of memory");
    } else if (PQstatus(s->conn) != CONNECTION_OK) {
        const char *m = PQerrorMessage(s->conn);
        rc = open_error(err, err_cap, LEADROUTE_EIO, "cannot connect to PostgreSQL: %.*s", trimmed(m), m);
    } else {
        PQsetNoticeProcessor(s->conn, ignore_notice, NULL);
        rc = migrate(s, schema, err, err_cap);
        if (rc == LEADROUTE_OK && (rc = prepare_all(s)) != LEADROUTE_OK)
            open_error(err, err_cap, rc, "%s", s->errmsg);
    }
    if (rc != LEADROUTE_OK) {
        pg_store_close(s);
        return rc;
    }
    *out = s;
    return LEADROUTE_OK;
}

int pg_store_open(pg_store **out, const char *conninfo, char *err, size_t err_cap)
{
    return pg_store_open_schema(out, conninfo, NULL, err, err_cap);
}
