/*
 * trap.c - `spamtide trap`: the SMTP spam trap (source/trap.h).
 *
 * Wiring only: options, the root and chroot checks (usage errors, exit
 * 2), then trap_open / trap_run / trap_close. Exit 0 after a SIGTERM
 * drain, 1 when something cannot be opened or the loop fails.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "mail/features.h"
#include "source/trap.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "util/banned.h"

static const char usage_text[] =
	"usage: spamtide trap --listen ADDR:PORT [OPTIONS]\n"
	"\n"
	"The SMTP spam trap: accepts every message for any recipient, never relays,\n"
	"records how each client speaks SMTP (its dialect), and keeps each message in\n"
	"the spool (a Maildir) and the store, attributed. A message is answered 250\n"
	"only once its file and its row are on disk.\n"
	"\n"
	"  --listen ADDR:PORT  address to accept SMTP on, IPv6 as [ADDR]:PORT; port 0\n"
	"                      picks one (logged); repeatable, at least one\n"
	"  --tls-cert FILE     PEM certificate chain: STARTTLS is offered (with --tls-key)\n"
	"  --tls-key FILE      PEM private key\n"
	"  --http ADDR:PORT    serve Prometheus metrics on http://ADDR:PORT/metrics\n"
	"  --sensor NAME       sensor name stored with each message (default: host name)\n"
	"  --hostname NAME     name in the banner and Received: lines (default: host name)\n"
	"  --spool DIR         the Maildir (default ./spamtide.spool; created)\n"
	"  --db URL            store (default sqlite:./spamtide.db)\n"
	"  --kb DIR            knowledge base of learned families (default ./spamtide.kb)\n"
	"  --user NAME         drop to this user after opening everything (required\n"
	"                      when started as root)\n"
	"  --chroot DIR        chroot here after opening; spool, store and kb must be\n"
	"                      inside it\n"
	"  --limit NAME=VAL    override a limit ('--limit help' lists them)\n"
	"  --banner-delay MS   wait before the banner, to see clients that talk first\n"
	"                      (the limit smtp_banner_delay_ms; default 1000)\n"
	"  --syslog            log to syslog (mail facility) instead of stderr\n"
	"  --false-alarms N    online events: false cessations allowed per family and\n"
	"                      year under its own model (default 1; fewer: later)\n"
	"  --help              this text\n"
	"\n"
	"One log line per session. SIGTERM: stop accepting, let sessions finish\n"
	"(limit drain_ms), then 421; exit 0. SIGHUP: reopen the log, reload the\n"
	"knowledge base.\n"
	"\n"
	"Exit status: 0 drained after SIGTERM; 1 something could not be opened or\n"
	"the server failed; 2 usage (also: root without --user, paths outside --chroot).\n";

int cmd_trap(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'L' },
		{ "tls-cert", required_argument, NULL, 'c' },
		{ "tls-key", required_argument, NULL, 'K' },
		{ "http", required_argument, NULL, 'H' },
		{ "sensor", required_argument, NULL, 's' },
		{ "hostname", required_argument, NULL, 'n' },
		{ "spool", required_argument, NULL, 'S' },
		{ "db", required_argument, NULL, 'd' },
		{ "kb", required_argument, NULL, 'k' },
		{ "user", required_argument, NULL, 'u' },
		{ "chroot", required_argument, NULL, 'r' },
		{ "limit", required_argument, NULL, 'l' },
		{ "banner-delay", required_argument, NULL, 'b' },
		{ "syslog", no_argument, NULL, 'y' },
		{ "false-alarms", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct trap_options o;
	const char **listen = NULL;
	size_t nlisten = 0;
	bool kb_given = false;
	char err[2048], host[256];
	trap *t = NULL;
	int c, status;

	memset(&o, 0, sizeof(o));
	o.spool = "./spamtide.spool";
	o.db = cmd_default_db;
	o.kb = cmd_default_kb;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'L':
		case 'H': {
			/* a malformed address is a usage error, said before anything starts */
			struct sockaddr_storage ss;
			socklen_t sl;
			char why[256];

			if (!trap_parse_endpoint(optarg, &ss, &sl, why, sizeof(why))) {
				free(listen);
				return cmd_usage_error("trap", "%s %s", c == 'H' ? "--http" : "--listen", why);
			}
			if (c == 'H') {
				o.http = optarg;
				break;
			}
			listen = xreallocarray(listen, nlisten + 1, sizeof(*listen));
			listen[nlisten++] = optarg;
			break;
		}
		case 'c': o.tls_cert = optarg; break;
		case 'K': o.tls_key = optarg; break;
		case 's': o.sensor = optarg; break;
		case 'n': o.hostname = optarg; break;
		case 'S': o.spool = optarg; break;
		case 'd': o.db = optarg; break;
		case 'k': o.kb = optarg; kb_given = true; break;
		case 'u': o.user = optarg; break;
		case 'r': o.chroot = optarg; break;
		case 'y': o.syslog = true; break;
		case 'a':
			if (!cmd_parse_positive("trap", "--false-alarms", optarg, &o.false_alarms)) {
				free(listen);
				return CMD_USAGE;
			}
			break;
		case 'l':
		case 'b': {
			char assignment[128];

			if (c == 'b')
				snprintf(assignment, sizeof(assignment), "smtp_banner_delay_ms=%s", optarg);
			else
				snprintf(assignment, sizeof(assignment), "%s", optarg);
			if (!cmd_apply_limit("trap", assignment)) {
				free(listen);
				return CMD_USAGE;
			}
			break;
		}
		case 'h':
			fputs(usage_text, stdout);
			free(listen);
			return CMD_OK;
		default:
			free(listen);
			return cmd_option_error("trap");
		}
	}
	if (optind < argc) {
		free(listen);
		return cmd_usage_error("trap", "unexpected argument '%s'", argv[optind]);
	}
	if (nlisten == 0) {
		free(listen);
		return cmd_usage_error("trap", "no --listen ADDR:PORT given");
	}
	if (!o.tls_cert != !o.tls_key) {
		free(listen);
		return cmd_usage_error("trap", "--tls-cert and --tls-key go together");
	}
	if (geteuid() == 0 && !o.user) {
		free(listen);
		return cmd_usage_error("trap", "started as root: --user NAME is required (the trap "
				       "never serves a client as root)");
	}
	if (o.chroot && !kb_given) {
		char inside[4096];

		/* the default knowledge base only when it lies inside */
		if (!trap_path_inside(o.chroot, o.kb, inside, sizeof(inside), err, sizeof(err)))
			o.kb = NULL;
	}
	if (!trap_check_chroot(&o, err, sizeof(err))) {
		free(listen);
		return cmd_usage_error("trap", "%s", err);
	}
	if (!o.sensor) {
		if (gethostname(host, sizeof(host) - 1) != 0 || !host[0])
			snprintf(host, sizeof(host), "trap");
		host[sizeof(host) - 1] = '\0';
		o.sensor = host;
	}
	o.listen = listen;
	o.nlisten = nlisten;

	log_init("spamtide trap", o.syslog);
	mail_init();
	if (trap_open(&o, &t, err, sizeof(err)) != TRAP_OK) {
		mail_shutdown();
		free(listen);
		return cmd_error("trap", "%s", err);
	}
	status = CMD_OK;
	if (trap_run(t, err, sizeof(err)) != TRAP_OK)
		status = cmd_error("trap", "%s", err);
	trap_close(t);
	mail_shutdown();
	free(listen);
	return status;
}
