/*
 * The umbrella header under -std=c99 -pedantic -Werror, linked against the
 * shared library: each INIT macro must equal what its *_init() function
 * produces, and every *_init() must reject NULL, version 0 and versions
 * newer than the library knows.
 * SPDX-License-Identifier: MIT
 */
#include <leadroute/leadroute.h>

#include <stdio.h>
#include <string.h>

static int failures;

#define EXPECT(cond) \
    do { \
        if (!(cond)) { \
            failures++; \
            printf("FAIL: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
        } \
    } while (0)

/* A version the library must not know yet. */
#define NEXT(v) ((uint32_t)(v) + 1u)

/* Common contract of every *_init(): NULL, 0 and future versions fail with
 * the matching code and set the thread's last error. */
#define EXPECT_INIT_REJECTS(init_fn, object, current) \
    do { \
        EXPECT(init_fn(NULL, (current)) == LEADROUTE_EINVAL); \
        EXPECT(leadroute_error_last()->code == LEADROUTE_EINVAL); \
        EXPECT(init_fn(&(object), 0) == LEADROUTE_EVERSION); \
        EXPECT(leadroute_error_last()->code == LEADROUTE_EVERSION); \
        EXPECT(init_fn(&(object), NEXT(current)) == LEADROUTE_EVERSION); \
        EXPECT(leadroute_error_last()->code == LEADROUTE_EVERSION); \
        leadroute_error_clear(); \
    } while (0)

static void test_allocator(void)
{
    leadroute_allocator macro = LEADROUTE_ALLOCATOR_INIT;
    leadroute_allocator fn;

    memset(&fn, 0x5a, sizeof fn);
    EXPECT(leadroute_allocator_init(&fn, LEADROUTE_ALLOCATOR_VERSION) == LEADROUTE_OK);
    EXPECT(fn.version == macro.version && macro.version == LEADROUTE_ALLOCATOR_VERSION);
    EXPECT(fn.alloc == macro.alloc && fn.alloc == NULL);
    EXPECT(fn.free == macro.free && fn.free == NULL);
    EXPECT(fn.user_data == macro.user_data && fn.user_data == NULL);
    EXPECT_INIT_REJECTS(leadroute_allocator_init, fn, LEADROUTE_ALLOCATOR_VERSION);
}

static void test_value(void)
{
    leadroute_value macro = LEADROUTE_VALUE_INIT;
    leadroute_value fn;

    memset(&fn, 0x5a, sizeof fn);
    EXPECT(leadroute_value_init(&fn, LEADROUTE_VALUE_VERSION) == LEADROUTE_OK);
    EXPECT(fn.version == macro.version && macro.version == LEADROUTE_VALUE_VERSION);
    EXPECT(fn.type == macro.type && fn.type == LEADROUTE_VALUE_NULL);
    EXPECT(fn.string == macro.string && fn.string == NULL);
    EXPECT(fn.number == macro.number && fn.number == 0.0);
    EXPECT(fn.boolean == macro.boolean && fn.boolean == 0);
    EXPECT(fn.items == macro.items && fn.items == NULL);
    EXPECT(fn.item_count == macro.item_count && fn.item_count == 0);
    EXPECT_INIT_REJECTS(leadroute_value_init, fn, LEADROUTE_VALUE_VERSION);
}

static void test_lead(void)
{
    leadroute_lead macro = LEADROUTE_LEAD_INIT;
    leadroute_lead fn;
    leadroute_field fields[2] = { { "region", LEADROUTE_VALUE_INIT }, { "score", LEADROUTE_VALUE_INIT } };

    memset(&fn, 0x5a, sizeof fn);
    EXPECT(leadroute_lead_init(&fn, LEADROUTE_LEAD_VERSION) == LEADROUTE_OK);
    EXPECT(fn.version == macro.version && macro.version == LEADROUTE_LEAD_VERSION);
    EXPECT(fn.id == macro.id && fn.id == NULL);
    EXPECT(fn.fields == macro.fields && fn.fields == NULL);
    EXPECT(fn.field_count == macro.field_count && fn.field_count == 0);
    EXPECT_INIT_REJECTS(leadroute_lead_init, fn, LEADROUTE_LEAD_VERSION);

    /* A lead built only from INIT macros is valid. */
    fields[0].value.type = LEADROUTE_VALUE_STRING;
    fields[0].value.string = "EMEA";
    fields[1].value.type = LEADROUTE_VALUE_NUMBER;
    fields[1].value.number = 42.0;
    macro.id = "lead-1";
    macro.fields = fields;
    macro.field_count = 2;
    EXPECT(leadroute_lead_validate(&macro) == LEADROUTE_OK);
}

static void test_table_options(void)
{
    leadroute_table_options macro = LEADROUTE_TABLE_OPTIONS_INIT;
    leadroute_table_options fn;

    memset(&fn, 0x5a, sizeof fn);
    EXPECT(leadroute_table_options_init(&fn, LEADROUTE_TABLE_OPTIONS_VERSION) == LEADROUTE_OK);
    EXPECT(fn.version == macro.version && macro.version == LEADROUTE_TABLE_OPTIONS_VERSION);
    EXPECT(fn.flags == macro.flags && fn.flags == 0);
    EXPECT(fn.allocator == macro.allocator && fn.allocator == NULL);
    EXPECT(fn.max_memory == macro.max_memory && fn.max_memory == 0);
    EXPECT_INIT_REJECTS(leadroute_table_options_init, fn, LEADROUTE_TABLE_OPTIONS_VERSION);
}

static void test_rule(void)
{
    leadroute_rule macro = LEADROUTE_RULE_INIT;
    leadroute_rule fn;

    memset(&fn, 0x5a, sizeof fn);
    EXPECT(leadroute_rule_init(&fn, LEADROUTE_RULE_VERSION) == LEADROUTE_OK);
    EXPECT(fn.version == macro.version && macro.version == LEADROUTE_RULE_VERSION);
    EXPECT(fn.id == macro.id && fn.id == NULL);
    EXPECT(fn.inputs == macro.inputs && fn.inputs == NULL);
    EXPECT(fn.input_count == macro.input_count && fn.input_count == 0);
    EXPECT(fn.outputs == macro.outputs && fn.outputs == NULL);
    EXPECT(fn.output_count == macro.output_count && fn.output_count == 0);
    EXPECT_INIT_REJECTS(leadroute_rule_init, fn, LEADROUTE_RULE_VERSION);
}

static void test_diagnostic(void)
{
    /* Filled by the library: only the macro exists. */
    leadroute_diagnostic macro = LEADROUTE_DIAGNOSTIC_INIT;

    EXPECT(macro.version == LEADROUTE_DIAGNOSTIC_VERSION);
    EXPECT(macro.kind == 0 && macro.rule_id == NULL && macro.line == 0);
    EXPECT(macro.other_rule_id == NULL && macro.witness == NULL && macro.message == NULL);
}

static void test_versions_and_errors(void)
{
    const leadroute_error *err;
    int code;

    /* Headers and library must come from the same release. */
    EXPECT(leadroute_version_number() == LEADROUTE_VERSION_NUMBER);
    EXPECT(strcmp(leadroute_version_string(), LEADROUTE_VERSION_STRING) == 0);

    for (code = LEADROUTE_OK; code >= LEADROUTE_ECALLBACK; code--) {
        const char *text = leadroute_strerror(code);
        EXPECT(text != NULL && text[0] != '\0');
        if (code != LEADROUTE_OK && text != NULL)
            EXPECT(strcmp(text, leadroute_strerror(-1000)) != 0);
    }
    EXPECT(leadroute_strerror(-1000) != NULL);

    leadroute_error_clear();
    err = leadroute_error_last();
    EXPECT(err != NULL);
    if (err != NULL) {
        EXPECT(err->code == LEADROUTE_OK);
        EXPECT(err->message != NULL && err->message[0] == '\0');
    }
}

int main(void)
{
    test_allocator();
    test_value();
    test_lead();
    test_table_options();
    test_rule();
    test_diagnostic();
    test_versions_and_errors();
    if (failures) {
        printf("%d check(s) failed\n", failures);
        return 1;
    }
    printf("ok: INIT macros match the init functions; versions and error texts agree\n");
    return 0;
}
