/*
 * fuzz_leads: any bytes as leads.
 *
 * First byte even: the rest is a leads CSV, read with and without a table;
 * odd: the rest describes leadroute_lead structs field by field (names,
 * types, raw string bytes including invalid UTF-8 and oversized strings,
 * raw double bits including NaN and infinities, sets). Every lead is
 * validated, evaluated by the compiled index and by the reference (which
 * must agree) and routed
 * through a fixed roster. Errors are fine; crashes, leaks and disagreement
 * are not.
 * SPDX-License-Identifier: MIT
 */
#include "fuzz_common.h"
#include "fuzz_targets_data.h"
#include "router/account.h"

#define MAX_LEADS 48
#define MAX_FIELDS 24
#define EXPLAIN_CAP 8192

typedef struct fixture {
    leadroute_table *table;
    leadroute_roster *roster;
    leadroute_result *compiled, *reference;
    leadroute_decision *decision;
} fixture;

static int64_t fixed_clock(void *user_data)
{
    int64_t *now = user_data;
    return *now += 1000;
}

static fixture *fixture_get(void)
{
    static fixture f;
    if (f.table)
        return &f;
    if (leadroute_table_parse(&f.table, fuzz_table_main, strlen(fuzz_table_main), "main.csv", NULL) ||
        leadroute_roster_parse(&f.roster, fuzz_roster_main, strlen(fuzz_roster_main), "roster.csv", NULL) ||
        leadroute_result_new(&f.compiled, f.table, NULL) || leadroute_result_new(&f.reference, f.table, NULL) ||
        leadroute_decision_new(&f.decision, NULL))
        fuzz_fail("fixture: %s", leadroute_error_last()->message);
    return &f;
}

static void check_decision(leadroute_decision *d, const leadroute_roster *roster, int rc)
{
    static char buf[EXPLAIN_CAP];
    uint32_t status = leadroute_decision_status(d);
    if (rc == LEADROUTE_OK)
        FUZZ_CHECK(status >= LEADROUTE_ROUTE_ASSIGNED && status <= LEADROUTE_ROUTE_UNASSIGNED,
                   "route OK with status %u", status);
    else
        FUZZ_CHECK(status == LEADROUTE_ROUTE_UNROUTED, "route failed (%d) with status %u", rc, status);
    if (status == LEADROUTE_ROUTE_ASSIGNED || status == LEADROUTE_ROUTE_EXISTING) {
        const char *rep = leadroute_decision_rep(d);
        FUZZ_CHECK(rep != NULL, "status %u without a rep", status);
        int known = 0;
        for (size_t i = 0; i < leadroute_roster_rep_count(roster); i++)
            known |= strcmp(leadroute_roster_rep_id(roster, i), rep) == 0;
        FUZZ_CHECK(known, "lead given to %s, who is not in the roster", rep);
    }
    FUZZ_CHECK(leadroute_decision_reason(d) != NULL, "decision without a reason");
    for (int format = LEADROUTE_EXPLAIN_TEXT; format <= LEADROUTE_EXPLAIN_JSON; format++) {
        size_t needed = 0, again = 0;
        FUZZ_CHECK(leadroute_decision_explain(d, format, buf, sizeof buf, &needed) == LEADROUTE_OK,
                   "explain failed");
        /* all of it when it fits; else cut before a character it would
         * split (at most 3 bytes short of the room), still valid UTF-8 */
        size_t wrote = strlen(buf);
        FUZZ_CHECK(needed < sizeof buf ? wrote == needed : wrote <= sizeof buf - 1 && wrote + 3 >= sizeof buf - 1,
                   "explain wrote %zu bytes, said %zu", wrote, needed);
        FUZZ_CHECK(leadroute_utf8_valid(buf, wrote), "explain wrote text that is not UTF-8");
        /* a short buffer holds the same text, cut the same way */
        char small[17];
        size_t short_len;
        FUZZ_CHECK(leadroute_decision_explain(d, format, small, sizeof small, &again) == LEADROUTE_OK &&
                       again == needed,
                   "explain into a small buffer failed or sized it otherwise");
        short_len = strlen(small);
        FUZZ_CHECK(strncmp(small, buf, short_len) == 0 && leadroute_utf8_valid(small, short_len) &&
                       (needed < sizeof small ? short_len == needed : short_len + 3 >= sizeof small - 1),
                   "explain into a small buffer differs");
    }
}

/* Account keys of every string: a NUL-terminated domain of the length
 * returned, and an ASCII one is its own account key. */
static void check_account_domains(const leadroute_lead *lead)
{
    for (size_t i = 0; i < lead->field_count && lead->fields; i++) {
        const leadroute_value *v = &lead->fields[i].value;
        char dom[LR_ACCOUNT_DOMAIN_CAP], again[LR_ACCOUNT_DOMAIN_CAP];
        size_t n, ascii = 1;
        if (v->type != LEADROUTE_VALUE_STRING || !v->string)
            continue;
        if ((n = lr__account_domain(v->string, dom)) == 0)
            continue;
        FUZZ_CHECK(n < sizeof dom && strlen(dom) == n, "account domain of %zu bytes, said %zu", strlen(dom), n);
        for (size_t k = 0; k < n; k++)
            ascii &= (unsigned char)dom[k] < 0x80;
        FUZZ_CHECK(!ascii || (lr__account_domain(dom, again) == n && strcmp(again, dom) == 0),
                   "account domain %s is not its own", dom);
    }
}

static void run_lead(fixture *f, leadroute_router *router, const leadroute_lead *lead, uint32_t flags)
{
    check_account_domains(lead);
    /* validation knows no column types: a valid lead may still be ELEAD to
     * the table (text in a number column), so only its own contract holds */
    int valid = leadroute_lead_validate(lead);
    FUZZ_CHECK(valid == LEADROUTE_OK || valid == LEADROUTE_ELEAD || valid == LEADROUTE_EVERSION ||
                   valid == LEADROUTE_EINVAL,
               "validate returned %d", valid);
    fuzz_eval_both(f->table, lead, f->compiled, f->reference);
    int rc = leadroute_route(router, lead, flags, f->decision);
    check_decision(f->decision, f->roster, rc);
}

static void fuzz_csv(fixture *f, leadroute_router *router, const uint8_t *data, size_t size, uint32_t flags)
{
    for (int with_table = 0; with_table < 2; with_table++) {
        leadroute_leads *leads = NULL;
        int rc = leadroute_leads_parse(&leads, (const char *)data, size, "leads.csv",
                                       with_table ? f->table : NULL, NULL);
        FUZZ_CHECK((rc == LEADROUTE_OK) == (leads != NULL), "leads_parse returned %d with object %p", rc,
                   (void *)leads);
        if (!leads)
            continue;
        size_t n = leadroute_leads_count(leads);
        FUZZ_CHECK(leadroute_leads_get(leads, n) == NULL, "lead past the end");
        for (size_t i = 0; i < leadroute_leads_error_count(leads); i++)
            FUZZ_CHECK(leadroute_leads_error(leads, i) != NULL && leadroute_leads_error_line(leads, i) > 0,
                       "skipped row %zu without message or line", i);
        for (size_t i = 0; i < n && i < MAX_LEADS; i++) {
            const leadroute_lead *lead = leadroute_leads_get(leads, i);
            FUZZ_CHECK(lead && lead->id && leadroute_leads_line(leads, i) > 0, "lead %zu incomplete", i);
            /* the reader promises valid leads: it skips the rows that are not */
            FUZZ_CHECK(leadroute_lead_validate(lead) == LEADROUTE_OK, "reader gave an invalid lead %zu: %s", i,
                       leadroute_error_last()->message);
            run_lead(f, router, lead, flags);
        }
        leadroute_leads_free(leads);
    }
}

/* Field names the table and roster read, and a few others. */
static const char *const field_names[] = {
    "region", "country", "postal", "score", "employees", "vip", "products", "language",
    "deal_value", "email", "captured_at", "id", "", "region",
};

typedef struct lead_buf {
    leadroute_field fields[MAX_FIELDS];
    char names[MAX_FIELDS][LEADROUTE_MAX_NAME + 8];
    char *strings[MAX_FIELDS];
    const char *items[MAX_FIELDS][LEADROUTE_MAX_SET_ITEMS + 8]; /* up to 5 past the limit */
    char *item_text[MAX_FIELDS];
    char id[64];
} lead_buf;

/* A string of raw input bytes (at most `cap`, NUL stops it), sometimes
 * repeated past LEADROUTE_MAX_STRING. */
static char *raw_string(fuzz_bytes *b)
{
    uint8_t len = fuzz_u8(b);
    size_t n = len < 250 ? len % 32 : (size_t)LEADROUTE_MAX_STRING - 2 + (len - 250);
    char *s = malloc(n + 1);
    if (!s)
        fuzz_fail("out of memory");
    size_t seed = b->pos;
    for (size_t i = 0; i < n; i++)
        s[i] = (char)(i < 32 ? fuzz_u8(b) : (uint8_t)('a' + (seed + i) % 26));
    s[n] = 0;
    return s;
}

static void fuzz_structs(fixture *f, leadroute_router *router, const uint8_t *data, size_t size, uint32_t flags)
{
    static lead_buf lb;
    fuzz_bytes b = { data, size, 0 };
    for (int leads = 0; leads < MAX_LEADS && fuzz_more(&b); leads++) {
        size_t n = fuzz_u8(&b) % (MAX_FIELDS + 1);
        for (size_t i = 0; i < n; i++) {
            leadroute_field *fl = &lb.fields[i];
            leadroute_value v = LEADROUTE_VALUE_INIT;
            lb.strings[i] = lb.item_text[i] = NULL;
            uint8_t name = fuzz_u8(&b);
            if (name < 200) {
                fl->name = field_names[name % (sizeof field_names / sizeof *field_names)];
            } else {
                char *s = raw_string(&b);
                snprintf(lb.names[i], sizeof lb.names[i], "%s", s);
                free(s);
                fl->name = lb.names[i];
            }
            uint8_t kind = fuzz_u8(&b);
            v.type = kind % 6; /* 5: an unknown type */
            if (kind >= 240)
                v.version = kind - 240; /* 0 and future versions */
            switch (v.type) {
            case LEADROUTE_VALUE_STRING:
                if (kind & 0x80) {
                    v.string = NULL;
                } else {
                    lb.strings[i] = raw_string(&b);
                    v.string = lb.strings[i];
                }
                break;
            case LEADROUTE_VALUE_NUMBER:
                v.number = kind & 0x40 ? (double)(int8_t)fuzz_u8(&b) : fuzz_double_bits(&b);
                break;
            case LEADROUTE_VALUE_BOOL:
                v.boolean = (int8_t)fuzz_u8(&b);
                break;
            case LEADROUTE_VALUE_SET: {
                uint8_t k = fuzz_u8(&b);
                size_t count = k < 250 ? k % 6 : (size_t)LEADROUTE_MAX_SET_ITEMS - 2 + (k - 250);
                lb.item_text[i] = raw_string(&b);
                /* items: the string, its tail, or NULL */
                size_t tail = lb.item_text[i][0] ? 1 : 0;
                for (size_t j = 0; j < count; j++)
                    lb.items[i][j] = j % 3 == 2 && (k & 1) ? NULL : lb.item_text[i] + (j % 2) * tail;
                v.items = count || !(k & 0x10) ? lb.items[i] : NULL;
                v.item_count = count;
                break;
            }
            default:
                break;
            }
            fl->value = v;
        }
        leadroute_lead lead = LEADROUTE_LEAD_INIT;
        uint8_t id = fuzz_u8(&b);
        snprintf(lb.id, sizeof lb.id, "L%u", id % 16);
        lead.id = id >= 250 ? NULL : lb.id;
        lead.fields = n ? lb.fields : NULL;
        lead.field_count = n;
        run_lead(f, router, &lead, flags);
        for (size_t i = 0; i < n; i++) {
            free(lb.strings[i]);
            free(lb.item_text[i]);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    fixture *f = fixture_get();
    leadroute_router *router = NULL;
    int64_t now = 1772357400000;
    leadroute_clock clock = { LEADROUTE_CLOCK_VERSION, fixed_clock };
    if (leadroute_router_new(&router, f->table, f->roster, NULL) ||
        leadroute_router_set_clock(router, &clock, &now))
        fuzz_fail("router: %s", leadroute_error_last()->message);
    uint32_t flags = (data[0] >> 1) & (LEADROUTE_ROUTE_TRACE | LEADROUTE_ROUTE_REASSIGN | LEADROUTE_ROUTE_DRY_RUN);
    if (data[0] & 1)
        fuzz_structs(f, router, data + 1, size - 1, flags);
    else
        fuzz_csv(f, router, data + 1, size - 1, flags);
    /* whatever was assigned, ticking far ahead must hold */
    leadroute_tick_stats stats = LEADROUTE_TICK_STATS_INIT;
    if (leadroute_router_tick(router, now + 86400000, NULL, NULL, &stats) == LEADROUTE_OK)
        FUZZ_CHECK(stats.due == stats.reassigned + stats.escalated + stats.kept + stats.raced,
                   "tick: %llu due but %llu handled", (unsigned long long)stats.due,
                   (unsigned long long)(stats.reassigned + stats.escalated + stats.kept + stats.raced));
    leadroute_router_free(router);
    return 0;
}
