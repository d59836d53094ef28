#!/bin/bash
# report's default period ends after the current second: a message of the
# second in which report runs is counted, also when that second is the
# first of its minute (the period used to end at `now`, and so left out
# that whole minute). The clock is libfaketime's, frozen.
set -u
. "$SRCDIR/tests/integration/lib.sh"

FAKETIME_LIB=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
[ -f "$FAKETIME_LIB" ] || { echo "FAIL: $FAKETIME_LIB missing (scripts/deps.sh installs faketime)" >&2; exit 1; }

# two messages: one a minute before, one at the first second of 15:30
msg() {
	printf 'From bot@example.com %s\nReceived: from x (x [192.0.2.7]) by trap; %s\nMessage-ID: <%s@x>\nSubject: s\n\nbody\n\n' \
		"$1" "$2" "$3"
}
{
	msg "Wed Mar 16 15:29:00 2011" "Wed, 16 Mar 2011 15:29:00 +0000" a
	msg "Wed Mar 16 15:30:00 2011" "Wed, 16 Mar 2011 15:30:00 +0000" b
} > "$TMP/two.mbox"
run "$SPAMTIDE" ingest --quiet --db "sqlite:$TMP/s.db" "$TMP/two.mbox"
expect_status 0

# ASan wants to come first among the preloaded libraries; here it cannot
at_now() {
	FAKETIME="$1" LD_PRELOAD="$FAKETIME_LIB" \
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
		"$SPAMTIDE" report --db "sqlite:$TMP/s.db" --format json >"$TMP/out" 2>"$TMP/err"
	STATUS=$?
	LAST="FAKETIME=$1 report"
}
total() {
	/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["total"]["messages"], r["period"]["to"])' "$TMP/out"
}

at_now "2011-03-16 15:30:00"
expect_status 0
[ "$(total)" = "2 2011-03-16T15:31:00Z" ] || fail "at 15:30:00 both messages, to 15:31 ($(total))"
at_now "2011-03-16 15:30:59"
expect_status 0
[ "$(total)" = "2 2011-03-16T15:31:00Z" ] || fail "at 15:30:59 both messages, to 15:31 ($(total))"
# a day later the period is the whole stored day
at_now "2011-03-17 12:00:00"
expect_status 0
[ "$(total)" = "2 2011-03-17T00:00:00Z" ] || fail "a day later the whole day ($(total))"
finish
