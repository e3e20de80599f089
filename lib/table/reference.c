/* Reference evaluator: every cell of every rule, in order, straight from the
 * parsed atoms. Slow on purpose and simple enough to trust; the compiled
 * index is tested against it. */
#include <string.h>

#include "base/error.h"
#include "base/lead.h"
#include "table/internal.h"
#include "table/reference.h"

static int lr__atoms_match_text(const lr__cell *cell, const char *s, size_t len)
{
    uint32_t i;
    for (i = 0; i < cell->natoms; i++)
        if (lr__atom_match_text(&cell->atoms[i], s, len))
            return 1;
    return 0;
}

static int lr__atoms_match_null(const lr__cell *cell)
{
    uint32_t i;
    for (i = 0; i < cell->natoms; i++)
        if (cell->atoms[i].kind == LR_ATOM_NULL)
            return 1;
    return 0;
}

/* Does the positive part of the cell (its atoms) accept the input? */
static int lr__cell_positive(const lr__index *ix, const lr__cell *cell, const lr__input *in, char *buf)
{
    size_t i, len, n, seen = 0;
    const char *s;
    switch (in->kind) {
    case LR_IN_NUM:
        for (i = 0; i < cell->natoms; i++)
            if (lr__atom_match_number(&cell->atoms[i], in->num))
                return 1;
        return 0;
    case LR_IN_STR:
    case LR_IN_SET:
        n = in->kind == LR_IN_STR ? 1 : in->nitems;
        for (i = 0; i < n; i++) {
            const char *item = in->kind == LR_IN_STR ? in->str : in->items[i];
            s = lr__input_text(ix, item, in->kind == LR_IN_STR ? in->len : strlen(item), buf, &len);
            if (!len)
                continue;
            seen++;
            if (lr__atoms_match_text(cell, s, len))
                return 1;
        }
        return seen ? 0 : lr__atoms_match_null(cell);
    default:
        return lr__atoms_match_null(cell);
    }
}

int lr__table_eval_reference(const leadroute_table *t, const leadroute_lead *lead, leadroute_result *r)
{
    lr__input inputs[LEADROUTE_MAX_COLUMNS];
    uint32_t c, rule;
    int rc;

    if ((rc = lr__eval_begin(t, lead, r)) != 0)
        return rc;
    for (c = 0; c < t->ninputs; c++)
        if ((rc = lr__input_get(t, lead, c, &inputs[c])) != 0)
            return rc;
    for (rule = 0; rule < t->nrules; rule++) {
        const lr__rule *ru = &t->rules[rule];
        int ok = 1;
        for (c = 0; c < t->ninputs && ok; c++) {
            const lr__cell *cell = &ru->cells[c];
            if (cell->any)
                continue;
            ok = lr__cell_positive(&t->index[c], cell, &inputs[c], r->fold) != cell->negated;
        }
        if (ok)
            r->hits[r->count++] = rule;
    }
    return lr__apply_policy(t, r);
}
