/*
 * report.c - `spamtide report`: the analysis over what is stored.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analysis/analysis.h"
#include "cmd/cmd.h"
#include "pipeline/workers.h"
#include "render/render.h"
#include "store/store.h"
#include "util/timeutil.h"
#include "util/banned.h"

static const char usage_text[] =
	"usage: spamtide report [OPTIONS]\n"
	"\n"
	"What is stored, analysed: totals, shares per family, daily volume and\n"
	"day-over-day change, consistency, events (ceased, resumed, drop, surge)\n"
	"with their impact, largest campaigns, and a projection of total volume.\n"
	"\n"
	"  --db URL             store (default sqlite:./spamtide.db), opened read-only\n"
	"  --from T, --to T     period, half-open, ISO 8601 UTC (default: the days\n"
	"                       stored, up to now at most); events are judged with\n"
	"                       up to 28 days stored before it as history\n"
	"  --bucket 1m|1h|1d    bucket of the series printed (default 1h; 1m over at\n"
	"                       most 200 days)\n"
	"  --unit U             messages (default), recipients, bytes or clients\n"
	"  --format F           text (default), json, csv (the series) or html\n"
	"  --out DIR            where --format html writes (default ./spamtide-report/)\n"
	"  --scale N            each trapped message stands for N (projection)\n"
	"  --without FAMILY     project total volume as if FAMILY had never sent\n"
	"  --false-alarms N     events: false cessations allowed per family and year\n"
	"                       under its own model (default 0.1; fewer: later)\n"
	"  --alerts             events judged as the trap's alerts are: a budget of 1\n"
	"                       false cessation a family-year (unless --false-alarms)\n"
	"                       and bursts within the hour counted once: sooner, less\n"
	"                       sure\n"
	"  --jobs N             threads that judge families for events (default: the\n"
	"                       processors; the events are the same)\n"
	"  --help               this text\n";

/* store_runs callback: the latest sign of life of any run */
static void latest_run(void *ctx, const struct store_run *r)
{
	int64_t *seen = ctx;

	if (r->last > *seen)
		*seen = r->last;
}

static int64_t floor_to(int64_t t, int64_t step)
{
	return t >= 0 ? t / step * step : -((-t + step - 1) / step) * step;
}

/* the store's minute rollup of one family, for events put on the minute
 * over long periods (analysis_minutes_fn) */
static bool load_minutes(void *ctx, const char *family, int64_t from, int64_t to, struct store_series *w,
			 char *err, size_t errlen)
{
	return store_load_minutes(ctx, from, to, family, w, err, errlen) == STORE_OK;
}

int cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "bucket", required_argument, NULL, 'b' },
		{ "unit", required_argument, NULL, 'u' },
		{ "format", required_argument, NULL, 'F' },
		{ "out", required_argument, NULL, 'o' },
		{ "scale", required_argument, NULL, 's' },
		{ "without", required_argument, NULL, 'w' },
		{ "false-alarms", required_argument, NULL, 'a' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "alerts", no_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = cmd_default_db, *format = "text", *outdir = "./spamtide-report";
	struct analysis_report_options ro = { ANALYSIS_UNIT_MESSAGES, 3600, 1, NULL, 0, false, 0, false, 0, NULL };
	size_t jobs = 0;
	int64_t from = 0, to = 0, first, last, seen;
	bool have_from = false, have_to = false, empty;
	char err[1024];
	store *st = NULL;
	struct store_series series, history;
	bool with_history = false;
	struct report r;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'f':
			if (!cmd_parse_time("report", "--from", optarg, &from))
				return CMD_USAGE;
			have_from = true;
			break;
		case 't':
			if (!cmd_parse_time("report", "--to", optarg, &to))
				return CMD_USAGE;
			have_to = true;
			break;
		case 'b':
			if (strcmp(optarg, "1m") == 0)
				ro.bucket = 60;
			else if (strcmp(optarg, "1h") == 0)
				ro.bucket = 3600;
			else if (strcmp(optarg, "1d") == 0)
				ro.bucket = 86400;
			else
				return cmd_usage_error("report", "--bucket '%s': use 1m, 1h or 1d", optarg);
			break;
		case 'u':
			if (!analysis_unit_parse(optarg, &ro.unit))
				return cmd_usage_error("report", "--unit '%s': use messages, recipients, "
						       "bytes or clients", optarg);
			break;
		case 'F':
			if (strcmp(optarg, "text") && strcmp(optarg, "json") && strcmp(optarg, "csv") &&
			    strcmp(optarg, "html"))
				return cmd_usage_error("report", "--format '%s': use text, json, csv or "
						       "html", optarg);
			format = optarg;
			break;
		case 'o': outdir = optarg; break;
		case 's':
			if (!cmd_parse_positive("report", "--scale", optarg, &ro.scale))
				return CMD_USAGE;
			/* a trap sees at least one message in a trillion */
			if (ro.scale > 1e12)
				return cmd_usage_error("report", "--scale %s: at most 1e12", optarg);
			break;
		case 'a':
			if (!cmd_parse_positive("report", "--false-alarms", optarg, &ro.false_alarms))
				return CMD_USAGE;
			break;
		case 'A': ro.alerts = true; break;
		case 'j':
			if (!cmd_parse_jobs("report", optarg, &jobs))
				return CMD_USAGE;
			break;
		case 'w':
			if (!cmd_valid_family(optarg))
				return cmd_usage_error("report", "--without '%s': not a family name (a "
						       "lower-case word, [a-z0-9_-])", optarg);
			ro.without = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return CMD_OK;
		default:
			return cmd_option_error("report");
		}
	}
	if (optind < argc)
		return cmd_usage_error("report", "unexpected argument '%s'", argv[optind]);
	if (have_from && have_to && to <= from)
		return cmd_usage_error("report", "--to must be later than --from");
	if (ro.bucket < 3600 && ro.unit != ANALYSIS_UNIT_MESSAGES)
		return cmd_usage_error("report", "--unit %s is kept per hour: use --bucket 1h or 1d",
				       analysis_unit_name(ro.unit));

	ro.threads = (int)(jobs ? jobs : workers_count());

	if (store_open(db, STORE_READ, &st, err, sizeof(err)) != STORE_OK)
		return cmd_error("report", "%s", err);
	if (store_span(st, &first, &last, &empty, err, sizeof(err)) != STORE_OK) {
		store_close(st);
		return cmd_error("report", "%s", err);
	}
	memset(&r, 0, sizeof(r));
	/* a trap that watched on after the last message (a quiet family, or
	 * none sending) saw the minutes since: they are data too */
	seen = last;
	if (!empty && store_runs(st, latest_run, &seen, err, sizeof(err)) != STORE_OK) {
		store_close(st);
		return cmd_error("report", "%s", err);
	}
	/* the period asked for; the arrays cover only its part that holds data */
	if (!have_from)
		from = empty ? (have_to ? to : 0) : floor_to(first, 86400);
	if (!have_to) {
		int64_t now = (int64_t)time(NULL);

		to = empty ? from : floor_to(seen, 86400) + 86400;
		/* a live store's last day is not over: minutes still to come are
		 * no family's silence (every family would read as ceased). The
		 * period ends after the current second, which holds messages
		 * too: ending at `now` left out the whole minute when now fell
		 * on its first second. */
		if (!empty && to > now && now >= seen)
			to = now + 1;
		/* --from after the last data: an empty period, not one ending
		 * before it begins */
		if (to < from)
			to = from;
	}
	/* --to before the first data: likewise */
	if (!have_from && from > to)
		from = to;
	if (!empty && ((have_to && !have_from && to <= first) || (have_from && !have_to && from > seen))) {
		char a[24];

		time_format_human(have_from ? seen : first, a);
		fprintf(stderr, "spamtide report: note: the store's messages %s at %s, %s: the period "
			"is empty\n", have_from ? "end" : "begin", a, have_from ? "before --from" : "after --to");
	}
	/* the rollups count minutes: a period is of whole minutes, said when
	 * asked for otherwise */
	if ((have_from && from % 60) || (have_to && to % 60)) {
		char a[24], b[24];

		time_format_human(floor_to(from, 60), a);
		time_format_human(floor_to(to + 59, 60), b);
		fprintf(stderr, "spamtide report: note: periods are whole minutes: %s to %s\n", a, b);
	}
	from = floor_to(from, 60);
	to = floor_to(to + 59, 60);
	{
		int64_t lo = from, hi = to;

		if (!empty) {
			if (lo < floor_to(first, 86400))
				lo = floor_to(first, 86400);
			if (hi > floor_to(seen, 86400) + 86400)
				hi = floor_to(seen, 86400) + 86400;
		}
		if (empty || hi <= lo)
			lo = hi = from;
		if (ro.bucket < 3600 && hi - lo > (int64_t)STORE_MINUTE_DAYS * 86400) {
			store_close(st);
			return cmd_usage_error("report", "--bucket 1m: a period over %d days is read per hour; "
					       "use --bucket 1h or 1d, or a shorter period (--from, --to)",
					       STORE_MINUTE_DAYS);
		}
		if (store_load_series(st, lo, hi, ro.unit == ANALYSIS_UNIT_CLIENTS, &series, err,
				      sizeof(err)) != STORE_OK) {
			store_close(st);
			return cmd_error("report", "%s", err);
		}
		/* a period that begins after the store does: the days before it
		 * are the families' history, which its events are judged by
		 * (the minutes of all families; a period read per hour has 200
		 * days of its own) */
		if (!empty && series.step == 60 && hi > lo) {
			int64_t h0 = lo - (int64_t)ANALYSIS_HISTORY_DAYS * 86400;

			if (h0 < floor_to(first, 86400))
				h0 = floor_to(first, 86400);
			if (h0 < hi - (int64_t)STORE_MINUTE_DAYS * 86400)
				h0 = hi - (int64_t)STORE_MINUTE_DAYS * 86400;
			h0 = floor_to(h0, 60);
			if (h0 < lo) {
				if (store_load_minutes(st, h0, hi, NULL, &history, err, sizeof(err)) !=
				    STORE_OK) {
					store_series_free(&series);
					store_close(st);
					return cmd_error("report", "%s", err);
				}
				with_history = history.step == 60 && history.to == series.to;
				if (with_history)
					ro.events_from = &history;
				else
					store_series_free(&history);
			}
		}
	}
	ro.hourly = strcmp(format, "html") == 0;
	rc = analysis_report(&series, &ro, &r, err, sizeof(err));
	if (with_history)
		store_series_free(&history);
	if (rc != ANALYSIS_OK) {
		report_free(&r);
		store_series_free(&series);
		store_close(st);
		return cmd_error("report", "%s", err);
	}
	/* a long period was judged per hour: its cessations and returns are
	 * put on the minute from the minutes around each */
	if (series.step > 60) {
		size_t unplaced;

		if (analysis_report_events_to_minute(&r, &ro, series.from, series.to, load_minutes, st, &unplaced, err,
						     sizeof(err)) != ANALYSIS_OK) {
			report_free(&r);
			store_series_free(&series);
			store_close(st);
			return cmd_error("report", "%s", err);
		}
		if (unplaced)
			fprintf(stderr, "spamtide report: note: %zu cessation(s) or return(s) timed to the hour: "
				"the store holds no minute counts around them\n", unplaced);
	}
	r.from = from;
	r.to = to;
	r.data_from = series.from;
	r.data_to = series.to;
	r.has_period = have_from || have_to || !empty;
	if (r.without && r.without_absent) {
		/* a name mistyped, or a family of another period: said, not
		 * fatal (the projection is the whole total's, which is true) */
		fprintf(stderr, "spamtide report: note: --without %s: no message of it in the period (families:", r.without);
		for (size_t f = 0; f < r.nfamilies; f++)
			fprintf(stderr, " %s", r.families[f].name);
		fprintf(stderr, "%s); the projection is of the whole total\n", r.nfamilies ? "" : " none");
	}
	store_series_free(&series);
	store_close(st);

	errno = 0;
	if (strcmp(format, "html") == 0) {
		rc = render_html(&r, outdir, err, sizeof(err));
		report_free(&r);
		if (rc != 0)
			return cmd_error("report", "%s", err);
		printf("report: wrote %s/report.html\n", outdir);
		return CMD_OK;
	}
	if (strcmp(format, "json") == 0)
		rc = render_json(&r, stdout);
	else if (strcmp(format, "csv") == 0)
		rc = render_csv(&r, stdout);
	else
		rc = render_text(&r, stdout);
	report_free(&r);
	if (rc != 0)
		return cmd_error("report", "writing the report: %s", strerror(errno ? errno : EIO));
	return CMD_OK;
}
