/* Reading a whole file, for the *_load() functions. */
#ifndef LR_BASE_FILE_H
#define LR_BASE_FILE_H

#include <stddef.h>
#include "base/alloc.h"

/* Read `path` into a buffer from `a` (*buf, *len; free it with lr__free).
 * LEADROUTE_EIO naming the path and the system's reason, or ENOMEM. */
int lr__file_read(const char *path, const lr__alloc *a, char **buf, size_t *len);

#endif
