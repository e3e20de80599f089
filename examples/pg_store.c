/*
 * A host store for libleadroute in PostgreSQL (see pg_store.h).
 *
 * Schema (version 6, PG_STORE_SCHEMA_VERSION), every text column in the "C"
 * collation so keys compare and sort byte by byte, as in sqlite_store:
 *
 *   leadroute_meta (key, value)                     -- 'schema' -> '6', and the
 *       settings of pg_store_meta()
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
 *       31 days before the commit's time or the server's clock, the earlier.
 *       `id` gives the commit order (writers serialise on the store's lock,
 *       below).
 *   leadroute_events (id, at_ms, kind, key, lead_id, detail)
 *   functions leadroute_lock(), leadroute_now_ms(), leadroute_commit(),
 *       leadroute_commit_many(), leadroute_close()
 *
 * Versions 2 to 6 have the tables of version 1 and other functions (3
 * prunes the log against the commit's time, not the newest row's; 4 moves
 * no lead a tick listed but is not due at the move's time; 5 prunes after a
 * batch against its earliest commit's time, not its latest; 6 locks the
 * schema that holds the tables, not the caller's current schema): an older
 * database is upgraded in place when it is opened (its functions replaced),
 * and a program that reads an older version only refuses it afterwards.
 *
 * The store's lock: every write to claims and pool states takes one
 * transaction-scoped advisory lock per schema (leadroute_lock(): the schema
 * that holds the tables) before
 * anything else, so writers serialise: a single commit (the SQL function
 * leadroute_commit(), one statement), a close, and a whole batch, which
 * takes it at pg_store_begin() and keeps it until it ends. Under that lock
 * no one else changes what a batch read, which is what lets a batch answer
 * from its own cache and send its commits at the end in one statement
 * (leadroute_commit_many()); and there is one lock, so no deadlock.
 * Acknowledgements do not take it: they change only a lead's
 * acknowledgement time, which no cache holds, and a tick's move re-checks
 * it on the server (follow-up commits always go there).
 *
 * A single commit: the pool state compare-and-swap (UPDATE ... WHERE version
 * = expected, or INSERT ... ON CONFLICT DO NOTHING for version 0), the
 * capacity check, the claim (UPDATE of the row `previous` holds, else INSERT
 * ... ON CONFLICT DO NOTHING; the loser reads the winner), the log and the
 * account claim. A refused check raises inside a plpgsql block, which undoes
 * the block's writes, and comes back as a result code (with the pool's
 * current state when the version moved): all or nothing, one round trip.
 *
 * Caches. Outside a batch the handle keeps the pool states it last read or
 * wrote: load_pool answers from there, and a stale answer costs one
 * ECONFLICT, whose answer brings the current state, so the router's retry
 * needs no read. Inside a batch: pool states, holders of keys and open
 * counts as read under the lock and then as the batch's own commits left
 * them; commits are checked against that, queued, and flushed in order by
 * leadroute_commit_many(), which checks again (pool versions, holders, the
 * counts capacity was checked on) and raises on any difference: the batch
 * is then rolled back as a whole.
 *
 * Parameters and results travel in binary format: no number formatting that
 * depends on the locale, bytes of the pool state as they are.
 * SPDX-License-Identifier: MIT
 */
#include "pg_store.h"

#include <errno.h>
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
#define T_BOOL_ARRAY 1000
#define T_BYTEA_ARRAY 1001
#define T_TEXT_ARRAY 1009
#define T_INT8_ARRAY 1016
#define T_FLOAT8_ARRAY 1022

/* The tables, created with a new store. In parts: C compilers need not take
 * string literals over 4095 bytes. */
static const char *const schema_tables[] = {
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
};

/* Version 1's commit function, replaced by the later ones (another signature). */
static const char schema_drop_v1[] =
    "DROP FUNCTION leadroute_commit(text, bigint, bytea, bigint, text, text, text, text, text, text, bigint,\n"
    "  bigint, double precision, bigint, double precision, bigint, boolean, text, bigint);\n";

/* The functions of version 6, for a new store and for the upgrades. */
static const char *const schema_functions[] = {
    /* the store's lock: one per schema, so several stores in one database do not wait for each
     * other; the schema that holds the tables the caller reaches, not the caller's current_schema(),
     * which may be another one earlier on its search path ("$user", empty) */
    "CREATE OR REPLACE FUNCTION leadroute_lock() RETURNS void LANGUAGE plpgsql AS $fn$\n"
    "BEGIN\n"
    "  PERFORM pg_advisory_xact_lock(hashtextextended('leadroute store ' || (\n"
    "    SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace\n"
    "    WHERE c.oid = to_regclass('leadroute_meta')), 0));\n"
    "END\n"
    "$fn$;\n"
    /* the log is pruned before the commit's time or the server's clock, the earlier: one row
     * from a clock far ahead must not make every later commit prune the rows windows read */
    "CREATE OR REPLACE FUNCTION leadroute_now_ms() RETURNS bigint LANGUAGE sql AS $fn$\n"
    "  SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint\n"
    "$fn$;\n",
    "CREATE OR REPLACE FUNCTION leadroute_close(p_key text) RETURNS text LANGUAGE plpgsql AS $fn$\n"
    "DECLARE\n"
    "  holder text;\n"
    "BEGIN\n"
    "  PERFORM leadroute_lock();\n"
    "  DELETE FROM leadroute_claims WHERE key = p_key AND NOT is_account RETURNING rep INTO holder;\n"
    "  RETURN holder;\n"
    "END\n"
    "$fn$;\n",
    /* code 0 = done, 1 = pool version moved (detail: the version now, pool_state: the state now), 2 =
     * rep at capacity (detail: its open leads), 3 = key held (detail: holder; "" when a follow-up
     * finds it free), 4 = the holder let go between two statements (the router retries) */
    "CREATE OR REPLACE FUNCTION leadroute_commit(p_pool text, p_expected bigint, p_state bytea,\n"
    "  p_capacity bigint, p_key text, p_rep text, p_previous text, p_lead_id text, p_assign_pool text,\n"
    "  p_rule text, p_table_hash bigint, p_at_ms bigint, p_sla double precision, p_deadline bigint,\n"
    "  p_value double precision, p_hops bigint, p_escalated boolean, p_account text, p_keep_ms bigint,\n"
    "  p_follow_up boolean, OUT code integer, OUT detail text, OUT pool_state bytea)\n"
    "LANGUAGE plpgsql AS $fn$\n"
    "DECLARE\n"
    "  n bigint;\n"
    "BEGIN\n"
    "  code := 0;\n"
    "  PERFORM leadroute_lock();\n"
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
    "        SELECT version::text, state INTO detail, pool_state FROM leadroute_pools WHERE id = p_pool;\n"
    "        RAISE EXCEPTION USING ERRCODE = 'LR001';\n"
    "      END IF;\n"
    "    END IF;\n"
    "    IF p_capacity > 0 THEN\n"
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
    "        WHERE key = p_key AND rep = p_previous\n"
    "          AND NOT (p_follow_up AND (acknowledged_ms <> 0 OR deadline_ms = 0 OR deadline_ms > p_at_ms));\n"
    "      GET DIAGNOSTICS n = ROW_COUNT;\n"
    "      IF n = 0 AND p_follow_up THEN\n"
    "        -- a tick moves the lead from its holder only: closed or acknowledged meanwhile, it stays\n"
    "        code := 3;\n"
    "        SELECT rep INTO detail FROM leadroute_claims WHERE key = p_key;\n"
    "        detail := coalesce(detail, '');\n"
    "        RAISE EXCEPTION USING ERRCODE = 'LR001';\n"
    "      END IF;\n"
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
    "      VALUES (p_at_ms, p_key, p_rep, coalesce(p_assign_pool, p_pool), p_value) RETURNING id INTO n;\n"
    "    IF n % 64 = 0 THEN -- now and then: the log only needs to stay bounded\n"
    "      DELETE FROM leadroute_assignments\n"
    "        WHERE at_ms < least(p_at_ms, leadroute_now_ms()) - p_keep_ms;\n"
    "    END IF;\n"
    "    IF p_account IS NOT NULL THEN\n"
    "      INSERT INTO leadroute_claims (key, rep, is_account) VALUES (p_account, p_rep, true)\n"
    "        ON CONFLICT (key) DO NOTHING;\n"
    "    END IF;\n"
    "  EXCEPTION WHEN SQLSTATE 'LR001' THEN\n"
    "    RETURN; -- the block's writes are undone; code and detail say why\n"
    "  END;\n"
    "END\n"
    "$fn$;\n",
    /* A batch's commits, in order (c_*), checked by the batch against what it read under the lock;
     * checked again here, set by set: each pool's commits take its versions one after the other
     * from the one the pool has (p_*: first and last version, last state), moved claims are held
     * by their `previous` (kind 1), new ones are free (kinds 0 and 2: a plain INSERT), and the reps
     * whose capacity was checked have the open leads the batch counted (r_*). Then the recorded
     * events (e_*). Any difference raises: the caller's transaction is then rolled back. */
    "CREATE OR REPLACE FUNCTION leadroute_commit_many(c_kind bigint[], c_key text[], c_rep text[],\n"
    "  c_previous text[], c_lead text[], c_apool text[], c_rule text[], c_hash bigint[], c_at bigint[],\n"
    "  c_sla double precision[], c_deadline bigint[], c_value double precision[], c_hops bigint[],\n"
    "  c_escalated boolean[], c_account text[], c_pool text[], c_expected bigint[],\n"
    "  p_pool text[], p_from bigint[], p_to bigint[], p_state bytea[], r_rep text[], r_open bigint[],\n"
    "  e_at bigint[], e_kind text[], e_key text[], e_lead text[], e_detail text[], p_keep_ms bigint)\n"
    "RETURNS void LANGUAGE plpgsql AS $fn$\n"
    "DECLARE\n"
    "  n bigint;\n"
    "  m bigint;\n"
    "BEGIN\n"
    "  PERFORM leadroute_lock();\n"
    "  SELECT count(*) INTO n\n"
    "    FROM (SELECT c.expected, p.from_v, p.to_v,\n"
    "                 row_number() OVER (PARTITION BY c.pool ORDER BY c.i) AS k\n"
    "            FROM unnest(c_pool, c_expected) WITH ORDINALITY AS c(pool, expected, i)\n"
    "            LEFT JOIN unnest(p_pool, p_from, p_to) AS p(id, from_v, to_v) ON p.id = c.pool\n"
    "           WHERE c.pool IS NOT NULL) x\n"
    "   WHERE x.from_v IS NULL OR x.expected <> x.from_v + x.k - 1 OR x.from_v + x.k > x.to_v;\n"
    "  SELECT n + count(*) INTO n FROM unnest(p_pool, p_from, p_to) AS p(id, from_v, to_v)\n"
    "   WHERE p.to_v - p.from_v <> (SELECT count(*) FROM unnest(c_pool) AS c(pool) WHERE c.pool = p.id);\n"
    "  IF n > 0 THEN\n"
    "    RAISE EXCEPTION USING ERRCODE = 'LR002',\n"
    "      MESSAGE = format('%s commits of the batch do not follow their pool''s versions', n);\n"
    "  END IF;\n"
    "  UPDATE leadroute_pools AS t SET version = p.to_v, state = p.state\n"
    "    FROM unnest(p_pool, p_from, p_to, p_state) AS p(id, from_v, to_v, state)\n"
    "   WHERE t.id = p.id AND p.from_v > 0 AND t.version = p.from_v;\n"
    "  GET DIAGNOSTICS n = ROW_COUNT;\n"
    "  INSERT INTO leadroute_pools (id, version, state)\n"
    "    SELECT p.id, p.to_v, p.state FROM unnest(p_pool, p_from, p_to, p_state) AS p(id, from_v, to_v, state)\n"
    "     WHERE p.from_v = 0\n"
    "    ON CONFLICT (id) DO NOTHING;\n"
    "  GET DIAGNOSTICS m = ROW_COUNT;\n"
    "  IF n + m <> coalesce(array_length(p_pool, 1), 0) THEN\n"
    "    RAISE EXCEPTION USING ERRCODE = 'LR002', MESSAGE = 'a pool state moved since the batch read it';\n"
    "  END IF;\n",
    "  UPDATE leadroute_claims AS t SET rep = c.rep, is_account = false, lead_id = c.lead,\n"
    "      pool_id = c.apool, rule_id = c.rule, table_hash = c.hash, at_ms = c.at, sla_minutes = c.sla,\n"
    "      deadline_ms = c.deadline, value = c.value, hops = c.hops, escalated = c.escalated,\n"
    "      acknowledged_ms = 0, history = coalesce(t.history, '{}'::text[]) || c.previous\n"
    "    FROM unnest(c_kind, c_key, c_rep, c_previous, c_lead, c_apool, c_rule, c_hash, c_at, c_sla,\n"
    "                c_deadline, c_value, c_hops, c_escalated)\n"
    "         AS c(kind, key, rep, previous, lead, apool, rule, hash, at, sla, deadline, value, hops,\n"
    "              escalated)\n"
    "   WHERE c.kind = 1 AND t.key = c.key AND t.rep = c.previous;\n"
    "  GET DIAGNOSTICS n = ROW_COUNT;\n"
    "  IF n <> (SELECT count(*) FROM unnest(c_kind) AS c(kind) WHERE c.kind = 1) THEN\n"
    "    RAISE EXCEPTION USING ERRCODE = 'LR002', MESSAGE = 'a lead moved since the batch read its holder';\n"
    "  END IF;\n"
    "  INSERT INTO leadroute_claims (key, rep, is_account, lead_id, pool_id, rule_id, table_hash, at_ms,\n"
    "      sla_minutes, deadline_ms, value, hops, escalated, acknowledged_ms, history)\n"
    "    SELECT c.key, c.rep, false, c.lead, c.apool, c.rule, c.hash, c.at, c.sla, c.deadline, c.value,\n"
    "           c.hops, c.escalated, 0, CASE WHEN c.kind = 2 THEN ARRAY[c.previous] END\n"
    "      FROM unnest(c_kind, c_key, c_rep, c_previous, c_lead, c_apool, c_rule, c_hash, c_at, c_sla,\n"
    "                  c_deadline, c_value, c_hops, c_escalated) WITH ORDINALITY\n"
    "           AS c(kind, key, rep, previous, lead, apool, rule, hash, at, sla, deadline, value, hops,\n"
    "                escalated, i)\n"
    "     WHERE c.kind <> 1 ORDER BY c.i;\n"
    "  INSERT INTO leadroute_assignments (at_ms, key, rep, pool_id, value)\n"
    "    SELECT c.at, c.key, c.rep, coalesce(c.apool, c.pool), c.value\n"
    "      FROM unnest(c_at, c_key, c_rep, c_apool, c_pool, c_value) WITH ORDINALITY\n"
    "           AS c(at, key, rep, apool, pool, value, i)\n"
    "     ORDER BY c.i;\n"
    "  IF coalesce(array_length(c_key, 1), 0) > 0 THEN\n"
    "    DELETE FROM leadroute_assignments -- no more than the commits one by one would prune\n"
    "      WHERE at_ms < least((SELECT min(a) FROM unnest(c_at) AS a), leadroute_now_ms()) - p_keep_ms;\n"
    "  END IF;\n"
    "  INSERT INTO leadroute_claims (key, rep, is_account)\n"
    "    SELECT c.account, c.rep, true FROM unnest(c_account, c_rep) WITH ORDINALITY AS c(account, rep, i)\n"
    "     WHERE c.account IS NOT NULL ORDER BY c.i\n"
    "    ON CONFLICT (key) DO NOTHING;\n"
    "  SELECT count(*) INTO n FROM unnest(r_rep, r_open) AS r(rep, open)\n"
    "   WHERE r.open <> (SELECT count(*) FROM leadroute_claims t WHERE t.rep = r.rep AND NOT t.is_account);\n"
    "  IF n > 0 THEN\n"
    "    RAISE EXCEPTION USING ERRCODE = 'LR002',\n"
    "      MESSAGE = format('the open leads of %s reps differ from what the batch counted', n);\n"
    "  END IF;\n"
    "  INSERT INTO leadroute_events (at_ms, kind, key, lead_id, detail)\n"
    "    SELECT e.at, e.kind, e.key, e.lead, e.detail\n"
    "      FROM unnest(e_at, e_kind, e_key, e_lead, e_detail) WITH ORDINALITY AS e(at, kind, key, lead, detail, i)\n"
    "     ORDER BY e.i;\n"
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
    ST_CLAIM_HOLDER_FRESH,
    ST_CLAIM_HOLDERS,
    ST_CLAIM_GET,
    ST_OPEN_COUNT,
    ST_COMMIT,
    ST_COMMIT_MANY,
    ST_CLOSE,
    ST_WINDOW_REP,
    ST_WINDOW_REP_POOL,
    ST_WINDOW_POOL,
    ST_ACK,
    ST_LIST_DUE,
    ST_EVENT_ADD,
    ST_EVENTS,
    ST_META_PUT,
    ST_META_GET,
    ST_COUNT
};

#define MAX_PARAMS 29

typedef struct statement {
    const char *name, *sql;
    int n;
    unsigned int types[MAX_PARAMS];
} statement;

static const statement statements[ST_COUNT] = {
    [ST_META_PUT] = { "lr_meta_put", "INSERT INTO leadroute_meta VALUES ($1, $2) ON CONFLICT (key) DO NOTHING", 2,
                      { T_TEXT, T_TEXT } },
    [ST_META_GET] = { "lr_meta_get", "SELECT value FROM leadroute_meta WHERE key = $1", 1, { T_TEXT } },
    [ST_POOL_GET] = { "lr_pool_get", "SELECT version, state FROM leadroute_pools WHERE id = $1", 1, { T_TEXT } },
    [ST_CLAIM_HOLDER] = { "lr_claim_holder", "SELECT rep FROM leadroute_claims WHERE key = $1", 1, { T_TEXT } },
    /* outside a batch: the holder, and the pools the handle keeps whose version moved (where 0 is the
     * holder's row, 1 a pool's), so the commit that usually follows meets a current state */
    [ST_CLAIM_HOLDER_FRESH] = { "lr_claim_holder_fresh",
                                "SELECT 0, rep, NULL::bigint, NULL::bytea FROM leadroute_claims WHERE key = $1 "
                                "UNION ALL SELECT 1, p.id, p.version, p.state FROM leadroute_pools p "
                                "JOIN unnest($2::text[], $3::bigint[]) AS c(id, v) ON p.id = c.id "
                                "WHERE p.version <> c.v",
                                3, { T_TEXT, T_TEXT_ARRAY, T_INT8_ARRAY } },
    [ST_CLAIM_HOLDERS] = { "lr_claim_holders", "SELECT key, rep FROM leadroute_claims WHERE key = ANY($1)", 1,
                           { T_TEXT_ARRAY } },
    [ST_CLAIM_GET] = { "lr_claim_get",
                       "SELECT " CLAIM_COLUMNS " FROM leadroute_claims WHERE key = $1 AND NOT is_account", 1,
                       { T_TEXT } },
    [ST_OPEN_COUNT] = { "lr_open_count",
                        "SELECT count(*) FROM leadroute_claims WHERE rep = $1 AND NOT is_account",
                        1, { T_TEXT } },
    [ST_COMMIT] = { "lr_commit",
                    "SELECT code, detail, pool_state FROM leadroute_commit($1, $2, $3, $4, $5, $6, $7, $8, $9, "
                    "$10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
                    20,
                    { T_TEXT, T_INT8, T_BYTEA, T_INT8, T_TEXT, T_TEXT, T_TEXT, T_TEXT, T_TEXT, T_TEXT, T_INT8,
                      T_INT8, T_FLOAT8, T_INT8, T_FLOAT8, T_INT8, T_BOOL, T_TEXT, T_INT8, T_BOOL } },
    [ST_COMMIT_MANY] = { "lr_commit_many",
                         "SELECT leadroute_commit_many($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
                         "$14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29)",
                         29,
                         { T_INT8_ARRAY, T_TEXT_ARRAY, T_TEXT_ARRAY, T_TEXT_ARRAY, T_TEXT_ARRAY, T_TEXT_ARRAY,
                           T_TEXT_ARRAY, T_INT8_ARRAY, T_INT8_ARRAY, T_FLOAT8_ARRAY, T_INT8_ARRAY,
                           T_FLOAT8_ARRAY, T_INT8_ARRAY, T_BOOL_ARRAY, T_TEXT_ARRAY, T_TEXT_ARRAY, T_INT8_ARRAY,
                           T_TEXT_ARRAY, T_INT8_ARRAY, T_INT8_ARRAY, T_BYTEA_ARRAY, T_TEXT_ARRAY, T_INT8_ARRAY,
                           T_INT8_ARRAY, T_TEXT_ARRAY, T_TEXT_ARRAY, T_TEXT_ARRAY, T_TEXT_ARRAY, T_INT8 } },
    [ST_CLOSE] = { "lr_close", "SELECT leadroute_close($1)", 1, { T_TEXT } },
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
    /* the first acknowledgement wins: the old time is read under the row lock; it is never
     * recorded before the assignment (the router reads its clock before the call) */
    [ST_ACK] = { "lr_ack",
                 "UPDATE leadroute_claims c SET acknowledged_ms = CASE WHEN o.old = 0 THEN greatest($2, c.at_ms) "
                 "ELSE o.old END "
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

/* ---- caches ---------------------------------------------------------------------------------------- */

/* A pool state as the handle knows it. */
typedef struct pool_entry {
    char *id;
    uint64_t version;       /* 0: the pool has no row */
    uint64_t flushed;       /* in a batch: the version the server has; queued commits lead to `version` */
    unsigned char *state;
    size_t length;
} pool_entry;

typedef struct pool_cache {
    pool_entry *v;
    size_t n, cap;
} pool_cache;

/* A rep in a batch: its open leads, and the string its claims point to. */
typedef struct rep_entry {
    char *id;
    int known;        /* `count` holds its open leads, queued commits included */
    int checked;      /* a queued commit checked capacity against `count`: the flush verifies it */
    int64_t count;
    int64_t queued;   /* while not known: what queued commits added (or took) */
} rep_entry;

/* What a batch knows of a key. */
enum { CLAIM_ABSENT, CLAIM_FREE, CLAIM_HELD, CLAIM_UNKNOWN };

typedef struct claim_entry {
    char *key;
    const char *holder;   /* when HELD: the id of a rep_entry */
    int state;            /* CLAIM_*; UNKNOWN: an account claim a queued commit may have made */
    uint64_t queued_gen;  /* == batch.gen: a queued commit claims this key */
} claim_entry;

/* Names to entry indexes (open addressing, at most half full); each entry
 * type starts with its name. */
typedef struct name_map {
    uint32_t *slots; /* index + 1; 0 = empty */
    size_t cap;
} name_map;

#define NO_TEXT SIZE_MAX

/* A commit queued in a batch; strings are offsets in the batch's text. */
typedef struct queued_commit {
    size_t key, rep, previous, lead, apool, rule, account, pool;
    int kind;  /* 0: a free key; 1: moved from `previous`, who holds it; 2: `previous` let go, a free key */
    int escalated;
    uint64_t expected;
    int64_t hash, at, deadline, hops;
    double sla, value;
} queued_commit;

typedef struct queued_event {
    int64_t at;
    size_t kind, key, lead, detail;
} queued_event;

/* Everything a batch knows and has queued; all of it goes when the batch ends. */
typedef struct batch {
    pool_cache pools;
    rep_entry *reps;
    size_t nreps, repcap;
    name_map rep_map;
    claim_entry *claims;
    size_t nclaims, claimcap;
    name_map claim_map;
    queued_commit *commits;
    size_t ncommits, commitcap;
    queued_event *events;
    size_t nevents, eventcap;
    char *text;
    size_t used, textcap;
    uint64_t gen; /* one more after each flush */
} batch;

struct pg_store {
    PGconn *conn;
    int prepared;   /* the statements exist on this connection */
    int in_batch;   /* pg_store_begin() opened a transaction */
    int batch_lost; /* the server rolled it back after a failure: writes are refused until the
                       host ends the batch (pg_store_rollback or pg_store_commit) */
    char lost_why[1024]; /* that failure, for the refusals' messages */
    uint64_t round_trips; /* statements sent since opening, for pg_store_round_trips() */
    pool_cache pools; /* outside batches: the pool states last read or written */
    batch b;
    char errmsg[1024];
    int lasting;    /* the failure in errmsg will not pass: see pg_store_failure_lasts() */
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
    s->lasting = 0;
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

static void batch_free(batch *b);

/* The batch is over (committed, rolled back, or lost): what it knew and queued goes. */
static void batch_drop(pg_store *s)
{
    s->in_batch = 0;
    batch_free(&s->b);
}

/* The batch was rolled back by a failure (the message in errmsg): the host
 * still has it open, so writes are refused until it ends it. Were they
 * run, each would be kept on its own, beyond the host's rollback. */
static void batch_lose(pg_store *s)
{
    batch_drop(s);
    s->batch_lost = 1;
    snprintf(s->lost_why, sizeof s->lost_why, "%s", s->errmsg);
}

/* A write while the host's batch is lost: refused, for good. */
static int refuse_if_lost(pg_store *s, const char *what)
{
    if (!s->batch_lost)
        return LEADROUTE_OK;
    set_error(s, LEADROUTE_EIO, "%s: refused: the open batch was rolled back after \"%s\"; end it "
              "(pg_store_rollback) before writing again", what, s->lost_why);
    s->lasting = 1;
    return LEADROUTE_EIO;
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
    if (lost_batch) {
        s->errmsg[0] = '\0';
        add_error(s, "the connection was lost with the open batch (rolled back)");
        batch_lose(s);
    }
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

/* After a failed statement inside a batch: the transaction is aborted (or
 * the connection gone), so the whole batch is rolled back: all of it or
 * none of it, none. */
static void after_failure(pg_store *s)
{
    if (!s->in_batch)
        return;
    if (PQstatus(s->conn) != CONNECTION_OK) {
        add_error(s, "; the connection was lost with the open batch (rolled back)");
    } else {
        PQclear(exec_sql(s, "ROLLBACK"));
        add_error(s, "; the open batch was rolled back");
    }
    batch_lose(s);
}

/* Whether the server's SQLSTATE `state` will come back however often the
 * statement is run again: a read-only transaction (a standby), privileges
 * or authorization, a schema not as this store made it (class 42), a full
 * disk, a program limit (class 54: an index row too long). Conflicts, lost
 * connections and shutdowns may pass. */
static int failure_lasts(const char *state)
{
    if (!state)
        return 0;
    return strcmp(state, "25006") == 0 || strncmp(state, "42", 2) == 0 || strncmp(state, "28", 2) == 0 ||
           strcmp(state, "53100") == 0 || strncmp(state, "54", 2) == 0;
}

/* The result of a failed call as a code: ECONFLICT for a serialization
 * failure or deadlock outside a batch (the router retries), else EIO.
 * Inside a batch any failure rolls the whole batch back and returns EIO:
 * the host runs the batch again. */
static int result_error(pg_store *s, PGresult *r, const char *what)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *m = r && *PQresultErrorMessage(r) ? PQresultErrorMessage(r) : PQerrorMessage(s->conn);
    int code = state && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0) ? LEADROUTE_ECONFLICT
                                                                                       : LEADROUTE_EIO;
    set_error(s, code, "%s: %.*s", what, trimmed(m), m);
    s->lasting = failure_lasts(state);
    if (s->in_batch) {
        after_failure(s);
        return LEADROUTE_EIO;
    }
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

/* ---- caches -------------------------------------------------------------------------------------- */

static int grow(void **v, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return LEADROUTE_OK;
    size_t n = *cap ? *cap : 16;
    while (n < need)
        n *= 2;
    void *grown = n <= SIZE_MAX / size ? realloc(*v, n * size) : NULL;
    if (!grown)
        return LEADROUTE_ENOMEM;
    *v = grown;
    *cap = n;
    return LEADROUTE_OK;
}

static char *copy_text(const char *t)
{
    size_t n = strlen(t) + 1;
    char *c = malloc(n);
    return c ? memcpy(c, t, n) : NULL;
}

static void pool_cache_free(pool_cache *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].id);
        free(c->v[i].state);
    }
    free(c->v);
    memset(c, 0, sizeof *c);
}

static pool_entry *pool_find(pool_cache *c, const char *id)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->v[i].id, id) == 0)
            return &c->v[i];
    return NULL;
}

static void pool_forget(pool_cache *c, const char *id)
{
    pool_entry *e = pool_find(c, id);
    if (!e)
        return;
    free(e->id);
    free(e->state);
    *e = c->v[--c->n];
}

/* Keep `version` and `state` for pool `id` (a read: flushed = version);
 * *out (may be NULL) gets the entry. On ENOMEM the pool is forgotten. */
static int pool_keep(pool_cache *c, const char *id, uint64_t version, const void *state, size_t length,
                     pool_entry **out)
{
    pool_entry *e = pool_find(c, id);
    unsigned char *copy = length ? malloc(length) : NULL;
    if ((length && !copy) || (!e && grow((void **)&c->v, &c->cap, c->n + 1, sizeof *c->v) != LEADROUTE_OK)) {
        free(copy);
        pool_forget(c, id);
        return LEADROUTE_ENOMEM;
    }
    if (!e) {
        char *name = copy_text(id);
        if (!name) {
            free(copy);
            return LEADROUTE_ENOMEM;
        }
        e = &c->v[c->n++];
        memset(e, 0, sizeof *e);
        e->id = name;
    }
    if (length)
        memcpy(copy, state, length);
    free(e->state);
    e->state = copy;
    e->length = length;
    e->version = e->flushed = version;
    if (out)
        *out = e;
    return LEADROUTE_OK;
}

/* FNV-1a: enough to spread ids and keys over a table. */
static size_t hash_name(const char *t)
{
    uint64_t h = 14695981039346656037u;
    for (; *t; t++)
        h = (h ^ (unsigned char)*t) * 1099511628211u;
    return (size_t)(h ^ h >> 29);
}

static const char *entry_name(const void *entries, size_t stride, size_t i)
{
    return *(char *const *)(const void *)((const char *)entries + i * stride);
}

/* Index of the entry named `name`, or -1. */
static long map_find(const name_map *m, const void *entries, size_t stride, const char *name)
{
    if (!m->cap)
        return -1;
    for (size_t mask = m->cap - 1, i = hash_name(name) & mask; m->slots[i]; i = (i + 1) & mask)
        if (strcmp(entry_name(entries, stride, m->slots[i] - 1), name) == 0)
            return (long)(m->slots[i] - 1);
    return -1;
}

static void map_put(name_map *m, const void *entries, size_t stride, size_t index)
{
    size_t mask = m->cap - 1, i = hash_name(entry_name(entries, stride, index)) & mask;
    while (m->slots[i])
        i = (i + 1) & mask;
    m->slots[i] = (uint32_t)(index + 1);
}

/* Room for entry number `count` (0-based) while the table stays at most half full. */
static int map_room(name_map *m, const void *entries, size_t stride, size_t count)
{
    if ((count + 1) * 2 <= m->cap)
        return LEADROUTE_OK;
    if (count >= UINT32_MAX / 2)
        return LEADROUTE_ENOMEM;
    size_t cap = m->cap ? m->cap : 64;
    while ((count + 1) * 2 > cap)
        cap *= 2;
    uint32_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return LEADROUTE_ENOMEM;
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    for (size_t i = 0; i < count; i++)
        map_put(m, entries, stride, i);
    return LEADROUTE_OK;
}

/* The batch's entry for rep `id`, made (count unknown) if missing. */
static int rep_index(batch *b, const char *id, long *out)
{
    long i = map_find(&b->rep_map, b->reps, sizeof *b->reps, id);
    if (i < 0) {
        char *name = NULL;
        if (grow((void **)&b->reps, &b->repcap, b->nreps + 1, sizeof *b->reps) != LEADROUTE_OK ||
            map_room(&b->rep_map, b->reps, sizeof *b->reps, b->nreps) != LEADROUTE_OK || !(name = copy_text(id)))
            return LEADROUTE_ENOMEM;
        i = (long)b->nreps++;
        memset(&b->reps[i], 0, sizeof b->reps[i]);
        b->reps[i].id = name;
        map_put(&b->rep_map, b->reps, sizeof *b->reps, (size_t)i);
    }
    *out = i;
    return LEADROUTE_OK;
}

/* The batch's entry for `key`, made (ABSENT) if missing. */
static int claim_index(batch *b, const char *key, long *out)
{
    long i = map_find(&b->claim_map, b->claims, sizeof *b->claims, key);
    if (i < 0) {
        char *name = NULL;
        if (grow((void **)&b->claims, &b->claimcap, b->nclaims + 1, sizeof *b->claims) != LEADROUTE_OK ||
            map_room(&b->claim_map, b->claims, sizeof *b->claims, b->nclaims) != LEADROUTE_OK ||
            !(name = copy_text(key)))
            return LEADROUTE_ENOMEM;
        i = (long)b->nclaims++;
        memset(&b->claims[i], 0, sizeof b->claims[i]);
        b->claims[i].key = name;
        map_put(&b->claim_map, b->claims, sizeof *b->claims, (size_t)i);
    }
    *out = i;
    return LEADROUTE_OK;
}

/* What the server said of `key`: held by `holder`, or free (NULL). */
static int claim_learn(batch *b, const char *key, const char *holder, long *out)
{
    long r = -1, i;
    if ((holder && rep_index(b, holder, &r) != LEADROUTE_OK) || claim_index(b, key, &i) != LEADROUTE_OK)
        return LEADROUTE_ENOMEM;
    b->claims[i].state = holder ? CLAIM_HELD : CLAIM_FREE;
    b->claims[i].holder = holder ? b->reps[r].id : NULL;
    if (out)
        *out = i;
    return LEADROUTE_OK;
}

static void batch_free(batch *b)
{
    pool_cache_free(&b->pools);
    for (size_t i = 0; i < b->nreps; i++)
        free(b->reps[i].id);
    for (size_t i = 0; i < b->nclaims; i++)
        free(b->claims[i].key);
    free(b->reps);
    free(b->rep_map.slots);
    free(b->claims);
    free(b->claim_map.slots);
    free(b->commits);
    free(b->events);
    free(b->text);
    memset(b, 0, sizeof *b);
}

/* `t` copied into the batch's text: its offset, NO_TEXT for NULL. */
static int queue_text(batch *b, const char *t, size_t *out)
{
    if (!t) {
        *out = NO_TEXT;
        return LEADROUTE_OK;
    }
    size_t n = strlen(t) + 1;
    if (grow((void **)&b->text, &b->textcap, b->used + n, 1) != LEADROUTE_OK)
        return LEADROUTE_ENOMEM;
    memcpy(b->text + b->used, t, n);
    *out = b->used;
    b->used += n;
    return LEADROUTE_OK;
}

static const char *queued_text(const batch *b, size_t offset)
{
    return offset == NO_TEXT ? NULL : b->text + offset;
}

/* ---- arrays in binary format --------------------------------------------------------------------- */

typedef struct array_buf {
    char *data;
    size_t len, cap;
    int failed;
} array_buf;

static void ab_bytes(array_buf *a, const void *p, size_t n)
{
    if (a->failed || grow((void **)&a->data, &a->cap, a->len + n, 1) != LEADROUTE_OK) {
        a->failed = 1;
        return;
    }
    if (n)
        memcpy(a->data + a->len, p, n);
    a->len += n;
}

static void ab_u32(array_buf *a, uint32_t v)
{
    unsigned char b[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8),
                           (unsigned char)v };
    ab_bytes(a, b, 4);
}

/* The header of a one-dimensional array of `n` elements of type `oid` (none: no dimension). */
static void ab_begin(array_buf *a, uint32_t oid, size_t n)
{
    ab_u32(a, n ? 1 : 0);
    ab_u32(a, 0); /* the server works out itself whether there are NULLs */
    ab_u32(a, oid);
    if (n) {
        ab_u32(a, (uint32_t)n);
        ab_u32(a, 1);
    }
}

static void ab_blob(array_buf *a, const void *p, size_t n)
{
    ab_u32(a, (uint32_t)n);
    ab_bytes(a, p, n);
}

static void ab_text(array_buf *a, const char *t)
{
    if (t)
        ab_blob(a, t, strlen(t));
    else
        ab_u32(a, UINT32_MAX); /* -1: NULL */
}

static void ab_i64(array_buf *a, int64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)((uint64_t)v >> (56 - 8 * i));
    ab_blob(a, b, 8);
}

static void ab_f64(array_buf *a, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    ab_i64(a, (int64_t)u);
}

static void ab_bool(array_buf *a, int v)
{
    unsigned char b = v ? 1 : 0;
    ab_blob(a, &b, 1);
}

/* ---- a batch's flush --------------------------------------------------------------------------- */

enum {
    A_KIND, A_KEY, A_REP, A_PREVIOUS, A_LEAD, A_APOOL, A_RULE, A_HASH, A_AT, A_SLA, A_DEADLINE, A_VALUE, A_HOPS,
    A_ESC, A_ACCOUNT, A_POOL, A_EXPECTED, A_POOLS, A_FROM, A_TO, A_STATES, A_REPS, A_OPEN, A_EV_AT, A_EV_KIND,
    A_EV_KEY, A_EV_LEAD, A_EV_DETAIL, A_ARRAYS
};

/* Send the queued commits and events in one statement. On failure the
 * batch is rolled back (and gone) and the code returned. */
static int flush(pg_store *s)
{
    batch *b = &s->b;
    array_buf a[A_ARRAYS];
    params p = { 0 };
    PGresult *r;
    size_t npools = 0, nreps = 0;
    int rc;

    if (!s->in_batch || (b->ncommits == 0 && b->nevents == 0))
        return LEADROUTE_OK;
    for (size_t i = 0; i < b->pools.n; i++)
        npools += b->pools.v[i].version != b->pools.v[i].flushed;
    for (size_t i = 0; i < b->nreps; i++)
        nreps += b->reps[i].checked;
    memset(a, 0, sizeof a);
    static const uint32_t commit_types[A_POOLS] = {
        T_INT8, T_TEXT, T_TEXT, T_TEXT, T_TEXT, T_TEXT, T_TEXT, T_INT8, T_INT8, T_FLOAT8, T_INT8, T_FLOAT8,
        T_INT8, T_BOOL, T_TEXT, T_TEXT, T_INT8,
    };
    for (int k = 0; k < A_POOLS; k++)
        ab_begin(&a[k], commit_types[k], b->ncommits);
    for (size_t i = 0; i < b->ncommits; i++) {
        const queued_commit *c = &b->commits[i];
        ab_i64(&a[A_KIND], c->kind);
        ab_text(&a[A_KEY], queued_text(b, c->key));
        ab_text(&a[A_REP], queued_text(b, c->rep));
        ab_text(&a[A_PREVIOUS], queued_text(b, c->previous));
        ab_text(&a[A_LEAD], queued_text(b, c->lead));
        ab_text(&a[A_APOOL], queued_text(b, c->apool));
        ab_text(&a[A_RULE], queued_text(b, c->rule));
        ab_i64(&a[A_HASH], c->hash);
        ab_i64(&a[A_AT], c->at);
        ab_f64(&a[A_SLA], c->sla);
        ab_i64(&a[A_DEADLINE], c->deadline);
        ab_f64(&a[A_VALUE], c->value);
        ab_i64(&a[A_HOPS], c->hops);
        ab_bool(&a[A_ESC], c->escalated);
        ab_text(&a[A_ACCOUNT], queued_text(b, c->account));
        ab_text(&a[A_POOL], queued_text(b, c->pool));
        ab_i64(&a[A_EXPECTED], (int64_t)c->expected);
    }
    ab_begin(&a[A_POOLS], T_TEXT, npools);
    ab_begin(&a[A_FROM], T_INT8, npools);
    ab_begin(&a[A_TO], T_INT8, npools);
    ab_begin(&a[A_STATES], T_BYTEA, npools);
    for (size_t i = 0; i < b->pools.n; i++) {
        const pool_entry *e = &b->pools.v[i];
        if (e->version == e->flushed)
            continue;
        ab_text(&a[A_POOLS], e->id);
        ab_i64(&a[A_FROM], (int64_t)e->flushed);
        ab_i64(&a[A_TO], (int64_t)e->version);
        ab_blob(&a[A_STATES], e->state, e->length);
    }
    ab_begin(&a[A_REPS], T_TEXT, nreps);
    ab_begin(&a[A_OPEN], T_INT8, nreps);
    for (size_t i = 0; i < b->nreps; i++) {
        if (!b->reps[i].checked)
            continue;
        ab_text(&a[A_REPS], b->reps[i].id);
        ab_i64(&a[A_OPEN], b->reps[i].count);
    }
    ab_begin(&a[A_EV_AT], T_INT8, b->nevents);
    ab_begin(&a[A_EV_KIND], T_TEXT, b->nevents);
    ab_begin(&a[A_EV_KEY], T_TEXT, b->nevents);
    ab_begin(&a[A_EV_LEAD], T_TEXT, b->nevents);
    ab_begin(&a[A_EV_DETAIL], T_TEXT, b->nevents);
    for (size_t i = 0; i < b->nevents; i++) {
        const queued_event *e = &b->events[i];
        ab_i64(&a[A_EV_AT], e->at);
        ab_text(&a[A_EV_KIND], queued_text(b, e->kind));
        ab_text(&a[A_EV_KEY], queued_text(b, e->key));
        ab_text(&a[A_EV_LEAD], queued_text(b, e->lead));
        ab_text(&a[A_EV_DETAIL], queued_text(b, e->detail));
    }
    int failed = 0;
    for (int k = 0; k < A_ARRAYS; k++) {
        failed |= a[k].failed || a[k].len > (size_t)INT32_MAX;
        put_bytes(&p, a[k].data, a[k].len);
    }
    put_i64(&p, LOG_KEEP_MS);
    rc = failed ? set_error(s, LEADROUTE_ENOMEM, "commit: out of memory sending the batch's commits")
                : run(s, ST_COMMIT_MANY, &p, "commit", &r);
    for (int k = 0; k < A_ARRAYS; k++)
        free(a[k].data);
    if (rc != LEADROUTE_OK)
        return rc; /* a failed statement took the batch with it */
    PQclear(r);
    /* the server has it all now */
    b->ncommits = b->nevents = 0;
    b->used = 0;
    for (size_t i = 0; i < b->pools.n; i++)
        b->pools.v[i].flushed = b->pools.v[i].version;
    for (size_t i = 0; i < b->nreps; i++) {
        b->reps[i].checked = 0;
        b->reps[i].queued = 0;
    }
    for (size_t i = 0; i < b->nclaims; i++)
        if (b->claims[i].state == CLAIM_UNKNOWN)
            b->claims[i].state = CLAIM_ABSENT; /* the server knows: ask it when needed */
    b->gen++;
    return LEADROUTE_OK;
}

/* ---- what a batch reads ------------------------------------------------------------------------- */

/* The batch's entry for pool `id`, read from the server the first time. */
static int batch_pool(pg_store *s, const char *id, pool_entry **out)
{
    params p = { 0 };
    PGresult *r;
    if ((*out = pool_find(&s->b.pools, id)))
        return LEADROUTE_OK;
    put_text(&p, id);
    int rc = run(s, ST_POOL_GET, &p, "load_pool", &r);
    if (rc != LEADROUTE_OK)
        return rc;
    if (PQntuples(r) == 0)
        rc = pool_keep(&s->b.pools, id, 0, NULL, 0, out);
    else
        rc = pool_keep(&s->b.pools, id, (uint64_t)get_i64(r, 0, 0), PQgetvalue(r, 0, 1),
                       (size_t)PQgetlength(r, 0, 1), out);
    PQclear(r);
    return rc == LEADROUTE_OK ? rc : set_error(s, rc, "load_pool: out of memory");
}

/* The batch's entry for `key` (FREE or HELD), from the cache, else the server. */
static int batch_holder(pg_store *s, const char *key, long *out)
{
    batch *b = &s->b;
    params p = { 0 };
    PGresult *r;
    long i = map_find(&b->claim_map, b->claims, sizeof *b->claims, key);
    int rc;
    if (i >= 0 && b->claims[i].state == CLAIM_UNKNOWN && (rc = flush(s)) != LEADROUTE_OK)
        return rc; /* a queued account claim may have taken it: the server knows after the flush */
    if (i >= 0 && (b->claims[i].state == CLAIM_FREE || b->claims[i].state == CLAIM_HELD)) {
        *out = i;
        return LEADROUTE_OK;
    }
    put_text(&p, key);
    if ((rc = run(s, ST_CLAIM_HOLDER, &p, "find_claim", &r)) != LEADROUTE_OK)
        return rc;
    rc = claim_learn(b, key, PQntuples(r) ? PQgetvalue(r, 0, 0) : NULL, out);
    PQclear(r);
    return rc == LEADROUTE_OK ? rc : set_error(s, rc, "find_claim: out of memory");
}

/* The batch's entry for rep `id` with its open leads known. */
static int batch_count(pg_store *s, const char *id, long *out)
{
    batch *b = &s->b;
    params p = { 0 };
    PGresult *r;
    int rc = rep_index(b, id, out);
    if (rc != LEADROUTE_OK)
        return set_error(s, rc, "open_count: out of memory");
    if (b->reps[*out].known)
        return LEADROUTE_OK;
    put_text(&p, id);
    if ((rc = run(s, ST_OPEN_COUNT, &p, "open_count", &r)) != LEADROUTE_OK)
        return rc;
    /* the server has not seen the queued commits yet */
    b->reps[*out].count = get_i64(r, 0, 0) + b->reps[*out].queued;
    b->reps[*out].queued = 0;
    b->reps[*out].known = 1;
    PQclear(r);
    return LEADROUTE_OK;
}

/* One more (or one fewer) open lead for rep entry `i`. */
static void rep_add(batch *b, long i, int delta)
{
    if (b->reps[i].known)
        b->reps[i].count += delta;
    else
        b->reps[i].queued += delta;
}

/* Whether a queued commit wrote an assignment that a window of `rep_id`
 * or `pool_id` would count. */
static int window_touched(const batch *b, const char *rep_id, const char *pool_id)
{
    for (size_t i = 0; i < b->ncommits; i++) {
        const queued_commit *c = &b->commits[i];
        const char *pool = c->apool != NO_TEXT ? queued_text(b, c->apool) : queued_text(b, c->pool);
        if ((rep_id && strcmp(queued_text(b, c->rep), rep_id) == 0) ||
            (pool_id && pool && strcmp(pool, pool_id) == 0))
            return 1;
    }
    return 0;
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
    pool_entry *e = NULL;
    params p = { 0 };
    PGresult *r;
    int rc;
    if (!s || !pool_id || !length || !state_version || (!buf && cap > 0))
        return LEADROUTE_EINVAL;
    if (s->in_batch) {
        if ((rc = batch_pool(s, pool_id, &e)) != LEADROUTE_OK)
            return rc;
    } else if (!(e = pool_find(&s->pools, pool_id))) {
        /* a state kept from before may be stale: the commit's compare-and-swap says so */
        put_text(&p, pool_id);
        if ((rc = run(s, ST_POOL_GET, &p, "load_pool", &r)) != LEADROUTE_OK)
            return rc;
        if (PQntuples(r) == 0)
            rc = pool_keep(&s->pools, pool_id, 0, NULL, 0, &e);
        else
            rc = pool_keep(&s->pools, pool_id, (uint64_t)get_i64(r, 0, 0), PQgetvalue(r, 0, 1),
                           (size_t)PQgetlength(r, 0, 1), &e);
        PQclear(r);
        if (rc != LEADROUTE_OK)
            return set_error(s, rc, "load_pool: out of memory");
    }
    *length = e->length;
    *state_version = e->version;
    if (e->length && e->length <= cap)
        memcpy(buf, e->state, e->length); /* else the router asks again with room for it */
    return LEADROUTE_OK;
}

static int copy_holder(pg_store *s, const char *rep, char *rep_id, size_t cap)
{
    size_t n = strlen(rep);
    if (n >= cap)
        return set_error(s, LEADROUTE_ERANGE, "find_claim: the holder's id needs %zu bytes, %zu given", n + 1, cap);
    memcpy(rep_id, rep, n + 1);
    return LEADROUTE_OK;
}

static int pg_find_claim(void *user, const char *key, char *rep_id, size_t cap)
{
    pg_store *s = user;
    params p = { 0 };
    PGresult *r;
    long i;
    int rc;
    if (!s || !key || (!rep_id && cap > 0))
        return LEADROUTE_EINVAL;
    if (s->in_batch) {
        if ((rc = batch_holder(s, key, &i)) != LEADROUTE_OK)
            return rc;
        const claim_entry *e = &s->b.claims[i];
        return e->state == CLAIM_HELD ? copy_holder(s, e->holder, rep_id, cap) : LEADROUTE_ENOTFOUND;
    }
    if (s->pools.n == 0) {
        put_text(&p, key);
        if ((rc = run(s, ST_CLAIM_HOLDER, &p, "find_claim", &r)) != LEADROUTE_OK)
            return rc;
        rc = PQntuples(r) == 0 ? LEADROUTE_ENOTFOUND : copy_holder(s, PQgetvalue(r, 0, 0), rep_id, cap);
        PQclear(r);
        return rc;
    }
    /* the router reads a pool state next, then commits: refresh the ones kept on the way */
    array_buf ids, versions;
    memset(&ids, 0, sizeof ids);
    memset(&versions, 0, sizeof versions);
    ab_begin(&ids, T_TEXT, s->pools.n);
    ab_begin(&versions, T_INT8, s->pools.n);
    for (size_t k = 0; k < s->pools.n; k++) {
        ab_text(&ids, s->pools.v[k].id);
        ab_i64(&versions, (int64_t)s->pools.v[k].version);
    }
    if (ids.failed || versions.failed || ids.len > (size_t)INT32_MAX || versions.len > (size_t)INT32_MAX) {
        rc = set_error(s, LEADROUTE_ENOMEM, "find_claim: out of memory");
    } else {
        put_text(&p, key);
        put_bytes(&p, ids.data, ids.len);
        put_bytes(&p, versions.data, versions.len);
        rc = run(s, ST_CLAIM_HOLDER_FRESH, &p, "find_claim", &r);
    }
    free(ids.data);
    free(versions.data);
    if (rc != LEADROUTE_OK)
        return rc;
    rc = LEADROUTE_ENOTFOUND;
    for (int row = 0; row < PQntuples(r); row++) {
        if (get_i64(r, row, 0) == 0)
            rc = copy_holder(s, PQgetvalue(r, row, 1), rep_id, cap);
        else /* on ENOMEM the pool is forgotten: read again when needed */
            pool_keep(&s->pools, PQgetvalue(r, row, 1), (uint64_t)get_i64(r, row, 2), PQgetvalue(r, row, 3),
                      (size_t)PQgetlength(r, row, 3), NULL);
    }
    PQclear(r);
    return rc;
}

static int pg_open_count(void *user, const char *rep_id, uint32_t *count)
{
    pg_store *s = user;
    params p = { 0 };
    PGresult *r;
    long i;
    int rc;
    if (!s || !rep_id || !count)
        return LEADROUTE_EINVAL;
    if (s->in_batch) {
        if ((rc = batch_count(s, rep_id, &i)) == LEADROUTE_OK)
            *count = clamp_u32(s->b.reps[i].count);
        return rc;
    }
    put_text(&p, rep_id);
    if ((rc = run(s, ST_OPEN_COUNT, &p, "open_count", &r)) != LEADROUTE_OK)
        return rc;
    *count = clamp_u32(get_i64(r, 0, 0));
    PQclear(r);
    return LEADROUTE_OK;
}

/* A string longer than PostgreSQL indexes: refused before it is sent, for
 * good (the server's error would come after a batch's other commits). */
static int refuse_long(pg_store *s, const char *what, const char *name, const char *text)
{
    size_t n = text ? strlen(text) : 0;
    if (n <= PG_STORE_MAX_ID)
        return LEADROUTE_OK;
    set_error(s, LEADROUTE_ELIMIT,
              "%s: the %s is %zu bytes; PostgreSQL indexes this store's keys and ids of up to %d bytes", what, name,
              n, PG_STORE_MAX_ID);
    s->lasting = 1;
    return LEADROUTE_ELIMIT;
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
    /* every string of the commit that lands in an index */
    const char *const names[] = { "key", "lead id", "rep id", "pool id", "pool id", "account key" };
    const char *const texts[] = { a->key, a->lead_id, a->rep_id, cm->pool_id, a->pool_id, cm->account_key };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        int rc = refuse_long(s, "commit", names[i], texts[i]);
        if (rc != LEADROUTE_OK)
            return rc;
    }
    return LEADROUTE_OK;
}

/* A tick's move (version 2 flag): the key must be held by `previous`
 * exactly, not acknowledged since. pg_commit refuses a move without a
 * previous holder before this is asked. */
static int is_follow_up(const leadroute_commit *cm)
{
    return cm->version >= 2 && (cm->flags & LEADROUTE_COMMIT_FOLLOW_UP) && cm->assignment->previous;
}

/* One commit on the server: leadroute_commit(), one round trip. Outside a
 * batch the pool state it wrote (or found, on a conflict) is kept for the
 * next load_pool. */
static int server_commit(pg_store *s, const leadroute_commit *cm, char *owner, size_t owner_cap)
{
    const leadroute_assignment *a = cm->assignment;
    params p = { 0 };
    PGresult *r = NULL;
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
    put_bool(&p, is_follow_up(cm));

    int rc = run(s, ST_COMMIT, &p, "commit", &r);
    if (rc != LEADROUTE_OK)
        return rc;
    int64_t code = PQntuples(r) == 1 ? get_i64(r, 0, 0) : -1;
    const char *detail = PQntuples(r) == 1 ? get_text(r, 0, 1) : NULL;
    switch (code) {
    case 0:
        if (cm->pool_id && !s->in_batch)
            pool_keep(&s->pools, cm->pool_id, cm->expected_version + 1, cm->state, cm->state_length, NULL);
        break;
    case 1:
        if (!s->in_batch) /* the state now, for the router's retry */
            pool_keep(&s->pools, cm->pool_id, detail ? strtoull(detail, NULL, 10) : 0, PQgetvalue(r, 0, 2),
                      (size_t)PQgetlength(r, 0, 2), NULL);
        rc = set_error(s, LEADROUTE_ECONFLICT, "commit: pool %s is at version %s, expected %llu", cm->pool_id,
                       detail ? detail : "0", (unsigned long long)cm->expected_version);
        break;
    case 2:
        rc = set_error(s, LEADROUTE_ECONFLICT, "commit: rep %s has reached the commit's capacity of %u open leads", a->rep_id,
                       (unsigned)cm->capacity);
        break;
    case 3:
        if (owner && owner_cap)
            snprintf(owner, owner_cap, "%s", detail ? detail : "");
        rc = set_error(s, LEADROUTE_EEXISTS, "commit: %s is held by %s", a->key,
                       detail && *detail ? detail : "no one (a follow-up of a closed lead)");
        if (detail && *detail && is_follow_up(cm) && strcmp(detail, a->previous) == 0)
            add_error(s, ", who acknowledged it");
        break;
    case 4:
        rc = set_error(s, LEADROUTE_ECONFLICT, "commit: the holder of %s let it go meanwhile", a->key);
        break;
    default:
        rc = set_error(s, LEADROUTE_EIO, "commit: leadroute_commit() gave an unexpected answer");
        break;
    }
    PQclear(r);
    return rc;
}

/* A tick's move inside a batch goes to the server (after the queued
 * commits), which knows about acknowledgements; what the batch knew of the
 * pool, the key, the account and the reps is then read again when needed. */
static int batch_follow_up(pg_store *s, const leadroute_commit *cm, char *owner, size_t owner_cap)
{
    const leadroute_assignment *a = cm->assignment;
    batch *b = &s->b;
    int rc = flush(s);
    if (rc != LEADROUTE_OK)
        return rc;
    rc = server_commit(s, cm, owner, owner_cap);
    if (!s->in_batch)
        return rc;
    const char *names[] = { a->key, cm->account_key };
    for (int k = 0; k < 2; k++) {
        long i = names[k] ? map_find(&b->claim_map, b->claims, sizeof *b->claims, names[k]) : -1;
        if (i >= 0)
            b->claims[i].state = CLAIM_ABSENT;
    }
    const char *reps[] = { a->rep_id, a->previous };
    for (int k = 0; k < 2; k++) {
        long i = reps[k] ? map_find(&b->rep_map, b->reps, sizeof *b->reps, reps[k]) : -1;
        if (i >= 0)
            b->reps[i].known = 0; /* nothing queued after the flush: `queued` is 0 */
    }
    if (cm->pool_id)
        pool_forget(&b->pools, cm->pool_id);
    return rc;
}

/* A commit inside a batch: checked against what the batch knows (read
 * under the store's lock, so exact), kept, and queued for the flush. */
static int batch_commit(pg_store *s, const leadroute_commit *cm, char *owner, size_t owner_cap)
{
    const leadroute_assignment *a = cm->assignment;
    batch *b = &s->b;
    pool_entry *pe = NULL;
    long ki, ri, pi = -1, ai = -1;
    int rc;

    /* 1-3: the checks, on what the batch knows or reads now */
    if (cm->pool_id && (rc = batch_pool(s, cm->pool_id, &pe)) != LEADROUTE_OK)
        return rc;
    if ((rc = batch_holder(s, a->key, &ki)) != LEADROUTE_OK)
        return rc;
    if (cm->capacity > 0 && (rc = batch_count(s, a->rep_id, &ri)) != LEADROUTE_OK)
        return rc;
    if (cm->pool_id)
        pe = pool_find(&b->pools, cm->pool_id); /* the reads above may have moved it */
    if (pe && pe->version != cm->expected_version)
        return set_error(s, LEADROUTE_ECONFLICT, "commit: pool %s is at version %llu, expected %llu", cm->pool_id,
                         (unsigned long long)pe->version, (unsigned long long)cm->expected_version);
    if (cm->capacity > 0 && b->reps[ri].count >= (int64_t)cm->capacity)
        return set_error(s, LEADROUTE_ECONFLICT, "commit: rep %s has reached the commit's capacity of %u open leads", a->rep_id,
                         (unsigned)cm->capacity);
    const char *holder = b->claims[ki].state == CLAIM_HELD ? b->claims[ki].holder : NULL;
    if (holder && !(a->previous && strcmp(holder, a->previous) == 0)) {
        if (owner && owner_cap)
            snprintf(owner, owner_cap, "%s", holder);
        return set_error(s, LEADROUTE_EEXISTS, "commit: %s is held by %s", a->key, holder);
    }
    int kind = holder ? 1 : a->previous ? 2 : 0;
    /* a key appears once per flush: the one queued before goes first */
    if (b->claims[ki].queued_gen == b->gen && (rc = flush(s)) != LEADROUTE_OK)
        return rc;

    /* 4: all that can fail first, then the changes */
    size_t text_mark = b->used;
    unsigned char *state = pe && cm->state_length ? malloc(cm->state_length) : NULL;
    queued_commit q;
    memset(&q, 0, sizeof q);
    if ((pe && cm->state_length && !state) || rep_index(b, a->rep_id, &ri) != LEADROUTE_OK ||
        (kind == 1 && rep_index(b, a->previous, &pi) != LEADROUTE_OK) ||
        (cm->account_key && claim_index(b, cm->account_key, &ai) != LEADROUTE_OK) ||
        grow((void **)&b->commits, &b->commitcap, b->ncommits + 1, sizeof *b->commits) != LEADROUTE_OK ||
        queue_text(b, a->key, &q.key) != LEADROUTE_OK || queue_text(b, a->rep_id, &q.rep) != LEADROUTE_OK ||
        queue_text(b, a->previous, &q.previous) != LEADROUTE_OK ||
        queue_text(b, a->lead_id && *a->lead_id ? a->lead_id : NULL, &q.lead) != LEADROUTE_OK ||
        queue_text(b, a->pool_id && *a->pool_id ? a->pool_id : NULL, &q.apool) != LEADROUTE_OK ||
        queue_text(b, a->rule_id && *a->rule_id ? a->rule_id : NULL, &q.rule) != LEADROUTE_OK ||
        queue_text(b, cm->account_key, &q.account) != LEADROUTE_OK ||
        queue_text(b, cm->pool_id, &q.pool) != LEADROUTE_OK) {
        free(state);
        b->used = text_mark;
        return set_error(s, LEADROUTE_ENOMEM, "commit: out of memory");
    }
    q.kind = kind;
    q.escalated = a->escalated != 0;
    q.expected = cm->expected_version;
    q.hash = (int64_t)a->table_hash;
    q.at = a->at_ms;
    q.deadline = a->deadline_ms;
    q.hops = a->hops;
    q.sla = a->sla_minutes;
    q.value = a->value;
    b->commits[b->ncommits++] = q;
    if (pe) {
        if (cm->state_length)
            memcpy(state, cm->state, cm->state_length);
        free(pe->state);
        pe->state = state;
        pe->length = cm->state_length;
        pe->version = cm->expected_version + 1;
    }
    rep_add(b, ri, 1);
    if (cm->capacity > 0)
        b->reps[ri].checked = 1;
    if (kind == 1)
        rep_add(b, pi, -1);
    b->claims[ki].state = CLAIM_HELD;
    b->claims[ki].holder = b->reps[ri].id;
    b->claims[ki].queued_gen = b->gen;
    if (ai >= 0 && ai != ki) {
        /* claimed for the rep unless held; unknown until the server says */
        claim_entry *acc = &b->claims[ai];
        if (acc->state == CLAIM_FREE) {
            acc->state = CLAIM_HELD;
            acc->holder = b->reps[ri].id;
        } else if (acc->state == CLAIM_ABSENT) {
            acc->state = CLAIM_UNKNOWN;
        }
    }
    return LEADROUTE_OK;
}

/* A tick's move that names no previous holder moves nothing: EEXISTS, with
 * the holder of its key in `owner` ("" when free; cut to `owner_cap`). */
static int refuse_move_from_nobody(pg_store *s, const char *key, char *owner, size_t owner_cap)
{
    const char *holder = NULL;
    PGresult *r = NULL;
    int rc;
    if (s->in_batch) {
        long i;
        if ((rc = batch_holder(s, key, &i)) != LEADROUTE_OK)
            return rc;
        if (s->b.claims[i].state == CLAIM_HELD)
            holder = s->b.claims[i].holder;
    } else {
        params p = { 0 };
        put_text(&p, key);
        if ((rc = run(s, ST_CLAIM_HOLDER, &p, "commit", &r)) != LEADROUTE_OK)
            return rc;
        if (PQntuples(r))
            holder = PQgetvalue(r, 0, 0);
    }
    if (owner && owner_cap)
        snprintf(owner, owner_cap, "%s", holder ? holder : "");
    PQclear(r);
    return set_error(s, LEADROUTE_EEXISTS, "commit: the move of %s names no previous holder; nothing moved", key);
}

static int pg_commit(void *user, const leadroute_commit *cm, char *owner, size_t owner_cap)
{
    pg_store *s = user;
    if (!s)
        return LEADROUTE_EINVAL;
    int rc = check_commit(s, cm);
    if (rc != LEADROUTE_OK || (rc = refuse_if_lost(s, "commit")) != LEADROUTE_OK)
        return rc;
    if (cm->version >= 2 && (cm->flags & LEADROUTE_COMMIT_FOLLOW_UP) && !cm->assignment->previous)
        return refuse_move_from_nobody(s, cm->assignment->key, owner, owner_cap);
    if (!s->in_batch)
        return server_commit(s, cm, owner, owner_cap);
    if (is_follow_up(cm))
        return batch_follow_up(s, cm, owner, owner_cap);
    return batch_commit(s, cm, owner, owner_cap);
}

static int pg_close(void *user, const char *key)
{
    pg_store *s = user;
    params p = { 0 };
    PGresult *r;
    if (!s || !key)
        return LEADROUTE_EINVAL;
    int rc = refuse_if_lost(s, "close");
    if (rc != LEADROUTE_OK || (rc = flush(s)) != LEADROUTE_OK)
        return rc;
    put_text(&p, key);
    if ((rc = run(s, ST_CLOSE, &p, "close", &r)) != LEADROUTE_OK)
        return rc;
    /* account claims are never closed */
    const char *holder = PQntuples(r) == 1 ? get_text(r, 0, 0) : NULL;
    if (!holder) {
        rc = set_error(s, LEADROUTE_ENOTFOUND, "close: no lead of key %s is claimed", key);
    } else if (s->in_batch) {
        batch *b = &s->b;
        long i = map_find(&b->claim_map, b->claims, sizeof *b->claims, key);
        long h = map_find(&b->rep_map, b->reps, sizeof *b->reps, holder);
        if (i >= 0)
            b->claims[i].state = CLAIM_FREE;
        /* the server has the close already: a count read later sees it,
         * so only a count the batch keeps goes down (not `queued`) */
        if (h >= 0 && b->reps[h].known)
            b->reps[h].count--;
    }
    PQclear(r);
    return rc;
}

static int pg_window(void *user, const char *rep_id, const char *pool_id, int64_t since_ms, uint64_t *count,
                     double *value)
{
    pg_store *s = user;
    params p = { 0 };
    PGresult *r;
    int rc;
    if (!s || (!rep_id && !pool_id))
        return LEADROUTE_EINVAL;
    /* the queued commits count too: sent first when they touch what is asked */
    if (s->in_batch && window_touched(&s->b, rep_id, pool_id) && (rc = flush(s)) != LEADROUTE_OK)
        return rc;
    /* by rep, by pool, or (both given) by rep within the pool */
    int id = rep_id ? (pool_id ? ST_WINDOW_REP_POOL : ST_WINDOW_REP) : ST_WINDOW_POOL;
    if (rep_id)
        put_text(&p, rep_id);
    if (pool_id)
        put_text(&p, pool_id);
    put_i64(&p, since_ms);
    if ((rc = run(s, id, &p, "window", &r)) != LEADROUTE_OK)
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
    int rc = refuse_if_lost(s, "acknowledge");
    if (rc != LEADROUTE_OK || (rc = flush(s)) != LEADROUTE_OK) /* the lead may be one the batch claimed */
        return rc;
    put_text(&p, key);
    put_i64(&p, at_ms != 0 ? at_ms : 1); /* 0 means "not yet": a follow-up at the epoch is moved by 1 ms */
    if ((rc = run(s, ST_ACK, &p, "acknowledge", &r)) != LEADROUTE_OK)
        return rc;
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
        /* EEXISTS kept the old time: nothing was changed */
        if (get_i64(r, 0, 3) != 0)
            rc = set_error(s, LEADROUTE_EEXISTS, "acknowledge: %s was acknowledged before", key);
    }
    PQclear(r);
    return rc;
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
    int rc = flush(s);
    if (rc != LEADROUTE_OK)
        return rc;
    put_i64(&p, now_ms);
    if ((rc = run(s, ST_LIST_DUE, &p, "list_due", &r)) != LEADROUTE_OK)
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

int pg_store_prefetch_claims(pg_store *s, const char *const *keys, size_t n)
{
    batch *b;
    array_buf a;
    params p = { 0 };
    PGresult *r;
    size_t asked = 0;
    int rc;
    if (!s)
        return LEADROUTE_EINVAL;
    if (!keys && n)
        return set_error(s, LEADROUTE_EINVAL, "prefetch_claims: NULL keys");
    if ((rc = refuse_if_lost(s, "prefetch_claims")) != LEADROUTE_OK)
        return rc;
    if (!s->in_batch)
        return set_error(s, LEADROUTE_EINVAL, "prefetch_claims: no batch is open");
    b = &s->b;
    for (size_t i = 0; i < n; i++) {
        if (!keys[i])
            return set_error(s, LEADROUTE_EINVAL, "prefetch_claims: key %zu is NULL", i);
        /* what the batch knows already, queued commits included, it knows better */
        long e = map_find(&b->claim_map, b->claims, sizeof *b->claims, keys[i]);
        asked += e < 0 || b->claims[e].state == CLAIM_ABSENT;
    }
    if (asked == 0)
        return LEADROUTE_OK;
    memset(&a, 0, sizeof a);
    ab_begin(&a, T_TEXT, asked);
    for (size_t i = 0; i < n; i++) {
        long e = map_find(&b->claim_map, b->claims, sizeof *b->claims, keys[i]);
        if (e < 0 || b->claims[e].state == CLAIM_ABSENT)
            ab_text(&a, keys[i]);
    }
    if (a.failed || a.len > (size_t)INT32_MAX) {
        free(a.data);
        return set_error(s, LEADROUTE_ENOMEM, "prefetch_claims: out of memory");
    }
    put_bytes(&p, a.data, a.len);
    rc = run(s, ST_CLAIM_HOLDERS, &p, "prefetch_claims", &r);
    free(a.data);
    if (rc != LEADROUTE_OK)
        return rc;
    /* the holders first, then the rest as free: stopped half-way, what the batch learnt is true */
    for (int i = 0; i < PQntuples(r) && rc == LEADROUTE_OK; i++)
        rc = claim_learn(b, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), NULL);
    PQclear(r);
    for (size_t i = 0; i < n && rc == LEADROUTE_OK; i++) {
        long e = map_find(&b->claim_map, b->claims, sizeof *b->claims, keys[i]);
        if (e < 0 || b->claims[e].state == CLAIM_ABSENT)
            rc = claim_learn(b, keys[i], NULL, NULL);
    }
    return rc == LEADROUTE_OK ? rc : set_error(s, rc, "prefetch_claims: out of memory");
}

int pg_store_get(pg_store *s, const char *key, leadroute_assignment *out)
{
    params p = { 0 };
    PGresult *r;
    if (!s || !key || !out)
        return LEADROUTE_EINVAL;
    PQclear(s->get_result); /* the previous answer's strings go */
    s->get_result = NULL;
    int rc = flush(s);
    if (rc != LEADROUTE_OK)
        return rc;
    put_text(&p, key);
    if ((rc = run(s, ST_CLAIM_GET, &p, "get", &r)) != LEADROUTE_OK)
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

int pg_store_meta(pg_store *s, const char *key, const char *value, char *held, size_t cap, int *found)
{
    params p = { 0 };
    PGresult *r;
    int rc;
    if (!s)
        return LEADROUTE_EINVAL;
    if (!key || !held || !cap || !found)
        return set_error(s, LEADROUTE_EINVAL, "meta: key, held (at least 1 byte) and found are needed");
    *found = 0;
    held[0] = '\0';
    if (value && strcmp(key, "schema") == 0)
        return set_error(s, LEADROUTE_EINVAL, "meta: 'schema' is the store's own");
    if (value && s->in_batch)
        return set_error(s, LEADROUTE_EINVAL, "meta: settings are set outside a batch");
    if (value) {
        if ((rc = refuse_if_lost(s, "meta")) != LEADROUTE_OK)
            return rc;
        put_text(&p, key);
        put_text(&p, value);
        if ((rc = run(s, ST_META_PUT, &p, "meta", &r)) != LEADROUTE_OK)
            return rc;
        PQclear(r);
        memset(&p, 0, sizeof p);
    }
    put_text(&p, key);
    if ((rc = run(s, ST_META_GET, &p, "meta", &r)) != LEADROUTE_OK)
        return rc;
    if (PQntuples(r) > 0) {
        const char *v = get_text(r, 0, 0);
        size_t n = v ? strlen(v) : 0;
        if (n >= cap) {
            PQclear(r);
            return set_error(s, LEADROUTE_ERANGE, "meta '%s': its value takes %zu bytes, %zu given", key, n + 1, cap);
        }
        memcpy(held, v ? v : "", n + 1);
        *found = 1;
    }
    PQclear(r);
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
    int refused = refuse_long(s, "record", "key", e->key);
    if (refused == LEADROUTE_OK)
        refused = refuse_long(s, "record", "lead id", e->lead_id);
    if (refused != LEADROUTE_OK)
        return refused;
    int lost = refuse_if_lost(s, "record");
    if (lost != LEADROUTE_OK)
        return lost;
    if (s->in_batch) { /* queued: it goes with the batch's commits */
        batch *b = &s->b;
        size_t mark = b->used;
        queued_event q = { e->at_ms, 0, 0, 0, 0 };
        if (grow((void **)&b->events, &b->eventcap, b->nevents + 1, sizeof *b->events) != LEADROUTE_OK ||
            queue_text(b, e->kind, &q.kind) != LEADROUTE_OK || queue_text(b, e->key, &q.key) != LEADROUTE_OK ||
            queue_text(b, e->lead_id, &q.lead) != LEADROUTE_OK ||
            queue_text(b, e->detail, &q.detail) != LEADROUTE_OK) {
            b->used = mark;
            return set_error(s, LEADROUTE_ENOMEM, "record: out of memory");
        }
        b->events[b->nevents++] = q;
        return LEADROUTE_OK;
    }
    put_i64(&p, e->at_ms);
    put_text(&p, e->kind);
    put_text(&p, e->key);
    put_text(&p, e->lead_id);
    put_text(&p, e->detail);
    int rc = run(s, ST_EVENT_ADD, &p, "record", &r);
    if (rc == LEADROUTE_OK)
        PQclear(r);
    return rc;
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
    int rc = flush(s);
    if (rc != LEADROUTE_OK)
        return rc;
    put_text(&p, lead);
    if ((rc = run(s, ST_EVENTS, &p, "events", &r)) != LEADROUTE_OK)
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

int pg_store_failure_lasts(const pg_store *s)
{
    return s ? s->lasting : 0;
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
    if (s->in_batch || s->batch_lost)
        return set_error(s, LEADROUTE_EINVAL, "begin: a batch is already open");
    int rc = ensure_connected(s, "begin");
    if (rc != LEADROUTE_OK)
        return rc;
    /* one round trip: the transaction and the store's lock, held until it ends */
    PGresult *r = exec_sql(s, "BEGIN; SELECT leadroute_lock()");
    if (PQresultStatus(r) != PGRES_TUPLES_OK && PQstatus(s->conn) != CONNECTION_OK) {
        /* the connection was lost while no batch was open (a server restart,
         * a terminated idle session): nothing is lost, so reconnect once */
        PQclear(r);
        if ((rc = ensure_connected(s, "begin")) != LEADROUTE_OK)
            return rc;
        r = exec_sql(s, "BEGIN; SELECT leadroute_lock()");
    }
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        /* no batch was opened, none is lost; a lock that failed after BEGIN ends its transaction */
        rc = result_error(s, r, "begin");
        PQclear(r);
        if (PQstatus(s->conn) == CONNECTION_OK)
            PQclear(exec_sql(s, "ROLLBACK"));
        return rc;
    }
    PQclear(r);
    s->in_batch = 1;
    s->b.gen = 1;
    return LEADROUTE_OK;
}

/* pg_store_commit() of a batch not lost. */
static int commit_batch(pg_store *s)
{
    if (!s->in_batch)
        return set_error(s, LEADROUTE_EINVAL, "commit: no batch is open");
    int rc = flush(s);
    if (rc != LEADROUTE_OK) {
        if (s->in_batch) { /* out of memory: nothing was sent, the batch is given up all the same */
            PQclear(exec_sql(s, "ROLLBACK"));
            batch_drop(s);
        }
        return rc == LEADROUTE_ENOMEM ? rc : LEADROUTE_EIO;
    }
    /* COMMIT of an aborted transaction "succeeds" as a rollback: check the answer */
    PGresult *r = exec_sql(s, "COMMIT");
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        rc = result_error(s, r, "commit batch");
    else if (strcmp(PQcmdStatus(r), "COMMIT") != 0)
        rc = set_error(s, LEADROUTE_EIO, "commit batch: the transaction had failed and was rolled back");
    PQclear(r);
    if (rc == LEADROUTE_OK) /* the batch's pool states are the server's now: single routes start from them */
        for (size_t i = 0; i < s->b.pools.n; i++) {
            const pool_entry *e = &s->b.pools.v[i];
            pool_keep(&s->pools, e->id, e->version, e->state, e->length, NULL);
        }
    batch_drop(s);
    return rc;
}

int pg_store_commit(pg_store *s)
{
    if (!s)
        return LEADROUTE_EINVAL;
    if (s->batch_lost) {
        s->batch_lost = 0;
        set_error(s, LEADROUTE_EIO, "commit batch: the batch was rolled back after \"%s\"; nothing of it was kept",
                  s->lost_why);
        s->lasting = 1;
        return LEADROUTE_EIO;
    }
    int rc = commit_batch(s);
    s->batch_lost = 0; /* a failure of the commit itself ends the batch too */
    return rc;
}

int pg_store_rollback(pg_store *s)
{
    if (!s)
        return LEADROUTE_EINVAL;
    s->batch_lost = 0;
    if (!s->in_batch)
        return LEADROUTE_OK;
    batch_drop(s);
    if (PQstatus(s->conn) != CONNECTION_OK)
        return LEADROUTE_OK; /* the server rolled it back with the connection */
    PGresult *r = exec_sql(s, "ROLLBACK");
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? LEADROUTE_OK : result_error(s, r, "rollback batch");
    PQclear(r);
    return rc;
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

/* The parts of a script sent as one. */
static int open_script(pg_store *s, const char *const *parts, size_t count, char *err, size_t cap)
{
    size_t n = 1;
    for (size_t i = 0; i < count; i++)
        n += strlen(parts[i]);
    char *sql = malloc(n), *end = sql;
    if (!sql)
        return open_error(err, cap, LEADROUTE_ENOMEM, "pg_store_open: out of memory");
    for (size_t i = 0; i < count; i++) {
        size_t k = strlen(parts[i]);
        memcpy(end, parts[i], k);
        end += k;
    }
    *end = '\0';
    PGresult *r = open_query(s, sql, PGRES_COMMAND_OK, err, cap);
    free(sql);
    PQclear(r);
    return r ? LEADROUTE_OK : LEADROUTE_EIO;
}

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Create or check the tables in one transaction under an advisory lock: of
 * two processes opening a new database at once, the second waits and then
 * finds the first one's tables. A version 1 to 5 store is upgraded: same
 * tables, the functions of version 6. */
/* The schema row's value: a whole number in decimal, nothing else. */
static int read_version(const char *text, long *out)
{
    char *end;
    errno = 0;
    *out = strtol(text, &end, 10);
    return errno == 0 && end != text && *end == '\0';
}

static int migrate(pg_store *s, const char *schema, char *err, size_t cap)
{
    PGconn *c = s->conn;
    PGresult *r;
    char set_version[160];
    int rc = LEADROUTE_EIO;
    if (!(r = open_query(s, "BEGIN", PGRES_COMMAND_OK, err, cap)))
        return LEADROUTE_EIO;
    PQclear(r);
    if (!(r = open_query(s, "SELECT pg_advisory_xact_lock(" SCHEMA_LOCK_KEY ")", PGRES_TUPLES_OK, err, cap)))
        goto fail;
    PQclear(r);
    if (schema) {
        /* created only when missing, so that a store of a schema there can
         * be opened on a connection that takes no writes, as one without */
        char *quoted = PQescapeIdentifier(c, schema, strlen(schema)), sql[160];
        char *literal = PQescapeLiteral(c, schema, strlen(schema));
        int missing;
        if (!quoted || !literal) {
            PQfreemem(quoted);
            PQfreemem(literal);
            rc = open_error(err, cap, LEADROUTE_ENOMEM, "%s: out of memory", schema);
            goto fail;
        }
        snprintf(sql, sizeof sql, "SELECT 1 FROM pg_namespace WHERE nspname = %s", literal);
        PQfreemem(literal);
        if (!(r = open_query(s, sql, PGRES_TUPLES_OK, err, cap))) {
            PQfreemem(quoted);
            goto fail;
        }
        missing = PQntuples(r) == 0;
        PQclear(r);
        snprintf(sql, sizeof sql, "CREATE SCHEMA %s", quoted);
        PQfreemem(quoted);
        if (missing) {
            if (!(r = open_query(s, sql, PGRES_COMMAND_OK, err, cap)))
                goto fail;
            PQclear(r);
        }
    }
    if (!(r = open_query(s, "SELECT to_regclass('leadroute_meta') IS NOT NULL", PGRES_TUPLES_OK, err, cap)))
        goto fail;
    int exists = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    long version = 0;
    if (exists) {
        if (!(r = open_query(s, "SELECT value FROM leadroute_meta WHERE key = 'schema'", PGRES_TUPLES_OK, err,
                             cap)))
            goto fail;
        if (PQntuples(r) == 0 || !read_version(PQgetvalue(r, 0, 0), &version)) {
            rc = open_error(err, cap, LEADROUTE_EPARSE,
                            "%s: the table leadroute_meta holds %s, not the version of a leadroute store",
                            PQdb(c), PQntuples(r) == 0 ? "no schema row" : "a schema row that is not a number");
            PQclear(r);
            goto fail;
        }
        PQclear(r);
        if (version < 1 || version > PG_STORE_SCHEMA_VERSION) {
            rc = open_error(err, cap, LEADROUTE_EPARSE,
                            "%s: leadroute store schema version %ld is not supported (this program reads "
                            "versions 1 to %d)",
                            PQdb(c), version, PG_STORE_SCHEMA_VERSION);
            goto fail;
        }
    }
    if (!exists || version != PG_STORE_SCHEMA_VERSION) {
        if (!exists && (rc = open_script(s, schema_tables, COUNT_OF(schema_tables), err, cap)) != LEADROUTE_OK)
            goto fail;
        if (exists && version == 1) { /* its commit function had another signature */
            const char *drop[] = { schema_drop_v1 };
            if ((rc = open_script(s, drop, 1, err, cap)) != LEADROUTE_OK)
                goto fail;
        }
        if ((rc = open_script(s, schema_functions, COUNT_OF(schema_functions), err, cap)) != LEADROUTE_OK)
            goto fail;
        snprintf(set_version, sizeof set_version,
                 "INSERT INTO leadroute_meta VALUES ('schema', '%d') ON CONFLICT (key) DO UPDATE SET value = "
                 "excluded.value",
                 PG_STORE_SCHEMA_VERSION);
        rc = LEADROUTE_EIO;
        if (!(r = open_query(s, set_version, PGRES_COMMAND_OK, err, cap)))
            goto fail;
        PQclear(r);
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
    batch_drop(s);
    pool_cache_free(&s->pools);
    PQclear(s->get_result);
    free((void *)s->get_history);
    PQfinish(s->conn);
    free(s);
}

/* The `options` the connection would have without a schema: the
 * connection string's own, else a service file's, else PGOPTIONS, as libpq
 * resolves them, which only a connection shows. A malloc'd string ("" for
 * none), or NULL when out of memory. When that connection fails, the
 * string's own: connecting again will say what is wrong. */
static char *own_options(const char *const *keys, const char *const *values, const char *conninfo)
{
    PGconn *probe = PQconnectdbParams(keys, values, 1);
    PQconninfoOption *opts = NULL;
    const char *own = "";
    char *out;
    if (probe && PQstatus(probe) == CONNECTION_OK)
        opts = PQconninfo(probe);
    else
        opts = PQconninfoParse(conninfo, NULL);
    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (strcmp(o->keyword, "options") == 0 && o->val)
            own = o->val;
    out = strdup(own);
    PQconninfoFree(opts);
    PQfinish(probe);
    return out;
}

/* The `options` to connect with for `schema`: the connection's own (a
 * statement timeout, read-only transactions, ...) followed by the schema's
 * search path, which comes last so that it wins. A malloc'd string, or
 * NULL when out of memory. */
static char *schema_options(const char *own, const char *schema)
{
    size_t n = strlen(own) + strlen(schema) + 32;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, "%s%s-csearch_path=%s", own, own[0] ? " " : "", schema);
    return out;
}

int pg_store_open_schema(pg_store **out, const char *conninfo, const char *schema, char *err, size_t err_cap)
{
    char *options = NULL;
    if (out)
        *out = NULL;
    if (!out || !conninfo)
        return open_error(err, err_cap, LEADROUTE_EINVAL, "pg_store_open: NULL argument");
    if (schema) {
        size_t n = strspn(schema, "abcdefghijklmnopqrstuvwxyz_0123456789");
        if (strncmp(schema, "pg_", 3) == 0)
            return open_error(err, err_cap, LEADROUTE_EINVAL,
                              "pg_store_open: schema name \"%s\" starts with \"pg_\", which PostgreSQL keeps for "
                              "its own schemas", schema);
        if (n == 0 || n > 63 || schema[n] != '\0')
            return open_error(err, err_cap, LEADROUTE_EINVAL,
                              "pg_store_open: schema name \"%s\" is not lower-case letters, digits and '_' "
                              "(at most 63)",
                              schema);
    }
    /* conninfo is expanded as the dbname; what follows overrides it, but for
     * the fallback name, which applies only when conninfo names none */
    const char *keys[] = { "dbname", "client_encoding", "fallback_application_name", NULL, NULL };
    const char *values[] = { conninfo, "UTF8", "leadroute", NULL, NULL };
    if (schema) {
        /* an explicit `options` replaces a service file's and PGOPTIONS: keep theirs */
        char *own = own_options(keys, values, conninfo);
        options = own ? schema_options(own, schema) : NULL;
        free(own);
        if (!options)
            return open_error(err, err_cap, LEADROUTE_ENOMEM, "pg_store_open: out of memory");
        keys[3] = "options";
        values[3] = options;
    }
    pg_store *s = calloc(1, sizeof *s);
    if (!s) {
        free(options);
        return open_error(err, err_cap, LEADROUTE_ENOMEM, "pg_store_open: out of memory");
    }
    s->conn = PQconnectdbParams(keys, values, 1);
    free(options);
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
