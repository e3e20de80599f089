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
    "a tick and each acknowledgement.\n"
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

static void put_utf8(FILE *out, unsigned cp)
{
    if (cp < 0x80) {
        fputc((int)cp, out);
    } else if (cp < 0x800) {
        fputc((int)(0xC0 | cp >> 6), out);
        fputc((int)(0x80 | (cp & 0x3F)), out);
    } else {
        fputc((int)(0xE0 | cp >> 12), out);
        fputc((int)(0x80 | (cp >> 6 & 0x3F)), out);
        fputc((int)(0x80 | (cp & 0x3F)), out);
    }
}

/* Print the JSON string at the quote *p decoded, each line after the first
 * indented by `indent`. The writer escaped only control characters, quotes
 * and backslashes, so \u escapes are below 0x20. */
static void put_decoded(FILE *out, const char *p, const char *indent)
{
    for (p++; *p && *p != '"'; p++) {
        if (*p != '\\') {
            fputc(*p, out);
            continue;
        }
        switch (*++p) {
        case 'n':
            if (p[1] == '"')
                break; /* the caller ends the line */
            fputc('\n', out);
            fputs(indent, out);
            break;
        case 't': fputc('\t', out); break;
        case 'r': break;
        case 'u': {
            unsigned cp = 0;
            for (int i = 0; i < 4 && p[1]; i++) {
                char c = *++p;
                cp = cp * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
            }
            put_utf8(out, cp);
            break;
        }
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
    if (l->shown++ == 0)
        printf("%s (key %s)\n", e->lead_id ? e->lead_id : l->lead, e->key ? e->key : "-");
    printf("  %s  %s\n", when, e->kind ? e->kind : "?");
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
        fputs(e->kind ? e->kind : "", stdout);
    }
    fputc('\n', stdout);
    return 0;
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
        listing l = { a.format, a.keys[i], 0 };
        if (i > 0 && a.format != FORMAT_JSONL)
            fputc('\n', stdout);
        if (cli_state_events(store, a.keys[i], show_event, &l, NULL) != LEADROUTE_OK) {
            fprintf(stderr, "leadroute explain: %s\n", cli_state_errmsg(store));
            status = EXIT_TROUBLE;
            break;
        }
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
