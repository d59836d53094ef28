"""learn and classify from captures (issue 8): families learned from the
simulator's sandbox pcaps classify its mixed pcap, and the same traffic as
an mbox gets the same attribution, message for message."""
import json
import os

from spamtide_test import check, finish, run, tmpdir

d = tmpdir()
kb = os.path.join(d, "kb")
for fam in ("heron", "wren"):
    sample = os.path.join(d, "sandbox-%s.pcap" % fam)
    p = run("simulate", "--scenario", "three-day", "--sandbox", fam, "--count", "200", "--seed", "1",
            "--out", sample)
    check(p.returncode == 0, "sandbox capture of " + fam, p)
    p = run("learn", "--family", fam, "--kb", kb, sample)
    check(p.returncode == 0 and "dialect" in open(os.path.join(kb, fam + ".rule")).read(),
          "learned %s from a capture, dialect included" % fam, p)

for ext in ("pcap", "mbox"):
    p = run("simulate", "--scenario", "three-day", "--seed", "2", "--out", os.path.join(d, "mix." + ext))
    check(p.returncode == 0, "mixed traffic as " + ext, p)

out = {}
for ext in ("pcap", "mbox"):
    p = run("classify", "--kb", kb, "--format", "json", os.path.join(d, "mix." + ext))
    check(p.returncode == 0, "classify the " + ext, p)
    out[ext] = [json.loads(l) for l in p.stdout.splitlines()]
    p = run("classify", "--kb", kb, "--format", "json", "--truth", os.path.join(d, "mix.%s.truth" % ext),
            os.path.join(d, "mix." + ext))
    ev = json.loads(p.stdout)
    check(ev["learned_accuracy"] >= 0.99 and ev["others_unknown_rate"] >= 0.95,
          "%s: accuracy %.4f, others unknown %.4f" % (ext, ev["learned_accuracy"],
                                                     ev["others_unknown_rate"]))

# the same message (by Message-ID) gets the same family by either route;
# encrypted sessions have no content (and no Message-ID) in the capture
by_id = {o["message_id"]: o["family"] for o in out["mbox"]}
pcap_plain = [o for o in out["pcap"] if not o["encrypted"]]
same = sum(1 for o in pcap_plain if by_id.get(o["message_id"]) == o["family"])
check(same == len(pcap_plain), "same family in the capture and the mbox: %d of %d"
      % (same, len(pcap_plain)))
enc = [o for o in out["pcap"] if o["encrypted"]]
check(all(o["message_id"] is None and o["client_ip"] for o in enc),
      "encrypted sessions: no content, a client (%d of them)" % len(enc))
finish()
