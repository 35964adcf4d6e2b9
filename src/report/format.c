/*
 * format.c - table, CSV and JSON writers for reports (see format.h).
 *
 * Table form needs every column's width before the first row is written, so
 * it reads the rows twice: once to measure, once to write (rows are cheap to
 * produce, see report.h). CSV and JSON stream in one pass. Runs of text
 * that needs no escape are written with one fwrite, which keeps a
 * million-row trace listing fast.
 */
#include "report/format.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

/* Parses a format name into *out (see format.h); -1 for an unknown name. */
int report_format_parse(const char *name, enum report_format *out)
{
	if (!strcmp(name, "table"))
		*out = REPORT_FORMAT_TABLE;
	else if (!strcmp(name, "csv"))
		*out = REPORT_FORMAT_CSV;
	else if (!strcmp(name, "json"))
		*out = REPORT_FORMAT_JSON;
	else
		return -1;
	return 0;
}

/* Length of the valid UTF-8 sequence (of any character, controls
 * included) at s[0 .. n-1], or 0 when it is not valid UTF-8. */
static size_t report_utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	unsigned lo = 0x80, hi = 0xbf;
	size_t need;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		if (c == 0xe0)
			lo = 0xa0; /* no overlong forms */
		if (c == 0xed)
			hi = 0x9f; /* no surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		if (c == 0xf0)
			lo = 0x90;
		if (c == 0xf4)
			hi = 0x8f; /* nothing above U+10FFFF */
	} else {
		return 0;
	}
	if (n <= need || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i <= need; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return need + 1;
}

/* The code point of the valid UTF-8 sequence s[0 .. seq-1]. */
static uint32_t report_utf8_decode(const unsigned char *s, size_t seq)
{
	switch (seq) {
	case 1:
		return s[0];
	case 2:
		return (uint32_t)(s[0] & 0x1f) << 6 | (s[1] & 0x3fu);
	case 3:
		return (uint32_t)(s[0] & 0x0f) << 12 | (uint32_t)(s[1] & 0x3f) << 6 | (s[2] & 0x3fu);
	default:
		return (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3f) << 12 |
		       (uint32_t)(s[2] & 0x3f) << 6 | (s[3] & 0x3fu);
	}
}

/* Whether code point cp is shown escaped although it is valid: a C0 or C1
 * control, DEL, a bidirectional or other invisible format control, or a
 * line or paragraph separator (see format.h). */
bool report_escape_code_point(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/* Covers the next bytes of s[0 .. n-1] (n >= 1): a run shown as it is, or
 * one character or byte replaced by the escape in esc (see format.h). */
size_t report_escape_step(const char *text, size_t n, char esc[REPORT_ESCAPE_MAX], size_t *cols)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0, run_cols = 0;
	esc[0] = '\0';
	while (i < n) {
		if (s[i] >= 0x20 && s[i] < 0x7f) {
			i++;
			run_cols++;
			continue;
		}
		size_t seq = report_utf8_len(s + i, n - i);
		bool escape = !seq || report_escape_code_point(report_utf8_decode(s + i, seq));
		if (!escape) {
			i += seq;
			run_cols++;
			continue;
		}
		if (i) /* the safe run before it first */
			break;
		uint32_t cp = seq ? report_utf8_decode(s, seq) : 0;
		if (!seq) {
			snprintf(esc, REPORT_ESCAPE_MAX, "\\x%02x", s[0]);
			seq = 1;
		} else if (cp == '\n' || cp == '\t' || cp == '\r') {
			snprintf(esc, REPORT_ESCAPE_MAX, "\\%c", cp == '\n' ? 'n' : cp == '\t' ? 't' : 'r');
		} else if (cp < 0x80) {
			snprintf(esc, REPORT_ESCAPE_MAX, "\\x%02x", s[0]);
		} else if (cp <= 0x9f) {
			/* C1 controls: the two bytes of their encoding. */
			snprintf(esc, REPORT_ESCAPE_MAX, "\\x%02x\\x%02x", s[0], s[1]);
		} else {
			snprintf(esc, REPORT_ESCAPE_MAX, "\\u{%04X}", (unsigned)cp);
		}
		*cols = strlen(esc);
		return seq;
	}
	*cols = run_cols;
	return i;
}

/* Writes text with the escapes of report_escape_step, or only measures it
 * when f is NULL; returns the number of columns. */
static size_t report_text_escaped(FILE *f, const char *text, size_t len)
{
	size_t total = 0, i = 0;
	char esc[REPORT_ESCAPE_MAX];
	while (i < len) {
		size_t cols, k = report_escape_step(text + i, len - i, esc, &cols);
		if (f && esc[0])
			fputs(esc, f);
		else if (f)
			fwrite(text + i, 1, k, f);
		total += cols;
		i += k;
	}
	return total;
}

/* Writes text safely to f with report_escape_step's escapes; returns the columns written. Borrows s. */
size_t report_write_text(FILE *f, const char *s, size_t len)
{
	return report_text_escaped(f, s, len);
}

/* Copies the decimal number in `num` ("-1234567.5") to `out` (64 bytes at
 * least) with a comma between groups of three digits of its integer part;
 * returns the length written. */
static size_t report_group_digits(const char *num, char *out)
{
	const char *p = num;
	size_t o = 0, digits = 0;
	if (*p == '-')
		out[o++] = *p++;
	while (p[digits] >= '0' && p[digits] <= '9' && digits < 40)
		digits++;
	for (size_t i = 0; i < digits; i++) {
		if (i && (digits - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = p[i];
	}
	for (p += digits; *p && o < 62; p++)
		out[o++] = *p;
	out[o] = '\0';
	return o;
}

/* Writes the decimal digits of `v` into `out` (32 bytes at least) and
 * returns their number: a faster snprintf("%lld") for the many integer
 * cells of a trace listing. */
static size_t report_int_digits(int64_t v, char *out)
{
	char tmp[24];
	size_t n = 0, o = 0;
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		out[o++] = '-';
	while (n)
		out[o++] = tmp[--n];
	out[o] = '\0';
	return o;
}

/* A number cell as table form shows it into `out` (96 bytes); "" for an
 * empty cell. Returns the length. */
static size_t report_table_number(const struct report_column *c, const struct report_value *v, char *out)
{
	char num[64];
	if (v->type == REPORT_INT) {
		report_int_digits(v->i, num);
	} else if (v->type == REPORT_FLOAT) {
		if (!isfinite(v->f))
			return (size_t)snprintf(out, 96, "%s",
			                        isnan(v->f) ? "nan" : (v->f < 0 ? "-inf" : "inf"));
		snprintf(num, sizeof(num), "%.*f", c->decimals, v->f);
		if (num[0] == '-' && strspn(num + 1, "0.") == strlen(num + 1))
			memmove(num, num + 1, strlen(num)); /* no "-0.0" */
	} else {
		out[0] = '\0';
		return 0;
	}
	return report_group_digits(num, out);
}

/* Writes `n` spaces. */
static void report_pad(FILE *f, size_t n)
{
	static const char spaces[] = "                                                                ";
	while (n) {
		size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;
		fwrite(spaces, 1, k, f);
		n -= k;
	}
}

/* The shortest decimal form of v that reads back as v ("%.1f" for integral
 * values), for CSV and JSON. */
static void report_plain_double(double v, char *out, size_t cap)
{
	if (v == floor(v) && fabs(v) < 1e15) {
		snprintf(out, cap, "%.1f", v);
		if (!strcmp(out, "-0.0"))
			snprintf(out, cap, "0.0");
		return;
	}
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(out, cap, "%.*g", prec, v);
		if (strtod(out, NULL) == v)
			return;
	}
}

/* Writes cell `v` of column `c` in table form, padded to `width` unless it
 * is the last column (the width was measured before). */
static void report_table_cell(FILE *f, const struct report_column *c, const struct report_value *v,
                              size_t width, bool last)
{
	if (c->type == REPORT_TEXT) {
		size_t cols = v->type == REPORT_TEXT ? report_text_escaped(f, v->s, v->len) : 0;
		if (!last && cols < width)
			report_pad(f, width - cols);
		return;
	}
	char buf[96];
	size_t n = report_table_number(c, v, buf);
	if (n < width)
		report_pad(f, width - n);
	fwrite(buf, 1, n, f);
}

/* The width of a cell in table form. */
static size_t report_table_width(const struct report_column *c, const struct report_value *v)
{
	if (c->type == REPORT_TEXT)
		return v->type == REPORT_TEXT ? report_text_escaped(NULL, v->s, v->len) : 0;
	char buf[96];
	return report_table_number(c, v, buf);
}

/* Writes a header title aligned like its column. */
static void report_table_title(FILE *f, const struct report_column *c, size_t width, bool last)
{
	if (c->type == REPORT_TEXT && last)
		fputs(c->title, f);
	else if (c->type == REPORT_TEXT)
		fprintf(f, "%-*s", (int)width, c->title);
	else
		fprintf(f, "%*s", (int)width, c->title);
}

/* Writes report `r` in table form. */
static void report_write_table(struct report_writer *w, struct report *r)
{
	const struct report_def *d = report_get_def(r);
	size_t nrows = report_row_count(r);
	FILE *f = w->f;
	if (w->written)
		putc('\n', f);
	fprintf(f, " ** %s (%s):\n\n", d->title, d->name);
	if (!nrows) {
		fprintf(f, " SKIPPED: the session holds no %s.\n", d->subject);
		return;
	}
	struct report_value *vals = xcalloc(d->ncols, sizeof(*vals));
	size_t *width = xcalloc(d->ncols, sizeof(*width));
	for (size_t c = 0; c < d->ncols; c++)
		width[c] = strlen(d->cols[c].title);
	for (size_t row = 0; row < nrows; row++) {
		report_row(r, row, vals);
		/* The last column is not padded: no need to measure it. */
		for (size_t c = 0; c + 1 < d->ncols; c++) {
			size_t cw = report_table_width(&d->cols[c], &vals[c]);
			if (cw > width[c])
				width[c] = cw;
		}
	}
	for (size_t c = 0; c < d->ncols; c++) {
		fwrite("  ", 1, c ? 2 : 1, f);
		report_table_title(f, &d->cols[c], width[c], c + 1 == d->ncols);
	}
	putc('\n', f);
	for (size_t c = 0; c < d->ncols; c++) {
		fwrite("  ", 1, c ? 2 : 1, f);
		size_t n = c + 1 == d->ncols ? strlen(d->cols[c].title) : width[c];
		for (size_t i = 0; i < n; i++)
			putc('-', f);
	}
	putc('\n', f);
	for (size_t row = 0; row < nrows; row++) {
		report_row(r, row, vals);
		for (size_t c = 0; c < d->ncols; c++) {
			fwrite("  ", 1, c ? 2 : 1, f);
			report_table_cell(f, &d->cols[c], &vals[c], width[c], c + 1 == d->ncols);
		}
		putc('\n', f);
	}
	free(width);
	free(vals);
}

/* Writes one CSV field of text: escaped as table form escapes it, then
 * quoted (quotes doubled) when it holds a comma or a quote. Escaping leaves
 * no line break to quote. */
static void report_csv_text(FILE *f, const char *text, size_t len)
{
	bool quote = len && (memchr(text, ',', len) || memchr(text, '"', len));
	if (quote)
		putc('"', f);
	size_t i = 0;
	char esc[REPORT_ESCAPE_MAX];
	while (i < len) {
		size_t cols, k = report_escape_step(text + i, len - i, esc, &cols);
		if (esc[0]) {
			fputs(esc, f);
		} else if (quote) {
			/* The raw run, each quote doubled. */
			const char *p = text + i, *end = p + k, *q;
			while ((q = memchr(p, '"', (size_t)(end - p)))) {
				fwrite(p, 1, (size_t)(q - p) + 1, f);
				putc('"', f);
				p = q + 1;
			}
			fwrite(p, 1, (size_t)(end - p), f);
		} else {
			fwrite(text + i, 1, k, f);
		}
		i += k;
	}
	if (quote)
		putc('"', f);
}

/* Writes a number cell plainly (CSV and JSON); an empty cell writes `null`
 * (NULL in CSV: nothing). */
static void report_plain_number(FILE *f, const struct report_value *v, const char *null)
{
	char buf[64];
	if (v->type == REPORT_INT) {
		fprintf(f, "%" PRId64, v->i);
	} else if (v->type == REPORT_FLOAT && isfinite(v->f)) {
		report_plain_double(v->f, buf, sizeof(buf));
		fputs(buf, f);
	} else if (null) {
		fputs(null, f);
	}
}

/* Writes report `r` as CSV. */
static void report_write_csv(struct report_writer *w, struct report *r)
{
	const struct report_def *d = report_get_def(r);
	size_t nrows = report_row_count(r);
	FILE *f = w->f;
	if (w->several) {
		if (w->written)
			putc('\n', f);
		fprintf(f, "%s\n", d->name);
	}
	for (size_t c = 0; c < d->ncols; c++) {
		if (c)
			putc(',', f);
		report_csv_text(f, d->cols[c].title, strlen(d->cols[c].title));
	}
	putc('\n', f);
	struct report_value *vals = xcalloc(d->ncols, sizeof(*vals));
	for (size_t row = 0; row < nrows; row++) {
		report_row(r, row, vals);
		for (size_t c = 0; c < d->ncols; c++) {
			if (c)
				putc(',', f);
			if (vals[c].type == REPORT_TEXT)
				report_csv_text(f, vals[c].s, vals[c].len);
			else
				report_plain_number(f, &vals[c], NULL);
		}
		putc('\n', f);
	}
	free(vals);
}

/* Writes a JSON string holding `len` bytes of text: quote, backslash and
 * the characters table form escapes become JSON escapes (\n, \u001b,
 * \u202e, ...), bytes that are not valid UTF-8 the text \xNN. */
static void report_json_string(FILE *f, const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	putc('"', f);
	size_t i = 0;
	while (i < len) {
		size_t run = 0;
		while (i + run < len && s[i + run] >= 0x20 && s[i + run] < 0x7f && s[i + run] != '"' &&
		       s[i + run] != '\\')
			run++;
		if (run) {
			fwrite(s + i, 1, run, f);
			i += run;
			continue;
		}
		unsigned c = s[i];
		size_t seq = report_utf8_len(s + i, len - i);
		uint32_t cp = seq ? report_utf8_decode(s + i, seq) : 0;
		if (!seq) {
			/* Not UTF-8: the byte as the text \xNN. */
			fprintf(f, "\\\\x%02x", c);
			seq = 1;
		} else if (c == '"' || c == '\\') {
			putc('\\', f);
			putc((int)c, f);
		} else if (c == '\n') {
			fputs("\\n", f);
		} else if (c == '\r') {
			fputs("\\r", f);
		} else if (c == '\t') {
			fputs("\\t", f);
		} else if (report_escape_code_point(cp)) {
			/* Controls, bidi controls; U+2028 and U+2029 also end lines in JavaScript. */
			fprintf(f, "\\u%04x", (unsigned)cp);
		} else {
			fwrite(s + i, 1, seq, f);
		}
		i += seq;
	}
	putc('"', f);
}

/* Writes a NUL-terminated string as a JSON string. */
static void report_json_cstr(FILE *f, const char *s)
{
	report_json_string(f, s, strlen(s));
}

/* Writes report `r` as one member of the JSON document. */
static void report_write_json(struct report_writer *w, struct report *r)
{
	const struct report_def *d = report_get_def(r);
	size_t nrows = report_row_count(r);
	FILE *f = w->f;
	fputs(w->written ? ",\n  " : "{\n  ", f);
	report_json_cstr(f, d->name);
	fputs(": {\n    \"title\": ", f);
	report_json_cstr(f, d->title);
	fputs(",\n    \"columns\": [", f);
	for (size_t c = 0; c < d->ncols; c++) {
		if (c)
			fputs(", ", f);
		report_json_cstr(f, d->cols[c].title);
	}
	fputs("],\n    \"rows\": [", f);
	struct report_value *vals = xcalloc(d->ncols, sizeof(*vals));
	/* Each row repeats the keys: escape them once. */
	char **keys = xcalloc(d->ncols, sizeof(*keys));
	size_t *key_len = xcalloc(d->ncols, sizeof(*key_len));
	for (size_t c = 0; c < d->ncols; c++) {
		FILE *k = open_memstream(&keys[c], &key_len[c]);
		if (!k) {
			keys[c] = NULL; /* written the slow way below */
			continue;
		}
		fputs(c ? ", " : "", k);
		report_json_cstr(k, d->cols[c].title);
		fputs(": ", k);
		fclose(k);
	}
	for (size_t row = 0; row < nrows; row++) {
		report_row(r, row, vals);
		fputs(row ? ",\n      {" : "\n      {", f);
		for (size_t c = 0; c < d->ncols; c++) {
			if (keys[c]) {
				fwrite(keys[c], 1, key_len[c], f);
			} else {
				fputs(c ? ", " : "", f);
				report_json_cstr(f, d->cols[c].title);
				fputs(": ", f);
			}
			if (vals[c].type == REPORT_TEXT)
				report_json_string(f, vals[c].s, vals[c].len);
			else
				report_plain_number(f, &vals[c], "null");
		}
		putc('}', f);
	}
	fputs(nrows ? "\n    ]\n  }" : "]\n  }", f);
	for (size_t c = 0; c < d->ncols; c++)
		free(keys[c]);
	free(keys);
	free(key_len);
	free(vals);
}

/* Starts a report stream on f, which the caller keeps owning. */
void report_writer_init(struct report_writer *w, FILE *f, enum report_format format, bool several)
{
	memset(w, 0, sizeof(*w));
	w->f = f;
	w->format = format;
	w->several = several;
}

/* Writes report r whole in the writer's format; -1 with e filled on a stream error. */
int report_writer_add(struct report_writer *w, struct report *r, struct err *e)
{
	switch (w->format) {
	case REPORT_FORMAT_TABLE:
		report_write_table(w, r);
		break;
	case REPORT_FORMAT_CSV:
		report_write_csv(w, r);
		break;
	case REPORT_FORMAT_JSON:
		report_write_json(w, r);
		break;
	}
	w->written++;
	if (ferror(w->f))
		return err_errno(e, errno ? errno : EIO, "cannot write report %s", report_get_def(r)->name);
	return 0;
}

/* Closes the JSON document if any and flushes; -1 with e filled on a stream error. */
int report_writer_finish(struct report_writer *w, struct err *e)
{
	if (w->format == REPORT_FORMAT_JSON && !w->results)
		fputs(w->written ? "\n}\n" : "{}\n", w->f);
	if (fflush(w->f) || ferror(w->f))
		return err_errno(e, errno ? errno : EIO, "cannot write the %s",
		                 w->results ? "results" : "reports");
	return 0;
}

/* Writes len bytes as one JSON string (see format.h); borrows s. */
void report_write_json_string(FILE *f, const char *s, size_t len)
{
	report_json_string(f, s, len);
}

/* --- query results ---------------------------------------------------------------
 *
 * Table form measures every row, then, when the writer has a width and the
 * lines are wider, cuts the columns holding text to one common cap, the
 * largest that makes the lines fit (never below REPORT_RESULT_MIN_COLS),
 * so that narrow columns stay whole and the widest give way first. */

/* The narrowest a cut column becomes, ellipsis included. */
#define REPORT_RESULT_MIN_COLS 8

/* Starts a stream of query results on f, which the caller keeps owning. */
void report_writer_init_results(struct report_writer *w, FILE *f, enum report_format format, size_t width,
                                const char *ellipsis)
{
	report_writer_init(w, f, format, true);
	w->results = true;
	w->width = width;
	w->ellipsis = ellipsis ? ellipsis : "...";
}

/* A number or NULL cell of a result as table form shows it, into `out`
 * (64 bytes); returns the length. */
static size_t report_result_number(const struct report_value *v, char out[64])
{
	if (v->type == REPORT_INT)
		return report_int_digits(v->i, out);
	if (v->type == REPORT_FLOAT && isfinite(v->f)) {
		report_plain_double(v->f, out, 64);
		return strlen(out);
	}
	const char *word = v->type != REPORT_FLOAT ? "NULL" : isnan(v->f) ? "nan" : v->f < 0 ? "-inf" : "inf";
	size_t n = strlen(word);
	memcpy(out, word, n + 1);
	return n;
}

/* Writes `len` bytes of text, `full` columns when escaped, in at most `max`
 * columns: whole when it fits, else its first characters and the ellipsis
 * (`ell`, `ell_cols` columns). An escape is never split. Returns the columns
 * written. */
static size_t report_text_cut(FILE *f, const char *s, size_t len, size_t full, size_t max, const char *ell,
                              size_t ell_cols)
{
	if (full <= max)
		return report_text_escaped(f, s, len);
	size_t limit = max > ell_cols ? max - ell_cols : 0, cols = 0, i = 0;
	char esc[REPORT_ESCAPE_MAX];
	while (i < len) {
		size_t piece, k = report_escape_step(s + i, len - i, esc, &piece);
		if (cols + piece <= limit) {
			if (esc[0])
				fputs(esc, f);
			else
				fwrite(s + i, 1, k, f);
			cols += piece;
			i += k;
			continue;
		}
		if (!esc[0]) {
			/* The part of the run that fits, whole UTF-8 characters (the
			 * run holds valid UTF-8 only). */
			size_t j = i, end = i + k;
			while (j < end && cols < limit) {
				j++;
				while (j < end && ((unsigned char)s[j] & 0xc0) == 0x80)
					j++;
				cols++;
			}
			fwrite(s + i, 1, j - i, f);
		}
		break;
	}
	fputs(ell, f);
	return cols + ell_cols;
}

/* Narrows the columns that may be cut (`cut`) so that a line of `n`
 * columns of widths width[] fits in `line_width`, by the common cap
 * described above. O(n log max-width). */
static void report_result_fit(size_t *width, const bool *cut, size_t n, size_t line_width)
{
	size_t line = 1 + 2 * (n - 1), fixed = 1 + 2 * (n - 1), widest = 0;
	for (size_t c = 0; c < n; c++) {
		line += width[c];
		if (!cut[c])
			fixed += width[c];
		else if (width[c] > widest)
			widest = width[c];
	}
	if (!line_width || line <= line_width || widest <= REPORT_RESULT_MIN_COLS)
		return;
	size_t budget = line_width > fixed ? line_width - fixed : 0;
	size_t lo = REPORT_RESULT_MIN_COLS, hi = widest;
	while (lo < hi) {
		size_t cap = lo + (hi - lo + 1) / 2, sum = 0;
		for (size_t c = 0; c < n; c++)
			if (cut[c])
				sum += width[c] < cap ? width[c] : cap;
		if (sum <= budget)
			lo = cap;
		else
			hi = cap - 1;
	}
	for (size_t c = 0; c < n; c++)
		if (cut[c] && width[c] > lo)
			width[c] = lo;
}

/* Writes result `res` in table form (see format.h). */
static int report_write_result_table(struct report_writer *w, const struct report_result *res, struct err *e)
{
	FILE *f = w->f;
	size_t n = res->ncols;
	struct report_value *vals = xcalloc(n, sizeof(*vals));
	size_t *width = xcalloc(n, sizeof(*width));
	size_t *name_cols = xcalloc(n, sizeof(*name_cols));
	bool *text = xcalloc(n, sizeof(*text));
	bool *number = xcalloc(n, sizeof(*number));
	char buf[64];
	int rc;
	for (size_t c = 0; c < n; c++)
		width[c] = name_cols[c] = report_text_escaped(NULL, res->names[c], strlen(res->names[c]));
	while ((rc = res->next(res->arg, vals, e)) > 0) {
		for (size_t c = 0; c < n; c++) {
			size_t cw;
			if (vals[c].type == REPORT_TEXT) {
				text[c] = true;
				cw = report_text_escaped(NULL, vals[c].s, vals[c].len);
			} else {
				number[c] = number[c] || vals[c].type != REPORT_NULL;
				cw = report_result_number(&vals[c], buf);
			}
			if (cw > width[c])
				width[c] = cw;
		}
	}
	if (rc < 0)
		goto out;
	res->rewind(res->arg);
	/* Right-aligned: the columns of numbers. Cut when needed: the others. */
	for (size_t c = 0; c < n; c++)
		text[c] = text[c] || !number[c];
	report_result_fit(width, text, n, w->width);
	size_t max = w->width ? w->width : SIZE_MAX;
	size_t ell_cols = report_text_escaped(NULL, w->ellipsis, strlen(w->ellipsis));
	if (w->written)
		putc('\n', f);
	if (res->heading) {
		size_t len = strlen(res->heading);
		report_text_cut(f, res->heading, len, report_text_escaped(NULL, res->heading, len), max,
		                w->ellipsis, ell_cols);
		putc('\n', f);
	}
	for (size_t c = 0; c < n; c++) {
		fwrite("  ", 1, c ? 2 : 1, f);
		if (!text[c]) /* never cut: the column is as wide as its name at least */
			report_pad(f, width[c] - name_cols[c]);
		size_t cols = report_text_cut(f, res->names[c], strlen(res->names[c]), name_cols[c], width[c],
		                              w->ellipsis, ell_cols);
		if (text[c] && c + 1 < n && cols < width[c])
			report_pad(f, width[c] - cols);
	}
	putc('\n', f);
	for (size_t c = 0; c < n; c++) {
		fwrite("  ", 1, c ? 2 : 1, f);
		for (size_t i = 0; i < width[c]; i++)
			putc('-', f);
	}
	putc('\n', f);
	while ((rc = res->next(res->arg, vals, e)) > 0) {
		/* Empty text cells at the end of the row leave no trailing blanks. */
		size_t end = n;
		while (end > 1 && vals[end - 1].type == REPORT_TEXT && !vals[end - 1].len)
			end--;
		for (size_t c = 0; c < end; c++) {
			fwrite("  ", 1, c ? 2 : 1, f);
			const char *s = buf;
			size_t len, cols;
			if (vals[c].type == REPORT_TEXT) {
				s = vals[c].s;
				len = vals[c].len;
				cols = report_text_escaped(NULL, s, len);
			} else {
				len = cols = report_result_number(&vals[c], buf);
			}
			if (!text[c]) {
				report_pad(f, width[c] - cols);
				fwrite(buf, 1, len, f);
				continue;
			}
			cols = report_text_cut(f, s, len, cols, width[c], w->ellipsis, ell_cols);
			if (c + 1 < end && cols < width[c])
				report_pad(f, width[c] - cols);
		}
		putc('\n', f);
	}
out:
	free(number);
	free(text);
	free(name_cols);
	free(width);
	free(vals);
	return rc;
}

/* Writes a number or NULL cell of a result plainly, for CSV (`null` "")
 * and JSON (`null` "null", infinities null too). */
static void report_result_plain(FILE *f, const struct report_value *v, const char *null, bool json)
{
	char buf[64];
	if (v->type == REPORT_INT) {
		fwrite(buf, 1, report_int_digits(v->i, buf), f);
	} else if (v->type == REPORT_FLOAT && isfinite(v->f)) {
		report_plain_double(v->f, buf, sizeof(buf));
		fputs(buf, f);
	} else if (v->type == REPORT_FLOAT && !json) {
		fputs(isnan(v->f) ? "nan" : v->f < 0 ? "-inf" : "inf", f);
	} else {
		fputs(null, f);
	}
}

/* Writes result `res` as CSV (see format.h). */
static int report_write_result_csv(struct report_writer *w, const struct report_result *res, struct err *e)
{
	FILE *f = w->f;
	size_t n = res->ncols;
	struct report_value *vals = xcalloc(n, sizeof(*vals));
	int rc;
	if (w->written)
		putc('\n', f);
	for (size_t c = 0; c < n; c++) {
		if (c)
			putc(',', f);
		report_csv_text(f, res->names[c], strlen(res->names[c]));
	}
	putc('\n', f);
	while ((rc = res->next(res->arg, vals, e)) > 0) {
		for (size_t c = 0; c < n; c++) {
			if (c)
				putc(',', f);
			if (vals[c].type == REPORT_TEXT)
				report_csv_text(f, vals[c].s, vals[c].len);
			else
				report_result_plain(f, &vals[c], "", false);
		}
		putc('\n', f);
	}
	free(vals);
	return rc;
}

/* Writes result `res` as one JSON array (see format.h). */
static int report_write_result_json(struct report_writer *w, const struct report_result *res, struct err *e)
{
	FILE *f = w->f;
	size_t n = res->ncols;
	struct report_value *vals = xcalloc(n, sizeof(*vals));
	size_t rows = 0;
	int rc;
	putc('[', f);
	while ((rc = res->next(res->arg, vals, e)) > 0) {
		fputs(rows++ ? ",\n  {" : "\n  {", f);
		for (size_t c = 0; c < n; c++) {
			if (c)
				fputs(", ", f);
			report_json_cstr(f, res->names[c]);
			fputs(": ", f);
			if (vals[c].type == REPORT_TEXT)
				report_json_string(f, vals[c].s, vals[c].len);
			else
				report_result_plain(f, &vals[c], "null", true);
		}
		putc('}', f);
	}
	if (rc == 0)
		fputs(rows ? "\n]\n" : "]\n", f);
	free(vals);
	return rc;
}

/* Writes result res whole in the writer's format; -1 with e filled when its rows or the stream fail. */
int report_writer_add_result(struct report_writer *w, const struct report_result *res, struct err *e)
{
	int rc = 0;
	if (res->ncols) {
		switch (w->format) {
		case REPORT_FORMAT_TABLE:
			rc = report_write_result_table(w, res, e);
			break;
		case REPORT_FORMAT_CSV:
			rc = report_write_result_csv(w, res, e);
			break;
		case REPORT_FORMAT_JSON:
			rc = report_write_result_json(w, res, e);
			break;
		}
	}
	if (rc < 0)
		return -1;
	w->written++;
	if (ferror(w->f))
		return err_errno(e, errno ? errno : EIO, "cannot write the results");
	return 0;
}
