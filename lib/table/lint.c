/* Lint: findings about the table as a whole, computed on the compiled index.
 *
 * Each column splits lead values into classes (the index outcomes); all
 * values of a class select the same rules. Reasoning over classes is exact
 * for scalar columns. In a set column a class is one item, and a lead holds
 * a set of them: a positive cell accepts it when some item passes, a
 * negated one when none does. The searches below choose such sets (see
 * lr__search_set), so findings are exact there too.
 */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bitset.h"
#include "base/error.h"
#include "base/value.h"
#include "table/internal.h"

/* Work bounds: lint never takes more than a few seconds on huge tables.
 * The pairwise checks share one budget of words of bitset work; the
 * no-match search has one of its own, and a bound on its steps. */
#define LR_LINT_WORD_BUDGET ((uint64_t)1000000000u)
#define LR_LINT_DFS_NODES 4096u
#define LR_LINT_MAX_DIAGS 1000u  /* findings kept; notices come beside them */
/* Frames of the set search nest one per item picked (and one per set
 * column): at most this many items (two full sets) along one path, which
 * keeps lint's stack use small. */
#define LR_LINT_SET_ITEMS (2u * LEADROUTE_MAX_SET_ITEMS)

/* Answers of the search. */
enum { LR_S_NONE = 0, LR_S_FOUND = 1, LR_S_CUT = -1, LR_S_ERROR = -2 };

/* Which bound cut a search short, so that its notice names that one; and
 * (LR_CUT_UNNAMED, for notices only) a conclusion lint could not draw, as
 * it found no value for some values of a column (see lr__unnamed_fold). */
enum { LR_CUT_STEPS = 1, LR_CUT_WORDS = 2, LR_CUT_ITEMS = 3, LR_CUT_UNNAMED = 4 };

size_t lr__lint_scratch_bytes = (size_t)64 << 20;
uint32_t lr__lint_nomatch_steps = 262144u;
uint64_t lr__lint_pairwise_words = LR_LINT_WORD_BUDGET;
uint64_t lr__lint_nomatch_words = LR_LINT_WORD_BUDGET;
size_t lr__lint_memo_bytes = (size_t)32 << 20;

typedef struct lr__class {
    uint32_t outcome;
    const char *value;      /* representative, NULL = missing */
    uint64_t *bits;         /* final column bitset of the class; NULL once lint's memory
                               bound is reached: then read from the outcome (lr__class_word) */
} lr__class;

typedef struct lr__lcol {
    lr__class *classes;
    uint32_t nclasses;
    uint8_t *seen;          /* per outcome: already a class */
    uint8_t *unnamed;       /* per outcome: lint found no value for it (NULL if none) */
    uint32_t *unnamed_out, nunnamed; /* the outcomes of such classes, none of whose values it found */
    uint64_t *all;          /* rules in every class of the column */
    uint64_t *nset;         /* set columns: rules with a negated cell */
    uint64_t *items;        /* set columns: positive cells that accept some item */
    uint64_t *itemall;      /* set columns: rules that accept every item class */
    uint32_t *held, *held_at; /* classes holding each rule of a positive cell: held[held_at[r]
                                 .. held_at[r + 1]] (NULL when too many to keep) */
    uint32_t *every;        /* 0 .. nclasses - 1: the classes to test for other rules */
} lr__lcol;

typedef struct lr__linter {
    leadroute_table *t;
    const lr__alloc *a;
    lr__lcol *cols;
    lr__diag *diags;
    uint32_t ndiags, cap_diags;
    uint32_t nfindings;     /* diagnostics that are findings, at most LR_LINT_MAX_DIAGS */
    uint64_t dropped;       /* findings past those (overlapping pairs may be billions) */
    uint32_t dropped_rule;  /* the rule of the first of them */
    uint64_t budget;
    uint64_t **stack;       /* search: rules alive at each depth, one bitset per depth */
    uint64_t **rest;        /* search: per depth, the rules that accept every class of
                               the columns from there on (rest[ninputs]: every rule) */
    uint32_t nodes, limit;  /* search: nodes visited, and the most it may visit */
    int cut;                /* search: the LR_CUT_* bound that stopped it, 0 if none */
    uint32_t nw;            /* search: words of the rule bitsets in play */
    uint32_t j;             /* search: the rule the lead must match, UINT32_MAX for none */
    uint32_t *order;        /* search: column order */
    uint32_t **pick;        /* classes chosen per column: one, or a set's items */
    uint32_t *npick;
    uint64_t *sorted;       /* search: classes of each depth by survivors */
    uint64_t **pool;        /* set search: bitsets of its frames, taken in stack order */
    uint32_t npool, cap_pool, pool_used, items; /* items: picked by the set search's frames on the path */
    uint32_t *widx;         /* forward check: the words of a node's alive rules */
    uint64_t *fpre, *fneed, *facc; /* forward check: its bitsets, over those words */
    uint32_t *hint;         /* forward check: per column, the class that last sufficed */
    uint64_t *memo_keys;    /* refuted states: hash per slot (0 = empty) */
    uint64_t **memo_sets;   /* their depth and alive rules */
    uint32_t memo_mask, memo_count;
    size_t memo_bytes;      /* what the memo holds: its table and memo_arena's chunks */
    lr__arena memo_arena;   /* the refuted states */
    int rc;                 /* an error inside the search */
    uint32_t unnamed_col, unnamed_cols; /* the first column with a class lint found no value for,
                                           UINT32_MAX if none, and how many such columns */
    uint64_t *unnamed;      /* rules that share such a class with an earlier rule (NULL if none);
                               the overlap check keeps those it could not compare on it */
    uint64_t *uboth, *uacc; /* overlap check: its bitsets with those classes counted */
    lr__arena scratch;      /* class bitsets and values, freed after lint */
    uint64_t *tmp;          /* a bitset built from an outcome (lr__class_bits) */
} lr__linter;

static char *lr__fmt(lr__linter *L, const char *fmt, ...) LR__PRINTF(2, 3);
/* A message: one line, as error messages are (a witness value holding a
 * line break or a terminal escape shows it as \xNN), cut to 2 KiB on a
 * character with "..." when longer (a long witness: the diagnostic's
 * witness holds it whole). A text cut at `raw` is longer than `buf` can
 * hold, so lr__message_clean ends it with "..." too. */
static char *lr__fmt(lr__linter *L, const char *fmt, ...)
{
    char raw[4096], buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    lr__message_clean(buf, sizeof buf, raw);
    return lr__arena_strndup(&L->t->arena, buf, strlen(buf));
}

/* Notices say what lint could not tell or did not keep: the cap on
 * findings never drops one, or nothing would say so. */
static int lr__is_notice(uint32_t kind)
{
    return leadroute_diagnostic_is_notice(kind) == 1;
}

/* The findings are all kept: count the next ones (lr__drop) rather than
 * build their messages and witnesses. */
static int lr__full(const lr__linter *L)
{
    return L->nfindings >= LR_LINT_MAX_DIAGS;
}

/* `n` findings past the cap, the first about `rule` (UINT32_MAX: none). */
static void lr__drop(lr__linter *L, uint32_t rule, uint32_t n)
{
    if (!L->dropped)
        L->dropped_rule = rule;
    L->dropped += n;
}

static int lr__add_diag(lr__linter *L, uint32_t kind, uint32_t rule, uint32_t other, const char *witness,
                        const char *message)
{
    int rc;
    if (!message)
        return lr__error_nomem();
    if (!lr__is_notice(kind) && lr__full(L)) {
        lr__drop(L, rule, 1);
        return LEADROUTE_OK;
    }
    if ((rc = lr__vec_reserve(L->a, (void **)&L->diags, &L->cap_diags, (size_t)L->ndiags + 1, sizeof *L->diags)) != 0)
        return rc;
    L->diags[L->ndiags].kind = kind;
    L->diags[L->ndiags].rule = rule;
    L->diags[L->ndiags].other = other;
    L->diags[L->ndiags].witness = witness;
    L->diags[L->ndiags].message = message;
    L->ndiags++;
    L->nfindings += !lr__is_notice(kind);
    return LEADROUTE_OK;
}

static inline void lr__spend(lr__linter *L, uint64_t work)
{
    L->budget = L->budget > work ? L->budget - work : 0;
}

/* "file:12: " or "" for built tables; a long path shows its end, so that
 * the place fits the callers' 300 bytes whole */
static void lr__where(const leadroute_table *t, uint32_t rule, char *buf, size_t cap)
{
    const char *dots, *shown = t->file ? lr__path_tail(t->file, &dots) : NULL;
    if (t->file && rule != UINT32_MAX && t->rules[rule].line)
        snprintf(buf, cap, "%s%s:%u: ", dots, shown, t->rules[rule].line);
    else if (t->file)
        snprintf(buf, cap, "%s%s: ", dots, shown);
    else
        buf[0] = '\0';
}

/* ---- classes and their representatives ------------------------------------ */

/* A number strictly between lo and hi (lo < hi; one of them may be
 * infinite) that reads well in a witness: the whole number just past the
 * finite bound (79 for < 80, 86 for (85..90), 92 for > 90.5), else the
 * midpoint in as few significant digits as stay inside (0.15 for
 * (0.1..0.2), 2e+20 for > 1e20), else the next double. */
static double lr__round_inside(double lo, double hi)
{
    double x = isinf(lo) ? floor(hi) - 1 : isinf(hi) ? ceil(lo) + 1 : floor(lo) + 1, a = lo, b = hi, mid;
    char buf[64];
    int precision;
    if (x > lo && x < hi)
        return x;
    /* an open side gets a far end, on the same side of zero, and finite:
     * twice a bound past DBL_MAX / 2 would make the midpoint infinite */
    if (isinf(a))
        a = b > 0 ? b / 2 : b < -DBL_MAX / 2 ? -DBL_MAX : b < 0 ? b * 2 : -1;
    if (isinf(b))
        b = a > DBL_MAX / 2 ? DBL_MAX : a > 0 ? a * 2 : a < 0 ? a / 2 : 1;
    mid = a / 2 + b / 2;
    for (precision = 1; precision <= 17; precision++) {
        snprintf(buf, sizeof buf, "%.*g", precision, mid);
        x = strtod(buf, NULL);
        if (x > lo && x < hi)
            return x;
    }
    return isinf(lo) ? nextafter(hi, -DBL_MAX) : nextafter(lo, hi);
}

/* The final column bitset of outcome `o` into w (nwords): a scalar dense
 * outcome is it; a sparse one, and a set item's, is D ^ T. */
static void lr__materialise_into(const leadroute_table *t, const lr__index *ix, const lr__outcome *o, uint64_t *w)
{
    uint32_t i;
    if (o->nnz == LR_DENSE && ix->type != LEADROUTE_TYPE_SET) {
        memcpy(w, o->words, sizeof *w * t->nwords);
        return;
    }
    memcpy(w, ix->dwords, sizeof *w * t->nwords);
    if (o->nnz == LR_DENSE)
        for (i = 0; i < t->nwords; i++)
            w[i] ^= o->words[i];
    else
        for (i = 0; i < o->nnz; i++)
            w[o->idx[i]] ^= o->words[i];
}

/* Word i of class k of column c, from its bitset or its outcome. */
static uint64_t lr__class_word(const lr__linter *L, uint32_t c, const lr__class *k, uint32_t i)
{
    const lr__index *ix = &L->t->index[c];
    const lr__outcome *o = &ix->outcomes[k->outcome];
    uint32_t lo = 0, hi;
    if (k->bits)
        return k->bits[i];
    if (o->nnz == LR_DENSE)
        return ix->type == LEADROUTE_TYPE_SET ? ix->dwords[i] ^ o->words[i] : o->words[i];
    for (hi = o->nnz; lo < hi;) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (o->idx[mid] < i)
            lo = mid + 1;
        else
            hi = mid;
    }
    return ix->dwords[i] ^ (lo < o->nnz && o->idx[lo] == i ? o->words[lo] : 0);
}

static int lr__class_bit(const lr__linter *L, uint32_t c, const lr__class *k, uint32_t rule)
{
    return (int)((lr__class_word(L, c, k, rule >> 6) >> (rule & 63)) & 1);
}

/* Class k's bitset: kept, else built into L->tmp (valid until the next call). */
static const uint64_t *lr__class_bits(const lr__linter *L, uint32_t c, const lr__class *k)
{
    if (k->bits)
        return k->bits;
    lr__materialise_into(L->t, &L->t->index[c], &L->t->index[c].outcomes[k->outcome], L->tmp);
    return L->tmp;
}

static int lr__class_add(lr__linter *L, lr__lcol *col, const lr__index *ix, uint32_t outcome, const char *value,
                         uint32_t *cap)
{
    lr__class *k;
    int rc;
    if (col->seen[outcome])
        return LEADROUTE_OK;
    col->seen[outcome] = 1;
    if ((rc = lr__vec_reserve(L->a, (void **)&col->classes, cap, (size_t)col->nclasses + 1, sizeof *col->classes)) != 0)
        return rc;
    k = &col->classes[col->nclasses++];
    k->outcome = outcome;
    k->value = value;
    k->bits = NULL;
    /* bitsets are kept while they fit lint's memory; later classes are
     * read from their outcomes, more slowly */
    if (L->scratch.total + sizeof *k->bits * L->t->nwords <= lr__lint_scratch_bytes) {
        if (!(k->bits = lr__arena_alloc(&L->scratch, sizeof *k->bits * L->t->nwords)))
            return lr__error_nomem();
        lr__materialise_into(L->t, ix, &ix->outcomes[outcome], k->bits);
    }
    return LEADROUTE_OK;
}

/* A text value of the class `want`: the base plus a suffix, or "other".
 * A :ci column's keys are folded, and so is a lead's value before it is
 * looked up: so is the candidate, else "Az-other" would look like no key
 * while a lead giving it lands in the class of a* (the witness is given
 * folded, which a lead may give as well). */
static const char *lr__text_for(lr__linter *L, const lr__index *ix, const char *base, uint32_t len, uint32_t want)
{
    static const char *suffixes[] = { "", "0", "1", "9", "x", "z", "~", "-other", "_0", "~~other" };
    char buf[LEADROUTE_MAX_STRING + 16], folded[LEADROUTE_MAX_STRING + 16];
    size_t i;
    if (len > LEADROUTE_MAX_STRING)
        return NULL;
    for (i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        size_t n = (size_t)snprintf(buf, sizeof buf, "%.*s%s", (int)len, base, suffixes[i]), trimmed = n;
        const char *start = buf;
        /* a lead's values are trimmed: a blank at either end would make a
         * witness that does not do what its finding says */
        lr__trim(&start, &trimmed);
        if (n == 0 || n > LEADROUTE_MAX_STRING || trimmed != n)
            continue;
        if (ix->folded) {
            lr__fold(buf, n, folded);
            memcpy(buf, folded, n);
        }
        if (lr__index_lookup_text(ix, buf, n) == want)
            return lr__arena_strndup(&L->scratch, buf, n);
    }
    return NULL;
}

/* The AND (`all` 1) or the OR of the bitsets of every class of column c,
 * the missing one too if `missing`, into out. Classes read from sparse
 * outcomes cost their few words, not the whole bitset: each is D but
 * where its T has words, so D counts wherever some such class has none. */
static int lr__classes_fold(lr__linter *L, uint32_t c, int all, int missing, uint64_t *out)
{
    const leadroute_table *t = L->t;
    const lr__index *ix = &t->index[c];
    const lr__lcol *col = &L->cols[c];
    uint32_t *count = NULL, nsparse = 0, k, i, p;
    uint64_t *acc = NULL;
    for (i = 0; i < t->nwords; i++)
        out[i] = all ? ~(uint64_t)0 : 0;
    for (k = 0; k < col->nclasses; k++) {
        const lr__class *cl = &col->classes[k];
        const lr__outcome *o = &ix->outcomes[cl->outcome];
        if (!missing && cl->outcome == ix->null_outcome)
            continue;
        if (cl->bits || o->nnz == LR_DENSE) {
            const uint64_t *b = lr__class_bits(L, c, cl);
            for (i = 0; i < t->nwords; i++)
                out[i] = all ? out[i] & b[i] : out[i] | b[i];
            continue;
        }
        if (!count) {
            count = lr__arena_zalloc(&L->scratch, sizeof *count * t->nwords);
            acc = lr__arena_alloc(&L->scratch, sizeof *acc * t->nwords);
            if (!count || !acc)
                return lr__error_nomem();
            for (i = 0; i < t->nwords; i++)
                acc[i] = all ? ~(uint64_t)0 : 0;
        }
        nsparse++;
        for (p = 0; p < o->nnz; p++) {
            uint32_t w = o->idx[p];
            uint64_t x = ix->dwords[w] ^ o->words[p];
            count[w]++;
            acc[w] = all ? acc[w] & x : acc[w] | x;
        }
    }
    for (i = 0; nsparse && i < t->nwords; i++) {
        uint64_t x = count[i] < nsparse ? (all ? acc[i] & ix->dwords[i] : acc[i] | ix->dwords[i]) : acc[i];
        out[i] = all ? out[i] & x : out[i] | x;
    }
    return LEADROUTE_OK;
}

/* Each rule of a positive cell (not any, not negated) that class k holds,
 * counted (count[r]++) or, in the second pass, written at fill[r]: such
 * rules are outside D, so a sparse class holds them only in its T words. */
static void lr__class_rules(const lr__linter *L, uint32_t c, const lr__class *k, uint32_t *count, uint32_t *fill,
                            uint32_t kidx)
{
    const leadroute_table *t = L->t;
    const lr__index *ix = &t->index[c];
    const lr__outcome *o = &ix->outcomes[k->outcome];
    int sparse = !k->bits && o->nnz != LR_DENSE;
    uint32_t n = sparse ? o->nnz : t->nwords, p;
    for (p = 0; p < n; p++) {
        uint32_t w = sparse ? o->idx[p] : p;
        uint64_t x = (sparse ? o->words[p] : lr__class_word(L, c, k, w)) & ~ix->dwords[w];
        for (; x; x &= x - 1) {
            uint32_t r = w * 64 + lr__ctz64(x);
            if (fill)
                L->cols[c].held[fill[r]++] = kidx;
            else
                count[r]++;
        }
    }
}

/* Index the classes holding each rule of a positive cell, so that the
 * shadow and overlap checks visit those classes rather than test every
 * class of a column of thousands of keys. Kept while it fits 16 M entries. */
static int lr__classes_index(lr__linter *L, uint32_t c)
{
    const leadroute_table *t = L->t;
    lr__lcol *col = &L->cols[c];
    uint32_t k, r, *fill;
    uint64_t total = 0;
    if (!(col->every = lr__arena_alloc(&L->scratch, sizeof *col->every * (col->nclasses + 1))))
        return lr__error_nomem();
    for (k = 0; k < col->nclasses; k++)
        col->every[k] = k;
    if (!(col->held_at = lr__arena_zalloc(&L->scratch, sizeof *col->held_at * (t->nrules + 1))))
        return lr__error_nomem();
    for (k = 0; k < col->nclasses; k++)
        lr__class_rules(L, c, &col->classes[k], col->held_at + 1, NULL, k);
    for (r = 0; r < t->nrules; r++)
        total += col->held_at[r + 1];
    if (total > (uint64_t)16 << 20) {
        col->held_at = NULL;
        return LEADROUTE_OK;
    }
    for (r = 0; r < t->nrules; r++)
        col->held_at[r + 1] += col->held_at[r];
    col->held = lr__arena_alloc(&L->scratch, sizeof *col->held * (total ? total : 1));
    fill = lr__calloc(L->a, t->nrules + 1, sizeof *fill);
    if (!col->held || !fill) {
        lr__free(L->a, fill);
        return lr__error_nomem();
    }
    memcpy(fill, col->held_at, sizeof *fill * t->nrules);
    for (k = 0; k < col->nclasses; k++)
        lr__class_rules(L, c, &col->classes[k], NULL, fill, k);
    lr__free(L->a, fill);
    return LEADROUTE_OK;
}

/* The classes of column c that may hold rule j, *n of them: exactly those
 * that do for a positive cell (*exact 1), else every class, to be tested. */
static const uint32_t *lr__classes_of(const lr__linter *L, uint32_t c, uint32_t j, uint32_t *n, int *exact)
{
    const lr__lcol *col = &L->cols[c];
    const lr__cell *cell = &L->t->rules[j].cells[c];
    if (col->held_at && !cell->any && !cell->negated) {
        *n = col->held_at[j + 1] - col->held_at[j];
        *exact = 1;
        return col->held + col->held_at[j];
    }
    *n = col->nclasses;
    *exact = 0;
    return col->every;
}

/* An outcome of column c for which lint found no value: unless another
 * value of it is found (lr__unnamed_fold), its class has no representative. */
static int lr__unnamed_add(lr__linter *L, lr__lcol *col, const lr__index *ix, uint32_t outcome)
{
    if (!col->unnamed && !(col->unnamed = lr__arena_zalloc(&L->scratch, ix->noutcomes + 1)))
        return lr__error_nomem();
    col->unnamed[outcome] = 1;
    return LEADROUTE_OK;
}

/* The classes of column c left without a value, if no other value of
 * theirs was found, leave lint unable to reason over every class. Two
 * rules that accept one of them may overlap on values lint cannot name:
 * the later ones go into L->unnamed, for the overlap check to look at. */
static int lr__unnamed_fold(lr__linter *L, uint32_t c)
{
    const leadroute_table *t = L->t;
    const lr__index *ix = &t->index[c];
    lr__lcol *col = &L->cols[c];
    uint32_t o, i, n = 0;
    if (!col->unnamed)
        return LEADROUTE_OK;
    for (o = 0; o < ix->noutcomes; o++)
        n += col->unnamed[o] && !col->seen[o];
    if (!n)
        return LEADROUTE_OK;
    if (!L->unnamed_cols++)
        L->unnamed_col = c;
    if (!L->unnamed) {
        L->unnamed = lr__arena_zalloc(&L->scratch, sizeof *L->unnamed * t->nwords);
        L->uboth = lr__arena_alloc(&L->scratch, sizeof *L->uboth * t->nwords);
        L->uacc = lr__arena_alloc(&L->scratch, sizeof *L->uacc * t->nwords);
        if (!L->unnamed || !L->uboth || !L->uacc)
            return lr__error_nomem();
    }
    if (!(col->unnamed_out = lr__arena_alloc(&L->scratch, sizeof *col->unnamed_out * n)))
        return lr__error_nomem();
    for (o = 0; o < ix->noutcomes; o++) {
        int seen_first = 0;
        if (!col->unnamed[o] || col->seen[o])
            continue;
        col->unnamed_out[col->nunnamed++] = o;
        lr__materialise_into(t, ix, &ix->outcomes[o], L->tmp);
        for (i = 0; i < t->nwords; i++) {
            uint64_t x = L->tmp[i];
            if (!seen_first && x) {
                x &= x - 1; /* the first rule of the class has none before it */
                seen_first = 1;
            }
            L->unnamed[i] |= x;
        }
    }
    return LEADROUTE_OK;
}

/* Overlap check: L->uboth &= acc (the rules before j that share with j a
 * class of column c lint found) and the rules of every class of c it found
 * no value for that j accepts. */
static void lr__unnamed_accepted(lr__linter *L, uint32_t c, uint32_t j, uint64_t *dst, uint32_t nw, int meet);

static void lr__unnamed_meet(lr__linter *L, uint32_t c, uint32_t j, const uint64_t *acc, uint32_t nw)
{
    uint32_t i;
    memcpy(L->uacc, acc, sizeof *acc * nw);
    lr__unnamed_accepted(L, c, j, L->uacc, nw, 0);
    for (i = 0; i < nw; i++)
        L->uboth[i] &= L->uacc[i];
}

/* Into `dst` (nw words), for each class of column c that lint found no
 * value for and rule j accepts, the rules of that class: ANDed (`meet`)
 * or ORed. */
static void lr__unnamed_accepted(lr__linter *L, uint32_t c, uint32_t j, uint64_t *dst, uint32_t nw, int meet)
{
    const lr__lcol *col = &L->cols[c];
    uint32_t q, i;
    for (q = 0; q < col->nunnamed; q++) {
        lr__class k = { col->unnamed_out[q], NULL, NULL };
        const uint64_t *b;
        if (!lr__class_bit(L, c, &k, j))
            continue;
        b = lr__class_bits(L, c, &k);
        for (i = 0; i < nw; i++)
            dst[i] = meet ? dst[i] & b[i] : dst[i] | b[i];
        lr__spend(L, nw);
    }
}

/* "column 's'", or "column 's' and 2 other columns": where lint found
 * no value for some values. */
static void lr__unnamed_where(const lr__linter *L, char *buf, size_t cap)
{
    uint32_t more = L->unnamed_cols - 1;
    if (more)
        snprintf(buf, cap, "column '%s' and %u other column%s", L->t->inputs[L->unnamed_col].name, more,
                 more > 1 ? "s" : "");
    else
        snprintf(buf, cap, "column '%s'", L->t->inputs[L->unnamed_col].name);
}

static int lr__classes(lr__linter *L, uint32_t c)
{
    leadroute_table *t = L->t;
    const lr__index *ix = &t->index[c];
    lr__lcol *col = &L->cols[c];
    uint32_t cap = 0, i, r;
    int rc;

    col->seen = lr__arena_zalloc(&L->scratch, ix->noutcomes + 1);
    if (!col->seen)
        return lr__error_nomem();
    if (ix->type == LEADROUTE_TYPE_NUMBER) {
        uint32_t np = ix->npoints;
        for (i = 0; i < 2 * np + 1; i++) {
            double x;
            char buf[64];
            const char *v;
            if (np == 0) {
                x = 0;
            } else if (i & 1) {
                x = ix->points[i / 2];
            } else {
                double lo = i == 0 ? -INFINITY : ix->points[i / 2 - 1];
                double hi = i == 2 * np ? INFINITY : ix->points[i / 2];
                /* a gap no finite double falls in (between neighbouring
                 * doubles, or past the largest) holds no lead: no class */
                double least = i == 0 ? -DBL_MAX : nextafter(lo, INFINITY);
                if (!isfinite(least) || least >= hi)
                    continue;
                x = lr__round_inside(lo, hi);
            }
            if (!isfinite(x) || lr__index_lookup_number(ix, x) != ix->segment_outcome[i]) {
                if ((rc = lr__unnamed_add(L, col, ix, ix->segment_outcome[i])) != 0)
                    return rc;
                continue;
            }
            lr__format_double(buf, sizeof buf, x);
            v = lr__arena_strndup(&L->scratch, buf, strlen(buf));
            if (!v)
                return lr__error_nomem();
            if ((rc = lr__class_add(L, col, ix, ix->segment_outcome[i], v, &cap)) != 0)
                return rc;
        }
    } else if (ix->type == LEADROUTE_TYPE_BOOL) {
        if ((rc = lr__class_add(L, col, ix, lr__index_lookup_text(ix, "true", 4), "true", &cap)) != 0 ||
            (rc = lr__class_add(L, col, ix, lr__index_lookup_text(ix, "false", 5), "false", &cap)) != 0)
            return rc;
    } else {
        const lr__keymap *maps[2] = { &ix->keys, &ix->prefixes };
        uint32_t m;
        /* a value in no key or prefix class: prefixes may claim many first bytes */
        static const char firsts[] = "zq~!#$%&+./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                     "^_`abcdefghijklmnoprstuvwxy{|}";
        const char *other = NULL;
        char seed[16];
        for (i = 0; !other && firsts[i]; i++) {
            snprintf(seed, sizeof seed, "%cz-other", firsts[i]);
            other = lr__text_for(L, ix, seed, (uint32_t)strlen(seed), ix->other_outcome);
        }
        if (!other)
            rc = lr__unnamed_add(L, col, ix, ix->other_outcome);
        else
            rc = lr__class_add(L, col, ix, ix->other_outcome, other, &cap);
        if (rc)
            return rc;
        for (m = 0; m < 2; m++)
            for (i = 0; i <= maps[m]->mask; i++) {
                const lr__keymap_entry *e = &maps[m]->slots[i];
                const char *v;
                if (!e->str)
                    continue;
                v = lr__text_for(L, ix, e->str, e->len, e->outcome);
                if (!v)
                    rc = lr__unnamed_add(L, col, ix, e->outcome);
                else
                    rc = lr__class_add(L, col, ix, e->outcome, v, &cap);
                if (rc)
                    return rc;
            }
    }
    /* missing comes last so witnesses show real values first */
    if ((rc = lr__class_add(L, col, ix, ix->null_outcome, NULL, &cap)) != 0)
        return rc;
    if ((rc = lr__unnamed_fold(L, c)) != 0)
        return rc;
    col->all = lr__arena_alloc(&L->scratch, sizeof *col->all * t->nwords);
    col->nset = lr__arena_zalloc(&L->scratch, sizeof *col->nset * t->nwords);
    if (!col->all || !col->nset)
        return lr__error_nomem();
    if ((rc = lr__classes_index(L, c)) != 0)
        return rc;
    if ((rc = lr__classes_fold(L, c, 1, 1, col->all)) != 0)
        return rc;
    if (ix->type == LEADROUTE_TYPE_SET) {
        col->items = lr__arena_zalloc(&L->scratch, sizeof *col->items * t->nwords);
        col->itemall = lr__arena_zalloc(&L->scratch, sizeof *col->itemall * t->nwords);
        if (!col->items || !col->itemall)
            return lr__error_nomem();
        for (r = 0; r < t->nrules; r++)
            if (t->rules[r].cells[c].negated)
                lr__bit_set(col->nset, r);
        if ((rc = lr__classes_fold(L, c, 0, 0, col->items)) != 0 ||
            (rc = lr__classes_fold(L, c, 1, 0, col->itemall)) != 0)
            return rc;
        for (r = 0; r < t->nrules; r++)
            if (t->rules[r].cells[c].any || t->rules[r].cells[c].negated)
                col->items[r >> 6] &= ~((uint64_t)1 << (r & 63));
    }
    return LEADROUTE_OK;
}

/* "region=EMEA; employees=50" from the classes chosen per column. */

/* Append `len` bytes of `v` at buf[n] (buf NULL: only count them). */
static size_t lr__witness_put(char *buf, size_t n, const char *v, size_t len)
{
    if (buf)
        memcpy(buf + n, v, len);
    return n + len;
}

/* Append a witness value or field name, quoted as a cell quotes it
 * ("a; b", \" and \\ escaped) when it would not read back plainly: it
 * holds a separator of the witness (; = , { }), a quote or backslash, a
 * control character (a line break), a blank at an end, or is the word null
 * (a missing field). */
static size_t lr__witness_value(char *buf, size_t n, const char *v)
{
    size_t len = strlen(v), i;
    int quote = len == 0 || v[0] == ' ' || v[len - 1] == ' ' || lr__equal_ci(v, len, "null") ||
                strpbrk(v, ";=,{}\"\\") != NULL;
    for (i = 0; i < len && !quote; i++)
        quote = (unsigned char)v[i] < 0x20 || v[i] == 0x7f;
    if (!quote)
        return lr__witness_put(buf, n, v, len);
    n = lr__witness_put(buf, n, "\"", 1);
    for (i = 0; i < len; i++) {
        if (v[i] == '"' || v[i] == '\\')
            n = lr__witness_put(buf, n, "\\", 1);
        n = lr__witness_put(buf, n, v + i, 1);
    }
    return lr__witness_put(buf, n, "\"", 1);
}

/* The witness of the classes in L->pick, written into buf (NULL: only
 * measured): a field per column that has a class other than missing, a
 * set's items in braces. */
static size_t lr__witness_write(const lr__linter *L, char *buf)
{
    const leadroute_table *t = L->t;
    size_t n = 0;
    uint32_t c, i;
    for (c = 0; c < t->ninputs; c++) {
        const lr__class *k = L->npick[c] ? &L->cols[c].classes[L->pick[c][0]] : NULL;
        int set = t->inputs[c].type == LEADROUTE_TYPE_SET;
        if (!k || !k->value)
            continue;
        if (n)
            n = lr__witness_put(buf, n, "; ", 2);
        n = lr__witness_value(buf, n, t->inputs[c].name);
        n = lr__witness_put(buf, n, set ? "={" : "=", set ? 2 : 1);
        for (i = 0; i < L->npick[c]; i++) {
            if (i)
                n = lr__witness_put(buf, n, ", ", 2);
            n = lr__witness_value(buf, n, L->cols[c].classes[L->pick[c][i]].value);
        }
        if (set)
            n = lr__witness_put(buf, n, "}", 1);
    }
    return n;
}

/* The witness, whole: values and set items may each take up to
 * LEADROUTE_MAX_STRING bytes, so it is measured, then written. n == 0:
 * every field missing, which is the empty witness. */
static const char *lr__witness(lr__linter *L)
{
    size_t n = lr__witness_write(L, NULL);
    char *w = lr__arena_alloc(&L->t->arena, n + 1);
    if (!w)
        return NULL;
    lr__witness_write(L, w);
    w[n] = '\0';
    return w;
}

/* A witness as a message shows it: the empty one in words. */
static const char *lr__shown(const char *witness)
{
    return witness[0] ? witness : "a lead with every field missing";
}

static int lr__any_bits(const uint64_t *x, uint32_t nwords)
{
    uint32_t i;
    for (i = 0; i < nwords; i++)
        if (x[i])
            return 1;
    return 0;
}

/* ---- the search ------------------------------------------------------------- */

/* The no-match and the shadow check ask one question: is there a lead that
 * rule L->j accepts (any lead, when j is UINT32_MAX) and no rule of
 * L->stack[0] does? The search takes the columns in L->order. L->stack[d]
 * holds the rules alive after the choices of the first d columns; a rule
 * of L->rest[d] accepts whatever the columns from d on take, so one of
 * those alive means no answer below. A scalar column takes one class, the
 * one that leaves the fewest rules first; a set column a set of classes
 * (lr__search_set). The answer's classes are left in L->pick. */

static int lr__any_and(const uint64_t *x, const uint64_t *y, uint32_t nw)
{
    uint32_t i;
    for (i = 0; i < nw; i++)
        if (x[i] & y[i])
            return 1;
    return 0;
}

static int lr__u64_cmp(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

/* Rules of `cur` (nw words) that class k keeps: a class read from a sparse
 * outcome is D but for the words of its T, so it costs those words and,
 * once per node, the count of cur & D (*base, UINT32_MAX until counted). */
static uint32_t lr__class_survivors(const lr__linter *L, uint32_t c, const lr__class *k, const uint64_t *cur,
                                    uint32_t nw, uint32_t *base)
{
    const leadroute_table *t = L->t;
    const lr__index *ix = &t->index[c];
    const lr__outcome *o = &ix->outcomes[k->outcome];
    uint32_t n = 0, i, p;
    if (k->bits || o->nnz == LR_DENSE) {
        for (i = 0; i < nw; i++)
            n += lr__popcount64(cur[i] & lr__class_word(L, c, k, i));
        return n;
    }
    if (*base == UINT32_MAX) {
        *base = 0;
        for (i = 0; i < nw; i++)
            *base += lr__popcount64(cur[i] & ix->dwords[i]);
    }
    n = *base;
    for (p = 0; p < o->nnz && o->idx[p] < nw; p++) {
        uint32_t w = o->idx[p];
        n -= lr__popcount64(cur[w] & ix->dwords[w]);
        n += lr__popcount64(cur[w] & (ix->dwords[w] ^ o->words[p]));
    }
    return n;
}

static int lr__cut(lr__linter *L, int bound)
{
    L->cut = bound;
    return LR_S_CUT;
}

/* n bitsets for a frame of the set search, all or none; frames give them
 * back in the order they took them. */
static int lr__pool_take(lr__linter *L, uint64_t **out, uint32_t n)
{
    uint32_t i;
    int rc;
    while (L->npool < L->pool_used + n) {
        if ((rc = lr__vec_reserve(L->a, (void **)&L->pool, &L->cap_pool, (size_t)L->npool + 1, sizeof *L->pool)) != 0) {
            L->rc = rc;
            return -1;
        }
        if (!(L->pool[L->npool] = lr__arena_alloc(&L->scratch, sizeof **L->pool * L->t->nwords))) {
            L->rc = lr__error_nomem();
            return -1;
        }
        L->npool++;
    }
    for (i = 0; i < n; i++)
        out[i] = L->pool[L->pool_used++];
    return 0;
}

static int lr__search(lr__linter *L, uint32_t depth, uint64_t *sorted);

/* A set column of the search: the rules alive there, by their cell. */
typedef struct lr__setnode {
    uint32_t depth, c;
    const uint64_t *neg, *pos, *fixed; /* negated, positive, any */
    uint64_t *sorted;
} lr__setnode;

/* A lead's set holds classes (items); with U the rules whose T some item
 * is in, the column keeps the alive rules whose cell is any, the positive
 * ones in U and the negated ones outside it. So an item kills the negated
 * rules its class refuses and keeps the positive ones it accepts. Can
 * class bitset b join the set? Not when j's negated cell refuses it, when
 * it kills a rule decided to stay alive, or when it keeps a rule that
 * accepts everything after this column (that rule would never die). */
static int lr__set_allowed(const lr__linter *L, const lr__setnode *sn, const uint64_t *b, const uint64_t *kept,
                           const uint64_t *alive)
{
    const uint64_t *rest = L->rest[sn->depth + 1];
    uint32_t i;
    if (L->j != UINT32_MAX && L->t->rules[L->j].cells[sn->c].negated && !lr__bit_get(b, L->j))
        return 0;
    for (i = 0; i < L->nw; i++)
        if ((sn->neg[i] & ~b[i] & alive[i]) || (sn->pos[i] & b[i] & ~kept[i] & rest[i]))
            return 0;
    return 1;
}

/* Every negated rule is decided (killed by the items picked, or alive):
 * go on to the next column, after one more item when there is none yet or
 * none that j's positive cell accepts. */
static int lr__set_finish(lr__linter *L, const lr__setnode *sn, const uint64_t *kept, const uint64_t *alive,
                          int has_j)
{
    const lr__lcol *col = &L->cols[sn->c];
    const lr__cell *jc = L->j == UINT32_MAX ? NULL : &L->t->rules[L->j].cells[sn->c];
    uint64_t *next = L->stack[sn->depth + 1];
    uint32_t nw = L->nw, null = L->t->index[sn->c].null_outcome, *npick = &L->npick[sn->c], i, k, q, n = 0, nk;
    const uint32_t *ks;
    int want_j = jc && !jc->any && !jc->negated, rc, exact;
    if (*npick && (has_j || !want_j)) {
        for (i = 0; i < nw; i++)
            next[i] = sn->fixed[i] | kept[i] | alive[i];
        return lr__search(L, sn->depth + 1, sn->sorted + col->nclasses);
    }
    if (*npick >= LEADROUTE_MAX_SET_ITEMS)
        return LR_S_NONE;
    /* such an item kills no negated rule still alive (it is allowed) */
    ks = want_j ? lr__classes_of(L, sn->c, L->j, &nk, &exact) : col->every;
    nk = want_j ? nk : col->nclasses;
    for (q = 0; q < nk; q++) {
        const uint64_t *b;
        uint32_t count = 0;
        k = ks[q];
        if (col->classes[k].outcome == null)
            continue;
        b = lr__class_bits(L, sn->c, &col->classes[k]);
        if ((want_j && !lr__bit_get(b, L->j)) || !lr__set_allowed(L, sn, b, kept, alive))
            continue;
        for (i = 0; L->j == UINT32_MAX && i < nw; i++)
            count += lr__popcount64(sn->fixed[i] | kept[i] | alive[i] | (sn->pos[i] & b[i]));
        count += L->j != UINT32_MAX;
        lr__spend(L, nw);
        sn->sorted[n++] = (uint64_t)count << 32 | k;
        if (count == 0) {
            sn->sorted[0] = sn->sorted[n - 1];
            n = 1;
            break;
        }
    }
    if (L->j == UINT32_MAX)
        qsort(sn->sorted, n, sizeof *sn->sorted, lr__u64_cmp);
    for (q = 0; q < n; q++) {
        const uint64_t *b;
        k = (uint32_t)sn->sorted[q];
        b = lr__class_bits(L, sn->c, &col->classes[k]);
        for (i = 0; i < nw; i++)
            next[i] = sn->fixed[i] | kept[i] | alive[i] | (sn->pos[i] & b[i]);
        L->pick[sn->c][(*npick)++] = k;
        if ((rc = lr__search(L, sn->depth + 1, sn->sorted + col->nclasses)) != LR_S_NONE)
            return rc;
        (*npick)--;
    }
    return LR_S_NONE;
}

/* Build the set item by item. Only sets in which each item kills a
 * negated rule no other item kills need trying, besides sets of one item
 * and one item j's positive cell needs: dropping any other item only
 * shrinks what the column keeps. So
 * take the first negated rule n not yet decided, and either kill it with
 * each class that can, or let it live, which bars the classes that kill
 * it. A rule no allowed class kills lives. `killed` and `kept` are what
 * the items picked so far kill and keep. */
static int lr__set_step(lr__linter *L, const lr__setnode *sn, const uint64_t *killed, const uint64_t *kept,
                        const uint64_t *alive_in, int has_j)
{
    const lr__lcol *col = &L->cols[sn->c];
    const lr__cell *jc = L->j == UINT32_MAX ? NULL : &L->t->rules[L->j].cells[sn->c];
    const uint64_t *rest = L->rest[sn->depth + 1];
    uint32_t nw = L->nw, null = L->t->index[sn->c].null_outcome, *npick = &L->npick[sn->c], i, k, pass;
    uint64_t *f[4], *alive, *able, *k2, *r2;
    int want_j = jc && !jc->any && !jc->negated, rc = LR_S_NONE;

    if (L->items > LR_LINT_SET_ITEMS)
        return lr__cut(L, LR_CUT_ITEMS);
    if (lr__pool_take(L, f, 4) != 0)
        return LR_S_ERROR;
    alive = f[0], able = f[1], k2 = f[2], r2 = f[3];
    memcpy(alive, alive_in, sizeof *alive * nw);
    for (;;) {
        uint32_t n = UINT32_MAX;
        int undecided = 0;
        memset(able, 0, sizeof *able * nw);
        for (i = 0; i < nw && !undecided; i++)
            undecided = (sn->neg[i] & ~killed[i] & ~alive[i]) != 0;
        /* a step that decides a negated rule is a node of the search */
        if (undecided && (++L->nodes > L->limit || L->budget == 0)) {
            rc = lr__cut(L, L->nodes > L->limit ? LR_CUT_STEPS : LR_CUT_WORDS);
            break;
        }
        for (k = 0; undecided && k < col->nclasses; k++) {
            const uint64_t *b;
            if (col->classes[k].outcome == null)
                continue;
            b = lr__class_bits(L, sn->c, &col->classes[k]);
            if (lr__set_allowed(L, sn, b, kept, alive))
                for (i = 0; i < nw; i++)
                    able[i] |= sn->neg[i] & ~b[i];
            lr__spend(L, nw);
        }
        for (i = 0; i < nw; i++) {
            uint64_t open = sn->neg[i] & ~killed[i] & ~alive[i];
            alive[i] |= open & ~able[i];
            if (n == UINT32_MAX && (open & able[i]))
                n = i * 64 + lr__ctz64(open & able[i]);
        }
        if (lr__any_and(rest, alive, nw) || lr__any_and(rest, kept, nw) || lr__any_and(rest, sn->fixed, nw))
            break;
        if (n == UINT32_MAX) {
            rc = lr__set_finish(L, sn, kept, alive, has_j);
            break;
        }
        /* kill n, first with items that keep no other rule, then with the rest */
        for (pass = 0; pass < 2 && rc == LR_S_NONE && *npick < LEADROUTE_MAX_SET_ITEMS; pass++)
            for (k = 0; k < col->nclasses && rc == LR_S_NONE; k++) {
                const uint64_t *b;
                uint64_t fresh = 0;
                if (col->classes[k].outcome == null)
                    continue;
                b = lr__class_bits(L, sn->c, &col->classes[k]);
                if (lr__bit_get(b, n) || !lr__set_allowed(L, sn, b, kept, alive))
                    continue;
                for (i = 0; i < nw; i++) {
                    k2[i] = killed[i] | (sn->neg[i] & ~b[i]);
                    r2[i] = kept[i] | (sn->pos[i] & b[i]);
                    fresh |= r2[i] ^ kept[i];
                }
                if ((fresh != 0) != (pass != 0))
                    continue;
                L->pick[sn->c][(*npick)++] = k;
                L->items++;
                rc = lr__set_step(L, sn, k2, r2, alive, has_j || (want_j && lr__bit_get(b, L->j)));
                L->items--;
                if (rc == LR_S_NONE)
                    (*npick)--;
            }
        if (rc != LR_S_NONE)
            break;
        lr__bit_set(alive, n);
    }
    L->pool_used -= 4;
    return rc;
}

/* A set column: a set of items, then the missing value. */
static int lr__search_set(lr__linter *L, uint32_t depth, uint64_t *sorted)
{
    leadroute_table *t = L->t;
    uint32_t c = L->order[depth], nw = L->nw, i, k;
    const lr__index *ix = &t->index[c];
    const lr__lcol *col = &L->cols[c];
    const uint64_t *cur = L->stack[depth];
    uint64_t *f[4];
    lr__setnode sn;
    int rc;
    if (lr__pool_take(L, f, 4) != 0)
        return LR_S_ERROR;
    for (i = 0; i < nw; i++) {
        f[0][i] = cur[i] & col->nset[i];
        f[1][i] = cur[i] & ~ix->dwords[i];
        f[2][i] = cur[i] & ix->dwords[i] & ~col->nset[i];
        f[3][i] = 0;
    }
    sn.depth = depth;
    sn.c = c;
    sn.neg = f[0];
    sn.pos = f[1];
    sn.fixed = f[2];
    sn.sorted = sorted;
    L->npick[c] = 0;
    rc = lr__set_step(L, &sn, f[3], f[3], f[3], 0);
    for (k = 0; rc == LR_S_NONE && k < col->nclasses; k++) {
        const uint64_t *b;
        if (col->classes[k].outcome != ix->null_outcome)
            continue;
        b = lr__class_bits(L, c, &col->classes[k]);
        if (L->j != UINT32_MAX && !lr__bit_get(b, L->j))
            break;
        for (i = 0; i < nw; i++)
            L->stack[depth + 1][i] = cur[i] & b[i];
        L->pick[c][0] = k;
        L->npick[c] = 1;
        if ((rc = lr__search(L, depth + 1, sorted + col->nclasses)) == LR_S_NONE)
            L->npick[c] = 0;
    }
    L->pool_used -= 4;
    return rc;
}

/* ---- pruning the no-match search --------------------------------------------- */

/* Can one value of column c refuse every rule of `need` (its words at
 * L->widx[0 .. n))? In a set column that is the missing value, or a set of
 * items none of which a positive cell of `need` accepts and which together
 * refuse its negated cells. */
static int lr__refusable(lr__linter *L, uint32_t c, const uint64_t *need, uint32_t n)
{
    const lr__lcol *col = &L->cols[c];
    const lr__index *ix = &L->t->index[c];
    const uint32_t *widx = L->widx;
    uint32_t q, p, k = L->hint[c];
    int set = ix->type == LEADROUTE_TYPE_SET, items = 0;
    if (set)
        memset(L->facc, 0, sizeof *L->facc * n);
    for (q = 0; q < col->nclasses; q++, k = k + 1 < col->nclasses ? k + 1 : 0) {
        const lr__class *cl = &col->classes[k];
        int missing = cl->outcome == ix->null_outcome;
        for (p = 0; p < n; p++)
            if (lr__class_word(L, c, cl, widx[p]) & need[p] & (set && !missing ? ~ix->dwords[widx[p]] : ~(uint64_t)0))
                break;
        if (p < n)
            continue;
        if (!set || missing) {
            lr__spend(L, (uint64_t)(q + 1) * n);
            L->hint[c] = k;
            return 1;
        }
        items = 1;
        for (p = 0; p < n; p++)
            L->facc[p] |= need[p] & col->nset[widx[p]] & ~lr__class_word(L, c, cl, widx[p]);
    }
    lr__spend(L, (uint64_t)col->nclasses * n);
    for (p = 0; items && p < n; p++)
        if (need[p] & col->nset[widx[p]] & ~L->facc[p])
            return 0;
    return items;
}

/* Forward check at a node of the no-match search: an alive rule that
 * accepts everything in the columns left but d can only be refused in d,
 * so one value of d must refuse all such rules together. Is there a column
 * left where none does? Then no lead below refuses every rule. */
static int lr__doomed(lr__linter *L, uint32_t depth)
{
    const leadroute_table *t = L->t;
    const uint64_t *cur = L->stack[depth];
    uint64_t *pre = L->fpre, *need = L->fneed;
    uint32_t n = 0, i, p, d;
    for (i = 0; i < L->nw; i++)
        if (cur[i]) {
            L->widx[n] = i;
            pre[n++] = cur[i];
        }
    for (d = depth; d < t->ninputs; d++) {
        const uint64_t *all = L->cols[L->order[d]].all, *rest = L->rest[d + 1];
        uint64_t some = 0;
        for (p = 0; p < n; p++) {
            i = L->widx[p];
            need[p] = pre[p] & rest[i] & ~all[i];
            pre[p] &= all[i];
            some |= need[p];
        }
        lr__spend(L, n + 1);
        if (some && !lr__refusable(L, L->order[d], need, n))
            return 1;
    }
    return 0;
}

static uint64_t lr__memo_hash(const uint64_t *cur, uint32_t nw, uint32_t depth)
{
    uint64_t h = lr__hash(cur, sizeof *cur * nw) ^ ((uint64_t)depth + 1) * 0x9E3779B97F4A7C15ull;
    return h ? h : 1;
}

/* Was this state (depth, alive rules) refuted before? */
static int lr__memo_seen(const lr__linter *L, uint32_t depth, const uint64_t *cur, uint64_t h)
{
    uint32_t i;
    if (!L->memo_count)
        return 0;
    for (i = (uint32_t)h & L->memo_mask; L->memo_keys[i]; i = (i + 1) & L->memo_mask)
        if (L->memo_keys[i] == h && L->memo_sets[i][0] == depth &&
            memcmp(L->memo_sets[i] + 1, cur, sizeof *cur * L->nw) == 0)
            return 1;
    return 0;
}

static void lr__memo_put(uint64_t *keys, uint64_t **sets, uint32_t mask, uint64_t h, uint64_t *set)
{
    uint32_t i;
    for (i = (uint32_t)h & mask; keys[i]; i = (i + 1) & mask)
        ;
    keys[i] = h;
    sets[i] = set;
}

/* Remember a refuted state while the memo fits its bytes; a full memo
 * only makes the search slower. What an addition takes is counted before
 * it is taken: a larger table, held beside the old one while it fills,
 * and the chunk the entry may need. */
static int lr__memo_add(lr__linter *L, uint32_t depth, const uint64_t *cur, uint64_t h)
{
    size_t entry = sizeof *cur * ((size_t)L->nw + 1), old = 0, grown = 0, cost;
    uint64_t *set;
    uint32_t i, size = 0;
    if (L->memo_keys)
        old = ((size_t)L->memo_mask + 1) * (sizeof *L->memo_keys + sizeof *L->memo_sets);
    if (2 * ((size_t)L->memo_count + 1) > (size_t)L->memo_mask + 1 || !L->memo_keys) {
        if (L->memo_keys && L->memo_mask >= UINT32_MAX / 2)
            return LEADROUTE_OK;
        size = L->memo_keys ? 2 * (L->memo_mask + 1) : 1024;
        grown = (size_t)size * (sizeof *L->memo_keys + sizeof *L->memo_sets);
    }
    cost = lr__arena_cost(&L->memo_arena, entry);
    if (grown > lr__lint_memo_bytes || cost > lr__lint_memo_bytes - grown ||
        L->memo_bytes > lr__lint_memo_bytes - grown - cost)
        return LEADROUTE_OK;
    if (size) {
        uint64_t *keys = lr__calloc(L->a, size, sizeof *keys), **sets = lr__calloc(L->a, size, sizeof *sets);
        if (!keys || !sets) {
            lr__free(L->a, keys);
            lr__free(L->a, sets);
            return lr__error_nomem();
        }
        for (i = 0; L->memo_keys && i <= L->memo_mask; i++)
            if (L->memo_keys[i])
                lr__memo_put(keys, sets, size - 1, L->memo_keys[i], L->memo_sets[i]);
        lr__free(L->a, L->memo_keys);
        lr__free(L->a, L->memo_sets);
        L->memo_keys = keys;
        L->memo_sets = sets;
        L->memo_mask = size - 1;
        L->memo_bytes += grown - old;
    }
    if (!(set = lr__arena_alloc(&L->memo_arena, entry)))
        return lr__error_nomem();
    set[0] = depth;
    memcpy(set + 1, cur, sizeof *cur * L->nw);
    lr__memo_put(L->memo_keys, L->memo_sets, L->memo_mask, h, set);
    L->memo_count++;
    L->memo_bytes += cost;
    return LEADROUTE_OK;
}

static int lr__search_node(lr__linter *L, uint32_t depth, uint64_t *sorted);

/* A node of the no-match search: checked forward, and skipped when its
 * state was refuted before, reached again by another path (classes that
 * differ only in rules already refused lead to the same state). Kept out
 * of line: the shadow check, which runs once per rule, goes without. */
__attribute__((noinline)) static int lr__search_nomatch(lr__linter *L, uint32_t depth, uint64_t *sorted)
{
    const uint64_t *cur = L->stack[depth];
    uint64_t h = lr__memo_hash(cur, L->nw, depth);
    int rc;
    lr__spend(L, L->nw);
    if (lr__memo_seen(L, depth, cur, h) || lr__doomed(L, depth))
        return LR_S_NONE;
    rc = lr__search_node(L, depth, sorted);
    if (rc == LR_S_NONE && (rc = lr__memo_add(L, depth, cur, h)) != 0) {
        L->rc = rc;
        return LR_S_ERROR;
    }
    return rc;
}

static int lr__search(lr__linter *L, uint32_t depth, uint64_t *sorted)
{
    const uint64_t *cur = L->stack[depth];
    /* nothing alive: the columns left are missing, or take a value j
     * accepts (lr__search_run checked that j accepts some in each) */
    if (!lr__any_bits(cur, L->nw))
        return LR_S_FOUND;
    if (depth == L->t->ninputs || lr__any_and(cur, L->rest[depth], L->nw))
        return LR_S_NONE;
    return L->j == UINT32_MAX ? lr__search_nomatch(L, depth, sorted) : lr__search_node(L, depth, sorted);
}

/* `sorted` has room for the classes of this column and the later ones. */
static int lr__search_node(lr__linter *L, uint32_t depth, uint64_t *sorted)
{
    leadroute_table *t = L->t;
    const uint64_t *cur = L->stack[depth];
    uint64_t *next = L->stack[depth + 1];
    uint32_t nw = L->nw, c, q, nk, n = 0, base = UINT32_MAX, i;
    const uint32_t *ks;
    const lr__lcol *col;
    int exact, rc;
    if (++L->nodes > L->limit || L->budget == 0)
        return lr__cut(L, L->nodes > L->limit ? LR_CUT_STEPS : LR_CUT_WORDS);
    c = L->order[depth];
    col = &L->cols[c];
    if (t->index[c].type == LEADROUTE_TYPE_SET)
        return lr__search_set(L, depth, sorted);
    if (L->j == UINT32_MAX) {
        ks = col->every;
        nk = col->nclasses;
        exact = 1;
    } else {
        ks = lr__classes_of(L, c, L->j, &nk, &exact);
    }
    lr__spend(L, nk + 1);
    /* The shadow check mostly finds a lead on its first path, where
     * counting would cost more than it saves: it takes j's classes in
     * order. The no-match search takes the class that leaves the fewest
     * rules first (the counts only order; the answer is the AND itself). */
    for (q = 0; L->j == UINT32_MAX && q < nk; q++) {
        uint32_t count = lr__class_survivors(L, c, &col->classes[ks[q]], cur, nw, &base);
        sorted[n++] = (uint64_t)count << 32 | ks[q];
        if (count == 0) {
            /* it is the answer, and the others need no count */
            sorted[0] = sorted[n - 1];
            n = 1;
            break;
        }
    }
    if (L->j == UINT32_MAX)
        qsort(sorted, n, sizeof *sorted, lr__u64_cmp);
    else
        n = nk;
    for (q = 0; q < n; q++) {
        uint32_t k = L->j == UINT32_MAX ? (uint32_t)sorted[q] : ks[q];
        const uint64_t *b;
        if (!exact && !lr__class_bit(L, c, &col->classes[k], L->j))
            continue;
        b = lr__class_bits(L, c, &col->classes[k]);
        for (i = 0; i < nw; i++)
            next[i] = cur[i] & b[i];
        L->pick[c][0] = k;
        L->npick[c] = 1;
        if ((rc = lr__search(L, depth + 1, sorted + col->nclasses)) != LR_S_NONE)
            return rc;
    }
    L->npick[c] = 0;
    return LR_S_NONE;
}

/* Run the search for rule j (UINT32_MAX: none) over the rules of
 * L->stack[0], nw words of them, visiting at most `limit` nodes. */
static int lr__search_run(lr__linter *L, uint32_t j, uint32_t nw, uint32_t limit)
{
    leadroute_table *t = L->t;
    uint32_t d, i;
    L->j = j;
    L->nw = nw;
    L->limit = limit;
    L->nodes = 0;
    L->cut = 0;
    L->items = 0;
    L->pool_used = 0;
    for (d = 0; j != UINT32_MAX && d < t->ninputs; d++) {
        uint32_t c = L->order[d], q, nk;
        int exact;
        const uint32_t *ks = lr__classes_of(L, c, j, &nk, &exact);
        if (t->rules[j].cells[c].any)
            continue;
        for (q = 0; q < nk && !exact && !lr__class_bit(L, c, &L->cols[c].classes[ks[q]], j); q++)
            ;
        if (q == nk)
            return LR_S_NONE; /* j accepts no value of column c */
    }
    for (i = 0; i < nw; i++)
        L->rest[t->ninputs][i] = ~(uint64_t)0;
    for (d = t->ninputs; d-- > 0;) {
        L->npick[L->order[d]] = 0;
        for (i = 0; i < nw; i++)
            L->rest[d][i] = L->rest[d + 1][i] & L->cols[L->order[d]].all[i];
    }
    return lr__search(L, 0, L->sorted);
}

/* Column order: with a rule, the columns its cell constrains first; then
 * scalar columns before set columns, whose search is pruned best when
 * fewer columns are left. */
static void lr__search_order(lr__linter *L, uint32_t j)
{
    leadroute_table *t = L->t;
    uint32_t c, d = 0, pass;
    for (pass = 0; pass < 4; pass++)
        for (c = 0; c < t->ninputs; c++) {
            int set = t->index[c].type == LEADROUTE_TYPE_SET;
            int any = j != UINT32_MAX && t->rules[j].cells[c].any;
            if ((uint32_t)any == pass / 2 && (uint32_t)set == pass % 2)
                L->order[d++] = c;
        }
}

/* ---- no match -------------------------------------------------------------- */

/* "after 100 steps, its bound": how far a search that was cut short got,
 * and which of its bounds stopped it (`words`: the budget it had). */
static void lr__cut_text(const lr__linter *L, uint64_t words, char *buf, size_t cap)
{
    uint32_t steps = L->nodes > L->limit ? L->limit : L->nodes;
    if (L->cut == LR_CUT_WORDS)
        snprintf(buf, cap, "after %u steps, when its budget of %llu words of bitset work ran out", steps,
                 (unsigned long long)words);
    else if (L->cut == LR_CUT_ITEMS)
        snprintf(buf, cap, "after %u steps, at its bound of %u set items along one path", steps,
                 (unsigned)LR_LINT_SET_ITEMS);
    else
        snprintf(buf, cap, "after %u steps, its bound", steps);
}

static int lr__lint_nomatch(lr__linter *L)
{
    leadroute_table *t = L->t;
    uint32_t r, c, i;
    uint64_t budget = L->budget;
    char where[300];
    int found;
    for (r = 0; r < t->nrules; r++) {
        for (c = 0; c < t->ninputs && t->rules[r].cells[c].any; c++)
            ;
        if (c == t->ninputs)
            return LEADROUTE_OK; /* a catch-all */
    }
    if (t->nrules == 0) {
        const char *w = lr__arena_strndup(&t->arena, "", 0); /* every field missing */
        lr__where(t, UINT32_MAX, where, sizeof where);
        if (!w)
            return lr__error_nomem();
        return lr__add_diag(L, LEADROUTE_DIAG_NO_MATCH, UINT32_MAX, UINT32_MAX, w,
                            lr__fmt(L, "%sthe table has no rules, so no lead matches", where));
    }
    if (!t->ninputs)
        return LEADROUTE_OK;
    lr__where(t, UINT32_MAX, where, sizeof where);
    for (i = 0; i < t->nwords; i++)
        L->stack[0][i] = ~(uint64_t)0;
    if (t->nrules & 63)
        L->stack[0][t->nwords - 1] = ((uint64_t)1 << (t->nrules & 63)) - 1;
    lr__search_order(L, UINT32_MAX);
    /* its own budget, whatever the pairwise checks spent */
    L->budget = lr__lint_nomatch_words;
    found = lr__search_run(L, UINT32_MAX, t->nwords, lr__lint_nomatch_steps);
    L->budget = budget;
    if (found == LR_S_ERROR)
        return L->rc;
    if (found == LR_S_CUT) {
        char bound[160];
        lr__cut_text(L, lr__lint_nomatch_words, bound, sizeof bound);
        return lr__add_diag(L, LEADROUTE_DIAG_NO_MATCH_UNDECIDED, UINT32_MAX, UINT32_MAX, NULL,
                            lr__fmt(L, "%sthe table has no catch-all rule, and lint stopped looking for a lead "
                                    "no rule matches %s, having neither found one nor ruled it out: some leads "
                                    "may match no rule", where, bound));
    }
    if (found == LR_S_FOUND && lr__full(L)) {
        lr__drop(L, UINT32_MAX, 1);
        return LEADROUTE_OK;
    }
    if (found == LR_S_FOUND) {
        const char *w = lr__witness(L);
        if (!w)
            return lr__error_nomem();
        return lr__add_diag(L, LEADROUTE_DIAG_NO_MATCH, UINT32_MAX, UINT32_MAX, w,
                            lr__fmt(L, "%sno rule matches some leads (the table has no catch-all rule); "
                                    "for example: %s", where, lr__shown(w)));
    }
    if (L->unnamed_cols) {
        /* every lead with named values matches a rule; the others may not */
        char cols[400];
        lr__unnamed_where(L, cols, sizeof cols);
        return lr__add_diag(L, LEADROUTE_DIAG_NO_MATCH_UNDECIDED, UINT32_MAX, UINT32_MAX, NULL,
                            lr__fmt(L, "%sthe table has no catch-all rule, and lint found a rule for every lead it "
                                    "tried, but could not name a value for some values of %s: some leads may match "
                                    "no rule", where, cols));
    }
    return LEADROUTE_OK;
}

/* ---- shadowed rules (FIRST) --------------------------------------------------- */

/* Rules the shadow check could not decide: how many, the first of them,
 * and the bounds that stopped it (1 << LR_CUT_*). */
typedef struct lr__undecided {
    uint32_t count, first;
    unsigned bounds;
} lr__undecided;

static void lr__undecided_add(lr__undecided *u, uint32_t rule, uint32_t n, int bound)
{
    if (!u->count)
        u->first = rule;
    u->count += n;
    u->bounds |= 1u << bound;
}

/* One notice for all of them, as for the no-match search: a rule left
 * undecided may never fire, and nothing else would say so. `why` says
 * what stopped the check ("stopped at ..."). */
static int lr__shadow_notice(lr__linter *L, const lr__undecided *u, const char *why)
{
    const leadroute_table *t = L->t;
    char where[300], later[64] = "";
    if (!u->count)
        return LEADROUTE_OK;
    lr__where(t, u->first, where, sizeof where);
    if (u->count > 1)
        snprintf(later, sizeof later, " and %u later rule%s", u->count - 1, u->count > 2 ? "s" : "");
    return lr__add_diag(L, LEADROUTE_DIAG_SHADOWED_UNDECIDED, u->first, UINT32_MAX, NULL,
                        lr__fmt(L, "%slint could not tell whether rule '%s'%s can fire (whether the rules before "
                                "%s together match every lead it matches): it %s", where, t->rules[u->first].id,
                                later, u->count > 1 ? "each one" : "it", why));
}

/* "stopped at its bound of ...", for the bounds that stopped the check
 * partway, and "could not name a value ..." when it could draw no
 * conclusion about a rule because of that. */
static void lr__shadow_bounds(const lr__linter *L, const lr__undecided *u, char *buf, size_t cap)
{
    unsigned stops = u->bounds & ~(1u << LR_CUT_UNNAMED);
    size_t n = stops ? (size_t)snprintf(buf, cap, "stopped ") : 0;
    buf[n] = '\0';
    if (u->bounds & 1u << LR_CUT_STEPS && n < cap)
        n += (size_t)snprintf(buf + n, cap - n, "at its bound of %u steps per rule", (unsigned)LR_LINT_DFS_NODES);
    if (u->bounds & 1u << LR_CUT_WORDS && n < cap)
        n += (size_t)snprintf(buf + n, cap - n, "%swhen its budget of %llu words of bitset work ran out",
                              u->bounds & 1u << LR_CUT_STEPS ? " and " : "",
                              (unsigned long long)lr__lint_pairwise_words);
    if (u->bounds & 1u << LR_CUT_ITEMS && n < cap)
        n += (size_t)snprintf(buf + n, cap - n, "%sat its bound of %u set items along one path",
                              u->bounds & (1u << LR_CUT_STEPS | 1u << LR_CUT_WORDS) ? " and " : "",
                              (unsigned)LR_LINT_SET_ITEMS);
    if (u->bounds & 1u << LR_CUT_UNNAMED && n < cap) {
        char cols[400];
        lr__unnamed_where(L, cols, sizeof cols);
        snprintf(buf + n, cap - n, "%scould not name a value for some values of %s", stops ? ", and " : "", cols);
    }
}

/* The column whose cell of rule j accepts no value at all (`not(true,
 * false, null)`, `> 1.7976931348623157e308`), or UINT32_MAX. Columns with
 * classes lint found no value for are left out: j may accept those. */
static uint32_t lr__column_accepting_nothing(lr__linter *L, uint32_t j)
{
    const leadroute_table *t = L->t;
    uint32_t c, q, nk;
    int exact;
    for (c = 0; c < t->ninputs; c++) {
        const uint32_t *ks;
        if (t->rules[j].cells[c].any || L->cols[c].nunnamed)
            continue;
        ks = lr__classes_of(L, c, j, &nk, &exact);
        for (q = 0; q < nk && !exact && !lr__class_bit(L, c, &L->cols[c].classes[ks[q]], j); q++)
            ;
        lr__spend(L, q); /* a cell that accepts a value mostly stops at its first class: free */
        if (q == nk)
            return c;
    }
    return UINT32_MAX;
}

/* Rule j matches no lead: a finding whatever comes before it. */
static int lr__report_unmatchable(lr__linter *L, uint32_t j, uint32_t c)
{
    const leadroute_table *t = L->t;
    char where[300];
    if (lr__full(L)) {
        lr__drop(L, j, 1);
        return LEADROUTE_OK;
    }
    lr__where(t, j, where, sizeof where);
    return lr__add_diag(L, LEADROUTE_DIAG_SHADOWED, j, UINT32_MAX, NULL,
                        lr__fmt(L, "%srule '%s' can never fire: no lead matches it (its cell in column '%s' accepts "
                                "no value)", where, t->rules[j].id, t->inputs[c].name));
}

/* `work`: what the check is expected to cost (see lr__table_lint). */
static int lr__lint_shadowed(lr__linter *L, uint64_t work)
{
    leadroute_table *t = L->t;
    uint64_t *cover = L->stack[t->ninputs + 1];
    uint32_t j, c, k, i, q, nk;
    const uint32_t *ks;
    int rc, exact;
    lr__undecided undecided = { 0, UINT32_MAX, 0 };
    char why[600];

    /* the first rule has no rule before it to hide it: only a cell
     * accepting nothing keeps it from firing */
    if (t->nrules && (c = lr__column_accepting_nothing(L, 0)) != UINT32_MAX &&
        (rc = lr__report_unmatchable(L, 0, c)) != 0)
        return rc;
    /* too big to start: every rule it would check is undecided, as when
     * the budget runs out partway */
    if (t->nrules > 1 && work >= L->budget) {
        lr__undecided_add(&undecided, 1, t->nrules - 1, LR_CUT_WORDS);
        snprintf(why, sizeof why, "did not start, as a table this size would need more than its budget of %llu "
                 "words of bitset work", (unsigned long long)lr__lint_pairwise_words);
        return lr__shadow_notice(L, &undecided, why);
    }
    for (j = 1; j < t->nrules; j++) {
        uint32_t nw = j / 64 + 1, first = UINT32_MAX;
        uint64_t lastmask = (j & 63) ? (((uint64_t)1 << (j & 63)) - 1) : 0;
        int unsure = 0;
        if (L->budget < (uint64_t)nw * t->ninputs * 4) {
            /* the rest go unchecked */
            lr__undecided_add(&undecided, j, t->nrules - j, LR_CUT_WORDS);
            break;
        }
        /* a rule no lead matches: said as such, not as covered by the
         * first rule before it, which covers it only vacuously */
        if ((c = lr__column_accepting_nothing(L, j)) != UINT32_MAX) {
            if ((rc = lr__report_unmatchable(L, j, c)) != 0)
                return rc;
            continue;
        }
        /* rules before j that accept, in every column, every value j accepts */
        for (i = 0; i < nw; i++)
            cover[i] = ~(uint64_t)0;
        cover[nw - 1] = lastmask;
        for (c = 0; c < t->ninputs && lr__any_bits(cover, nw); c++) {
            const lr__lcol *col = &L->cols[c];
            const lr__cell *cell = &t->rules[j].cells[c];
            if (col->nunnamed) {
                /* the classes of values lint found none of, which j accepts:
                 * a rule covering j accepts them too (set columns, whose
                 * leads mix items, are left to the search's notice) */
                if (t->inputs[c].type == LEADROUTE_TYPE_SET)
                    unsure = 1;
                else
                    lr__unnamed_accepted(L, c, j, cover, nw, 1);
            }
            if (cell->any) {
                for (i = 0; i < nw; i++)
                    cover[i] &= col->all[i];
                lr__spend(L, nw);
                continue;
            }
            ks = lr__classes_of(L, c, j, &nk, &exact);
            lr__spend(L, nk + 1);
            for (q = 0; q < nk; q++) {
                k = ks[q];
                if (exact || lr__class_bit(L, c, &col->classes[k], j)) {
                    /* Beside an item j accepts, a lead may hold any others, which a
                     * negated set cell may refuse: it covers such leads only if it
                     * refuses no item. When j's cell is negated too, its leads hold
                     * only items it accepts, each of which is checked here. */
                    int alone = col->classes[k].outcome == t->index[c].null_outcome || cell->negated ||
                                !col->itemall;
                    const uint64_t *b = lr__class_bits(L, c, &col->classes[k]);
                    for (i = 0; i < nw; i++)
                        cover[i] &= b[i] & (alone ? ~(uint64_t)0 : ~col->nset[i] | col->itemall[i]);
                    lr__spend(L, nw);
                }
            }
        }
        for (i = 0; i < nw && first == UINT32_MAX; i++)
            if (cover[i])
                first = i * 64 + lr__ctz64(cover[i]);
        /* in a set column, rules seen to match every lead j matches that has
         * named values may miss one that has not: j is not known to be shadowed */
        if (first != UINT32_MAX && unsure) {
            lr__undecided_add(&undecided, j, 1, LR_CUT_UNNAMED);
            continue;
        }
        if (first != UINT32_MAX && lr__full(L)) {
            lr__drop(L, j, 1);
            continue;
        }
        if (first != UINT32_MAX) {
            char where[300];
            lr__where(t, j, where, sizeof where);
            if (t->rules[first].line)
                rc = lr__add_diag(L, LEADROUTE_DIAG_SHADOWED, j, first, NULL,
                                  lr__fmt(L, "%srule '%s' can never fire: rule '%s' (line %u) before it matches every "
                                          "lead it matches", where, t->rules[j].id, t->rules[first].id,
                                          t->rules[first].line));
            else
                rc = lr__add_diag(L, LEADROUTE_DIAG_SHADOWED, j, first, NULL,
                                  lr__fmt(L, "%srule '%s' can never fire: rule '%s' before it matches every lead it "
                                          "matches", where, t->rules[j].id, t->rules[first].id));
            if (rc)
                return rc;
            continue;
        }
        /* several earlier rules together: is there a lead j matches and none of them does? */
        for (i = 0; i < nw; i++)
            L->stack[0][i] = ~(uint64_t)0;
        L->stack[0][nw - 1] = lastmask;
        lr__search_order(L, j);
        rc = lr__search_run(L, j, nw, LR_LINT_DFS_NODES);
        lr__spend(L, (uint64_t)L->nodes * nw);
        if (rc == LR_S_ERROR)
            return L->rc;
        if (rc == LR_S_CUT)
            lr__undecided_add(&undecided, j, 1, L->cut);
        if (rc == LR_S_NONE && L->unnamed_cols)
            lr__undecided_add(&undecided, j, 1, LR_CUT_UNNAMED); /* no lead with named values */
        else if (rc == LR_S_NONE && lr__full(L))
            lr__drop(L, j, 1);
        else if (rc == LR_S_NONE) {
            char where[300];
            lr__where(t, j, where, sizeof where);
            if ((rc = lr__add_diag(L, LEADROUTE_DIAG_SHADOWED, j, UINT32_MAX, NULL,
                                   lr__fmt(L, "%srule '%s' can never fire: the rules before it together match "
                                           "every lead it matches", where, t->rules[j].id))) != 0)
                return rc;
        }
    }
    lr__shadow_bounds(L, &undecided, why, sizeof why);
    return lr__shadow_notice(L, &undecided, why);
}

/* ---- overlaps (UNIQUE) ----------------------------------------------------- */

static int lr__has_item_class(const lr__linter *L, uint32_t c, uint32_t rule, uint32_t *out)
{
    const lr__lcol *col = &L->cols[c];
    uint32_t q, nk;
    int exact;
    const uint32_t *ks = lr__classes_of(L, c, rule, &nk, &exact);
    for (q = 0; q < nk; q++) {
        const lr__class *k = &col->classes[ks[q]];
        if (k->outcome != L->t->index[c].null_outcome && (exact || lr__class_bit(L, c, k, rule))) {
            *out = ks[q];
            return 1;
        }
    }
    return 0;
}

/* One notice for the rules the overlap check could not compare with the
 * rules before them: from `from` on (t->nrules: none) once the word budget
 * ran out, or, `started` 0, before it started, on a table that would need
 * more; and, before `from`, those that share with an earlier rule a class
 * lint found no value for (L->unnamed), where it can show no overlap. An
 * overlap among them would otherwise go unreported with nothing to say so. */
static int lr__overlap_notice(lr__linter *L, uint32_t from, int started)
{
    const leadroute_table *t = L->t;
    uint32_t count = t->nrules - from, first = from, named = 0, i;
    char where[300], which[400], bound[900] = "", cols[400];
    size_t n = 0;
    for (i = 0; L->unnamed && i < t->nwords && (uint64_t)i * 64 < from; i++) {
        uint64_t x = L->unnamed[i];
        if ((uint64_t)i * 64 + 64 > from)
            x &= ((uint64_t)1 << (from - i * 64)) - 1;
        if (x && first == from)
            first = i * 64 + lr__ctz64(x);
        named += lr__popcount64(x);
    }
    count += named;
    if (!count)
        return LEADROUTE_OK;
    lr__where(t, first, where, sizeof where);
    if (count > 1)
        snprintf(which, sizeof which, "rule '%s' and %u later rule%s overlap earlier rules (whether some lead "
                 "matches one of them and a rule before it", t->rules[first].id, count - 1, count > 2 ? "s" : "");
    else
        snprintf(which, sizeof which, "rule '%s' overlaps an earlier rule (whether some lead matches it and a "
                 "rule before it", t->rules[first].id);
    if (named) {
        lr__unnamed_where(L, cols, sizeof cols);
        n = (size_t)snprintf(bound, sizeof bound, "it could not name a value for some values of %s that such a "
                             "rule and a rule before it both accept", cols);
    }
    if (from < t->nrules && n < sizeof bound)
        snprintf(bound + n, sizeof bound - n, "%s %s of %llu words of bitset work%s", n ? ", and" : "it",
                 started ? "stopped when its budget" : "did not start, as a table this size would need more than "
                 "its budget", (unsigned long long)lr__lint_pairwise_words, started ? " ran out" : "");
    return lr__add_diag(L, LEADROUTE_DIAG_OVERLAP_UNDECIDED, first, UINT32_MAX, NULL,
                        lr__fmt(L, "%slint could not tell whether %s, which hit policy unique forbids): %s", where,
                                which, bound));
}

/* `work`: what the check is expected to cost (see lr__table_lint). */
static int lr__lint_overlap(lr__linter *L, uint64_t work)
{
    leadroute_table *t = L->t;
    uint64_t *both = L->stack[t->ninputs + 1], *live, pair_cost;
    uint32_t j, c, k, i, q, nk;
    const uint32_t *ks;
    int rc, exact;

    if (t->nrules > 1 && work >= L->budget)
        return lr__overlap_notice(L, 1, 0);
    /* rules some lead matches: one that matches none overlaps nothing, not
     * even where the other's cell is '-' (which narrows nothing below) */
    if (!(live = lr__arena_zalloc(&L->scratch, sizeof *live * t->nwords)))
        return lr__error_nomem();
    for (j = 0; j < t->nrules; j++)
        if (lr__column_accepting_nothing(L, j) == UINT32_MAX)
            lr__bit_set(live, j);
    for (j = 1; j < t->nrules; j++) {
        uint32_t nw = j / 64 + 1;
        uint64_t lastmask = (j & 63) ? (((uint64_t)1 << (j & 63)) - 1) : 0;
        /* j shares with an earlier rule a class lint found no value for */
        int unnamed = L->unnamed && lr__bit_get(L->unnamed, j);
        if (L->budget < (uint64_t)nw * t->ninputs * 4)
            return lr__overlap_notice(L, j, 1); /* the rest go unchecked */
        for (i = 0; i < nw; i++)
            both[i] = live[i];
        both[nw - 1] &= lastmask;
        if (unnamed)
            memcpy(L->uboth, both, sizeof *both * nw);
        /* rules before j sharing, in every column, a class with j */
        for (c = 0; c < t->ninputs && (lr__any_bits(both, nw) || (unnamed && lr__any_bits(L->uboth, nw))); c++) {
            const lr__lcol *col = &L->cols[c];
            uint64_t *acc = L->stack[0];
            if (t->rules[j].cells[c].any)
                continue;
            memset(acc, 0, sizeof *acc * nw);
            ks = lr__classes_of(L, c, j, &nk, &exact);
            lr__spend(L, nk + 1);
            for (q = 0; q < nk; q++) {
                k = ks[q];
                if (exact || lr__class_bit(L, c, &col->classes[k], j)) {
                    const uint64_t *b = lr__class_bits(L, c, &col->classes[k]);
                    for (i = 0; i < nw; i++)
                        acc[i] |= b[i];
                    lr__spend(L, nw);
                }
            }
            /* two positive set cells always meet in a lead holding one item of each */
            if (t->index[c].type == LEADROUTE_TYPE_SET && lr__bit_get(col->items, j)) {
                for (i = 0; i < nw; i++)
                    acc[i] |= col->items[i];
                lr__spend(L, nw);
            }
            if (unnamed)
                lr__unnamed_meet(L, c, j, acc, nw);
            for (i = 0; i < nw; i++)
                both[i] &= acc[i];
        }
        /* j stays in the notice only if some rule meets it on such a
         * class alone, where no overlap of theirs is reported */
        if (unnamed) {
            int alone = 0;
            for (i = 0; i < nw && !alone; i++)
                alone = (L->uboth[i] & ~both[i]) != 0;
            if (!alone)
                L->unnamed[j >> 6] &= ~((uint64_t)1 << (j & 63));
        }
        /* a witness per pair, and pairs may be billions: paid for too, at
         * most a look at each class of j per column, and all of j's at once,
         * so that j is reported whole or counted */
        pair_cost = 0;
        if (!(lr__full(L) && !L->unnamed_cols)) {
            uint64_t pairs = 0;
            for (i = 0; i < nw; i++)
                pairs += lr__popcount64(both[i]);
            for (c = 0; pairs && c < t->ninputs; c++) {
                (void)lr__classes_of(L, c, j, &nk, &exact);
                pair_cost += (uint64_t)nk + 1;
            }
            if (pairs && L->budget < pairs * pair_cost)
                return lr__overlap_notice(L, j, 1);
            lr__spend(L, pairs * pair_cost);
        }
        for (i = 0; i < nw; i++) {
            uint64_t x = both[i];
            while (x) {
                uint32_t other = i * 64 + lr__ctz64(x);
                const char *w;
                char where[300];
                int named = 1;
                x &= x - 1;
                /* past the cap, the check goes on for its notices and the count */
                if (lr__full(L) && !L->unnamed_cols) {
                    lr__drop(L, j, 1 + lr__popcount64(x));
                    break;
                }
                for (c = 0; c < t->ninputs && named; c++) {
                    const lr__lcol *col = &L->cols[c];
                    L->npick[c] = 0;
                    if (t->rules[j].cells[c].any && t->rules[other].cells[c].any)
                        continue; /* leave the field out: missing suits both */
                    ks = lr__classes_of(L, c, j, &nk, &exact);
                    for (q = 0; q < nk; q++)
                        if ((exact || lr__class_bit(L, c, &col->classes[ks[q]], j)) &&
                            lr__class_bit(L, c, &col->classes[ks[q]], other)) {
                            L->pick[c][0] = ks[q];
                            L->npick[c] = 1;
                            break;
                        }
                    /* two positive set cells: an item of each */
                    if (!L->npick[c] && t->index[c].type == LEADROUTE_TYPE_SET &&
                        lr__has_item_class(L, c, j, &L->pick[c][0]) && lr__has_item_class(L, c, other, &L->pick[c][1]))
                        L->npick[c] = 2;
                    /* j accepts every value there, and `other` only some that
                     * lint found no value for: no lead to show */
                    named = L->npick[c] != 0;
                }
                if (!named) {
                    if (L->unnamed)
                        lr__bit_set(L->unnamed, j);
                    continue;
                }
                if (lr__full(L)) {
                    lr__drop(L, j, 1);
                    continue;
                }
                w = lr__witness(L);
                if (!w)
                    return lr__error_nomem();
                lr__where(t, j, where, sizeof where);
                if ((rc = lr__add_diag(L, LEADROUTE_DIAG_OVERLAP, j, other, w,
                                       lr__fmt(L, "%srules '%s' and '%s' both match some leads, which hit policy "
                                               "unique forbids; for example: %s", where, t->rules[other].id,
                                               t->rules[j].id, lr__shown(w)))) != 0)
                    return rc;
            }
        }
    }
    return lr__overlap_notice(L, t->nrules, 1);
}

/* ---- findings past the cap ------------------------------------------------------- */

/* Last, one notice for the findings not kept, so that a table with more
 * than the cap does not read as one with exactly that many. */
static int lr__truncated_notice(lr__linter *L)
{
    const leadroute_table *t = L->t;
    char where[300], about[300] = "";
    if (!L->dropped)
        return LEADROUTE_OK;
    lr__where(t, L->dropped_rule, where, sizeof where);
    if (L->dropped_rule != UINT32_MAX)
        snprintf(about, sizeof about, ", %s rule '%s'", L->dropped > 1 ? "the first about" : "about",
                 t->rules[L->dropped_rule].id);
    return lr__add_diag(L, LEADROUTE_DIAG_TRUNCATED, L->dropped_rule, UINT32_MAX, NULL,
                        lr__fmt(L, "%slint keeps at most %u findings, and left out %llu more%s", where,
                                (unsigned)LR_LINT_MAX_DIAGS, (unsigned long long)L->dropped, about));
}

/* ---- output values missing from their priority list ---------------------------- */

static int lr__lint_priorities(lr__linter *L)
{
    leadroute_table *t = L->t;
    uint32_t r, j, k;
    int rc;
    /* only these hit policies rank outputs: under the others a list is unused */
    if (t->hit_policy != LEADROUTE_HIT_PRIORITY && t->hit_policy != LEADROUTE_HIT_OUTPUT_ORDER)
        return LEADROUTE_OK;
    for (j = 0; j < t->noutputs; j++) {
        const lr__column *col = &t->outputs[j];
        if (!col->npriorities)
            continue;
        for (r = 0; r < t->nrules; r++) {
            const leadroute_value *v = lr__rule_output(t, r, j);
            char where[300], shown[96];
            if (v->type == LEADROUTE_VALUE_NULL)
                continue;
            for (k = 0; k < col->npriorities && !lr__value_equal(&col->priorities[k], v); k++)
                ;
            if (k < col->npriorities)
                continue;
            if (lr__full(L)) {
                lr__drop(L, r, 1);
                continue;
            }
            lr__value_show(v, shown, sizeof shown);
            lr__where(t, r, where, sizeof where);
            if ((rc = lr__add_diag(L, LEADROUTE_DIAG_UNLISTED_PRIORITY, r, UINT32_MAX, NULL,
                                   lr__fmt(L, "%srule '%s': output '%s' value %s is not in its priority list, so "
                                           "it ranks below every listed value", where, t->rules[r].id, col->name,
                                           shown))) != 0)
                return rc;
        }
    }
    return LEADROUTE_OK;
}

int lr__table_lint(leadroute_table *t)
{
    lr__linter L;
    uint32_t c, i;
    size_t nclasses;
    int rc = LEADROUTE_OK;
    uint64_t policy_work;

    memset(&L, 0, sizeof L);
    L.t = t;
    L.a = &t->alloc;
    L.budget = lr__lint_pairwise_words;
    L.unnamed_col = UINT32_MAX;
    lr__arena_init(&L.scratch, L.a);
    lr__arena_init(&L.memo_arena, L.a);
    L.cols = lr__calloc(L.a, t->ninputs + 1, sizeof *L.cols);
    L.stack = lr__calloc(L.a, t->ninputs + 2, sizeof *L.stack);
    L.rest = lr__calloc(L.a, t->ninputs + 1, sizeof *L.rest);
    L.order = lr__calloc(L.a, t->ninputs + 1, sizeof *L.order);
    L.pick = lr__calloc(L.a, t->ninputs + 1, sizeof *L.pick);
    L.npick = lr__calloc(L.a, t->ninputs + 1, sizeof *L.npick);
    if (!L.cols || !L.stack || !L.rest || !L.order || !L.pick || !L.npick) {
        rc = lr__error_nomem();
        goto done;
    }
    for (i = 0; i < t->ninputs + 2; i++)
        if (!(L.stack[i] = lr__calloc(L.a, t->nwords, sizeof **L.stack))) {
            rc = lr__error_nomem();
            goto done;
        }
    for (i = 0; i < t->ninputs + 1; i++)
        if (!(L.rest[i] = lr__arena_alloc(&L.scratch, sizeof **L.rest * (t->nwords ? t->nwords : 1)))) {
            rc = lr__error_nomem();
            goto done;
        }
    for (c = 0; c < t->ninputs; c++)
        if (!(L.pick[c] = lr__arena_alloc(&L.scratch, sizeof **L.pick * (t->inputs[c].type == LEADROUTE_TYPE_SET ?
                                                                           LEADROUTE_MAX_SET_ITEMS : 2)))) {
            rc = lr__error_nomem();
            goto done;
        }
    L.tmp = lr__arena_alloc(&L.scratch, sizeof *L.tmp * (t->nwords ? t->nwords : 1));
    L.widx = lr__arena_alloc(&L.scratch, sizeof *L.widx * (t->nwords ? t->nwords : 1));
    L.fpre = lr__arena_alloc(&L.scratch, sizeof *L.fpre * (t->nwords ? t->nwords : 1));
    L.fneed = lr__arena_alloc(&L.scratch, sizeof *L.fneed * (t->nwords ? t->nwords : 1));
    L.facc = lr__arena_alloc(&L.scratch, sizeof *L.facc * (t->nwords ? t->nwords : 1));
    L.hint = lr__arena_zalloc(&L.scratch, sizeof *L.hint * (t->ninputs + 1));
    if (!L.tmp || !L.widx || !L.fpre || !L.fneed || !L.facc || !L.hint) {
        rc = lr__error_nomem();
        goto done;
    }
    for (c = 0, nclasses = 0; c < t->ninputs; c++) {
        if ((rc = lr__classes(&L, c)) != 0)
            goto done;
        nclasses += L.cols[c].nclasses;
    }
    if (!(L.sorted = lr__arena_alloc(&L.scratch, sizeof *L.sorted * (nclasses + 1)))) {
        rc = lr__error_nomem();
        goto done;
    }
    /* The pairwise analyses cost about rules^2/128 words per constrained column. */
    policy_work = (uint64_t)t->nrules * (t->nwords / 2 + 1) * (t->ninputs + 1);
    /* On a column with values lint cannot name, every check still runs:
     * what it finds holds, and what it cannot settle for want of such a
     * value goes into its notice, with the column's name. */
    if (t->hit_policy == LEADROUTE_HIT_FIRST && (rc = lr__lint_shadowed(&L, policy_work)) != 0)
        goto done;
    if (t->hit_policy == LEADROUTE_HIT_UNIQUE && (rc = lr__lint_overlap(&L, policy_work)) != 0)
        goto done;
    if ((rc = lr__lint_nomatch(&L)) != 0)
        goto done;
    if ((rc = lr__lint_priorities(&L)) != 0 || (rc = lr__truncated_notice(&L)) != 0)
        goto done;
    if (L.ndiags) {
        t->diags = lr__arena_alloc(&t->arena, sizeof *t->diags * L.ndiags);
        if (!t->diags) {
            rc = lr__error_nomem();
            goto done;
        }
        memcpy(t->diags, L.diags, sizeof *t->diags * L.ndiags);
        t->ndiags = L.ndiags;
    }
done:
    if (L.cols)
        for (c = 0; c < t->ninputs; c++)
            lr__free(L.a, L.cols[c].classes);
    if (L.stack)
        for (i = 0; i < t->ninputs + 2; i++)
            lr__free(L.a, L.stack[i]);
    lr__free(L.a, L.cols);
    lr__free(L.a, L.stack);
    lr__free(L.a, L.rest);
    lr__free(L.a, L.order);
    lr__free(L.a, L.pick);
    lr__free(L.a, L.npick);
    lr__free(L.a, L.pool);
    lr__free(L.a, L.memo_keys);
    lr__free(L.a, L.memo_sets);
    lr__free(L.a, L.diags);
    lr__arena_free(&L.memo_arena);
    lr__arena_free(&L.scratch);
    return rc;
}

