/* xoshiro256** (Blackman and Vigna, "Scrambled linear pseudorandom number
 * generators", 2018) and splitmix64, the seeding its authors recommend. One
 * generator for both worlds: the real one seeds it from getrandom, the
 * simulated one from the scenario's seed. Pure functions of their state. */
#ifndef SLUICE_BASE_XOSHIRO_H
#define SLUICE_BASE_XOSHIRO_H

#include <stdint.h>

/* Advances *x and returns the next splitmix64 output. */
uint64_t splitmix64_next(uint64_t *x);
/* The next output of the state s (which must not be all zeros). */
uint64_t xoshiro256_next(uint64_t s[4]);
/* Spreads a 64-bit seed over the 256-bit state with splitmix64. */
void xoshiro256_seed(uint64_t s[4], uint64_t seed);
uint64_t xoshiro256_rotl(uint64_t x, int k);

#endif
