"""Shared helpers for the Python integration tests (run under /usr/bin/python3)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

SPAMTIDE = os.environ.get("SPAMTIDE", "build/spamtide")
SRCDIR = os.environ.get("SRCDIR", ".")
CORPORA = os.environ.get("CORPORA", os.path.join(SRCDIR, "..", "shared", "corpora"))
TESTDATA = os.environ.get("TESTDATA", os.path.join(SRCDIR, "tests", "data"))
FAILED = []


def run(*args, input=None, timeout=600, env=None):
    """Run spamtide with args; returns CompletedProcess (text)."""
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.run([SPAMTIDE, *args], input=input, capture_output=True,
                          text=True, timeout=timeout, env=e)


def check(cond, what, proc=None):
    if cond:
        return
    msg = "FAIL: " + what
    if proc is not None:
        msg += "\n  status %d\n  stdout: %s\n  stderr: %s" % (
            proc.returncode, proc.stdout[:3000], proc.stderr[:3000])
    print(msg, file=sys.stderr)
    FAILED.append(what)


def finish():
    if FAILED:
        print("%d checks failed" % len(FAILED), file=sys.stderr)
        sys.exit(1)
    print("ok")
    sys.exit(0)


def tmpdir():
    d = tempfile.mkdtemp(prefix="spamtide-test-")
    import atexit
    atexit.register(shutil.rmtree, d, True)
    return d


SCHEMA_KEYS = {
    "schema", "unit", "period", "total", "sensors", "families", "events",
    "daily", "series", "campaigns", "projection",
}


def check_report_schema(r, what="report"):
    """DESIGN.md schema 1: every key present, with the right types."""
    check(set(r.keys()) == SCHEMA_KEYS, "%s: top-level keys %s" % (what, sorted(r.keys())))
    check(r.get("schema") == 1, what + ": schema 1")
    check(set(r["period"].keys()) == {"from", "to"}, what + ": period keys")
    check(set(r["total"].keys()) == {"messages", "recipients", "bytes", "clients"},
          what + ": total keys")
    for s in r["sensors"]:
        check(set(s.keys()) == {"name", "messages"}, what + ": sensor keys")
    for f in r["families"]:
        check(set(f.keys()) == {"name", "messages", "recipients", "bytes", "clients", "share",
                                "consistency"}, what + ": family keys %s" % sorted(f.keys()))
        check(set(f["consistency"].keys()) == {"cv_hourly", "peak_to_median", "diurnal_acf"},
              what + ": consistency keys")
    for e in r["events"]:
        check(set(e.keys()) == {"family", "type", "at", "before_rate_per_hour",
                                "after_rate_per_hour", "confidence", "impact"},
              what + ": event keys %s" % sorted(e.keys()))
        check(e["type"] in ("ceased", "resumed", "drop", "surge"), what + ": event type")
        if e["type"] == "ceased":
            check(isinstance(e["impact"], dict) and
                  set(e["impact"].keys()) == {"total_change_day_over_day",
                                              "total_change_vs_baseline", "lo95", "hi95"},
                  what + ": impact keys of a ceased")
        else:
            check(e["impact"] is None, what + ": impact only for ceased")
    names = [f["name"] for f in r["families"]]
    for d in r["daily"]:
        check(set(d.keys()) == {"date", "total", "change", "by_family"}, what + ": daily keys")
        check(sorted(d["by_family"].keys()) == sorted(names), what + ": daily by_family lists every family")
    if r["daily"]:
        check(r["daily"][0]["change"] is None, what + ": first daily change is null")
    check(set(r["series"].keys()) == {"bucket", "points"}, what + ": series keys")
    for p in r["series"]["points"][:50]:
        check(set(p.keys()) == {"t", "total", "by_family"}, what + ": point keys")
    for c in r["campaigns"]:
        check(set(c.keys()) == {"id", "messages", "families"}, what + ": campaign keys")
    check(set(r["projection"].keys()) == {"unit", "scale", "without", "points"},
          what + ": projection keys")
    for p in r["projection"]["points"]:
        check(set(p.keys()) == {"date", "total", "lo80", "hi80", "lo95", "hi95"},
              what + ": projection point keys")
    if r["families"] and r["unit"] != "clients":
        total = sum(f["share"] for f in r["families"])
        check(abs(total - 1) < 1e-6, what + ": shares sum to 1 (%f)" % total)
