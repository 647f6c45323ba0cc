/*
 * create: see create.h.
 */
#include "common/base.h"

#include <pthread.h>

#include "common/xalloc.h"
#include "reconciler/create.h"

/* setting_of: create_setting()'s answer for f, worked out once a field
 * (a plan asks for every field of every sandbox) */
static const struct dt_setting_info *setting_of[SPEC_F_COUNT];
static pthread_once_t setting_once = PTHREAD_ONCE_INIT;

static void
settings_index(void)
{
	enum spec_field f;

	for (f = 1; f < SPEC_F_COUNT; f++) {
		const struct spec_field_info *fi = &spec_fields[f];

		if (fi->change == SPEC_CHANGE_UPDATE &&
		    fi->parent == SPEC_F_DOCUMENT &&
		    (fi->type == SPEC_T_INT || fi->type == SPEC_T_BOOL))
			setting_of[f] = dt_setting_by_key(fi->key);
	}
}

const struct dt_setting_info *const *
create_settings(void)
{
	pthread_once(&setting_once, settings_index);
	return setting_of;
}

const struct dt_setting_info *
create_setting(enum spec_field f)
{
	if ((int)f <= 0 || f >= SPEC_F_COUNT)
		return NULL;
	return create_settings()[f];
}

int
create_setting_value(const struct spec *s, enum spec_field f, int *value)
{
	const struct spec_field_info *fi = &spec_fields[f];
	const char *base = (const char *)s;

	/* at most one of the two non-zero: the other one follows */
	if (f == SPEC_F_AUTO_STOP)
		return spec_effective_auto_stop(s, value);
	if (f == SPEC_F_AUTO_PAUSE)
		return spec_effective_auto_pause(s, value);
	if (!*(const bool *)(base + fi->has_off))
		return 0;
	*value = fi->type == SPEC_T_BOOL ? *(const bool *)(base + fi->off)
	                                 : *(const int *)(base + fi->off);
	return 1;
}

int
create_body_build(const struct spec *s, const struct strmap *labels,
                  secret_fn resolve, void *arg, struct create_body *out)
{
	struct dt_create *r = &out->req;
	enum spec_field f;
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
			resolve = secret_resolve;
		if ((rc = resolve(arg, &s->env[i], &v)) < 0)
			goto fail;
		strmap_set(&out->env, s->env[i].key, v);
		free_secret(v);
	}
	if (s->nenv)
		r->env = &out->env;
	strmap_copy(&out->labels, labels);
	r->labels = &out->labels;
	for (f = 0; f < SPEC_F_COUNT; f++) {
		const struct dt_setting_info *si = create_setting(f);
		int v;

		if (si && create_setting_value(s, f, &v)) {
			r->has_setting[si->id] = 1;
			r->setting[si->id] = v;
		}
	}
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
		r->cpu = s->has_cpu ? s->cpu : 0;
		r->memory = s->has_memory ? s->memory : 0;
		r->disk = s->has_disk ? s->disk : 0;
	}
	r->gpu = s->has_gpu ? s->gpu : 0;
	r->has_ttl = s->has_ttl;
	r->ttl_minutes = s->ttl;
	r->spot = s->has_spot && s->spot;
	r->kvm = s->has_kvm && s->kvm;
	r->outbound_proxy_url = s->outbound_proxy_url;
	r->gpu_types = (const char *const *)s->gpu_types;
	r->n_gpu_types = s->ngpu_types;
	if (s->secrets.n)
		r->secrets = &s->secrets;
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
	create_body_clear(out);
	return rc;
}

void
create_body_clear(struct create_body *c)
{
	size_t i;

	for (i = 0; i < c->env.n; i++)
		if (c->env.v[i].value)
			wipe(c->env.v[i].value, strlen(c->env.v[i].value));
	strmap_clear(&c->env);
	strmap_clear(&c->labels);
	free(c->volumes); /* the strings are the spec's */
	memset(c, 0, sizeof(*c));
}
