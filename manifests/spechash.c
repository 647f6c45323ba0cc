/*
 * spechash: see spechash.h. Every value enters length-prefixed, so no value
 * can imitate a separator.
 */
#include "common/base.h"

#include "common/buf.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/xalloc.h"
#include "manifests/spechash.h"

_Static_assert(SPEC_HASH_LEN <= SPEC_HASH_MAX, "spec label fits in spec.hash");

static void
add_field(struct buf *b, const char *tag, const char *v)
{
	if (v == NULL)
		v = "";
	buf_addf(b, "%s:%zu:", tag, strlen(v));
	buf_addstr(b, v);
	buf_addch(b, '\n');
}

static int hash_with(struct spec *s, const void *key, size_t keylen,
                     secret_fn resolve, void *arg, int lenient);

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
spec_hash(struct spec *s, const void *key, size_t keylen, secret_fn resolve,
          void *arg)
{
	return hash_with(s, key, keylen, resolve, arg, 0);
}

int
spec_hash_lenient(struct spec *s, const void *key, size_t keylen,
                  secret_fn resolve, void *arg)
{
	return hash_with(s, key, keylen, resolve, arg, 1);
}

static int
hash_with(struct spec *s, const void *key, size_t keylen, secret_fn resolve,
          void *arg, int lenient)
{
	struct buf b = BUF_INIT, sec = BUF_INIT, label = BUF_INIT;
	char hex[SF_SHA256_HEX_LEN + 1];
	size_t i;
	int rc = 0;

	s->nunresolved = 0;
	buf_addstr(&label, SPEC_HASH_VERSION);
	add_field(&b, "image", s->image);
	/* create-only fields a list item does not show (0.218): in the
	 * image's group, and only when set, so that labels written before
	 * them stay equal */
	if (s->has_kvm && s->kvm)
		add_field(&b, "kvm", "true");
	if (s->outbound_proxy_url)
		add_field(&b, "outboundProxyUrl", s->outbound_proxy_url);
	segment(&b, &label);
	/* env: plain values and the secret references (no key needed), then
	 * the secret values under the state's key, then which key */
	for (i = 0; i < s->nenv; i++) {
		struct spec_env *e = &s->env[i];
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
		e->unresolved = false;
		if ((rc = resolve(arg, e, &v)) < 0) {
			if (!lenient || (rc != SF_ENOTFOUND && rc != SF_EIO))
				goto out;
			/* not available here: the segment says so, and no
			 * value enters it */
			e->unresolved = true;
			e->hmac[0] = '\0';
			s->nunresolved++;
			add_field(&sec, "key", e->key);
			add_field(&sec, "unresolved", "");
			rc = 0;
			continue;
		}
		hmac_sha256_hex(key, keylen, v, strlen(v), hex);
		free_secret(v);
		/* which secret changed can be told, what it is cannot */
		memcpy(s->env[i].hmac, hex, SPEC_ENV_HMAC_HEX);
		s->env[i].hmac[SPEC_ENV_HMAC_HEX] = '\0';
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
