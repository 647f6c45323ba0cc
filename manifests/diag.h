/*
 * diag: the diagnostics (errors and warnings) of a manifest load.
 *
 * A struct diag_list is a plain value the caller owns: start it with
 * DIAG_LIST_INIT, pass it to manifest_load(), print it, release it with
 * diag_list_free() (which frees every string inside; the list itself may
 * live on the stack). Each diagnostic carries its own copies of the file
 * name, field path and message, so it outlives the manifest set.
 *
 * Printed form, one line each, sorted by file, then line, then column:
 *	FILE:LINE:COL: field.path: what is wrong (expected ...)
 *	FILE:LINE:COL: warning: field.path: what is odd
 * A diagnostic about a whole file (line 0) prints as "FILE: ...", one
 * without a field path drops that part. Messages never contain a secret
 * value: only names of references.
 */
#ifndef SF_MANIFESTS_DIAG_H
#define SF_MANIFESTS_DIAG_H

#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

enum diag_severity {
	DIAG_ERROR = 0,
	DIAG_WARNING = 1,
};

struct diag {
	enum diag_severity severity;
	char *file;    /* "-" for stdin; never NULL */
	unsigned line; /* 1-based; 0 = the whole file */
	unsigned col;  /* 1-based; 0 = unknown */
	char *path;    /* "spec.volumes[0].mountPath"; NULL = none */
	char *msg;     /* lowercase, no full stop */
};

struct diag_list {
	struct diag *v;
	size_t n, cap;
	size_t n_errors, n_warnings;
};

#define DIAG_LIST_INIT           \
	{                        \
		NULL, 0, 0, 0, 0 \
	}

/* diag_add: append a diagnostic (strings are copied; path may be NULL). */
void diag_add(struct diag_list *l, enum diag_severity sev, const char *file,
              unsigned line, unsigned col, const char *path, const char *fmt,
              ...) __attribute__((format(printf, 7, 8)));

/* diag_list_sort: stable sort by file, line, column. */
void diag_list_sort(struct diag_list *l);

/* diag_format: one diagnostic as a line without "\n" (caller frees). */
char *diag_format(const struct diag *d);

/* diag_list_print: every diagnostic, one per line, in list order. */
void diag_list_print(FILE *fp, const struct diag_list *l);

/*
 * diag_list_to_json: the list as a JSON array, in list order, one object
 * per diagnostic: {"file","line","column","path","severity","message"}
 * (line and column null when unknown, path null when none; severity
 * "error" or "warning"). Returns a new tree the caller releases with
 * cJSON_Delete().
 */
cJSON *diag_list_to_json(const struct diag_list *l);

void diag_list_free(struct diag_list *l);

#endif
