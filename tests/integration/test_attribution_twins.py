"""Attribution on families written after the model (tests/data/twins.conf):
two families whose messages are written alike, from one template, that
differ only in their SMTP engines (one greets with EHLO, the other with a
lower-case helo, its own MAIL and RCPT syntax, and no QUIT); and one whose
header fields change from message to message. Learned from sandbox
samples, mbox and capture alike, then classified in a trap's mbox and in a
capture: in the mbox the twins are told apart by how the trap's Received:
line says they greeted it (with ESMTP / with SMTP), in the capture by
their dialects."""
import json
import os

from spamtide_test import TESTDATA, check, finish, run, tmpdir

SCENARIO = os.path.join(TESTDATA, "twins.conf")
FAMILIES = ("finch", "linnet", "shuffler")

d = tmpdir()
os.chdir(d)
for fam in FAMILIES:
    for ext in ("mbox", "pcap"):
        p = run("simulate", "--scenario", SCENARIO, "--sandbox", fam, "--count", "300", "--seed", "1",
                "--out", "%s.%s" % (fam, ext))
        check(p.returncode == 0, "simulate --sandbox %s (%s)" % (fam, ext), p)
        p = run("learn", "--family", fam, "--kb", "kb-" + ext, "%s.%s" % (fam, ext))
        check(p.returncode == 0, "learn %s from %s" % (fam, ext), p)

for fam, greeting in (("finch", "ehlo"), ("linnet", "helo")):
    for ext in ("mbox", "pcap"):
        rule = open(os.path.join("kb-" + ext, fam + ".rule")).read()
        check('greeting = "%s"' % greeting in rule, "%s learned from %s greets with %s" % (fam, ext, greeting))

for out in ("traffic.mbox", "traffic.pcap"):
    p = run("simulate", "--scenario", SCENARIO, "--seed", "2", "--out", out)
    check(p.returncode == 0, "simulate " + out, p)
    for kb in ("kb-mbox", "kb-pcap"):
        p = run("classify", "--kb", kb, "--truth", out + ".truth", "--format", "json", out)
        check(p.returncode == 0, "classify --truth %s with %s" % (out, kb), p)
        ev = json.loads(p.stdout)
        fams = ev["families"]
        for fam in FAMILIES:
            check(fam in fams and fams[fam]["recall"] >= 0.99 and fams[fam]["precision"] >= 0.99,
                  "%s in %s (%s): precision and recall >= 0.99 (%s)" % (fam, out, kb, fams.get(fam)))
        check(ev["others_unknown_rate"] >= 0.99,
              "%s (%s): unknown and legitimate mail called unknown (%.4f)" % (out, kb, ev["others_unknown_rate"]))
        print(out, kb, ev["learned_accuracy"], ev["others_unknown_rate"])
finish()
