/*
 * The HTML report of `leadroute simulate --html`: one self-contained page
 * (inline CSS and SVG charts, no script, no network) that shows where a
 * batch of leads went: outcomes, leads and deal value per rep and per pool,
 * fairness inside each pool, rule hits and why leads were left unrouted.
 *
 * The caller gathers the figures; report_write_html() only draws them.
 * SPDX-License-Identifier: MIT
 */
#ifndef LEADROUTE_EXAMPLE_REPORT_H
#define LEADROUTE_EXAMPLE_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A named count with a deal value (rule hits, queues, reasons, outcomes). */
typedef struct report_count {
    const char *name;
    uint64_t count;
    double value;  /**< summed deal value; 0 when it does not apply */
} report_count;

typedef struct report_rep {
    const char *id;
    const char *name;      /**< display name; NULL = the id */
    const char *pool;      /**< first pool the rep belongs to; NULL if none */
    uint64_t leads;        /**< leads assigned to the rep in this run */
    double value;          /**< their summed deal value */
    uint32_t open;         /**< open leads after the run (earlier runs included) */
    uint32_t capacity;     /**< max open leads, 0 = no cap: compared with `open`, not `leads` */
    int active;            /**< 0: inactive in the roster */
} report_rep;

typedef struct report_pool {
    const char *id;
    const char *strategy;  /**< "round_robin", "weighted", ... */
    size_t members;
    uint64_t leads;        /**< leads assigned from this pool in this run */
    double value;
    double spread;         /**< max - min assignments among members (router's pool fairness) */
    double jain;           /**< Jain's index, 1 = perfectly even, NAN if unknown */
} report_pool;

typedef struct report_data {
    const char *title;          /**< page title, e.g. "Routing simulation" */
    const char *table_name;     /**< the table's name directive or file name */
    const char *table_hash;     /**< 16 hex digits */
    const char *roster_file;
    const char *leads_file;
    const char *generated_at;   /**< ISO 8601 UTC */
    uint64_t leads_total;       /**< leads routed: the sum of the outcomes, the base of every % */
    uint64_t leads_skipped;     /**< rows that could not be read (not in leads_total) */
    double value_total;         /**< deal value of all leads routed */
    /** Outcomes in this order: assigned, existing, queued, unassigned, unrouted. */
    const report_count *outcomes;
    size_t outcome_count;
    const report_rep *reps;
    size_t rep_count;
    const report_pool *pools;
    size_t pool_count;
    const report_count *rules;    /**< hits per rule, table order */
    size_t rule_count;
    const report_count *reasons;  /**< why leads were queued, unassigned or unrouted, most frequent first */
    size_t reason_count;
    const report_count *queues;   /**< leads per queue */
    size_t queue_count;
} report_data;

/**
 * Write the whole page to `out`. Every string is HTML-escaped; NULL strings
 * print as empty; NaN or infinite numbers print as "n/a".
 * @return 0, or -1 with errno set when writing failed.
 */
int report_write_html(FILE *out, const report_data *data);

#ifdef __cplusplus
}
#endif

#endif /* LEADROUTE_EXAMPLE_REPORT_H */
