/* Slicing-by-8 in software; the SSE4.2 crc32 instruction where the CPU has it
 * (a pure instruction, detected with cpuid, no OS involved). */
#include "base/crc32c.h"

#include <stdbool.h>
#include <string.h>

enum { CRC32C_POLY_REFLECTED = 0x82F63B78u };

static uint32_t table[8][256];
static bool table_ready;

static void table_build(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ ((c & 1) ? CRC32C_POLY_REFLECTED : 0);
    table[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; i++) {
    for (int s = 1; s < 8; s++)
      table[s][i] = (table[s - 1][i] >> 8) ^ table[0][table[s - 1][i] & 0xff];
  }
  table_ready = true;
}

static uint32_t crc32c_soft(uint32_t crc, const uint8_t *p, size_t len) {
  if (!table_ready) table_build();
  while (len >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    w ^= crc;
    crc = table[7][w & 0xff] ^ table[6][(w >> 8) & 0xff] ^ table[5][(w >> 16) & 0xff] ^
          table[4][(w >> 24) & 0xff] ^ table[3][(w >> 32) & 0xff] ^ table[2][(w >> 40) & 0xff] ^
          table[1][(w >> 48) & 0xff] ^ table[0][w >> 56];
    p += 8;
    len -= 8;
  }
  while (len--) crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
  return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const uint8_t *p,
                                                            size_t len) {
  uint64_t c = crc;
  while (len >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    c = __builtin_ia32_crc32di(c, w);
    p += 8;
    len -= 8;
  }
  uint32_t c32 = (uint32_t)c;
  while (len--) c32 = __builtin_ia32_crc32qi(c32, *p++);
  return c32;
}
#endif

uint32_t crc32c_extend(uint32_t crc, const void *data, size_t len) {
  crc = ~crc;
#if defined(__x86_64__)
  static int hw = -1;
  if (hw < 0) {
    __builtin_cpu_init();
    hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
  }
  crc = hw ? crc32c_hw(crc, data, len) : crc32c_soft(crc, data, len);
#else
  crc = crc32c_soft(crc, data, len);
#endif
  return ~crc;
}
