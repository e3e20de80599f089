/*
 * libleadroute: values and leads.
 * SPDX-License-Identifier: MIT
 */
#ifndef LEADROUTE_VALUE_H
#define LEADROUTE_VALUE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @file
 * A lead is an id plus any number of named fields (any CRM field, not a fixed
 * list); each field holds a ::leadroute_value. All of them are caller-owned:
 * the library only reads them during the call they are passed to.
 */

/** Kinds of value; stored in leadroute_value::type. */
typedef enum leadroute_value_type {
    LEADROUTE_VALUE_NULL = 0,    /**< missing */
    LEADROUTE_VALUE_STRING = 1,  /**< NUL-terminated UTF-8 in `string` */
    LEADROUTE_VALUE_NUMBER = 2,  /**< finite double in `number` */
    LEADROUTE_VALUE_BOOL = 3,    /**< 0 or 1 in `boolean` */
    LEADROUTE_VALUE_SET = 4      /**< `item_count` UTF-8 strings in `items` */
} leadroute_value_type;

/**
 * One value. Only the member named by `type` is read. Strings are at most
 * LEADROUTE_MAX_STRING bytes of valid UTF-8; a set has at most
 * LEADROUTE_MAX_SET_ITEMS items; numbers must be finite.
 */
typedef struct leadroute_value {
    uint32_t version;          /**< LEADROUTE_VALUE_VERSION */
    uint32_t type;             /**< a ::leadroute_value_type */
    const char *string;        /**< STRING */
    double number;             /**< NUMBER */
    int boolean;               /**< BOOL: 0 false, anything else true */
    const char *const *items;  /**< SET: array of item_count strings */
    size_t item_count;         /**< SET */
} leadroute_value;

#define LEADROUTE_VALUE_VERSION 1
#define LEADROUTE_VALUE_INIT { LEADROUTE_VALUE_VERSION, LEADROUTE_VALUE_NULL, NULL, 0.0, 0, NULL, 0 }

/**
 * Initialise a value (to null) for the given version.
 * @return LEADROUTE_OK, LEADROUTE_EINVAL for NULL, LEADROUTE_EVERSION
 *         (`*value` untouched). Thread-safe: touches only `*value`.
 */
LEADROUTE_API int leadroute_value_init(leadroute_value *value, uint32_t version);

/**
 * A named field of a lead. Not versioned on its own: its layout is the one
 * of the lead version that holds it (leadroute_lead::version 1 holds fields
 * of this exact layout), so arrays of fields keep a known stride. Should
 * leadroute_value ever grow, LEADROUTE_LEAD_VERSION grows with it and the
 * library reads each lead's fields with the stride of that lead's version.
 */
typedef struct leadroute_field {
    const char *name;       /**< field name, UTF-8, 1..LEADROUTE_MAX_NAME bytes */
    leadroute_value value;  /**< its value */
} leadroute_field;

/**
 * A lead: an id and its fields. Field names are matched exactly against the
 * table's input columns. A name must not appear twice: leadroute_lead_validate()
 * rejects such a lead. Evaluation does not look for twins, to stay cheap: it
 * reads the field at the column's position when that field has the column's
 * name, else the first field of that name.
 * Tip: filling `fields` in the order of the table's input columns, or using
 * the name pointers of leadroute_table_input_name(), makes lookups cheapest.
 */
typedef struct leadroute_lead {
    uint32_t version;                /**< LEADROUTE_LEAD_VERSION */
    const char *id;                  /**< lead id, UTF-8; may be NULL */
    const leadroute_field *fields;   /**< field_count fields */
    size_t field_count;              /**< at most LEADROUTE_MAX_FIELDS */
} leadroute_lead;

#define LEADROUTE_LEAD_VERSION 1
#define LEADROUTE_LEAD_INIT { LEADROUTE_LEAD_VERSION, NULL, NULL, 0 }

/**
 * Initialise a lead (no id, no fields) for the given version.
 * @return LEADROUTE_OK, LEADROUTE_EINVAL for NULL, LEADROUTE_EVERSION
 *         (`*lead` untouched). Thread-safe: touches only `*lead`.
 */
LEADROUTE_API int leadroute_lead_init(leadroute_lead *lead, uint32_t version);

/**
 * Check a whole lead: struct versions, UTF-8 and length of the id, names and
 * strings, finite numbers, set sizes, duplicate field names. Evaluation checks
 * the fields it reads on its own; this is for hosts that want to reject bad
 * leads at the door.
 * @return LEADROUTE_OK, or LEADROUTE_EINVAL / LEADROUTE_EVERSION / LEADROUTE_ELEAD
 *         with a message naming the field. Never allocates. Thread-safe.
 */
LEADROUTE_API int leadroute_lead_validate(const leadroute_lead *lead);

/**
 * Check that `length` bytes at `text` are valid UTF-8 (no overlong forms, no
 * surrogates, nothing above U+10FFFF).
 * @return 1 if valid, 0 if not (also for NULL). Thread-safe.
 */
LEADROUTE_API int leadroute_utf8_valid(const char *text, size_t length);

#ifdef __cplusplus
}
#endif

#endif /* LEADROUTE_VALUE_H */
