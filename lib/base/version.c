/* Run-time version and the init functions of base structs. */
#include "base/error.h"
#include "leadroute/common.h"

int leadroute_version_number(void)
{
    return LEADROUTE_VERSION_NUMBER;
}

const char *leadroute_version_string(void)
{
    return LEADROUTE_VERSION_STRING;
}

int leadroute_allocator_init(leadroute_allocator *allocator, uint32_t version)
{
    if (!allocator)
        return lr__error_set(LEADROUTE_EINVAL, "allocator is NULL");
    if (version == 0 || version > LEADROUTE_ALLOCATOR_VERSION)
        return lr__error_set(LEADROUTE_EVERSION, "leadroute_allocator version %u is not supported (1..%u)",
                             version, LEADROUTE_ALLOCATOR_VERSION);
    allocator->version = version;
    allocator->alloc = NULL;
    allocator->free = NULL;
    allocator->user_data = NULL;
    return LEADROUTE_OK;
}
