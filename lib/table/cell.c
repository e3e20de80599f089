/* Cell parsing: DMN S-FEEL unary tests for input cells, literals for outputs. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "base/value.h"
#include "table/internal.h"

typedef struct lr__cursor {
    const lr__cell_ctx *ctx;
    const char *text;   /* the whole cell, for offsets in messages */
    size_t len;
    size_t pos;
    size_t end;         /* parse stops here (inside not(...) it is the ')') */
    int in_not;         /* inside not(...) */
} lr__cursor;

static const char *lr__type_name(uint32_t type)
{
    switch (type) {
    case LEADROUTE_TYPE_STRING: return "string";
    case LEADROUTE_TYPE_NUMBER: return "number";
    case LEADROUTE_TYPE_BOOL: return "bool";
    case LEADROUTE_TYPE_SET: return "set";
    default: return "?";
    }
}

/* Report an error about the cell at byte `at` of the cell text. */
/* Where byte `at` of the cell's (unescaped) text is in the file: its line
 * and byte column (0 when the cell's columns are not known). */
static uint32_t lr__cell_file_pos(const lr__cursor *c, size_t at, uint32_t *col_out)
{
    const lr__cell_ctx *x = c->ctx;
    const lr__origin *o = x->origin;
    uint32_t line = o->cell_lines ? o->cell_lines[x->cell] : o->line, col = 0;
    if (o->cell_cols) {
        /* map the offset in the unescaped text back to the file: a quoted
         * cell starts after its quote, and each '"' in it was written "" */
        int quoted = o->cell_quoted && o->cell_quoted[x->cell];
        size_t k, line_start = 0, quotes = 0;
        for (k = 0; k < at && k < c->len; k++) {
            if (c->text[k] == '\n') {
                line++;
                line_start = k + 1;
                quotes = 0;
            } else if (quoted && c->text[k] == '"') {
                quotes++;
            }
        }
        if (line_start == 0)
            col = o->cell_cols[x->cell] + (uint32_t)(at + quotes) + (quoted ? 1u : 0u);
        else
            col = (uint32_t)(at - line_start + quotes) + 1u;
    }
    *col_out = col;
    return line;
}

static int lr__cell_error(const lr__cursor *c, size_t at, const char *expected)
{
    const lr__cell_ctx *x = c->ctx;
    const lr__origin *o = x->origin;
    /* a long cell shows the part around the error, cut on character
     * boundaries: at most 80 bytes before it and 200 in all */
    size_t from = at > 80 && c->len > 200 ? at - 80 : 0, to, i, n = 0;
    char text[3 + 200 + 3 + 1];
    while (from > 0 && ((unsigned char)c->text[from] & 0xC0) == 0x80)
        from--;
    to = c->len - from > 200 ? from + 200 : c->len;
    while (to < c->len && to > from && ((unsigned char)c->text[to] & 0xC0) == 0x80)
        to--;
    if (from > 0)
        memcpy(text, "...", 3), n = 3;
    /* one line per error: line breaks inside a quoted cell show as spaces */
    for (i = from; i < to; i++)
        text[n++] = (c->text[i] == '\n' || c->text[i] == '\r' || c->text[i] == '\t') ? ' ' : c->text[i];
    if (to < c->len)
        memcpy(text + n, "...", 3), n += 3;
    text[n] = '\0';
    if (o && o->file) {
        uint32_t col, line = lr__cell_file_pos(c, at, &col);
        return lr__error_set_at(LEADROUTE_EPARSE, o->file, line, col, "%s '%s' (%s): cannot read '%s': %s",
                                x->rule_id ? "column" : "priority list for", x->column, lr__type_name(x->type),
                                text, expected);
    }
    if (!x->rule_id)
        return lr__error_set(LEADROUTE_EPARSE, "priority list for '%s' (%s): cannot read '%s': %s", x->column,
                             lr__type_name(x->type), text, expected);
    return lr__error_set(LEADROUTE_EPARSE, "rule '%s', column '%s' (%s): cannot read '%s': %s", x->rule_id,
                         x->column, lr__type_name(x->type), text, expected);
}

/* The blanks of cell syntax are those trimmed off lead values, so that a
 * quoted value with one at either end is refused (lr__check_quoted_text). */
static int lr__is_ws(char ch)
{
    return lr__is_space(ch);
}

static void lr__skip_ws(lr__cursor *c)
{
    while (c->pos < c->end && lr__is_ws(c->text[c->pos]))
        c->pos++;
}

static int lr__starts_ci(const lr__cursor *c, const char *word)
{
    size_t n = strlen(word), i;
    if (c->end - c->pos < n)
        return 0;
    for (i = 0; i < n; i++) {
        char ch = c->text[c->pos + i];
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch + 32);
        if (ch != word[i])
            return 0;
    }
    return 1;
}

/* A quoted string at c->pos; unescapes \" and \\ into the arena. */
static int lr__read_quoted(lr__arena *arena, lr__cursor *c, const char **out, uint32_t *out_len)
{
    size_t start = c->pos, i, n = 0;
    char *buf;
    c->pos++;
    buf = lr__arena_alloc(arena, c->end - c->pos + 1);
    if (!buf)
        return lr__error_nomem();
    for (i = c->pos; i < c->end; i++) {
        char ch = c->text[i];
        if (ch == '\\' && i + 1 < c->end && (c->text[i + 1] == '"' || c->text[i + 1] == '\\')) {
            buf[n++] = c->text[++i];
        } else if (ch == '"') {
            buf[n] = '\0';
            c->pos = i + 1;
            *out = buf;
            *out_len = (uint32_t)n;
            return LEADROUTE_OK;
        } else {
            buf[n++] = ch;
        }
    }
    return lr__cell_error(c, start, "unterminated string: a closing '\"' is missing");
}

#define LR_OUT_OF_RANGE "the number is out of range (beyond about 1.8e308)"

/* A number token (no spaces inside) at c->pos. */
static int lr__read_number(lr__cursor *c, double *out, const char *after)
{
    size_t start = c->pos, i = c->pos;
    char msg[96];
    int rc;
    while (i < c->end) {
        char ch = c->text[i];
        /* '..' ends a number inside an interval */
        if (ch == '.' && i + 1 < c->end && c->text[i + 1] == '.')
            break;
        if (!((ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '+' || ch == 'e' || ch == 'E'))
            break;
        i++;
    }
    rc = i > start ? lr__parse_number(c->text + start, i - start, out) : -1;
    if (rc == -2)
        return lr__cell_error(c, start, LR_OUT_OF_RANGE);
    if (rc != 0) {
        snprintf(msg, sizeof msg, "expected a number%s%s", after ? " after " : "", after ? after : "");
        return lr__cell_error(c, start, msg);
    }
    c->pos = i;
    return LEADROUTE_OK;
}

static int lr__need_number(lr__cursor *c, size_t at, const char *what)
{
    char msg[160];
    if (c->ctx->type == LEADROUTE_TYPE_NUMBER)
        return LEADROUTE_OK;
    snprintf(msg, sizeof msg, "%s needs a number column (declare it as '%s:number')", what, c->ctx->column);
    return lr__cell_error(c, at, msg);
}

static int lr__need_text(lr__cursor *c, size_t at, const char *what)
{
    char msg[160];
    if (c->ctx->type == LEADROUTE_TYPE_STRING || c->ctx->type == LEADROUTE_TYPE_SET)
        return LEADROUTE_OK;
    snprintf(msg, sizeof msg, "%s needs a string or set column", what);
    return lr__cell_error(c, at, msg);
}

/* A quoted value or prefix that no lead value can match is a mistake: lead
 * values are trimmed and an empty one is missing. A prefix may end in a
 * blank ("New "* matches New York). */
static int lr__check_quoted_text(lr__cursor *c, size_t at, const char *q, uint32_t qn, int prefix)
{
    if (qn == 0)
        return lr__cell_error(c, at, prefix ? "a prefix must not be empty"
                                            : "an empty string matches no lead (an empty value is missing): "
                                              "write null for a missing value, or - for any");
    if (lr__is_ws(q[0]) || (!prefix && lr__is_ws(q[qn - 1])))
        return lr__cell_error(c, at, prefix ? "a prefix starting with a blank matches no lead (lead values are "
                                              "trimmed)"
                                            : "a value with a blank at either end matches no lead (lead values "
                                              "are trimmed)");
    return LEADROUTE_OK;
}

/* Fold in place for :ci columns. */
static void lr__atom_fold(const lr__cell_ctx *ctx, lr__atom *a)
{
    if ((ctx->flags & LEADROUTE_COLUMN_CASE_INSENSITIVE) && a->len)
        lr__fold(a->str, a->len, (char *)a->str);
}

/* A literal value (after '=' or '!=', named by `after`, or as a list
 * element): string, number, bool, null; with `allow_prefix` also a prefix
 * test (94*, "94"*). */
/* A prefix test where the cell allows none: after `after` ('='). `example`
 * is the prefix written as the cell wrote it, quoted or bare. */
static int lr__prefix_misplaced(lr__cursor *c, size_t start, const char *after, const char *example)
{
    char msg[96];
    snprintf(msg, sizeof msg, "a prefix test (ending in '*') cannot follow %s: write it alone, as in %s",
             after ? after : "it", example);
    return lr__cell_error(c, start, msg);
}

static int lr__read_literal(lr__arena *arena, lr__cursor *c, lr__atom *a, int allow_prefix, const char *after)
{
    char msg[160];
    const lr__cell_ctx *ctx = c->ctx;
    size_t start = c->pos, i;
    const char *s;
    size_t n;

    memset(a, 0, sizeof *a);
    if (c->pos < c->end && c->text[c->pos] == '"') {
        const char *q;
        uint32_t qn;
        size_t star;
        int rc = lr__read_quoted(arena, c, &q, &qn), is_prefix;
        if (rc)
            return rc;
        /* blanks between the quote and a '*' are dropped, as in 94 * */
        for (star = c->pos; star < c->end && lr__is_ws(c->text[star]); star++)
            ;
        is_prefix = star < c->end && c->text[star] == '*';
        if (is_prefix)
            c->pos = star;
        if (allow_prefix && is_prefix) {
            c->pos++;
            if ((rc = lr__need_text(c, start, "a prefix test")) != 0)
                return rc;
            if ((rc = lr__check_quoted_text(c, start, q, qn, 1)) != 0)
                return rc;
            a->kind = LR_ATOM_PREFIX;
        } else if (is_prefix && ctx->type != LEADROUTE_TYPE_NUMBER && ctx->type != LEADROUTE_TYPE_BOOL) {
            return lr__prefix_misplaced(c, start, after, "\"94\"*");
        } else if (ctx->type == LEADROUTE_TYPE_NUMBER) {
            return lr__cell_error(c, start, "expected a number, not a quoted string");
        } else if (ctx->type == LEADROUTE_TYPE_BOOL) {
            return lr__cell_error(c, start, "expected true or false, not a quoted string");
        } else {
            if ((rc = lr__check_quoted_text(c, start, q, qn, 0)) != 0)
                return rc;
            a->kind = LR_ATOM_EQ;
        }
        a->str = q;
        a->len = qn;
        lr__atom_fold(ctx, a);
        return LEADROUTE_OK;
    }
    /* bare word: up to the next ',' */
    for (i = c->pos; i < c->end && c->text[i] != ','; i++)
        ;
    s = c->text + c->pos;
    n = i - c->pos;
    lr__trim(&s, &n);
    c->pos = i;
    if (n == 0) {
        if (!after)
            return lr__cell_error(c, start, "expected a value (an empty list element?)");
        snprintf(msg, sizeof msg, "expected a value after %s", after);
        return lr__cell_error(c, start, msg);
    }
    if (lr__equal_ci(s, n, "null")) {
        a->kind = LR_ATOM_NULL;
        return LEADROUTE_OK;
    }
    if (ctx->type == LEADROUTE_TYPE_NUMBER) {
        double x;
        int prc = lr__parse_number(s, n, &x);
        if (prc == -2)
            return lr__cell_error(c, start, LR_OUT_OF_RANGE);
        if (prc != 0 && after) {
            snprintf(msg, sizeof msg, "expected a number or null after %s", after);
            return lr__cell_error(c, start, msg);
        }
        if (prc != 0)
            return lr__cell_error(c, start,
                                  "expected a number, a comparison (< <= > >= =), an interval [a..b] or null");
        a->kind = LR_ATOM_RANGE;
        a->has_lo = a->has_hi = 1;
        a->lo = a->hi = x;
        return LEADROUTE_OK;
    }
    if (ctx->type == LEADROUTE_TYPE_BOOL) {
        if (lr__equal_ci(s, n, "true"))
            a->str = "true";
        else if (lr__equal_ci(s, n, "false"))
            a->str = "false";
        else
            return lr__cell_error(c, start, "expected true, false or null");
        a->kind = LR_ATOM_EQ;
        a->len = (uint32_t)strlen(a->str);
        return LEADROUTE_OK;
    }
    if (memchr(s, '"', n))
        return lr__cell_error(c, start, "a '\"' inside a bare word: quote the whole value");
    if (after && strchr("=!<>", s[0])) {
        /* `== EMEA` would read as the text "= EMEA", which no lead holds */
        snprintf(msg, sizeof msg,
                 "expected a value after %s, not another operator: quote a value that starts with '%c', "
                 "as in %.*s \"%cx\"",
                 after, s[0], (int)strlen(after) - 2, after + 1, s[0]);
        return lr__cell_error(c, start, msg);
    }
    if (c->in_not && (memchr(s, '(', n) || memchr(s, ')', n)))
        return lr__cell_error(c, (size_t)(s - c->text),
                              "a bracket inside not(...): quote a value holding one, as in not(\"a)\"), "
                              "and end not(...) with the cell");
    {
        const char *star = memchr(s, '*', n);
        if (star && star != s + n - 1)
            return lr__cell_error(c, start, "'*' is only allowed at the end of a prefix (e.g. 94*)");
        if (star && !allow_prefix)
            return lr__prefix_misplaced(c, start, after, "94*");
        if (star) {
            size_t pn = n - 1;
            while (pn && lr__is_ws(s[pn - 1]))
                pn--;
            if (pn == 0)
                return lr__cell_error(c, start, "a prefix must not be empty");
            a->kind = LR_ATOM_PREFIX;
            n = pn;
        } else {
            a->kind = LR_ATOM_EQ;
        }
    }
    a->str = lr__arena_strndup(arena, s, n);
    if (!a->str)
        return lr__error_nomem();
    a->len = (uint32_t)n;
    lr__atom_fold(ctx, a);
    return LEADROUTE_OK;
}

static int lr__read_test(lr__arena *arena, lr__cursor *c, lr__atom *a)
{
    size_t start;
    char ch;
    int rc;

    lr__skip_ws(c);
    start = c->pos;
    if (c->pos >= c->end)
        return lr__cell_error(c, start, "expected a test (an empty list element?)");
    ch = c->text[c->pos];
    memset(a, 0, sizeof *a);

    if (ch == '<' || ch == '>') {
        int inclusive = c->pos + 1 < c->end && c->text[c->pos + 1] == '=';
        const char *op = ch == '<' ? (inclusive ? "'<='" : "'<'") : (inclusive ? "'>='" : "'>'");
        double x;
        if ((rc = lr__need_number(c, start, "a comparison")) != 0)
            return rc;
        c->pos += inclusive ? 2 : 1;
        lr__skip_ws(c);
        if ((rc = lr__read_number(c, &x, op)) != 0)
            return rc;
        a->kind = LR_ATOM_RANGE;
        if (ch == '<') {
            a->has_hi = 1, a->hi = x, a->hi_open = (uint8_t)!inclusive;
        } else {
            a->has_lo = 1, a->lo = x, a->lo_open = (uint8_t)!inclusive;
        }
        return LEADROUTE_OK;
    }
    if (ch == '=') {
        c->pos++;
        lr__skip_ws(c);
        return lr__read_literal(arena, c, a, 0, "'='");
    }
    if (ch == '!' && c->pos + 1 < c->end && c->text[c->pos + 1] == '=')
        return lr__cell_error(c, start, "'!=' must be the whole cell; to exclude several values use not(a, b)");
    if (ch == '!')
        return lr__cell_error(c, start,
                              "a value that starts with '!' must be quoted, as in \"!x\" ('!=' must be the whole cell)");
    if (lr__starts_ci(c, "not")) {
        size_t p = c->pos + 3;
        while (p < c->end && lr__is_ws(c->text[p]))
            p++;
        if (p < c->end && c->text[p] == '(')
            return lr__cell_error(c, start, "not(...) must be the whole cell and cannot be nested or listed");
    }
    if (ch == '[' || ch == ']' || ch == '(') {
        double lo, hi;
        char close;
        if ((rc = lr__need_number(c, start, "an interval")) != 0)
            return rc;
        c->pos++;
        lr__skip_ws(c);
        if ((rc = lr__read_number(c, &lo, "the interval's opening bracket")) != 0)
            return rc;
        lr__skip_ws(c);
        if (c->end - c->pos < 2 || c->text[c->pos] != '.' || c->text[c->pos + 1] != '.')
            return lr__cell_error(c, c->pos, "expected '..' between the interval's bounds, as in [1..10]");
        c->pos += 2;
        lr__skip_ws(c);
        if ((rc = lr__read_number(c, &hi, "'..'")) != 0)
            return rc;
        lr__skip_ws(c);
        if (c->pos >= c->end) /* at the end, where the bracket is missing */
            return lr__cell_error(c, c->pos, "expected ']', ')' or '[' to close the interval");
        close = c->text[c->pos];
        if (close != ']' && close != ')' && close != '[')
            return lr__cell_error(c, c->pos, "expected ']', ')' or '[' to close the interval");
        c->pos++;
        a->kind = LR_ATOM_RANGE;
        a->has_lo = a->has_hi = 1;
        a->lo = lo, a->hi = hi;
        a->lo_open = (uint8_t)(ch != '[');
        a->hi_open = (uint8_t)(close != ']');
        if (lo > hi || (lo == hi && (a->lo_open || a->hi_open)))
            return lr__cell_error(c, start, "the interval is empty (its lower bound is not below its upper bound)");
        if (a->lo_open && a->hi_open && nextafter(lo, hi) == hi)
            return lr__cell_error(c, start, "the interval is empty (no number lies strictly between its bounds)");
        return LEADROUTE_OK;
    }
    /* "starts with" then a blank, a quote or the end: a prefix test */
    if (lr__starts_ci(c, "starts with") &&
        (c->end - c->pos == 11 || lr__is_ws(c->text[c->pos + 11]) || c->text[c->pos + 11] == '"' ||
         c->text[c->pos + 11] == ',')) {
        const char *q;
        uint32_t qn;
        if ((rc = lr__need_text(c, start, "a prefix test")) != 0)
            return rc;
        c->pos += 11;
        lr__skip_ws(c);
        if (c->pos >= c->end || c->text[c->pos] != '"')
            return lr__cell_error(c, c->pos, "expected a quoted prefix after 'starts with', as in starts with \"94\"");
        if ((rc = lr__read_quoted(arena, c, &q, &qn)) != 0)
            return rc;
        if ((rc = lr__check_quoted_text(c, start, q, qn, 1)) != 0)
            return rc;
        a->kind = LR_ATOM_PREFIX;
        a->str = q;
        a->len = qn;
        lr__atom_fold(c->ctx, a);
        return LEADROUTE_OK;
    }
    return lr__read_literal(arena, c, a, 1, NULL);
}

static int lr__read_list(lr__arena *arena, lr__cursor *c, lr__cell *cell)
{
    lr__atom atoms[64];
    lr__atom *heap = NULL;
    uint32_t n = 0, cap = 64;
    lr__atom *cur = atoms;
    int rc;

    for (;;) {
        lr__atom a;
        if ((rc = lr__read_test(arena, c, &a)) != 0)
            return rc;
        if (n == cap) {
            lr__atom *bigger = lr__arena_alloc(arena, sizeof *bigger * cap * 2);
            if (!bigger)
                return lr__error_nomem();
            memcpy(bigger, cur, sizeof *bigger * n);
            cur = heap = bigger;
            cap *= 2;
        }
        cur[n++] = a;
        lr__skip_ws(c);
        if (c->pos >= c->end)
            break;
        if (c->text[c->pos] != ',')
            return lr__cell_error(c, c->pos, "expected ',' between tests, or the end of the cell");
        c->pos++;
    }
    cell->natoms = n;
    if (heap) {
        cell->atoms = heap;
    } else {
        cell->atoms = lr__arena_alloc(arena, sizeof *cell->atoms * n);
        if (!cell->atoms)
            return lr__error_nomem();
        memcpy(cell->atoms, atoms, sizeof *cell->atoms * n);
    }
    return LEADROUTE_OK;
}

int lr__cell_parse(lr__arena *arena, const lr__cell_ctx *ctx, const char *text, size_t len, lr__cell *out)
{
    lr__cursor c;
    const char *s = text;
    size_t n = len;

    memset(out, 0, sizeof *out);
    c.ctx = ctx;
    c.text = text;
    c.len = len;
    c.in_not = 0;
    lr__trim(&s, &n);
    if (n == 0 || (n == 1 && s[0] == '-')) {
        out->any = 1;
        return LEADROUTE_OK;
    }
    c.pos = (size_t)(s - text);
    c.end = c.pos + n;

    if (lr__starts_ci(&c, "not")) {
        size_t p = c.pos + 3;
        while (p < c.end && lr__is_ws(text[p]))
            p++;
        if (p < c.end && text[p] == '(') {
            if (text[c.end - 1] != ')')
                return lr__cell_error(&c, c.end - 1,
                                      "not(...) must be the whole cell and end with ')'");
            out->negated = 1;
            c.in_not = 1;
            c.pos = p + 1;
            c.end--;
            lr__skip_ws(&c);
            if (c.pos >= c.end)
                return lr__cell_error(&c, p, "not() needs at least one test inside");
            if (lr__starts_ci(&c, "not")) {
                size_t q = c.pos + 3;
                while (q < c.end && lr__is_ws(text[q]))
                    q++;
                if (q < c.end && text[q] == '(')
                    return lr__cell_error(&c, c.pos, "not(...) cannot be nested");
            }
            return lr__read_list(arena, &c, out);
        }
    }
    if (c.end - c.pos >= 2 && text[c.pos] == '!' && text[c.pos + 1] == '=') {
        int rc;
        out->negated = 1;
        c.pos += 2;
        lr__skip_ws(&c);
        out->atoms = lr__arena_alloc(arena, sizeof *out->atoms);
        if (!out->atoms)
            return lr__error_nomem();
        out->natoms = 1;
        /* != x is not(x), prefixes included */
        if ((rc = lr__read_literal(arena, &c, out->atoms, 1, "'!='")) != 0)
            return rc;
        lr__skip_ws(&c);
        if (c.pos < c.end)
            return lr__cell_error(&c, c.pos, "'!=' must be the whole cell; to exclude several values use not(a, b)");
        return LEADROUTE_OK;
    }
    return lr__read_list(arena, &c, out);
}

static int lr__literal_value(lr__arena *arena, lr__cursor *c, const char *s, size_t n, int quoted,
                             leadroute_value *out)
{
    const lr__cell_ctx *ctx = c->ctx;
    size_t at = (size_t)(s - c->text);
    memset(out, 0, sizeof *out);
    out->version = LEADROUTE_VALUE_VERSION;
    out->type = LEADROUTE_VALUE_NULL;
    if (!quoted && (n == 0 || (n == 1 && s[0] == '-') || lr__equal_ci(s, n, "null")))
        return LEADROUTE_OK;
    /* output cells may be null, priority lists (no rule) may not */
    switch (ctx->type) {
    case LEADROUTE_TYPE_NUMBER: {
        int prc = quoted ? -1 : lr__parse_number(s, n, &out->number);
        if (prc == -2)
            return lr__cell_error(c, at, LR_OUT_OF_RANGE);
        if (prc != 0)
            return lr__cell_error(c, at, ctx->rule_id ? "expected a number or null" : "expected a number");
        out->type = LEADROUTE_VALUE_NUMBER;
        return LEADROUTE_OK;
    }
    case LEADROUTE_TYPE_BOOL:
        if (quoted || !(lr__equal_ci(s, n, "true") || lr__equal_ci(s, n, "false")))
            return lr__cell_error(c, at, ctx->rule_id ? "expected true, false or null" : "expected true or false");
        out->type = LEADROUTE_VALUE_BOOL;
        out->boolean = lr__equal_ci(s, n, "true");
        return LEADROUTE_OK;
    default:
        out->type = LEADROUTE_VALUE_STRING;
        out->string = lr__arena_strndup(arena, s, n);
        return out->string ? LEADROUTE_OK : lr__error_nomem();
    }
}

/* One literal at c->pos up to ',' (or the end); quoted strings unescaped. */
static int lr__next_literal(lr__arena *arena, lr__cursor *c, leadroute_value *out)
{
    lr__skip_ws(c);
    if (c->pos < c->end && c->text[c->pos] == '"') {
        const char *q;
        uint32_t qn;
        size_t start = c->pos;
        int rc = lr__read_quoted(arena, c, &q, &qn);
        if (rc)
            return rc;
        lr__skip_ws(c);
        if (c->pos < c->end && c->text[c->pos] != ',')
            return lr__cell_error(c, c->pos, "unexpected text after the closing '\"'");
        if (c->ctx->type != LEADROUTE_TYPE_STRING)
            return lr__cell_error(c, start, "a quoted string in a non-string column");
        memset(out, 0, sizeof *out);
        out->version = LEADROUTE_VALUE_VERSION;
        out->type = LEADROUTE_VALUE_STRING;
        out->string = q;
        return LEADROUTE_OK;
    } else {
        size_t i = c->pos;
        const char *s;
        size_t n;
        while (i < c->end && c->text[i] != ',')
            i++;
        s = c->text + c->pos;
        n = i - c->pos;
        lr__trim(&s, &n);
        c->pos = i;
        /* as in output cells: a quote belongs around the whole value */
        if (memchr(s, '"', n))
            return lr__cell_error(c, (size_t)((const char *)memchr(s, '"', n) - c->text),
                                  "a '\"' inside a bare word: quote the whole value");
        return lr__literal_value(arena, c, s, n, 0, out);
    }
}

int lr__output_parse(lr__arena *arena, const lr__cell_ctx *ctx, const char *text, size_t len,
                     leadroute_value *out)
{
    lr__cursor c;
    const char *s = text;
    size_t n = len;
    c.ctx = ctx;
    c.text = text;
    c.len = len;
    c.pos = 0;
    c.end = len;
    c.in_not = 0;
    lr__trim(&s, &n);
    if (n >= 1 && s[0] == '"') {
        /* a quoted value: unterminated, or followed by text, is refused
         * as such by the reading */
        int rc;
        c.pos = (size_t)(s - text);
        c.end = c.pos + n;
        if ((rc = lr__next_literal(arena, &c, out)) != 0)
            return rc;
        if (c.pos != c.end)
            return lr__cell_error(&c, c.pos, "unexpected text after the closing '\"'");
        return LEADROUTE_OK;
    }
    /* odd quoting is refused as in input cells, not kept as text */
    {
        const char *q = memchr(s, '"', n);
        if (q)
            return lr__cell_error(&c, (size_t)(q - text), "a '\"' inside a bare word: quote the whole value");
    }
    return lr__literal_value(arena, &c, s, n, 0, out);
}

int lr__literal_list_parse(lr__arena *arena, const lr__cell_ctx *ctx, const char *text, size_t len,
                           leadroute_value **out, uint32_t *count)
{
    lr__cursor c;
    uint32_t n = 0, cap = 0;
    leadroute_value *vals = NULL;
    c.ctx = ctx;
    c.text = text;
    c.len = len;
    c.pos = 0;
    c.end = len;
    c.in_not = 0;
    for (;;) {
        int rc;
        size_t start;
        uint32_t k;
        if (n == cap) {
            uint32_t ncap = cap ? cap * 2 : 8;
            leadroute_value *bigger = lr__arena_alloc(arena, sizeof *bigger * ncap);
            if (!bigger)
                return lr__error_nomem();
            if (n)
                memcpy(bigger, vals, sizeof *vals * n);
            vals = bigger;
            cap = ncap;
        }
        lr__skip_ws(&c);
        start = c.pos; /* errors about the entry point at it */
        if ((rc = lr__next_literal(arena, &c, &vals[n])) != 0)
            return rc;
        if (vals[n].type == LEADROUTE_VALUE_NULL)
            return lr__cell_error(&c, start, "a priority list holds values, not null or empty entries");
        for (k = 0; k < n; k++)
            if (lr__value_equal(&vals[k], &vals[n])) {
                char shown[80];
                uint32_t line, col;
                lr__value_show(&vals[n], shown, sizeof shown);
                if (!ctx->origin || !ctx->origin->file)
                    return lr__error_set(LEADROUTE_ETABLE, "priority list for '%s' names %s twice (entries %u and %u)",
                                         ctx->column, shown, k + 1, n + 1);
                line = lr__cell_file_pos(&c, start, &col);
                return lr__error_set_at(LEADROUTE_ETABLE, ctx->origin->file, line, col,
                                        "priority list for '%s' names %s twice (entries %u and %u)", ctx->column,
                                        shown, k + 1, n + 1);
            }
        n++;
        lr__skip_ws(&c);
        if (c.pos >= c.end)
            break;
        c.pos++; /* the ',' */
    }
    *out = vals;
    *count = n;
    return LEADROUTE_OK;
}

int lr__value_equal(const leadroute_value *a, const leadroute_value *b)
{
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case LEADROUTE_VALUE_NULL: return 1;
    case LEADROUTE_VALUE_STRING: return strcmp(a->string, b->string) == 0;
    case LEADROUTE_VALUE_NUMBER: return a->number == b->number;
    case LEADROUTE_VALUE_BOOL: return !a->boolean == !b->boolean;
    default: return 0;
    }
}
