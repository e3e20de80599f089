/*
 * A host store for libleadroute kept in one text file (see state_store.h).
 *
 * What a store holds (docs/router.md, "Store contract"):
 * - pool states: strategy state text and a version, compare-and-swapped;
 * - claims: key -> rep id. Lead claims ("lead:...") carry the lead's current
 *   assignment (time, deadline, value, hops, earlier holders, acknowledged);
 *   account claims ("account:...") only name the rep that owns the account;
 * - open leads per rep: the number of lead claims the rep holds. It is kept
 *   as a counter but never written to the file: loading recounts it, so it
 *   can never disagree with the claims;
 * - an assignment log per rep and per pool (time and deal value of each
 *   commit), for the `window` method behind rolling caps and value balancing.
 *
 * commit is all or nothing: it checks every condition first, then makes
 * every allocation it needs, and only then changes anything, with steps
 * that cannot fail. Entries it creates early (an empty rep or pool) look
 * exactly like an unknown one, so leaving them behind changes nothing.
 *
 * File format, one record per line, fields separated by tabs:
 *
 *   leadroute-state<TAB>1
 *   P  pool id, state version, state text
 *   C  account key, rep id
 *   L  lead key, rep id, lead id, pool id, rule id, table hash (16 hex
 *      digits), assigned at (ms), SLA minutes, deadline (ms, 0 = none),
 *      deal value, hops, escalated (0 or 1), acknowledged at (ms, 0 = not
 *      yet), then one field per earlier holder, oldest first
 *   A  assigned at (ms), rep id, pool id, deal value   (the assignment log)
 *
 * Lines starting with '#' and blank lines are ignored. In text fields a
 * backslash, tab, line feed, carriage return and other control bytes are
 * written as \\ \t \n \r and \xHH. An empty field is an absent string (NULL):
 * an empty optional string is stored as absent. Times are milliseconds since
 * the Unix epoch; numbers are written so that they read back exactly.
 *
 * Not thread-safe: one thread at a time (see state_store.h).
 * SPDX-License-Identifier: MIT
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* fsync, fileno */
#endif
#include "state_store.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Windows never reach further back than 31 days (30-day caps, value windows
 * of at most 31 days), so saving drops log entries more than 31 days older
 * than the newest assignment. */
#define LOG_KEEP_MS ((int64_t)31 * 24 * 60 * 60 * 1000)

/* ---- a string-keyed hash map ---------------------------------------------- */

/* Open addressing with linear probing over pointers to entries whose first
 * member is their key (`char *`). Deletion shifts the following entries back,
 * so there are no tombstones. Capacity is a power of two, at most 3/4 full. */
typedef struct strmap {
    void **slots;
    size_t cap, count;
} strmap;

static const char *entry_key(const void *entry)
{
    return *(char *const *)entry;
}

/* FNV-1a, 64 bits: simple and good enough for ids. */
static uint64_t hash_string(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

/* The slot holding `key`, or the empty slot where it would go. cap > 0. */
static size_t map_slot(const strmap *m, const char *key)
{
    size_t mask = m->cap - 1, i = (size_t)hash_string(key) & mask;
    while (m->slots[i] && strcmp(entry_key(m->slots[i]), key) != 0)
        i = (i + 1) & mask;
    return i;
}

static void *map_find(const strmap *m, const char *key)
{
    return m->cap ? m->slots[map_slot(m, key)] : NULL;
}

/* Make room for `more` insertions that then cannot fail. */
static int map_reserve(strmap *m, size_t more)
{
    size_t need = m->count + more, cap = m->cap ? m->cap : 16;
    if (need > SIZE_MAX / 8)
        return LEADROUTE_ENOMEM;
    while (need * 4 > cap * 3)
        cap *= 2;
    if (cap == m->cap)
        return LEADROUTE_OK;
    void **slots = calloc(cap, sizeof *slots);
    if (!slots)
        return LEADROUTE_ENOMEM;
    strmap grown = { slots, cap, m->count };
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i])
            slots[map_slot(&grown, entry_key(m->slots[i]))] = m->slots[i];
    free(m->slots);
    *m = grown;
    return LEADROUTE_OK;
}

/* Insert or replace; needs a reservation when the key is new. Returns the
 * entry replaced, or NULL. */
static void *map_put(strmap *m, void *entry)
{
    size_t i = map_slot(m, entry_key(entry));
    void *old = m->slots[i];
    m->slots[i] = entry;
    if (!old)
        m->count++;
    return old;
}

static void map_remove(strmap *m, const char *key)
{
    if (!m->cap)
        return;
    size_t mask = m->cap - 1, i = map_slot(m, key), j = i;
    if (!m->slots[i])
        return;
    m->slots[i] = NULL;
    m->count--;
    /* Move back every later entry of the run that may no longer be reachable. */
    for (;;) {
        j = (j + 1) & mask;
        if (!m->slots[j])
            break;
        size_t home = (size_t)hash_string(entry_key(m->slots[j])) & mask;
        /* the entry at j can fill the hole at i unless its home lies in (i, j] */
        int stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            m->slots[i] = m->slots[j];
            m->slots[j] = NULL;
            i = j;
        }
    }
}

/* The entries, sorted by key, in a new array (NULL with *n = 0 if empty). */
static int compare_entries(const void *a, const void *b)
{
    return strcmp(entry_key(*(void *const *)a), entry_key(*(void *const *)b));
}

static int map_sorted(const strmap *m, void ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!m->count)
        return LEADROUTE_OK;
    void **v = malloc(m->count * sizeof *v);
    if (!v)
        return LEADROUTE_ENOMEM;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i])
            v[(*n)++] = m->slots[i];
    qsort(v, *n, sizeof *v, compare_entries);
    *out = v;
    return LEADROUTE_OK;
}

/* ---- the state -------------------------------------------------------------- */

/* One assignment in a log, in time order. `pool` points at the id of a pool
 * entry (pool entries live as long as the store). */
typedef struct log_event {
    int64_t at_ms;
    double value;
    const char *pool;
} log_event;

typedef struct event_log {
    log_event *v;
    size_t n, cap;
} event_log;

typedef struct pool_entry {
    char *id;           /* key */
    uint64_t version;   /* 0: never written */
    char *state;        /* `length` bytes (plus a NUL for convenience) */
    size_t length;
    event_log log;      /* assignments from this pool */
} pool_entry;

typedef struct rep_entry {
    char *id;           /* key */
    uint32_t open;      /* lead claims held; recounted on load */
    event_log log;      /* assignments to this rep */
} rep_entry;

/* A claim. Account claims use only key and rep. */
typedef struct claim_entry {
    char *key;          /* key */
    char *rep;
    int is_account;
    /* lead claims: the current assignment */
    char *lead_id, *pool_id, *rule_id;  /* NULL when absent */
    uint64_t table_hash;
    int64_t at_ms, deadline_ms, acknowledged_ms;
    double sla_minutes, value;
    uint32_t hops;
    int escalated;
    char **history;     /* earlier holders, oldest first */
    size_t history_count;
} claim_entry;

/* Everything a store holds; load builds a fresh one and swaps it in. */
typedef struct store_data {
    strmap pools, reps, claims;
} store_data;

struct state_store {
    store_data d;
};

static char *dup_string(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *c = malloc(n);
    if (c)
        memcpy(c, s, n);
    return c;
}

static void claim_free(claim_entry *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->history_count; i++)
        free(c->history[i]);
    free(c->history);
    free(c->key);
    free(c->rep);
    free(c->lead_id);
    free(c->pool_id);
    free(c->rule_id);
    free(c);
}

static void data_free(store_data *d)
{
    for (size_t i = 0; i < d->claims.cap; i++)
        claim_free(d->claims.slots[i]);
    for (size_t i = 0; i < d->reps.cap; i++) {
        rep_entry *r = d->reps.slots[i];
        if (r) {
            free(r->log.v);
            free(r->id);
            free(r);
        }
    }
    for (size_t i = 0; i < d->pools.cap; i++) {
        pool_entry *p = d->pools.slots[i];
        if (p) {
            free(p->log.v);
            free(p->state);
            free(p->id);
            free(p);
        }
    }
    free(d->claims.slots);
    free(d->reps.slots);
    free(d->pools.slots);
    memset(d, 0, sizeof *d);
}

state_store *state_store_new(void)
{
    return calloc(1, sizeof(state_store));
}

void state_store_free(state_store *s)
{
    if (!s)
        return;
    data_free(&s->d);
    free(s);
}

/* The rep or pool entry of `id`, created empty when missing. An empty entry
 * means the same as no entry, so creating one early changes nothing. */
static rep_entry *ensure_rep(store_data *d, const char *id)
{
    rep_entry *r = map_find(&d->reps, id);
    if (r)
        return r;
    if (map_reserve(&d->reps, 1) != 0 || !(r = calloc(1, sizeof *r)))
        return NULL;
    if (!(r->id = dup_string(id))) {
        free(r);
        return NULL;
    }
    map_put(&d->reps, r);
    return r;
}

static pool_entry *ensure_pool(store_data *d, const char *id)
{
    pool_entry *p = map_find(&d->pools, id);
    if (p)
        return p;
    if (map_reserve(&d->pools, 1) != 0 || !(p = calloc(1, sizeof *p)))
        return NULL;
    if (!(p->id = dup_string(id))) {
        free(p);
        return NULL;
    }
    map_put(&d->pools, p);
    return p;
}

/* Room for one more event (so log_add cannot fail). */
static int log_reserve(event_log *l)
{
    if (l->n < l->cap)
        return LEADROUTE_OK;
    size_t cap = l->cap ? l->cap * 2 : 16;
    log_event *v = cap <= SIZE_MAX / sizeof *v ? realloc(l->v, cap * sizeof *v) : NULL;
    if (!v)
        return LEADROUTE_ENOMEM;
    l->v = v;
    l->cap = cap;
    return LEADROUTE_OK;
}

/* First event at or after `t` (`after`: strictly after). */
static size_t log_search(const event_log *l, int64_t t, int after)
{
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->v[mid].at_ms < t || (after && l->v[mid].at_ms == t))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Insert in time order, after events of the same time (a clock that went
 * back, as with `--now` in the past, inserts inside). Needs a reservation. */
static void log_add(event_log *l, int64_t at_ms, double value, const char *pool)
{
    size_t p = l->n && l->v[l->n - 1].at_ms > at_ms ? log_search(l, at_ms, 1) : l->n;
    memmove(l->v + p + 1, l->v + p, (l->n - p) * sizeof *l->v);
    l->v[p].at_ms = at_ms;
    l->v[p].value = value;
    l->v[p].pool = pool;
    l->n++;
}

/* ---- the store methods -------------------------------------------------------- */

static int copy_out(const char *s, char *buf, size_t cap)
{
    size_t n = strlen(s);
    if (!buf || n >= cap)
        return LEADROUTE_ERANGE;
    memcpy(buf, s, n + 1);
    return LEADROUTE_OK;
}

static int ss_load_pool(void *user, const char *pool_id, void *buf, size_t cap, size_t *length,
                        uint64_t *state_version)
{
    state_store *s = user;
    if (!pool_id || !length || !state_version)
        return LEADROUTE_EINVAL;
    const pool_entry *p = map_find(&s->d.pools, pool_id);
    if (!p || p->version == 0) {
        *length = 0;
        *state_version = 0;
        return LEADROUTE_OK;
    }
    *length = p->length;
    *state_version = p->version;
    if (p->length <= cap && p->length)
        memcpy(buf, p->state, p->length);
    return LEADROUTE_OK;
}

static int ss_find_claim(void *user, const char *key, char *rep_id, size_t cap)
{
    state_store *s = user;
    if (!key)
        return LEADROUTE_EINVAL;
    const claim_entry *c = map_find(&s->d.claims, key);
    return c ? copy_out(c->rep, rep_id, cap) : LEADROUTE_ENOTFOUND;
}

static int ss_open_count(void *user, const char *rep_id, uint32_t *count)
{
    state_store *s = user;
    if (!rep_id || !count)
        return LEADROUTE_EINVAL;
    const rep_entry *r = map_find(&s->d.reps, rep_id);
    *count = r ? r->open : 0;
    return LEADROUTE_OK;
}

/* The lead claim that will replace `held` (NULL: a new claim): a copy of the
 * assignment, the history carried over plus `previous` on a reassignment. */
static claim_entry *make_lead_claim(const leadroute_assignment *a, const claim_entry *held)
{
    claim_entry *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    size_t carried = held ? held->history_count : 0;
    size_t n = carried + (a->previous ? 1 : 0);
    c->key = dup_string(a->key);
    c->rep = dup_string(a->rep_id);
    /* an empty optional string is stored as absent (see the file format) */
    c->lead_id = a->lead_id && *a->lead_id ? dup_string(a->lead_id) : NULL;
    c->pool_id = a->pool_id && *a->pool_id ? dup_string(a->pool_id) : NULL;
    c->rule_id = a->rule_id && *a->rule_id ? dup_string(a->rule_id) : NULL;
    int ok = c->key && c->rep && (!a->lead_id || !*a->lead_id || c->lead_id) &&
             (!a->pool_id || !*a->pool_id || c->pool_id) && (!a->rule_id || !*a->rule_id || c->rule_id);
    if (ok && n) {
        ok = (c->history = calloc(n, sizeof *c->history)) != NULL;
        for (size_t i = 0; ok && i < n; i++) {
            c->history[i] = dup_string(i < carried ? held->history[i] : a->previous);
            ok = c->history[i] != NULL;
            c->history_count = i + 1;
        }
    }
    if (!ok) {
        claim_free(c);
        return NULL;
    }
    c->table_hash = a->table_hash;
    c->at_ms = a->at_ms;
    c->deadline_ms = a->deadline_ms;
    c->acknowledged_ms = 0; /* a new holder has not followed it up yet */
    c->sla_minutes = a->sla_minutes;
    c->value = a->value;
    c->hops = a->hops;
    c->escalated = a->escalated != 0;
    return c;
}

static int ss_commit(void *user, const leadroute_commit *cm, char *owner, size_t owner_cap)
{
    state_store *s = user;
    store_data *d = &s->d;
    const leadroute_assignment *a = cm ? cm->assignment : NULL;
    if (!cm || !a || !a->key || !a->rep_id || (cm->state_length && !cm->state))
        return LEADROUTE_EINVAL;

    /* 1-3: the checks, in the contract's order; nothing is changed yet. */
    pool_entry *sp = cm->pool_id ? map_find(&d->pools, cm->pool_id) : NULL;
    if (cm->pool_id && (sp ? sp->version : 0) != cm->expected_version)
        return LEADROUTE_ECONFLICT;
    rep_entry *rep = map_find(&d->reps, a->rep_id);
    if (cm->capacity > 0 && rep && rep->open >= cm->capacity)
        return LEADROUTE_ECONFLICT;
    claim_entry *held = map_find(&d->claims, a->key);
    if (held && (!a->previous || strcmp(held->rep, a->previous) != 0)) {
        if (owner && owner_cap)
            snprintf(owner, owner_cap, "%s", held->rep);
        return LEADROUTE_EEXISTS;
    }
    int take_account = cm->account_key && !map_find(&d->claims, cm->account_key);

    /* Everything that can fail. Empty entries and reserved room are
     * invisible, so an early return here leaves the state as it was. */
    pool_entry *lp = NULL;
    char *state = NULL;
    claim_entry *lead = NULL, *account = NULL;
    if (cm->pool_id && !(sp = ensure_pool(d, cm->pool_id)))
        return LEADROUTE_ENOMEM;
    if (a->pool_id && *a->pool_id && !(lp = ensure_pool(d, a->pool_id)))
        return LEADROUTE_ENOMEM;
    if (!(rep = ensure_rep(d, a->rep_id)) || log_reserve(&rep->log) != 0 || (lp && log_reserve(&lp->log) != 0) ||
        map_reserve(&d->claims, 2) != 0)
        return LEADROUTE_ENOMEM;
    if (cm->pool_id && !(state = malloc(cm->state_length + 1)))
        return LEADROUTE_ENOMEM;
    if (!(lead = make_lead_claim(a, held)))
        goto nomem;
    if (take_account) {
        if (!(account = calloc(1, sizeof *account)) || !(account->key = dup_string(cm->account_key)) ||
            !(account->rep = dup_string(a->rep_id)))
            goto nomem;
        account->is_account = 1;
    }

    /* 4: the writes; none of them can fail. */
    if (sp) {
        if (cm->state_length)
            memcpy(state, cm->state, cm->state_length);
        state[cm->state_length] = '\0';
        free(sp->state);
        sp->state = state;
        sp->length = cm->state_length;
        sp->version = cm->expected_version + 1;
    }
    if (held) {
        /* held by `previous` (checked above): its open lead goes with it */
        rep_entry *prev = map_find(&d->reps, held->rep);
        if (prev && prev->open)
            prev->open--;
    }
    claim_free(map_put(&d->claims, lead));
    rep->open++;
    log_add(&rep->log, a->at_ms, a->value, lp ? lp->id : NULL);
    if (lp)
        log_add(&lp->log, a->at_ms, a->value, lp->id);
    if (account)
        map_put(&d->claims, account);
    return LEADROUTE_OK;

nomem:
    free(state);
    claim_free(lead);
    claim_free(account);
    return LEADROUTE_ENOMEM;
}

static int ss_close(void *user, const char *key)
{
    state_store *s = user;
    if (!key)
        return LEADROUTE_EINVAL;
    claim_entry *c = map_find(&s->d.claims, key);
    if (!c || c->is_account) /* account claims are never closed */
        return LEADROUTE_ENOTFOUND;
    rep_entry *r = map_find(&s->d.reps, c->rep);
    if (r && r->open)
        r->open--;
    map_remove(&s->d.claims, key);
    claim_free(c);
    return LEADROUTE_OK;
}

/* Sum the events of `l` at or after `since_ms`; with `pool` only those from it. */
static void log_window(const event_log *l, int64_t since_ms, const char *pool, uint64_t *count, double *value)
{
    for (size_t i = log_search(l, since_ms, 0); i < l->n; i++) {
        if (pool && (!l->v[i].pool || strcmp(l->v[i].pool, pool) != 0))
            continue;
        (*count)++;
        *value += l->v[i].value;
    }
}

static int ss_window(void *user, const char *rep_id, const char *pool_id, int64_t since_ms, uint64_t *count,
                     double *value)
{
    state_store *s = user;
    uint64_t n = 0;
    double v = 0.0;
    if (!rep_id && !pool_id)
        return LEADROUTE_EINVAL;
    if (rep_id) {
        /* by rep, or (both given) by rep and pool */
        const rep_entry *r = map_find(&s->d.reps, rep_id);
        if (r)
            log_window(&r->log, since_ms, pool_id, &n, &v);
    } else {
        const pool_entry *p = map_find(&s->d.pools, pool_id);
        if (p)
            log_window(&p->log, since_ms, NULL, &n, &v);
    }
    if (count)
        *count = n;
    if (value)
        *value = v;
    return LEADROUTE_OK;
}

static int ss_acknowledge(void *user, const char *key, int64_t at_ms, int64_t *assigned_ms, char *rep_id,
                          size_t rep_cap, char *pool_id, size_t pool_cap)
{
    state_store *s = user;
    if (!key)
        return LEADROUTE_EINVAL;
    claim_entry *c = map_find(&s->d.claims, key);
    if (!c || c->is_account)
        return LEADROUTE_ENOTFOUND;
    if (assigned_ms)
        *assigned_ms = c->at_ms;
    if (rep_id && rep_cap)
        snprintf(rep_id, rep_cap, "%s", c->rep);
    if (pool_id && pool_cap)
        snprintf(pool_id, pool_cap, "%s", c->pool_id ? c->pool_id : "");
    if (c->acknowledged_ms != 0)
        return LEADROUTE_EEXISTS; /* the first acknowledgement stands */
    /* 0 means "not yet", so a follow-up at the epoch itself is moved by 1 ms */
    c->acknowledged_ms = at_ms != 0 ? at_ms : 1;
    return LEADROUTE_OK;
}

static void fill_assignment(const claim_entry *c, leadroute_assignment *a)
{
    memset(a, 0, sizeof *a);
    a->version = LEADROUTE_ASSIGNMENT_VERSION;
    a->key = c->key;
    a->lead_id = c->lead_id;
    a->rep_id = c->rep;
    a->previous = c->history_count ? c->history[c->history_count - 1] : NULL;
    a->pool_id = c->pool_id;
    a->rule_id = c->rule_id;
    a->table_hash = c->table_hash;
    a->at_ms = c->at_ms;
    a->sla_minutes = c->sla_minutes;
    a->deadline_ms = c->deadline_ms;
    a->value = c->value;
    a->hops = c->hops;
    a->escalated = c->escalated;
    a->history = (const char *const *)c->history;
    a->history_count = c->history_count;
    a->acknowledged_ms = c->acknowledged_ms;
}

/* A held lead whose deadline passed and that its rep has not acknowledged. */
static int is_due(const claim_entry *c, int64_t now_ms)
{
    return c && !c->is_account && c->deadline_ms != 0 && c->deadline_ms <= now_ms && c->acknowledged_ms == 0;
}

/* Due claims are listed by deadline, then key, so a tick is reproducible. */
static int compare_due(const void *pa, const void *pb)
{
    const claim_entry *a = *(const claim_entry *const *)pa, *b = *(const claim_entry *const *)pb;
    if (a->deadline_ms != b->deadline_ms)
        return a->deadline_ms < b->deadline_ms ? -1 : 1;
    return strcmp(a->key, b->key);
}

static int ss_list_due(void *user, int64_t now_ms, int (*each)(void *ctx, const leadroute_assignment *a),
                       void *ctx)
{
    state_store *s = user;
    const strmap *m = &s->d.claims;
    if (!each)
        return LEADROUTE_EINVAL;
    size_t n = 0;
    for (size_t i = 0; i < m->cap; i++)
        n += is_due(m->slots[i], now_ms);
    if (!n)
        return LEADROUTE_OK;
    const claim_entry **due = malloc(n * sizeof *due);
    if (!due)
        return LEADROUTE_ENOMEM;
    n = 0;
    for (size_t i = 0; i < m->cap; i++)
        if (is_due(m->slots[i], now_ms))
            due[n++] = m->slots[i];
    qsort(due, n, sizeof *due, compare_due);
    int rc = LEADROUTE_OK;
    for (size_t i = 0; i < n && rc == LEADROUTE_OK; i++) {
        leadroute_assignment a;
        fill_assignment(due[i], &a);
        rc = each(ctx, &a);
    }
    free(due);
    return rc;
}

const leadroute_store state_store_methods = {
    LEADROUTE_STORE_VERSION, ss_load_pool, ss_find_claim, ss_open_count, ss_commit, ss_close,
    ss_window, ss_acknowledge, ss_list_due,
};

int state_store_get(const state_store *s, const char *key, leadroute_assignment *out)
{
    if (!s || !key || !out)
        return LEADROUTE_EINVAL;
    const claim_entry *c = map_find(&s->d.claims, key);
    if (!c || c->is_account)
        return LEADROUTE_ENOTFOUND;
    fill_assignment(c, out);
    return LEADROUTE_OK;
}

/* ---- writing the file ------------------------------------------------------------ */

static void put_text(FILE *f, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        switch (ch) {
        case '\\': fputs("\\\\", f); break;
        case '\t': fputs("\\t", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        default:
            if (ch < 0x20 || ch == 0x7f)
                fprintf(f, "\\x%02x", ch);
            else
                fputc(ch, f);
        }
    }
}

/* A tab, then the field (nothing for NULL). */
static void put_field(FILE *f, const char *s)
{
    fputc('\t', f);
    if (s)
        put_text(f, s, strlen(s));
}

/* The shortest decimal that reads back as the same double. */
static void put_number(FILE *f, double x)
{
    char buf[40];
    if (x > -1e15 && x < 1e15 && x == (double)(long long)x) { /* 30, not 3e+01 */
        fprintf(f, "\t%lld", (long long)x);
        return;
    }
    for (int precision = 1; precision <= 17; precision++) {
        snprintf(buf, sizeof buf, "%.*g", precision, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    fprintf(f, "\t%s", buf);
}

/* The log entries of a rep from `cut` on. Every assignment is in its rep's
 * log, so these lines hold every log; loading rebuilds the pools' logs. */
static void put_log(FILE *f, const rep_entry *r, int64_t cut)
{
    const event_log *l = &r->log;
    for (size_t i = log_search(l, cut, 0); i < l->n; i++) {
        fprintf(f, "A\t%" PRId64, l->v[i].at_ms);
        put_field(f, r->id);
        put_field(f, l->v[i].pool);
        put_number(f, l->v[i].value);
        fputc('\n', f);
    }
}

static int write_records(FILE *f, const store_data *d)
{
    void **v = NULL;
    size_t n;
    fprintf(f, "leadroute-state\t%d\n", STATE_STORE_FORMAT_VERSION);
    fputs("# Routing state of leadroute (examples/state_store.c); fields are separated by tabs.\n", f);

    if (map_sorted(&d->pools, &v, &n) != 0)
        return LEADROUTE_ENOMEM;
    fputs("# P  pool, state version, state\n", f);
    for (size_t i = 0; i < n; i++) {
        const pool_entry *p = v[i];
        if (p->version == 0)
            continue; /* never written: only its log matters, rebuilt from the A lines */
        fputs("P", f);
        put_field(f, p->id);
        fprintf(f, "\t%" PRIu64 "\t", p->version);
        put_text(f, p->state ? p->state : "", p->length);
        fputc('\n', f);
    }
    free(v);

    if (map_sorted(&d->claims, &v, &n) != 0)
        return LEADROUTE_ENOMEM;
    fputs("# C  account, rep\n"
          "# L  lead key, rep, lead id, pool, rule, table hash, assigned ms, sla minutes, deadline ms,\n"
          "#    value, hops, escalated, acknowledged ms, earlier reps...\n",
          f);
    for (size_t i = 0; i < n; i++) {
        const claim_entry *c = v[i];
        fputs(c->is_account ? "C" : "L", f);
        put_field(f, c->key);
        put_field(f, c->rep);
        if (!c->is_account) {
            put_field(f, c->lead_id);
            put_field(f, c->pool_id);
            put_field(f, c->rule_id);
            fprintf(f, "\t%016" PRIx64 "\t%" PRId64, c->table_hash, c->at_ms);
            put_number(f, c->sla_minutes);
            fprintf(f, "\t%" PRId64, c->deadline_ms);
            put_number(f, c->value);
            fprintf(f, "\t%" PRIu32 "\t%d\t%" PRId64, c->hops, c->escalated, c->acknowledged_ms);
            for (size_t h = 0; h < c->history_count; h++)
                put_field(f, c->history[h]);
        }
        fputc('\n', f);
    }
    free(v);

    if (map_sorted(&d->reps, &v, &n) != 0)
        return LEADROUTE_ENOMEM;
    /* what no window can reach any more: 31 days before the newest assignment */
    int64_t newest = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        const event_log *l = &((const rep_entry *)v[i])->log;
        if (l->n && l->v[l->n - 1].at_ms > newest)
            newest = l->v[l->n - 1].at_ms;
    }
    int64_t cut = newest > INT64_MIN + LOG_KEEP_MS ? newest - LOG_KEEP_MS : INT64_MIN;
    fputs("# A  assigned ms, rep, pool, value (the last 31 days, for caps and value balancing)\n", f);
    for (size_t i = 0; i < n; i++)
        put_log(f, v[i], cut);
    free(v);
    return LEADROUTE_OK;
}

static int save_error(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    if (err && cap) {
        va_start(ap, fmt);
        vsnprintf(err, cap, fmt, ap);
        va_end(ap);
    }
    return LEADROUTE_EIO;
}

/* Make the rename itself durable: flush the directory that holds `path`. */
static void sync_directory(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else if ((size_t)(slash - path) < sizeof dir)
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    else
        return;
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        (void)fsync(fd); /* best effort: some file systems refuse it */
        close(fd);
    }
}

int state_store_save(const state_store *s, const char *path, char *err, size_t err_cap)
{
    if (!s || !path)
        return LEADROUTE_EINVAL;
    size_t n = strlen(path);
    char *tmp = malloc(n + 5);
    if (!tmp)
        return LEADROUTE_ENOMEM;
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp", 5);

    FILE *f = fopen(tmp, "w");
    if (!f) {
        int rc = save_error(err, err_cap, "cannot write %s: %s", tmp, strerror(errno));
        free(tmp);
        return rc;
    }
    int rc = write_records(f, &s->d);
    int failed = rc != LEADROUTE_OK || fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0;
    int saved_errno = errno;
    if (fclose(f) != 0 && !failed) {
        failed = 1;
        saved_errno = errno;
    }
    if (!failed && rename(tmp, path) != 0) {
        rc = save_error(err, err_cap, "cannot replace %s: %s", path, strerror(errno));
        remove(tmp);
        free(tmp);
        return rc;
    }
    if (failed) {
        if (rc == LEADROUTE_OK)
            rc = save_error(err, err_cap, "cannot write %s: %s", tmp, strerror(saved_errno));
        else if (err && err_cap)
            snprintf(err, err_cap, "out of memory writing %s", tmp);
        remove(tmp); /* the old file is untouched */
        free(tmp);
        return rc;
    }
    free(tmp);
    sync_directory(path);
    return LEADROUTE_OK;
}

/* ---- reading the file ---------------------------------------------------------------- */

#define MAX_FIELDS (14 + 1024) /* an L record with up to 1024 earlier holders */

/* One line being parsed: its fields (unescaped in place), their lengths (a
 * state may hold NUL bytes, written as \x00) and where each starts, for
 * messages. */
typedef struct line_parser {
    const char *path;
    size_t line;
    char *err;
    size_t err_cap;
    char *field[MAX_FIELDS];
    size_t length[MAX_FIELDS];
    size_t col[MAX_FIELDS];
    size_t n;
} line_parser;

#if defined(__GNUC__)
#define PRINTF_LIKE(a, b) __attribute__((format(printf, a, b)))
#else
#define PRINTF_LIKE(a, b)
#endif

/* "path:line:col: message" (col 0: "path:line: message"); returns EPARSE. */
static int parse_error_at(line_parser *p, size_t col, const char *fmt, ...) PRINTF_LIKE(3, 4);

static int parse_error_at(line_parser *p, size_t col, const char *fmt, ...)
{
    if (p->err && p->err_cap) {
        va_list ap;
        int k = col ? snprintf(p->err, p->err_cap, "%s:%zu:%zu: ", p->path, p->line, col)
                    : snprintf(p->err, p->err_cap, "%s:%zu: ", p->path, p->line);
        if (k >= 0 && (size_t)k < p->err_cap) {
            va_start(ap, fmt);
            vsnprintf(p->err + k, p->err_cap - (size_t)k, fmt, ap);
            va_end(ap);
        }
    }
    return LEADROUTE_EPARSE;
}

/* The message for a bad field i, at its column. */
#define parse_error(p, i, ...) parse_error_at((p), (i) < (p)->n ? (p)->col[(i)] : 0, __VA_ARGS__)

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Split `line` (NUL-terminated, no line break) at tabs and undo the escapes
 * of each field in place. */
static int split_line(line_parser *p, char *line)
{
    char *s = line;
    p->n = 0;
    for (;;) {
        if (p->n == MAX_FIELDS)
            return parse_error(p, p->n - 1, "too many fields (at most %d)", MAX_FIELDS);
        size_t i = p->n++;
        p->field[i] = s;
        p->col[i] = (size_t)(s - line) + 1;
        char *out = s;
        for (; *s && *s != '\t'; s++) {
            if (*s != '\\') {
                *out++ = *s;
                continue;
            }
            size_t col = (size_t)(s - line) + 1;
            switch (s[1]) {
            case '\\': *out++ = '\\'; s++; break;
            case 't': *out++ = '\t'; s++; break;
            case 'n': *out++ = '\n'; s++; break;
            case 'r': *out++ = '\r'; s++; break;
            case 'x': {
                int hi = s[2] ? hex_digit(s[2]) : -1, lo = hi >= 0 && s[3] ? hex_digit(s[3]) : -1;
                if (lo < 0)
                    return parse_error_at(p, col, "bad escape: \\x needs two hex digits");
                *out++ = (char)(hi * 16 + lo);
                s += 3;
                break;
            }
            default:
                return parse_error_at(p, col, "unknown escape '\\%c' (expected \\\\ \\t \\n \\r \\xHH)",
                                      s[1] ? s[1] : ' ');
            }
        }
        int last = *s == '\0';
        p->length[i] = (size_t)(out - p->field[i]);
        *out = '\0';
        if (last)
            return LEADROUTE_OK;
        s++;
    }
}

/* Field readers: each reports the field's column when the value is bad. */
static int read_int64(line_parser *p, size_t i, const char *what, int64_t *out)
{
    const char *s = p->field[i];
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || (*s != '-' && (*s < '0' || *s > '9')))
        return parse_error(p, i, "%s: '%s' is not a whole number of milliseconds", what, s);
    *out = (int64_t)v;
    return LEADROUTE_OK;
}

static int read_uint64(line_parser *p, size_t i, const char *what, int base, uint64_t max, uint64_t *out)
{
    const char *s = p->field[i];
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, base);
    if (!*s || *end || errno || hex_digit(*s) < 0 || v > max)
        return parse_error(p, i, "%s: '%s' is not %s", what, s,
                           base == 16 ? "a hexadecimal number" : "a non-negative whole number in range");
    *out = (uint64_t)v;
    return LEADROUTE_OK;
}

static int read_double(line_parser *p, size_t i, const char *what, double *out)
{
    const char *s = p->field[i];
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || !isfinite(v))
        return parse_error(p, i, "%s: '%s' is not a finite number", what, s);
    *out = v;
    return LEADROUTE_OK;
}

static int need_text(line_parser *p, size_t i, const char *what)
{
    if (!p->field[i][0])
        return parse_error(p, i, "%s must not be empty", what);
    return LEADROUTE_OK;
}

/* A copy of field i, NULL for an empty field; *oom set on failure. */
static char *optional_copy(line_parser *p, size_t i, int *oom)
{
    if (!p->field[i][0])
        return NULL;
    char *c = dup_string(p->field[i]);
    if (!c)
        *oom = 1;
    return c;
}

static int need_fields(line_parser *p, size_t want, int at_least)
{
    if (at_least ? p->n >= want : p->n == want)
        return LEADROUTE_OK;
    return parse_error(p, 0, "a '%s' record needs %s%zu fields, this one has %zu", p->field[0],
                       at_least ? "at least " : "", want, p->n);
}

static int parse_pool(line_parser *p, store_data *d)
{
    uint64_t version;
    int rc;
    if ((rc = need_fields(p, 4, 0)) || (rc = need_text(p, 1, "pool id")) ||
        (rc = read_uint64(p, 2, "state version", 10, UINT64_MAX - 1, &version)))
        return rc;
    if (version == 0)
        return parse_error(p, 2, "state version: a written pool has version 1 or more");
    pool_entry *e = map_find(&d->pools, p->field[1]);
    if (e && e->version)
        return parse_error(p, 1, "pool '%s' appears twice", p->field[1]);
    char *state = malloc(p->length[3] + 1);
    if (!state || !(e = ensure_pool(d, p->field[1]))) {
        free(state);
        return LEADROUTE_ENOMEM;
    }
    memcpy(state, p->field[3], p->length[3] + 1);
    e->state = state;
    e->length = p->length[3];
    e->version = version;
    return LEADROUTE_OK;
}

static int parse_claim(line_parser *p, store_data *d, int is_account)
{
    int rc, oom = 0;
    if ((rc = need_fields(p, is_account ? 3 : 14, !is_account)) || (rc = need_text(p, 1, "key")) ||
        (rc = need_text(p, 2, "rep id")))
        return rc;
    if (map_find(&d->claims, p->field[1]))
        return parse_error(p, 1, "key '%s' is claimed twice", p->field[1]);
    claim_entry *c = calloc(1, sizeof *c);
    if (!c)
        return LEADROUTE_ENOMEM;
    c->is_account = is_account;
    c->key = dup_string(p->field[1]);
    c->rep = dup_string(p->field[2]);
    oom = !c->key || !c->rep;
    if (!is_account) {
        uint64_t hash, hops, escalated;
        c->lead_id = optional_copy(p, 3, &oom);
        c->pool_id = optional_copy(p, 4, &oom);
        c->rule_id = optional_copy(p, 5, &oom);
        if ((rc = read_uint64(p, 6, "table hash", 16, UINT64_MAX, &hash)) ||
            (rc = read_int64(p, 7, "assigned at", &c->at_ms)) ||
            (rc = read_double(p, 8, "sla minutes", &c->sla_minutes)) ||
            (rc = read_int64(p, 9, "deadline", &c->deadline_ms)) || (rc = read_double(p, 10, "value", &c->value)) ||
            (rc = read_uint64(p, 11, "hops", 10, UINT32_MAX, &hops)) ||
            (rc = read_uint64(p, 12, "escalated (0 or 1)", 10, 1, &escalated)) ||
            (rc = read_int64(p, 13, "acknowledged at", &c->acknowledged_ms))) {
            claim_free(c);
            return rc;
        }
        c->table_hash = hash;
        c->hops = (uint32_t)hops;
        c->escalated = (int)escalated;
        size_t nh = p->n - 14;
        if (nh && !oom && !(c->history = calloc(nh, sizeof *c->history)))
            oom = 1;
        for (size_t h = 0; h < nh && !oom; h++) {
            if (!p->field[14 + h][0]) {
                claim_free(c);
                return parse_error(p, 14 + h, "an earlier rep id must not be empty");
            }
            if (!(c->history[h] = dup_string(p->field[14 + h])))
                oom = 1;
            else
                c->history_count = h + 1;
        }
    }
    /* the open lead goes to its holder (recounted here, never stored) */
    rep_entry *r = NULL;
    if (oom || map_reserve(&d->claims, 1) != 0 || (!is_account && !(r = ensure_rep(d, c->rep)))) {
        claim_free(c);
        return LEADROUTE_ENOMEM;
    }
    map_put(&d->claims, c);
    if (r)
        r->open++;
    return LEADROUTE_OK;
}

static int parse_event(line_parser *p, store_data *d)
{
    int64_t at;
    double value;
    int rc;
    if ((rc = need_fields(p, 5, 0)) || (rc = read_int64(p, 1, "assigned at", &at)) ||
        (rc = need_text(p, 2, "rep id")) || (rc = read_double(p, 4, "value", &value)))
        return rc;
    rep_entry *r = ensure_rep(d, p->field[2]);
    pool_entry *pool = p->field[3][0] ? ensure_pool(d, p->field[3]) : NULL;
    if (!r || (p->field[3][0] && !pool) || log_reserve(&r->log) != 0 || (pool && log_reserve(&pool->log) != 0))
        return LEADROUTE_ENOMEM;
    log_add(&r->log, at, value, pool ? pool->id : NULL);
    if (pool)
        log_add(&pool->log, at, value, pool->id);
    return LEADROUTE_OK;
}

static int parse_lines(line_parser *p, store_data *d, char *text, size_t size)
{
    char *s = text, *end = text + size;
    int seen_header = 0;
    while (s < end) {
        char *nl = memchr(s, '\n', (size_t)(end - s));
        char *stop = nl ? nl : end;
        p->line++;
        p->n = 0;
        if (memchr(s, '\0', (size_t)(stop - s)))
            return parse_error_at(p, 0, "a NUL byte in the line (not a state file)");
        if (stop > s && stop[-1] == '\r') /* tolerate CRLF: a CR in a field is always escaped */
            stop--;
        *stop = '\0';
        char *line = s;
        s = nl ? nl + 1 : end;
        int rc;
        if (!seen_header) {
            uint64_t version;
            if ((rc = split_line(p, line)) != 0)
                return rc;
            if (p->n != 2 || strcmp(p->field[0], "leadroute-state") != 0)
                return parse_error_at(p, 0, "not a leadroute state file (the first line must be "
                                            "'leadroute-state<TAB>%d')", STATE_STORE_FORMAT_VERSION);
            if ((rc = read_uint64(p, 1, "format version", 10, UINT32_MAX, &version)) != 0)
                return rc;
            if (version != STATE_STORE_FORMAT_VERSION)
                return parse_error(p, 1, "state format version %" PRIu64 " is not supported (this tool reads %d)",
                                   version, STATE_STORE_FORMAT_VERSION);
            seen_header = 1;
            continue;
        }
        if (line[0] == '#' || line[0] == '\0')
            continue;
        if ((rc = split_line(p, line)) != 0)
            return rc;
        const char *type = p->field[0];
        if (strcmp(type, "P") == 0)
            rc = parse_pool(p, d);
        else if (strcmp(type, "C") == 0)
            rc = parse_claim(p, d, 1);
        else if (strcmp(type, "L") == 0)
            rc = parse_claim(p, d, 0);
        else if (strcmp(type, "A") == 0)
            rc = parse_event(p, d);
        else
            rc = parse_error(p, 0, "unknown record type '%s' (expected P, C, L or A)", type);
        if (rc == LEADROUTE_ENOMEM && p->err && p->err_cap)
            snprintf(p->err, p->err_cap, "%s:%zu: out of memory", p->path, p->line);
        if (rc != 0)
            return rc;
    }
    if (!seen_header && size) {
        p->line = 1;
        return parse_error_at(p, 0, "no header: a state file starts with 'leadroute-state<TAB>%d'",
                              STATE_STORE_FORMAT_VERSION);
    }
    return LEADROUTE_OK; /* an empty file (from mktemp, say) is an empty state */
}

int state_store_load(state_store *s, const char *path, char *err, size_t err_cap)
{
    if (!s || !path)
        return LEADROUTE_EINVAL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT) { /* no file yet: an empty state */
            data_free(&s->d);
            return LEADROUTE_OK;
        }
        return save_error(err, err_cap, "cannot open %s: %s", path, strerror(errno));
    }
    size_t cap = 64 * 1024, size = 0;
    char *text = malloc(cap);
    int rc = text ? LEADROUTE_OK : LEADROUTE_ENOMEM;
    while (rc == LEADROUTE_OK) {
        if (size == cap) {
            char *grown = cap <= SIZE_MAX / 2 ? realloc(text, cap * 2) : NULL;
            if (!grown) {
                rc = LEADROUTE_ENOMEM;
                break;
            }
            text = grown;
            cap *= 2;
        }
        size_t got = fread(text + size, 1, cap - size, f);
        size += got;
        if (got == 0)
            break;
    }
    if (rc == LEADROUTE_OK && ferror(f))
        rc = save_error(err, err_cap, "cannot read %s: %s", path, strerror(errno));
    fclose(f);
    if (rc == LEADROUTE_ENOMEM && err && err_cap)
        snprintf(err, err_cap, "out of memory reading %s", path);
    if (rc != LEADROUTE_OK) {
        free(text);
        return rc;
    }

    /* Parse into a fresh state; the store changes only on success. */
    store_data fresh;
    memset(&fresh, 0, sizeof fresh);
    line_parser *p = calloc(1, sizeof *p); /* about 25 KB: kept off the stack */
    if (!p) {
        free(text);
        return LEADROUTE_ENOMEM;
    }
    p->path = path;
    p->err = err;
    p->err_cap = err_cap;
    rc = parse_lines(p, &fresh, text, size);
    free(p);
    free(text);
    if (rc != LEADROUTE_OK) {
        data_free(&fresh);
        return rc;
    }
    data_free(&s->d);
    s->d = fresh;
    return LEADROUTE_OK;
}
