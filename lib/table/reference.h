/* Plain row-by-row evaluator: the oracle the compiled index is tested against. */
#ifndef LR_TABLE_REFERENCE_H
#define LR_TABLE_REFERENCE_H

#include "leadroute/table.h"

/* Same contract and same results as leadroute_table_eval(), computed by
 * testing every cell of every rule in order, without the compiled index. */
int lr__table_eval_reference(const leadroute_table *table, const leadroute_lead *lead,
                             leadroute_result *result);

#endif
