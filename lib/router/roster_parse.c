/* Roster text: a pools section and a reps section, from CSV into
 * leadroute_pool / leadroute_rep structs for leadroute_roster_new().
 *
 * Format
 * ------
 * One CSV file (RFC 4180, UTF-8, an optional byte-order mark) in two
 * sections:
 *
 *   # comment lines start with '#'
 *   #! pools
 *   id,strategy,fallback,on_empty,default_owner,queue,owner_first,filters,tiers
 *   enterprise,weighted,smb,queue,,enterprise-queue,yes,"language=languages; products=products",">=80:2; >=50:1"
 *   smb,round_robin,,default_owner,alice,,no,,
 *   #! reps
 *   id,name,pools,weight,capacity,tier,active,languages,products
 *   alice,Alice Smith,"enterprise, smb",2,50,2,yes,"en, de","crm, cpq"
 *   bob,Bob Jones,smb,1,,0,yes,en,
 *
 * Caps, deadlines, escalation and value balancing are more columns:
 *
 *   #! pools
 *   id,strategy,cap_day,sla_minutes,max_hops,escalation_pool,calibration,value_field,value_window_days
 *   deals,value_balanced,200,30,1,managers,catch_up,amount,7
 *   managers,round_robin,,60,,,,,
 *   #! reps
 *   id,pools,cap_24h,cap_7d,cap_30d
 *   carol,deals,20,,300
 *   dave,"deals, managers",0,,
 *
 * Lines. A line whose first byte is '#' is a comment, except the section
 * directives `#! pools` and `#! reps` (the word after "#!" is trimmed and
 * matched in any case; any other `#!` word is an error). A directive or
 * comment written by a spreadsheet as one quoted cell counts the same.
 * Blank lines and lines of empty cells are skipped. A cell starting with '#'
 * at the start of a line is read as a comment, so ids cannot start with '#':
 * an id cell that does (quoted, or in a later column) is an error.
 *
 * Sections. Each directive may appear at most once, in any order; the reps
 * section is required, the pools section is optional. The first row after a
 * directive that is not a comment or blank is the section's header; every
 * row after it, up to the next directive, is one pool or one rep. A data row
 * before any directive is an error, and so is a directive whose section has
 * no header row.
 *
 * Headers. Column names are trimmed and matched in any case; columns may
 * come in any order; only `id` is required; a name may not appear twice.
 * Empty header cells at the end of the row are ignored (spreadsheets pad
 * rows); an empty name before the last one is an error.
 * - pools: id, strategy, fallback, on_empty, default_owner, queue,
 *   owner_first, filters, tiers, score_field, cap_day, cap_week, cap_month,
 *   sla_minutes, max_hops, escalation_pool, escalation_owner, calibration,
 *   value_field, value_window_days. Any other name is an error.
 * - reps: id, name, pools, weight, capacity, tier, active, cap_day,
 *   cap_week, cap_month. Any other column is a skill set whose name is the
 *   header cell (trimmed, case kept); so the cap columns are not skill sets.
 * - In both sections cap_24h, cap_7d and cap_30d are other names of
 *   cap_day, cap_week and cap_month; a column and its alias together are
 *   a column that appears twice.
 *
 * Rows. A row has as many cells as its header; extra cells are allowed only
 * when empty (padding). Cells are trimmed. An empty cell takes the default.
 * - id: required, not empty.
 * - strategy: round_robin (or rr) | weighted (or wrr) | least_loaded |
 *   value_balanced (or value), in any case. Default round_robin.
 * - fallback: id of the pool tried next. Default none.
 * - on_empty: unassigned | default_owner | queue, in any case. Default
 *   unassigned.
 * - default_owner, queue, score_field: text. Default none (score_field
 *   none = "score").
 * - owner_first, active: yes/no/true/false/1/0 in any case. Defaults:
 *   owner_first no, active yes.
 * - filters: `field=skill` items separated by ';' (the lead's `field` must
 *   be in the rep's skill set `skill`).
 * - tiers: `>=SCORE:TIER` items separated by ';' (SCORE a number, TIER a
 *   whole number from 0 to 4294967295).
 * - name: text; default the id.
 * - pools and every skill column: items separated by ','; items trimmed,
 *   empty items ignored. An empty skill cell means the rep lacks that set.
 * - weight: a finite number > 0. Default 1.
 * - capacity, tier: whole numbers from 0 to 4294967295. Default 0.
 * - cap_day, cap_week, cap_month (pools and reps): most assignments over
 *   the last 24 hours, 7 days, 30 days; a whole number from 0 to
 *   4294967294, 0 = paused. Default (empty): no cap.
 * - sla_minutes: a finite number >= 0, the follow-up deadline when the
 *   rule gives none. Default 0 (no deadline).
 * - max_hops: a whole number from 0 to 4294967295. Default 2.
 * - escalation_pool (a pool id), escalation_owner (a rep id). Default none.
 * - calibration: join | catch_up, in any case. Default join.
 * - value_field: text. Default none (= "deal_value").
 * - value_window_days: a whole number from 1 to 31. Default 30.
 * In filters and tiers, items are trimmed and empty items ignored.
 *
 * A pool that a rep names but the pools section does not define is created
 * with the defaults: round robin, no fallback, unassigned when empty.
 * At most 100000 reps and 100000 pools (LEADROUTE_ELIMIT).
 *
 * Errors. Syntax and field errors are LEADROUTE_EPARSE with
 * "file:line:col" of the offending cell (for a directive or a row, of its
 * first cell). Whatever leadroute_roster_new() rejects (duplicate ids,
 * unknown pools, fallback cycles, ...) comes back with its code and message,
 * at the id cell of the rep or pool concerned (for an id given twice, the
 * second one, and the message says where the first is).
 */
#include <stdio.h>
#include <string.h>

#include "leadroute/router.h"
#include "base/alloc.h"
#include "base/csv.h"
#include "base/error.h"
#include "base/file.h"
#include "base/hash.h"
#include "base/value.h"
#include "router/internal.h"

#define ROSTER_MAX 100000u
#define NO_COL UINT32_MAX

enum { SEC_NONE = 0, SEC_POOLS = 1, SEC_REPS = 2 };

enum {
    PC_ID, PC_STRATEGY, PC_FALLBACK, PC_ON_EMPTY, PC_DEFAULT_OWNER, PC_QUEUE, PC_OWNER_FIRST, PC_FILTERS,
    PC_TIERS, PC_SCORE_FIELD, PC_CAP_DAY, PC_CAP_WEEK, PC_CAP_MONTH, PC_SLA_MINUTES, PC_MAX_HOPS,
    PC_ESCALATION_POOL, PC_ESCALATION_OWNER, PC_CALIBRATION, PC_VALUE_FIELD, PC_VALUE_WINDOW_DAYS, PC_COUNT
};
static const char *const pool_columns[PC_COUNT] = {
    "id", "strategy", "fallback", "on_empty", "default_owner", "queue", "owner_first", "filters", "tiers",
    "score_field", "cap_day", "cap_week", "cap_month", "sla_minutes", "max_hops", "escalation_pool",
    "escalation_owner", "calibration", "value_field", "value_window_days",
};
#define POOL_COLUMN_LIST                                                                                   \
    "id, strategy, fallback, on_empty, default_owner, queue, owner_first, filters, tiers, score_field, "    \
    "cap_day, cap_week, cap_month, sla_minutes, max_hops, escalation_pool, escalation_owner, calibration, " \
    "value_field, value_window_days"

enum { RC_ID, RC_NAME, RC_POOLS, RC_WEIGHT, RC_CAPACITY, RC_TIER, RC_ACTIVE, RC_CAP_DAY, RC_CAP_WEEK, RC_CAP_MONTH,
       RC_COUNT };
_Static_assert((int)PC_COUNT >= (int)RC_COUNT, "section.known holds either section's columns");
static const char *const rep_columns[RC_COUNT] = {
    "id", "name", "pools", "weight", "capacity", "tier", "active", "cap_day", "cap_week", "cap_month",
};

/* Other names of columns, in both sections: the cap windows by their length. */
static const struct {
    const char *alias, *name;
} column_aliases[] = {
    { "cap_24h", "cap_day" },
    { "cap_7d", "cap_week" },
    { "cap_30d", "cap_month" },
};

static const char *const section_names[3] = { "", "pools", "reps" };

typedef struct section {
    uint32_t line;       /* line of the directive, 0 = not seen */
    int has_header;
    uint32_t ncols;      /* header cells that count (trailing empty ones dropped) */
    uint32_t *role;      /* per header cell: known column index, or PC/RC_COUNT + skill index */
    uint32_t known[PC_COUNT]; /* header cell of each known column or NO_COL (PC_COUNT >= RC_COUNT) */
    const char *label[PC_COUNT]; /* each known column as the header spells it (name or alias), for errors */
    const char **skills; /* reps: skill set names, by skill index */
    uint32_t nskills;
} section;

/* Where a cell is, for errors found after the whole file is read. */
typedef struct cell_at {
    uint32_t line, col;
} cell_at;

typedef struct parser {
    lr__alloc alloc;
    lr__arena arena;      /* every struct, array and string handed to leadroute_roster_new() */
    lr__csv csv;
    const char *file;
    int cur;              /* current section */
    section sec[3];
    uint32_t last_line;   /* last line with content, for end-of-file errors */
    leadroute_pool *pools;
    uint32_t npools, cap_pools;
    leadroute_rep *reps;
    uint32_t nreps, cap_reps;
    cell_at *rep_pools_at;
    uint32_t cap_at;
    cell_at *rep_id_at, *pool_id_at; /* each row's id cell, for errors leadroute_roster_new() finds */
    uint32_t cap_rep_id_at, cap_pool_id_at;
    /* open-addressing set of pool ids: slot = pool index + 1, 0 = empty */
    uint32_t *slots;
    uint32_t slot_mask;
} parser;

/* ---- small helpers --------------------------------------------------------- */

static int grow(parser *p, void **items, uint32_t *cap, uint32_t n, size_t elem)
{
    uint32_t ncap;
    void *nitems;
    if (n < *cap)
        return LEADROUTE_OK;
    /* arena growth: the old copy stays until the end, at most doubling the memory used */
    ncap = *cap ? *cap * 2 : 16;
    nitems = lr__arena_alloc(&p->arena, (size_t)ncap * elem);
    if (!nitems)
        return lr__error_nomem();
    if (n)
        memcpy(nitems, *items, (size_t)n * elem);
    *items = nitems;
    *cap = ncap;
    return LEADROUTE_OK;
}

/* Next non-empty trimmed item of a `sep`-separated list; 0 at the end. */
static int next_item(const char **s, size_t *n, char sep, const char **item, size_t *len)
{
    while (*n) {
        const char *at = memchr(*s, sep, *n);
        size_t part = at ? (size_t)(at - *s) : *n;
        const char *t = *s;
        size_t tn = part;
        *s += part;
        *n -= part;
        if (*n) {
            (*s)++;
            (*n)--;
        }
        lr__trim(&t, &tn);
        if (tn) {
            *item = t;
            *len = tn;
            return 1;
        }
    }
    return 0;
}

static size_t count_items(const char *s, size_t n, char sep)
{
    const char *item;
    size_t len, count = 0;
    while (next_item(&s, &n, sep, &item, &len))
        count++;
    return count;
}

static int parse_bool(const char *s, size_t n, int *out)
{
    if (lr__equal_ci(s, n, "yes") || lr__equal_ci(s, n, "true") || lr__equal_ci(s, n, "1"))
        *out = 1;
    else if (lr__equal_ci(s, n, "no") || lr__equal_ci(s, n, "false") || lr__equal_ci(s, n, "0"))
        *out = 0;
    else
        return -1;
    return 0;
}

static int parse_uint32(const char *s, size_t n, uint32_t *out)
{
    uint64_t v = 0;
    size_t i;
    if (n == 0)
        return -1;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
        if (v > UINT32_MAX)
            return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

/* Cell `col` of the current row, trimmed; an absent column reads as empty. */
static void cell(const parser *p, uint32_t col, const char **s, size_t *n, const lr__csv_field **f)
{
    if (col == NO_COL) {
        *s = "";
        *n = 0;
        *f = NULL;
        return;
    }
    *f = &p->csv.fields[col];
    *s = (*f)->text;
    *n = (*f)->len;
    lr__trim(s, n);
}

static char *dup_or_null(parser *p, const char *s, size_t n, int *rc)
{
    char *d;
    if (n == 0)
        return NULL;
    d = lr__arena_strndup(&p->arena, s, n);
    if (!d)
        *rc = lr__error_nomem();
    return d;
}

/* An error about one cell; the cell's text is quoted, cut to a readable size. */
#define CELL_ERROR(p, f, ...) lr__error_set_at(LEADROUTE_EPARSE, (p)->file, (f)->line, (f)->col, __VA_ARGS__)

/* A cap cell (known column `k`): empty = no cap (the INIT value stays),
 * else a whole number; LEADROUTE_NO_CAP itself is not a count. */
static int cap_cell(parser *p, const section *sec, uint32_t k, uint32_t *out)
{
    const lr__csv_field *f;
    const char *s;
    size_t n;
    uint32_t v;
    cell(p, sec->known[k], &s, &n, &f);
    if (n == 0)
        return LEADROUTE_OK;
    if (parse_uint32(s, n, &v) != 0 || v == LEADROUTE_NO_CAP)
        return CELL_ERROR(p, f, "%s must be empty (no cap) or a whole number from 0 (paused) to %u, not '%.*s'",
                          sec->label[k], (unsigned)(LEADROUTE_NO_CAP - 1), (int)lr__utf8_cut(s, n, 60), s);
    *out = v;
    return LEADROUTE_OK;
}

/* ---- pool ids -------------------------------------------------------------- */

static uint32_t pool_find(const parser *p, const char *id, size_t n)
{
    uint32_t h;
    if (!p->slots)
        return UINT32_MAX;
    h = (uint32_t)lr__hash(id, n) & p->slot_mask;
    while (p->slots[h]) {
        const char *other = p->pools[p->slots[h] - 1].id;
        if (strncmp(other, id, n) == 0 && other[n] == '\0')
            return p->slots[h] - 1;
        h = (h + 1) & p->slot_mask;
    }
    return UINT32_MAX;
}

/* Remember pool `index` by its id (a duplicate id keeps the first: the
 * roster reports it). */
static int pool_remember(parser *p, uint32_t index)
{
    const char *id = p->pools[index].id;
    size_t n = strlen(id);
    uint32_t h;
    if (pool_find(p, id, n) != UINT32_MAX)
        return LEADROUTE_OK;
    /* keep the load at most one half */
    if (!p->slots || ((uint64_t)index + 1) * 2 > (uint64_t)p->slot_mask + 1) {
        uint32_t nsize = p->slots ? (p->slot_mask + 1) * 2 : 64, i;
        uint32_t *ns = lr__arena_zalloc(&p->arena, (size_t)nsize * sizeof *ns);
        if (!ns)
            return lr__error_nomem();
        for (i = 0; p->slots && i <= p->slot_mask; i++) {
            uint32_t v = p->slots[i];
            const char *s;
            if (!v)
                continue;
            s = p->pools[v - 1].id;
            h = (uint32_t)lr__hash(s, strlen(s)) & (nsize - 1);
            while (ns[h])
                h = (h + 1) & (nsize - 1);
            ns[h] = v;
        }
        p->slots = ns;
        p->slot_mask = nsize - 1;
    }
    h = (uint32_t)lr__hash(id, n) & p->slot_mask;
    while (p->slots[h])
        h = (h + 1) & p->slot_mask;
    p->slots[h] = index + 1;
    return LEADROUTE_OK;
}

/* ---- directives and headers ------------------------------------------------ */

static int section_end(parser *p)
{
    section *s = &p->sec[p->cur];
    if (p->cur != SEC_NONE && !s->has_header)
        return lr__error_set_at(LEADROUTE_EPARSE, p->file, s->line, 1,
                                "the '#! %s' section has no header row (expected e.g. '%s')",
                                section_names[p->cur],
                                p->cur == SEC_POOLS ? "id,strategy,fallback" : "id,name,pools,weight");
    return LEADROUTE_OK;
}

static int directive(parser *p, const lr__csv_field *f)
{
    const char *s = f->text + 2;
    size_t n = f->len - 2;
    int which;
    int rc;

    lr__trim(&s, &n);
    if (lr__equal_ci(s, n, "pools"))
        which = SEC_POOLS;
    else if (lr__equal_ci(s, n, "reps"))
        which = SEC_REPS;
    else
        return CELL_ERROR(p, f, "unknown directive '%.*s' (expected '#! pools' or '#! reps')",
                          (int)lr__utf8_cut(f->text, f->len, 60), f->text);
    if (p->sec[which].line)
        return CELL_ERROR(p, f, "the '#! %s' section appears twice (first at line %u)", section_names[which],
                          p->sec[which].line);
    if ((rc = section_end(p)) != 0)
        return rc;
    p->cur = which;
    p->sec[which].line = f->line;
    return LEADROUTE_OK;
}

/* Index of the known column named `s` (or an alias of it), else `nknown`;
 * `*label` is the spelling matched. */
static uint32_t known_column(const char *const *names, uint32_t nknown, const char *s, size_t len, const char **label)
{
    const char *name = NULL;
    uint32_t k;
    size_t a;
    for (a = 0; a < sizeof column_aliases / sizeof *column_aliases; a++)
        if (lr__equal_ci(s, len, column_aliases[a].alias)) {
            name = column_aliases[a].name;
            *label = column_aliases[a].alias;
        }
    for (k = 0; k < nknown; k++) {
        if (name ? strcmp(names[k], name) == 0 : lr__equal_ci(s, len, names[k])) {
            if (!name)
                *label = names[k];
            return k;
        }
    }
    return nknown;
}

static int header(parser *p)
{
    const lr__csv *csv = &p->csv;
    section *sec = &p->sec[p->cur];
    int is_pools = p->cur == SEC_POOLS;
    const char *const *names = is_pools ? pool_columns : rep_columns;
    uint32_t nknown = is_pools ? PC_COUNT : RC_COUNT;
    uint32_t n = csv->nfields, i, k, slot_mask, *slots;
    const char *label, *breaker;
    char **folded;
    int rc;

    if ((rc = lr__csv_check_separator(csv)) != 0)
        return rc;
    while (n > 0) {
        const char *s = csv->fields[n - 1].text;
        size_t len = csv->fields[n - 1].len;
        lr__trim(&s, &len);
        if (len)
            break;
        n--;
    }
    sec->ncols = n;
    sec->role = lr__arena_alloc(&p->arena, (size_t)(n ? n : 1) * sizeof *sec->role);
    sec->skills = lr__arena_alloc(&p->arena, (size_t)(n ? n : 1) * sizeof *sec->skills);
    if (!sec->role || !sec->skills)
        return lr__error_nomem();
    for (k = 0; k < nknown; k++) {
        sec->known[k] = NO_COL;
        sec->label[k] = names[k];
    }
    /* names folded to lower case, found again by hash: a header of many
     * skill columns is checked in time linear in its size */
    for (slot_mask = 63; slot_mask < 2 * (uint64_t)n; slot_mask = slot_mask * 2 + 1)
        ;
    slots = lr__arena_zalloc(&p->arena, ((size_t)slot_mask + 1) * sizeof *slots);
    folded = lr__arena_alloc(&p->arena, (size_t)(n ? n : 1) * sizeof *folded);
    if (!slots || !folded)
        return lr__error_nomem();
    for (i = 0; i < n; i++) {
        const lr__csv_field *f = &csv->fields[i];
        const char *s = f->text;
        size_t len = f->len;
        uint32_t h;
        lr__trim(&s, &len);
        if (len == 0)
            return CELL_ERROR(p, f, "empty column name in the '#! %s' header", section_names[p->cur]);
        /* a skill column named so would match no lead field, unseen */
        if ((breaker = lr__text_breaker(s, len)) != NULL)
            return CELL_ERROR(p, f, "column name '%.*s' holds %s", (int)lr__utf8_cut(s, len, 60), s, breaker);
        if (!(folded[i] = lr__arena_alloc(&p->arena, len + 1)))
            return lr__error_nomem();
        /* in any case, as skill items are compared: "Ärea" and "ärea" are one name */
        lr__fold(s, len, folded[i]);
        folded[i][len] = '\0';
        for (h = (uint32_t)lr__hash(folded[i], len) & slot_mask; slots[h]; h = (h + 1) & slot_mask) {
            k = slots[h] - 1;
            if (strcmp(folded[k], folded[i]) == 0)
                return CELL_ERROR(p, f, "column '%.*s' appears twice in the header (also column %u)",
                                  (int)lr__utf8_cut(s, len, 60), s, k + 1);
        }
        slots[h] = i + 1;
        k = known_column(names, nknown, s, len, &label);
        if (k < nknown && sec->known[k] != NO_COL)
            return CELL_ERROR(p, f, "column '%.*s' appears twice in the header (also column %u, '%s')",
                              (int)lr__utf8_cut(s, len, 60), s, sec->known[k] + 1, sec->label[k]);
        if (k < nknown) {
            sec->role[i] = k;
            sec->known[k] = i;
            sec->label[k] = label;
            continue;
        }
        if (is_pools)
            return CELL_ERROR(p, f, "unknown column '%.*s' in the pools header (known: " POOL_COLUMN_LIST ")",
                              (int)lr__utf8_cut(s, len, 60), s);
        if (len > LEADROUTE_MAX_NAME)
            return CELL_ERROR(p, f, "skill set name longer than %d bytes", LEADROUTE_MAX_NAME);
        sec->skills[sec->nskills] = lr__arena_strndup(&p->arena, s, len);
        if (!sec->skills[sec->nskills])
            return lr__error_nomem();
        sec->role[i] = nknown + sec->nskills++;
    }
    if (sec->known[0] == NO_COL)
        return lr__error_set_at(LEADROUTE_EPARSE, p->file, csv->line, csv->nfields ? csv->fields[0].col : 1,
                                "the '#! %s' header has no 'id' column", section_names[p->cur]);
    sec->has_header = 1;
    return LEADROUTE_OK;
}

/* Row cell count against the header: fewer is an error, more only if empty. */
static int check_width(parser *p, const section *sec)
{
    const lr__csv *csv = &p->csv;
    uint32_t i;
    if (csv->nfields < sec->ncols)
        return lr__error_set_at(LEADROUTE_EPARSE, p->file, csv->line, csv->fields[0].col,
                                "this row has %u cell%s, the '#! %s' header has %u", csv->nfields,
                                lr__plural_s(csv->nfields), section_names[p->cur], sec->ncols);
    for (i = sec->ncols; i < csv->nfields; i++) {
        const char *s = csv->fields[i].text;
        size_t n = csv->fields[i].len;
        lr__trim(&s, &n);
        if (n)
            return CELL_ERROR(p, &csv->fields[i], "this row has %u cells, the '#! %s' header has %u",
                              csv->nfields, section_names[p->cur], sec->ncols);
    }
    return LEADROUTE_OK;
}

/* ---- rows ------------------------------------------------------------------ */

static int pool_row(parser *p)
{
    const section *sec = &p->sec[SEC_POOLS];
    leadroute_pool pool = LEADROUTE_POOL_INIT;
    cell_at id_at;
    const lr__csv_field *f;
    const char *s, *item;
    size_t n, len;
    int rc = 0, err;

    if ((rc = check_width(p, sec)) != 0)
        return rc;
    if (p->npools >= ROSTER_MAX)
        return lr__error_set_at(LEADROUTE_ELIMIT, p->file, p->csv.line, p->csv.fields[0].col,
                                "more than %u pools", ROSTER_MAX);

    cell(p, sec->known[PC_ID], &s, &n, &f);
    if (n == 0)
        return CELL_ERROR(p, f, "empty pool id (every pool needs an id)");
    if (s[0] == '#')
        return CELL_ERROR(p, f, "pool id '%.*s' starts with '#' (a row that starts so is a comment)",
                          (int)lr__utf8_cut(s, n, 60), s);
    pool.id = dup_or_null(p, s, n, &rc);
    id_at.line = f->line;
    id_at.col = f->col;

    cell(p, sec->known[PC_STRATEGY], &s, &n, &f);
    if (n == 0)
        pool.strategy = LEADROUTE_STRATEGY_ROUND_ROBIN;
    else if (lr__equal_ci(s, n, "round_robin") || lr__equal_ci(s, n, "rr"))
        pool.strategy = LEADROUTE_STRATEGY_ROUND_ROBIN;
    else if (lr__equal_ci(s, n, "weighted") || lr__equal_ci(s, n, "wrr"))
        pool.strategy = LEADROUTE_STRATEGY_WEIGHTED;
    else if (lr__equal_ci(s, n, "least_loaded"))
        pool.strategy = LEADROUTE_STRATEGY_LEAST_LOADED;
    else if (lr__equal_ci(s, n, "value_balanced") || lr__equal_ci(s, n, "value"))
        pool.strategy = LEADROUTE_STRATEGY_VALUE_BALANCED;
    else
        return CELL_ERROR(p, f,
                          "unknown strategy '%.*s' (expected round_robin, weighted, least_loaded or value_balanced)",
                          (int)lr__utf8_cut(s, n, 60), s);

    cell(p, sec->known[PC_FALLBACK], &s, &n, &f);
    pool.fallback = dup_or_null(p, s, n, &rc);

    cell(p, sec->known[PC_ON_EMPTY], &s, &n, &f);
    if (n == 0 || lr__equal_ci(s, n, "unassigned"))
        pool.on_empty = LEADROUTE_EMPTY_UNASSIGNED;
    else if (lr__equal_ci(s, n, "default_owner"))
        pool.on_empty = LEADROUTE_EMPTY_DEFAULT_OWNER;
    else if (lr__equal_ci(s, n, "queue"))
        pool.on_empty = LEADROUTE_EMPTY_QUEUE;
    else
        return CELL_ERROR(p, f, "unknown on_empty policy '%.*s' (expected unassigned, default_owner or queue)",
                          (int)lr__utf8_cut(s, n, 60), s);

    cell(p, sec->known[PC_DEFAULT_OWNER], &s, &n, &f);
    pool.default_owner = dup_or_null(p, s, n, &rc);
    cell(p, sec->known[PC_QUEUE], &s, &n, &f);
    pool.queue = dup_or_null(p, s, n, &rc);
    cell(p, sec->known[PC_SCORE_FIELD], &s, &n, &f);
    if (n > LEADROUTE_MAX_NAME)
        return CELL_ERROR(p, f, "score_field: a lead field name is at most %d bytes", LEADROUTE_MAX_NAME);
    pool.score_field = dup_or_null(p, s, n, &rc);

    cell(p, sec->known[PC_OWNER_FIRST], &s, &n, &f);
    if (n && parse_bool(s, n, &pool.owner_first) != 0)
        return CELL_ERROR(p, f, "owner_first must be yes, no, true, false, 1 or 0, not '%.*s'",
                          (int)lr__utf8_cut(s, n, 60), s);

    /* `rc` may hold an earlier allocation failure: keep it */
    if ((err = cap_cell(p, sec, PC_CAP_DAY, &pool.cap_day)) != 0 ||
        (err = cap_cell(p, sec, PC_CAP_WEEK, &pool.cap_week)) != 0 ||
        (err = cap_cell(p, sec, PC_CAP_MONTH, &pool.cap_month)) != 0)
        return err;

    cell(p, sec->known[PC_SLA_MINUTES], &s, &n, &f);
    if (n && (lr__parse_number(s, n, &pool.sla_minutes) != 0 || pool.sla_minutes < 0))
        return CELL_ERROR(p, f, "sla_minutes must be a number of minutes >= 0 (empty: no deadline), not '%.*s'",
                          (int)lr__utf8_cut(s, n, 60), s);
    if (pool.sla_minutes == 0)
        pool.sla_minutes = 0; /* -0 reads as 0 */

    cell(p, sec->known[PC_MAX_HOPS], &s, &n, &f);
    if (n && parse_uint32(s, n, &pool.max_hops) != 0)
        return CELL_ERROR(p, f, "max_hops must be a whole number from 0 to 4294967295, not '%.*s'",
                          (int)lr__utf8_cut(s, n, 60), s);

    cell(p, sec->known[PC_ESCALATION_POOL], &s, &n, &f);
    pool.escalation_pool = dup_or_null(p, s, n, &rc);
    cell(p, sec->known[PC_ESCALATION_OWNER], &s, &n, &f);
    pool.escalation_owner = dup_or_null(p, s, n, &rc);

    cell(p, sec->known[PC_CALIBRATION], &s, &n, &f);
    if (n == 0 || lr__equal_ci(s, n, "join"))
        pool.calibration = LEADROUTE_CALIBRATE_JOIN;
    else if (lr__equal_ci(s, n, "catch_up"))
        pool.calibration = LEADROUTE_CALIBRATE_CATCH_UP;
    else
        return CELL_ERROR(p, f, "unknown calibration '%.*s' (expected join or catch_up)", (int)lr__utf8_cut(s, n, 60),
                          s);

    cell(p, sec->known[PC_VALUE_FIELD], &s, &n, &f);
    if (n > LEADROUTE_MAX_NAME)
        return CELL_ERROR(p, f, "value_field: a lead field name is at most %d bytes", LEADROUTE_MAX_NAME);
    pool.value_field = dup_or_null(p, s, n, &rc);

    cell(p, sec->known[PC_VALUE_WINDOW_DAYS], &s, &n, &f);
    if (n == 0)
        pool.value_window_days = 30;
    else if (parse_uint32(s, n, &pool.value_window_days) != 0 || pool.value_window_days < 1 ||
             pool.value_window_days > 31)
        return CELL_ERROR(p, f, "value_window_days must be a whole number of days from 1 to 31, not '%.*s'",
                          (int)lr__utf8_cut(s, n, 60), s);

    cell(p, sec->known[PC_FILTERS], &s, &n, &f);
    pool.filter_count = count_items(s, n, ';');
    if (pool.filter_count) {
        leadroute_skill_filter *filters = lr__arena_alloc(&p->arena, pool.filter_count * sizeof *filters);
        size_t k = 0;
        if (!filters)
            return lr__error_nomem();
        while (next_item(&s, &n, ';', &item, &len)) {
            const char *eq = memchr(item, '=', len), *a = item, *b;
            size_t an, bn;
            if (!eq)
                return CELL_ERROR(p, f, "filter '%.*s' must look like 'field=skill', e.g. 'language=languages'",
                                  (int)lr__utf8_cut(item, len, 60), item);
            an = (size_t)(eq - item);
            b = eq + 1;
            bn = len - an - 1;
            lr__trim(&a, &an);
            lr__trim(&b, &bn);
            if (an == 0 || bn == 0)
                return CELL_ERROR(p, f, "filter '%.*s' needs a lead field and a skill set: 'field=skill'",
                                  (int)lr__utf8_cut(item, len, 60), item);
            if (an > LEADROUTE_MAX_NAME || bn > LEADROUTE_MAX_NAME)
                return CELL_ERROR(p, f, "filter '%.*s...': its %s name is longer than %d bytes",
                                  (int)lr__utf8_cut(item, len, 60), item, an > LEADROUTE_MAX_NAME ? "field" : "skill",
                                  LEADROUTE_MAX_NAME);
            filters[k].field = dup_or_null(p, a, an, &rc);
            filters[k].skill = dup_or_null(p, b, bn, &rc);
            k++;
        }
        pool.filters = filters;
    }

    cell(p, sec->known[PC_TIERS], &s, &n, &f);
    pool.tier_count = count_items(s, n, ';');
    if (pool.tier_count) {
        leadroute_tier_rule *tiers = lr__arena_alloc(&p->arena, pool.tier_count * sizeof *tiers);
        size_t k = 0, j;
        if (!tiers)
            return lr__error_nomem();
        while (next_item(&s, &n, ';', &item, &len)) {
            const char *colon = len > 2 ? memchr(item + 2, ':', len - 2) : NULL, *a, *b;
            size_t an, bn;
            if (len < 2 || item[0] != '>' || item[1] != '=' || !colon)
                return CELL_ERROR(p, f, "tier rule '%.*s' must look like '>=SCORE:TIER', e.g. '>=80:2'",
                                  (int)lr__utf8_cut(item, len, 60), item);
            a = item + 2;
            an = (size_t)(colon - a);
            b = colon + 1;
            bn = len - 2 - an - 1;
            lr__trim(&a, &an);
            lr__trim(&b, &bn);
            if ((rc = lr__parse_number(a, an, &tiers[k].min_score)) != 0)
                return CELL_ERROR(p, f, "tier rule '%.*s': '%.*s' is %s", (int)lr__utf8_cut(item, len, 60), item,
                                  (int)lr__utf8_cut(a, an, 60), a,
                                  rc == -2 ? "past the range of a double (not a finite number)" : "not a number");
            if (parse_uint32(b, bn, &tiers[k].min_tier) != 0)
                return CELL_ERROR(p, f, "tier rule '%.*s': tier '%.*s' is not a whole number from 0 to 4294967295",
                                  (int)lr__utf8_cut(item, len, 60), item, (int)lr__utf8_cut(b, bn, 60), b);
            for (j = 0; j < k; j++)
                if (tiers[j].min_score == tiers[k].min_score)
                    return CELL_ERROR(p, f, "tier rule '%.*s': a tier starts at score %.*s already (rule %zu)",
                                      (int)lr__utf8_cut(item, len, 60), item, (int)lr__utf8_cut(a, an, 60), a,
                                      j + 1);
            k++;
        }
        pool.tiers = tiers;
    }
    if (rc)
        return rc;
    if ((rc = grow(p, (void **)&p->pools, &p->cap_pools, p->npools, sizeof *p->pools)) != 0 ||
        (rc = grow(p, (void **)&p->pool_id_at, &p->cap_pool_id_at, p->npools, sizeof *p->pool_id_at)) != 0)
        return rc;
    p->pool_id_at[p->npools] = id_at;
    p->pools[p->npools] = pool;
    return pool_remember(p, p->npools++);
}

static int rep_row(parser *p)
{
    const section *sec = &p->sec[SEC_REPS];
    leadroute_rep rep = LEADROUTE_REP_INIT;
    cell_at id_at;
    const lr__csv_field *f;
    const char *s, *item;
    size_t n, len;
    uint32_t i;
    int rc = 0, err;

    if ((rc = check_width(p, sec)) != 0)
        return rc;
    if (p->nreps >= ROSTER_MAX)
        return lr__error_set_at(LEADROUTE_ELIMIT, p->file, p->csv.line, p->csv.fields[0].col,
                                "more than %u reps", ROSTER_MAX);

    cell(p, sec->known[RC_ID], &s, &n, &f);
    if (n == 0)
        return CELL_ERROR(p, f, "empty rep id (every rep needs an id)");
    if (s[0] == '#')
        return CELL_ERROR(p, f, "rep id '%.*s' starts with '#' (a row that starts so is a comment)",
                          (int)lr__utf8_cut(s, n, 60), s);
    rep.id = dup_or_null(p, s, n, &rc);
    id_at.line = f->line;
    id_at.col = f->col;

    cell(p, sec->known[RC_NAME], &s, &n, &f);
    rep.name = dup_or_null(p, s, n, &rc);

    cell(p, sec->known[RC_WEIGHT], &s, &n, &f);
    if (n && (lr__parse_number(s, n, &rep.weight) != 0 || !(rep.weight > 0)))
        return CELL_ERROR(p, f, "weight must be a number > 0, not '%.*s'", (int)lr__utf8_cut(s, n, 60), s);

    cell(p, sec->known[RC_CAPACITY], &s, &n, &f);
    if (n && parse_uint32(s, n, &rep.capacity) != 0)
        return CELL_ERROR(p, f, "capacity must be a whole number from 0 to 4294967295, not '%.*s'",
                          (int)lr__utf8_cut(s, n, 60), s);
    cell(p, sec->known[RC_TIER], &s, &n, &f);
    if (n && parse_uint32(s, n, &rep.tier) != 0)
        return CELL_ERROR(p, f, "tier must be a whole number from 0 to 4294967295, not '%.*s'",
                          (int)lr__utf8_cut(s, n, 60), s);

    cell(p, sec->known[RC_ACTIVE], &s, &n, &f);
    if (n && parse_bool(s, n, &rep.active) != 0)
        return CELL_ERROR(p, f, "active must be yes, no, true, false, 1 or 0, not '%.*s'", (int)lr__utf8_cut(s, n, 60),
                          s);

    /* `rc` may hold an earlier allocation failure: keep it */
    if ((err = cap_cell(p, sec, RC_CAP_DAY, &rep.cap_day)) != 0 ||
        (err = cap_cell(p, sec, RC_CAP_WEEK, &rep.cap_week)) != 0 ||
        (err = cap_cell(p, sec, RC_CAP_MONTH, &rep.cap_month)) != 0)
        return err;

    cell(p, sec->known[RC_POOLS], &s, &n, &f);
    rep.pool_count = count_items(s, n, ',');
    if (rep.pool_count) {
        const char **ids = lr__arena_alloc(&p->arena, rep.pool_count * sizeof *ids);
        size_t k = 0;
        if (!ids)
            return lr__error_nomem();
        while (next_item(&s, &n, ',', &item, &len)) {
            /* no row of the pools section could define it: that row would be a comment */
            if (len && item[0] == '#')
                return CELL_ERROR(p, f, "pool id '%.*s' starts with '#' (a row that starts so is a comment)",
                                  (int)lr__utf8_cut(item, len, 60), item);
            ids[k++] = dup_or_null(p, item, len, &rc);
        }
        rep.pools = ids;
    }

    /* skill sets: one field per non-empty skill cell */
    if (sec->nskills) {
        leadroute_field *skills = lr__arena_alloc(&p->arena, sec->nskills * sizeof *skills);
        if (!skills)
            return lr__error_nomem();
        for (i = 0; i < sec->ncols; i++) {
            leadroute_value v = LEADROUTE_VALUE_INIT;
            const char **items;
            size_t k = 0;
            if (sec->role[i] < RC_COUNT)
                continue;
            cell(p, i, &s, &n, &f);
            v.item_count = count_items(s, n, ',');
            if (v.item_count == 0)
                continue;
            if (v.item_count > LEADROUTE_MAX_SET_ITEMS)
                return CELL_ERROR(p, f, "skill '%s': %zu items, more than the %d a set holds",
                                  sec->skills[sec->role[i] - RC_COUNT], v.item_count, LEADROUTE_MAX_SET_ITEMS);
            items = lr__arena_alloc(&p->arena, v.item_count * sizeof *items);
            if (!items)
                return lr__error_nomem();
            while (next_item(&s, &n, ',', &item, &len))
                items[k++] = dup_or_null(p, item, len, &rc);
            v.type = LEADROUTE_VALUE_SET;
            v.items = items;
            skills[rep.skill_count].name = sec->skills[sec->role[i] - RC_COUNT];
            skills[rep.skill_count].value = v;
            rep.skill_count++;
        }
        rep.skills = skills;
    }
    if (rc)
        return rc;
    if ((rc = grow(p, (void **)&p->reps, &p->cap_reps, p->nreps, sizeof *p->reps)) != 0)
        return rc;
    if ((rc = grow(p, (void **)&p->rep_pools_at, &p->cap_at, p->nreps, sizeof *p->rep_pools_at)) != 0 ||
        (rc = grow(p, (void **)&p->rep_id_at, &p->cap_rep_id_at, p->nreps, sizeof *p->rep_id_at)) != 0)
        return rc;
    p->rep_id_at[p->nreps] = id_at;
    cell(p, sec->known[RC_POOLS], &s, &n, &f);
    f = f ? f : &p->csv.fields[0];
    p->rep_pools_at[p->nreps].line = f->line;
    p->rep_pools_at[p->nreps].col = f->col;
    p->reps[p->nreps++] = rep;
    return LEADROUTE_OK;
}

/* Pools named by reps but not defined get the defaults. */
static int implicit_pools(parser *p)
{
    uint32_t r;
    size_t k;
    int rc;
    for (r = 0; r < p->nreps; r++) {
        const leadroute_rep *rep = &p->reps[r];
        for (k = 0; k < rep->pool_count; k++) {
            leadroute_pool pool = LEADROUTE_POOL_INIT;
            const char *id = rep->pools[k];
            if (pool_find(p, id, strlen(id)) != UINT32_MAX)
                continue;
            if (p->npools >= ROSTER_MAX)
                return lr__error_set_at(LEADROUTE_ELIMIT, p->file, p->rep_pools_at[r].line, p->rep_pools_at[r].col,
                                        "more than %u pools (counting pools named only by reps)", ROSTER_MAX);
            if ((rc = grow(p, (void **)&p->pools, &p->cap_pools, p->npools, sizeof *p->pools)) != 0 ||
                (rc = grow(p, (void **)&p->pool_id_at, &p->cap_pool_id_at, p->npools, sizeof *p->pool_id_at)) != 0)
                return rc;
            p->pool_id_at[p->npools] = p->rep_pools_at[r]; /* a pool named only here */
            pool.id = id;
            p->pools[p->npools] = pool;
            if ((rc = pool_remember(p, p->npools++)) != 0)
                return rc;
        }
    }
    return LEADROUTE_OK;
}

static int read_all(parser *p)
{
    lr__csv_field comment;
    int rc, any = 0;
    for (;;) {
        rc = lr__csv_next(&p->csv, 1);
        if (rc <= 0)
            break;
        /* the file's own mark is skipped; one starting a later line hides
         * what follows it (a '#! reps' line read as a pool) */
        if (p->csv.nfields && p->csv.fields[0].len >= 3 && !p->csv.fields[0].quoted &&
            memcmp(p->csv.fields[0].text, "\xef\xbb\xbf", 3) == 0)
            return CELL_ERROR(p, &p->csv.fields[0], "the line starts with a byte order mark (U+FEFF), as a file "
                                                    "pasted after another leaves: remove it");
        if (lr__csv_comment(&p->csv, &comment)) {
            any = 1;
            p->last_line = p->csv.line;
            if (comment.len >= 2 && comment.text[1] == '!' && (rc = directive(p, &comment)) != 0)
                return rc;
            continue;
        }
        if (lr__csv_blank_record(&p->csv))
            continue;
        any = 1;
        p->last_line = p->csv.line;
        if (p->cur == SEC_NONE)
            return lr__error_set_at(LEADROUTE_EPARSE, p->file, p->csv.line, p->csv.fields[0].col,
                                    "row before any section: start the file with '#! pools' or '#! reps'");
        if (!p->sec[p->cur].has_header)
            rc = header(p);
        else
            rc = p->cur == SEC_POOLS ? pool_row(p) : rep_row(p);
        if (rc)
            return rc;
    }
    if (rc < 0)
        return rc;
    if (!any)
        return lr__error_set_at(LEADROUTE_EPARSE, p->file, 1, 1,
                                "empty roster: expected a '#! reps' section with a header row");
    if ((rc = section_end(p)) != 0)
        return rc;
    if (!p->sec[SEC_REPS].line)
        return lr__error_set_at(LEADROUTE_EPARSE, p->file, p->last_line, 1,
                                "no '#! reps' section: a roster needs its reps");
    return implicit_pools(p);
}

/* leadroute_roster_new() refused the roster because of the rep or pool
 * `who`: say so again at its line. */
static int blame_line(const parser *p, int rc, const lr__roster_culprit *who)
{
    const cell_at *at, *first;
    if (who->kind == LR_CULPRIT_REP && who->index < p->nreps) {
        at = &p->rep_id_at[who->index];
        first = who->first < p->nreps ? &p->rep_id_at[who->first] : NULL;
    } else if (who->kind == LR_CULPRIT_POOL && who->index < p->npools) {
        at = &p->pool_id_at[who->index];
        first = who->first < p->npools ? &p->pool_id_at[who->first] : NULL;
    } else {
        return rc;
    }
    /* the message is copied before it is replaced */
    if (first)
        return lr__error_set_at(rc, p->file, at->line, at->col, "%s (first at line %u)",
                                leadroute_error_last()->message, first->line);
    return lr__error_set_at(rc, p->file, at->line, at->col, "%s", leadroute_error_last()->message);
}

int leadroute_roster_parse(leadroute_roster **out, const char *text, size_t length, const char *filename,
                           const leadroute_allocator *allocator)
{
    lr__roster_culprit who;
    parser p;
    int rc;

    if (!out)
        return lr__error_set(LEADROUTE_EINVAL, "out is NULL");
    *out = NULL;
    if (!text && length)
        return lr__error_set(LEADROUTE_EINVAL, "text is NULL");
    memset(&p, 0, sizeof p);
    if ((rc = lr__alloc_init(&p.alloc, allocator)) != 0)
        return rc;
    p.file = filename ? filename : "<roster>";
    lr__arena_init(&p.arena, &p.alloc);
    lr__csv_init(&p.csv, text ? text : "", length, p.file, &p.alloc);
    rc = read_all(&p);
    /* the reader's buffers are no longer needed: free them before the roster copies */
    lr__csv_free(&p.csv);
    if (rc == 0 && (rc = lr__roster_new(out, p.reps, p.nreps, p.pools, p.npools, allocator, &who)) != 0)
        rc = blame_line(&p, rc, &who);
    lr__arena_free(&p.arena);
    return rc;
}

int leadroute_roster_load(leadroute_roster **out, const char *path, const leadroute_allocator *allocator)
{
    char *buf = NULL;
    size_t len = 0;
    lr__alloc a;
    int rc;

    if (out)
        *out = NULL;
    if (!out || !path)
        return lr__error_set(LEADROUTE_EINVAL, "out and path must not be NULL");
    if ((rc = lr__alloc_init(&a, allocator)) != 0)
        return rc;
    if ((rc = lr__file_read(path, &a, &buf, &len)) != 0)
        return rc;
    rc = leadroute_roster_parse(out, buf, len, path, allocator);
    lr__free(&a, buf);
    return rc;
}
