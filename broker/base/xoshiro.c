#include "base/xoshiro.h"

#include "base/assert.h"

uint64_t splitmix64_next(uint64_t *x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* k in [0, 64): the mask keeps k == 0 defined. */
uint64_t xoshiro256_rotl(uint64_t x, int k) { return (x << k) | (x >> ((64 - k) & 63)); }

uint64_t xoshiro256_next(uint64_t s[4]) {
  uint64_t result = xoshiro256_rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = xoshiro256_rotl(s[3], 45);
  return result;
}

void xoshiro256_seed(uint64_t s[4], uint64_t seed) {
  for (int i = 0; i < 4; i++) s[i] = splitmix64_next(&seed);
  ASSERT((s[0] | s[1] | s[2] | s[3]) != 0);
}
