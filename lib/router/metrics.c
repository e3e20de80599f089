/* Metrics: counters read while routing goes on, and fairness per pool. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "base/sink.h"
#include "base/value.h"
#include "router/internal.h"

/* ---- latency histograms -------------------------------------------------- */

static uint32_t lr__hist_bucket(uint64_t ms)
{
    uint32_t e;
    if (ms < 4)
        return (uint32_t)ms;
    e = 63u - (uint32_t)__builtin_clzll(ms); /* ms >= 4: e >= 2 */
    return 4u + (e - 2u) * 4u + (uint32_t)((ms >> (e - 2u)) & 3u);
}

/* The middle of bucket b, in ms. */
static double lr__hist_mid(uint32_t b)
{
    uint32_t e;
    double lo, width;
    if (b < 4)
        return b;
    e = (b - 4u) / 4u + 2u;
    lo = (double)((uint64_t)(4u + (b - 4u) % 4u) << (e - 2u));
    width = (double)((uint64_t)1 << (e - 2u));
    return lo + (width - 1) / 2;
}

/* The count goes up before the sum (release): a reader that sees a sum
 * (acquire) sees the count of every sample in it, and so never takes a
 * mean over fewer samples than it summed (lr__hist_stats). */
void lr__hist_add(lr__hist *h, uint64_t ms)
{
    atomic_fetch_add_explicit(&h->b[lr__hist_bucket(ms)], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->n, 1, memory_order_relaxed);
    if (atomic_fetch_add_explicit(&h->sum, ms, memory_order_release) + ms < ms)
        atomic_fetch_add_explicit(&h->sum_hi, 1, memory_order_release);
}

void lr__hist_stats(lr__hist *h, leadroute_latency_stats *out)
{
    uint64_t counts[LR_HIST_BUCKETS], n = 0, seen = 0;
    double q[3] = { 0.50, 0.90, 0.99 }, *dst[3];
    uint32_t b, k = 0;
    dst[0] = &out->p50_ms, dst[1] = &out->p90_ms, dst[2] = &out->p99_ms;
    out->count = 0;
    out->mean_ms = out->p50_ms = out->p90_ms = out->p99_ms = 0;
    if (!h)
        return;
    /* one pass over a copy, so the figures agree with each other */
    for (b = 0; b < LR_HIST_BUCKETS; b++)
        n += counts[b] = atomic_load_explicit(&h->b[b], memory_order_relaxed);
    if (n == 0)
        return;
    out->count = n;
    {
        /* the mean from a sum and the count of its samples, read in this
         * order (see lr__hist_add): samples added meanwhile count in
         * `count` and the percentiles, or in neither figure of the mean */
        uint64_t hi, lo, cnt, hi2;
        int tries = 0;
        do {
            hi = atomic_load_explicit(&h->sum_hi, memory_order_acquire);
            lo = atomic_load_explicit(&h->sum, memory_order_acquire);
            cnt = atomic_load_explicit(&h->n, memory_order_relaxed);
            hi2 = atomic_load_explicit(&h->sum_hi, memory_order_acquire);
        } while (hi != hi2 && ++tries < 16);
        out->mean_ms = cnt ? ((double)hi * 18446744073709551616.0 + (double)lo) / (double)cnt : 0;
    }
    for (b = 0; b < LR_HIST_BUCKETS && k < 3; b++) {
        seen += counts[b];
        while (k < 3 && (double)seen >= q[k] * (double)n) {
            *dst[k] = lr__hist_mid(b);
            k++;
        }
    }
}

/* The counter of `id` in one of the router's lists, or NULL. The head is
 * read under the lock too: a failed swap may free the first counter. */
static lr__counter *lr__counter_find(leadroute_router *r, lr__counter *const *list, const char *id)
{
    lr__counter *c;
    int cmp = 1;
    pthread_mutex_lock(&r->counter_lock);
    /* sorted by id: stop at the first one not before it */
    for (c = *list; c && (cmp = strcmp(c->id, id)) < 0; c = c->next)
        ;
    pthread_mutex_unlock(&r->counter_lock);
    return cmp == 0 ? c : NULL;
}

int leadroute_router_latency(leadroute_router *r, const char *rep_id, const char *pool_id, uint32_t which,
                             leadroute_latency_stats *stats)
{
    lr__hist *h;
    uint32_t v;
    if (!r || !stats || which > LEADROUTE_LATENCY_ASSIGN_TO_ACK || (rep_id && pool_id))
        return lr__error_set(LEADROUTE_EINVAL, "router and stats must not be NULL, which must be a "
                                               "leadroute_latency, and at most one of rep and pool given");
    if (stats->version == 0 || stats->version > LEADROUTE_LATENCY_STATS_VERSION)
        return lr__error_set(LEADROUTE_EVERSION, "latency stats version %u is not supported (1..%u)",
                             stats->version, LEADROUTE_LATENCY_STATS_VERSION);
    if (rep_id || pool_id) {
        lr__counter *c = lr__counter_find(r, rep_id ? &r->rep_counters : &r->pool_counters, rep_id ? rep_id : pool_id);
        if (!c)
            return lr__error_set(LEADROUTE_ENOTFOUND, "no %s '%s' has been seen by this router", rep_id ? "rep" : "pool",
                                 rep_id ? rep_id : pool_id);
        h = atomic_load_explicit(&c->lat[which], memory_order_acquire);
    } else {
        h = &r->lat[which];
    }
    v = stats->version;
    lr__hist_stats(h, stats);
    stats->version = v;
    return LEADROUTE_OK;
}

uint64_t leadroute_router_rep_assigned(leadroute_router *r, const char *rep_id)
{
    lr__counter *c;
    if (!r || !rep_id)
        return 0;
    /* a counter, once found, stays for the router's life */
    c = lr__counter_find(r, &r->rep_counters, rep_id);
    return c ? lr__striped_sum(&c->assigned) : 0;
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

/* Spread and Jain's index of what a pool's members got from it (per unit
 * of weight for weighted pools): a rep in several pools counts in each for
 * that pool's leads only. The index does not depend on the scale of the
 * shares, so it is taken on shares relative to the largest, in logarithms:
 * weights anywhere in (0, DBL_MAX] neither underflow the squares to 0 (an
 * index of 1 for the least fair split) nor overflow them (NaN). */
/* log of a member's share: of its assignments `a` > 0, per unit of weight
 * in weighted pools */
static double lr__share_log(double a, const lr__rep *rep, int weighted)
{
    return log(a) - (weighted ? log(rep->weight) : 0);
}

static void lr__fairness(const lr__gen *g, const lr__pool *p, double *spread, double *jain)
{
    lr__counter *const *member = &g->member_counters[g->member_base[p - g->roster->pools]];
    int weighted = p->strategy == LEADROUTE_STRATEGY_WEIGHTED;
    double sum = 0, sq = 0, lo = 0, hi = 0, top = -HUGE_VAL;
    uint32_t i;
    /* shares past the largest double (weights near 0): taken 2^128 times
     * smaller, which is exact, and the difference as many times larger:
     * infinite only when it is past the largest double. A weighted pool's
     * weights span at most 10^10, so none is then large enough for the
     * smaller shares to lose bits. */
    for (int scale = 0; scale <= 128; scale += 128) {
        for (i = 0; i < p->nmembers; i++) {
            const lr__rep *rep = &g->roster->reps[p->members[i]];
            double a = ldexp((double)lr__striped_sum(&member[i]->assigned), -scale);
            double x = weighted ? a / rep->weight : a;
            if (i == 0 || x < lo)
                lo = x;
            if (i == 0 || x > hi)
                hi = x;
        }
        *spread = ldexp(hi - lo, scale);
        if (!isinf(hi))
            break;
    }
    for (i = 0; i < p->nmembers; i++) {
        const lr__rep *rep = &g->roster->reps[p->members[i]];
        double a = (double)lr__striped_sum(&member[i]->assigned);
        if (a > 0 && lr__share_log(a, rep, weighted) > top)
            top = lr__share_log(a, rep, weighted);
    }
    for (i = 0; i < p->nmembers && top > -HUGE_VAL; i++) {
        const lr__rep *rep = &g->roster->reps[p->members[i]];
        double a = (double)lr__striped_sum(&member[i]->assigned), r;
        if (a <= 0)
            continue;
        r = exp(lr__share_log(a, rep, weighted) - top);
        sum += r;
        sq += r * r;
    }
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

/* A JSON string: quotes, backslashes and control characters escaped. */
static void lr__out_str(lr__sink *o, const char *s)
{
    LR_SINK_LIT(o, "\"");
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            char e[2] = { '\\', (char)ch };
            lr__sink_put(o, e, 2);
        } else if (ch < 0x20) {
            lr__sink_fmt(o, "\\u%04x", ch);
        } else {
            lr__sink_put(o, s, 1);
        }
    }
    LR_SINK_LIT(o, "\"");
}

static void lr__out_num(lr__sink *o, double x)
{
    char tmp[40];
    size_t n;
    if (!isfinite(x)) {
        LR_SINK_LIT(o, "null");
        return;
    }
    n = lr__format_double(tmp, sizeof tmp, x);
    lr__sink_put(o, tmp, n < sizeof tmp ? n : sizeof tmp - 1);
}

int leadroute_router_metrics_json(leadroute_router *r, char *buf, size_t cap, size_t *needed)
{
    static const char *const reasons[LEADROUTE_UNROUTED_REASONS] = { "no_rule", "no_target", "empty", "error" };
    lr__sink o;
    lr__gen *g;
    uint32_t i;
    size_t nrules;

    if (needed)
        *needed = 0;
    if (!r || (!buf && cap))
        return lr__error_set(LEADROUTE_EINVAL, "router must not be NULL, nor buf with a capacity");
    lr__sink_init(&o, buf, cap);
    g = lr__gen_acquire(r);
    lr__sink_fmt(&o, "{\"table_version\":\"%016" PRIx64 "\",\"routed\":%" PRIu64 ",\"unrouted\":{",
                leadroute_table_hash(g->table), lr__striped_sum(&r->routed));
    for (i = 0; i < LEADROUTE_UNROUTED_REASONS; i++)
        lr__sink_fmt(&o, "%s\"%s\":%" PRIu64, i ? "," : "", reasons[i],
                    lr__striped_sum(&r->unrouted[i]));
    LR_SINK_LIT(&o, "},\"rules\":{");
    nrules = leadroute_table_rule_count(g->table);
    for (i = 0; i < nrules; i++) {
        if (i)
            LR_SINK_LIT(&o, ",");
        lr__out_str(&o, leadroute_table_rule_id(g->table, i));
        lr__sink_fmt(&o, ":%" PRIu64, lr__gen_rule_hits(g, i));
    }
    LR_SINK_LIT(&o, "},\"reps\":{");
    for (i = 0; i < g->roster->nreps; i++) {
        if (i)
            LR_SINK_LIT(&o, ",");
        lr__out_str(&o, g->roster->reps[i].id);
        lr__sink_fmt(&o, ":%" PRIu64, lr__striped_sum(&g->rep_counters[i]->assigned));
    }
    LR_SINK_LIT(&o, "},\"pools\":{");
    for (i = 0; i < g->roster->npools; i++) {
        const lr__pool *p = &g->roster->pools[i];
        double spread, jain;
        lr__fairness(g, p, &spread, &jain);
        if (i)
            LR_SINK_LIT(&o, ",");
        lr__out_str(&o, p->id);
        lr__sink_fmt(&o, ":{\"assigned\":%" PRIu64 ",\"members\":%u,\"spread\":",
                    lr__striped_sum(&g->pool_counters[i]->assigned), p->nmembers);
        lr__out_num(&o, spread);
        LR_SINK_LIT(&o, ",\"jain\":");
        lr__out_num(&o, jain);
        LR_SINK_LIT(&o, "}");
    }
    LR_SINK_LIT(&o, "}");
    /* follow-up: deadlines missed, leads moved, acknowledgements, moves that failed (a tick
     * still returns OK for those); speed to lead */
    lr__sink_fmt(&o,
                ",\"sla\":{\"breaches\":%" PRIu64 ",\"reassignments\":%" PRIu64 ",\"acknowledged\":%" PRIu64
                ",\"failed_moves\":%" PRIu64 "}",
                lr__striped_sum(&r->sla_breaches), lr__striped_sum(&r->reassignments),
                lr__striped_sum(&r->acknowledged), lr__striped_sum(&r->failed_moves));
    LR_SINK_LIT(&o, ",\"latency_ms\":{");
    for (i = 0; i < 2; i++) {
        static const char *const names[2] = { "capture_to_assign", "assign_to_ack" };
        leadroute_latency_stats st = LEADROUTE_LATENCY_STATS_INIT;
        lr__hist_stats(&r->lat[i], &st);
        lr__sink_fmt(&o, "%s\"%s\":{\"count\":%" PRIu64 ",\"mean\":", i ? "," : "", names[i], st.count);
        lr__out_num(&o, st.mean_ms);
        LR_SINK_LIT(&o, ",\"p50\":");
        lr__out_num(&o, st.p50_ms);
        LR_SINK_LIT(&o, ",\"p90\":");
        lr__out_num(&o, st.p90_ms);
        LR_SINK_LIT(&o, ",\"p99\":");
        lr__out_num(&o, st.p99_ms);
        LR_SINK_LIT(&o, "}");
    }
    LR_SINK_LIT(&o, "}");
    /* each rep's load over the cap windows, when the store can tell */
    if (r->store.window) {
        LR_SINK_LIT(&o, ",\"load\":{");
        for (i = 0; i < g->roster->nreps; i++) {
            int64_t now = r->clock.now_ms(r->clock_user);
            uint32_t w;
            if (i)
                LR_SINK_LIT(&o, ",");
            lr__out_str(&o, g->roster->reps[i].id);
            LR_SINK_LIT(&o, ":{");
            for (w = 0; w < LR_WINDOWS; w++) {
                uint64_t n = 0;
                double v = 0;
                /* a window the store failed to count is unknown (null), not 0 */
                if (r->store.window(r->store_user, g->roster->reps[i].id, NULL, lr__time_sub(now, lr__window_ms[w]),
                                    &n, &v) != 0)
                    lr__sink_fmt(&o, "%s\"%s\":null", w ? "," : "", lr__window_name[w]);
                else
                    lr__sink_fmt(&o, "%s\"%s\":%" PRIu64, w ? "," : "", lr__window_name[w], n);
            }
            LR_SINK_LIT(&o, "}");
        }
        LR_SINK_LIT(&o, "}");
    }
    LR_SINK_LIT(&o, "}");
    lr__gen_release(g);
    return lr__sink_finish(&o, needed);
}
