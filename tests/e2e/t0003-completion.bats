#!/usr/bin/env bats
# Shell completion: `sandform completion bash|zsh` prints scripts made from
# the command table; the build writes them (completions/) and make install
# puts them where bash-completion and zsh look. The bash one is run here
# as bash runs it (COMP_WORDS, COMP_CWORD, the _sandform function).

bats_require_minimum_version 1.5.0

setup() {
	cd "$BATS_TEST_TMPDIR"
}

# complete WORD...: the candidates bash offers for the last word.
complete_words() {
	bash -c 'source "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		_sandform; printf "%s\n" "${COMPREPLY[@]}"' complete "$COMP_SCRIPT" "$@"
}

@test "the build wrote both scripts, the same as the command prints" {
	[ -s "$SF_BUILDDIR/completions/sandform" ]
	[ -s "$SF_BUILDDIR/completions/_sandform" ]
	"$SANDFORM" completion bash | diff - "$SF_BUILDDIR/completions/sandform"
	"$SANDFORM" completion zsh | diff - "$SF_BUILDDIR/completions/_sandform"
	head -1 "$SF_BUILDDIR/completions/_sandform" | grep -qx '#compdef sandform'
	run --separate-stderr "$SANDFORM" completion fish
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"usage: sandform completion bash|zsh"* ]]
	# not a command people run: not in --help
	run "$SANDFORM" --help
	[[ "$output" != *completion* ]]
}

@test "bash completes commands, options, values and state subcommands" {
	COMP_SCRIPT="$SF_BUILDDIR/completions/sandform"
	bash -n "$COMP_SCRIPT"
	run complete_words sandform pl
	[ "$status" -eq 0 ]
	[ "$output" = plan ]
	run complete_words sandform --stack prod a
	[ "$output" = apply ]
	run complete_words sandform plan --detailed-e
	[ "$output" = --detailed-exitcode ]
	run complete_words sandform apply --auto
	[ "$output" = --auto-approve ]
	run complete_words sandform --no-c
	[ "$output" = --no-color ]
	run complete_words sandform state l
	[ "$output" = list ]
	run complete_words sandform state --json i
	[ "$(printf '%s\n' "$output" | sort | tr '\n' ' ')" = "import import-snapshot import-volume info " ]
	mkdir manifests && touch plan.json
	run complete_words sandform plan --out pl
	[ "$output" = plan.json ]
	run complete_words sandform validate man
	[ "$output" = manifests ]
	# the value of --stack is a name: nothing offered
	run complete_words sandform plan --stack p
	[ -z "$output" ]
}

@test "zsh's script is valid zsh and names every command" {
	f="$SF_BUILDDIR/completions/_sandform"
	for c in $("$SANDFORM" --help | awk '/^commands:/ {on = 1; next} on && /^  [a-z]/ {print $1}'); do
		grep -q "^			'$c:" "$f"
	done
	grep -q -- "'--detailed-exitcode\[" "$f"
	command -v zsh >/dev/null || skip "no zsh"
	zsh -n "$f"
}
