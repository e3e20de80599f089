/* Helpers shared by the unit tests: leads built field by field, tables from text. */
#ifndef LEADROUTE_TESTUTIL_H
#define LEADROUTE_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "leadroute/leadroute.h"

#define TL_MAX 32
typedef struct tlead {
    leadroute_field f[TL_MAX];
    leadroute_lead lead;
} tlead;

void tl_init(tlead *l);
leadroute_value *tl_add(tlead *l, const char *name);
void tl_str(tlead *l, const char *name, const char *s);
void tl_num(tlead *l, const char *name, double d);
void tl_bool(tlead *l, const char *name, int b);
void tl_null(tlead *l, const char *name);
void tl_set(tlead *l, const char *name, const char *const *items, size_t n);

/* Parse text that must succeed (fails the test otherwise). */
leadroute_table *parse_opts(const char *text, const leadroute_table_options *o);
leadroute_table *parse_ok(const char *text);

/* Parse text that must fail; returns the code and checks nothing was made. */
int parse_rc(const char *text);

/* Evaluate and return the hit rule ids joined by ',' ("" for no hit).
 * The string lives in one static buffer, valid until the next call. */
const char *hits(const leadroute_table *t, const tlead *l);

/* Evaluate and return only the status code. */
int eval_rc(const leadroute_table *t, const tlead *l);

/* A seeded xorshift64 generator: the same sequence on every run. */
static inline uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* Fail unless the last error message contains `needle`. */
void expect_message_has(const char *needle);

/* The example table of docs/table-format.md. */
#define DOC_EXAMPLE \
    "#! name: inbound routing\n" \
    "#! version: 2026-11\n" \
    "#! hit_policy: first\n" \
    "rule,region,country,postal,industry,employees:number,score:number,language,out:pool,out:sla_minutes:number\n" \
    "vip,-,-,-,-,-,>=90,-,inbound-aces,5\n" \
    "ent-emea,EMEA,-,-,-,>=1000,-,-,emea-enterprise,60\n" \
    "dach-smb,EMEA,\"DE, AT, CH\",-,-,<1000,-,de,dach-smb,120\n" \
    "us-west,NA,US,\"94*, 95*, 98*\",\"software, fintech\",[50..1000),-,-,us-west,120\n" \
    "catch-all,-,-,-,-,-,-,-,nurture,1440\n"

#endif
