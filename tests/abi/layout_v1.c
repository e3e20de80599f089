/*
 * Frozen version-1 layouts of every public struct, and the pinned numbers.
 * SPDX-License-Identifier: MIT
 *
 * Each frozen_leadroute_*_v1 below is a copy of a public struct exactly as
 * version 1 of it was released. The test checks that every member still
 * sits at the same offset with the same size and type in the real header,
 * and that the error codes, enum constants and flags keep their numbers.
 *
 * NEVER EDIT A FROZEN COPY. Public structs are append-only: to add a member,
 * append it in the header, bump the struct's *_VERSION, and add a frozen
 * copy for the new version next to the old one (frozen_leadroute_commit_v2
 * below is the pattern) with its line in ALL_STRUCTS. The older copies stay
 * as they are and keep proving that old callers still find their members
 * where they left them. Only the "current versions" pins at the end of this
 * file move with a bump.
 *
 * Checks run twice: _Static_assert stops the build at the first difference,
 * and main() prints every difference. Build with -DLAYOUT_RUNTIME_ONLY to
 * skip the static asserts and see the full report.
 */
#include <leadroute/leadroute.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- frozen copies: version 1 and later, never edit ------------------- */

struct frozen_leadroute_error_v1 {
    int code;
    const char *message;
    const char *file;
    uint32_t line;
    uint32_t column;
};

struct frozen_leadroute_allocator_v1 {
    uint32_t version;
    void *(*alloc)(void *user_data, size_t size);
    void (*free)(void *user_data, void *ptr);
    void *user_data;
};

struct frozen_leadroute_value_v1 {
    uint32_t version;
    uint32_t type;
    const char *string;
    double number;
    int boolean;
    const char *const *items;
    size_t item_count;
};

/* Not versioned itself: lead version 1 holds fields of exactly this layout. */
struct frozen_leadroute_field_v1 {
    const char *name;
    struct frozen_leadroute_value_v1 value;
};

struct frozen_leadroute_lead_v1 {
    uint32_t version;
    const char *id;
    const leadroute_field *fields;
    size_t field_count;
};

struct frozen_leadroute_table_options_v1 {
    uint32_t version;
    uint32_t flags;
    const leadroute_allocator *allocator;
    size_t max_memory;
};

struct frozen_leadroute_rule_v1 {
    uint32_t version;
    const char *id;
    const char *const *inputs;
    size_t input_count;
    const char *const *outputs;
    size_t output_count;
};

struct frozen_leadroute_diagnostic_v1 {
    uint32_t version;
    uint32_t kind;
    const char *rule_id;
    uint32_t line;
    const char *other_rule_id;
    uint32_t other_line;
    const char *witness;
    const char *message;
};

struct frozen_leadroute_rep_v1 {
    uint32_t version;
    const char *id;
    const char *name;
    const char *const *pools;
    size_t pool_count;
    double weight;
    uint32_t capacity;
    uint32_t tier;
    const leadroute_field *skills;
    size_t skill_count;
    int active;
    uint32_t cap_day;
    uint32_t cap_week;
    uint32_t cap_month;
};

struct frozen_leadroute_skill_filter_v1 {
    const char *field;
    const char *skill;
};

struct frozen_leadroute_tier_rule_v1 {
    double min_score;
    uint32_t min_tier;
};

struct frozen_leadroute_pool_v1 {
    uint32_t version;
    const char *id;
    uint32_t strategy;
    const leadroute_skill_filter *filters;
    size_t filter_count;
    const char *score_field;
    const leadroute_tier_rule *tiers;
    size_t tier_count;
    const char *fallback;
    uint32_t on_empty;
    const char *default_owner;
    const char *queue;
    int owner_first;
    uint32_t cap_day;
    uint32_t cap_week;
    uint32_t cap_month;
    double sla_minutes;
    uint32_t max_hops;
    const char *escalation_pool;
    const char *escalation_owner;
    uint32_t calibration;
    const char *value_field;
    uint32_t value_window_days;
};

struct frozen_leadroute_assignment_v1 {
    uint32_t version;
    const char *key;
    const char *lead_id;
    const char *rep_id;
    const char *previous;
    const char *pool_id;
    const char *rule_id;
    uint64_t table_hash;
    int64_t at_ms;
    double sla_minutes;
    int64_t deadline_ms;
    double value;
    uint32_t hops;
    int escalated;
    const char *const *history;
    size_t history_count;
    int64_t acknowledged_ms;
};

struct frozen_leadroute_commit_v1 {
    uint32_t version;
    const leadroute_assignment *assignment;
    const char *pool_id;
    uint64_t expected_version;
    const void *state;
    size_t state_length;
    uint32_t capacity;
    const char *account_key;
};

/* version 2 appends flags */
struct frozen_leadroute_commit_v2 {
    uint32_t version;
    const leadroute_assignment *assignment;
    const char *pool_id;
    uint64_t expected_version;
    const void *state;
    size_t state_length;
    uint32_t capacity;
    const char *account_key;
    uint32_t flags;
};

struct frozen_leadroute_store_v1 {
    uint32_t version;
    int (*load_pool)(void *user_data, const char *pool_id, void *buf, size_t cap, size_t *length, uint64_t *state_version);
    int (*find_claim)(void *user_data, const char *key, char *rep_id, size_t cap);
    int (*open_count)(void *user_data, const char *rep_id, uint32_t *count);
    int (*commit)(void *user_data, const leadroute_commit *commit, char *owner, size_t owner_cap);
    int (*close)(void *user_data, const char *key);
    int (*window)(void *user_data, const char *rep_id, const char *pool_id, int64_t since_ms, uint64_t *count, double *value);
    int (*acknowledge)(void *user_data, const char *key, int64_t at_ms, int64_t *assigned_ms, char *rep_id, size_t rep_cap, char *pool_id, size_t pool_cap);
    int (*list_due)(void *user_data, int64_t now_ms, int (*each)(void *ctx, const leadroute_assignment *a), void *ctx);
};

struct frozen_leadroute_availability_v1 {
    uint32_t version;
    int (*check)(void *user_data, const char *rep_id, const leadroute_lead *lead, int64_t now_ms, uint32_t *verdict, char *reason, size_t cap);
};

struct frozen_leadroute_notify_v1 {
    uint32_t version;
    int (*assigned)(void *user_data, const leadroute_assignment *assignment);
};

struct frozen_leadroute_clock_v1 {
    uint32_t version;
    int64_t (*now_ms)(void *user_data);
};

struct frozen_leadroute_router_options_v1 {
    uint32_t version;
    const leadroute_allocator *allocator;
    const char *dedupe_field;
    const char *account_field;
    const char *owner_output;
    const char *pool_output;
    const char *queue_output;
    const char *status_output;
    const char *sla_output;
    const char *tags_output;
    uint32_t max_retries;
    const char *captured_field;
};

struct frozen_leadroute_router_options_v2 {
    uint32_t version;
    const leadroute_allocator *allocator;
    const char *dedupe_field;
    const char *account_field;
    const char *owner_output;
    const char *pool_output;
    const char *queue_output;
    const char *status_output;
    const char *sla_output;
    const char *tags_output;
    uint32_t max_retries;
    const char *captured_field;
    uint32_t dedupe_fold;
};

struct frozen_leadroute_tick_stats_v1 {
    uint32_t version;
    uint64_t due;
    uint64_t reassigned;
    uint64_t escalated;
    uint64_t kept;
    uint64_t raced;
};

struct frozen_leadroute_tick_stats_v2 {
    uint32_t version;
    uint64_t due;
    uint64_t reassigned;
    uint64_t escalated;
    uint64_t kept;
    uint64_t raced;
    uint64_t failed;
};

struct frozen_leadroute_latency_stats_v1 {
    uint32_t version;
    uint64_t count;
    double mean_ms;
    double p50_ms;
    double p90_ms;
    double p99_ms;
};

/*
 * Member lists: X(frozen, real, member) checks offset, size and type;
 * N(frozen, real, member) is for a nested frozen struct, whose type differs
 * by name and which is checked on its own.
 */
#define ERROR_V1(X, N, F, R) \
    X(F, R, code) X(F, R, message) X(F, R, file) X(F, R, line) X(F, R, column)
#define ALLOCATOR_V1(X, N, F, R) \
    X(F, R, version) X(F, R, alloc) X(F, R, free) X(F, R, user_data)
#define VALUE_V1(X, N, F, R) \
    X(F, R, version) X(F, R, type) X(F, R, string) X(F, R, number) X(F, R, boolean) \
    X(F, R, items) X(F, R, item_count)
#define FIELD_V1(X, N, F, R) \
    X(F, R, name) N(F, R, value)
#define LEAD_V1(X, N, F, R) \
    X(F, R, version) X(F, R, id) X(F, R, fields) X(F, R, field_count)
#define TABLE_OPTIONS_V1(X, N, F, R) \
    X(F, R, version) X(F, R, flags) X(F, R, allocator) X(F, R, max_memory)
#define RULE_V1(X, N, F, R) \
    X(F, R, version) X(F, R, id) X(F, R, inputs) X(F, R, input_count) X(F, R, outputs) \
    X(F, R, output_count)
#define DIAGNOSTIC_V1(X, N, F, R) \
    X(F, R, version) X(F, R, kind) X(F, R, rule_id) X(F, R, line) X(F, R, other_rule_id) \
    X(F, R, other_line) X(F, R, witness) X(F, R, message)
#define REP_V1(X, N, F, R) \
    X(F, R, version) X(F, R, id) X(F, R, name) X(F, R, pools) X(F, R, pool_count) X(F, R, weight) X(F, R, capacity) X(F, R, tier) X(F, R, skills) X(F, R, skill_count) X(F, R, active) X(F, R, cap_day) X(F, R, cap_week) X(F, R, cap_month)
#define SKILL_FILTER_V1(X, N, F, R) \
    X(F, R, field) X(F, R, skill)
#define TIER_RULE_V1(X, N, F, R) \
    X(F, R, min_score) X(F, R, min_tier)
#define POOL_V1(X, N, F, R) \
    X(F, R, version) X(F, R, id) X(F, R, strategy) X(F, R, filters) X(F, R, filter_count) X(F, R, score_field) X(F, R, tiers) X(F, R, tier_count) X(F, R, fallback) X(F, R, on_empty) X(F, R, default_owner) X(F, R, queue) X(F, R, owner_first) X(F, R, cap_day) X(F, R, cap_week) X(F, R, cap_month) X(F, R, sla_minutes) X(F, R, max_hops) X(F, R, escalation_pool) X(F, R, escalation_owner) X(F, R, calibration) X(F, R, value_field) X(F, R, value_window_days)
#define ASSIGNMENT_V1(X, N, F, R) \
    X(F, R, version) X(F, R, key) X(F, R, lead_id) X(F, R, rep_id) X(F, R, previous) X(F, R, pool_id) X(F, R, rule_id) X(F, R, table_hash) X(F, R, at_ms) X(F, R, sla_minutes) X(F, R, deadline_ms) X(F, R, value) X(F, R, hops) X(F, R, escalated) X(F, R, history) X(F, R, history_count) X(F, R, acknowledged_ms)
#define COMMIT_V1(X, N, F, R) \
    X(F, R, version) X(F, R, assignment) X(F, R, pool_id) X(F, R, expected_version) X(F, R, state) X(F, R, state_length) X(F, R, capacity) X(F, R, account_key)
#define COMMIT_V2(X, N, F, R) \
    COMMIT_V1(X, N, F, R) X(F, R, flags)
#define STORE_V1(X, N, F, R) \
    X(F, R, version) X(F, R, load_pool) X(F, R, find_claim) X(F, R, open_count) X(F, R, commit) X(F, R, close) X(F, R, window) X(F, R, acknowledge) X(F, R, list_due)
#define AVAILABILITY_V1(X, N, F, R) \
    X(F, R, version) X(F, R, check)
#define NOTIFY_V1(X, N, F, R) \
    X(F, R, version) X(F, R, assigned)
#define CLOCK_V1(X, N, F, R) \
    X(F, R, version) X(F, R, now_ms)
#define ROUTER_OPTIONS_V1(X, N, F, R) \
    X(F, R, version) X(F, R, allocator) X(F, R, dedupe_field) X(F, R, account_field) X(F, R, owner_output) X(F, R, pool_output) X(F, R, queue_output) X(F, R, status_output) X(F, R, sla_output) X(F, R, tags_output) X(F, R, max_retries) X(F, R, captured_field)
#define ROUTER_OPTIONS_V2(X, N, F, R) \
    ROUTER_OPTIONS_V1(X, N, F, R) X(F, R, dedupe_fold)
#define TICK_STATS_V1(X, N, F, R) \
    X(F, R, version) X(F, R, due) X(F, R, reassigned) X(F, R, escalated) X(F, R, kept) X(F, R, raced)
#define TICK_STATS_V2(X, N, F, R) \
    TICK_STATS_V1(X, N, F, R) X(F, R, failed)
#define LATENCY_STATS_V1(X, N, F, R) \
    X(F, R, version) X(F, R, count) X(F, R, mean_ms) X(F, R, p50_ms) X(F, R, p90_ms) X(F, R, p99_ms)

/* Every struct: list, frozen type, real type, whether the real one may be
 * larger (it grew in a later version, or is library-owned and documented to
 * grow at its end). */
#define ALL_STRUCTS(S) \
    S(ERROR_V1, struct frozen_leadroute_error_v1, leadroute_error, 1) \
    S(ALLOCATOR_V1, struct frozen_leadroute_allocator_v1, leadroute_allocator, \
      LEADROUTE_ALLOCATOR_VERSION > 1) \
    S(VALUE_V1, struct frozen_leadroute_value_v1, leadroute_value, LEADROUTE_VALUE_VERSION > 1) \
    S(FIELD_V1, struct frozen_leadroute_field_v1, leadroute_field, 0) \
    S(LEAD_V1, struct frozen_leadroute_lead_v1, leadroute_lead, LEADROUTE_LEAD_VERSION > 1) \
    S(TABLE_OPTIONS_V1, struct frozen_leadroute_table_options_v1, leadroute_table_options, \
      LEADROUTE_TABLE_OPTIONS_VERSION > 1) \
    S(RULE_V1, struct frozen_leadroute_rule_v1, leadroute_rule, LEADROUTE_RULE_VERSION > 1) \
    S(DIAGNOSTIC_V1, struct frozen_leadroute_diagnostic_v1, leadroute_diagnostic, \
      LEADROUTE_DIAGNOSTIC_VERSION > 1) \
    S(REP_V1, struct frozen_leadroute_rep_v1, leadroute_rep, LEADROUTE_REP_VERSION > 1) \
    S(SKILL_FILTER_V1, struct frozen_leadroute_skill_filter_v1, leadroute_skill_filter, 0) \
    S(TIER_RULE_V1, struct frozen_leadroute_tier_rule_v1, leadroute_tier_rule, 0) \
    S(POOL_V1, struct frozen_leadroute_pool_v1, leadroute_pool, LEADROUTE_POOL_VERSION > 1) \
    S(ASSIGNMENT_V1, struct frozen_leadroute_assignment_v1, leadroute_assignment, LEADROUTE_ASSIGNMENT_VERSION > 1) \
    S(COMMIT_V1, struct frozen_leadroute_commit_v1, leadroute_commit, LEADROUTE_COMMIT_VERSION > 1) \
    S(COMMIT_V2, struct frozen_leadroute_commit_v2, leadroute_commit, LEADROUTE_COMMIT_VERSION > 2) \
    S(STORE_V1, struct frozen_leadroute_store_v1, leadroute_store, LEADROUTE_STORE_VERSION > 1) \
    S(AVAILABILITY_V1, struct frozen_leadroute_availability_v1, leadroute_availability, LEADROUTE_AVAILABILITY_VERSION > 1) \
    S(NOTIFY_V1, struct frozen_leadroute_notify_v1, leadroute_notify, LEADROUTE_NOTIFY_VERSION > 1) \
    S(CLOCK_V1, struct frozen_leadroute_clock_v1, leadroute_clock, LEADROUTE_CLOCK_VERSION > 1) \
    S(ROUTER_OPTIONS_V1, struct frozen_leadroute_router_options_v1, leadroute_router_options, LEADROUTE_ROUTER_OPTIONS_VERSION > 1) \
    S(ROUTER_OPTIONS_V2, struct frozen_leadroute_router_options_v2, leadroute_router_options, LEADROUTE_ROUTER_OPTIONS_VERSION > 2) \
    S(TICK_STATS_V1, struct frozen_leadroute_tick_stats_v1, leadroute_tick_stats, LEADROUTE_TICK_STATS_VERSION > 1) \
    S(TICK_STATS_V2, struct frozen_leadroute_tick_stats_v2, leadroute_tick_stats, LEADROUTE_TICK_STATS_VERSION > 2) \
    S(LATENCY_STATS_V1, struct frozen_leadroute_latency_stats_v1, leadroute_latency_stats, LEADROUTE_LATENCY_STATS_VERSION > 1)

/* Pinned numbers: error codes, enum constants, flags, first struct versions. */
#define ALL_PINS(P) \
    P(LEADROUTE_OK, 0) \
    P(LEADROUTE_EINVAL, -1) \
    P(LEADROUTE_EVERSION, -2) \
    P(LEADROUTE_ENOMEM, -3) \
    P(LEADROUTE_EPARSE, -4) \
    P(LEADROUTE_ETABLE, -5) \
    P(LEADROUTE_ELEAD, -6) \
    P(LEADROUTE_EHITPOLICY, -7) \
    P(LEADROUTE_ERANGE, -8) \
    P(LEADROUTE_EIO, -9) \
    P(LEADROUTE_ELIMIT, -10) \
    P(LEADROUTE_ENOTFOUND, -11) \
    P(LEADROUTE_EUSER, -12) \
    P(LEADROUTE_ENOTSUP, -13) \
    P(LEADROUTE_ECONFLICT, -14) \
    P(LEADROUTE_EEXISTS, -15) \
    P(LEADROUTE_ECALLBACK, -16) \
    P(LEADROUTE_VALUE_NULL, 0) \
    P(LEADROUTE_VALUE_STRING, 1) \
    P(LEADROUTE_VALUE_NUMBER, 2) \
    P(LEADROUTE_VALUE_BOOL, 3) \
    P(LEADROUTE_VALUE_SET, 4) \
    P(LEADROUTE_TYPE_STRING, 1) \
    P(LEADROUTE_TYPE_NUMBER, 2) \
    P(LEADROUTE_TYPE_BOOL, 3) \
    P(LEADROUTE_TYPE_SET, 4) \
    P(LEADROUTE_COLUMN_CASE_INSENSITIVE, 0x1) \
    P(LEADROUTE_HIT_FIRST, 1) \
    P(LEADROUTE_HIT_UNIQUE, 2) \
    P(LEADROUTE_HIT_ANY, 3) \
    P(LEADROUTE_HIT_PRIORITY, 4) \
    P(LEADROUTE_HIT_RULE_ORDER, 5) \
    P(LEADROUTE_HIT_OUTPUT_ORDER, 6) \
    P(LEADROUTE_HIT_COLLECT, 7) \
    P(LEADROUTE_AGG_NONE, 0) \
    P(LEADROUTE_AGG_SUM, 1) \
    P(LEADROUTE_AGG_COUNT, 2) \
    P(LEADROUTE_AGG_MIN, 3) \
    P(LEADROUTE_AGG_MAX, 4) \
    P(LEADROUTE_TABLE_NO_LINT, 0x1) \
    P(LEADROUTE_DIAG_SHADOWED, 1) \
    P(LEADROUTE_DIAG_OVERLAP, 2) \
    P(LEADROUTE_DIAG_NO_MATCH, 3) \
    P(LEADROUTE_DIAG_UNLISTED_PRIORITY, 4) \
    P(LEADROUTE_DIAG_NO_MATCH_UNDECIDED, 5) \
    P(LEADROUTE_DIAG_SHADOWED_UNDECIDED, 6) \
    P(LEADROUTE_DIAG_OVERLAP_UNDECIDED, 7) \
    P(LEADROUTE_DIAG_TRUNCATED, 8) \
    P(LEADROUTE_STRATEGY_ROUND_ROBIN, 1) \
    P(LEADROUTE_STRATEGY_WEIGHTED, 2) \
    P(LEADROUTE_STRATEGY_LEAST_LOADED, 3) \
    P(LEADROUTE_STRATEGY_VALUE_BALANCED, 4) \
    P(LEADROUTE_CALIBRATE_JOIN, 0) \
    P(LEADROUTE_CALIBRATE_CATCH_UP, 1) \
    P(LEADROUTE_LATENCY_CAPTURE_TO_ASSIGN, 0) \
    P(LEADROUTE_LATENCY_ASSIGN_TO_ACK, 1) \
    P(LEADROUTE_NO_CAP, 0xffffffffu) \
    P(LEADROUTE_EMPTY_UNASSIGNED, 1) \
    P(LEADROUTE_EMPTY_DEFAULT_OWNER, 2) \
    P(LEADROUTE_EMPTY_QUEUE, 3) \
    P(LEADROUTE_AVAILABLE, 0) \
    P(LEADROUTE_AWAY, 1) \
    P(LEADROUTE_AT_CAPACITY, 2) \
    P(LEADROUTE_ROUTE_TRACE, 0x1) \
    P(LEADROUTE_ROUTE_REASSIGN, 0x2) \
    P(LEADROUTE_ROUTE_DRY_RUN, 0x4) \
    P(LEADROUTE_ROUTE_ASSIGNED, 1) \
    P(LEADROUTE_ROUTE_EXISTING, 2) \
    P(LEADROUTE_ROUTE_QUEUED, 3) \
    P(LEADROUTE_ROUTE_UNASSIGNED, 4) \
    P(LEADROUTE_ROUTE_UNROUTED, 5) \
    P(LEADROUTE_VERDICT_CHOSEN, 1) \
    P(LEADROUTE_VERDICT_ELIGIBLE, 2) \
    P(LEADROUTE_VERDICT_AWAY, 3) \
    P(LEADROUTE_VERDICT_AT_CAPACITY, 4) \
    P(LEADROUTE_VERDICT_LACKS_SKILL, 5) \
    P(LEADROUTE_VERDICT_TIER, 6) \
    P(LEADROUTE_VERDICT_EXCLUDED, 7) \
    P(LEADROUTE_VERDICT_NOT_ASKED, 8) \
    P(LEADROUTE_EXPLAIN_TEXT, 1) \
    P(LEADROUTE_EXPLAIN_JSON, 2) \
    P(LEADROUTE_UNROUTED_NO_RULE, 0) \
    P(LEADROUTE_UNROUTED_NO_TARGET, 1) \
    P(LEADROUTE_UNROUTED_EMPTY, 2) \
    P(LEADROUTE_UNROUTED_ERROR, 3) \
    P(LEADROUTE_UNROUTED_REASONS, 4)

/*
 * Current struct versions. These pins move with a bump (and only then),
 * so that a bump cannot happen without someone adding the frozen copy of
 * the new layout.
 */
#define ALL_CURRENT_VERSIONS(P) \
    P(LEADROUTE_ALLOCATOR_VERSION, 1) \
    P(LEADROUTE_VALUE_VERSION, 1) \
    P(LEADROUTE_LEAD_VERSION, 1) \
    P(LEADROUTE_TABLE_OPTIONS_VERSION, 1) \
    P(LEADROUTE_RULE_VERSION, 1) \
    P(LEADROUTE_DIAGNOSTIC_VERSION, 1) \
    P(LEADROUTE_REP_VERSION, 1) \
    P(LEADROUTE_POOL_VERSION, 1) \
    P(LEADROUTE_ASSIGNMENT_VERSION, 1) \
    P(LEADROUTE_COMMIT_VERSION, 2) \
    P(LEADROUTE_COMMIT_FOLLOW_UP, 1) \
    P(LEADROUTE_STORE_VERSION, 1) \
    P(LEADROUTE_AVAILABILITY_VERSION, 1) \
    P(LEADROUTE_NOTIFY_VERSION, 1) \
    P(LEADROUTE_CLOCK_VERSION, 1) \
    P(LEADROUTE_ROUTER_OPTIONS_VERSION, 2) \
    P(LEADROUTE_TICK_STATS_VERSION, 2) \
    P(LEADROUTE_LATENCY_STATS_VERSION, 1)

#if defined(__GNUC__)
#define SAME_TYPE(a, b) __builtin_types_compatible_p(__typeof__(a), __typeof__(b))
#else
#define SAME_TYPE(a, b) 1
#endif

#define MEMBER_OF(T, m) (((T *)0)->m)

/* ---- compile-time checks --------------------------------------------- */

#ifndef LAYOUT_RUNTIME_ONLY
#define STATIC_MEMBER(F, R, m) \
    _Static_assert(offsetof(F, m) == offsetof(R, m), #R "." #m " moved: appending only, see top of file"); \
    _Static_assert(sizeof(MEMBER_OF(F, m)) == sizeof(MEMBER_OF(R, m)), #R "." #m " changed size"); \
    _Static_assert(SAME_TYPE(MEMBER_OF(F, m), MEMBER_OF(R, m)), #R "." #m " changed type");
#define STATIC_NESTED(F, R, m) \
    _Static_assert(offsetof(F, m) == offsetof(R, m), #R "." #m " moved: appending only, see top of file"); \
    _Static_assert(sizeof(MEMBER_OF(F, m)) == sizeof(MEMBER_OF(R, m)), #R "." #m " changed size");
#define STATIC_STRUCT(LIST, F, R, may_grow) \
    LIST(STATIC_MEMBER, STATIC_NESTED, F, R) \
    _Static_assert((may_grow) ? sizeof(R) >= sizeof(F) : sizeof(R) == sizeof(F), \
                   "sizeof(" #R ") changed without a version bump");
#define STATIC_PIN(name, value) _Static_assert((name) == (value), #name " must stay " #value);

ALL_STRUCTS(STATIC_STRUCT)
ALL_PINS(STATIC_PIN)
ALL_CURRENT_VERSIONS(STATIC_PIN)
#endif

/* ---- run-time report -------------------------------------------------- */

static int failures;
static int checks;

static void check_member(const char *strct, const char *member, size_t frozen_off, size_t real_off,
                         size_t frozen_size, size_t real_size, int same_type)
{
    checks++;
    if (frozen_off != real_off || frozen_size != real_size || !same_type) {
        failures++;
        printf("FAIL: %s.%s: frozen v1 offset %zu size %zu, header has offset %zu size %zu%s\n",
               strct, member, frozen_off, frozen_size, real_off, real_size,
               same_type ? "" : " (and a different type)");
    }
}

static void check_size(const char *strct, size_t frozen_size, size_t real_size, int may_grow)
{
    checks++;
    if (may_grow ? real_size < frozen_size : real_size != frozen_size) {
        failures++;
        printf("FAIL: sizeof(%s) is %zu, frozen v1 is %zu%s\n", strct, real_size, frozen_size,
               may_grow ? " (it may only grow)" : " (bump its version and add a frozen copy)");
    }
}

static void check_pin(const char *name, long long actual, long long pinned)
{
    checks++;
    if (actual != pinned) {
        failures++;
        printf("FAIL: %s is %lld, pinned at %lld\n", name, actual, pinned);
    }
}

#define RUN_MEMBER(F, R, m) \
    check_member(#R, #m, offsetof(F, m), offsetof(R, m), sizeof(MEMBER_OF(F, m)), \
                 sizeof(MEMBER_OF(R, m)), SAME_TYPE(MEMBER_OF(F, m), MEMBER_OF(R, m)));
#define RUN_NESTED(F, R, m) \
    check_member(#R, #m, offsetof(F, m), offsetof(R, m), sizeof(MEMBER_OF(F, m)), \
                 sizeof(MEMBER_OF(R, m)), 1);
#define RUN_STRUCT(LIST, F, R, may_grow) \
    LIST(RUN_MEMBER, RUN_NESTED, F, R) \
    check_size(#R, sizeof(F), sizeof(R), (may_grow));
#define RUN_PIN(name, value) check_pin(#name, (long long)(name), (long long)(value));

int main(void)
{
    /* Each INIT macro must start with its own version. */
    leadroute_allocator allocator = LEADROUTE_ALLOCATOR_INIT;
    leadroute_value value = LEADROUTE_VALUE_INIT;
    leadroute_lead lead = LEADROUTE_LEAD_INIT;
    leadroute_table_options options = LEADROUTE_TABLE_OPTIONS_INIT;
    leadroute_rule rule = LEADROUTE_RULE_INIT;
    leadroute_diagnostic diagnostic = LEADROUTE_DIAGNOSTIC_INIT;

    ALL_STRUCTS(RUN_STRUCT)
    ALL_PINS(RUN_PIN)
    ALL_CURRENT_VERSIONS(RUN_PIN)

    check_pin("LEADROUTE_ALLOCATOR_INIT.version", allocator.version, LEADROUTE_ALLOCATOR_VERSION);
    check_pin("LEADROUTE_VALUE_INIT.version", value.version, LEADROUTE_VALUE_VERSION);
    check_pin("LEADROUTE_VALUE_INIT.type", value.type, LEADROUTE_VALUE_NULL);
    check_pin("LEADROUTE_LEAD_INIT.version", lead.version, LEADROUTE_LEAD_VERSION);
    check_pin("LEADROUTE_TABLE_OPTIONS_INIT.version", options.version, LEADROUTE_TABLE_OPTIONS_VERSION);
    check_pin("LEADROUTE_RULE_INIT.version", rule.version, LEADROUTE_RULE_VERSION);
    check_pin("LEADROUTE_DIAGNOSTIC_INIT.version", diagnostic.version, LEADROUTE_DIAGNOSTIC_VERSION);

    /* The version number is derived, not free-form. */
    check_pin("LEADROUTE_VERSION_NUMBER", LEADROUTE_VERSION_NUMBER,
              LEADROUTE_VERSION_MAJOR * 10000LL + LEADROUTE_VERSION_MINOR * 100LL + LEADROUTE_VERSION_PATCH);

    if (failures) {
        printf("%d of %d layout checks failed\n", failures, checks);
        return 1;
    }
    printf("ok: %d layout checks\n", checks);
    return 0;
}
