/*
 * source.h - messages out of files: mbox, Maildir, .eml files, packet
 * captures (.pcap, .pcapng: the messages of their SMTP sessions) and
 * directories of them, format detected.
 *
 *   source *s = source_open(path, &opts);
 *   while ((st = source_next(s, &item, &err)) != SOURCE_END)
 *       if (st == SOURCE_ITEM) push(item) else report(err.data);
 *   source_close(s);
 *
 * Streaming: only the current message is held (bounded by
 * LIMIT_MESSAGE_SIZE), so a 10 GB mbox is read in bounded memory. Bytes of
 * an item are owned by the source and valid until the next source_next().
 *
 * Detection: a directory with cur/ and new/ is a Maildir (tmp/ is skipped:
 * deliveries in progress); another directory is walked recursively in name
 * order (dot files skipped, symlink loops detected); a file beginning with
 * an mbox "From " line (or Mozilla's "From - ") is an mbox, also when it
 * holds one message; a pcap/pcapng magic is a capture (src/source/pcapsrc.h,
 * docs/pcap.md); anything else is one message. mbox: a separator is a "From " line whose date parses (asctime
 * form); ">From " quoting (mboxrd and mboxo) is undone by removing one '>'
 * from lines matching ">+From "; LF or CRLF.
 *
 * Errors: SOURCE_SKIP means one input could not be read or is not mail (an
 * unreadable or empty file, a symlink loop, a message over the size limit,
 * one cut off inside its header); err says which file and where. Reading
 * goes on with the next one.
 */
#ifndef SPAMTIDE_SOURCE_SOURCE_H
#define SPAMTIDE_SOURCE_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mail/features.h"
#include "pipeline/pipeline.h"
#include "util/buf.h"

enum source_format {
	SOURCE_FORMAT_AUTO,
	SOURCE_FORMAT_MBOX,
	SOURCE_FORMAT_EML,
	SOURCE_FORMAT_MAILDIR,
	SOURCE_FORMAT_DIR,
	SOURCE_FORMAT_PCAP,
};

struct source_item {
	const char *raw;
	size_t len;
	const char *path;            /* the file the message is in */
	unsigned long index;         /* 1-based index of the message in path */
	uint64_t offset;             /* byte offset of the message in path */
	unsigned long line;          /* line number where it starts (mbox) */
	enum source_format format;
	struct mail_context ctx;     /* From_ line and mtime */
	const struct pipeline_session *session;   /* captures: the SMTP session */
};

/* source_item_message: what the pipeline takes of an item (borrowed from
 * it), its source named name; dedup for files and captures. */
void source_item_message(const struct source_item *item, const char *name, bool dedup,
			 struct pipeline_message *out);

enum source_status {
	SOURCE_ITEM,
	SOURCE_SKIP,
	SOURCE_END,
};

struct source_options {
	const char *smtp_ports;      /* captures: "25,587,2525" (NULL: default) */
	/* called as each file is opened, before a byte of it is read; false
	 * skips it (SOURCE_SKIP, err saying so) */
	bool (*on_file)(void *ctx, const char *path);
	void *on_file_ctx;
};

typedef struct source source;

source *source_open(const char *path, const struct source_options *opt);
/* source_next: the next message; err (reset first) explains a SOURCE_SKIP. */
enum source_status source_next(source *s, struct source_item *item, struct buf *err);
/* source_skip_file: leave the rest of the file being read (its next
 * messages are not returned); the walk goes on with the next file. */
void source_skip_file(source *s);
/* source_bytes_read: bytes consumed so far (for progress). */
uint64_t source_bytes_read(const source *s);
/* source_size_estimate: bytes of the regular files under path (progress). */
uint64_t source_size_estimate(const char *path);
void source_close(source *s);

/* source_detect_file: format of a regular file from its first bytes. */
enum source_format source_detect_bytes(const unsigned char *head, size_t n);
const char *source_format_name(enum source_format f);

#endif
