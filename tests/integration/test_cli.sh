#!/bin/bash
# The command line contract: help, version, exit statuses, stdout errors.
set -u
. "$SRCDIR/tests/integration/lib.sh"

run "$SPAMTIDE" --help
expect_status 0
expect_stdout_has "usage: spamtide COMMAND"

run "$SPAMTIDE" --version
expect_status 0
expect_stdout_has "spamtide "

run "$SPAMTIDE"
expect_status 2

run "$SPAMTIDE" no-such-command
expect_status 2
expect_stderr_has "not a command"

# every command in the table answers --help with status 0
for c in $("$SPAMTIDE" --help | awk '/^commands:/{on=1;next} on && /^  [a-z]/{print $1}'); do
	run "$SPAMTIDE" "$c" --help
	expect_status 0
	expect_stdout_has "usage: spamtide $c"
	run "$SPAMTIDE" "$c" --no-such-option
	expect_status 2
done

# numeric options: a positive number or a usage error
for v in abc 0 -1 nan 1e999; do
	run "$SPAMTIDE" report --false-alarms "$v"
	expect_status 2
	expect_stderr_has "a positive number"
	run "$SPAMTIDE" trap --listen 127.0.0.1:0 --false-alarms "$v"
	expect_status 2
	expect_stderr_has "a positive number"
	run "$SPAMTIDE" report --scale "$v"
	expect_status 2
done

# malformed addresses and port lists: usage errors, before anything is made
tmp=$(mktemp -d)
for c in "ingest --db sqlite:$tmp/u.db" classify "learn --family x"; do
	for ports in abc 25,99999; do
		run $SPAMTIDE $c --smtp-ports "$ports" "$tmp"
		expect_status 2
		expect_stderr_has "SMTP ports"
	done
done
[ ! -e "$tmp/u.db" ] || fail "ingest made a store before its usage error"
run "$SPAMTIDE" trap --listen bogus --spool "$tmp/spool" --db "sqlite:$tmp/t.db"
expect_status 2
expect_stderr_has "--listen"
run "$SPAMTIDE" trap --listen 127.0.0.1:0 --http nope --spool "$tmp/spool" --db "sqlite:$tmp/t.db"
expect_status 2
expect_stderr_has "--http"
[ ! -e "$tmp/spool" ] && [ ! -e "$tmp/t.db" ] || fail "trap made files before its usage error"
# a store that is not there: nothing to re-attribute, and none made
run "$SPAMTIDE" reattribute --db "sqlite:$tmp/none.db"
expect_status 1
expect_stderr_has "no such database"
[ ! -e "$tmp/none.db" ] || fail "reattribute made a store"
rm -rf "$tmp"

# a full disk on stdout is reported and fails
if [ -w /dev/full ]; then
	run_sh "'$SPAMTIDE' --help > /dev/full"
	expect_status 1
	expect_stderr_has "standard output"
fi
# a closed pipe is reported too, once, and fails
run_sh "'$SPAMTIDE' --help | true"
tmp=$(mktemp -d)
"$SPAMTIDE" simulate --scenario three-day --out "$tmp/t.mbox" >/dev/null 2>&1 &&
	"$SPAMTIDE" ingest --db "sqlite:$tmp/p.db" "$tmp/t.mbox" >/dev/null 2>&1 ||
	fail "a store for the closed pipe"
run_sh "set -o pipefail; '$SPAMTIDE' report --db 'sqlite:$tmp/p.db' --format csv --bucket 1m | head -1 >/dev/null"
expect_status 1
expect_stderr_has "Broken pipe"
[ "$(wc -l <"$TMP/err")" -eq 1 ] || fail "a closed pipe said more than once: $(cat "$TMP/err")"
# --without a family that sent nothing in the period (a typo): said, not fatal
run "$SPAMTIDE" report --db "sqlite:$tmp/p.db" --format json --without nosuchfamily
expect_status 0
expect_stderr_has "--without nosuchfamily: no message of it in the period (families: unknown)"
expect_stdout_has '"without": "nosuchfamily"'
run "$SPAMTIDE" report --db "sqlite:$tmp/p.db" --format json --without unknown
expect_status 0
expect_stderr_lacks "no message of it"
# not a family's name at all: a usage error
for v in NOSUCH "" "two words"; do
	run "$SPAMTIDE" report --db "sqlite:$tmp/p.db" --without "$v"
	expect_status 2
	expect_stderr_has "not a family name"
done
run "$SPAMTIDE" learn --family "" "$tmp/t.mbox"
expect_status 2
expect_stderr_has "a lower-case word"
# a scale beyond any trap's (its projection would print inf)
run "$SPAMTIDE" report --db "sqlite:$tmp/p.db" --scale 1e13
expect_status 2
expect_stderr_has "at most 1e12"
run "$SPAMTIDE" report --db "sqlite:$tmp/p.db" --scale 0.5
expect_status 0
expect_stdout_has "scaled to global volume"
# a period of part of a day: marked; a number too few hours give is "-", never nan
run "$SPAMTIDE" report --db "sqlite:$tmp/p.db" --from 2011-03-02T10:00:00Z --to 2011-03-02T14:00:00Z
expect_status 0
expect_stdout_has "2011-03-02*"
expect_stdout_has "* part of the day"
expect_stdout_lacks "nan"
# a period reaching past the data says which part the tables cover
run "$SPAMTIDE" report --db "sqlite:$tmp/p.db" --from 2011-02-20 --to 2011-03-10
expect_status 0
expect_stdout_has "The store holds data for 2011-03-01 00:00 UTC to 2011-03-04 00:00 UTC of this period"
# a period wholly before or after the data: empty, and said why
run "$SPAMTIDE" report --db "sqlite:$tmp/p.db" --to 2011-01-01
expect_status 0
expect_stderr_has "the store's messages begin at 2011-03-01"
expect_stderr_has "after --to: the period is empty"
run "$SPAMTIDE" report --db "sqlite:$tmp/p.db" --from 2011-06-01
expect_status 0
expect_stderr_has "before --from: the period is empty"
# seconds the minute rollups cannot honour: said
run "$SPAMTIDE" report --db "sqlite:$tmp/p.db" --from 2011-03-02T07:06:59Z
expect_status 0
expect_stderr_has "periods are whole minutes: 2011-03-02 07:06 UTC"
# an option without its value: getopt's words, no "unknown option" after them
run "$SPAMTIDE" report --format
expect_status 2
expect_stderr_has "requires an argument"
expect_stderr_lacks "unknown option"
# the projection counts messages whatever unit the shares are in
run "$SPAMTIDE" report --db "sqlite:$tmp/p.db" --unit bytes
expect_status 0
expect_stdout_has "Families (share of bytes)"
expect_stdout_has "Projection of total messages per day"
rm -rf "$tmp"
finish
