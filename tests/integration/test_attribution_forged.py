"""Attribution on families written after the model (tests/data/forged-hop.conf):
two families with the same template that differ only in two headers' order
and the Message-ID shape; a family that forges a Received hop with a public
address, rotates its X-Mailer and updates itself mid-week; one that looks
like an ordinary mail client. Learned from sandbox samples, whose sink
records the bot's private address (so the forged public hop is the first
external one), classified in a trap's mbox and in a capture."""
import json
import os

from spamtide_test import TESTDATA, check, finish, run, tmpdir

SCENARIO = os.path.join(TESTDATA, "forged-hop.conf")
FAMILIES = ("pipit", "sparrow", "thrush", "swift")

d = tmpdir()
kb = os.path.join(d, "kb")
os.chdir(d)
for fam in FAMILIES:
    p = run("simulate", "--scenario", SCENARIO, "--sandbox", fam, "--count", "300", "--seed", "1",
            "--out", fam + ".mbox")
    check(p.returncode == 0, "simulate --sandbox " + fam, p)
    p = run("learn", "--family", fam, "--kb", kb, fam + ".mbox")
    check(p.returncode == 0, "learn " + fam, p)

# the sandbox's sink line is the client hop: the forger's real HELO (its
# address) is learned, and its forged hop is a sender field
rule = open(os.path.join(kb, "thrush.rule")).read()
check('helo_shape = "bare-ip"' in rule, "thrush's HELO is the one it gave the sandbox")
check("received_shape" in rule, "thrush's forged hop is learned as its own")

for out in ("traffic.mbox", "traffic.pcap"):
    p = run("simulate", "--scenario", SCENARIO, "--seed", "2", "--out", out)
    check(p.returncode == 0, "simulate " + out, p)
    p = run("classify", "--kb", kb, "--truth", out + ".truth", "--format", "json", out)
    check(p.returncode == 0, "classify --truth " + out, p)
    ev = json.loads(p.stdout)
    fams = ev["families"]
    for fam in FAMILIES:
        check(fam in fams and fams[fam]["recall"] >= 0.99 and fams[fam]["precision"] >= 0.99,
              "%s in %s: precision and recall >= 0.99 (%s)" % (fam, out, fams.get(fam)))
    check(ev["others_unknown_rate"] >= 0.99,
          "%s: unknown and legitimate mail called unknown (%.4f)" % (out, ev["others_unknown_rate"]))
    print(out, ev["learned_accuracy"], ev["others_unknown_rate"])
finish()
