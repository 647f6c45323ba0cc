#!/bin/sh
# Connections per apply (issue 13, item 2), not a timed test: starts
# daytona-emulator on a free loopback port (and, when lighttpd with
# mod_openssl is installed, an HTTPS proxy in front of it with a test CA),
# then for each parallelism (default 1 16 64) applies N creates (default
# 300) with a fresh state under strace, counting sandform's connect() calls
# to the server, over http and https. Prints, per case, the median of RUNS
# (default 3) runs: connects, wall seconds. Target: connects <= parallelism
# + 2. Then, per case, the official SDK's side: the same N creates by
# sdk-create.mjs at concurrency P, its connect() calls counted the same
# way (when Node.js and the SDK are installed). Run it from a build
# directory configured without sanitizers.
#
# Usage: tests/bench/bench-conn.sh [N [P...]]
# Environment: SANDFORM (default ./sandform), DAYTONA_EMULATOR (default
#   ./daytona-emulator), RUNS (default 3), NODE (default node),
#   SF_SDK_MODULES (default tests/conformance/node_modules of this tree).
set -eu

n=${1:-300}
[ $# -gt 0 ] && shift
pars=${*:-1 16 64}
runs=${RUNS:-3}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bench/lib.sh
. "$here/lib.sh"
sandform=${SANDFORM:-./sandform}
emulator=${DAYTONA_EMULATOR:-./daytona-emulator}
node=${NODE:-node}
modules=${SF_SDK_MODULES:-$here/../conformance/node_modules}
sandform=$(cd "$(dirname "$sandform")" && pwd)/$(basename "$sandform")

[ -x "$sandform" ] || { echo "bench: no sandform at $sandform (set SANDFORM)" >&2; exit 1; }
[ -x "$emulator" ] || { echo "bench: no daytona-emulator at $emulator (set DAYTONA_EMULATOR)" >&2; exit 1; }
command -v strace >/dev/null || { echo "bench: strace missing (Debian package 'strace')" >&2; exit 1; }

bench_begin sf-bench-conn
tmp=$bench_tmp
proxy_pid=
stop_proxy() {
	if [ -n "$proxy_pid" ]; then kill "$proxy_pid" 2>/dev/null || true; fi
	bench_end
}
trap stop_proxy EXIT

key=bench-$$
bench_emu_start "$emulator" "$tmp" "$key" --latency-ms 10 --transition-ms 50 --threads 8
emu_port=${bench_url##*:}

mkdir "$tmp/m"
i=0
while [ $i -lt "$n" ]; do
	printf -- '---\napiVersion: sandform.dev/v1\nkind: Sandbox\nmetadata:\n  name: conn-%05d\nspec:\n  snapshot: daytona-small\n  autoStopInterval: 0\n' "$i"
	i=$((i + 1))
done >"$tmp/m/conn.yaml"

# an HTTPS front (lighttpd + a test CA), when the packages are there
https_url=
if command -v lighttpd >/dev/null && [ -e /usr/lib/lighttpd/mod_openssl.so ] &&
	[ -e /usr/lib/lighttpd/mod_proxy.so ] && command -v openssl >/dev/null; then
	d=$tmp/tls
	mkdir -p "$d/www"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$d/ca.key" -out "$d/ca.pem" -days 2 -subj '/CN=bench CA' >/dev/null 2>&1
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$d/server.key" -out "$d/server.csr" -subj '/CN=127.0.0.1' >/dev/null 2>&1
	printf 'subjectAltName=IP:127.0.0.1\n' >"$d/ext.cnf"
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
		-CAcreateserial -out "$d/server.pem" -days 2 -extfile "$d/ext.cnf" >/dev/null 2>&1
	tport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	cat >"$d/lighttpd.conf" <<CONF
server.modules = ("mod_proxy", "mod_openssl")
server.document-root = "$d/www"
server.bind = "127.0.0.1"
server.port = $tport
server.max-fds = 4096
server.errorlog = "$d/error.log"
ssl.engine = "enable"
ssl.pemfile = "$d/server.pem"
ssl.privkey = "$d/server.key"
proxy.server = ("" => (("host" => "127.0.0.1", "port" => $emu_port)))
CONF
	lighttpd -D -f "$d/lighttpd.conf" >"$d/out" 2>&1 &
	proxy_pid=$!
	sleep 0.5
	https_url=https://127.0.0.1:$tport
fi

# connects PORT CMD [ARG...]: "connects wall" of CMD run from an empty
# emulator under strace, its connect() calls to PORT counted
connects() {
	port=$1
	shift
	curl -fsS -X POST "$bench_url/_emulator/reset" >/dev/null
	start=$(date +%s.%N)
	strace -f -qq -e trace=connect -o "$tmp/strace" "$@" >/dev/null \
		2>"$tmp/err" ||
		{ echo "bench: $* failed:" >&2; tail -3 "$tmp/err" >&2; exit 1; }
	end=$(date +%s.%N)
	c=$(grep -c "htons($port)" "$tmp/strace" || true)
	echo "$c $(echo "$end - $start" | bc)"
}

# one_run URL PORT P: one apply of N creates at parallelism P
one_run() {
	rm -f "$tmp/state.db"*
	connects "$2" env DAYTONA_API_URL="$1/api" DAYTONA_API_KEY="$key" \
		SANDFORM_STATE="$tmp/state.db" SSL_CERT_FILE="$tmp/tls/ca.pem" \
		"$sandform" apply "$tmp/m" --stack conn --auto-approve \
		--parallelism "$3"
}

# sdk_run URL PORT P: the official SDK's N creates (sdk-create.mjs) at
# concurrency P
sdk_run() {
	connects "$2" env SF_EMU_URL="$1" SF_EMU_KEY="$key" \
		SF_SDK_MODULES="$modules" NODE_EXTRA_CA_CERTS="$tmp/tls/ca.pem" \
		"$node" "$here/sdk-create.mjs" "$n" "$3"
}

# case_of WHO URL PORT P: RUNS runs of one case, then its medians
case_of() {
	: >"$tmp/runs"
	r=0
	while [ $r -lt "$runs" ]; do
		if [ "$1" = sandform ]; then one_run "$2" "$3" "$4"; else
			sdk_run "$2" "$3" "$4"; fi >>"$tmp/runs"
		r=$((r + 1))
	done
	conn=$(cut -d' ' -f1 "$tmp/runs" | bench_median)
	wall=$(cut -d' ' -f2 "$tmp/runs" | bench_median)
	echo "$scheme $1 parallelism=$4 connects=$conn wall_s=$wall"
}

sdk=1
if ! command -v "$node" >/dev/null 2>&1 || [ ! -d "$modules/@daytonaio/sdk" ]; then
	echo "sdk: skipped (no Node.js or no SDK in $modules; ./setup.sh installs them)"
	sdk=0
fi
echo "bench-conn: N=$n creates per apply, median of $runs"
for scheme in http https; do
	if [ $scheme = http ]; then url=$bench_url port=$emu_port; else
		[ -n "$https_url" ] || { echo "https: skipped (no lighttpd with mod_openssl)"; continue; }
		url=$https_url port=$tport
	fi
	for p in $pars; do
		case_of sandform "$url" "$port" "$p"
		if [ $sdk = 1 ]; then case_of sdk "$url" "$port" "$p"; fi
	done
done
