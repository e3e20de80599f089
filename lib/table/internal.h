/* Internal representation of decision tables, shared by the table modules.
 *
 * Data path: text -> csv -> parse (directives, header, rows) -> builder
 * (cells parsed into atoms) -> compile (per-column index of outcome bitsets)
 * -> eval (AND of the columns' outcome bitsets, block by block).
 */
#ifndef LR_TABLE_INTERNAL_H
#define LR_TABLE_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>

#include <string.h>

#include "base/alloc.h"
#include "base/hash.h"
#include "leadroute/table.h"

/* ---- cells -------------------------------------------------------------- */

enum lr__atom_kind {
    LR_ATOM_EQ = 1,      /* string/bool equality: str,len (already folded for :ci) */
    LR_ATOM_RANGE = 2,   /* number interval (equality is [x..x]) */
    LR_ATOM_PREFIX = 3,  /* string prefix: str,len */
    LR_ATOM_NULL = 4     /* the value is missing */
};

typedef struct lr__atom {
    uint8_t kind;
    uint8_t has_lo : 1, has_hi : 1;    /* RANGE: a missing bound is infinite */
    uint8_t lo_open : 1, hi_open : 1;  /* RANGE: 1 = bound excluded */
    uint32_t len;                      /* EQ, PREFIX */
    union {                    /* by kind: tables hold millions of atoms */
        struct { double lo, hi; };           /* RANGE */
        const char *str;                     /* EQ, PREFIX */
    };
} lr__atom;

static inline int lr__atom_has_text(const lr__atom *a)
{
    return a->kind == LR_ATOM_EQ || a->kind == LR_ATOM_PREFIX;
}

typedef struct lr__cell {
    uint8_t any;       /* '-' or empty: matches everything */
    uint8_t negated;   /* not(...) or != : matches exactly what the atoms do not */
    uint32_t natoms;
    lr__atom *atoms;
} lr__cell;

/* ---- columns and rules ---------------------------------------------------- */

typedef struct lr__column {
    const char *name;
    uint32_t type;    /* leadroute_column_type */
    uint32_t flags;   /* LEADROUTE_COLUMN_* */
    /* outputs: priority list, highest first */
    leadroute_value *priorities;
    uint32_t npriorities;
} lr__column;

typedef struct lr__rule {
    const char *id;
    uint32_t line;
    lr__cell *cells;            /* one per input column */
    leadroute_value *outputs;   /* builder only; a table interns them (lr__rule_output) */
} lr__rule;

/* Where a rule came from, for messages: a table file line, or a built rule. */
typedef struct lr__origin {
    const char *file;           /* NULL for the builder API */
    uint32_t line;
    const uint32_t *cell_cols;  /* 1-based byte column of each cell, or NULL */
    const uint32_t *cell_lines; /* line each cell starts on (a quoted cell may span lines) */
    const uint8_t *cell_quoted; /* whether each cell was quoted in the CSV */
    uint32_t id_col;            /* byte column of the rule id cell, 0 if none */
} lr__origin;

/* ---- compiled index ------------------------------------------------------- */

/* An outcome: the rules a class of lead values selects in one column.
 * Dense: `words` holds nwords words. Sparse: nnz (word index, word) pairs.
 * For scalar columns a dense outcome stores the final column bitset and a
 * sparse one stores T, the difference from the column default D (final = D ^ T);
 * set columns always store T. `summary` has one bit per word of the final
 * bitset (scalar) or of T (set) that may be non-zero. */
typedef struct lr__outcome {
    uint32_t nnz;             /* LR_DENSE for dense */
    uint32_t popcount;        /* bits in the final bitset (scalar) or in T (set) */
    const uint32_t *idx;      /* sparse: word indexes, ascending */
    const uint64_t *words;    /* dense: nwords; sparse: nnz */
    const uint64_t *summary;  /* dense: nsum words and the top words; sparse: NULL (derived
                                 while scanning) */
} lr__outcome;

#define LR_DENSE UINT32_MAX

/* Summaries carry, after their nsum words, lr__top_words(nsum) top words:
 * a bit per summary word that is not zero, so the scan skips empty blocks
 * of 4096 rules in one step. */
static inline uint32_t lr__top_words(uint32_t nsum)
{
    return (nsum + 63) / 64;
}

/* The scan ANDs dense columns LR_SCAN_GROUP words at a time; dense bitsets
 * are padded with zero words up to a multiple of it. */
#define LR_SCAN_GROUP 4u
static inline uint32_t lr__padded_words(uint32_t nwords)
{
    return (nwords + LR_SCAN_GROUP - 1) / LR_SCAN_GROUP * LR_SCAN_GROUP;
}

/* Keys of at most LR_SHORT_KEY bytes are kept as two words (lr__key_words)
 * in the slot itself, so a lookup compares two words and a length: no
 * pointer to follow, no byte loop. Longer keys keep their XXH3 hash in w0
 * and are compared byte by byte. */
#define LR_SHORT_KEY 16u

typedef struct lr__keymap_entry {
    uint64_t w0, w1;          /* lr__key_words of the key */
    const char *str;          /* NULL = empty slot */
    uint32_t len;
    uint32_t outcome;
} lr__keymap_entry;

typedef struct lr__keymap {
    lr__keymap_entry *slots;  /* power-of-two size, str NULL = empty */
    uint32_t mask;
    uint32_t count;
    uint32_t shift;           /* 64 - log2(size): lr__key_slot keeps the top bits */
} lr__keymap;

typedef struct lr__index {
    uint32_t type;
    int folded;               /* :ci */
    /* column default D: rules whose cell is any or negated */
    const uint64_t *dwords;
    const uint64_t *dsummary;
    uint32_t dpopcount;
    lr__outcome *outcomes;
    uint32_t noutcomes;
    uint32_t null_outcome;    /* outcome for a missing value */
    uint32_t other_outcome;   /* value in no key/prefix/segment class: D (scalar) or empty T (set) */
    /* strings, bools, sets */
    lr__keymap keys;
    lr__keymap prefixes;      /* value: prefix number; its outcome is prefix_base + number */
    uint32_t prefix_base;
    uint32_t *prefix_lens;    /* distinct prefix lengths, descending */
    uint32_t nprefix_lens;
    /* numbers: k endpoints, 2k+1 segments */
    double *points;
    uint32_t npoints;
    uint32_t *segment_outcome;
} lr__index;

typedef struct lr__diag {
    uint32_t kind;
    uint32_t rule, other;     /* rule indexes, UINT32_MAX if none */
    const char *witness;
    const char *message;
} lr__diag;

struct lr__plan;

struct leadroute_table {
    atomic_uint refs;
    lr__alloc alloc;
    lr__arena arena;
    const char *file;
    const char *name, *version;
    uint64_t hash;
    uint32_t hit_policy, aggregation;
    uint32_t ninputs, noutputs, nrules;
    uint32_t nwords, nsum;    /* 64-bit words per rule bitset, and per summary */
    lr__column *inputs, *outputs;
    lr__rule *rules;
    lr__index *index;         /* per input column */
    /* the scan for this CPU (lr__scan_pick) */
    void (*scan)(const leadroute_table *t, leadroute_result *r, const struct lr__plan *plan, int first_only);
    /* the same without skipping (lr__table_eval_plain) */
    void (*scan_plain)(const leadroute_table *t, leadroute_result *r, const struct lr__plan *plan, int first_only);
    const uint64_t *zeros;    /* padded nwords, or nsum summary and top words, of zero: the
                                 scan's stand-in for absent set parts */
    uint32_t nset_columns;
    uint32_t *prio_order;     /* PRIORITY/OUTPUT ORDER: rank of each rule, 0 = highest */
    uint32_t **value_ids;     /* per output, per rule: id of its value (equal values share
                                 ids), UINT32_MAX for null */
    uint32_t *value_id_count; /* per output: distinct ids */
    uint32_t max_value_ids;   /* the largest of those: COUNT's scratch size */
    leadroute_value **out_values; /* per output: its distinct values, by id */
    leadroute_value null_value;
    lr__diag *diags;
    uint32_t ndiags;
    size_t memory;
};

/* Output `out` of rule `rule`: values are stored once per column. */
static inline const leadroute_value *lr__rule_output(const leadroute_table *t, uint32_t rule, uint32_t out)
{
    uint32_t id = t->value_ids[out][rule];
    return id == UINT32_MAX ? &t->null_value : &t->out_values[out][id];
}

/* ---- the evaluation scratch, owned by leadroute_result ---------------------- */

typedef struct lr__view {
    uint32_t kind;            /* LR_VIEW_DENSE, _SPARSE, _MULTI */
    uint32_t popcount;
    const uint64_t *words;    /* DENSE: the final bitset; SPARSE/MULTI: D */
    const uint64_t *summary;  /* DENSE: final summary; SPARSE/MULTI: D summary */
    const lr__outcome *sparse;/* SPARSE: T */
    uint32_t pos, spos;       /* SPARSE: cursors for words and for summary blocks */
    uint32_t nparts;          /* MULTI: number of T parts */
    const lr__outcome **parts;/* MULTI */
    uint32_t *part_pos;       /* MULTI: cursors of sparse parts */
    uint32_t *part_spos;      /* MULTI: their summary cursors */
} lr__view;

enum { LR_VIEW_DENSE = 1, LR_VIEW_SPARSE = 2, LR_VIEW_MULTI = 3 };

/* A set column of dense parts, ANDed by the scan as D ^ (P0 | ... | P3)
 * without dispatch; absent parts point at the table's zeros. */
#define LR_XSET_PARTS 4u
typedef struct lr__xset {
    const uint64_t *d, *p[LR_XSET_PARTS];    /* words */
    const uint64_t *ds, *ps[LR_XSET_PARTS];  /* summaries with their top words */
} lr__xset;

struct leadroute_result {
    lr__alloc alloc;
    const leadroute_table *table;
    uint32_t count;
    uint32_t cap_rules;       /* hits holds this many */
    uint32_t cap_inputs;
    uint32_t cap_outputs;
    uint32_t cap_parts;       /* set columns * (LEADROUTE_MAX_SET_ITEMS + 1) */
    uint32_t *hits;
    uint32_t *stamps;
    uint32_t stamp;
    uint32_t cap_stamps;
    leadroute_value *aggregates;
    int has_aggregates;
    lr__view *views;
    lr__view **order;
    const uint64_t **dense_words; /* scan: dense columns' words and summaries */
    const uint64_t **dense_sums;
    lr__xset *xsets;          /* scan: set columns of dense parts */
    const lr__outcome **parts;
    uint32_t *part_pos;
    uint32_t *part_spos;
    char fold[LEADROUTE_MAX_STRING + 8];
};

/* The columns of one evaluation. Dense ones are bare word pointers and set
 * columns of dense parts are lr__xset: the scan ANDs both over a group of
 * words without a branch, so their order does not matter. Sparse outcomes
 * are views, consulted only for words where the others left a bit, rarest
 * first. */
typedef struct lr__plan {
    uint32_t nd, ns, nx;      /* dense columns, xsets, views */
    int dead;                 /* a column accepts no rule: nothing can match */
} lr__plan;

/* The scan of one evaluation, compiled for the machine's vector width. */
typedef void (*lr__scan_fn)(const leadroute_table *t, leadroute_result *r, const lr__plan *plan, int first_only);

/* The best scan this CPU runs (tables keep it in `scan`), or with
 * `skipping` 0 the same kernel ANDing every word (in `scan_plain`). */
lr__scan_fn lr__scan_pick(int skipping);

/* Nonzero: lr__scan_pick gives the portable scan. Only tests set it, to
 * check that scan on CPUs that would take another. */
extern int lr__scan_portable_only;

/* ---- lead input normalisation, shared by both evaluators -------------------- */

enum { LR_IN_NULL = 0, LR_IN_STR = 1, LR_IN_NUM = 2, LR_IN_SET = 3 };

typedef struct lr__input {
    uint32_t kind;
    const char *str;          /* STR: trimmed, not folded */
    size_t len;
    double num;
    const char *const *items; /* SET: raw items (trim and fold per item) */
    size_t nitems;
} lr__input;

/* Read the lead's value for input column `col`, checked and normalised. */
int lr__input_get(const leadroute_table *t, const leadroute_lead *lead, uint32_t col, lr__input *in);

/* Trim (and fold for :ci) one string into `buf`; returns the text to match
 * and sets *len; an empty result means missing. */
const char *lr__input_text(const lr__index *ix, const char *s, size_t len, char *buf, size_t *out_len);

/* Does atom `a` accept the normalised text / number? (reference semantics) */
int lr__atom_match_text(const lr__atom *a, const char *s, size_t len);
int lr__atom_match_number(const lr__atom *a, double x);

/* Turn a full list of matching rules (ascending, in result->hits) into the
 * hit-policy answer; shared by the compiled and the reference evaluator. */
int lr__apply_policy(const leadroute_table *t, leadroute_result *r);

/* Does the result have room for every evaluation of the table? */
static inline int lr__result_fits(const leadroute_table *t, const leadroute_result *r)
{
    return r->cap_rules >= t->nrules && r->cap_inputs >= t->ninputs && r->cap_outputs >= t->noutputs &&
           r->cap_parts >= t->nset_columns * (LEADROUTE_MAX_SET_ITEMS + 1u) && r->cap_stamps >= t->max_value_ids;
}

/* Start an evaluation: check the arguments, the lead header and that the
 * result fits the table; empty the result. */
int lr__eval_begin(const leadroute_table *t, const leadroute_lead *lead, leadroute_result *r);

/* An evaluation without its scan and hit policy: the lead's values read and
 * the columns planned, nothing matched (the result holds no hits). For the
 * benchmark, which measures what reading a lead costs apart from the scan. */
int lr__table_eval_plan_only(const leadroute_table *t, const leadroute_lead *lead, leadroute_result *r);

/* An evaluation whose scan ANDs every word of every column in order, no
 * block skipped: the plain per-column bitset AND, for the benchmark's
 * comparison. Same reading, planning, hits and errors as
 * leadroute_table_eval. */
int lr__table_eval_plain(const leadroute_table *t, const leadroute_lead *lead, leadroute_result *r);

/* ---- builder ----------------------------------------------------------------- */

struct leadroute_table_builder {
    lr__alloc alloc;
    lr__arena arena;          /* columns, rules and their cells */
    leadroute_table_options options;
    const char *file;         /* set while parsing a file */
    char *name, *version;
    uint32_t hit_policy, aggregation;  /* aggregation: the one that applies */
    uint32_t aggregation_own;          /* the aggregation property's own, once set */
    int hit_policy_set, aggregation_set;
    int policy_aggregates;    /* the hit policy named an aggregation (C+, C#, C<, C>) */
    uint32_t policy_line, aggregation_line; /* directive lines, for messages */
    uint32_t policy_vline, aggregation_vline; /* and where their values start: a */
    uint32_t policy_col, aggregation_col;     /* quoted directive may break its line */
    uint32_t name_line, version_line;
    lr__column *inputs, *outputs;
    uint32_t ninputs, noutputs, cap_inputs, cap_outputs;
    /* priority directives, resolved at build time */
    struct lr__prio {
        const char *output, *text;
        uint32_t len;
        uint32_t line;        /* the directive's */
        uint32_t list_line, col;           /* where the list starts */
        uint32_t output_line, output_col;  /* where the output's name starts */
        uint8_t quoted;       /* in a CSV-quoted cell: each '"' of text was written "" */
    } *prios;
    uint32_t nprios, cap_prios;
    lr__rule *rules;
    uint32_t nrules, cap_rules;
    lr__keymap ids;           /* rule id -> rule index */
};

int lr__builder_init(leadroute_table_builder *b, const leadroute_table_options *options);
void lr__builder_clear(leadroute_table_builder *b);
/* Options' version and flags: EVERSION or EINVAL with a message, else OK. */
int lr__table_options_check(const leadroute_table_options *o);
/* A directive or property; `key` and `value` point into the text at
 * `base`, which `line` and `col` locate in a table file (0 for the builder
 * API, where a later call replaces an earlier one); `quoted`: the directive
 * was a CSV-quoted cell, so each '"' in it takes two bytes of the file,
 * and a line break in it starts a line of the file. */
int lr__builder_set_at(leadroute_table_builder *b, const char *key, size_t key_len, const char *value,
                       size_t value_len, const char *base, uint32_t line, uint32_t col, int quoted);
int lr__builder_add_rule_at(leadroute_table_builder *b, const leadroute_rule *rule, const lr__origin *origin);
int lr__builder_add_column(leadroute_table_builder *b, int output, const char *name, size_t len,
                           uint32_t type, uint32_t flags);

/* Cells: parse one input cell for a column; errors name the origin. */
typedef struct lr__cell_ctx {
    const lr__origin *origin;
    uint32_t cell;            /* cell number (for the column in messages) */
    const char *column;
    uint32_t type;
    uint32_t flags;
    const char *rule_id;      /* builder messages */
} lr__cell_ctx;

int lr__cell_parse(lr__arena *arena, const lr__cell_ctx *ctx, const char *text, size_t len, lr__cell *out);
int lr__output_parse(lr__arena *arena, const lr__cell_ctx *ctx, const char *text, size_t len,
                     leadroute_value *out);
/* Parse a list of literal values ("a, b, c") of `type`, for priority directives. */
int lr__literal_list_parse(lr__arena *arena, const lr__cell_ctx *ctx, const char *text, size_t len,
                           leadroute_value **out, uint32_t *n);
int lr__value_equal(const leadroute_value *a, const leadroute_value *b);

/* Keymap (strings to uint32), used for keys, prefixes and rule ids. */
int lr__keymap_init(lr__keymap *m, const lr__alloc *a, uint32_t expected);
void lr__keymap_free(lr__keymap *m, const lr__alloc *a);
/* Insert s -> value unless present; *existing gets the present value or UINT32_MAX. */
int lr__keymap_put(lr__keymap *m, const lr__alloc *a, const char *s, uint32_t len, uint32_t value,
                   uint32_t *existing);

/* Lookups sit on the evaluation path, so they are inline. */
static inline uint64_t lr__load64(const char *p)
{
    uint64_t x;
    memcpy(&x, p, sizeof x);
    return x;
}

static inline uint32_t lr__load32(const char *p)
{
    uint32_t x;
    memcpy(&x, p, sizeof x);
    return x;
}

/* XXH3 of a key longer than LR_SHORT_KEY (out of line: rare and big). */
uint64_t lr__key_hash_long(const char *s, size_t len);

/* Shift right by `bits` in 0..64 (64 gives 0). */
static inline uint64_t lr__shr(uint64_t x, unsigned bits)
{
    return (x >> (bits / 2)) >> (bits - bits / 2);
}

/* Two words that identify a key of a given length. Up to 16 bytes: the key
 * itself, zero-padded, bytes 0-7 in w0 and 8-15 in w1 (little-endian), read
 * by loads that stay inside the key; so a prefix of length L is the key's
 * words masked to L bytes (lr__key_prefix). Longer keys: their XXH3 hash. */
static inline void lr__key_words(const char *s, size_t len, uint64_t *w0, uint64_t *w1)
{
    const unsigned char *u = (const unsigned char *)s;
    if (len >= 8) {
        if (len > LR_SHORT_KEY) {
            *w0 = lr__key_hash_long(s, len);
            *w1 = 0;
            return;
        }
        *w0 = lr__load64(s);
        *w1 = lr__shr(lr__load64(s + len - 8), 8 * (unsigned)(16 - len));
    } else if (len >= 4) {
        *w0 = lr__load32(s) | lr__shr(lr__load32(s + len - 4), 8 * (unsigned)(8 - len)) << 32;
        *w1 = 0;
    } else {
        *w0 = len ? (uint64_t)u[0] | (len > 1 ? (uint64_t)u[1] << 8 : 0) | (len > 2 ? (uint64_t)u[2] << 16 : 0) : 0;
        *w1 = 0;
    }
}

/* The words of the first `len` bytes of a short key whose words are w0, w1. */
static inline void lr__key_prefix(uint64_t w0, uint64_t w1, size_t len, uint64_t *p0, uint64_t *p1)
{
    uint64_t m0 = len >= 8 ? ~(uint64_t)0 : ((uint64_t)1 << (8 * len)) - 1;
    uint64_t m1 = len >= 16 ? ~(uint64_t)0 : len <= 8 ? 0 : ((uint64_t)1 << (8 * (len - 8))) - 1;
    *p0 = w0 & m0;
    *p1 = w1 & m1;
}

/* Slot hash of a key's words: two independent multiplications, whose top
 * bits (m->shift) pick the slot: every key byte reaches them, the last ones
 * too. Short keys are zero-padded, so their length needs no mixing in; long
 * keys' w0 is already a hash. The keys come from the table's author; a lead
 * only looks them up. */
static inline uint32_t lr__key_slot(const lr__keymap *m, uint64_t w0, uint64_t w1)
{
    return (uint32_t)((w0 * 0x9E3779B97F4A7C15ull + w1 * 0xC2B2AE3D27D4EB4Full) >> m->shift);
}

static inline lr__keymap_entry *lr__keymap_probe(const lr__keymap *m, uint64_t w0, uint64_t w1, const char *s,
                                                 size_t len)
{
    uint32_t i = lr__key_slot(m, w0, w1);
    for (;;) {
        lr__keymap_entry *e = &m->slots[i];
        if (!e->str)
            return e;
        if (e->w0 == w0 && e->w1 == w1 && e->len == len &&
            (len <= LR_SHORT_KEY || memcmp(e->str, s, len) == 0))
            return e;
        i = (i + 1) & m->mask;
    }
}

/* The slot of a short key (len <= LR_SHORT_KEY) by its words alone. */
static inline const lr__keymap_entry *lr__keymap_probe_short(const lr__keymap *m, uint64_t w0, uint64_t w1,
                                                             size_t len)
{
    uint32_t i = lr__key_slot(m, w0, w1);
    for (;;) {
        const lr__keymap_entry *e = &m->slots[i];
        if (!e->str || (e->w0 == w0 && e->w1 == w1 && e->len == len))
            return e;
        i = (i + 1) & m->mask;
    }
}

/* The slot holding key s, or the empty slot where it would go. */
static inline lr__keymap_entry *lr__keymap_find(const lr__keymap *m, const char *s, size_t len)
{
    uint64_t w0, w1;
    lr__key_words(s, len, &w0, &w1);
    return lr__keymap_probe(m, w0, w1, s, len);
}

static inline int lr__keymap_get(const lr__keymap *m, const char *s, size_t len, uint32_t *value)
{
    const lr__keymap_entry *e;
    if (m->count == 0)
        return 0;
    e = lr__keymap_find(m, s, len);
    if (!e->str)
        return 0;
    *value = e->outcome;
    return 1;
}


/* Columns whose outcomes fit in this many bytes are stored all dense (4 MiB),
 * bigger ones while they add up to 8 times that. Only tests change it, to
 * drive the sparse representation on small tables. */
extern uint64_t lr__dense_column_bytes;

/* Tables of at most this many bitset words (32: 2,048 rules) scan every
 * word, without the skipping, which costs more than it saves on them
 * (bench_table: 5 % at 100 and 1,000 rules). Only tests change it, to run
 * the skipping scan on small tables. */
extern uint32_t lr__plain_scan_words;

/* Lint keeps the bitsets of value classes while they fit in this many
 * bytes (64 MiB) and reads later classes from the compiled outcomes. Only
 * tests change it, to read every class from its outcome. */
extern size_t lr__lint_scratch_bytes;

/* The no-match search stops after this many steps (262,144) and says so.
 * Only tests change it, to reach the bound on small tables. */
extern uint32_t lr__lint_nomatch_steps;

/* The budget of words of bitset work the pairwise checks (shadowed,
 * overlap) share (10^9). Only tests change it, to run out of it on small
 * tables. */
extern uint64_t lr__lint_pairwise_words;

/* The no-match search's own budget of words of bitset work (10^9): it
 * stops when that runs out too, and says so. Only tests change it, to
 * run out of words before steps. */
extern uint64_t lr__lint_nomatch_words;

/* The no-match search remembers the states it refuted in at most this many
 * bytes (32 MiB), and stops remembering when more would not fit. Only
 * tests change it, to fill the memo on small tables. */
extern size_t lr__lint_memo_bytes;

/* Compile and lint: build the table from the builder. */
int lr__table_compile(leadroute_table **out, leadroute_table_builder *b);
int lr__table_lint(leadroute_table *t);
void lr__table_destroy(leadroute_table *t);

/* Column lookup: the outcome of a scalar value, or the T part of one set item. */
static inline uint32_t lr__index_lookup_text(const lr__index *ix, const char *s, size_t len)
{
    uint32_t o, i;
    if (len == 0)
        return ix->null_outcome;
    if (lr__keymap_get(&ix->keys, s, len, &o))
        return o;
    for (i = 0; i < ix->nprefix_lens; i++)
        if (ix->prefix_lens[i] <= len && lr__keymap_get(&ix->prefixes, s, ix->prefix_lens[i], &o))
            return o;
    return ix->other_outcome;
}


/* Number of bounds below x (bounds ascending): a binary search whose
 * steps select with a conditional move rather than branch, so a lead's
 * value costs no mispredicted branch; the step count depends on n only. */
static inline uint32_t lr__point_index(const double *pts, uint32_t n, double x)
{
    const double *base = pts;
    if (n == 0)
        return 0;
    while (n > 1) {
        uint32_t half = n / 2;
        base = base[half] < x ? base + half : base;
        n -= half;
    }
    return (uint32_t)(base - pts) + (*base < x);
}

static inline uint32_t lr__index_lookup_number(const lr__index *ix, double x)
{
    uint32_t i = lr__point_index(ix->points, ix->npoints, x);
    uint32_t seg = (i < ix->npoints && ix->points[i] == x) ? 2 * i + 1 : 2 * i;
    return ix->segment_outcome[seg];
}

#endif
