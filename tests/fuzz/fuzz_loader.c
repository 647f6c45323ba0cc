/*
 * libFuzzer target for the manifest loader: the bytes go through
 * manifest_load_buffer(), the same parser and validation a file gets, then
 * through the JSON and diagnostic printers. Built with --enable-fuzzing;
 * run with tests/fuzz/run-fuzz.sh SECONDS.
 */
#include "common/base.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "manifests/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest_set *set = NULL;
	struct diag_list diags = DIAG_LIST_INIT;
	cJSON *json;
	char *s;
	size_t i;

	if (manifest_load_buffer("fuzz.yaml", (const char *)data, size, &set,
	                         &diags) == 0) {
		json = manifest_set_to_json(set);
		s = cJSON_PrintUnformatted(json);
		free(s);
		cJSON_Delete(json);
		for (i = 0; i < set->n_sandboxes; i++)
			(void)manifest_set_find(set, set->sandboxes[i].name);
	}
	for (i = 0; i < diags.n; i++) {
		s = diag_format(&diags.v[i]);
		free(s);
	}
	manifest_set_free(set);
	diag_list_free(&diags);
	return 0;
}
