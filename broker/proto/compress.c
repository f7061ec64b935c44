/* Kafka's record codecs over zlib, snappy, lz4 and zstd. Both directions
 * go in one shot or in steps (issue 13: a large batch costs the event loop
 * a bounded slice per turn); decompressing is bounded, so that a small
 * input that expands to gigabytes (a decompression bomb) stops at
 * out_bytes_max. */
#include "proto/compress.h"

#include <lz4frame.h>
#include <snappy-c.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "base/assert.h"
#include "base/endian.h"
#include "proto/errors.h"

enum {
  CHUNK_BYTES = 64 * 1024,
  /* snappy-java's stream: 8 magic bytes, int32 version, int32 compatible
   * version, then blocks of int32 big-endian length + raw snappy block.
   * Its output stream cuts the input into 32 KiB blocks. */
  XERIAL_HEADER_BYTES = 16,
  XERIAL_BLOCK_BYTES = 32 * 1024,
  XERIAL_VERSION = 1,
  /* zstd: a frame may ask for a window of 2^windowLog bytes, which the
   * decoder allocates when the content size is not declared. The bound
   * follows out_bytes_max, but never below what producers at high levels
   * declare (2^23) nor above zstd's own default limit (2^27, 128 MiB). */
  ZSTD_WINDOW_LOG_MIN = 23,
  ZSTD_WINDOW_LOG_MAX = 27,
  ZSTD_LEVEL = 3,
};

static const uint8_t xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};

int codec_by_name(const char *name) {
  static const char *const names[] = {"none", "gzip", "snappy", "lz4", "zstd"};
  if (name == NULL) return -1;
  if (strcmp(name, "uncompressed") == 0) return RB_CODEC_NONE; /* topic config spelling */
  for (int i = 0; i < (int)ARRAY_LEN(names); i++)
    if (strcmp(name, names[i]) == 0) return i;
  return -1;
}

const char *codec_name(enum rb_codec codec) {
  static const char *const names[] = {"none", "gzip", "snappy", "lz4", "zstd"};
  ASSERT(ARRAY_LEN(names) == RB_CODEC_ZSTD + 1);
  return (unsigned)codec < ARRAY_LEN(names) ? names[codec] : "unknown";
}

/* ---- gzip: deflate with the gzip wrapper (RFC 1952) ---- */

static int gzip_compress(const uint8_t *in, size_t len, struct buf *out) {
  ASSERT(len <= INT32_MAX);
  z_stream z;
  memset(&z, 0, sizeof z);
  /* windowBits 15 + 16: a gzip header and trailer rather than zlib's. */
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK)
    return KERR_UNKNOWN_SERVER_ERROR;
  size_t bound = deflateBound(&z, (uLong)len);
  size_t start = out->len;
  z.next_in = (Bytef *)(uintptr_t)in;
  z.avail_in = (uInt)len;
  z.next_out = buf_extend(out, bound);
  z.avail_out = (uInt)bound;
  int zrc = deflate(&z, Z_FINISH);
  out->len = start + (bound - z.avail_out);
  deflateEnd(&z);
  ASSERT(zrc == Z_STREAM_END || zrc == Z_OK || zrc == Z_BUF_ERROR);
  return zrc == Z_STREAM_END ? KERR_NONE : KERR_UNKNOWN_SERVER_ERROR;
}

/* ---- snappy: xerial framing out, xerial or raw in ---- */

static int snappy_compress_xerial(const uint8_t *in, size_t len, struct buf *out) {
  size_t start = out->len;
  uint8_t *h = buf_extend(out, XERIAL_HEADER_BYTES);
  memcpy(h, xerial_magic, sizeof xerial_magic);
  be32_put(h + 8, XERIAL_VERSION);
  be32_put(h + 12, XERIAL_VERSION);
  for (size_t at = 0; at < len;) {
    size_t n = len - at < XERIAL_BLOCK_BYTES ? len - at : XERIAL_BLOCK_BYTES;
    size_t got = snappy_max_compressed_length(n);
    size_t pos = out->len;
    buf_extend(out, 4 + got);
    if (snappy_compress((const char *)in + at, n, (char *)out->data + pos + 4, &got) !=
        SNAPPY_OK) {
      out->len = start;
      return KERR_UNKNOWN_SERVER_ERROR;
    }
    ASSERT(got <= INT32_MAX);
    be32_put(out->data + pos, (uint32_t)got);
    out->len = pos + 4 + got;
    at += n;
  }
  return KERR_NONE;
}

/* ---- lz4: the LZ4 frame format ---- */

static int lz4_compress(const uint8_t *in, size_t len, struct buf *out) {
  /* What Kafka's Java client writes: independent blocks of at most 64 KiB,
   * no content size, no checksums. Its reader decodes each block on its own,
   * so linked blocks would not do. */
  LZ4F_preferences_t prefs;
  memset(&prefs, 0, sizeof prefs);
  prefs.frameInfo.blockSizeID = LZ4F_max64KB;
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  size_t cap = LZ4F_compressFrameBound(len, &prefs);
  ASSERT(!LZ4F_isError(cap));
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

/* ---- zstd ---- */

static int zstd_compress(const uint8_t *in, size_t len, struct buf *out) {
  size_t cap = ZSTD_compressBound(len);
  ASSERT(cap >= len);
  size_t pos = out->len;
  buf_extend(out, cap);
  size_t got = ZSTD_compress(out->data + pos, cap, in, len, ZSTD_LEVEL);
  if (ZSTD_isError(got)) {
    out->len = pos;
    return KERR_UNKNOWN_SERVER_ERROR;
  }
  out->len = pos + got;
  return KERR_NONE;
}

/* ---- compressing in steps ---- */

struct codec_stream {
  enum rb_codec codec;
  z_stream z; /* gzip */
  ZSTD_CCtx *zstd;
  LZ4F_cctx *lz4;
  LZ4F_preferences_t lz4_prefs;
};

/* What Kafka's Java client writes: independent blocks of at most 64 KiB,
 * no content size, no checksums (see lz4_compress). */
static void lz4_prefs_init(LZ4F_preferences_t *prefs) {
  memset(prefs, 0, sizeof *prefs);
  prefs->frameInfo.blockSizeID = LZ4F_max64KB;
  prefs->frameInfo.blockMode = LZ4F_blockIndependent;
}

static void xerial_header_put(struct buf *out) {
  uint8_t *h = buf_extend(out, XERIAL_HEADER_BYTES);
  memcpy(h, xerial_magic, sizeof xerial_magic);
  be32_put(h + 8, XERIAL_VERSION);
  be32_put(h + 12, XERIAL_VERSION);
}

static int stream_open(struct codec_stream *s, size_t total_len, struct buf *out) {
  switch (s->codec) {
  case RB_CODEC_NONE:
    return KERR_NONE;
  case RB_CODEC_GZIP:
    /* windowBits 15 + 16: a gzip header and trailer rather than zlib's. */
    return deflateInit2(&s->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                        Z_DEFAULT_STRATEGY) == Z_OK
               ? KERR_NONE
               : KERR_UNKNOWN_SERVER_ERROR;
  case RB_CODEC_SNAPPY:
    xerial_header_put(out);
    return KERR_NONE;
  case RB_CODEC_LZ4: {
    if (LZ4F_isError(LZ4F_createCompressionContext(&s->lz4, LZ4F_VERSION)))
      return KERR_UNKNOWN_SERVER_ERROR;
    lz4_prefs_init(&s->lz4_prefs);
    size_t pos = out->len;
    uint8_t *dst = buf_extend(out, LZ4F_HEADER_SIZE_MAX);
    size_t got = LZ4F_compressBegin(s->lz4, dst, LZ4F_HEADER_SIZE_MAX, &s->lz4_prefs);
    out->len = LZ4F_isError(got) ? pos : pos + got;
    return LZ4F_isError(got) ? KERR_UNKNOWN_SERVER_ERROR : KERR_NONE;
  }
  case RB_CODEC_ZSTD:
    s->zstd = ZSTD_createCCtx();
    if (s->zstd == NULL ||
        ZSTD_isError(ZSTD_CCtx_setParameter(s->zstd, ZSTD_c_compressionLevel, ZSTD_LEVEL)))
      return KERR_UNKNOWN_SERVER_ERROR;
    /* Unknown: the frame leaves its content size out, as the Java client's
     * streaming writer does. */
    if (total_len != CODEC_LEN_UNKNOWN &&
        ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(s->zstd, total_len)))
      return KERR_UNKNOWN_SERVER_ERROR;
    return KERR_NONE;
  }
  return KERR_UNSUPPORTED_COMPRESSION_TYPE;
}

int codec_stream_begin(enum rb_codec codec, size_t total_len, struct buf *out,
                       struct codec_stream **stream_out) {
  if ((unsigned)codec > RB_CODEC_ZSTD) return KERR_UNSUPPORTED_COMPRESSION_TYPE;
  if (total_len != CODEC_LEN_UNKNOWN && total_len > INT32_MAX) return KERR_MESSAGE_TOO_LARGE;
  struct codec_stream *s = calloc(1, sizeof *s);
  ASSERT(s != NULL);
  s->codec = codec;
  int rc = stream_open(s, total_len, out);
  if (rc != KERR_NONE) {
    if (codec == RB_CODEC_GZIP) deflateEnd(&s->z); /* safe after a failed init too */
    codec_stream_free(s);
    return rc;
  }
  *stream_out = s;
  return KERR_NONE;
}

static int gzip_step(struct codec_stream *s, const uint8_t *in, size_t len, bool last,
                     struct buf *out) {
  ASSERT(len <= INT32_MAX);
  s->z.next_in = (Bytef *)(uintptr_t)in;
  s->z.avail_in = (uInt)len;
  /* Each round consumes input or fills its room (at least one byte). */
  size_t rounds = len + deflateBound(&s->z, (uLong)len) + 2;
  for (size_t n = 0; n < rounds; n++) {
    size_t pos = out->len;
    s->z.next_out = buf_extend(out, CHUNK_BYTES);
    s->z.avail_out = CHUNK_BYTES;
    int zrc = deflate(&s->z, last ? Z_FINISH : Z_NO_FLUSH);
    out->len = pos + (CHUNK_BYTES - s->z.avail_out);
    if (zrc == Z_STREAM_END) return KERR_NONE;
    if (zrc != Z_OK && zrc != Z_BUF_ERROR) return KERR_UNKNOWN_SERVER_ERROR;
    if (!last && s->z.avail_in == 0 && s->z.avail_out > 0) return KERR_NONE;
  }
  return KERR_UNKNOWN_SERVER_ERROR;
}

static int zstd_step(struct codec_stream *s, const uint8_t *in, size_t len, bool last,
                     struct buf *out) {
  ZSTD_inBuffer src = {in, len, 0};
  size_t room = ZSTD_CStreamOutSize();
  size_t rounds = len + ZSTD_compressBound(len) + 2;
  for (size_t n = 0; n < rounds; n++) {
    size_t pos = out->len;
    ZSTD_outBuffer o = {buf_extend(out, room), room, 0};
    size_t left = ZSTD_compressStream2(s->zstd, &o, &src, last ? ZSTD_e_end : ZSTD_e_continue);
    out->len = pos + o.pos;
    if (ZSTD_isError(left)) return KERR_UNKNOWN_SERVER_ERROR;
    if (last ? left == 0 : src.pos == src.size) return KERR_NONE;
  }
  return KERR_UNKNOWN_SERVER_ERROR;
}

static int lz4_step(struct codec_stream *s, const uint8_t *in, size_t len, bool last,
                    struct buf *out) {
  size_t cap = LZ4F_compressBound(len, &s->lz4_prefs);
  size_t pos = out->len;
  size_t got = LZ4F_compressUpdate(s->lz4, buf_extend(out, cap), cap, in, len, NULL);
  out->len = LZ4F_isError(got) ? pos : pos + got;
  if (LZ4F_isError(got)) return KERR_UNKNOWN_SERVER_ERROR;
  if (!last) return KERR_NONE;
  cap = LZ4F_compressBound(0, &s->lz4_prefs);
  pos = out->len;
  got = LZ4F_compressEnd(s->lz4, buf_extend(out, cap), cap, NULL);
  out->len = LZ4F_isError(got) ? pos : pos + got;
  return LZ4F_isError(got) ? KERR_UNKNOWN_SERVER_ERROR : KERR_NONE;
}

/* snappy-java's blocks: each piece cut into 32 KiB blocks of its own. */
static int snappy_step(const uint8_t *in, size_t len, struct buf *out) {
  for (size_t at = 0; at < len;) {
    size_t n = len - at < XERIAL_BLOCK_BYTES ? len - at : XERIAL_BLOCK_BYTES;
    size_t got = snappy_max_compressed_length(n);
    size_t pos = out->len;
    buf_extend(out, 4 + got);
    if (snappy_compress((const char *)in + at, n, (char *)out->data + pos + 4, &got) !=
        SNAPPY_OK) {
      out->len = pos;
      return KERR_UNKNOWN_SERVER_ERROR;
    }
    ASSERT(got <= INT32_MAX);
    be32_put(out->data + pos, (uint32_t)got);
    out->len = pos + 4 + got;
    at += n;
  }
  return KERR_NONE;
}

int codec_stream_step(struct codec_stream *s, const uint8_t *in, size_t len, bool last,
                      struct buf *out) {
  ASSERT(s != NULL && (in != NULL || len == 0));
  switch (s->codec) {
  case RB_CODEC_NONE:
    buf_append(out, in, len);
    return KERR_NONE;
  case RB_CODEC_GZIP:
    return gzip_step(s, in, len, last, out);
  case RB_CODEC_SNAPPY:
    return snappy_step(in, len, out);
  case RB_CODEC_LZ4:
    return lz4_step(s, in, len, last, out);
  case RB_CODEC_ZSTD:
    return zstd_step(s, in, len, last, out);
  }
  return KERR_UNSUPPORTED_COMPRESSION_TYPE;
}

void codec_stream_free(struct codec_stream *s) {
  if (s == NULL) return;
  if (s->codec == RB_CODEC_GZIP) deflateEnd(&s->z);
  if (s->zstd) ZSTD_freeCCtx(s->zstd);
  if (s->lz4) LZ4F_freeCompressionContext(s->lz4);
  free(s);
}

/* ---- inflating in steps ----
 *
 * Every decoder writes into out through a bounded room: at most the step's
 * bytes, and at most one byte past out_bytes_max in all, so that an output
 * of exactly out_bytes_max succeeds and a larger one is noticed without
 * decoding (or allocating) any further. */

struct codec_inflater {
  enum rb_codec codec;
  const uint8_t *in;
  size_t len;
  size_t at;        /* input consumed (snappy, lz4, none) */
  size_t total;     /* output produced by all steps */
  size_t bytes_max; /* out_bytes_max */
  bool xerial;      /* snappy: the xerial framing, else one raw block */
  z_stream z;       /* gzip */
  ZSTD_DCtx *zstd;
  ZSTD_inBuffer zin;
  LZ4F_dctx *lz4;
};

/* The next room for a decoder: NULL once the step is spent or the total
 * is past the bound. */
static uint8_t *room_take(struct codec_inflater *d, size_t step_left, struct buf *out,
                          size_t *room) {
  if (step_left == 0 || d->total > d->bytes_max) return NULL;
  size_t left = d->bytes_max - d->total;
  /* plus the one byte that detects "too much" */
  size_t n = left < CHUNK_BYTES ? left + 1 : CHUNK_BYTES;
  *room = n < step_left ? n : step_left;
  return buf_extend(out, *room);
}

/* Keeps the produced bytes of the last room, gives back the rest. */
static void room_keep(struct codec_inflater *d, struct buf *out, size_t room, size_t produced) {
  ASSERT(produced <= room && out->len >= room);
  out->len -= room - produced;
  d->total += produced;
}

/* Every round of a decoder consumes input or produces output (it stops on
 * no progress), so this many rounds always suffice: a loop bound that is
 * never the reason a loop ends. */
static size_t rounds_max(const struct codec_inflater *d, size_t step_bytes) {
  size_t in_max = d->len < SIZE_MAX / 4 ? d->len : SIZE_MAX / 4;
  size_t out_max = step_bytes < SIZE_MAX / 4 ? step_bytes : SIZE_MAX / 4;
  return in_max + out_max + 2;
}

static int zstd_window_log_max(size_t max_bytes) {
  int log = 0;
  while (log < ZSTD_WINDOW_LOG_MAX && ((size_t)1 << log) < max_bytes) log++;
  return log < ZSTD_WINDOW_LOG_MIN ? ZSTD_WINDOW_LOG_MIN : log;
}

static bool is_xerial(const uint8_t *in, size_t len) {
  return len >= XERIAL_HEADER_BYTES && memcmp(in, xerial_magic, sizeof xerial_magic) == 0;
}

static int inflater_open(struct codec_inflater *d) {
  switch (d->codec) {
  case RB_CODEC_NONE:
    return d->len <= d->bytes_max ? KERR_NONE : KERR_MESSAGE_TOO_LARGE;
  case RB_CODEC_GZIP:
    if (d->len > UINT32_MAX) return KERR_CORRUPT_MESSAGE;
    /* windowBits 15 + 32: accept a gzip or a zlib header. */
    if (inflateInit2(&d->z, 15 + 32) != Z_OK) return KERR_UNKNOWN_SERVER_ERROR;
    d->z.next_in = (Bytef *)(uintptr_t)d->in;
    d->z.avail_in = (uInt)d->len;
    return KERR_NONE;
  case RB_CODEC_SNAPPY:
    d->xerial = is_xerial(d->in, d->len); /* librdkafka writes a raw block */
    d->at = d->xerial ? XERIAL_HEADER_BYTES : 0;
    return KERR_NONE;
  case RB_CODEC_LZ4:
    if (LZ4F_isError(LZ4F_createDecompressionContext(&d->lz4, LZ4F_VERSION)))
      return KERR_UNKNOWN_SERVER_ERROR;
    return KERR_NONE;
  case RB_CODEC_ZSTD: {
    /* A frame that declares its size (the zstd tool and most producers do)
     * is refused on its word, before any of it is decoded. */
    unsigned long long declared = ZSTD_getFrameContentSize(d->in, d->len);
    if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != ZSTD_CONTENTSIZE_ERROR &&
        declared > d->bytes_max)
      return KERR_MESSAGE_TOO_LARGE;
    d->zstd = ZSTD_createDCtx();
    if (d->zstd == NULL) return KERR_UNKNOWN_SERVER_ERROR;
    size_t set =
        ZSTD_DCtx_setParameter(d->zstd, ZSTD_d_windowLogMax, zstd_window_log_max(d->bytes_max));
    ASSERT(!ZSTD_isError(set));
    d->zin = (ZSTD_inBuffer){d->in, d->len, 0};
    return KERR_NONE;
  }
  }
  return KERR_UNSUPPORTED_COMPRESSION_TYPE;
}

int codec_inflate_begin(enum rb_codec codec, const uint8_t *in, size_t len,
                        size_t out_bytes_max, struct codec_inflater **inflater_out) {
  ASSERT(in != NULL || len == 0);
  if ((unsigned)codec > RB_CODEC_ZSTD) return KERR_UNSUPPORTED_COMPRESSION_TYPE;
  struct codec_inflater *d = calloc(1, sizeof *d);
  ASSERT(d != NULL);
  *d =
      (struct codec_inflater){.codec = codec, .in = in, .len = len, .bytes_max = out_bytes_max};
  int rc = inflater_open(d);
  if (rc != KERR_NONE) {
    codec_inflate_free(d);
    return rc;
  }
  *inflater_out = d;
  return KERR_NONE;
}

static int none_step(struct codec_inflater *d, size_t step_bytes, struct buf *out, bool *done) {
  size_t n = d->len - d->at < step_bytes ? d->len - d->at : step_bytes;
  buf_append(out, d->in + d->at, n);
  d->at += n;
  d->total += n;
  *done = d->at == d->len;
  return KERR_NONE;
}

static int gzip_inflate_step(struct codec_inflater *d, size_t step_bytes, struct buf *out,
                             bool *done) {
  size_t produced = 0, rounds = rounds_max(d, step_bytes);
  for (size_t n = 0; n < rounds; n++) {
    size_t room;
    uint8_t *dst = room_take(d, step_bytes - produced, out, &room);
    if (dst == NULL) return KERR_NONE; /* the step is spent, or past the bound */
    d->z.next_out = dst;
    d->z.avail_out = (uInt)room;
    int zrc = inflate(&d->z, Z_NO_FLUSH);
    room_keep(d, out, room, room - d->z.avail_out);
    produced += room - d->z.avail_out;
    *done = zrc == Z_STREAM_END;
    if (zrc == Z_STREAM_END) return KERR_NONE;
    if (zrc != Z_OK) return KERR_CORRUPT_MESSAGE; /* bad data, or Z_BUF_ERROR: truncated */
  }
  return KERR_CORRUPT_MESSAGE;
}

/* One raw snappy block. Its preamble states the decoded size, so the bound
 * is checked before anything is allocated. */
static int snappy_block(struct codec_inflater *d, const uint8_t *in, size_t len,
                        struct buf *out) {
  size_t n;
  if (snappy_uncompressed_length((const char *)in, len, &n) != SNAPPY_OK)
    return KERR_CORRUPT_MESSAGE;
  if (n > d->bytes_max - d->total) return KERR_MESSAGE_TOO_LARGE; /* its own claim */
  size_t pos = out->len;
  buf_extend(out, n);
  size_t got = n;
  if (snappy_uncompress((const char *)in, len, (char *)out->data + pos, &got) != SNAPPY_OK ||
      got != n) {
    out->len = pos;
    return KERR_CORRUPT_MESSAGE;
  }
  d->total += n;
  return KERR_NONE;
}

/* Whole blocks: a xerial block is the unit (snappy-java cuts 32 KiB ones;
 * a producer's larger block is decoded in one step), a raw block is all. */
static int snappy_inflate_step(struct codec_inflater *d, size_t step_bytes, struct buf *out,
                               bool *done) {
  if (!d->xerial) {
    int rc = snappy_block(d, d->in, d->len, out);
    *done = rc == KERR_NONE;
    return rc;
  }
  size_t before = d->total;
  /* Every block takes at least its 4-byte length, which bounds the loop. */
  for (size_t i = 0; i <= d->len / 4 && d->at < d->len && d->total - before < step_bytes; i++) {
    if (d->len - d->at < 4) return KERR_CORRUPT_MESSAGE;
    size_t block = be32_get(d->in + d->at);
    if (block > d->len - d->at - 4) return KERR_CORRUPT_MESSAGE;
    int rc = snappy_block(d, d->in + d->at + 4, block, out);
    if (rc != KERR_NONE) return rc;
    d->at += 4 + block;
  }
  *done = d->at == d->len;
  return KERR_NONE;
}

/* Frames one after another, as the format allows; trailing garbage fails. */
static int lz4_inflate_step(struct codec_inflater *d, size_t step_bytes, struct buf *out,
                            bool *done) {
  size_t produced = 0, rounds = rounds_max(d, step_bytes);
  for (size_t n = 0; n < rounds; n++) {
    size_t room;
    uint8_t *dst = room_take(d, step_bytes - produced, out, &room);
    if (dst == NULL) return KERR_NONE;
    size_t dst_len = room, src_len = d->len - d->at;
    size_t hint = LZ4F_decompress(d->lz4, dst, &dst_len, d->in + d->at, &src_len, NULL);
    room_keep(d, out, room, dst_len);
    produced += dst_len;
    d->at += src_len;
    if (LZ4F_isError(hint)) return KERR_CORRUPT_MESSAGE;
    *done = hint == 0 && d->at == d->len; /* a frame ended with the input */
    if (*done) return KERR_NONE;
    if (dst_len == 0 && src_len == 0) return KERR_CORRUPT_MESSAGE; /* truncated */
  }
  return KERR_CORRUPT_MESSAGE;
}

/* Streaming, because producers may leave the content size out of the frame
 * header; frames one after another are all decoded. */
static int zstd_inflate_step(struct codec_inflater *d, size_t step_bytes, struct buf *out,
                             bool *done) {
  size_t produced = 0, rounds = rounds_max(d, step_bytes);
  for (size_t n = 0; n < rounds; n++) {
    size_t room;
    uint8_t *dst = room_take(d, step_bytes - produced, out, &room);
    if (dst == NULL) return KERR_NONE;
    ZSTD_outBuffer o = {dst, room, 0};
    size_t in_before = d->zin.pos;
    size_t hint = ZSTD_decompressStream(d->zstd, &o, &d->zin);
    room_keep(d, out, room, o.pos);
    produced += o.pos;
    if (ZSTD_isError(hint)) return KERR_CORRUPT_MESSAGE;
    *done = hint == 0 && d->zin.pos == d->zin.size; /* a frame ended with the input */
    if (*done) return KERR_NONE;
    if (o.pos == 0 && d->zin.pos == in_before) return KERR_CORRUPT_MESSAGE; /* truncated */
  }
  return KERR_CORRUPT_MESSAGE;
}

static int inflate_dispatch(struct codec_inflater *d, size_t step_bytes, struct buf *out,
                            bool *done) {
  switch (d->codec) {
  case RB_CODEC_NONE:
    return none_step(d, step_bytes, out, done);
  case RB_CODEC_GZIP:
    return gzip_inflate_step(d, step_bytes, out, done);
  case RB_CODEC_SNAPPY:
    return snappy_inflate_step(d, step_bytes, out, done);
  case RB_CODEC_LZ4:
    return lz4_inflate_step(d, step_bytes, out, done);
  case RB_CODEC_ZSTD:
    return zstd_inflate_step(d, step_bytes, out, done);
  }
  return KERR_UNSUPPORTED_COMPRESSION_TYPE;
}

int codec_inflate_step(struct codec_inflater *d, size_t step_bytes, struct buf *out,
                       bool *done) {
  ASSERT(d != NULL && step_bytes > 0 && done != NULL);
  size_t start = out->len;
  *done = false;
  int rc = inflate_dispatch(d, step_bytes, out, done);
  /* A decoder stopped at the bound: too large, not corrupt (the budget may
   * be ours, as sluice.produce.decompressed.bytes.max, not the data's). */
  if (d->total > d->bytes_max) rc = KERR_MESSAGE_TOO_LARGE;
  if (rc != KERR_NONE) {
    *done = false;
    out->len = start; /* nothing of a failed step is kept */
  }
  ASSERT(rc != KERR_NONE || d->total <= d->bytes_max);
  return rc;
}

size_t codec_inflated(const struct codec_inflater *d) { return d->total; }

void codec_inflate_free(struct codec_inflater *d) {
  if (d == NULL) return;
  if (d->codec == RB_CODEC_GZIP) inflateEnd(&d->z); /* safe after a failed init too */
  if (d->zstd) ZSTD_freeDCtx(d->zstd);
  if (d->lz4) LZ4F_freeDecompressionContext(d->lz4);
  free(d);
}

/* ---- dispatch ---- */

int codec_compress(enum rb_codec codec, const uint8_t *in, size_t len, struct buf *out) {
  ASSERT(in != NULL || len == 0);
  if (len > INT32_MAX) return KERR_MESSAGE_TOO_LARGE;
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

/* The stepwise inflater in one step as large as the bound allows. */
int codec_decompress(enum rb_codec codec, const uint8_t *in, size_t len, size_t out_bytes_max,
                     struct buf *out) {
  struct codec_inflater *d;
  int rc = codec_inflate_begin(codec, in, len, out_bytes_max, &d);
  if (rc != KERR_NONE) return rc;
  size_t start = out->len;
  bool done = false;
  size_t step = out_bytes_max < SIZE_MAX ? out_bytes_max + 1 : SIZE_MAX;
  /* One step decodes everything up to the bound but for whole snappy blocks,
   * each at least 4 bytes of input. */
  for (size_t n = 0; rc == KERR_NONE && !done && n <= len / 4 + 1; n++)
    rc = codec_inflate_step(d, step, out, &done);
  if (rc == KERR_NONE && !done) rc = KERR_CORRUPT_MESSAGE;
  if (rc != KERR_NONE) out->len = start;
  codec_inflate_free(d);
  return rc;
}
