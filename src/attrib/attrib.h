/*
 * attrib.h - which botnet family sent a message, how sure we are, and why.
 *
 * A message is described by a fingerprint vector (struct attrib_vector):
 * a list of (kind, value) pairs that say what the sending software fixed:
 * header order, Message-ID/Date/boundary shapes, X-Mailer, MIME layout,
 * constant header values, the HELO's shape, and, when an SMTP session was
 * seen, its dialect facts. Receiving-side headers never enter it (the mail
 * module leaves them out); the HELO and IP that the receiving hop recorded
 * do, as dialect.
 *
 * A family is a profile (one readable rule file, docs/rules.md): feature
 * lines, each an exact value or a PCRE2 pattern, with a weight. A message's
 * score against a family is the weighted share of the family's features it
 * matches; partial matches count (a header added by a bot update, another
 * Message-ID length), so a family updated in the wild still scores high but
 * lower. The best family wins if its score reaches the threshold; else the
 * message is "unknown": never forced into the nearest family.
 *
 * Knowledge base: the shipped rules (the .rule files of rules/, built in)
 * plus a directory's .rule files; a family in the directory replaces a
 * shipped one of the same name.
 *
 * Campaigns: every message gets "campaign:XXXXXXXX" from its own template
 * (MinHash over word shingles of its normalised subject and body), the same
 * in every command and batch.
 *
 * No I/O except kb loading/saving; classification is pure.
 */
#ifndef SPAMTIDE_ATTRIB_ATTRIB_H
#define SPAMTIDE_ATTRIB_ATTRIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mail/features.h"
#include "util/arena.h"
#include "util/buf.h"

#define ATTRIB_UNKNOWN "unknown"
#define ATTRIB_VALUE_SEED 11
#define ATTRIB_MAX_EVIDENCE 8

/* ---- the fingerprint vector of one message ---- */

struct attrib_feature {
	const char *kind;      /* "header_order", "header:X-Mailer", "dialect.helo_verb", ... */
	const char *value;
	uint64_t kind_hash;    /* hash64 of kind, for fast lookups */
	uint64_t value_hash;   /* hash64(value, len, ATTRIB_VALUE_SEED): keys the
				* similarity memo, and spares most compares */
};

struct attrib_memo;

struct attrib_vector {
	struct arena arena;
	struct attrib_feature *f;
	size_t n, cap;
	bool have_dialect;     /* an SMTP session's dialect facts are in it */
	bool encrypted;        /* dialect only: the content was encrypted */
	/* partial similarities already computed, kept across messages: the
	 * same shapes come back message after message (owned; freed with v) */
	struct attrib_memo *memo;
};

/* The SMTP session side, when there was one (trap, pcap). */
struct attrib_session {
	const char *dialect_id;
	const char *dialect_facts;     /* '\n'-joined key=value */
	bool encrypted;
};

void attrib_vector_init(struct attrib_vector *v);
void attrib_vector_reset(struct attrib_vector *v);
void attrib_vector_free(struct attrib_vector *v);
/* attrib_vector_build: the vector of a message; for an encrypted session
 * (s->encrypted) only the HELO's shape and the dialect. The HELO's shape is
 * smtp_helo_shape's, whether the HELO came from a session or a Received:
 * line, so the same bot looks the same in a capture and in a quarantine. */
void attrib_vector_build(struct attrib_vector *v, const struct mail_features *f,
			 const struct attrib_session *s);
void attrib_vector_add(struct attrib_vector *v, const char *kind, const char *value);
/* attrib_vector_add_dialect: a session's dialect id and '\n'-joined facts. */
void attrib_vector_add_dialect(struct attrib_vector *v, const char *dialect_id, const char *facts);
/* attrib_vector_value: the value of kind, or NULL. */
const char *attrib_vector_value(const struct attrib_vector *v, const char *kind);
/* attrib_vector_lookup: the same, with kind's hash64(kind, len, 0) known. */
const char *attrib_vector_lookup(const struct attrib_vector *v, const char *kind, uint64_t kind_hash);
/* attrib_vector_find: the feature itself (value and its hash), or NULL. */
const struct attrib_feature *attrib_vector_find(const struct attrib_vector *v, const char *kind,
						uint64_t kind_hash);
/* Serialised as "kind\tvalue\n" lines (\\, \t, \n escaped) for the store,
 * without the dialect (the store keeps it in columns of its own: give it
 * back with attrib_vector_add_dialect after parsing). */
void attrib_vector_serialize(const struct attrib_vector *v, struct buf *out);
bool attrib_vector_parse(struct attrib_vector *v, const char *p, size_t n);


/* ---- knowledge base ---- */

typedef struct attrib_kb attrib_kb;

/* attrib_kb_load: the shipped rules plus dir's *.rule (dir may be NULL or
 * missing). On a malformed file: NULL, err says file:line: what. */
attrib_kb *attrib_kb_load(const char *dir, char *err, size_t errlen);
/* attrib_kb_parse: one rule file's text (tests, `learn`). */
attrib_kb *attrib_kb_parse(const char *name, const char *text, size_t len, char *err, size_t errlen);
void attrib_kb_free(attrib_kb *kb);
size_t attrib_kb_count(const attrib_kb *kb);
const char *attrib_kb_family(const attrib_kb *kb, size_t i);
/* attrib_kb_origin: "shipped" or the file it came from. */
const char *attrib_kb_origin(const attrib_kb *kb, size_t i);

/* ---- classification ---- */

struct attrib_result {
	const char *family;        /* ATTRIB_UNKNOWN or a kb family name (owned by kb) */
	double confidence;         /* 0..1 */
	double score;              /* best family's similarity */
	const char *runner_up;     /* second family, NULL */
	double runner_up_score;
	char campaign[24];         /* "campaign:xxxxxxxx", "" when no text */
	char evidence[ATTRIB_MAX_EVIDENCE][128];
	size_t nevidence;
};

/* attrib_classify: v's memo is updated (so v is not const); not for use
 * by two threads on one vector. */
void attrib_classify(const attrib_kb *kb, struct attrib_vector *v, struct attrib_result *out);
/* attrib_campaign: the campaign id of a message's subject and body text. */
void attrib_campaign(const struct mail_features *f, char out[24]);

/* ---- measuring attribution against labels (classify --truth) ---- */

/*
 * A truth label that names a family of the knowledge base expects that
 * family; any other label (a family never learned, "legit", "unknown")
 * expects "unknown". Precision and recall are per expected family;
 * the confusion matrix keeps the labels as given.
 */
struct attrib_eval_row {
	const char *label;          /* as in the truth file */
	unsigned long *predicted;   /* [npredicted] */
	unsigned long total;
};

struct attrib_eval_family {
	const char *name;           /* a kb family, or "unknown" */
	unsigned long tp, fp, fn;
	double precision, recall;   /* NAN when undefined */
};

typedef struct attrib_eval attrib_eval;

attrib_eval *attrib_eval_new(const attrib_kb *kb);
void attrib_eval_add(attrib_eval *e, const char *truth_label, const char *predicted);
void attrib_eval_unlabelled(attrib_eval *e);
/* the results; valid until attrib_eval_free */
const struct attrib_eval_family *attrib_eval_families(attrib_eval *e, size_t *n);
const struct attrib_eval_row *attrib_eval_matrix(const attrib_eval *e, size_t *nrows,
						 const char *const **columns, size_t *ncolumns);
/* accuracy on messages whose label is a kb family; share of the others
 * called unknown; messages without a label */
void attrib_eval_summary(const attrib_eval *e, double *learned_accuracy,
			 unsigned long *learned_n, double *unknown_rate, unsigned long *other_n,
			 unsigned long *unlabelled);
void attrib_eval_free(attrib_eval *e);

/* ---- learning ---- */

typedef struct attrib_learner attrib_learner;

attrib_learner *attrib_learner_new(const char *family);
void attrib_learner_add(attrib_learner *l, const struct attrib_vector *v);
size_t attrib_learner_samples(const attrib_learner *l);
/*
 * attrib_learner_write: the family's rule file. existing (may be NULL) is
 * the current text of the file: its hand-written lines, comments and
 * weights are kept, learned lines are updated and new ones appended.
 * summary receives what was chosen and how consistent the samples were.
 * Returns false with err when existing does not parse.
 */
bool attrib_learner_write(attrib_learner *l, const char *existing, size_t existing_len,
			  const char *source_note, struct buf *out, struct buf *summary,
			  char *err, size_t errlen);
void attrib_learner_free(attrib_learner *l);

#endif
