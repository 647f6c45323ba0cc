/*
 * diag: diagnostics are collected, then sorted and printed together, so a
 * user sees every problem of a run at once and in file order.
 */
#include "common/base.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/escape.h"
#include "common/xalloc.h"
#include "manifests/diag.h"

void
diag_add(struct diag_list *l, enum diag_severity sev, const char *file,
         unsigned line, unsigned col, const char *path, const char *fmt, ...)
{
	struct diag *d;
	va_list ap;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	d = &l->v[l->n++];
	d->severity = sev;
	d->file = xstrdup(file ? file : "-");
	d->line = line;
	d->col = col;
	d->path = path && *path ? xstrdup(path) : NULL;
	va_start(ap, fmt);
	d->msg = xvasprintf(fmt, ap);
	va_end(ap);
	if (sev == DIAG_ERROR)
		l->n_errors++;
	else
		l->n_warnings++;
}

static int
diag_cmp(const struct diag *a, const struct diag *b)
{
	int c = strcmp(a->file, b->file);

	if (c != 0)
		return c;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	if (a->col != b->col)
		return a->col < b->col ? -1 : 1;
	return 0;
}

static void
merge_sort(struct diag *v, struct diag *tmp, size_t n)
{
	size_t mid = n / 2, i = 0, j = mid, k = 0;

	if (n < 2)
		return;
	merge_sort(v, tmp, mid);
	merge_sort(v + mid, tmp, n - mid);
	while (i < mid && j < n)
		tmp[k++] = diag_cmp(&v[j], &v[i]) < 0 ? v[j++] : v[i++];
	while (i < mid)
		tmp[k++] = v[i++];
	while (j < n)
		tmp[k++] = v[j++];
	memcpy(v, tmp, n * sizeof(*v));
}

void
diag_list_sort(struct diag_list *l)
{
	struct diag *tmp;

	/* Stable: diagnostics at the same place keep their order. */
	if (l->n < 2)
		return;
	tmp = xreallocarray(NULL, l->n, sizeof(*tmp));
	merge_sort(l->v, tmp, l->n);
	free(tmp);
}

char *
diag_format(const struct diag *d)
{
	struct buf b = BUF_INIT;
	char *line, *safe;

	buf_addstr(&b, d->file);
	if (d->line > 0) {
		buf_addf(&b, ":%u", d->line);
		if (d->col > 0)
			buf_addf(&b, ":%u", d->col);
	}
	buf_addstr(&b, ": ");
	if (d->severity == DIAG_WARNING)
		buf_addstr(&b, "warning: ");
	if (d->path)
		buf_addf(&b, "%s: ", d->path);
	buf_addstr(&b, d->msg);
	/* messages quote what manifests say: nothing may reach a terminal
	 * as a control sequence */
	line = buf_detach(&b, NULL);
	safe = esc_text(line);
	free(line);
	return safe;
}

void
diag_list_print(FILE *fp, const struct diag_list *l)
{
	size_t i;
	char *s;

	for (i = 0; i < l->n; i++) {
		s = diag_format(&l->v[i]);
		fprintf(fp, "%s\n", s);
		free(s);
	}
}

cJSON *
diag_list_to_json(const struct diag_list *l)
{
	cJSON *a = cJSON_CreateArray(), *o;
	const struct diag *d;
	size_t i;

	for (i = 0; i < l->n; i++) {
		d = &l->v[i];
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "file", d->file);
		if (d->line > 0)
			cJSON_AddNumberToObject(o, "line", d->line);
		else
			cJSON_AddNullToObject(o, "line");
		if (d->line > 0 && d->col > 0)
			cJSON_AddNumberToObject(o, "column", d->col);
		else
			cJSON_AddNullToObject(o, "column");
		if (d->path)
			cJSON_AddStringToObject(o, "path", d->path);
		else
			cJSON_AddNullToObject(o, "path");
		cJSON_AddStringToObject(o, "severity",
		                        d->severity == DIAG_ERROR ? "error"
		                                                  : "warning");
		cJSON_AddStringToObject(o, "message", d->msg);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

void
diag_list_free(struct diag_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++) {
		free(l->v[i].file);
		free(l->v[i].path);
		free(l->v[i].msg);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}
