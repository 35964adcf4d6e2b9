/*
 * test_symbolize.c - stack frame symbolization (src/capture/symbolize.c),
 * on this test's own executable (built with -g) and the shared libraries it
 * runs with, located the way the collector locates frames (dladdr's module
 * path and dli_fbase).
 *
 * Covers: a static function of this PIE executable resolved to its name,
 * this file and the line of the call (pc - 1), with the offset from the
 * function's start; a function inlined into another; a call that never
 * returns, last in its function (the return address is past its end); the cache (one entry
 * per (module, offset)); a function of a shared library (libcmocka); copies
 * of the executable without debug info (function from .symtab, no line)
 * and without any symbol table; paths that resolve nothing (missing,
 * relative, holding a NUL, a directory, /dev/null, a FIFO, which must not
 * block), garbage, empty and truncated files, and damaged copies of the
 * executable (bytes changed at random, read without crashing); offsets out
 * of range; modules replaced on disk (another build-id: nothing resolves
 * any more, one note; the same build-id: still resolves; no build-id and a
 * new mtime: nothing); more modules than stay open (closed and reopened);
 * and the drain filling a session frame from a FRAME record.
 *
 * Tests needing objcopy (binutils) skip when it is missing; with a tstop
 * built without libdw only the "nothing resolves, one note" tests run.
 *
 * Run as `test_symbolize --frames FILE.sbt`, it prints every frame of a
 * session instead (function, file, line, module, tab-separated): the
 * end-to-end test tests/cli/record_stacks.sh reads that.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture/drain.h"
#include "capture/proto.h"
#include "capture/ring.h"
#include "capture/symbolize.h"
#include "store/sbt.h"
#include "trace/session.h"

#if defined(__clang__)
#define SYMTEST_NOINLINE __attribute__((noinline))
#else
#define SYMTEST_NOINLINE __attribute__((noinline, noclone))
#endif

/* --- frames to resolve: return addresses in known functions ---------------------- */

static void *volatile symtest_ra_caller, *volatile symtest_ra_inlined;
static volatile int symtest_line_caller, symtest_line_inlined;

/* Its own return address (the caller's frame as unw_backtrace gives it);
 * stores `line`, the caller's line of the call, in *line_out. */
SYMTEST_NOINLINE static void *symtest_return_address(int line, volatile int *line_out)
{
	void *ra = __builtin_extract_return_addr(__builtin_return_address(0));
	*line_out = line;
	__asm__ volatile("" ::: "memory");
	return ra;
}

/* A static function (only in .symtab, not .dynsym) holding a call. */
SYMTEST_NOINLINE static void symtest_caller(void)
{
	symtest_ra_caller = symtest_return_address(__LINE__, &symtest_line_caller);
	__asm__ volatile("" ::: "memory");
}

/* Always inlined into symtest_outer: its call resolves to this name. */
static inline __attribute__((always_inline)) void symtest_inlined(void)
{
	symtest_ra_inlined = symtest_return_address(__LINE__, &symtest_line_inlined);
	__asm__ volatile("" ::: "memory");
}

static void *volatile symtest_ra_dies;
static volatile int symtest_line_dies;
static jmp_buf symtest_jmp;

/* Never returns: jumps back to the test with its return address noted. */
SYMTEST_NOINLINE __attribute__((noreturn)) static void symtest_no_return(int line)
{
	symtest_ra_dies = __builtin_extract_return_addr(__builtin_return_address(0));
	symtest_line_dies = line;
	longjmp(symtest_jmp, 1);
}

/* Ends with a call that never returns: the return address is the end of
 * this function (the next function or padding), the call is in it. */
SYMTEST_NOINLINE static void symtest_dies(void)
{
	symtest_no_return(__LINE__);
}

/* Holds the inlined call. */
SYMTEST_NOINLINE static void symtest_outer(void)
{
	symtest_inlined();
	__asm__ volatile("" ::: "memory");
}

/* --- helpers --------------------------------------------------------------------------- */

/* Module path and offset of `pc` as the collector computes them (the main
 * program by /proc/self/exe). */
static void locate(const void *pc, char *path, size_t size, uint64_t *offset)
{
	Dl_info di;
	assert_true(dladdr(pc, &di) != 0);
	if (di.dli_fname && di.dli_fname[0] == '/') {
		snprintf(path, size, "%s", di.dli_fname);
	} else {
		ssize_t n = readlink("/proc/self/exe", path, size - 1);
		assert_true(n > 0);
		path[n] = '\0';
	}
	*offset = (uint64_t)(uintptr_t)pc - (uint64_t)(uintptr_t)di.dli_fbase;
}

/* symbolize_frame on a C string path. */
static int lookup(struct symbolize *sy, const char *path, uint64_t offset, struct symbolize_result *r,
                  struct err *note)
{
	return symbolize_frame(sy, path, strlen(path), offset, r, note);
}

/* Whether `s` ends with `tail`. */
static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), m = strlen(tail);
	return n >= m && !strcmp(s + n - m, tail);
}

/* A fresh temporary directory (removed by rm_tree). */
static char *make_tmpdir(void)
{
	char *dir = strdup("/tmp/tstop-symtest-XXXXXX");
	assert_non_null(dir);
	assert_non_null(mkdtemp(dir));
	return dir;
}

/* Removes directory `dir` and what it holds, and frees the string. */
static void rm_tree(char *dir)
{
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(dir);
}

/* Reads file `path` whole; the caller frees it. */
static uint8_t *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	long n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	uint8_t *buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Writes `len` bytes to a new file `path`. */
static void write_all(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Copies file `from` to `to`. */
static void copy_file(const char *from, const char *to)
{
	size_t len;
	uint8_t *buf = read_all(from, &len);
	write_all(to, buf, len);
	free(buf);
}

/* Runs `objcopy ARGS FROM TO`; false (the test skips) when there is no objcopy. */
static bool objcopy(const char *args, const char *from, const char *to)
{
	if (system("command -v objcopy >/dev/null 2>&1") != 0)
		return false;
	char cmd[3 * PATH_MAX];
	snprintf(cmd, sizeof(cmd), "objcopy %s '%s' '%s'", args, from, to);
	assert_int_equal(system(cmd), 0);
	return true;
}

/* The caller frame of symtest_caller: its module and offset. */
static uint64_t caller_frame(char *path, size_t size)
{
	symtest_caller();
	uint64_t off;
	locate(symtest_ra_caller, path, size, &off);
	return off;
}

/* Skips the calling test when this build has no libdw. */
#define NEED_LIBDW()                                                                                         \
	do {                                                                                                 \
		if (!symbolize_available()) {                                                                \
			skip();                                                                              \
		}                                                                                            \
	} while (0)

/* --- tests ----------------------------------------------------------------------------- */

/* A static function of this executable: name, file, the call's line, the
 * offset from its start; the same pointers from the cache the second time. */
static void test_static_function(void **state)
{
	NEED_LIBDW();
	char path[PATH_MAX];
	uint64_t off = caller_frame(path, sizeof(path));
	struct symbolize *sy = symbolize_new();
	struct symbolize_result r, again;
	struct err note;
	assert_int_equal(lookup(sy, path, off, &r, &note), 1);
	assert_string_equal(note.msg, "");
	assert_non_null(r.function);
	assert_string_equal(r.function, "symtest_caller");
	assert_int_equal(r.offset, (uintptr_t)symtest_ra_caller - (uintptr_t)&symtest_caller);
	assert_non_null(r.file);
	assert_true(ends_with(r.file, "/tests/unit/test_symbolize.c"));
	assert_int_equal(r.line, symtest_line_caller);

	assert_int_equal(lookup(sy, path, off, &again, NULL), 1);
	assert_ptr_equal(again.function, r.function);
	assert_ptr_equal(again.file, r.file);
	symbolize_delete(sy);
}

/* A call inside an inlined function resolves to the inlined function. */
static void test_inlined_function(void **state)
{
	NEED_LIBDW();
	symtest_outer();
	char path[PATH_MAX];
	uint64_t off;
	locate(symtest_ra_inlined, path, sizeof(path), &off);
	struct symbolize *sy = symbolize_new();
	struct symbolize_result r;
	assert_int_equal(lookup(sy, path, off, &r, NULL), 1);
	assert_non_null(r.function);
	assert_string_equal(r.function, "symtest_inlined");
	assert_non_null(r.file);
	assert_true(ends_with(r.file, "test_symbolize.c"));
	assert_int_equal(r.line, symtest_line_inlined);
	symbolize_delete(sy);
}

/* A call that never returns is the last instruction of its function: the
 * lookup at pc - 1 still finds the function and line of the call. */
static void test_call_at_function_end(void **state)
{
	NEED_LIBDW();
	if (!setjmp(symtest_jmp))
		symtest_dies();
	char path[PATH_MAX];
	uint64_t off;
	locate(symtest_ra_dies, path, sizeof(path), &off);
	struct symbolize *sy = symbolize_new();
	struct symbolize_result r;
	assert_int_equal(lookup(sy, path, off, &r, NULL), 1);
	assert_non_null(r.function);
	assert_string_equal(r.function, "symtest_dies");
	assert_int_equal(r.line, symtest_line_dies);
	symbolize_delete(sy);
}

/* An exported function of a shared library, located by dladdr. */
static void test_shared_library(void **state)
{
	NEED_LIBDW();
	const uint8_t *fn = (const uint8_t *)(uintptr_t)&_cmocka_run_group_tests;
	char path[PATH_MAX];
	uint64_t off;
	locate(fn + 1, path, sizeof(path), &off); /* a return address just past its first byte */
	assert_non_null(strstr(path, "cmocka"));
	struct symbolize *sy = symbolize_new();
	struct symbolize_result r;
	assert_int_equal(lookup(sy, path, off, &r, NULL), 1);
	assert_non_null(r.function);
	assert_string_equal(r.function, "_cmocka_run_group_tests");
	assert_int_equal(r.offset, 1);
	if (!r.file)
		assert_int_equal(r.line, 0);
	symbolize_delete(sy);
}

/* Without debug info the function comes from .symtab and there is no
 * line; without any symbol table the static function is not found. */
static void test_no_debug_info(void **state)
{
	NEED_LIBDW();
	char self[PATH_MAX], nodebug[PATH_MAX + 32], nosyms[PATH_MAX + 32];
	uint64_t off = caller_frame(self, sizeof(self));
	char *dir = make_tmpdir();
	snprintf(nodebug, sizeof(nodebug), "%s/nodebug", dir);
	snprintf(nosyms, sizeof(nosyms), "%s/nosyms", dir);
	if (!objcopy("--strip-debug", self, nodebug) || !objcopy("--strip-all", self, nosyms)) {
		rm_tree(dir);
		skip();
	}
	struct symbolize *sy = symbolize_new();
	struct symbolize_result r;
	assert_int_equal(lookup(sy, nodebug, off, &r, NULL), 1);
	assert_non_null(r.function);
	assert_string_equal(r.function, "symtest_caller");
	assert_int_equal(r.offset, (uintptr_t)symtest_ra_caller - (uintptr_t)&symtest_caller);
	assert_null(r.file);
	assert_int_equal(r.line, 0);

	lookup(sy, nosyms, off, &r, NULL);
	assert_true(!r.function || strcmp(r.function, "symtest_caller") != 0);
	assert_null(r.file);
	symbolize_delete(sy);
	rm_tree(dir);
}

/* Paths that resolve nothing; each unusable module is noted once. */
static void test_unusable_paths(void **state)
{
	char *dir = make_tmpdir();
	char p[PATH_MAX + 32];
	struct symbolize *sy = symbolize_new();
	struct symbolize_result r;
	struct err note;

	snprintf(p, sizeof(p), "%s/missing.so", dir);
	assert_int_equal(lookup(sy, p, 0x1000, &r, &note), 0);
	assert_null(r.function);
	assert_null(r.file);
	if (symbolize_available()) {
		assert_non_null(strstr(note.msg, p));
		assert_non_null(strstr(note.msg, "No such file"));
	} else {
		assert_non_null(strstr(note.msg, "without elfutils libdw"));
	}
	assert_int_equal(lookup(sy, p, 0x1010, &r, &note), 0);
	assert_string_equal(note.msg, "");

	if (symbolize_available()) {
		/* Not absolute, empty, holding a NUL: nothing, no note. */
		assert_int_equal(lookup(sy, "libfoo.so", 0x10, &r, &note), 0);
		assert_string_equal(note.msg, "");
		assert_int_equal(symbolize_frame(sy, "", 0, 0x10, &r, &note), 0);
		assert_string_equal(note.msg, "");
		assert_int_equal(symbolize_frame(sy, "/bin/true\0x", 11, 0x10, &r, &note), 0);
		assert_string_equal(note.msg, "");

		assert_int_equal(lookup(sy, dir, 0x10, &r, &note), 0);
		assert_non_null(strstr(note.msg, "not a regular file"));
		assert_int_equal(lookup(sy, "/dev/null", 0x10, &r, &note), 0);
		assert_non_null(strstr(note.msg, "not a regular file"));
		snprintf(p, sizeof(p), "%s/fifo", dir);
		assert_int_equal(mkfifo(p, 0600), 0);
		assert_int_equal(lookup(sy, p, 0x10, &r, &note), 0); /* returns: no writer needed */
		assert_non_null(strstr(note.msg, "not a regular file"));
	} else {
		/* The note saying why came with the first frame; nothing else. */
		assert_int_equal(lookup(sy, "/bin/true", 0x10, &r, &note), 0);
		assert_string_equal(note.msg, "");
	}
	symbolize_delete(sy);
	rm_tree(dir);
}

/* Garbage, empty and truncated files, and damaged copies of this
 * executable: nothing crashes; the unreadable ones resolve nothing. */
static void test_malformed_files(void **state)
{
	NEED_LIBDW();
	char self[PATH_MAX], p[PATH_MAX + 32];
	uint64_t off = caller_frame(self, sizeof(self));
	char *dir = make_tmpdir();
	struct symbolize *sy = symbolize_new();
	struct symbolize_result r;
	struct err note;

	uint8_t junk[8192];
	srand(7);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)rand();
	snprintf(p, sizeof(p), "%s/garbage.so", dir);
	write_all(p, junk, sizeof(junk));
	assert_int_equal(lookup(sy, p, 0x100, &r, &note), 0);
	assert_non_null(strstr(note.msg, "not an ELF file"));

	snprintf(p, sizeof(p), "%s/empty.so", dir);
	write_all(p, "", 0);
	assert_int_equal(lookup(sy, p, 0x100, &r, &note), 0);
	assert_non_null(strstr(note.msg, "not an ELF file"));

	size_t len;
	uint8_t *elf = read_all(self, &len);
	/* Headers only: the program headers point past the end. */
	snprintf(p, sizeof(p), "%s/truncated.so", dir);
	write_all(p, elf, 64);
	assert_int_equal(lookup(sy, p, off, &r, &note), 0);
	assert_string_not_equal(note.msg, "");
	/* An ELF header claiming a huge program header table. */
	uint8_t *bad = malloc(len);
	assert_non_null(bad);
	memcpy(bad, elf, len);
	bad[56] = 0xff; /* e_phnum (64-bit header) */
	bad[57] = 0xfe;
	snprintf(p, sizeof(p), "%s/phnum.so", dir);
	write_all(p, bad, len);
	lookup(sy, p, off, &r, &note);
	symbolize_delete(sy);

	/* Damaged copies: a few bytes changed anywhere, many in the headers
	 * and at the end (section headers); each read by a new symbolizer. */
	for (int i = 0; i < 40; i++) {
		memcpy(bad, elf, len);
		for (int k = 0; k < 24; k++) {
			size_t at;
			switch (k % 3) {
			case 0:
				at = (size_t)rand() % 4096 % len;
				break;
			case 1:
				at = len - 1 - (size_t)rand() % (len < 8192 ? len : 8192);
				break;
			default:
				at = (size_t)rand() % len;
				break;
			}
			bad[at] = (uint8_t)rand();
		}
		snprintf(p, sizeof(p), "%s/damaged-%d.so", dir, i);
		write_all(p, bad, len);
		sy = symbolize_new();
		for (uint64_t o = off; o < off + 4096; o += 512)
			lookup(sy, p, o, &r, &note);
		symbolize_delete(sy);
	}
	free(bad);
	free(elf);
	rm_tree(dir);
}

/* Offsets outside the module, and 0, resolve nothing. */
static void test_offsets_out_of_range(void **state)
{
	NEED_LIBDW();
	char self[PATH_MAX];
	caller_frame(self, sizeof(self));
	struct symbolize *sy = symbolize_new();
	struct symbolize_result r;
	assert_int_equal(lookup(sy, self, 0, &r, NULL), 0);
	assert_int_equal(lookup(sy, self, UINT64_MAX, &r, NULL), 0);
	assert_int_equal(lookup(sy, self, (uint64_t)1 << 40, &r, NULL), 0);
	assert_null(r.function);
	symbolize_delete(sy);
}

/* Modules replaced on disk after their first frame. */
static void test_replaced_module(void **state)
{
	NEED_LIBDW();
	char self[PATH_MAX], a[PATH_MAX + 32], b[PATH_MAX + 32], c[PATH_MAX + 32], tmp[PATH_MAX + 32];
	uint64_t off = caller_frame(self, sizeof(self));
	char *dir = make_tmpdir();
	snprintf(a, sizeof(a), "%s/a", dir);
	snprintf(b, sizeof(b), "%s/b", dir);
	snprintf(c, sizeof(c), "%s/c", dir);
	snprintf(tmp, sizeof(tmp), "%s/tmp", dir);
	char lib[PATH_MAX];
	uint64_t liboff;
	locate((const uint8_t *)(uintptr_t)&_cmocka_run_group_tests + 1, lib, sizeof(lib), &liboff);
	struct symbolize *sy = symbolize_new();
	struct symbolize_result r;
	struct err note;

	/* Another build-id: nothing from now on, one note. */
	copy_file(self, a);
	assert_int_equal(lookup(sy, a, off, &r, &note), 1);
	copy_file(lib, tmp);
	assert_int_equal(rename(tmp, a), 0);
	assert_int_equal(lookup(sy, a, off + 16, &r, &note), 0);
	assert_non_null(strstr(note.msg, "changed on disk"));
	assert_int_equal(lookup(sy, a, off, &r, &note), 0); /* even a frame resolved before */
	assert_string_equal(note.msg, "");

	/* The same build-id in a new file (stripped): still resolves. */
	copy_file(self, b);
	assert_int_equal(lookup(sy, b, off, &r, &note), 1);
	if (objcopy("--strip-debug", self, tmp)) {
		assert_int_equal(rename(tmp, b), 0);
		assert_int_equal(lookup(sy, b, off, &r, &note), 1);
		assert_string_equal(note.msg, "");
		assert_string_equal(r.function, "symtest_caller");
	}

	/* No build-id: a new modification time is a new file. */
	if (objcopy("--remove-section .note.gnu.build-id", self, c)) {
		assert_int_equal(lookup(sy, c, off, &r, &note), 1);
		assert_string_equal(r.function, "symtest_caller");
		struct timeval tv[2] = {{.tv_sec = 1000000000}, {.tv_sec = 1000000000}};
		assert_int_equal(utimes(c, tv), 0);
		assert_int_equal(lookup(sy, c, off + 1, &r, &note), 0);
		assert_non_null(strstr(note.msg, "no build-id"));
	}
	symbolize_delete(sy);
	rm_tree(dir);
}

/* More modules than stay open: the first is closed, then reopened for a
 * new frame and still right. */
static void test_many_modules(void **state)
{
	NEED_LIBDW();
	char self[PATH_MAX], base[PATH_MAX + 32], p[PATH_MAX + 64];
	uint64_t off = caller_frame(self, sizeof(self));
	symtest_outer();
	uint64_t inl_off;
	char inl_path[PATH_MAX];
	locate(symtest_ra_inlined, inl_path, sizeof(inl_path), &inl_off);
	char *dir = make_tmpdir();
	snprintf(base, sizeof(base), "%s/exe", dir);
	copy_file(self, base);
	struct symbolize *sy = symbolize_new();
	struct symbolize_result r;
	unsigned n = SYMBOLIZE_OPEN_MAX + 8;
	for (unsigned i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "%s/link-%u", dir, i);
		assert_int_equal(link(base, p), 0);
		assert_int_equal(lookup(sy, p, off, &r, NULL), 1);
		assert_string_equal(r.function, "symtest_caller");
	}
	snprintf(p, sizeof(p), "%s/link-0", dir);
	assert_int_equal(lookup(sy, p, inl_off, &r, NULL), 1);
	assert_string_equal(r.function, "symtest_inlined");
	assert_int_equal(r.line, symtest_line_inlined);
	symbolize_delete(sy);
	rm_tree(dir);
}

/* The drain: a FRAME record of this executable becomes a session frame
 * with function, file and line; the module is kept. */
static void test_drain_frame(void **state)
{
	NEED_LIBDW();
	char self[PATH_MAX];
	uint64_t off = caller_frame(self, sizeof(self));
	struct trace_session *s = trace_session_new();
	struct capture_drain *d = capture_drain_new(s, NULL);
	struct err e = {{0}};
	struct ring *ring = ring_create(64 * 1024, 0, 0, &e);
	assert_non_null(ring);

	struct {
		struct proto_header h;
		struct proto_hello hello;
	} hello = {.h = {.type = PROTO_HELLO},
	           .hello = {.version = PROTO_VERSION,
	                     .pid = 77,
	                     .size_event = sizeof(struct trace_event),
	                     .size_track = sizeof(struct trace_track_info),
	                     .size_device = sizeof(struct trace_device),
	                     .size_launch = sizeof(struct trace_launch),
	                     .size_nvtx_attr = sizeof(struct trace_nvtx_attr),
	                     .size_memop = sizeof(struct trace_memop),
	                     .size_frame = sizeof(struct proto_frame),
	                     .start = 1}};
	void *rec = ring_reserve(ring, sizeof(hello));
	assert_non_null(rec);
	memcpy(rec, &hello, sizeof(hello));
	ring_commit(ring, rec);

	size_t plen = strlen(self);
	rec = ring_reserve(ring, (uint32_t)(sizeof(struct proto_header) + plen));
	assert_non_null(rec);
	struct proto_header sh = {.type = PROTO_STRING, .id = 1};
	memcpy(rec, &sh, sizeof(sh));
	memcpy((uint8_t *)rec + sizeof(sh), self, plen);
	ring_commit(ring, rec);

	struct {
		struct proto_header h;
		struct proto_frame f;
	} fr = {.h = {.type = PROTO_FRAME, .id = 1},
	        .f = {.pc = (uint64_t)(uintptr_t)symtest_ra_caller, .module_offset = off, .module = 1}};
	rec = ring_reserve(ring, sizeof(fr));
	assert_non_null(rec);
	memcpy(rec, &fr, sizeof(fr));
	ring_commit(ring, rec);

	capture_drain_attach(d, 77, 1, ring);
	capture_drain_poll(d, 100);
	assert_int_equal(capture_drain_stats(d)->dropped_records, 0);
	assert_int_equal(trace_session_frame_count(s), 2);
	const struct trace_frame *f = trace_session_frame(s, 1);
	assert_non_null(f);
	assert_int_equal(f->pc, (uintptr_t)symtest_ra_caller);
	assert_string_equal(trace_session_string(s, f->module, NULL), self);
	assert_string_equal(trace_session_string(s, f->function, NULL), "symtest_caller");
	assert_int_equal(f->offset, (uintptr_t)symtest_ra_caller - (uintptr_t)&symtest_caller);
	assert_true(ends_with(trace_session_string(s, f->file, NULL), "test_symbolize.c"));
	assert_int_equal(f->line, symtest_line_caller);
	capture_drain_delete(d);
	trace_session_delete(s);
}

/* --- frame listing for the end-to-end test ------------------------------------------- */

/* Prints every frame of session file `path`: function, file, line, module. */
static int list_frames(const char *path)
{
	struct trace_session *s = trace_session_new();
	struct err e = {{0}};
	if (sbt_load(path, s, NULL, &e) < 0) {
		fprintf(stderr, "test_symbolize: %s\n", e.msg);
		trace_session_delete(s);
		return 1;
	}
	for (uint32_t id = 1; id < trace_session_frame_count(s); id++) {
		const struct trace_frame *f = trace_session_frame(s, id);
		printf("%s\t%s\t%u\t%s\n", trace_session_string(s, f->function, NULL),
		       trace_session_string(s, f->file, NULL), f->line,
		       trace_session_string(s, f->module, NULL));
	}
	trace_session_delete(s);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--frames"))
		return list_frames(argv[2]);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_static_function),      cmocka_unit_test(test_inlined_function),
	    cmocka_unit_test(test_call_at_function_end), cmocka_unit_test(test_shared_library),
	    cmocka_unit_test(test_no_debug_info),        cmocka_unit_test(test_unusable_paths),
	    cmocka_unit_test(test_malformed_files),      cmocka_unit_test(test_offsets_out_of_range),
	    cmocka_unit_test(test_replaced_module),      cmocka_unit_test(test_many_modules),
	    cmocka_unit_test(test_drain_frame),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
