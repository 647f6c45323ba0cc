/*
 * secret: see secret.h. Every buffer that held a value is wiped before it
 * is freed, also on the error paths.
 */
#include "common/base.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/fileutil.h"
#include "common/log.h"
#include "common/redact.h"
#include "common/xalloc.h"
#include "manifests/secret.h"

bool
secret_env_refused(const char *var)
{
	return strncmp(var, "DAYTONA_", 8) == 0 ||
	       strncmp(var, "SANDFORM_", 9) == 0;
}

int
secret_policy_allow(struct secret_policy *p, const char *dir)
{
	struct stat st;
	char *copy = NULL, *slash, *real;
	const char *d = strcmp(dir, "-") == 0 ? "." : dir;

	if (stat(d, &st) == 0 && !S_ISDIR(st.st_mode)) {
		copy = xstrdup(d);
		slash = strrchr(copy, '/');
		if (slash == NULL)
			d = ".";
		else if (slash == copy)
			d = "/";
		else {
			*slash = '\0';
			d = copy;
		}
	}
	real = realpath(d, NULL);
	if (real == NULL) {
		int rc = sf_error_set(SF_EIO, "secret directory '%s': %s", d,
		                      strerror(errno));

		free(copy);
		return rc;
	}
	free(copy);
	if (strcmp(real, "/") == 0)
		real[0] = '\0'; /* "/" allows everything: "" + "/" prefix */
	p->dirs = xreallocarray(p->dirs, p->ndirs + 1, sizeof(*p->dirs));
	p->dirs[p->ndirs++] = real;
	return 0;
}

void
secret_policy_clear(struct secret_policy *p)
{
	size_t i;

	for (i = 0; i < p->ndirs; i++)
		free(p->dirs[i]);
	free(p->dirs);
	p->dirs = NULL;
	p->ndirs = 0;
}

/* allowed: the real path of the open file fd is under a policy directory. */
static bool
allowed(const struct secret_policy *p, int fd)
{
	char link[64], real[PATH_MAX + 1];
	ssize_t n;
	size_t i, len;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, real, sizeof(real) - 1);
	if (n <= 0)
		return false;
	real[n] = '\0';
	for (i = 0; p && i < p->ndirs; i++) {
		len = strlen(p->dirs[i]);
		if (strncmp(real, p->dirs[i], len) == 0 && real[len] == '/')
			return true;
	}
	return false;
}

static int
refused_file(const struct spec_env *e, const struct secret_policy *p)
{
	struct buf b = BUF_INIT;
	size_t i;
	int rc;

	for (i = 0; p && i < p->ndirs; i++)
		buf_addf(&b, "%s%s", i ? ", " : "",
		         *p->dirs[i] ? p->dirs[i] : "/");
	rc = sf_error_set(SF_EINVALID,
	                  "env '%s': secretFile '%s' is outside the "
	                  "directories secrets may be read from (%s); allow "
	                  "its directory with --secret-dir",
	                  e->key, e->value, b.len ? buf_cstr(&b) : "none");
	buf_free(&b);
	return rc;
}

static int
read_file(const struct spec_env *e, const struct secret_policy *p, char **out)
{
	struct buf b = BUF_INIT;
	int fd, rc;

	fd = open(e->value, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return sf_error_set(SF_EIO, "env '%s': secretFile %s: %s",
		                    e->key, e->value, strerror(errno));
	if (!allowed(p, fd)) {
		close(fd);
		return refused_file(e, p);
	}
	buf_init_max(&b, SECRET_MAX_FILE);
	rc = file_read_fd(fd, e->value, SECRET_MAX_FILE, &b);
	close(fd);
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

/*
 * registered: a resolved value is masked from then on in every answer,
 * message and log line (common/redact.h), so a server that echoes the
 * create body cannot make it appear. A value too short to mask is said
 * once per reference.
 */
static int
registered(const struct spec_env *e, const char *value)
{
	if (*value != '\0' && redact_register(value) < 0)
		log_warn("env '%s': the secret value is shorter than %d bytes, "
		         "too short to be masked should a server echo it",
		         e->key, REDACT_MIN_LEN);
	return 0;
}

int
secret_resolve(void *arg, const struct spec_env *e, char **out)
{
	const struct secret_policy *p = arg;
	const char *v;
	int rc;

	*out = NULL;
	switch (e->kind) {
	case SPEC_ENV_PLAIN:
		*out = xstrdup(e->value);
		return 0;
	case SPEC_ENV_SECRET_ENV:
		if (secret_env_refused(e->value))
			return sf_error_set(
			        SF_EINVALID,
			        "env '%s': secretEnv '%s' names one "
			        "of sandform's or Daytona's own "
			        "variables, which manifests may not "
			        "read",
			        e->key, e->value);
		v = getenv(e->value);
		if (v == NULL)
			return sf_error_set(SF_ENOTFOUND,
			                    "env '%s': secretEnv variable '%s' "
			                    "is not set",
			                    e->key, e->value);
		*out = xstrdup(v);
		return registered(e, *out);
	case SPEC_ENV_SECRET_FILE:
		if ((rc = read_file(e, p, out)) < 0)
			return rc;
		return registered(e, *out);
	}
	return sf_error_set(SF_EINVALID, "env '%s': unknown reference", e->key);
}
