/* Reading record batch headers out of a segment file: the log's file cursor.
 * It only fetches the 61 header bytes (through a read-ahead buffer, so that
 * scanning many small batches costs few preads) and hands them to the one
 * parser of the header, rb_header_read in proto/record_batch.c; the layout
 * is proto/batch_format.h. */
#ifndef SLUICE_LOG_HEADER_CURSOR_H
#define SLUICE_LOG_HEADER_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "env.h"
#include "proto/record_batch.h"

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
 * header or its batch runs past the end), HC_BAD (rb_header_valid says no),
 * or a negative ENV_E* read error. */
int header_cursor_read(struct header_cursor *c, uint64_t pos, struct rb_header *h);

/* Checks the batch's CRC-32C (attributes to the end), reading it in pieces
 * through scratch. 1 if it matches, 0 if not, or ENV_E*. */
int batch_crc_check(struct env *env, env_file file, uint64_t pos, const struct rb_header *h,
                    uint8_t *scratch, size_t scratch_bytes);

#endif
