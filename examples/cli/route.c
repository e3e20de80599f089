/*
 * route, tick and ack: routing with a state that persists from one run to
 * the next in a SQLite file or a PostgreSQL database (state.c).
 *
 * Leads are routed in batches, one database transaction each. A batch's
 * rows are printed only once it is committed, so what the tool printed is
 * always in the database; a run killed in the middle loses the open batch
 * whole, and running it again routes those leads as new and reports the
 * others that were assigned as existing. A write to stdout that fails stops the run before the
 * next batch begins: the batch it could not print stays committed.
 * SPDX-License-Identifier: MIT
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#endif
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char USAGE_ROUTE[] =
    "usage: leadroute route --table TABLE --reps REPS.csv LEADS.csv [--explain]\n"
    "                       [--dedupe-field FIELD] [--state FILE | --no-state]\n"
    "                       [--now TIME] [--format csv|jsonl] [--batch N]\n"
    "                       [--progress | --no-progress]\n"
    "\n"
    "Route every lead of LEADS.csv, in file order: evaluate TABLE (its outputs\n"
    "owner, pool, queue, status, sla_minutes and tags drive the router), walk the\n"
    "pools of REPS.csv, pick a rep with each pool's strategy and claim the lead\n"
    "(docs/router.md). The routing state (claims, rotation, open leads, follow-up\n"
    "deadlines, the decision of every lead) lives in a SQLite file or a\n"
    "PostgreSQL database, so a second run continues the rotation and reports\n"
    "the leads already assigned as existing (queued, unassigned and unrouted\n"
    "leads hold no claim and are routed again). One record per lead on stdout\n"
    "(CSV by default, or JSON lines):\n"
    "  id,status,rep,pool,rule,reason\n"
    "status is assigned, existing, queued, unassigned or unrouted; reason says\n"
    "why in one sentence.\n"
    "\n"
    "  --table TABLE         the decision table\n"
    "  --reps REPS.csv       the roster: a '#! pools' and a '#! reps' section\n"
    "  --explain             add a column 'trace': the decision as JSON\n"
    "  --dedupe-field FIELD  dedupe key from lead field FIELD (e.g. email) instead\n"
    "                        of the lead id: a lead whose key was routed before\n"
    "                        stays with that rep (status existing). Refused:\n"
    "                        a field no lead gives, or not the state's own\n"
    "  --state FILE          the state database (default " CLI_DEFAULT_STATE "\n"
    "                        in the working directory; created if missing).\n"
    "                        'leadroute tick', 'ack', 'explain' and 'simulate'\n"
    "                        read the same FILE\n"
    "  --state DATABASE      a PostgreSQL database instead: a connection string,\n"
    "                        postgresql://USER@HOST:PORT/DB (or postgres://) or\n"
    "                        libpq's 'host=... dbname=...' (it starts with a\n"
    "                        keyword and '='); tables leadroute_* are created if\n"
    "                        missing. Several processes may route into one\n"
    "                        database at once (docs/postgresql.md)\n"
    "  --no-state            keep the state in memory for this run only\n"
    "  --now TIME            the router's clock: ISO 8601 UTC such as\n"
    "                        2026-11-24T09:30:00Z, or milliseconds since the epoch\n"
    "                        (default: the system clock). A lead's follow-up\n"
    "                        deadline is TIME plus the rule's sla_minutes (else\n"
    "                        the pool's)\n"
    "  --format FORMAT       csv (default) or jsonl\n"
    "  --batch N             leads per database transaction (default 500)\n"
    "  --progress, --no-progress\n"
    "                        a progress bar on stderr (default: only when stderr\n"
    "                        is a terminal and there are 1000 leads or more)\n"
    "\n"
    "Pools and owners the table names that REPS.csv lacks, and pools of REPS.csv\n"
    "no rule, fallback or escalation reaches, are noted on stderr first.\n"
    "Rows of LEADS.csv that cannot be read are reported on stderr and skipped. A\n"
    "lead that cannot be routed (a bad value, no dedupe key, a pool the roster\n"
    "lacks) gets a record with status unrouted and is reported on stderr too,\n"
    "once, even when its batch is routed again.\n"
    "If the database fails, the open batch is rolled back and its leads are\n"
    "routed again (up to 3 times: a shared database may lose a deadlock or\n"
    "wait past 5 s for a write lock; not when the database refuses writes for\n"
    "good: a read-only file, no permission, a full disk); if it keeps failing\n"
    "its leads are not printed and the tool stops: running it again carries\n"
    "on from there.\n"
    "A batch's records are written once it is committed. If stdout cannot be\n"
    "written (a full disk, a closed pipe), the tool stops there: that batch and\n"
    "those before it are committed (its records may be missing), no later lead\n"
    "is routed. Running it again routes the rest, that batch's leads existing.\n"
    "\n"
    "exit status: 0 all leads routed, 1 some unrouted or skipped, 2 bad usage, a\n"
    "file could not be read, or the state could not be written\n";

static const char USAGE_TICK[] =
    "usage: leadroute tick --table TABLE --reps REPS.csv [--state FILE] [--now TIME]\n"
    "                      [--leads LEADS.csv] [--dedupe-field FIELD]\n"
    "                      [--format csv|jsonl]\n"
    "\n"
    "Process follow-up deadlines: every lead of the state whose deadline passed\n"
    "at TIME and that its rep has not acknowledged moves to another rep of its\n"
    "pool, never back to one who held it before; after the pool's max_hops\n"
    "moves it escalates to the pool's escalation pool or owner. Moved leads get\n"
    "a new deadline from TIME. All moves are one transaction. One record per\n"
    "move on stdout:\n"
    "  key,action,from,to,pool,reason\n"
    "action is reassigned or escalated. A summary goes to stderr:\n"
    "  due N, reassigned N, escalated N, kept N, raced N\n"
    "(kept: no one could take the lead, it stays overdue; raced: someone else\n"
    "moved it first). A move the state could not take (a write that failed)\n"
    "leaves its lead overdue and kept, is reported, and the exit status is 2;\n"
    "the other moves stand. Ticking twice at the same TIME moves nothing new,\n"
    "but for chains of more than 8 leads each waiting for the next one's rep. The\n"
    "records are written once the moves are committed: if stdout cannot be\n"
    "written, the moves stand all the same (explain shows them), and the exit\n"
    "status is 2.\n"
    "\n"
    "  --table TABLE, --reps REPS.csv   as for route\n"
    "  --state FILE|DATABASE the state of 'leadroute route': a SQLite file (default\n"
    "                        " CLI_DEFAULT_STATE ") or a PostgreSQL connection string\n"
    "  --now TIME            ISO 8601 UTC or milliseconds since the epoch\n"
    "                        (default: the system clock)\n"
    "  --leads LEADS.csv     the leads, found by dedupe key, so that the pools'\n"
    "                        skill filters and score tiers apply again; without\n"
    "                        it leads move on pool membership and capacity only\n"
    "  --dedupe-field FIELD  the field route used for dedupe keys (default: id);\n"
    "                        with --leads, another than the state's is refused\n"
    "  --format FORMAT       csv (default) or jsonl\n"
    "\n"
    "exit status: 0 done (also when rows of --leads were skipped: they are\n"
    "reported, and their leads move on pool membership), 2 bad usage, a move\n"
    "failed, or a file could not be read or written\n";

static const char USAGE_ACK[] =
    "usage: leadroute ack --table TABLE --reps REPS.csv [--state FILE] [--now TIME]\n"
    "                     [--format csv|jsonl] KEY...\n"
    "\n"
    "Record that the reps holding the leads of these dedupe keys followed them\n"
    "up at TIME (--now, as for tick; default: the system clock; a TIME before a\n"
    "lead's assignment counts as the assignment's time): their deadlines no\n"
    "longer apply and tick leaves them alone. A KEY may also be the id of a\n"
    "lead that route claimed under another dedupe key (--dedupe-field). One\n"
    "record per key, with the dedupe key:\n"
    "  key,status,rep\n"
    "status is acknowledged, already acknowledged (the first time stands) or\n"
    "not claimed (also reported on stderr). A KEY that is no key at all (empty,\n"
    "over 4096 bytes, not UTF-8) gets no record: it is reported and skipped.\n"
    "The records are written once the acknowledgements are committed: if\n"
    "stdout cannot be written, they stand all the same (exit status 2).\n"
    "\n"
    "  --state FILE|DATABASE, --table, --reps, --format   as for tick\n"
    "\n"
    "exit status: 0 all acknowledged, 1 some keys not claimed or skipped, 2 bad\n"
    "usage, or a file could not be read or written\n";

static const char USAGE_CLOSE[] =
    "usage: leadroute close --table TABLE --reps REPS.csv [--state FILE] [--now TIME]\n"
    "                       [--format csv|jsonl] KEY...\n"
    "\n"
    "Record that the leads of these dedupe keys are closed (won, lost, or no\n"
    "longer the rep's): each one's claim goes, so its rep has one open lead\n"
    "fewer (capacities and least-loaded pools count open leads), tick no\n"
    "longer looks at it, and the lead, sent again, is routed afresh. A KEY may\n"
    "also be the id of a lead that route claimed under another dedupe key\n"
    "(--dedupe-field). One record per key, with the dedupe key:\n"
    "  key,status,rep\n"
    "status is closed (rep: who held it) or not claimed (also reported on\n"
    "stderr: never routed, or closed before). A KEY that is no key at all\n"
    "(empty, over 4096 bytes, not UTF-8) gets no record: it is reported and\n"
    "skipped. The records are written once the closes are committed: if\n"
    "stdout cannot be written, they stand all the same (exit status 2).\n"
    "\n"
    "  --state FILE|DATABASE, --table, --reps, --format   as for tick\n"
    "\n"
    "exit status: 0 all closed, 1 some keys not claimed or skipped, 2 bad\n"
    "usage, or a file could not be read or written\n";

/* ---- shared by the three --------------------------------------------------- */

/* --table and --reps are required; opens the table and the roster. -1 when
 * the command may go on, else the exit status. */
static int open_table_and_roster(const char *command, const cli_args *a, leadroute_table **table,
                                 leadroute_roster **roster)
{
    if (!a->table)
        return cli_usage_error(command, "%s", "expected --table TABLE");
    if (!a->reps)
        return cli_usage_error(command, "%s", "expected --reps REPS.csv");
    if (a->dedupe_field && !a->dedupe_field[0])
        return cli_usage_error(command, "%s", "--dedupe-field needs a field name");
    const char *leads = a->nfiles ? a->files[0] : a->leads;
    if (cli_is_stdin(a->table) + cli_is_stdin(a->reps) + (leads && cli_is_stdin(leads)) > 1)
        return cli_usage_error(command, "%s", "only one of the files can be '-'");
    if (!(*table = cli_open_table(a->table)))
        return EXIT_TROUBLE;
    if (!(*roster = cli_open_roster(a->reps))) {
        leadroute_table_unref(*table);
        return EXIT_TROUBLE;
    }
    return -1;
}

/* Why the state failed: the database's message, else the library's (a
 * store callback's failure as the router reported it). */
static const char *store_why(cli_state *store)
{
    const char *why = cli_state_errmsg(store);
    return why && *why ? why : leadroute_error_last()->message;
}

/* A store failure: the message, the batch rolled back. */
static void report_store_failure(const char *command, cli_state *store, const char *what)
{
    cli_progress_clear();
    fprintf(stderr, "leadroute %s: %s: %s\n", command, what, store_why(store));
    cli_state_rollback(store);
}

/* A text buffer for rows held back until their batch is committed. */
typedef struct held_rows {
    FILE *f;
    char *text;
    size_t size;
} held_rows;

static int hold_begin(held_rows *h)
{
    h->text = NULL;
    h->size = 0;
    h->f = open_memstream(&h->text, &h->size);
    if (!h->f)
        fprintf(stderr, "leadroute: out of memory\n");
    return h->f ? 0 : -1;
}

/* Write the held rows to stdout and start again; 0, or -1 after a message
 * when out of memory or when stdout cannot be written (a full disk, a closed
 * pipe). The caller stops then: going on would commit leads whose records
 * cannot be shown. */
static int hold_release(held_rows *h)
{
    long length = fflush(h->f) == 0 ? ftell(h->f) : -1;
    if (length < 0) {
        fprintf(stderr, "leadroute: out of memory\n");
        return -1;
    }
    /* flushed at once: what is printed is committed, even if the run is killed next */
    errno = 0;
    int err = fwrite(h->text, 1, (size_t)length, stdout) < (size_t)length ? errno : 0;
    rewind(h->f); /* the next batch overwrites this one */
    errno = err;  /* why the write failed, for the message */
    return cli_flush_output();
}

/* Drop the held rows of a batch that was rolled back. */
static void hold_drop(held_rows *h)
{
    rewind(h->f);
}

static void hold_end(held_rows *h)
{
    if (h->f)
        fclose(h->f);
    free(h->text);
    h->f = NULL;
    h->text = NULL;
}

/* A batch that failed is routed again, a few times: with a shared database
 * it may have lost a deadlock to another process's batch, or the connection
 * (pg_store reconnects on the next call). Its leads were rolled back with it
 * and their rows not printed. A failure that will not pass (a read-only
 * file) is not tried again. 1 when the caller should start the batch again. */
enum { BATCH_TRIES = 3 };

static int retry_batch(cli_state *store, const char *what, size_t routed, int *tries, held_rows *held)
{
    if (*tries >= BATCH_TRIES || cli_state_failure_lasts(store))
        return 0;
    (*tries)++;
    cli_progress_clear();
    fprintf(stderr, "leadroute route: %s (%s); the batch (%zu lead%s) was rolled back, routing it again\n", what,
            store_why(store), routed, cli_plural(routed));
    cli_state_rollback(store);
    hold_drop(held);
    return 1;
}

/* ---- route ------------------------------------------------------------------- */

/* The dedupe key of a lead: the string field `field`, or the lead id. */
static const char *dedupe_value(const leadroute_lead *lead, const char *field)
{
    if (!field)
        return lead->id;
    for (size_t i = 0; i < lead->field_count; i++)
        if (strcmp(lead->fields[i].name, field) == 0)
            return lead->fields[i].value.type == LEADROUTE_VALUE_STRING ? lead->fields[i].value.string : NULL;
    return NULL;
}

/* The dedupe key of a lead, trimmed, into buf; NULL if none (or too long). */
static const char *lead_key(const leadroute_lead *lead, const char *field, char *buf, size_t size)
{
    const char *k = dedupe_value(lead, field);
    size_t len;
    if (!k)
        return NULL;
    k = cli_trimmed(k, &len);
    if (!len || len >= size)
        return NULL;
    memcpy(buf, k, len);
    buf[len] = '\0';
    return buf;
}

/* Read the holders of the keys of leads [from, to) into the open batch at
 * once (the store's keys: "lead:" and the trimmed dedupe key); returns a
 * leadroute error code. */
static int prefetch_batch(cli_state *store, const leadroute_leads *leads, size_t from, size_t to,
                          const char *field)
{
    char keybuf[LEADROUTE_MAX_STRING + 1]; /* a dedupe key, up to the longest string */
    size_t total = 0, n = 0;
    for (size_t i = from; i < to; i++) {
        const char *k = lead_key(leadroute_leads_get(leads, i), field, keybuf, sizeof keybuf);
        if (k) {
            total += strlen(k) + sizeof "lead:";
            n++;
        }
    }
    if (n == 0)
        return LEADROUTE_OK;
    char *text = malloc(total), *at = text;
    const char **keys = malloc(n * sizeof *keys);
    int rc = LEADROUTE_ENOMEM;
    if (text && keys) {
        size_t j = 0;
        for (size_t i = from; i < to; i++) {
            const char *k = lead_key(leadroute_leads_get(leads, i), field, keybuf, sizeof keybuf);
            if (!k)
                continue;
            keys[j++] = at;
            at += (size_t)snprintf(at, total - (size_t)(at - text), "lead:%s", k) + 1;
        }
        rc = cli_state_prefetch_claims(store, keys, j);
    }
    free((void *)keys);
    free(text);
    return rc;
}

/* The event detail kept for `explain`: {"text": ..., "trace": {...}}. */
static int decision_detail(const leadroute_decision *d, char **text, size_t *text_cap, char **json,
                           size_t *json_cap, char **detail, size_t *detail_size)
{
    if (cli_explain(d, LEADROUTE_EXPLAIN_TEXT, text, text_cap) != 0 ||
        cli_explain(d, LEADROUTE_EXPLAIN_JSON, json, json_cap) != 0)
        return -1;
    free(*detail); /* open_memstream makes a new buffer each time */
    *detail = NULL;
    FILE *f = open_memstream(detail, detail_size);
    if (!f)
        return -1;
    fputs("{\"text\":", f);
    put_json_string(f, *text);
    fputs(",\"trace\":", f);
    fputs(*json, f);
    fputc('}', f);
    return fclose(f) == 0 ? 0 : -1;
}

int cmd_route(int argc, char **argv)
{
    static const char *const columns[] = { "id", "status", "rep", "pool", "rule", "reason", "trace" };
    cli_args a;
    leadroute_table *table = NULL;
    leadroute_roster *roster = NULL;
    leadroute_leads *leads = NULL;
    int rc = cli_parse_args("route", argc, argv,
                            OPT_ROUTE | OPT_EXPLAIN | OPT_STATE | OPT_FORMAT | OPT_PROGRESS | OPT_BATCH,
                            1u << FORMAT_CSV | 1u << FORMAT_JSONL, &a);
    if (rc)
        return rc;
    if (a.help)
        return cli_print_usage(USAGE_ROUTE);
    if (a.nfiles < 1)
        return cli_usage_error("route", "%s", "expected a LEADS.csv file");
    if (a.nfiles > 1)
        return cli_usage_error("route", "unexpected argument '%s'", a.files[1]);
    if ((rc = open_table_and_roster("route", &a, &table, &roster)) >= 0)
        return rc;
    if (!(leads = cli_open_leads(a.files[0], table)) ||
        cli_check_dedupe_field("route", a.files[0], leads, a.dedupe_field) != EXIT_CLEAN) {
        leadroute_leads_free(leads);
        leadroute_roster_unref(roster);
        leadroute_table_unref(table);
        return EXIT_TROUBLE;
    }
    cli_report_output_hints(a.table, table);
    cli_report_roster_mismatches(a.table, a.reps, table, roster);

    /* The router holds its own references; one decision serves every lead. */
    cli_state *store = NULL;
    leadroute_router *router = NULL;
    leadroute_decision *decision = NULL;
    held_rows held = { NULL, NULL, 0 };
    int status = cli_open_state("route", &a, CLI_STATE_CREATE, &store);
    if (status == EXIT_CLEAN && !(router = cli_open_router(&a, table, roster, store)))
        status = EXIT_TROUBLE;
    /* the state's keys are made one way: its first route's, with a field
     * the router took, for leads it routes */
    if (status == EXIT_CLEAN)
        status = cli_state_check_dedupe("route", store, a.dedupe_field, leadroute_leads_count(leads) > 0);
    if (status == EXIT_CLEAN && leadroute_decision_new(&decision, NULL) != LEADROUTE_OK) {
        cli_report_library_error();
        status = EXIT_TROUBLE;
    }
    if (status == EXIT_CLEAN && hold_begin(&held) != 0)
        status = EXIT_TROUBLE;

    const char *leads_name = cli_display_name(a.files[0]);
    size_t trouble = status == EXIT_CLEAN ? leadroute_leads_error_count(leads) : 0;
    cli_skipped_rows skipped_rows = { status == EXIT_CLEAN ? leads : NULL, 0 };
    char *json = NULL, *text = NULL, *detail = NULL;
    size_t json_cap = 0, text_cap = 0, detail_size = 0;
    size_t n = status == EXIT_CLEAN ? leadroute_leads_count(leads) : 0;
    /* with a database the trace is kept for `explain` */
    uint32_t flags = a.explain || store ? LEADROUTE_ROUTE_TRACE : 0;
    record_writer w;
    progress bar;
    if (status == EXIT_CLEAN) {
        records_begin(&w, stdout, a.format, columns, a.explain ? 7 : 6);
        w.out = held.f;
    }
    progress_begin(&bar, a.progress, n, "leads");
    int in_batch = 0, batch_tries = 0;
    size_t batch_start = 0, trouble_at_start = trouble;
    size_t reported = 0; /* leads before this one were reported on stderr: a retried batch says nothing twice */
    for (size_t i = 0; i < n;) {
        if (store && !in_batch) {
            if (cli_state_begin(store) != LEADROUTE_OK) {
                /* another process may hold the write lock past the busy timeout */
                if (retry_batch(store, "cannot start a transaction", 0, &batch_tries, &held))
                    continue;
                report_store_failure("route", store, "cannot start a transaction");
                status = EXIT_TROUBLE;
                break;
            }
            in_batch = 1;
            batch_start = i;
            trouble_at_start = trouble;
            /* the claims of the batch's leads in one read (batches end at multiples of --batch) */
            size_t batch_to = (i / a.batch + 1) * a.batch < n ? (i / a.batch + 1) * a.batch : n;
            if (prefetch_batch(store, leads, i, batch_to, a.dedupe_field) != LEADROUTE_OK) {
                if (retry_batch(store, "the state could not be read", 0, &batch_tries, &held)) {
                    in_batch = 0;
                    continue;
                }
                report_store_failure("route", store, "the state could not be read");
                in_batch = 0;
                status = EXIT_TROUBLE;
                break;
            }
        }
        const leadroute_lead *lead = leadroute_leads_get(leads, i);
        char refusal[160], keybuf[LEADROUTE_MAX_STRING + 1]; /* a dedupe key, up to the longest string */
        const char *key = store ? lead_key(lead, a.dedupe_field, keybuf, sizeof keybuf) : NULL;
        /* a lead the state cannot hold (too long for its indexes) is unrouted on its own, not sent:
         * its commit would fail for good and stop the run */
        const char *refused =
            store ? cli_state_refuses(store, lead->id, key, dedupe_value(lead, "email"), refusal, sizeof refusal)
                  : NULL;
        rc = refused ? LEADROUTE_ELIMIT : leadroute_route(router, lead, flags, decision);
        if (store && rc == LEADROUTE_ECALLBACK &&
            retry_batch(store, "the state could not be written", i - batch_start, &batch_tries, &held)) {
            in_batch = 0;
            i = batch_start;
            trouble = trouble_at_start;
            continue;
        }
        if (rc == LEADROUTE_ECALLBACK || rc == LEADROUTE_ENOMEM) {
            /* the database (or memory) failed: this batch is not kept */
            if (store)
                report_store_failure("route", store, "the state could not be written");
            else
                cli_report_library_error();
            hold_drop(&held);
            in_batch = 0;
            status = EXIT_TROUBLE;
            break;
        }
        const char *reason = refused ? refused : leadroute_decision_reason(decision);
        uint32_t route_status = rc == LEADROUTE_OK ? leadroute_decision_status(decision) : LEADROUTE_ROUTE_UNROUTED;
        if (rc != LEADROUTE_OK) {
            /* the reason is the error message; the tool goes on with the next lead */
            char shown[CLI_SHOWN_SIZE];
            cli_report_skipped_before(&skipped_rows, leadroute_leads_line(leads, i));
            if (i >= reported) {
                cli_progress_clear();
                fprintf(stderr, "%s:%u: lead %s: unrouted: %s\n", leads_name,
                        (unsigned)leadroute_leads_line(leads, i), cli_shown(lead->id, shown), reason);
            }
            trouble++;
        }
        if (i >= reported)
            reported = i + 1;
        if (flags && !refused &&
            decision_detail(decision, &text, &text_cap, &json, &json_cap, &detail, &detail_size) != 0) {
            char shown[CLI_SHOWN_SIZE];
            cli_progress_clear();
            fprintf(stderr, "leadroute route: out of memory explaining lead %s\n", cli_shown(lead->id, shown));
            if (store)
                cli_state_rollback(store);
            hold_drop(&held);
            in_batch = 0;
            status = EXIT_TROUBLE;
            break;
        }
        if (store && !refused) {
            cli_state_event ev = { a.has_now ? a.now_ms : cli_system_now_ms(),
                                   leadroute_route_status_name(route_status), key ? key : lead->id, lead->id,
                                   detail };
            if (cli_state_record(store, &ev) != LEADROUTE_OK) {
                if (retry_batch(store, "the decision could not be recorded", i - batch_start, &batch_tries,
                                &held)) {
                    in_batch = 0;
                    i = batch_start;
                    trouble = trouble_at_start;
                    continue;
                }
                report_store_failure("route", store, "the decision could not be recorded");
                hold_drop(&held);
                in_batch = 0;
                status = EXIT_TROUBLE;
                break;
            }
        }
        const char *shown_json = refused ? NULL : json;
        cell row[] = { cell_text(lead->id),
                       cell_text(leadroute_route_status_name(route_status)),
                       cell_text(refused ? NULL : leadroute_decision_rep(decision)),
                       cell_text(refused ? NULL : leadroute_decision_pool(decision)),
                       cell_text(refused ? NULL : leadroute_decision_rule(decision)),
                       cell_text(reason),
                       a.format == FORMAT_JSONL ? cell_json(shown_json) : cell_text(shown_json) };
        records_row(&w, row);
        int batch_end = (i + 1) % a.batch == 0 || i + 1 == n;
        if (in_batch && batch_end) {
            if (cli_state_commit(store) != LEADROUTE_OK) {
                if (retry_batch(store, "the batch could not be committed", i + 1 - batch_start, &batch_tries,
                                &held)) {
                    in_batch = 0;
                    i = batch_start;
                    trouble = trouble_at_start;
                    continue;
                }
                report_store_failure("route", store, "the batch could not be committed");
                hold_drop(&held);
                in_batch = 0;
                status = EXIT_TROUBLE;
                break;
            }
            in_batch = 0;
        }
        /* without a database too: one write per batch, not per lead */
        if (batch_end && hold_release(&held) != 0) {
            /* the batch is committed (printed only after that), the next one never starts */
            char shown[CLI_SHOWN_SIZE];
            cli_progress_clear();
            if (store)
                fprintf(stderr,
                        "leadroute route: stopped after lead %s (%s:%u): it and every lead before it are "
                        "committed, though the records of its batch (from line %u) may be missing; no later "
                        "lead was routed\n",
                        cli_shown(lead->id, shown), leads_name, (unsigned)leadroute_leads_line(leads, i),
                        (unsigned)leadroute_leads_line(leads, batch_start));
            else
                fprintf(stderr, "leadroute route: stopped after lead %s (%s:%u); no later lead was routed\n",
                        cli_shown(lead->id, shown), leads_name, (unsigned)leadroute_leads_line(leads, i));
            status = EXIT_TROUBLE;
            break;
        }
        if (batch_end)
            batch_tries = 0;
        progress_update(&bar, i + 1);
        i++;
    }
    progress_end(&bar);
    if (in_batch) /* only after an error above */
        cli_state_rollback(store);
    cli_report_skipped_before(&skipped_rows, UINT32_MAX);

    free(json);
    free(text);
    free(detail);
    hold_end(&held);
    cli_session session = { table, roster, leads, store, router, decision };
    cli_session_close(&session);
    if (status == EXIT_CLEAN && trouble)
        status = EXIT_FINDINGS;
    return cli_finish_output(status);
}

/* ---- tick -------------------------------------------------------------------- */

/* A lead found by its dedupe key (trimmed, as the router trims it). */
typedef struct keyed_lead {
    char *key;
    size_t order; /* file order: the first lead of a key wins */
    const leadroute_lead *lead;
} keyed_lead;

typedef struct lead_index {
    keyed_lead *v;
    size_t n;
} lead_index;

static int compare_keyed(const void *pa, const void *pb)
{
    const keyed_lead *a = pa, *b = pb;
    int c = strcmp(a->key, b->key);
    return c ? c : (a->order > b->order) - (a->order < b->order);
}

static int index_leads(lead_index *x, const leadroute_leads *leads, const char *field)
{
    size_t n = leadroute_leads_count(leads);
    x->n = 0;
    x->v = n ? calloc(n, sizeof *x->v) : NULL;
    if (n && !x->v)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const leadroute_lead *lead = leadroute_leads_get(leads, i);
        const char *k = dedupe_value(lead, field);
        size_t len = 0;
        if (k)
            k = cli_trimmed(k, &len);
        if (!len)
            continue; /* no key: route could not have claimed it */
        char *copy = malloc(len + 1);
        if (!copy)
            return -1;
        memcpy(copy, k, len);
        copy[len] = '\0';
        x->v[x->n].key = copy;
        x->v[x->n].order = i;
        x->v[x->n].lead = lead;
        x->n++;
    }
    if (x->n > 1) /* no leads, no array: qsort takes no null pointer */
        qsort(x->v, x->n, sizeof *x->v, compare_keyed);
    return 0;
}

static void free_index(lead_index *x)
{
    for (size_t i = 0; i < x->n; i++)
        free(x->v[i].key);
    free(x->v);
}

/* leadroute_lead_lookup: the first lead of the file with this key. */
static const leadroute_lead *find_lead(void *ctx, const char *key)
{
    const lead_index *x = ctx;
    size_t lo = 0, hi = x->n;
    while (lo < hi) { /* first entry whose key is >= key */
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(x->v[mid].key, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < x->n && strcmp(x->v[lo].key, key) == 0 ? x->v[lo].lead : NULL;
}

/* What a lead looked like when the tick listed it as overdue. */
typedef struct due_lead {
    char *key;
    int64_t deadline_ms;
    uint32_t hops;
} due_lead;

typedef struct tick_run {
    cli_state *store;
    due_lead *due;
    size_t ndue, cap;
    record_writer rows;  /* shown once the transaction is committed */
    int64_t now_ms;
    int failed;          /* recording an event failed */
} tick_run;

static int compare_due_key(const void *pa, const void *pb)
{
    return strcmp(((const due_lead *)pa)->key, ((const due_lead *)pb)->key);
}

/* list_due callback: remember each overdue lead's deadline and hops, for the
 * reason column (listed before the tick changes anything). */
static int remember_due(void *ctx, const leadroute_assignment *a)
{
    tick_run *t = ctx;
    if (t->ndue == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        due_lead *v = realloc(t->due, cap * sizeof *v);
        if (!v)
            return LEADROUTE_ENOMEM;
        t->due = v;
        t->cap = cap;
    }
    due_lead *d = &t->due[t->ndue];
    if (!(d->key = malloc(strlen(a->key) + 1)))
        return LEADROUTE_ENOMEM;
    strcpy(d->key, a->key);
    d->deadline_ms = a->deadline_ms;
    d->hops = a->hops;
    t->ndue++;
    return LEADROUTE_OK;
}

/* notify callback during a tick: one record per move, and an event. */
static int record_move(void *user_data, const leadroute_assignment *a)
{
    tick_run *t = user_data;
    due_lead probe = { (char *)a->key, 0, 0 };
    const due_lead *d = t->ndue ? bsearch(&probe, t->due, t->ndue, sizeof *t->due, compare_due_key) : NULL;
    /* the store recorded the committed assignment, escalation flag included */
    leadroute_assignment rec;
    int escalated = a->escalated;
    if (cli_state_get(t->store, a->key, &rec) == LEADROUTE_OK)
        escalated |= rec.escalated;

    char when[40] = "its deadline", reason[512];
    if (d)
        cli_format_time(d->deadline_ms, when, sizeof when);
    if (escalated)
        snprintf(reason, sizeof reason, "not followed up by %s after %u reassignment%s; escalated to %s", when,
                 d ? d->hops : 0u, d && d->hops == 1 ? "" : "s", a->rep_id);
    else
        snprintf(reason, sizeof reason, "not followed up by %s; reassigned within pool %s", when,
                 a->pool_id ? a->pool_id : "-");
    const char *action = escalated ? "escalated" : "reassigned";
    cell row[] = { cell_text(cli_plain_key(a->key)), cell_text(action), cell_text(a->previous),
                   cell_text(a->rep_id), cell_text(a->pool_id), cell_text(reason) };
    records_row(&t->rows, row);

    /* the event for `explain`: the same record as one JSON object */
    char *detail = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&detail, &size);
    if (!f) {
        t->failed = 1;
        return LEADROUTE_ENOMEM;
    }
    record_writer one = { f, FORMAT_JSONL, t->rows.columns, t->rows.ncolumns };
    records_row(&one, row);
    if (fclose(f) != 0) {
        free(detail);
        t->failed = 1;
        return LEADROUTE_ENOMEM;
    }
    if (size && detail[size - 1] == '\n')
        detail[size - 1] = '\0';
    cli_state_event ev = { a->at_ms, action, cli_plain_key(a->key), a->lead_id, detail };
    int rc = cli_state_record(t->store, &ev);
    free(detail);
    if (rc != LEADROUTE_OK)
        t->failed = 1;
    return rc;
}

int cmd_tick(int argc, char **argv)
{
    static const char *const columns[] = { "key", "action", "from", "to", "pool", "reason" };
    cli_args a;
    leadroute_table *table = NULL;
    leadroute_roster *roster = NULL;
    leadroute_leads *leads = NULL;
    cli_state *store = NULL;
    int rc = cli_parse_args("tick", argc, argv, OPT_ROUTE | OPT_STATE | OPT_LEADS | OPT_FORMAT,
                            1u << FORMAT_CSV | 1u << FORMAT_JSONL, &a);
    if (rc)
        return rc;
    if (a.help)
        return cli_print_usage(USAGE_TICK);
    if (a.nfiles > 0)
        return cli_usage_error("tick", "unexpected argument '%s'", a.files[0]);
    if (a.no_state)
        return cli_usage_error("tick", "%s", "--no-state: tick moves the leads of a state database");
    if ((rc = cli_state_check_exists("tick", &a)) != 0)
        return rc;
    if ((rc = open_table_and_roster("tick", &a, &table, &roster)) >= 0)
        return rc;

    int status = cli_open_state("tick", &a, CLI_STATE_EXISTING, &store);
    lead_index index = { NULL, 0 };
    held_rows held = { NULL, NULL, 0 };
    tick_run run;
    memset(&run, 0, sizeof run);
    run.store = store;
    run.now_ms = a.has_now ? a.now_ms : cli_system_now_ms();
    leadroute_router *router = NULL;
    leadroute_notify notify = { LEADROUTE_NOTIFY_VERSION, record_move };
    if (status == EXIT_CLEAN && a.leads) /* the leads are found by the state's keys */
        status = cli_state_check_dedupe("tick", store, a.dedupe_field, 0);
    if (status == EXIT_CLEAN && a.leads) {
        if (!(leads = cli_open_leads(a.leads, table)))
            status = EXIT_TROUBLE;
        else if (cli_check_dedupe_field("tick", a.leads, leads, a.dedupe_field) != EXIT_CLEAN)
            status = EXIT_TROUBLE;
        else if (index_leads(&index, leads, a.dedupe_field) != 0) {
            fprintf(stderr, "leadroute: out of memory indexing %s\n", a.leads);
            status = EXIT_TROUBLE;
        } else {
            cli_report_skipped_rows(leads);
        }
    }
    if (status == EXIT_CLEAN && hold_begin(&held) != 0)
        status = EXIT_TROUBLE;
    if (status == EXIT_CLEAN) {
        records_begin(&run.rows, stdout, a.format, columns, sizeof columns / sizeof *columns);
        run.rows.out = held.f;
    }
    if (status == EXIT_CLEAN && cli_state_begin(store) != LEADROUTE_OK) {
        report_store_failure("tick", store, "cannot start a transaction");
        status = EXIT_TROUBLE;
    }
    if (status == EXIT_CLEAN) {
        /* what is due now, before the tick moves it (for the reason column) */
        rc = cli_state_list_due(store, run.now_ms, remember_due, &run);
        if (rc == LEADROUTE_OK && run.ndue)
            qsort(run.due, run.ndue, sizeof *run.due, compare_due_key);
        if (rc != LEADROUTE_OK) {
            report_store_failure("tick", store, "cannot list the leads due");
            status = EXIT_TROUBLE;
        }
    }
    if (status == EXIT_CLEAN && !(router = cli_open_router(&a, table, roster, store)))
        status = EXIT_TROUBLE;
    if (status == EXIT_CLEAN && leadroute_router_set_notify(router, &notify, &run) != LEADROUTE_OK) {
        cli_report_library_error();
        status = EXIT_TROUBLE;
    }
    if (status == EXIT_CLEAN) {
        leadroute_tick_stats stats = LEADROUTE_TICK_STATS_INIT;
        rc = leadroute_router_tick(router, run.now_ms, a.leads ? find_lead : NULL, &index, &stats);
        if (rc != LEADROUTE_OK || run.failed) {
            if (rc != LEADROUTE_OK)
                cli_report_library_error();
            report_store_failure("tick", store, "no lead moved");
            status = EXIT_TROUBLE;
        } else if (cli_state_commit(store) != LEADROUTE_OK) {
            report_store_failure("tick", store, "the moves could not be committed, so no lead moved");
            status = EXIT_TROUBLE;
        } else {
            if (hold_release(&held) != 0) {
                fprintf(stderr, "leadroute tick: the moves are committed all the same "
                                "('leadroute explain KEY' shows each one)\n");
                status = EXIT_TROUBLE;
            }
            fprintf(stderr, "due %llu, reassigned %llu, escalated %llu, kept %llu, raced %llu\n",
                    (unsigned long long)stats.due, (unsigned long long)stats.reassigned,
                    (unsigned long long)stats.escalated, (unsigned long long)stats.kept,
                    (unsigned long long)stats.raced);
            if (stats.failed) {
                /* kept, but not because no one could take them */
                fprintf(stderr, "leadroute tick: %llu of the kept leads could not be moved (the state did not "
                                "take the move); they stay overdue for the next tick\n",
                        (unsigned long long)stats.failed);
                status = EXIT_TROUBLE;
            }
        }
    } else if (store) {
        cli_state_rollback(store);
    }
    hold_end(&held);
    cli_session session = { table, roster, leads, store, router, NULL };
    cli_session_close(&session);
    for (size_t i = 0; i < run.ndue; i++)
        free(run.due[i].key);
    free(run.due);
    free_index(&index);
    return cli_finish_output(status);
}

/* ---- ack --------------------------------------------------------------------- */

/* cli_state_events callback: the key of the lead's latest event. */
static int latest_key(void *ctx, const cli_state_event *e)
{
    char **key = ctx;
    if (!e->key)
        return 0;
    char *copy = malloc(strlen(e->key) + 1);
    if (!copy)
        return LEADROUTE_ENOMEM;
    strcpy(copy, e->key);
    free(*key);
    *key = copy;
    return 0;
}

/* The store's key for what the user typed: "lead:" and the key, trimmed as
 * the router trims it; when that is not claimed but a lead of that id was
 * routed (under another dedupe key, e.g. its email), that lead's key. NULL
 * when out of memory. */
static char *claim_key(cli_state *store, const char *arg)
{
    size_t len;
    const char *key = cli_trimmed(arg, &len);
    char *stored = malloc(len + 6), *found = NULL;
    leadroute_assignment rec;
    if (!stored)
        return NULL;
    snprintf(stored, len + 6, "lead:%.*s", (int)len, key);
    if (cli_state_get(store, stored, &rec) == LEADROUTE_OK)
        return stored;
    if (cli_state_events(store, stored + 5, latest_key, &found, NULL) == LEADROUTE_OK && found &&
        strcmp(found, stored + 5) != 0) {
        char *other = malloc(strlen(found) + 6);
        if (other) {
            snprintf(other, strlen(found) + 6, "lead:%s", found);
            free(stored);
            stored = other;
        }
    }
    free(found);
    return stored;
}

/* ack and close: one action per KEY, recorded in one transaction. */
static int keys_command(const char *command, int closing, int argc, char **argv)
{
    static const char *const columns[] = { "key", "status", "rep" };
    cli_args a;
    leadroute_table *table = NULL;
    leadroute_roster *roster = NULL;
    cli_state *store = NULL;
    int rc = cli_parse_args(command, argc, argv, OPT_ROUTE | OPT_STATE | OPT_KEYS | OPT_FORMAT,
                            1u << FORMAT_CSV | 1u << FORMAT_JSONL, &a);
    if (rc || a.help) {
        cli_args_free(&a);
        return rc ? rc : cli_print_usage(closing ? USAGE_CLOSE : USAGE_ACK);
    }
    if (a.nkeys == 0)
        rc = cli_usage_error(command, "%s", "expected one or more KEYs");
    else if (a.no_state)
        rc = cli_usage_error(command, "--no-state: %s records into a state database", command);
    else if ((rc = cli_state_check_exists(command, &a)) == 0 &&
             (rc = open_table_and_roster(command, &a, &table, &roster)) < 0)
        rc = 0;
    if (rc) {
        cli_args_free(&a);
        return rc;
    }

    held_rows held = { NULL, NULL, 0 };
    leadroute_router *router = NULL;
    record_writer w;
    int64_t now = a.has_now ? a.now_ms : cli_system_now_ms();
    int status = cli_open_state(command, &a, CLI_STATE_EXISTING, &store);
    if (status == EXIT_CLEAN && (!(router = cli_open_router(&a, table, roster, store)) || hold_begin(&held) != 0))
        status = EXIT_TROUBLE;
    if (status == EXIT_CLEAN && cli_state_begin(store) != LEADROUTE_OK) {
        report_store_failure(command, store, "cannot start a transaction");
        status = EXIT_TROUBLE;
    }
    if (status == EXIT_CLEAN) {
        records_begin(&w, stdout, a.format, columns, 3);
        w.out = held.f;
    }
    for (int i = 0; status != EXIT_TROUBLE && i < a.nkeys; i++) {
        char *stored = claim_key(store, a.keys[i]);
        if (!stored) {
            fprintf(stderr, "leadroute: out of memory\n");
            status = EXIT_TROUBLE;
            break;
        }
        leadroute_assignment rec;
        const char *outcome = NULL;
        /* the holder as it was, for close's record */
        int held_by = cli_state_get(store, stored, &rec) == LEADROUTE_OK;
        char holder[LEADROUTE_MAX_NAME + 1] = "";
        if (held_by && rec.rep_id)
            snprintf(holder, sizeof holder, "%s", rec.rep_id);
        if (closing) {
            if ((rc = leadroute_router_close(router, stored + 5)) == LEADROUTE_OK)
                outcome = "closed";
        } else if (held_by && rec.acknowledged_ms != 0) {
            outcome = "already acknowledged";
        } else if ((rc = leadroute_router_acknowledge(router, stored + 5)) == LEADROUTE_OK) {
            outcome = "acknowledged";
        } else if (rc == LEADROUTE_EEXISTS) {
            outcome = "already acknowledged";
        }
        if (outcome) {
            /* recorded below */
        } else if (rc == LEADROUTE_ENOTFOUND) {
            fprintf(stderr, "leadroute %s: %s\n", command, leadroute_error_last()->message);
            outcome = "not claimed";
            if (status == EXIT_CLEAN)
                status = EXIT_FINDINGS;
        } else if (rc == LEADROUTE_EINVAL) {
            /* a malformed key (empty, too long, not UTF-8) is skipped like a bad row: the others stand */
            fprintf(stderr, "leadroute %s: KEY %d: %s; skipped\n", command, i + 1, leadroute_error_last()->message);
            if (status == EXIT_CLEAN)
                status = EXIT_FINDINGS;
        } else {
            /* the library's message, and the store's reason (SQLite's, PostgreSQL's) */
            const char *why = cli_state_errmsg(store);
            fprintf(stderr, "leadroute %s: %s%s%s\n", command, leadroute_error_last()->message,
                    why && *why ? ": " : "", why && *why ? why : "");
            status = EXIT_TROUBLE;
        }
        if (outcome && closing) {
            int closed = strcmp(outcome, "closed") == 0;
            cell row[] = { cell_text(stored + 5), cell_text(outcome), cell_text(closed && holder[0] ? holder : NULL) };
            records_row(&w, row);
            cli_state_event ev = { now, "closed", stored + 5, NULL, "{\"status\":\"closed\"}" };
            if (closed && cli_state_record(store, &ev) != LEADROUTE_OK) {
                report_store_failure(command, store, "the close could not be recorded");
                status = EXIT_TROUBLE;
            }
        } else if (outcome) {
            held_by = cli_state_get(store, stored, &rec) == LEADROUTE_OK;
            cell row[] = { cell_text(stored + 5), cell_text(outcome), cell_text(held_by ? rec.rep_id : NULL) };
            records_row(&w, row);
            if (strcmp(outcome, "acknowledged") == 0) {
                char detail[64];
                snprintf(detail, sizeof detail, "{\"status\":\"acknowledged\"}");
                /* at the time the store recorded: never before the assignment, so explain
                 * does not show an acknowledgement ahead of what it acknowledges */
                int64_t at = held_by && rec.acknowledged_ms != 0 ? rec.acknowledged_ms : now;
                cli_state_event ev = { at, "acknowledged", stored + 5, NULL, detail };
                if (cli_state_record(store, &ev) != LEADROUTE_OK) {
                    report_store_failure(command, store, "the acknowledgement could not be recorded");
                    status = EXIT_TROUBLE;
                }
            }
        }
        free(stored);
    }
    if (store && status != EXIT_TROUBLE) {
        if (cli_state_commit(store) != LEADROUTE_OK) {
            report_store_failure(command, store, closing ? "nothing was closed" : "nothing was acknowledged");
            status = EXIT_TROUBLE;
        } else if (hold_release(&held) != 0) {
            fprintf(stderr, "leadroute %s: the %s committed all the same\n", command,
                    closing ? "closes are" : "acknowledgements are");
            status = EXIT_TROUBLE;
        }
    } else if (store) {
        cli_state_rollback(store);
    }
    hold_end(&held);
    cli_session session = { table, roster, NULL, store, router, NULL };
    cli_session_close(&session);
    cli_args_free(&a);
    return cli_finish_output(status);
}

int cmd_ack(int argc, char **argv)
{
    return keys_command("ack", 0, argc, argv);
}

int cmd_close(int argc, char **argv)
{
    return keys_command("close", 1, argc, argv);
}
