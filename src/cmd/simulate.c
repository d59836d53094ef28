/*
 * simulate.c - `spamtide simulate`: synthetic botnet traffic with ground
 * truth. Option parsing and wiring only; the generator and writers are in
 * sim/.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "sim/sim.h"
#include "util/buf.h"
#include "util/banned.h"

static const char usage_text[] =
	"usage: spamtide simulate --scenario NAME|FILE [--out F.mbox|F.pcap] [--smtp ADDR:PORT --rate N]\n"
	"                         [--sandbox FAMILY [--count N]] [--seed S] [--max N]\n"
	"                         [--concurrency N] [--list]\n"
	"\n"
	"Writes simulated botnet traffic whose truth is known. The format of --out\n"
	"follows its extension: .mbox (as a quarantine keeps it) or .pcap (the SMTP\n"
	"sessions). Beside F it writes F.truth (MESSAGE-ID<TAB>family per message;\n"
	"'unknown' is spam of no family, 'legit' legitimate mail) and F.events.json\n"
	"(the scenario's events at the minutes they happened in the output).\n"
	"\n"
	"  --scenario NAME|FILE  a built-in scenario (see --list) or a scenario file\n"
	"  --out F               output file, F.mbox or F.pcap; with --smtp, where\n"
	"                        F.truth and F.events.json go\n"
	"  --smtp ADDR:PORT      deliver over SMTP (a load generator for a trap), from\n"
	"                        one 127.x.y.z source address per simulated bot\n"
	"  --rate N              with --smtp: messages per second (default 100)\n"
	"  --concurrency N       with --smtp: sessions at once (default 64)\n"
	"  --sandbox FAMILY      only FAMILY's messages, as a sandboxed bot sends them\n"
	"  --count N             with --sandbox: messages (default 300)\n"
	"  --max N               stop after N messages\n"
	"  --seed S              random seed (default 1); the same seed gives the same bytes\n"
	"  --list                list the built-in scenarios and exit\n";

struct outputs {
	sim_mbox *mbox;
	sim_pcap *pcap;
	FILE *truth;
};

static int write_one(const struct sim_message *m, void *ctx)
{
	struct outputs *o = ctx;

	if (o->mbox && sim_mbox_write(o->mbox, m) < 0)
		return 1;
	if (o->pcap && sim_pcap_write(o->pcap, m) < 0)
		return 1;
	if (o->truth && sim_truth_write(o->truth, m) < 0)
		return 1;
	return 0;
}

static FILE *open_beside(const char *out, const char *suffix, struct buf *name)
{
	FILE *f;

	buf_reset(name);
	buf_printf(name, "%s%s", out, suffix);
	f = fopen(name->data, "w");
	if (f)
		setvbuf(f, NULL, _IOFBF, 1 << 20);
	return f;
}

static bool parse_count(const char *opt, const char *v, unsigned long long max, unsigned long long *out)
{
	char *end;
	unsigned long long x;

	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno || end == v || *end || x > max || *v == '-') {
		cmd_usage_error("simulate", "%s '%s': expected a whole number up to %llu", opt, v, max);
		return false;
	}
	*out = x;
	return true;
}

static int close_checked(FILE *f, const char *name, int status)
{
	if (!f)
		return status;
	if (ferror(f) | (fclose(f) != 0))
		return cmd_error("simulate", "writing %s failed: %s", name, strerror(errno));
	return status;
}

static void print_summary(const sim_scenario *s, sim_gen *g, uint64_t seed, const char *where)
{
	size_t i;
	bool first = true;

	printf("simulate: scenario %s, seed %llu: %zu messages", sim_scenario_name(s),
	       (unsigned long long)seed, sim_gen_count(g));
	for (i = 0; i < sim_source_count(s); i++)
		if (sim_gen_label_count(g, i)) {
			printf("%s%s %zu", first ? " (" : ", ", sim_source(s, i)->label, sim_gen_label_count(g, i));
			first = false;
		}
	printf("%s%s%s\n", sim_gen_count(g) ? ")" : "", where ? " -> " : "", where ? where : "");
}

int cmd_simulate(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "scenario", required_argument, NULL, 's' },
		{ "out", required_argument, NULL, 'o' },
		{ "smtp", required_argument, NULL, 'S' },
		{ "rate", required_argument, NULL, 'r' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "sandbox", required_argument, NULL, 'b' },
		{ "count", required_argument, NULL, 'n' },
		{ "max", required_argument, NULL, 'm' },
		{ "seed", required_argument, NULL, 'e' },
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *scenario = NULL, *out = NULL, *smtp = NULL;
	struct sim_options so = { .seed = 1 };
	struct sim_smtp_options lo = { .rate = 100 };
	unsigned long long v;
	char err[512];
	sim_scenario *s;
	sim_gen *g;
	struct outputs o = { 0 };
	FILE *main_out = NULL, *events = NULL;
	struct buf name = BUF_INIT, tname = BUF_INIT;
	int c, status = CMD_OK;
	size_t i;
	const char *ext;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's': scenario = optarg; break;
		case 'o': out = optarg; break;
		case 'S': smtp = optarg; break;
		case 'b': so.sandbox = optarg; break;
		case 'r': {
			char *end;

			errno = 0;
			lo.rate = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(lo.rate > 0) || lo.rate > 1e7)
				return cmd_usage_error("simulate", "--rate '%s': expected messages per second > 0",
						       optarg);
			break;
		}
		case 'c':
			if (!parse_count("--concurrency", optarg, 4096, &v) || !v)
				return CMD_USAGE;
			lo.concurrency = (unsigned)v;
			break;
		case 'n':
			if (!parse_count("--count", optarg, 100000000, &v) || !v)
				return CMD_USAGE;
			so.count = (size_t)v;
			break;
		case 'm':
			if (!parse_count("--max", optarg, 1000000000, &v) || !v)
				return CMD_USAGE;
			so.max = (size_t)v;
			break;
		case 'e':
			if (!parse_count("--seed", optarg, ~0ULL, &v))
				return CMD_USAGE;
			so.seed = v ? v : 1;
			break;
		case 'l':
			for (i = 0; sim_scenario_builtin(i); i++)
				printf("%s\n", sim_scenario_builtin(i));
			return CMD_OK;
		case 'h':
			fputs(usage_text, stdout);
			return CMD_OK;
		default:
			return cmd_usage_error("simulate", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cmd_usage_error("simulate", "unexpected argument '%s'", argv[optind]);
	if (!scenario)
		return cmd_usage_error("simulate", "--scenario NAME|FILE is required");
	if (!out && !smtp)
		return cmd_usage_error("simulate", "nothing to write: give --out F.mbox|F.pcap or --smtp ADDR:PORT");
	if (so.count && !so.sandbox)
		return cmd_usage_error("simulate", "--count goes with --sandbox (use --max otherwise)");
	ext = out ? strrchr(out, '.') : NULL;
	if (out && !smtp && (!ext || (strcmp(ext, ".mbox") && strcmp(ext, ".pcap"))))
		return cmd_usage_error("simulate", "--out %s: the name must end in .mbox or .pcap", out);
	if (smtp) {
		const char *colon = strrchr(smtp, ':');
		char *end;
		unsigned long port;

		if (!colon || colon == smtp)
			return cmd_usage_error("simulate", "--smtp %s: expected ADDR:PORT", smtp);
		errno = 0;
		port = strtoul(colon + 1, &end, 10);
		if (errno || *end || port == 0 || port > 65535)
			return cmd_usage_error("simulate", "--smtp %s: bad port", smtp);
		lo.port = (unsigned)port;
		buf_add(&name, smtp, (size_t)(colon - smtp));
		lo.host = name.data;
	}
	s = sim_scenario_load(scenario, err, sizeof(err));
	if (!s) {
		buf_free(&name);
		return cmd_error("simulate", "%s", err);
	}
	g = sim_gen_new(s, &so, err, sizeof(err));
	if (!g) {
		sim_scenario_free(s);
		buf_free(&name);
		return cmd_usage_error("simulate", "%s", err);
	}
	if (out) {
		o.truth = open_beside(out, ".truth", &tname);
		if (!o.truth) {
			status = cmd_error("simulate", "%s: %s", tname.data, strerror(errno));
			goto done;
		}
	}
	if (smtp) {
		struct sim_smtp_stats st;

		lo.truth = o.truth;
		if (sim_smtp_run(g, &lo, &st, err, sizeof(err)) < 0) {
			status = cmd_error("simulate", "%s", err);
			goto done;
		}
		print_summary(s, g, so.seed, smtp);
		printf("simulate: %zu sessions, %zu delivered, %zu failed\n", st.sessions, st.delivered,
		       st.failed);
		if (st.failed)
			status = CMD_FAIL;
	} else {
		main_out = fopen(out, "wb");
		if (!main_out) {
			status = cmd_error("simulate", "%s: %s", out, strerror(errno));
			goto done;
		}
		setvbuf(main_out, NULL, _IOFBF, 1 << 20);
		if (!strcmp(ext, ".mbox"))
			o.mbox = sim_mbox_new(main_out, s);
		else
			o.pcap = sim_pcap_new(main_out, s, so.seed);
		if (sim_run(g, write_one, &o) != 0 || (o.pcap && sim_pcap_finish(o.pcap) < 0)) {
			status = cmd_error("simulate", "writing %s failed: %s", out, strerror(errno));
			goto done;
		}
		print_summary(s, g, so.seed, out);
	}
	if (out) {
		json_t *ev = sim_gen_events(g);

		events = open_beside(out, ".events.json", &tname);
		if (!events || json_dumpf(ev, events, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) < 0 ||
		    fputc('\n', events) == EOF) {
			json_decref(ev);
			status = cmd_error("simulate", "writing %s failed: %s", tname.data, strerror(errno));
			goto done;
		}
		json_decref(ev);
	}
done:
	buf_reset(&tname);
	buf_printf(&tname, "%s.events.json", out ? out : "");
	status = close_checked(events, tname.data, status);
	buf_reset(&tname);
	buf_printf(&tname, "%s.truth", out ? out : "");
	status = close_checked(o.truth, tname.data, status);
	status = close_checked(main_out, out ? out : "", status);
	sim_mbox_free(o.mbox);
	sim_pcap_free(o.pcap);
	sim_gen_free(g);
	sim_scenario_free(s);
	buf_free(&name);
	buf_free(&tname);
	return status;
}
