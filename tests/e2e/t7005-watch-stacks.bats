#!/usr/bin/env bats
# sandform watch A/sandform.yaml B/sandform.yaml (issue 12): two stacks in
# one watcher, each on its own interval, with its own metrics labels; both
# converge; --once exits 1 when any stack failed, 2 when drift is left in
# detect mode, 0 when all converged. SIGHUP reloads the stack files; a
# broken one keeps the old configuration, said on stderr and in the metrics.

bats_require_minimum_version 1.5.0

load lib/emulator
load lib/apply

setup() {
	apply_setup --transition-ms 10
	unset SANDFORM_STACK
	WATCH_PID=
	mkdir -p a/m b/m
	sandbox_yaml a1 t >a/m/a1.yaml
	sandbox_yaml b1 t >b/m/b1.yaml
	stack a sa 0.2s
	stack b sb 3s
}

teardown() {
	if [ -f watch.out ]; then cat watch.out watch.err; fi
	if [ -n "$WATCH_PID" ]; then kill -KILL "$WATCH_PID" 2>/dev/null || true; fi
	emu_stop
}

# stack DIR NAME INTERVAL [WATCH_YAML]: DIR/sandform.yaml
stack() {
	printf 'apiVersion: sandform.dev/v1\nkind: Stack\nmetadata: {name: %s}\nspec:\n  sources: [{path: m}]\n  watch:\n    interval: %s\n%s' \
		"$2" "$3" "${4-}" >"$1/sandform.yaml"
}

wait_for() {
	local i
	for ((i = 0; i < 150; i++)); do
		if "$@"; then return 0; fi
		sleep 0.1
	done
	return 1
}

state_is() { [ "$(emu_api GET "/sandbox/$1" | json 'd["state"]')" = "$2" ]; }

# total STACK RESULT: sandform_reconcile_total of the metrics file
total() {
	sed -n "s/^sandform_reconcile_total{stack=\"$1\",result=\"$2\"} //p" metrics.prom
}

@test "two stacks in one watcher: --once runs both; 1 if any failed, 2 if drift is left in detect mode" {
	run "$SANDFORM" watch a/sandform.yaml b/sandform.yaml --once
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"watch: cycle 1 of stack 'sa': applied"* ]]
	[[ "$output" == *"watch: cycle 1 of stack 'sb': applied"* ]]
	state_is a1 started
	state_is b1 started
	run "$SANDFORM" watch a/sandform.yaml b/sandform.yaml --once
	[ "$status" -eq 0 ]
	[[ "$output" == *"stack 'sa': converged"* ]]
	[[ "$output" == *"stack 'sb': converged"* ]]
	# b only detects: its drift is left, a's is corrected
	stack b sb 3s '    mode: detect
'
	emu_hook POST /sandbox/a1 '{"state":"stopped"}' >/dev/null
	emu_hook POST /sandbox/b1 '{"state":"stopped"}' >/dev/null
	run "$SANDFORM" watch a/sandform.yaml b/sandform.yaml --once
	echo "$output"
	[ "$status" -eq 2 ]
	[[ "$output" == *"stack 'sa': applied (1 drifted"* ]]
	[[ "$output" == *"stack 'sb': detected (1 drifted"* ]]
	state_is a1 started
	state_is b1 stopped
	# a fails (a snapshot Daytona does not have): 1 over b's 2
	sandbox_yaml a2 t >a/m/a2.yaml
	sed -i 's/daytona-small/no-such-snapshot/' a/m/a2.yaml
	run "$SANDFORM" watch a/sandform.yaml b/sandform.yaml --once
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"stack 'sa': failed"* ]]
	[[ "$output" == *"stack 'sb': detected"* ]]
	# the same name twice is refused
	stack b sa 3s
	run --separate-stderr "$SANDFORM" watch a/sandform.yaml b/sandform.yaml --once
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"stack 'sa' is named twice"* ]]
}

@test "two stacks in one watcher: each on its own interval, both converge, metrics per stack" {
	"$SANDFORM" watch a/sandform.yaml b/sandform.yaml --jitter 0 \
		--metrics-file metrics.prom >watch.out 2>watch.err &
	WATCH_PID=$!
	wait_for state_is a1 started
	wait_for state_is b1 started
	emu_hook POST /sandbox/a1 '{"state":"stopped"}' >/dev/null
	emu_hook POST /sandbox/b1 '{"state":"stopped"}' >/dev/null
	# both corrected (b within its 3 s interval)
	wait_for state_is a1 started
	wait_for state_is b1 started
	sleep 1
	kill -TERM "$WATCH_PID"
	wait "$WATCH_PID"
	WATCH_PID=
	cat watch.out
	grep -q "stack 'sa'" watch.out
	grep -q "stack 'sb'" watch.out
	grep -q '^sandform_sandboxes{stack="sa",state="started"} 1$' metrics.prom
	# as Daytona listed them before the cycle's apply: b's last cycle saw
	# b1 stopped (then started it) or, on a slow machine, started
	[ "$(awk '/^sandform_sandboxes\{stack="sb",state="(started|stopped)"\}/ { n += $2 } END { print n }' metrics.prom)" = 1 ]
	# one counter of API requests for the process: two creates, two starts
	grep -q '^sandform_api_requests_total{bucket="sandbox-create",code="200"} 2$' metrics.prom
	[ "$(grep -c '^# TYPE sandform_reconcile_total counter$' metrics.prom)" = 1 ]
	# a (every 0.2 s) ran many more cycles than b (every 3 s)
	na=$(grep -c "stack 'sa'" watch.out)
	nb=$(grep -c "stack 'sb'" watch.out)
	echo "a: $na b: $nb"
	[ "$na" -ge 10 ]
	[ "$nb" -ge 2 ]
	[ "$na" -ge $((4 * nb)) ]
	[ "$(total sb applied)" -ge 2 ]
}

# detected: the number of detected cycles of stack sa so far
detected() { grep -c "stack 'sa': detected" watch.out || true; }
detected_ge() { [ "$(detected)" -ge "$1" ]; }

@test "SIGHUP reloads the stack files; a broken one keeps the old configuration and says why" {
	stack a sa 10m
	"$SANDFORM" watch a/sandform.yaml b/sandform.yaml --metrics-file metrics.prom \
		>watch.out 2>watch.err &
	WATCH_PID=$!
	wait_for state_is a1 started
	wait_for grep -q "stack 'sb'" watch.out
	# a new interval and mode
	stack a sa 0.2s '    mode: detect
'
	kill -HUP "$WATCH_PID"
	wait_for grep -q "watch: stack 'sa': a/sandform.yaml reloaded (interval 0.2s, detect)" watch.out
	grep -q "watch: stack 'sb': b/sandform.yaml reloaded (interval 3.0s, apply)" watch.out
	emu_hook POST /sandbox/a1 '{"state":"stopped"}' >/dev/null
	# many detected cycles at 0.2 s (a 10m interval would give none)
	wait_for detected_ge 4
	state_is a1 stopped
	# a broken file: the old configuration stays, and the watcher says why
	printf 'apiVersion: sandform.dev/v1\nkind: Stack\nmetadata: {name: sa}\nspec: [oops\n' >a/sandform.yaml
	kill -HUP "$WATCH_PID"
	wait_for grep -q "SIGHUP: a/sandform.yaml: not a valid stack file; keeping the configuration read before" watch.err
	n=$(detected)
	wait_for detected_ge $((n + 3))
	kill -0 "$WATCH_PID"
	wait_for grep -q '^sandform_config_reload_failures_total{stack="sa"} 1$' metrics.prom
	grep -q '^sandform_config_last_reload_successful{stack="sa"} 0$' metrics.prom
	grep -q '^sandform_config_last_reload_successful{stack="sb"} 1$' metrics.prom
	state_is a1 stopped
	# fixed again: taken
	stack a sa 0.2s
	kill -HUP "$WATCH_PID"
	wait_for state_is a1 started
	wait_for grep -q '^sandform_config_last_reload_successful{stack="sa"} 1$' metrics.prom
	kill -TERM "$WATCH_PID"
	wait "$WATCH_PID"
	WATCH_PID=
}

@test "SIGHUP reloads the stack file found in the directory (no operands)" {
	cd a
	stack . sa 10m
	"$SANDFORM" watch >../watch.out 2>../watch.err &
	WATCH_PID=$!
	cd ..
	wait_for state_is a1 started
	wait_for grep -q "cycle 1 of stack 'sa'" watch.out
	stack a sa 0.2s '    mode: detect
'
	kill -HUP "$WATCH_PID"
	wait_for grep -q "watch: stack 'sa': .*a/sandform.yaml reloaded (interval 0.2s, detect)" watch.out
	emu_hook POST /sandbox/a1 '{"state":"stopped"}' >/dev/null
	wait_for detected_ge 3
	state_is a1 stopped
	kill -TERM "$WATCH_PID"
	wait "$WATCH_PID"
	WATCH_PID=
}
