/* The router: table outputs -> pool chain -> eligible reps -> strategy ->
 * one atomic commit -> notify. Every step leaves a line in the decision. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sched.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/error.h"
#include "base/hash.h"
#include "base/lead.h"
#include "base/value.h"
#include "router/account.h"
#include "router/internal.h"
#include "router/memstore.h"
#include "table/internal.h"

/* ---- generations: what one call sees ------------------------------------ */

/* Rule hits, shared by generations with the same table. Striped like the
 * other counters (a row of every rule per stripe) unless the table is huge. */
typedef struct lr__hits {
    atomic_uint refs;
    size_t n;
    uint32_t stripes;
    _Atomic uint64_t v[];
} lr__hits;

#define LR_STRIPED_RULES_MAX 1000000u

uint64_t lr__gen_rule_hits(const lr__gen *g, size_t i)
{
    uint64_t n = 0;
    uint32_t k;
    for (k = 0; k < g->hit_stripes; k++)
        n += atomic_load_explicit(&g->rule_hits[(size_t)k * g->hit_rules + i], memory_order_relaxed);
    return n;
}

static lr__hits *lr__hits_of(const lr__gen *g)
{
    return g->rule_hits ? (lr__hits *)((char *)g->rule_hits - offsetof(lr__hits, v)) : NULL;
}

static void lr__hits_release(const lr__alloc *a, lr__hits *h)
{
    if (h && atomic_fetch_sub_explicit(&h->refs, 1u, memory_order_acq_rel) == 1u)
        lr__free(a, h);
}

/* The router's allocator is reached through the gen's first counter list;
 * gens are freed by their last user, so they keep a copy. */
typedef struct lr__gen_full {
    lr__gen g;
    lr__alloc alloc;
} lr__gen_full;

void lr__gen_release(lr__gen *g)
{
    lr__gen_full *f = (lr__gen_full *)g;
    lr__alloc a;
    if (!g || atomic_fetch_sub_explicit(&g->refs, 1u, memory_order_acq_rel) != 1u)
        return;
    a = f->alloc;
    leadroute_table_unref(g->table);
    leadroute_roster_unref(g->roster);
    lr__hits_release(&a, lr__hits_of(g));
    lr__free(&a, g->rep_counters);
    lr__free(&a, g->pool_counters);
    lr__free(&a, g->member_counters);
    lr__free(&a, g->member_base);
    lr__free(&a, g->rule_owner);
    lr__free(&a, g->rule_pool);
    lr__free(&a, f);
}

lr__gen *lr__gen_acquire(leadroute_router *r)
{
    lr__gen *g;
    pthread_mutex_lock(&r->gen_lock);
    g = atomic_load_explicit(&r->gen, memory_order_relaxed);
    atomic_fetch_add_explicit(&g->refs, 1u, memory_order_relaxed);
    pthread_mutex_unlock(&r->gen_lock);
    return g;
}

lr__gen *lr__gen_refresh(leadroute_router *r, lr__gen *held)
{
    lr__gen *g;
    /* A held generation cannot be freed, so equal pointers mean the same
     * one: the common case costs one load and no shared write. */
    if (held && atomic_load_explicit(&r->gen, memory_order_acquire) == held)
        return held;
    g = lr__gen_acquire(r);
    if (held)
        lr__gen_release(held);
    return g;
}

static lr__counter *lr__counter_make(leadroute_router *r, const char *id)
{
    size_t n = strlen(id);
    lr__counter *c = lr__calloc(&r->alloc, 1, sizeof *c + n + 1);
    if (c) {
        memcpy((char *)(c + 1), id, n + 1);
        c->id = (const char *)(c + 1);
    }
    return c;
}

/* The counter of `id` in a list sorted by id, looked for from `*at` on and
 * made there if missing (`fresh` marks it as the swap's). `*at` ends past
 * it, so ids in increasing order cost one walk along the list (under
 * counter_lock). */
static lr__counter *lr__counter_seek(leadroute_router *r, lr__counter ***at, const char *id, int fresh)
{
    lr__counter *c;
    int cmp = 1;
    while (**at && (cmp = strcmp((**at)->id, id)) < 0)
        *at = &(**at)->next;
    if (!**at || cmp != 0) {
        if (!(c = lr__counter_make(r, id)))
            return NULL;
        c->fresh = fresh;
        c->next = **at;
        **at = c;
    }
    c = **at;
    *at = &c->next;
    return c;
}

/* Drop the counters of a list that a failed generation made. */
static void lr__counters_undo(leadroute_router *r, lr__counter **list)
{
    while (*list) {
        lr__counter *c = *list;
        if (!c->fresh) {
            list = &c->next;
            continue;
        }
        *list = c->next;
        lr__free(&r->alloc, c);
    }
}

/* Each rep's, pool's and pool member's counter for a new generation, made
 * if this router never saw the id. Reps, pools and members come in id order
 * (roster.c sorts them with strcmp) and the lists are kept sorted the same
 * way, so each list takes one walk, not one search per id: a swap of n reps
 * costs O(n + ids seen). All or nothing: on ENOMEM the counters it made are
 * gone again, so a failed swap leaves no trace in the getters. The lock is
 * held throughout, so no one else sees them before. */
static int lr__gen_counters(leadroute_router *r, lr__gen *g)
{
    const leadroute_roster *ro = g->roster;
    lr__counter *c, **at;
    uint32_t i, k;
    pthread_mutex_lock(&r->counter_lock);
    at = &r->rep_counters;
    for (i = 0; i < ro->nreps; i++)
        if (!(g->rep_counters[i] = lr__counter_seek(r, &at, ro->reps[i].id, 1)))
            goto nomem;
    at = &r->pool_counters;
    for (i = 0; i < ro->npools; i++)
        if (!(g->pool_counters[i] = lr__counter_seek(r, &at, ro->pools[i].id, 1)))
            goto nomem;
    for (i = 0; i < ro->npools; i++) {
        const lr__pool *p = &ro->pools[i];
        lr__counter **member = &g->member_counters[g->member_base[i]];
        at = &g->pool_counters[i]->members;
        for (k = 0; k < p->nmembers; k++)
            if (!(member[k] = lr__counter_seek(r, &at, ro->reps[p->members[k]].id, 1)))
                goto nomem;
    }
    for (i = 0; i < ro->nreps; i++)
        g->rep_counters[i]->fresh = 0;
    for (i = 0; i < ro->npools; i++)
        g->pool_counters[i]->fresh = 0;
    for (k = 0; k < g->member_base[ro->npools]; k++)
        g->member_counters[k]->fresh = 0;
    pthread_mutex_unlock(&r->counter_lock);
    return LEADROUTE_OK;
nomem:
    for (c = r->pool_counters; c; c = c->next)
        lr__counters_undo(r, &c->members);
    lr__counters_undo(r, &r->rep_counters);
    lr__counters_undo(r, &r->pool_counters);
    pthread_mutex_unlock(&r->counter_lock);
    return LEADROUTE_ENOMEM;
}

void lr__count_assigned(const lr__gen *g, const leadroute_decision *d)
{
    const lr__pool *p;
    uint32_t lo = 0, hi;
    if (d->rep_index != LR_NONE)
        lr__striped_add(&g->rep_counters[d->rep_index]->assigned, d->stripe);
    if (d->pool_index == LR_NONE)
        return;
    lr__striped_add(&g->pool_counters[d->pool_index]->assigned, d->stripe);
    if (d->rep_index == LR_NONE)
        return;
    /* members are rep indexes in increasing order; an account or default owner may be none */
    p = &g->roster->pools[d->pool_index];
    hi = p->nmembers;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (p->members[mid] < d->rep_index)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < p->nmembers && p->members[lo] == d->rep_index)
        lr__striped_add(&g->member_counters[g->member_base[d->pool_index] + lo]->assigned, d->stripe);
}

static uint32_t lr__output(const leadroute_table *t, const char *name)
{
    int i = leadroute_table_output_index(t, name);
    return i < 0 ? LR_NONE : (uint32_t)i;
}

/* Each rule's owner and pool resolved to roster indexes once per swap, so
 * a routing call does no id lookups. Only text outputs resolve; others (and
 * ids the roster lacks: LR_LAZY) take the slow path, which says why. */
static uint32_t lr__resolve_one(const leadroute_value *v, const leadroute_roster *ro, int pool)
{
    if (!v || v->type == LEADROUTE_VALUE_NULL || (v->type == LEADROUTE_VALUE_STRING && (!v->string || !v->string[0])))
        return LR_NONE;
    if (v->type != LEADROUTE_VALUE_STRING)
        return LR_LAZY;
    {
        uint32_t i = pool ? lr__roster_pool(ro, v->string) : lr__roster_rep(ro, v->string);
        return i == LR_NONE ? LR_LAZY : i;
    }
}

static int lr__resolve_targets(leadroute_router *r, lr__gen *g)
{
    const leadroute_table *t = g->table;
    uint32_t n = t->nrules, i;
    if (g->out_owner != LR_NONE && !(g->rule_owner = lr__malloc(&r->alloc, sizeof(uint32_t) * ((size_t)n + 1))))
        return LEADROUTE_ENOMEM;
    if (g->out_pool != LR_NONE && !(g->rule_pool = lr__malloc(&r->alloc, sizeof(uint32_t) * ((size_t)n + 1))))
        return LEADROUTE_ENOMEM;
    for (i = 0; i < n; i++) {
        if (g->rule_owner)
            g->rule_owner[i] = lr__resolve_one(lr__rule_output(t, i, g->out_owner), g->roster, 0);
        if (g->rule_pool)
            g->rule_pool[i] = lr__resolve_one(lr__rule_output(t, i, g->out_pool), g->roster, 1);
    }
    return LEADROUTE_OK;
}

/* A new generation from a table and a roster; `hits` reused when the table
 * is the same. */
static int lr__gen_make(leadroute_router *r, leadroute_table *t, leadroute_roster *ro, lr__hits *hits,
                        lr__gen **out)
{
    lr__gen_full *f;
    lr__gen *g;
    uint32_t i, sla = lr__output(t, r->out_names[4]);
    /* a text SLA column would read as no SLA at all, silently */
    if (sla != LR_NONE && leadroute_table_output_type(t, sla) != LEADROUTE_TYPE_NUMBER)
        return lr__error_set(LEADROUTE_EINVAL, "table output '%s' is a %s column: follow-up SLAs are minutes; "
                             "declare it 'out:%s:number'", r->out_names[4],
                             leadroute_table_output_type(t, sla) == LEADROUTE_TYPE_BOOL ? "bool" : "string",
                             r->out_names[4]);
    if (!(f = lr__calloc(&r->alloc, 1, sizeof *f)))
        return lr__error_nomem();
    g = &f->g;
    f->alloc = r->alloc;
    atomic_init(&g->refs, 1u);
    if (!hits) {
        size_t n = leadroute_table_rule_count(t);
        uint32_t stripes = n <= LR_STRIPED_RULES_MAX ? LR_STRIPES : 1;
        if (!(hits = lr__calloc(&r->alloc, 1, sizeof *hits + sizeof(uint64_t) * (n * stripes + 1))))
            goto nomem;
        atomic_init(&hits->refs, 1u);
        hits->n = n;
        hits->stripes = stripes;
    } else {
        atomic_fetch_add_explicit(&hits->refs, 1u, memory_order_relaxed);
    }
    g->rule_hits = hits->v;
    g->hit_stripes = hits->stripes;
    g->hit_rules = (uint32_t)hits->n;
    g->rep_counters = lr__calloc(&r->alloc, (size_t)ro->nreps + 1, sizeof *g->rep_counters);
    g->pool_counters = lr__calloc(&r->alloc, (size_t)ro->npools + 1, sizeof *g->pool_counters);
    g->member_base = lr__calloc(&r->alloc, (size_t)ro->npools + 1, sizeof *g->member_base);
    if (!g->rep_counters || !g->pool_counters || !g->member_base)
        goto nomem;
    for (i = 0; i < ro->npools; i++)
        g->member_base[i + 1] = g->member_base[i] + ro->pools[i].nmembers;
    if (!(g->member_counters = lr__calloc(&r->alloc, (size_t)g->member_base[ro->npools] + 1,
                                          sizeof *g->member_counters)))
        goto nomem;
    g->table = leadroute_table_ref(t);
    g->roster = leadroute_roster_ref(ro);
    g->out_owner = lr__output(t, r->out_names[0]);
    g->out_pool = lr__output(t, r->out_names[1]);
    if (lr__resolve_targets(r, g) != 0)
        goto nomem;
    g->out_queue = lr__output(t, r->out_names[2]);
    g->out_status = lr__output(t, r->out_names[3]);
    g->out_sla = lr__output(t, r->out_names[4]);
    g->out_tags = lr__output(t, r->out_names[5]);
    /* The counters come last: they are the router's, seen by its getters, so they are made
     * only when nothing else can fail, and undone if one of them cannot be made. */
    if (lr__gen_counters(r, g) != 0)
        goto nomem;
    *out = g;
    return LEADROUTE_OK;
nomem:
    lr__gen_release(g);
    return lr__error_nomem();
}

static void lr__gen_install(leadroute_router *r, lr__gen *g)
{
    lr__gen *old;
    pthread_mutex_lock(&r->gen_lock);
    old = atomic_load_explicit(&r->gen, memory_order_relaxed);
    atomic_store_explicit(&r->gen, g, memory_order_release);
    pthread_mutex_unlock(&r->gen_lock);
    lr__gen_release(old);
}

/* ---- the router object ---------------------------------------------------- */

static int64_t lr__system_now_ms(void *user_data)
{
    (void)user_data;
    return lr__wall_clock_ms();
}

/* The bytes of router options of `version`: what a caller built against
 * that version has. */
static size_t lr__router_options_size(uint32_t version)
{
    return version == 1 ? offsetof(leadroute_router_options, dedupe_fold) : sizeof(leadroute_router_options);
}

int leadroute_router_options_init(leadroute_router_options *o, uint32_t version)
{
    static const leadroute_router_options init = LEADROUTE_ROUTER_OPTIONS_INIT;
    if (!o)
        return lr__error_set(LEADROUTE_EINVAL, "options must not be NULL");
    if (version == 0 || version > LEADROUTE_ROUTER_OPTIONS_VERSION)
        return lr__error_set(LEADROUTE_EVERSION, "router options version %u is not supported (1..%u)", version,
                             LEADROUTE_ROUTER_OPTIONS_VERSION);
    memcpy(o, &init, lr__router_options_size(version));
    o->version = version;
    return LEADROUTE_OK;
}

static char *lr__strdup_a(const lr__alloc *a, const char *s)
{
    size_t n = strlen(s);
    char *p = lr__malloc(a, n + 1);
    if (p)
        memcpy(p, s, n + 1);
    return p;
}

static int lr__check_field_name(const char *s, const char *what)
{
    size_t n;
    if (s && (lr__text_measure(s, LEADROUTE_MAX_NAME, &n) != 0 || n == 0))
        return lr__error_set(LEADROUTE_EINVAL, "router option %s must be 1..%d bytes of UTF-8", what,
                             LEADROUTE_MAX_NAME);
    return LEADROUTE_OK;
}

void leadroute_router_free(leadroute_router *r)
{
    lr__alloc a;
    lr__counter *c, *n;
    uint32_t i;
    if (!r)
        return;
    a = r->alloc;
    lr__gen_release(atomic_load_explicit(&r->gen, memory_order_relaxed));
    for (c = r->rep_counters; c; c = n) {
        n = c->next;
        lr__free(&a, atomic_load_explicit(&c->lat[0], memory_order_relaxed));
        lr__free(&a, atomic_load_explicit(&c->lat[1], memory_order_relaxed));
        lr__free(&a, c);
    }
    for (c = r->pool_counters; c; c = n) {
        lr__counter *m, *mn;
        n = c->next;
        for (m = c->members; m; m = mn) {
            mn = m->next;
            lr__free(&a, m);
        }
        lr__free(&a, atomic_load_explicit(&c->lat[0], memory_order_relaxed));
        lr__free(&a, atomic_load_explicit(&c->lat[1], memory_order_relaxed));
        lr__free(&a, c);
    }
    lr__free(&a, r->captured_field);
    while (r->pending) {
        lr__pending *p = r->pending;
        r->pending = p->next;
        lr__free(&a, p);
    }
    if (r->pending_buckets != r->pending_own)
        lr__free(&a, r->pending_buckets);
    if (r->memstore)
        lr__memstore_free(r->memstore);
    lr__free(&a, r->dedupe_field);
    lr__free(&a, r->account_field);
    for (i = 0; i < 6; i++)
        lr__free(&a, r->out_names[i]);
    pthread_mutex_destroy(&r->gen_lock);
    pthread_mutex_destroy(&r->swap_lock);
    pthread_mutex_destroy(&r->counter_lock);
    pthread_mutex_destroy(&r->pending_lock);
    pthread_mutex_destroy(&r->caps_lock);
    lr__free(&a, r);
}

static const char *const lr__default_outputs[6] = { "owner", "pool", "queue", "status", "sla_minutes", "tags" };

int leadroute_router_new(leadroute_router **out, leadroute_table *table, leadroute_roster *roster,
                         const leadroute_router_options *options)
{
    leadroute_router_options o = LEADROUTE_ROUTER_OPTIONS_INIT;
    leadroute_router *r;
    const char *names[6];
    lr__alloc a;
    lr__gen *g;
    uint32_t i;
    int rc;

    if (out)
        *out = NULL;
    if (!out || !table || !roster)
        return lr__error_set(LEADROUTE_EINVAL, "out, table and roster must not be NULL");
    if (options) {
        if (options->version == 0 || options->version > LEADROUTE_ROUTER_OPTIONS_VERSION)
            return lr__error_set(LEADROUTE_EVERSION, "router options version %u is not supported (1..%u)",
                                 options->version, LEADROUTE_ROUTER_OPTIONS_VERSION);
        memcpy(&o, options, lr__router_options_size(options->version));
        if (o.dedupe_fold > 1)
            return lr__error_set(LEADROUTE_EINVAL, "router option dedupe_fold must be 0 or 1, not %u", o.dedupe_fold);
    }
    names[0] = o.owner_output, names[1] = o.pool_output, names[2] = o.queue_output;
    names[3] = o.status_output, names[4] = o.sla_output, names[5] = o.tags_output;
    for (i = 0; i < 6; i++)
        if ((rc = lr__check_field_name(names[i], lr__default_outputs[i])) != 0)
            return rc;
    if ((rc = lr__check_field_name(o.dedupe_field, "dedupe_field")) != 0 ||
        (rc = lr__check_field_name(o.account_field, "account_field")) != 0 ||
        (rc = lr__check_field_name(o.captured_field, "captured_field")) != 0)
        return rc;
    if ((rc = lr__alloc_init(&a, o.allocator)) != 0)
        return rc;
    if (!(r = lr__calloc(&a, 1, sizeof *r)))
        return lr__error_nomem();
    r->alloc = a;
    pthread_mutex_init(&r->gen_lock, NULL);
    pthread_mutex_init(&r->swap_lock, NULL);
    pthread_mutex_init(&r->counter_lock, NULL);
    pthread_mutex_init(&r->pending_lock, NULL);
    r->pending_buckets = r->pending_own;
    r->pending_mask = LR_PENDING_BUCKETS - 1;
    pthread_mutex_init(&r->caps_lock, NULL);
    r->pending_tail = &r->pending;
    r->max_retries = o.max_retries ? o.max_retries : 64;
    r->dedupe_fold = (int)o.dedupe_fold;
    r->dedupe_field = o.dedupe_field ? lr__strdup_a(&a, o.dedupe_field) : NULL;
    r->account_field = lr__strdup_a(&a, o.account_field ? o.account_field : "email");
    r->captured_field = lr__strdup_a(&a, o.captured_field ? o.captured_field : "captured_at");
    for (i = 0; i < 6; i++)
        r->out_names[i] = lr__strdup_a(&a, names[i] ? names[i] : lr__default_outputs[i]);
    for (i = 0; i < 6 && r->out_names[i]; i++)
        ;
    if (i < 6 || !r->account_field || !r->captured_field || (o.dedupe_field && !r->dedupe_field)) {
        rc = lr__error_nomem();
        goto fail;
    }
    if ((rc = lr__memstore_new(&r->memstore, &r->alloc, NULL, NULL)) != 0)
        goto fail;
    r->memstore_methods = r->store = lr__memstore_methods;
    r->store_user = r->memstore;
    r->clock.version = LEADROUTE_CLOCK_VERSION;
    r->clock.now_ms = lr__system_now_ms;
    if ((rc = lr__gen_make(r, table, roster, NULL, &g)) != 0)
        goto fail;
    atomic_store_explicit(&r->gen, g, memory_order_relaxed);
    *out = r;
    return LEADROUTE_OK;
fail:
    leadroute_router_free(r);
    return rc;
}

int leadroute_router_set_table(leadroute_router *r, leadroute_table *table)
{
    lr__gen *cur, *g;
    int rc;
    if (!r || !table)
        return lr__error_set(LEADROUTE_EINVAL, "router and table must not be NULL");
    /* one swap at a time, so a table swap and a roster swap cannot undo each other */
    pthread_mutex_lock(&r->swap_lock);
    cur = lr__gen_acquire(r);
    rc = lr__gen_make(r, table, cur->roster, cur->table == table ? lr__hits_of(cur) : NULL, &g);
    lr__gen_release(cur);
    if (rc == 0)
        lr__gen_install(r, g);
    pthread_mutex_unlock(&r->swap_lock);
    return rc;
}

int leadroute_router_set_roster(leadroute_router *r, leadroute_roster *roster)
{
    lr__gen *cur, *g;
    int rc;
    if (!r || !roster)
        return lr__error_set(LEADROUTE_EINVAL, "router and roster must not be NULL");
    pthread_mutex_lock(&r->swap_lock);
    cur = lr__gen_acquire(r);
    rc = lr__gen_make(r, cur->table, roster, lr__hits_of(cur), &g);
    lr__gen_release(cur);
    if (rc == 0)
        lr__gen_install(r, g);
    pthread_mutex_unlock(&r->swap_lock);
    return rc;
}

#define LR_CHECK_VTABLE(v, ver, what)                                                                      \
    do {                                                                                                   \
        if ((v) && ((v)->version == 0 || (v)->version > (ver)))                                           \
            return lr__error_set(LEADROUTE_EVERSION, what " version %u is not supported (1..%u)",          \
                                 (v)->version, (unsigned)(ver));                                           \
    } while (0)

int leadroute_router_set_store(leadroute_router *r, const leadroute_store *store, void *user_data)
{
    if (!r)
        return lr__error_set(LEADROUTE_EINVAL, "router must not be NULL");
    LR_CHECK_VTABLE(store, LEADROUTE_STORE_VERSION, "store");
    if (store && (!store->load_pool || !store->find_claim || !store->open_count || !store->commit ||
                  !store->close))
        return lr__error_set(LEADROUTE_EINVAL, "a version 1 store needs every method");
    if (store) {
        r->store = *store;
        r->store_user = user_data;
    } else {
        r->store = r->memstore_methods;
        r->store_user = r->memstore;
    }
    return LEADROUTE_OK;
}

int leadroute_router_set_availability(leadroute_router *r, const leadroute_availability *v, void *user_data)
{
    if (!r)
        return lr__error_set(LEADROUTE_EINVAL, "router must not be NULL");
    LR_CHECK_VTABLE(v, LEADROUTE_AVAILABILITY_VERSION, "availability");
    r->has_availability = v && v->check;
    if (v)
        r->availability = *v;
    r->availability_user = user_data;
    return LEADROUTE_OK;
}

int leadroute_router_set_notify(leadroute_router *r, const leadroute_notify *v, void *user_data)
{
    if (!r)
        return lr__error_set(LEADROUTE_EINVAL, "router must not be NULL");
    LR_CHECK_VTABLE(v, LEADROUTE_NOTIFY_VERSION, "notify");
    r->has_notify = v && v->assigned;
    if (v)
        r->notify = *v;
    r->notify_user = user_data;
    return LEADROUTE_OK;
}

int leadroute_router_set_clock(leadroute_router *r, const leadroute_clock *v, void *user_data)
{
    if (!r)
        return lr__error_set(LEADROUTE_EINVAL, "router must not be NULL");
    LR_CHECK_VTABLE(v, LEADROUTE_CLOCK_VERSION, "clock");
    if (v && v->now_ms) {
        r->clock = *v;
        r->clock_user = user_data;
    } else {
        r->clock.version = LEADROUTE_CLOCK_VERSION;
        r->clock.now_ms = lr__system_now_ms;
        r->clock_user = NULL;
    }
    return LEADROUTE_OK;
}

static const leadroute_field *lr__lead_find(const leadroute_lead *lead, const char *name)
{
    size_t i;
    for (i = 0; i < lead->field_count; i++) {
        const leadroute_field *f = lr__lead_field(lead, i);
        /* the first two bytes rule out most fields without a call (both
         * names have at least one byte and a NUL) */
        if (f->name && f->name[0] == name[0] && f->name[1] == name[1] && strcmp(f->name, name) == 0)
            return f;
    }
    return NULL;
}

/* A field the router reads itself (skill filters, score, deal value,
 * capture time, account): found by name and checked as the table checks
 * the values of its columns (struct version, NULL or invalid or too long
 * text, NaN or infinite numbers, set items), so that a bad value is an
 * error of the lead, never a crash nor a filter the lead slips through.
 * *out is NULL when the lead has no such field. */
static int lr__read_field(const leadroute_lead *lead, const char *name, const leadroute_value **out)
{
    const leadroute_field *f = lr__lead_find(lead, name);
    int rc;
    *out = NULL;
    if (!f)
        return LEADROUTE_OK;
    if ((rc = lr__value_check(&f->value, name)) != 0)
        return rc;
    *out = &f->value;
    return LEADROUTE_OK;
}

/* ---- speed to lead ---------------------------------------------------------- */

/* A counter's histogram, made on first use; losing the race frees ours. */
static void lr__counter_sample(leadroute_router *r, lr__counter *c, uint32_t which, uint64_t ms)
{
    lr__hist *h = atomic_load_explicit(&c->lat[which], memory_order_acquire), *expect = NULL;
    if (!h) {
        lr__hist *made = lr__calloc(&r->alloc, 1, sizeof *made);
        if (!made)
            return; /* a metric, not a decision: skip the sample */
        if (atomic_compare_exchange_strong_explicit(&c->lat[which], &expect, made, memory_order_acq_rel,
                                                    memory_order_acquire)) {
            h = made;
        } else {
            lr__free(&r->alloc, made);
            h = expect;
        }
    }
    lr__hist_add(h, ms);
}

static void lr__latency_sample(leadroute_router *r, lr__counter *rep, lr__counter *pool, uint32_t which,
                               int64_t ms)
{
    if (ms < 0)
        return; /* clocks disagree: no honest figure */
    lr__hist_add(&r->lat[which], (uint64_t)ms);
    if (rep)
        lr__counter_sample(r, rep, which, (uint64_t)ms);
    if (pool)
        lr__counter_sample(r, pool, which, (uint64_t)ms);
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t lr__days_from_civil(int64_t y, int64_t m, int64_t d)
{
    int64_t era, yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* `n` decimal digits at s (no sign, no blank) into *v; 0 when one is not
 * a digit (a NUL included, so nothing past the string is read). */
static int lr__digits(const char *s, int n, int *v)
{
    int i;
    *v = 0;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        *v = *v * 10 + (s[i] - '0');
    }
    return 1;
}

/* "YYYY-MM-DDTHH:MM:SS[.fff]Z" (or a space for T) to ms since the epoch:
 * every field its exact digits, a day the month has, a second up to 60
 * (a leap second). Anything else is not a time. */
static int lr__parse_iso8601(const char *s, int64_t *out)
{
    static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int y, mo, d, h, mi, se, ms = 0, leap;
    if (!lr__digits(s, 4, &y) || s[4] != '-' || !lr__digits(s + 5, 2, &mo) || s[7] != '-' ||
        !lr__digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != ' ') || !lr__digits(s + 11, 2, &h) ||
        s[13] != ':' || !lr__digits(s + 14, 2, &mi) || s[16] != ':' || !lr__digits(s + 17, 2, &se))
        return 0;
    s += 19;
    if (*s == '.') {
        int digits = 0;
        for (s++; *s >= '0' && *s <= '9'; s++, digits++)
            if (digits < 3)
                ms = ms * 10 + (*s - '0');
        if (digits == 0)
            return 0;
        for (; digits < 3; digits++)
            ms *= 10;
    }
    leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (strcmp(s, "Z") != 0 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap) || h > 23 ||
        mi > 59 || se > 60)
        return 0;
    *out = ((lr__days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000LL + se * 1000LL + ms;
    return 1;
}

/* When the lead was captured, from the captured field's value (checked,
 * or NULL); 0 if unknown. */
static int lr__captured_ms(const leadroute_value *v, int64_t *out)
{
    if (!v)
        return 0;
    /* a time beyond +-2^63 ms cannot be converted (the cast is undefined): unknown */
    if (v->type == LEADROUTE_VALUE_NUMBER && fabs(v->number) < 9.2e18) {
        *out = (int64_t)v->number;
        return 1;
    }
    if (v->type == LEADROUTE_VALUE_STRING) {
        double x;
        const char *t = v->string;
        size_t n = strlen(t);
        lr__trim(&t, &n);
        if (n && lr__parse_number(t, n, &x) == 0) {
            if (!(fabs(x) < 9.2e18))
                return 0;
            *out = (int64_t)x;
            return 1;
        }
        return lr__parse_iso8601(v->string, out);
    }
    return 0;
}

/* ---- one routing call ------------------------------------------------------ */

typedef struct lr__call {
    leadroute_router *r;
    lr__gen *g;
    const leadroute_roster *ro;
    const leadroute_lead *lead;
    leadroute_decision *d;
    uint32_t flags;
    int trace;
    const char *rule_id;
    char key[LEADROUTE_MAX_STRING + 8];     /* "lead:" + dedupe key */
    char account[LEADROUTE_MAX_STRING + 16]; /* "account:" + domain, or "" */
    char previous[LEADROUTE_MAX_NAME + 1];  /* holder when reassigning, or "" */
    uint32_t previous_rep;                  /* its index, LR_NONE */
    int has_excl;                           /* d->excl marks earlier holders */
    double fixed_value;                     /* < 0: read the deal value from the lead; else this (ticks) */
    const lr__pool *value_pool;             /* whose value field a commit outside any pool reads */
    double held_value;                      /* a tick: the value of the assignment it moves */
    uint32_t hops;                          /* reassignments before this one */
    int escalated;
    int follow_up;                          /* a tick's move: LEADROUTE_COMMIT_FOLLOW_UP */
    const char *const *history;             /* a tick's move: the earlier holders listed */
    size_t nhistory;
    char note[LEADROUTE_MAX_NAME + 160];    /* why a pool of the chain took no one (caps) */
    uint32_t load_bound;                    /* a least-loaded pick: the lowest open count read of the
                                               other eligible reps, which its rep must not pass; or
                                               UINT32_MAX */
    uint32_t unrouted;                      /* unrouted reason to count once the outcome stands, or LR_NONE */
    lr__state next;
    char *state;                            /* pool state read from the store */
    size_t state_cap;
    const leadroute_value *captured;      /* the capture time's value, checked; NULL if none */
    const leadroute_value *account_value; /* the account field's value, checked; NULL if none */
} lr__call;

/* The fields a routing call reads after it commits (the capture time, for
 * speed to lead) or whatever the route (the account), checked before
 * anything is decided: a bad value is the lead's error, not a metric
 * quietly lost. The filter, score and value fields are checked where a
 * pool reads them, also before any commit. */
static int lr__route_fields_check(lr__call *c)
{
    int rc;
    if ((rc = lr__read_field(c->lead, c->r->captured_field, &c->captured)) != 0)
        return rc;
    return lr__read_field(c->lead, c->r->account_field, &c->account_value);
}

/* Counters move only for calls that touch live state. */
static void lr__count_unrouted(lr__call *c, uint32_t reason)
{
    if (!(c->flags & LEADROUTE_ROUTE_DRY_RUN))
        lr__striped_add(&c->r->unrouted[reason], c->d->stripe);
}

static void lr__count_hit(lr__call *c)
{
    if (!(c->flags & LEADROUTE_ROUTE_DRY_RUN) && c->d->rule_index != LR_NONE)
        atomic_fetch_add_explicit(
            &c->g->rule_hits[(size_t)(c->d->stripe % c->g->hit_stripes) * c->g->hit_rules + c->d->rule_index], 1,
            memory_order_relaxed);
}


/* A host callback failed with `rc`: the message names it and its code, and
 * adds the callback's own message when it left one (an error recorded
 * since the call began, lr__error_mark, with its code), not an older one. */
static int lr__callback_failed(const char *what, int rc)
{
    const leadroute_error *e = leadroute_error_last();
    int own = lr__error_since_mark() && e->code == rc && e->message[0];
    return lr__error_set(LEADROUTE_ECALLBACK, "%s callback failed with %d (%s)%s%s", what, rc, leadroute_strerror(rc),
                         own ? ": " : "", own ? e->message : "");
}

/* A store method failed. The built-in store is the library's own, not a
 * host callback: when it runs out of memory, with no host store below it
 * (a fork's overlay sits on its parent's store), that is ENOMEM. */
static int lr__store_failed(const leadroute_router *r, const char *what, int rc)
{
    if (rc == LEADROUTE_ENOMEM && r->store_user == r->memstore && lr__memstore_all_builtin(r->memstore))
        return lr__error_set(LEADROUTE_ENOMEM, "the built-in store ran out of memory (%s)", what);
    return lr__callback_failed(what, rc);
}

/* The store key "lead:KEY" at `k` (room for LEADROUTE_MAX_STRING + 8) of
 * the dedupe key `*key` (`*n` bytes of UTF-8, followed by more of the
 * string up to a NUL): trimmed (*key and *n follow), and with dedupe_fold
 * trimmed of Unicode blanks and case-folded too. Non-zero when nothing is
 * left. */
static int lr__claim_key(const leadroute_router *r, const char **key, size_t *n, char *k)
{
    if (r->dedupe_fold)
        lr__trim_blanks(key, n);
    else
        lr__trim(key, n);
    if (*n == 0)
        return 1;
    memcpy(k, "lead:", 5);
    if (r->dedupe_fold)
        lr__fold(*key, *n, k + 5);
    else
        memcpy(k + 5, *key, *n);
    k[5 + *n] = 0;
    return 0;
}

/* A store key as messages show it: a lead's without its "lead:", an
 * account's whole. */
static const char *lr__key_shown(const char *key)
{
    return strncmp(key, "lead:", 5) == 0 ? key + 5 : key;
}

/* Whether `key` is claimed in r's store: 1 with the holder's id in
 * `holder`, 0 when not, or an error (the store failed, or named no rep). */
static int lr__store_holder(leadroute_router *r, const char *key, char *holder, size_t cap)
{
    int rc;
    lr__error_mark();
    rc = r->store.find_claim(r->store_user, key, holder, cap);
    if (rc == LEADROUTE_ENOTFOUND)
        return 0;
    if (rc != 0)
        return lr__store_failed(r, "store find_claim", rc);
    /* a rep id is at most LEADROUTE_MAX_NAME bytes: one that fills the
     * buffer without its NUL is no rep id */
    if (!memchr(holder, 0, cap)) {
        holder[0] = 0;
        return lr__error_set(LEADROUTE_ECALLBACK, "store find_claim callback gave a rep id longer than %zu bytes for "
                             "key '%s'", cap - 1, lr__key_shown(key));
    }
    if (!holder[0])
        return lr__error_set(LEADROUTE_ECALLBACK, "store find_claim callback gave an empty rep id for key '%s'",
                             lr__key_shown(key));
    return 1;
}

/* vsnprintf that ends a text too long for `buf` with "..." on a character
 * boundary: a cut reason or detail stays valid UTF-8 and says it was cut. */
static void lr__vtextf(char *buf, size_t cap, const char *fmt, va_list ap) LR__PRINTF(3, 0);
static void lr__vtextf(char *buf, size_t cap, const char *fmt, va_list ap)
{
    int n = vsnprintf(buf, cap, fmt, ap);
    if (n >= 0 && (size_t)n >= cap && cap >= 4)
        memcpy(buf + lr__utf8_cut(buf, cap - 1, cap - 4), "...", 4);
}

static void lr__textf(char *buf, size_t cap, const char *fmt, ...) LR__PRINTF(3, 4);
static void lr__textf(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lr__vtextf(buf, cap, fmt, ap);
    va_end(ap);
}

/* Text a decision may still write once its assignment is committed: the reason of the path that
 * chose (or of a lost claim race, with the winner's id), a tick's reason, the lazy reason made
 * when read, and the notify failure's. Each is at most LR_REASON_MAX bytes (lr__reason): a
 * reason names at most a chain (LR_CHAIN_MAX), a note, two ids and a detail, so it fits whole. */
#define LR_REASON_MAX 2048
#define LR_AFTER_COMMIT_TEXT (3 * LR_REASON_MAX)

static void lr__reason(leadroute_decision *d, const char *fmt, ...) LR__PRINTF(2, 3);
static void lr__reason(leadroute_decision *d, const char *fmt, ...)
{
    char buf[LR_REASON_MAX];
    va_list ap;
    va_start(ap, fmt);
    lr__vtextf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    d->reason = lr__decision_str(d, buf);
}

/* `rep` is the roster index of `rep_id` (borrowed), or LR_NONE when the id
 * is not the roster's (copied). */
static void lr__candidate_add(lr__call *c, uint32_t rep, const char *rep_id, const lr__pool *pool,
                              uint32_t verdict, const char *detail)
{
    leadroute_decision *d = c->d;
    lr__candidate *k;
    if (d->ncands == d->cap_cands && lr__vec_reserve(&d->alloc, (void **)&d->cands, &d->cap_cands,
                                                     (size_t)d->ncands + 1, sizeof *d->cands)) {
        d->nomem = 1; /* a trace without its line would lie: the call fails before it commits */
        return;
    }
    k = &d->cands[d->ncands++];
    k->rep_id = rep != LR_NONE ? lr__decision_ref(d, rep_id) : lr__decision_str(d, rep_id);
    k->pool_id = pool ? lr__decision_ref(d, pool->id) : LR_NONE;
    k->verdict = verdict;
    k->detail = detail ? lr__decision_str(d, detail) : LR_NONE;
}

/* The lead's dedupe key in field `name`: its string, NULL when the field is
 * missing or null. A field that holds anything else (a bad value, another
 * type) sets *bad, for lr__dedupe_field_error() to name after the table's
 * own errors. */
static const char *lr__dedupe_text(const leadroute_lead *lead, const char *name, int *bad)
{
    const leadroute_field *f = lr__lead_find(lead, name);
    *bad = 0;
    if (!f)
        return NULL;
    if (f->value.version == LEADROUTE_VALUE_VERSION) {
        if (f->value.type == LEADROUTE_VALUE_NULL)
            return NULL;
        if (f->value.type == LEADROUTE_VALUE_STRING && f->value.string)
            return f->value.string;
    }
    *bad = 1;
    return NULL;
}

/* Why the dedupe field cannot serve as a key: its value's own error, or its
 * type. */
static int lr__dedupe_field_error(const leadroute_lead *lead, const char *name)
{
    const leadroute_value *v;
    int rc = lr__read_field(lead, name, &v);
    if (rc != 0)
        return rc;
    return lr__error_set(LEADROUTE_ELEAD, "lead field '%s' holds %s: the dedupe key must be text", name,
                         v && v->type == LEADROUTE_VALUE_NUMBER ? "a number"
                         : v && v->type == LEADROUTE_VALUE_BOOL ? "a bool"
                                                                 : "a set");
}

/* "account:<domain>" from an email or a website (lr__account_domain); ""
 * if none. */
static void lr__account_key(lr__call *c)
{
    const leadroute_value *v;
    char dom[LR_ACCOUNT_DOMAIN_CAP];
    size_t n;
    c->account[0] = 0;
    /* read and checked by lr__route_fields_check */
    v = c->account_value;
    if (!v || v->type != LEADROUTE_VALUE_STRING || (n = lr__account_domain(v->string, dom)) == 0)
        return;
    memcpy(c->account, "account:", 8);
    memcpy(c->account + 8, dom, n + 1);
}

/* The lead's number in `field` (a score, a deal value): a number, or a
 * numeric string. *has 0 if there is none (no field, null, blank text).
 * A value that is not valid (lr__read_field), or text that is not a finite
 * number, is an error, as for a table's number column. */
static int lr__lead_number(const leadroute_lead *lead, const char *field, double *out, int *has)
{
    const leadroute_value *v;
    int rc = lr__read_field(lead, field, &v);
    *has = 0;
    if (rc != 0 || !v)
        return rc;
    if (v->type == LEADROUTE_VALUE_NUMBER) {
        *out = v->number;
        *has = 1;
    } else if (v->type == LEADROUTE_VALUE_STRING) {
        const char *s = v->string;
        size_t n = strlen(s);
        lr__trim(&s, &n);
        if (n && (rc = lr__parse_number(s, n, out)) != 0)
            return lr__lead_number_text_error(field, s, n, rc);
        *has = n != 0;
    } else if (v->type != LEADROUTE_VALUE_NULL) {
        return lr__error_set(LEADROUTE_ELEAD, "lead field '%s': a number is read here, the lead gives %s", field,
                             v->type == LEADROUTE_VALUE_BOOL ? "a bool" : "a set");
    }
    return LEADROUTE_OK;
}

/* What a pool's filters read from the lead, looked up once per pool
 * rather than once per member. */
#define LR_FILTERS_CACHED 16
#define LR_NORM_ITEMS 16
typedef struct lr__pool_view {
    const leadroute_value *values[LR_FILTERS_CACHED];  /* per filter, NULL = no such field */
    /* per filter, the lead's items trimmed and folded, when they fit here
     * (nnorm[f] == LR_NONE: they did not, compare the slow way) */
    const char *norm[LR_FILTERS_CACHED][LR_NORM_ITEMS];
    const char *orig[LR_FILTERS_CACHED][LR_NORM_ITEMS];  /* as the lead gave them, for the trace */
    uint32_t nnorm[LR_FILTERS_CACHED];
    char buf[2048];
    uint32_t need_tier;                                 /* 0 = none */
    double score;
    uint32_t unreadable;                                /* a tick: a filter no member passes (number, bool) */
    const char *unreadable_why;                         /* what it is, for the trace */
} lr__pool_view;

/* A filter field's value once lr__pool_view_init checked it. */
static const leadroute_value *lr__filter_value(const leadroute_lead *lead, const char *field)
{
    const leadroute_field *f = lr__lead_find(lead, field);
    return f ? &f->value : NULL;
}

/* What a skill filter cannot compare: a rep's skill set holds only
 * strings, so a number or a bool has no text to look up. NULL if `v` is
 * fine (no value, null, a string or a set). */
static const char *lr__filter_bad_type(const leadroute_value *v)
{
    if (!v || v->type == LEADROUTE_VALUE_NULL || v->type == LEADROUTE_VALUE_STRING || v->type == LEADROUTE_VALUE_SET)
        return NULL;
    return v->type == LEADROUTE_VALUE_NUMBER ? "a number" : v->type == LEADROUTE_VALUE_BOOL ? "a bool"
                                                                                         : "a value of an unknown type";
}

/* Routing a lead whose filter field cannot be compared is an error of the
 * lead, as it is for a string column of the table. A tick's move cannot
 * refuse a lead already held, and failing at every tick would keep it from
 * ever escalating: there the filter matches no one (pv->unreadable), so
 * the pool has no one for the lead, as when every member lacks the skill. */
static int lr__filter_check(const lr__call *c, const lr__pool *p, uint32_t i, const leadroute_value **out,
                            lr__pool_view *pv)
{
    const char *bad;
    int rc = lr__read_field(c->lead, p->filters[i].field, out);
    if (rc != 0) {
        if (!c->follow_up)
            return rc;
        bad = "not a valid value";
        *out = NULL;
    } else if ((bad = lr__filter_bad_type(*out)) != NULL) {
        if (!c->follow_up)
            return lr__error_set(LEADROUTE_ELEAD, "lead field '%s': the skill filter of pool '%s' reads a string or "
                                 "a set, the lead gives %s", p->filters[i].field, p->id, bad);
        *out = NULL;
    } else {
        return LEADROUTE_OK;
    }
    if (i < pv->unreadable) { /* the first such filter, for the trace */
        pv->unreadable = i;
        pv->unreadable_why = bad;
    }
    return LEADROUTE_OK;
}

static int lr__pool_view_init(lr__call *c, const lr__pool *p, lr__pool_view *pv)
{
    uint32_t i, k;
    size_t used = 0;
    int rc;
    pv->unreadable = LR_NONE;
    pv->unreadable_why = NULL;
    /* filters past the cached ones are read again per member: only checked here */
    for (i = LR_FILTERS_CACHED; i < p->nfilters; i++) {
        const leadroute_value *v;
        if ((rc = lr__filter_check(c, p, i, &v, pv)) != 0)
            return rc;
    }
    for (i = 0; i < p->nfilters && i < LR_FILTERS_CACHED; i++) {
        const leadroute_value *v;
        size_t n;
        if ((rc = lr__filter_check(c, p, i, &v, pv)) != 0)
            return rc;
        n = v && v->type == LEADROUTE_VALUE_SET ? v->item_count : 1;
        pv->values[i] = v;
        pv->nnorm[i] = 0;
        if (!v || (v->type != LEADROUTE_VALUE_STRING && v->type != LEADROUTE_VALUE_SET) ||
            (v->type == LEADROUTE_VALUE_STRING && !v->string))
            continue;
        if (n > LR_NORM_ITEMS) {
            pv->nnorm[i] = LR_NONE;
            continue;
        }
        for (k = 0; k < n; k++) {
            const char *item = v->type == LEADROUTE_VALUE_SET ? v->items[k] : v->string;
            if (!item)
                continue;
            if (!lr__skill_norm_into(item, pv->buf + used, sizeof pv->buf - used)) {
                pv->nnorm[i] = LR_NONE;
                break;
            }
            if (pv->buf[used]) { /* empty items ask for nothing */
                pv->orig[i][pv->nnorm[i]] = item;
                pv->norm[i][pv->nnorm[i]++] = pv->buf + used;
                used += strlen(pv->buf + used) + 1;
            }
        }
    }
    pv->need_tier = 0;
    pv->score = 0;
    if (p->ntiers) {
        int has;
        if ((rc = lr__lead_number(c->lead, p->score_field, &pv->score, &has)) != 0) {
            if (!c->follow_up)
                return rc;
            /* a tick's lead: no member passes, as for a filter it cannot read */
            pv->unreadable = 0;
            pv->unreadable_why = NULL;
            return LEADROUTE_OK;
        }
        for (i = 0; has && i < p->ntiers; i++)
            if (pv->score >= p->tiers[i].min_score) {
                pv->need_tier = p->tiers[i].min_tier;
                break;
            }
    }
    return LEADROUTE_OK;
}

/* Nothing but white space: an item that asks for no skill. */
static int lr__blank(const char *s)
{
    size_t n = strlen(s);
    lr__trim(&s, &n);
    return n == 0;
}

/* Skill filters and score tier; returns a verdict and, when `cap` is not
 * 0 (tracing), writes the detail. */
static uint32_t lr__static_checks(lr__call *c, const lr__pool *p, const lr__pool_view *pv, uint32_t member,
                                  const lr__rep *rep, char *detail, size_t cap)
{
    uint32_t i;
    if (pv->unreadable != LR_NONE) {
        if (!pv->unreadable_why) {
            if (cap)
                lr__textf(detail, cap, "%s is not a valid value", p->score_field);
            return LEADROUTE_VERDICT_TIER;
        }
        if (cap)
            lr__textf(detail, cap, "%s is %s, not text", p->filters[pv->unreadable].field, pv->unreadable_why);
        return LEADROUTE_VERDICT_LACKS_SKILL;
    }
    for (i = 0; i < p->nfilters; i++) {
        const leadroute_value *v =
            i < LR_FILTERS_CACHED ? pv->values[i] : lr__filter_value(c->lead, p->filters[i].field);
        const char *missing = NULL;
        size_t k;
        if (!v)
            continue;
        if (i < LR_FILTERS_CACHED && pv->nnorm[i] != LR_NONE) {
            /* the fast way: items folded once, the member's set found at roster time */
            const lr__skill *set = p->fskills[i * p->nmembers + member];
            for (k = 0; k < pv->nnorm[i] && !missing; k++)
                if (!lr__skill_has(set, pv->norm[i][k]))
                    missing = pv->orig[i][k];
            if (missing) {
                if (cap)
                    lr__textf(detail, cap, "%s=%s not in %s", p->filters[i].field, missing, p->filters[i].skill);
                return LEADROUTE_VERDICT_LACKS_SKILL;
            }
            continue;
        }
        /* the slow way, item by item; blank items ask for nothing here too */
        if (v->type == LEADROUTE_VALUE_STRING && v->string) {
            if (!lr__blank(v->string) && !lr__rep_has_skill(rep, p->filters[i].skill, v->string))
                missing = v->string;
        } else if (v->type == LEADROUTE_VALUE_SET) {
            for (k = 0; k < v->item_count && !missing; k++)
                if (v->items[k] && !lr__blank(v->items[k]) &&
                    !lr__rep_has_skill(rep, p->filters[i].skill, v->items[k]))
                    missing = v->items[k];
        }
        if (missing) {
            if (cap)
                lr__textf(detail, cap, "%s=%s not in %s", p->filters[i].field, missing, p->filters[i].skill);
            return LEADROUTE_VERDICT_LACKS_SKILL;
        }
    }
    if (rep->tier < pv->need_tier) {
        if (cap) {
            char num[40];
            lr__format_double(num, sizeof num, pv->score);
            lr__textf(detail, cap, "tier %u below %u for %s %s", rep->tier, pv->need_tier, p->score_field, num);
        }
        return LEADROUTE_VERDICT_TIER;
    }
    return 0;
}

static int lr__excluded(const lr__call *c, uint32_t ri, char *detail, size_t cap)
{
    if (ri == c->previous_rep) {
        if (cap)
            lr__textf(detail, cap, "previous holder");
        return 1;
    }
    if (c->has_excl && c->d->excl[ri]) {
        if (cap)
            lr__textf(detail, cap, "earlier holder of this lead");
        return 1;
    }
    return 0;
}

/* Assignments since `since_ms` to a rep or from a pool, through the store. */
static int lr__window(lr__call *c, const char *rep_id, const char *pool_id, int64_t since_ms, uint64_t *count,
                      double *value)
{
    leadroute_router *r = c->r;
    double v = 0;
    int rc;
    *count = 0;
    if (!r->store.window)
        return lr__error_set(LEADROUTE_ENOTSUP,
                             "the store has no window method: assignment caps and value balancing need it");
    lr__error_mark();
    if ((rc = r->store.window(r->store_user, rep_id, pool_id, since_ms, count, &v)) != 0)
        return lr__store_failed(r, "store window", rc);
    /* a sum of deal values, which are never negative: anything else would steer value balancing */
    if (!isfinite(v) || v < 0)
        return lr__error_set(LEADROUTE_ECALLBACK, "store window callback gave value %g for %s '%s'", v,
                             rep_id ? "rep" : "pool", rep_id ? rep_id : pool_id ? pool_id : "");
    if (value)
        *value = v;
    return LEADROUTE_OK;
}

/* Rolling caps (`caps` of a rep or a pool): 0 if under all of them, else a
 * verdict with the detail "at capacity (24h: 12/12)" or "paused". */
static int lr__caps_check(lr__call *c, const uint32_t caps[LR_WINDOWS], const char *rep_id, const char *pool_id,
                          char *detail, size_t cap)
{
    uint32_t w;
    for (w = 0; w < LR_WINDOWS; w++) {
        uint64_t n;
        int rc;
        if (caps[w] == LEADROUTE_NO_CAP)
            continue;
        if (caps[w] == 0) {
            if (cap)
                lr__textf(detail, cap, "paused (%s cap 0)", lr__window_name[w]);
            return LEADROUTE_VERDICT_AT_CAPACITY;
        }
        if ((rc = lr__window(c, rep_id, pool_id, lr__time_sub(c->d->at_ms, lr__window_ms[w]), &n, NULL)) != 0)
            return rc;
        if (n >= caps[w]) {
            if (cap)
                lr__textf(detail, cap, "at capacity (%s: %llu/%u)", lr__window_name[w], (unsigned long long)n,
                         caps[w]);
            return LEADROUTE_VERDICT_AT_CAPACITY;
        }
    }
    return 0;
}

/* Capacity (from the store) then availability (from the host, cached per
 * call). 0 = can take it; else a verdict; negative = callback error. */
static int lr__live_checks(lr__call *c, uint32_t ri, uint32_t *open, char *detail, size_t cap)
{
    leadroute_router *r = c->r;
    leadroute_decision *d = c->d;
    const lr__rep *rep = &c->ro->reps[ri];
    int rc;
    if (open)
        *open = 0;
    if (rep->capacity || open) {
        uint32_t n = 0;
        lr__error_mark();
        if ((rc = r->store.open_count(r->store_user, rep->id, &n)) != 0)
            return lr__store_failed(r, "store open_count", rc);
        if (open)
            *open = n;
        if (rep->capacity && n >= rep->capacity) {
            if (cap)
                lr__textf(detail, cap, "%u of %u open leads", n, rep->capacity);
            return LEADROUTE_VERDICT_AT_CAPACITY;
        }
    }
    if (rep->has_caps && (rc = lr__caps_check(c, rep->caps, rep->id, NULL, detail, cap)) != 0)
        return rc;
    if (!r->has_availability)
        return 0;
    if (d->avail[ri] == 0) {
        uint32_t verdict = LEADROUTE_AVAILABLE;
        char why[256] = "";
        lr__error_mark();
        rc = r->availability.check(r->availability_user, rep->id, c->lead, d->at_ms, &verdict, why, sizeof why);
        if (rc != 0)
            return lr__callback_failed("availability", rc);
        why[sizeof why - 1] = 0;
        why[lr__utf8_invalid_at(why, strlen(why))] = 0; /* a host that cut a character */
        if (verdict > LEADROUTE_AT_CAPACITY)
            return lr__error_set(LEADROUTE_ECALLBACK, "availability callback gave unknown verdict %u for '%s'",
                                 verdict, rep->id);
        d->avail[ri] = (uint8_t)(verdict + 1);
        d->avail_reason[ri] = why[0] ? lr__decision_str(d, why) : LR_NONE;
    }
    if (d->avail[ri] == LEADROUTE_AWAY + 1) {
        const char *why = lr__decision_at(d, d->avail_reason[ri]);
        if (cap)
            lr__textf(detail, cap, "%s", why ? why : "away");
        return LEADROUTE_VERDICT_AWAY;
    }
    if (d->avail[ri] == LEADROUTE_AT_CAPACITY + 1) {
        if (cap)
            lr__textf(detail, cap, "at capacity (calendar)");
        return LEADROUTE_VERDICT_AT_CAPACITY;
    }
    return 0;
}

/* May rep `ri` take the lead outside of any pool filter (direct owner,
 * account owner, default owner)? 0 yes, verdict no, negative error. */
static int lr__owner_checks(lr__call *c, uint32_t ri, int live, char *detail, size_t cap)
{
    const lr__rep *rep = &c->ro->reps[ri];
    if (!rep->active) {
        lr__textf(detail, cap, "inactive");
        return LEADROUTE_VERDICT_EXCLUDED;
    }
    if (lr__excluded(c, ri, detail, cap))
        return LEADROUTE_VERDICT_EXCLUDED;
    return live ? lr__live_checks(c, ri, NULL, detail, cap) : 0;
}

/* How many times load_pool may ask for a larger buffer in one call: the state may grow between
 * two reads when other hosts write it, but a store that always asks for more is not believed. */
#define LR_LOAD_REGROWS 3

/* Load a pool's state into c->state. */
static int lr__load_state(lr__call *c, const lr__pool *p, size_t *len, uint64_t *version)
{
    leadroute_router *r = c->r;
    uint32_t regrows;
    int rc;
    for (regrows = 0;; regrows++) {
        size_t cap;
        char *s;
        *len = 0;
        *version = 0;
        lr__error_mark();
        rc = r->store.load_pool(r->store_user, p->id, c->state, c->state_cap, len, version);
        if (rc != 0)
            return lr__store_failed(r, "store load_pool", rc);
        if (*len <= c->state_cap)
            break;
        /* no buffer can hold more than PTRDIFF_MAX bytes: such a length is garbage, not a state */
        if (*len > (size_t)PTRDIFF_MAX / 2)
            return lr__error_set(LEADROUTE_ECALLBACK, "store load_pool callback gave an impossible length "
                                 "%zu for pool '%s'", *len, p->id);
        if (regrows == LR_LOAD_REGROWS)
            return lr__error_set(LEADROUTE_ECALLBACK,
                                 "store load_pool callback asked for a larger buffer %u times in a row for "
                                 "pool '%s' (last: %zu bytes for a %zu-byte buffer)",
                                 regrows + 1, p->id, *len, c->state_cap);
        /* room to spare, in case the state grows again before the next read */
        cap = *len + *len / 2 + 64;
        if (!(s = lr__realloc(&c->d->alloc, c->state, c->state_cap, cap)))
            return lr__error_nomem();
        c->state = s;
        c->state_cap = cap;
    }
    return LEADROUTE_OK;
}

/* The lead's deal value: the pool's value field (default "deal_value"), a
 * number or a numeric string; 0 when missing or not above 0. ELEAD above
 * LEADROUTE_MAX_DEAL_VALUE: stored, it would take the sums of the value
 * window to infinity, and with them every later routing of the pool. */
static int lr__lead_value(lr__call *c, const lr__pool *p, double *out)
{
    const char *field = p ? p->value_field : "deal_value";
    double v = 0;
    int has, rc = lr__lead_number(c->lead, field, &v, &has);
    *out = 0;
    if (rc == 0 && (!has || !(v > 0)))
        return LEADROUTE_OK;
    if (rc != 0 || v > LEADROUTE_MAX_DEAL_VALUE) {
        /* A tick cannot refuse a lead already held, and failing its move at
         * every tick would keep it from ever moving or escalating: it keeps
         * the value committed before, as when the host gives no lead. */
        if (c->follow_up) {
            *out = c->held_value; /* checked when read from the store */
            return LEADROUTE_OK;
        }
        if (rc != 0)
            return rc;
        {
            char shown[40]; /* every digit: 1.0000001e15 must not read as 1e15 */
            lr__format_double(shown, sizeof shown, v);
            return lr__error_set(LEADROUTE_ELEAD, "lead field '%s': deal value %s is more than 1e15", field,
                                 shown);
        }
    }
    *out = v;
    return LEADROUTE_OK;
}

typedef enum { LR_DONE = 0, LR_RETRY = 1 } lr__step;

/* Before attempt `attempt` (1 = the first retry) after a commit conflict.
 * The first retries go at once: a conflict is mostly one other route that
 * committed first. Then a yield, then a random pause that grows to about a
 * millisecond: routers crowding one pool take turns, instead of all
 * deciding again together and all but one failing again. */
static void lr__conflict_pause(uint32_t attempt)
{
    static _Thread_local uint64_t rng;
    struct timespec ts;
    uint64_t max_ns, x;
    if (attempt < 3)
        return;
    if (attempt < 5) {
        sched_yield();
        return;
    }
    if (!rng) { /* a seed of its own per thread */
        uintptr_t at = (uintptr_t)&rng;
        rng = (lr__hash(&at, sizeof at) ^ (uint64_t)lr__wall_clock_ms()) | 1u;
    }
    x = rng;
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    rng = x;
    max_ns = (uint64_t)2000 << (attempt - 5 < 11 ? attempt - 5 : 11); /* 2 us .. 4 ms */
    ts.tv_sec = 0;
    ts.tv_nsec = (long)(max_ns / 2 + x % (max_ns / 2));
    nanosleep(&ts, NULL);
}

/* The bytes of a pending notification of this call: the struct and its strings. */
static size_t lr__pending_size(const lr__call *c, const char *rep_id, const char *pool_id)
{
    size_t n = sizeof(lr__pending) + strlen(c->key) + 1 + strlen(rep_id) + 1;
    if (c->lead->id)
        n += strlen(c->lead->id) + 1;
    if (pool_id)
        n += strlen(pool_id) + 1;
    if (c->rule_id)
        n += strlen(c->rule_id) + 1;
    if (c->previous[0])
        n += strlen(c->previous) + 1;
    return n;
}

static int lr__same_alloc(const lr__alloc *a, const lr__alloc *b)
{
    return a->alloc == b->alloc && a->free == b->free && a->user_data == b->user_data;
}

/* Make the decision's spare pending block fit this assignment, before it is committed: a notify
 * that fails afterwards then records the notification without allocating. Kept between calls,
 * so routing allocates only to grow it. */
static int lr__pending_reserve(lr__call *c, const char *rep_id, const char *pool_id)
{
    leadroute_router *r = c->r;
    leadroute_decision *d = c->d;
    size_t need;
    if (!r->has_notify || (c->flags & LEADROUTE_ROUTE_DRY_RUN))
        return LEADROUTE_OK;
    need = lr__pending_size(c, rep_id, pool_id);
    if (d->spare && (d->spare_cap < need || !lr__same_alloc(&d->spare_alloc, &r->alloc))) {
        lr__free(&d->spare_alloc, d->spare);
        d->spare = NULL;
    }
    if (!d->spare) {
        size_t cap = need < 512 ? 512 : need;
        if (!(d->spare = lr__malloc(&r->alloc, cap)))
            return lr__error_nomem();
        d->spare_cap = cap;
        d->spare_alloc = r->alloc;
    }
    return LEADROUTE_OK;
}

/* The store's commit. The rolling caps of the rep and of the pool, which
 * the checks before read without a lock, are read again under the
 * router's caps_lock and the commit made before it is let go: routes on
 * other threads may read the same counts meanwhile, but not commit. What
 * the checks before skip is skipped here too: an empty pool's default
 * owner takes the lead whatever the caps, and only pool assignments count
 * against the pool's caps. Returns the commit's code or a callback error,
 * or sets *taken when a cap is reached now: no commit was made. */
static int lr__caps_commit(lr__call *c, const leadroute_commit *cm, const lr__rep *rep, const lr__pool *p,
                           uint32_t how, char *owner, size_t owner_cap, int *taken, int *caps_failed)
{
    leadroute_router *r = c->r;
    int rep_caps = rep->has_caps && how != LR_HOW_DEFAULT_OWNER;
    int pool_caps = p && p->has_caps && (how == LR_HOW_ACCOUNT || how == LR_HOW_STRATEGY);
    int rc = 0;
    owner[0] = 0;
    *taken = 0;
    *caps_failed = 0;
    if (!rep_caps && !pool_caps) {
        lr__error_mark();
        return r->store.commit(r->store_user, cm, owner, owner_cap);
    }
    pthread_mutex_lock(&r->caps_lock);
    if (rep_caps)
        rc = lr__caps_check(c, rep->caps, rep->id, NULL, NULL, 0);
    if (rc == 0 && pool_caps)
        rc = lr__caps_check(c, p->caps, NULL, p->id, NULL, 0);
    if (rc > 0) { /* a cap's verdict */
        *taken = 1;
    } else if (rc == 0) {
        lr__error_mark();
        rc = r->store.commit(r->store_user, cm, owner, owner_cap);
    } else {
        *caps_failed = 1; /* the cap check's own error, a window callback's or ours */
    }
    pthread_mutex_unlock(&r->caps_lock);
    return *taken ? 0 : rc;
}

/* The commit did not happen (an error, or another call claimed the lead
 * first): the pool states shown were never written, and a rep picked did
 * not get the lead. */
static void lr__nothing_written(leadroute_decision *d)
{
    uint32_t i;
    d->state_before = d->state_after = LR_NONE;
    for (i = 0; i < d->ncands; i++)
        if (d->cands[i].verdict == LEADROUTE_VERDICT_CHOSEN)
            d->cands[i].verdict = LEADROUTE_VERDICT_ELIGIBLE;
}

/* Commit the assignment of rep `ri`. Returns LR_DONE with the decision
 * filled, LR_RETRY on a conflict, or a negative error. */
static int lr__commit(lr__call *c, uint32_t ri, const lr__pool *p, const lr__state *state, uint64_t version,
                      uint32_t how)
{
    leadroute_decision *d = c->d;
    const lr__rep *rep = &c->ro->reps[ri];
    leadroute_assignment a;
    leadroute_commit cm;
    char owner[LEADROUTE_MAX_NAME + 1];
    int rc, taken, caps_failed;

    memset(&a, 0, sizeof a);
    a.version = LEADROUTE_ASSIGNMENT_VERSION;
    a.key = c->key;
    a.lead_id = c->lead->id;
    a.rep_id = rep->id;
    a.previous = c->previous[0] ? c->previous : NULL;
    a.pool_id = p ? p->id : NULL;
    a.rule_id = c->rule_id;
    a.table_hash = d->table_hash;
    a.at_ms = d->at_ms;
    /* the follow-up deadline: the rule's SLA, else the pool's */
    if (d->sla_minutes <= 0 && p && p->sla_minutes > 0)
        d->sla_minutes = p->sla_minutes;
    a.sla_minutes = d->sla_minutes;
    a.deadline_ms = d->sla_minutes > 0 ? lr__time_after(d->at_ms, d->sla_minutes) : 0;
    if (c->fixed_value >= 0)
        a.value = c->fixed_value;
    else if ((rc = lr__lead_value(c, p ? p : c->value_pool, &a.value)) != 0)
        return rc;
    a.hops = c->hops;
    a.escalated = c->escalated;
    a.history = c->history; /* a tick's move: for a store that reads none of its own (a fork's) */
    a.history_count = c->nhistory;
    d->deadline_ms = a.deadline_ms;
    d->value = a.value;
    d->hops = a.hops;
    d->escalated = a.escalated;
    memset(&cm, 0, sizeof cm);
    cm.version = LEADROUTE_COMMIT_VERSION;
    cm.assignment = &a;
    cm.pool_id = state ? p->id : NULL;
    cm.expected_version = version;
    cm.state = state ? state->text : NULL;
    cm.state_length = state ? state->len : 0;
    cm.capacity = how == LR_HOW_DEFAULT_OWNER ? 0 : rep->capacity;
    /* A least-loaded pick compared the open counts it read: the store takes
     * it only while the rep has no more than the lowest of the others, so a
     * route that gave the rep leads meanwhile, on any thread or host, until
     * it is no longer least loaded makes this one conflict and decide again,
     * as a pool state's version does. */
    if (how == LR_HOW_STRATEGY && c->load_bound < UINT32_MAX &&
        (cm.capacity == 0 || c->load_bound + 1 < cm.capacity))
        cm.capacity = c->load_bound + 1;
    cm.account_key = c->account[0] ? c->account : NULL;
    cm.flags = c->follow_up ? LEADROUTE_COMMIT_FOLLOW_UP : 0;

    d->how = how;
    d->rep = lr__decision_ref(d, rep->id);
    d->pool = p ? lr__decision_ref(d, p->id) : LR_NONE;
    d->rep_index = ri;
    d->pool_index = p ? (uint32_t)(p - c->ro->pools) : LR_NONE;
    /* Nothing may be lost once the store holds the assignment: a decision that already lost a
     * string fails here, and the text written afterwards and the pending notification are
     * reserved now. */
    if (d->nomem || lr__decision_reserve(d, LR_AFTER_COMMIT_TEXT) != 0)
        return lr__error_nomem();
    if ((rc = lr__pending_reserve(c, rep->id, p ? p->id : NULL)) != 0)
        return rc;
    if (c->flags & LEADROUTE_ROUTE_DRY_RUN) {
        d->status = LEADROUTE_ROUTE_ASSIGNED;
        return LR_DONE;
    }
    rc = lr__caps_commit(c, &cm, rep, p, how, owner, sizeof owner, &taken, &caps_failed);
    if (taken)
        return LR_RETRY; /* another route took the last unit: decide again */
    if (caps_failed)
        return rc; /* already reported, naming the window callback (or out of memory) */
    if (rc == LEADROUTE_ECONFLICT)
        return LR_RETRY;
    if (rc == LEADROUTE_EEXISTS) {
        /* someone claimed the key meanwhile: theirs stands */
        owner[sizeof owner - 1] = 0;
        if (!owner[0] && !c->follow_up) /* only a tick's move may find the lead closed meanwhile */
            return lr__error_set(LEADROUTE_ECALLBACK,
                                 "store commit callback said key '%s' is claimed but gave no rep id",
                                 lr__key_shown(c->key));
        d->status = LEADROUTE_ROUTE_EXISTING;
        d->how = LR_HOW_EXISTING;
        d->rep = lr__decision_str(d, owner);
        d->pool = d->previous = LR_NONE; /* this call moved nothing */
        d->rep_index = d->pool_index = LR_NONE;
        lr__nothing_written(d);
        lr__reason(d, "already assigned to %s (claimed while this call was deciding)", owner);
        return LR_DONE;
    }
    if (rc != 0)
        return lr__store_failed(c->r, "store commit", rc);
    d->status = LEADROUTE_ROUTE_ASSIGNED;
    return LR_DONE;
}

static int lr__pool_walk(lr__call *c, uint32_t first_pool);

/* Route to the direct owner `id`; returns LR_DONE, LR_RETRY, 1 + 1 (= 2) to
 * fall through to the pool, or a negative error. */
#define LR_FALL_THROUGH 2
static int lr__direct(lr__call *c, uint32_t ri, const char *id)
{
    leadroute_decision *d = c->d;
    char detail[300];
    int v;
    if (ri == LR_NONE) {
        lr__candidate_add(c, LR_NONE, id, NULL, LEADROUTE_VERDICT_EXCLUDED, "not in the roster");
        lr__reason(d, "direct owner %s is not in the roster", id);
        return LR_FALL_THROUGH;
    }
    if ((v = lr__owner_checks(c, ri, 1, detail, sizeof detail)) < 0)
        return v;
    if (v) {
        lr__candidate_add(c, ri, c->ro->reps[ri].id, NULL, (uint32_t)v, detail);
        lr__reason(d, "direct owner %s cannot take it: %s", id, detail);
        return LR_FALL_THROUGH;
    }
    lr__candidate_add(c, ri, c->ro->reps[ri].id, NULL, LEADROUTE_VERDICT_CHOSEN, NULL);
    v = lr__commit(c, ri, NULL, NULL, 0, LR_HOW_DIRECT);
    if (v == LR_DONE && d->status == LEADROUTE_ROUTE_ASSIGNED)
        lr__reason(d, "rule %s names %s as owner", c->rule_id, id);
    return v;
}

/* Account owner first: the rep holding the lead's account key. */
static int lr__account_owner(lr__call *c, const lr__pool *p)
{
    leadroute_router *r = c->r;
    leadroute_decision *d = c->d;
    char holder[LEADROUTE_MAX_NAME + 1], detail[300];
    uint32_t ri;
    int rc, v;
    const char *domain = c->account + 8;
    if (!p->owner_first || !c->account[0])
        return LR_FALL_THROUGH;
    /* the domain's holder, else its parent's ("acme.com" for "eu.acme.com"), up to three levels up */
    for (int up = 0;; up++) {
        char key[8 + LR_ACCOUNT_DOMAIN_CAP];
        size_t at = up ? lr__account_parent(domain, strlen(domain)) : 0;
        if (up && (at == 0 || up > 3))
            return LR_FALL_THROUGH;
        domain += at;
        memcpy(key, "account:", 8);
        memcpy(key + 8, domain, strlen(domain) + 1);
        if ((rc = lr__store_holder(r, key, holder, sizeof holder)) < 0)
            return rc;
        if (rc > 0)
            break;
    }
    if ((ri = lr__roster_rep(c->ro, holder)) == LR_NONE) {
        lr__candidate_add(c, LR_NONE, holder, p, LEADROUTE_VERDICT_EXCLUDED, "account owner not in the roster");
        return LR_FALL_THROUGH;
    }
    if ((v = lr__owner_checks(c, ri, 1, detail, sizeof detail)) < 0)
        return v;
    if (v) {
        char line[360];
        lr__textf(line, sizeof line, "account owner: %s", detail);
        lr__candidate_add(c, ri, c->ro->reps[ri].id, p, (uint32_t)v, line);
        return LR_FALL_THROUGH;
    }
    lr__candidate_add(c, ri, c->ro->reps[ri].id, p, LEADROUTE_VERDICT_CHOSEN, "account owner");
    if (c->trace) {
        uint32_t k;
        for (k = 0; k < p->nmembers; k++)
            if (p->members[k] != ri)
                lr__candidate_add(c, p->members[k], c->ro->reps[p->members[k]].id, p, LEADROUTE_VERDICT_NOT_ASKED,
                                  "the account owner comes first");
    }
    rc = lr__commit(c, ri, p, NULL, 0, LR_HOW_ACCOUNT);
    if (rc == LR_DONE && d->status == LEADROUTE_ROUTE_ASSIGNED)
        lr__reason(d, "%s owns the account %s", holder, domain);
    return rc;
}

/* Value balancing: each eligible rep's summed deal value and count over the
 * pool's window, plus a join offset kept in the pool state. Joining at the
 * level (once the pool has more than a day of history): a rep with nothing
 * in the last 24 hours (back from leave, or new) whose sum is below the
 * lowest sum of those who had leads is given the difference as an offset,
 * so it enters level and takes its turn instead of every big deal. The
 * offset shrinks to nothing over one window, as the deficit it stands for
 * slides out of the window. The state: "vb1", then one line per offset,
 * "<offset> <as of ms> <rep id>". Returns the pick, or < 0; the next state
 * is in c->next. */
/* One line of a "vb1" state: "OFFSET SINCE REP": an offset as it was set at
 * SINCE. Returns 0 for a line that is not one (damaged: forgotten). */
static int lr__vb_line(const char *line, const char *eol, double *off, int64_t *at, const char **id, size_t *id_len)
{
    const char *sp1 = memchr(line, ' ', (size_t)(eol - line)), *sp2;
    double t;
    sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
    if (!sp2 || lr__parse_number(line, (size_t)(sp1 - line), off) != 0 ||
        lr__parse_number(sp1 + 1, (size_t)(sp2 - sp1 - 1), &t) != 0 || !(fabs(t) < 9.2e18))
        return 0;
    *at = (int64_t)t;
    *id = sp2 + 1;
    *id_len = (size_t)(eol - sp2 - 1);
    return 1;
}

/* The eligible rep with this id, or n. */
static uint32_t lr__vb_member(const lr__call *c, const uint32_t *el, uint32_t n, const char *id, size_t id_len)
{
    uint32_t i;
    for (i = 0; i < n; i++) {
        const lr__rep *rep = &c->ro->reps[el[i]];
        if (id_len == rep->id_len && memcmp(id, rep->id, id_len) == 0)
            break;
    }
    return i;
}

/* Value balanced. A joining rep's offset is kept in the pool state as set
 * (amount and time) and read as shrinking linearly to nothing over one
 * value window, as the deficit it stands for slides out of the window; it
 * is rewritten only when it grows. Offsets of reps not eligible for this
 * lead (away, lacking a skill, at a cap) are carried over as they are.
 * Plain sums (catch-up calibration) read and keep no offset. */
static int lr__value_pick(lr__call *c, const lr__pool *p, const uint32_t *el, uint32_t n, const char *state,
                          size_t len)
{
    leadroute_decision *d = c->d;
    double *value, *offset, *set_off, level = -1;
    uint64_t *count, recent;
    int64_t *since, window = (int64_t)p->value_window_days * 86400000LL;
    uint8_t *idle;
    uint32_t i;
    int rc, pick, history = 0, join = p->calibration == LEADROUTE_CALIBRATE_JOIN;
    int vb1 = join && len >= 3 && memcmp(state, "vb1", 3) == 0;
    size_t bytes = (4 * sizeof(double) + sizeof(uint64_t) + sizeof(int64_t) + 1) * (size_t)n;
    void *mem;
    const char *q, *end = state + len;
    /* scratch kept in the decision: routing allocates only to grow it */
    if (d->vbuf_cap < bytes) {
        void *grown = lr__realloc(&d->alloc, d->vbuf, d->vbuf_cap, bytes);
        if (!grown)
            return lr__error_nomem();
        d->vbuf = grown;
        d->vbuf_cap = bytes;
    }
    mem = d->vbuf;
    value = mem;
    offset = value + n;
    set_off = offset + n;
    count = (uint64_t *)(set_off + n);
    since = (int64_t *)(count + n);
    idle = (uint8_t *)(since + n);
    for (i = 0; i < n; i++) {
        offset[i] = set_off[i] = 0;
        since[i] = 0;
    }
    /* The next state is written as this one is read: the offsets of reps
     * not eligible for this lead go on as they are, until their window is
     * over; the eligible reps' come after the pick. Room for both first. */
    {
        size_t need = 4 + len;
        for (i = 0; i < n; i++)
            need += 1 + 40 + 1 + 24 + 1 + c->ro->reps[el[i]].id_len;
        if (c->next.cap < need + 1) {
            char *t = lr__realloc(&d->alloc, c->next.text, c->next.cap, need + 1);
            if (!t)
                return lr__error_nomem();
            c->next.text = t;
            c->next.cap = need + 1;
        }
        memcpy(c->next.text, "vb1", 3);
        c->next.len = 3;
    }
    for (q = vb1 ? state + 3 : end; q < end && *q == '\n';) {
        const char *line = q + 1, *eol = memchr(line, '\n', (size_t)(end - line)), *id;
        double off;
        int64_t at, age;
        size_t id_len;
        if (!eol)
            eol = end;
        q = eol;
        if (!lr__vb_line(line, eol, &off, &at, &id, &id_len))
            continue;
        age = lr__time_sub(d->at_ms, at);
        if (!(off > 0) || age < 0 || age >= window)
            continue; /* over, or from a clock ahead: forgotten */
        if ((i = lr__vb_member(c, el, n, id, id_len)) == n) {
            c->next.text[c->next.len++] = '\n';
            memcpy(c->next.text + c->next.len, line, (size_t)(eol - line));
            c->next.len += (size_t)(eol - line);
            continue;
        }
        set_off[i] = off;
        since[i] = at;
        offset[i] = off * (1.0 - (double)age / (double)window);
    }
    if (join) {
        /* a level exists once the pool has more than a day of history; a
         * pool starting up has none, and its reps start even */
        uint64_t all, day;
        if ((rc = lr__window(c, NULL, p->id, lr__time_sub(d->at_ms, window), &all, NULL)) != 0 ||
            (rc = lr__window(c, NULL, p->id, lr__time_sub(d->at_ms, lr__window_ms[0]), &day, NULL)) != 0)
            goto done;
        history = all > day;
    }
    for (i = 0; i < n; i++) {
        const lr__rep *rep = &c->ro->reps[el[i]];
        if ((rc = lr__window(c, rep->id, NULL, lr__time_sub(d->at_ms, window), &count[i], &value[i])) != 0)
            goto done;
        value[i] += offset[i];
        idle[i] = 0;
        if (history) {
            if ((rc = lr__window(c, rep->id, NULL, lr__time_sub(d->at_ms, lr__window_ms[0]), &recent, NULL)) != 0)
                goto done;
            idle[i] = recent == 0;
            if (!idle[i] && (level < 0 || value[i] < level))
                level = value[i];
        }
    }
    for (i = 0; i < n && level >= 0; i++)
        if (idle[i] && value[i] < level) {
            /* the offset grows: it is set anew, as it stands now */
            offset[i] += level - value[i];
            set_off[i] = offset[i];
            since[i] = d->at_ms;
            value[i] = level;
        }
    pick = lr__pick_value(value, count, n);
    /* the eligible reps' offsets, as they were set */
    for (i = 0; i < n; i++) {
        const lr__rep *rep = &c->ro->reps[el[i]];
        char *o = c->next.text;
        if (!(set_off[i] > 0))
            continue;
        o[c->next.len++] = '\n';
        c->next.len += lr__format_double(o + c->next.len, 40, set_off[i]);
        o[c->next.len++] = ' ';
        c->next.len += (size_t)snprintf(o + c->next.len, 24, "%lld", (long long)since[i]);
        o[c->next.len++] = ' ';
        memcpy(o + c->next.len, rep->id, rep->id_len);
        c->next.len += rep->id_len;
    }
    c->next.text[c->next.len] = 0;
    rc = pick;
done:
    return rc;
}

/* The decision's caches of the states it wrote last point into a roster:
 * forgotten when another one is in use (its pools may sit at the same
 * addresses). */
static void lr__caches_forget(leadroute_decision *d)
{
    uint32_t i;
    d->wcache.pool = NULL;
    for (i = 0; i < d->cap_rcaches; i++)
        d->rcaches[i].pool = NULL;
}

/* Round robin's cache for pool `p`: one per pool, since leads alternate
 * between pools; NULL when there is no memory for it (it is only a cache). */
static lr__wcache *lr__rcache_of(leadroute_decision *d, const leadroute_roster *ro, const lr__pool *p)
{
    uint32_t at = (uint32_t)(p - ro->pools);
    if (at >= d->cap_rcaches) {
        lr__wcache *grown = lr__realloc(&d->alloc, d->rcaches, sizeof *grown * d->cap_rcaches,
                                        sizeof *grown * ro->npools);
        if (!grown)
            return NULL;
        memset(grown + d->cap_rcaches, 0, sizeof *grown * (ro->npools - d->cap_rcaches));
        d->rcaches = grown;
        d->cap_rcaches = ro->npools;
    }
    return &d->rcaches[at];
}

/* Try one pool: LR_DONE, LR_RETRY, LR_FALL_THROUGH (no one), or error. */
static int lr__pool_try(lr__call *c, const lr__pool *p)
{
    leadroute_decision *d = c->d;
    uint32_t i, n = 0, nkept = 0, *el, *kept, *open = NULL;
    int need_open = p->strategy == LEADROUTE_STRATEGY_LEAST_LOADED, rc, pick;
    char detail[300];
    size_t len = 0;
    uint64_t version = 0;
    uint32_t mark = d->ncands;
    lr__pool_view pv;

    /* the pool's own rolling caps: when reached, no member takes the lead,
     * the account owner neither */
    if (p->has_caps) {
        char why[120];
        int v = lr__caps_check(c, p->caps, NULL, p->id, why, sizeof why);
        if (v < 0)
            return v;
        if (v) {
            lr__textf(c->note, sizeof c->note, "pool %s %s", p->id, why);
            if (c->trace)
                for (i = 0; i < p->nmembers; i++)
                    lr__candidate_add(c, p->members[i], c->ro->reps[p->members[i]].id, p, (uint32_t)v, c->note);
            return LR_FALL_THROUGH;
        }
    }
    if ((rc = lr__account_owner(c, p)) != LR_FALL_THROUGH)
        return rc;
    if (d->cap_scratch < 3 * p->nmembers + 3) {
        uint32_t cap = d->cap_scratch;
        if (lr__vec_reserve(&d->alloc, (void **)&d->scratch, &cap, 3 * (size_t)p->nmembers + 3,
                            sizeof *d->scratch))
            return LEADROUTE_ENOMEM;
        d->cap_scratch = cap;
    }
    el = d->scratch;
    kept = d->scratch + p->nmembers + 1;
    if (need_open)
        open = d->scratch + 2 * (p->nmembers + 1);
    if ((rc = lr__pool_view_init(c, p, &pv)) != 0)
        return rc;
    for (i = 0; i < p->nmembers; i++) {
        uint32_t ri = p->members[i];
        const lr__rep *rep = &c->ro->reps[ri];
        size_t cap = c->trace ? sizeof detail : 0;
        int v;
        detail[0] = 0;
        if (!rep->active) {
            v = LEADROUTE_VERDICT_EXCLUDED;
            snprintf(detail, sizeof detail, "inactive");
        } else if (lr__excluded(c, ri, detail, sizeof detail)) {
            v = LEADROUTE_VERDICT_EXCLUDED;
            kept[nkept++] = ri; /* kept out by this lead alone */
        } else if ((v = (int)lr__static_checks(c, p, &pv, i, rep, detail, cap)) == 0) {
            v = lr__live_checks(c, ri, need_open ? &open[n] : NULL, detail, cap);
            if (v < 0)
                return v;
        } else {
            kept[nkept++] = ri; /* a skill or a tier: this lead alone */
        }
        if (v) {
            if (c->trace)
                lr__candidate_add(c, ri, rep->id, p, (uint32_t)v, detail);
            continue;
        }
        el[n++] = ri;
    }
    if (n == 0)
        return LR_FALL_THROUGH;
    if (p->strategy == LEADROUTE_STRATEGY_VALUE_BALANCED) {
        if ((rc = lr__load_state(c, p, &len, &version)) != 0)
            return rc;
        if ((pick = lr__value_pick(c, p, el, n, c->state ? c->state : "", len)) < 0)
            return pick;
    } else {
        if (p->strategy != LEADROUTE_STRATEGY_LEAST_LOADED && (rc = lr__load_state(c, p, &len, &version)) != 0)
            return rc;
        lr__wcache *cache = p->strategy == LEADROUTE_STRATEGY_ROUND_ROBIN ? lr__rcache_of(d, c->ro, p) : &d->wcache;
        pick = lr__strategy_pick(c->ro, p, el, n, kept, nkept, open, c->state ? c->state : "", len, &c->next,
                                 &d->alloc, cache);
        if (pick < 0)
            return pick;
    }
    if (c->trace) {
        d->state_before = lr__decision_strn(d, c->state ? c->state : "", len);
        d->state_after = lr__decision_strn(d, c->next.text ? c->next.text : "", c->next.len);
        for (i = 0; i < n; i++) {
            char load[64];
            if (open)
                snprintf(load, sizeof load, "%u open leads", open[i]);
            lr__candidate_add(c, el[i], c->ro->reps[el[i]].id, p,
                              i == (uint32_t)pick ? LEADROUTE_VERDICT_CHOSEN : LEADROUTE_VERDICT_ELIGIBLE,
                              open ? load : NULL);
        }
    } else {
        lr__candidate_add(c, el[pick], c->ro->reps[el[pick]].id, p, LEADROUTE_VERDICT_CHOSEN, NULL);
    }
    d->strategy = p->strategy;
    /* the least loaded must stay so until the store takes the lead: it may
     * have no more open leads then than the others had when read, as theirs
     * only grow (closes aside); alone, it has no one to stay below */
    c->load_bound = UINT32_MAX;
    for (i = 0; need_open && i < n; i++)
        if (i != (uint32_t)pick && open[i] < c->load_bound)
            c->load_bound = open[i];
    rc = lr__commit(c, el[pick], p, need_open ? NULL : &c->next, version, LR_HOW_STRATEGY);
    c->load_bound = UINT32_MAX;
    if (rc == LR_RETRY)
        d->ncands = mark;
    else if (rc == LR_DONE && d->status == LEADROUTE_ROUTE_ASSIGNED) {
        d->reason = LR_LAZY;
        d->lazy_eligible = n;
        d->lazy_members = p->nmembers;
    }
    return rc;
}

/* The pools walked, "a -> b", for a reason; only the rarer paths need it.
 * A chain too long for `chain` keeps its first and last pools whole:
 * "a -> ... -> z (12 pools)". */
#define LR_CHAIN_MAX (2 * LEADROUTE_MAX_NAME + 64)
static void lr__chain_text(const leadroute_decision *d, char chain[LR_CHAIN_MAX])
{
    size_t off = 0;
    uint32_t i;
    chain[0] = 0;
    for (i = 0; i < d->nchain; i++) {
        const char *id = lr__decision_at(d, d->chain[i]);
        int n = snprintf(chain + off, LR_CHAIN_MAX - off, "%s%s", i ? " -> " : "", id ? id : "?");
        if (n < 0 || (size_t)n >= LR_CHAIN_MAX - off) {
            const char *first = lr__decision_at(d, d->chain[0]), *last = lr__decision_at(d, d->chain[d->nchain - 1]);
            snprintf(chain, LR_CHAIN_MAX, "%s -> ... -> %s (%u pools)", first ? first : "?", last ? last : "?",
                     d->nchain);
            return;
        }
        off += (size_t)n;
    }
}

/* Walk the pool chain from `first`; ends with a decision, a retry, or an error. */
static int lr__pool_walk(lr__call *c, uint32_t first)
{
    leadroute_decision *d = c->d;
    const lr__pool *p = NULL;
    uint32_t pi = first, steps = 0;
    int rc;
    char chain[LR_CHAIN_MAX];

    for (; pi != LR_NONE && steps <= c->ro->npools; pi = p->fallback, steps++) {
        p = &c->ro->pools[pi];
        if (d->nchain == d->cap_chain &&
            lr__vec_reserve(&d->alloc, (void **)&d->chain, &d->cap_chain, (size_t)d->nchain + 1, sizeof *d->chain))
            return lr__error_nomem();
        d->chain[d->nchain++] = lr__decision_ref(d, p->id);
        if ((rc = lr__pool_try(c, p)) != LR_FALL_THROUGH)
            return rc;
    }
    lr__chain_text(d, chain);
    /* nobody in the whole chain: the last pool's policy */
    if (p->on_empty == LEADROUTE_EMPTY_DEFAULT_OWNER) {
        char detail[300];
        int v = lr__owner_checks(c, p->default_owner, 0, detail, sizeof detail);
        if (v < 0)
            return v;
        if (v == 0) {
            lr__candidate_add(c, p->default_owner, c->ro->reps[p->default_owner].id, p, LEADROUTE_VERDICT_CHOSEN,
                              "default owner");
            rc = lr__commit(c, p->default_owner, p, NULL, 0, LR_HOW_DEFAULT_OWNER);
            if (rc == LR_DONE && d->status == LEADROUTE_ROUTE_ASSIGNED)
                lr__reason(d, "no rep in %s could take it; default owner of pool %s", chain, p->id);
            return rc;
        }
        lr__reason(d, "no rep in %s could take it, and default owner %s cannot either: %s", chain,
                   c->ro->reps[p->default_owner].id, detail);
    } else if (p->on_empty == LEADROUTE_EMPTY_QUEUE) {
        d->status = LEADROUTE_ROUTE_QUEUED;
        d->queue = lr__decision_str(d, p->queue);
        d->pool = lr__decision_ref(d, p->id);
        lr__reason(d, "no rep in %s could take it%s%s; queued in %s", chain, c->note[0] ? ": " : "", c->note,
                   p->queue);
        return LR_DONE;
    } else {
        lr__reason(d, "no rep in %s could take it%s%s; the pool leaves it unassigned", chain, c->note[0] ? ": " : "",
                   c->note);
    }
    d->status = LEADROUTE_ROUTE_UNASSIGNED;
    d->pool = lr__decision_ref(d, p->id);
    c->unrouted = LEADROUTE_UNROUTED_EMPTY;
    return LR_DONE;
}

static const char *lr__out_text(const leadroute_result *res, uint32_t j, char *buf, size_t cap)
{
    const leadroute_value *v;
    if (j == LR_NONE || !(v = leadroute_result_output(res, 0, j)))
        return NULL;
    if (v->type == LEADROUTE_VALUE_STRING)
        return v->string && v->string[0] ? v->string : NULL;
    if (v->type == LEADROUTE_VALUE_NUMBER) {
        lr__format_double(buf, cap, v->number);
        return buf;
    }
    if (v->type == LEADROUTE_VALUE_BOOL)
        return v->boolean ? "true" : "false";
    return NULL;
}

/* Undo what an attempt that lost its commit to a conflict wrote into the
 * decision, so that the next one decides afresh: from the deadline the
 * rule gave (`sla_minutes`), with no pool state, pick or trace of its own. */
static void lr__attempt_reset(leadroute_decision *d, double sla_minutes)
{
    d->status = 0;
    d->how = LR_HOW_NONE;
    d->strategy = 0;
    d->rep = d->pool = d->queue = d->reason = d->state_before = d->state_after = LR_NONE;
    d->rep_index = d->pool_index = LR_NONE;
    d->sla_minutes = sla_minutes;
    d->deadline_ms = 0;
    d->value = 0;
    d->hops = 0;
    d->escalated = 0;
    d->ncands = d->nchain = 0;
}

/* Forget the previous call; its generation stays for the next one to reuse. */
static void lr__decision_clear(leadroute_decision *d)
{
    lr__attempt_reset(d, 0);
    d->code = 0;
    d->rule = d->label = d->tags = LR_NONE;
    d->lead_id = d->key = d->previous = LR_NONE;
    d->rule_index = LR_NONE;
    d->rule_line = 0;
    d->table_hash = 0;
    d->notified = 0;
    d->dry_run = 0;
    d->nomem = 0;
    d->at_ms = 0;
    d->text_len = 0;
    d->next = 0;
}

static int lr__decision_reset(leadroute_decision *d, lr__gen *g)
{
    uint32_t n = g->roster->nreps;
    lr__decision_clear(d);
    d->table_hash = leadroute_table_hash(g->table);
    if (d->cap_avail < n + 1) {
        uint8_t *av = lr__calloc(&d->alloc, (size_t)n + 1, 1);
        uint8_t *ex = lr__calloc(&d->alloc, (size_t)n + 1, 1);
        uint32_t *ar = lr__calloc(&d->alloc, (size_t)n + 1, sizeof *ar);
        if (!av || !ar || !ex) {
            lr__free(&d->alloc, av);
            lr__free(&d->alloc, ex);
            lr__free(&d->alloc, ar);
            return lr__error_nomem();
        }
        lr__free(&d->alloc, d->avail);
        lr__free(&d->alloc, d->excl);
        lr__free(&d->alloc, d->avail_reason);
        d->avail = av;
        d->excl = ex;
        d->avail_reason = ar;
        d->cap_avail = n + 1;
    } else {
        memset(d->avail, 0, n);
        memset(d->excl, 0, n);
    }
    if (d->result_table != g->table) {
        leadroute_allocator allocator;
        int rc;
        lr__alloc_export(&d->alloc, &allocator);
        rc = d->result ? leadroute_result_reserve(d->result, g->table)
                           : leadroute_result_new(&d->result, g->table, &allocator);
        if (rc)
            return rc;
        d->result_table = g->table;
    }
    return LEADROUTE_OK;
}

static int lr__unrouted(lr__call *c, int rc)
{
    leadroute_decision *d = c->d;
    const leadroute_error *e = leadroute_error_last();
    char msg[LR_REASON_MAX];
    lr__textf(msg, sizeof msg, "%s", e->code == rc && e->message ? e->message : leadroute_strerror(rc));
    d->status = LEADROUTE_ROUTE_UNROUTED;
    d->code = rc;
    d->rep = d->pool = d->queue = d->previous = LR_NONE;
    d->how = LR_HOW_NONE;
    lr__nothing_written(d);
    d->reason = lr__decision_str(d, msg);
    lr__count_unrouted(c, LEADROUTE_UNROUTED_ERROR);
    /* the message stays the caller's last error */
    return lr__error_set(rc, "%s", msg);
}

/* Whether the lead's key is claimed (lr__store_holder). */
static int lr__find_claim(lr__call *c, char *holder, size_t cap)
{
    return lr__store_holder(c->r, c->key, holder, cap);
}

/* The outcome for a lead `holder` has claimed already. */
static int lr__existing(lr__call *c, const char *holder)
{
    leadroute_decision *d = c->d;
    d->status = LEADROUTE_ROUTE_EXISTING;
    d->how = LR_HOW_EXISTING;
    d->rep = lr__decision_str(d, holder);
    lr__reason(d, "already assigned to %s (key %s)", holder, c->key + 5);
    if (d->nomem)
        return lr__unrouted(c, lr__error_nomem());
    lr__count_hit(c);
    return LEADROUTE_OK;
}

/* A reassignment that found no one else: the holder keeps the lead, as the
 * store says, and the empty pool's policy (a queue, or unassigned) does not
 * apply to a lead someone holds. The trace stays: it says why no one else. */
static int lr__kept(lr__call *c, const char *holder)
{
    leadroute_decision *d = c->d;
    char chain[LR_CHAIN_MAX];
    lr__chain_text(d, chain);
    d->status = LEADROUTE_ROUTE_EXISTING;
    d->how = LR_HOW_EXISTING;
    d->strategy = 0;
    d->rep = lr__decision_str(d, holder);
    d->pool = d->queue = d->previous = LR_NONE;
    d->state_before = d->state_after = LR_NONE;
    lr__reason(d, "reassignment found no one else to take it, so %s keeps it%s%s%s%s%s", holder,
               chain[0] ? " (pools tried: " : "", chain, chain[0] && c->note[0] ? "; " : "",
               chain[0] ? c->note : "", chain[0] ? ")" : "");
    if (d->nomem)
        return lr__unrouted(c, lr__error_nomem());
    lr__count_hit(c);
    return LEADROUTE_OK;
}

/* Copy `src` (or nothing for NULL) to `*at`, moving it on. */
static const char *lr__pack(char **at, const char *src)
{
    char *dst = *at;
    size_t n;
    if (!src)
        return NULL;
    n = strlen(src) + 1;
    memcpy(dst, src, n);
    *at += n;
    return dst;
}

/* ---- pending notifications: a list in recording order, and buckets by key ---- */

static lr__pending **lr__pending_bucket(leadroute_router *r, uint64_t hash)
{
    return &r->pending_buckets[hash & r->pending_mask];
}

/* Rehash the pending list into `n` (a power of two) buckets at `to`, or
 * back into the router's own when `to` is NULL. Under pending_lock. */
static void lr__pending_rehash(leadroute_router *r, lr__pending **to, size_t n)
{
    lr__pending *p;
    if (r->pending_buckets != r->pending_own)
        lr__free(&r->alloc, r->pending_buckets);
    if (!to) {
        to = r->pending_own;
        n = LR_PENDING_BUCKETS;
    }
    memset(to, 0, sizeof *to * n);
    r->pending_buckets = to;
    r->pending_mask = n - 1;
    for (p = r->pending; p; p = p->next) {
        lr__pending **b = lr__pending_bucket(r, p->hash);
        p->same = *b;
        *b = p;
    }
}

/* Record `p` last. Under pending_lock. */
static void lr__pending_push(leadroute_router *r, lr__pending *p)
{
    lr__pending **b;
    p->hash = lr__hash(p->key, strlen(p->key));
    b = lr__pending_bucket(r, p->hash);
    p->next = NULL;
    p->pprev = r->pending_tail;
    *r->pending_tail = p;
    r->pending_tail = &p->next;
    p->seq = ++r->pending_seq;
    p->same = *b;
    *b = p;
    r->npending++;
    atomic_store_explicit(&r->npending_hint, r->npending, memory_order_relaxed);
    /* past two per bucket: four times the buckets, when there is memory for
     * them (else the chains grow longer, and nothing is lost) */
    if (r->npending > 2 * (r->pending_mask + 1) && r->pending_mask < (SIZE_MAX >> 4) / sizeof *b) {
        size_t n = 4 * (r->pending_mask + 1);
        lr__pending **grown = lr__malloc(&r->alloc, sizeof *grown * n);
        if (grown)
            lr__pending_rehash(r, grown, n);
    }
}

/* Unlink and free `p`. Under pending_lock. */
static void lr__pending_drop(leadroute_router *r, lr__pending *p)
{
    lr__pending **b = lr__pending_bucket(r, p->hash);
    *p->pprev = p->next;
    if (p->next)
        p->next->pprev = p->pprev;
    else
        r->pending_tail = p->pprev;
    while (*b != p)
        b = &(*b)->same;
    *b = p->same;
    r->npending--;
    r->pending_cursor = NULL;
    atomic_store_explicit(&r->npending_hint, r->npending, memory_order_relaxed);
    lr__free(&r->alloc, p);
    if (r->npending == 0 && r->pending_buckets != r->pending_own)
        lr__pending_rehash(r, NULL, 0); /* the grown table goes with the last one */
}

/* A notification of `key` was delivered: the pending ones of that lead are
 * superseded (delivered after it, they would undo what the host knows).
 * Under pending_lock. */
static void lr__pending_supersede(leadroute_router *r, const char *key)
{
    lr__pending *p, *next;
    if (!r->npending)
        return;
    for (p = *lr__pending_bucket(r, lr__hash(key, strlen(key))); p; p = next) {
        next = p->same;
        if (strcmp(p->key, key) == 0) {
            if (p->in_flight)
                p->superseded = 1; /* its retry drops it */
            else
                lr__pending_drop(r, p);
        }
    }
}

/* Whether a notification of p's lead was recorded after `p`. Under pending_lock. */
static int lr__pending_has_later(leadroute_router *r, const lr__pending *p)
{
    const lr__pending *q;
    for (q = *lr__pending_bucket(r, p->hash); q; q = q->same)
        if (q->seq > p->seq && strcmp(q->key, p->key) == 0)
            return 1;
    return 0;
}

/* Whether another notification of p's lead is being delivered by a retry.
 * Under pending_lock. */
static int lr__pending_lead_in_flight(leadroute_router *r, const lr__pending *p)
{
    const lr__pending *q;
    for (q = *lr__pending_bucket(r, p->hash); q; q = q->same)
        if (q != p && q->in_flight && strcmp(q->key, p->key) == 0)
            return 1;
    return 0;
}

static void lr__notify(lr__call *c)
{
    leadroute_router *r = c->r;
    leadroute_decision *d = c->d;
    leadroute_assignment a;
    lr__pending *p;
    char *at;
    size_t need;
    int rc;

    if (!r->has_notify || (c->flags & LEADROUTE_ROUTE_DRY_RUN))
        return;
    memset(&a, 0, sizeof a);
    a.version = LEADROUTE_ASSIGNMENT_VERSION;
    a.key = c->key;
    a.lead_id = c->lead->id;
    a.rep_id = lr__decision_at(d, d->rep);
    a.previous = c->previous[0] ? c->previous : NULL;
    a.pool_id = lr__decision_at(d, d->pool);
    a.rule_id = c->rule_id;
    a.table_hash = d->table_hash;
    a.at_ms = d->at_ms;
    a.sla_minutes = d->sla_minutes;
    a.deadline_ms = d->deadline_ms;
    a.value = d->value;
    a.hops = d->hops;
    a.escalated = d->escalated;
    rc = r->notify.assigned(r->notify_user, &a);
    if (rc == 0) {
        d->notified = 1;
        if (atomic_load_explicit(&r->npending_hint, memory_order_relaxed)) {
            pthread_mutex_lock(&r->pending_lock);
            lr__pending_supersede(r, c->key);
            pthread_mutex_unlock(&r->pending_lock);
        }
        return;
    }
    /* The assignment stands; keep the notification for a retry, in the block reserved before
     * the commit (lr__pending_reserve), so that this cannot fail. */
    need = lr__pending_size(c, a.rep_id, a.pool_id);
    if (d->spare && d->spare_cap >= need && lr__same_alloc(&d->spare_alloc, &r->alloc)) {
        p = d->spare;
        d->spare = NULL;
    } else {
        p = lr__malloc(&r->alloc, need); /* notify was set while this call was deciding */
    }
    if (!p) {
        lr__reason(d, "%s; notify failed with %d, and the notification is lost: out of memory",
                   leadroute_decision_reason(d), rc);
        return;
    }
    memset(p, 0, sizeof *p);
    at = (char *)(p + 1);
    p->key = lr__pack(&at, a.key);
    p->rep_id = lr__pack(&at, a.rep_id);
    p->lead_id = lr__pack(&at, a.lead_id);
    p->pool_id = lr__pack(&at, a.pool_id);
    p->rule_id = lr__pack(&at, a.rule_id);
    p->previous = lr__pack(&at, a.previous);
    p->table_hash = a.table_hash;
    p->at_ms = a.at_ms;
    p->sla_minutes = a.sla_minutes;
    p->deadline_ms = a.deadline_ms;
    p->value = a.value;
    p->hops = a.hops;
    p->escalated = a.escalated;
    pthread_mutex_lock(&r->pending_lock);
    lr__pending_push(r, p);
    pthread_mutex_unlock(&r->pending_lock);
    lr__reason(d, "%s; notify failed with %d, the notification is pending", leadroute_decision_reason(d), rc);
}

int leadroute_route(leadroute_router *r, const leadroute_lead *lead, uint32_t flags, leadroute_decision *d)
{
    lr__call c;
    leadroute_result *res;
    const char *owner, *pool, *queue, *key;
    uint32_t owner_ri, pool_pi;
    char nbuf[4][40];
    uint32_t attempt;
    double rule_sla;
    int rc, key_ok, key_bad;

    if (!d)
        return lr__error_set(LEADROUTE_EINVAL, "decision must not be NULL");
    if (!r || !lead || (flags & ~(LEADROUTE_ROUTE_TRACE | LEADROUTE_ROUTE_REASSIGN | LEADROUTE_ROUTE_DRY_RUN))) {
        /* misuse: the decision must not keep telling of the previous lead */
        if (!r || !lead)
            rc = lr__error_set(LEADROUTE_EINVAL, "router and lead must not be NULL");
        else
            rc = lr__error_set(LEADROUTE_EINVAL, "unknown route flags 0x%x", flags);
        lr__decision_clear(d);
        d->status = LEADROUTE_ROUTE_UNROUTED;
        d->code = rc;
        d->reason = lr__decision_str(d, leadroute_error_last()->message);
        if (r && lead && !(flags & LEADROUTE_ROUTE_DRY_RUN))
            lr__striped_add(&r->unrouted[LEADROUTE_UNROUTED_ERROR], d->stripe); /* a lead left unrouted */
        return rc;
    }
    /* not memset: the key buffers are large and filled as needed */
    c.key[0] = c.account[0] = c.previous[0] = 0;
    c.rule_id = NULL;
    c.load_bound = UINT32_MAX;
    /* state buffers live in the decision, so a call allocates nothing */
    c.next.text = d->next_buf;
    c.next.len = 0;
    c.next.cap = d->next_cap;
    c.state = d->state_buf;
    c.state_cap = d->state_cap;
    c.r = r;
    c.lead = lead;
    c.d = d;
    c.flags = flags;
    c.follow_up = 0;
    c.history = NULL;
    c.nhistory = 0;
    c.trace = (flags & LEADROUTE_ROUTE_TRACE) != 0;
    c.previous_rep = LR_NONE;
    c.fixed_value = -1;
    c.value_pool = NULL;
    c.held_value = 0;
    c.has_excl = 0;
    c.hops = 0;
    c.escalated = 0;
    c.note[0] = 0;
    c.unrouted = LR_NONE;
    c.captured = c.account_value = NULL;
    c.g = lr__gen_refresh(r, d->gen);
    if (c.g != d->gen)
        lr__caches_forget(d); /* their pool pointers belong to the old roster */
    d->gen = c.g;
    c.ro = c.g->roster;
    rc = lr__decision_reset(d, c.g);
    d->dry_run = (flags & LEADROUTE_ROUTE_DRY_RUN) != 0;
    if (rc != 0)
        return lr__unrouted(&c, rc); /* counted and explained as any error */
    d->at_ms = r->clock.now_ms(r->clock_user);
    if ((rc = lr__lead_check_header(lead)) != 0)
        return lr__unrouted(&c, rc);
    if (lead->id && lr__text_check(lead->id, NULL, "lead id", NULL) != 0)
        return lr__unrouted(&c, LEADROUTE_ELEAD);
    d->lead_id = lr__decision_str(d, lead->id);

    /* The dedupe key is read before the table is evaluated, so that the
     * built-in store fetches the key's claim slot from memory meanwhile; a
     * bad key is still reported after the table's errors. */
    key_bad = 0;
    key = r->dedupe_field ? lr__dedupe_text(lead, r->dedupe_field, &key_bad) : lead->id;
    key_ok = 1;
    if (key) {
        size_t n = strnlen(key, LEADROUTE_MAX_STRING + 1);
        /* the lead id was checked above */
        key_ok = key == lead->id || lr__text_check(key, r->dedupe_field, "dedupe key", NULL) == 0;
        if (key_ok) {
            if (lr__claim_key(r, &key, &n, c.key) != 0) {
                key = NULL;
            } else {
                if (r->store_user == r->memstore)
                    lr__memstore_prefetch(r->memstore, c.key, 5 + n);
            }
        }
    }
    res = d->result;
    if ((rc = leadroute_table_eval(c.g->table, lead, res)) != 0)
        return lr__unrouted(&c, rc);
    if (key_bad)
        return lr__unrouted(&c, lr__dedupe_field_error(lead, r->dedupe_field));
    if (!key_ok) {
        lr__text_check(key, r->dedupe_field, "dedupe key", NULL); /* its message again */
        return lr__unrouted(&c, LEADROUTE_ELEAD);
    }
    if (!key) {
        lr__error_set(LEADROUTE_ELEAD, "lead has no %s%s%s: it is needed to route the lead only once",
                      r->dedupe_field ? "'" : "id", r->dedupe_field ? r->dedupe_field : "",
                      r->dedupe_field ? "' field" : "");
        return lr__unrouted(&c, LEADROUTE_ELEAD);
    }
    d->key = lr__decision_str(d, c.key + 5);
    if ((rc = lr__route_fields_check(&c)) != 0)
        return lr__unrouted(&c, rc);

    if (leadroute_result_count(res) == 0) {
        /* a lead a rep holds stays that rep's, whatever it matches now: the
         * answer to routing it again, reassigning too, as when its rule
         * names no one */
        char holder[LEADROUTE_MAX_NAME + 1];
        if ((rc = lr__find_claim(&c, holder, sizeof holder)) < 0)
            return lr__unrouted(&c, rc);
        if (rc == 1)
            return (flags & LEADROUTE_ROUTE_REASSIGN) ? lr__kept(&c, holder) : lr__existing(&c, holder);
        d->status = LEADROUTE_ROUTE_UNASSIGNED;
        lr__reason(d, "no rule matched");
        if (d->nomem)
            return lr__unrouted(&c, lr__error_nomem());
        lr__count_unrouted(&c, LEADROUTE_UNROUTED_NO_RULE);
        return LEADROUTE_OK;
    }
    d->rule_index = (uint32_t)leadroute_result_rule(res, 0);
    c.rule_id = leadroute_result_rule_id(res, 0);
    d->rule = lr__decision_ref(d, c.rule_id);
    d->rule_line = leadroute_table_rule_line(c.g->table, d->rule_index);
    /* targets: indexes resolved at the swap; text only when one is not in the roster */
    owner_ri = c.g->rule_owner ? c.g->rule_owner[d->rule_index] : LR_NONE;
    pool_pi = c.g->rule_pool ? c.g->rule_pool[d->rule_index] : LR_NONE;
    owner = owner_ri == LR_NONE ? NULL
            : owner_ri == LR_LAZY ? lr__out_text(res, c.g->out_owner, nbuf[0], sizeof nbuf[0])
                                  : c.ro->reps[owner_ri].id;
    pool = pool_pi == LR_NONE ? NULL
           : pool_pi == LR_LAZY ? lr__out_text(res, c.g->out_pool, nbuf[1], sizeof nbuf[1])
                                : c.ro->pools[pool_pi].id;
    if (owner_ri == LR_LAZY && owner)
        owner_ri = lr__roster_rep(c.ro, owner);
    if (pool_pi == LR_LAZY && pool)
        pool_pi = lr__roster_pool(c.ro, pool);
    queue = lr__out_text(res, c.g->out_queue, nbuf[2], sizeof nbuf[2]);
    d->label = lr__decision_str(d, lr__out_text(res, c.g->out_status, nbuf[3], sizeof nbuf[3]));
    d->tags = c.g->out_tags == LR_NONE ? LR_NONE : lr__decision_str(d, lr__out_text(res, c.g->out_tags, nbuf[3], sizeof nbuf[3]));
    if (c.g->out_sla != LR_NONE) {
        const leadroute_value *v = leadroute_result_output(res, 0, c.g->out_sla);
        if (v && v->type == LEADROUTE_VALUE_NUMBER && v->number > 0)
            d->sla_minutes = v->number;
    }

    /* claimed already? */
    {
        char holder[LEADROUTE_MAX_NAME + 1];
        if ((rc = lr__find_claim(&c, holder, sizeof holder)) < 0)
            return lr__unrouted(&c, rc);
        if (rc == 1) {
            if (!(flags & LEADROUTE_ROUTE_REASSIGN))
                return lr__existing(&c, holder);
            snprintf(c.previous, sizeof c.previous, "%s", holder);
            c.previous_rep = lr__roster_rep(c.ro, holder);
            d->previous = lr__decision_str(d, holder);
        }
    }
    /* accounts are read, and claimed, only where a pool puts their owners first */
    if (c.ro->owner_first)
        lr__account_key(&c);

    rule_sla = d->sla_minutes;
    for (attempt = 0;; attempt++) {
        lr__attempt_reset(d, rule_sla);
        c.unrouted = LR_NONE;
        c.note[0] = 0; /* a cap met by an attempt given up is no reason of this one */
        if (attempt > 0 && attempt <= r->max_retries)
            lr__conflict_pause(attempt);
        if (attempt > r->max_retries) {
            rc = lr__error_set(LEADROUTE_ECONFLICT, "the store reported a conflict %u times in a row", attempt);
            break;
        }
        rc = LR_FALL_THROUGH;
        if (owner)
            rc = lr__direct(&c, owner_ri, owner);
        if (rc == LR_FALL_THROUGH && pool) {
            uint32_t pi = pool_pi;
            if (pi == LR_NONE) {
                rc = lr__error_set(LEADROUTE_ENOTFOUND, "rule %s names pool '%s', which the roster does not define",
                                   c.rule_id, pool);
                break;
            }
            rc = lr__pool_walk(&c, pi);
        }
        if (rc == LR_FALL_THROUGH) {
            if (queue) {
                d->status = LEADROUTE_ROUTE_QUEUED;
                d->queue = lr__decision_str(d, queue);
                if (owner)
                    lr__reason(d, "%s; queued in %s", leadroute_decision_reason(d), queue);
                else
                    lr__reason(d, "rule %s gives queue %s", c.rule_id, queue);
            } else {
                d->status = LEADROUTE_ROUTE_UNASSIGNED;
                if (!owner)
                    lr__reason(d, "rule %s names no owner, pool or queue", c.rule_id);
                c.unrouted = owner ? LEADROUTE_UNROUTED_EMPTY : LEADROUTE_UNROUTED_NO_TARGET;
            }
            rc = LR_DONE;
        }
        if (rc != LR_RETRY)
            break;
    }
    d->state_buf = c.state;
    d->state_cap = c.state_cap;
    d->next_buf = c.next.text;
    d->next_cap = c.next.cap;
    if (rc < 0)
        return lr__unrouted(&c, rc);
    /* Queued or left unassigned, the call wrote no claim, and the key may be
     * held all the same: by the rep a reassignment found no one to replace,
     * or by another call for the lead that claimed it since the check above.
     * Then that is the outcome, not a queue for a lead a rep holds. A claim
     * made after this check came from a call that began after this one's
     * reads. */
    if (d->status == LEADROUTE_ROUTE_QUEUED || d->status == LEADROUTE_ROUTE_UNASSIGNED) {
        char holder[LEADROUTE_MAX_NAME + 1];
        if ((rc = lr__find_claim(&c, holder, sizeof holder)) < 0)
            return lr__unrouted(&c, rc);
        if (rc == 1 && c.previous[0] && strcmp(holder, c.previous) == 0)
            return lr__kept(&c, holder);
        if (rc == 1) {
            d->pool = d->queue = LR_NONE;
            d->ncands = d->nchain = 0;
            d->previous = LR_NONE;
            return lr__existing(&c, holder);
        }
    }
    /* An outcome that lost a string is not given as if whole. Only outcomes that wrote nothing
     * can get here with it: a commit checks first and reserves what is written after it. */
    if (d->nomem && !(d->status == LEADROUTE_ROUTE_ASSIGNED && !d->dry_run))
        return lr__unrouted(&c, lr__error_nomem());
    if (c.unrouted != LR_NONE)
        lr__count_unrouted(&c, c.unrouted);
    lr__count_hit(&c);
    if (d->status == LEADROUTE_ROUTE_ASSIGNED && !d->dry_run) {
        int64_t captured;
        if (!c.previous[0] && lr__captured_ms(c.captured, &captured))
            lr__latency_sample(r, d->rep_index != LR_NONE ? c.g->rep_counters[d->rep_index] : NULL,
                               d->pool_index != LR_NONE ? c.g->pool_counters[d->pool_index] : NULL,
                               LEADROUTE_LATENCY_CAPTURE_TO_ASSIGN, lr__time_sub(d->at_ms, captured));
        lr__striped_add(&r->routed, d->stripe);
        lr__count_assigned(c.g, d);
        lr__notify(&c);
    }
    return LEADROUTE_OK;
}

/* ---- after routing ---------------------------------------------------------- */

/* The store key "lead:KEY" (`k`, LEADROUTE_MAX_STRING + 8 bytes) of a key
 * given to close or acknowledge, trimmed into *key and *n. EINVAL for a
 * key that is not UTF-8, too long, or blank. */
static int lr__claim_key_arg(const leadroute_router *r, const char **key, size_t *n, char *k)
{
    if (lr__text_measure(*key, LEADROUTE_MAX_STRING, n) != 0)
        return lr__error_set(LEADROUTE_EINVAL, "key must be 1..%d bytes of UTF-8", LEADROUTE_MAX_STRING);
    if (lr__claim_key(r, key, n, k) != 0)
        return lr__error_set(LEADROUTE_EINVAL, "key is empty");
    return LEADROUTE_OK;
}

int leadroute_router_close(leadroute_router *r, const char *key)
{
    char k[LEADROUTE_MAX_STRING + 8];
    size_t n;
    int rc;
    if (!r || !key)
        return lr__error_set(LEADROUTE_EINVAL, "router and key must not be NULL");
    if ((rc = lr__claim_key_arg(r, &key, &n, k)) != 0)
        return rc;
    lr__error_mark();
    rc = r->store.close(r->store_user, k);
    if (rc == LEADROUTE_ENOTFOUND)
        return lr__error_set(LEADROUTE_ENOTFOUND, "no lead is claimed under key '%.*s'", (int)n, key);
    if (rc != 0)
        return lr__store_failed(r, "store close", rc);
    return LEADROUTE_OK;
}

size_t leadroute_router_pending_count(leadroute_router *r)
{
    size_t n;
    if (!r)
        return 0;
    pthread_mutex_lock(&r->pending_lock);
    n = r->npending;
    pthread_mutex_unlock(&r->pending_lock);
    return n;
}

/* Whether `src` fits a caller's buffer of `cap` bytes, NUL included. */
static int lr__fits_out(const char *dst, size_t cap, const char *src, const char *what)
{
    size_t n = strlen(src);
    if (!dst || n >= cap)
        return lr__error_set(LEADROUTE_ERANGE, "%s needs %zu bytes", what, n + 1);
    return LEADROUTE_OK;
}

int leadroute_router_pending(leadroute_router *r, size_t index, char *key, size_t key_cap, char *rep_id,
                             size_t rep_cap)
{
    int rc;
    if (!r)
        return lr__error_set(LEADROUTE_EINVAL, "router must not be NULL");
    pthread_mutex_lock(&r->pending_lock);
    if (index >= r->npending) {
        rc = lr__error_set(LEADROUTE_ERANGE, "pending notification %zu of %u", index, r->npending);
    } else {
        /* a list: reading in order goes on from the entry read last */
        lr__pending *p = r->pending;
        uint32_t at = 0;
        if (r->pending_cursor && r->pending_cursor_at <= index) {
            p = r->pending_cursor;
            at = r->pending_cursor_at;
        }
        for (; at < index; at++)
            p = p->next;
        r->pending_cursor = p;
        r->pending_cursor_at = at;
        /* both checked before either is written: an error leaves the buffers as they were */
        if ((rc = lr__fits_out(key, key_cap, p->key + 5, "key")) == 0 &&
            (rc = lr__fits_out(rep_id, rep_cap, p->rep_id, "rep id")) == 0) {
            memcpy(key, p->key + 5, strlen(p->key + 5) + 1);
            memcpy(rep_id, p->rep_id, strlen(p->rep_id) + 1);
        }
    }
    pthread_mutex_unlock(&r->pending_lock);
    return rc;
}

int leadroute_router_pending_discard(leadroute_router *r, const char *key, size_t *discarded)
{
    char k[LEADROUTE_MAX_STRING + 8];
    size_t n, count = 0;
    lr__pending *p, *next;
    int rc;
    if (discarded)
        *discarded = 0;
    if (!r || !key)
        return lr__error_set(LEADROUTE_EINVAL, "router and key must not be NULL");
    if ((rc = lr__claim_key_arg(r, &key, &n, k)) != 0)
        return rc;
    pthread_mutex_lock(&r->pending_lock);
    for (p = r->npending ? *lr__pending_bucket(r, lr__hash(k, strlen(k))) : NULL; p; p = next) {
        next = p->same;
        if (p->superseded || strcmp(p->key, k) != 0)
            continue;
        count++;
        if (p->in_flight)
            p->superseded = 1; /* the retry delivering it drops it, whatever notify says */
        else
            lr__pending_drop(r, p);
    }
    pthread_mutex_unlock(&r->pending_lock);
    if (discarded)
        *discarded = count;
    if (!count)
        return lr__error_set(LEADROUTE_ENOTFOUND, "no notification of key '%.*s' is pending", (int)n, key);
    return LEADROUTE_OK;
}

#define LR__RETRY_WHY 512

int leadroute_router_retry_notifications(leadroute_router *r, size_t *delivered)
{
    lr__pending *p, *next;
    size_t ok = 0;
    int rc = LEADROUTE_OK, failed = 0;
    char why[LR__RETRY_WHY];
    if (delivered)
        *delivered = 0;
    if (!r)
        return lr__error_set(LEADROUTE_EINVAL, "router must not be NULL");
    why[0] = 0;
    /* No lock is held across the host's calls (find_claim, notify): routing
     * and the pending getters go on meanwhile. An entry being delivered is
     * marked in flight, so that two retries cannot deliver it twice; it
     * stays linked, so the walk goes on from it. One lead's notifications
     * are delivered one at a time: while one is in flight, another retry
     * leaves the lead's others for later, so that an older one cannot
     * reach the host after a newer one. */
    pthread_mutex_lock(&r->pending_lock);
    for (p = r->pending; p; p = next) {
        leadroute_assignment a;
        char holder[LEADROUTE_MAX_NAME + 1];
        int e = -1, moved, held;
        if (p->in_flight || lr__pending_lead_in_flight(r, p)) { /* another retry has the lead */
            next = p->next;
            continue;
        }
        /* Superseded: a later notification of the lead waits too (here, it
         * is delivered instead), or the store shows the lead held by another
         * rep now (a tick or a reassignment moved it, here or on another
         * host), and that later assignment told the host, or will. Delivered
         * after it, this one would undo what the host knows; it is dropped. */
        if (lr__pending_has_later(r, p)) {
            next = p->next;
            lr__pending_drop(r, p);
            continue;
        }
        p->in_flight = 1;
        pthread_mutex_unlock(&r->pending_lock);
        /* p's strings stay put while it is in flight: no one frees it. A
         * store that fails, or names no rep, decides nothing: the
         * notification waits for the next retry. */
        held = lr__store_holder(r, p->key, holder, sizeof holder);
        moved = held == 1 && strcmp(holder, p->rep_id) != 0;
        /* superseded meanwhile (a later notification of the lead was
         * recorded, or delivered outside a retry): not delivered */
        pthread_mutex_lock(&r->pending_lock);
        moved |= p->superseded || lr__pending_has_later(r, p);
        pthread_mutex_unlock(&r->pending_lock);
        if (held < 0) {
            failed++;
            lr__textf(why, sizeof why, "%s", leadroute_error_last()->message);
        } else if (!moved && r->has_notify) {
            memset(&a, 0, sizeof a);
            a.version = LEADROUTE_ASSIGNMENT_VERSION;
            a.key = p->key;
            a.lead_id = p->lead_id;
            a.rep_id = p->rep_id;
            a.previous = p->previous;
            a.pool_id = p->pool_id;
            a.rule_id = p->rule_id;
            a.table_hash = p->table_hash;
            a.at_ms = p->at_ms;
            a.sla_minutes = p->sla_minutes;
            a.deadline_ms = p->deadline_ms;
            a.value = p->value;
            a.hops = p->hops;
            a.escalated = p->escalated;
            e = r->notify.assigned(r->notify_user, &a);
            if (e != 0) {
                failed++;
                lr__textf(why, sizeof why, "notify callback failed with %d (%s)", e, leadroute_strerror(e));
            }
        }
        pthread_mutex_lock(&r->pending_lock);
        next = p->next;
        p->in_flight = 0;
        if (e == 0)
            ok++;
        if (moved || e == 0 || p->superseded)
            lr__pending_drop(r, p);
    }
    r->pending_cursor = NULL;
    if (r->npending && failed)
        rc = lr__error_set(LEADROUTE_ECALLBACK, "%u notification%s still pending; the last failure: %s", r->npending,
                           lr__plural_s(r->npending), why);
    else if (r->npending)
        rc = lr__error_set(LEADROUTE_ECALLBACK, "%u notification%s still pending", r->npending,
                           lr__plural_s(r->npending));
    pthread_mutex_unlock(&r->pending_lock);
    if (delivered)
        *delivered = ok;
    return rc;
}

int leadroute_router_fork(leadroute_router **out, leadroute_router *r)
{
    leadroute_router_options o = LEADROUTE_ROUTER_OPTIONS_INIT;
    leadroute_allocator allocator;
    leadroute_router *f;
    lr__gen *g;
    int rc;
    if (out)
        *out = NULL;
    if (!out || !r)
        return lr__error_set(LEADROUTE_EINVAL, "out and router must not be NULL");
    o.dedupe_field = r->dedupe_field;
    o.account_field = r->account_field;
    o.captured_field = r->captured_field;
    o.owner_output = r->out_names[0];
    o.pool_output = r->out_names[1];
    o.queue_output = r->out_names[2];
    o.status_output = r->out_names[3];
    o.sla_output = r->out_names[4];
    o.tags_output = r->out_names[5];
    o.max_retries = r->max_retries;
    o.dedupe_fold = (uint32_t)r->dedupe_fold;
    lr__alloc_export(&r->alloc, &allocator);
    o.allocator = &allocator;
    g = lr__gen_acquire(r);
    rc = leadroute_router_new(&f, g->table, g->roster, &o);
    lr__gen_release(g);
    if (rc)
        return rc;
    lr__memstore_free(f->memstore);
    f->memstore = NULL;
    if ((rc = lr__memstore_new(&f->memstore, &f->alloc, &r->store, r->store_user)) != 0) {
        leadroute_router_free(f);
        return rc;
    }
    f->store = lr__memstore_methods;
    f->store_user = f->memstore;
    /* what the parent's store cannot do, the fork's cannot either: the same
     * ENOTSUP, not a failed callback or a tick that skips the parent's leads */
    if (!r->store.window)
        f->store.window = NULL;
    if (!r->store.acknowledge)
        f->store.acknowledge = NULL;
    if (!r->store.list_due)
        f->store.list_due = NULL;
    f->memstore_methods = f->store;
    f->availability = r->availability;
    f->availability_user = r->availability_user;
    f->has_availability = r->has_availability;
    f->clock = r->clock;
    f->clock_user = r->clock_user;
    *out = f;
    return LEADROUTE_OK;
}

/* ---- follow-up deadlines ------------------------------------------------------ */

/* The counter of `id` (made if this router never saw it). */
static lr__counter *lr__counter_lookup(leadroute_router *r, lr__counter **list, const char *id)
{
    lr__counter *c;
    pthread_mutex_lock(&r->counter_lock);
    c = lr__counter_seek(r, &list, id, 0);
    pthread_mutex_unlock(&r->counter_lock);
    return c;
}

int leadroute_router_acknowledge(leadroute_router *r, const char *key)
{
    char k[LEADROUTE_MAX_STRING + 8], rep[LEADROUTE_MAX_NAME + 1], pool[LEADROUTE_MAX_NAME + 1];
    int64_t now, assigned = 0, gap;
    size_t n;
    int rc;
    if (!r || !key)
        return lr__error_set(LEADROUTE_EINVAL, "router and key must not be NULL");
    if ((rc = lr__claim_key_arg(r, &key, &n, k)) != 0)
        return rc;
    if (!r->store.acknowledge)
        return lr__error_set(LEADROUTE_ENOTSUP, "the store has no acknowledge method");
    now = r->clock.now_ms(r->clock_user);
    rep[0] = pool[0] = 0;
    /* 0 is "not yet" in the store's records: a clock at or before the
     * epoch acknowledges at its first millisecond (the store raises it to
     * the assignment's time if that is later) */
    lr__error_mark();
    rc = r->store.acknowledge(r->store_user, k, now < 1 ? 1 : now, &assigned, rep, sizeof rep, pool, sizeof pool);
    if (rc == LEADROUTE_ENOTFOUND)
        return lr__error_set(LEADROUTE_ENOTFOUND, "no lead is claimed under key '%.*s'", (int)n, key);
    if (rc == LEADROUTE_EEXISTS)
        return LEADROUTE_OK; /* acknowledged before: the first time counts */
    if (rc != 0)
        return lr__store_failed(r, "store acknowledge", rc);
    rep[sizeof rep - 1] = pool[sizeof pool - 1] = 0;
    lr__striped_add(&r->acknowledged, 0);
    /* `now` was read before the store call, so an assignment committed by
     * another thread in between looks newer than its acknowledgement: it
     * counts as acknowledged at once rather than not at all */
    gap = lr__time_sub(now, assigned);
    lr__latency_sample(r, rep[0] ? lr__counter_lookup(r, &r->rep_counters, rep) : NULL,
                       pool[0] ? lr__counter_lookup(r, &r->pool_counters, pool) : NULL,
                       LEADROUTE_LATENCY_ASSIGN_TO_ACK, gap < 0 ? 0 : gap);
    return LEADROUTE_OK;
}

/* An overdue assignment, copied out of the store's listing. */
typedef struct lr__due {
    const char *key, *lead_id, *rep, *pool, *rule;
    const char **history;
    uint32_t nhistory, hops;
    double sla_minutes, value;
    uint64_t table_hash;
    int64_t deadline_ms;
} lr__due;

/* The longest overdue first, then by key: whatever order the store lists
 * them in, the leads that waited longest get the room a tick finds first. */
static int lr__due_cmp(const void *pa, const void *pb)
{
    const lr__due *a = pa, *b = pb;
    if (a->deadline_ms != b->deadline_ms)
        return a->deadline_ms < b->deadline_ms ? -1 : 1;
    return strcmp(a->key, b->key);
}

typedef struct lr__due_list {
    lr__arena arena;
    lr__alloc *alloc;
    lr__due *v;
    uint32_t n, cap;
    /* Why the listing was stopped, told apart from what the store returns (which may not pass our
     * code on): LEADROUTE_ENOMEM, or LEADROUTE_ECALLBACK with `why`. */
    int failed;
    char why[256];
} lr__due_list;

static const char *lr__arena_dup(lr__arena *a, const char *s)
{
    return s ? lr__arena_strndup(a, s, strlen(s)) : NULL;
}

/* Whether a store's assignment is of a struct version this library reads. */
static int lr__assignment_version_known(const leadroute_assignment *a)
{
    return a->version >= 1 && a->version <= LEADROUTE_ASSIGNMENT_VERSION;
}

static int lr__due_each(void *ctx, const leadroute_assignment *a)
{
    lr__due_list *l = ctx;
    lr__due *d;
    size_t i;
    if (!a || !a->key || !a->rep_id)
        return LEADROUTE_OK; /* nothing to move */
    if (!lr__assignment_version_known(a)) {
        snprintf(l->why, sizeof l->why,
                 "store list_due callback gave leadroute_assignment version %u (1..%u) for key '%.64s'", a->version,
                 LEADROUTE_ASSIGNMENT_VERSION, a->key);
        return l->failed = LEADROUTE_ECALLBACK;
    }
    if (a->history_count && (!a->history || a->history_count > UINT32_MAX / sizeof *d->history)) {
        snprintf(l->why, sizeof l->why, "store list_due callback gave %zu history entries%s for key '%.64s'",
                 a->history_count, a->history ? "" : " and history NULL", a->key);
        return l->failed = LEADROUTE_ECALLBACK;
    }
    if (l->n == l->cap && lr__vec_reserve(l->alloc, (void **)&l->v, &l->cap, (size_t)l->n + 1, sizeof *l->v))
        return l->failed = LEADROUTE_ENOMEM;
    d = &l->v[l->n];
    memset(d, 0, sizeof *d);
    d->key = lr__arena_dup(&l->arena, a->key);
    d->lead_id = lr__arena_dup(&l->arena, a->lead_id);
    d->rep = lr__arena_dup(&l->arena, a->rep_id);
    d->pool = lr__arena_dup(&l->arena, a->pool_id);
    d->rule = lr__arena_dup(&l->arena, a->rule_id);
    d->hops = a->hops;
    d->sla_minutes = a->sla_minutes;
    d->value = a->value;
    d->table_hash = a->table_hash;
    d->deadline_ms = a->deadline_ms;
    if (a->history_count) {
        d->history = lr__arena_alloc(&l->arena, sizeof *d->history * a->history_count);
        if (!d->history)
            return l->failed = LEADROUTE_ENOMEM;
        for (i = 0; i < a->history_count; i++) {
            if (!a->history[i])
                continue;
            /* a history cut short would let the lead go back to an earlier holder */
            if (!(d->history[d->nhistory++] = lr__arena_dup(&l->arena, a->history[i])))
                return l->failed = LEADROUTE_ENOMEM;
        }
    }
    if (!d->key || !d->rep || (a->lead_id && !d->lead_id) || (a->pool_id && !d->pool) || (a->rule_id && !d->rule))
        return l->failed = LEADROUTE_ENOMEM;
    l->n++;
    return LEADROUTE_OK;
}

/* Escalate: the escalation pool and its fallbacks (no empty-pool policy:
 * the lead is still held), else the escalation owner. */
static int lr__escalate(lr__call *c, const lr__pool *p)
{
    leadroute_decision *d = c->d;
    uint32_t pi = p->escalation_pool, steps = 0;
    int rc;
    c->escalated = 1;
    for (; pi != LR_NONE && steps <= c->ro->npools; pi = c->ro->pools[pi].fallback, steps++) {
        /* a new pool, a new ladder: its max_hops counts the moves within it,
         * not those that led here (else a lead could never move there) */
        uint32_t hops = c->hops;
        c->hops = 0;
        rc = lr__pool_try(c, &c->ro->pools[pi]);
        c->hops = hops;
        if (rc != LR_FALL_THROUGH)
            return rc;
    }
    if (p->escalation_owner != LR_NONE) {
        char detail[300];
        uint32_t ri = p->escalation_owner;
        /* the owner answers for the pool: an earlier holder may take it back,
         * but not the one who let it lapse */
        if (!c->ro->reps[ri].active || ri == c->previous_rep)
            return LR_FALL_THROUGH;
        if ((rc = lr__live_checks(c, ri, NULL, detail, sizeof detail)) != 0)
            return rc < 0 ? rc : LR_FALL_THROUGH;
        lr__candidate_add(c, ri, c->ro->reps[ri].id, p, LEADROUTE_VERDICT_CHOSEN, "escalation owner");
        /* the owner takes the lead for p: its value is read from p's field,
         * as a move within p reads it, not from the default one */
        c->value_pool = p;
        rc = lr__commit(c, ri, NULL, NULL, 0, LR_HOW_ESCALATION);
        c->value_pool = NULL;
        if (rc == LR_DONE && d->status == LEADROUTE_ROUTE_ASSIGNED)
            lr__reason(d, "overdue after %u reassignments in %s; escalated to %s", c->hops - 1, p->id,
                       c->ro->reps[ri].id);
        return rc;
    }
    return LR_FALL_THROUGH;
}

/* Move one overdue lead. Returns the stats bucket it lands in, or < 0. */
enum { LR_TICK_REASSIGNED, LR_TICK_ESCALATED, LR_TICK_KEPT, LR_TICK_RACED };

static int lr__tick_one(leadroute_router *r, leadroute_decision *d, const lr__due *due, int64_t now,
                        leadroute_lead_lookup lookup, void *lookup_ctx)
{
    lr__call c;
    leadroute_lead minimal = LEADROUTE_LEAD_INIT, found;
    const leadroute_lead *lead = NULL;
    const lr__pool *p = NULL;
    uint32_t i, attempt, pi;
    size_t klen = strlen(due->key);
    int rc = LR_FALL_THROUGH;

    /* only a lead's claim as routing writes it ("lead:" and the key) can move; anything else the
     * store lists stays where it is */
    if (klen <= 5 || klen >= sizeof c.key || memcmp(due->key, "lead:", 5) != 0)
        return LR_TICK_KEPT;
    c.g = lr__gen_refresh(r, d->gen);
    if (c.g != d->gen)
        lr__caches_forget(d);
    d->gen = c.g;
    c.ro = c.g->roster;
    if ((rc = lr__decision_reset(d, c.g)) != 0)
        return rc;
    if (lookup)
        lead = lookup(lookup_ctx, due->key + 5);
    /* a lookup that could not tell leaves the lead where it is, still due: the next tick retries */
    if (lead == LEADROUTE_LOOKUP_FAILED)
        return lr__error_set(LEADROUTE_ECALLBACK, "tick lookup failed for lead '%s': it stays with %s, still due",
                             due->key + 5, due->rep);
    /* a lead the library cannot read (a struct version it does not know, a
     * field count past the limit) is a failed lookup, not an absent lead:
     * moved on membership alone, it would skip the pool's skill filters */
    if (lead && lr__lead_check_header(lead) != 0) {
        char why[256];
        snprintf(why, sizeof why, "%s", leadroute_error_last()->message);
        return lr__error_set(LEADROUTE_ECALLBACK,
                             "tick lookup gave lead '%s' that cannot be read (%s): it stays with %s, still due",
                             due->key + 5, why, due->rep);
    }
    if (!lead) {
        minimal.id = due->lead_id;
        lead = &minimal;
    } else {
        /* the lead keeps the id it was committed with: the lookup gives its
         * fields, and an id of its own (unchecked, another lead's) would
         * rewrite the record */
        found = *lead;
        found.id = due->lead_id;
        lead = &found;
    }
    memcpy(c.key, due->key, klen + 1);
    c.account[0] = 0;
    snprintf(c.previous, sizeof c.previous, "%s", due->rep);
    c.rule_id = due->rule;
    c.next.text = d->next_buf;
    c.next.len = 0;
    c.next.cap = d->next_cap;
    c.state = d->state_buf;
    c.state_cap = d->state_cap;
    c.r = r;
    c.lead = lead;
    c.d = d;
    c.flags = 0;
    c.follow_up = 1;
    c.history = (const char *const *)due->history;
    c.nhistory = due->nhistory;
    c.trace = 0;
    c.load_bound = UINT32_MAX;
    c.previous_rep = lr__roster_rep(c.ro, due->rep);
    /* the value committed first, unless the host gave the lead again; the
     * value as the store listed it, unchecked so far: one routing could not commit
     * (NaN, below 0, above the limit, infinite) counts as 0 */
    c.held_value = due->value >= 0 && due->value <= LEADROUTE_MAX_DEAL_VALUE ? due->value : 0;
    c.fixed_value = lead == &minimal ? c.held_value : -1;
    c.value_pool = NULL;
    c.has_excl = 1;
    c.hops = due->hops + 1;
    c.escalated = 0;
    c.note[0] = 0;
    c.unrouted = LR_NONE;
    c.captured = c.account_value = NULL;
    for (i = 0; i < due->nhistory; i++) {
        uint32_t h = lr__roster_rep(c.ro, due->history[i]);
        if (h != LR_NONE)
            d->excl[h] = 1;
    }
    d->at_ms = now;
    d->sla_minutes = due->sla_minutes;
    d->table_hash = due->table_hash;
    d->key = lr__decision_str(d, c.key + 5);
    d->lead_id = lr__decision_str(d, due->lead_id);
    d->previous = lr__decision_str(d, due->rep);
    d->rule = lr__decision_str(d, due->rule);
    pi = due->pool ? lr__roster_pool(c.ro, due->pool) : LR_NONE;
    if (pi != LR_NONE)
        p = &c.ro->pools[pi];

    for (attempt = 0;; attempt++) {
        lr__attempt_reset(d, due->sla_minutes);
        if (attempt > 0 && attempt <= r->max_retries)
            lr__conflict_pause(attempt);
        if (attempt > r->max_retries) {
            rc = lr__error_set(LEADROUTE_ECONFLICT, "the store reported a conflict %u times in a row", attempt);
            break;
        }
        rc = LR_FALL_THROUGH;
        c.escalated = 0;
        c.note[0] = 0;
        if (p && due->hops < p->max_hops)
            rc = lr__pool_try(&c, p);
        if (rc == LR_FALL_THROUGH && p)
            rc = lr__escalate(&c, p);
        if (rc != LR_RETRY)
            break;
    }
    d->state_buf = c.state;
    d->state_cap = c.state_cap;
    d->next_buf = c.next.text;
    d->next_cap = c.next.cap;
    if (rc == LEADROUTE_ECONFLICT) {
        /* conflicts all along: if the lead has moved meanwhile, someone else
         * handled it */
        char holder[LEADROUTE_MAX_NAME + 1];
        int f;
        lr__error_mark();
        f = r->store.find_claim(r->store_user, c.key, holder, sizeof holder);
        if (f == 0 && !memchr(holder, 0, sizeof holder))
            f = LEADROUTE_ECALLBACK; /* no rep id: no sign that the lead moved */
        if (f == LEADROUTE_ENOTFOUND || (f == 0 && holder[0] && strcmp(holder, due->rep) != 0))
            return LR_TICK_RACED;
    }
    if (rc < 0)
        return rc;
    if (rc == LR_FALL_THROUGH)
        return LR_TICK_KEPT;
    if (d->status == LEADROUTE_ROUTE_EXISTING)
        return LR_TICK_RACED;
    if (d->status != LEADROUTE_ROUTE_ASSIGNED)
        return LR_TICK_KEPT;
    if (d->reason == LR_LAZY || d->reason == LR_NONE)
        lr__reason(d, "overdue: reassigned from %s to %s in %s", due->rep, lr__decision_at(d, d->rep),
                   lr__decision_at(d, d->pool) ? lr__decision_at(d, d->pool) : "-");
    lr__count_assigned(c.g, d);
    lr__notify(&c);
    return c.escalated ? LR_TICK_ESCALATED : LR_TICK_REASSIGNED;
}

/* Passes over the leads due in one tick, the first included (see there). */
#define LR_TICK_PASSES 8

int leadroute_router_tick(leadroute_router *r, int64_t now_ms, leadroute_lead_lookup lookup, void *lookup_ctx,
                          leadroute_tick_stats *stats)
{
    leadroute_tick_stats st = LEADROUTE_TICK_STATS_INIT;
    leadroute_decision *d = NULL;
    leadroute_allocator allocator;
    lr__due_list l;
    uint32_t i, n, passes;
    uint64_t failed = 0;
    int rc;

    if (!r)
        return lr__error_set(LEADROUTE_EINVAL, "router must not be NULL");
    if (stats && (stats->version == 0 || stats->version > LEADROUTE_TICK_STATS_VERSION))
        return lr__error_set(LEADROUTE_EVERSION, "tick stats version %u is not supported (1..%u)", stats->version,
                             LEADROUTE_TICK_STATS_VERSION);
    if (!r->store.list_due)
        return lr__error_set(LEADROUTE_ENOTSUP, "the store has no list_due method: deadlines cannot be ticked");
    /* INT64_MAX is the deadline that never comes (an SLA past the range):
     * a tick at that instant acts at the last one before it, so that it
     * neither lists such a lead nor moves one assigned so meanwhile (the
     * store's check that a lead is still due compares with the move's time) */
    if (now_ms == INT64_MAX)
        now_ms = INT64_MAX - 1;
    memset(&l, 0, sizeof l);
    l.alloc = &r->alloc;
    lr__arena_init(&l.arena, &r->alloc);
    lr__error_mark();
    rc = r->store.list_due(r->store_user, now_ms, lr__due_each, &l);
    /* our own failures first: a store may pass them on as its own code, or not at all; the
     * store's own ENOMEM is a failed callback like any other */
    if (l.failed == LEADROUTE_ENOMEM) {
        rc = lr__error_nomem();
        goto done;
    }
    if (l.failed) {
        rc = lr__error_set(LEADROUTE_ECALLBACK, "%s", l.why);
        goto done;
    }
    if (rc != 0) {
        rc = lr__store_failed(r, "store list_due", rc);
        goto done;
    }
    /* the decision's memory is the router's, like everything a tick makes */
    lr__alloc_export(&r->alloc, &allocator);
    if ((rc = leadroute_decision_new(&d, &allocator)) != 0)
        goto done;
    st.due = l.n;
    if (l.n > 1)
        qsort(l.v, l.n, sizeof *l.v, lr__due_cmp);
    /* A lead kept for want of room may find some once a later move of the same tick takes an
     * open lead off its holder: the kept leads are offered again, moved to the front of the list,
     * in the same order (the longest overdue first), as long as a pass moves any, so that a second
     * tick at the same time moves nothing new. At most LR_TICK_PASSES passes: a chain of leads each
     * waiting for the next one's rep frees one per pass, and a longer one must not make a tick
     * take time quadratic in the leads due; the rest wait for the next tick. */
    n = l.n;
    passes = 0;
    do {
        uint32_t kept = 0, moved = 0;
        for (i = 0; i < n; i++) {
            int k = lr__tick_one(r, d, &l.v[i], now_ms, lookup, lookup_ctx);
            if (k < 0) {
                /* a failed move leaves the lead as it was, still due: the next tick retries. The
                 * tick goes on with the others; the metrics count the failure. */
                failed++;
            } else if (k == LR_TICK_REASSIGNED || k == LR_TICK_ESCALATED) {
                st.reassigned += k == LR_TICK_REASSIGNED;
                st.escalated += k == LR_TICK_ESCALATED;
                moved++;
            } else if (k == LR_TICK_RACED) {
                st.raced++;
            } else {
                lr__due keep = l.v[i];
                l.v[i] = l.v[kept];
                l.v[kept++] = keep;
            }
        }
        n = moved && ++passes < LR_TICK_PASSES ? kept : 0;
        st.kept += n ? 0 : kept;
    } while (n);
    st.kept += failed;
    lr__striped_add_n(&r->sla_breaches, 0, st.due);
    lr__striped_add_n(&r->reassignments, 0, st.reassigned + st.escalated);
    lr__striped_add_n(&r->failed_moves, 0, failed);
    st.failed = failed;
    rc = LEADROUTE_OK;
done:
    leadroute_decision_free(d);
    lr__free(&r->alloc, l.v);
    lr__arena_free(&l.arena);
    if (stats && rc == LEADROUTE_OK) {
        /* as much as the caller's version of the struct holds */
        uint32_t v = stats->version;
        memcpy(stats, &st, v >= 2 ? sizeof st : offsetof(leadroute_tick_stats, failed));
        stats->version = v;
    }
    return rc;
}

/* The host's own callback, told apart from store failures. */
typedef struct lr__list_ctx {
    int (*each)(void *ctx, const leadroute_assignment *a);
    void *ctx;
    int stopped;
    int bad;               /* an assignment of a version the library does not know: the listing stops */
    uint32_t bad_version;
} lr__list_ctx;

static int lr__list_each(void *ctx, const leadroute_assignment *a)
{
    lr__list_ctx *l = ctx;
    int rc;
    if (l->bad)
        return LEADROUTE_ECALLBACK;
    if (a && !lr__assignment_version_known(a)) {
        l->bad = 1;
        l->bad_version = a->version;
        return LEADROUTE_ECALLBACK;
    }
    rc = l->each(l->ctx, a);
    if (rc)
        l->stopped = 1;
    return rc;
}

int leadroute_router_list_due(leadroute_router *r, int64_t now_ms,
                              int (*each)(void *ctx, const leadroute_assignment *assignment), void *ctx)
{
    lr__list_ctx l;
    int rc;
    if (!r || !each)
        return lr__error_set(LEADROUTE_EINVAL, "router and callback must not be NULL");
    if (!r->store.list_due)
        return lr__error_set(LEADROUTE_ENOTSUP, "the store has no list_due method");
    l.each = each;
    l.ctx = ctx;
    l.stopped = 0;
    l.bad = 0;
    l.bad_version = 0;
    lr__error_mark();
    rc = r->store.list_due(r->store_user, now_ms, lr__list_each, &l);
    if (l.bad)
        return lr__error_set(LEADROUTE_ECALLBACK,
                             "store list_due callback gave leadroute_assignment version %u (1..%u)", l.bad_version,
                             LEADROUTE_ASSIGNMENT_VERSION);
    if (rc != 0 && !l.stopped)
        return lr__store_failed(r, "store list_due", rc);
    if (rc < 0)
        return lr__error_set(rc, "list_due stopped: the callback returned %d", rc);
    return rc;
}
