#!/usr/bin/env bats
# Stacks (issue 10): the stack file, the named-stack rule (two projects
# that never named a stack cannot delete each other's sandboxes by
# following any message), global options, plans without the production
# secrets, the plan's create/replace/out-of-band output, --target,
# --replace, prune and the mass-delete threshold.

bats_require_minimum_version 1.5.0

load lib/emulator
load lib/plan

setup() {
	plan_setup
	unset SANDFORM_STACK
}
teardown() { emu_stop; }

# project DIR NAME...: a project directory with one manifest per name
project() {
	local dir=$1 n
	shift
	mkdir -p "$dir/m"
	for n in "$@"; do
		sandbox_yaml "$n" agents >"$dir/m/$n.yaml"
	done
}

@test "init writes a stack file; plan and apply below it need no --stack" {
	mkdir app && cd app
	run --separate-stderr "$SANDFORM" init
	[ "$status" -eq 0 ]
	[[ "$output" == "Wrote sandboxes/example.yaml (an example sandbox)."* ]]
	name=$(sed -n 's/^  name: //p' sandform.yaml)
	[[ "$name" =~ ^app-[0-9a-f]{4}$ ]]
	grep -q 'path: sandboxes' sandform.yaml
	# a second init refuses; another project directory gets another name
	run --separate-stderr "$SANDFORM" init
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"sandform.yaml already exists"* ]]
	mkdir -p ../other/app && (cd ../other/app && "$SANDFORM" init >/dev/null)
	[ "$(sed -n 's/^  name: //p' ../other/app/sandform.yaml)" != "$name" ]
	# from a subdirectory: the stack file is found upwards
	mkdir -p deep/er && cd deep/er
	run --separate-stderr "$SANDFORM" apply --auto-approve
	[ "$status" -eq 0 ]
	[ "$(emu_api GET /sandbox | json '[i["labels"]["sandform.dev/stack"] for i in d["items"]]')" = "['$name']" ]
	run --separate-stderr "$SANDFORM" plan --detailed-exitcode
	[ "$status" -eq 0 ]
	[ -f ../../.sandform/state.db ] || [ -f .sandform/state.db ]
}

@test "two projects without a stack name: neither can change the other's sandboxes" {
	project a web api
	project b api2
	# A names nothing: plan works (read only), apply refuses, and no
	# message suggests a name both could take
	cd a
	run --separate-stderr "$SANDFORM" plan m
	[ "$status" -eq 0 ]
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"no stack is named"*"--stack NAME"*"sandform init"* ]]
	[[ "$stderr" != *default* ]]
	[ "$(emu_api GET /sandbox | json 'len(d["items"])')" = 0 ]
	# following the advice: A gets a stack of its own
	"$SANDFORM" init >/dev/null
	sed -i 's/path: sandboxes/path: m/' sandform.yaml
	rm -rf sandboxes
	"$SANDFORM" apply --auto-approve >/dev/null
	[ "$(emu_api GET /sandbox | json 'len(d["items"])')" = 2 ]
	# B, with its own fresh state and nothing named, sees none of A's
	# and cannot delete them whatever it follows
	cd ../b
	run --separate-stderr "$SANDFORM" plan m --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json '[(a["name"], a["action"]) for a in d["actions"]]')" = "[('api2', 'create')]" ]
	run --separate-stderr "$SANDFORM" destroy --auto-approve
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"no stack is named"* ]]
	# B named too (init): A's sandboxes stay out of its plans
	"$SANDFORM" init >/dev/null
	sed -i 's/path: sandboxes/path: m/' sandform.yaml
	rm -rf sandboxes m/api2.yaml
	run --separate-stderr "$SANDFORM" apply --auto-approve --allow-mass-delete
	[ "$status" -eq 0 ]
	[ "$(emu_api GET /sandbox | json 'sorted(i["name"] for i in d["items"])')" = "['api', 'web']" ]
}

@test "the mass-delete guard points at a stack of its own first" {
	sbx web
	sbx api
	"$SANDFORM" apply m --stack shared --auto-approve >/dev/null
	rm m/*.yaml
	sbx other
	run --separate-stderr "$SANDFORM" plan m --stack shared
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"refusing to delete 2 of the 2 sandboxes of stack 'shared' (more than 50%): if they belong to another project, give this project a stack of its own (--stack NAME, or 'sandform init')"* ]]
	# a stack file can set the threshold; 100 allows deleting them all
	printf 'apiVersion: sandform.dev/v1\nkind: Stack\nmetadata: {name: shared}\nspec:\n  sources: [{path: m}]\n  massDelete: {threshold: 100}\n' >sandform.yaml
	run --separate-stderr "$SANDFORM" plan
	[ "$status" -eq 0 ]
	[[ "$output" == *"Plan: 1 to create, 0 to update, 0 to replace, 2 to delete."* ]]
}

@test "global options before the command; SANDFORM_STACK; a saved plan's stack" {
	sbx web
	run --separate-stderr "$SANDFORM" --stack g1 --json plan m
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json 'd["stack"]')" = g1 ]
	SANDFORM_STACK=g2 run --separate-stderr "$SANDFORM" plan m --json
	[ "$(echo "$output" | json 'd["stack"]')" = g2 ]
	# --stack wins over the environment
	SANDFORM_STACK=g2 run --separate-stderr "$SANDFORM" plan m --json --stack g3
	[ "$(echo "$output" | json 'd["stack"]')" = g3 ]
	# a saved plan needs a named stack, and applies to its own
	run --separate-stderr "$SANDFORM" plan m --out p.json
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"no stack is named, and --out needs one"* ]]
	"$SANDFORM" plan m --stack g1 --out p.json >/dev/null
	run --separate-stderr "$SANDFORM" apply p.json --auto-approve --stack g3
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"p.json is a plan for stack 'g1', not 'g3' (--stack)"* ]]
	run --separate-stderr "$SANDFORM" apply p.json --auto-approve
	[ "$status" -eq 0 ]
	[ "$(emu_api GET /sandbox | json '[i["labels"]["sandform.dev/stack"] for i in d["items"]]')" = "['g1']" ]
}

@test "a plan without the production secrets: planned, the secret not compared; apply needs it" {
	export SANDFORM_STACK=pr
	sbx web '  env: {TOKEN: {secretEnv: SF_PR_TOKEN}, MODE: fast}'
	sbx api '  env: {TOKEN: {secretEnv: SF_PR_TOKEN}}'
	SF_PR_TOKEN=v1 "$SANDFORM" apply m/web.yaml --auto-approve >/dev/null
	unset SF_PR_TOKEN
	# web exists (its secret cannot be compared), api is a create
	run --separate-stderr "$SANDFORM" plan m --detailed-exitcode
	[ "$status" -eq 2 ]
	[[ "$output" == *"  + api (create)"*"spec.env.TOKEN: (sensitive)"*"spec.env.TOKEN: (secret not available: not compared)"* ]]
	[[ "$output" == *"    web (no changes but)"$'\n'"      spec.env.TOKEN: (secret not available: not compared)"* ]]
	run --separate-stderr "$SANDFORM" plan m --json
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | json 'd["secrets_not_compared"]')" = "{'api': ['TOKEN'], 'web': ['TOKEN']}" ]
	# a saved plan must be complete
	run --separate-stderr "$SANDFORM" plan m --out p.json
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"not writing 'p.json': secrets of 2 sandboxes were not available"* ]]
	[ ! -e p.json ]
	# apply resolves every secret before the first call
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"secretEnv variable 'SF_PR_TOKEN' is not set"* ]]
	[ "$(emu_api GET /sandbox | json 'len(d["items"])')" = 1 ]
	# a literal that looks like a variable is warned about
	sbx lit '  env: {TOKEN: "${SF_PR_TOKEN}"}'
	run --separate-stderr "$SANDFORM" validate m/lit.yaml
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"spec.env.TOKEN: '\${SF_PR_TOKEN}' is taken literally"*"secretEnv"* ]]
}

@test "the plan: a create lists what it sends; a replace every difference; changes outside sandform apart" {
	export SANDFORM_STACK=out
	sbx web '  env: {MODE: fast, KEY: {secretEnv: SF_OUT_KEY}}
  public: false
  resources: {}'
	export SF_OUT_KEY=k
	run --separate-stderr "$SANDFORM" plan m
	[[ "$output" == *"      spec.snapshot: \"daytona-small\""*"      spec.env.KEY: (sensitive)"*"      spec.env.MODE: \"fast\""*"      spec.public: false"*"      spec.state: \"started\""* ]]
	[[ "$output" == *"metadata.labels.team: \"agents\""* ]]
	"$SANDFORM" apply m --auto-approve >/dev/null
	# someone makes it public outside sandform
	emu_hook POST /sandbox/web '{"public":true}' >/dev/null
	run --separate-stderr "$SANDFORM" plan m
	[[ "$output" == "Changed outside sandform (the plan below puts them back):"$'\n'"    web (settings) spec.public: false -> true"* ]]
	run --separate-stderr "$SANDFORM" plan m --json
	[ "$(echo "$output" | json '[(r["field"], r["category"], r["origin"]) for r in d["actions"][0]["reasons"]]')" = "[('spec.public', 'settings', 'out-of-band')]" ]
	# a replace (a new user) lists the other differences too, marked
	sed -i 's/  public: false/  public: false\n  user: root/' m/web.yaml
	run --separate-stderr "$SANDFORM" plan m
	[[ "$output" == *"-/+ web (replace"* ]]
	[[ "$output" == *"spec.user: \"daytona\" -> \"root\" (forces replacement)"* ]]
	[[ "$output" == *"spec.public: true -> false"$'\n'* ]]
	[[ "$output" == *"Plan: 0 to create, 0 to update, 1 to replace, 0 to delete."* ]]
}

@test "--target plans and applies only the named sandboxes; --replace forces one" {
	export SANDFORM_STACK=tg
	sbx web
	sbx api
	run --separate-stderr "$SANDFORM" apply m --auto-approve --target web
	[ "$status" -eq 0 ]
	[ "$(emu_api GET /sandbox | json '[i["name"] for i in d["items"]]')" = "['web']" ]
	run --separate-stderr "$SANDFORM" plan m --json --target api
	[ "$(echo "$output" | json '[(a["name"], a["action"]) for a in d["actions"]], d["targets"]')" = "([('api', 'create')], ['api'])" ]
	"$SANDFORM" apply m --auto-approve >/dev/null
	old=$(emu_api GET /sandbox/web | json 'd["id"]')
	# nothing forces it: --replace does
	run --separate-stderr "$SANDFORM" plan m --replace web
	[[ "$output" == *"-/+ web (replace"*"sandbox: \"$old\" -> (replaced); asked for with --replace (forces replacement)"* ]]
	"$SANDFORM" apply m --auto-approve --replace web >/dev/null
	[ "$(emu_api GET /sandbox/web | json 'd["id"]')" != "$old" ]
	run --separate-stderr "$SANDFORM" plan m --replace nosuch
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"--replace nosuch: stack 'tg' has no sandbox of that name"* ]]
	run --separate-stderr "$SANDFORM" plan m --target nosuch
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"--target nosuch: stack 'tg' has no manifest or sandbox of that name"* ]]
	run --separate-stderr "$SANDFORM" destroy --auto-approve --target nosuch
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"--target nosuch: stack 'tg' has no sandbox of that name"* ]]
	# destroy --target deletes only that one
	"$SANDFORM" destroy --auto-approve --target api >/dev/null
	[ "$(emu_api GET /sandbox | json '[i["name"] for i in d["items"]]')" = "['web']" ]
}

@test "prune: false keeps sandboxes whose manifests are gone" {
	sbx web
	sbx api
	printf 'apiVersion: sandform.dev/v1\nkind: Stack\nmetadata: {name: keep}\nspec:\n  sources: [{path: m}]\n  prune: false\n' >sandform.yaml
	"$SANDFORM" apply --auto-approve >/dev/null
	rm m/api.yaml
	run --separate-stderr "$SANDFORM" plan --detailed-exitcode
	[ "$status" -eq 0 ]
	[[ "$output" == *"note: 1 sandbox no longer in the manifests is kept (prune: false)"* ]]
	# a stack file with an error names its line
	printf 'apiVersion: sandform.dev/v1\nkind: Stack\nmetadata: {name: keep}\nspec:\n  prune: maybe\n' >sandform.yaml
	run --separate-stderr "$SANDFORM" plan
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"sandform.yaml:5:10: spec.prune: 'maybe' is not a boolean (expected true or false)"* ]]
}
