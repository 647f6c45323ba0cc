#!/usr/bin/env bats
# Verified revisions: SSH-signed commits and annotated tags checked against
# an allowed_signers file (verify modes head, tag, tag-and-head). An
# unsigned, forged or foreign-signed revision is refused before anything is
# planned; without ssh-keygen verification fails, never passes.

bats_require_minimum_version 1.5.0

load lib/emulator
load lib/sandbox
load lib/gitserver

setup() {
	command -v ssh-keygen >/dev/null || skip "ssh-keygen is not installed"
	gitsrv_setup
	URL=file://$GITSRV_ROOT/infra.git
	ssh-keygen -q -t ed25519 -N '' -f signer -C signer
	ssh-keygen -q -t ed25519 -N '' -f stranger -C stranger
	printf 'tester@example.com namespaces="git" %s\n' "$(cut -d' ' -f1,2 signer.pub)" >allowed
	git -C "$GITSRV_WORK" config gpg.format ssh
	git -C "$GITSRV_WORK" config user.signingkey "$BATS_TEST_TMPDIR/signer"
	gsbx web
}

teardown() {
	gitsrv_teardown
	emu_stop
}

verify() {
	"$SANDFORM" validate --git "$URL" --git-allowed-signers allowed "$@"
}

@test "verify head: a signed commit passes, an unsigned one is refused before planning" {
	emu_start --transition-ms 20
	gpush signed -S
	run --separate-stderr verify --git-verify head
	[ "$status" -eq 0 ]
	[ "$output" = "1 sandbox in 1 file at main@sha1:$(ghead)" ]
	gsbx api
	gpush unsigned
	run --separate-stderr "$SANDFORM" plan --git "$URL" --git-verify head \
		--git-allowed-signers allowed
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"commit main@sha1:$(ghead) of $URL is not signed (verify mode head needs a signed commit)"* ]]
	[[ "$output" != *create* ]]
	# nothing was asked of Daytona
	[ "$(emu_requests | wc -l)" = 0 ]
}

@test "a commit signed by a key that is not allowed, or forged, is refused" {
	local fp forged
	git -C "$GITSRV_WORK" config user.signingkey "$BATS_TEST_TMPDIR/stranger"
	gpush foreign -S
	fp=$(ssh-keygen -l -f stranger.pub | cut -d' ' -f2)
	run --separate-stderr verify --git-verify head
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"is signed by ED25519 key $fp, which is not an allowed signer"* ]]
	# a signed commit whose content was changed afterwards
	git -C "$GITSRV_WORK" config user.signingkey "$BATS_TEST_TMPDIR/signer"
	gsbx api
	gpush signed -S
	forged=$(git -C "$GITSRV_WORK" cat-file commit HEAD | sed 's/^signed$/forged/' |
		git -C "$GITSRV_WORK" hash-object -t commit -w --stdin)
	git -C "$GITSRV_WORK" update-ref refs/heads/main "$forged"
	git -C "$GITSRV_WORK" push -q -f origin main 2>/dev/null
	run --separate-stderr verify --git-verify head
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"commit main@sha1:$forged of $URL has a bad signature"* ]]
}

@test "verify tag and tag-and-head: signed annotated tags" {
	gpush one -S
	git -C "$GITSRV_WORK" tag -s -m "release 1.0.0" v1.0.0
	git -C "$GITSRV_WORK" tag -a -m "release 1.1.0" v1.1.0
	git -C "$GITSRV_WORK" tag v1.2.0
	git -C "$GITSRV_WORK" push -q origin --tags 2>/dev/null
	run --separate-stderr verify --git-verify tag --ref tag:v1.0.0
	[ "$status" -eq 0 ]
	[ "$output" = "1 sandbox in 1 file at v1.0.0@sha1:$(ghead)" ]
	run --separate-stderr verify --git-verify tag-and-head --ref 'semver:~1.0'
	[ "$status" -eq 0 ]
	run --separate-stderr verify --git-verify tag --ref tag:v1.1.0
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"tag v1.1.0 of $URL is not signed"* ]]
	run --separate-stderr verify --git-verify tag --ref v1.2.0
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"tag v1.2.0 of $URL is not an annotated tag"* ]]
	# a branch cannot satisfy tag verification
	run --separate-stderr verify --git-verify tag --ref branch:main
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"mode tag needs a tag or semver ref"* ]]
	# a signed tag on an unsigned commit fails tag-and-head
	gsbx api
	gpush unsigned
	git -C "$GITSRV_WORK" tag -s -m "release 1.3.0" v1.3.0
	git -C "$GITSRV_WORK" push -q origin --tags 2>/dev/null
	run --separate-stderr verify --git-verify tag --ref v1.3.0
	[ "$status" -eq 0 ]
	run --separate-stderr verify --git-verify tag-and-head --ref v1.3.0
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"is not signed (verify mode head"* ]]
}

@test "without ssh-keygen verification fails and says why; a mode needs allowedSigners" {
	gpush signed -S
	run --separate-stderr env PATH=/nonexistent "$SANDFORM" validate --git "$URL" \
		--git-verify head --git-allowed-signers allowed
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"ssh-keygen is not in PATH (install openssh-client)"* ]]
	run --separate-stderr "$SANDFORM" validate --git "$URL" --git-verify head
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"a mode needs allowedSigners"* ]]
	run --separate-stderr "$SANDFORM" validate --git "$URL" --git-verify sometimes \
		--git-allowed-signers allowed
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"unknown mode 'sometimes'"* ]]
}
