/*
 * route_basic: the smallest complete use of the router.
 *
 * A decision table and a roster are parsed from CSV text, a router with the
 * built-in in-memory store routes a handful of leads, and the program prints
 * where each lead went and why, one explanation and the metrics. It checks
 * its own results and exits non-zero if anything differs from what the
 * roster and strategies promise.
 *
 * SPDX-License-Identifier: MIT
 */
#include <leadroute/leadroute.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Territory rules: the first matching rule names the pool and the follow-up
 * SLA. Big EMEA companies go to the enterprise team, the rest to SMB; APAC
 * has no rule on purpose, to show an unassigned lead. */
static const char table_csv[] =
    "#! name: territories\n"
    "#! hit_policy: first\n"
    "rule,region,employees:number,out:pool,out:sla_minutes:number\n"
    "emea-enterprise,EMEA,>= 1000,enterprise,60\n"
    "emea-smb,EMEA,-,smb,120\n"
    "na,NA,-,smb,240\n";

/* Two pools: enterprise shares leads by weight (ana counts double) and needs
 * the lead's language among the rep's languages; when no enterprise rep can
 * take a lead, the SMB pool (round robin) gets it. */
static const char roster_csv[] =
    "#! pools\n"
    "id,strategy,fallback,filters\n"
    "enterprise,weighted,smb,language=languages\n"
    "smb,round_robin,,\n"
    "#! reps\n"
    "id,name,pools,weight,languages\n"
    "ana,Ana Costa,enterprise,2,\"en, de\"\n"
    "ben,Ben Ito,enterprise,1,\"en, fr\"\n"
    "carl,Carl Berg,smb,1,en\n"
    "dina,Dina Shah,smb,1,en\n"
    "eve,Eve Novak,smb,1,en\n";

/* A CRM record reduced to the fields the table and pools read. */
struct crm_lead {
    const char *id;
    const char *region;
    double employees;
    const char *language;
    const char *expect_status; /* what this example promises */
    const char *expect_rep;    /* NULL: nobody */
};

/* Expected outcomes follow from the documented rules:
 * - skill filters run before the strategy: only ana speaks German, only ben
 *   French, and nobody Japanese (so that lead falls back to smb);
 * - weighted (stride 10^7/weight, lowest pass wins, ties to the lowest id):
 *   ana wins the tie on L-01, then has a higher pass than ben on L-03;
 * - round robin: the next rep by id after the last one served. */
static const struct crm_lead crm_leads[] = {
    {"L-01", "EMEA", 5000, "en", "assigned", "ana"},   /* enterprise, weighted */
    {"L-02", "EMEA", 2500, "de", "assigned", "ana"},   /* only ana speaks German */
    {"L-03", "EMEA", 1200, "en", "assigned", "ben"},   /* ben's turn by pass */
    {"L-04", "EMEA", 40, "en", "assigned", "carl"},    /* smb, round robin */
    {"L-05", "NA", 12, "en", "assigned", "dina"},
    {"L-06", "NA", 300, "en", "assigned", "eve"},
    {"L-07", "EMEA", 3000, "ja", "assigned", "carl"},  /* nobody speaks Japanese: fallback */
    {"L-08", "APAC", 800, "en", "unassigned", NULL},   /* no rule matches */
    {"L-09", "EMEA", 9000, "fr", "assigned", "ben"},
    {"L-10", "NA", 75, "en", "assigned", "dina"},
};
#define LEAD_COUNT (sizeof crm_leads / sizeof crm_leads[0])

/* Print the library's last error with the call that failed. */
static int fail(const char *what, int rc)
{
    fprintf(stderr, "route_basic: %s failed: %s (%s)\n", what, leadroute_error_last()->message,
            leadroute_strerror(rc));
    return 1;
}

/* Fill a lead from a CRM record. `fields` must hold 3 entries; strings are
 * borrowed, so the record must outlive the routing call. */
static void make_lead(leadroute_lead *lead, leadroute_field *fields, const struct crm_lead *src)
{
    leadroute_value init = LEADROUTE_VALUE_INIT;
    size_t i;

    for (i = 0; i < 3; i++)
        fields[i].value = init;
    fields[0].name = "region";
    fields[0].value.type = LEADROUTE_VALUE_STRING;
    fields[0].value.string = src->region;
    fields[1].name = "employees";
    fields[1].value.type = LEADROUTE_VALUE_NUMBER;
    fields[1].value.number = src->employees;
    fields[2].name = "language";
    fields[2].value.type = LEADROUTE_VALUE_STRING;
    fields[2].value.string = src->language;

    leadroute_lead_init(lead, LEADROUTE_LEAD_VERSION);
    lead->id = src->id; /* no dedupe_field option: the lead id is the key */
    lead->fields = fields;
    lead->field_count = 3;
}

/* Render into a growing buffer: both explain and metrics report the length
 * they need, so a second call with a big enough buffer gets all of it. */
static char *render_metrics(leadroute_router *router)
{
    size_t needed = 0;
    char *buf;

    if (leadroute_router_metrics_json(router, NULL, 0, &needed) != LEADROUTE_OK)
        return NULL;
    buf = malloc(needed + 1);
    if (buf == NULL)
        return NULL;
    if (leadroute_router_metrics_json(router, buf, needed + 1, NULL) != LEADROUTE_OK) {
        free(buf);
        return NULL;
    }
    return buf;
}

static int same(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

int main(void)
{
    leadroute_table *table = NULL;
    leadroute_roster *roster = NULL;
    leadroute_router *router = NULL;
    leadroute_decision *decision = NULL;
    leadroute_field fields[3];
    leadroute_lead lead;
    char explain[4096];
    char *metrics = NULL;
    int status = 1;
    int rc;
    size_t i;

    rc = leadroute_table_parse(&table, table_csv, strlen(table_csv), "territories.csv", NULL);
    if (rc != LEADROUTE_OK) {
        fail("leadroute_table_parse", rc);
        goto done;
    }
    rc = leadroute_roster_parse(&roster, roster_csv, strlen(roster_csv), "roster.csv", NULL);
    if (rc != LEADROUTE_OK) {
        fail("leadroute_roster_parse", rc);
        goto done;
    }
    /* NULL options: the lead id is the dedupe key, outputs are named
     * pool / sla_minutes / ..., and the built-in store keeps the state. */
    rc = leadroute_router_new(&router, table, roster, NULL);
    if (rc != LEADROUTE_OK) {
        fail("leadroute_router_new", rc);
        goto done;
    }
    /* The router holds its own references; ours can go now. */
    leadroute_table_unref(table);
    table = NULL;
    leadroute_roster_unref(roster);
    roster = NULL;

    rc = leadroute_decision_new(&decision, NULL);
    if (rc != LEADROUTE_OK) {
        fail("leadroute_decision_new", rc);
        goto done;
    }

    printf("%-5s %-10s %-6s %-11s %-5s %s\n", "lead", "status", "rep", "pool", "sla", "reason");
    for (i = 0; i < LEAD_COUNT; i++) {
        const char *st, *rep, *pool;

        make_lead(&lead, fields, &crm_leads[i]);
        rc = leadroute_route(router, &lead, 0, decision);
        if (rc != LEADROUTE_OK) {
            /* The decision still says why; the last error has the detail. */
            fprintf(stderr, "route_basic: %s unrouted: %s\n", lead.id, leadroute_decision_reason(decision));
            fail("leadroute_route", rc);
            goto done;
        }
        st = leadroute_route_status_name(leadroute_decision_status(decision));
        rep = leadroute_decision_rep(decision);
        pool = leadroute_decision_pool(decision);
        printf("%-5s %-10s %-6s %-11s %-5g %s\n", lead.id, st, rep ? rep : "-", pool ? pool : "-",
               leadroute_decision_sla_minutes(decision), leadroute_decision_reason(decision));
        if (!same(st, crm_leads[i].expect_status) || !same(rep, crm_leads[i].expect_rep)) {
            const char *want = crm_leads[i].expect_rep;

            fprintf(stderr, "route_basic: %s: expected %s to %s, got %s to %s\n", lead.id,
                    crm_leads[i].expect_status, want ? want : "nobody", st, rep ? rep : "nobody");
            goto done;
        }
    }

    /* The same lead again: the store holds its claim, so the rep keeps it
     * and no new assignment is made (a CRM re-sync is harmless). Traced, to
     * explain it below. */
    make_lead(&lead, fields, &crm_leads[3]);
    rc = leadroute_route(router, &lead, LEADROUTE_ROUTE_TRACE, decision);
    if (rc != LEADROUTE_OK) {
        fail("leadroute_route (again)", rc);
        goto done;
    }
    printf("\n%s again: %s with %s\n", lead.id,
           leadroute_route_status_name(leadroute_decision_status(decision)),
           leadroute_decision_rep(decision));
    if (leadroute_decision_status(decision) != LEADROUTE_ROUTE_EXISTING ||
        !same(leadroute_decision_rep(decision), "carl")) {
        fprintf(stderr, "route_basic: a second routing of %s should keep carl\n", lead.id);
        goto done;
    }

    /* A fallback decision, traced: every candidate and its verdict. */
    make_lead(&lead, fields, &crm_leads[6]);
    lead.id = "L-11"; /* a fresh key, or it would be `existing` too */
    rc = leadroute_route(router, &lead, LEADROUTE_ROUTE_TRACE, decision);
    if (rc != LEADROUTE_OK) {
        fail("leadroute_route (traced)", rc);
        goto done;
    }
    rc = leadroute_decision_explain(decision, LEADROUTE_EXPLAIN_TEXT, explain, sizeof explain, NULL);
    if (rc != LEADROUTE_OK) {
        fail("leadroute_decision_explain", rc);
        goto done;
    }
    printf("\nexplain %s:\n%s\n", lead.id, explain);
    if (!same(leadroute_decision_pool(decision), "smb")) {
        fprintf(stderr, "route_basic: L-11 should fall back to smb\n");
        goto done;
    }

    metrics = render_metrics(router);
    if (metrics == NULL) {
        fail("leadroute_router_metrics_json", leadroute_error_last()->code);
        goto done;
    }
    printf("\nmetrics: %s\n", metrics);
    /* ana won L-01 and L-02; eve got L-06 and L-11; APAC matched no rule. */
    if (leadroute_router_rep_assigned(router, "ana") != 2 ||
        leadroute_router_rep_assigned(router, "eve") != 2 ||
        leadroute_router_unrouted(router, LEADROUTE_UNROUTED_NO_RULE) != 1) {
        fprintf(stderr, "route_basic: unexpected counters\n");
        goto done;
    }
    status = 0;

done:
    free(metrics);
    leadroute_decision_free(decision);
    leadroute_router_free(router);
    leadroute_roster_unref(roster);
    leadroute_table_unref(table);
    return status;
}
