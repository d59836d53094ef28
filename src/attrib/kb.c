/*
 * kb.c - the knowledge base: rule files parsed, shipped and local merged.
 *
 * Grammar of a rule file (docs/rules.md):
 *   # comment                     blank lines and comments anywhere
 *   family NAME                   first statement; NAME is [a-z0-9_-]+
 *   description TEXT
 *   source TEXT                   provenance, repeatable
 *   threshold 0.75                score needed to claim a message
 *   learned N                     samples `learn` has seen
 *   KIND = "VALUE" [weight W] [seen N]
 *   KIND ~ /PATTERN/[i] [weight W]
 *   has HEADER-NAME [weight W]
 * Lines of one KIND are alternatives; the group's weight is the largest
 * given on its lines, else the kind's default.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "attrib/kb_int.h"
#include "util/embedded.h"
#include "util/hash.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define RULE_FILE_MAX (4 * 1024 * 1024)   /* bytes of one rule file */
#define RULE_LINES_MAX 10000              /* feature lines per family */

double kb_base_weight(const char *kind)
{
	static const struct { const char *kind; double w; } table[] = {
		{ "header_order", 3 }, { "msgid_shape", 2 }, { "x_mailer", 2 },
		{ "boundary_shape", 1.5 }, { "date_shape", 1 }, { "mime", 1 }, { "charset", 0.5 },
		{ "encoding", 0.5 }, { "helo_shape", 1 }, { "from_shape", 1 }, { "to_shape", 1 },
		{ "url_shape", 0.5 }, { "received_shape", 1 }, { "dialect_id", 3 }, { "greeting", 1 },
	};
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(kind, table[i].kind) == 0)
			return table[i].w;
	if (strncmp(kind, "header:", 7) == 0)
		return 1;
	if (strncmp(kind, "dialect.", 8) == 0)
		return 0.5;
	return 1;
}

void kb_quote(struct buf *out, const char *value)
{
	const unsigned char *p;

	buf_addch(out, '"');
	for (p = (const unsigned char *)value; *p; p++) {
		if (*p == '"' || *p == '\\')
			buf_printf(out, "\\%c", *p);
		else if (*p == '\n')
			buf_addstr(out, "\\n");
		else if (*p == '\t')
			buf_addstr(out, "\\t");
		else if (*p < 0x20 || *p == 0x7f)
			buf_printf(out, "\\x%02x", *p);
		else
			buf_addch(out, *p);
	}
	buf_addch(out, '"');
}

static bool valid_kind(const char *k)
{
	static const char *const plain[] = {
		"header_order", "msgid_shape", "message_id", "date_shape", "x_mailer", "mime",
		"boundary_shape",
		"charset", "encoding", "helo_shape", "from_shape", "to_shape", "url_shape",
		"received_shape", "dialect_id", "greeting",
	};
	size_t i;

	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		if (strcmp(k, plain[i]) == 0)
			return true;
	if (strncmp(k, "header:", 7) == 0 && k[7]) {
		for (k += 7; *k; k++)
			if (*k <= 0x20 || *k >= 0x7f || *k == ':')
				return false;
		return true;
	}
	if (strncmp(k, "dialect.", 8) == 0 && k[8]) {
		for (k += 8; *k; k++)
			if (!isalnum((unsigned char)*k) && *k != '_' && *k != '-')
				return false;
		return true;
	}
	return false;
}

void kb_family_free(struct family *f)
{
	size_t i;

	for (i = 0; i < f->nlines; i++) {
		free(f->lines[i].kind);
		free(f->lines[i].value);
		free(f->lines[i].seq.t);
		if (f->lines[i].re)
			pcre2_code_free(f->lines[i].re);
	}
	for (i = 0; i < f->ngroups; i++)
		free(f->groups[i].lines);
	for (i = 0; i < f->nsources; i++)
		free(f->sources[i]);
	free(f->sources);
	free(f->groups);
	free(f->lines);
	free(f->name);
	free(f->description);
	free(f->origin);
	memset(f, 0, sizeof(*f));
}

struct cursor {
	const char *p, *end;
	const char *origin;
	unsigned lineno;
	char *err;
	size_t errlen;
};

static bool perr(struct cursor *c, const char *fmt, const char *arg)
{
	char msg[256];

	snprintf(msg, sizeof(msg), fmt, arg ? arg : "");
	snprintf(c->err, c->errlen, "%s:%u: %s", c->origin, c->lineno, msg);
	return false;
}

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

static const char *word_end(const char *p, const char *end)
{
	while (p < end && *p != ' ' && *p != '\t')
		p++;
	return p;
}

/* a quoted value with escapes; *pp moves past it */
static bool read_quoted(struct cursor *c, const char **pp, const char *end, struct buf *out)
{
	const char *p = *pp;

	if (p >= end || *p != '"')
		return perr(c, "expected a quoted value \"...\"", NULL);
	for (p++; p < end && *p != '"'; p++) {
		if (*p == '\\' && p + 1 < end) {
			p++;
			if (*p == 'n')
				buf_addch(out, '\n');
			else if (*p == 't')
				buf_addch(out, '\t');
			else if (*p == 'x' && p + 2 < end && isxdigit((unsigned char)p[1]) &&
				 isxdigit((unsigned char)p[2])) {
				char hex[3] = { p[1], p[2], 0 };

				buf_addch(out, (int)strtol(hex, NULL, 16));
				p += 2;
			} else {
				buf_addch(out, *p);
			}
		} else {
			buf_addch(out, *p);
		}
	}
	if (p >= end)
		return perr(c, "unterminated quoted value", NULL);
	*pp = p + 1;
	return true;
}

/* /pattern/flags */
static bool read_pattern(struct cursor *c, const char **pp, const char *end, struct buf *out,
			 bool *caseless)
{
	const char *p = *pp;

	*caseless = false;
	if (p >= end || *p != '/')
		return perr(c, "expected a pattern /.../", NULL);
	for (p++; p < end && *p != '/'; p++) {
		if (*p == '\\' && p + 1 < end) {
			buf_addch(out, *p++);
		}
		buf_addch(out, *p);
	}
	if (p >= end)
		return perr(c, "unterminated pattern", NULL);
	p++;
	while (p < end && *p != ' ' && *p != '\t') {
		if (*p != 'i')
			return perr(c, "unknown pattern flag '%s' (only i)", (char[]){ *p, 0 });
		*caseless = true;
		p++;
	}
	*pp = p;
	return true;
}

static bool read_number(struct cursor *c, const char **pp, const char *end, double *out,
			const char *what)
{
	const char *p = skip_ws(*pp, end), *e = word_end(p, end);
	char tmp[64], *stop;

	if (e == p || (size_t)(e - p) >= sizeof(tmp))
		return perr(c, "%s needs a number", what);
	memcpy(tmp, p, (size_t)(e - p));
	tmp[e - p] = '\0';
	*out = strtod(tmp, &stop);
	if (*stop || *out < 0)
		return perr(c, "%s: not a non-negative number", what);
	*pp = e;
	return true;
}

/* the options after a value: weight W, seen N */
static bool read_options(struct cursor *c, const char *p, const char *end, struct rule_line *l)
{
	for (;;) {
		const char *w;
		double v;

		p = skip_ws(p, end);
		if (p >= end || *p == '#')
			return true;
		w = word_end(p, end);
		if ((size_t)(w - p) == 6 && memcmp(p, "weight", 6) == 0) {
			if (!read_number(c, &w, end, &v, "weight"))
				return false;
			if (v > 100)
				return perr(c, "weight above 100", NULL);
			l->weight = v;
		} else if ((size_t)(w - p) == 4 && memcmp(p, "seen", 4) == 0) {
			if (!read_number(c, &w, end, &v, "seen"))
				return false;
			l->seen = (unsigned long)v;
		} else {
			char word[64];

			snprintf(word, sizeof(word), "%.*s", (int)(w - p), p);
			return perr(c, "unexpected '%s' (expected weight or seen)", word);
		}
		p = w;
	}
}

static bool compile(struct cursor *c, struct rule_line *l, bool caseless)
{
	int code;
	PCRE2_SIZE off;

	l->re = pcre2_compile((PCRE2_SPTR)l->value, PCRE2_ZERO_TERMINATED,
			      caseless ? PCRE2_CASELESS : 0, &code, &off, NULL);
	if (!l->re) {
		PCRE2_UCHAR msg[160];

		pcre2_get_error_message(code, msg, sizeof(msg));
		snprintf(c->err, c->errlen, "%s:%u: bad pattern at offset %zu: %s", c->origin,
			 c->lineno, (size_t)off, (char *)msg);
		return false;
	}
	pcre2_jit_compile(l->re, PCRE2_JIT_COMPLETE);   /* falls back to the interpreter */
	return true;
}

static bool parse_feature(struct cursor *c, struct family *f, const char *p, const char *end)
{
	struct rule_line l;
	struct buf value = BUF_INIT;
	const char *w = word_end(p, end);
	bool caseless = false;

	memset(&l, 0, sizeof(l));
	l.weight = -1;
	l.lineno = c->lineno;
	if ((size_t)(w - p) == 3 && memcmp(p, "has", 3) == 0) {
		const char *n = skip_ws(w, end), *ne = word_end(n, end);

		if (n == ne)
			return perr(c, "has needs a header name", NULL);
		l.op = RULE_HAS;
		l.kind = xmalloc((size_t)(ne - n) + 8);
		snprintf(l.kind, (size_t)(ne - n) + 8, "header:%.*s", (int)(ne - n), n);
		l.value = xstrdup("");
		p = ne;
	} else {
		const char *op;

		l.kind = xstrndup(p, (size_t)(w - p));
		if (!valid_kind(l.kind)) {
			perr(c, "unknown feature '%s' (see docs/rules.md)", l.kind);
			free(l.kind);
			return false;
		}
		op = skip_ws(w, end);
		if (op >= end || (*op != '=' && *op != '~')) {
			free(l.kind);
			return perr(c, "expected = or ~ after the feature name", NULL);
		}
		p = skip_ws(op + 1, end);
		if (*op == '=') {
			l.op = RULE_EQ;
			if (!read_quoted(c, &p, end, &value))
				goto fail;
		} else {
			l.op = RULE_RE;
			if (!read_pattern(c, &p, end, &value, &caseless))
				goto fail;
		}
		l.value = xstrndup(value.data, value.len);
		buf_free(&value);
		if (l.op == RULE_RE && !compile(c, &l, caseless)) {
			free(l.value);
			free(l.kind);
			return false;
		}
	}
	if (!read_options(c, p, end, &l))
		goto fail;
	if (f->nlines >= RULE_LINES_MAX) {
		perr(c, "more than 10000 feature lines", NULL);
		goto fail;
	}
	f->lines = xreallocarray(f->lines, f->nlines + 1, sizeof(*f->lines));
	f->lines[f->nlines++] = l;
	return true;
fail:
	buf_free(&value);
	free(l.kind);
	free(l.value);
	if (l.re)
		pcre2_code_free(l.re);
	return false;
}

static void build_groups(struct family *f)
{
	size_t i, g;

	for (i = 0; i < f->nlines; i++) {
		struct rule_line *l = &f->lines[i];

		l->value_hash = l->value ? hash64(l->value, strlen(l->value), ATTRIB_VALUE_SEED) : 0;
		for (g = 0; g < f->ngroups; g++)
			if (strcmp(f->groups[g].kind, l->kind) == 0)
				break;
		if (g == f->ngroups) {
			f->groups = xreallocarray(f->groups, f->ngroups + 1, sizeof(*f->groups));
			memset(&f->groups[g], 0, sizeof(f->groups[g]));
			f->groups[g].kind = l->kind;
			f->groups[g].kind_hash = hash64(l->kind, strlen(l->kind), 0);
			f->groups[g].scope = strncmp(l->kind, "dialect", 7) == 0 ? SCOPE_DIALECT :
					     strcmp(l->kind, "helo_shape") == 0 ||
					     strcmp(l->kind, "greeting") == 0 ? SCOPE_PRESENT :
					     SCOPE_CONTENT;
			f->groups[g].weight = -1;
			f->ngroups++;
		}
		f->groups[g].lines = xreallocarray(f->groups[g].lines, f->groups[g].nlines + 1,
						   sizeof(size_t));
		f->groups[g].lines[f->groups[g].nlines++] = i;
		if (l->weight > f->groups[g].weight)
			f->groups[g].weight = l->weight;
	}
	f->total_weight = 0;
	for (g = 0; g < f->ngroups; g++) {
		if (f->groups[g].weight < 0)
			f->groups[g].weight = kb_base_weight(f->groups[g].kind);
		f->groups[g].effective = f->groups[g].weight;
		f->total_weight += f->groups[g].effective;
	}
}

static bool same_line(const struct rule_line *a, const struct rule_line *b)
{
	return a->op == b->op && strcmp(a->kind, b->kind) == 0 && strcmp(a->value, b->value) == 0;
}

/*
 * Distinctiveness: a value that many families share (no X-Mailer, a plain
 * text/html body) says little about which one sent a message, and is common
 * in the world too. A group's effective weight is its weight times the mean,
 * over its lines weighted by how often each was seen, of 1/k, k being the
 * number of families with the same line. With one family, nothing changes.
 */
static void kb_finish(attrib_kb *kb)
{
	static uint64_t generations;
	size_t i, j, g, l, m, n;

	kb->generation = ++generations;
	for (i = 0; i < kb->n; i++) {
		struct family *f = &kb->fam[i];

		/* values compared by similarity are cut into tokens once */
		for (l = 0; l < f->nlines; l++) {
			struct rule_line *line = &f->lines[l];
			struct seq_token tmp[SEQ_MAX_TOKENS];

			if (line->op != RULE_EQ || line->seq.t || !seq_kind(line->kind, &line->shapes))
				continue;
			line->is_seq = true;
			seq_tokenize(&line->seq, tmp, line->value, line->shapes);
			line->seq.t = xcalloc(line->seq.n + 1, sizeof(*tmp));
			memcpy(line->seq.t, tmp, line->seq.n * sizeof(*tmp));
		}
		f->total_weight = 0;
		for (g = 0; g < f->ngroups; g++) {
			struct rule_group *gr = &f->groups[g];
			double num = 0, den = 0;

			for (l = 0; l < gr->nlines; l++) {
				const struct rule_line *line = &f->lines[gr->lines[l]];
				double w = line->seen ? (double)line->seen : 1;
				unsigned k = 1;

				for (j = 0; j < kb->n; j++) {
					if (j == i)
						continue;
					for (m = 0, n = kb->fam[j].nlines; m < n; m++)
						if (same_line(line, &kb->fam[j].lines[m])) {
							k++;
							break;
						}
				}
				num += w / k;
				den += w;
			}
			gr->effective = gr->weight * (den > 0 ? num / den : 1);
			gr->consistency = 1;
			if (f->learned) {
				unsigned long seen = 0;
				bool counted = true;

				for (l = 0; l < gr->nlines; l++) {
					seen += f->lines[gr->lines[l]].seen;
					counted &= f->lines[gr->lines[l]].seen > 0;
				}
				if (counted)
					gr->consistency = seen >= f->learned ? 1 : (double)seen / (double)f->learned;
			}
			f->total_weight += gr->effective;
		}
	}
}

bool kb_parse_family(const char *origin, const char *text, size_t len, struct family *f,
		     char *err, size_t errlen)
{
	struct cursor c = { text, text + len, origin, 0, err, errlen };

	memset(f, 0, sizeof(*f));
	f->threshold = ATTRIB_DEFAULT_THRESHOLD;
	if (len > RULE_FILE_MAX) {
		snprintf(err, errlen, "%s: larger than %d bytes", origin, RULE_FILE_MAX);
		return false;
	}
	if (memchr(text, '\0', len)) {
		snprintf(err, errlen, "%s: contains NUL bytes: not a rule file", origin);
		return false;
	}
	while (c.p < c.end) {
		const char *nl = memchr(c.p, '\n', (size_t)(c.end - c.p));
		const char *le = nl ? nl : c.end, *p, *w;

		c.lineno++;
		while (le > c.p && (le[-1] == '\r' || le[-1] == ' ' || le[-1] == '\t'))
			le--;
		p = skip_ws(c.p, le);
		c.p = nl ? nl + 1 : c.end;
		if (p == le || *p == '#')
			continue;
		w = word_end(p, le);
		if (!f->name) {
			const char *n = skip_ws(w, le), *ne = word_end(n, le), *q;

			if ((size_t)(w - p) != 6 || memcmp(p, "family", 6) != 0) {
				perr(&c, "the first statement must be 'family NAME'", NULL);
				goto fail;
			}
			if (n == ne || ne != le) {
				perr(&c, "family needs one name", NULL);
				goto fail;
			}
			for (q = n; q < ne; q++)
				if (!islower((unsigned char)*q) && !isdigit((unsigned char)*q) &&
				    *q != '_' && *q != '-') {
					perr(&c, "family names are lower-case words ([a-z0-9_-])", NULL);
					goto fail;
				}
			f->name = xstrndup(n, (size_t)(ne - n));
			if (strcmp(f->name, ATTRIB_UNKNOWN) == 0) {
				perr(&c, "'unknown' is not a family name", NULL);
				goto fail;
			}
			continue;
		}
		if ((size_t)(w - p) == 6 && memcmp(p, "family", 6) == 0) {
			perr(&c, "a second 'family' statement: one family per file", NULL);
			goto fail;
		} else if ((size_t)(w - p) == 11 && memcmp(p, "description", 11) == 0) {
			free(f->description);
			f->description = xstrndup(skip_ws(w, le), (size_t)(le - skip_ws(w, le)));
		} else if ((size_t)(w - p) == 6 && memcmp(p, "source", 6) == 0) {
			f->sources = xreallocarray(f->sources, f->nsources + 1, sizeof(char *));
			f->sources[f->nsources++] = xstrndup(skip_ws(w, le), (size_t)(le - skip_ws(w, le)));
		} else if ((size_t)(w - p) == 9 && memcmp(p, "threshold", 9) == 0) {
			if (!read_number(&c, &w, le, &f->threshold, "threshold"))
				goto fail;
			if (f->threshold > 1) {
				perr(&c, "threshold above 1", NULL);
				goto fail;
			}
		} else if ((size_t)(w - p) == 7 && memcmp(p, "learned", 7) == 0) {
			double v;

			if (!read_number(&c, &w, le, &v, "learned"))
				goto fail;
			f->learned = (unsigned long)v;
		} else if (!parse_feature(&c, f, p, le)) {
			goto fail;
		}
	}
	if (!f->name) {
		snprintf(err, errlen, "%s: no 'family NAME' statement", origin);
		goto fail;
	}
	if (f->nlines == 0) {
		snprintf(err, errlen, "%s: family %s has no feature lines", origin, f->name);
		goto fail;
	}
	f->origin = xstrdup(origin);
	build_groups(f);
	return true;
fail:
	kb_family_free(f);
	return false;
}

static void kb_add(attrib_kb *kb, struct family *f)
{
	size_t i;

	for (i = 0; i < kb->n; i++)
		if (strcmp(kb->fam[i].name, f->name) == 0) {
			kb_family_free(&kb->fam[i]);     /* a local file replaces a shipped family */
			kb->fam[i] = *f;
			return;
		}
	kb->fam = xreallocarray(kb->fam, kb->n + 1, sizeof(*kb->fam));
	kb->fam[kb->n++] = *f;
}

attrib_kb *attrib_kb_parse(const char *name, const char *text, size_t len, char *err, size_t errlen)
{
	attrib_kb *kb = xcalloc(1, sizeof(*kb));
	struct family f;

	if (!kb_parse_family(name, text, len, &f, err, errlen)) {
		free(kb);
		return NULL;
	}
	kb_add(kb, &f);
	kb_finish(kb);
	return kb;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool load_file(attrib_kb *kb, const char *path, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "rb");
	struct buf text = BUF_INIT;
	char chunk[8192];
	size_t n;
	struct family f;
	bool ok;

	if (!fp) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return false;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		buf_add(&text, chunk, n);
		if (text.len > RULE_FILE_MAX)
			break;
	}
	fclose(fp);
	ok = kb_parse_family(path, text.data, text.len, &f, err, errlen);
	buf_free(&text);
	if (ok)
		kb_add(kb, &f);
	return ok;
}

attrib_kb *attrib_kb_load(const char *dir, char *err, size_t errlen)
{
	attrib_kb *kb = xcalloc(1, sizeof(*kb));
	const struct embedded_file *e;
	struct family f;
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t nn = 0, i;

	for (e = embedded_rules; e->name; e++) {
		char origin[128];

		snprintf(origin, sizeof(origin), "rules/%s.rule", e->name);
		if (!kb_parse_family(origin, e->bytes, e->len, &f, err, errlen)) {
			attrib_kb_free(kb);
			return NULL;
		}
		free(f.origin);
		f.origin = xstrdup("shipped");
		kb_add(kb, &f);
	}
	if (!dir || !(d = opendir(dir))) {
		if (dir && errno != ENOENT) {
			snprintf(err, errlen, "%s: %s", dir, strerror(errno));
			attrib_kb_free(kb);
			return NULL;
		}
		kb_finish(kb);
		return kb;
	}
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".rule") != 0)
			continue;
		names = xreallocarray(names, nn + 1, sizeof(char *));
		names[nn++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (nn)
		qsort(names, nn, sizeof(char *), cmp_str);
	for (i = 0; i < nn; i++) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (kb && !load_file(kb, path, err, errlen)) {
			attrib_kb_free(kb);
			kb = NULL;
		}
		free(names[i]);
	}
	free(names);
	if (kb)
		kb_finish(kb);
	return kb;
}

void attrib_kb_free(attrib_kb *kb)
{
	size_t i;

	if (!kb)
		return;
	for (i = 0; i < kb->n; i++)
		kb_family_free(&kb->fam[i]);
	free(kb->fam);
	free(kb);
}

size_t attrib_kb_count(const attrib_kb *kb)
{
	return kb ? kb->n : 0;
}

const char *attrib_kb_family(const attrib_kb *kb, size_t i)
{
	return kb->fam[i].name;
}

const char *attrib_kb_origin(const attrib_kb *kb, size_t i)
{
	return kb->fam[i].origin;
}
