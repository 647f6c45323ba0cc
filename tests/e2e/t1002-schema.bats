#!/usr/bin/env bats
# sandform schema: the JSON Schema of the manifest kinds. The shipped
# docs/sandform.schema.json is its output; every example manifest, the
# full examples of docs/manifest.md and what `sandform init` writes are
# valid against it; manifests that sandform validate refuses for a value
# of their own are refused by the schema too. Documents are read with
# sandform's YAML parser (tests/yaml2json) and checked by a stdlib-only
# checker (lib/schema_check.py; also by the jsonschema module if present).

bats_require_minimum_version 1.5.0

setup() {
	SCHEMA="$SF_SRCDIR/docs/sandform.schema.json"
	Y2J="$SF_BUILDDIR/tests/yaml2json"
	CHECK="$SF_SRCDIR/tests/e2e/lib/schema_check.py"
	cd "$BATS_TEST_TMPDIR"
}

# check FILE: the schema check of every document in FILE.
check() {
	"$Y2J" "$1" >"$1.json" && python3 "$CHECK" "$SCHEMA" "$1.json"
}

@test "schema prints the shipped docs/sandform.schema.json" {
	run --separate-stderr "$SANDFORM" schema
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	printf '%s\n' "$output" >printed.json
	diff -u "$SCHEMA" printed.json
	python3 -c 'import json, sys; d = json.load(open(sys.argv[1]))
assert d["$schema"] == "http://json-schema.org/draft-07/schema#"
assert set(d["definitions"]) >= {"Sandbox", "Stack"}' printed.json
	run "$SANDFORM" schema extra
	[ "$status" -eq 1 ]
	run "$SANDFORM" --help
	[[ "$output" == *"schema "*"JSON Schema"* ]]
}

@test "every file in examples/ is valid against the schema" {
	n=0
	while IFS= read -r f; do
		cp "$f" "ex$n.yaml"
		run check "ex$n.yaml"
		echo "$f: $output"
		[ "$status" -eq 0 ]
		n=$((n + 1))
	# as sandform walks them: hidden entries (examples/deploy/.github,
	# .gitlab-ci.yml) are other tools' files
	done < <(find "$SF_SRCDIR/examples" -name '.*' -prune -o \( -name '*.yaml' -o -name '*.yml' \) -print)
	[ "$n" -ge 3 ]
}

@test "the full examples of docs/manifest.md and init's files are valid" {
	awk '/^```yaml/ { n++; f = "doc" n ".yaml"; next }
	     /^```/ { f = ""; next }
	     f { print > f }' "$SF_SRCDIR/docs/manifest.md"
	grep -q 'kind: Sandbox' doc1.yaml
	grep -q 'kind: Stack' doc2.yaml
	for f in doc1.yaml doc2.yaml; do
		run check "$f"
		echo "$f: $output"
		[ "$status" -eq 0 ]
	done
	mkdir proj && cd proj
	"$SANDFORM" init >/dev/null
	for f in sandform.yaml sandboxes/*.yaml; do
		run check "$f"
		echo "$f: $output"
		[ "$status" -eq 0 ]
	done
}

# bad NAME PATH YAML: a manifest both sandform validate and the schema
# refuse, the schema naming PATH.
bad() {
	printf '%s\n' "$3" >"$1.yaml"
	run "$SANDFORM" --no-stack-file validate "$1.yaml"
	echo "validate: $output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$2"* ]]
	run check "$1.yaml"
	echo "schema: $output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"$2"* ]]
}

HEAD='apiVersion: sandform.dev/v1
kind: Sandbox
metadata:
  name: s'

@test "the schema rejects what validate rejects value by value" {
	bad key spec.replica "$HEAD
spec:
  replica: 2"
	bad range spec.resources.cpu "$HEAD
spec:
  image: a
  resources: {cpu: 100}"
	bad quoted spec.resources.memory "$HEAD
spec:
  image: a
  resources: {memory: \"2\"}"
	bad state spec.state "$HEAD
spec:
  state: running"
	bad secret spec.env.K "$HEAD
spec:
  env: {K: {secretEnv: 1BAD}}"
	bad cidr spec.network.allowList "$HEAD
spec:
  network: {allowList: [10.0.0.0/33]}"
	bad reserved metadata.labels "$HEAD
  labels: {sandform.dev/stack: x}"
	bad kind kind 'apiVersion: sandform.dev/v1
kind: Sandbx
metadata: {name: s}'
	bad version apiVersion 'apiVersion: sandform.dev/v2
kind: Sandbox
metadata: {name: s}'
	bad stack spec.parallelism 'apiVersion: sandform.dev/v1
kind: Stack
metadata: {name: st}
spec:
  parallelism: 0'
	bad stackname metadata.name 'apiVersion: sandform.dev/v1
kind: Stack
metadata: {name: -st}'
	# the 0.218 fields (issue 14)
	bad gputype spec.gpuType "$HEAD
spec:
  gpuType: [A100]"
	bad ttl spec.ttlMinutes "$HEAD
spec:
  ttlMinutes: -1"
	bad secrets spec.secrets "$HEAD
spec:
  secrets: {1BAD: name}"
	bad domain spec.network.domainAllowList "$HEAD
spec:
  network: {domainAllowList: [example.123]}"
	bad domain2 spec.network.domainAllowList "$HEAD
spec:
  network: {domainAllowList: [a.b]}"
	bad secretname spec.secrets "$HEAD
spec:
  secrets: {GH: 1bad}"
	bad spot spec.spot "$HEAD
spec:
  spot: sometimes"
}

@test "the 0.218 sandbox fields and state: paused are valid against the schema" {
	cat >new.yaml <<-'EOF'
	apiVersion: sandform.dev/v1
	kind: Sandbox
	metadata: {name: gpu}
	spec:
	  image: nvidia/cuda:12
	  resources: {gpu: 1}
	  autoDeleteInterval: 0
	  ttlMinutes: 90
	  spot: true
	  gpuType: [H100, RTX-PRO-6000]
	  outboundProxyUrl: http://proxy.internal:3128
	  secrets: {OPENAI_API_KEY: openai-key}
	---
	apiVersion: sandform.dev/v1
	kind: Sandbox
	metadata: {name: vm}
	spec:
	  snapshot: ubuntu-vm
	  kvm: true
	  state: paused
	  autoPauseInterval: 30
	  gpuType: null
	EOF
	run check new.yaml
	echo "$output"
	[ "$status" -eq 0 ]
	run "$SANDFORM" --no-stack-file validate new.yaml
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "kind Volume and kind Snapshot: valid ones pass, what validate refuses the schema refuses" {
	cat >res.yaml <<-'EOF'
	apiVersion: sandform.dev/v1
	kind: Volume
	metadata: {name: data}
	spec:
	  lifecycle: {preventDestroy: true}
	---
	apiVersion: sandform.dev/v1
	kind: Snapshot
	metadata: {name: py}
	spec:
	  image: python:3.12
	  resources: {cpu: 2, memory: 4, disk: 8, gpu: 0}
	  region: us
	  sandboxClass: linux-vm
	---
	apiVersion: sandform.dev/v1
	kind: Snapshot
	metadata: {name: built}
	spec:
	  build: {dockerfile: "FROM python:3.12\nRUN true\n"}
	EOF
	run check res.yaml
	echo "$output"
	[ "$status" -eq 0 ]
	run "$SANDFORM" --no-stack-file validate res.yaml
	[ "$status" -eq 0 ]
	bad volkey spec.size 'apiVersion: sandform.dev/v1
kind: Volume
metadata: {name: v}
spec: {size: 10}'
	bad snapclass spec.sandboxClass 'apiVersion: sandform.dev/v1
kind: Snapshot
metadata: {name: s}
spec: {image: a, sandboxClass: vm}'
	bad snapcpu spec.resources.cpu 'apiVersion: sandform.dev/v1
kind: Snapshot
metadata: {name: s}
spec: {image: a, resources: {cpu: 0}}'
}
