/*
 * inputs.c - walking FILE/DIR arguments as messages; see inputs.h.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/inputs.h"
#include "cmd/supervise.h"
#include "source/pcapsrc.h"
#include "pipeline/workers.h"
#include "util/buf.h"
#include "util/hash.h"
#include "util/xalloc.h"
#include "util/banned.h"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

bool inputs_interrupted(void)
{
	return interrupted != 0;
}

bool inputs_add_trusted(struct inputs *in, const char *cidr)
{
	in->trusted = xreallocarray(in->trusted, in->ntrusted + 1, sizeof(*in->trusted));
	if (!ip_cidr_parse(cidr, &in->trusted[in->ntrusted])) {
		cmd_usage_error(in->cmd, "--trusted '%s': not an address range such as 192.0.2.0/24",
				cidr);
		return false;
	}
	in->ntrusted++;
	return true;
}

bool inputs_option(struct inputs *in, int c, const char *arg)
{
	switch (c) {
	case 't':
		return inputs_add_trusted(in, arg);
	case 'p': {
		/* checked now, not at the first capture: a usage error */
		uint8_t set[8192];
		struct buf err = BUF_INIT;
		bool ok = pcapsrc_parse_ports(arg, set, &err);

		if (!ok)
			cmd_usage_error(in->cmd, "--smtp-ports: %s",
					err.len ? err.data : "not a list of ports");
		buf_free(&err);
		in->sopt.smtp_ports = arg;
		return ok;
	}
	case 'l':
		return cmd_apply_limit(in->cmd, arg);
	default:
		cmd_option_error(in->cmd);
		return false;
	}
}

void inputs_supervised(struct inputs *in, struct supervised *sv)
{
	in->sv = sv;
	in->noted_before = sv ? sv->nnoted : 0;
}

/* said: text was said by an earlier reading process; else it is kept as
 * said by this one */
static bool said(struct inputs *in, const char *text)
{
	struct supervised *sv = in->sv;
	uint64_t h = hash64(text, strlen(text), 0);
	int i, n = sv->nnoted;

	if (in->noted_before < 0 || in->noted_before > SUPERVISE_NOTES)
		in->noted_before = 0;
	for (i = 0; i < in->noted_before; i++)
		if (sv->noted[i] == h)
			return true;
	if (n >= 0 && n < SUPERVISE_NOTES) {
		sv->noted[n] = h;
		sv->nnoted = n + 1;
	}
	return false;
}

void inputs_note(struct inputs *in, const char *fmt, ...)
{
	struct buf text = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&text, fmt, ap);
	va_end(ap);
	if (!in->sv || !said(in, text.data)) {
		progress_clear(&in->prog);
		fprintf(stderr, "spamtide %s: %s\n", in->cmd, text.data);
	}
	buf_free(&text);
}

bool inputs_skipped(void *p, const char *account)
{
	struct inputs *in = p;

	inputs_note(in, "%s", account);
	in->skipped++;
	return true;
}

/* ---- where the reading is, for the supervisor ---- */

struct reading {
	struct inputs *in;
	struct buf key;     /* "path#K+": in path, after its message K */
};

/* at: the reading is in path after its message index (reading: in the
 * middle of source_next, the slot says so); true when the supervisor says
 * the rest of it is not to be read (it died there twice) */
static bool at(struct reading *r, const char *path, unsigned long index, bool reading)
{
	struct inflight *f = &r->in->sv->inflight;

	inflight_end(f, INFLIGHT_READ);
	buf_reset(&r->key);
	buf_printf(&r->key, "%s#%lu+", path, index);
	if (reading)
		inflight_begin(f, INFLIGHT_READ, r->key.data);
	return supervised_skip(r->in->sv, r->key.data);
}

static bool at_file(void *ctx, const char *path)
{
	return !at(ctx, path, 0, true);
}

bool inputs_walk(struct inputs *in, char **paths, int npaths, inputs_fn *fn, void *ctx)
{
	struct buf err = BUF_INIT, name = BUF_INIT;
	struct reading r = { .in = in, .key = BUF_INIT };
	struct inflight *f = in->sv ? &in->sv->inflight : NULL;
	uint64_t total = 0, done = 0, items = 0;
	bool go_on = true;
	int i;

	/* a hangup ends the reading as an interrupt does (what was read is
	 * kept); a signal ignored when we started (nohup, a background job)
	 * stays ignored */
	if (signal(SIGINT, on_signal) == SIG_IGN)
		signal(SIGINT, SIG_IGN);
	if (signal(SIGTERM, on_signal) == SIG_IGN)
		signal(SIGTERM, SIG_IGN);
	if (signal(SIGHUP, on_signal) == SIG_IGN)
		signal(SIGHUP, SIG_IGN);
	if (in->progress)
		for (i = 0; i < npaths; i++)
			total += source_size_estimate(paths[i]);
	if (in->sv) {
		in->sopt.on_file = at_file;
		in->sopt.on_file_ctx = &r;
	}
	progress_start(&in->prog, in->progress && isatty(STDERR_FILENO), total);
	for (i = 0; i < npaths && go_on && !interrupted; i++) {
		source *src = source_open(paths[i], &in->sopt);
		struct source_item item;
		enum source_status st;

		if (in->sv)
			at(&r, paths[i], 0, false);
		while (go_on && !interrupted) {
			bool rest_skipped = false;

			inflight_begin(f, INFLIGHT_READ, r.key.data);
			st = source_next(src, &item, &err);
			inflight_end(f, INFLIGHT_READ);
			if (st == SOURCE_END)
				break;
			progress_update(&in->prog, done + source_bytes_read(src), ++items);
			if (st == SOURCE_SKIP) {
				go_on = in->workers ? workers_note(in->workers, err.data)
						    : inputs_skipped(in, err.data);
				continue;
			}
			item.ctx.trusted = in->trusted;
			item.ctx.ntrusted = in->ntrusted;
			buf_reset(&name);
			buf_printf(&name, "%s#%lu", item.path, item.index);
			if (in->sv && at(&r, item.path, item.index, false)) {
				/* the message is whole; what comes after it killed the reader */
				buf_reset(&err);
				buf_printf(&err, "%s: reading it crashed twice after message %lu (which "
					   "begins at byte %llu); the rest of the file is not read", item.path,
					   item.index, (unsigned long long)item.offset);
				rest_skipped = true;
			}
			go_on = in->workers ? workers_push(in->workers, &item, name.data)
					    : fn(ctx, &item, name.data);
			if (rest_skipped) {
				source_skip_file(src);
				if (go_on)
					go_on = in->workers ? workers_note(in->workers, err.data)
							    : inputs_skipped(in, err.data);
			}
		}
		done += source_bytes_read(src);
		source_close(src);
	}
	progress_finish(&in->prog);
	in->sopt.on_file = NULL;     /* r goes with this frame */
	in->sopt.on_file_ctx = NULL;
	buf_free(&err);
	buf_free(&name);
	buf_free(&r.key);
	return go_on && !interrupted;
}

void inputs_free(struct inputs *in)
{
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	free(in->trusted);
	in->trusted = NULL;
	in->ntrusted = 0;
}
