"""simulate --smtp: delivers every message to Postfix's smtp-sink on
127.0.0.1, one 127.F.x.y source address per simulated bot, each family in
its own dialect; reports delivered/failed; writes F.truth beside --out.
A refused connection counts as failed (exit 1)."""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

SPAMTIDE = os.environ["SPAMTIDE"]
TMP = tempfile.mkdtemp(prefix="spamtide-simlive-")
FAILED = []


def check(cond, what):
    if not cond:
        FAILED.append(what)
        print("FAIL:", what, file=sys.stderr)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


sink = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
dumpdir = os.path.join(TMP, "dump")
os.chmod(TMP, 0o755)            # smtp-sink writes as nobody
os.mkdir(dumpdir)
os.chmod(dumpdir, 0o1777)
port = free_port()
args = [sink]
if os.geteuid() == 0:
    args += ["-u", "nobody"]
args += ["-D", os.path.join(dumpdir, "all"), f"127.0.0.1:{port}", "100"]
proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
try:
    for _ in range(50):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    p = subprocess.run([SPAMTIDE, "simulate", "--scenario", "three-day", "--smtp", f"127.0.0.1:{port}",
                        "--rate", "3000", "--max", "600", "--out", os.path.join(TMP, "live")],
                       capture_output=True, text=True, timeout=120)
    print(p.stdout, p.stderr)
    check(p.returncode == 0, f"simulate --smtp: status {p.returncode}")
    m = re.search(r"(\d+) delivered, (\d+) failed", p.stdout)
    check(m is not None and m.group(1) == "600" and m.group(2) == "0", "not 600 delivered, 0 failed")
    truth = open(os.path.join(TMP, "live.truth")).read().splitlines()
    check(len(truth) == 600, f"live.truth has {len(truth)} lines")
    check(os.path.exists(os.path.join(TMP, "live.events.json")), "no live.events.json")
    time.sleep(0.3)
finally:
    proc.terminate()
    err = proc.communicate(timeout=10)[1]
    if FAILED:
        print("smtp-sink:", err.decode(errors="replace")[:500], file=sys.stderr)

dump = ""
for name in os.listdir(dumpdir):
    dump += open(os.path.join(dumpdir, name), errors="replace").read()
clients = re.findall(r"^X-Client-Addr: (\S+)", dump, re.M)
helos = re.findall(r"^X-Helo-Args: (.*)", dump, re.M)
check(len(clients) == 600, f"smtp-sink saw {len(clients)} messages, want 600")
check(all(c.startswith("127.") and c != "127.0.0.1" for c in clients), "a client not from 127.F.x.y")
check(len(set(clients)) > 50, f"only {len(set(clients))} distinct client addresses")
ids = set(re.findall(r"^Message-I[dD]: (<[^>]+>)", dump, re.M))
want = {line.split("\t")[0] for line in truth}
check(ids == want, f"Message-IDs at the sink differ from truth: {len(ids ^ want)} differ")
check(len(set(helos)) > 20, "HELO names do not vary per bot")

# nobody listening: every message fails, exit 1
port2 = free_port()
p = subprocess.run([SPAMTIDE, "simulate", "--scenario", "three-day", "--smtp", f"127.0.0.1:{port2}",
                    "--max", "20"], capture_output=True, text=True, timeout=60)
check(p.returncode == 1, f"refused: status {p.returncode}, want 1")
check("0 delivered, 20 failed" in p.stdout, f"refused: {p.stdout!r}")
p = subprocess.run([SPAMTIDE, "simulate", "--scenario", "three-day", "--smtp", "localhost"],
                   capture_output=True, text=True, timeout=60)
check(p.returncode == 2, "--smtp without a port is not a usage error")

shutil.rmtree(TMP, ignore_errors=True)
if FAILED:
    print(f"{len(FAILED)} checks failed", file=sys.stderr)
    sys.exit(1)
print("ok")
