/* Table lifetime and metadata, lint diagnostics, and evaluation results. */
#include <stddef.h>
#include <string.h>

#include "base/error.h"
#include "table/internal.h"

leadroute_table *leadroute_table_ref(leadroute_table *t)
{
    if (t)
        atomic_fetch_add_explicit(&t->refs, 1u, memory_order_relaxed);
    return t;
}

void leadroute_table_unref(leadroute_table *t)
{
    if (t && atomic_fetch_sub_explicit(&t->refs, 1u, memory_order_acq_rel) == 1u)
        lr__table_destroy(t);
}

const char *leadroute_table_name(const leadroute_table *t) { return t ? t->name : NULL; }
const char *leadroute_table_version(const leadroute_table *t) { return t ? t->version : NULL; }
uint64_t leadroute_table_hash(const leadroute_table *t) { return t ? t->hash : 0; }
uint32_t leadroute_table_hit_policy(const leadroute_table *t) { return t ? t->hit_policy : 0; }
uint32_t leadroute_table_aggregation(const leadroute_table *t) { return t ? t->aggregation : 0; }
size_t leadroute_table_memory(const leadroute_table *t) { return t ? t->memory : 0; }
size_t leadroute_table_rule_count(const leadroute_table *t) { return t ? t->nrules : 0; }
size_t leadroute_table_input_count(const leadroute_table *t) { return t ? t->ninputs : 0; }
size_t leadroute_table_output_count(const leadroute_table *t) { return t ? t->noutputs : 0; }

const char *leadroute_table_rule_id(const leadroute_table *t, size_t i)
{
    return t && i < t->nrules ? t->rules[i].id : NULL;
}

uint32_t leadroute_table_rule_line(const leadroute_table *t, size_t i)
{
    return t && i < t->nrules ? t->rules[i].line : 0;
}

const leadroute_value *leadroute_table_rule_output(const leadroute_table *t, size_t rule, size_t output)
{
    if (!t || rule >= t->nrules || output >= t->noutputs)
        return NULL;
    return lr__rule_output(t, (uint32_t)rule, (uint32_t)output);
}

const char *leadroute_table_input_name(const leadroute_table *t, size_t i)
{
    return t && i < t->ninputs ? t->inputs[i].name : NULL;
}

uint32_t leadroute_table_input_type(const leadroute_table *t, size_t i)
{
    return t && i < t->ninputs ? t->inputs[i].type : 0;
}

const char *leadroute_table_output_name(const leadroute_table *t, size_t i)
{
    return t && i < t->noutputs ? t->outputs[i].name : NULL;
}

uint32_t leadroute_table_output_type(const leadroute_table *t, size_t i)
{
    return t && i < t->noutputs ? t->outputs[i].type : 0;
}

int leadroute_table_output_index(const leadroute_table *t, const char *name)
{
    uint32_t i;
    if (!t || !name)
        return lr__error_set(LEADROUTE_EINVAL, "table and name must not be NULL");
    for (i = 0; i < t->noutputs; i++)
        if (strcmp(t->outputs[i].name, name) == 0)
            return (int)i;
    return lr__error_set(LEADROUTE_ENOTFOUND, "no output column '%s'", name);
}

size_t leadroute_table_diagnostic_count(const leadroute_table *t)
{
    return t ? t->ndiags : 0;
}

const char *leadroute_diagnostic_kind_name(uint32_t kind)
{
    switch (kind) {
    case LEADROUTE_DIAG_SHADOWED: return "shadowed";
    case LEADROUTE_DIAG_OVERLAP: return "overlap";
    case LEADROUTE_DIAG_NO_MATCH: return "no_match";
    case LEADROUTE_DIAG_UNLISTED_PRIORITY: return "unlisted_priority";
    case LEADROUTE_DIAG_NO_MATCH_UNDECIDED: return "no_match_undecided";
    case LEADROUTE_DIAG_SHADOWED_UNDECIDED: return "shadowed_undecided";
    case LEADROUTE_DIAG_OVERLAP_UNDECIDED: return "overlap_undecided";
    case LEADROUTE_DIAG_TRUNCATED: return "truncated";
    default: return "unknown";
    }
}

int leadroute_diagnostic_is_notice(uint32_t kind)
{
    switch (kind) {
    case LEADROUTE_DIAG_SHADOWED:
    case LEADROUTE_DIAG_OVERLAP:
    case LEADROUTE_DIAG_NO_MATCH:
    case LEADROUTE_DIAG_UNLISTED_PRIORITY:
        return 0;
    case LEADROUTE_DIAG_NO_MATCH_UNDECIDED:
    case LEADROUTE_DIAG_SHADOWED_UNDECIDED:
    case LEADROUTE_DIAG_OVERLAP_UNDECIDED:
    case LEADROUTE_DIAG_TRUNCATED:
        return 1;
    default:
        return lr__error_set(LEADROUTE_EINVAL, "%u is not a diagnostic kind (1..%u)", kind,
                             (unsigned)LEADROUTE_DIAG_TRUNCATED);
    }
}

int leadroute_table_diagnostic(const leadroute_table *t, size_t i, leadroute_diagnostic *out)
{
    const lr__diag *d;
    if (!t || !out)
        return lr__error_set(LEADROUTE_EINVAL, "table and out must not be NULL");
    if (out->version == 0 || out->version > LEADROUTE_DIAGNOSTIC_VERSION)
        return lr__error_set(LEADROUTE_EVERSION, "leadroute_diagnostic version %u is not supported (1..%u)",
                             out->version, LEADROUTE_DIAGNOSTIC_VERSION);
    if (i >= t->ndiags)
        return lr__error_set(LEADROUTE_ERANGE, "diagnostic %zu does not exist (%u found)", i, t->ndiags);
    d = &t->diags[i];
    out->kind = d->kind;
    out->rule_id = d->rule != UINT32_MAX ? t->rules[d->rule].id : NULL;
    out->line = d->rule != UINT32_MAX ? t->rules[d->rule].line : 0;
    out->other_rule_id = d->other != UINT32_MAX ? t->rules[d->other].id : NULL;
    out->other_line = d->other != UINT32_MAX ? t->rules[d->other].line : 0;
    out->witness = d->witness;
    out->message = d->message;
    return LEADROUTE_OK;
}

/* ---- results ---------------------------------------------------------------- */

static void lr__result_release(leadroute_result *r)
{
    lr__free(&r->alloc, r->hits);
    lr__free(&r->alloc, r->stamps);
    lr__free(&r->alloc, r->aggregates);
    lr__free(&r->alloc, r->views);
    lr__free(&r->alloc, r->order);
    lr__free(&r->alloc, r->dense_words);
    lr__free(&r->alloc, r->dense_sums);
    lr__free(&r->alloc, r->xsets);
    lr__free(&r->alloc, r->parts);
    lr__free(&r->alloc, r->part_pos);
    lr__free(&r->alloc, r->part_spos);
}

int leadroute_result_reserve(leadroute_result *r, const leadroute_table *t)
{
    leadroute_result n;
    uint32_t parts, stamps;
    if (!r || !t)
        return lr__error_set(LEADROUTE_EINVAL, "result and table must not be NULL");
    if (lr__result_fits(t, r))
        return LEADROUTE_OK;
    parts = t->nset_columns * (LEADROUTE_MAX_SET_ITEMS + 1u);
    stamps = t->max_value_ids;
    /* Build the bigger buffers aside, so a failure leaves the result as it was. */
    memset(&n, 0, sizeof n);
    n.alloc = r->alloc;
    n.cap_rules = t->nrules > r->cap_rules ? t->nrules : r->cap_rules;
    n.cap_inputs = t->ninputs > r->cap_inputs ? t->ninputs : r->cap_inputs;
    n.cap_outputs = t->noutputs > r->cap_outputs ? t->noutputs : r->cap_outputs;
    n.cap_parts = parts > r->cap_parts ? parts : r->cap_parts;
    n.cap_stamps = stamps > r->cap_stamps ? stamps : r->cap_stamps;
    n.hits = lr__calloc(&n.alloc, n.cap_rules + 1u, sizeof *n.hits);
    n.stamps = lr__calloc(&n.alloc, n.cap_stamps + 1u, sizeof *n.stamps);
    n.aggregates = lr__calloc(&n.alloc, n.cap_outputs + 1u, sizeof *n.aggregates);
    n.views = lr__calloc(&n.alloc, n.cap_inputs + 1u, sizeof *n.views);
    n.order = lr__calloc(&n.alloc, n.cap_inputs + 1u, sizeof *n.order);
    n.dense_words = lr__calloc(&n.alloc, n.cap_inputs + 1u, sizeof *n.dense_words);
    n.dense_sums = lr__calloc(&n.alloc, n.cap_inputs + 1u, sizeof *n.dense_sums);
    n.xsets = lr__calloc(&n.alloc, n.cap_inputs + 1u, sizeof *n.xsets);
    n.parts = lr__calloc(&n.alloc, n.cap_parts + 1u, sizeof *n.parts);
    n.part_pos = lr__calloc(&n.alloc, n.cap_parts + 1u, sizeof *n.part_pos);
    n.part_spos = lr__calloc(&n.alloc, n.cap_parts + 1u, sizeof *n.part_spos);
    if (!n.hits || !n.stamps || !n.aggregates || !n.views || !n.order || !n.parts || !n.part_pos || !n.part_spos ||
        !n.dense_words || !n.dense_sums || !n.xsets) {
        lr__result_release(&n);
        return lr__error_nomem();
    }
    lr__result_release(r);
    /* n holds the new buffers and capacities, no hits and no table */
    memcpy(r, &n, offsetof(leadroute_result, fold));
    return LEADROUTE_OK;
}

int leadroute_result_new(leadroute_result **out, const leadroute_table *t, const leadroute_allocator *allocator)
{
    lr__alloc a;
    leadroute_result *r;
    int rc;
    if (out)
        *out = NULL;
    if (!out || !t)
        return lr__error_set(LEADROUTE_EINVAL, "out and table must not be NULL");
    if ((rc = lr__alloc_init(&a, allocator)) != 0)
        return rc;
    r = lr__malloc(&a, sizeof *r);
    if (!r)
        return lr__error_nomem();
    memset(r, 0, offsetof(leadroute_result, fold));
    r->alloc = a;
    if ((rc = leadroute_result_reserve(r, t)) != 0) {
        lr__free(&a, r);
        return rc;
    }
    *out = r;
    return LEADROUTE_OK;
}

void leadroute_result_free(leadroute_result *r)
{
    lr__alloc a;
    if (!r)
        return;
    a = r->alloc;
    lr__result_release(r);
    lr__free(&a, r);
}

size_t leadroute_result_count(const leadroute_result *r)
{
    return r ? r->count : 0;
}

size_t leadroute_result_rule(const leadroute_result *r, size_t i)
{
    return r && i < r->count ? r->hits[i] : SIZE_MAX;
}

const char *leadroute_result_rule_id(const leadroute_result *r, size_t i)
{
    return r && r->table && i < r->count ? r->table->rules[r->hits[i]].id : NULL;
}

const leadroute_value *leadroute_result_output(const leadroute_result *r, size_t i, size_t output)
{
    if (!r || !r->table || i >= r->count || output >= r->table->noutputs)
        return NULL;
    return lr__rule_output(r->table, r->hits[i], (uint32_t)output);
}

const leadroute_value *leadroute_result_aggregate(const leadroute_result *r, size_t output)
{
    if (!r || !r->table || !r->has_aggregates || output >= r->table->noutputs)
        return NULL;
    return &r->aggregates[output];
}
