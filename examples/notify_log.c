/*
 * notify_log: tell the CRM about each assignment, and survive it being down.
 *
 * The notify callback appends every assignment to an in-memory log (a real
 * host would call a webhook or write an outbox row). It fails on purpose for
 * one rep, as a CRM outage would: the assignment still stands, the decision
 * says notified = 0, and the notification waits in the router until
 * leadroute_router_retry_notifications() delivers it. The program checks
 * each step and exits non-zero if the router does not behave as documented.
 *
 * SPDX-License-Identifier: MIT
 */
#include <leadroute/leadroute.h>

#include <stdio.h>
#include <string.h>

/* Every lead goes to one round-robin pool with a 30-minute follow-up SLA. */
static const char table_csv[] =
    "rule,source,out:pool,out:sla_minutes:number\n"
    "inbound,-,sales,30\n";

static const char roster_csv[] =
    "#! pools\n"
    "id,strategy\n"
    "sales,round_robin\n"
    "#! reps\n"
    "id,pools\n"
    "amy,sales\n"
    "bo,sales\n"
    "cy,sales\n";

#define LOG_MAX 16
#define LINE_MAX_LEN 160

/* The host side of notify: what the callback writes to, and the switch that
 * simulates the outage. */
struct notify_log {
    char lines[LOG_MAX][LINE_MAX_LEN];
    size_t count;
    const char *failing_rep; /* notifications for this rep fail; NULL = none */
    size_t failures;         /* calls that failed, for the report */
};

/* The callback. Strings in `a` are borrowed for the call, so copy what you
 * keep. Returning an error does not undo the assignment. */
static int on_assigned(void *user_data, const leadroute_assignment *a)
{
    struct notify_log *log = user_data;

    if (log->failing_rep != NULL && strcmp(a->rep_id, log->failing_rep) == 0) {
        log->failures++;
        return LEADROUTE_EUSER; /* e.g. the CRM answered 503 */
    }
    if (log->count == LOG_MAX)
        return LEADROUTE_EUSER; /* full: the router keeps it pending */
    snprintf(log->lines[log->count], LINE_MAX_LEN, "%s -> %s (pool %s, rule %s, sla %g min)", a->key,
             a->rep_id, a->pool_id ? a->pool_id : "-", a->rule_id ? a->rule_id : "-", a->sla_minutes);
    log->count++;
    return LEADROUTE_OK;
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "notify_log: %s failed: %s (%s)\n", what, leadroute_error_last()->message,
            leadroute_strerror(rc));
    return 1;
}

/* Say what went wrong and fail the run. */
static int unexpected(const char *what)
{
    fprintf(stderr, "notify_log: unexpected: %s\n", what);
    return 1;
}

static void print_log(const struct notify_log *log)
{
    size_t i;

    printf("CRM log (%zu entries):\n", log->count);
    for (i = 0; i < log->count; i++)
        printf("  %s\n", log->lines[i]);
}

/* Route one lead with a single string field. */
static int route_one(leadroute_router *router, leadroute_decision *decision, const char *id)
{
    leadroute_field field;
    leadroute_lead lead = LEADROUTE_LEAD_INIT;
    leadroute_value init = LEADROUTE_VALUE_INIT;
    int rc;

    field.name = "source";
    field.value = init;
    field.value.type = LEADROUTE_VALUE_STRING;
    field.value.string = "web form";
    lead.id = id;
    lead.fields = &field;
    lead.field_count = 1;
    rc = leadroute_route(router, &lead, 0, decision);
    if (rc != LEADROUTE_OK)
        return fail("leadroute_route", rc);
    printf("%s: %s to %s, notified=%d (%s)\n", id,
           leadroute_route_status_name(leadroute_decision_status(decision)), leadroute_decision_rep(decision),
           leadroute_decision_notified(decision), leadroute_decision_reason(decision));
    return 0;
}

int main(void)
{
    static const char *const ids[] = {"N-1", "N-2", "N-3", "N-4", "N-5"};
    static const char *const reps[] = {"amy", "bo", "cy", "amy", "bo"}; /* round robin by id */
    struct notify_log log;
    leadroute_notify notify = {LEADROUTE_NOTIFY_VERSION, on_assigned};
    leadroute_table *table = NULL;
    leadroute_roster *roster = NULL;
    leadroute_router *router = NULL;
    leadroute_decision *decision = NULL;
    char key[64], rep[64];
    size_t i, pending, delivered = 0;
    int status = 1;
    int rc;

    memset(&log, 0, sizeof log);
    log.failing_rep = "bo"; /* bo's CRM mailbox is down for now */

    rc = leadroute_table_parse(&table, table_csv, strlen(table_csv), "inbound.csv", NULL);
    if (rc != LEADROUTE_OK) {
        fail("leadroute_table_parse", rc);
        goto done;
    }
    rc = leadroute_roster_parse(&roster, roster_csv, strlen(roster_csv), "roster.csv", NULL);
    if (rc != LEADROUTE_OK) {
        fail("leadroute_roster_parse", rc);
        goto done;
    }
    rc = leadroute_router_new(&router, table, roster, NULL);
    if (rc != LEADROUTE_OK) {
        fail("leadroute_router_new", rc);
        goto done;
    }
    /* Callbacks are set once, before any routing; the struct is copied, the
     * log must outlive the router. */
    rc = leadroute_router_set_notify(router, &notify, &log);
    if (rc != LEADROUTE_OK) {
        fail("leadroute_router_set_notify", rc);
        goto done;
    }
    rc = leadroute_decision_new(&decision, NULL);
    if (rc != LEADROUTE_OK) {
        fail("leadroute_decision_new", rc);
        goto done;
    }

    for (i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        int want_notified = strcmp(reps[i], log.failing_rep) != 0;

        if (route_one(router, decision, ids[i]) != 0)
            goto done;
        /* A failed notify is not a routing error: the lead is assigned.
         * Pending keys are the plain dedupe keys; the log shows the store's
         * namespaced form ("lead:N-1"). */
        if (leadroute_decision_status(decision) != LEADROUTE_ROUTE_ASSIGNED ||
            strcmp(leadroute_decision_rep(decision), reps[i]) != 0) {
            unexpected("lead not assigned to the round-robin rep");
            goto done;
        }
        if (leadroute_decision_notified(decision) != want_notified) {
            unexpected("notified flag does not match the callback's answer");
            goto done;
        }
    }

    /* bo's two assignments wait in the router, oldest first. */
    pending = leadroute_router_pending_count(router);
    printf("\npending notifications: %zu\n", pending);
    if (pending != 2) {
        unexpected("two notifications should be pending");
        goto done;
    }
    for (i = 0; i < pending; i++) {
        rc = leadroute_router_pending(router, i, key, sizeof key, rep, sizeof rep);
        if (rc != LEADROUTE_OK) {
            fail("leadroute_router_pending", rc);
            goto done;
        }
        printf("  %zu: %s for %s\n", i, key, rep);
        if (strcmp(rep, "bo") != 0 || strcmp(key, i == 0 ? "N-2" : "N-5") != 0) {
            unexpected("pending list is not bo's leads, oldest first");
            goto done;
        }
    }
    /* Past the end is an error the host can test for, not a crash. */
    if (leadroute_router_pending(router, pending, key, sizeof key, rep, sizeof rep) != LEADROUTE_ERANGE) {
        unexpected("pending past the end should be ERANGE");
        goto done;
    }

    /* A retry while the CRM is still down delivers nothing and says so. */
    rc = leadroute_router_retry_notifications(router, &delivered);
    printf("\nretry while down: %s, delivered %zu\n", leadroute_strerror(rc), delivered);
    if (rc != LEADROUTE_ECALLBACK || delivered != 0 || leadroute_router_pending_count(router) != 2) {
        unexpected("retry during the outage should keep both pending");
        goto done;
    }

    /* The CRM is back: one retry delivers both, in order. */
    log.failing_rep = NULL;
    rc = leadroute_router_retry_notifications(router, &delivered);
    printf("retry after recovery: %s, delivered %zu\n", leadroute_strerror(rc), delivered);
    if (rc != LEADROUTE_OK || delivered != 2 || leadroute_router_pending_count(router) != 0) {
        unexpected("retry after recovery should deliver both");
        goto done;
    }

    printf("\n");
    print_log(&log);
    printf("failed notify calls: %zu\n", log.failures);
    /* Every assignment reached the log exactly once: 3 live, 2 retried;
     * bo's notify failed twice live and twice in the first retry. */
    if (log.count != 5 || log.failures != 4 || strstr(log.lines[3], "N-2") == NULL ||
        strstr(log.lines[4], "N-5") == NULL ||
        strstr(log.lines[3], "-> bo") == NULL || strstr(log.lines[4], "rule inbound, sla 30 min") == NULL) {
        unexpected("the log should end with bo's two retried leads, with their rule and SLA");
        goto done;
    }

    /* A full log fails like the CRM: the log fills up, and the assignment
     * after that stays pending. */
    for (i = log.count; i <= LOG_MAX; i++) {
        snprintf(key, sizeof key, "N-%zu", i + 1);
        if (route_one(router, decision, key) != 0)
            goto done;
    }
    printf("log full: %zu entries, pending notifications: %zu\n", log.count,
           leadroute_router_pending_count(router));
    if (log.count != LOG_MAX || leadroute_decision_notified(decision) != 0 ||
        leadroute_router_pending_count(router) != 1) {
        unexpected("with the log full, the last assignment should stay pending");
        goto done;
    }
    status = 0;

done:
    leadroute_decision_free(decision);
    leadroute_router_free(router);
    leadroute_roster_unref(roster);
    leadroute_table_unref(table);
    return status;
}
