#!/usr/bin/env bats
# Monorepos (issue 10): a .sandformignore at a source's root (gitignore's
# syntax) and the stack file's exclude: skip files whose documents are not
# sandform's; what was skipped is said, never silent.

bats_require_minimum_version 1.5.0

load lib/sandbox

setup() {
	cd "$BATS_TEST_TMPDIR"
	unset SANDFORM_STATE SANDFORM_STACK
	mkdir -p m/ci m/team
	sandbox_yaml web t >m/web.yaml
	sandbox_yaml api t >m/team/api.yaml
	sandbox_yaml draft t >m/team/new.draft.yaml
	printf 'name: build\non: [push]\njobs: {}\n' >m/ci/build.yml
}

@test "without a .sandformignore another tool's YAML is an error" {
	run --separate-stderr "$SANDFORM" validate m
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"m/ci/build.yml:1:1: "* ]]
}

@test ".sandformignore skips what it names, says how many, and ! takes one back" {
	printf '# other tools\nci/\n*.draft.yaml\n' >m/.sandformignore
	run --separate-stderr "$SANDFORM" validate m
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	[ "$output" = "2 sandboxes in 2 files" ]
	[[ "$stderr" == "m: warning: 2 entries skipped by .sandformignore or the stack file's exclude:"* ]]
	printf '!team/new.draft.yaml\n' >>m/.sandformignore
	run --separate-stderr "$SANDFORM" validate m
	[ "$status" -eq 0 ]
	[ "$output" = "3 sandboxes in 3 files" ]
	[[ "$stderr" == *"1 entry skipped"* ]]
	# plan reads the same set
	run --separate-stderr "$SANDFORM" plan m --refresh=false
	[ "$status" -eq 0 ]
	[[ "$output" == *"Plan: 3 to create"* ]]
}

@test "the stack file's exclude: skips files under its sources" {
	cat >sandform.yaml <<'YAML'
apiVersion: sandform.dev/v1
kind: Stack
metadata: {name: mono}
spec:
  sources: [{path: m}]
  exclude: [ci, "*.draft.yaml"]
YAML
	run --separate-stderr "$SANDFORM" validate
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	[ "$output" = "2 sandboxes in 2 files" ]
	[[ "$stderr" == *"2 entries skipped"* ]]
	run --separate-stderr "$SANDFORM" plan --refresh=false
	[ "$status" -eq 0 ]
	[[ "$output" == *"Plan: 2 to create"* ]]
}

@test "a git source honours the .sandformignore at its root, and says so" {
	command -v git >/dev/null || skip "git is not installed"
	export HOME=$BATS_TEST_TMPDIR/home GIT_CONFIG_NOSYSTEM=1
	mkdir -p "$HOME"
	LSAN_OPTIONS="suppressions=$SF_SRCDIR/tests/e2e/lib/lsan-libgit2.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
	export LSAN_OPTIONS
	printf 'ci/\n' >m/.sandformignore
	git -C m init -q -b main
	git -C m add -A
	git -C m -c user.name=T -c user.email=t@example.com commit -q -m one
	run --separate-stderr "$SANDFORM" validate --git "file://$BATS_TEST_TMPDIR/m" --state s.db
	echo "$output $stderr"
	[ "$status" -eq 0 ]
	[[ "$output" == "3 sandboxes in 3 files at main@"* ]]
	[[ "$stderr" == *"warning: 1 entry skipped by .sandformignore or the stack file's exclude:"* ]]
}
