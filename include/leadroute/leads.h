/*
 * libleadroute: reading leads from CSV files.
 * SPDX-License-Identifier: MIT
 */
#ifndef LEADROUTE_LEADS_H
#define LEADROUTE_LEADS_H

#include "common.h"
#include "value.h"
#include "table.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @file
 * A reader for leads exported as CSV (RFC 4180, UTF-8, LF or CRLF, a leading
 * byte-order mark ignored), for batch jobs, tests and the `leadroute` tool.
 * Hosts that hold leads in memory fill ::leadroute_lead structs themselves.
 *
 * File layout:
 * - The first row that is not blank is the header: one field name per
 *   column (white space around it ignored; 1 to LEADROUTE_MAX_NAME bytes;
 *   unique; no control character, U+2028, U+2029 or U+FEFF, as in table
 *   column names; at most LEADROUTE_MAX_FIELDS columns). A name may end in `:set`
 *   (`products:set`): the suffix is removed from the field name and marks the
 *   column as a set.
 * - The column named `id` (any ASCII case) holds the lead id; without one, the
 *   first column does. A header naming it twice (`ID` and `id`) is refused.
 *   The id column is also an ordinary field of the lead.
 * - Every later row is one lead, its fields in header order. Blank rows and
 *   rows of empty cells are skipped. White space around every cell is removed. An empty cell leaves
 *   the field out of that lead (a missing value). Cells of set columns, and of
 *   columns that the `table` given to the reader reads as
 *   ::LEADROUTE_TYPE_SET, are split on `;` into items (each trimmed, empty
 *   items dropped). Every other cell is a ::LEADROUTE_VALUE_STRING: the
 *   evaluator reads strings such as `"1200"` or `"true"` for number and bool
 *   columns itself.
 * - There are no comment lines: a row starting with `#` is a lead.
 *
 * Rows that cannot be a lead are skipped and recorded (see
 * leadroute_leads_error()): a row with more or fewer cells than the header
 * (extra trailing empty cells are fine), an empty id, an id already seen in an
 * earlier row, invalid UTF-8 or a NUL byte in a cell, a cell longer than
 * LEADROUTE_MAX_STRING bytes, a set with more than LEADROUTE_MAX_SET_ITEMS
 * items, and a row whose quoting is broken: a quoted cell that is never
 * closed, or text after a closing quote (the message names the line and
 * column, and what was expected).
 *
 * A quoted cell may span lines. As a cell holds at most
 * LEADROUTE_MAX_STRING bytes, a quote still open that far on is broken
 * quoting, unless it closes further on, in a row of the header's number of
 * cells (extra empty cells are fine), and no line wholly inside the cell
 * reads on its own as such a row (split at its commas, its quoted cells
 * closing on the line, not all cells blank): that row is skipped as too
 * long, and the lines inside its cell are not read. Otherwise its quote is
 * read as a stray quote, which loses only its own row: a stray quote that a
 * later '"' in the same column closes makes a record of the header's number
 * of cells, but the rows it swallowed are rows of their own. (A line inside
 * a real cell over LEADROUTE_MAX_STRING bytes that reads as such a row is
 * then read as a lead: that cell was invalid anyway, and no lead is lost
 * without a word.) A row that runs past its first line through a quoted
 * cell and then has a cell more than the header that is not blank is broken
 * quoting too, found at that cell.
 *
 * After a row with broken quoting, reading goes on at the line after the
 * one where that row starts: the lines a stray quote swallowed are read as
 * rows again. (Where a quote was meant and the row broke later, the rest of
 * its cell is read as rows too, which mostly fail for their number of cells
 * and are recorded as well.) A row read so whose own line ends inside a
 * quoted cell, at a line break that the broken row also read inside its
 * quotes, reads on from there exactly as that row did: it is broken quoting
 * at once. So no part of the file is read once per row before it, and
 * reading takes time linear in its size. The message of a row with broken
 * quoting names the row's own line; when the row ran past that line through
 * a quoted cell and its quoting broke further on, the message starts at
 * that cell's quote and says where it broke.
 *
 * Only a broken file fails as a whole: no header, or a bad header (broken
 * quoting in it included).
 */

/**
 * Leads read from one CSV text. Opaque and immutable once returned: any
 * number of threads may read one object at once. Everything it hands out
 * (leads, fields, strings, messages) is owned by it and lives until
 * leadroute_leads_free().
 */
typedef struct leadroute_leads leadroute_leads;

/**
 * Read leads from CSV text.
 *
 * @param out       receives the new object; set to NULL on error
 * @param text      `length` bytes; need not be NUL-terminated; copied as
 *                  needed, so the caller may free it on return. NULL is
 *                  allowed when `length` is 0 (and fails: no header).
 * @param filename  used in messages ("file:line: ..."); NULL = "<leads>"
 * @param table     optional: columns it reads as set become sets, and field
 *                  names it knows point at its own name strings
 *                  (leadroute_table_input_name()), which makes evaluation
 *                  lookups cheapest. For that the object takes a reference
 *                  on the table (leadroute_table_ref()), dropped by
 *                  leadroute_leads_free(); the caller may unref its own.
 * @param allocator NULL = malloc/free; copied, and its user_data must outlive
 *                  the object
 * @return LEADROUTE_OK, also when some rows were skipped (see
 *         leadroute_leads_error_count(); the thread's last error then
 *         holds the last skipped row's error); LEADROUTE_EPARSE with
 *         "file:line:col" for a file without header or a bad header (its
 *         CSV structure included); LEADROUTE_ELIMIT (too many columns, a header
 *         name too long); LEADROUTE_EINVAL (NULL `out`, NULL `text` with a
 *         non-zero length, an allocator missing a function);
 *         LEADROUTE_EVERSION (allocator version);
 *         LEADROUTE_ENOMEM. The error is also set as the thread's last error.
 * Thread-safe (no shared state).
 */
LEADROUTE_API int leadroute_leads_parse(leadroute_leads **out, const char *text, size_t length,
                                        const char *filename, const leadroute_table *table,
                                        const leadroute_allocator *allocator);

/**
 * Read a file and call leadroute_leads_parse() with its path as file name.
 * @return as leadroute_leads_parse(), plus LEADROUTE_EIO when the file cannot
 *         be opened or read (the message names the path and the reason), and
 *         LEADROUTE_EINVAL for a NULL path.
 * Thread-safe.
 */
LEADROUTE_API int leadroute_leads_load(leadroute_leads **out, const char *path, const leadroute_table *table,
                                       const leadroute_allocator *allocator);

/** Free the object and everything it owns. NULL is fine. No other thread may be reading it. */
LEADROUTE_API void leadroute_leads_free(leadroute_leads *leads);

/** Number of leads read (skipped rows not counted); 0 for NULL. Thread-safe. */
LEADROUTE_API size_t leadroute_leads_count(const leadroute_leads *leads);

/**
 * Lead `index`, in file order. Owned by `leads`; pass it to
 * leadroute_table_eval() as is. Its `id` is never NULL.
 * @return NULL when `leads` is NULL or `index` is out of range. Thread-safe.
 */
LEADROUTE_API const leadroute_lead *leadroute_leads_get(const leadroute_leads *leads, size_t index);

/**
 * 1-based source line where lead `index` starts (for messages).
 * @return 0 when `leads` is NULL or `index` is out of range. Thread-safe.
 */
LEADROUTE_API uint32_t leadroute_leads_line(const leadroute_leads *leads, size_t index);

/** Number of rows skipped because they could not be a lead; 0 for NULL. Thread-safe. */
LEADROUTE_API size_t leadroute_leads_error_count(const leadroute_leads *leads);

/**
 * Why row `index` (in file order among the skipped rows) was skipped:
 * "file:line: message" (or "file:line:col: message" when a cell is at fault).
 * Owned by `leads`.
 * @return NULL when `leads` is NULL or `index` is out of range. Thread-safe.
 */
LEADROUTE_API const char *leadroute_leads_error(const leadroute_leads *leads, size_t index);

/**
 * Source line of skipped row `index`.
 * @return 0 when `leads` is NULL or `index` is out of range. Thread-safe.
 */
LEADROUTE_API uint32_t leadroute_leads_error_line(const leadroute_leads *leads, size_t index);

#ifdef __cplusplus
}
#endif

#endif /* LEADROUTE_LEADS_H */
