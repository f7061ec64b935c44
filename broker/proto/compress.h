/* The record-batch codecs of Kafka (attributes & 7, protocol guide "Record
 * Batch"): gzip, snappy (xerial framing, as the Java client writes it), lz4
 * (the LZ4 frame format) and zstd. Pure computation, so it lives in broker/. */
#ifndef SLUICE_COMPRESS_H
#define SLUICE_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "proto/batch_format.h"

/* Appends the compressed form of in to out. KERR_NONE,
 * KERR_UNSUPPORTED_COMPRESSION_TYPE for a codec outside 0..4, or
 * KERR_MESSAGE_TOO_LARGE past INT32_MAX bytes (a batch cannot hold more). */
int codec_compress(enum rb_codec codec, const uint8_t *in, size_t len, struct buf *out);
/* Appends the decompressed form. KERR_CORRUPT_MESSAGE on bad or truncated
 * data; KERR_MESSAGE_TOO_LARGE when the output would exceed out_bytes_max
 * (a decompression bomb fails, it does not allocate; a zstd frame that
 * declares a larger size fails before decoding); KERR_UNSUPPORTED_COMPRESSION_TYPE for an
 * unknown codec. On error out is left as it was. snappy accepts both the
 * xerial framing and a plain raw block (librdkafka writes raw). */
int codec_decompress(enum rb_codec codec, const uint8_t *in, size_t len, size_t out_bytes_max,
                     struct buf *out);
/* Inflating in steps (issue 13: a large batch is inflated a slice per
 * loop turn): begin (a zstd frame declaring more than out_bytes_max is
 * refused here), then each step appends at most step_bytes more decoded
 * bytes to out and sets *done once the stream ended. snappy decodes whole
 * blocks: a step ends after the block that reaches step_bytes, so the
 * xerial framing's blocks (snappy-java: 32 KiB) bound it, and a raw block
 * (librdkafka) is one step whatever its size. Errors as codec_decompress,
 * the moment they are seen: KERR_MESSAGE_TOO_LARGE once the total passes
 * out_bytes_max, KERR_CORRUPT_MESSAGE at bad or truncated data; a failed
 * step appends nothing, and the inflater is then only to be freed. in must
 * stay put until free. */
struct codec_inflater;
int codec_inflate_begin(enum rb_codec codec, const uint8_t *in, size_t len,
                        size_t out_bytes_max, struct codec_inflater **inflater_out);
int codec_inflate_step(struct codec_inflater *d, size_t step_bytes, struct buf *out,
                       bool *done);
/* Decoded bytes so far, all steps. */
size_t codec_inflated(const struct codec_inflater *d);
void codec_inflate_free(struct codec_inflater *d);
/* Compressing in steps (issue 13: a large batch is recompressed a slice
 * per loop turn): begin with the total input length (or CODEC_LEN_UNKNOWN:
 * a zstd frame then leaves its content size out), feed it in pieces in
 * order (the last with last=true), free. The output is one stream of the
 * codec, as codec_compress would write it. KERR_NONE or
 * KERR_UNKNOWN_SERVER_ERROR (the library failed). */
#define CODEC_LEN_UNKNOWN SIZE_MAX
struct codec_stream;
int codec_stream_begin(enum rb_codec codec, size_t total_len, struct buf *out,
                       struct codec_stream **stream_out);
int codec_stream_step(struct codec_stream *s, const uint8_t *in, size_t len, bool last,
                      struct buf *out);
void codec_stream_free(struct codec_stream *s);
/* "gzip" -> RB_CODEC_GZIP, "none"/"uncompressed" -> RB_CODEC_NONE, "snappy",
 * "lz4", "zstd"; -1 if not a codec ("producer" is not one). */
int codec_by_name(const char *name);
/* "none", "gzip", "snappy", "lz4", "zstd"; "unknown" otherwise. */
const char *codec_name(enum rb_codec codec);

#endif
