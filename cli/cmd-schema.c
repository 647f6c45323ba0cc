/*
 * sandform schema
 *
 * Prints a JSON Schema (draft-07) of every manifest kind (Sandbox, Stack)
 * on stdout, for editors: yaml-language-server completes and checks
 * manifests with it, e.g. with "# yaml-language-server: $schema=PATH" at
 * the top of a file. docs/sandform.schema.json is the same text (a test
 * keeps them equal). The schema checks each value on its own; sandform
 * validate also checks the rules across fields and stays the authority.
 */
#include "common/base.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/exitcodes.h"
#include "manifests/schema.h"
#include "cli/commands.h"

int cmd_schema(struct sf_ctx *ctx, struct cli_args *args);

const struct cli_opt cmd_schema_opts[] = {
	SF_OPT_NO_COLOR,
	CLI_OPT_END,
};

/* flat: an array of scalars only (printed on one line). */
static int
flat(const cJSON *j)
{
	const cJSON *c;

	if (!cJSON_IsArray(j))
		return !cJSON_IsObject(j);
	cJSON_ArrayForEach(c, j)
	{
		if (cJSON_IsArray(c) || cJSON_IsObject(c))
			return 0;
	}
	return 1;
}

/*
 * print_json: j indented by two spaces a level, as JSON files usually are
 * (cJSON_Print indents with tabs). Object keys keep their order.
 */
static void
print_json(FILE *fp, const cJSON *j, int depth)
{
	const cJSON *c;
	char *text;

	if (flat(j)) {
		text = cJSON_PrintUnformatted(j);
		fputs(text ? text : "null", fp);
		free(text);
		return;
	}
	fputc(cJSON_IsArray(j) ? '[' : '{', fp);
	cJSON_ArrayForEach(c, j)
	{
		fprintf(fp, "%s\n%*s", c == j->child ? "" : ",",
		        2 * (depth + 1), "");
		if (cJSON_IsObject(j)) {
			cJSON *key = cJSON_CreateString(c->string);

			text = cJSON_PrintUnformatted(key);
			fprintf(fp, "%s: ", text ? text : "\"\"");
			free(text);
			cJSON_Delete(key);
		}
		print_json(fp, c, depth + 1);
	}
	fprintf(fp, "\n%*s%c", 2 * depth, "", cJSON_IsArray(j) ? ']' : '}');
}

int
cmd_schema(struct sf_ctx *ctx, struct cli_args *args)
{
	cJSON *schema;

	(void)ctx;
	if (args->argc > 0) {
		fprintf(stderr, "sandform schema: unexpected argument '%s'\n",
		        args->argv[0]);
		return SF_EXIT_ERROR;
	}
	schema = schema_to_json();
	print_json(stdout, schema, 0);
	putchar('\n');
	cJSON_Delete(schema);
	return SF_EXIT_OK;
}
