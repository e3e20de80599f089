/*
 * The HTML report of `leadroute simulate --html` (see report.h).
 *
 * The page is written in one pass, straight to the caller's FILE: a header,
 * key figures, the outcome bar, leads per rep grouped by pool, the pool table
 * with Jain's fairness index, rule hits, and why leads were not assigned.
 * Charts are inline SVG drawn on a 1160-unit wide view box that scales with
 * the page, so the same markup reads on a 1280 px screen and on paper.
 *
 * Numbers never go through printf's %f or %g: those follow the process
 * locale's decimal point. Every figure is built from integers here, so the
 * page reads the same whatever setlocale() the host called.
 *
 * SPDX-License-Identifier: MIT
 */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* ---- output -------------------------------------------------------------- */

/* All writes go through here; after the first failure nothing more is
 * written and its errno is kept for the caller. */
typedef struct writer {
    FILE *out;
    int error;
} writer;

static void note_failure(writer *w)
{
    if (!w->error)
        w->error = errno ? errno : EIO;
}

static void put(writer *w, const char *s)
{
    if (w->error)
        return;
    errno = 0;
    if (fputs(s, w->out) == EOF)
        note_failure(w);
}

#if defined(__GNUC__)
#define PRINTF_LIKE(a, b) __attribute__((format(printf, a, b)))
#else
#define PRINTF_LIKE(a, b)
#endif

/* Only integer and string conversions go through here, never %f or %g. */
static void putf(writer *w, const char *format, ...) PRINTF_LIKE(2, 3);

static void putf(writer *w, const char *format, ...)
{
    if (w->error)
        return;
    va_list args;
    va_start(args, format);
    errno = 0;
    int written = vfprintf(w->out, format, args);
    va_end(args);
    if (written < 0)
        note_failure(w);
}

static void put_bytes(writer *w, const char *bytes, size_t length)
{
    if (w->error || length == 0)
        return;
    errno = 0;
    if (fwrite(bytes, 1, length, w->out) != length)
        note_failure(w);
}

/* ---- escaping ------------------------------------------------------------ */

/* Length of the well-formed UTF-8 sequence at s (1 to 4 bytes) and its code
 * point, or 0 when the bytes there are not one. C1 controls count as
 * malformed: they have no business in a name and HTML flags them. */
static size_t utf8_sequence(const unsigned char *s, uint32_t *code_point)
{
    unsigned char lead = s[0];
    size_t length;
    uint32_t code;
    if (lead < 0x80) {
        *code_point = lead;
        return 1;
    }
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
        code = lead & 0x1Fu;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        code = lead & 0x0Fu;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        code = lead & 0x07u;
    } else {
        return 0;
    }
    for (size_t i = 1; i < length; i++) {
        if ((s[i] & 0xC0) != 0x80) /* also stops at the terminating NUL */
            return 0;
        code = (code << 6) | (s[i] & 0x3Fu);
    }
    if (length == 2 && code < 0xA0)
        return 0;
    if (length == 3 && (code < 0x800 || (code >= 0xD800 && code <= 0xDFFF)))
        return 0;
    if (length == 4 && (code < 0x10000 || code > 0x10FFFF))
        return 0;
    *code_point = code;
    return length;
}

/* Rough width of a character in tenths of an average lowercase letter: enough
 * to cut a label before it runs into the bars, without font metrics. */
static unsigned character_width(uint32_t code)
{
    bool wide = (code >= 0x1100 && code <= 0x115F) || (code >= 0x2E80 && code <= 0xA4CF) ||
                (code >= 0xAC00 && code <= 0xD7A3) || (code >= 0xF900 && code <= 0xFAFF) ||
                (code >= 0xFE30 && code <= 0xFE4F) || (code >= 0xFF00 && code <= 0xFF60) ||
                (code >= 0xFFE0 && code <= 0xFFE6) || code >= 0x1F300;
    if (wide)
        return 19;
    if ((code >= 'A' && code <= 'Z') || code == 'm' || code == 'w')
        return 13;
    return 10;
}

/* Walk a string one character at a time: the bytes it takes (one for a
 * malformed byte, shown as U+FFFD) and its width; 0 at the end. */
static size_t next_character(const unsigned char *p, bool *malformed, unsigned *width)
{
    if (!*p)
        return 0;
    uint32_t code = 0xFFFD;
    size_t length = utf8_sequence(p, &code);
    *malformed = length == 0;
    *width = character_width(code);
    return length ? length : 1;
}

/* Write s escaped for HTML text and attribute values alike. With max_width
 * (tenths of a letter, 0 = no limit) a longer text is cut and ends with an
 * ellipsis. Control bytes become spaces and malformed UTF-8 becomes U+FFFD,
 * so any input gives a well-formed page. NULL writes nothing. */
static void put_text_cut(writer *w, const char *s, unsigned max_width)
{
    if (!s)
        return;
    const unsigned char *p = (const unsigned char *)s;
    bool malformed;
    unsigned width, total = 0, budget = UINT_MAX;
    if (max_width > 0) {
        for (size_t length; (length = next_character(p, &malformed, &width)) > 0; p += length)
            total += width;
        if (total > max_width)
            budget = max_width > 10 ? max_width - 10 : 0; /* room for the ellipsis */
        p = (const unsigned char *)s;
    }
    for (size_t length; (length = next_character(p, &malformed, &width)) > 0 && width <= budget;
         p += length) {
        budget -= budget == UINT_MAX ? 0 : width;
        if (malformed) {
            put(w, "\xEF\xBF\xBD");
            continue;
        }
        if (length > 1) {
            put_bytes(w, (const char *)p, length);
            continue;
        }
        switch (*p) {
        case '&': put(w, "&amp;"); break;
        case '<': put(w, "&lt;"); break;
        case '>': put(w, "&gt;"); break;
        case '"': put(w, "&quot;"); break;
        case '\'': put(w, "&#39;"); break;
        default:
            put_bytes(w, (*p < 0x20 || *p == 0x7F) ? " " : (const char *)p, 1);
        }
    }
    if (total > max_width && max_width > 0)
        put(w, "\xE2\x80\xA6"); /* … */
}

static void put_text(writer *w, const char *s)
{
    put_text_cut(w, s, 0);
}

/* ---- numbers ------------------------------------------------------------- */

enum { NUMBER_SIZE = 48 };

/* 1234567 -> "1,234,567". */
static char *format_count(char *buf, uint64_t value)
{
    char digits[24];
    int n = 0;
    do {
        digits[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value);
    char *p = buf;
    for (int i = n - 1; i >= 0; i--) {
        *p++ = digits[i];
        if (i > 0 && i % 3 == 0)
            *p++ = ',';
    }
    *p = '\0';
    return buf;
}

/* value with `decimals` decimals (0 to 6) and '.' as the decimal point,
 * grouped in thousands when asked; "n/a" for NaN and infinities. */
static char *format_fixed(char *buf, double value, int decimals, bool grouped)
{
    if (!isfinite(value)) {
        strcpy(buf, "n/a");
        return buf;
    }
    uint64_t scale = 1;
    for (int i = 0; i < decimals; i++)
        scale *= 10;
    double scaled = round(fabs(value) * (double)scale);
    if (scaled >= 9.0e18) {
        /* Past exact 64-bit integers; "%.0e" prints no decimal point in any locale. */
        snprintf(buf, NUMBER_SIZE, "%.0e", value);
        return buf;
    }
    uint64_t units = (uint64_t)scaled;
    char *p = buf;
    if (value < 0 && units != 0)
        *p++ = '-';
    uint64_t whole = units / scale;
    if (grouped)
        format_count(p, whole);
    else
        snprintf(p, 24, "%" PRIu64, whole);
    p += strlen(p);
    if (decimals > 0) {
        uint64_t fraction = units % scale;
        *p++ = '.';
        p[decimals] = '\0';
        for (int i = decimals - 1; i >= 0; i--, fraction /= 10)
            p[i] = (char)('0' + fraction % 10);
    }
    return buf;
}

/* Short deal values for labels: "845", "8.5 k", "845 k", "1.2 M", "12 M". */
static char *format_money(char *buf, double value)
{
    static const char *const units[] = {"", " k", " M", " B", " T"};
    if (!isfinite(value))
        return format_fixed(buf, value, 0, false);
    double size = fabs(value);
    if (round(size) < 1000.0)
        return format_fixed(buf, value, 0, true);
    size_t unit = 1;
    size /= 1000.0;
    while (size >= 999.5 && unit + 1 < sizeof units / sizeof units[0]) {
        size /= 1000.0;
        unit++;
    }
    format_fixed(buf, value < 0 ? -size : size, size < 9.95 ? 1 : 0, true);
    strcat(buf, units[unit]);
    return buf;
}

/* Exact deal values for tooltips and the total: "1,234,567.50". */
static char *format_amount(char *buf, double value)
{
    return format_fixed(buf, value, 2, true);
}

static char *format_percent(char *buf, uint64_t part, uint64_t whole)
{
    if (whole == 0) {
        strcpy(buf, "n/a");
        return buf;
    }
    format_fixed(buf, 100.0 * (double)part / (double)whole, 1, false);
    strcat(buf, "%");
    return buf;
}

/* Pixels from a fraction of a length; callers keep fractions within [0, 1]. */
static long pixels(double fraction, int length)
{
    if (!(fraction > 0.0))
        return 0;
    if (fraction > 1.0)
        fraction = 1.0;
    return lround(fraction * length);
}

/* A round axis step (1, 2, 5, 10, 20, ...) giving at most five ticks to max. */
static uint64_t axis_step(uint64_t max)
{
    static const uint64_t mantissas[] = {1, 2, 5};
    uint64_t target = max / 5 + (max % 5 != 0);
    for (uint64_t power = 1;; power *= 10) {
        for (size_t i = 0; i < 3; i++) {
            uint64_t step = mantissas[i] * power; /* target < 4e18, so 5e18 ends this in range */
            if (step >= target)
                return step;
        }
    }
}

/* ---- palette ------------------------------------------------------------- */

#define INK "#1f2933"
#define MUTED "#52606d"
#define GRID "#e4e7eb"
#define INACTIVE "#c3c9d0"
#define VALUE_INK "#3d4b5c"
#define VALUE_BAR "#7d8fa6"
#define GOOD "#3b8a6e"
#define WARN "#d9a43a"
#define BAD "#c0504d"
#define REASON "#d0776b"

static const char *const pool_colours[] = {
    "#4e79a7", "#59a14f", "#8e6c9e", "#4a9a95", "#9c755f", "#d37f3a", "#6b7f99", "#c26a7a",
};
#define POOL_COLOURS (sizeof pool_colours / sizeof pool_colours[0])

/* Outcomes in report_data order: assigned, existing, queued, unassigned, unrouted. */
static const char *const outcome_colours[] = {GOOD, "#6a9bc3", WARN, "#a3adb8", BAD};
static const char *const outcome_labels[] = {"Assigned", "Existing", "Queued", "Unassigned", "Unrouted"};
static const char *const outcome_notes[] = {
    "new owner this run", "already owned", "waiting in a queue", "no one could take it",
    "stopped by an error",
};
#define OUTCOME_KINDS 5

static const char *outcome_colour(size_t i)
{
    return i < OUTCOME_KINDS ? outcome_colours[i] : pool_colours[i % POOL_COLOURS];
}

/* White text on the dark segments, ink on the light ones. */
static const char *outcome_text_colour(size_t i)
{
    return (i == 2 || i == 3) ? INK : "#ffffff";
}

/* ---- page frame ---------------------------------------------------------- */

/* In pieces: ISO C only promises string literals of 4095 characters. */
static const char *const stylesheet[] = {
    "*{box-sizing:border-box}\n"
    "html{-webkit-print-color-adjust:exact;print-color-adjust:exact}\n"
    "body{margin:0;background:#f4f6f9;color:" INK ";"
    "font:14px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,\"DejaVu Sans\",\"Helvetica Neue\",Arial,"
    "sans-serif}\n"
    "main{max-width:1240px;margin:0 auto;padding:24px 20px 32px}\n"
    "header.page{margin:0 0 18px}\n"
    "h1{font-size:26px;line-height:1.2;margin:0 0 10px}\n"
    "h2{font-size:18px;margin:0 0 4px}\n"
    "h3{font-size:15px;margin:16px 0 2px;display:flex;align-items:baseline;gap:10px;flex-wrap:wrap}\n"
    "h3 .swatch{align-self:center}\n"
    ".meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0;font-size:13px}\n"
    ".meta dt{color:" MUTED "}\n"
    ".meta dd{margin:0;overflow-wrap:anywhere}\n"
    "code{font-family:\"DejaVu Sans Mono\",Menlo,Consolas,monospace;font-size:12px;background:#eef1f5;"
    "padding:1px 5px;border-radius:3px}\n"
    "section{background:#fff;border:1px solid #dde2e8;border-radius:8px;padding:16px 20px 18px;"
    "margin:0 0 18px}\n"
    ".intro{color:" MUTED ";font-size:13px;margin:0 0 12px}\n"
    ".muted{color:" MUTED "}\n"
    ".small{font-size:12px;font-weight:normal}\n"
    ".cards{display:grid;grid-template-columns:repeat(7,minmax(0,1fr));gap:12px}\n"
    ".card{border:1px solid #dde2e8;border-top:4px solid var(--accent);border-radius:6px;"
    "padding:9px 12px 10px;min-width:0}\n"
    ".card .label{color:" MUTED ";font-size:12px;text-transform:uppercase;letter-spacing:.04em}\n"
    ".card .figure{font-size:24px;font-weight:600;line-height:1.25;font-variant-numeric:tabular-nums;"
    "white-space:nowrap}\n"
    ".card .note{color:" MUTED ";font-size:12px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}\n"
    ".card.alert .figure{color:" BAD "}\n",

    "svg.chart{display:block;width:100%;height:auto;overflow:visible}\n"
    "svg.chart text{font-size:13px;fill:" INK "}\n"
    "svg.chart text.axis,svg.chart text.head{font-size:11px;fill:" MUTED "}\n"
    "svg.chart text.num{font-variant-numeric:tabular-nums}\n"
    "svg.chart text.off{fill:#8a96a3;font-style:italic}\n"
    "svg.chart text.never{fill:" BAD ";font-style:italic;font-size:12px}\n"
    "svg.chart text.full{fill:" BAD ";font-weight:600}\n"
    "svg.chart text.inside{font-size:12px;font-weight:600}\n"
    "svg.chart .row>rect.hover{fill:transparent}\n"
    "svg.chart .row:hover>rect.hover{fill:#eef3f8}\n"
    "svg.chart .row.dead>rect.hover{fill:#fcf0ef}\n"
    ".legend{display:flex;flex-wrap:wrap;gap:6px 22px;list-style:none;padding:0;margin:10px 0 0;"
    "font-size:13px}\n"
    ".legend li{display:flex;align-items:center;gap:7px}\n"
    ".swatch{display:inline-block;flex:none;vertical-align:middle}\n"
    ".group{break-inside:avoid;page-break-inside:avoid}\n"
    "table{border-collapse:collapse;width:100%;font-size:13px}\n"
    "th,td{padding:6px 10px;border-bottom:1px solid " GRID ";text-align:left;vertical-align:middle}\n"
    "th{color:" MUTED ";font-weight:600;font-size:12px;text-transform:uppercase;letter-spacing:.03em}\n"
    "tr{break-inside:avoid}\n"
    "td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
    "td.gauge{white-space:nowrap}\n"
    "td.gauge svg{vertical-align:middle;margin-right:8px}\n"
    ".empty{color:" MUTED ";font-style:italic;margin:4px 0}\n"
    "footer{color:" MUTED ";font-size:12px;text-align:center}\n"
    "@page{size:A4 landscape;margin:12mm}\n"
    "@media print{body{background:#fff}main{max-width:none;padding:0}"
    "section{border:none;padding:0;margin:0 0 16px}.cards{break-inside:avoid}"
    "svg.chart .row:hover>rect.hover{fill:transparent}}\n",
};

static void write_head(writer *w, const report_data *d, const char *title)
{
    put(w, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
    put_text(w, title);
    if (d->table_name && *d->table_name) {
        put(w, " \xE2\x80\x93 "); /* – */
        put_text(w, d->table_name);
    }
    put(w, "</title>\n<style>\n");
    for (size_t i = 0; i < sizeof stylesheet / sizeof stylesheet[0]; i++)
        put(w, stylesheet[i]);
    put(w, "</style>\n</head>\n<body>\n<main>\n");
}

/* A small coloured square for legends and headings. */
static void write_swatch(writer *w, const char *colour, const char *style)
{
    if (strcmp(style, "line") == 0)
        putf(w, "<svg class=\"swatch\" width=\"14\" height=\"14\" aria-hidden=\"true\">"
                "<rect x=\"6\" y=\"0\" width=\"2\" height=\"14\" fill=\"%s\"/></svg>", colour);
    else if (strcmp(style, "pale") == 0)
        putf(w, "<svg class=\"swatch\" width=\"14\" height=\"14\" aria-hidden=\"true\">"
                "<rect x=\"0\" y=\"1\" width=\"14\" height=\"12\" rx=\"2\" fill=\"%s\" "
                "fill-opacity=\"0.25\"/>"
                "</svg>", colour);
    else
        putf(w, "<svg class=\"swatch\" width=\"14\" height=\"14\" aria-hidden=\"true\">"
                "<rect x=\"0\" y=\"1\" width=\"14\" height=\"12\" rx=\"2\" fill=\"%s\"/></svg>", colour);
}

/* ---- header and key figures ---------------------------------------------- */

static void write_header(writer *w, const report_data *d, const char *title)
{
    put(w, "<header class=\"page\">\n<h1>");
    put_text(w, title);
    put(w, "</h1>\n<dl class=\"meta\">\n<dt>Decision table</dt><dd>");
    put_text(w, d->table_name);
    if (d->table_hash && *d->table_hash) {
        put(w, " <code title=\"table hash\">");
        put_text(w, d->table_hash);
        put(w, "</code>");
    }
    put(w, "</dd>\n<dt>Roster</dt><dd>");
    put_text(w, d->roster_file);
    put(w, "</dd>\n<dt>Leads</dt><dd>");
    put_text(w, d->leads_file);
    put(w, "</dd>\n<dt>Generated</dt><dd>");
    put_text(w, d->generated_at);
    put(w, "</dd>\n</dl>\n</header>\n");
}

static uint64_t outcome_count(const report_data *d, size_t i)
{
    return (d->outcomes && i < d->outcome_count) ? d->outcomes[i].count : 0;
}

static uint64_t outcome_sum(const report_data *d)
{
    uint64_t sum = 0;
    for (size_t i = 0; d->outcomes && i < d->outcome_count; i++)
        sum += d->outcomes[i].count;
    return sum;
}

/* Percentages are of the leads read; of the outcomes if that is not given. */
static uint64_t lead_base(const report_data *d)
{
    return d->leads_total ? d->leads_total : outcome_sum(d);
}

static void write_card(writer *w, const char *accent, const char *label, const char *figure,
                       const char *note, const char *tooltip, bool alert)
{
    putf(w, "<div class=\"card%s\" style=\"--accent:%s\" title=\"", alert ? " alert" : "", accent);
    put_text(w, tooltip);
    put(w, "\"><div class=\"label\">");
    put_text(w, label);
    put(w, "</div><div class=\"figure\">");
    put_text(w, figure);
    put(w, "</div><div class=\"note\">");
    put_text(w, note);
    put(w, "</div></div>\n");
}

static void write_key_figures(writer *w, const report_data *d)
{
    char figure[NUMBER_SIZE], note[2 * NUMBER_SIZE], tooltip[4 * NUMBER_SIZE];
    uint64_t base = lead_base(d);

    put(w, "<section id=\"key-figures\">\n<h2>Key figures</h2>\n"
           "<p class=\"intro\">What happened to the leads of this run.</p>\n<div class=\"cards\">\n");
    format_count(figure, d->leads_total);
    if (d->leads_skipped) {
        char skipped[NUMBER_SIZE];
        snprintf(note, sizeof note, "%s row%s skipped", format_count(skipped, d->leads_skipped),
                 d->leads_skipped == 1 ? "" : "s");
    } else {
        strcpy(note, "all rows read");
    }
    snprintf(tooltip, sizeof tooltip, "%s leads read", figure);
    write_card(w, "#6b7f99", "Leads", figure, note, tooltip, false);

    for (size_t i = 0; i < OUTCOME_KINDS; i++) {
        char percent[NUMBER_SIZE];
        uint64_t count = outcome_count(d, i);
        format_count(figure, count);
        format_percent(percent, count, base);
        if (i == 0)
            snprintf(note, sizeof note, "%s of leads", percent);
        else
            snprintf(note, sizeof note, "%s", outcome_notes[i]);
        snprintf(tooltip, sizeof tooltip, "%s leads, %s of leads", figure, percent);
        write_card(w, outcome_colours[i], outcome_labels[i], figure, note, tooltip, i == 4 && count > 0);
    }

    char exact[NUMBER_SIZE];
    format_money(figure, d->value_total);
    format_amount(exact, d->value_total);
    snprintf(tooltip, sizeof tooltip, "deal value of all leads routed: %s", exact);
    write_card(w, VALUE_INK, "Deal value", figure, exact, tooltip, false);
    put(w, "</div>\n</section>\n");
}

/* ---- outcomes ------------------------------------------------------------ */

#define CHART_WIDTH 1160

static const char *outcome_name(const report_data *d, size_t i)
{
    const char *name = d->outcomes[i].name;
    if (name && *name)
        return name;
    return i < OUTCOME_KINDS ? outcome_labels[i] : "other";
}

static void write_outcomes(writer *w, const report_data *d)
{
    char count[NUMBER_SIZE], percent[NUMBER_SIZE], value[NUMBER_SIZE];
    uint64_t sum = outcome_sum(d);
    uint64_t base = lead_base(d);

    put(w, "<section id=\"outcomes\">\n<h2>Outcomes</h2>\n"
           "<p class=\"intro\">Every lead of the run, by what the router did with it.</p>\n");
    if (sum == 0) {
        put(w, "<p class=\"empty\">No lead was routed.</p>\n</section>\n");
        return;
    }
    const int height = 40;
    putf(w, "<svg class=\"chart\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" "
            "aria-label=\"Outcomes\" xmlns=\"http://www.w3.org/2000/svg\">\n",
         CHART_WIDTH, height, CHART_WIDTH, height);
    putf(w, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" rx=\"4\" fill=\"" GRID "\"/>\n", CHART_WIDTH,
         height);
    /* Edges from running totals, so the segments always fill the bar exactly. */
    uint64_t before = 0;
    for (size_t i = 0; i < d->outcome_count; i++) {
        uint64_t n = d->outcomes[i].count;
        long x0 = pixels((double)before / (double)sum, CHART_WIDTH);
        long x1 = pixels((double)(before + n) / (double)sum, CHART_WIDTH);
        before += n;
        if (n == 0)
            continue;
        put(w, "<g class=\"outcome\"><title>");
        put_text(w, outcome_name(d, i));
        putf(w, ": %s leads (%s)", format_count(count, n), format_percent(percent, n, base));
        if (d->outcomes[i].value != 0.0)
            putf(w, ", deal value %s", format_amount(value, d->outcomes[i].value));
        putf(w, "</title><rect x=\"%ld\" y=\"0\" width=\"%ld\" height=\"%d\" fill=\"%s\"/>", x0, x1 - x0,
             height, outcome_colour(i));
        /* A label only where it fits; the legend has every figure anyway. */
        if (x1 - x0 >= 64)
            putf(w, "<text class=\"inside\" x=\"%ld\" y=\"25\" text-anchor=\"middle\" style=\"fill:%s\">"
                    "%s</text>", (x0 + x1) / 2, outcome_text_colour(i), percent);
        put(w, "</g>\n");
    }
    put(w, "</svg>\n<ul class=\"legend\">\n");
    for (size_t i = 0; i < d->outcome_count; i++) {
        uint64_t n = d->outcomes[i].count;
        put(w, "<li>");
        write_swatch(w, outcome_colour(i), "solid");
        put(w, "<span><strong>");
        put_text(w, outcome_name(d, i));
        putf(w, "</strong> %s <span class=\"muted\">(%s", format_count(count, n),
             format_percent(percent, n, base));
        if (d->outcomes[i].value != 0.0)
            putf(w, ", %s", format_money(value, d->outcomes[i].value));
        put(w, ")</span></span></li>\n");
    }
    put(w, "</ul>\n</section>\n");
}

/* ---- leads per rep ------------------------------------------------------- */

/* Columns of the rep chart, in view box units. */
enum {
    REP_LABEL_END = 212,  /* names end here (right-aligned) */
    REP_LABEL_WIDTH = 290, /* tenths of a letter: longer names are cut, tooltips have them whole */
    REP_BAR_X = 224,
    REP_BAR_WIDTH = 570,
    REP_LEADS_END = 860,
    REP_VALUE_END = 936,  /* deal value as text, then as a bar on its own scale */
    REP_VALUE_BAR_X = 944,
    REP_VALUE_BAR_WIDTH = 76,
    REP_OPEN_X = 1040,
    REP_HEAD = 22,
    REP_ROW = 26,
};

static bool same_pool(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* A rep goes under its first pool: a listed pool, an unlisted one, or none. */
static bool rep_in_group(const report_rep *rep, const char *pool)
{
    return pool ? same_pool(rep->pool, pool) : rep->pool == NULL;
}

static bool pool_listed_before(const report_data *d, const char *pool, size_t end)
{
    for (size_t i = 0; i < end && i < d->pool_count; i++)
        if (same_pool(d->pools[i].id, pool))
            return true;
    return false;
}

static const char *rep_name(const report_rep *rep)
{
    return rep->name && *rep->name ? rep->name : rep->id;
}

typedef struct rep_scale {
    uint64_t axis_max; /* leads at the right end of the bar area */
    uint64_t step;     /* between grid lines */
    double value_max;  /* deal value of the longest thin bar */
} rep_scale;

static rep_scale rep_chart_scale(const report_data *d)
{
    uint64_t max = 0;
    double value_max = 0.0;
    for (size_t i = 0; i < d->rep_count; i++) {
        const report_rep *rep = &d->reps[i];
        if (rep->leads > max)
            max = rep->leads;
        if (rep->open > max)
            max = rep->open;
        if (rep->capacity > max)
            max = rep->capacity;
        if (isfinite(rep->value) && rep->value > value_max)
            value_max = rep->value;
    }
    rep_scale scale;
    scale.step = axis_step(max ? max : 1);
    uint64_t ticks = max / scale.step + (max % scale.step != 0);
    if (ticks == 0)
        ticks = 1;
    scale.axis_max = ticks <= UINT64_MAX / scale.step ? ticks * scale.step : max;
    scale.value_max = value_max;
    return scale;
}

static void write_rep_row(writer *w, const report_rep *rep, const rep_scale *scale, const char *colour, int y)
{
    char leads[NUMBER_SIZE], value[NUMBER_SIZE], exact[NUMBER_SIZE], open[NUMBER_SIZE], cap[NUMBER_SIZE];
    bool full = rep->capacity > 0 && rep->open >= rep->capacity;
    const char *fill = rep->active ? colour : INACTIVE;

    format_count(leads, rep->leads);
    format_money(value, rep->value);
    format_amount(exact, rep->value);
    format_count(open, rep->open);
    format_count(cap, rep->capacity);

    put(w, "<g class=\"row\"><title>");
    put_text(w, rep_name(rep));
    if (rep->name && *rep->name && rep->id) {
        put(w, " (");
        put_text(w, rep->id);
        put(w, ")");
    }
    putf(w, ": %s lead%s this run, deal value %s; %s open", leads, rep->leads == 1 ? "" : "s", exact, open);
    if (rep->capacity)
        putf(w, " of a cap of %s%s", cap, full ? " (full)" : "");
    if (!rep->active)
        put(w, "; inactive");
    put(w, "</title>");
    putf(w, "<rect class=\"hover\" x=\"0\" y=\"%d\" width=\"%d\" height=\"%d\"/>", y, CHART_WIDTH, REP_ROW);

    putf(w, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\"%s>", REP_LABEL_END, y + 16,
         rep->active ? "" : " class=\"off\"");
    put_text_cut(w, rep_name(rep), REP_LABEL_WIDTH);
    put(w, "</text>");

    double axis = (double)scale->axis_max;
    long open_width = pixels((double)rep->open / axis, REP_BAR_WIDTH);
    long lead_width = pixels((double)rep->leads / axis, REP_BAR_WIDTH);
    if (rep->leads > 0 && lead_width < 2)
        lead_width = 2; /* a lead or two still shows */
    if (open_width > 0)
        putf(w, "<rect x=\"%d\" y=\"%d\" width=\"%ld\" height=\"14\" rx=\"2\" fill=\"%s\" "
                "fill-opacity=\"0.25\"/>", REP_BAR_X, y + 4, open_width, fill);
    putf(w, "<rect class=\"rep-bar\" x=\"%d\" y=\"%d\" width=\"%ld\" height=\"14\" rx=\"2\" fill=\"%s\"/>",
         REP_BAR_X, y + 4, lead_width, fill);
    if (!rep->active)
        putf(w, "<text class=\"off\" x=\"%d\" y=\"%d\">inactive</text>", REP_BAR_X + 6, y + 16);
    if (rep->capacity) {
        long x = REP_BAR_X + pixels((double)rep->capacity / axis, REP_BAR_WIDTH);
        putf(w, "<rect class=\"cap\" x=\"%ld\" y=\"%d\" width=\"2\" height=\"22\" fill=\"%s\"/>", x - 1,
             y + 2, full ? BAD : INK);
    }

    static const char number_cell[] = "<text class=\"num\" x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>";
    putf(w, number_cell, REP_LEADS_END, y + 16, leads);
    putf(w, number_cell, REP_VALUE_END, y + 16, value);
    putf(w, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"8\" rx=\"2\" fill=\"" GRID "\"/>", REP_VALUE_BAR_X,
         y + 8, REP_VALUE_BAR_WIDTH);
    /* an infinite value reads "n/a", as NaN does: no bar, not a full one */
    if (scale->value_max > 0.0 && rep->value > 0.0 && isfinite(rep->value)) {
        long width = pixels(rep->value / scale->value_max, REP_VALUE_BAR_WIDTH);
        putf(w, "<rect class=\"value-bar\" x=\"%d\" y=\"%d\" width=\"%ld\" height=\"8\" rx=\"2\" "
                "fill=\"%s\"/>",
             REP_VALUE_BAR_X, y + 8, width < 1 ? 1 : width, rep->active ? VALUE_BAR : INACTIVE);
    }
    putf(w, "<text class=\"num%s\" x=\"%d\" y=\"%d\">", full ? " full" : (rep->active ? "" : " off"),
         REP_OPEN_X, y + 16);
    if (rep->capacity)
        putf(w, "%s / %s%s", open, cap, full ? " full" : "");
    else
        putf(w, "%s", open);
    put(w, "</text></g>\n");
}

/* One pool's reps: a heading, then an SVG with a scale row and a row per rep. */
static void write_rep_group(writer *w, const report_data *d, const char *pool, const report_pool *listed,
                            const char *colour, const rep_scale *scale)
{
    char number[NUMBER_SIZE], money[NUMBER_SIZE];
    size_t rows = 0;
    uint64_t leads = 0;
    double value = 0.0;
    for (size_t i = 0; i < d->rep_count; i++) {
        if (rep_in_group(&d->reps[i], pool)) {
            rows++;
            leads += d->reps[i].leads;
            value += isfinite(d->reps[i].value) ? d->reps[i].value : 0.0;
        }
    }
    if (rows == 0)
        return;
    if (listed) {
        leads = listed->leads;
        value = listed->value;
    }

    put(w, "<div class=\"group\">\n<h3>");
    write_swatch(w, colour, "solid");
    put(w, "<span>");
    if (pool)
        put_text(w, pool);
    else
        put(w, "No pool");
    put(w, "</span><span class=\"muted small\">");
    if (listed && listed->strategy && *listed->strategy) {
        put_text(w, listed->strategy);
        put(w, " \xC2\xB7 ");
    }
    putf(w, "%s rep%s", format_count(number, rows), rows == 1 ? "" : "s");
    putf(w, " \xC2\xB7 %s lead%s", format_count(number, leads), leads == 1 ? "" : "s");
    putf(w, " \xC2\xB7 %s</span></h3>\n", format_money(money, value));

    int height = REP_HEAD + (int)rows * REP_ROW + 4;
    putf(w, "<svg class=\"chart reps\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" "
            "aria-label=\"Leads per rep\" xmlns=\"http://www.w3.org/2000/svg\">\n",
         CHART_WIDTH, height, CHART_WIDTH, height);
    for (uint64_t tick = 0; tick <= scale->axis_max; tick += scale->step) {
        long x = REP_BAR_X + pixels((double)tick / (double)scale->axis_max, REP_BAR_WIDTH);
        putf(w, "<rect x=\"%ld\" y=\"%d\" width=\"1\" height=\"%d\" fill=\"" GRID "\"/>", x, REP_HEAD - 4,
             height - REP_HEAD + 4);
        /* Ticks far apart in value stay short on the page: 20,000 reads "20 k". */
        if (tick < 10000)
            format_count(number, tick);
        else
            format_money(number, (double)tick);
        putf(w, "<text class=\"axis\" x=\"%ld\" y=\"12\" text-anchor=\"%s\">%s</text>\n", x,
             tick == 0 ? "start" : "middle", number);
        if (scale->axis_max - tick < scale->step)
            break;
    }
    putf(w, "<text class=\"head\" x=\"%d\" y=\"12\" text-anchor=\"end\">Leads</text>"
            "<text class=\"head\" x=\"%d\" y=\"12\" text-anchor=\"end\">Deal value</text>"
            "<text class=\"head\" x=\"%d\" y=\"12\">Open / cap</text>\n",
         REP_LEADS_END, REP_VALUE_END, REP_OPEN_X);
    int y = REP_HEAD;
    for (size_t i = 0; i < d->rep_count; i++) {
        if (rep_in_group(&d->reps[i], pool)) {
            write_rep_row(w, &d->reps[i], scale, colour, y);
            y += REP_ROW;
        }
    }
    put(w, "</svg>\n</div>\n");
}

static void write_reps(writer *w, const report_data *d)
{
    char money[NUMBER_SIZE];
    put(w, "<section id=\"reps\">\n<h2>Leads per rep</h2>\n");
    if (d->rep_count == 0 || !d->reps) {
        put(w, "<p class=\"empty\">The roster has no reps.</p>\n</section>\n");
        return;
    }
    rep_scale scale = rep_chart_scale(d);
    put(w, "<p class=\"intro\">Reps are listed under their first pool, all on the same scale. "
           "Hover a row for exact figures.</p>\n<ul class=\"legend\">\n<li>");
    write_swatch(w, pool_colours[0], "solid");
    put(w, "leads this run</li>\n<li>");
    write_swatch(w, pool_colours[0], "pale");
    put(w, "open leads after the run (earlier runs included)</li>\n<li>");
    write_swatch(w, INK, "line");
    put(w, "capacity (red when full)</li>\n<li>");
    write_swatch(w, VALUE_BAR, "solid");
    putf(w, "deal value (own scale: full = %s)</li>\n<li>", format_money(money, scale.value_max));
    write_swatch(w, INACTIVE, "solid");
    put(w, "inactive rep</li>\n</ul>\n");

    size_t colour = 0;
    for (size_t p = 0; d->pools && p < d->pool_count; p++) {
        const char *id = d->pools[p].id;
        if (!id || pool_listed_before(d, id, p))
            continue; /* a repeated id would draw its reps twice */
        write_rep_group(w, d, id, &d->pools[p], pool_colours[colour++ % POOL_COLOURS], &scale);
    }
    for (size_t i = 0; i < d->rep_count; i++) {
        const char *pool = d->reps[i].pool;
        if (!pool || pool_listed_before(d, pool, d->pools ? d->pool_count : 0))
            continue;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = same_pool(d->reps[j].pool, pool);
        if (!seen)
            write_rep_group(w, d, pool, NULL, pool_colours[colour++ % POOL_COLOURS], &scale);
    }
    write_rep_group(w, d, NULL, NULL, pool_colours[colour % POOL_COLOURS], &scale);
    put(w, "</section>\n");
}

/* ---- pools --------------------------------------------------------------- */

static void write_jain_gauge(writer *w, double jain)
{
    char number[NUMBER_SIZE];
    const int width = 120;
    if (!isfinite(jain)) {
        putf(w, "<svg width=\"%d\" height=\"12\" viewBox=\"0 0 %d 12\" xmlns=\"http://www.w3.org/2000/svg\">"
                "<title>no fairness index for this pool</title>"
                "<rect x=\"0.5\" y=\"0.5\" width=\"%d\" height=\"11\" rx=\"3\" fill=\"none\" "
                "stroke=\"#a3adb8\" stroke-dasharray=\"3 3\"/></svg><span class=\"muted\">n/a</span>",
             width + 1, width + 1, width);
        return;
    }
    /* colour and verdict follow the figure shown, three decimals as
     * `simulate` prints it: 0.8996 reads 0.900 and is even, like 0.9 */
    double shown = round(jain * 1000.0) / 1000.0;
    const char *colour = shown >= 0.9 ? GOOD : (shown >= 0.8 ? WARN : BAD);
    const char *verdict = shown >= 0.9 ? "even" : (shown >= 0.8 ? "somewhat uneven" : "uneven");
    format_fixed(number, jain, 3, false);
    putf(w, "<svg width=\"%d\" height=\"12\" viewBox=\"0 0 %d 12\" xmlns=\"http://www.w3.org/2000/svg\">"
            "<title>Jain's index %s: %s</title>"
            "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"12\" rx=\"3\" fill=\"" GRID "\"/>"
            "<rect x=\"0\" y=\"0\" width=\"%ld\" height=\"12\" rx=\"3\" fill=\"%s\"/>"
            "<rect x=\"%ld\" y=\"0\" width=\"1\" height=\"12\" fill=\"" MUTED "\"/></svg>",
         width, width, number, verdict, width, pixels(jain, width), colour, pixels(0.8, width));
    putf(w, "<span>%s</span>", number);
}

static void write_pools(writer *w, const report_data *d)
{
    char number[NUMBER_SIZE];
    put(w, "<section id=\"pools\">\n<h2>Pools</h2>\n"
           "<p class=\"intro\">Spread is the gap between the busiest and the quietest member. Jain&#39;s "
           "fairness index is 1 when every member got the same share and 1/n when one member got "
           "everything: green from 0.9, amber from 0.8 (the tick), red below.</p>\n");
    if (d->pool_count == 0 || !d->pools) {
        put(w, "<p class=\"empty\">The roster has no pools.</p>\n</section>\n");
        return;
    }
    put(w, "<table>\n<thead><tr><th>Pool</th><th>Strategy</th><th class=\"n\">Members</th>"
           "<th class=\"n\">Leads</th><th class=\"n\">Deal value</th><th class=\"n\">Spread</th>"
           "<th>Fairness (Jain)</th></tr></thead>\n<tbody>\n");
    for (size_t p = 0; p < d->pool_count; p++) {
        const report_pool *pool = &d->pools[p];
        put(w, "<tr><td>");
        put_text(w, pool->id);
        put(w, "</td><td>");
        put_text(w, pool->strategy);
        putf(w, "</td><td class=\"n\">%s</td>", format_count(number, pool->members));
        putf(w, "<td class=\"n\">%s</td>", format_count(number, pool->leads));
        putf(w, "<td class=\"n\"><span title=\"%s\">", format_amount(number, pool->value));
        putf(w, "%s</span></td>", format_money(number, pool->value));
        /* Weighted pools divide by weight, so the spread may have a fraction. */
        double spread = pool->spread;
        bool whole = isfinite(spread) && fabs(spread - round(spread)) < 0.05;
        putf(w, "<td class=\"n\">%s</td><td class=\"gauge\">",
             format_fixed(number, spread, whole ? 0 : 1, true));
        write_jain_gauge(w, pool->jain);
        put(w, "</td></tr>\n");
    }
    put(w, "</tbody>\n</table>\n</section>\n");
}

/* ---- named counts: rule hits, reasons, queues ---------------------------- */

typedef struct count_chart {
    const report_count *items;
    size_t count;
    const char *colour;
    int label_end;          /* names end here, right-aligned */
    const char *unit;       /* "hit", "lead": for tooltips */
    const char *column;     /* heading of the count column */
    const char *zero_note;  /* written on rows with no count, or NULL */
    uint64_t share_of;      /* denominator of the % column, 0 = no column */
    bool show_value;        /* a deal value column */
} count_chart;

enum {
    COUNT_COLUMN = 85, /* between the right ends of the number columns */
    COUNT_LAST_END = 1150,
    COUNT_BAR_END = 880,
    COUNT_HEAD = 22,
    COUNT_ROW = 24,
};

static void write_count_chart(writer *w, const count_chart *chart, const char *label)
{
    char number[NUMBER_SIZE], share[NUMBER_SIZE], money[NUMBER_SIZE], exact[NUMBER_SIZE];
    uint64_t max = 0;
    for (size_t i = 0; i < chart->count; i++)
        if (chart->items[i].count > max)
            max = chart->items[i].count;
    int bar_x = chart->label_end + 12;
    int bar_width = COUNT_BAR_END - bar_x;
    unsigned label_width = (unsigned)chart->label_end * 100 / 72; /* a letter is about 7.2 units wide */
    /* Number columns from the right edge, so a missing one leaves no gap. */
    int value_end = COUNT_LAST_END;
    int share_end = chart->show_value ? value_end - COUNT_COLUMN - 20 : value_end;
    int number_end = chart->share_of ? share_end - COUNT_COLUMN : share_end;
    int height = COUNT_HEAD + (int)chart->count * COUNT_ROW + 4;

    putf(w, "<svg class=\"chart\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" "
            "aria-label=\"", CHART_WIDTH, height, CHART_WIDTH, height);
    put_text(w, label);
    put(w, "\" xmlns=\"http://www.w3.org/2000/svg\">\n");
    putf(w, "<text class=\"head\" x=\"%d\" y=\"12\" text-anchor=\"end\">%s</text>", number_end,
         chart->column);
    if (chart->share_of)
        putf(w, "<text class=\"head\" x=\"%d\" y=\"12\" text-anchor=\"end\">Share</text>", share_end);
    if (chart->show_value)
        putf(w, "<text class=\"head\" x=\"%d\" y=\"12\" text-anchor=\"end\">Deal value</text>", value_end);
    putf(w, "<rect x=\"%d\" y=\"%d\" width=\"1\" height=\"%d\" fill=\"" GRID "\"/>\n", bar_x, COUNT_HEAD - 4,
         height - COUNT_HEAD + 4);

    for (size_t i = 0; i < chart->count; i++) {
        const report_count *item = &chart->items[i];
        int y = COUNT_HEAD + (int)i * COUNT_ROW;
        bool dead = item->count == 0 && chart->zero_note;
        format_count(number, item->count);
        format_percent(share, item->count, chart->share_of);

        putf(w, "<g class=\"row%s\"><title>", dead ? " dead" : "");
        put_text(w, item->name);
        putf(w, ": %s %s%s", number, chart->unit, item->count == 1 ? "" : "s");
        if (chart->share_of)
            putf(w, " (%s)", share);
        if (chart->show_value)
            putf(w, ", deal value %s", format_amount(exact, item->value));
        if (dead)
            putf(w, "; %s", chart->zero_note);
        putf(w, "</title><rect class=\"hover\" x=\"0\" y=\"%d\" width=\"%d\" height=\"%d\"/>", y, CHART_WIDTH,
             COUNT_ROW);
        putf(w, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", chart->label_end, y + 16);
        put_text_cut(w, item->name, label_width);
        put(w, "</text>");
        if (dead) {
            putf(w, "<text class=\"never\" x=\"%d\" y=\"%d\">", bar_x + 8, y + 16);
            put_text(w, chart->zero_note);
            put(w, "</text>");
        } else {
            long width = max ? pixels((double)item->count / (double)max, bar_width) : 0;
            if (item->count > 0 && width < 2)
                width = 2;
            putf(w, "<rect class=\"count-bar\" x=\"%d\" y=\"%d\" width=\"%ld\" height=\"14\" rx=\"2\" "
                    "fill=\"%s\"/>", bar_x, y + 5, width, chart->colour);
        }
        putf(w, "<text class=\"num\" x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>", number_end, y + 16,
             number);
        if (chart->share_of)
            putf(w, "<text class=\"num\" x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>", share_end, y + 16,
                 share);
        if (chart->show_value)
            putf(w, "<text class=\"num\" x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>", value_end, y + 16,
                 format_money(money, item->value));
        put(w, "</g>\n");
    }
    put(w, "</svg>\n");
}

/* Rule hits carry no deal value; a column of zeros would only be noise. */
static bool any_value(const report_count *items, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (items[i].value != 0.0)
            return true;
    return false;
}

static void write_rules(writer *w, const report_data *d)
{
    char number[NUMBER_SIZE], total[NUMBER_SIZE];
    put(w, "<section id=\"rules\">\n<h2>Rule hits</h2>\n");
    if (d->rule_count == 0 || !d->rules) {
        put(w, "<p class=\"empty\">The table has no rules.</p>\n</section>\n");
        return;
    }
    size_t dead = 0;
    for (size_t i = 0; i < d->rule_count; i++)
        dead += d->rules[i].count == 0;
    put(w, "<p class=\"intro\">Leads matched by each rule, in table order. ");
    if (dead == 0) {
        put(w, "Every rule matched at least one lead.");
    } else {
        putf(w, "<strong style=\"color:" BAD "\">%s of %s rules never hit</strong>: ",
             format_count(number, dead), format_count(total, d->rule_count));
        size_t listed = 0;
        for (size_t i = 0; i < d->rule_count; i++) {
            if (d->rules[i].count != 0)
                continue;
            if (listed++)
                put(w, ", ");
            put(w, "<code>");
            put_text(w, d->rules[i].name);
            put(w, "</code>");
        }
        put(w, ". A rule that never fires may be shadowed by an earlier one, or its market may be gone.");
    }
    put(w, "</p>\n");
    count_chart chart = {
        .items = d->rules, .count = d->rule_count, .colour = "#4e79a7", .label_end = 260,
        .unit = "hit", .column = "Hits", .zero_note = "never hit", .share_of = lead_base(d),
        .show_value = any_value(d->rules, d->rule_count),
    };
    write_count_chart(w, &chart, "Rule hits");
    put(w, "</section>\n");
}

static void write_not_assigned(writer *w, const report_data *d)
{
    put(w, "<section id=\"not-assigned\">\n<h2>Why leads were not assigned</h2>\n"
           "<p class=\"intro\">Leads that were queued, left unassigned or unrouted, and what they were "
           "worth.</p>\n<h3>Reasons</h3>\n");
    if (d->reason_count == 0 || !d->reasons) {
        put(w, "<p class=\"empty\">Every lead found an owner.</p>\n");
    } else {
        count_chart chart = {
            .items = d->reasons, .count = d->reason_count, .colour = REASON, .label_end = 520,
            .unit = "lead", .column = "Leads", .zero_note = NULL, .share_of = lead_base(d),
            .show_value = any_value(d->reasons, d->reason_count),
        };
        write_count_chart(w, &chart, "Reasons");
    }
    put(w, "<h3>Leads per queue</h3>\n");
    if (d->queue_count == 0 || !d->queues) {
        put(w, "<p class=\"empty\">No lead went to a queue.</p>\n");
    } else {
        count_chart chart = {
            .items = d->queues, .count = d->queue_count, .colour = WARN, .label_end = 260,
            .unit = "lead", .column = "Leads", .zero_note = NULL, .share_of = lead_base(d),
            .show_value = any_value(d->queues, d->queue_count),
        };
        write_count_chart(w, &chart, "Leads per queue");
    }
    put(w, "</section>\n");
}

/* ---- the page ------------------------------------------------------------ */

int report_write_html(FILE *out, const report_data *data)
{
    if (!out || !data) {
        errno = EINVAL;
        return -1;
    }
    writer w = {out, 0};
    const char *title = data->title && *data->title ? data->title : "Routing report";
    write_head(&w, data, title);
    write_header(&w, data, title);
    write_key_figures(&w, data);
    write_outcomes(&w, data);
    write_reps(&w, data);
    write_pools(&w, data);
    write_rules(&w, data);
    write_not_assigned(&w, data);
    put(&w, "<footer>Written by leadroute simulate. Hover charts for exact figures.</footer>\n"
            "</main>\n</body>\n</html>\n");

    /* Buffered bytes fail only when flushed; a sticky error may predate us. */
    errno = 0;
    if (!w.error && (fflush(out) == EOF || ferror(out)))
        note_failure(&w);
    if (w.error) {
        errno = w.error;
        return -1;
    }
    return 0;
}
