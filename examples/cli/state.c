/*
 * The routing state behind --state: a SQLite file (../sqlite_store.c) or,
 * when the value is a PostgreSQL connection string, a PostgreSQL database
 * (../pg_store.c, compiled in with LEADROUTE_CLI_WITH_PG). The commands see
 * one interface and never ask which store backs it.
 * SPDX-License-Identifier: MIT
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../sqlite_store.h"
#ifdef LEADROUTE_CLI_WITH_PG
#include <libpq-fe.h>

#include "../pg_store.h"
#endif

struct cli_state {
    sqlite_store *sqlite;
#ifdef LEADROUTE_CLI_WITH_PG
    pg_store *pg;
#endif
    int read_through; /* the live database, to be read through a fork only */
    char name[256];   /* for messages: the file, or the database without credentials */
};

int cli_state_is_postgresql(const char *spec)
{
    if (strncmp(spec, "postgresql://", 13) == 0 || strncmp(spec, "postgres://", 11) == 0)
        return 1;
    /* libpq's key=value form starts with a keyword: "host=...", "dbname = ..." */
    size_t n = strspn(spec, "abcdefghijklmnopqrstuvwxyz_");
    if (n == 0)
        return 0;
    while (spec[n] == ' ' || spec[n] == '\t')
        n++;
    return spec[n] == '=';
}

/* `text` on one line of stderr, after the command's prefix. */
static void report_one_line(const char *command, const char *text)
{
    fprintf(stderr, "leadroute %s: ", command);
    int space = 0;
    for (const char *c = text; *c; c++) {
        int blank = *c == '\n' || *c == '\r' || *c == '\t' || *c == ' ';
        if (blank) {
            space = 1;
            continue;
        }
        if (space && c != text)
            fputc(' ', stderr);
        space = 0;
        fputc(*c, stderr);
    }
    fputc('\n', stderr);
}

static cli_state *state_new(const char *name)
{
    cli_state *s = calloc(1, sizeof *s);
    if (s)
        snprintf(s->name, sizeof s->name, "%s", name);
    else
        fprintf(stderr, "leadroute: out of memory\n");
    return s;
}

/* ---- SQLite ------------------------------------------------------------------------ */

static int open_sqlite(const char *command, const cli_args *a, int mode, cli_state **out)
{
    char err[1024];
    int rc;
    if ((mode == CLI_STATE_EXISTING || mode == CLI_STATE_READ) && access(a->state, F_OK) != 0)
        return cli_usage_error(command, "no state database '%s' (route some leads first, or give --state FILE)",
                               a->state);
    cli_state *s = state_new(a->state);
    if (!s)
        return EXIT_TROUBLE;
    if (mode == CLI_STATE_SNAPSHOT) /* a private in-memory copy: the file is never written */
        rc = a->no_state ? sqlite_store_open(&s->sqlite, ":memory:", err, sizeof err)
                         : sqlite_store_open_copy(&s->sqlite, a->state, err, sizeof err);
    else if (mode == CLI_STATE_READ) /* no write, so no write permission needed */
        rc = sqlite_store_open_readonly(&s->sqlite, a->state, err, sizeof err);
    else if (mode == CLI_STATE_EXISTING) /* what route left: an empty file is no such thing */
        rc = sqlite_store_open_existing(&s->sqlite, a->state, err, sizeof err);
    else
        rc = sqlite_store_open(&s->sqlite, a->state, err, sizeof err);
    if (rc != LEADROUTE_OK) {
        report_one_line(command, rc == LEADROUTE_ENOMEM ? "out of memory opening the state database" : err);
        free(s);
        return EXIT_TROUBLE;
    }
    *out = s;
    return 0;
}

/* ---- PostgreSQL ------------------------------------------------------------------------ */

#ifdef LEADROUTE_CLI_WITH_PG

/* "PostgreSQL database NAME on HOST:PORT" from the connection string, without
 * user or password; -1 after a message when libpq cannot parse it. */
static int pg_display_name(const char *command, const char *conninfo, char *buf, size_t size)
{
    char *why = NULL;
    PQconninfoOption *options = PQconninfoParse(conninfo, &why);
    if (!options) {
        char line[700];
        int uri = strncmp(conninfo, "postgresql://", 13) == 0 || strncmp(conninfo, "postgres://", 11) == 0;
        snprintf(line, sizeof line, "--state: not a valid PostgreSQL connection string: %s%s",
                 why ? why : "out of memory",
                 uri ? "" : " (a SQLite file whose name starts with 'word=' is written ./NAME)");
        report_one_line(command, line);
        PQfreemem(why);
        return -1;
    }
    const char *db = NULL, *host = NULL, *port = NULL;
    for (PQconninfoOption *o = options; o->keyword; o++) {
        if (!o->val || !*o->val)
            continue;
        if (strcmp(o->keyword, "dbname") == 0)
            db = o->val;
        else if (strcmp(o->keyword, "host") == 0 || (strcmp(o->keyword, "hostaddr") == 0 && !host))
            host = o->val;
        else if (strcmp(o->keyword, "port") == 0)
            port = o->val;
    }
    snprintf(buf, size, "PostgreSQL database %s%s%s%s%s", db ? db : "(default)", host ? " on " : "",
             host ? host : "", port ? ":" : "", port ? port : "");
    PQconninfoFree(options);
    return 0;
}

/* Are the store's tables there? 1 yes, 0 no, -1 after a message. Asked on a
 * connection of its own so that opening the store, which creates missing
 * tables, is not what answers. */
static int pg_tables_exist(const char *command, const char *conninfo)
{
    const char *keys[] = { "dbname", "fallback_application_name", NULL };
    const char *values[] = { conninfo, "leadroute", NULL };
    PGconn *c = PQconnectdbParams(keys, values, 1);
    int found = -1;
    if (!c) {
        fprintf(stderr, "leadroute %s: out of memory\n", command);
        return -1;
    }
    if (PQstatus(c) != CONNECTION_OK) {
        char line[1200];
        snprintf(line, sizeof line, "cannot connect to PostgreSQL: %s", PQerrorMessage(c));
        report_one_line(command, line);
    } else {
        PGresult *r = PQexec(c, "SELECT to_regclass('leadroute_meta') IS NOT NULL");
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
            found = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
        else {
            char line[1200];
            snprintf(line, sizeof line, "%s: %s", PQdb(c), PQresultErrorMessage(r));
            report_one_line(command, line);
        }
        PQclear(r);
    }
    PQfinish(c);
    return found;
}

static int open_pg(const char *command, const cli_args *a, int mode, cli_state **out)
{
    char name[256], err[1024];
    if (pg_display_name(command, a->state, name, sizeof name) != 0)
        return EXIT_TROUBLE;
    if (mode != CLI_STATE_CREATE) {
        int exist = pg_tables_exist(command, a->state);
        if (exist < 0)
            return EXIT_TROUBLE;
        if (!exist && mode != CLI_STATE_SNAPSHOT) {
            fprintf(stderr, "leadroute %s: no leadroute tables in %s (route some leads first)\n", command, name);
            return EXIT_TROUBLE;
        }
        if (!exist) { /* a simulation from an empty state: nothing is created in the database */
            cli_args empty = *a;
            empty.no_state = 1;
            return open_sqlite(command, &empty, CLI_STATE_SNAPSHOT, out);
        }
    }
    cli_state *s = state_new(name);
    if (!s)
        return EXIT_TROUBLE;
    int rc = pg_store_open(&s->pg, a->state, err, sizeof err);
    if (rc != LEADROUTE_OK) {
        report_one_line(command, rc == LEADROUTE_ENOMEM ? "out of memory opening the state database" : err);
        free(s);
        return EXIT_TROUBLE;
    }
    s->read_through = mode == CLI_STATE_SNAPSHOT;
    *out = s;
    return 0;
}

/* What a simulation's router may do with the live database: read. The
 * writing methods refuse, so that no mistake can change the live state
 * (the fork writes into its own memory and never calls them). */
static int refuse_commit(void *user, const leadroute_commit *c, char *owner, size_t owner_cap)
{
    (void)user, (void)c, (void)owner, (void)owner_cap;
    return LEADROUTE_EINVAL;
}
static int refuse_close(void *user, const char *key)
{
    (void)user, (void)key;
    return LEADROUTE_EINVAL;
}
static int refuse_acknowledge(void *user, const char *key, int64_t at_ms, int64_t *assigned_ms, char *rep_id,
                              size_t rep_cap, char *pool_id, size_t pool_cap)
{
    (void)user, (void)key, (void)at_ms, (void)assigned_ms, (void)rep_id, (void)rep_cap, (void)pool_id,
        (void)pool_cap;
    return LEADROUTE_EINVAL;
}
static int read_load_pool(void *user, const char *pool_id, void *buf, size_t cap, size_t *length,
                          uint64_t *version)
{
    return pg_store_methods.load_pool(user, pool_id, buf, cap, length, version);
}
static int read_find_claim(void *user, const char *key, char *rep_id, size_t cap)
{
    return pg_store_methods.find_claim(user, key, rep_id, cap);
}
static int read_open_count(void *user, const char *rep_id, uint32_t *count)
{
    return pg_store_methods.open_count(user, rep_id, count);
}
static int read_window(void *user, const char *rep_id, const char *pool_id, int64_t since_ms, uint64_t *count,
                       double *value)
{
    return pg_store_methods.window(user, rep_id, pool_id, since_ms, count, value);
}
static int read_list_due(void *user, int64_t now_ms, int (*each)(void *ctx, const leadroute_assignment *a),
                         void *ctx)
{
    return pg_store_methods.list_due(user, now_ms, each, ctx);
}

static const leadroute_store read_only_pg_methods = {
    LEADROUTE_STORE_VERSION, read_load_pool, read_find_claim, read_open_count, refuse_commit, refuse_close,
    read_window, refuse_acknowledge, read_list_due,
};

#endif /* LEADROUTE_CLI_WITH_PG */

/* ---- the interface ------------------------------------------------------------------------ */

int cli_state_check_exists(const char *command, const cli_args *a)
{
    /* a database is asked when it is opened */
    if (cli_state_is_postgresql(a->state) || access(a->state, F_OK) == 0)
        return 0;
    return cli_usage_error(command, "no state database '%s' (route some leads first, or give --state FILE)",
                           a->state);
}

int cli_open_state(const char *command, const cli_args *a, int mode, cli_state **out)
{
    *out = NULL;
    if (a->no_state && mode != CLI_STATE_SNAPSHOT)
        return 0;
    if (a->no_state || !cli_state_is_postgresql(a->state))
        return open_sqlite(command, a, mode, out);
#ifdef LEADROUTE_CLI_WITH_PG
    return open_pg(command, a, mode, out);
#else
    fprintf(stderr, "leadroute %s: --state: this leadroute was built without PostgreSQL support (libpq); "
                    "build it with 'meson setup -Dpostgresql=enabled', or give a SQLite file\n", command);
    return EXIT_TROUBLE;
#endif
}

void cli_state_close(cli_state *s)
{
    if (!s)
        return;
    sqlite_store_close(s->sqlite);
#ifdef LEADROUTE_CLI_WITH_PG
    pg_store_close(s->pg);
#endif
    free(s);
}

const char *cli_state_name(const cli_state *s)
{
    return s->name;
}

int cli_state_read_through(const cli_state *s)
{
    return s && s->read_through;
}

int cli_state_attach(cli_state *s, leadroute_router *router)
{
#ifdef LEADROUTE_CLI_WITH_PG
    if (s->pg)
        return leadroute_router_set_store(router, s->read_through ? &read_only_pg_methods : &pg_store_methods,
                                          s->pg);
#endif
    return leadroute_router_set_store(router, &sqlite_store_methods, s->sqlite);
}

/* A PostgreSQL state opened for reading through refuses what would write it. */
#ifdef LEADROUTE_CLI_WITH_PG
#define PG_OR_SQLITE(pg_call, sqlite_call) (s->pg ? (s->read_through ? LEADROUTE_EINVAL : (pg_call)) : (sqlite_call))
#define PG_OR_SQLITE_READ(pg_call, sqlite_call) (s->pg ? (pg_call) : (sqlite_call))
#else
#define PG_OR_SQLITE(pg_call, sqlite_call) (sqlite_call)
#define PG_OR_SQLITE_READ(pg_call, sqlite_call) (sqlite_call)
#endif

/* The key under which the state keeps the dedupe field of its keys. */
#define CLI_META_DEDUPE "cli.dedupe_field"

int cli_state_check_dedupe(const char *command, cli_state *s, const char *field, int record)
{
    char held[LEADROUTE_MAX_STRING + 1], msg[2048];
    const char *want = field ? field : "";
    int found = 0, rc;
    if (!s)
        return 0;
    /* read first: a state that has it needs no write (another process may
     * hold the write lock, or the file may be read-only) */
    rc = PG_OR_SQLITE_READ(pg_store_meta(s->pg, CLI_META_DEDUPE, NULL, held, sizeof held, &found),
                           sqlite_store_meta(s->sqlite, CLI_META_DEDUPE, NULL, held, sizeof held, &found));
    if (rc == LEADROUTE_OK && !found && record && !cli_state_read_through(s))
        rc = PG_OR_SQLITE_READ(pg_store_meta(s->pg, CLI_META_DEDUPE, want, held, sizeof held, &found),
                               sqlite_store_meta(s->sqlite, CLI_META_DEDUPE, want, held, sizeof held, &found));
    if (rc != LEADROUTE_OK) {
        report_one_line(command, cli_state_errmsg(s));
        return 2;
    }
    if (!found || strcmp(held, want) == 0)
        return 0;
    snprintf(msg, sizeof msg,
             "%s: its leads were routed with dedupe keys from %s%.300s%s, this run takes them from %s%.300s%s: "
             "the state would not know a lead by that key. Give %s%.300s, or use another state",
             s->name, held[0] ? "field '" : "the lead id", held, held[0] ? "'" : "", want[0] ? "field '" : "the lead id",
             want, want[0] ? "'" : "", held[0] ? "--dedupe-field " : "no --dedupe-field", held);
    report_one_line(command, msg);
    return 2;
}

int cli_state_begin(cli_state *s)
{
    return PG_OR_SQLITE(pg_store_begin(s->pg), sqlite_store_begin(s->sqlite));
}

int cli_state_commit(cli_state *s)
{
    return PG_OR_SQLITE(pg_store_commit(s->pg), sqlite_store_commit(s->sqlite));
}

int cli_state_rollback(cli_state *s)
{
    return PG_OR_SQLITE_READ(pg_store_rollback(s->pg), sqlite_store_rollback(s->sqlite));
}

int cli_state_prefetch_claims(cli_state *s, const char *const *keys, size_t n)
{
#ifdef LEADROUTE_CLI_WITH_PG
    if (s->pg && !s->read_through)
        return pg_store_prefetch_claims(s->pg, keys, n);
#endif
    (void)s;
    (void)keys;
    (void)n;
    return LEADROUTE_OK;
}

const char *cli_state_refuses(const cli_state *s, const char *id, const char *key, const char *email, char *buf,
                              size_t size)
{
#ifdef LEADROUTE_CLI_WITH_PG
    /* the domain the router takes: after the last '@' (at most its length) */
    const char *at = email ? strrchr(email, '@') : NULL;
    size_t domain = email ? strlen(at ? at + 1 : email) : 0, most_domain = PG_STORE_MAX_ID - 8;
    /* the store's key is "lead:" and the dedupe key */
    size_t idn = id ? strlen(id) : 0, keyn = key ? strlen(key) : 0, most_key = PG_STORE_MAX_ID - 5;
    if (s->pg && idn > PG_STORE_MAX_ID) {
        snprintf(buf, size, "its id is %zu bytes; a PostgreSQL state holds ids of up to %d bytes", idn,
                 PG_STORE_MAX_ID);
        return buf;
    }
    if (s->pg && keyn > most_key) {
        snprintf(buf, size, "its dedupe key is %zu bytes; a PostgreSQL state holds dedupe keys of up to %zu bytes",
                 keyn, most_key);
        return buf;
    }
    if (s->pg && domain > most_domain) {
        snprintf(buf, size, "its email's domain is %zu bytes; a PostgreSQL state holds domains of up to %zu bytes",
                 domain, most_domain);
        return buf;
    }
#else
    (void)s, (void)id, (void)key, (void)email, (void)buf, (void)size;
#endif
    return NULL;
}

const char *cli_state_errmsg(const cli_state *s)
{
    return PG_OR_SQLITE_READ(pg_store_errmsg(s->pg), sqlite_store_errmsg(s->sqlite));
}

int cli_state_failure_lasts(const cli_state *s)
{
    return PG_OR_SQLITE_READ(pg_store_failure_lasts(s->pg), sqlite_store_failure_lasts(s->sqlite));
}

int cli_state_get(cli_state *s, const char *key, leadroute_assignment *out)
{
    return PG_OR_SQLITE_READ(pg_store_get(s->pg, key, out), sqlite_store_get(s->sqlite, key, out));
}

int cli_state_open_count(cli_state *s, const char *rep_id, uint32_t *count)
{
    return PG_OR_SQLITE_READ(pg_store_methods.open_count(s->pg, rep_id, count),
                             sqlite_store_methods.open_count(s->sqlite, rep_id, count));
}

int cli_state_list_due(cli_state *s, int64_t now_ms, int (*each)(void *ctx, const leadroute_assignment *a),
                       void *ctx)
{
    return PG_OR_SQLITE_READ(pg_store_methods.list_due(s->pg, now_ms, each, ctx),
                             sqlite_store_methods.list_due(s->sqlite, now_ms, each, ctx));
}

int cli_state_record(cli_state *s, const cli_state_event *e)
{
#ifdef LEADROUTE_CLI_WITH_PG
    if (s->pg) {
        pg_store_event ev = { e->at_ms, e->kind, e->key, e->lead_id, e->detail };
        return PG_OR_SQLITE(pg_store_record(s->pg, &ev), LEADROUTE_EINVAL);
    }
#endif
    sqlite_store_event ev = { e->at_ms, e->kind, e->key, e->lead_id, e->detail };
    return sqlite_store_record(s->sqlite, &ev);
}

/* The caller's callback, behind the store's own event type. */
typedef struct event_relay {
    int (*each)(void *ctx, const cli_state_event *e);
    void *ctx;
} event_relay;

static int relay_sqlite_event(void *ctx, const sqlite_store_event *e)
{
    const event_relay *r = ctx;
    cli_state_event ev = { e->at_ms, e->kind, e->key, e->lead_id, e->detail };
    return r->each(r->ctx, &ev);
}

#ifdef LEADROUTE_CLI_WITH_PG
static int relay_pg_event(void *ctx, const pg_store_event *e)
{
    const event_relay *r = ctx;
    cli_state_event ev = { e->at_ms, e->kind, e->key, e->lead_id, e->detail };
    return r->each(r->ctx, &ev);
}
#endif

int cli_state_events(cli_state *s, const char *lead, int (*each)(void *ctx, const cli_state_event *e), void *ctx,
                     size_t *count)
{
    event_relay relay = { each, ctx };
    return PG_OR_SQLITE_READ(pg_store_events(s->pg, lead, relay_pg_event, &relay, count),
                             sqlite_store_events(s->sqlite, lead, relay_sqlite_event, &relay, count));
}
