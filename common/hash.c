#include "common/base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "common/hash.h"

static void
to_hex(const unsigned char *md, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * n] = '\0';
}

void
sha256_hex(const void *data, size_t len, char out[SF_SHA256_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL)) {
		fprintf(stderr, "fatal: SHA-256 failed\n");
		abort();
	}
	to_hex(md, mdlen, out);
}

void
hmac_sha256_hex(const void *key, size_t keylen, const void *data, size_t len,
                char out[SF_SHA256_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (HMAC(EVP_sha256(), key, (int)keylen, data, len, md, &mdlen) ==
	    NULL) {
		fprintf(stderr, "fatal: HMAC-SHA-256 failed\n");
		abort();
	}
	to_hex(md, mdlen, out);
}

int
random_bytes(void *out, size_t len)
{
	return RAND_bytes(out, (int)len) == 1 ? 0 : -1;
}

void
uuid_v4(char out[37])
{
	unsigned char b[16];
	char hex[33];

	if (random_bytes(b, sizeof(b)) < 0) {
		fprintf(stderr, "fatal: no randomness\n");
		abort();
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	to_hex(b, 16, hex);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12,
	         hex + 16, hex + 20);
}

uint32_t
hash_fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

uint32_t
hash_fnv1a_n(const void *data, size_t n)
{
	const unsigned char *s = data;
	uint32_t h = 2166136261u;

	while (n-- > 0)
		h = (h ^ *s++) * 16777619u;
	return h;
}

uint64_t
hash_words(uint64_t seed, const void *data, size_t n)
{
	const uint64_t m = 0xff51afd7ed558ccdULL;
	const unsigned char *s = data;
	uint64_t h = seed ^ n, x;
	size_t i = 0;

	if (n >= 64) {
		/* four independent lanes, 32 bytes a step: one chain of
		 * multiplies waited on each other (a 100k plan hashes 100 MB
		 * of recorded observations) */
		uint64_t v[4] = { h, h ^ 0x9e3779b97f4a7c15ULL,
			          h ^ 0xc2b2ae3d27d4eb4fULL,
			          h ^ 0x165667b19e3779f9ULL },
		         w[4];
		int k;

		for (; i + 32 <= n; i += 32) {
			memcpy(w, s + i, 32);
			for (k = 0; k < 4; k++) {
				v[k] = (v[k] ^ w[k]) * m;
				v[k] ^= v[k] >> 32;
			}
		}
		for (k = 0; k < 4; k++) {
			h = (h ^ v[k]) * m;
			h ^= h >> 32;
		}
	}
	for (; i + 8 <= n; i += 8) {
		memcpy(&x, s + i, 8);
		h = (h ^ x) * m;
		h ^= h >> 32;
	}
	x = 0;
	memcpy(&x, s + i, n - i);
	h = (h ^ x) * 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 29);
}
