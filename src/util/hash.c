/*
 * hash.c - 64-bit hashing; see hash.h.
 */
#include <string.h>

#include <openssl/evp.h>

#include "util/hash.h"
#include "util/xalloc.h"
#include "util/banned.h"

uint64_t hash_mix(uint64_t x)
{
	/* the splitmix64 finaliser */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static uint64_t read64(const unsigned char *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	       (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
	       (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

uint64_t hash64(const void *data, size_t n, uint64_t seed)
{
	const unsigned char *p = data;
	uint64_t h = hash_mix(seed ^ 0x9e3779b97f4a7c15ULL ^ (uint64_t)n);
	uint64_t tail = 0;
	size_t i;

	for (; n >= 8; n -= 8, p += 8)
		h = hash_mix(h ^ read64(p)) * 0x9e3779b97f4a7c15ULL;
	for (i = 0; i < n; i++)
		tail |= (uint64_t)p[i] << (8 * i);
	return hash_mix(h ^ tail ^ ((uint64_t)n << 59));
}

void hash_digest(const void *p, size_t n, unsigned char out[HASH_DIGEST_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL) || mdlen < HASH_DIGEST_LEN)
		panic("SHA-256 failed");
	memcpy(out, md, HASH_DIGEST_LEN);
}

void hash_digest_parts(const void *const *parts, const size_t *lens, size_t nparts,
		       unsigned char out[HASH_DIGEST_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t i;
	int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);

	for (i = 0; ok && i < nparts; i++)
		ok = EVP_DigestUpdate(ctx, parts[i], lens[i]);
	if (!ok || !EVP_DigestFinal_ex(ctx, md, &mdlen) || mdlen < HASH_DIGEST_LEN)
		panic("SHA-256 failed");
	EVP_MD_CTX_free(ctx);
	memcpy(out, md, HASH_DIGEST_LEN);
}
