/* Metrics: counters read while routing goes on, and fairness per pool. */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "base/value.h"
#include "router/internal.h"

uint64_t leadroute_router_rep_assigned(leadroute_router *r, const char *rep_id)
{
    lr__counter *c;
    uint64_t n = 0;
    if (!r || !rep_id)
        return 0;
    pthread_mutex_lock(&r->counter_lock);
    for (c = r->rep_counters; c; c = c->next)
        if (strcmp(c->id, rep_id) == 0) {
            n = lr__striped_sum(&c->assigned);
            break;
        }
    pthread_mutex_unlock(&r->counter_lock);
    return n;
}

uint64_t leadroute_router_rule_hits(leadroute_router *r, size_t index)
{
    lr__gen *g;
    uint64_t n = 0;
    if (!r)
        return 0;
    g = lr__gen_acquire(r);
    if (index < leadroute_table_rule_count(g->table))
        n = lr__gen_rule_hits(g, index);
    lr__gen_release(g);
    return n;
}

uint64_t leadroute_router_unrouted(leadroute_router *r, uint32_t reason)
{
    if (!r || reason >= LEADROUTE_UNROUTED_REASONS)
        return 0;
    return lr__striped_sum(&r->unrouted[reason]);
}

/* Spread and Jain's index of a pool's members' assignments (per unit of
 * weight for weighted pools). */
static void lr__fairness(const lr__gen *g, const lr__pool *p, double *spread, double *jain)
{
    double sum = 0, sq = 0, lo = 0, hi = 0;
    uint32_t i;
    for (i = 0; i < p->nmembers; i++) {
        uint32_t ri = p->members[i];
        double x = (double)lr__striped_sum(&g->rep_counters[ri]->assigned);
        if (p->strategy == LEADROUTE_STRATEGY_WEIGHTED)
            x /= g->roster->reps[ri].weight;
        if (i == 0 || x < lo)
            lo = x;
        if (i == 0 || x > hi)
            hi = x;
        sum += x;
        sq += x * x;
    }
    *spread = hi - lo;
    *jain = sq > 0 ? sum * sum / ((double)p->nmembers * sq) : 1.0;
}

int leadroute_router_pool_fairness(leadroute_router *r, const char *pool_id, double *spread, double *jain)
{
    lr__gen *g;
    uint32_t pi;
    double s, j;
    if (!r || !pool_id)
        return lr__error_set(LEADROUTE_EINVAL, "router and pool id must not be NULL");
    g = lr__gen_acquire(r);
    pi = lr__roster_pool(g->roster, pool_id);
    if (pi == LR_NONE) {
        lr__gen_release(g);
        return lr__error_set(LEADROUTE_ENOTFOUND, "no pool '%s' in the roster", pool_id);
    }
    lr__fairness(g, &g->roster->pools[pi], &s, &j);
    lr__gen_release(g);
    if (spread)
        *spread = s;
    if (jain)
        *jain = j;
    return LEADROUTE_OK;
}

/* A growing text buffer for the JSON. */
typedef struct lr__out {
    char *buf;
    size_t cap, len;
} lr__out;

static void lr__out_raw(lr__out *o, const char *s, size_t n)
{
    if (o->len < o->cap) {
        size_t room = o->cap - o->len;
        memcpy(o->buf + o->len, s, n < room ? n : room);
    }
    o->len += n;
}

static void lr__out_fmt(lr__out *o, const char *fmt, ...) LR__PRINTF(2, 3);
static void lr__out_fmt(lr__out *o, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        lr__out_raw(o, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void lr__out_str(lr__out *o, const char *s)
{
    lr__out_raw(o, "\"", 1);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            char e[2] = { '\\', (char)ch };
            lr__out_raw(o, e, 2);
        } else if (ch < 0x20) {
            lr__out_fmt(o, "\\u%04x", ch);
        } else {
            lr__out_raw(o, s, 1);
        }
    }
    lr__out_raw(o, "\"", 1);
}

static void lr__out_num(lr__out *o, double x)
{
    char tmp[40];
    size_t n;
    if (!isfinite(x)) {
        lr__out_raw(o, "null", 4);
        return;
    }
    n = lr__format_double(tmp, sizeof tmp, x);
    lr__out_raw(o, tmp, n < sizeof tmp ? n : sizeof tmp - 1);
}

int leadroute_router_metrics_json(leadroute_router *r, char *buf, size_t cap, size_t *needed)
{
    static const char *const reasons[LEADROUTE_UNROUTED_REASONS] = { "no_rule", "no_target", "empty", "error" };
    lr__out o;
    lr__gen *g;
    uint32_t i;
    size_t nrules;

    if (needed)
        *needed = 0;
    if (!r || (!buf && cap))
        return lr__error_set(LEADROUTE_EINVAL, "router must not be NULL, nor buf with a capacity");
    o.buf = buf;
    o.cap = cap ? cap - 1 : 0;
    o.len = 0;
    g = lr__gen_acquire(r);
    lr__out_fmt(&o, "{\"table_version\":\"%016" PRIx64 "\",\"routed\":%" PRIu64 ",\"unrouted\":{",
                leadroute_table_hash(g->table), lr__striped_sum(&r->routed));
    for (i = 0; i < LEADROUTE_UNROUTED_REASONS; i++)
        lr__out_fmt(&o, "%s\"%s\":%" PRIu64, i ? "," : "", reasons[i],
                    lr__striped_sum(&r->unrouted[i]));
    lr__out_raw(&o, "},\"rules\":{", 11);
    nrules = leadroute_table_rule_count(g->table);
    for (i = 0; i < nrules; i++) {
        if (i)
            lr__out_raw(&o, ",", 1);
        lr__out_str(&o, leadroute_table_rule_id(g->table, i));
        lr__out_fmt(&o, ":%" PRIu64, lr__gen_rule_hits(g, i));
    }
    lr__out_raw(&o, "},\"reps\":{", 10);
    for (i = 0; i < g->roster->nreps; i++) {
        if (i)
            lr__out_raw(&o, ",", 1);
        lr__out_str(&o, g->roster->reps[i].id);
        lr__out_fmt(&o, ":%" PRIu64, lr__striped_sum(&g->rep_counters[i]->assigned));
    }
    lr__out_raw(&o, "},\"pools\":{", 11);
    for (i = 0; i < g->roster->npools; i++) {
        const lr__pool *p = &g->roster->pools[i];
        double spread, jain;
        lr__fairness(g, p, &spread, &jain);
        if (i)
            lr__out_raw(&o, ",", 1);
        lr__out_str(&o, p->id);
        lr__out_fmt(&o, ":{\"assigned\":%" PRIu64 ",\"members\":%u,\"spread\":",
                    lr__striped_sum(&g->pool_counters[i]->assigned), p->nmembers);
        lr__out_num(&o, spread);
        lr__out_raw(&o, ",\"jain\":", 8);
        lr__out_num(&o, jain);
        lr__out_raw(&o, "}", 1);
    }
    lr__out_raw(&o, "}}", 2);
    lr__gen_release(g);
    if (cap)
        buf[o.len < o.cap ? o.len : o.cap] = 0;
    if (needed)
        *needed = o.len;
    return LEADROUTE_OK;
}
