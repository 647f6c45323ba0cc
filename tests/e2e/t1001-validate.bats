#!/usr/bin/env bats
# sandform validate: loading files, directories and stdin, the summary and
# --json output, every error reported in file order, warnings, and the
# hostile-input defences (each pinned by a fixture).

bats_require_minimum_version 1.5.0

setup() {
	FIX="$SF_SRCDIR/tests/fixtures/manifests"
	cd "$BATS_TEST_TMPDIR"
}

# json EXPR: evaluate a Python expression over the JSON on stdin ("d").
json() {
	python3 -c 'import json, sys; d = json.load(sys.stdin); print(('"$1"'))'
}

sandbox() {
	printf 'apiVersion: sandform.dev/v1\nkind: Sandbox\nmetadata:\n  name: %s\n' "$1"
}

@test "a directory: recursive, *.yaml and *.yml only, hidden dirs skipped" {
	run --separate-stderr "$SANDFORM" validate "$FIX/valid"
	[ "$status" -eq 0 ]
	[ "$output" = "3 sandboxes in 2 files" ]
	# the started sandbox without autoStopInterval: 0 is only a warning
	[[ "$stderr" == *"b.yml:6:10: warning: spec.state: started with autoStopInterval 15 (the default):"* ]]
}

@test "singular summary, and the current directory by default" {
	sandbox solo > one.yaml
	run --separate-stderr "$SANDFORM" validate
	[ "$status" -eq 0 ]
	[ "$output" = "1 sandbox in 1 file" ]
	[ -z "$stderr" ]
}

@test "an empty directory is valid and says so" {
	mkdir empty
	run --separate-stderr "$SANDFORM" validate empty
	[ "$status" -eq 0 ]
	[ "$output" = "0 sandboxes in 0 files" ]
	[[ "$stderr" == *"warning: no *.yaml or *.yml files found"* ]]
}

@test "stdin with -, multi-document, empty documents ignored" {
	run bash -c '{ echo "---"; echo "# nothing"; echo "---"; printf "apiVersion: sandform.dev/v1\nkind: Sandbox\nmetadata: {name: a}\n---\napiVersion: sandform.dev/v1\nkind: Sandbox\nmetadata: {name: b}\n"; } | "$SANDFORM" validate -'
	[ "$status" -eq 0 ]
	[ "$output" = "2 sandboxes in 1 file" ]
}

@test "the examples are valid" {
	run "$SANDFORM" validate "$SF_SRCDIR/examples"
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^[0-9]+\ sandboxes\ in\ [0-9]+\ files$ ]]
	for d in browser-agent agent-pool gpu-job; do
		run "$SANDFORM" validate "$SF_SRCDIR/examples/$d"
		[ "$status" -eq 0 ]
	done
}

@test "--json prints the normalised set with secret references, never values" {
	export SF_FIXTURE_DB_PASSWORD=s3cr3t-value-that-must-not-leak
	run --separate-stderr "$SANDFORM" validate --json "$FIX/valid"
	[ "$status" -eq 0 ]
	[[ "$output" != *"s3cr3t"* ]]
	[[ "$stderr" != *"s3cr3t"* ]]
	[ "$(echo "$output" | json 'd["apiVersion"]')" = "sandform.dev/v1" ]
	[ "$(echo "$output" | json '[s["name"] for s in d["sandboxes"]]')" = "['team-b-agent', 'web', 'worker']" ]
	[ "$(echo "$output" | json 'd["sandboxes"][2]["env"]["DB_PASSWORD"]')" = "{'secretEnv': 'SF_FIXTURE_DB_PASSWORD'}" ]
	[ "$(echo "$output" | json 'd["sandboxes"][2]["env"]["TOKEN"]')" = "{'secretFile': '/run/secrets/token'}" ]
	[ "$(echo "$output" | json 'd["sandboxes"][2]["resources"]')" = "{'cpu': 1, 'memory': 2, 'disk': 3}" ]
	[ "$(echo "$output" | json 'd["sandboxes"][1]["source"]["line"]')" = "2" ]
	[ "$(echo "$output" | json 'len(d["files"])')" = "2" ]
}

@test "every error of the run, sorted, in the documented format (golden)" {
	cd "$FIX"
	run --separate-stderr "$SANDFORM" validate invalid
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	diff -u invalid.expected <(printf '%s\n' "$stderr")
}

@test "errors are sorted by file then line across arguments" {
	cd "$FIX"
	run --separate-stderr "$SANDFORM" validate invalid/two.yaml invalid/one.yaml
	[ "$status" -eq 1 ]
	printf '%s\n' "$stderr" | grep -v '^sandform validate:' | cut -d: -f1,2 > "$BATS_TEST_TMPDIR/got"
	sort -t: -k1,1 -k2,2n "$BATS_TEST_TMPDIR/got" | diff -u - "$BATS_TEST_TMPDIR/got"
	[ "$(head -1 "$BATS_TEST_TMPDIR/got")" = "invalid/one.yaml:6" ]
}

@test "duplicate names across files name both places" {
	cd "$FIX"
	run --separate-stderr "$SANDFORM" validate dupes
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"dupes/second.yaml:5:9: metadata.name: duplicate sandbox name 'twin' (also at dupes/first.yaml:4:9"* ]]
}

@test "a missing path and a fifo given by name are errors" {
	mkfifo pipe.yaml
	run --separate-stderr timeout 10 "$SANDFORM" validate nope.yaml pipe.yaml
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"nope.yaml: no such file or directory"* ]]
	[[ "$stderr" == *"pipe.yaml: not a regular file or directory"* ]]
}

@test "billion laughs: refused at the first alias, fast" {
	run --separate-stderr timeout 10 "$SANDFORM" validate "$FIX/hostile/billion-laughs.yaml"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"billion-laughs.yaml:7:12: metadata.labels.b[0]: YAML alias '*a' refused (expected the value written out"* ]]
}

@test "nesting deeper than the limit is refused" {
	run --separate-stderr timeout 10 "$SANDFORM" validate "$FIX/hostile/deep-nesting.yaml"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"deep-nesting.yaml:5:70: spec.env[0][0]"*"[0]: nesting deeper than 64 levels (expected at most 64)"* ]]
}

@test "NUL bytes, invalid UTF-8 and UTF-16 are refused with a position" {
	run --separate-stderr "$SANDFORM" validate "$FIX/hostile/nul-byte.yaml"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"nul-byte.yaml:4:12: NUL byte (expected UTF-8 text)"* ]]
	run --separate-stderr "$SANDFORM" validate "$FIX/hostile/invalid-utf8.yaml"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"invalid-utf8.yaml:5:23: invalid UTF-8"* ]]
	run --separate-stderr "$SANDFORM" validate "$FIX/hostile/utf16.yaml"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"utf16.yaml:1:1: invalid UTF-8"* ]]
}

@test "a file over the size limit is refused without reading it all" {
	sandbox big > big.yaml
	head -c 5000000 /dev/zero | tr '\0' '#' >> big.yaml
	run --separate-stderr "$SANDFORM" validate big.yaml
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"big.yaml: file too large (expected at most 4194304 bytes)"* ]]
	# the same through stdin
	run --separate-stderr bash -c '"$SANDFORM" validate - < big.yaml'
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"-: file too large"* ]]
}

@test "fifos, symlink loops and dangling links in a directory are skipped, never opened" {
	mkdir d
	sandbox real > d/real.yaml
	mkfifo d/fifo.yaml
	ln -s loop2.yaml d/loop1.yaml
	ln -s loop1.yaml d/loop2.yaml
	ln -s nowhere.yaml d/dangling.yaml
	ln -s real.yaml d/link.yaml
	ln -s .. d/up
	run --separate-stderr timeout 10 "$SANDFORM" validate d
	# link.yaml is the same file as real.yaml: loaded once (as link.yaml)
	[ "$status" -eq 0 ]
	[ "$output" = "1 sandbox in 1 file" ]
	[[ "$stderr" == *"d/fifo.yaml: warning: skipped: not a regular file"* ]]
	[[ "$stderr" == *"d/loop1.yaml: warning: skipped: symbolic link loop"* ]]
	[[ "$stderr" == *"d/dangling.yaml: warning: skipped: dangling symbolic link"* ]]
	[[ "$stderr" == *"d/real.yaml: warning: skipped: already loaded as d/link.yaml"* ]]
	# a copy is another file: its sandbox is a duplicate
	rm d/link.yaml
	cp d/real.yaml d/copy.yaml
	run --separate-stderr timeout 10 "$SANDFORM" validate d
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"d/real.yaml:4:9: metadata.name: duplicate sandbox name 'real' (also at d/copy.yaml:4:9"* ]]
}

@test "one file reached through overlapping paths is loaded once" {
	mkdir ov
	sandbox a > ov/a.yaml
	for args in "ov ov/a.yaml" "./ov ov" "ov/a.yaml ov/a.yaml" "ov ov/./a.yaml"; do
		# shellcheck disable=SC2086
		run --separate-stderr "$SANDFORM" validate $args
		[ "$status" -eq 0 ]
		[ "$output" = "1 sandbox in 1 file" ]
		[[ "$stderr" == *": warning: skipped: already loaded as "*"a.yaml"* ]]
		[[ "$stderr" != *duplicate* ]]
	done
}

@test "--json on invalid input: the diagnostics as JSON on stdout, exit 1" {
	cd "$FIX"
	run --separate-stderr "$SANDFORM" validate --json invalid
	[ "$status" -eq 1 ]
	[ "$(echo "$output" | json 'd["valid"]')" = "False" ]
	# one entry per line of the text form, same order
	[ "$(echo "$output" | json 'len(d["diagnostics"])')" = "$(grep -c '^invalid/' invalid.expected)" ]
	[ "$(echo "$output" | json 'd["diagnostics"][0]')" = "{'file': 'invalid/one.yaml', 'line': 6, 'column': 5, 'path': 'metadata.labels[\"sandform.dev/stack\"]', 'severity': 'error', 'message': \"label keys starting with 'sandform.dev/' are reserved for sandform (expected another key)\"}" ]
	# the text form still goes to stderr
	diff -u invalid.expected <(printf '%s\n' "$stderr")
	# a whole-file problem has no line, column or path
	run --separate-stderr "$SANDFORM" validate --json "$BATS_TEST_TMPDIR/missing.yaml"
	[ "$status" -eq 1 ]
	[ "$(echo "$output" | json '[d["diagnostics"][0][k] for k in ("line", "column", "path", "severity")]')" = "[None, None, None, 'error']" ]
}

@test "a tab used for indentation gets a hint saying so" {
	{ sandbox a; printf 'spec:\n\timage: x\n'; } > tab.yaml
	run --separate-stderr "$SANDFORM" validate tab.yaml
	[ "$status" -eq 1 ]
	[[ "$stderr" == "tab.yaml:6:1: spec: invalid YAML: "*" (expected spaces; tabs cannot indent YAML)"$'\n'* ]]
}

@test "a line indented too deep gets an indentation hint, not a quoting one" {
	{ sandbox a; printf 'spec:\n  image: x\n    user: daytona\n'; } > deep.yaml
	run --separate-stderr "$SANDFORM" validate deep.yaml
	[ "$status" -eq 1 ]
	[[ "$stderr" == "deep.yaml:7:9: spec: invalid YAML: mapping values are not allowed in this context (expected this line at the indentation of the keys beside it: indented deeper, it continues the value of the line above)"$'\n'* ]]
	# under metadata, with a blank line between
	printf 'apiVersion: sandform.dev/v1\nkind: Sandbox\nmetadata:\n  name: a\n\n    labels: {a: b}\n' > deep2.yaml
	run --separate-stderr "$SANDFORM" validate deep2.yaml
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"deep2.yaml:6:11: metadata: "*"(expected this line at the indentation of the keys beside it:"* ]]
	# a ': ' inside a value at the right indentation still wants quotes
	{ sandbox a; printf 'spec:\n  image: x\n  user: a: b\n'; } > colon.yaml
	run --separate-stderr "$SANDFORM" validate colon.yaml
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"(expected quotes around a value that contains ': ')"* ]]
}

@test "state: started with a refused autoStopInterval: its error, no warning" {
	{ sandbox a; printf 'spec:\n  state: started\n  autoStopInterval: 0x10\n'; } > b.yaml
	run --separate-stderr "$SANDFORM" validate b.yaml
	[ "$status" -eq 1 ]
	[ "$stderr" = "b.yaml:7:21: spec.autoStopInterval: '0x10' is not an integer (expected minutes, an integer >= 0; 0 = never)
sandform validate: 1 error, 0 warnings" ]
}

@test "every positioned message ends in what is expected: examples, fixtures, syntax errors" {
	local f y n=0
	# YAML syntax errors, libyaml's commonest, each in its own file
	for y in 'a: @x' 'spec:\n  image: a: b' 'spec:\n  env: [b' \
		'spec:\n  env: {b' 'spec: "b' 'spec:\n  b: 1\n c: 2' \
		'spec:\n  - x\n - y' 'a: "\\q"' 'a: \001' 'a\nb: c' 'a: &' \
		'spec:\n  cpu: 1\n\tmemory: 2' 'a: b\n---x'; do
		n=$((n + 1))
		printf "$y\n" > "syntax-$n.yaml"
	done
	for f in "$SF_SRCDIR"/examples "$SF_SRCDIR"/tests/fixtures/manifests/*/ syntax-*.yaml; do
		run --separate-stderr "$SANDFORM" validate "$f"
		printf '%s\n' "$stderr" | grep -E '^[^:]+:[0-9]+:[0-9]+: ' >> positioned || true
	done
	# every syntax file gave one, and the b.yml warning is among them
	[ "$(grep -c '^syntax-' positioned)" -eq "$n" ]
	grep -q 'b.yml:6:10: warning: spec.state: .*(expected autoStopInterval: 0' positioned
	if grep -Ev '(\(|; )expected .+\)$' positioned; then false; fi
	# a syntax error inside a field names it
	grep -qx 'syntax-12.yaml:3:1: spec.cpu: invalid YAML: .* (expected spaces; tabs cannot indent YAML)' positioned
}

@test "-v logs which files are loaded" {
	sandbox a > a.yaml
	run --separate-stderr "$SANDFORM" validate -v a.yaml
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"a.yaml"* ]]
}

@test "an unknown key or kind near a known one gets 'did you mean'" {
	printf '%s\n' 'apiVersion: sandform.dev/v1' 'kind: Sandbx' \
		'metadata:' '  name: x' 'spec:' '  imgae: a' \
		'  resources: {cpus: 2}' '  replicas: 3' >typo.yaml
	run --separate-stderr "$SANDFORM" --no-stack-file validate typo.yaml
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"typo.yaml:2:7: kind: unsupported kind 'Sandbx'; did you mean 'Sandbox'? (expected Sandbox, Volume, Snapshot, Stack)"* ]]
	[[ "$stderr" == *"typo.yaml:6:3: spec.imgae: unknown key; did you mean 'image'? (expected one of image, snapshot,"* ]]
	[[ "$stderr" == *"spec.resources.cpus: unknown key; did you mean 'cpu'? (expected one of cpu, memory, disk, gpu)"* ]]
	# nothing near: no guess
	[[ "$stderr" == *"spec.replicas: unknown key (expected one of"* ]]
	printf '%s\n' 'apiVersion: sandform.dev/v1' 'kind: Stack' \
		'metadata: {name: st}' 'spec: {parallelsm: 2}' >sandform.yaml
	run --separate-stderr "$SANDFORM" validate sandform.yaml
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"spec.parallelsm: unknown key; did you mean 'parallelism'?"* ]]
}

@test "image: or snapshot: with no value is its own error; leaving both out is Daytona's default snapshot" {
	cd "$BATS_TEST_TMPDIR"
	printf 'apiVersion: sandform.dev/v1\nkind: Sandbox\nmetadata:\n  name: x\nspec:\n  image:\n' >e.yaml
	run --separate-stderr "$SANDFORM" validate e.yaml
	[ "$status" -eq 1 ]
	[[ "$stderr" == "e.yaml:6:3: spec.image: no value (expected an image such as python:3.12; leave both image and snapshot out for Daytona's default snapshot)"* ]]
	printf 'apiVersion: sandform.dev/v1\nkind: Sandbox\nmetadata:\n  name: x\nspec:\n  snapshot: ~\n' >s.yaml
	run --separate-stderr "$SANDFORM" validate s.yaml
	[ "$status" -eq 1 ]
	[[ "$stderr" == "s.yaml:6:3: spec.snapshot: no value"* ]]
	printf 'apiVersion: sandform.dev/v1\nkind: Sandbox\nmetadata:\n  name: x\nspec:\n  autoStopInterval: 0\n' >d.yaml
	run "$SANDFORM" validate d.yaml
	[ "$status" -eq 0 ]
}

@test "the 0.218 fields: each rule across fields at its line, --json keeps them, proxy credentials never echoed (issue 14)" {
	cat >n.yaml <<-'EOF'
	apiVersion: sandform.dev/v1
	kind: Sandbox
	metadata: {name: a}
	spec:
	  image: python:3.12
	  autoStopInterval: 15
	  autoPauseInterval: 30
	  spot: true
	  gpuType: [H100, H100x]
	  kvm: true
	  outboundProxyUrl: ftp://proxy
	  env: {TOKEN: x}
	  secrets: {TOKEN: tok, 9X: y}
	  state: hibernating
	EOF
	run --separate-stderr "$SANDFORM" --no-stack-file validate n.yaml
	echo "$stderr"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"n.yaml:7:22: spec.autoPauseInterval: autoStopInterval and autoPauseInterval are both non-zero (expected at most one of them non-zero)"* ]]
	[[ "$stderr" == *"n.yaml:9:19: spec.gpuType[1]: unknown GPU type 'H100x' (expected H100, H200, B300, RTX-PRO-6000, RTX-4090, RTX-5090 or MI355X)"* ]]
	[[ "$stderr" == *"n.yaml:8:9: spec.spot: spot is for GPU sandboxes (expected spec.resources.gpu: 1)"* ]]
	[[ "$stderr" == *"n.yaml:10:8: spec.kvm: kvm is for sandboxes of a linux-vm snapshot (expected spec.snapshot)"* ]]
	[[ "$stderr" == *"n.yaml:11:21: spec.outboundProxyUrl: not a proxy URL (expected an http:// or https:// URL)"* ]]
	[[ "$stderr" == *"spec.secrets.9X: '9X' is not a variable name"* ]]
	[[ "$stderr" == *"spec.secrets.TOKEN: 'TOKEN' is also in spec.env"* ]]
	[[ "$stderr" == *"n.yaml:14:10: spec.state: unknown state 'hibernating' (expected started, stopped, archived or paused)"* ]]

	cat >ok.yaml <<-'EOF'
	apiVersion: sandform.dev/v1
	kind: Sandbox
	metadata: {name: vm}
	spec:
	  snapshot: ubuntu-vm
	  kvm: true
	  state: paused
	  autoPauseInterval: 30
	  ttlMinutes: 60
	  outboundProxyUrl: https://proxy.internal:3128
	  secrets: {OPENAI_API_KEY: openai-key}
	EOF
	run --separate-stderr "$SANDFORM" --no-stack-file validate ok.yaml
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	# credentials in the proxy URL are refused, never repeated
	sed 's|https://proxy|https://user:hunter2pw@proxy|' ok.yaml >cred.yaml
	run --separate-stderr "$SANDFORM" --no-stack-file validate cred.yaml
	echo "$stderr"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"cred.yaml:10:21: spec.outboundProxyUrl: the URL holds credentials"*"(expected a proxy URL without user:password@"* ]]
	[[ "$output$stderr" != *hunter2pw* ]]
	run --separate-stderr "$SANDFORM" --no-stack-file validate --json cred.yaml
	[[ "$output$stderr" != *hunter2pw* ]]
	run --separate-stderr "$SANDFORM" --no-stack-file validate --json ok.yaml
	[ "$status" -eq 0 ]
	s=$(printf '%s' "$output" | json 'd["sandboxes"][0]')
	[[ "$s" == *"'state': 'paused'"* ]]
	[[ "$s" == *"'ttlMinutes': 60"* ]]
	[[ "$s" == *"'autoPauseInterval': 30"* ]]
	[[ "$s" == *"'secrets': {'OPENAI_API_KEY': 'openai-key'}"* ]]
	[[ "$s" == *"'kvm': True"* ]]
}

@test "domainAllowList: Daytona's rule, the emulator's too — a letters-only last label of two or more (issue 14)" {
	cat >d.yaml <<-'EOF'
	apiVersion: sandform.dev/v1
	kind: Sandbox
	metadata: {name: d}
	spec:
	  image: python:3.12
	  network:
	    domainAllowList: [pypi.org, "*.github.com", 1a.example.io, example.123, 1.2.3.4, a.b, a.c0m]
	EOF
	run --separate-stderr "$SANDFORM" --no-stack-file validate d.yaml
	echo "$stderr"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"d.yaml:7:64: spec.network.domainAllowList[3]: 'example.123' is invalid (expected host names like pypi.org or *.example.com)"* ]]
	[[ "$stderr" == *"d.yaml:7:77: spec.network.domainAllowList[4]: '1.2.3.4' is invalid"* ]]
	[[ "$stderr" == *"d.yaml:7:86: spec.network.domainAllowList[5]: 'a.b' is invalid"* ]]
	[[ "$stderr" == *"d.yaml:7:91: spec.network.domainAllowList[6]: 'a.c0m' is invalid"* ]]
	[ "$(grep -c 'domainAllowList\[' <<<"$stderr")" -eq 4 ]
}

@test "spec.secrets values are organization secret names: the SDK's ^[a-zA-Z_][a-zA-Z0-9_-]*$ (issue 14)" {
	cat >k.yaml <<-'EOF'
	apiVersion: sandform.dev/v1
	kind: Sandbox
	metadata: {name: k}
	spec:
	  image: python:3.12
	  secrets: {A: ok_name-1, B: 1bad, C: "has space", D: _fine}
	EOF
	run --separate-stderr "$SANDFORM" --no-stack-file validate k.yaml
	echo "$stderr"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"k.yaml:6:30: spec.secrets.B: '1bad' is not a secret name (expected [A-Za-z_][A-Za-z0-9_-]*)"* ]]
	[[ "$stderr" == *"spec.secrets.C:"* ]]
	[ "$(grep -c 'spec.secrets' <<<"$stderr")" -eq 2 ]
}
