/*
 * kind-sandbox: the Sandbox kind: one document → one struct spec
 * (docs/manifest.md), validated field by field and across fields.
 *
 * The scalar fields (words, integers, booleans) are read through the field
 * table of manifests/spec.c; labels, env, the network lists, volumes and
 * state have their own readers below. A document with an error adds no
 * sandbox; the loader hands out the set only when the run had none.
 */
#include "common/base.h"

#include <ctype.h>
#include <pthread.h>

#include "common/buf.h"
#include "common/intern.h"
#include "common/redact.h"
#include "common/validate.h"
#include "common/xalloc.h"
#include "manifests/doc.h"
#include "manifests/rules.h"
#include "manifests/secret.h"
#include "manifests/spec.h"

static bool
v_is_map(const struct ynode *n)
{
	return n->type == YNODE_MAP;
}

static void
set_pos(struct spec *s, enum spec_field f, const struct ynode *n)
{
	spec_pos_set(s, f, n->line, n->col);
}

/*
 * load_scalar: a WORD, INT or BOOL field of the table at node n (the
 * caller pushed its key on the path). min overrides the table's lower
 * bound of an integer (resources without an image accept 0).
 */
static bool
load_scalar(struct doc *d, const struct spec_field_info *fi,
            const struct ynode *n, long long min, struct spec *s)
{
	char *base = (char *)s;
	long long v;
	bool b;
	char *w;

	switch (fi->type) {
	case SPEC_T_WORD:
		if (!doc_word(d, n, fi->expect, &w))
			return false;
		/* a snapshot or user 100,000 specs name: one shared copy */
		*(char **)(base + fi->off) = intern_dup(w);
		free(w);
		break;
	case SPEC_T_INT:
		if (!doc_int(d, n, min, fi->max, fi->expect, &v))
			return false;
		*(int *)(base + fi->off) = (int)v;
		*(bool *)(base + fi->has_off) = true;
		break;
	case SPEC_T_BOOL:
		if (!doc_bool(d, n, &b))
			return false;
		*(bool *)(base + fi->off) = b;
		if (fi->has_off)
			*(bool *)(base + fi->has_off) = true;
		break;
	default:
		return false;
	}
	set_pos(s, fi->id, n);
	return true;
}

/* The keys of group parent (spec's own fields: those under "spec."). */
static size_t
group_keys_of(enum spec_field parent, const char **keys, enum spec_field *ids)
{
	size_t n = 0;
	int f;

	for (f = 1; f < SPEC_F_COUNT; f++) {
		if (spec_fields[f].parent != parent)
			continue;
		if (parent == SPEC_F_DOCUMENT &&
		    strncmp(spec_fields[f].path, "spec.", 5) != 0)
			continue;
		ids[n] = (enum spec_field)f;
		keys[n++] = spec_fields[f].key;
	}
	return n;
}

/* The keys of spec and of spec.resources, read for every document: found
 * once. */
static struct {
	const char *keys[SPEC_F_COUNT];
	enum spec_field ids[SPEC_F_COUNT];
	size_t n;
} spec_keys, resource_keys;
static pthread_once_t keys_once = PTHREAD_ONCE_INIT;

static void
find_keys(void)
{
	spec_keys.n =
	        group_keys_of(SPEC_F_DOCUMENT, spec_keys.keys, spec_keys.ids);
	resource_keys.n = group_keys_of(SPEC_F_RESOURCES, resource_keys.keys,
	                                resource_keys.ids);
}

static size_t
group_keys(enum spec_field parent, const char **keys, enum spec_field *ids)
{
	pthread_once(&keys_once, find_keys);
	if (parent == SPEC_F_DOCUMENT) {
		memcpy(keys, spec_keys.keys, spec_keys.n * sizeof(*keys));
		memcpy(ids, spec_keys.ids, spec_keys.n * sizeof(*ids));
		return spec_keys.n;
	}
	if (parent == SPEC_F_RESOURCES) {
		memcpy(keys, resource_keys.keys,
		       resource_keys.n * sizeof(*keys));
		memcpy(ids, resource_keys.ids, resource_keys.n * sizeof(*ids));
		return resource_keys.n;
	}
	return group_keys_of(parent, keys, ids);
}

static void
load_labels(struct doc *d, const struct ynode *n, struct spec *s)
{
	struct doc_pair *kv = NULL;
	size_t i, m, old;
	const char *val;
	unsigned cp;

	if (n->type != YNODE_MAP) {
		DOC_ERR(d, n, "got %s (expected a mapping of string to string)",
		        doc_what(n));
		return;
	}
	m = doc_sorted_pairs(d, n, &kv);
	for (i = 0; i < m; i++) {
		old = doc_push(d, kv[i].k->value);
		if (kv[i].k->len == 0 || doc_has_control(kv[i].k->value)) {
			DOC_ERR(d, kv[i].k,
			        "invalid label key (expected a non-empty key "
			        "without control characters)");
		} else if (strncmp(kv[i].k->value, SPEC_RESERVED_LABEL_PREFIX,
		                   strlen(SPEC_RESERVED_LABEL_PREFIX)) == 0) {
			DOC_ERR(d, kv[i].k,
			        "label keys starting with '%s' are reserved "
			        "for "
			        "sandform (expected another key)",
			        SPEC_RESERVED_LABEL_PREFIX);
		} else if ((cp = rule_invisible(kv[i].k->value)) != 0) {
			DOC_ERR(d, kv[i].k,
			        "label key contains U+%04X, an invisible, "
			        "reordering or control character (expected "
			        "visible text only)",
			        cp);
		} else if (kv[i].k->len > RULE_MAX_LABEL_KEY) {
			DOC_ERR(d, kv[i].k,
			        "label key of %zu bytes (expected at most %d)",
			        kv[i].k->len, RULE_MAX_LABEL_KEY);
		} else if (doc_string(d, kv[i].v, &val)) {
			if (doc_has_control(val))
				DOC_ERR(d, kv[i].v,
				        "control character in label value "
				        "(expected a value without control "
				        "characters)");
			else if ((cp = rule_invisible(val)) != 0)
				DOC_ERR(d, kv[i].v,
				        "label value contains U+%04X, an "
				        "invisible, reordering or control "
				        "character (expected visible text "
				        "only)",
				        cp);
			else if (strlen(val) > RULE_MAX_LABEL_VALUE)
				DOC_ERR(d, kv[i].v,
				        "label value of %zu bytes (expected at "
				        "most %d)",
				        strlen(val), RULE_MAX_LABEL_VALUE);
			else
				strmap_set(&s->labels, kv[i].k->value, val);
		}
		doc_pop(d, old);
	}
	free(kv);
}

/* load_secret_ref: {secretEnv: NAME} or {secretFile: PATH} into e. */
static bool
load_secret_ref(struct doc *d, const struct ynode *v, struct spec_env *e)
{
	static const char *const refs[] = { "secretEnv", "secretFile" };
	const struct ynode *vals[2], *keys[2];
	const char *val;
	bool ok = false;
	size_t old;

	if (!doc_fields(d, v, refs, 2, vals, keys))
		return false;
	if (vals[0] && vals[1]) {
		old = doc_push(d, "secretFile");
		DOC_ERR(d, vals[1],
		        "secretEnv and secretFile are exclusive (expected one "
		        "of them)");
		doc_pop(d, old);
		return false;
	}
	if (!vals[0] && !vals[1]) {
		DOC_ERR(d, v,
		        "empty secret reference (expected {secretEnv: NAME} or "
		        "{secretFile: PATH})");
		return false;
	}
	old = doc_push(d, vals[0] ? "secretEnv" : "secretFile");
	if (vals[0] && doc_string(d, vals[0], &val)) {
		if (!rule_env_name_ok(val))
			DOC_ERR(d, vals[0],
			        "'%s' is not a variable name (expected "
			        "[A-Za-z_][A-Za-z0-9_]*)",
			        val);
		else if (secret_env_refused(val))
			DOC_ERR(d, vals[0],
			        "'%s' is one of sandform's or Daytona's own "
			        "variables, which manifests may not read "
			        "(expected another variable; DAYTONA_* and "
			        "SANDFORM_* are refused)",
			        val);
		else {
			e->kind = SPEC_ENV_SECRET_ENV;
			e->value = xstrdup(val);
			ok = true;
		}
	} else if (vals[1] && doc_string(d, vals[1], &val)) {
		if (val[0] != '/' || doc_has_control(val))
			DOC_ERR(d, vals[1],
			        "'%s' is not an absolute path (expected a path "
			        "starting with /)",
			        val);
		else {
			e->kind = SPEC_ENV_SECRET_FILE;
			e->value = xstrdup(val);
			ok = true;
		}
	}
	doc_pop(d, old);
	return ok;
}

/* looks_like_variable: "$NAME" or "${NAME}" somewhere in v, which a
 * shell would expand and sandform does not. */
static bool
looks_like_variable(const char *v)
{
	const char *p;

	for (p = strchr(v, '$'); p; p = strchr(p + 1, '$')) {
		const char *q = p + 1 + (p[1] == '{');

		if (isalpha((unsigned char)*q) || *q == '_')
			return true;
	}
	return false;
}

static void
load_env(struct doc *d, const struct ynode *n, struct spec *s)
{
	struct doc_pair *kv = NULL;
	size_t i, m, old;
	struct spec_env e;

	if (n->type != YNODE_MAP) {
		DOC_ERR(d, n,
		        "got %s (expected a mapping of variable names to "
		        "values)",
		        doc_what(n));
		return;
	}
	m = doc_sorted_pairs(d, n, &kv);
	s->env = xreallocarray(NULL, m + 1, sizeof(*s->env));
	for (i = 0; i < m; i++) {
		const struct ynode *v = kv[i].v;

		old = doc_push(d, kv[i].k->value);
		memset(&e, 0, sizeof(e));
		if (kv[i].k->len == 0 || strchr(kv[i].k->value, '=') ||
		    doc_has_control(kv[i].k->value)) {
			DOC_ERR(d, kv[i].k,
			        "invalid variable name (expected a name "
			        "without '=' or control characters)");
		} else if (v->type == YNODE_MAP) {
			if (load_secret_ref(d, v, &e)) {
				e.key = xstrdup(kv[i].k->value);
				s->env[s->nenv++] = e;
			}
		} else if (v->type != YNODE_SCALAR || ynode_is_null(v)) {
			DOC_ERR(d, v,
			        "got %s (expected a string, {secretEnv: NAME} "
			        "or {secretFile: PATH})",
			        doc_what(v));
		} else {
			if (looks_like_variable(v->value))
				DOC_WARN(d, v,
				         "'%s' is taken literally: sandform "
				         "does "
				         "not expand variables (expected "
				         "{secretEnv: NAME} to read one)",
				         v->value);
			e.key = xstrdup(kv[i].k->value);
			e.kind = SPEC_ENV_PLAIN;
			e.value = xstrdup(v->value);
			s->env[s->nenv++] = e;
		}
		doc_pop(d, old);
	}
	free(kv);
}

/* load_list: a network allow list into *out, comma-joined ("" when empty). */
static void
load_list(struct doc *d, const struct ynode *n, bool (*ok)(const char *),
          const char *expect, char **out)
{
	struct strmap seen = STRMAP_INIT;
	struct buf b = BUF_INIT;
	size_t i, old;
	const char *val;

	if (n->type != YNODE_SEQ) {
		DOC_ERR(d, n, "got %s (expected a list of %s)", doc_what(n),
		        expect);
		return;
	}
	if (n->n > SPEC_MAX_NETWORK_LIST) {
		DOC_ERR(d, n, "%zu entries (expected at most %d)", n->n,
		        SPEC_MAX_NETWORK_LIST);
		return;
	}
	for (i = 0; i < n->n; i++) {
		old = doc_push_index(d, i);
		if (!doc_string(d, n->kids[i], &val)) {
			/* reported */
		} else if (!ok(val)) {
			DOC_ERR(d, n->kids[i], "'%s' is invalid (expected %s)",
			        val, expect);
		} else if (strmap_get(&seen, val)) {
			DOC_ERR(d, n->kids[i],
			        "duplicate entry '%s' (expected unique "
			        "entries)",
			        val);
		} else {
			strmap_set(&seen, val, "");
			if (b.len)
				buf_addch(&b, ',');
			buf_addstr(&b, val);
		}
		doc_pop(d, old);
	}
	strmap_clear(&seen);
	*out = buf_detach(&b, NULL);
}

static void
load_network(struct doc *d, const struct ynode *n, struct spec *s)
{
	static const char *const names[] = { "blockAll", "allowList",
		                             "domainAllowList" };
	const struct ynode *v[3], *k[3];
	const struct spec_field_info *fa = &spec_fields[SPEC_F_ALLOW_LIST];
	const struct spec_field_info *fd =
	        &spec_fields[SPEC_F_DOMAIN_ALLOW_LIST];
	size_t old;

	if (!doc_fields(d, n, names, 3, v, k))
		return;
	s->has_network = v[0] || v[1] || v[2];
	if (v[0]) {
		old = doc_push(d, names[0]);
		if (doc_bool(d, v[0], &s->network.block_all)) {
			s->network.has_block_all = true;
			set_pos(s, SPEC_F_BLOCK_ALL, v[0]);
		}
		doc_pop(d, old);
	}
	if (v[1]) {
		old = doc_push(d, names[1]);
		set_pos(s, SPEC_F_ALLOW_LIST, v[1]);
		load_list(d, v[1], rule_cidr_ok, fa->expect,
		          &s->network.allow_list);
		if (s->network.block_all && s->network.allow_list &&
		    *s->network.allow_list)
			DOC_ERR(d, v[1],
			        "blockAll: true and a non-empty allowList "
			        "conflict (expected one of them)");
		doc_pop(d, old);
	}
	if (v[2]) {
		old = doc_push(d, names[2]);
		set_pos(s, SPEC_F_DOMAIN_ALLOW_LIST, v[2]);
		load_list(d, v[2], rule_domain_ok, fd->expect,
		          &s->network.domain_allow_list);
		doc_pop(d, old);
	}
}

/* load_mount: spec.volumes[i].mountPath, unique among the volumes so far. */
static char *
load_mount(struct doc *d, const struct ynode *n, const struct spec *s)
{
	const char *val;
	size_t j;

	if (!doc_string(d, n, &val))
		return NULL;
	if (!rule_mount_path_ok(val)) {
		DOC_ERR(d, n,
		        "'%s' is not a valid mount path (expected an absolute "
		        "path, not /, without '.', '..' or '//')",
		        val);
		return NULL;
	}
	for (j = 0; j < s->nvolumes; j++)
		if (strcmp(s->volumes[j].mount_path, val) == 0) {
			DOC_ERR(d, n,
			        "mount path '%s' is used twice (expected "
			        "unique "
			        "mount paths)",
			        val);
			break;
		}
	return xstrdup(val);
}

static void
load_volume(struct doc *d, const struct ynode *n, struct spec *s)
{
	static const char *const names[] = { "volume", "mountPath", "subpath" };
	const struct ynode *v[3], *k[3];
	struct spec_volume vol = { NULL, NULL, NULL };
	const char *val;
	size_t old;

	if (ynode_is_null(n)) {
		DOC_ERR(d, n, "empty entry (expected {volume, mountPath})");
		return;
	}
	if (!doc_fields(d, n, names, 3, v, k))
		return;
	if (v[0] == NULL) {
		DOC_ERR(d, n, "missing volume (expected a volume name)");
	} else {
		old = doc_push(d, names[0]);
		doc_word(d, v[0], "a volume name or id", &vol.volume);
		doc_pop(d, old);
	}
	if (v[1] == NULL) {
		DOC_ERR(d, n, "missing mountPath (expected an absolute path)");
	} else {
		old = doc_push(d, names[1]);
		vol.mount_path = load_mount(d, v[1], s);
		doc_pop(d, old);
	}
	if (v[2] != NULL) {
		old = doc_push(d, names[2]);
		if (!doc_string(d, v[2], &val))
			/* reported */;
		else if (!rule_subpath_ok(val))
			DOC_ERR(d, v[2],
			        "'%s' is not a valid subpath (expected a "
			        "relative path without '..' or '//')",
			        val);
		else
			vol.subpath = xstrdup(val);
		doc_pop(d, old);
	}
	if (vol.volume && vol.mount_path && (v[2] == NULL || vol.subpath)) {
		s->volumes[s->nvolumes++] = vol;
	} else {
		free(vol.volume);
		free(vol.mount_path);
		free(vol.subpath);
	}
}

static void
load_volumes(struct doc *d, const struct ynode *n, struct spec *s)
{
	size_t i, old;

	s->has_volumes = true;
	if (n->type != YNODE_SEQ) {
		DOC_ERR(d, n,
		        "got %s (expected a list of {volume, mountPath, "
		        "subpath})",
		        doc_what(n));
		return;
	}
	s->volumes = xreallocarray(NULL, n->n + 1, sizeof(*s->volumes));
	for (i = 0; i < n->n; i++) {
		old = doc_push_index(d, i);
		load_volume(d, n->kids[i], s);
		doc_pop(d, old);
	}
}

/*
 * load_resources: spec.resources. With an image each value is managed
 * (cpu, memory and disk from 1). Without one the snapshot fixes the
 * resources and Daytona refuses only truthy values, so 0 is accepted there
 * too (and then nothing is managed); a truthy value is an error.
 */
static void
load_resources(struct doc *d, const struct ynode *n, struct spec *s,
               const struct ynode *image, const struct ynode *snapshot)
{
	const char *keys[SPEC_F_COUNT];
	enum spec_field ids[SPEC_F_COUNT];
	const struct ynode *v[SPEC_F_COUNT], *k[SPEC_F_COUNT];
	size_t i, nk = group_keys(SPEC_F_RESOURCES, keys, ids), old;
	bool truthy = false;

	set_pos(s, SPEC_F_RESOURCES, n);
	if (!doc_fields(d, n, keys, nk, v, k))
		return;
	for (i = 0; i < nk; i++) {
		const struct spec_field_info *fi = &spec_fields[ids[i]];

		if (v[i] == NULL)
			continue;
		old = doc_push(d, keys[i]);
		if (load_scalar(d, fi, v[i], image ? fi->min : 0, s) &&
		    *(int *)((char *)s + fi->off) != 0)
			truthy = true;
		doc_pop(d, old);
	}
	if (image != NULL)
		return;
	if (truthy) {
		DOC_ERR(d, n,
		        snapshot ? "resources cannot be set with a snapshot, "
		                   "which fixes them (expected spec.image, or "
		                   "no resources)"
		                 : "resources need an image; the default "
		                   "snapshot fixes them (expected spec.image, "
		                   "or no resources)");
		return;
	}
	/* only null and 0: nothing set, nothing managed */
	s->has_cpu = s->has_memory = s->has_disk = s->has_gpu = false;
	for (i = SPEC_F_RESOURCES; i <= SPEC_F_GPU; i++)
		spec_pos_set(s, i, 0, 0);
}

static void
load_state(struct doc *d, const struct ynode *n, struct spec *s)
{
	const char *val;

	if (!doc_string(d, n, &val))
		return;
	if (spec_state_parse(val, &s->state) < 0)
		DOC_ERR(d, n,
		        "unknown state '%s' (expected started, stopped, "
		        "archived or paused)",
		        val);
	else
		set_pos(s, SPEC_F_STATE, n);
}

/* load_gpu_types: spec.gpuType, a GPU type or an ordered list of them. */
static void
load_gpu_types(struct doc *d, const struct ynode *n, struct spec *s)
{
	const struct ynode *one = n;
	size_t i, j, m = n->type == YNODE_SEQ ? n->n : 1, old;
	const char *val;

	set_pos(s, SPEC_F_GPU_TYPE, n);
	if (n->type != YNODE_SEQ && n->type != YNODE_SCALAR) {
		DOC_ERR(d, n, "got %s (expected %s)", doc_what(n),
		        spec_fields[SPEC_F_GPU_TYPE].expect);
		return;
	}
	if (m == 0 || m > SPEC_NGPU_TYPES) {
		DOC_ERR(d, n, "%zu entries (expected 1 to %d GPU types)", m,
		        SPEC_NGPU_TYPES);
		return;
	}
	s->gpu_types = xcalloc(m + 1, sizeof(*s->gpu_types));
	for (i = 0; i < m; i++) {
		if (n->type == YNODE_SEQ)
			one = n->kids[i];
		old = doc_push_index(d, i);
		if (!doc_string(d, one, &val)) {
			/* reported */
		} else if (!spec_gpu_type_ok(val)) {
			DOC_ERR(d, one,
			        "unknown GPU type '%s' (expected H100, H200, "
			        "B300, RTX-PRO-6000, RTX-4090, RTX-5090 or "
			        "MI355X)",
			        val);
		} else {
			for (j = 0; j < s->ngpu_types; j++)
				if (strcmp(s->gpu_types[j], val) == 0)
					break;
			if (j < s->ngpu_types)
				DOC_ERR(d, one,
				        "duplicate GPU type '%s' (expected "
				        "each type once)",
				        val);
			else
				s->gpu_types[s->ngpu_types++] = xstrdup(val);
		}
		doc_pop(d, old);
	}
}

/* one spec.secrets entry k: v whose value w is a word */
static void
load_secret(struct doc *d, const struct ynode *k, const struct ynode *v,
            const char *w, struct spec *s)
{
	char at[32];

	if (!validate_secret_name(w)) {
		DOC_ERR(d, v,
		        "'%s' is not a secret name (expected "
		        "[A-Za-z_][A-Za-z0-9_-]*)",
		        w);
		return;
	}
	snprintf(at, sizeof(at), "%u:%u", v->line, v->col);
	strmap_set(&s->secrets, k->value, w);
	strmap_set(&s->secret_pos, k->value, at);
}

/* load_secrets: spec.secrets, {ENV: organization secret name}. */
static void
load_secrets(struct doc *d, const struct ynode *n, struct spec *s)
{
	struct doc_pair *kv = NULL;
	size_t i, m, old;
	char *w = NULL;

	set_pos(s, SPEC_F_SECRETS, n);
	s->has_secrets = true;
	if (ynode_is_null(n))
		return;
	if (n->type != YNODE_MAP) {
		DOC_ERR(d, n, "got %s (expected %s)", doc_what(n),
		        spec_fields[SPEC_F_SECRETS].expect);
		return;
	}
	m = doc_sorted_pairs(d, n, &kv);
	if (m > SPEC_MAX_SECRETS)
		DOC_ERR(d, n, "%zu secrets (expected at most %d)", m,
		        SPEC_MAX_SECRETS);
	for (i = 0; i < m && m <= SPEC_MAX_SECRETS; i++) {
		old = doc_push(d, kv[i].k->value);
		if (!rule_env_name_ok(kv[i].k->value))
			DOC_ERR(d, kv[i].k,
			        "'%s' is not a variable name (expected "
			        "[A-Za-z_][A-Za-z0-9_]*)",
			        kv[i].k->value);
		else if (v_is_map(kv[i].v))
			DOC_ERR(d, kv[i].v,
			        "got a mapping (expected the name of an "
			        "organization secret; secretEnv and secretFile "
			        "belong in spec.env)");
		else if (doc_word(d, kv[i].v, "an organization secret name",
		                  &w))
			load_secret(d, kv[i].k, kv[i].v, w, s);
		free(w);
		w = NULL;
		doc_pop(d, old);
	}
	free(kv);
}

/* url_has_userinfo: an '@' in the URL's authority. */
static bool
url_has_userinfo(const char *u)
{
	char *m = redact_url_userinfo(u);
	bool has = strcmp(m, u) != 0;

	free(m);
	return has;
}

/* proxy_url_ok: http:// or https:// and a host (credentials are refused
 * apart, by url_has_userinfo). */
static bool
proxy_url_ok(const char *u)
{
	const char *h;

	if (strncmp(u, "http://", 7) == 0)
		h = u + 7;
	else if (strncmp(u, "https://", 8) == 0)
		h = u + 8;
	else
		return false;
	return *h != '\0' && *h != '/' && *h != ':' &&
	       strlen(u) <= SPEC_MAX_URL;
}

/* A location for a message about a field that was read (its position). */
static const struct ynode *
at(const struct spec *s, enum spec_field f, struct ynode *tmp)
{
	struct spec_pos p = spec_pos_get(s, f);

	memset(tmp, 0, sizeof(*tmp));
	tmp->line = p.line;
	tmp->col = p.col;
	return tmp;
}

/* The rules across the 0.218 fields (docs/manifest.md). */
static void
check_new_fields(struct doc *d, struct spec *s)
{
	struct ynode tmp;
	size_t old, i;

	if (s->has_auto_pause && s->auto_pause > 0 && s->has_auto_stop &&
	    s->auto_stop > 0) {
		old = doc_push(d, "autoPauseInterval");
		DOC_ERR(d, at(s, SPEC_F_AUTO_PAUSE, &tmp),
		        "autoStopInterval and autoPauseInterval are both "
		        "non-zero (expected at most one of them non-zero)");
		doc_pop(d, old);
	}
	if (s->has_auto_pause && s->auto_pause > 0 && s->has_auto_delete &&
	    s->auto_delete == 0) {
		old = doc_push(d, "autoPauseInterval");
		DOC_ERR(d, at(s, SPEC_F_AUTO_PAUSE, &tmp),
		        "an ephemeral sandbox (autoDeleteInterval: 0) cannot "
		        "auto-pause (expected autoPauseInterval: 0)");
		doc_pop(d, old);
	}
	if ((s->spot || s->gpu_types) && !(s->has_gpu && s->gpu > 0)) {
		old = doc_push(d, s->spot ? "spot" : "gpuType");
		DOC_ERR(d, at(s, s->spot ? SPEC_F_SPOT : SPEC_F_GPU_TYPE, &tmp),
		        "%s is for GPU sandboxes (expected "
		        "spec.resources.gpu: 1)",
		        s->spot ? "spot" : "gpuType");
		doc_pop(d, old);
	}
	if (s->kvm && !s->snapshot) {
		old = doc_push(d, "kvm");
		DOC_ERR(d, at(s, SPEC_F_KVM, &tmp),
		        "kvm is for sandboxes of a linux-vm snapshot (expected "
		        "spec.snapshot)");
		doc_pop(d, old);
	}
	if (s->outbound_proxy_url) {
		old = doc_push(d, "outboundProxyUrl");
		if (!proxy_url_ok(s->outbound_proxy_url))
			DOC_ERR(d, at(s, SPEC_F_OUTBOUND_PROXY, &tmp),
			        "not a proxy URL (expected %s)",
			        spec_fields[SPEC_F_OUTBOUND_PROXY].expect);
		else if (url_has_userinfo(s->outbound_proxy_url))
			DOC_ERR(d, at(s, SPEC_F_OUTBOUND_PROXY, &tmp),
			        "the URL holds credentials, which the state, "
			        "saved plans and Daytona's answers would keep "
			        "(expected a proxy URL without user:password@; "
			        "Daytona shows the URL to every member of the "
			        "organization)");
		doc_pop(d, old);
	}
	for (i = 0; i < s->secrets.n; i++) {
		if (!spec_env_find(s, s->secrets.v[i].key))
			continue;
		old = doc_push(d, "secrets");
		doc_push(d, s->secrets.v[i].key);
		DOC_ERR(d, at(s, SPEC_F_SECRETS, &tmp),
		        "'%s' is also in spec.env (expected each variable in "
		        "one of them)",
		        s->secrets.v[i].key);
		doc_pop(d, old);
	}
	if (s->state == SPEC_STATE_STARTED && s->has_auto_pause &&
	    s->auto_pause > 0) {
		old = doc_push(d, "state");
		DOC_WARN(d, at(s, SPEC_F_STATE, &tmp),
		         "started with autoPauseInterval %d: Daytona pauses it "
		         "when idle and each apply resumes it again (expected "
		         "autoPauseInterval: 0 to keep it running, or no "
		         "state)",
		         s->auto_pause);
		doc_pop(d, old);
	}
}

/* The rules across fields, once every field is read. */
static void
check_spec(struct doc *d, struct spec *s, bool auto_stop_written)
{
	struct ynode tmp;
	size_t old;

	if (s->has_auto_archive &&
	    s->auto_archive > SPEC_DEFAULT_MAX_AUTO_ARCHIVE) {
		old = doc_push(d, "autoArchiveInterval");
		DOC_WARN(d, at(s, SPEC_F_AUTO_ARCHIVE, &tmp),
		         "%d minutes is above Daytona's usual maximum, which "
		         "the server clamps to (expected at most %d)",
		         s->auto_archive, SPEC_DEFAULT_MAX_AUTO_ARCHIVE);
		doc_pop(d, old);
	}
	if (s->has_gpu && s->gpu > 0 &&
	    !(s->has_auto_delete && s->auto_delete == 0)) {
		old = doc_push(d, "resources");
		doc_push(d, "gpu");
		DOC_ERR(d, at(s, SPEC_F_GPU, &tmp),
		        "GPU sandboxes must be ephemeral (expected "
		        "spec.autoDeleteInterval: 0)");
		doc_pop(d, old);
	}
	/*
	 * Daytona deletes an ephemeral sandbox when it stops and refuses to
	 * archive one, so "stopped" or "archived" could never converge: every
	 * apply would create it and its stop would delete it again.
	 */
	if (s->has_auto_delete && s->auto_delete == 0 &&
	    (s->state == SPEC_STATE_STOPPED ||
	     s->state == SPEC_STATE_ARCHIVED)) {
		old = doc_push(d, "state");
		DOC_ERR(d, at(s, SPEC_F_STATE, &tmp),
		        "an ephemeral sandbox (autoDeleteInterval: 0) is "
		        "deleted "
		        "when it stops and cannot be archived (expected state: "
		        "started, no state, or an autoDeleteInterval other "
		        "than "
		        "0)");
		doc_pop(d, old);
	}
	/*
	 * Only when the interval in force is known: an autoStopInterval that
	 * was written but refused already has its error, and the default
	 * would not be what the user meant.
	 */
	check_new_fields(d, s);
	if (s->state == SPEC_STATE_STARTED &&
	    (s->has_auto_stop || !auto_stop_written) &&
	    (!s->has_auto_stop || s->auto_stop > 0) &&
	    !(s->has_auto_pause && s->auto_pause > 0 && !s->has_auto_stop)) {
		old = doc_push(d, "state");
		DOC_WARN(d, at(s, SPEC_F_STATE, &tmp),
		         "started with autoStopInterval %d%s: Daytona stops it "
		         "when idle and each apply starts it again (expected "
		         "autoStopInterval: 0 to keep it running, or no state)",
		         s->has_auto_stop ? s->auto_stop
		                          : SPEC_DEFAULT_AUTO_STOP,
		         s->has_auto_stop ? "" : " (the default)");
		doc_pop(d, old);
	}
}

static void
load_spec(struct doc *d, const struct ynode *n, struct spec *s)
{
	const char *keys[SPEC_F_COUNT];
	enum spec_field ids[SPEC_F_COUNT];
	const struct ynode *v[SPEC_F_COUNT], *k[SPEC_F_COUNT];
	const struct ynode *image = NULL, *snapshot = NULL;
	size_t i, nk = group_keys(SPEC_F_DOCUMENT, keys, ids), old;
	bool auto_stop_written = false;

	if (!doc_fields(d, n, keys, nk, v, k))
		return;
	for (i = 0; i < nk; i++) {
		if (ids[i] == SPEC_F_IMAGE)
			image = v[i];
		if (ids[i] == SPEC_F_SNAPSHOT)
			snapshot = v[i];
		/* "image:" with nothing after it is a slip, not a request for
		 * Daytona's default snapshot (that is: leave both out) */
		if ((ids[i] == SPEC_F_IMAGE || ids[i] == SPEC_F_SNAPSHOT) &&
		    k[i] != NULL && v[i] == NULL) {
			old = doc_push(d, keys[i]);
			DOC_ERR(d, k[i],
			        "no value (expected %s; leave both image and "
			        "snapshot out for Daytona's default snapshot)",
			        ids[i] == SPEC_F_IMAGE
			                ? "an image such as python:3.12"
			                : "a snapshot name or id");
			doc_pop(d, old);
		}
	}
	for (i = 0; i < nk; i++) {
		const struct spec_field_info *fi = &spec_fields[ids[i]];

		if (v[i] == NULL)
			continue;
		old = doc_push(d, keys[i]);
		switch (fi->id) {
		case SPEC_F_RESOURCES:
			load_resources(d, v[i], s, image, snapshot);
			break;
		case SPEC_F_ENV:
			set_pos(s, fi->id, v[i]);
			load_env(d, v[i], s);
			break;
		case SPEC_F_STATE:
			load_state(d, v[i], s);
			break;
		case SPEC_F_NETWORK:
			set_pos(s, fi->id, v[i]);
			load_network(d, v[i], s);
			break;
		case SPEC_F_VOLUMES:
			set_pos(s, fi->id, v[i]);
			load_volumes(d, v[i], s);
			break;
		case SPEC_F_GPU_TYPE:
			load_gpu_types(d, v[i], s);
			break;
		case SPEC_F_SECRETS:
			load_secrets(d, v[i], s);
			break;
		case SPEC_F_LIFECYCLE: {
			const char *lk[1] = {
				spec_fields[SPEC_F_PREVENT_DESTROY].key
			};
			const struct ynode *lv[1], *lkn[1];

			if (doc_fields(d, v[i], lk, 1, lv, lkn) && lv[0]) {
				size_t o2 = doc_push(d, lk[0]);

				load_scalar(
				        d, &spec_fields[SPEC_F_PREVENT_DESTROY],
				        lv[0], 0, s);
				doc_pop(d, o2);
			}
			break;
		}
		default:
			if (fi->id == SPEC_F_AUTO_STOP)
				auto_stop_written = true;
			load_scalar(d, fi, v[i], fi->min, s);
			if (fi->id == SPEC_F_SNAPSHOT && image)
				DOC_ERR(d, v[i],
				        "image and snapshot are exclusive "
				        "(expected one of them)");
		}
		doc_pop(d, old);
	}
	check_spec(d, s, auto_stop_written);
}

static void
load_metadata(struct doc *d, const struct ynode *root, const struct ynode *md,
              struct spec *s)
{
	static const char *const meta[] = { "name", "labels" };
	const struct ynode *mv[2], *mk[2];
	const char *val, *problem;
	size_t old = doc_push(d, "metadata");

	if (md == NULL) {
		DOC_ERR(d, root, "missing (expected a mapping with name)");
	} else if (doc_fields(d, md, meta, 2, mv, mk)) {
		size_t o2 = doc_push(d, "name");

		if (mv[0] == NULL) {
			DOC_ERR(d, md, "missing (expected a sandbox name)");
		} else if (doc_string(d, mv[0], &val)) {
			if ((problem = rule_name_problem(val)) != NULL) {
				DOC_ERR(d, mv[0], "%s", problem);
			} else {
				s->name = xstrdup(val);
				set_pos(s, SPEC_F_NAME, mv[0]);
				if (validate_uuid(val))
					DOC_WARN(
					        d, mv[0],
					        "name looks like a sandbox id; "
					        "Daytona looks ids up first "
					        "(expected a name not shaped "
					        "like a UUID)");
			}
		}
		doc_pop(d, o2);
		if (mv[1]) {
			o2 = doc_push(d, "labels");
			set_pos(s, SPEC_F_LABELS, mv[1]);
			load_labels(d, mv[1], s);
			doc_pop(d, o2);
		}
	}
	doc_pop(d, old);
}

void
kind_sandbox_load(struct doc *d, const struct ynode *root,
                  const struct ynode *metadata, const struct ynode *spec,
                  struct manifest_set *set)
{
	struct spec s;
	size_t old;

	memset(&s, 0, sizeof(s));
	set_pos(&s, SPEC_F_DOCUMENT, root);
	load_metadata(d, root, metadata, &s);
	if (spec) {
		old = doc_push(d, "spec");
		load_spec(d, spec, &s);
		doc_pop(d, old);
	}
	if (d->error || s.name == NULL) {
		spec_clear(&s);
		return;
	}
	s.file = intern_dup(d->file); /* freed by spec_clear */
	manifest_set_add_sandbox(set, &s);
}
