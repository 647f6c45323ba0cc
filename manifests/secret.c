/*
 * secret: see secret.h. Every buffer that held a value is wiped before it
 * is freed, also on the error paths.
 */
#include "common/base.h"

#include "common/buf.h"
#include "common/error.h"
#include "common/fileutil.h"
#include "common/xalloc.h"
#include "manifests/secret.h"

static int
read_file(const struct spec_env *e, char **out)
{
	struct buf b = BUF_INIT;
	int rc;

	buf_init_max(&b, SECRET_MAX_FILE);
	rc = file_read(e->value, SECRET_MAX_FILE, &b);
	if (rc != 0) {
		char *why = xstrdup(sf_error_last());

		wipe(b.data, b.cap);
		buf_free(&b);
		/* file_read names the path, never the contents */
		rc = sf_error_set(rc, "env '%s': secretFile %s", e->key, why);
		free(why);
		return rc;
	}
	if (b.len > 0 && memchr(b.data, '\0', b.len) != NULL) {
		wipe(b.data, b.cap);
		buf_free(&b);
		return sf_error_set(SF_EINVALID,
		                    "env '%s': secretFile '%s' contains a NUL "
		                    "byte",
		                    e->key, e->value);
	}
	if (b.len > 0 && b.data[b.len - 1] == '\n')
		b.len--;
	if (b.len > 0 && b.data[b.len - 1] == '\r')
		b.len--;
	*out = xstrndup(b.data ? b.data : "", b.len);
	wipe(b.data, b.cap);
	buf_free(&b);
	return 0;
}

int
secret_resolve(void *arg, const struct spec_env *e, char **out)
{
	const char *v;

	(void)arg;
	*out = NULL;
	switch (e->kind) {
	case SPEC_ENV_PLAIN:
		*out = xstrdup(e->value);
		return 0;
	case SPEC_ENV_SECRET_ENV:
		v = getenv(e->value);
		if (v == NULL)
			return sf_error_set(SF_ENOTFOUND,
			                    "env '%s': secretEnv variable '%s' "
			                    "is not set",
			                    e->key, e->value);
		*out = xstrdup(v);
		return 0;
	case SPEC_ENV_SECRET_FILE:
		return read_file(e, out);
	}
	return sf_error_set(SF_EINVALID, "env '%s': unknown reference", e->key);
}
