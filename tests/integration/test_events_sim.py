"""Events on the simulator's traffic through the whole pipeline: the
two-week scenario at seeds whose avocet (4-8 messages a connection,
halved on day 8) read as ceased and resumed while its messages were
judged as if each came alone (seeds 2, 11, 31 and 35 of 35; and at 11, 31
and 35 its drop was missed). The families are learnt from sandbox
samples, the traffic ingested as an mbox, the report read as JSON: no
false ceased or resumed, every true one and every drop or surge found;
each cessation's impact on the total within 2 points of the truth, each
family's share within 0.5 points of the labels; and
report --alerts (the trap's budget and model) has every cessation and
return the report has, at the same minute."""
import collections
import datetime
import json
import os

from spamtide_test import check, finish, run, tmpdir

SCENARIO = "two-week"
FAMILIES = ("kestrel", "plover", "avocet", "linnet")
SEEDS = (2, 11, 31, 35)
# within the hour for ceased/resumed (the tolerance of DESIGN.md is
# measured elsewhere: bench/events), 6 hours for drops and surges
TOLERANCE = {"ceased": 60, "resumed": 60, "drop": 360, "surge": 360}


def minute(t):
    return int(datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ")
               .replace(tzinfo=datetime.timezone.utc).timestamp()) // 60


def near(e, others):
    return any(o["family"] == e["family"] and o["type"] == e["type"] and
               abs(minute(o["at"]) - minute(e["at"])) <= TOLERANCE[e["type"]] for o in others)


d = tmpdir()
kb = os.path.join(d, "kb")
for fam in FAMILIES:
    sample = os.path.join(d, "sandbox-%s.mbox" % fam)
    p = run("simulate", "--scenario", SCENARIO, "--sandbox", fam, "--out", sample)
    check(p.returncode == 0, "simulate --sandbox " + fam, p)
    p = run("learn", "--family", fam, "--kb", kb, sample)
    check(p.returncode == 0, "learn " + fam, p)

for seed in SEEDS:
    traffic = os.path.join(d, "traffic-%d.mbox" % seed)
    db = "sqlite:" + os.path.join(d, "store-%d.db" % seed)
    p = run("simulate", "--scenario", SCENARIO, "--seed", str(seed), "--out", traffic)
    check(p.returncode == 0, "simulate seed %d" % seed, p)
    p = run("ingest", "--kb", kb, "--db", db, traffic)
    check(p.returncode == 0, "ingest seed %d" % seed, p)
    p = run("report", "--db", db, "--format", "json")
    check(p.returncode == 0, "report seed %d" % seed, p)
    if p.returncode != 0:
        continue
    report = json.loads(p.stdout)
    found = report["events"]
    truth = json.load(open(traffic + ".events.json"))
    # shares of the period within 0.5 percentage points of the labels
    # (legitimate mail is no family's: unknown)
    labels = collections.Counter()
    for line in open(traffic + ".truth"):
        label = line.rstrip("\n").split("\t")[1]
        labels["unknown" if label == "legit" else label] += 1
    n = sum(labels.values())
    check(report["total"]["messages"] == n, "seed %d: %d messages stored of %d" % (seed, report["total"]["messages"], n))
    shares = {f["name"]: f["share"] for f in report["families"]}
    for name in set(labels) | set(shares):
        check(abs(shares.get(name, 0) - labels[name] / n) <= 0.005, "seed %d: %s share %.4f, truth %.4f" %
              (seed, name, shares.get(name, 0), labels[name] / n))
    for e in found:
        if e["type"] in ("ceased", "resumed"):
            check(near(e, truth), "seed %d: %s %s at %s is in the truth" % (seed, e["family"], e["type"], e["at"]))
    for t in truth:
        check(near(t, found), "seed %d: %s %s at %s found" % (seed, t["family"], t["type"], t["at"]))
    # the impact of each cessation on the total, within 2 points of what
    # the simulator knows it was (day over day: the same arithmetic on
    # what was generated; against the baseline: the total against the same
    # had the family gone on at its level); the truth inside the interval
    for t in truth:
        if t["type"] != "ceased" or t["impact"] is None:
            continue
        e = [x for x in found if x["type"] == "ceased" and near(x, [t])]
        if not e:
            continue
        got, want = e[0]["impact"], t["impact"]
        for key in ("total_change_day_over_day", "total_change_vs_baseline"):
            if want[key] is None or got[key] is None:
                continue
            print("seed %d: %s ceased %s: %s %+.4f, truth %+.4f" % (seed, t["family"], t["at"], key, got[key],
                                                                  want[key]))
            check(abs(got[key] - want[key]) <= 0.02, "seed %d: %s impact %s %+.4f within 2 points of %+.4f" %
                  (seed, t["family"], key, got[key], want[key]))
        if want["total_change_vs_baseline"] is not None and got["lo95"] is not None:
            check(got["lo95"] <= want["total_change_vs_baseline"] <= got["hi95"],
                  "seed %d: %s impact interval [%+.4f, %+.4f] holds the truth" % (seed, t["family"], got["lo95"],
                                                                                   got["hi95"]))
    # the text says each cessation in a sentence, with how unlikely its
    # silence was and what it did to the total
    p = run("report", "--db", db)
    check(p.returncode == 0 and
          "kestrel ceased at 2011-02-10 16:" in p.stdout and
          "(last message; silence this long had probability" in p.stdout and
          "In the 24 hours after, total spam was" in p.stdout, "seed %d: the text report's sentence" % seed, p)
    # a period that begins a day before each cessation: the days stored
    # before it are the families' history, and its ceased is found at the
    # same minute as over the whole store (and nothing before the period)
    for e in found:
        if e["type"] != "ceased":
            continue
        day = datetime.datetime.strptime(e["at"][:10], "%Y-%m-%d")
        a = (day - datetime.timedelta(days=1)).strftime("%Y-%m-%d")
        b = (day + datetime.timedelta(days=2)).strftime("%Y-%m-%d")
        p = run("report", "--db", db, "--format", "json", "--from", a, "--to", b)
        check(p.returncode == 0, "report seed %d --from %s" % (seed, a), p)
        if p.returncode != 0:
            continue
        window = json.loads(p.stdout)["events"]
        check(any(w["family"] == e["family"] and w["type"] == "ceased" and w["at"] == e["at"] for w in window),
              "seed %d: --from %s --to %s finds %s ceased at %s: %r" % (seed, a, b, e["family"], e["at"], window))
        check(all(a <= w["at"][:10] < b for w in window), "seed %d: events outside the period: %r" % (seed, window))
    # judged as the trap's alerts are (its budget, its model: sooner, less
    # sure): every cessation and return of the truth, at the same minute
    # as the report's
    p = run("report", "--db", db, "--format", "json", "--alerts")
    check(p.returncode == 0, "report --alerts seed %d" % seed, p)
    if p.returncode != 0:
        continue
    alerts = json.loads(p.stdout)["events"]
    for e in found:
        if e["type"] in ("ceased", "resumed"):
            check(any(a["family"] == e["family"] and a["type"] == e["type"] and a["at"] == e["at"] for a in alerts),
                  "seed %d: --alerts has %s %s at %s" % (seed, e["family"], e["type"], e["at"]))
finish()
