/*
 * spechash: the sandform.dev/spec label value of a spec (DESIGN.md §4).
 *
 * The value is "v1.IIIIIIII.EEEEEEEE.SSSSSSSS.KKKKKKKK.VVVVVVVV": a version
 * and one short SHA-256 per create-only group the list endpoint does not
 * return, so the plan can name the group that changed without a GET:
 * image (with kvm and outboundProxyUrl when set, 0.218 fields a list
 * item does not show), env (plain values and secret references), secret
 * values (HMACs under the state's key), the fingerprint of that key, and
 * volumes. Snapshot, user, target, gpu, spot, gpuType and resources are
 * list fields and compared directly. Secret values are only comparable under
 * the same key: after a lost state they are not (SPEC_SEG_KEY differs) and the
 * plan says so instead of replacing.
 */
#ifndef SF_MANIFESTS_SPECHASH_H
#define SF_MANIFESTS_SPECHASH_H

#include <stddef.h>

#include "manifests/secret.h"
#include "manifests/spec.h"

#define SPEC_HASH_VERSION  "v1"
#define SPEC_HASH_SEGMENTS 5
#define SPEC_HASH_SEG_HEX  8
#define SPEC_HASH_LEN      (2 + SPEC_HASH_SEGMENTS * (1 + SPEC_HASH_SEG_HEX))

enum spec_segment {
	SPEC_SEG_IMAGE = 0,
	SPEC_SEG_ENV,
	SPEC_SEG_SECRETS,
	SPEC_SEG_KEY,
	SPEC_SEG_VOLUMES,
};

/*
 * spec_hash: compute s->hash. Plain env values enter as written; secret
 * values are resolved with resolve and enter only as HMAC-SHA-256 under
 * key (the state's key; only its SHA-256 fingerprint appears in the
 * label). resolve may be NULL when the spec has no secret. Returns 0 or
 * the resolver's error (naming the reference, never a value).
 */
int spec_hash(struct spec *s, const void *key, size_t keylen, secret_fn resolve,
              void *arg);
/*
 * spec_hash_lenient: the same, but a secret that is not available (an
 * unset variable, a missing or unreadable file: SF_ENOTFOUND, SF_EIO) is
 * no failure: its entry is marked unresolved and counted in
 * s->nunresolved, and the secret segment of the hash is then not
 * comparable. A secret that is refused (SF_EINVALID: a forbidden
 * variable, a file outside the allowed directories) still fails. For plans
 * made without the production secrets; apply resolves strictly.
 */
int spec_hash_lenient(struct spec *s, const void *key, size_t keylen,
                      secret_fn resolve, void *arg);
/*
 * A spec_hasher hashes many specs under one key as spec_hash() and
 * spec_hash_lenient() do (lenient non-zero), with no allocation per spec
 * without secrets: the digest, the key's fingerprint and the HMAC are set
 * up once. key must outlive it. Not to be shared between threads.
 */
struct spec_hasher;
struct spec_hasher *spec_hasher_new(const void *key, size_t keylen);
int spec_hasher_run(struct spec_hasher *h, struct spec *s, secret_fn resolve,
                    void *arg, int lenient);
void spec_hasher_free(struct spec_hasher *h);

/* spec_hash_segment: segment i (enum spec_segment) of a label value into
 * out; 0, or -1 when the value is not a v1 spec label. */
int spec_hash_segment(const char *label, int i,
                      char out[SPEC_HASH_SEG_HEX + 1]);

#endif
