/* Table text: directives, header and rule rows from CSV into the builder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/csv.h"
#include "base/error.h"
#include "base/file.h"
#include "base/value.h"
#include "table/internal.h"

typedef struct lr__parser {
    leadroute_table_builder b;
    lr__csv csv;
    const char *file;
    int header_seen;
    int has_id;
    uint32_t ncells;            /* cells in the header */
    const char **cells;         /* rule cell pointers, reused per row */
    uint32_t *cols;             /* byte column of each cell */
    uint32_t *lines;            /* line each cell starts on */
    uint8_t *quoted;
} lr__parser;

/* Re-raise the builder's last error with the cell's location in front. */
static int lr__locate(lr__parser *p, int rc, const lr__csv_field *f)
{
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", leadroute_error_last()->message);
    return lr__error_set_at(rc, p->file, f->line, f->col, "%s", msg);
}

static int lr__directive(lr__parser *p, const lr__csv_field *f)
{
    const char *s = f->text + 2, *colon;
    size_t n = f->len - 2;
    if (p->header_seen)
        return lr__error_set_at(LEADROUTE_EPARSE, p->file, f->line, f->col,
                                "directive '%.*s' after the header: directives go before the header row",
                                (int)lr__utf8_cut(f->text, f->len, 60), f->text);
    colon = memchr(s, ':', n);
    if (!colon)
        return lr__error_set_at(LEADROUTE_EPARSE, p->file, f->line, f->col,
                                "directive '%.*s' needs the form '#! key: value'",
                                (int)lr__utf8_cut(f->text, f->len, 60), f->text);
    /* f->line and f->col locate the '#' */
    return lr__builder_set_at(&p->b, s, (size_t)(colon - s), colon + 1, n - (size_t)(colon - s) - 1, f->text,
                              f->line, f->col, f->quoted);
}

static int lr__header(lr__parser *p)
{
    const lr__csv *csv = &p->csv;
    uint32_t i;
    int rc;

    if ((rc = lr__csv_check_separator(csv)) != 0)
        return rc;
    if (csv->nfields > 0) {
        const char *s0 = csv->fields[0].text;
        size_t n0 = csv->fields[0].len;
        lr__trim(&s0, &n0);
        p->has_id = lr__equal_ci(s0, n0, "rule");
    }
    for (i = p->has_id ? 1 : 0; i < csv->nfields; i++) {
        const lr__csv_field *f = &csv->fields[i];
        const char *s = f->text, *parts[4];
        size_t n = f->len, lens[4];
        uint32_t nparts = 0, type = LEADROUTE_TYPE_STRING, flags = 0, k;
        int output = 0;

        lr__trim(&s, &n);
        if (n == 0) {
            /* spreadsheets pad rows; trailing empty header cells are fine */
            uint32_t j;
            for (j = i; j < csv->nfields && lr__csv_blank_field(&csv->fields[j]); j++)
                ;
            if (j == csv->nfields)
                break;
            return lr__error_set_at(LEADROUTE_EPARSE, p->file, f->line, f->col,
                                    "empty column name in the header (expected 'field', 'field:type' or 'out:name')");
        }
        while (nparts < 4) {
            const char *colon = memchr(s, ':', n);
            size_t len = colon ? (size_t)(colon - s) : n;
            parts[nparts] = s;
            lens[nparts] = len;
            lr__trim(&parts[nparts], &lens[nparts]);
            nparts++;
            if (!colon)
                break;
            n -= len + 1;
            s = colon + 1;
            if (nparts == 4)
                return lr__error_set_at(LEADROUTE_EPARSE, p->file, f->line, f->col,
                                        "column '%.*s' has too many ':' parts", (int)f->len, f->text);
        }
        k = 0;
        if (nparts > 1 && lr__equal_ci(parts[0], lens[0], "out")) {
            output = 1;
            k = 1;
        }
        {
            const char *name = parts[k];
            size_t name_len = lens[k];
            uint32_t m, typed = 0;
            if (name_len == 0)
                return lr__error_set_at(LEADROUTE_EPARSE, p->file, f->line, f->col,
                                        "column '%.*s' needs a name before its ':' (expected %s)", (int)f->len,
                                        f->text, output ? "'out:name' or 'out:name:type'" : "'field' or 'field:type'");
            for (m = k + 1; m < nparts; m++) {
                /* at the part in an unquoted cell, whose text is the file's */
                uint32_t at = f->quoted ? f->col : f->col + (uint32_t)(parts[m] - f->text);
                int is_ci = !output && lr__equal_ci(parts[m], lens[m], "ci");
                if (is_ci ? (flags & LEADROUTE_COLUMN_CASE_INSENSITIVE) != 0 : typed)
                    return lr__error_set_at(LEADROUTE_EPARSE, p->file, f->line, at,
                                            "column '%.*s': %s '%.*s' (one type per column, ci at most once)",
                                            (int)f->len, f->text, is_ci ? "a second" : "a second type",
                                            (int)lens[m], parts[m]);
                if (lr__equal_ci(parts[m], lens[m], "string"))
                    type = LEADROUTE_TYPE_STRING;
                else if (lr__equal_ci(parts[m], lens[m], "number"))
                    type = LEADROUTE_TYPE_NUMBER;
                else if (lr__equal_ci(parts[m], lens[m], "bool") || lr__equal_ci(parts[m], lens[m], "boolean"))
                    type = LEADROUTE_TYPE_BOOL;
                else if (!output && lr__equal_ci(parts[m], lens[m], "set"))
                    type = LEADROUTE_TYPE_SET;
                else if (is_ci)
                    flags |= LEADROUTE_COLUMN_CASE_INSENSITIVE;
                else
                    return lr__error_set_at(LEADROUTE_EPARSE, p->file, f->line, at,
                                            "column '%.*s': unknown type '%.*s' (expected %s)", (int)f->len, f->text,
                                            (int)lens[m], parts[m],
                                            output ? "string, number or bool" : "string, number, bool, set or ci");
                typed |= !is_ci;
            }
            if ((rc = lr__builder_add_column(&p->b, output, name, name_len, type, flags)) != 0)
                return lr__locate(p, rc == LEADROUTE_EINVAL ? LEADROUTE_EPARSE : rc, f);
        }
        p->ncells = i + 1;
    }
    if (p->b.ninputs + p->b.noutputs == 0)
        return lr__error_set_at(LEADROUTE_EPARSE, p->file, csv->line, 1,
                                "the header names no input or output column");
    p->ncells = (p->has_id ? 1 : 0) + p->b.ninputs + p->b.noutputs;
    p->cells = lr__calloc(&p->b.alloc, p->ncells + 1, sizeof *p->cells);
    p->cols = lr__calloc(&p->b.alloc, p->ncells + 1, sizeof *p->cols);
    p->lines = lr__calloc(&p->b.alloc, p->ncells + 1, sizeof *p->lines);
    p->quoted = lr__calloc(&p->b.alloc, p->ncells + 1, sizeof *p->quoted);
    if (!p->cells || !p->cols || !p->lines || !p->quoted)
        return lr__error_nomem();
    p->header_seen = 1;
    return LEADROUTE_OK;
}

static int lr__row(lr__parser *p)
{
    const lr__csv *csv = &p->csv;
    leadroute_rule rule = LEADROUTE_RULE_INIT;
    lr__origin origin;
    uint32_t i, first = p->has_id ? 1 : 0;

    if (csv->nfields < p->ncells)
        return lr__error_set_at(LEADROUTE_ETABLE, p->file, csv->line, csv->fields[0].col,
                                "this row has %u cell%s, the header has %u: a row needs a cell for every "
                                "column ('-' or empty for any value)",
                                csv->nfields, lr__plural_s(csv->nfields), p->ncells);
    for (i = p->ncells; i < csv->nfields; i++)
        if (!lr__csv_blank_field(&csv->fields[i]))
            return lr__error_set_at(LEADROUTE_ETABLE, p->file, csv->fields[i].line, csv->fields[i].col,
                                    "this row has %u cells, the header has %u: this cell is beyond the last "
                                    "column (a ',' too many, or a cell holding ',' that needs quotes?)",
                                    csv->nfields, p->ncells);
    for (i = 0; i < p->ncells; i++) {
        p->cells[i] = csv->fields[i].text;
        p->cols[i] = csv->fields[i].col;
        p->lines[i] = csv->fields[i].line;
        p->quoted[i] = (uint8_t)csv->fields[i].quoted;
    }
    if (p->has_id) {
        const char *s = p->cells[0];
        size_t n = csv->fields[0].len;
        lr__trim(&s, &n);
        if (n == 0)
            return lr__error_set_at(LEADROUTE_ETABLE, p->file, csv->line, csv->fields[0].col,
                                    "empty rule id (the 'rule' column needs a unique id on every row)");
        rule.id = p->cells[0];
    }
    rule.inputs = p->cells + first;
    rule.input_count = p->b.ninputs;
    rule.outputs = p->cells + first + p->b.ninputs;
    rule.output_count = p->b.noutputs;
    memset(&origin, 0, sizeof origin);
    origin.file = p->file;
    origin.line = csv->line;
    origin.cell_cols = p->cols + first;
    origin.cell_lines = p->lines + first;
    origin.cell_quoted = p->quoted + first;
    origin.id_col = p->has_id ? p->cols[0] : 0;
    return lr__builder_add_rule_at(&p->b, &rule, &origin);
}

int leadroute_table_parse(leadroute_table **out, const char *text, size_t length, const char *filename,
                          const leadroute_table_options *options)
{
    lr__parser p;
    lr__csv_field comment;
    int rc;

    if (!out)
        return lr__error_set(LEADROUTE_EINVAL, "out is NULL");
    *out = NULL;
    if (!text && length)
        return lr__error_set(LEADROUTE_EINVAL, "text is NULL");
    memset(&p, 0, sizeof p);
    p.file = filename ? filename : "<table>";
    if ((rc = lr__builder_init(&p.b, options)) != 0) {
        if (p.b.ids.slots)
            lr__builder_clear(&p.b);
        return rc;
    }
    p.b.arena.alloc = &p.b.alloc;
    p.b.file = p.file;
    lr__csv_init(&p.csv, text ? text : "", length, p.file, &p.b.alloc);
    for (;;) {
        rc = lr__csv_next(&p.csv, 1);
        if (rc <= 0)
            break;
        if (lr__csv_comment(&p.csv, &comment)) {
            if (comment.len >= 2 && comment.text[1] == '!') {
                if ((rc = lr__directive(&p, &comment)) != 0)
                    break;
            }
            continue;
        }
        if (lr__csv_blank_record(&p.csv))
            continue;
        rc = p.header_seen ? lr__row(&p) : lr__header(&p);
        if (rc)
            break;
    }
    if (rc == 0 && !p.header_seen)
        rc = lr__error_set_at(LEADROUTE_EPARSE, p.file, p.csv.line ? p.csv.line : 1, 1,
                              "no header row: expected a line such as 'rule,region,score:number,out:pool'");
    if (rc == 0)
        rc = lr__table_compile(out, &p.b);
    lr__free(&p.b.alloc, p.cells);
    lr__free(&p.b.alloc, p.cols);
    lr__free(&p.b.alloc, p.lines);
    lr__free(&p.b.alloc, p.quoted);
    lr__csv_free(&p.csv);
    lr__builder_clear(&p.b);
    return rc;
}

int leadroute_table_load(leadroute_table **out, const char *path, const leadroute_table_options *options)
{
    char *buf = NULL;
    size_t len = 0;
    lr__alloc a;
    int rc;

    if (out)
        *out = NULL;
    if (!out || !path)
        return lr__error_set(LEADROUTE_EINVAL, "out and path must not be NULL");
    /* the options first: a misuse is reported as such, whatever the file */
    if ((rc = lr__table_options_check(options)) != 0)
        return rc;
    if ((rc = lr__alloc_init(&a, options ? options->allocator : NULL)) != 0)
        return rc;
    if ((rc = lr__file_read(path, &a, &buf, &len)) != 0)
        return rc;
    rc = leadroute_table_parse(out, buf, len, path, options);
    lr__free(&a, buf);
    return rc;
}
