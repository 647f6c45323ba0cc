/*
 * yaml2json: not a unit test, but a helper of the end-to-end tests. It
 * reads a YAML file with sandform's own parser (manifests/ytree.h) and
 * prints its documents as one JSON array, typing plain scalars as an
 * editor does (YAML 1.2 core schema: null, true/false, integers, floats),
 * so a JSON Schema checker sees a manifest as yaml-language-server would.
 * Empty documents are left out.
 *
 *   yaml2json FILE
 *
 * Exit 0, or 1 with the parser's diagnostics on stderr.
 */
#include "common/base.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "common/buf.h"
#include "common/fileutil.h"
#include "manifests/manifest.h"
#include "manifests/ytree.h"

static bool
matches(const char *pattern, const char *s)
{
	regex_t re;
	bool m;

	if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
		return false;
	m = regexec(&re, s, 0, NULL, 0) == 0;
	regfree(&re);
	return m;
}

static cJSON *
scalar(const struct ynode *n)
{
	const char *v = n->value;
	char num[64];

	if (n->tag == YTAG_STR || (!n->plain && n->tag == YTAG_NONE))
		return cJSON_CreateString(v);
	if (ynode_is_null(n))
		return cJSON_CreateNull();
	if (matches("^(true|True|TRUE)$", v))
		return cJSON_CreateTrue();
	if (matches("^(false|False|FALSE)$", v))
		return cJSON_CreateFalse();
	if (matches("^[-+]?[0-9]{1,18}$", v)) {
		snprintf(num, sizeof(num), "%lld", strtoll(v, NULL, 10));
		return cJSON_CreateRaw(num);
	}
	if (matches("^[-+]?([.][0-9]+|[0-9]+([.][0-9]*)?)([eE][-+]?[0-9]+)?$",
	            v))
		return cJSON_CreateNumber(strtod(v, NULL));
	return cJSON_CreateString(v);
}

static cJSON *
convert(const struct ynode *n)
{
	cJSON *o;
	size_t i;

	switch (n->type) {
	case YNODE_MAP:
		o = cJSON_CreateObject();
		for (i = 0; i + 1 < n->n; i += 2)
			cJSON_AddItemToObject(o, n->kids[i]->value,
			                      convert(n->kids[i + 1]));
		return o;
	case YNODE_SEQ:
		o = cJSON_CreateArray();
		for (i = 0; i < n->n; i++)
			cJSON_AddItemToArray(o, convert(n->kids[i]));
		return o;
	default:
		return scalar(n);
	}
}

static int
add_doc(void *arg, const struct ynode *root)
{
	if (root->type != YNODE_SCALAR || !ynode_is_null(root))
		cJSON_AddItemToArray(arg, convert(root));
	return 0;
}

int
main(int argc, char **argv)
{
	struct diag_list diags = DIAG_LIST_INIT;
	struct buf b = BUF_INIT;
	cJSON *docs = cJSON_CreateArray();
	char *text;
	int rc = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: yaml2json FILE\n");
		goto out;
	}
	if (file_read(argv[1], MANIFEST_MAX_FILE_SIZE, &b) < 0) {
		fprintf(stderr, "yaml2json: cannot read '%s'\n", argv[1]);
		goto out;
	}
	if (ytree_parse(argv[1], b.data ? b.data : "", b.len, add_doc, docs,
	                &diags) != 0) {
		diag_list_print(stderr, &diags);
		goto out;
	}
	text = cJSON_PrintUnformatted(docs);
	printf("%s\n", text);
	free(text);
	rc = 0;
out:
	diag_list_free(&diags);
	buf_free(&b);
	cJSON_Delete(docs);
	return rc;
}
