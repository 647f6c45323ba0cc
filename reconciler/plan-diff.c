/*
 * plan-diff: the action for one existing sandbox of the stack (see plan.c
 * for the rules), in the order apply must run its steps: wait for a
 * transition, recover, the settings (one call each), a resize, then the
 * declared state. A create-only difference instead makes it a replace.
 *
 * Each reason's origin compares the spec with the one last applied (the
 * state's record): a field the manifests still ask the same for, yet
 * differs live, was changed outside sandform.
 */
#include "common/base.h"

#include "common/buf.h"
#include "common/redact.h"
#include "common/error.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "reconciler/plan-build.h"

/* applied_of: r's last applied spec, read when first needed, or NULL
 * (none; or unreadable, and the origins it tells are then unknown). */
static const struct spec *
applied_of(const struct plan_record *r)
{
	const struct spec *a = NULL;

	if (r && plan_record_applied(r, &a) < 0) {
		log_warn("%s: the last applied spec cannot be read: %s",
		         r->name, sf_error_last());
		return NULL;
	}
	return a;
}

/* origin_of: who changed field f (see the file comment). */
static enum plan_origin
origin_of(const struct plan_record *r, const struct spec *s, enum spec_field f)
{
	const struct spec *old = applied_of(r);

	if (old == NULL)
		return PLAN_ORIGIN_UNKNOWN;
	return spec_field_equal(s, old, f) ? PLAN_ORIGIN_OUT_OF_BAND
	                                   : PLAN_ORIGIN_MANIFEST;
}

/* origin_label: who changed label key (sandform's own labels follow the
 * spec's hash, its preventDestroy and its declared keys). */
static enum plan_origin
origin_label(const struct plan_record *r, const struct spec *s, const char *key)
{
	const struct spec *old = applied_of(r);
	const char *x, *y;

	if (old == NULL)
		return PLAN_ORIGIN_UNKNOWN;
	if (strncmp(key, LABEL_PREFIX, strlen(LABEL_PREFIX)) == 0)
		return strcmp(old->hash, s->hash) == 0 &&
		                       old->prevent_destroy ==
		                               s->prevent_destroy &&
		                       spec_field_equal(s, old, SPEC_F_LABELS)
		               ? PLAN_ORIGIN_OUT_OF_BAND
		               : PLAN_ORIGIN_MANIFEST;
	x = strmap_get(&old->labels, key);
	y = strmap_get(&s->labels, key);
	return (x == NULL && y == NULL) || (x && y && strcmp(x, y) == 0)
	               ? PLAN_ORIGIN_OUT_OF_BAND
	               : PLAN_ORIGIN_MANIFEST;
}

/* origin_segment: who changed a create-only group of the spec label. */
static enum plan_origin
origin_segment(const struct plan_record *r, const struct spec *s, int seg)
{
	char x[SPEC_HASH_SEG_HEX + 1], y[SPEC_HASH_SEG_HEX + 1];
	const struct spec *old = applied_of(r);

	if (old == NULL || spec_hash_segment(old->hash, seg, x) < 0 ||
	    spec_hash_segment(s->hash, seg, y) < 0)
		return PLAN_ORIGIN_UNKNOWN;
	return strcmp(x, y) == 0 ? PLAN_ORIGIN_OUT_OF_BAND
	                         : PLAN_ORIGIN_MANIFEST;
}

static int
want_resource(const struct spec *s, int v, int image_default)
{
	/* image builds: the server uses value || default */
	if (s->image && v == 0)
		return image_default;
	return v;
}

static int
str_differs(const char *want, const char *have)
{
	return want && have && strcmp(want, have) != 0;
}

static const char *
env_shown(const struct spec_env *e)
{
	return e->kind == SPEC_ENV_PLAIN ? e->value : "(sensitive)";
}

/* env reasons from the last applied spec: for SPEC_SEG_ENV keys added,
 * removed, plain values and secret references changed; for
 * SPEC_SEG_SECRETS the secrets whose reference stayed and whose keyed
 * hash changed (all of them when the applied spec predates per-secret
 * hashes: which one changed cannot be told then). */
static void
env_reasons(struct plan_action *a, enum plan_origin origin,
            const struct spec *old, const struct spec *s, int seg)
{
	size_t i;

	for (i = 0; i < old->nenv; i++) {
		const struct spec_env *oe = &old->env[i];
		const struct spec_env *ne = spec_env_find(s, oe->key);
		int same_ref = ne && ne->kind == oe->kind &&
		               strcmp(ne->value, oe->value) == 0;
		char *f = xasprintf("spec.env.%s", oe->key);

		if (seg == SPEC_SEG_SECRETS) {
			/* with both keyed hashes known, only the secret
			 * whose value changed */
			if (same_ref && oe->kind != SPEC_ENV_PLAIN &&
			    !(oe->hmac[0] && ne->hmac[0] &&
			      strcmp(oe->hmac, ne->hmac) == 0))
				add_reason(a, PLAN_CAT_SPEC, origin, f,
				           "(sensitive)", "(sensitive)", 1);
		} else if (ne == NULL) {
			add_reason(a, PLAN_CAT_SPEC, origin, f, env_shown(oe),
			           NULL, 1);
		} else if (!same_ref) {
			add_reason(a, PLAN_CAT_SPEC, origin, f, env_shown(oe),
			           env_shown(ne), 1);
		}
		free(f);
	}
	for (i = 0; seg == SPEC_SEG_ENV && i < s->nenv; i++) {
		char *f;

		if (spec_env_find(old, s->env[i].key))
			continue;
		f = xasprintf("spec.env.%s", s->env[i].key);
		add_reason(a, PLAN_CAT_SPEC, origin, f, NULL,
		           env_shown(&s->env[i]), 1);
		free(f);
	}
}

static char *
volumes_str(const struct spec *s)
{
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < s->nvolumes; i++)
		buf_addf(&b, "%s%s:%s%s%s", i ? "," : "", s->volumes[i].volume,
		         s->volumes[i].mount_path,
		         s->volumes[i].subpath ? ":" : "",
		         nz(s->volumes[i].subpath));
	return buf_detach(&b, NULL);
}

/* image_reasons: the image group of the spec label (the image, and kvm
 * and outboundProxyUrl when set), field by field from the applied spec. */
static void
image_reasons(struct plan_action *a, enum plan_origin origin,
              const struct spec *old, const struct spec *s)
{
	char *o, *n;

	if (!spec_field_equal(old, s, SPEC_F_IMAGE) ||
	    (spec_field_equal(old, s, SPEC_F_KVM) &&
	     spec_field_equal(old, s, SPEC_F_OUTBOUND_PROXY)))
		add_reason(a, PLAN_CAT_SPEC, origin, "spec.image", old->image,
		           s->image, 1);
	if (!spec_field_equal(old, s, SPEC_F_KVM))
		add_reason(a, PLAN_CAT_SPEC, origin, "spec.kvm",
		           old->kvm ? "true" : "false",
		           s->kvm ? "true" : "false", 1);
	if (!spec_field_equal(old, s, SPEC_F_OUTBOUND_PROXY)) {
		o = redact_url_userinfo(old->outbound_proxy_url);
		n = redact_url_userinfo(s->outbound_proxy_url);
		add_reason(a, PLAN_CAT_SPEC, origin, "spec.outboundProxyUrl", o,
		           n, 1);
		free(o);
		free(n);
	}
}

/* Describe a changed hash group: old and new values when the state has
 * the last applied spec and it matches the live label, else the hashes. */
static void
segment_reason(struct plan_action *a, const struct spec *s,
               const struct plan_record *r, const char *live, int seg)
{
	char oh[SPEC_HASH_SEG_HEX + 1], nh[SPEC_HASH_SEG_HEX + 1];
	char ah[SPEC_HASH_SEG_HEX + 1];
	const struct spec *old = applied_of(r);
	enum plan_origin origin = origin_segment(r, s, seg);
	size_t before = a->nreasons;
	char *o, *n;

	spec_hash_segment(live, seg, oh);
	spec_hash_segment(s->hash, seg, nh);
	if (old &&
	    (spec_hash_segment(old->hash, seg, ah) < 0 || strcmp(ah, oh) != 0))
		old = NULL;
	switch (seg) {
	case SPEC_SEG_IMAGE:
		if (old) {
			image_reasons(a, origin, old, s);
			return;
		}
		break;
	case SPEC_SEG_ENV:
	case SPEC_SEG_SECRETS:
		if (old)
			env_reasons(a, origin, old, s, seg);
		if (a->nreasons > before)
			return;
		if (seg == SPEC_SEG_SECRETS) {
			add_reason(a, PLAN_CAT_SPEC, origin, "spec.env",
			           "(sensitive)", "(sensitive)", 1);
			return;
		}
		break;
	case SPEC_SEG_VOLUMES:
		if (old) {
			o = volumes_str(old);
			n = volumes_str(s);
			add_reason(a, PLAN_CAT_SPEC, origin, "spec.volumes", o,
			           n, 1);
			free(o);
			free(n);
			return;
		}
		break;
	default:
		return;
	}
	o = xasprintf("(hash %s)", oh);
	n = xasprintf("(hash %s)", nh);
	add_reason(a, PLAN_CAT_SPEC, origin,
	           seg == SPEC_SEG_IMAGE ? "spec.image"
	           : seg == SPEC_SEG_ENV ? "spec.env"
	                                 : "spec.volumes",
	           o, n, 1);
	free(o);
	free(n);
}

/*
 * known_network: the network settings known for a sandbox (a full GET or
 * the recorded observation of this version: DT_HAS_NETWORK_BLOCK_ALL), else
 * the ones last applied; 0 when nobody knows them.
 */
static int
known_network(const struct dt_sandbox *o, const struct plan_record *r,
              struct spec_network *out)
{
	const struct spec *old;

	memset(out, 0, sizeof(*out));
	if (o->present & DT_HAS_NETWORK_BLOCK_ALL) {
		out->has_block_all = true;
		out->block_all = o->network_block_all != 0;
		out->allow_list = xstrdup(nz(o->network_allow_list));
		out->domain_allow_list = xstrdup(nz(o->domain_allow_list));
		return 1;
	}
	if ((old = applied_of(r)) != NULL && old->has_network) {
		spec_network_copy(out, &old->network);
		return 1;
	}
	return 0;
}

static char *
network_str(const struct spec_network *n)
{
	return xasprintf("blockAll=%s allowList=%s domainAllowList=%s",
	                 n->has_block_all ? (n->block_all ? "true" : "false")
	                                  : "-",
	                 n->allow_list ? n->allow_list : "-",
	                 n->domain_allow_list ? n->domain_allow_list : "-");
}

/* One reason per declared network setting that differs (only the
 * changed ones); the whole settings when the live ones are unknown. */
static void
network_reasons(struct plan_action *a, const struct spec *s,
                const struct plan_record *r, const struct spec_network *have)
{
	const struct spec_network *want = &s->network;
	bool live_block = have && have->has_block_all && have->block_all;

	if (have == NULL) {
		char *nv = network_str(want);

		add_reason(a, PLAN_CAT_NETWORK, origin_of(r, s, SPEC_F_NETWORK),
		           "spec.network", "(unknown)", nv, 0);
		free(nv);
		return;
	}
	if (want->has_block_all && want->block_all != live_block)
		add_reason(
		        a, PLAN_CAT_NETWORK, origin_of(r, s, SPEC_F_BLOCK_ALL),
		        "spec.network.blockAll", live_block ? "true" : "false",
		        want->block_all ? "true" : "false", 0);
	if (want->allow_list &&
	    strcmp(want->allow_list, nz(have->allow_list)) != 0)
		add_reason(a, PLAN_CAT_NETWORK,
		           origin_of(r, s, SPEC_F_ALLOW_LIST),
		           "spec.network.allowList", nz(have->allow_list),
		           want->allow_list, 0);
	if (want->domain_allow_list &&
	    strcmp(want->domain_allow_list, nz(have->domain_allow_list)) != 0)
		add_reason(a, PLAN_CAT_NETWORK,
		           origin_of(r, s, SPEC_F_DOMAIN_ALLOW_LIST),
		           "spec.network.domainAllowList",
		           nz(have->domain_allow_list), want->domain_allow_list,
		           0);
}

static int
same_key(const char *live, const char *want)
{
	char x[SPEC_HASH_SEG_HEX + 1], y[SPEC_HASH_SEG_HEX + 1];

	return spec_hash_segment(live, SPEC_SEG_KEY, x) == 0 &&
	       spec_hash_segment(want, SPEC_SEG_KEY, y) == 0 &&
	       strcmp(x, y) == 0;
}

/* The three resources a resize changes, with their live values. */
static const struct {
	enum spec_field f;
	int image_default;
} resources[] = {
	{ SPEC_F_CPU, SPEC_IMAGE_DEFAULT_CPU },
	{ SPEC_F_MEMORY, SPEC_IMAGE_DEFAULT_MEMORY },
	{ SPEC_F_DISK, SPEC_IMAGE_DEFAULT_DISK },
};

static int
live_resource(const struct dt_sandbox *o, enum spec_field f)
{
	return f == SPEC_F_CPU      ? o->cpu
	       : f == SPEC_F_MEMORY ? o->memory
	                            : o->disk;
}

/* resource_want: the value the manifests ask for resource i, or -1 when
 * it is not declared or not a change a resize makes (a disk shrink is a
 * replace). */
static int
resource_want(const struct spec *s, const struct dt_sandbox *o, size_t i)
{
	const struct spec_field_info *fi = &spec_fields[resources[i].f];
	const char *base = (const char *)s;
	int want, have = live_resource(o, fi->id);

	if (!*(const bool *)(base + fi->has_off))
		return -1;
	want = want_resource(s, *(const int *)(base + fi->off),
	                     resources[i].image_default);
	if (fi->id == SPEC_F_DISK ? want <= have : want == have)
		return -1;
	return want;
}

/* A resource change that would be a resize when this API answered a
 * resize with 404: a replace, with the reason noted. */
static void
unresizable_reasons(struct plan_action *a, const struct spec *s,
                    const struct dt_sandbox *o, const struct plan_record *r)
{
	size_t i;
	int want;

	for (i = 0; i < sizeof(resources) / sizeof(resources[0]); i++) {
		struct plan_reason *rs;
		enum spec_field f = resources[i].f;

		if ((want = resource_want(s, o, i)) < 0)
			continue;
		rs = add_reason_num(a, PLAN_CAT_RESOURCES, origin_of(r, s, f),
		                    spec_field_path(f), live_resource(o, f),
		                    want);
		rs->forces_replace = 1;
		rs->note = xstrdup(PLAN_NOTE_RESIZE_UNAVAILABLE);
	}
}

static int
volume_declared(const struct spec *s, const struct dt_volume *v)
{
	size_t i;

	for (i = 0; i < s->nvolumes; i++)
		if (strcmp(s->volumes[i].mount_path, nz(v->mount_path)) == 0 &&
		    strcmp(nz(s->volumes[i].subpath), nz(v->subpath)) == 0)
			return 1;
	return 0;
}

/*
 * dockerfile_from: the image of the first FROM line of a Dockerfile
 * ("FROM [--platform=x] IMAGE [AS name]"), or NULL (caller frees).
 */
static char *
dockerfile_from(const char *df)
{
	const char *p = df, *w;
	size_t n;

	while (p && *p) {
		p += strspn(p, " \t\r\n");
		if (strncasecmp(p, "FROM", 4) == 0 &&
		    (p[4] == ' ' || p[4] == '\t')) {
			p += 4;
			for (;;) {
				p += strspn(p, " \t");
				n = strcspn(p, " \t\r\n");
				w = p;
				p += n;
				if (n == 0 || strncmp(w, "--", 2) != 0)
					break;
			}
			return n ? xstrndup(w, n) : NULL;
		}
		p += strcspn(p, "\n");
	}
	return NULL;
}

/* imported_image_reasons: a full GET's build info, kvm and proxy of a
 * sandbox without sandform's spec label, compared with the spec: the
 * image of the live Dockerfile's FROM line instead of assuming it. */
static void
imported_image_reasons(struct plan_action *a, const struct spec *s,
                       const struct dt_sandbox *o)
{
	char *from, *x, *y;

	if (s->image && (o->present & DT_HAS_BUILD_INFO) &&
	    o->dockerfile_content) {
		from = dockerfile_from(o->dockerfile_content);
		if (from == NULL || strcmp(from, s->image) != 0)
			add_reason(a, PLAN_CAT_SPEC, PLAN_ORIGIN_UNKNOWN,
			           "spec.image", from ? from : "(no FROM line)",
			           s->image, 1);
		free(from);
	}
	if (s->has_kvm && (o->present & DT_HAS_KVM) &&
	    (s->kvm != 0) != (o->kvm != 0))
		add_reason(a, PLAN_CAT_SPEC, PLAN_ORIGIN_UNKNOWN, "spec.kvm",
		           o->kvm ? "true" : "false", s->kvm ? "true" : "false",
		           1);
	if (s->outbound_proxy_url &&
	    strcmp(s->outbound_proxy_url, nz(o->outbound_proxy_url)) != 0) {
		x = redact_url_userinfo(o->outbound_proxy_url);
		y = redact_url_userinfo(s->outbound_proxy_url);
		add_reason(a, PLAN_CAT_SPEC, PLAN_ORIGIN_UNKNOWN,
		           "spec.outboundProxyUrl", x, y, 1);
		free(x);
		free(y);
	}
}

/*
 * createonly_reasons: for a sandbox the spec label cannot vouch for
 * (imported), the create-only fields a full GET shows and a list item does
 * not (env, volumes), compared with the spec. Env values are never shown
 * (one may be a secret), secret values are not compared (only that the key
 * is set), and volumes are compared by mount path and subpath (a manifest
 * may name a volume where Daytona shows its id). An omitted env or
 * volumes is not managed. Each difference forces a replace.
 */
static void
createonly_reasons(struct plan_action *a, const struct spec *s,
                   const struct dt_sandbox *o)
{
	size_t i;
	int vol_differs = 0;

	for (i = 0; s->nenv && i < s->nenv; i++) {
		const struct spec_env *e = &s->env[i];
		const char *live = strmap_get(&o->env, e->key);
		char *f;

		if (live &&
		    (e->kind != SPEC_ENV_PLAIN || strcmp(live, e->value) == 0))
			continue;
		f = xasprintf("spec.env.%s", e->key);
		add_reason(a, PLAN_CAT_SPEC, PLAN_ORIGIN_UNKNOWN, f,
		           live ? PLAN_LIVE_NOT_SHOWN : NULL, env_shown(e), 1);
		free(f);
	}
	for (i = 0; s->nenv && i < o->env.n; i++) {
		char *f;

		if (spec_env_find(s, o->env.v[i].key))
			continue;
		f = xasprintf("spec.env.%s", o->env.v[i].key);
		add_reason(a, PLAN_CAT_SPEC, PLAN_ORIGIN_UNKNOWN, f,
		           PLAN_LIVE_NOT_SHOWN, NULL, 1);
		free(f);
	}
	if (s->nvolumes && (o->present & DT_HAS_VOLUMES)) {
		vol_differs = o->n_volumes != s->nvolumes;
		for (i = 0; !vol_differs && i < o->n_volumes; i++)
			vol_differs = !volume_declared(s, &o->volumes[i]);
	}
	imported_image_reasons(a, s, o);
	if (vol_differs) {
		struct buf b = BUF_INIT;
		char *live, *want = volumes_str(s);

		for (i = 0; i < o->n_volumes; i++)
			buf_addf(&b, "%s%s:%s%s%s", i ? "," : "",
			         nz(o->volumes[i].volume_id),
			         nz(o->volumes[i].mount_path),
			         o->volumes[i].subpath ? ":" : "",
			         nz(o->volumes[i].subpath));
		live = buf_detach(&b, NULL);
		add_reason(a, PLAN_CAT_SPEC, PLAN_ORIGIN_UNKNOWN,
		           "spec.volumes", *live ? live : NULL, want, 1);
		free(live);
		free(want);
	}
}

/* gpu_type_declared: the live GPU type is one the manifest prefers (the
 * scheduler took the first with capacity: any of them is as declared). */
static int
gpu_type_declared(const struct spec *s, const char *t)
{
	size_t i;

	for (i = 0; i < s->ngpu_types; i++)
		if (strcmp(s->gpu_types[i], t) == 0)
			return 1;
	return 0;
}

static char *
gpu_types_str(const struct spec *s)
{
	struct buf b = BUF_INIT;
	size_t i;

	for (i = 0; i < s->ngpu_types; i++)
		buf_addf(&b, "%s%s", i ? "," : "", s->gpu_types[i]);
	return buf_detach(&b, NULL);
}

/* The create-only fields the list returns, compared directly. */
static void
listed_reasons(struct plan_action *a, const struct spec *s,
               const struct dt_sandbox *o, const struct plan_record *r)
{
	struct plan_reason *rs;
	int disk;

	if (str_differs(s->snapshot, o->snapshot))
		add_reason(a, PLAN_CAT_SPEC, origin_of(r, s, SPEC_F_SNAPSHOT),
		           "spec.snapshot", o->snapshot, s->snapshot, 1);
	if (str_differs(s->user, o->user))
		add_reason(a, PLAN_CAT_SPEC, origin_of(r, s, SPEC_F_USER),
		           "spec.user", o->user, s->user, 1);
	if (str_differs(s->target, o->target))
		add_reason(a, PLAN_CAT_SPEC, origin_of(r, s, SPEC_F_TARGET),
		           "spec.target", o->target, s->target, 1);
	if (s->has_gpu && s->gpu != o->gpu) {
		rs = add_reason_num(a, PLAN_CAT_SPEC,
		                    origin_of(r, s, SPEC_F_GPU),
		                    "spec.resources.gpu", o->gpu, s->gpu);
		rs->forces_replace = 1;
	}
	if (s->has_spot && (o->present & DT_HAS_SPOT) &&
	    (s->spot != 0) != (o->spot != 0))
		add_reason(a, PLAN_CAT_SPEC, origin_of(r, s, SPEC_F_SPOT),
		           "spec.spot", o->spot ? "true" : "false",
		           s->spot ? "true" : "false", 1);
	if (s->gpu_types && o->gpu_type && !gpu_type_declared(s, o->gpu_type)) {
		char *want = gpu_types_str(s);

		add_reason(a, PLAN_CAT_SPEC, origin_of(r, s, SPEC_F_GPU_TYPE),
		           "spec.gpuType", o->gpu_type, want, 1);
		free(want);
	}
	disk = want_resource(s, s->disk, SPEC_IMAGE_DEFAULT_DISK);
	if (s->has_disk && disk < o->disk) {
		rs = add_reason_num(a, PLAN_CAT_RESOURCES,
		                    origin_of(r, s, SPEC_F_DISK),
		                    "spec.resources.disk", o->disk, disk);
		rs->forces_replace = 1;
	}
}

static int
replace_asked(const struct plan_input *in, const char *name)
{
	size_t i;

	for (i = 0; i < in->nreplace; i++)
		if (strcmp(in->replace[i], name) == 0)
			return 1;
	return 0;
}

/* Create-only differences of an existing sandbox; 1 when replace. */
static int
replace_reasons(struct builder *b, struct plan_action *a, const struct spec *s,
                const struct dt_sandbox *o, const struct plan_record *r)
{
	const char *live = strmap_get(&o->labels, LABEL_SPEC);
	char lh[SPEC_HASH_SEG_HEX + 1], dh[SPEC_HASH_SEG_HEX + 1];
	size_t before = a->nreasons;
	int i;

	if (o->state == DT_STATE_BUILD_FAILED ||
	    (o->state == DT_STATE_ERROR && !o->recoverable)) {
		char *old = xasprintf("%s%s%s", nz(o->state_raw),
		                      o->error_reason ? ": " : "",
		                      nz(o->error_reason));

		add_reason(a, PLAN_CAT_STATE, PLAN_ORIGIN_OUT_OF_BAND, "state",
		           old, "(recreated)", 1);
		free(old);
	}
	/* the label is only comparable when it is one of ours; secret
	 * values only under the same state key */
	if (live && s->hash[0] && spec_hash_segment(live, 0, lh) == 0) {
		for (i = 0; i < SPEC_HASH_SEGMENTS; i++) {
			if (i == SPEC_SEG_KEY)
				continue;
			spec_hash_segment(live, i, lh);
			spec_hash_segment(s->hash, i, dh);
			if (strcmp(lh, dh) == 0)
				continue;
			if (i == SPEC_SEG_SECRETS && s->nunresolved)
				continue; /* not available: not compared */
			if (i == SPEC_SEG_SECRETS && !same_key(live, s->hash)) {
				b->p->secrets_incomparable++;
				continue;
			}
			segment_reason(a, s, r, live, i);
		}
	}
	listed_reasons(a, s, o, r);
	if (live == NULL && (o->present & DT_HAS_ENV))
		createonly_reasons(a, s, o);
	if (b->in->resize_unavailable)
		unresizable_reasons(a, s, o, r);
	if (s->snapshot &&
	    plan_res_replacing(b->p, RES_SNAPSHOT, s->snapshot) != NULL)
		add_reason(a, PLAN_CAT_SPEC, PLAN_ORIGIN_MANIFEST,
		           "spec.snapshot", s->snapshot, "(rebuilt)", 1)
		        ->note =
		        xasprintf(PLAN_NOTE_SNAPSHOT_REPLACED, s->snapshot);
	if (replace_asked(b->in, s->name))
		add_reason(a, PLAN_CAT_SPEC, PLAN_ORIGIN_MANIFEST, "sandbox",
		           o->id, "(replaced)", 1)
		        ->note = xstrdup(PLAN_NOTE_REPLACE_ASKED);
	return a->nreasons > before;
}

static void
label_reasons(struct plan_action *a, const struct spec *s,
              const struct plan_record *r, const struct strmap *have,
              const struct strmap *want)
{
	size_t i;

	for (i = 0; i < have->n; i++) {
		const char *w = strmap_get(want, have->v[i].key);

		if (w == NULL || strcmp(w, have->v[i].value) != 0) {
			char *f = xasprintf("labels.%s", have->v[i].key);

			add_reason(a, PLAN_CAT_LABELS,
			           origin_label(r, s, have->v[i].key), f,
			           have->v[i].value, w, 0);
			free(f);
		}
	}
	for (i = 0; i < want->n; i++)
		if (strmap_get(have, want->v[i].key) == NULL) {
			char *f = xasprintf("labels.%s", want->v[i].key);

			add_reason(a, PLAN_CAT_LABELS,
			           origin_label(r, s, want->v[i].key), f, NULL,
			           want->v[i].value, 0);
			free(f);
		}
}

/* setting_differs: the server's normalisation: autoArchiveInterval 0 is
 * the maximum and larger values are clamped; any negative
 * autoDeleteInterval is "never". *shown is the value the live one is
 * compared with. */
static int
setting_differs(enum spec_field f, int want, int have, int max_archive,
                int *shown)
{
	*shown = want;
	if (f == SPEC_F_AUTO_ARCHIVE)
		*shown = spec_normalize_auto_archive(want, max_archive);
	if (f == SPEC_F_AUTO_DELETE && want < 0 && have < 0)
		return 0;
	return *shown != have;
}

/*
 * settings_part: the fields Daytona sets in place with one call each
 * (create_setting(): public, the intervals), compared with the live
 * values; a step per change.
 */
static int
settings_part(struct builder *b, struct plan_action *a, const struct spec *s,
              const struct dt_sandbox *o, const struct plan_record *r)
{
	struct plan_step *st;
	enum spec_field f;
	int update = 0;
	long stop_at = -1, pause_at = -1;
	const struct dt_setting_info *const *settings = create_settings();

	for (f = 1; f < SPEC_F_COUNT; f++) {
		const struct dt_setting_info *si = settings[f];
		const char *path;
		enum plan_origin origin;
		int want, have = 0, shown;

		if (si == NULL || !create_setting_value(s, f, &want))
			continue;
		path = spec_field_path(f);
		(void)dt_sandbox_setting(o, si->id, &have);
		if (!setting_differs(f, want, have, b->max_archive, &shown))
			continue;
		origin = origin_of(r, s, f);
		if (si->is_bool)
			add_reason(a, PLAN_CAT_SETTINGS, origin, path,
			           have ? "true" : "false",
			           want ? "true" : "false", 0);
		else
			add_reason_num(a, PLAN_CAT_SETTINGS, origin, path, have,
			               shown);
		if (f == SPEC_F_AUTO_STOP)
			stop_at = (long)a->nsteps;
		if (f == SPEC_F_AUTO_PAUSE)
			pause_at = (long)a->nsteps;
		st = add_step(a, STEP_SET_SETTING);
		st->setting = si->id;
		st->field = path;
		st->value = want;
		update = 1;
	}
	/* autoStopInterval and autoPauseInterval may not both be non-zero:
	 * the one going to 0 is set first */
	if (stop_at >= 0 && pause_at >= 0 && a->steps[stop_at].value != 0) {
		struct plan_step t = a->steps[stop_at];

		a->steps[stop_at] = a->steps[pause_at];
		a->steps[pause_at] = t;
	}
	return update;
}

/*
 * ttl_part: spec.ttlMinutes. The API shows only when the sandbox will be
 * destroyed (autoDestroyAt), and setting a TTL re-anchors it at the time
 * of the call, so a TTL is set when: none is in force and one is declared
 * (or the other way round), or the manifests changed it since it was last
 * applied. A sandbox with a TTL in force and no applied spec (imported) is
 * left as it is: setting it again would only postpone its end.
 */
static int
ttl_part(struct plan_action *a, const struct spec *s,
         const struct dt_sandbox *o, const struct plan_record *r)
{
	const struct spec *old;
	const char *until = o->auto_destroy_at;
	struct plan_step *st;
	char *was;
	int differs;

	if (!s->has_ttl)
		return 0;
	old = applied_of(r); /* read only when a TTL is declared */
	if (s->ttl == 0)
		differs = until != NULL;
	else if (until == NULL)
		differs = 1;
	else
		differs = old && (!old->has_ttl || old->ttl != s->ttl);
	if (!differs)
		return 0;
	if (until == NULL)
		was = xstrdup("0");
	else if (old && old->has_ttl)
		was = xasprintf("%d (autoDestroyAt %s)", old->ttl, until);
	else
		was = xasprintf("(autoDestroyAt %s)", until);
	add_reason(a, PLAN_CAT_SETTINGS, origin_of(r, s, SPEC_F_TTL),
	           "spec.ttlMinutes", was, NULL, 0)
	        ->new_ = xasprintf("%d", s->ttl);
	free(was);
	st = add_step(a, STEP_SET_TTL);
	st->field = spec_field_path(SPEC_F_TTL);
	st->value = s->ttl;
	return 1;
}

/*
 * secrets_part: spec.secrets, the platform secrets mounted as env. No API
 * shows them (the resolving route is the runner's, with values), so the
 * declared map is compared with the one last applied; without one (an
 * imported sandbox, a lost state) it is set once. Names are shown, never
 * a value: they are the organization's secret names.
 */
static int
secrets_part(struct plan_action *a, const struct spec *s,
             const struct plan_record *r)
{
	const struct spec *old;
	const struct strmap *have;
	enum plan_origin origin;
	size_t i, before = a->nreasons;
	char *f;

	if (!s->has_secrets)
		return 0;
	old = applied_of(r); /* read only when secrets are declared */
	have = old && old->has_secrets ? &old->secrets : NULL;
	origin = old ? PLAN_ORIGIN_MANIFEST : PLAN_ORIGIN_UNKNOWN;
	if (have && strmap_equal(have, &s->secrets))
		return 0;
	/* applied before without secrets and none declared: none set */
	if (have == NULL && old && s->secrets.n == 0)
		return 0;
	for (i = 0; have && i < have->n; i++) {
		const char *w = strmap_get(&s->secrets, have->v[i].key);

		if (w && strcmp(w, have->v[i].value) == 0)
			continue;
		f = xasprintf("spec.secrets.%s", have->v[i].key);
		add_reason(a, PLAN_CAT_SETTINGS, origin, f, have->v[i].value, w,
		           0);
		free(f);
	}
	for (i = 0; i < s->secrets.n; i++) {
		if (have && strmap_get(have, s->secrets.v[i].key))
			continue;
		f = xasprintf("spec.secrets.%s", s->secrets.v[i].key);
		add_reason(a, PLAN_CAT_SETTINGS, origin, f,
		           have ? NULL : "(unknown)", s->secrets.v[i].value, 0);
		free(f);
	}
	if (a->nreasons == before)
		add_reason(a, PLAN_CAT_SETTINGS, origin, "spec.secrets",
		           "(unknown)", "(none)", 0);
	strmap_copy(&add_step(a, STEP_SET_SECRETS)->labels, &s->secrets);
	return 1;
}

/*
 * class_refuses: a manifest asking a sandbox of a class that cannot pause
 * (container) to be paused or to auto-pause: a plan error naming the
 * class; 1 then. An unknown class (a server that does not say) is left to
 * the API.
 */
static int
class_refuses(struct builder *b, const struct spec *s,
              const struct dt_sandbox *o)
{
	enum spec_field f = s->state == SPEC_STATE_PAUSED ? SPEC_F_STATE
	                                                  : SPEC_F_AUTO_PAUSE;
	struct spec_pos at = spec_pos_get(s, f);
	char *src;

	if (spec_class_can_pause(o->sandbox_class) != 0)
		return 0;
	if (s->state != SPEC_STATE_PAUSED &&
	    !(s->has_auto_pause && s->auto_pause > 0))
		return 0;
	if (s->file && at.line)
		src = xasprintf("%s:%u:%u", s->file, at.line, at.col);
	else
		src = source_of(s);
	add_error(b, s->name,
	          "%s: %s: sandbox class '%s' cannot pause (expected a "
	          "linux-vm, android or windows sandbox, or %s)",
	          src,
	          s->state == SPEC_STATE_PAUSED ? "state: paused"
	                                        : "autoPauseInterval",
	          o->sandbox_class,
	          s->state == SPEC_STATE_PAUSED ? "another state"
	                                        : "autoPauseInterval: 0");
	free(src);
	return 1;
}

/* resize_part: the resize of cpu, memory and disk, with the stop and
 * start around it that it needs; 1 when there is one. *cur is updated. */
static int
resize_part(struct plan_action *a, const struct spec *s,
            const struct dt_sandbox *o, const struct plan_record *r,
            enum dt_state *cur)
{
	struct plan_step st;
	int needs_stop = 0, want;
	size_t i;

	memset(&st, 0, sizeof(st));
	st.kind = STEP_RESIZE;
	for (i = 0; i < sizeof(resources) / sizeof(resources[0]); i++) {
		enum spec_field f = resources[i].f;
		int have = live_resource(o, f);

		if ((want = resource_want(s, o, i)) < 0)
			continue;
		add_reason_num(a, PLAN_CAT_RESOURCES, origin_of(r, s, f),
		               spec_field_path(f), have, want);
		if (f == SPEC_F_CPU) {
			st.has_cpu = 1;
			st.cpu = want;
		} else if (f == SPEC_F_MEMORY) {
			st.has_memory = 1;
			st.memory = want;
		} else {
			st.has_disk = 1;
			st.disk = want;
		}
		/* a decrease or any disk growth needs a stopped sandbox */
		needs_stop |= f == SPEC_F_DISK || want < have;
	}
	if (!st.has_cpu && !st.has_memory && !st.has_disk)
		return 0;
	/* resize needs started or stopped */
	if (*cur == DT_STATE_ARCHIVED)
		*cur = lifecycle_steps(a, *cur, DT_STATE_STARTED);
	if (needs_stop && *cur == DT_STATE_STARTED)
		*cur = lifecycle_steps(a, *cur, DT_STATE_STOPPED);
	*add_step(a, STEP_RESIZE) = st;
	add_step(a, STEP_WAIT_STABLE);
	return 1;
}

/* The displayed state the sandbox is in or heading to, for the diff. */
static enum dt_state
effective_state(const struct dt_sandbox *o, int *transitional)
{
	enum dt_state cur = o->state, want = o->desired_state;

	*transitional = dt_state_is_transitional(cur);
	if (!*transitional)
		return cur;
	if (cur == DT_STATE_RESTORING)
		return DT_STATE_STARTED;
	if (dt_state_is_stable(want) && want != DT_STATE_DESTROYED)
		return want;
	/* creating, building, resizing, ...: heading back to started
	 * or to its previous state; judged after the wait by apply */
	switch (cur) {
	case DT_STATE_STOPPING:
	case DT_STATE_ARCHIVING:
		return DT_STATE_STOPPED;
	default:
		return DT_STATE_STARTED;
	}
}

/* replace_action: turn a into the replace the reasons force; 0, or -1
 * when preventDestroy refuses it (the error is recorded). */
static int
replace_action(struct builder *b, struct plan_action *a, const struct spec *s,
               const struct dt_sandbox *o, const struct plan_record *r)
{
	if (prevent_destroy_of(s, o, r)) {
		add_error(b, s->name,
		          "refusing to replace '%s' (%s forces it): "
		          "lifecycle.preventDestroy is set",
		          s->name, a->reasons[0].field);
		return -1;
	}
	a->kind = PLAN_REPLACE;
	if (dt_state_is_transitional(o->state))
		add_step(a, STEP_WAIT_STABLE);
	add_step(a, STEP_DELETE);
	add_step(a, STEP_WAIT_GONE);
	create_steps(b, a, s);
	return 0;
}

/* labels_part: the three-way merge, one PUT when it changes anything. */
static int
labels_part(struct builder *b, struct plan_action *a, const struct spec *s,
            const struct dt_sandbox *o, const struct plan_record *r,
            int keep_spec_label)
{
	struct strmap merged = STRMAP_INIT;
	int update = 0;

	if (!keep_spec_label &&
	    labels_merge_is_live(s, b->in->stack, &o->labels,
	                         r ? &r->owned_labels : NULL))
		return 0; /* nothing to merge: the usual case */
	labels_merge(s, b->in->stack, &o->labels, r ? &r->owned_labels : NULL,
	             &merged);
	/* secrets that cannot be compared: keep the label as it is, or
	 * every plan after a lost state would rewrite it */
	if (keep_spec_label && strmap_get(&o->labels, LABEL_SPEC))
		strmap_set(&merged, LABEL_SPEC,
		           strmap_get(&o->labels, LABEL_SPEC));
	else if (keep_spec_label)
		strmap_del(&merged, LABEL_SPEC);
	if (!strmap_equal(&merged, &o->labels)) {
		label_reasons(a, s, r, &o->labels, &merged);
		strmap_copy(&add_step(a, STEP_SET_LABELS)->labels, &merged);
		update = 1;
	}
	strmap_clear(&merged);
	return update;
}

static int
network_part(struct plan_action *a, const struct spec *s,
             const struct dt_sandbox *o, const struct plan_record *r)
{
	struct spec_network have;
	size_t before = a->nreasons;
	int known;

	if (!s->has_network)
		return 0;
	known = known_network(o, r, &have);
	network_reasons(a, s, r, known ? &have : NULL);
	spec_network_clear(&have);
	if (a->nreasons == before)
		return 0;
	spec_network_copy(&add_step(a, STEP_SET_NETWORK)->network, &s->network);
	return 1;
}

/* all_differences: the reasons of the in-place parts for a replace, whose
 * steps it does not need (the new sandbox is made as declared). */
static void
all_differences(struct builder *b, struct plan_action *a, const struct spec *s,
                const struct dt_sandbox *o, const struct plan_record *r)
{
	size_t nsteps = a->nsteps, from = a->nreasons, i, n;
	int transitional;
	enum dt_state cur = effective_state(o, &transitional);

	labels_part(b, a, s, o, r, 0);
	settings_part(b, a, s, o, r);
	ttl_part(a, s, o, r);
	secrets_part(a, s, r);
	network_part(a, s, o, r);
	resize_part(a, s, o, r, &cur);
	while (a->nsteps > nsteps)
		step_clear(&a->steps[--a->nsteps]);
	/* sandform's own labels follow the replace: not a difference */
	for (i = n = from; i < a->nreasons; i++) {
		struct plan_reason *rs = &a->reasons[i];

		if (strncmp(rs->field, "labels." LABEL_PREFIX,
		            strlen("labels." LABEL_PREFIX)) == 0) {
			reason_clear(rs);
			continue;
		}
		a->reasons[n++] = *rs;
	}
	a->nreasons = n;
}

/* kind_of: the most significant thing a does (PLAN_KIND_COUNT: nothing). */
static enum plan_kind
kind_of(const struct plan_action *a, int recovering, int resize, int update,
        size_t lifecycle_from)
{
	if (recovering)
		return PLAN_RECOVER;
	if (resize)
		return PLAN_RESIZE;
	if (update)
		return PLAN_UPDATE;
	if (a->nsteps <= lifecycle_from)
		return PLAN_KIND_COUNT; /* nothing to do (maybe a wait) */
	switch (a->steps[a->nsteps - 2].kind) {
	case STEP_START:
		return PLAN_START;
	case STEP_STOP:
		return PLAN_STOP;
	case STEP_PAUSE:
		return PLAN_PAUSE;
	default:
		return PLAN_ARCHIVE;
	}
}

void
diff_existing(struct builder *b, const struct spec *s,
              const struct dt_sandbox *o, const struct plan_record *r)
{
	struct plan_action *a;
	enum dt_state orig, cur, final;
	int transitional, recovering, resize, update = 0;
	size_t lifecycle_from, incomparable_before;

	a = new_action(b, s->name, PLAN_UPDATE);
	a->sandbox_id = xstrdup_or_null(o->id);
	if (class_refuses(b, s, o))
		goto drop;
	incomparable_before = b->p->secrets_incomparable;
	if (replace_reasons(b, a, s, o, r)) {
		/* a replace lists every field that differs, not only the
		 * ones that force it (those say so) */
		all_differences(b, a, s, o, r);
		if (replace_action(b, a, s, o, r) < 0)
			goto drop;
		goto keep;
	}

	orig = effective_state(o, &transitional);
	recovering = orig == DT_STATE_ERROR && o->recoverable;
	if (transitional)
		add_step(a, STEP_WAIT_STABLE);
	cur = orig;
	if (recovering) {
		char *old = xasprintf("error%s%s", o->error_reason ? ": " : "",
		                      nz(o->error_reason));

		add_reason(a, PLAN_CAT_STATE, PLAN_ORIGIN_OUT_OF_BAND, "state",
		           old, "started (recover)", 0);
		free(old);
		add_step(a, STEP_RECOVER);
		add_step(a, STEP_WAIT_STABLE);
		cur = orig = DT_STATE_STARTED;
	}

	/* settings: one call each. The spec label stays as it is when its
	 * secrets could not be compared (another state's key, or not
	 * available to this plan): a rewrite would record a hash nobody
	 * checked */
	update |=
	        labels_part(b, a, s, o, r,
	                    incomparable_before != b->p->secrets_incomparable ||
	                            s->nunresolved > 0);
	update |= settings_part(b, a, s, o, r);
	update |= ttl_part(a, s, o, r);
	update |= secrets_part(a, s, r);
	update |= network_part(a, s, o, r);
	resize = resize_part(a, s, o, r, &cur);

	/* state */
	final = spec_final(s, orig);
	if (s->state != SPEC_STATE_ANY && final != orig)
		add_reason(a, PLAN_CAT_STATE, origin_of(r, s, SPEC_F_STATE),
		           "spec.state", dt_state_name(orig),
		           dt_state_name(final), 0);
	lifecycle_from = a->nsteps;
	lifecycle_steps(a, cur, final);
	a->kind = kind_of(a, recovering, resize, update, lifecycle_from);
	if (a->kind == PLAN_KIND_COUNT)
		goto drop;
	labels_owned(s, b->in->stack, &a->owned_labels);
keep:
	/* only now: a source is formatted (file:line:column) for each
	 * action kept, not for the 100,000 sandboxes that are up to date */
	a->source = source_of(s);
	set_desired(b, a, s);
	a->observed = plan_observed_dup(o);
	a->fingerprint = plan_fingerprint(o);
	return;
drop:
	drop_last_action(b);
}
