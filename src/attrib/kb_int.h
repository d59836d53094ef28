/*
 * kb_int.h - internal to src/attrib: the parsed form of rule files.
 */
#ifndef SPAMTIDE_ATTRIB_KB_INT_H
#define SPAMTIDE_ATTRIB_KB_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "attrib/attrib.h"

enum rule_op { RULE_EQ, RULE_RE, RULE_HAS };

struct rule_line {
	char *kind;              /* "header_order", "header:X-Mailer", "dialect.helo_verb" */
	enum rule_op op;
	char *value;             /* RULE_EQ: the value; RULE_RE: the pattern */
	pcre2_code *re;
	pcre2_match_data *md;
	double weight;           /* < 0: not given on this line */
	unsigned long seen;      /* learned lines: samples that had this value */
	unsigned lineno;
};

struct rule_group {
	const char *kind;
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
