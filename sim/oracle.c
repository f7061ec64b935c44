/* The checkers' reading of a partition's files (sim/oracle.h). Written
 * apart from broker/log on purpose: a recovery bug must not be copied into
 * the allowance it is judged by. Only CRC-32C and the byte order helpers are
 * shared. */
#include "sim/oracle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/crc32c.h"
#include "base/endian.h"
#include "sim/world.h"

enum {
  HEADER_BYTES = 61,     /* a magic 2 batch header, through the record count */
  LENGTH_FIELD_END = 12, /* base offset and length: not counted in the length */
  CRC_FROM = 21,         /* the CRC covers the attributes to the end */
  NAME_DIGITS = 20,
  SEGMENTS_MAX = 1 << 16,
};

struct segments {
  int64_t *bases;
  int count, cap;
  int64_t *marks; /* pending cuts: base, cut, base, cut... */
  int mark_count, mark_cap;
};

static bool digits_at(const char *p, int64_t *out) {
  int64_t v = 0;
  for (int i = 0; i < NAME_DIGITS; i++) {
    if (p[i] < '0' || p[i] > '9' || v > (INT64_MAX - 9) / 10) return false;
    v = v * 10 + (p[i] - '0');
  }
  *out = v;
  return true;
}

static void push(int64_t **arr, int *count, int *cap, int64_t v) {
  if (*count == *cap) {
    *cap = *cap ? *cap * 2 : 16;
    *arr = realloc(*arr, (size_t)*cap * sizeof **arr);
    ASSERT(*arr != NULL);
  }
  (*arr)[(*count)++] = v;
}

/* "<20 digits>.log" exactly, or a pending cut's marker,
 * "<20 digits>.log.<20 digits>.truncating". */
static void keep_log(void *ctx, const char *name, bool is_dir) {
  static const char middle[] = ".log.", tail[] = ".truncating";
  struct segments *s = ctx;
  size_t len = strlen(name), m = sizeof middle - 1;
  int64_t base, cut;
  if (is_dir || len < NAME_DIGITS || !digits_at(name, &base)) return;
  if (len == 2 * NAME_DIGITS + m + sizeof tail - 1 &&
      strncmp(name + NAME_DIGITS, middle, m) == 0 &&
      strcmp(name + 2 * NAME_DIGITS + m, tail) == 0 &&
      digits_at(name + NAME_DIGITS + m, &cut) && cut >= base &&
      s->mark_count < 2 * SEGMENTS_MAX) {
    push(&s->marks, &s->mark_count, &s->mark_cap, base);
    push(&s->marks, &s->mark_count, &s->mark_cap, cut);
    return;
  }
  if (len != NAME_DIGITS + 4 || strcmp(name + NAME_DIGITS, ".log") != 0) return;
  if (s->count == SEGMENTS_MAX) return;
  push(&s->bases, &s->count, &s->cap, base);
}

/* The lowest pending cut of the segment at base, or -1. */
static int64_t mark_of(const struct segments *s, int64_t base) {
  int64_t lowest = -1;
  for (int i = 0; i + 1 < s->mark_count; i += 2)
    if (s->marks[i] == base && (lowest < 0 || s->marks[i + 1] < lowest))
      lowest = s->marks[i + 1];
  return lowest;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* One segment file's page cache, looked up once (sim_disk_view) instead of
 * once per batch header, CRC chunk and flip query: nothing changes the disk
 * while the oracle reads it. Whether any flip lies in the file at all, so
 * the per-batch queries run only on a file that has one. */
struct seg_file {
  const char *path;
  const uint8_t *data;
  uint64_t size;
  bool rest_flips, read_flips;
};

static void seg_file_open(struct sim_node *n, const char *path, bool read_flips,
                          struct seg_file *f) {
  *f = (struct seg_file){.path = path};
  if (!sim_disk_view(n, path, &f->data, &f->size)) f->size = 0; /* no such file */
  f->rest_flips = sim_disk_rest_flip_in(n, path, 0, UINT64_MAX);
  f->read_flips = read_flips && sim_disk_read_flip_in(n, path, 0, UINT64_MAX);
}

static bool rest_flip_in(struct sim_node *n, const struct seg_file *f, uint64_t lo,
                         uint64_t hi) {
  return f->rest_flips && sim_disk_rest_flip_in(n, f->path, lo, hi);
}

static bool read_flip_in(struct sim_node *n, const struct seg_file *f, uint64_t lo,
                         uint64_t hi) {
  return f->read_flips && sim_disk_read_flip_in(n, f->path, lo, hi);
}

struct batch {
  int64_t base, last;
  int32_t last_delta;
  uint64_t bytes;
  bool header; /* the header was read: base and last are known */
};

/* Checks the batch at pos of one segment; NULL if it is valid, else why. */
static const char *check_batch(struct sim_node *n, const struct seg_file *f, uint64_t pos,
                               int64_t segment_base, int64_t next, int64_t limit,
                               struct batch *b) {
  uint64_t size = f->size;
  *b = (struct batch){.bytes = size - pos};
  if (size - pos < HEADER_BYTES) return "torn";
  const uint8_t *h = f->data + pos;
  int32_t length = (int32_t)be32_get(h + 8);
  int32_t last_delta = (int32_t)be32_get(h + 23);
  b->base = (int64_t)be64_get(h);
  if (length < HEADER_BYTES - LENGTH_FIELD_END) return "malformed";
  if (h[16] != 2) return "malformed";
  if (last_delta < 0 || b->base < 0 || b->base > INT64_MAX - last_delta) return "malformed";
  b->last = b->base + last_delta;
  b->last_delta = last_delta;
  b->header = true;
  uint64_t bytes = (uint64_t)LENGTH_FIELD_END + (uint64_t)length;
  if (bytes > size - pos) return "torn";
  b->bytes = bytes;
  if (b->base < next || b->last >= limit || b->last - segment_base > INT32_MAX ||
      pos + bytes > INT32_MAX)
    return "out of order";
  if (crc32c(h + CRC_FROM, bytes - CRC_FROM) != be32_get(h + 17)) return "CRC mismatch";
  if (rest_flip_in(n, f, pos, pos + bytes)) return "bit flipped";
  if (read_flip_in(n, f, pos, pos + bytes)) return "read fault pending";
  return NULL;
}

/* The log ends at next: a marker of a pending cut says so (a truncation,
 * or recovery's own cut, not yet made durable by an fsync). */
static void cut_at_mark(struct oracle_log *out, int64_t next) {
  out->cut = true;
  out->why = "a pending cut's marker";
  out->cut_last = next;
}

void oracle_scan(struct sim_node *n, const char *dir, bool read_flips, struct oracle_log *out) {
  *out = (struct oracle_log){.start = -1, .end = 0};
  struct env *env = sim_node_env(n);
  struct segments segs = {0};
  if (env->list(env, dir, keep_log, &segs) != 0 || segs.count == 0) {
    free(segs.bases);
    free(segs.marks);
    return;
  }
  qsort(segs.bases, (size_t)segs.count, sizeof *segs.bases, cmp_i64);
  out->start = segs.bases[0];
  for (int i = 0; i < segs.count && !out->cut; i++) {
    char path[600];
    snprintf(path, sizeof path, "%s/%020lld.log", dir, (long long)segs.bases[i]);
    int64_t limit = i + 1 < segs.count ? segs.bases[i + 1] : INT64_MAX;
    int64_t mark = mark_of(&segs, segs.bases[i]);
    if (mark >= 0 && mark < limit) limit = mark;
    struct seg_file f;
    seg_file_open(n, path, read_flips, &f);
    int64_t next = segs.bases[i];
    for (uint64_t pos = 0; pos < f.size;) {
      if (mark >= 0 && next >= mark) {
        cut_at_mark(out, next);
        break;
      }
      struct batch b;
      const char *why = check_batch(n, &f, pos, segs.bases[i], next, limit, &b);
      if (why) {
        out->cut = true;
        out->why = why;
        out->flipped =
            rest_flip_in(n, &f, pos, pos + b.bytes) || read_flip_in(n, &f, pos, pos + b.bytes);
        /* Offsets are contiguous, so the batch began at next (its own base
         * field may be what was flipped). */
        out->cut_last =
            b.header && next <= INT64_MAX - b.last_delta ? next + b.last_delta : next;
        break;
      }
      next = b.last + 1;
      pos += b.bytes;
    }
    out->end = next;
    if (mark >= 0) {
      /* Recovery cuts there and drops every later segment. */
      if (!out->cut && i + 1 < segs.count) cut_at_mark(out, next);
      break;
    }
    if (!out->cut && i + 1 < segs.count && next < segs.bases[i + 1]) {
      /* The segment lost its tail but a later one kept bytes: a hole, and
       * the log ends there (offsets are contiguous). */
      out->cut = true;
      out->why = "hole before the next segment";
      out->cut_last = next;
    }
  }
  free(segs.bases);
  free(segs.marks);
}

/* The flipped batches of one segment, from the next offset expected; false
 * once the framing is lost. */
static bool segment_flips(struct sim_node *n, const char *path, int64_t *next,
                          struct oracle_flip *out, int max, int *count) {
  struct seg_file f;
  seg_file_open(n, path, false, &f);
  uint64_t size = f.size;
  for (uint64_t pos = 0; pos < size;) {
    const uint8_t *h = f.data + pos;
    bool framed = size - pos >= HEADER_BYTES;
    int32_t length = framed ? (int32_t)be32_get(h + 8) : 0;
    int32_t last_delta = framed ? (int32_t)be32_get(h + 23) : 0;
    /* The batch's own base offset, unless that is where the bit flipped
     * (then the one the previous batch leads to). */
    int64_t base = framed && !rest_flip_in(n, &f, pos, pos + 8) ? (int64_t)be64_get(h) : *next;
    framed = framed && length >= HEADER_BYTES - LENGTH_FIELD_END && last_delta >= 0 &&
             base >= *next && base < INT64_MAX - last_delta &&
             (uint64_t)LENGTH_FIELD_END + (uint64_t)length <= size - pos;
    uint64_t bytes = framed ? (uint64_t)LENGTH_FIELD_END + (uint64_t)length : size - pos;
    if (rest_flip_in(n, &f, pos, pos + bytes) && *count < max)
      out[(*count)++] = (struct oracle_flip){base, framed ? base + last_delta : base};
    if (!framed) return false;
    *next = base + last_delta + 1;
    pos += bytes;
  }
  return true;
}

int oracle_rest_flips(struct sim_node *n, const char *dir, struct oracle_flip *out, int max) {
  ASSERT(max >= 0);
  struct env *env = sim_node_env(n);
  struct segments segs = {0};
  int count = 0;
  if (env->list(env, dir, keep_log, &segs) == 0 && segs.count > 0) {
    qsort(segs.bases, (size_t)segs.count, sizeof *segs.bases, cmp_i64);
    for (int i = 0; i < segs.count; i++) {
      char path[600];
      snprintf(path, sizeof path, "%s/%020lld.log", dir, (long long)segs.bases[i]);
      int64_t next = segs.bases[i];
      if (!segment_flips(n, path, &next, out, max, &count)) break;
    }
  }
  free(segs.bases);
  free(segs.marks);
  return count;
}
