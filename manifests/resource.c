/*
 * resource: the Volume and Snapshot model: keys, hash, JSON
 * (manifests/resource.h).
 */
#include "common/base.h"

#include "common/buf.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/jsonutil.h"
#include "common/xalloc.h"
#include "manifests/resource.h"

static const char *const kind_names[RES_KIND_COUNT] = { "Volume", "Snapshot" };
static const char *const kind_words[RES_KIND_COUNT] = { "volume", "snapshot" };

const char *
res_kind_name(enum res_kind k)
{
	return (unsigned)k < RES_KIND_COUNT ? kind_names[k] : "?";
}

const char *
res_kind_word(enum res_kind k)
{
	return (unsigned)k < RES_KIND_COUNT ? kind_words[k] : "?";
}

int
res_kind_parse(const char *s, enum res_kind *out)
{
	int i;

	for (i = 0; s && i < RES_KIND_COUNT; i++)
		if (strcmp(s, kind_names[i]) == 0 ||
		    strcmp(s, kind_words[i]) == 0) {
			*out = (enum res_kind)i;
			return 0;
		}
	return -1;
}

void
res_clear(struct res_spec *r)
{
	if (r == NULL)
		return;
	free(r->name);
	free(r->file);
	free(r->image);
	free(r->dockerfile);
	free(r->region);
	free(r->sandbox_class);
	memset(r, 0, sizeof(*r));
}

void
res_copy(struct res_spec *dst, const struct res_spec *src)
{
	*dst = *src;
	dst->name = xstrdup_or_null(src->name);
	dst->file = xstrdup_or_null(src->file);
	dst->image = xstrdup_or_null(src->image);
	dst->dockerfile = xstrdup_or_null(src->dockerfile);
	dst->region = xstrdup_or_null(src->region);
	dst->sandbox_class = xstrdup_or_null(src->sandbox_class);
}

void
res_hash(struct res_spec *r)
{
	char hex[SF_SHA256_HEX_LEN + 1];
	struct buf b = BUF_INIT;

	/* every create-only field, each with its length: no two specs
	 * write the same bytes */
	buf_addf(&b, "%s\n%zu:%s\n%zu:%s\n%d %d %d %d\n%zu:%s\n%zu:%s\n",
	         kind_words[r->kind], r->image ? strlen(r->image) : 0,
	         r->image ? r->image : "",
	         r->dockerfile ? strlen(r->dockerfile) : 0,
	         r->dockerfile ? r->dockerfile : "", r->cpu, r->memory, r->disk,
	         r->gpu, r->region ? strlen(r->region) : 0,
	         r->region ? r->region : "",
	         r->sandbox_class ? strlen(r->sandbox_class) : 0,
	         r->sandbox_class ? r->sandbox_class : "");
	sha256_hex(buf_cstr(&b), strlen(buf_cstr(&b)), hex);
	memcpy(r->hash, hex, 16);
	r->hash[16] = '\0';
	buf_free(&b);
}

char *
res_key(enum res_kind k, const char *name)
{
	return xasprintf("<%s>%s", res_kind_word(k), name);
}

int
res_key_parse(const char *key, enum res_kind *kind, const char **name)
{
	int i;
	size_t n;

	if (key == NULL || key[0] != '<')
		return -1;
	for (i = 0; i < RES_KIND_COUNT; i++) {
		n = strlen(kind_words[i]);
		if (strncmp(key + 1, kind_words[i], n) == 0 &&
		    key[1 + n] == '>' && key[2 + n] != '\0') {
			*kind = (enum res_kind)i;
			*name = key + 2 + n;
			return 0;
		}
	}
	return -1;
}

char *
res_source(const struct res_spec *r)
{
	if (r->file == NULL)
		return xstrdup("-");
	return xasprintf("%s:%u", r->file, r->line);
}

cJSON *
res_to_json(const struct res_spec *r)
{
	cJSON *o = cJSON_CreateObject(), *g;

	cJSON_AddStringToObject(o, "kind", res_kind_name(r->kind));
	cJSON_AddStringToObject(o, "name", r->name ? r->name : "");
	if (r->image)
		cJSON_AddStringToObject(o, "image", r->image);
	if (r->dockerfile) {
		g = cJSON_AddObjectToObject(o, "build");
		cJSON_AddStringToObject(g, "dockerfile", r->dockerfile);
	}
	if (r->cpu || r->memory || r->disk || r->gpu) {
		g = cJSON_AddObjectToObject(o, "resources");
		if (r->cpu)
			cJSON_AddNumberToObject(g, "cpu", r->cpu);
		if (r->memory)
			cJSON_AddNumberToObject(g, "memory", r->memory);
		if (r->disk)
			cJSON_AddNumberToObject(g, "disk", r->disk);
		if (r->gpu)
			cJSON_AddNumberToObject(g, "gpu", r->gpu);
	}
	if (r->region)
		cJSON_AddStringToObject(o, "region", r->region);
	if (r->sandbox_class)
		cJSON_AddStringToObject(o, "sandboxClass", r->sandbox_class);
	if (r->prevent_destroy) {
		g = cJSON_AddObjectToObject(o, "lifecycle");
		cJSON_AddTrueToObject(g, "preventDestroy");
	}
	if (r->file) {
		g = cJSON_AddObjectToObject(o, "source");
		cJSON_AddStringToObject(g, "file", r->file);
		cJSON_AddNumberToObject(g, "line", r->line);
		cJSON_AddNumberToObject(g, "column", r->col);
	}
	if (r->hash[0])
		cJSON_AddStringToObject(o, "hash", r->hash);
	return o;
}

static int
num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e6
	               ? (int)v->valuedouble
	               : 0;
}

int
res_from_json(const cJSON *o, struct res_spec *out)
{
	const cJSON *v, *g;

	memset(out, 0, sizeof(*out));
	v = cJSON_GetObjectItemCaseSensitive(o, "kind");
	if (!cJSON_IsObject(o) || !cJSON_IsString(v) ||
	    res_kind_parse(v->valuestring, &out->kind) < 0)
		return sf_error_set(SF_EINVALID, "resource: bad kind");
	out->name = json_strdup(o, "name");
	if (out->name == NULL || *out->name == '\0') {
		res_clear(out);
		return sf_error_set(SF_EINVALID, "resource: no name");
	}
	out->image = json_strdup(o, "image");
	g = cJSON_GetObjectItemCaseSensitive(o, "build");
	if (cJSON_IsObject(g))
		out->dockerfile = json_strdup(g, "dockerfile");
	g = cJSON_GetObjectItemCaseSensitive(o, "resources");
	if (cJSON_IsObject(g)) {
		out->cpu = num(g, "cpu");
		out->memory = num(g, "memory");
		out->disk = num(g, "disk");
		out->gpu = num(g, "gpu");
	}
	out->region = json_strdup(o, "region");
	out->sandbox_class = json_strdup(o, "sandboxClass");
	g = cJSON_GetObjectItemCaseSensitive(o, "lifecycle");
	out->prevent_destroy = cJSON_IsObject(g) &&
	                       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
	                               g, "preventDestroy"));
	g = cJSON_GetObjectItemCaseSensitive(o, "source");
	if (cJSON_IsObject(g)) {
		out->file = json_strdup(g, "file");
		out->line = (unsigned)num(g, "line");
		out->col = (unsigned)num(g, "column");
	}
	v = cJSON_GetObjectItemCaseSensitive(o, "hash");
	if (cJSON_IsString(v) && strlen(v->valuestring) < sizeof(out->hash))
		memcpy(out->hash, v->valuestring, strlen(v->valuestring) + 1);
	return 0;
}
