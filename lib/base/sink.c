/* Bounded text output; see sink.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/sink.h"

void lr__sink_init(lr__sink *o, char *buf, size_t cap)
{
    o->buf = buf;
    o->cap = cap;
    o->len = 0;
    o->cut = 0;
    o->first = 0;
}

void lr__sink_put(lr__sink *o, const char *s, size_t n)
{
    size_t keep = o->cap ? o->cap - 1 : 0;
    size_t room = o->len < keep ? keep - o->len : 0;
    if (room)
        memcpy(o->buf + o->len, s, n < room ? n : room);
    if (n > room && !o->cut) {
        o->cut = 1;
        o->first = (unsigned char)s[room];
    }
    o->len += n;
}

void lr__sink_puts(lr__sink *o, const char *s)
{
    lr__sink_put(o, s, strlen(s));
}

void lr__sink_fmt(lr__sink *o, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        lr__sink_put(o, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

int lr__sink_finish(lr__sink *o, size_t *needed)
{
    if (o->cap) {
        size_t end = o->len < o->cap - 1 ? o->len : o->cap - 1;
        /* a kept prefix ending inside a character loses that character's
         * first bytes too: back over the continuation bytes that follow */
        unsigned char next = o->first;
        while (o->cut && end > 0 && (next & 0xC0) == 0x80)
            next = (unsigned char)o->buf[--end];
        o->buf[end] = '\0';
    }
    if (needed)
        *needed = o->len;
    return LEADROUTE_OK;
}
