/* Strategies: pick one rep among the eligible ones of a pool, and say what
 * the pool remembers for next time. Eligible reps come in id order. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "router/internal.h"

static int lr__state_reserve(lr__state *s, const lr__alloc *a, size_t need)
{
    char *p;
    size_t cap;
    if (need <= s->cap)
        return LEADROUTE_OK;
    cap = s->cap ? s->cap : 128;
    while (cap < need)
        cap *= 2;
    if (!(p = lr__realloc(a, s->text, s->cap, cap)))
        return lr__error_nomem();
    s->text = p;
    s->cap = cap;
    return LEADROUTE_OK;
}

/* Decimal digits of `x` at `out` (up to 20 bytes, no NUL); returns how
 * many. The state is written on every assignment, so no printf. */
static size_t lr__u64_digits(char *out, uint64_t x)
{
    /* two digits per division: weighted states hold a number per member */
    static const char pairs[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                                "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                                "8081828384858687888990919293949596979899";
    char tmp[24];
    size_t n = 0;
    while (x >= 100) {
        const char *d = &pairs[(x % 100) * 2];
        x /= 100;
        tmp[sizeof tmp - 1 - n++] = d[1];
        tmp[sizeof tmp - 1 - n++] = d[0];
    }
    if (x >= 10) {
        tmp[sizeof tmp - 1 - n++] = pairs[x * 2 + 1];
        tmp[sizeof tmp - 1 - n++] = pairs[x * 2];
    } else {
        tmp[sizeof tmp - 1 - n++] = (char)('0' + x);
    }
    memcpy(out, tmp + sizeof tmp - n, n);
    return n;
}

/* Digits at p (before end) into *x; returns the first byte after them. */
static const char *lr__parse_u64(const char *p, const char *end, uint64_t *x)
{
    uint64_t v = 0;
    while (p < end && *p >= '0' && *p <= '9' && v <= (UINT64_MAX - 9) / 10)
        v = v * 10 + (uint64_t)(*p++ - '0');
    *x = v;
    return p;
}

/* Byte order of ids, as the roster sorts members. */
static int lr__id_cmp(const char *x, size_t xl, const char *y, size_t yl)
{
    int c = memcmp(x, y, xl < yl ? xl : yl);
    return c ? c : xl < yl ? -1 : xl > yl;
}

/* The member of `pool` whose id is s[0..n), or UINT32_MAX. */
static uint32_t lr__member_of(const leadroute_roster *ro, const lr__pool *pool, const char *s, size_t n)
{
    uint32_t lo = 0, hi = pool->nmembers;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        const lr__rep *rep = &ro->reps[pool->members[mid]];
        int c = lr__id_cmp(rep->id, rep->id_len, s, n);
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return UINT32_MAX;
}

/* Whether the line at p (before end) is member k's id, without looking
 * for its end first: the id's length says where the line must end. */
static int lr__line_is(const leadroute_roster *ro, const lr__pool *pool, uint32_t k, const char *p, const char *end)
{
    const lr__rep *rep = &ro->reps[pool->members[k]];
    size_t n = rep->id_len;
    return (size_t)(end - p) >= n && (p + n == end || p[n] == '\n') && memcmp(rep->id, p, n) == 0;
}

/* The line a round-robin state stands for, as member positions into
 * `order` (room for every member; `seen` is scratch of the same size);
 * returns its length, every member's. `guess` (every member's position,
 * or NULL) is a line read or written before: a state another router wrote
 * since is mostly that line with the reps it served moved to its back, so
 * each id is first compared with the one after the last found in the
 * guess, and looked up only when it is not that one (`where`, scratch of
 * the members' size, holds each member's place in the guess). `*exact`
 * says whether the state is that line as written, a line per member and
 * nothing else, so that the next state can be written by moving one line
 * of it. */
static uint32_t lr__rr_read_line(const leadroute_roster *ro, const lr__pool *pool, const char *state, size_t len,
                                 uint32_t *order, uint32_t *seen, uint32_t *where, const uint32_t *guess, int *exact)
{
    const char *p, *end = state + len;
    uint32_t m = 0, i, k, nnew = 0, g = 0, lines = 0, nguess = guess ? pool->nmembers : 0;
    *exact = 0;
    for (k = 0; k < pool->nmembers; k++)
        seen[k] = 0;
    for (g = 0; g < nguess; g++)
        where[guess[g]] = g;
    g = 0;
    if (len > 4 && memcmp(state, "rr2\n", 4) == 0) {
        for (p = state + 4; p < end;) {
            size_t idl;
            if (g < nguess && lr__line_is(ro, pool, guess[g], p, end)) {
                k = guess[g++];
                idl = ro->reps[pool->members[k]].id_len;
            } else {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                idl = nl ? (size_t)(nl - p) : (size_t)(end - p);
                k = lr__member_of(ro, pool, p, idl);
                if (k != UINT32_MAX && nguess)
                    g = where[k] + 1; /* the guess goes on after it */
            }
            if (k != UINT32_MAX && !seen[k]) {
                seen[k] = 1;
                order[m++] = k;
            }
            lines++;
            p += idl + (p + idl < end);
        }
        *exact = lines == m && m == pool->nmembers && state[len - 1] != '\n';
    } else if (len > 4 && memcmp(state, "rr1 ", 4) == 0) {
        *exact = 0;
        for (k = 0; k < pool->nmembers; k++) {
            const lr__rep *rep = &ro->reps[pool->members[k]];
            if (lr__id_cmp(rep->id, rep->id_len, state + 4, len - 4) > 0)
                break;
        }
        if (k == pool->nmembers)
            k = 0;
        for (i = 0; i < pool->nmembers; i++, k = k + 1 < pool->nmembers ? k + 1 : 0) {
            seen[k] = 1;
            order[m++] = k;
        }
    }
    /* new to the line (the first lead, a rep added to the pool): at its
     * front, in id order, as those who have waited longest */
    for (k = 0; k < pool->nmembers; k++)
        nnew += !seen[k];
    if (nnew) {
        memmove(order + nnew, order, sizeof *order * m);
        for (k = 0, i = 0; k < pool->nmembers; k++)
            if (!seen[k])
                order[i++] = k;
        m += nnew;
    }
    return m;
}

/* Start keeping the state `next` in cache `c`: emptied, then its text
 * copied; 0 when there is no memory for it (it is only a cache). The
 * caller adds what the state means, then sets c->pool. */
static int lr__cache_text(lr__wcache *c, const lr__state *next, const lr__alloc *a)
{
    c->pool = NULL;
    if (c->cap < next->len) {
        char *t = lr__realloc(a, c->text, c->cap, next->len);
        if (!t)
            return 0;
        c->text = t;
        c->cap = next->len;
    }
    memcpy(c->text, next->text, next->len);
    c->len = next->len;
    return 1;
}

/* Keep the line round robin wrote last, so that the next pick of this
 * decision, which usually reads that state back, need not look its ids up. */
static void lr__rcache_keep(lr__wcache *c, const lr__pool *pool, const lr__state *next, const uint32_t *order,
                            uint32_t m, const lr__alloc *a)
{
    if (!lr__cache_text(c, next, a))
        return;
    if (c->cap_order < m) {
        uint32_t *o = lr__realloc(a, c->order, sizeof *o * c->cap_order, sizeof *o * m);
        if (!o)
            return;
        c->order = o;
        c->cap_order = m;
    }
    memcpy(c->order, order, sizeof *order * m);
    c->pool = pool;
}

/* Round robin: the eligible member that has waited longest since it was
 * last served gets the lead and goes to the back of the line. The state
 * is the line, "rr2" then one id per line, next in turn first. With every
 * member eligible this is the plain rotation; a lead only some members can
 * take (a language, a score tier) moves only the one that takes it, so the
 * others keep their turns: no one is starved by where the specialists sort.
 * Members new to the pool join at the front, in id order; members that
 * left drop out of the line. A state of the earlier form, "rr1 <last id>", is
 * read as the line it stood for: the ids after it in order, then the rest. */
static int lr__pick_round_robin(const leadroute_roster *ro, const lr__pool *pool, const uint32_t *el, uint32_t n,
                                const char *state, size_t len, lr__state *next, const lr__alloc *a,
                                lr__wcache *cache)
{
    uint32_t small[3 * 64], *order = small, *slot, m = 0, i, j, k, pick = 0, chosen;
    int as_written = 0; /* the state is the line as written: a line per member, nothing else */
    void *heap = NULL;
    size_t at = 3, need = 3;
    int rc = LEADROUTE_OK;

    if (pool->nmembers > 64 && cache) {
        /* kept with the cache, so that routing allocates once, not per lead */
        size_t need_work = 3 * (size_t)pool->nmembers;
        if (cache->cap_work < need_work) {
            uint32_t *w = lr__realloc(a, cache->work, sizeof *w * cache->cap_work, sizeof *w * need_work);
            if (!w)
                return lr__error_nomem();
            cache->work = w;
            cache->cap_work = need_work;
        }
        order = cache->work;
    } else if (pool->nmembers > 64) {
        if (!(heap = lr__malloc(a, sizeof *order * 3 * (size_t)pool->nmembers)))
            return lr__error_nomem();
        order = heap;
    }
    slot = order + pool->nmembers; /* per member: 1 + its place in `el`, 0 = not eligible */
    if (cache && cache->pool == pool && cache->len == len && memcmp(cache->text, state, len) == 0) {
        /* the line this decision wrote last: every member is in it */
        as_written = 1;
        m = pool->nmembers;
        memcpy(order, cache->order, sizeof *order * m);
    } else {
        /* the line this decision wrote last, when it is of this pool, as a guess */
        int same_pool = cache && cache->pool == pool;
        m = lr__rr_read_line(ro, pool, state, len, order, slot, slot + pool->nmembers,
                             same_pool ? cache->order : NULL, &as_written);
    }
    /* which members are eligible, and where in `el`: both lists in id order */
    for (k = 0, i = 0; k < pool->nmembers; k++) {
        slot[k] = 0;
        if (i < n && pool->members[k] == el[i])
            slot[k] = ++i;
    }
    for (j = 0; j < m && !slot[order[j]]; j++)
        ;
    if (j == m) {
        rc = lr__error_set(LEADROUTE_EINVAL, "round robin: an eligible rep is no member of pool '%s'", pool->id);
        goto done;
    }
    chosen = order[j];
    pick = slot[chosen] - 1;
    for (i = 0; as_written && i < j; i++)
        at += 1 + ro->reps[pool->members[order[i]]].id_len; /* where the chosen line starts */
    memmove(order + j, order + j + 1, sizeof *order * (m - j - 1));
    order[m - 1] = chosen;
    if (as_written) {
        /* the text read (the line as written) with the chosen line moved to
         * its end: three copies, not one per member (this runs for every lead) */
        size_t line = 1 + ro->reps[pool->members[chosen]].id_len;
        if ((rc = lr__state_reserve(next, a, len + 1)) != 0)
            goto done;
        memcpy(next->text, state, at);
        memcpy(next->text + at, state + at + line, len - at - line);
        memcpy(next->text + len - line, state + at, line);
        next->len = len;
    } else {
        for (i = 0; i < m; i++)
            need += 1 + ro->reps[pool->members[order[i]]].id_len;
        if ((rc = lr__state_reserve(next, a, need + 1)) != 0)
            goto done;
        memcpy(next->text, "rr2", 3);
        next->len = 3;
        for (i = 0; i < m; i++) {
            const lr__rep *rep = &ro->reps[pool->members[order[i]]];
            next->text[next->len++] = '\n';
            memcpy(next->text + next->len, rep->id, rep->id_len);
            next->len += rep->id_len;
        }
    }
    next->text[next->len] = 0;
    if (cache)
        lr__rcache_keep(cache, pool, next, order, m, a);
done:
    lr__free(a, heap);
    return rc ? rc : (int)pick;
}

/* Weighted: stride scheduling. Each member has a pass; the eligible member
 * with the lowest pass gets the lead and its pass grows by its stride, K /
 * weight, so over time shares follow the weights. A member that is away is
 * lifted to the level of those here, and a new one starts there: back from
 * leave, it joins the rotation instead of catching up with a burst of
 * leads. One that only this lead's filters keep out keeps its pass, so that
 * the leads it could not take count for those that took them, up to about
 * two turns (lr__bound_credit).
 * Passes are stored relative to the
 * smallest one, so they stay small, and each member's stride is stored on
 * a last line: a pass means something only in its member's stride, and a
 * roster swap may change the stride (a weight, or the pool's scale K). */
typedef struct lr__pass {
    const char *id;
    size_t len;
    uint64_t pass;
    uint64_t stride; /* as written; 0 = not written (states of earlier releases) */
} lr__pass;

/* K is 1e7 unless the pool's weights need another scale. Strides are
 * whole numbers, so each is off by up to half a unit: the heaviest member's
 * stride is kept at LR_STRIDE_MIN or more, which holds every stride, and
 * so every share, within 1 part in 2e5 of the weights. The lightest
 * member's stride stays at LR_STRIDE_MAX or less, so that passes (a few
 * strides apart, or a pool's worth of them with catch-up) keep far from
 * 2^64. Both hold when the weights span at most LR_STRIDE_MAX /
 * LR_STRIDE_MIN, which the roster checks. */
#define LR_STRIDE_UNIT 1e7
#define LR_STRIDE_MIN 1e5
#define LR_STRIDE_MAX 1e15

void lr__strides(const lr__rep *reps, const uint32_t *members, uint32_t n, uint64_t *out)
{
    double lo = 0, hi = 0, heavy;
    uint32_t k;
    for (k = 0; k < n; k++) {
        double w = reps[members[k]].weight;
        if (k == 0 || w < lo)
            lo = w;
        if (k == 0 || w > hi)
            hi = w;
    }
    /* the heaviest member's stride, 1e7 / hi when that is in range: in
     * ratios of weights, so that no weight a double holds overflows */
    heavy = LR_STRIDE_UNIT / hi;
    if (heavy < LR_STRIDE_MIN)
        heavy = LR_STRIDE_MIN;
    if (heavy > LR_STRIDE_MAX / (hi / lo))
        heavy = LR_STRIDE_MAX / (hi / lo);
    for (k = 0; k < n; k++) {
        double w = reps[members[k]].weight;
        /* the usual scale computed as it always was, so that states carry over exactly */
        double s = heavy == LR_STRIDE_UNIT / hi ? LR_STRIDE_UNIT / w : heavy * (hi / w);
        out[k] = s < 1 ? 1 : s > 2 * LR_STRIDE_MAX ? (uint64_t)(2 * LR_STRIDE_MAX) : (uint64_t)llround(s);
    }
}

/* The most a catch-up floor lies below the virtual time. */
#define LR_BEHIND_MAX (UINT64_C(1) << 62)

/* How far below the level catch-up calibration lets a pass of `stride`
 * lie: a pool's worth of such strides, saturated (far behind is behind
 * enough). */
static uint64_t lr__owed(const lr__pool *pool, uint64_t stride)
{
    if (pool->calibration != LEADROUTE_CALIBRATE_CATCH_UP)
        return 0;
    return stride > LR_BEHIND_MAX / pool->nmembers ? LR_BEHIND_MAX : stride * (uint64_t)pool->nmembers;
}

/* lr__owed of member k. */
static uint64_t lr__behind(const lr__pool *pool, uint32_t k)
{
    return lr__owed(pool, pool->strides[k]);
}

/* The state's virtual time and member lines into `out` (at most `max`),
 * with the strides of the last line when it lists one per member line. */
static uint32_t lr__parse_passes(const char *state, size_t len, uint64_t *vt, lr__pass *out, uint32_t max)
{
    const char *p = state, *end = state + len;
    uint32_t n = 0, k;
    *vt = 0;
    if (len < 4 || memcmp(state, "wr1 ", 4) != 0)
        return 0;
    p = lr__parse_u64(p + 4, end, vt);
    while (p < end && n < max) {
        const char *id, *eol, *q;
        uint64_t pass;
        if (*p != '\n')
            break;
        p++;
        q = lr__parse_u64(p, end, &pass);
        if (q == p || q >= end || *q != ' ') {
            p--; /* not a member line: maybe the strides */
            break;
        }
        id = q + 1;
        eol = memchr(id, '\n', (size_t)(end - id));
        if (!eol)
            eol = end;
        out[n].id = id;
        out[n].len = (size_t)(eol - id);
        out[n].pass = pass;
        out[n].stride = 0;
        n++;
        p = eol;
    }
    /* "\ns <stride> <stride> ...", members' order; all or none */
    if (n == 0 || end - p < 3 || memcmp(p, "\ns ", 3) != 0)
        return n;
    p += 2;
    for (k = 0; k < n; k++) {
        const char *q;
        if (p >= end || *p != ' ')
            break;
        q = lr__parse_u64(p + 1, end, &out[k].stride);
        if (q == p + 1 || out[k].stride == 0)
            break;
        p = q;
    }
    if (k < n || p != end)
        for (k = 0; k < n; k++)
            out[k].stride = 0;
    return n;
}

/* A pass written under stride `was`, for a member whose stride is now
 * `now`. Its distance from the virtual time is the part of a turn the
 * member still waits (or, below it, is owed under catch-up): that part is
 * kept, in the new stride. Read as it stands, a pass written under a scale
 * a hundred times larger would make the member wait a hundred turns while
 * the others took every lead. */
static uint64_t lr__restride(uint64_t pass, uint64_t vt, uint64_t was, uint64_t now)
{
    double d;
    if (was == now)
        return pass;
    d = (double)(pass >= vt ? pass - vt : vt - pass) * ((double)now / (double)was) + 0.5;
    /* a damaged state may hold anything: stay within what calibration allows */
    if (!(d < (double)LR_BEHIND_MAX))
        d = (double)LR_BEHIND_MAX;
    if (pass >= vt)
        return vt > UINT64_MAX - (uint64_t)d ? UINT64_MAX : vt + (uint64_t)d;
    return vt > (uint64_t)d ? vt - (uint64_t)d : 0;
}

/* Remember what was written, for the next pick of the same decision. */
static void lr__wcache_keep(lr__wcache *c, const lr__pool *pool, const lr__state *next, const uint64_t *pass,
                            uint64_t vt, const lr__alloc *a)
{
    if (!lr__cache_text(c, next, a))
        return;
    if (c->cap_pass < pool->nmembers) {
        uint64_t *p = lr__realloc(a, c->pass, sizeof *p * c->cap_pass, sizeof *p * pool->nmembers);
        if (!p)
            return;
        c->pass = p;
        c->cap_pass = pool->nmembers;
    }
    memcpy(c->pass, pass, sizeof *pass * pool->nmembers);
    c->vt = vt;
    c->pool = pool;
}

/* Members `ks[0..n)` in the order of their passes, then of their positions
 * (a stable bottom-up merge sort; `tmp` has room for n). */
static void lr__sort_by_pass(uint32_t *ks, uint32_t *tmp, uint32_t n, const uint64_t *pass)
{
    uint32_t width, lo, *from = ks, *to = tmp, *swap;
    for (width = 1; width < n; width *= 2) {
        for (lo = 0; lo < n; lo += 2 * width) {
            uint32_t mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
            uint32_t i = lo, j = mid, o = lo;
            while (i < mid && j < hi)
                to[o++] = pass[from[j]] < pass[from[i]] ? from[j++] : from[i++];
            while (i < mid)
                to[o++] = from[i++];
            while (j < hi)
                to[o++] = from[j++];
        }
        swap = from, from = to, to = swap;
    }
    if (from != ks)
        memcpy(ks, from, sizeof *ks * n);
}

/* A member's part in one pick of a weighted pool: flags, none when it is
 * away, at capacity or inactive (it joins at the level on its return). */
enum {
    LR_HERE = 1, /* eligible, or kept out by this lead alone (a skill, a tier, a holder) */
    LR_NEW = 2   /* not in the state: it starts at the level */
};

/* The widest spread of passes kept: a pass further below the highest is
 * lifted. Far more than any pool reaches in use (2^62 units are 4.6e11
 * turns of the usual stride); it only keeps passes from overflowing when a
 * member is kept out of every lead for good under weights near 1e-9,
 * whose strides are 1e15. */
#define LR_SPREAD_MAX (UINT64_C(1) << 62)

/* The turns of credit a member keeps for leads others could not take:
 * fewer leave members that alone take some leads (the senior reps of a pool
 * with score tiers) over their weights' share of all leads; more make the
 * waits and runs after a run of such leads longer. */
#define LR_CREDIT_TURNS 2

/* How far a group of members reaches: members that take the same leads lie
 * within a stride of the lowest of them; a chain of such gaps longer than
 * two is not one group. */
#define LR_SPAN_TURNS 2
#define LR_GROUPS_MAX 64

/* Credit is bounded around the median pass of the members that can take
 * the lead, `ks[0..m)` (sorted here; `tmp` has room for m + 1). They fall
 * into groups, from the lowest up: neighbours closer than the longer of
 * their two strides, a group reaching no further than LR_SPAN_TURNS of its
 * longest stride (the lifts' units aside). A group more than two turns
 * above the median (a turn: the longer of the group's longest stride and
 * the median's group's) moves down as one, its lowest member a unit above
 * that bound (or above the group under it, when that one stands higher); a
 * group as far below, plus `behind` (what catch-up owes), moves up
 * likewise. Moving as one, members that take the same leads keep their
 * distances, and so the weights between them; groups that leads only some
 * could take set apart keep their order, not their distance, so that the
 * one furthest ahead waits about two turns, not one for each group under
 * it. */
static void lr__bound_credit(const lr__pool *pool, uint64_t *pass, uint32_t *ks, uint32_t *tmp, uint32_t m,
                             uint64_t behind)
{
    const uint64_t *sd = pool->strides;
    uint32_t med = (m - 1) / 2, mg = 0, ng = 0, g, j, q, *start = tmp;
    uint64_t mid, edge, shift, units = (uint64_t)pool->nmembers + 1, mturn;
    uint64_t turn[LR_GROUPS_MAX]; /* each group's longest stride; groups past these take the median's */
    lr__sort_by_pass(ks, tmp, m, pass);
    mid = pass[ks[med]];
    /* the groups: start[g] is the first of group g; start[ng] = m */
    for (j = 0; j < m;) {
        uint64_t widest = sd[ks[j]];
        uint32_t t = j + 1;
        for (; t < m; t++) {
            uint64_t s = sd[ks[t]], pair = s > sd[ks[t - 1]] ? s : sd[ks[t - 1]];
            uint64_t w = s > widest ? s : widest;
            if (pass[ks[t]] - pass[ks[t - 1]] > pair + units || pass[ks[t]] - pass[ks[j]] > LR_SPAN_TURNS * w + units)
                break;
            widest = w;
        }
        if (j <= med && med < t)
            mg = ng;
        if (ng < LR_GROUPS_MAX)
            turn[ng] = widest;
        start[ng++] = j;
        j = t;
    }
    start[ng] = m;
#define LR_TURN(g) ((g) < LR_GROUPS_MAX ? turn[g] : mturn)
    mturn = mg < LR_GROUPS_MAX ? turn[mg] : sd[ks[med]];
    /* groups above, lowest first */
    edge = pass[ks[start[mg + 1] - 1]];
    for (g = mg + 1; g < ng; g++) {
        uint64_t t = LR_TURN(g) > mturn ? LR_TURN(g) : mturn, up = LR_CREDIT_TURNS * t;
        uint64_t floor = mid + up > edge ? mid + up : edge;
        if (pass[ks[start[g]]] > floor + 1) {
            shift = pass[ks[start[g]]] - (floor + 1);
            for (q = start[g]; q < start[g + 1]; q++)
                pass[ks[q]] -= shift;
        }
        edge = pass[ks[start[g + 1] - 1]];
    }
    /* groups below, highest first */
    edge = pass[ks[start[mg]]];
    for (g = mg; g > 0; g--) {
        uint32_t hi = start[g] - 1; /* the highest of group g - 1 */
        uint64_t t = LR_TURN(g - 1) > mturn ? LR_TURN(g - 1) : mturn, down = LR_CREDIT_TURNS * t + behind;
        uint64_t ceiling = mid - edge > down ? edge : (mid > down ? mid - down : 0);
        if (ceiling > 0 && pass[ks[hi]] < ceiling - 1) {
            shift = (ceiling - 1) - pass[ks[hi]];
            for (q = start[g - 1]; q <= hi; q++)
                pass[ks[q]] += shift;
        }
        edge = pass[ks[start[g - 1]]];
    }
#undef LR_TURN
}

static int lr__pick_weighted(const leadroute_roster *ro, const lr__pool *pool, const uint32_t *el, uint32_t n,
                             const uint32_t *kept, uint32_t nkept, const char *state, size_t len, lr__state *next,
                             const lr__alloc *a, lr__wcache *cache)
{
    lr__pass old_small[64], *old = old_small;
    uint64_t *pass = NULL, vt, base, level = UINT64_MAX, top = 0;
    uint64_t pass_small[2 * 64];
    uint32_t *ks, nlifted = 0;
    unsigned char role_small[64], *role = role_small;
    void *heap = NULL;
    uint32_t nold, nlines = 0, i, j, k, pick = 0;
    int rc = LEADROUTE_OK;
    int cached = cache && cache->pool == pool && cache->len == len && memcmp(cache->text, state, len) == 0;

    /* room for every line of the state, which may list members that have
     * left the pool since it was written, a pass per member, two lists of
     * members and a role per member */
    if (!cached) {
        const char *p = state, *end = state + len;
        while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL && nlines < UINT32_MAX - 1) {
            nlines++;
            p++;
        }
    }
    if (pool->nmembers < 64 && nlines < 64) {
        pass = pass_small;
        ks = (uint32_t *)(pass_small + 64);
    } else {
        size_t nl = (size_t)nlines + 1, nm = (size_t)pool->nmembers + 1;
        if (!(heap = lr__malloc(a, sizeof *old * nl + sizeof *pass * 2 * nm + nm)))
            return lr__error_nomem();
        old = heap;
        pass = (uint64_t *)(old + nl);
        ks = (uint32_t *)(pass + nm);
        role = (unsigned char *)(pass + 2 * nm);
    }
    /* each member's role: el and kept list reps in member order */
    for (k = 0, i = 0, j = 0; k < pool->nmembers; k++) {
        uint32_t ri = pool->members[k];
        role[k] = 0;
        if (i < n && el[i] == ri) {
            role[k] = LR_HERE;
            i++;
        } else if (j < nkept && kept[j] == ri) {
            role[k] = LR_HERE; /* kept out by this lead alone: here all the same */
            j++;
        }
    }
    if (cached) {
        /* the state this decision wrote last: its passes are known */
        memcpy(pass, cache->pass, sizeof *pass * pool->nmembers);
        vt = cache->vt;
    } else {
        nold = lr__parse_passes(state, len, &vt, old, nlines);
        /* every member's pass as stored; the state lists members in id
         * order, as written below: walk both lists together, so matching
         * is linear */
        for (k = 0, j = 0; k < pool->nmembers; k++) {
            const lr__rep *rep = &ro->reps[pool->members[k]];
            uint32_t tries;
            pass[k] = vt;
            for (tries = 0; tries < nold; tries++, j = j + 1 < nold ? j + 1 : 0)
                if (old[j].len == rep->id_len && memcmp(old[j].id, rep->id, rep->id_len) == 0) {
                    pass[k] = old[j].stride ? lr__restride(old[j].pass, vt, old[j].stride, pool->strides[k])
                                            : old[j].pass;
                    j = j + 1 < nold ? j + 1 : 0;
                    break;
                }
            if (tries == nold)
                role[k] |= LR_NEW;
        }
    }
    /* the level: the lowest pass among the members here (eligible, or kept
     * out by this lead alone), else the virtual time */
    for (k = 0; k < pool->nmembers; k++)
        if ((role[k] & (LR_HERE | LR_NEW)) == LR_HERE && pass[k] < level)
            level = pass[k];
    if (level == UINT64_MAX)
        level = vt;
    /* calibration: a member new to the pool starts a unit under the level;
     * one away joins at it, or keeps a deficit of at most one lead per
     * member to catch up. The members lifted keep their order, just below
     * the floor: the one furthest behind lands lowest, a unit (far below a
     * stride, at least 1e5) under the next, and the last a unit under the
     * floor. A member far below the highest (LR_SPREAD_MAX) is lifted so
     * too, whatever its role: passes stay far from overflowing */
    for (k = 0; k < pool->nmembers; k++)
        if (pass[k] > top)
            top = pass[k];
    for (k = 0; k < pool->nmembers; k++) {
        uint64_t behind = lr__behind(pool, k), floor = level > behind ? level - behind : 0;
        if (role[k] & LR_NEW)
            pass[k] = level > 0 ? level - 1 : 0; /* first in line, as in round robin */
        else if ((!role[k] && pass[k] < floor) || top - pass[k] > LR_SPREAD_MAX)
            ks[nlifted++] = k;
    }
    lr__sort_by_pass(ks, ks + pool->nmembers, nlifted, pass);
    for (j = 0; j < nlifted; j++) {
        uint64_t behind = lr__behind(pool, ks[j]), floor = level > behind ? level - behind : 0;
        uint64_t under = nlifted - j;
        if (top - floor > LR_SPREAD_MAX)
            floor = top - LR_SPREAD_MAX;
        pass[ks[j]] = floor > under ? floor - under : 0;
    }
    /* credit is about two turns: groups of the members that can take the
     * lead are kept within two of the longest stride among them of their
     * median pass (below it, what catch-up owes too), see lr__bound_credit.
     * Only leads that some members could not take set them that far apart;
     * when no two are, nothing is sorted */
    {
        uint64_t lo = UINT64_MAX, hi = 0, smin = UINT64_MAX, smax = 0, behind;
        uint32_t m = 0;
        for (i = 0, k = 0; i < n; i++) {
            while (k < pool->nmembers && pool->members[k] != el[i])
                k++;
            if (k == pool->nmembers)
                break;
            ks[m++] = k;
            lo = pass[k] < lo ? pass[k] : lo;
            hi = pass[k] > hi ? pass[k] : hi;
            smin = pool->strides[k] < smin ? pool->strides[k] : smin;
            smax = pool->strides[k] > smax ? pool->strides[k] : smax;
        }
        /* what catch-up owes a member below */
        behind = lr__owed(pool, smax);
        /* no bound is under two of the shortest stride */
        if (m > 1 && hi - lo > LR_CREDIT_TURNS * smin)
            lr__bound_credit(pool, pass, ks, ks + pool->nmembers, m, behind);
    }
    /* lowest pass among the eligible (ties: lowest id); el and members are
     * both in id order */
    {
        uint64_t best = UINT64_MAX;
        uint32_t best_k = 0;
        for (i = 0, k = 0; i < n; i++) {
            while (k < pool->nmembers && pool->members[k] != el[i])
                k++;
            if (k == pool->nmembers)
                break; /* not a member: cannot happen, members are the candidates */
            if (pass[k] < best) {
                best = pass[k];
                best_k = k;
                pick = i;
            }
        }
        vt = best;
        /* a pass read from a damaged state may be near the top: saturate, never wrap */
        pass[best_k] = best > UINT64_MAX - pool->strides[best_k] ? UINT64_MAX : best + pool->strides[best_k];
    }
    /* stored relative to the smallest pass, less a unit per member and one:
     * room for the next lifts under the level, which would otherwise stop
     * at 0 and tie */
    base = vt;
    for (k = 0; k < pool->nmembers; k++)
        if (pass[k] < base)
            base = pass[k];
    base = base > (uint64_t)pool->nmembers + 1 ? base - pool->nmembers - 1 : 0;
    for (k = 0; k < pool->nmembers; k++)
        pass[k] -= base;
    vt -= base;
    /* written in one go into room reserved once: this runs for every lead */
    {
        size_t need = 4 + 21 + 2, w;
        char *o;
        for (k = 0; k < pool->nmembers; k++)
            need += 1 + 21 + 1 + ro->reps[pool->members[k]].id_len + 1 + 21;
        if ((rc = lr__state_reserve(next, a, need + 1)) != 0)
            goto done;
        o = next->text;
        memcpy(o, "wr1 ", 4);
        w = 4 + lr__u64_digits(o + 4, vt);
        for (k = 0; k < pool->nmembers; k++) {
            const lr__rep *rep = &ro->reps[pool->members[k]];
            o[w++] = '\n';
            w += lr__u64_digits(o + w, pass[k]);
            o[w++] = ' ';
            memcpy(o + w, rep->id, rep->id_len);
            w += rep->id_len;
        }
        o[w++] = '\n';
        o[w++] = 's';
        for (k = 0; k < pool->nmembers; k++) {
            o[w++] = ' ';
            w += lr__u64_digits(o + w, pool->strides[k]);
        }
        o[w] = 0;
        next->len = w;
    }
    if (cache)
        lr__wcache_keep(cache, pool, next, pass, vt, a);
done:
    lr__free(a, heap);
    return rc ? rc : (int)pick;
}

/* Least loaded: fewest open leads, ties to the first id; remembers nothing. */
static int lr__pick_least_loaded(const uint32_t *open, uint32_t n, lr__state *next)
{
    uint32_t i, pick = 0;
    for (i = 1; i < n; i++)
        if (open[i] < open[pick])
            pick = i;
    next->len = 0;
    return (int)pick;
}

const char *lr__strategy_name(uint32_t s)
{
    switch (s) {
    case LEADROUTE_STRATEGY_ROUND_ROBIN: return "round robin";
    case LEADROUTE_STRATEGY_WEIGHTED: return "weighted round robin";
    case LEADROUTE_STRATEGY_LEAST_LOADED: return "least loaded";
    case LEADROUTE_STRATEGY_VALUE_BALANCED: return "value balanced";
    default: return NULL;
    }
}

int lr__pick_value(const double *value, const uint64_t *count, uint32_t n)
{
    uint32_t i, pick = 0;
    for (i = 1; i < n; i++)
        if (value[i] < value[pick] || (value[i] == value[pick] && count[i] < count[pick]))
            pick = i;
    return (int)pick;
}

int lr__strategy_pick(const leadroute_roster *ro, const lr__pool *pool, const uint32_t *eligible, uint32_t n,
                      const uint32_t *kept, uint32_t nkept, const uint32_t *open, const char *state,
                      size_t state_len, lr__state *next,
                      const lr__alloc *alloc, lr__wcache *cache)
{
    if (n == 0)
        return lr__error_set(LEADROUTE_EINVAL, "no eligible rep to pick from");
    switch (pool->strategy) {
    case LEADROUTE_STRATEGY_ROUND_ROBIN:
        return lr__pick_round_robin(ro, pool, eligible, n, state, state_len, next, alloc, cache);
    case LEADROUTE_STRATEGY_WEIGHTED:
        return lr__pick_weighted(ro, pool, eligible, n, kept, nkept, state, state_len, next, alloc, cache);
    case LEADROUTE_STRATEGY_LEAST_LOADED:
        if (!open)
            return lr__error_set(LEADROUTE_EINVAL, "least loaded needs open counts");
        return lr__pick_least_loaded(open, n, next);
    default:
        return lr__error_set(LEADROUTE_EINVAL, "unknown strategy %u", pool->strategy);
    }
}
