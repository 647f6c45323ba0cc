# tests/conformance/: the official @daytonaio/sdk (pinned in package.json,
# installed by ./setup.sh with npm ci; node_modules is not distributed)
# against daytona-emulator. Skips (77) without Node.js or the SDK.
# tests/bench/: the SDK side of the apply benchmark (run by hand).
TESTS += tests/conformance/run-conformance.sh
dist_noinst_SCRIPTS += tests/conformance/run-conformance.sh \
	tests/bench/bench-sdk-create.sh
EXTRA_DIST += tests/conformance/conformance.mjs \
	tests/conformance/package.json \
	tests/conformance/package-lock.json \
	tests/conformance/local.mk \
	tests/bench/sdk-bench.mjs tests/bench/sdk-create.mjs \
	tests/bench/sdk-ratelimit.mjs tests/bench/sdk-list.mjs
