/* Explain: the trace of a decision as text for people or as one line of
 * JSON. One pass writes what fits into the caller's buffer and counts the
 * rest, so `needed` is exact without any allocation. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/sink.h"
#include "base/value.h"
#include "router/internal.h"

/* ---- output ------------------------------------------------------------- */

static void lr__putc(lr__sink *o, char c)
{
    lr__sink_put(o, &c, 1);
}

static void lr__put_u64(lr__sink *o, uint64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%" PRIu64, v);
    lr__sink_put(o, tmp, (size_t)n);
}

static void lr__put_i64(lr__sink *o, int64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%" PRId64, v);
    lr__sink_put(o, tmp, (size_t)n);
}

static void lr__put_hash(lr__sink *o, uint64_t v)
{
    char tmp[17];
    snprintf(tmp, sizeof tmp, "%016" PRIx64, v);
    lr__sink_put(o, tmp, 16);
}

/* ---- numbers ------------------------------------------------------------- */

/* Numbers in the C locale whatever the host set, so a decimal comma never
 * reaches the JSON. */
/* Shortest "%.Ng" that reads back as the same double. `v` must be finite. */
static void lr__put_double(lr__sink *o, double v)
{
    char tmp[40];
    size_t n = lr__format_double(tmp, sizeof tmp, v);
    lr__sink_put(o, tmp, n < sizeof tmp ? n : sizeof tmp - 1);
}

/* ---- names --------------------------------------------------------------- */

static const char *lr__verdict_name(uint32_t v)
{
    switch (v) {
    case LEADROUTE_VERDICT_CHOSEN: return "chosen";
    case LEADROUTE_VERDICT_ELIGIBLE: return "eligible";
    case LEADROUTE_VERDICT_AWAY: return "away";
    case LEADROUTE_VERDICT_AT_CAPACITY: return "at capacity";
    case LEADROUTE_VERDICT_LACKS_SKILL: return "lacks skill";
    case LEADROUTE_VERDICT_TIER: return "tier";
    case LEADROUTE_VERDICT_EXCLUDED: return "excluded";
    case LEADROUTE_VERDICT_NOT_ASKED: return "not asked";
    default: return NULL;
    }
}

static const char *lr__how_name(const leadroute_decision *d)
{
    switch (d->how) {
    case LR_HOW_DIRECT: return "direct owner";
    case LR_HOW_ACCOUNT: return "account owner";
    case LR_HOW_STRATEGY: return lr__strategy_name(d->strategy) ? lr__strategy_name(d->strategy) : "strategy";
    case LR_HOW_DEFAULT_OWNER: return "default owner";
    case LR_HOW_EXISTING: return "existing claim";
    case LR_HOW_ESCALATION: return "escalation owner";
    default: return NULL;
    }
}

/* Strategy only when it picked the rep: otherwise the field is stale. */
static const char *lr__decision_strategy(const leadroute_decision *d)
{
    return d->how == LR_HOW_STRATEGY ? lr__strategy_name(d->strategy) : NULL;
}

/* ---- text ---------------------------------------------------------------- */

static const char lr__hex[] = "0123456789abcdef";

static void lr__put_hex(lr__sink *o, const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[4] = { '\\', 'x', lr__hex[c >> 4], lr__hex[c & 15] };
        lr__sink_put(o, esc, 4);
    }
}

/* A string on one line, what lr__char_shown escapes as \xHH: a lead id or
 * a host's away reason holding a line break or a stray lead byte cannot
 * forge or garble a line of the trace. */
static void lr__text_plain(lr__sink *o, const char *s)
{
    size_t n = strlen(s), i = 0, run = 0;
    while (i < n) {
        int escape;
        size_t len = lr__char_shown(s, n, i, &escape);
        if (escape) {
            lr__sink_put(o, s + run, i - run);
            lr__put_hex(o, s + i, len);
            run = i + len;
        }
        i += len;
    }
    lr__sink_put(o, s + run, n - run);
}

/* A string in double quotes with C escapes (pool states span lines). */
static void lr__text_quoted(lr__sink *o, const char *s)
{
    size_t n = strlen(s), i = 0, run = 0;
    lr__putc(o, '"');
    while (i < n) {
        const char *esc = NULL;
        int escape;
        size_t len;
        switch (s[i]) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\t': esc = "\\t"; break;
        case '\r': esc = "\\r"; break;
        default:
            len = lr__char_shown(s, n, i, &escape);
            if (escape) {
                lr__sink_put(o, s + run, i - run);
                lr__put_hex(o, s + i, len);
                run = i + len;
            }
            i += len;
            continue;
        }
        lr__sink_put(o, s + run, i - run);
        lr__sink_puts(o, esc);
        run = ++i;
    }
    lr__sink_put(o, s + run, n - run);
    lr__putc(o, '"');
}

/* Columns are padded by code points (UTF-8 lead bytes), close enough for
 * the alphabetic ids reps have. */
static size_t lr__width(const char *s)
{
    size_t w = 0, n = strlen(s), i = 0;
    while (i < n) {
        int escape;
        size_t len = lr__char_shown(s, n, i, &escape);
        w += escape ? 4 * len : 1; /* shown as \xHH */
        i += len;
    }
    return w;
}

static void lr__pad(lr__sink *o, size_t n)
{
    while (n--)
        lr__putc(o, ' ');
}

/* Days since 1970-01-01 to a proleptic Gregorian date. */
static void lr__civil(int64_t days, int64_t *y, unsigned *m, unsigned *dd)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *dd = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* ISO 8601 in UTC with milliseconds, e.g. 2026-03-01T09:30:00.125Z; a
 * year outside 0000-9999 in the standard's expanded form, signed and of at
 * least six digits (-000001, +010000), as ECMAScript writes it. */
static void lr__put_time(lr__sink *o, int64_t ms)
{
    int64_t days = ms / 86400000, rem = ms % 86400000, y;
    unsigned m, dd;
    char tmp[64];
    int n;
    if (rem < 0)
        rem += 86400000, days--;
    lr__civil(days, &y, &m, &dd);
    if (y >= 0 && y <= 9999)
        n = snprintf(tmp, sizeof tmp, "%04" PRId64, y);
    else
        n = snprintf(tmp, sizeof tmp, "%c%06" PRId64, y < 0 ? '-' : '+', y < 0 ? -y : y);
    n += snprintf(tmp + n, sizeof tmp - (size_t)n, "-%02u-%02uT%02u:%02u:%02u.%03uZ", m, dd,
                  (unsigned)(rem / 3600000), (unsigned)(rem / 60000 % 60), (unsigned)(rem / 1000 % 60),
                  (unsigned)(rem % 1000));
    lr__sink_put(o, tmp, (size_t)n);
}

/* "; " between the parts of one line. */
static void lr__sep(lr__sink *o, int *first)
{
    if (!*first)
        lr__sink_puts(o, "; ");
    *first = 0;
}

static void lr__text_headline(lr__sink *o, const leadroute_decision *d)
{
    const char *lead = lr__decision_at(d, d->lead_id), *key = lr__decision_at(d, d->key);
    const char *rep = lr__decision_at(d, d->rep), *pool = lr__decision_at(d, d->pool);
    const char *queue = lr__decision_at(d, d->queue), *prev = lr__decision_at(d, d->previous);
    const char *status = d->status ? leadroute_route_status_name(d->status) : NULL;

    lr__sink_puts(o, "lead");
    if (lead) {
        lr__putc(o, ' ');
        lr__text_plain(o, lead);
    }
    if (key) {
        lr__sink_puts(o, " (key ");
        lr__text_plain(o, key);
        lr__putc(o, ')');
    }
    lr__sink_puts(o, ": ");
    if (!status) {
        lr__sink_puts(o, "not routed yet");
    } else {
        lr__sink_puts(o, status);
        if (rep) {
            lr__sink_puts(o, d->status == LEADROUTE_ROUTE_EXISTING ? ", held by " : " to ");
            lr__text_plain(o, rep);
        }
        if (queue) {
            lr__sink_puts(o, " in queue ");
            lr__text_plain(o, queue);
        }
        if (pool) {
            lr__sink_puts(o, " from pool ");
            lr__text_plain(o, pool);
        }
        if (prev) {
            lr__sink_puts(o, " (reassigned from ");
            lr__text_plain(o, prev);
            lr__putc(o, ')');
        }
    }
    if (d->dry_run)
        lr__sink_puts(o, " (dry run)");
    lr__putc(o, '\n');
}

static void lr__text_rule(lr__sink *o, const leadroute_decision *d)
{
    const char *rule = lr__decision_at(d, d->rule), *label = lr__decision_at(d, d->label);
    const char *tags = lr__decision_at(d, d->tags);
    int first = 1;

    if (rule) {
        lr__sep(o, &first);
        lr__sink_puts(o, "rule ");
        lr__text_plain(o, rule);
        if (d->rule_line != 0 && d->rule_line != LR_NONE) {
            lr__sink_puts(o, " (line ");
            lr__put_u64(o, d->rule_line);
            lr__putc(o, ')');
        }
        if (d->table_hash) {
            lr__sink_puts(o, " of table ");
            lr__put_hash(o, d->table_hash);
        }
    } else if (d->table_hash) {
        lr__sep(o, &first);
        lr__sink_puts(o, "table ");
        lr__put_hash(o, d->table_hash);
    }
    if (label) {
        lr__sep(o, &first);
        lr__sink_puts(o, "label ");
        lr__text_plain(o, label);
    }
    if (d->sla_minutes != 0 && isfinite(d->sla_minutes)) {
        lr__sep(o, &first);
        lr__sink_puts(o, "sla ");
        lr__put_double(o, d->sla_minutes);
        lr__sink_puts(o, " min");
    }
    if (tags) {
        lr__sep(o, &first);
        lr__sink_puts(o, "tags ");
        lr__text_plain(o, tags);
    }
    if (!first)
        lr__putc(o, '\n');
}

static void lr__text_how(lr__sink *o, const leadroute_decision *d)
{
    const char *how = lr__how_name(d);
    const char *before = lr__decision_at(d, d->state_before), *after = lr__decision_at(d, d->state_after);
    int first = 1;

    if (how) {
        lr__sep(o, &first);
        lr__sink_puts(o, "picked by: ");
        lr__sink_puts(o, how);
    }
    if (before || after) {
        lr__sep(o, &first);
        lr__sink_puts(o, "state");
        if (before) {
            lr__sink_puts(o, " before ");
            lr__text_quoted(o, before);
        }
        if (after) {
            lr__sink_puts(o, " after ");
            lr__text_quoted(o, after);
        }
    }
    if (!first)
        lr__putc(o, '\n');
}

static void lr__text_candidates(lr__sink *o, const leadroute_decision *d)
{
    size_t wrep = 0, wpool = 0, w;
    uint32_t i;

    if (d->ncands == 0)
        return;
    for (i = 0; i < d->ncands; i++) {
        const char *rep = lr__decision_at(d, d->cands[i].rep_id), *pool = lr__decision_at(d, d->cands[i].pool_id);
        w = rep ? lr__width(rep) : 1;
        if (w > wrep)
            wrep = w;
        w = pool ? lr__width(pool) : 1;
        if (w > wpool)
            wpool = w;
    }
    lr__sink_puts(o, "candidates:\n");
    for (i = 0; i < d->ncands; i++) {
        const lr__candidate *c = &d->cands[i];
        const char *rep = lr__decision_at(d, c->rep_id), *pool = lr__decision_at(d, c->pool_id);
        const char *detail = lr__decision_at(d, c->detail), *verdict = lr__verdict_name(c->verdict);

        lr__sink_puts(o, "  ");
        lr__text_plain(o, rep ? rep : "-");
        lr__pad(o, wrep - (rep ? lr__width(rep) : 1) + 2);
        lr__text_plain(o, pool ? pool : "-");
        lr__pad(o, wpool - (pool ? lr__width(pool) : 1) + 2);
        if (verdict) {
            lr__sink_puts(o, verdict);
        } else {
            lr__sink_puts(o, "verdict ");
            lr__put_u64(o, c->verdict);
        }
        if (detail) {
            lr__sink_puts(o, ": ");
            lr__text_plain(o, detail);
        }
        lr__putc(o, '\n');
    }
}

int lr__explain_text(const leadroute_decision *d, char *buf, size_t cap, size_t *needed)
{
    lr__sink o;
    const char *reason;
    uint32_t i;

    if (!d)
        return lr__error_set(LEADROUTE_EINVAL, "decision must not be NULL");
    if (!buf && cap > 0)
        return lr__error_set(LEADROUTE_EINVAL, "buffer is NULL but its capacity is %zu", cap);

    lr__sink_init(&o, buf, cap);
    lr__text_headline(&o, d);
    lr__text_rule(&o, d);
    if (d->nchain > 0) {
        lr__sink_puts(&o, "pools walked: ");
        for (i = 0; i < d->nchain; i++) {
            const char *p = lr__decision_at(d, d->chain[i]);
            if (i)
                lr__sink_puts(&o, " -> ");
            lr__text_plain(&o, p ? p : "-");
        }
        lr__putc(&o, '\n');
    }
    lr__text_how(&o, d);
    if (d->at_ms != 0 || d->notified) {
        int first = 1;
        if (d->at_ms != 0) {
            lr__sep(&o, &first);
            lr__sink_puts(&o, "at ");
            lr__put_time(&o, d->at_ms);
        }
        if (d->notified) {
            lr__sep(&o, &first);
            lr__sink_puts(&o, "host notified");
        }
        lr__putc(&o, '\n');
    }
    lr__text_candidates(&o, d);
    reason = lr__decision_at(d, d->reason);
    if (reason) {
        lr__sink_puts(&o, "reason: ");
        lr__text_plain(&o, reason);
        lr__putc(&o, '\n');
    }
    return lr__sink_finish(&o, needed);
}

/* ---- JSON ---------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at `s`, 0 if invalid. */
static size_t lr__utf8_seq(const unsigned char *s)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        return (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        unsigned char lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
        return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 ? 3 : 0;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        unsigned char lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
        return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 && (s[3] & 0xc0) == 0x80 ? 4 : 0;
    }
    return 0;
}

/* A JSON string (RFC 8259). Strings are valid UTF-8 already; a byte that
 * is not becomes U+FFFD rather than invalid output. */
static void lr__json_str(lr__sink *o, const char *str)
{
    const unsigned char *s = (const unsigned char *)str, *run;
    if (!str) {
        lr__sink_puts(o, "null");
        return;
    }
    lr__putc(o, '"');
    run = s;
    while (*s) {
        unsigned char c = *s;
        size_t n;
        if (c == '"' || c == '\\') {
            lr__sink_put(o, (const char *)run, (size_t)(s - run));
            lr__putc(o, '\\');
            lr__putc(o, (char)c);
            run = ++s;
        } else if (c < 0x20 || c == 0x7f) {
            char esc[6] = { '\\', 'u', '0', '0', lr__hex[c >> 4], lr__hex[c & 15] };
            lr__sink_put(o, (const char *)run, (size_t)(s - run));
            lr__sink_put(o, esc, 6);
            run = ++s;
        } else if ((n = lr__utf8_seq(s)) == 0) {
            lr__sink_put(o, (const char *)run, (size_t)(s - run));
            lr__sink_puts(o, "\\ufffd");
            run = ++s;
        } else if ((c == 0xC2 && s[1] <= 0x9F) || (c == 0xE2 && s[1] == 0x80 && (s[2] == 0xA8 || s[2] == 0xA9))) {
            /* C1 controls and the line and paragraph separators, escaped
             * too: a JavaScript or line-splitting reader breaks on them */
            char esc[6] = { '\\', 'u', c == 0xC2 ? '0' : '2', '0', c == 0xC2 ? lr__hex[s[1] >> 4] : '2',
                            c == 0xC2 ? lr__hex[s[1] & 15] : s[2] == 0xA8 ? '8' : '9' };
            lr__sink_put(o, (const char *)run, (size_t)(s - run));
            lr__sink_put(o, esc, 6);
            s += n;
            run = s;
        } else {
            s += n;
        }
    }
    lr__sink_put(o, (const char *)run, (size_t)(s - run));
    lr__putc(o, '"');
}

/* `,"key":` (no comma before the first key). */
static void lr__json_key(lr__sink *o, const char *key, int *first)
{
    if (!*first)
        lr__putc(o, ',');
    *first = 0;
    lr__putc(o, '"');
    lr__sink_puts(o, key);
    lr__sink_puts(o, "\":");
}

static void lr__json_at(lr__sink *o, const leadroute_decision *d, const char *key, uint32_t off, int *first)
{
    lr__json_key(o, key, first);
    lr__json_str(o, lr__decision_at(d, off));
}

int lr__explain_json(const leadroute_decision *d, char *buf, size_t cap, size_t *needed)
{
    lr__sink o;
    int first = 1;
    uint32_t i;

    if (!d)
        return lr__error_set(LEADROUTE_EINVAL, "decision must not be NULL");
    if (!buf && cap > 0)
        return lr__error_set(LEADROUTE_EINVAL, "buffer is NULL but its capacity is %zu", cap);

    lr__sink_init(&o, buf, cap);
    lr__putc(&o, '{');
    lr__json_key(&o, "status", &first);
    lr__json_str(&o, d->status ? leadroute_route_status_name(d->status) : NULL);
    lr__json_at(&o, d, "lead_id", d->lead_id, &first);
    lr__json_at(&o, d, "key", d->key, &first);
    lr__json_at(&o, d, "rep", d->rep, &first);
    lr__json_at(&o, d, "pool", d->pool, &first);
    lr__json_at(&o, d, "queue", d->queue, &first);
    lr__json_at(&o, d, "rule", d->rule, &first);
    lr__json_key(&o, "rule_line", &first);
    if (d->rule != LR_NONE && d->rule_line != 0 && d->rule_line != LR_NONE)
        lr__put_u64(&o, d->rule_line);
    else
        lr__sink_puts(&o, "null");
    lr__json_at(&o, d, "label", d->label, &first);
    lr__json_at(&o, d, "tags", d->tags, &first);
    lr__json_key(&o, "sla_minutes", &first);
    if (isfinite(d->sla_minutes))
        lr__put_double(&o, d->sla_minutes);
    else
        lr__sink_puts(&o, "null");
    /* A string: 64 bits do not survive a JavaScript number. */
    lr__json_key(&o, "table_version", &first);
    if (d->table_hash) {
        lr__putc(&o, '"');
        lr__put_hash(&o, d->table_hash);
        lr__putc(&o, '"');
    } else {
        lr__sink_puts(&o, "null");
    }
    lr__json_key(&o, "at_ms", &first);
    lr__put_i64(&o, d->at_ms);
    lr__json_key(&o, "notified", &first);
    lr__sink_puts(&o, d->notified ? "true" : "false");
    lr__json_key(&o, "dry_run", &first);
    lr__sink_puts(&o, d->dry_run ? "true" : "false");
    lr__json_key(&o, "how", &first);
    lr__json_str(&o, lr__how_name(d));
    lr__json_key(&o, "strategy", &first);
    lr__json_str(&o, lr__decision_strategy(d));
    lr__json_at(&o, d, "previous", d->previous, &first);
    lr__json_key(&o, "pools", &first);
    lr__putc(&o, '[');
    for (i = 0; i < d->nchain; i++) {
        if (i)
            lr__putc(&o, ',');
        lr__json_str(&o, lr__decision_at(d, d->chain[i]));
    }
    lr__putc(&o, ']');
    lr__json_at(&o, d, "state_before", d->state_before, &first);
    lr__json_at(&o, d, "state_after", d->state_after, &first);
    lr__json_key(&o, "candidates", &first);
    lr__putc(&o, '[');
    for (i = 0; i < d->ncands; i++) {
        const lr__candidate *c = &d->cands[i];
        int cfirst = 1;
        if (i)
            lr__putc(&o, ',');
        lr__putc(&o, '{');
        lr__json_at(&o, d, "rep", c->rep_id, &cfirst);
        lr__json_at(&o, d, "pool", c->pool_id, &cfirst);
        lr__json_key(&o, "verdict", &cfirst);
        lr__json_str(&o, lr__verdict_name(c->verdict));
        lr__json_at(&o, d, "detail", c->detail, &cfirst);
        lr__putc(&o, '}');
    }
    lr__putc(&o, ']');
    lr__json_at(&o, d, "reason", d->reason, &first);
    lr__putc(&o, '}');
    return lr__sink_finish(&o, needed);
}
