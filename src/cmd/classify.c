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
#include "cmd/supervise.h"
#include "cmd/truth.h"
#include "render/render.h"
#include "util/buf.h"
#include "mail/features.h"
#include "pipeline/pipeline.h"
#include "pipeline/workers.h"
#include "util/timeutil.h"
#include "util/banned.h"

static const char usage_text[] =
	"usage: spamtide classify [OPTIONS] FILE/DIR...\n"
	"\n"
	"Attribute each message to a botnet family and print family, confidence,\n"
	"campaign and evidence; stores nothing. A message no family claims well\n"
	"enough is 'unknown'. A message that crashes the parser is skipped (said on\n"
	"stderr, exit 3), and the answers go on from the next.\n"
	"\n"
	"  --kb DIR          knowledge base of learned families (default ./spamtide.kb)\n"
	"  --format F        text (default) or json (JSON Lines, one object per message)\n"
	"  --truth FILE      lines KEY<TAB>family (KEY a Message-ID or a source FILE#N):\n"
	"                    print per-family precision, recall and the confusion matrix\n"
	"                    instead of the messages\n"
	"  --trusted CIDR    your own relays, skipped when finding the client (repeatable)\n"
	"  --smtp-ports LIST ports of SMTP sessions in captures (default 25,587,2525)\n"
	"  --limit NAME=VAL  override a limit ('--limit help' lists them)\n"
	"  --jobs N          threads that parse and attribute (default: the processors\n"
	"                    it may use); the answers keep the input's order\n"
	"  --help            this text\n";

struct classify {
	struct inputs in;
	pipeline *pl;
	bool json;
	struct truth *truth;
	uint64_t messages;
	int status;
	char err[512];
	json_t *line;              /* the JSON line's object, reused (one thread) */
	struct buf text;           /* and its text */
	workers *workers;          /* several threads, or NULL */
	struct supervised *sv;     /* shared with the supervising process, or NULL */
	uint64_t seen;             /* messages met, in the input's order */
	uint64_t resume;           /* those answered by an earlier child */
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

#define JSON_LINE_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(4))

/* the keys of one message's JSON line, into o (its values replaced) */
static void fill_json(json_t *o, const char *name, const struct pipeline_result *r)
{
	const struct mail_features *f = r->features;
	json_t *ev = json_array();
	char ts[TIME_ISO_LEN];
	size_t i;

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
}

static void text_line(struct buf *out, const char *name, const struct pipeline_result *r)
{
	const struct mail_features *f = r->features;

	buf_printf(out, "%s\t%s\t%.2f\t%s\t%s\n", name, r->family, r->confidence,
		   r->campaign ? r->campaign : "-", f->message_id ? f->message_id : "-");
	if (r->attribution->nevidence)
		buf_printf(out, "\t%s\n", r->attribution->evidence[0]);
}

/* answered: the message's answer (out, len bytes, maybe none) */
static bool answered(struct classify *c, const char *out, size_t len)
{
	return c->truth ? true : supervised_answer(c->sv, out, len);
}

static bool not_mail(struct classify *c, const char *name)
{
	inputs_note(&c->in, "%s: not a mail message (no header fields); skipped", name);
	c->in.skipped++;
	supervised_partial(c->sv);   /* a next child passes over its answer */
	return true;
}

/* ---- one thread: each message answered as it is read ---- */

static bool one(void *ctx, const struct source_item *item, const char *name)
{
	struct classify *c = ctx;
	struct pipeline_message m;
	struct pipeline_result res;

	enum pipeline_status st;

	if (++c->seen <= c->resume)
		return true;            /* answered before a child died */
	if (supervised_skip(c->sv, name)) {
		inputs_note(&c->in, "%s: the parser died on it; skipped", name);
		c->in.skipped++;
		return answered(c, NULL, 0);
	}
	source_item_message(item, name, false, &m);
	inflight_begin(c->sv ? &c->sv->inflight : NULL, 0, name);
	st = pipeline_push(c->pl, &m, &res, c->err, sizeof(c->err));
	inflight_end(c->sv ? &c->sv->inflight : NULL, 0);
	if (st == PIPELINE_NOT_MAIL)
		return not_mail(c, name) && answered(c, NULL, 0);
	c->messages++;
	if (c->truth) {
		truth_record(c->truth, name, res.features->message_id, res.family);
		return true;
	}
	buf_reset(&c->text);
	if (c->json) {
		/* one object serves every line: its keys stay, each message
		 * replaces the values */
		if (!c->line)
			c->line = json_object();
		fill_json(c->line, name, &res);
		if (render_json_append(&c->text, c->line, JSON_LINE_FLAGS) == 0)
			buf_addch(&c->text, '\n');
	} else {
		text_line(&c->text, name, &res);
	}
	return answered(c, c->text.data, c->text.len);
}

/* ---- several: features and attribution on the workers, answers in order ---- */

static void work(void *ctx, void **local, const char *name, enum pipeline_status st,
		 const struct pipeline_result *res, struct buf *out)
{
	struct classify *c = ctx;

	if (st == PIPELINE_NOT_MAIL)
		return;
	if (c->truth) {
		/* what truth_record needs: the family, then the Message-ID if any */
		buf_addstr(out, res->family);
		buf_addch(out, '\0');
		if (res->features->message_id) {
			buf_addch(out, 'm');
			buf_addstr(out, res->features->message_id);
		}
	} else if (c->json) {
		/* the worker's own object, its keys kept, as with one thread */
		if (!*local)
			*local = json_object();
		fill_json(*local, name, res);
		if (render_json_append(out, *local, JSON_LINE_FLAGS) == 0)
			buf_addch(out, '\n');
	} else {
		text_line(out, name, res);
	}
}

static void json_free(void *o)
{
	json_decref(o);
}

static bool emit(void *ctx, const struct source_item *item, const char *name, enum pipeline_status st,
		 const struct buf *out, struct pipeline_row *row)
{
	struct classify *c = ctx;

	(void)item;
	(void)row;     /* none: classify stores nothing */
	c->seen++;
	if (st == PIPELINE_NOT_MAIL)
		return not_mail(c, name) && answered(c, NULL, 0);
	c->messages++;
	if (c->truth) {
		const char *family = out->data, *mid = family + strlen(family) + 1;

		truth_record(c->truth, name, mid < out->data + out->len ? mid + 1 : NULL, family);
		return true;
	}
	return answered(c, out->data, out->len);
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
		{ "jobs", required_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct classify c = { .in = { .cmd = "classify", .progress = false }, .status = CMD_OK,
			     .text = BUF_INIT };
	const char *kbdir = cmd_default_kb, *truth_path = NULL;
	struct pipeline_options popt = { 0 };
	attrib_kb *kb;
	size_t jobs = 0;
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
		case 'j':
			if (!cmd_parse_jobs("classify", optarg, &jobs)) {
				inputs_free(&c.in);
				return CMD_USAGE;
			}
			break;
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
	struct supervise_options sup = {
		.note = "the answers written are not written again",
		.relay = !truth_path,        /* with --truth, nothing until the end */
	};

	if (!supervise("classify", &sup, &c.sv, &c.status)) {
		truth_free(c.truth);
		attrib_kb_free(kb);
		inputs_free(&c.in);
		return c.status;
	}
	inputs_supervised(&c.in, c.sv);
	if (c.sv && c.sv->one_thread)
		jobs = 1;
	if (c.sv && !c.truth)
		c.resume = c.sv->answered;
	mail_init();
	popt.kb = kb;
	if (jobs == 0)
		jobs = workers_count();
	if (jobs > 1) {
		json_object_seed(0);    /* before any thread makes a JSON object */
		struct workers_config wc = {
			.n = jobs, .popt = &popt, .work = work, .local_free = json_free, .emit = emit,
			.note = inputs_skipped, .note_ctx = &c.in, .ctx = &c,
			.inflight = c.sv ? &c.sv->inflight : NULL,
		};

		c.workers = workers_new(&wc);
	}
	if (!c.workers)
		c.pl = pipeline_new(NULL, &popt);
	c.in.workers = c.workers;   /* with them, the walk hands them the messages */
	inputs_walk(&c.in, argv + optind, argc - optind, one, &c);
	if (c.workers) {
		workers_finish(c.workers);
		workers_free(c.workers);
	}
	if (!supervised_flush(c.sv)) {
		/* a broken pipe: the supervisor stopped writing and says why */
		if (errno != EPIPE)
			cmd_error("classify", "the answers could not be written: %s", strerror(errno));
		c.status = CMD_FAIL;
	}
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
	if (inputs_interrupted() || c.status != CMD_OK)
		return CMD_FAIL;
	return c.in.skipped ? CMD_PARTIAL : CMD_OK;
}
