/*
 * reattribute.c - `spamtide reattribute`: stored messages attributed again
 * with the knowledge base as it is now; the rollups follow.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attrib/attrib.h"
#include "cmd/cmd.h"
#include "store/store.h"
#include "util/xalloc.h"
#include "util/banned.h"

static const char usage_text[] =
	"usage: spamtide reattribute [--db URL] [--kb DIR] [--from T] [--to T]\n"
	"\n"
	"Attribute stored messages again after the knowledge base changed (a family\n"
	"learned or edited); `report` then reflects it.\n"
	"\n"
	"  --db URL          store (default sqlite:./spamtide.db)\n"
	"  --kb DIR          knowledge base (default ./spamtide.kb)\n"
	"  --from T, --to T  only messages in this period (ISO 8601 UTC)\n"
	"  --help            this text\n";

#define CHUNK 20000   /* rows read, attributed and updated per transaction */

struct change {
	int64_t id;
	const char *family;     /* owned by the kb */
	double confidence;
};

struct re {
	const attrib_kb *kb;
	struct attrib_vector v;
	struct attrib_result r;
	struct change *changes;
	size_t nchanges;
	int64_t last_id, first_ts, last_ts;
	uint64_t seen, changed, unreadable;
};

static bool one(void *ctx, const struct store_row *row)
{
	struct re *re = ctx;

	re->last_id = row->id;
	re->seen++;
	if (!row->features || !attrib_vector_parse(&re->v, row->features, row->features_len)) {
		re->unreadable++;
		return true;
	}
	attrib_vector_add_dialect(&re->v, row->dialect_id, row->dialect);
	attrib_classify(re->kb, &re->v, &re->r);
	if (strcmp(re->r.family, row->family ? row->family : "") != 0 ||
	    re->r.confidence != row->confidence) {
		re->changes[re->nchanges].id = row->id;
		re->changes[re->nchanges].family = re->r.family;
		re->changes[re->nchanges].confidence = re->r.confidence;
		re->nchanges++;
		if (strcmp(re->r.family, row->family ? row->family : "") != 0) {
			re->changed++;
			if (row->ts < re->first_ts)
				re->first_ts = row->ts;
			if (row->ts > re->last_ts)
				re->last_ts = row->ts;
		}
	}
	return true;
}

int cmd_reattribute(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "kb", required_argument, NULL, 'k' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = cmd_default_db, *kbdir = cmd_default_kb;
	int64_t from = INT64_MIN / 2, to = INT64_MAX / 2;
	struct re re = { 0 };
	char err[1024];
	attrib_kb *kb;
	store *st;
	int c, status = CMD_OK;
	size_t i;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'k': kbdir = optarg; break;
		case 'f':
			if (!cmd_parse_time("reattribute", "--from", optarg, &from))
				return CMD_USAGE;
			break;
		case 't':
			if (!cmd_parse_time("reattribute", "--to", optarg, &to))
				return CMD_USAGE;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return CMD_OK;
		default:
			return cmd_option_error("reattribute");
		}
	}
	if (optind < argc)
		return cmd_usage_error("reattribute", "unexpected argument '%s'", argv[optind]);
	kb = attrib_kb_load(kbdir, err, sizeof(err));
	if (!kb)
		return cmd_error("reattribute", "knowledge base: %s", err);
	if (store_open(db, STORE_UPDATE, &st, err, sizeof(err)) != STORE_OK) {
		attrib_kb_free(kb);
		return cmd_error("reattribute", "%s", err);
	}
	re.kb = kb;
	attrib_vector_init(&re.v);
	re.changes = xcalloc(CHUNK, sizeof(*re.changes));
	re.first_ts = INT64_MAX;
	re.last_ts = INT64_MIN;
	for (;;) {
		int64_t before = re.last_id;

		re.nchanges = 0;
		if (store_rows(st, from, to, re.last_id, CHUNK, one, &re, err, sizeof(err)) != STORE_OK) {
			status = cmd_error("reattribute", "%s", err);
			break;
		}
		if (re.last_id == before)
			break;
		for (i = 0; i < re.nchanges && status == CMD_OK; i++)
			if (store_set_family(st, re.changes[i].id, re.changes[i].family,
					     re.changes[i].confidence, err, sizeof(err)) != STORE_OK)
				status = cmd_error("reattribute", "%s", err);
		if (status == CMD_OK && store_commit(st, err, sizeof(err)) != STORE_OK)
			status = cmd_error("reattribute", "%s", err);
		if (status != CMD_OK)
			break;
	}
	/* the rollups of every day that held a change, recounted from the rows */
	if (status == CMD_OK && re.changed) {
		if (store_rebuild_rollups(st, re.first_ts, re.last_ts + 1, err, sizeof(err)) != STORE_OK ||
		    store_commit(st, err, sizeof(err)) != STORE_OK)
			status = cmd_error("reattribute", "%s", err);
	}
	if (status == CMD_OK)
		printf("reattribute: %llu messages, %llu changed family%s\n",
		       (unsigned long long)re.seen, (unsigned long long)re.changed,
		       re.unreadable ? " (some stored without features were left as they are)" : "");
	free(re.changes);
	attrib_vector_free(&re.v);
	store_close(st);
	attrib_kb_free(kb);
	return status;
}
