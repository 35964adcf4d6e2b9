/*
 * test_sql_results.c - unit tests of the query-result writer of
 * report/format.h (report_writer_init_results, report_writer_add_result),
 * which `tstop sql` prints with, and of `tstop sql` itself (cmd_sql) on a
 * tstop session database made with db_schema_create.
 *
 * Results come from small arrays of values written here. Table form is
 * checked for alignment, for cutting to a width (only text columns, never
 * through an escape or a UTF-8 character, every line within the width),
 * and for leaving nothing written when a row cannot be read; CSV and JSON
 * for numbers, NULL, infinities and text that needs escaping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "cli/cmds.h"
#include "report/format.h"
#include "store/db.h"

#define ELLIPSIS "\xe2\x80\xa6"

/* Rows held in an array, as report_result reads them; fail_at: the row
 * whose reading fails (SIZE_MAX: none). */
struct rows {
	const struct report_value *vals; /* nrows x ncols */
	size_t nrows, ncols, pos, fail_at;
};

static int rows_next(void *arg, struct report_value *vals, struct err *e)
{
	struct rows *r = arg;
	if (r->pos == r->fail_at)
		return err_fmt(e, "row %zu cannot be read", r->pos);
	if (r->pos >= r->nrows)
		return 0;
	memcpy(vals, r->vals + r->pos * r->ncols, r->ncols * sizeof(*vals));
	r->pos++;
	return 1;
}

static void rows_rewind(void *arg)
{
	((struct rows *)arg)->pos = 0;
}

static struct report_value v_int(int64_t i)
{
	return (struct report_value){.type = REPORT_INT, .i = i};
}

static struct report_value v_float(double f)
{
	return (struct report_value){.type = REPORT_FLOAT, .f = f};
}

static struct report_value v_text(const char *s)
{
	return (struct report_value){.type = REPORT_TEXT, .s = s, .len = strlen(s)};
}

static struct report_value v_null(void)
{
	return (struct report_value){.type = REPORT_NULL};
}

/* Writes one result of `nrows` rows of `ncols` columns in `format` fitted
 * to `width`; returns the bytes (caller frees), *rc the writer's result. */
static char *render(const char *const *names, size_t ncols, const struct report_value *vals, size_t nrows,
                    enum report_format format, size_t width, size_t fail_at, int *rc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	assert_non_null(out);
	struct report_writer w;
	report_writer_init_results(&w, out, format, width, ELLIPSIS);
	struct rows r = {.vals = vals, .nrows = nrows, .ncols = ncols, .fail_at = fail_at};
	struct report_result res = {
	    .names = names, .ncols = ncols, .next = rows_next, .rewind = rows_rewind, .arg = &r};
	struct err e = {{0}};
	*rc = report_writer_add_result(&w, &res, &e);
	if (*rc == 0)
		assert_int_equal(report_writer_finish(&w, &e), 0);
	else
		assert_non_null(strstr(e.msg, "cannot be read"));
	fclose(out);
	return buf;
}

/* The number of characters (UTF-8 code points) of s[0 .. n-1]. */
static size_t chars(const char *s, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xc0) != 0x80;
	return c;
}

/* Asserts that every line of `text` is at most `width` characters. */
static void assert_lines_fit(const char *text, size_t width)
{
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		assert_non_null(nl);
		if (chars(p, (size_t)(nl - p)) > width) {
			fprintf(stderr, "line wider than %zu: '%.*s'\n", width, (int)(nl - p), p);
			fail();
		}
		p = nl + 1;
	}
}

static const char *const names4[] = {"id", "name", "kind", "value"};

/* Table form: numbers right-aligned, text left, NULL shown, no thousands
 * separators, shortest REAL; a trailing empty cell leaves no blanks. */
static void test_table_layout(void **state)
{
	(void)state;
	const struct report_value vals[] = {
	    v_int(1234567), v_text("alpha"), v_text("k"), v_float(2.5),
	    v_int(-3),      v_null(),        v_text(""),  v_float(1e20),
	};
	int rc;
	char *out = render(names4, 4, vals, 2, REPORT_FORMAT_TABLE, 0, SIZE_MAX, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(out, "      id  name   kind  value\n"
	                         " -------  -----  ----  -----\n"
	                         " 1234567  alpha  k       2.5\n"
	                         "      -3  NULL         1e+20\n");
	free(out);
	/* A row whose last cells are empty text ends at its last cell. */
	const char *const names2[] = {"a", "b"};
	const struct report_value tail[] = {v_text("x"), v_text("")};
	out = render(names2, 2, tail, 1, REPORT_FORMAT_TABLE, 0, SIZE_MAX, &rc);
	assert_string_equal(out, " a  b\n -  -\n x\n");
	free(out);
}

/* Cutting: with a width, the widest text column gives way, numbers and
 * narrow columns stay whole, every line fits; without one nothing is cut. */
static void test_table_fit(void **state)
{
	(void)state;
	char longer[201];
	memset(longer, 'a', 200);
	longer[200] = '\0';
	const struct report_value vals[] = {
	    v_int(123456789012345),
	    v_text(longer),
	    v_text("short"),
	    v_float(0.125),
	    v_int(7),
	    v_text("b"),
	    v_text("s"),
	    v_null(),
	};
	int rc;
	/* The natural line is 232 columns; at 40 the text columns reach their
	 * minimum of 8. */
	for (size_t width = 40; width < 232; width += 7) {
		char *out = render(names4, 4, vals, 2, REPORT_FORMAT_TABLE, width, SIZE_MAX, &rc);
		assert_int_equal(rc, 0);
		assert_lines_fit(out, width);
		assert_non_null(strstr(out, " 123456789012345  "));
		assert_non_null(strstr(out, "  short  "));
		assert_non_null(strstr(out, "  0.125\n"));
		assert_non_null(strstr(out, "a" ELLIPSIS "  "));
		free(out);
	}
	/* Too narrow for even the numbers: the text is cut to 8 columns,
	 * the numbers stay whole, lines overflow. */
	char *out = render(names4, 4, vals, 2, REPORT_FORMAT_TABLE, 10, SIZE_MAX, &rc);
	assert_non_null(strstr(out, " 123456789012345  aaaaaaa" ELLIPSIS "  short"));
	free(out);
	out = render(names4, 4, vals, 2, REPORT_FORMAT_TABLE, 0, SIZE_MAX, &rc);
	assert_non_null(strstr(out, longer));
	assert_null(strstr(out, ELLIPSIS));
	free(out);
}

/* A cut never splits an escape or a UTF-8 character, and cuts the header
 * as the cells. */
static void test_table_cut_boundaries(void **state)
{
	(void)state;
	/* One text column: a line is 1 + its width, so width 11 caps it at
	 * 10 columns, 9 for the text and one for the ellipsis. */
	const char *const names[] = {"a_very_long_column_name"};
	const struct report_value vals[] = {
	    v_text("abcdef\x1b[31mxyz"),
	    v_text(
	        "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"),
	    v_text("short"),
	};
	int rc;
	char *out = render(names, 1, vals, 3, REPORT_FORMAT_TABLE, 11, SIZE_MAX, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(
	    out, " a_very_lo" ELLIPSIS "\n"
	         " ----------\n"
	         " abcdef" ELLIPSIS "\n"
	         " \xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9" ELLIPSIS "\n"
	         " short\n");
	free(out);
}

/* A row that cannot be read: table form writes nothing, CSV and JSON stop
 * where they were; the error comes back. */
static void test_row_error(void **state)
{
	(void)state;
	const struct report_value vals[] = {v_int(1), v_text("a"), v_text("b"), v_null(),
	                                    v_int(2), v_text("c"), v_text("d"), v_null()};
	int rc;
	char *out = render(names4, 4, vals, 2, REPORT_FORMAT_TABLE, 0, 1, &rc);
	assert_int_equal(rc, -1);
	assert_string_equal(out, "");
	free(out);
	out = render(names4, 4, vals, 2, REPORT_FORMAT_CSV, 0, 1, &rc);
	assert_int_equal(rc, -1);
	assert_string_equal(out, "id,name,kind,value\n1,a,b,\n");
	free(out);
	out = render(names4, 4, vals, 2, REPORT_FORMAT_JSON, 0, 1, &rc);
	assert_int_equal(rc, -1);
	assert_null(strchr(out, ']'));
	free(out);
}

/* CSV and JSON: integers at the int64 limits, REAL exactly, NULL, the
 * infinities, and text that needs escaping (in names too). */
static void test_csv_json_values(void **state)
{
	(void)state;
	const char *const names[] = {"i", "f", "t,\"q\""};
	const struct report_value vals[] = {
	    v_int(INT64_MIN), v_float(0.1),       v_text("a\nb\x1b\xff\xe2\x80\xa8"),
	    v_int(INT64_MAX), v_float(INFINITY),  v_null(),
	    v_null(),         v_float(-INFINITY), v_text("x,\"y\""),
	};
	int rc;
	char *out = render(names, 3, vals, 3, REPORT_FORMAT_CSV, 0, SIZE_MAX, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(out, "i,f,\"t,\"\"q\"\"\"\n"
	                         "-9223372036854775808,0.1,a\\nb\\x1b\\xff\\u{2028}\n"
	                         "9223372036854775807,inf,\n"
	                         ",-inf,\"x,\"\"y\"\"\"\n");
	free(out);
	out = render(names, 3, vals, 3, REPORT_FORMAT_JSON, 0, SIZE_MAX, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(out, "[\n"
	                         "  {\"i\": -9223372036854775808, \"f\": 0.1, \"t,\\\"q\\\"\": "
	                         "\"a\\nb\\u001b\\\\xff\\u2028\"},\n"
	                         "  {\"i\": 9223372036854775807, \"f\": null, \"t,\\\"q\\\"\": null},\n"
	                         "  {\"i\": null, \"f\": null, \"t,\\\"q\\\"\": \"x,\\\"y\\\"\"}\n"
	                         "]\n");
	free(out);
}

/* No rows: a header and a rule, a CSV header, an empty JSON array; several
 * results are separated; finishing a results writer adds nothing. */
static void test_empty_and_several(void **state)
{
	(void)state;
	int rc;
	char *out = render(names4, 4, NULL, 0, REPORT_FORMAT_TABLE, 0, SIZE_MAX, &rc);
	assert_string_equal(out, " id  name  kind  value\n --  ----  ----  -----\n");
	free(out);
	out = render(names4, 4, NULL, 0, REPORT_FORMAT_JSON, 0, SIZE_MAX, &rc);
	assert_string_equal(out, "[]\n");
	free(out);

	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct report_writer w;
	report_writer_init_results(&w, f, REPORT_FORMAT_CSV, 0, NULL);
	const char *const one[] = {"n"};
	const struct report_value vals[] = {v_int(1)};
	for (int i = 0; i < 2; i++) {
		struct rows r = {.vals = vals, .nrows = 1, .ncols = 1, .fail_at = SIZE_MAX};
		struct report_result res = {.names = one, .ncols = 1, .next = rows_next, .arg = &r};
		assert_int_equal(report_writer_add_result(&w, &res, NULL), 0);
	}
	assert_int_equal(report_writer_finish(&w, NULL), 0);
	fclose(f);
	assert_string_equal(buf, "n\n1\n\nn\n1\n");
	free(buf);
}

/* Runs cmd_sql with `args` (NULL-terminated, without "sql"); returns its
 * exit status. */
static int run_sql(const char **args)
{
	char *argv[16];
	int argc = 0;
	argv[argc++] = (char *)"sql";
	for (; *args; args++)
		argv[argc++] = (char *)*args;
	argv[argc] = NULL;
	return cmd_sql(argc, argv);
}

/* Reads a whole file into a new NUL-terminated string; *len (when not
 * NULL) gets its size. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	long size = ftell(f);
	assert_true(size >= 0);
	rewind(f);
	char *buf = malloc((size_t)size + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
	buf[size] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)size;
	return buf;
}

/* tstop sql on a tstop session database: --schema lists every table and
 * view db_schema_create made, with their columns; queries run on tables and
 * nsys-compatible views; a write fails and the file is unchanged. */
static void test_cmd_sql_session_db(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_sql_results.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256], out[256];
	snprintf(path, sizeof(path), "%s/s.db", dir);
	snprintf(out, sizeof(out), "%s/out.csv", dir);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	struct err e = {{0}};
	if (db_schema_create(db, &e)) {
		fprintf(stderr, "db_schema_create: %s\n", e.msg);
		fail();
	}
	sqlite3_stmt *st = NULL;
	assert_int_equal(
	    sqlite3_prepare_v2(db,
	                       "SELECT count(*) FROM sqlite_schema WHERE type IN ('table', 'view') "
	                       "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
	                       -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t objects = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	assert_true(objects > 10);

	size_t before_len, len;
	char *before = slurp(path, &before_len);

	assert_int_equal(run_sql((const char *[]){"--schema", "-f", "csv", "-o", out, path, NULL}), 0);
	char *csv = slurp(out, NULL);
	assert_non_null(strstr(csv, "object,kind,column,type\n"));
	assert_non_null(strstr(csv, "\nkernels,table,start,INTEGER\n"));
	assert_non_null(strstr(csv, "\nCUPTI_ACTIVITY_KIND_KERNEL,view,"));
	/* Every table and view, each once as a block of rows. */
	int64_t blocks = 0;
	char last[256] = "";
	for (char *line = strchr(csv, '\n') + 1; *line; line = strchr(line, '\n') + 1) {
		size_t n = strcspn(line, ",");
		if (n != strlen(last) || strncmp(line, last, n)) {
			snprintf(last, sizeof(last), "%.*s", (int)n, line);
			blocks++;
		}
	}
	assert_int_equal(blocks, objects);
	free(csv);

	assert_int_equal(run_sql((const char *[]){"-f", "csv", "-o", out, path,
	                                          "SELECT count(*) AS n FROM kernels; "
	                                          "SELECT count(*) AS n FROM CUPTI_ACTIVITY_KIND_KERNEL",
	                                          NULL}),
	                 0);
	csv = slurp(out, NULL);
	assert_string_equal(csv, "n\n0\n\nn\n0\n");
	free(csv);

	assert_int_equal(run_sql((const char *[]){path, "INSERT INTO meta VALUES ('k', 'v')", NULL}), 1);
	assert_int_equal(run_sql((const char *[]){path, "DROP TABLE kernels", NULL}), 1);
	char *after = slurp(path, &len);
	assert_int_equal(len, before_len);
	assert_memory_equal(after, before, len);
	free(after);
	free(before);

	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table_layout),         cmocka_unit_test(test_table_fit),
	    cmocka_unit_test(test_table_cut_boundaries), cmocka_unit_test(test_row_error),
	    cmocka_unit_test(test_csv_json_values),      cmocka_unit_test(test_empty_and_several),
	    cmocka_unit_test(test_cmd_sql_session_db),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
