// The umbrella header compiled as C++ (-pedantic -Werror), linked against
// the shared library: declarations get C linkage and the INIT macros are
// valid C++ initialisers.
// SPDX-License-Identifier: MIT
#include <leadroute/leadroute.h>

#include <cstdio>
#include <cstring>

static int failures;

#define EXPECT(cond) \
    do { \
        if (!(cond)) { \
            failures++; \
            std::printf("FAIL: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
        } \
    } while (0)

int main()
{
    leadroute_allocator allocator = LEADROUTE_ALLOCATOR_INIT;
    leadroute_value value = LEADROUTE_VALUE_INIT;
    leadroute_field fields[1] = { { "region", LEADROUTE_VALUE_INIT } };
    leadroute_lead lead = LEADROUTE_LEAD_INIT;
    leadroute_table_options options = LEADROUTE_TABLE_OPTIONS_INIT;
    leadroute_rule rule = LEADROUTE_RULE_INIT;
    leadroute_diagnostic diagnostic = LEADROUTE_DIAGNOSTIC_INIT;

    EXPECT(allocator.version == LEADROUTE_ALLOCATOR_VERSION && allocator.alloc == NULL);
    EXPECT(value.version == LEADROUTE_VALUE_VERSION && value.type == LEADROUTE_VALUE_NULL);
    EXPECT(lead.version == LEADROUTE_LEAD_VERSION && lead.field_count == 0);
    EXPECT(options.version == LEADROUTE_TABLE_OPTIONS_VERSION && options.allocator == NULL);
    EXPECT(rule.version == LEADROUTE_RULE_VERSION && rule.input_count == 0);
    EXPECT(diagnostic.version == LEADROUTE_DIAGNOSTIC_VERSION && diagnostic.message == NULL);

    // The init functions agree with the macros when called from C++.
    leadroute_value from_fn;
    std::memset(&from_fn, 0x5a, sizeof from_fn);
    EXPECT(leadroute_value_init(&from_fn, LEADROUTE_VALUE_VERSION) == LEADROUTE_OK);
    EXPECT(from_fn.version == value.version && from_fn.type == value.type && from_fn.string == NULL);
    EXPECT(leadroute_value_init(&from_fn, 0) == LEADROUTE_EVERSION);
    EXPECT(leadroute_rule_init(&rule, LEADROUTE_RULE_VERSION) == LEADROUTE_OK);
    EXPECT(leadroute_table_options_init(&options, LEADROUTE_TABLE_OPTIONS_VERSION) == LEADROUTE_OK);

    fields[0].value.type = LEADROUTE_VALUE_STRING;
    fields[0].value.string = "EMEA";
    lead.id = "lead-1";
    lead.fields = fields;
    lead.field_count = 1;
    EXPECT(leadroute_lead_validate(&lead) == LEADROUTE_OK);

    EXPECT(leadroute_version_number() == LEADROUTE_VERSION_NUMBER);
    EXPECT(std::strcmp(leadroute_strerror(LEADROUTE_EINVAL), "") != 0);
    leadroute_error_clear();
    EXPECT(leadroute_error_last()->code == LEADROUTE_OK);

    if (failures) {
        std::printf("%d check(s) failed\n", failures);
        return 1;
    }
    std::printf("ok: umbrella header works from C++\n");
    return 0;
}
