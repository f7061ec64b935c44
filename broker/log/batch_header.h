/* The fixed 61-byte header of a record batch (magic 2), as the log reads it
 * out of segment files: enough to index, find and validate batches without
 * decoding records. The field layout is proto/batch_format.h. */
#ifndef SLUICE_LOG_BATCH_HEADER_H
#define SLUICE_LOG_BATCH_HEADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "env.h"
#include "proto/batch_format.h"

struct batch_header {
  int64_t base_offset;
  int32_t batch_length; /* bytes after the length field */
  int32_t leader_epoch;
  int8_t magic;
  uint32_t crc;
  int16_t attributes;
  int32_t last_offset_delta;
  int64_t base_timestamp;
  int64_t max_timestamp;
  int32_t record_count;
};

/* p holds at least RB_HEADER_BYTES. */
void batch_header_parse(const uint8_t *p, struct batch_header *h);
/* Structural sanity: magic 2, a length that covers the header, a
 * non-negative offset span that cannot overflow. Scans rely on it to move
 * forward. */
bool batch_header_valid(const struct batch_header *h);

static inline uint64_t batch_header_size(const struct batch_header *h) {
  return (uint64_t)RB_LOG_OVERHEAD + (uint32_t)h->batch_length;
}

static inline int64_t batch_header_last_offset(const struct batch_header *h) {
  return h->base_offset + h->last_offset_delta;
}

/* Reads batch headers of one file forward, through a read-ahead buffer so
 * that scanning many small batches costs few preads. */
enum { HEADER_CURSOR_BYTES = 8192 };
enum header_status { HC_OK = 0, HC_END = 1, HC_TORN = 2, HC_BAD = 3 };

struct header_cursor {
  struct env *env;
  env_file file;
  uint64_t end_pos; /* bytes of the file that count */
  uint64_t buf_pos;
  size_t buf_len;
  bool large_batches; /* the last batch outgrew the buffer: read headers only */
  uint8_t buf[HEADER_CURSOR_BYTES];
};

void header_cursor_init(struct header_cursor *c, struct env *env, env_file file,
                        uint64_t end_pos);
/* The header of the batch at pos: HC_OK, HC_END (pos == end), HC_TORN (the
 * header or its batch runs past the end), HC_BAD (not a valid header), or a
 * negative ENV_E* read error. */
int header_cursor_read(struct header_cursor *c, uint64_t pos, struct batch_header *h);

/* Checks the batch's CRC-32C (attributes to the end), reading it in pieces
 * through scratch. 1 if it matches, 0 if not, or ENV_E*. */
int batch_crc_check(struct env *env, env_file file, uint64_t pos, const struct batch_header *h,
                    uint8_t *scratch, size_t scratch_bytes);

#endif
