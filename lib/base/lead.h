/* Reading the host's lead structs, whatever version they were built with. */
#ifndef LR_BASE_LEAD_H
#define LR_BASE_LEAD_H

#include "leadroute/value.h"

/* Field i of a lead: the stride is that of the lead's version (1: leadroute_field). */
static inline const leadroute_field *lr__lead_field(const leadroute_lead *lead, size_t i)
{
    return &lead->fields[i];
}

/* The error of a lead whose header is bad (lr__lead_check_header). */
int lr__lead_header_error(const leadroute_lead *lead);

/* Version, field count and pointer checks (not the fields themselves);
 * inline, as every evaluation and routing call makes them. */
static inline int lr__lead_check_header(const leadroute_lead *lead)
{
    if (lead && lead->version >= 1 && lead->version <= LEADROUTE_LEAD_VERSION &&
        lead->field_count <= LEADROUTE_MAX_FIELDS && (lead->fields || !lead->field_count))
        return LEADROUTE_OK;
    return lr__lead_header_error(lead);
}

#endif
