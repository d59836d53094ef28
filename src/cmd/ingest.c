/*
 * ingest.c - `spamtide ingest`: files and directories into the store.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attrib/attrib.h"
#include "cmd/cmd.h"
#include "cmd/inputs.h"
#include "cmd/supervise.h"
#include "mail/features.h"
#include "pipeline/pipeline.h"
#include "pipeline/workers.h"
#include "store/store.h"
#include "util/banned.h"

static const char usage_text[] =
	"usage: spamtide ingest [OPTIONS] FILE/DIR...\n"
	"\n"
	"Read mbox files, Maildirs, .eml files, pcap/pcapng captures of SMTP\n"
	"sessions and directories of them (format detected), attribute each message\n"
	"and store it. A message already stored (the same bytes received at the same\n"
	"time) is not counted twice.\n"
	"\n"
	"  --db URL          store (default sqlite:./spamtide.db)\n"
	"  --kb DIR          knowledge base of learned families (default ./spamtide.kb)\n"
	"  --sensor NAME     sensor name stored with each message (default 'default')\n"
	"  --trusted CIDR    the operator's own relays: skipped when finding the\n"
	"                    client in Received: lines (repeatable)\n"
	"  --smtp-ports LIST ports of SMTP sessions in captures (default 25,587,2525)\n"
	"  --limit NAME=VAL  override a limit ('--limit help' lists them)\n"
	"  --quiet           no progress display\n"
	"  --jobs N          threads that parse and attribute (default: the processors\n"
	"                    it may use); messages are stored in the input's order\n"
	"  --help            this text\n"
	"\n"
	"A message that crashes the parser does not end the run: the reading starts\n"
	"again without it, and it is stored from its size alone (unparsed). A crash\n"
	"between messages (splitting an mbox, reassembling a capture) that comes back\n"
	"at the same place leaves the rest of that file, said with the last message\n"
	"stored; the other files are read.\n"
	"\n"
	"Exit status: 0 all stored; 1 the store failed; 2 usage; 3 some input could\n"
	"not be stored, or was stored unparsed (each reported on stderr with file\n"
	"and position).\n";

struct ingest {
	struct inputs in;
	pipeline *pl;
	workers *workers;          /* several threads, or NULL */
	struct supervised *sv;     /* what the supervising process shares, or NULL */
	uint64_t unparsed;         /* stored from their size alone */
	int status;
	char err[1024];
};

/* what became of one message; false stops the run (the store failed) */
static bool settle(struct ingest *g, const struct source_item *item, enum pipeline_status st)
{
	switch (st) {
	case PIPELINE_OK:
	case PIPELINE_DUPLICATE:
		return true;
	case PIPELINE_NOT_MAIL:
		inputs_note(&g->in, "%s: message %lu at byte %llu: not a mail message (no header "
			    "fields); skipped", item->path, item->index,
			    (unsigned long long)item->offset);
		g->in.skipped++;
		return true;
	case PIPELINE_STORE_FAILED:
		break;
	}
	progress_clear(&g->in.prog);
	g->status = cmd_error("ingest", "%s", g->err);
	return false;
}

/* ---- one thread ---- */

static bool one(void *ctx, const struct source_item *item, const char *name)
{
	struct ingest *g = ctx;
	struct pipeline_message m;
	struct pipeline_result res;
	enum pipeline_status st;

	source_item_message(item, name, true, &m);
	if (supervised_skip(g->sv, name)) {
		inputs_note(&g->in, "%s: message %lu at byte %llu: the parser died on it; stored "
			    "unparsed", item->path, item->index, (unsigned long long)item->offset);
		g->unparsed++;
		return settle(g, item, pipeline_add_row(g->pl, pipeline_row_unparsed(g->pl, &m),
							g->err, sizeof(g->err)));
	}
	inflight_begin(g->sv ? &g->sv->inflight : NULL, 0, name);
	st = pipeline_push(g->pl, &m, &res, g->err, sizeof(g->err));
	inflight_end(g->sv ? &g->sv->inflight : NULL, 0);
	return settle(g, item, st);
}

/* ---- several: features, attribution and rows on the workers, stored in order ---- */

static bool emit(void *ctx, const struct source_item *item, const char *name, enum pipeline_status st,
		 const struct buf *out, struct pipeline_row *row)
{
	struct ingest *g = ctx;

	(void)name;
	(void)out;
	if (row)
		st = pipeline_add_row(g->pl, row, g->err, sizeof(g->err));
	return settle(g, item, st);
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
		{ "jobs", required_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = cmd_default_db, *kbdir = cmd_default_kb, *sensor = "default";
	struct ingest g = { .in = { .cmd = "ingest", .progress = true }, .status = CMD_OK };
	struct pipeline_options popt = { 0 };
	store *st = NULL;
	attrib_kb *kb;
	size_t jobs = 0;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'k': kbdir = optarg; break;
		case 's':
			if (!cmd_valid_name(optarg)) {
				inputs_free(&g.in);
				return cmd_usage_error("ingest", "--sensor '%s': use letters, digits, "
						       "'.', '_' and '-' (at most 64)", optarg);
			}
			sensor = optarg;
			break;
		case 'q': g.in.progress = false; break;
		case 'j':
			if (!cmd_parse_jobs("ingest", optarg, &jobs)) {
				inputs_free(&g.in);
				return CMD_USAGE;
			}
			break;
		case 'h':
			fputs(usage_text, stdout);
			inputs_free(&g.in);
			return CMD_OK;
		default:
			if (!inputs_option(&g.in, c, optarg)) {
				inputs_free(&g.in);
				return CMD_USAGE;
			}
		}
	}
	if (optind >= argc) {
		inputs_free(&g.in);
		return cmd_usage_error("ingest", "no files given");
	}
	static const struct supervise_options sup = {
		.note = "what was stored is kept (read again, it counts as duplicates)",
	};

	if (!supervise("ingest", &sup, &g.sv, &c)) {
		inputs_free(&g.in);     /* the parent: the children did the work */
		return c;
	}
	inputs_supervised(&g.in, g.sv);
	if (g.sv && g.sv->one_thread)
		jobs = 1;
	kb = attrib_kb_load(kbdir, g.err, sizeof(g.err));
	if (!kb) {
		inputs_free(&g.in);
		return cmd_error("ingest", "knowledge base: %s", g.err);
	}
	if (store_open(db, STORE_WRITE, &st, g.err, sizeof(g.err)) != STORE_OK) {
		attrib_kb_free(kb);
		inputs_free(&g.in);
		return cmd_error("ingest", "%s", g.err);
	}
	mail_init();
	popt.sensor = sensor;
	popt.kb = kb;
	popt.store_thread = true;   /* SQLite's work beside the next messages' */
	g.pl = pipeline_new(st, &popt);
	if (jobs == 0)
		jobs = workers_count();
	if (jobs > 1) {
		struct pipeline_options wopt = popt;
		struct workers_config wc = {
			.n = jobs, .popt = &wopt, .rows = true, .dedup = true, .emit = emit,
			.note = inputs_skipped, .note_ctx = &g.in, .ctx = &g,
			.inflight = g.sv ? &g.sv->inflight : NULL,
		};

		wopt.store_thread = false;   /* the workers make rows; g.pl stores them */
		g.workers = workers_new(&wc);
	}
	g.in.workers = g.workers;   /* with them, the walk hands them the messages */
	inputs_walk(&g.in, argv + optind, argc - optind, one, &g);
	if (g.workers) {
		if (g.status == CMD_OK)
			workers_finish(g.workers);
		workers_free(g.workers);
	}
	if (g.status == CMD_OK && pipeline_commit(g.pl, g.err, sizeof(g.err)) != PIPELINE_OK)
		g.status = cmd_error("ingest", "%s", g.err);
	{
		double el = progress_elapsed(&g.in.prog);
		struct pipeline_counts n;

		pipeline_counts(g.pl, &n);   /* a failed batch is not in them */
		printf("ingest: %llu stored, %llu duplicates, %llu stored with fallbacks, %llu skipped, "
		       "%llu stored unparsed (%.1f s, %.0f messages/s, %.1f MB/s)%s\n",
		       (unsigned long long)n.committed, (unsigned long long)n.duplicates,
		       (unsigned long long)n.fallbacks, (unsigned long long)g.in.skipped,
		       (unsigned long long)g.unparsed, el,
		       el > 0 ? (n.committed + n.duplicates) / el : 0.0,
		       el > 0 ? g.in.prog.bytes / 1e6 / el : 0.0,
		       inputs_interrupted() ? " - interrupted" : "");
	}
	pipeline_free(g.pl);
	store_close(st);
	attrib_kb_free(kb);
	mail_shutdown();
	inputs_free(&g.in);
	if (g.status != CMD_OK)
		return g.status;
	if (inputs_interrupted())
		return CMD_FAIL;
	return g.in.skipped || g.unparsed ? CMD_PARTIAL : CMD_OK;
}
