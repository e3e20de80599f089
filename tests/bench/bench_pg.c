/*
 * bench_pg: routing throughput of several processes sharing one PostgreSQL
 * database through examples/pg_store.c.
 *
 * For 1, 2, 4 and 8 processes (fork), each with its own connection, router
 * and distinct leads, all routing into the same pools: the aggregate leads
 * per second, for single routes (each lead its own statements, one
 * transaction per write) and for batches (pg_store_begin, N leads,
 * pg_store_commit), and the server round trips per lead that
 * pg_store_round_trips() counts. Each configuration works in a fresh schema
 * (dropped afterwards), so every run starts from empty tables.
 *
 * Setup per process (not timed): connect, open the router. Timed: from the
 * moment all processes are ready and told to go until the last one is done.
 *
 * The table sends each lead to one of 8 pools by region; each pool has 6
 * reps and rotates round robin, with no capacity or caps: the cost measured
 * is the store's, not the roster's.
 *
 * Usage: bench_pg [CONNINFO] [--leads N] [--batch B] [--processes 1,2,4,8]
 *                 [--only single|batch]
 * CONNINFO defaults to $LEADROUTE_PG. Without either it says how to run it
 * (tests/bench/bench_pg.sh starts a throwaway cluster) and exits 0. It
 * starts no server itself.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* fork, pipes */
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <leadroute/leadroute.h>

#include "pg_store.h"

#define BENCH_NAME "bench_pg"
#include "bench_util.h"

#define POOLS 8
#define REPS_PER_POOL 6
#define MAX_PROCESSES 64

/* The targets the figures are held against (docs/postgresql.md). */
#define TARGET_SINGLE 2000.0
#define TARGET_BATCH 20000.0

static const char USAGE[] =
    "usage: bench_pg [CONNINFO] [--leads N] [--batch B] [--processes 1,2,4,8] [--only single|batch]\n"
    "\n"
    "Routing throughput of several processes sharing one PostgreSQL database.\n"
    "CONNINFO (libpq key=value or postgresql:// URI) defaults to $LEADROUTE_PG.\n"
    "The tables go into a fresh schema per measurement, dropped afterwards.\n"
    "  --leads N        leads routed by each process (default 2000)\n"
    "  --batch B        leads per transaction in batch mode (default 500)\n"
    "  --processes L    comma-separated process counts (default 1,2,4,8)\n"
    "  --only MODE      single or batch only\n"
    "\n"
    "To run it against a throwaway cluster started and stopped for it:\n"
    "  tests/bench/bench_pg.sh BUILD_DIR [ARGS]\n";

typedef struct config {
    const char *conninfo;
    size_t leads;    /* per process */
    size_t batch;
    int processes[16];
    int nprocesses;
    int single, batched;
} config;

/* What one process sends back through its pipe. */
typedef struct report {
    uint64_t routed, round_trips, batches_redone;
    int failed;
    char message[200];
} report;

/* ---- the roster and the table -------------------------------------------------------- */

static leadroute_table *make_table(void)
{
    char csv[1024];
    size_t o = (size_t)snprintf(csv, sizeof csv, "rule,region,out:pool\n");
    for (int p = 0; p < POOLS; p++)
        o += (size_t)snprintf(csv + o, sizeof csv - o, "r%d,R%d,pool%d\n", p, p, p);
    leadroute_table *table = NULL;
    if (leadroute_table_parse(&table, csv, o, "bench.csv", NULL) != LEADROUTE_OK)
        die("table: %s", leadroute_error_last()->message);
    return table;
}

static leadroute_roster *make_roster(void)
{
    char csv[8192];
    size_t o = (size_t)snprintf(csv, sizeof csv, "#! pools\nid,strategy\n");
    for (int p = 0; p < POOLS; p++)
        o += (size_t)snprintf(csv + o, sizeof csv - o, "pool%d,round_robin\n", p);
    o += (size_t)snprintf(csv + o, sizeof csv - o, "#! reps\nid,pools\n");
    for (int p = 0; p < POOLS; p++)
        for (int r = 0; r < REPS_PER_POOL; r++)
            o += (size_t)snprintf(csv + o, sizeof csv - o, "rep%d_%d,pool%d\n", p, r, p);
    leadroute_roster *roster = NULL;
    if (leadroute_roster_parse(&roster, csv, o, "bench-reps.csv", NULL) != LEADROUTE_OK)
        die("roster: %s", leadroute_error_last()->message);
    return roster;
}

/* ---- one process ------------------------------------------------------------------------ */

static int write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_all(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Route `c->leads` leads of process `index` and report. Ready is signalled
 * by writing one byte to `ready_fd`; routing starts when `go_fd` delivers one. */
static void worker(const config *c, const char *schema, int index, int batched, int ready_fd, int go_fd,
                   int report_fd)
{
    report rep;
    memset(&rep, 0, sizeof rep);
    char err[512];
    pg_store *store = NULL;
    leadroute_router *router = NULL;
    leadroute_decision *decision = NULL;
    leadroute_table *table = make_table();
    leadroute_roster *roster = make_roster();
    char go = 0, ready = 1;

    if (pg_store_open_schema(&store, c->conninfo, schema, err, sizeof err) != LEADROUTE_OK) {
        rep.failed = 1;
        snprintf(rep.message, sizeof rep.message, "open: %.180s", err);
    } else if (leadroute_router_new(&router, table, roster, NULL) != LEADROUTE_OK ||
               leadroute_router_set_store(router, &pg_store_methods, store) != LEADROUTE_OK ||
               leadroute_decision_new(&decision, NULL) != LEADROUTE_OK) {
        rep.failed = 1;
        snprintf(rep.message, sizeof rep.message, "router: %s", leadroute_error_last()->message);
    }
    if (write_all(ready_fd, &ready, 1) != 0 || read_all(go_fd, &go, 1) != 0)
        rep.failed = 1;

    char id[48], region[8];
    leadroute_field field = { "region", LEADROUTE_VALUE_INIT };
    leadroute_lead lead = LEADROUTE_LEAD_INIT;
    field.value.type = LEADROUTE_VALUE_STRING;
    field.value.string = region;
    lead.id = id;
    lead.fields = &field;
    lead.field_count = 1;
    /* the keys of one batch, for pg_store_prefetch_claims() */
    char (*keys)[48] = batched ? calloc(c->batch, sizeof *keys) : NULL;
    char **key_list = batched ? calloc(c->batch, sizeof *key_list) : NULL;
    if (batched && (!keys || !key_list)) {
        rep.failed = 1;
        snprintf(rep.message, sizeof rep.message, "out of memory");
    }
    for (size_t k = 0; keys && key_list && k < c->batch; k++)
        key_list[k] = keys[k];
    uint64_t trips_before = pg_store_round_trips(store);
    size_t batch_start = 0;
    int tries = 0;
    for (size_t i = 0; !rep.failed && i < c->leads;) {
        if (batched && i % c->batch == 0) {
            /* the holders of the batch's keys in one round trip (the router finds them claimed or not) */
            size_t n = c->leads - i < c->batch ? c->leads - i : c->batch;
            for (size_t k = 0; k < n; k++)
                snprintf(keys[k], sizeof keys[k], "lead:P%d-L%zu", index, i + k);
            if (pg_store_begin(store) != LEADROUTE_OK ||
                pg_store_prefetch_claims(store, (const char *const *)key_list, n) != LEADROUTE_OK) {
                rep.failed = 1;
                snprintf(rep.message, sizeof rep.message, "begin: %s", pg_store_errmsg(store));
                break;
            }
            batch_start = i;
        }
        snprintf(id, sizeof id, "P%d-L%zu", index, i);
        snprintf(region, sizeof region, "R%d", (int)((i + (size_t)index) % POOLS));
        int rc = leadroute_route(router, &lead, 0, decision);
        int end = batched && ((i + 1) % c->batch == 0 || i + 1 == c->leads);
        if (rc == LEADROUTE_OK && end && pg_store_commit(store) != LEADROUTE_OK)
            rc = LEADROUTE_EIO;
        /* a batch lost (a failed statement, a lost connection): roll back, route its leads again */
        if (batched && (rc == LEADROUTE_ECALLBACK || rc == LEADROUTE_EIO) && tries < 50) {
            pg_store_rollback(store);
            rep.routed -= i - batch_start;
            rep.batches_redone++;
            tries++;
            i = batch_start;
            continue;
        }
        if (rc != LEADROUTE_OK || leadroute_decision_status(decision) != LEADROUTE_ROUTE_ASSIGNED) {
            rep.failed = 1;
            snprintf(rep.message, sizeof rep.message, "lead %s: %s (%s)", id,
                     rc == LEADROUTE_OK ? leadroute_decision_reason(decision) : leadroute_error_last()->message,
                     pg_store_errmsg(store));
            break;
        }
        rep.routed++;
        if (end)
            tries = 0;
        i++;
    }
    rep.round_trips = pg_store_round_trips(store) - trips_before;
    free(key_list);
    free(keys);
    if (write_all(report_fd, &rep, sizeof rep) != 0)
        rep.failed = 1;
    leadroute_decision_free(decision);
    leadroute_router_free(router);
    pg_store_close(store);
    leadroute_roster_unref(roster);
    leadroute_table_unref(table);
    _exit(rep.failed ? 1 : 0);
}

/* ---- the parent ---------------------------------------------------------------------------- */

/* Run SQL on a connection of its own (schema drop); 0 or -1 with a message. */
static int admin_sql(const char *conninfo, const char *sql)
{
    const char *keys[] = { "dbname", NULL };
    const char *values[] = { conninfo, NULL };
    PGconn *c = PQconnectdbParams(keys, values, 1);
    int ok = c && PQstatus(c) == CONNECTION_OK;
    if (ok) {
        PQclear(PQexec(c, "SET client_min_messages = warning")); /* no "drop cascades to" notices */
        PGresult *r = PQexec(c, sql);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            fprintf(stderr, "bench_pg: %s: %s", sql, PQresultErrorMessage(r));
        PQclear(r);
    } else {
        fprintf(stderr, "bench_pg: cannot connect: %s", c ? PQerrorMessage(c) : "out of memory\n");
    }
    PQfinish(c);
    return ok ? 0 : -1;
}

typedef struct result {
    int processes, batched;
    uint64_t leads, round_trips, batches_redone;
    double seconds;
    int failed;
} result;

static result measure(const config *c, int processes, int batched)
{
    result res = { processes, batched, 0, 0, 0, 0.0, 0 };
    char schema[64], drop[128];
    snprintf(schema, sizeof schema, "lr_bench_%ld_%d_%s", (long)getpid(), processes, batched ? "batch" : "single");
    snprintf(drop, sizeof drop, "DROP SCHEMA IF EXISTS %s CASCADE", schema);

    /* the tables are created once, before the workers connect */
    char err[512];
    pg_store *setup = NULL;
    if (pg_store_open_schema(&setup, c->conninfo, schema, err, sizeof err) != LEADROUTE_OK)
        die("%s", err);
    pg_store_close(setup);

    int ready[2], go[2], reports[2];
    pid_t pids[MAX_PROCESSES];
    if (pipe(ready) != 0 || pipe(go) != 0 || pipe(reports) != 0)
        die("pipe: %s", strerror(errno));
    fflush(stdout);
    fflush(stderr);
    for (int i = 0; i < processes; i++) {
        pids[i] = fork();
        if (pids[i] < 0)
            die("fork: %s", strerror(errno));
        if (pids[i] == 0) {
            close(ready[0]);
            close(go[1]);
            close(reports[0]);
            worker(c, schema, i, batched, ready[1], go[0], reports[1]);
        }
    }
    close(ready[1]);
    close(go[0]);
    close(reports[1]);
    for (int i = 0; i < processes; i++) {
        char byte;
        if (read_all(ready[0], &byte, 1) != 0)
            die("a worker died while connecting");
    }
    char bytes[MAX_PROCESSES];
    memset(bytes, 1, sizeof bytes);
    double t0 = now_s();
    if (write_all(go[1], bytes, (size_t)processes) != 0)
        die("cannot start the workers");
    for (int i = 0; i < processes; i++) {
        report rep;
        if (read_all(reports[0], &rep, sizeof rep) != 0) {
            res.failed = 1;
            break;
        }
        res.leads += rep.routed;
        res.round_trips += rep.round_trips;
        res.batches_redone += rep.batches_redone;
        if (rep.failed) {
            res.failed = 1;
            fprintf(stderr, "bench_pg: a worker failed: %s\n", rep.message);
        }
    }
    res.seconds = now_s() - t0;
    for (int i = 0; i < processes; i++) {
        int status;
        while (waitpid(pids[i], &status, 0) < 0 && errno == EINTR)
            ;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            res.failed = 1;
    }
    close(ready[0]);
    close(go[1]);
    close(reports[0]);
    if (admin_sql(c->conninfo, drop) != 0)
        res.failed = 1;
    return res;
}

static int parse_processes(config *c, const char *list)
{
    c->nprocesses = 0;
    for (const char *p = list; *p;) {
        char *end;
        long n = strtol(p, &end, 10);
        if (end == p || n < 1 || n > MAX_PROCESSES || c->nprocesses == 16)
            return -1;
        c->processes[c->nprocesses++] = (int)n;
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return -1;
    }
    return c->nprocesses ? 0 : -1;
}

static size_t parse_count(const char *s, const char *what)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || n < 1 || n > 10000000)
        die("%s: '%s' is not a count (1 to 10,000,000)", what, s);
    return (size_t)n;
}

int main(int argc, char **argv)
{
    config c = { NULL, 2000, 500, { 1, 2, 4, 8 }, 4, 1, 1 };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(USAGE, stdout);
            return 0;
        } else if (strcmp(a, "--leads") == 0 && i + 1 < argc) {
            c.leads = parse_count(argv[++i], "--leads");
        } else if (strcmp(a, "--batch") == 0 && i + 1 < argc) {
            c.batch = parse_count(argv[++i], "--batch");
        } else if (strcmp(a, "--processes") == 0 && i + 1 < argc) {
            if (parse_processes(&c, argv[++i]) != 0)
                die("--processes: '%s' is not a list such as 1,2,4,8 (1 to %d each)", argv[i], MAX_PROCESSES);
        } else if (strcmp(a, "--only") == 0 && i + 1 < argc) {
            const char *m = argv[++i];
            if (strcmp(m, "single") != 0 && strcmp(m, "batch") != 0)
                die("--only: '%s' is not single or batch", m);
            c.single = strcmp(m, "single") == 0;
            c.batched = !c.single;
        } else if (a[0] != '-' && !c.conninfo) {
            c.conninfo = a;
        } else {
            die("unexpected argument '%s' (try --help)", a);
        }
    }
    if (!c.conninfo)
        c.conninfo = getenv("LEADROUTE_PG");
    if (!c.conninfo || !*c.conninfo) {
        printf("bench_pg: no database given (an argument or $LEADROUTE_PG); nothing measured.\n\n%s", USAGE);
        return 0;
    }

    /* the server's durability settings change what a commit costs: print them */
    const char *keys[] = { "dbname", NULL };
    const char *values[] = { c.conninfo, NULL };
    PGconn *conn = PQconnectdbParams(keys, values, 1);
    if (!conn || PQstatus(conn) != CONNECTION_OK)
        die("cannot connect: %s", conn ? PQerrorMessage(conn) : "out of memory");
    char settings[320] = "";
    PGresult *r = PQexec(conn, "SELECT current_setting('server_version'), current_setting('fsync'), "
                               "current_setting('synchronous_commit'), current_setting('deadlock_timeout')");
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        snprintf(settings, sizeof settings, "PostgreSQL %s, fsync=%s, synchronous_commit=%s, deadlock_timeout=%s",
                 PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2), PQgetvalue(r, 0, 3));
    PQclear(r);
    PQfinish(conn);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);

    printf("bench_pg: %zu leads per process, batches of %zu, %d pools x %d reps (round robin)\n", c.leads,
           c.batch, POOLS, REPS_PER_POOL);
    printf("server: %s; client and server share %ld core%s\n\n", settings, cores, cores == 1 ? "" : "s");
    printf("| processes | mode | leads | seconds | leads/s | round trips/lead | target leads/s |\n");
    printf("|---:|---|---:|---:|---:|---:|---:|\n");
    int failed = 0, redone_notes = 0;
    char redone[2048] = "";
    for (int mode = 0; mode < 2; mode++) {
        if ((mode == 0 && !c.single) || (mode == 1 && !c.batched))
            continue;
        for (int k = 0; k < c.nprocesses; k++) {
            result res = measure(&c, c.processes[k], mode);
            double target = mode ? TARGET_BATCH : TARGET_SINGLE;
            double rate = res.seconds > 0 ? (double)res.leads / res.seconds : 0.0;
            char mode_name[32];
            snprintf(mode_name, sizeof mode_name, mode ? "batch of %zu" : "single", c.batch);
            printf("| %d | %s | %llu | %.2f | %.0f | %.2f | %.0f %s |\n", res.processes, mode_name,
                   (unsigned long long)res.leads, res.seconds, rate,
                   res.leads ? (double)res.round_trips / (double)res.leads : 0.0, target,
                   res.failed ? "(FAILED)" : rate >= target ? "(met)" : "(missed)");
            fflush(stdout);
            if (res.batches_redone)
                redone_notes += snprintf(redone + redone_notes, sizeof redone - (size_t)redone_notes,
                                         "- %d processes, batches: %llu batch%s rolled back and routed "
                                         "again; their round trips count, their leads once\n",
                                         res.processes, (unsigned long long)res.batches_redone,
                                         res.batches_redone == 1 ? "" : "es");
            failed |= res.failed;
        }
    }
    if (redone[0])
        printf("\n%s", redone);
    return failed ? 1 : 0;
}
