/* Compiled evaluation: look each lead value up in its column index, then AND
 * the columns' outcome bitsets, 64 words (4096 rules) per summary step, the
 * most selective column first. FIRST stops at the first surviving bit. */
#include <math.h>
#include <string.h>

#include "base/bitset.h"
#include "base/error.h"
#include "base/lead.h"
#include "base/value.h"
#include "table/internal.h"

/* x86-64 compilers that can build one function for AVX2 and pick it at
 * run time. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LR_SCAN_AVX2 1
#else
#define LR_SCAN_AVX2 0
#endif

static const char *lr__value_type_name(uint32_t type)
{
    switch (type) {
    case LEADROUTE_VALUE_NULL: return "null";
    case LEADROUTE_VALUE_STRING: return "a string";
    case LEADROUTE_VALUE_NUMBER: return "a number";
    case LEADROUTE_VALUE_BOOL: return "a bool";
    case LEADROUTE_VALUE_SET: return "a set";
    default: return "an unknown type";
    }
}

int lr__input_get(const leadroute_table *t, const leadroute_lead *lead, uint32_t col, lr__input *in)
{
    const char *name = t->inputs[col].name;
    const leadroute_field *f = NULL;
    const leadroute_value *v;
    uint32_t type = t->inputs[col].type;
    size_t i, n;
    int rc;

    in->kind = LR_IN_NULL;
    /* Hosts usually list fields in column order, often with our name pointers. */
    if (col < lead->field_count) {
        const leadroute_field *g = lr__lead_field(lead, col);
        if (g->name == name || (g->name && strcmp(g->name, name) == 0))
            f = g;
    }
    for (i = 0; !f && i < lead->field_count; i++) {
        const leadroute_field *g = lr__lead_field(lead, i);
        /* a field without a name is no field the table reads, wherever it
         * stands (leadroute_lead_validate() refuses it) */
        if (g->name && (g->name == name || strcmp(g->name, name) == 0))
            f = g;
    }
    if (!f)
        return LEADROUTE_OK;
    v = &f->value;
    if ((rc = lr__value_check(v, name)) != 0 || v->type == LEADROUTE_VALUE_NULL)
        return rc;

    if (v->type == LEADROUTE_VALUE_STRING) {
        /* every column type reads strings: trimmed, empty means missing */
        const char *s = v->string;
        n = strlen(s);
        lr__trim(&s, &n);
        if (n == 0)
            return LEADROUTE_OK;
        switch (type) {
        case LEADROUTE_TYPE_NUMBER:
            if ((rc = lr__parse_number(s, n, &in->num)) != 0)
                return lr__lead_number_text_error(name, s, n, rc);
            in->kind = LR_IN_NUM;
            return LEADROUTE_OK;
        case LEADROUTE_TYPE_BOOL:
            if (lr__equal_ci(s, n, "true"))
                in->str = "true";
            else if (lr__equal_ci(s, n, "false"))
                in->str = "false";
            else
                return lr__error_set(LEADROUTE_ELEAD, "lead field '%s': '%.*s' is not true or false", name,
                                     (int)lr__utf8_cut(s, n, 60), s);
            in->kind = LR_IN_STR;
            in->len = strlen(in->str);
            return LEADROUTE_OK;
        default:
            in->kind = LR_IN_STR;
            in->str = s;
            in->len = n;
            return LEADROUTE_OK;
        }
    }
    if (v->type == LEADROUTE_VALUE_SET && type == LEADROUTE_TYPE_SET) {
        in->kind = v->item_count ? LR_IN_SET : LR_IN_NULL;
        in->items = v->items;
        in->nitems = v->item_count;
        return LEADROUTE_OK;
    }
    if (v->type == LEADROUTE_VALUE_NUMBER && type == LEADROUTE_TYPE_NUMBER) {
        in->kind = LR_IN_NUM;
        in->num = v->number;
        return LEADROUTE_OK;
    }
    if (v->type == LEADROUTE_VALUE_BOOL && type == LEADROUTE_TYPE_BOOL) {
        in->kind = LR_IN_STR;
        in->str = v->boolean ? "true" : "false";
        in->len = strlen(in->str);
        return LEADROUTE_OK;
    }
    return lr__error_set(LEADROUTE_ELEAD, "lead field '%s': the table reads %s column, the lead gives %s", name,
                         type == LEADROUTE_TYPE_NUMBER ? "a number" : type == LEADROUTE_TYPE_BOOL ? "a bool"
                         : type == LEADROUTE_TYPE_SET ? "a set" : "a string",
                         lr__value_type_name(v->type));
}

const char *lr__input_text(const lr__index *ix, const char *s, size_t len, char *buf, size_t *out_len)
{
    if (len && (s[0] <= ' ' || s[len - 1] <= ' '))
        lr__trim(&s, &len);
    *out_len = len;
    if (ix->folded && len) {
        lr__fold(s, len, buf);
        return buf;
    }
    return s;
}

/* ---- the scan ------------------------------------------------------------ */

static inline uint64_t lr__sparse_word(const lr__outcome *o, uint32_t *pos, uint32_t w)
{
    uint32_t p = *pos;
    if (p < o->nnz && o->idx[p] < w) {
        /* gallop, then bisect: the scan may jump far ahead */
        uint32_t step = 1, lo = p, hi;
        while (lo + step < o->nnz && o->idx[lo + step] < w)
            lo += step, step *= 2;
        hi = lo + step < o->nnz ? lo + step : o->nnz;
        lo++;
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2;
            if (o->idx[mid] < w)
                lo = mid + 1;
            else
                hi = mid;
        }
        p = lo;
    }
    *pos = p;
    return (p < o->nnz && o->idx[p] == w) ? o->words[p] : 0;
}

static inline uint64_t lr__view_word(lr__view *v, uint32_t w)
{
    uint32_t i;
    uint64_t t;
    switch (v->kind) {
    case LR_VIEW_DENSE:
        return v->words[w];
    case LR_VIEW_SPARSE:
        return v->words[w] ^ lr__sparse_word(v->sparse, &v->pos, w);
    default:
        t = 0;
        for (i = 0; i < v->nparts; i++) {
            const lr__outcome *o = v->parts[i];
            t |= o->nnz == LR_DENSE ? o->words[w] : lr__sparse_word(o, &v->part_pos[i], w);
        }
        return v->words[w] ^ t;
    }
}

/* Summary bits of the words of block `s` where a sparse bitset has entries:
 * for T itself (`d` NULL), or for D ^ T (`d` the column default), starting
 * from `m`. Sparse outcomes keep no summary of their own, so that columns
 * with many keys stay small; blocks are visited in order, so `spos` only
 * moves forward. */
static inline uint64_t lr__sparse_summary(const lr__outcome *o, const uint64_t *d, uint32_t *spos, uint32_t s,
                                          uint64_t m)
{
    uint32_t p = *spos, lo = s * 64, hi = lo + 64;
    while (p < o->nnz && o->idx[p] < lo)
        p++;
    for (; p < o->nnz && o->idx[p] < hi; p++) {
        uint32_t w = o->idx[p];
        uint64_t bit = (uint64_t)1 << (w & 63);
        if (!d || (d[w] ^ o->words[p]))
            m |= bit;
        else
            m &= ~bit;
    }
    *spos = p;
    return m;
}

static inline uint64_t lr__view_summary(lr__view *v, uint32_t s)
{
    uint64_t m;
    uint32_t i;
    if (v->kind == LR_VIEW_DENSE)
        return v->summary[s];
    if (v->kind == LR_VIEW_SPARSE)
        return lr__sparse_summary(v->sparse, v->words, &v->spos, s, v->summary[s]);
    m = v->summary[s];
    for (i = 0; i < v->nparts; i++) {
        const lr__outcome *o = v->parts[i];
        m = o->nnz == LR_DENSE ? m | o->summary[s] : lr__sparse_summary(o, NULL, &v->part_spos[i], s, m);
    }
    return m;
}

/* The summary of a set column for block s (or top word s, when s counts
 * from nsum): a bit wherever D or a part has one, a superset of where
 * D ^ (P0 | ...) has one, which is all the scan needs. */
static inline uint64_t lr__xset_summary(const lr__xset *x, uint32_t s)
{
    return x->ds[s] | x->ps[0][s] | x->ps[1][s] | x->ps[2][s] | x->ps[3][s];
}

/* A group of LR_SCAN_GROUP words in one vector: one AVX2 register, two
 * SSE2 or NEON ones (the compiler splits it). Loaded by memcpy: bitsets
 * are 8-byte aligned. Macros, not functions: a function taking or giving
 * a 32-byte vector has a different ABI with and without AVX. */
typedef uint64_t lr__v4 __attribute__((vector_size(32)));
#define LR_V4_AND(x, p)                                                                                             \
    do {                                                                                                            \
        lr__v4 v_;                                                                                                  \
        memcpy(&v_, (p), sizeof v_);                                                                                \
        (x) &= v_;                                                                                                  \
    } while (0)

/* Tables of more summary words than this skip empty blocks by their top
 * words first. */
#define LR_SCAN_TOP_MIN 8u

/* Scan block `s` (64 words) for hits, appending them at r->hits[*count];
 * returns 1 when FIRST has its hit. `skipping` 0 visits every group of
 * the block, summaries unread: the plain per-column AND, which small
 * tables scan with (lr__plain_scan_words) and the benchmark measures the
 * skipping against. Dense columns and xsets are ANDed
 * over a group of LR_SCAN_GROUP words without a branch per column: a test
 * that kills half the groups costs more in mispredicted branches than the
 * loads it saves. No software prefetch: every column's group is loaded
 * anyway, and issuing the prefetches cost more than they saved (measured
 * at 100,000 rules). */
static inline __attribute__((always_inline)) int lr__scan_block(const leadroute_table *t, leadroute_result *r,
                                                                const lr__plan *plan, uint32_t s, uint32_t *count,
                                                                int first_only, int skipping)
{
    const uint64_t **dw = r->dense_words, **ds = r->dense_sums;
    const lr__xset *xs = r->xsets;
    lr__view **xv = r->order;
    uint32_t i, k, nd = plan->nd, ns = plan->ns, nx = plan->nx;
    uint64_t m = ~(uint64_t)0;

    if (s + 1 == t->nsum && (t->nwords & 63))
        m = ((uint64_t)1 << (t->nwords & 63)) - 1;
    for (i = 0; i < nd && skipping; i++)
        m &= ds[i][s];
    for (i = 0; i < ns && skipping; i++)
        m &= lr__xset_summary(&xs[i], s);
    for (i = 0; i < nx && m && skipping; i++)
        m &= lr__view_summary(xv[i], s);
    while (m) {
        /* the group of LR_SCAN_GROUP words holding the next candidate; its
         * other words need no masking: a word whose summary bit is clear
         * in a column is zero there, so the ANDs clear it */
        uint32_t g = lr__ctz64(m) & ~(LR_SCAN_GROUP - 1);
        uint32_t w0 = s * 64 + g;
        lr__v4 x = { ~(uint64_t)0, ~(uint64_t)0, ~(uint64_t)0, ~(uint64_t)0 };
        m &= ~((((uint64_t)1 << LR_SCAN_GROUP) - 1) << g);
        for (i = 0; i < nd; i++)
            LR_V4_AND(x, dw[i] + w0);
        for (i = 0; i < ns; i++) {
            const lr__xset *xi = &xs[i];
            lr__v4 d, p0, p1, p2, p3;
            memcpy(&d, xi->d + w0, sizeof d);
            memcpy(&p0, xi->p[0] + w0, sizeof p0);
            memcpy(&p1, xi->p[1] + w0, sizeof p1);
            memcpy(&p2, xi->p[2] + w0, sizeof p2);
            memcpy(&p3, xi->p[3] + w0, sizeof p3);
            x &= d ^ (p0 | p1 | p2 | p3);
        }
        if (!(x[0] | x[1] | x[2] | x[3]))
            continue;
        for (k = 0; k < LR_SCAN_GROUP; k++) {
            uint32_t w = w0 + k;
            uint64_t y = x[k];
            if (!y)
                continue;
            if (w + 1 >= t->nwords) {
                if (w >= t->nwords)
                    break; /* padding */
                if (t->nrules & 63)
                    y &= ((uint64_t)1 << (t->nrules & 63)) - 1;
            }
            for (i = 0; i < nx && y; i++)
                y &= lr__view_word(xv[i], w);
            for (; y; y &= y - 1) {
                r->hits[(*count)++] = w * 64 + lr__ctz64(y);
                if (first_only)
                    return 1;
            }
        }
    }
    return 0;
}

/* The blocks of 64 words where every dense column has a bit, in order: the
 * top words (a bit per summary word) skip the others without reading their
 * summaries. `skipping` 0: every block, every group (lr__scan_block). */
static inline __attribute__((always_inline)) void lr__scan_kernel(const leadroute_table *t, leadroute_result *r,
                                                                  const lr__plan *plan, int first_only,
                                                                  int skipping)
{
    const uint64_t **ds = r->dense_sums;
    uint32_t i, count = 0, nd = plan->nd, ns = plan->ns, ntop = lr__top_words(t->nsum), top;
    uint64_t lasttop = (t->nsum & 63) ? (((uint64_t)1 << (t->nsum & 63)) - 1) : ~(uint64_t)0;

    if (!skipping) {
        for (top = 0; top < t->nsum; top++)
            if (lr__scan_block(t, r, plan, top, &count, first_only, 0))
                break;
        r->count = count;
        return;
    }
    for (top = 0; top < ntop; top++) {
        uint64_t mt = top + 1 == ntop ? lasttop : ~(uint64_t)0;
        /* a few blocks are cheaper to look at than to skip */
        if (t->nsum > LR_SCAN_TOP_MIN) {
            for (i = 0; i < nd; i++)
                mt &= ds[i][t->nsum + top];
            for (i = 0; i < ns; i++)
                mt &= lr__xset_summary(&r->xsets[i], t->nsum + top);
        }
        for (; mt; mt &= mt - 1)
            if (lr__scan_block(t, r, plan, top * 64 + lr__ctz64(mt), &count, first_only, 1))
                goto done;
    }
done:
    r->count = count;
}

static void lr__scan_portable(const leadroute_table *t, leadroute_result *r, const lr__plan *plan, int first_only)
{
    lr__scan_kernel(t, r, plan, first_only, 1);
}

static void lr__scan_plain_portable(const leadroute_table *t, leadroute_result *r, const lr__plan *plan,
                                    int first_only)
{
    lr__scan_kernel(t, r, plan, first_only, 0);
}

#if LR_SCAN_AVX2
/* The same scan compiled for AVX2: a group of words is one register, so a
 * column costs one load-and-AND. Chosen at run time (lr__scan_pick). */
__attribute__((target("avx2"))) static void lr__scan_avx2(const leadroute_table *t, leadroute_result *r,
                                                          const lr__plan *plan, int first_only)
{
    lr__scan_kernel(t, r, plan, first_only, 1);
}

__attribute__((target("avx2"))) static void lr__scan_plain_avx2(const leadroute_table *t, leadroute_result *r,
                                                                const lr__plan *plan, int first_only)
{
    lr__scan_kernel(t, r, plan, first_only, 0);
}
#endif

int lr__scan_portable_only;

lr__scan_fn lr__scan_pick(int skipping)
{
#if LR_SCAN_AVX2
    __builtin_cpu_init();
    if (!lr__scan_portable_only && __builtin_cpu_supports("avx2"))
        return skipping ? lr__scan_avx2 : lr__scan_plain_avx2;
#endif
    return skipping ? lr__scan_portable : lr__scan_plain_portable;
}

int lr__eval_begin(const leadroute_table *t, const leadroute_lead *lead, leadroute_result *r)
{
    int rc;
    if (r) {
        r->count = 0;
        r->has_aggregates = 0;
        r->table = t;
    }
    if (!t || !lead || !r)
        return lr__error_set(LEADROUTE_EINVAL, "table, lead and result must not be NULL");
    if ((rc = lr__lead_check_header(lead)) != 0)
        return rc;
    if (!lr__result_fits(t, r))
        return lr__error_set(LEADROUTE_ERANGE,
                             "the result is too small for this table; call leadroute_result_reserve()");
    return LEADROUTE_OK;
}

/* Add a sparse view to the plan, rarest first. */
static inline void lr__plan_view(leadroute_result *r, lr__plan *plan, lr__view *v)
{
    uint32_t i;
    for (i = plan->nx; i > 0 && r->order[i - 1]->popcount > v->popcount; i--)
        r->order[i] = r->order[i - 1];
    r->order[i] = v;
    plan->nx++;
}

/* Add a scalar column's outcome to the plan. */
static inline __attribute__((always_inline)) void lr__plan_scalar(const leadroute_table *t, leadroute_result *r,
                                                                  lr__plan *plan, const lr__index *ix,
                                                                  uint32_t c, uint32_t oi)
{
    const lr__outcome *o = &ix->outcomes[oi];
    uint32_t pop = o->popcount;
    if (pop == t->nrules)
        return; /* every rule accepts: the column filters nothing */
    if (pop == 0) {
        plan->dead = 1;
        return;
    }
    if (o->nnz == LR_DENSE) {
        r->dense_words[plan->nd] = o->words;
        r->dense_sums[plan->nd] = o->summary;
        plan->nd++;
    } else {
        lr__view *v = &r->views[c];
        v->kind = LR_VIEW_SPARSE;
        v->popcount = pop;
        v->summary = ix->dsummary;
        v->words = ix->dwords;
        v->sparse = o;
        v->pos = 0;
        v->spos = 0;
        lr__plan_view(r, plan, v);
    }
}

/* Add a set column to the plan from the T parts of its items (in the
 * view's part list): D alone, an xset, or a view for sparse parts. */
static void lr__plan_set_parts(const leadroute_table *t, leadroute_result *r, lr__plan *plan, const lr__index *ix,
                               lr__view *v, uint32_t pop, uint32_t *parts_used)
{
    uint32_t i, dense = v->nparts <= LR_XSET_PARTS;
    if (v->nparts == 0) {
        /* just D, a dense column */
        if (ix->dpopcount == t->nrules)
            return;
        if (ix->dpopcount == 0) {
            plan->dead = 1;
            return;
        }
        r->dense_words[plan->nd] = ix->dwords;
        r->dense_sums[plan->nd] = ix->dsummary;
        plan->nd++;
        return;
    }
    for (i = 0; i < v->nparts; i++)
        dense &= v->parts[i]->nnz == LR_DENSE;
    if (dense) {
        lr__xset *x = &r->xsets[plan->ns++];
        x->d = ix->dwords;
        x->ds = ix->dsummary;
        for (i = 0; i < LR_XSET_PARTS; i++) {
            x->p[i] = i < v->nparts ? v->parts[i]->words : t->zeros;
            x->ps[i] = i < v->nparts ? v->parts[i]->summary : t->zeros;
        }
        return;
    }
    *parts_used += v->nparts;
    v->popcount = pop > t->nrules ? t->nrules : pop;
    lr__plan_view(r, plan, v);
}

/* Start a set column's part list in its view. */
static inline lr__view *lr__set_view(leadroute_result *r, const lr__index *ix, uint32_t c, uint32_t parts_used)
{
    lr__view *v = &r->views[c];
    v->kind = LR_VIEW_MULTI;
    v->words = ix->dwords;
    v->summary = ix->dsummary;
    v->parts = &r->parts[parts_used];
    v->part_pos = &r->part_pos[parts_used];
    v->part_spos = &r->part_spos[parts_used];
    v->nparts = 0;
    return v;
}

/* Add one item's T part, or the null outcome's when no item had text. */
static inline void lr__set_part(lr__view *v, const lr__outcome *o, uint32_t *pop)
{
    if (!o->popcount)
        return;
    v->part_pos[v->nparts] = 0;
    v->part_spos[v->nparts] = 0;
    v->parts[v->nparts++] = o;
    *pop += o->popcount;
}

/* A set column read by the general path (items trimmed and folded here). */
static void lr__plan_set(const leadroute_table *t, leadroute_result *r, lr__plan *plan, const lr__index *ix,
                         uint32_t c, const lr__input *in, uint32_t *parts_used)
{
    lr__view *v = lr__set_view(r, ix, c, *parts_used);
    uint32_t pop = ix->dpopcount, nonempty = 0, i;
    size_t n = in->kind == LR_IN_STR ? 1 : in->kind == LR_IN_SET ? in->nitems : 0;

    for (i = 0; i < n; i++) {
        const char *item = in->kind == LR_IN_STR ? in->str : in->items[i];
        size_t len;
        const char *s = lr__input_text(ix, item, in->kind == LR_IN_STR ? in->len : strlen(item), r->fold, &len);
        if (!len)
            continue;
        nonempty++;
        lr__set_part(v, &ix->outcomes[lr__index_lookup_text(ix, s, len)], &pop);
    }
    if (!nonempty)
        lr__set_part(v, &ix->outcomes[ix->null_outcome], &pop);
    lr__plan_set_parts(t, r, plan, ix, v, pop, parts_used);
}

/* ---- reading lead values without detours ---------------------------------- */

#define LR_HIGH_BITS 0x8080808080808080ull

/* lr__key_words of ASCII text, folded to lower case byte by byte: a byte
 * in 'A'..'Z' is the one for which exactly one of b + 0x3f and b + 0x25
 * reaches 0x80 (no byte below 0x80 carries into the next). */
static inline uint64_t lr__fold_word(uint64_t w)
{
    uint64_t upper = ((w + 0x3f3f3f3f3f3f3f3full) ^ (w + 0x2525252525252525ull)) & LR_HIGH_BITS;
    return w | (upper >> 2);
}

/* Outcome of a short text (n <= LR_SHORT_KEY) from its key words w0, w1,
 * folded for :ci: its key, else its longest prefix, whose words are the
 * text's masked to the prefix length. */
static inline __attribute__((always_inline)) uint32_t lr__lookup_short(const lr__index *ix, size_t n, uint64_t w0,
                                                                          uint64_t w1)
{
    uint32_t i;
    if (n == 0)
        return ix->null_outcome;
    if (ix->keys.count) {
        const lr__keymap_entry *e = lr__keymap_probe_short(&ix->keys, w0, w1, n);
        if (e->str)
            return e->outcome;
    }
    for (i = 0; i < ix->nprefix_lens; i++) {
        uint32_t len = ix->prefix_lens[i];
        const lr__keymap_entry *e;
        uint64_t p0, p1;
        if (len > n)
            continue;
        lr__key_prefix(w0, w1, len, &p0, &p1);
        e = lr__keymap_probe_short(&ix->prefixes, p0, p1, len);
        if (e->str)
            return e->outcome;
    }
    return ix->other_outcome;
}

/* Whether a lead's strings may be read by whole aligned words: on
 * little-endian targets, except under AddressSanitizer, which reports any
 * read of a heap block's unused tail, and ThreadSanitizer, which reports
 * one that shares a word with data another thread writes, whatever becomes
 * of the bytes. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define LR_WORD_READS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define LR_WORD_READS 0
#endif
#endif
#if !defined(LR_WORD_READS) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define LR_WORD_READS 1
#endif
#ifndef LR_WORD_READS
#define LR_WORD_READS 0
#endif

#if LR_WORD_READS
/* The masks of lr__key_words' w0 and w1 for a key of n bytes, n <= 16:
 * loaded, not computed, so that the compiler has no comparison to turn
 * back into a branch. */
/* k & 7 keeps the shift in range in the branch not taken, which some
 * compilers check too. */
#define LR_M(k) ((k) >= 8 ? ~(uint64_t)0 : ((uint64_t)1 << (8 * ((k) & 7))) - 1)
#define LR_M2(n) { LR_M(n), (n) > 8 ? LR_M((n) - 8) : 0 }
static const uint64_t lr__key_masks[LR_SHORT_KEY + 1][2] = {
    LR_M2(0), LR_M2(1), LR_M2(2), LR_M2(3), LR_M2(4), LR_M2(5), LR_M2(6), LR_M2(7), LR_M2(8),
    LR_M2(9), LR_M2(10), LR_M2(11), LR_M2(12), LR_M2(13), LR_M2(14), LR_M2(15), LR_M2(16),
};
#undef LR_M2
#undef LR_M
#endif

/* lr__key_words of a string of n <= LR_SHORT_KEY bytes whose NUL is at
 * s[n], without a branch on n. Branching on the length class (under 4,
 * under 8, 8 or more) costs a mispredicted branch for most values of a
 * column whose lengths vary, such as product names or the postal codes of
 * several countries. Here the aligned words holding s[0..n] are read
 * whole, shifted into place and masked to n bytes. An aligned word never
 * straddles a page, and the next word is read only when the string reaches
 * into it (its address is selected, not branched on), so no read can fault;
 * memcheck accepts such reads of a block's last word (--partial-loads-ok,
 * its default), and the bytes past the string are masked off before use. */
static inline void lr__cstr_words(const char *s, size_t n, uint64_t *w0, uint64_t *w1)
{
#if LR_WORD_READS
    size_t off = (uintptr_t)s & 7, end = off + n; /* end: the NUL's offset from p, 0..23 */
    const char *p = (const char *)((uintptr_t)s - off);
    unsigned sh = (unsigned)(8 * off);
    /* the word holding byte 8 of p if the string reaches it, else word 0;
     * the word holding the NUL */
    uint64_t x0 = lr__load64(p), x1 = lr__load64(p + 8 * ((end + 56) >> 6)), x2 = lr__load64(p + 8 * (end >> 3));
    /* (x << 1) << (63 - sh): x << (64 - sh) with no shift by 64 */
    *w0 = ((x0 >> sh) | ((x1 << 1) << (63 - sh))) & lr__key_masks[n][0];
    *w1 = ((x1 >> sh) | ((x2 << 1) << (63 - sh))) & lr__key_masks[n][1];
#else
    lr__key_words(s, n, w0, w1);
#endif
}

/* The outcome of a string as the lead gave it, read once: its length, its
 * key words (folded for :ci), the lookup. Returns 0 for what the general
 * path must read and check: non-ASCII text, blanks to trim, too long. */
static inline __attribute__((always_inline)) int lr__text_outcome(const lr__index *ix, const char *s, char *fold, uint32_t *oi)
{
    size_t n = strnlen(s, LEADROUTE_MAX_STRING + 1), i;
    if (n <= LR_SHORT_KEY) {
        uint64_t w0, w1;
        lr__cstr_words(s, n, &w0, &w1);
        if (((w0 | w1) & LR_HIGH_BITS) || (n && ((unsigned char)s[0] <= ' ' || (unsigned char)s[n - 1] <= ' ')))
            return 0;
        if (ix->folded) {
            w0 = lr__fold_word(w0);
            w1 = lr__fold_word(w1);
        }
        *oi = lr__lookup_short(ix, n, w0, w1);
        return 1;
    }
    if (n > LEADROUTE_MAX_STRING || (unsigned char)s[0] <= ' ' || (unsigned char)s[n - 1] <= ' ')
        return 0;
    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80)
            return 0;
    if (ix->folded) {
        lr__fold(s, n, fold);
        s = fold;
    }
    *oi = lr__index_lookup_text(ix, s, n);
    return 1;
}

/* A set value of ASCII items: its parts straight into the plan. Returns 0
 * (having planned nothing) for what the general path must read. */
static int lr__fast_set(const leadroute_table *t, leadroute_result *r, lr__plan *plan, const lr__index *ix,
                        uint32_t c, const leadroute_value *val, uint32_t *parts_used)
{
    lr__view *v;
    uint32_t pop = ix->dpopcount, nonempty = 0, oi;
    size_t i;
    if (val->item_count > LEADROUTE_MAX_SET_ITEMS || (val->item_count && !val->items))
        return 0;
    v = lr__set_view(r, ix, c, *parts_used);
    for (i = 0; i < val->item_count; i++) {
        if (!val->items[i])
            return 0;
        if (!val->items[i][0])
            continue; /* an empty item */
        if (!lr__text_outcome(ix, val->items[i], r->fold, &oi))
            return 0;
        nonempty++;
        lr__set_part(v, &ix->outcomes[oi], &pop);
    }
    if (!nonempty)
        lr__set_part(v, &ix->outcomes[ix->null_outcome], &pop);
    lr__plan_set_parts(t, r, plan, ix, v, pop, parts_used);
    return 1;
}

/* A column the fast forms do not cover, read and checked by lr__input_get:
 * fields out of place or under other name pointers, other struct versions,
 * strings to trim or of other types, non-ASCII text, bad values. Once a
 * column accepted no rule, the rest are only checked. Kept out of line, so
 * that the evaluation loop keeps its variables in registers. */
__attribute__((noinline, cold)) static int lr__general_column(const leadroute_table *t, const leadroute_lead *lead,
                                                               leadroute_result *r, lr__plan *plan, uint32_t c,
                                                               uint32_t *parts_used)
{
    const lr__index *ix = &t->index[c];
    lr__input in;
    uint32_t oi;
    int rc;

    if ((rc = lr__input_get(t, lead, c, &in)) != 0 || plan->dead)
        return rc;
    if (ix->type == LEADROUTE_TYPE_SET) {
        lr__plan_set(t, r, plan, ix, c, &in, parts_used);
        return LEADROUTE_OK;
    }
    if (in.kind == LR_IN_NULL) {
        oi = ix->null_outcome;
    } else if (in.kind == LR_IN_NUM) {
        oi = lr__index_lookup_number(ix, in.num);
    } else {
        size_t len;
        const char *s = lr__input_text(ix, in.str, in.len, r->fold, &len);
        oi = lr__index_lookup_text(ix, s, len);
    }
    lr__plan_scalar(t, r, plan, ix, c, oi);
    return LEADROUTE_OK;
}

enum { LR_EVAL_FULL, LR_EVAL_PLAN_ONLY, LR_EVAL_PLAIN };

/* The common shapes are read inline, without the general checks' detours:
 * a field at its column's position under the table's own name pointer,
 * holding a short ASCII string, a finite number, null, or a set, of the
 * column's type. Invariants live in locals: the stores into the result
 * could alias the table and the lead as far as the compiler knows.
 * `mode` LR_EVAL_PLAN_ONLY stops after planning and LR_EVAL_PLAIN scans
 * without skipping: the benchmark's two measures of what the rest costs. */
static int lr__eval(const leadroute_table *t, const leadroute_lead *lead, leadroute_result *r, int mode)
{
    lr__plan plan = { 0, 0, 0, 0 };
    const leadroute_field *fields;
    const lr__column *inputs;
    const lr__index *ix;
    const uint64_t **dw, **ds;
    char *fold;
    uint32_t c, n, nfast, nrules, nd = 0, parts_used = 0;
    int rc;

    if ((rc = lr__eval_begin(t, lead, r)) != 0)
        return rc;
    fields = lead->fields;
    inputs = t->inputs;
    ix = t->index;
    n = t->ninputs;
    nrules = t->nrules;
    nfast = lead->field_count < n ? (uint32_t)lead->field_count : n;
    dw = r->dense_words;
    ds = r->dense_sums;
    fold = r->fold;
    for (c = 0; c < n; c++, ix++) {
        const lr__outcome *o;
        uint32_t oi;
        if (c < nfast && fields[c].name == inputs[c].name && fields[c].value.version == LEADROUTE_VALUE_VERSION) {
            const leadroute_value *v = &fields[c].value;
            if (v->type == LEADROUTE_VALUE_STRING) {
                if (ix->type == LEADROUTE_TYPE_STRING && v->string && lr__text_outcome(ix, v->string, fold, &oi))
                    goto scalar;
            } else if (v->type == LEADROUTE_VALUE_NUMBER) {
                if (ix->type == LEADROUTE_TYPE_NUMBER && isfinite(v->number)) {
                    oi = lr__index_lookup_number(ix, v->number);
                    goto scalar;
                }
            } else if (v->type == LEADROUTE_VALUE_SET) {
                plan.nd = nd;
                if (ix->type == LEADROUTE_TYPE_SET && lr__fast_set(t, r, &plan, ix, c, v, &parts_used)) {
                    nd = plan.nd;
                    continue;
                }
            } else if (v->type == LEADROUTE_VALUE_NULL && ix->type != LEADROUTE_TYPE_SET) {
                oi = ix->null_outcome;
                goto scalar;
            }
        }
        plan.nd = nd;
        rc = lr__general_column(t, lead, r, &plan, c, &parts_used);
        nd = plan.nd;
        if (rc)
            return rc;
        continue;
    scalar:
        o = &ix->outcomes[oi];
        if (o->popcount == nrules)
            continue; /* every rule accepts: the column filters nothing */
        if (o->nnz == LR_DENSE && o->popcount) {
            dw[nd] = o->words;
            ds[nd] = o->summary;
            nd++;
            continue;
        }
        plan.nd = nd;
        lr__plan_scalar(t, r, &plan, ix, c, oi);
        nd = plan.nd;
    }
    plan.nd = nd;
    if (mode == LR_EVAL_PLAN_ONLY)
        return LEADROUTE_OK;
    if (!plan.dead && nrules)
        (mode == LR_EVAL_PLAIN ? t->scan_plain : t->scan)(t, r, &plan, t->hit_policy == LEADROUTE_HIT_FIRST);
    return lr__apply_policy(t, r);
}

int leadroute_table_eval(const leadroute_table *t, const leadroute_lead *lead, leadroute_result *r)
{
    return lr__eval(t, lead, r, LR_EVAL_FULL);
}

int lr__table_eval_plan_only(const leadroute_table *t, const leadroute_lead *lead, leadroute_result *r)
{
    return lr__eval(t, lead, r, LR_EVAL_PLAN_ONLY);
}

int lr__table_eval_plain(const leadroute_table *t, const leadroute_lead *lead, leadroute_result *r)
{
    return lr__eval(t, lead, r, LR_EVAL_PLAIN);
}

/* ---- hit policies ------------------------------------------------------ */

static void lr__sort_by_priority(const leadroute_table *t, uint32_t *h, uint32_t n)
{
    /* heap sort on prio_order: in place, no allocation */
    const uint32_t *key = t->prio_order;
    uint32_t start, end;
    if (n < 2)
        return;
    for (start = n / 2; start-- > 0;) {
        uint32_t root = start;
        for (;;) {
            uint32_t child = 2 * root + 1, tmp;
            if (child >= n)
                break;
            if (child + 1 < n && key[h[child]] < key[h[child + 1]])
                child++;
            if (key[h[root]] >= key[h[child]])
                break;
            tmp = h[root], h[root] = h[child], h[child] = tmp;
            root = child;
        }
    }
    for (end = n - 1; end > 0; end--) {
        uint32_t tmp = h[0], root = 0;
        h[0] = h[end], h[end] = tmp;
        for (;;) {
            uint32_t child = 2 * root + 1;
            if (child >= end)
                break;
            if (child + 1 < end && key[h[child]] < key[h[child + 1]])
                child++;
            if (key[h[root]] >= key[h[child]])
                break;
            tmp = h[root], h[root] = h[child], h[child] = tmp;
            root = child;
        }
    }
}

/* The sum of output j over the hits when adding them in order passed the
 * range of a double on the way: the same additions on values 2^-23 as
 * large (not even the 4,000,000 rules of a table can overflow), which
 * round as the plain ones would but for values that become subnormal
 * (below about 1e-301), so that passing the range on the way is no error;
 * infinite only when the sum itself is too large. */
static double lr__sum_scaled(const leadroute_table *t, const leadroute_result *r, uint32_t j)
{
    double sum = 0;
    uint32_t i;
    for (i = 0; i < r->count; i++) {
        const leadroute_value *v = lr__rule_output(t, r->hits[i], j);
        if (v->type == LEADROUTE_VALUE_NUMBER)
            sum += ldexp(v->number, -23);
    }
    return ldexp(sum, 23);
}

static int lr__aggregate(const leadroute_table *t, leadroute_result *r)
{
    uint32_t j, i;
    for (j = 0; j < t->noutputs; j++) {
        leadroute_value *a = &r->aggregates[j];
        memset(a, 0, sizeof *a);
        a->version = LEADROUTE_VALUE_VERSION;
        a->type = LEADROUTE_VALUE_NULL;
        if (t->aggregation == LEADROUTE_AGG_COUNT) {
            uint32_t distinct = 0;
            if (++r->stamp == 0) {
                memset(r->stamps, 0, sizeof *r->stamps * r->cap_stamps);
                r->stamp = 1;
            }
            for (i = 0; i < r->count; i++) {
                uint32_t id = t->value_ids[j][r->hits[i]];
                if (id != UINT32_MAX && r->stamps[id] != r->stamp) {
                    r->stamps[id] = r->stamp;
                    distinct++;
                }
            }
            a->type = LEADROUTE_VALUE_NUMBER;
            a->number = distinct;
            continue;
        }
        for (i = 0; i < r->count; i++) {
            const leadroute_value *v = lr__rule_output(t, r->hits[i], j);
            if (v->type != LEADROUTE_VALUE_NUMBER)
                continue;
            if (a->type == LEADROUTE_VALUE_NULL) {
                a->type = LEADROUTE_VALUE_NUMBER;
                a->number = v->number;
            } else if (t->aggregation == LEADROUTE_AGG_SUM) {
                a->number += v->number;
            } else if (t->aggregation == LEADROUTE_AGG_MIN ? v->number < a->number : v->number > a->number) {
                a->number = v->number;
            }
        }
        if (t->aggregation == LEADROUTE_AGG_SUM && a->type == LEADROUTE_VALUE_NUMBER && !isfinite(a->number) &&
            !isfinite(a->number = lr__sum_scaled(t, r, j))) {
            /* an error leaves no hits, as documented */
            r->count = 0;
            return lr__error_set(LEADROUTE_ERANGE, "the sum of output '%s' is too large for a double",
                                 t->outputs[j].name);
        }
    }
    r->has_aggregates = 1;
    return LEADROUTE_OK;
}

int lr__apply_policy(const leadroute_table *t, leadroute_result *r)
{
    uint32_t i, j, best;
    switch (t->hit_policy) {
    case LEADROUTE_HIT_FIRST:
        if (r->count > 1)
            r->count = 1;
        return LEADROUTE_OK;
    case LEADROUTE_HIT_UNIQUE:
        if (r->count > 1)
            return lr__error_set(LEADROUTE_EHITPOLICY,
                                 "hit policy unique: %u rules match this lead ('%s' and '%s'%s)", r->count,
                                 t->rules[r->hits[0]].id, t->rules[r->hits[1]].id, r->count > 2 ? ", ..." : "");
        return LEADROUTE_OK;
    case LEADROUTE_HIT_ANY:
        for (i = 1; i < r->count; i++)
            for (j = 0; j < t->noutputs; j++)
                if (t->value_ids[j][r->hits[i]] != t->value_ids[j][r->hits[0]])
                    return lr__error_set(LEADROUTE_EHITPOLICY,
                                         "hit policy any: rules '%s' and '%s' both match but give different '%s'",
                                         t->rules[r->hits[0]].id, t->rules[r->hits[i]].id, t->outputs[j].name);
        if (r->count > 1)
            r->count = 1;
        return LEADROUTE_OK;
    case LEADROUTE_HIT_PRIORITY:
        if (r->count > 1) {
            best = r->hits[0];
            for (i = 1; i < r->count; i++)
                if (t->prio_order[r->hits[i]] < t->prio_order[best])
                    best = r->hits[i];
            r->hits[0] = best;
            r->count = 1;
        }
        return LEADROUTE_OK;
    case LEADROUTE_HIT_OUTPUT_ORDER:
        lr__sort_by_priority(t, r->hits, r->count);
        return LEADROUTE_OK;
    case LEADROUTE_HIT_RULE_ORDER:
        return LEADROUTE_OK;
    case LEADROUTE_HIT_COLLECT:
        if (t->aggregation != LEADROUTE_AGG_NONE)
            return lr__aggregate(t, r);
        return LEADROUTE_OK;
    default:
        return lr__error_set(LEADROUTE_EINVAL, "unknown hit policy %u", t->hit_policy);
    }
}

/* ---- reference evaluator -------------------------------------------------- */

int lr__atom_match_text(const lr__atom *a, const char *s, size_t len)
{
    if (a->kind == LR_ATOM_EQ)
        return a->len == len && memcmp(a->str, s, len) == 0;
    if (a->kind == LR_ATOM_PREFIX)
        return a->len <= len && memcmp(a->str, s, a->len) == 0;
    return 0;
}

int lr__atom_match_number(const lr__atom *a, double x)
{
    if (a->kind != LR_ATOM_RANGE)
        return 0;
    if (a->has_lo && (a->lo_open ? !(x > a->lo) : !(x >= a->lo)))
        return 0;
    if (a->has_hi && (a->hi_open ? !(x < a->hi) : !(x <= a->hi)))
        return 0;
    return 1;
}
