/*
 * internal.h - what the files of src/sim/ share; not part of the public
 * interface (that is sim.h). Scenario structures, compiled templates, the
 * random number generator, and template expansion.
 *
 * Everything a scenario holds lives in its arena and is freed with it.
 */
#ifndef SPAMTIDE_SIM_INTERNAL_H
#define SPAMTIDE_SIM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/sim.h"
#include "util/arena.h"
#include "util/buf.h"

/* --- random numbers: xoshiro256**, seeded through splitmix64 ------------ */

struct rng {
	uint64_t s[4];
};

void rng_seed(struct rng *r, uint64_t seed);
uint64_t rng_next(struct rng *r);
/* rng_below: uniform in [0, n), n > 0. */
uint32_t rng_below(struct rng *r, uint32_t n);
/* rng_range: uniform in [lo, hi]. */
int rng_range(struct rng *r, int lo, int hi);
double rng_unit(struct rng *r);   /* [0, 1) */
uint64_t sim_seed_mix(uint64_t a, uint64_t b);
uint64_t sim_seed_str(uint64_t a, const char *s);

/* --- compiled templates ---------------------------------------------------
 * "Dear {first}, {pct}% off {product}: {url}" compiles to a list of
 * segments; expansion appends to a buf. See docs/scenarios.md for the
 * variables. */

enum tpl_op {
	OP_LIT, OP_HEX, OP_HEXU, OP_DIGITS, OP_ALNUM, OP_LOWER, OP_UPPER,
	OP_FIRST, OP_LAST, OP_FIRST_LC, OP_LAST_LC, OP_NAME, OP_WORD, OP_WORD_CAP,
	OP_WORDS, OP_SENTENCE, OP_PRODUCT, OP_AMOUNT, OP_PCT, OP_INT, OP_URL,
	OP_DOMAIN, OP_RCPT, OP_RCPT_LOCAL, OP_RCPT_DOMAIN, OP_TO, OP_TO_ANGLE,
	OP_FROM, OP_FROM_LOCAL, OP_FROM_DOMAIN, OP_HELO, OP_IP, OP_DATE,
	OP_SUBJECT, OP_CHOICE, OP_BOUNDARY, OP_TRAP, OP_RAND_IP, OP_RAND_HOST,
	OP_CONTENT_TYPE, OP_CTE, OP_CHARSET, OP_SFIRST, OP_SLAST, OP_SFIRST_LC, OP_SLAST_LC, OP_ORG,
};

enum date_style { DATE_UTC, DATE_LOCAL, DATE_LOCAL_NODAY, DATE_GMT, DATE_2DIGIT, DATE_NAMED };

struct tpl_seg {
	enum tpl_op op;
	bool bot;             /* stable per bot (seeded by the bot's index) */
	int a, b;             /* lengths, ranges, date style */
	const char *lit;      /* OP_LIT */
	size_t litlen;
	struct tpl **opts;    /* OP_CHOICE: each alternative is a template */
	size_t nopts;
};

struct tpl {
	struct tpl_seg *segs;
	size_t nsegs;
	const char *src;      /* the template text as written */
	uint64_t salt;        /* seeds per-bot values: stable across runs */
};

/* tpl_compile: NULL with err filled on an unknown variable or bad brace. */
struct tpl *tpl_compile(struct arena *a, const char *text, char *err, size_t errlen);

/* --- scenario -------------------------------------------------------------- */

enum mime_shape { MIME_PLAIN, MIME_HTML, MIME_ALTERNATIVE };
enum cte { CTE_7BIT, CTE_8BIT, CTE_QP, CTE_BASE64 };

struct campaign {
	const char *name;
	int64_t from, until;          /* validity; until exclusive, 0 = open */
	const char **domains;         /* URL domains of this campaign */
	size_t ndomains;
	const char **products;
	size_t nproducts;
	struct tpl **subjects;
	size_t nsubjects;
	struct tpl **bodies;
	size_t nbodies;
	const char **paths;           /* URL paths (templates are not needed) */
	size_t npaths;
};

/* Dialect and header style of a family from `since` on. */
struct style {
	int64_t since;
	struct tpl *helo;             /* the name given */
	const char *greet;            /* "EHLO", "HELO", "ehlo", ... */
	struct tpl *mail;             /* MAIL command line */
	struct tpl *rcpt;             /* RCPT command line, per recipient */
	struct tpl *from;             /* sender address */
	bool rset;                    /* RSET between messages of a session */
	bool quit;                    /* QUIT at the end (else just close) */
	double starttls;              /* probability a session uses STARTTLS */
	struct tpl **headers;         /* in order; one is Message-ID */
	size_t nheaders;
	size_t msgid_header;          /* index of the Message-ID header */
	enum mime_shape mime;
	const char *charset;
	enum cte cte;
	struct tpl *boundary;
	int rcpt_min, rcpt_max;       /* recipients per message */
	int conn_min, conn_max;       /* messages per connection */
	size_t *campaigns;            /* indices into the scenario's campaigns */
	size_t ncampaigns;
};

enum plan_type { PLAN_PAUSE, PLAN_TAKEDOWN, PLAN_LEVEL };

struct plan {
	enum plan_type type;
	int64_t t1, t2;               /* PAUSE: [t1, t2); else t1 */
	double factor;                /* level from t2 (PAUSE) or t1 (LEVEL) on */
};

struct spike {
	int start_min;                /* minute of the day */
	int minutes;
	double factor;
};

struct source {
	struct sim_source_info info;
	uint64_t salt;
	double shape[1440];           /* time-of-day multiplier, mean 1 */
	double profile[24];
	struct spike *spikes;
	size_t nspikes;
	int sleep_from, sleep_to;     /* minutes of the day; -1 when awake */
	int burst_minutes;
	uint32_t pool_base;           /* first index in the global address space */
	struct plan *plans;
	size_t nplans;
	struct style *styles;         /* by since, ascending; styles[0].since = start */
	size_t nstyles;
	int line;                     /* where the section starts */
};

struct sim_scenario {
	struct arena arena;
	const char *origin;
	const char *name;
	const char *title;
	int64_t start, end;
	const char *trap_host;
	uint32_t trap_ip;
	const char **rcpt_domains;
	size_t nrcpt_domains;
	struct source *sources;
	size_t nsources;
	struct campaign *campaigns;
	size_t ncampaigns;
	struct sim_event *events;
	size_t nevents;
	struct sim_claim *claims;
	size_t nclaims;
	/* built-in styles for unknown and legit mail (compiled on load) */
	struct builtin *builtin;
};

/* --- expansion ----------------------------------------------------------- */

/* What a template may refer to while one message is built. */
struct msg_ctx {
	const sim_scenario *s;
	struct rng *r;                /* per-message draws */
	uint64_t bot_seed;            /* draws stable per bot */
	const struct campaign *camp;  /* may be NULL */
	const struct style *style;    /* may be NULL (unknown, legit) */
	int64_t t;
	int zone_min;                 /* the bot's UTC offset in minutes */
	const char *ip;
	const char *helo;
	const char *from;
	const char *const *rcpts;
	size_t nrcpts;
	size_t cur_rcpt;
	const char *subject;
	const char *boundary;
	const char *content_type;
	const char *charset;
	const char *cte;
	const char *sfirst, *slast;   /* the sender's name, one per message */
	const char *product;          /* the product of this message */
	const char *domain;           /* the URL domain of this message */
};

void tpl_expand(struct buf *out, const struct tpl *t, struct msg_ctx *c);

/* day names by days since 1970-01-01 modulo 7 (Thursday first); month names */
extern const char sim_wday_names[7][4];
extern const char sim_mon_names[12][4];

/* mail dates as bots and MUAs write them */
void sim_format_date(struct buf *out, int64_t t, int zone_min, enum date_style st);

/* word lists (words.c) */
extern const char *const sim_first_names[];
extern const size_t sim_nfirst_names;
extern const char *const sim_last_names[];
extern const size_t sim_nlast_names;
extern const char *const sim_words[];
extern const size_t sim_nwords;
const char *sim_pick(struct rng *r, const char *const *list, size_t n);

/* --- built-in unknown and legit mail (builtin.c) --------------------------- */

struct builtin;
struct builtin *builtin_compile(struct arena *a);
/*
 * builtin_style: a dialect and header style for one unknown or legit
 * session, assembled at random from parts (unknown mail must not look like
 * a family); hdrs has room for BUILTIN_MAX_HEADERS.
 */
#define BUILTIN_MAX_HEADERS 24
void builtin_style(const struct builtin *b, enum sim_kind k, struct rng *r, struct style *st,
		   struct tpl **hdrs);
const struct campaign *builtin_campaign(const struct builtin *b, enum sim_kind k, struct rng *r);

/* body assembly shared by families and builtins (gen.c) */
void sim_body(struct buf *out, struct msg_ctx *c, enum mime_shape mime, enum cte cte,
	      const char *text, size_t textlen, struct rng *r);
void sim_ip_text(uint32_t ip, char out[16]);
uint32_t sim_address(const sim_scenario *s, uint32_t global_index);

#endif
