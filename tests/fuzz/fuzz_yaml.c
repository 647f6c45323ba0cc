/*
 * libFuzzer target for manifests/yfast: ytree must see the same events,
 * errors and diagnostics whether yfast reads the documents it can (as
 * ytree_parse does) or libyaml reads them all. A difference aborts. Built
 * with --enable-fuzzing; run with tests/fuzz/run-fuzz.sh SECONDS BUILDDIR
 * fuzz-yaml.
 */
#include "common/base.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifests/ytree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *fast = ytree_trace((const char *)data, size, true);
	char *slow = ytree_trace((const char *)data, size, false);

	if (strcmp(fast, slow) != 0) {
		fprintf(stderr, "-- yfast:\n%s-- libyaml:\n%s", fast, slow);
		abort();
	}
	free(fast);
	free(slow);
	return 0;
}
