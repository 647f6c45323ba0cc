/*
 * git-knownhosts: strict SSH host-key checking for git sources against an
 * OpenSSH known_hosts file (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT").
 *
 *	enum knownhosts_result res;
 *	char fp[KNOWNHOSTS_FP_LEN];
 *	if (knownhosts_check(file, "git.example.com", 22, blob, len, &res) < 0)
 *		...		// the file could not be read (message set)
 *	if (res != KNOWNHOSTS_MATCH)
 *		knownhosts_fingerprint(blob, len, fp);	// "SHA256:..."
 *
 * The key is the server's host key as the SSH wire format carries it (the
 * blob whose base64 a known_hosts line holds); its type is read from it.
 * Lines are "[@revoked] PATTERNS KEYTYPE BASE64 [COMMENT]"; PATTERNS are
 * comma-separated host names with * and ? wildcards and ! negations, or one
 * hashed name "|1|SALT|HASH" (ssh-keygen -H). A host on a port other than
 * 22 is looked up as "[host]:port", as ssh does. @cert-authority lines are
 * not supported (host certificates are not accepted) and never match.
 * There is no trust on first use: a host not in the file is UNKNOWN.
 */
#ifndef SF_MANIFESTS_GIT_KNOWNHOSTS_H
#define SF_MANIFESTS_GIT_KNOWNHOSTS_H

#include <stddef.h>

/* The longest known_hosts file read, and a fingerprint's size with NUL
 * ("SHA256:" and 43 base64 characters). */
#define KNOWNHOSTS_MAX_FILE (4u * 1024 * 1024)
#define KNOWNHOSTS_FP_LEN   51

enum knownhosts_result {
	KNOWNHOSTS_MATCH = 0, /* the host is listed with this key */
	KNOWNHOSTS_UNKNOWN,   /* no line for this host and key type */
	KNOWNHOSTS_CHANGED,   /* the host is listed with another key of
	                       * this type: possibly an attack */
	KNOWNHOSTS_REVOKED,   /* the key is marked @revoked */
};

/*
 * knownhosts_check: look key up for host (lowercase, no brackets) and
 * port. A missing file is no error: every host is then UNKNOWN. Returns 0
 * and *out, or SF_EIO when the file cannot be read.
 */
int knownhosts_check(const char *file, const char *host, int port,
                     const unsigned char *key, size_t len,
                     enum knownhosts_result *out);

/* knownhosts_fingerprint: "SHA256:" and the unpadded base64 of the key's
 * SHA-256, as ssh-keygen -l prints it. */
void knownhosts_fingerprint(const unsigned char *key, size_t len,
                            char out[KNOWNHOSTS_FP_LEN]);

/* knownhosts_key_type: the key's type name ("ssh-ed25519"), copied into
 * out (at most n bytes with NUL); "unknown" when the blob is malformed. */
void knownhosts_key_type(const unsigned char *key, size_t len, char *out,
                         size_t n);

/* knownhosts_base64_decode: standard base64 (padding optional) into a
 * new buffer (*out, *outlen; caller frees). -1 on invalid input. Shared
 * with the verification code. */
int knownhosts_base64_decode(const char *s, size_t n, unsigned char **out,
                             size_t *outlen);

#endif
