#!/usr/bin/env bats
# Settings every command shares, checked once by the dispatcher: stack
# names (--stack, apply's own entry included), the state path's directory
# (only the default one is created), colour only on a terminal without
# NO_COLOR, and plan --refresh=false needing no API key.

bats_require_minimum_version 1.5.0

load lib/emulator
load lib/apply

setup() {
	cd "$BATS_TEST_TMPDIR"
	unset SANDFORM_STATE NO_COLOR DAYTONA_TARGET DAYTONA_ORGANIZATION_ID
	unset DAYTONA_API_KEY DAYTONA_API_URL
	mkdir -p m
	mk web
}
teardown() { emu_stop; }

# every command with a --stack option, with what it needs after it
stack_cmds=(
	"plan m"
	"plan m --refresh=false"
	"state list"
	"state import web sb-1"
	"apply m --auto-approve"
	"destroy m --auto-approve"
)

@test "every command refuses a bad stack name before doing anything" {
	local long64 c st
	long64=$(printf 'a%.0s' {1..64})
	for c in "${stack_cmds[@]}"; do
		for st in "" "a b" "$long64" "-x" ".x" "a/b" "a'b" $'a\tb' "é"; do
			# shellcheck disable=SC2086
			run --separate-stderr "$SANDFORM" $c --stack "$st"
			[ "$status" -eq 1 ] || { echo "$c --stack '$st': $status"; false; }
			[[ "$stderr" == "sandform ${c%% *}: --stack: "* ]] ||
				{ echo "$c --stack '$st': $stderr"; false; }
		done
	done
	# nothing was opened or created
	[ ! -e .sandform ]
	run --separate-stderr "$SANDFORM" state list --stack ""
	[ "$stderr" = "sandform state: --stack: the stack name is empty" ]
	run --separate-stderr "$SANDFORM" plan m --stack "$long64"
	[ "$stderr" = "sandform plan: --stack: the stack name is 64 bytes long (at most 63)" ]
	run --separate-stderr "$SANDFORM" apply m --stack "-x"
	[ "$stderr" = "sandform apply: --stack: a stack name starts with a letter or digit, not '-'" ]
	run --separate-stderr "$SANDFORM" destroy m --stack "a b"
	[[ "$stderr" == "sandform destroy: --stack: byte 2 (0x20) is not allowed in a stack name (letters, digits, '-', '_' and '.')" ]]
}

@test "valid stack names up to 63 bytes are accepted" {
	local long63 st
	long63=$(printf 'b%.0s' {1..63})
	for st in "$long63" 0 A.b_c-d "9lives" "x-" "x."; do
		run --separate-stderr "$SANDFORM" state import "web" "sb-$st" --stack "$st"
		[ "$status" -eq 0 ] || { echo "--stack '$st': $stderr"; false; }
		run "$SANDFORM" state list --stack "$st" --json
		[ "$(echo "$output" | json '[r["name"] for r in d["records"]]')" = "['web']" ]
	done
	run --separate-stderr "$SANDFORM" plan m --refresh=false --stack "$long63"
	[ "$status" -eq 0 ]
}

@test "an explicit --state or SANDFORM_STATE needs an existing directory" {
	run --separate-stderr "$SANDFORM" plan m --refresh=false --state nodir/sub/s.db
	[ "$status" -eq 1 ]
	[[ "$stderr" == "sandform plan: --state: directory 'nodir/sub' does not exist"* ]]
	SANDFORM_STATE=nodir/s.db run --separate-stderr "$SANDFORM" state import web sb-1
	[ "$status" -eq 1 ]
	[[ "$stderr" == "sandform state: SANDFORM_STATE: directory 'nodir' does not exist"* ]]
	run --separate-stderr "$SANDFORM" apply m --auto-approve --state "$BATS_TEST_TMPDIR/nodir/s.db"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"directory '$BATS_TEST_TMPDIR/nodir' does not exist"* ]]
	touch afile
	run --separate-stderr "$SANDFORM" destroy m --auto-approve --state afile/s.db
	[ "$status" -eq 1 ]
	[[ "$stderr" == "sandform destroy: --state: 'afile' (holding the state file) is not a directory" ]]
	run --separate-stderr "$SANDFORM" force-unlock 1 --state nodir/s.db
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"directory 'nodir' does not exist"* ]]
	[ ! -e nodir ] && [ ! -e .sandform ]
	# validate has no state: SANDFORM_STATE does not concern it
	SANDFORM_STATE=nodir/s.db run "$SANDFORM" validate m
	[ "$status" -eq 0 ]
	# ... but its git cache lives beside the state
	SANDFORM_STATE=nodir/s.db run --separate-stderr "$SANDFORM" validate \
		--git "file://$BATS_TEST_TMPDIR/repo"
	[ "$status" -eq 1 ]
	[[ "$stderr" == "sandform validate: SANDFORM_STATE: directory 'nodir' does not exist"* ]]
	# an existing directory is fine, with no directory created
	mkdir d
	run "$SANDFORM" state import web sb-1 --state d/s.db
	[ "$status" -eq 0 ]
	[ -f d/s.db ]
	SANDFORM_STATE=d/s.db run "$SANDFORM" state show web
	[ "$status" -eq 0 ]
	run "$SANDFORM" state import web sb-2 --state s.db
	[ "$status" -eq 0 ]
	[ ! -e nodir ] && [ ! -e .sandform ]
}

@test "the default state's directory is created, private" {
	run --separate-stderr "$SANDFORM" state import web sb-1
	[ "$status" -eq 0 ]
	[ -f .sandform/state.db ]
	[ "$(stat -c %a .sandform)" = 700 ]
	# SANDFORM_STATE empty means the default
	SANDFORM_STATE= run "$SANDFORM" state show web
	[ "$status" -eq 0 ]
}

@test "colour on a terminal only, and never with NO_COLOR set" {
	local esc=$'\033['
	# a terminal: coloured plan
	run script -qec "$SANDFORM plan m --refresh=false" /dev/null </dev/null
	[ "$status" -eq 0 ]
	[[ "$output" == *"web"* ]]
	[[ "$output" == *"$esc"* ]]
	# an empty NO_COLOR keeps it
	NO_COLOR= run script -qec "$SANDFORM plan m --refresh=false" /dev/null </dev/null
	[ "$status" -eq 0 ]
	[[ "$output" == *"$esc"* ]]
	# NO_COLOR=1 on a terminal: none
	NO_COLOR=1 run script -qec "$SANDFORM plan m --refresh=false" /dev/null </dev/null
	[ "$status" -eq 0 ]
	[[ "$output" == *"web"* ]]
	[[ "$output" != *$'\033'* ]]
	# piped: none
	run bash -c '"$SANDFORM" plan m --refresh=false | cat'
	[ "$status" -eq 0 ]
	[[ "$output" == *"web"* ]]
	[[ "$output" != *$'\033'* ]]
	# redirected to a file: none
	"$SANDFORM" plan m --refresh=false >out.txt
	grep -q web out.txt
	! grep -q $'\033' out.txt
}

@test "plan --refresh=false works without an API key, sends nothing" {
	emu_start --transition-ms 30
	mk api
	"$SANDFORM" apply m --auto-approve
	[ "$(live_names)" = "$(declared_names)" ]
	local before
	before=$(n_requests)
	unset DAYTONA_API_KEY
	# a refreshing plan needs the key (so it really is missing)
	run --separate-stderr "$SANDFORM" plan m
	[ "$status" -eq 1 ]
	[[ "$stderr" == *DAYTONA_API_KEY* ]]
	run --separate-stderr "$SANDFORM" plan m --refresh=false --detailed-exitcode
	[ "$status" -eq 0 ]
	[[ "$output" == *"No changes."* ]]
	# a changed manifest is planned from the state alone
	mk api '  autoArchiveInterval: 120'
	run --separate-stderr "$SANDFORM" plan m --refresh=false --detailed-exitcode --json
	[ "$status" -eq 2 ]
	[ "$(echo "$output" | json '[a["name"] for a in d["actions"]]')" = "['api']" ]
	[ "$(n_requests)" = "$before" ]
}
