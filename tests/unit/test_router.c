/* The router, checked against the contract of include/leadroute/router.h
 * and docs/router.md: outputs, owners, strategies, filters, availability,
 * empty pools, dedupe, host stores, notify, dry runs and forks, explain,
 * metrics and bad input. Every test is deterministic. */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "leadroute/leadroute.h"
#include "base/value.h"
#include "router/internal.h"
#include "testutil.h"

#define NOW_MS INT64_C(1772357400125)

static void ok(int rc)
{
    if (rc != LEADROUTE_OK)
        fail_msg("call failed (%d): %s", rc, leadroute_error_last()->message);
}

static void expect_rc(int got, int want)
{
    if (got != want)
        fail_msg("expected %d (%s), got %d: %s", want, leadroute_strerror(want), got,
                 leadroute_error_last()->message);
}

/* ---- building blocks -------------------------------------------------------- */

/* Table header every test shares; rows pick a rule by the lead's `kind`. */
#define HDR "rule,kind,out:owner,out:pool,out:queue,out:status,out:sla_minutes:number,out:tags\n"

static leadroute_rep mkrep(const char *id, const char *const *pools, size_t npools)
{
    leadroute_rep r = LEADROUTE_REP_INIT;
    r.id = id;
    r.pools = pools;
    r.pool_count = npools;
    return r;
}

static leadroute_pool mkpool(const char *id, uint32_t strategy)
{
    leadroute_pool p = LEADROUTE_POOL_INIT;
    p.id = id;
    p.strategy = strategy;
    return p;
}

static leadroute_roster *roster_ok(const leadroute_rep *reps, size_t nreps, const leadroute_pool *pools,
                                   size_t npools)
{
    leadroute_roster *ro = NULL;
    ok(leadroute_roster_new(&ro, reps, nreps, pools, npools, NULL));
    assert_non_null(ro);
    return ro;
}

static int64_t fixed_now(void *ud)
{
    return ud ? *(const int64_t *)ud : NOW_MS;
}

/* A router that owns no references of the caller's: table and roster are
 * dropped here, the router keeps its own. Clock fixed. */
static leadroute_router *router_opts(const char *table, leadroute_roster *ro, const leadroute_router_options *o)
{
    leadroute_table *t = parse_ok(table);
    leadroute_router *r = NULL;
    leadroute_clock clk = { LEADROUTE_CLOCK_VERSION, fixed_now };
    ok(leadroute_router_new(&r, t, ro, o));
    assert_non_null(r);
    ok(leadroute_router_set_clock(r, &clk, NULL));
    leadroute_table_unref(t);
    leadroute_roster_unref(ro);
    return r;
}

static leadroute_router *router_of(const char *table, leadroute_roster *ro)
{
    return router_opts(table, ro, NULL);
}

static leadroute_decision *decision(void)
{
    leadroute_decision *d = NULL;
    ok(leadroute_decision_new(&d, NULL));
    assert_non_null(d);
    return d;
}

static void lead_of(tlead *l, const char *id, const char *kind)
{
    tl_init(l);
    l->lead.id = id;
    if (kind)
        tl_str(l, "kind", kind);
}

static int route_flags(leadroute_router *r, leadroute_decision *d, const char *id, const char *kind, uint32_t flags)
{
    tlead l;
    lead_of(&l, id, kind);
    return leadroute_route(r, &l.lead, flags, d);
}

/* Route and expect an assignment; returns the rep (owned by the decision). */
static const char *assign(leadroute_router *r, leadroute_decision *d, const char *id, const char *kind)
{
    int rc = route_flags(r, d, id, kind, LEADROUTE_ROUTE_TRACE);
    if (rc != LEADROUTE_OK)
        fail_msg("routing %s failed (%d): %s", id, rc, leadroute_decision_reason(d));
    if (leadroute_decision_status(d) != LEADROUTE_ROUTE_ASSIGNED)
        fail_msg("lead %s: status %s, reason: %s", id, leadroute_route_status_name(leadroute_decision_status(d)),
                 leadroute_decision_reason(d));
    assert_non_null(leadroute_decision_rep(d));
    return leadroute_decision_rep(d);
}

static void expect_status(const leadroute_decision *d, uint32_t status)
{
    if (leadroute_decision_status(d) != status)
        fail_msg("status %s, expected %s; reason: %s", leadroute_route_status_name(leadroute_decision_status(d)),
                 leadroute_route_status_name(status), leadroute_decision_reason(d));
}

static void expect_str(const char *got, const char *want)
{
    if (!want) {
        if (got)
            fail_msg("expected NULL, got '%s'", got);
        return;
    }
    if (!got)
        fail_msg("expected '%s', got NULL", want);
    if (strcmp(got, want) != 0)
        fail_msg("expected '%s', got '%s'", want, got);
}

static void expect_has(const char *hay, const char *needle)
{
    assert_non_null(hay);
    if (!strstr(hay, needle))
        fail_msg("'%s' lacks '%s'", hay, needle);
}

/* The trace line of `rep` (in `pool`, or any pool when NULL); fails if absent. */
static uint32_t verdict_of(const leadroute_decision *d, const char *rep, const char *pool, const char **detail)
{
    size_t i, n = leadroute_decision_candidate_count(d);
    for (i = 0; i < n; i++) {
        const char *r = NULL, *p = NULL, *det = NULL;
        uint32_t v = 0;
        ok(leadroute_decision_candidate(d, i, &r, &p, &v, &det));
        if (r && strcmp(r, rep) == 0 && (!pool || (p && strcmp(p, pool) == 0))) {
            if (detail)
                *detail = det;
            return v;
        }
    }
    fail_msg("no candidate %s%s%s in the trace", rep, pool ? " in pool " : "", pool ? pool : "");
    return 0;
}

static int in_trace(const leadroute_decision *d, const char *rep)
{
    size_t i, n = leadroute_decision_candidate_count(d);
    for (i = 0; i < n; i++) {
        const char *r = NULL;
        ok(leadroute_decision_candidate(d, i, &r, NULL, NULL, NULL));
        if (r && strcmp(r, rep) == 0)
            return 1;
    }
    return 0;
}

static void expect_verdict(const leadroute_decision *d, const char *rep, const char *pool, uint32_t want,
                           const char *detail_has)
{
    const char *det = NULL;
    uint32_t v = verdict_of(d, rep, pool, &det);
    if (v != want)
        fail_msg("candidate %s: verdict %u, expected %u (detail %s)", rep, v, want, det ? det : "(none)");
    if (detail_has) {
        if (!det)
            fail_msg("candidate %s: no detail, expected one with '%s'", rep, detail_has);
        expect_has(det, detail_has);
    }
}

/* ---- availability, notify: recording host callbacks -------------------------- */

typedef struct avail {
    const char *away[8];
    const char *why[8];
    size_t naway;
    const char *full[4];     /* answered AT_CAPACITY */
    size_t nfull;
    char asked[128][32];
    size_t nasked;
    int fail;                /* returned when non-zero */
} avail;

static int avail_check(void *ud, const char *rep, const leadroute_lead *lead, int64_t now, uint32_t *verdict,
                       char *reason, size_t cap)
{
    avail *a = ud;
    size_t i;
    assert_non_null(lead);
    assert_int_equal(now, NOW_MS);
    if (a->nasked < 128)
        snprintf(a->asked[a->nasked++], sizeof a->asked[0], "%s", rep);
    if (a->fail)
        return a->fail;
    *verdict = LEADROUTE_AVAILABLE;
    for (i = 0; i < a->naway; i++)
        if (strcmp(a->away[i], rep) == 0) {
            *verdict = LEADROUTE_AWAY;
            if (a->why[i])
                snprintf(reason, cap, "%s", a->why[i]);
        }
    for (i = 0; i < a->nfull; i++)
        if (strcmp(a->full[i], rep) == 0)
            *verdict = LEADROUTE_AT_CAPACITY;
    return LEADROUTE_OK;
}

static int avail_weird(void *ud, const char *rep, const leadroute_lead *lead, int64_t now, uint32_t *verdict,
                       char *reason, size_t cap)
{
    (void)ud, (void)rep, (void)lead, (void)now, (void)reason, (void)cap;
    *verdict = 7;
    return LEADROUTE_OK;
}

static size_t times_asked(const avail *a, const char *rep)
{
    size_t i, n = 0;
    for (i = 0; i < a->nasked; i++)
        n += strcmp(a->asked[i], rep) == 0;
    return n;
}

static void set_avail(leadroute_router *r, avail *a)
{
    leadroute_availability v = { LEADROUTE_AVAILABILITY_VERSION, avail_check };
    ok(leadroute_router_set_availability(r, &v, a));
}

typedef struct nlog {
    int fail;
    size_t n, calls;
    char key[64][64], rep[64][32], pool[64][32], lead[64][32];
    int64_t at[64];
    double sla[64];
    uint64_t hash[64];
} nlog;

static int notify_cb(void *ud, const leadroute_assignment *a)
{
    nlog *l = ud;
    l->calls++;
    assert_int_equal(a->version, LEADROUTE_ASSIGNMENT_VERSION);
    if (l->fail)
        return l->fail;
    assert_true(l->n < 64);
    snprintf(l->key[l->n], sizeof l->key[0], "%s", a->key);
    snprintf(l->rep[l->n], sizeof l->rep[0], "%s", a->rep_id);
    snprintf(l->pool[l->n], sizeof l->pool[0], "%s", a->pool_id ? a->pool_id : "-");
    snprintf(l->lead[l->n], sizeof l->lead[0], "%s", a->lead_id ? a->lead_id : "-");
    l->at[l->n] = a->at_ms;
    l->sla[l->n] = a->sla_minutes;
    l->hash[l->n] = a->table_hash;
    l->n++;
    return LEADROUTE_OK;
}

static void set_notify(leadroute_router *r, nlog *l)
{
    leadroute_notify v = { LEADROUTE_NOTIFY_VERSION, notify_cb };
    ok(leadroute_router_set_notify(r, &v, l));
}

/* ---- a host store: a plain map with failure injection ------------------------ */

typedef struct tsdata {
    struct { char key[96]; char rep[32]; } claims[128];
    size_t nclaims;
    struct { char id[32]; uint64_t version; char state[512]; size_t len; } pools[8];
    size_t npools;
    struct { char id[32]; uint32_t open; } opens[16];
    size_t nopens;
    size_t nassign;
} tsdata;

typedef struct tstore {
    tsdata s;
    int fail_load, fail_find, fail_open, fail_commit, fail_close;
    int conflicts;            /* ECONFLICT for this many commits; -1 forever */
    const char *fill_on_conflict; /* with that ECONFLICT, another host gives this rep an open lead */
    const char *exists_owner; /* next commit says EEXISTS with this owner */
    const char *fill_first;   /* before the next commit, another host gives this rep fill_count open leads */
    uint32_t fill_count;
    uint32_t capacities[8];   /* the `capacity` of the first eight commits */
    unsigned calls_load, calls_find, calls_open, calls_commit;
} tstore;

static int ts_claim(tsdata *s, const char *key)
{
    size_t i;
    for (i = 0; i < s->nclaims; i++)
        if (strcmp(s->claims[i].key, key) == 0)
            return (int)i;
    return -1;
}

static int ts_pool(tsdata *s, const char *id)
{
    size_t i;
    for (i = 0; i < s->npools; i++)
        if (strcmp(s->pools[i].id, id) == 0)
            return (int)i;
    return -1;
}

static uint32_t *ts_open(tsdata *s, const char *id, int create)
{
    size_t i;
    for (i = 0; i < s->nopens; i++)
        if (strcmp(s->opens[i].id, id) == 0)
            return &s->opens[i].open;
    if (!create)
        return NULL;
    assert_true(s->nopens < 16);
    snprintf(s->opens[s->nopens].id, sizeof s->opens[0].id, "%s", id);
    s->opens[s->nopens].open = 0;
    return &s->opens[s->nopens++].open;
}

static int ts_load_pool(void *ud, const char *pool_id, void *buf, size_t cap, size_t *length, uint64_t *version)
{
    tstore *t = ud;
    int i;
    t->calls_load++;
    if (t->fail_load)
        return t->fail_load;
    i = ts_pool(&t->s, pool_id);
    *length = 0;
    *version = 0;
    if (i < 0)
        return LEADROUTE_OK;
    *length = t->s.pools[i].len;
    *version = t->s.pools[i].version;
    if (t->s.pools[i].len <= cap)
        memcpy(buf, t->s.pools[i].state, t->s.pools[i].len);
    return LEADROUTE_OK;
}

static int ts_find_claim(void *ud, const char *key, char *rep_id, size_t cap)
{
    tstore *t = ud;
    int i;
    t->calls_find++;
    if (t->fail_find)
        return t->fail_find;
    if ((i = ts_claim(&t->s, key)) < 0)
        return LEADROUTE_ENOTFOUND;
    snprintf(rep_id, cap, "%s", t->s.claims[i].rep);
    return LEADROUTE_OK;
}

static int ts_open_count(void *ud, const char *rep_id, uint32_t *count)
{
    tstore *t = ud;
    uint32_t *o;
    t->calls_open++;
    if (t->fail_open)
        return t->fail_open;
    o = ts_open(&t->s, rep_id, 0);
    *count = o ? *o : 0;
    return LEADROUTE_OK;
}

/* The commit contract, step by step. */
static int ts_commit(void *ud, const leadroute_commit *c, char *owner, size_t owner_cap)
{
    tstore *t = ud;
    tsdata *s = &t->s;
    const leadroute_assignment *a = c->assignment;
    int pi = -1, ci;
    uint32_t *open;
    if (t->calls_commit < 8)
        t->capacities[t->calls_commit] = c->capacity;
    t->calls_commit++;
    assert_int_equal(c->version, LEADROUTE_COMMIT_VERSION);
    if (t->fail_commit)
        return t->fail_commit;
    if (t->fill_first) {
        *ts_open(s, t->fill_first, 1) += t->fill_count;
        t->fill_first = NULL;
    }
    if (t->conflicts) {
        if (t->conflicts > 0)
            t->conflicts--;
        if (t->fill_on_conflict)
            ++*ts_open(s, t->fill_on_conflict, 1);
        return LEADROUTE_ECONFLICT;
    }
    if (t->exists_owner) {
        snprintf(owner, owner_cap, "%s", t->exists_owner);
        t->exists_owner = NULL;
        return LEADROUTE_EEXISTS;
    }
    if (c->pool_id) {
        pi = ts_pool(s, c->pool_id);
        if ((pi < 0 ? 0 : s->pools[pi].version) != c->expected_version)
            return LEADROUTE_ECONFLICT;
    }
    open = ts_open(s, a->rep_id, 0);
    if (c->capacity > 0 && open && *open >= c->capacity)
        return LEADROUTE_ECONFLICT;
    ci = ts_claim(s, a->key);
    if (ci >= 0 && (!a->previous || strcmp(s->claims[ci].rep, a->previous) != 0)) {
        snprintf(owner, owner_cap, "%s", s->claims[ci].rep);
        return LEADROUTE_EEXISTS;
    }
    if (c->pool_id) {
        if (pi < 0) {
            assert_true(s->npools < 8);
            pi = (int)s->npools++;
            snprintf(s->pools[pi].id, sizeof s->pools[0].id, "%s", c->pool_id);
        }
        assert_true(c->state_length < sizeof s->pools[0].state);
        memcpy(s->pools[pi].state, c->state, c->state_length);
        s->pools[pi].len = c->state_length;
        s->pools[pi].version = c->expected_version + 1;
    }
    if (ci >= 0) {
        uint32_t *po = ts_open(s, s->claims[ci].rep, 0);
        if (po && *po)
            (*po)--;
    } else {
        assert_true(s->nclaims < 128);
        ci = (int)s->nclaims++;
        snprintf(s->claims[ci].key, sizeof s->claims[0].key, "%s", a->key);
    }
    snprintf(s->claims[ci].rep, sizeof s->claims[0].rep, "%s", a->rep_id);
    (*ts_open(s, a->rep_id, 1))++;
    s->nassign++;
    if (c->account_key && ts_claim(s, c->account_key) < 0) {
        assert_true(s->nclaims < 128);
        snprintf(s->claims[s->nclaims].key, sizeof s->claims[0].key, "%s", c->account_key);
        snprintf(s->claims[s->nclaims].rep, sizeof s->claims[0].rep, "%s", a->rep_id);
        s->nclaims++;
    }
    return LEADROUTE_OK;
}

static int ts_close(void *ud, const char *key)
{
    tstore *t = ud;
    int ci;
    uint32_t *o;
    if (t->fail_close)
        return t->fail_close;
    if ((ci = ts_claim(&t->s, key)) < 0)
        return LEADROUTE_ENOTFOUND;
    if ((o = ts_open(&t->s, t->s.claims[ci].rep, 0)) && *o)
        (*o)--;
    t->s.claims[ci] = t->s.claims[--t->s.nclaims];
    return LEADROUTE_OK;
}

static const leadroute_store ts_methods = { LEADROUTE_STORE_VERSION, ts_load_pool, ts_find_claim, ts_open_count,
                                            ts_commit, ts_close, NULL, NULL, NULL };

static void ts_init(tstore *t)
{
    memset(t, 0, sizeof *t);
}

/* ---- a tiny JSON checker (RFC 8259 structure) ----------------------------------- */

typedef struct jp {
    const char *s;
    int depth;
} jp;

static void j_ws(jp *p)
{
    while (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r')
        p->s++;
}

static int j_value(jp *p);

static int j_string(jp *p)
{
    if (*p->s != '"')
        return 0;
    p->s++;
    while (*p->s != '"') {
        unsigned char c = (unsigned char)*p->s;
        if (c == 0 || c < 0x20)
            return 0;
        if (c == '\\') {
            p->s++;
            if (*p->s == 'u') {
                int i;
                for (i = 1; i <= 4; i++)
                    if (!strchr("0123456789abcdefABCDEF", p->s[i]) || !p->s[i])
                        return 0;
                p->s += 5;
                continue;
            }
            if (!*p->s || !strchr("\"\\/bfnrt", *p->s))
                return 0;
        }
        p->s++;
    }
    p->s++;
    return 1;
}

static int j_number(jp *p)
{
    const char *s = p->s;
    if (*s == '-')
        s++;
    if (*s == '0')
        s++;
    else if (*s >= '1' && *s <= '9')
        while (*s >= '0' && *s <= '9')
            s++;
    else
        return 0;
    if (*s == '.') {
        s++;
        if (!(*s >= '0' && *s <= '9'))
            return 0;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!(*s >= '0' && *s <= '9'))
            return 0;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    p->s = s;
    return 1;
}

static int j_value(jp *p)
{
    j_ws(p);
    if (++p->depth > 64)
        return 0;
    switch (*p->s) {
    case '{':
        p->s++;
        j_ws(p);
        if (*p->s != '}')
            for (;;) {
                j_ws(p);
                if (!j_string(p))
                    return 0;
                j_ws(p);
                if (*p->s++ != ':' || !j_value(p))
                    return 0;
                j_ws(p);
                if (*p->s == ',') {
                    p->s++;
                    continue;
                }
                break;
            }
        if (*p->s++ != '}')
            return 0;
        break;
    case '[':
        p->s++;
        j_ws(p);
        if (*p->s != ']')
            for (;;) {
                if (!j_value(p))
                    return 0;
                j_ws(p);
                if (*p->s == ',') {
                    p->s++;
                    continue;
                }
                break;
            }
        if (*p->s++ != ']')
            return 0;
        break;
    case '"':
        if (!j_string(p))
            return 0;
        break;
    case 't':
        if (strncmp(p->s, "true", 4))
            return 0;
        p->s += 4;
        break;
    case 'f':
        if (strncmp(p->s, "false", 5))
            return 0;
        p->s += 5;
        break;
    case 'n':
        if (strncmp(p->s, "null", 4))
            return 0;
        p->s += 4;
        break;
    default:
        if (!j_number(p))
            return 0;
    }
    p->depth--;
    return 1;
}

static void expect_json(const char *s)
{
    jp p = { s, 0 };
    if (!j_value(&p) || *p.s != 0)
        fail_msg("not one JSON value (stopped at offset %td): %s", p.s - s, s);
    if (strchr(s, '\n'))
        fail_msg("JSON spans lines: %s", s);
}

static char *explain(const leadroute_decision *d, int format)
{
    size_t n = 0, n2 = 0;
    char *buf;
    ok(leadroute_decision_explain(d, format, NULL, 0, &n));
    buf = malloc(n + 1);
    assert_non_null(buf);
    ok(leadroute_decision_explain(d, format, buf, n + 1, &n2));
    assert_int_equal(n, n2);
    assert_int_equal(strlen(buf), n);
    return buf;
}

/* ================================================================================ */
/* direct owner                                                                      */

static const char *const P_SMB[] = { "smb" };

static void test_direct_owner(void **state)
{
    (void)state;
    leadroute_rep reps[] = { mkrep("alice", P_SMB, 1), mkrep("bob", P_SMB, 1) };
    leadroute_pool pools[] = { mkpool("smb", LEADROUTE_STRATEGY_ROUND_ROBIN) };
    leadroute_router *r = router_of(HDR "own,own,bob,,,hot,15,webinar\n", roster_ok(reps, 2, pools, 1));
    leadroute_decision *d = decision();
    nlog log;
    memset(&log, 0, sizeof log);
    set_notify(r, &log);

    expect_str(assign(r, d, "L1", "own"), "bob");
    expect_str(leadroute_decision_pool(d), NULL);
    expect_str(leadroute_decision_rule(d), "own");
    expect_str(leadroute_decision_label(d), "hot");
    expect_str(leadroute_decision_tags(d), "webinar");
    assert_true(leadroute_decision_sla_minutes(d) == 15.0);
    assert_int_equal(leadroute_decision_notified(d), 1);
    expect_verdict(d, "bob", NULL, LEADROUTE_VERDICT_CHOSEN, NULL);
    expect_str(leadroute_decision_reason(d), "rule own names bob as owner");
    assert_int_equal(log.n, 1);
    expect_str(log.key[0], "lead:L1");
    expect_str(log.rep[0], "bob");
    expect_str(log.pool[0], "-");
    expect_str(log.lead[0], "L1");
    assert_true(log.at[0] == NOW_MS);
    assert_true(log.sla[0] == 15.0);
    assert_true(log.hash[0] == leadroute_decision_table_hash(d));
    assert_int_equal(leadroute_router_rep_assigned(r, "bob"), 1);
    assert_int_equal(leadroute_router_rep_assigned(r, "alice"), 0);
    /* the JSON says how */
    char *j = explain(d, LEADROUTE_EXPLAIN_JSON);
    expect_has(j, "\"how\":\"direct owner\"");
    expect_has(j, "\"strategy\":null");
    free(j);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* An owner who cannot take the lead: unknown, inactive or away. With a pool
 * the lead goes on to the pool; without one to the queue; with neither it
 * stays unassigned, and the reason names the owner. */
static void test_direct_owner_cannot_take(void **state)
{
    (void)state;
    const char *const pools_of[] = { "smb" };
    leadroute_rep reps[] = { mkrep("alice", pools_of, 1), mkrep("bob", pools_of, 1), mkrep("ivan", NULL, 0),
                             mkrep("walt", NULL, 0) };
    reps[2].active = 0;
    leadroute_pool pools[] = { mkpool("smb", LEADROUTE_STRATEGY_ROUND_ROBIN) };
    leadroute_router *r = router_of(HDR "zp,zp,zed,smb,,,,\n"
                                        "ip,ip,ivan,smb,,,,\n"
                                        "wp,wp,walt,smb,,,,\n"
                                        "zq,zq,zed,,triage,,,\n"
                                        "wq,wq,walt,,triage,,,\n"
                                        "zn,zn,zed,,,,,\n"
                                        "in,in,ivan,,,,,\n",
                                    roster_ok(reps, 4, pools, 1));
    leadroute_decision *d = decision();
    avail av;
    memset(&av, 0, sizeof av);
    av.away[0] = "walt";
    av.why[0] = "vacation";
    av.naway = 1;
    set_avail(r, &av);

    /* unknown owner -> pool */
    expect_str(assign(r, d, "L1", "zp"), "alice");
    expect_str(leadroute_decision_pool(d), "smb");
    expect_verdict(d, "zed", NULL, LEADROUTE_VERDICT_EXCLUDED, "not in the roster");
    /* inactive owner -> pool */
    expect_str(assign(r, d, "L2", "ip"), "bob");
    expect_verdict(d, "ivan", NULL, LEADROUTE_VERDICT_EXCLUDED, "inactive");
    /* away owner -> pool */
    expect_str(assign(r, d, "L3", "wp"), "alice");
    expect_verdict(d, "walt", NULL, LEADROUTE_VERDICT_AWAY, "vacation");

    /* no pool: the queue, the reason names the owner */
    ok(route_flags(r, d, "L4", "zq", LEADROUTE_ROUTE_TRACE));
    expect_status(d, LEADROUTE_ROUTE_QUEUED);
    expect_str(leadroute_decision_queue(d), "triage");
    expect_str(leadroute_decision_rep(d), NULL);
    expect_has(leadroute_decision_reason(d), "zed");
    ok(route_flags(r, d, "L5", "wq", LEADROUTE_ROUTE_TRACE));
    expect_status(d, LEADROUTE_ROUTE_QUEUED);
    expect_has(leadroute_decision_reason(d), "walt");

    /* neither: unassigned, metric EMPTY, reason names the owner */
    uint64_t empty = leadroute_router_unrouted(r, LEADROUTE_UNROUTED_EMPTY);
    ok(route_flags(r, d, "L6", "zn", LEADROUTE_ROUTE_TRACE));
    expect_status(d, LEADROUTE_ROUTE_UNASSIGNED);
    expect_str(leadroute_decision_rep(d), NULL);
    expect_has(leadroute_decision_reason(d), "zed");
    ok(route_flags(r, d, "L7", "in", LEADROUTE_ROUTE_TRACE));
    expect_status(d, LEADROUTE_ROUTE_UNASSIGNED);
    expect_has(leadroute_decision_reason(d), "ivan");
    assert_int_equal(leadroute_router_unrouted(r, LEADROUTE_UNROUTED_EMPTY), empty + 2);
    assert_int_equal(leadroute_router_unrouted(r, LEADROUTE_UNROUTED_NO_TARGET), 0);
    assert_int_equal(leadroute_router_rep_assigned(r, "ivan"), 0);
    assert_int_equal(leadroute_router_rep_assigned(r, "walt"), 0);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* Without TRACE the trace holds the chosen rep, after the direct owner
 * passed over. */
static void test_untraced_owner_passed_over(void **state)
{
    (void)state;
    const char *const pp[] = { "pool" };
    leadroute_rep reps[] = { mkrep("amy", pp, 1) };
    leadroute_pool pools[] = { mkpool("pool", LEADROUTE_STRATEGY_ROUND_ROBIN) };
    leadroute_router *r = router_of(HDR "o,o,zed,pool,,,,\n", roster_ok(reps, 1, pools, 1));
    leadroute_decision *d = decision();
    tlead l;
    lead_of(&l, "L1", "o");
    ok(leadroute_route(r, &l.lead, 0, d));
    expect_str(leadroute_decision_rep(d), "amy");
    assert_int_equal(leadroute_decision_candidate_count(d), 2);
    expect_verdict(d, "zed", NULL, LEADROUTE_VERDICT_EXCLUDED, "not in the roster");
    expect_verdict(d, "amy", "pool", LEADROUTE_VERDICT_CHOSEN, NULL);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* ================================================================================ */
/* existing account owner first                                                      */

static void test_account_owner_first(void **state)
{
    (void)state;
    const char *const pp[] = { "acct", "plain" };
    leadroute_rep reps[] = { mkrep("amy", pp, 2), mkrep("bob", pp, 2), mkrep("cat", pp, 2) };
    leadroute_pool pools[] = { mkpool("acct", LEADROUTE_STRATEGY_ROUND_ROBIN),
                               mkpool("plain", LEADROUTE_STRATEGY_ROUND_ROBIN) };
    pools[0].owner_first = 1;
    leadroute_router *r = router_of(HDR "a,a,,acct,,,,\np,p,,plain,,,,\n", roster_ok(reps, 3, pools, 2));
    leadroute_decision *d = decision();
    avail av;
    memset(&av, 0, sizeof av);
    set_avail(r, &av);
    tlead l;

    /* the first lead of acme.com is assigned by the strategy and claims the account */
    lead_of(&l, "L1", "a");
    tl_str(&l, "email", "a@acme.com");
    ok(leadroute_route(r, &l.lead, LEADROUTE_ROUTE_TRACE, d));
    expect_status(d, LEADROUTE_ROUTE_ASSIGNED);
    expect_str(leadroute_decision_rep(d), "amy");
    /* round robin would now give bob; the account owner gets it */
    lead_of(&l, "L2", "a");
    tl_str(&l, "email", " b@ACME.com. ");
    ok(leadroute_route(r, &l.lead, LEADROUTE_ROUTE_TRACE, d));
    expect_status(d, LEADROUTE_ROUTE_ASSIGNED);
    expect_str(leadroute_decision_rep(d), "amy");
    expect_str(leadroute_decision_pool(d), "acct");
    char *j = explain(d, LEADROUTE_EXPLAIN_JSON);
    expect_has(j, "\"how\":\"account owner\"");
    free(j);
    /* a bare domain works too; the pool state was not touched: bob is next */
    lead_of(&l, "L3", "a");
    tl_str(&l, "email", "acme.com");
    ok(leadroute_route(r, &l.lead, 0, d));
    expect_str(leadroute_decision_rep(d), "amy");
    lead_of(&l, "L4", "a");
    tl_str(&l, "email", "x@other.org");
    ok(leadroute_route(r, &l.lead, 0, d));
    expect_str(leadroute_decision_rep(d), "bob");       /* claims other.org */

    /* free mail is no account: rotation goes on */
    lead_of(&l, "L5", "a");
    tl_str(&l, "email", "joe@gmail.com");
    ok(leadroute_route(r, &l.lead, 0, d));
    expect_str(leadroute_decision_rep(d), "cat");
    lead_of(&l, "L6", "a");
    tl_str(&l, "email", "ann@gmail.com");
    ok(leadroute_route(r, &l.lead, 0, d));
    expect_str(leadroute_decision_rep(d), "amy");       /* rotation, not cat again */
    lead_of(&l, "L7", "a");
    tl_str(&l, "email", "zoe@GMAIL.COM");
    ok(leadroute_route(r, &l.lead, 0, d));
    expect_str(leadroute_decision_rep(d), "bob");

    /* the account owner is away: the strategy decides, without her */
    av.away[0] = "amy";
    av.why[0] = "sick";
    av.naway = 1;
    av.nasked = 0;
    lead_of(&l, "L8", "a");
    tl_str(&l, "email", "c@acme.com");
    ok(leadroute_route(r, &l.lead, LEADROUTE_ROUTE_TRACE, d));
    expect_status(d, LEADROUTE_ROUTE_ASSIGNED);
    expect_str(leadroute_decision_rep(d), "cat");       /* after bob */
    expect_verdict(d, "amy", "acct", LEADROUTE_VERDICT_AWAY, "sick");
    assert_int_equal(times_asked(&av, "amy"), 1);       /* once per call */
    /* the account stays amy's: back from sick leave she gets acme again */
    av.naway = 0;
    lead_of(&l, "L9", "a");
    tl_str(&l, "email", "d@acme.com");
    ok(leadroute_route(r, &l.lead, 0, d));
    expect_str(leadroute_decision_rep(d), "amy");

    /* a pool without owner_first ignores the account: its rotation decides */
    lead_of(&l, "P1", "p");
    ok(leadroute_route(r, &l.lead, 0, d));
    expect_str(leadroute_decision_rep(d), "amy");
    lead_of(&l, "P2", "p");
    tl_str(&l, "email", "e@acme.com");
    ok(leadroute_route(r, &l.lead, 0, d));
    expect_str(leadroute_decision_rep(d), "bob");

    /* a paused pool (cap 0) takes no lead, not even for the account's owner */
    uint64_t empty = leadroute_router_unrouted(r, LEADROUTE_UNROUTED_EMPTY);
    uint64_t amys = leadroute_router_rep_assigned(r, "amy");
    pools[0].cap_day = 0;
    leadroute_roster *ro = roster_ok(reps, 3, pools, 2);
    pools[0].cap_day = LEADROUTE_NO_CAP;
    ok(leadroute_router_set_roster(r, ro));
    leadroute_roster_unref(ro);
    lead_of(&l, "L9p", "a");
    tl_str(&l, "email", "g@acme.com");
    ok(leadroute_route(r, &l.lead, 0, d));
    expect_status(d, LEADROUTE_ROUTE_UNASSIGNED);
    expect_has(leadroute_decision_reason(d), "pool acct paused (24h cap 0)");
    assert_int_equal(leadroute_router_unrouted(r, LEADROUTE_UNROUTED_EMPTY), empty + 1);
    assert_int_equal(leadroute_router_rep_assigned(r, "amy"), amys);

    /* the account owner left the roster: the strategy decides, and the
     * trace says why amy was passed over */
    ro = roster_ok(reps + 1, 2, pools, 2);
    ok(leadroute_router_set_roster(r, ro));
    leadroute_roster_unref(ro);
    lead_of(&l, "L10", "a");
    tl_str(&l, "email", "f@acme.com");
    ok(leadroute_route(r, &l.lead, LEADROUTE_ROUTE_TRACE, d));
    expect_status(d, LEADROUTE_ROUTE_ASSIGNED);
    expect_str(leadroute_decision_rep(d), "bob");       /* after amy, in acct's rotation */
    expect_verdict(d, "amy", "acct", LEADROUTE_VERDICT_EXCLUDED, "account owner not in the roster");
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* Account keys from emails and websites as CRMs send them: a display name
 * around the address, a list, a website, a subdomain of a company the
 * owner holds; free mail of any country is no account. */
static void test_account_forms(void **state)
{
    (void)state;
    const char *const pp[] = { "acct" };
    leadroute_rep reps[] = { mkrep("amy", pp, 1), mkrep("bob", pp, 1), mkrep("cat", pp, 1) };
    leadroute_pool pools[] = { mkpool("acct", LEADROUTE_STRATEGY_ROUND_ROBIN) };
    pools[0].owner_first = 1;
    leadroute_router *r = router_of(HDR "a,a,,acct,,,,\n", roster_ok(reps, 3, pools, 1));
    leadroute_decision *d = decision();
    static const struct {
        const char *email, *rep, *reason;
    } cases[] = {
        { "a@acme.com", "amy", NULL },                 /* claims acme.com */
        { "Ann Lee <ann@acme.com>", "amy", "amy owns the account acme.com" },
        { "ann@acme.com;", "amy", NULL },
        { "ann@acme.com\xc2\xa0", "amy", NULL },
        { "https://www.acme.com/contact?x=1", "amy", NULL },
        { "sam@eu.acme.com", "amy", "amy owns the account acme.com" },
        { "Joe <joe@gmail.com>", "bob", NULL },        /* free mail: the rotation goes on */
        { "Ann <ann@gmail.com>", "cat", NULL },
        { "taro@yahoo.co.jp", "amy", NULL },
        { "hanako@yahoo.co.jp", "bob", NULL },
        { "jim@hotmail.co.uk", "cat", NULL },
        { "sue@hotmail.co.uk", "amy", NULL },
        { "x@shop.beta.co.uk", "bob", NULL },          /* claims shop.beta.co.uk */
        { "y@beta.co.uk", "cat", NULL },               /* a child's claim is not its parent's */
        { "z@other.co.uk", "amy", NULL },              /* co.uk is nobody's */
        { "w@sales.shop.beta.co.uk", "bob", "bob owns the account shop.beta.co.uk" },
        { "info@xn--bcher-kva.de", "bob", NULL },
        { "kontakt@B\xc3\x9c" "CHER.de", "bob", "bob owns the account b\xc3\xbc" "cher.de" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char id[16];
        tlead l;
        snprintf(id, sizeof id, "L%zu", i);
        lead_of(&l, id, "a");
        tl_str(&l, "email", cases[i].email);
        ok(leadroute_route(r, &l.lead, 0, d));
        expect_status(d, LEADROUTE_ROUTE_ASSIGNED);
        if (strcmp(leadroute_decision_rep(d), cases[i].rep) != 0)
            fail_msg("%s: %s, want %s (%s)", cases[i].email, leadroute_decision_rep(d), cases[i].rep,
                     leadroute_decision_reason(d));
        if (cases[i].reason)
            expect_has(leadroute_decision_reason(d), cases[i].reason);
    }
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* ================================================================================ */
/* round robin                                                                       */

static const char *const P_RR[] = { "rr" };

static leadroute_roster *rr_roster(const char *const *ids, size_t n)
{
    leadroute_rep reps[8];
    leadroute_pool pools[] = { mkpool("rr", LEADROUTE_STRATEGY_ROUND_ROBIN) };
    size_t i;
    assert_true(n <= 8);
    for (i = 0; i < n; i++)
        reps[i] = mkrep(ids[i], P_RR, 1);
    return roster_ok(reps, n, pools, 1);
}

static void test_round_robin_rotation(void **state)
{
    (void)state;
    /* given out of id order: rotation follows ids, not the roster order */
    const char *const ids[] = { "dave", "bob", "carl", "abe" };
    leadroute_router *r = router_of(HDR "r,r,,rr,,,,\n", rr_roster(ids, 4));
    leadroute_decision *d = decision();
    const char *const want[] = { "abe", "bob", "carl", "dave" };
    char id[16];
    int i;
    for (i = 0; i < 12; i++) {
        snprintf(id, sizeof id, "L%d", i);
        expect_str(assign(r, d, id, "r"), want[i % 4]);
        expect_str(leadroute_decision_pool(d), "rr");
    }
    for (i = 0; i < 4; i++)
        assert_int_equal(leadroute_router_rep_assigned(r, want[i]), 3);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

static void test_round_robin_join_leave(void **state)
{
    (void)state;
    const char *const ace[] = { "a", "c", "e" };
    const char *const abce[] = { "a", "b", "c", "e" };
    const char *const abe[] = { "a", "b", "e" };
    const char *const ab[] = { "a", "b" };
    leadroute_router *r = router_of(HDR "r,r,,rr,,,,\n", rr_roster(ace, 3));
    leadroute_decision *d = decision();
    char id[16];
    int n = 0;
#define NEXT(want)                                      \
    do {                                                \
        snprintf(id, sizeof id, "L%d", n++);            \
        expect_str(assign(r, d, id, "r"), want);        \
    } while (0)
    NEXT("a");
    NEXT("c");
    NEXT("e");
    NEXT("a");
    /* b joins after a was served: its turn comes by id, right now */
    leadroute_roster *ro = rr_roster(abce, 4);
    ok(leadroute_router_set_roster(r, ro));
    leadroute_roster_unref(ro);
    NEXT("b");
    NEXT("c");
    NEXT("e");
    NEXT("a");
    NEXT("b");
    /* c leaves while it is next: e follows, nobody else moves */
    ro = rr_roster(abe, 3);
    ok(leadroute_router_set_roster(r, ro));
    leadroute_roster_unref(ro);
    NEXT("e");
    NEXT("a");
    NEXT("b");
    /* c comes back right after b: it is next again */
    ro = rr_roster(abce, 4);
    ok(leadroute_router_set_roster(r, ro));
    leadroute_roster_unref(ro);
    NEXT("c");
    /* the last one served (c) leaves: the next id after it, e, goes on */
    ro = rr_roster(abe, 3);
    ok(leadroute_router_set_roster(r, ro));
    leadroute_roster_unref(ro);
    NEXT("e");
    NEXT("a");
    /* e, the last in id order, leaves right after being served: wrap to a */
    NEXT("b");
    NEXT("e");
    ro = rr_roster(ab, 2);
    ok(leadroute_router_set_roster(r, ro));
    leadroute_roster_unref(ro);
    NEXT("a");
    NEXT("b");
#undef NEXT
    /* counts are kept by id across roster swaps */
    assert_int_equal(leadroute_router_rep_assigned(r, "a"), 6);
    assert_int_equal(leadroute_router_rep_assigned(r, "b"), 5);
    assert_int_equal(leadroute_router_rep_assigned(r, "c"), 3);
    assert_int_equal(leadroute_router_rep_assigned(r, "e"), 5);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* Ids that extend one another: r1 < r10 < r2 byte by byte, and r10 is
 * not skipped as if it were r1. */
static void test_round_robin_prefix_ids(void **state)
{
    (void)state;
    const char *const ids[] = { "r2", "r10", "r1" };
    const char *const want[] = { "r1", "r10", "r2" };
    leadroute_router *r = router_of(HDR "r,r,,rr,,,,\n", rr_roster(ids, 3));
    leadroute_decision *d = decision();
    char id[16];
    int i;
    for (i = 0; i < 6; i++) {
        snprintf(id, sizeof id, "L%d", i);
        expect_str(assign(r, d, id, "r"), want[i % 3]);
    }
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* ================================================================================ */
/* counters across roster swaps                                                      */

enum { SW_REPS = 40, SW_POOLS = 12, SW_ROUNDS = 8 };

/* Rep i of round k: in the roster unless (i + k) % 3 == 0, so ids leave,
 * come back and new ones land between old ones; in pools i % 12 and
 * (i + 5) % 12 when those are in the roster, (p + k) % 4 != 0. */
static int sw_has_rep(int i, int k)
{
    return (i + k) % 3 != 0 && i < SW_REPS / 2 + 3 * k;
}

static int sw_has_pool(int p, int k)
{
    return (p + k) % 4 != 0;
}

static int sw_in_pool(int i, int p, int k)
{
    return sw_has_rep(i, k) && sw_has_pool(p, k) && (i % SW_POOLS == p || (i + 5) % SW_POOLS == p);
}

/* The pool's assigned count, from the metrics JSON. */
static uint64_t sw_pool_assigned(leadroute_router *r, const char *pool)
{
    static char buf[1 << 16];
    char key[32];
    const char *at;
    size_t n;
    ok(leadroute_router_metrics_json(r, buf, sizeof buf, &n));
    at = strstr(buf, "\"pools\":{");
    assert_non_null(at);
    snprintf(key, sizeof key, "\"%s\":{\"assigned\":", pool);
    at = strstr(at, key);
    if (!at)
        fail_msg("pool %s is not in the metrics: %s", pool, buf);
    return strtoull(at + strlen(key), NULL, 10);
}

/* A counter list of the router: strictly increasing ids, `n` of them. */
static void sw_expect_sorted(const lr__counter *c, size_t n)
{
    size_t k = 0;
    for (; c; c = c->next, k++)
        if (c->next && strcmp(c->id, c->next->id) >= 0)
            fail_msg("counters out of order: '%s' before '%s'", c->id, c->next->id);
    assert_int_equal(k, n);
}

/* Rosters whose ids interleave with the ones before (r1 < r10 < r2 byte by
 * byte, given in reverse): every count is kept by id, a new id starts at 0,
 * and the router's lists stay sorted with one counter per id. */
static void test_counters_kept_by_id_across_swaps(void **state)
{
    (void)state;
    char rid[SW_REPS][8], pid[SW_POOLS][8], table[4096], lead[32];
    const char *pools_of[SW_REPS][2];
    uint64_t rep_n[SW_REPS] = {0}, pool_n[SW_POOLS] = {0}, member_n[SW_POOLS][SW_REPS];
    int rep_seen[SW_REPS] = {0}, pool_seen[SW_POOLS] = {0}, member_seen[SW_POOLS][SW_REPS];
    leadroute_rep reps[SW_REPS];
    leadroute_pool pools[SW_POOLS];
    leadroute_router *r = NULL;
    leadroute_decision *d = decision();
    size_t len = strlen(HDR), nrep, npool, seen_reps, seen_pools;
    int i, p, k, j, nleads = 0;
    memset(member_n, 0, sizeof member_n);
    memset(member_seen, 0, sizeof member_seen);
    memcpy(table, HDR, len);
    for (i = 0; i < SW_REPS; i++)
        snprintf(rid[i], sizeof rid[i], "r%d", i);
    for (p = 0; p < SW_POOLS; p++) {
        snprintf(pid[p], sizeof pid[p], "p%d", p);
        len += (size_t)snprintf(table + len, sizeof table - len, "k%d,k%d,,%s,,,,\n", p, p, pid[p]);
    }
    for (k = 0; k < SW_ROUNDS; k++) {
        leadroute_roster *ro;
        nrep = npool = 0;
        for (p = 0; p < SW_POOLS; p++)
            if (sw_has_pool(p, k))
                pools[npool++] = mkpool(pid[p], LEADROUTE_STRATEGY_ROUND_ROBIN);
        for (i = SW_REPS - 1; i >= 0; i--) {
            size_t m = 0;
            if (!sw_has_rep(i, k))
                continue;
            for (p = 0; p < SW_POOLS; p++)
                if (sw_in_pool(i, p, k))
                    pools_of[i][m++] = pid[p];
            reps[nrep++] = mkrep(rid[i], pools_of[i], m);
        }
        ro = roster_ok(reps, nrep, pools, npool);
        if (k == 0) {
            r = router_of(table, ro);
        } else {
            ok(leadroute_router_set_roster(r, ro));
            leadroute_roster_unref(ro);
        }
        /* after the swap: old ids keep their counts, new ones start at 0 */
        seen_reps = seen_pools = 0;
        for (i = 0; i < SW_REPS; i++) {
            rep_seen[i] |= sw_has_rep(i, k);
            seen_reps += (size_t)rep_seen[i];
            if (leadroute_router_rep_assigned(r, rid[i]) != rep_n[i])
                fail_msg("round %d: rep %s has %llu, expected %llu", k, rid[i],
                         (unsigned long long)leadroute_router_rep_assigned(r, rid[i]),
                         (unsigned long long)rep_n[i]);
        }
        for (p = 0; p < SW_POOLS; p++) {
            leadroute_latency_stats st = LEADROUTE_LATENCY_STATS_INIT;
            double spread = 0, lo = 0, hi = 0;
            size_t members = 0;
            pool_seen[p] |= sw_has_pool(p, k);
            seen_pools += (size_t)pool_seen[p];
            expect_rc(leadroute_router_latency(r, NULL, pid[p], LEADROUTE_LATENCY_CAPTURE_TO_ASSIGN, &st),
                      pool_seen[p] ? LEADROUTE_OK : LEADROUTE_ENOTFOUND);
            if (!sw_has_pool(p, k))
                continue;
            assert_int_equal(sw_pool_assigned(r, pid[p]), pool_n[p]);
            /* fairness reads the member counters: what each current member got from this pool */
            for (i = 0; i < SW_REPS; i++) {
                double x = (double)member_n[p][i];
                if (!sw_in_pool(i, p, k))
                    continue;
                member_seen[p][i] = 1;
                lo = members == 0 || x < lo ? x : lo;
                hi = members == 0 || x > hi ? x : hi;
                members++;
            }
            ok(leadroute_router_pool_fairness(r, pid[p], &spread, NULL));
            if (spread != hi - lo)
                fail_msg("round %d: pool %s spread %g, expected %g", k, pid[p], spread, hi - lo);
        }
        pthread_mutex_lock(&r->counter_lock);
        sw_expect_sorted(r->rep_counters, seen_reps);
        sw_expect_sorted(r->pool_counters, seen_pools);
        for (const lr__counter *c = r->pool_counters; c; c = c->next) {
            size_t n = 0;
            p = atoi(c->id + 1);
            for (i = 0; i < SW_REPS; i++)
                n += (size_t)member_seen[p][i];
            sw_expect_sorted(c->members, n);
        }
        pthread_mutex_unlock(&r->counter_lock);
        /* route a few leads to every pool of the roster, counting what the decisions say */
        for (p = 0; p < SW_POOLS; p++) {
            char kind[8];
            if (!sw_has_pool(p, k))
                continue;
            snprintf(kind, sizeof kind, "k%d", p);
            for (j = 0; j < 1 + (p + k) % 3; j++) {
                snprintf(lead, sizeof lead, "L%d", nleads++);
                i = atoi(assign(r, d, lead, kind) + 1);
                expect_str(leadroute_decision_pool(d), pid[p]);
                assert_true(sw_in_pool(i, p, k));
                rep_n[i]++;
                pool_n[p]++;
                member_n[p][i]++;
            }
        }
    }
    for (i = 0; i < SW_REPS; i++)
        if (!rep_seen[i])
            assert_int_equal(leadroute_router_rep_assigned(r, rid[i]), 0);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* ================================================================================ */
/* weighted                                                                          */

static const char *const P_WT[] = { "wt" };

static leadroute_roster *wt_roster(const char *const *ids, const double *w, size_t n)
{
    leadroute_rep reps[8];
    leadroute_pool pools[] = { mkpool("wt", LEADROUTE_STRATEGY_WEIGHTED) };
    size_t i;
    for (i = 0; i < n; i++) {
        reps[i] = mkrep(ids[i], P_WT, 1);
        reps[i].weight = w[i];
    }
    return roster_ok(reps, n, pools, 1);
}

static int rep_index(const char *const *ids, size_t n, const char *id)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (strcmp(ids[i], id) == 0)
            return (int)i;
    fail_msg("unexpected rep %s", id);
    return -1;
}

static void test_weighted_exact_shares(void **state)
{
    (void)state;
    const char *const ids[] = { "w1", "w2", "w3" };
    const double w[] = { 1, 2, 3 };
    leadroute_router *r = router_of(HDR "w,w,,wt,,,,\n", wt_roster(ids, w, 3));
    leadroute_decision *d = decision();
    unsigned count[3] = { 0, 0, 0 };
    char id[16];
    int i;
    for (i = 0; i < 6000; i++) {
        snprintf(id, sizeof id, "L%d", i);
        ok(route_flags(r, d, id, "w", 0));
        expect_status(d, LEADROUTE_ROUTE_ASSIGNED);
        count[rep_index(ids, 3, leadroute_decision_rep(d))]++;
        /* within about one lead of the exact share at every step */
        if ((i + 1) % 6 == 0) {
            unsigned k = (unsigned)(i + 1) / 6;
            if (count[0] != k || count[1] != 2 * k || count[2] != 3 * k)
                fail_msg("after %d leads: %u/%u/%u, expected %u/%u/%u", i + 1, count[0], count[1], count[2], k,
                         2 * k, 3 * k);
        }
    }
    assert_int_equal(count[0], 1000);
    assert_int_equal(count[1], 2000);
    assert_int_equal(count[2], 3000);
    assert_int_equal(leadroute_router_rep_assigned(r, "w3"), 3000);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* Shares follow the weights exactly over every full cycle, however large or
 * small the weights: strides are scaled per pool, so that the heaviest
 * member's is never a handful of units that rounding would bend. */
static void test_weighted_large_and_small_weights(void **state)
{
    (void)state;
    static const struct {
        double w[3];
        size_t n;
        unsigned share[3]; /* leads per cycle */
    } cases[] = {
        { { 1e6, 3e6, 0 }, 2, { 1, 3, 0 } },
        { { 1e7, 2e7, 3e7 }, 3, { 1, 2, 3 } },
        { { 2.5e8, 1e9, 0 }, 2, { 1, 4, 0 } },
        { { 1e300, 3e300, 0 }, 2, { 1, 3, 0 } },
        { { 1e-300, 2e-300, 0 }, 2, { 1, 2, 0 } },
        { { 0.001, 0.002, 0.003 }, 3, { 1, 2, 3 } },
    };
    const char *const ids[] = { "w1", "w2", "w3" };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        leadroute_router *r = router_of(HDR "w,w,,wt,,,,\n", wt_roster(ids, cases[c].w, cases[c].n));
        leadroute_decision *d = decision();
        unsigned count[3] = { 0, 0, 0 }, cycle = 0;
        char id[32];
        for (size_t i = 0; i < cases[c].n; i++)
            cycle += cases[c].share[i];
        for (unsigned i = 0; i < 1000 * cycle; i++) {
            snprintf(id, sizeof id, "L%u", i);
            ok(route_flags(r, d, id, "w", 0));
            expect_status(d, LEADROUTE_ROUTE_ASSIGNED);
            count[rep_index(ids, cases[c].n, leadroute_decision_rep(d))]++;
            if ((i + 1) % cycle)
                continue;
            for (size_t k = 0; k < cases[c].n; k++)
                if (count[k] != (i + 1) / cycle * cases[c].share[k])
                    fail_msg("weights %g/%g/%g, after %u leads: %s got %u, its share is %u", cases[c].w[0],
                             cases[c].w[1], cases[c].w[2], i + 1, ids[k], count[k],
                             (i + 1) / cycle * cases[c].share[k]);
        }
        leadroute_decision_free(d);
        leadroute_router_free(r);
    }
}

/* Weights ten million apart: between two leads of the light member the
 * heavy one gets exactly ten million, measured pick by pick through the
 * strategy itself (the router would take minutes for as many leads). */
static void test_weighted_extreme_ratio(void **state)
{
    (void)state;
    static const double weights[][2] = { { 1, 1e7 }, { 0.3, 3e6 }, { 2e-3, 2e4 } };
    const char *const ids[] = { "a", "b" };
    lr__alloc a;
    ok(lr__alloc_init(&a, NULL));
    for (size_t c = 0; c < sizeof weights / sizeof weights[0]; c++) {
        leadroute_roster *ro = wt_roster(ids, weights[c], 2);
        const lr__pool *p = &ro->pools[0];
        lr__state st[2] = { { NULL, 0, 0 }, { NULL, 0, 0 } };
        lr__wcache cache;
        uint64_t picks, light = 0, last = 0, total = 20000003;
        memset(&cache, 0, sizeof cache);
        for (picks = 0; picks < total; picks++) {
            lr__state *cur = &st[picks % 2], *next = &st[(picks + 1) % 2];
            int k = lr__strategy_pick(ro, p, p->members, 2, NULL, 0, NULL, cur->text ? cur->text : "", cur->len, next, &a,
                                      &cache);
            assert_true(k == 0 || k == 1);
            if (k == 0) {
                /* a, the lower id, wins the first tie; then a gap of exactly 1e7 */
                if (light && picks - last != 10000001)
                    fail_msg("weights %g/%g: a picked at %llu and %llu", weights[c][0], weights[c][1],
                             (unsigned long long)last, (unsigned long long)picks);
                light++;
                last = picks;
            }
        }
        if (light != 3)
            fail_msg("weights %g/%g: a got %llu of %llu leads, its share is 3", weights[c][0], weights[c][1],
                     (unsigned long long)light, (unsigned long long)total);
        lr__free(&a, st[0].text);
        lr__free(&a, st[1].text);
        lr__free(&a, cache.text);
        lr__free(&a, cache.pass);
        leadroute_roster_unref(ro);
    }
}

static void test_weighted_join_not_flooded(void **state)
{
    (void)state;
    const char *const ids[] = { "w1", "w2", "w3", "w4" };
    const double w[] = { 1, 2, 3, 2 };
    leadroute_router *r = router_of(HDR "w,w,,wt,,,,\n", wt_roster(ids, w, 3));
    leadroute_decision *d = decision();
    unsigned count[4] = { 0 }, first8 = 0;
    char id[16];
    int i;
    for (i = 0; i < 3000; i++) {
        snprintf(id, sizeof id, "A%d", i);
        (void)assign(r, d, id, "w");
    }
    /* w4 (weight 2 of 8) joins after 3000 leads */
    leadroute_roster *ro = wt_roster(ids, w, 4);
    ok(leadroute_router_set_roster(r, ro));
    leadroute_roster_unref(ro);
    for (i = 0; i < 600; i++) {
        snprintf(id, sizeof id, "B%d", i);
        int k = rep_index(ids, 4, assign(r, d, id, "w"));
        assert_true(k >= 0 && k < 4);
        count[k]++;
        if (i < 8 && k == 3)
            first8++;
    }
    /* its share is 2/8 of 600 = 150, from the start: no catch-up burst */
    if (count[3] < 148 || count[3] > 152)
        fail_msg("the new member got %u of 600 leads, its share is 150", count[3]);
    if (first8 > 3)
        fail_msg("the new member got %u of the first 8 leads after joining", first8);
    if (count[0] < 73 || count[0] > 77 || count[1] < 148 || count[1] > 152 || count[2] < 223 || count[2] > 227)
        fail_msg("shares after the join: %u/%u/%u/%u, expected 75/150/225/150", count[0], count[1], count[2],
                 count[3]);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* Route one lead with a decision of its own, so the pool's state is read
 * back from its text every time, as another router or process would. */
static const char *assign_fresh(leadroute_router *r, const char *id, const char *kind, char *rep, size_t cap)
{
    leadroute_decision *d = decision();
    snprintf(rep, cap, "%s", assign(r, d, id, kind));
    leadroute_decision_free(d);
    return rep;
}

/* Shares hold when every lead is routed by a new decision: the passes
 * written into the state (numbers with 9s, 100s and 10,000,000s) read back
 * as they were written. */
static void test_weighted_state_read_back(void **state)
{
    (void)state;
    static const struct {
        double w[3];
        size_t n, leads;
        unsigned want[3];
    } cases[] = {
        { { 1, 2, 3 }, 3, 600, { 100, 200, 300 } },
        { { 1, 1.1, 0 }, 2, 210, { 100, 110, 0 } },
        { { 1000, 1000, 0 }, 2, 100, { 50, 50, 0 } },
    };
    const char *const ids[] = { "w1", "w2", "w3" };
    size_t c;
    for (c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        leadroute_router *r = router_of(HDR "w,w,,wt,,,,\n", wt_roster(ids, cases[c].w, cases[c].n));
        unsigned count[3] = { 0, 0, 0 };
        char id[32], rep[64];
        size_t i;
        for (i = 0; i < cases[c].leads; i++) {
            snprintf(id, sizeof id, "L%zu", i);
            count[rep_index(ids, cases[c].n, assign_fresh(r, id, "w", rep, sizeof rep))]++;
        }
        for (i = 0; i < cases[c].n; i++)
            if (count[i] + 1 < cases[c].want[i] || count[i] > cases[c].want[i] + 1)
                fail_msg("weights %g/%g/%g, %zu leads: %s got %u, its share is %u", cases[c].w[0], cases[c].w[1],
                         cases[c].w[2], cases[c].leads, ids[i], count[i], cases[c].want[i]);
        leadroute_router_free(r);
    }
}

/* A member leaves: the members listed after it in the state keep their
 * passes. a, b, c of weight 1; a gets L1, c gets L2 while b is away; a
 * leaves; b gets L3, and L4 goes to b too (b and c have one each, ties go
 * by id). */
static void test_weighted_member_leaves(void **state)
{
    (void)state;
    const char *const ids[] = { "a", "b", "c" };
    const double w[] = { 1, 1, 1 };
    leadroute_router *r = router_of(HDR "w,w,,wt,,,,\n", wt_roster(ids, w, 3));
    avail a;
    char rep[64];
    memset(&a, 0, sizeof a);
    set_avail(r, &a);
    expect_str(assign_fresh(r, "L1", "w", rep, sizeof rep), "a");
    a.away[0] = "b";
    a.naway = 1;
    expect_str(assign_fresh(r, "L2", "w", rep, sizeof rep), "c");
    a.naway = 0;
    leadroute_roster *ro = wt_roster(ids + 1, w, 2);
    ok(leadroute_router_set_roster(r, ro));
    leadroute_roster_unref(ro);
    expect_str(assign_fresh(r, "L3", "w", rep, sizeof rep), "b");
    expect_str(assign_fresh(r, "L4", "w", rep, sizeof rep), "b");
    expect_str(assign_fresh(r, "L5", "w", rep, sizeof rep), "c");
    leadroute_router_free(r);
}

/* A state of more lines than the small buffers hold (70 members), read by
 * a pool of two: m69, the one member without a lead, is next. */
static void test_weighted_long_state_read_back(void **state)
{
    (void)state;
    leadroute_rep reps[70];
    char names[70][8], id[16], rep[64];
    leadroute_pool pool = mkpool("wt", LEADROUTE_STRATEGY_WEIGHTED);
    leadroute_decision *d = decision();
    int i;
    for (i = 0; i < 70; i++) {
        snprintf(names[i], sizeof names[i], "m%02d", i);
        reps[i] = mkrep(names[i], P_WT, 1);
    }
    leadroute_router *r = router_of(HDR "w,w,,wt,,,,\n", roster_ok(reps, 70, &pool, 1));
    for (i = 0; i < 69; i++) {
        snprintf(id, sizeof id, "L%d", i);
        expect_str(assign(r, d, id, "w"), names[i]);
    }
    reps[1] = reps[69];
    leadroute_roster *ro = roster_ok(reps, 2, &pool, 1);
    ok(leadroute_router_set_roster(r, ro));
    leadroute_roster_unref(ro);
    expect_str(assign_fresh(r, "N1", "w", rep, sizeof rep), "m69");
    expect_str(assign_fresh(r, "N2", "w", rep, sizeof rep), "m00");
    expect_str(assign_fresh(r, "N3", "w", rep, sizeof rep), "m69");
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* Two decisions take turns on one pool: each reads the state the other
 * wrote, not the one it wrote last. */
static void test_weighted_two_decisions(void **state)
{
    (void)state;
    const char *const ids[] = { "a", "b" };
    const double w[] = { 1, 1 };
    leadroute_router *r = router_of(HDR "w,w,,wt,,,,\n", wt_roster(ids, w, 2));
    leadroute_decision *d1 = decision(), *d2 = decision();
    avail a;
    memset(&a, 0, sizeof a);
    set_avail(r, &a);
    expect_str(assign(r, d1, "L1", "w"), "a");
    expect_str(assign(r, d2, "L2", "w"), "b");
    a.away[0] = "a";
    a.naway = 1;
    expect_str(assign(r, d2, "L3", "w"), "b");
    a.naway = 0;
    expect_str(assign(r, d1, "L4", "w"), "a");
    leadroute_decision_free(d1);
    leadroute_decision_free(d2);
    leadroute_router_free(r);
}

/* Catch-up calibration holds when the state is read back from its text:
 * r4, away for 100 leads, then gets more than its fifth of the next 50,
 * whether one decision routes them all or each lead has its own. */
static void test_weighted_catch_up_read_back(void **state)
{
    (void)state;
    const char *const ids[] = { "r0", "r1", "r2", "r3", "r4" };
    int fresh;
    for (fresh = 0; fresh < 2; fresh++) {
        leadroute_rep reps[5];
        leadroute_pool pool = mkpool("wt", LEADROUTE_STRATEGY_WEIGHTED);
        leadroute_decision *d = decision();
        avail a;
        char id[16], rep[64];
        int i, got = 0;
        pool.calibration = LEADROUTE_CALIBRATE_CATCH_UP;
        for (i = 0; i < 5; i++)
            reps[i] = mkrep(ids[i], P_WT, 1);
        leadroute_router *r = router_of(HDR "w,w,,wt,,,,\n", roster_ok(reps, 5, &pool, 1));
        memset(&a, 0, sizeof a);
        set_avail(r, &a);
        a.away[0] = "r4";
        a.naway = 1;
        for (i = 0; i < 100; i++) {
            snprintf(id, sizeof id, "A%d", i);
            (void)assign(r, d, id, "w");
        }
        a.naway = 0;
        for (i = 0; i < 50; i++) {
            snprintf(id, sizeof id, "B%d", i);
            got += strcmp(fresh ? assign_fresh(r, id, "w", rep, sizeof rep) : assign(r, d, id, "w"), "r4") == 0;
        }
        if (got < 12 || got > 16)
            fail_msg("catch up (%s): r4 got %d of 50 leads, expected its 10 and up to 5 it missed",
                     fresh ? "a decision per lead" : "one decision", got);
        leadroute_decision_free(d);
        leadroute_router_free(r);
    }
}

/* A member back from leave joins at the pool's virtual time: no burst. */
static void test_weighted_back_from_away(void **state)
{
    (void)state;
    const char *const ids[] = { "a", "b", "c" };
    const double w[] = { 1, 1, 1 };
    leadroute_router *r = router_of(HDR "w,w,,wt,,,,\n", wt_roster(ids, w, 3));
    leadroute_decision *d = decision();
    avail av;
    unsigned count[3] = { 0 };
    char id[16];
    memset(&av, 0, sizeof av);
    av.away[0] = "b";
    av.naway = 1;
    set_avail(r, &av);
    for (int i = 0; i < 60; i++) {
        snprintf(id, sizeof id, "A%d", i);
        count[rep_index(ids, 3, assign(r, d, id, "w"))]++;
    }
    assert_int_equal(count[0], 30);
    assert_int_equal(count[1], 0);
    assert_int_equal(count[2], 30);
    av.naway = 0;
    memset(count, 0, sizeof count);
    for (int i = 0; i < 30; i++) {
        snprintf(id, sizeof id, "B%d", i);
        int k = rep_index(ids, 3, assign(r, d, id, "w"));
        count[k]++;
        /* never more than about one lead ahead of its share (docs: within about one lead) */
        if (count[1] > (unsigned)((i + 1) / 3.0 + 1.5))
            fail_msg("b got %u of the first %d leads after coming back", count[1], i + 1);
    }
    if (count[1] < 9 || count[1] > 11 || count[0] < 9 || count[0] > 11)
        fail_msg("after b came back: %u/%u/%u of 30", count[0], count[1], count[2]);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* Longest run of one rep over `n` leads routed after a roster swap, and how
 * many the first of `ids` got. */
static unsigned wt_longest_run(leadroute_router *r, leadroute_decision *d, const char *const *ids, size_t nids,
                               unsigned n, unsigned *first)
{
    unsigned i, run = 0, longest = 0;
    int last = -1;
    char id[16], rep[64];
    *first = 0;
    for (i = 0; i < n; i++) {
        snprintf(id, sizeof id, "S%u", i);
        int k = rep_index(ids, nids, d ? assign(r, d, id, "w") : assign_fresh(r, id, "w", rep, sizeof rep));
        run = k == last ? run + 1 : 1;
        last = k;
        if (run > longest)
            longest = run;
        *first += k == 0;
    }
    return longest;
}

/* A swap that changes strides: the heaviest member leaves, so the pool's
 * scale falls, or a weight changes under the same scale. The passes kept
 * were measured in the old strides; read as they are, a's one lead ahead of
 * b would be a hundred (or a hundred thousand) of the new strides, and b
 * would get that many in a row. Kept as the same share of a turn instead,
 * a and b alternate from the first lead after the swap. */
static void test_weighted_strides_change(void **state)
{
    (void)state;
    static const struct {
        double before[3], after[2];
        size_t n;
    } cases[] = {
        { { 1, 1, 1e4 }, { 1, 1 }, 3 },
        { { 1, 1, 1e7 }, { 1, 1 }, 3 },
        { { 1e-3, 1, 0 }, { 1, 1 }, 2 },
        { { 1, 1, 1e4 }, { 5, 5 }, 3 },
    };
    const char *const ids[] = { "a", "b", "h" };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (int fresh = 0; fresh < 2; fresh++) {
            leadroute_router *r = router_of(HDR "w,w,,wt,,,,\n", wt_roster(ids, cases[c].before, cases[c].n));
            leadroute_decision *d = decision();
            unsigned longest, got_a;
            /* every pass at 0: a, the lowest id, gets the first lead */
            expect_str(assign(r, d, "L0", "w"), "a");
            leadroute_roster *ro = wt_roster(ids, cases[c].after, 2);
            ok(leadroute_router_set_roster(r, ro));
            leadroute_roster_unref(ro);
            longest = wt_longest_run(r, fresh ? NULL : d, ids, 2, 60, &got_a);
            if (longest > 2 || got_a < 29 || got_a > 31)
                fail_msg("weights %g/%g/%g then %g/%g (%s): longest run %u, a got %u of 60", cases[c].before[0],
                         cases[c].before[1], cases[c].before[2], cases[c].after[0], cases[c].after[1],
                         fresh ? "a decision per lead" : "one decision", longest, got_a);
            leadroute_decision_free(d);
            leadroute_router_free(r);
        }
}

/* Picks through the strategy from `state`, each reading the state the last
 * one wrote; the reps picked, as letters, into `out`. */
static void wt_picks(const leadroute_roster *ro, const char *state, unsigned n, char *out)
{
    const lr__pool *p = &ro->pools[0];
    lr__state st[2] = { { NULL, 0, 0 }, { NULL, 0, 0 } };
    lr__alloc a;
    unsigned i;
    ok(lr__alloc_init(&a, NULL));
    for (i = 0; i < n; i++) {
        const char *cur = i ? st[i % 2].text : state;
        size_t len = i ? st[i % 2].len : strlen(state);
        int k = lr__strategy_pick(ro, p, p->members, p->nmembers, NULL, 0, NULL, cur, len, &st[(i + 1) % 2], &a, NULL);
        assert_true(k >= 0 && (uint32_t)k < p->nmembers);
        out[i] = ro->reps[p->members[k]].id[0];
    }
    out[n] = 0;
    lr__free(&a, st[0].text);
    lr__free(&a, st[1].text);
}

/* Round robin's state is the line of members, next in turn first. An
 * earlier release's "rr1 <last id>" reads as the line it meant; ids no
 * longer members, and repeats, are dropped; members the state does not
 * name join the front, in id order; text of no known form is no state. */
static void test_round_robin_line_state(void **state)
{
    (void)state;
    const char *const ids[] = { "a", "b", "c" };
    leadroute_roster *ro = rr_roster(ids, 3);
    const lr__pool *p = &ro->pools[0];
    lr__state next = { NULL, 0, 0 };
    lr__alloc a;
    char picks[16];
    static const struct { const char *state, *picks; } cases[] = {
        { "", "abcabc" },
        { "rr1 b", "cabcab" },
        { "rr1 a", "bcabca" },
        { "rr1 bb", "cabcab" },   /* between b and c */
        { "rr1 zz", "abcabc" },   /* past every id: wrap */
        { "rr2\nc\nb\na", "cbacba" },
        { "rr2\nc\nx\nc\nb", "acbacb" }, /* x gone, c once, a new: at the front */
        { "rr2\n", "abcabc" },
        { "zz9 q", "abcabc" },
    };
    ok(lr__alloc_init(&a, NULL));
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wt_picks(ro, cases[i].state, 6, picks);
        if (strcmp(picks, cases[i].picks) != 0)
            fail_msg("state '%s': picks %s, want %s", cases[i].state, picks, cases[i].picks);
    }
    /* what one pick writes: the rep served at the back */
    assert_int_equal(lr__strategy_pick(ro, p, p->members, 3, NULL, 0, NULL, "rr1 b", 5, &next, &a, NULL), 2);
    expect_str(next.text, "rr2\na\nb\nc");
    /* only b eligible: b goes to the back, a and c keep their places */
    assert_int_equal(lr__strategy_pick(ro, p, p->members + 1, 1, NULL, 0, NULL, "rr2\na\nb\nc", 9, &next, &a, NULL), 0);
    expect_str(next.text, "rr2\na\nc\nb");
    lr__free(&a, next.text);
    leadroute_roster_unref(ro);
}

/* docs/router.md's example of a weighted state: alice and dave (weight 2)
 * and erin (weight 1) after the first two leads, to alice then dave. */
static void test_weighted_state_as_documented(void **state)
{
    (void)state;
    const char *const ids[] = { "alice", "dave", "erin" };
    const double w[] = { 2, 2, 1 };
    leadroute_roster *ro = wt_roster(ids, w, 3);
    const lr__pool *p = &ro->pools[0];
    lr__state first = { NULL, 0, 0 }, second = { NULL, 0, 0 };
    lr__alloc a;
    ok(lr__alloc_init(&a, NULL));
    assert_int_equal(lr__strategy_pick(ro, p, p->members, 3, NULL, 0, NULL, "", 0, &first, &a, NULL), 0);
    assert_int_equal(lr__strategy_pick(ro, p, p->members, 3, NULL, 0, NULL, first.text, first.len, &second, &a, NULL), 1);
    expect_str(second.text, "wr1 0\n5000000 alice\n5000000 dave\n0 erin\ns 5000000 5000000 10000000");
    lr__free(&a, first.text);
    lr__free(&a, second.text);
    leadroute_roster_unref(ro);
}

/* The state names each member's stride on a last line, so that a swap can
 * tell how far a pass is in turns. A state written before that line existed
 * still loads: a pass within a stride of the virtual time is kept as it is,
 * and one further ahead (written under a larger scale) is brought back to
 * one stride, so that no one waits out a hundred turns; so is any pass
 * further ahead than a pick can leave it. */
static void test_weighted_state_strides(void **state)
{
    (void)state;
    const char *const ids[] = { "a", "b" };
    const double w[] = { 1, 1 };
    leadroute_roster *ro = wt_roster(ids, w, 2);
    const lr__pool *p = &ro->pools[0];
    lr__state next = { NULL, 0, 0 };
    lr__alloc a;
    char picks[16];
    ok(lr__alloc_init(&a, NULL));
    assert_int_equal(lr__strategy_pick(ro, p, p->members, 2, NULL, 0, NULL, "", 0, &next, &a, NULL), 0);
    expect_str(next.text, "wr1 0\n10000000 a\n0 b\ns 10000000 10000000");
    lr__free(&a, next.text);
    /* without the strides: as written, b is next */
    wt_picks(ro, "wr1 0\n10000000 a\n0 b", 6, picks);
    expect_str(picks, "bababa");
    /* b a hundred strides ahead, as weights 1, 1 and 1e4 left it: kept to
     * just over two turns ahead of a, the most leads only b could take leave it */
    wt_picks(ro, "wr1 0\n0 a\n1000000000 b", 6, picks);
    expect_str(picks, "aaabab");
    /* strides given: a pass half the stride it was written with ahead is
     * half of the new one ahead (kept as it stands, b would wait a hundred
     * turns; brought back to one stride, a would get two in a row) */
    wt_picks(ro, "wr1 0\n0 a\n500000000 b\ns 1000000000 1000000000", 6, picks);
    expect_str(picks, "ababab");
    /* strides given, but a pass no pick writes: further ahead than two
     * turns (no catch-up here), as a damaged state may hold; kept to two */
    wt_picks(ro, "wr1 0\n0 a\n4000000000000000000 b\ns 10000000 10000000", 6, picks);
    expect_str(picks, "aaabab");
    wt_picks(ro, "wr1 0\n0 a\n1000 b\ns 1 1", 6, picks);
    expect_str(picks, "aaabab");
    leadroute_roster_unref(ro);
}

/* ================================================================================ */
/* least loaded and capacity                                                         */

static void test_least_loaded(void **state)
{
    (void)state;
    const char *const pl[] = { "ll" };
    leadroute_rep reps[] = { mkrep("c", pl, 1), mkrep("a", pl, 1), mkrep("b", pl, 1) };
    leadroute_pool pools[] = { mkpool("ll", LEADROUTE_STRATEGY_LEAST_LOADED) };
    leadroute_router *r = router_of(HDR "l,l,,ll,,,,\n", roster_ok(reps, 3, pools, 1));
    leadroute_decision *d = decision();
    /* all at 0: ties by id */
    expect_str(assign(r, d, "L1", "l"), "a");
    expect_verdict(d, "b", "ll", LEADROUTE_VERDICT_ELIGIBLE, NULL);
    expect_str(assign(r, d, "L2", "l"), "b");
    expect_str(assign(r, d, "L3", "l"), "c");
    expect_str(assign(r, d, "L4", "l"), "a");
    /* a has 2, b 1, c 1: b (tie with c, lower id) */
    expect_str(assign(r, d, "L5", "l"), "b");
    /* closing releases: a 2->0 */
    ok(leadroute_router_close(r, "L1"));
    ok(leadroute_router_close(r, " L4 "));   /* keys are trimmed like dedupe keys */
    expect_rc(leadroute_router_close(r, "L4"), LEADROUTE_ENOTFOUND);
    expect_rc(leadroute_router_close(r, "nope"), LEADROUTE_ENOTFOUND);
    expect_str(assign(r, d, "L6", "l"), "a");   /* a 0, b 2, c 1 */
    expect_str(assign(r, d, "L7", "l"), "a");   /* a 1, c 1: a by id */
    expect_str(assign(r, d, "L8", "l"), "c");   /* a 2, b 2, c 1 */
    /* a closed lead can be routed again: it is a new claim */
    expect_str(assign(r, d, "L1", "l"), "a");   /* a 2, b 2, c 2: a by id */
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

static void test_capacity(void **state)
{
    (void)state;
    const char *const pl[] = { "ll" };
    const char *const pr[] = { "rr" };
    leadroute_rep reps[] = { mkrep("a", pl, 1), mkrep("b", pl, 1), mkrep("x", pr, 1) };
    reps[0].capacity = 2;
    reps[1].capacity = 1;
    reps[2].capacity = 1;
    leadroute_pool pools[] = { mkpool("ll", LEADROUTE_STRATEGY_LEAST_LOADED),
                               mkpool("rr", LEADROUTE_STRATEGY_ROUND_ROBIN) };
    pools[0].on_empty = LEADROUTE_EMPTY_QUEUE;
    pools[0].queue = "overflow";
    leadroute_router *r = router_of(HDR "l,l,,ll,,,,\n"
                                        "x,x,x,,,,,\n"
                                        "rr,rr,,rr,,,,\n",
                                    roster_ok(reps, 3, pools, 2));
    leadroute_decision *d = decision();
    expect_str(assign(r, d, "L1", "l"), "a");
    expect_str(assign(r, d, "L2", "l"), "b");
    expect_str(assign(r, d, "L3", "l"), "a");
    /* a 2 of 2, b 1 of 1: nobody; the trace says at capacity with counts */
    ok(route_flags(r, d, "L4", "l", LEADROUTE_ROUTE_TRACE));
    expect_status(d, LEADROUTE_ROUTE_QUEUED);
    expect_str(leadroute_decision_queue(d), "overflow");
    expect_verdict(d, "a", "ll", LEADROUTE_VERDICT_AT_CAPACITY, "2 of 2");
    expect_verdict(d, "b", "ll", LEADROUTE_VERDICT_AT_CAPACITY, "1 of 1");
    for (int i = 0; i < 5; i++) {
        char id[16];
        snprintf(id, sizeof id, "F%d", i);
        ok(route_flags(r, d, id, "l", 0));
        expect_status(d, LEADROUTE_ROUTE_QUEUED);
    }
    assert_int_equal(leadroute_router_rep_assigned(r, "a"), 2);
    assert_int_equal(leadroute_router_rep_assigned(r, "b"), 1);
    /* one closed lead frees one place */
    ok(leadroute_router_close(r, "L2"));
    expect_str(assign(r, d, "L5", "l"), "b");
    ok(route_flags(r, d, "L6", "l", 0));
    expect_status(d, LEADROUTE_ROUTE_QUEUED);

    /* capacity binds direct owners too, and is counted across pools */
    expect_str(assign(r, d, "X1", "x"), "x");
    ok(route_flags(r, d, "X2", "x", LEADROUTE_ROUTE_TRACE));
    expect_status(d, LEADROUTE_ROUTE_UNASSIGNED);
    expect_verdict(d, "x", NULL, LEADROUTE_VERDICT_AT_CAPACITY, "1 of 1");
    ok(route_flags(r, d, "X3", "rr", LEADROUTE_ROUTE_TRACE));
    expect_status(d, LEADROUTE_ROUTE_UNASSIGNED);
    expect_verdict(d, "x", "rr", LEADROUTE_VERDICT_AT_CAPACITY, NULL);
    assert_int_equal(leadroute_router_rep_assigned(r, "x"), 1);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* ================================================================================ */
/* skills and tiers                                                                  */

static void test_skill_filters(void **state)
{
    (void)state;
    const char *const pp[] = { "sk" };
    const char *const l_en_de[] = { "EN", " de " };
    const char *const l_en[] = { "en" };
    static char long_item[2043];   /* with its NUL and "alpha": the router's 2,048 bytes of lead items, and 1 more */
    const char *const prod_ab[] = { "alpha", "beta", long_item };
    leadroute_field sk_amy[] = { { "languages", { LEADROUTE_VALUE_VERSION, LEADROUTE_VALUE_SET, NULL, 0, 0, l_en_de, 2 } },
                                 { "products", { LEADROUTE_VALUE_VERSION, LEADROUTE_VALUE_SET, NULL, 0, 0, prod_ab, 3 } } };
    memset(long_item, 'x', sizeof long_item - 1);
    leadroute_field sk_bob[] = { { "languages", { LEADROUTE_VALUE_VERSION, LEADROUTE_VALUE_SET, NULL, 0, 0, l_en, 1 } },
                                 { "products", { LEADROUTE_VALUE_VERSION, LEADROUTE_VALUE_STRING, "alpha", 0, 0, NULL, 0 } } };
    leadroute_rep reps[] = { mkrep("amy", pp, 1), mkrep("bob", pp, 1), mkrep("cy", pp, 1) };
    reps[0].skills = sk_amy;
    reps[0].skill_count = 2;
    reps[1].skills = sk_bob;
    reps[1].skill_count = 2;
    leadroute_skill_filter f[] = { { "language", "languages" }, { "interests", "products" } };
    leadroute_pool pools[] = { mkpool("sk", LEADROUTE_STRATEGY_ROUND_ROBIN) };
    pools[0].filters = f;
    pools[0].filter_count = 2;
    leadroute_router *r = router_of(HDR "s,s,,sk,,,,\n", roster_ok(reps, 3, pools, 1));
    leadroute_decision *d = decision();
    tlead l;

    /* German: only amy (case and blanks do not matter) */
    lead_of(&l, "L1", "s");
    tl_str(&l, "language", "De");
    ok(leadroute_route(r, &l.lead, LEADROUTE_ROUTE_TRACE, d));
    expect_str(leadroute_decision_rep(d), "amy");
    expect_verdict(d, "bob", "sk", LEADROUTE_VERDICT_LACKS_SKILL, "language=De not in languages");
    expect_verdict(d, "cy", "sk", LEADROUTE_VERDICT_LACKS_SKILL, "not in languages");
    /* set field: every item is required; bob has alpha only */
    const char *const want_ab[] = { "alpha", "beta" };
    lead_of(&l, "L2", "s");
    tl_set(&l, "interests", want_ab, 2);
    ok(leadroute_route(r, &l.lead, LEADROUTE_ROUTE_TRACE, d));
    expect_str(leadroute_decision_rep(d), "amy");
    expect_verdict(d, "bob", "sk", LEADROUTE_VERDICT_LACKS_SKILL, "interests=beta not in products");
    const char *const want_a[] = { "ALPHA" };
    lead_of(&l, "L3", "s");
    tl_set(&l, "interests", want_a, 1);
    tl_str(&l, "language", "en");
    ok(leadroute_route(r, &l.lead, LEADROUTE_ROUTE_TRACE, d));
    expect_str(leadroute_decision_rep(d), "bob");    /* after amy */
    expect_verdict(d, "amy", "sk", LEADROUTE_VERDICT_ELIGIBLE, NULL);
    expect_verdict(d, "cy", "sk", LEADROUTE_VERDICT_LACKS_SKILL, NULL);
    /* a lead without the fields (or with empty ones) passes every filter */
    lead_of(&l, "L4", "s");
    ok(leadroute_route(r, &l.lead, LEADROUTE_ROUTE_TRACE, d));
    expect_str(leadroute_decision_rep(d), "cy");
    expect_verdict(d, "amy", "sk", LEADROUTE_VERDICT_ELIGIBLE, NULL);
    expect_verdict(d, "bob", "sk", LEADROUTE_VERDICT_ELIGIBLE, NULL);
    lead_of(&l, "L5", "s");
    tl_str(&l, "language", "  ");
    tl_set(&l, "interests", NULL, 0);
    ok(leadroute_route(r, &l.lead, LEADROUTE_ROUTE_TRACE, d));
    expect_str(leadroute_decision_rep(d), "amy");
    /* nobody speaks French: unassigned, each with its verdict */
    lead_of(&l, "L6", "s");
    tl_str(&l, "language", "fr");
    ok(leadroute_route(r, &l.lead, LEADROUTE_ROUTE_TRACE, d));
    expect_status(d, LEADROUTE_ROUTE_UNASSIGNED);
    expect_verdict(d, "amy", "sk", LEADROUTE_VERDICT_LACKS_SKILL, "language=fr not in languages");
    char *txt = explain(d, LEADROUTE_EXPLAIN_TEXT);
    expect_has(txt, "lacks skill: language=fr not in languages");
    free(txt);
    /* items too long to normalise up front are still compared, one by one */
    const char *const want_long[] = { long_item, "alpha" };
    lead_of(&l, "L7", "s");
    tl_set(&l, "interests", want_long, 2);
    ok(leadroute_route(r, &l.lead, LEADROUTE_ROUTE_TRACE, d));
    expect_str(leadroute_decision_rep(d), "amy");
    expect_verdict(d, "bob", "sk", LEADROUTE_VERDICT_LACKS_SKILL, "interests=xxx");
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* A skill set holds text: a number or a bool in the field a filter reads is
 * an error of the lead (as for a string column of the table), whichever
 * filter reads it, and nothing changes. */
/* Filters lang0 .. lang16 on the skill set "languages": the last one is
 * read member by member, past the filters a pool view caches. */
#define LANG_FILTERS 17
static void lang_filters(char fields[LANG_FILTERS][16], leadroute_skill_filter f[LANG_FILTERS])
{
    for (int i = 0; i < LANG_FILTERS; i++) {
        snprintf(fields[i], sizeof fields[i], "lang%d", i);
        f[i].field = fields[i];
        f[i].skill = "languages";
    }
}

static void test_skill_filter_number_or_bool(void **state)
{
    (void)state;
    const char *const pp[] = { "sk" };
    const char *const langs[] = { "en", "7", "true" };
    leadroute_field sk[] = { { "languages", { LEADROUTE_VALUE_VERSION, LEADROUTE_VALUE_SET, NULL, 0, 0, langs, 3 } } };
    leadroute_rep reps[] = { mkrep("amy", pp, 1), mkrep("bob", pp, 1) };
    reps[0].skills = sk;
    reps[0].skill_count = 1;
    reps[1].skills = sk;
    reps[1].skill_count = 1;
    char fields[LANG_FILTERS][16];
    leadroute_skill_filter f[LANG_FILTERS];
    lang_filters(fields, f);
    leadroute_pool pools[] = { mkpool("sk", LEADROUTE_STRATEGY_ROUND_ROBIN) };
    pools[0].filters = f;
    pools[0].filter_count = LANG_FILTERS;
    leadroute_router *r = router_of(HDR "s,s,,sk,,,,\n", roster_ok(reps, 2, pools, 1));
    leadroute_decision *d = decision();
    nlog log;
    tlead l;
    memset(&log, 0, sizeof log);
    set_notify(r, &log);

    /* a number, in a cached filter and in the last one */
    lead_of(&l, "L1", "s");
    tl_num(&l, "lang0", 7);
    expect_rc(leadroute_route(r, &l.lead, LEADROUTE_ROUTE_TRACE, d), LEADROUTE_ELEAD);
    expect_status(d, LEADROUTE_ROUTE_UNROUTED);
    expect_has(leadroute_decision_reason(d), "lead field 'lang0'");
    expect_message_has("skill filter of pool 'sk' reads a string or a set, the lead gives a number");
    lead_of(&l, "L1", "s");
    tl_num(&l, "lang16", 7);
    expect_rc(leadroute_route(r, &l.lead, 0, d), LEADROUTE_ELEAD);
    expect_message_has("lead field 'lang16'");
    /* a bool, even false */
    lead_of(&l, "L1", "s");
    tl_str(&l, "lang1", "en");
    tl_bool(&l, "lang2", 0);
    expect_rc(leadroute_route(r, &l.lead, 0, d), LEADROUTE_ELEAD);
    expect_message_has("the lead gives a bool");
    lead_of(&l, "L1", "s");
    tl_bool(&l, "lang16", 1);
    expect_rc(leadroute_route(r, &l.lead, LEADROUTE_ROUTE_DRY_RUN, d), LEADROUTE_ELEAD);
    expect_status(d, LEADROUTE_ROUTE_UNROUTED);
    /* nothing changed: no claim, no count, the rotation where it was */
    assert_int_equal(log.n, 0);
    assert_int_equal(leadroute_router_rep_assigned(r, "amy"), 0);
    assert_int_equal(leadroute_router_unrouted(r, LEADROUTE_UNROUTED_ERROR), 3);
    assert_int_equal(leadroute_router_rule_hits(r, 0), 0);
    expect_rc(leadroute_router_close(r, "L1"), LEADROUTE_ENOTFOUND);
    /* the same text as a string, and a null field, route as usual */
    lead_of(&l, "L1", "s");
    tl_str(&l, "lang0", "7");
    tl_str(&l, "lang16", "true");
    tl_null(&l, "lang3");
    ok(leadroute_route(r, &l.lead, 0, d));
    expect_str(leadroute_decision_rep(d), "amy");
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* Blank items of a set field ask for no skill, whether the set is short
 * (its items folded once per pool) or longer than 16 items (compared
 * member by member). */
static void test_skill_filter_blank_items(void **state)
{
    (void)state;
    const char *const pp[] = { "sk" };
    static const char *const have[] = { "p00", "p01", "p02", "p03", "p04", "p05", "p06", "p07", "p08", "p09",
                                        "p10", "p11", "p12", "p13", "p14", "p15", "p16", "p17", "p18", "p19",
                                        "p20", "p21", "p22", "p23" };
    leadroute_field sk[] = { { "products", { LEADROUTE_VALUE_VERSION, LEADROUTE_VALUE_SET, NULL, 0, 0, have, 24 } } };
    leadroute_rep reps[] = { mkrep("amy", pp, 1), mkrep("bob", pp, 1) };
    reps[0].skills = sk;
    reps[0].skill_count = 1;
    leadroute_skill_filter f[] = { { "interests", "products" } };
    leadroute_pool pools[] = { mkpool("sk", LEADROUTE_STRATEGY_ROUND_ROBIN) };
    pools[0].filters = f;
    pools[0].filter_count = 1;
    leadroute_router *r = router_of(HDR "s,s,,sk,,,,\n", roster_ok(reps, 2, pools, 1));
    leadroute_decision *d = decision();
    const char *items[24];
    size_t sizes[] = { 4, 16, 17, 24 };
    char id[32];
    tlead l;

    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
        size_t n = sizes[t];
        /* known items with blanks of every kind among them */
        for (size_t i = 0; i < n; i++)
            items[i] = i % 4 == 1 ? "" : i % 4 == 3 ? (i % 8 == 3 ? "   " : " \t ") : have[i];
        /* amy has every named item: she alone can take it, each time */
        snprintf(id, sizeof id, "B%zu", n);
        lead_of(&l, id, "s");
        tl_set(&l, "interests", items, n);
        ok(leadroute_route(r, &l.lead, LEADROUTE_ROUTE_TRACE, d));
        if (!leadroute_decision_rep(d) || strcmp(leadroute_decision_rep(d), "amy") != 0)
            fail_msg("%zu items: %s", n, leadroute_decision_reason(d));
        expect_verdict(d, "bob", "sk", LEADROUTE_VERDICT_LACKS_SKILL, "interests=p00 not in products");
        /* nothing but blanks: no skill asked, bob's turn */
        for (size_t i = 0; i < n; i++)
            items[i] = i % 2 ? "" : "  ";
        snprintf(id, sizeof id, "E%zu", n);
        lead_of(&l, id, "s");
        tl_set(&l, "interests", items, n);
        ok(leadroute_route(r, &l.lead, LEADROUTE_ROUTE_TRACE, d));
        if (!leadroute_decision_rep(d) || strcmp(leadroute_decision_rep(d), "bob") != 0)
            fail_msg("%zu blank items: %s", n, leadroute_decision_reason(d));
        expect_verdict(d, "amy", "sk", LEADROUTE_VERDICT_ELIGIBLE, NULL);
        /* an unknown item among the blanks still counts, and is the one named */
        items[n - 1] = "zz";
        snprintf(id, sizeof id, "Z%zu", n);
        lead_of(&l, id, "s");
        tl_set(&l, "interests", items, n);
        ok(leadroute_route(r, &l.lead, LEADROUTE_ROUTE_TRACE, d));
        expect_status(d, LEADROUTE_ROUTE_UNASSIGNED);
        expect_verdict(d, "amy", "sk", LEADROUTE_VERDICT_LACKS_SKILL, "interests=zz not in products");
    }
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* Fields the router reads itself (skill filters, past the cached ones too,
 * the score of tiers, the deal value, the account, the capture time) are
 * checked as table columns are: a bad value is refused before anything is
 * decided, never read as "no such field" (which would let the lead past a
 * filter) nor followed into a crash. */
static void test_router_fields_checked(void **state)
{
    (void)state;
    const char *const pp[] = { "sk" };
    const char *const en[] = { "en" };
    leadroute_field sk[] = { { "languages", { LEADROUTE_VALUE_VERSION, LEADROUTE_VALUE_SET, NULL, 0, 0, en, 1 } } };
    leadroute_rep reps[] = { mkrep("amy", pp, 1), mkrep("bob", pp, 1) };
    leadroute_tier_rule tiers[] = { { 50, 1 } };
    char fields[LANG_FILTERS][16], big[LEADROUTE_MAX_STRING + 2];
    leadroute_skill_filter f[LANG_FILTERS];
    leadroute_pool pools[] = { mkpool("sk", LEADROUTE_STRATEGY_ROUND_ROBIN) };
    static const struct {
        const char *field;
        int kind; /* 0 set with NULL items, 1 text, 2 number, 3 value version 9, 4 bool, 5 set of text */
        const char *text;
        double number;
        int rc;
        const char *message;
    } bad[] = {
        { "lang0", 0, NULL, 0, LEADROUTE_ELEAD, "lead field 'lang0': set items are NULL" },
        { "lang16", 0, NULL, 0, LEADROUTE_ELEAD, "lead field 'lang16': set items are NULL" },
        { "lang0", 1, "en\xff", 0, LEADROUTE_ELEAD, "lead field 'lang0': string is not valid UTF-8" },
        { "lang16", 1, "", 0, LEADROUTE_ELEAD, "lead field 'lang16': string is longer than" }, /* big */
        { "lang0", 1, NULL, 0, LEADROUTE_ELEAD, "lead field 'lang0': string is NULL" },
        { "lang0", 3, "fr", 0, LEADROUTE_EVERSION, "lead field 'lang0': leadroute_value version 9" },
        { "score", 2, NULL, NAN, LEADROUTE_ELEAD, "lead field 'score': number is NaN" },
        { "score", 2, NULL, INFINITY, LEADROUTE_ELEAD, "lead field 'score': number is infinite" },
        { "deal_value", 2, NULL, NAN, LEADROUTE_ELEAD, "lead field 'deal_value': number is NaN" },
        { "email", 1, "amy@acme\xc3.com", 0, LEADROUTE_ELEAD, "lead field 'email': string is not valid UTF-8" },
        { "captured_at", 2, NULL, -INFINITY, LEADROUTE_ELEAD, "lead field 'captured_at': number is infinite" },
        /* numbers as text, as a table's number column reads them */
        { "score", 1, "1e400", 0, LEADROUTE_ELEAD, "lead field 'score': '1e400' is past the range of a double" },
        { "score", 1, "high", 0, LEADROUTE_ELEAD, "lead field 'score': 'high' is not a number" },
        { "deal_value", 1, "-1e400", 0, LEADROUTE_ELEAD, "lead field 'deal_value': '-1e400' is past the range of a double" },
        /* values of other types, valid as values, are not "no score" */
        { "score", 4, NULL, 0, LEADROUTE_ELEAD, "lead field 'score': a number is read here, the lead gives a bool" },
        { "score", 5, "95", 0, LEADROUTE_ELEAD, "lead field 'score': a number is read here, the lead gives a set" },
        { "deal_value", 5, "5e20", 0, LEADROUTE_ELEAD,
          "lead field 'deal_value': a number is read here, the lead gives a set" },
    };
    size_t i;
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    reps[0].skills = sk;
    reps[0].skill_count = 1;
    reps[1].tier = 1;
    lang_filters(fields, f);
    pools[0].filters = f;
    pools[0].filter_count = LANG_FILTERS;
    pools[0].tiers = tiers;
    pools[0].tier_count = 1;
    pools[0].on_empty = LEADROUTE_EMPTY_QUEUE;
    pools[0].queue = "triage";
    leadroute_router *r = router_of(HDR "s,s,,sk,,,,\n", roster_ok(reps, 2, pools, 1));
    leadroute_decision *d = decision();
    nlog log;
    tlead l;
    memset(&log, 0, sizeof log);
    set_notify(r, &log);

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        leadroute_value *v;
        lead_of(&l, "L1", "s");
        v = tl_add(&l, bad[i].field);
        switch (bad[i].kind) {
        case 0:
            v->type = LEADROUTE_VALUE_SET;
            v->items = NULL;
            v->item_count = 3;
            break;
        case 1:
            v->type = LEADROUTE_VALUE_STRING;
            v->string = bad[i].text && !bad[i].text[0] ? big : bad[i].text;
            break;
        case 2:
            v->type = LEADROUTE_VALUE_NUMBER;
            v->number = bad[i].number;
            break;
        case 3:
            v->type = LEADROUTE_VALUE_STRING;
            v->string = bad[i].text;
            v->version = 9;
            break;
        case 4:
            v->type = LEADROUTE_VALUE_BOOL;
            v->boolean = 1;
            break;
        default:
            v->type = LEADROUTE_VALUE_SET;
            v->items = &bad[i].text;
            v->item_count = 1;
            break;
        }
        expect_rc(leadroute_route(r, &l.lead, i % 2 ? LEADROUTE_ROUTE_TRACE : 0, d), bad[i].rc);
        expect_status(d, LEADROUTE_ROUTE_UNROUTED);
        expect_message_has(bad[i].message);
        /* the lead's own check says the same of the value (a number, as text or
         * of another type, is read only here) */
        if (!strstr(bad[i].message, "is not a number") && !strstr(bad[i].message, "past the range of a double") &&
            !strstr(bad[i].message, "a number is read here"))
            assert_int_equal(leadroute_lead_validate(&l.lead), bad[i].rc);
    }
    /* nothing changed: no claim, no count, no notification */
    assert_int_equal(log.n, 0);
    assert_int_equal(leadroute_router_rep_assigned(r, "amy"), 0);
    assert_int_equal(leadroute_router_rep_assigned(r, "bob"), 0);
    assert_int_equal(leadroute_router_unrouted(r, LEADROUTE_UNROUTED_ERROR), sizeof bad / sizeof bad[0]);
    assert_int_equal(leadroute_router_rule_hits(r, 0), 0);
    expect_rc(leadroute_router_close(r, "L1"), LEADROUTE_ENOTFOUND);
    /* good values route as before: "fr" is a skill amy lacks (bob has none), so it queues;
     * "en" with a score of 60 needs tier 1, which only bob has, and bob lacks "en" */
    lead_of(&l, "L1", "s");
    tl_str(&l, "lang0", "fr");
    ok(leadroute_route(r, &l.lead, 0, d));
    expect_status(d, LEADROUTE_ROUTE_QUEUED);
    lead_of(&l, "L2", "s");
    tl_str(&l, "lang16", "en");
    tl_num(&l, "score", 60);
    ok(leadroute_route(r, &l.lead, 0, d));
    expect_status(d, LEADROUTE_ROUTE_QUEUED);
    lead_of(&l, "L3", "s");
    tl_str(&l, "lang16", "en");
    tl_num(&l, "score", 10);
    tl_num(&l, "deal_value", 1000);
    tl_str(&l, "email", "x@acme.com");
    tl_str(&l, "captured_at", "2026-11-24T09:30:00Z");
    ok(leadroute_route(r, &l.lead, 0, d));
    expect_str(leadroute_decision_rep(d), "amy");
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

static void test_score_tiers(void **state)
{
    (void)state;
    const char *const pp[] = { "t" };
    leadroute_rep reps[] = { mkrep("jr", pp, 1), mkrep("mid", pp, 1), mkrep("sr", pp, 1) };
    reps[0].tier = 0;
    reps[1].tier = 1;
    reps[2].tier = 2;
    leadroute_tier_rule tiers[] = { { 50, 1 }, { 80, 2 } };
    leadroute_pool pools[] = { mkpool("t", LEADROUTE_STRATEGY_ROUND_ROBIN) };
    pools[0].tiers = tiers;
    pools[0].tier_count = 2;
    leadroute_router *r = router_of(HDR "t,t,,t,,,,\n", roster_ok(reps, 3, pools, 1));
    leadroute_decision *d = decision();
    tlead l;

    lead_of(&l, "L1", "t");
    tl_num(&l, "score", 85);
    ok(leadroute_route(r, &l.lead, LEADROUTE_ROUTE_TRACE, d));
    expect_str(leadroute_decision_rep(d), "sr");
    expect_verdict(d, "jr", "t", LEADROUTE_VERDICT_TIER, "tier 0");
    expect_verdict(d, "mid", "t", LEADROUTE_VERDICT_TIER, "tier 1");
    /* exactly 80, as a numeric string */
    lead_of(&l, "L2", "t");
    tl_str(&l, "score", " 80 ");
    ok(leadroute_route(r, &l.lead, LEADROUTE_ROUTE_TRACE, d));
    expect_str(leadroute_decision_rep(d), "sr");
    /* 60: tier 1 or more; mid follows sr... wraps to mid */
    lead_of(&l, "L3", "t");
    tl_num(&l, "score", 60);
    ok(leadroute_route(r, &l.lead, LEADROUTE_ROUTE_TRACE, d));
    expect_str(leadroute_decision_rep(d), "mid");
    expect_verdict(d, "jr", "t", LEADROUTE_VERDICT_TIER, NULL);
    expect_verdict(d, "sr", "t", LEADROUTE_VERDICT_ELIGIBLE, NULL);
    /* 79.9: still tier 1 */
    lead_of(&l, "L4", "t");
    tl_num(&l, "score", 79.9);
    ok(leadroute_route(r, &l.lead, LEADROUTE_ROUTE_TRACE, d));
    expect_str(leadroute_decision_rep(d), "sr");
    /* low score or no score: anyone */
    lead_of(&l, "L5", "t");
    tl_num(&l, "score", 10);
    ok(leadroute_route(r, &l.lead, 0, d));
    expect_str(leadroute_decision_rep(d), "jr");
    lead_of(&l, "L6", "t");
    ok(leadroute_route(r, &l.lead, 0, d));
    expect_str(leadroute_decision_rep(d), "mid");
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* ================================================================================ */
/* availability                                                                      */

static void test_availability_asked_once(void **state)
{
    (void)state;
    const char *const p1[] = { "p1" };
    const char *const p12[] = { "p1", "p2" };
    const char *const p2[] = { "p2" };
    const leadroute_field sk_de = { "languages", { LEADROUTE_VALUE_VERSION, LEADROUTE_VALUE_STRING, "de", 0, 0, NULL, 0 } };
    leadroute_rep reps[] = { mkrep("a", p1, 1), mkrep("b", p12, 2), mkrep("c", p1, 1), mkrep("d", p1, 1),
                             mkrep("e", p2, 1), mkrep("own", NULL, 0) };
    /* a lacks German; b speaks it (in both pools); c is inactive; d is full */
    reps[1].skills = &sk_de;
    reps[1].skill_count = 1;
    reps[2].active = 0;
    reps[3].skills = &sk_de;
    reps[3].skill_count = 1;
    reps[3].capacity = 1;
    reps[4].skills = &sk_de;
    reps[4].skill_count = 1;
    leadroute_skill_filter f[] = { { "language", "languages" } };
    leadroute_pool pools[] = { mkpool("p1", LEADROUTE_STRATEGY_ROUND_ROBIN), mkpool("p2", LEADROUTE_STRATEGY_ROUND_ROBIN) };
    pools[0].filters = f;
    pools[0].filter_count = 1;
    pools[0].fallback = "p2";
    pools[1].filters = f;
    pools[1].filter_count = 1;
    leadroute_router *r = router_of(HDR "p,p,,p1,,,,\n"
                                        "o,o,b,p1,,,,\n"
                                        "d,d,d,,,,,\n",
                                    roster_ok(reps, 6, pools, 2));
    leadroute_decision *d = decision();
    avail av;
    memset(&av, 0, sizeof av);
    set_avail(r, &av);
    tlead l;

    /* fill d (capacity 1) through a direct rule */
    expect_str(assign(r, d, "D1", "d"), "d");
    av.nasked = 0;

    /* b away: asked once although it is in p1 and p2; a, c, d never asked */
    av.away[0] = "b";
    av.why[0] = "outside hours";
    av.naway = 1;
    lead_of(&l, "L1", "p");
    tl_str(&l, "language", "de");
    ok(leadroute_route(r, &l.lead, LEADROUTE_ROUTE_TRACE, d));
    expect_status(d, LEADROUTE_ROUTE_ASSIGNED);
    expect_str(leadroute_decision_rep(d), "e");
    expect_str(leadroute_decision_pool(d), "p2");
    assert_int_equal(times_asked(&av, "b"), 1);
    assert_int_equal(times_asked(&av, "e"), 1);
    assert_int_equal(times_asked(&av, "a"), 0);
    assert_int_equal(times_asked(&av, "c"), 0);
    assert_int_equal(times_asked(&av, "d"), 0);
    assert_int_equal(av.nasked, 2);
    expect_verdict(d, "b", "p1", LEADROUTE_VERDICT_AWAY, "outside hours");
    expect_verdict(d, "b", "p2", LEADROUTE_VERDICT_AWAY, "outside hours");
    expect_verdict(d, "a", "p1", LEADROUTE_VERDICT_LACKS_SKILL, NULL);
    expect_verdict(d, "c", "p1", LEADROUTE_VERDICT_EXCLUDED, "inactive");
    expect_verdict(d, "d", "p1", LEADROUTE_VERDICT_AT_CAPACITY, "1 of 1");
    char *txt = explain(d, LEADROUTE_EXPLAIN_TEXT);
    expect_has(txt, "away: outside hours");
    free(txt);

    /* direct owner b, then its pool: still one question about b */
    av.nasked = 0;
    lead_of(&l, "L2", "o");
    tl_str(&l, "language", "de");
    ok(leadroute_route(r, &l.lead, LEADROUTE_ROUTE_TRACE, d));
    expect_str(leadroute_decision_rep(d), "e");
    assert_int_equal(times_asked(&av, "b"), 1);
    expect_verdict(d, "b", NULL, LEADROUTE_VERDICT_AWAY, "outside hours");

    /* an AT_CAPACITY answer from the calendar is a verdict too; away without a reason says away */
    av.nasked = 0;
    av.naway = 1;
    av.why[0] = NULL;
    av.full[0] = "e";
    av.nfull = 1;
    lead_of(&l, "L3", "p");
    tl_str(&l, "language", "de");
    ok(leadroute_route(r, &l.lead, LEADROUTE_ROUTE_TRACE, d));
    expect_status(d, LEADROUTE_ROUTE_UNASSIGNED);
    expect_verdict(d, "e", "p2", LEADROUTE_VERDICT_AT_CAPACITY, NULL);
    expect_verdict(d, "b", "p1", LEADROUTE_VERDICT_AWAY, NULL);
    assert_int_equal(av.nasked, 2);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

static void test_availability_error(void **state)
{
    (void)state;
    const char *const ids[] = { "a", "b", "c" };
    leadroute_router *r = router_of(HDR "r,r,,rr,,,,\n", rr_roster(ids, 3));
    leadroute_decision *d = decision();
    avail av;
    nlog log;
    memset(&av, 0, sizeof av);
    memset(&log, 0, sizeof log);
    set_avail(r, &av);
    set_notify(r, &log);
    char m0[2048], m1[2048];
    size_t n;

    expect_str(assign(r, d, "L1", "r"), "a");
    expect_str(assign(r, d, "L2", "r"), "b");
    /* what would happen next */
    ok(route_flags(r, d, "L3", "r", LEADROUTE_ROUTE_DRY_RUN));
    expect_str(leadroute_decision_rep(d), "c");
    ok(leadroute_router_metrics_json(r, m0, sizeof m0, &n));
    uint64_t err0 = leadroute_router_unrouted(r, LEADROUTE_UNROUTED_ERROR);
    uint64_t hits0 = leadroute_router_rule_hits(r, 0);

    av.fail = LEADROUTE_EUSER;
    leadroute_error_clear();
    expect_rc(route_flags(r, d, "L3", "r", LEADROUTE_ROUTE_TRACE), LEADROUTE_ECALLBACK);
    assert_int_equal(leadroute_error_last()->code, LEADROUTE_ECALLBACK);
    expect_message_has("availability");
    expect_message_has("-12");
    expect_status(d, LEADROUTE_ROUTE_UNROUTED);
    expect_str(leadroute_decision_rep(d), NULL);
    expect_has(leadroute_decision_reason(d), "availability");
    assert_int_equal(log.n, 2);
    /* nothing moved but the ERROR count (docs/router.md, failure semantics) */
    assert_int_equal(leadroute_router_unrouted(r, LEADROUTE_UNROUTED_ERROR), err0 + 1);
    assert_int_equal(leadroute_router_rule_hits(r, 0), hits0);
    assert_int_equal(leadroute_router_rep_assigned(r, "a"), 1);
    assert_int_equal(leadroute_router_rep_assigned(r, "b"), 1);
    assert_int_equal(leadroute_router_rep_assigned(r, "c"), 0);
    ok(leadroute_router_metrics_json(r, m1, sizeof m1, &n));
    /* the JSON differs only in the error count */
    char *e0 = strstr(m0, "\"error\":"), *e1 = strstr(m1, "\"error\":");
    assert_non_null(e0);
    assert_non_null(e1);
    assert_int_equal(e0 - m0, e1 - m1);
    assert_memory_equal(m0, m1, (size_t)(e0 - m0));
    expect_str(strchr(e0, '}'), strchr(e1, '}'));

    /* fixed: the same lead goes where it would have gone */
    av.fail = 0;
    expect_str(assign(r, d, "L3", "r"), "c");
    assert_int_equal(log.n, 3);
    /* a verdict the library does not know is a callback failure too */
    leadroute_decision_free(d);
    leadroute_router_free(r);
    r = router_of(HDR "r,r,,rr,,,,\n", rr_roster(ids, 3));
    d = decision();
    leadroute_availability weird = { LEADROUTE_AVAILABILITY_VERSION, avail_weird };
    ok(leadroute_router_set_availability(r, &weird, NULL));
    expect_rc(route_flags(r, d, "L1", "r", 0), LEADROUTE_ECALLBACK);
    expect_status(d, LEADROUTE_ROUTE_UNROUTED);
    expect_message_has("verdict");
    assert_int_equal(leadroute_router_rep_assigned(r, "a"), 0);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* ================================================================================ */
/* empty pools                                                                       */

static leadroute_router *empty_router(uint32_t policy, const char *default_owner, int owner_active)
{
    const char *const pa[] = { "a" };
    const char *const pb[] = { "b" };
    const char *const pc[] = { "c" };
    leadroute_rep reps[] = { mkrep("x", pa, 1), mkrep("y", pb, 1), mkrep("w", pc, 1), mkrep("z", NULL, 0) };
    reps[3].active = owner_active;
    reps[3].capacity = 1;
    leadroute_pool pools[] = { mkpool("a", LEADROUTE_STRATEGY_ROUND_ROBIN), mkpool("b", LEADROUTE_STRATEGY_LEAST_LOADED),
                               mkpool("c", LEADROUTE_STRATEGY_ROUND_ROBIN), mkpool("none", LEADROUTE_STRATEGY_WEIGHTED) };
    pools[0].fallback = "b";
    pools[1].on_empty = policy;
    pools[1].default_owner = default_owner;
    pools[1].queue = policy == LEADROUTE_EMPTY_QUEUE ? "q" : NULL;
    pools[3].fallback = "c";
    return router_of(HDR "a,a,,a,,,,\n"
                         "n,n,,none,,,,\n",
                     roster_ok(reps, 4, pools, 4));
}

static void test_empty_default_owner(void **state)
{
    (void)state;
    leadroute_router *r = empty_router(LEADROUTE_EMPTY_DEFAULT_OWNER, "z", 1);
    leadroute_decision *d = decision();
    avail av;
    memset(&av, 0, sizeof av);
    av.away[0] = "x";
    av.away[1] = "y";
    av.away[2] = "z";
    av.naway = 3;
    set_avail(r, &av);
    /* x away in a, y away in b: the default owner of b, though away itself */
    expect_str(assign(r, d, "L1", "a"), "z");
    expect_str(leadroute_decision_pool(d), "b");
    expect_verdict(d, "x", "a", LEADROUTE_VERDICT_AWAY, NULL);
    expect_verdict(d, "y", "b", LEADROUTE_VERDICT_AWAY, NULL);
    assert_false(in_trace(d, "w"));     /* never everyone */
    char *txt = explain(d, LEADROUTE_EXPLAIN_TEXT);
    expect_has(txt, "pools walked: a -> b");
    expect_has(txt, "picked by: default owner");
    free(txt);
    /* regardless of capacity (z has 1 and holds 1 now) */
    expect_str(assign(r, d, "L2", "a"), "z");
    assert_int_equal(times_asked(&av, "w"), 0);
    assert_int_equal(leadroute_router_rep_assigned(r, "w"), 0);
    leadroute_decision_free(d);
    leadroute_router_free(r);

    /* an inactive default owner: unassigned, metric EMPTY */
    r = empty_router(LEADROUTE_EMPTY_DEFAULT_OWNER, "z", 0);
    d = decision();
    set_avail(r, &av);
    ok(route_flags(r, d, "L1", "a", LEADROUTE_ROUTE_TRACE));
    expect_status(d, LEADROUTE_ROUTE_UNASSIGNED);
    expect_str(leadroute_decision_rep(d), NULL);
    assert_int_equal(leadroute_router_unrouted(r, LEADROUTE_UNROUTED_EMPTY), 1);
    assert_int_equal(leadroute_router_rep_assigned(r, "z"), 0);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

static void test_empty_queue_and_unassigned(void **state)
{
    (void)state;
    leadroute_router *r = empty_router(LEADROUTE_EMPTY_QUEUE, NULL, 1);
    leadroute_decision *d = decision();
    avail av;
    memset(&av, 0, sizeof av);
    av.away[0] = "x";
    av.away[1] = "y";
    av.naway = 2;
    set_avail(r, &av);
    ok(route_flags(r, d, "L1", "a", LEADROUTE_ROUTE_TRACE));
    expect_status(d, LEADROUTE_ROUTE_QUEUED);
    expect_str(leadroute_decision_queue(d), "q");
    expect_str(leadroute_decision_rep(d), NULL);
    assert_false(in_trace(d, "w"));
    assert_false(in_trace(d, "z"));
    leadroute_decision_free(d);
    leadroute_router_free(r);

    r = empty_router(LEADROUTE_EMPTY_UNASSIGNED, NULL, 1);
    d = decision();
    set_avail(r, &av);
    ok(route_flags(r, d, "L1", "a", LEADROUTE_ROUTE_TRACE));
    expect_status(d, LEADROUTE_ROUTE_UNASSIGNED);
    expect_str(leadroute_decision_rep(d), NULL);
    expect_has(leadroute_decision_reason(d), "a -> b");
    assert_false(in_trace(d, "w"));
    assert_int_equal(leadroute_router_unrouted(r, LEADROUTE_UNROUTED_EMPTY), 1);
    /* once y is back, b takes it */
    av.naway = 1;
    expect_str(assign(r, d, "L1", "a"), "y");
    expect_str(leadroute_decision_pool(d), "b");
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

static void test_pool_without_members(void **state)
{
    (void)state;
    leadroute_router *r = empty_router(LEADROUTE_EMPTY_UNASSIGNED, NULL, 1);
    leadroute_decision *d = decision();
    /* "none" has no member: its fallback c decides */
    expect_str(assign(r, d, "L1", "n"), "w");
    expect_str(leadroute_decision_pool(d), "c");
    char *j = explain(d, LEADROUTE_EXPLAIN_JSON);
    expect_has(j, "\"pools\":[\"none\",\"c\"]");
    free(j);
    double spread = -1, jain = -1;
    ok(leadroute_router_pool_fairness(r, "none", &spread, &jain));
    assert_true(spread == 0);
    leadroute_decision_free(d);
    leadroute_router_free(r);

    /* a lone empty pool */
    const char *const pa[] = { "a" };
    leadroute_rep reps[] = { mkrep("x", pa, 1) };
    leadroute_pool pools[] = { mkpool("a", LEADROUTE_STRATEGY_ROUND_ROBIN), mkpool("none", LEADROUTE_STRATEGY_LEAST_LOADED) };
    r = router_of(HDR "n,n,,none,,,,\n", roster_ok(reps, 1, pools, 2));
    d = decision();
    ok(route_flags(r, d, "L1", "n", LEADROUTE_ROUTE_TRACE));
    expect_status(d, LEADROUTE_ROUTE_UNASSIGNED);
    assert_int_equal(leadroute_decision_candidate_count(d), 0);
    assert_int_equal(leadroute_router_unrouted(r, LEADROUTE_UNROUTED_EMPTY), 1);
    assert_int_equal(leadroute_router_rep_assigned(r, "x"), 0);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* ================================================================================ */
/* dedupe and reassignment                                                           */

static void test_dedupe_existing(void **state)
{
    (void)state;
    const char *const ids[] = { "a", "b", "c" };
    leadroute_router *r = router_of(HDR "r,r,,rr,,,,\n", rr_roster(ids, 3));
    leadroute_decision *d = decision();
    nlog log;
    memset(&log, 0, sizeof log);
    set_notify(r, &log);
    expect_str(assign(r, d, "L1", "r"), "a");
    ok(route_flags(r, d, "L1", "r", LEADROUTE_ROUTE_TRACE));
    expect_status(d, LEADROUTE_ROUTE_EXISTING);
    expect_str(leadroute_decision_rep(d), "a");
    assert_int_equal(leadroute_decision_notified(d), 0);
    /* the id is trimmed: the same key */
    ok(route_flags(r, d, " L1\t", "r", 0));
    expect_status(d, LEADROUTE_ROUTE_EXISTING);
    expect_str(leadroute_decision_rep(d), "a");
    assert_int_equal(leadroute_router_rep_assigned(r, "a"), 1);
    assert_int_equal(log.n, 1);
    char *j = explain(d, LEADROUTE_EXPLAIN_JSON);
    expect_has(j, "\"how\":\"existing claim\"");
    free(j);
    /* the rotation did not move */
    expect_str(assign(r, d, "L2", "r"), "b");
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

static void test_reassign(void **state)
{
    (void)state;
    const char *const pl[] = { "ll" };
    leadroute_rep reps[] = { mkrep("a", pl, 1), mkrep("b", pl, 1), mkrep("c", pl, 1) };
    leadroute_pool pools[] = { mkpool("ll", LEADROUTE_STRATEGY_LEAST_LOADED) };
    leadroute_router *r = router_of(HDR "l,l,,ll,,,,\n", roster_ok(reps, 3, pools, 1));
    leadroute_decision *d = decision();
    nlog log;
    memset(&log, 0, sizeof log);
    set_notify(r, &log);
    expect_str(assign(r, d, "L1", "l"), "a");
    expect_str(assign(r, d, "L2", "l"), "b");
    /* a has 1, b 1, c 0: c by load anyway; move L1 away from a */
    ok(route_flags(r, d, "L1", "l", LEADROUTE_ROUTE_TRACE | LEADROUTE_ROUTE_REASSIGN));
    expect_status(d, LEADROUTE_ROUTE_ASSIGNED);
    expect_str(leadroute_decision_rep(d), "c");
    expect_verdict(d, "a", "ll", LEADROUTE_VERDICT_EXCLUDED, "previous holder");
    char *j = explain(d, LEADROUTE_EXPLAIN_JSON);
    expect_has(j, "\"previous\":\"a\"");
    free(j);
    char *txt = explain(d, LEADROUTE_EXPLAIN_TEXT);
    expect_has(txt, "assigned to c from pool ll (reassigned from a)");
    free(txt);
    assert_int_equal(log.n, 3);
    expect_str(log.rep[2], "c");
    /* the claim moved, and a's open lead went with it: a has 0, b 1, c 1 */
    ok(route_flags(r, d, "L1", "l", 0));
    expect_status(d, LEADROUTE_ROUTE_EXISTING);
    expect_str(leadroute_decision_rep(d), "c");
    expect_str(assign(r, d, "L3", "l"), "a");
    /* reassign again: the holder c is excluded, a and b have 1 each: a */
    ok(route_flags(r, d, "L1", "l", LEADROUTE_ROUTE_TRACE | LEADROUTE_ROUTE_REASSIGN));
    expect_str(leadroute_decision_rep(d), "a");
    expect_verdict(d, "c", "ll", LEADROUTE_VERDICT_EXCLUDED, "previous holder");
    assert_int_equal(leadroute_router_rep_assigned(r, "a"), 3);
    assert_int_equal(leadroute_router_rep_assigned(r, "c"), 1);
    /* closing the key releases the new holder's lead: a 1, b 1, c 0 */
    ok(leadroute_router_close(r, "L1"));
    expect_str(assign(r, d, "L4", "l"), "c");
    /* reassigning an unclaimed key simply routes it */
    ok(route_flags(r, d, "L9", "l", LEADROUTE_ROUTE_REASSIGN));
    expect_status(d, LEADROUTE_ROUTE_ASSIGNED);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* A reassignment that finds no one else leaves the lead with its holder,
 * and says so: status EXISTING with the holder, whatever the empty pool's
 * policy or the rule's fallback would do with a free lead; the store is not
 * written and nothing is counted as unassigned. */
static void test_reassign_no_one_else(void **state)
{
    (void)state;
    const char *const pa[] = { "solo", "solo_u", "solo_d" };
    leadroute_rep reps[] = { mkrep("a", pa, 3) };
    leadroute_pool pools[] = { mkpool("solo", LEADROUTE_STRATEGY_ROUND_ROBIN),
                               mkpool("solo_u", LEADROUTE_STRATEGY_LEAST_LOADED),
                               mkpool("solo_d", LEADROUTE_STRATEGY_WEIGHTED) };
    pools[0].on_empty = LEADROUTE_EMPTY_QUEUE;
    pools[0].queue = "overflow";
    pools[2].on_empty = LEADROUTE_EMPTY_DEFAULT_OWNER;
    pools[2].default_owner = "a";
    leadroute_router *r = router_of(HDR "s,s,,solo,,,,\n"
                                        "u,u,,solo_u,,,,\n"
                                        "d,d,,solo_d,,,,\n"
                                        "q,q,,,inbox,,,\n"
                                        "n,n,,,,,,\n"
                                        "o,o,a,,,,,\n",
                                    roster_ok(reps, 1, pools, 3));
    leadroute_decision *d = decision();
    /* "x": no rule matches the lead now */
    static const char *const kinds[] = { "s", "u", "d", "q", "n", "o", "x" };
    static const uint32_t flags[] = { LEADROUTE_ROUTE_TRACE, 0, LEADROUTE_ROUTE_TRACE | LEADROUTE_ROUTE_DRY_RUN };
    nlog log;
    memset(&log, 0, sizeof log);
    set_notify(r, &log);
    expect_str(assign(r, d, "L1", "s"), "a");

    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        for (size_t f = 0; f < sizeof flags / sizeof flags[0]; f++) {
            ok(route_flags(r, d, "L1", kinds[k], flags[f] | LEADROUTE_ROUTE_REASSIGN));
            if (leadroute_decision_status(d) != LEADROUTE_ROUTE_EXISTING)
                fail_msg("kind %s, flags %u: %s, reason: %s", kinds[k], flags[f],
                         leadroute_route_status_name(leadroute_decision_status(d)), leadroute_decision_reason(d));
            expect_str(leadroute_decision_rep(d), "a");
            expect_str(leadroute_decision_pool(d), NULL);
            expect_str(leadroute_decision_queue(d), NULL);
            expect_has(leadroute_decision_reason(d), "reassignment found no one else to take it, so a keeps it");
            char *j = explain(d, LEADROUTE_EXPLAIN_JSON);
            expect_has(j, "\"status\":\"existing\"");
            expect_has(j, "\"how\":\"existing claim\"");
            expect_has(j, "\"previous\":null");
            free(j);
            char *txt = explain(d, LEADROUTE_EXPLAIN_TEXT);
            expect_has(txt, "existing, held by a");
            if (strstr(txt, "reassigned from"))
                fail_msg("kind %s: %s", kinds[k], txt);
            free(txt);
        }
    /* the trace still says why no one else */
    ok(route_flags(r, d, "L1", "s", LEADROUTE_ROUTE_TRACE | LEADROUTE_ROUTE_REASSIGN));
    expect_verdict(d, "a", "solo", LEADROUTE_VERDICT_EXCLUDED, "previous holder");
    expect_has(leadroute_decision_reason(d), "(pools tried: solo)");
    ok(route_flags(r, d, "L1", "o", LEADROUTE_ROUTE_TRACE | LEADROUTE_ROUTE_REASSIGN));
    expect_verdict(d, "a", NULL, LEADROUTE_VERDICT_EXCLUDED, "previous holder");

    /* nothing was written or counted: a still holds L1, with its one open lead */
    assert_int_equal(log.n, 1);
    assert_int_equal(leadroute_router_rep_assigned(r, "a"), 1);
    assert_int_equal(leadroute_router_unrouted(r, LEADROUTE_UNROUTED_EMPTY), 0);
    assert_int_equal(leadroute_router_unrouted(r, LEADROUTE_UNROUTED_NO_TARGET), 0);
    assert_int_equal(leadroute_router_unrouted(r, LEADROUTE_UNROUTED_NO_RULE), 0);
    ok(route_flags(r, d, "L1", "s", 0));
    expect_status(d, LEADROUTE_ROUTE_EXISTING);
    expect_str(leadroute_decision_rep(d), "a");
    /* a lead a rep holds is that rep's, whatever rule it matches now, or none */
    ok(route_flags(r, d, "L1", "x", LEADROUTE_ROUTE_TRACE));
    expect_status(d, LEADROUTE_ROUTE_EXISTING);
    expect_str(leadroute_decision_rep(d), "a");
    expect_str(leadroute_decision_reason(d), "already assigned to a (key L1)");
    assert_int_equal(leadroute_router_unrouted(r, LEADROUTE_UNROUTED_NO_RULE), 0);
    ok(leadroute_router_close(r, "L1"));
    expect_rc(leadroute_router_close(r, "L1"), LEADROUTE_ENOTFOUND);
    /* a free key reassigned is simply routed, and its empty pool's policy applies */
    ok(route_flags(r, d, "L1", "q", LEADROUTE_ROUTE_REASSIGN));
    expect_status(d, LEADROUTE_ROUTE_QUEUED);
    expect_str(leadroute_decision_queue(d), "inbox");
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* dedupe_fold: keys such as email addresses compare without case and
 * without Unicode blanks, in route, close and acknowledge; off, they
 * compare as written. */
static void test_dedupe_fold(void **state)
{
    (void)state;
    const char *const ids[] = { "a", "b" };
    for (uint32_t fold = 0; fold < 2; fold++) {
        leadroute_router_options o = LEADROUTE_ROUTER_OPTIONS_INIT;
        o.dedupe_field = "email";
        o.dedupe_fold = fold;
        leadroute_router *r = router_opts(HDR "r,r,,rr,,,,\n", rr_roster(ids, 2), &o);
        leadroute_decision *d = decision();
        tlead l;
        lead_of(&l, "web-1", "r");
        tl_str(&l, "email", "Joe@Acme.com");
        ok(leadroute_route(r, &l.lead, 0, d));
        expect_str(leadroute_decision_rep(d), "a");
        lead_of(&l, "web-2", "r");
        tl_str(&l, "email", " JOE@ACME.COM\xc2\xa0");
        ok(leadroute_route(r, &l.lead, 0, d));
        expect_status(d, fold ? LEADROUTE_ROUTE_EXISTING : LEADROUTE_ROUTE_ASSIGNED);
        expect_str(leadroute_decision_rep(d), fold ? "a" : "b");
        if (fold) {
            char *j = explain(d, LEADROUTE_EXPLAIN_JSON);
            expect_has(j, "\"key\":\"joe@acme.com\"");
            free(j);
            /* a Greek capital folds as :ci columns fold it */
            lead_of(&l, "web-3", "r");
            tl_str(&l, "email", "\xce\xa3ofia@acme.gr");
            ok(leadroute_route(r, &l.lead, 0, d));
            expect_status(d, LEADROUTE_ROUTE_ASSIGNED);
            lead_of(&l, "web-4", "r");
            tl_str(&l, "email", "\xcf\x83ofia@ACME.gr");
            ok(leadroute_route(r, &l.lead, 0, d));
            expect_status(d, LEADROUTE_ROUTE_EXISTING);
            /* the host's key is folded too */
            ok(leadroute_router_acknowledge(r, "JOE@acme.COM"));
            ok(leadroute_router_close(r, "\xe2\x80\x8bjoe@ACME.com "));
            expect_rc(leadroute_router_close(r, "joe@acme.com"), LEADROUTE_ENOTFOUND);
            expect_rc(leadroute_router_close(r, "\xc2\xa0"), LEADROUTE_EINVAL);
        } else {
            expect_rc(leadroute_router_close(r, "joe@acme.com"), LEADROUTE_ENOTFOUND);
            ok(leadroute_router_close(r, "Joe@Acme.com"));
        }
        leadroute_decision_free(d);
        leadroute_router_free(r);
    }
    /* only 0 and 1 */
    {
        leadroute_router_options o = LEADROUTE_ROUTER_OPTIONS_INIT;
        leadroute_router *r = NULL;
        leadroute_table *t = parse_ok(HDR "r,r,,rr,,,,\n");
        leadroute_roster *ro = rr_roster(ids, 2);
        o.dedupe_fold = 2;
        expect_rc(leadroute_router_new(&r, t, ro, &o), LEADROUTE_EINVAL);
        expect_message_has("dedupe_fold must be 0 or 1, not 2");
        assert_null(r);
        leadroute_table_unref(t);
        leadroute_roster_unref(ro);
    }
}

/* Options of version 1, from a host built before dedupe_fold: read and
 * initialised up to their own end, not a byte past it. */
struct router_options_v1 {
    uint32_t version;
    const leadroute_allocator *allocator;
    const char *dedupe_field, *account_field, *owner_output, *pool_output, *queue_output, *status_output;
    const char *sla_output, *tags_output;
    uint32_t max_retries;
    const char *captured_field;
};

static void test_router_options_v1(void **state)
{
    (void)state;
    const char *const ids[] = { "a" };
    assert_int_equal(sizeof(struct router_options_v1), offsetof(leadroute_router_options, dedupe_fold));
    struct {
        struct router_options_v1 o;
        unsigned char after[8];
    } canary;
    memset(&canary, 0xAB, sizeof canary);
    ok(leadroute_router_options_init((leadroute_router_options *)(void *)&canary.o, 1));
    assert_int_equal(canary.o.version, 1);
    assert_null(canary.o.dedupe_field);
    for (size_t i = 0; i < sizeof canary.after; i++)
        assert_int_equal(canary.after[i], 0xAB);
    /* exactly the v1 bytes on the heap: reading further is a fault under ASan and valgrind */
    struct router_options_v1 *v1 = malloc(sizeof *v1);
    assert_non_null(v1);
    ok(leadroute_router_options_init((leadroute_router_options *)(void *)v1, 1));
    v1->dedupe_field = "email";
    leadroute_router *r = router_opts(HDR "r,r,,rr,,,,\n", rr_roster(ids, 1), (leadroute_router_options *)(void *)v1);
    leadroute_decision *d = decision();
    tlead l;
    lead_of(&l, "x", "r");
    tl_str(&l, "email", "JOE@acme.com");
    ok(leadroute_route(r, &l.lead, 0, d));
    lead_of(&l, "y", "r");
    tl_str(&l, "email", "joe@acme.com");
    ok(leadroute_route(r, &l.lead, 0, d));
    expect_status(d, LEADROUTE_ROUTE_ASSIGNED); /* keys as written: a v1 host never asked to fold */
    leadroute_decision_free(d);
    leadroute_router_free(r);
    free(v1);
}

static void test_dedupe_field(void **state)
{
    (void)state;
    const char *const ids[] = { "a", "b" };
    leadroute_router_options o = LEADROUTE_ROUTER_OPTIONS_INIT;
    o.dedupe_field = "crm_id";
    leadroute_router *r = router_opts(HDR "r,r,,rr,,,,\n", rr_roster(ids, 2), &o);
    leadroute_decision *d = decision();
    tlead l;
    lead_of(&l, "web-1", "r");
    tl_str(&l, "crm_id", "C-7");
    ok(leadroute_route(r, &l.lead, 0, d));
    expect_status(d, LEADROUTE_ROUTE_ASSIGNED);
    expect_str(leadroute_decision_rep(d), "a");
    /* another id, same crm id: the same lead */
    lead_of(&l, "web-2", "r");
    tl_str(&l, "crm_id", "C-7 ");
    ok(leadroute_route(r, &l.lead, 0, d));
    expect_status(d, LEADROUTE_ROUTE_EXISTING);
    expect_str(leadroute_decision_rep(d), "a");
    char *j = explain(d, LEADROUTE_EXPLAIN_JSON);
    expect_has(j, "\"key\":\"C-7\"");
    expect_has(j, "\"lead_id\":\"web-2\"");
    free(j);
    /* same id, no crm id: the id is not the key, so it cannot be routed */
    lead_of(&l, "web-1", "r");
    expect_rc(leadroute_route(r, &l.lead, 0, d), LEADROUTE_ELEAD);
    expect_status(d, LEADROUTE_ROUTE_UNROUTED);
    expect_message_has("lead has no 'crm_id' field");
    /* a crm id of another type, or of a bad version, is named as such, not as missing */
    lead_of(&l, "web-1", "r");
    tl_num(&l, "crm_id", 7);
    expect_rc(leadroute_route(r, &l.lead, 0, d), LEADROUTE_ELEAD);
    expect_status(d, LEADROUTE_ROUTE_UNROUTED);
    expect_message_has("lead field 'crm_id' holds a number: the dedupe key must be text");
    lead_of(&l, "web-1", "r");
    tl_str(&l, "crm_id", "C-7");
    l.f[l.lead.field_count - 1].value.version = 9;
    expect_rc(leadroute_route(r, &l.lead, 0, d), LEADROUTE_EVERSION);
    expect_message_has("lead field 'crm_id': leadroute_value version 9");
    /* a null crm id is a missing one */
    lead_of(&l, "web-1", "r");
    tl_add(&l, "crm_id");
    expect_rc(leadroute_route(r, &l.lead, 0, d), LEADROUTE_ELEAD);
    expect_message_has("lead has no 'crm_id' field");
    assert_int_equal(leadroute_router_unrouted(r, LEADROUTE_UNROUTED_ERROR), 4);
    ok(leadroute_router_close(r, "C-7"));
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

static void test_no_dedupe_key(void **state)
{
    (void)state;
    const char *const ids[] = { "a", "b" };
    leadroute_router *r = router_of(HDR "r,r,,rr,,,,\n", rr_roster(ids, 2));
    leadroute_decision *d = decision();
    expect_rc(route_flags(r, d, NULL, "r", 0), LEADROUTE_ELEAD);
    expect_status(d, LEADROUTE_ROUTE_UNROUTED);
    expect_rc(route_flags(r, d, "   ", "r", 0), LEADROUTE_ELEAD);
    expect_status(d, LEADROUTE_ROUTE_UNROUTED);
    /* checked even when no rule matches */
    expect_rc(route_flags(r, d, NULL, "nothing", 0), LEADROUTE_ELEAD);
    expect_status(d, LEADROUTE_ROUTE_UNROUTED);
    assert_int_equal(leadroute_router_unrouted(r, LEADROUTE_UNROUTED_ERROR), 3);
    assert_int_equal(leadroute_router_unrouted(r, LEADROUTE_UNROUTED_NO_RULE), 0);
    assert_int_equal(leadroute_router_rule_hits(r, 0), 0);
    expect_str(assign(r, d, "L1", "r"), "a");
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* ================================================================================ */
/* host store                                                                        */

static leadroute_router *store_router(tstore *ts, nlog *log, const leadroute_router_options *o)
{
    const char *const pp[] = { "rr" };
    leadroute_rep reps[] = { mkrep("a", pp, 1), mkrep("b", pp, 1), mkrep("c", pp, 1) };
    for (int i = 0; i < 3; i++)
        reps[i].capacity = 10;       /* so open counts are read */
    leadroute_pool pools[] = { mkpool("rr", LEADROUTE_STRATEGY_ROUND_ROBIN) };
    pools[0].owner_first = 1;        /* so account claims are read */
    leadroute_router *r = router_opts(HDR "r,r,,rr,,,,\n", roster_ok(reps, 3, pools, 1), o);
    ok(leadroute_router_set_store(r, &ts_methods, ts));
    set_notify(r, log);
    return r;
}

static int route_mail(leadroute_router *r, leadroute_decision *d, const char *id, const char *email)
{
    tlead l;
    lead_of(&l, id, "r");
    tl_str(&l, "email", email);
    return leadroute_route(r, &l.lead, LEADROUTE_ROUTE_TRACE, d);
}

/* A roster without an owner-first pool reads no accounts and claims none:
 * a store would otherwise keep a claim per company domain for nothing. */
static void test_no_account_claims_without_owner_first(void **state)
{
    (void)state;
    const char *const pp[] = { "rr" };
    leadroute_rep reps[] = { mkrep("a", pp, 1), mkrep("b", pp, 1) };
    leadroute_pool pools[] = { mkpool("rr", LEADROUTE_STRATEGY_ROUND_ROBIN) };
    tstore ts;
    ts_init(&ts);
    leadroute_router *r = router_opts(HDR "r,r,,rr,,,,\n", roster_ok(reps, 2, pools, 1), NULL);
    ok(leadroute_router_set_store(r, &ts_methods, &ts));
    leadroute_decision *d = decision();
    ok(route_mail(r, d, "L1", "x@acme.com"));
    ok(route_mail(r, d, "L2", "y@acme.com"));
    expect_str(leadroute_decision_rep(d), "b");
    assert_int_equal(ts.s.nassign, 2);
    assert_true(ts_claim(&ts.s, "lead:L2") >= 0);
    assert_true(ts_claim(&ts.s, "account:acme.com") < 0);
    /* with one, the next commit claims the account */
    pools[0].owner_first = 1;
    leadroute_roster *ro = roster_ok(reps, 2, pools, 1);
    ok(leadroute_router_set_roster(r, ro));
    leadroute_roster_unref(ro);
    ok(route_mail(r, d, "L3", "z@acme.com"));
    expect_str(leadroute_decision_rep(d), "a");
    expect_str(ts.s.claims[ts_claim(&ts.s, "account:acme.com")].rep, "a");
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

static void test_store_basics(void **state)
{
    (void)state;
    tstore ts;
    nlog log;
    ts_init(&ts);
    memset(&log, 0, sizeof log);
    leadroute_router *r = store_router(&ts, &log, NULL);
    leadroute_decision *d = decision();
    ok(route_mail(r, d, "L1", "x@acme.com"));
    expect_str(leadroute_decision_rep(d), "a");
    ok(route_mail(r, d, "L2", "y@beta.io"));
    expect_str(leadroute_decision_rep(d), "b");
    /* what the store holds, as docs/router.md says */
    assert_int_equal(ts.s.nassign, 2);
    assert_true(ts_claim(&ts.s, "lead:L1") >= 0);
    assert_true(ts_claim(&ts.s, "account:acme.com") >= 0);
    expect_str(ts.s.claims[ts_claim(&ts.s, "account:beta.io")].rep, "b");
    int pi = ts_pool(&ts.s, "rr");
    assert_true(pi >= 0);
    assert_int_equal(ts.s.pools[pi].version, 2);
    assert_int_equal(ts.s.pools[pi].len, 9);
    assert_memory_equal(ts.s.pools[pi].state, "rr2\nc\na\nb", 9); /* the line: c next, b served last */
    assert_int_equal(*ts_open(&ts.s, "a", 0), 1);
    /* the account owner */
    ok(route_mail(r, d, "L3", "z@acme.com"));
    expect_str(leadroute_decision_rep(d), "a");
    assert_int_equal(ts.s.pools[pi].version, 2);   /* pool state untouched */
    assert_int_equal(*ts_open(&ts.s, "a", 0), 2);
    ok(leadroute_router_close(r, "L3"));
    assert_int_equal(*ts_open(&ts.s, "a", 0), 1);
    ts.fail_close = LEADROUTE_EIO;
    expect_rc(leadroute_router_close(r, "L1"), LEADROUTE_ECALLBACK);
    expect_message_has("close");
    ts.fail_close = 0;
    /* back to the built-in store: empty */
    ok(leadroute_router_set_store(r, NULL, NULL));
    ok(route_mail(r, d, "L1", "x@acme.com"));
    expect_status(d, LEADROUTE_ROUTE_ASSIGNED);
    expect_str(leadroute_decision_rep(d), "a");
    assert_int_equal(ts.s.nassign, 3);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

static void test_store_failures(void **state)
{
    (void)state;
    static const char *const what[] = { "load_pool", "find_claim", "open_count", "commit" };
    for (int k = 0; k < 4; k++) {
        tstore ts;
        nlog log;
        tsdata before;
        ts_init(&ts);
        memset(&log, 0, sizeof log);
        leadroute_router *r = store_router(&ts, &log, NULL);
        leadroute_decision *d = decision();
        ok(route_mail(r, d, "L1", "x@acme.com"));
        expect_str(leadroute_decision_rep(d), "a");
        memcpy(&before, &ts.s, sizeof before);
        uint64_t hits = leadroute_router_rule_hits(r, 0);
        int *fail = k == 0 ? &ts.fail_load : k == 1 ? &ts.fail_find : k == 2 ? &ts.fail_open : &ts.fail_commit;
        *fail = LEADROUTE_EIO;
        leadroute_error_clear();
        expect_rc(route_mail(r, d, "L2", "y@beta.io"), LEADROUTE_ECALLBACK);
        expect_message_has(what[k]);
        {
            char want[96];
            snprintf(want, sizeof want, "store %s callback failed with -9 (input/output error)", what[k]);
            expect_message_has(want);
        }
        expect_status(d, LEADROUTE_ROUTE_UNROUTED);
        expect_str(leadroute_decision_rep(d), NULL);
        expect_has(leadroute_decision_reason(d), what[k]);
        for (size_t i = 0; i < leadroute_decision_candidate_count(d); i++) {
            const char *rep, *pool, *detail;
            uint32_t verdict;
            ok(leadroute_decision_candidate(d, i, &rep, &pool, &verdict, &detail));
            if (verdict == LEADROUTE_VERDICT_CHOSEN)
                fail_msg("a failing %s: %s is shown chosen", what[k], rep);
        }
        {
            /* a reassignment that fails names no previous holder: nothing moved */
            tlead l;
            char text[4096], json[4096];
            size_t needed;
            lead_of(&l, "L1", "r");
            tl_str(&l, "email", "x@acme.com");
            expect_rc(leadroute_route(r, &l.lead, LEADROUTE_ROUTE_TRACE | LEADROUTE_ROUTE_REASSIGN, d),
                      LEADROUTE_ECALLBACK);
            expect_status(d, LEADROUTE_ROUTE_UNROUTED);
            ok(leadroute_decision_explain(d, LEADROUTE_EXPLAIN_TEXT, text, sizeof text, &needed));
            ok(leadroute_decision_explain(d, LEADROUTE_EXPLAIN_JSON, json, sizeof json, &needed));
            if (strstr(text, "reassigned from") || strstr(json, "\"previous\":\"a\""))
                fail_msg("a failing %s: the explanation names a previous holder:\n%s\n%s", what[k], text, json);
        }
        if (memcmp(&before, &ts.s, sizeof before) != 0)
            fail_msg("a failing %s changed the store", what[k]);
        assert_int_equal(log.n, 1);
        assert_int_equal(leadroute_router_rep_assigned(r, "a"), 1);
        assert_int_equal(leadroute_router_rep_assigned(r, "b"), 0);
        assert_int_equal(leadroute_router_rule_hits(r, 0), hits);
        assert_int_equal(leadroute_router_unrouted(r, LEADROUTE_UNROUTED_ERROR), 2);
        /* routed again once the store is back: as if the failure never happened */
        *fail = 0;
        ok(route_mail(r, d, "L2", "y@beta.io"));
        expect_status(d, LEADROUTE_ROUTE_ASSIGNED);
        expect_str(leadroute_decision_rep(d), "b");
        assert_int_equal(ts.s.nassign, 2);
        assert_int_equal(log.n, 2);
        leadroute_decision_free(d);
        leadroute_router_free(r);
    }
}

typedef struct prevlog {
    int fail;
    size_t n;
    char rep[300], previous[300];
} prevlog;

static int prev_notify(void *ud, const leadroute_assignment *a)
{
    prevlog *l = ud;
    if (l->fail)
        return l->fail;
    l->n++;
    snprintf(l->rep, sizeof l->rep, "%s", a->rep_id);
    snprintf(l->previous, sizeof l->previous, "%s", a->previous ? a->previous : "-");
    return LEADROUTE_OK;
}

/* A lead id of the longest length routes through the built-in store,
 * although its claim key ("lead:" and the id) is longer than that. */
static void test_longest_lead_id(void **state)
{
    (void)state;
    const char *const pp[] = { "rr" };
    static char id[LEADROUTE_MAX_STRING + 1];
    leadroute_rep reps[] = { mkrep("a", pp, 1) };
    leadroute_pool pools[] = { mkpool("rr", LEADROUTE_STRATEGY_ROUND_ROBIN) };
    leadroute_router *r = router_of(HDR "r,r,,rr,,,,\n", roster_ok(reps, 1, pools, 1));
    leadroute_decision *d = decision();
    memset(id, 'k', sizeof id - 1);
    expect_str(assign(r, d, id, "r"), "a");
    ok(route_flags(r, d, id, "r", 0));
    expect_status(d, LEADROUTE_ROUTE_EXISTING);
    ok(leadroute_router_close(r, id));
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* A reassignment whose notification fails is kept whole, the previous
 * holder's id too, however long the ids: the retry delivers it. */
static void test_pending_reassign_long_ids(void **state)
{
    (void)state;
    const char *const pp[] = { "rr" };
    char ida[251], idb[251];
    memset(ida, 'a', sizeof ida - 1);
    memset(idb, 'b', sizeof idb - 1);
    ida[sizeof ida - 1] = idb[sizeof idb - 1] = 0;
    leadroute_rep reps[] = { mkrep(ida, pp, 1), mkrep(idb, pp, 1) };
    leadroute_pool pools[] = { mkpool("rr", LEADROUTE_STRATEGY_ROUND_ROBIN) };
    leadroute_router *r = router_of(HDR "r,r,,rr,,,,\n", roster_ok(reps, 2, pools, 1));
    leadroute_notify nv = { LEADROUTE_NOTIFY_VERSION, prev_notify };
    leadroute_decision *d = decision();
    prevlog log;
    char key[64], rep[300];
    size_t delivered = 0;
    memset(&log, 0, sizeof log);
    ok(leadroute_router_set_notify(r, &nv, &log));
    expect_str(assign(r, d, "L1", "r"), ida);
    log.fail = LEADROUTE_EIO;
    ok(route_flags(r, d, "L1", "r", LEADROUTE_ROUTE_REASSIGN));
    expect_status(d, LEADROUTE_ROUTE_ASSIGNED);
    expect_str(leadroute_decision_rep(d), idb);
    assert_int_equal(leadroute_router_pending_count(r), 1);
    /* a rep id too long for its buffer: neither buffer is written */
    strcpy(key, "untouched");
    strcpy(rep, "untouched");
    assert_int_equal(leadroute_router_pending(r, 0, key, sizeof key, rep, sizeof idb - 1), LEADROUTE_ERANGE);
    expect_str(key, "untouched");
    expect_str(rep, "untouched");
    ok(leadroute_router_pending(r, 0, key, sizeof key, rep, sizeof rep));
    expect_str(key, "L1");
    expect_str(rep, idb);
    log.fail = 0;
    ok(leadroute_router_retry_notifications(r, &delivered));
    assert_int_equal(delivered, 1);
    assert_int_equal(leadroute_router_pending_count(r), 0);
    expect_str(log.rep, idb);
    expect_str(log.previous, ida);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* A round-robin pool of a and b whose notifications `log` records (or
 * fails while log->fail is set). */
static leadroute_router *pending_router(prevlog *log)
{
    const char *const pp[] = { "rr" };
    leadroute_rep reps[] = { mkrep("a", pp, 1), mkrep("b", pp, 1) };
    leadroute_pool pools[] = { mkpool("rr", LEADROUTE_STRATEGY_ROUND_ROBIN) };
    leadroute_router *r = router_of(HDR "r,r,,rr,,,,\n", roster_ok(reps, 2, pools, 1));
    leadroute_notify nv = { LEADROUTE_NOTIFY_VERSION, prev_notify };
    memset(log, 0, sizeof *log);
    ok(leadroute_router_set_notify(r, &nv, log));
    return r;
}

/* A long pending list (the host's endpoint down for 6,000 leads) grows its
 * buckets past their first 1,024 and back: later notifications of a lead
 * still find and drop the older ones, and a retry delivers the rest, in
 * order. */
static void test_pending_many(void **state)
{
    (void)state;
    prevlog log;
    leadroute_router *r = pending_router(&log);
    leadroute_decision *d = decision();
    char key[64], rep[16], id[16];
    size_t delivered = 0;
    log.fail = LEADROUTE_EIO;
    for (int i = 0; i < 6000; i++) {
        snprintf(id, sizeof id, "L%d", i);
        ok(route_flags(r, d, id, "r", 0));
    }
    assert_int_equal(leadroute_router_pending_count(r), 6000);
    assert_true(r->pending_mask + 1 >= 4 * LR_PENDING_BUCKETS); /* grown: chains of two or less */
    /* every third lead moved and notified: its older notification goes */
    log.fail = 0;
    for (int i = 0; i < 6000; i += 3) {
        snprintf(id, sizeof id, "L%d", i);
        ok(route_flags(r, d, id, "r", LEADROUTE_ROUTE_REASSIGN));
        assert_true(leadroute_decision_notified(d));
    }
    assert_int_equal(log.n, 2000);
    assert_int_equal(leadroute_router_pending_count(r), 4000);
    ok(leadroute_router_pending(r, 0, key, sizeof key, rep, sizeof rep));
    expect_str(key, "L1");
    ok(leadroute_router_pending(r, 3999, key, sizeof key, rep, sizeof rep));
    expect_str(key, "L5999");
    ok(leadroute_router_retry_notifications(r, &delivered));
    assert_int_equal(delivered, 4000);
    assert_int_equal(leadroute_router_pending_count(r), 0);
    assert_true(r->pending_buckets == r->pending_own && r->pending_mask + 1 == LR_PENDING_BUCKETS);
    /* and again, from the router's own buckets */
    log.fail = LEADROUTE_EIO;
    ok(route_flags(r, d, "M1", "r", 0));
    log.fail = 0;
    ok(route_flags(r, d, "M1", "r", LEADROUTE_ROUTE_REASSIGN));
    assert_int_equal(leadroute_router_pending_count(r), 0);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* A host gives up the pending notifications of a lead: they leave the list
 * and the next retry sends the others only. */
static void test_pending_discard(void **state)
{
    (void)state;
    prevlog log;
    leadroute_router *r = pending_router(&log);
    leadroute_decision *d = decision();
    char key[16], rep[16];
    size_t n = 99, delivered = 0;
    log.fail = LEADROUTE_EIO;
    ok(route_flags(r, d, "L1", "r", 0));
    ok(route_flags(r, d, "L2", "r", 0));
    ok(route_flags(r, d, "L1", "r", LEADROUTE_ROUTE_REASSIGN)); /* two of L1 now */
    assert_int_equal(leadroute_router_pending_count(r), 3);
    ok(leadroute_router_pending_discard(r, " L1 ", &n));
    assert_int_equal(n, 2);
    assert_int_equal(leadroute_router_pending_count(r), 1);
    expect_rc(leadroute_router_pending_discard(r, "L1", &n), LEADROUTE_ENOTFOUND);
    assert_int_equal(n, 0);
    expect_message_has("no notification of key 'L1' is pending");
    expect_rc(leadroute_router_pending_discard(r, "  ", NULL), LEADROUTE_EINVAL);
    expect_rc(leadroute_router_pending_discard(r, NULL, NULL), LEADROUTE_EINVAL);
    expect_rc(leadroute_router_pending_discard(NULL, "L2", &n), LEADROUTE_EINVAL);
    assert_int_equal(leadroute_router_pending_count(r), 1);
    ok(leadroute_router_pending(r, 0, key, sizeof key, rep, sizeof rep));
    expect_str(key, "L2");
    log.fail = 0;
    ok(leadroute_router_retry_notifications(r, &delivered));
    assert_int_equal(delivered, 1);
    assert_int_equal(log.n, 1);
    /* the claim is untouched: the lead is still held */
    ok(leadroute_router_close(r, "L1"));
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* A least-loaded pool remembers nothing: it never reads a pool state, so a
 * store whose load_pool fails does not stop it. */
static void test_store_least_loaded_reads_no_state(void **state)
{
    (void)state;
    const char *const pp[] = { "ll" };
    leadroute_rep reps[] = { mkrep("a", pp, 1), mkrep("b", pp, 1) };
    leadroute_pool pools[] = { mkpool("ll", LEADROUTE_STRATEGY_LEAST_LOADED) };
    tstore ts;
    ts_init(&ts);
    ts.fail_load = LEADROUTE_EIO;
    leadroute_router *r = router_of(HDR "l,l,,ll,,,,\n", roster_ok(reps, 2, pools, 1));
    ok(leadroute_router_set_store(r, &ts_methods, &ts));
    leadroute_decision *d = decision();
    expect_str(assign(r, d, "L1", "l"), "a");
    expect_str(assign(r, d, "L2", "l"), "b");
    assert_int_equal(ts.calls_load, 0);
    assert_true(ts.calls_open > 0);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* Route lead `id` of kind `kind` to `rep` through `ts` in `commits` commits,
 * the last with capacity `capacity`. */
static void expect_commit(leadroute_router *r, leadroute_decision *d, tstore *ts, const char *id, const char *kind,
                          const char *rep, unsigned commits, uint32_t capacity)
{
    ts->calls_commit = 0;
    expect_str(assign(r, d, id, kind), rep);
    assert_int_equal(ts->calls_commit, commits);
    assert_int_equal(ts->capacities[commits - 1], capacity);
}

/* A least-loaded commit asks the store to take the lead only while the rep
 * has no more open leads than the lowest count read of the other eligible
 * reps: its capacity is that count plus one, or the rep's own capacity when
 * lower, and a rep alone keeps its own. When another host gives the rep
 * leads between the pick and the commit until it is no longer least
 * loaded, the store conflicts and the route picks again from the counts as
 * they are then; leads that leave it least loaded do not conflict. */
static void test_store_least_loaded_holds_pick(void **state)
{
    (void)state;
    const char *const pp[] = { "ll" };
    leadroute_rep reps[] = { mkrep("a", pp, 1), mkrep("b", pp, 1), mkrep("c", pp, 1) };
    leadroute_pool pools[] = { mkpool("ll", LEADROUTE_STRATEGY_LEAST_LOADED) };
    reps[1].capacity = 4;
    reps[2].capacity = 9;
    tstore ts;
    ts_init(&ts);
    *ts_open(&ts.s, "a", 1) = 6;
    *ts_open(&ts.s, "b", 1) = 3;
    *ts_open(&ts.s, "c", 1) = 3;
    leadroute_router *r = router_of(HDR "l,l,,ll,,,,\no,o,c,ll,,,,\n", roster_ok(reps, 3, pools, 1));
    ok(leadroute_router_set_store(r, &ts_methods, &ts));
    leadroute_decision *d = decision();
    /* a direct owner is no pick: c's own capacity; c has 4 now */
    expect_commit(r, d, &ts, "L0", "o", "c", 1, 9);
    /* b (3 open) below c (4): c's 4 + 1 would allow 5, b's own capacity 4 is lower */
    expect_commit(r, d, &ts, "L1", "l", "b", 1, 4);
    /* b is full; c (4 open) is below a (6): capacity 7, below c's own 9.
     * Another host gives c two leads first: 6 is still no more than a's 6,
     * so the commit stands */
    ts.fill_first = "c";
    ts.fill_count = 2;
    expect_commit(r, d, &ts, "L2", "l", "c", 1, 7);
    assert_int_equal(*ts_open(&ts.s, "c", 0), 7);
    /* now a (6) is below c (7): capacity 8. Another host gives a two leads
     * first, 8 is more than c's 7: the store conflicts; then c (7) is below
     * a (8), capacity 9 (c's own capacity too), and takes it */
    ts.fill_first = "a";
    expect_commit(r, d, &ts, "L3", "l", "c", 2, 9);
    assert_int_equal(ts.capacities[0], 8);
    assert_int_equal(*ts_open(&ts.s, "a", 0), 8);
    assert_int_equal(*ts_open(&ts.s, "c", 0), 8);
    /* a and c tie at 8: a, the lower id, may have no more than c's 8 */
    expect_commit(r, d, &ts, "L4", "l", "a", 1, 9);
    /* c (8) fills to its own capacity of 9 */
    expect_commit(r, d, &ts, "L5", "l", "c", 1, 9);
    /* b and c are full: a alone has no one to stay below, and no capacity */
    expect_commit(r, d, &ts, "L6", "l", "a", 1, 0);
    assert_int_equal(*ts_open(&ts.s, "a", 0), 10);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

static void test_store_conflicts(void **state)
{
    (void)state;
    tstore ts;
    nlog log;
    tsdata before;
    ts_init(&ts);
    memset(&log, 0, sizeof log);
    leadroute_router_options o = LEADROUTE_ROUTER_OPTIONS_INIT;
    o.max_retries = 5;
    leadroute_router *r = store_router(&ts, &log, &o);
    leadroute_decision *d = decision();
    ok(route_mail(r, d, "L1", "x@acme.com"));
    /* three conflicts: re-read, decided again, committed */
    ts.conflicts = 3;
    ts.calls_commit = ts.calls_load = 0;
    ok(route_mail(r, d, "L2", "y@beta.io"));
    expect_status(d, LEADROUTE_ROUTE_ASSIGNED);
    expect_str(leadroute_decision_rep(d), "b");
    assert_int_equal(ts.calls_commit, 4);
    assert_true(ts.calls_load >= 4);     /* the state is read again for every attempt */
    assert_int_equal(ts.s.nassign, 2);
    assert_int_equal(log.n, 2);
    assert_int_equal(leadroute_router_rep_assigned(r, "b"), 1);
    /* a conflict forever: ECONFLICT after max_retries retries, nothing changed */
    memcpy(&before, &ts.s, sizeof before);
    ts.conflicts = -1;
    ts.calls_commit = 0;
    expect_rc(route_mail(r, d, "L3", "z@gamma.io"), LEADROUTE_ECONFLICT);
    assert_int_equal(leadroute_error_last()->code, LEADROUTE_ECONFLICT);
    expect_message_has("the store reported a conflict 6 times in a row");
    expect_status(d, LEADROUTE_ROUTE_UNROUTED);
    assert_int_equal(ts.calls_commit, 1 + 5);
    assert_memory_equal(&before, &ts.s, sizeof before);
    assert_int_equal(log.n, 2);
    assert_int_equal(leadroute_router_rep_assigned(r, "c"), 0);
    assert_int_equal(leadroute_router_unrouted(r, LEADROUTE_UNROUTED_ERROR), 1);
    ts.conflicts = 0;
    ok(route_mail(r, d, "L3", "z@gamma.io"));
    expect_str(leadroute_decision_rep(d), "c");
    leadroute_decision_free(d);
    leadroute_router_free(r);

    /* default: 64 retries */
    ts_init(&ts);
    memset(&log, 0, sizeof log);
    r = store_router(&ts, &log, NULL);
    d = decision();
    ts.conflicts = -1;
    expect_rc(route_mail(r, d, "L1", "x@acme.com"), LEADROUTE_ECONFLICT);
    expect_message_has("the store reported a conflict 65 times in a row");
    assert_int_equal(ts.calls_commit, 65);
    assert_int_equal(ts.s.nassign, 0);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* An attempt that lost its commit leaves nothing in the decision: here the
 * first pool's rep fills up meanwhile, and the lead goes to the fallback
 * pool with that pool's deadline, not the first one's, and a trace of the
 * second attempt alone. */
static void test_conflict_decides_afresh(void **state)
{
    (void)state;
    const char *const p1[] = { "p1" }, *const p2[] = { "p2" };
    leadroute_rep reps[] = { mkrep("x", p1, 1), mkrep("y", p2, 1) };
    leadroute_pool pools[] = { mkpool("p1", LEADROUTE_STRATEGY_LEAST_LOADED),
                               mkpool("p2", LEADROUTE_STRATEGY_ROUND_ROBIN) };
    tstore ts;
    nlog log;
    tlead l;
    reps[0].capacity = 1;
    pools[0].sla_minutes = 30;
    pools[0].fallback = "p2";
    pools[1].sla_minutes = 90;
    ts_init(&ts);
    memset(&log, 0, sizeof log);
    leadroute_router *r = router_of(HDR "r,r,,p1,,,,\n", roster_ok(reps, 2, pools, 2));
    ok(leadroute_router_set_store(r, &ts_methods, &ts));
    set_notify(r, &log);
    leadroute_decision *d = decision();
    ts.conflicts = 1;
    ts.fill_on_conflict = "x";
    lead_of(&l, "L1", "r");
    ok(leadroute_route(r, &l.lead, LEADROUTE_ROUTE_TRACE, d));
    expect_status(d, LEADROUTE_ROUTE_ASSIGNED);
    expect_str(leadroute_decision_rep(d), "y");
    expect_str(leadroute_decision_pool(d), "p2");
    assert_true(leadroute_decision_sla_minutes(d) == 90);
    assert_int_equal(log.n, 1);
    assert_true(log.sla[0] == 90);
    char *j = explain(d, LEADROUTE_EXPLAIN_JSON);
    expect_has(j, "\"candidates\":[{\"rep\":\"x\",\"pool\":\"p1\",\"verdict\":\"at capacity\"");
    expect_has(j, "\"state_before\":\"\",\"state_after\":\"");
    free(j);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

static void test_store_exists(void **state)
{
    (void)state;
    tstore ts;
    nlog log;
    ts_init(&ts);
    memset(&log, 0, sizeof log);
    leadroute_router *r = store_router(&ts, &log, NULL);
    leadroute_decision *d = decision();
    /* another host claimed the key while this call decided */
    ts.exists_owner = "zed";
    ok(route_mail(r, d, "L1", "x@acme.com"));
    expect_status(d, LEADROUTE_ROUTE_EXISTING);
    expect_str(leadroute_decision_rep(d), "zed");
    assert_int_equal(leadroute_decision_notified(d), 0);
    assert_int_equal(log.n, 0);
    assert_int_equal(ts.s.nassign, 0);
    assert_int_equal(leadroute_router_rep_assigned(r, "a"), 0);
    assert_int_equal(leadroute_router_unrouted(r, LEADROUTE_UNROUTED_ERROR), 0);
    /* and the trace says so: the rep picked did not get the lead, the pool
     * state shown was never written, and nothing was moved from anyone */
    assert_true(leadroute_decision_candidate_count(d) > 0);
    for (size_t i = 0; i < leadroute_decision_candidate_count(d); i++) {
        uint32_t v = 0;
        ok(leadroute_decision_candidate(d, i, NULL, NULL, &v, NULL));
        assert_int_not_equal(v, LEADROUTE_VERDICT_CHOSEN);
    }
    {
        char *j = explain(d, LEADROUTE_EXPLAIN_JSON);
        assert_non_null(strstr(j, "\"previous\":null,"));
        assert_non_null(strstr(j, "\"state_before\":null,\"state_after\":null,"));
        free(j);
    }
    /* the rotation did not move either: a is still first */
    ok(route_mail(r, d, "L2", "y@beta.io"));
    expect_str(leadroute_decision_rep(d), "a");
    /* a reassignment that loses the race moved the lead from no one */
    {
        tlead l;
        lead_of(&l, "L2", "r");
        tl_str(&l, "email", "y@beta.io");
        ts.exists_owner = "zed";
        ok(leadroute_route(r, &l.lead, LEADROUTE_ROUTE_TRACE | LEADROUTE_ROUTE_REASSIGN, d));
        expect_status(d, LEADROUTE_ROUTE_EXISTING);
        expect_str(leadroute_decision_rep(d), "zed");
        char *j = explain(d, LEADROUTE_EXPLAIN_JSON);
        assert_non_null(strstr(j, "\"previous\":null,"));
        assert_null(strstr(j, "\"verdict\":\"chosen\""));
        free(j);
    }
    /* EEXISTS naming no holder is the store's garbage: an error, nothing counted */
    uint64_t hits = leadroute_router_rule_hits(r, 0);
    ts.exists_owner = "";
    expect_rc(route_mail(r, d, "L3", "z@gamma.io"), LEADROUTE_ECALLBACK);
    expect_status(d, LEADROUTE_ROUTE_UNROUTED);
    assert_int_equal(leadroute_router_rule_hits(r, 0), hits);
    assert_int_equal(leadroute_router_unrouted(r, LEADROUTE_UNROUTED_ERROR), 1);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* A store whose first commit conflicts, while its window shows pool p1 at
 * its cap of 1 only before that commit, and rep alice full after it. */
static int cs_attempts;
static int cs_load(void *u, const char *p, void *buf, size_t cap, size_t *len, uint64_t *ver)
{
    (void)u, (void)p, (void)buf, (void)cap;
    *len = 0;
    *ver = 0;
    return LEADROUTE_OK;
}
static int cs_find(void *u, const char *k, char *rep, size_t cap)
{
    (void)u, (void)k, (void)rep, (void)cap;
    return LEADROUTE_ENOTFOUND;
}
static int cs_open(void *u, const char *rep, uint32_t *n)
{
    (void)u;
    *n = strcmp(rep, "carol") == 0 || cs_attempts > 0;
    return LEADROUTE_OK;
}
static int cs_commit(void *u, const leadroute_commit *c, char *owner, size_t cap)
{
    (void)u, (void)c, (void)owner, (void)cap;
    cs_attempts++;
    return LEADROUTE_ECONFLICT;
}
static int cs_close(void *u, const char *k)
{
    (void)u, (void)k;
    return LEADROUTE_OK;
}
static int cs_window(void *u, const char *rep, const char *pool, int64_t since, uint64_t *count, double *value)
{
    (void)u, (void)rep, (void)since;
    *value = 0;
    *count = pool && cs_attempts == 0;
    return LEADROUTE_OK;
}

/* The reason speaks of the attempt that decided, not of one a conflict
 * made the router give up: p1 was at its cap only in the first. */
static void test_retry_reason_is_its_own(void **state)
{
    static const char roster_text[] = "#! pools\nid,strategy,cap_day,fallback\np1,round_robin,1,p2\n"
                                      "p2,round_robin,,\n#! reps\nid,pools,capacity\ncarol,p1,1\nalice,p2,1\n";
    static const leadroute_store methods = { LEADROUTE_STORE_VERSION, cs_load, cs_find, cs_open, cs_commit,
                                             cs_close, cs_window, NULL, NULL };
    leadroute_roster *ro = NULL;
    leadroute_router *r;
    leadroute_decision *d = decision();
    tlead l;
    (void)state;
    cs_attempts = 0;
    ok(leadroute_roster_parse(&ro, roster_text, sizeof roster_text - 1, "r.csv", NULL));
    r = router_of("rule,kind,out:pool\nx,x,p1\n", ro);
    ok(leadroute_router_set_store(r, &methods, NULL));
    lead_of(&l, "L1", "x");
    ok(leadroute_route(r, &l.lead, LEADROUTE_ROUTE_TRACE, d));
    assert_int_equal(cs_attempts, 1);
    expect_status(d, LEADROUTE_ROUTE_UNASSIGNED);
    expect_str(leadroute_decision_reason(d), "no rep in p1 -> p2 could take it; the pool leaves it unassigned");
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* ================================================================================ */
/* notify                                                                            */

static void test_notify_pending(void **state)
{
    (void)state;
    const char *const ids[] = { "a", "b" };
    leadroute_router *r = router_of(HDR "r,r,,rr,,,,\n", rr_roster(ids, 2));
    leadroute_decision *d = decision();
    nlog log;
    char key[64], rep[32];
    size_t delivered = 99;
    memset(&log, 0, sizeof log);
    set_notify(r, &log);
    log.fail = LEADROUTE_EIO;
    expect_str(assign(r, d, "L1", "r"), "a");     /* still OK and assigned */
    assert_int_equal(leadroute_decision_notified(d), 0);
    expect_has(leadroute_decision_reason(d), "pending");
    assert_int_equal(leadroute_router_pending_count(r), 1);
    ok(leadroute_router_pending(r, 0, key, sizeof key, rep, sizeof rep));
    expect_str(key, "L1");
    expect_str(rep, "a");
    expect_rc(leadroute_router_pending(r, 1, key, sizeof key, rep, sizeof rep), LEADROUTE_ERANGE);
    expect_rc(leadroute_router_pending(r, 0, key, 2, rep, sizeof rep), LEADROUTE_ERANGE);
    expect_rc(leadroute_router_pending(r, 0, key, sizeof key, rep, 1), LEADROUTE_ERANGE);
    /* the assignment stands */
    ok(route_flags(r, d, "L1", "r", 0));
    expect_status(d, LEADROUTE_ROUTE_EXISTING);
    assert_int_equal(leadroute_router_rep_assigned(r, "a"), 1);
    expect_str(assign(r, d, "L2", "r"), "b");
    assert_int_equal(leadroute_router_pending_count(r), 2);
    ok(leadroute_router_pending(r, 1, key, sizeof key, rep, sizeof rep));
    expect_str(key, "L2");
    /* still failing */
    expect_rc(leadroute_router_retry_notifications(r, &delivered), LEADROUTE_ECALLBACK);
    assert_int_equal(delivered, 0);
    assert_int_equal(leadroute_router_pending_count(r), 2);
    /* fixed: delivered once, oldest first, the list empties */
    log.fail = 0;
    ok(leadroute_router_retry_notifications(r, &delivered));
    assert_int_equal(delivered, 2);
    assert_int_equal(leadroute_router_pending_count(r), 0);
    assert_int_equal(log.n, 2);
    expect_str(log.key[0], "lead:L1");
    expect_str(log.rep[0], "a");
    expect_str(log.pool[0], "rr");
    expect_str(log.lead[0], "L1");
    assert_true(log.at[0] == NOW_MS);
    expect_str(log.key[1], "lead:L2");
    ok(leadroute_router_retry_notifications(r, &delivered));
    assert_int_equal(delivered, 0);
    assert_int_equal(log.n, 2);
    expect_rc(leadroute_router_pending(r, 0, key, sizeof key, rep, sizeof rep), LEADROUTE_ERANGE);

    /* A notification superseded by a later assignment of its lead is dropped, not delivered
     * after it: L3's first rep is not told (notify fails), the reassignment is, which drops the
     * first at once; the retry then tells no one. When both failed, the retry tells the second
     * rep alone. */
    for (int both_failed = 0; both_failed < 2; both_failed++) {
        const char *id = both_failed ? "L4" : "L3";
        char first[32], second[32];
        log.n = 0;
        log.fail = LEADROUTE_EIO;
        snprintf(first, sizeof first, "%s", assign(r, d, id, "r"));
        log.fail = both_failed ? LEADROUTE_EIO : 0;
        ok(route_flags(r, d, id, "r", LEADROUTE_ROUTE_REASSIGN));
        expect_status(d, LEADROUTE_ROUTE_ASSIGNED);
        snprintf(second, sizeof second, "%s", leadroute_decision_rep(d));
        assert_string_not_equal(first, second);
        assert_int_equal(leadroute_router_pending_count(r), both_failed ? 2 : 0);
        log.fail = 0;
        ok(leadroute_router_retry_notifications(r, &delivered));
        assert_int_equal(delivered, both_failed ? 1 : 0);
        assert_int_equal(leadroute_router_pending_count(r), 0);
        /* only delivered calls are logged: the host heard of the second rep alone */
        assert_int_equal(log.n, 1);
        expect_str(log.rep[0], second);
        expect_str(log.key[0], both_failed ? "lead:L4" : "lead:L3");
    }
    /* back to the first rep (A -> B -> A), every notification failing: the one delivered is the
     * last, which names B as previous, not the first, which would undo it */
    {
        char first[32];
        log.n = 0;
        log.fail = LEADROUTE_EIO;
        snprintf(first, sizeof first, "%s", assign(r, d, "L6", "r"));
        ok(route_flags(r, d, "L6", "r", LEADROUTE_ROUTE_REASSIGN));
        while (strcmp(leadroute_decision_rep(d), first) != 0)
            ok(route_flags(r, d, "L6", "r", LEADROUTE_ROUTE_REASSIGN));
        assert_true(leadroute_router_pending_count(r) >= 3);
        log.fail = 0;
        ok(leadroute_router_retry_notifications(r, &delivered));
        assert_int_equal(delivered, 1);
        assert_int_equal(log.n, 1);
        expect_str(log.rep[0], first);
        assert_int_equal(leadroute_router_pending_count(r), 0);
    }
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* ================================================================================ */
/* dry run and fork                                                                  */

static void test_dry_run(void **state)
{
    (void)state;
    const char *const ids[] = { "a", "b", "c" };
    leadroute_router *r = router_of(HDR "r,r,,rr,,,,\n", rr_roster(ids, 3));
    leadroute_decision *d = decision();
    nlog log;
    memset(&log, 0, sizeof log);
    set_notify(r, &log);
    for (int i = 0; i < 3; i++) {
        ok(route_flags(r, d, "L1", "r", LEADROUTE_ROUTE_DRY_RUN | LEADROUTE_ROUTE_TRACE));
        expect_status(d, LEADROUTE_ROUTE_ASSIGNED);
        expect_str(leadroute_decision_rep(d), "a");    /* again and again: nothing was written */
        assert_int_equal(leadroute_decision_notified(d), 0);
    }
    char *txt = explain(d, LEADROUTE_EXPLAIN_TEXT);
    expect_has(txt, "(dry run)");
    expect_has(txt, "\"rr2\\nb\\nc\\na\"");   /* the state that would be written */
    free(txt);
    char *j = explain(d, LEADROUTE_EXPLAIN_JSON);
    expect_has(j, "\"dry_run\":true");
    free(j);
    assert_int_equal(log.calls, 0);
    assert_int_equal(leadroute_router_rep_assigned(r, "a"), 0);
    assert_int_equal(leadroute_router_rule_hits(r, 0), 0);
    ok(route_flags(r, d, "X", "none", LEADROUTE_ROUTE_DRY_RUN));
    expect_status(d, LEADROUTE_ROUTE_UNASSIGNED);
    assert_int_equal(leadroute_router_unrouted(r, LEADROUTE_UNROUTED_NO_RULE), 0);
    /* live now: the same lead, the same rep, claimed once */
    expect_str(assign(r, d, "L1", "r"), "a");
    assert_int_equal(log.n, 1);
    ok(route_flags(r, d, "L1", "r", LEADROUTE_ROUTE_DRY_RUN));
    expect_status(d, LEADROUTE_ROUTE_EXISTING);
    ok(route_flags(r, d, "L2", "r", LEADROUTE_ROUTE_DRY_RUN));
    expect_str(leadroute_decision_rep(d), "b");
    expect_str(assign(r, d, "L2", "r"), "b");
    assert_int_equal(leadroute_router_rule_hits(r, 0), 2);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

static void test_fork(void **state)
{
    (void)state;
    const char *const ids[] = { "a", "b", "c" };
    leadroute_router *r = router_of(HDR "r,r,,rr,,,,\n", rr_roster(ids, 3));
    leadroute_router *f = NULL;
    leadroute_decision *d = decision();
    nlog log;
    memset(&log, 0, sizeof log);
    set_notify(r, &log);
    expect_str(assign(r, d, "L1", "r"), "a");
    expect_str(assign(r, d, "L2", "r"), "b");
    ok(leadroute_router_fork(&f, r));
    assert_non_null(f);
    /* the fork sees the parent's claims and rotation */
    ok(route_flags(f, d, "L1", "r", 0));
    expect_status(d, LEADROUTE_ROUTE_EXISTING);
    expect_str(leadroute_decision_rep(d), "a");
    expect_str(assign(f, d, "L3", "r"), "c");
    expect_str(assign(f, d, "L4", "r"), "a");
    expect_str(assign(f, d, "L5", "r"), "b");
    assert_int_equal(leadroute_decision_notified(d), 0);
    assert_int_equal(log.calls, 2);                 /* no notify through the fork */
    ok(leadroute_router_close(f, "L1"));           /* closed in the fork only */
    /* the parent did not move */
    assert_int_equal(leadroute_router_rep_assigned(r, "a"), 1);
    assert_int_equal(leadroute_router_rep_assigned(r, "c"), 0);
    assert_int_equal(leadroute_router_rule_hits(r, 0), 2);
    ok(route_flags(r, d, "L1", "r", 0));
    expect_status(d, LEADROUTE_ROUTE_EXISTING);
    expect_str(assign(r, d, "L3", "r"), "c");
    expect_str(assign(r, d, "L4", "r"), "a");
    assert_int_equal(log.n, 4);
    /* the fork keeps its own view: L4 is its a, L5 its b; next is c */
    ok(route_flags(f, d, "L5", "r", 0));
    expect_status(d, LEADROUTE_ROUTE_EXISTING);
    expect_str(leadroute_decision_rep(d), "b");
    assert_int_equal(leadroute_router_rep_assigned(f, "a"), 1);
    leadroute_router_free(f);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* A fork of a router with a host store reads the host store and never writes it. */
static void test_fork_host_store(void **state)
{
    (void)state;
    tstore ts;
    nlog log;
    tsdata before;
    ts_init(&ts);
    memset(&log, 0, sizeof log);
    leadroute_router *r = store_router(&ts, &log, NULL), *f = NULL;
    leadroute_decision *d = decision();
    ok(route_mail(r, d, "L1", "x@acme.com"));
    expect_str(leadroute_decision_rep(d), "a");
    memcpy(&before, &ts.s, sizeof before);
    ok(leadroute_router_fork(&f, r));
    ok(route_mail(f, d, "L1", "x@acme.com"));
    expect_status(d, LEADROUTE_ROUTE_EXISTING);
    ok(route_mail(f, d, "L2", "y@acme.com"));
    expect_str(leadroute_decision_rep(d), "a");          /* the account, from the host store */
    ok(route_mail(f, d, "L3", "z@beta.io"));
    expect_str(leadroute_decision_rep(d), "b");          /* the rotation, from the host store */
    ok(route_mail(f, d, "L4", "w@gamma.io"));
    expect_str(leadroute_decision_rep(d), "c");
    ok(leadroute_router_close(f, "L1"));
    assert_memory_equal(&before, &ts.s, sizeof before);
    assert_int_equal(log.n, 1);
    leadroute_router_free(f);
    ok(route_mail(r, d, "L3", "z@beta.io"));
    expect_str(leadroute_decision_rep(d), "b");

    /* The host store has no window, acknowledge or list_due: the fork cannot either, and says
     * so as the router does (ENOTSUP), not as a failed callback or a tick of its own leads only. */
    {
        leadroute_tick_stats st = LEADROUTE_TICK_STATS_INIT;
        char json[4096];
        ok(leadroute_router_fork(&f, r));
        expect_rc(leadroute_router_acknowledge(r, "L1"), LEADROUTE_ENOTSUP);
        expect_rc(leadroute_router_acknowledge(f, "L1"), LEADROUTE_ENOTSUP);
        expect_rc(leadroute_router_tick(r, NOW_MS, NULL, NULL, &st), LEADROUTE_ENOTSUP);
        expect_rc(leadroute_router_tick(f, NOW_MS, NULL, NULL, &st), LEADROUTE_ENOTSUP);
        ok(leadroute_router_metrics_json(f, json, sizeof json, NULL));
        if (strstr(json, "\"load\""))
            fail_msg("the fork's metrics have a load block, its store no window: %s", json);
        /* and so again after a host store was set on the fork and taken off */
        ok(leadroute_router_set_store(f, &ts_methods, &ts));
        ok(leadroute_router_set_store(f, NULL, NULL));
        expect_rc(leadroute_router_acknowledge(f, "L1"), LEADROUTE_ENOTSUP);
        expect_rc(leadroute_router_tick(f, NOW_MS, NULL, NULL, &st), LEADROUTE_ENOTSUP);
        leadroute_router_free(f);
    }
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* ================================================================================ */
/* trace and explain                                                                 */

static leadroute_router *trace_router(void)
{
    const char *const pe[] = { "enterprise" };
    const char *const ps[] = { "smb" };
    static const leadroute_field sk_en = { "languages", { LEADROUTE_VALUE_VERSION, LEADROUTE_VALUE_STRING, "en", 0, 0, NULL, 0 } };
    static const leadroute_field sk_fr = { "languages", { LEADROUTE_VALUE_VERSION, LEADROUTE_VALUE_STRING, "fr", 0, 0, NULL, 0 } };
    leadroute_rep reps[] = { mkrep("bob", pe, 1), mkrep("carol", pe, 1), mkrep("alice", ps, 1), mkrep("dave", ps, 1),
                             mkrep("erin", ps, 1) };
    reps[0].skills = &sk_fr;
    reps[0].skill_count = 1;
    reps[1].skills = &sk_en;
    reps[1].skill_count = 1;
    reps[2].weight = 2;
    reps[4].capacity = 1;
    leadroute_skill_filter f[] = { { "language", "languages" } };
    leadroute_pool pools[] = { mkpool("enterprise", LEADROUTE_STRATEGY_ROUND_ROBIN), mkpool("smb", LEADROUTE_STRATEGY_WEIGHTED) };
    pools[0].filters = f;
    pools[0].filter_count = 1;
    pools[0].fallback = "smb";
    leadroute_router *r = router_of("#! version: v9\n" HDR "emea-mid,m,,enterprise,,hot,15,webinar\n"
                                    "fill,e,erin,,,,,\n",
                                    roster_ok(reps, 5, pools, 2));
    return r;
}

static void test_explain_text(void **state)
{
    (void)state;
    leadroute_router *r = trace_router();
    leadroute_decision *d = decision();
    avail av;
    memset(&av, 0, sizeof av);
    av.away[0] = "bob";
    av.why[0] = "vacation";
    av.naway = 1;
    set_avail(r, &av);
    expect_str(assign(r, d, "E1", "e"), "erin");     /* erin at capacity now */
    tlead l;
    lead_of(&l, "L-1001", "m");
    tl_str(&l, "language", "fr");
    ok(leadroute_route(r, &l.lead, LEADROUTE_ROUTE_TRACE, d));
    expect_str(leadroute_decision_rep(d), "alice");
    char *txt = explain(d, LEADROUTE_EXPLAIN_TEXT);
    char hash[32];
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)leadroute_decision_table_hash(d));
    expect_has(txt, "lead L-1001 (key L-1001): assigned to alice from pool smb\n");
    expect_has(txt, "rule emea-mid (line 3) of table ");
    expect_has(txt, hash);
    expect_has(txt, "label hot; sla 15 min; tags webinar\n");
    expect_has(txt, "pools walked: enterprise -> smb\n");
    expect_has(txt, "picked by: weighted round robin");
    expect_has(txt, "at 2026-03-01T09:30:00.125Z");
    expect_has(txt, "candidates:\n");
    expect_has(txt, "bob");
    expect_has(txt, "away: vacation");
    expect_has(txt, "lacks skill: language=fr not in languages");
    expect_has(txt, "chosen");
    expect_has(txt, "eligible");
    expect_has(txt, "at capacity: 1 of 1 open leads");
    expect_has(txt, "reason: ");
    /* every candidate on its own line, with its pool and verdict */
    const char *const lines[][3] = { { "bob", "enterprise", "away: vacation" },
                                     { "carol", "enterprise", "lacks skill: language=fr not in languages" },
                                     { "alice", "smb", "chosen" },
                                     { "dave", "smb", "eligible" },
                                     { "erin", "smb", "at capacity: 1 of 1 open leads" } };
    for (int i = 0; i < 5; i++) {
        char needle[32];
        snprintf(needle, sizeof needle, "\n  %s ", lines[i][0]);
        const char *p = strstr(txt, needle), *eol;
        if (!p)
            fail_msg("no candidate line for %s:\n%s", lines[i][0], txt);
        eol = strchr(p + 1, '\n');
        assert_non_null(eol);
        char line[160];
        snprintf(line, sizeof line, "%.*s", (int)(eol - p - 1), p + 1);
        expect_has(line, lines[i][1]);
        expect_has(line, lines[i][2]);
    }
    /* pools in the order walked */
    assert_true(strstr(txt, "  bob ") < strstr(txt, "  alice "));
    assert_int_equal(leadroute_decision_candidate_count(d), 5);
    free(txt);
    /* without TRACE only the chosen one, and no pool state */
    lead_of(&l, "L-1002", "m");
    tl_str(&l, "language", "fr");
    ok(leadroute_route(r, &l.lead, 0, d));
    assert_int_equal(leadroute_decision_candidate_count(d), 1);
    expect_verdict(d, leadroute_decision_rep(d), "smb", LEADROUTE_VERDICT_CHOSEN, NULL);
    txt = explain(d, LEADROUTE_EXPLAIN_TEXT);
    if (strstr(txt, "state before"))
        fail_msg("pool state without TRACE:\n%s", txt);
    free(txt);
    /* a fresh decision explains itself too */
    leadroute_decision *e = decision();
    txt = explain(e, LEADROUTE_EXPLAIN_TEXT);
    assert_true(strlen(txt) > 0);
    free(txt);
    txt = explain(e, LEADROUTE_EXPLAIN_JSON);
    expect_json(txt);
    expect_has(txt, "\"status\":null");
    free(txt);
    leadroute_decision_free(e);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

static void test_explain_json(void **state)
{
    (void)state;
    leadroute_router *r = trace_router();
    leadroute_decision *d = decision();
    avail av;
    memset(&av, 0, sizeof av);
    av.away[0] = "bob";
    av.why[0] = "a \"quoted\"\treason\\";
    av.naway = 1;
    set_avail(r, &av);
    tlead l;
    lead_of(&l, "L\"1\n", "m");
    tl_str(&l, "language", "fr");
    ok(leadroute_route(r, &l.lead, LEADROUTE_ROUTE_TRACE, d));
    char *j = explain(d, LEADROUTE_EXPLAIN_JSON);
    expect_json(j);
    /* keys in the documented order */
    static const char *const keys[] = { "status", "lead_id", "key", "rep", "pool", "queue", "rule", "rule_line",
                                        "label", "tags", "sla_minutes", "table_version", "at_ms", "notified",
                                        "dry_run", "how", "strategy", "previous", "pools", "state_before",
                                        "state_after", "candidates", "reason" };
    const char *at = j;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char needle[40];
        snprintf(needle, sizeof needle, "\"%s\":", keys[i]);
        const char *p = strstr(at, needle);
        if (!p)
            fail_msg("key %s missing or out of order: %s", keys[i], j);
        at = p + strlen(needle);
    }
    assert_true(j[0] == '{' && j[strlen(j) - 1] == '}');
    char tv[64];
    snprintf(tv, sizeof tv, "\"table_version\":\"%016llx\"", (unsigned long long)leadroute_decision_table_hash(d));
    expect_has(j, tv);
    leadroute_table *t = NULL;
    /* the decision's hash is the table's */
    const char *text = "#! version: v9\n" HDR "emea-mid,m,,enterprise,,hot,15,webinar\nfill,e,erin,,,,,\n";
    ok(leadroute_table_parse(&t, text, strlen(text), NULL, NULL));
    assert_true(leadroute_table_hash(t) == leadroute_decision_table_hash(d));
    leadroute_table_unref(t);
    expect_has(j, "\"status\":\"assigned\"");
    expect_has(j, "\"lead_id\":\"L\\\"1\\u000a\"");
    expect_has(j, "\"rule\":\"emea-mid\",\"rule_line\":3");
    expect_has(j, "\"sla_minutes\":15,");
    expect_has(j, "\"at_ms\":1772357400125,");
    expect_has(j, "\"strategy\":\"weighted round robin\"");
    expect_has(j, "\"pools\":[\"enterprise\",\"smb\"]");
    expect_has(j, "\"detail\":\"a \\\"quoted\\\"\\u0009reason\\\\\"");
    expect_has(j, "{\"rep\":\"alice\",\"pool\":\"smb\",\"verdict\":\"chosen\",\"detail\":null}");
    expect_has(j, "\"state_before\":\"\"");
    free(j);
    /* an unassigned lead (no rule) */
    ok(route_flags(r, d, "X", "nothing", LEADROUTE_ROUTE_TRACE));
    j = explain(d, LEADROUTE_EXPLAIN_JSON);
    expect_json(j);
    expect_has(j, "\"status\":\"unassigned\"");
    expect_has(j, "\"rule\":null,\"rule_line\":null");
    expect_has(j, "\"candidates\":[]");
    free(j);
    /* an unrouted lead */
    expect_rc(route_flags(r, d, NULL, "m", LEADROUTE_ROUTE_TRACE), LEADROUTE_ELEAD);
    j = explain(d, LEADROUTE_EXPLAIN_JSON);
    expect_json(j);
    expect_has(j, "\"status\":\"unrouted\"");
    free(j);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

static void test_explain_truncation(void **state)
{
    (void)state;
    leadroute_router *r = trace_router();
    leadroute_decision *d = decision();
    tlead l;
    lead_of(&l, "L-1", "m");
    tl_str(&l, "language", "fr");
    ok(leadroute_route(r, &l.lead, LEADROUTE_ROUTE_TRACE, d));
    for (int fmt = LEADROUTE_EXPLAIN_TEXT; fmt <= LEADROUTE_EXPLAIN_JSON; fmt++) {
        char *full = explain(d, fmt);
        size_t n = strlen(full), cap;
        char *buf = malloc(n + 8);
        assert_non_null(buf);
        for (cap = 1; cap <= n + 2; cap++) {
            size_t needed = 0;
            memset(buf, 'Z', n + 8);
            ok(leadroute_decision_explain(d, fmt, buf, cap, &needed));
            assert_int_equal(needed, n);
            size_t got = cap - 1 < n ? cap - 1 : n;
            assert_int_equal(buf[got], 0);
            assert_memory_equal(buf, full, got);
            assert_int_equal(buf[cap < n + 8 ? cap : n + 7], 'Z');   /* nothing past cap */
        }
        ok(leadroute_decision_explain(d, fmt, buf, n + 1, NULL));
        expect_str(buf, full);
        free(buf);
        free(full);
    }
    size_t needed = 7;
    char small[4];
    expect_rc(leadroute_decision_explain(d, 3, small, sizeof small, &needed), LEADROUTE_EINVAL);
    expect_rc(leadroute_decision_explain(d, 0, small, sizeof small, NULL), LEADROUTE_EINVAL);
    expect_rc(leadroute_decision_explain(NULL, LEADROUTE_EXPLAIN_TEXT, small, sizeof small, NULL), LEADROUTE_EINVAL);
    expect_rc(leadroute_decision_explain(d, LEADROUTE_EXPLAIN_TEXT, NULL, 5, NULL), LEADROUTE_EINVAL);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* ================================================================================ */
/* metrics                                                                           */

static void test_metrics_counters(void **state)
{
    (void)state;
    const char *const ids[] = { "a", "b", "c" };
    leadroute_router *r = router_of(HDR "r,r,,rr,,,,\n"
                                        "q,q,,,later,,,\n"
                                        "none,n,,,,nurture,,\n"
                                        "gone,g,zed,,,,,\n",
                                    rr_roster(ids, 3));
    leadroute_decision *d = decision();
    for (int i = 0; i < 5; i++) {
        char id[8];
        snprintf(id, sizeof id, "L%d", i);
        (void)assign(r, d, id, "r");
    }
    ok(route_flags(r, d, "L0", "r", 0));               /* existing: a hit, no assignment */
    ok(route_flags(r, d, "Q1", "q", 0));
    expect_status(d, LEADROUTE_ROUTE_QUEUED);
    ok(route_flags(r, d, "N1", "n", 0));
    expect_status(d, LEADROUTE_ROUTE_UNASSIGNED);
    expect_str(leadroute_decision_label(d), "nurture");
    ok(route_flags(r, d, "N2", "n", 0));
    ok(route_flags(r, d, "G1", "g", 0));
    expect_status(d, LEADROUTE_ROUTE_UNASSIGNED);
    ok(route_flags(r, d, "X1", "x", 0));
    ok(route_flags(r, d, "X2", "x", 0));
    ok(route_flags(r, d, "X3", "x", 0));
    expect_rc(route_flags(r, d, NULL, "r", 0), LEADROUTE_ELEAD);
    assert_int_equal(leadroute_router_rule_hits(r, 0), 6);
    assert_int_equal(leadroute_router_rule_hits(r, 1), 1);
    assert_int_equal(leadroute_router_rule_hits(r, 2), 2);
    assert_int_equal(leadroute_router_rule_hits(r, 3), 1);
    assert_int_equal(leadroute_router_rule_hits(r, 4), 0);
    assert_int_equal(leadroute_router_rep_assigned(r, "a"), 2);
    assert_int_equal(leadroute_router_rep_assigned(r, "b"), 2);
    assert_int_equal(leadroute_router_rep_assigned(r, "c"), 1);
    assert_int_equal(leadroute_router_rep_assigned(r, "zed"), 0);
    assert_int_equal(leadroute_router_rep_assigned(r, NULL), 0);
    assert_int_equal(leadroute_router_unrouted(r, LEADROUTE_UNROUTED_NO_RULE), 3);
    assert_int_equal(leadroute_router_unrouted(r, LEADROUTE_UNROUTED_NO_TARGET), 2);
    assert_int_equal(leadroute_router_unrouted(r, LEADROUTE_UNROUTED_EMPTY), 1);
    assert_int_equal(leadroute_router_unrouted(r, LEADROUTE_UNROUTED_ERROR), 1);
    assert_int_equal(leadroute_router_unrouted(r, LEADROUTE_UNROUTED_REASONS), 0);

    double spread = -1, jain = -1;
    ok(leadroute_router_pool_fairness(r, "rr", &spread, &jain));
    /* 2,2,1: spread 1; Jain 25 / (3 * 9) */
    assert_true(spread == 1.0);
    assert_true(fabs(jain - 25.0 / 27.0) < 1e-12);
    expect_rc(leadroute_router_pool_fairness(r, "nope", &spread, &jain), LEADROUTE_ENOTFOUND);
    expect_rc(leadroute_router_pool_fairness(r, NULL, &spread, &jain), LEADROUTE_EINVAL);
    ok(leadroute_router_pool_fairness(r, "rr", NULL, NULL));

    char buf[4096];
    size_t n = 0;
    ok(leadroute_router_metrics_json(r, buf, sizeof buf, &n));
    assert_int_equal(strlen(buf), n);
    expect_json(buf);
    expect_has(buf, "\"routed\":5");
    expect_has(buf, "\"no_rule\":3");
    expect_has(buf, "\"no_target\":2");
    expect_has(buf, "\"empty\":1");
    expect_has(buf, "\"error\":1");
    expect_has(buf, "\"r\":6");
    expect_has(buf, "\"a\":2");
    expect_has(buf, "\"rr\":{\"assigned\":5,\"members\":3,\"spread\":1,");
    char tv[48];
    snprintf(tv, sizeof tv, "\"table_version\":\"%016llx\"", (unsigned long long)leadroute_decision_table_hash(d));
    expect_has(buf, tv);
    /* truncation like explain */
    for (size_t cap = 1; cap <= n + 1; cap++) {
        char t[4096];
        size_t needed = 0;
        ok(leadroute_router_metrics_json(r, t, cap, &needed));
        assert_int_equal(needed, n);
        assert_int_equal(strlen(t), cap - 1 < n ? cap - 1 : n);
        assert_memory_equal(t, buf, strlen(t));
    }
    ok(leadroute_router_metrics_json(r, NULL, 0, &n));
    assert_int_equal(n, strlen(buf));
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* Before any lead: a pool is fair (Jain 1, spread 0), latencies are empty
 * (count and mean 0, not NaN), and ids are escaped in the JSON. */
static void test_metrics_before_routing(void **state)
{
    (void)state;
    const char *const ids[] = { "a\\b", "q\"r" };
    leadroute_router *r = router_of(HDR "r,r,,rr,,,,\n", rr_roster(ids, 2));
    leadroute_latency_stats st = LEADROUTE_LATENCY_STATS_INIT;
    double spread = -1, jain = -1;
    char buf[4096];
    size_t n = 0;
    ok(leadroute_router_pool_fairness(r, "rr", &spread, &jain));
    assert_true(jain == 1.0);
    assert_true(spread == 0.0);
    ok(leadroute_router_latency(r, NULL, NULL, LEADROUTE_LATENCY_CAPTURE_TO_ASSIGN, &st));
    assert_int_equal(st.count, 0);
    assert_true(st.mean_ms == 0.0 && st.p50_ms == 0.0 && st.p99_ms == 0.0);
    ok(leadroute_router_metrics_json(r, buf, sizeof buf, &n));
    expect_json(buf);
    expect_has(buf, "\"jain\":1");
    leadroute_decision *d = decision();
    (void)assign(r, d, "L1", "r");
    ok(leadroute_router_metrics_json(r, buf, sizeof buf, &n));
    expect_json(buf);
    expect_has(buf, "\"a\\\\b\":1");
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* Latencies under 4 ms are kept exactly: 1 ms and 3 ms give p50 1 (half
 * of the samples are at or below it) and p90 3. */
static void test_latency_small_values(void **state)
{
    (void)state;
    const char *const ids[] = { "a" };
    leadroute_router *r = router_of(HDR "r,r,,rr,,,,\n", rr_roster(ids, 1));
    leadroute_clock clk = { LEADROUTE_CLOCK_VERSION, fixed_now };
    leadroute_latency_stats st = LEADROUTE_LATENCY_STATS_INIT;
    leadroute_decision *d = decision();
    int64_t now = NOW_MS;
    ok(leadroute_router_set_clock(r, &clk, &now));
    (void)assign(r, d, "L1", "r");
    now += 1;
    ok(leadroute_router_acknowledge(r, "L1"));
    (void)assign(r, d, "L2", "r");
    now += 3;
    ok(leadroute_router_acknowledge(r, "L2"));
    ok(leadroute_router_latency(r, NULL, NULL, LEADROUTE_LATENCY_ASSIGN_TO_ACK, &st));
    assert_int_equal(st.count, 2);
    assert_true(st.mean_ms == 2.0);
    assert_true(st.p50_ms == 1.0);
    assert_true(st.p90_ms == 3.0);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* The metrics JSON carries each latency's count, mean and three percentiles,
 * each under its own name: nine acknowledgements after 1 ms and one after
 * 3 ms give p50 and p90 1 but p99 3. */
static void test_metrics_latency_json(void **state)
{
    (void)state;
    const char *const ids[] = { "a" };
    leadroute_router *r = router_of(HDR "r,r,,rr,,,,\n", rr_roster(ids, 1));
    leadroute_clock clk = { LEADROUTE_CLOCK_VERSION, fixed_now };
    leadroute_decision *d = decision();
    int64_t now = NOW_MS;
    char buf[4096], id[8];
    size_t n = 0;
    ok(leadroute_router_set_clock(r, &clk, &now));
    for (int i = 0; i < 10; i++) {
        snprintf(id, sizeof id, "L%d", i);
        (void)assign(r, d, id, "r");
        now += i == 9 ? 3 : 1;
        ok(leadroute_router_acknowledge(r, id));
    }
    ok(leadroute_router_metrics_json(r, buf, sizeof buf, &n));
    expect_json(buf);
    expect_has(buf, ",\"latency_ms\":{\"capture_to_assign\":{\"count\":0,\"mean\":0,\"p50\":0,\"p90\":0,\"p99\":0},"
                    "\"assign_to_ack\":{\"count\":10,\"mean\":1.2,\"p50\":1,\"p90\":1,\"p99\":3}}");
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* The mean stays exact past 2^64 ms in all: three leads captured near the
 * far end of the int64 range (-9.1e18 ms) each wait about 9.1e18 ms. */
static void test_latency_mean_far_back(void **state)
{
    (void)state;
    const char *const ids[] = { "a" };
    leadroute_router *r = router_of(HDR "r,r,,rr,,,,\n", rr_roster(ids, 1));
    leadroute_latency_stats st = LEADROUTE_LATENCY_STATS_INIT;
    leadroute_decision *d = decision();
    const double wait = (double)NOW_MS + 9.1e18;
    for (int i = 0; i < 3; i++) {
        tlead l;
        char id[8];
        snprintf(id, sizeof id, "L%d", i);
        lead_of(&l, id, "r");
        tl_num(&l, "captured_at", -9.1e18);
        ok(leadroute_route(r, &l.lead, 0, d));
        expect_status(d, LEADROUTE_ROUTE_ASSIGNED);
    }
    ok(leadroute_router_latency(r, NULL, NULL, LEADROUTE_LATENCY_CAPTURE_TO_ASSIGN, &st));
    assert_int_equal(st.count, 3);
    if (fabs(st.mean_ms - wait) > wait * 1e-12)
        fail_msg("mean %g, expected %g", st.mean_ms, wait);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

static void test_fairness_weighted(void **state)
{
    (void)state;
    const char *const ids[] = { "p", "q", "s" };
    const double w[] = { 1, 2, 0.5 };
    leadroute_router *r = router_of(HDR "w,w,,wt,,,,\n", wt_roster(ids, w, 3));
    leadroute_decision *d = decision();
    double cnt[3] = { 0, 0, 0 };
    for (int i = 0; i < 11; i++) {
        char id[8];
        snprintf(id, sizeof id, "L%d", i);
        cnt[rep_index(ids, 3, assign(r, d, id, "w"))] += 1;
    }
    /* by hand, from what each got: x_i = count / weight */
    double x[3], lo = 1e9, hi = -1, sum = 0, sq = 0;
    for (int i = 0; i < 3; i++) {
        x[i] = cnt[i] / w[i];
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
        sum += x[i];
        sq += x[i] * x[i];
    }
    double spread, jain;
    ok(leadroute_router_pool_fairness(r, "wt", &spread, &jain));
    assert_true(fabs(spread - (hi - lo)) < 1e-12);
    assert_true(fabs(jain - sum * sum / (3 * sq)) < 1e-12);
    /* 11 leads at 1:2:0.5 -> a nearly fair split: 3.1/6.3/1.6 */
    assert_true(cnt[0] >= 2 && cnt[0] <= 4 && cnt[1] >= 5 && cnt[1] <= 7 && cnt[2] >= 1 && cnt[2] <= 2);
    assert_true(cnt[0] + cnt[1] + cnt[2] == 11);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* Reasons and details keep what matters when ids are long: the note of a
 * pool whose cap stopped it names the cause after a 191-byte id, a chain
 * of five 240-byte pools keeps its ends and the outcome, and every text is
 * valid UTF-8 (ids of two-byte characters cut nowhere). */
static void test_reason_long_ids(void **state)
{
    char pool[256], big[5][256], roster[4096], table[1024];
    size_t off;
    leadroute_roster *ro = NULL;
    leadroute_router *r;
    leadroute_decision *d = decision();
    const char *reason, *rep, *cpool, *detail;
    uint32_t verdict;
    (void)state;

    strcpy(pool, "x");
    for (int i = 0; i < 95; i++)
        strcat(pool, "\xc3\xa9");
    snprintf(roster, sizeof roster, "#! pools\nid,strategy,cap_day\n%s,round_robin,0\n#! reps\nid,pools\na,%s\n",
             pool, pool);
    ok(leadroute_roster_parse(&ro, roster, strlen(roster), "roster.csv", NULL));
    snprintf(table, sizeof table, HDR "w,w,,%s,,,,\n", pool);
    r = router_of(table, ro);
    ok(route_flags(r, d, "L1", "w", LEADROUTE_ROUTE_TRACE));
    expect_status(d, LEADROUTE_ROUTE_UNASSIGNED);
    reason = leadroute_decision_reason(d);
    assert_true(lr__utf8_valid(reason, strlen(reason)));
    if (!strstr(reason, "paused (24h cap 0)"))
        fail_msg("reason without its cause: %s", reason);
    assert_int_equal(leadroute_decision_candidate_count(d), 1);
    ok(leadroute_decision_candidate(d, 0, &rep, &cpool, &verdict, &detail));
    assert_true(lr__utf8_valid(detail, strlen(detail)));
    if (!strstr(detail, "paused (24h cap 0)"))
        fail_msg("detail without its cause: %s", detail);
    leadroute_router_free(r);

    off = (size_t)snprintf(roster, sizeof roster, "#! pools\nid,strategy,fallback,on_empty,queue\n");
    for (int i = 0; i < 5; i++) {
        snprintf(big[i], sizeof big[i], "pool-%d-", i);
        while (strlen(big[i]) < 240)
            strcat(big[i], "abcdefghij");
        big[i][240] = 0;
    }
    for (int i = 0; i < 5; i++)
        off += (size_t)snprintf(roster + off, sizeof roster - off, "%s,round_robin,%s,%s,%s\n", big[i],
                                i < 4 ? big[i + 1] : "", i < 4 ? "unassigned" : "queue", i < 4 ? "" : "overflow");
    snprintf(roster + off, sizeof roster - off, "#! reps\nid,pools,active\na,%s,no\n", big[0]);
    ro = NULL;
    ok(leadroute_roster_parse(&ro, roster, strlen(roster), "roster.csv", NULL));
    snprintf(table, sizeof table, HDR "w,w,,%s,,,,\n", big[0]);
    r = router_of(table, ro);
    ok(route_flags(r, d, "L2", "w", 0));
    expect_status(d, LEADROUTE_ROUTE_QUEUED);
    reason = leadroute_decision_reason(d);
    {
        char want[700];
        snprintf(want, sizeof want, "no rep in %s -> ... -> %s (5 pools) could take it; queued in overflow", big[0],
                 big[4]);
        assert_string_equal(reason, want);
    }
    leadroute_router_free(r);
    leadroute_decision_free(d);
}

/* Jain's index does not depend on the scale of the weights: two reps of
 * equal weight, one lead, is J = 0.5 at every allowed weight, from the
 * largest double to the smallest subnormal, and the metrics agree. The
 * spread is max - min of the shares even where a share is past the largest
 * double: 0 for one lead each, 1 / weight for 2 and 1 (infinite only when
 * that is). */
static void test_fairness_weight_scale(void **state)
{
    (void)state;
    const char *const ids[] = { "a", "b" };
    const double scales[] = { 1.0, 1e300, DBL_MAX, 1e-300, 1e-308, 1e-310, 4.9e-324 };
    for (size_t k = 0; k < sizeof scales / sizeof *scales; k++) {
        const double w[] = { scales[k], scales[k] };
        leadroute_router *r = router_of(HDR "w,w,,wt,,,,\n", wt_roster(ids, w, 2));
        leadroute_decision *d = decision();
        double spread = -1, jain = -1;
        char buf[4096];
        size_t needed = 0;
        assign(r, d, "L1", "w");
        ok(leadroute_router_pool_fairness(r, "wt", &spread, &jain));
        if (jain != 0.5)
            fail_msg("weights %g: jain %g, expected 0.5", scales[k], jain);
        assert_true(spread == 1.0 / scales[k]);  /* per unit of weight: may be infinite */
        ok(leadroute_router_metrics_json(r, buf, sizeof buf, &needed));
        expect_has(buf, "\"jain\":0.5");
        assign(r, d, "L2", "w");
        ok(leadroute_router_pool_fairness(r, "wt", &spread, &jain));
        if (spread != 0 || jain != 1)
            fail_msg("weights %g, a lead each: spread %g, jain %g", scales[k], spread, jain);
        assign(r, d, "L3", "w");
        ok(leadroute_router_pool_fairness(r, "wt", &spread, &jain));
        if (isinf(1.0 / scales[k]) ? !isinf(spread) : !(fabs(spread - 1.0 / scales[k]) <= 4e-16 / scales[k]))
            fail_msg("weights %g, leads 2 and 1: spread %g, expected %g", scales[k], spread, 1.0 / scales[k]);
        leadroute_decision_free(d);
        leadroute_router_free(r);
    }
}

/* A rep in two pools counts, in each pool's fairness, only the leads that
 * pool gave it; direct assignments count in none. Member counts are kept by
 * pool and rep id across roster swaps, like the other counters. */
static void test_fairness_rep_in_two_pools(void **state)
{
    (void)state;
    const char *const pa[] = { "A" }, *const pb[] = { "B" }, *const pab[] = { "A", "B" };
    leadroute_rep reps[] = { mkrep("a1", pa, 1), mkrep("both", pab, 2), mkrep("b1", pb, 1) };
    leadroute_pool pools[] = { mkpool("A", LEADROUTE_STRATEGY_ROUND_ROBIN),
                               mkpool("B", LEADROUTE_STRATEGY_ROUND_ROBIN) };
    leadroute_router *r = router_of(HDR "a,a,,A,,,,\n"
                                        "b,b,,B,,,,\n"
                                        "o,o,both,,,,,\n",
                                    roster_ok(reps, 3, pools, 2));
    leadroute_decision *d = decision();
    double spread = -1, jain = -1;
    char id[16], buf[4096];
    int i, n = 0;
    for (i = 0; i < 4; i++) {
        snprintf(id, sizeof id, "L%d", n++);
        (void)assign(r, d, id, "a");
    }
    for (i = 0; i < 10; i++) {
        snprintf(id, sizeof id, "L%d", n++);
        (void)assign(r, d, id, "b");
    }
    for (i = 0; i < 3; i++) {
        snprintf(id, sizeof id, "L%d", n++);
        expect_str(assign(r, d, id, "o"), "both");
    }
    /* both got 2 from A, 5 from B and 3 directly: 10 in all, but each pool is even */
    assert_int_equal(leadroute_router_rep_assigned(r, "both"), 10);
    assert_int_equal(leadroute_router_rep_assigned(r, "a1"), 2);
    assert_int_equal(leadroute_router_rep_assigned(r, "b1"), 5);
    ok(leadroute_router_pool_fairness(r, "A", &spread, &jain));
    if (spread != 0 || jain != 1)
        fail_msg("pool A: spread %g, jain %g", spread, jain);
    ok(leadroute_router_pool_fairness(r, "B", &spread, &jain));
    if (spread != 0 || jain != 1)
        fail_msg("pool B: spread %g, jain %g", spread, jain);
    ok(leadroute_router_metrics_json(r, buf, sizeof buf, NULL));
    expect_has(buf, "\"pools\":{\"A\":{\"assigned\":4,\"members\":2,\"spread\":0,\"jain\":1},"
                    "\"B\":{\"assigned\":10,\"members\":2,\"spread\":0,\"jain\":1}}");

    /* both leaves A: a1 takes A's next two leads alone */
    leadroute_rep reps2[] = { mkrep("a1", pa, 1), mkrep("both", pb, 1), mkrep("b1", pb, 1) };
    leadroute_roster *ro = roster_ok(reps2, 3, pools, 2);
    ok(leadroute_router_set_roster(r, ro));
    leadroute_roster_unref(ro);
    for (i = 0; i < 2; i++) {
        snprintf(id, sizeof id, "L%d", n++);
        expect_str(assign(r, d, id, "a"), "a1");
    }
    ok(leadroute_router_pool_fairness(r, "A", &spread, &jain));
    assert_true(spread == 0 && jain == 1);
    /* and comes back with the 2 it had from A: 4 against 2 */
    ro = roster_ok(reps, 3, pools, 2);
    ok(leadroute_router_set_roster(r, ro));
    leadroute_roster_unref(ro);
    ok(leadroute_router_pool_fairness(r, "A", &spread, &jain));
    if (spread != 2 || fabs(jain - 36.0 / 40.0) > 1e-12)
        fail_msg("pool A after the swaps: spread %g, jain %g", spread, jain);
    ok(leadroute_router_pool_fairness(r, "B", &spread, &jain));
    assert_true(spread == 0 && jain == 1);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* ================================================================================ */
/* bad input                                                                         */

typedef struct counting {
    long live;
    long calls;
} counting;

static void *c_alloc(void *ud, size_t n)
{
    counting *c = ud;
    void *p = malloc(n ? n : 1);
    c->calls++;
    if (p)
        c->live++;
    return p;
}

static void c_free(void *ud, void *p)
{
    counting *c = ud;
    if (p)
        c->live--;
    free(p);
}

static int roster_rc(const leadroute_rep *reps, size_t nreps, const leadroute_pool *pools, size_t npools)
{
    counting c = { 0, 0 };
    leadroute_allocator a = { LEADROUTE_ALLOCATOR_VERSION, c_alloc, c_free, &c };
    leadroute_roster *ro = (leadroute_roster *)&c;
    leadroute_error_clear();
    int rc = leadroute_roster_new(&ro, reps, nreps, pools, npools, &a);
    if (rc == LEADROUTE_OK) {
        leadroute_roster_unref(ro);
        fail_msg("roster accepted");
    }
    assert_null(ro);
    assert_int_equal(c.live, 0);                     /* nothing left allocated */
    assert_int_equal(leadroute_error_last()->code, rc);
    return rc;
}

static void test_bad_roster(void **state)
{
    (void)state;
    const char *const pa[] = { "a" };
    const char *const px[] = { "x" };
    leadroute_rep reps[] = { mkrep("r1", pa, 1), mkrep("r2", pa, 1) };
    leadroute_pool pools[] = { mkpool("a", LEADROUTE_STRATEGY_ROUND_ROBIN), mkpool("b", LEADROUTE_STRATEGY_ROUND_ROBIN) };

    reps[1].version = 0;
    assert_int_equal(roster_rc(reps, 2, pools, 2), LEADROUTE_EVERSION);
    reps[1].version = LEADROUTE_REP_VERSION + 1;
    assert_int_equal(roster_rc(reps, 2, pools, 2), LEADROUTE_EVERSION);
    reps[1].version = LEADROUTE_REP_VERSION;
    pools[1].version = 0;
    assert_int_equal(roster_rc(reps, 2, pools, 2), LEADROUTE_EVERSION);
    pools[1].version = LEADROUTE_POOL_VERSION + 1;
    assert_int_equal(roster_rc(reps, 2, pools, 2), LEADROUTE_EVERSION);
    pools[1].version = LEADROUTE_POOL_VERSION;

    reps[1].id = "r1";
    roster_rc(reps, 2, pools, 2);
    expect_message_has("r1");
    reps[1].id = NULL;
    roster_rc(reps, 2, pools, 2);
    reps[1].id = "r2";
    reps[1].pools = px;
    roster_rc(reps, 2, pools, 2);
    expect_message_has("'x'");
    reps[1].pools = pa;
    const double bad_w[] = { 0, -1, NAN, INFINITY };
    for (int i = 0; i < 4; i++) {
        reps[1].weight = bad_w[i];
        roster_rc(reps, 2, pools, 2);
        expect_message_has("weight");
    }
    reps[1].weight = 1;
    pools[0].fallback = "b";
    pools[1].fallback = "a";
    roster_rc(reps, 2, pools, 2);
    expect_message_has("fallback");
    pools[1].fallback = "b";
    roster_rc(reps, 2, pools, 2);
    pools[1].fallback = "zz";
    roster_rc(reps, 2, pools, 2);
    pools[1].fallback = NULL;
    pools[0].fallback = NULL;
    pools[1].id = "a";
    roster_rc(reps, 2, pools, 2);
    pools[1].id = "b";
    pools[1].strategy = 9;
    roster_rc(reps, 2, pools, 2);
    pools[1].strategy = LEADROUTE_STRATEGY_ROUND_ROBIN;
    pools[1].on_empty = LEADROUTE_EMPTY_DEFAULT_OWNER;
    pools[1].default_owner = "nobody";
    roster_rc(reps, 2, pools, 2);
    pools[1].on_empty = LEADROUTE_EMPTY_QUEUE;
    pools[1].default_owner = NULL;
    roster_rc(reps, 2, pools, 2);   /* no queue name */
    pools[1].on_empty = LEADROUTE_EMPTY_UNASSIGNED;
    reps[1].id = "r\xff";
    roster_rc(reps, 2, pools, 2);
    reps[1].id = "r2";
    /* and the good one */
    leadroute_roster *ro = roster_ok(reps, 2, pools, 2);
    assert_int_equal(leadroute_roster_rep_count(ro), 2);
    leadroute_roster_unref(ro);
}

static void test_bad_args(void **state)
{
    (void)state;
    const char *const ids[] = { "a", "b" };
    leadroute_table *t = parse_ok(HDR "r,r,,rr,,,,\n");
    leadroute_roster *ro = rr_roster(ids, 2);
    leadroute_router *r = (leadroute_router *)t, *f = (leadroute_router *)t;
    leadroute_decision *d = NULL;
    tlead l;
    lead_of(&l, "L1", "r");

    expect_rc(leadroute_router_new(NULL, t, ro, NULL), LEADROUTE_EINVAL);
    expect_message_has("out, table and roster must not be NULL");
    expect_rc(leadroute_router_new(&r, NULL, ro, NULL), LEADROUTE_EINVAL);
    expect_message_has("out, table and roster must not be NULL");
    assert_null(r);
    expect_rc(leadroute_router_new(&r, t, NULL, NULL), LEADROUTE_EINVAL);
    leadroute_router_options o = LEADROUTE_ROUTER_OPTIONS_INIT;
    o.version = 0;
    expect_rc(leadroute_router_new(&r, t, ro, &o), LEADROUTE_EVERSION);
    o.version = LEADROUTE_ROUTER_OPTIONS_VERSION + 1;
    expect_rc(leadroute_router_new(&r, t, ro, &o), LEADROUTE_EVERSION);
    assert_null(r);
    o.version = LEADROUTE_ROUTER_OPTIONS_VERSION;
    o.dedupe_field = "";
    expect_rc(leadroute_router_new(&r, t, ro, &o), LEADROUTE_EINVAL);
    o.dedupe_field = NULL;
    o.pool_output = "\xc3";
    expect_rc(leadroute_router_new(&r, t, ro, &o), LEADROUTE_EINVAL);
    expect_rc(leadroute_router_options_init(NULL, LEADROUTE_ROUTER_OPTIONS_VERSION), LEADROUTE_EINVAL);
    expect_rc(leadroute_router_options_init(&o, 0), LEADROUTE_EVERSION);
    expect_rc(leadroute_router_options_init(&o, LEADROUTE_ROUTER_OPTIONS_VERSION + 1), LEADROUTE_EVERSION);
    ok(leadroute_router_options_init(&o, LEADROUTE_ROUTER_OPTIONS_VERSION));
    assert_null(o.dedupe_field);
    leadroute_rep rep;
    leadroute_pool pool;
    expect_rc(leadroute_rep_init(NULL, 1), LEADROUTE_EINVAL);
    expect_rc(leadroute_rep_init(&rep, 0), LEADROUTE_EVERSION);
    expect_rc(leadroute_pool_init(NULL, 1), LEADROUTE_EINVAL);
    expect_rc(leadroute_pool_init(&pool, 2), LEADROUTE_EVERSION);
    ok(leadroute_rep_init(&rep, LEADROUTE_REP_VERSION));
    assert_true(rep.weight == 1.0 && rep.active == 1);
    ok(leadroute_pool_init(&pool, LEADROUTE_POOL_VERSION));
    assert_int_equal(pool.strategy, LEADROUTE_STRATEGY_ROUND_ROBIN);
    assert_int_equal(pool.on_empty, LEADROUTE_EMPTY_UNASSIGNED);
    expect_rc(leadroute_decision_new(NULL, NULL), LEADROUTE_EINVAL);
    expect_rc(leadroute_roster_new(NULL, NULL, 0, NULL, 0, NULL), LEADROUTE_EINVAL);

    ok(leadroute_router_new(&r, t, ro, NULL));
    leadroute_table_unref(t);
    leadroute_roster_unref(ro);
    d = decision();
    expect_rc(leadroute_route(NULL, &l.lead, 0, d), LEADROUTE_EINVAL);
    expect_message_has("router and lead must not be NULL");
    expect_rc(leadroute_route(r, NULL, 0, d), LEADROUTE_EINVAL);
    expect_message_has("router and lead must not be NULL");
    expect_rc(leadroute_route(r, &l.lead, 0, NULL), LEADROUTE_EINVAL);
    expect_message_has("decision must not be NULL");
    uint64_t errors = leadroute_router_unrouted(r, LEADROUTE_UNROUTED_ERROR);
    l.lead.version = 0;
    expect_rc(leadroute_route(r, &l.lead, 0, d), LEADROUTE_EVERSION);
    expect_status(d, LEADROUTE_ROUTE_UNROUTED);
    l.lead.version = LEADROUTE_LEAD_VERSION + 1;
    expect_rc(leadroute_route(r, &l.lead, 0, d), LEADROUTE_EVERSION);
    l.lead.version = LEADROUTE_LEAD_VERSION;
    l.f[0].value.version = 0;
    expect_rc(leadroute_route(r, &l.lead, 0, d), LEADROUTE_EVERSION);
    l.f[0].value.version = LEADROUTE_VALUE_VERSION;
    assert_int_equal(leadroute_router_unrouted(r, LEADROUTE_UNROUTED_ERROR), errors + 3);
    expect_rc(leadroute_router_set_table(NULL, NULL), LEADROUTE_EINVAL);
    expect_rc(leadroute_router_set_table(r, NULL), LEADROUTE_EINVAL);
    expect_rc(leadroute_router_set_roster(r, NULL), LEADROUTE_EINVAL);
    expect_rc(leadroute_router_set_store(NULL, NULL, NULL), LEADROUTE_EINVAL);
    expect_rc(leadroute_router_set_availability(NULL, NULL, NULL), LEADROUTE_EINVAL);
    expect_rc(leadroute_router_set_notify(NULL, NULL, NULL), LEADROUTE_EINVAL);
    expect_rc(leadroute_router_set_clock(NULL, NULL, NULL), LEADROUTE_EINVAL);
    expect_rc(leadroute_router_close(NULL, "L1"), LEADROUTE_EINVAL);
    expect_rc(leadroute_router_close(r, NULL), LEADROUTE_EINVAL);
    expect_rc(leadroute_router_close(r, ""), LEADROUTE_EINVAL);
    expect_rc(leadroute_router_close(r, " \t "), LEADROUTE_EINVAL);  /* blank once trimmed */
    expect_rc(leadroute_router_pending(NULL, 0, NULL, 0, NULL, 0), LEADROUTE_EINVAL);
    expect_rc(leadroute_router_retry_notifications(NULL, NULL), LEADROUTE_EINVAL);
    expect_rc(leadroute_router_fork(NULL, r), LEADROUTE_EINVAL);
    expect_rc(leadroute_router_fork(&f, NULL), LEADROUTE_EINVAL);
    assert_null(f);
    expect_rc(leadroute_router_metrics_json(NULL, NULL, 0, NULL), LEADROUTE_EINVAL);
    expect_rc(leadroute_router_metrics_json(r, NULL, 4, NULL), LEADROUTE_EINVAL);
    {
        /* as explain does: `needed` is 0 after an error, never the caller's stale value */
        size_t needed = 7;
        expect_rc(leadroute_router_metrics_json(NULL, NULL, 0, &needed), LEADROUTE_EINVAL);
        assert_int_equal(needed, 0);
        needed = 7;
        expect_rc(leadroute_router_metrics_json(r, NULL, 4, &needed), LEADROUTE_EINVAL);
        assert_int_equal(needed, 0);
    }
    expect_rc(leadroute_router_pool_fairness(NULL, "rr", NULL, NULL), LEADROUTE_EINVAL);
    expect_rc(leadroute_decision_candidate(NULL, 0, NULL, NULL, NULL, NULL), LEADROUTE_EINVAL);
    expect_rc(leadroute_decision_candidate(d, 0, NULL, NULL, NULL, NULL), LEADROUTE_ERANGE);
    assert_int_equal(leadroute_router_pending_count(NULL), 0);
    assert_int_equal(leadroute_router_rep_assigned(NULL, "a"), 0);
    assert_int_equal(leadroute_router_rule_hits(NULL, 0), 0);
    assert_int_equal(leadroute_router_unrouted(NULL, 0), 0);
    assert_int_equal(leadroute_decision_status(NULL), 0);
    assert_null(leadroute_decision_rep(NULL));
    assert_null(leadroute_decision_pool(NULL));
    assert_null(leadroute_decision_rule(NULL));
    assert_non_null(leadroute_decision_reason(NULL));
    assert_int_equal(leadroute_decision_candidate_count(NULL), 0);
    expect_str(leadroute_route_status_name(LEADROUTE_ROUTE_QUEUED), "queued");
    expect_str(leadroute_route_status_name(LEADROUTE_ROUTE_UNROUTED), "unrouted");
    leadroute_router_free(NULL);
    leadroute_decision_free(NULL);
    leadroute_roster_unref(NULL);
    assert_null(leadroute_roster_ref(NULL));

    /* callback vtables: versions and missing methods; nothing is changed */
    leadroute_store st = ts_methods;
    st.version = 0;
    expect_rc(leadroute_router_set_store(r, &st, NULL), LEADROUTE_EVERSION);
    st.version = LEADROUTE_STORE_VERSION + 1;
    expect_rc(leadroute_router_set_store(r, &st, NULL), LEADROUTE_EVERSION);
    st = ts_methods;
    st.commit = NULL;
    expect_rc(leadroute_router_set_store(r, &st, NULL), LEADROUTE_EINVAL);
    expect_message_has("a version 1 store needs every method");
    leadroute_availability av = { 0, avail_check };
    expect_rc(leadroute_router_set_availability(r, &av, NULL), LEADROUTE_EVERSION);
    av.version = LEADROUTE_AVAILABILITY_VERSION + 1;
    expect_rc(leadroute_router_set_availability(r, &av, NULL), LEADROUTE_EVERSION);
    leadroute_notify nv = { 0, notify_cb };
    expect_rc(leadroute_router_set_notify(r, &nv, NULL), LEADROUTE_EVERSION);
    nv.version = LEADROUTE_NOTIFY_VERSION + 1;
    expect_rc(leadroute_router_set_notify(r, &nv, NULL), LEADROUTE_EVERSION);
    leadroute_clock cv = { 0, fixed_now };
    expect_rc(leadroute_router_set_clock(r, &cv, NULL), LEADROUTE_EVERSION);
    cv.version = LEADROUTE_CLOCK_VERSION + 1;
    expect_rc(leadroute_router_set_clock(r, &cv, NULL), LEADROUTE_EVERSION);
    /* the rejected vtables were not installed: the built-in store, no callbacks */
    expect_str(assign(r, d, "L1", "r"), "a");
    assert_int_equal(leadroute_decision_notified(d), 0);
    expect_str(assign(r, d, "L2", "r"), "b");
    assert_int_equal(leadroute_router_unrouted(r, LEADROUTE_UNROUTED_ERROR), errors + 3);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* "On error the status is UNROUTED, the reason says why": also when the
 * call is refused before routing starts (bad flags, NULL lead), so a host
 * reading a reused decision never sees the previous lead's outcome. */
static void test_route_einval_sets_unrouted(void **state)
{
    (void)state;
    const char *const ids[] = { "a", "b" };
    leadroute_router *r = router_of(HDR "r,r,,rr,,,,\n", rr_roster(ids, 2));
    leadroute_decision *d = decision();
    tlead l;
    lead_of(&l, "L2", "r");
    expect_str(assign(r, d, "L1", "r"), "a");
    expect_rc(leadroute_route(r, &l.lead, 0x80, d), LEADROUTE_EINVAL);
    expect_status(d, LEADROUTE_ROUTE_UNROUTED);
    expect_str(leadroute_decision_rep(d), NULL);
    /* a lead left unrouted by an error: counted, but not in a dry run */
    assert_int_equal(leadroute_router_unrouted(r, LEADROUTE_UNROUTED_ERROR), 1);
    expect_rc(leadroute_route(r, &l.lead, 0x80 | LEADROUTE_ROUTE_DRY_RUN, d), LEADROUTE_EINVAL);
    assert_int_equal(leadroute_router_unrouted(r, LEADROUTE_UNROUTED_ERROR), 1);
    expect_str(assign(r, d, "L1b", "r"), "b");
    expect_rc(leadroute_route(r, NULL, 0, d), LEADROUTE_EINVAL);
    expect_message_has("router and lead must not be NULL");
    expect_status(d, LEADROUTE_ROUTE_UNROUTED);
    expect_str(leadroute_decision_rep(d), NULL);
    assert_true(leadroute_decision_reason(d)[0] != 0);
    /* a NULL router too: the decision is UNROUTED */
    expect_str(assign(r, d, "L1c", "r"), "a");
    expect_rc(leadroute_route(NULL, &l.lead, 0, d), LEADROUTE_EINVAL);
    expect_message_has("router and lead must not be NULL");
    expect_status(d, LEADROUTE_ROUTE_UNROUTED);
    expect_str(leadroute_decision_rep(d), NULL);
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* A decision that cannot grow for a bigger roster: the lead is unrouted
 * like any error, with a reason and counted under ERROR. */
typedef struct gate {
    int closed;
} gate;

static void *gate_alloc(void *ud, size_t n)
{
    return ((gate *)ud)->closed ? NULL : malloc(n ? n : 1);
}

static void gate_free(void *ud, void *p)
{
    (void)ud;
    free(p);
}

static void test_decision_out_of_memory(void **state)
{
    (void)state;
    const char *const one[] = { "a" }, *const three[] = { "a", "b", "c" };
    gate g = { 0 };
    leadroute_allocator a = { LEADROUTE_ALLOCATOR_VERSION, gate_alloc, gate_free, &g };
    leadroute_router *r = router_of(HDR "r,r,,rr,,,,\n", rr_roster(one, 1));
    leadroute_decision *d = NULL;
    tlead l;
    ok(leadroute_decision_new(&d, &a));
    expect_str(assign(r, d, "L1", "r"), "a");
    leadroute_roster *ro = rr_roster(three, 3);
    ok(leadroute_router_set_roster(r, ro));
    leadroute_roster_unref(ro);
    lead_of(&l, "L2", "r");
    g.closed = 1;
    expect_rc(leadroute_route(r, &l.lead, 0, d), LEADROUTE_ENOMEM);
    g.closed = 0;
    expect_status(d, LEADROUTE_ROUTE_UNROUTED);
    expect_str(leadroute_decision_rep(d), NULL);
    expect_has(leadroute_decision_reason(d), "out of memory");
    assert_int_equal(leadroute_router_unrouted(r, LEADROUTE_UNROUTED_ERROR), 1);
    expect_str(assign(r, d, "L2", "r"), "b");
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* A tick that runs out of memory while it copies the store's listing
 * keeps each lead's whole history or fails: here nobody may take the
 * leads (b holds them, a held them before), so at every failing allocation
 * the tick moves none of them. */
typedef struct countdown {
    long calls, fail_at;
} countdown;

static void *countdown_alloc(void *ud, size_t n)
{
    countdown *c = ud;
    if (++c->calls == c->fail_at)
        return NULL;
    return malloc(n ? n : 1);
}

static void countdown_free(void *ud, void *p)
{
    (void)ud;
    free(p);
}

static void test_tick_history_out_of_memory(void **state)
{
    (void)state;
    char a[201], b[201], roster[1024];
    int moved_ever = 0;
    long k;
    memset(a, 'a', 200);
    memset(b, 'b', 200);
    a[200] = b[200] = 0;
    snprintf(roster, sizeof roster, "#! pools\nid,sla_minutes,max_hops\np,10,50\n#! reps\nid,pools\n%s,p\n%s,p\n", a,
             b);
    for (k = 1;; k++) {
        countdown cd = { 0, 0 };
        leadroute_allocator al = { LEADROUTE_ALLOCATOR_VERSION, countdown_alloc, countdown_free, &cd };
        leadroute_router_options o = LEADROUTE_ROUTER_OPTIONS_INIT;
        leadroute_roster *ro = NULL;
        leadroute_tick_stats st = LEADROUTE_TICK_STATS_INIT;
        leadroute_decision *d = decision();
        int64_t now = NOW_MS;
        leadroute_clock clk = { LEADROUTE_CLOCK_VERSION, fixed_now };
        o.allocator = &al;
        ok(leadroute_roster_parse(&ro, roster, strlen(roster), "r.csv", NULL));
        leadroute_router *r = router_opts(HDR "w,w,,p,,,,\n", ro, &o);
        ok(leadroute_router_set_clock(r, &clk, &now));
        for (int i = 0; i < 19; i++) {
            tlead l;
            char id[8];
            snprintf(id, sizeof id, "L%d", i);
            lead_of(&l, id, "w");
            ok(leadroute_route(r, &l.lead, 0, d));
            ok(leadroute_route(r, &l.lead, LEADROUTE_ROUTE_REASSIGN, d));
            expect_str(leadroute_decision_rep(d), b);
        }
        now += 11 * 60 * 1000;
        cd.calls = 0;
        cd.fail_at = k;
        int rc = leadroute_router_tick(r, now, NULL, NULL, &st);
        int done = cd.calls < k; /* no allocation failed: the sweep is over */
        cd.fail_at = 0;
        if (rc != LEADROUTE_OK && rc != LEADROUTE_ENOMEM)
            fail_msg("failing allocation %ld: tick gave %d", k, rc);
        if (rc == LEADROUTE_OK && st.reassigned + st.escalated != 0)
            fail_msg("failing allocation %ld: %llu leads moved back to their earlier holder", k,
                     (unsigned long long)(st.reassigned + st.escalated));
        moved_ever |= rc == LEADROUTE_OK && st.due == 19;
        leadroute_decision_free(d);
        leadroute_router_free(r);
        if (done)
            break;
    }
    assert_true(moved_ever); /* the tick did run to its end */
    assert_true(k > 10);
}

/* A clock at or before the epoch: routing works, and so does an
 * acknowledgement (0 means "not yet" in the store's records). */
static void test_acknowledge_clock_at_epoch(void **state)
{
    (void)state;
    const char *const ids[] = { "a" };
    const int64_t clocks[] = { 0, -5000, INT64_MIN };
    for (size_t i = 0; i < sizeof clocks / sizeof *clocks; i++) {
        leadroute_router *r = router_of(HDR "r,r,,rr,,,,\n", rr_roster(ids, 1));
        leadroute_clock clk = { LEADROUTE_CLOCK_VERSION, fixed_now };
        leadroute_decision *d = decision();
        int64_t now = clocks[i];
        ok(leadroute_router_set_clock(r, &clk, &now));
        expect_str(assign(r, d, "L1", "r"), "a");
        ok(leadroute_router_acknowledge(r, "L1"));
        ok(leadroute_router_acknowledge(r, "L1")); /* the first one counts */
        leadroute_decision_free(d);
        leadroute_router_free(r);
    }
}

static void test_bad_lead_and_unknown_pool(void **state)
{
    (void)state;
    const char *const ids[] = { "a", "b" };
    leadroute_router *r = router_of(HDR "r,r,,rr,,,,\n"
                                        "u,u,,nowhere,,,,\n"
                                        "uo,uo,a,nowhere,,,,\n",
                                    rr_roster(ids, 2));
    leadroute_decision *d = decision();
    nlog log;
    memset(&log, 0, sizeof log);
    set_notify(r, &log);
    expect_str(assign(r, d, "L1", "r"), "a");
    /* the table names a pool the roster lacks */
    expect_rc(route_flags(r, d, "U1", "u", LEADROUTE_ROUTE_TRACE), LEADROUTE_ENOTFOUND);
    expect_status(d, LEADROUTE_ROUTE_UNROUTED);
    expect_has(leadroute_decision_reason(d), "nowhere");
    expect_message_has("nowhere");
    /* an owner who can take it never looks at the pool */
    expect_str(assign(r, d, "U2", "uo"), "a");
    /* invalid UTF-8 in the id */
    expect_rc(route_flags(r, d, "L\xc3(", "r", 0), LEADROUTE_ELEAD);
    expect_status(d, LEADROUTE_ROUTE_UNROUTED);
    expect_rc(route_flags(r, d, "L\xed\xa0\x80", "r", 0), LEADROUTE_ELEAD);
    /* invalid UTF-8 in a field the table reads */
    expect_rc(route_flags(r, d, "L2", "r\xff", 0), LEADROUTE_ELEAD);
    /* no state change: the rotation, counts and the unrouted key */
    assert_int_equal(log.n, 2);
    assert_int_equal(leadroute_router_rep_assigned(r, "a"), 2);
    assert_int_equal(leadroute_router_rep_assigned(r, "b"), 0);
    assert_int_equal(leadroute_router_rule_hits(r, 1), 0);
    assert_int_equal(leadroute_router_unrouted(r, LEADROUTE_UNROUTED_ERROR), 4);
    expect_rc(leadroute_router_close(r, "U1"), LEADROUTE_ENOTFOUND);
    expect_str(assign(r, d, "L2", "r"), "b");
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* ================================================================================ */
/* table swap                                                                        */

static void test_set_table(void **state)
{
    (void)state;
    const char *const p1[] = { "one" };
    const char *const p2[] = { "two" };
    leadroute_rep reps[] = { mkrep("a", p1, 1), mkrep("b", p2, 1) };
    leadroute_pool pools[] = { mkpool("one", LEADROUTE_STRATEGY_ROUND_ROBIN), mkpool("two", LEADROUTE_STRATEGY_ROUND_ROBIN) };
    leadroute_router *r = router_of(HDR "r,r,,one,,,,\n", roster_ok(reps, 2, pools, 2));
    leadroute_decision *d = decision();
    const char *t2text = HDR "x,x,,one,,,,\n"
                             "r2,r,,two,,,30,\n";
    leadroute_table *t2 = parse_ok(t2text);
    expect_str(assign(r, d, "L1", "r"), "a");
    uint64_t h1 = leadroute_decision_table_hash(d);
    assert_int_equal(leadroute_router_rule_hits(r, 0), 1);
    ok(leadroute_router_set_table(r, t2));
    expect_str(assign(r, d, "L2", "r"), "b");
    expect_str(leadroute_decision_rule(d), "r2");
    assert_true(leadroute_decision_sla_minutes(d) == 30);
    assert_true(leadroute_decision_table_hash(d) == leadroute_table_hash(t2));
    assert_true(leadroute_decision_table_hash(d) != h1);
    /* hits count for the current table */
    assert_int_equal(leadroute_router_rule_hits(r, 0), 0);
    assert_int_equal(leadroute_router_rule_hits(r, 1), 1);
    /* set again, the same table object keeps them; another parsed from the same text does not */
    ok(leadroute_router_set_table(r, t2));
    assert_int_equal(leadroute_router_rule_hits(r, 1), 1);
    {
        leadroute_table *twin = parse_ok(t2text);
        ok(leadroute_router_set_table(r, twin));
        leadroute_table_unref(twin);
        assert_int_equal(leadroute_router_rule_hits(r, 1), 0);
        ok(leadroute_router_set_table(r, t2));
        assert_int_equal(leadroute_router_rule_hits(r, 1), 0);
    }
    /* claims survive: L1 is still a's */
    ok(route_flags(r, d, "L1", "r", 0));
    expect_status(d, LEADROUTE_ROUTE_EXISTING);
    expect_str(leadroute_decision_rep(d), "a");
    /* a decision keeps its table alive after the router let go of it */
    leadroute_table_unref(t2);
    leadroute_table *t3 = parse_ok(HDR "r3,r,,one,,,,\n");
    ok(leadroute_router_set_table(r, t3));
    leadroute_table_unref(t3);
    expect_str(leadroute_decision_rule(d), "r2");
    char *j = explain(d, LEADROUTE_EXPLAIN_JSON);
    expect_json(j);
    free(j);
    expect_str(assign(r, d, "L3", "r"), "a");
    expect_str(leadroute_decision_rule(d), "r3");
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* ---- roster structs at their edges --------------------------------------- */

/* a rep's display name and a pool's queue may be up to
 * LEADROUTE_MAX_STRING bytes, not only LEADROUTE_MAX_NAME. */
static void test_long_name_and_queue(void **state)
{
    (void)state;
    static char name[1001], queue[1001];
    memset(name, 'n', 1000);
    memset(queue, 'q', 1000);
    const char *pools[] = { "p" };
    leadroute_rep rep = mkrep("alice", pools, 1);
    rep.name = name;
    leadroute_pool pool = mkpool("p", LEADROUTE_STRATEGY_ROUND_ROBIN);
    pool.on_empty = LEADROUTE_EMPTY_QUEUE;
    pool.queue = queue;
    leadroute_roster *ro = NULL;
    ok(leadroute_roster_new(&ro, &rep, 1, &pool, 1, NULL));
    leadroute_rep back = LEADROUTE_REP_INIT;
    ok(leadroute_roster_rep(ro, 0, &back));
    assert_string_equal(back.name, name);
    leadroute_roster_unref(ro);
}

/* ids are ordered bytewise as unsigned char (as strcmp does): a pool
 * whose id starts with a byte >= 0x80 is still found. */
static void test_non_ascii_ids_found(void **state)
{
    (void)state;
    const char *pools_of_rep[] = { "\xc3\xa9quipe" };
    leadroute_rep rep = mkrep("alice", pools_of_rep, 1);
    leadroute_pool pools[3] = { mkpool("a", 1), mkpool("b", 1), mkpool("\xc3\xa9quipe", 1) };
    leadroute_roster *ro = NULL;
    ok(leadroute_roster_new(&ro, &rep, 1, pools, 3, NULL));
    leadroute_rep back = LEADROUTE_REP_INIT;
    ok(leadroute_roster_rep(ro, 0, &back));
    assert_int_equal(back.pool_count, 1);
    assert_string_equal(back.pools[0], "\xc3\xa9quipe");
    leadroute_roster_unref(ro);
}

/* a pool with filters NULL but a count is refused, with or without tiers. */
static void test_null_filters_with_count(void **state)
{
    (void)state;
    leadroute_pool pool = mkpool("p", LEADROUTE_STRATEGY_ROUND_ROBIN);
    pool.filter_count = 1;          /* filters stay NULL, no tiers */
    leadroute_roster *ro = (leadroute_roster *)1;
    expect_rc(leadroute_roster_new(&ro, NULL, 0, &pool, 1, NULL), LEADROUTE_EINVAL);
    assert_null(ro);
}

/* a filter needs a skill name: "" is refused as NULL is. */
static void test_filter_empty_skill(void **state)
{
    (void)state;
    leadroute_skill_filter f = { "language", "" };
    leadroute_pool pool = mkpool("p", LEADROUTE_STRATEGY_ROUND_ROBIN);
    pool.filters = &f;
    pool.filter_count = 1;
    leadroute_roster *ro = (leadroute_roster *)1;
    expect_rc(leadroute_roster_new(&ro, NULL, 0, &pool, 1, NULL), LEADROUTE_EINVAL);
    assert_null(ro);
    assert_non_null(strstr(leadroute_error_last()->message, "needs a field and a skill name"));
}

/* a skill name over 256 bytes is "longer than 256 bytes", not "invalid UTF-8". */
static void test_filter_long_skill_message(void **state)
{
    (void)state;
    static char skill[300];
    memset(skill, 's', 299);
    leadroute_skill_filter f = { "language", skill };
    leadroute_pool pool = mkpool("p", LEADROUTE_STRATEGY_ROUND_ROBIN);
    pool.filters = &f;
    pool.filter_count = 1;
    leadroute_roster *ro = NULL;
    expect_rc(leadroute_roster_new(&ro, NULL, 0, &pool, 1, NULL), LEADROUTE_EINVAL);
    const char *m = leadroute_error_last()->message;
    if (!strstr(m, "its skill name is longer than 256 bytes"))
        fail_msg("message: %s", m);
}

/* an empty display name means the id, as NULL does. */
static void test_empty_name_is_id(void **state)
{
    (void)state;
    leadroute_rep rep = mkrep("alice", NULL, 0);
    rep.name = "";
    leadroute_roster *ro = NULL;
    ok(leadroute_roster_new(&ro, &rep, 1, NULL, 0, NULL));
    leadroute_rep back = LEADROUTE_REP_INIT;
    ok(leadroute_roster_rep(ro, 0, &back));
    assert_string_equal(back.name, "alice");
    leadroute_roster_unref(ro);
}

/* an empty escalation owner means none, as for the escalation pool. */
static void test_empty_escalation_owner(void **state)
{
    (void)state;
    leadroute_pool pool = mkpool("p", LEADROUTE_STRATEGY_ROUND_ROBIN);
    pool.escalation_owner = "";
    pool.escalation_pool = "";
    leadroute_roster *ro = NULL;
    ok(leadroute_roster_new(&ro, NULL, 0, &pool, 1, NULL));
    leadroute_pool back = LEADROUTE_POOL_INIT;
    ok(leadroute_roster_pool(ro, 0, &back));
    assert_null(back.escalation_owner);
    assert_null(back.escalation_pool);
    leadroute_roster_unref(ro);
}

/* a filter item of exactly 2048 bytes (the pool view's buffer) must
 * take the slow path, not run past the buffer; the items still match. */
static void test_filter_item_filling_buffer(void **state)
{
    (void)state;
    static char big[2049];
    memset(big, 'a', 2048);
    const char *items[] = { big, "bbbbbbbbbbbbbbbbbbbbbbbb" };
    leadroute_field skill = { "languages", { LEADROUTE_VALUE_VERSION, LEADROUTE_VALUE_SET, NULL, 0, 0, items, 2 } };
    const char *pools[] = { "p" };
    leadroute_rep rep = mkrep("alice", pools, 1);
    rep.skills = &skill;
    rep.skill_count = 1;
    leadroute_skill_filter f = { "language", "languages" };
    leadroute_pool pool = mkpool("p", LEADROUTE_STRATEGY_ROUND_ROBIN);
    pool.filters = &f;
    pool.filter_count = 1;
    leadroute_roster *ro = NULL;
    ok(leadroute_roster_new(&ro, &rep, 1, &pool, 1, NULL));
    leadroute_router *r = router_of(HDR "w,w,,p,,,,\n", ro);
    leadroute_decision *d = NULL;
    ok(leadroute_decision_new(&d, NULL));
    tlead l;
    tl_init(&l);
    tl_str(&l, "kind", "w");
    tl_set(&l, "language", items, 2);
    ok(leadroute_route(r, &l.lead, LEADROUTE_ROUTE_TRACE, d));
    if (leadroute_decision_status(d) != LEADROUTE_ROUTE_ASSIGNED)
        fail_msg("status %s: %s", leadroute_route_status_name(leadroute_decision_status(d)),
                 leadroute_decision_reason(d));
    assert_string_equal(leadroute_decision_rep(d), "alice");
    leadroute_decision_free(d);
    leadroute_router_free(r);
}

/* case folding of skill items, read back from the roster:
 * U+03A2 (unassigned) stays, U+052E folds to U+052F. */
static void test_fold_edges_read_back(void **state)
{
    (void)state;
    const char *items[] = { "\xce\xa2", "\xd4\xae" };
    leadroute_field skill = { "s", { LEADROUTE_VALUE_VERSION, LEADROUTE_VALUE_SET, NULL, 0, 0, items, 2 } };
    leadroute_rep rep = mkrep("alice", NULL, 0);
    rep.skills = &skill;
    rep.skill_count = 1;
    leadroute_roster *ro = NULL;
    ok(leadroute_roster_new(&ro, &rep, 1, NULL, 0, NULL));
    leadroute_rep back = LEADROUTE_REP_INIT;
    ok(leadroute_roster_rep(ro, 0, &back));
    assert_int_equal(back.skill_count, 1);
    assert_int_equal(back.skills[0].value.item_count, 2);
    assert_string_equal(back.skills[0].value.items[0], "\xce\xa2");
    assert_string_equal(back.skills[0].value.items[1], "\xd4\xaf");
    leadroute_roster_unref(ro);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_direct_owner),
        cmocka_unit_test(test_direct_owner_cannot_take),
        cmocka_unit_test(test_untraced_owner_passed_over),
        cmocka_unit_test(test_account_owner_first),
        cmocka_unit_test(test_account_forms),
        cmocka_unit_test(test_round_robin_rotation),
        cmocka_unit_test(test_round_robin_join_leave),
        cmocka_unit_test(test_round_robin_prefix_ids),
        cmocka_unit_test(test_counters_kept_by_id_across_swaps),
        cmocka_unit_test(test_weighted_exact_shares),
        cmocka_unit_test(test_weighted_large_and_small_weights),
        cmocka_unit_test(test_weighted_extreme_ratio),
        cmocka_unit_test(test_weighted_join_not_flooded),
        cmocka_unit_test(test_weighted_state_read_back),
        cmocka_unit_test(test_weighted_member_leaves),
        cmocka_unit_test(test_weighted_long_state_read_back),
        cmocka_unit_test(test_weighted_two_decisions),
        cmocka_unit_test(test_weighted_catch_up_read_back),
        cmocka_unit_test(test_weighted_back_from_away),
        cmocka_unit_test(test_weighted_strides_change),
        cmocka_unit_test(test_weighted_state_strides),
        cmocka_unit_test(test_round_robin_line_state),
        cmocka_unit_test(test_weighted_state_as_documented),
        cmocka_unit_test(test_least_loaded),
        cmocka_unit_test(test_capacity),
        cmocka_unit_test(test_skill_filters),
        cmocka_unit_test(test_skill_filter_number_or_bool),
        cmocka_unit_test(test_skill_filter_blank_items),
        cmocka_unit_test(test_score_tiers),
        cmocka_unit_test(test_router_fields_checked),
        cmocka_unit_test(test_availability_asked_once),
        cmocka_unit_test(test_availability_error),
        cmocka_unit_test(test_empty_default_owner),
        cmocka_unit_test(test_empty_queue_and_unassigned),
        cmocka_unit_test(test_pool_without_members),
        cmocka_unit_test(test_dedupe_existing),
        cmocka_unit_test(test_reassign),
        cmocka_unit_test(test_reassign_no_one_else),
        cmocka_unit_test(test_dedupe_field),
        cmocka_unit_test(test_dedupe_fold),
        cmocka_unit_test(test_router_options_v1),
        cmocka_unit_test(test_no_dedupe_key),
        cmocka_unit_test(test_store_basics),
        cmocka_unit_test(test_no_account_claims_without_owner_first),
        cmocka_unit_test(test_store_failures),
        cmocka_unit_test(test_longest_lead_id),
        cmocka_unit_test(test_pending_reassign_long_ids),
        cmocka_unit_test(test_pending_many),
        cmocka_unit_test(test_pending_discard),
        cmocka_unit_test(test_store_least_loaded_reads_no_state),
        cmocka_unit_test(test_store_least_loaded_holds_pick),
        cmocka_unit_test(test_store_conflicts),
        cmocka_unit_test(test_conflict_decides_afresh),
        cmocka_unit_test(test_store_exists),
        cmocka_unit_test(test_retry_reason_is_its_own),
        cmocka_unit_test(test_notify_pending),
        cmocka_unit_test(test_dry_run),
        cmocka_unit_test(test_fork),
        cmocka_unit_test(test_fork_host_store),
        cmocka_unit_test(test_explain_text),
        cmocka_unit_test(test_explain_json),
        cmocka_unit_test(test_explain_truncation),
        cmocka_unit_test(test_metrics_counters),
        cmocka_unit_test(test_metrics_before_routing),
        cmocka_unit_test(test_latency_small_values),
        cmocka_unit_test(test_metrics_latency_json),
        cmocka_unit_test(test_latency_mean_far_back),
        cmocka_unit_test(test_fairness_weighted),
        cmocka_unit_test(test_fairness_weight_scale),
        cmocka_unit_test(test_reason_long_ids),
        cmocka_unit_test(test_fairness_rep_in_two_pools),
        cmocka_unit_test(test_bad_roster),
        cmocka_unit_test(test_bad_args),
        cmocka_unit_test(test_route_einval_sets_unrouted),
        cmocka_unit_test(test_decision_out_of_memory),
        cmocka_unit_test(test_tick_history_out_of_memory),
        cmocka_unit_test(test_acknowledge_clock_at_epoch),
        cmocka_unit_test(test_bad_lead_and_unknown_pool),
        cmocka_unit_test(test_set_table),
        cmocka_unit_test(test_long_name_and_queue),
        cmocka_unit_test(test_non_ascii_ids_found),
        cmocka_unit_test(test_null_filters_with_count),
        cmocka_unit_test(test_filter_empty_skill),
        cmocka_unit_test(test_filter_long_skill_message),
        cmocka_unit_test(test_empty_name_is_id),
        cmocka_unit_test(test_empty_escalation_owner),
        cmocka_unit_test(test_filter_item_filling_buffer),
        cmocka_unit_test(test_fold_edges_read_back),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);   /* run one test by name (or pattern) */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
