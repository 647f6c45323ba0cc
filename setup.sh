#!/bin/sh
# Install every build and test dependency of sandform on Debian 12 (bookworm).
# Run as root (or with sudo available). Safe to run more than once.
set -eu

SUDO=
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
fi

PACKAGES="
build-essential autoconf automake libtool pkg-config make git
libyaml-dev libcurl4-openssl-dev libcjson-dev libsqlite3-dev sqlite3
libpq-dev postgresql
libgit2-dev libssl-dev libmicrohttpd-dev libcmocka-dev
bats curl wrk valgrind clang libclang-rt-14-dev clang-format
ca-certificates python3 zsh
lighttpd lighttpd-mod-openssl openssh-server openssh-client openssl
"
# Node.js is used for the SDK conformance test; take Debian's only when the
# machine has none (a preinstalled Node.js conflicts with Debian's npm).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	PACKAGES="$PACKAGES nodejs npm"
fi

missing=
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		missing="$missing $p"
	fi
done
if [ -n "$missing" ]; then
	echo "setup: installing:$missing" >&2
	$SUDO apt-get update -q
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
fi

# Node.js packages for the SDK conformance test and the SDK benchmark.
here=$(cd "$(dirname "$0")" && pwd)
if [ -f "$here/tests/conformance/package.json" ]; then
	# npm ci installs exactly what package-lock.json pins; a failure is
	# reported as it is, never papered over with a floating npm install.
	(cd "$here/tests/conformance" &&
		npm ci --no-audit --no-fund --loglevel=error)
fi

# Generate ./configure for a fresh clone.
if [ ! -x "$here/configure" ] || [ "$here/configure.ac" -nt "$here/configure" ]; then
	(cd "$here" && autoreconf -fi)
fi
