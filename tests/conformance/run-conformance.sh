#!/bin/sh
# Conformance test for `make check`: starts daytona-emulator on a free
# loopback port and runs conformance.mjs (the official @daytonaio/sdk)
# against it. Exit codes follow automake: 0 pass, 1 fail, 77 skip (no
# Node.js or no installed SDK, with the reason printed), 99 hard error.
#
# Environment (set by AM_TESTS_ENVIRONMENT): DAYTONA_EMULATOR, SF_SRCDIR,
# NODE. SF_SDK_MODULES may name a node_modules folder holding the SDK.
set -u

srcdir=${SF_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
here=$srcdir/tests/conformance
emulator=${DAYTONA_EMULATOR:-}
node=${NODE:-}
[ -n "$node" ] || node=$(command -v node 2>/dev/null || true)

skip() {
	echo "SKIP: $*"
	exit 77
}

if [ -z "$node" ] || ! "$node" --version >/dev/null 2>&1; then
	skip "Node.js not found (install nodejs, or run ./setup.sh)"
fi
major=$("$node" -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 18 ]; then
	skip "Node.js $("$node" --version) is too old for @daytonaio/sdk (need >= 18)"
fi

# node_modules is not part of the distribution tarball: a distcheck build
# looks for the one installed in the tree it was made from (a parent folder).
pinned=$(sed -n 's/.*"@daytonaio\/sdk": *"\([^"]*\)".*/\1/p' "$here/package.json")
modules=${SF_SDK_MODULES:-}
if [ -z "$modules" ]; then
	# abs_top_srcdir may read like .../_build/sub/../.. in a distcheck.
	dir=$(cd "$srcdir" && pwd -P)
	for _ in 1 2 3 4 5 6; do
		if [ -f "$dir/tests/conformance/node_modules/@daytonaio/sdk/package.json" ]; then
			modules=$dir/tests/conformance/node_modules
			break
		fi
		dir=$(dirname "$dir")
	done
fi
if [ -z "$modules" ] || [ ! -f "$modules/@daytonaio/sdk/package.json" ]; then
	skip "@daytonaio/sdk is not installed (run 'npm ci' in tests/conformance, or ./setup.sh)"
fi
installed=$("$node" -p "require('$modules/@daytonaio/sdk/package.json').version")
if [ "$installed" != "$pinned" ]; then
	echo "ERROR: $modules has @daytonaio/sdk $installed but package.json pins $pinned; run 'npm ci' in tests/conformance"
	exit 99
fi

if [ -z "$emulator" ] || [ ! -x "$emulator" ]; then
	echo "ERROR: daytona-emulator not built (DAYTONA_EMULATOR=$emulator)"
	exit 99
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sf-conformance.XXXXXX") || exit 99
pids=
cleanup() {
	for p in $pids; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

key=conformance-$(date +%s)-$$

# start_emulator NAME ARGS...: start one emulator, wait for its port file,
# set $port.
start_emulator() {
	name=$1
	shift
	"$emulator" --listen 127.0.0.1:0 --api-key "$key" --port-file "$tmp/$name.port" \
		"$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
	epid=$!
	pids="$pids $epid"
	port=
	i=0
	while [ $i -lt 100 ]; do
		if [ -s "$tmp/$name.port" ]; then
			port=$(tr -dc '0-9' <"$tmp/$name.port")
			[ -n "$port" ] && break
		fi
		kill -0 "$epid" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	if [ -z "$port" ]; then
		echo "ERROR: daytona-emulator ($name) did not write its port file"
		cat "$tmp/$name.err"
		exit 99
	fi
	echo "# daytona-emulator ($name) on 127.0.0.1:$port (pid $epid): $*"
}

# The main one, with short transitions; deletes last long enough for a
# second DELETE to land while destroying.
start_emulator main --transition-ms 200 --delete-ms 1000 --seed 1
main_port=$port
# A second one with a create rate limit of 1 per minute (429 check).
start_emulator limited --transition-ms 50 --rate-limit create=1/60 --seed 1
limited_port=$port

SF_EMU_URL=http://127.0.0.1:$main_port SF_EMU_LIMITED_URL=http://127.0.0.1:$limited_port \
	SF_EMU_KEY=$key SF_SDK_MODULES=$modules "$node" "$here/conformance.mjs"
status=$?

for p in $pids; do
	kill "$p" 2>/dev/null
	wait "$p"
	emu_status=$?
	if [ $emu_status -ne 0 ]; then
		echo "# note: daytona-emulator (pid $p) exited with status $emu_status after SIGTERM"
	fi
done
pids=
if [ $status -ne 0 ] || [ -s "$tmp/main.err" ]; then
	for name in main limited; do
		echo "# emulator ($name) stderr (last 40 lines):"
		tail -n 40 "$tmp/$name.err" | sed 's/^/#   /'
	done
fi
exit $status
