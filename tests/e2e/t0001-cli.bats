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

@test "sandform version: the same line, documented in sandform(1)" {
	run "$SANDFORM" version
	[ "$status" -eq 0 ]
	[ "$output" = "$("$SANDFORM" --version)" ]
	grep -q '^\.SS version$' "$SF_SRCDIR/docs/sandform.1"
	grep -q '^\.SS help$' "$SF_SRCDIR/docs/sandform.1"
	grep -q '^\.SS completion$' "$SF_SRCDIR/docs/sandform.1"
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

@test "an unknown command near a known one gets 'did you mean'" {
	run --separate-stderr "$SANDFORM" pln
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"'pln' is not a command; did you mean 'plan'?"* ]]
	run --separate-stderr "$SANDFORM" --stack x aplly
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"did you mean 'apply'?"* ]]
	run --separate-stderr "$SANDFORM" Validate
	[[ "$stderr" == *"did you mean 'validate'?"* ]]
	run --separate-stderr "$SANDFORM" frobnicate
	[[ "$stderr" != *"did you mean"* ]]
	run --separate-stderr "$SANDFORM" state lst
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"unknown subcommand 'lst'; did you mean 'list'?"* ]]
}

@test "an unknown option near a known one gets 'did you mean'" {
	run --separate-stderr "$SANDFORM" plan --detailed-exitcodes
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"unknown option '--detailed-exitcodes'; did you mean '--detailed-exitcode'?"* ]]
	run --separate-stderr "$SANDFORM" plan --refrsh=false
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"unknown option '--refrsh'; did you mean '--refresh'?"* ]]
	run --separate-stderr "$SANDFORM" apply --auto-aprove
	[[ "$stderr" == *"did you mean '--auto-approve'?"* ]]
	run --separate-stderr "$SANDFORM" --stak x plan
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"did you mean '--stack'?"* ]]
	run --separate-stderr "$SANDFORM" validate --frobnicate
	[[ "$stderr" != *"did you mean"* ]]
}

# one manifest, planned from an empty state without Daytona
one_manifest() {
	printf '%s\n' 'apiVersion: sandform.dev/v1' 'kind: Sandbox' \
		'metadata: {name: a}' 'spec: {image: x}' >a.yaml
}

@test "Terraform-style single-dash long options are accepted" {
	one_manifest
	run --separate-stderr "$SANDFORM" plan -refresh=false -detailed-exitcode a.yaml
	[ "$status" -eq 2 ]
	[[ "$output" == *"+ a (create)"* ]]
	run --separate-stderr "$SANDFORM" -stack=x plan -json -refresh=false a.yaml
	[ "$status" -eq 0 ]
	[[ "$output" == "{"* ]]
	[[ "$output" == *'"stack":"x"'* ]]
	run --separate-stderr "$SANDFORM" -stack x -no-stack-file plan -refresh false a.yaml
	[ "$status" -eq 1 ] # --refresh takes =false only: the parse reached it
	run "$SANDFORM" apply -help
	[ "$status" -eq 0 ]
	[[ "$output" == *"--auto-approve"* ]]
	# short options keep their meaning: -v, -vv
	run --separate-stderr "$SANDFORM" plan -vv -refresh=false a.yaml
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"debug:"* ]]
	# an unknown one is named as written
	run --separate-stderr "$SANDFORM" plan -detailed-exitcodes
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"unknown option '-detailed-exitcodes'; did you mean '--detailed-exitcode'?"* ]]
	run --separate-stderr "$SANDFORM" plan -vx
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"unknown option '-vx'"* ]]
}

@test "--no-color turns colour off on a terminal, before or after the command" {
	command -v script >/dev/null || skip "no script(1) for a terminal"
	one_manifest
	script -qec "'$SANDFORM' plan --refresh=false a.yaml" /dev/null >tty.out
	grep -q $'\e\[' tty.out # coloured on a terminal
	script -qec "'$SANDFORM' plan --no-color --refresh=false a.yaml" /dev/null >tty.out
	grep -q 'a (create)' tty.out
	! grep -q $'\e\[' tty.out
	script -qec "'$SANDFORM' --no-color plan --refresh=false a.yaml" /dev/null >tty.out
	grep -q 'a (create)' tty.out
	! grep -q $'\e\[' tty.out
	script -qec "'$SANDFORM' plan -no-color --refresh=false a.yaml" /dev/null >tty.out
	! grep -q $'\e\[' tty.out
	run "$SANDFORM" validate --no-color a.yaml
	[ "$status" -eq 0 ]
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

@test "every command and every option of every command is in sandform(1)" {
	man="$SF_SRCDIR/docs/sandform.1"
	cmds=$("$SANDFORM" --help | awk '/^commands:/ {on = 1; next} on && /^  [a-z]/ {print $1}')
	[ -n "$cmds" ]
	missing=
	for c in $cmds; do
		grep -q "^\.SS $c\$" "$man" || missing="$missing $c"
		for o in $("$SANDFORM" "$c" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
			m=$(printf '%s' "$o" | sed 's/-/\\\\-/g')
			grep -q -- "$m" "$man" || missing="$missing $c:$o"
		done
	done
	echo "not in sandform(1):$missing"
	[ -z "$missing" ]
}
