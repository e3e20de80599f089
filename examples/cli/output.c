/*
 * Output: records as CSV or JSON lines, numbers that read back exactly, and
 * the progress bar.
 * SPDX-License-Identifier: MIT
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* fileno */
#endif
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void format_number(double x, char *buf, size_t size)
{
    if (!isfinite(x)) {
        snprintf(buf, size, "%s", isnan(x) ? "nan" : x > 0 ? "inf" : "-inf");
        return;
    }
    /* whole numbers as integers (30, not 3e+01) */
    if (x > -1e15 && x < 1e15 && x == (double)(long long)x) {
        snprintf(buf, size, "%.0f", x);
        return;
    }
    /* else the shortest "%.Ng" that reads back as the same double: 0.1, not
     * 0.10000000000000001; 17 digits always round-trip */
    for (int precision = 1; precision <= 17; precision++) {
        snprintf(buf, size, "%.*g", precision, x);
        if (strtod(buf, NULL) == x)
            return;
    }
}

/* RFC 4180: quote a field holding a separator, a quote or a line break, and
 * one with white space at its ends (readers would trim it). */
void put_csv_field(FILE *out, const char *s)
{
    size_t n = strlen(s);
    int quote = n && (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t');
    if (!quote && strpbrk(s, ",\"\r\n"))
        quote = 1;
    if (!quote) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

/* JSON text is UTF-8 already (the library checks every string); only quotes,
 * backslashes and control characters need escapes. */
void put_json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        default:
            if (*p < 0x20)
                fprintf(out, "\\u%04x", *p);
            else
                fputc(*p, out);
        }
    }
    fputc('"', out);
}

cell cell_value(const leadroute_value *v, char *scratch, size_t scratch_size)
{
    if (!v)
        return cell_text(NULL);
    switch (v->type) {
    case LEADROUTE_VALUE_STRING:
        return cell_text(v->string ? v->string : "");
    case LEADROUTE_VALUE_NUMBER:
        return cell_number(v->number);
    case LEADROUTE_VALUE_BOOL:
        return cell_json(v->boolean ? "true" : "false");
    case LEADROUTE_VALUE_SET: {
        /* "a;b" as the leads files write sets; cut at the scratch size */
        size_t used = 0;
        scratch[0] = '\0';
        for (size_t i = 0; i < v->item_count && used + 1 < scratch_size; i++) {
            int n = snprintf(scratch + used, scratch_size - used, "%s%s", i ? ";" : "", v->items[i]);
            if (n < 0)
                break;
            used += (size_t)n < scratch_size - used ? (size_t)n : scratch_size - used - 1;
        }
        return cell_text(scratch);
    }
    default:
        return cell_text(NULL);
    }
}

void records_begin(record_writer *w, FILE *out, int format, const char *const *columns, size_t ncolumns)
{
    w->out = out;
    w->format = format == FORMAT_JSONL ? FORMAT_JSONL : FORMAT_CSV;
    w->columns = columns;
    w->ncolumns = ncolumns;
    if (w->format == FORMAT_CSV) {
        for (size_t i = 0; i < ncolumns; i++) {
            if (i)
                fputc(',', out);
            put_csv_field(out, columns[i]);
        }
        fputc('\n', out);
    }
}

static void put_csv_cell(FILE *out, const cell *c)
{
    char num[64];
    switch (c->kind) {
    case CELL_TEXT:
    case CELL_JSON:
        put_csv_field(out, c->text);
        break;
    case CELL_NUMBER:
        format_number(c->number, num, sizeof num);
        fputs(num, out);
        break;
    default: /* nothing: an empty cell */
        break;
    }
}

static void put_json_cell(FILE *out, const cell *c)
{
    char num[64];
    switch (c->kind) {
    case CELL_TEXT:
        put_json_string(out, c->text);
        break;
    case CELL_JSON:
        fputs(c->text, out);
        break;
    case CELL_NUMBER:
        /* JSON has no NaN or infinity */
        if (isfinite(c->number)) {
            format_number(c->number, num, sizeof num);
            fputs(num, out);
        } else {
            fputs("null", out);
        }
        break;
    default:
        fputs("null", out);
        break;
    }
}

void records_row(record_writer *w, const cell *cells)
{
    if (w->format == FORMAT_CSV) {
        for (size_t i = 0; i < w->ncolumns; i++) {
            if (i)
                fputc(',', w->out);
            put_csv_cell(w->out, &cells[i]);
        }
        fputc('\n', w->out);
        return;
    }
    int first = 1;
    fputc('{', w->out);
    for (size_t i = 0; i < w->ncolumns; i++) {
        if (cells[i].kind == CELL_NULL)
            continue;
        if (!first)
            fputc(',', w->out);
        first = 0;
        put_json_string(w->out, w->columns[i]);
        fputc(':', w->out);
        put_json_cell(w->out, &cells[i]);
    }
    fputs("}\n", w->out);
}

/* ---- progress bar ------------------------------------------------------------ */

#define PROGRESS_WIDTH 30

/* The bar on stderr's last line, if one is drawn there: a message clears
 * it first (cli_progress_clear), so that the message starts its line. */
static progress *drawn_bar;

static void progress_draw(progress *p, size_t done, double now)
{
    double elapsed = now - p->started;
    double fraction = p->total ? (double)done / (double)p->total : 1.0;
    int filled = (int)(fraction * PROGRESS_WIDTH);
    char bar[PROGRESS_WIDTH + 1], line[256];
    int n;
    for (int i = 0; i < PROGRESS_WIDTH; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[PROGRESS_WIDTH] = '\0';
    n = snprintf(line, sizeof line, "[%s] %3d%% %zu/%zu %s", bar, (int)(fraction * 100.0), done, p->total, p->what);
    if (n > 0 && (size_t)n < sizeof line && elapsed > 0.0 && done > 0)
        n += snprintf(line + n, sizeof line - (size_t)n, ", %.0f/s", (double)done / elapsed);
    if (n > 0 && (size_t)n < sizeof line && elapsed > 0.5 && done > 0 && done < p->total)
        n += snprintf(line + n, sizeof line - (size_t)n, ", %.0f s left",
                      elapsed * (double)(p->total - done) / (double)done);
    n = n < 0 ? 0 : (size_t)n < sizeof line ? n : (int)sizeof line - 1;
    /* blanks wipe what a longer line left */
    fprintf(stderr, "\r%s%*s", line, p->drawn > n ? p->drawn - n : 0, "");
    fflush(stderr);
    p->drawn = n;
    p->last_drawn = now;
    drawn_bar = p;
}

void cli_progress_clear(void)
{
    progress *p = drawn_bar;
    if (!p)
        return;
    fprintf(stderr, "\r%*s\r", p->drawn, "");
    p->drawn = 0;
    p->last_drawn = 0.0; /* drawn again at the next update */
    drawn_bar = NULL;
}

void progress_begin(progress *p, int mode, size_t total, const char *what)
{
    /* auto: only on a terminal, and only for files worth waiting for */
    p->on = mode == 1 || (mode < 0 && total >= 1000 && isatty(fileno(stderr)));
    p->total = total;
    p->what = what;
    p->started = cli_monotonic_seconds();
    p->last_drawn = 0.0;
    p->drawn = 0;
    if (p->on)
        progress_draw(p, 0, p->started);
}

void progress_update(progress *p, size_t done)
{
    if (!p->on)
        return;
    double now = cli_monotonic_seconds();
    if (now - p->last_drawn >= 0.1)
        progress_draw(p, done, now);
}

void progress_end(progress *p)
{
    if (!p->on)
        return;
    progress_draw(p, p->total, cli_monotonic_seconds());
    fputc('\n', stderr);
    p->on = 0;
    drawn_bar = NULL;
}
