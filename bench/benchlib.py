"""Shared helpers of the benchmarks in bench/ (not tests)."""
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("BUILD", os.path.join(ROOT, "build"))
CORPORA = os.path.join(ROOT, "..", "shared", "corpora")
OUT = os.path.join(ROOT, "bench", "out")
TARGET = int(os.environ.get("BENCH_MB", "200")) * 1024 * 1024
PYTHON = "/usr/bin/python3"

PY_EMAIL = r'''
import email, email.policy, sys, time
def messages(path):
    buf = []
    with open(path, "rb") as f:
        for line in f:
            if line.startswith(b"From ") and buf:
                yield b"".join(buf)
                buf = []
            if not line.startswith(b"From ") or buf:
                buf.append(line[1:] if line.startswith(b">From ") else line)
    if buf:
        yield b"".join(buf)
t = time.monotonic()
n = 0
for raw in messages(sys.argv[1]):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            try:
                part.get_content()
            except Exception:
                pass
    n += 1
print(n, time.monotonic() - t)
'''


def corpus_files():
    files = []
    for dirpath, dirs, names in os.walk(CORPORA):
        dirs.sort()
        for n in sorted(names):
            if n != "README.md":
                files.append(os.path.join(dirpath, n))
    return files


def build_mbox(path):
    if os.path.exists(path) and os.path.getsize(path) >= TARGET:
        return
    raws = []
    for f in corpus_files():
        with open(f, "rb") as fh:
            raw = fh.read()
        if raw.startswith(b"From "):      # the file's own From_ line
            raw = raw.split(b"\n", 1)[1] if b"\n" in raw else b""
        raws.append(raw)
    size = 0
    copy = 0
    tmp = path + ".tmp"
    with open(tmp, "wb") as out:
        while size < TARGET:
            for i, raw in enumerate(raws):
                body = b"X-Bench-Copy: %d-%d\n" % (copy, i) + raw
                # mboxrd quoting of body lines that would look like separators
                lines = body.split(b"\n")
                q = []
                for line in lines:
                    s = line.lstrip(b">")
                    q.append(b">" + line if s.startswith(b"From ") else line)
                body = b"\n".join(q)
                if not body.endswith(b"\n"):
                    body += b"\n"
                rec = b"From bench@example.invalid Mon Mar 14 12:00:00 2011\n" + body + b"\n"
                out.write(rec)
                size += len(rec)
            copy += 1
    os.rename(tmp, path)


def measure(cmd, env=None, keep_output=False):
    """Run cmd with stdout to a file (or /dev/null); returns (seconds, peak
    RSS in MB, exit status, stdout text when keep_output else its first
    1 KB). GNU time reports the peak RSS of the command itself."""
    out_path = os.path.join(OUT, "stdout.tmp")
    with open(out_path, "wb") as out:
        r = subprocess.run(["/usr/bin/time", "-f", "@@time %e %M", *cmd], stdout=out,
                           stderr=subprocess.PIPE, env=env)
    err = r.stderr.decode(errors="replace")
    line = [l for l in err.splitlines() if l.startswith("@@time ")][-1]
    _, dt, rss = line.split()
    with open(out_path, "rb") as f:
        text = f.read() if keep_output else f.read(1024)
    os.unlink(out_path)
    return float(dt), int(rss) / 1024.0, r.returncode, text.decode(errors="replace")
