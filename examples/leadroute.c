/*
 * leadroute: command-line front end to libleadroute.
 *
 *   leadroute check TABLE                 lint a decision table
 *   leadroute eval TABLE LEADS.csv        route leads, CSV on stdout
 *   leadroute bench TABLE LEADS.csv       evaluations per second
 *   leadroute route --table TABLE --reps REPS.csv LEADS.csv
 *                                         assign leads to reps, CSV on stdout
 *
 * Uses only the public API (<leadroute/leadroute.h>), so it doubles as an
 * example of loading a table, reading leads, evaluating and routing them.
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
    "                       [--dedupe-field FIELD]\n"
    "\n"
    "Route every lead of LEADS.csv, in file order: evaluate TABLE (its outputs\n"
    "owner, pool, queue, status, sla_minutes and tags drive the router), walk the\n"
    "pools of REPS.csv, pick a rep with each pool's strategy and claim the lead\n"
    "(docs/router.md). Claims, rotation and open leads live in memory for the\n"
    "run, so earlier leads count for later ones. CSV on stdout:\n"
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
    "\n"
    "Rows of LEADS.csv that cannot be read are reported on stderr and skipped. A\n"
    "lead that cannot be routed (a bad value, no dedupe key, a pool the roster\n"
    "lacks) gets a row with status unrouted and is reported on stderr too.\n"
    "\n"
    "exit status: 0 all leads routed, 1 some unrouted or skipped, 2 bad usage or a\n"
    "file could not be read\n";

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
enum { OPT_SECONDS = 1, OPT_ROUTE = 2 };

typedef struct args {
    const char *files[2];
    int nfiles;
    double seconds;
    const char *table, *reps, *dedupe_field; /* route */
    int explain;                             /* route */
    int help;
} args;

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
            if ((options & OPT_ROUTE) && strcmp(arg, "--explain") == 0) {
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
    int rc = parse_args("route", argc, argv, OPT_ROUTE, &a);
    if (rc)
        return rc;
    if (a.help) {
        fputs(USAGE_ROUTE, stdout);
        return finish_output(EXIT_CLEAN);
    }
    if ((rc = open_route(&a, &table, &roster, &leads)) >= 0)
        return rc;

    /* The router holds its own references; one decision serves every lead. */
    leadroute_router_options options = LEADROUTE_ROUTER_OPTIONS_INIT;
    leadroute_router *router = NULL;
    leadroute_decision *decision = NULL;
    options.dedupe_field = a.dedupe_field;
    int status = EXIT_CLEAN;
    if (leadroute_router_new(&router, table, roster, &options) != LEADROUTE_OK ||
        leadroute_decision_new(&decision, NULL) != LEADROUTE_OK) {
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
    leadroute_router_free(router);
    leadroute_leads_free(leads);
    leadroute_roster_unref(roster);
    leadroute_table_unref(table);
    if (status == EXIT_CLEAN && trouble)
        status = EXIT_FINDINGS;
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
    if (command[0] == '-')
        return usage_error(NULL, "unknown option '%s'", command);
    return usage_error(NULL, "unknown command '%s'", command);
}
