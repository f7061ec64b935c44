/* Compression is pure computation (no OS), so it may live in broker/. */
#include "proto/compress.h"

#include <lz4frame.h>
#include <snappy-c.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "base/assert.h"
#include "proto/errors.h"

enum { CHUNK_BYTES = 64 * 1024, XERIAL_HEADER_BYTES = 16, XERIAL_BLOCK_BYTES = 32 * 1024 };

/* snappy-java's stream header: magic, version 1, compatible version 1. */
static const uint8_t xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};

int codec_by_name(const char *name) {
  if (!strcmp(name, "none") || !strcmp(name, "uncompressed")) return RB_CODEC_NONE;
  if (!strcmp(name, "gzip")) return RB_CODEC_GZIP;
  if (!strcmp(name, "snappy")) return RB_CODEC_SNAPPY;
  if (!strcmp(name, "lz4")) return RB_CODEC_LZ4;
  if (!strcmp(name, "zstd")) return RB_CODEC_ZSTD;
  return -1;
}

const char *codec_name(enum rb_codec codec) {
  static const char *const names[] = {"none", "gzip", "snappy", "lz4", "zstd"};
  return (unsigned)codec < 5 ? names[codec] : "unknown";
}

static void put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
  p[3] = (uint8_t)v;
}
static uint32_t get_be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- gzip ---- */

static int gzip_compress(const uint8_t *in, size_t len, struct buf *out) {
  z_stream z;
  memset(&z, 0, sizeof z);
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK)
    return KERR_UNKNOWN_SERVER_ERROR;
  size_t bound = deflateBound(&z, (uLong)len);
  size_t start = out->len;
  uint8_t *dst = buf_extend(out, bound);
  z.next_in = (Bytef *)in;
  z.avail_in = (uInt)len;
  z.next_out = dst;
  z.avail_out = (uInt)bound;
  int rc = deflate(&z, Z_FINISH);
  out->len = start + z.total_out;
  deflateEnd(&z);
  return rc == Z_STREAM_END ? KERR_NONE : KERR_UNKNOWN_SERVER_ERROR;
}

static int gzip_decompress(const uint8_t *in, size_t len, size_t max, struct buf *out) {
  z_stream z;
  memset(&z, 0, sizeof z);
  if (inflateInit2(&z, 15 + 32) != Z_OK) return KERR_UNKNOWN_SERVER_ERROR;
  z.next_in = (Bytef *)in;
  z.avail_in = (uInt)len;
  size_t produced = 0;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (produced >= max) break;
    size_t room = max - produced < CHUNK_BYTES ? max - produced : CHUNK_BYTES;
    uint8_t *dst = buf_extend(out, room);
    z.next_out = dst;
    z.avail_out = (uInt)room;
    rc = inflate(&z, Z_NO_FLUSH);
    size_t got = room - z.avail_out;
    out->len -= z.avail_out;
    produced += got;
    if (rc != Z_OK && rc != Z_STREAM_END) break;
    if (rc == Z_OK && got == 0 && z.avail_in == 0) break; /* truncated */
  }
  inflateEnd(&z);
  return rc == Z_STREAM_END ? KERR_NONE : KERR_CORRUPT_MESSAGE;
}

/* ---- snappy (xerial framing) ---- */

static int snappy_compress_xerial(const uint8_t *in, size_t len, struct buf *out) {
  uint8_t *h = buf_extend(out, XERIAL_HEADER_BYTES);
  memcpy(h, xerial_magic, 8);
  put_be32(h + 8, 1);
  put_be32(h + 12, 1);
  for (size_t at = 0; at < len;) {
    size_t n = len - at < XERIAL_BLOCK_BYTES ? len - at : XERIAL_BLOCK_BYTES;
    size_t cap = snappy_max_compressed_length(n);
    size_t pos = out->len;
    buf_extend(out, 4 + cap);
    size_t got = cap;
    if (snappy_compress((const char *)in + at, n, (char *)out->data + pos + 4, &got) !=
        SNAPPY_OK)
      return KERR_UNKNOWN_SERVER_ERROR;
    put_be32(out->data + pos, (uint32_t)got);
    out->len = pos + 4 + got;
    at += n;
  }
  return KERR_NONE;
}

static int snappy_raw_decompress(const uint8_t *in, size_t len, size_t max, struct buf *out) {
  size_t n;
  if (snappy_uncompressed_length((const char *)in, len, &n) != SNAPPY_OK || n > max)
    return KERR_CORRUPT_MESSAGE;
  size_t pos = out->len;
  buf_extend(out, n);
  if (snappy_uncompress((const char *)in, len, (char *)out->data + pos, &n) != SNAPPY_OK) {
    out->len = pos;
    return KERR_CORRUPT_MESSAGE;
  }
  out->len = pos + n;
  return KERR_NONE;
}

static int snappy_decompress_any(const uint8_t *in, size_t len, size_t max, struct buf *out) {
  if (len < XERIAL_HEADER_BYTES || memcmp(in, xerial_magic, 8) != 0)
    return snappy_raw_decompress(in, len, max, out); /* librdkafka writes raw blocks */
  size_t start = out->len;
  for (size_t at = XERIAL_HEADER_BYTES; at < len;) {
    if (len - at < 4) return KERR_CORRUPT_MESSAGE;
    size_t block = get_be32(in + at);
    at += 4;
    if (block > len - at) return KERR_CORRUPT_MESSAGE;
    size_t used = out->len - start;
    int rc = snappy_raw_decompress(in + at, block, max - used, out);
    if (rc != KERR_NONE) return rc;
    at += block;
  }
  return KERR_NONE;
}

/* ---- lz4 frame ---- */

static int lz4_compress(const uint8_t *in, size_t len, struct buf *out) {
  LZ4F_preferences_t prefs;
  memset(&prefs, 0, sizeof prefs);
  prefs.frameInfo.contentSize = len;
  size_t cap = LZ4F_compressFrameBound(len, &prefs);
  size_t pos = out->len;
  buf_extend(out, cap);
  size_t got = LZ4F_compressFrame(out->data + pos, cap, in, len, &prefs);
  if (LZ4F_isError(got)) {
    out->len = pos;
    return KERR_UNKNOWN_SERVER_ERROR;
  }
  out->len = pos + got;
  return KERR_NONE;
}

static int lz4_decompress(const uint8_t *in, size_t len, size_t max, struct buf *out) {
  LZ4F_dctx *ctx;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION)))
    return KERR_UNKNOWN_SERVER_ERROR;
  size_t at = 0, produced = 0, hint = 1;
  int rc = KERR_CORRUPT_MESSAGE;
  for (size_t rounds = 0; rounds < len + max / 16 + 16; rounds++) {
    if (produced >= max && hint != 0) break;
    size_t room = max - produced < CHUNK_BYTES ? max - produced : CHUNK_BYTES;
    size_t pos = out->len;
    uint8_t *dst = buf_extend(out, room ? room : 1);
    size_t dst_len = room, src_len = len - at;
    hint = LZ4F_decompress(ctx, dst, &dst_len, in + at, &src_len, NULL);
    out->len = pos + dst_len;
    produced += dst_len;
    at += src_len;
    if (LZ4F_isError(hint)) break;
    if (hint == 0) {
      rc = KERR_NONE;
      break;
    }
    if (src_len == 0 && dst_len == 0) break; /* truncated */
  }
  LZ4F_freeDecompressionContext(ctx);
  return rc;
}

/* ---- zstd ---- */

static int zstd_compress(const uint8_t *in, size_t len, struct buf *out) {
  size_t cap = ZSTD_compressBound(len);
  size_t pos = out->len;
  buf_extend(out, cap);
  size_t got = ZSTD_compress(out->data + pos, cap, in, len, 3);
  if (ZSTD_isError(got)) {
    out->len = pos;
    return KERR_UNKNOWN_SERVER_ERROR;
  }
  out->len = pos + got;
  return KERR_NONE;
}

static int zstd_decompress(const uint8_t *in, size_t len, size_t max, struct buf *out) {
  ZSTD_DStream *ds = ZSTD_createDStream();
  if (!ds) return KERR_UNKNOWN_SERVER_ERROR;
  ZSTD_initDStream(ds);
  ZSTD_inBuffer src = {in, len, 0};
  size_t produced = 0, ret = 1;
  int rc = KERR_CORRUPT_MESSAGE;
  for (size_t rounds = 0; rounds < len + max / 16 + 16; rounds++) {
    if (produced >= max) break;
    size_t room = max - produced < CHUNK_BYTES ? max - produced : CHUNK_BYTES;
    size_t pos = out->len;
    ZSTD_outBuffer dst = {buf_extend(out, room), room, 0};
    ret = ZSTD_decompressStream(ds, &dst, &src);
    out->len = pos + dst.pos;
    produced += dst.pos;
    if (ZSTD_isError(ret)) break;
    if (ret == 0 && src.pos == src.size) {
      rc = KERR_NONE;
      break;
    }
    if (dst.pos == 0 && src.pos == src.size) break; /* truncated */
  }
  ZSTD_freeDStream(ds);
  return rc;
}

int codec_compress(enum rb_codec codec, const uint8_t *in, size_t len, struct buf *out) {
  switch (codec) {
  case RB_CODEC_NONE:
    buf_append(out, in, len);
    return KERR_NONE;
  case RB_CODEC_GZIP:
    return gzip_compress(in, len, out);
  case RB_CODEC_SNAPPY:
    return snappy_compress_xerial(in, len, out);
  case RB_CODEC_LZ4:
    return lz4_compress(in, len, out);
  case RB_CODEC_ZSTD:
    return zstd_compress(in, len, out);
  }
  return KERR_UNSUPPORTED_COMPRESSION_TYPE;
}

int codec_decompress(enum rb_codec codec, const uint8_t *in, size_t len, size_t out_bytes_max,
                     struct buf *out) {
  size_t start = out->len;
  int rc;
  switch (codec) {
  case RB_CODEC_NONE:
    if (len > out_bytes_max) return KERR_CORRUPT_MESSAGE;
    buf_append(out, in, len);
    return KERR_NONE;
  case RB_CODEC_GZIP:
    rc = gzip_decompress(in, len, out_bytes_max, out);
    break;
  case RB_CODEC_SNAPPY:
    rc = snappy_decompress_any(in, len, out_bytes_max, out);
    break;
  case RB_CODEC_LZ4:
    rc = lz4_decompress(in, len, out_bytes_max, out);
    break;
  case RB_CODEC_ZSTD:
    rc = zstd_decompress(in, len, out_bytes_max, out);
    break;
  default:
    return KERR_UNSUPPORTED_COMPRESSION_TYPE;
  }
  if (rc != KERR_NONE) out->len = start;
  return rc;
}
