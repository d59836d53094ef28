/*
 * classify.c - `spamtide classify`: attribute messages, store nothing.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attrib/attrib.h"
#include "cmd/cmd.h"
#include "cmd/inputs.h"
#include "cmd/truth.h"
#include "render/render.h"
#include "util/buf.h"
#include "mail/features.h"
#include "pipeline/pipeline.h"
#include "util/timeutil.h"
#include "util/banned.h"

static const char usage_text[] =
	"usage: spamtide classify [OPTIONS] FILE/DIR...\n"
	"\n"
	"Attribute each message to a botnet family and print family, confidence,\n"
	"campaign and evidence; stores nothing. A message no family claims well\n"
	"enough is 'unknown'.\n"
	"\n"
	"  --kb DIR          knowledge base of learned families (default ./spamtide.kb)\n"
	"  --format F        text (default) or json (JSON Lines, one object per message)\n"
	"  --truth FILE      lines KEY<TAB>family (KEY a Message-ID or a source FILE#N):\n"
	"                    print per-family precision, recall and the confusion matrix\n"
	"                    instead of the messages\n"
	"  --trusted CIDR    your own relays, skipped when finding the client (repeatable)\n"
	"  --smtp-ports LIST ports of SMTP sessions in captures (default 25,587,2525)\n"
	"  --limit NAME=VAL  override a limit ('--limit help' lists them)\n"
	"  --help            this text\n";

struct classify {
	struct inputs in;
	pipeline *pl;
	bool json;
	struct truth *truth;
	uint64_t messages;
	int status;
	char err[512];
	json_t *line;              /* the JSON line's object, reused */
	struct buf text;           /* and its text */
};

static json_t *str_or_null(const char *s)
{
	json_t *j;

	if (!s)
		return json_null();
	j = json_string(s);
	if (!j) {
		/* not UTF-8: keep what can be shown */
		char *copy = strdup(s);

		for (char *c = copy; *c; c++)
			if ((unsigned char)*c >= 0x80)
				*c = '?';
		j = json_string(copy);
		free(copy);
	}
	return j ? j : json_null();
}

/*
 * One object serves every line: its keys stay, each message replaces the
 * values, and the line is written into a buffer kept between messages
 * (json_dumps would grow a fresh one and copy it per message).
 */
static void print_json(struct classify *c, const char *name, const struct pipeline_result *r)
{
	const struct mail_features *f = r->features;
	json_t *o, *ev;
	char ts[TIME_ISO_LEN];
	size_t i;

	if (!c->line)
		c->line = json_object();
	o = c->line;
	ev = json_array();
	json_object_set_new(o, "source", str_or_null(name));
	json_object_set_new(o, "message_id", str_or_null(f->message_id));
	json_object_set_new(o, "ts", f->ts_source == MAIL_TS_NONE ? json_null()
				     : json_string(time_format_iso(f->ts, ts)));
	json_object_set_new(o, "client_ip", str_or_null(f->client_ip));
	json_object_set_new(o, "family", json_string(r->family));
	json_object_set_new(o, "confidence", json_real(r->confidence));
	json_object_set_new(o, "campaign", str_or_null(r->campaign));
	json_object_set_new(o, "encrypted", json_boolean(r->encrypted));
	for (i = 0; i < r->attribution->nevidence; i++)
		json_array_append_new(ev, str_or_null(r->attribution->evidence[i]));
	json_object_set_new(o, "evidence", ev);
	if (render_json_value(stdout, o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(4),
			      &c->text) == 0)
		fputc('\n', stdout);
}

static void print_text(const char *name, const struct pipeline_result *r)
{
	const struct mail_features *f = r->features;

	printf("%s\t%s\t%.2f\t%s\t%s\n", name, r->family, r->confidence,
	       r->campaign ? r->campaign : "-", f->message_id ? f->message_id : "-");
	if (r->attribution->nevidence)
		printf("\t%s\n", r->attribution->evidence[0]);
}

static bool one(void *ctx, const struct source_item *item, const char *name)
{
	struct classify *c = ctx;
	struct pipeline_message m = { 0 };
	struct pipeline_result res;

	m.raw = item->raw;
	m.len = item->len;
	m.source = name;
	m.ctx = &item->ctx;
	m.session = item->session;
	if (pipeline_push(c->pl, &m, &res, c->err, sizeof(c->err)) == PIPELINE_NOT_MAIL) {
		inputs_note(&c->in, "%s: not a mail message (no header fields); skipped", name);
		c->in.skipped++;
		return true;
	}
	c->messages++;
	if (c->truth)
		truth_record(c->truth, name, res.features->message_id, res.family);
	else if (c->json)
		print_json(c, name, &res);
	else
		print_text(name, &res);
	return !ferror(stdout);
}

int cmd_classify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "kb", required_argument, NULL, 'k' },
		{ "format", required_argument, NULL, 'f' },
		{ "truth", required_argument, NULL, 'T' },
		{ "trusted", required_argument, NULL, 't' },
		{ "smtp-ports", required_argument, NULL, 'p' },
		{ "limit", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct classify c = { .in = { .cmd = "classify", .progress = false }, .status = CMD_OK,
			     .text = BUF_INIT };
	const char *kbdir = cmd_default_kb, *truth_path = NULL;
	struct pipeline_options popt = { 0 };
	attrib_kb *kb;
	int o;

	optind = 1;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'k': kbdir = optarg; break;
		case 'f':
			if (strcmp(optarg, "json") == 0)
				c.json = true;
			else if (strcmp(optarg, "text") != 0)
				return cmd_usage_error("classify", "--format '%s': use text or json", optarg);
			break;
		case 'T': truth_path = optarg; break;
		case 'h':
			fputs(usage_text, stdout);
			inputs_free(&c.in);
			return CMD_OK;
		default:
			if (!inputs_option(&c.in, o, optarg)) {
				inputs_free(&c.in);
				return CMD_USAGE;
			}
		}
	}
	if (optind >= argc) {
		inputs_free(&c.in);
		return cmd_usage_error("classify", "no files given");
	}
	kb = attrib_kb_load(kbdir, c.err, sizeof(c.err));
	if (!kb) {
		inputs_free(&c.in);
		return cmd_error("classify", "knowledge base: %s", c.err);
	}
	if (truth_path) {
		c.truth = truth_load(truth_path, kb, c.err, sizeof(c.err));
		if (!c.truth) {
			attrib_kb_free(kb);
			inputs_free(&c.in);
			return cmd_error("classify", "%s", c.err);
		}
	}
	mail_init();
	popt.kb = kb;
	c.pl = pipeline_new(NULL, &popt);
	inputs_walk(&c.in, argv + optind, argc - optind, one, &c);
	if (c.truth) {
		if (c.json)
			truth_print_json(c.truth, stdout);
		else
			truth_print_text(c.truth, stdout);
		truth_free(c.truth);
	}
	pipeline_free(c.pl);
	json_decref(c.line);
	buf_free(&c.text);
	attrib_kb_free(kb);
	mail_shutdown();
	inputs_free(&c.in);
	if (inputs_interrupted())
		return CMD_FAIL;
	return c.in.skipped ? CMD_PARTIAL : CMD_OK;
}
