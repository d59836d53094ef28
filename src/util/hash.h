/*
 * hash.h - non-cryptographic 64-bit hashing for ids and sketches.
 *
 * hash64 is stable across runs and machines (little-endian reads are
 * explicit), so ids derived from it (dialects, campaigns) can be stored and
 * compared later. For de-duplication of raw messages, where a collision
 * would silently drop a message, use hash_digest (SHA-256 from OpenSSL).
 */
#ifndef SPAMTIDE_UTIL_HASH_H
#define SPAMTIDE_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t hash64(const void *p, size_t n, uint64_t seed);
/* hash_mix: a 64-bit finaliser; a bijection that spreads every input bit. */
uint64_t hash_mix(uint64_t x);

#define HASH_DIGEST_LEN 16
/* hash_digest: the first 16 bytes of SHA-256 of p. */
void hash_digest(const void *p, size_t n, unsigned char out[HASH_DIGEST_LEN]);
/* hash_digest_parts: the same over the concatenation of nparts pieces. */
void hash_digest_parts(const void *const *parts, const size_t *lens, size_t nparts,
		       unsigned char out[HASH_DIGEST_LEN]);

#endif
