/*
 * fuzz_router: a router driven by a stream of operations.
 *
 * Each operation takes a few bytes: route a lead (a small pool of ids and
 * field values, any flags), acknowledge, close, tick with the clock moving
 * on, swap the table (three fixed ones) or the roster (two), change a rep's
 * availability, make a store method, notify or availability fail, retry
 * notifications. The store is the built-in one behind a wrapper that can
 * fail and that keeps a shadow of every claim. After every step:
 * - no lead is claimed twice, each claimed lead has exactly the owner the
 *   commits gave it, open counts match the claims;
 * - a decision matches the commits of its call (ASSIGNED: exactly one, to
 *   that rep; anything else: none), and a rep that got a lead was active,
 *   under capacity and cap, and not reported away (default owners aside);
 * - ticks move only overdue, unacknowledged leads, never back to an
 *   earlier holder, and their stats add up;
 * - metrics (routed, unrouted by reason, per rep, rule hits, pending
 *   notifications) equal what the decisions reported;
 * - the rule of every decision is the first hit of the reference evaluator.
 * SPDX-License-Identifier: MIT
 */
#include "fuzz_common.h"
#include "fuzz_targets_data.h"
#include "router/memstore.h"

#define NKEYS 12
#define NREPS 11
#define NTABLES 3
#define NROSTERS 2
#define MAX_LOG 512
#define MAX_PEND 4096
#define DAY_MS ((int64_t)86400000)

static const char *const rep_ids[NREPS] = { "camille", "diego", "emma",  "jonas", "kenji", "marcus",
                                            "nina",    "omar",  "priya", "rachel", "sofia" };

enum { M_LOAD, M_FIND, M_OPEN, M_COMMIT, M_CLOSE, M_WINDOW, M_ACK, M_LIST, M_NOTIFY, M_AVAIL, M_COUNT };

typedef struct stored_lead {
    leadroute_field fields[8];
    const char *items[3];
    char id[8];
    leadroute_lead lead;
} stored_lead;

typedef struct rep_limits {
    int active, default_owner;
    uint32_t capacity, cap_day;
} rep_limits;

typedef struct model {
    lr__memstore *mem;
    int64_t now;
    /* failure injection: method m fails on its countdown[m]-th call from now */
    uint32_t countdown[M_COUNT];
    int fail_code[M_COUNT];
    uint8_t availability[NREPS];  /* a leadroute_availability_verdict */
    /* shadow of the store */
    int owner[NKEYS];             /* rep index, -1 = unclaimed */
    uint32_t held[NKEYS];         /* every rep that held the lead since it was claimed */
    int acked[NKEYS];
    int64_t deadline[NKEYS];
    uint32_t open[NREPS];
    int64_t log_at[MAX_LOG];      /* commits: time and rep, for the rolling caps */
    int log_rep[MAX_LOG];
    size_t log_n;
    /* what the metrics must say */
    uint64_t routed, unrouted[LEADROUTE_UNROUTED_REASONS], rep_assigned[NREPS], hits[64];
    /* pending notifications, as the router keeps them: key and rep, oldest first */
    int pend_key[MAX_PEND], pend_rep[MAX_PEND];
    size_t npend;
    /* this call */
    int in_retry;                 /* retry_notifications: its notify calls, in order */
    int retry_key[MAX_PEND], retry_rep[MAX_PEND], retry_ok[MAX_PEND];
    size_t nretry;
    int in_tick;
    unsigned commits, notifies, notify_failures, notify_ok;
    int commit_rep, commit_key;
    uint32_t said_unavailable;
    /* current configuration */
    int table_index, roster_index;
    rep_limits limits[NREPS];
    stored_lead leads[NKEYS];
    int lookup_enabled;
} model;

static leadroute_table *tables[NTABLES];
static leadroute_roster *rosters[NROSTERS];
static leadroute_result *res_compiled, *res_reference;

static int rep_index(const char *id)
{
    for (int i = 0; id && i < NREPS; i++)
        if (strcmp(rep_ids[i], id) == 0)
            return i;
    return -1;
}

static int key_index(const char *key)
{
    unsigned k;
    char end;
    if (!key || sscanf(key, "lead:L%u%c", &k, &end) != 1 || k >= NKEYS)
        return -1;
    return (int)k;
}

static int injected(model *m, int method)
{
    if (m->countdown[method] == 0)
        return 0;
    return --m->countdown[method] == 0;
}

/* ---- store wrapper ----------------------------------------------------- */

static int w_load(void *u, const char *pool, void *buf, size_t cap, size_t *len, uint64_t *ver)
{
    model *m = u;
    if (injected(m, M_LOAD))
        return m->fail_code[M_LOAD];
    return lr__memstore_methods.load_pool(m->mem, pool, buf, cap, len, ver);
}

static int w_find(void *u, const char *key, char *rep, size_t cap)
{
    model *m = u;
    /* a retry asks who holds each lead; the model reads its shadow instead of a failure's play */
    if (!m->in_retry && injected(m, M_FIND))
        return m->fail_code[M_FIND]; /* ENOTFOUND here plays a claim race */
    return lr__memstore_methods.find_claim(m->mem, key, rep, cap);
}

static int w_open(void *u, const char *rep, uint32_t *count)
{
    model *m = u;
    if (injected(m, M_OPEN))
        return m->fail_code[M_OPEN];
    return lr__memstore_methods.open_count(m->mem, rep, count);
}

static int w_commit(void *u, const leadroute_commit *c, char *owner, size_t cap)
{
    model *m = u;
    if (injected(m, M_COMMIT))
        return m->fail_code[M_COMMIT]; /* ECONFLICT here makes the router retry */
    int rc = lr__memstore_methods.commit(m->mem, c, owner, cap);
    if (rc != LEADROUTE_OK)
        return rc;
    const leadroute_assignment *a = c->assignment;
    int k = key_index(a->key), r = rep_index(a->rep_id);
    FUZZ_CHECK(k >= 0 && r >= 0, "commit of key %s to rep %s", a->key, a->rep_id);
    int prev = a->previous ? rep_index(a->previous) : -1;
    if (!a->previous)
        FUZZ_CHECK(m->owner[k] < 0, "lead %s assigned twice: held by %s, committed to %s", a->key,
                   rep_ids[m->owner[k]], a->rep_id);
    else
        FUZZ_CHECK(prev >= 0 && m->owner[k] == prev, "lead %s moved from %s, but %s held it", a->key, a->previous,
                   m->owner[k] >= 0 ? rep_ids[m->owner[k]] : "no one");
    if (m->in_tick) {
        FUZZ_CHECK(!m->acked[k], "tick moved the acknowledged lead %s", a->key);
        FUZZ_CHECK(m->deadline[k] != 0 && m->deadline[k] <= m->now, "tick moved %s, due at %lld, now %lld",
                   a->key, (long long)m->deadline[k], (long long)m->now);
        if (!a->escalated)
            FUZZ_CHECK(!(m->held[k] & (1u << r)), "tick gave %s back to its earlier holder %s", a->key, a->rep_id);
        m->rep_assigned[r]++;
    }
    if (prev >= 0) {
        FUZZ_CHECK(m->open[prev] > 0, "open count of %s below zero", a->previous);
        m->open[prev]--;
    }
    m->owner[k] = r;
    m->held[k] |= 1u << r;
    m->acked[k] = 0;
    m->deadline[k] = a->deadline_ms;
    m->open[r]++;
    if (c->capacity)
        FUZZ_CHECK(m->open[r] <= c->capacity, "%s holds %u leads, capacity %u", a->rep_id, m->open[r],
                   c->capacity);
    if (m->log_n < MAX_LOG) {
        m->log_at[m->log_n] = a->at_ms;
        m->log_rep[m->log_n++] = r;
    }
    m->commits++;
    m->commit_rep = r;
    m->commit_key = k;
    return rc;
}

static int w_close(void *u, const char *key)
{
    model *m = u;
    if (injected(m, M_CLOSE))
        return m->fail_code[M_CLOSE];
    int rc = lr__memstore_methods.close(m->mem, key);
    int k = key_index(key);
    if (rc == LEADROUTE_OK && k >= 0) {
        FUZZ_CHECK(m->owner[k] >= 0, "closed %s, which no one held", key);
        m->open[m->owner[k]]--;
        m->owner[k] = -1;
        m->held[k] = 0;
        m->acked[k] = 0;
        m->deadline[k] = 0;
    }
    return rc;
}

static int w_window(void *u, const char *rep, const char *pool, int64_t since, uint64_t *count, double *value)
{
    model *m = u;
    if (injected(m, M_WINDOW))
        return m->fail_code[M_WINDOW];
    return lr__memstore_methods.window(m->mem, rep, pool, since, count, value);
}

static int w_ack(void *u, const char *key, int64_t at, int64_t *assigned, char *rep, size_t rcap, char *pool,
                 size_t pcap)
{
    model *m = u;
    if (injected(m, M_ACK))
        return m->fail_code[M_ACK];
    int rc = lr__memstore_methods.acknowledge(m->mem, key, at, assigned, rep, rcap, pool, pcap);
    int k = key_index(key);
    if ((rc == LEADROUTE_OK || rc == LEADROUTE_EEXISTS) && k >= 0)
        m->acked[k] = 1;
    return rc;
}

static int w_list(void *u, int64_t now, int (*each)(void *, const leadroute_assignment *), void *ctx)
{
    model *m = u;
    if (injected(m, M_LIST))
        return m->fail_code[M_LIST];
    return lr__memstore_methods.list_due(m->mem, now, each, ctx);
}

static const leadroute_store wrapped_store = { LEADROUTE_STORE_VERSION, w_load, w_find, w_open, w_commit, w_close,
                                               w_window, w_ack, w_list };

/* ---- host callbacks ---------------------------------------------------- */

/* A notification delivered supersedes the pending ones of its lead. */
static void pend_drop_key(model *m, int k)
{
    size_t i, o = 0;
    for (i = 0; i < m->npend; i++)
        if (m->pend_key[i] != k) {
            m->pend_key[o] = m->pend_key[i];
            m->pend_rep[o++] = m->pend_rep[i];
        }
    m->npend = o;
}

static int on_assigned(void *u, const leadroute_assignment *a)
{
    model *m = u;
    int k = key_index(a->key), r = rep_index(a->rep_id), failed;
    m->notifies++;
    FUZZ_CHECK(k >= 0 && r >= 0, "notified %s to %s", a->key, a->rep_id);
    failed = injected(m, M_NOTIFY);
    if (m->in_retry) {
        FUZZ_CHECK(m->nretry < MAX_PEND, "more retried notifications than the model keeps");
        m->retry_key[m->nretry] = k;
        m->retry_rep[m->nretry] = r;
        m->retry_ok[m->nretry++] = !failed;
    } else if (failed) {
        FUZZ_CHECK(m->npend < MAX_PEND, "more pending notifications than the model keeps");
        m->pend_key[m->npend] = k;
        m->pend_rep[m->npend++] = r;
    } else {
        pend_drop_key(m, k);
    }
    if (failed) {
        m->notify_failures++;
        return LEADROUTE_EUSER;
    }
    m->notify_ok++;
    return LEADROUTE_OK;
}

static int check_availability(void *u, const char *rep_id, const leadroute_lead *lead, int64_t now,
                              uint32_t *verdict, char *reason, size_t cap)
{
    model *m = u;
    int r = rep_index(rep_id);
    FUZZ_CHECK(r >= 0, "availability asked for %s", rep_id);
    if (injected(m, M_AVAIL))
        return m->fail_code[M_AVAIL];
    *verdict = m->availability[r];
    if (*verdict != LEADROUTE_AVAILABLE)
        m->said_unavailable |= 1u << r;
    if (*verdict == LEADROUTE_AWAY && cap > 0)
        snprintf(reason, cap, "away %u", (unsigned)r);
    return LEADROUTE_OK;
}

static int64_t clock_now(void *u)
{
    return ((model *)u)->now;
}

static const leadroute_lead *lookup(void *u, const char *key)
{
    model *m = u;
    int k = key_index(key);
    return m->lookup_enabled && k >= 0 && m->leads[k].lead.id[0] ? &m->leads[k].lead : NULL;
}

/* ---- setup ------------------------------------------------------------- */

static void fixtures(void)
{
    static const char *const table_text[NTABLES] = { fuzz_table_main, fuzz_table_second, fuzz_table_third };
    static const char *const roster_text[NROSTERS] = { fuzz_roster_main, fuzz_roster_second };
    if (tables[0])
        return;
    for (int i = 0; i < NTABLES; i++)
        if (leadroute_table_parse(&tables[i], table_text[i], strlen(table_text[i]), "t.csv", NULL))
            fuzz_fail("table %d: %s", i, leadroute_error_last()->message);
    for (int i = 0; i < NROSTERS; i++) {
        if (leadroute_roster_parse(&rosters[i], roster_text[i], strlen(roster_text[i]), "r.csv", NULL))
            fuzz_fail("roster %d: %s", i, leadroute_error_last()->message);
        FUZZ_CHECK(leadroute_roster_rep_count(rosters[i]) == NREPS, "roster %d has other reps", i);
        for (int r = 0; r < NREPS; r++)
            FUZZ_CHECK(strcmp(leadroute_roster_rep_id(rosters[i], (size_t)r), rep_ids[r]) == 0, "rep order");
    }
    if (leadroute_result_new(&res_compiled, tables[0], NULL) || leadroute_result_new(&res_reference, tables[0], NULL))
        fuzz_fail("results: %s", leadroute_error_last()->message);
}

static void read_limits(model *m)
{
    const leadroute_roster *roster = rosters[m->roster_index];
    for (int r = 0; r < NREPS; r++) {
        leadroute_rep rep = LEADROUTE_REP_INIT;
        FUZZ_CHECK(leadroute_roster_rep(roster, (size_t)r, &rep) == LEADROUTE_OK, "rep %d", r);
        m->limits[r].active = rep.active;
        m->limits[r].capacity = rep.capacity;
        m->limits[r].cap_day = rep.cap_day;
        m->limits[r].default_owner = 0;
    }
    for (size_t p = 0; p < leadroute_roster_pool_count(roster); p++) {
        leadroute_pool pool = LEADROUTE_POOL_INIT;
        FUZZ_CHECK(leadroute_roster_pool(roster, p, &pool) == LEADROUTE_OK, "pool %zu", p);
        int r = rep_index(pool.default_owner);
        if (r >= 0)
            m->limits[r].default_owner = 1;
    }
}

/* ---- operations -------------------------------------------------------- */

static const char *const regions[] = { "EMEA", "emea", "NA", "APAC", "", " EMEA " };
static const char *const countries[] = { "DE", "AT", "US", "FR", "CH" };
static const char *const postals[] = { "94107", "95014", "10001", "80331" };
static const char *const products[] = { "crm", "ai", "cpq", "erp" };
static const char *const languages[] = { "en", "de", "fr", "es", "ja", "nl" };
static const char *const emails[] = { "a@acme.example", "b@acme.example", "c@globex.example", "d@gmail.com" };
static const double scores[] = { 5, 45, 55, 70, 80, 95, -1 };
static const double employees[] = { 10, 500, 2000, 6000 };

static void build_lead(stored_lead *s, fuzz_bytes *b, int k)
{
    uint32_t present = fuzz_u32(b);
    size_t n = 0;
    snprintf(s->id, sizeof s->id, "L%d", k);
    for (int f = 0; f < 8; f++) {
        if (!(present >> f & 1))
            continue;
        uint8_t pick = fuzz_u8(b);
        leadroute_value v = LEADROUTE_VALUE_INIT;
        const char *name = "";
        switch (f) {
        case 0:
            name = "region", v.type = LEADROUTE_VALUE_STRING, v.string = regions[pick % 6];
            break;
        case 1:
            name = "country", v.type = LEADROUTE_VALUE_STRING, v.string = countries[pick % 5];
            break;
        case 2:
            name = "postal", v.type = LEADROUTE_VALUE_STRING, v.string = postals[pick % 4];
            break;
        case 3:
            name = "score", v.type = LEADROUTE_VALUE_NUMBER, v.number = scores[pick % 7];
            break;
        case 4:
            name = "employees", v.type = LEADROUTE_VALUE_NUMBER, v.number = employees[pick % 4];
            break;
        case 5: {
            size_t count = pick % 4;
            for (size_t i = 0; i < count; i++)
                s->items[i] = products[(pick >> (2 + i * 2)) % 4];
            name = "products", v.type = LEADROUTE_VALUE_SET, v.items = s->items, v.item_count = count;
            break;
        }
        case 6:
            name = "language", v.type = LEADROUTE_VALUE_STRING, v.string = languages[pick % 6];
            break;
        default:
            if (pick & 1)
                name = "email", v.type = LEADROUTE_VALUE_STRING, v.string = emails[(pick >> 1) % 4];
            else
                name = "deal_value", v.type = LEADROUTE_VALUE_NUMBER, v.number = (double)(pick >> 1) * 250.0;
            break;
        }
        s->fields[n].name = name;
        s->fields[n].value = v;
        n++;
    }
    if (present >> 8 & 1) { /* vip: a bool field */
        leadroute_value v = LEADROUTE_VALUE_INIT;
        v.type = LEADROUTE_VALUE_BOOL;
        v.boolean = (int)(present >> 9 & 1);
        if (n < 8) {
            s->fields[n].name = "vip";
            s->fields[n].value = v;
            n++;
        }
    }
    leadroute_lead lead = LEADROUTE_LEAD_INIT;
    lead.id = (present >> 10 & 15) == 0 ? " " : s->id; /* a blank id cannot be routed */
    lead.fields = s->fields;
    lead.field_count = n;
    s->lead = lead;
}

static int rule_index_of(const leadroute_table *t, const char *id)
{
    for (size_t i = 0; id && i < leadroute_table_rule_count(t); i++)
        if (strcmp(leadroute_table_rule_id(t, i), id) == 0)
            return (int)i;
    return -1;
}

static void begin_call(model *m)
{
    m->commits = m->notifies = m->notify_failures = m->notify_ok = 0;
    m->commit_rep = m->commit_key = -1;
    m->said_unavailable = 0;
}

static void op_route(model *m, leadroute_router *router, leadroute_decision *d, fuzz_bytes *b)
{
    int k = fuzz_u8(b) % NKEYS;
    uint32_t flags = fuzz_u8(b) & (LEADROUTE_ROUTE_TRACE | LEADROUTE_ROUTE_REASSIGN | LEADROUTE_ROUTE_DRY_RUN);
    stored_lead *s = &m->leads[k];
    build_lead(s, b, k);
    const leadroute_table *table = tables[m->table_index];
    int owner_before = m->owner[k];
    uint32_t open_before[NREPS];
    memcpy(open_before, m->open, sizeof open_before);
    size_t log_before = m->log_n;

    /* the rule the router uses is the reference evaluator's first hit */
    int er = fuzz_eval_both(table, &s->lead, res_compiled, res_reference);
    const char *expected_rule = er == LEADROUTE_OK && leadroute_result_count(res_reference) > 0
                                    ? leadroute_result_rule_id(res_reference, 0)
                                    : NULL;

    begin_call(m);
    int rc = leadroute_route(router, &s->lead, flags, d);
    uint32_t status = leadroute_decision_status(d);
    int dry = (flags & LEADROUTE_ROUTE_DRY_RUN) != 0;
    if (dry)
        FUZZ_CHECK(m->commits == 0 && m->notifies == 0, "dry run committed %u, notified %u", m->commits,
                   m->notifies);
    if (rc != LEADROUTE_OK) {
        FUZZ_CHECK(status == LEADROUTE_ROUTE_UNROUTED, "route failed (%d) with status %u", rc, status);
        FUZZ_CHECK(m->commits == 0, "failed route (%d) committed", rc);
        if (!dry)
            m->unrouted[LEADROUTE_UNROUTED_ERROR]++;
        return;
    }
    const char *rule = leadroute_decision_rule(d);
    FUZZ_CHECK((rule == NULL) == (expected_rule == NULL) && (!rule || strcmp(rule, expected_rule) == 0),
               "decision rule %s, reference first hit %s", rule ? rule : "none",
               expected_rule ? expected_rule : "none");
    if (!dry && rule) {
        int ri = rule_index_of(table, rule);
        FUZZ_CHECK(ri >= 0 && ri < 64, "rule %s not in the table", rule);
        m->hits[ri]++;
    }
    const char *rep = leadroute_decision_rep(d);
    int r = rep_index(rep);
    switch (status) {
    case LEADROUTE_ROUTE_ASSIGNED: {
        FUZZ_CHECK(r >= 0, "assigned to unknown rep %s", rep ? rep : "(null)");
        const rep_limits *lim = &m->limits[r];
        FUZZ_CHECK(lim->active || lim->default_owner, "lead %d given to inactive %s", k, rep);
        if (!lim->default_owner) {
            FUZZ_CHECK(!(m->said_unavailable & (1u << r)), "lead %d given to %s, who is away", k, rep);
            FUZZ_CHECK(lim->capacity == 0 || open_before[r] < lim->capacity, "lead %d given to %s at capacity %u",
                       k, rep, lim->capacity);
            if (lim->cap_day != LEADROUTE_NO_CAP) {
                uint32_t recent = 0;
                for (size_t i = 0; i < log_before; i++)
                    recent += m->log_rep[i] == r && m->log_at[i] > m->now - DAY_MS;
                FUZZ_CHECK(log_before == MAX_LOG || recent < lim->cap_day, "%s got a lead past its day cap %u",
                           rep, lim->cap_day);
            }
        }
        if (!(flags & LEADROUTE_ROUTE_REASSIGN) && !dry)
            FUZZ_CHECK(owner_before < 0, "lead %d held by %s was assigned again to %s", k,
                       rep_ids[owner_before], rep);
        if (!dry) {
            FUZZ_CHECK(m->commits == 1 && m->commit_rep == r && m->commit_key == k,
                       "assigned to %s with %u commits (last: rep %d, key %d)", rep, m->commits, m->commit_rep,
                       m->commit_key);
            FUZZ_CHECK(m->notifies == 1, "assignment notified %u times", m->notifies);
            FUZZ_CHECK(leadroute_decision_notified(d) == (int)m->notify_ok, "notified flag differs");
            m->routed++;
            m->rep_assigned[r]++;
        }
        break;
    }
    case LEADROUTE_ROUTE_EXISTING:
        FUZZ_CHECK(m->commits == 0, "EXISTING with a commit");
        FUZZ_CHECK(r >= 0 && r == m->owner[k], "EXISTING names %s, the store has %s", rep ? rep : "(null)",
                   m->owner[k] >= 0 ? rep_ids[m->owner[k]] : "no one");
        break;
    case LEADROUTE_ROUTE_QUEUED:
    case LEADROUTE_ROUTE_UNASSIGNED:
        FUZZ_CHECK(m->commits == 0 && rep == NULL, "status %u with a commit or rep", status);
        if (status == LEADROUTE_ROUTE_UNASSIGNED && !dry)
            m->unrouted[!rule ? LEADROUTE_UNROUTED_NO_RULE : LEADROUTE_UNROUTED_EMPTY]++;
        break;
    default:
        fuzz_fail("route OK with status %u", status);
    }
}

static void op_tick(model *m, leadroute_router *router, fuzz_bytes *b)
{
    m->now += (int64_t)fuzz_u8(b) * 60000 * 5;
    m->lookup_enabled = fuzz_u8(b) & 1;
    begin_call(m);
    m->in_tick = 1;
    leadroute_tick_stats st = LEADROUTE_TICK_STATS_INIT;
    int rc = leadroute_router_tick(router, m->now, lookup, m, &st);
    m->in_tick = 0;
    if (rc != LEADROUTE_OK) {
        FUZZ_CHECK(m->commits == 0, "failed tick (%d) committed %u", rc, m->commits);
        return;
    }
    FUZZ_CHECK(st.due == st.reassigned + st.escalated + st.kept + st.raced, "tick stats do not add up");
    FUZZ_CHECK(m->commits == st.reassigned + st.escalated, "tick moved %u leads, stats say %llu", m->commits,
               (unsigned long long)(st.reassigned + st.escalated));
    FUZZ_CHECK(m->notifies == m->commits, "tick notified %u of %u moves", m->notifies, m->commits);
}

static void check_state(model *m, leadroute_router *router, int with_json)
{
    char holder[LEADROUTE_MAX_NAME + 1];
    for (int k = 0; k < NKEYS; k++) {
        char key[16];
        snprintf(key, sizeof key, "lead:L%d", k);
        int rc = lr__memstore_methods.find_claim(m->mem, key, holder, sizeof holder);
        if (m->owner[k] < 0)
            FUZZ_CHECK(rc == LEADROUTE_ENOTFOUND, "%s claimed by %s in the store, no one in the shadow", key,
                       rc == 0 ? holder : "?");
        else
            FUZZ_CHECK(rc == LEADROUTE_OK && strcmp(holder, rep_ids[m->owner[k]]) == 0,
                       "%s held by %s in the shadow, the store says %d %s", key, rep_ids[m->owner[k]], rc,
                       rc == 0 ? holder : "");
    }
    uint64_t assigned_sum = 0;
    for (int r = 0; r < NREPS; r++) {
        uint32_t open = 0;
        FUZZ_CHECK(lr__memstore_methods.open_count(m->mem, rep_ids[r], &open) == LEADROUTE_OK, "open_count");
        FUZZ_CHECK(open == m->open[r], "%s has %u open leads, the shadow %u", rep_ids[r], open, m->open[r]);
        uint64_t got = leadroute_router_rep_assigned(router, rep_ids[r]);
        FUZZ_CHECK(got == m->rep_assigned[r], "metrics give %s %llu assignments, decisions %llu", rep_ids[r],
                   (unsigned long long)got, (unsigned long long)m->rep_assigned[r]);
        assigned_sum += got;
    }
    for (uint32_t why = 0; why < LEADROUTE_UNROUTED_REASONS; why++) {
        uint64_t got = leadroute_router_unrouted(router, why), want = m->unrouted[why];
        if (why == LEADROUTE_UNROUTED_EMPTY) /* NO_TARGET and EMPTY are told apart by the roster only */
            got += leadroute_router_unrouted(router, LEADROUTE_UNROUTED_NO_TARGET);
        if (why == LEADROUTE_UNROUTED_NO_TARGET)
            continue;
        FUZZ_CHECK(got == want, "unrouted[%u] is %llu, decisions say %llu", why, (unsigned long long)got,
                   (unsigned long long)want);
    }
    const leadroute_table *table = tables[m->table_index];
    for (size_t i = 0; i < leadroute_table_rule_count(table); i++)
        FUZZ_CHECK(leadroute_router_rule_hits(router, i) == m->hits[i], "rule %s: %llu hits, decisions %llu",
                   leadroute_table_rule_id(table, i), (unsigned long long)leadroute_router_rule_hits(router, i),
                   (unsigned long long)m->hits[i]);
    FUZZ_CHECK(leadroute_router_pending_count(router) == m->npend, "%zu notifications pending, expected %zu",
               leadroute_router_pending_count(router), m->npend);
    if (!with_json)
        return;
    char json[8192];
    size_t needed = 0;
    FUZZ_CHECK(leadroute_router_metrics_json(router, json, sizeof json, &needed) == LEADROUTE_OK, "metrics");
    const char *routed = strstr(json, "\"routed\":");
    FUZZ_CHECK(routed && strtoull(routed + 9, NULL, 10) == m->routed, "metrics routed %s, decisions %llu",
               routed ? routed + 9 : "none", (unsigned long long)m->routed);
    FUZZ_CHECK(assigned_sum >= m->routed, "reps hold %llu assignments, %llu were routed",
               (unsigned long long)assigned_sum, (unsigned long long)m->routed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static model m;
    fixtures();
    memset(&m, 0, sizeof m);
    for (int k = 0; k < NKEYS; k++)
        m.owner[k] = -1;
    m.now = 1772357400000;
    lr__alloc alloc;
    if (lr__alloc_init(&alloc, NULL) || lr__memstore_new(&m.mem, &alloc, NULL, NULL))
        fuzz_fail("memstore");
    read_limits(&m);

    leadroute_router *router = NULL;
    leadroute_decision *d = NULL;
    leadroute_clock clock = { LEADROUTE_CLOCK_VERSION, clock_now };
    leadroute_notify notify = { LEADROUTE_NOTIFY_VERSION, on_assigned };
    leadroute_availability avail = { LEADROUTE_AVAILABILITY_VERSION, check_availability };
    if (leadroute_router_new(&router, tables[0], rosters[0], NULL) ||
        leadroute_router_set_store(router, &wrapped_store, &m) || leadroute_router_set_clock(router, &clock, &m) ||
        leadroute_router_set_notify(router, &notify, &m) ||
        leadroute_router_set_availability(router, &avail, &m) || leadroute_decision_new(&d, NULL))
        fuzz_fail("router: %s", leadroute_error_last()->message);

    fuzz_bytes b = { data, size, 0 };
    for (int step = 0; step < 128 && fuzz_more(&b); step++) {
        uint8_t op = fuzz_u8(&b);
        switch (op % 10) {
        case 0:
        case 1:
        case 2:
            op_route(&m, router, d, &b);
            break;
        case 3: {
            char key[8];
            snprintf(key, sizeof key, "L%d", fuzz_u8(&b) % NKEYS);
            begin_call(&m);
            leadroute_router_acknowledge(router, key);
            FUZZ_CHECK(m.commits == 0, "acknowledge committed");
            break;
        }
        case 4:
            op_tick(&m, router, &b);
            break;
        case 5: {
            char key[8];
            snprintf(key, sizeof key, "L%d", fuzz_u8(&b) % NKEYS);
            leadroute_router_close(router, key);
            break;
        }
        case 6: {
            int t = fuzz_u8(&b) % NTABLES;
            if (t != m.table_index) {
                FUZZ_CHECK(leadroute_router_set_table(router, tables[t]) == LEADROUTE_OK, "set_table");
                m.table_index = t;
                memset(m.hits, 0, sizeof m.hits); /* a different table counts from zero */
            }
            break;
        }
        case 7: {
            int r = fuzz_u8(&b) % NROSTERS;
            FUZZ_CHECK(leadroute_router_set_roster(router, rosters[r]) == LEADROUTE_OK, "set_roster");
            m.roster_index = r;
            read_limits(&m);
            break;
        }
        case 8: {
            uint8_t x = fuzz_u8(&b);
            m.availability[x % NREPS] = (uint8_t)((x >> 4) % 3);
            break;
        }
        default: {
            uint8_t x = fuzz_u8(&b), y = fuzz_u8(&b);
            int method = x % (M_COUNT + 2);
            static const int codes[] = { LEADROUTE_EUSER, LEADROUTE_EIO, LEADROUTE_ECONFLICT, LEADROUTE_ENOTFOUND };
            if (method == M_COUNT) {
                /* retry pending notifications */
                size_t delivered = 0, before = m.npend, calls = 0, kept = 0;
                begin_call(&m);
                m.in_retry = 1;
                m.nretry = 0;
                leadroute_router_retry_notifications(router, &delivered);
                m.in_retry = 0;
                /* oldest first; dropped undelivered: one with a later one of its lead, one whose lead
                 * another rep holds now; the others are notified, and stay if that fails */
                for (size_t i = 0; i < before; i++) {
                    int k = m.pend_key[i], rep = m.pend_rep[i], later = 0;
                    for (size_t j = i + 1; j < before; j++)
                        later |= m.pend_key[j] == k;
                    if (later || (m.owner[k] >= 0 && m.owner[k] != rep))
                        continue;
                    FUZZ_CHECK(calls < m.nretry && m.retry_key[calls] == k && m.retry_rep[calls] == rep,
                               "retry: notification %zu should be of L%d to %s", calls, k, rep_ids[rep]);
                    if (!m.retry_ok[calls++]) {
                        m.pend_key[kept] = k;
                        m.pend_rep[kept++] = rep;
                    }
                }
                FUZZ_CHECK(calls == m.nretry && delivered == m.notify_ok,
                           "retry: %zu pending, %zu notified (%zu expected), %zu delivered of %u", before, m.nretry,
                           calls, delivered, m.notify_ok);
                m.npend = kept;
            } else if (method == M_COUNT + 1) {
                m.now += (int64_t)y * 1000;
            } else {
                m.countdown[method] = (uint32_t)(y % 4);
                m.fail_code[method] = codes[(y >> 2) % 4];
                /* a find_claim that says "nobody" plays a lost race; other methods fail plainly */
                if (m.fail_code[method] == LEADROUTE_ENOTFOUND && method != M_FIND)
                    m.fail_code[method] = LEADROUTE_EIO;
                if (m.fail_code[method] == LEADROUTE_ECONFLICT && method != M_COMMIT)
                    m.fail_code[method] = LEADROUTE_EUSER;
            }
            break;
        }
        }
        /* the JSON snapshot is the slow part: every 8th step and at the end */
        check_state(&m, router, step % 8 == 7 || !fuzz_more(&b));
    }
    leadroute_decision_free(d);
    leadroute_router_free(router);
    lr__memstore_free(m.mem);
    return 0;
}
