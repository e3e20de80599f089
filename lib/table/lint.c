/* placeholder: filled in below */
#include "table/internal.h"
int lr__table_lint(leadroute_table *t) { (void)t; return 0; }
