#!/bin/sh
# Install every Debian package that the build, the tests, the benchmarks and
# the demo need. Idempotent: when everything is present it checks and exits
# quietly; apt-get update runs only when something is missing.
set -eu

PACKAGES="
build-essential cmake pkg-config
libgmime-3.0-dev libglib2.0-dev
libevent-dev libssl-dev
libsqlite3-dev sqlite3
libpcre2-dev
libpcap-dev
libgsl-dev
libcairo2-dev fonts-dejavu-core
libjansson-dev
libcmocka-dev
swaks libnet-ssleay-perl libio-socket-ssl-perl
postfix
python3 python3-numpy python3-statsmodels python3-aiosmtpd
tshark tcpdump
chromium
openssl time hyperfine faketime
"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# Postfix asks how it should be configured; a trap's tests run private
# instances, so the system one stays unconfigured.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
