/* Whole-file reads shared by the table, roster and leads loaders. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/error.h"
#include "base/file.h"

static int lr__file_error(const char *path, const char *what, int err)
{
    char eb[128];
    const char *dots, *shown = lr__path_tail(path, &dots);
    if (strerror_r(err, eb, sizeof eb) != 0) /* thread-safe, unlike strerror */
        snprintf(eb, sizeof eb, "error %d", err);
    return lr__error_set(LEADROUTE_EIO, "%s%s: %s: %s", dots, shown, what, eb);
}

int lr__file_read(const char *path, const lr__alloc *a, char **buf_out, size_t *len_out)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0;

    *buf_out = NULL;
    *len_out = 0;
    if (!fp)
        return lr__file_error(path, "cannot open", errno);
    for (;;) {
        size_t got;
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 65536;
            char *nb = ncap > cap ? lr__realloc(a, buf, len, ncap) : NULL;
            if (!nb) {
                lr__free(a, buf);
                fclose(fp);
                return lr__error_nomem();
            }
            buf = nb;
            cap = ncap;
        }
        got = fread(buf + len, 1, cap - len, fp);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(fp)) {
        int err = errno;
        lr__free(a, buf);
        fclose(fp);
        return lr__file_error(path, "cannot read", err);
    }
    fclose(fp);
    *buf_out = buf;
    *len_out = len;
    return LEADROUTE_OK;
}
