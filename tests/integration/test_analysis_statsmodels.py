#!/usr/bin/python3
"""The Holt-Winters reference is real and re-checked.

Regenerates tests/data/analysis/hw_reference.json with statsmodels (through
make_hw_reference.py, the script that wrote the committed copy), compares
every number with the committed file, then runs the unit test binary
test_analysis_hw against the fresh copy. Fails (does not skip) when
statsmodels is missing: the reference must stay checkable.
"""
import json
import math
import os
import subprocess
import sys
import tempfile

SRCDIR = os.environ.get("SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILDDIR = os.environ.get("BUILDDIR", os.path.join(SRCDIR, "build"))
DATA = os.path.join(SRCDIR, "tests", "data", "analysis")

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, file=sys.stderr)


def compare(path, got, want):
    """Every number within 1e-6 relative; same shapes and keys."""
    if isinstance(want, dict):
        if not isinstance(got, dict) or set(got) != set(want):
            fail(f"{path}: keys differ")
            return
        for k in want:
            compare(f"{path}.{k}", got[k], want[k])
    elif isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            fail(f"{path}: lengths differ")
            return
        for i, (g, w) in enumerate(zip(got, want)):
            compare(f"{path}[{i}]", g, w)
            if len(failures) > 20:
                return
    elif isinstance(want, (int, float)):
        if not isinstance(got, (int, float)) or not math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-9):
            fail(f"{path}: regenerated {got!r}, committed {want!r}")
    elif got != want:
        fail(f"{path}: regenerated {got!r}, committed {want!r}")


def main():
    try:
        import statsmodels  # noqa: F401
    except ImportError as e:
        print(f"FAIL: statsmodels is required for this test ({e}); "
              "install python3-statsmodels (scripts/deps.sh)", file=sys.stderr)
        return 1
    sys.path.insert(0, DATA)
    import make_hw_reference

    fresh = json.loads(json.dumps(make_hw_reference.reference()))
    with open(os.path.join(DATA, "hw_reference.json")) as f:
        committed = json.load(f)
    compare("reference", fresh, committed)

    binary = os.path.join(BUILDDIR, "tests", "test_analysis_hw")
    if not os.path.exists(binary):
        fail(f"no unit test binary {binary}")
    else:
        with tempfile.TemporaryDirectory() as tmp:
            os.mkdir(os.path.join(tmp, "analysis"))
            with open(os.path.join(tmp, "analysis", "hw_reference.json"), "w") as f:
                json.dump(fresh, f)
            env = dict(os.environ, TESTDATA=tmp)
            run = subprocess.run([binary], env=env, capture_output=True, text=True, timeout=300)
            sys.stdout.write(run.stdout)
            sys.stderr.write(run.stderr)
            if run.returncode != 0:
                fail(f"test_analysis_hw against the regenerated reference: status {run.returncode}")
    if failures:
        print(f"{len(failures)} failure(s)", file=sys.stderr)
        return 1
    print("hw reference regenerated with statsmodels and matched; unit test passed on it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
