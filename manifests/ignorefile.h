/*
 * ignorefile: which files a source skips: the patterns of a
 * .sandformignore at the source's root and of the stack file's exclude:,
 * in gitignore's syntax (docs/manifest.md "Skipping files"): a blank line
 * or '#' is nothing; '!' re-includes; a trailing '/' matches directories
 * only; a pattern with a '/' elsewhere is matched against the path from
 * the root (a leading '/' only anchors), one without against the name at
 * any depth; '*', '?' and [...] do not cross '/', "**" does. The last
 * pattern that matches decides; what is inside a skipped directory is
 * skipped with it.
 */
#ifndef SF_MANIFESTS_IGNOREFILE_H
#define SF_MANIFESTS_IGNOREFILE_H

#include <stdbool.h>
#include <stddef.h>

/* The file read at a source's root. */
#define IGNOREFILE_NAME ".sandformignore"

struct ignorefile {
	char **pats;
	size_t n;
};

#define IGNOREFILE_INIT \
	{               \
		NULL, 0 \
	}

/* ignorefile_add: one pattern (a line of the file, or an exclude:). */
void ignorefile_add(struct ignorefile *f, const char *pattern);
/* ignorefile_parse: every line of text. */
void ignorefile_parse(struct ignorefile *f, const char *text, size_t len);
/* ignorefile_skips: whether rel (the path from the root, '/'-separated)
 * is skipped; is_dir for a directory. */
bool ignorefile_skips(const struct ignorefile *f, const char *rel, bool is_dir);
void ignorefile_clear(struct ignorefile *f);

#endif
