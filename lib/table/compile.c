/* Compiler: copies the builder's rules into an immutable table and builds,
 * per input column, an index from lead values to outcome bitsets.
 *
 * Every column partitions lead values into classes (a key, a prefix, a
 * numeric elementary interval, missing, anything else); all values of a class
 * select the same rules. Each class gets one outcome bitset, stored densely or
 * as a sparse difference from the column default D (the rules whose cell is
 * `-` or negated), whichever is much smaller.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bitset.h"
#include "base/error.h"
#include "base/hash.h"
#include "base/value.h"
#include "table/internal.h"

typedef struct lr__pair {
    uint32_t key;
    uint32_t rule;
} lr__pair;

typedef struct lr__compiler {
    leadroute_table *t;
    const lr__alloc *a;
    uint64_t *tmp;          /* nwords, kept all-zero between uses */
    size_t max_memory;
    int all_dense;          /* the current column stores every outcome dense */
    uint64_t dense_big;     /* bytes of the dense columns above lr__dense_column_bytes */
} lr__compiler;

/* A column whose outcomes all fit in this many bytes dense stores them
 * dense: dense columns are the evaluator's fastest path, and a sparse
 * outcome costs a lookup per word the scan reaches. Bigger columns (a
 * thousand postal prefixes on 100,000 rules is 16 MiB) are dense too while
 * all of them together stay within LR_DENSE_BIG_FACTOR times this; past
 * that (tens of thousands of keys), a column keeps sparse what is mostly
 * empty. */
uint64_t lr__dense_column_bytes = (uint64_t)4 << 20;
#define LR_DENSE_BIG_FACTOR 8u

/* Tables of at most this many words scan without skipping (internal.h). */
uint32_t lr__plain_scan_words = 32;

static void lr__column_density(lr__compiler *cc, uint64_t noutcomes)
{
    uint64_t bytes = noutcomes * lr__padded_words(cc->t->nwords) * 8;
    cc->all_dense = bytes <= lr__dense_column_bytes;
    if (!cc->all_dense && cc->dense_big + bytes <= lr__dense_column_bytes * LR_DENSE_BIG_FACTOR) {
        cc->dense_big += bytes;
        cc->all_dense = 1;
    }
}

static int lr__memory_check(lr__compiler *cc, const char *column)
{
    if (cc->t->arena.total > cc->max_memory)
        return lr__error_set(LEADROUTE_ELIMIT,
                             "the compiled index needs more than %zu bytes (at column '%s'); raise "
                             "leadroute_table_options.max_memory or simplify the table",
                             cc->max_memory, column);
    return LEADROUTE_OK;
}

/* A key map's slots: none for one never built (a number column's). */
static size_t lr__keymap_bytes(const lr__keymap *m)
{
    return m->slots ? (size_t)(m->mask + 1) * sizeof(lr__keymap_entry) : 0;
}

/* All a compiled table holds: its arena and its key maps' slots. */
static size_t lr__table_bytes(const leadroute_table *t)
{
    size_t n = sizeof *t + t->arena.total;
    uint32_t c;
    for (c = 0; c < t->ninputs && t->index; c++)
        n += lr__keymap_bytes(&t->index[c].keys) + lr__keymap_bytes(&t->index[c].prefixes);
    return n;
}

/* The whole table within max_memory: the index is checked as it grows
 * (lr__memory_check), the rest (outputs, key maps, lint findings) here. */
static int lr__table_fits(lr__compiler *cc)
{
    size_t n = lr__table_bytes(cc->t);
    if (n > cc->max_memory)
        return lr__error_set(LEADROUTE_ELIMIT,
                             "the compiled table needs %zu bytes, more than %zu; raise "
                             "leadroute_table_options.max_memory or simplify the table",
                             n, cc->max_memory);
    return LEADROUTE_OK;
}

static uint64_t *lr__summary_of(lr__compiler *cc, const uint64_t *words)
{
    leadroute_table *t = cc->t;
    uint64_t *s = lr__arena_zalloc(&t->arena, sizeof *s * (t->nsum + lr__top_words(t->nsum)));
    uint32_t w;
    if (!s)
        return NULL;
    for (w = 0; w < t->nwords; w++)
        if (words[w])
            lr__bit_set(s, w);
    for (w = 0; w < t->nsum; w++)
        if (s[w])
            lr__bit_set(s + t->nsum, w);
    return s;
}

/* Make an outcome from T (in cc->tmp, cleared on return). `is_set`: store T
 * itself; else store the final column bitset D ^ T. */
static int lr__outcome_make(lr__compiler *cc, const lr__index *ix, int is_set, lr__outcome *o)
{
    leadroute_table *t = cc->t;
    uint64_t *T = cc->tmp;
    uint32_t w, nz = 0, k = 0, pop = 0;

    for (w = 0; w < t->nwords; w++)
        nz += T[w] != 0;
    memset(o, 0, sizeof *o);
    if (!cc->all_dense && (uint64_t)nz * 6 <= t->nwords) {
        uint32_t *idx = lr__arena_alloc(&t->arena, sizeof *idx * (nz ? nz : 1));
        uint64_t *words = lr__arena_alloc(&t->arena, sizeof *words * (nz ? nz : 1));
        if (!idx || !words)
            return lr__error_nomem();
        pop = is_set ? 0 : ix->dpopcount;
        for (w = 0; w < t->nwords; w++) {
            if (!T[w])
                continue;
            idx[k] = w;
            words[k] = T[w];
            k++;
            if (is_set) {
                pop += lr__popcount64(T[w]);
            } else {
                pop += lr__popcount64(ix->dwords[w] ^ T[w]);
                pop -= lr__popcount64(ix->dwords[w]);
            }
            T[w] = 0;
        }
        o->nnz = nz;
        o->idx = idx;
        o->words = words;
        o->summary = NULL;
    } else {
        /* padded to a multiple of LR_SCAN_GROUP words for the scan kernel */
        uint64_t *words = lr__arena_zalloc(&t->arena, sizeof *words * lr__padded_words(t->nwords));
        if (!words)
            return lr__error_nomem();
        for (w = 0; w < t->nwords; w++) {
            words[w] = is_set ? T[w] : (ix->dwords[w] ^ T[w]);
            pop += lr__popcount64(words[w]);
            T[w] = 0;
        }
        o->nnz = LR_DENSE;
        o->words = words;
        o->summary = lr__summary_of(cc, words);
        if (!o->summary)
            return lr__error_nomem();
    }
    o->popcount = pop;
    return LEADROUTE_OK;
}

static int lr__pair_cmp(const void *x, const void *y)
{
    const lr__pair *a = x, *b = y;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return a->rule < b->rule ? -1 : a->rule > b->rule;
}

/* Group pairs by key: start[k]..start[k+1] are key k's rules, ascending. */
static int lr__csr(lr__compiler *cc, lr__pair *pairs, uint32_t n, uint32_t nkeys, uint32_t **start_out)
{
    uint32_t *start = lr__calloc(cc->a, (size_t)nkeys + 1, sizeof *start);
    uint32_t i;
    if (!start)
        return lr__error_nomem();
    if (n)
        qsort(pairs, n, sizeof *pairs, lr__pair_cmp);
    for (i = 0; i < n; i++)
        start[pairs[i].key + 1]++;
    for (i = 0; i < nkeys; i++)
        start[i + 1] += start[i];
    *start_out = start;
    return LEADROUTE_OK;
}

static void lr__tmp_add(lr__compiler *cc, const lr__pair *pairs, const uint32_t *start, uint32_t key)
{
    uint32_t i;
    for (i = start[key]; i < start[key + 1]; i++)
        lr__bit_set(cc->tmp, pairs[i].rule);
}

static int lr__push_pair(lr__compiler *cc, lr__pair **v, uint32_t *n, uint32_t *cap, uint32_t key, uint32_t rule)
{
    int rc = lr__vec_reserve(cc->a, (void **)v, cap, (size_t)*n + 1, sizeof **v);
    if (rc)
        return rc;
    (*v)[*n].key = key;
    (*v)[*n].rule = rule;
    (*n)++;
    return LEADROUTE_OK;
}

static int lr__u32_desc(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return a < b ? 1 : a > b ? -1 : 0;
}

/* Column default D = rules whose cell is `-` or negated. */
static int lr__index_default(lr__compiler *cc, uint32_t col, lr__index *ix)
{
    leadroute_table *t = cc->t;
    uint64_t *d = lr__arena_zalloc(&t->arena, sizeof *d * lr__padded_words(t->nwords));
    uint32_t r, w;
    if (!d)
        return lr__error_nomem();
    for (r = 0; r < t->nrules; r++) {
        const lr__cell *cell = &t->rules[r].cells[col];
        if (cell->any || cell->negated)
            lr__bit_set(d, r);
    }
    ix->dwords = d;
    ix->dsummary = lr__summary_of(cc, d);
    if (!ix->dsummary)
        return lr__error_nomem();
    ix->dpopcount = 0;
    for (w = 0; w < t->nwords; w++)
        ix->dpopcount += lr__popcount64(d[w]);
    return LEADROUTE_OK;
}

static int lr__index_text(lr__compiler *cc, uint32_t col, lr__index *ix)
{
    leadroute_table *t = cc->t;
    int is_set = ix->type == LEADROUTE_TYPE_SET;
    lr__pair *eq = NULL, *pre = NULL;
    uint32_t neq = 0, cap_eq = 0, npre = 0, cap_pre = 0;
    uint32_t *eq_start = NULL, *pre_start = NULL, *nulls = NULL, nnull = 0, cap_null = 0;
    uint32_t nlens = 0, *lens = NULL, cap_lens = 0;
    uint32_t r, i, k, nkeys, nprefixes;
    int rc;

    if ((rc = lr__keymap_init(&ix->keys, cc->a, 16)) != 0 || (rc = lr__keymap_init(&ix->prefixes, cc->a, 16)) != 0)
        goto done;
    for (r = 0; r < t->nrules; r++) {
        const lr__cell *cell = &t->rules[r].cells[col];
        if (cell->any)
            continue;
        for (i = 0; i < cell->natoms; i++) {
            const lr__atom *at = &cell->atoms[i];
            uint32_t existing;
            if (at->kind == LR_ATOM_NULL) {
                if (nnull && nulls[nnull - 1] == r)
                    continue;
                if ((rc = lr__vec_reserve(cc->a, (void **)&nulls, &cap_null, (size_t)nnull + 1, sizeof *nulls)) != 0)
                    goto done;
                nulls[nnull++] = r;
            } else if (at->kind == LR_ATOM_EQ) {
                if ((rc = lr__keymap_put(&ix->keys, cc->a, at->str, at->len, ix->keys.count, &existing)) != 0)
                    goto done;
                if ((rc = lr__push_pair(cc, &eq, &neq, &cap_eq, existing == UINT32_MAX ? ix->keys.count - 1 : existing,
                                        r)) != 0)
                    goto done;
            } else if (at->kind == LR_ATOM_PREFIX) {
                if ((rc = lr__keymap_put(&ix->prefixes, cc->a, at->str, at->len, ix->prefixes.count, &existing)) != 0)
                    goto done;
                if (existing == UINT32_MAX) {
                    for (k = 0; k < nlens && lens[k] != at->len; k++)
                        ;
                    if (k == nlens) {
                        if ((rc = lr__vec_reserve(cc->a, (void **)&lens, &cap_lens, (size_t)nlens + 1,
                                                  sizeof *lens)) != 0)
                            goto done;
                        lens[nlens++] = at->len;
                    }
                }
                if ((rc = lr__push_pair(cc, &pre, &npre, &cap_pre,
                                        existing == UINT32_MAX ? ix->prefixes.count - 1 : existing, r)) != 0)
                    goto done;
            }
        }
    }
    nkeys = ix->keys.count;
    nprefixes = ix->prefixes.count;
    if ((rc = lr__csr(cc, eq, neq, nkeys, &eq_start)) != 0 || (rc = lr__csr(cc, pre, npre, nprefixes, &pre_start)) != 0)
        goto done;
    if (nlens) {
        qsort(lens, nlens, sizeof *lens, lr__u32_desc);
        ix->prefix_lens = lr__arena_alloc(&t->arena, sizeof *lens * nlens);
        if (!ix->prefix_lens) {
            rc = lr__error_nomem();
            goto done;
        }
        memcpy(ix->prefix_lens, lens, sizeof *lens * nlens);
    }
    ix->nprefix_lens = nlens;

    /* outcomes: 0 other, 1 null, 2.. keys, then prefixes */
    ix->noutcomes = 2 + nkeys + nprefixes;
    ix->other_outcome = 0;
    ix->null_outcome = 1;
    ix->prefix_base = 2 + nkeys;
    ix->outcomes = lr__arena_zalloc(&t->arena, sizeof *ix->outcomes * ix->noutcomes);
    if (!ix->outcomes) {
        rc = lr__error_nomem();
        goto done;
    }
    lr__column_density(cc, ix->noutcomes);
    if ((rc = lr__outcome_make(cc, ix, is_set, &ix->outcomes[0])) != 0)
        goto done;
    for (i = 0; i < nnull; i++)
        lr__bit_set(cc->tmp, nulls[i]);
    if ((rc = lr__outcome_make(cc, ix, is_set, &ix->outcomes[1])) != 0)
        goto done;
    /* Walk the keymap slots so each key's text is at hand for its prefixes. */
    for (k = 0; k <= ix->keys.mask; k++) {
        const lr__keymap_entry *e = &ix->keys.slots[k];
        uint32_t p, L;
        if (!e->str)
            continue;
        lr__tmp_add(cc, eq, eq_start, e->outcome);
        for (L = 0; L < nlens; L++)
            if (lens[L] <= e->len && lr__keymap_get(&ix->prefixes, e->str, lens[L], &p))
                lr__tmp_add(cc, pre, pre_start, p);
        if ((rc = lr__outcome_make(cc, ix, is_set, &ix->outcomes[2 + e->outcome])) != 0 ||
            (rc = lr__memory_check(cc, t->inputs[col].name)) != 0)
            goto done;
    }
    for (k = 0; k <= ix->prefixes.mask; k++) {
        const lr__keymap_entry *e = &ix->prefixes.slots[k];
        uint32_t p, L;
        if (!e->str)
            continue;
        for (L = 0; L < nlens; L++)
            if (lens[L] <= e->len && lr__keymap_get(&ix->prefixes, e->str, lens[L], &p))
                lr__tmp_add(cc, pre, pre_start, p);
        if ((rc = lr__outcome_make(cc, ix, is_set, &ix->outcomes[ix->prefix_base + e->outcome])) != 0 ||
            (rc = lr__memory_check(cc, t->inputs[col].name)) != 0)
            goto done;
    }
    /* keys were numbered from 0 by insertion: outcomes are 2 + number */
    for (k = 0; k <= ix->keys.mask; k++)
        if (ix->keys.slots[k].str)
            ix->keys.slots[k].outcome += 2;
    for (k = 0; k <= ix->prefixes.mask; k++)
        if (ix->prefixes.slots[k].str)
            ix->prefixes.slots[k].outcome += ix->prefix_base;
    rc = LEADROUTE_OK;
done:
    lr__free(cc->a, eq);
    lr__free(cc->a, pre);
    lr__free(cc->a, eq_start);
    lr__free(cc->a, pre_start);
    lr__free(cc->a, nulls);
    lr__free(cc->a, lens);
    return rc;
}

static int lr__double_cmp(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

static int lr__index_number(lr__compiler *cc, uint32_t col, lr__index *ix)
{
    leadroute_table *t = cc->t;
    double *pts = NULL;
    uint32_t npts = 0, cap_pts = 0, nseg, r, i, s;
    lr__pair *ev = NULL;       /* key = segment, rule; rule | 1<<31 marks removal */
    uint32_t nev = 0, cap_ev = 0, *ev_start = NULL, *count = NULL, nnull = 0;
    int rc;

    for (r = 0; r < t->nrules; r++) {
        const lr__cell *cell = &t->rules[r].cells[col];
        if (cell->any)
            continue;
        for (i = 0; i < cell->natoms; i++) {
            const lr__atom *at = &cell->atoms[i];
            if (at->kind != LR_ATOM_RANGE)
                continue;
            if ((rc = lr__vec_reserve(cc->a, (void **)&pts, &cap_pts, (size_t)npts + 2, sizeof *pts)) != 0)
                goto done;
            if (at->has_lo)
                pts[npts++] = at->lo;
            if (at->has_hi)
                pts[npts++] = at->hi;
        }
    }
    if (npts > 1) {
        uint32_t u = 1;
        qsort(pts, npts, sizeof *pts, lr__double_cmp);
        for (i = 1; i < npts; i++)
            if (pts[i] != pts[u - 1])
                pts[u++] = pts[i];
        npts = u;
    }
    nseg = 2 * npts + 1;
    ix->points = lr__arena_alloc(&t->arena, sizeof *pts * (npts ? npts : 1));
    ix->segment_outcome = lr__arena_alloc(&t->arena, sizeof *ix->segment_outcome * nseg);
    if (!ix->points || !ix->segment_outcome) {
        rc = lr__error_nomem();
        goto done;
    }
    if (npts)
        memcpy(ix->points, pts, sizeof *pts * npts);
    ix->npoints = npts;

    for (r = 0; r < t->nrules; r++) {
        const lr__cell *cell = &t->rules[r].cells[col];
        if (cell->any)
            continue;
        for (i = 0; i < cell->natoms; i++) {
            const lr__atom *at = &cell->atoms[i];
            uint32_t lo, hi;
            if (at->kind != LR_ATOM_RANGE)
                continue;
            lo = at->has_lo ? 2 * lr__point_index(pts, npts, at->lo) + (at->lo_open ? 2u : 1u) : 0;
            hi = at->has_hi ? 2 * lr__point_index(pts, npts, at->hi) + (at->hi_open ? 0u : 1u) : nseg - 1;
            if (lo > hi)
                continue;
            if ((rc = lr__push_pair(cc, &ev, &nev, &cap_ev, lo, r)) != 0)
                goto done;
            if (hi + 1 < nseg && (rc = lr__push_pair(cc, &ev, &nev, &cap_ev, hi + 1, r | 0x80000000u)) != 0)
                goto done;
        }
    }
    if ((rc = lr__csr(cc, ev, nev, nseg, &ev_start)) != 0)
        goto done;
    count = lr__calloc(cc->a, t->nrules ? t->nrules : 1, sizeof *count);
    ix->outcomes = lr__arena_zalloc(&t->arena, sizeof *ix->outcomes * (nseg + 1));
    if (!count || !ix->outcomes) {
        rc = lr__error_nomem();
        goto done;
    }
    /* outcome 0: missing; then one per run of segments with the same rules */
    for (r = 0; r < t->nrules; r++) {
        const lr__cell *cell = &t->rules[r].cells[col];
        for (i = 0; !cell->any && i < cell->natoms; i++)
            if (cell->atoms[i].kind == LR_ATOM_NULL) {
                lr__bit_set(cc->tmp, r);
                nnull++;
                break;
            }
    }
    ix->null_outcome = 0;
    ix->other_outcome = 0;
    lr__column_density(cc, (uint64_t)nseg + 1);
    if ((rc = lr__outcome_make(cc, ix, 0, &ix->outcomes[0])) != 0)
        goto done;
    ix->noutcomes = 1;
    {
        /* the live set of rules across the sweep, kept apart from cc->tmp */
        uint64_t *live = lr__calloc(cc->a, t->nwords, sizeof *live);
        if (!live) {
            rc = lr__error_nomem();
            goto done;
        }
        for (s = 0; s < nseg; s++) {
            for (i = ev_start[s]; i < ev_start[s + 1]; i++) {
                uint32_t rule = ev[i].rule & 0x7fffffffu;
                if (ev[i].rule & 0x80000000u) {
                    if (--count[rule] == 0)
                        live[rule >> 6] &= ~((uint64_t)1 << (rule & 63));
                } else if (count[rule]++ == 0) {
                    lr__bit_set(live, rule);
                }
            }
            if (s > 0 && ev_start[s] == ev_start[s + 1]) {
                ix->segment_outcome[s] = ix->segment_outcome[s - 1];
                continue;
            }
            memcpy(cc->tmp, live, sizeof *live * t->nwords);
            if ((rc = lr__outcome_make(cc, ix, 0, &ix->outcomes[ix->noutcomes])) != 0) {
                lr__free(cc->a, live);
                goto done;
            }
            ix->segment_outcome[s] = ix->noutcomes++;
            if ((rc = lr__memory_check(cc, t->inputs[col].name)) != 0) {
                lr__free(cc->a, live);
                goto done;
            }
        }
        lr__free(cc->a, live);
    }
    rc = LEADROUTE_OK;
done:
    lr__free(cc->a, pts);
    lr__free(cc->a, ev);
    lr__free(cc->a, ev_start);
    lr__free(cc->a, count);
    return rc;
}

/* ---- copying the builder's definitions ------------------------------------ */

static const char *lr__dup(leadroute_table *t, const char *s)
{
    return s ? lr__arena_strndup(&t->arena, s, strlen(s)) : NULL;
}

/* One copy of each distinct cell string: big tables repeat their values. */
static const char *lr__intern(leadroute_table *t, lr__keymap *strings, const char *s, uint32_t len)
{
    const lr__keymap_entry *e = lr__keymap_find(strings, s, len);
    uint32_t existing;
    char *copy;
    if (e->str)
        return e->str;
    copy = lr__arena_strndup(&t->arena, s, len);
    if (!copy || lr__keymap_put(strings, &t->alloc, copy, len, 0, &existing) != 0)
        return NULL;
    return copy;
}

static int lr__copy_definitions(leadroute_table *t, const leadroute_table_builder *b, lr__keymap *strings)
{
    uint32_t i, j, k;
    t->ninputs = b->ninputs;
    t->noutputs = b->noutputs;
    t->nrules = b->nrules;
    t->inputs = lr__arena_zalloc(&t->arena, sizeof *t->inputs * (b->ninputs + 1));
    t->outputs = lr__arena_zalloc(&t->arena, sizeof *t->outputs * (b->noutputs + 1));
    t->rules = lr__arena_zalloc(&t->arena, sizeof *t->rules * (b->nrules + 1));
    if (!t->inputs || !t->outputs || !t->rules)
        return lr__error_nomem();
    for (i = 0; i < b->ninputs; i++) {
        t->inputs[i] = b->inputs[i];
        if (!(t->inputs[i].name = lr__dup(t, b->inputs[i].name)))
            return lr__error_nomem();
    }
    for (i = 0; i < b->noutputs; i++) {
        t->outputs[i] = b->outputs[i];
        if (!(t->outputs[i].name = lr__dup(t, b->outputs[i].name)))
            return lr__error_nomem();
    }
    for (i = 0; i < b->nrules; i++) {
        const lr__rule *src = &b->rules[i];
        lr__rule *dst = &t->rules[i];
        dst->line = src->line;
        dst->id = lr__dup(t, src->id);
        dst->cells = lr__arena_alloc(&t->arena, sizeof *dst->cells * (b->ninputs + 1));
        dst->outputs = NULL; /* interned per column by lr__value_ids */
        if (!dst->id || !dst->cells)
            return lr__error_nomem();
        for (j = 0; j < b->ninputs; j++) {
            const lr__cell *sc = &src->cells[j];
            lr__cell *dc = &dst->cells[j];
            *dc = *sc;
            if (!sc->natoms)
                continue;
            dc->atoms = lr__arena_alloc(&t->arena, sizeof *dc->atoms * sc->natoms);
            if (!dc->atoms)
                return lr__error_nomem();
            for (k = 0; k < sc->natoms; k++) {
                dc->atoms[k] = sc->atoms[k];
                if (lr__atom_has_text(&sc->atoms[k]) &&
                    !(dc->atoms[k].str = lr__intern(t, strings, sc->atoms[k].str, sc->atoms[k].len)))
                    return lr__error_nomem();
            }
        }
    }
    return LEADROUTE_OK;
}

static int lr__policy_check(leadroute_table *t, const leadroute_table_builder *b)
{
    uint32_t i, j;
    if (b->aggregation != LEADROUTE_AGG_NONE && b->hit_policy != LEADROUTE_HIT_COLLECT)
        return lr__error_set_at(LEADROUTE_ETABLE, b->file, b->aggregation_vline, b->aggregation_col,
                                    "an aggregation needs hit_policy collect");
    t->hit_policy = b->hit_policy;
    t->aggregation = b->aggregation;
    if (t->aggregation != LEADROUTE_AGG_NONE) {
        if (t->noutputs == 0)
            return lr__error_set_at(LEADROUTE_ETABLE, b->file, b->aggregation_vline, b->aggregation_col,
                                    "an aggregation needs at least one output column");
        if (t->aggregation != LEADROUTE_AGG_COUNT)
            for (i = 0; i < t->noutputs; i++)
                if (t->outputs[i].type != LEADROUTE_TYPE_NUMBER)
                    return lr__error_set_at(LEADROUTE_ETABLE, b->file, b->aggregation_vline, b->aggregation_col,
                                            "aggregation %s needs number outputs; output '%s' is not a number "
                                            "(declare it as out:%s:number)",
                                            t->aggregation == LEADROUTE_AGG_SUM ? "sum"
                                            : t->aggregation == LEADROUTE_AGG_MIN ? "min" : "max",
                                            t->outputs[i].name, t->outputs[i].name);
    }
    for (i = 0; i < b->nprios; i++) {
        lr__cell_ctx ctx;
        lr__origin origin;
        lr__column *col = NULL;
        uint32_t list_col;
        int rc;
        for (j = 0; j < t->noutputs; j++)
            if (strcmp(t->outputs[j].name, b->prios[i].output) == 0)
                col = &t->outputs[j];
        if (!col)
            return lr__error_set_at(LEADROUTE_ETABLE, b->file, b->prios[i].output_line, b->prios[i].output_col,
                                    "priority list for '%s', which is not an output column", b->prios[i].output);
        memset(&origin, 0, sizeof origin);
        origin.file = b->file;
        origin.line = b->prios[i].list_line;
        /* the list is cell 0; quoted, it is read as a cell whose opening
         * quote is just before it, so that its '"'s count twice */
        list_col = b->prios[i].col - (b->prios[i].quoted ? 1u : 0u);
        origin.cell_cols = &list_col;
        origin.cell_quoted = &b->prios[i].quoted;
        ctx.origin = b->file ? &origin : NULL;
        ctx.cell = 0;
        ctx.column = col->name;
        ctx.type = col->type;
        ctx.flags = 0;
        ctx.rule_id = NULL; /* messages name the priority list */
        /* and a value named twice, at its second entry */
        if ((rc = lr__literal_list_parse(&t->arena, &ctx, b->prios[i].text, b->prios[i].len, &col->priorities,
                                         &col->npriorities)) != 0)
            return rc;
    }
    if ((t->hit_policy == LEADROUTE_HIT_PRIORITY || t->hit_policy == LEADROUTE_HIT_OUTPUT_ORDER) && b->nprios == 0)
        return lr__error_set_at(LEADROUTE_ETABLE, b->file, b->policy_vline, b->policy_col,
                                "hit policy %s needs at least one priority list (#! priority: output = a, b, c)",
                                t->hit_policy == LEADROUTE_HIT_PRIORITY ? "priority" : "output order");
    return LEADROUTE_OK;
}

/* Intern output values per column: each distinct value is stored once, and
 * equality becomes an integer compare (ANY, COUNT). */
static int lr__value_ids(lr__compiler *cc, const leadroute_table_builder *b)
{
    leadroute_table *t = cc->t;
    uint32_t j, r;
    int rc = LEADROUTE_OK;
    t->null_value.version = LEADROUTE_VALUE_VERSION;
    t->null_value.type = LEADROUTE_VALUE_NULL;
    t->value_ids = lr__arena_zalloc(&t->arena, sizeof *t->value_ids * (t->noutputs + 1));
    t->value_id_count = lr__arena_zalloc(&t->arena, sizeof *t->value_id_count * (t->noutputs + 1));
    t->out_values = lr__arena_zalloc(&t->arena, sizeof *t->out_values * (t->noutputs + 1));
    if (!t->value_ids || !t->value_id_count || !t->out_values)
        return lr__error_nomem();
    for (j = 0; j < t->noutputs && rc == LEADROUTE_OK; j++) {
        lr__keymap m;
        leadroute_value *vals = NULL;
        char *keys = NULL;   /* 9-byte keys of numbers and bools, one per distinct value */
        uint32_t cap_vals = 0, cap_keys = 0;
        uint32_t *ids = lr__arena_alloc(&t->arena, sizeof *ids * (t->nrules + 1));
        if (!ids)
            return lr__error_nomem();
        if ((rc = lr__keymap_init(&m, cc->a, 16)) != 0)
            return rc;
        /* first pass: ids (keys point into the builder, alive until we return) */
        for (r = 0; r < t->nrules && rc == LEADROUTE_OK; r++) {
            const leadroute_value *v = &b->rules[r].outputs[j];
            uint32_t existing;
            if (v->type == LEADROUTE_VALUE_NULL) {
                ids[r] = UINT32_MAX;
                continue;
            }
            if ((rc = lr__vec_reserve(cc->a, (void **)&vals, &cap_vals, (size_t)m.count + 1, sizeof *vals)) != 0)
                break;
            if (v->type == LEADROUTE_VALUE_STRING) {
                rc = lr__keymap_put(&m, cc->a, v->string, (uint32_t)strlen(v->string), m.count, &existing);
            } else {
                double x = v->type == LEADROUTE_VALUE_NUMBER ? v->number : (double)!!v->boolean;
                char key[1 + sizeof(double)];
                if (x == 0)
                    x = 0; /* -0 and 0 are one value */
                key[0] = (char)v->type;
                memcpy(key + 1, &x, sizeof x);
                if (lr__keymap_get(&m, key, sizeof key, &existing)) {
                    ids[r] = existing;
                    continue;
                }
                {
                    uintptr_t before = (uintptr_t)keys; /* an address, not a pointer to use */
                    uint32_t slot, old_cap = cap_keys;
                    if ((rc = lr__vec_reserve(cc->a, (void **)&keys, &cap_keys,
                                              ((size_t)m.count + 1) * sizeof key, 1)) != 0)
                        break;
                    /* keys[] moved as it grew: point the map's number keys at the new copy
                     * (only then: rebuilding on every new value made compiling quadratic) */
                    if ((uintptr_t)keys != before)
                        for (slot = 0; slot <= m.mask; slot++)
                            if (m.slots[slot].str && (uintptr_t)m.slots[slot].str - before < old_cap)
                                m.slots[slot].str = keys + (size_t)m.slots[slot].outcome * sizeof key;
                }
                memcpy(keys + (size_t)m.count * sizeof key, key, sizeof key);
                rc = lr__keymap_put(&m, cc->a, keys + (size_t)m.count * sizeof key, sizeof key, m.count, &existing);
            }
            if (rc)
                break;
            if (existing == UINT32_MAX) {
                vals[m.count - 1] = *v;
                /* -0 and 0 are one value, so one spelling: else every rule
                 * would give the first one's, and the hash would not see it */
                if (v->type == LEADROUTE_VALUE_NUMBER && v->number == 0)
                    vals[m.count - 1].number = 0;
                ids[r] = m.count - 1;
            } else {
                ids[r] = existing;
            }
        }
        if (rc == LEADROUTE_OK) {
            uint32_t k;
            t->out_values[j] = lr__arena_alloc(&t->arena, sizeof *vals * (m.count + 1));
            if (!t->out_values[j])
                rc = lr__error_nomem();
            for (k = 0; rc == LEADROUTE_OK && k < m.count; k++) {
                t->out_values[j][k] = vals[k];
                t->out_values[j][k].version = LEADROUTE_VALUE_VERSION;
                if (vals[k].type == LEADROUTE_VALUE_STRING &&
                    !(t->out_values[j][k].string =
                          lr__arena_strndup(&t->arena, vals[k].string, strlen(vals[k].string))))
                    rc = lr__error_nomem();
            }
            t->value_ids[j] = ids;
            t->value_id_count[j] = m.count;
            if (m.count > t->max_value_ids)
                t->max_value_ids = m.count;
        }
        lr__keymap_free(&m, cc->a);
        lr__free(cc->a, vals);
        lr__free(cc->a, keys);
    }
    return rc;
}

/* qsort has no context argument; one compile per thread at a time. */
static _Thread_local const leadroute_table *lr__sort_table;

static uint32_t lr__rank(const leadroute_table *t, uint32_t rule, uint32_t out)
{
    const lr__column *c = &t->outputs[out];
    uint32_t i;
    for (i = 0; i < c->npriorities; i++)
        if (lr__value_equal(&c->priorities[i], lr__rule_output(t, rule, out)))
            return i;
    return c->npriorities;
}

static int lr__prio_cmp(const void *x, const void *y)
{
    const leadroute_table *t = lr__sort_table;
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y, j;
    for (j = 0; j < t->noutputs; j++) {
        uint32_t ra, rb;
        if (!t->outputs[j].npriorities)
            continue;
        ra = lr__rank(t, a, j);
        rb = lr__rank(t, b, j);
        if (ra != rb)
            return ra < rb ? -1 : 1;
    }
    return a < b ? -1 : a > b;
}

static int lr__priority_order(lr__compiler *cc)
{
    leadroute_table *t = cc->t;
    uint32_t *perm, r;
    t->prio_order = lr__arena_alloc(&t->arena, sizeof *t->prio_order * (t->nrules + 1));
    perm = lr__malloc(cc->a, sizeof *perm * (t->nrules + 1));
    if (!t->prio_order || !perm) {
        lr__free(cc->a, perm);
        return lr__error_nomem();
    }
    for (r = 0; r < t->nrules; r++)
        perm[r] = r;
    lr__sort_table = t;
    qsort(perm, t->nrules, sizeof *perm, lr__prio_cmp);
    for (r = 0; r < t->nrules; r++)
        t->prio_order[perm[r]] = r;
    lr__free(cc->a, perm);
    return LEADROUTE_OK;
}

/* Numbers go into the hash as little-endian bytes, so that a table hashes
 * alike on every host (on little-endian hosts, as they lie in memory). */
static void lr__hash_u32s(XXH3_state_t *st, const uint32_t *v, size_t n)
{
    unsigned char buf[4 * 6];
    size_t i;
    for (i = 0; i < n; i++) {
        buf[4 * i] = (unsigned char)v[i];
        buf[4 * i + 1] = (unsigned char)(v[i] >> 8);
        buf[4 * i + 2] = (unsigned char)(v[i] >> 16);
        buf[4 * i + 3] = (unsigned char)(v[i] >> 24);
    }
    XXH3_64bits_update(st, buf, 4 * n);
}

/* A double by its IEEE 754 bits, -0 as 0. */
static void lr__hash_double(XXH3_state_t *st, double x)
{
    unsigned char buf[8];
    uint64_t u;
    int i;
    if (x == 0)
        x = 0;
    memcpy(&u, &x, sizeof u);
    for (i = 0; i < 8; i++)
        buf[i] = (unsigned char)(u >> (8 * i));
    XXH3_64bits_update(st, buf, sizeof buf);
}

/* XXH3 over the table's meaning: policy, columns, priorities, rules. */
static void lr__hash_value(XXH3_state_t *st, const leadroute_value *v)
{
    uint32_t type = v->type;
    lr__hash_u32s(st, &type, 1);
    if (v->type == LEADROUTE_VALUE_STRING)
        XXH3_64bits_update(st, v->string, strlen(v->string) + 1);
    else if (v->type == LEADROUTE_VALUE_NUMBER || v->type == LEADROUTE_VALUE_BOOL)
        lr__hash_double(st, v->type == LEADROUTE_VALUE_NUMBER ? v->number : (double)!!v->boolean);
}

static uint64_t lr__table_hash(const leadroute_table *t)
{
    XXH3_state_t st;
    uint32_t i, j, k, head[5] = { t->hit_policy, t->aggregation, t->ninputs, t->noutputs, t->nrules };
    XXH3_64bits_reset(&st);
    XXH3_64bits_update(&st, "leadroute-table-1", 17);
    lr__hash_u32s(&st, head, 5);
    for (i = 0; i < t->ninputs + t->noutputs; i++) {
        const lr__column *c = i < t->ninputs ? &t->inputs[i] : &t->outputs[i - t->ninputs];
        uint32_t meta[3] = { c->type, c->flags, c->npriorities };
        XXH3_64bits_update(&st, c->name, strlen(c->name) + 1);
        lr__hash_u32s(&st, meta, 3);
        for (j = 0; j < c->npriorities; j++)
            lr__hash_value(&st, &c->priorities[j]);
    }
    for (i = 0; i < t->nrules; i++) {
        const lr__rule *r = &t->rules[i];
        XXH3_64bits_update(&st, r->id, strlen(r->id) + 1);
        for (j = 0; j < t->ninputs; j++) {
            const lr__cell *c = &r->cells[j];
            uint32_t meta[3] = { c->any, c->negated, c->natoms };
            lr__hash_u32s(&st, meta, 3);
            for (k = 0; k < c->natoms; k++) {
                const lr__atom *a = &c->atoms[k];
                uint32_t am[6] = { a->kind, a->has_lo, a->has_hi, a->lo_open, a->hi_open, a->len };
                lr__hash_u32s(&st, am, 6);
                lr__hash_double(&st, a->kind == LR_ATOM_RANGE && a->has_lo ? a->lo : 0);
                lr__hash_double(&st, a->kind == LR_ATOM_RANGE && a->has_hi ? a->hi : 0);
                if (lr__atom_has_text(a))
                    XXH3_64bits_update(&st, a->str, a->len);
            }
        }
        for (j = 0; j < t->noutputs; j++)
            lr__hash_value(&st, lr__rule_output(t, i, j));
    }
    return XXH3_64bits_digest(&st);
}

int lr__table_compile(leadroute_table **out, leadroute_table_builder *b)
{
    lr__compiler cc;
    leadroute_table *t;
    lr__keymap strings;
    uint32_t c;
    int rc;

    lr__number_setup();
    t = lr__malloc(&b->alloc, sizeof *t);
    if (!t)
        return lr__error_nomem();
    memset(t, 0, sizeof *t);
    atomic_init(&t->refs, 1u);
    t->alloc = b->alloc;
    lr__arena_init(&t->arena, &t->alloc);
    cc.t = t;
    cc.a = &t->alloc;
    cc.tmp = NULL;
    cc.dense_big = 0;
    cc.max_memory = b->options.max_memory ? b->options.max_memory : ((size_t)1 << 30);

    if ((rc = lr__keymap_init(&strings, cc.a, 64)) != 0)
        goto fail;
    rc = lr__copy_definitions(t, b, &strings);
    lr__keymap_free(&strings, cc.a);
    if (rc)
        goto fail;
    if (!(t->name = lr__dup(t, b->name ? b->name : "")) || !(t->version = lr__dup(t, b->version ? b->version : "")) ||
        (b->file && !(t->file = lr__dup(t, b->file)))) {
        rc = lr__error_nomem();
        goto fail;
    }
    if ((rc = lr__policy_check(t, b)) != 0)
        goto fail;
    t->nwords = lr__words_for(t->nrules ? t->nrules : 1);
    t->nsum = lr__words_for(t->nwords);
    t->scan = lr__scan_pick(t->nwords > lr__plain_scan_words);
    t->scan_plain = lr__scan_pick(0);
    cc.tmp = lr__calloc(cc.a, t->nwords, sizeof *cc.tmp);
    t->index = lr__arena_zalloc(&t->arena, sizeof *t->index * (t->ninputs + 1));
    t->zeros = lr__arena_zalloc(&t->arena, sizeof *t->zeros * (lr__padded_words(t->nwords) + t->nsum +
                                                                lr__top_words(t->nsum)));
    if (!cc.tmp || !t->index || !t->zeros) {
        rc = lr__error_nomem();
        goto fail;
    }
    for (c = 0; c < t->ninputs; c++) {
        lr__index *ix = &t->index[c];
        ix->type = t->inputs[c].type;
        ix->folded = (t->inputs[c].flags & LEADROUTE_COLUMN_CASE_INSENSITIVE) != 0;
        if ((rc = lr__index_default(&cc, c, ix)) != 0)
            goto fail;
        if (ix->type == LEADROUTE_TYPE_NUMBER)
            rc = lr__index_number(&cc, c, ix);
        else
            rc = lr__index_text(&cc, c, ix);
        if (rc || (rc = lr__memory_check(&cc, t->inputs[c].name)) != 0)
            goto fail;
        if (ix->type == LEADROUTE_TYPE_SET)
            t->nset_columns++;
    }
    if ((rc = lr__value_ids(&cc, b)) != 0)
        goto fail;
    if ((t->hit_policy == LEADROUTE_HIT_PRIORITY || t->hit_policy == LEADROUTE_HIT_OUTPUT_ORDER) &&
        (rc = lr__priority_order(&cc)) != 0)
        goto fail;
    /* all but the lint is built: the size a table without lint keeps */
    if ((rc = lr__table_fits(&cc)) != 0)
        goto fail;
    t->hash = lr__table_hash(t);
    if (!(b->options.flags & LEADROUTE_TABLE_NO_LINT) && ((rc = lr__table_lint(t)) != 0 || (rc = lr__table_fits(&cc)) != 0))
        goto fail;
    lr__free(cc.a, cc.tmp);
    t->memory = lr__table_bytes(t);
    *out = t;
    return LEADROUTE_OK;
fail:
    lr__free(cc.a, cc.tmp);
    lr__table_destroy(t);
    return rc;
}

void lr__table_destroy(leadroute_table *t)
{
    uint32_t c;
    lr__alloc a;
    if (!t)
        return;
    a = t->alloc;
    if (t->index)
        for (c = 0; c < t->ninputs; c++) {
            if (t->index[c].keys.slots)
                lr__keymap_free(&t->index[c].keys, &a);
            if (t->index[c].prefixes.slots)
                lr__keymap_free(&t->index[c].prefixes, &a);
        }
    lr__arena_free(&t->arena);
    lr__free(&a, t);
}
