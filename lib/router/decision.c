/* Decisions: the outcome of one routing call, its trace, and their getters. */
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "base/value.h"
#include "router/internal.h"

/* Decisions take turns over the counter stripes. */
static _Atomic uint32_t lr__next_stripe;

int leadroute_decision_new(leadroute_decision **out, const leadroute_allocator *allocator)
{
    leadroute_decision *d;
    lr__alloc a;
    int rc;
    if (out)
        *out = NULL;
    if (!out)
        return lr__error_set(LEADROUTE_EINVAL, "out must not be NULL");
    if ((rc = lr__alloc_init(&a, allocator)) != 0)
        return rc;
    if (!(d = lr__calloc(&a, 1, sizeof *d)))
        return lr__error_nomem();
    d->alloc = a;
    d->rep = d->pool = d->queue = d->rule = d->label = d->tags = d->reason = LR_NONE;
    d->lead_id = d->key = d->previous = d->state_before = d->state_after = LR_NONE;
    d->rule_index = LR_NONE;
    d->stripe = atomic_fetch_add_explicit(&lr__next_stripe, 1u, memory_order_relaxed) % LR_STRIPES;
    *out = d;
    return LEADROUTE_OK;
}

void leadroute_decision_free(leadroute_decision *d)
{
    lr__alloc a;
    if (!d)
        return;
    a = d->alloc;
    if (d->gen)
        lr__gen_release(d->gen);
    leadroute_result_free(d->result);
    lr__free(&a, d->cands);
    lr__free(&a, d->chain);
    lr__free(&a, d->text);
    lr__free(&a, d->ext);
    lr__free(&a, d->avail);
    lr__free(&a, d->excl);
    lr__free(&a, d->avail_reason);
    lr__free(&a, d->scratch);
    lr__free(&a, d->state_buf);
    lr__free(&a, d->wcache.text);
    lr__free(&a, d->vbuf);
    lr__free(&a, d->wcache.pass);
    for (uint32_t i = 0; i < d->cap_rcaches; i++) {
        lr__free(&a, d->rcaches[i].text);
        lr__free(&a, d->rcaches[i].order);
        lr__free(&a, d->rcaches[i].work);
    }
    lr__free(&a, d->rcaches);
    lr__free(&a, d->next_buf);
    if (d->spare)
        lr__free(&d->spare_alloc, d->spare);
    lr__free(&a, d);
}

/* Text capacity for `need` bytes in all. */
static int lr__decision_grow(leadroute_decision *d, size_t need)
{
    size_t cap = d->text_cap ? d->text_cap : 256;
    char *p;
    if (need <= d->text_cap)
        return LEADROUTE_OK;
    while (cap < need)
        cap *= 2;
    if (cap > UINT32_MAX / 2 || !(p = lr__realloc(&d->alloc, d->text, d->text_cap, cap)))
        return LEADROUTE_ENOMEM;
    d->text = p;
    d->text_cap = (uint32_t)cap;
    return LEADROUTE_OK;
}

int lr__decision_reserve(leadroute_decision *d, size_t n)
{
    if (lr__decision_grow(d, (size_t)d->text_len + n) != 0) {
        d->nomem = 1;
        return LEADROUTE_ENOMEM;
    }
    return LEADROUTE_OK;
}

uint32_t lr__decision_strn(leadroute_decision *d, const char *s, size_t n)
{
    uint32_t off;
    if (!s)
        return LR_NONE;
    /* a long pool state is cut, on a character boundary */
    n = lr__utf8_cut(s, n, LEADROUTE_MAX_STRING * 4u);
    if (lr__decision_grow(d, (size_t)d->text_len + n + 1) != 0) {
        /* the string is lost: the call that wanted it must not report success */
        d->nomem = 1;
        return LR_NONE;
    }
    off = d->text_len;
    memcpy(d->text + off, s, n);
    d->text[off + n] = 0;
    d->text_len += (uint32_t)n + 1;
    return off;
}

uint32_t lr__decision_ref(leadroute_decision *d, const char *s)
{
    if (!s)
        return LR_NONE;
    if (d->next == d->cap_ext &&
        (d->next >= LR_EXT / 2 ||
         lr__vec_reserve(&d->alloc, (void **)&d->ext, &d->cap_ext, (size_t)d->next + 1, sizeof *d->ext)))
        return lr__decision_str(d, s); /* no room to point: copy */
    d->ext[d->next] = s;
    return LR_EXT | d->next++;
}

uint32_t lr__decision_str(leadroute_decision *d, const char *s)
{
    return s ? lr__decision_strn(d, s, strlen(s)) : LR_NONE;
}

const char *leadroute_route_status_name(uint32_t status)
{
    switch (status) {
    case LEADROUTE_ROUTE_ASSIGNED: return "assigned";
    case LEADROUTE_ROUTE_EXISTING: return "existing";
    case LEADROUTE_ROUTE_QUEUED: return "queued";
    case LEADROUTE_ROUTE_UNASSIGNED: return "unassigned";
    case LEADROUTE_ROUTE_UNROUTED: return "unrouted";
    default: return "none";
    }
}

uint32_t leadroute_decision_status(const leadroute_decision *d)
{
    return d ? d->status : 0;
}

const char *leadroute_decision_rep(const leadroute_decision *d)
{
    return d ? lr__decision_at(d, d->rep) : NULL;
}

const char *leadroute_decision_pool(const leadroute_decision *d)
{
    return d ? lr__decision_at(d, d->pool) : NULL;
}

const char *leadroute_decision_queue(const leadroute_decision *d)
{
    return d ? lr__decision_at(d, d->queue) : NULL;
}

const char *leadroute_decision_rule(const leadroute_decision *d)
{
    return d ? lr__decision_at(d, d->rule) : NULL;
}

void lr__decision_finish(const leadroute_decision *cd)
{
    leadroute_decision *d = (leadroute_decision *)cd;
    char buf[LEADROUTE_MAX_NAME + 128];
    const char *pool;
    if (!d || d->reason != LR_LAZY)
        return;
    pool = lr__decision_at(d, d->pool);
    snprintf(buf, sizeof buf, "pool %s, %s among %u eligible of %u members", pool ? pool : "?",
             lr__strategy_name(d->strategy) ? lr__strategy_name(d->strategy) : "strategy", d->lazy_eligible,
             d->lazy_members);
    d->reason = lr__decision_str(d, buf);
}

const char *leadroute_decision_reason(const leadroute_decision *d)
{
    const char *s;
    lr__decision_finish(d);
    s = d ? lr__decision_at(d, d->reason) : NULL;
    return s ? s : "";
}

const char *leadroute_decision_label(const leadroute_decision *d)
{
    return d ? lr__decision_at(d, d->label) : NULL;
}

const char *leadroute_decision_tags(const leadroute_decision *d)
{
    return d ? lr__decision_at(d, d->tags) : NULL;
}

double leadroute_decision_sla_minutes(const leadroute_decision *d)
{
    return d ? d->sla_minutes : 0;
}

uint64_t leadroute_decision_table_hash(const leadroute_decision *d)
{
    return d ? d->table_hash : 0;
}

int leadroute_decision_notified(const leadroute_decision *d)
{
    return d ? d->notified : 0;
}

size_t leadroute_decision_candidate_count(const leadroute_decision *d)
{
    return d ? d->ncands : 0;
}

int leadroute_decision_candidate(const leadroute_decision *d, size_t index, const char **rep_id,
                                 const char **pool_id, uint32_t *verdict, const char **detail)
{
    const lr__candidate *c;
    if (!d)
        return lr__error_set(LEADROUTE_EINVAL, "decision must not be NULL");
    if (index >= d->ncands)
        return lr__error_set(LEADROUTE_ERANGE, "candidate %zu of %u", index, d->ncands);
    c = &d->cands[index];
    if (rep_id)
        *rep_id = lr__decision_at(d, c->rep_id);
    if (pool_id)
        *pool_id = lr__decision_at(d, c->pool_id);
    if (verdict)
        *verdict = c->verdict;
    if (detail)
        *detail = lr__decision_at(d, c->detail);
    return LEADROUTE_OK;
}

int leadroute_decision_explain(const leadroute_decision *d, int format, char *buf, size_t cap, size_t *needed)
{
    if (needed)
        *needed = 0;
    if (!d || (!buf && cap))
        return lr__error_set(LEADROUTE_EINVAL, "decision must not be NULL, nor buf with a capacity");
    lr__decision_finish(d);
    if (format == LEADROUTE_EXPLAIN_TEXT)
        return lr__explain_text(d, buf, cap, needed);
    if (format == LEADROUTE_EXPLAIN_JSON)
        return lr__explain_json(d, buf, cap, needed);
    return lr__error_set(LEADROUTE_EINVAL, "unknown explain format %d", format);
}
