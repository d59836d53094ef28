/*
 * supervise.c - a command's reading in a child, run again without what
 * crashed it; see supervise.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/supervise.h"
#include "util/buf.h"
#include "util/banned.h"

#define MAX_RUNS (2 * SUPERVISE_MAX_SKIPS + 2)
/* suspects at once: each death adds at most a slot's worth; a suspect
 * skipped leaves */
#define SUSPECTS_MAX (SUPERVISE_MAX_SKIPS + INFLIGHT_SLOTS)

static volatile sig_atomic_t child_pid;
static volatile sig_atomic_t passed_on;   /* a signal the parent passed on */

static void pass_on(int sig)
{
	passed_on = sig;
	if (child_pid > 0)
		kill((pid_t)child_pid, sig);
}

/* where name is among names[0..n), or -1 */
static int find(char (*names)[INFLIGHT_NAME], int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

void supervised_partial(struct supervised *sv)
{
	if (sv)
		sv->partial = true;
}

bool supervised_skip(const struct supervised *sv, const char *name)
{
	char key[INFLIGHT_NAME];
	int i;

	if (!sv || sv->nskip <= 0)
		return false;
	inflight_key(name, key);
	for (i = 0; i < sv->nskip && i < SUPERVISE_MAX_SKIPS; i++)
		if (strcmp(sv->skip[i], key) == 0)
			return true;
	return false;
}

/* wait_child: how pid ended, waiting through the signals passed on. It is
 * no more passed any once it has ended, before it is reaped: until then
 * its pid cannot be another process's. */
static int wait_child(pid_t pid)
{
	siginfo_t info;
	int status;

	while (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT) < 0)
		if (errno != EINTR)
			return -1;
	child_pid = 0;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return status;
}

/* a place in a file ("path#K+", pipeline/inflight.h), not a message */
static bool is_place(const char *name)
{
	size_t n = strlen(name);

	return n >= 2 && name[n - 1] == '+' && strrchr(name, '#');
}

/* say: name as said at a death: a message, or where the reading was */
static void say(const char *name)
{
	size_t n = strlen(name);
	const char *hash = strrchr(name, '#');

	if (!is_place(name)) {
		fputs(name, stderr);
		return;
	}
	if (strcmp(hash, "#0+") == 0)
		fprintf(stderr, "%.*s at its start", (int)(hash - name), name);
	else
		fprintf(stderr, "%.*s after message %.*s", (int)(hash - name), name,
			(int)(name + n - 1 - hash - 1), hash + 1);
}

/* died: what a death while reading names: messages (or places in a file)
 * in flight become suspects, suspects skips; false when there is nothing
 * to run again */
static bool died(const char *cmd, const char *note, struct supervised *sv,
		 char (*suspects)[INFLIGHT_NAME], int *nsuspect, int sig)
{
	bool any = false, skipped = false, again = false, messages = false;
	size_t i;

	if (isatty(STDERR_FILENO))
		fputs("\r\033[K", stderr);    /* the dead child's progress line */
	fprintf(stderr, "spamtide %s: the reading process died of signal %d (%s)", cmd, sig,
		strsignal(sig));
	/* the shared state is the dead child's too: what it says is bounded */
	if (sv->nskip < 0 || sv->nskip > SUPERVISE_MAX_SKIPS)
		sv->nskip = SUPERVISE_MAX_SKIPS;
	for (i = 0; i < INFLIGHT_SLOTS; i++)
		if (i != INFLIGHT_READ && __atomic_load_n(&sv->inflight.slot[i].busy, __ATOMIC_ACQUIRE))
			messages = true;
	for (i = 0; i < INFLIGHT_SLOTS; i++) {
		char *name = sv->inflight.slot[i].name;
		int k;

		if (!__atomic_load_n(&sv->inflight.slot[i].busy, __ATOMIC_ACQUIRE))
			continue;
		/* the reader's place beside messages being parsed (several
		 * threads): most likely not what died, and no suspect; the run
		 * on one thread tells (there it is busy alone) */
		if (i == INFLIGHT_READ && messages) {
			sv->inflight.slot[i].busy = 0;
			continue;
		}
		name[INFLIGHT_NAME - 1] = '\0';
		fputs(any ? ", " : " while reading ", stderr);
		say(name);
		any = true;
		sv->inflight.slot[i].busy = 0;
		if (find(sv->skip, sv->nskip, name) >= 0) {
			/* skipped, and still it died there: skipping is not enough */
			again = true;
			continue;
		}
		if ((k = find(suspects, *nsuspect, name)) < 0) {
			if (*nsuspect < SUSPECTS_MAX)
				snprintf(suspects[(*nsuspect)++], INFLIGHT_NAME, "%s", name);
			continue;
		}
		/* a suspect no more: a skip (its place goes to the next) */
		memmove(suspects[k], suspects[*nsuspect - 1], INFLIGHT_NAME);
		(*nsuspect)--;
		/* in flight at two deaths: not read again */
		if (sv->nskip == SUPERVISE_MAX_SKIPS) {
			fprintf(stderr, "\nspamtide %s: error: the parser died on %d messages; "
				"stopped\n", cmd, SUPERVISE_MAX_SKIPS);
			return false;
		}
		snprintf(sv->skip[sv->nskip++], INFLIGHT_NAME, "%s", name);
		fprintf(stderr, is_place(name) ? " (the second time: the rest of the file is not read)"
					       : " (the second time: it is not read again)");
		skipped = true;
	}
	if (!any) {
		fprintf(stderr, " outside any message%s%s\n", note ? "; " : "", note ? note : "");
		return false;
	}
	if (again && !skipped) {
		fprintf(stderr, "\nspamtide %s: error: it died there again with what killed it "
			"skipped; stopped%s%s\n", cmd, note ? "; " : "", note ? note : "");
		return false;
	}
	fprintf(stderr, "\nspamtide %s: reading again from the start on one thread%s%s%s\n", cmd,
		skipped ? ", without it" : "", note ? "; " : "", note ? note : "");
	sv->one_thread = true;
	return true;
}

/* ---- answers relayed (classify) ----
 *
 * The child's answers come to the parent in frames (a uint32_t length, the
 * bytes), and the parent writes whole frames to stdout: what a child that
 * died had not sent whole is not out, and the count of frames says where
 * the next child begins. A frame may be empty (a message with no answer).
 */

static int relay_fd = -1;        /* the child's end */
static struct buf relay_out;     /* the child's frames not yet sent */

static bool relay_send(void)
{
	size_t off = 0;

	while (off < relay_out.len) {
		ssize_t w = write(relay_fd, relay_out.data + off, relay_out.len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		off += (size_t)w;
	}
	buf_reset(&relay_out);
	return true;
}

bool supervised_answer(struct supervised *sv, const void *p, size_t n)
{
	uint32_t len = (uint32_t)n;

	if (!sv || relay_fd < 0)
		return n == 0 || (fwrite(p, 1, n, stdout) == n && !ferror(stdout));
	buf_add(&relay_out, &len, sizeof(len));
	buf_add(&relay_out, p, n);
	return relay_out.len < (64u << 10) || relay_send();
}

bool supervised_flush(struct supervised *sv)
{
	bool ok = !sv || relay_fd < 0 || relay_send();

	if (sv && relay_fd >= 0) {
		close(relay_fd);
		relay_fd = -1;
		buf_free(&relay_out);
	}
	return ok;
}

/* relay: the child's frames to stdout until it closes its end; whole
 * frames only, each counted in sv->answered */
static void relay(int fd, struct supervised *sv)
{
	struct buf in = BUF_INIT;
	char chunk[65536];
	size_t off;
	bool bad = false;

	for (;;) {
		ssize_t r = read(fd, chunk, sizeof(chunk));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		buf_add(&in, chunk, (size_t)r);
		for (off = 0;;) {
			uint32_t len;

			if (in.len - off < sizeof(len))
				break;
			memcpy(&len, in.data + off, sizeof(len));
			if (in.len - off - sizeof(len) < len)
				break;
			if (len && fwrite(in.data + off + sizeof(len), 1, len, stdout) != len) {
				bad = true;
				break;
			}
			off += sizeof(len) + len;
			sv->answered++;
		}
		memmove(in.data, in.data + off, in.len - off);
		buf_setlen(&in, in.len - off);
		if (bad || fflush(stdout) != 0 || ferror(stdout)) {
			/* said here; the child's next send fails, and it stops */
			fprintf(stderr, "spamtide: error: writing to standard output failed: %s\n",
				strerror(errno ? errno : EIO));
			break;
		}
	}
	buf_free(&in);
}

bool supervise(const char *cmd, const struct supervise_options *o, struct supervised **out,
	       int *status)
{
	static const int passed[] = { SIGINT, SIGTERM, SIGHUP };
	static char suspects[SUSPECTS_MAX][INFLIGHT_NAME];
	struct supervised *sv;
	struct sigaction sa, old[3], dfl;
	sigset_t block, prev;
	int nsuspect = 0, runs, st = -1;
	pid_t parent = getpid();
	size_t i;

	*out = NULL;
	sv = mmap(NULL, sizeof(*sv), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sv == MAP_FAILED) {
		fprintf(stderr, "spamtide %s: warning: no shared memory (%s): read in this process\n",
			cmd, strerror(errno));
		return true;
	}
	/* the children are waited for here: not if SIGCHLD came ignored */
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(SIGCHLD, &dfl, NULL);
	/* passed on from before the first fork to after the last wait (a
	 * signal between would end the parent alone); one ignored when we
	 * started stays so. Blocked across each fork: the child starts with
	 * the handlers it had. SA_RESTART: the relay's writes go on. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = pass_on;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	for (i = 0; i < 3; i++) {
		sigaction(passed[i], NULL, &old[i]);
		sigaddset(&block, passed[i]);
		if (old[i].sa_handler != SIG_IGN)
			sigaction(passed[i], &sa, NULL);
	}
	for (runs = 0; runs < MAX_RUNS; runs++) {
		int pipefd[2] = { -1, -1 };
		pid_t pid;

		fflush(NULL);    /* nothing buffered is written twice */
		sigprocmask(SIG_BLOCK, &block, &prev);
		if ((o->relay && pipe2(pipefd, O_CLOEXEC) < 0) || (pid = fork()) < 0) {
			sigprocmask(SIG_SETMASK, &prev, NULL);
			if (pipefd[0] >= 0) {
				close(pipefd[0]);
				close(pipefd[1]);
			}
			if (runs == 0) {
				fprintf(stderr, "spamtide %s: warning: cannot start the reading process "
					"(%s): read in this process\n", cmd, strerror(errno));
				for (i = 0; i < 3; i++)
					sigaction(passed[i], &old[i], NULL);
				munmap(sv, sizeof(*sv));
				return true;
			}
			*status = cmd_error(cmd, "cannot start the reading process again: %s",
					    strerror(errno));
			return false;
		}
		if (pid == 0) {
			for (i = 0; i < 3; i++)
				sigaction(passed[i], &old[i], NULL);
			sigprocmask(SIG_SETMASK, &prev, NULL);
			/* no reading goes on once the parent is gone */
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			if (getppid() != parent)
				raise(SIGTERM);
			if (o->relay) {
				close(pipefd[0]);
				relay_fd = pipefd[1];
			}
			*out = sv;
			return true;
		}
		child_pid = pid;
		sigprocmask(SIG_SETMASK, &prev, NULL);
		if (o->relay) {
			close(pipefd[1]);
			relay(pipefd[0], sv);
			close(pipefd[0]);
		}
		st = wait_child(pid);
		child_pid = 0;
		if (st == -1) {
			*status = cmd_error(cmd, "lost the reading process: %s", strerror(errno));
			break;
		}
		if (WIFEXITED(st)) {
			*status = WEXITSTATUS(st);
			if (*status == CMD_OK && (sv->nskip > 0 || sv->partial))
				*status = CMD_PARTIAL;
			break;
		}
		if (passed_on || !died(cmd, o->note, sv, suspects, &nsuspect, WTERMSIG(st))) {
			*status = passed_on ? 128 + passed_on : CMD_FAIL;
			break;
		}
	}
	if (runs == MAX_RUNS) {
		fprintf(stderr, "spamtide %s: error: read %d times; stopped\n", cmd, MAX_RUNS);
		*status = passed_on ? 128 + passed_on : CMD_FAIL;
	}
	for (i = 0; i < 3; i++)
		sigaction(passed[i], &old[i], NULL);
	return false;
}
