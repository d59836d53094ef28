"""Charts: every SVG the chart tests render parses as XML, and its <title>
and <desc> (inserted after the root element because cairo draws text as
glyph outlines) name the right families, dates and events; every PNG has
the default size.

The pictures come from the cmocka test binary (build/tests/test_chart),
which writes each rendering into $CHART_SAMPLES_DIR.
"""
import os
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"
BUILDDIR = os.environ["BUILDDIR"]

# file name prefix -> what its desc must say (normal and long variants)
WANT = {
    "a-rustock-cessation": ["Lines: rustock.", "rustock ceased at 2011-03-16 15:30 UTC",
                            "Time range: 2011-03-13 00:00 UTC to 2011-03-19 23:00 UTC"],
    "b-rustock-weeks": ["Lines: rustock.", "Time range: 2011-01-31 00:00 UTC"],
    "c-rustock-vs-bagle": ["Lines: rustock, bagle.", "Time range: 2011-03-02 00:00 UTC"],
    "d-total-events": ["Lines: all spam.", "rustock paused at 2010-12-25 00:00 UTC",
                       "rustock resumed at 2011-01-10 00:00 UTC",
                       "rustock ceased at 2011-03-16 15:30 UTC"],
    "e-projection": ["Lines: observed, projection.", "Bands: 95 % interval, 80 % interval.",
                     "Y axis: messages per day.",
                     "Time range: 2011-02-01 00:00 UTC to 2011-04-10 00:00 UTC"],
    "f-shares": ["Shares of total (stacked to 100 %): rustock, bagle, cutwail, lethic, other.",
                 "Y axis: share of total."],
}

failed = []


def check(cond, msg):
    if not cond:
        failed.append(msg)
        print("FAIL:", msg, file=sys.stderr)


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", head[16:24])


with tempfile.TemporaryDirectory(prefix="chart-svg.") as out:
    env = dict(os.environ, CHART_SAMPLES_DIR=out)
    run = subprocess.run([os.path.join(BUILDDIR, "tests", "test_chart")], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    check(run.returncode == 0, "test_chart failed:\n" + run.stdout.decode(errors="replace")[-3000:])
    names = sorted(os.listdir(out))
    svgs = [n for n in names if n.endswith(".svg")]
    check(len(svgs) >= 6 * 4, "expected an SVG per kind and variant, got %d" % len(svgs))

    for name in svgs:
        path = os.path.join(out, name)
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError as e:
            check(False, "%s: not XML: %s" % (name, e))
            continue
        check(root.tag == SVG + "svg", "%s: root is %s" % (name, root.tag))
        check(root.get("role") == "img", "%s: root lacks role=img" % name)
        kids = list(root)
        check(len(kids) >= 2 and kids[0].tag == SVG + "title" and kids[1].tag == SVG + "desc",
              "%s: title and desc are not the first children" % name)
        if len(kids) < 2:
            continue
        title, desc = kids[0].text or "", kids[1].text or ""
        labelled = root.get("aria-labelledby", "").split()
        check(labelled == [kids[0].get("id"), kids[1].get("id")],
              "%s: aria-labelledby %s does not name title and desc" % (name, labelled))
        check(title and desc.startswith(title), "%s: desc does not start with the title" % name)
        ids = [e.get("id") for e in root.iter() if e.get("id")]
        check(len(ids) == len(set(ids)), "%s: duplicate ids" % name)
        for prefix, wants in WANT.items():
            if not name.startswith(prefix):
                continue
            variant = name[len(prefix) + 1:-4]
            if variant == "empty":
                check("No data." in desc, "%s: desc lacks 'No data.': %s" % (name, desc))
                wants = [w for w in wants if w.startswith(("Lines", "Shares", "Bands"))]
            if variant in ("single", "long"):
                wants = [w for w in wants if not w.startswith("Time range")]
            for w in wants:
                check(w in desc, "%s: desc lacks %r: %s" % (name, w, desc))

    # inlined together in one page, the charts must not share an id (cairo
    # restarts glyph0-1, ... in every SVG; the default prefix tells them apart)
    seen = {}
    for name in svgs:
        if not name[0] in "abcdef" or name[1] != "-":
            continue
        for e in ET.parse(os.path.join(out, name)).getroot().iter():
            i = e.get("id")
            if i:
                check(i not in seen or seen[i] == name,
                      "id %s in both %s and %s" % (i, seen.get(i), name))
                seen.setdefault(i, name)

    # hostile family names survive as text, escaped in the file
    hostile = os.path.join(out, "robust-hostile-text.svg")
    if os.path.exists(hostile):
        root = ET.parse(hostile).getroot()
        desc = list(root)[1].text
        check('<b>&"evil"</b>' in desc, "hostile: desc lost the escaped name: %r" % desc)
        check("\x1b" not in desc and "\r" not in desc, "hostile: control bytes in desc")
        raw = open(hostile, "rb").read()
        check(b"<b>" not in raw, "hostile: raw <b> in the SVG file")
    else:
        check(False, "no robust-hostile-text.svg")

    for name in names:
        if name.endswith(".png") and not name.startswith("size-"):
            size = png_size(os.path.join(out, name))
            check(size == (1200, 600), "%s: PNG size %s, want (1200, 600)" % (name, size))

if failed:
    print("%d checks failed" % len(failed), file=sys.stderr)
    sys.exit(1)
print("ok")
