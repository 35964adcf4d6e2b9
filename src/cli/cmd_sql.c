/*
 * cmd_sql.c - `tstop sql FILE [QUERY]`: SQL queries over a session database,
 * read-only.
 *
 * FILE is any SQLite database: a tstop session database (docs/schema.md), an
 * Nsight Systems export, or anything else. It is opened with
 * SQLITE_OPEN_READONLY and PRAGMA query_only; an authorizer refuses ATTACH,
 * DETACH and turning query_only off, and no database can be attached, so
 * nothing run here changes the file or reaches another one. A database in
 * WAL mode that a capture is still writing reads as of its last committed
 * transaction. Given an SBT file, the command queries the session database
 * beside it (run.sbt -> run.db) with a note on stderr, or says how to build
 * one.
 *
 * QUERY, or standard input when it is left out, may hold several statements
 * separated by ';'. They run in turn and each result goes through the
 * query-result writer of report/format.h: table form keeps a statement's rows
 * in memory (the writer measures them before it writes), CSV and JSON stream
 * them. The first failing statement stops the run with SQLite's message and
 * the statement on stderr, exit status 1. `--schema` lists the tables and
 * views with their columns instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cli/cli_common.h"
#include "cli/cmds.h"
#include "report/format.h"
#include "store/db.h"
#include "store/sbt.h"
#include "trace/meta.h"
#include "util/xalloc.h"

static const char cmd_sql_usage[] =
    "Usage: tstop sql [OPTION]... FILE [QUERY]\n"
    "Run SQL queries on a session database, or on any SQLite file (an nsys\n"
    "export too), read-only. Without QUERY, the SQL is read from standard\n"
    "input. QUERY may hold several statements separated by ';'; each result is\n"
    "printed in turn.\n"
    "\n"
    "  -f, --format FORMAT  table (default), csv or json\n"
    "      --schema         list the tables and views with their columns\n"
    "  -o, --output FILE    write to FILE instead of standard output; FILE is\n"
    "                       replaced only once all is written, and never when\n"
    "                       it is a database or an SBT file\n"
    "  -h, --help           show this help\n"
    "\n"
    "Given FILE.sbt, the session database FILE.db beside it is queried; build\n"
    "it with 'tstop db FILE.sbt' when there is none. The tables and views are\n"
    "described in docs/schema.md and tstop-sql(1).\n"
    "\n"
    "Table form shows NULL as NULL and BLOBs in hexadecimal; on a terminal,\n"
    "long text is cut to the width with an ellipsis (never in a file or pipe).\n"
    "\n"
    "Exit status: 0 ok, 1 an SQL error or a file that cannot be read or written,\n"
    "2 usage error.\n";

/* How long a statement waits for a database another connection has locked
 * (a capture's writer recovering its WAL), in milliseconds. */
#define SQL_BUSY_TIMEOUT_MS 5000

/* The most bytes of a statement quoted in an error message. */
#define SQL_QUOTE_MAX 240

/* Prints on stderr the note that SBT file `sbt` is answered by the session
 * database `db` beside it, both names escaped as every message is. */
static void sql_note_sibling(const char *sbt, const char *db)
{
	fputs("tstop sql: note: ", stderr);
	report_write_text(stderr, sbt, strlen(sbt));
	fputs(" is an SBT capture log; querying its session database ", stderr);
	report_write_text(stderr, db, strlen(db));
	fputc('\n', stderr);
}

/* --- opening ------------------------------------------------------------------ */

/* Reads up to `cap` first bytes of the regular file `path` into `head`;
 * returns how many, or -1 with errno set. */
static ssize_t sql_read_head(const char *path, void *head, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, head, cap);
	int saved = errno;
	close(fd);
	errno = saved;
	return n;
}

/* The session database beside SBT file `path`: "run.sbt" -> "run.db",
 * "run" -> "run.db". The caller frees it. */
static char *sql_sibling_db(const char *path)
{
	size_t n = strlen(path);
	if (n > 4 && !strcmp(path + n - 4, ".sbt"))
		n -= 4;
	char *db = xmalloc(n + 4);
	memcpy(db, path, n);
	memcpy(db + n, ".db", 4);
	return db;
}

/* Refuses what SQL is run on: ATTACH and DETACH (no other file is reached)
 * and PRAGMA query_only with a value (it stays on). SQLite calls it while it
 * prepares each statement. */
static int sql_authorize(void *arg, int action, const char *a, const char *b, const char *schema,
                         const char *trigger)
{
	(void)arg;
	(void)schema;
	(void)trigger;
	if (action == SQLITE_ATTACH || action == SQLITE_DETACH)
		return SQLITE_DENY;
	if (action == SQLITE_PRAGMA && a && b && !sqlite3_stricmp(a, "query_only"))
		return SQLITE_DENY;
	return SQLITE_OK;
}

/* Opens the checked SQLite file `path` read-only and locks it so (see the
 * top of the file). Returns the connection, or NULL after printing an
 * error. */
static sqlite3 *sql_connect(const char *path)
{
	/* The system SQLite takes names that begin with "file:" as URIs, whose
	 * parameters would be read from the name: make it a plain path. */
	char *name = NULL;
	if (!strncmp(path, "file:", 5)) {
		name = xmalloc(strlen(path) + 3);
		memcpy(name, "./", 2);
		strcpy(name + 2, path);
	}
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(name ? name : path, &db, SQLITE_OPEN_READONLY, NULL);
	free(name);
	if (rc != SQLITE_OK) {
		cli_error("sql", "cannot open %s: %s", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, SQL_BUSY_TIMEOUT_MS);
	sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
	sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
	char *msg = NULL;
	if (sqlite3_exec(db, "PRAGMA query_only = ON", NULL, NULL, &msg) != SQLITE_OK) {
		cli_error("sql", "cannot open %s read-only: %s", path, msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_set_authorizer(db, sql_authorize, NULL);
	/* Reading the schema tells a damaged or encrypted file now, not at the
	 * first query. */
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_schema", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		cli_error("sql", "cannot read %s: %s", path, sqlite3_errmsg(db));
		sqlite3_finalize(st);
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_finalize(st);
	return db;
}

/* Whether `db` is a tstop session database whose metadata marks it as
 * generated, not captured (trace/meta.h). Any error reads as no. */
static bool sql_is_synthetic(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	bool tstop = sqlite3_prepare_v2(db, "PRAGMA application_id", -1, &st, NULL) == SQLITE_OK &&
	             sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) == DB_APPLICATION_ID;
	sqlite3_finalize(st);
	st = NULL;
	bool synthetic =
	    tstop &&
	    sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = '" TRACE_META_SYNTHETIC "'", -1, &st,
	                       NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) == 1;
	sqlite3_finalize(st);
	return synthetic;
}

/* Whether `db` is a tstop session database without the writer's completion
 * marker (DB_META_COMPLETE): still being written, or cut short. Any error
 * reads as no. */
static bool sql_is_incomplete(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	bool tstop = sqlite3_prepare_v2(db, "PRAGMA application_id", -1, &st, NULL) == SQLITE_OK &&
	             sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) == DB_APPLICATION_ID;
	sqlite3_finalize(st);
	st = NULL;
	if (!tstop || sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = '" DB_META_COMPLETE "'", -1,
	                                 &st, NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		return false;
	}
	int rc = sqlite3_step(st);
	bool incomplete = rc == SQLITE_DONE || (rc == SQLITE_ROW && sqlite3_column_int64(st, 0) != 1);
	sqlite3_finalize(st);
	return incomplete;
}

/* Opens FILE for `tstop sql`: a SQLite file read-only, or for an SBT file
 * (when `sbt_ok`) the session database beside it, checked the same way.
 * *opened gets the path of the database opened (the caller frees it).
 * Returns the connection, or NULL after printing an error. */
static sqlite3 *sql_open(const char *path, bool sbt_ok, char **opened)
{
	struct stat st;
	unsigned char head[100];
	if (stat(path, &st)) {
		cli_error("sql", "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	if (S_ISDIR(st.st_mode)) {
		cli_error("sql", "%s is a directory, not a database", path);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		cli_error("sql", "%s is not a regular file: SQLite databases are files", path);
		return NULL;
	}
	ssize_t n = sql_read_head(path, head, sizeof(head));
	if (n < 0) {
		cli_error("sql", "cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	if (sbt_is_sbt(head, (size_t)n)) {
		char *db_path = sql_sibling_db(path);
		sqlite3 *db = NULL;
		if (!sbt_ok) {
			cli_error("sql", "%s is an SBT file, not a database", path);
		} else if (stat(db_path, &st)) {
			cli_error(
			    "sql",
			    "%s is an SBT capture log, not a database: SQL runs on the session database, "
			    "which is not there (%s); build it with 'tstop db %s'",
			    path, db_path, path);
		} else {
			sql_note_sibling(path, db_path);
			db = sql_open(db_path, false, opened);
		}
		free(db_path);
		return db;
	}
	if (n == 0) {
		/* A WAL database whose first transaction is not yet checkpointed
		 * into the main file is empty; its -wal file is not. */
		size_t len = strlen(path);
		char *wal = xmalloc(len + 5);
		memcpy(wal, path, len);
		memcpy(wal + len, "-wal", 5);
		struct stat ws;
		bool has_wal = stat(wal, &ws) == 0 && S_ISREG(ws.st_mode) && ws.st_size > 0;
		free(wal);
		if (!has_wal) {
			cli_error("sql", "%s is empty, not a SQLite database", path);
			return NULL;
		}
	} else if (!db_file_is_sqlite(head, (size_t)n)) {
		cli_error("sql",
		          "%s is not a SQLite database (tstop sql reads session databases, nsys exports and "
		          "other SQLite files)",
		          path);
		return NULL;
	}
	sqlite3 *db = sql_connect(path);
	if (db)
		*opened = xstrdup(path);
	return db;
}

/* --- output file ---------------------------------------------------------------- */

/* --- rows of a statement ---------------------------------------------------------- */

/* One buffered cell: a number, or text at bytes[off .. off+len-1]. */
struct sql_cell {
	union {
		int64_t i;
		double f;
		size_t off;
	} v;
	size_t len;
	uint8_t type; /* enum report_type */
};

/* The rows of a running statement, as report_result's `next` reads them.
 * Streamed (CSV, JSON): each call steps the statement. Buffered (table
 * form): the first pass steps it and keeps every row, rewind switches to
 * reading them back. */
struct sql_rows {
	sqlite3 *db;
	sqlite3_stmt *st;
	size_t ncols;
	bool buffered;
	bool replay; /* buffered and rewound: rows come from the buffer */
	struct sql_cell *cells;
	size_t ncells, cells_cap, pos;
	char *bytes; /* the text of the rows kept (streamed: of this row), BLOBs in hex */
	size_t nbytes, bytes_cap;
};

/* Appends `len` bytes (or, with `hex`, their hexadecimal digits) to
 * r->bytes; returns their offset. */
static size_t sql_rows_put(struct sql_rows *r, const void *data, size_t len, bool hex)
{
	size_t need = hex ? 2 * len : len;
	if (r->nbytes + need + 1 > r->bytes_cap) {
		size_t cap = r->bytes_cap ? r->bytes_cap : 4096;
		while (cap < r->nbytes + need + 1)
			cap *= 2;
		r->bytes = xrealloc(r->bytes, cap);
		r->bytes_cap = cap;
	}
	size_t off = r->nbytes;
	if (hex) {
		static const char digits[] = "0123456789abcdef";
		const unsigned char *p = data;
		for (size_t i = 0; i < len; i++) {
			r->bytes[off + 2 * i] = digits[p[i] >> 4];
			r->bytes[off + 2 * i + 1] = digits[p[i] & 15];
		}
	} else if (len) {
		memcpy(r->bytes + off, data, len);
	}
	r->nbytes += need;
	return off;
}

/* Reads column `c` of the current row of the statement into cell `out`,
 * text and BLOBs (in hex) copied to r->bytes. */
static void sql_rows_cell(struct sql_rows *r, int c, struct sql_cell *out)
{
	switch (sqlite3_column_type(r->st, c)) {
	case SQLITE_INTEGER:
		out->type = REPORT_INT;
		out->v.i = sqlite3_column_int64(r->st, c);
		break;
	case SQLITE_FLOAT:
		out->type = REPORT_FLOAT;
		out->v.f = sqlite3_column_double(r->st, c);
		break;
	case SQLITE_TEXT: {
		const unsigned char *s = sqlite3_column_text(r->st, c);
		size_t len = s ? (size_t)sqlite3_column_bytes(r->st, c) : 0;
		out->type = REPORT_TEXT;
		out->v.off = sql_rows_put(r, s, len, false);
		out->len = len;
		break;
	}
	case SQLITE_BLOB: {
		const void *b = sqlite3_column_blob(r->st, c);
		size_t len = b ? (size_t)sqlite3_column_bytes(r->st, c) : 0;
		out->type = REPORT_TEXT;
		out->v.off = sql_rows_put(r, b, len, true);
		out->len = 2 * len;
		break;
	}
	default:
		out->type = REPORT_NULL;
		break;
	}
}

/* Turns cells into the values the writer reads (text pointing into
 * r->bytes, which must not move until the next row). */
static void sql_rows_values(const struct sql_rows *r, const struct sql_cell *cells, struct report_value *vals)
{
	for (size_t c = 0; c < r->ncols; c++) {
		const struct sql_cell *cell = &cells[c];
		memset(&vals[c], 0, sizeof(vals[c]));
		vals[c].type = cell->type;
		if (cell->type == REPORT_INT)
			vals[c].i = cell->v.i;
		else if (cell->type == REPORT_FLOAT)
			vals[c].f = cell->v.f;
		else if (cell->type == REPORT_TEXT)
			vals[c].s = r->bytes + cell->v.off, vals[c].len = cell->len;
	}
}

/* report_result's `next` over a statement (struct sql_rows). */
static int sql_rows_next(void *arg, struct report_value *vals, struct err *e)
{
	struct sql_rows *r = arg;
	if (r->replay) {
		if (r->pos >= r->ncells)
			return 0;
		sql_rows_values(r, r->cells + r->pos, vals);
		r->pos += r->ncols;
		return 1;
	}
	int rc = sqlite3_step(r->st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return err_fmt(e, "%s", sqlite3_errmsg(r->db));
	if (!r->buffered) {
		r->nbytes = 0;
		r->ncells = 0;
	}
	if (r->ncells + r->ncols > r->cells_cap) {
		size_t cap = r->cells_cap ? r->cells_cap : 256;
		while (cap < r->ncells + r->ncols)
			cap *= 2;
		r->cells = xrealloc(r->cells, cap * sizeof(*r->cells));
		r->cells_cap = cap;
	}
	struct sql_cell *row = r->cells + r->ncells;
	for (size_t c = 0; c < r->ncols; c++)
		sql_rows_cell(r, (int)c, &row[c]);
	r->ncells += r->ncols;
	sql_rows_values(r, row, vals);
	return 1;
}

/* report_result's `rewind`: the buffered rows from the first. */
static void sql_rows_rewind(void *arg)
{
	struct sql_rows *r = arg;
	r->replay = true;
	r->pos = 0;
}

/* --- running statements ------------------------------------------------------------ */

/* Prints statement text[0 .. len-1] on stderr, whitespace runs made one
 * space, cut after SQL_QUOTE_MAX bytes (between characters), escaped. */
static void sql_quote_statement(const char *text, size_t len)
{
	char buf[SQL_QUOTE_MAX + 4];
	size_t n = 0, i = 0;
	while (i < len && strchr(" \t\r\n\f\v", text[i]))
		i++;
	for (; i < len && n < SQL_QUOTE_MAX; i++) {
		bool space = text[i] == ' ' || (text[i] >= '\t' && text[i] <= '\r');
		if (space && n && buf[n - 1] == ' ')
			continue;
		buf[n++] = space ? ' ' : text[i];
	}
	/* Cut between characters, not inside one. */
	while (i < len && n && ((unsigned char)text[i] & 0xc0) == 0x80) {
		i--;
		n--;
	}
	while (n && buf[n - 1] == ' ')
		n--;
	if (i < len) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	report_write_text(stderr, buf, n);
}

/* The length of the statement that starts `sql` (up to and with its ';', or
 * all of it), found with sqlite3_complete so that a ';' in a string or a
 * comment does not end it; at most 4096 bytes, more than an error message
 * quotes. */
static size_t sql_statement_len(const char *sql)
{
	size_t len = strnlen(sql, 4096);
	char *copy = xmalloc(len + 1);
	size_t end = len;
	for (const char *semi = memchr(sql, ';', len); semi;
	     semi = memchr(semi + 1, ';', len - (size_t)(semi + 1 - sql))) {
		size_t k = (size_t)(semi - sql) + 1;
		memcpy(copy, sql, k);
		copy[k] = '\0';
		if (sqlite3_complete(copy)) {
			end = k;
			break;
		}
	}
	free(copy);
	return end;
}

/* Prints the error of statement number `index` (text[0 .. len-1]) that
 * failed with `msg` and SQLite code `code`, with a hint when it was refused
 * or tried to write (`writes`: a statement SQLite knows would write).
 * Returns CLI_EXIT_ERROR. */
static int sql_statement_error(const char *msg, int code, const char *text, size_t len, size_t index,
                               bool writes)
{
	cli_error("sql", "%s", msg);
	if (index > 1)
		fprintf(stderr, "  in statement %zu: ", index);
	else
		fputs("  in: ", stderr);
	sql_quote_statement(text, len);
	fputc('\n', stderr);
	if ((code & 0xff) == SQLITE_AUTH)
		fputs("  (tstop sql runs read-only: ATTACH, DETACH, VACUUM and turning PRAGMA query_only off "
		      "are refused)\n",
		      stderr);
	else if ((code & 0xff) == SQLITE_READONLY || writes)
		fputs("  (tstop sql opens databases read-only: nothing can be changed through it)\n", stderr);
	return CLI_EXIT_ERROR;
}

/* Runs every statement of `sql` (NUL-terminated) on `db`, writing each
 * result to `w`. Returns the exit status: CLI_EXIT_ERROR after printing the
 * first failure (SQL or writing). */
static int sql_run(sqlite3 *db, const char *sql, struct report_writer *w)
{
	const char *p = sql;
	size_t index = 0;
	struct sql_rows rows = {.db = db};
	int rc = CLI_EXIT_OK;
	while (*p && rc == CLI_EXIT_OK) {
		sqlite3_stmt *st = NULL;
		const char *tail = NULL;
		if (sqlite3_prepare_v2(db, p, -1, &st, &tail) != SQLITE_OK) {
			rc = sql_statement_error(sqlite3_errmsg(db), sqlite3_extended_errcode(db), p,
			                         sql_statement_len(p), index + 1, false);
			break;
		}
		if (!st) { /* only white space or a comment */
			p = tail;
			continue;
		}
		index++;
		size_t ncols = (size_t)sqlite3_column_count(st);
		struct err e = {{0}};
		if (!ncols) {
			int s;
			while ((s = sqlite3_step(st)) == SQLITE_ROW)
				;
			if (s != SQLITE_DONE)
				rc = sql_statement_error(sqlite3_errmsg(db), sqlite3_extended_errcode(db), p,
				                         (size_t)(tail - p), index,
				                         !sqlite3_stmt_readonly(st));
			sqlite3_finalize(st);
			p = tail;
			continue;
		}
		const char **names = xcalloc(ncols, sizeof(*names));
		for (size_t c = 0; c < ncols; c++) {
			names[c] = sqlite3_column_name(st, (int)c);
			if (!names[c])
				names[c] = "";
		}
		rows.st = st;
		rows.ncols = ncols;
		rows.buffered = w->format == REPORT_FORMAT_TABLE;
		rows.replay = false;
		rows.ncells = rows.nbytes = rows.pos = 0;
		struct report_result res = {
		    .names = names,
		    .ncols = ncols,
		    .next = sql_rows_next,
		    .rewind = sql_rows_rewind,
		    .arg = &rows,
		};
		if (report_writer_add_result(w, &res, &e)) {
			int code = sqlite3_extended_errcode(db);
			if (ferror(w->f))
				rc = cli_error("sql", "%s", e.msg);
			else
				rc = sql_statement_error(e.msg, code, p, (size_t)(tail - p), index,
				                         !sqlite3_stmt_readonly(st));
		}
		free(names);
		sqlite3_finalize(st);
		p = tail;
	}
	free(rows.cells);
	free(rows.bytes);
	return rc;
}

/* --- schema ------------------------------------------------------------------------ */

/* One column of a table or view, for --schema. */
struct sql_schema_col {
	size_t object; /* index in the object list */
	char *name, *type;
};

struct sql_schema {
	char **object_name, **object_kind; /* "table" or "view" */
	size_t nobjects;
	struct sql_schema_col *cols;
	size_t ncols;
	/* The result being written: rows [from, to) of cols. */
	size_t from, to, pos;
	bool with_object; /* CSV: the object and its kind as the first columns */
};

/* A text value of a result. */
static void sql_schema_text(struct report_value *v, const char *s)
{
	memset(v, 0, sizeof(*v));
	v->type = REPORT_TEXT;
	v->s = s;
	v->len = strlen(s);
}

/* report_result's `next` over the columns of --schema. */
static int sql_schema_next(void *arg, struct report_value *vals, struct err *e)
{
	(void)e;
	struct sql_schema *s = arg;
	if (s->pos >= s->to)
		return 0;
	const struct sql_schema_col *col = &s->cols[s->pos++];
	size_t i = 0;
	if (s->with_object) {
		sql_schema_text(&vals[i++], s->object_name[col->object]);
		sql_schema_text(&vals[i++], s->object_kind[col->object]);
	}
	sql_schema_text(&vals[i++], col->name);
	sql_schema_text(&vals[i], col->type);
	return 1;
}

/* report_result's `rewind` for --schema. */
static void sql_schema_rewind(void *arg)
{
	struct sql_schema *s = arg;
	s->pos = s->from;
}

/* A copy of text column `c` of the current row of `st` ("" for NULL). */
static char *sql_column_dup(sqlite3_stmt *st, int c)
{
	const unsigned char *s = sqlite3_column_text(st, c);
	return xstrdup(s ? (const char *)s : "");
}

/* Reads the tables and views of `db` (tables first, each kind by name) and
 * their columns into `s`. A view that cannot be read (it names a table
 * that is not there) is listed without columns, with a warning. Returns 0,
 * or the exit status after printing an error. */
static int sql_schema_read(sqlite3 *db, struct sql_schema *s)
{
	sqlite3_stmt *objs = NULL, *cols = NULL;
	size_t cap = 0, col_cap = 0;
	int rc = CLI_EXIT_OK;
	if (sqlite3_prepare_v2(db,
	                       "SELECT name, type FROM sqlite_schema WHERE type IN ('table', 'view') "
	                       "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
	                       "ORDER BY type, name COLLATE NOCASE, name",
	                       -1, &objs, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT name, type FROM pragma_table_info(?1)", -1, &cols, NULL) !=
	        SQLITE_OK) {
		rc = cli_error("sql", "cannot read the schema: %s", sqlite3_errmsg(db));
		goto out;
	}
	int step;
	while ((step = sqlite3_step(objs)) == SQLITE_ROW) {
		if (s->nobjects == cap) {
			cap = cap ? 2 * cap : 64;
			s->object_name = xrealloc(s->object_name, cap * sizeof(*s->object_name));
			s->object_kind = xrealloc(s->object_kind, cap * sizeof(*s->object_kind));
		}
		size_t o = s->nobjects++;
		s->object_name[o] = sql_column_dup(objs, 0);
		s->object_kind[o] = sql_column_dup(objs, 1);
		sqlite3_reset(cols);
		sqlite3_bind_text(cols, 1, s->object_name[o], -1, SQLITE_STATIC);
		int cstep;
		while ((cstep = sqlite3_step(cols)) == SQLITE_ROW) {
			if (s->ncols == col_cap) {
				col_cap = col_cap ? 2 * col_cap : 256;
				s->cols = xrealloc(s->cols, col_cap * sizeof(*s->cols));
			}
			struct sql_schema_col *col = &s->cols[s->ncols++];
			col->object = o;
			col->name = sql_column_dup(cols, 0);
			col->type = sql_column_dup(cols, 1);
		}
		if (cstep != SQLITE_DONE)
			cli_warn("sql", "cannot read the columns of %s %s: %s", s->object_kind[o],
			         s->object_name[o], sqlite3_errmsg(db));
	}
	if (step != SQLITE_DONE)
		rc = cli_error("sql", "cannot read the schema: %s", sqlite3_errmsg(db));
out:
	sqlite3_finalize(cols);
	sqlite3_finalize(objs);
	return rc;
}

/* Frees what `s` holds. */
static void sql_schema_free(struct sql_schema *s)
{
	for (size_t i = 0; i < s->nobjects; i++) {
		free(s->object_name[i]);
		free(s->object_kind[i]);
	}
	for (size_t i = 0; i < s->ncols; i++) {
		free(s->cols[i].name);
		free(s->cols[i].type);
	}
	free(s->object_name);
	free(s->object_kind);
	free(s->cols);
}

/* Writes the schema as one JSON array: an object per table or view with its
 * name, its type and its columns (each a name and a declared type). */
static void sql_schema_json(FILE *f, const struct sql_schema *s)
{
	size_t c = 0;
	fputs(s->nobjects ? "[\n  " : "[", f);
	for (size_t o = 0; o < s->nobjects; o++) {
		if (o)
			fputs(",\n  ", f);
		fputs("{\"name\": ", f);
		report_write_json_string(f, s->object_name[o], strlen(s->object_name[o]));
		fputs(", \"type\": ", f);
		report_write_json_string(f, s->object_kind[o], strlen(s->object_kind[o]));
		fputs(", \"columns\": [", f);
		for (bool first = true; c < s->ncols && s->cols[c].object == o; c++, first = false) {
			fputs(first ? "{\"name\": " : ", {\"name\": ", f);
			report_write_json_string(f, s->cols[c].name, strlen(s->cols[c].name));
			fputs(", \"type\": ", f);
			report_write_json_string(f, s->cols[c].type, strlen(s->cols[c].type));
			putc('}', f);
		}
		fputs("]}", f);
	}
	fputs(s->nobjects ? "\n]\n" : "]\n", f);
}

/* Writes --schema in the writer's format: in table form a block per object
 * (a heading "table NAME" or "view NAME", then its columns and their
 * declared types); in CSV one table of object, kind, column and type; in
 * JSON an array of objects with their columns. Returns the exit status. */
static int sql_schema_write(sqlite3 *db, struct report_writer *w)
{
	struct sql_schema s = {0};
	int rc = sql_schema_read(db, &s);
	struct err e = {{0}};
	if (rc)
		goto out;
	if (w->format == REPORT_FORMAT_JSON) {
		sql_schema_json(w->f, &s);
		goto out;
	}
	static const char *const col_names[] = {"object", "kind", "column", "type"};
	struct report_result res = {
	    .next = sql_schema_next,
	    .rewind = sql_schema_rewind,
	    .arg = &s,
	};
	if (w->format == REPORT_FORMAT_CSV) {
		s.with_object = true;
		s.from = 0;
		s.to = s.ncols;
		s.pos = 0;
		res.names = col_names;
		res.ncols = 4;
		if (report_writer_add_result(w, &res, &e))
			rc = cli_error("sql", "%s", e.msg);
		goto out;
	}
	res.names = col_names + 2;
	res.ncols = 2;
	size_t c = 0;
	for (size_t o = 0; o < s.nobjects && !rc; o++) {
		char *heading = xmalloc(strlen(s.object_kind[o]) + strlen(s.object_name[o]) + 2);
		sprintf(heading, "%s %s", s.object_kind[o], s.object_name[o]);
		s.from = s.pos = c;
		while (c < s.ncols && s.cols[c].object == o)
			c++;
		s.to = c;
		res.heading = heading;
		if (report_writer_add_result(w, &res, &e))
			rc = cli_error("sql", "%s", e.msg);
		free(heading);
	}
out:
	sql_schema_free(&s);
	return rc;
}

/* --- the command --------------------------------------------------------------------- */

/* Reads all of standard input into a NUL-terminated string the caller
 * frees; NULL after printing an error (a read error, or a NUL byte, which
 * SQL text cannot hold). */
static char *sql_read_stdin(void)
{
	size_t len = 0, cap = 65536;
	char *buf = xmalloc(cap);
	for (;;) {
		if (cap - len < 4096) {
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		size_t n = fread(buf + len, 1, cap - len - 1, stdin);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(stdin)) {
		cli_error("sql", "cannot read the SQL from standard input: %s", strerror(errno));
		free(buf);
		return NULL;
	}
	if (memchr(buf, '\0', len)) {
		cli_error("sql", "the SQL on standard input holds a NUL byte");
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}

/* The width of the terminal on standard output, or 0 when it is not one
 * (output is then never cut). */
static size_t sql_terminal_width(void)
{
	if (!isatty(STDOUT_FILENO))
		return 0;
	struct winsize ws;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	const char *env = getenv("COLUMNS");
	long cols = env ? strtol(env, NULL, 10) : 0;
	return cols > 0 && cols < 100000 ? (size_t)cols : 80;
}

/* Whether the locale's characters are UTF-8, by the environment the way
 * setlocale reads it (without changing tstop's locale). */
static bool sql_locale_utf8(void)
{
	const char *names[] = {"LC_ALL", "LC_CTYPE", "LANG"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *v = getenv(names[i]);
		if (v && *v)
			return strcasestr(v, "utf-8") || strcasestr(v, "utf8");
	}
	return false;
}

/* Runs `tstop sql`: argv[0] is "sql"; returns the exit status. */
int cmd_sql(int argc, char **argv)
{
	enum { OPT_SCHEMA = 256 };
	static const struct option longopts[] = {
	    {"format", required_argument, NULL, 'f'},
	    {"output", required_argument, NULL, 'o'},
	    {"schema", no_argument, NULL, OPT_SCHEMA},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	enum report_format format = REPORT_FORMAT_TABLE;
	const char *out_path = NULL;
	bool schema = false;
	int c, rc;

	cli_getopt_reset();
	while ((c = cli_getopt(argc, argv, "sql", "f:o:h", longopts)) != CLI_OPT_END) {
		switch (c) {
		case 'f':
			if (report_format_parse(optarg, &format))
				return cli_usage_error("sql", "unknown format '%s' (table, csv or json)",
				                       optarg);
			break;
		case 'o':
			out_path = optarg;
			break;
		case OPT_SCHEMA:
			schema = true;
			break;
		case 'h':
			fputs(cmd_sql_usage, stdout);
			return CLI_EXIT_OK;
		default:
			return CLI_EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return cli_usage_error("sql", "no database given");
	if (argc - optind > 2)
		return cli_usage_error("sql",
		                       "too many arguments: give the query as one argument (quote it)");
	const char *path = argv[optind];
	const char *query = argc - optind == 2 ? argv[optind + 1] : NULL;
	if (schema && query)
		return cli_usage_error("sql", "--schema takes no query");

	char *opened = NULL;
	sqlite3 *db = sql_open(path, true, &opened);
	if (!db)
		return CLI_EXIT_ERROR;
	if (sql_is_synthetic(db))
		cli_warn("sql", "%s is a synthetic session (generated, not captured)", opened);
	if (sql_is_incomplete(db)) {
		/* NAME.db is built from NAME.sbt. */
		size_t n = strlen(opened);
		int stem = n > 3 && !strcmp(opened + n - 3, ".db") ? (int)(n - 3) : (int)n;
		cli_warn("sql",
		         "%s is not finished: still being written, or its capture was interrupted "
		         "(when the capture has ended, rebuild it with `tstop db -f %.*s.sbt`)",
		         opened, stem, opened);
	}
	char *input = NULL;
	if (!schema && !query) {
		if (isatty(STDIN_FILENO))
			fputs("tstop sql: reading SQL from standard input; end it with Ctrl-D\n", stderr);
		if (!(input = sql_read_stdin())) {
			sqlite3_close(db);
			free(opened);
			return CLI_EXIT_ERROR;
		}
		query = input;
	}

	struct cli_output o = {0};
	struct err e = {{0}};
	FILE *out = stdout;
	if (out_path) {
		/* The database, and its -wal and -shm files, by any path. */
		size_t len = strlen(opened);
		char *wal = xmalloc(len + 5), *shm = xmalloc(len + 5);
		snprintf(wal, len + 5, "%s-wal", opened);
		snprintf(shm, len + 5, "%s-shm", opened);
		const char *const sides[] = {wal, shm, NULL};
		rc = cli_output_open("sql", &o, out_path, opened, "database", sides, "query output");
		free(wal);
		free(shm);
		if (rc) {
			cli_output_close(&o, false, NULL);
			goto done;
		}
		out = o.f;
	}
	struct report_writer w;
	report_writer_init_results(&w, out, format, out_path ? 0 : sql_terminal_width(),
	                           sql_locale_utf8() ? "\xe2\x80\xa6" : "...");
	rc = schema ? sql_schema_write(db, &w) : sql_run(db, query, &w);
	if (report_writer_finish(&w, &e) && rc == CLI_EXIT_OK)
		rc = cli_error("sql", "%s", e.msg);
	if (out_path) {
		if (cli_output_close(&o, rc == CLI_EXIT_OK, &e) && rc == CLI_EXIT_OK)
			rc = cli_error("sql", "%s", e.msg);
	}
done:
	free(input);
	free(opened);
	sqlite3_close(db);
	return rc;
}
