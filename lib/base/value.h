/* Value checks and normalisation shared by leads and tables. */
#ifndef LR_BASE_VALUE_H
#define LR_BASE_VALUE_H

#include <stddef.h>
#include "leadroute/value.h"

/* Strict UTF-8 check (no overlongs, no surrogates, <= U+10FFFF). */
int lr__utf8_valid(const char *s, size_t len);

/* Offset of the first byte that does not start a valid UTF-8 character
 * (by the same rules), or `len` when all are valid. */
size_t lr__utf8_invalid_at(const char *s, size_t len);

/* Length and validity of a NUL-terminated string in one pass: 0 with *len
 * set, -1 when longer than `max` bytes, -2 when not valid UTF-8. */
int lr__text_measure(const char *s, size_t max, size_t *len);

/* What in valid UTF-8 text would break the one line a message, a CSV row
 * or a JSON text embedded in JavaScript keeps it on: "a control character"
 * (C0, DEL or C1), "a line separator" (U+2028) or "a paragraph separator"
 * (U+2029); or hide in a name, unseen, so that it matches nothing: "a byte
 * order mark (U+FEFF)", as a second file pasted after a first leaves one.
 * NULL for none. Ids and column names are checked with it, and messages
 * show such bytes escaped. */
const char *lr__text_breaker(const char *s, size_t len);

/* Parse a decimal number: [+-]digits[.digits][(e|E)[+-]digits], the whole
 * text, locale-independent, finite. Returns 0 on success, -1 for text
 * outside that grammar, -2 for a number too large for a double (1e400). */
int lr__parse_number(const char *s, size_t len, double *out);

/* A lead's text in a number field that lr__parse_number() refused with
 * `prc`: LEADROUTE_ELEAD, with a message that says which way. */
int lr__lead_number_text_error(const char *field, const char *s, size_t len, int prc);

/* The one-time, process-wide set-up lr__parse_number and
 * lr__format_double share (a C locale object). They run it on their first
 * call; compiling a table runs it first, so that evaluations, which read
 * numbers from text, never allocate or wait for it. */
void lr__number_setup(void);

/* The length of the longest start of s[0..n) within `max` bytes that ends
 * on a character boundary: where a message may cut a text. */
size_t lr__utf8_cut(const char *s, size_t n, size_t max);

/* A value as messages show it: 'text' (cut at 40 bytes, on a character
 * boundary), a number, true, false or null; NUL-terminated within `cap`. */
void lr__value_show(const leadroute_value *v, char *buf, size_t cap);

/* The shortest decimal text that reads back as `v`, in the C locale
 * whatever the host's locale ("0.5", never "0,5"); NUL-terminated within
 * `cap` bytes. Returns the full length. */
size_t lr__format_double(char *buf, size_t cap, double v);

/* Does `len` bytes at `s` equal the lower-case ASCII `word`, ignoring ASCII case? */
int lr__equal_ci(const char *s, size_t len, const char *word);

/* Strip ASCII white space at both ends. */
/* The blanks lr__trim removes: ASCII space, tab, CR, LF, form feed and
 * vertical tab. */
int lr__is_space(char c);
void lr__trim(const char **s, size_t *len);

/* The length of the Unicode blank at `s` (U+00A0, U+2000..U+200B, U+2028,
 * U+2029, U+202F, U+205F, U+3000, U+FEFF), else 0. Reads past s[0] only
 * while the bytes match, so never past a NUL. */
size_t lr__unicode_blank(const char *s);

/* The first byte of NUL-terminated `s` past its ASCII and Unicode blanks. */
const char *lr__skip_blanks(const char *s);

/* lr__trim, and Unicode blanks (lr__unicode_blank) at both ends; the
 * string must go on past `*len` to a NUL. */
void lr__trim_blanks(const char **s, size_t *len);

/* Case-fold `len` bytes of UTF-8 into `out` (room for `len` bytes: folding
 * never changes the length). ASCII, Latin-1, Greek and Coptic, and Cyrillic
 * (with its supplement) capitals. */
void lr__fold(const char *s, size_t len, char *out);

/* Check a string of a lead: not NULL, at most LEADROUTE_MAX_STRING bytes,
 * valid UTF-8; *len (if not NULL) gets its length. `field` names the field
 * in the message (NULL: the lead itself), `part` what was checked. */
int lr__text_check(const char *s, const char *field, const char *part, size_t *len);

/* Validate the value of lead field `field` (version, UTF-8, length,
 * finite, set size). Returns LEADROUTE_OK or an error set. */
int lr__value_check(const leadroute_value *v, const char *field);

#endif
