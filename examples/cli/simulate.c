/*
 * simulate: route sample leads against a copy of the state and report where
 * they went, as text, records, or an HTML page (../report.c).
 * SPDX-License-Identifier: MIT
 */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../report.h"

static const char USAGE_SIMULATE[] =
    "usage: leadroute simulate --table TABLE --reps REPS.csv LEADS.csv\n"
    "                          [--state FILE | --no-state] [--now TIME]\n"
    "                          [--dedupe-field FIELD] [--value-field FIELD]\n"
    "                          [--html REPORT.html] [--format text|csv|jsonl]\n"
    "                          [--progress | --no-progress]\n"
    "\n"
    "What if these leads came in now? Route every lead of LEADS.csv as 'route'\n"
    "would, but against an in-memory copy of the state database, which is\n"
    "never written: claims, rotation and loads of earlier runs count, nothing\n"
    "of this run is kept. A PostgreSQL state is not copied: it is read as the\n"
    "run needs it and the run's changes stay in memory (no write, no lock\n"
    "held). Then report outcomes, leads and deal value per rep and per pool,\n"
    "fairness inside each pool (max-min spread and Jain's index, 1 = perfectly\n"
    "even), hits per rule (rules never hit included) and why leads were\n"
    "queued, left unassigned or unrouted. Pools and owners the table and\n"
    "REPS.csv disagree on are noted on stderr first, as for route.\n"
    "\n"
    "  --state FILE|DATABASE\n"
    "                       the state to start from: a SQLite file (default\n"
    "                       " CLI_DEFAULT_STATE "; a missing file is an empty\n"
    "                       state; one the user may only read will do) or a\n"
    "                       PostgreSQL connection string, as for route\n"
    "  --no-state           start from an empty state\n"
    "  --value-field FIELD  the lead field with the deal value (default deal_value)\n"
    "  --html REPORT.html   also write a self-contained page with charts (never\n"
    "                       over a file simulate reads, nor over a database)\n"
    "  --format FORMAT      text (default), or csv / jsonl: one record per\n"
    "                       figure, with the columns kind,name,pool,leads,value,\n"
    "                       spread,fairness,open,capacity (kind is outcome,\n"
    "                       pool, rep, rule, reason or queue)\n"
    "  --table, --reps, --dedupe-field, --now, --progress   as for route\n"
    "\n"
    "exit status: 0 done, 1 some rows skipped or leads unrouted, 2 bad usage, a\n"
    "file could not be read or the report could not be written\n";

/* ---- counters by name ------------------------------------------------------------ */

typedef struct tally {
    char *name;
    uint64_t count;
    double value;
} tally;

typedef struct tally_list {
    tally *v;
    size_t n, cap;
} tally_list;

/* Add to the entry `name` (created on first use); -1 when out of memory. A
 * linear search: the lists hold reasons and queues, a few dozen at most. */
static int tally_add(tally_list *l, const char *name, double value)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->v[i].name, name) == 0) {
            l->v[i].count++;
            l->v[i].value += value;
            return 0;
        }
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        tally *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    if (!(l->v[l->n].name = malloc(strlen(name) + 1)))
        return -1;
    strcpy(l->v[l->n].name, name);
    l->v[l->n].count = 1;
    l->v[l->n].value = value;
    l->n++;
    return 0;
}

static int tally_by_count(const void *pa, const void *pb)
{
    const tally *a = pa, *b = pb;
    if (a->count != b->count)
        return a->count < b->count ? 1 : -1;
    return strcmp(a->name, b->name);
}

static void tally_free(tally_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].name);
    free(l->v);
}

/* Rules are in table order, not id order: a sorted index of their ids. */
typedef struct rule_ref {
    const char *id;
    size_t index;
} rule_ref;

static int compare_rule_ref(const void *pa, const void *pb)
{
    return strcmp(((const rule_ref *)pa)->id, ((const rule_ref *)pb)->id);
}

/* ---- a lead's deal value ----------------------------------------------------------- */

/* As the router reads it: a finite number, or text that is one decimal
 * number between blanks; missing, blank, negative or anything else counts
 * as 0 (the router refuses a lead whose value is text but no number, so
 * such a lead is unrouted and its value counts for nothing). */
/* Whether s[0..n) is a number as the library reads one in a lead:
 * [+-]digits[.digits][e[+-]digits], so that ".5", "5." and "1e" count as
 * nothing here, as routing refuses them. */
static int is_lead_number(const char *s, size_t n)
{
    size_t i = 0, d;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    for (d = i; i < n && isdigit((unsigned char)s[i]); i++)
        ;
    if (i == d)
        return 0;
    if (i < n && s[i] == '.') {
        for (d = ++i; i < n && isdigit((unsigned char)s[i]); i++)
            ;
        if (i == d)
            return 0;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        if (++i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        for (d = i; i < n && isdigit((unsigned char)s[i]); i++)
            ;
        if (i == d)
            return 0;
    }
    return i == n;
}

static double lead_value(const leadroute_lead *lead, const char *field)
{
    for (size_t i = 0; i < lead->field_count; i++) {
        if (strcmp(lead->fields[i].name, field) != 0)
            continue;
        const leadroute_value *v = &lead->fields[i].value;
        double x = 0.0;
        if (v->type == LEADROUTE_VALUE_NUMBER) {
            x = v->number;
        } else if (v->type == LEADROUTE_VALUE_STRING && v->string) {
            size_t len;
            const char *s = cli_trimmed(v->string, &len);
            if (is_lead_number(s, len))
                x = strtod(s, NULL);
        }
        return isfinite(x) && x > 0.0 ? x : 0.0;
    }
    return 0.0;
}

static const char *strategy_name(uint32_t s)
{
    switch (s) {
    case LEADROUTE_STRATEGY_ROUND_ROBIN: return "round_robin";
    case LEADROUTE_STRATEGY_WEIGHTED: return "weighted";
    case LEADROUTE_STRATEGY_LEAST_LOADED: return "least_loaded";
    case LEADROUTE_STRATEGY_VALUE_BALANCED: return "value_balanced";
    default: return "unknown";
    }
}

/* ---- the run ------------------------------------------------------------------------ */

enum { OUTCOMES = 5 }; /* assigned, existing, queued, unassigned, unrouted */

typedef struct simulation {
    report_count outcomes[OUTCOMES];
    report_rep *reps;
    report_pool *pools;
    report_count *rules;
    size_t nreps, npools, nrules;
    rule_ref *rule_index;
    tally_list reasons, queues;
    uint64_t skipped;
    double value_total;
} simulation;

static void simulation_free(simulation *s)
{
    free(s->reps);
    free(s->pools);
    free(s->rules);
    free(s->rule_index);
    tally_free(&s->reasons);
    tally_free(&s->queues);
}

static int simulation_init(simulation *s, const leadroute_table *table, const leadroute_roster *roster)
{
    static const char *const outcome_names[OUTCOMES] = { "assigned", "existing", "queued", "unassigned",
                                                         "unrouted" };
    memset(s, 0, sizeof *s);
    for (int i = 0; i < OUTCOMES; i++)
        s->outcomes[i].name = outcome_names[i];
    s->nreps = leadroute_roster_rep_count(roster);
    s->npools = leadroute_roster_pool_count(roster);
    s->nrules = leadroute_table_rule_count(table);
    s->reps = calloc(s->nreps + 1, sizeof *s->reps);
    s->pools = calloc(s->npools + 1, sizeof *s->pools);
    s->rules = calloc(s->nrules + 1, sizeof *s->rules);
    s->rule_index = calloc(s->nrules + 1, sizeof *s->rule_index);
    if (!s->reps || !s->pools || !s->rules || !s->rule_index)
        return -1;
    for (size_t i = 0; i < s->nreps; i++) {
        leadroute_rep rep = LEADROUTE_REP_INIT;
        report_rep *r = &s->reps[i];
        r->id = leadroute_roster_rep_id(roster, i);
        r->active = 1;
        if (leadroute_roster_rep(roster, i, &rep) == LEADROUTE_OK) {
            r->name = rep.name;
            r->pool = rep.pool_count ? rep.pools[0] : NULL;
            r->capacity = rep.capacity;
            r->active = rep.active;
        }
    }
    for (size_t i = 0; i < s->npools; i++) {
        leadroute_pool pool = LEADROUTE_POOL_INIT;
        report_pool *p = &s->pools[i];
        p->id = leadroute_roster_pool_id(roster, i);
        p->jain = NAN;
        if (leadroute_roster_pool(roster, i, &pool) == LEADROUTE_OK)
            p->strategy = strategy_name(pool.strategy);
    }
    /* members: every pool a rep lists */
    for (size_t i = 0; i < s->nreps; i++) {
        leadroute_rep rep = LEADROUTE_REP_INIT;
        if (leadroute_roster_rep(roster, i, &rep) != LEADROUTE_OK)
            continue;
        for (size_t k = 0; k < rep.pool_count; k++) {
            size_t p = cli_roster_pool_index(roster, rep.pools[k]);
            if (p != SIZE_MAX)
                s->pools[p].members++;
        }
    }
    for (size_t i = 0; i < s->nrules; i++) {
        s->rules[i].name = leadroute_table_rule_id(table, i);
        s->rule_index[i].id = s->rules[i].name;
        s->rule_index[i].index = i;
    }
    qsort(s->rule_index, s->nrules, sizeof *s->rule_index, compare_rule_ref);
    return 0;
}

/* Count one decision. -1 when out of memory. */
static int simulation_add(simulation *s, const leadroute_roster *roster, const leadroute_decision *d,
                          uint32_t status, double value)
{
    if (status >= 1 && status <= OUTCOMES) {
        s->outcomes[status - 1].count++;
        s->outcomes[status - 1].value += value;
    }
    const char *rule = leadroute_decision_rule(d);
    if (rule && status != LEADROUTE_ROUTE_UNROUTED) {
        rule_ref probe = { rule, 0 };
        const rule_ref *r = bsearch(&probe, s->rule_index, s->nrules, sizeof *s->rule_index, compare_rule_ref);
        if (r) {
            s->rules[r->index].count++;
            s->rules[r->index].value += value;
        }
    }
    if (status == LEADROUTE_ROUTE_ASSIGNED) {
        s->value_total += value;
        const char *rep = leadroute_decision_rep(d), *pool = leadroute_decision_pool(d);
        size_t i = rep ? cli_roster_rep_index(roster, rep) : SIZE_MAX;
        if (i != SIZE_MAX) {
            s->reps[i].leads++;
            s->reps[i].value += value;
        }
        i = pool ? cli_roster_pool_index(roster, pool) : SIZE_MAX;
        if (i != SIZE_MAX) {
            s->pools[i].leads++;
            s->pools[i].value += value;
        }
        return 0;
    }
    if (status == LEADROUTE_ROUTE_QUEUED && leadroute_decision_queue(d) &&
        tally_add(&s->queues, leadroute_decision_queue(d), value) != 0)
        return -1;
    if (status == LEADROUTE_ROUTE_QUEUED || status == LEADROUTE_ROUTE_UNASSIGNED ||
        status == LEADROUTE_ROUTE_UNROUTED) {
        /* whole: a reason cut at a fixed size could end inside a character,
         * and two that differ only past it would count as one */
        const char *why = leadroute_decision_reason(d) ? leadroute_decision_reason(d) : "";
        const char *name = leadroute_route_status_name(status);
        size_t len = strlen(name) + 2 + strlen(why) + 1;
        char *reason = malloc(len);
        int rc;
        if (!reason)
            return -1;
        snprintf(reason, len, "%s: %s", name, why);
        rc = tally_add(&s->reasons, reason, value);
        free(reason);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* After the run: fairness per pool and open leads per rep. */
static void simulation_finish(simulation *s, leadroute_router *router, cli_state *store)
{
    for (size_t i = 0; i < s->npools; i++) {
        double spread = NAN, jain = NAN;
        if (leadroute_router_pool_fairness(router, s->pools[i].id, &spread, &jain) == LEADROUTE_OK) {
            s->pools[i].spread = spread;
            s->pools[i].jain = jain;
        }
    }
    for (size_t i = 0; i < s->nreps; i++) {
        uint32_t open = 0;
        if (cli_state_open_count(store, s->reps[i].id, &open) == LEADROUTE_OK)
            s->reps[i].open = open;
        /* read through: the live database has the open leads from before the
         * run, the simulation's own claims are new ones (route never moves a claim) */
        if (cli_state_read_through(store))
            s->reps[i].open += (uint32_t)s->reps[i].leads;
    }
    /* an empty tally has no array, and qsort takes no null pointer */
    if (s->reasons.n > 1)
        qsort(s->reasons.v, s->reasons.n, sizeof *s->reasons.v, tally_by_count);
    if (s->queues.n > 1)
        qsort(s->queues.v, s->queues.n, sizeof *s->queues.v, tally_by_count);
}

/* ---- output ------------------------------------------------------------------------- */

/* 1234567 as "1,234,567". */
static const char *grouped(uint64_t n, char *buf, size_t size)
{
    char digits[32];
    int len = snprintf(digits, sizeof digits, "%llu", (unsigned long long)n);
    size_t o = 0;
    for (int i = 0; i < len && o + 2 < size; i++) {
        if (i && (len - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}

static const char *money(double x, char *buf, size_t size)
{
    if (!isfinite(x))
        snprintf(buf, size, "n/a");
    else if (fabs(x) >= 1e6)
        snprintf(buf, size, "%.1f M", x / 1e6);
    else if (fabs(x) >= 1e4)
        snprintf(buf, size, "%.0f k", x / 1e3);
    else
        snprintf(buf, size, "%.0f", x);
    return buf;
}

static void print_text(const simulation *s, const char *leads_name, uint64_t total)
{
    char a[32], b[32];
    printf("simulated %s lead%s of %s (%s row%s skipped)\n", grouped(total, a, sizeof a), total == 1 ? "" : "s",
           leads_name, grouped(s->skipped, b, sizeof b), s->skipped == 1 ? "" : "s");
    printf("outcomes:");
    for (int i = 0; i < OUTCOMES; i++)
        printf("%s %s %s (%.1f%%)", i ? "," : "", s->outcomes[i].name, grouped(s->outcomes[i].count, a, sizeof a),
               total ? 100.0 * (double)s->outcomes[i].count / (double)total : 0.0);
    printf("\ndeal value assigned: %s\n", money(s->value_total, a, sizeof a));

    printf("\n%-22s %-15s %7s %7s %10s %7s %8s\n", "pool", "strategy", "members", "leads", "value", "spread",
           "fairness");
    for (size_t i = 0; i < s->npools; i++) {
        const report_pool *p = &s->pools[i];
        char fair[16];
        if (isnan(p->jain))
            snprintf(fair, sizeof fair, "n/a");
        else
            snprintf(fair, sizeof fair, "%.3f", p->jain);
        printf("%-22s %-15s %7zu %7llu %10s %7.0f %8s\n", p->id, p->strategy ? p->strategy : "-", p->members,
               (unsigned long long)p->leads, money(p->value, a, sizeof a), isnan(p->spread) ? 0.0 : p->spread, fair);
    }

    printf("\n%-22s %-22s %7s %10s %9s\n", "rep", "first pool", "leads", "value", "open/cap");
    for (size_t i = 0; i < s->nreps; i++) {
        const report_rep *r = &s->reps[i];
        char cap[32];
        if (r->capacity)
            snprintf(cap, sizeof cap, "%u/%u", r->open, r->capacity);
        else
            snprintf(cap, sizeof cap, "%u", r->open);
        printf("%-22s %-22s %7llu %10s %9s%s\n", r->id, r->pool ? r->pool : "-", (unsigned long long)r->leads,
               money(r->value, a, sizeof a), cap, r->active ? "" : "  (inactive)");
    }

    printf("\n%-22s %7s %10s\n", "rule", "hits", "value");
    for (size_t i = 0; i < s->nrules; i++)
        printf("%-22s %7llu %10s%s\n", s->rules[i].name, (unsigned long long)s->rules[i].count,
               money(s->rules[i].value, a, sizeof a), s->rules[i].count ? "" : "  (never hit)");

    if (s->queues.n) {
        printf("\n%-22s %7s\n", "queue", "leads");
        for (size_t i = 0; i < s->queues.n; i++)
            printf("%-22s %7llu\n", s->queues.v[i].name, (unsigned long long)s->queues.v[i].count);
    }
    if (s->reasons.n) {
        printf("\nnot assigned, by reason:\n");
        for (size_t i = 0; i < s->reasons.n; i++)
            printf("%7llu  %s\n", (unsigned long long)s->reasons.v[i].count, s->reasons.v[i].name);
    }
}

static void print_records(const simulation *s, int format)
{
    static const char *const columns[] = { "kind", "name", "pool", "leads", "value", "spread", "fairness",
                                           "open", "capacity" };
    record_writer w;
    records_begin(&w, stdout, format, columns, sizeof columns / sizeof *columns);
    cell none = cell_text(NULL);
    for (int i = 0; i < OUTCOMES; i++) {
        cell row[] = { cell_text("outcome"), cell_text(s->outcomes[i].name), none,
                       cell_number((double)s->outcomes[i].count), cell_number(s->outcomes[i].value), none, none, none,
                       none };
        records_row(&w, row);
    }
    for (size_t i = 0; i < s->npools; i++) {
        const report_pool *p = &s->pools[i];
        cell row[] = { cell_text("pool"), cell_text(p->id), none, cell_number((double)p->leads),
                       cell_number(p->value), cell_number(p->spread), isnan(p->jain) ? none : cell_number(p->jain),
                       none, none };
        records_row(&w, row);
    }
    for (size_t i = 0; i < s->nreps; i++) {
        const report_rep *r = &s->reps[i];
        cell row[] = { cell_text("rep"), cell_text(r->id), cell_text(r->pool), cell_number((double)r->leads),
                       cell_number(r->value), none, none, cell_number(r->open),
                       r->capacity ? cell_number(r->capacity) : none };
        records_row(&w, row);
    }
    for (size_t i = 0; i < s->nrules; i++) {
        cell row[] = { cell_text("rule"), cell_text(s->rules[i].name), none, cell_number((double)s->rules[i].count),
                       cell_number(s->rules[i].value), none, none, none, none };
        records_row(&w, row);
    }
    for (size_t i = 0; i < s->reasons.n; i++) {
        cell row[] = { cell_text("reason"), cell_text(s->reasons.v[i].name), none,
                       cell_number((double)s->reasons.v[i].count), cell_number(s->reasons.v[i].value), none, none,
                       none, none };
        records_row(&w, row);
    }
    for (size_t i = 0; i < s->queues.n; i++) {
        cell row[] = { cell_text("queue"), cell_text(s->queues.v[i].name), none,
                       cell_number((double)s->queues.v[i].count), cell_number(s->queues.v[i].value), none, none,
                       none, none };
        records_row(&w, row);
    }
}

/* report_count views of a tally list (borrowing its names). */
static report_count *counts_of(const tally_list *l)
{
    report_count *v = calloc(l->n + 1, sizeof *v);
    for (size_t i = 0; v && i < l->n; i++) {
        v[i].name = l->v[i].name;
        v[i].count = l->v[i].count;
        v[i].value = l->v[i].value;
    }
    return v;
}

static int write_html(const simulation *s, const cli_args *a, const leadroute_table *table, uint64_t total)
{
    char hash[32], when[40];
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)leadroute_table_hash(table));
    cli_format_time(a->has_now ? a->now_ms : cli_system_now_ms(), when, sizeof when);
    const char *name = leadroute_table_name(table);
    report_count *reasons = counts_of(&s->reasons), *queues = counts_of(&s->queues);
    report_data d;
    memset(&d, 0, sizeof d);
    d.title = "Routing simulation";
    d.table_name = name && *name ? name : cli_display_name(a->table);
    d.table_hash = hash;
    d.roster_file = cli_display_name(a->reps);
    d.leads_file = cli_display_name(a->files[0]);
    d.generated_at = when;
    d.leads_total = total;
    d.leads_skipped = s->skipped;
    d.value_total = s->value_total;
    d.outcomes = s->outcomes;
    d.outcome_count = OUTCOMES;
    d.reps = s->reps;
    d.rep_count = s->nreps;
    d.pools = s->pools;
    d.pool_count = s->npools;
    d.rules = s->rules;
    d.rule_count = s->nrules;
    d.reasons = reasons;
    d.reason_count = s->reasons.n;
    d.queues = queues;
    d.queue_count = s->queues.n;

    int rc = -1;
    FILE *f = NULL;
    if (!reasons || !queues) {
        fprintf(stderr, "leadroute simulate: out of memory\n");
    } else {
        fflush(stdout); /* what was printed comes first where both go to one terminal */
        if (!(f = fopen(a->html, "w"))) {
            fprintf(stderr, "leadroute simulate: cannot write %s: %s\n", a->html, strerror(errno));
        } else {
            /* closed either way; the first failure is the one to tell */
            int err = report_write_html(f, &d) != 0 ? errno : 0;
            if (fclose(f) != 0 && !err)
                err = errno;
            if (err)
                fprintf(stderr, "leadroute simulate: cannot write %s: %s\n", a->html, strerror(err));
            else
                rc = 0;
        }
    }
    free(reasons);
    free(queues);
    return rc;
}

/* ---- the command --------------------------------------------------------------------- */

int cmd_simulate(int argc, char **argv)
{
    cli_args a;
    int rc = cli_parse_args("simulate", argc, argv,
                            OPT_ROUTE | OPT_STATE | OPT_FORMAT | OPT_HTML | OPT_PROGRESS | OPT_VALUE_FIELD,
                            1u << FORMAT_TEXT | 1u << FORMAT_CSV | 1u << FORMAT_JSONL, &a);
    if (rc)
        return rc;
    if (a.help)
        return cli_print_usage(USAGE_SIMULATE);
    if (!a.table)
        return cli_usage_error("simulate", "%s", "expected --table TABLE");
    if (!a.reps)
        return cli_usage_error("simulate", "%s", "expected --reps REPS.csv");
    if (a.nfiles != 1)
        return a.nfiles ? cli_usage_error("simulate", "unexpected argument '%s'", a.files[1])
                        : cli_usage_error("simulate", "%s", "expected a LEADS.csv file");
    if (cli_is_stdin(a.table) + cli_is_stdin(a.reps) + cli_is_stdin(a.files[0]) > 1)
        return cli_usage_error("simulate", "%s", "only one of the files can be '-'");
    /* '-' reads standard input elsewhere: no file of that name; and the summary has standard output */
    if (a.html && (strcmp(a.html, "-") == 0 || cli_is_stdout(a.html)))
        return cli_usage_error("simulate", "%s", "--html: give a file name; the summary goes to standard output");
    if (a.html) {
        /* the report must not take the place of what simulate reads, nor of any state database */
        const char *inputs[4] = { a.table, a.reps, a.files[0], a.no_state ? NULL : a.state };
        for (int k = 0; k < 4; k++)
            if (inputs[k] && cli_same_file(a.html, inputs[k]))
                return cli_usage_error("simulate", "--html %s is %s, which simulate reads; give the report another name",
                                       a.html, cli_is_stdin(inputs[k]) ? "its standard input" : inputs[k]);
        if (cli_is_sqlite_file(a.html))
            return cli_usage_error("simulate", "--html %s is a SQLite database (a state file?); give the report "
                                   "another name", a.html);
    }

    leadroute_table *table = cli_open_table(a.table);
    leadroute_roster *roster = table ? cli_open_roster(a.reps) : NULL;
    leadroute_leads *leads = roster ? cli_open_leads(a.files[0], table) : NULL;
    if (leads && cli_check_dedupe_field("simulate", a.files[0], leads, a.dedupe_field) != EXIT_CLEAN) {
        leadroute_leads_free(leads);
        leads = NULL;
    }
    if (leads) {
        cli_report_output_hints(a.table, table);
        cli_report_roster_mismatches(a.table, a.reps, table, roster);
    }
    cli_state *store = NULL;
    leadroute_router *router = NULL, *live = NULL;
    leadroute_decision *decision = NULL;
    simulation sim;
    memset(&sim, 0, sizeof sim);
    int status = leads ? EXIT_CLEAN : EXIT_TROUBLE;
    if (status == EXIT_CLEAN && simulation_init(&sim, table, roster) != 0) {
        fprintf(stderr, "leadroute: out of memory\n");
        status = EXIT_TROUBLE;
    }
    if (status == EXIT_CLEAN)
        status = cli_open_state("simulate", &a, CLI_STATE_SNAPSHOT, &store);
    if (status == EXIT_CLEAN)
        status = cli_state_check_dedupe("simulate", store, a.dedupe_field, 0);
    if (status == EXIT_CLEAN && !(router = cli_open_router(&a, table, roster, store)))
        status = EXIT_TROUBLE;
    /* A database that others share is not copied: a fork of the router reads
     * it and keeps what the run writes in memory, so it is never written and
     * no lock of it is held between two reads. */
    if (status == EXIT_CLEAN && cli_state_read_through(store)) {
        live = router;
        router = NULL;
        if (leadroute_router_fork(&router, live) != LEADROUTE_OK) {
            cli_report_library_error();
            status = EXIT_TROUBLE;
        }
    }
    if (status == EXIT_CLEAN && leadroute_decision_new(&decision, NULL) != LEADROUTE_OK) {
        cli_report_library_error();
        status = EXIT_TROUBLE;
    }

    size_t n = status == EXIT_CLEAN ? leadroute_leads_count(leads) : 0;
    if (status == EXIT_CLEAN)
        sim.skipped = cli_report_skipped_rows(leads);
    progress bar;
    progress_begin(&bar, a.progress, n, "leads");
    /* a copy lives in memory; transactions of many leads keep it fast */
    int in_batch = 0, batches = store && !cli_state_read_through(store);
    for (size_t i = 0; i < n; i++) {
        if (batches && !in_batch && cli_state_begin(store) == LEADROUTE_OK)
            in_batch = 1;
        const leadroute_lead *lead = leadroute_leads_get(leads, i);
        rc = leadroute_route(router, lead, 0, decision);
        if (rc == LEADROUTE_ECALLBACK || rc == LEADROUTE_ENOMEM) {
            cli_report_library_error();
            status = EXIT_TROUBLE;
            break;
        }
        uint32_t route_status = rc == LEADROUTE_OK ? leadroute_decision_status(decision) : LEADROUTE_ROUTE_UNROUTED;
        if (simulation_add(&sim, roster, decision, route_status, lead_value(lead, a.value_field)) != 0) {
            cli_progress_clear();
            fprintf(stderr, "leadroute: out of memory\n");
            status = EXIT_TROUBLE;
            break;
        }
        if (in_batch && ((i + 1) % 1000 == 0 || i + 1 == n)) {
            cli_state_commit(store);
            in_batch = 0;
        }
        progress_update(&bar, i + 1);
    }
    progress_end(&bar);
    if (in_batch)
        cli_state_rollback(store);

    if (status == EXIT_CLEAN) {
        simulation_finish(&sim, router, store);
        if (a.format == FORMAT_CSV || a.format == FORMAT_JSONL)
            print_records(&sim, a.format);
        else
            print_text(&sim, cli_display_name(a.files[0]), n);
        if (a.html && write_html(&sim, &a, table, n) != 0)
            status = EXIT_TROUBLE;
        else if (a.html && (a.format == FORMAT_DEFAULT || a.format == FORMAT_TEXT))
            printf("\nreport: %s\n", a.html);
        if (status == EXIT_CLEAN && (sim.skipped || sim.outcomes[LEADROUTE_ROUTE_UNROUTED - 1].count))
            status = EXIT_FINDINGS;
    }

    simulation_free(&sim);
    leadroute_router_free(router); /* the fork before the router it reads */
    cli_session session = { table, roster, leads, store, live, decision };
    cli_session_close(&session);
    return cli_finish_output(status);
}
