/*
 * seq.c - partial similarity of header orders and shapes.
 *
 * A value is cut into tokens (header names; or shape class tokens such as
 * HEX8 and single punctuation characters), each hashed once, so comparing
 * two values is a weighted longest common subsequence over integers:
 *   the same token                      its weight
 *   the same class, another length      half   (a longer Message-ID: a bot update)
 *   classes of one alphabet family      0.75 same length, 0.4 otherwise (random
 *                                       hex that happened to be all digits)
 *   header names equal but for case     half
 * Punctuation and DOMAIN/IP weigh FRAME_WEIGHT: every identifier has them.
 * similarity = 2·W / (Wa + Wb); credit = 0 up to PARTIAL_FLOOR (another
 * program's value that merely shares the frame), rising linearly to 1.
 */
#include <ctype.h>
#include <string.h>

#include "attrib/kb_int.h"
#include "util/hash.h"
#include "util/banned.h"

#define PARTIAL_FLOOR 0.6
#define FRAME_WEIGHT 0.3f

bool seq_kind(const char *kind, bool *shapes)
{
	/* the kinds a bot update changes a little; the coarse address and
	 * link shapes are compared as they are */
	static const char *const shape_kinds[] = { "msgid_shape", "date_shape", "boundary_shape",
						   "received_shape" };
	size_t i;

	if (strcmp(kind, "header_order") == 0) {
		*shapes = false;
		return true;
	}
	*shapes = true;
	for (i = 0; i < sizeof(shape_kinds) / sizeof(shape_kinds[0]); i++)
		if (strcmp(kind, shape_kinds[i]) == 0)
			return true;
	return false;
}

/*
 * The characters a class may hold (mail_shape's classes) as bits: digits,
 * a-f, A-F, other lower, other upper; the id is the index + 1.
 */
static const struct { const char *name; unsigned chars; } classes[] = {
	{ "DIGIT", 1 }, { "HEX", 1 | 2 }, { "UHEX", 1 | 4 }, { "LOWER", 2 | 8 },
	{ "UPPER", 4 | 16 }, { "ALPHA", 2 | 4 | 8 | 16 }, { "ALNUM", 31 },
};
#define NCLASSES (sizeof(classes) / sizeof(classes[0]))

static uint8_t class_id(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < NCLASSES; i++)
		if (strlen(classes[i].name) == n && memcmp(classes[i].name, p, n) == 0)
			return (uint8_t)(i + 1);
	return 0;
}

void seq_tokenize(struct seq *out, struct seq_token *buf, const char *s, bool shapes)
{
	size_t n = 0;

	out->t = buf;
	out->wsum = 0;
	while (*s && n < SEQ_MAX_TOKENS) {
		const char *p = s;
		struct seq_token *t = &buf[n];

		if (!shapes) {
			char lower[128];
			size_t k;

			while (*s == ' ')
				s++;
			if (!*s)
				break;
			p = s;
			while (*s && *s != ' ')
				s++;
			for (k = 0; k < (size_t)(s - p) && k < sizeof(lower); k++)
				lower[k] = (char)tolower((unsigned char)p[k]);
			t->h = hash64(p, (size_t)(s - p), 3);
			t->hci = hash64(lower, k, 3);
			t->w = 1;
			t->cls = 0;
		} else if (isupper((unsigned char)*s)) {
			const char *c;

			while (isupper((unsigned char)*s))
				s++;
			c = s;
			while (isdigit((unsigned char)*s))
				s++;
			t->h = hash64(p, (size_t)(s - p), 5);
			t->hci = t->h;
			t->cls = class_id(p, (size_t)(c - p));
			t->w = ((c - p == 6 && memcmp(p, "DOMAIN", 6) == 0) ||
				(c - p == 2 && memcmp(p, "IP", 2) == 0) || !t->cls) ? FRAME_WEIGHT : 1;
		} else {
			s++;
			t->h = hash64(p, 1, 5);
			t->hci = t->h;
			t->cls = 0;
			t->w = FRAME_WEIGHT;
		}
		out->wsum += t->w;
		n++;
	}
	out->n = n;
}

static double token_match(const struct seq_token *a, const struct seq_token *b, bool shapes)
{
	unsigned ca, cb;

	if (a->h == b->h)
		return a->w;
	if (!shapes)
		return a->hci == b->hci ? 0.5 * a->w : 0;
	if (!a->cls || !b->cls)
		return 0;
	if (a->cls == b->cls)
		return 0.5 * a->w;                 /* same class, another length */
	ca = classes[a->cls - 1].chars;
	cb = classes[b->cls - 1].chars;
	if ((ca & cb) == ca || (ca & cb) == cb)
		return 0.6 * a->w;                 /* one alphabet inside the other */
	return 0;
}

double seq_credit(const struct seq *a, const struct seq *b, bool shapes)
{
	double row[2][SEQ_MAX_TOKENS + 1], sim;
	size_t i, j;

	if (a->n == 0 || b->n == 0)
		return 0;
	/* even a full match of the shorter one could not clear the floor */
	if (2 * (a->wsum < b->wsum ? a->wsum : b->wsum) / (a->wsum + b->wsum) <= PARTIAL_FLOOR)
		return 0;
	memset(row[0], 0, sizeof(double) * (b->n + 1));
	for (i = 1; i <= a->n; i++) {
		double *cur = row[i & 1], *prev = row[(i - 1) & 1];

		cur[0] = 0;
		for (j = 1; j <= b->n; j++) {
			double best = prev[j] > cur[j - 1] ? prev[j] : cur[j - 1];
			double diag = prev[j - 1] + token_match(&a->t[i - 1], &b->t[j - 1], shapes);

			cur[j] = diag > best ? diag : best;
		}
	}
	sim = 2 * row[a->n & 1][b->n] / (a->wsum + b->wsum);
	return sim <= PARTIAL_FLOOR ? 0 : (sim - PARTIAL_FLOOR) / (1 - PARTIAL_FLOOR);
}
