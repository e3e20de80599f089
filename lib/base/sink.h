/* Text written into a caller's buffer of `cap` bytes: what fits is kept,
 * the rest only counted, so one pass gives both the text and the length it
 * needs, with no allocation. A cut text ends on a UTF-8 character boundary
 * and is NUL-terminated. */
#ifndef LR_BASE_SINK_H
#define LR_BASE_SINK_H

#include <stddef.h>

#include "base/error.h"

typedef struct lr__sink {
    char *buf;
    size_t cap;          /* bytes of buf, NUL included; 0: count only */
    size_t len;          /* full length so far */
    int cut;             /* a byte did not fit */
    unsigned char first; /* the first byte that did not fit */
} lr__sink;

void lr__sink_init(lr__sink *o, char *buf, size_t cap);
void lr__sink_put(lr__sink *o, const char *s, size_t n);
void lr__sink_puts(lr__sink *o, const char *s);
/* printf-style; a piece over 255 bytes is cut (callers format numbers and
 * short names; long text goes through lr__sink_put). */
void lr__sink_fmt(lr__sink *o, const char *fmt, ...) LR__PRINTF(2, 3);
/* A string literal, its length counted by the compiler. */
#define LR_SINK_LIT(o, lit) lr__sink_put((o), (lit), sizeof(lit) - 1)
/* NUL-terminate (before a character the cut would split) and give the full
 * length, NUL excluded, in *needed (may be NULL). Returns LEADROUTE_OK. */
int lr__sink_finish(lr__sink *o, size_t *needed);

#endif
