/*
 * gmime_floor.c - the floor GMime sets: parse every message of an mbox and
 * decode its text parts to UTF-8, nothing else. bench/ingest compares
 * `spamtide ingest` against it.
 *
 *   gmime_floor FILE.mbox   prints "messages bytes seconds"
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gmime/gmime.h>

static size_t decoded;

static void decode(GMimeObject *parent, GMimeObject *part, gpointer data)
{
	(void)parent;
	(void)data;
	if (GMIME_IS_TEXT_PART(part)) {
		char *text = g_mime_text_part_get_text(GMIME_TEXT_PART(part));

		if (text)
			decoded += strlen(text);
		g_free(text);
	}
}

int main(int argc, char **argv)
{
	GMimeStream *stream;
	GMimeParser *parser;
	struct timespec a, b;
	long messages = 0;
	gint64 bytes;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: gmime_floor FILE.mbox\n");
		return 2;
	}
	g_mime_init();
	fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	stream = g_mime_stream_fs_new(fd);
	parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MBOX);
	while (!g_mime_parser_eos(parser)) {
		GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);

		if (!msg)
			break;
		g_mime_message_foreach(msg, decode, NULL);
		messages++;
		g_object_unref(msg);
	}
	bytes = g_mime_parser_tell(parser);
	clock_gettime(CLOCK_MONOTONIC, &b);
	g_object_unref(parser);
	g_object_unref(stream);
	printf("%ld %lld %.3f\n", messages, (long long)bytes,
	       (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
	g_mime_shutdown();
	return 0;
}
