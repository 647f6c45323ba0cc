/*
 * spec: the desired-sandbox model, its field table and its JSON.
 *
 * The table is the single place a field's key, path, bounds, default and
 * mutability are written; the code below and the loader walk it for the
 * scalar fields and keep their own code only for the structured ones
 * (labels, env, network lists, volumes, state).
 */
#include "common/base.h"

#include <limits.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/intern.h"
#include "common/jsonutil.h"
#include "common/xalloc.h"
#include "manifests/spec.h"

#define OFF(m) offsetof(struct spec, m)

/* clang-format off */
const struct spec_field_info spec_fields[SPEC_F_COUNT] = {
	[SPEC_F_DOCUMENT] = { SPEC_F_DOCUMENT, SPEC_F_DOCUMENT, "", "",
		SPEC_T_OTHER, SPEC_CHANGE_NONE, 0, 0, 0, 0, NULL, false, 0 },
	[SPEC_F_NAME] = { SPEC_F_NAME, SPEC_F_DOCUMENT, "name",
		"metadata.name", SPEC_T_OTHER, SPEC_CHANGE_REPLACE, 0, 0, 0, 0,
		"a sandbox name", false, 0 },
	[SPEC_F_LABELS] = { SPEC_F_LABELS, SPEC_F_DOCUMENT, "labels",
		"metadata.labels", SPEC_T_OTHER, SPEC_CHANGE_UPDATE, 0, 0, 0, 0,
		"a mapping of string to string", false, 0 },
	[SPEC_F_IMAGE] = { SPEC_F_IMAGE, SPEC_F_DOCUMENT, "image",
		"spec.image", SPEC_T_WORD, SPEC_CHANGE_REPLACE, OFF(image), 0,
		0, 0, "an image reference", false, 0 },
	[SPEC_F_SNAPSHOT] = { SPEC_F_SNAPSHOT, SPEC_F_DOCUMENT, "snapshot",
		"spec.snapshot", SPEC_T_WORD, SPEC_CHANGE_REPLACE,
		OFF(snapshot), 0, 0, 0, "a snapshot name or id", false, 0 },
	[SPEC_F_RESOURCES] = { SPEC_F_RESOURCES, SPEC_F_DOCUMENT,
		"resources", "spec.resources", SPEC_T_GROUP, SPEC_CHANGE_NONE,
		0, 0, 0, 0, NULL, false, 0 },
	[SPEC_F_CPU] = { SPEC_F_CPU, SPEC_F_RESOURCES, "cpu",
		"spec.resources.cpu", SPEC_T_INT, SPEC_CHANGE_RESIZE, OFF(cpu),
		OFF(has_cpu), 1, SPEC_MAX_CPU,
		"an integer from 1 to 64, in vCPU", true,
		SPEC_IMAGE_DEFAULT_CPU },
	[SPEC_F_MEMORY] = { SPEC_F_MEMORY, SPEC_F_RESOURCES, "memory",
		"spec.resources.memory", SPEC_T_INT, SPEC_CHANGE_RESIZE,
		OFF(memory), OFF(has_memory), 1, SPEC_MAX_MEMORY,
		"an integer from 1 to 1024, in GiB", true,
		SPEC_IMAGE_DEFAULT_MEMORY },
	[SPEC_F_DISK] = { SPEC_F_DISK, SPEC_F_RESOURCES, "disk",
		"spec.resources.disk", SPEC_T_INT, SPEC_CHANGE_RESIZE,
		OFF(disk), OFF(has_disk), 1, SPEC_MAX_DISK,
		"an integer from 1 to 10240, in GiB", true,
		SPEC_IMAGE_DEFAULT_DISK },
	[SPEC_F_GPU] = { SPEC_F_GPU, SPEC_F_RESOURCES, "gpu",
		"spec.resources.gpu", SPEC_T_INT, SPEC_CHANGE_REPLACE, OFF(gpu),
		OFF(has_gpu), 0, SPEC_MAX_GPU, "an integer, 0 or 1", true, 0 },
	[SPEC_F_ENV] = { SPEC_F_ENV, SPEC_F_DOCUMENT, "env", "spec.env",
		SPEC_T_OTHER, SPEC_CHANGE_REPLACE, 0, 0, 0, 0,
		"a mapping of variable names to values", false, 0 },
	[SPEC_F_USER] = { SPEC_F_USER, SPEC_F_DOCUMENT, "user", "spec.user",
		SPEC_T_WORD, SPEC_CHANGE_REPLACE, OFF(user), 0, 0, 0,
		"a user name", false, 0 },
	[SPEC_F_TARGET] = { SPEC_F_TARGET, SPEC_F_DOCUMENT, "target",
		"spec.target", SPEC_T_WORD, SPEC_CHANGE_REPLACE, OFF(target), 0,
		0, 0, "a region name or id", false, 0 },
	[SPEC_F_PUBLIC] = { SPEC_F_PUBLIC, SPEC_F_DOCUMENT, "public",
		"spec.public", SPEC_T_BOOL, SPEC_CHANGE_UPDATE, OFF(public_),
		OFF(has_public), 0, 1, "true or false", true, 0 },
	[SPEC_F_STATE] = { SPEC_F_STATE, SPEC_F_DOCUMENT, "state",
		"spec.state", SPEC_T_OTHER, SPEC_CHANGE_STATE, 0, 0, 0, 0,
		"started, stopped, archived or paused", false, 0 },
	[SPEC_F_AUTO_STOP] = { SPEC_F_AUTO_STOP, SPEC_F_DOCUMENT,
		"autoStopInterval", "spec.autoStopInterval", SPEC_T_INT,
		SPEC_CHANGE_UPDATE, OFF(auto_stop), OFF(has_auto_stop), 0,
		SPEC_MAX_INTERVAL, "minutes, an integer >= 0; 0 = never", true,
		SPEC_DEFAULT_AUTO_STOP },
	[SPEC_F_AUTO_PAUSE] = { SPEC_F_AUTO_PAUSE, SPEC_F_DOCUMENT,
		"autoPauseInterval", "spec.autoPauseInterval", SPEC_T_INT,
		SPEC_CHANGE_UPDATE, OFF(auto_pause), OFF(has_auto_pause), 0,
		SPEC_MAX_INTERVAL,
		"minutes, an integer >= 0; 0 = never (classes that can pause)",
		false, 0 },
	[SPEC_F_AUTO_ARCHIVE] = { SPEC_F_AUTO_ARCHIVE, SPEC_F_DOCUMENT,
		"autoArchiveInterval", "spec.autoArchiveInterval", SPEC_T_INT,
		SPEC_CHANGE_UPDATE, OFF(auto_archive), OFF(has_auto_archive), 0,
		SPEC_MAX_INTERVAL,
		"minutes, an integer >= 0; 0 = the maximum", true,
		SPEC_DEFAULT_AUTO_ARCHIVE },
	[SPEC_F_AUTO_DELETE] = { SPEC_F_AUTO_DELETE, SPEC_F_DOCUMENT,
		"autoDeleteInterval", "spec.autoDeleteInterval", SPEC_T_INT,
		SPEC_CHANGE_UPDATE, OFF(auto_delete), OFF(has_auto_delete), -1,
		SPEC_MAX_INTERVAL,
		"minutes, an integer >= -1; -1 = never, 0 = when stopped",
		true, SPEC_DEFAULT_AUTO_DELETE },
	[SPEC_F_TTL] = { SPEC_F_TTL, SPEC_F_DOCUMENT, "ttlMinutes",
		"spec.ttlMinutes", SPEC_T_INT, SPEC_CHANGE_UPDATE, OFF(ttl),
		OFF(has_ttl), 0, SPEC_MAX_INTERVAL,
		"minutes, an integer >= 0; 0 = no time to live", true, 0 },
	[SPEC_F_SPOT] = { SPEC_F_SPOT, SPEC_F_DOCUMENT, "spot", "spec.spot",
		SPEC_T_BOOL, SPEC_CHANGE_REPLACE, OFF(spot), OFF(has_spot), 0,
		1, "true or false (GPU sandboxes only)", false, 0 },
	[SPEC_F_GPU_TYPE] = { SPEC_F_GPU_TYPE, SPEC_F_DOCUMENT, "gpuType",
		"spec.gpuType", SPEC_T_OTHER, SPEC_CHANGE_REPLACE, 0, 0, 0,
		SPEC_NGPU_TYPES,
		"a list of GPU types in order of preference", false, 0 },
	[SPEC_F_KVM] = { SPEC_F_KVM, SPEC_F_DOCUMENT, "kvm", "spec.kvm",
		SPEC_T_BOOL, SPEC_CHANGE_REPLACE, OFF(kvm), OFF(has_kvm), 0, 1,
		"true or false (linux-vm snapshots only)", false, 0 },
	[SPEC_F_OUTBOUND_PROXY] = { SPEC_F_OUTBOUND_PROXY, SPEC_F_DOCUMENT,
		"outboundProxyUrl", "spec.outboundProxyUrl", SPEC_T_WORD,
		SPEC_CHANGE_REPLACE, OFF(outbound_proxy_url), 0, 0, 0,
		"an http:// or https:// URL", false, 0 },
	[SPEC_F_SECRETS] = { SPEC_F_SECRETS, SPEC_F_DOCUMENT, "secrets",
		"spec.secrets", SPEC_T_OTHER, SPEC_CHANGE_UPDATE, 0, 0, 0,
		SPEC_MAX_SECRETS,
		"a mapping of variable names to organization secret names",
		false, 0 },
	[SPEC_F_NETWORK] = { SPEC_F_NETWORK, SPEC_F_DOCUMENT, "network",
		"spec.network", SPEC_T_GROUP, SPEC_CHANGE_UPDATE, 0, 0, 0, 0,
		NULL, false, 0 },
	[SPEC_F_BLOCK_ALL] = { SPEC_F_BLOCK_ALL, SPEC_F_NETWORK, "blockAll",
		"spec.network.blockAll", SPEC_T_OTHER, SPEC_CHANGE_UPDATE, 0, 0,
		0, 1, "true or false", false, 0 },
	[SPEC_F_ALLOW_LIST] = { SPEC_F_ALLOW_LIST, SPEC_F_NETWORK,
		"allowList", "spec.network.allowList", SPEC_T_OTHER,
		SPEC_CHANGE_UPDATE, 0, 0, 0, SPEC_MAX_NETWORK_LIST,
		"IPv4 CIDRs like 10.0.0.0/8", false, 0 },
	[SPEC_F_DOMAIN_ALLOW_LIST] = { SPEC_F_DOMAIN_ALLOW_LIST,
		SPEC_F_NETWORK, "domainAllowList",
		"spec.network.domainAllowList", SPEC_T_OTHER,
		SPEC_CHANGE_UPDATE, 0, 0, 0, SPEC_MAX_NETWORK_LIST,
		"host names like pypi.org or *.example.com", false, 0 },
	[SPEC_F_VOLUMES] = { SPEC_F_VOLUMES, SPEC_F_DOCUMENT, "volumes",
		"spec.volumes", SPEC_T_OTHER, SPEC_CHANGE_REPLACE, 0, 0, 0, 0,
		"a list of {volume, mountPath, subpath}", false, 0 },
	[SPEC_F_LIFECYCLE] = { SPEC_F_LIFECYCLE, SPEC_F_DOCUMENT,
		"lifecycle", "spec.lifecycle", SPEC_T_GROUP, SPEC_CHANGE_NONE,
		0, 0, 0, 0, NULL, false, 0 },
	[SPEC_F_PREVENT_DESTROY] = { SPEC_F_PREVENT_DESTROY,
		SPEC_F_LIFECYCLE, "preventDestroy",
		"spec.lifecycle.preventDestroy", SPEC_T_BOOL, SPEC_CHANGE_NONE,
		OFF(prevent_destroy), 0, 0, 1, "true or false", false, 0 },
};
/* clang-format on */

const char *
spec_field_path(enum spec_field f)
{
	if ((int)f < 0 || f >= SPEC_F_COUNT)
		return "";
	return spec_fields[f].path;
}

enum spec_field
spec_field_by_path(const char *path)
{
	int f;

	for (f = 0; f < SPEC_F_COUNT; f++)
		if (strcmp(spec_fields[f].path, path) == 0)
			return (enum spec_field)f;
	return SPEC_F_COUNT;
}

static const char *const state_names[] = {
	[SPEC_STATE_ANY] = "",
	[SPEC_STATE_STARTED] = "started",
	[SPEC_STATE_STOPPED] = "stopped",
	[SPEC_STATE_ARCHIVED] = "archived",
	[SPEC_STATE_PAUSED] = "paused",
};

static const char *const gpu_types[SPEC_NGPU_TYPES] = { SPEC_GPU_TYPES };

bool
spec_gpu_type_ok(const char *s)
{
	size_t i;

	for (i = 0; s && i < SPEC_NGPU_TYPES; i++)
		if (strcmp(s, gpu_types[i]) == 0)
			return true;
	return false;
}

int
spec_class_can_pause(const char *c)
{
	if (c == NULL)
		return -1;
	if (strcmp(c, "container") == 0)
		return 0;
	if (strcmp(c, "linux-vm") == 0 || strcmp(c, "android") == 0 ||
	    strcmp(c, "windows") == 0)
		return 1;
	return -1;
}

int
spec_effective_auto_stop(const struct spec *s, int *value)
{
	if (s->has_auto_stop) {
		*value = s->auto_stop;
		return 1;
	}
	if (s->has_auto_pause && s->auto_pause > 0) {
		*value = 0;
		return 1;
	}
	return 0;
}

int
spec_effective_auto_pause(const struct spec *s, int *value)
{
	if (s->has_auto_pause) {
		*value = s->auto_pause;
		return 1;
	}
	if (s->has_auto_stop && s->auto_stop > 0) {
		*value = 0;
		return 1;
	}
	return 0;
}

const char *
spec_state_name(enum spec_state st)
{
	if ((int)st < 0 ||
	    (size_t)st >= sizeof(state_names) / sizeof(*state_names))
		return "";
	return state_names[st];
}

int
spec_state_parse(const char *s, enum spec_state *out)
{
	size_t i;

	for (i = 1; s && i < sizeof(state_names) / sizeof(*state_names); i++)
		if (strcmp(s, state_names[i]) == 0) {
			*out = (enum spec_state)i;
			return 0;
		}
	return -1;
}

/* ---- positions ------------------------------------------------------------
 */

/*
 * A spec from a manifest knows where each of its written fields is, for
 * messages only; a large plan holds one spec a sandbox, most of them
 * writing a handful of fields. So the document's position is kept in the
 * spec, and the other fields' in a table of the written ones alone, in
 * field order (an entry's index is the number of written fields before
 * it). An entry is one word: the line as an offset from the table's base
 * (the document's line when there is one) and the column, 16 bits each.
 * A position that does not fit (a line above base or more than 65,535
 * below it, a column past 65,535) turns the table wide, every entry then
 * two words, the line and the column as given, so positions stay exact.
 */
#define POS_NARROW_MAX 0xffffu /* offset and column of a narrow entry */
#define POS_CAP_MIN    8       /* words of a new table */

struct spec_posv {
	uint64_t set;  /* bit f: field f has an entry */
	unsigned base; /* the line narrow offsets count from */
	uint8_t cap;   /* words allocated in v */
	bool wide;     /* two words an entry: line, column */
	uint32_t v[];
};

_Static_assert(SPEC_F_COUNT <= 64, "spec_posv.set has a bit a field");
_Static_assert(UINT_MAX <= UINT32_MAX, "a wide entry holds an unsigned");
_Static_assert((SPEC_F_COUNT - 1) * 2 <= UINT8_MAX,
               "spec_posv.cap counts the words of every field");

static unsigned
bits(uint64_t x)
{
	unsigned n = 0;

	for (; x; x &= x - 1)
		n++;
	return n;
}

/* posv_rank: the number of entries before field f's. */
static unsigned
posv_rank(const struct spec_posv *t, enum spec_field f)
{
	return bits(t->set & ((UINT64_C(1) << f) - 1));
}

static unsigned
posv_words(const struct spec_posv *t)
{
	return bits(t->set) * (t->wide ? 2 : 1);
}

static struct spec_posv *
posv_alloc(unsigned words)
{
	struct spec_posv *t = xmalloc(offsetof(struct spec_posv, v) +
	                              words * sizeof(t->v[0]));

	t->cap = (uint8_t)words;
	return t;
}

static struct spec_posv *
posv_dup(const struct spec_posv *t)
{
	struct spec_posv *d;
	unsigned words;

	if (t == NULL || t->set == 0)
		return NULL;
	words = posv_words(t);
	d = posv_alloc(words);
	d->set = t->set;
	d->base = t->base;
	d->wide = t->wide;
	memcpy(d->v, t->v, words * sizeof(t->v[0]));
	return d;
}

/* posv_reserve: room for words in t (reallocated, returned). */
static struct spec_posv *
posv_reserve(struct spec_posv *t, unsigned words)
{
	unsigned cap = t->cap;

	if (words <= cap)
		return t;
	while (cap < words)
		cap *= 2;
	if (cap > (SPEC_F_COUNT - 1) * 2)
		cap = (SPEC_F_COUNT - 1) * 2;
	t = xrealloc(t, offsetof(struct spec_posv, v) + cap * sizeof(t->v[0]));
	t->cap = (uint8_t)cap;
	return t;
}

/* posv_widen: every entry of a narrow t as two words. */
static struct spec_posv *
posv_widen(struct spec_posv *t)
{
	unsigned n = bits(t->set), i;

	t = posv_reserve(t, 2 * n);
	for (i = n; i-- > 0;) {
		uint32_t w = t->v[i];

		t->v[2 * i] = t->base + (w >> 16);
		t->v[2 * i + 1] = w & POS_NARROW_MAX;
	}
	t->wide = true;
	return t;
}

struct spec_pos
spec_pos_get(const struct spec *s, enum spec_field f)
{
	const struct spec_posv *t = s->field_pos;
	struct spec_pos p = { 0, 0 };
	unsigned r;

	if (f == SPEC_F_DOCUMENT)
		return s->doc_pos;
	if (t == NULL || (unsigned)f >= SPEC_F_COUNT ||
	    !(t->set & (UINT64_C(1) << f)))
		return p;
	r = posv_rank(t, f);
	if (t->wide) {
		p.line = t->v[2 * r];
		p.col = t->v[2 * r + 1];
	} else {
		p.line = t->base + (t->v[r] >> 16);
		p.col = t->v[r] & POS_NARROW_MAX;
	}
	return p;
}

void
spec_pos_set(struct spec *s, enum spec_field f, unsigned line, unsigned col)
{
	struct spec_posv *t = s->field_pos;
	uint64_t bit;
	unsigned r, w, n;
	bool had;

	if (f == SPEC_F_DOCUMENT) {
		s->doc_pos.line = line;
		s->doc_pos.col = col;
		return;
	}
	if ((unsigned)f >= SPEC_F_COUNT)
		return;
	bit = UINT64_C(1) << f;
	if (t == NULL) {
		if (line == 0 && col == 0)
			return;
		t = posv_alloc(POS_CAP_MIN);
		t->set = 0;
		t->base = s->doc_pos.line && s->doc_pos.line <= line
		                  ? s->doc_pos.line
		                  : line;
		t->wide = false;
		s->field_pos = t;
	}
	had = (t->set & bit) != 0;
	r = posv_rank(t, f);
	n = bits(t->set);
	w = t->wide ? 2 : 1;
	if (line == 0 && col == 0) { /* forget it */
		if (had) {
			memmove(&t->v[r * w], &t->v[(r + 1) * w],
			        (n - r - 1) * w * sizeof(t->v[0]));
			t->set &= ~bit;
		}
		return;
	}
	if (!t->wide && (line < t->base || line - t->base > POS_NARROW_MAX ||
	                 col > POS_NARROW_MAX)) {
		t = s->field_pos = posv_widen(t);
		w = 2;
	}
	if (!had) {
		t = s->field_pos = posv_reserve(t, (n + 1) * w);
		memmove(&t->v[(r + 1) * w], &t->v[r * w],
		        (n - r) * w * sizeof(t->v[0]));
		t->set |= bit;
	}
	if (t->wide) {
		t->v[2 * r] = line;
		t->v[2 * r + 1] = col;
	} else {
		t->v[r] = ((uint32_t)(line - t->base) << 16) | col;
	}
}

/* ---- life cycle -----------------------------------------------------------
 */

void
spec_clear(struct spec *s)
{
	size_t i;

	if (s == NULL)
		return;
	free(s->name);
	/* file and the words below may be shared copies (common/intern.h) */
	intern_free(s->file);
	strmap_clear(&s->labels);
	intern_free(s->image);
	intern_free(s->snapshot);
	for (i = 0; i < s->nenv; i++) {
		free(s->env[i].key);
		free(s->env[i].value);
	}
	free(s->env);
	intern_free(s->user);
	intern_free(s->target);
	intern_free(s->outbound_proxy_url);
	for (i = 0; i < s->ngpu_types; i++)
		free(s->gpu_types[i]);
	free(s->gpu_types);
	strmap_clear(&s->secrets);
	strmap_clear(&s->secret_pos);
	spec_network_clear(&s->network);
	for (i = 0; i < s->nvolumes; i++) {
		free(s->volumes[i].volume);
		free(s->volumes[i].mount_path);
		free(s->volumes[i].subpath);
	}
	free(s->volumes);
	free(s->field_pos);
	memset(s, 0, sizeof(*s));
}

void
spec_free(struct spec *s)
{
	spec_clear(s);
	free(s);
}

void
spec_copy(struct spec *d, const struct spec *s)
{
	size_t i;

	*d = *s; /* scalars, flags, positions, hash */
	d->name = xstrdup(s->name);
	d->file = xstrdup_or_null(s->file);
	d->field_pos = posv_dup(s->field_pos);
	strmap_copy(&d->labels, &s->labels);
	d->image = xstrdup_or_null(s->image);
	d->snapshot = xstrdup_or_null(s->snapshot);
	d->env = s->nenv ? xcalloc(s->nenv, sizeof(*d->env)) : NULL;
	for (i = 0; i < s->nenv; i++) {
		d->env[i] = s->env[i]; /* kind, hmac */
		d->env[i].key = xstrdup(s->env[i].key);
		d->env[i].value = xstrdup(s->env[i].value);
	}
	d->user = xstrdup_or_null(s->user);
	d->target = xstrdup_or_null(s->target);
	d->outbound_proxy_url = xstrdup_or_null(s->outbound_proxy_url);
	d->gpu_types =
	        s->gpu_types ? xcalloc(s->ngpu_types + 1, sizeof(*d->gpu_types))
	                     : NULL;
	for (i = 0; i < s->ngpu_types; i++)
		d->gpu_types[i] = xstrdup(s->gpu_types[i]);
	memset(&d->secrets, 0, sizeof(d->secrets));
	strmap_copy(&d->secrets, &s->secrets);
	memset(&d->secret_pos, 0, sizeof(d->secret_pos));
	strmap_copy(&d->secret_pos, &s->secret_pos);
	spec_network_copy(&d->network, &s->network);
	d->volumes =
	        s->nvolumes ? xcalloc(s->nvolumes, sizeof(*d->volumes)) : NULL;
	for (i = 0; i < s->nvolumes; i++) {
		d->volumes[i].volume = xstrdup(s->volumes[i].volume);
		d->volumes[i].mount_path = xstrdup(s->volumes[i].mount_path);
		d->volumes[i].subpath = xstrdup_or_null(s->volumes[i].subpath);
	}
}

struct spec *
spec_dup(const struct spec *s)
{
	struct spec *d = xcalloc(1, sizeof(*d));

	spec_copy(d, s);
	return d;
}

static int
str_equal(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static int
scalar_equal(const struct spec *a, const struct spec *b,
             const struct spec_field_info *fi)
{
	const char *x = (const char *)a, *y = (const char *)b;
	bool hx = fi->has_off ? *(const bool *)(x + fi->has_off) : true;
	bool hy = fi->has_off ? *(const bool *)(y + fi->has_off) : true;

	switch (fi->type) {
	case SPEC_T_WORD:
		return str_equal(*(char *const *)(x + fi->off),
		                 *(char *const *)(y + fi->off));
	case SPEC_T_INT:
		return hx == hy && (!hx || *(const int *)(x + fi->off) ==
		                                   *(const int *)(y + fi->off));
	case SPEC_T_BOOL:
		return hx == hy &&
		       (!hx || *(const bool *)(x + fi->off) ==
		                       *(const bool *)(y + fi->off));
	default:
		return 1;
	}
}

static int
env_equal(const struct spec *a, const struct spec *b)
{
	size_t i;

	if (a->nenv != b->nenv)
		return 0;
	for (i = 0; i < a->nenv; i++)
		if (strcmp(a->env[i].key, b->env[i].key) != 0 ||
		    a->env[i].kind != b->env[i].kind ||
		    strcmp(a->env[i].value, b->env[i].value) != 0)
			return 0;
	return 1;
}

static int
volumes_equal(const struct spec *a, const struct spec *b)
{
	size_t i;

	if (a->nvolumes != b->nvolumes)
		return 0;
	for (i = 0; i < a->nvolumes; i++)
		if (strcmp(a->volumes[i].volume, b->volumes[i].volume) != 0 ||
		    strcmp(a->volumes[i].mount_path,
		           b->volumes[i].mount_path) != 0 ||
		    !str_equal(a->volumes[i].subpath, b->volumes[i].subpath))
			return 0;
	return 1;
}

static int
gpu_types_equal(const struct spec *a, const struct spec *b)
{
	size_t i;

	if ((a->gpu_types == NULL) != (b->gpu_types == NULL) ||
	    a->ngpu_types != b->ngpu_types)
		return 0;
	for (i = 0; i < a->ngpu_types; i++)
		if (strcmp(a->gpu_types[i], b->gpu_types[i]) != 0)
			return 0;
	return 1;
}

int
spec_field_equal(const struct spec *a, const struct spec *b, enum spec_field f)
{
	int g;

	switch (f) {
	case SPEC_F_NAME:
		return strcmp(a->name, b->name) == 0;
	case SPEC_F_LABELS:
		return strmap_equal(&a->labels, &b->labels);
	case SPEC_F_ENV:
		return env_equal(a, b);
	case SPEC_F_STATE:
		return a->state == b->state;
	case SPEC_F_VOLUMES:
		return volumes_equal(a, b);
	case SPEC_F_GPU_TYPE:
		return gpu_types_equal(a, b);
	case SPEC_F_SECRETS:
		return a->has_secrets == b->has_secrets &&
		       strmap_equal(&a->secrets, &b->secrets);
	case SPEC_F_BLOCK_ALL:
		return a->network.has_block_all == b->network.has_block_all &&
		       a->network.block_all == b->network.block_all;
	case SPEC_F_ALLOW_LIST:
		return str_equal(a->network.allow_list, b->network.allow_list);
	case SPEC_F_DOMAIN_ALLOW_LIST:
		return str_equal(a->network.domain_allow_list,
		                 b->network.domain_allow_list);
	default:
		break;
	}
	if ((int)f <= 0 || f >= SPEC_F_COUNT)
		return 1;
	if (spec_fields[f].type != SPEC_T_GROUP)
		return scalar_equal(a, b, &spec_fields[f]);
	for (g = 0; g < SPEC_F_COUNT; g++)
		if (spec_fields[g].parent == f &&
		    !spec_field_equal(a, b, (enum spec_field)g))
			return 0;
	return 1;
}

const struct spec_env *
spec_env_find(const struct spec *s, const char *key)
{
	size_t lo = 0, hi = s->nenv;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(s->env[mid].key, key);

		if (c == 0)
			return &s->env[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int
spec_normalize_auto_archive(int n, int max)
{
	if (max <= 0)
		max = SPEC_DEFAULT_MAX_AUTO_ARCHIVE;
	if (n == 0 || n > max)
		return max;
	return n;
}

unsigned
spec_line(const struct spec *s)
{
	if (s->doc_pos.line)
		return s->doc_pos.line;
	return spec_pos_get(s, SPEC_F_NAME).line;
}

char *
spec_source(const struct spec *s)
{
	if (s->file == NULL)
		return xstrdup("-");
	return xasprintf("%s:%u", s->file, spec_line(s));
}

/* ---- to JSON --------------------------------------------------------------
 */

/* scalar_to_json: o[key] = the value of a WORD, INT or BOOL field, when
 * written. */
static void
scalar_to_json(const struct spec *s, const struct spec_field_info *fi, cJSON *o)
{
	const char *base = (const char *)s;

	switch (fi->type) {
	case SPEC_T_WORD: {
		const char *v = *(char *const *)(base + fi->off);

		if (v)
			cJSON_AddStringToObject(o, fi->key, v);
		break;
	}
	case SPEC_T_INT:
		if (*(const bool *)(base + fi->has_off))
			cJSON_AddNumberToObject(o, fi->key,
			                        *(const int *)(base + fi->off));
		break;
	case SPEC_T_BOOL:
		if (fi->has_off == 0 || *(const bool *)(base + fi->has_off))
			cJSON_AddBoolToObject(o, fi->key,
			                      *(const bool *)(base + fi->off));
		break;
	default:
		break;
	}
}

/* The scalar fields of group `parent`, in table order. */
static void
scalars_to_json(const struct spec *s, enum spec_field parent, cJSON *o)
{
	int f;

	for (f = 0; f < SPEC_F_COUNT; f++)
		if (spec_fields[f].parent == parent)
			scalar_to_json(s, &spec_fields[f], o);
}

/* A comma-joined list as a JSON array ("" is []). */
static cJSON *
list_to_json(const char *list)
{
	cJSON *a = cJSON_CreateArray();
	const char *p = list;

	while (p && *p) {
		size_t n = strcspn(p, ",");
		char *item = xstrndup(p, n);

		cJSON_AddItemToArray(a, cJSON_CreateString(item));
		free(item);
		p += n;
		if (*p == ',')
			p++;
	}
	return a;
}

cJSON *
spec_env_value_to_json(const struct spec_env *e)
{
	cJSON *o;

	if (e->kind == SPEC_ENV_PLAIN)
		return cJSON_CreateString(e->value);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(
	        o, e->kind == SPEC_ENV_SECRET_ENV ? "secretEnv" : "secretFile",
	        e->value);
	return o;
}

static void
resources_to_json(const struct spec *s, cJSON *o)
{
	if (s->has_cpu || s->has_memory || s->has_disk || s->has_gpu)
		scalars_to_json(s, SPEC_F_RESOURCES,
		                cJSON_AddObjectToObject(o, "resources"));
}

static void
env_to_json(const struct spec *s, cJSON *o)
{
	cJSON *x = cJSON_AddObjectToObject(o, "env");
	size_t i;

	for (i = 0; i < s->nenv; i++)
		cJSON_AddItemToObject(x, s->env[i].key,
		                      spec_env_value_to_json(&s->env[i]));
}

cJSON *
spec_network_to_json(const struct spec_network *n)
{
	cJSON *x = cJSON_CreateObject();

	if (n->has_block_all)
		cJSON_AddBoolToObject(x, "blockAll", n->block_all);
	if (n->allow_list)
		cJSON_AddItemToObject(x, "allowList",
		                      list_to_json(n->allow_list));
	if (n->domain_allow_list)
		cJSON_AddItemToObject(x, "domainAllowList",
		                      list_to_json(n->domain_allow_list));
	return x;
}

void
spec_network_copy(struct spec_network *d, const struct spec_network *s)
{
	*d = *s;
	d->allow_list = xstrdup_or_null(s->allow_list);
	d->domain_allow_list = xstrdup_or_null(s->domain_allow_list);
}

void
spec_network_clear(struct spec_network *n)
{
	free(n->allow_list);
	free(n->domain_allow_list);
	memset(n, 0, sizeof(*n));
}

static void
volumes_to_json(const struct spec *s, cJSON *o)
{
	cJSON *x, *y;
	size_t i;

	if (!s->has_volumes && s->nvolumes == 0)
		return;
	x = cJSON_AddArrayToObject(o, "volumes");
	for (i = 0; i < s->nvolumes; i++) {
		y = cJSON_CreateObject();
		cJSON_AddStringToObject(y, "volume", s->volumes[i].volume);
		cJSON_AddStringToObject(y, "mountPath",
		                        s->volumes[i].mount_path);
		if (s->volumes[i].subpath)
			cJSON_AddStringToObject(y, "subpath",
			                        s->volumes[i].subpath);
		cJSON_AddItemToArray(x, y);
	}
}

static void
gpu_types_to_json(const struct spec *s, cJSON *o)
{
	cJSON *x = cJSON_AddArrayToObject(o, "gpuType");
	size_t i;

	for (i = 0; i < s->ngpu_types; i++)
		cJSON_AddItemToArray(x, cJSON_CreateString(s->gpu_types[i]));
}

cJSON *
spec_to_json(const struct spec *s)
{
	cJSON *o = cJSON_CreateObject(), *x;
	int f;

	/* the top-level fields in table (manifest) order */
	for (f = 0; f < SPEC_F_COUNT; f++) {
		const struct spec_field_info *fi = &spec_fields[f];

		if (fi->parent != SPEC_F_DOCUMENT || f == SPEC_F_DOCUMENT)
			continue;
		switch (fi->id) {
		case SPEC_F_NAME:
			cJSON_AddStringToObject(o, "name", s->name);
			break;
		case SPEC_F_LABELS:
			cJSON_AddItemToObject(o, "labels",
			                      strmap_to_json(&s->labels));
			break;
		case SPEC_F_RESOURCES:
			resources_to_json(s, o);
			break;
		case SPEC_F_ENV:
			env_to_json(s, o);
			break;
		case SPEC_F_STATE:
			if (s->state != SPEC_STATE_ANY)
				cJSON_AddStringToObject(
				        o, "state", spec_state_name(s->state));
			break;
		case SPEC_F_NETWORK:
			if (s->has_network)
				cJSON_AddItemToObject(
				        o, "network",
				        spec_network_to_json(&s->network));
			break;
		case SPEC_F_VOLUMES:
			volumes_to_json(s, o);
			break;
		case SPEC_F_GPU_TYPE:
			if (s->gpu_types)
				gpu_types_to_json(s, o);
			break;
		case SPEC_F_SECRETS:
			if (s->has_secrets)
				cJSON_AddItemToObject(
				        o, "secrets",
				        strmap_to_json(&s->secrets));
			break;
		case SPEC_F_LIFECYCLE:
			scalars_to_json(
			        s, SPEC_F_LIFECYCLE,
			        cJSON_AddObjectToObject(o, "lifecycle"));
			break;
		default:
			scalar_to_json(s, fi, o);
		}
	}
	if (s->file) {
		x = cJSON_AddObjectToObject(o, "source");
		cJSON_AddStringToObject(x, "file", s->file);
		cJSON_AddNumberToObject(x, "line", spec_line(s));
		cJSON_AddNumberToObject(x, "column",
		                        s->doc_pos.col ? s->doc_pos.col : 1);
	}
	if (s->hash[0])
		cJSON_AddStringToObject(o, "hash", s->hash);
	return o;
}

/* ---- from JSON ------------------------------------------------------------
 */

static int
bad(const char *what)
{
	return sf_error_set(SF_EINVALID, "desired spec: malformed %s", what);
}

static int
scalars_from_json(struct spec *s, enum spec_field parent, const cJSON *o)
{
	char *base = (char *)s;
	int f;

	for (f = 0; f < SPEC_F_COUNT; f++) {
		const struct spec_field_info *fi = &spec_fields[f];
		const cJSON *v;

		if (fi->parent != parent || fi->type == SPEC_T_GROUP ||
		    fi->type == SPEC_T_OTHER)
			continue;
		v = cJSON_GetObjectItemCaseSensitive(o, fi->key);
		if (v == NULL || cJSON_IsNull(v))
			continue;
		switch (fi->type) {
		case SPEC_T_WORD:
			if (!cJSON_IsString(v))
				return bad(fi->path);
			*(char **)(base + fi->off) = xstrdup(v->valuestring);
			break;
		case SPEC_T_INT:
			if (!cJSON_IsNumber(v) || v->valuedouble < fi->min ||
			    v->valuedouble > fi->max)
				return bad(fi->path);
			*(int *)(base + fi->off) = (int)v->valuedouble;
			*(bool *)(base + fi->has_off) = true;
			break;
		case SPEC_T_BOOL:
			if (!cJSON_IsBool(v))
				return bad(fi->path);
			*(bool *)(base + fi->off) = cJSON_IsTrue(v);
			if (fi->has_off)
				*(bool *)(base + fi->has_off) = true;
			break;
		default:
			break;
		}
	}
	return 0;
}

/* A list as written now (an array) or by 0.1 (comma-joined); *out gets
 * the comma-joined form. */
static int
list_from_json(const cJSON *v, char **out)
{
	struct buf b = BUF_INIT;
	const cJSON *it;

	if (cJSON_IsString(v)) {
		*out = xstrdup(v->valuestring);
		return 0;
	}
	if (!cJSON_IsArray(v))
		return -1;
	cJSON_ArrayForEach(it, v)
	{
		if (!cJSON_IsString(it) || strchr(it->valuestring, ',')) {
			buf_free(&b);
			return -1;
		}
		if (b.len)
			buf_addch(&b, ',');
		buf_addstr(&b, it->valuestring);
	}
	*out = buf_detach(&b, NULL);
	return 0;
}

int
spec_network_from_json(const cJSON *n, struct spec_network *out)
{
	const cJSON *v;

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(n))
		return bad("spec.network");
	if ((v = cJSON_GetObjectItemCaseSensitive(n, "blockAll")) != NULL) {
		if (!cJSON_IsBool(v))
			return bad("spec.network.blockAll");
		out->has_block_all = true;
		out->block_all = cJSON_IsTrue(v);
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(n, "allowList")) != NULL &&
	    list_from_json(v, &out->allow_list) < 0) {
		spec_network_clear(out);
		return bad("spec.network.allowList");
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(n, "domainAllowList")) !=
	            NULL &&
	    list_from_json(v, &out->domain_allow_list) < 0) {
		spec_network_clear(out);
		return bad("spec.network.domainAllowList");
	}
	return 0;
}

static int
network_from_json(struct spec *s, const cJSON *o)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, "network");

	if (n == NULL || cJSON_IsNull(n))
		return 0;
	s->has_network = true;
	return spec_network_from_json(n, &s->network);
}

static int
env_from_json(struct spec *s, const cJSON *o)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "env"), *it, *hmac;

	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsObject(v))
		return bad("spec.env");
	s->env = xcalloc((size_t)cJSON_GetArraySize(v) + 1, sizeof(*s->env));
	cJSON_ArrayForEach(it, v)
	{
		struct spec_env *e = &s->env[s->nenv];

		if (it->string == NULL)
			return bad("spec.env");
		if (cJSON_IsString(it)) {
			e->kind = SPEC_ENV_PLAIN;
			e->value = xstrdup(it->valuestring);
		} else if ((e->value = json_strdup(it, "secretEnv"))) {
			e->kind = SPEC_ENV_SECRET_ENV;
		} else if ((e->value = json_strdup(it, "secretFile"))) {
			e->kind = SPEC_ENV_SECRET_FILE;
		} else {
			return bad("spec.env");
		}
		hmac = cJSON_GetObjectItemCaseSensitive(it, "hmac");
		if (e->kind != SPEC_ENV_PLAIN && cJSON_IsString(hmac) &&
		    strlen(hmac->valuestring) == SPEC_ENV_HMAC_HEX)
			memcpy(e->hmac, hmac->valuestring,
			       SPEC_ENV_HMAC_HEX + 1);
		e->key = xstrdup(it->string);
		s->nenv++;
		if (s->nenv > 1 && strcmp(s->env[s->nenv - 2].key, e->key) >= 0)
			return bad("spec.env (keys out of order)");
	}
	return 0;
}

static int
volumes_from_json(struct spec *s, const cJSON *o)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "volumes"), *it;

	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsArray(v))
		return bad("spec.volumes");
	s->has_volumes = true;
	s->volumes =
	        xcalloc((size_t)cJSON_GetArraySize(v) + 1, sizeof(*s->volumes));
	cJSON_ArrayForEach(it, v)
	{
		struct spec_volume *vol = &s->volumes[s->nvolumes++];

		vol->volume = json_strdup(it, "volume");
		vol->mount_path = json_strdup(it, "mountPath");
		vol->subpath = json_strdup(it, "subpath");
		if (vol->volume == NULL || vol->mount_path == NULL)
			return bad("spec.volumes");
	}
	return 0;
}

static int
gpu_types_from_json(struct spec *s, const cJSON *o)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "gpuType"), *it;

	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > SPEC_NGPU_TYPES)
		return bad("spec.gpuType");
	s->gpu_types = xcalloc((size_t)cJSON_GetArraySize(v) + 1,
	                       sizeof(*s->gpu_types));
	cJSON_ArrayForEach(it, v)
	{
		if (!cJSON_IsString(it) || !spec_gpu_type_ok(it->valuestring))
			return bad("spec.gpuType");
		s->gpu_types[s->ngpu_types++] = xstrdup(it->valuestring);
	}
	return 0;
}

static int
secrets_from_json(struct spec *s, const cJSON *o)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "secrets");

	if (v == NULL || cJSON_IsNull(v))
		return 0;
	s->has_secrets = true;
	return strmap_from_json(v, "desired spec: spec.secrets", &s->secrets);
}

/* provenance: "source" now, top-level "file"/"line" in 0.1 */
static void
source_from_json(struct spec *s, const cJSON *o)
{
	const cJSON *src = cJSON_GetObjectItemCaseSensitive(o, "source"), *v;

	if (src == NULL)
		src = o;
	s->file = json_strdup(src, "file");
	if (s->file && *s->file == '\0') {
		free(s->file);
		s->file = NULL;
	}
	v = cJSON_GetObjectItemCaseSensitive(src, "line");
	if (cJSON_IsNumber(v) && v->valuedouble > 0)
		s->doc_pos.line = (unsigned)v->valuedouble;
	v = cJSON_GetObjectItemCaseSensitive(src, "column");
	if (cJSON_IsNumber(v) && v->valuedouble > 0)
		s->doc_pos.col = (unsigned)v->valuedouble;
}

int
spec_from_json(const cJSON *obj, struct spec **out)
{
	struct spec *s;
	const cJSON *v;
	int rc;

	*out = NULL;
	if (!cJSON_IsObject(obj))
		return bad("object");
	s = xcalloc(1, sizeof(*s));
	if ((s->name = json_strdup(obj, "name")) == NULL) {
		rc = bad("name");
		goto fail;
	}
	source_from_json(s, obj);
	if ((rc = strmap_from_json(
	             cJSON_GetObjectItemCaseSensitive(obj, "labels"),
	             "desired spec: labels", &s->labels)) < 0 ||
	    (rc = scalars_from_json(s, SPEC_F_DOCUMENT, obj)) < 0)
		goto fail;
	v = cJSON_GetObjectItemCaseSensitive(obj, "resources");
	if (v && (rc = scalars_from_json(s, SPEC_F_RESOURCES, v)) < 0)
		goto fail;
	if ((rc = env_from_json(s, obj)) < 0)
		goto fail;
	v = cJSON_GetObjectItemCaseSensitive(obj, "state");
	if (v && spec_state_parse(cJSON_GetStringValue(v), &s->state) < 0) {
		rc = bad("spec.state");
		goto fail;
	}
	if ((rc = network_from_json(s, obj)) < 0 ||
	    (rc = volumes_from_json(s, obj)) < 0 ||
	    (rc = gpu_types_from_json(s, obj)) < 0 ||
	    (rc = secrets_from_json(s, obj)) < 0)
		goto fail;
	v = cJSON_GetObjectItemCaseSensitive(obj, "lifecycle");
	if (v && (rc = scalars_from_json(s, SPEC_F_LIFECYCLE, v)) < 0)
		goto fail;
	if (cJSON_IsTrue(
	            cJSON_GetObjectItemCaseSensitive(obj, "preventDestroy")))
		s->prevent_destroy = true; /* 0.1 */
	v = cJSON_GetObjectItemCaseSensitive(obj, "hash");
	if (cJSON_IsString(v) && strlen(v->valuestring) <= SPEC_HASH_MAX)
		snprintf(s->hash, sizeof(s->hash), "%s", v->valuestring);
	*out = s;
	return 0;
fail:
	spec_free(s);
	return rc;
}
