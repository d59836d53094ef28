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
#include <syslog.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "attrib/attrib.h"
#include "pipeline/child.h"
#include "pipeline/store_worker.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/hash.h"
#include "util/limits.h"
#include "util/log.h"
#include "util/timeutil.h"
#include "util/xalloc.h"
#include "util/banned.h"

#define CHILD_FD 3          /* the child's end of the socket */
#define NONE UINT64_MAX     /* the length of a NULL */

struct pipeline_child {
	struct pipeline_child_options o;
	pipeline *local;         /* unparsed rows; messages read here when no
				  * child can be forked */
	pid_t pid;               /* the parser child; 0: none */
	int fd;
	bool reaped;             /* pid was reaped with its zygote's group */
	int reaped_status;       /* then: how it ended, as waitpid gives it */
	pid_t zpid;              /* the zygote (below); 0: none */
	int ctl;
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

/* ---- the child ---- */

static bool read_full(int fd, char *p, size_t n)
{
	while (n > 0) {
		ssize_t r = read(fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		p += r;
		n -= (size_t)r;
	}
	return true;
}

static bool write_full(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/*
 * become_helper: what a process forked from the trap keeps. It dies with
 * the thread that forked it; the parent's signal handlers are not its own
 * (a crash here must end it); ^C or a service manager's SIGTERM to the
 * whole group are the parent's to act on; its one socket becomes fd 3 and
 * nothing else stays open but stdio (the listening sockets, the store,
 * the spool are none of its business; syslog's socket, which may be fd 3,
 * is closed first and reopened when next used). A message that crashes
 * parsers again and again leaves no core file each time. Returns the
 * socket.
 */
static int become_helper(int fd, pid_t parent)
{
	/* SIGTTOU, SIGTTIN: the zygote's group is its own, not the terminal's
	 * foreground one; a warning GLib writes there under `stty tostop`
	 * would stop the process, and its message would time out */
	static const int ignored[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGTTOU, SIGTTIN };
	struct rlimit nocore = { 0, 0 };
	struct sigaction sa;
	sigset_t none;
	size_t i;
	int sig;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	closelog();
	setrlimit(RLIMIT_CORE, &nocore);
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
	/* nothing of the trap's but the socket: one by one where the kernel
	 * has no close_range (before 5.9) */
	if (close_range(CHILD_FD + 1, ~0u, 0) != 0) {
		long max = sysconf(_SC_OPEN_MAX);
		int k;

		for (k = CHILD_FD + 1; k < (max > 0 && max < 65536 ? max : 65536); k++)
			close(k);
	}
	return fd;
}

/* child_main: answer each message with its row until the parent goes */
static void __attribute__((noreturn)) child_main(pipeline_child *c, int fd, pid_t parent)
{
	struct buf in = BUF_INIT, out = BUF_INIT;
	pipeline *p;

	fd = become_helper(fd, parent);
	p = pipeline_new(NULL, &c->o.pipeline);
	for (;;) {
		struct pipeline_message m;
		struct pipeline_session s;
		struct pipeline_result res;
		struct pipeline_row *row;
		struct reader r;
		uint64_t len;
		char err[64];

		if (!read_full(fd, (char *)&len, sizeof(len)))
			_exit(0);      /* the parent is gone or done */
		if (len > frame_max())
			_exit(2);
		buf_reset(&in);
		buf_grow(&in, (size_t)len);
		if (!read_full(fd, in.data, (size_t)len))
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
		if (!write_full(fd, out.data, out.len))
			_exit(0);
	}
}

/* ---- the zygote ----
 *
 * fork() in a process with threads leaves the child only async-signal-safe
 * calls: a lock another thread held at that moment (malloc's arenas under
 * a sanitizer, glibc's time-zone lock, which gmtime takes while the spool
 * thread writes a Received: line) stays held in the child forever. So the
 * parser children are forked by a helper that has one thread: forked from
 * the trap while the trap still had one (pipeline_child_new), it forks a
 * child on request and hands its socket over (SCM_RIGHTS), reaps it and
 * says how it ended, and reloads the knowledge base when told.
 */

struct zcmd {
	int op;                  /* 'S' spawn, 'W' wait for pid, 'R' reload the kb */
	int pid;
};

struct zreply {
	int ok;
	int pid;
	int status;              /* 'W': as waitpid gives it */
	char err[256];           /* 'R': why the kb was not reloaded */
};

static void __attribute__((noreturn)) zygote_main(pipeline_child *c, int ctl, pid_t parent)
{
	attrib_kb *kb = NULL;    /* a reloaded one, this process's own */

	ctl = become_helper(ctl, parent);
	/* its own process group, which its children join: should it die, the
	 * trap reaps the orphans it left by the group (zygote_end) */
	setpgid(0, 0);
	for (;;) {
		struct zcmd cmd;
		struct zreply rep;
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} u;
		struct iovec iov = { &rep, sizeof(rep) };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t r = recv(ctl, &cmd, sizeof(cmd), 0);
		int sv[2] = { -1, -1 };
		pid_t pid;

		if (r < 0 && errno == EINTR)
			continue;
		if (r != sizeof(cmd))
			_exit(0);       /* the trap is done, or gone */
		memset(&rep, 0, sizeof(rep));
		if (cmd.op == 'S' && c->o.fork_refused && c->o.fork_refused())
			rep.status = EAGAIN;
		else if (cmd.op == 'S')
			rep.status = socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ? errno : 0;
		if (cmd.op == 'S' && sv[0] >= 0) {
			pid_t me = getpid();

			if ((pid = fork()) == 0) {
				close(ctl);
				close(sv[0]);
				child_main(c, sv[1], me);
			}
			close(sv[1]);
			if (pid < 0) {
				rep.status = errno;
				close(sv[0]);
				sv[0] = -1;
			} else {
				struct cmsghdr *cm;

				rep.ok = 1;
				rep.pid = pid;
				msg.msg_control = u.buf;
				msg.msg_controllen = sizeof(u.buf);
				cm = CMSG_FIRSTHDR(&msg);
				cm->cmsg_level = SOL_SOCKET;
				cm->cmsg_type = SCM_RIGHTS;
				cm->cmsg_len = CMSG_LEN(sizeof(int));
				memcpy(CMSG_DATA(cm), &sv[0], sizeof(int));
			}
		} else if (cmd.op == 'W') {
			while ((pid = waitpid(cmd.pid, &rep.status, 0)) < 0 && errno == EINTR)
				;
			rep.ok = pid == cmd.pid;
		} else if (cmd.op == 'R') {
			attrib_kb *n = attrib_kb_load(c->o.kb_dir, rep.err, sizeof(rep.err));

			if (n) {
				attrib_kb_free(kb);
				kb = n;
				c->o.pipeline.kb = kb;
				rep.ok = 1;
			}
		}
		if (sendmsg(ctl, &msg, MSG_NOSIGNAL) != (ssize_t)sizeof(rep))
			_exit(0);
		if (sv[0] >= 0)
			close(sv[0]);
	}
}

/* ---- the parent ---- */

/* zygote_start: false when it cannot be had (messages are then read here) */
static bool zygote_start(pipeline_child *c)
{
	pid_t parent = getpid(), pid;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return false;
	if ((pid = fork()) < 0) {
		close(sv[0]);
		close(sv[1]);
		return false;
	}
	if (pid == 0) {
		close(sv[0]);
		zygote_main(c, sv[1], parent);
	}
	setpgid(pid, pid);       /* both ask: whichever comes first */
	close(sv[1]);
	c->zpid = pid;
	c->ctl = sv[0];
	return true;
}

/* zygote_end: the zygote ended and reaped, and with it the children it
 * had: one it forked but had not handed over yet (it died between) would
 * come to this process, the subreaper, and stay a zombie, its pid known to
 * no one here. The current child's end is kept for end_child. */
static void zygote_end(pipeline_child *c)
{
	bool group;
	int status;
	pid_t pid;

	if (c->zpid <= 0)
		return;
	close(c->ctl);           /* it exits at the end of its socket */
	/* or now, if it hangs; its children die with it (PR_SET_PDEATHSIG) */
	group = kill(-c->zpid, SIGKILL) == 0;
	if (!group)
		kill(c->zpid, SIGKILL);
	while (waitpid(c->zpid, NULL, 0) < 0 && errno == EINTR)
		;
	/* its orphans are this process's children once it is reaped */
	while (group && ((pid = waitpid(-c->zpid, &status, 0)) > 0 || errno == EINTR))
		if (pid > 0 && pid == c->pid) {
			c->reaped = true;
			c->reaped_status = status;
		}
	c->zpid = 0;
	c->ctl = -1;
}

/* zygote_call: cmd's reply, and with 'S' the child's socket; a zygote
 * that does not answer within 5 s is ended (and said so once) */
static bool zygote_call(pipeline_child *c, int op, int pid, struct zreply *rep, int *fd)
{
	struct zcmd cmd = { op, pid };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { rep, sizeof(*rep) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	struct pollfd pf;
	struct cmsghdr *cm;
	double deadline;
	ssize_t r;
	int ready = 0;

	if (fd)
		*fd = -1;
	if (c->zpid <= 0)
		return false;
	pf = (struct pollfd){ .fd = c->ctl, .events = POLLIN };
	/* a signal (a second SIGTERM while the trap drains) is no silence of
	 * the zygote's: the call goes on, within its 5 s */
	deadline = time_mono() + 5;
	while ((r = send(c->ctl, &cmd, sizeof(cmd), MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	if (r == (ssize_t)sizeof(cmd))
		while ((ready = poll(&pf, 1, (int)fmax(0, (deadline - time_mono()) * 1000))) < 0 && errno == EINTR)
			;
	if (r == (ssize_t)sizeof(cmd) && ready == 1)
		while ((r = recvmsg(c->ctl, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
			;
	if (ready != 1 || r != (ssize_t)sizeof(*rep)) {
		log_error("parser: the process that starts parser children stopped answering; "
			  "messages are read in this process from now on");
		zygote_end(c);
		return false;
	}
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			int got;

			memcpy(&got, CMSG_DATA(cm), sizeof(got));
			if (fd && *fd < 0)
				*fd = got;
			else
				close(got);
		}
	rep->err[sizeof(rep->err) - 1] = '\0';
	return true;
}

static bool spawn(pipeline_child *c)
{
	struct zreply rep;
	int fd;

	if (!zygote_call(c, 'S', 0, &rep, &fd))
		return false;
	if (!rep.ok || fd < 0) {
		if (fd >= 0)
			close(fd);
		if (rep.ok) {
			/* forked, but its socket did not come: not left to run */
			kill(rep.pid, SIGKILL);
			zygote_call(c, 'W', rep.pid, &rep, NULL);
			rep.status = EBADF;
		}
		errno = rep.status ? rep.status : EAGAIN;    /* the zygote's fork */
		return false;
	}
	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		close(fd);
		kill(rep.pid, SIGKILL);
		zygote_call(c, 'W', rep.pid, &rep, NULL);
		return false;
	}
	c->pid = rep.pid;
	c->fd = fd;
	return true;
}

/* end_child: the child killed (if it still runs) and reaped; how it ended */
static void end_child(pipeline_child *c, char *how, size_t howlen)
{
	struct zreply rep;
	int status;

	if (c->pid <= 0)
		return;
	if (!c->reaped)
		kill(c->pid, SIGKILL);
	close(c->fd);
	snprintf(how, howlen, "ended");
	status = -1;
	if (!c->reaped && zygote_call(c, 'W', c->pid, &rep, NULL)) {
		if (rep.ok)
			status = rep.status;
	} else if (c->reaped) {
		/* its zygote's end took it (before, or as the call ended it) */
		status = c->reaped_status;
	} else {
		/* the zygote is gone: its orphan came to us (the subreaper) */
		while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	if (status != -1) {
		if (WIFSIGNALED(status))
			snprintf(how, howlen, "died of signal %d (%s)", WTERMSIG(status),
				 strsignal(WTERMSIG(status)));
		else if (WIFEXITED(status))
			snprintf(how, howlen, "exited with status %d", WEXITSTATUS(status));
	}
	c->pid = 0;
	c->fd = -1;
	c->reaped = false;
}

/* answer: the row in c->in, for m (the child found no mail in it and it
 * came without a session: unparsed); NULL when it does not decode. What
 * names the message (sensor, source, hash) is this process's to say: a
 * child that read hostile bytes is not trusted with where they go. */
static struct pipeline_row *answer(pipeline_child *c, const struct pipeline_message *m)
{
	struct reader r = { c->in.data, c->in.len, false };
	unsigned char digest[HASH_DIGEST_LEN];
	struct store_message sm;

	if (get_u64(&r) == 0)
		return r.bad || r.left ? NULL : pipeline_row_unparsed(c->local, m);
	if (!get_row(&r, &sm))
		return NULL;
	sm.sensor = c->o.pipeline.sensor;
	sm.source = m->source;
	sm.hash = pipeline_message_digest(m, digest) ? digest : NULL;
	return (struct pipeline_row *)store_worker_copy(&sm);
}

/*
 * stream: m[*i..n) written to the child while their rows come back, in
 * order; *i moves past each row received. The child reads a message only
 * after it answered the one before, so the first message without a row
 * is the one it was reading when it died or hung. Each gets parse_ms from
 * the moment the row before it came (or the stream began). Writing while
 * reading: neither side can fill its socket and wait on the other. A write
 * that fails (the child died) ends the writing, not the reading: rows the
 * child sent before it died are still to be had, and the message without
 * one is then the right one to blame.
 */
static enum io stream(pipeline_child *c, const struct pipeline_message *const *m, size_t n,
		      size_t *i, struct pipeline_row **rows)
{
	double parse_s = (double)limit(LIMIT_PARSE_MS) / 1000.0, deadline = time_mono() + parse_s;
	size_t next = *i, out_off = 0, got = 0;
	bool writing = false, have_len = false, broken = false;
	uint64_t len = 0;

	while (*i < n) {
		struct pollfd pf = { .fd = c->fd, .events = POLLIN };
		double left;
		ssize_t r;
		int ready;

		if (!writing && !broken && next < n) {
			frame_start(&c->out);
			put_message(&c->out, m[next]);
			frame_end(&c->out);
			out_off = 0;
			writing = true;
		}
		if (writing)
			pf.events |= POLLOUT;
		if ((left = deadline - time_mono()) <= 0)
			return IO_TIMEOUT;
		ready = poll(&pf, 1, (int)(left * 1000) + 1);
		if (ready < 0 && errno != EINTR)
			return IO_DEAD;
		if (ready <= 0)
			continue;
		if (writing && (pf.revents & (POLLOUT | POLLERR))) {
			r = send(c->fd, c->out.data + out_off, c->out.len - out_off, MSG_NOSIGNAL);
			if (r < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
				/* a child that still runs ends at the cut frame */
				shutdown(c->fd, SHUT_WR);
				writing = false;
				broken = true;
			}
			if (r > 0 && (out_off += (size_t)r) == c->out.len) {
				writing = false;
				next++;
			}
		}
		if (!(pf.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		r = recv(c->fd, have_len ? c->in.data + got : (char *)&len + got,
			 (have_len ? (size_t)len : sizeof(len)) - got, 0);
		if (r == 0)
			return IO_DEAD;
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			return IO_DEAD;
		}
		got += (size_t)r;
		if (got < (have_len ? (size_t)len : sizeof(len)))
			continue;
		got = 0;
		if (!have_len) {
			if (len > frame_max())
				return IO_DEAD;
			buf_reset(&c->in);
			buf_grow(&c->in, (size_t)len);
			have_len = true;
			if (len > 0)
				continue;
		}
		have_len = false;
		buf_setlen_grown(&c->in, (size_t)len);
		if (!(rows[*i] = answer(c, m[*i])))
			return IO_DEAD;
		(*i)++;
		deadline = time_mono() + parse_s;
	}
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
	c->fd = c->ctl = -1;
	buf_init(&c->out);
	buf_init(&c->in);
	/* a child whose zygote died comes to this process, to be reaped */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (!zygote_start(c))
		log_error("parser: cannot start the process that starts parser children (%s); "
			  "messages are read in this process", strerror(errno));
	return c;
}

void pipeline_child_free(pipeline_child *c)
{
	char how[64];

	if (!c)
		return;
	end_child(c, how, sizeof(how));
	zygote_end(c);
	pipeline_free(c->local);
	buf_free(&c->out);
	buf_free(&c->in);
	free(c);
}

bool pipeline_child_reload(pipeline_child *c, const attrib_kb *kb, char *err, size_t errlen)
{
	struct zreply rep;
	char how[64];

	c->o.pipeline.kb = kb;
	pipeline_free(c->local);
	c->local = pipeline_new(NULL, &c->o.pipeline);
	end_child(c, how, sizeof(how));
	if (!zygote_call(c, 'R', 0, &rep, NULL)) {
		snprintf(err, errlen, "no process to start parser children");
		return false;
	}
	if (!rep.ok)
		snprintf(err, errlen, "%s", rep.err);
	return rep.ok;
}

int pipeline_child_pid(const pipeline_child *c)
{
	return c->pid;
}

void pipeline_child_rows(pipeline_child *c, const struct pipeline_message *const *m, size_t n,
			 struct pipeline_row **rows, enum pipeline_child_failure *failures)
{
	size_t i = 0, died_on = SIZE_MAX;

	for (i = 0; i < n; i++)
		failures[i] = PIPELINE_CHILD_OK;
	i = 0;
	while (i < n) {
		const char *name;
		char how[64];
		int pid;
		enum io io;

		if (c->pid <= 0 && !spawn(c)) {
			if (!c->fork_failed && c->zpid > 0)
				log_error("parser: cannot start a child (%s); messages are read in "
					  "this process until one can be", strerror(errno));
			c->fork_failed = true;
			if (i == died_on) {
				/* what killed a child is not read here */
				log_error("parser: %s stored from its session alone", m[i]->source ?
					  m[i]->source : "a message");
				failures[i] = PIPELINE_CHILD_DIED;
				rows[i] = pipeline_row_unparsed(c->local, m[i]);
				i++;
			}
			for (; i < n; i++)
				rows[i] = read_here(c, m[i]);
			return;
		}
		c->fork_failed = false;
		pid = c->pid;
		if ((io = stream(c, m, n, &i, rows)) == IO_OK)
			return;
		end_child(c, how, sizeof(how));
		name = m[i]->source ? m[i]->source : "a message";
		if (io == IO_DEAD && c->zpid <= 0) {
			/* its zygote went (PR_SET_PDEATHSIG), not its message */
			log_warn("parser: child %d %s with the process that started it", pid, how);
			continue;
		}
		if (io == IO_TIMEOUT) {
			/* not tried again: a hang would cost its time twice */
			log_error("parser: child %d gave no answer on %s within %lld ms; stopped, "
				  "and the message stored from its session alone", pid, name,
				  limit(LIMIT_PARSE_MS));
			failures[i] = PIPELINE_CHILD_TIMEOUT;
		} else if (died_on != i) {
			log_warn("parser: child %d %s on %s; trying it once more in a new child",
				 pid, how, name);
			died_on = i;
			continue;
		} else {
			log_error("parser: child %d %s on %s again; the message stored from its "
				  "session alone", pid, how, name);
			failures[i] = PIPELINE_CHILD_DIED;
		}
		rows[i] = pipeline_row_unparsed(c->local, m[i]);
		i++;
	}
}

struct pipeline_row *pipeline_child_row(pipeline_child *c, const struct pipeline_message *m,
					enum pipeline_child_failure *failure)
{
	struct pipeline_row *row;

	pipeline_child_rows(c, &m, 1, &row, failure);
	return row;
}
