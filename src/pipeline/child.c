/*
 * child.c - a message's row made in a child process; see child.h.
 *
 * Frames on a socketpair: a length (uint64_t), then fields, each a
 * uint64_t or bytes (their length, UINT64_MAX for NULL, then the bytes;
 * strings carry their NUL). Parent and child are one binary, so integers
 * go in the machine's own order. The parent checks every length of the
 * child's answer: a child that misbehaves is treated as one that died.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/child.h"
#include "pipeline/store_worker.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/hash.h"
#include "util/limits.h"
#include "util/log.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define CHILD_FD 3          /* the child's end of the socket */
#define NONE UINT64_MAX     /* the length of a NULL */

struct pipeline_child {
	struct pipeline_child_options o;
	pipeline *local;         /* unparsed rows; messages read here when no
				  * child can be forked */
	pid_t pid;               /* 0: none */
	int fd;
	struct buf out, in;
	bool fork_failed;        /* said once in the log */
};

enum io {
	IO_OK,
	IO_DEAD,                 /* end of file, a broken pipe, or an answer that
				  * does not decode */
	IO_TIMEOUT,
};

/* ---- fields ---- */

static void put_u64(struct buf *b, uint64_t v)
{
	buf_add(b, &v, sizeof(v));
}

static void put_bytes(struct buf *b, const void *p, size_t n)
{
	put_u64(b, p ? (uint64_t)n : NONE);
	if (p)
		buf_add(b, p, n);
}

static void put_str(struct buf *b, const char *s)
{
	put_bytes(b, s, s ? strlen(s) + 1 : 0);
}

struct reader {
	const char *p;
	size_t left;
	bool bad;
};

static uint64_t get_u64(struct reader *r)
{
	uint64_t v = 0;

	if (r->left < sizeof(v)) {
		r->bad = true;
		return 0;
	}
	memcpy(&v, r->p, sizeof(v));
	r->p += sizeof(v);
	r->left -= sizeof(v);
	return v;
}

/* get_bytes: a pointer into the frame, NULL for a NULL */
static const char *get_bytes(struct reader *r, size_t *n)
{
	uint64_t len = get_u64(r);
	const char *p;

	*n = 0;
	if (r->bad || len == NONE)
		return NULL;
	if (len > r->left) {
		r->bad = true;
		return NULL;
	}
	p = r->p;
	r->p += len;
	r->left -= (size_t)len;
	*n = (size_t)len;
	return p;
}

static const char *get_str(struct reader *r)
{
	size_t n;
	const char *s = get_bytes(r, &n);

	if (s && (n == 0 || memchr(s, '\0', n) != s + n - 1)) {
		r->bad = true;
		return NULL;
	}
	return s;
}

static void put_row(struct buf *b, const struct store_message *m)
{
	double conf = m->confidence;
	uint64_t bits;

	memcpy(&bits, &conf, sizeof(bits));
	put_u64(b, (uint64_t)m->ts);
	put_str(b, m->sensor);
	put_str(b, m->source);
	put_bytes(b, m->hash, HASH_DIGEST_LEN);
	put_str(b, m->family);
	put_u64(b, bits);
	put_str(b, m->campaign);
	put_str(b, m->client_ip);
	put_str(b, m->helo);
	put_str(b, m->envelope_from);
	put_u64(b, m->rcpts);
	put_u64(b, m->size);
	put_str(b, m->message_id);
	put_str(b, m->msgid_shape);
	put_str(b, m->subject);
	put_str(b, m->x_mailer);
	put_str(b, m->dialect_id);
	put_str(b, m->dialect);
	put_u64(b, m->encrypted);
	put_u64(b, m->warnings);
	put_bytes(b, m->features, m->features_len);
}

/* get_row: m points into the frame; false when it does not decode */
static bool get_row(struct reader *r, struct store_message *m)
{
	uint64_t bits;
	size_t n;

	memset(m, 0, sizeof(*m));
	m->ts = (int64_t)get_u64(r);
	m->sensor = get_str(r);
	m->source = get_str(r);
	m->hash = (const unsigned char *)get_bytes(r, &n);
	if (m->hash && n != HASH_DIGEST_LEN)
		return false;
	m->family = get_str(r);
	bits = get_u64(r);
	memcpy(&m->confidence, &bits, sizeof(bits));
	m->campaign = get_str(r);
	m->client_ip = get_str(r);
	m->helo = get_str(r);
	m->envelope_from = get_str(r);
	m->rcpts = (unsigned)get_u64(r);
	m->size = get_u64(r);
	m->message_id = get_str(r);
	m->msgid_shape = get_str(r);
	m->subject = get_str(r);
	m->x_mailer = get_str(r);
	m->dialect_id = get_str(r);
	m->dialect = get_str(r);
	m->encrypted = get_u64(r) != 0;
	m->warnings = (unsigned)get_u64(r);
	m->features = get_bytes(r, &m->features_len);
	return !r->bad && r->left == 0 && m->family && m->source;
}

static void put_message(struct buf *b, const struct pipeline_message *m)
{
	const struct pipeline_session *s = m->session;

	put_str(b, m->source);
	put_u64(b, m->dedup);
	put_u64(b, s != NULL);
	if (s) {
		put_str(b, s->client_ip);
		put_str(b, s->helo);
		put_str(b, s->mail_from);
		put_u64(b, s->rcpt_count);
		put_str(b, s->dialect_id);
		put_str(b, s->dialect_facts);
		put_u64(b, s->encrypted);
		put_str(b, s->identity);
		put_u64(b, (uint64_t)s->ts);
	}
	put_bytes(b, m->raw, m->len);
}

static bool get_message(struct reader *r, struct pipeline_message *m, struct pipeline_session *s)
{
	memset(m, 0, sizeof(*m));
	memset(s, 0, sizeof(*s));
	m->source = get_str(r);
	m->dedup = get_u64(r) != 0;
	if (get_u64(r)) {
		s->client_ip = get_str(r);
		s->helo = get_str(r);
		s->mail_from = get_str(r);
		s->rcpt_count = (unsigned)get_u64(r);
		s->dialect_id = get_str(r);
		s->dialect_facts = get_str(r);
		s->encrypted = get_u64(r) != 0;
		s->identity = get_str(r);
		s->ts = (int64_t)get_u64(r);
		m->session = s;
	}
	m->raw = get_bytes(r, &m->len);
	return !r->bad && r->left == 0;
}

/* the largest frame either side accepts: a message, and what is read of it */
static uint64_t frame_max(void)
{
	return 2 * (uint64_t)limit(LIMIT_MESSAGE_SIZE) + (16u << 20);
}

/* frame_start, frame_end: a frame's length goes before its fields */
static void frame_start(struct buf *b)
{
	buf_reset(b);
	put_u64(b, 0);
}

static void frame_end(struct buf *b)
{
	uint64_t len = b->len - sizeof(len);

	memcpy(b->data, &len, sizeof(len));
}

/* ---- the socket: the parent's end waits until a deadline, the
 * child's blocks (its deadline is HUGE_VAL) ---- */

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* wait_fd: 1 ready, 0 the deadline passed, -1 an error */
static int wait_fd(int fd, short events, double deadline)
{
	for (;;) {
		struct pollfd pf = { .fd = fd, .events = events };
		double left = deadline - mono();
		int r;

		if (left <= 0)
			return 0;
		r = poll(&pf, 1, left > 3600 ? 3600 * 1000 : (int)(left * 1000) + 1);
		if (r < 0 && errno != EINTR)
			return -1;
		if (r > 0)
			return 1;
	}
}

static enum io send_by(int fd, const char *p, size_t n, double deadline)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		int r;

		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			return IO_DEAD;
		if ((r = wait_fd(fd, POLLOUT, deadline)) <= 0)
			return r == 0 ? IO_TIMEOUT : IO_DEAD;
	}
	return IO_OK;
}

static enum io recv_by(int fd, char *p, size_t n, double deadline)
{
	while (n > 0) {
		ssize_t got = recv(fd, p, n, 0);
		int r;

		if (got > 0) {
			p += got;
			n -= (size_t)got;
			continue;
		}
		if (got == 0)
			return IO_DEAD;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return IO_DEAD;
		if ((r = wait_fd(fd, POLLIN, deadline)) <= 0)
			return r == 0 ? IO_TIMEOUT : IO_DEAD;
	}
	return IO_OK;
}

/* ---- the child ---- */

/* child_main: answer each message with its row until the parent goes */
static void __attribute__((noreturn)) child_main(pipeline_child *c, int fd, pid_t parent)
{
	static const int ignored[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE };
	struct sigaction sa;
	sigset_t none;
	struct buf in = BUF_INIT, out = BUF_INIT;
	pipeline *p;
	size_t i;

	int sig;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	/* the parent's handlers are not the child's: a crash here must end it */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	for (i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		sigaction(ignored[i], &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (fd != CHILD_FD) {
		if (dup2(fd, CHILD_FD) < 0)
			_exit(1);
		fd = CHILD_FD;
	}
	/* the listening sockets, the store, the spool: none of the child's business */
	close_range(CHILD_FD + 1, ~0u, 0);

	p = pipeline_new(NULL, &c->o.pipeline);
	for (;;) {
		struct pipeline_message m;
		struct pipeline_session s;
		struct pipeline_result res;
		struct pipeline_row *row;
		struct reader r;
		uint64_t len;
		char err[64];

		if (recv_by(fd, (char *)&len, sizeof(len), HUGE_VAL) != IO_OK)
			_exit(0);      /* the parent is gone or done */
		if (len > frame_max())
			_exit(2);
		buf_reset(&in);
		buf_grow(&in, (size_t)len);
		if (recv_by(fd, in.data, (size_t)len, HUGE_VAL) != IO_OK)
			_exit(0);
		buf_setlen_grown(&in, (size_t)len);
		r = (struct reader){ in.data, in.len, false };
		if (!get_message(&r, &m, &s))
			_exit(2);
		if (c->o.before_read)
			c->o.before_read(&m);
		frame_start(&out);
		if (pipeline_push(p, &m, &res, err, sizeof(err)) == PIPELINE_OK) {
			row = pipeline_row(p, &m, &res);
			put_u64(&out, 1);
			put_row(&out, store_worker_row_message((struct store_worker_row *)row));
			pipeline_row_free(row);
		} else {
			put_u64(&out, 0);      /* not mail, and no session to say more */
		}
		frame_end(&out);
		if (send_by(fd, out.data, out.len, HUGE_VAL) != IO_OK)
			_exit(0);
	}
}

/* ---- the parent ---- */

static bool spawn(pipeline_child *c)
{
	pid_t parent = getpid(), pid;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return false;
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return false;
	}
	if (pid == 0) {
		close(sv[0]);
		child_main(c, sv[1], parent);
	}
	close(sv[1]);
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0) {
		close(sv[0]);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return false;
	}
	c->pid = pid;
	c->fd = sv[0];
	return true;
}

/* end_child: the child killed (if it still runs) and reaped; how it ended */
static void end_child(pipeline_child *c, char *how, size_t howlen)
{
	int status = 0;

	if (c->pid <= 0)
		return;
	kill(c->pid, SIGKILL);
	while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
		;
	close(c->fd);
	if (WIFSIGNALED(status))
		snprintf(how, howlen, "died of signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else if (WIFEXITED(status))
		snprintf(how, howlen, "exited with status %d", WEXITSTATUS(status));
	else
		snprintf(how, howlen, "ended");
	c->pid = 0;
	c->fd = -1;
}

/* exchange: m to the child, its row back (NULL: the child found no mail) */
static enum io exchange(pipeline_child *c, const struct pipeline_message *m,
			struct pipeline_row **row)
{
	double deadline = mono() + (double)limit(LIMIT_PARSE_MS) / 1000.0;
	struct store_message sm;
	struct reader r;
	uint64_t len;
	enum io io;

	frame_start(&c->out);
	put_message(&c->out, m);
	frame_end(&c->out);
	if ((io = send_by(c->fd, c->out.data, c->out.len, deadline)) != IO_OK)
		return io;
	if ((io = recv_by(c->fd, (char *)&len, sizeof(len), deadline)) != IO_OK)
		return io;
	if (len > frame_max())
		return IO_DEAD;
	buf_reset(&c->in);
	buf_grow(&c->in, (size_t)len);
	if ((io = recv_by(c->fd, c->in.data, (size_t)len, deadline)) != IO_OK)
		return io;
	buf_setlen_grown(&c->in, (size_t)len);
	r = (struct reader){ c->in.data, c->in.len, false };
	if (get_u64(&r) == 0) {
		*row = NULL;
		return r.bad || r.left ? IO_DEAD : IO_OK;
	}
	if (!get_row(&r, &sm))
		return IO_DEAD;
	*row = (struct pipeline_row *)store_worker_copy(&sm);
	return IO_OK;
}

/* read_here: m read in this process (no child could be had) */
static struct pipeline_row *read_here(pipeline_child *c, const struct pipeline_message *m)
{
	struct pipeline_result res;
	char err[64];

	if (pipeline_push(c->local, m, &res, err, sizeof(err)) != PIPELINE_OK)
		return pipeline_row_unparsed(c->local, m);
	return pipeline_row(c->local, m, &res);
}

pipeline_child *pipeline_child_new(const struct pipeline_child_options *opt)
{
	pipeline_child *c = xcalloc(1, sizeof(*c));

	c->o = *opt;
	c->local = pipeline_new(NULL, &c->o.pipeline);
	c->fd = -1;
	buf_init(&c->out);
	buf_init(&c->in);
	return c;
}

void pipeline_child_free(pipeline_child *c)
{
	char how[64];

	if (!c)
		return;
	end_child(c, how, sizeof(how));
	pipeline_free(c->local);
	buf_free(&c->out);
	buf_free(&c->in);
	free(c);
}

int pipeline_child_pid(const pipeline_child *c)
{
	return c->pid;
}

struct pipeline_row *pipeline_child_row(pipeline_child *c, const struct pipeline_message *m,
					enum pipeline_child_failure *failure)
{
	const char *name = m->source ? m->source : "a message";
	struct pipeline_row *row = NULL;
	int attempt;

	*failure = PIPELINE_CHILD_OK;
	for (attempt = 0; attempt < 2; attempt++) {
		char how[64];
		int pid;
		enum io io;

		if (c->pid <= 0 && !spawn(c)) {
			if (!c->fork_failed)
				log_error("parser: cannot start a child (%s); messages are read in "
					  "the trap's own process until one can be", strerror(errno));
			c->fork_failed = true;
			return read_here(c, m);
		}
		c->fork_failed = false;
		pid = c->pid;
		if ((io = exchange(c, m, &row)) == IO_OK) {
			*failure = PIPELINE_CHILD_OK;
			/* no row: not mail, and no session to say more */
			return row ? row : pipeline_row_unparsed(c->local, m);
		}
		end_child(c, how, sizeof(how));
		if (io == IO_TIMEOUT) {
			log_error("parser: child %d gave no answer on %s within %lld ms; stopped, "
				  "and the message stored from its session alone", pid, name,
				  limit(LIMIT_PARSE_MS));
			*failure = PIPELINE_CHILD_TIMEOUT;
			break;
		}
		*failure = PIPELINE_CHILD_DIED;
		if (attempt == 0)
			log_warn("parser: child %d %s on %s; trying it once more in a new child",
				 pid, how, name);
		else
			log_error("parser: child %d %s on %s again; the message stored from its "
				  "session alone", pid, how, name);
	}
	return pipeline_row_unparsed(c->local, m);
}
