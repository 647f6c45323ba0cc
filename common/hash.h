/*
 * hash: SHA-256, HMAC-SHA-256 and random bytes (OpenSSL libcrypto), and
 * two fast hashes for in-memory tables.
 * Hex outputs are lowercase and NUL-terminated in caller-provided arrays.
 */
#ifndef SF_COMMON_HASH_H
#define SF_COMMON_HASH_H

#include <stddef.h>
#include <stdint.h>

#define SF_SHA256_HEX_LEN 64

void sha256_hex(const void *data, size_t len, char out[SF_SHA256_HEX_LEN + 1]);
void hmac_sha256_hex(const void *key, size_t keylen, const void *data,
                     size_t len, char out[SF_SHA256_HEX_LEN + 1]);
/* random_bytes: cryptographically strong; returns 0 or -1. */
int random_bytes(void *out, size_t len);
/* uuid_v4: a random RFC 4122 version 4 UUID, lowercase. */
void uuid_v4(char out[37]);

/*
 * Hashes for in-memory tables (never stored, never for security):
 * hash_fnv1a of a short NUL-terminated name (32-bit FNV-1a; hash_fnv1a_n
 * of n bytes is the same hash of the same text), and
 * hash_words of n bytes, eight a step, from a seed (chain calls to hash
 * several pieces). Neither is 0-safe: callers that need non-zero say so.
 */
uint32_t hash_fnv1a(const char *s);
uint32_t hash_fnv1a_n(const void *data, size_t n);
uint64_t hash_words(uint64_t seed, const void *data, size_t n);

#endif
