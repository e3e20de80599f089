/*
 * availability_calendar: route only to reps who are at work right now.
 *
 * The availability callback is the host's calendar: every rep works 9:00 to
 * 17:00 in their own time zone, and a vacation list takes reps out for whole
 * days. An injected clock steps through one day (in UTC) so the output is
 * the same on every run. Reps outside their hours or on vacation are `away`
 * with the reason the callback gives, visible in the trace; when nobody is
 * at work the pool's empty-pool policy puts the lead in a queue. The
 * program checks each outcome and exits non-zero on any surprise.
 *
 * SPDX-License-Identifier: MIT
 */
#include <leadroute/leadroute.h>

#include <stdio.h>
#include <string.h>

#define MINUTE_MS ((int64_t)60 * 1000)
#define HOUR_MS (60 * MINUTE_MS)
#define DAY_MS (24 * HOUR_MS)
/* 2026-11-24T00:00:00Z, the simulated day. */
#define DAY_START_MS ((int64_t)1795478400000)

static const char table_csv[] =
    "rule,topic,out:pool\n"
    "support,-,support\n";

/* One round-robin pool; when no member is available the lead waits in the
 * "follow-the-sun" queue instead of going to someone asleep. */
static const char roster_csv[] =
    "#! pools\n"
    "id,strategy,on_empty,queue\n"
    "support,round_robin,queue,follow-the-sun\n"
    "#! reps\n"
    "id,name,pools\n"
    "hana,Hana (Berlin),support\n"
    "lars,Lars (Berlin),support\n"
    "mo,Mo (London),support\n"
    "nia,Nia (New York),support\n";

/* The host's calendar. A real host reads this from its HR or scheduling
 * system; the router only ever sees the verdict. */
struct work_hours {
    const char *rep;
    int utc_offset_min; /* local time = UTC + offset */
    int start_min;      /* local minutes after midnight */
    int end_min;        /* exclusive */
};

struct vacation {
    const char *rep;
    int64_t from_ms; /* inclusive, UTC */
    int64_t to_ms;   /* exclusive */
};

struct calendar {
    const struct work_hours *hours;
    size_t hour_count;
    const struct vacation *vacations;
    size_t vacation_count;
    size_t asked; /* callback calls, to show it is asked once per rep */
};

static const struct work_hours team_hours[] = {
    {"hana", 60, 9 * 60, 17 * 60},
    {"lars", 60, 9 * 60, 17 * 60},
    {"mo", 0, 9 * 60, 17 * 60},
    {"nia", -5 * 60, 9 * 60, 17 * 60},
};

/* Lars is off all week. */
static const struct vacation team_vacations[] = {
    {"lars", DAY_START_MS - 2 * DAY_MS, DAY_START_MS + 5 * DAY_MS},
};

/* Local minute of the day at `now_ms` for a zone `offset_min` from UTC. */
static int local_minute(int64_t now_ms, int offset_min)
{
    int64_t local = now_ms + (int64_t)offset_min * MINUTE_MS;
    int64_t in_day = local % DAY_MS;

    if (in_day < 0)
        in_day += DAY_MS;
    return (int)(in_day / MINUTE_MS);
}

/* The calendar's answer, shared by the callback and the checks below. */
static int is_available(const struct calendar *cal, const char *rep_id, int64_t now_ms, const char **why)
{
    size_t i;

    for (i = 0; i < cal->vacation_count; i++) {
        const struct vacation *v = &cal->vacations[i];
        if (strcmp(v->rep, rep_id) == 0 && now_ms >= v->from_ms && now_ms < v->to_ms) {
            *why = "vacation";
            return 0;
        }
    }
    for (i = 0; i < cal->hour_count; i++) {
        const struct work_hours *h = &cal->hours[i];
        if (strcmp(h->rep, rep_id) == 0) {
            int m = local_minute(now_ms, h->utc_offset_min);
            if (m >= h->start_min && m < h->end_min)
                return 1;
            *why = "outside working hours";
            return 0;
        }
    }
    /* A rep the calendar does not know is not assumed to be at work. */
    *why = "no calendar";
    return 0;
}

/* The availability callback: asked only for reps that passed every other
 * check, with the router's clock time, so it needs no clock of its own. */
static int check_calendar(void *user_data, const char *rep_id, const leadroute_lead *lead, int64_t now_ms,
                          uint32_t *verdict, char *reason, size_t cap)
{
    struct calendar *cal = user_data;
    const char *why = NULL;

    (void)lead; /* could be used for e.g. language-specific shifts */
    cal->asked++;
    if (is_available(cal, rep_id, now_ms, &why)) {
        *verdict = LEADROUTE_AVAILABLE;
        return LEADROUTE_OK;
    }
    *verdict = LEADROUTE_AWAY;
    if (reason != NULL && cap > 0)
        snprintf(reason, cap, "%s", why); /* the router shows it in the trace */
    return LEADROUTE_OK;
}

/* The injected clock: the simulation sets `now_ms` before each lead. */
struct sim_clock {
    int64_t now_ms;
};

static int64_t sim_now(void *user_data)
{
    return ((const struct sim_clock *)user_data)->now_ms;
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "availability_calendar: %s failed: %s (%s)\n", what, leadroute_error_last()->message,
            leadroute_strerror(rc));
    return 1;
}

static int unexpected(const char *what, const char *lead_id)
{
    fprintf(stderr, "availability_calendar: %s: %s\n", lead_id, what);
    return 1;
}

/* Check a traced decision against the calendar: the chosen rep is at work,
 * and every rep marked away is away for the reason the calendar gives. */
static int check_trace(const leadroute_decision *d, const struct calendar *cal, int64_t now_ms,
                       const char *id)
{
    size_t i, n = leadroute_decision_candidate_count(d);

    for (i = 0; i < n; i++) {
        const char *rep = NULL, *pool = NULL, *detail = NULL, *why = NULL;
        uint32_t verdict = 0;
        int rc = leadroute_decision_candidate(d, i, &rep, &pool, &verdict, &detail);
        int at_work;

        if (rc != LEADROUTE_OK)
            return fail("leadroute_decision_candidate", rc);
        at_work = is_available(cal, rep, now_ms, &why);
        printf("    %-5s %s", rep,
               verdict == LEADROUTE_VERDICT_CHOSEN     ? "chosen"
               : verdict == LEADROUTE_VERDICT_ELIGIBLE ? "eligible"
               : verdict == LEADROUTE_VERDICT_AWAY     ? "away"
                                                       : "other");
        if (detail != NULL)
            printf(" (%s)", detail);
        printf("\n");
        if (verdict == LEADROUTE_VERDICT_AWAY) {
            if (at_work || detail == NULL || strcmp(detail, why) != 0)
                return unexpected("away verdict does not match the calendar", id);
        } else if (verdict == LEADROUTE_VERDICT_CHOSEN || verdict == LEADROUTE_VERDICT_ELIGIBLE) {
            if (!at_work)
                return unexpected("a rep outside the calendar was offered the lead", id);
        } else {
            return unexpected("unexpected verdict", id);
        }
    }
    /* Every member shows up in the trace: the ones at work and the away ones. */
    if (n != sizeof team_hours / sizeof team_hours[0])
        return unexpected("trace should list every member", id);
    return 0;
}

/* What the calendar says of `rep` at `now_ms`: "at work", or why not. */
static const char *calendar_says(const struct calendar *cal, const char *rep, int64_t now_ms)
{
    const char *why = NULL;

    return is_available(cal, rep, now_ms, &why) ? "at work" : why;
}

/* One step of the day: the time, and which rep (or queue) must get the lead. */
struct step {
    int utc_hour, utc_minute;
    const char *expect_rep; /* NULL: queued */
};

int main(void)
{
    /* Round robin by id among those at work; who is at work at each hour:
     *  03:00  nobody (Berlin 04:00, London 03:00, New York 22:00)  -> queue
     *  09:30  hana, mo (nia 04:30 is asleep, lars on vacation)     -> hana
     *  10:00  hana, mo                                             -> mo
     *  15:00  hana, mo, nia (New York 10:00)                       -> nia
     *  16:30  mo, nia (Berlin is at 17:30)                         -> hana skipped: mo
     *  20:00  nia only (New York 15:00)                            -> nia
     *  23:00  nobody (New York 18:00)                              -> queue */
    static const struct step day[] = {
        {3, 0, NULL},     {9, 30, "hana"}, {10, 0, "mo"}, {15, 0, "nia"},
        {16, 30, "mo"},   {20, 0, "nia"},  {23, 0, NULL},
    };
    /* The calendar's edges: hours run from start to end, end excluded, in
     * each rep's zone; so does a vacation, in UTC; an unknown rep is away. */
    static const struct {
        const char *rep;
        int64_t at_ms;
        const char *says;
    } edges[] = {
        {"hana", DAY_START_MS + 8 * HOUR_MS - 1, "outside working hours"}, /* Berlin 08:59:59.999 */
        {"hana", DAY_START_MS + 8 * HOUR_MS, "at work"},                   /* Berlin 09:00 */
        {"nia", DAY_START_MS + 22 * HOUR_MS - 1, "at work"},               /* New York 16:59:59.999 */
        {"nia", DAY_START_MS + 22 * HOUR_MS, "outside working hours"},     /* New York 17:00 */
        {"lars", DAY_START_MS - 2 * DAY_MS - 1, "outside working hours"},  /* the night before his vacation */
        {"lars", DAY_START_MS - 2 * DAY_MS, "vacation"},
        {"lars", DAY_START_MS + 5 * DAY_MS - 1, "vacation"},
        {"lars", DAY_START_MS + 5 * DAY_MS, "outside working hours"},      /* back, at 01:00 in Berlin */
        {"zed", DAY_START_MS + 12 * HOUR_MS, "no calendar"},
    };
    struct calendar cal = {team_hours, sizeof team_hours / sizeof team_hours[0], team_vacations,
                           sizeof team_vacations / sizeof team_vacations[0], 0};
    struct sim_clock clock_state = {DAY_START_MS};
    leadroute_availability availability = {LEADROUTE_AVAILABILITY_VERSION, check_calendar};
    leadroute_clock clock = {LEADROUTE_CLOCK_VERSION, sim_now};
    leadroute_table *table = NULL;
    leadroute_roster *roster = NULL;
    leadroute_router *router = NULL;
    leadroute_decision *decision = NULL;
    size_t queued = 0, s;
    int status = 1;
    int rc;

    rc = leadroute_table_parse(&table, table_csv, strlen(table_csv), "support.csv", NULL);
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
    /* Both callbacks are copied; their user data must outlive the router. */
    rc = leadroute_router_set_availability(router, &availability, &cal);
    if (rc == LEADROUTE_OK)
        rc = leadroute_router_set_clock(router, &clock, &clock_state);
    if (rc != LEADROUTE_OK) {
        fail("setting the callbacks", rc);
        goto done;
    }
    rc = leadroute_decision_new(&decision, NULL);
    if (rc != LEADROUTE_OK) {
        fail("leadroute_decision_new", rc);
        goto done;
    }

    for (s = 0; s < sizeof day / sizeof day[0]; s++) {
        const struct step *st = &day[s];
        leadroute_value init = LEADROUTE_VALUE_INIT;
        leadroute_field field;
        leadroute_lead lead = LEADROUTE_LEAD_INIT;
        char id[32];
        const char *rep;
        size_t asked_before = cal.asked;

        clock_state.now_ms = DAY_START_MS + st->utc_hour * HOUR_MS + st->utc_minute * MINUTE_MS;
        snprintf(id, sizeof id, "T-%02d%02d", st->utc_hour, st->utc_minute);
        field.name = "topic";
        field.value = init;
        field.value.type = LEADROUTE_VALUE_STRING;
        field.value.string = "billing";
        lead.id = id;
        lead.fields = &field;
        lead.field_count = 1;

        /* TRACE records every candidate with its verdict and detail. */
        rc = leadroute_route(router, &lead, LEADROUTE_ROUTE_TRACE, decision);
        if (rc != LEADROUTE_OK) {
            fail("leadroute_route", rc);
            goto done;
        }
        rep = leadroute_decision_rep(decision);
        printf("%02d:%02d UTC %s: %s", st->utc_hour, st->utc_minute, id,
               leadroute_route_status_name(leadroute_decision_status(decision)));
        if (rep != NULL)
            printf(" to %s", rep);
        if (leadroute_decision_queue(decision) != NULL)
            printf(" in queue %s", leadroute_decision_queue(decision));
        printf(" -- %s\n", leadroute_decision_reason(decision));
        if (check_trace(decision, &cal, clock_state.now_ms, id) != 0)
            goto done;

        if (st->expect_rep == NULL) {
            if (leadroute_decision_status(decision) != LEADROUTE_ROUTE_QUEUED ||
                leadroute_decision_queue(decision) == NULL ||
                strcmp(leadroute_decision_queue(decision), "follow-the-sun") != 0) {
                unexpected("nobody is at work: the lead should be queued", id);
                goto done;
            }
            queued++;
        } else if (leadroute_decision_status(decision) != LEADROUTE_ROUTE_ASSIGNED || rep == NULL ||
                   strcmp(rep, st->expect_rep) != 0) {
            fprintf(stderr, "availability_calendar: %s: expected %s\n", id, st->expect_rep);
            goto done;
        }
        /* The calendar is consulted (lars is away), at most once per rep per call. */
        if (cal.asked == asked_before || cal.asked - asked_before > sizeof team_hours / sizeof team_hours[0]) {
            unexpected("availability not asked, or asked more than once per rep", id);
            goto done;
        }
    }

    for (s = 0; s < sizeof edges / sizeof edges[0]; s++) {
        const char *says = calendar_says(&cal, edges[s].rep, edges[s].at_ms);

        if (strcmp(says, edges[s].says) != 0) {
            fprintf(stderr, "availability_calendar: calendar edge %zu: %s is %s, not %s\n", s, edges[s].rep, says,
                    edges[s].says);
            goto done;
        }
    }
    printf("\ncalendar edges: ok (hours and vacations end where they say, unknown reps are away)\n");

    printf("\nqueued while nobody was at work: %zu; calendar consulted %zu times\n", queued, cal.asked);
    /* Lars was on vacation all day: never assigned. */
    if (queued != 2 || leadroute_router_rep_assigned(router, "lars") != 0) {
        fprintf(stderr, "availability_calendar: unexpected totals\n");
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
