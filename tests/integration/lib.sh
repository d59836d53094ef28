# Shared helpers for the shell integration tests.
# run CMD...: runs it, keeping status, stdout and stderr for the expect_* checks.
TMP=$(mktemp -d "${TMPDIR:-/tmp}/spamtide-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
FAILED=0
STATUS=0

run() {
	"$@" >"$TMP/out" 2>"$TMP/err"
	STATUS=$?
	LAST="$*"
}

run_sh() {
	bash -c "$1" >"$TMP/out" 2>"$TMP/err"
	STATUS=$?
	LAST="$1"
}

fail() {
	echo "FAIL: $*" >&2
	echo "  command: $LAST" >&2
	echo "  stdout: $(head -c 2000 "$TMP/out")" >&2
	echo "  stderr: $(head -c 2000 "$TMP/err")" >&2
	FAILED=1
}

expect_status() {
	[ "$STATUS" -eq "$1" ] || fail "status $STATUS, want $1"
}

expect_stdout_has() {
	grep -qF -- "$1" "$TMP/out" || fail "stdout lacks '$1'"
}

expect_stderr_has() {
	grep -qF -- "$1" "$TMP/err" || fail "stderr lacks '$1'"
}

expect_stdout_lacks() {
	! grep -qF -- "$1" "$TMP/out" || fail "stdout has '$1'"
}

expect_stderr_lacks() {
	! grep -qF -- "$1" "$TMP/err" || fail "stderr has '$1'"
}

finish() {
	if [ "$FAILED" -ne 0 ]; then
		echo "some checks failed" >&2
		exit 1
	fi
	echo "ok"
	exit 0
}
