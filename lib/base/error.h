/* Thread-local last error. */
#ifndef LR_BASE_ERROR_H
#define LR_BASE_ERROR_H

#include <stdint.h>
#include "leadroute/common.h"

#if defined(__GNUC__)
#define LR__PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define LR__PRINTF(a, b)
#endif

/* Set the calling thread's last error; returns `code` so callers can
 * `return lr__error_set(...)`. */
int lr__error_set(int code, const char *fmt, ...) LR__PRINTF(2, 3);

/* Same, with a source location: the message becomes "file:line:col: ..."
 * (or "file:line: ..." without a column). A NULL file means there is no
 * location (a table built through the API): the plain message is set. */
int lr__error_set_at(int code, const char *file, uint32_t line, uint32_t column,
                     const char *fmt, ...) LR__PRINTF(5, 6);

/* Shorthand for an allocation failure. */
int lr__error_nomem(void);

/* Before a host callback: remember how many errors this thread has
 * recorded, so that a failure of the callback can tell whether the last
 * error is the callback's own (set by library calls it made) or older. */
void lr__error_mark(void);
/* Whether an error was recorded on this thread since lr__error_mark(). */
int lr__error_since_mark(void);

/* The length of character `i` of `src` (n bytes) and in *escape whether
 * it must be shown as \xNN, byte by byte: a control character (C0, DEL,
 * C1), a line or paragraph separator, a byte order mark, or a byte of no
 * valid sequence (then the length is 1). Messages and explanations show
 * text so, one line whatever it holds. */
size_t lr__char_shown(const char *src, size_t n, size_t i, int *escape);

/* Copy a formatted message into `dst` (`cap` bytes, at least 8) as one line
 * of valid UTF-8, whatever text it quotes: a control character (C0, DEL,
 * C1), a line or paragraph separator (U+2028, U+2029), or a byte that
 * does not start a valid UTF-8 character, becomes \xNN per byte. A message
 * that does not fit ends with "..." after its last whole character. */
void lr__message_clean(char *dst, size_t cap, const char *src);

/* "s" after a count in a message, except after 1: "1 cell", "2 cells". */
static inline const char *lr__plural_s(uint64_t n)
{
    return n == 1 ? "" : "s";
}

/* The end of `path` a message shows: its last 197 bytes or so, from a
 * character's start, with `*dots` "..." when cut (else ""). */
const char *lr__path_tail(const char *path, const char **dots);

#endif
