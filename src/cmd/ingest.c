/*
 * ingest.c - `spamtide ingest`: files and directories into the store.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/progress.h"
#include "mail/features.h"
#include "pipeline/pipeline.h"
#include "source/source.h"
#include "store/store.h"
#include "util/ip.h"
#include "util/xalloc.h"
#include "util/banned.h"

static const char usage_text[] =
	"usage: spamtide ingest [OPTIONS] FILE/DIR...\n"
	"\n"
	"Read mbox files, Maildirs, .eml files and directories of them (format\n"
	"detected), attribute each message and store it. A message already stored\n"
	"(the same bytes) is not counted twice.\n"
	"\n"
	"  --db URL          store (default sqlite:./spamtide.db)\n"
	"  --kb DIR          knowledge base of learned families (default ./spamtide.kb)\n"
	"  --sensor NAME     sensor name stored with each message (default 'default')\n"
	"  --trusted CIDR    the operator's own relays: skipped when finding the\n"
	"                    client in Received: lines (repeatable)\n"
	"  --smtp-ports LIST ports of SMTP sessions in captures (default 25,587,2525)\n"
	"  --limit NAME=VAL  override a limit ('--limit help' lists them)\n"
	"  --quiet           no progress display\n"
	"  --help            this text\n"
	"\n"
	"Exit status: 0 all stored; 1 the store failed; 2 usage; 3 some input could\n"
	"not be stored (each reported on stderr with file and position).\n";

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

int cmd_ingest(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "kb", required_argument, NULL, 'k' },
		{ "sensor", required_argument, NULL, 's' },
		{ "trusted", required_argument, NULL, 't' },
		{ "smtp-ports", required_argument, NULL, 'p' },
		{ "limit", required_argument, NULL, 'l' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = cmd_default_db, *sensor = "default";
	struct source_options sopt = { 0 };
	struct ip_cidr *trusted = NULL;
	size_t ntrusted = 0;
	bool quiet = false;
	int c, i, status = CMD_OK;
	char err[1024];
	store *st = NULL;
	pipeline *pl = NULL;
	struct progress prog;
	struct buf serr = BUF_INIT, srcname = BUF_INIT;
	uint64_t stored = 0, dups = 0, fallbacks = 0, skipped = 0, total_bytes = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'k': break;   /* knowledge base: used once attribution lands */
		case 's': sensor = optarg; break;
		case 't':
			trusted = xreallocarray(trusted, ntrusted + 1, sizeof(*trusted));
			if (!ip_cidr_parse(optarg, &trusted[ntrusted])) {
				free(trusted);
				return cmd_usage_error("ingest", "--trusted '%s': not an address range "
						       "such as 192.0.2.0/24", optarg);
			}
			ntrusted++;
			break;
		case 'p': sopt.smtp_ports = optarg; break;
		case 'l':
			if (!cmd_apply_limit("ingest", optarg)) {
				free(trusted);
				return CMD_USAGE;
			}
			break;
		case 'q': quiet = true; break;
		case 'h':
			fputs(usage_text, stdout);
			free(trusted);
			return CMD_OK;
		default:
			free(trusted);
			return cmd_usage_error("ingest", "unknown option");
		}
	}
	if (optind >= argc) {
		free(trusted);
		return cmd_usage_error("ingest", "no files given");
	}

	if (store_open(db, STORE_WRITE, &st, err, sizeof(err)) != STORE_OK) {
		free(trusted);
		return cmd_error("ingest", "%s", err);
	}
	mail_init();
	{
		struct pipeline_options popt = { .sensor = sensor, .kb = NULL };

		pl = pipeline_new(st, &popt);
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (!quiet)
		for (i = optind; i < argc; i++)
			total_bytes += source_size_estimate(argv[i]);
	progress_start(&prog, !quiet && isatty(STDERR_FILENO), total_bytes);

	for (i = optind; i < argc && status == CMD_OK && !interrupted; i++) {
		source *src = source_open(argv[i], &sopt);
		struct source_item item;
		enum source_status ss;
		uint64_t before = prog.bytes;

		while (!interrupted && (ss = source_next(src, &item, &serr)) != SOURCE_END) {
			struct pipeline_message m;
			struct pipeline_result res;
			enum pipeline_status ps;

			progress_update(&prog, before + source_bytes_read(src), stored);
			if (ss == SOURCE_SKIP) {
				progress_clear(&prog);
				fprintf(stderr, "spamtide ingest: %s\n", serr.data);
				skipped++;
				continue;
			}
			item.ctx.trusted = trusted;
			item.ctx.ntrusted = ntrusted;
			buf_reset(&srcname);
			buf_printf(&srcname, "%s#%lu", item.path, item.index);
			memset(&m, 0, sizeof(m));
			m.raw = item.raw;
			m.len = item.len;
			m.source = srcname.data;
			m.ctx = &item.ctx;
			m.session = item.session;
			m.dedup = true;
			ps = pipeline_push(pl, &m, &res, err, sizeof(err));
			switch (ps) {
			case PIPELINE_OK:
				stored++;
				if (res.warnings)
					fallbacks++;
				break;
			case PIPELINE_DUPLICATE:
				dups++;
				break;
			case PIPELINE_NOT_MAIL:
				progress_clear(&prog);
				fprintf(stderr, "spamtide ingest: %s: message %lu at byte %llu: not a "
					"mail message (no header fields); skipped\n", item.path,
					item.index, (unsigned long long)item.offset);
				skipped++;
				break;
			case PIPELINE_STORE_FAILED:
				progress_clear(&prog);
				status = cmd_error("ingest", "%s", err);
				break;
			}
			if (status != CMD_OK)
				break;
		}
		prog.bytes = before + source_bytes_read(src);
		source_close(src);
	}
	if (status == CMD_OK && pipeline_commit(pl, err, sizeof(err)) != PIPELINE_OK)
		status = cmd_error("ingest", "%s", err);
	progress_finish(&prog);
	if (status != CMD_OK)
		stored = pipeline_committed(pl);    /* the failed batch was not stored */
	printf("ingest: %llu stored, %llu duplicates, %llu stored with fallbacks, %llu skipped "
	       "(%.1f s, %.0f messages/s, %.1f MB/s)%s\n",
	       (unsigned long long)stored, (unsigned long long)dups,
	       (unsigned long long)fallbacks, (unsigned long long)skipped, progress_elapsed(&prog),
	       progress_elapsed(&prog) > 0 ? (stored + dups) / progress_elapsed(&prog) : 0.0,
	       progress_elapsed(&prog) > 0 ? prog.bytes / 1e6 / progress_elapsed(&prog) : 0.0,
	       interrupted ? " - interrupted" : "");
	pipeline_free(pl);
	store_close(st);
	mail_shutdown();
	buf_free(&serr);
	buf_free(&srcname);
	free(trusted);
	if (status != CMD_OK)
		return status;
	if (interrupted)
		return CMD_FAIL;
	return skipped ? CMD_PARTIAL : CMD_OK;
}
