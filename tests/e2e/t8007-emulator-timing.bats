#!/usr/bin/env bats
# daytona-emulator: the per-kind timing switches (--create-ms, --stop-ms,
# --archive-ms, --resize-ms) and --threads. Each kind is slowed on its own
# while --transition-ms 0 keeps every other transition instant, so a switch
# that did nothing would show the end state at once.

bats_require_minimum_version 1.5.0
load lib/emulator

setup() { emu_default_setup; }
teardown() { emu_default_teardown; }

state() { emu_api GET "/sandbox/$1" | emu_json 'd["state"]'; }

@test "--create-ms slows create alone" {
	emu_start --transition-ms 0 --create-ms 5000 --max-wait-ms 0
	emu_api POST /sandbox '{"name":"c"}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	[ "$(state c)" = creating ]
}

@test "--stop-ms slows stop alone" {
	emu_start --transition-ms 0 --stop-ms 5000
	emu_api POST /sandbox '{"name":"s"}' >/dev/null
	[ "$(state s)" = started ]
	emu_api POST /sandbox/s/stop >/dev/null
	[ "$(state s)" = stopping ]
}

@test "--archive-ms slows archive alone" {
	emu_start --transition-ms 0 --archive-ms 5000
	emu_api POST /sandbox '{"name":"a"}' >/dev/null
	emu_api POST /sandbox/a/stop >/dev/null
	[ "$(state a)" = stopped ]
	emu_api POST /sandbox/a/archive >/dev/null
	[ "$(state a)" = archiving ]
}

@test "--resize-ms slows resize alone" {
	emu_start --transition-ms 0 --resize-ms 5000
	emu_api POST /sandbox '{"name":"r"}' >/dev/null
	emu_api POST /sandbox/r/resize '{"cpu":2}' >/dev/null
	[ "$EMU_STATUS" = 200 ]
	[ "$(state r)" = resizing ]
}

# threads PID: how many threads the process runs
threads() { ls "/proc/$1/task" | wc -l; }

@test "--threads sets the HTTP worker threads; 0 and junk are refused" {
	emu_start --threads 1
	emu_api GET /config >/dev/null
	one=$(threads "$EMU_PID")
	emu_stop
	emu_start --threads 5
	emu_api GET /config >/dev/null
	[ "$(threads "$EMU_PID")" -eq $((one + 4)) ]
	run "$DAYTONA_EMULATOR" --api-key k --threads 0
	[ "$status" -eq 1 ]
	run "$DAYTONA_EMULATOR" --api-key k --threads x
	[ "$status" -eq 1 ]
}
