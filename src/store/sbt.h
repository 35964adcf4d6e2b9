/*
 * sbt.h - SBT v1, tstop's binary trace file: writer and reader.
 *
 * An SBT file is the capture log of a session: a header, then self-delimiting
 * checksummed chunks (strings, stacks, topology, attribute tables, metadata,
 * events, lost-event totals), then a footer index for random access. The
 * byte-level specification is docs/sbt-format.md; this header is the API.
 *
 * Writing streams with bounded memory: definitions and events are buffered
 * per chunk kind and written as whole chunks, definitions always before the
 * first event chunk that refers to them. A file cut off at any byte (tstop
 * killed, disk full) still opens with every whole chunk before the cut.
 *
 * Reading trusts nothing in the file: every length and count is checked
 * against the bytes that are there before anything is allocated or read, a
 * chunk whose checksum fails is skipped and reported, references to ids a
 * file never defined drop the record that holds them, and a file of an
 * unknown major version or not an SBT file at all is refused.
 */
#ifndef TSTOP_STORE_SBT_H
#define TSTOP_STORE_SBT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trace/session.h"
#include "util/err.h"

#define SBT_VERSION_MAJOR 1
#define SBT_VERSION_MINOR 0

/* --- writer ------------------------------------------------------------------ */

struct sbt_writer;

struct sbt_writer_options {
	int zstd_level;     /* 0: no compression; 1..19: zstd level per chunk */
	size_t chunk_bytes; /* raw payload size that closes an event chunk; 0: default (256 KiB) */
};

/* Creates (or truncates) `path` and writes the file header. Returns NULL and
 * fills `e` on failure. `opts` may be NULL for defaults. The caller closes the
 * writer with sbt_writer_close(). */
struct sbt_writer *sbt_writer_open(const char *path, const struct sbt_writer_options *opts, struct err *e);

/* The definition calls below record a table entry under the id the session
 * gave it. Ids of one table must be defined in increasing order, each once
 * and without gaps (1, 2, 3 ...), before the first event that uses them is
 * appended (the session's own ids satisfy this when entries are written as
 * they are created). They return 0, or -1 with `e` filled: on a bad argument
 * (an id out of order, a record over 32 MiB), after which the writer goes
 * on, or on an I/O error, after which it only accepts sbt_writer_close(). */
int sbt_writer_string(struct sbt_writer *w, uint32_t id, const char *bytes, size_t len, struct err *e);
int sbt_writer_frame(struct sbt_writer *w, uint32_t id, const struct trace_frame *f, struct err *e);
int sbt_writer_stack(struct sbt_writer *w, uint32_t id, const uint32_t *frames, uint32_t n, struct err *e);
int sbt_writer_track(struct sbt_writer *w, uint32_t id, const struct trace_track_info *t, struct err *e);
int sbt_writer_launch(struct sbt_writer *w, uint32_t id, const struct trace_launch *l, struct err *e);
int sbt_writer_nvtx_attr(struct sbt_writer *w, uint32_t id, const struct trace_nvtx_attr *a, struct err *e);
int sbt_writer_memop(struct sbt_writer *w, uint32_t id, const struct trace_memop *m, struct err *e);

/* Records a process, device, metadata pair or lost-event total. A later
 * record with the same key (pid, device id, meta key, (pid, source))
 * replaces an earlier one when the file is read. */
int sbt_writer_process(struct sbt_writer *w, const struct trace_process *p, struct err *e);
int sbt_writer_device(struct sbt_writer *w, const struct trace_device *d, struct err *e);
int sbt_writer_meta(struct sbt_writer *w, const char *key, const char *value, struct err *e);
int sbt_writer_loss(struct sbt_writer *w, const struct trace_loss *l, struct err *e);

/* Appends one event. Amortized O(1); writes a chunk when the buffer fills. */
int sbt_writer_append(struct sbt_writer *w, const struct trace_event *ev, struct err *e);

/* Writes every buffered definition and event as chunks (so that a crash
 * after this loses nothing appended before it). */
int sbt_writer_flush(struct sbt_writer *w, struct err *e);

/* Flushes, writes the footer index and closes the file. Frees `w` in every
 * case; returns -1 with `e` filled when anything could not be written. */
int sbt_writer_close(struct sbt_writer *w, struct err *e);

/* Bytes written to the file so far. */
uint64_t sbt_writer_bytes(const struct sbt_writer *w);

/* Writes the whole session `s` to `path` (strings, stacks, tables, events of
 * every track, in track order). */
int sbt_write_session(const char *path, const struct trace_session *s, const struct sbt_writer_options *opts,
                      struct err *e);

/* --- reader ------------------------------------------------------------------ */

/* What reading a file found, for `tstop info` and for warnings. */
struct sbt_read_report {
	uint16_t version_major, version_minor;
	uint64_t file_bytes;
	uint64_t chunks; /* whole chunks read */
	uint64_t chunks_compressed;
	uint64_t chunks_skipped;  /* bad checksum, bad contents, or unknown type; also each run of
				     * bytes with no valid chunk header (see bytes_skipped) */
	uint64_t chunks_unknown;  /* of those: unknown chunk types (newer minor version) */
	uint64_t records_dropped; /* records referring to undefined ids or malformed */
	uint64_t events;          /* events loaded */
	bool has_index;           /* the footer index was present and valid */
	bool truncated;           /* the file ends inside a chunk or lacks its footer */
	uint64_t truncated_at;    /* offset of the first byte not used when truncated */
	char first_problem[160];  /* first skipped chunk or dropped record, "" if none */
	uint64_t bytes_skipped;   /* bytes passed over while looking for a valid chunk header */
};

/* Largest input sbt_load() reads from something that is not a regular file
 * (a pipe, a terminal, a character device, a procfs file): such input cannot
 * be mapped and is copied into memory, so it is capped. Regular files of any
 * size are mapped instead. */
#define SBT_MAX_STREAM_BYTES ((uint64_t)4 << 30)

/* Loads the SBT file at `path` into `s` (which should be empty) and calls
 * trace_session_finish(). Returns 0 when the file was an SBT file of a known
 * major version (even if damaged: see the report), or -1 with `e` filled when
 * it cannot be opened, is a directory, is not an SBT file, has an unknown
 * major version, or is non-regular input longer than SBT_MAX_STREAM_BYTES
 * (or than half the RLIMIT_AS soft limit, when that is lower). Non-regular
 * input is refused as soon as its first 16 bytes are not an SBT header.
 * `rep` may be NULL. On failure `s` is left unchanged. */
int sbt_load(const char *path, struct trace_session *s, struct sbt_read_report *rep, struct err *e);

/* Same as sbt_load, over the open descriptor `fd` (which stays the caller's
 * and open), with `name` prefixing messages, and `max_stream` bytes as the
 * cap on input that is not a regular file. A regular file is mapped whole
 * from offset 0; other input is read from its current position. */
int sbt_load_fd(int fd, const char *name, uint64_t max_stream, struct trace_session *s,
                struct sbt_read_report *rep, struct err *e);

/* Same as sbt_load, over `len` bytes in memory (the fuzz target uses this). */
int sbt_load_buffer(const void *buf, size_t len, struct trace_session *s, struct sbt_read_report *rep,
                    struct err *e);

/* True when the first bytes of a file (at least 8) are SBT's magic. */
bool sbt_is_sbt(const void *head, size_t len);

#endif
