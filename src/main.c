/*
 * main.c - the subcommand table and nothing else.
 *
 * `spamtide CMD ...` runs the entry of CMD; `spamtide --help` prints the
 * table. Whatever a command returns, a failed write to stdout (a full disk,
 * a closed pipe) turns success into exit 1 with a message.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "util/banned.h"

static const struct cmd commands[] = {
	{ "ingest", cmd_ingest, "read mbox, Maildir, .eml and pcap files; attribute and store each message" },
	{ "classify", cmd_classify, "attribute messages to botnet families; store nothing" },
	{ "learn", cmd_learn, "learn a family's fingerprint from labelled samples" },
	{ "reattribute", cmd_reattribute, "attribute stored messages again after the knowledge base changed" },
	{ "trap", cmd_trap, "the SMTP spam trap: accept, fingerprint, attribute and store every message" },
	{ "report", cmd_report, "shares, daily volume, events and projection over what is stored" },
	{ "demo", cmd_demo, "the Rustock takedown story end to end (learn, trap traffic, report)" },
	{ "simulate", cmd_simulate, "simulated botnet traffic with ground truth (mbox, pcap, SMTP)" },
	{ NULL, NULL, NULL },
};

static void usage(FILE *out)
{
	const struct cmd *c;

	fputs("usage: spamtide COMMAND [OPTIONS] [ARGS]\n\n"
	      "Botnet spam telemetry: attribute trapped spam to botnet families and\n"
	      "tell when one ceases, resumes or changes.\n\ncommands:\n", out);
	for (c = commands; c->name; c++)
		fprintf(out, "  %-12s %s\n", c->name, c->help);
	fputs("\n'spamtide COMMAND --help' describes a command's options.\n"
	      "Exit status: 0 ok, 1 failure, 2 usage error, 3 some input not stored.\n", out);
}

/* finish_stdout: the command's status, or 1 if stdout could not be written
 * (said once: a command that failed has said why already, a closed pipe
 * included). */
static int finish_stdout(int status)
{
	int bad = ferror(stdout);

	if (fflush(stdout) != 0)
		bad = 1;
	if (bad && status != CMD_FAIL) {
		int err = errno;

		fprintf(stderr, "spamtide: error: writing to standard output failed: %s\n",
			err ? strerror(err) : "write error");
		return CMD_FAIL;
	}
	return status;
}

int main(int argc, char **argv)
{
	const struct cmd *c;

	/* A closed pipe must be an error we report, not a silent death. */
	signal(SIGPIPE, SIG_IGN);

	if (argc < 2) {
		usage(stderr);
		return CMD_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return finish_stdout(CMD_OK);
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("spamtide %s\n", SPAMTIDE_VERSION);
		return finish_stdout(CMD_OK);
	}
	for (c = commands; c->name; c++)
		if (strcmp(argv[1], c->name) == 0)
			return finish_stdout(c->fn(argc - 1, argv + 1));
	fprintf(stderr, "spamtide: '%s' is not a command. See 'spamtide --help'.\n", argv[1]);
	return CMD_USAGE;
}
