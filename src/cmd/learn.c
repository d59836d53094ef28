/*
 * learn.c - `spamtide learn`: a family's fingerprint from labelled samples.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attrib/attrib.h"
#include "cmd/cmd.h"
#include "cmd/inputs.h"
#include "cmd/supervise.h"
#include "mail/features.h"
#include "store/store.h"
#include "util/ip.h"
#include "util/xalloc.h"
#include "util/banned.h"

static const char usage_text[] =
	"usage: spamtide learn --family NAME [--kb DIR] FILE/DIR...\n"
	"       spamtide learn --family NAME [--kb DIR] --db URL --client CIDR [--from T] [--to T]\n"
	"\n"
	"Learn (or extend) a family's fingerprint from labelled samples: the\n"
	"messages a sandboxed bot sent, as files (mbox, Maildir, .eml, captures)\n"
	"or as what a trap stored from the sandbox's address. Writes DIR/NAME.rule,\n"
	"keeping hand-written lines of an existing file, and prints what it chose\n"
	"and how consistent the samples were.\n"
	"\n"
	"  --family NAME     the family (lower-case word)\n"
	"  --kb DIR          knowledge base directory (default ./spamtide.kb; created)\n"
	"  --db URL          learn from a store instead of files\n"
	"  --client CIDR     with --db: the sandbox's addresses\n"
	"  --from T, --to T  with --db: the period (ISO 8601 UTC)\n"
	"  --trusted CIDR    your own relays, skipped when finding the client (repeatable)\n"
	"  --smtp-ports LIST ports of SMTP sessions in captures (default 25,587,2525)\n"
	"  --help            this text\n";

struct learn {
	struct inputs in;
	attrib_learner *learner;
	struct mail_features f;
	struct attrib_vector v;
	struct ip_cidr client;
	struct supervised *sv;     /* shared with the supervising process, or NULL */
	uint64_t rows;
	int64_t last_id;
};

static bool from_file(void *ctx, const struct source_item *item, const char *name)
{
	struct learn *l = ctx;
	struct mail_context mc = item->ctx;
	struct attrib_session as = { 0 };
	const struct pipeline_session *ses = item->session;

	bool is_mail;

	if (supervised_skip(l->sv, name)) {
		inputs_note(&l->in, "%s: the parser died on it; left out", name);
		l->in.skipped++;
		return true;
	}
	pipeline_session_apply(ses, &mc, &as);
	if (!ses)
		mc.sandbox = true;   /* labelled samples come from a sandbox */
	inflight_begin(l->sv ? &l->sv->inflight : NULL, 0, name);
	is_mail = mail_features_extract(&l->f, item->raw ? item->raw : "", item->raw ? item->len : 0, &mc);
	inflight_end(l->sv ? &l->sv->inflight : NULL, 0);
	if (!is_mail && !ses) {
		inputs_note(&l->in, "%s: not a mail message; skipped", name);
		l->in.skipped++;
		return true;
	}
	attrib_vector_build(&l->v, &l->f, ses ? &as : NULL);
	attrib_learner_add(l->learner, &l->v);
	return true;
}

static bool from_row(void *ctx, const struct store_row *r)
{
	struct learn *l = ctx;
	struct ip_addr a;

	l->last_id = r->id;
	if (!r->client_ip || !ip_parse(r->client_ip, &a) || !ip_cidr_contains(&l->client, &a))
		return true;
	if (!r->features || !attrib_vector_parse(&l->v, r->features, r->features_len))
		return true;
	attrib_vector_add_dialect(&l->v, r->dialect_id, r->dialect);
	attrib_learner_add(l->learner, &l->v);
	l->rows++;
	return true;
}

static bool read_file(const char *path, struct buf *out, bool *exists, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "rb");
	char chunk[8192];
	size_t n;

	*exists = fp != NULL;
	if (!fp)
		return errno == ENOENT ? true : (snprintf(err, errlen, "%.900s: %s", path, strerror(errno)), false);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		buf_add(out, chunk, n);
	fclose(fp);
	return true;
}

static bool write_atomic(const char *path, const struct buf *text, char *err, size_t errlen)
{
	char tmp[4200];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text->data, text->len) != (ssize_t)text->len || fsync(fd) != 0 ||
	    close(fd) != 0 || rename(tmp, path) != 0) {
		snprintf(err, errlen, "%.900s: %s", path, strerror(errno));
		if (fd >= 0)
			unlink(tmp);
		return false;
	}
	return true;
}

int cmd_learn(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "family", required_argument, NULL, 'F' },
		{ "kb", required_argument, NULL, 'k' },
		{ "db", required_argument, NULL, 'd' },
		{ "client", required_argument, NULL, 'c' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 'T' },
		{ "trusted", required_argument, NULL, 't' },
		{ "smtp-ports", required_argument, NULL, 'p' },
		{ "limit", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct learn l = { .in = { .cmd = "learn", .progress = false } };
	const char *family = NULL, *kbdir = cmd_default_kb, *db = NULL, *client = NULL;
	int64_t from = INT64_MIN, to = INT64_MAX;
	char err[1024], path[4096];
	struct buf existing = BUF_INIT, text = BUF_INIT, summary = BUF_INIT, note = BUF_INIT;
	bool exists = false, ok;
	int c, status = CMD_OK;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'F': family = optarg; break;
		case 'k': kbdir = optarg; break;
		case 'd': db = optarg; break;
		case 'c': client = optarg; break;
		case 'f':
			if (!cmd_parse_time("learn", "--from", optarg, &from))
				return CMD_USAGE;
			break;
		case 'T':
			if (!cmd_parse_time("learn", "--to", optarg, &to))
				return CMD_USAGE;
			break;
		case 'h':
			fputs(usage_text, stdout);
			inputs_free(&l.in);
			return CMD_OK;
		default:
			if (!inputs_option(&l.in, c, optarg)) {
				inputs_free(&l.in);
				return CMD_USAGE;
			}
		}
	}
	if (!family) {
		inputs_free(&l.in);
		return cmd_usage_error("learn", "--family NAME is required");
	}
	if (!cmd_valid_family(family)) {
		inputs_free(&l.in);
		return cmd_usage_error("learn", "--family '%s': a lower-case word ([a-z0-9_-], at most "
				       "64)", family);
	}
	if (strcmp(family, ATTRIB_UNKNOWN) == 0) {
		inputs_free(&l.in);
		return cmd_usage_error("learn", "'unknown' is not a family name");
	}
	if (db && (!client || optind < argc)) {
		inputs_free(&l.in);
		return cmd_usage_error("learn", "--db needs --client CIDR and no files");
	}
	if (!db && optind >= argc) {
		inputs_free(&l.in);
		return cmd_usage_error("learn", "no files given (or --db URL --client CIDR)");
	}
	if (client && !ip_cidr_parse(client, &l.client)) {
		inputs_free(&l.in);
		return cmd_usage_error("learn", "--client '%s': not an address range", client);
	}
	/* samples from a sandbox are bytes a bot chose: read them in a child
	 * that may die (cmd/supervise.h) */
	static const struct supervise_options sup = { NULL, false };

	if (!db && !supervise("learn", &sup, &l.sv, &status)) {
		inputs_free(&l.in);
		return status;
	}
	inputs_supervised(&l.in, l.sv);

	l.learner = attrib_learner_new(family);
	attrib_vector_init(&l.v);
	mail_features_init(&l.f);
	mail_init();
	if (db) {
		store *st;

		if (store_open(db, STORE_READ, &st, err, sizeof(err)) != STORE_OK) {
			status = cmd_error("learn", "%s", err);
			goto out;
		}
		for (;;) {
			int64_t before = l.last_id;

			if (store_rows(st, from, to, l.last_id, 10000, from_row, &l, err, sizeof(err)) != STORE_OK) {
				status = cmd_error("learn", "%s", err);
				break;
			}
			if (l.last_id == before)
				break;
		}
		store_close(st);
		if (status != CMD_OK)
			goto out;
		buf_printf(&note, "%s client %s", db, client);
	} else {
		inputs_walk(&l.in, argv + optind, argc - optind, from_file, &l);
		if (inputs_interrupted()) {
			status = CMD_FAIL;
			goto out;
		}
		buf_addstr(&note, argv[optind]);
		if (argc - optind > 1)
			buf_printf(&note, " and %d more", argc - optind - 1);
	}
	if (attrib_learner_samples(l.learner) == 0) {
		status = cmd_error("learn", "no samples to learn %s from", family);
		goto out;
	}
	if (mkdir(kbdir, 0755) != 0 && errno != EEXIST) {
		status = cmd_error("learn", "%s: %s", kbdir, strerror(errno));
		goto out;
	}
	snprintf(path, sizeof(path), "%s/%s.rule", kbdir, family);
	if (!read_file(path, &existing, &exists, err, sizeof(err))) {
		status = cmd_error("learn", "%s", err);
		goto out;
	}
	ok = attrib_learner_write(l.learner, exists ? existing.data : NULL, existing.len, note.data,
				  &text, &summary, err, sizeof(err));
	if (!ok) {
		status = cmd_error("learn", "%s%s", exists ? "extending " : "", err);
		goto out;
	}
	/* what we write must load: a learned file that does not parse is a bug */
	{
		attrib_kb *check = attrib_kb_parse(path, text.data, text.len, err, sizeof(err));

		if (!check) {
			status = cmd_error("learn", "the learned file does not parse: %s", err);
			goto out;
		}
		attrib_kb_free(check);
	}
	if (!write_atomic(path, &text, err, sizeof(err))) {
		status = cmd_error("learn", "%s", err);
		goto out;
	}
	fputs(summary.data, stdout);
	printf("%s %s\n", exists ? "extended" : "wrote", path);
out:
	attrib_learner_free(l.learner);
	attrib_vector_free(&l.v);
	mail_features_free(&l.f);
	mail_shutdown();
	inputs_free(&l.in);
	buf_free(&existing);
	buf_free(&text);
	buf_free(&summary);
	buf_free(&note);
	if (status == CMD_OK && l.in.skipped)
		return CMD_PARTIAL;
	return status;
}
