/* Account keys: the company domain behind a lead's email address or
 * website, as owner-first routing matches it. */
#ifndef LR_ROUTER_ACCOUNT_H
#define LR_ROUTER_ACCOUNT_H

#include <stddef.h>

/* Room lr__account_domain needs at `out`: a host name of at most
 * LR_DOMAIN_MAX bytes, each of its labels decoded from punycode. */
#define LR_DOMAIN_MAX 253
#define LR_ACCOUNT_DOMAIN_CAP 1024

/* The account domain of `s` (NUL-terminated) into `out` (room for
 * LR_ACCOUNT_DOMAIN_CAP bytes), NUL-terminated; returns its length, 0 for
 * none. The domain is the host after the first '@' (an address as people
 * write it: "Ann <ann@acme.com>", "mailto:ann@acme.com?subject=x", a list
 * "a@acme.com; b@beta.io"), else, and when "//" comes before the '@', of
 * a bare domain or a website ("https://www.acme.com/contact?ref=a@b.io",
 * past a user before the host): up to the first byte no host name holds
 * (a blank, also a Unicode one, '>', ',', ';', '/', '?', ':' ...), without
 * trailing dots or leading "www."s, "xn--" labels decoded, case-folded.
 * None when that is not a host name of two labels or more, is longer than
 * LR_DOMAIN_MAX, or is or is under a free-mail domain. */
size_t lr__account_domain(const char *s, char *out);

/* Whether `dom` (folded) is a free-mail domain: one of a built-in list, or
 * a provider's country domain (yahoo.co.jp, hotmail.de, outlook.fr). */
int lr__free_mail(const char *dom);

/* The offset of the parent domain of `dom` (`n` bytes, folded) that may
 * stand for the same company: "acme.com" in "eu.acme.com", "acme.co.uk"
 * in "sales.acme.co.uk"; 0 when there is none (two labels, or a public
 * suffix such as "co.uk" would be left). */
size_t lr__account_parent(const char *dom, size_t n);

#endif
