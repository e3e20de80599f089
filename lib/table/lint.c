/* Lint: findings about the table as a whole, computed on the compiled index.
 *
 * Each column splits lead values into classes (the index outcomes); all
 * values of a class select the same rules. Reasoning over classes is exact
 * for scalar columns. For set columns a class is one item; covers are only
 * taken from rules with a positive (not negated) set cell, which keeps every
 * finding sound for leads with several items.
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

/* Work bounds: lint never takes more than a few seconds on huge tables. */
#define LR_LINT_WORD_BUDGET ((uint64_t)1000000000u)
#define LR_LINT_DFS_NODES 4096u
#define LR_LINT_MAX_DIAGS 1000u

size_t lr__lint_scratch_bytes = (size_t)64 << 20;

typedef struct lr__class {
    uint32_t outcome;
    const char *value;      /* representative, NULL = missing */
    uint64_t *bits;         /* final column bitset of the class; NULL once lint's memory
                               bound is reached: then read from the outcome (lr__class_word) */
} lr__class;

typedef struct lr__lcol {
    lr__class *classes;
    uint32_t nclasses;
    int incomplete;         /* a class has no representative value: reason no further
                               about this column */
    uint8_t *seen;          /* per outcome: already a class */
    uint64_t *all;          /* rules in every class of the column */
    uint64_t *nset;         /* set columns: rules with a negated cell */
    uint64_t *items;        /* set columns: positive cells that accept some item */
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
    uint64_t budget;
    uint64_t **stack;       /* DFS scratch, one bitset per depth */
    uint32_t nodes;
    uint32_t *order;        /* DFS column order */
    uint32_t *choice;       /* DFS: class chosen per column */
    lr__arena scratch;      /* class bitsets and values, freed after lint */
    uint64_t *tmp;          /* a bitset built from an outcome (lr__class_bits) */
} lr__linter;

static char *lr__fmt(lr__linter *L, const char *fmt, ...) LR__PRINTF(2, 3);
static char *lr__fmt(lr__linter *L, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return lr__arena_strndup(&L->t->arena, buf, strlen(buf));
}

static int lr__add_diag(lr__linter *L, uint32_t kind, uint32_t rule, uint32_t other, const char *witness,
                        const char *message)
{
    int rc;
    if (!message)
        return lr__error_nomem();
    if (L->ndiags >= LR_LINT_MAX_DIAGS)
        return LEADROUTE_OK;
    if ((rc = lr__vec_reserve(L->a, (void **)&L->diags, &L->cap_diags, (size_t)L->ndiags + 1, sizeof *L->diags)) != 0)
        return rc;
    L->diags[L->ndiags].kind = kind;
    L->diags[L->ndiags].rule = rule;
    L->diags[L->ndiags].other = other;
    L->diags[L->ndiags].witness = witness;
    L->diags[L->ndiags].message = message;
    L->ndiags++;
    return LEADROUTE_OK;
}

static inline void lr__spend(lr__linter *L, uint64_t work)
{
    L->budget = L->budget > work ? L->budget - work : 0;
}

/* "file:12: " or "" for built tables */
static void lr__where(const leadroute_table *t, uint32_t rule, char *buf, size_t cap)
{
    if (t->file && rule != UINT32_MAX && t->rules[rule].line)
        snprintf(buf, cap, "%s:%u: ", t->file, t->rules[rule].line);
    else if (t->file)
        snprintf(buf, cap, "%s: ", t->file);
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
    /* an open side gets a far end, on the same side of zero */
    if (isinf(a))
        a = b > 0 ? b / 2 : b < 0 ? b * 2 : -1;
    if (isinf(b))
        b = a > 0 ? a * 2 : a < 0 ? a / 2 : 1;
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

/* A text value of the class `want`: the base plus a suffix, or "other". */
static const char *lr__text_for(lr__linter *L, const lr__index *ix, const char *base, uint32_t len, uint32_t want)
{
    static const char *suffixes[] = { "", "0", "1", "9", "x", "z", "~", "-other", "_0", "~~other" };
    char buf[LEADROUTE_MAX_STRING + 16];
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
        if (lr__index_lookup_text(ix, buf, n) == want)
            return lr__arena_strndup(&L->scratch, buf, n);
    }
    return NULL;
}

/* The AND (`all` 1) of the bitsets of every class of column c, or the OR
 * of every class but the missing one, into out. Classes read from sparse
 * outcomes cost their few words, not the whole bitset: each is D but
 * where its T has words, so D counts wherever some such class has none. */
static int lr__classes_fold(lr__linter *L, uint32_t c, int all, uint64_t *out)
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
        if (!all && cl->outcome == ix->null_outcome)
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
                col->incomplete = 1;
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
            col->incomplete = 1;
        else if ((rc = lr__class_add(L, col, ix, ix->other_outcome, other, &cap)) != 0)
            return rc;
        for (m = 0; m < 2; m++)
            for (i = 0; i <= maps[m]->mask; i++) {
                const lr__keymap_entry *e = &maps[m]->slots[i];
                const char *v;
                if (!e->str)
                    continue;
                v = lr__text_for(L, ix, e->str, e->len, e->outcome);
                if (!v)
                    col->incomplete = 1;
                else if ((rc = lr__class_add(L, col, ix, e->outcome, v, &cap)) != 0)
                    return rc;
            }
    }
    /* missing comes last so witnesses show real values first */
    if ((rc = lr__class_add(L, col, ix, ix->null_outcome, NULL, &cap)) != 0)
        return rc;
    col->all = lr__arena_alloc(&L->scratch, sizeof *col->all * t->nwords);
    col->nset = lr__arena_zalloc(&L->scratch, sizeof *col->nset * t->nwords);
    if (!col->all || !col->nset)
        return lr__error_nomem();
    if ((rc = lr__classes_index(L, c)) != 0)
        return rc;
    if ((rc = lr__classes_fold(L, c, 1, col->all)) != 0)
        return rc;
    if (ix->type == LEADROUTE_TYPE_SET) {
        col->items = lr__arena_zalloc(&L->scratch, sizeof *col->items * t->nwords);
        if (!col->items)
            return lr__error_nomem();
        for (r = 0; r < t->nrules; r++)
            if (t->rules[r].cells[c].negated)
                lr__bit_set(col->nset, r);
        if ((rc = lr__classes_fold(L, c, 0, col->items)) != 0)
            return rc;
        for (r = 0; r < t->nrules; r++)
            if (t->rules[r].cells[c].any || t->rules[r].cells[c].negated)
                col->items[r >> 6] &= ~((uint64_t)1 << (r & 63));
    }
    return LEADROUTE_OK;
}

/* "region=EMEA; employees=50" from the classes chosen per column. */
/* Append a witness value, quoted as a cell quotes it ("a; b", \" and \\
 * escaped) when it would not read back plainly: it holds a separator of
 * the witness (; = , { }), a quote or backslash, a blank at an end, or is
 * the word null (a missing field). */
static size_t lr__witness_value(char *buf, size_t n, size_t cap, const char *v)
{
    size_t len = strlen(v), i;
    int quote = len == 0 || v[0] == ' ' || v[len - 1] == ' ' || lr__equal_ci(v, len, "null") ||
                strpbrk(v, ";=,{}\"\\") != NULL;
    if (!quote)
        return n + (size_t)snprintf(buf + n, n < cap ? cap - n : 0, "%s", v);
    if (n + 1 < cap)
        buf[n++] = '"';
    for (i = 0; i < len && n + 2 < cap; i++) {
        if (v[i] == '"' || v[i] == '\\')
            buf[n++] = '\\';
        buf[n++] = v[i];
    }
    if (n + 1 < cap)
        buf[n++] = '"';
    buf[n < cap ? n : cap - 1] = '\0';
    return n;
}

static const char *lr__witness(lr__linter *L, const uint32_t *choice, const uint32_t *second)
{
    leadroute_table *t = L->t;
    char buf[4096];
    size_t n = 0, cap = sizeof buf - 8; /* room for the closing brace */
    uint32_t c;
    buf[0] = '\0';
    for (c = 0; c < t->ninputs && n < cap; c++) {
        const lr__class *k = choice[c] == UINT32_MAX ? NULL : &L->cols[c].classes[choice[c]];
        const lr__class *k2 = second && second[c] != UINT32_MAX ? &L->cols[c].classes[second[c]] : NULL;
        int set = t->inputs[c].type == LEADROUTE_TYPE_SET;
        if (!k || !k->value)
            continue;
        n += (size_t)snprintf(buf + n, cap - n, "%s%s=%s", n ? "; " : "", t->inputs[c].name, set ? "{" : "");
        n = lr__witness_value(buf, n < cap ? n : cap, cap, k->value);
        if (set && k2 && k2->value && n < cap) {
            n += (size_t)snprintf(buf + n, cap - n, ", ");
            n = lr__witness_value(buf, n < cap ? n : cap, cap, k2->value);
        }
        if (set && n < cap)
            n += (size_t)snprintf(buf + n, cap - n, "}");
    }
    /* n == 0: every field missing, which is the empty witness */
    return lr__arena_strndup(&t->arena, buf, strlen(buf));
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

/* ---- no match -------------------------------------------------------------- */

/* Rules of `cur` that class k keeps: a class read from a sparse outcome
 * is D but for the words of its T, so it costs those words and, once per
 * node, the count of cur & D (*base, UINT32_MAX until counted). */
static uint32_t lr__class_survivors(const lr__linter *L, uint32_t c, const lr__class *k, const uint64_t *cur,
                                    uint32_t *base)
{
    const leadroute_table *t = L->t;
    const lr__index *ix = &t->index[c];
    const lr__outcome *o = &ix->outcomes[k->outcome];
    uint32_t n = 0, i, p;
    if (k->bits || o->nnz == LR_DENSE) {
        for (i = 0; i < t->nwords; i++)
            n += (uint32_t)__builtin_popcountll(cur[i] & lr__class_word(L, c, k, i));
        return n;
    }
    if (*base == UINT32_MAX) {
        *base = 0;
        for (i = 0; i < t->nwords; i++)
            *base += (uint32_t)__builtin_popcountll(cur[i] & ix->dwords[i]);
    }
    n = *base;
    for (p = 0; p < o->nnz; p++) {
        uint32_t w = o->idx[p];
        n -= (uint32_t)__builtin_popcountll(cur[w] & ix->dwords[w]);
        n += (uint32_t)__builtin_popcountll(cur[w] & (ix->dwords[w] ^ o->words[p]));
    }
    return n;
}

/* Depth-first over columns: is there a class combination no rule survives?
 * A rule that accepts every class of the columns left survives whatever
 * they take, so such a subtree holds no answer; the classes of a column
 * are tried fewest survivors first, which finds an answer early when there
 * is one. `scratch` holds the survivor count of each class of this column,
 * then room for the deeper ones. */
static int lr__dfs_nomatch(lr__linter *L, uint32_t depth, uint32_t *scratch)
{
    leadroute_table *t = L->t;
    const uint64_t *cur = L->stack[depth];
    uint64_t *next = L->stack[depth + 1];
    uint32_t c, k, i, d, tried, base = UINT32_MAX;
    if (depth == t->ninputs || ++L->nodes > LR_LINT_DFS_NODES * 16)
        return 0;
    for (i = 0; i < t->nwords; i++) {
        uint64_t x = cur[i];
        for (d = depth; d < t->ninputs && x; d++)
            x &= L->cols[L->order[d]].all[i];
        if (x)
            return 0;
    }
    c = L->order[depth];
    for (k = 0; k < L->cols[c].nclasses; k++)
        scratch[k] = lr__class_survivors(L, c, &L->cols[c].classes[k], cur, &base);
    for (tried = 0; tried < L->cols[c].nclasses; tried++) {
        uint32_t best = UINT32_MAX;
        const uint64_t *b;
        for (k = 0; k < L->cols[c].nclasses; k++)
            if (scratch[k] != UINT32_MAX && (best == UINT32_MAX || scratch[k] < scratch[best]))
                best = k;
        /* the counts only order the classes; the answer is the AND itself */
        scratch[best] = UINT32_MAX;
        L->choice[c] = best;
        b = lr__class_bits(L, c, &L->cols[c].classes[best]);
        for (i = 0; i < t->nwords; i++)
            next[i] = cur[i] & b[i];
        if (!lr__any_bits(next, t->nwords))
            return 1;
        /* each level keeps its counts in its own part of scratch */
        if (lr__dfs_nomatch(L, depth + 1, scratch + L->cols[c].nclasses))
            return 1;
    }
    L->choice[c] = UINT32_MAX;
    return 0;
}

static int lr__lint_nomatch(lr__linter *L)
{
    leadroute_table *t = L->t;
    uint32_t r, c, i, nclasses, *scratch;
    int found;
    for (r = 0; r < t->nrules; r++) {
        for (c = 0; c < t->ninputs && t->rules[r].cells[c].any; c++)
            ;
        if (c == t->ninputs)
            return LEADROUTE_OK; /* a catch-all */
    }
    if (t->nrules == 0) {
        char where[300];
        const char *w = lr__arena_strndup(&t->arena, "", 0); /* every field missing */
        lr__where(t, UINT32_MAX, where, sizeof where);
        if (!w)
            return lr__error_nomem();
        return lr__add_diag(L, LEADROUTE_DIAG_NO_MATCH, UINT32_MAX, UINT32_MAX, w,
                            lr__fmt(L, "%sthe table has no rules, so no lead matches", where));
    }
    for (i = 0; i < t->nwords; i++)
        L->stack[0][i] = ~(uint64_t)0;
    if (t->nrules & 63)
        L->stack[0][t->nwords - 1] = ((uint64_t)1 << (t->nrules & 63)) - 1;
    for (c = 0; c < t->ninputs; c++) {
        L->order[c] = c;
        L->choice[c] = UINT32_MAX;
    }
    L->nodes = 0;
    for (c = 0, nclasses = 0; c < t->ninputs; c++)
        nclasses += L->cols[c].nclasses;
    if (!(scratch = lr__calloc(L->a, nclasses + 1, sizeof *scratch)))
        return lr__error_nomem();
    found = t->nrules && t->ninputs && lr__dfs_nomatch(L, 0, scratch);
    lr__free(L->a, scratch);
    if (found) {
        char where[300];
        const char *w = lr__witness(L, L->choice, NULL);
        lr__where(t, UINT32_MAX, where, sizeof where);
        if (!w)
            return lr__error_nomem();
        return lr__add_diag(L, LEADROUTE_DIAG_NO_MATCH, UINT32_MAX, UINT32_MAX, w,
                            lr__fmt(L, "%sno rule matches some leads (the table has no catch-all rule); "
                                    "for example: %s", where, lr__shown(w)));
    }
    return LEADROUTE_OK;
}

/* ---- shadowed rules (FIRST) --------------------------------------------------- */

/* Every class combination j accepts keeps some earlier rule alive? */
static int lr__dfs_covered(lr__linter *L, uint32_t j, uint32_t depth, uint32_t nw)
{
    leadroute_table *t = L->t;
    uint32_t c, k, i, q, nk;
    const uint32_t *ks;
    int exact;
    const uint64_t *cur = L->stack[depth];
    if (depth == t->ninputs)
        return 1;
    if (++L->nodes > LR_LINT_DFS_NODES || L->budget == 0)
        return -1;
    c = L->order[depth];
    ks = lr__classes_of(L, c, j, &nk, &exact);
    lr__spend(L, nk + 1);
    /* a live rule that accepts every class of the remaining columns covers it all */
    {
        uint32_t d;
        for (i = 0; i < nw; i++) {
            uint64_t x = cur[i];
            for (d = depth; d < t->ninputs && x; d++)
                x &= L->cols[L->order[d]].all[i] & ~L->cols[L->order[d]].nset[i];
            if (x)
                return 1;
        }
    }
    for (q = 0; q < nk; q++) {
        const uint64_t *b;
        uint64_t *next = L->stack[depth + 1];
        int sub;
        k = ks[q];
        if (!exact && !lr__class_bit(L, c, &L->cols[c].classes[k], j))
            continue;
        b = lr__class_bits(L, c, &L->cols[c].classes[k]);
        int missing = L->cols[c].classes[k].outcome == t->index[c].null_outcome;
        for (i = 0; i < nw; i++)
            next[i] = cur[i] & b[i] & (missing ? ~(uint64_t)0 : ~L->cols[c].nset[i]);
        if (!lr__any_bits(next, nw))
            return 0;
        sub = lr__dfs_covered(L, j, depth + 1, nw);
        if (sub != 1)
            return sub;
    }
    return 1;
}

static int lr__lint_shadowed(lr__linter *L)
{
    leadroute_table *t = L->t;
    uint64_t *cover = L->stack[t->ninputs + 1];
    uint32_t j, c, k, i, q, nk;
    const uint32_t *ks;
    int rc, exact;

    for (j = 1; j < t->nrules; j++) {
        uint32_t nw = j / 64 + 1, first = UINT32_MAX;
        uint64_t lastmask = (j & 63) ? (((uint64_t)1 << (j & 63)) - 1) : 0;
        if (L->budget < (uint64_t)nw * t->ninputs * 4)
            break;
        /* rules before j that accept, in every column, every class j accepts */
        for (i = 0; i < nw; i++)
            cover[i] = ~(uint64_t)0;
        cover[nw - 1] = lastmask;
        for (c = 0; c < t->ninputs && lr__any_bits(cover, nw); c++) {
            const lr__lcol *col = &L->cols[c];
            if (t->rules[j].cells[c].any) {
                for (i = 0; i < nw; i++)
                    cover[i] &= col->all[i] & ~col->nset[i];
                lr__spend(L, nw);
                continue;
            }
            ks = lr__classes_of(L, c, j, &nk, &exact);
            lr__spend(L, nk + 1);
            for (q = 0; q < nk; q++) {
                k = ks[q];
                if (exact || lr__class_bit(L, c, &col->classes[k], j)) {
                    /* a missing value has no items, so negated set cells cover it exactly */
                    int missing = col->classes[k].outcome == t->index[c].null_outcome;
                    const uint64_t *b = lr__class_bits(L, c, &col->classes[k]);
                    for (i = 0; i < nw; i++)
                        cover[i] &= b[i] & (missing ? ~(uint64_t)0 : ~col->nset[i]);
                    lr__spend(L, nw);
                }
            }
        }
        for (i = 0; i < nw && first == UINT32_MAX; i++)
            if (cover[i])
                first = i * 64 + lr__ctz64(cover[i]);
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
        /* several earlier rules together? explore j's classes column by column */
        {
            uint32_t d = 0;
            int covered;
            for (c = 0; c < t->ninputs; c++)
                if (!t->rules[j].cells[c].any)
                    L->order[d++] = c;
            for (c = 0; c < t->ninputs; c++)
                if (t->rules[j].cells[c].any)
                    L->order[d++] = c;
            for (i = 0; i < nw; i++)
                L->stack[0][i] = ~(uint64_t)0;
            L->stack[0][nw - 1] = lastmask;
            L->nodes = 0;
            covered = lr__dfs_covered(L, j, 0, nw);
            lr__spend(L, (uint64_t)L->nodes * nw);
            if (covered == 1) {
                char where[300];
                lr__where(t, j, where, sizeof where);
                if ((rc = lr__add_diag(L, LEADROUTE_DIAG_SHADOWED, j, UINT32_MAX, NULL,
                                       lr__fmt(L, "%srule '%s' can never fire: the rules before it together match "
                                               "every lead it matches", where, t->rules[j].id))) != 0)
                    return rc;
            }
        }
    }
    return LEADROUTE_OK;
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

static int lr__lint_overlap(lr__linter *L)
{
    leadroute_table *t = L->t;
    uint64_t *both = L->stack[t->ninputs + 1];
    uint32_t *second = L->order; /* reused: second item class per set column */
    uint32_t j, c, k, i, q, nk;
    const uint32_t *ks;
    int rc, exact;

    for (j = 1; j < t->nrules; j++) {
        uint32_t nw = j / 64 + 1;
        uint64_t lastmask = (j & 63) ? (((uint64_t)1 << (j & 63)) - 1) : 0;
        if (L->budget < (uint64_t)nw * t->ninputs * 4)
            break;
        for (i = 0; i < nw; i++)
            both[i] = ~(uint64_t)0;
        both[nw - 1] = lastmask;
        /* rules before j sharing, in every column, a class with j */
        for (c = 0; c < t->ninputs && lr__any_bits(both, nw); c++) {
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
            for (i = 0; i < nw; i++)
                both[i] &= acc[i];
        }
        for (i = 0; i < nw; i++) {
            uint64_t x = both[i];
            while (x) {
                uint32_t other = i * 64 + lr__ctz64(x);
                const char *w;
                char where[300];
                x &= x - 1;
                for (c = 0; c < t->ninputs; c++) {
                    const lr__lcol *col = &L->cols[c];
                    L->choice[c] = UINT32_MAX;
                    second[c] = UINT32_MAX;
                    if (t->rules[j].cells[c].any && t->rules[other].cells[c].any)
                        continue; /* leave the field out: missing suits both */
                    ks = lr__classes_of(L, c, j, &nk, &exact);
                    for (q = 0; q < nk; q++)
                        if ((exact || lr__class_bit(L, c, &col->classes[ks[q]], j)) &&
                            lr__class_bit(L, c, &col->classes[ks[q]], other)) {
                            L->choice[c] = ks[q];
                            break;
                        }
                    if (L->choice[c] == UINT32_MAX && t->index[c].type == LEADROUTE_TYPE_SET) {
                        uint32_t a1, a2;
                        if (lr__has_item_class(L, c, j, &a1) && lr__has_item_class(L, c, other, &a2)) {
                            L->choice[c] = a1;
                            second[c] = a2;
                        }
                    }
                }
                w = lr__witness(L, L->choice, second);
                if (!w)
                    return lr__error_nomem();
                lr__where(t, j, where, sizeof where);
                if ((rc = lr__add_diag(L, LEADROUTE_DIAG_OVERLAP, j, other, w,
                                       lr__fmt(L, "%srules '%s' and '%s' both match some leads, which hit policy "
                                               "unique forbids; for example: %s", where, t->rules[other].id,
                                               t->rules[j].id, lr__shown(w)))) != 0)
                    return rc;
                if (L->ndiags >= LR_LINT_MAX_DIAGS)
                    return LEADROUTE_OK;
            }
        }
    }
    return LEADROUTE_OK;
}

/* ---- output values missing from their priority list ---------------------------- */

static int lr__lint_priorities(lr__linter *L)
{
    leadroute_table *t = L->t;
    uint32_t r, j, k;
    int rc;
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
    int rc = LEADROUTE_OK, complete = 1;
    uint64_t policy_work;

    memset(&L, 0, sizeof L);
    L.t = t;
    L.a = &t->alloc;
    L.budget = LR_LINT_WORD_BUDGET;
    lr__arena_init(&L.scratch, L.a);
    L.cols = lr__calloc(L.a, t->ninputs + 1, sizeof *L.cols);
    L.stack = lr__calloc(L.a, t->ninputs + 2, sizeof *L.stack);
    L.order = lr__calloc(L.a, t->ninputs + 1, sizeof *L.order);
    L.choice = lr__calloc(L.a, t->ninputs + 1, sizeof *L.choice);
    if (!L.cols || !L.stack || !L.order || !L.choice) {
        rc = lr__error_nomem();
        goto done;
    }
    for (i = 0; i < t->ninputs + 2; i++)
        if (!(L.stack[i] = lr__calloc(L.a, t->nwords, sizeof **L.stack))) {
            rc = lr__error_nomem();
            goto done;
        }
    if (!(L.tmp = lr__arena_alloc(&L.scratch, sizeof *L.tmp * (t->nwords ? t->nwords : 1)))) {
        rc = lr__error_nomem();
        goto done;
    }
    for (c = 0; c < t->ninputs; c++) {
        if ((rc = lr__classes(&L, c)) != 0)
            goto done;
        complete = complete && !L.cols[c].incomplete;
    }
    /* The pairwise analyses cost about rules^2/128 words per constrained column. */
    policy_work = (uint64_t)t->nrules * (t->nwords / 2 + 1) * (t->ninputs + 1);
    /* Shadowing and no-match reason over every class; overlaps need only
     * the classes found, so they stay sound on an incomplete column. */
    if (complete && t->hit_policy == LEADROUTE_HIT_FIRST && policy_work < L.budget &&
        (rc = lr__lint_shadowed(&L)) != 0)
        goto done;
    if (t->hit_policy == LEADROUTE_HIT_UNIQUE && policy_work < L.budget && (rc = lr__lint_overlap(&L)) != 0)
        goto done;
    if (complete && (rc = lr__lint_nomatch(&L)) != 0)
        goto done;
    if ((rc = lr__lint_priorities(&L)) != 0)
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
    lr__free(L.a, L.order);
    lr__free(L.a, L.choice);
    lr__free(L.a, L.diags);
    lr__arena_free(&L.scratch);
    return rc;
}
