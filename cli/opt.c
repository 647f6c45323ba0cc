/*
 * The option parser is small on purpose: every command's table is also its
 * help text, so the two can never disagree.
 */
#include "common/base.h"

#include <stdlib.h>
#include <string.h>

#include "common/strnum.h"
#include "common/suggest.h"
#include "common/xalloc.h"
#include "cli/opt.h"

static const struct cli_opt *
find_long(const struct cli_opt *opts, const char *name, size_t len, int *neg)
{
	const struct cli_opt *o;

	*neg = 0;
	for (o = opts; o->type != CLI_END; o++)
		if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
			return o;
	if (len > 3 && strncmp(name, "no-", 3) == 0)
		for (o = opts; o->type != CLI_END; o++)
			if ((o->type == CLI_FLAG || o->type == CLI_BOOL) &&
			    strlen(o->name) == len - 3 &&
			    strncmp(o->name, name + 3, len - 3) == 0) {
				*neg = 1;
				return o;
			}
	return NULL;
}

/*
 * unknown_long: "unknown option '--NAME'", with the nearest of the
 * table's long names when one is near ("--detailed-exitcodes": did you
 * mean '--detailed-exitcode'?).
 */
static void
unknown_long(const char *cmd, const struct cli_opt *opts, const char *dashes,
             const char *name, size_t len)
{
	const struct cli_opt *o;
	const char **names, *near;
	char *word = xstrndup(name, len);
	size_t n = 0;

	for (o = opts; o->type != CLI_END; o++)
		n++;
	names = xcalloc(n + 1, sizeof(*names));
	for (n = 0, o = opts; o->type != CLI_END; o++)
		names[n++] = o->name;
	names[n++] = "help";
	near = suggest_closest(word, names, n);
	if (near != NULL)
		fprintf(stderr,
		        "sandform %s: unknown option '%s%s'; did you mean "
		        "'--%s'? (see 'sandform %s --help')\n",
		        cmd, dashes, word, near, cmd);
	else
		fprintf(stderr,
		        "sandform %s: unknown option '%s%s' (see 'sandform %s "
		        "--help')\n",
		        cmd, dashes, word, cmd);
	free(names);
	free(word);
}

static const struct cli_opt *
find_short(const struct cli_opt *opts, char c)
{
	const struct cli_opt *o;

	for (o = opts; o->type != CLI_END; o++)
		if (o->short_name && o->short_name == c)
			return o;
	return NULL;
}

static int
takes_value(const struct cli_opt *o)
{
	return o->type == CLI_STRING || o->type == CLI_INT ||
	       o->type == CLI_LIST;
}

static int
store(const char *cmd, const struct cli_opt *o, const char *val, int neg)
{
	long long n;
	const char *err;
	struct cli_list *l;

	switch (o->type) {
	case CLI_FLAG:
		*(int *)o->dest = !neg;
		return 0;
	case CLI_COUNT:
		(*(int *)o->dest)++;
		return 0;
	case CLI_BOOL:
		if (val == NULL || strcmp(val, "true") == 0)
			*(int *)o->dest = !neg;
		else if (strcmp(val, "false") == 0)
			*(int *)o->dest = neg;
		else {
			fprintf(stderr,
			        "sandform %s: --%s: '%s' is not true or "
			        "false\n",
			        cmd, o->name, val);
			return -1;
		}
		return 0;
	case CLI_STRING:
		*(const char **)o->dest = val;
		return 0;
	case CLI_INT:
		if (strnum_parse(val, o->min, o->max, &n, &err) < 0) {
			fprintf(stderr,
			        "sandform %s: --%s: '%s' is %s (expected a "
			        "whole number from %lld to %lld)\n",
			        cmd, o->name, val, err, o->min, o->max);
			return -1;
		}
		*(long long *)o->dest = n;
		return 0;
	case CLI_LIST:
		l = o->dest;
		l->v = xreallocarray(l->v, (size_t)l->n + 1, sizeof(*l->v));
		l->v[l->n++] = val;
		return 0;
	default:
		return -1;
	}
}

/*
 * short_form: a is a valid use of short options: -x, -vv (a counter
 * repeated) or -xVALUE (an option taking a value). Anything else after a
 * single dash may be a long name ("-auto-approve", as Terraform writes).
 */
static int
short_form(const struct cli_opt *opts, const char *a)
{
	const struct cli_opt *o = find_short(opts, a[1]);
	const char *p;

	if (o == NULL)
		return 0;
	if (a[2] == '\0' || takes_value(o))
		return 1;
	for (p = a + 1; *p == o->short_name && o->type == CLI_COUNT; p++)
		;
	return *p == '\0';
}

/*
 * parse_long: "--name[=value]" or "-name[=value]" (a points at the name,
 * dashes is what came before it): the option, its inline value and
 * whether it was "no-NAME". 0, or -1 after saying why.
 */
static int
parse_long(const char *cmd, const struct cli_opt *opts, const char *a,
           const char *dashes, const struct cli_opt **o, const char **val,
           int *neg)
{
	const char *eq = strchr(a, '=');
	size_t len = eq ? (size_t)(eq - a) : strlen(a);

	*o = find_long(opts, a, len, neg);
	if (*o == NULL) {
		unknown_long(cmd, opts, dashes, a, len);
		return -1;
	}
	if (eq)
		*val = eq + 1;
	if (eq && !takes_value(*o) && (*o)->type != CLI_BOOL) {
		fprintf(stderr, "sandform %s: --%s takes no value\n", cmd,
		        (*o)->name);
		return -1;
	}
	return 0;
}

/* parse_short: -x, -vv, -xVALUE (short_form said it is one). 1 when
 * the argument is fully handled (a counter repeated). */
static int
parse_short(const struct cli_opt *opts, const char *a, const struct cli_opt **o,
            const char **val, int *neg)
{
	const char *p;

	*o = find_short(opts, a[1]);
	*neg = 0;
	if (a[2] == '\0')
		return 0;
	if (takes_value(*o)) {
		*val = a + 2;
		return 0;
	}
	for (p = a + 1; *p; p++) /* -vv: repeated counters */
		(*(int *)(*o)->dest)++;
	return 1;
}

int
cli_parse(const char *cmd, const struct cli_opt *opts, int argc, char **argv,
          struct cli_args *out)
{
	int i, neg, only_pos = 0;

	memset(out, 0, sizeof(*out));
	out->argv = xcalloc((size_t)argc + 1, sizeof(char *));
	for (i = 0; i < argc; i++) {
		char *a = argv[i];
		const struct cli_opt *o;
		const char *val = NULL;

		if (only_pos || a[0] != '-' || strcmp(a, "-") == 0) {
			out->argv[out->argc++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_pos = 1;
			continue;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 ||
		    strcmp(a, "-help") == 0) {
			out->help = 1;
			continue;
		}
		if (a[1] == '-') {
			if (parse_long(cmd, opts, a + 2, "--", &o, &val, &neg) <
			    0)
				goto fail;
		} else if (!short_form(opts, a)) {
			if (parse_long(cmd, opts, a + 1, "-", &o, &val, &neg) <
			    0)
				goto fail;
		} else if (parse_short(opts, a, &o, &val, &neg)) {
			continue;
		}
		if (takes_value(o) && val == NULL) {
			if (i + 1 >= argc) {
				fprintf(stderr,
				        "sandform %s: --%s needs a value "
				        "(%s)\n",
				        cmd, o->name,
				        o->argname ? o->argname : "VALUE");
				goto fail;
			}
			val = argv[++i];
		}
		if (store(cmd, o, val, neg) < 0)
			goto fail;
	}
	return 0;
fail:
	cli_args_free(out);
	return -1;
}

void
cli_args_free(struct cli_args *a)
{
	free(a->argv);
	a->argv = NULL;
	a->argc = 0;
}

void
cli_list_free(struct cli_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void
cli_usage(FILE *fp, const char *cmd, const char *synopsis, const char *summary,
          const struct cli_opt *opts)
{
	const struct cli_opt *o;

	fprintf(fp, "usage: sandform %s %s\n\n%s\n\noptions:\n", cmd,
	        synopsis ? synopsis : "", summary);
	for (o = opts; o && o->type != CLI_END; o++) {
		char left[64];
		const char *arg = o->argname ? o->argname : "VALUE";

		if (o->type == CLI_BOOL)
			snprintf(left, sizeof(left), "--%s[=true|false]",
			         o->name);
		else if (takes_value(o))
			snprintf(left, sizeof(left), "--%s %s", o->name, arg);
		else
			snprintf(left, sizeof(left), "--%s", o->name);
		if (o->short_name)
			fprintf(fp, "  -%c, %-26s %s\n", o->short_name, left,
			        o->help);
		else
			fprintf(fp, "      %-26s %s\n", left, o->help);
	}
	fprintf(fp, "  -h, %-26s %s\n", "--help", "show this help");
}
