/*
 * config: the client's settings from the environment (dt_config_from_env()
 * of client.h: the key, the URL, the CAs) and the URL checks dt_client_new()
 * shares with it. Internal to daytona/.
 */
#include "common/base.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/fileutil.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "daytona/client.h"
#include "daytona/config.h"

int
dt_url_ok(const char *url)
{
	return strncasecmp(url, "http://", 7) == 0 ||
	       strncasecmp(url, "https://", 8) == 0;
}

static char *
env_or_null(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && *v ? xstrdup(v) : NULL;
}

/* key_file_mode: warn when the key file is readable by group or others. */
static void
key_file_mode(const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0 && (st.st_mode & (S_IRGRP | S_IROTH)))
		log_warn("--api-key-file %s is readable by group or others "
		         "(mode %04o): chmod 600 it",
		         path, (unsigned)(st.st_mode & 07777));
}

/* readable_ca: *out = a copy of path when it can be read (NULL or "": 0,
 * nothing); else SF_EIO naming from, the option or variable. */
static int
readable_ca(const char *from, const char *path, int dir, char **out)
{
	struct stat st;

	if (path == NULL || *path == '\0')
		return 0;
	if (stat(path, &st) < 0 || access(path, R_OK) < 0)
		return sf_error_set(SF_EIO, "%s: %s: %s", from, path,
		                    strerror(errno));
	if (!dir != !S_ISDIR(st.st_mode))
		return sf_error_set(SF_EIO, "%s: %s: %s", from, path,
		                    dir ? "not a directory"
		                        : "a directory, not a file");
	*out = xstrdup(path);
	return 0;
}

/* config_cas: --ca-file (else SSL_CERT_FILE) and SSL_CERT_DIR. */
static int
config_cas(const char *ca_file, char **file, char **dir)
{
	int rc;

	if (ca_file != NULL)
		rc = readable_ca("--ca-file", ca_file, 0, file);
	else
		rc = readable_ca("SSL_CERT_FILE", getenv("SSL_CERT_FILE"), 0,
		                 file);
	if (rc == 0)
		rc = readable_ca("SSL_CERT_DIR", getenv("SSL_CERT_DIR"), 1,
		                 dir);
	return rc;
}

int
dt_config_from_env(struct dt_config *cfg, const char *api_key_file,
                   const char *ca_file)
{
	struct buf b = BUF_INIT;
	char *key = NULL, *url = NULL, *cafile = NULL, *cadir = NULL;
	int rc;

	if ((rc = config_cas(ca_file, &cafile, &cadir)) < 0)
		goto out;
	if (api_key_file != NULL) {
		if ((rc = file_read(api_key_file, DT_MAX_API_KEY_FILE, &b)) < 0)
			goto out;
		key_file_mode(api_key_file);
		while (b.len > 0 && isspace((unsigned char)b.data[b.len - 1]))
			b.data[--b.len] = '\0';
		if (b.len == 0) {
			rc = sf_error_set(SF_EINVALID,
			                  "%s: the api key file is empty",
			                  api_key_file);
			goto out;
		}
		key = buf_detach(&b, NULL);
	} else if ((key = env_or_null("DAYTONA_API_KEY")) == NULL) {
		rc = sf_error_set(SF_EAUTH, "no daytona api key: set "
		                            "DAYTONA_API_KEY or use "
		                            "--api-key-file");
		goto out;
	}
	url = env_or_null("DAYTONA_API_URL");
	if (url != NULL && !dt_url_ok(url)) {
		rc = sf_error_set(SF_EINVALID,
		                  "DAYTONA_API_URL: '%s' is not an http:// or "
		                  "https:// url",
		                  url);
		goto out;
	}
	dt_config_clear(cfg);
	cfg->api_key = key;
	cfg->base_url = url ? url : xstrdup(DT_DEFAULT_URL);
	cfg->target = env_or_null("DAYTONA_TARGET");
	cfg->organization_id = env_or_null("DAYTONA_ORGANIZATION_ID");
	cfg->ca_file = cafile;
	cfg->ca_dir = cadir;
	cfg->owned = 1;
	key = url = cafile = cadir = NULL;
	rc = 0;
out:
	free(cafile);
	free(cadir);
	if (b.data != NULL) {
		wipe(b.data, b.cap);
		buf_free(&b);
	}
	free_secret(key);
	free(url);
	return rc;
}

void
dt_config_clear(struct dt_config *cfg)
{
	if (cfg == NULL || !cfg->owned)
		return;
	free_secret((char *)cfg->api_key);
	free((char *)cfg->base_url);
	free((char *)cfg->target);
	free((char *)cfg->organization_id);
	free((char *)cfg->ca_file);
	free((char *)cfg->ca_dir);
	cfg->api_key = cfg->base_url = cfg->target = NULL;
	cfg->organization_id = cfg->ca_file = cfg->ca_dir = NULL;
	cfg->owned = 0;
}

/* dt_plain_http_remote: see config.h. */
char *
dt_plain_http_remote(const char *url)
{
	const char *a, *end, *at, *h, *he;
	unsigned char addr[sizeof(struct in6_addr)];
	struct in_addr a4;
	char *host;
	int local = 0;

	if (strncasecmp(url, "http://", 7) != 0)
		return NULL;
	a = url + 7;
	end = a + strcspn(a, "/?#");
	for (at = a; at < end; at++) /* skip user:password@ */
		if (*at == '@')
			a = at + 1;
	if (*a == '[') {
		h = a + 1;
		he = memchr(h, ']', (size_t)(end - h));
		if (he == NULL)
			he = end;
	} else {
		h = a;
		he = memchr(h, ':', (size_t)(end - h));
		if (he == NULL)
			he = end;
	}
	host = xstrndup(h, (size_t)(he - h));
	if (strcasecmp(host, "localhost") == 0 ||
	    strcasecmp(host, "localhost.") == 0)
		local = 1;
	else if (inet_aton(host, &a4) != 0) /* 127.1, 0x7f.1 too */
		local = (ntohl(a4.s_addr) >> 24) == 127;
	else if (inet_pton(AF_INET6, host, addr) == 1)
		local = IN6_IS_ADDR_LOOPBACK((struct in6_addr *)addr) ||
		        (IN6_IS_ADDR_V4MAPPED((struct in6_addr *)addr) &&
		         addr[12] == 127);
	if (local) {
		free(host);
		return NULL;
	}
	return host;
}
