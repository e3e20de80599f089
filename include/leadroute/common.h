/*
 * libleadroute: common definitions (export macro, version, errors, allocator).
 * SPDX-License-Identifier: MIT
 */
#ifndef LEADROUTE_COMMON_H
#define LEADROUTE_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @file
 * Definitions shared by every libleadroute module.
 *
 * ABI policy: every public struct but ::leadroute_error starts with
 * `uint32_t version`, only ever grows at its end, and has a `*_VERSION`
 * macro. Structs a caller fills in as values (allocator, value, lead, rule,
 * table options, rep, pool, router options) also have an `*_INIT` macro and
 * an `*_init()` function; structs the library fills for the caller
 * (diagnostic, tick and latency statistics) an `*_INIT` macro; callback
 * tables the host defines (store, availability, notify, clock) and the
 * records handed to them (assignment, commit) set `version` to their
 * `*_VERSION`. The library rejects version 0 and versions newer than it
 * knows with ::LEADROUTE_EVERSION. ::leadroute_error belongs to the library
 * and is only read. Error codes are pinned forever.
 */

#if defined(LEADROUTE_BUILDING) && defined(__GNUC__)
#define LEADROUTE_API __attribute__((visibility("default")))
#else
#define LEADROUTE_API
#endif

/** Version of the headers, checked against leadroute_version_number(). */
#define LEADROUTE_VERSION_MAJOR 0
#define LEADROUTE_VERSION_MINOR 1
#define LEADROUTE_VERSION_PATCH 0
#define LEADROUTE_VERSION_NUMBER \
    (LEADROUTE_VERSION_MAJOR * 10000 + LEADROUTE_VERSION_MINOR * 100 + LEADROUTE_VERSION_PATCH)
#define LEADROUTE_VERSION_STRING "0.1.0"

/** Limits enforced on every input, so a caller learns early and clearly. */
#define LEADROUTE_MAX_STRING 4096     /**< bytes in one string value or table cell */
#define LEADROUTE_MAX_NAME 256        /**< bytes in a field, column or rule id */
#define LEADROUTE_MAX_SET_ITEMS 256   /**< items in one set value */
#define LEADROUTE_MAX_FIELDS 1024     /**< fields in one lead */
#define LEADROUTE_MAX_COLUMNS 256     /**< input or output columns in one table */
#define LEADROUTE_MAX_RULES 4000000   /**< rules in one table */

/**
 * Error codes. Negative, pinned forever: a retired code keeps its number.
 * Every failing call also sets the thread's last error (leadroute_error_last()).
 */
typedef enum leadroute_error_code {
    LEADROUTE_OK = 0,
    LEADROUTE_EINVAL = -1,      /**< invalid argument: NULL, unknown enum, bad name */
    LEADROUTE_EVERSION = -2,    /**< struct version is 0 or newer than this library */
    LEADROUTE_ENOMEM = -3,      /**< an allocation failed; nothing was changed */
    LEADROUTE_EPARSE = -4,      /**< table text is malformed (message has file:line:col) */
    LEADROUTE_ETABLE = -5,      /**< table is well formed but invalid (types, ids, policy) */
    LEADROUTE_ELEAD = -6,       /**< lead is invalid: bad UTF-8, too long, NaN, wrong type */
    LEADROUTE_EHITPOLICY = -7,  /**< evaluation violated the hit policy (UNIQUE, ANY) */
    LEADROUTE_ERANGE = -8,      /**< index out of range, or a buffer too small */
    LEADROUTE_EIO = -9,         /**< a file could not be read */
    LEADROUTE_ELIMIT = -10,     /**< a documented limit was exceeded */
    LEADROUTE_ENOTFOUND = -11,  /**< no such name or id */
    LEADROUTE_EUSER = -12,      /**< never produced by the library: host callbacks return it */
    LEADROUTE_ENOTSUP = -13,    /**< operation not supported by this object */
    LEADROUTE_ECONFLICT = -14,  /**< a compare-and-swap lost: state changed meanwhile (retry) */
    LEADROUTE_EEXISTS = -15,    /**< already there: a claimed key, a duplicate id */
    LEADROUTE_ECALLBACK = -16   /**< a host callback failed (the message names it and its code) */
} leadroute_error_code;

/**
 * The last error raised on the calling thread. Library-owned and
 * thread-local: never allocate, copy by value or free it; it may grow at its
 * end in later versions.
 */
typedef struct leadroute_error {
    int code;             /**< a ::leadroute_error_code, LEADROUTE_OK if none */
    const char *message;  /**< never NULL; "" when there is no error; one line of
                               valid UTF-8, at most 1023 bytes: quoted text shows
                               control characters (C0, DEL, C1), U+2028, U+2029, U+FEFF
                               and bytes that start no UTF-8 character as \xNN
                               per byte, and a message cut short ends with
                               "..." */
    const char *file;     /**< table file of a parse error, else NULL */
    uint32_t line;        /**< 1-based line of a parse error, else 0 */
    uint32_t column;      /**< 1-based column (bytes) of a parse error, else 0 */
} leadroute_error;

/**
 * Static English text for an error code ("invalid argument", ...).
 * @return never NULL; "unknown error" for codes this version does not know.
 * Thread-safe.
 */
LEADROUTE_API const char *leadroute_strerror(int code);

/**
 * The last error raised on the calling thread. Successful calls do not
 * clear it (as errno), so read it only after a call that failed.
 * @return never NULL; valid until the next libleadroute call on this thread.
 * Thread-safe (each thread has its own).
 */
LEADROUTE_API const leadroute_error *leadroute_error_last(void);

/** Reset the calling thread's last error to LEADROUTE_OK. Thread-safe. */
LEADROUTE_API void leadroute_error_clear(void);

/** Run-time version, LEADROUTE_VERSION_NUMBER of the built library. Never fails. Thread-safe. */
LEADROUTE_API int leadroute_version_number(void);

/** Run-time version string, e.g. "0.1.0". Static, never NULL. Thread-safe. */
LEADROUTE_API const char *leadroute_version_string(void);

/**
 * Per-object allocator. Passed in an options struct and copied: the caller
 * need not keep the struct alive, but `user_data` must outlive every object
 * created with it. Both functions are required; they may be called from any
 * thread that uses the object, so they must be thread-safe if the object is
 * shared. `alloc` returns NULL on failure; `free` accepts NULL.
 */
typedef struct leadroute_allocator {
    uint32_t version;                               /**< LEADROUTE_ALLOCATOR_VERSION */
    void *(*alloc)(void *user_data, size_t size);   /**< like malloc */
    void (*free)(void *user_data, void *ptr);       /**< like free */
    void *user_data;                                /**< passed to both */
} leadroute_allocator;

#define LEADROUTE_ALLOCATOR_VERSION 1
#define LEADROUTE_ALLOCATOR_INIT { LEADROUTE_ALLOCATOR_VERSION, NULL, NULL, NULL }

/**
 * Initialise an allocator struct for the given version (use
 * LEADROUTE_ALLOCATOR_VERSION). Function pointers are set to NULL.
 * @return LEADROUTE_OK, LEADROUTE_EINVAL for NULL, LEADROUTE_EVERSION
 *         (`*allocator` untouched). Thread-safe: touches only `*allocator`.
 */
LEADROUTE_API int leadroute_allocator_init(leadroute_allocator *allocator, uint32_t version);

#ifdef __cplusplus
}
#endif

#endif /* LEADROUTE_COMMON_H */
