/* Account keys: the company domain behind a lead's email address or
 * website. Free-mail domains name people, not companies, and give none. */
#include <stdint.h>
#include <string.h>

#include "base/value.h"
#include "router/account.h"

/* A byte a host name may hold: letters, digits, '-', '.', '_' (seen in
 * the wild), and the bytes of non-ASCII characters (internationalised). */
static int lr__host_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c >= 0x80;
}

static int lr__letters(const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
            return 0;
    return n > 0;
}

/* ---- punycode (RFC 3492), for "xn--" labels ------------------------------ */

static uint32_t lr__puny_adapt(uint32_t delta, uint32_t points, int first)
{
    uint32_t k = 0;
    delta = first ? delta / 700 : delta / 2;
    delta += delta / points;
    while (delta > (35 * 26) / 2) {
        delta /= 35;
        k += 36;
    }
    return k + (36 * delta) / (delta + 38);
}

static size_t lr__utf8_put(uint32_t cp, char *out, size_t cap)
{
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x800) {
        if (cap < 2)
            return 0;
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        if (cap < 3)
            return 0;
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    if (cap < 4)
        return 0;
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* The label that punycode `in` (n bytes, after "xn--") encodes, as UTF-8
 * at `out` (room for `cap`); returns its length, 0 for what is not valid
 * punycode of a non-ASCII label (the label is then kept as written). */
static size_t lr__puny_decode(const char *in, size_t n, char *out, size_t cap)
{
    uint32_t cp[LR_DOMAIN_MAX], ncp = 0, i = 0, bias = 72, code = 128;
    size_t start = 0, j, o = 0, w;
    int extended = 0;
    for (j = n; j > 0; j--)
        if (in[j - 1] == '-') {
            /* the ASCII part, before the last '-' */
            for (start = 0; start < j - 1; start++) {
                if ((unsigned char)in[start] >= 0x80)
                    return 0;
                cp[ncp++] = (unsigned char)in[start];
            }
            start = j;
            break;
        }
    while (start < n) {
        uint32_t old = i, weight = 1, k;
        for (k = 36;; k += 36) {
            unsigned char c;
            uint32_t digit, t;
            if (start >= n)
                return 0;
            c = (unsigned char)in[start++];
            digit = c >= '0' && c <= '9' ? (uint32_t)(c - '0' + 26)
                    : c >= 'a' && c <= 'z' ? (uint32_t)(c - 'a')
                    : c >= 'A' && c <= 'Z' ? (uint32_t)(c - 'A')
                                           : 36;
            if (digit >= 36 || digit > (UINT32_MAX - i) / weight)
                return 0;
            i += digit * weight;
            t = k <= bias ? 1 : k >= bias + 26 ? 26 : k - bias;
            if (digit < t)
                break;
            if (weight > UINT32_MAX / (36 - t))
                return 0;
            weight *= 36 - t;
        }
        bias = lr__puny_adapt(i - old, ncp + 1, old == 0);
        if (i / (ncp + 1) > UINT32_MAX - code)
            return 0;
        code += i / (ncp + 1);
        i %= ncp + 1;
        /* no C1 control or no-break space, no surrogate: those are no letters */
        if (code < 0xA1 || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF) || ncp == LR_DOMAIN_MAX)
            return 0;
        memmove(cp + i + 1, cp + i, sizeof *cp * (ncp - i));
        cp[i++] = code;
        ncp++;
        extended = 1;
    }
    if (!extended)
        return 0;
    for (j = 0; j < ncp; j++) {
        if (cp[j] < 0x80) {
            if (o >= cap)
                return 0;
            out[o++] = (char)cp[j];
            continue;
        }
        if ((w = lr__utf8_put(cp[j], out + o, cap - o)) == 0)
            return 0;
        o += w;
    }
    return o;
}

/* ---- free mail ------------------------------------------------------------ */

/* Sorted by bytes: a binary search, since every lead with an email asks. */
static const char *const lr__free_mail_list[] = {
    "126.com", "139.com", "163.com", "188.com", "21cn.com", "aim.com", "alice.it", "aliyun.com", "aol.com",
    "arcor.de", "att.net", "bellsouth.net", "bigpond.com", "bigpond.net.au", "bluewin.ch",
    "blueyonder.co.uk", "bol.com.br", "btinternet.com", "charter.net", "comcast.net", "cox.net", "daum.net",
    "earthlink.net", "email.com", "excite.com", "fastmail.com", "fastmail.fm", "foxmail.com", "free.fr",
    "freenet.de", "gmail.com", "gmx.at", "gmx.ch", "gmx.com", "gmx.de", "gmx.net", "googlemail.com",
    "guerrillamail.com", "hanmail.net", "hetnet.nl", "home.nl", "hotmail.com", "hushmail.com", "icloud.com",
    "ig.com.br", "inbox.com", "inbox.ru", "interia.pl", "juno.com", "kpnmail.nl", "laposte.net",
    "libero.it", "list.ru", "live.com", "lycos.com", "mac.com", "mail.com", "mail.ru", "mailbox.org",
    "mailinator.com", "me.com", "msn.com", "nate.com", "naver.com", "ntlworld.com", "o2.pl", "onet.pl",
    "online.de", "online.no", "optonline.net", "optusnet.com.au", "orange.fr", "outlook.com", "planet.nl",
    "pm.me", "posteo.de", "proton.me", "protonmail.ch", "protonmail.com", "qq.com", "rambler.ru",
    "rediffmail.com", "rocketmail.com", "rogers.com", "sbcglobal.net", "seznam.cz", "sfr.fr", "shaw.ca",
    "sina.cn", "sina.com", "sky.com", "skynet.be", "sohu.com", "sympatico.ca", "t-online.de",
    "talktalk.net", "telenet.be", "telus.net", "terra.com.br", "tiscali.co.uk", "tiscali.it", "tuta.io",
    "tutanota.com", "tutanota.de", "ukr.net", "uol.com.br", "usa.com", "verizon.net", "virgilio.it",
    "virginmedia.com", "wanadoo.fr", "web.de", "wp.pl", "xs4all.nl", "xtra.co.nz", "ya.ru", "yahoo.com",
    "yandex.com", "yandex.ru", "yeah.net", "ymail.com", "yopmail.com", "ziggo.nl", "zoho.com",
};

/* Providers with a domain per country: yahoo.co.jp, hotmail.de, outlook.fr. */
static const char *const lr__free_mail_brands[] = {
    "aol", "gmail", "gmx", "googlemail", "hotmail", "icloud", "live", "msn", "outlook", "protonmail",
    "rocketmail", "windowslive", "yahoo", "yandex", "ymail",
};

/* Second-level labels under which country registries sell names: a name
 * ending in one and a country code ("co.uk", "com.br", "ne.jp") is no
 * company's, and neither is what stands under it alone. */
static const char *const lr__second_levels[] = {
    "ac", "co", "com", "edu", "go", "gob", "gov", "ltd", "mil", "ne", "net", "nic", "or", "org", "plc", "sch",
};

static int lr__in(const char *const *list, size_t count, const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < count; i++)
        if (strlen(list[i]) == n && memcmp(list[i], s, n) == 0)
            return 1;
    return 0;
}

/* "co.uk", "com.br": a second-level label and a country code. */
static int lr__registry_suffix(const char *s, size_t n)
{
    const char *dot = memchr(s, '.', n);
    if (!dot || n - (size_t)(dot + 1 - s) != 2 || !lr__letters(dot + 1, 2))
        return 0;
    return lr__in(lr__second_levels, sizeof lr__second_levels / sizeof *lr__second_levels, s, (size_t)(dot - s));
}

int lr__free_mail(const char *dom)
{
    size_t lo = 0, hi = sizeof lr__free_mail_list / sizeof *lr__free_mail_list, n;
    const char *dot, *rest;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(lr__free_mail_list[mid], dom);
        if (c == 0)
            return 1;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (!(dot = strchr(dom, '.')) ||
        !lr__in(lr__free_mail_brands, sizeof lr__free_mail_brands / sizeof *lr__free_mail_brands, dom,
                (size_t)(dot - dom)))
        return 0;
    /* the brand's country domain: "com", "net", a country code, or "co.uk" and the like */
    rest = dot + 1;
    n = strlen(rest);
    if (!strchr(rest, '.'))
        return (n == 2 && lr__letters(rest, 2)) || strcmp(rest, "com") == 0 || strcmp(rest, "net") == 0;
    return lr__registry_suffix(rest, n);
}

/* ---- the domain ----------------------------------------------------------- */

/* Whether `n` bytes of UTF-8 at `s` hold a Unicode blank. */
static int lr__has_blank(const char *s, size_t n)
{
    size_t j;
    for (j = 0; j < n; j++)
        if ((unsigned char)s[j] >= 0xC2) {
            char t[4] = { s[j], j + 1 < n ? s[j + 1] : 0, j + 2 < n ? s[j + 2] : 0, 0 };
            if (lr__unicode_blank(t))
                return 1;
        }
    return 0;
}

/* Whether folded `dom` or a domain it is under is free mail ("vip.qq.com"). */
static int lr__under_free_mail(const char *dom)
{
    for (; dom && strchr(dom, '.'); dom = strchr(dom, '.') + 1)
        if (lr__free_mail(dom))
            return 1;
    return 0;
}

size_t lr__account_domain(const char *s, char *out)
{
    const char *p = lr__skip_blanks(s), *q, *at = strchr(p, '@'), *scheme = strstr(p, "//");
    size_t n, o = 0, i;
    if (at && !(scheme && scheme < at)) {
        /* an address, its host after the first '@' */
        p = lr__skip_blanks(at + 1);
    } else {
        /* a domain or a website: past a scheme ("https://") or "//", and a
         * user before its host ("https://user@acme.com/x") */
        for (q = p; (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (q > p && *q >= '0' && *q <= '9') ||
                    (q > p && (*q == '+' || *q == '-' || *q == '.'));
             q++)
            ;
        if (q > p && q[0] == ':' && q[1] == '/' && q[2] == '/')
            p = q + 3;
        else if (p[0] == '/' && p[1] == '/')
            p += 2;
        q = p + strcspn(p, "@/?#");
        if (*q == '@')
            p = q + 1;
    }
    for (n = 0; lr__host_byte((unsigned char)p[n]) && !lr__unicode_blank(p + n); n++)
        if (n == LR_DOMAIN_MAX + 64)
            return 0; /* no host name, even with dots to drop */
    while (n && p[n - 1] == '.')
        n--;
    while (n > 4 && lr__equal_ci(p, 4, "www.") && memchr(p + 4, '.', n - 4)) {
        p += 4;
        n -= 4;
    }
    if (n == 0 || n > LR_DOMAIN_MAX || !memchr(p, '.', n) || p[0] == '.' || p[0] == '-')
        return 0;
    /* label by label: ".." is no host name; "xn--" labels decoded, unless
     * what they decode to is no label: a blank in it, or a '-' to start the
     * name (the name as written stands then) */
    for (i = 0; i < n;) {
        const char *dot = memchr(p + i, '.', n - i);
        size_t len = dot ? (size_t)(dot - (p + i)) : n - i, w = 0;
        if (len == 0)
            return 0;
        if (len > 4 && lr__equal_ci(p + i, 4, "xn--")) {
            w = lr__puny_decode(p + i + 4, len - 4, out + o, LR_ACCOUNT_DOMAIN_CAP - 2 - o);
            if (w && (lr__has_blank(out + o, w) || (o == 0 && out[0] == '-')))
                w = 0;
        }
        if (w == 0) {
            memcpy(out + o, p + i, len);
            w = len;
        }
        o += w;
        i += len;
        if (i < n) {
            out[o++] = '.';
            i++;
        }
    }
    lr__fold(out, o, out);
    out[o] = 0;
    return lr__under_free_mail(out) ? 0 : o;
}

size_t lr__account_parent(const char *dom, size_t n)
{
    const char *dot = memchr(dom, '.', n), *rest;
    size_t m;
    if (!dot)
        return 0;
    rest = dot + 1;
    m = n - (size_t)(rest - dom);
    /* what is left keeps two labels, and is no "co.uk" */
    if (!memchr(rest, '.', m) || lr__registry_suffix(rest, m))
        return 0;
    return (size_t)(rest - dom);
}
