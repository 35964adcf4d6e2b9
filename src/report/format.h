/*
 * format.h - writing reports (report.h) as a table, CSV or JSON.
 *
 *   table  aligned like `nsys stats`: numbers right-aligned with thousands
 *          separators, text left-aligned, a title line per report;
 *   csv    RFC 4180: a header row, then rows; fields holding a comma, a
 *          quote, CR or LF are quoted, quotes doubled; when several reports
 *          go to one stream each section starts with a line holding the
 *          report name and sections are separated by an empty line;
 *   json   one object, keyed by report name, each value an object with
 *          "title", "columns" and "rows" (an array of objects keyed by column
 *          title); empty cells are null.
 *
 * Text from the target (kernel and range names) may hold any bytes. Nothing
 * written to a terminal carries control characters or escape sequences:
 * table form, and CSV when `terminal` is set, show C0 controls, DEL, C1
 * controls and bytes that are not valid UTF-8 as \xNN. JSON escapes control
 * characters (\n, \u001b, ...) always, and writes bytes that are not valid
 * UTF-8 as the text \xNN, so that every document is valid UTF-8 JSON.
 *
 * Library code: functions return -1 with `e` filled on a write error and
 * never print anything else.
 */
#ifndef TSTOP_REPORT_FORMAT_H
#define TSTOP_REPORT_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
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

/* A stream of reports being written. */
struct report_writer {
	FILE *f;
	enum report_format format;
	bool terminal; /* the stream is a terminal: escape control bytes in CSV too */
	bool several;  /* more than one report will be written */
	size_t written;
};

/* Starts writing `several` (true) or one (false) report to `f`. The caller
 * keeps ownership of `f`. */
void report_writer_init(struct report_writer *w, FILE *f, enum report_format format, bool terminal,
                        bool several);

/* Writes report `r` completely. Returns 0, or -1 with `e` filled when the
 * stream reports an error. */
int report_writer_add(struct report_writer *w, struct report *r, struct err *e);

/* Ends the output (closes the JSON document) and flushes `f`. Returns 0, or
 * -1 with `e` filled when anything could not be written. */
int report_writer_finish(struct report_writer *w, struct err *e);

/* Writes `len` bytes of text to `f` with control characters, escape
 * sequences and invalid UTF-8 shown as \xNN (what table form does), for
 * commands that print names from a session. Returns the number of columns
 * written (one per character). */
size_t report_write_text(FILE *f, const char *s, size_t len);

/* Length of the valid UTF-8 sequence at s[0 .. n-1] that is not a control
 * character (C0, DEL or C1), or 0 when s[0] must be escaped. */
size_t report_utf8_printable(const unsigned char *s, size_t n);

#endif
