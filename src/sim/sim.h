/*
 * sim.h - simulated botnet spam with ground truth: scenarios, the message
 * stream, and writers (mbox, pcap, live SMTP, truth, events).
 *
 * A scenario (docs/scenarios.md) describes a period, botnet families
 * (volume, time-of-day profile, spikes, burstiness, pauses, takedowns, level
 * changes, SMTP dialect, header quirks, campaign templates), spam of no
 * family (`unknown`), legitimate mail (`legit`) and the story's claims.
 * Named scenarios are the files sim/scenarios/NAME.conf built into the
 * binary.
 *
 * The generator is deterministic: a scenario and a seed give the same
 * stream, byte for byte. Pull it with sim_gen_next() or push it into a
 * callback with sim_run(). Each message says when it was sent, by whom
 * (label, client address, HELO), its envelope, the SMTP command lines the
 * client sends, and its bytes (CRLF line ends, not dot-stuffed).
 *
 * Ownership: a sim_scenario owns everything reachable from it and must
 * outlive any sim_gen made from it. A message returned by sim_gen_next()
 * and everything it points to is valid until the next call or
 * sim_gen_free(). Errors: functions returning NULL or -1 fill err with one
 * line; parse errors read "FILE:LINE: what".
 *
 * Limits: a scenario file at most SIM_MAX_FILE bytes and 400 days, at most
 * SIM_MAX_SOURCES sources (families, unknown, legit), 256 parts per
 * template, random strings of at most 64 characters, at most 100
 * recipients per message and 100 messages per connection.
 */
#ifndef SPAMTIDE_SIM_SIM_H
#define SPAMTIDE_SIM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#define SIM_MAX_FILE (4u << 20)
#define SIM_MAX_SOURCES 64

typedef struct sim_scenario sim_scenario;
typedef struct sim_gen sim_gen;

/* --- scenarios ---------------------------------------------------------- */

/*
 * sim_scenario_load: NAME (a built-in scenario) or a file path. A name
 * without '/' and without ".conf" is looked up among the built-in ones
 * first; anything else is read as a file.
 */
sim_scenario *sim_scenario_load(const char *name_or_file, char *err, size_t errlen);
/* sim_scenario_parse: text of a scenario; origin names it in errors. */
sim_scenario *sim_scenario_parse(const char *text, size_t len, const char *origin,
				 char *err, size_t errlen);
void sim_scenario_free(sim_scenario *s);
/* sim_scenario_builtin: the i-th built-in scenario name, NULL past the end. */
const char *sim_scenario_builtin(size_t i);

const char *sim_scenario_name(const sim_scenario *s);
const char *sim_scenario_title(const sim_scenario *s);
int64_t sim_scenario_start(const sim_scenario *s);   /* first second */
int64_t sim_scenario_end(const sim_scenario *s);     /* exclusive */

enum sim_kind {
	SIM_FAMILY,    /* a botnet family */
	SIM_UNKNOWN,   /* one-off spam of no family, labelled "unknown" */
	SIM_LEGIT,     /* legitimate mail, labelled "legit" */
};

struct sim_source_info {
	const char *label;      /* family name, "unknown" or "legit" */
	enum sim_kind kind;
	double rate_per_hour;   /* the base daily mean before level changes */
	uint32_t pool;          /* client addresses in the pool */
	double burstiness;      /* coefficient of variation of the gamma mixing */
	bool sleeps;            /* silent every night */
};

size_t sim_source_count(const sim_scenario *s);
const struct sim_source_info *sim_source(const sim_scenario *s, size_t i);
/* sim_source_index: the index of a label, or -1. */
int sim_source_index(const sim_scenario *s, const char *label);

enum sim_event_type { SIM_CEASED, SIM_RESUMED, SIM_DROP, SIM_SURGE };
const char *sim_event_type_name(enum sim_event_type t);

/* A planned event of the scenario (what the file says, minute resolution). */
struct sim_event {
	const char *family;
	enum sim_event_type type;
	int64_t at;            /* the planned time */
	double factor;         /* level after / level before (0 for ceased) */
};

size_t sim_event_count(const sim_scenario *s);
const struct sim_event *sim_event(const sim_scenario *s, size_t i);

enum sim_claim_kind {
	SIM_CLAIM_SHARE,     /* family's share of all spam over [from, to) = value */
	SIM_CLAIM_CHANGE,    /* total spam of day `to` against day `from` = value (-0.12) */
	SIM_CLAIM_STEADIER,  /* family's hourly CV over [from, to) below other's */
	SIM_CLAIM_AT_LEAST,  /* family sends at least as much as other over [from, to) */
	SIM_CLAIM_CEASED,    /* family ceased at `at` (within tolerance minutes) */
	SIM_CLAIM_RESUMED,   /* family resumed at `at` (within tolerance minutes) */
	SIM_CLAIM_RATE,      /* family sends at least value per hour over [from, to) */
};
const char *sim_claim_kind_name(enum sim_claim_kind k);

/* A claim of the story the analysis must recover, with its source. */
struct sim_claim {
	const char *name;
	enum sim_claim_kind kind;
	const char *family;    /* NULL for CHANGE (total spam) */
	const char *other;     /* STEADIER and AT_LEAST; else NULL */
	int64_t from, to;      /* period or days; 0 where unused */
	int64_t at;            /* CEASED/RESUMED; else 0 */
	double value;          /* SHARE, CHANGE, RATE; else 0 */
	double tolerance;      /* absolute for values, minutes for at */
	const char *text;      /* the story's sentence */
	const char *source;    /* citation */
};

size_t sim_claim_count(const sim_scenario *s);
const struct sim_claim *sim_claim(const sim_scenario *s, size_t i);

/* --- the message stream ------------------------------------------------- */

struct sim_options {
	uint64_t seed;          /* default 1 */
	const char *sandbox;    /* only this family, as a sandbox produces it */
	size_t count;           /* sandbox: messages (0: 300) */
	size_t max;             /* stop after this many messages (0: no bound) */
	bool envelope_only;     /* skip building message bytes (data is "") */
};

/* One message as the client sends it. */
struct sim_message {
	int64_t time;           /* second the trap accepts it (end of DATA) */
	uint32_t usec;
	size_t source;          /* index into the scenario's sources */
	const char *label;      /* truth: family, "unknown" or "legit" */
	uint32_t client_ip;     /* IPv4, host order */
	uint32_t bot;           /* index of the client in its source's pool */
	const char *client_text;/* dotted quad of client_ip */
	const char *helo;       /* the name given in EHLO/HELO */
	const char *mail_from;  /* envelope sender ("" for <>) */
	const char *const *rcpts;
	size_t nrcpts;
	const char *message_id; /* as in the header, with angle brackets */
	/*
	 * The client's command lines for this message, without CRLF, in order.
	 * The first message of a session starts with the greeting (and
	 * STARTTLS with its second greeting); "DATA" is followed by the data;
	 * lines after "DATA" are sent after the final dot (RSET, QUIT).
	 */
	const char *const *commands;
	size_t ncommands;
	bool esmtp;             /* the client greeted with EHLO (else HELO) */
	bool starttls;          /* the session switches to TLS after its greeting */
	const char *data;       /* the message, CRLF, not dot-stuffed */
	size_t len;
	uint64_t session;       /* id, unique in the stream */
	unsigned index_in_session;
	bool last_in_session;
};

sim_gen *sim_gen_new(const sim_scenario *s, const struct sim_options *o, char *err, size_t errlen);
/* sim_gen_next: the next message, NULL at the end of the scenario (or max). */
const struct sim_message *sim_gen_next(sim_gen *g);
/* sim_gen_count: messages generated so far. */
size_t sim_gen_count(const sim_gen *g);
/* sim_gen_label_count: messages of source i generated so far. */
size_t sim_gen_label_count(const sim_gen *g, size_t i);
/*
 * sim_gen_events: the scenario's events as they happened in what was
 * generated so far (DESIGN.md fields; `at` from the actual messages), as a
 * new JSON array. Events past the end of what was generated are left out.
 */
json_t *sim_gen_events(const sim_gen *g);
void sim_gen_free(sim_gen *g);

/*
 * sim_gen_claim_value: what the messages generated so far show for a claim
 * (legit mail excluded from "all spam"): SHARE the family's share; CHANGE
 * the day-over-day change of total spam; STEADIER the family's hourly
 * coefficient of variation minus the other's; AT_LEAST the family's count
 * over the other's; CEASED/RESUMED minutes from the claim's `at` to the
 * nearest such event of the family; RATE messages per hour. false when it
 * cannot be computed (no data, no such event).
 */
bool sim_gen_claim_value(const sim_gen *g, const struct sim_claim *c, double *value);
/* sim_claim_holds: whether a value from sim_gen_claim_value satisfies the claim. */
bool sim_claim_holds(const struct sim_claim *c, double value);

/* A consumer of the stream; a non-zero return stops sim_run. */
typedef int sim_message_fn(const struct sim_message *m, void *ctx);
/* sim_run: every message through fn; 0, or fn's non-zero value, or -1. */
int sim_run(sim_gen *g, sim_message_fn *fn, void *ctx);

/* --- writers ------------------------------------------------------------ */

/*
 * A writer takes the stream message by message. Output files are opened
 * by the caller. The truth line of each message is "MESSAGE-ID<TAB>label".
 */
typedef struct sim_mbox sim_mbox;
sim_mbox *sim_mbox_new(FILE *out, const sim_scenario *s);
int sim_mbox_write(sim_mbox *w, const struct sim_message *m);
void sim_mbox_free(sim_mbox *w);

typedef struct sim_pcap sim_pcap;
sim_pcap *sim_pcap_new(FILE *out, const sim_scenario *s, uint64_t seed);
int sim_pcap_write(sim_pcap *w, const struct sim_message *m);
/* sim_pcap_finish: flushes packets still held for time ordering. */
int sim_pcap_finish(sim_pcap *w);
void sim_pcap_free(sim_pcap *w);

int sim_truth_write(FILE *out, const struct sim_message *m);

/* Live SMTP: sessions from 127.F.x.y (F the source, x.y the bot) to addr. */
struct sim_smtp_options {
	const char *host;       /* numeric IPv4 */
	unsigned port;
	double rate;            /* messages per second to start (0: no pacing) */
	unsigned concurrency;   /* sessions at once (0: 64) */
	unsigned timeout_ms;    /* per reply (0: 10000) */
	FILE *truth;            /* truth lines of what was attempted, or NULL */
};

struct sim_smtp_stats {
	size_t sessions;
	size_t delivered;       /* 250 after the final dot */
	size_t failed;          /* refused, timed out, connection lost */
};

/* sim_smtp_run: the whole stream over SMTP; -1 with err on a setup error. */
int sim_smtp_run(sim_gen *g, const struct sim_smtp_options *o, struct sim_smtp_stats *st,
		 char *err, size_t errlen);

#endif
