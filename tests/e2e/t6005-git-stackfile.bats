#!/usr/bin/env bats
# Git sources named in a stack file (sandform.yaml): validate, plan, apply
# and destroy read them with no operand, next to path sources; --offline
# applies to them; a bad git source is refused at its line and column.

bats_require_minimum_version 1.5.0

load lib/emulator
load lib/sandbox
load lib/gitserver

setup() {
	gitsrv_setup
	gsbx web
	gpush one
	mkdir -p site/local
	cd site
	printf 'apiVersion: sandform.dev/v1\nkind: Sandbox\nmetadata:\n  name: tool\nspec:\n  image: nginx:1\n' >local/tool.yaml
	cat >sandform.yaml <<YAML
apiVersion: sandform.dev/v1
kind: Stack
metadata:
  name: gitstack
spec:
  sources:
    - git:
        url: ../srv/infra.git
        ref: {branch: main}
        path: deploy
    - path: local
YAML
}

teardown() {
	gitsrv_teardown
	emu_stop
}

@test "validate, plan and apply read the stack file's git source with no operand" {
	local c1
	c1=$(ghead)
	run --separate-stderr "$SANDFORM" validate
	[ "$status" -eq 0 ]
	[ "$output" = "2 sandboxes in 2 files" ]
	emu_start --transition-ms 20
	run --separate-stderr "$SANDFORM" plan
	[ "$status" -eq 0 ]
	[[ "$output" == *"+ web (create)  main@sha1:$c1:deploy/web.yaml:1"* ]]
	[[ "$output" == *"+ tool (create)"* ]]
	run --separate-stderr "$SANDFORM" apply --auto-approve
	[ "$status" -eq 0 ]
	[ "$(emu_api GET /sandbox | json 'sorted(s["name"] for s in d["items"])')" = "['tool', 'web']" ]
	# the run is recorded against the repository and its commit
	[ "$("$SANDFORM" state history --json | json '[r["git_commit"] for r in d["runs"] if r["command"] == "apply"]')" = "['$c1']" ]
	# a push is picked up by the next plan
	gsbx api
	gpush two
	run --separate-stderr "$SANDFORM" plan
	[[ "$output" == *"+ api (create)  main@sha1:$(ghead):deploy/api.yaml:1"* ]]
	# --offline: the revision the cache has, nothing fetched
	run --separate-stderr "$SANDFORM" plan --offline
	[ "$status" -eq 0 ]
	[[ "$output" == *"+ api (create)"* ]]
	# destroy reads the sources too (what they protect), then deletes all
	run --separate-stderr "$SANDFORM" destroy --auto-approve
	[ "$status" -eq 0 ]
	[ "$(emu_api GET /sandbox | json 'len(d["items"])')" = 0 ]
}

@test "a bad git source in the stack file is refused at its position" {
	cat >sandform.yaml <<'YAML'
apiVersion: sandform.dev/v1
kind: Stack
metadata:
  name: gitstack
spec:
  sources:
    - git:
        url: ../srv/infra.git
        ref: {semver: banana}
        verify: {mode: sometimes, allowedSigners: signers}
    - git: {ref: main}
    - git: {url: ../srv/infra.git, ref: {tag: v1, branch: main}, auth: {token: x}}
YAML
	run --separate-stderr "$SANDFORM" validate
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"sandform.yaml:9:23: spec.sources[0].git.ref.semver: 'banana' is not a semver range"* ]]
	[[ "$stderr" == *"sandform.yaml:10:24: spec.sources[0].git.verify.mode: unknown mode 'sometimes' (expected none, head, tag or tag-and-head)"* ]]
	[[ "$stderr" == *"sandform.yaml:11:12: spec.sources[1].git: missing url"* ]]
	[[ "$stderr" == *"sandform.yaml:12:41: spec.sources[2].git.ref: more than one ref (expected one of branch, tag, semver, commit)"* ]]
	[[ "$stderr" == *"spec.sources[2].git.auth.token: unknown key"* ]]
	# a plain ref is read as --ref is
	sed -i '9s/ref: .*/ref: "semver:>=1 <2"/; 10d; 11,12d' sandform.yaml
	run --separate-stderr "$SANDFORM" validate
	[[ "$stderr" != *"spec.sources[0]"* ]]
}

@test "a git source that cannot be fetched changes nothing" {
	sed -i 's|url: ../srv/infra.git|url: ../srv/missing.git|' sandform.yaml
	emu_start --transition-ms 20
	run --separate-stderr "$SANDFORM" apply --auto-approve
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"missing.git"* ]]
	[ "$(emu_api GET /sandbox | json 'len(d["items"])')" = 0 ]
}
