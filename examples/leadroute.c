/*
 * leadroute: command-line front end to libleadroute.
 *
 *   leadroute check TABLE                 lint a decision table
 *   leadroute eval TABLE LEADS.csv        route leads, CSV on stdout
 *   leadroute bench TABLE LEADS.csv       evaluations per second
 *   leadroute route --table TABLE --reps REPS.csv LEADS.csv [--state FILE]
 *                                         assign leads to reps, CSV on stdout
 *   leadroute tick --table TABLE --reps REPS.csv --state FILE
 *                                         move overdue leads, CSV on stdout
 *   leadroute ack --table TABLE --reps REPS.csv --state FILE KEY...
 *                                         the reps followed these leads up
 *
 * Uses only the public API (<leadroute/leadroute.h>), so it doubles as an
 * example of loading a table, reading leads, evaluating and routing them;
 * state_store.c is an example of a host store that keeps routing state
 * (claims, rotation, deadlines) from one run to the next.
 * SPDX-License-Identifier: MIT
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L   /* clock_gettime */
#endif
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <leadroute/leadroute.h>

#include "state_store.h"

/* Exit statuses shared by every subcommand. */
enum {
    EXIT_CLEAN = 0,   /* everything went fine */
    EXIT_FINDINGS = 1, /* check: lint findings; eval, route: some leads skipped or unrouted */
    EXIT_FAILURE_ = 2  /* bad usage, or the table or leads could not be read */
};

static const char USAGE[] =
    "usage: leadroute [--help] [--version] COMMAND [ARGS]\n"
    "\n"
    "Route sales leads with a decision table (see docs/table-format.md).\n"
    "\n"
    "commands:\n"
    "  check TABLE               parse, compile and lint a table\n"
    "  eval TABLE LEADS.csv      evaluate every lead; CSV results on stdout\n"
    "  bench TABLE LEADS.csv     measure evaluation speed\n"
    "  route --table TABLE --reps REPS.csv LEADS.csv\n"
    "                            assign every lead to a rep; CSV results on stdout\n"
    "  tick --table TABLE --reps REPS.csv --state FILE\n"
    "                            move the leads whose follow-up deadline passed\n"
    "  ack --table TABLE --reps REPS.csv --state FILE KEY...\n"
    "                            record that reps followed these leads up\n"
    "\n"
    "'-' as a file name reads standard input (for one of the files).\n"
    "Run 'leadroute COMMAND --help' for details.\n";

static const char USAGE_CHECK[] =
    "usage: leadroute check TABLE\n"
    "\n"
    "Parse and compile TABLE, print each lint finding (with an example lead\n"
    "when there is one) and a one-line summary.\n"
    "\n"
    "exit status: 0 clean, 1 lint findings, 2 the table could not be read\n";

static const char USAGE_EVAL[] =
    "usage: leadroute eval TABLE LEADS.csv\n"
    "\n"
    "Evaluate every lead of LEADS.csv against TABLE and write CSV to stdout:\n"
    "  id,rule,<output columns>\n"
    "one row per hit (several for rule order, output order and collect), an\n"
    "empty rule when nothing matched, and for collect with an aggregation one\n"
    "more row per lead with rule '(aggregate)'.\n"
    "\n"
    "LEADS.csv has a header row of field names; the column 'id' (else the\n"
    "first) is the lead id; a 'name:set' column holds ';'-separated items.\n"
    "Rows that cannot be read, and leads whose evaluation fails, are reported\n"
    "on stderr with their line and skipped.\n"
    "\n"
    "exit status: 0 all leads routed, 1 some skipped, 2 a file could not be read\n";

static const char USAGE_BENCH[] =
    "usage: leadroute bench TABLE LEADS.csv [--seconds S]\n"
    "\n"
    "Load the leads, then evaluate them round after round for about S seconds\n"
    "(default 2) and report evaluations per second and nanoseconds per\n"
    "evaluation.\n"
    "\n"
    "exit status: 0 done, 2 bad usage or a file could not be read\n";

static const char USAGE_ROUTE[] =
    "usage: leadroute route --table TABLE --reps REPS.csv LEADS.csv [--explain]\n"
    "                       [--dedupe-field FIELD] [--state FILE] [--now TIME]\n"
    "\n"
    "Route every lead of LEADS.csv, in file order: evaluate TABLE (its outputs\n"
    "owner, pool, queue, status, sla_minutes and tags drive the router), walk the\n"
    "pools of REPS.csv, pick a rep with each pool's strategy and claim the lead\n"
    "(docs/router.md). Claims, rotation and open leads live in memory for the\n"
    "run, so earlier leads count for later ones, or with --state in FILE, so\n"
    "earlier runs count too. CSV on stdout:\n"
    "  id,status,rep,pool,rule,reason\n"
    "status is assigned, existing, queued, unassigned or unrouted; reason says\n"
    "why in one sentence.\n"
    "\n"
    "  --table TABLE         the decision table\n"
    "  --reps REPS.csv       the roster: a '#! pools' and a '#! reps' section\n"
    "  --explain             add a column 'trace': the decision as one line of JSON\n"
    "  --dedupe-field FIELD  dedupe key from lead field FIELD (e.g. email) instead\n"
    "                        of the lead id: a lead whose key was routed before\n"
    "                        stays with that rep (status existing)\n"
    "  --state FILE          read the routing state (claims, rotation, open leads,\n"
    "                        follow-up deadlines) from FILE before routing and\n"
    "                        write it back after; a missing FILE is an empty state.\n"
    "                        'leadroute tick' and 'leadroute ack' use the same FILE\n"
    "  --now TIME            the router's clock: ISO 8601 UTC such as\n"
    "                        2026-11-24T09:30:00Z, or milliseconds since the epoch\n"
    "                        (default: the system clock). A lead's follow-up\n"
    "                        deadline is TIME plus the rule's sla_minutes (else\n"
    "                        the pool's)\n"
    "\n"
    "Rows of LEADS.csv that cannot be read are reported on stderr and skipped. A\n"
    "lead that cannot be routed (a bad value, no dedupe key, a pool the roster\n"
    "lacks) gets a row with status unrouted and is reported on stderr too.\n"
    "\n"
    "exit status: 0 all leads routed, 1 some unrouted or skipped, 2 bad usage or a\n"
    "file could not be read (or the state file written)\n";

static const char USAGE_TICK[] =
    "usage: leadroute tick --table TABLE --reps REPS.csv --state FILE [--now TIME]\n"
    "                      [--leads LEADS.csv] [--dedupe-field FIELD]\n"
    "\n"
    "Process follow-up deadlines: every lead of the state FILE whose deadline\n"
    "passed at TIME and that its rep has not acknowledged moves to another rep\n"
    "of its pool, never back to one who held it before; after the pool's\n"
    "max_hops moves it escalates to the pool's escalation pool or owner. Moved\n"
    "leads get a new deadline from TIME. FILE is written back. CSV on stdout,\n"
    "one row per move:\n"
    "  key,action,from,to,pool,reason\n"
    "action is reassigned or escalated. A summary goes to stderr:\n"
    "  due N, reassigned N, escalated N, kept N, raced N\n"
    "(kept: no one could take the lead, it stays overdue; raced: someone else\n"
    "moved it first). Ticking twice at the same TIME moves nothing new.\n"
    "\n"
    "  --table TABLE, --reps REPS.csv   as for route\n"
    "  --state FILE          the state written by 'leadroute route --state FILE'\n"
    "  --now TIME            ISO 8601 UTC or milliseconds since the epoch\n"
    "                        (default: the system clock)\n"
    "  --leads LEADS.csv     the leads, found by dedupe key, so that the pools'\n"
    "                        skill filters and score tiers apply again; without\n"
    "                        it leads move on pool membership and capacity only\n"
    "  --dedupe-field FIELD  the field route used for dedupe keys (default: id)\n"
    "\n"
    "exit status: 0 done, 2 bad usage, or a file could not be read or written\n";

static const char USAGE_ACK[] =
    "usage: leadroute ack --table TABLE --reps REPS.csv --state FILE [--now TIME] KEY...\n"
    "\n"
    "Record that the reps holding the leads of these dedupe keys followed them\n"
    "up at TIME (--now, as for tick; default: the system clock): their deadlines\n"
    "no longer apply and tick leaves them alone.\n"
    "FILE is written back. CSV on stdout, one row per key:\n"
    "  key,status,rep\n"
    "status is acknowledged, already acknowledged (the first time stands) or\n"
    "not claimed (also reported on stderr).\n"
    "\n"
    "exit status: 0 all acknowledged, 1 some keys not claimed, 2 bad usage, or a\n"
    "file could not be read or written\n";

/* ---- small helpers ------------------------------------------------------ */

#if defined(__GNUC__)
#define PRINTF_LIKE(a, b) __attribute__((format(printf, a, b)))
#else
#define PRINTF_LIKE(a, b)
#endif

/* One line on stderr for a usage mistake; returns the exit status. */
static int usage_error(const char *command, const char *fmt, ...) PRINTF_LIKE(2, 3);

static int usage_error(const char *command, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "leadroute%s%s: ", command ? " " : "", command ? command : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (try 'leadroute%s%s --help')\n", command ? " " : "", command ? command : "");
    return EXIT_FAILURE_;
}

/* The library's last error, on one line. */
static void report_library_error(void)
{
    const char *m = leadroute_error_last()->message;
    fputs("leadroute: ", stderr);
    for (; *m; m++)
        fputc(*m == '\n' || *m == '\r' ? ' ' : *m, stderr);
    fputc('\n', stderr);
}

/* Read all of standard input into a malloc'ed buffer. */
static int read_stdin(char **out, size_t *out_len)
{
    size_t cap = 64 * 1024, len = 0;
    char *buf = malloc(cap);
    if (!buf) {
        fprintf(stderr, "leadroute: out of memory\n");
        return -1;
    }
    for (;;) {
        if (len == cap) {
            char *nb = cap <= SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
            if (!nb) {
                free(buf);
                fprintf(stderr, "leadroute: out of memory reading standard input\n");
                return -1;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len, stdin);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(stdin)) {
        fprintf(stderr, "leadroute: cannot read standard input: %s\n", strerror(errno));
        free(buf);
        return -1;
    }
    *out = buf;
    *out_len = len;
    return 0;
}

static int is_stdin(const char *path)
{
    return strcmp(path, "-") == 0;
}

static leadroute_table *open_table(const char *path)
{
    leadroute_table *table = NULL;
    int rc;
    if (is_stdin(path)) {
        char *text;
        size_t len;
        if (read_stdin(&text, &len) < 0)
            return NULL;
        rc = leadroute_table_parse(&table, text, len, "<stdin>", NULL);
        free(text);
    } else {
        rc = leadroute_table_load(&table, path, NULL);
    }
    if (rc != LEADROUTE_OK) {
        report_library_error();
        return NULL;
    }
    return table;
}

/* Passing the table makes its set columns sets and its field names shared. */
static leadroute_leads *open_leads(const char *path, const leadroute_table *table)
{
    leadroute_leads *leads = NULL;
    int rc;
    if (is_stdin(path)) {
        char *text;
        size_t len;
        if (read_stdin(&text, &len) < 0)
            return NULL;
        rc = leadroute_leads_parse(&leads, text, len, "<stdin>", table, NULL);
        free(text);
    } else {
        rc = leadroute_leads_load(&leads, path, table, NULL);
    }
    if (rc != LEADROUTE_OK) {
        report_library_error();
        return NULL;
    }
    return leads;
}

static leadroute_roster *open_roster(const char *path)
{
    leadroute_roster *roster = NULL;
    int rc;
    if (is_stdin(path)) {
        char *text;
        size_t len;
        if (read_stdin(&text, &len) < 0)
            return NULL;
        rc = leadroute_roster_parse(&roster, text, len, "<stdin>", NULL);
        free(text);
    } else {
        rc = leadroute_roster_load(&roster, path, NULL);
    }
    if (rc != LEADROUTE_OK) {
        report_library_error();
        return NULL;
    }
    return roster;
}

/* Rows of the leads file that were skipped; returns how many. */
static size_t report_skipped_rows(const leadroute_leads *leads)
{
    size_t n = leadroute_leads_error_count(leads);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "%s (row skipped)\n", leadroute_leads_error(leads, i));
    return n;
}

static const char *plural(size_t n)
{
    return n == 1 ? "" : "s";
}

static const char *hit_policy_name(uint32_t policy)
{
    switch (policy) {
    case LEADROUTE_HIT_FIRST: return "first";
    case LEADROUTE_HIT_UNIQUE: return "unique";
    case LEADROUTE_HIT_ANY: return "any";
    case LEADROUTE_HIT_PRIORITY: return "priority";
    case LEADROUTE_HIT_RULE_ORDER: return "rule order";
    case LEADROUTE_HIT_OUTPUT_ORDER: return "output order";
    case LEADROUTE_HIT_COLLECT: return "collect";
    default: return "unknown";
    }
}

static const char *aggregation_name(uint32_t agg)
{
    switch (agg) {
    case LEADROUTE_AGG_SUM: return "sum";
    case LEADROUTE_AGG_COUNT: return "count";
    case LEADROUTE_AGG_MIN: return "min";
    case LEADROUTE_AGG_MAX: return "max";
    default: return "none";
    }
}

/* Whole numbers print as integers (30, not 3e+01); others as the shortest
 * "%.Ng" that reads back as the same double: 0.1 prints as 0.1, not
 * 0.10000000000000001; 17 digits always round-trip. */
static void format_number(double x, char *buf, size_t size)
{
    if (!isfinite(x)) {
        snprintf(buf, size, "%s", isnan(x) ? "nan" : x > 0 ? "inf" : "-inf");
        return;
    }
    if (x > -1e15 && x < 1e15 && x == (double)(long long)x) {
        snprintf(buf, size, "%.0f", x);
        return;
    }
    for (int precision = 1; precision <= 17; precision++) {
        snprintf(buf, size, "%.*g", precision, x);
        if (strtod(buf, NULL) == x)
            return;
    }
}

/* RFC 4180: quote a field holding a separator, a quote or a line break, and
 * one with white space at its ends (readers would trim it). */
static void put_csv_field(FILE *out, const char *s)
{
    size_t n = strlen(s);
    int quote = n && (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t');
    if (!quote && strpbrk(s, ",\"\r\n"))
        quote = 1;
    if (!quote) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static void put_csv_value(FILE *out, const leadroute_value *v)
{
    char num[64];
    if (!v)
        return;
    switch (v->type) {
    case LEADROUTE_VALUE_STRING:
        put_csv_field(out, v->string ? v->string : "");
        break;
    case LEADROUTE_VALUE_NUMBER:
        format_number(v->number, num, sizeof num);
        fputs(num, out);
        break;
    case LEADROUTE_VALUE_BOOL:
        fputs(v->boolean ? "true" : "false", out);
        break;
    default: /* null: empty cell */
        break;
    }
}

/* Flush stdout and report a failed write (full disk, closed pipe). */
static int finish_output(int status)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "leadroute: cannot write results: %s\n", strerror(errno));
        return EXIT_FAILURE_;
    }
    return status;
}

/* ---- argument parsing --------------------------------------------------- */

/* Options a command takes besides --help. */
enum {
    OPT_SECONDS = 1,  /* --seconds */
    OPT_ROUTE = 2,    /* --table, --reps, --dedupe-field */
    OPT_EXPLAIN = 4,  /* --explain */
    OPT_STATE = 8,    /* --state, --now */
    OPT_LEADS = 16,   /* --leads */
    OPT_KEYS = 32     /* any number of positional arguments, in `keys` */
};

typedef struct args {
    const char *files[2];
    int nfiles;
    const char **keys;                       /* OPT_KEYS; free with free_args() */
    int nkeys;
    double seconds;
    const char *table, *reps, *dedupe_field; /* route, tick, ack */
    int explain;                             /* route */
    const char *state;                       /* --state */
    const char *leads;                       /* tick --leads */
    int has_now;                             /* --now given: */
    int64_t now_ms;                          /*   its time */
    int help;
} args;

static void free_args(args *a)
{
    free(a->keys);
    a->keys = NULL;
}

/* ---- time ----------------------------------------------------------------- */

/* Days since 1970-01-01 of a date in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;                                 /* [0, 399] */
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;         /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* `n` decimal digits at s into *v; 0 if they are all digits. */
static int digits(const char *s, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        *v = *v * 10 + (s[i] - '0');
    }
    return 0;
}

/* TIME as milliseconds since the epoch: ISO 8601 in UTC,
 * YYYY-MM-DDTHH:MM[:SS[.fff]]Z, or a plain number of milliseconds. */
static int parse_time(const char *s, int64_t *out)
{
    size_t n = strlen(s);
    if (n && strspn(s, "0123456789") == n) {
        if (n > 15) /* beyond the year 30000 */
            return -1;
        *out = (int64_t)strtoll(s, NULL, 10);
        return 0;
    }
    int y, mo, d, h, mi, sec = 0, ms = 0;
    if (n < 17 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
        digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') || digits(s + 11, 2, &h) || s[13] != ':' ||
        digits(s + 14, 2, &mi))
        return -1;
    const char *p = s + 16;
    if (*p == ':') {
        if (digits(p + 1, 2, &sec))
            return -1;
        p += 3;
        if (*p == '.') {
            int k = 0;
            for (p++; *p >= '0' && *p <= '9'; p++, k++)
                if (k < 3)
                    ms = ms * 10 + (*p - '0');
            if (k == 0 || k > 9)
                return -1;
            for (; k < 3; k++)
                ms *= 10;
        }
    }
    if ((*p != 'Z' && *p != 'z') || p[1] != '\0')
        return -1;
    static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap) || h > 23 || mi > 59 ||
        sec > 59)
        return -1;
    *out = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000 + (int64_t)sec * 1000 + ms;
    return 0;
}

/* ISO 8601 UTC, with milliseconds only when there are some. */
static void format_time(int64_t ms, char *buf, size_t size)
{
    int64_t day = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
    int64_t rest = ms - day * 86400000, y;
    int m, d;
    civil_from_days(day, &y, &m, &d);
    int h = (int)(rest / 3600000), mi = (int)(rest / 60000 % 60), sec = (int)(rest / 1000 % 60);
    int frac = (int)(rest % 1000);
    if (frac)
        snprintf(buf, size, "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ", (long long)y, m, d, h, mi, sec, frac);
    else
        snprintf(buf, size, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)y, m, d, h, mi, sec);
}

static int64_t system_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Is `argv[*i]` the option `name`, as "--name VALUE" or "--name=VALUE"?
 * 0: no; 1: yes, *value set (and *i moved past a separate value); -1: the
 * value is missing (reported). */
static int option_value(const char *command, const char *name, int argc, char **argv, int *i,
                        const char **value)
{
    const char *arg = argv[*i];
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0 || (arg[n] != '\0' && arg[n] != '='))
        return 0;
    if (arg[n] == '=') {
        *value = arg + n + 1;
        return 1;
    }
    if (*i + 1 >= argc) {
        usage_error(command, "%s needs a value", name);
        return -1;
    }
    *value = argv[++*i];
    return 1;
}

/* Shared by the subcommands: positional files, --help, and the options in
 * `options` (OPT_*). */
static int parse_args(const char *command, int argc, char **argv, unsigned options, args *a)
{
    int options_done = 0;
    memset(a, 0, sizeof *a);
    a->seconds = 2.0;
    if ((options & OPT_KEYS) && argc > 0 && !(a->keys = malloc((size_t)argc * sizeof *a->keys))) {
        fprintf(stderr, "leadroute: out of memory\n");
        return EXIT_FAILURE_;
    }
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (!options_done && arg[0] == '-' && arg[1] != '\0') {
            const char *value = NULL;
            int rc = 0;
            if (strcmp(arg, "--") == 0) {
                options_done = 1;
                continue;
            }
            if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
                a->help = 1;
                return 0;
            }
            if ((options & OPT_EXPLAIN) && strcmp(arg, "--explain") == 0) {
                a->explain = 1;
                continue;
            }
            if ((options & OPT_ROUTE) &&
                ((rc = option_value(command, "--table", argc, argv, &i, &a->table)) != 0 ||
                 (rc = option_value(command, "--reps", argc, argv, &i, &a->reps)) != 0 ||
                 (rc = option_value(command, "--dedupe-field", argc, argv, &i, &a->dedupe_field)) != 0)) {
                if (rc < 0)
                    return EXIT_FAILURE_;
                continue;
            }
            if ((options & OPT_STATE) &&
                ((rc = option_value(command, "--state", argc, argv, &i, &a->state)) != 0)) {
                if (rc < 0)
                    return EXIT_FAILURE_;
                if (!a->state[0] || is_stdin(a->state))
                    return usage_error(command, "%s", "--state needs a file name (not '-': it is written back)");
                continue;
            }
            if ((options & OPT_STATE) && (rc = option_value(command, "--now", argc, argv, &i, &value)) != 0) {
                if (rc < 0)
                    return EXIT_FAILURE_;
                if (parse_time(value, &a->now_ms) != 0)
                    return usage_error(command,
                                       "--now: '%s' is not a time (expected ISO 8601 UTC such as "
                                       "2026-11-24T09:30:00Z, or milliseconds since the epoch)",
                                       value);
                a->has_now = 1;
                continue;
            }
            if ((options & OPT_LEADS) && (rc = option_value(command, "--leads", argc, argv, &i, &a->leads)) != 0) {
                if (rc < 0)
                    return EXIT_FAILURE_;
                continue;
            }
            if ((options & OPT_SECONDS) && (rc = option_value(command, "--seconds", argc, argv, &i, &value)) != 0) {
                if (rc < 0)
                    return EXIT_FAILURE_;
                char *end;
                errno = 0;
                double s = strtod(value, &end);
                if (errno || end == value || *end != '\0' || !(s > 0.0) || s > 86400.0)
                    return usage_error(command, "--seconds: '%s' is not a number of seconds (0 < S <= 86400)",
                                       value);
                a->seconds = s;
                continue;
            }
            return usage_error(command, "unknown option '%s'", arg);
        }
        if (options & OPT_KEYS) {
            a->keys[a->nkeys++] = arg;
            continue;
        }
        if (a->nfiles == 2)
            return usage_error(command, "unexpected argument '%s'", arg);
        a->files[a->nfiles++] = arg;
    }
    return 0;
}

static int need_files(const char *command, const args *a, int n)
{
    if (a->nfiles < n)
        return usage_error(command, "%s", n == 1 ? "expected a TABLE file" : "expected TABLE and LEADS.csv files");
    if (a->nfiles > n)
        return usage_error(command, "unexpected argument '%s'", a->files[n]);
    if (n == 2 && is_stdin(a->files[0]) && is_stdin(a->files[1]))
        return usage_error(command, "%s", "only one of TABLE and LEADS.csv can be '-'");
    return 0;
}

/* The start check, eval and bench share: options, --help, the files it needs, the
 * table, and (when `with_leads`) the leads read for it. Returns -1 when the
 * command may go on, else the exit status to return. */
static int open_command(const char *command, const char *usage, int argc, char **argv, unsigned options,
                        int with_leads, args *a, leadroute_table **table, leadroute_leads **leads)
{
    int rc = parse_args(command, argc, argv, options, a);
    if (rc)
        return rc;
    if (a->help) {
        fputs(usage, stdout);
        return finish_output(EXIT_CLEAN);
    }
    if ((rc = need_files(command, a, with_leads ? 2 : 1)))
        return rc;
    *table = open_table(a->files[0]);
    if (!*table)
        return EXIT_FAILURE_;
    if (with_leads) {
        *leads = open_leads(a->files[1], *table);
        if (!*leads) {
            leadroute_table_unref(*table);
            return EXIT_FAILURE_;
        }
    }
    return -1;
}

/* ---- check -------------------------------------------------------------- */

static int cmd_check(int argc, char **argv)
{
    args a;
    leadroute_table *table = NULL;
    int rc = open_command("check", USAGE_CHECK, argc, argv, 0, 0, &a, &table, NULL);
    if (rc >= 0)
        return rc;

    size_t findings = leadroute_table_diagnostic_count(table);
    for (size_t i = 0; i < findings; i++) {
        leadroute_diagnostic d = LEADROUTE_DIAGNOSTIC_INIT;
        if (leadroute_table_diagnostic(table, i, &d) != LEADROUTE_OK) {
            report_library_error();
            continue;
        }
        /* the message already quotes the witness lead */
        printf("%s\n", d.message ? d.message : "(no message)");
    }

    const char *path = is_stdin(a.files[0]) ? "<stdin>" : a.files[0];
    const char *name = leadroute_table_name(table);
    const char *version = leadroute_table_version(table);
    printf("%s:", path);
    if (name && *name)
        printf(" \"%s\"", name);
    if (version && *version)
        printf(" version %s", version);
    size_t rules = leadroute_table_rule_count(table);
    size_t inputs = leadroute_table_input_count(table);
    size_t outputs = leadroute_table_output_count(table);
    printf("%s %zu rule%s, %zu input%s, %zu output%s, hit policy %s",
           (name && *name) || (version && *version) ? ":" : "", rules, plural(rules), inputs, plural(inputs),
           outputs, plural(outputs), hit_policy_name(leadroute_table_hit_policy(table)));
    if (leadroute_table_aggregation(table) != LEADROUTE_AGG_NONE)
        printf(" (%s)", aggregation_name(leadroute_table_aggregation(table)));
    printf(", hash %016llx, %zu bytes compiled, %zu lint finding%s\n",
           (unsigned long long)leadroute_table_hash(table), leadroute_table_memory(table), findings,
           plural(findings));

    leadroute_table_unref(table);
    return finish_output(findings ? EXIT_FINDINGS : EXIT_CLEAN);
}

/* ---- eval --------------------------------------------------------------- */

static void put_row_start(const char *id, const char *rule)
{
    put_csv_field(stdout, id);
    fputc(',', stdout);
    put_csv_field(stdout, rule);
}

static int cmd_eval(int argc, char **argv)
{
    args a;
    leadroute_table *table = NULL;
    leadroute_leads *leads = NULL;
    int rc = open_command("eval", USAGE_EVAL, argc, argv, 0, 1, &a, &table, &leads);
    if (rc >= 0)
        return rc;
    /* One result per thread; it is sized for the table here, so evaluation
     * itself never allocates. */
    leadroute_result *result = NULL;
    if (leadroute_result_new(&result, table, NULL) != LEADROUTE_OK) {
        report_library_error();
        leadroute_leads_free(leads);
        leadroute_table_unref(table);
        return EXIT_FAILURE_;
    }

    const char *leads_name = is_stdin(a.files[1]) ? "<stdin>" : a.files[1];
    size_t skipped = report_skipped_rows(leads);
    size_t outputs = leadroute_table_output_count(table);
    int aggregates = leadroute_table_aggregation(table) != LEADROUTE_AGG_NONE;

    fputs("id,rule", stdout);
    for (size_t o = 0; o < outputs; o++) {
        fputc(',', stdout);
        put_csv_field(stdout, leadroute_table_output_name(table, o));
    }
    fputc('\n', stdout);

    size_t n = leadroute_leads_count(leads);
    for (size_t i = 0; i < n; i++) {
        const leadroute_lead *lead = leadroute_leads_get(leads, i);
        rc = leadroute_table_eval(table, lead, result);
        if (rc != LEADROUTE_OK) {
            /* The message already names the rules or field at fault. */
            fprintf(stderr, "%s:%u: lead %s: %s\n", leads_name, (unsigned)leadroute_leads_line(leads, i),
                    lead->id, leadroute_error_last()->message);
            skipped++;
            continue;
        }
        size_t hits = leadroute_result_count(result);
        if (hits == 0) {
            put_row_start(lead->id, "");
            for (size_t o = 0; o < outputs; o++)
                fputc(',', stdout);
            fputc('\n', stdout);
        }
        for (size_t h = 0; h < hits; h++) {
            put_row_start(lead->id, leadroute_result_rule_id(result, h));
            for (size_t o = 0; o < outputs; o++) {
                fputc(',', stdout);
                put_csv_value(stdout, leadroute_result_output(result, h, o));
            }
            fputc('\n', stdout);
        }
        if (aggregates) {
            put_row_start(lead->id, "(aggregate)");
            for (size_t o = 0; o < outputs; o++) {
                fputc(',', stdout);
                put_csv_value(stdout, leadroute_result_aggregate(result, o));
            }
            fputc('\n', stdout);
        }
    }

    leadroute_result_free(result);
    leadroute_leads_free(leads);
    leadroute_table_unref(table);
    return finish_output(skipped ? EXIT_FINDINGS : EXIT_CLEAN);
}

/* ---- bench -------------------------------------------------------------- */

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmd_bench(int argc, char **argv)
{
    args a;
    leadroute_table *table = NULL;
    leadroute_leads *leads = NULL;
    int rc = open_command("bench", USAGE_BENCH, argc, argv, OPT_SECONDS, 1, &a, &table, &leads);
    if (rc >= 0)
        return rc;
    size_t skipped_rows = report_skipped_rows(leads);
    size_t n = leadroute_leads_count(leads);
    leadroute_result *result = NULL;
    if (n == 0) {
        fprintf(stderr, "leadroute bench: no leads to evaluate\n");
        leadroute_leads_free(leads);
        leadroute_table_unref(table);
        return EXIT_FAILURE_;
    }
    if (leadroute_result_new(&result, table, NULL) != LEADROUTE_OK) {
        report_library_error();
        leadroute_leads_free(leads);
        leadroute_table_unref(table);
        return EXIT_FAILURE_;
    }

    /* Rounds over all leads; the clock is read only between batches of at
     * least ~1000 evaluations so that reading it costs nothing measurable. */
    size_t per_batch = n >= 1000 ? 1 : (1000 + n - 1) / n;
    unsigned long long evals = 0, hits = 0, errors = 0;
    double start = now_seconds(), elapsed = 0.0;
    do {
        for (size_t round = 0; round < per_batch; round++) {
            for (size_t i = 0; i < n; i++) {
                if (leadroute_table_eval(table, leadroute_leads_get(leads, i), result) == LEADROUTE_OK)
                    hits += leadroute_result_count(result);
                else
                    errors++;
            }
        }
        evals += (unsigned long long)per_batch * n;
        elapsed = now_seconds() - start;
    } while (elapsed < a.seconds);

    printf("table:       %s (%zu rules, hit policy %s)\n", is_stdin(a.files[0]) ? "<stdin>" : a.files[0],
           leadroute_table_rule_count(table), hit_policy_name(leadroute_table_hit_policy(table)));
    printf("leads:       %zu (%zu rows skipped)\n", n, skipped_rows);
    printf("evaluations: %llu in %.3f s\n", evals, elapsed);
    printf("throughput:  %.0f evaluations/s, %.1f ns/evaluation\n", (double)evals / elapsed,
           elapsed * 1e9 / (double)evals);
    printf("hits:        %llu (%.2f per evaluation), %llu evaluation errors\n", hits,
           (double)hits / (double)evals, errors);

    leadroute_result_free(result);
    leadroute_leads_free(leads);
    leadroute_table_unref(table);
    return finish_output(EXIT_CLEAN);
}

/* ---- route -------------------------------------------------------------- */

static void put_csv_cell(const char *s)
{
    fputc(',', stdout);
    if (s)
        put_csv_field(stdout, s);
}

/* The decision as one line of JSON into *buf (grown as needed). */
static int explain_json(const leadroute_decision *d, char **buf, size_t *cap)
{
    size_t needed = 0;
    if (leadroute_decision_explain(d, LEADROUTE_EXPLAIN_JSON, *buf, *cap, &needed) != LEADROUTE_OK)
        return -1;
    if (needed < *cap)
        return 0;
    char *nb = realloc(*buf, needed + 1);
    if (!nb)
        return -1;
    *buf = nb;
    *cap = needed + 1;
    return leadroute_decision_explain(d, LEADROUTE_EXPLAIN_JSON, *buf, *cap, NULL) == LEADROUTE_OK ? 0 : -1;
}

/* ---- routing state ---------------------------------------------------------- */

/* The state file: a missing file is an empty state; NULL after reporting. */
static state_store *open_state(const char *path)
{
    char err[1024];
    state_store *store = state_store_new();
    if (!store) {
        fprintf(stderr, "leadroute: out of memory\n");
        return NULL;
    }
    if (state_store_load(store, path, err, sizeof err) != LEADROUTE_OK) {
        fprintf(stderr, "leadroute: %s\n", err);
        state_store_free(store);
        return NULL;
    }
    return store;
}

/* Write the state back (atomically: see state_store_save); 0 or reported. */
static int save_state(const state_store *store, const char *path)
{
    char err[1024];
    int rc = state_store_save(store, path, err, sizeof err);
    if (rc == LEADROUTE_OK)
        return 0;
    if (rc == LEADROUTE_ENOMEM)
        fprintf(stderr, "leadroute: out of memory writing %s\n", path);
    else
        fprintf(stderr, "leadroute: %s\n", err);
    return -1;
}

/* --now: the router reads this clock instead of the system's. */
static int64_t fixed_clock(void *user_data)
{
    return *(const int64_t *)user_data;
}

/* A router on `table` and `roster` for the options in `a`: the dedupe field,
 * with --state the file `store`, with --now a fixed clock (reading
 * a->now_ms, so `a` must outlive the router). NULL after reporting. */
static leadroute_router *open_router(const args *a, leadroute_table *table, leadroute_roster *roster,
                                     state_store *store)
{
    leadroute_router_options options = LEADROUTE_ROUTER_OPTIONS_INIT;
    leadroute_clock clock = { LEADROUTE_CLOCK_VERSION, fixed_clock };
    leadroute_router *router = NULL;
    options.dedupe_field = a->dedupe_field;
    if (leadroute_router_new(&router, table, roster, &options) != LEADROUTE_OK ||
        (store && leadroute_router_set_store(router, &state_store_methods, store) != LEADROUTE_OK) ||
        (a->has_now && leadroute_router_set_clock(router, &clock, (void *)&a->now_ms) != LEADROUTE_OK)) {
        report_library_error();
        leadroute_router_free(router);
        return NULL;
    }
    return router;
}

/* Checks the arguments and opens the three files; -1 when routing may go
 * on, else the exit status. */
static int open_route(const args *a, leadroute_table **table, leadroute_roster **roster, leadroute_leads **leads)
{
    if (!a->table)
        return usage_error("route", "%s", "expected --table TABLE");
    if (!a->reps)
        return usage_error("route", "%s", "expected --reps REPS.csv");
    if (a->nfiles < 1)
        return usage_error("route", "%s", "expected a LEADS.csv file");
    if (a->nfiles > 1)
        return usage_error("route", "unexpected argument '%s'", a->files[1]);
    if (a->dedupe_field && !a->dedupe_field[0])
        return usage_error("route", "%s", "--dedupe-field needs a field name");
    if (is_stdin(a->table) + is_stdin(a->reps) + is_stdin(a->files[0]) > 1)
        return usage_error("route", "%s", "only one of TABLE, REPS.csv and LEADS.csv can be '-'");
    if (!(*table = open_table(a->table)))
        return EXIT_FAILURE_;
    if (!(*roster = open_roster(a->reps))) {
        leadroute_table_unref(*table);
        return EXIT_FAILURE_;
    }
    if (!(*leads = open_leads(a->files[0], *table))) {
        leadroute_roster_unref(*roster);
        leadroute_table_unref(*table);
        return EXIT_FAILURE_;
    }
    return -1;
}

static int cmd_route(int argc, char **argv)
{
    args a;
    leadroute_table *table = NULL;
    leadroute_roster *roster = NULL;
    leadroute_leads *leads = NULL;
    int rc = parse_args("route", argc, argv, OPT_ROUTE | OPT_EXPLAIN | OPT_STATE, &a);
    if (rc)
        return rc;
    if (a.help) {
        fputs(USAGE_ROUTE, stdout);
        return finish_output(EXIT_CLEAN);
    }
    if ((rc = open_route(&a, &table, &roster, &leads)) >= 0)
        return rc;

    /* The router holds its own references; one decision serves every lead.
     * With --state, the state of earlier runs is read first. */
    leadroute_router *router = NULL;
    leadroute_decision *decision = NULL;
    state_store *store = NULL;
    int status = EXIT_CLEAN;
    if ((a.state && !(store = open_state(a.state))) || !(router = open_router(&a, table, roster, store)))
        status = EXIT_FAILURE_;
    else if (leadroute_decision_new(&decision, NULL) != LEADROUTE_OK) {
        report_library_error();
        status = EXIT_FAILURE_;
    }

    const char *leads_name = is_stdin(a.files[0]) ? "<stdin>" : a.files[0];
    size_t trouble = report_skipped_rows(leads);
    char *json = NULL;
    size_t json_cap = 0;
    size_t n = status == EXIT_CLEAN ? leadroute_leads_count(leads) : 0;
    uint32_t flags = a.explain ? LEADROUTE_ROUTE_TRACE : 0;
    if (status == EXIT_CLEAN)
        fputs(a.explain ? "id,status,rep,pool,rule,reason,trace\n" : "id,status,rep,pool,rule,reason\n", stdout);
    for (size_t i = 0; i < n; i++) {
        const leadroute_lead *lead = leadroute_leads_get(leads, i);
        rc = leadroute_route(router, lead, flags, decision);
        const char *reason = leadroute_decision_reason(decision);
        if (rc != LEADROUTE_OK) {
            /* the reason is the error message; the tool goes on with the next lead */
            fprintf(stderr, "%s:%u: lead %s: unrouted: %s\n", leads_name, (unsigned)leadroute_leads_line(leads, i),
                    lead->id, reason);
            trouble++;
        }
        put_csv_field(stdout, lead->id);
        put_csv_cell(leadroute_route_status_name(rc == LEADROUTE_OK ? leadroute_decision_status(decision)
                                                                    : LEADROUTE_ROUTE_UNROUTED));
        put_csv_cell(leadroute_decision_rep(decision));
        put_csv_cell(leadroute_decision_pool(decision));
        put_csv_cell(leadroute_decision_rule(decision));
        put_csv_cell(reason);
        if (a.explain) {
            if (explain_json(decision, &json, &json_cap) != 0) {
                fprintf(stderr, "leadroute route: out of memory explaining lead %s\n", lead->id);
                status = EXIT_FAILURE_;
                break;
            }
            put_csv_cell(json);
        }
        fputc('\n', stdout);
    }

    free(json);
    leadroute_decision_free(decision);
    /* Routed leads are claimed even if a later one failed: keep them. */
    if (store && router && save_state(store, a.state) != 0) {
        fprintf(stderr, "leadroute route: the state was not saved: later runs will not know these leads\n");
        status = EXIT_FAILURE_;
    }
    leadroute_router_free(router);
    state_store_free(store);
    leadroute_leads_free(leads);
    leadroute_roster_unref(roster);
    leadroute_table_unref(table);
    if (status == EXIT_CLEAN && trouble)
        status = EXIT_FINDINGS;
    return finish_output(status);
}

/* ---- tick ----------------------------------------------------------------- */

/* --table, --reps and --state are required by tick and ack; opens the
 * table, roster and state. -1 when the command may go on, else the exit
 * status. */
static int open_state_command(const char *command, const args *a, leadroute_table **table,
                              leadroute_roster **roster, state_store **store)
{
    if (!a->table)
        return usage_error(command, "%s", "expected --table TABLE");
    if (!a->reps)
        return usage_error(command, "%s", "expected --reps REPS.csv");
    if (!a->state)
        return usage_error(command, "%s", "expected --state FILE");
    if (a->dedupe_field && !a->dedupe_field[0])
        return usage_error(command, "%s", "--dedupe-field needs a field name");
    if (is_stdin(a->table) + is_stdin(a->reps) + (a->leads && is_stdin(a->leads)) > 1)
        return usage_error(command, "%s", "only one of the files can be '-'");
    if (!(*table = open_table(a->table)))
        return EXIT_FAILURE_;
    if (!(*roster = open_roster(a->reps))) {
        leadroute_table_unref(*table);
        return EXIT_FAILURE_;
    }
    if (!(*store = open_state(a->state))) {
        leadroute_roster_unref(*roster);
        leadroute_table_unref(*table);
        return EXIT_FAILURE_;
    }
    return -1;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

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
        if (!k)
            continue; /* no key: route could not have claimed it */
        while (is_space(*k))
            k++;
        size_t len = strlen(k);
        while (len && is_space(k[len - 1]))
            len--;
        if (!len)
            continue;
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
    state_store *store;
    due_lead *due;
    size_t ndue, cap;
    FILE *rows;  /* the CSV rows, shown once the state is saved */
} tick_run;

static int compare_due_key(const void *pa, const void *pb)
{
    return strcmp(((const due_lead *)pa)->key, ((const due_lead *)pb)->key);
}

/* list_due callback: remember each overdue lead's deadline and hops, for the
 * reason column (the store calls this before the tick changes anything). */
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

/* The key as the user knows it: the store's key without the "lead:" prefix. */
static const char *plain_key(const char *key)
{
    return strncmp(key, "lead:", 5) == 0 ? key + 5 : key;
}

/* notify callback during a tick: one CSV row per move. */
static int print_move(void *user_data, const leadroute_assignment *a)
{
    tick_run *t = user_data;
    due_lead probe = { (char *)a->key, 0, 0 };
    const due_lead *d = t->ndue ? bsearch(&probe, t->due, t->ndue, sizeof *t->due, compare_due_key) : NULL;
    /* The store recorded the committed assignment, escalation flag included. */
    leadroute_assignment rec;
    int escalated = a->escalated;
    if (state_store_get(t->store, a->key, &rec) == LEADROUTE_OK)
        escalated |= rec.escalated;

    char when[40] = "its deadline", reason[512];
    if (d)
        format_time(d->deadline_ms, when, sizeof when);
    if (escalated)
        snprintf(reason, sizeof reason, "not followed up by %s after %u reassignment%s; escalated to %s", when,
                 d ? d->hops : 0u, d && d->hops == 1 ? "" : "s", a->rep_id);
    else
        snprintf(reason, sizeof reason, "not followed up by %s; reassigned within pool %s", when,
                 a->pool_id ? a->pool_id : "-");
    const char *cells[] = { escalated ? "escalated" : "reassigned", a->previous, a->rep_id, a->pool_id, reason };
    put_csv_field(t->rows, plain_key(a->key));
    for (size_t i = 0; i < sizeof cells / sizeof *cells; i++) {
        fputc(',', t->rows);
        if (cells[i])
            put_csv_field(t->rows, cells[i]);
    }
    fputc('\n', t->rows);
    return LEADROUTE_OK;
}

static int cmd_tick(int argc, char **argv)
{
    args a;
    leadroute_table *table = NULL;
    leadroute_roster *roster = NULL;
    leadroute_leads *leads = NULL;
    state_store *store = NULL;
    int rc = parse_args("tick", argc, argv, OPT_ROUTE | OPT_STATE | OPT_LEADS, &a);
    if (rc)
        return rc;
    if (a.help) {
        fputs(USAGE_TICK, stdout);
        return finish_output(EXIT_CLEAN);
    }
    if (a.nfiles > 0)
        return usage_error("tick", "unexpected argument '%s'", a.files[0]);
    if ((rc = open_state_command("tick", &a, &table, &roster, &store)) >= 0)
        return rc;

    int status = EXIT_CLEAN;
    lead_index index = { NULL, 0 };
    tick_run run;
    char *rows = NULL;
    size_t rows_size = 0;
    memset(&run, 0, sizeof run);
    run.store = store;
    /* Moves are shown only once they are saved: a failed save shows none. */
    if (!(run.rows = open_memstream(&rows, &rows_size))) {
        fprintf(stderr, "leadroute: out of memory\n");
        status = EXIT_FAILURE_;
    }
    int64_t now = a.has_now ? a.now_ms : system_now_ms();
    leadroute_router *router = NULL;
    leadroute_notify notify = { LEADROUTE_NOTIFY_VERSION, print_move };
    if (a.leads) {
        if (!(leads = open_leads(a.leads, table)))
            status = EXIT_FAILURE_;
        else if (index_leads(&index, leads, a.dedupe_field) != 0) {
            fprintf(stderr, "leadroute: out of memory indexing %s\n", a.leads);
            status = EXIT_FAILURE_;
        } else
            report_skipped_rows(leads);
    }
    if (status == EXIT_CLEAN) {
        /* what is due now, before the tick moves it (for the reason column) */
        rc = state_store_methods.list_due(store, now, remember_due, &run);
        if (rc == LEADROUTE_OK && run.ndue)
            qsort(run.due, run.ndue, sizeof *run.due, compare_due_key);
        if (rc != LEADROUTE_OK) {
            fprintf(stderr, "leadroute: out of memory listing the leads due\n");
            status = EXIT_FAILURE_;
        }
    }
    if (status == EXIT_CLEAN && !(router = open_router(&a, table, roster, store)))
        status = EXIT_FAILURE_;
    if (status == EXIT_CLEAN && leadroute_router_set_notify(router, &notify, &run) != LEADROUTE_OK) {
        report_library_error();
        status = EXIT_FAILURE_;
    }
    if (status == EXIT_CLEAN) {
        leadroute_tick_stats stats = LEADROUTE_TICK_STATS_INIT;
        if (leadroute_router_tick(router, now, a.leads ? find_lead : NULL, &index, &stats) != LEADROUTE_OK) {
            report_library_error();
            status = EXIT_FAILURE_;
        } else {
            fprintf(stderr, "due %llu, reassigned %llu, escalated %llu, kept %llu, raced %llu\n",
                    (unsigned long long)stats.due, (unsigned long long)stats.reassigned,
                    (unsigned long long)stats.escalated, (unsigned long long)stats.kept,
                    (unsigned long long)stats.raced);
        }
        /* moves that were made stand, even after an error */
        if (fflush(run.rows) != 0) {
            fprintf(stderr, "leadroute: out of memory\n");
            status = EXIT_FAILURE_;
        } else if (save_state(store, a.state) != 0) {
            fprintf(stderr, "leadroute tick: the state was not saved, so no lead moved\n");
            status = EXIT_FAILURE_;
        } else {
            fputs("key,action,from,to,pool,reason\n", stdout);
            fwrite(rows, 1, rows_size, stdout);
        }
    }
    if (run.rows)
        fclose(run.rows);
    free(rows);

    leadroute_router_free(router);
    for (size_t i = 0; i < run.ndue; i++)
        free(run.due[i].key);
    free(run.due);
    free_index(&index);
    state_store_free(store);
    leadroute_leads_free(leads);
    leadroute_roster_unref(roster);
    leadroute_table_unref(table);
    return finish_output(status);
}

/* ---- ack ------------------------------------------------------------------ */

static int cmd_ack(int argc, char **argv)
{
    args a;
    leadroute_table *table = NULL;
    leadroute_roster *roster = NULL;
    state_store *store = NULL;
    int rc = parse_args("ack", argc, argv, OPT_ROUTE | OPT_STATE | OPT_KEYS, &a);
    if (rc || a.help) {
        free_args(&a);
        if (rc)
            return rc;
        fputs(USAGE_ACK, stdout);
        return finish_output(EXIT_CLEAN);
    }
    if (a.nkeys == 0) {
        free_args(&a);
        return usage_error("ack", "%s", "expected one or more KEYs");
    }
    if ((rc = open_state_command("ack", &a, &table, &roster, &store)) >= 0) {
        free_args(&a);
        return rc;
    }

    int status = EXIT_CLEAN;
    leadroute_router *router = open_router(&a, table, roster, store);
    if (!router)
        status = EXIT_FAILURE_;
    else
        fputs("key,status,rep\n", stdout);
    for (int i = 0; router && i < a.nkeys; i++) {
        const char *key = a.keys[i];
        /* the store's key for it: "lead:" and the key trimmed as the router does */
        while (is_space(*key))
            key++;
        size_t len = strlen(key);
        while (len && is_space(key[len - 1]))
            len--;
        char *stored = malloc(len + 6);
        if (!stored) {
            fprintf(stderr, "leadroute: out of memory\n");
            status = EXIT_FAILURE_;
            break;
        }
        snprintf(stored, len + 6, "lead:%.*s", (int)len, key);
        leadroute_assignment rec;
        const char *outcome;
        if (state_store_get(store, stored, &rec) == LEADROUTE_OK && rec.acknowledged_ms != 0) {
            outcome = "already acknowledged";
        } else if ((rc = leadroute_router_acknowledge(router, a.keys[i])) == LEADROUTE_OK) {
            outcome = "acknowledged";
        } else if (rc == LEADROUTE_EEXISTS) {
            outcome = "already acknowledged";
        } else if (rc == LEADROUTE_ENOTFOUND) {
            fprintf(stderr, "leadroute ack: %s\n", leadroute_error_last()->message);
            outcome = "not claimed";
            if (status == EXIT_CLEAN)
                status = EXIT_FINDINGS;
        } else {
            report_library_error();
            free(stored);
            status = EXIT_FAILURE_;
            break;
        }
        put_csv_field(stdout, stored + 5);
        put_csv_cell(outcome);
        put_csv_cell(state_store_get(store, stored, &rec) == LEADROUTE_OK ? rec.rep_id : NULL);
        fputc('\n', stdout);
        free(stored);
    }
    if (router && save_state(store, a.state) != 0)
        status = EXIT_FAILURE_;
    leadroute_router_free(router);
    state_store_free(store);
    leadroute_roster_unref(roster);
    leadroute_table_unref(table);
    free_args(&a);
    return finish_output(status);
}

/* ---- main --------------------------------------------------------------- */

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage_error(NULL, "%s", "missing command");
    const char *command = argv[1];
    if (strcmp(command, "--help") == 0 || strcmp(command, "-h") == 0 || strcmp(command, "help") == 0) {
        fputs(USAGE, stdout);
        return finish_output(EXIT_CLEAN);
    }
    if (strcmp(command, "--version") == 0) {
        printf("leadroute %s (libleadroute %s)\n", LEADROUTE_VERSION_STRING, leadroute_version_string());
        return finish_output(EXIT_CLEAN);
    }
    if (strcmp(command, "check") == 0)
        return cmd_check(argc - 2, argv + 2);
    if (strcmp(command, "eval") == 0)
        return cmd_eval(argc - 2, argv + 2);
    if (strcmp(command, "bench") == 0)
        return cmd_bench(argc - 2, argv + 2);
    if (strcmp(command, "route") == 0)
        return cmd_route(argc - 2, argv + 2);
    if (strcmp(command, "tick") == 0)
        return cmd_tick(argc - 2, argv + 2);
    if (strcmp(command, "ack") == 0)
        return cmd_ack(argc - 2, argv + 2);
    if (command[0] == '-')
        return usage_error(NULL, "unknown option '%s'", command);
    return usage_error(NULL, "unknown command '%s'", command);
}
