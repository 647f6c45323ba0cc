#!/bin/sh
# The sandform demo: the whole GitOps loop against a local daytona-emulator.
#
#   make demo                    (or: sh tests/demo.sh [EXAMPLES_DIR])
#
# It starts daytona-emulator on a free loopback port with quick transitions,
# then on the example stacks: validate, plan, apply, plan again (empty), a
# sandbox stopped behind sandform's back, plan (shows the start), apply,
# destroy (first refused by lifecycle.preventDestroy, then forced). The
# state lives in a temporary directory; the emulator is stopped on exit.
# Nothing here talks to anything but 127.0.0.1.
#
# Environment: SANDFORM and DAYTONA_EMULATOR (default: ./sandform and
# ./daytona-emulator, i.e. run from the build directory).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
examples=$(cd "${1:-$here/../examples}" && pwd)
SANDFORM=${SANDFORM:-./sandform}
DAYTONA_EMULATOR=${DAYTONA_EMULATOR:-./daytona-emulator}

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
	bold=$(printf '\033[1m') dim=$(printf '\033[2m') off=$(printf '\033[0m')
else
	bold= dim= off=
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sandform-demo.XXXXXX")
emu_pid=
cleanup() {
	if [ -n "$emu_pid" ]; then
		kill -TERM "$emu_pid" 2>/dev/null || true
		wait "$emu_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() {
	printf '\n%s==> %s%s\n' "$bold" "$*" "$off"
}
# run: show the command the way a user would type it, then run it.
run() {
	printf '%s$ sandform %s%s\n' "$dim" "$*" "$off"
	"$SANDFORM" "$@"
}
# run_expect STATUS WHAT ARGS...: run, and stop the demo unless sandform
# exits with STATUS (WHAT says what that status means).
run_expect() {
	want=$1 what=$2
	shift 2
	rc=0
	run "$@" || rc=$?
	if [ "$rc" -ne "$want" ]; then
		echo "demo: expected $what (exit $want), got $rc" >&2
		exit 1
	fi
}

step "Starting daytona-emulator (a local Daytona API) on a free port"
"$DAYTONA_EMULATOR" --listen 127.0.0.1:0 --api-key demo-key \
	--port-file "$tmp/port" --transition-ms 300 --build-ms 600 \
	2>"$tmp/emulator.log" &
emu_pid=$!
i=0
while [ ! -s "$tmp/port" ]; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$emu_pid" 2>/dev/null; then
		echo "demo: daytona-emulator did not start:" >&2
		cat "$tmp/emulator.log" >&2
		exit 1
	fi
	sleep 0.1
done
port=$(cat "$tmp/port")
echo "listening on http://127.0.0.1:$port/api"

# What a real user would export for Daytona, plus the secrets the
# examples reference with secretEnv. The stack is named (a project would
# name it in its stack file, sandform.yaml): sandform never changes an
# unnamed one.
DAYTONA_API_URL="http://127.0.0.1:$port/api"
DAYTONA_API_KEY=demo-key
SANDFORM_STATE="$tmp/state.db"
SANDFORM_STACK=demo
VNC_PASSWORD=demo-vnc-password
HF_TOKEN=demo-hf-token
export DAYTONA_API_URL DAYTONA_API_KEY SANDFORM_STATE SANDFORM_STACK \
	VNC_PASSWORD HF_TOKEN
unset DAYTONA_TARGET DAYTONA_ORGANIZATION_ID 2>/dev/null || true

step "1. Check the manifests (no API calls)"
run validate "$examples"

step "2. Plan: everything is to be created"
run plan "$examples"

step "3. Apply"
run apply --auto-approve "$examples"

step "4. Plan again: nothing to do"
run plan --detailed-exitcode "$examples"

step "5. Someone stops agent-pool-eval in the dashboard (emulator test hook)"
curl -sS -o /dev/null -X POST -H 'Content-Type: application/json' \
	--data '{"state":"stopped"}' \
	"http://127.0.0.1:$port/_emulator/sandbox/agent-pool-eval"
echo "agent-pool-eval is now stopped; its manifest says state: started"

step "6. Plan: the drift shows as a start"
run_expect 2 "plan to report changes" plan --detailed-exitcode "$examples"

step "7. Apply: start it again"
run apply --auto-approve "$examples"

step "8. Destroy: refused while lifecycle.preventDestroy protects a sandbox"
run_expect 1 "destroy to refuse" destroy --auto-approve "$examples"

step "9. Destroy, naming the protected sandbox"
run destroy --auto-approve --force-destroy agent-pool-eval "$examples"

step "Done"
run state history
printf '\nThe emulator is stopped and the temporary state removed.\n'
