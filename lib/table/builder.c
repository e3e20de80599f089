/* Table builder: columns, directives and rules, checked as they arrive. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "base/value.h"
#include "table/internal.h"

int lr__table_options_check(const leadroute_table_options *o)
{
    if (o && (o->version == 0 || o->version > LEADROUTE_TABLE_OPTIONS_VERSION))
        return lr__error_set(LEADROUTE_EVERSION, "leadroute_table_options version %u is not supported (1..%u)",
                             o->version, LEADROUTE_TABLE_OPTIONS_VERSION);
    /* a flag of a newer release must not be ignored silently */
    if (o && (o->flags & ~LEADROUTE_TABLE_NO_LINT))
        return lr__error_set(LEADROUTE_EINVAL, "unknown table option flags 0x%x", o->flags & ~LEADROUTE_TABLE_NO_LINT);
    return LEADROUTE_OK;
}

int leadroute_table_options_init(leadroute_table_options *options, uint32_t version)
{
    static const leadroute_table_options init = LEADROUTE_TABLE_OPTIONS_INIT;
    if (!options)
        return lr__error_set(LEADROUTE_EINVAL, "options is NULL");
    if (version == 0 || version > LEADROUTE_TABLE_OPTIONS_VERSION)
        return lr__error_set(LEADROUTE_EVERSION, "leadroute_table_options version %u is not supported (1..%u)",
                             version, LEADROUTE_TABLE_OPTIONS_VERSION);
    *options = init;
    options->version = version;
    return LEADROUTE_OK;
}

int leadroute_rule_init(leadroute_rule *rule, uint32_t version)
{
    static const leadroute_rule init = LEADROUTE_RULE_INIT;
    if (!rule)
        return lr__error_set(LEADROUTE_EINVAL, "rule is NULL");
    if (version == 0 || version > LEADROUTE_RULE_VERSION)
        return lr__error_set(LEADROUTE_EVERSION, "leadroute_rule version %u is not supported (1..%u)", version,
                             LEADROUTE_RULE_VERSION);
    *rule = init;
    rule->version = version;
    return LEADROUTE_OK;
}

int lr__builder_init(leadroute_table_builder *b, const leadroute_table_options *options)
{
    static const leadroute_table_options defaults = LEADROUTE_TABLE_OPTIONS_INIT;
    int rc;
    memset(b, 0, sizeof *b);
    if ((rc = lr__table_options_check(options)) != 0)
        return rc;
    if ((rc = lr__alloc_init(&b->alloc, options ? options->allocator : NULL)) != 0)
        return rc;
    b->options = options ? *options : defaults;
    b->options.version = LEADROUTE_TABLE_OPTIONS_VERSION;
    b->options.allocator = NULL; /* copied into b->alloc */
    b->hit_policy = LEADROUTE_HIT_FIRST;
    b->aggregation = LEADROUTE_AGG_NONE;
    lr__arena_init(&b->arena, &b->alloc);
    if ((rc = lr__keymap_init(&b->ids, &b->alloc, 64)) != 0)
        return rc;
    return LEADROUTE_OK;
}

void lr__builder_clear(leadroute_table_builder *b)
{
    lr__free(&b->alloc, b->inputs);
    lr__free(&b->alloc, b->outputs);
    lr__free(&b->alloc, b->prios);
    lr__free(&b->alloc, b->rules);
    lr__keymap_free(&b->ids, &b->alloc);
    lr__arena_free(&b->arena);
}

int leadroute_table_builder_new(leadroute_table_builder **out, const leadroute_table_options *options)
{
    leadroute_table_builder tmp, *b;
    int rc;
    if (!out)
        return lr__error_set(LEADROUTE_EINVAL, "out is NULL");
    *out = NULL;
    if ((rc = lr__builder_init(&tmp, options)) != 0) {
        if (tmp.ids.slots)
            lr__builder_clear(&tmp);
        return rc;
    }
    b = lr__malloc(&tmp.alloc, sizeof *b);
    if (!b) {
        lr__builder_clear(&tmp);
        return lr__error_nomem();
    }
    *b = tmp;
    b->arena.alloc = &b->alloc;
    *out = b;
    return LEADROUTE_OK;
}

void leadroute_table_builder_free(leadroute_table_builder *b)
{
    lr__alloc a;
    if (!b)
        return;
    a = b->alloc;
    lr__builder_clear(b);
    lr__free(&a, b);
}

static int lr__is_letter(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static int lr__is_word_break(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '_' || ch == '-';
}

/* Whether s[i], a '_' or '-', stands in a run of blanks, '_' and '-'
 * between two letters. */
static int lr__parts_words(const char *s, size_t n, size_t i)
{
    size_t before = i, after = i;
    while (before > 0 && lr__is_word_break(s[before - 1]))
        before--;
    while (after < n && lr__is_word_break(s[after]))
        after++;
    return before > 0 && after < n && lr__is_letter(s[before - 1]) && lr__is_letter(s[after]);
}

/* "rule order", "Rule_Order", "rule - order", "R" -> canonical lower-case
 * words; '_' and '-' part words only between letters ("c-" stays itself) */
static void lr__normalise_word(const char *s, size_t n, char *out, size_t cap)
{
    size_t i, o = 0;
    int space = 0;
    for (i = 0; i < n && o + 1 < cap; i++) {
        char ch = s[i];
        if (ch == ' ' || ch == '\t' || ((ch == '_' || ch == '-') && lr__parts_words(s, n, i))) {
            space = o > 0;
            continue;
        }
        if (space && o + 2 < cap)
            out[o++] = ' ';
        space = 0;
        out[o++] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
    }
    out[o] = '\0';
}

/* Where `at` stands in the file, for a directive's text starting at `base`
 * at `line`, `col`: a quoted cell wrote each '"' as "", and a line break in
 * it starts a line of the file. */
static uint32_t lr__directive_pos(const char *base, const char *at, uint32_t line, uint32_t col, int quoted,
                                  uint32_t *col_out)
{
    for (; base < at; base++) {
        if (*base == '\n') {
            line++;
            col = 1;
        } else {
            col += quoted && *base == '"' ? 2u : 1u;
        }
    }
    *col_out = col;
    return line;
}

int lr__builder_set_at(leadroute_table_builder *b, const char *key, size_t key_len, const char *value,
                       size_t value_len, const char *base, uint32_t line, uint32_t col, int quoted)
{
    char k[32], v[32], shown[80];
    uint32_t vline = 0;
    /* A file's lines are checked as they are read; through the API, each
     * property's text is checked as a cell's would be, before any use */
    if (!line && (key_len > LEADROUTE_MAX_STRING || !lr__utf8_valid(key, key_len)))
        return lr__error_set(LEADROUTE_EINVAL, "a table property name must be at most %d bytes of UTF-8",
                             LEADROUTE_MAX_STRING);
    if (!line && (value_len > LEADROUTE_MAX_STRING || !lr__utf8_valid(value, value_len)))
        return lr__error_set(LEADROUTE_EPARSE, "a table property value must be at most %d bytes of UTF-8",
                             LEADROUTE_MAX_STRING);
    lr__trim(&key, &key_len);
    lr__trim(&value, &value_len);
    /* messages about the value point at it */
    if (line)
        vline = lr__directive_pos(base, value, line, col, quoted, &col);
    else
        col = 0;
    lr__normalise_word(key, key_len, k, sizeof k);
    snprintf(shown, sizeof shown, "%.*s", (int)lr__utf8_cut(value, value_len, 60), value);

    /* In a file, a directive given twice is a mistake (which one was
     * meant?); through the builder API a later call replaces the value. */
    if (line) {
        uint32_t first = strcmp(k, "hit policy") == 0    ? (b->hit_policy_set ? b->policy_line : 0)
                         : strcmp(k, "aggregation") == 0 ? (b->aggregation_set ? b->aggregation_line : 0)
                         : strcmp(k, "name") == 0        ? b->name_line
                         : strcmp(k, "version") == 0     ? b->version_line
                                                         : 0;
        if (first)
            return lr__error_set_at(LEADROUTE_EPARSE, b->file, line, 1,
                                    "a second '%.*s' directive: the first is on line %u",
                                    (int)lr__utf8_cut(key, key_len, 40), key, first);
        /* C+, C#, C< and C> name an aggregation too */
        if (strcmp(k, "aggregation") == 0 && b->policy_aggregates)
            return lr__error_set_at(LEADROUTE_EPARSE, b->file, vline, col,
                                    "an 'aggregation' directive, but the hit policy on line %u already names "
                                    "one (C+, C#, C< or C>): keep one of the two", b->policy_line);
    }
    if (strcmp(k, "hit policy") == 0) {
        static const struct { const char *name; uint32_t policy, agg; } names[] = {
            { "first", LEADROUTE_HIT_FIRST, 0 },      { "f", LEADROUTE_HIT_FIRST, 0 },
            { "unique", LEADROUTE_HIT_UNIQUE, 0 },    { "u", LEADROUTE_HIT_UNIQUE, 0 },
            { "any", LEADROUTE_HIT_ANY, 0 },          { "a", LEADROUTE_HIT_ANY, 0 },
            { "priority", LEADROUTE_HIT_PRIORITY, 0 },{ "p", LEADROUTE_HIT_PRIORITY, 0 },
            { "rule order", LEADROUTE_HIT_RULE_ORDER, 0 }, { "r", LEADROUTE_HIT_RULE_ORDER, 0 },
            { "output order", LEADROUTE_HIT_OUTPUT_ORDER, 0 }, { "o", LEADROUTE_HIT_OUTPUT_ORDER, 0 },
            { "collect", LEADROUTE_HIT_COLLECT, 0 },  { "c", LEADROUTE_HIT_COLLECT, 0 },
            { "c+", LEADROUTE_HIT_COLLECT, LEADROUTE_AGG_SUM }, { "c#", LEADROUTE_HIT_COLLECT, LEADROUTE_AGG_COUNT },
            { "c<", LEADROUTE_HIT_COLLECT, LEADROUTE_AGG_MIN }, { "c>", LEADROUTE_HIT_COLLECT, LEADROUTE_AGG_MAX },
        };
        size_t i;
        lr__normalise_word(value, value_len, v, sizeof v);
        for (i = 0; i < sizeof names / sizeof names[0]; i++) {
            if (strcmp(v, names[i].name) == 0) {
                if (line && names[i].agg && b->aggregation_set)
                    return lr__error_set_at(LEADROUTE_EPARSE, b->file, vline, col,
                                            "hit policy '%s' names an aggregation, but the 'aggregation' "
                                            "directive on line %u already names one: keep one of the two",
                                            shown, b->aggregation_line);
                b->policy_aggregates = names[i].agg != 0;
                b->hit_policy = names[i].policy;
                b->hit_policy_set = 1;
                b->policy_line = line;
                b->policy_vline = vline;
                b->policy_col = col;
                /* C+ and friends carry an aggregation while they are the policy; a
                 * later plain policy brings back the aggregation property's own */
                if (names[i].agg) {
                    b->aggregation = names[i].agg;
                    b->aggregation_line = line;
                    b->aggregation_vline = vline;
                    b->aggregation_col = col;
                } else {
                    b->aggregation = b->aggregation_set ? b->aggregation_own : LEADROUTE_AGG_NONE;
                }
                return LEADROUTE_OK;
            }
        }
        return lr__error_set_at(LEADROUTE_EPARSE, b->file, vline, col,
                                "unknown hit policy '%s': expected first, unique, any, priority, rule order, "
                                "output order or collect (or F, U, A, P, R, O, C, C+, C#, C<, C>)", shown);
    }
    if (strcmp(k, "aggregation") == 0) {
        static const struct { const char *name; uint32_t agg; } names[] = {
            { "none", LEADROUTE_AGG_NONE }, { "sum", LEADROUTE_AGG_SUM }, { "+", LEADROUTE_AGG_SUM },
            { "count", LEADROUTE_AGG_COUNT }, { "#", LEADROUTE_AGG_COUNT }, { "min", LEADROUTE_AGG_MIN },
            { "<", LEADROUTE_AGG_MIN }, { "max", LEADROUTE_AGG_MAX }, { ">", LEADROUTE_AGG_MAX },
        };
        size_t i;
        lr__normalise_word(value, value_len, v, sizeof v);
        for (i = 0; i < sizeof names / sizeof names[0]; i++) {
            if (strcmp(v, names[i].name) == 0) {
                /* while C+ and friends are the policy, theirs applies: the
                 * property's own comes back with a plain policy */
                b->aggregation_own = names[i].agg;
                b->aggregation_set = 1;
                if (!b->policy_aggregates) {
                    b->aggregation = names[i].agg;
                    b->aggregation_line = line;
                    b->aggregation_vline = vline;
                    b->aggregation_col = col;
                }
                return LEADROUTE_OK;
            }
        }
        return lr__error_set_at(LEADROUTE_EPARSE, b->file, vline, col,
                                "unknown aggregation '%s': expected none, sum, count, min or max", shown);
    }
    if (strcmp(k, "name") == 0 || strcmp(k, "version") == 0) {
        char *copy;
        if (value_len > LEADROUTE_MAX_STRING || !lr__utf8_valid(value, value_len))
            return lr__error_set_at(LEADROUTE_EPARSE, b->file, vline, col,
                                    "%s must be at most %d bytes of UTF-8", k, LEADROUTE_MAX_STRING);
        copy = lr__arena_strndup(&b->arena, value, value_len);
        if (!copy)
            return lr__error_nomem();
        if (k[0] == 'n') {
            b->name = copy;
            b->name_line = line;
        } else {
            b->version = copy;
            b->version_line = line;
        }
        return LEADROUTE_OK;
    }
    if (strcmp(k, "priority") == 0) {
        const char *eq = memchr(value, '=', value_len);
        const char *out;
        size_t out_len;
        uint32_t i;
        int rc;
        if (!eq)
            return lr__error_set_at(LEADROUTE_EPARSE, b->file, vline, col,
                                    "priority needs 'output = value, value, ...', got '%s'", shown);
        out = value;
        out_len = (size_t)(eq - value);
        lr__trim(&out, &out_len);
        if (out_len > 4 && lr__equal_ci(out, 4, "out:"))
            out += 4, out_len -= 4;
        for (i = 0; i < b->nprios; i++)
            if (strlen(b->prios[i].output) == out_len && memcmp(b->prios[i].output, out, out_len) == 0) {
                if (line && b->prios[i].line)
                    return lr__error_set_at(LEADROUTE_EPARSE, b->file, line, 1,
                                            "a second priority list for output '%s': the first is on line %u",
                                            b->prios[i].output, b->prios[i].line);
                return lr__error_set(LEADROUTE_EPARSE, "a second priority list for output '%s'",
                                     b->prios[i].output);
            }
        if ((rc = lr__vec_reserve(&b->alloc, (void **)&b->prios, &b->cap_prios, b->nprios + 1, sizeof *b->prios)) != 0)
            return rc;
        /* the list from its first entry: messages quote it and point there */
        const char *list = eq + 1;
        size_t list_len = value_len - (size_t)(eq + 1 - value);
        while (list_len && (*list == ' ' || *list == '\t'))
            list++, list_len--;
        b->prios[b->nprios].output = lr__arena_strndup(&b->arena, out, out_len);
        b->prios[b->nprios].text = lr__arena_strndup(&b->arena, list, list_len);
        b->prios[b->nprios].len = (uint32_t)list_len;
        b->prios[b->nprios].line = line;
        b->prios[b->nprios].list_line = b->prios[b->nprios].col = 0;
        b->prios[b->nprios].output_line = b->prios[b->nprios].output_col = 0;
        if (line) {
            b->prios[b->nprios].list_line =
                lr__directive_pos(value, list, vline, col, quoted, &b->prios[b->nprios].col);
            b->prios[b->nprios].output_line =
                lr__directive_pos(value, out, vline, col, quoted, &b->prios[b->nprios].output_col);
        }
        b->prios[b->nprios].quoted = quoted != 0;
        if (!b->prios[b->nprios].output || !b->prios[b->nprios].text)
            return lr__error_nomem();
        b->nprios++;
        return LEADROUTE_OK;
    }
    snprintf(shown, sizeof shown, "%.*s", (int)lr__utf8_cut(key, key_len, 60), key);
    if (!b->file)
        return lr__error_set(LEADROUTE_EINVAL,
                             "unknown table property '%s': expected hit_policy, aggregation, name, version or priority",
                             shown);
    return lr__error_set_at(LEADROUTE_EPARSE, b->file, line, 1,
                               "unknown directive '%s': expected hit_policy, aggregation, name, version or priority",
                               shown);
}

int leadroute_table_builder_set(leadroute_table_builder *b, const char *key, const char *value)
{
    if (!b || !key || !value)
        return lr__error_set(LEADROUTE_EINVAL, "builder, key and value must not be NULL");
    return lr__builder_set_at(b, key, strlen(key), value, strlen(value), NULL, 0, 0, 0);
}

int lr__builder_add_column(leadroute_table_builder *b, int output, const char *name, size_t len, uint32_t type,
                           uint32_t flags)
{
    lr__column **cols = output ? &b->outputs : &b->inputs;
    uint32_t *n = output ? &b->noutputs : &b->ninputs;
    uint32_t *cap = output ? &b->cap_outputs : &b->cap_inputs;
    const char *kind = output ? "output" : "input", *breaker;
    uint32_t i;
    int rc;

    if (b->nrules)
        return lr__error_set(LEADROUTE_ETABLE, "columns must all be added before the first rule");
    lr__trim(&name, &len);
    if (len == 0 || len > LEADROUTE_MAX_NAME)
        return lr__error_set(LEADROUTE_EINVAL, "%s column name '%.*s%s' must be 1 to %d bytes", kind,
                             (int)lr__utf8_cut(name, len, 60), name, len > 60 ? "..." : "", LEADROUTE_MAX_NAME);
    if (!lr__utf8_valid(name, len))
        return lr__error_set(LEADROUTE_EINVAL, "%s column name is not valid UTF-8", kind);
    /* names go into CSV headers, JSON and one-line messages */
    if ((breaker = lr__text_breaker(name, len)) != NULL)
        return lr__error_set(LEADROUTE_EINVAL, "%s column name '%.*s' holds %s", kind,
                             (int)lr__utf8_cut(name, len, 60), name, breaker);
    if (type < LEADROUTE_TYPE_STRING || type > (output ? LEADROUTE_TYPE_BOOL : LEADROUTE_TYPE_SET))
        return lr__error_set(LEADROUTE_EINVAL, "%s column '%.*s': unknown type %u", kind, (int)len, name, type);
    if (flags & ~LEADROUTE_COLUMN_CASE_INSENSITIVE)
        return lr__error_set(LEADROUTE_EINVAL, "%s column '%.*s': unknown flags 0x%x", kind, (int)len, name, flags);
    if ((flags & LEADROUTE_COLUMN_CASE_INSENSITIVE) &&
        (output || (type != LEADROUTE_TYPE_STRING && type != LEADROUTE_TYPE_SET)))
        return lr__error_set(LEADROUTE_EINVAL, "%s column '%.*s': case-insensitive matching applies to string and "
                             "set input columns only", kind, (int)len, name);
    if (*n >= LEADROUTE_MAX_COLUMNS)
        return lr__error_set(LEADROUTE_ELIMIT, "more than %d %s columns", LEADROUTE_MAX_COLUMNS, kind);
    for (i = 0; i < *n; i++)
        if (strlen((*cols)[i].name) == len && memcmp((*cols)[i].name, name, len) == 0)
            return lr__error_set(LEADROUTE_ETABLE, "%s column '%.*s' appears twice", kind, (int)len, name);
    if ((rc = lr__vec_reserve(&b->alloc, (void **)cols, cap, *n + 1, sizeof **cols)) != 0)
        return rc;
    memset(&(*cols)[*n], 0, sizeof **cols);
    (*cols)[*n].name = lr__arena_strndup(&b->arena, name, len);
    if (!(*cols)[*n].name)
        return lr__error_nomem();
    (*cols)[*n].type = type;
    (*cols)[*n].flags = flags;
    (*n)++;
    return LEADROUTE_OK;
}

int leadroute_table_builder_add_input(leadroute_table_builder *b, const char *name, uint32_t type, uint32_t flags)
{
    if (!b || !name)
        return lr__error_set(LEADROUTE_EINVAL, "builder and name must not be NULL");
    return lr__builder_add_column(b, 0, name, strlen(name), type, flags);
}

int leadroute_table_builder_add_output(leadroute_table_builder *b, const char *name, uint32_t type)
{
    if (!b || !name)
        return lr__error_set(LEADROUTE_EINVAL, "builder and name must not be NULL");
    return lr__builder_add_column(b, 1, name, strlen(name), type, 0);
}

/* A rule's errors point at its id cell, else its first cell (no location for built rules). */
#define LR__RULE_AT(o) (o) ? (o)->file : NULL, (o) ? (o)->line : 0, \
                       !(o) ? 0 : (o)->id_col ? (o)->id_col : (o)->cell_cols ? (o)->cell_cols[0] : 1

static int lr__api_text_check(const char *s, const char *what, const char *rule_id)
{
    size_t n = strnlen(s, LEADROUTE_MAX_STRING + 1);
    if (n > LEADROUTE_MAX_STRING)
        return lr__error_set(LEADROUTE_ELIMIT, "rule '%s': %s is longer than %d bytes", rule_id, what,
                             LEADROUTE_MAX_STRING);
    if (!lr__utf8_valid(s, n))
        return lr__error_set(LEADROUTE_EPARSE, "rule '%s': %s is not valid UTF-8", rule_id, what);
    return LEADROUTE_OK;
}

int lr__builder_add_rule_at(leadroute_table_builder *b, const leadroute_rule *rule, const lr__origin *origin)
{
    char idbuf[24];
    const char *id, *breaker;
    size_t id_len;
    lr__rule r;
    uint32_t i, existing;
    int rc;

    if (!rule)
        return lr__error_set(LEADROUTE_EINVAL, "rule is NULL");
    if (rule->version == 0 || rule->version > LEADROUTE_RULE_VERSION)
        return lr__error_set(LEADROUTE_EVERSION, "leadroute_rule version %u is not supported (1..%u)",
                             rule->version, LEADROUTE_RULE_VERSION);
    if (b->ninputs + b->noutputs == 0)
        return lr__error_set(LEADROUTE_ETABLE, "add input or output columns before rules");
    if (b->nrules >= LEADROUTE_MAX_RULES)
        return lr__error_set_at(LEADROUTE_ELIMIT, LR__RULE_AT(origin), "more than %d rules", LEADROUTE_MAX_RULES);
    if (rule->id) {
        id = rule->id;
        id_len = strlen(id); /* all of it: blanks may stand around the id, and past them more text */
        lr__trim(&id, &id_len);
        if (id_len == 0 || id_len > LEADROUTE_MAX_NAME || !lr__utf8_valid(id, id_len)) {
            snprintf(idbuf, sizeof idbuf, "%u", b->nrules + 1);
            return lr__error_set_at(LEADROUTE_ETABLE, LR__RULE_AT(origin),
                                    "rule %s: the rule id must be 1 to 256 bytes of UTF-8",
                                  idbuf);
        }
        /* ids go into CSV, JSON and one-line messages, as column names do */
        if ((breaker = lr__text_breaker(id, id_len)) != NULL)
            return lr__error_set_at(LEADROUTE_ETABLE, LR__RULE_AT(origin), "rule id '%.*s' holds %s",
                                    (int)id_len, id, breaker);
    } else {
        snprintf(idbuf, sizeof idbuf, "%u", b->nrules + 1);
        id = idbuf;
        id_len = strlen(idbuf);
    }
    {
        char shown[LEADROUTE_MAX_NAME + 1];
        snprintf(shown, sizeof shown, "%.*s", (int)id_len, id);
        if (rule->input_count != b->ninputs || rule->output_count != b->noutputs) {
            char counts[96];
            snprintf(counts, sizeof counts, "%zu input and %zu output cells, the table has %u and %u",
                     rule->input_count, rule->output_count, b->ninputs, b->noutputs);
            return lr__error_set_at(LEADROUTE_ETABLE, LR__RULE_AT(origin),
                                    "rule '%s' has %s", shown, counts);
        }
        if ((rule->input_count && !rule->inputs) || (rule->output_count && !rule->outputs))
            return lr__error_set(LEADROUTE_EINVAL, "rule '%s': inputs or outputs is NULL", shown);
        if (lr__keymap_get(&b->ids, id, id_len, &existing)) {
            char first[64];
            if (b->rules[existing].line)
                snprintf(first, sizeof first, " (first on line %u)", b->rules[existing].line);
            else
                snprintf(first, sizeof first, " (rule %u)", existing + 1);
            return lr__error_set_at(LEADROUTE_ETABLE, LR__RULE_AT(origin),
                                    "duplicate rule id '%s'%s", shown, first);
        }

        memset(&r, 0, sizeof r);
        r.line = origin ? origin->line : 0;
        r.id = lr__arena_strndup(&b->arena, id, id_len);
        r.cells = lr__arena_zalloc(&b->arena, sizeof *r.cells * (b->ninputs ? b->ninputs : 1));
        r.outputs = lr__arena_zalloc(&b->arena, sizeof *r.outputs * (b->noutputs ? b->noutputs : 1));
        if (!r.id || !r.cells || !r.outputs)
            return lr__error_nomem();
        for (i = 0; i < b->ninputs + b->noutputs; i++) {
            int out = i >= b->ninputs;
            const lr__column *col = out ? &b->outputs[i - b->ninputs] : &b->inputs[i];
            const char *text = out ? rule->outputs[i - b->ninputs] : rule->inputs[i];
            lr__cell_ctx ctx;
            ctx.origin = origin;
            ctx.cell = i;
            ctx.column = col->name;
            ctx.type = col->type;
            ctx.flags = col->flags;
            ctx.rule_id = shown;
            if (!text)
                text = "";
            if (!(origin && origin->file) && (rc = lr__api_text_check(text, col->name, shown)) != 0)
                return rc;
            if (out)
                rc = lr__output_parse(&b->arena, &ctx, text, strlen(text), &r.outputs[i - b->ninputs]);
            else
                rc = lr__cell_parse(&b->arena, &ctx, text, strlen(text), &r.cells[i]);
            if (rc)
                return rc;
        }
    }
    if ((rc = lr__vec_reserve(&b->alloc, (void **)&b->rules, &b->cap_rules, b->nrules + 1, sizeof *b->rules)) != 0)
        return rc;
    if ((rc = lr__keymap_put(&b->ids, &b->alloc, r.id, (uint32_t)id_len, b->nrules, &existing)) != 0)
        return rc;
    b->rules[b->nrules++] = r;
    return LEADROUTE_OK;
}

int leadroute_table_builder_add_rule(leadroute_table_builder *b, const leadroute_rule *rule)
{
    if (!b)
        return lr__error_set(LEADROUTE_EINVAL, "builder is NULL");
    return lr__builder_add_rule_at(b, rule, NULL);
}

int leadroute_table_builder_build(leadroute_table **out, leadroute_table_builder *b)
{
    if (out)
        *out = NULL;
    if (!out || !b)
        return lr__error_set(LEADROUTE_EINVAL, "out and builder must not be NULL");
    return lr__table_compile(out, b);
}
