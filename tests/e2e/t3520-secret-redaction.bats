#!/usr/bin/env bats
# A resolved secret value never appears, even when Daytona echoes it back
# (issue 9, item 3): the client masks every answer before it is parsed, and
# messages and logs mask what they print, so a sandbox whose error reason
# quotes its environment shows *** in the plan, in apply's messages, in the
# JSON events and nowhere in the state.

bats_require_minimum_version 1.5.0

load lib/emulator
load lib/apply

setup() {
	apply_setup --transition-ms 30
	export SANDFORM_STACK=redact
	export SF_RD_TOKEN='tok-3x@mpl3"value'
	mk web '  env: {TOKEN: {secretEnv: SF_RD_TOKEN}}'
	"$SANDFORM" apply m --auto-approve >/dev/null
	# the entrypoint failed and printed its environment
	emu_hook POST sandbox/web \
		'{"state":"error","errorReason":"entrypoint exited 1: TOKEN=tok-3x@mpl3\"value HOME=/root"}' >/dev/null
	[[ "$(emu_api GET /sandbox/web)" == *'tok-3x@mpl3\"value'* ]]
}
teardown() { emu_stop; }

# no_secret FILE...: none of the files holds the value, raw or escaped
no_secret() {
	! grep -aF 'tok-3x@mpl3' "$@"
}

@test "an echoed secret is masked in plan, plan --json and the saved plan" {
	run --separate-stderr "$SANDFORM" plan m
	[ "$status" -eq 0 ]
	[[ "$output" == *"TOKEN=*** HOME=/root"* ]]
	echo "$output$stderr" >out
	"$SANDFORM" plan m --json >plan.json
	"$SANDFORM" plan m --out saved.json >/dev/null
	grep -q 'TOKEN=\*\*\* HOME' plan.json
	no_secret out plan.json saved.json
}

@test "an echoed secret is masked in apply's messages, events, logs and the state" {
	run --separate-stderr "$SANDFORM" -v apply m --auto-approve --json
	echo "$output$stderr" >out
	[[ "$output$stderr" == *"TOKEN=***"* ]]
	no_secret out
	no_secret .sandform/*
	# the sandbox really carries the value: only what sandform shows is masked
	[ "$(emu_api GET /sandbox/web | json 'd["env"]["TOKEN"]')" = 'tok-3x@mpl3"value' ]
}

@test "a secret too short to mask is warned about" {
	export SF_RD_TOKEN=abc
	run --separate-stderr "$SANDFORM" plan m
	[[ "$stderr" == *"env 'TOKEN': the secret value is shorter than 4 bytes"* ]]
}
