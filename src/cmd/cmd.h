/*
 * cmd.h - the subcommands and what they share: exit statuses and helpers
 * for option parsing. cmd/ wires modules together; it holds no logic.
 *
 * Exit status (DESIGN.md): 0 ok; 1 failure (a store that cannot be opened
 * or written stops the command at once); 2 usage error; 3 done, but some
 * input could not be stored (each skip reported on stderr).
 */
#ifndef SPAMTIDE_CMD_CMD_H
#define SPAMTIDE_CMD_CMD_H

#include <stdbool.h>
#include <stdint.h>

enum cmd_exit {
	CMD_OK = 0,
	CMD_FAIL = 1,
	CMD_USAGE = 2,
	CMD_PARTIAL = 3,
};

/* A subcommand: argv[0] is its name; returns an enum cmd_exit. */
typedef int cmd_fn(int argc, char **argv);

struct cmd {
	const char *name;
	cmd_fn *fn;
	const char *help;   /* one line for `spamtide --help` */
};

cmd_fn cmd_ingest;
cmd_fn cmd_report;
cmd_fn cmd_simulate;
cmd_fn cmd_learn;
cmd_fn cmd_classify;
cmd_fn cmd_reattribute;
cmd_fn cmd_trap;
cmd_fn cmd_demo;

/* cmd_usage_error: "spamtide CMD: message" + a hint; returns CMD_USAGE. */
int cmd_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* cmd_option_error: an option getopt_long refused (it printed why: unknown,
 * or a value missing); the hint, and CMD_USAGE */
int cmd_option_error(const char *cmd);
/* cmd_error: "spamtide CMD: error: message"; returns CMD_FAIL. */
int cmd_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* cmd_parse_time: an ISO 8601 option value, or a usage error message. */
bool cmd_parse_time(const char *cmd, const char *opt, const char *value, int64_t *out);
/* cmd_parse_jobs: --jobs, a whole number from 1 to WORKERS_MAX, or a
 * usage error message. */
bool cmd_parse_jobs(const char *cmd, const char *value, size_t *out);
/* cmd_parse_positive: a number above zero, or a usage error message. */
bool cmd_parse_positive(const char *cmd, const char *opt, const char *value, double *out);
/* cmd_apply_limit: a --limit NAME=VALUE (or "help": prints the table). */
bool cmd_apply_limit(const char *cmd, const char *value);
/* cmd_valid_name: a sensor or family name: [A-Za-z0-9._-]{1,64}. */
bool cmd_valid_name(const char *s);
/* cmd_valid_family: a family name: a lower-case word, [a-z0-9_-]{1,64}. */
bool cmd_valid_family(const char *s);
/* cmd_default_db: the --db default, "sqlite:./spamtide.db". */
extern const char cmd_default_db[];
extern const char cmd_default_kb[];

#endif
