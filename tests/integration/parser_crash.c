/*
 * parser_crash.c - a preloaded stand-in for a parser bug, for
 * test_ingest_crash.py: GMime's g_mime_stream_mem_new_with_byte_array (the
 * stream a message's bytes are parsed from), except that bytes holding (in
 * the body: the header fields given to GMime are only the MIME ones)
 *
 *   X-Parser-Test: segv     crash (SIGSEGV), every time
 *   X-Parser-Test: once     crash the first time only (a file named by
 *                           PARSER_TEST_ONCE records that it happened)
 *   X-Parser-Test: slow     take 20 s (a signal cuts it short)
 *
 * And a bug in the reading itself (an mbox split, a capture's reassembly:
 * outside any message), in read(2): with READER_CRASH set, a read of a
 * file whose path holds it, from byte READER_CRASH_AT (default 0) on,
 * crashes (SIGSEGV); every time, or the first time only when
 * READER_CRASH_ONCE names a file that records it.
 *
 * Built without sanitizers; loaded with LD_PRELOAD.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

/* GLib's GByteArray, as far as it is read here */
struct byte_array {
	unsigned char *data;
	unsigned int len;
};

typedef void *stream_fn(struct byte_array *);

void *g_mime_stream_mem_new_with_byte_array(struct byte_array *a);

static int holds(const struct byte_array *a, const char *what)
{
	return a && memmem(a->data, a->len, what, strlen(what)) != NULL;
}

void *g_mime_stream_mem_new_with_byte_array(struct byte_array *a)
{
	static stream_fn *real;
	const char *once = getenv("PARSER_TEST_ONCE");

	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "g_mime_stream_mem_new_with_byte_array");
	if (holds(a, "X-Parser-Test: segv"))
		raise(SIGSEGV);
	if (holds(a, "X-Parser-Test: once") && once) {
		int fd = open(once, O_WRONLY | O_CREAT | O_EXCL, 0600);

		if (fd >= 0) {
			close(fd);
			raise(SIGSEGV);
		}
	}
	if (holds(a, "X-Parser-Test: slow"))
		sleep(20);
	return real(a);
}

typedef ssize_t read_fn(int, void *, size_t);

static int reader_crashes(int fd)
{
	const char *what = getenv("READER_CRASH"), *at = getenv("READER_CRASH_AT");
	const char *once = getenv("READER_CRASH_ONCE");
	char link[64], path[4096];
	ssize_t n;

	if (!what || !*what)
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0)
		return 0;
	path[n] = '\0';
	if (!strstr(path, what) || lseek(fd, 0, SEEK_CUR) < (at ? atoll(at) : 0))
		return 0;
	if (once) {
		int mark = open(once, O_WRONLY | O_CREAT | O_EXCL, 0600);

		if (mark < 0)
			return 0;
		close(mark);
	}
	return 1;
}

ssize_t read(int fd, void *p, size_t n)
{
	static read_fn *real;

	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "read");
	if (reader_crashes(fd))
		raise(SIGSEGV);
	return real(fd, p, n);
}
