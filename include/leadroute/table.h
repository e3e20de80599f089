/*
 * libleadroute: compiled decision tables.
 * SPDX-License-Identifier: MIT
 */
#ifndef LEADROUTE_TABLE_H
#define LEADROUTE_TABLE_H

#include "common.h"
#include "value.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @file
 * Decision tables: parse (CSV text) or build (rule structs), compile, lint,
 * evaluate. docs/table-format.md describes the text format and semantics.
 *
 * Threads: a compiled ::leadroute_table is immutable and reference counted;
 * every function taking a `const leadroute_table *` is thread-safe, so any
 * number of threads may evaluate one table at once, each with its own
 * ::leadroute_result. A builder or a result is used by one thread at a time.
 *
 * Ownership: strings and values returned by table getters are owned by the
 * table and live as long as it does; those reached through a result are
 * owned by the table the result was last evaluated against.
 *
 * Errors: functions returning `int` give LEADROUTE_OK or a negative
 * ::leadroute_error_code and set leadroute_error_last(). Getters returning
 * a pointer, a count or a type return NULL, 0 or SIZE_MAX for a NULL object
 * or an index out of range, and leave the last error alone.
 */

/** Opaque compiled table. Immutable; thread-safe to share. */
typedef struct leadroute_table leadroute_table;
/** Opaque builder for tables made from rule structs. One thread at a time. */
typedef struct leadroute_table_builder leadroute_table_builder;
/** Opaque evaluation result, owned by the caller. One thread at a time. */
typedef struct leadroute_result leadroute_result;

/** Column types (input `field:type`, output `out:name:type`). */
typedef enum leadroute_column_type {
    LEADROUTE_TYPE_STRING = 1,
    LEADROUTE_TYPE_NUMBER = 2,
    LEADROUTE_TYPE_BOOL = 3,
    LEADROUTE_TYPE_SET = 4      /**< input only: the lead holds several strings */
} leadroute_column_type;

/** Column flags for leadroute_table_builder_add_input(). */
#define LEADROUTE_COLUMN_CASE_INSENSITIVE 0x1u  /**< header suffix `:ci` */

/** DMN hit policies. */
typedef enum leadroute_hit_policy {
    LEADROUTE_HIT_FIRST = 1,        /**< first matching rule in table order (default) */
    LEADROUTE_HIT_UNIQUE = 2,       /**< at most one rule may match */
    LEADROUTE_HIT_ANY = 3,          /**< overlaps allowed if all outputs agree */
    LEADROUTE_HIT_PRIORITY = 4,     /**< the match with the highest output priority */
    LEADROUTE_HIT_RULE_ORDER = 5,   /**< every match, in table order */
    LEADROUTE_HIT_OUTPUT_ORDER = 6, /**< every match, by decreasing output priority */
    LEADROUTE_HIT_COLLECT = 7       /**< every match, optionally aggregated */
} leadroute_hit_policy;

/** COLLECT aggregations. */
typedef enum leadroute_aggregation {
    LEADROUTE_AGG_NONE = 0,
    LEADROUTE_AGG_SUM = 1,
    LEADROUTE_AGG_COUNT = 2,  /**< number of distinct non-null output values */
    LEADROUTE_AGG_MIN = 3,
    LEADROUTE_AGG_MAX = 4
} leadroute_aggregation;

/** Flags for leadroute_table_options::flags. */
#define LEADROUTE_TABLE_NO_LINT 0x1u  /**< skip lint when compiling (huge tables) */

/** Options for parsing, building and compiling a table. */
typedef struct leadroute_table_options {
    uint32_t version;                      /**< LEADROUTE_TABLE_OPTIONS_VERSION */
    uint32_t flags;                        /**< LEADROUTE_TABLE_* flags */
    const leadroute_allocator *allocator;  /**< copied; NULL = malloc/free */
    size_t max_memory;                     /**< cap in bytes of the compiled table, all that
                                                leadroute_table_memory() counts; 0 = 1 GiB */
} leadroute_table_options;

#define LEADROUTE_TABLE_OPTIONS_VERSION 1
#define LEADROUTE_TABLE_OPTIONS_INIT { LEADROUTE_TABLE_OPTIONS_VERSION, 0, NULL, 0 }

/**
 * Initialise table options with defaults for `version`.
 * @return LEADROUTE_OK, EINVAL (NULL), EVERSION (unknown version; `*options` untouched).
 * Thread-safe: touches only `*options`.
 */
LEADROUTE_API int leadroute_table_options_init(leadroute_table_options *options, uint32_t version);

/**
 * One rule for the builder. Cells are text in the same syntax as the CSV
 * format ("-", ">= 90", "\"DE\", \"AT\"", "not(EMEA)", "94*", ...); a NULL
 * or empty input cell means "any"; a NULL or empty output cell means null.
 */
typedef struct leadroute_rule {
    uint32_t version;            /**< LEADROUTE_RULE_VERSION */
    const char *id;              /**< rule id; NULL = its 1-based position */
    const char *const *inputs;   /**< input_count cells, one per input column */
    size_t input_count;
    const char *const *outputs;  /**< output_count cells, one per output column */
    size_t output_count;
} leadroute_rule;

#define LEADROUTE_RULE_VERSION 1
#define LEADROUTE_RULE_INIT { LEADROUTE_RULE_VERSION, NULL, NULL, 0, NULL, 0 }

/**
 * Initialise a rule for `version`.
 * @return LEADROUTE_OK, EINVAL (NULL), EVERSION (unknown version; `*rule` untouched).
 * Thread-safe: touches only `*rule`.
 */
LEADROUTE_API int leadroute_rule_init(leadroute_rule *rule, uint32_t version);

/**
 * Parse and compile a table from CSV text (docs/table-format.md).
 * @param out       receives the table (reference count 1); set to NULL on error
 * @param text      `length` bytes of UTF-8; need not be NUL-terminated; copied as needed
 * @param filename  used in error messages ("file:line:col"); NULL = "<table>"
 * @param options   NULL for defaults
 * @return LEADROUTE_OK; LEADROUTE_EPARSE or LEADROUTE_ETABLE with a message
 *         naming file:line:column, the offending text and what was expected;
 *         LEADROUTE_EINVAL (NULL `out`, NULL `text` with a non-zero length,
 *         unknown option flags, an allocator missing a function),
 *         LEADROUTE_EVERSION (options or allocator version),
 *         LEADROUTE_ENOMEM, LEADROUTE_ELIMIT. Never yields a half-built table.
 * Thread-safe (no shared state).
 */
LEADROUTE_API int leadroute_table_parse(leadroute_table **out, const char *text, size_t length,
                                        const char *filename, const leadroute_table_options *options);

/**
 * Read a file and call leadroute_table_parse() with its name.
 * @return as leadroute_table_parse(), plus LEADROUTE_EIO if it cannot be read
 *         and LEADROUTE_EINVAL for a NULL `path`.
 * Thread-safe (no shared state).
 */
LEADROUTE_API int leadroute_table_load(leadroute_table **out, const char *path,
                                       const leadroute_table_options *options);

/**
 * Create a builder. @param options NULL for defaults (copied).
 * @param out receives the builder, to release with leadroute_table_builder_free();
 *            set to NULL on error.
 * @return LEADROUTE_OK, LEADROUTE_EINVAL, LEADROUTE_EVERSION, LEADROUTE_ENOMEM.
 * Thread-safe (no shared state); the builder is then used by one thread at a time.
 */
LEADROUTE_API int leadroute_table_builder_new(leadroute_table_builder **out,
                                              const leadroute_table_options *options);

/** Free a builder (NULL is fine). Tables built from it stay valid. No other thread may be using it. */
LEADROUTE_API void leadroute_table_builder_free(leadroute_table_builder *builder);

/**
 * Set a table property, exactly like a `#! key: value` directive line:
 * `hit_policy`, `aggregation`, `name`, `version`, `priority` ("out = a, b, c").
 * Unlike a directive in a file, which may appear once, setting a property
 * again replaces its value; a second priority list for one output is still
 * an error. A hit policy naming an aggregation (C+, C#, C<, C>) applies it
 * while it is the policy, even over an `aggregation` set meanwhile; a
 * later plain policy brings back the value of the `aggregation` property,
 * or none. Keys and values are at most LEADROUTE_MAX_STRING bytes of UTF-8.
 * @return LEADROUTE_OK, LEADROUTE_EINVAL (unknown key, or one that is not
 *         such text), LEADROUTE_EPARSE (bad value, or one that is not such text),
 *         LEADROUTE_ENOMEM, LEADROUTE_ELIMIT (the list of priorities cannot grow).
 *         On error the builder is unchanged. One thread at a time per builder.
 */
LEADROUTE_API int leadroute_table_builder_set(leadroute_table_builder *builder, const char *key,
                                              const char *value);

/**
 * Add an input column. Columns must all be added before the first rule.
 * @param type a ::leadroute_column_type; @param flags LEADROUTE_COLUMN_* flags
 * @return LEADROUTE_OK, LEADROUTE_EINVAL, LEADROUTE_ETABLE (duplicate name,
 *         rules already added), LEADROUTE_ELIMIT, LEADROUTE_ENOMEM. On error the
 *         builder is unchanged. One thread at a time per builder.
 */
LEADROUTE_API int leadroute_table_builder_add_input(leadroute_table_builder *builder, const char *name,
                                                    uint32_t type, uint32_t flags);

/**
 * Add an output column (type STRING, NUMBER or BOOL).
 * @return as leadroute_table_builder_add_input(); on error the builder is
 *         unchanged. One thread at a time per builder.
 */
LEADROUTE_API int leadroute_table_builder_add_output(leadroute_table_builder *builder, const char *name,
                                                     uint32_t type);

/**
 * Add a rule. Cells are parsed now; the rule struct is copied.
 * @return LEADROUTE_OK, LEADROUTE_EPARSE (message names rule and column),
 *         LEADROUTE_ETABLE (wrong cell count, duplicate id), EINVAL, EVERSION,
 *         ENOMEM, ELIMIT. On error the builder is unchanged. One thread at a time
 *         per builder.
 */
LEADROUTE_API int leadroute_table_builder_add_rule(leadroute_table_builder *builder,
                                                   const leadroute_rule *rule);

/**
 * Compile what the builder holds into a new table. The builder stays usable.
 * @param out receives the table with reference count 1 (release it with
 *            leadroute_table_unref()); set to NULL on error.
 * @return LEADROUTE_OK; LEADROUTE_ETABLE (policy and columns disagree);
 *         LEADROUTE_EPARSE (a priority list that does not read as values of
 *         its output's type: priority lists are read here, when the output
 *         column is known); LEADROUTE_EINVAL, LEADROUTE_ENOMEM, LEADROUTE_ELIMIT.
 *         One thread at a time per builder; the table is shared freely.
 */
LEADROUTE_API int leadroute_table_builder_build(leadroute_table **out, leadroute_table_builder *builder);

/** Take a reference. Returns `table`. Thread-safe (atomic). NULL-safe. */
LEADROUTE_API leadroute_table *leadroute_table_ref(leadroute_table *table);

/** Drop a reference; the last one frees the table. Thread-safe. NULL-safe. */
LEADROUTE_API void leadroute_table_unref(leadroute_table *table);

/** `#! name` directive, or "". Owned by the table; NULL for a NULL table. Thread-safe. */
LEADROUTE_API const char *leadroute_table_name(const leadroute_table *table);
/** `#! version` directive, or "". Owned by the table; NULL for a NULL table. Thread-safe. */
LEADROUTE_API const char *leadroute_table_version(const leadroute_table *table);
/**
 * XXH3-64 content hash of the compiled meaning (columns, rules, policy,
 * priorities; not comments or spacing). Stable across platforms and releases,
 * so hosts may persist it as the table version. 0 for NULL. Thread-safe.
 */
LEADROUTE_API uint64_t leadroute_table_hash(const leadroute_table *table);
/** The ::leadroute_hit_policy; 0 for NULL. Thread-safe. */
LEADROUTE_API uint32_t leadroute_table_hit_policy(const leadroute_table *table);
/** The ::leadroute_aggregation (COLLECT only, else NONE); 0 for NULL. Thread-safe. */
LEADROUTE_API uint32_t leadroute_table_aggregation(const leadroute_table *table);
/** Bytes of memory the compiled table uses; 0 for NULL. Thread-safe. */
LEADROUTE_API size_t leadroute_table_memory(const leadroute_table *table);

/** Number of rules; 0 for NULL. Thread-safe. */
LEADROUTE_API size_t leadroute_table_rule_count(const leadroute_table *table);
/** Rule id of rule `index`, NULL if out of range. Owned by the table. Thread-safe. */
LEADROUTE_API const char *leadroute_table_rule_id(const leadroute_table *table, size_t index);
/** Source line of rule `index` (0 for built tables or out of range). Thread-safe. */
LEADROUTE_API uint32_t leadroute_table_rule_line(const leadroute_table *table, size_t index);
/**
 * Output `output` of rule `rule`, as the rule gives it (a value of the
 * output column's type, or null for an empty cell): what an evaluation that
 * hits the rule returns, read without a lead, e.g. to check that every pool
 * a table names exists.
 * @return the value, owned by the table and valid while it lives; NULL for
 *         a NULL table or an index out of range. Thread-safe.
 */
LEADROUTE_API const leadroute_value *leadroute_table_rule_output(const leadroute_table *table, size_t rule,
                                                                 size_t output);

/** Number of input columns; 0 for NULL. Thread-safe. */
LEADROUTE_API size_t leadroute_table_input_count(const leadroute_table *table);
/** Name of input column `index` (NULL if out of range). Owned by the table. Thread-safe. */
LEADROUTE_API const char *leadroute_table_input_name(const leadroute_table *table, size_t index);
/** ::leadroute_column_type of input `index`, 0 if out of range. Thread-safe. */
LEADROUTE_API uint32_t leadroute_table_input_type(const leadroute_table *table, size_t index);
/** Number of output columns; 0 for NULL. Thread-safe. */
LEADROUTE_API size_t leadroute_table_output_count(const leadroute_table *table);
/** Name of output column `index` (NULL if out of range). Owned by the table. Thread-safe. */
LEADROUTE_API const char *leadroute_table_output_name(const leadroute_table *table, size_t index);
/** ::leadroute_column_type of output `index`, 0 if out of range. Thread-safe. */
LEADROUTE_API uint32_t leadroute_table_output_type(const leadroute_table *table, size_t index);
/**
 * Index of the output column `name` (exact match).
 * @return the index (>= 0), LEADROUTE_ENOTFOUND, or LEADROUTE_EINVAL (NULL). Thread-safe.
 */
LEADROUTE_API int leadroute_table_output_index(const leadroute_table *table, const char *name);

/** Kinds of lint diagnostic. */
typedef enum leadroute_diagnostic_kind {
    LEADROUTE_DIAG_SHADOWED = 1,       /**< FIRST: the rule can never fire */
    LEADROUTE_DIAG_OVERLAP = 2,        /**< UNIQUE: two rules match one lead (witness given) */
    LEADROUTE_DIAG_NO_MATCH = 3,       /**< no catch-all: a lead no rule matches (witness given) */
    LEADROUTE_DIAG_UNLISTED_PRIORITY = 4, /**< PRIORITY/OUTPUT ORDER: output value not in its priority list */
    LEADROUTE_DIAG_NO_MATCH_UNDECIDED = 5, /**< a notice, not a finding: no catch-all, and the search for
                                                a lead no rule matches reached its bound with neither found
                                                nor ruled out (or found none among the values lint could
                                                name, when it could not name some), so some leads may match
                                                no rule (no witness; the message names the bound) */
    LEADROUTE_DIAG_SHADOWED_UNDECIDED = 6, /**< a notice, not a finding: FIRST: the shadow check stopped at
                                                a bound (or, on a table too big for its budget, did not
                                                start, or lacked a value to name in a column) before it
                                                could tell whether some rules can fire; rule_id is the
                                                first of them, the message counts them and names the
                                                bounds (no witness) */
    LEADROUTE_DIAG_OVERLAP_UNDECIDED = 7,  /**< a notice, not a finding: UNIQUE: the overlap check ran out
                                                of its work budget before it had compared some rules with
                                                the rules before them (or they meet earlier rules only on
                                                values lint could not name); rule_id is the first of them,
                                                the message counts them and names the bound (no witness) */
    LEADROUTE_DIAG_TRUNCATED = 8           /**< a notice, always the last: lint found more findings than the
                                                1000 it keeps; rule_id is the rule the first one left out is
                                                about (NULL for NO_MATCH), the message counts them (no
                                                witness) */
} leadroute_diagnostic_kind;

/**
 * One lint diagnostic: a finding, or a notice (the *_UNDECIDED kinds and
 * TRUNCATED), which says what lint could not settle or keep. Filled by the
 * library for the version the caller sets; every string is owned by the
 * table.
 */
typedef struct leadroute_diagnostic {
    uint32_t version;            /**< set by the caller: LEADROUTE_DIAGNOSTIC_VERSION */
    uint32_t kind;               /**< a ::leadroute_diagnostic_kind */
    const char *rule_id;         /**< the rule concerned; NULL for NO_MATCH, for
                                      NO_MATCH_UNDECIDED, and for TRUNCATED when the first
                                      finding left out is a NO_MATCH */
    uint32_t line;               /**< its source line, 0 if unknown */
    const char *other_rule_id;   /**< shadowing/overlapping rule, else NULL */
    uint32_t other_line;         /**< its line, 0 if unknown */
    const char *witness;         /**< example lead "field=value; set={a, b}; ..." (fields not
                                      named are missing; "" = all missing), or NULL */
    const char *message;         /**< full sentence with file:line, on one line as error
                                      messages are (control characters and line separators
                                      shown as \xNN); at most 2 KiB, a longer one cut on a
                                      character and ending in "..." (the witness field is
                                      always whole, and raw) */
} leadroute_diagnostic;

#define LEADROUTE_DIAGNOSTIC_VERSION 1
#define LEADROUTE_DIAGNOSTIC_INIT { LEADROUTE_DIAGNOSTIC_VERSION, 0, NULL, 0, NULL, 0, NULL, NULL }

/**
 * Number of lint diagnostics found at compile time (0 with
 * LEADROUTE_TABLE_NO_LINT). Lint work is bounded: at most 1000 findings are
 * kept, the pairwise checks (shadowed, overlap) stop early on tables too
 * big to analyse in a few seconds, and the search for a lead no rule
 * matches says when it stops at its bound (LEADROUTE_DIAG_NO_MATCH_UNDECIDED),
 * as the shadow check does for the rules it could not decide
 * (LEADROUTE_DIAG_SHADOWED_UNDECIDED) and the overlap check for the rules
 * it did not compare (LEADROUTE_DIAG_OVERLAP_UNDECIDED). Findings past the
 * 1000th are counted in a last LEADROUTE_DIAG_TRUNCATED. Those four are
 * notices: they say what lint could not decide or did not keep, not that
 * the table is wrong (`leadroute check` does not fail on notices alone),
 * and the cap on findings never drops one: with them, a table has at most
 * 1003 diagnostics. 0 for NULL. Thread-safe.
 */
LEADROUTE_API size_t leadroute_table_diagnostic_count(const leadroute_table *table);

/**
 * Copy diagnostic `index` into `out` (caller sets out->version).
 * @return LEADROUTE_OK, LEADROUTE_EINVAL, LEADROUTE_EVERSION, LEADROUTE_ERANGE;
 *         `*out` is untouched on error. Thread-safe.
 */
LEADROUTE_API int leadroute_table_diagnostic(const leadroute_table *table, size_t index,
                                             leadroute_diagnostic *out);

/**
 * Name of a ::leadroute_diagnostic_kind, as the command-line tool prints
 * it: "shadowed", "overlap", "no_match", "unlisted_priority",
 * "no_match_undecided", "shadowed_undecided", "overlap_undecided",
 * "truncated"; "unknown" for any other number.
 * @return a static string, never NULL. Thread-safe.
 */
LEADROUTE_API const char *leadroute_diagnostic_kind_name(uint32_t kind);

/**
 * Whether a ::leadroute_diagnostic_kind is a notice, which says what lint
 * could not settle or keep (the *_UNDECIDED kinds and TRUNCATED), rather
 * than a finding about the table. A host that fails a check on findings
 * should ask here instead of listing kinds: later versions may add kinds of
 * either sort, and this answers for every kind the library in use knows.
 * @return 1 for a notice, 0 for a finding, LEADROUTE_EINVAL (with a message)
 *         for a number that is no kind. Thread-safe.
 */
LEADROUTE_API int leadroute_diagnostic_is_notice(uint32_t kind);

/**
 * Create a result able to hold every hit of `table`, and of any other table
 * no larger in rules, input and output columns, set columns and distinct
 * output values (leadroute_result_reserve() grows it for a larger one;
 * evaluation refuses a result too small with LEADROUTE_ERANGE). Allocation
 * happens here, never in evaluation. `*out` is
 * released with leadroute_result_free() and set to NULL on error.
 * @param allocator NULL = malloc/free (copied)
 * @return LEADROUTE_OK, LEADROUTE_EINVAL, LEADROUTE_EVERSION, LEADROUTE_ENOMEM.
 * Thread-safe (reads the table only); the result is then used by one thread at a time.
 */
LEADROUTE_API int leadroute_result_new(leadroute_result **out, const leadroute_table *table,
                                       const leadroute_allocator *allocator);

/**
 * Grow `result` so it fits `table`. A result that already fits is left as it
 * is, its last evaluation included, with no allocation; one that has to grow
 * gets new buffers and holds no evaluation (count 0) on success.
 * @return LEADROUTE_OK, EINVAL, ENOMEM (result unchanged). One thread at a time per result.
 */
LEADROUTE_API int leadroute_result_reserve(leadroute_result *result, const leadroute_table *table);

/** Free a result (NULL is fine). No other thread may be using it. */
LEADROUTE_API void leadroute_result_free(leadroute_result *result);

/**
 * Evaluate `lead` against `table` with the table's hit policy.
 *
 * Never allocates, never locks; safe from many threads on one table with one
 * result per thread. The result borrows from the table: keep a reference to
 * the table while reading it.
 *
 * @return LEADROUTE_OK (also when no rule matched: count is 0);
 *         LEADROUTE_EHITPOLICY when UNIQUE finds several matches or ANY finds
 *         disagreeing outputs: the result then lists the conflicting rules;
 *         LEADROUTE_ELEAD for an invalid field the table reads (message names
 *         it); LEADROUTE_EINVAL, LEADROUTE_EVERSION; LEADROUTE_ERANGE when the
 *         result is too small (leadroute_result_reserve()) or a COLLECT sum
 *         overflows a double.
 */
LEADROUTE_API int leadroute_table_eval(const leadroute_table *table, const leadroute_lead *lead,
                                       leadroute_result *result);

/**
 * Number of hits in the last evaluation: 0 if none matched or after an
 * error, except LEADROUTE_EHITPOLICY, after which the conflicting rules are
 * listed. With COLLECT and an aggregation it is still the number of hits.
 * 0 for NULL. One thread at a time per result, as for everything below.
 */
LEADROUTE_API size_t leadroute_result_count(const leadroute_result *result);
/** Rule index of hit `i` (SIZE_MAX if out of range or NULL). One thread at a time per result. */
LEADROUTE_API size_t leadroute_result_rule(const leadroute_result *result, size_t i);
/** Rule id of hit `i` (NULL if out of range). Owned by the table. One thread at a time per result. */
LEADROUTE_API const char *leadroute_result_rule_id(const leadroute_result *result, size_t i);
/** Output `output` of hit `i` (NULL if out of range). Owned by the table. One thread at a time per result. */
LEADROUTE_API const leadroute_value *leadroute_result_output(const leadroute_result *result, size_t i,
                                                             size_t output);
/**
 * COLLECT with an aggregation: the aggregated value of output column
 * `output`: a number; for SUM, MIN and MAX null when no hit had a value,
 * for COUNT the number of distinct non-null values among the hits, 0 when
 * there are none. NULL when the table does not aggregate or the index is
 * out of range. Owned by the result, valid until its next evaluation. One
 * thread at a time per result.
 */
LEADROUTE_API const leadroute_value *leadroute_result_aggregate(const leadroute_result *result,
                                                                size_t output);

#ifdef __cplusplus
}
#endif

#endif /* LEADROUTE_TABLE_H */
