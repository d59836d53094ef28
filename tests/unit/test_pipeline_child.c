/*
 * test_pipeline_child.c - a message read in a child process: the same row
 * as in the process itself; a child that dies once (tried again), a
 * message it dies on every time, a child that hangs (parse_ms), one that
 * answers nothing: each stored from its session alone, and the next
 * message read by a new child.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "attrib/attrib.h"
#include "mail/features.h"
#include "pipeline/child.h"
#include "pipeline/pipeline.h"
#include "pipeline/store_worker.h"
#include "store/store.h"
#include "util/hash.h"
#include "util/limits.h"
#include "util/log.h"

/* a family known by its dialect alone, and by its X-Mailer */
static const char kb_text[] =
	"family testbot\n"
	"threshold 0.5\n"
	"dialect_id = \"dialect:0badc0de\"\n"
	"x_mailer = \"TestBot 1.0\"\n";

static const char message[] =
	"From: a@example.org\r\n"
	"To: b@example.com\r\n"
	"Subject: %s\r\n"
	"X-Mailer: TestBot 1.0\r\n"
	"Message-ID: <1234.5678@example.org>\r\n"
	"\r\n"
	"cheap pills http://example.net/x\r\n";

static char marker[256];     /* a file: the first child that sees it missing dies */
static pid_t test_pid;       /* this process, which the children may stop */
static char nofork[256];     /* a file: while it is there, forks fail */
static char zdies[256];      /* a file: the zygote forks, then dies */

/* in the zygote */
static bool refuse_fork(void)
{
	if (access(zdies, F_OK) == 0) {
		/* a process of its forking that it dies before handing over */
		if (fork() == 0) {
			close_range(3, ~0u, 0);
			for (;;)
				pause();
		}
		raise(SIGKILL);
	}
	return access(nofork, F_OK) == 0;
}

/* in the child: what the subject asks for */
static void misbehave(const struct pipeline_message *m)
{
	FILE *f;

	if (!m->raw)
		return;
	if (memmem(m->raw, m->len, "STOPPARENT", 10)) {
		/* the parent, blocked writing what follows, stopped before
		 * this message's row is sent */
		usleep(200 * 1000);
		kill(test_pid, SIGSTOP);
		usleep(20 * 1000);
	}
	if (memmem(m->raw, m->len, "CONTPARENT", 10) && fork() == 0) {
		/* woken once this child is dead (and its socket closed) */
		close_range(3, ~0u, 0);
		usleep(100 * 1000);
		kill(test_pid, SIGCONT);
		_exit(0);
	}
	if (memmem(m->raw, m->len, "NOFORK", 6) && (f = fopen(nofork, "w")))
		fclose(f);               /* no new child to be had */
	if (memmem(m->raw, m->len, "POISON", 6))
		abort();
	if (memmem(m->raw, m->len, "HANG", 4))
		pause();
	if (memmem(m->raw, m->len, "VANISH", 6))
		_exit(0);
	if (memmem(m->raw, m->len, "ONCE", 4) && !(f = fopen(marker, "r"))) {
		f = fopen(marker, "w");
		if (f)
			fclose(f);
		raise(SIGSEGV);
	} else if (memmem(m->raw, m->len, "ONCE", 4)) {
		fclose(f);
	}
}

struct fixture {
	attrib_kb *kb;
	pipeline_child *c;
	char raw[1024];
	struct pipeline_session ses;
	struct pipeline_message m;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct pipeline_child_options o;
	char err[256];

	log_init("test_pipeline_child", false);
	mail_init();
	limit_reset();
	fx->kb = attrib_kb_parse("testbot.rule", kb_text, strlen(kb_text), err, sizeof(err));
	if (!fx->kb)
		fail_msg("kb: %s", err);
	memset(&o, 0, sizeof(o));
	o.pipeline.sensor = "trap1";
	o.pipeline.kb = fx->kb;
	o.before_read = misbehave;
	o.fork_refused = refuse_fork;
	fx->c = pipeline_child_new(&o);
	test_pid = getpid();
	snprintf(nofork, sizeof(nofork), "/tmp/test_pipeline_child.%ld.nofork", (long)getpid());
	unlink(nofork);
	snprintf(marker, sizeof(marker), "/tmp/test_pipeline_child.%ld", (long)getpid());
	unlink(marker);
	snprintf(zdies, sizeof(zdies), "/tmp/test_pipeline_child.%ld.zdies", (long)getpid());
	unlink(zdies);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	pipeline_child_free(fx->c);
	attrib_kb_free(fx->kb);
	unlink(marker);
	unlink(nofork);
	unlink(zdies);
	free(fx);
	return 0;
}

/* message: a session with the family's dialect, the subject given */
static const struct pipeline_message *message_with(struct fixture *fx, const char *subject)
{
	snprintf(fx->raw, sizeof(fx->raw), message, subject);
	memset(&fx->ses, 0, sizeof(fx->ses));
	fx->ses.client_ip = "192.0.2.7";
	fx->ses.helo = "WIN-8K2J3H4G5F6";
	fx->ses.mail_from = "a@example.org";
	fx->ses.rcpt_count = 2;
	fx->ses.dialect_id = "dialect:0badc0de";
	fx->ses.dialect_facts = "mail_syntax=nospace\nquit=no";
	fx->ses.ts = 1300289400;
	memset(&fx->m, 0, sizeof(fx->m));
	fx->m.raw = fx->raw;
	fx->m.len = strlen(fx->raw);
	fx->m.source = "trap:trap1#6B0D2FA3DC8700000";
	fx->m.session = &fx->ses;
	return &fx->m;
}

static const struct store_message *row_message(const struct pipeline_row *row)
{
	return store_worker_row_message((const struct store_worker_row *)row);
}

static void assert_str_or_null(const char *a, const char *b)
{
	if (!a || !b)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

/* the row read in the child is the row read here, field for field */
static void test_same_row(void **state)
{
	struct fixture *fx = *state;
	const struct pipeline_message *m = message_with(fx, "hello");
	struct pipeline_options po = { .sensor = "trap1", .kb = fx->kb };
	pipeline *here = pipeline_new(NULL, &po);
	struct pipeline_result res;
	enum pipeline_child_failure why;
	struct pipeline_row *a, *b;
	const struct store_message *x, *y;
	char err[64];

	assert_int_equal(pipeline_push(here, m, &res, err, sizeof(err)), PIPELINE_OK);
	a = pipeline_row(here, m, &res);
	b = pipeline_child_row(fx->c, m, &why);
	assert_int_equal(why, PIPELINE_CHILD_OK);
	assert_true(pipeline_child_pid(fx->c) > 0);
	x = row_message(a);
	y = row_message(b);
	assert_string_equal(y->family, "testbot");
	assert_int_equal(x->ts, y->ts);
	assert_str_or_null(x->sensor, y->sensor);
	assert_str_or_null(x->source, y->source);
	assert_ptr_equal(y->hash, NULL);
	assert_str_or_null(x->family, y->family);
	assert_true(x->confidence == y->confidence);
	assert_str_or_null(x->campaign, y->campaign);
	assert_str_or_null(x->client_ip, y->client_ip);
	assert_str_or_null(x->helo, y->helo);
	assert_str_or_null(x->envelope_from, y->envelope_from);
	assert_int_equal(x->rcpts, y->rcpts);
	assert_int_equal(y->rcpts, 2);
	assert_int_equal(x->size, y->size);
	assert_str_or_null(x->message_id, y->message_id);
	assert_str_or_null(x->msgid_shape, y->msgid_shape);
	assert_string_equal(y->subject, "hello");
	assert_str_or_null(x->x_mailer, y->x_mailer);
	assert_str_or_null(x->dialect_id, y->dialect_id);
	assert_str_or_null(x->dialect, y->dialect);
	assert_int_equal(x->encrypted, y->encrypted);
	assert_int_equal(x->warnings, y->warnings);
	assert_int_equal(x->features_len, y->features_len);
	assert_memory_equal(x->features, y->features, x->features_len);
	pipeline_row_free(a);
	pipeline_row_free(b);
	pipeline_free(here);
}

/* an unparsed row: the session's family, the message's size, the warning */
static void assert_unparsed(struct fixture *fx, struct pipeline_row *row)
{
	const struct store_message *y = row_message(row);

	assert_string_equal(y->family, "testbot");
	assert_int_equal(y->size, fx->m.len);
	assert_int_equal(y->warnings, MAIL_WARN_UNPARSED);
	assert_string_equal(y->client_ip, "192.0.2.7");
	assert_string_equal(y->dialect_id, "dialect:0badc0de");
	assert_int_equal(y->ts, 1300289400);
	assert_int_equal(y->rcpts, 2);
	assert_null(y->subject);
	assert_false(y->encrypted);
}

/* the next message is read by a new child */
static void assert_next_read(struct fixture *fx, int old_pid)
{
	enum pipeline_child_failure why;
	struct pipeline_row *row = pipeline_child_row(fx->c, message_with(fx, "after"), &why);

	assert_int_equal(why, PIPELINE_CHILD_OK);
	assert_string_equal(row_message(row)->subject, "after");
	assert_int_equal(row_message(row)->warnings, 0);
	assert_true(pipeline_child_pid(fx->c) > 0);
	assert_int_not_equal(pipeline_child_pid(fx->c), old_pid);
	pipeline_row_free(row);
}

static void test_dies_once(void **state)
{
	struct fixture *fx = *state;
	enum pipeline_child_failure why;
	struct pipeline_row *row;
	int pid;

	row = pipeline_child_row(fx->c, message_with(fx, "warm"), &why);
	pipeline_row_free(row);
	pid = pipeline_child_pid(fx->c);
	row = pipeline_child_row(fx->c, message_with(fx, "ONCE"), &why);
	/* read by the second child */
	assert_int_equal(why, PIPELINE_CHILD_OK);
	assert_string_equal(row_message(row)->subject, "ONCE");
	assert_int_equal(row_message(row)->warnings, 0);
	assert_int_not_equal(pipeline_child_pid(fx->c), pid);
	pipeline_row_free(row);
}

static void test_poison(void **state)
{
	struct fixture *fx = *state;
	enum pipeline_child_failure why;
	struct pipeline_row *row;
	int i, pid;

	pipeline_row_free(pipeline_child_row(fx->c, message_with(fx, "warm"), &why));
	pid = pipeline_child_pid(fx->c);
	/* a bot that repeats it: each time stored, never read */
	for (i = 0; i < 3; i++) {
		row = pipeline_child_row(fx->c, message_with(fx, "POISON"), &why);
		assert_int_equal(why, PIPELINE_CHILD_DIED);
		assert_unparsed(fx, row);
		assert_int_equal(pipeline_child_pid(fx->c), 0);
		pipeline_row_free(row);
	}
	assert_next_read(fx, pid);
}

static void test_vanish(void **state)
{
	struct fixture *fx = *state;
	enum pipeline_child_failure why;
	struct pipeline_row *row;
	int pid;

	pipeline_row_free(pipeline_child_row(fx->c, message_with(fx, "warm"), &why));
	pid = pipeline_child_pid(fx->c);
	row = pipeline_child_row(fx->c, message_with(fx, "VANISH"), &why);
	assert_int_equal(why, PIPELINE_CHILD_DIED);
	assert_unparsed(fx, row);
	pipeline_row_free(row);
	assert_next_read(fx, pid);
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_hang(void **state)
{
	struct fixture *fx = *state;
	enum pipeline_child_failure why;
	struct pipeline_row *row;
	double t0, took;
	int pid;
	char err[128];


	assert_int_equal(limit_set("parse_ms=300", err, sizeof(err)), 0);
	row = pipeline_child_row(fx->c, message_with(fx, "warm"), &why);
	pipeline_row_free(row);
	pid = pipeline_child_pid(fx->c);
	t0 = mono();
	row = pipeline_child_row(fx->c, message_with(fx, "HANG"), &why);
	took = mono() - t0;
	assert_int_equal(why, PIPELINE_CHILD_TIMEOUT);
	assert_unparsed(fx, row);
	pipeline_row_free(row);
	/* not tried again: a hang costs its time once */
	assert_true(took >= 0.3 && took < 2.0);
	assert_next_read(fx, pid);
}

/* a message larger than the socket's buffers, both ways */
static void test_large(void **state)
{
	struct fixture *fx = *state;
	size_t n = 4u << 20, head;
	char *raw = malloc(n);
	enum pipeline_child_failure why;
	struct pipeline_row *row;
	size_t i;

	message_with(fx, "large");
	head = strlen(fx->raw);
	memcpy(raw, fx->raw, head);
	for (i = head; i < n; i++)
		raw[i] = (i % 77 == 76) ? '\n' : (char)('a' + i % 26);
	fx->m.raw = raw;
	fx->m.len = n;
	row = pipeline_child_row(fx->c, &fx->m, &why);
	assert_int_equal(why, PIPELINE_CHILD_OK);
	assert_int_equal(row_message(row)->size, n);
	assert_string_equal(row_message(row)->subject, "large");
	pipeline_row_free(row);
	free(raw);
}

/* a batch streamed: rows in order; a poison message, a child that dies
 * once and one that hangs in the middle of it cost only themselves */
static void test_batch(void **state)
{
	struct fixture *fx = *state;
	enum { N = 40 };
	static char raws[N][512];
	struct pipeline_message ms[N];
	const struct pipeline_message *mp[N];
	struct pipeline_row *rows[N];
	enum pipeline_child_failure why[N];
	char subject[32], err[128];
	double t0, took;
	size_t i;
	int pid;

	assert_int_equal(limit_set("parse_ms=300", err, sizeof(err)), 0);
	pipeline_row_free(pipeline_child_row(fx->c, message_with(fx, "warm"), why));
	pid = pipeline_child_pid(fx->c);
	message_with(fx, "x");
	for (i = 0; i < N; i++) {
		snprintf(subject, sizeof(subject), "%s %zu",
			 i == 10 ? "POISON" : i == 25 ? "ONCE" : i == 33 ? "HANG" : "batch", i);
		snprintf(raws[i], sizeof(raws[i]), message, subject);
		ms[i] = fx->m;
		ms[i].raw = raws[i];
		ms[i].len = strlen(raws[i]);
		mp[i] = &ms[i];
	}
	t0 = mono();
	pipeline_child_rows(fx->c, mp, N, rows, why);
	took = mono() - t0;
	for (i = 0; i < N; i++) {
		const struct store_message *y = row_message(rows[i]);

		if (i == 10 || i == 33) {
			assert_int_equal(why[i], i == 10 ? PIPELINE_CHILD_DIED : PIPELINE_CHILD_TIMEOUT);
			assert_int_equal(y->warnings, MAIL_WARN_UNPARSED);
			assert_int_equal(y->size, ms[i].len);
			assert_null(y->subject);
		} else {
			snprintf(subject, sizeof(subject), "%s %zu", i == 25 ? "ONCE" : "batch", i);
			assert_int_equal(why[i], PIPELINE_CHILD_OK);
			assert_string_equal(y->subject, subject);
			assert_int_equal(y->warnings, 0);
		}
		assert_string_equal(y->family, "testbot");
		pipeline_row_free(rows[i]);
	}
	/* one wait for the hang, not one per message after it */
	assert_true(took >= 0.3 && took < 3.0);
	assert_next_read(fx, pid);
}

/* what names a message (sensor, source, hash) is the parent's to say */
static void test_names(void **state)
{
	struct fixture *fx = *state;
	const struct pipeline_message *m = message_with(fx, "names");
	unsigned char digest[HASH_DIGEST_LEN];
	enum pipeline_child_failure why;
	struct pipeline_row *row;

	fx->m.dedup = true;
	row = pipeline_child_row(fx->c, m, &why);
	assert_int_equal(why, PIPELINE_CHILD_OK);
	hash_digest(m->raw, m->len, digest);
	assert_non_null(row_message(row)->hash);
	assert_memory_equal(row_message(row)->hash, digest, HASH_DIGEST_LEN);
	assert_string_equal(row_message(row)->sensor, "trap1");
	assert_string_equal(row_message(row)->source, m->source);
	assert_ptr_not_equal(row_message(row)->source, m->source);    /* a copy */
	pipeline_row_free(row);
}

/*
 * A child that dies while a large message is still being written to it:
 * the write fails, but the row of the message before the poison is still
 * in the socket. It must be read, so that the poison (not the message
 * before it) is the one tried twice and then stored unparsed. The child
 * makes it so: it stops this process before it answers the first message
 * and has it woken after it died on the second, so that the write to a
 * dead child comes before the read of the row it left.
 */
static void test_broken_pipe(void **state)
{
	struct fixture *fx = *state;
	enum { N = 4, ROUNDS = 2 };
	size_t big = 4u << 20, head, i;
	static char small[2][512], poison[512];
	char *raw = malloc(big);
	struct pipeline_message ms[N];
	const struct pipeline_message *mp[N];
	struct pipeline_row *rows[N];
	enum pipeline_child_failure why[N];
	int round;

	message_with(fx, "big");
	head = strlen(fx->raw);
	memcpy(raw, fx->raw, head);
	for (i = head; i < big; i++)
		raw[i] = (i % 77 == 76) ? '\n' : (char)('a' + i % 26);
	snprintf(small[0], sizeof(small[0]), message, "first STOPPARENT");
	snprintf(poison, sizeof(poison), message, "POISON CONTPARENT");
	snprintf(small[1], sizeof(small[1]), message, "last");
	for (i = 0; i < N; i++) {
		ms[i] = fx->m;
		mp[i] = &ms[i];
	}
	ms[0].raw = small[0];
	ms[1].raw = poison;
	ms[2].raw = raw;
	ms[3].raw = small[1];
	for (i = 0; i < N; i++)
		ms[i].len = i == 2 ? big : strlen(ms[i].raw);
	for (round = 0; round < ROUNDS; round++) {
		pipeline_child_rows(fx->c, mp, N, rows, why);
		assert_int_equal(why[0], PIPELINE_CHILD_OK);
		assert_string_equal(row_message(rows[0])->subject, "first STOPPARENT");
		assert_int_equal(why[1], PIPELINE_CHILD_DIED);
		assert_int_equal(row_message(rows[1])->warnings, MAIL_WARN_UNPARSED);
		assert_int_equal(why[2], PIPELINE_CHILD_OK);
		assert_int_equal(row_message(rows[2])->size, big);
		assert_int_equal(why[3], PIPELINE_CHILD_OK);
		assert_string_equal(row_message(rows[3])->subject, "last");
		for (i = 0; i < N; i++)
			pipeline_row_free(rows[i]);
	}
	free(raw);
}

/* a message that kills its child when no new child can be had: not read
 * in this process (it would kill the trap), stored unparsed; the messages
 * after it are read here, and children are used again once they can be */
static void test_no_new_child(void **state)
{
	struct fixture *fx = *state;
	static char raws[2][512];
	struct pipeline_message ms[2];
	const struct pipeline_message *mp[2] = { &ms[0], &ms[1] };
	struct pipeline_row *rows[2];
	enum pipeline_child_failure why[2];
	size_t i;

	pipeline_row_free(pipeline_child_row(fx->c, message_with(fx, "warm"), why));
	snprintf(raws[0], sizeof(raws[0]), message, "POISON NOFORK");
	snprintf(raws[1], sizeof(raws[1]), message, "after");
	for (i = 0; i < 2; i++) {
		ms[i] = fx->m;
		ms[i].raw = raws[i];
		ms[i].len = strlen(raws[i]);
	}
	pipeline_child_rows(fx->c, mp, 2, rows, why);
	assert_int_equal(why[0], PIPELINE_CHILD_DIED);
	assert_int_equal(row_message(rows[0])->warnings, MAIL_WARN_UNPARSED);
	assert_null(row_message(rows[0])->subject);
	assert_int_equal(why[1], PIPELINE_CHILD_OK);
	assert_string_equal(row_message(rows[1])->subject, "after");
	assert_int_equal(pipeline_child_pid(fx->c), 0);
	for (i = 0; i < 2; i++)
		pipeline_row_free(rows[i]);
	unlink(nofork);
	assert_next_read(fx, 0);
}

/* the zygote dies between forking a process and handing it over: that
 * orphan comes to this process (the subreaper), and is ended and reaped
 * with the zygote, not left running or a zombie no one reaps; the
 * messages are read here from then on */
static void test_zygote_dies(void **state)
{
	struct fixture *fx = *state;
	enum pipeline_child_failure why;
	struct pipeline_row *row;
	FILE *f;
	int status;

	pipeline_row_free(pipeline_child_row(fx->c, message_with(fx, "warm"), &why));
	assert_int_equal(why, PIPELINE_CHILD_OK);
	f = fopen(zdies, "w");
	assert_non_null(f);
	fclose(f);
	/* the child dies on it; the next is asked of the zygote, which dies */
	row = pipeline_child_row(fx->c, message_with(fx, "POISON"), &why);
	assert_int_equal(why, PIPELINE_CHILD_DIED);
	pipeline_row_free(row);
	unlink(zdies);
	errno = 0;
	assert_int_equal(waitpid(-1, &status, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	row = pipeline_child_row(fx->c, message_with(fx, "after"), &why);
	assert_int_equal(why, PIPELINE_CHILD_OK);
	assert_string_equal(row_message(row)->subject, "after");
	assert_int_equal(pipeline_child_pid(fx->c), 0);
	pipeline_row_free(row);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_same_row, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dies_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_poison, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vanish, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hang, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broken_pipe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_new_child, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zygote_dies, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
