/*
 * explain: the recorded history of a lead, from the state database.
 * SPDX-License-Identifier: MIT
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char USAGE_EXPLAIN[] =
    "usage: leadroute explain [--state FILE] [--format text|jsonl] LEAD...\n"
    "\n"
    "Print what happened to each LEAD (a lead id or a dedupe key), oldest\n"
    "first, as recorded in the state database by route, tick and ack: each\n"
    "routing decision with its whole trace (the rule that matched, the pools\n"
    "walked, every rep considered and why each one was skipped), each move of\n"
    "a tick and each acknowledgement. An acknowledgement is recorded under the\n"
    "dedupe key it was made for, naming no lead: for a lead id, the ones of the\n"
    "keys its decisions were recorded under are shown too (so for a lead that\n"
    "route found existing under a key, the acknowledgements of that key).\n"
    "\n"
    "  --state FILE|DATABASE\n"
    "                   the state: a SQLite file (default " CLI_DEFAULT_STATE ")\n"
    "                   or a PostgreSQL connection string, as for route. It is\n"
    "                   only read: a file, and a directory, that the user may\n"
    "                   only read will do\n"
    "  --format FORMAT  text (default), or jsonl: one object per event,\n"
    "                   {\"at\", \"event\", \"key\", \"lead\", \"detail\"}\n"
    "\n"
    "exit status: 0 every lead found, 1 some lead has no recorded decision,\n"
    "2 bad usage or the state could not be read\n";

/* ---- a small reader for the JSON the tool itself recorded --------------------- */

/* Skip a JSON string starting at the quote *p; the position after it. */
static const char *skip_string(const char *p)
{
    for (p++; *p && *p != '"'; p++)
        if (*p == '\\' && p[1])
            p++;
    return *p ? p + 1 : p;
}

/* Skip any JSON value (nested objects and arrays included). */
static const char *skip_value(const char *p)
{
    int depth = 0;
    for (; *p; p++) {
        if (*p == '"') {
            p = skip_string(p) - 1;
        } else if (*p == '{' || *p == '[') {
            depth++;
        } else if (*p == '}' || *p == ']') {
            if (depth == 0)
                return p;
            if (--depth == 0)
                return p + 1;
        } else if (depth == 0 && *p == ',') {
            return p;
        }
    }
    return p;
}

/* The character at `s` as it is, or as \xNN per byte when it would break or
 * garble a line (cli_escaped_len); returns the bytes it took. A state file
 * is only data: one edited by hand must not write to the terminal. */
static size_t put_char_shown(FILE *out, const char *s)
{
    size_t k = cli_escaped_len(s);
    if (!k) {
        fputc(*s, out);
        return 1;
    }
    for (size_t i = 0; i < k; i++)
        fprintf(out, "\\x%02x", (unsigned char)s[i]);
    return k;
}

static void put_utf8(FILE *out, unsigned cp)
{
    char b[4] = { 0 };
    if (cp == 0) {
        fputs("\\x00", out);
        return;
    }
    if (cp < 0x80) {
        b[0] = (char)cp;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | cp >> 6);
        b[1] = (char)(0x80 | (cp & 0x3F));
    } else {
        b[0] = (char)(0xE0 | cp >> 12);
        b[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
    }
    for (const char *q = b; *q;)
        q += put_char_shown(out, q);
}

/* Print the JSON string at the quote *p decoded, each line after the first
 * indented by `indent`. Its \n are the lines of the library's explanation;
 * anything else that would break or garble a line (put_char_shown), raw or
 * written as an escape, is shown as \xNN. */
static void put_decoded(FILE *out, const char *p, const char *indent)
{
    for (p++; *p && *p != '"'; p++) {
        if (*p != '\\') {
            p += put_char_shown(out, p) - 1;
            continue;
        }
        switch (*++p) {
        case 'n':
            if (p[1] == '"')
                break; /* the caller ends the line */
            fputc('\n', out);
            fputs(indent, out);
            break;
        case 'u': {
            unsigned cp = 0;
            for (int i = 0; i < 4 && p[1]; i++) {
                char c = *++p;
                cp = cp * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
            }
            put_utf8(out, cp);
            break;
        }
        case 't': put_utf8(out, '\t'); break;
        case 'r': put_utf8(out, '\r'); break;
        case 'b': put_utf8(out, '\b'); break;
        case 'f': put_utf8(out, '\f'); break;
        case '\0': return;
        default: fputc(*p, out); break;
        }
    }
}

/* The value of member `name` of the top-level JSON object `json`; NULL if absent. */
static const char *member(const char *json, const char *name)
{
    const char *p = json;
    size_t n = strlen(name);
    if (*p++ != '{')
        return NULL;
    while (*p == '"') {
        const char *key = p + 1, *end = skip_string(p);
        if (*end != ':')
            return NULL;
        if ((size_t)(end - 1 - key) == n && strncmp(key, name, n) == 0)
            return end + 1;
        p = skip_value(end + 1);
        if (*p != ',')
            return NULL;
        p++;
    }
    return NULL;
}

/* A string member, decoded onto `out` (nothing if absent or not a string). */
static int put_member(FILE *out, const char *json, const char *name, const char *indent)
{
    const char *v = member(json, name);
    if (!v || *v != '"')
        return 0;
    put_decoded(out, v, indent);
    return 1;
}

/* ---- the command ------------------------------------------------------------- */

typedef struct listing {
    int format;
    const char *lead;
    size_t shown;
} listing;

static int show_event(void *ctx, const cli_state_event *e)
{
    listing *l = ctx;
    char when[40];
    cli_format_time(e->at_ms, when, sizeof when);
    const char *detail = e->detail ? e->detail : "{}";
    if (l->format == FORMAT_JSONL) {
        fputs("{\"at\":", stdout);
        put_json_string(stdout, when);
        fputs(",\"event\":", stdout);
        put_json_string(stdout, e->kind ? e->kind : "");
        fputs(",\"key\":", stdout);
        put_json_string(stdout, e->key ? e->key : "");
        if (e->lead_id) {
            fputs(",\"lead\":", stdout);
            put_json_string(stdout, e->lead_id);
        }
        fputs(",\"detail\":", stdout);
        fputs(detail[0] == '{' ? detail : "null", stdout);
        fputs("}\n", stdout);
        l->shown++;
        return 0;
    }
    static char shown_id[CLI_SHOWN_SIZE], shown_key[CLI_SHOWN_SIZE];
    if (l->shown++ == 0)
        printf("%s (key %s)\n", cli_shown(e->lead_id ? e->lead_id : l->lead, shown_id),
               cli_shown(e->key ? e->key : "-", shown_key));
    printf("  %s  %s\n", when, cli_shown(e->kind ? e->kind : "?", shown_key));
    fputs("    ", stdout);
    if (put_member(stdout, detail, "text", "    ")) {
        /* a routing decision: the library's own explanation */
    } else if (member(detail, "from")) {
        put_member(stdout, detail, "from", "");
        fputs(" -> ", stdout);
        put_member(stdout, detail, "to", "");
        fputs(": ", stdout);
        put_member(stdout, detail, "reason", "");
    } else {
        fputs(cli_shown(e->kind ? e->kind : "", shown_key), stdout);
    }
    fputc('\n', stdout);
    return 0;
}

/* ---- the events of a lead ------------------------------------------------------- */

/* An event kept past its callback. */
typedef struct kept_event {
    cli_state_event e; /* strings owned */
    size_t seq;        /* the order it came in */
} kept_event;

typedef struct event_list {
    kept_event *v;
    size_t n, cap;
    const char *only_key; /* when set, keep only the events of this key that name no lead */
} event_list;

static char *copy_of(const char *s, int *failed)
{
    if (!s)
        return NULL;
    char *c = malloc(strlen(s) + 1);
    if (!c)
        *failed = 1;
    else
        strcpy(c, s);
    return c;
}

/* cli_state_events callback: keep a copy. */
static int keep_event(void *ctx, const cli_state_event *e)
{
    event_list *l = ctx;
    if (l->only_key && (e->lead_id || !e->key || strcmp(e->key, l->only_key) != 0))
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        kept_event *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return LEADROUTE_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    int failed = 0;
    kept_event *k = &l->v[l->n];
    k->e.at_ms = e->at_ms;
    k->e.kind = copy_of(e->kind, &failed);
    k->e.key = copy_of(e->key, &failed);
    k->e.lead_id = copy_of(e->lead_id, &failed);
    k->e.detail = copy_of(e->detail, &failed);
    k->seq = l->n++;
    return failed ? LEADROUTE_ENOMEM : 0;
}

static void free_events(event_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free((void *)l->v[i].e.kind);
        free((void *)l->v[i].e.key);
        free((void *)l->v[i].e.lead_id);
        free((void *)l->v[i].e.detail);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int compare_time(const void *pa, const void *pb)
{
    const kept_event *a = pa, *b = pb;
    if (a->e.at_ms != b->e.at_ms)
        return a->e.at_ms < b->e.at_ms ? -1 : 1;
    return (a->seq > b->seq) - (a->seq < b->seq);
}

/* The events of `lead` (a lead id or a key), in *events. An acknowledgement
 * names a key and no lead (ack takes keys), so when `lead` is a lead id
 * routed under another dedupe key, the events of that key that name no lead
 * are added, in time order among the lead's own (which keep their order).
 * A library code, with the state's message. */
static int lead_events(cli_state *store, const char *lead, event_list *events)
{
    event_list own = { NULL, 0, 0, NULL }, acks = { NULL, 0, 0, NULL };
    int rc = cli_state_events(store, lead, keep_event, &own, NULL);
    for (size_t i = 0; rc == LEADROUTE_OK && i < own.n; i++) {
        const char *key = own.v[i].e.key;
        int seen = !key || strcmp(key, lead) == 0; /* those are the lead's own events already */
        for (size_t j = 0; !seen && j < i; j++)
            seen = own.v[j].e.key && strcmp(own.v[j].e.key, key) == 0;
        if (seen)
            continue;
        acks.only_key = key;
        rc = cli_state_events(store, key, keep_event, &acks, NULL);
    }
    if (rc == LEADROUTE_OK && acks.n) {
        size_t n = own.n + acks.n, i = 0, j = 0;
        kept_event *v = malloc(n * sizeof *v);
        if (!v) {
            rc = LEADROUTE_ENOMEM;
        } else {
            if (acks.n > 1) /* several keys: by time, each key's in its order */
                qsort(acks.v, acks.n, sizeof *acks.v, compare_time);
            for (size_t k = 0; k < n; k++)
                v[k] = j == acks.n || (i < own.n && own.v[i].e.at_ms <= acks.v[j].e.at_ms) ? own.v[i++]
                                                                                            : acks.v[j++];
            free(own.v);
            own.v = v;
            own.n = own.cap = n;
            acks.n = 0;
        }
    }
    free_events(&acks);
    if (rc != LEADROUTE_OK)
        free_events(&own);
    *events = own;
    return rc;
}

int cmd_explain(int argc, char **argv)
{
    cli_args a;
    int rc = cli_parse_args("explain", argc, argv, OPT_STATE | OPT_KEYS | OPT_FORMAT,
                            1u << FORMAT_TEXT | 1u << FORMAT_JSONL, &a);
    if (rc || a.help) {
        cli_args_free(&a);
        return rc ? rc : cli_print_usage(USAGE_EXPLAIN);
    }
    if (a.nkeys == 0) {
        cli_args_free(&a);
        return cli_usage_error("explain", "%s", "expected one or more LEAD ids or keys");
    }
    if (a.no_state || a.has_now) {
        cli_args_free(&a);
        return cli_usage_error("explain", "%s", "explain reads a state database: --no-state and --now do not apply");
    }

    /* explain only reads: it creates no missing file, no tables, and needs no write permission */
    cli_state *store = NULL;
    int status = cli_open_state("explain", &a, CLI_STATE_READ, &store);
    if (status != EXIT_CLEAN) {
        cli_args_free(&a);
        return status;
    }
    for (int i = 0; i < a.nkeys; i++) {
        /* trimmed, as the router trims the keys and ids it records */
        char key[LEADROUTE_MAX_STRING + 1];
        size_t len;
        const char *start = cli_trimmed(a.keys[i], &len);
        /* one longer than any key names none: looked up as "", which no key is */
        snprintf(key, sizeof key, "%.*s", (int)(len < sizeof key ? len : 0), start);
        listing l = { a.format, key, 0 };
        if (i > 0 && a.format != FORMAT_JSONL)
            fputc('\n', stdout);
        event_list events;
        rc = lead_events(store, key, &events);
        if (rc != LEADROUTE_OK) {
            const char *why = cli_state_errmsg(store);
            fprintf(stderr, "leadroute explain: %s\n", rc == LEADROUTE_ENOMEM || !why || !*why ? "out of memory" : why);
            status = EXIT_TROUBLE;
            break;
        }
        for (size_t k = 0; k < events.n; k++)
            show_event(&l, &events.v[k].e);
        free_events(&events);
        if (l.shown == 0) {
            char shown[CLI_SHOWN_SIZE];
            fprintf(stderr, "leadroute explain: no recorded decision for '%s' in %s\n", cli_shown(a.keys[i], shown),
                    cli_state_name(store));
            status = EXIT_FINDINGS;
        }
    }
    cli_state_close(store);
    cli_args_free(&a);
    return cli_finish_output(status);
}
