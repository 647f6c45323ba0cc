# Shared bats helpers: one daytona-emulator per test.
#
#   load lib/emulator
#   setup()    { emu_default_setup; emu_start --transition-ms 50; }
#   teardown() { emu_default_teardown; }
#
# emu_default_setup          the emulator files' setup: work in the test's
#                            own $BATS_TEST_TMPDIR
# emu_default_teardown       the emulator files' teardown: emu_stop (a test
#                            may have stopped it already)
# emu_start [EXTRA_ARGS...]  start $DAYTONA_EMULATOR on a free loopback port
#                            (stderr in $BATS_TEST_TMPDIR/emu.log) and export
#                            EMU_PID, EMU_PORT, EMU_URL, DAYTONA_API_URL,
#                            DAYTONA_API_KEY (test-key)
# emu_stop                   SIGTERM, bounded wait, SIGKILL if needed; fails
#                            when the emulator's log shows a sanitizer report
# emu_api METHOD PATH [JSON] curl against $DAYTONA_API_URL with the key;
#                            prints the body, sets EMU_STATUS and EMU_BODY
#                            (inside $(...) or `run` the variables are lost:
#                            read $BATS_TEST_TMPDIR/emu.status instead)
# emu_hook METHOD PATH [JSON] the same against $EMU_URL/_emulator/PATH
# emu_requests               print the request log (JSON lines)
# emu_json PYEXPR            evaluate PYEXPR over the JSON on stdin (as d)
# emu_wait_state NAME STATE  poll until the sandbox shows STATE

: "${DAYTONA_EMULATOR:=${SF_BUILDDIR:-.}/daytona-emulator}"

# sandform applies only to a named stack (--stack, $SANDFORM_STACK or a
# stack file): the tests name theirs through the environment, as a CI job
# would. Tests of the rule itself unset it.
export SANDFORM_STACK="${SANDFORM_STACK-default}"

emu_default_setup() {
	cd "$BATS_TEST_TMPDIR"
}

emu_default_teardown() {
	emu_stop
}

emu_start() {
	local portfile="$BATS_TEST_TMPDIR/emu.port" i
	rm -f "$portfile"
	"$DAYTONA_EMULATOR" --listen 127.0.0.1:0 --api-key test-key \
		--port-file "$portfile" "$@" \
		>"$BATS_TEST_TMPDIR/emu.out" 2>"$BATS_TEST_TMPDIR/emu.log" &
	EMU_PID=$!
	for ((i = 0; i < 200; i++)); do
		[ -s "$portfile" ] && break
		if ! kill -0 "$EMU_PID" 2>/dev/null; then
			echo "daytona-emulator exited early:" >&2
			cat "$BATS_TEST_TMPDIR/emu.log" >&2
			return 1
		fi
		sleep 0.05
	done
	if [ ! -s "$portfile" ]; then
		echo "daytona-emulator did not write its port file" >&2
		return 1
	fi
	EMU_PORT=$(cat "$portfile")
	EMU_URL="http://127.0.0.1:$EMU_PORT"
	DAYTONA_API_URL="$EMU_URL/api"
	DAYTONA_API_KEY=test-key
	export EMU_PID EMU_PORT EMU_URL DAYTONA_API_URL DAYTONA_API_KEY
}

emu_stop() {
	local i
	[ -n "${EMU_PID:-}" ] || return 0
	kill -TERM "$EMU_PID" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$EMU_PID" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$EMU_PID" 2>/dev/null; then
		kill -KILL "$EMU_PID" 2>/dev/null || true
	fi
	wait "$EMU_PID" 2>/dev/null || true
	EMU_PID=
	if grep -q 'Sanitizer\|runtime error:' "$BATS_TEST_TMPDIR/emu.log" 2>/dev/null; then
		echo "daytona-emulator reported a sanitizer error:" >&2
		cat "$BATS_TEST_TMPDIR/emu.log" >&2
		return 1
	fi
}

# _emu_curl URL METHOD JSON [extra curl args...]
_emu_curl() {
	local url=$1 method=$2 body=$3 out
	shift 3
	local args=(-sS -o "$BATS_TEST_TMPDIR/emu.body" -w '%{http_code}'
		-X "$method" --max-time 60)
	if [ -n "$body" ]; then
		args+=(-H 'Content-Type: application/json' --data-binary "$body")
	fi
	out=$(curl "${args[@]}" "$@" "$url") || out=000
	EMU_STATUS=$out
	EMU_BODY=$(cat "$BATS_TEST_TMPDIR/emu.body" 2>/dev/null)
	echo "$EMU_STATUS" >"$BATS_TEST_TMPDIR/emu.status"
	rm -f "$BATS_TEST_TMPDIR/emu.body"
	printf '%s\n' "$EMU_BODY"
}

emu_api() {
	local method=$1 path=$2 body=${3-}
	_emu_curl "$DAYTONA_API_URL$path" "$method" "$body" \
		-H "Authorization: Bearer ${DAYTONA_API_KEY:-test-key}"
}

# emu_secrets NAME...: organization secrets (POST /secret) that sandbox
# creates and PUT secrets may name (unknown names are a 400 there)
emu_secrets() {
	local n
	for n in "$@"; do
		emu_api POST /secret "{\"name\":\"$n\",\"value\":\"v-$n\"}" >/dev/null
		[ "$EMU_STATUS" = 201 ] || return 1
	done
}

emu_hook() {
	local method=$1 path=${2#/} body=${3-}
	_emu_curl "$EMU_URL/_emulator/$path" "$method" "$body"
}

emu_requests() {
	curl -sS --max-time 10 "$EMU_URL/_emulator/requests"
}

# emu_json PYEXPR: evaluate a Python expression over the JSON on stdin
# (bound to d); strings print bare, everything else as JSON.
#   emu_api GET /sandbox/x | emu_json 'd["state"]'
# (Debian's python3 first: version-manager shims cost ~0.3 s per call.)
if [ -x /usr/bin/python3 ]; then EMU_PYTHON=/usr/bin/python3; else EMU_PYTHON=python3; fi
emu_json() {
	"$EMU_PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
v = eval(sys.argv[1])
print(v if isinstance(v, str) else json.dumps(v))
' "$1"
}

# emu_wait_state NAME STATE [TRIES]: poll GET until the state is STATE.
emu_wait_state() {
	local name=$1 want=$2 tries=${3:-100} i got=
	for ((i = 0; i < tries; i++)); do
		got=$(emu_api GET "/sandbox/$name" | emu_json 'd.get("state", "")' 2>/dev/null) || got=
		[ "$got" = "$want" ] && return 0
		sleep 0.05
	done
	echo "sandbox $name: state '$got', wanted '$want'" >&2
	return 1
}
