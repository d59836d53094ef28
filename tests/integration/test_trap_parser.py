"""The trap's parser child (src/pipeline/child.h), through the real binary and
smtplib: each message is read in a child process, and the trap outlives it.
The child runs as the trap's user.

- A message is read by the child: its row holds the subject; SIGHUP (a new
  knowledge base) starts a new child, the old one reaped.
- SIGTERM sent to the child alone (as a service manager signals the whole
  group) leaves it running: the trap ends it when it ends.
- The child killed between messages: the next message is read by a new one.
- The child stopped (SIGSTOP: a parser that hangs): the message is answered
  250 once parse_ms has passed, stored from its session alone (the family
  its dialect says, its size, the `unparsed` warning), counted in /metrics,
  logged; the next message is read by a new child.
- The zygote (the single-threaded process that forks the parser children)
  killed: the next message is read in the trap's own process.
- Every message is in the spool byte for byte, and in the store; the trap
  stops cleanly. A trap stopped while its zygote and a child run leaves
  neither behind, not even as a zombie.
"""
import os
import re
import signal
import smtplib
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from spamtide_test import check, finish, tmpdir  # noqa: E402
from test_trap import QID, Trap, check_delivered, message  # noqa: E402

PARSE_MS = 1500
UNPARSED = 1 << 10


def children(pid):
    out = []
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                out += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return out


def exists(pid):
    """alive or a zombie nobody reaped"""
    return os.path.exists("/proc/%d" % pid)


def ended(pid, timeout=5):
    """gone, or a zombie for whoever adopted it (its parent died first)"""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if state(pid) == "Z":
                return True
        except OSError:
            return True
        time.sleep(0.05)
    return False


def state(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def send(t, n):
    """one message through smtplib: (queue id, data, seconds to the answer)"""
    data = message(n)
    c = smtplib.SMTP("127.0.0.1", t.port, local_hostname="parser.example", timeout=30)
    c.ehlo()
    c.docmd("MAIL FROM:<bot%d@sender.example>" % n)
    c.docmd("RCPT TO:<victim@example.com>")
    t0 = time.time()
    code, resp = c.data(data)
    took = time.time() - t0
    c.quit()
    m = QID.search(b"%d %s" % (code, resp))
    check(code == 250 and m is not None, "message %d answered 250, got %d %r" % (n, code, resp))
    return (m.group(1).decode() if m else None), data, took


def deliver(t, n, sent):
    """message n sent and recorded in sent: (its row, seconds to the answer)"""
    qid, data, took = send(t, n)
    sent[qid] = (data, "bot%d@sender.example" % n, ["victim@example.com"], "parser.example")
    return t.rows().get(qid, {}), took


def check_read(row, n, what):
    check(row.get("subject") == "offer %d" % n and row.get("warnings") == 0,
          "%s: %r" % (what, row))


def only_child(t, what):
    """the parser child: the one child of the trap's one child (the zygote)"""
    zygote = children(t.proc.pid)
    check(len(zygote) == 1, "%s: one zygote, got %r" % (what, zygote))
    kids = children(zygote[0]) if zygote else []
    check(len(kids) == 1, "%s: one parser child, got %r" % (what, kids))
    return kids[0] if kids else None


def uid(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"^Uid:\s+(\d+)", f.read(), re.M).group(1))


def main():
    d = tmpdir()
    os.chmod(d, 0o755)
    kb = os.path.join(d, "kb")
    os.mkdir(kb)
    os.chmod(kb, 0o755)
    t = Trap("--kb", kb, limits=["parse_ms=%d" % PARSE_MS], workdir=d)
    sent = {}
    try:
        row, _ = deliver(t, 1, sent)
        check_read(row, 1, "read by the child")
        first = only_child(t, "after the first message")
        check(first is not None and uid(first) == uid(t.proc.pid) != 0,
              "the parser child runs as the trap's user")

        # a family known by this client's dialect alone
        with open(os.path.join(kb, "pybot.rule"), "w") as f:
            f.write("family pybot\nsource this test (illustrative)\nthreshold 0.5\n"
                    "dialect_id = \"%s\"\n" % row.get("dialect_id"))
        t.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while "knowledge base reloaded" not in t.log() and time.time() < deadline:
            time.sleep(0.05)
        row, _ = deliver(t, 2, sent)
        check_read(row, 2, "after SIGHUP, read")
        fam = t.metric("spamtide_trap_messages_total", 'family="pybot"')
        check(fam == 1, "after SIGHUP, attributed by the new kb: pybot %r" % fam)
        child = only_child(t, "after SIGHUP")
        check(child != first and not exists(first), "SIGHUP: a new child, the old one reaped")

        # SIGTERM to the child alone: ignored
        os.kill(child, signal.SIGTERM)
        time.sleep(0.3)
        check(exists(child) and state(child) != "Z", "the child ignores SIGTERM")

        # killed between messages: the next one is read by a new child
        os.kill(child, signal.SIGKILL)
        time.sleep(0.1)
        row, _ = deliver(t, 3, sent)
        check_read(row, 3, "after the child was killed, read by a new one")
        check(re.search(r"parser: child %d died of signal 9" % child, t.log()) is not None,
              "the death logged")
        check(not exists(child), "the killed child reaped")
        check(t.metric("spamtide_trap_unparsed_total", 'reason="died"') == 0,
              "nothing unparsed: the message was tried again")

        # a child that hangs
        child = only_child(t, "after the kill")
        os.kill(child, signal.SIGSTOP)
        row, took = deliver(t, 4, sent)
        check(took >= PARSE_MS / 1000.0, "answered once parse_ms passed: %.2f s" % took)
        check(row.get("warnings") == UNPARSED and row.get("subject") is None,
              "stored unparsed: %r" % row)
        check(row.get("size") == len(message(4)), "its size: %r" % row.get("size"))
        check(t.metric("spamtide_trap_messages_total", 'family="pybot"') == 3,
              "attributed by its dialect alone")
        check(t.metric("spamtide_trap_unparsed_total", 'reason="timeout"') == 1,
              "counted in /metrics")
        check(("parser: child %d gave no answer" % child) in t.log(), "logged")
        check(not exists(child), "the stopped child killed and reaped")

        row, _ = deliver(t, 5, sent)
        check_read(row, 5, "the next message read by a new child")
        last = only_child(t, "before the zygote is killed")

        # the zygote killed: messages are read in the trap's own process
        zygote = children(t.proc.pid)[0]
        os.kill(zygote, signal.SIGKILL)
        check(ended(last), "the parser child ends with its zygote")
        row, _ = deliver(t, 6, sent)
        check_read(row, 6, "without the zygote, read in the trap")
        check("messages are read in this process from now on" in t.log(), "logged")
        check(not exists(zygote) and children(t.proc.pid) == [], "the zygote reaped")
    finally:
        rc = t.stop()
    check(rc == 0, "the trap stopped cleanly: %r" % rc)
    check(last is None or ended(last), "the last parser child gone")
    check(len(sent) == 6, "six messages answered")
    check_delivered(t, sent, "parser")

    # a trap that stops while its zygote and a child run: both ended and
    # reaped by their parents (no zombie left to whoever adopts them)
    t = Trap("--kb", kb, limits=["parse_ms=%d" % PARSE_MS], workdir=d)
    helpers = []
    try:
        row, _ = deliver(t, 7, {})
        check_read(row, 7, "a second trap: read by its child")
        child = only_child(t, "the second trap")
        helpers = children(t.proc.pid) + ([child] if child else [])
    finally:
        rc = t.stop()
    check(rc == 0, "the second trap stopped cleanly: %r" % rc)
    check(len(helpers) == 2 and not any(exists(p) for p in helpers),
          "zygote and child ended and reaped with the trap: %r" % helpers)
    finish()


if __name__ == "__main__":
    main()
