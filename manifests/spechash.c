/*
 * spechash: see spechash.h. Every value enters length-prefixed, so no value
 * can imitate a separator.
 *
 * A plan hashes every sandbox of the stack (100,000 of them, issue 13), so
 * the digests are made without a malloc per spec: a hasher holds one
 * SHA-256 context (the algorithm fetched once: OpenSSL 3 fetches it anew on
 * each EVP_Digest() of EVP_sha256()), the HMAC keyed once and copied per
 * secret, the key's fingerprint and the digest of nothing (the common value
 * of an empty segment), and the fields are appended to a block that is fed
 * to the digest as it fills. The bytes digested are the same as ever: the
 * label values may never change (tests/unit/test_manifest.c pins them).
 */
#include "common/base.h"

#include <pthread.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/hash.h"
#include "common/xalloc.h"
#include "manifests/spechash.h"

_Static_assert(SPEC_HASH_LEN <= SPEC_HASH_MAX, "spec label fits in spec.hash");

/* What is appended to a segment before the digest takes it. */
#define SEG_BLOCK 1024

struct spec_hasher {
	const void *key;
	size_t keylen;
	EVP_MD_CTX *md;
	bool md_open;      /* md holds the start of the segment being built */
	size_t n;          /* bytes in blk */
	EVP_MAC_CTX *mac;  /* HMAC-SHA-256 under key, not yet used */
	bool mac_tried;    /* mac was made (or could not be) */
	bool have_key_seg; /* key_seg computed */
	char key_seg[SPEC_HASH_SEG_HEX + 1];
	char empty_seg[SPEC_HASH_SEG_HEX + 1]; /* SHA-256 of nothing */
	struct buf sec;                        /* the secrets segment */
	unsigned char blk[SEG_BLOCK];
};

static EVP_MD *sha256_md;
static EVP_MAC *hmac_mac; /* fetched with the first secret */
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static pthread_once_t fetch_mac_once = PTHREAD_ONCE_INIT;

static void
fetch_md(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static void
fetch_mac(void)
{
	hmac_mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

static void
fatal(const char *what)
{
	fprintf(stderr, "fatal: %s failed\n", what);
	abort();
}

static void
seg_hex(const unsigned char *md, char out[SPEC_HASH_SEG_HEX + 1])
{
	static const char hex[] = "0123456789abcdef";
	int i;

	for (i = 0; i < SPEC_HASH_SEG_HEX / 2; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[SPEC_HASH_SEG_HEX] = '\0';
}

/* digest_start / digest_add / digest_end: SHA-256 through h->md. */
static void
digest_start(struct spec_hasher *h)
{
	if (!EVP_DigestInit_ex2(h->md, sha256_md, NULL))
		fatal("SHA-256");
}

static void
digest_add(struct spec_hasher *h, const void *data, size_t len)
{
	if (len > 0 && !EVP_DigestUpdate(h->md, data, len))
		fatal("SHA-256");
}

static void
digest_end(struct spec_hasher *h, char out[SPEC_HASH_SEG_HEX + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!EVP_DigestFinal_ex(h->md, md, &mdlen) || mdlen < 32)
		fatal("SHA-256");
	seg_hex(md, out);
}

/* one_digest: the segment of data alone. */
static void
one_digest(struct spec_hasher *h, const void *data, size_t len,
           char out[SPEC_HASH_SEG_HEX + 1])
{
	digest_start(h);
	digest_add(h, data, len);
	digest_end(h, out);
}

struct spec_hasher *
spec_hasher_new(const void *key, size_t keylen)
{
	struct spec_hasher *h;

	pthread_once(&fetch_once, fetch_md);
	if (sha256_md == NULL)
		fatal("SHA-256");
	h = xcalloc(1, sizeof(*h));
	h->key = key;
	h->keylen = keylen;
	if ((h->md = EVP_MD_CTX_new()) == NULL)
		fatal("SHA-256");
	one_digest(h, "", 0, h->empty_seg);
	return h;
}

void
spec_hasher_free(struct spec_hasher *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->md);
	EVP_MAC_CTX_free(h->mac);
	buf_free(&h->sec);
	free(h);
}

/* seg_add: append to the segment being built. */
static void
seg_add(struct spec_hasher *h, const void *data, size_t len)
{
	if (len == 0)
		return; /* data may be NULL (an empty buf) */
	if (h->n + len > sizeof(h->blk)) {
		if (!h->md_open) {
			digest_start(h);
			h->md_open = true;
		}
		digest_add(h, h->blk, h->n);
		h->n = 0;
		if (len > sizeof(h->blk)) {
			digest_add(h, data, len);
			return;
		}
	}
	memcpy(h->blk + h->n, data, len);
	h->n += len;
}

/* seg_end: the segment built so far into label ("." and its hex). */
static void
seg_end(struct spec_hasher *h, char **label)
{
	char hex[SPEC_HASH_SEG_HEX + 1];

	if (!h->md_open && h->n == 0) {
		memcpy(hex, h->empty_seg, sizeof(hex));
	} else {
		if (!h->md_open)
			digest_start(h);
		digest_add(h, h->blk, h->n);
		digest_end(h, hex);
	}
	h->md_open = false;
	h->n = 0;
	*(*label)++ = '.';
	memcpy(*label, hex, SPEC_HASH_SEG_HEX);
	*label += SPEC_HASH_SEG_HEX;
}

/* field: "TAG:LEN:VALUE\n" (the length in decimal) as a string. */
static size_t
field_head(char *out, const char *tag, size_t taglen, size_t len)
{
	char digits[24];
	size_t nd = 0, n = taglen;

	memcpy(out, tag, taglen);
	out[n++] = ':';
	do {
		digits[nd++] = (char)('0' + len % 10);
		len /= 10;
	} while (len > 0);
	while (nd > 0)
		out[n++] = digits[--nd];
	out[n++] = ':';
	return n;
}

static void
add_field(struct spec_hasher *h, const char *tag, const char *v)
{
	char head[64];
	size_t len, taglen = strlen(tag);

	if (v == NULL)
		v = "";
	len = strlen(v);
	seg_add(h, head, field_head(head, tag, taglen, len));
	seg_add(h, v, len);
	seg_add(h, "\n", 1);
}

/* add_sec_field: the same into the secrets segment. */
static void
add_sec_field(struct spec_hasher *h, const char *tag, const char *v)
{
	char head[64];
	size_t len;

	if (v == NULL)
		v = "";
	len = strlen(v);
	buf_add(&h->sec, head, field_head(head, tag, strlen(tag), len));
	buf_add(&h->sec, v, len);
	buf_addch(&h->sec, '\n');
}

/* keyed: the HMAC-SHA-256 of v under the hasher's key, in hex. */
static void
keyed(struct spec_hasher *h, const char *v, char out[SF_SHA256_HEX_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	size_t mdlen = 0, i;
	EVP_MAC_CTX *c;
	OSSL_PARAM params[2];

	if (!h->mac_tried) {
		h->mac_tried = true;
		pthread_once(&fetch_mac_once, fetch_mac);
		params[0] = OSSL_PARAM_construct_utf8_string(
		        OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
		params[1] = OSSL_PARAM_construct_end();
		/* EVP_MAC_init() takes a NULL key as "the key set before" */
		if (hmac_mac != NULL && h->key != NULL && h->keylen > 0 &&
		    (h->mac = EVP_MAC_CTX_new(hmac_mac)) != NULL &&
		    !EVP_MAC_init(h->mac, h->key, h->keylen, params)) {
			EVP_MAC_CTX_free(h->mac);
			h->mac = NULL;
		}
	}
	if (h->mac == NULL) {
		hmac_sha256_hex(h->key, h->keylen, v, strlen(v), out);
		return;
	}
	if ((c = EVP_MAC_CTX_dup(h->mac)) == NULL ||
	    !EVP_MAC_update(c, (const unsigned char *)v, strlen(v)) ||
	    !EVP_MAC_final(c, md, &mdlen, sizeof(md)) || mdlen != 32)
		fatal("HMAC-SHA-256");
	EVP_MAC_CTX_free(c);
	for (i = 0; i < mdlen; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * mdlen] = '\0';
}

int
spec_hasher_run(struct spec_hasher *h, struct spec *s, secret_fn resolve,
                void *arg, int lenient)
{
	char label[SPEC_HASH_LEN + 1], *l = label;
	char hex[SF_SHA256_HEX_LEN + 1];
	size_t i;
	int rc = 0;

	s->nunresolved = 0;
	h->n = 0;
	h->md_open = false;
	buf_reset(&h->sec);
	memcpy(l, SPEC_HASH_VERSION, 2);
	l += 2;
	add_field(h, "image", s->image);
	/* create-only fields a list item does not show (0.218): in the
	 * image's group, and only when set, so that labels written before
	 * them stay equal */
	if (s->has_kvm && s->kvm)
		add_field(h, "kvm", "true");
	if (s->outbound_proxy_url)
		add_field(h, "outboundProxyUrl", s->outbound_proxy_url);
	seg_end(h, &l);
	/* env: plain values and the secret references (no key needed), then
	 * the secret values under the state's key, then which key */
	for (i = 0; i < s->nenv; i++) {
		struct spec_env *e = &s->env[i];
		char *v = NULL;

		add_field(h, "key", e->key);
		if (e->kind == SPEC_ENV_PLAIN) {
			add_field(h, "plain", e->value);
			continue;
		}
		add_field(h,
		          e->kind == SPEC_ENV_SECRET_ENV ? "secretEnv"
		                                         : "secretFile",
		          e->value);
		if (resolve == NULL)
			return sf_error_set(SF_EINVALID,
			                    "%s: env %s: secret cannot be "
			                    "resolved here",
			                    s->name, e->key);
		e->unresolved = false;
		if ((rc = resolve(arg, e, &v)) < 0) {
			if (!lenient || (rc != SF_ENOTFOUND && rc != SF_EIO))
				return rc;
			/* not available here: the segment says so, and no
			 * value enters it */
			e->unresolved = true;
			e->hmac[0] = '\0';
			s->nunresolved++;
			add_sec_field(h, "key", e->key);
			add_sec_field(h, "unresolved", "");
			rc = 0;
			continue;
		}
		keyed(h, v, hex);
		free_secret(v);
		/* which secret changed can be told, what it is cannot */
		memcpy(s->env[i].hmac, hex, SPEC_ENV_HMAC_HEX);
		s->env[i].hmac[SPEC_ENV_HMAC_HEX] = '\0';
		add_sec_field(h, "key", e->key);
		add_sec_field(h, "secret", hex);
	}
	seg_end(h, &l);
	/* the secrets segment, then the key's fingerprint, which only
	 * matters with secrets: without, it is the same in every state, so
	 * a lost state changes no label */
	seg_add(h, h->sec.data, h->sec.len);
	seg_end(h, &l);
	*l++ = '.';
	if (h->sec.len) {
		if (!h->have_key_seg) {
			one_digest(h, h->key, h->keylen, h->key_seg);
			h->have_key_seg = true;
		}
		memcpy(l, h->key_seg, SPEC_HASH_SEG_HEX);
	} else {
		memcpy(l, h->empty_seg, SPEC_HASH_SEG_HEX);
	}
	l += SPEC_HASH_SEG_HEX;
	for (i = 0; i < s->nvolumes; i++) {
		add_field(h, "volume", s->volumes[i].volume);
		add_field(h, "mount", s->volumes[i].mount_path);
		add_field(h, "subpath", s->volumes[i].subpath);
	}
	seg_end(h, &l);
	*l = '\0';
	memcpy(s->hash, label, sizeof(label));
	return 0;
}

static int
hash_once(struct spec *s, const void *key, size_t keylen, secret_fn resolve,
          void *arg, int lenient)
{
	struct spec_hasher *h = spec_hasher_new(key, keylen);
	int rc = spec_hasher_run(h, s, resolve, arg, lenient);

	spec_hasher_free(h);
	return rc;
}

int
spec_hash(struct spec *s, const void *key, size_t keylen, secret_fn resolve,
          void *arg)
{
	return hash_once(s, key, keylen, resolve, arg, 0);
}

int
spec_hash_lenient(struct spec *s, const void *key, size_t keylen,
                  secret_fn resolve, void *arg)
{
	return hash_once(s, key, keylen, resolve, arg, 1);
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
