/* Leads from CSV: header row of field names, one lead per row. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "leadroute/leads.h"
#include "base/alloc.h"
#include "base/csv.h"
#include "base/error.h"
#include "base/file.h"
#include "base/hash.h"
#include "base/value.h"

typedef struct lr__lead_entry {
    leadroute_lead lead;
    uint32_t line;
} lr__lead_entry;

typedef struct lr__row_error {
    const char *message;
    uint32_t line;
} lr__row_error;

typedef struct lr__column {
    const char *name;   /* the table's own string when the table reads this field */
    int is_set;
} lr__column;

struct leadroute_leads {
    lr__alloc alloc;
    lr__arena arena;            /* every string, field array and message */
    leadroute_table *table;     /* referenced while names point into it */
    lr__lead_entry *entries;
    uint32_t count, cap;
    lr__row_error *errors;
    uint32_t error_count, error_cap;
};

/* Parse-time state. */
typedef struct reader {
    leadroute_leads *leads;
    lr__csv csv;
    const char *filename;
    lr__column *cols;
    uint32_t ncols;
    uint32_t id_col;
    /* open-addressing set of lead ids: slot holds entry index + 1, 0 = empty */
    uint32_t *slots;
    size_t slot_mask;
} reader;

#define LR__MSG_MAX 600

static int add_row_error(reader *r, uint32_t line, const char *msg)
{
    leadroute_leads *l = r->leads;
    int rc = lr__vec_reserve(&l->alloc, (void **)&l->errors, &l->error_cap, (size_t)l->error_count + 1,
                             sizeof *l->errors);
    if (rc < 0)
        return rc;
    char *copy = lr__arena_strndup(&l->arena, msg, strlen(msg));
    if (!copy)
        return lr__error_nomem();
    l->errors[l->error_count].message = copy;
    l->errors[l->error_count].line = line;
    l->error_count++;
    return 0;
}

static int row_error(reader *r, uint32_t line, const lr__csv_field *cell, const char *fmt, ...) LR__PRINTF(4, 5);

/* A row's message, one line of valid UTF-8 as every message is: the ids
 * and names it quotes may hold anything. At the cell at fault, if one is. */
static int row_error(reader *r, uint32_t line, const lr__csv_field *cell, const char *fmt, ...)
{
    char raw[2 * LR__MSG_MAX], msg[LR__MSG_MAX];
    const char *dots, *shown = lr__path_tail(r->filename, &dots);
    int off = cell ? snprintf(raw, sizeof raw, "%s%s:%u:%u: ", dots, shown, cell->line, cell->col)
                   : snprintf(raw, sizeof raw, "%s%s:%u: ", dots, shown, line);
    if (off < 0 || (size_t)off >= sizeof raw)
        off = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw + off, sizeof raw - (size_t)off, fmt, ap);
    va_end(ap);
    lr__message_clean(msg, sizeof msg, raw);
    return add_row_error(r, line, msg);
}

static int ascii_ieq(const char *a, size_t n, const char *b)
{
    size_t i;
    for (i = 0; i < n && b[i]; i++) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z')
            x = (char)(x - 'A' + 'a');
        if (x != y)
            return 0;
    }
    return i == n && b[i] == '\0';
}

static int read_header(reader *r, const leadroute_table *table)
{
    lr__csv *csv = &r->csv;
    leadroute_leads *l = r->leads;
    int rc;
    for (;;) {
        rc = lr__csv_next(csv, 0);
        if (rc < 0)
            return rc;
        if (rc == 0)
            return lr__error_set_at(LEADROUTE_EPARSE, r->filename, csv->cur_line, 1,
                                    "no header row: the file holds no data");
        if (!lr__csv_blank_record(csv))
            break;
    }
    if ((rc = lr__csv_check_separator(csv)) != 0)
        return rc;
    /* trailing empty header cells, as spreadsheets write them, do not count */
    uint32_t n = csv->nfields;
    while (n > 0 && lr__csv_blank_field(&csv->fields[n - 1]))
        n--;
    if (n > LEADROUTE_MAX_FIELDS)
        return lr__error_set_at(LEADROUTE_ELIMIT, r->filename, csv->fields[LEADROUTE_MAX_FIELDS].line,
                                csv->fields[LEADROUTE_MAX_FIELDS].col,
                                "header has %u columns; a lead holds at most %d fields", n,
                                LEADROUTE_MAX_FIELDS);
    r->cols = lr__arena_zalloc(&l->arena, sizeof *r->cols * n);
    if (!r->cols)
        return lr__error_nomem();
    r->ncols = n;
    r->id_col = 0;
    int have_id = 0;
    size_t tin = table ? leadroute_table_input_count(table) : 0;

    for (uint32_t c = 0; c < n; c++) {
        const lr__csv_field *f = &csv->fields[c];
        const char *s = f->text;
        size_t len = f->len;
        lr__trim(&s, &len);
        int is_set = 0;
        if (len >= 4 && ascii_ieq(s + len - 4, 4, ":set")) {
            is_set = 1;
            len -= 4;
            lr__trim(&s, &len);
        }
        if (len == 0)
            return lr__error_set_at(LEADROUTE_EPARSE, r->filename, f->line, f->col,
                                    "header column %u has no field name", c + 1);
        if (len > LEADROUTE_MAX_NAME)
            return lr__error_set_at(LEADROUTE_ELIMIT, r->filename, f->line, f->col,
                                    "field name longer than %d bytes", LEADROUTE_MAX_NAME);
        /* as table column names: such a name would match no column, unseen */
        const char *breaker = lr__text_breaker(s, len);
        if (breaker)
            return lr__error_set_at(LEADROUTE_EPARSE, r->filename, f->line, f->col, "field name '%.*s' holds %s",
                                    (int)len, s, breaker);
        const char *name = NULL;
        for (size_t t = 0; t < tin; t++) {
            const char *tn = leadroute_table_input_name(table, t);
            if (tn && strlen(tn) == len && memcmp(tn, s, len) == 0) {
                name = tn;
                if (leadroute_table_input_type(table, t) == LEADROUTE_TYPE_SET)
                    is_set = 1;
                break;
            }
        }
        if (!name) {
            name = lr__arena_strndup(&l->arena, s, len);
            if (!name)
                return lr__error_nomem();
        }
        for (uint32_t k = 0; k < c; k++) {
            if (strcmp(r->cols[k].name, name) == 0)
                return lr__error_set_at(LEADROUTE_EPARSE, r->filename, f->line, f->col,
                                        "duplicate field name '%s' (also column %u)", name, k + 1);
        }
        r->cols[c].name = name;
        r->cols[c].is_set = is_set;
        if (ascii_ieq(s, len, "id")) {
            /* `ID` and `id` both: which one holds the id is not guessed */
            if (have_id)
                return lr__error_set_at(LEADROUTE_EPARSE, r->filename, f->line, f->col,
                                        "header names the lead id twice: '%s' and '%s' (column %u)", name,
                                        r->cols[r->id_col].name, r->id_col + 1);
            r->id_col = c;
            have_id = 1;
        }
    }
    return 0;
}

/* Look `id` up; when absent, insert entry `index` and return 0, else
 * return the line of the earlier lead. */
static int id_seen(reader *r, const char *id, size_t len, uint32_t index, uint32_t *first_line)
{
    leadroute_leads *l = r->leads;
    /* keep the load at most one half */
    if (((size_t)index + 1) * 2 > r->slot_mask + 1) {
        size_t nsize = r->slots ? (r->slot_mask + 1) * 2 : 64;
        if (nsize > SIZE_MAX / sizeof(uint32_t))
            return lr__error_nomem();
        uint32_t *ns = lr__calloc(&l->alloc, nsize, sizeof *ns);
        if (!ns)
            return lr__error_nomem();
        for (size_t i = 0; r->slots && i <= r->slot_mask; i++) {
            uint32_t v = r->slots[i];
            if (!v)
                continue;
            const char *s = l->entries[v - 1].lead.id;
            size_t h = (size_t)lr__hash(s, strlen(s)) & (nsize - 1);
            while (ns[h])
                h = (h + 1) & (nsize - 1);
            ns[h] = v;
        }
        lr__free(&l->alloc, r->slots);
        r->slots = ns;
        r->slot_mask = nsize - 1;
    }
    size_t h = (size_t)lr__hash(id, len) & r->slot_mask;
    while (r->slots[h]) {
        const leadroute_lead *other = &l->entries[r->slots[h] - 1].lead;
        if (strlen(other->id) == len && memcmp(other->id, id, len) == 0) {
            *first_line = l->entries[r->slots[h] - 1].line;
            return 1;
        }
        h = (h + 1) & r->slot_mask;
    }
    r->slots[h] = index + 1;
    return 0;
}

static size_t count_items(const char *s, size_t len)
{
    size_t n = 0;
    while (len) {
        const char *semi = memchr(s, ';', len);
        size_t part = semi ? (size_t)(semi - s) : len;
        const char *p = s;
        size_t plen = part;
        lr__trim(&p, &plen);
        if (plen)
            n++;
        if (!semi)
            break;
        s += part + 1;
        len -= part + 1;
    }
    return n;
}

static int split_items(lr__arena *arena, const char *s, size_t len, size_t count, leadroute_value *v)
{
    const char **items = lr__arena_alloc(arena, sizeof *items * count);
    if (!items)
        return lr__error_nomem();
    size_t n = 0;
    while (len) {
        const char *semi = memchr(s, ';', len);
        size_t part = semi ? (size_t)(semi - s) : len;
        const char *p = s;
        size_t plen = part;
        lr__trim(&p, &plen);
        if (plen) {
            items[n] = lr__arena_strndup(arena, p, plen);
            if (!items[n])
                return lr__error_nomem();
            n++;
        }
        if (!semi)
            break;
        s += part + 1;
        len -= part + 1;
    }
    v->type = LEADROUTE_VALUE_SET;
    v->items = items;
    v->item_count = n;
    return 0;
}

static int read_row(reader *r)
{
    lr__csv *csv = &r->csv;
    leadroute_leads *l = r->leads;
    uint32_t line = csv->line;

    if (lr__csv_blank_record(csv))
        return 0;
    if (csv->nfields < r->ncols)
        return row_error(r, line, NULL, "row has %u cell%s, the header has %u", csv->nfields,
                         lr__plural_s(csv->nfields), r->ncols);
    for (uint32_t c = r->ncols; c < csv->nfields; c++)
        if (!lr__csv_blank_field(&csv->fields[c]))
            return row_error(r, line, NULL, "row has %u cells, the header has %u", csv->nfields, r->ncols);

    const char *id = csv->fields[r->id_col].text;
    size_t id_len = csv->fields[r->id_col].len;
    lr__trim(&id, &id_len);
    if (id_len == 0)
        return row_error(r, line, &csv->fields[r->id_col], "empty lead id (column '%s')", r->cols[r->id_col].name);

    /* check everything before allocating, so a skipped row costs nothing */
    size_t nfields = 0;
    for (uint32_t c = 0; c < r->ncols; c++) {
        const char *s = csv->fields[c].text;
        size_t len = csv->fields[c].len;
        lr__trim(&s, &len);
        if (!len)
            continue;
        if (r->cols[c].is_set) {
            size_t items = count_items(s, len);
            if (items > LEADROUTE_MAX_SET_ITEMS)
                return row_error(r, line, &csv->fields[c], "field '%s' has %zu set items; the limit is %d",
                                 r->cols[c].name, items, LEADROUTE_MAX_SET_ITEMS);
            if (items == 0)
                continue;
        }
        nfields++;
    }

    int rc = lr__vec_reserve(&l->alloc, (void **)&l->entries, &l->cap, (size_t)l->count + 1, sizeof *l->entries);
    if (rc < 0)
        return rc;
    uint32_t first_line = 0;
    rc = id_seen(r, id, id_len, l->count, &first_line);
    if (rc < 0)
        return rc;
    if (rc > 0)
        return row_error(r, line, &csv->fields[r->id_col], "duplicate lead id '%.*s%s' (first on line %u)",
                         (int)lr__utf8_cut(id, id_len, 200), id, id_len > 200 ? "..." : "", first_line);
    /* from here on the entry is in the id set: it must be completed */

    lr__lead_entry *e = &l->entries[l->count];
    memset(e, 0, sizeof *e);
    e->line = line;
    e->lead.version = LEADROUTE_LEAD_VERSION;
    e->lead.id = lr__arena_strndup(&l->arena, id, id_len);
    leadroute_field *fields = nfields ? lr__arena_zalloc(&l->arena, sizeof *fields * nfields) : NULL;
    if (!e->lead.id || (nfields && !fields))
        return lr__error_nomem();
    size_t k = 0;
    for (uint32_t c = 0; c < r->ncols; c++) {
        const char *s = csv->fields[c].text;
        size_t len = csv->fields[c].len;
        lr__trim(&s, &len);
        if (!len)
            continue;
        size_t items = r->cols[c].is_set ? count_items(s, len) : 0;
        if (r->cols[c].is_set && items == 0)
            continue; /* not counted above: no slot for it */
        leadroute_field *f = &fields[k];
        f->name = r->cols[c].name;
        f->value.version = LEADROUTE_VALUE_VERSION;
        if (r->cols[c].is_set) {
            rc = split_items(&l->arena, s, len, items, &f->value);
            if (rc < 0)
                return rc;
        } else if (c == r->id_col) {
            f->value.type = LEADROUTE_VALUE_STRING;
            f->value.string = e->lead.id;
        } else {
            f->value.type = LEADROUTE_VALUE_STRING;
            f->value.string = lr__arena_strndup(&l->arena, s, len);
            if (!f->value.string)
                return lr__error_nomem();
        }
        k++;
    }
    e->lead.fields = fields;
    e->lead.field_count = k;
    l->count++;
    return 0;
}

static void reader_done(reader *r)
{
    lr__csv_free(&r->csv);
    lr__free(&r->leads->alloc, r->slots);
    r->slots = NULL;
}

int leadroute_leads_parse(leadroute_leads **out, const char *text, size_t length, const char *filename,
                          const leadroute_table *table, const leadroute_allocator *allocator)
{
    if (out)
        *out = NULL;
    if (!out)
        return lr__error_set(LEADROUTE_EINVAL, "leadroute_leads_parse: out is NULL");
    if (!text && length)
        return lr__error_set(LEADROUTE_EINVAL, "leadroute_leads_parse: text is NULL");
    lr__alloc alloc;
    int rc = lr__alloc_init(&alloc, allocator);
    if (rc < 0)
        return rc;
    leadroute_leads *l = lr__malloc(&alloc, sizeof *l);
    if (!l)
        return lr__error_nomem();
    memset(l, 0, sizeof *l);
    l->alloc = alloc;
    lr__arena_init(&l->arena, &l->alloc);

    reader r;
    memset(&r, 0, sizeof r);
    r.leads = l;
    /* messages outlive the caller's string */
    r.filename = lr__arena_strndup(&l->arena, filename ? filename : "<leads>",
                                   strlen(filename ? filename : "<leads>"));
    if (!r.filename) {
        leadroute_leads_free(l);
        return lr__error_nomem();
    }
    lr__csv_init(&r.csv, text, length, r.filename, &l->alloc);
    /* a field is at most LEADROUTE_MAX_STRING bytes anyway: past that a
     * quote is followed only while a '"' is still to come; and a row read
     * again is not scanned through quotes a broken row ran over: skipping
     * broken rows stays linear */
    r.csv.bounded = 1;

    rc = read_header(&r, table);
    /* a quoted cell that closes past the bound is believed in a row of the
     * header's shape only, with no line inside of that shape, and a row
     * that ran past its line through a quote stops at its first cell past
     * the header's */
    r.csv.expect_fields = r.ncols;
    while (rc >= 0) {
        size_t before = r.csv.pos;
        rc = lr__csv_next(&r.csv, 0);
        if (rc == 0)
            break;
        if (rc > 0) {
            rc = read_row(&r);
            continue;
        }
        /* A bad cell (UTF-8, NUL, length) costs only its row: the reader
         * has moved past it. A broken structure (a quote never closed, text
         * after a closing quote) costs the row too, and reading goes on at
         * the line after its first: a stray quote may have swallowed the
         * lines after it, which are leads of their own. */
        if (rc == LEADROUTE_ENOMEM)
            break;
        if (r.csv.pos > before) {
            rc = add_row_error(&r, r.csv.line, leadroute_error_last()->message);
        } else if (r.csv.broken) {
            rc = add_row_error(&r, r.csv.line, leadroute_error_last()->message);
            lr__csv_skip_line(&r.csv);
        }
    }
    reader_done(&r);
    if (rc < 0) {
        leadroute_leads_free(l);
        return rc;
    }
    if (table) {
        /* field names point into the table: keep it alive */
        l->table = leadroute_table_ref((leadroute_table *)table);
    }
    *out = l;
    return LEADROUTE_OK;
}

int leadroute_leads_load(leadroute_leads **out, const char *path, const leadroute_table *table,
                         const leadroute_allocator *allocator)
{
    if (out)
        *out = NULL;
    if (!out || !path)
        return lr__error_set(LEADROUTE_EINVAL, "leadroute_leads_load: %s is NULL", out ? "path" : "out");
    lr__alloc alloc;
    int rc = lr__alloc_init(&alloc, allocator);
    if (rc < 0)
        return rc;
    char *buf = NULL;
    size_t len = 0;
    if ((rc = lr__file_read(path, &alloc, &buf, &len)) != 0)
        return rc;
    rc = leadroute_leads_parse(out, buf, len, path, table, allocator);
    lr__free(&alloc, buf);
    return rc;
}

void leadroute_leads_free(leadroute_leads *leads)
{
    if (!leads)
        return;
    lr__alloc alloc = leads->alloc;
    leadroute_table_unref(leads->table);
    lr__free(&alloc, leads->entries);
    lr__free(&alloc, leads->errors);
    lr__arena_free(&leads->arena);
    lr__free(&alloc, leads);
}

size_t leadroute_leads_count(const leadroute_leads *leads)
{
    return leads ? leads->count : 0;
}

const leadroute_lead *leadroute_leads_get(const leadroute_leads *leads, size_t index)
{
    if (!leads || index >= leads->count)
        return NULL;
    return &leads->entries[index].lead;
}

uint32_t leadroute_leads_line(const leadroute_leads *leads, size_t index)
{
    if (!leads || index >= leads->count)
        return 0;
    return leads->entries[index].line;
}

size_t leadroute_leads_error_count(const leadroute_leads *leads)
{
    return leads ? leads->error_count : 0;
}

const char *leadroute_leads_error(const leadroute_leads *leads, size_t index)
{
    if (!leads || index >= leads->error_count)
        return NULL;
    return leads->errors[index].message;
}

uint32_t leadroute_leads_error_line(const leadroute_leads *leads, size_t index)
{
    if (!leads || index >= leads->error_count)
        return 0;
    return leads->errors[index].line;
}
