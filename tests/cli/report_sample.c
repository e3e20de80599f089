/*
 * report_sample OUT.html: writes the `simulate --html` page for a made-up
 * but realistic run (6 pools, 39 reps) so tests/cli/check_report.py can look
 * at it. The figures hang together the way the router's would: pool totals
 * and fairness come from the reps, outcomes from reps, queues and reasons.
 *
 * The data carries the awkward cases on purpose: a name with <&>", names in
 * non-ASCII UTF-8, a name too long for its label, a rule with no hits, a pool
 * with no members (no fairness index), a rep at capacity, an inactive rep and
 * reps outside any pool.
 *
 * On success it prints how many reps, pools, rules, reasons and queues the
 * page must show: "reps 39 pools 6 rules 11 reasons 7 queues 3".
 * Exit status: 0 when the page was written, 1 otherwise.
 *
 * report_sample --edge OUT.html writes a page of boundary cases instead:
 * malformed UTF-8 and control bytes in names, labels one letter short of
 * and one past their cut, deal values at the edges of the short formats,
 * infinite, negative and huge values, a pool id listed twice, a rep in an
 * unlisted pool, a fairness index at each threshold, an outcome without a
 * name or a value, a reason with no lead. report_sample --quiet OUT.html:
 * a run that read no lead (no title, no table name, no outcomes) and one rep
 * with open leads from earlier runs. report_sample --stale-error OUT.html
 * hands report_write_html() a stream whose error flag is already set: it
 * must fail.
 * SPDX-License-Identifier: MIT
 */
#include "report.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Leads per rep of one run. open includes leads from earlier runs. */
static const report_rep reps[] = {
    /* id, name, pool, leads, value, open, capacity, active */
    {"ana", "Ana Costa", "enterprise-emea", 24, 1480000.0, 31, 40, 1},
    {"bjorn", "Bj\xC3\xB6rn Lindqvist", "enterprise-emea", 21, 1215500.0, 27, 40, 1},
    {"zoe", "Zo\xC3\xAB M\xC3\xBCller", "enterprise-emea", 23, 1398250.0, 35, 35, 1},
    {"lee", "Lee <&> \"Ops\" Desk", "enterprise-emea", 19, 1102000.0, 22, 0, 1},
    {"margit", "Maximiliane Wolkenstein-Trostburg", "enterprise-emea", 22, 1290400.0, 30, 40, 1},
    {"omar", "Omar Haddad", "enterprise-emea", 20, 1175000.0, 24, 40, 1},
    {"ines", "In\xC3\xA8s Moreau", "enterprise-emea", 0, 0.0, 3, 40, 0},

    {"dana", "Dana Whitfield", "enterprise-na", 26, 1650000.0, 33, 45, 1},
    {"marcus", "Marcus Bell", "enterprise-na", 25, 1534700.0, 30, 45, 1},
    {"priya", "Priya Raman", "enterprise-na", 26, 1702250.0, 41, 45, 1},
    {"tom", "Tom O'Rourke", "enterprise-na", 25, 1490000.0, 28, 45, 1},
    {"keiko", "Keiko Tanaka", "enterprise-na", 26, 1588800.0, 34, 45, 1},
    {"luis", "Luis Fern\xC3\xA1ndez", "enterprise-na", 25, 1610300.0, 29, 45, 1},
    {"grace", "Grace Liu", "enterprise-na", 25, 1555000.0, 32, 45, 1},

    {"hannah", "Hannah Becker", "mid-market", 38, 612400.0, 44, 60, 1},
    {"ravi", "Ravi Shankar", "mid-market", 41, 655100.0, 52, 60, 1},
    {"sofia", "Sofia Rossi", "mid-market", 12, 190800.0, 15, 60, 1},
    {"jonas", "Jonas Weber", "mid-market", 36, 574000.0, 40, 60, 1},
    {"amara", "Amara Okafor", "mid-market", 40, 640250.0, 47, 60, 1},
    {"soren", "S\xC3\xB8ren Kierkeg\xC3\xA5rd", "mid-market", 22, 351900.0, 26, 60, 1},
    {"chloe", "Chlo\xC3\xA9 Dubois", "mid-market", 35, 560000.0, 38, 60, 1},
    {"nikolai", "\xD0\x9D\xD0\xB8\xD0\xBA\xD0\xBE\xD0\xBB\xD0\xB0\xD0\xB9 " /* Cyrillic */
                "\xD0\x9F\xD0\xB5\xD1\x82\xD1\x80\xD0\xBE\xD0\xB2", "mid-market", 39, 624300.0, 45, 60, 1},

    {"ella", "Ella Johnson", "smb", 64, 198400.0, 71, 0, 1},
    {"noah", "Noah Smith", "smb", 63, 185900.0, 66, 0, 1},
    {"mia", "Mia Schmidt", "smb", 65, 201300.0, 70, 0, 1},
    {"lucas", "Lucas Martin", "smb", 64, 176500.0, 69, 0, 1},
    {"emma", "Emma Nowak", "smb", 63, 193200.0, 68, 0, 1},
    {"liam", "Liam Murphy", "smb", 64, 188750.0, 67, 0, 1},
    {"olivia", "Olivia Garc\xC3\xAD" "a", "smb", 65, 205600.0, 72, 0, 1},
    {"ethan", "Ethan Brown", "smb", 63, 179900.0, 65, 0, 1},
    {"ava", "Ava Kowalski", "smb", 64, 195000.0, 70, 0, 1},
    {"leo", "Leo Andersson", "smb", 64, 182300.0, 69, 0, 1},

    {"wei", "Wei Zhang", "apac", 31, 902000.0, 36, 50, 1},
    {"aiko", "Aiko Suzuki", "apac", 6, 845000.0, 9, 50, 1},
    {"arjun", "Arjun Mehta", "apac", 28, 410500.0, 33, 50, 1},
    {"min", "Min-jun Park", "apac", 4, 930200.0, 8, 50, 1},
    {"chloe-au", "Chloe Nguyen", "apac", 14, 388000.0, 19, 50, 1},

    {"key-accounts", "Key Accounts Desk", NULL, 17, 2215000.0, 52, 0, 1},
    {"founder", "Rita Vos (founder)", NULL, 3, 640000.0, 5, 0, 1},
};
#define REP_COUNT (sizeof reps / sizeof reps[0])

static report_pool pools[] = {
    {"enterprise-emea", "weighted", 0, 0, 0.0, 0.0, 0.0},
    {"enterprise-na", "round_robin", 0, 0, 0.0, 0.0, 0.0},
    {"mid-market", "least_loaded", 0, 0, 0.0, 0.0, 0.0},
    {"smb", "round_robin", 0, 0, 0.0, 0.0, 0.0},
    {"apac", "value_balanced", 0, 0, 0.0, 0.0, 0.0},
    {"partners", "round_robin", 0, 0, 0.0, 0.0, 0.0},
};
#define POOL_COUNT (sizeof pools / sizeof pools[0])

static const report_count queues[] = {
    {"triage", 41, 612300.0},
    {"enterprise-review", 23, 2870000.0},
    {"apac-overflow", 12, 455800.0},
};

/* Most frequent first; queued + unassigned + unrouted leads. */
static const report_count reasons[] = {
    {"the rule sends the lead to a queue", 64, 612300.0 + 2870000.0},
    {"no rule matched", 38, 286400.0},
    {"every pool in the chain is empty or full: queued in apac-overflow", 12, 455800.0},
    {"every pool in the chain is empty or full, policy unassigned", 7, 98300.0},
    {"the rule names no owner, pool or queue", 5, 41200.0},
    {"error: deal value \"12,5k\" is not a number", 3, 0.0},
    {"error: the availability callback failed", 1, 18000.0},
};
#define QUEUED 76
#define UNASSIGNED 50
#define UNROUTED 4
#define NO_RULE 38

/* Hits per rule in table order; the last rule takes whatever is left. */
static report_count rules[] = {
    {"key-accounts", 20, 0.0},
    {"enterprise-review-big-deal", 23, 0.0},
    {"emea-enterprise", 129, 0.0},
    {"na-enterprise", 178, 0.0},
    {"legacy-partner-referral", 0, 0.0},
    {"emea-mid", 141, 0.0},
    {"na-mid", 122, 0.0},
    {"apac-all", 95, 0.0},
    {"inbound-chat-triage", 41, 0.0},
    {"emea-smb", 301, 0.0},
    {"na-smb", 0, 0.0}, /* the remainder, filled in main() */
};
#define RULE_COUNT (sizeof rules / sizeof rules[0])

/* Pool figures as the router computes them: members are the active reps,
 * spread = max - min leads, Jain's index (sum x)^2 / (n * sum x^2), 1 for a
 * pool with no assignments and unknown (NaN) for a pool with no members. */
static void fill_pools(void)
{
    for (size_t p = 0; p < POOL_COUNT; p++) {
        report_pool *pool = &pools[p];
        double sum = 0.0, squares = 0.0, min = INFINITY, max = 0.0;
        for (size_t i = 0; i < REP_COUNT; i++) {
            if (!reps[i].pool || strcmp(reps[i].pool, pool->id) != 0 || !reps[i].active)
                continue;
            double x = (double)reps[i].leads;
            pool->members++;
            pool->leads += reps[i].leads;
            pool->value += reps[i].value;
            sum += x;
            squares += x * x;
            min = x < min ? x : min;
            max = x > max ? x : max;
        }
        pool->spread = pool->members ? max - min : 0.0;
        if (pool->members == 0)
            pool->jain = NAN;
        else if (squares == 0.0)
            pool->jain = 1.0;
        else
            pool->jain = sum * sum / ((double)pool->members * squares);
    }
}

/* ---- report_sample --edge and --quiet ---------------------------------- */

#define X29 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
#define MOUNTAIN "\xE5\xB1\xB1" /* U+5C71, a wide character */
#define MOUNTAIN5 MOUNTAIN MOUNTAIN MOUNTAIN MOUNTAIN MOUNTAIN

static const report_rep edge_reps[] = {
    /* 29 letters of width 10: exactly the label's 290, not cut; 1 lead on an axis to 5,000 */
    {"fits", X29, "edge", 1, 999.6, 1, 0, 1},
    /* 30 letters: cut to 28 and an ellipsis; 10 leads are 1 unit long: drawn 2 */
    {"cut", X29 "x", "edge", 10, 999600.0, 10, 0, 1},
    /* 23 capitals of width 13: 299, cut to 21 */
    {"caps", "ABCDEFGHIJKLMNOPQRSTUVW", "edge", 0, 9960.0, 0, 0, 1},
    /* 15 wide characters of width 19: 285, not cut; 16: cut to 14 */
    {"wide-15", MOUNTAIN5 MOUNTAIN5 MOUNTAIN5, "edge", 0, 8500.0, 0, 0, 1},
    {"wide-16", MOUNTAIN5 MOUNTAIN5 MOUNTAIN5 MOUNTAIN, "edge", 0, 500000.0, 0, 0, 1},
    /* lone continuation, overlong, F5 lead, surrogate, C1 control, overlong 4-byte,
     * past U+10FFFF, truncated at the end: each byte becomes U+FFFD */
    {"bad-utf8", "a\x80" "b\xC0\xAF" "c\xF5" "d\xED\xA0\x80" "e\xC2\x85" "f\xF0\x8F\xBF\xBF"
                 "g\xF4\x90\x80\x80" "h\xE2\x82", "edge", 0, 0.0, 0, 0, 1},
    /* a lead byte where a continuation belongs; U+07FF and U+10FFFF are fine */
    {"mixed-utf8", "i\xC3\xC3\xA9j\xDF\xBFk\xF4\x8F\xBF\xBFl", "edge", 0, 0.0, 0, 0, 1},
    /* control bytes read as spaces */
    {"controls", "p\x01q\x1br\x7fs\tt\x10u", "edge", 0, 0.0, 0, 0, 1},
    /* no display name: the id stands in, once */
    {"no-name", "", "edge", 0, 0.0, 0, 0, 1},
    /* the widest capacity sets the axis; an infinite value reads n/a */
    {"big", "Big Cap", "edge", 0, INFINITY, 0, 5000, 1},
    /* the one rep of a pool the roster does not list; a value too small for its bar */
    {"solo", "Solo Rep", "side-pool", 1, 100.0, 1, 0, 1},
};

static const report_pool edge_pools[] = {
    /* listed twice: its reps are drawn once */
    {"edge", "", 11, 11, 1e21, 2.4, 0.9},
    {"edge", "weighted", 11, 11, 1e21, 3.0, 0.8},
    {"amber", "round_robin", 2, 0, -1500.0, 0.0, 0.85},
    /* just under 0.9, shown as 0.900: even, as its figure says */
    {"almost-even", "round_robin", 2, 0, 0.0, 0.0, 0.8996},
};

static const report_count edge_outcomes[] = {
    {"assigned", 600, 1000.0},
    {"", 150, 0.0}, /* existing, with no name and no value */
    {"queued", 150, 10.0},
    {"unassigned", 100, 10.0},
    {"unrouted", 0, 0.0},
};

static const report_count edge_rules[] = {
    {"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 500, 0.0}, /* 40 letters: cut to 35 */
    {"tiny-rule", 1, 0.0},
};

static const report_count edge_reasons[] = {
    {"r-zero", 0, 0.0},
    {"r-negative", 150, -1500.0},
    {"r-small", 1, 0.0},
    {"r-max", 300, 0.0},
};

static const report_count edge_queues[] = {
    {"q-almost-nothing", 150, -0.004},
};

static void edge_data(report_data *data)
{
    data->title = "Edge cases";
    data->table_name = "edge";
    data->table_hash = "0123456789abcdef";
    data->leads_total = 1000;
    data->leads_skipped = 1;
    data->value_total = 1020.0;
    data->outcomes = edge_outcomes;
    data->outcome_count = sizeof edge_outcomes / sizeof edge_outcomes[0];
    data->reps = edge_reps;
    data->rep_count = sizeof edge_reps / sizeof edge_reps[0];
    data->pools = edge_pools;
    data->pool_count = sizeof edge_pools / sizeof edge_pools[0];
    data->rules = edge_rules;
    data->rule_count = sizeof edge_rules / sizeof edge_rules[0];
    data->reasons = edge_reasons;
    data->reason_count = sizeof edge_reasons / sizeof edge_reasons[0];
    data->queues = edge_queues;
    data->queue_count = sizeof edge_queues / sizeof edge_queues[0];
}

static const report_rep quiet_reps[] = {
    {"early", "Early Bird", NULL, 0, 0.0, 51, 0, 1},
};

static void quiet_data(report_data *data)
{
    data->title = "";
    data->table_hash = "";
    data->reps = quiet_reps;
    data->rep_count = 1;
}

/* Writes data to path; with stale_error the stream's error flag is set first. */
static int write_page(const char *program, const char *path, const report_data *data, bool stale_error)
{
    FILE *out = fopen(path, "w");
    if (!out) {
        fprintf(stderr, "%s: %s: %s\n", program, path, strerror(errno));
        return 1;
    }
    if (stale_error && (fgetc(out) != EOF || !ferror(out))) { /* reading a write-only stream */
        fprintf(stderr, "%s: could not set the error flag of %s\n", program, path);
        fclose(out);
        return 1;
    }
    if (report_write_html(out, data) != 0) {
        fprintf(stderr, "%s: writing %s: %s\n", program, path, strerror(errno));
        fclose(out);
        return 1;
    }
    if (fclose(out) != 0) {
        fprintf(stderr, "%s: closing %s: %s\n", program, path, strerror(errno));
        return 1;
    }
    /* What the page must show, for the checker to count. */
    printf("reps %zu pools %zu rules %zu reasons %zu queues %zu\n", data->rep_count, data->pool_count,
           data->rule_count, data->reason_count, data->queue_count);
    return ferror(stdout) || fflush(stdout) == EOF;
}

int main(int argc, char **argv)
{
    const char *mode = argc == 3 ? argv[1] : "";
    if (!(argc == 2 || (argc == 3 && (strcmp(mode, "--edge") == 0 || strcmp(mode, "--quiet") == 0 ||
                                      strcmp(mode, "--stale-error") == 0)))) {
        fprintf(stderr, "usage: %s [--edge|--quiet|--stale-error] OUT.html\n", argv[0]);
        return 1;
    }
    const char *path = argv[argc - 1];
    /* Whatever locale the environment asks for: the page must not change. */
    setlocale(LC_ALL, "");
    if (strcmp(mode, "--edge") == 0 || strcmp(mode, "--quiet") == 0) {
        report_data data;
        memset(&data, 0, sizeof data);
        if (strcmp(mode, "--edge") == 0)
            edge_data(&data);
        else
            quiet_data(&data);
        return write_page(argv[0], path, &data, false);
    }
    fill_pools();

    uint64_t assigned = 0;
    double assigned_value = 0.0;
    for (size_t i = 0; i < REP_COUNT; i++) {
        assigned += reps[i].leads;
        assigned_value += reps[i].value;
    }
    const uint64_t existing = 184;
    const double existing_value = 3125000.0;
    uint64_t leads_total = assigned + existing + QUEUED + UNASSIGNED + UNROUTED;

    uint64_t matched = leads_total - NO_RULE - UNROUTED, hits = 0;
    for (size_t i = 0; i + 1 < RULE_COUNT; i++)
        hits += rules[i].count;
    if (hits > matched) {
        fprintf(stderr, "%s: rule hits add up to more than the leads matched\n", argv[0]);
        return 1;
    }
    rules[RULE_COUNT - 1].count = matched - hits;

    double queued_value = 0.0, unassigned_value = 0.0, unrouted_value = 0.0;
    for (size_t i = 0; i < sizeof queues / sizeof queues[0]; i++)
        queued_value += queues[i].value;
    unassigned_value = reasons[1].value + reasons[3].value + reasons[4].value;
    unrouted_value = reasons[5].value + reasons[6].value;

    const report_count outcomes[] = {
        {"assigned", assigned, assigned_value},
        {"existing", existing, existing_value},
        {"queued", QUEUED, queued_value},
        {"unassigned", UNASSIGNED, unassigned_value},
        {"unrouted", UNROUTED, unrouted_value},
    };

    report_data data;
    memset(&data, 0, sizeof data);
    data.title = "Routing simulation";
    data.table_name = "territories-2024Q3 <draft & \"final\">";
    data.table_hash = "9f3a5c0e71d2b846";
    data.roster_file = "data/reps-q3.csv";
    data.leads_file = "data/leads-september.csv";
    data.generated_at = "2024-09-30T16:45:12Z";
    data.leads_total = leads_total;
    data.leads_skipped = 2;
    data.value_total = assigned_value + existing_value + queued_value + unassigned_value + unrouted_value;
    data.outcomes = outcomes;
    data.outcome_count = sizeof outcomes / sizeof outcomes[0];
    data.reps = reps;
    data.rep_count = REP_COUNT;
    data.pools = pools;
    data.pool_count = POOL_COUNT;
    data.rules = rules;
    data.rule_count = RULE_COUNT;
    data.reasons = reasons;
    data.reason_count = sizeof reasons / sizeof reasons[0];
    data.queues = queues;
    data.queue_count = sizeof queues / sizeof queues[0];

    return write_page(argv[0], path, &data, strcmp(mode, "--stale-error") == 0);
}
