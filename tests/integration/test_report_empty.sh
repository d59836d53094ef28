#!/bin/bash
# report on a database that does not exist fails and creates nothing;
# on an empty store every key is present.
set -u
. "$SRCDIR/tests/integration/lib.sh"

run "$SPAMTIDE" report --db "sqlite:$TMP/none.db"
expect_status 1
expect_stderr_has "no such database"
[ ! -e "$TMP/none.db" ] || fail "report created a database"

# an empty store: created by an ingest of nothing storable
printf 'not mail\x01\x02' > "$TMP/garbage.bin"
run "$SPAMTIDE" ingest --quiet --db "sqlite:$TMP/empty.db" "$TMP/garbage.bin"
expect_status 3
run "$SPAMTIDE" report --db "sqlite:$TMP/empty.db" --format json
expect_status 0
/usr/bin/python3 - "$TMP/out" <<'PY' || fail "empty report schema"
import json, sys
sys.path.insert(0, __import__("os").environ["SRCDIR"] + "/tests/integration")
from spamtide_test import check_report_schema, FAILED
r = json.load(open(sys.argv[1]))
check_report_schema(r, "empty report")
assert r["total"] == {"messages": 0, "recipients": 0, "bytes": 0, "clients": 0}, r["total"]
assert r["families"] == [] and r["events"] == [] and r["period"] == {"from": None, "to": None}, r
assert not FAILED
PY
run "$SPAMTIDE" report --db "sqlite:$TMP/empty.db" --from 2011-03-01 --to 2011-03-02 --format json
expect_status 0
expect_stdout_has '"from": "2011-03-01T00:00:00Z"'

# one bound given: the period never ends before it begins, nor begins in 1970
run "$SPAMTIDE" report --db "sqlite:$TMP/empty.db" --to 2011-03-01 --format json
expect_status 0
expect_stdout_has '"from": "2011-03-01T00:00:00Z"'
printf 'From: a@example.org\nMessage-ID: <p@x>\nDate: Wed, 16 Mar 2011 15:00:00 +0000\n\nbody\n' \
	> "$TMP/one.eml"
run "$SPAMTIDE" ingest --quiet --db "sqlite:$TMP/one.db" "$TMP/one.eml"
expect_status 0
for bound in "--from 2030-01-01" "--to 2011-01-01"; do
	run "$SPAMTIDE" report --db "sqlite:$TMP/one.db" $bound --format json
	expect_status 0
	/usr/bin/python3 -c '
import json, sys
p = json.load(open(sys.argv[1]))["period"]
assert p["from"] <= p["to"], p
' "$TMP/out" || fail "$bound: period ends before it begins"
done

run "$SPAMTIDE" report --db "sqlite:$TMP/empty.db" --from 2011-03-02 --to 2011-03-01
expect_status 2
run "$SPAMTIDE" report --db "sqlite:$TMP/empty.db" --bucket 2h
expect_status 2
run "$SPAMTIDE" report --db "sqlite:$TMP/empty.db" --from yesterday
expect_status 2
finish
