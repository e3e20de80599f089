/*
 * The leadroute command-line tool: what its modules share.
 *
 *   main.c      usage and dispatch
 *   common.c    argument parsing, opening files, time, messages
 *   output.c    CSV and JSON-lines records, the progress bar
 *   table.c     check, eval, bench (the decision table alone)
 *   route.c     route, tick, ack (routing with a persistent state)
 *   simulate.c  simulate (what-if routing on a copy of the state)
 *   explain.c   explain (the recorded history of a lead)
 *   state.c     the state behind --state: a SQLite file or a PostgreSQL
 *               database, one interface for both
 *
 * Uses only the public API (<leadroute/leadroute.h>) and the example host
 * stores of ../sqlite_store.h and, built with LEADROUTE_CLI_WITH_PG,
 * ../pg_store.h.
 * SPDX-License-Identifier: MIT
 */
#ifndef LEADROUTE_CLI_H
#define LEADROUTE_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <leadroute/leadroute.h>

#if defined(__GNUC__)
#define CLI_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CLI_PRINTF(a, b)
#endif

/* Exit statuses shared by every subcommand. */
enum {
    EXIT_CLEAN = 0,    /* everything went fine */
    EXIT_FINDINGS = 1, /* check: lint findings; eval, route...: some leads skipped or unrouted */
    EXIT_TROUBLE = 2   /* bad usage, or a file could not be read or written */
};

/* The state file when --state is not given. */
#define CLI_DEFAULT_STATE "leadroute-state.db"

/* ---- arguments ------------------------------------------------------------ */

/* Options a command takes besides --help. */
enum {
    OPT_SECONDS = 1 << 0,  /* --seconds */
    OPT_ROUTE = 1 << 1,    /* --table, --reps, --dedupe-field */
    OPT_EXPLAIN = 1 << 2,  /* --explain */
    OPT_STATE = 1 << 3,    /* --state, --no-state, --now */
    OPT_LEADS = 1 << 4,    /* --leads */
    OPT_KEYS = 1 << 5,     /* any number of positional arguments, in `keys` */
    OPT_FORMAT = 1 << 6,   /* --format */
    OPT_HTML = 1 << 7,     /* --html */
    OPT_PROGRESS = 1 << 8, /* --progress, --no-progress */
    OPT_BATCH = 1 << 9,    /* --batch */
    OPT_VALUE_FIELD = 1 << 10 /* --value-field */
};

/* Output formats. TEXT is for people; CSV and JSONL for programs. */
enum { FORMAT_DEFAULT = 0, FORMAT_TEXT, FORMAT_CSV, FORMAT_JSONL, FORMAT_JSON };

typedef struct cli_args {
    const char *files[3]; /* the first three: a command takes at most two and names the first extra one */
    int nfiles;           /* how many were given */
    const char **keys;  /* OPT_KEYS; freed by cli_args_free() */
    int nkeys;
    double seconds;
    const char *table, *reps, *dedupe_field;
    int explain;
    const char *state;  /* --state FILE or PostgreSQL connection string, else CLI_DEFAULT_STATE */
    int no_state;       /* --no-state: keep state in memory for the run */
    const char *leads;  /* --leads */
    const char *html;   /* --html FILE */
    const char *value_field; /* --value-field, default "deal_value" */
    int format;         /* FORMAT_* */
    int progress;       /* -1 auto (a terminal), 0 never, 1 always */
    unsigned batch;     /* leads per transaction */
    int has_now;        /* --now given: */
    int64_t now_ms;     /*   its time */
    int help;
} cli_args;

/* Parse the arguments of `command` (options allowed by `options`, formats
 * allowed by `formats`: a mask of 1 << FORMAT_*). 0, or the exit status after
 * a one-line message. */
int cli_parse_args(const char *command, int argc, char **argv, unsigned options, unsigned formats, cli_args *a);
void cli_args_free(cli_args *a);

/* ---- messages -------------------------------------------------------------- */

/* One line on stderr for a usage mistake; returns EXIT_TROUBLE. */
int cli_usage_error(const char *command, const char *fmt, ...) CLI_PRINTF(2, 3);
/* The library's last error, on one line of stderr. */
void cli_report_library_error(void);
/* Print `usage` on stdout; the exit status. */
int cli_print_usage(const char *usage);
/* Flush stdout: 0, or -1 after reporting a failed write (full disk, closed
 * pipe) on stderr. A failure is reported once, however often it is asked. */
int cli_flush_output(void);
/* The exit status after a last cli_flush_output(): EXIT_TROUBLE if it failed. */
int cli_finish_output(int status);
const char *cli_plural(size_t n);
/* How many bytes of the character at `s` to show as \xNN, 0 for one shown
 * as it is: C0 controls and DEL (1), C1 controls U+0080 to U+009F, a
 * terminal's escape introducer among them (2), the line and paragraph
 * separators U+2028 and U+2029, line breaks to some readers (3). */
size_t cli_escaped_len(const char *s);
/* Room for cli_shown() of any lead id or key: each byte may become four. */
#define CLI_SHOWN_SIZE (4 * LEADROUTE_MAX_STRING + 1)
/* `s` for a one-line message in `buf` (CLI_SHOWN_SIZE bytes): control
 * characters (C0, DEL, C1) and the line and paragraph separators as \xNN,
 * so that an id holding a newline or a terminal escape cannot forge or
 * garble a line. */
const char *cli_shown(const char *s, char *buf);

/* ---- files ----------------------------------------------------------------- */

int cli_is_stdin(const char *path);
/* The name for messages: "<stdin>" for "-". */
const char *cli_display_name(const char *path);
/* Whether two paths name one existing file (one device and inode), '-'
 * standing for standard input; 0 for a path that does not exist. */
int cli_same_file(const char *a, const char *b);
/* Whether `path` names the file or pipe standard output is (as /dev/stdout
 * does then); 0 for a terminal or another device. */
int cli_is_stdout(const char *path);
/* Whether `path` is a regular file holding a SQLite database: its first 16
 * bytes. */
int cli_is_sqlite_file(const char *path);
/* The most the tool reads of one table, roster or leads file (or of standard
 * input): 256 MiB. A larger or endless input (/dev/zero) is refused with a
 * message and EXIT_TROUBLE instead of being read until memory runs out. */
#define CLI_MAX_INPUT ((size_t)256 * 1024 * 1024)

/* Open a table, leads (typed by `table`) or roster; '-' reads stdin. At most
 * CLI_MAX_INPUT bytes are read. NULL after reporting. */
leadroute_table *cli_open_table(const char *path);
leadroute_leads *cli_open_leads(const char *path, const leadroute_table *table);
/* `s` without white space at its ends, as the router trims keys: the start,
 * and the length in *len. */
const char *cli_trimmed(const char *s, size_t *len);
/* EXIT_CLEAN, or EXIT_TROUBLE after a message when leads were read and none
 * gives the --dedupe-field `field` (NULL: the lead id): a misspelt or
 * differently cased name would leave every lead unrouted, and bind a new
 * state to it. */
int cli_check_dedupe_field(const char *command, const char *path, const leadroute_leads *leads, const char *field);
leadroute_roster *cli_open_roster(const char *path);
/* Rows of the leads file that were skipped, on stderr; returns how many. */
size_t cli_report_skipped_rows(const leadroute_leads *leads);
/* The same among messages about single leads, so that stderr keeps the
 * file's line order: cli_report_skipped_before() reports the rows not yet
 * reported that lie before `line`, UINT32_MAX for all the rest. */
typedef struct cli_skipped_rows {
    const leadroute_leads *leads;
    size_t next; /* the first row not yet reported */
} cli_skipped_rows;
void cli_report_skipped_before(cli_skipped_rows *rows, uint32_t line);
/* On stderr: input columns named as the outputs the router reads (pool,
 * owner, queue, status, sla_minutes, tags) with no output of that name: most
 * often 'out:' forgotten; else a table without outputs. */
void cli_report_output_hints(const char *table_path, const leadroute_table *table);
/* Index of rep (or pool) `id` in the roster, which lists both in id order
 * (strcmp's); SIZE_MAX if it has none of that id. */
size_t cli_roster_rep_index(const leadroute_roster *roster, const char *id);
size_t cli_roster_pool_index(const leadroute_roster *roster, const char *id);
/* On stderr: pools the table's rules name (output "pool") that the roster
 * lacks, owners they name (output "owner") that are not reps, and roster
 * pools no rule reaches, directly or through fallbacks and escalations (most
 * often a misspelt pool in a rep's pools cell, which the roster makes a pool
 * of its own). At most 10 lines and a count of the rest; none without memory
 * for the check. */
void cli_report_roster_mismatches(const char *table_path, const char *reps_path, const leadroute_table *table,
                                  const leadroute_roster *roster);

/* ---- time ------------------------------------------------------------------ */

/* ISO 8601 UTC (YYYY-MM-DDTHH:MM[:SS[.fff]]Z) or milliseconds; 0 or -1. */
int cli_parse_time(const char *s, int64_t *out);
/* ISO 8601 UTC, milliseconds only when there are some; a year outside
 * 0000-9999 signed and of six digits or more. */
void cli_format_time(int64_t ms, char *buf, size_t size);
int64_t cli_system_now_ms(void);
double cli_monotonic_seconds(void);

/* ---- output ---------------------------------------------------------------- */

/* A cell of a record: text, a number, a raw JSON value, or nothing. */
typedef enum { CELL_NULL = 0, CELL_TEXT, CELL_NUMBER, CELL_JSON } cell_kind;

typedef struct cell {
    cell_kind kind;
    const char *text;  /* CELL_TEXT, CELL_JSON */
    double number;     /* CELL_NUMBER */
} cell;

static inline cell cell_text(const char *s)
{
    cell c = { s ? CELL_TEXT : CELL_NULL, s, 0.0 };
    return c;
}
static inline cell cell_number(double x)
{
    cell c = { CELL_NUMBER, NULL, x };
    return c;
}
static inline cell cell_json(const char *s)
{
    cell c = { s ? CELL_JSON : CELL_NULL, s, 0.0 };
    return c;
}
/* A leadroute_value: strings as text, numbers as numbers, sets as "a;b". */
cell cell_value(const leadroute_value *v, char *scratch, size_t scratch_size);

/* Rows with named columns, as CSV (a header row first) or JSON lines (one
 * object per row, the column names as keys, NULL cells left out). */
typedef struct record_writer {
    FILE *out;
    int format;  /* FORMAT_CSV or FORMAT_JSONL */
    const char *const *columns;
    size_t ncolumns;
} record_writer;

void records_begin(record_writer *w, FILE *out, int format, const char *const *columns, size_t ncolumns);
void records_row(record_writer *w, const cell *cells);

/* Low-level writers. */
void put_csv_field(FILE *out, const char *s);
void put_json_string(FILE *out, const char *s);
/* Shortest text that reads back as `x` ("30", "0.1"); nan and inf spelled out. */
void format_number(double x, char *buf, size_t size);

/* A progress bar on stderr, drawn only when stderr is a terminal (or forced),
 * at most ~10 times a second. */
typedef struct progress {
    int on;
    int drawn; /* characters of the bar line on the terminal */
    size_t total;
    const char *what;
    double started, last_drawn;
} progress;

void progress_begin(progress *p, int mode, size_t total, const char *what);
void progress_update(progress *p, size_t done);
void progress_end(progress *p);
/* Wipe a bar drawn on stderr's last line, so that a message written next
 * starts its own line; the bar is drawn again at its next update. Every
 * message a command writes while a bar runs calls it first. */
void cli_progress_clear(void);

/* ---- state ----------------------------------------------------------------- */

/* The routing state: a SQLite file, or a PostgreSQL database when --state is
 * a connection string (state.c). */
typedef struct cli_state cli_state;

/* How a command opens the state. */
enum {
    CLI_STATE_CREATE,   /* route: created if missing */
    CLI_STATE_EXISTING, /* tick, ack: what route left; missing is an error */
    CLI_STATE_SNAPSHOT, /* simulate: never written (SQLite: an in-memory copy; PostgreSQL:
                         * the live database, read through a fork of the router) */
    CLI_STATE_READ      /* explain: what route left, only read (a SQLite file the user
                         * may only read will do); missing is an error */
};

/* Is this --state value a PostgreSQL connection string: a postgresql:// or
 * postgres:// URI, or libpq's key=value form (it starts with "keyword=")? */
int cli_state_is_postgresql(const char *spec);
/* For tick and ack before anything is read: a missing SQLite file is a usage
 * error (a database is asked when it is opened). 0 or the exit status. */
int cli_state_check_exists(const char *command, const cli_args *a);
/* Open the state of the arguments in `mode` (*out NULL with --no-state,
 * except for a snapshot: an empty one). 0, or the exit status after a
 * one-line message. */
int cli_open_state(const char *command, const cli_args *a, int mode, cli_state **out);
void cli_state_close(cli_state *state);
/* The state for messages: the file, or the database (no credentials). */
const char *cli_state_name(const cli_state *state);
/* 1 when the state is the live database that routing must only read (route
 * through leadroute_router_fork()); its writing methods refuse. */
int cli_state_read_through(const cli_state *state);
/* Make the state the router's store. A library code. */
int cli_state_attach(cli_state *state, leadroute_router *router);

/* The dedupe field `field` (NULL: the lead id) against the one the state's
 * keys were made with: a state keeps the one of its first route (`record`
 * 1 records it when the state has none and may be written). 0, or 2 after
 * a one-line message when they differ or the state cannot be read. No
 * state (--no-state): 0. */
int cli_state_check_dedupe(const char *command, cli_state *state, const char *field, int record);

/* Batches: one transaction that the store's calls join. Library codes. */
int cli_state_begin(cli_state *state);
int cli_state_commit(cli_state *state);
int cli_state_rollback(cli_state *state);
/* Inside a batch: read the holders of these store keys ("lead:" and the dedupe key) at once, so
 * routing the batch's leads asks for none of them. PostgreSQL only; nothing to do for SQLite. */
int cli_state_prefetch_claims(cli_state *state, const char *const *keys, size_t n);
/* Why the state cannot hold lead `id` with dedupe key `key` and email
 * `email` (the router claims "account:" and the email's domain; PostgreSQL
 * indexes keys and ids of up to PG_STORE_MAX_ID bytes), written into `buf`;
 * NULL when it can. Such a lead is reported unrouted on its own: its commit
 * would fail for good and stop the run. */
const char *cli_state_refuses(const cli_state *state, const char *id, const char *key, const char *email, char *buf,
                              size_t size);
/* Why the last call failed ("" if it did not). */
const char *cli_state_errmsg(const cli_state *state);
/* 1 when the last failure will not pass by trying again (a read-only file,
 * no permission, a full disk). */
int cli_state_failure_lasts(const cli_state *state);

/* The current assignment of a claimed key; strings valid until the next call. */
int cli_state_get(cli_state *state, const char *key, leadroute_assignment *out);
int cli_state_open_count(cli_state *state, const char *rep_id, uint32_t *count);
int cli_state_list_due(cli_state *state, int64_t now_ms, int (*each)(void *ctx, const leadroute_assignment *a),
                       void *ctx);

/* One recorded event of a lead, for explain. */
typedef struct cli_state_event {
    int64_t at_ms;
    const char *kind;   /* "assigned", "existing", "reassigned", "escalated", "acknowledged", ... */
    const char *key;    /* dedupe key, without "lead:" */
    const char *lead_id;
    const char *detail; /* JSON text */
} cli_state_event;

int cli_state_record(cli_state *state, const cli_state_event *event);
/* `each` for the events of a lead id or key, oldest first. */
int cli_state_events(cli_state *state, const char *lead, int (*each)(void *ctx, const cli_state_event *event),
                     void *ctx, size_t *count);

/* A router on `table` and `roster` for `a`: the dedupe field, the state's
 * store (if any), with --now a fixed clock (reading a->now_ms, so `a` must
 * outlive the router). NULL after reporting. */
leadroute_router *cli_open_router(const cli_args *a, leadroute_table *table, leadroute_roster *roster,
                                  cli_state *state);

/* What a routing command opens; cli_session_close() frees whatever is set. */
typedef struct cli_session {
    leadroute_table *table;
    leadroute_roster *roster;
    leadroute_leads *leads;
    cli_state *state;
    leadroute_router *router;
    leadroute_decision *decision;
} cli_session;

void cli_session_close(cli_session *s);

/* The store's key of a lead as users know it: without the "lead:" prefix. */
const char *cli_plain_key(const char *key);

/* A decision as one line of JSON into *buf (grown as needed); 0 or -1. */
int cli_explain(const leadroute_decision *d, int format, char **buf, size_t *cap);

/* ---- commands -------------------------------------------------------------- */

int cmd_check(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_route(int argc, char **argv);
int cmd_tick(int argc, char **argv);
int cmd_ack(int argc, char **argv);
int cmd_close(int argc, char **argv);
int cmd_simulate(int argc, char **argv);
int cmd_explain(int argc, char **argv);

#endif /* LEADROUTE_CLI_H */
