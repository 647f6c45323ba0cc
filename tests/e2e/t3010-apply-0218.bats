#!/usr/bin/env bats
# The 0.218 sandbox fields against daytona-emulator (issue 14): a create
# sends them, the next plan is empty; ttlMinutes, autoPauseInterval and the
# platform secrets change in place; kvm and outboundProxyUrl replace (a
# proxy URL's credentials, set outside sandform, never printed or kept);
# state: paused pauses a linux-vm
# sandbox and is refused for a container one; the live class is shown; an
# imported sandbox's image is compared with its build info's FROM line.

bats_require_minimum_version 1.5.0

load lib/emulator
load lib/apply

setup() { apply_setup --transition-ms 30; }
teardown() { emu_stop; }

# vm EXTRA: m/vm.yaml, a sandbox of the emulator's linux-vm snapshot.
vm() {
	printf '%s\n' 'apiVersion: sandform.dev/v1' 'kind: Sandbox' \
		'metadata: {name: vm}' 'spec:' '  snapshot: daytona-vm' \
		"$@" >m/vm.yaml
}

# requests METHOD PATH-SUFFIX: one "-" per matching request (the log has
# no bodies: what was sent is read back from the sandbox).
requests() {
	emu_requests | python3 -c '
import json, sys
for l in sys.stdin:
    if not l.strip():
        continue
    r = json.loads(l)
    if r["method"] == sys.argv[1] and r["path"].endswith(sys.argv[2]):
        print(r.get("body") or "-")
' "$1" "$2"
}

@test "create sends the 0.218 fields; the next plan is empty; the class is shown" {
	emu_secrets openai-key
	vm '  kvm: true' '  ttlMinutes: 60' '  autoPauseInterval: 30' \
		'  outboundProxyUrl: https://proxy.internal:3128' \
		'  secrets: {OPENAI_API_KEY: openai-key}'
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	[ "$(requests POST /api/sandbox)" = - ]
	live=$(emu_api GET /sandbox/vm)
	echo "$live"
	[ "$(echo "$live" | emu_json 'd["sandboxClass"]')" = linux-vm ]
	[ "$(echo "$live" | emu_json 'd["kvm"]')" = true ]
	[ "$(echo "$live" | emu_json 'd["autoPauseInterval"]')" = 30 ]
	[ "$(echo "$live" | emu_json 'd["autoStopInterval"]')" = 0 ]
	[ "$(echo "$live" | emu_json 'd["outboundProxyUrl"]')" = https://proxy.internal:3128 ]
	# autoDestroyAt: createdAt + 60 minutes
	[ "$(echo "$live" | emu_json 'round((__import__("datetime").datetime.fromisoformat(d["autoDestroyAt"][:19]) - __import__("datetime").datetime.fromisoformat(d["createdAt"][:19])).total_seconds() / 60)')" = 60 ]
	id=$(echo "$live" | emu_json 'd["id"]')
	[ "$(emu_hook GET "sandbox/$id" | emu_json 'd["secrets"]')" = '[{"OPENAI_API_KEY": "openai-key"}]' ]
	run --separate-stderr "$SANDFORM" plan m --detailed-exitcode
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"No changes."* ]]
	# the state shows the live class
	run "$SANDFORM" state show vm
	echo "$output"
	[[ "$output" == *'"sandboxClass":'*'"linux-vm"'* ]]
	run "$SANDFORM" state list --json
	[ "$(echo "$output" | emu_json 'd["records"][0]["sandbox_class"]')" = linux-vm ]
	# a change shows the class in the action's line
	vm '  kvm: true' '  ttlMinutes: 60' '  autoPauseInterval: 30' \
		'  outboundProxyUrl: https://proxy.internal:3128' \
		'  secrets: {OPENAI_API_KEY: openai-key}' '  public: true'
	run --separate-stderr "$SANDFORM" plan m
	[[ "$output" == *"~ vm (update)  m/vm.yaml:1  [class linux-vm]"* ]]
}

@test "ttlMinutes, autoPauseInterval and secrets change in place; the next plan is empty" {
	emu_secrets a b c
	vm '  ttlMinutes: 60' '  autoPauseInterval: 30' '  secrets: {A: a}'
	"$SANDFORM" apply m --auto-approve >/dev/null
	id=$(emu_api GET /sandbox/vm | emu_json 'd["id"]')
	vm '  ttlMinutes: 90' '  autoPauseInterval: 45' '  secrets: {A: b, B: c}'
	run --separate-stderr "$SANDFORM" plan m
	echo "$output"
	[[ "$output" == *"~ vm (update)"* ]]
	[[ "$output" == *"spec.ttlMinutes: 60 (autoDestroyAt "*") -> 90"* ]]
	[[ "$output" == *"spec.autoPauseInterval: 30 -> 45"* ]]
	[[ "$output" == *'spec.secrets.A: "a" -> "b"'* ]]
	[[ "$output" == *'spec.secrets.B: (none) -> "c"'* ]]
	[[ "$output" != *"forces replacement"* ]]
	emu_hook DELETE /requests >/dev/null
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	[ "$status" -eq 0 ]
	[ "$(emu_api GET /sandbox/vm | emu_json 'd["id"]')" = "$id" ]
	[ "$(requests POST /ttl/90)" = - ]
	[ "$(requests POST /autopause/45)" = - ]
	[ "$(requests PUT /secrets)" = - ]
	[ "$(creates_ok)" = 0 ]
	[ "$(emu_hook GET "sandbox/$id" | emu_json 'd["secrets"]')" = '[{"A": "b"}, {"B": "c"}]' ]
	run "$SANDFORM" plan m --detailed-exitcode
	[ "$status" -eq 0 ]
	# back to auto-stop: autopause goes to 0 before autostop leaves 0
	vm '  ttlMinutes: 0' '  autoStopInterval: 20' '  secrets: {}'
	emu_hook DELETE /requests >/dev/null
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	[ "$(emu_api GET /sandbox/vm | emu_json 'd["autoStopInterval"]')" = 20 ]
	[ "$(emu_api GET /sandbox/vm | emu_json 'd.get("autoDestroyAt")')" = null ]
	[ "$(requests PUT /secrets)" = - ]
	[ "$(emu_hook GET "sandbox/$id" | emu_json 'd["secrets"]')" = '[]' ]
	# autopause was set to 0 before autostop left 0 (the emulator refuses
	# both non-zero)
	order=$(emu_requests | python3 -c '
import json, sys
print(" ".join(json.loads(l)["path"].split("/", 4)[-1] for l in sys.stdin
               if "/autopause/" in l or "/autostop/" in l))')
	[ "$order" = "autopause/0 autostop/20" ]
	run "$SANDFORM" plan m --detailed-exitcode
	[ "$status" -eq 0 ]
}

@test "kvm and outboundProxyUrl are create-only: a change replaces" {
	vm '  kvm: true' '  outboundProxyUrl: http://proxy:3128'
	"$SANDFORM" apply m --auto-approve >/dev/null
	id=$(emu_api GET /sandbox/vm | emu_json 'd["id"]')
	vm '  kvm: false' '  outboundProxyUrl: http://proxy:3129'
	run --separate-stderr "$SANDFORM" plan m
	echo "$output"
	[[ "$output" == *"-/+ vm (replace)"* ]]
	[[ "$output" == *'spec.kvm: true -> false (forces replacement)'* ]]
	[[ "$output" == *'spec.outboundProxyUrl: "http://proxy:3128" -> "http://proxy:3129" (forces replacement)'* ]]
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	[ "$status" -eq 0 ]
	[ "$(emu_api GET /sandbox/vm | emu_json 'd["id"]')" != "$id" ]
	[ "$(emu_api GET /sandbox/vm | emu_json 'd["outboundProxyUrl"]')" = http://proxy:3129 ]
	run "$SANDFORM" plan m --detailed-exitcode
	[ "$status" -eq 0 ]
}

@test "a proxy URL with credentials set outside sandform: masked in plans, drift and the state, never kept" {
	emu_api POST /sandbox '{"name":"px","snapshot":"daytona-vm","outboundProxyUrl":"http://u:pxS3cretpw@proxy:3128"}' >/dev/null
	emu_wait_state px started
	id=$(emu_api GET /sandbox/px | emu_json 'd["id"]')
	"$SANDFORM" state import px "$id" >/dev/null
	printf '%s\n' 'apiVersion: sandform.dev/v1' 'kind: Sandbox' \
		'metadata: {name: px}' 'spec:' '  snapshot: daytona-vm' \
		'  outboundProxyUrl: http://proxy:3128' >m/px.yaml
	run --separate-stderr "$SANDFORM" plan m
	echo "$output"
	[[ "$output" == *"-/+ px (replace)"* ]]
	[[ "$output" == *'spec.outboundProxyUrl: "http://***@proxy:3128" -> "http://proxy:3128" (forces replacement)'* ]]
	run --separate-stderr "$SANDFORM" plan m --json --out saved.plan
	[[ "$output$stderr" != *pxS3cretpw* ]]
	run --separate-stderr "$SANDFORM" drift m
	[[ "$output$stderr" != *pxS3cretpw* ]]
	run "$SANDFORM" state show px
	echo "$output"
	[[ "$output" == *'http://***@proxy:3128'* ]]
	! grep -ra pxS3cretpw .sandform saved.plan
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	[ "$status" -eq 0 ]
	[ "$(emu_api GET /sandbox/px | emu_json 'd["outboundProxyUrl"]')" = http://proxy:3128 ]
	! grep -ra pxS3cretpw .sandform
}

@test "state: paused pauses a linux-vm sandbox, started resumes it; a container class is refused at plan time" {
	vm '  state: paused'
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	[ "$(emu_api GET /sandbox/vm | emu_json 'd["state"]')" = paused ]
	run "$SANDFORM" plan m --detailed-exitcode
	[ "$status" -eq 0 ]
	vm '  state: started' '  autoStopInterval: 0'
	run --separate-stderr "$SANDFORM" plan m
	[[ "$output" == *'> vm (start)'* ]]
	[[ "$output" == *'spec.state: "paused" -> "started"'* ]]
	"$SANDFORM" apply m --auto-approve >/dev/null
	[ "$(emu_api GET /sandbox/vm | emu_json 'd["state"]')" = started ]

	mk web
	"$SANDFORM" apply m --auto-approve >/dev/null
	mk web '  lifecycle: {preventDestroy: false}
  autoPauseInterval: 0'
	sed -i 's/  state: started/  state: paused/' m/web.yaml
	run --separate-stderr "$SANDFORM" plan m
	echo "$stderr"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"m/web.yaml:"*": state: paused: sandbox class 'container' cannot pause (expected a linux-vm, android or windows sandbox, or another state)"* ]]
	[ "$(emu_api GET /sandbox/web | emu_json 'd["state"]')" = started ]
}

@test "a new container sandbox with state: paused: apply refuses the pause, naming the class" {
	mk web
	sed -i 's/  state: started/  state: paused/' m/web.yaml
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	echo "$output$stderr"
	[ "$status" -eq 1 ]
	[[ "$output$stderr" == *"sandbox class 'container' cannot pause"* ]]
	[ "$(requests POST /pause)" = "" ]
}

@test "an imported sandbox's image is compared with its build info's FROM line" {
	emu_api POST /sandbox '{"name":"imp","buildInfo":{"dockerfileContent":"FROM python:3.11\n"},"labels":{"team":"t"}}' >/dev/null
	emu_wait_state imp started
	id=$(emu_api GET /sandbox/imp | emu_json 'd["id"]')
	"$SANDFORM" state import imp "$id" >/dev/null
	printf '%s\n' 'apiVersion: sandform.dev/v1' 'kind: Sandbox' \
		'metadata: {name: imp}' 'spec:' '  image: python:3.12' >m/imp.yaml
	run --separate-stderr "$SANDFORM" plan m
	echo "$output"
	[[ "$output" == *"-/+ imp (replace)"* ]]
	[[ "$output" == *'spec.image: "python:3.11" -> "python:3.12" (forces replacement)'* ]]
	sed -i 's/python:3.12/python:3.11/' m/imp.yaml
	run --separate-stderr "$SANDFORM" plan m
	echo "$output"
	[[ "$output" == *"~ imp (update)"* ]]
	[[ "$output" != *"spec.image"* ]]
}

@test "spot and gpuType: created as declared; reordering keeps it, a list without the live type or spot changed replaces" {
	gpu() {
		printf '%s\n' 'apiVersion: sandform.dev/v1' 'kind: Sandbox' \
			'metadata: {name: g}' 'spec:' '  image: nvidia/cuda:12' \
			'  resources: {gpu: 1}' '  autoDeleteInterval: 0' "$@" >m/g.yaml
	}
	gpu '  spot: true' '  gpuType: [RTX-4090, H100]'
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	live=$(emu_api GET /sandbox/g)
	[ "$(echo "$live" | emu_json 'd["spot"]')" = true ]
	[ "$(echo "$live" | emu_json 'd["gpuType"]')" = RTX-4090 ]
	run "$SANDFORM" plan m --detailed-exitcode
	[ "$status" -eq 0 ]
	gpu '  spot: true' '  gpuType: [H100, RTX-4090]'
	run "$SANDFORM" plan m --detailed-exitcode
	[ "$status" -eq 0 ]
	gpu '  spot: false' '  gpuType: H100'
	run --separate-stderr "$SANDFORM" plan m
	echo "$output"
	[[ "$output" == *"-/+ g (replace)"* ]]
	[[ "$output" == *'spec.spot: true -> false (forces replacement)'* ]]
	[[ "$output" == *'spec.gpuType: "RTX-4090" -> "H100" (forces replacement)'* ]]
}

@test "a platform secret the organization does not have is a plan error at its line (GET /secret)" {
	emu_secrets have-it
	vm '  secrets:' '    A: have-it' '    B: nope-1' '  autoStopInterval: 0'
	run --separate-stderr "$SANDFORM" plan m
	echo "$output$stderr"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"m/vm.yaml:8:8: spec.secrets.B: the organization has no secret 'nope-1' (expected the name of one of its secrets"* ]]
	[[ "$stderr" != *"have-it"* ]]
	[ "$(requests GET /api/secret)" = - ]
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	[ "$status" -eq 1 ]
	[ "$(requests POST /api/sandbox)" = "" ]
	emu_secrets nope-1
	run --separate-stderr "$SANDFORM" apply m --auto-approve
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	# a stack without platform secrets never asks
	asked=$(requests GET /api/secret | wc -l)
	vm '  autoStopInterval: 0'
	run --separate-stderr "$SANDFORM" plan m
	echo "$output$stderr"
	[ "$status" -eq 0 ]
	[ "$(requests GET /api/secret | wc -l)" -eq "$asked" ]
}
