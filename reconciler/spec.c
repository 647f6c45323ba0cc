/*
 * spec: the desired sandbox as the reconciler sees it.
 *
 * Why the spec label has segments: the list endpoint returns neither the
 * image (buildInfo), nor env, nor volumes, so a change of one of them can
 * only be seen through the label sandform wrote at create time. One short
 * hash per group lets the plan name the group that changed without a GET.
 * Resources, snapshot, user, target and gpu come with every list item and
 * are compared directly, which also keeps a resize from looking like a
 * replace.
 */
#include "common/base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/jsonutil.h"
#include "common/xalloc.h"
#include "manifests/manifest.h"
#include "common/strmap.h"
#include "reconciler/spec.h"

const char *
spec_state_name(enum spec_state st)
{
	const char *name = sandbox_state_name((enum sandbox_state)st);

	return name ? name : "";
}

/* ---- network ------------------------------------------------------------ */

void
spec_network_copy(struct spec_network *dst, const struct spec_network *src)
{
	dst->has_block_all = src->has_block_all;
	dst->block_all = src->block_all;
	dst->allow_list = xstrdup_or_null(src->allow_list);
	dst->domain_allow_list = xstrdup_or_null(src->domain_allow_list);
}

void
spec_network_clear(struct spec_network *n)
{
	free(n->allow_list);
	free(n->domain_allow_list);
	memset(n, 0, sizeof(*n));
}

cJSON *
spec_network_to_json(const struct spec_network *n)
{
	cJSON *o = cJSON_CreateObject();

	if (n->has_block_all)
		cJSON_AddBoolToObject(o, "blockAll", n->block_all);
	if (n->allow_list)
		cJSON_AddStringToObject(o, "allowList", n->allow_list);
	if (n->domain_allow_list)
		cJSON_AddStringToObject(o, "domainAllowList",
		                        n->domain_allow_list);
	return o;
}

int
spec_network_from_json(const cJSON *obj, struct spec_network *out)
{
	const cJSON *v;

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(obj))
		return sf_error_set(SF_EINVALID, "network: not an object");
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "blockAll")) != NULL) {
		if (!cJSON_IsBool(v))
			return sf_error_set(SF_EINVALID,
			                    "network.blockAll: not a boolean");
		out->has_block_all = 1;
		out->block_all = cJSON_IsTrue(v);
	}
	v = cJSON_GetObjectItemCaseSensitive(obj, "allowList");
	if (cJSON_IsString(v))
		out->allow_list = xstrdup(v->valuestring);
	v = cJSON_GetObjectItemCaseSensitive(obj, "domainAllowList");
	if (cJSON_IsString(v))
		out->domain_allow_list = xstrdup(v->valuestring);
	return 0;
}

/* ---- the spec ------------------------------------------------------------ */

void
spec_free(struct spec *s)
{
	spec_clear(s);
	free(s);
}

void
spec_clear(struct spec *s)
{
	size_t i;

	if (s == NULL)
		return;
	free(s->name);
	free(s->file);
	strmap_clear(&s->labels);
	free(s->image);
	free(s->snapshot);
	for (i = 0; i < s->nenv; i++) {
		free(s->env[i].key);
		free(s->env[i].value);
	}
	free(s->env);
	free(s->user);
	free(s->target);
	spec_network_clear(&s->network);
	for (i = 0; i < s->nvolumes; i++) {
		free(s->volumes[i].volume);
		free(s->volumes[i].mount_path);
		free(s->volumes[i].subpath);
	}
	free(s->volumes);
	memset(s, 0, sizeof(*s));
}

struct spec *
spec_dup(const struct spec *s)
{
	struct spec *d;
	size_t i;

	if (s == NULL)
		return NULL;
	d = xcalloc(1, sizeof(*d));
	*d = *s; /* scalars and hash; pointers replaced below */
	d->name = xstrdup_or_null(s->name);
	d->file = xstrdup_or_null(s->file);
	strmap_copy(&d->labels, &s->labels);
	d->image = xstrdup_or_null(s->image);
	d->snapshot = xstrdup_or_null(s->snapshot);
	d->env = s->nenv ? xcalloc(s->nenv, sizeof(*d->env)) : NULL;
	for (i = 0; i < s->nenv; i++) {
		d->env[i].key = xstrdup(s->env[i].key);
		d->env[i].kind = s->env[i].kind;
		d->env[i].value = xstrdup_or_null(s->env[i].value);
	}
	d->user = xstrdup_or_null(s->user);
	d->target = xstrdup_or_null(s->target);
	spec_network_copy(&d->network, &s->network);
	d->volumes =
	        s->nvolumes ? xcalloc(s->nvolumes, sizeof(*d->volumes)) : NULL;
	for (i = 0; i < s->nvolumes; i++) {
		d->volumes[i].volume = xstrdup_or_null(s->volumes[i].volume);
		d->volumes[i].mount_path =
		        xstrdup_or_null(s->volumes[i].mount_path);
		d->volumes[i].subpath = xstrdup_or_null(s->volumes[i].subpath);
	}
	return d;
}

static char *
join_list(char **v, size_t n)
{
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < n; i++) {
		if (i)
			buf_addch(&b, ',');
		buf_addstr(&b, v[i]);
	}
	return buf_detach(&b, NULL);
}

struct spec *
spec_from_manifest(const struct sandbox_spec *m)
{
	struct spec *s = xcalloc(1, sizeof(*s));
	const struct manifest_loc *loc = &m->loc[MF_DOCUMENT];
	size_t i;

	s->name = xstrdup(m->name);
	if (loc->file == NULL)
		loc = &m->loc[MF_NAME];
	s->file = xstrdup(loc->file ? loc->file : "-");
	s->line = (int)loc->line;
	for (i = 0; i < m->n_labels; i++)
		strmap_set(&s->labels, m->labels[i].key, m->labels[i].value);
	s->image = xstrdup_or_null(m->image);
	s->snapshot = xstrdup_or_null(m->snapshot);
	s->has_cpu = m->has_cpu;
	s->cpu = m->cpu;
	s->has_memory = m->has_memory;
	s->memory = m->memory;
	s->has_disk = m->has_disk;
	s->disk = m->disk;
	s->has_gpu = m->has_gpu;
	s->gpu = m->gpu;
	s->env = m->n_env ? xcalloc(m->n_env, sizeof(*s->env)) : NULL;
	for (i = 0; i < m->n_env; i++) {
		s->env[i].key = xstrdup(m->env[i].key);
		s->env[i].kind = (enum spec_env_kind)m->env[i].kind;
		s->env[i].value = xstrdup(m->env[i].value);
	}
	s->nenv = m->n_env;
	s->user = xstrdup_or_null(m->user);
	s->target = xstrdup_or_null(m->target);
	s->has_public = m->has_public;
	s->public_ = m->is_public;
	s->state = (enum spec_state)m->state;
	s->has_auto_stop = m->has_auto_stop;
	s->auto_stop = m->auto_stop;
	s->has_auto_archive = m->has_auto_archive;
	s->auto_archive = m->auto_archive;
	s->has_auto_delete = m->has_auto_delete;
	s->auto_delete = m->auto_delete;
	if (m->has_block_all || m->has_allow_list || m->has_domain_allow_list) {
		s->has_network = 1;
		s->network.has_block_all = m->has_block_all;
		s->network.block_all = m->block_all;
		if (m->has_allow_list)
			s->network.allow_list =
			        join_list(m->allow_list, m->n_allow_list);
		if (m->has_domain_allow_list)
			s->network.domain_allow_list = join_list(
			        m->domain_allow_list, m->n_domain_allow_list);
	}
	s->volumes = m->n_volumes ? xcalloc(m->n_volumes, sizeof(*s->volumes))
	                          : NULL;
	for (i = 0; i < m->n_volumes; i++) {
		s->volumes[i].volume = xstrdup(m->volumes[i].volume);
		s->volumes[i].mount_path = xstrdup(m->volumes[i].mount_path);
		s->volumes[i].subpath = xstrdup_or_null(m->volumes[i].subpath);
	}
	s->nvolumes = m->n_volumes;
	s->prevent_destroy = m->prevent_destroy;
	return s;
}

/* ---- secrets and the hash ---------------------------------------------- */

int
spec_secret_resolve_manifest(void *arg, const struct spec_env *e, char **value)
{
	struct manifest_env me;

	(void)arg;
	memset(&me, 0, sizeof(me));
	me.key = e->key;
	me.value = e->value;
	me.kind = (enum env_kind)e->kind;
	return manifest_secret_resolve(&me, value);
}

void
spec_secret_free(char *value)
{
	manifest_secret_free(value);
}

/* Length-prefixed so no value can imitate a separator. */
static void
add_field(struct buf *b, const char *tag, const char *v)
{
	if (v == NULL)
		v = "";
	buf_addf(b, "%s:%zu:", tag, strlen(v));
	buf_addstr(b, v);
	buf_addch(b, '\n');
}

static void
segment(struct buf *b, struct buf *label)
{
	char hex[SF_SHA256_HEX_LEN + 1];

	sha256_hex(buf_cstr(b), b->len, hex);
	buf_addch(label, '.');
	buf_add(label, hex, SPEC_HASH_SEG_HEX);
	buf_reset(b);
}

int
spec_hash(struct spec *s, const void *key, size_t keylen,
          spec_secret_fn resolve, void *arg)
{
	struct buf b = BUF_INIT, sec = BUF_INIT, label = BUF_INIT;
	char hex[SF_SHA256_HEX_LEN + 1];
	size_t i;
	int rc = 0;

	buf_addstr(&label, SPEC_HASH_VERSION);
	add_field(&b, "image", s->image);
	segment(&b, &label);
	/* env: plain values and the secret references (no key needed), then
	 * the secret values under the state's key, then which key */
	for (i = 0; i < s->nenv; i++) {
		const struct spec_env *e = &s->env[i];
		char *v = NULL;

		add_field(&b, "key", e->key);
		if (e->kind == SPEC_ENV_PLAIN) {
			add_field(&b, "plain", e->value);
			continue;
		}
		add_field(&b,
		          e->kind == SPEC_ENV_SECRET_ENV ? "secretEnv"
		                                         : "secretFile",
		          e->value);
		if (resolve == NULL) {
			rc = sf_error_set(SF_EINVALID,
			                  "%s: env %s: secret cannot be "
			                  "resolved here",
			                  s->name, e->key);
			goto out;
		}
		if ((rc = resolve(arg, e, &v)) < 0)
			goto out;
		hmac_sha256_hex(key, keylen, v, strlen(v), hex);
		spec_secret_free(v);
		add_field(&sec, "key", e->key);
		add_field(&sec, "secret", hex);
	}
	segment(&b, &label);
	/* the key's fingerprint only matters with secrets: without, it is
	 * the same in every state, so a lost state changes no label */
	if (sec.len)
		sha256_hex(key, keylen, hex);
	else
		sha256_hex("", 0, hex);
	segment(&sec, &label);
	buf_addch(&label, '.');
	buf_add(&label, hex, SPEC_HASH_SEG_HEX);
	for (i = 0; i < s->nvolumes; i++) {
		add_field(&b, "volume", s->volumes[i].volume);
		add_field(&b, "mount", s->volumes[i].mount_path);
		add_field(&b, "subpath", s->volumes[i].subpath);
	}
	segment(&b, &label);
	snprintf(s->hash, sizeof(s->hash), "%s", buf_cstr(&label));
out:
	buf_free(&b);
	buf_free(&sec);
	buf_free(&label);
	return rc;
}

int
spec_hash_segment(const char *label, int i, char out[SPEC_HASH_SEG_HEX + 1])
{
	size_t off;

	if (label == NULL || strlen(label) != SPEC_HASH_LEN ||
	    strncmp(label, SPEC_HASH_VERSION ".", 3) != 0 || i < 0 ||
	    i >= SPEC_HASH_SEGMENTS)
		return -1;
	off = 3 + (size_t)i * (SPEC_HASH_SEG_HEX + 1);
	memcpy(out, label + off, SPEC_HASH_SEG_HEX);
	out[SPEC_HASH_SEG_HEX] = '\0';
	return 0;
}

long long
spec_normalize_auto_archive(long long n, long long max)
{
	if (max <= 0)
		max = SPEC_DEFAULT_MAX_AUTO_ARCHIVE;
	if (n == 0 || n > max)
		return max;
	return n;
}

/* ---- labels sandform sets ------------------------------------------------ */

void
spec_owned_labels(const struct spec *s, const char *stack, struct strmap *out)
{
	strmap_copy(out, &s->labels);
	strmap_set(out, SPEC_LABEL_STACK, stack);
	if (s->hash[0])
		strmap_set(out, SPEC_LABEL_SPEC, s->hash);
	if (s->prevent_destroy)
		strmap_set(out, SPEC_LABEL_PREVENT_DESTROY, "true");
	if (s->labels.n) {
		/* the declared keys, so the merge still knows them after the
		 * state is lost */
		cJSON *a = cJSON_CreateArray();
		char *v;
		size_t i;

		for (i = 0; i < s->labels.n; i++)
			cJSON_AddItemToArray(
			        a, cJSON_CreateString(s->labels.v[i].key));
		v = cJSON_PrintUnformatted(a);
		strmap_set(out, SPEC_LABEL_OWNED, v ? v : "[]");
		cJSON_free(v);
		cJSON_Delete(a);
	}
}

/* Keys the live SPEC_LABEL_OWNED label lists (malformed: none). */
static void
live_owned_keys(const struct strmap *live, struct strmap *out)
{
	const char *v = live ? strmap_get(live, SPEC_LABEL_OWNED) : NULL;
	cJSON *a = v ? cJSON_Parse(v) : NULL, *it;

	if (cJSON_IsArray(a)) {
		cJSON_ArrayForEach(it, a)
		{
			if (cJSON_IsString(it) && *it->valuestring)
				strmap_set(out, it->valuestring, "");
		}
	}
	cJSON_Delete(a);
}

void
spec_merge_labels(const struct spec *s, const char *stack,
                  const struct strmap *live, const struct strmap *prev_owned,
                  struct strmap *out)
{
	struct strmap owned = { NULL, 0 }, before = { NULL, 0 };
	size_t i;

	strmap_copy(out, live);
	spec_owned_labels(s, stack, &owned);
	/* keys sandform set before (the state's record, and the list in
	 * the live label) and no longer owns go away */
	live_owned_keys(live, &before);
	for (i = 0; prev_owned && i < prev_owned->n; i++)
		strmap_set(&before, prev_owned->v[i].key, "");
	for (i = 0; i < before.n; i++)
		if (strmap_get(&owned, before.v[i].key) == NULL)
			strmap_del(out, before.v[i].key);
	strmap_clear(&before);
	/* sandform's own namespace is always exactly what it owns now */
	for (i = 0; i < out->n;) {
		if (strncmp(out->v[i].key, SPEC_LABEL_PREFIX,
		            strlen(SPEC_LABEL_PREFIX)) == 0 &&
		    strmap_get(&owned, out->v[i].key) == NULL) {
			strmap_del(out, out->v[i].key);
			continue;
		}
		i++;
	}
	for (i = 0; i < owned.n; i++)
		strmap_set(out, owned.v[i].key, owned.v[i].value);
	strmap_clear(&owned);
}

/* ---- JSON -------------------------------------------------------------- */

cJSON *
spec_to_json(const struct spec *s)
{
	cJSON *o = cJSON_CreateObject(), *a, *e;
	size_t i;

	cJSON_AddStringToObject(o, "name", s->name);
	cJSON_AddStringToObject(o, "file", s->file ? s->file : "");
	cJSON_AddNumberToObject(o, "line", s->line);
	cJSON_AddItemToObject(o, "labels", strmap_to_json(&s->labels));
	if (s->image)
		cJSON_AddStringToObject(o, "image", s->image);
	if (s->snapshot)
		cJSON_AddStringToObject(o, "snapshot", s->snapshot);
	if (s->has_cpu || s->has_memory || s->has_disk || s->has_gpu) {
		a = cJSON_AddObjectToObject(o, "resources");
		if (s->has_cpu)
			cJSON_AddNumberToObject(a, "cpu", (double)s->cpu);
		if (s->has_memory)
			cJSON_AddNumberToObject(a, "memory", (double)s->memory);
		if (s->has_disk)
			cJSON_AddNumberToObject(a, "disk", (double)s->disk);
		if (s->has_gpu)
			cJSON_AddNumberToObject(a, "gpu", (double)s->gpu);
	}
	if (s->nenv) {
		a = cJSON_AddObjectToObject(o, "env");
		for (i = 0; i < s->nenv; i++)
			cJSON_AddItemToObject(
			        a, s->env[i].key,
			        manifest_env_value_to_json(
			                (enum env_kind)s->env[i].kind,
			                s->env[i].value));
	}
	if (s->user)
		cJSON_AddStringToObject(o, "user", s->user);
	if (s->target)
		cJSON_AddStringToObject(o, "target", s->target);
	if (s->has_public)
		cJSON_AddBoolToObject(o, "public", s->public_);
	if (s->state != SPEC_STATE_ANY)
		cJSON_AddStringToObject(o, "state", spec_state_name(s->state));
	if (s->has_auto_stop)
		cJSON_AddNumberToObject(o, "autoStopInterval",
		                        (double)s->auto_stop);
	if (s->has_auto_archive)
		cJSON_AddNumberToObject(o, "autoArchiveInterval",
		                        (double)s->auto_archive);
	if (s->has_auto_delete)
		cJSON_AddNumberToObject(o, "autoDeleteInterval",
		                        (double)s->auto_delete);
	if (s->has_network)
		cJSON_AddItemToObject(o, "network",
		                      spec_network_to_json(&s->network));
	if (s->nvolumes) {
		a = cJSON_AddArrayToObject(o, "volumes");
		for (i = 0; i < s->nvolumes; i++) {
			e = cJSON_CreateObject();
			cJSON_AddStringToObject(e, "volume",
			                        s->volumes[i].volume);
			cJSON_AddStringToObject(e, "mountPath",
			                        s->volumes[i].mount_path);
			if (s->volumes[i].subpath)
				cJSON_AddStringToObject(e, "subpath",
				                        s->volumes[i].subpath);
			cJSON_AddItemToArray(a, e);
		}
	}
	if (s->prevent_destroy)
		cJSON_AddBoolToObject(o, "preventDestroy", 1);
	if (s->hash[0])
		cJSON_AddStringToObject(o, "hash", s->hash);
	return o;
}

static int
jnum(const cJSON *o, const char *k, long long *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (!cJSON_IsNumber(v))
		return 0;
	*out = (long long)v->valuedouble;
	return 1;
}

struct spec *
spec_from_json(const cJSON *obj)
{
	struct spec *s;
	const cJSON *v, *it;
	char *st;
	long long n;
	size_t i;

	if (!cJSON_IsObject(obj))
		return NULL;
	s = xcalloc(1, sizeof(*s));
	if ((s->name = json_strdup(obj, "name")) == NULL)
		goto bad;
	s->file = json_strdup(obj, "file");
	if (jnum(obj, "line", &n))
		s->line = (int)n;
	if (strmap_from_json(cJSON_GetObjectItemCaseSensitive(obj, "labels"),
	                     "labels", &s->labels) < 0)
		goto bad;
	s->image = json_strdup(obj, "image");
	s->snapshot = json_strdup(obj, "snapshot");
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "resources")) != NULL) {
		s->has_cpu = jnum(v, "cpu", &s->cpu);
		s->has_memory = jnum(v, "memory", &s->memory);
		s->has_disk = jnum(v, "disk", &s->disk);
		s->has_gpu = jnum(v, "gpu", &s->gpu);
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "env")) != NULL) {
		s->env = xcalloc((size_t)cJSON_GetArraySize(v) + 1,
		                 sizeof(*s->env));
		i = 0;
		cJSON_ArrayForEach(it, v)
		{
			struct spec_env *e = &s->env[i];

			e->key = xstrdup(it->string ? it->string : "");
			if (cJSON_IsString(it)) {
				e->kind = SPEC_ENV_PLAIN;
				e->value = xstrdup(it->valuestring);
			} else if ((e->value = json_strdup(it, "secretEnv"))) {
				e->kind = SPEC_ENV_SECRET_ENV;
			} else if ((e->value = json_strdup(it, "secretFile"))) {
				e->kind = SPEC_ENV_SECRET_FILE;
			} else {
				s->nenv = i + 1;
				goto bad;
			}
			i++;
		}
		s->nenv = i;
	}
	s->user = json_strdup(obj, "user");
	s->target = json_strdup(obj, "target");
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "public")) != NULL) {
		s->has_public = 1;
		s->public_ = cJSON_IsTrue(v);
	}
	if ((st = json_strdup(obj, "state")) != NULL) {
		s->state = strcmp(st, "started") == 0    ? SPEC_STATE_STARTED
		           : strcmp(st, "stopped") == 0  ? SPEC_STATE_STOPPED
		           : strcmp(st, "archived") == 0 ? SPEC_STATE_ARCHIVED
		                                         : SPEC_STATE_ANY;
		free(st);
	}
	s->has_auto_stop = jnum(obj, "autoStopInterval", &s->auto_stop);
	s->has_auto_archive =
	        jnum(obj, "autoArchiveInterval", &s->auto_archive);
	s->has_auto_delete = jnum(obj, "autoDeleteInterval", &s->auto_delete);
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "network")) != NULL) {
		s->has_network = 1;
		if (spec_network_from_json(v, &s->network) < 0)
			goto bad;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(obj, "volumes")) != NULL) {
		s->volumes = xcalloc((size_t)cJSON_GetArraySize(v) + 1,
		                     sizeof(*s->volumes));
		i = 0;
		cJSON_ArrayForEach(it, v)
		{
			s->volumes[i].volume = json_strdup(it, "volume");
			s->volumes[i].mount_path = json_strdup(it, "mountPath");
			s->volumes[i].subpath = json_strdup(it, "subpath");
			i++;
			s->nvolumes = i;
			if (s->volumes[i - 1].volume == NULL ||
			    s->volumes[i - 1].mount_path == NULL)
				goto bad;
		}
	}
	s->prevent_destroy = cJSON_IsTrue(
	        cJSON_GetObjectItemCaseSensitive(obj, "preventDestroy"));
	if ((st = json_strdup(obj, "hash")) != NULL) {
		snprintf(s->hash, sizeof(s->hash), "%s", st);
		free(st);
	}
	return s;
bad:
	spec_free(s);
	return NULL;
}

/* ---- the create body ------------------------------------------------------
 */

static void
labels_to_kvs(const struct strmap *l, struct strmap *out)
{
	size_t i;

	for (i = 0; l && i < l->n; i++)
		strmap_set(out, l->v[i].key, l->v[i].value);
}

int
spec_to_create(const struct spec *s, const struct strmap *labels,
               spec_secret_fn resolve, void *arg, struct spec_create *out)
{
	struct dt_create *r = &out->req;
	size_t i;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	r->name = s->name;
	r->snapshot = s->snapshot;
	r->image = s->image;
	r->user = s->user;
	r->target = s->target;
	for (i = 0; i < s->nenv; i++) {
		char *v = NULL;

		if (s->env[i].kind == SPEC_ENV_PLAIN) {
			strmap_set(&out->env, s->env[i].key, s->env[i].value);
			continue;
		}
		if (resolve == NULL)
			resolve = spec_secret_resolve_manifest;
		if ((rc = resolve(arg, &s->env[i], &v)) < 0)
			goto fail;
		strmap_set(&out->env, s->env[i].key, v);
		spec_secret_free(v);
	}
	if (s->nenv)
		r->env = &out->env;
	labels_to_kvs(labels, &out->labels);
	r->labels = &out->labels;
	r->has_public = s->has_public;
	r->is_public = s->public_;
	if (s->has_network) {
		r->has_network_block_all = s->network.has_block_all;
		r->network_block_all = s->network.block_all;
		/* "" is "no list" at create */
		if (s->network.allow_list && *s->network.allow_list)
			r->network_allow_list = s->network.allow_list;
		if (s->network.domain_allow_list &&
		    *s->network.domain_allow_list)
			r->domain_allow_list = s->network.domain_allow_list;
	}
	if (s->image) {
		/* resources go with image builds only (validation) */
		r->cpu = s->has_cpu ? (int)s->cpu : 0;
		r->memory = s->has_memory ? (int)s->memory : 0;
		r->disk = s->has_disk ? (int)s->disk : 0;
	}
	r->gpu = s->has_gpu ? (int)s->gpu : 0;
	r->has_auto_stop = s->has_auto_stop;
	r->auto_stop_interval = (int)s->auto_stop;
	r->has_auto_archive = s->has_auto_archive;
	r->auto_archive_interval = (int)s->auto_archive;
	r->has_auto_delete = s->has_auto_delete;
	r->auto_delete_interval = (int)s->auto_delete;
	if (s->nvolumes) {
		out->volumes = xcalloc(s->nvolumes, sizeof(*out->volumes));
		for (i = 0; i < s->nvolumes; i++) {
			out->volumes[i].volume_id = s->volumes[i].volume;
			out->volumes[i].mount_path = s->volumes[i].mount_path;
			out->volumes[i].subpath = s->volumes[i].subpath;
		}
		r->volumes = out->volumes;
		r->n_volumes = s->nvolumes;
	}
	return 0;
fail:
	spec_create_clear(out);
	return rc;
}

void
spec_create_clear(struct spec_create *c)
{
	size_t i;

	for (i = 0; i < c->env.n; i++)
		if (c->env.v[i].value)
			memset(c->env.v[i].value, 0, strlen(c->env.v[i].value));
	strmap_clear(&c->env);
	strmap_clear(&c->labels);
	free(c->volumes); /* the strings are the spec's */
	memset(c, 0, sizeof(*c));
}
