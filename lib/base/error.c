/* Error codes, their text, and the thread-local last error. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "base/value.h"

#define LR__MESSAGE_MAX 1024

typedef struct lr__error_state {
    leadroute_error error;
    char message[LR__MESSAGE_MAX];
    char file[4096 + 1];  /* a path as long as Linux allows */
} lr__error_state;

static _Thread_local lr__error_state lr__last = { { LEADROUTE_OK, "", NULL, 0, 0 }, { 0 }, { 0 } };

/* Errors recorded on this thread, and their number when a host callback
 * was last called (lr__error_mark). */
static _Thread_local uint64_t lr__errors_set, lr__errors_at_mark;

void lr__error_mark(void)
{
    lr__errors_at_mark = lr__errors_set;
}

int lr__error_since_mark(void)
{
    return lr__errors_set != lr__errors_at_mark;
}

const char *leadroute_strerror(int code)
{
    switch (code) {
    case LEADROUTE_OK: return "no error";
    case LEADROUTE_EINVAL: return "invalid argument";
    case LEADROUTE_EVERSION: return "unsupported struct version";
    case LEADROUTE_ENOMEM: return "out of memory";
    case LEADROUTE_EPARSE: return "malformed table text";
    case LEADROUTE_ETABLE: return "invalid table";
    case LEADROUTE_ELEAD: return "invalid lead";
    case LEADROUTE_EHITPOLICY: return "hit policy violated";
    case LEADROUTE_ERANGE: return "out of range";
    case LEADROUTE_EIO: return "input/output error";
    case LEADROUTE_ELIMIT: return "limit exceeded";
    case LEADROUTE_ENOTFOUND: return "not found";
    case LEADROUTE_EUSER: return "error reported by a host callback";
    case LEADROUTE_ENOTSUP: return "not supported";
    case LEADROUTE_ECONFLICT: return "conflicting update";
    case LEADROUTE_EEXISTS: return "already exists";
    case LEADROUTE_ECALLBACK: return "host callback failed";
    default: return "unknown error";
    }
}

const leadroute_error *leadroute_error_last(void)
{
    if (lr__last.error.message == NULL)
        lr__last.error.message = "";
    return &lr__last.error;
}

void leadroute_error_clear(void)
{
    lr__last.error.code = LEADROUTE_OK;
    lr__last.message[0] = '\0';
    lr__last.error.message = lr__last.message;
    lr__last.error.file = NULL;
    lr__last.error.line = 0;
    lr__last.error.column = 0;
}

size_t lr__char_shown(const char *src, size_t n, size_t i, int *escape)
{
    unsigned char c = (unsigned char)src[i];
    size_t len = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    *escape = c < 0x20 || c == 0x7f ||
              (c >= 0x80 && (len > n - i || !lr__utf8_valid(src + i, len) || lr__text_breaker(src + i, len)));
    return *escape ? 1 : len;
}

void lr__message_clean(char *dst, size_t cap, const char *src)
{
    static const char hex[] = "0123456789abcdef";
    size_t i = 0, o = 0, n = strlen(src), whole = 0;
    int escape;

    /* cut (and end in "...") only what does not fit whole */
    while (i < n && whole < cap) {
        size_t len = lr__char_shown(src, n, i, &escape);
        whole += escape ? 4 : len;
        i += len;
    }
    for (i = 0; i < n;) {
        size_t len = lr__char_shown(src, n, i, &escape);
        if (whole > cap - 1 && o + (escape ? 4 : len) > cap - 4) {
            memcpy(dst + o, "...", 3);
            o += 3;
            break;
        }
        if (escape) {
            unsigned char c = (unsigned char)src[i];
            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = hex[c >> 4];
            dst[o++] = hex[c & 15];
        } else {
            memcpy(dst + o, src + i, len);
            o += len;
        }
        i += len;
    }
    dst[o] = '\0';
}

const char *lr__path_tail(const char *path, const char **dots)
{
    size_t len = strlen(path);
    const char *shown = len > 200 ? path + len - 197 : path;
    while (shown > path && ((unsigned char)*shown & 0xC0) == 0x80)
        shown++;
    *dots = shown > path ? "..." : "";
    return shown;
}

static int lr__error_vset(int code, const char *file, uint32_t line, uint32_t column,
                          const char *fmt, va_list ap) LR__PRINTF(5, 0);

static int lr__error_vset(int code, const char *file, uint32_t line, uint32_t column,
                          const char *fmt, va_list ap)
{
    lr__error_state *st = &lr__last;
    size_t off = 0;
    /* The message may be built from the previous message: format into a
     * copy, big enough that only lr__message_clean cuts it. */
    char tmp[4 * LR__MESSAGE_MAX];

    if (file) {
        /* the message shows the end of a long path, so that the error
         * itself still fits; `file` keeps it whole */
        const char *dots, *shown = lr__path_tail(file, &dots);
        snprintf(st->file, sizeof st->file, "%s", file);
        if (line && column)
            off = (size_t)snprintf(tmp, sizeof tmp, "%s%s:%u:%u: ", dots, shown, line, column);
        else if (line)
            off = (size_t)snprintf(tmp, sizeof tmp, "%s%s:%u: ", dots, shown, line);
        else
            off = (size_t)snprintf(tmp, sizeof tmp, "%s%s: ", dots, shown);
        if (off >= sizeof tmp)
            off = sizeof tmp - 1;
    }
    vsnprintf(tmp + off, sizeof tmp - off, fmt, ap);
    lr__message_clean(st->message, LR__MESSAGE_MAX, tmp);
    st->error.code = code;
    st->error.message = st->message;
    st->error.file = file ? st->file : NULL;
    lr__errors_set++;
    st->error.line = line;
    st->error.column = column;
    return code;
}

int lr__error_set(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lr__error_vset(code, NULL, 0, 0, fmt, ap);
    va_end(ap);
    return code;
}

int lr__error_set_at(int code, const char *file, uint32_t line, uint32_t column, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lr__error_vset(code, file, line, column, fmt, ap);
    va_end(ap);
    return code;
}

int lr__error_nomem(void)
{
    return lr__error_set(LEADROUTE_ENOMEM, "out of memory");
}
