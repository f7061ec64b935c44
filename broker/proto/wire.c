#include "proto/wire.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/endian.h"

struct kstr kstr_of(const char *cstr) {
  if (!cstr) return KSTR_NULL;
  return (struct kstr){cstr, (int32_t)strlen(cstr)};
}

bool kstr_eq(struct kstr a, const char *cstr) {
  if (a.len < 0 || !cstr) return a.len < 0 && !cstr;
  size_t n = strlen(cstr);
  return (size_t)a.len == n && memcmp(a.ptr, cstr, n) == 0;
}

/* ---- reader ---- */

void rd_fail(struct rd *r) {
  r->err = true;
  r->p = r->end;
}

double rd_f64(struct rd *r) {
  uint64_t bits = (uint64_t)rd_i64(r);
  double d;
  memcpy(&d, &bits, sizeof d);
  return d;
}

struct kuuid rd_uuid(struct rd *r) {
  struct kuuid u = {{0}};
  const uint8_t *p = rd_skip(r, 16);
  if (p) memcpy(u.b, p, 16);
  return u;
}

/* Byte by byte without rd_skip: at the end (or failed, which is at the
 * end) the reader fails as rd_skip would; so does a varint longer than
 * bytes_max. A 32-bit varint keeps the low 32 bits, as its shifts did. */
static uint64_t varint_read(struct rd *r, int bytes_max) {
  const uint8_t *p = r->p;
  if (rd_left(r) >= 2 && p[0] >= 0x80 && p[1] < 0x80) { /* two bytes: most lengths */
    r->p += 2;
    return (uint64_t)(p[0] & 0x7f) | (uint64_t)p[1] << 7;
  }
  uint64_t v = 0;
  for (int shift = 0; shift < 7 * bytes_max; shift += 7) {
    if (p == r->end) break;
    uint8_t b = *p++;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      r->p = p;
      return v;
    }
  }
  rd_fail(r); /* cut short, or too long */
  return 0;
}

uint64_t rd_uvarlong_slow(struct rd *r) { return varint_read(r, 10); }

uint32_t rd_uvarint_slow(struct rd *r) { return (uint32_t)varint_read(r, 5); }

/* Length of a string/bytes field: int16/int32 classic, uvarint+1 compact. */
static int32_t rd_len(struct rd *r, bool compact, bool wide) {
  if (compact) {
    uint32_t n = rd_uvarint(r);
    if (n > (uint32_t)INT32_MAX) {
      rd_fail(r);
      return -1;
    }
    return (int32_t)n - 1;
  }
  int32_t n = wide ? rd_i32(r) : rd_i16(r);
  if (n < -1) {
    rd_fail(r);
    return -1;
  }
  return n;
}

struct kstr rd_string(struct rd *r, bool compact) {
  int32_t n = rd_len(r, compact, false);
  if (n < 0 || r->err) return KSTR_NULL;
  const uint8_t *p = rd_skip(r, (size_t)n);
  return p ? (struct kstr){(const char *)p, n} : KSTR_NULL;
}

struct kbytes rd_bytes(struct rd *r, bool compact) {
  int32_t n = rd_len(r, compact, true);
  if (n < 0 || r->err) return (struct kbytes){NULL, -1};
  const uint8_t *p = rd_skip(r, (size_t)n);
  return p ? (struct kbytes){p, n} : (struct kbytes){NULL, -1};
}

struct krecords rd_records(struct rd *r, bool compact) {
  struct kbytes b = rd_bytes(r, compact);
  return (struct krecords){.ptr = b.ptr, .len = b.len};
}

int32_t rd_array_len(struct rd *r, bool compact, size_t min_elem_bytes) {
  int32_t n;
  if (compact) {
    /* uvarint N+1, 0 for null; a count past INT32_MAX is malformed (-2). */
    uint32_t u = rd_uvarint(r);
    n = u == 0 ? -1 : u - 1 <= (uint32_t)INT32_MAX ? (int32_t)(u - 1) : -2;
  } else {
    n = rd_i32(r);
  }
  if (r->err) return 0;
  if (n < -1) {
    rd_fail(r);
    return 0;
  }
  if (n > 0 && (size_t)n > rd_left(r) / (min_elem_bytes ? min_elem_bytes : 1)) {
    rd_fail(r);
    return 0;
  }
  return n;
}

void rd_skip_tagged_fields_slow(struct rd *r) {
  uint32_t count = rd_uvarint(r);
  for (uint32_t i = 0; i < count && !r->err; i++) {
    (void)rd_uvarint(r); /* tag */
    uint32_t size = rd_uvarint(r);
    rd_skip(r, size);
  }
}

/* ---- writer ---- */

void wr_init(struct wr *w) {
  memset(w, 0, sizeof *w);
  buf_init(&w->mem);
}

void wr_free(struct wr *w) {
  buf_free(&w->mem);
  free(w->splices);
  memset(w, 0, sizeof *w);
}

void wr_reset(struct wr *w) {
  buf_reset(&w->mem);
  w->splice_count = 0;
  w->file_bytes = 0;
}

void wr_f64(struct wr *w, double v) {
  uint64_t bits;
  memcpy(&bits, &v, sizeof bits);
  wr_i64(w, (int64_t)bits);
}

void wr_uuid(struct wr *w, struct kuuid v) { buf_append(&w->mem, v.b, 16); }

/* Written in place, no copy: sized first so the buffer grows as before. */
void uvarlong_put_slow(struct buf *b, uint64_t v) {
  if (v >= 0x80 && v < 0x4000) { /* two bytes: most lengths of records and values */
    uint8_t *p = buf_extend(b, 2);
    p[0] = (uint8_t)(v | 0x80);
    p[1] = (uint8_t)(v >> 7);
    return;
  }
  size_t n = 1;
  for (uint64_t u = v; u >= 0x80; u >>= 7) n++;
  ASSERT(n <= 10);
  uint8_t *p = buf_extend(b, n);
  for (size_t i = 0; i + 1 < n; i++, v >>= 7) p[i] = (uint8_t)(v | 0x80);
  p[n - 1] = (uint8_t)v;
}

static void wr_len(struct wr *w, int32_t n, bool compact, bool wide) {
  if (compact)
    wr_uvarint(w, (uint32_t)(n + 1));
  else if (wide)
    wr_i32(w, n);
  else
    wr_i16(w, (int16_t)n);
}

void wr_string(struct wr *w, struct kstr s, bool compact) {
  ASSERT(s.len <= INT16_MAX || compact);
  wr_len(w, s.len, compact, false);
  if (s.len > 0) buf_append(&w->mem, s.ptr, (size_t)s.len);
}

void wr_bytes(struct wr *w, struct kbytes b, bool compact) {
  wr_len(w, b.len, compact, true);
  if (b.len > 0) buf_append(&w->mem, b.ptr, (size_t)b.len);
}

void wr_records(struct wr *w, const struct krecords *rec, bool compact) {
  wr_len(w, rec->len, compact, true);
  if (rec->len <= 0) return;
  if (!rec->is_file) {
    buf_append(&w->mem, rec->ptr, (size_t)rec->len);
    return;
  }
  ASSERT(w->splice_count < WR_SPLICES_MAX);
  if (w->splice_count == w->splice_cap) {
    int cap = w->splice_cap ? w->splice_cap * 2 : 8;
    struct wr_splice *s = realloc(w->splices, (size_t)cap * sizeof *s);
    ASSERT(s != NULL);
    w->splices = s;
    w->splice_cap = cap;
  }
  w->splices[w->splice_count++] = (struct wr_splice){
      .mem_offset = w->mem.len,
      .file = rec->file,
      .file_offset = rec->file_offset,
      .len = (size_t)rec->len,
  };
  w->file_bytes += (size_t)rec->len;
}

void wr_array_len(struct wr *w, int32_t n, bool compact) {
  if (compact)
    wr_uvarint(w, (uint32_t)(n + 1));
  else
    wr_i32(w, n);
}

void wr_raw(struct wr *w, const void *data, size_t len) { buf_append(&w->mem, data, len); }

void wr_patch_i32(struct wr *w, size_t at, int32_t v) {
  ASSERT(at + 4 <= w->mem.len);
  be32_put(w->mem.data + at, (uint32_t)v);
}

int wr_iov(const struct wr *w, size_t from, struct env_iov *iov, int iov_max) {
  int n = 0;
  size_t at = from;
  for (int i = 0; i < w->splice_count; i++) {
    const struct wr_splice *s = &w->splices[i];
    ASSERT(s->mem_offset >= at);
    if (s->mem_offset > at) {
      ASSERT(n < iov_max);
      iov[n++] = (struct env_iov){
          .kind = ENV_IOV_MEM, .base = w->mem.data + at, .len = s->mem_offset - at};
    }
    ASSERT(n < iov_max);
    iov[n++] = (struct env_iov){
        .kind = ENV_IOV_FILE, .file = s->file, .offset = s->file_offset, .len = s->len};
    at = s->mem_offset;
  }
  if (w->mem.len > at) {
    ASSERT(n < iov_max);
    iov[n++] =
        (struct env_iov){.kind = ENV_IOV_MEM, .base = w->mem.data + at, .len = w->mem.len - at};
  }
  return n;
}

size_t uvarint_size(uint32_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

size_t varint_size(int32_t v) { return uvarint_size(((uint32_t)v << 1) ^ (uint32_t)(v >> 31)); }

size_t varlong_size(int64_t v) {
  uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
  size_t n = 1;
  while (u >= 0x80) {
    u >>= 7;
    n++;
  }
  return n;
}
