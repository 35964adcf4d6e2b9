/*
 * meta.h - the session metadata keys every source and reader agrees on.
 *
 * A session's metadata is a list of text key/value pairs (session.h). These
 * are the keys tstop itself writes and reads; a source may add others, which
 * readers show as they are. Values are UTF-8 text.
 */
#ifndef TSTOP_TRACE_META_H
#define TSTOP_TRACE_META_H

/* The command line that was captured, arguments separated by spaces. */
#define TRACE_META_COMMAND "command"
/* Host name of the machine the capture ran on. */
#define TRACE_META_HOST "host"
/* Wall-clock time of the start of the capture: Unix time in nanoseconds, in
 * decimal. */
#define TRACE_META_START_TIME "start_time_ns"
/* Version of tstop that wrote the session ("0.1.0"). */
#define TRACE_META_VERSION "tstop_version"
/* Capture options as given on the command line. */
#define TRACE_META_CAPTURE_OPTIONS "capture_options"
/* "1" when the session was generated (tests/support/synth.c), not
 * captured; readers must say so wherever they describe the session. */
#define TRACE_META_SYNTHETIC "synthetic"

#endif
