/*
 * format.h - writing reports (report.h) as a table, CSV or JSON.
 *
 *   table  aligned like `nsys stats`: numbers right-aligned with thousands
 *          separators, text left-aligned, a title line per report;
 *   csv    RFC 4180: a header row, then rows; fields holding a comma or a
 *          quote are quoted, quotes doubled; when several reports
 *          go to one stream each section starts with a line holding the
 *          report name and sections are separated by an empty line;
 *   json   one object, keyed by report name, each value an object with
 *          "title", "columns" and "rows" (an array of objects keyed by column
 *          title); empty cells are null.
 *
 * Names (kernel, range, thread, device names, command lines) come from the
 * profiled program and may hold any bytes. Every byte tstop prints of them,
 * in every format and on standard error alike, goes through one function,
 * report_escape_step, so that no name can move the cursor, change colours,
 * reorder text or break a line. Table form, CSV and `tstop info` show
 *   newline, tab, carriage return   as the text \n, \t, \r;
 *   other C0 controls and DEL       as \xNN (\x1b for ESC);
 *   C1 controls (U+0080..U+009F)    as the \xNN of their two UTF-8 bytes;
 *   bidirectional and invisible format controls (U+061C, U+200E, U+200F,
 *   U+202A..U+202E, U+2066..U+2069) and the line and paragraph separators
 *   (U+2028, U+2029)                as \u{XXXX};
 *   a byte that is not part of valid UTF-8  as \xNN;
 * and everything else (printable ASCII, other valid UTF-8) as it is. A
 * backslash stays a backslash. CSV then quotes fields holding a comma or a
 * quote; no line break is left to quote. JSON escapes the same characters
 * the JSON way (\n, \u001b, \u0085, \u202e, ...) and writes a byte that
 * is not valid UTF-8 as the text \xNN, so that every document is valid
 * UTF-8 JSON.
 *
 * Library code: functions return -1 with `e` filled on a write error and
 * never print anything else.
 */
#ifndef TSTOP_REPORT_FORMAT_H
#define TSTOP_REPORT_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "report/report.h"
#include "util/err.h"

enum report_format {
	REPORT_FORMAT_TABLE,
	REPORT_FORMAT_CSV,
	REPORT_FORMAT_JSON,
};

/* Parses "table", "csv" or "json"; returns 0, or -1 for anything else. */
int report_format_parse(const char *name, enum report_format *out);

/* A stream of reports, or of query results (below), being written. */
struct report_writer {
	FILE *f;
	enum report_format format;
	bool several; /* more than one report will be written */
	size_t written;
	/* Query results (report_writer_init_results): */
	bool results;
	size_t width;         /* table form: the line width to fit, 0 = never cut */
	const char *ellipsis; /* what ends a cut cell */
};

/* Starts writing `several` (true) or one (false) report to `f`. The caller
 * keeps ownership of `f`. */
void report_writer_init(struct report_writer *w, FILE *f, enum report_format format, bool several);

/* Writes report `r` completely. Returns 0, or -1 with `e` filled when the
 * stream reports an error. */
int report_writer_add(struct report_writer *w, struct report *r, struct err *e);

/* Ends the output (closes the JSON document) and flushes `f`. Returns 0, or
 * -1 with `e` filled when anything could not be written. */
int report_writer_finish(struct report_writer *w, struct err *e);

/* The size of the escape buffer of report_escape_step (room for the
 * longest escape, "\xNN\xNN" or "\u{XXXX}", and its NUL, with margin). */
#define REPORT_ESCAPE_MAX 16

/* The one place names are made safe to show. Looks at s[0 .. n-1] (n >= 1)
 * and returns how many bytes (at least 1) the next piece covers: either a
 * run of bytes to show as they are (then esc[0] is '\0'), or one character
 * or byte to show as the NUL-terminated escape put in esc. *cols gets the
 * number of characters the piece shows (one per character of the run, or
 * the escape's length). Writers loop over it; so will the TUI. */
size_t report_escape_step(const char *s, size_t n, char esc[REPORT_ESCAPE_MAX], size_t *cols);

/* Whether valid code point `cp` is escaped by the rules above (a C0 or C1
 * control, DEL, a bidi or format control, U+2028, U+2029). */
bool report_escape_code_point(uint32_t cp);

/* Writes `len` bytes of text to `f` escaped by report_escape_step, for
 * commands that print names from a session and for messages that quote
 * them. Returns the number of characters written. */
size_t report_write_text(FILE *f, const char *s, size_t len);

/* Writes `len` bytes of text to `f` as one JSON string, escaped as the JSON
 * writer escapes names (see above), for commands that write JSON of their
 * own shape. */
void report_write_json_string(FILE *f, const char *s, size_t len);

/* --- query results ------------------------------------------------------------
 *
 * Rows that do not come from report.h, such as the results of SQL
 * statements (`tstop sql`), written with the same escaping as reports but
 * laid out as query results:
 *   table  an optional heading line, a header and a rule, then the rows. A
 *          column whose values are all numbers (or NULL) is right-aligned,
 *          any other left-aligned. Integers are written plainly (no
 *          thousands separators: they can be pasted back into a query),
 *          REAL values in their shortest exact form ("2.5", "3.0",
 *          "1e+20"), NULL as the text NULL. When the writer has a width (a
 *          terminal's), text cells of the widest columns are cut, ending
 *          with the ellipsis, until lines fit; numbers are never cut.
 *          Results are separated by an empty line.
 *   csv    a header row, then the rows (RFC 4180 quoting as above); NULL is
 *          an empty field; infinities are inf and -inf; results are
 *          separated by an empty line. The heading is not written.
 *   json   each result one array of objects keyed by column name, one row
 *          per line, numbers as numbers, NULL (and infinities, which JSON
 *          lacks) as null; several results follow one another, each array
 *          starting on a line of its own. The heading is not written.
 */
struct report_result {
	const char *heading;      /* table form: a line above the header; NULL for none */
	const char *const *names; /* the column names: any bytes, NUL-terminated */
	size_t ncols;
	/* Fills vals[0 .. ncols-1] with the next row and returns 1, returns 0
	 * after the last row, or -1 with `e` filled when the rows cannot be
	 * read. TEXT values stay valid until the next call. */
	int (*next)(void *arg, struct report_value *vals, struct err *e);
	/* Goes back to the first row: table form reads the rows twice, once to
	 * measure them. May be NULL when the format is CSV or JSON. */
	void (*rewind)(void *arg);
	void *arg;
};

/* Starts writing query results to `f` (which the caller keeps owning), in
 * table form fitted to `width` columns (0: never cut), a cut cell ending
 * with `ellipsis`, a string that outlives the writer (U+2026 in UTF-8 for a
 * UTF-8 terminal; NULL: "..."). */
void report_writer_init_results(struct report_writer *w, FILE *f, enum report_format format, size_t width,
                                const char *ellipsis);

/* Writes result `res` completely to a writer started by
 * report_writer_init_results. Returns 0, or -1 with `e` filled when the rows
 * could not be read (what was written stays written) or the stream reports
 * an error. Table form reads every row before it writes any, so a row error
 * there leaves nothing written. O(rows x columns); memory O(columns). */
int report_writer_add_result(struct report_writer *w, const struct report_result *res, struct err *e);

#endif
