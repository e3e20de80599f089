/*
 * One public header alone, first in its translation unit, under
 * -std=c99 -pedantic -Werror: it must bring everything it needs.
 * LR_HEADER names the header (set per test in meson.build).
 * SPDX-License-Identifier: MIT
 */
#include LR_HEADER

#include <stdio.h>

int main(void)
{
    int failures = 0;

    /* Use the INIT macros this header makes visible: they must be valid
     * initialisers and start with their own version. */
#ifdef LEADROUTE_ALLOCATOR_INIT
    {
        leadroute_allocator a = LEADROUTE_ALLOCATOR_INIT;
        failures += a.version != LEADROUTE_ALLOCATOR_VERSION || a.alloc != NULL || a.free != NULL;
    }
#endif
#ifdef LEADROUTE_VALUE_INIT
    {
        leadroute_value v = LEADROUTE_VALUE_INIT;
        leadroute_field f = { "region", LEADROUTE_VALUE_INIT };
        failures += v.version != LEADROUTE_VALUE_VERSION || v.type != LEADROUTE_VALUE_NULL;
        failures += f.value.version != LEADROUTE_VALUE_VERSION;
    }
#endif
#ifdef LEADROUTE_LEAD_INIT
    {
        leadroute_lead l = LEADROUTE_LEAD_INIT;
        failures += l.version != LEADROUTE_LEAD_VERSION || l.fields != NULL || l.field_count != 0;
    }
#endif
#ifdef LEADROUTE_TABLE_OPTIONS_INIT
    {
        leadroute_table_options o = LEADROUTE_TABLE_OPTIONS_INIT;
        failures += o.version != LEADROUTE_TABLE_OPTIONS_VERSION || o.flags != 0 || o.allocator != NULL;
    }
#endif
#ifdef LEADROUTE_RULE_INIT
    {
        leadroute_rule r = LEADROUTE_RULE_INIT;
        failures += r.version != LEADROUTE_RULE_VERSION || r.inputs != NULL || r.input_count != 0;
    }
#endif
#ifdef LEADROUTE_DIAGNOSTIC_INIT
    {
        leadroute_diagnostic d = LEADROUTE_DIAGNOSTIC_INIT;
        failures += d.version != LEADROUTE_DIAGNOSTIC_VERSION || d.message != NULL;
    }
#endif

    if (failures) {
        printf("FAIL: %d INIT macro check(s) failed\n", failures);
        return 1;
    }
    return 0;
}
