/* Value checks, UTF-8, numbers and case folding shared by leads and tables. */
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/value.h"
#include "base/lead.h"

int lr__utf8_valid(const char *s, size_t len)
{
    return lr__utf8_invalid_at(s, len) == len;
}

size_t lr__utf8_invalid_at(const char *s, size_t len)
{
    const unsigned char *start = (const unsigned char *)s, *p = start, *end = start + len;
    while (p < end) {
        unsigned c = *p;
        size_t need;
        if (c < 0x80) {
            p++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            need = 2;
        else if (c >= 0xE0 && c <= 0xEF)
            need = 3;
        else if (c >= 0xF0 && c <= 0xF4)
            need = 4;
        else
            break;
        if ((size_t)(end - p) < need || (p[1] & 0xC0) != 0x80 || (need > 2 && (p[2] & 0xC0) != 0x80) ||
            (need > 3 && (p[3] & 0xC0) != 0x80))
            break;
        if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xF0 && p[1] < 0x90))
            break; /* overlong */
        if (c == 0xED && p[1] >= 0xA0)
            break; /* surrogate */
        if (c == 0xF4 && p[1] >= 0x90)
            break; /* above U+10FFFF */
        p += need;
    }
    return (size_t)(p - start);
}

const char *lr__text_breaker(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i;
    for (i = 0; i < len; i++) {
        if (u[i] < 0x20 || u[i] == 0x7f || (u[i] == 0xC2 && i + 1 < len && u[i + 1] <= 0x9F))
            return "a control character";
        if (u[i] == 0xE2 && i + 2 < len && u[i + 1] == 0x80 && (u[i + 2] == 0xA8 || u[i + 2] == 0xA9))
            return u[i + 2] == 0xA8 ? "a line separator" : "a paragraph separator";
        if (u[i] == 0xEF && i + 2 < len && u[i + 1] == 0xBB && u[i + 2] == 0xBF)
            return "a byte order mark (U+FEFF)";
    }
    return NULL;
}

int lr__text_measure(const char *s, size_t max, size_t *len)
{
    /* One pass for length and UTF-8: leads are mostly short ASCII. */
    const unsigned char *p = (const unsigned char *)s, *start = p;
    for (;;) {
        size_t n;
        while (*p && *p < 0x80)
            p++;
        if (!*p)
            break;
        n = 0;
        while (p[n] >= 0x80)
            n++;
        if (!lr__utf8_valid((const char *)p, n))
            return -2;
        p += n;
        if ((size_t)(p - start) > max)
            return -1;
    }
    if (len)
        *len = (size_t)(p - start);
    return (size_t)(p - start) > max ? -1 : 0;
}

int leadroute_utf8_valid(const char *text, size_t length)
{
    return text ? lr__utf8_valid(text, length) : 0;
}

static pthread_once_t lr__c_locale_once = PTHREAD_ONCE_INIT;
static locale_t lr__c_locale;

static void lr__c_locale_init(void)
{
    lr__c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

void lr__number_setup(void)
{
    pthread_once(&lr__c_locale_once, lr__c_locale_init);
}

size_t lr__format_double(char *buf, size_t cap, double v)
{
    char tmp[40];
    int prec, n = 0;
    locale_t old = (locale_t)0;

    lr__number_setup();
    if (lr__c_locale)
        old = uselocale(lr__c_locale);
    if (v > -1e15 && v < 1e15 && v == (double)(long long)v) {
        /* whole numbers plainly: "30", not the shorter "3e+01" */
        n = snprintf(tmp, sizeof tmp, "%.0f", v);
    } else {
        for (prec = 1; prec <= 17; prec++) {
            n = snprintf(tmp, sizeof tmp, "%.*g", prec, v);
            if (strtod(tmp, NULL) == v || v != v)
                break;
        }
    }
    if (lr__c_locale)
        uselocale(old);
    if (n < 0)
        n = 0;
    if (cap) {
        size_t k = (size_t)n < cap ? (size_t)n : cap - 1;
        memcpy(buf, tmp, k);
        buf[k] = 0;
    }
    return (size_t)n;
}

int lr__parse_number(const char *s, size_t len, double *out)
{
    char buf[LEADROUTE_MAX_STRING + 1];
    size_t i = 0;
    int digits = 0;
    double v;

    if (len == 0 || len >= sizeof buf)
        return -1;
    /* The grammar is checked here so strtod never sees hex, inf or nan. */
    if (s[i] == '+' || s[i] == '-')
        i++;
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++, digits++;
    if (digits == 0)
        return -1; /* ".5" is not in the grammar */
    if (i < len && s[i] == '.') {
        size_t frac = 0;
        i++;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++, frac++;
        if (frac == 0)
            return -1;
        digits += (int)frac;
    }
    if (digits == 0)
        return -1;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        size_t exp = 0;
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++, exp++;
        if (exp == 0)
            return -1;
    }
    if (i != len)
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    lr__number_setup();
    if (lr__c_locale) {
        locale_t old = uselocale(lr__c_locale);
        v = strtod(buf, NULL);
        uselocale(old);
    } else {
        v = strtod(buf, NULL);
    }
    if (!isfinite(v))
        return -2;
    *out = v;
    return 0;
}

int lr__lead_number_text_error(const char *field, const char *s, size_t len, int prc)
{
    return lr__error_set(LEADROUTE_ELEAD, "lead field '%s': '%.*s' is %s", field, (int)lr__utf8_cut(s, len, 60), s,
                         prc == -2 ? "past the range of a double (not a finite number)" : "not a number");
}

size_t lr__utf8_cut(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return max;
}

void lr__value_show(const leadroute_value *v, char *buf, size_t cap)
{
    size_t n;
    switch (v->type) {
    case LEADROUTE_VALUE_STRING:
        n = strlen(v->string);
        snprintf(buf, cap, "'%.*s%s'", (int)lr__utf8_cut(v->string, n, 40), v->string, n > 40 ? "..." : "");
        return;
    case LEADROUTE_VALUE_NUMBER:
        lr__format_double(buf, cap, v->number);
        return;
    case LEADROUTE_VALUE_BOOL:
        snprintf(buf, cap, "%s", v->boolean ? "true" : "false");
        return;
    default:
        snprintf(buf, cap, "null");
        return;
    }
}

int lr__is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

int lr__equal_ci(const char *s, size_t len, const char *word)
{
    size_t i;
    for (i = 0; i < len; i++) {
        char ch = s[i];
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch + 32);
        if (!word[i] || ch != word[i])
            return 0;
    }
    return word[len] == '\0';
}

void lr__trim(const char **s, size_t *len)
{
    const char *p = *s;
    size_t n = *len;
    while (n && lr__is_space(*p))
        p++, n--;
    while (n && lr__is_space(p[n - 1]))
        n--;
    *s = p;
    *len = n;
}

size_t lr__unicode_blank(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    if (s[0] == 0xC2)
        return s[1] == 0xA0 ? 2 : 0; /* U+00A0 */
    if (s[0] == 0xE2 && s[1] == 0x80)
        return (s[2] >= 0x80 && s[2] <= 0x8B) || s[2] == 0xA8 || s[2] == 0xA9 || s[2] == 0xAF ? 3 : 0; /* U+2000..200B, 2028, 2029, 202F */
    if (s[0] == 0xE2 && s[1] == 0x81)
        return s[2] == 0x9F ? 3 : 0; /* U+205F */
    if (s[0] == 0xE3 && s[1] == 0x80)
        return s[2] == 0x80 ? 3 : 0; /* U+3000 */
    if (s[0] == 0xEF && s[1] == 0xBB)
        return s[2] == 0xBF ? 3 : 0; /* U+FEFF */
    return 0;
}

const char *lr__skip_blanks(const char *s)
{
    for (;;) {
        size_t b;
        if (*s && lr__is_space(*s))
            s++;
        else if ((b = lr__unicode_blank(s)) != 0)
            s += b;
        else
            return s;
    }
}

void lr__trim_blanks(const char **s, size_t *len)
{
    const char *p = lr__skip_blanks(*s);
    size_t skipped = (size_t)(p - *s), n = *len > skipped ? *len - skipped : 0;
    for (;;) {
        if (n && lr__is_space(p[n - 1]))
            n--;
        else if (n >= 2 && lr__unicode_blank(p + n - 2) == 2)
            n -= 2;
        else if (n >= 3 && lr__unicode_blank(p + n - 3) == 3)
            n -= 3;
        else
            break;
    }
    *s = p;
    *len = n;
}

/* Unicode's simple case folding of U+0080..U+07FF (Latin-1, Greek and
 * Coptic, Cyrillic and its supplement): the small letter of a capital, and
 * the letter a variant form stands for (micro sign, final sigma, the Greek
 * symbol forms), else the code point itself. Every result stays in that
 * range, so folding keeps UTF-8 lengths. */
static unsigned lr__fold_cp(unsigned cp)
{
    if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7)
        return cp + 0x20;                       /* Latin-1 */
    if (cp == 0xB5)
        return 0x3BC;                           /* micro sign is mu */
    if (cp == 0x345)
        return 0x3B9;                           /* ypogegrammeni is iota */
    if (cp < 0x370)
        return cp;
    if (cp == 0x370 || cp == 0x372 || cp == 0x376)
        return cp + 1;                          /* Heta, archaic Sampi, Pamphylian Digamma */
    if (cp == 0x37F)
        return 0x3F3;                           /* Yot */
    if (cp == 0x386)
        return 0x3AC;                           /* Greek accented capitals */
    if (cp >= 0x388 && cp <= 0x38A)
        return cp + 0x25;
    if (cp == 0x38C)
        return 0x3CC;
    if (cp == 0x38E || cp == 0x38F)
        return cp + 0x3F;
    if (cp >= 0x391 && cp <= 0x3AB && cp != 0x3A2)
        return cp + 0x20;                       /* Alpha..Omega, Iota and Upsilon with dialytika */
    if (cp == 0x3C2)
        return 0x3C3;                           /* final sigma is sigma */
    if (cp == 0x3CF)
        return 0x3D7;
    switch (cp) {                               /* symbol forms are their letters */
    case 0x3D0: return 0x3B2;                   /* beta */
    case 0x3D1: return 0x3B8;                   /* theta */
    case 0x3D5: return 0x3C6;                   /* phi */
    case 0x3D6: return 0x3C0;                   /* pi */
    case 0x3F0: return 0x3BA;                   /* kappa */
    case 0x3F1: return 0x3C1;                   /* rho */
    case 0x3F5: return 0x3B5;                   /* lunate epsilon */
    default: break;
    }
    if (cp >= 0x3D8 && cp <= 0x3EF)
        return cp | 1;                          /* archaic and Coptic pairs */
    if (cp == 0x3F4)
        return 0x3B8;                           /* capital theta symbol is theta */
    if (cp == 0x3F7 || cp == 0x3FA)
        return cp + 1;
    if (cp == 0x3F9)
        return 0x3F2;
    if (cp >= 0x3FD && cp <= 0x3FF)
        return cp - 0x82;
    if (cp >= 0x400 && cp <= 0x40F)
        return cp + 0x50;                       /* Cyrillic Ie grave..Dzhe */
    if (cp >= 0x410 && cp <= 0x42F)
        return cp + 0x20;                       /* A..Ya */
    if ((cp >= 0x460 && cp <= 0x481) || (cp >= 0x48A && cp <= 0x4BF) || (cp >= 0x4D0 && cp <= 0x52F))
        return cp | 1;                          /* pairs, capital first */
    if (cp == 0x4C0)
        return 0x4CF;
    if (cp >= 0x4C1 && cp <= 0x4CE && (cp & 1))
        return cp + 1;
    return cp;
}

void lr__fold(const char *s, size_t len, char *out)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned char *o = (unsigned char *)out;
    size_t i = 0;
    while (i < len) {
        unsigned c = p[i];
        if (c < 0x80) {
            o[i] = (unsigned char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF && i + 1 < len && (p[i + 1] & 0xC0) == 0x80) {
            unsigned cp = lr__fold_cp(((c & 0x1F) << 6) | (p[i + 1] & 0x3F));
            o[i] = (unsigned char)(0xC0 | (cp >> 6));
            o[i + 1] = (unsigned char)(0x80 | (cp & 0x3F));
            i += 2;
            continue;
        }
        o[i] = (unsigned char)c;
        i++;
    }
}

int lr__text_check(const char *s, const char *field, const char *part, size_t *len)
{
    char who[32 + LEADROUTE_MAX_NAME];
    size_t n;
    int rc;
    if (s && (rc = lr__text_measure(s, LEADROUTE_MAX_STRING, &n)) == 0) {
        if (len)
            *len = n;
        return LEADROUTE_OK;
    }
    if (field)
        snprintf(who, sizeof who, "lead field '%s'", field);
    else
        snprintf(who, sizeof who, "lead");
    if (!s)
        return lr__error_set(LEADROUTE_ELEAD, "%s: %s is NULL", who, part);
    if (rc == -1)
        return lr__error_set(LEADROUTE_ELEAD, "%s: %s is longer than %d bytes", who, part, LEADROUTE_MAX_STRING);
    return lr__error_set(LEADROUTE_ELEAD, "%s: %s is not valid UTF-8", who, part);
}

int lr__value_check(const leadroute_value *v, const char *field)
{
    size_t i;
    int rc;
    if (v->version == 0 || v->version > LEADROUTE_VALUE_VERSION)
        return lr__error_set(LEADROUTE_EVERSION, "lead field '%s': leadroute_value version %u is not supported (1..%u)",
                             field, v->version, LEADROUTE_VALUE_VERSION);
    switch (v->type) {
    case LEADROUTE_VALUE_NULL:
    case LEADROUTE_VALUE_BOOL:
        return LEADROUTE_OK;
    case LEADROUTE_VALUE_STRING:
        return lr__text_check(v->string, field, "string", NULL);
    case LEADROUTE_VALUE_NUMBER:
        if (!isfinite(v->number))
            return lr__error_set(LEADROUTE_ELEAD, "lead field '%s': number is %s, not a finite number", field,
                                 isnan(v->number) ? "NaN" : "infinite");
        return LEADROUTE_OK;
    case LEADROUTE_VALUE_SET:
        if (v->item_count > LEADROUTE_MAX_SET_ITEMS)
            return lr__error_set(LEADROUTE_ELEAD, "lead field '%s': set has %zu items, more than %d", field,
                                 v->item_count, LEADROUTE_MAX_SET_ITEMS);
        if (v->item_count && !v->items)
            return lr__error_set(LEADROUTE_ELEAD, "lead field '%s': set items are NULL", field);
        for (i = 0; i < v->item_count; i++)
            if ((rc = lr__text_check(v->items[i], field, "set item", NULL)) != LEADROUTE_OK)
                return rc;
        return LEADROUTE_OK;
    default:
        return lr__error_set(LEADROUTE_ELEAD, "lead field '%s': unknown value type %u", field, v->type);
    }
}

int leadroute_value_init(leadroute_value *value, uint32_t version)
{
    static const leadroute_value init = LEADROUTE_VALUE_INIT;
    if (!value)
        return lr__error_set(LEADROUTE_EINVAL, "value is NULL");
    if (version == 0 || version > LEADROUTE_VALUE_VERSION)
        return lr__error_set(LEADROUTE_EVERSION, "leadroute_value version %u is not supported (1..%u)",
                             version, LEADROUTE_VALUE_VERSION);
    *value = init;
    value->version = version;
    return LEADROUTE_OK;
}

int leadroute_lead_init(leadroute_lead *lead, uint32_t version)
{
    static const leadroute_lead init = LEADROUTE_LEAD_INIT;
    if (!lead)
        return lr__error_set(LEADROUTE_EINVAL, "lead is NULL");
    if (version == 0 || version > LEADROUTE_LEAD_VERSION)
        return lr__error_set(LEADROUTE_EVERSION, "leadroute_lead version %u is not supported (1..%u)",
                             version, LEADROUTE_LEAD_VERSION);
    *lead = init;
    lead->version = version;
    return LEADROUTE_OK;
}

int lr__lead_header_error(const leadroute_lead *lead)
{
    if (!lead)
        return lr__error_set(LEADROUTE_EINVAL, "lead is NULL");
    if (lead->version == 0 || lead->version > LEADROUTE_LEAD_VERSION)
        return lr__error_set(LEADROUTE_EVERSION, "leadroute_lead version %u is not supported (1..%u)",
                             lead->version, LEADROUTE_LEAD_VERSION);
    if (lead->field_count > LEADROUTE_MAX_FIELDS)
        return lr__error_set(LEADROUTE_ELEAD, "lead has %zu fields, more than %d", lead->field_count,
                             LEADROUTE_MAX_FIELDS);
    if (lead->field_count && !lead->fields)
        return lr__error_set(LEADROUTE_EINVAL, "lead has %zu fields but fields is NULL", lead->field_count);
    return LEADROUTE_OK;
}

int leadroute_lead_validate(const leadroute_lead *lead)
{
    size_t i, j;
    int rc;
    if ((rc = lr__lead_check_header(lead)) != LEADROUTE_OK)
        return rc;
    if (lead->id && (rc = lr__text_check(lead->id, NULL, "id", NULL)) != LEADROUTE_OK)
        return rc;
    for (i = 0; i < lead->field_count; i++) {
        const leadroute_field *f = lr__lead_field(lead, i);
        size_t n;
        if (!f->name)
            return lr__error_set(LEADROUTE_ELEAD, "lead field %zu has no name", i);
        n = strnlen(f->name, LEADROUTE_MAX_NAME + 1);
        if (n == 0 || n > LEADROUTE_MAX_NAME)
            return lr__error_set(LEADROUTE_ELEAD, "lead field %zu: name must be 1 to %d bytes", i,
                                 LEADROUTE_MAX_NAME);
        if (!lr__utf8_valid(f->name, n))
            return lr__error_set(LEADROUTE_ELEAD, "lead field %zu: name is not valid UTF-8", i);
        if ((rc = lr__value_check(&f->value, f->name)) != LEADROUTE_OK)
            return rc;
        for (j = 0; j < i; j++)
            if (strcmp(lr__lead_field(lead, j)->name, f->name) == 0)
                return lr__error_set(LEADROUTE_ELEAD, "lead field '%s' appears twice", f->name);
    }
    return LEADROUTE_OK;
}
