/* RFC 4180 CSV reader: one record per call, fields unescaped into one buffer.
 *
 * Errors about a field's content (NUL byte, invalid UTF-8, field too long)
 * are reported only once the whole record has been scanned, so the reader
 * then stands at the start of the next record and a caller may go on
 * (the leads reader skips such rows). Structural errors (unterminated quote,
 * text after a closing quote, and in bounded mode a record whose shape shows
 * that a quote in it was stray) leave the position at the start of the
 * broken record: nothing after it can be trusted. */
#include "base/csv.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "base/value.h"

void lr__csv_init(lr__csv *csv, const char *data, size_t len, const char *filename, const lr__alloc *alloc)
{
    memset(csv, 0, sizeof *csv);
    csv->data = data;
    csv->len = data ? len : 0;
    csv->filename = filename ? filename : "<input>";
    csv->alloc = alloc;
    csv->cur_line = 1;
    csv->line = 1;
    /* A byte-order mark is not part of the first cell; columns count after it. */
    if (csv->len >= 3 && (unsigned char)data[0] == 0xEF && (unsigned char)data[1] == 0xBB &&
        (unsigned char)data[2] == 0xBF) {
        csv->pos = 3;
        csv->line_start = 3;
    }
}

void lr__csv_free(lr__csv *csv)
{
    if (!csv)
        return;
    lr__free(csv->alloc, csv->fields);
    lr__free(csv->alloc, csv->buf);
    csv->fields = NULL;
    csv->buf = NULL;
    csv->nfields = 0;
    csv->fields_cap = 0;
    csv->buf_len = 0;
    csv->buf_cap = 0;
}

static uint32_t col_of(const lr__csv *csv, size_t pos)
{
    size_t c = pos - csv->line_start + 1;
    return c > UINT32_MAX ? UINT32_MAX : (uint32_t)c;
}

/* A line ends with LF or CRLF; a CR alone ends one only at the end of the data. */
static int is_eol(const lr__csv *csv, size_t i)
{
    const char *p = csv->data;
    return p[i] == '\n' || (p[i] == '\r' && (i + 1 == csv->len || p[i + 1] == '\n'));
}

static int buf_reserve(lr__csv *csv, size_t extra)
{
    size_t need = csv->buf_len + extra;
    if (need <= csv->buf_cap)
        return 0;
    size_t cap = csv->buf_cap ? csv->buf_cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = lr__realloc(csv->alloc, csv->buf, csv->buf_cap, cap);
    if (!p)
        return lr__error_nomem();
    csv->buf = p;
    csv->buf_cap = cap;
    return 0;
}

/* Copy a run of plain bytes into the field buffer. */
static int buf_put(lr__csv *csv, const char *s, size_t n)
{
    if (n == 0)
        return 0;
    int rc = buf_reserve(csv, n);
    if (rc < 0)
        return rc;
    memcpy(csv->buf + csv->buf_len, s, n);
    csv->buf_len += n;
    return 0;
}

/* Bytes of a field kept in the buffer: one past the longest a field may
 * be tells it is too long, and such a field is an error, its text never
 * read; the rest is only counted. */
#define LR_KEPT(len) ((len) > LEADROUTE_MAX_STRING ? (size_t)LEADROUTE_MAX_STRING + 1 : (len))

/* Add n bytes to a field of length *len, keeping LR_KEPT of them all. */
static int field_put(lr__csv *csv, size_t *len, const char *s, size_t n)
{
    size_t keep = LR_KEPT(*len + n) - LR_KEPT(*len);
    *len += n;
    return buf_put(csv, s, keep);
}

/* A quoted field that closed past LEADROUTE_MAX_STRING bytes. */
typedef struct lr__long_field {
    uint32_t line, col;   /* its quote (line 0: none) */
    uint32_t end;         /* the line where it closes */
    uint32_t row;         /* a line inside it that reads alone as a row of the header's shape (0: none) */
    size_t len;           /* its length */
} lr__long_field;

/* First content problem met in a record; reported after the record is
 * scanned. Also what a bounded reader needs to know of the record's quotes,
 * and a broken structure, once met. */
typedef struct deferred {
    int code;
    uint32_t line, col;
    char what[160];
    lr__long_field first_long;    /* the first quoted field that closed past the bound (line 0: none) */
    lr__long_field row_inside;    /* the first such field with a line inside it that reads as a row */
    uint32_t span_line, span_col; /* where the first quoted field that ran past its line opened (line 0: none) */
    uint32_t span_end;            /* line where that field closes */
    int extra;                    /* a cell past expect_fields is not blank */
    size_t start;                 /* where the record starts */
    /* broken structure: where, the quote of its field, where the scan stopped, what */
    uint32_t fail_line, fail_col, fail_qline, fail_qcol;
    size_t fail_at;
    char fail_what[320];
} deferred;

/* Where a record starts, to go back to when it is broken. */
typedef struct mark {
    size_t pos, line_start;
    uint32_t line;
} mark;

static void defer(deferred *d, int code, uint32_t line, uint32_t col, const char *what)
{
    if (d->code == 0) {
        d->code = code;
        d->line = line;
        d->col = col;
        snprintf(d->what, sizeof d->what, "%s", what);
    }
}

#define LR_NUL_BYTE "NUL byte: the file is not UTF-8 text (a UTF-16 or binary file?)"
#define LR_NOT_CLOSED_WITHIN                                                                                        \
    "unterminated quoted field: expected a closing '\"' within %d bytes, the longest a field may be (a '\"' "     \
    "inside a quoted field is written '\"\"')"
#define LR_LONE_CR                                                                                                  \
    "a carriage return without a line feed: lines end with LF or CRLF (a file saved with old Mac line ends?)"
#define LR_INTO_BROKEN                                                                                              \
    "quoted field runs past its line into the quoted text of the broken row at line %u, and reads on from there " \
    "as that row did: its '\"' is read as a stray quote"
#define LR_ROW_INSIDE                                                                                               \
    "quoted field closes only at line %u, %zu bytes on, past the %d bytes a field may hold, and line %u inside " \
    "it reads as a row of its own: its '\"' is read as a stray quote (a '\"' inside a quoted field is written "  \
    "'\"\"')"
#define LR_NOT_A_ROW                                                                                                \
    "quoted field closes only at line %u, %zu bytes on, past the %d bytes a field may hold, and its row has %s: " \
    "its '\"' is read as a stray quote (a '\"' inside a quoted field is written '\"\"')"
#define LR_CELLS_PAST_HEADER                                                                                        \
    "quoted field closes only at line %u, and its row then has more cells than the header's %u: its '\"' is read " \
    "as a stray quote (a '\"' inside a quoted field is written '\"\"')"

static int fail(deferred *d, size_t at, uint32_t line, uint32_t col, uint32_t qline, uint32_t qcol, const char *fmt,
                ...) LR__PRINTF(7, 8);

/* Record a broken structure met at `at` in the field whose quote is at qline:qcol. */
static int fail(deferred *d, size_t at, uint32_t line, uint32_t col, uint32_t qline, uint32_t qcol, const char *fmt,
                ...)
{
    va_list ap;
    d->fail_at = at;
    d->fail_line = line;
    d->fail_col = col;
    d->fail_qline = qline;
    d->fail_qcol = qcol;
    va_start(ap, fmt);
    vsnprintf(d->fail_what, sizeof d->fail_what, fmt, ap);
    va_end(ap);
    return LEADROUTE_EPARSE;
}

/* Line and column in the file of byte `off` of a field's unescaped text:
 * a quoted field starts after its quote, each '"' in it was written "". */
static void field_pos(const char *text, size_t off, int quoted, uint32_t *line, uint32_t *col)
{
    size_t k;
    *col += quoted ? 1u : 0u;
    for (k = 0; k < off; k++) {
        if (text[k] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            *col += quoted && text[k] == '"' ? 2u : 1u;
        }
    }
}

/* Lines past 2^32 keep the last number rather than wrap. */
static void lr__csv_next_line(lr__csv *csv)
{
    if (csv->cur_line < UINT32_MAX)
        csv->cur_line++;
}

/* The field of length n whose text (LR_KEPT(n) bytes) starts at `start`. */
static int add_field(lr__csv *csv, size_t start, size_t n, uint32_t line, uint32_t col, int quoted, deferred *d)
{
    size_t bad;
    if (d->code == 0) {
        if (n > LEADROUTE_MAX_STRING) {
            defer(d, LEADROUTE_ELIMIT, line, col, "field longer than the limit");
        } else if (n && (bad = lr__utf8_invalid_at(csv->buf + start, n)) < n) {
            const char *text = csv->buf + start;
            size_t from = bad > 40 ? bad - 40 : 0;
            char what[160];
            while (from > 0 && ((unsigned char)text[from] & 0xC0) == 0x80)
                from++;
            snprintf(what, sizeof what, "invalid UTF-8: byte 0x%02X after '%s%.*s' starts no character "
                     "(save the file as UTF-8)", (unsigned char)text[bad], from ? "..." : "",
                     (int)(bad - from), text + from);
            field_pos(text, bad, quoted, &line, &col);
            defer(d, LEADROUTE_EPARSE, line, col, what);
        }
    }
    int rc = lr__vec_reserve(csv->alloc, (void **)&csv->fields, &csv->fields_cap, (size_t)csv->nfields + 1,
                             sizeof *csv->fields);
    if (rc < 0)
        return rc;
    /* text is fixed up once the record is complete: the buffer may still move */
    lr__csv_field *f = &csv->fields[csv->nfields++];
    f->text = NULL;
    f->len = n;
    f->line = line;
    f->col = col;
    f->quoted = quoted;
    /* NUL terminator between fields */
    rc = buf_reserve(csv, 1);
    if (rc < 0)
        return rc;
    csv->buf[csv->buf_len++] = '\0';
    return 0;
}

static int read_comment(lr__csv *csv, deferred *d)
{
    const char *p = csv->data;
    size_t start = csv->pos, eol = start;
    while (eol < csv->len && p[eol] != '\n')
        eol++;
    const char *nul = memchr(p + start, '\0', eol - start), *cr = memchr(p + start, '\r', eol - start);
    if (nul)
        defer(d, LEADROUTE_EPARSE, csv->cur_line, col_of(csv, (size_t)(nul - p)), LR_NUL_BYTE);
    if (cr && !is_eol(csv, (size_t)(cr - p)))
        defer(d, LEADROUTE_EPARSE, csv->cur_line, col_of(csv, (size_t)(cr - p)), LR_LONE_CR);
    size_t end = eol;
    while (end > start && (p[end - 1] == ',' || p[end - 1] == ' ' || p[end - 1] == '\t' || p[end - 1] == '\r'))
        end--;
    /* only directives ('#!') are read: a longer plain comment is cut, on a
     * character boundary, rather than failing the file */
    if (end - start > LEADROUTE_MAX_STRING && !(p[start + 1] == '!')) {
        end = start + LEADROUTE_MAX_STRING;
        while (end > start + 1 && ((unsigned char)p[end] & 0xC0) == 0x80)
            end--;
    }
    size_t len = 0;
    int rc = field_put(csv, &len, p + start, end - start);
    if (rc < 0)
        return rc;
    rc = add_field(csv, 0, len, csv->cur_line, col_of(csv, start), 0, d);
    if (rc < 0)
        return rc;
    csv->is_comment = 1;
    if (eol < csv->len) {
        csv->pos = eol + 1;
        lr__csv_next_line(csv);
        csv->line_start = csv->pos;
    } else {
        csv->pos = eol;
    }
    return 0;
}

/* Whether a '"' comes at or after `from`. */
static int lr__csv_quote_ahead(lr__csv *csv, size_t from)
{
    if (!csv->quote_known || (csv->next_quote != SIZE_MAX && csv->next_quote < from)) {
        const char *q = memchr(csv->data + from, '"', csv->len - from);
        csv->next_quote = q ? (size_t)(q - csv->data) : SIZE_MAX;
        csv->quote_known = 1;
        csv->looked_at += (q ? (size_t)(q - csv->data) + 1 : csv->len) - from;
    }
    return csv->next_quote != SIZE_MAX;
}

static int lr__csv_text_blank(const char *s, size_t n)
{
    lr__trim(&s, &n);
    return n == 0;
}

/* Whether the line from `from` to its end at `eol` reads alone as a row of
 * expect_fields cells (more only if blank), not all blank: its quotes
 * closing on the line, with nothing but blanks after them. */
static int lr__csv_line_is_row(const lr__csv *csv, size_t from, size_t eol)
{
    const char *p = csv->data;
    uint32_t n = 0;
    int any = 0;
    if (eol > from && p[eol - 1] == '\r')
        eol--;
    for (size_t i = from;; i++) {
        const char *text;
        size_t len, lead = i;
        while (lead < eol && (p[lead] == ' ' || p[lead] == '\t'))
            lead++;
        if (lead < eol && p[lead] == '"') {
            /* "" inside is a quote: never blank, and the scan goes on after it */
            for (i = lead + 1; i < eol && !(p[i] == '"' && (i + 1 >= eol || p[i + 1] != '"')); i++)
                if (p[i] == '"')
                    i++;
            if (i >= eol)
                return 0;
            text = p + lead + 1;
            len = i - lead - 1;
            for (i++; i < eol && (p[i] == ' ' || p[i] == '\t'); i++)
                ;
            if (i < eol && p[i] != ',')
                return 0;
        } else {
            const char *comma = memchr(p + i, ',', eol - i);
            text = p + i;
            len = (comma ? (size_t)(comma - p) : eol) - i;
            i += len;
        }
        n++;
        if (!lr__csv_text_blank(text, len)) {
            if (n > csv->expect_fields)
                return 0;
            any = 1;
        }
        if (i >= eol)
            break;
    }
    return any && n >= csv->expect_fields;
}

/* The first line from `from` up to `to` (whole lines) that reads alone as a
 * row of the header's shape, `line` being the first one's number; 0 if none. */
static uint32_t lr__csv_row_inside(lr__csv *csv, size_t from, size_t to, uint32_t line)
{
    while (from < to) {
        const char *lf = memchr(csv->data + from, '\n', to - from);
        size_t eol = lf ? (size_t)(lf - csv->data) : to;
        csv->looked_at += eol - from;
        if (lr__csv_line_is_row(csv, from, eol))
            return line;
        from = eol + 1;
        line++;
    }
    return 0;
}

/* Scan a quoted field starting at the opening quote; its text goes to the
 * buffer (see field_put), its length to *len. A broken structure is
 * described in `d` (fail_*) and returned as LEADROUTE_EPARSE. */
static int read_quoted(lr__csv *csv, size_t *len, deferred *d)
{
    const char *p = csv->data;
    uint32_t qline = csv->cur_line, qcol = col_of(csv, csv->pos);
    size_t i = csv->pos + 1, first_lf = SIZE_MAX;
    for (;;) {
        size_t run = i;
        /* copy plain bytes in runs */
        while (i < csv->len && p[i] != '"' && p[i] != '\n' && p[i] != '\0')
            i++;
        int rc = field_put(csv, len, p + run, i - run);
        if (rc < 0)
            return rc;
        /* past the longest field, go on only if a '"' is still to come: a
         * long field that closes is read whole and reported by the reader as
         * too long; a stray quote fails here without scanning to the end
         * again for every broken row (where the next '"' is, is kept) */
        if (csv->bounded && *len > LEADROUTE_MAX_STRING && !lr__csv_quote_ahead(csv, i))
            return fail(d, i, qline, qcol, qline, qcol, LR_NOT_CLOSED_WITHIN, LEADROUTE_MAX_STRING);
        if (i >= csv->len) {
            return fail(d, i, qline, qcol, qline, qcol,
                        "unterminated quoted field (missing closing '\"'): expected a '\"' before the end of the "
                        "file (a '\"' inside a quoted field is written '\"\"')");
        }
        char c = p[i];
        if (c == '"') {
            if (i + 1 < csv->len && p[i + 1] == '"') {
                rc = field_put(csv, len, "\"", 1);
                if (rc < 0)
                    return rc;
                i += 2;
                continue;
            }
            i++;
            break;
        }
        if (c == '\0')
            defer(d, LEADROUTE_EPARSE, csv->cur_line, col_of(csv, i), LR_NUL_BYTE);
        if (c == '\n' && csv->bounded) {
            /* a broken record read this line break inside its quotes too:
             * from here on this record reads exactly as that one did, so
             * it is not scanned again (read again itself, it is) */
            if (i < csv->broken_to && d->start > csv->broken_from)
                return fail(d, i, qline, qcol, qline, qcol, LR_INTO_BROKEN, csv->broken_line);
            if (d->span_line == 0) {
                d->span_line = qline;
                d->span_col = qcol;
            }
            if (first_lf == SIZE_MAX)
                first_lf = i;
        }
        rc = field_put(csv, len, p + i, 1);
        if (rc < 0)
            return rc;
        i++;
        if (c == '\n') {
            lr__csv_next_line(csv);
            csv->line_start = i;
        }
    }
    if (d->span_line == qline && d->span_col == qcol)
        d->span_end = csv->cur_line;
    if (csv->bounded && *len > LEADROUTE_MAX_STRING) {
        /* a field too long: the reader skips its record whole, its lines
         * with it, if the record is a row; a line inside it that is a row
         * of its own says its quote was stray instead */
        lr__long_field f = { qline, qcol, csv->cur_line, 0, *len };
        if (csv->expect_fields && first_lf != SIZE_MAX && d->row_inside.line == 0)
            f.row = lr__csv_row_inside(csv, first_lf + 1, csv->line_start, qline + 1);
        if (d->first_long.line == 0)
            d->first_long = f;
        if (f.row && d->row_inside.line == 0)
            d->row_inside = f;
    }
    /* after the closing quote: blanks, then a separator, a line end or the end */
    while (i < csv->len && (p[i] == ' ' || p[i] == '\t'))
        i++;
    if (i < csv->len && p[i] == '\r' && !is_eol(csv, i))
        return fail(d, i, csv->cur_line, col_of(csv, i), qline, qcol, "%s", LR_LONE_CR);
    if (i < csv->len && p[i] != ',' && !is_eol(csv, i)) {
        /* a quote opened lines before and closed here was most likely stray:
         * the message starts at that quote, on the row's own line */
        if (qline != csv->cur_line)
            return fail(d, i, qline, qcol, qline, qcol,
                        "the quoted field runs past its line, and its quoting breaks at line %u, column %u: "
                        "unexpected text after closing quote (expected ',' or end of line)",
                        csv->cur_line, col_of(csv, i));
        return fail(d, i, csv->cur_line, col_of(csv, i), qline, qcol,
                    "unexpected text after closing quote (expected ',' or end of line)");
    }
    csv->pos = i;
    return 0;
}

/* The record is broken: the reader stays at its start (lr__csv_skip_line
 * goes on from there). A bounded reader remembers how far it ran inside
 * quotes, so that a record read again from inside that stretch is not
 * scanned through it again. */
static int lr__csv_break(lr__csv *csv, const mark *rec, size_t end, uint32_t line, uint32_t col, const char *what)
{
    csv->looked_at += end - rec->pos;
    csv->pos = rec->pos;
    csv->cur_line = rec->line;
    csv->line_start = rec->line_start;
    csv->nfields = 0;
    csv->broken = 1;
    if (csv->bounded && end > csv->broken_to) {
        csv->broken_from = rec->pos;
        csv->broken_to = end;
        csv->broken_line = rec->line;
    }
    return lr__error_set_at(LEADROUTE_EPARSE, csv->filename, line, col, "%s", what);
}

/* A quoted field broke the record. When the record had already run past
 * its first line through an earlier field, the message starts at that
 * field, on the record's own line, and says where the quoting broke. */
static int lr__csv_break_quoted(lr__csv *csv, const mark *rec, const deferred *d)
{
    char what[512];
    if (csv->bounded && d->span_line && (d->fail_qline != d->span_line || d->fail_qcol != d->span_col)) {
        snprintf(what, sizeof what, "quoted field runs past its line, and its row's quoting then breaks at line %u, "
                 "column %u: %s", d->fail_line, d->fail_col, d->fail_what);
        return lr__csv_break(csv, rec, d->fail_at, d->span_line, d->span_col, what);
    }
    return lr__csv_break(csv, rec, d->fail_at, d->fail_line, d->fail_col, d->fail_what);
}

/* A bounded record whose shape shows a quote in it was stray: a quoted field
 * that closed past the bound in a record without the header's shape, or
 * with a line inside that is a row of its own, or a record that ran past
 * its line through a quote and has more cells than the header. */
static int lr__csv_stray(lr__csv *csv, const mark *rec, size_t end, const deferred *d)
{
    char what[512], cells[64];
    if (d->first_long.line && (csv->nfields < csv->expect_fields || d->extra)) {
        const lr__long_field *f = &d->first_long;
        if (d->extra)
            snprintf(cells, sizeof cells, "more cells than the header's %u", csv->expect_fields);
        else
            snprintf(cells, sizeof cells, "%u cell%s, the header %u", csv->nfields, lr__plural_s(csv->nfields),
                     csv->expect_fields);
        snprintf(what, sizeof what, LR_NOT_A_ROW, f->end, f->len, LEADROUTE_MAX_STRING, cells);
        return lr__csv_break(csv, rec, end, f->line, f->col, what);
    }
    if (d->row_inside.line) {
        const lr__long_field *f = &d->row_inside;
        snprintf(what, sizeof what, LR_ROW_INSIDE, f->end, f->len, LEADROUTE_MAX_STRING, f->row);
        return lr__csv_break(csv, rec, end, f->line, f->col, what);
    }
    snprintf(what, sizeof what, LR_CELLS_PAST_HEADER, d->span_end, csv->expect_fields);
    return lr__csv_break(csv, rec, end, d->span_line, d->span_col, what);
}

int lr__csv_next(lr__csv *csv, int comments)
{
    if (!csv)
        return lr__error_set(LEADROUTE_EINVAL, "csv reader is NULL");
    csv->nfields = 0;
    csv->is_comment = 0;
    csv->broken = 0;
    csv->buf_len = 0;
    if (csv->pos >= csv->len)
        return 0;

    const char *p = csv->data;
    mark rec = { csv->pos, csv->line_start, csv->cur_line };
    size_t end = csv->len; /* where the record ends: its line end, or the end of the data */
    csv->line = csv->cur_line;
    deferred d;
    int rc;
    memset(&d, 0, sizeof d);
    d.start = rec.pos;

    /* a comment may be indented */
    size_t first = csv->pos;
    while (comments && first < csv->len && (p[first] == ' ' || p[first] == '\t'))
        first++;
    if (comments && first < csv->len && p[first] == '#') {
        csv->pos = first;
        rc = read_comment(csv, &d);
        if (rc < 0)
            return rc;
    } else {
        for (;;) {
            size_t start = csv->buf_len, lead = csv->pos, n = 0;
            uint32_t line = csv->cur_line, col;
            int quoted = 0;
            /* spreadsheets and people write `a, "b, c"`: blanks before a quote do not count */
            while (lead < csv->len && (p[lead] == ' ' || p[lead] == '\t'))
                lead++;
            if (lead < csv->len && p[lead] == '"')
                csv->pos = lead;
            col = col_of(csv, csv->pos);
            if (csv->pos < csv->len && p[csv->pos] == '"') {
                quoted = 1;
                rc = read_quoted(csv, &n, &d);
                if (rc == LEADROUTE_EPARSE)
                    return lr__csv_break_quoted(csv, &rec, &d);
                if (rc < 0) {
                    csv->pos = rec.pos;
                    csv->cur_line = rec.line;
                    csv->line_start = rec.line_start;
                    csv->nfields = 0;
                    return rc;
                }
            } else {
                size_t i = csv->pos;
                /* a '"' inside an unquoted field is kept literally */
                while (i < csv->len && p[i] != ',' && !is_eol(csv, i)) {
                    if (p[i] == '\0')
                        defer(&d, LEADROUTE_EPARSE, csv->cur_line, col_of(csv, i), LR_NUL_BYTE);
                    else if (p[i] == '\r')
                        defer(&d, LEADROUTE_EPARSE, csv->cur_line, col_of(csv, i), LR_LONE_CR);
                    i++;
                }
                rc = field_put(csv, &n, p + csv->pos, i - csv->pos);
                if (rc < 0)
                    return rc;
                csv->pos = i;
            }
            rc = add_field(csv, start, n, line, col, quoted, &d);
            if (rc < 0)
                return rc;
            if (csv->bounded && csv->expect_fields) {
                /* a field too long counts as not blank: its text is not all kept */
                if (csv->nfields > csv->expect_fields &&
                    (n > LEADROUTE_MAX_STRING || !lr__csv_text_blank(csv->buf + start, n)))
                    d.extra = 1;
                /* no row of the header's shape has that cell: stop here
                 * rather than read on through what the quote swallowed */
                if (d.extra && d.span_line)
                    return lr__csv_stray(csv, &rec, csv->pos, &d);
            }
            if (csv->pos >= csv->len)
                break;
            if (p[csv->pos] == ',') {
                csv->pos++;
                continue;
            }
            /* line end: LF or CRLF */
            end = csv->pos;
            if (p[csv->pos] == '\r')
                csv->pos++;
            if (csv->pos < csv->len)
                csv->pos++;
            lr__csv_next_line(csv);
            csv->line_start = csv->pos;
            break;
        }
    }

    /* point the fields into the buffer, now that it no longer moves */
    size_t off = 0;
    for (uint32_t k = 0; k < csv->nfields; k++) {
        csv->fields[k].text = csv->buf + off;
        off += LR_KEPT(csv->fields[k].len) + 1;
    }
    /* A quote closed this far on in a record that is no row (cells were
     * swallowed) was most likely stray, its closing one a '"' of a later
     * line (27"): the record is broken, so that the lines it ran over are
     * read as records again, as when no '"' comes at all. So it is when a
     * line it ran over is a row of its own, as when the '"' that closed it
     * is in the stray quote's column: the leads of those lines matter more
     * than the text of a field too long anyway. Else, in a record of the
     * right shape, it is a field, too long, and its lines are no records. */
    if (d.first_long.line && csv->bounded && csv->expect_fields &&
        (csv->nfields < csv->expect_fields || d.extra || d.row_inside.line))
        return lr__csv_stray(csv, &rec, end, &d);
    csv->looked_at += csv->pos - rec.pos;
    if (d.code) {
        csv->nfields = 0;
        if (d.code == LEADROUTE_ELIMIT)
            return lr__error_set_at(d.code, csv->filename, d.line, d.col, "field longer than %d bytes",
                                    LEADROUTE_MAX_STRING);
        return lr__error_set_at(d.code, csv->filename, d.line, d.col, "%s", d.what);
    }
    return 1;
}

int lr__csv_skip_line(lr__csv *csv)
{
    const char *lf = csv->pos < csv->len ? memchr(csv->data + csv->pos, '\n', csv->len - csv->pos) : NULL;
    csv->broken = 0;
    if (!lf) {
        csv->pos = csv->len;
        return 0;
    }
    csv->pos = (size_t)(lf - csv->data) + 1;
    lr__csv_next_line(csv);
    csv->line_start = csv->pos;
    return csv->pos < csv->len;
}

int lr__csv_blank_field(const lr__csv_field *f)
{
    return lr__csv_text_blank(f->text, f->len);
}

int lr__csv_check_separator(const lr__csv *csv)
{
    const lr__csv_field *f;
    const char *tab, *semi, *sep;
    uint32_t i;
    if (csv->nfields == 0 || csv->fields[0].quoted)
        return LEADROUTE_OK;
    for (i = 1; i < csv->nfields; i++)
        if (!lr__csv_blank_field(&csv->fields[i]))
            return LEADROUTE_OK;
    f = &csv->fields[0];
    tab = memchr(f->text, '\t', f->len);
    semi = memchr(f->text, ';', f->len);
    sep = !tab ? semi : !semi ? tab : tab < semi ? tab : semi;
    if (!sep)
        return LEADROUTE_OK;
    return lr__error_set_at(LEADROUTE_EPARSE, csv->filename, f->line, f->col + (uint32_t)(sep - f->text),
                            "the header is one cell with %s in it: the file looks separated by %s; save it "
                            "separated by commas (a spreadsheet's 'CSV UTF-8')",
                            *sep == ';' ? "';'" : "a tab", *sep == ';' ? "semicolons" : "tabs");
}

int lr__csv_blank_record(const lr__csv *csv)
{
    uint32_t i;
    for (i = 0; i < csv->nfields; i++)
        if (!lr__csv_blank_field(&csv->fields[i]))
            return 0;
    return 1;
}

int lr__csv_comment(const lr__csv *csv, lr__csv_field *out)
{
    const lr__csv_field *f;
    size_t skip = 0;
    uint32_t i;
    if (csv->nfields == 0)
        return 0;
    f = &csv->fields[0];
    if (!csv->is_comment) {
        /* blanks before the '#' do not count, as on an unquoted line */
        while (skip < f->len && (f->text[skip] == ' ' || f->text[skip] == '\t'))
            skip++;
        if (skip == f->len || f->text[skip] != '#')
            return 0;
        for (i = 1; i < csv->nfields; i++)
            if (!lr__csv_blank_field(&csv->fields[i]))
                return 0;
    }
    *out = *f;
    out->text += skip;
    out->len -= skip;
    /* at the '#': blanks are one column each, and a quoted cell's text
     * starts after its quote (`quoted` stays set: a '"' in the text was
     * written "") */
    out->col += (uint32_t)skip + (f->quoted ? 1u : 0u);
    return 1;
}
