/* Rosters: reps and pools checked, copied and indexed once, then shared
 * read-only by every routing call. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/value.h"
#include "router/internal.h"

int leadroute_rep_init(leadroute_rep *rep, uint32_t version)
{
    static const leadroute_rep init = LEADROUTE_REP_INIT;
    if (!rep)
        return lr__error_set(LEADROUTE_EINVAL, "rep must not be NULL");
    if (version == 0 || version > LEADROUTE_REP_VERSION)
        return lr__error_set(LEADROUTE_EVERSION, "rep version %u is not supported (1..%u)", version,
                             LEADROUTE_REP_VERSION);
    *rep = init;
    return LEADROUTE_OK;
}

int leadroute_pool_init(leadroute_pool *pool, uint32_t version)
{
    static const leadroute_pool init = LEADROUTE_POOL_INIT;
    if (!pool)
        return lr__error_set(LEADROUTE_EINVAL, "pool must not be NULL");
    if (version == 0 || version > LEADROUTE_POOL_VERSION)
        return lr__error_set(LEADROUTE_EVERSION, "pool version %u is not supported (1..%u)", version,
                             LEADROUTE_POOL_VERSION);
    *pool = init;
    return LEADROUTE_OK;
}

const int64_t lr__window_ms[LR_WINDOWS] = { 24LL * 3600 * 1000, 7LL * 24 * 3600 * 1000, 30LL * 24 * 3600 * 1000 };
const char *const lr__window_name[LR_WINDOWS] = { "24h", "7d", "30d" };

/* An id: 1..LEADROUTE_MAX_NAME bytes of UTF-8 with no control character
 * or line separator (ids go into one-line pool state, CSV and JSON). */
static int lr__check_id(const char *id, const char *what, size_t index)
{
    size_t len;
    const char *breaker;
    if (!id)
        return lr__error_set(LEADROUTE_EINVAL, "%s %zu has no id", what, index);
    if (lr__text_measure(id, LEADROUTE_MAX_NAME, &len) != 0 || len == 0)
        return lr__error_set(LEADROUTE_EINVAL, "%s %zu: id must be 1..%d bytes of UTF-8", what, index,
                             LEADROUTE_MAX_NAME);
    if ((breaker = lr__text_breaker(id, len)) != NULL)
        return lr__error_set(LEADROUTE_EINVAL, "%s '%s': id holds %s", what, id, breaker);
    return LEADROUTE_OK;
}

/* NULL, empty or blanks only: no name at all. */
static int lr__blank_text(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    lr__trim(&s, &n);
    return n == 0;
}

static int lr__check_name(const char *s, const char *what, const char *owner)
{
    if (s && lr__text_measure(s, LEADROUTE_MAX_STRING, NULL) != 0)
        return lr__error_set(LEADROUTE_EINVAL, "%s of '%s' is not valid UTF-8 of at most %d bytes", what, owner,
                             LEADROUTE_MAX_STRING);
    return LEADROUTE_OK;
}

static int lr__strcmp_p(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* By id, then input order: an id given twice is blamed on its first and
 * second places whether the C library's qsort is stable or not. */
static int lr__rep_cmp(const void *a, const void *b)
{
    const lr__rep *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : (x->input > y->input) - (x->input < y->input);
}

static int lr__pool_cmp(const void *a, const void *b)
{
    const lr__pool *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : (x->input > y->input) - (x->input < y->input);
}

static int lr__skill_cmp(const void *a, const void *b)
{
    return strcmp(((const lr__skill *)a)->name, ((const lr__skill *)b)->name);
}

/* 0, or -1 for a name over LEADROUTE_MAX_NAME bytes, -2 for invalid UTF-8. */
static int lr__name_check(const char *name)
{
    return lr__text_measure(name, LEADROUTE_MAX_NAME, NULL);
}

static int lr__tier_cmp(const void *a, const void *b)
{
    double x = ((const leadroute_tier_rule *)a)->min_score, y = ((const leadroute_tier_rule *)b)->min_score;
    return x > y ? -1 : x < y;
}

/* Binary search for `id` among `n` records of `stride` bytes, sorted by the
 * string pointer found `off` bytes into each. Returns the index or LR_NONE. */
static uint32_t lr__find_sorted(const void *base, uint32_t n, size_t stride, size_t off, const char *id)
{
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        const char *key = *(const char *const *)((const char *)base + (size_t)mid * stride + off);
        /* the first byte settles most steps without a call (ids and skill
         * items are short); strcmp compares bytes as unsigned char too */
        int c = (unsigned char)key[0] != (unsigned char)id[0]
                    ? ((unsigned char)key[0] < (unsigned char)id[0] ? -1 : 1)
                    : strcmp(key, id);
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return LR_NONE;
}

uint32_t lr__roster_rep(const leadroute_roster *r, const char *id)
{
    return lr__find_sorted(r->reps, r->nreps, sizeof *r->reps, offsetof(lr__rep, id), id);
}

uint32_t lr__roster_pool(const leadroute_roster *r, const char *id)
{
    return lr__find_sorted(r->pools, r->npools, sizeof *r->pools, offsetof(lr__pool, id), id);
}

/* Skill items are compared trimmed and case-folded. */
static char *lr__skill_norm(lr__arena *a, const char *s)
{
    size_t n = strlen(s);
    char *out;
    lr__trim(&s, &n);
    out = lr__arena_alloc(a, n + 1);
    if (!out)
        return NULL;
    lr__fold(s, n, out);
    out[n] = 0;
    return out;
}

int lr__skill_has(const lr__skill *s, const char *norm)
{
    uint32_t i;
    if (!s)
        return 0;
    if (s->nitems > 8)
        return lr__find_sorted(s->items, s->nitems, sizeof *s->items, 0, norm) != LR_NONE;
    /* a rep's set is a few items (languages, products): a scan whose first
     * byte decides most comparisons beats a binary search of calls */
    for (i = 0; i < s->nitems; i++)
        if (s->items[i][0] == norm[0] && strcmp(s->items[i], norm) == 0)
            return 1;
    return 0;
}

int lr__skill_norm_into(const char *item, char *out, size_t cap)
{
    size_t n = strlen(item);
    lr__trim(&item, &n);
    if (n >= cap)
        return 0;
    lr__fold(item, n, out);
    out[n] = 0;
    return 1;
}

static const lr__skill *lr__rep_skill(const lr__rep *rep, const char *skill)
{
    uint32_t i = lr__find_sorted(rep->skills, rep->nskills, sizeof *rep->skills, offsetof(lr__skill, name), skill);
    return i == LR_NONE ? NULL : &rep->skills[i];
}

int lr__rep_has_skill(const lr__rep *rep, const char *skill, const char *item)
{
    char norm[LEADROUTE_MAX_STRING + 1];
    const lr__skill *s = lr__rep_skill(rep, skill);
    /* longer than any skill item can be: not there */
    return s && lr__skill_norm_into(item, norm, sizeof norm) && lr__skill_has(s, norm);
}

/* A skill's value failed the value check, whose message speaks of a lead
 * field: the same detail, said of the rep's skill, as a roster error. */
static int lr__skill_value_error(const char *rep_id, const char *skill, int rc)
{
    const char *m = leadroute_error_last()->message;
    char prefix[LEADROUTE_MAX_NAME + 32], detail[256];
    int n = snprintf(prefix, sizeof prefix, "lead field '%s': ", skill);
    if (n > 0 && (size_t)n < sizeof prefix && strncmp(m, prefix, (size_t)n) == 0)
        m += n;
    snprintf(detail, sizeof detail, "%s", m);
    return lr__error_set(rc == LEADROUTE_EVERSION ? LEADROUTE_EVERSION : LEADROUTE_EINVAL, "rep '%s': skill '%s': %s",
                         rep_id, skill, detail);
}

static int lr__copy_skills(leadroute_roster *ro, const leadroute_rep *in, lr__rep *rep)
{
    size_t i, j;
    rep->nskills = (uint32_t)in->skill_count;
    rep->skills = lr__arena_zalloc(&ro->arena, sizeof *rep->skills * (in->skill_count ? in->skill_count : 1));
    if (!rep->skills)
        return lr__error_nomem();
    for (i = 0; i < in->skill_count; i++) {
        const leadroute_field *f = &in->skills[i];
        lr__skill *s = &rep->skills[i];
        const leadroute_value *v = &f->value;
        size_t n, u;
        int rc;
        if (!f->name || !f->name[0])
            return lr__error_set(LEADROUTE_EINVAL, "rep '%s': skill %zu has no name", in->id, i);
        if ((rc = lr__name_check(f->name)) != 0)
            return lr__error_set(LEADROUTE_EINVAL, "rep '%s': the name of skill %zu %s", in->id, i,
                                 rc == -1 ? "is longer than 256 bytes" : "is not valid UTF-8");
        if ((rc = lr__value_check(v, f->name)) != 0)
            return lr__skill_value_error(in->id, f->name, rc);
        if (v->type != LEADROUTE_VALUE_STRING && v->type != LEADROUTE_VALUE_SET && v->type != LEADROUTE_VALUE_NULL)
            return lr__error_set(LEADROUTE_EINVAL, "rep '%s': skill '%s' must be a string or a set", in->id,
                                 f->name);
        n = v->type == LEADROUTE_VALUE_SET ? v->item_count : v->type == LEADROUTE_VALUE_STRING ? 1 : 0;
        if (!(s->name = lr__arena_strndup(&ro->arena, f->name, strlen(f->name))))
            return lr__error_nomem();
        s->items = lr__arena_alloc(&ro->arena, sizeof *s->items * (n ? n : 1));
        if (!s->items)
            return lr__error_nomem();
        for (j = u = 0; j < n; j++) {
            const char *item = v->type == LEADROUTE_VALUE_SET ? v->items[j] : v->string;
            char *norm = lr__skill_norm(&ro->arena, item);
            if (!norm)
                return lr__error_nomem();
            if (norm[0])
                s->items[u++] = norm;
        }
        qsort(s->items, u, sizeof *s->items, lr__strcmp_p);
        for (j = n = 0; j < u; j++)
            if (n == 0 || strcmp(s->items[n - 1], s->items[j]) != 0)
                s->items[n++] = s->items[j];
        s->nitems = (uint32_t)n;
    }
    qsort(rep->skills, rep->nskills, sizeof *rep->skills, lr__skill_cmp);
    for (i = 1; i < rep->nskills; i++)
        if (strcmp(rep->skills[i - 1].name, rep->skills[i].name) == 0)
            return lr__error_set(LEADROUTE_EINVAL, "rep '%s': skill '%s' is given twice", in->id,
                                 rep->skills[i].name);
    return LEADROUTE_OK;
}

static char *lr__dup(leadroute_roster *ro, const char *s)
{
    return s ? lr__arena_strndup(&ro->arena, s, strlen(s)) : NULL;
}

static void lr__blame(lr__roster_culprit *who, int kind, uint32_t index, uint32_t first)
{
    who->kind = kind;
    who->index = index;
    who->first = first;
}

/* An id given twice: blame the later of the two inputs. */
static void lr__blame_twice(lr__roster_culprit *who, int kind, uint32_t a, uint32_t b)
{
    lr__blame(who, kind, a > b ? a : b, a > b ? b : a);
}

/* Copy pools (without members, fallbacks and owners, which need indexes). */
static int lr__copy_pools(leadroute_roster *ro, const leadroute_pool *pools, size_t n, lr__roster_culprit *who)
{
    size_t i, k;
    int rc;
    for (i = 0; i < n; i++) {
        const leadroute_pool *in = &pools[i];
        lr__pool *p = &ro->pools[i];
        lr__blame(who, LR_CULPRIT_POOL, (uint32_t)i, LR_NONE);
        p->input = (uint32_t)i;
        if (in->version == 0 || in->version > LEADROUTE_POOL_VERSION)
            return lr__error_set(LEADROUTE_EVERSION, "pool %zu: version %u is not supported (1..%u)", i,
                                 in->version, LEADROUTE_POOL_VERSION);
        if ((rc = lr__check_id(in->id, "pool", i)) != 0)
            return rc;
        if (in->strategy < LEADROUTE_STRATEGY_ROUND_ROBIN || in->strategy > LEADROUTE_STRATEGY_VALUE_BALANCED)
            return lr__error_set(LEADROUTE_EINVAL, "pool '%s': unknown strategy %u", in->id, in->strategy);
        if (in->on_empty < LEADROUTE_EMPTY_UNASSIGNED || in->on_empty > LEADROUTE_EMPTY_QUEUE)
            return lr__error_set(LEADROUTE_EINVAL, "pool '%s': unknown empty-pool policy %u", in->id, in->on_empty);
        if (in->on_empty == LEADROUTE_EMPTY_QUEUE && lr__blank_text(in->queue))
            return lr__error_set(LEADROUTE_EINVAL, "pool '%s': empty-pool policy 'queue' needs a queue name",
                                 in->id);
        if (in->on_empty == LEADROUTE_EMPTY_DEFAULT_OWNER && (!in->default_owner || !in->default_owner[0]))
            return lr__error_set(LEADROUTE_EINVAL,
                                 "pool '%s': empty-pool policy 'default_owner' needs a default owner", in->id);
        if ((in->filter_count && !in->filters) || (in->tier_count && !in->tiers))
            return lr__error_set(LEADROUTE_EINVAL, "pool '%s': filters or tiers are NULL with a count", in->id);
        if ((rc = lr__check_name(in->queue, "queue", in->id)) != 0)
            return rc;
        /* lead field names: a longer one could never be read */
        {
            const char *const fields[2] = { in->score_field, in->value_field };
            static const char *const what[2] = { "score", "value" };
            int j;
            for (j = 0; j < 2; j++)
                if (fields[j] && (rc = lr__name_check(fields[j])) != 0)
                    return lr__error_set(LEADROUTE_EINVAL, "pool '%s': its %s field name %s", in->id, what[j],
                                         rc == -1 ? "is longer than 256 bytes" : "is not valid UTF-8");
        }
        if (!isfinite(in->sla_minutes) || in->sla_minutes < 0)
            return lr__error_set(LEADROUTE_EINVAL, "pool '%s': sla_minutes must be a finite number >= 0", in->id);
        if (in->calibration > LEADROUTE_CALIBRATE_CATCH_UP)
            return lr__error_set(LEADROUTE_EINVAL, "pool '%s': unknown calibration %u", in->id, in->calibration);
        if (in->value_window_days > 31)
            return lr__error_set(LEADROUTE_EINVAL, "pool '%s': the value window is at most 31 days", in->id);
        p->caps[0] = in->cap_day;
        p->caps[1] = in->cap_week;
        p->caps[2] = in->cap_month;
        p->has_caps =
            p->caps[0] != LEADROUTE_NO_CAP || p->caps[1] != LEADROUTE_NO_CAP || p->caps[2] != LEADROUTE_NO_CAP;
        p->sla_minutes = in->sla_minutes;
        p->max_hops = in->max_hops;
        p->calibration = in->calibration;
        p->value_window_days = in->value_window_days ? in->value_window_days : 30;
        p->value_field = lr__dup(ro, in->value_field && in->value_field[0] ? in->value_field : "deal_value");
        p->escalation_pool = p->escalation_owner = LR_NONE;
        if (!p->value_field)
            return lr__error_nomem();
        p->id = lr__dup(ro, in->id);
        p->strategy = in->strategy;
        p->on_empty = in->on_empty;
        p->owner_first = in->owner_first != 0;
        ro->owner_first |= p->owner_first;
        p->queue = in->queue && in->queue[0] ? lr__dup(ro, in->queue) : NULL;
        p->score_field = lr__dup(ro, in->score_field && in->score_field[0] ? in->score_field : "score");
        p->nfilters = (uint32_t)in->filter_count;
        p->filters = lr__arena_alloc(&ro->arena, sizeof *p->filters * (in->filter_count + 1));
        p->ntiers = (uint32_t)in->tier_count;
        p->tiers = lr__arena_alloc(&ro->arena, sizeof *p->tiers * (in->tier_count + 1));
        if (!p->id || !p->score_field || !p->filters || !p->tiers || (in->queue && in->queue[0] && !p->queue))
            return lr__error_nomem();
        for (k = 0; k < in->filter_count; k++) {
            const leadroute_skill_filter *f = &in->filters[k];
            if (!f->field || !f->skill || !f->field[0] || !f->skill[0])
                return lr__error_set(LEADROUTE_EINVAL, "pool '%s': filter %zu needs a field and a skill name",
                                     in->id, k);
            if ((rc = lr__name_check(f->field)) != 0 || (rc = -lr__name_check(f->skill)) != 0)
                /* rc < 0: the field's name, > 0: the skill's */
                return lr__error_set(LEADROUTE_EINVAL, "pool '%s': filter %zu: its %s name %s", in->id, k,
                                     rc < 0 ? "field" : "skill",
                                     rc == -1 || rc == 1 ? "is longer than 256 bytes" : "is not valid UTF-8");
            p->filters[k].field = lr__dup(ro, f->field);
            p->filters[k].skill = lr__dup(ro, f->skill);
            if (!p->filters[k].field || !p->filters[k].skill)
                return lr__error_nomem();
        }
        for (k = 0; k < in->tier_count; k++) {
            if (!isfinite(in->tiers[k].min_score))
                return lr__error_set(LEADROUTE_EINVAL, "pool '%s': tier %zu has a score that is not finite",
                                     in->id, k);
            p->tiers[k] = in->tiers[k];
        }
        qsort(p->tiers, p->ntiers, sizeof *p->tiers, lr__tier_cmp);
        for (k = 1; k < p->ntiers; k++)
            if (p->tiers[k].min_score == p->tiers[k - 1].min_score)
                /* which tier would a lead at that score need? */
                return lr__error_set(LEADROUTE_EINVAL, "pool '%s': two tiers start at score %g", in->id,
                                     p->tiers[k].min_score);
        /* resolved after sorting; kept here as pointers into the input */
        p->fallback = LR_NONE;
        p->default_owner = LR_NONE;
        p->members = NULL;
        p->nmembers = 0;
    }
    return LEADROUTE_OK;
}

static int lr__copy_reps(leadroute_roster *ro, const leadroute_rep *reps, size_t n, lr__roster_culprit *who)
{
    size_t i;
    int rc;
    for (i = 0; i < n; i++) {
        const leadroute_rep *in = &reps[i];
        lr__rep *r = &ro->reps[i];
        lr__blame(who, LR_CULPRIT_REP, (uint32_t)i, LR_NONE);
        r->input = (uint32_t)i;
        if (in->version == 0 || in->version > LEADROUTE_REP_VERSION)
            return lr__error_set(LEADROUTE_EVERSION, "rep %zu: version %u is not supported (1..%u)", i,
                                 in->version, LEADROUTE_REP_VERSION);
        if ((rc = lr__check_id(in->id, "rep", i)) != 0 || (rc = lr__check_name(in->name, "name", in->id)) != 0)
            return rc;
        if (!isfinite(in->weight) || !(in->weight > 0))
            return lr__error_set(LEADROUTE_EINVAL, "rep '%s': weight must be a finite number > 0", in->id);
        if ((in->pool_count && !in->pools) || (in->skill_count && !in->skills))
            return lr__error_set(LEADROUTE_EINVAL, "rep '%s': pools or skills are NULL with a count", in->id);
        r->id = lr__dup(ro, in->id);
        r->id_len = (uint32_t)strlen(in->id);
        r->name = lr__dup(ro, in->name && in->name[0] ? in->name : in->id);
        if (!r->id || !r->name)
            return lr__error_nomem();
        r->weight = in->weight;
        r->capacity = in->capacity;
        r->tier = in->tier;
        r->active = in->active != 0;
        r->caps[0] = in->cap_day;
        r->caps[1] = in->cap_week;
        r->caps[2] = in->cap_month;
        r->has_caps =
            r->caps[0] != LEADROUTE_NO_CAP || r->caps[1] != LEADROUTE_NO_CAP || r->caps[2] != LEADROUTE_NO_CAP;
        if ((rc = lr__copy_skills(ro, in, r)) != 0)
            return rc;
    }
    return LEADROUTE_OK;
}

static void lr__roster_destroy(leadroute_roster *ro)
{
    lr__alloc a = ro->alloc;
    lr__arena_free(&ro->arena);
    lr__free(&a, ro);
}

/* Fallback chains must end. Each pool is walked once: 1 = on the chain
 * being walked, 2 = known to end. */
static int lr__check_cycles(const leadroute_roster *ro, uint8_t *mark, lr__roster_culprit *who)
{
    uint32_t i, p, q;
    for (i = 0; i < ro->npools; i++) {
        for (p = i; p != LR_NONE && mark[p] == 0; p = ro->pools[p].fallback)
            mark[p] = 1;
        if (p != LR_NONE && mark[p] == 1) {
            lr__blame(who, LR_CULPRIT_POOL, ro->pools[p].input, LR_NONE);
            return lr__error_set(LEADROUTE_EINVAL, "pool '%s': its fallback chain loops back on itself",
                                 ro->pools[p].id);
        }
        for (q = i; q != p; q = ro->pools[q].fallback)
            mark[q] = 2;
    }
    return LEADROUTE_OK;
}

/* The public form of each rep's pools and skills, for leadroute_roster_rep(). */
static int lr__make_views(leadroute_roster *ro)
{
    uint32_t i, k;
    ro->views = lr__arena_zalloc(&ro->arena, sizeof *ro->views * ((size_t)ro->nreps + 1));
    if (!ro->views)
        return lr__error_nomem();
    for (i = 0; i < ro->nreps; i++) {
        const lr__rep *r = &ro->reps[i];
        lr__rep_view *v = &ro->views[i];
        v->pools = lr__arena_alloc(&ro->arena, sizeof *v->pools * ((size_t)r->npools + 1));
        v->skills = lr__arena_zalloc(&ro->arena, sizeof *v->skills * ((size_t)r->nskills + 1));
        if (!v->pools || !v->skills)
            return lr__error_nomem();
        for (k = 0; k < r->npools; k++)
            v->pools[k] = ro->pools[r->pools[k]].id;
        for (k = 0; k < r->nskills; k++) {
            leadroute_value *val = &v->skills[k].value;
            v->skills[k].name = r->skills[k].name;
            val->version = LEADROUTE_VALUE_VERSION;
            val->type = LEADROUTE_VALUE_SET;
            val->items = (const char *const *)r->skills[k].items;
            val->item_count = r->skills[k].nitems;
        }
    }
    return LEADROUTE_OK;
}

int leadroute_roster_new(leadroute_roster **out, const leadroute_rep *reps, size_t rep_count,
                         const leadroute_pool *pools, size_t pool_count, const leadroute_allocator *allocator)
{
    lr__roster_culprit who;
    return lr__roster_new(out, reps, rep_count, pools, pool_count, allocator, &who);
}

int lr__roster_new(leadroute_roster **out, const leadroute_rep *reps, size_t rep_count, const leadroute_pool *pools,
                   size_t pool_count, const leadroute_allocator *allocator, lr__roster_culprit *who)
{
    leadroute_roster *ro;
    lr__alloc a;
    size_t i, k, j;
    uint32_t *nmem = NULL;
    int rc;

    lr__blame(who, LR_CULPRIT_NONE, 0, LR_NONE);
    if (out)
        *out = NULL;
    if (!out || (rep_count && !reps) || (pool_count && !pools))
        return lr__error_set(LEADROUTE_EINVAL, "out, reps and pools must not be NULL");
    if (rep_count > 100000 || pool_count > 100000)
        return lr__error_set(LEADROUTE_ELIMIT, "a roster holds at most 100000 reps and 100000 pools");
    if ((rc = lr__alloc_init(&a, allocator)) != 0)
        return rc;
    if (!(ro = lr__calloc(&a, 1, sizeof *ro)))
        return lr__error_nomem();
    ro->alloc = a;
    lr__arena_init(&ro->arena, &ro->alloc);
    atomic_init(&ro->refs, 1u);
    ro->nreps = (uint32_t)rep_count;
    ro->npools = (uint32_t)pool_count;
    ro->reps = lr__arena_zalloc(&ro->arena, sizeof *ro->reps * (rep_count + 1));
    ro->pools = lr__arena_zalloc(&ro->arena, sizeof *ro->pools * (pool_count + 1));
    if (!ro->reps || !ro->pools) {
        rc = lr__error_nomem();
        goto fail;
    }
    if ((rc = lr__copy_pools(ro, pools, pool_count, who)) != 0 || (rc = lr__copy_reps(ro, reps, rep_count, who)) != 0)
        goto fail;
    lr__blame(who, LR_CULPRIT_NONE, 0, LR_NONE);
    qsort(ro->pools, ro->npools, sizeof *ro->pools, lr__pool_cmp);
    for (i = 1; i < ro->npools; i++)
        if (strcmp(ro->pools[i - 1].id, ro->pools[i].id) == 0) {
            lr__blame_twice(who, LR_CULPRIT_POOL, ro->pools[i - 1].input, ro->pools[i].input);
            rc = lr__error_set(LEADROUTE_EINVAL, "pool id '%s' is given twice", ro->pools[i].id);
            goto fail;
        }
    /* Rep pool lists are resolved before sorting reps: input order is reps[]. */
    for (i = 0; i < rep_count; i++) {
        lr__rep *r = &ro->reps[i];
        r->pools = lr__arena_alloc(&ro->arena, sizeof *r->pools * (reps[i].pool_count + 1));
        if (!r->pools) {
            rc = lr__error_nomem();
            goto fail;
        }
        for (k = 0; k < reps[i].pool_count; k++) {
            const char *pid = reps[i].pools[k];
            uint32_t p = pid ? lr__roster_pool(ro, pid) : LR_NONE;
            if (p == LR_NONE) {
                lr__blame(who, LR_CULPRIT_REP, (uint32_t)i, LR_NONE);
                rc = lr__error_set(LEADROUTE_EINVAL, "rep '%s' is in pool '%s', which is not defined", r->id,
                                   pid ? pid : "(null)");
                goto fail;
            }
            for (j = 0; j < r->npools && r->pools[j] != p; j++)
                ;
            if (j == r->npools)
                r->pools[r->npools++] = p;
        }
    }
    qsort(ro->reps, ro->nreps, sizeof *ro->reps, lr__rep_cmp);
    for (i = 1; i < ro->nreps; i++)
        if (strcmp(ro->reps[i - 1].id, ro->reps[i].id) == 0) {
            lr__blame_twice(who, LR_CULPRIT_REP, ro->reps[i - 1].input, ro->reps[i].input);
            rc = lr__error_set(LEADROUTE_EINVAL, "rep id '%s' is given twice", ro->reps[i].id);
            goto fail;
        }
    /* members, in rep id order */
    if (!(nmem = lr__calloc(&a, pool_count + 1, sizeof *nmem))) {
        rc = lr__error_nomem();
        goto fail;
    }
    for (i = 0; i < ro->nreps; i++)
        for (k = 0; k < ro->reps[i].npools; k++)
            nmem[ro->reps[i].pools[k]]++;
    for (i = 0; i < ro->npools; i++) {
        ro->pools[i].members = lr__arena_alloc(&ro->arena, sizeof(uint32_t) * (nmem[i] + 1));
        if (!ro->pools[i].members) {
            rc = lr__error_nomem();
            goto fail;
        }
    }
    for (i = 0; i < ro->nreps; i++)
        for (k = 0; k < ro->reps[i].npools; k++) {
            lr__pool *p = &ro->pools[ro->reps[i].pools[k]];
            p->members[p->nmembers++] = (uint32_t)i;
        }
    /* each member's skill set per filter, found once here rather than per lead */
    for (i = 0; i < ro->npools; i++) {
        lr__pool *p = &ro->pools[i];
        size_t f, m;
        if (!p->nfilters)
            continue;
        p->fskills = lr__arena_alloc(&ro->arena, sizeof *p->fskills * ((size_t)p->nfilters * p->nmembers + 1));
        if (!p->fskills) {
            rc = lr__error_nomem();
            goto fail;
        }
        for (f = 0; f < p->nfilters; f++)
            for (m = 0; m < p->nmembers; m++)
                p->fskills[f * p->nmembers + m] = lr__rep_skill(&ro->reps[p->members[m]], p->filters[f].skill);
    }
    /* weighted pools: each member's stride, once; weights too far apart for them are refused */
    for (i = 0; i < ro->npools; i++) {
        lr__pool *p = &ro->pools[i];
        uint32_t m, light = 0, heavy = 0;
        if (p->strategy != LEADROUTE_STRATEGY_WEIGHTED || !p->nmembers)
            continue;
        for (m = 1; m < p->nmembers; m++) {
            if (ro->reps[p->members[m]].weight < ro->reps[p->members[light]].weight)
                light = m;
            if (ro->reps[p->members[m]].weight > ro->reps[p->members[heavy]].weight)
                heavy = m;
        }
        if (ro->reps[p->members[heavy]].weight / ro->reps[p->members[light]].weight > LR_WEIGHT_SPAN_MAX) {
            const lr__rep *lo = &ro->reps[p->members[light]], *hi = &ro->reps[p->members[heavy]];
            lr__blame(who, LR_CULPRIT_POOL, p->input, LR_NONE);
            rc = lr__error_set(LEADROUTE_EINVAL,
                               "weighted pool '%s': the weights of its members differ by more than a factor of "
                               "%g (rep '%s' %g, rep '%s' %g): no shares can follow them",
                               p->id, LR_WEIGHT_SPAN_MAX, lo->id, lo->weight, hi->id, hi->weight);
            goto fail;
        }
        if (!(p->strides = lr__arena_alloc(&ro->arena, sizeof *p->strides * p->nmembers))) {
            rc = lr__error_nomem();
            goto fail;
        }
        lr__strides(ro->reps, p->members, p->nmembers, p->strides);
    }
    /* fallbacks and default owners, by id (inputs are matched by id again,
     * since pools were sorted) */
    for (i = 0; i < pool_count; i++) {
        const leadroute_pool *in = &pools[i];
        lr__pool *p = &ro->pools[lr__roster_pool(ro, in->id)];
        lr__blame(who, LR_CULPRIT_POOL, (uint32_t)i, LR_NONE);
        if (in->fallback && in->fallback[0]) {
            if ((p->fallback = lr__roster_pool(ro, in->fallback)) == LR_NONE) {
                rc = lr__error_set(LEADROUTE_EINVAL, "pool '%s': fallback pool '%s' is not defined", in->id,
                                   in->fallback);
                goto fail;
            }
        }
        if (in->escalation_pool && in->escalation_pool[0] &&
            (p->escalation_pool = lr__roster_pool(ro, in->escalation_pool)) == LR_NONE) {
            rc = lr__error_set(LEADROUTE_EINVAL, "pool '%s': escalation pool '%s' is not defined", in->id,
                               in->escalation_pool);
            goto fail;
        }
        if (in->escalation_owner && in->escalation_owner[0] &&
            (p->escalation_owner = lr__roster_rep(ro, in->escalation_owner)) == LR_NONE) {
            rc = lr__error_set(LEADROUTE_EINVAL, "pool '%s': escalation owner '%s' is not a rep", in->id,
                               in->escalation_owner);
            goto fail;
        }
        if (in->default_owner && in->default_owner[0]) {
            if ((p->default_owner = lr__roster_rep(ro, in->default_owner)) == LR_NONE) {
                rc = lr__error_set(LEADROUTE_EINVAL, "pool '%s': default owner '%s' is not a rep", in->id,
                                   in->default_owner);
                goto fail;
            }
        }
    }
    lr__blame(who, LR_CULPRIT_NONE, 0, LR_NONE);
    memset(nmem, 0, sizeof *nmem * (pool_count + 1));
    if ((rc = lr__check_cycles(ro, (uint8_t *)nmem, who)) != 0 || (rc = lr__make_views(ro)) != 0)
        goto fail;
    lr__free(&a, nmem);
    *out = ro;
    return LEADROUTE_OK;
fail:
    lr__free(&a, nmem);
    lr__roster_destroy(ro);
    return rc;
}

leadroute_roster *leadroute_roster_ref(leadroute_roster *roster)
{
    if (roster)
        atomic_fetch_add_explicit(&roster->refs, 1u, memory_order_relaxed);
    return roster;
}

void leadroute_roster_unref(leadroute_roster *roster)
{
    if (roster && atomic_fetch_sub_explicit(&roster->refs, 1u, memory_order_acq_rel) == 1u)
        lr__roster_destroy(roster);
}

size_t leadroute_roster_rep_count(const leadroute_roster *roster)
{
    return roster ? roster->nreps : 0;
}

const char *leadroute_roster_rep_id(const leadroute_roster *roster, size_t index)
{
    return roster && index < roster->nreps ? roster->reps[index].id : NULL;
}

size_t leadroute_roster_pool_count(const leadroute_roster *roster)
{
    return roster ? roster->npools : 0;
}

const char *leadroute_roster_pool_id(const leadroute_roster *roster, size_t index)
{
    return roster && index < roster->npools ? roster->pools[index].id : NULL;
}

int leadroute_roster_rep(const leadroute_roster *roster, size_t index, leadroute_rep *out)
{
    leadroute_rep rep = LEADROUTE_REP_INIT;
    const lr__rep *r;
    if (!roster || !out)
        return lr__error_set(LEADROUTE_EINVAL, "roster and out must not be NULL");
    if (out->version == 0 || out->version > LEADROUTE_REP_VERSION)
        return lr__error_set(LEADROUTE_EVERSION, "rep version %u is not supported (1..%u)", out->version,
                             LEADROUTE_REP_VERSION);
    if (index >= roster->nreps)
        return lr__error_set(LEADROUTE_ERANGE, "rep %zu of %u", index, roster->nreps);
    r = &roster->reps[index];
    rep.version = out->version;
    rep.id = r->id;
    rep.name = r->name;
    rep.pools = roster->views[index].pools;
    rep.pool_count = r->npools;
    rep.weight = r->weight;
    rep.capacity = r->capacity;
    rep.tier = r->tier;
    rep.skills = roster->views[index].skills;
    rep.skill_count = r->nskills;
    rep.active = r->active;
    rep.cap_day = r->caps[0];
    rep.cap_week = r->caps[1];
    rep.cap_month = r->caps[2];
    /* version 1 is the whole struct; a later version must copy only the
     * fields of the caller's version */
    *out = rep;
    return LEADROUTE_OK;
}

/* The id behind a pool's reference to a pool or a rep; NULL for LR_NONE. */
static const char *lr__pool_ref(const leadroute_roster *ro, uint32_t pool)
{
    return pool == LR_NONE ? NULL : ro->pools[pool].id;
}

static const char *lr__rep_ref(const leadroute_roster *ro, uint32_t rep)
{
    return rep == LR_NONE ? NULL : ro->reps[rep].id;
}

int leadroute_roster_pool(const leadroute_roster *roster, size_t index, leadroute_pool *out)
{
    leadroute_pool pool = LEADROUTE_POOL_INIT;
    const lr__pool *p;
    if (!roster || !out)
        return lr__error_set(LEADROUTE_EINVAL, "roster and out must not be NULL");
    if (out->version == 0 || out->version > LEADROUTE_POOL_VERSION)
        return lr__error_set(LEADROUTE_EVERSION, "pool version %u is not supported (1..%u)", out->version,
                             LEADROUTE_POOL_VERSION);
    if (index >= roster->npools)
        return lr__error_set(LEADROUTE_ERANGE, "pool %zu of %u", index, roster->npools);
    p = &roster->pools[index];
    pool.version = out->version;
    pool.id = p->id;
    pool.strategy = p->strategy;
    pool.filters = p->filters;
    pool.filter_count = p->nfilters;
    pool.score_field = p->score_field;
    pool.tiers = p->tiers;
    pool.tier_count = p->ntiers;
    pool.fallback = lr__pool_ref(roster, p->fallback);
    pool.on_empty = p->on_empty;
    pool.default_owner = lr__rep_ref(roster, p->default_owner);
    pool.queue = p->queue;
    pool.owner_first = p->owner_first;
    pool.cap_day = p->caps[0];
    pool.cap_week = p->caps[1];
    pool.cap_month = p->caps[2];
    pool.sla_minutes = p->sla_minutes;
    pool.max_hops = p->max_hops;
    pool.escalation_pool = lr__pool_ref(roster, p->escalation_pool);
    pool.escalation_owner = lr__rep_ref(roster, p->escalation_owner);
    pool.calibration = p->calibration;
    pool.value_field = p->value_field;
    pool.value_window_days = p->value_window_days;
    /* as for reps: version 1 is the whole struct */
    *out = pool;
    return LEADROUTE_OK;
}
