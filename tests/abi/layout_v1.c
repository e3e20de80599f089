/*
 * Frozen version-1 layouts of every public struct, and the pinned numbers.
 * SPDX-License-Identifier: MIT
 *
 * Each frozen_leadroute_*_v1 below is a copy of a public struct exactly as
 * version 1 of it was released. The test checks that every member still
 * sits at the same offset with the same size and type in the real header,
 * and that the error codes, enum constants and flags keep their numbers.
 *
 * NEVER EDIT A FROZEN COPY. Public structs are append-only: to add a member,
 * append it in the header, bump the struct's *_VERSION, and add a new
 * frozen copy for the new version (layout_v2.c with frozen_leadroute_*_v2,
 * registered in tests/abi/meson.build). The v1 copy stays as it is and keeps
 * proving that old callers still find their members where they left them.
 * Only the "current versions" pins at the end of this file move with a bump.
 *
 * Checks run twice: _Static_assert stops the build at the first difference,
 * and main() prints every difference. Build with -DLAYOUT_RUNTIME_ONLY to
 * skip the static asserts and see the full report.
 */
#include <leadroute/leadroute.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- frozen copies: version 1, never edit ---------------------------- */

struct frozen_leadroute_error_v1 {
    int code;
    const char *message;
    const char *file;
    uint32_t line;
    uint32_t column;
};

struct frozen_leadroute_allocator_v1 {
    uint32_t version;
    void *(*alloc)(void *user_data, size_t size);
    void (*free)(void *user_data, void *ptr);
    void *user_data;
};

struct frozen_leadroute_value_v1 {
    uint32_t version;
    uint32_t type;
    const char *string;
    double number;
    int boolean;
    const char *const *items;
    size_t item_count;
};

/* Not versioned itself: lead version 1 holds fields of exactly this layout. */
struct frozen_leadroute_field_v1 {
    const char *name;
    struct frozen_leadroute_value_v1 value;
};

struct frozen_leadroute_lead_v1 {
    uint32_t version;
    const char *id;
    const leadroute_field *fields;
    size_t field_count;
};

struct frozen_leadroute_table_options_v1 {
    uint32_t version;
    uint32_t flags;
    const leadroute_allocator *allocator;
    size_t max_memory;
};

struct frozen_leadroute_rule_v1 {
    uint32_t version;
    const char *id;
    const char *const *inputs;
    size_t input_count;
    const char *const *outputs;
    size_t output_count;
};

struct frozen_leadroute_diagnostic_v1 {
    uint32_t version;
    uint32_t kind;
    const char *rule_id;
    uint32_t line;
    const char *other_rule_id;
    uint32_t other_line;
    const char *witness;
    const char *message;
};

/*
 * Member lists: X(frozen, real, member) checks offset, size and type;
 * N(frozen, real, member) is for a nested frozen struct, whose type differs
 * by name and which is checked on its own.
 */
#define ERROR_V1(X, N, F, R) \
    X(F, R, code) X(F, R, message) X(F, R, file) X(F, R, line) X(F, R, column)
#define ALLOCATOR_V1(X, N, F, R) \
    X(F, R, version) X(F, R, alloc) X(F, R, free) X(F, R, user_data)
#define VALUE_V1(X, N, F, R) \
    X(F, R, version) X(F, R, type) X(F, R, string) X(F, R, number) X(F, R, boolean) \
    X(F, R, items) X(F, R, item_count)
#define FIELD_V1(X, N, F, R) \
    X(F, R, name) N(F, R, value)
#define LEAD_V1(X, N, F, R) \
    X(F, R, version) X(F, R, id) X(F, R, fields) X(F, R, field_count)
#define TABLE_OPTIONS_V1(X, N, F, R) \
    X(F, R, version) X(F, R, flags) X(F, R, allocator) X(F, R, max_memory)
#define RULE_V1(X, N, F, R) \
    X(F, R, version) X(F, R, id) X(F, R, inputs) X(F, R, input_count) X(F, R, outputs) \
    X(F, R, output_count)
#define DIAGNOSTIC_V1(X, N, F, R) \
    X(F, R, version) X(F, R, kind) X(F, R, rule_id) X(F, R, line) X(F, R, other_rule_id) \
    X(F, R, other_line) X(F, R, witness) X(F, R, message)

/* Every struct: list, frozen type, real type, whether the real one may be
 * larger (it grew in a later version, or is library-owned and documented to
 * grow at its end). */
#define ALL_STRUCTS(S) \
    S(ERROR_V1, struct frozen_leadroute_error_v1, leadroute_error, 1) \
    S(ALLOCATOR_V1, struct frozen_leadroute_allocator_v1, leadroute_allocator, \
      LEADROUTE_ALLOCATOR_VERSION > 1) \
    S(VALUE_V1, struct frozen_leadroute_value_v1, leadroute_value, LEADROUTE_VALUE_VERSION > 1) \
    S(FIELD_V1, struct frozen_leadroute_field_v1, leadroute_field, 0) \
    S(LEAD_V1, struct frozen_leadroute_lead_v1, leadroute_lead, LEADROUTE_LEAD_VERSION > 1) \
    S(TABLE_OPTIONS_V1, struct frozen_leadroute_table_options_v1, leadroute_table_options, \
      LEADROUTE_TABLE_OPTIONS_VERSION > 1) \
    S(RULE_V1, struct frozen_leadroute_rule_v1, leadroute_rule, LEADROUTE_RULE_VERSION > 1) \
    S(DIAGNOSTIC_V1, struct frozen_leadroute_diagnostic_v1, leadroute_diagnostic, \
      LEADROUTE_DIAGNOSTIC_VERSION > 1)

/* Pinned numbers: error codes, enum constants, flags, first struct versions. */
#define ALL_PINS(P) \
    P(LEADROUTE_OK, 0) \
    P(LEADROUTE_EINVAL, -1) \
    P(LEADROUTE_EVERSION, -2) \
    P(LEADROUTE_ENOMEM, -3) \
    P(LEADROUTE_EPARSE, -4) \
    P(LEADROUTE_ETABLE, -5) \
    P(LEADROUTE_ELEAD, -6) \
    P(LEADROUTE_EHITPOLICY, -7) \
    P(LEADROUTE_ERANGE, -8) \
    P(LEADROUTE_EIO, -9) \
    P(LEADROUTE_ELIMIT, -10) \
    P(LEADROUTE_ENOTFOUND, -11) \
    P(LEADROUTE_EUSER, -12) \
    P(LEADROUTE_ENOTSUP, -13) \
    P(LEADROUTE_VALUE_NULL, 0) \
    P(LEADROUTE_VALUE_STRING, 1) \
    P(LEADROUTE_VALUE_NUMBER, 2) \
    P(LEADROUTE_VALUE_BOOL, 3) \
    P(LEADROUTE_VALUE_SET, 4) \
    P(LEADROUTE_TYPE_STRING, 1) \
    P(LEADROUTE_TYPE_NUMBER, 2) \
    P(LEADROUTE_TYPE_BOOL, 3) \
    P(LEADROUTE_TYPE_SET, 4) \
    P(LEADROUTE_COLUMN_CASE_INSENSITIVE, 0x1) \
    P(LEADROUTE_HIT_FIRST, 1) \
    P(LEADROUTE_HIT_UNIQUE, 2) \
    P(LEADROUTE_HIT_ANY, 3) \
    P(LEADROUTE_HIT_PRIORITY, 4) \
    P(LEADROUTE_HIT_RULE_ORDER, 5) \
    P(LEADROUTE_HIT_OUTPUT_ORDER, 6) \
    P(LEADROUTE_HIT_COLLECT, 7) \
    P(LEADROUTE_AGG_NONE, 0) \
    P(LEADROUTE_AGG_SUM, 1) \
    P(LEADROUTE_AGG_COUNT, 2) \
    P(LEADROUTE_AGG_MIN, 3) \
    P(LEADROUTE_AGG_MAX, 4) \
    P(LEADROUTE_TABLE_NO_LINT, 0x1) \
    P(LEADROUTE_DIAG_SHADOWED, 1) \
    P(LEADROUTE_DIAG_OVERLAP, 2) \
    P(LEADROUTE_DIAG_NO_MATCH, 3) \
    P(LEADROUTE_DIAG_UNLISTED_PRIORITY, 4)

/*
 * Current struct versions. These pins move with a bump (and only then),
 * so that a bump cannot happen without someone adding the frozen copy of
 * the new layout.
 */
#define ALL_CURRENT_VERSIONS(P) \
    P(LEADROUTE_ALLOCATOR_VERSION, 1) \
    P(LEADROUTE_VALUE_VERSION, 1) \
    P(LEADROUTE_LEAD_VERSION, 1) \
    P(LEADROUTE_TABLE_OPTIONS_VERSION, 1) \
    P(LEADROUTE_RULE_VERSION, 1) \
    P(LEADROUTE_DIAGNOSTIC_VERSION, 1)

#if defined(__GNUC__)
#define SAME_TYPE(a, b) __builtin_types_compatible_p(__typeof__(a), __typeof__(b))
#else
#define SAME_TYPE(a, b) 1
#endif

#define MEMBER_OF(T, m) (((T *)0)->m)

/* ---- compile-time checks --------------------------------------------- */

#ifndef LAYOUT_RUNTIME_ONLY
#define STATIC_MEMBER(F, R, m) \
    _Static_assert(offsetof(F, m) == offsetof(R, m), #R "." #m " moved: appending only, see top of file"); \
    _Static_assert(sizeof(MEMBER_OF(F, m)) == sizeof(MEMBER_OF(R, m)), #R "." #m " changed size"); \
    _Static_assert(SAME_TYPE(MEMBER_OF(F, m), MEMBER_OF(R, m)), #R "." #m " changed type");
#define STATIC_NESTED(F, R, m) \
    _Static_assert(offsetof(F, m) == offsetof(R, m), #R "." #m " moved: appending only, see top of file"); \
    _Static_assert(sizeof(MEMBER_OF(F, m)) == sizeof(MEMBER_OF(R, m)), #R "." #m " changed size");
#define STATIC_STRUCT(LIST, F, R, may_grow) \
    LIST(STATIC_MEMBER, STATIC_NESTED, F, R) \
    _Static_assert((may_grow) ? sizeof(R) >= sizeof(F) : sizeof(R) == sizeof(F), \
                   "sizeof(" #R ") changed without a version bump");
#define STATIC_PIN(name, value) _Static_assert((name) == (value), #name " must stay " #value);

ALL_STRUCTS(STATIC_STRUCT)
ALL_PINS(STATIC_PIN)
ALL_CURRENT_VERSIONS(STATIC_PIN)
#endif

/* ---- run-time report -------------------------------------------------- */

static int failures;
static int checks;

static void check_member(const char *strct, const char *member, size_t frozen_off, size_t real_off,
                         size_t frozen_size, size_t real_size, int same_type)
{
    checks++;
    if (frozen_off != real_off || frozen_size != real_size || !same_type) {
        failures++;
        printf("FAIL: %s.%s: frozen v1 offset %zu size %zu, header has offset %zu size %zu%s\n",
               strct, member, frozen_off, frozen_size, real_off, real_size,
               same_type ? "" : " (and a different type)");
    }
}

static void check_size(const char *strct, size_t frozen_size, size_t real_size, int may_grow)
{
    checks++;
    if (may_grow ? real_size < frozen_size : real_size != frozen_size) {
        failures++;
        printf("FAIL: sizeof(%s) is %zu, frozen v1 is %zu%s\n", strct, real_size, frozen_size,
               may_grow ? " (it may only grow)" : " (bump its version and add a frozen copy)");
    }
}

static void check_pin(const char *name, long long actual, long long pinned)
{
    checks++;
    if (actual != pinned) {
        failures++;
        printf("FAIL: %s is %lld, pinned at %lld\n", name, actual, pinned);
    }
}

#define RUN_MEMBER(F, R, m) \
    check_member(#R, #m, offsetof(F, m), offsetof(R, m), sizeof(MEMBER_OF(F, m)), \
                 sizeof(MEMBER_OF(R, m)), SAME_TYPE(MEMBER_OF(F, m), MEMBER_OF(R, m)));
#define RUN_NESTED(F, R, m) \
    check_member(#R, #m, offsetof(F, m), offsetof(R, m), sizeof(MEMBER_OF(F, m)), \
                 sizeof(MEMBER_OF(R, m)), 1);
#define RUN_STRUCT(LIST, F, R, may_grow) \
    LIST(RUN_MEMBER, RUN_NESTED, F, R) \
    check_size(#R, sizeof(F), sizeof(R), (may_grow));
#define RUN_PIN(name, value) check_pin(#name, (long long)(name), (long long)(value));

int main(void)
{
    /* Each INIT macro must start with its own version. */
    leadroute_allocator allocator = LEADROUTE_ALLOCATOR_INIT;
    leadroute_value value = LEADROUTE_VALUE_INIT;
    leadroute_lead lead = LEADROUTE_LEAD_INIT;
    leadroute_table_options options = LEADROUTE_TABLE_OPTIONS_INIT;
    leadroute_rule rule = LEADROUTE_RULE_INIT;
    leadroute_diagnostic diagnostic = LEADROUTE_DIAGNOSTIC_INIT;

    ALL_STRUCTS(RUN_STRUCT)
    ALL_PINS(RUN_PIN)
    ALL_CURRENT_VERSIONS(RUN_PIN)

    check_pin("LEADROUTE_ALLOCATOR_INIT.version", allocator.version, LEADROUTE_ALLOCATOR_VERSION);
    check_pin("LEADROUTE_VALUE_INIT.version", value.version, LEADROUTE_VALUE_VERSION);
    check_pin("LEADROUTE_VALUE_INIT.type", value.type, LEADROUTE_VALUE_NULL);
    check_pin("LEADROUTE_LEAD_INIT.version", lead.version, LEADROUTE_LEAD_VERSION);
    check_pin("LEADROUTE_TABLE_OPTIONS_INIT.version", options.version, LEADROUTE_TABLE_OPTIONS_VERSION);
    check_pin("LEADROUTE_RULE_INIT.version", rule.version, LEADROUTE_RULE_VERSION);
    check_pin("LEADROUTE_DIAGNOSTIC_INIT.version", diagnostic.version, LEADROUTE_DIAGNOSTIC_VERSION);

    /* The version number is derived, not free-form. */
    check_pin("LEADROUTE_VERSION_NUMBER", LEADROUTE_VERSION_NUMBER,
              LEADROUTE_VERSION_MAJOR * 10000LL + LEADROUTE_VERSION_MINOR * 100LL + LEADROUTE_VERSION_PATCH);

    if (failures) {
        printf("%d of %d layout checks failed\n", failures, checks);
        return 1;
    }
    printf("ok: %d layout checks\n", checks);
    return 0;
}
