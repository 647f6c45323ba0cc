/*
 * sandform init [--name NAME] [--force]
 *
 * Writes a stack file, sandform.yaml, in the current directory: the
 * stack's name and where its manifests are, so that plan and apply here
 * (and in every directory below) need no --stack. It asks nothing it can
 * infer:
 *
 * - the name is the directory's name made a stack name, with four random
 *   hex digits after it ("agents-3f9a"), so two projects in directories of
 *   the same name still get stacks of their own (--name chooses one);
 * - the sources are ./sandboxes or ./manifests when one of them holds
 *   manifests, else the current directory when it does, else a new
 *   ./sandboxes with one example manifest (a sandbox from the default
 *   snapshot; validate, plan and edit it).
 *
 * An existing sandform.yaml is never overwritten without --force. Nothing
 * here contacts Daytona or opens the state.
 */
#include "common/base.h"

#include <ctype.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/exitcodes.h"
#include "common/fileutil.h"
#include "common/hash.h"
#include "common/xalloc.h"
#include "manifests/rules.h"
#include "manifests/stack.h"
#include "cli/commands.h"

int cmd_init(struct sf_ctx *ctx, struct cli_args *args);

static const char *init_name;
static int init_force;

const struct cli_opt cmd_init_opts[] = {
	{ CLI_STRING, "name", 0, "NAME",
	  "the stack's name (default: the directory's, made unique)",
	  &init_name, 0, 0 },
	{ CLI_FLAG, "force", 0, NULL, "overwrite an existing sandform.yaml",
	  &init_force, 0, 0 },
	SF_OPT_VERBOSE,
	SF_OPT_NO_COLOR,
	CLI_OPT_END,
};

#define INIT_EXAMPLE_DIR  "sandboxes"
#define INIT_EXAMPLE_FILE INIT_EXAMPLE_DIR "/example.yaml"

/* has_manifests: dir holds a *.yaml or *.yml file (not the stack file). */
static int
has_manifests(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int found = 0;

	if (d == NULL)
		return 0;
	while (!found && (de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);

		if (de->d_name[0] == '.' ||
		    !strcmp(de->d_name, STACK_FILE_NAME))
			continue;
		found = (n > 5 && !strcmp(de->d_name + n - 5, ".yaml")) ||
		        (n > 4 && !strcmp(de->d_name + n - 4, ".yml"));
	}
	closedir(d);
	return found;
}

/* default_name: the current directory's name as a stack name, with a
 * random suffix. Caller frees. */
static char *
default_name(void)
{
	char cwd[4096], suffix[5];
	unsigned char rnd[2];
	struct buf b = BUF_INIT;
	const char *base, *p;

	if (getcwd(cwd, sizeof(cwd)) == NULL)
		cwd[0] = '\0';
	base = strrchr(cwd, '/');
	base = base ? base + 1 : cwd;
	for (p = base; *p && b.len < RULE_MAX_STACK_NAME - 5; p++) {
		unsigned char c = (unsigned char)*p;

		if (isalnum(c) && c < 0x80)
			buf_addch(&b, (char)tolower(c));
		else if (b.len && b.data[b.len - 1] != '-')
			buf_addch(&b, '-');
	}
	while (b.len && b.data[b.len - 1] == '-')
		buf_truncate(&b, b.len - 1);
	if (b.len == 0)
		buf_addstr(&b, "stack");
	if (random_bytes(rnd, sizeof(rnd)) < 0)
		rnd[0] = rnd[1] = 0;
	snprintf(suffix, sizeof(suffix), "%02x%02x", rnd[0], rnd[1]);
	buf_addf(&b, "-%s", suffix);
	return buf_detach(&b, NULL);
}

static const char example_yaml[] =
        "# An example sandbox: edit it, then 'sandform validate' and\n"
        "# 'sandform plan'. Every field: docs/manifest.md.\n"
        "apiVersion: sandform.dev/v1\n"
        "kind: Sandbox\n"
        "metadata:\n"
        "  name: %s-example\n"
        "  labels:\n"
        "    team: me\n"
        "spec:\n"
        "  # no image or snapshot: Daytona's default snapshot\n"
        "  autoStopInterval: 30\n";

/* write_example: sandboxes/example.yaml; 0, or -1 (said). */
static int
write_example(const char *name)
{
	char *text;
	int rc;

	if (mkdir(INIT_EXAMPLE_DIR, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "sandform init: %s: %s\n", INIT_EXAMPLE_DIR,
		        strerror(errno));
		return -1;
	}
	text = xasprintf(example_yaml, name);
	rc = file_write_atomic(INIT_EXAMPLE_FILE, text, strlen(text), 0644);
	free(text);
	if (rc < 0) {
		fprintf(stderr, "sandform init: %s\n", sf_error_last());
		return -1;
	}
	printf("Wrote %s (an example sandbox).\n", INIT_EXAMPLE_FILE);
	return 0;
}

int
cmd_init(struct sf_ctx *ctx, struct cli_args *args)
{
	struct stat st;
	const char *problem, *source;
	char *name = NULL, *text = NULL;
	int rc = SF_EXIT_ERROR;

	(void)ctx;
	if (args->argc > 0) {
		fprintf(stderr, "sandform init: no operand expected (it writes "
		                "./sandform.yaml)\n");
		return SF_EXIT_ERROR;
	}
	if (!init_force && lstat(STACK_FILE_NAME, &st) == 0) {
		fprintf(stderr,
		        "sandform init: %s already exists; edit it, or use "
		        "--force to write a new one\n",
		        STACK_FILE_NAME);
		return SF_EXIT_ERROR;
	}
	name = init_name ? xstrdup(init_name) : default_name();
	if ((problem = rule_stack_name_problem(name)) != NULL) {
		fprintf(stderr, "sandform init: --name: %s\n", problem);
		goto out;
	}
	if (has_manifests("sandboxes"))
		source = "sandboxes";
	else if (has_manifests("manifests"))
		source = "manifests";
	else if (has_manifests("."))
		source = ".";
	else if (write_example(name) == 0)
		source = INIT_EXAMPLE_DIR;
	else
		goto out;
	text = xasprintf("# The stack of this project: plan and apply here "
	                 "need no --stack.\n"
	                 "# Every field: docs/manifest.md (\"Stack\").\n"
	                 "apiVersion: sandform.dev/v1\n"
	                 "kind: Stack\n"
	                 "metadata:\n"
	                 "  name: %s\n"
	                 "spec:\n"
	                 "  sources:\n"
	                 "    - path: %s\n"
	                 "  # prune: true          # removed manifests delete "
	                 "their sandboxes\n"
	                 "  # massDelete: {threshold: 50}\n"
	                 "  # secretDirs: [/run/secrets]\n",
	                 name, source);
	if (file_write_atomic(STACK_FILE_NAME, text, strlen(text), 0644) < 0) {
		fprintf(stderr, "sandform init: %s\n", sf_error_last());
		goto out;
	}
	printf("Wrote %s: stack '%s', manifests in %s.\n", STACK_FILE_NAME,
	       name, source);
	rc = SF_EXIT_OK;
out:
	free(text);
	free(name);
	return rc;
}
