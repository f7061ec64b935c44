/* CRC-32C (Castagnoli), the checksum of Kafka record batches (magic 2). */
#ifndef SLUICE_CRC32C_H
#define SLUICE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* crc is the running value: start with 0, feed the result back to extend. */
uint32_t crc32c_extend(uint32_t crc, const void *data, size_t len);
/* The same with the table alone, as on a CPU without the crc32 instruction
 * (for the tests: this machine may never take that path otherwise). */
uint32_t crc32c_extend_portable(uint32_t crc, const void *data, size_t len);

static inline uint32_t crc32c(const void *data, size_t len) {
  return crc32c_extend(0, data, len);
}

#endif
