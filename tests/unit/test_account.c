/* Account keys: the company domain behind an email address or a website,
 * as people and forms write them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/value.h"
#include "router/account.h"

/* lr__account_domain of `in`, "" for none. */
static const char *domain_of(const char *in)
{
    static char out[LR_ACCOUNT_DOMAIN_CAP];
    size_t n = lr__account_domain(in, out);
    if (n == 0)
        return "";
    assert_int_equal(strlen(out), n);
    return out;
}

/* The domain of `in` is `want`, and a domain is its own (short enough to
 * be read again: decoding may lengthen it past a host name's length). */
#define EXPECT(in, want)                                                                  \
    do {                                                                                  \
        const char *got_ = domain_of(in);                                                 \
        char again_[LR_ACCOUNT_DOMAIN_CAP];                                               \
        if (strcmp(got_, want) != 0)                                                      \
            fail_msg("%s: got \"%s\", want \"%s\"", in, got_, want);                      \
        strcpy(again_, got_);                                                             \
        if (again_[0] && strlen(again_) <= LR_DOMAIN_MAX && strcmp(domain_of(again_), again_) != 0) \
            fail_msg("%s: its domain %s is not its own", in, again_);                      \
    } while (0)

static void test_plain_forms(void **state)
{
    (void)state;
    EXPECT("ann@acme.com", "acme.com");
    EXPECT("  Ann@ACME.Com.  ", "acme.com");
    EXPECT("acme.com", "acme.com");
    EXPECT("mailto:ann@acme.com", "acme.com");
    EXPECT("ann+leads@acme.com", "acme.com");
    EXPECT("ann@sub-1.acme_x.io", "sub-1.acme_x.io");
    /* no host name: none */
    EXPECT("", "");
    EXPECT("ann", "");
    EXPECT("ann@", "");
    EXPECT("ann@localhost", "");
    EXPECT("ann@.acme.com", "");
    EXPECT("ann@-acme.com", "");
    EXPECT("ann@acme..com", "");
    EXPECT("ann @ acme com", "");
    EXPECT("@", "");
    EXPECT("...", "");
}

/* Addresses as forms and CRMs pass them: the host ends at the first byte
 * no host name holds. */
static void test_decorated_addresses(void **state)
{
    (void)state;
    EXPECT("Ann Lee <ann@acme.com>", "acme.com");
    EXPECT("\"Lee, Ann\" <ann@acme.com>", "acme.com");
    EXPECT("ann@acme.com;", "acme.com");
    EXPECT("ann@acme.com, bob@beta.io", "acme.com"); /* the first address */
    EXPECT("ann@acme.com; bob@beta.io", "acme.com");
    EXPECT("mailto:ann@acme.com?subject=hello", "acme.com");
    EXPECT("ann@acme.com\xc2\xa0", "acme.com");         /* a no-break space */
    EXPECT("ann@acme.com\xe2\x80\x8b", "acme.com");     /* a zero-width space */
    EXPECT("\xef\xbb\xbf" "acme.com", "acme.com");      /* a byte order mark */
    EXPECT("\xc2\xa0 ann@ \xe3\x80\x80" "acme.com", "acme.com");
    EXPECT("(ann@acme.com)", "acme.com");
    EXPECT("ann@acme.com:8080", "acme.com");
    /* ASCII blanks and no-break spaces between labels end the host too */
    EXPECT("ann@acme .com", "");
}

static void test_websites(void **state)
{
    (void)state;
    EXPECT("https://www.acme.com/contact?x=1", "acme.com");
    EXPECT("http://acme.com", "acme.com");
    EXPECT("HTTPS://WWW.ACME.COM", "acme.com");
    EXPECT("www.acme.com", "acme.com");
    EXPECT("www.acme.com/", "acme.com");
    EXPECT("//acme.com/x", "acme.com");
    EXPECT("acme.com:443/path#top", "acme.com");
    EXPECT("https://user@acme.com/x", "acme.com");
    EXPECT("www.com", "www.com");           /* "www." only goes when a domain is left */
    EXPECT("www.www.acme.com", "acme.com");
    /* an '@' past the host is the website's, not an address */
    EXPECT("https://www.acme.com/contact?ref=bob@beta.io", "acme.com");
    EXPECT("https://medium.com/@acme", "medium.com");
    EXPECT("wwwacme.com", "wwwacme.com");
    EXPECT("https://", "");
}

/* Internationalised domains, written or encoded, are one account. */
static void test_international(void **state)
{
    (void)state;
    EXPECT("info@b\xc3\xbc" "cher.de", "b\xc3\xbc" "cher.de");
    EXPECT("info@xn--bcher-kva.de", "b\xc3\xbc" "cher.de");
    EXPECT("info@XN--BCHER-KVA.DE", "b\xc3\xbc" "cher.de");
    EXPECT("info@B\xc3\x9c" "CHER.de", "b\xc3\xbc" "cher.de");  /* BÜCHER folds */
    /* RFC 3492's sample (Arabic, Egyptian) and a label of Japanese */
    EXPECT("x@xn--egbpdaj6bu4bxfgehfvwxn.example",
           "\xd9\x84\xd9\x8a\xd9\x87\xd9\x85\xd8\xa7\xd8\xa8\xd8\xaa\xd9\x83\xd9\x84\xd9\x85\xd9\x88\xd8\xb4\xd8\xb9"
           "\xd8\xb1\xd8\xa8\xd9\x8a\xd8\x9f.example");
    EXPECT("x@xn--wgv71a119e.jp", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e.jp");
    /* decoded to a blank, or to a '-' that starts the name: kept as written */
    EXPECT("x@xn--gmail-ts3b.com", "xn--gmail-ts3b.com");
    EXPECT("x@xn----bche-krer.de", "xn----bche-krer.de");
    /* not valid punycode, or a control character or a blank: kept as written */
    EXPECT("x@xn--.de", "xn--.de");
    EXPECT("x@xn--abc-.de", "xn--abc-.de");
    EXPECT("x@xn--99999999999999.de", "xn--99999999999999.de");
    EXPECT("x@xn--a.de", "xn--a.de");
}

static void test_free_mail(void **state)
{
    static const char *const free_mail[] = {
        "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "yahoo.com", "gmx.de", "web.de", "qq.com",
        "icloud.com", "proton.me", "mail.ru", "yahoo.co.jp", "yahoo.co.uk", "yahoo.de", "yahoo.com.br",
        "ymail.com", "hotmail.co.uk", "hotmail.de", "hotmail.fr", "live.co.uk", "outlook.de", "aol.de", "pm.me",
        "protonmail.ch", "t-online.de", "orange.fr", "free.fr", "libero.it", "naver.com", "126.com",
        "yandex.com", "gmx.at", "comcast.net", "btinternet.com", "uol.com.br",
    };
    /* mailboxes under a free-mail domain are free mail too */
    EXPECT("li.wei@vip.qq.com", "");
    EXPECT("x@mail.yahoo.co.jp", "");
    static const char *const companies[] = {
        "acme.com", "live.acme.com", "yahoo.acme.com", "mail.acme.de", "gmailer.com", "outlooks.com", "hotmail.app",
        "webde.com", "acme.co.uk",
    };
    char in[64];
    (void)state;
    for (size_t i = 0; i < sizeof free_mail / sizeof *free_mail; i++) {
        snprintf(in, sizeof in, "Some One <some.one@%s>", free_mail[i]);
        EXPECT(in, "");
        snprintf(in, sizeof in, "x@%s", free_mail[i]);
        for (char *p = in; *p; p++)
            *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
        EXPECT(in, "");
        assert_true(lr__free_mail(free_mail[i]));
    }
    for (size_t i = 0; i < sizeof companies / sizeof *companies; i++) {
        snprintf(in, sizeof in, "x@%s", companies[i]);
        EXPECT(in, companies[i]);
    }
}

/* The parents that may stand for the same company, never a registry's
 * suffix. */
static void test_parents(void **state)
{
    static const struct {
        const char *dom, *parent;
    } cases[] = {
        { "eu.acme.com", "acme.com" },       { "a.b.acme.com", "b.acme.com" },
        { "sales.acme.co.uk", "acme.co.uk" }, { "acme.co.uk", NULL },
        { "acme.com", NULL },                { "com", NULL },
        { "x.acme.com.br", "acme.com.br" },  { "eu.ibm.de", "ibm.de" },
        { "shop.acme.ne.jp", "acme.ne.jp" },
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t at = lr__account_parent(cases[i].dom, strlen(cases[i].dom));
        if (!cases[i].parent ? at != 0 : strcmp(cases[i].dom + at, cases[i].parent) != 0 || at == 0)
            fail_msg("%s: parent at %zu", cases[i].dom, at);
    }
}

/* Too long for a host name: none, and no read or write past the buffers. */
static void test_lengths(void **state)
{
    char in[2048], want[300];
    (void)state;
    /* 253 bytes: the longest host name */
    memset(in, 0, sizeof in);
    memcpy(in, "x@", 2);
    for (size_t i = 0; i < 249; i++)
        in[2 + i] = 'a';
    memcpy(in + 2 + 249, ".com", 5);
    memcpy(want, in + 2, 254);
    EXPECT(in, want);
    in[2 + 249] = 'a';
    memcpy(in + 2 + 250, ".com", 5);
    EXPECT(in, "");
    /* labels of punycode that grow fourfold when decoded: 40 times U+10000 */
    memset(in, 0, sizeof in);
    strcpy(in, "x@");
    for (int i = 0; i < 5; i++) {
        strcat(in, "xn--2n7c");
        for (int j = 0; j < 39; j++)
            strcat(in, "a");
        strcat(in, ".");
    }
    strcat(in, "jp");
    assert_int_equal(strlen(domain_of(in)), 5 * 161 + 2);
    /* a long run of host bytes with no end in sight */
    memset(in, 'a', sizeof in - 1);
    in[sizeof in - 1] = 0;
    in[10] = '.';
    EXPECT(in, "");
}

/* Unicode blanks: only whole ones, and no read past a NUL. */
static void test_unicode_blanks(void **state)
{
    (void)state;
    assert_int_equal(lr__unicode_blank("\xc2\xa0"), 2);
    assert_int_equal(lr__unicode_blank("\xe2\x80\x8b"), 3);
    assert_int_equal(lr__unicode_blank("\xe2\x80\x8c"), 0); /* a zero-width joiner holds words together */
    assert_int_equal(lr__unicode_blank("\xe2\x80"), 0);
    assert_int_equal(lr__unicode_blank("\xe2\x80" "a"), 0);
    assert_int_equal(lr__unicode_blank("\xc2"), 0);
    assert_int_equal(lr__unicode_blank("a"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_forms),     cmocka_unit_test(test_decorated_addresses),
        cmocka_unit_test(test_websites),        cmocka_unit_test(test_international),
        cmocka_unit_test(test_free_mail),       cmocka_unit_test(test_parents),
        cmocka_unit_test(test_lengths),         cmocka_unit_test(test_unicode_blanks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
