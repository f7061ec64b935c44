/* Kafka wire primitives: big-endian integers, (unsigned) varints, strings,
 * bytes, arrays, UUIDs, tagged fields; classic and compact ("flexible")
 * forms. See the Kafka protocol guide, "Protocol Primitive Types".
 *
 * The reader never reads past its end: a short or malformed input sets a
 * sticky error and every later read returns zeroes, so a decoder checks once,
 * at the end. Decoded strings and bytes point into the input (zero copy). */
#ifndef SLUICE_WIRE_H
#define SLUICE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/endian.h"
#include "env.h"

/* A string or bytes slice; len -1 is null. */
struct kstr {
  const char *ptr;
  int32_t len;
};
struct kbytes {
  const uint8_t *ptr;
  int32_t len;
};
struct kuuid {
  uint8_t b[16];
};

/* A `records` field. Decoded: a slice of the input. To encode: bytes in
 * memory, or a range of a log segment file that the world sends directly. */
struct krecords {
  const uint8_t *ptr; /* when !is_file */
  int32_t len;        /* -1 is null */
  bool is_file;
  env_file file;
  uint64_t file_offset;
};

#define KSTR_NULL   ((struct kstr){NULL, -1})
#define KSTR_LIT(s) ((struct kstr){(s), (int32_t)(sizeof(s) - 1)})
struct kstr kstr_of(const char *cstr); /* NULL gives a null string */
bool kstr_eq(struct kstr a, const char *cstr);

struct rd {
  const uint8_t *p;
  const uint8_t *end;
  bool err;
};

static inline void rd_init(struct rd *r, const void *data, size_t len) {
  r->p = data;
  r->end = r->p + len;
  r->err = false;
}
static inline size_t rd_left(const struct rd *r) { return (size_t)(r->end - r->p); }

void rd_fail(struct rd *r);
/* The n bytes at the reader, which moves past them; NULL (and failed) when
 * fewer are left. A failed reader is at its end, so it never skips more. */
static inline const uint8_t *rd_skip(struct rd *r, size_t n) {
  /* A failed reader has nothing left: only n == 0 needs the flag, which
   * spares the fixed-width reads a test. */
  if (rd_left(r) < n || (n == 0 && r->err)) {
    rd_fail(r);
    return NULL;
  }
  const uint8_t *p = r->p;
  r->p += n;
  return p;
}

/* Inline: the decoders read millions of fixed-width fields and varints in
 * a simulated minute, and a call costs more than the read. 0 once failed. */
static inline int8_t rd_i8(struct rd *r) {
  const uint8_t *p = rd_skip(r, 1);
  return p ? (int8_t)p[0] : 0;
}
static inline bool rd_bool(struct rd *r) { return rd_i8(r) != 0; }
static inline uint16_t rd_u16(struct rd *r) {
  const uint8_t *p = rd_skip(r, 2);
  return p ? be16_get(p) : 0;
}
static inline int16_t rd_i16(struct rd *r) { return (int16_t)rd_u16(r); }
static inline uint32_t rd_u32(struct rd *r) {
  const uint8_t *p = rd_skip(r, 4);
  return p ? be32_get(p) : 0;
}
static inline int32_t rd_i32(struct rd *r) { return (int32_t)rd_u32(r); }
static inline int64_t rd_i64(struct rd *r) {
  const uint8_t *p = rd_skip(r, 8);
  return p ? (int64_t)be64_get(p) : 0;
}
/* A run of n bytes of fixed-width fields: where it starts, the reader
 * moved past it; NULL, the reader untouched, when fewer bytes are left
 * (the generated decoders then read field by field, failing where rd_
 * would). Each take returns the field at *p and moves *p past it. */
static inline const uint8_t *rd_fixed(struct rd *r, size_t n) {
  if (rd_left(r) < n) return NULL;
  const uint8_t *p = r->p;
  r->p += n;
  return p;
}
static inline int8_t take_i8(const uint8_t **p) { return (int8_t) * (*p)++; }
static inline bool take_bool(const uint8_t **p) { return take_i8(p) != 0; }
static inline uint16_t take_u16(const uint8_t **p) {
  uint16_t v = be16_get(*p);
  *p += 2;
  return v;
}
static inline int16_t take_i16(const uint8_t **p) { return (int16_t)take_u16(p); }
static inline int32_t take_i32(const uint8_t **p) {
  uint32_t v = be32_get(*p);
  *p += 4;
  return (int32_t)v;
}
static inline int64_t take_i64(const uint8_t **p) {
  uint64_t v = be64_get(*p);
  *p += 8;
  return (int64_t)v;
}
double rd_f64(struct rd *r);
struct kuuid rd_uuid(struct rd *r);
/* Varints of more than one byte, and a reader at its end or failed. */
uint32_t rd_uvarint_slow(struct rd *r);
uint64_t rd_uvarlong_slow(struct rd *r);
/* Most varints on the wire (counts, lengths, tags, deltas) are one byte. */
static inline uint32_t rd_uvarint(struct rd *r) {
  if (r->p < r->end && *r->p < 0x80) return *r->p++;
  return rd_uvarint_slow(r);
}
static inline uint64_t rd_uvarlong(struct rd *r) {
  if (r->p < r->end && *r->p < 0x80) return *r->p++;
  return rd_uvarlong_slow(r);
}
/* zigzag */
static inline int32_t rd_varint(struct rd *r) {
  uint32_t u = rd_uvarint(r);
  return (int32_t)((u >> 1) ^ (0u - (u & 1)));
}
static inline int64_t rd_varlong(struct rd *r) {
  uint64_t u = rd_uvarlong(r);
  return (int64_t)((u >> 1) ^ (0 - (u & 1)));
}
struct kstr rd_string(struct rd *r, bool compact);
struct kbytes rd_bytes(struct rd *r, bool compact);
struct krecords rd_records(struct rd *r, bool compact);
/* Array element count; -1 is a null array. Rejects counts that could not fit
 * in what is left of the input (each element takes at least min_elem_bytes). */
int32_t rd_array_len(struct rd *r, bool compact, size_t min_elem_bytes);

/* Writer: appends to a growable buffer. A records field that lives in a file
 * is not copied: the writer notes a splice point, and wr_iov() interleaves
 * the memory and the file ranges into the frame's parts. */
enum { WR_SPLICES_MAX = 4096 };
struct wr_splice {
  size_t mem_offset; /* where in mem the file range goes */
  env_file file;
  uint64_t file_offset;
  size_t len;
};
struct wr {
  struct buf mem;
  struct wr_splice *splices;
  int splice_count;
  int splice_cap;
  size_t file_bytes; /* total of the splices */
};

void wr_init(struct wr *w);
void wr_free(struct wr *w);
void wr_reset(struct wr *w);
/* Bytes of the encoded frame: memory plus spliced file ranges. */
static inline size_t wr_size(const struct wr *w) { return w->mem.len + w->file_bytes; }

/* Fixed-width fields at p, which each put returns moved past its bytes.
 * The wr_ writers below put one field; the generated encoders take room
 * for a run of consecutive fixed-width fields at once (wr_fixed) and put
 * them one after the other: one buffer check per run, not per field. */
static inline uint8_t *put_i8(uint8_t *p, int8_t v) {
  p[0] = (uint8_t)v;
  return p + 1;
}
static inline uint8_t *put_bool(uint8_t *p, bool v) { return put_i8(p, v ? 1 : 0); }
static inline uint8_t *put_u16(uint8_t *p, uint16_t v) {
  be16_put(p, v);
  return p + 2;
}
static inline uint8_t *put_i16(uint8_t *p, int16_t v) { return put_u16(p, (uint16_t)v); }
static inline uint8_t *put_u32(uint8_t *p, uint32_t v) {
  be32_put(p, v);
  return p + 4;
}
static inline uint8_t *put_i32(uint8_t *p, int32_t v) { return put_u32(p, (uint32_t)v); }
static inline uint8_t *put_i64(uint8_t *p, int64_t v) {
  be64_put(p, (uint64_t)v);
  return p + 8;
}
/* Room for n bytes of fixed-width fields, the first of them at the result. */
static inline uint8_t *wr_fixed(struct wr *w, size_t n) { return buf_extend(&w->mem, n); }

/* Inline, as the readers: a field costs a few stores, not a call. */
static inline void wr_i8(struct wr *w, int8_t v) { put_i8(wr_fixed(w, 1), v); }
static inline void wr_bool(struct wr *w, bool v) { put_bool(wr_fixed(w, 1), v); }
static inline void wr_u16(struct wr *w, uint16_t v) { put_u16(wr_fixed(w, 2), v); }
static inline void wr_i16(struct wr *w, int16_t v) { put_i16(wr_fixed(w, 2), v); }
static inline void wr_u32(struct wr *w, uint32_t v) { put_u32(wr_fixed(w, 4), v); }
static inline void wr_i32(struct wr *w, int32_t v) { put_i32(wr_fixed(w, 4), v); }
static inline void wr_i64(struct wr *w, int64_t v) { put_i64(wr_fixed(w, 8), v); }
void wr_f64(struct wr *w, double v);
void wr_uuid(struct wr *w, struct kuuid v);
/* The one varint writer, for the wire and for record batches' buffers:
 * one byte inline (most are), longer ones out of line. */
void uvarlong_put_slow(struct buf *b, uint64_t v);
static inline void uvarlong_put(struct buf *b, uint64_t v) {
  if (v < 0x80)
    *buf_extend(b, 1) = (uint8_t)v;
  else
    uvarlong_put_slow(b, v);
}
static inline void wr_uvarlong(struct wr *w, uint64_t v) { uvarlong_put(&w->mem, v); }
static inline void wr_uvarint(struct wr *w, uint32_t v) { wr_uvarlong(w, v); }
static inline void wr_varint(struct wr *w, int32_t v) {
  wr_uvarlong(w, ((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
}
static inline void wr_varlong(struct wr *w, int64_t v) {
  wr_uvarlong(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}
void wr_string(struct wr *w, struct kstr s, bool compact);
void wr_bytes(struct wr *w, struct kbytes b, bool compact);
void wr_records(struct wr *w, const struct krecords *rec, bool compact);
void wr_array_len(struct wr *w, int32_t n, bool compact); /* -1: null */
void wr_raw(struct wr *w, const void *data, size_t len);
/* Overwrite 4 bytes at an earlier position (length prefixes). */
void wr_patch_i32(struct wr *w, size_t at, int32_t v);

/* Fills iov (at most iov_max parts) with the frame's memory and file parts,
 * starting at memory offset `from` (to skip a prefix). Returns the count. */
int wr_iov(const struct wr *w, size_t from, struct env_iov *iov, int iov_max);
static inline int wr_iov_max(const struct wr *w) { return 2 * w->splice_count + 1; }

/* Sizes of varints, for record batches. */
size_t uvarint_size(uint32_t v);
size_t varint_size(int32_t v);
size_t varlong_size(int64_t v);

/* Tagged fields we do not know: skip them (KIP-482). Most structs carry
 * none: a zero count is taken inline. */
void rd_skip_tagged_fields_slow(struct rd *r);
static inline void rd_skip_tagged_fields(struct rd *r) {
  if (r->p < r->end && *r->p == 0)
    r->p++;
  else
    rd_skip_tagged_fields_slow(r);
}

#endif
