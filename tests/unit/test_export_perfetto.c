/*
 * test_export_perfetto.c - the Perfetto exporter (export/perfetto.c) and its
 * protobuf writer (export/pb.h).
 *
 * The writer is checked byte for byte against hand-encoded fields. The
 * exporter's output is decoded by protoc with the Perfetto protos of
 * ../shared/testdata/perfetto (the tests skip with a message when protoc or
 * that folder is missing) and the decoded text is checked: no unknown fields
 * (bare field numbers), BEGIN/END balanced and in time order on every track,
 * slice, instant and counter counts equal to the session's per kind, a flow
 * for every correlated piece of GPU work, and the names of a few events, on
 * a synthetic session with every kind, an empty one, an NVTX-only one with
 * overlapping ranges, and one whose names hold quotes, control characters
 * and invalid UTF-8.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "export/export.h"
#include "export/pb.h"
#include "synth.h"
#include "util/xalloc.h"

/* Asserts that `b` holds exactly the `n` bytes `want`. */
static void assert_bytes(const struct pb_buf *b, const uint8_t *want, size_t n)
{
	if (b->len != n)
		fail_msg("encoded %zu bytes, expected %zu", b->len, n);
	for (size_t i = 0; i < n; i++)
		if (b->data[i] != want[i])
			fail_msg("byte %zu is %02x, expected %02x", i, b->data[i], want[i]);
}

/* Varints, negative int64, fixed64, doubles and keys of big field numbers,
 * as the protobuf encoding guide writes them. */
static void test_pb_scalars(void **state)
{
	(void)state;
	struct pb_buf b;
	pb_init(&b);
	pb_uint(&b, 1, 150);
	assert_bytes(&b, (const uint8_t[]){0x08, 0x96, 0x01}, 3);
	pb_reset(&b);
	pb_uint(&b, 1, 0);
	pb_uint(&b, 15, 1);
	pb_uint(&b, 16, UINT64_MAX);
	assert_bytes(&b,
	             (const uint8_t[]){0x08, 0x00, 0x78, 0x01, 0x80, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	                               0xff, 0xff, 0xff, 0x01},
	             16);
	pb_reset(&b);
	pb_int(&b, 2, -1);
	assert_bytes(&b, (const uint8_t[]){0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
	             11);
	pb_reset(&b);
	pb_fixed64(&b, 47, 0x0102030405060708ull); /* key 47 << 3 | 1 = 377 */
	assert_bytes(&b, (const uint8_t[]){0xf9, 0x02, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01}, 10);
	pb_reset(&b);
	pb_double(&b, 5, 1.0);
	assert_bytes(&b, (const uint8_t[]){0x29, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f}, 9);
	pb_reset(&b);
	pb_uint(&b, 60, 3); /* key 60 << 3 = 480 */
	assert_bytes(&b, (const uint8_t[]){0xe0, 0x03, 0x03}, 3);
	pb_free(&b);
}

/* Strings: valid UTF-8 is kept (NUL and control characters included), each
 * invalid byte becomes U+FFFD; the length counts the replacement. */
static void test_pb_strings(void **state)
{
	(void)state;
	struct pb_buf b;
	pb_init(&b);
	pb_string(&b, 2, "a\"\\\n\0\xc3\xa9", 7);
	assert_bytes(&b, (const uint8_t[]){0x12, 0x07, 'a', '"', '\\', '\n', 0, 0xc3, 0xa9}, 9);
	pb_reset(&b);
	/* a stray continuation byte, a truncated 3-byte sequence, an overlong
	 * form, a surrogate, a value above U+10FFFF */
	pb_string(&b, 1, "\x80x\xe2\x82", 4);
	assert_bytes(
	    &b, (const uint8_t[]){0x0a, 10, 0xef, 0xbf, 0xbd, 'x', 0xef, 0xbf, 0xbd, 0xef, 0xbf, 0xbd}, 12);
	size_t bad;
	assert_int_equal(pb_utf8_valid_prefix((const uint8_t *)"\xc0\xaf", 2, &bad), 0);
	assert_int_equal(bad, 1);
	assert_int_equal(pb_utf8_valid_prefix((const uint8_t *)"ok\xed\xa0\x80", 5, &bad), 2);
	assert_int_equal(bad, 1);
	assert_int_equal(pb_utf8_valid_prefix((const uint8_t *)"\xf4\x90\x80\x80", 4, &bad), 0);
	assert_int_equal(pb_utf8_valid_prefix((const uint8_t *)"\xf0\x9f\x98\x80!", 5, &bad), 5);
	assert_int_equal(bad, 0);
	pb_reset(&b);
	pb_cstr(&b, 1, "");
	assert_bytes(&b, (const uint8_t[]){0x0a, 0x00}, 2);
	pb_free(&b);
}

/* Nested messages: the length is written in front, with two bytes once
 * the contents reach 128 bytes, and nesting works several levels deep. */
static void test_pb_nested(void **state)
{
	(void)state;
	struct pb_buf b;
	pb_init(&b);
	pb_begin(&b, 1);
	pb_begin(&b, 11);
	pb_uint(&b, 9, 1);
	pb_end(&b);
	pb_end(&b);
	assert_bytes(&b, (const uint8_t[]){0x0a, 0x04, 0x5a, 0x02, 0x48, 0x01}, 6);

	pb_reset(&b);
	char big[200];
	memset(big, 'z', sizeof(big));
	pb_begin(&b, 1);
	pb_string(&b, 2, big, sizeof(big)); /* 3 + 200 bytes */
	pb_end(&b);
	assert_int_equal(b.len, 1 + 2 + 3 + 200);
	assert_int_equal(b.data[0], 0x0a);
	assert_int_equal(b.data[1], 0xcb); /* 203 = 0xcb 0x01 */
	assert_int_equal(b.data[2], 0x01);
	assert_int_equal(b.data[3], 0x12);
	assert_int_equal(b.data[4], 0xc8);
	assert_int_equal(b.data[5], 0x01);
	assert_int_equal(b.data[6 + 199], 'z');
	pb_free(&b);
}

/* --- decoding with protoc ------------------------------------------------ */

/* The Perfetto protos folder, or NULL (after a message) when absent. */
static const char *protos_dir(void)
{
	static char dir[512];
	const char *env = getenv("TSTOP_SOURCE_DIR");
	if (env && *env) {
		snprintf(dir, sizeof(dir), "%s", env);
	} else {
		snprintf(dir, sizeof(dir), "%s", __FILE__);
		char *cut = strstr(dir, "/tests/unit/");
		if (!cut)
			fail_msg("cannot find the source directory from %s: set TSTOP_SOURCE_DIR", __FILE__);
		*cut = '\0';
	}
	strncat(dir, "/../shared/testdata/perfetto", sizeof(dir) - strlen(dir) - 1);
	char probe[600];
	snprintf(probe, sizeof(probe), "%s/gpu_extensions_for_merged.proto", dir);
	struct stat st;
	if (stat(probe, &st) != 0) {
		print_message("SKIP: no Perfetto protos at %s (the shared test data is absent)\n", dir);
		return NULL;
	}
	if (system("protoc --version >/dev/null 2>&1") != 0) {
		print_message("SKIP: protoc not found (Debian: protobuf-compiler)\n");
		return NULL;
	}
	return dir;
}

#define MAX_TRACKS 256
#define MAX_FLOWS  (1 << 16)

/* What the checks gather from protoc's text. */
struct decoded {
	size_t unknown;        /* lines naming a field by number */
	uint64_t begins[16];   /* SLICE_BEGIN per category iid */
	uint64_t instants[16]; /* INSTANT per category iid */
	uint64_t ends, counters;
	struct {
		uint64_t uuid;
		int64_t depth;
		uint64_t last_ts;
		uint64_t events;
	} tracks[MAX_TRACKS];
	size_t ntracks;
	uint64_t descriptors;
	char *descriptor_names; /* every TrackDescriptor name, '\n'-separated */
	size_t dn_len;
	uint64_t *flows, *terms;
	size_t nflows, nterms;
	char *names; /* every interned event name, unescaped, '\n'-separated */
	size_t names_len;
	bool bad_order;   /* a track's timestamps went back */
	bool bad_balance; /* an END without BEGIN, or BEGINs left open */
};

/* Appends `n` bytes and a newline to a growing text. */
static void append_line(char **text, size_t *len, const char *p, size_t n)
{
	*text = xrealloc(*text, *len + n + 2);
	memcpy(*text + *len, p, n);
	*len += n;
	(*text)[(*len)++] = '\n';
	(*text)[*len] = '\0';
}

/* Unescapes a protoc text-format string literal ("..." with C escapes) in
 * place; returns its length. */
static size_t unescape(char *s)
{
	char *in = s + 1, *out = s; /* past the opening quote */
	while (*in && *in != '"') {
		if (*in != '\\') {
			*out++ = *in++;
			continue;
		}
		in++;
		if (*in >= '0' && *in <= '7') {
			int v = 0;
			for (int k = 0; k < 3 && *in >= '0' && *in <= '7'; k++)
				v = v * 8 + (*in++ - '0');
			*out++ = (char)v;
			continue;
		}
		switch (*in) {
		case 'n':
			*out++ = '\n';
			break;
		case 't':
			*out++ = '\t';
			break;
		case 'r':
			*out++ = '\r';
			break;
		default:
			*out++ = *in; /* \" \' \\ */
			break;
		}
		in++;
	}
	return (size_t)(out - s);
}

/* The track record of `uuid`, created when new. */
static size_t track_of(struct decoded *d, uint64_t uuid)
{
	for (size_t i = 0; i < d->ntracks; i++)
		if (d->tracks[i].uuid == uuid)
			return i;
	assert_true(d->ntracks < MAX_TRACKS);
	memset(&d->tracks[d->ntracks], 0, sizeof(d->tracks[0]));
	d->tracks[d->ntracks].uuid = uuid;
	return d->ntracks++;
}

/* Writes `s` to a temporary file, decodes it with protoc and gathers what
 * the checks need into `d`. */
static void decode_session(const char *dir, struct trace_session *s, struct decoded *d)
{
	memset(d, 0, sizeof(*d));
	char trace[] = "/tmp/tstop-pf-XXXXXX";
	int fd = mkstemp(trace);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "wb");
	struct err e = {{0}};
	assert_int_equal(export_perfetto_write(s, f, NULL, &e), 0);
	assert_int_equal(fclose(f), 0);
	char cmd[1600];
	snprintf(cmd, sizeof(cmd),
	         "protoc -I '%s' --decode=perfetto.protos.Trace gpu_extensions_for_merged.proto < '%s'", dir,
	         trace);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	d->flows = xcalloc(MAX_FLOWS, sizeof(uint64_t));
	d->terms = xcalloc(MAX_FLOWS, sizeof(uint64_t));

	char *line = NULL;
	size_t cap = 0;
	const char *stack[16];
	int depth = 0;
	/* the track event being read */
	uint64_t ts = 0, uuid = 0, cat = 0;
	int type = 0;
	while (getline(&line, &cap, p) > 0) {
		char *l = line;
		while (*l == ' ')
			l++;
		l[strcspn(l, "\n")] = '\0';
		if (*l >= '0' && *l <= '9') {
			d->unknown++;
			print_message("unknown field: %s\n", l);
		}
		size_t len = strlen(l);
		if (len >= 2 && strcmp(l + len - 2, " {") == 0) {
			l[len - 2] = '\0';
			assert_true(depth < 16);
			stack[depth++] = strcmp(l, "track_event") == 0        ? "te"
			                 : strcmp(l, "event_names") == 0      ? "en"
			                 : strcmp(l, "track_descriptor") == 0 ? "td"
			                 : strcmp(l, "packet") == 0           ? "pk"
			                                                      : "x";
			if (depth == 2 && strcmp(stack[1], "te") == 0)
				uuid = cat = 0, type = 0;
			continue;
		}
		if (strcmp(l, "}") == 0) {
			assert_true(depth > 0);
			depth--;
			if (depth == 1 && strcmp(stack[1], "te") == 0) {
				size_t t = track_of(d, uuid);
				if (type != 4 && ts < d->tracks[t].last_ts)
					d->bad_order = true;
				d->tracks[t].last_ts = ts;
				d->tracks[t].events++;
				if (type == 1) {
					d->tracks[t].depth++;
					d->begins[cat < 16 ? cat : 0]++;
				} else if (type == 2) {
					if (--d->tracks[t].depth < 0)
						d->bad_balance = true;
					d->ends++;
				} else if (type == 3) {
					d->instants[cat < 16 ? cat : 0]++;
				} else if (type == 4) {
					d->counters++;
				}
			}
			if (depth == 1 && strcmp(stack[1], "td") == 0)
				d->descriptors++;
			continue;
		}
		char *colon = strstr(l, ": ");
		if (!colon)
			continue;
		*colon = '\0';
		char *v = colon + 2;
		const char *in = depth ? stack[depth - 1] : "";
		if (depth == 1 && strcmp(l, "timestamp") == 0) {
			ts = strtoull(v, NULL, 10);
		} else if (strcmp(in, "te") == 0 && depth == 2) {
			if (strcmp(l, "type") == 0)
				type = strcmp(v, "TYPE_SLICE_BEGIN") == 0 ? 1
				       : strcmp(v, "TYPE_SLICE_END") == 0 ? 2
				       : strcmp(v, "TYPE_INSTANT") == 0   ? 3
				       : strcmp(v, "TYPE_COUNTER") == 0   ? 4
				                                          : 0;
			else if (strcmp(l, "track_uuid") == 0)
				uuid = strtoull(v, NULL, 10);
			else if (strcmp(l, "category_iids") == 0)
				cat = strtoull(v, NULL, 10);
			else if (strcmp(l, "flow_ids") == 0 && d->nflows < MAX_FLOWS)
				d->flows[d->nflows++] = strtoull(v, NULL, 10);
			else if (strcmp(l, "terminating_flow_ids") == 0 && d->nterms < MAX_FLOWS)
				d->terms[d->nterms++] = strtoull(v, NULL, 10);
		} else if (strcmp(in, "en") == 0 && strcmp(l, "name") == 0) {
			size_t n = unescape(v);
			append_line(&d->names, &d->names_len, v, n);
		} else if (strcmp(in, "td") == 0 && strcmp(l, "name") == 0) {
			size_t n = unescape(v);
			append_line(&d->descriptor_names, &d->dn_len, v, n);
		}
	}
	free(line);
	assert_int_equal(pclose(p), 0);
	unlink(trace);
	for (size_t t = 0; t < d->ntracks; t++)
		if (d->tracks[t].depth != 0)
			d->bad_balance = true;
}

static void decoded_free(struct decoded *d)
{
	free(d->flows);
	free(d->terms);
	free(d->names);
	free(d->descriptor_names);
}

/* True when the interned names hold exactly the line `name` (n bytes). */
static bool has_name(const char *text, size_t text_len, const char *name, size_t n)
{
	for (size_t i = 0; text && i + n < text_len + 1; i++)
		if ((i == 0 || text[i - 1] == '\n') && memcmp(text + i, name, n) == 0 && text[i + n] == '\n')
			return true;
	return false;
}

/* The checks every session must pass: no unknown field, balanced ordered
 * slices, counts per kind equal to the session's, flows for correlated GPU
 * work. Category iids are those of export/perfetto.c. */
static void check_common(struct trace_session *s, const struct decoded *d)
{
	assert_int_equal(d->unknown, 0);
	assert_false(d->bad_balance);
	assert_false(d->bad_order);
	assert_int_equal(d->begins[1], trace_session_kind_count(s, TRACE_KERNEL));
	assert_int_equal(d->begins[2], trace_session_kind_count(s, TRACE_MEMCPY));
	assert_int_equal(d->begins[3], trace_session_kind_count(s, TRACE_MEMSET));
	assert_int_equal(d->begins[4], trace_session_kind_count(s, TRACE_SYNC));
	assert_int_equal(d->begins[5] + d->begins[6] + d->begins[7] + d->begins[8],
	                 trace_session_kind_count(s, TRACE_API));
	assert_int_equal(d->begins[9], trace_session_kind_count(s, TRACE_NVTX_RANGE));
	assert_int_equal(d->begins[12], trace_session_kind_count(s, TRACE_LOST));
	assert_int_equal(d->instants[10], trace_session_kind_count(s, TRACE_NVTX_MARK));
	assert_int_equal(d->instants[11], trace_session_kind_count(s, TRACE_MEM_ALLOC) +
	                                      trace_session_kind_count(s, TRACE_MEM_FREE));
	/* the session's counter samples, and one "memory in use" sample per
	 * allocation or release (pf_write_device_memory) */
	assert_int_equal(d->counters, trace_session_kind_count(s, TRACE_COUNTER) +
	                                  trace_session_kind_count(s, TRACE_MEM_ALLOC) +
	                                  trace_session_kind_count(s, TRACE_MEM_FREE));
	uint64_t slices = 0;
	for (unsigned k = 0; k < 16; k++)
		slices += d->begins[k];
	assert_int_equal(d->ends, slices);

	/* every piece of correlated GPU work ends a flow that an API call starts */
	uint64_t gpu_corr = 0;
	uint32_t nt = trace_session_track_count(s);
	for (uint32_t t = 1; t < nt; t++) {
		size_t n;
		const struct trace_event *evs = trace_session_track_events(s, t, &n);
		for (size_t i = 0; i < n; i++)
			if (evs[i].correlation && evs[i].kind >= TRACE_KERNEL && evs[i].kind <= TRACE_SYNC)
				gpu_corr++;
	}
	assert_true(gpu_corr < MAX_FLOWS);
	assert_int_equal(d->nterms, gpu_corr);
	for (size_t i = 0; i < d->nterms; i++) {
		bool found = false;
		for (size_t j = 0; j < d->nflows && !found; j++)
			found = d->flows[j] == d->terms[i];
		if (!found)
			fail_msg("flow %" PRIu64 " ends on GPU work but no API call starts it", d->terms[i]);
	}
}

/* A synthetic session with every event kind, two processes and devices. */
static void test_export_synth(void **state)
{
	(void)state;
	const char *dir = protos_dir();
	if (!dir)
		skip();
	struct synth_options o;
	synth_options_init(&o);
	o.events = 6000;
	o.processes = 2;
	o.devices = 2;
	struct synth_counts c;
	struct err e = {{0}};
	struct trace_session *s = synth_session(&o, &c, &e);
	assert_non_null(s);
	for (unsigned k = 1; k <= TRACE_KIND_MAX; k++)
		if (k != TRACE_NVTX_MARK || c.kinds[k]) /* every kind present */
			assert_true(c.kinds[k] > 0);
	struct decoded d;
	decode_session(dir, s, &d);
	check_common(s, &d);
	assert_true(d.nterms > 100);
	/* names: demangled kernels, API calls, made-up copy names, track names */
	assert_true(has_name(d.names, d.names_len, "cudaLaunchKernel", 16));
	assert_non_null(strstr(d.names, "Memcpy HtoD"));
	assert_non_null(strstr(d.descriptor_names, "GPU 0 / stream 7"));
	assert_non_null(strstr(d.descriptor_names, "GPU 1"));
	print_message("synth: %" PRIu64 " events, %" PRIu64 " descriptors, %zu flows\n",
	              trace_session_event_count(s), d.descriptors, d.nterms);
	decoded_free(&d);
	trace_session_delete(s);
}

/* An empty session is a valid trace with no events. */
static void test_export_empty(void **state)
{
	(void)state;
	const char *dir = protos_dir();
	if (!dir)
		skip();
	struct trace_session *s = trace_session_new();
	trace_session_finish(s);
	struct decoded d;
	decode_session(dir, s, &d);
	check_common(s, &d);
	assert_int_equal(d.ntracks, 0);
	assert_int_equal(d.descriptors, 0);
	decoded_free(&d);
	trace_session_delete(s);
}

/* Appends an NVTX range or mark to thread track `t`. */
static void add_nvtx(struct trace_session *s, uint32_t t, unsigned kind, int64_t start, int64_t end,
                     const char *name)
{
	struct trace_event ev = {.start = start, .end = end, .track = t, .kind = (uint8_t)kind};
	ev.name = trace_session_intern_cstr(s, name);
	assert_int_equal(trace_session_append(s, &ev), 0);
}

/* NVTX only: nested ranges stay on the thread's track, ranges that start
 * together nest longest first, and a range overlapping another without
 * nesting goes to a child track; marks are instants. */
static void test_export_nvtx_only(void **state)
{
	(void)state;
	const char *dir = protos_dir();
	if (!dir)
		skip();
	struct trace_session *s = trace_session_new();
	struct trace_track_info ti = {.kind = TRACE_TRACK_THREAD, .pid = 10, .tid = 11};
	ti.name = trace_session_intern_cstr(s, "main");
	uint32_t t = trace_session_add_track(s, &ti);
	add_nvtx(s, t, TRACE_NVTX_RANGE, 100, 1000, "step");
	add_nvtx(s, t, TRACE_NVTX_RANGE, 100, 400, "forward"); /* same start, shorter */
	add_nvtx(s, t, TRACE_NVTX_RANGE, 200, 300, "layer");
	add_nvtx(s, t, TRACE_NVTX_RANGE, 350, 700, "async"); /* overlaps forward: a child track */
	add_nvtx(s, t, TRACE_NVTX_RANGE, 400, 400, "empty");
	add_nvtx(s, t, TRACE_NVTX_MARK, 250, 250, "checkpoint");
	add_nvtx(s, t, TRACE_NVTX_RANGE, -50, 10, "before zero"); /* times shift to >= 0 */
	trace_session_finish(s);
	struct decoded d;
	decode_session(dir, s, &d);
	check_common(s, &d);
	assert_int_equal(d.begins[9], 6);
	assert_int_equal(d.instants[10], 1);
	assert_true(has_name(d.names, d.names_len, "checkpoint", 10));
	assert_true(has_name(d.names, d.names_len, "layer", 5));
	assert_true(has_name(d.descriptor_names, d.dn_len, "main (overlap 1)", 16));
	assert_int_equal(d.ntracks, 2); /* the thread and one overlap track */
	decoded_free(&d);
	trace_session_delete(s);
}

/* Names with quotes, backslashes, control characters, NUL and invalid
 * UTF-8 come out as valid UTF-8 with each invalid byte replaced by U+FFFD;
 * a kernel and its launch are linked by a flow. */
static void test_export_odd_names(void **state)
{
	(void)state;
	const char *dir = protos_dir();
	if (!dir)
		skip();
	struct trace_session *s = trace_session_new();
	struct trace_track_info th = {.kind = TRACE_TRACK_THREAD, .pid = 5, .tid = 5};
	th.name = trace_session_intern(s, "th\"r\\d\x01\xff", 8);
	uint32_t t = trace_session_add_track(s, &th);
	struct trace_track_info st = {.kind = TRACE_TRACK_STREAM, .pid = 5, .device = 3, .stream = 9};
	uint32_t g = trace_session_add_track(s, &st);
	struct trace_event api = {.start = 10, .end = 50, .track = t, .correlation = 77, .kind = TRACE_API};
	api.name = trace_session_intern(s, "call\"\\\n\t\x7f\0x", 11);
	api.flags = TRACE_API_CUDA_RUNTIME;
	assert_int_equal(trace_session_append(s, &api), 0);
	struct trace_launch l = {.grid = {4, 2, 1}, .block = {128, 1, 1}, .registers = 32};
	struct trace_event k = {.start = 60, .end = 90, .track = g, .correlation = 77, .kind = TRACE_KERNEL};
	k.name = trace_session_intern(s, "kern\xc3\x28\xe2\x82\xac", 9);
	k.u.kernel.launch = trace_session_add_launch(s, &l);
	assert_int_equal(trace_session_append(s, &k), 0);
	trace_session_finish(s);
	struct decoded d;
	decode_session(dir, s, &d);
	check_common(s, &d);
	assert_int_equal(d.nterms, 1);
	assert_int_equal(d.terms[0], (5ull << 32) | 77);
	assert_true(has_name(d.names, d.names_len, "call\"\\\n\t\x7f\0x", 11));
	/* C3 28 is a lead byte without its continuation: C3 is replaced */
	assert_true(has_name(d.names, d.names_len, "kern\xef\xbf\xbd(\xe2\x82\xac", 11));
	assert_non_null(strstr(d.descriptor_names, "GPU 3 / stream 9"));
	decoded_free(&d);
	trace_session_delete(s);
}

/* A write error (a full device) is reported, not ignored. */
static void test_export_write_error(void **state)
{
	(void)state;
	FILE *f = fopen("/dev/full", "wb");
	if (!f) {
		print_message("SKIP: no /dev/full\n");
		skip();
	}
	struct synth_options o;
	synth_options_init(&o);
	o.events = 2000;
	struct err e = {{0}};
	struct trace_session *s = synth_session(&o, NULL, &e);
	assert_non_null(s);
	assert_int_equal(export_perfetto_write(s, f, NULL, &e), -1);
	assert_non_null(strstr(e.msg, "writing the Perfetto trace"));
	fclose(f);
	trace_session_delete(s);
}

/* Progress reaches the total. */
static void progress_cb(void *arg, uint64_t done, uint64_t total)
{
	uint64_t *last = arg;
	assert_true(done <= total);
	last[0] = done;
	last[1] = total;
}

static void test_export_progress(void **state)
{
	(void)state;
	struct synth_options o;
	synth_options_init(&o);
	o.events = 3000;
	struct err e = {{0}};
	struct trace_session *s = synth_session(&o, NULL, &e);
	FILE *f = fopen("/dev/null", "wb");
	assert_non_null(f);
	uint64_t last[2] = {0, 0};
	struct export_options opts = {.progress = progress_cb, .progress_arg = last};
	assert_int_equal(export_perfetto_write(s, f, &opts, &e), 0);
	assert_int_equal(last[0], trace_session_event_count(s));
	assert_int_equal(last[1], trace_session_event_count(s));
	fclose(f);
	trace_session_delete(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pb_scalars),       cmocka_unit_test(test_pb_strings),
	    cmocka_unit_test(test_pb_nested),        cmocka_unit_test(test_export_synth),
	    cmocka_unit_test(test_export_empty),     cmocka_unit_test(test_export_nvtx_only),
	    cmocka_unit_test(test_export_odd_names), cmocka_unit_test(test_export_write_error),
	    cmocka_unit_test(test_export_progress),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
