/* Reading the host's lead structs, whatever version they were built with. */
#ifndef LR_BASE_LEAD_H
#define LR_BASE_LEAD_H

#include "leadroute/value.h"

/* Field i of a lead: the stride is that of the lead's version (1: leadroute_field). */
static inline const leadroute_field *lr__lead_field(const leadroute_lead *lead, size_t i)
{
    return &lead->fields[i];
}

/* Version, field count and pointer checks (not the fields themselves). */
int lr__lead_check_header(const leadroute_lead *lead);

#endif
