/*
 * synth_main.c - tstop-synth, the developer tool that writes a synthetic
 * session (tests/support/synth.h) to an SBT file.
 *
 * For tests and benchmarks only: the file it writes is marked synthetic and
 * every tstop command says so. It streams events into the writer, so a
 * 10-million-event file takes no more memory than a small one. On success it
 * prints what it generated, one "key value" pair per line, for scripts.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sbt.h"
#include "synth.h"

static const char synth_usage[] =
    "Usage: tstop-synth -o FILE.sbt [OPTION]...\n"
    "Write a synthetic GPU session (generated, not captured) for tests and benchmarks.\n"
    "\n"
    "  -o, --output FILE      the SBT file to write (required)\n"
    "  -n, --events N         target event count (default 10000)\n"
    "      --seed N           pseudo-random seed (default 1)\n"
    "      --processes N      processes (default 1)\n"
    "      --threads N        host threads per process (default 2)\n"
    "      --devices N        GPUs (default 1)\n"
    "      --streams N        streams per process (default 3)\n"
    "      --zstd LEVEL       compress chunks with zstd at LEVEL (1-19; default none)\n"
    "  -q, --quiet            print nothing on success\n"
    "  -h, --help             show this help\n"
    "\n"
    "On success prints \"events N\", then one line per event kind, \"lost_total N\" and\n"
    "\"bytes N\" (the file size).\n";

/* Parses a decimal unsigned number in [min, max] into *out; returns 0 or -1. */
static int synth_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Reports a usage error and returns the usage-error exit status. */
static int synth_usage_error(const char *msg, const char *arg)
{
	fprintf(stderr, "tstop-synth: %s%s%s\nTry 'tstop-synth --help'.\n", msg, arg ? ": " : "",
	        arg ? arg : "");
	return 2;
}

/* Parses the options, streams the synthetic session into the file and reports its counts. */
int main(int argc, char **argv)
{
	enum { OPT_SEED = 256, OPT_PROCESSES, OPT_THREADS, OPT_DEVICES, OPT_STREAMS, OPT_ZSTD };
	static const struct option longopts[] = {
	    {"output", required_argument, NULL, 'o'},
	    {"events", required_argument, NULL, 'n'},
	    {"seed", required_argument, NULL, OPT_SEED},
	    {"processes", required_argument, NULL, OPT_PROCESSES},
	    {"threads", required_argument, NULL, OPT_THREADS},
	    {"devices", required_argument, NULL, OPT_DEVICES},
	    {"streams", required_argument, NULL, OPT_STREAMS},
	    {"zstd", required_argument, NULL, OPT_ZSTD},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct synth_options opts;
	struct sbt_writer_options wopts = {0};
	const char *path = NULL;
	int quiet = 0;
	uint64_t v;

	synth_options_init(&opts);
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":o:n:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			path = optarg;
			break;
		case 'n':
			if (synth_parse_u64(optarg, 0, UINT64_MAX / 2, &opts.events))
				return synth_usage_error("bad event count", optarg);
			break;
		case OPT_SEED:
			if (synth_parse_u64(optarg, 0, UINT64_MAX, &opts.seed))
				return synth_usage_error("bad seed", optarg);
			break;
		case OPT_PROCESSES:
			if (synth_parse_u64(optarg, 1, SYNTH_MAX_PROCESSES, &v))
				return synth_usage_error("processes must be 1 to 64", optarg);
			opts.processes = (uint32_t)v;
			break;
		case OPT_THREADS:
			if (synth_parse_u64(optarg, 1, SYNTH_MAX_THREADS, &v))
				return synth_usage_error("threads must be 1 to 64", optarg);
			opts.threads = (uint32_t)v;
			break;
		case OPT_DEVICES:
			if (synth_parse_u64(optarg, 1, SYNTH_MAX_DEVICES, &v))
				return synth_usage_error("devices must be 1 to 16", optarg);
			opts.devices = (uint32_t)v;
			break;
		case OPT_STREAMS:
			if (synth_parse_u64(optarg, 1, SYNTH_MAX_STREAMS, &v))
				return synth_usage_error("streams must be 1 to 32", optarg);
			opts.streams = (uint32_t)v;
			break;
		case OPT_ZSTD:
			if (synth_parse_u64(optarg, 1, 19, &v))
				return synth_usage_error("zstd level must be 1 to 19", optarg);
			wopts.zstd_level = (int)v;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'h':
			fputs(synth_usage, stdout);
			return 0;
		case ':':
			return synth_usage_error("option needs a value", argv[optind - 1]);
		default:
			return synth_usage_error("unknown option", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return synth_usage_error("unexpected argument", argv[optind]);
	if (!path)
		return synth_usage_error("no output file (-o FILE)", NULL);

	struct err e = {{0}};
	struct synth_counts counts;
	struct sbt_writer *w = sbt_writer_open(path, &wopts, &e);
	if (!w) {
		fprintf(stderr, "tstop-synth: %s\n", e.msg);
		return 1;
	}
	int rc = synth_stream(w, &opts, &counts, &e);
	uint64_t bytes = 0;
	if (rc) {
		struct err ignored;
		sbt_writer_close(w, &ignored);
	} else {
		rc = sbt_writer_close(w, &e);
	}
	if (rc) {
		fprintf(stderr, "tstop-synth: %s\n", e.msg);
		return 1;
	}
	FILE *f = fopen(path, "rb");
	if (f && fseek(f, 0, SEEK_END) == 0) {
		long n = ftell(f);
		bytes = n > 0 ? (uint64_t)n : 0;
	}
	if (f)
		fclose(f);
	/* The size comes from the file, so that it includes the footer. */
	if (!quiet) {
		printf("events %" PRIu64 "\n", counts.events);
		for (unsigned k = 1; k <= TRACE_KIND_MAX; k++)
			printf("%s %" PRIu64 "\n", trace_kind_name(k), counts.kinds[k]);
		printf("lost_total %" PRIu64 "\n", counts.lost);
		printf("bytes %" PRIu64 "\n", bytes);
	}
	return 0;
}
