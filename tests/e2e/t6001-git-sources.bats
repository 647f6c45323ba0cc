#!/usr/bin/env bats
# Git sources over file:// and git:// (git daemon): every ref kind, plan and
# apply against daytona-emulator with provenance, a push and a force-push
# between plans, the failures that change nothing, --offline, the cache
# (no-op refresh, shared by concurrent runs, re-created when damaged) and a
# saved plan whose ref moved.

bats_require_minimum_version 1.5.0

load lib/emulator
load lib/sandbox
load lib/gitserver

setup() {
	gitsrv_setup
	gsbx web
	gpush one
	URL=file://$GITSRV_ROOT/infra.git
}

teardown() {
	gitsrv_teardown
	emu_stop
}

# rev_of: the revision validate names (its summary line).
rev_of() {
	"$SANDFORM" validate --git "$URL" "$@" 2>/dev/null | sed -n 's/.* at //p'
}

@test "each ref kind resolves to its revision" {
	local c1 c2
	c1=$(ghead)
	gtag v1.2.0
	gtag v1.4.0 -a -m "release 1.4.0"
	gsbx api
	gpush two
	c2=$(ghead)
	gtag v2.0.0
	gtag v1.5.0-rc.1
	# the remote's HEAD: its default branch
	[ "$(rev_of)" = "main@sha1:$c2" ]
	[ "$(rev_of --ref main)" = "main@sha1:$c2" ]
	[ "$(rev_of --ref branch:main)" = "main@sha1:$c2" ]
	[ "$(rev_of --ref tag:v1.2.0)" = "v1.2.0@sha1:$c1" ]
	# an annotated tag names the commit it points to
	[ "$(rev_of --ref v1.4.0)" = "v1.4.0@sha1:$c1" ]
	# the highest tag in the range; a release candidate is not picked
	[ "$(rev_of --ref 'semver:>=1.2.0 <2.0.0')" = "v1.4.0@sha1:$c1" ]
	[ "$(rev_of --ref 'semver:^1')" = "v1.4.0@sha1:$c1" ]
	[ "$(rev_of --ref 'semver:>=1.0.0')" = "v2.0.0@sha1:$c2" ]
	[ "$(rev_of --ref "commit:$c1")" = "sha1:$c1" ]
	[ "$(rev_of --ref "$c1")" = "sha1:$c1" ]
	# the files of that revision: one sandbox at v1.2.0, two at HEAD
	run --separate-stderr "$SANDFORM" validate --git "$URL" --ref v1.2.0
	[ "$status" -eq 0 ]
	[ "$output" = "1 sandbox in 1 file at v1.2.0@sha1:$c1" ]
}

@test "plan and apply from git: provenance, a push between plans, state history" {
	local c1 c2
	emu_start --transition-ms 20
	c1=$(ghead)
	run --separate-stderr "$SANDFORM" plan --git "$URL" --ref main
	[ "$status" -eq 0 ]
	[[ "$output" == *"+ web (create)  main@sha1:$c1:deploy/web.yaml:1"* ]]
	run --separate-stderr "$SANDFORM" apply --git "$URL" --ref main --auto-approve
	[ "$status" -eq 0 ]
	run --separate-stderr "$SANDFORM" plan --git "$URL" --ref main --detailed-exitcode
	[ "$status" -eq 0 ]
	# a push: the next plan has the new sandbox, from the new revision
	gsbx api
	gpush two
	c2=$(ghead)
	run --separate-stderr "$SANDFORM" plan --git "$URL" --ref main --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json '[(a["name"], a["action"], a["source"]) for a in d["actions"]]')" = "[('api', 'create', 'main@sha1:$c2:deploy/api.yaml:1')]" ]
	# the runs record the URL and the commit
	run --separate-stderr "$SANDFORM" state history --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json '[(r["command"], r["source"], r["git_commit"]) for r in d["runs"]][:2]')" = "[('plan', '$URL', '$c2'), ('plan', '$URL', '$c1')]" ]
	[ "$(echo "$output" | json '[r["git_commit"] for r in d["runs"] if r["command"] == "apply"]')" = "['$c1']" ]
}

@test "a force-push: the plan follows the rewritten branch" {
	local c1 c2
	gsbx api
	gpush two
	c1=$(ghead)
	[ "$(rev_of --ref main)" = "main@sha1:$c1" ]
	# rewrite history: drop the last commit, make another
	git -C "$GITSRV_WORK" reset -q --hard HEAD~1
	gsbx db postgres:16
	gpush rewritten
	c2=$(ghead)
	[ "$c1" != "$c2" ]
	run --separate-stderr "$SANDFORM" validate --git "$URL" --ref main --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json '[s["name"] for s in d["sandboxes"]]')" = "['db', 'web']" ]
	[ "$(rev_of --ref main)" = "main@sha1:$c2" ]
}

@test "failures exit 1 with a clear message and change nothing" {
	emu_start --transition-ms 20
	run --separate-stderr "$SANDFORM" apply --git "$URL" --ref nope --auto-approve
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"no branch or tag 'nope'"* ]]
	run --separate-stderr "$SANDFORM" plan --git "$URL" --ref tag:v9
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"no tag 'v9'"* ]]
	run --separate-stderr "$SANDFORM" plan --git "$URL" --ref 'semver:>=3.0.0'
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"has no tag in the semver range '>=3.0.0'"* ]]
	run --separate-stderr "$SANDFORM" plan --git "$URL" --ref 'semver:>=x.y'
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"is not a semver range"* ]]
	run --separate-stderr "$SANDFORM" plan --git "$URL" --ref commit:0123456789012345678901234567890123456789
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"no commit 0123456789012345678901234567890123456789"* ]]
	run --separate-stderr "$SANDFORM" apply --git "$URL" --path nowhere --auto-approve
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"main@sha1:$(ghead):nowhere: no such file or directory at this revision"* ]]
	run --separate-stderr "$SANDFORM" plan --git "file://$BATS_TEST_TMPDIR/missing.git"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"missing.git"* ]]
	run --separate-stderr "$SANDFORM" plan --git "git://127.0.0.1:$(git_free_port)/infra.git"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"connecting to git://127.0.0.1:"* ]]
	# invalid manifests at that revision: every problem, located
	printf 'apiVersion: sandform.dev/v1\nkind: Sandbox\nmetadata:\n  name: bad\nspec:\n  image: x\n  replicas: 2\n' >"$GITSRV_WORK/deploy/bad.yaml"
	gpush bad
	run --separate-stderr "$SANDFORM" apply --git "$URL" --auto-approve
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"main@sha1:$(ghead):deploy/bad.yaml:7:3: spec.replicas: unknown key"* ]]
	# nothing was created
	[ "$(emu_api GET /sandbox | json 'len(d["items"])')" = 0 ]
	# --git options without --git, and --git with paths
	run --separate-stderr "$SANDFORM" plan --ref main
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"need --git URL"* ]]
	run --separate-stderr "$SANDFORM" plan deploy --git "$URL"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"give no PATH with it"* ]]
}

@test "a no-op refresh fetches nothing; --offline reads the cache and says so" {
	run --separate-stderr "$SANDFORM" validate --git "$URL" -v
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"fetching 1 refspec"* ]]
	run --separate-stderr "$SANDFORM" validate --git "$URL" -v
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"refs/heads/main has not moved; nothing to fetch"* ]]
	[[ "$stderr" != *"fetching"* ]]
	# offline: the remote is gone, the cache answers
	mv "$GITSRV_ROOT/infra.git" "$GITSRV_ROOT/gone.git"
	run --separate-stderr "$SANDFORM" validate --git "$URL" --offline
	[ "$status" -eq 0 ]
	[ "$output" = "1 sandbox in 1 file at main@sha1:$(ghead)" ]
	[[ "$stderr" == *"warning: offline: using the cached revision main@sha1:$(ghead); the remote was not asked"* ]]
	# nothing cached for that ref, or for that URL
	run --separate-stderr "$SANDFORM" validate --git "$URL" --offline --ref tag:v1
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"no tag 'v1' (run once without --offline)"* ]]
	run --separate-stderr "$SANDFORM" validate --git "file:///nowhere/x.git" --offline
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"no cached copy of file:///nowhere/x.git"* ]]
}

@test "git daemon: plan over git://, the cache shared by concurrent runs" {
	local i c
	gitd_start
	emu_start --transition-ms 20
	for i in 1 2 3 4 5 6; do gsbx "s$i"; done
	gpush six
	c=$(ghead)
	# four runs at once on an empty cache: one fetches, the others wait
	# for its lock and read the same revision
	local pids=()
	for i in 1 2 3 4; do
		"$SANDFORM" validate --git "$GITD_URL" -v >"out.$i" 2>"err.$i" &
		pids+=($!)
	done
	wait "${pids[@]}"
	for i in 1 2 3 4; do
		[ "$(cat "out.$i")" = "7 sandboxes in 7 files at main@sha1:$c" ]
	done
	[ "$(cat err.1 err.2 err.3 err.4 | grep -c 'fetching 1 refspec')" = 1 ]
	[ "$(ls .sandform/git | grep -c '\.git$')" = 1 ]
	run --separate-stderr "$SANDFORM" plan --git "$GITD_URL" --detailed-exitcode
	[ "$status" -eq 2 ]
	[[ "$output" == *"+ s1 (create)  main@sha1:$c:deploy/s1.yaml:1"* ]]
}

@test "a damaged cache is fetched again: objects, refs" {
	local git
	run "$SANDFORM" validate --git "$URL"
	[ "$status" -eq 0 ]
	git=$(ls -d .sandform/git/*.git)
	# objects: every pack and loose object overwritten with garbage
	find "$git/objects" -type f \( -name '*.pack' -o -path '*/objects/??/*' \) |
		while read -r f; do chmod u+w "$f"; printf 'garbage' >"$f"; done
	run --separate-stderr "$SANDFORM" validate --git "$URL" -v
	[ "$status" -eq 0 ]
	[ "$output" = "1 sandbox in 1 file at main@sha1:$(ghead)" ]
	[[ "$stderr" == *"is damaged"*"fetching it again"* ]]
	# refs: a ref that is not a ref
	printf 'not a ref\n' >"$git/refs/heads/main"
	run --separate-stderr "$SANDFORM" validate --git "$URL" -v
	[ "$status" -eq 0 ]
	[ "$output" = "1 sandbox in 1 file at main@sha1:$(ghead)" ]
	[[ "$stderr" == *"is damaged"* ]]
	# offline cannot fetch: it says so
	printf 'not a ref\n' >"$git/refs/heads/main"
	run --separate-stderr "$SANDFORM" validate --git "$URL" --offline
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"damaged"*"without --offline"* ]]
}

@test "a saved plan whose ref moved is refused with both revisions" {
	local c1 c2
	emu_start --transition-ms 20
	c1=$(ghead)
	run --separate-stderr "$SANDFORM" plan --git "$URL" --ref main --out p.json
	[ "$status" -eq 0 ]
	gsbx api
	gpush two
	c2=$(ghead)
	run --separate-stderr "$SANDFORM" apply p.json --git "$URL" --ref main --auto-approve
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"the plan was made at main@sha1:$c1 but main is now at main@sha1:$c2; nothing was changed: make a new plan"* ]]
	[ "$(emu_api GET /sandbox | json 'len(d["items"])')" = 0 ]
	# the ref back where it was: the reviewed plan applies
	git -C "$GITSRV_WORK" reset -q --hard "$c1"
	git -C "$GITSRV_WORK" push -q -f origin main 2>/dev/null
	run --separate-stderr "$SANDFORM" apply p.json --git "$URL" --ref main --auto-approve
	[ "$status" -eq 0 ]
	[ "$(emu_api GET /sandbox | json '[s["name"] for s in d["items"]]')" = "['web']" ]
}
