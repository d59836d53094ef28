/*
 * kb_int.h - internal to src/attrib: the parsed form of rule files.
 */
#ifndef SPAMTIDE_ATTRIB_KB_INT_H
#define SPAMTIDE_ATTRIB_KB_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "attrib/attrib.h"

enum rule_op { RULE_EQ, RULE_RE, RULE_HAS };

/* A value cut into tokens for partial matching (header names, shape parts). */
struct seq_token {
	uint64_t h;              /* hash of the token */
	uint64_t hci;            /* of its lower case (header names) */
	float w;                 /* what matching it is worth */
	uint8_t cls;             /* shape class id (1..7), 0: not a class token */
};

struct seq {
	struct seq_token *t;
	size_t n;
	double wsum;
};

#define SEQ_MAX_TOKENS 96        /* tokens compared per value: bounds the O(m·n) LCS */

/* seq_kind: the kind compares by partial similarity; *shapes for shapes. */
bool seq_kind(const char *kind, bool *shapes);
/* seq_tokenize: s into out (tokens in buf[SEQ_MAX_TOKENS]). */
void seq_tokenize(struct seq *out, struct seq_token *buf, const char *s, bool shapes);
/* seq_credit: 0..1 credit of b against a: 0 below the partial floor. */
double seq_credit(const struct seq *a, const struct seq *b, bool shapes);

struct rule_line {
	char *kind;              /* "header_order", "header:X-Mailer", "dialect.helo_verb" */
	enum rule_op op;
	char *value;             /* RULE_EQ: the value; RULE_RE: the pattern */
	uint64_t value_hash;     /* of value, as attrib_feature.value_hash */
	pcre2_code *re;
	struct seq seq;          /* tokens, for kinds compared by similarity */
	bool is_seq, shapes;
	double weight;           /* < 0: not given on this line */
	unsigned long seen;      /* learned lines: samples that had this value */
	unsigned lineno;
};

struct rule_group {
	const char *kind;
	uint64_t kind_hash;      /* hash64(kind, len, 0) */
	/* when it applies: with content; with a session; when the message has
	 * the kind at all (helo_shape, greeting: a file may not say) */
	enum group_scope { SCOPE_CONTENT, SCOPE_DIALECT, SCOPE_PRESENT } scope;
	double weight;           /* as written (or the kind's default) */
	double effective;        /* weight × distinctiveness across the kb */
	double consistency;      /* share of the family's samples its lines cover (1: hand-written) */
	size_t *lines;           /* indexes into family.lines */
	size_t nlines;
};

struct family {
	char *name;
	char *description;
	char *origin;            /* "shipped" or a path */
	char **sources;
	size_t nsources;
	double threshold;
	unsigned long learned;
	struct rule_line *lines;
	size_t nlines;
	struct rule_group *groups;
	size_t ngroups;
	double total_weight;     /* of effective weights */
};

struct attrib_kb {
	struct family *fam;
	size_t n;
	uint64_t generation;     /* unique per kb built: keys the similarity memo */
};

/* The similarity memo of a vector: direct-mapped, keyed by (kb generation,
 * rule line, value hash). */
#define MEMO_SLOTS 8192
struct memo_entry {
	uint64_t generation;
	const void *line;
	uint64_t value;
	double credit;
};
struct attrib_memo {
	struct memo_entry e[MEMO_SLOTS];
	pcre2_match_data *md;    /* the vector's own: a kb is shared by threads */
	struct {                 /* classify.c's struct msg_seqs: the room for a */
		void *s;         /* message's value tokens, kept between messages */
		size_t n, cap;
	} seqs;
};

#define ATTRIB_DEFAULT_THRESHOLD 0.75

/* kb_parse_family: one rule file into *f; false with err "name:line: what". */
bool kb_parse_family(const char *origin, const char *text, size_t len, struct family *f,
		     char *err, size_t errlen);
void kb_family_free(struct family *f);
/* kb_base_weight: the default weight of a kind. */
double kb_base_weight(const char *kind);
/* kb_quote: a value as written in a rule file, "..." with escapes. */
void kb_quote(struct buf *out, const char *value);

#endif
