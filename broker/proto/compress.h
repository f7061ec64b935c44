/* The record-batch codecs Kafka uses: gzip, snappy (xerial framing, as the
 * Java client writes it), lz4 (the LZ4 frame format) and zstd. */
#ifndef SLUICE_COMPRESS_H
#define SLUICE_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "proto/batch_format.h"

/* Appends the compressed form of in to out. KERR_NONE or an error. */
int codec_compress(enum rb_codec codec, const uint8_t *in, size_t len, struct buf *out);
/* Appends the decompressed form; KERR_CORRUPT_MESSAGE on bad data or when it
 * would exceed out_bytes_max (a decompression bomb fails, it does not
 * allocate). */
int codec_decompress(enum rb_codec codec, const uint8_t *in, size_t len, size_t out_bytes_max,
                     struct buf *out);
/* "gzip" -> RB_CODEC_GZIP, "uncompressed"/"none" -> RB_CODEC_NONE; -1 if not
 * a codec ("producer" is not). */
int codec_by_name(const char *name);
const char *codec_name(enum rb_codec codec);

#endif
