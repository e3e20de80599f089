/*
 * check, eval and bench: the decision table on its own.
 * SPDX-License-Identifier: MIT
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char USAGE_CHECK[] =
    "usage: leadroute check TABLE [--format text|csv|jsonl]\n"
    "\n"
    "Parse and compile TABLE, print each lint finding (with an example lead\n"
    "when there is one) and a one-line summary. With --format csv or jsonl, one\n"
    "record per finding:\n"
    "  kind,rule,line,other_rule,other_line,example,message\n"
    "kind is shadowed, overlap, no_match, unlisted_priority, no_match_undecided,\n"
    "shadowed_undecided, overlap_undecided or truncated. The last four are\n"
    "notices, not findings: lint reached a bound, or could not name a value for\n"
    "some values of a column, before it could tell whether some lead matches no\n"
    "rule, whether some rules can fire, or whether some rules overlap earlier\n"
    "ones; truncated, always last, counts the findings past the 1000 lint keeps.\n"
    "On stderr, a note for an input column named as an output the router reads\n"
    "(pool, owner, queue, status, sla_minutes, tags: 'out:' forgotten?), or for\n"
    "a table without outputs; notes do not change the exit status.\n"
    "\n"
    "exit status: 0 clean (notices alone included), 1 lint findings, 2 bad usage,\n"
    "the table could not be read, or the output could not be written\n";

static const char USAGE_EVAL[] =
    "usage: leadroute eval TABLE LEADS.csv [--format csv|jsonl]\n"
    "\n"
    "Evaluate every lead of LEADS.csv against TABLE and write one record per\n"
    "hit to stdout (CSV by default, or JSON lines):\n"
    "  id,rule,<output columns>\n"
    "several per lead for rule order, output order and collect; an empty rule\n"
    "when nothing matched, and for collect with an aggregation one more record\n"
    "per lead with rule '(aggregate)'.\n"
    "\n"
    "LEADS.csv has a header row of field names; the column 'id' (else the\n"
    "first) is the lead id; a 'name:set' column holds ';'-separated items.\n"
    "A table input that no column of LEADS.csv gives is reported (every lead\n"
    "misses it). An output column named id or rule is written as out:id or\n"
    "out:rule.\n"
    "Rows that cannot be read, and leads whose evaluation fails, are reported\n"
    "on stderr with their line and skipped.\n"
    "\n"
    "exit status: 0 all leads evaluated, 1 some skipped, 2 bad usage, a file could\n"
    "not be read, or the output could not be written\n";

static const char USAGE_BENCH[] =
    "usage: leadroute bench TABLE LEADS.csv [--seconds S] [--format text|csv|jsonl]\n"
    "\n"
    "Load the leads, then evaluate them round after round for about S seconds\n"
    "(default 2) and report evaluations per second and nanoseconds per\n"
    "evaluation. --format csv or jsonl gives one record:\n"
    "  table,rules,leads,evaluations,seconds,per_second,ns_per_evaluation,hits,errors\n"
    "Rows that cannot be read are reported and left out; a lead whose evaluation\n"
    "fails is counted in errors and the first one is reported on stderr.\n"
    "\n"
    "exit status: 0 every lead read and evaluated, 1 rows skipped or evaluations\n"
    "failed, 2 bad usage, a file could not be read, or it held no lead to\n"
    "evaluate (nothing to measure)\n";

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

/* The start check, eval and bench share: arguments, --help, the files, the
 * table, and (when `with_leads`) the leads read for it. Returns -1 when the
 * command may go on, else the exit status to return. */
static int open_command(const char *command, const char *usage, int argc, char **argv, unsigned options,
                        unsigned formats, int with_leads, cli_args *a, leadroute_table **table,
                        leadroute_leads **leads)
{
    int want = with_leads ? 2 : 1;
    int rc = cli_parse_args(command, argc, argv, options | OPT_FORMAT, formats, a);
    if (rc)
        return rc;
    if (a->help)
        return cli_print_usage(usage);
    if (a->nfiles < want)
        return cli_usage_error(command, "%s", want == 1 ? "expected a TABLE file" : "expected TABLE and LEADS.csv files");
    if (a->nfiles > want)
        return cli_usage_error(command, "unexpected argument '%s'", a->files[want]);
    if (want == 2 && cli_is_stdin(a->files[0]) && cli_is_stdin(a->files[1]))
        return cli_usage_error(command, "%s", "only one of TABLE and LEADS.csv can be '-'");
    if (!(*table = cli_open_table(a->files[0])))
        return EXIT_TROUBLE;
    if (with_leads && !(*leads = cli_open_leads(a->files[1], *table))) {
        leadroute_table_unref(*table);
        return EXIT_TROUBLE;
    }
    return -1;
}

/* ---- check ------------------------------------------------------------------- */

/* "N lint findings[ (and more left out)][, M notices]": past the findings
 * lint keeps, a last notice counts the others. */
static void print_counts(FILE *f, size_t findings, int more, size_t notices)
{
    fprintf(f, "%zu lint finding%s%s", findings, cli_plural(findings), more ? " (and more left out)" : "");
    if (notices)
        fprintf(f, ", %zu notice%s", notices, cli_plural(notices));
}

static void print_summary(const leadroute_table *table, const char *path, size_t findings, int more,
                          size_t notices)
{
    const char *name = leadroute_table_name(table);
    const char *version = leadroute_table_version(table);
    printf("%s:", cli_display_name(path));
    if (name && *name)
        printf(" \"%s\"", name);
    if (version && *version)
        printf(" version %s", version);
    size_t rules = leadroute_table_rule_count(table);
    size_t inputs = leadroute_table_input_count(table);
    size_t outputs = leadroute_table_output_count(table);
    printf("%s %zu rule%s, %zu input%s, %zu output%s, hit policy %s",
           (name && *name) || (version && *version) ? ":" : "", rules, cli_plural(rules), inputs,
           cli_plural(inputs), outputs, cli_plural(outputs), hit_policy_name(leadroute_table_hit_policy(table)));
    if (leadroute_table_aggregation(table) != LEADROUTE_AGG_NONE)
        printf(" (%s)", aggregation_name(leadroute_table_aggregation(table)));
    printf(", hash %016llx, %zu bytes compiled, ", (unsigned long long)leadroute_table_hash(table),
           leadroute_table_memory(table));
    print_counts(stdout, findings, more, notices);
    printf("\n");
}

int cmd_check(int argc, char **argv)
{
    static const char *const columns[] = { "kind", "rule", "line", "other_rule", "other_line", "example",
                                           "message" };
    cli_args a;
    leadroute_table *table = NULL;
    int rc = open_command("check", USAGE_CHECK, argc, argv, 0,
                          1u << FORMAT_TEXT | 1u << FORMAT_CSV | 1u << FORMAT_JSONL, 0, &a, &table, NULL);
    if (rc >= 0)
        return rc;

    cli_report_output_hints(a.files[0], table);
    int text = a.format == FORMAT_DEFAULT || a.format == FORMAT_TEXT;
    record_writer w;
    if (!text)
        records_begin(&w, stdout, a.format, columns, sizeof columns / sizeof *columns);
    size_t count = leadroute_table_diagnostic_count(table), findings = 0, notices = 0;
    int more = 0; /* findings past those lint keeps */
    for (size_t i = 0; i < count; i++) {
        leadroute_diagnostic d = LEADROUTE_DIAGNOSTIC_INIT;
        if (leadroute_table_diagnostic(table, i, &d) != LEADROUTE_OK) {
            cli_report_library_error();
            findings++; /* unknown, so not taken for clean */
            continue;
        }
        /* a notice says what lint could not settle or keep, not that the
         * table is wrong: it does not fail `check` */
        more |= d.kind == LEADROUTE_DIAG_TRUNCATED;
        if (leadroute_diagnostic_is_notice(d.kind) == 1)
            notices++;
        else
            findings++;
        if (text) {
            /* the message already quotes the example lead */
            printf("%s\n", d.message ? d.message : "(no message)");
            continue;
        }
        cell row[] = { cell_text(leadroute_diagnostic_kind_name(d.kind)), cell_text(d.rule_id),
                       d.line ? cell_number(d.line) : cell_text(NULL), cell_text(d.other_rule_id),
                       d.other_line ? cell_number(d.other_line) : cell_text(NULL), cell_text(d.witness),
                       cell_text(d.message) };
        records_row(&w, row);
    }
    if (text) {
        print_summary(table, a.files[0], findings, more, notices);
    } else {
        /* the summary still belongs somewhere a person looks */
        print_counts(stderr, findings, more, notices);
        fprintf(stderr, "\n");
    }
    leadroute_table_unref(table);
    return cli_finish_output(findings ? EXIT_FINDINGS : EXIT_CLEAN);
}

/* ---- eval -------------------------------------------------------------------- */

int cmd_eval(int argc, char **argv)
{
    cli_args a;
    leadroute_table *table = NULL;
    leadroute_leads *leads = NULL;
    int rc = open_command("eval", USAGE_EVAL, argc, argv, 0, 1u << FORMAT_CSV | 1u << FORMAT_JSONL, 1, &a,
                          &table, &leads);
    if (rc >= 0)
        return rc;
    /* One result per thread, sized for the table here, so evaluation itself
     * never allocates. */
    size_t outputs = leadroute_table_output_count(table);
    leadroute_result *result = NULL;
    const char **columns = malloc((outputs + 2) * sizeof *columns);
    cell *row = malloc((outputs + 2) * sizeof *row);
    char (*scratch)[256] = malloc((outputs ? outputs : 1) * sizeof *scratch);
    if (!columns || !row || !scratch || leadroute_result_new(&result, table, NULL) != LEADROUTE_OK) {
        if (!result && columns && row && scratch)
            cli_report_library_error();
        else
            fprintf(stderr, "leadroute: out of memory\n");
        free(columns);
        free(row);
        free(scratch);
        leadroute_leads_free(leads);
        leadroute_table_unref(table);
        return EXIT_TROUBLE;
    }

    const char *leads_name = cli_display_name(a.files[1]);
    size_t skipped = leadroute_leads_error_count(leads);
    cli_skipped_rows skipped_rows = { leads, 0 };
    int aggregates = leadroute_table_aggregation(table) != LEADROUTE_AGG_NONE;
    columns[0] = "id";
    columns[1] = "rule";
    for (size_t o = 0; o < outputs; o++) {
        /* the record's own id and rule keep their names */
        const char *name = leadroute_table_output_name(table, o);
        columns[o + 2] = strcmp(name, "id") == 0 ? "out:id" : strcmp(name, "rule") == 0 ? "out:rule" : name;
    }
    record_writer w;
    records_begin(&w, stdout, a.format, columns, outputs + 2);

    size_t n = leadroute_leads_count(leads);
    for (size_t i = 0; i < n; i++) {
        const leadroute_lead *lead = leadroute_leads_get(leads, i);
        if (leadroute_table_eval(table, lead, result) != LEADROUTE_OK) {
            /* the message already names the rules or field at fault */
            char shown[CLI_SHOWN_SIZE];
            cli_report_skipped_before(&skipped_rows, leadroute_leads_line(leads, i));
            fprintf(stderr, "%s:%u: lead %s: %s\n", leads_name, (unsigned)leadroute_leads_line(leads, i),
                    cli_shown(lead->id, shown), leadroute_error_last()->message);
            skipped++;
            continue;
        }
        size_t hits = leadroute_result_count(result);
        row[0] = cell_text(lead->id);
        if (hits == 0) {
            row[1] = cell_text("");
            for (size_t o = 0; o < outputs; o++)
                row[o + 2] = cell_text(NULL);
            records_row(&w, row);
        }
        for (size_t h = 0; h < hits; h++) {
            row[1] = cell_text(leadroute_result_rule_id(result, h));
            for (size_t o = 0; o < outputs; o++)
                row[o + 2] = cell_value(leadroute_result_output(result, h, o), scratch[o], sizeof scratch[o]);
            records_row(&w, row);
        }
        if (aggregates) {
            row[1] = cell_text("(aggregate)");
            for (size_t o = 0; o < outputs; o++)
                row[o + 2] = cell_value(leadroute_result_aggregate(result, o), scratch[o], sizeof scratch[o]);
            records_row(&w, row);
        }
        /* stdout failed (a closed pipe, a full disk): no later record would
         * arrive either; the failure is reported below */
        if (ferror(stdout))
            break;
    }

    cli_report_skipped_before(&skipped_rows, UINT32_MAX);
    free(columns);
    free(row);
    free(scratch);
    leadroute_result_free(result);
    leadroute_leads_free(leads);
    leadroute_table_unref(table);
    return cli_finish_output(skipped ? EXIT_FINDINGS : EXIT_CLEAN);
}

/* ---- bench ------------------------------------------------------------------- */

int cmd_bench(int argc, char **argv)
{
    static const char *const columns[] = { "table", "rules", "leads", "evaluations", "seconds", "per_second",
                                           "ns_per_evaluation", "hits", "errors" };
    cli_args a;
    leadroute_table *table = NULL;
    leadroute_leads *leads = NULL;
    int rc = open_command("bench", USAGE_BENCH, argc, argv, OPT_SECONDS,
                          1u << FORMAT_TEXT | 1u << FORMAT_CSV | 1u << FORMAT_JSONL, 1, &a, &table, &leads);
    if (rc >= 0)
        return rc;
    size_t skipped_rows = cli_report_skipped_rows(leads);
    size_t n = leadroute_leads_count(leads);
    leadroute_result *result = NULL;
    if (n == 0 || leadroute_result_new(&result, table, NULL) != LEADROUTE_OK) {
        if (n == 0)
            fprintf(stderr, "leadroute bench: no leads to evaluate\n");
        else
            cli_report_library_error();
        leadroute_leads_free(leads);
        leadroute_table_unref(table);
        return EXIT_TROUBLE;
    }

    /* Rounds over all leads; the clock is read only between batches of at
     * least ~1000 evaluations so that reading it costs nothing measurable. */
    size_t per_batch = n >= 1000 ? 1 : (1000 + n - 1) / n, first_failed = n;
    unsigned long long evals = 0, hits = 0, errors = 0;
    char first_error[512] = "";
    double start = cli_monotonic_seconds(), elapsed = 0.0;
    do {
        for (size_t round = 0; round < per_batch; round++) {
            for (size_t i = 0; i < n; i++) {
                if (leadroute_table_eval(table, leadroute_leads_get(leads, i), result) == LEADROUTE_OK) {
                    hits += leadroute_result_count(result);
                } else {
                    if (!errors++) {
                        first_failed = i;
                        snprintf(first_error, sizeof first_error, "%s", leadroute_error_last()->message);
                    }
                }
            }
        }
        evals += (unsigned long long)per_batch * n;
        elapsed = cli_monotonic_seconds() - start;
    } while (elapsed < a.seconds);

    const char *table_name = cli_display_name(a.files[0]);
    size_t rules = leadroute_table_rule_count(table);
    if (errors) {
        char shown[CLI_SHOWN_SIZE];
        fprintf(stderr, "%s:%u: lead %s: %s (the first of %llu failed evaluations)\n", cli_display_name(a.files[1]),
                (unsigned)leadroute_leads_line(leads, first_failed),
                cli_shown(leadroute_leads_get(leads, first_failed)->id, shown), first_error, errors);
    }
    double per_second = (double)evals / elapsed, ns = elapsed * 1e9 / (double)evals;
    if (a.format == FORMAT_CSV || a.format == FORMAT_JSONL) {
        record_writer w;
        cell row[] = { cell_text(table_name), cell_number((double)rules), cell_number((double)n),
                       cell_number((double)evals), cell_number(elapsed), cell_number(per_second),
                       cell_number(ns), cell_number((double)hits), cell_number((double)errors) };
        records_begin(&w, stdout, a.format, columns, sizeof columns / sizeof *columns);
        records_row(&w, row);
    } else {
        printf("table:       %s (%zu rule%s, hit policy %s)\n", table_name, rules, cli_plural(rules),
               hit_policy_name(leadroute_table_hit_policy(table)));
        printf("leads:       %zu (%zu row%s skipped)\n", n, skipped_rows, cli_plural(skipped_rows));
        printf("evaluations: %llu in %.3f s\n", evals, elapsed);
        printf("throughput:  %.0f evaluations/s, %.1f ns/evaluation\n", per_second, ns);
        printf("hits:        %llu (%.2f per evaluation), %llu evaluation error%s\n", hits,
               (double)hits / (double)evals, errors, cli_plural(errors));
    }

    leadroute_result_free(result);
    leadroute_leads_free(leads);
    leadroute_table_unref(table);
    return cli_finish_output(skipped_rows || errors ? EXIT_FINDINGS : EXIT_CLEAN);
}
