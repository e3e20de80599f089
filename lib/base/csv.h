/* RFC 4180 CSV reader shared by the table parser and the leads reader. */
#ifndef LR_BASE_CSV_H
#define LR_BASE_CSV_H

#include <stddef.h>
#include <stdint.h>
#include "base/alloc.h"

typedef struct lr__csv_field {
    const char *text;   /* unescaped, NUL-terminated, valid UTF-8; valid until the next read */
    size_t len;
    uint32_t line;      /* 1-based line of the field's first byte */
    uint32_t col;       /* 1-based byte column of the field's first byte (the quote, if quoted) */
    int quoted;
} lr__csv_field;

typedef struct lr__csv {
    /* public, read-only after each lr__csv_next() */
    lr__csv_field *fields;
    uint32_t nfields;
    uint32_t line;          /* line where the current record starts */
    int is_comment;         /* record is a '#' line: fields[0] holds the whole line */
    int broken;             /* the last error was structural (lr__csv_skip_line goes on) */
    int bounded;            /* set by the caller: a quoted field longer than LEADROUTE_MAX_STRING
                               bytes with no '"' after it is broken at once (no scan to the end) */
    uint32_t expect_fields; /* set by the caller with bounded (0: any): a quoted field that closes
                               past LEADROUTE_MAX_STRING bytes counts as one (too long) only in a
                               record of this many cells, more if blank, when no line wholly
                               inside it reads alone as such a record; else its quote was most
                               likely stray and the record is broken. So is a record that ran
                               past its first line through a quote and has a cell more that is
                               not blank (found as soon as that cell is read) */
    size_t looked_at;       /* bytes scanned so far, a byte scanned again counted again (tests
                               check that reading stays linear) */
    /* private */
    size_t broken_from;     /* bounded: every line break from broken_from to broken_to was read
                               inside the quotes of the broken record that starts at broken_from, */
    size_t broken_to;       /* on line broken_line */
    uint32_t broken_line;
    size_t next_quote;      /* where the next '"' is (SIZE_MAX: none), once quote_known */
    int quote_known;
    const char *data;
    size_t len, pos;
    uint32_t cur_line;
    size_t line_start;
    const char *filename;
    const lr__alloc *alloc;
    uint32_t fields_cap;
    char *buf;
    size_t buf_len, buf_cap;
} lr__csv;

/* `filename` is used in messages ("<input>" if NULL); data need not be NUL-terminated. */
void lr__csv_init(lr__csv *csv, const char *data, size_t len, const char *filename, const lr__alloc *alloc);

/* Read the next record. Blanks (spaces, tabs) before an opening quote and
 * after a closing quote are dropped, as spreadsheets and people write
 * `a, "b, c"`; inside an unquoted field they are kept (callers trim). With `comments` set, a record whose first byte is
 * '#' comes back as one field holding the physical line without its trailing
 * commas and white space (a plain comment over LEADROUTE_MAX_STRING bytes is
 * cut to that length), and is_comment = 1. A leading UTF-8 byte-order mark
 * is skipped.
 * Returns 1 with a record, 0 at the end, or an error (message set, with
 * file:line:col): LEADROUTE_EPARSE (unterminated quote, text after a closing
 * quote, a stray quote that a bounded record's shape shows, invalid UTF-8,
 * NUL byte), LEADROUTE_ELIMIT (a field longer than LEADROUTE_MAX_STRING),
 * LEADROUTE_ENOMEM. After an error about content the reader stands at the
 * next record; after a structural one (the first three, csv->broken set)
 * at the broken record. */
int lr__csv_next(lr__csv *csv, int comments);

/* After a structural error (csv->broken), skip the broken record: go on at
 * the line after the one where it starts. Lines a stray quote swallowed are
 * so read again. In bounded mode a record read again that runs past its
 * first line inside quotes, where a broken record had run inside quotes too,
 * reads on exactly as that record did: it is broken at once, which keeps
 * reading linear. Returns 1 when there is such a line, 0 at the end. */
int lr__csv_skip_line(lr__csv *csv);

void lr__csv_free(lr__csv *csv);

/* 1 if the field is empty or white space only. */
int lr__csv_blank_field(const lr__csv_field *f);

/* 1 if every cell of the current record is blank (spaces only). */
int lr__csv_blank_record(const lr__csv *csv);

/* For a header row: LEADROUTE_EPARSE, at the first separator, when the row
 * is one unquoted cell holding a tab or a semicolon. The file was saved
 * with another separator, as spreadsheets do in some locales, and would
 * otherwise read as one strange column name. LEADROUTE_OK otherwise. */
int lr__csv_check_separator(const lr__csv *csv);

/* 1 when the current record is a comment or directive: a '#' line, or one
 * that a spreadsheet wrote as one quoted cell (blanks, "#...", then only
 * blank cells); *out is then its first field from the '#' on (text, length
 * and column). 0 for any other record. */
int lr__csv_comment(const lr__csv *csv, lr__csv_field *out);

#endif
