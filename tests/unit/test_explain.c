/* Explain: the text and JSON renderings of decisions built by hand (every
 * status, way of picking, verdict, absent field, awkward string and number),
 * exact lengths and truncation at every capacity, JSON checked by a strict
 * syntax checker, an end-to-end trace through the public API, a traced pool
 * state longer than a decision keeps, and numbers under a host locale with a
 * decimal comma. */
#include <float.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "leadroute/leadroute.h"
#include "router/internal.h"
#include "testutil.h"

/* ---- a strict JSON checker (RFC 8259) ------------------------------------ */

/* Written here rather than borrowed from the code under test, so an escaping
 * bug cannot hide behind the same bug in the checker. */
typedef struct jcur {
    const char *s, *end;
    int depth;
} jcur;

static int j_value(jcur *c);

static void j_ws(jcur *c)
{
    while (c->s < c->end && (*c->s == ' ' || *c->s == '\t' || *c->s == '\n' || *c->s == '\r'))
        c->s++;
}

static int j_digit(const jcur *c, const char *s)
{
    return s < c->end && *s >= '0' && *s <= '9';
}

static int j_hex4(const char *s, const char *end, unsigned *out)
{
    unsigned v = 0;
    int i;
    if (end - s < 4)
        return 0;
    for (i = 0; i < 4; i++) {
        char ch = s[i];
        v <<= 4;
        if (ch >= '0' && ch <= '9')
            v |= (unsigned)(ch - '0');
        else if (ch >= 'a' && ch <= 'f')
            v |= (unsigned)(ch - 'a' + 10);
        else if (ch >= 'A' && ch <= 'F')
            v |= (unsigned)(ch - 'A' + 10);
        else
            return 0;
    }
    *out = v;
    return 1;
}

/* Length of one well-formed UTF-8 sequence (no overlong forms, no
 * surrogates, nothing above U+10FFFF), 0 if there is none at `s`. */
static size_t j_utf8(const unsigned char *s, const unsigned char *end)
{
    static const unsigned least[5] = { 0, 0, 0x80, 0x800, 0x10000 };
    unsigned cp;
    size_t n, i;
    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xe0) == 0xc0)
        n = 2, cp = s[0] & 0x1fu;
    else if ((s[0] & 0xf0) == 0xe0)
        n = 3, cp = s[0] & 0x0fu;
    else if ((s[0] & 0xf8) == 0xf0)
        n = 4, cp = s[0] & 0x07u;
    else
        return 0;
    if ((size_t)(end - s) < n)
        return 0;
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3fu);
    }
    if (cp < least[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

static int j_string(jcur *c)
{
    if (c->s >= c->end || *c->s != '"')
        return 0;
    c->s++;
    while (c->s < c->end) {
        unsigned char ch = (unsigned char)*c->s;
        size_t n;
        if (ch == '"') {
            c->s++;
            return 1;
        }
        if (ch < 0x20)
            return 0;
        if (ch == '\\') {
            unsigned u, lo;
            if (++c->s >= c->end)
                return 0;
            switch (*c->s) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
                c->s++;
                continue;
            case 'u':
                if (!j_hex4(c->s + 1, c->end, &u))
                    return 0;
                c->s += 5;
                if (u >= 0xdc00 && u <= 0xdfff)
                    return 0;  /* a low surrogate alone */
                if (u >= 0xd800 && u <= 0xdbff) {
                    if (c->end - c->s < 6 || c->s[0] != '\\' || c->s[1] != 'u' || !j_hex4(c->s + 2, c->end, &lo) ||
                        lo < 0xdc00 || lo > 0xdfff)
                        return 0;
                    c->s += 6;
                }
                continue;
            default:
                return 0;
            }
        }
        if ((n = j_utf8((const unsigned char *)c->s, (const unsigned char *)c->end)) == 0)
            return 0;
        c->s += n;
    }
    return 0;
}

static int j_number(jcur *c)
{
    const char *s = c->s;
    if (s < c->end && *s == '-')
        s++;
    if (s < c->end && *s == '0')
        s++;
    else if (s < c->end && *s >= '1' && *s <= '9')
        while (j_digit(c, s))
            s++;
    else
        return 0;
    if (s < c->end && *s == '.') {
        if (!j_digit(c, ++s))
            return 0;
        while (j_digit(c, s))
            s++;
    }
    if (s < c->end && (*s == 'e' || *s == 'E')) {
        s++;
        if (s < c->end && (*s == '+' || *s == '-'))
            s++;
        if (!j_digit(c, s))
            return 0;
        while (j_digit(c, s))
            s++;
    }
    c->s = s;
    return 1;
}

static int j_word(jcur *c, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(c->end - c->s) < n || memcmp(c->s, w, n) != 0)
        return 0;
    c->s += n;
    return 1;
}

/* Members or elements after the opening bracket; no trailing comma. */
static int j_container(jcur *c, char close, int members)
{
    c->s++;
    j_ws(c);
    if (c->s < c->end && *c->s == close) {
        c->s++;
        return 1;
    }
    for (;;) {
        if (members) {
            j_ws(c);
            if (!j_string(c))
                return 0;
            j_ws(c);
            if (c->s >= c->end || *c->s != ':')
                return 0;
            c->s++;
        }
        if (!j_value(c))
            return 0;
        if (c->s < c->end && *c->s == ',') {
            c->s++;
            continue;
        }
        if (c->s < c->end && *c->s == close) {
            c->s++;
            return 1;
        }
        return 0;
    }
}

static int j_value(jcur *c)
{
    int ok;
    j_ws(c);
    if (c->s >= c->end || c->depth > 64)
        return 0;
    c->depth++;
    switch (*c->s) {
    case '{': ok = j_container(c, '}', 1); break;
    case '[': ok = j_container(c, ']', 0); break;
    case '"': ok = j_string(c); break;
    case 't': ok = j_word(c, "true"); break;
    case 'f': ok = j_word(c, "false"); break;
    case 'n': ok = j_word(c, "null"); break;
    default: ok = j_number(c); break;
    }
    c->depth--;
    j_ws(c);
    return ok;
}

/* 1 if s[0..n) is exactly one JSON value. */
static int json_valid_n(const char *s, size_t n)
{
    jcur c = { s, s + n, 0 };
    return j_value(&c) && c.s == c.end;
}

static int json_valid(const char *s)
{
    return json_valid_n(s, strlen(s));
}

/* ---- reading checked JSON --------------------------------------------------- */

/* The value of member `key` of the object at `obj`, NULL if absent. */
static const char *json_member(const char *obj, const char *key)
{
    jcur c = { obj, obj + strlen(obj), 0 };
    size_t klen = strlen(key);
    if (*c.s != '{')
        return NULL;
    c.s++;
    for (;;) {
        const char *k;
        j_ws(&c);
        if (c.s >= c.end || *c.s != '"')
            return NULL;
        k = c.s;
        if (!j_string(&c))
            return NULL;
        j_ws(&c);
        c.s++;  /* ':' */
        j_ws(&c);
        if ((size_t)(c.s - k) >= klen + 2 && memcmp(k + 1, key, klen) == 0 && k[klen + 1] == '"')
            return c.s;
        if (!j_value(&c) || c.s >= c.end || *c.s != ',')
            return NULL;
        c.s++;
    }
}

/* Element `index` of the array at `arr`, NULL if out of range. */
static const char *json_element(const char *arr, size_t index)
{
    jcur c = { arr, arr + strlen(arr), 0 };
    if (*c.s != '[')
        return NULL;
    c.s++;
    j_ws(&c);
    if (c.s < c.end && *c.s == ']')
        return NULL;
    for (;;) {
        j_ws(&c);
        if (index-- == 0)
            return c.s;
        if (!j_value(&c) || c.s >= c.end || *c.s != ',')
            return NULL;
        c.s++;
    }
}

static size_t json_length(const char *arr)
{
    size_t n = 0;
    while (json_element(arr, n))
        n++;
    return n;
}

/* The keys of the object at `obj` joined by ','. Caller frees. */
static char *json_keys(const char *obj)
{
    jcur c = { obj, obj + strlen(obj), 0 };
    char *out = calloc(1, strlen(obj) + 1);
    size_t len = 0;
    assert_non_null(out);
    assert_int_equal(*c.s, '{');
    c.s++;
    j_ws(&c);
    if (*c.s == '}')
        return out;
    for (;;) {
        const char *k;
        j_ws(&c);
        k = c.s;
        assert_true(j_string(&c));
        if (len)
            out[len++] = ',';
        memcpy(out + len, k + 1, (size_t)(c.s - k - 2));
        len += (size_t)(c.s - k - 2);
        j_ws(&c);
        c.s++;
        assert_true(j_value(&c));
        if (*c.s != ',')
            return out;
        c.s++;
    }
}

static void put_utf8(char **o, unsigned cp)
{
    unsigned char *p = (unsigned char *)*o;
    if (cp < 0x80) {
        *p++ = (unsigned char)cp;
    } else if (cp < 0x800) {
        *p++ = (unsigned char)(0xc0 | cp >> 6);
        *p++ = (unsigned char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *p++ = (unsigned char)(0xe0 | cp >> 12);
        *p++ = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        *p++ = (unsigned char)(0x80 | (cp & 0x3f));
    } else {
        *p++ = (unsigned char)(0xf0 | cp >> 18);
        *p++ = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
        *p++ = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        *p++ = (unsigned char)(0x80 | (cp & 0x3f));
    }
    *o = (char *)p;
}

/* The string at `at` decoded to UTF-8. Caller frees. */
static char *json_decode(const char *at)
{
    char *out = malloc(strlen(at) + 1), *o = out;
    const char *s = at + 1;
    assert_non_null(out);
    assert_int_equal(*at, '"');
    while (*s != '"') {
        unsigned u, lo;
        assert_true(*s != '\0');
        if (*s != '\\') {
            *o++ = *s++;
            continue;
        }
        s++;
        switch (*s++) {
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u':
            assert_true(j_hex4(s, s + 4, &u));
            s += 4;
            if (u >= 0xd800 && u <= 0xdbff) {
                assert_true(j_hex4(s + 2, s + 6, &lo));
                s += 6;
                u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
            }
            put_utf8(&o, u);
            break;
        default: *o++ = s[-1]; break;  /* '"', '\\', '/' */
        }
    }
    *o = '\0';
    return out;
}

static void assert_json_string(const char *json, const char *key, const char *want)
{
    const char *v = json_member(json, key);
    char *got;
    if (!v)
        fail_msg("no key '%s' in %s", key, json);
    if (!want) {
        if (strncmp(v, "null", 4) != 0)
            fail_msg("'%s' should be null in %s", key, json);
        return;
    }
    if (*v != '"')
        fail_msg("'%s' should be a string in %s", key, json);
    got = json_decode(v);
    if (strcmp(got, want) != 0)
        fail_msg("'%s' is \"%s\", expected \"%s\"", key, got, want);
    free(got);
}

/* The raw text of member `key` (a number or literal), copied to `out`. */
static const char *json_raw(const char *json, const char *key, char *out, size_t cap)
{
    const char *v = json_member(json, key);
    size_t n = 0;
    if (!v)
        fail_msg("no key '%s' in %s", key, json);
    while (v[n] && v[n] != ',' && v[n] != '}' && v[n] != ']' && n + 1 < cap)
        n++;
    memcpy(out, v, n);
    out[n] = '\0';
    return out;
}

/* A comma between digits outside strings, as a decimal comma would leave
 * ("jain":0,333); the reports have no arrays of numbers. */
static int has_decimal_comma(const char *json)
{
    const char *p;
    int in_string = 0;
    for (p = json; *p; p++) {
        if (in_string) {
            if (*p == '\\' && p[1])
                p++;
            else if (*p == '"')
                in_string = 0;
        } else if (*p == '"') {
            in_string = 1;
        } else if (*p == ',' && p > json && p[-1] >= '0' && p[-1] <= '9' && p[1] >= '0' && p[1] <= '9') {
            return 1;
        }
    }
    return 0;
}

static void test_json_checker(void **state)
{
    static const char *const good[] = {
        "{}", "[]", "0", "-0", "\"\"", "null", " true ", "\"\x7f\"",
        "{\"a\":[1,-0.5,2e10,1E-3,1e+2,true,false,null,\"x\\u00e9\\n\\/\\\"\\\\\\b\\f\\r\\t\"]}",
        " {\"a\" : { \"b\" : [ ] } }\n", "\"\\ud83d\\ude00\"", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"",
    };
    static const char *const bad[] = {
        "", " ", "{,}", "{\"a\":1,}", "[1,]", "[1 2]", "{\"a\" 1}", "{'a':1}", "{\"a\":NaN}", "{\"a\":nan}",
        "[Infinity]", "[-Infinity]", "[inf]", "[01]", "[1.]", "[.5]", "[1e]", "[+1]", "[-]", "[0x10]",
        "\"a\tb\"", "\"a\nb\"", "\"\x01\"", "\"\\x41\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"",
        "\"\\ud800\\u0041\"", "\"unterminated", "{\"a\":1}}", "{\"a\":1} x", "[tru]", "[nul]", "[\"\xff\"]",
        "[\"\xc0\xaf\"]", "[\"\xed\xa0\x80\"]", "[\"\xe2\x82\"]", "[\"\xf4\x90\x80\x80\"]", "{\"a\":1,,\"b\":2}",
        "[1,,2]", "{\"a\":0,5}", "{\"a\":undefined}", "{\"a\"}", "{1:2}", "[\"a\",]", "{\"a\":1 \"b\":2}",
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof good / sizeof good[0]; i++)
        if (!json_valid(good[i]))
            fail_msg("valid JSON rejected: %s", good[i]);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (json_valid(bad[i]))
            fail_msg("invalid JSON accepted: %s", bad[i]);
    /* an embedded NUL is not JSON */
    assert_false(json_valid_n("[1]\0", 4));
    /* nesting bounded, not a stack overflow */
    {
        char deep[400];
        memset(deep, '[', 200);
        memset(deep + 200, ']', 200);
        assert_false(json_valid_n(deep, 400));
        assert_true(json_valid_n(deep + 150, 100));
    }
    /* the readers */
    {
        const char *doc = "{\"a\":1,\"bb\":[\"x\",{\"k\":\"\\u00e9\\ud83d\\ude00\\n\"}],\"b\":null}";
        char raw[16], *keys = json_keys(doc), *s;
        assert_string_equal(keys, "a,bb,b");
        free(keys);
        assert_string_equal(json_raw(doc, "a", raw, sizeof raw), "1");
        assert_int_equal(json_length(json_member(doc, "bb")), 2);
        assert_null(json_member(doc, "c"));
        assert_null(json_member(doc, "bb\""));
        s = json_decode(json_member(json_element(json_member(doc, "bb"), 1), "k"));
        assert_string_equal(s, "\xc3\xa9\xf0\x9f\x98\x80\n");
        free(s);
        assert_json_string(doc, "b", NULL);
    }
    assert_true(has_decimal_comma("{\"a\":0,5}"));
    assert_false(has_decimal_comma("{\"a\":0,\"b\":1}"));
    assert_false(has_decimal_comma("{\"a\":\"1,2\\\"3,4\"}"));
}

/* ---- decisions by hand ------------------------------------------------------- */

static leadroute_decision *dnew(void)
{
    leadroute_decision *d = NULL;
    assert_int_equal(leadroute_decision_new(&d, NULL), LEADROUTE_OK);
    assert_non_null(d);
    return d;
}

/* A string of the decision; NULL = absent. */
static uint32_t S(leadroute_decision *d, const char *s)
{
    uint32_t off;
    if (!s)
        return LR_NONE;
    off = lr__decision_str(d, s);
    assert_true(off < LR_LAZY);
    return off;
}

static void add_cand(leadroute_decision *d, const char *rep, const char *pool, uint32_t verdict, const char *detail)
{
    lr__candidate *c;
    assert_int_equal(lr__vec_reserve(&d->alloc, (void **)&d->cands, &d->cap_cands, d->ncands + 1, sizeof *d->cands),
                     LEADROUTE_OK);
    c = &d->cands[d->ncands++];
    c->rep_id = S(d, rep);
    c->pool_id = S(d, pool);
    c->verdict = verdict;
    c->detail = S(d, detail);
}

static void add_pool(leadroute_decision *d, const char *pool)
{
    assert_int_equal(lr__vec_reserve(&d->alloc, (void **)&d->chain, &d->cap_chain, d->nchain + 1, sizeof *d->chain),
                     LEADROUTE_OK);
    d->chain[d->nchain++] = S(d, pool);
}

/* ---- rendering and the checks every rendering gets ---------------------------- */

#define GUARD 16
#define GUARD_BYTE 0x5a

typedef int (*render_fn)(const void *obj, int format, char *buf, size_t cap, size_t *needed);

static int render_decision(const void *obj, int format, char *buf, size_t cap, size_t *needed)
{
    return leadroute_decision_explain(obj, format, buf, cap, needed);
}

static int render_metrics(const void *obj, int format, char *buf, size_t cap, size_t *needed)
{
    (void)format;
    return leadroute_router_metrics_json((leadroute_router *)obj, buf, cap, needed);
}

/* Full rendering, sized by a first call without a buffer. Caller frees. */
static char *render(render_fn fn, const void *obj, int format)
{
    size_t need = 12345, got = 54321;
    char *buf;
    assert_int_equal(fn(obj, format, NULL, 0, &need), LEADROUTE_OK);
    buf = malloc(need + 1);
    assert_non_null(buf);
    assert_int_equal(fn(obj, format, buf, need + 1, &got), LEADROUTE_OK);
    assert_int_equal(got, need);
    assert_int_equal(strlen(buf), need);
    return buf;
}

/* Every capacity from 0 to the full length + 2: the same `needed`, a
 * NUL-terminated prefix of the full output cut on a character boundary (the
 * longest that fits), nothing written at or past `cap`. */
static void check_truncation(render_fn fn, const void *obj, int format)
{
    char *full = render(fn, obj, format), *buf;
    size_t len = strlen(full), cap, i;

    buf = malloc(len + 3 + GUARD);
    assert_non_null(buf);
    for (cap = 0; cap <= len + 2; cap++) {
        size_t needed = 999999, wrote = cap == 0 ? 0 : (cap - 1 < len ? cap - 1 : len);
        while (wrote > 0 && wrote < len && ((unsigned char)full[wrote] & 0xc0) == 0x80)
            wrote--;
        memset(buf, GUARD_BYTE, len + 3 + GUARD);
        assert_int_equal(fn(obj, format, buf, cap, &needed), LEADROUTE_OK);
        if (needed != len)
            fail_msg("format %d, cap %zu: needed %zu, full length %zu", format, cap, needed, len);
        if (cap > 0) {
            if (memcmp(buf, full, wrote) != 0 || buf[wrote] != '\0')
                fail_msg("format %d, cap %zu: not a NUL-terminated prefix", format, cap);
        }
        for (i = cap; i < cap + GUARD; i++)
            if ((unsigned char)buf[i] != GUARD_BYTE)
                fail_msg("format %d, cap %zu: byte %zu written past the capacity", format, cap, i);
        /* `needed` may be NULL */
        assert_int_equal(fn(obj, format, buf, cap, NULL), LEADROUTE_OK);
    }
    free(buf);
    free(full);
}

/* The text and the JSON of a decision, after the checks that hold for every
 * decision: exact lengths, truncation, one line of valid JSON with every key
 * in order, text lines ending in '\n'. Caller frees both. */
static const char *const json_keys_expected =
    "status,lead_id,key,rep,pool,queue,rule,rule_line,label,tags,sla_minutes,table_version,at_ms,notified,"
    "dry_run,how,strategy,previous,pools,state_before,state_after,candidates,reason";

static void explain_both(const leadroute_decision *d, char **text, char **json)
{
    size_t i, n;
    char *keys;
    const char *cands;

    *text = render(render_decision, d, LEADROUTE_EXPLAIN_TEXT);
    *json = render(render_decision, d, LEADROUTE_EXPLAIN_JSON);
    check_truncation(render_decision, d, LEADROUTE_EXPLAIN_TEXT);
    check_truncation(render_decision, d, LEADROUTE_EXPLAIN_JSON);

    if (!json_valid(*json))
        fail_msg("invalid JSON: %s", *json);
    assert_null(strchr(*json, '\n'));
    keys = json_keys(*json);
    assert_string_equal(keys, json_keys_expected);
    free(keys);
    cands = json_member(*json, "candidates");
    assert_non_null(cands);
    n = json_length(cands);
    assert_int_equal(n, d->ncands);
    for (i = 0; i < n; i++) {
        keys = json_keys(json_element(cands, i));
        assert_string_equal(keys, "rep,pool,verdict,detail");
        free(keys);
    }
    assert_int_equal(json_length(json_member(*json, "pools")), d->nchain);

    n = strlen(*text);
    assert_true(n > 0 && (*text)[n - 1] == '\n');
    assert_null(strstr(*text, "\n\n"));
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* ---- cases --------------------------------------------------------------------- */

static void test_empty(void **state)
{
    leadroute_decision *d = dnew();
    char *text, *json;
    (void)state;
    explain_both(d, &text, &json);
    assert_string_equal(text, "lead: not routed yet\n");
    assert_string_equal(json, "{\"status\":null,\"lead_id\":null,\"key\":null,\"rep\":null,\"pool\":null,"
                              "\"queue\":null,\"rule\":null,\"rule_line\":null,\"label\":null,\"tags\":null,"
                              "\"sla_minutes\":0,\"table_version\":null,\"at_ms\":0,\"notified\":false,"
                              "\"dry_run\":false,\"how\":null,\"strategy\":null,\"previous\":null,\"pools\":[],"
                              "\"state_before\":null,\"state_after\":null,\"candidates\":[],\"reason\":null}");
    free(text);
    free(json);
    leadroute_decision_free(d);
}

static void test_full(void **state)
{
    leadroute_decision *d = dnew();
    char *text, *json, raw[64];
    const char *c;
    (void)state;
    d->status = LEADROUTE_ROUTE_ASSIGNED;
    d->lead_id = S(d, "L-1001");
    d->key = S(d, "L-1001");
    d->rep = S(d, "alice");
    d->pool = S(d, "smb");
    d->rule = S(d, "emea-mid");
    d->rule_index = 2;
    d->rule_line = 9;
    d->label = S(d, "hot");
    d->tags = S(d, "webinar");
    d->sla_minutes = 15;
    d->table_hash = 0x9f3a5c0e71d2b846ull;
    d->at_ms = 1772357400125; /* 2026-03-01T09:30:00.125Z */
    d->notified = 1;
    d->how = LR_HOW_STRATEGY;
    d->strategy = LEADROUTE_STRATEGY_WEIGHTED;
    d->state_before = S(d, "wr1 0\n0 alice\n500000000 dave\n0 erin");
    d->state_after = S(d, "wr1 0\n500000000 alice\n500000000 dave\n0 erin");
    d->reason = S(d, "no one in pool enterprise could take the lead; fallback pool smb chose alice");
    add_pool(d, "enterprise");
    add_pool(d, "smb");
    add_cand(d, "bob", "enterprise", LEADROUTE_VERDICT_AWAY, "vacation");
    add_cand(d, "carol", "enterprise", LEADROUTE_VERDICT_LACKS_SKILL, "language=fr not in languages");
    add_cand(d, "alice", "smb", LEADROUTE_VERDICT_CHOSEN, NULL);
    add_cand(d, "dave", "smb", LEADROUTE_VERDICT_ELIGIBLE, NULL);
    add_cand(d, "erin", "smb", LEADROUTE_VERDICT_AT_CAPACITY, "3 of 3 open leads");
    explain_both(d, &text, &json);

    assert_string_equal(text,
        "lead L-1001 (key L-1001): assigned to alice from pool smb\n"
        "rule emea-mid (line 9) of table 9f3a5c0e71d2b846; label hot; sla 15 min; tags webinar\n"
        "pools walked: enterprise -> smb\n"
        "picked by: weighted round robin; state before \"wr1 0\\n0 alice\\n500000000 dave\\n0 erin\" "
        "after \"wr1 0\\n500000000 alice\\n500000000 dave\\n0 erin\"\n"
        "at 2026-03-01T09:30:00.125Z; host notified\n"
        "candidates:\n"
        "  bob    enterprise  away: vacation\n"
        "  carol  enterprise  lacks skill: language=fr not in languages\n"
        "  alice  smb         chosen\n"
        "  dave   smb         eligible\n"
        "  erin   smb         at capacity: 3 of 3 open leads\n"
        "reason: no one in pool enterprise could take the lead; fallback pool smb chose alice\n");

    assert_json_string(json, "status", "assigned");
    assert_json_string(json, "lead_id", "L-1001");
    assert_json_string(json, "key", "L-1001");
    assert_json_string(json, "rep", "alice");
    assert_json_string(json, "pool", "smb");
    assert_json_string(json, "queue", NULL);
    assert_json_string(json, "rule", "emea-mid");
    assert_string_equal(json_raw(json, "rule_line", raw, sizeof raw), "9");
    assert_json_string(json, "label", "hot");
    assert_json_string(json, "tags", "webinar");
    assert_string_equal(json_raw(json, "sla_minutes", raw, sizeof raw), "15");
    assert_json_string(json, "table_version", "9f3a5c0e71d2b846");
    assert_string_equal(json_raw(json, "at_ms", raw, sizeof raw), "1772357400125");
    assert_string_equal(json_raw(json, "notified", raw, sizeof raw), "true");
    assert_string_equal(json_raw(json, "dry_run", raw, sizeof raw), "false");
    assert_json_string(json, "how", "weighted round robin");
    assert_json_string(json, "strategy", "weighted round robin");
    assert_json_string(json, "previous", NULL);
    assert_json_string(json, "state_before", "wr1 0\n0 alice\n500000000 dave\n0 erin");
    assert_json_string(json, "state_after", "wr1 0\n500000000 alice\n500000000 dave\n0 erin");
    c = json_member(json, "pools");
    {
        char *p0 = json_decode(json_element(c, 0)), *p1 = json_decode(json_element(c, 1));
        assert_string_equal(p0, "enterprise");
        assert_string_equal(p1, "smb");
        free(p0);
        free(p1);
    }
    c = json_member(json, "candidates");
    assert_json_string(json_element(c, 0), "verdict", "away");
    assert_json_string(json_element(c, 0), "detail", "vacation");
    assert_json_string(json_element(c, 1), "rep", "carol");
    assert_json_string(json_element(c, 1), "verdict", "lacks skill");
    assert_json_string(json_element(c, 2), "verdict", "chosen");
    assert_json_string(json_element(c, 2), "detail", NULL);
    assert_json_string(json_element(c, 3), "verdict", "eligible");
    assert_json_string(json_element(c, 4), "pool", "smb");
    assert_json_string(json_element(c, 4), "verdict", "at capacity");
    assert_json_string(json, "reason", "no one in pool enterprise could take the lead; fallback pool smb chose alice");
    free(text);
    free(json);
    leadroute_decision_free(d);
}

/* The headline of every status, with and without its optional parts. */
static void test_statuses(void **state)
{
    static const struct {
        uint32_t status;
        const char *rep, *queue, *pool, *previous;
        int dry_run;
        const char *headline, *name;
    } cases[] = {
        { LEADROUTE_ROUTE_ASSIGNED, "ann", NULL, "p", NULL, 0, "lead L (key K): assigned to ann from pool p\n", "assigned" },
        { LEADROUTE_ROUTE_ASSIGNED, "ann", NULL, NULL, "bob", 1,
          "lead L (key K): assigned to ann (reassigned from bob) (dry run)\n", "assigned" },
        { LEADROUTE_ROUTE_EXISTING, "bob", NULL, NULL, NULL, 0, "lead L (key K): existing, held by bob\n", "existing" },
        { LEADROUTE_ROUTE_QUEUED, NULL, "triage", "emea", NULL, 0,
          "lead L (key K): queued in queue triage from pool emea\n", "queued" },
        { LEADROUTE_ROUTE_QUEUED, NULL, "triage", NULL, NULL, 1, "lead L (key K): queued in queue triage (dry run)\n",
          "queued" },
        { LEADROUTE_ROUTE_UNASSIGNED, NULL, NULL, NULL, NULL, 0, "lead L (key K): unassigned\n", "unassigned" },
        { LEADROUTE_ROUTE_UNROUTED, NULL, NULL, NULL, NULL, 0, "lead L (key K): unrouted\n", "unrouted" },
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        leadroute_decision *d = dnew();
        char *text, *json, raw[16];
        d->status = cases[i].status;
        d->lead_id = S(d, "L");
        d->key = S(d, "K");
        d->rep = S(d, cases[i].rep);
        d->queue = S(d, cases[i].queue);
        d->pool = S(d, cases[i].pool);
        d->previous = S(d, cases[i].previous);
        d->dry_run = cases[i].dry_run;
        explain_both(d, &text, &json);
        assert_string_equal(text, cases[i].headline);
        assert_json_string(json, "status", cases[i].name);
        assert_json_string(json, "rep", cases[i].rep);
        assert_json_string(json, "queue", cases[i].queue);
        assert_json_string(json, "pool", cases[i].pool);
        assert_json_string(json, "previous", cases[i].previous);
        assert_string_equal(json_raw(json, "dry_run", raw, sizeof raw), cases[i].dry_run ? "true" : "false");
        free(text);
        free(json);
        leadroute_decision_free(d);
    }

    /* no lead id, no key */
    {
        leadroute_decision *d = dnew();
        char *text, *json;
        d->status = LEADROUTE_ROUTE_UNROUTED;
        d->code = LEADROUTE_ELEAD;
        d->reason = S(d, "lead has no id");
        explain_both(d, &text, &json);
        assert_string_equal(text, "lead: unrouted\nreason: lead has no id\n");
        assert_json_string(json, "lead_id", NULL);
        assert_json_string(json, "key", NULL);
        free(text);
        free(json);
        leadroute_decision_free(d);
    }

    /* a status the library does not know: still valid output, and no real status claimed */
    {
        leadroute_decision *d = dnew();
        char *text, *json;
        static const char *const real[] = { "assigned", "existing", "queued", "unassigned", "unrouted" };
        d->status = 99;
        explain_both(d, &text, &json);
        for (i = 0; i < 5; i++) {
            assert_null(strstr(text, real[i]));
            assert_null(strstr(json, real[i]));
        }
        free(text);
        free(json);
        leadroute_decision_free(d);
    }
}

/* `picked by` and `strategy` for every way of picking. */
static void test_how(void **state)
{
    static const struct {
        uint32_t how, strategy;
        const char *text, *strategy_name;
    } cases[] = {
        { LR_HOW_DIRECT, 0, "direct owner", NULL },
        { LR_HOW_ACCOUNT, 0, "account owner", NULL },
        { LR_HOW_STRATEGY, LEADROUTE_STRATEGY_ROUND_ROBIN, "round robin", "round robin" },
        { LR_HOW_STRATEGY, LEADROUTE_STRATEGY_WEIGHTED, "weighted round robin", "weighted round robin" },
        { LR_HOW_STRATEGY, LEADROUTE_STRATEGY_LEAST_LOADED, "least loaded", "least loaded" },
        { LR_HOW_STRATEGY, LEADROUTE_STRATEGY_VALUE_BALANCED, "value balanced", "value balanced" },
        { LR_HOW_STRATEGY, 77, "strategy", NULL },
        { LR_HOW_ESCALATION, LEADROUTE_STRATEGY_ROUND_ROBIN, "escalation owner", NULL },
        /* a stale strategy field is not shown when no strategy picked the rep */
        { LR_HOW_DEFAULT_OWNER, LEADROUTE_STRATEGY_ROUND_ROBIN, "default owner", NULL },
        { LR_HOW_EXISTING, LEADROUTE_STRATEGY_WEIGHTED, "existing claim", NULL },
        { LR_HOW_ACCOUNT, LEADROUTE_STRATEGY_LEAST_LOADED, "account owner", NULL },
        { LR_HOW_NONE, LEADROUTE_STRATEGY_WEIGHTED, NULL, NULL },
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        leadroute_decision *d = dnew();
        char *text, *json, want[128];
        d->status = LEADROUTE_ROUTE_ASSIGNED;
        d->rep = S(d, "a");
        d->how = cases[i].how;
        d->strategy = cases[i].strategy;
        explain_both(d, &text, &json);
        if (cases[i].text) {
            snprintf(want, sizeof want, "lead: assigned to a\npicked by: %s\n", cases[i].text);
            assert_string_equal(text, want);
        } else {
            assert_string_equal(text, "lead: assigned to a\n");
        }
        assert_json_string(json, "how", cases[i].text);
        assert_json_string(json, "strategy", cases[i].strategy_name);
        free(text);
        free(json);
        leadroute_decision_free(d);
    }

    /* pool states: either side may be absent, an empty state is shown as "" */
    {
        leadroute_decision *d = dnew();
        char *text, *json;
        d->how = LR_HOW_STRATEGY;
        d->strategy = LEADROUTE_STRATEGY_ROUND_ROBIN;
        d->state_before = S(d, "");
        d->state_after = S(d, "rr1 a");
        explain_both(d, &text, &json);
        assert_non_null(strstr(text, "\npicked by: round robin; state before \"\" after \"rr1 a\"\n"));
        assert_json_string(json, "state_before", "");
        assert_json_string(json, "state_after", "rr1 a");
        free(text);
        free(json);
        leadroute_decision_free(d);

        d = dnew();
        d->state_after = S(d, "rr1 b");
        explain_both(d, &text, &json);
        assert_string_equal(text, "lead: not routed yet\nstate after \"rr1 b\"\n");
        assert_json_string(json, "state_before", NULL);
        free(text);
        free(json);
        leadroute_decision_free(d);
    }
}

/* Every verdict by name, details, a candidate without pool, column padding. */
static void test_verdicts(void **state)
{
    static const struct {
        uint32_t verdict;
        const char *name;
    } verdicts[] = {
        { LEADROUTE_VERDICT_CHOSEN, "chosen" },       { LEADROUTE_VERDICT_ELIGIBLE, "eligible" },
        { LEADROUTE_VERDICT_AWAY, "away" },           { LEADROUTE_VERDICT_AT_CAPACITY, "at capacity" },
        { LEADROUTE_VERDICT_LACKS_SKILL, "lacks skill" }, { LEADROUTE_VERDICT_TIER, "tier" },
        { LEADROUTE_VERDICT_EXCLUDED, "excluded" },   { LEADROUTE_VERDICT_NOT_ASKED, "not asked" },
    };
    leadroute_decision *d = dnew();
    char *text, *json, line[128];
    const char *c;
    size_t i;
    (void)state;
    for (i = 0; i < 8; i++)
        add_cand(d, "rep", "pool", verdicts[i].verdict, i % 2 ? "why" : NULL);
    add_cand(d, "rep", "pool", 0, NULL);
    add_cand(d, "rep", "pool", 99, "odd");
    explain_both(d, &text, &json);
    c = json_member(json, "candidates");
    for (i = 0; i < 8; i++) {
        snprintf(line, sizeof line, "\n  rep  pool  %s%s\n", verdicts[i].name, i % 2 ? ": why" : "");
        if (!strstr(text, line))
            fail_msg("no line '%s' in\n%s", line + 1, text);
        assert_json_string(json_element(c, i), "verdict", verdicts[i].name);
        assert_json_string(json_element(c, i), "detail", i % 2 ? "why" : NULL);
        assert_json_string(json_element(c, i), "rep", "rep");
        assert_json_string(json_element(c, i), "pool", "pool");
    }
    /* unknown verdicts: their number in the text, null in JSON */
    assert_non_null(strstr(text, "\n  rep  pool  verdict 0\n"));
    assert_non_null(strstr(text, "\n  rep  pool  verdict 99: odd\n"));
    assert_json_string(json_element(c, 8), "verdict", NULL);
    assert_json_string(json_element(c, 9), "verdict", NULL);
    assert_json_string(json_element(c, 9), "detail", "odd");
    assert_int_equal(count_lines(text), 1 + 1 + 10);
    free(text);
    free(json);
    leadroute_decision_free(d);

    /* columns padded by code points; control bytes count as the 4 of \xHH; no pool shows '-' */
    d = dnew();
    add_cand(d, "jos\xc3\xa9", NULL, LEADROUTE_VERDICT_CHOSEN, NULL);
    add_cand(d, "bo", "\xe2\x82\xac", LEADROUTE_VERDICT_ELIGIBLE, NULL);
    add_cand(d, "a\x01", "pp", LEADROUTE_VERDICT_AWAY, NULL);
    explain_both(d, &text, &json);
    assert_string_equal(text, "lead: not routed yet\n"
                              "candidates:\n"
                              "  jos\xc3\xa9   -   chosen\n"
                              "  bo     \xe2\x82\xac   eligible\n"
                              "  a\\x01  pp  away\n");
    c = json_member(json, "candidates");
    assert_json_string(json_element(c, 0), "pool", NULL);
    assert_json_string(json_element(c, 1), "pool", "\xe2\x82\xac");
    assert_json_string(json_element(c, 2), "rep", "a\x01");
    free(text);
    free(json);
    leadroute_decision_free(d);

    /* no rep either: '-' is one column wide, the widest here */
    d = dnew();
    add_cand(d, NULL, "p", LEADROUTE_VERDICT_NOT_ASKED, NULL);
    add_cand(d, "", "p", LEADROUTE_VERDICT_AWAY, NULL);
    explain_both(d, &text, &json);
    assert_string_equal(text, "lead: not routed yet\n"
                              "candidates:\n"
                              "  -  p  not asked\n"
                              "     p  away\n");
    c = json_member(json, "candidates");
    assert_json_string(json_element(c, 0), "rep", NULL);
    assert_json_string(json_element(c, 1), "rep", "");
    free(text);
    free(json);
    leadroute_decision_free(d);
}

/* Parts that are absent leave their line out (text) and are null (JSON). */
static void test_absent_fields(void **state)
{
    leadroute_decision *d;
    char *text, *json, raw[32];
    (void)state;

    /* a line number without a rule is not shown; nor 0 or LR_NONE with one */
    d = dnew();
    d->rule_line = 5;
    d->table_hash = 42;
    explain_both(d, &text, &json);
    assert_string_equal(text, "lead: not routed yet\ntable 000000000000002a\n");
    assert_string_equal(json_raw(json, "rule_line", raw, sizeof raw), "null");
    assert_json_string(json, "table_version", "000000000000002a");
    free(text);
    free(json);
    leadroute_decision_free(d);

    d = dnew();
    d->rule = S(d, "r1");
    d->rule_line = LR_NONE;
    explain_both(d, &text, &json);
    assert_string_equal(text, "lead: not routed yet\nrule r1\n");
    assert_string_equal(json_raw(json, "rule_line", raw, sizeof raw), "null");
    assert_json_string(json, "table_version", NULL);
    free(text);
    free(json);
    leadroute_decision_free(d);

    d = dnew();
    d->rule = S(d, "r1");
    d->rule_line = 0;
    d->table_hash = UINT64_MAX;
    explain_both(d, &text, &json);
    assert_string_equal(text, "lead: not routed yet\nrule r1 of table ffffffffffffffff\n");
    assert_string_equal(json_raw(json, "rule_line", raw, sizeof raw), "null");
    assert_json_string(json, "table_version", "ffffffffffffffff");
    free(text);
    free(json);
    leadroute_decision_free(d);

    /* label, sla and tags without a rule share one line */
    d = dnew();
    d->label = S(d, "nurture");
    d->tags = S(d, "a, b");
    d->sla_minutes = 30;
    d->table_hash = 1;
    explain_both(d, &text, &json);
    assert_string_equal(text, "lead: not routed yet\ntable 0000000000000001; label nurture; sla 30 min; tags a, b\n");
    free(text);
    free(json);
    leadroute_decision_free(d);

    /* notified without a time; time without notification */
    d = dnew();
    d->notified = 1;
    explain_both(d, &text, &json);
    assert_string_equal(text, "lead: not routed yet\nhost notified\n");
    assert_string_equal(json_raw(json, "notified", raw, sizeof raw), "true");
    assert_string_equal(json_raw(json, "at_ms", raw, sizeof raw), "0");
    free(text);
    free(json);
    leadroute_decision_free(d);

    d = dnew();
    d->at_ms = 1;
    explain_both(d, &text, &json);
    assert_string_equal(text, "lead: not routed yet\nat 1970-01-01T00:00:00.001Z\n");
    assert_string_equal(json_raw(json, "notified", raw, sizeof raw), "false");
    free(text);
    free(json);
    leadroute_decision_free(d);

    /* a pool chain with an absent entry; empty strings are present, not absent */
    d = dnew();
    add_pool(d, "a");
    add_pool(d, NULL);
    add_pool(d, "");
    d->label = S(d, "");
    explain_both(d, &text, &json);
    assert_string_equal(text, "lead: not routed yet\nlabel \npools walked: a -> - -> \n");
    assert_string_equal(json_member(json, "pools"), "[\"a\",null,\"\"],\"state_before\":null,"
                                                     "\"state_after\":null,\"candidates\":[],\"reason\":null}");
    assert_json_string(json, "label", "");
    free(text);
    free(json);
    leadroute_decision_free(d);
}

/* Quotes, backslashes, multi-byte UTF-8, C0 and C1 controls, DEL, line and paragraph separators and a byte order
 * mark: shown as \xHH in text (each would break or garble a line for some
 * reader), escaped in JSON but for the mark; other UTF-8 as it is */
#define TRICKY "q\"uo\\te\n\t\r\x01\x1f\x7f caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xc2\x85\xc2\x9f \xe2\x80\xa8\xe2\x80\xa9 \xef\xbb\xbf end"
#define TRICKY_ODD "\\xc2\\x85\\xc2\\x9f \\xe2\\x80\\xa8\\xe2\\x80\\xa9 \\xef\\xbb\\xbf end"
#define TRICKY_PLAIN "q\"uo\\te\\x0a\\x09\\x0d\\x01\\x1f\\x7f caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 " TRICKY_ODD
#define TRICKY_QUOTED "\"q\\\"uo\\\\te\\n\\t\\r\\x01\\x1f\\x7f caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 " TRICKY_ODD "\""
#define TRICKY_JSON \
    "\"q\\\"uo\\\\te\\u000a\\u0009\\u000d\\u0001\\u001f\\u007f caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 " \
    "\\u0085\\u009f \\u2028\\u2029 \xef\xbb\xbf end\""

static void test_tricky_strings(void **state)
{
    static const char *const keys[] = { "lead_id", "key", "rep", "pool", "rule", "label", "tags", "previous",
                                        "state_before", "state_after", "reason" };
    leadroute_decision *d = dnew();
    char *text, *json, *s;
    const char *p, *c;
    size_t i;
    (void)state;
    d->status = LEADROUTE_ROUTE_ASSIGNED;
    d->lead_id = S(d, TRICKY);
    d->key = S(d, TRICKY);
    d->rep = S(d, TRICKY);
    d->pool = S(d, TRICKY);
    d->rule = S(d, TRICKY);
    d->rule_line = 3;
    d->label = S(d, TRICKY);
    d->tags = S(d, TRICKY);
    d->previous = S(d, TRICKY);
    d->state_before = S(d, TRICKY);
    d->state_after = S(d, TRICKY);
    d->reason = S(d, TRICKY);
    d->how = LR_HOW_ACCOUNT;
    add_pool(d, TRICKY);
    add_cand(d, TRICKY, TRICKY, LEADROUTE_VERDICT_AWAY, TRICKY);
    explain_both(d, &text, &json);

    /* text: no raw control byte but the line ends, so no id can forge a line */
    for (p = text; *p; p++)
        if (((unsigned char)*p < 0x20 && *p != '\n') || *p == 0x7f ||
            ((unsigned char)*p == 0xc2 && (unsigned char)p[1] < 0xa0) || ((unsigned char)*p == 0xe2 && (unsigned char)p[1] == 0x80 && ((unsigned char)p[2] & 0xfe) == 0xa8))
            fail_msg("raw byte 0x%02x at %zu of\n%s", (unsigned char)*p, (size_t)(p - text), text);
    assert_int_equal(count_lines(text), 7);
    assert_non_null(strstr(text, "lead " TRICKY_PLAIN " (key " TRICKY_PLAIN "): assigned to " TRICKY_PLAIN
                                 " from pool " TRICKY_PLAIN " (reassigned from " TRICKY_PLAIN ")\n"));
    assert_non_null(strstr(text, "\nrule " TRICKY_PLAIN " (line 3); label " TRICKY_PLAIN "; tags " TRICKY_PLAIN "\n"));
    assert_non_null(strstr(text, "\npools walked: " TRICKY_PLAIN "\n"));
    assert_non_null(strstr(text, "\npicked by: account owner; state before " TRICKY_QUOTED " after " TRICKY_QUOTED
                                 "\n"));
    assert_non_null(strstr(text, "\ncandidates:\n  " TRICKY_PLAIN "  " TRICKY_PLAIN "  away: " TRICKY_PLAIN "\n"));
    assert_non_null(strstr(text, "\nreason: " TRICKY_PLAIN "\n"));

    /* JSON: the exact escapes, and every string decodes back to the original */
    assert_non_null(strstr(json, "\"reason\":" TRICKY_JSON "}"));
    for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
        assert_json_string(json, keys[i], TRICKY);
    s = json_decode(json_element(json_member(json, "pools"), 0));
    assert_string_equal(s, TRICKY);
    free(s);
    c = json_element(json_member(json, "candidates"), 0);
    assert_json_string(c, "rep", TRICKY);
    assert_json_string(c, "pool", TRICKY);
    assert_json_string(c, "detail", TRICKY);
    free(text);
    free(json);
    leadroute_decision_free(d);
}

/* Bytes that are not UTF-8 become U+FFFD, one per byte, so the JSON stays
 * valid; the text shows them as \xHH, one per byte, so that a quote or a
 * separator behind a stray lead byte is still seen. */
static void test_invalid_utf8(void **state)
{
    static const struct {
        const char *in, *json, *text;
    } cases[] = {
        { "a\xff" "b", "a\\ufffdb", "a\\xffb" },
        { "\xc3" "c", "\\ufffdc", "\\xc3c" },                          /* lead byte, no continuation */
        { "\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd", "\\xed\\xa0\\x80" }, /* a surrogate */
        { "\xc0\xaf", "\\ufffd\\ufffd", "\\xc0\\xaf" },                 /* overlong '/' */
        { "\xe0\x80\xaf", "\\ufffd\\ufffd\\ufffd", "\\xe0\\x80\\xaf" }, /* overlong, 3 bytes */
        { "\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd", "\\xf4\\x90\\x80\\x80" }, /* above U+10FFFF */
        { "\xf0\x9f\x98" "e", "\\ufffd\\ufffd\\ufffde", "\\xf0\\x9f\\x98e" },   /* cut short */
        { "\x80\xbf", "\\ufffd\\ufffd", "\\x80\\xbf" },                 /* lone continuations */
        { "ok \xc3\xa9 \xf0\x9f\x98\x80", "ok \xc3\xa9 \xf0\x9f\x98\x80", "ok \xc3\xa9 \xf0\x9f\x98\x80" },
        { "end \xe2\x82", "end \\ufffd\\ufffd", "end \\xe2\\x82" },      /* cut by the end of the string */
        { "end \xf0", "end \\ufffd", "end \\xf0" },
        /* a stray lead byte hides neither a separator nor a control after it */
        { "\xe2\xe2\x80\xa8x", "\\ufffd\\u2028x", "\\xe2\\xe2\\x80\\xa8x" },
        { "\xc2\xc2\x85", "\\ufffd\\u0085", "\\xc2\\xc2\\x85" },
        /* lead bytes past 0xf4 start no sequence, whatever follows */
        { "\xf5\x80\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd", "\\xf5\\x80\\x80\\x80" },
        { "\xf7\xbf\xbf\xbf", "\\ufffd\\ufffd\\ufffd\\ufffd", "\\xf7\\xbf\\xbf\\xbf" },
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        leadroute_decision *d = dnew();
        char *text, *json, want[128];
        /* the last string of the buffer, so a read past its NUL meets unwritten bytes */
        d->reason = S(d, cases[i].in);
        explain_both(d, &text, &json);
        snprintf(want, sizeof want, "\"reason\":\"%s\"}", cases[i].json);
        if (!strstr(json, want))
            fail_msg("case %zu: expected %s in %s", i, want, json);
        snprintf(want, sizeof want, "reason: %s\n", cases[i].text);
        if (!strstr(text, want))
            fail_msg("case %zu: expected %s in %s", i, want, text);
        free(text);
        free(json);
        leadroute_decision_free(d);
    }
    /* in a quoted pool state (a store's, unchecked), the quote behind a
     * stray lead byte stays escaped: no forged `after` */
    leadroute_decision *d = dnew();
    char *text, *json;
    d->status = LEADROUTE_ROUTE_ASSIGNED;
    d->rep = S(d, "a");
    d->how = LR_HOW_ACCOUNT;
    d->state_before = S(d, "\xe2\" after \"forged");
    d->state_after = S(d, "s");
    explain_both(d, &text, &json);
    if (!strstr(text, "state before \"\\xe2\\\" after \\\"forged\" after \"s\""))
        fail_msg("quoted state: %s", text);
    free(text);
    free(json);
    leadroute_decision_free(d);
}

/* SLA minutes: omitted from the text when 0 or not finite; null in JSON when
 * not finite; otherwise the shortest text that reads back as the same double. */
static void test_numbers(void **state)
{
    static const struct {
        double v;
        const char *text, *json;
    } cases[] = {
        { 0, NULL, "0" },
        { 15, "15", "15" },
        { 2.5, "2.5", "2.5" },
        { 0.1, "0.1", "0.1" },
        { -2.5e-7, "-2.5e-07", "-2.5e-07" },
        { 1e15, "1e+15", "1e+15" },
        { 1e300, "1e+300", "1e+300" },
        { DBL_MAX, "1.7976931348623157e+308", "1.7976931348623157e+308" },
        { 5e-324, "5e-324", "5e-324" },
        { NAN, NULL, "null" },
        { INFINITY, NULL, "null" },
        { -INFINITY, NULL, "null" },
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        leadroute_decision *d = dnew();
        char *text, *json, raw[64], want[96];
        d->sla_minutes = cases[i].v;
        explain_both(d, &text, &json);
        json_raw(json, "sla_minutes", raw, sizeof raw);
        if (strcmp(raw, cases[i].json) != 0)
            fail_msg("sla %g: JSON has %s, expected %s", cases[i].v, raw, cases[i].json);
        if (isfinite(cases[i].v))
            assert_true(strtod(raw, NULL) == cases[i].v);
        if (cases[i].text) {
            snprintf(want, sizeof want, "lead: not routed yet\nsla %s min\n", cases[i].text);
            assert_string_equal(text, want);
        } else {
            assert_string_equal(text, "lead: not routed yet\n");
        }
        free(text);
        free(json);
        leadroute_decision_free(d);
    }
}

/* Times: UTC, milliseconds, proleptic Gregorian, both sides of the epoch. */
static void test_times(void **state)
{
    static const struct {
        int64_t ms;
        const char *text;
    } cases[] = {
        { 1767225600123, "2026-01-01T00:00:00.123Z" },
        { 951782400000, "2000-02-29T00:00:00.000Z" },
        { 4107542399999, "2100-02-28T23:59:59.999Z" },
        { 4107542400000, "2100-03-01T00:00:00.000Z" },
        { -1, "1969-12-31T23:59:59.999Z" },
        { -86400000, "1969-12-31T00:00:00.000Z" },
        { -62135596800000, "0001-01-01T00:00:00.000Z" },
        { 253402300799999, "9999-12-31T23:59:59.999Z" },
        /* before 0000-03-01: days counted back from the era before */
        { -62162121600000, "0000-02-29T00:00:00.000Z" },
        { -62167219200000, "0000-01-01T00:00:00.000Z" },
        /* years outside 0000-9999 in ISO 8601's expanded form: signed, six digits or more */
        { -62167219200001, "-000001-12-31T23:59:59.999Z" },
        { -62198755200000, "-000001-01-01T00:00:00.000Z" },
        { 253402300800000, "+010000-01-01T00:00:00.000Z" },
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        leadroute_decision *d = dnew();
        char *text, *json, raw[32], want[96];
        d->at_ms = cases[i].ms;
        explain_both(d, &text, &json);
        snprintf(want, sizeof want, "lead: not routed yet\nat %s\n", cases[i].text);
        assert_string_equal(text, want);
        snprintf(want, sizeof want, "%" PRId64, cases[i].ms);
        assert_string_equal(json_raw(json, "at_ms", raw, sizeof raw), want);
        free(text);
        free(json);
        leadroute_decision_free(d);
    }
    /* the extremes render without overflow, as the CLI shows them, and JSON keeps the exact integer */
    {
        static const int64_t extremes[] = { INT64_MIN, INT64_MAX };
        static const char *const digits[] = { "-9223372036854775808", "9223372036854775807" };
        static const char *const texts[] = { "lead: not routed yet\nat -292275055-05-16T16:47:04.192Z\n",
                                             "lead: not routed yet\nat +292278994-08-17T07:12:55.807Z\n" };
        for (i = 0; i < 2; i++) {
            leadroute_decision *d = dnew();
            char *text, *json, raw[32];
            d->at_ms = extremes[i];
            explain_both(d, &text, &json);
            assert_string_equal(text, texts[i]);
            assert_string_equal(json_raw(json, "at_ms", raw, sizeof raw), digits[i]);
            free(text);
            free(json);
            leadroute_decision_free(d);
        }
    }
}

/* The usual reason is written when first read: explain writes it too. */
static void test_lazy_reason(void **state)
{
    leadroute_decision *d = dnew();
    char *text, *json;
    (void)state;
    d->status = LEADROUTE_ROUTE_ASSIGNED;
    d->rep = S(d, "a");
    d->pool = S(d, "smb");
    d->how = LR_HOW_STRATEGY;
    d->strategy = LEADROUTE_STRATEGY_ROUND_ROBIN;
    d->reason = LR_LAZY;
    d->lazy_eligible = 2;
    d->lazy_members = 5;
    explain_both(d, &text, &json);
    assert_non_null(strstr(text, "\nreason: pool smb, round robin among 2 eligible of 5 members\n"));
    assert_json_string(json, "reason", "pool smb, round robin among 2 eligible of 5 members");
    assert_string_equal(leadroute_decision_reason(d), "pool smb, round robin among 2 eligible of 5 members");
    free(text);
    free(json);
    leadroute_decision_free(d);

    /* no pool to name: a question mark, never "(null)" */
    d = dnew();
    d->how = LR_HOW_STRATEGY;
    d->strategy = LEADROUTE_STRATEGY_LEAST_LOADED;
    d->reason = LR_LAZY;
    d->lazy_eligible = 0;
    d->lazy_members = 1;
    assert_string_equal(leadroute_decision_reason(d), "pool ?, least loaded among 0 eligible of 1 members");
    leadroute_decision_free(d);
}

static void test_misuse(void **state)
{
    leadroute_decision *d = dnew();
    char buf[8];
    size_t needed;
    int formats[] = { 0, 3, -1, LEADROUTE_EXPLAIN_TEXT | LEADROUTE_EXPLAIN_JSON };
    size_t i;
    (void)state;

    needed = 7;
    assert_int_equal(leadroute_decision_explain(NULL, LEADROUTE_EXPLAIN_TEXT, buf, sizeof buf, &needed),
                     LEADROUTE_EINVAL);
    assert_int_equal(needed, 0);
    needed = 7;
    assert_int_equal(leadroute_decision_explain(d, LEADROUTE_EXPLAIN_JSON, NULL, 4, &needed), LEADROUTE_EINVAL);
    assert_int_equal(needed, 0);
    assert_int_equal(leadroute_error_last()->code, LEADROUTE_EINVAL);
    for (i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        memset(buf, GUARD_BYTE, sizeof buf);
        needed = 7;
        assert_int_equal(leadroute_decision_explain(d, formats[i], buf, sizeof buf, &needed), LEADROUTE_EINVAL);
        assert_int_equal(needed, 0);
        assert_int_equal((unsigned char)buf[0], GUARD_BYTE);
        expect_message_has("format");
    }
    /* the internal renderers check their arguments too */
    assert_int_equal(lr__explain_text(NULL, buf, sizeof buf, &needed), LEADROUTE_EINVAL);
    assert_int_equal(lr__explain_json(NULL, buf, sizeof buf, &needed), LEADROUTE_EINVAL);
    assert_int_equal(lr__explain_text(d, NULL, 4, &needed), LEADROUTE_EINVAL);
    assert_int_equal(lr__explain_json(d, NULL, 4, &needed), LEADROUTE_EINVAL);
    leadroute_decision_free(d);
}

/* ---- end to end ------------------------------------------------------------------ */

static const char e2e_table[] =
    "rule,region,out:pool,out:status,out:sla_minutes:number,out:tags\n"
    "emea,EMEA,enterprise,hot,2.5,webinar\n"
    "r\xc3\xa9st,-,smb,,,\n"; /* a rule id that metrics show cut whole */

/* enterprise: bob is away and carol lacks the language, so it falls back to
 * smb, where dave is inactive and round robin picks alice before erin. */
static const char e2e_roster[] =
    "#! pools\n"
    "id,strategy,fallback,filters\n"
    "enterprise,weighted,smb,language=languages\n"
    "smb,round_robin,,\n"
    "#! reps\n"
    "id,name,pools,weight,active,languages\n"
    "alice,Alice,smb,2,yes,en\n"
    "bob,Bob,enterprise,1,yes,en\n"
    "carol,Carol,enterprise,1,yes,fr\n"
    "dave,Dave,smb,1,no,en\n"
    "erin,Erin,smb,1,yes,en\n";

#define E2E_NOW 1772357400125 /* 2026-03-01T09:30:00.125Z */

static int e2e_away(void *user, const char *rep, const leadroute_lead *lead, int64_t now, uint32_t *verdict,
                    char *reason, size_t cap)
{
    (void)user;
    (void)lead;
    (void)now;
    *verdict = LEADROUTE_AVAILABLE;
    if (strcmp(rep, "bob") == 0) {
        *verdict = LEADROUTE_AWAY;
        snprintf(reason, cap, "vacation \"until\"\nmonday");
    }
    return LEADROUTE_OK;
}

static int64_t e2e_clock(void *user)
{
    (void)user;
    return E2E_NOW;
}

static int e2e_notify(void *user, const leadroute_assignment *a)
{
    (void)a;
    ++*(int *)user;
    return LEADROUTE_OK;
}

typedef struct e2e {
    leadroute_table *table;
    leadroute_roster *roster;
    leadroute_router *router;
    leadroute_decision *d;
    int notified;
} e2e;

/* Route one EMEA lead with the trace on. */
static void e2e_route(e2e *e)
{
    static const leadroute_availability av = { LEADROUTE_AVAILABILITY_VERSION, e2e_away };
    static const leadroute_clock clock = { LEADROUTE_CLOCK_VERSION, e2e_clock };
    const leadroute_notify notify = { LEADROUTE_NOTIFY_VERSION, e2e_notify };
    tlead l;

    memset(e, 0, sizeof *e);
    e->table = parse_ok(e2e_table);
    if (leadroute_roster_parse(&e->roster, e2e_roster, strlen(e2e_roster), "r.csv", NULL) != LEADROUTE_OK)
        fail_msg("roster: %s", leadroute_error_last()->message);
    assert_int_equal(leadroute_router_new(&e->router, e->table, e->roster, NULL), LEADROUTE_OK);
    assert_int_equal(leadroute_router_set_availability(e->router, &av, NULL), LEADROUTE_OK);
    assert_int_equal(leadroute_router_set_clock(e->router, &clock, NULL), LEADROUTE_OK);
    assert_int_equal(leadroute_router_set_notify(e->router, &notify, &e->notified), LEADROUTE_OK);
    assert_int_equal(leadroute_decision_new(&e->d, NULL), LEADROUTE_OK);

    tl_init(&l);
    l.lead.id = "L-7";
    tl_str(&l, "region", "EMEA");
    tl_str(&l, "language", "en");
    assert_int_equal(leadroute_route(e->router, &l.lead, LEADROUTE_ROUTE_TRACE, e->d), LEADROUTE_OK);
    assert_int_equal(leadroute_decision_status(e->d), LEADROUTE_ROUTE_ASSIGNED);
    assert_string_equal(leadroute_decision_rep(e->d), "alice");
    assert_int_equal(e->notified, 1);
}

static void e2e_free(e2e *e)
{
    leadroute_decision_free(e->d);
    leadroute_router_free(e->router);
    leadroute_roster_unref(e->roster);
    leadroute_table_unref(e->table);
}

static void test_end_to_end(void **state)
{
    e2e e;
    char *text, *json, *metrics, hash[17], raw[32];
    const char *c;
    (void)state;
    e2e_route(&e);
    explain_both(e.d, &text, &json);

    snprintf(hash, sizeof hash, "%016" PRIx64, leadroute_table_hash(e.table));
    assert_int_equal(strlen(hash), 16);
    assert_true(leadroute_table_hash(e.table) != 0);

    /* text: headline, rule and table, chain, strategy, time, every candidate, reason */
    assert_true(strncmp(text, "lead L-7 (key L-7): assigned to alice from pool smb\n", 52) == 0);
    {
        char want[160];
        snprintf(want, sizeof want, "\nrule emea (line 2) of table %s; label hot; sla 2.5 min; tags webinar\n", hash);
        if (!strstr(text, want))
            fail_msg("no '%s' in\n%s", want + 1, text);
    }
    assert_non_null(strstr(text, "\npools walked: enterprise -> smb\n"));
    assert_non_null(strstr(text, "\npicked by: round robin; state before \"\" after \"rr2\\ndave\\nerin\\nalice\"\n"));
    assert_non_null(strstr(text, "\nat 2026-03-01T09:30:00.125Z; host notified\n"));
    assert_non_null(strstr(text, "\ncandidates:\n"));
    assert_non_null(strstr(text, "\n  bob    enterprise  away: vacation \"until\"\\x0amonday\n"));
    assert_non_null(strstr(text, "\n  carol  enterprise  lacks skill: "));
    assert_non_null(strstr(text, "\n  alice  smb         chosen\n"));
    assert_non_null(strstr(text, "\n  dave   smb         excluded"));
    assert_non_null(strstr(text, "\n  erin   smb         eligible\n"));
    assert_non_null(strstr(text, "\nreason: "));

    /* JSON: the same facts, and the table version is the table's hash */
    assert_json_string(json, "table_version", hash);
    assert_json_string(json, "status", "assigned");
    assert_json_string(json, "rule", "emea");
    assert_string_equal(json_raw(json, "rule_line", raw, sizeof raw), "2");
    assert_string_equal(json_raw(json, "sla_minutes", raw, sizeof raw), "2.5");
    assert_string_equal(json_raw(json, "at_ms", raw, sizeof raw), "1772357400125");
    assert_string_equal(json_raw(json, "notified", raw, sizeof raw), "true");
    assert_json_string(json, "how", "round robin");
    assert_json_string(json, "strategy", "round robin");
    assert_json_string(json, "reason", leadroute_decision_reason(e.d));
    c = json_member(json, "pools");
    assert_int_equal(json_length(c), 2);
    c = json_member(json, "candidates");
    assert_int_equal(json_length(c), leadroute_decision_candidate_count(e.d));
    {
        size_t i;
        static const char *const names[] = { NULL, "chosen", "eligible", "away", "at capacity", "lacks skill",
                                             "tier", "excluded", "not asked" };
        for (i = 0; i < leadroute_decision_candidate_count(e.d); i++) {
            const char *rep, *pool, *detail;
            uint32_t verdict;
            assert_int_equal(leadroute_decision_candidate(e.d, i, &rep, &pool, &verdict, &detail), LEADROUTE_OK);
            assert_true(verdict >= 1 && verdict <= 8);
            assert_json_string(json_element(c, i), "rep", rep);
            assert_json_string(json_element(c, i), "pool", pool);
            assert_json_string(json_element(c, i), "verdict", names[verdict]);
            assert_json_string(json_element(c, i), "detail", detail);
            if (strcmp(rep, "bob") == 0)
                assert_string_equal(detail, "vacation \"until\"\nmonday");
        }
    }

    /* metrics: valid JSON, same table version, truncation like explain */
    metrics = render(render_metrics, e.router, 0);
    if (!json_valid(metrics))
        fail_msg("invalid metrics JSON: %s", metrics);
    assert_json_string(metrics, "table_version", hash);
    check_truncation(render_metrics, e.router, 0);
    free(metrics);
    free(text);
    free(json);
    e2e_free(&e);
}

/* ---- a pool state longer than a decision keeps ------------------------------------ */

/* A store whose pool state is 20 KB; claims and commits always succeed. */
#define BIG_STATE 20480

static char big_state[BIG_STATE];

static int big_load_pool(void *user, const char *pool, void *buf, size_t cap, size_t *length, uint64_t *version)
{
    (void)user;
    (void)pool;
    *length = BIG_STATE;
    *version = 1;
    if (cap >= BIG_STATE)
        memcpy(buf, big_state, BIG_STATE);
    return LEADROUTE_OK;
}

static int big_find_claim(void *user, const char *key, char *rep, size_t cap)
{
    (void)user;
    (void)key;
    (void)rep;
    (void)cap;
    return LEADROUTE_ENOTFOUND;
}

static int big_open_count(void *user, const char *rep, uint32_t *count)
{
    (void)user;
    (void)rep;
    *count = 0;
    return LEADROUTE_OK;
}

static int big_commit(void *user, const leadroute_commit *c, char *owner, size_t cap)
{
    (void)user;
    (void)c;
    (void)owner;
    (void)cap;
    return LEADROUTE_OK;
}

static int big_close(void *user, const char *key)
{
    (void)user;
    (void)key;
    return LEADROUTE_ENOTFOUND;
}

/* A decision keeps at most 4 * LEADROUTE_MAX_STRING bytes of one string: the
 * traced state is cut there, its start kept. */
static void test_long_state_cut(void **state)
{
    static const leadroute_store store = { LEADROUTE_STORE_VERSION, big_load_pool, big_find_claim, big_open_count,
                                           big_commit, big_close, NULL, NULL, NULL };
    const size_t keep = 4 * LEADROUTE_MAX_STRING;
    leadroute_table *t;
    leadroute_roster *ro = NULL;
    leadroute_router *r = NULL;
    leadroute_decision *d = dnew();
    char *json, *before;
    size_t i;
    tlead l;
    (void)state;
    assert_int_equal(keep, 16384);
    for (i = 0; i < BIG_STATE; i++)
        big_state[i] = (char)('a' + i % 26);
    t = parse_ok(e2e_table);
    assert_int_equal(leadroute_roster_parse(&ro, e2e_roster, strlen(e2e_roster), "r.csv", NULL), LEADROUTE_OK);
    assert_int_equal(leadroute_router_new(&r, t, ro, NULL), LEADROUTE_OK);
    assert_int_equal(leadroute_router_set_store(r, &store, NULL), LEADROUTE_OK);
    /* the second time a two-byte character straddles the cut: it goes whole */
    for (int round = 0; round < 2; round++) {
        if (round) {
            big_state[keep - 1] = (char)0xC3;
            big_state[keep] = (char)0xA9;
        }
        tl_init(&l);
        l.lead.id = round ? "L-9" : "L-8";
        tl_str(&l, "region", "APAC");
        assert_int_equal(leadroute_route(r, &l.lead, LEADROUTE_ROUTE_TRACE, d), LEADROUTE_OK);
        assert_int_equal(leadroute_decision_status(d), LEADROUTE_ROUTE_ASSIGNED);
        assert_string_equal(leadroute_decision_pool(d), "smb");

        json = render(render_decision, d, LEADROUTE_EXPLAIN_JSON);
        if (!json_valid(json))
            fail_msg("invalid JSON of %zu bytes", strlen(json));
        assert_non_null(json_member(json, "state_before"));
        before = json_decode(json_member(json, "state_before"));
        assert_int_equal(strlen(before), keep - (size_t)round);
        assert_memory_equal(before, big_state, keep - (size_t)round);
        free(before);
        free(json);
    }
    leadroute_decision_free(d);
    leadroute_router_free(r);
    leadroute_roster_unref(ro);
    leadroute_table_unref(t);
}

/* ---- host locale ----------------------------------------------------------------- */

/* Set LC_NUMERIC to some installed locale with a decimal comma; NULL if none. */
static const char *comma_locale(void)
{
    static const char *const names[] = {
        "de_DE.UTF-8", "de_DE.utf8", "de_DE", "fr_FR.UTF-8", "fr_FR.utf8", "fr_FR", "nl_NL.UTF-8", "es_ES.UTF-8",
        "it_IT.UTF-8", "pt_BR.UTF-8", "ru_RU.UTF-8", "pl_PL.UTF-8", "sv_SE.UTF-8", "da_DK.UTF-8",
    };
    size_t i;
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (setlocale(LC_NUMERIC, names[i]) && strcmp(localeconv()->decimal_point, ",") == 0)
            return names[i];
        setlocale(LC_NUMERIC, "C");
    }
    return NULL;
}

static void test_comma_locale(void **state)
{
    leadroute_decision *d;
    char *text, *json, *metrics, probe[16], raw[64];
    const char *name = comma_locale(), *pools;
    e2e e;
    (void)state;
    if (!name) {
        print_message("no locale with a decimal comma is installed (tried de_DE, fr_FR, ...): skipped\n");
        skip();
    }
    /* the locale really is in force for the host's printf */
    snprintf(probe, sizeof probe, "%.1f", 2.5);
    assert_string_equal(probe, "2,5");

    d = dnew();
    d->sla_minutes = 2.5;
    explain_both(d, &text, &json);
    assert_string_equal(text, "lead: not routed yet\nsla 2.5 min\n");
    assert_string_equal(json_raw(json, "sla_minutes", raw, sizeof raw), "2.5");
    free(text);
    free(json);
    leadroute_decision_free(d);

    /* metrics: smb has one assignment among three members, Jain's index 1/3 */
    e2e_route(&e);
    explain_both(e.d, &text, &json);
    assert_string_equal(json_raw(json, "sla_minutes", raw, sizeof raw), "2.5");
    assert_non_null(strstr(text, "; sla 2.5 min;"));
    metrics = render(render_metrics, e.router, 0);
    if (!json_valid(metrics))
        fail_msg("invalid metrics JSON under %s: %s", name, metrics);
    pools = json_member(metrics, "pools");
    assert_non_null(pools);
    assert_true(strncmp(json_raw(json_member(pools, "smb"), "jain", raw, sizeof raw), "0.333333", 8) == 0);
    assert_false(has_decimal_comma(metrics));
    assert_false(has_decimal_comma(json));
    free(metrics);
    free(text);
    free(json);
    e2e_free(&e);
    setlocale(LC_NUMERIC, "C");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_checker),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_statuses),
        cmocka_unit_test(test_how),
        cmocka_unit_test(test_verdicts),
        cmocka_unit_test(test_absent_fields),
        cmocka_unit_test(test_tricky_strings),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_lazy_reason),
        cmocka_unit_test(test_misuse),
        cmocka_unit_test(test_end_to_end),
        cmocka_unit_test(test_long_state_cut),
        cmocka_unit_test(test_comma_locale),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
