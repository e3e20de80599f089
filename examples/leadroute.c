/*
 * leadroute: command-line front end to libleadroute.
 *
 *   leadroute check TABLE                 lint a decision table
 *   leadroute eval TABLE LEADS.csv        route leads, CSV on stdout
 *   leadroute bench TABLE LEADS.csv       evaluations per second
 *
 * Uses only the public API (<leadroute/leadroute.h>), so it doubles as an
 * example of loading a table, reading leads and evaluating them.
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
    EXIT_FINDINGS = 1, /* check: lint findings; eval: some leads skipped */
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
    "\n"
    "'-' as a file name reads standard input (for one of the two files).\n"
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

typedef struct args {
    const char *files[2];
    int nfiles;
    double seconds;
    int help;
} args;

/* Shared by the subcommands: positional files, --help, and for bench --seconds. */
static int parse_args(const char *command, int argc, char **argv, int allow_seconds, args *a)
{
    int options_done = 0;
    memset(a, 0, sizeof *a);
    a->seconds = 2.0;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (!options_done && arg[0] == '-' && arg[1] != '\0') {
            if (strcmp(arg, "--") == 0) {
                options_done = 1;
                continue;
            }
            if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
                a->help = 1;
                return 0;
            }
            if (allow_seconds && strncmp(arg, "--seconds", 9) == 0 && (arg[9] == '\0' || arg[9] == '=')) {
                const char *value = arg[9] == '=' ? arg + 10 : NULL;
                if (!value) {
                    if (i + 1 >= argc)
                        return usage_error(command, "%s needs a value", "--seconds");
                    value = argv[++i];
                }
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

/* The start every command shares: options, --help, the files it needs, the
 * table, and (when `with_leads`) the leads read for it. Returns -1 when the
 * command may go on, else the exit status to return. */
static int open_command(const char *command, const char *usage, int argc, char **argv, int allow_seconds,
                        int with_leads, args *a, leadroute_table **table, leadroute_leads **leads)
{
    int rc = parse_args(command, argc, argv, allow_seconds, a);
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
    int rc = open_command("bench", USAGE_BENCH, argc, argv, 1, 1, &a, &table, &leads);
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
    if (command[0] == '-')
        return usage_error(NULL, "unknown option '%s'", command);
    return usage_error(NULL, "unknown command '%s'", command);
}
