/*
 * What the subcommands share: arguments, messages, files, time, the state
 * database and the router built on it.
 * SPDX-License-Identifier: MIT
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* clock_gettime, fileno */
#endif
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

/* ---- messages -------------------------------------------------------------- */

int cli_usage_error(const char *command, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "leadroute%s%s: ", command ? " " : "", command ? command : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (try 'leadroute%s%s --help')\n", command ? " " : "", command ? command : "");
    return EXIT_TROUBLE;
}

void cli_report_library_error(void)
{
    const char *m = leadroute_error_last()->message;
    cli_progress_clear();
    fputs("leadroute: ", stderr);
    for (; *m; m++)
        fputc(*m == '\n' || *m == '\r' ? ' ' : *m, stderr);
    fputc('\n', stderr);
}

/* Set once a failed write to stdout was reported: it is reported once. */
static int output_failed;

int cli_flush_output(void)
{
    int earlier = errno; /* the reason of a write that failed just before, past the buffer */
    if (output_failed)
        return -1;
    errno = 0;
    if (fflush(stdout) == 0 && !ferror(stdout)) {
        errno = earlier;
        return 0;
    }
    int err = errno ? errno : earlier;
    fprintf(stderr, "leadroute: cannot write results: %s\n", err ? strerror(err) : "write error");
    output_failed = 1;
    return -1;
}

int cli_finish_output(int status)
{
    return cli_flush_output() == 0 ? status : EXIT_TROUBLE;
}

int cli_print_usage(const char *usage)
{
    fputs(usage, stdout);
    return cli_finish_output(EXIT_CLEAN);
}

const char *cli_plural(size_t n)
{
    return n == 1 ? "" : "s";
}

/* ---- arguments ------------------------------------------------------------- */

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
        cli_usage_error(command, "%s needs a value", name);
        return -1;
    }
    *value = argv[++*i];
    return 1;
}

static const char *const FORMAT_NAMES[] = { "", "text", "csv", "jsonl", "json" };

static int parse_format(const char *command, const char *value, unsigned formats, int *out)
{
    for (int f = FORMAT_TEXT; f <= FORMAT_JSON; f++) {
        if ((formats & (1u << f)) && strcmp(value, FORMAT_NAMES[f]) == 0) {
            *out = f;
            return 0;
        }
    }
    char list[64] = "";
    for (int f = FORMAT_TEXT; f <= FORMAT_JSON; f++) {
        if (formats & (1u << f)) {
            if (list[0])
                strcat(list, ", ");
            strcat(list, FORMAT_NAMES[f]);
        }
    }
    return cli_usage_error(command, "--format: '%s' is not one of %s", value, list);
}

/* A flag option ("--name"); 1 when it matches. */
static int flag(const char *arg, const char *name)
{
    return strcmp(arg, name) == 0;
}

int cli_parse_args(const char *command, int argc, char **argv, unsigned options, unsigned formats, cli_args *a)
{
    int options_done = 0, state_given = 0;
    memset(a, 0, sizeof *a);
    a->seconds = 2.0;
    a->progress = -1;
    a->batch = 500;
    a->state = CLI_DEFAULT_STATE;
    a->value_field = "deal_value";
    if ((options & OPT_KEYS) && argc > 0 && !(a->keys = malloc((size_t)argc * sizeof *a->keys))) {
        fprintf(stderr, "leadroute: out of memory\n");
        return EXIT_TROUBLE;
    }
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = NULL;
        int rc = 0;
        if (options_done || arg[0] != '-' || arg[1] == '\0') {
            if (options & OPT_KEYS)
                a->keys[a->nkeys++] = arg;
            else if ((size_t)a->nfiles++ < sizeof a->files / sizeof *a->files)
                a->files[a->nfiles - 1] = arg;
            continue;
        }
        if (flag(arg, "--")) {
            options_done = 1;
            continue;
        }
        if (flag(arg, "--help") || flag(arg, "-h")) {
            a->help = 1;
            return 0;
        }
        if ((options & OPT_EXPLAIN) && flag(arg, "--explain")) {
            a->explain = 1;
            continue;
        }
        if ((options & OPT_STATE) && flag(arg, "--no-state")) {
            a->no_state = 1;
            continue;
        }
        if ((options & OPT_PROGRESS) && (flag(arg, "--progress") || flag(arg, "--no-progress"))) {
            a->progress = flag(arg, "--progress");
            continue;
        }
        if ((options & OPT_ROUTE) &&
            ((rc = option_value(command, "--table", argc, argv, &i, &a->table)) != 0 ||
             (rc = option_value(command, "--reps", argc, argv, &i, &a->reps)) != 0 ||
             (rc = option_value(command, "--dedupe-field", argc, argv, &i, &a->dedupe_field)) != 0)) {
            if (rc < 0)
                return EXIT_TROUBLE;
            continue;
        }
        if ((options & OPT_STATE) && (rc = option_value(command, "--state", argc, argv, &i, &a->state)) != 0) {
            if (rc < 0)
                return EXIT_TROUBLE;
            if (!a->state[0] || cli_is_stdin(a->state))
                return cli_usage_error(command, "%s",
                                       "--state needs a file name or a PostgreSQL connection string "
                                       "(not '-': it is written)");
            state_given = 1;
            continue;
        }
        if ((options & OPT_STATE) && (rc = option_value(command, "--now", argc, argv, &i, &value)) != 0) {
            if (rc < 0)
                return EXIT_TROUBLE;
            if (cli_parse_time(value, &a->now_ms) != 0)
                return cli_usage_error(command,
                                       "--now: '%s' is not a time (expected ISO 8601 UTC such as "
                                       "2026-11-24T09:30:00Z, or milliseconds since the epoch)",
                                       value);
            a->has_now = 1;
            continue;
        }
        if ((options & OPT_LEADS) && (rc = option_value(command, "--leads", argc, argv, &i, &a->leads)) != 0) {
            if (rc < 0)
                return EXIT_TROUBLE;
            continue;
        }
        if ((options & OPT_HTML) && (rc = option_value(command, "--html", argc, argv, &i, &a->html)) != 0) {
            if (rc < 0)
                return EXIT_TROUBLE;
            if (!a->html[0])
                return cli_usage_error(command, "%s", "--html needs a file name");
            continue;
        }
        if ((options & OPT_VALUE_FIELD) &&
            (rc = option_value(command, "--value-field", argc, argv, &i, &a->value_field)) != 0) {
            if (rc < 0)
                return EXIT_TROUBLE;
            if (!a->value_field[0])
                return cli_usage_error(command, "%s", "--value-field needs a field name");
            continue;
        }
        if ((options & OPT_FORMAT) && (rc = option_value(command, "--format", argc, argv, &i, &value)) != 0) {
            if (rc < 0 || parse_format(command, value, formats, &a->format) != 0)
                return EXIT_TROUBLE;
            continue;
        }
        if ((options & OPT_BATCH) && (rc = option_value(command, "--batch", argc, argv, &i, &value)) != 0) {
            char *end;
            if (rc < 0)
                return EXIT_TROUBLE;
            errno = 0;
            unsigned long n = strtoul(value, &end, 10);
            /* digits only: strtoul also skips leading blanks and reads a sign */
            if (errno || end == value || *end != '\0' || !isdigit((unsigned char)value[0]) || n < 1 || n > 100000)
                return cli_usage_error(command, "--batch: '%s' is not a number of leads (1 to 100000)", value);
            a->batch = (unsigned)n;
            continue;
        }
        if ((options & OPT_SECONDS) && (rc = option_value(command, "--seconds", argc, argv, &i, &value)) != 0) {
            char *end;
            if (rc < 0)
                return EXIT_TROUBLE;
            errno = 0;
            double s = strtod(value, &end);
            /* decimal only: strtod also reads hexadecimal (0x10 is 16), "inf" and "nan" */
            if (errno || end == value || *end != '\0' || strpbrk(value, "xXnN") || isspace((unsigned char)value[0]) ||
                !(s > 0.0) || s > 86400.0)
                return cli_usage_error(command, "--seconds: '%s' is not a number of seconds (0 < S <= 86400)",
                                       value);
            a->seconds = s;
            continue;
        }
        return cli_usage_error(command, "unknown option '%s'", arg);
    }
    if (a->no_state && state_given)
        return cli_usage_error(command, "%s", "--state and --no-state: give one of them");
    return 0;
}

void cli_args_free(cli_args *a)
{
    free(a->keys);
    a->keys = NULL;
}

/* ---- files ----------------------------------------------------------------- */

int cli_is_stdin(const char *path)
{
    return strcmp(path, "-") == 0;
}

/* stat() of a path, or fstat() of standard input for '-'. */
static int stat_path(const char *path, struct stat *st)
{
    return cli_is_stdin(path) ? fstat(0, st) : stat(path, st);
}

int cli_same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (stat_path(a, &sa) != 0 || stat_path(b, &sb) != 0)
        return 0;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int cli_is_stdout(const char *path)
{
    struct stat sp, so;
    /* a terminal or /dev/null takes both, as a file or a pipe would not */
    return stat(path, &sp) == 0 && fstat(1, &so) == 0 && (S_ISREG(so.st_mode) || S_ISFIFO(so.st_mode)) &&
           sp.st_dev == so.st_dev && sp.st_ino == so.st_ino;
}

int cli_is_sqlite_file(const char *path)
{
    static const char magic[16] = "SQLite format 3"; /* and its NUL */
    char head[16];
    struct stat st;
    FILE *f;
    /* only a regular file: opening a FIFO or a terminal would wait for it */
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    f = fopen(path, "rb");
    size_t got = f ? fread(head, 1, sizeof head, f) : 0;
    if (f)
        fclose(f);
    return got == sizeof head && memcmp(head, magic, sizeof head) == 0;
}

const char *cli_display_name(const char *path)
{
    return cli_is_stdin(path) ? "<stdin>" : path;
}

size_t cli_escaped_len(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    return *u < 0x20 || *u == 0x7f                                          ? 1
           : *u == 0xc2 && u[1] >= 0x80 && u[1] <= 0x9f                     ? 2
           : *u == 0xe2 && u[1] == 0x80 && (u[2] == 0xa8 || u[2] == 0xa9) ? 3
                                                                          : 0;
}

const char *cli_shown(const char *s, char *buf)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = 0;
    while (*u) {
        size_t k = cli_escaped_len((const char *)u);
        /* room for what this character takes, and the NUL */
        if (n + (k ? 4 * k : 1) + 1 > CLI_SHOWN_SIZE)
            break;
        if (!k) {
            buf[n++] = (char)*u++;
            continue;
        }
        for (; k; k--)
            n += (size_t)snprintf(buf + n, CLI_SHOWN_SIZE - n, "\\x%02x", *u++);
    }
    buf[n] = 0;
    return buf;
}

/* "larger than 256 MiB" for CLI_MAX_INPUT. */
#define MAX_INPUT_MIB ((unsigned)(CLI_MAX_INPUT >> 20))

/* Read a whole input file ('-': standard input) into a malloc'ed buffer,
 * refusing more than CLI_MAX_INPUT bytes: a file that is too large, or that
 * never ends (/dev/zero, a pipe that keeps writing), must not take all of
 * memory before the tool says anything. -1 after a message. */
static int read_input(const char *path, char **out, size_t *out_len)
{
    const char *name = cli_display_name(path);
    FILE *f = cli_is_stdin(path) ? stdin : fopen(path, "rb");
    struct stat info;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = -1;

    if (!f) {
        fprintf(stderr, "leadroute: %s: cannot open: %s\n", name, strerror(errno));
        return -1;
    }
    /* a regular file says its size: no need to read 256 MiB to refuse it */
    if (fstat(fileno(f), &info) == 0 && S_ISREG(info.st_mode) && (uintmax_t)info.st_size > CLI_MAX_INPUT) {
        fprintf(stderr, "leadroute: %s: larger than %u MiB, the most leadroute reads from one file\n", name,
                MAX_INPUT_MIB);
        goto done;
    }
    for (;;) {
        if (len == cap) {
            if (cap > CLI_MAX_INPUT) { /* one byte past the limit was read */
                fprintf(stderr, "leadroute: %s: larger than %u MiB, the most leadroute reads from one file\n",
                        name, MAX_INPUT_MIB);
                goto done;
            }
            size_t ncap = cap ? cap * 2 : 64 * 1024;
            if (ncap > CLI_MAX_INPUT)
                ncap = CLI_MAX_INPUT + 1;
            char *nb = realloc(buf, ncap);
            if (!nb) {
                fprintf(stderr, "leadroute: out of memory reading %s\n", name);
                goto done;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        fprintf(stderr, "leadroute: %s: cannot read: %s\n", name, strerror(errno));
        goto done;
    }
    *out = buf;
    *out_len = len;
    buf = NULL;
    rc = 0;
done:
    free(buf);
    if (f != stdin)
        fclose(f);
    return rc;
}

/* What the three openers share: the file read whole (or standard input),
 * then parsed under its name ("<stdin>" for '-'). */
typedef int (*parse_fn)(void *out, const char *text, size_t len, const char *name, const void *ctx);

static int open_any(const char *path, void *out, parse_fn parse, const void *ctx)
{
    char *text = NULL;
    size_t len = 0;
    if (read_input(path, &text, &len) < 0)
        return -1;
    int rc = parse(out, text, len, cli_display_name(path), ctx);
    free(text);
    if (rc != LEADROUTE_OK) {
        cli_report_library_error();
        return -1;
    }
    return 0;
}

static int parse_table(void *out, const char *text, size_t len, const char *name, const void *ctx)
{
    (void)ctx;
    return leadroute_table_parse(out, text, len, name, NULL);
}
static int parse_leads(void *out, const char *text, size_t len, const char *name, const void *ctx)
{
    return leadroute_leads_parse(out, text, len, name, ctx, NULL);
}
static int parse_roster(void *out, const char *text, size_t len, const char *name, const void *ctx)
{
    (void)ctx;
    return leadroute_roster_parse(out, text, len, name, NULL);
}

leadroute_table *cli_open_table(const char *path)
{
    leadroute_table *table = NULL;
    return open_any(path, &table, parse_table, NULL) == 0 ? table : NULL;
}

/* Passing the table makes its set columns sets and its field names shared. */
/* Does some lead hold a field of this name? */
static int leads_have_field(const leadroute_leads *leads, const char *name, int ignore_case)
{
    size_t n = leadroute_leads_count(leads);
    for (size_t i = 0; i < n; i++) {
        const leadroute_lead *lead = leadroute_leads_get(leads, i);
        for (size_t f = 0; f < lead->field_count; f++) {
            const char *have = lead->fields[f].name;
            if (ignore_case ? strcasecmp(have, name) == 0 : strcmp(have, name) == 0)
                return 1;
        }
    }
    return 0;
}

/* A table input no column of the file gives is most often a misspelt or
 * differently cased header: say so rather than let every lead miss it. */
static void report_missing_inputs(const char *path, const leadroute_leads *leads, const leadroute_table *table)
{
    size_t inputs = leadroute_table_input_count(table);
    if (leadroute_leads_count(leads) == 0)
        return;
    for (size_t c = 0; c < inputs; c++) {
        const char *name = leadroute_table_input_name(table, c);
        if (leads_have_field(leads, name, 0))
            continue;
        fprintf(stderr, "%s: no lead gives '%s', which the table reads: every lead misses it%s\n",
                cli_display_name(path), name,
                leads_have_field(leads, name, 1) ? " (a column differs only in case: names are compared exactly)"
                                                 : "");
    }
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

const char *cli_trimmed(const char *s, size_t *len)
{
    while (is_space(*s))
        s++;
    size_t n = strlen(s);
    while (n && is_space(s[n - 1]))
        n--;
    *len = n;
    return s;
}

int cli_check_dedupe_field(const char *command, const char *path, const leadroute_leads *leads, const char *field)
{
    /* a name no lead field can have is the router's to refuse, with its reason */
    if (!field || strlen(field) > LEADROUTE_MAX_NAME || !leadroute_utf8_valid(field, strlen(field)) ||
        leadroute_leads_count(leads) == 0 || leads_have_field(leads, field, 0))
        return EXIT_CLEAN;
    fprintf(stderr, "leadroute %s: %s: no lead gives '%s', the --dedupe-field: every lead would be unrouted%s\n",
            command, cli_display_name(path), field,
            leads_have_field(leads, field, 1) ? " (a column differs only in case: names are compared exactly)" : "");
    return EXIT_TROUBLE;
}

leadroute_leads *cli_open_leads(const char *path, const leadroute_table *table)
{
    leadroute_leads *leads = NULL;
    if (open_any(path, &leads, parse_leads, table) != 0)
        return NULL;
    if (table)
        report_missing_inputs(path, leads, table);
    return leads;
}

leadroute_roster *cli_open_roster(const char *path)
{
    leadroute_roster *roster = NULL;
    return open_any(path, &roster, parse_roster, NULL) == 0 ? roster : NULL;
}

/* ---- outputs a table seems to lack ------------------------------------------ */

void cli_report_output_hints(const char *table_path, const leadroute_table *table)
{
    /* the outputs the router reads (docs/router.md, step 4) */
    static const char *const routed[] = { "owner", "pool", "queue", "status", "sla_minutes", "tags" };
    size_t inputs = leadroute_table_input_count(table), hinted = 0;
    for (size_t c = 0; c < inputs; c++) {
        const char *name = leadroute_table_input_name(table, c);
        for (size_t k = 0; k < sizeof routed / sizeof *routed; k++) {
            if (strcmp(name, routed[k]) != 0 || leadroute_table_output_index(table, name) >= 0)
                continue;
            fprintf(stderr, "%s: column '%s' is an input, read from the lead; an output the rules give is written "
                            "'out:%s'\n",
                    cli_display_name(table_path), name, name);
            hinted++;
        }
    }
    if (!hinted && leadroute_table_output_count(table) == 0)
        fprintf(stderr, "%s: the table has no output column (a header cell such as 'out:pool'): a hit gives "
                        "nothing\n",
                cli_display_name(table_path));
}

/* ---- pools the table and the roster disagree on ----------------------------- */

/* A rule naming a pool (rep 0) or an owner (rep 1) the roster lacks. */
typedef struct named_index {
    const char *id;
    size_t index;
    int rep;
} named_index;

static int named_index_cmp(const void *a, const void *b)
{
    const named_index *x = a, *y = b;
    int c = x->rep != y->rep ? x->rep - y->rep : strcmp(x->id, y->id);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* Index of pool (or rep) `id` in the roster, or SIZE_MAX: both come in
 * id order (strcmp's), so a binary search finds it. */
static size_t roster_index(const leadroute_roster *roster, const char *id, int rep)
{
    size_t lo = 0, hi = rep ? leadroute_roster_rep_count(roster) : leadroute_roster_pool_count(roster);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(rep ? leadroute_roster_rep_id(roster, mid) : leadroute_roster_pool_id(roster, mid), id);
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return SIZE_MAX;
}

size_t cli_roster_rep_index(const leadroute_roster *roster, const char *id)
{
    return roster_index(roster, id, 1);
}

size_t cli_roster_pool_index(const leadroute_roster *roster, const char *id)
{
    return roster_index(roster, id, 0);
}

enum { ROSTER_NOTES_SHOWN = 10 };

void cli_report_roster_mismatches(const char *table_path, const char *reps_path, const leadroute_table *table,
                                  const leadroute_roster *roster)
{
    int out = leadroute_table_output_index(table, "pool"), owner_out = leadroute_table_output_index(table, "owner");
    size_t npools = leadroute_roster_pool_count(roster);
    size_t nrules = leadroute_table_rule_count(table), nunknown = 0, shown = 0, i;
    named_index *unknown = calloc(nrules ? 2 * nrules : 1, sizeof *unknown);
    size_t *todo = calloc(npools ? npools : 1, sizeof *todo), ntodo = 0;
    unsigned char *reached = calloc(npools ? npools : 1, 1);
    if (!unknown || !todo || !reached) { /* the notes are advice: without memory, none */
        free(unknown), free(todo), free(reached);
        return;
    }

    /* the pools the rules name: known ones start the walk, others are noted;
     * and the owners they name that are not reps */
    for (i = 0; i < nrules; i++) {
        const leadroute_value *v = out >= 0 ? leadroute_table_rule_output(table, i, (size_t)out) : NULL;
        const leadroute_value *o = owner_out >= 0 ? leadroute_table_rule_output(table, i, (size_t)owner_out) : NULL;
        if (o && o->type == LEADROUTE_VALUE_STRING && o->string[0] &&
            roster_index(roster, o->string, 1) == SIZE_MAX)
            unknown[nunknown++] = (named_index){ o->string, i, 1 };
        if (!v || v->type != LEADROUTE_VALUE_STRING || !v->string[0])
            continue;
        size_t p = roster_index(roster, v->string, 0);
        if (p == SIZE_MAX)
            unknown[nunknown++] = (named_index){ v->string, i, 0 };
        else if (!reached[p])
            reached[p] = 1, todo[ntodo++] = p;
    }
    /* then every fallback and escalation pool from there */
    while (ntodo) {
        leadroute_pool pool;
        size_t p = todo[--ntodo];
        leadroute_pool_init(&pool, LEADROUTE_POOL_VERSION);
        if (leadroute_roster_pool(roster, p, &pool) != LEADROUTE_OK)
            continue;
        const char *next[2] = { pool.fallback, pool.escalation_pool };
        for (int k = 0; k < 2; k++) {
            size_t q = next[k] ? roster_index(roster, next[k], 0) : SIZE_MAX;
            if (q != SIZE_MAX && !reached[q])
                reached[q] = 1, todo[ntodo++] = q;
        }
    }

    /* one line per name, at its first rule (the order keeps rule order within a name) */
    qsort(unknown, nunknown, sizeof *unknown, named_index_cmp);
    for (i = 0; i < nunknown; i++) {
        size_t rules = 1;
        while (i + rules < nunknown && unknown[i + rules].rep == unknown[i].rep &&
               strcmp(unknown[i + rules].id, unknown[i].id) == 0)
            rules++;
        const char *rule = leadroute_table_rule_id(table, unknown[i].index), *more = rules > 1 ? " (and others)" : "";
        if (shown++ >= ROSTER_NOTES_SHOWN) {
            /* counted only */
        } else if (unknown[i].rep) {
            fprintf(stderr, "%s: rule %s%s names owner '%s', who is not a rep in %s: leads it matches go to the "
                            "rule's pool or queue, else stay unassigned\n",
                    cli_display_name(table_path), rule, more, unknown[i].id, cli_display_name(reps_path));
        } else {
            fprintf(stderr, "%s: rule %s%s names pool '%s', which %s does not define: leads it matches are unrouted\n",
                    cli_display_name(table_path), rule, more, unknown[i].id, cli_display_name(reps_path));
        }
        i += rules - 1;
    }
    for (i = 0; i < npools; i++) {
        if (!reached[i] && shown++ < ROSTER_NOTES_SHOWN)
            fprintf(stderr, "%s: no rule of %s names pool '%s', nor does a fallback or escalation: its reps get no "
                            "leads through it\n",
                    cli_display_name(reps_path), cli_display_name(table_path), leadroute_roster_pool_id(roster, i));
    }
    if (shown > ROSTER_NOTES_SHOWN)
        fprintf(stderr, "... and %zu more such notes about pools and owners\n", shown - ROSTER_NOTES_SHOWN);
    free(unknown), free(todo), free(reached);
}

size_t cli_report_skipped_rows(const leadroute_leads *leads)
{
    cli_skipped_rows rows = { leads, 0 };
    cli_report_skipped_before(&rows, UINT32_MAX);
    return leadroute_leads_error_count(leads);
}

void cli_report_skipped_before(cli_skipped_rows *rows, uint32_t line)
{
    size_t n = leadroute_leads_error_count(rows->leads);
    for (; rows->next < n && (line == UINT32_MAX || leadroute_leads_error_line(rows->leads, rows->next) < line);
         rows->next++) {
        cli_progress_clear();
        fprintf(stderr, "%s (row skipped)\n", leadroute_leads_error(rows->leads, rows->next));
    }
}

/* ---- time ------------------------------------------------------------------ */

/* Days since 1970-01-01 of a date in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;                                   /* [0, 399] */
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
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

int cli_parse_time(const char *s, int64_t *out)
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

void cli_format_time(int64_t ms, char *buf, size_t size)
{
    /* floor division, with no negation that INT64_MIN would overflow */
    int64_t day = ms / 86400000, rest = ms % 86400000, y;
    if (rest < 0)
        rest += 86400000, day--;
    int m, d;
    civil_from_days(day, &y, &m, &d);
    int h = (int)(rest / 3600000), mi = (int)(rest / 60000 % 60), sec = (int)(rest / 1000 % 60);
    int frac = (int)(rest % 1000);
    char year[24];
    /* a year outside 0000-9999 in ISO 8601's expanded form, as the library writes it */
    if (y >= 0 && y <= 9999)
        snprintf(year, sizeof year, "%04lld", (long long)y);
    else
        snprintf(year, sizeof year, "%c%06lld", y < 0 ? '-' : '+', (long long)(y < 0 ? -y : y));
    if (frac)
        snprintf(buf, size, "%s-%02d-%02dT%02d:%02d:%02d.%03dZ", year, m, d, h, mi, sec, frac);
    else
        snprintf(buf, size, "%s-%02d-%02dT%02d:%02d:%02dZ", year, m, d, h, mi, sec);
}

int64_t cli_system_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double cli_monotonic_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- state and router -------------------------------------------------------- */

/* --now: the router reads this clock instead of the system's. */
static int64_t fixed_clock(void *user_data)
{
    return *(const int64_t *)user_data;
}

leadroute_router *cli_open_router(const cli_args *a, leadroute_table *table, leadroute_roster *roster,
                                  cli_state *state)
{
    leadroute_router_options options = LEADROUTE_ROUTER_OPTIONS_INIT;
    leadroute_clock clock = { LEADROUTE_CLOCK_VERSION, fixed_clock };
    leadroute_router *router = NULL;
    options.dedupe_field = a->dedupe_field;
    if (leadroute_router_new(&router, table, roster, &options) != LEADROUTE_OK ||
        (state && cli_state_attach(state, router) != LEADROUTE_OK) ||
        (a->has_now && leadroute_router_set_clock(router, &clock, (void *)&a->now_ms) != LEADROUTE_OK)) {
        cli_report_library_error();
        leadroute_router_free(router);
        return NULL;
    }
    return router;
}

void cli_session_close(cli_session *s)
{
    /* the router first: it holds references to the table and roster and calls the store */
    leadroute_decision_free(s->decision);
    leadroute_router_free(s->router);
    cli_state_close(s->state);
    leadroute_leads_free(s->leads);
    leadroute_roster_unref(s->roster);
    leadroute_table_unref(s->table);
    memset(s, 0, sizeof *s);
}

const char *cli_plain_key(const char *key)
{
    return strncmp(key, "lead:", 5) == 0 ? key + 5 : key;
}

int cli_explain(const leadroute_decision *d, int format, char **buf, size_t *cap)
{
    size_t needed = 0;
    if (leadroute_decision_explain(d, format, *buf, *cap, &needed) != LEADROUTE_OK)
        return -1;
    if (needed < *cap)
        return 0;
    char *nb = realloc(*buf, needed + 1);
    if (!nb)
        return -1;
    *buf = nb;
    *cap = needed + 1;
    return leadroute_decision_explain(d, format, *buf, *cap, NULL) == LEADROUTE_OK ? 0 : -1;
}
