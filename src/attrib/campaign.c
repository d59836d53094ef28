/*
 * campaign.c - a message's campaign id from its own template.
 *
 * The subject and body text are normalised (lower case, words of letters
 * only: numbers, URLs, e-mail addresses and capitalised words inside a
 * sentence (names), where templates put their variables, are dropped), cut
 * into 3-word shingles, and each shingle is
 * hashed; the id is the smallest hash (a one-row MinHash band). Two
 * messages of one template share the id with probability equal to the
 * Jaccard similarity of their shingle sets, which for a template with a few
 * variable words is high; the id depends on nothing but the message, so it
 * is the same in classify, ingest and the trap, in any batch, with no
 * memory of other messages.
 */
#include <stdio.h>
#include <string.h>

#include "attrib/attrib.h"
#include "util/hash.h"
#include "util/banned.h"

#define CAMPAIGN_WORDS 200     /* words read: the opening screens carry the template */
#define CAMPAIGN_WORD_MAX 32   /* longer "words" are base64 or junk, skipped */
#define SHINGLE 3

struct words {
	uint64_t h[CAMPAIGN_WORDS];
	size_t n;
};

/* ASCII classes as the C locale has them, without a table call per byte */
static inline bool c_alpha(unsigned c) { return (unsigned)((c | 0x20) - 'a') < 26; }
static inline bool c_digit(unsigned c) { return (unsigned)(c - '0') < 10; }
static inline bool c_space(unsigned c) { return c == ' ' || (unsigned)(c - '\t') < 5; }

static void add_words(struct words *w, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	bool sentence_start = true;

	while (*p && w->n < CAMPAIGN_WORDS) {
		const unsigned char *start;
		uint64_t h = 0xcbf29ce484222325ULL;   /* FNV-1a of the lower-cased letters */
		size_t n = 0;
		bool variable = false, capital;

		while (*p && *p < 0x80 && !c_alpha(*p) && !c_digit(*p)) {
			if (*p == '.' || *p == '!' || *p == '?' || *p == ':' || *p == '\n')
				sentence_start = true;
			p++;
		}
		start = p;
		capital = (unsigned)(*p - 'A') < 26 && !sentence_start;
		/* one pass over the token (it runs to the next space: links and
		 * addresses are one token); template variables are links,
		 * addresses, numbers and names (capitalised inside a sentence);
		 * letters and UTF-8 sequences make the word */
		for (; *p && !c_space(*p); p++) {
			if (*p == '@' || *p == '/' || c_digit(*p)) {
				variable = true;
			} else if (*p >= 0x80) {
				h = (h ^ *p) * 0x100000001b3ULL;
				n++;
			} else if (c_alpha(*p)) {
				h = (h ^ (*p | 0x20u)) * 0x100000001b3ULL;
				n++;
			}
		}
		if (p == start)
			continue;
		sentence_start = strchr(".!?:", p[-1]) != NULL;
		if (variable || capital || n < 2 || n >= CAMPAIGN_WORD_MAX ||
		    (p - start > 4 && strncmp((const char *)start, "www", 3) == 0))
			continue;
		w->h[w->n++] = h;
	}
}

void attrib_campaign(const struct mail_features *f, char out[24])
{
	struct words w;
	uint64_t best = UINT64_MAX;
	size_t i;

	out[0] = '\0';
	w.n = 0;
	if (f->subject)
		add_words(&w, f->subject);
	if (f->body_text)
		add_words(&w, f->body_text);
	if (w.n == 0)
		return;
	if (w.n < SHINGLE) {
		best = hash64(w.h, w.n * sizeof(uint64_t), 0x6361);
	} else {
		for (i = 0; i + SHINGLE <= w.n; i++) {
			uint64_t h = hash64(&w.h[i], SHINGLE * sizeof(uint64_t), 0x6361);

			if (h < best)
				best = h;
		}
	}
	snprintf(out, 24, "campaign:%08x", (unsigned)(best >> 32));
}
