/*
 * doc: reading one YAML document of a manifest with locations and
 * messages, shared by the kinds (the interface between manifests/loader.c
 * and each kind's loader, e.g. manifests/kind-sandbox.c).
 *
 * A struct doc is the loader's cursor in one document: the file it came
 * from, the field path being read ("spec.volumes[0].mountPath", kept up to
 * date with doc_push()/doc_pop()), and where problems go. Every problem is
 * recorded with the offending value's location and the current path, and
 * reading goes on, so one run reports all errors. Each helper returns true
 * when the value was good; on false it has already reported why.
 *
 * Messages follow STYLE.md: lowercase, the problem first, then
 * "(expected ...)".
 */
#ifndef SF_MANIFESTS_DOC_H
#define SF_MANIFESTS_DOC_H

#include <stdbool.h>
#include <stddef.h>

#include "manifests/diag.h"
#include "manifests/manifest.h"
#include "manifests/ytree.h"

#define DOC_PATH_MAX 512 /* a reported path is cut at this - 1 bytes */
#define DOC_MAX_SEGS (2 * MANIFEST_MAX_DEPTH + 8)

/* One step of the path: a key (kept by the caller until popped), or an
 * index when key is NULL. */
struct doc_seg {
	const char *key;
	size_t index;
};

struct doc {
	struct diag_list *diags;
	const char *file; /* the name the file is reported as */
	/* the path to where the loader is: written out only when reported
	 * (the loader pushes every key it reads) */
	struct doc_seg seg[DOC_MAX_SEGS];
	size_t nseg;   /* may pass DOC_MAX_SEGS: those are not kept */
	bool error;    /* this document had an error */
	bool too_many; /* MANIFEST_MAX_ERRORS reached: nothing more is kept */
};

void doc_report(struct doc *d, enum diag_severity sev, const struct ynode *n,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));
#define DOC_ERR(d, n, ...)  doc_report(d, DIAG_ERROR, n, __VA_ARGS__)
#define DOC_WARN(d, n, ...) doc_report(d, DIAG_WARNING, n, __VA_ARGS__)

/* doc_push: append ".key" (or ["key"]) to the path (key must live until
 * popped); returns the old depth for doc_pop(). */
size_t doc_push(struct doc *d, const char *key);
size_t doc_push_index(struct doc *d, size_t i);
void doc_pop(struct doc *d, size_t old);

/* doc_what: "a mapping", "a list", "nothing", "a plain value", ... */
const char *doc_what(const struct ynode *n);
/* doc_has_control: s holds a control character (< 0x20 or 0x7f). */
bool doc_has_control(const char *s);

/* doc_string: any scalar but null, as its text. */
bool doc_string(struct doc *d, const struct ynode *n, const char **out);
/* doc_word: a non-empty string without spaces or control characters,
 * copied into *out (caller frees); what names it in messages. */
bool doc_word(struct doc *d, const struct ynode *n, const char *what,
              char **out);
/* doc_int: a plain decimal integer in [min, max]; hint is the expected
 * text. */
bool doc_int(struct doc *d, const struct ynode *n, long long min, long long max,
             const char *hint, long long *out);
/* doc_bool: true/True/TRUE or false/False/FALSE, unquoted. */
bool doc_bool(struct doc *d, const struct ynode *n, bool *out);

/*
 * doc_fields: match the keys of map against names[0..n) and store each
 * value node in vals[] (NULL when absent or null) and its key node in
 * keys[]. Unknown, duplicate and non-string keys are reported. A null map
 * counts as empty. Returns false when map is not a mapping (reported).
 */
bool doc_fields(struct doc *d, const struct ynode *map,
                const char *const *names, size_t n, const struct ynode **vals,
                const struct ynode **keys);

/* One key/value pair of a mapping, for maps of user keys (labels, env). */
struct doc_pair {
	const struct ynode *k, *v;
	size_t idx;
};

/* doc_sorted_pairs: the string-keyed pairs of map sorted by key (byte
 * order), duplicates reported and dropped. Returns the count; *out is the
 * caller's (free()). */
size_t doc_sorted_pairs(struct doc *d, const struct ynode *map,
                        struct doc_pair **out);

/* ---- the kinds (one loader per kind: manifests/kind-*.c) ---------------- */

/*
 * A kind's loader reads the metadata and spec nodes of one document whose
 * apiVersion and kind were checked (spec may be NULL when absent), and adds
 * what it built to set when the document had no error (d->error).
 */
typedef void (*doc_kind_fn)(struct doc *d, const struct ynode *root,
                            const struct ynode *metadata,
                            const struct ynode *spec, struct manifest_set *set);

void kind_sandbox_load(struct doc *d, const struct ynode *root,
                       const struct ynode *metadata, const struct ynode *spec,
                       struct manifest_set *set);
void kind_volume_load(struct doc *d, const struct ynode *root,
                      const struct ynode *metadata, const struct ynode *spec,
                      struct manifest_set *set);
void kind_snapshot_load(struct doc *d, const struct ynode *root,
                        const struct ynode *metadata, const struct ynode *spec,
                        struct manifest_set *set);
void kind_stack_load(struct doc *d, const struct ynode *root,
                     const struct ynode *metadata, const struct ynode *spec,
                     struct manifest_set *set);

#endif
