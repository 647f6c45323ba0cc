#!/usr/bin/env bats
# Git sources over SSH: sshd on a free loopback port with a test host key
# and a test user key. Strict host-key checking against a known_hosts file
# (unknown and changed keys refused naming the fingerprint, hashed names),
# a key with a passphrase from the environment, ssh-agent, a key the server
# does not accept, and plan/apply against daytona-emulator.

bats_require_minimum_version 1.5.0

load lib/emulator
load lib/sandbox
load lib/gitserver

setup() {
	gitsrv_setup
	gsbx web
	gpush one
	sshd_start
}

teardown() {
	[ -z "${AGENT_PID:-}" ] || kill "$AGENT_PID" 2>/dev/null || true
	gitsrv_teardown
	emu_stop
}

@test "a user key and a known host: plan and apply over ssh://" {
	emu_start --transition-ms 20
	run --separate-stderr "$SANDFORM" apply --git "$SSH_URL" --git-ssh-key "$SSH_KEY" \
		--git-known-hosts "$SSH_KNOWN" --auto-approve
	[ "$status" -eq 0 ]
	run --separate-stderr "$SANDFORM" plan --git "$SSH_URL" --git-ssh-key "$SSH_KEY" \
		--git-known-hosts "$SSH_KNOWN" --detailed-exitcode
	[ "$status" -eq 0 ]
	[ "$output" = "No changes." ]
	# a hashed known_hosts (ssh-keygen -H) works the same
	ssh-keygen -q -H -f "$SSH_KNOWN" 2>/dev/null
	! grep -q 127.0.0.1 "$SSH_KNOWN"
	run --separate-stderr "$SANDFORM" validate --git "$SSH_URL" --git-ssh-key "$SSH_KEY" \
		--git-known-hosts "$SSH_KNOWN"
	[ "$status" -eq 0 ]
	[ "$output" = "1 sandbox in 1 file at main@sha1:$(ghead)" ]
}

@test "an unknown or changed host key is refused, naming its fingerprint" {
	# no known_hosts at all (the default ~/.ssh/known_hosts is empty)
	run --separate-stderr "$SANDFORM" validate --git "$SSH_URL" --git-ssh-key "$SSH_KEY"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"the SSH host key of [127.0.0.1]:$SSH_PORT is not in $HOME/.ssh/known_hosts (ssh-ed25519 $SSH_FP)"* ]]
	# another key recorded for the host: changed
	ssh-keygen -q -t ed25519 -N '' -f other -C other
	printf '[127.0.0.1]:%s %s\n' "$SSH_PORT" "$(cut -d' ' -f1,2 other.pub)" >changed
	run --separate-stderr "$SANDFORM" validate --git "$SSH_URL" --git-ssh-key "$SSH_KEY" \
		--git-known-hosts changed
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"the SSH host key of [127.0.0.1]:$SSH_PORT has CHANGED: the server offers ssh-ed25519 $SSH_FP, which does not match changed"* ]]
	# the right key for another port is no match either
	printf '[127.0.0.1]:1 %s\n127.0.0.1 %s\n' "$(cut -d' ' -f1,2 "$SSH_KNOWN")" \
		"$(cut -d' ' -f2,3 "$SSH_KNOWN")" >otherport
	run --separate-stderr "$SANDFORM" validate --git "$SSH_URL" --git-ssh-key "$SSH_KEY" \
		--git-known-hosts otherport
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"is not in otherport"* ]]
	# nothing was fetched
	[ -z "$(ls .sandform/git/*.git/refs/heads 2>/dev/null)" ]
}

@test "a key the server does not accept; a passphrase from the environment; ssh-agent" {
	ssh-keygen -q -t ed25519 -N '' -f stranger -C stranger
	run --separate-stderr "$SANDFORM" validate --git "$SSH_URL" --git-ssh-key stranger \
		--git-known-hosts "$SSH_KNOWN"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"refused the SSH key (stranger) for user '$(id -un)'"* ]]
	# the user key with a passphrase
	cp "$SSH_KEY" locked
	ssh-keygen -q -p -N 'pass phrase' -P '' -f locked
	export KEY_PASS='pass phrase'
	run --separate-stderr "$SANDFORM" validate --git "$SSH_URL" --git-ssh-key locked \
		--git-ssh-passphrase-env KEY_PASS --git-known-hosts "$SSH_KNOWN" -vv
	[ "$status" -eq 0 ]
	[[ "$stderr$output" != *"pass phrase"* ]]
	# ssh-agent
	command -v ssh-agent >/dev/null || skip "ssh-agent is not installed"
	eval "$(ssh-agent -s -a "$BATS_TEST_TMPDIR/agent.sock")" >/dev/null
	AGENT_PID=$SSH_AGENT_PID
	ssh-add -q "$SSH_KEY" 2>/dev/null
	rm -rf .sandform
	run --separate-stderr "$SANDFORM" validate --git "$SSH_URL" --git-ssh-agent \
		--git-known-hosts "$SSH_KNOWN"
	[ "$status" -eq 0 ]
	[ "$output" = "1 sandbox in 1 file at main@sha1:$(ghead)" ]
}
