/*
 * source.c - messages out of files and directories; see source.h.
 *
 * One reader serves mbox and single-message files: an mbox splits at each
 * "From " separator line, a single message only drops a leading one. A
 * directory is a stack of frames, each a sorted list of names; symlink
 * loops are caught by the (device, inode) of the directories on the stack.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "source/source.h"
#include "source/pcapsrc.h"
#include "source/reader.h"
#include "util/limits.h"
#include "util/timeutil.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define MAX_DEPTH 64    /* directory nesting followed at most */

struct dir_frame {
	char *path;
	char **names;
	size_t count, next;
	dev_t dev;
	ino_t ino;
	bool maildir;          /* names are "cur/x", "new/y": read as single messages */
};

struct file_state {
	bool open;
	char *path;
	enum source_format format;   /* MBOX or EML */
	struct line_reader r;
	int64_t mtime;
	unsigned long index;
	unsigned long line;          /* lines consumed */
	struct buf msg;
	bool oversize;
	/* the separator that opened the current message */
	bool have_sep;
	bool sep_ts_ok;
	int64_t sep_ts;
	char sep_sender[256];
	uint64_t msg_offset;
	unsigned long msg_line;
	bool started;                /* something read from this file */
	bool done;
};

struct source {
	char *root;
	struct source_options opt;
	bool root_done;
	struct dir_frame stack[MAX_DEPTH];
	int depth;
	struct file_state file;
	pcapsrc *capture;            /* the capture being read, instead of file */
	uint64_t bytes_before;       /* bytes of files finished */
	char sender_buf[256];
};

const char *source_format_name(enum source_format f)
{
	static const char *const names[] = { "auto", "mbox", "eml", "maildir", "dir", "pcap" };

	return (unsigned)f < sizeof(names) / sizeof(names[0]) ? names[f] : "?";
}

static bool is_from_line(const char *p, size_t n)
{
	return n >= 5 && memcmp(p, "From ", 5) == 0;
}

enum source_format source_detect_bytes(const unsigned char *h, size_t n)
{
	static const unsigned char pcap_magics[][4] = {
		{ 0xd4, 0xc3, 0xb2, 0xa1 }, { 0xa1, 0xb2, 0xc3, 0xd4 },
		{ 0x4d, 0x3c, 0xb2, 0xa1 }, { 0xa1, 0xb2, 0x3c, 0x4d },
		{ 0x0a, 0x0d, 0x0d, 0x0a },
	};
	size_t i;

	if (n >= 4)
		for (i = 0; i < sizeof(pcap_magics) / sizeof(pcap_magics[0]); i++)
			if (memcmp(h, pcap_magics[i], 4) == 0)
				return SOURCE_FORMAT_PCAP;
	if (is_from_line((const char *)h, n))
		return SOURCE_FORMAT_MBOX;
	return SOURCE_FORMAT_EML;
}

source *source_open(const char *path, const struct source_options *opt)
{
	source *s = xcalloc(1, sizeof(*s));

	s->root = xstrdup(path);
	if (opt)
		s->opt = *opt;
	buf_init(&s->file.msg);
	return s;
}

static void frame_free(struct dir_frame *f)
{
	size_t i;

	for (i = 0; i < f->count; i++)
		free(f->names[i]);
	free(f->names);
	free(f->path);
	memset(f, 0, sizeof(*f));
}

static void file_close(source *s)
{
	struct file_state *fs = &s->file;

	if (!fs->open)
		return;
	s->bytes_before += fs->r.consumed;
	reader_close(&fs->r);
	free(fs->path);
	buf_free(&fs->msg);
	memset(fs, 0, sizeof(*fs));
	buf_init(&fs->msg);
}

static void capture_close(source *s)
{
	if (!s->capture)
		return;
	s->bytes_before += pcapsrc_bytes_read(s->capture);
	pcapsrc_close(s->capture);
	s->capture = NULL;
}

void source_close(source *s)
{
	if (!s)
		return;
	file_close(s);
	capture_close(s);
	while (s->depth > 0)
		frame_free(&s->stack[--s->depth]);
	free(s->root);
	free(s);
}

void source_skip_file(source *s)
{
	file_close(s);
	capture_close(s);
}

uint64_t source_bytes_read(const source *s)
{
	return s->bytes_before + (s->file.open ? s->file.r.consumed : 0) +
	       (s->capture ? pcapsrc_bytes_read(s->capture) : 0);
}

static char *join(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	char *p = xmalloc(a + b + 2);

	memcpy(p, dir, a);
	if (a && dir[a - 1] != '/')
		p[a++] = '/';
	memcpy(p + a, name, b + 1);
	return p;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* read a directory's names, sorted; Maildir lists cur/ and new/ entries */
static bool list_dir(const char *path, const char *prefix, char ***names, size_t *count,
		     size_t *cap, struct buf *err)
{
	DIR *d = opendir(path);
	struct dirent *de;

	if (!d) {
		buf_printf(err, "%s: cannot read directory: %s", path, strerror(errno));
		return false;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (*count == *cap) {
			*cap = *cap ? *cap * 2 : 64;
			*names = xreallocarray(*names, *cap, sizeof(char *));
		}
		(*names)[(*count)++] = prefix ? join(prefix, de->d_name) : xstrdup(de->d_name);
	}
	closedir(d);
	return true;
}

static enum source_status push_dir(source *s, const char *path, struct buf *err)
{
	struct dir_frame *f;
	struct stat st;
	char *cur, *new;
	size_t cap = 0;
	int i;

	if (stat(path, &st) != 0) {
		buf_printf(err, "%s: %s", path, strerror(errno));
		return SOURCE_SKIP;
	}
	for (i = 0; i < s->depth; i++)
		if (s->stack[i].dev == st.st_dev && s->stack[i].ino == st.st_ino) {
			buf_printf(err, "%s: symlink loop (leads back to %s); skipped", path,
				   s->stack[i].path);
			return SOURCE_SKIP;
		}
	if (s->depth == MAX_DEPTH) {
		buf_printf(err, "%s: directories nested deeper than %d; skipped", path, MAX_DEPTH);
		return SOURCE_SKIP;
	}
	f = &s->stack[s->depth];
	memset(f, 0, sizeof(*f));
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	cur = join(path, "cur");
	new = join(path, "new");
	f->maildir = is_dir(cur) && is_dir(new);
	if (f->maildir) {
		bool ok = list_dir(cur, "cur", &f->names, &f->count, &cap, err) &&
			  list_dir(new, "new", &f->names, &f->count, &cap, err);

		if (!ok) {
			free(cur), free(new);
			frame_free(f);
			return SOURCE_SKIP;
		}
	} else if (!list_dir(path, NULL, &f->names, &f->count, &cap, err)) {
		free(cur), free(new);
		frame_free(f);
		return SOURCE_SKIP;
	}
	free(cur);
	free(new);
	if (f->count)
		qsort(f->names, f->count, sizeof(char *), cmp_names);
	f->path = xstrdup(path);
	s->depth++;
	return SOURCE_ITEM;
}

static enum source_status open_file(source *s, const char *path, bool single, struct buf *err)
{
	struct file_state *fs = &s->file;
	struct stat st;
	int fd;

	/* a FIFO or device would block or never end: regular files only */
	if (stat(path, &st) != 0) {
		buf_printf(err, "%s: cannot open: %s", path, strerror(errno));
		return SOURCE_SKIP;
	}
	if (!S_ISREG(st.st_mode)) {
		buf_printf(err, "%s: not a regular file; skipped", path);
		return SOURCE_SKIP;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		buf_printf(err, "%s: cannot open: %s", path, strerror(errno));
		return SOURCE_SKIP;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		buf_printf(err, "%s: not a regular file; skipped", path);
		close(fd);
		return SOURCE_SKIP;
	}
	if (st.st_size == 0) {
		buf_printf(err, "%s: empty file; skipped", path);
		close(fd);
		return SOURCE_SKIP;
	}
	if (s->opt.on_file && !s->opt.on_file(s->opt.on_file_ctx, path)) {
		buf_printf(err, "%s: the reader died in it twice at its start; not read", path);
		close(fd);
		return SOURCE_SKIP;
	}
	memset(fs, 0, sizeof(*fs));
	buf_init(&fs->msg);
	fs->open = true;
	fs->path = xstrdup(path);
	fs->mtime = (int64_t)st.st_mtime;
	reader_open(&fs->r, fd);
	{
		unsigned char head[8];
		ssize_t n = pread(fd, head, sizeof(head), 0);
		enum source_format f = source_detect_bytes(head, n > 0 ? (size_t)n : 0);

		if (f == SOURCE_FORMAT_PCAP) {
			s->capture = pcapsrc_open(path, fd, fs->mtime, s->opt.smtp_ports, err);
			file_close(s);
			return s->capture ? SOURCE_ITEM : SOURCE_SKIP;
		}
		fs->format = (single || f != SOURCE_FORMAT_MBOX) ? SOURCE_FORMAT_EML : SOURCE_FORMAT_MBOX;
	}
	return SOURCE_ITEM;
}

/* parse a "From sender date" line into the file's separator fields */
static void take_separator(struct file_state *fs, const char *p, size_t n)
{
	char line[512];
	size_t i = 5, k = 0;

	if (n >= sizeof(line))
		n = sizeof(line) - 1;
	memcpy(line, p, n);
	line[n] = '\0';
	while (line[i] == ' ')
		i++;
	while (line[i] && line[i] != ' ' && line[i] != '\r' && line[i] != '\n' &&
	       k + 1 < sizeof(fs->sep_sender))
		fs->sep_sender[k++] = line[i++];
	fs->sep_sender[k] = '\0';
	fs->sep_ts_ok = time_parse_ctime(line + i, &fs->sep_ts);
	fs->have_sep = true;
}

/* a separator inside an mbox: "From " and a date that parses */
static bool separator(const char *p, size_t n)
{
	char line[512];
	int64_t t;

	size_t i = 5;

	if (!is_from_line(p, n) || n >= sizeof(line))
		return false;
	/* the date follows the sender word, which may hold digits of its own */
	while (i < n && p[i] == ' ')
		i++;
	while (i < n && p[i] != ' ' && p[i] != '\n')
		i++;
	memcpy(line, p + i, n - i);
	line[n - i] = '\0';
	return time_parse_ctime(line, &t);
}

/* the message ends inside its header block, in the middle of a line */
static bool cut_in_header(const struct buf *m)
{
	size_t n = 0;

	if (m->len == 0 || m->data[m->len - 1] == '\n')
		return false;
	/* only what begins like a header block can be cut inside one */
	while (n < m->len && m->data[n] > 0x20 && m->data[n] < 0x7f && m->data[n] != ':')
		n++;
	if (n == 0 || n >= m->len || m->data[n] != ':')
		return false;
	return !memmem(m->data, m->len, "\n\n", 2) && !memmem(m->data, m->len, "\n\r\n", 3);
}

static void strip_separator_blank(struct buf *m)
{
	if (m->len >= 2 && memcmp(m->data + m->len - 2, "\n\n", 2) == 0)
		buf_setlen(m, m->len - 1);
	else if (m->len >= 4 && memcmp(m->data + m->len - 4, "\r\n\r\n", 4) == 0)
		buf_setlen(m, m->len - 2);
}

static enum source_status finish_message(source *s, struct source_item *item, struct buf *err)
{
	struct file_state *fs = &s->file;

	fs->index++;
	if (fs->format == SOURCE_FORMAT_MBOX)
		strip_separator_blank(&fs->msg);
	if (fs->oversize) {
		buf_printf(err, "%s: message %lu at line %lu (byte %llu): larger than the "
			   "message_size limit of %lld bytes; skipped", fs->path, fs->index,
			   fs->msg_line, (unsigned long long)fs->msg_offset, limit(LIMIT_MESSAGE_SIZE));
		return SOURCE_SKIP;
	}
	if (fs->msg.len == 0) {
		buf_printf(err, "%s: message %lu at line %lu (byte %llu): empty; skipped", fs->path,
			   fs->index, fs->msg_line, (unsigned long long)fs->msg_offset);
		return SOURCE_SKIP;
	}
	if (cut_in_header(&fs->msg)) {
		buf_printf(err, "%s: message %lu at line %lu (byte %llu): truncated inside its "
			   "header; skipped", fs->path, fs->index, fs->msg_line,
			   (unsigned long long)fs->msg_offset);
		return SOURCE_SKIP;
	}
	memset(item, 0, sizeof(*item));
	item->raw = fs->msg.data;
	item->len = fs->msg.len;
	item->path = fs->path;
	item->index = fs->index;
	item->offset = fs->msg_offset;
	item->line = fs->msg_line;
	item->format = fs->format;
	item->ctx.have_mtime = true;
	item->ctx.mtime = fs->mtime;
	if (fs->have_sep) {
		item->ctx.have_from_line = true;
		item->ctx.from_line_ts_ok = fs->sep_ts_ok;
		item->ctx.from_line_ts = fs->sep_ts;
		memcpy(s->sender_buf, fs->sep_sender, sizeof(s->sender_buf));
		item->ctx.from_line_sender = s->sender_buf[0] && s->sender_buf[0] != '-' ?
					     s->sender_buf : NULL;
	}
	return SOURCE_ITEM;
}

/* the next message of the open file, or SOURCE_END when it has no more */
static enum source_status file_next(source *s, struct source_item *item, struct buf *err)
{
	struct file_state *fs = &s->file;
	size_t max = (size_t)limit(LIMIT_MESSAGE_SIZE);
	const char *p;
	size_t n;
	bool complete, line_start;

	if (fs->done)
		return SOURCE_END;
	buf_reset(&fs->msg);
	fs->oversize = false;
	if (fs->started && fs->format == SOURCE_FORMAT_MBOX) {
		/* the separator of this message was read with the previous one */
	} else {
		fs->have_sep = false;
	}
	fs->msg_offset = fs->r.consumed;
	fs->msg_line = fs->line + 1;
	for (;;) {
		line_start = fs->r.at_line_start;
		if (!reader_piece(&fs->r, &p, &n, &complete)) {
			fs->done = true;
			if (fs->r.error) {
				buf_printf(err, "%s: read error after byte %llu: %s", fs->path,
					   (unsigned long long)fs->r.consumed, strerror(fs->r.error));
				return SOURCE_SKIP;
			}
			if (!fs->started)
				return SOURCE_END;
			if (fs->msg.len == 0 && !fs->oversize && !fs->have_sep)
				return SOURCE_END;
			return finish_message(s, item, err);
		}
		if (complete)
			fs->line++;
		if (line_start && is_from_line(p, n) && complete &&
		    (!fs->started || (fs->format == SOURCE_FORMAT_MBOX && separator(p, n)))) {
			if (fs->started && (fs->msg.len > 0 || fs->oversize || fs->have_sep)) {
				enum source_status st = finish_message(s, item, err);

				take_separator(fs, p, n);
				fs->msg_offset = fs->r.consumed;
				fs->msg_line = fs->line + 1;
				return st;
			}
			fs->started = true;
			take_separator(fs, p, n);
			fs->msg_offset = fs->r.consumed;
			fs->msg_line = fs->line + 1;
			continue;
		}
		fs->started = true;
		if (line_start && fs->format == SOURCE_FORMAT_MBOX && n > 5 && p[0] == '>') {
			size_t k = 1;

			while (k < n && p[k] == '>')
				k++;
			if (n - k >= 5 && memcmp(p + k, "From ", 5) == 0)
				p++, n--;       /* undo one level of >From quoting */
		}
		if (fs->oversize || fs->msg.len + n > max) {
			fs->oversize = true;
			continue;
		}
		buf_add(&fs->msg, p, n);
	}
}

enum source_status source_next(source *s, struct source_item *item, struct buf *err)
{
	buf_reset(err);
	for (;;) {
		if (s->capture) {
			enum source_status st = pcapsrc_next(s->capture, item, err);

			if (st != SOURCE_END)
				return st;
			capture_close(s);
			continue;
		}
		if (s->file.open) {
			enum source_status st = file_next(s, item, err);

			if (st != SOURCE_END) {
				if (s->file.done && st == SOURCE_SKIP && s->file.r.error)
					file_close(s);
				return st;
			}
			file_close(s);
			continue;
		}
		if (!s->root_done) {
			struct stat st;

			s->root_done = true;
			if (stat(s->root, &st) != 0) {
				buf_printf(err, "%s: %s", s->root, strerror(errno));
				return SOURCE_SKIP;
			}
			if (S_ISDIR(st.st_mode)) {
				if (push_dir(s, s->root, err) == SOURCE_SKIP)
					return SOURCE_SKIP;
				continue;
			}
			if (open_file(s, s->root, false, err) == SOURCE_SKIP)
				return SOURCE_SKIP;
			continue;
		}
		if (s->depth == 0)
			return SOURCE_END;
		{
			struct dir_frame *f = &s->stack[s->depth - 1];
			char *path;
			struct stat st;
			enum source_status r;

			if (f->next == f->count) {
				frame_free(f);
				s->depth--;
				continue;
			}
			path = join(f->path, f->names[f->next++]);
			if (stat(path, &st) != 0) {
				buf_printf(err, "%s: %s", path, strerror(errno));
				free(path);
				return SOURCE_SKIP;
			}
			if (S_ISDIR(st.st_mode) && !f->maildir)
				r = push_dir(s, path, err);
			else if (S_ISDIR(st.st_mode))
				r = SOURCE_ITEM;      /* a directory inside cur/: not mail */
			else
				r = open_file(s, path, f->maildir, err);
			free(path);
			if (r == SOURCE_SKIP)
				return SOURCE_SKIP;
		}
	}
}

struct visited {
	dev_t dev[MAX_DEPTH + 1];
	ino_t ino[MAX_DEPTH + 1];
};

static uint64_t estimate(const char *path, int depth, struct visited *v)
{
	struct stat st;
	uint64_t total = 0;
	DIR *d;
	struct dirent *de;
	int i;

	if (depth > MAX_DEPTH || stat(path, &st) != 0)
		return 0;
	if (S_ISREG(st.st_mode))
		return (uint64_t)st.st_size;
	if (!S_ISDIR(st.st_mode))
		return 0;
	for (i = 0; i < depth; i++)
		if (v->dev[i] == st.st_dev && v->ino[i] == st.st_ino)
			return 0;           /* a symlink loop */
	v->dev[depth] = st.st_dev;
	v->ino[depth] = st.st_ino;
	if (!(d = opendir(path)))
		return 0;
	while ((de = readdir(d)) != NULL) {
		char *p;

		if (de->d_name[0] == '.' || strcmp(de->d_name, "tmp") == 0)
			continue;
		p = join(path, de->d_name);
		total += estimate(p, depth + 1, v);
		free(p);
	}
	closedir(d);
	return total;
}

uint64_t source_size_estimate(const char *path)
{
	struct visited v;

	return estimate(path, 0, &v);
}

void source_item_message(const struct source_item *item, const char *name, bool dedup,
			 struct pipeline_message *out)
{
	memset(out, 0, sizeof(*out));
	out->raw = item->raw;
	out->len = item->len;
	out->source = name;
	out->ctx = &item->ctx;
	out->session = item->session;
	out->dedup = dedup;
}
