#!/usr/bin/env bats
# The command line itself: --help, --version, per-command help, unknown
# commands and options, exit statuses.

bats_require_minimum_version 1.5.0

setup() {
	cd "$BATS_TEST_TMPDIR"
}

@test "--version prints the package version on stdout" {
	run "$SANDFORM" --version
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^sandform\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
}

@test "--help lists the commands and exits 0" {
	run "$SANDFORM" --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"usage: sandform"* ]]
	[[ "$output" == *"validate"* ]]
	[[ "$output" == *"sandform(1)"* ]]
}

@test "no arguments prints usage on stderr and exits 1" {
	run --separate-stderr "$SANDFORM"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[[ "$stderr" == *"usage: sandform"* ]]
}

@test "validate --help shows the synopsis and every option" {
	run "$SANDFORM" validate --help
	[ "$status" -eq 0 ]
	[[ "$output" == *"validate"*"[PATH...]"* ]]
	[[ "$output" == *"--json"* ]]
	[[ "$output" == *"--verbose"* ]]
	run "$SANDFORM" help validate
	[ "$status" -eq 0 ]
	[[ "$output" == *"--json"* ]]
}

@test "an unknown command exits 1 naming it" {
	run --separate-stderr "$SANDFORM" frobnicate
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"'frobnicate' is not a command"* ]]
	[ -z "$output" ]
}

@test "an unknown option exits 1 naming it" {
	run --separate-stderr "$SANDFORM" validate --frobnicate
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"frobnicate"* ]]
	[ -z "$output" ]
}

@test "a full stdout is an error, not success" {
	run "$SANDFORM" --version
	[ "$status" -eq 0 ]
	run bash -c '"$SANDFORM" --version >/dev/full'
	[ "$status" -eq 1 ]
}
