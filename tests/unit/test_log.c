/* broker/log/ against the real world (os/): real files in a mkdtemp dir,
 * fsync completions delivered by the loop; and on the simulated disk where
 * a power loss matters. Test batches are built by hand: the 61-byte header
 * plus simple records, with a correct CRC-32C. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/crc32c.h"
#include "log/checkpoint.h"
#include "log/log.h"
#include "os/world.h"
#include "proto/batch_format.h"
#include "sim/world.h"
#include "testing.h"

enum { BATCH_BYTES_MAX = 64 * 1024, LOOP_ROUNDS_MAX = 1000 };

static struct os_world *world;
static struct env *env;
static char root[64];
static char dir[128];

/* ---- fixture ---- */

static void rm_rf(const char *path) {
  struct stat st;
  if (lstat(path, &st) != 0) return;
  if (S_ISDIR(st.st_mode)) {
    DIR *d = opendir(path);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
      if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
      char child[512];
      snprintf(child, sizeof child, "%s/%s", path, de->d_name);
      rm_rf(child);
    }
    if (d) closedir(d);
    rmdir(path);
  } else {
    unlink(path);
  }
}

static void setup(void) {
  world = os_world_create(1);
  env = os_world_env(world);
  os_world_set_log_level(world, ENV_LOG_WARN);
  snprintf(root, sizeof root, "/tmp/sluice-test-log-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(root));
  snprintf(dir, sizeof dir, "%s/t-0", root);
}

static void run_a_while(void);

static void teardown(void) {
  /* Writes still in flight (the epoch checkpoint) finish before the world,
   * which drops undelivered completions, goes. */
  run_a_while();
  os_world_destroy(world);
  rm_rf(root);
}

/* Lets the loop deliver completions until *flag (bounded). */
static void run_until(const bool *flag) {
  for (int i = 0; i < LOOP_ROUNDS_MAX && !*flag; i++) os_world_run_once(world, 10);
  ck_assert(*flag);
}

/* fsyncs finish on the world's I/O thread: after a few rounds, go on while
 * any completion is still to come (bounded). */
static void run_a_while(void) {
  for (int i = 0; i < 20; i++) os_world_run_once(world, 0);
  for (int i = 0; i < LOOP_ROUNDS_MAX && os_world_completions_pending(world) > 0; i++)
    os_world_run_once(world, 10);
}

static struct log_config cfg_default(void) {
  return (struct log_config){
      .segment_bytes = 1 << 20,
      .roll_ms = 7LL * 24 * 3600 * 1000,
      .retention_ms = -1,
      .retention_bytes = -1,
      .index_interval_bytes = 4096,
      .index_bytes_max = 10 << 20,
  };
}

static struct plog *open_log(const struct log_config *cfg, int64_t recovery_point,
                             int64_t start_offset) {
  struct plog *log = NULL;
  ck_assert_int_eq(plog_open(env, dir, cfg, recovery_point, start_offset, &log), 0);
  ck_assert_ptr_nonnull(log);
  return log;
}

/* ---- batches ---- */

static size_t put_varint(uint8_t *p, int64_t v) {
  uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
  size_t n = 0;
  while (z >= 0x80) {
    p[n++] = (uint8_t)(z | 0x80);
    z >>= 7;
  }
  p[n++] = (uint8_t)z;
  return n;
}

static void put_be(uint8_t *p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++) p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
}

static uint64_t get_be(const uint8_t *p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; i++) v = v << 8 | p[i];
  return v;
}

/* `records` records with value_len-byte values; timestamps base_ts + i. */
static size_t make_batch(uint8_t *out, int records, size_t value_len, int64_t base_ts) {
  size_t at = RB_HEADER_BYTES;
  for (int i = 0; i < records; i++) {
    uint8_t body[BATCH_BYTES_MAX / 4];
    size_t n = 0;
    body[n++] = 0;                 /* attributes */
    n += put_varint(body + n, i);  /* timestamp delta */
    n += put_varint(body + n, i);  /* offset delta */
    n += put_varint(body + n, -1); /* no key */
    n += put_varint(body + n, (int64_t)value_len);
    for (size_t k = 0; k < value_len; k++) body[n++] = (uint8_t)('a' + (k + (size_t)i) % 26);
    n += put_varint(body + n, 0); /* no headers */
    at += put_varint(out + at, (int64_t)n);
    memcpy(out + at, body, n);
    at += n;
  }
  ck_assert_uint_lt(at, BATCH_BYTES_MAX);
  put_be(out + RB_OFF_BASE_OFFSET, 0, 8);
  put_be(out + RB_OFF_LENGTH, at - RB_LOG_OVERHEAD, 4);
  put_be(out + RB_OFF_LEADER_EPOCH, (uint64_t)-1, 4);
  out[RB_OFF_MAGIC] = 2;
  put_be(out + RB_OFF_ATTRIBUTES, 0, 2);
  put_be(out + RB_OFF_LAST_OFFSET_DELTA, (uint64_t)(records - 1), 4);
  put_be(out + RB_OFF_BASE_TIMESTAMP, (uint64_t)base_ts, 8);
  put_be(out + RB_OFF_MAX_TIMESTAMP, (uint64_t)(base_ts + records - 1), 8);
  put_be(out + RB_OFF_PRODUCER_ID, (uint64_t)-1, 8);
  put_be(out + RB_OFF_PRODUCER_EPOCH, (uint64_t)-1, 2);
  put_be(out + RB_OFF_BASE_SEQUENCE, (uint64_t)-1, 4);
  put_be(out + RB_OFF_RECORD_COUNT, (uint64_t)records, 4);
  put_be(out + RB_OFF_CRC, crc32c(out + RB_OFF_ATTRIBUTES, at - RB_OFF_ATTRIBUTES), 4);
  return at;
}

/* What the tests remember of each append. */
struct kept {
  int64_t base;
  int64_t last;
  int64_t max_ts;
  size_t len;
  uint8_t *bytes; /* as written, offsets patched */
};

struct history {
  struct kept b[512];
  int n;
};

/* Forgets batches n and later (the log lost them). */
static void history_cut(struct history *h, int n) {
  for (int i = n; i < h->n; i++) free(h->b[i].bytes);
  if (n < h->n) h->n = n;
}

static void history_free(struct history *h) { history_cut(h, 0); }

static int64_t append(struct plog *log, struct history *h, int records, size_t value_len,
                      int64_t ts, int32_t epoch) {
  uint8_t buf[BATCH_BYTES_MAX];
  size_t len = make_batch(buf, records, value_len, ts);
  struct plog_append_info info;
  int64_t end = plog_end_offset(log);
  ck_assert_int_eq(plog_append(log, buf, len, epoch, ts, &info), 0);
  ck_assert_int_eq(info.base_offset, end);
  ck_assert_int_eq(info.last_offset, end + records - 1);
  ck_assert_int_eq(info.max_timestamp, ts + records - 1);
  ck_assert_int_eq((int64_t)get_be(buf, 8), end);
  ck_assert_int_eq((int32_t)get_be(buf + RB_OFF_LEADER_EPOCH, 4), epoch);
  if (h) {
    ck_assert_int_lt(h->n, (int)(sizeof h->b / sizeof h->b[0]));
    struct kept *k = &h->b[h->n++];
    k->base = info.base_offset;
    k->last = info.last_offset;
    k->max_ts = info.max_timestamp;
    k->len = len;
    k->bytes = malloc(len);
    memcpy(k->bytes, buf, len);
  }
  return info.base_offset;
}

static uint8_t *read_range(const struct plog_read_result *r) {
  uint8_t *buf = malloc(r->len ? r->len : 1);
  ck_assert_int_eq(env->pread(env, r->file, buf, r->len, r->file_offset), (int64_t)r->len);
  return buf;
}

/* The batch holding offset reads back byte for byte. */
static void check_read_at(struct plog *log, const struct history *h, int64_t offset) {
  int i = 0;
  while (i < h->n && h->b[i].last < offset) i++;
  ck_assert_int_lt(i, h->n);
  struct plog_read_result r;
  ck_assert_int_eq(plog_read(log, offset, 1, true, INT64_MAX, &r), 0);
  ck_assert_int_eq(r.first_offset, h->b[i].base);
  ck_assert_uint_eq(r.len, h->b[i].len);
  uint8_t *got = read_range(&r);
  ck_assert_mem_eq(got, h->b[i].bytes, r.len);
  free(got);
}

/* Every offset of the first n batches. */
static void check_first(struct plog *log, const struct history *h, int n) {
  ck_assert_int_le(n, h->n);
  for (int i = 0; i < n; i++)
    for (int64_t o = h->b[i].base; o <= h->b[i].last; o++) check_read_at(log, h, o);
}

static void check_all(struct plog *log, const struct history *h) { check_first(log, h, h->n); }

static void seg_path(char *out, size_t cap, int64_t base, const char *suffix) {
  snprintf(out, cap, "%s/%020lld%s", dir, (long long)base, suffix);
}

static bool exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

static off_t file_size(const char *path) {
  struct stat st;
  ck_assert_int_eq(stat(path, &st), 0);
  return st.st_size;
}

static uint8_t *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = malloc((size_t)n + 1);
  ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  buf[n] = 0;
  *len = (size_t)n;
  return buf;
}

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
}

static void flip_byte(const char *path, off_t pos) {
  int fd = open(path, O_RDWR);
  ck_assert_int_ge(fd, 0);
  uint8_t b;
  ck_assert_int_eq(pread(fd, &b, 1, pos), 1);
  b ^= 0x5a;
  ck_assert_int_eq(pwrite(fd, &b, 1, pos), 1);
  close(fd);
}

/* Byte position of batch i in its (first) segment file, for one segment. */
static off_t position_of(const struct history *h, int i) {
  off_t pos = 0;
  for (int k = 0; k < i; k++) pos += (off_t)h->b[k].len;
  return pos;
}

/* ---- appends and reads ---- */

START_TEST(append_read_round_trip) {
  struct log_config cfg = cfg_default();
  cfg.segment_bytes = 16 * 1024;
  cfg.index_interval_bytes = 256;
  struct plog *log = open_log(&cfg, 0, 0);
  struct history h = {0};
  for (int i = 0; i < 200; i++)
    append(log, &h, 1 + i % 5, (size_t)(i * 37) % 500 + 1, 1000 + i, 0);
  ck_assert_int_eq(plog_end_offset(log), h.b[h.n - 1].last + 1);
  ck_assert_int_gt(plog_segment_count(log), 3);
  check_all(log, &h);
  /* Reading everything in large pieces gives back the whole log in order. */
  int64_t offset = 0;
  int next = 0;
  for (int rounds = 0; offset < plog_end_offset(log) && rounds < 1000; rounds++) {
    struct plog_read_result r;
    ck_assert_int_eq(plog_read(log, offset, 5000, true, INT64_MAX, &r), 0);
    ck_assert_uint_gt(r.len, 0);
    uint8_t *got = read_range(&r);
    for (size_t at = 0; at < r.len; next++) {
      ck_assert_int_lt(next, h.n);
      ck_assert_mem_eq(got + at, h.b[next].bytes, h.b[next].len);
      at += h.b[next].len;
      offset = h.b[next].last + 1;
    }
    free(got);
  }
  ck_assert_int_eq(next, h.n);
  uint64_t total = 0;
  for (int i = 0; i < h.n; i++) total += h.b[i].len;
  ck_assert_uint_eq(plog_size_bytes(log), total);
  plog_close(log);
  history_free(&h);
}
END_TEST

START_TEST(large_and_small_batches) {
  struct log_config cfg = cfg_default();
  cfg.index_interval_bytes = 10000;
  struct plog *log = open_log(&cfg, 0, 0);
  struct history h = {0};
  for (int i = 0; i < 40; i++) append(log, &h, 1 + i % 3, i % 4 == 0 ? 9000 : 30, i, 0);
  check_all(log, &h);
  struct plog_read_result r;
  ck_assert_int_eq(plog_read(log, 5, 100 * 1000, true, INT64_MAX, &r), 0);
  size_t want = 0;
  int i = 0;
  while (h.b[i].last < 5) i++;
  for (; i < h.n && want + h.b[i].len <= 100 * 1000; i++) want += h.b[i].len;
  ck_assert_uint_eq(r.len, want);
  plog_close(log);
  log = open_log(&cfg, 0, 0);
  check_all(log, &h);
  plog_close(log);
  history_free(&h);
}
END_TEST

START_TEST(read_limits) {
  struct log_config cfg = cfg_default();
  struct plog *log = open_log(&cfg, 0, 0);
  struct history h = {0};
  for (int i = 0; i < 10; i++) append(log, &h, 5, 20, 100 * i, 0);
  size_t s = h.b[0].len;
  struct plog_read_result r;
  /* The middle of a batch returns the batch. */
  ck_assert_int_eq(plog_read(log, 13, 1 << 20, true, INT64_MAX, &r), 0);
  ck_assert_int_eq(r.first_offset, 10);
  ck_assert_uint_eq(r.len, 8 * s);
  /* bytes_max counts whole batches. */
  ck_assert_int_eq(plog_read(log, 0, 2 * s + s / 2, true, INT64_MAX, &r), 0);
  ck_assert_uint_eq(r.len, 2 * s);
  /* KIP-74: the first batch even when larger than bytes_max, if allowed. */
  ck_assert_int_eq(plog_read(log, 7, 10, true, INT64_MAX, &r), 0);
  ck_assert_int_eq(r.first_offset, 5);
  ck_assert_uint_eq(r.len, s);
  ck_assert_int_eq(plog_read(log, 7, 10, false, INT64_MAX, &r), 0);
  ck_assert_uint_eq(r.len, 0);
  /* max_offset: only batches wholly below it. */
  ck_assert_int_eq(plog_read(log, 0, 1 << 20, true, 20, &r), 0);
  ck_assert_uint_eq(r.len, 4 * s);
  ck_assert_int_eq(plog_read(log, 0, 1 << 20, true, 22, &r), 0);
  ck_assert_uint_eq(r.len, 4 * s);
  ck_assert_int_eq(plog_read(log, 20, 1 << 20, true, 20, &r), 0);
  ck_assert_uint_eq(r.len, 0);
  /* Out of range, and the end. */
  ck_assert_int_eq(plog_read(log, 51, 100, true, INT64_MAX, &r), -1);
  ck_assert_int_eq(plog_read(log, -1, 100, true, INT64_MAX, &r), -1);
  ck_assert_int_eq(plog_read(log, 50, 100, true, INT64_MAX, &r), 0);
  ck_assert_uint_eq(r.len, 0);
  ck_assert_int_eq(r.first_offset, 50);
  ck_assert_int_eq(plog_set_start_offset(log, 12), 0);
  ck_assert_int_eq(plog_read(log, 11, 100, true, INT64_MAX, &r), -1);
  ck_assert_int_eq(plog_read(log, 12, 100, true, INT64_MAX, &r), 0);
  ck_assert_int_eq(r.first_offset, 10);
  ck_assert_int_eq(plog_set_start_offset(log, 51), -1);
  plog_close(log);
  history_free(&h);
}
END_TEST

START_TEST(append_rejects_bad_input) {
  struct log_config cfg = cfg_default();
  cfg.segment_bytes = 4096;
  struct plog *log = open_log(&cfg, 0, 0);
  uint8_t buf[BATCH_BYTES_MAX];
  struct plog_append_info info;
  size_t len = make_batch(buf, 1, 10, 0);
  ck_assert_int_eq(plog_append(log, buf, len - 1, 0, 0, &info), ENV_EINVAL); /* short */
  ck_assert_int_eq(plog_append(log, buf, 30, 0, 0, &info), ENV_EINVAL);
  buf[RB_OFF_MAGIC] = 1;
  ck_assert_int_eq(plog_append(log, buf, len, 0, 0, &info), ENV_EINVAL);
  len = make_batch(buf, 1, 5000, 0); /* larger than segment.bytes */
  ck_assert_int_eq(plog_append(log, buf, len, 0, 0, &info), ENV_EINVAL);
  ck_assert_int_eq(plog_end_offset(log), 0);
  /* Several batches in one append. */
  size_t a = make_batch(buf, 2, 10, 0);
  size_t b = make_batch(buf + a, 3, 10, 5);
  ck_assert_int_eq(plog_append(log, buf, a + b, 4, 0, &info), 0);
  ck_assert_int_eq(info.base_offset, 0);
  ck_assert_int_eq(info.last_offset, 4);
  ck_assert_int_eq(get_be(buf + a, 8), 2);
  struct plog_read_result r;
  ck_assert_int_eq(plog_read(log, 3, 1000, true, INT64_MAX, &r), 0);
  ck_assert_int_eq(r.first_offset, 2);
  ck_assert_uint_eq(r.len, b);
  plog_close(log);
}
END_TEST

/* ---- segments and indexes ---- */

START_TEST(roll_by_size) {
  struct log_config cfg = cfg_default();
  cfg.segment_bytes = 1000;
  struct plog *log = open_log(&cfg, 0, 0);
  struct history h = {0};
  for (int i = 0; i < 20; i++) append(log, &h, 1, 100, i, 0);
  int per = (int)(1000 / h.b[0].len);
  ck_assert_int_eq(plog_segment_count(log), (20 + per - 1) / per);
  char path[256];
  for (int i = 0; i < 20; i += per) {
    seg_path(path, sizeof path, i, ".log");
    ck_assert(exists(path));
    ck_assert_int_eq(file_size(path),
                     i + per <= 20 ? per * (off_t)h.b[0].len : (20 - i) * (off_t)h.b[0].len);
    seg_path(path, sizeof path, i, ".index");
    ck_assert(exists(path));
    seg_path(path, sizeof path, i, ".timeindex");
    ck_assert(exists(path));
  }
  check_all(log, &h);
  /* A read stays inside one segment. */
  struct plog_read_result r;
  ck_assert_int_eq(plog_read(log, 1, 1 << 20, true, INT64_MAX, &r), 0);
  ck_assert_uint_eq(r.len, (size_t)(per - 1) * h.b[0].len);
  plog_close(log);
  history_free(&h);
}
END_TEST

START_TEST(roll_by_time) {
  struct log_config cfg = cfg_default();
  cfg.roll_ms = 1000;
  struct plog *log = open_log(&cfg, 0, 0);
  append(log, NULL, 1, 10, 10000, 0);
  append(log, NULL, 1, 10, 10500, 0);
  ck_assert_int_eq(plog_segment_count(log), 1);
  append(log, NULL, 1, 10, 11001, 0); /* 1001 ms after the first batch */
  ck_assert_int_eq(plog_segment_count(log), 2);
  ck_assert_int_eq(plog_maintain(log, 11500), 0);
  ck_assert_int_eq(plog_segment_count(log), 2);
  ck_assert_int_eq(plog_maintain(log, 12002), 0); /* due by the clock */
  ck_assert_int_eq(plog_segment_count(log), 3);
  ck_assert_int_eq(plog_maintain(log, 99999), 0); /* an empty segment does not roll */
  ck_assert_int_eq(plog_segment_count(log), 3);
  plog_close(log);
}
END_TEST

/* Kafka's rule: an entry when more than index.interval.bytes were written
 * since the last one. With batches of s bytes and an interval of 2s, every
 * third batch (3, 6, 9...) gets one. */
START_TEST(index_interval_and_reopen) {
  struct log_config cfg = cfg_default();
  struct history h = {0};
  uint8_t probe[BATCH_BYTES_MAX];
  size_t s = make_batch(probe, 2, 100, 0);
  cfg.index_interval_bytes = (int32_t)(2 * s);
  struct plog *log = open_log(&cfg, 0, 0);
  for (int i = 0; i < 40; i++) append(log, &h, 2, 100, 1000 + 10 * i, 0);
  char ipath[256], tpath[256];
  seg_path(ipath, sizeof ipath, 0, ".index");
  seg_path(tpath, sizeof tpath, 0, ".timeindex");
  size_t ilen, tlen;
  uint8_t *idx = slurp(ipath, &ilen);
  uint8_t *tidx = slurp(tpath, &tlen);
  ck_assert_uint_eq(ilen, 13 * 8);
  ck_assert_uint_eq(tlen, 13 * 12);
  for (int e = 0; e < 13; e++) {
    int k = 3 * (e + 1);
    ck_assert_int_eq(get_be(idx + 8 * e, 4), h.b[k].last);
    ck_assert_int_eq(get_be(idx + 8 * e + 4, 4), position_of(&h, k));
    ck_assert_int_eq((int64_t)get_be(tidx + 12 * e, 8), h.b[k].max_ts);
    ck_assert_int_eq(get_be(tidx + 12 * e + 8, 4), h.b[k].last);
  }
  plog_close(log);
  /* Reopened as trusted (recovery point at the end): same files, same reads. */
  log = open_log(&cfg, 80, 0);
  ck_assert_int_eq(plog_end_offset(log), 80);
  size_t ilen2, tlen2;
  uint8_t *idx2 = slurp(ipath, &ilen2);
  uint8_t *tidx2 = slurp(tpath, &tlen2);
  ck_assert_uint_eq(ilen2, ilen);
  ck_assert_mem_eq(idx2, idx, ilen);
  ck_assert_uint_eq(tlen2, tlen);
  ck_assert_mem_eq(tidx2, tidx, tlen);
  check_all(log, &h);
  /* Appends continue the index where it was. */
  for (int i = 40; i < 43; i++) append(log, &h, 2, 100, 1000 + 10 * i, 0);
  free(idx2);
  idx2 = slurp(ipath, &ilen2);
  ck_assert_uint_eq(ilen2, 14 * 8);
  ck_assert_int_eq(get_be(idx2 + 13 * 8, 4), h.b[42].last);
  check_all(log, &h);
  plog_close(log);
  free(idx);
  free(tidx);
  free(idx2);
  free(tidx2);
  history_free(&h);
}
END_TEST

START_TEST(missing_indexes_rebuilt) {
  struct log_config cfg = cfg_default();
  cfg.segment_bytes = 3000;
  cfg.index_interval_bytes = 200;
  struct plog *log = open_log(&cfg, 0, 0);
  struct history h = {0};
  for (int i = 0; i < 40; i++) append(log, &h, 1, 150, 5000 + i, 0);
  ck_assert_int_ge(plog_segment_count(log), 3);
  int64_t end = plog_end_offset(log);
  plog_close(log);
  char paths[2][256];
  uint8_t *saved[2];
  size_t lens[2];
  seg_path(paths[0], sizeof paths[0], 0, ".index");
  seg_path(paths[1], sizeof paths[1], 0, ".timeindex");
  for (int i = 0; i < 2; i++) {
    saved[i] = slurp(paths[i], &lens[i]);
    ck_assert_uint_gt(lens[i], 0);
    ck_assert_int_eq(unlink(paths[i]), 0);
  }
  /* Garbage in another segment's index is caught too. */
  char other[256];
  seg_path(other, sizeof other, h.b[h.n - 1].base, ".index");
  write_text(other, "garbage");
  log = open_log(&cfg, end, 0);
  ck_assert_int_eq(plog_end_offset(log), end);
  for (int i = 0; i < 2; i++) {
    size_t n;
    uint8_t *now = slurp(paths[i], &n);
    ck_assert_uint_eq(n, lens[i]);
    ck_assert_mem_eq(now, saved[i], n);
    free(now);
    free(saved[i]);
  }
  ck_assert_int_eq(file_size(other) % 8, 0);
  check_all(log, &h);
  plog_close(log);
  history_free(&h);
}
END_TEST

/* ---- retention ---- */

/* Retention stops at the high watermark (in flush mode it waits for the
 * fsync): a segment goes only once the next one starts at or below it. */
START_TEST(retention_stops_at_the_high_watermark) {
  struct log_config cfg = cfg_default();
  uint8_t probe[BATCH_BYTES_MAX];
  cfg.segment_bytes = (int64_t)make_batch(probe, 1, 50, 0); /* one batch per segment */
  cfg.retention_ms = 5000;
  struct plog *log = open_log(&cfg, 0, 0);
  for (int i = 1; i <= 5; i++) append(log, NULL, 1, 50, 1000 * i, 0);
  ck_assert_int_eq(plog_maintain_below(log, 100000, 1), 1); /* segment 0; 1 starts at 1 */
  ck_assert_int_eq(plog_start_offset(log), 1);
  ck_assert_int_eq(plog_maintain_below(log, 100000, 3), 2);
  ck_assert_int_eq(plog_start_offset(log), 3);
  ck_assert_int_eq(plog_maintain_below(log, 100000, 4), 1); /* the last one waits for 5 */
  ck_assert_int_eq(plog_start_offset(log), 4);
  ck_assert_int_eq(plog_maintain_below(log, 100000, 5), 1); /* an empty one takes over */
  ck_assert_int_eq(plog_start_offset(log), 5);
  ck_assert_int_eq(plog_end_offset(log), 5);
  plog_close(log);
}
END_TEST

START_TEST(retention_by_time) {
  struct log_config cfg = cfg_default();
  uint8_t probe[BATCH_BYTES_MAX];
  cfg.segment_bytes = (int64_t)make_batch(probe, 1, 50, 0); /* one batch per segment */
  cfg.retention_ms = 5000;
  struct plog *log = open_log(&cfg, 0, 0);
  for (int i = 1; i <= 5; i++) append(log, NULL, 1, 50, 1000 * i, 0);
  ck_assert_int_eq(plog_segment_count(log), 5);
  ck_assert_int_eq(plog_maintain(log, 8500), 3); /* 1000, 2000, 3000 are older than 5 s */
  ck_assert_int_eq(plog_segment_count(log), 2);
  ck_assert_int_eq(plog_start_offset(log), 3);
  char path[256];
  for (int i = 0; i < 3; i++) {
    seg_path(path, sizeof path, i, ".log");
    ck_assert(!exists(path));
    seg_path(path, sizeof path, i, ".index");
    ck_assert(!exists(path));
  }
  seg_path(path, sizeof path, 3, ".log");
  ck_assert(exists(path));
  struct plog_read_result r;
  ck_assert_int_eq(plog_read(log, 2, 100, true, INT64_MAX, &r), -1);
  /* Everything expired: an empty active segment takes over at the end. */
  ck_assert_int_eq(plog_maintain(log, 100000), 2);
  ck_assert_int_eq(plog_segment_count(log), 1);
  ck_assert_int_eq(plog_start_offset(log), 5);
  ck_assert_int_eq(plog_end_offset(log), 5);
  ck_assert_uint_eq(plog_size_bytes(log), 0);
  seg_path(path, sizeof path, 5, ".log");
  ck_assert(exists(path));
  ck_assert_int_eq(plog_maintain(log, 200000), 0);
  ck_assert_int_eq(append(log, NULL, 1, 50, 200000, 0), 5);
  plog_close(log);
  /* Reopened with the checkpointed start. */
  log = open_log(&cfg, 0, 5);
  ck_assert_int_eq(plog_start_offset(log), 5);
  ck_assert_int_eq(plog_end_offset(log), 6);
  plog_close(log);
}
END_TEST

START_TEST(retention_by_size) {
  struct log_config cfg = cfg_default();
  uint8_t probe[BATCH_BYTES_MAX];
  int64_t s = (int64_t)make_batch(probe, 1, 50, 0);
  cfg.segment_bytes = s;
  cfg.retention_bytes = 2 * s + 10;
  struct plog *log = open_log(&cfg, 0, 0);
  for (int i = 0; i < 5; i++) append(log, NULL, 1, 50, i, 0);
  /* Kafka deletes a segment only while the rest still holds retention.bytes. */
  ck_assert_int_eq(plog_maintain(log, 0), 2);
  ck_assert_uint_eq(plog_size_bytes(log), (uint64_t)(3 * s));
  ck_assert_int_eq(plog_start_offset(log), 2);
  ck_assert_int_eq(plog_maintain(log, 0), 0);
  plog_close(log);
}
END_TEST

START_TEST(delete_records_start_offset) {
  struct log_config cfg = cfg_default();
  uint8_t probe[BATCH_BYTES_MAX];
  cfg.segment_bytes = 2 * (int64_t)make_batch(probe, 2, 50, 0); /* two batches each */
  struct plog *log = open_log(&cfg, 0, 0);
  for (int i = 0; i < 8; i++) append(log, NULL, 2, 50, i, 0); /* segments at 0, 4, 8, 12 */
  ck_assert_int_eq(plog_segment_count(log), 4);
  ck_assert_int_eq(plog_set_start_offset(log, 9), 0);
  ck_assert_int_eq(plog_start_offset(log), 9);
  ck_assert_int_eq(plog_segment_count(log), 2);       /* 0-3 and 4-7 wholly covered */
  ck_assert_int_eq(plog_set_start_offset(log, 3), 0); /* never lowered */
  ck_assert_int_eq(plog_start_offset(log), 9);
  ck_assert_int_eq(plog_set_start_offset(log, 16), 0); /* the active one stays */
  ck_assert_int_eq(plog_segment_count(log), 1);
  ck_assert_int_eq(plog_end_offset(log), 16);
  plog_close(log);
}
END_TEST

/* ---- recovery ---- */

START_TEST(recovery_clean_reopen) {
  struct log_config cfg = cfg_default();
  cfg.segment_bytes = 5000;
  cfg.index_interval_bytes = 300;
  struct plog *log = open_log(&cfg, 0, 0);
  struct history h = {0};
  for (int i = 0; i < 60; i++) append(log, &h, 1 + i % 3, 100 + (size_t)i, 100 + i, 0);
  int64_t end = plog_end_offset(log);
  int segs = plog_segment_count(log);
  plog_close(log);
  int64_t points[] = {0, 1, end / 2, end};
  for (size_t p = 0; p < sizeof points / sizeof points[0]; p++) {
    log = open_log(&cfg, points[p], 0);
    ck_assert_int_eq(plog_end_offset(log), end);
    ck_assert_int_eq(plog_segment_count(log), segs);
    ck_assert_int_eq(plog_recovery_point(log), points[p]);
    check_all(log, &h);
    int64_t ts, off;
    plog_max_timestamp(log, &ts, &off);
    ck_assert_int_eq(ts, h.b[h.n - 1].max_ts);
    ck_assert_int_eq(off, h.b[h.n - 1].last);
    plog_close(log);
  }
  history_free(&h);
}
END_TEST

START_TEST(recovery_torn_tail) {
  struct log_config cfg = cfg_default();
  struct plog *log = open_log(&cfg, 0, 0);
  struct history h = {0};
  for (int i = 0; i < 10; i++) append(log, &h, 2, 80, i, 0);
  plog_close(log);
  char path[256];
  seg_path(path, sizeof path, 0, ".log");
  off_t last_pos = position_of(&h, 9);
  ck_assert_int_eq(truncate(path, last_pos + 30), 0); /* mid-header of the last batch */
  log = open_log(&cfg, 0, 0);
  ck_assert_int_eq(plog_end_offset(log), h.b[9].base);
  ck_assert_int_eq(file_size(path), last_pos);
  check_first(log, &h, 9);
  plog_close(log);
  /* Cut inside the records of the (new) last batch. */
  ck_assert_int_eq(truncate(path, position_of(&h, 8) + 70), 0);
  log = open_log(&cfg, 0, 0);
  ck_assert_int_eq(plog_end_offset(log), h.b[8].base);
  plog_close(log);
  history_free(&h);
}
END_TEST

/* A power loss can keep a later segment's bytes but not the end of an
 * earlier one: the hole ends the log, and the later segments go. */
START_TEST(recovery_hole_between_segments) {
  struct log_config cfg = cfg_default();
  cfg.segment_bytes = 500;
  struct plog *log = open_log(&cfg, 0, 0);
  struct history h = {0};
  for (int i = 0; i < 12; i++) append(log, &h, 2, 80, i, 0);
  ck_assert_int_ge(plog_segment_count(log), 3);
  plog_close(log);
  char path[256], later[256];
  seg_path(path, sizeof path, 0, ".log");
  int last_in_first = 0; /* the last batch of the first segment (a roll past 500 bytes) */
  while (last_in_first + 1 < h.n && position_of(&h, last_in_first + 2) <= 500) last_in_first++;
  ck_assert_int_gt(last_in_first, 0);
  ck_assert_int_eq(truncate(path, position_of(&h, last_in_first)), 0);
  seg_path(later, sizeof later, h.b[last_in_first + 1].base, ".log");
  ck_assert(exists(later));
  log = open_log(&cfg, 0, 0);
  ck_assert_int_eq(plog_end_offset(log), h.b[last_in_first].base);
  ck_assert_int_eq(plog_segment_count(log), 1);
  ck_assert(!exists(later));
  history_cut(&h, last_in_first);
  check_all(log, &h);
  plog_close(log);
  history_free(&h);
}
END_TEST

START_TEST(recovery_garbage_after_tail) {
  struct log_config cfg = cfg_default();
  struct plog *log = open_log(&cfg, 0, 0);
  struct history h = {0};
  for (int i = 0; i < 5; i++) append(log, &h, 1, 80, i, 0);
  int64_t end = plog_end_offset(log);
  plog_close(log);
  char path[256];
  seg_path(path, sizeof path, 0, ".log");
  off_t size = file_size(path);
  int fd = open(path, O_WRONLY | O_APPEND);
  uint8_t junk[100];
  for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)(i * 7 + 3);
  ck_assert_int_eq(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
  close(fd);
  log = open_log(&cfg, 0, 0);
  ck_assert_int_eq(plog_end_offset(log), end);
  ck_assert_int_eq(file_size(path), size);
  check_all(log, &h);
  /* And it appends after the last whole batch. */
  ck_assert_int_eq(append(log, &h, 1, 80, 9, 0), end);
  check_all(log, &h);
  plog_close(log);
  history_free(&h);
}
END_TEST

START_TEST(recovery_crc_mismatch_last_batch) {
  struct log_config cfg = cfg_default();
  struct plog *log = open_log(&cfg, 0, 0);
  struct history h = {0};
  for (int i = 0; i < 6; i++) append(log, &h, 3, 60, i, 0);
  plog_close(log);
  char path[256];
  seg_path(path, sizeof path, 0, ".log");
  flip_byte(path, position_of(&h, 5) + (off_t)h.b[5].len - 10); /* in a value */
  log = open_log(&cfg, 0, 0);
  ck_assert_int_eq(plog_end_offset(log), h.b[5].base);
  ck_assert_int_eq(file_size(path), position_of(&h, 5));
  check_first(log, &h, 5);
  plog_close(log);
  history_free(&h);
}
END_TEST

START_TEST(recovery_corrupt_earlier_batch) {
  struct log_config cfg = cfg_default();
  cfg.segment_bytes = 2000;
  struct plog *log = open_log(&cfg, 0, 0);
  struct history h = {0};
  for (int i = 0; i < 40; i++) append(log, &h, 1, 150, i, 0);
  int segs = plog_segment_count(log);
  ck_assert_int_ge(segs, 3);
  plog_close(log);
  /* Batch 3 of the first segment (offset 3); the recovery point is 2, so the
   * whole first segment is re-validated. */
  char path[256];
  seg_path(path, sizeof path, 0, ".log");
  flip_byte(path, position_of(&h, 3) + (off_t)h.b[3].len - 20); /* in the value */
  log = open_log(&cfg, 2, 0);
  ck_assert_int_eq(plog_end_offset(log), 3);
  ck_assert_int_eq(plog_segment_count(log), 1);
  for (int i = 1; i < segs; i++) {
    int per = (int)(2000 / h.b[0].len);
    seg_path(path, sizeof path, (int64_t)i * per, ".log");
    ck_assert(!exists(path));
  }
  check_first(log, &h, 3);
  ck_assert_int_eq(plog_recovery_point(log), 2);
  plog_close(log);
  history_free(&h);
}
END_TEST

START_TEST(recovery_bad_offsets) {
  struct log_config cfg = cfg_default();
  struct plog *log = open_log(&cfg, 0, 0);
  struct history h = {0};
  for (int i = 0; i < 5; i++) append(log, &h, 1, 40, i, 0);
  plog_close(log);
  /* Batch 3 claims offset 1: outside the CRC, so only the order check sees it. */
  char path[256];
  seg_path(path, sizeof path, 0, ".log");
  int fd = open(path, O_RDWR);
  uint8_t be[8];
  put_be(be, 1, 8);
  ck_assert_int_eq(pwrite(fd, be, 8, position_of(&h, 3)), 8);
  close(fd);
  log = open_log(&cfg, 0, 0);
  ck_assert_int_eq(plog_end_offset(log), 3);
  plog_close(log);
  history_free(&h);
}
END_TEST

/* ---- a follower's appends ---- */

static struct plog *open_log_in(const char *path, const struct log_config *cfg,
                                int64_t recovery_point) {
  struct plog *log = NULL;
  ck_assert_int_eq(plog_open(env, path, cfg, recovery_point, 0, &log), 0);
  return log;
}

/* A batch as a leader stored it: base offset and leader epoch set. */
static size_t make_leader_batch(uint8_t *out, int64_t base, int32_t epoch, int records,
                                int64_t ts) {
  size_t len = make_batch(out, records, 20, ts);
  put_be(out + RB_OFF_BASE_OFFSET, (uint64_t)base, 8);
  put_be(out + RB_OFF_LEADER_EPOCH, (uint32_t)epoch, 4);
  return len;
}

/* Copies everything the leader has into the follower, in reads of about
 * chunk_bytes, as a replica fetcher would. */
static void replicate(struct plog *leader, struct plog *follower, size_t chunk_bytes) {
  for (int rounds = 0; rounds < 10000; rounds++) {
    int64_t from = plog_end_offset(follower);
    if (from == plog_end_offset(leader)) return;
    struct plog_read_result r;
    ck_assert_int_eq(plog_read(leader, from, chunk_bytes, true, INT64_MAX, &r), 0);
    ck_assert_uint_gt(r.len, 0);
    uint8_t *bytes = read_range(&r);
    struct plog_append_info info;
    ck_assert_int_eq(plog_append_replica(follower, bytes, r.len, 0, &info), 0);
    ck_assert_int_eq(info.base_offset, from);
    ck_assert_int_eq(info.last_offset + 1, plog_end_offset(follower));
    free(bytes);
  }
  ck_abort_msg("replication did not finish");
}

static void check_same_epochs(struct plog *a, struct plog *b, int32_t epoch_max) {
  ck_assert_int_eq(plog_latest_epoch(a), plog_latest_epoch(b));
  for (int32_t e = 0; e <= epoch_max + 1; e++) {
    int32_t ea, eb;
    int64_t oa, ob;
    plog_end_offset_for_epoch(a, e, &ea, &oa);
    plog_end_offset_for_epoch(b, e, &eb, &ob);
    ck_assert_int_eq(ea, eb);
    ck_assert_int_eq(oa, ob);
  }
}

START_TEST(replica_append_keeps_offsets_and_epochs) {
  struct log_config cfg = cfg_default();
  cfg.segment_bytes = 2000;
  cfg.index_interval_bytes = 100;
  struct plog *leader = open_log(&cfg, 0, 0);
  char fdir[160];
  snprintf(fdir, sizeof fdir, "%s/t-1", root);
  struct plog *follower = open_log_in(fdir, &cfg, 0);
  struct history h = {0};
  int32_t epochs[] = {0, 0, 2, 2, 2, 5, 5, 9};
  for (int i = 0; i < 40; i++) append(leader, &h, 1 + i % 3, 50, 100 + i, epochs[i / 5]);
  replicate(leader, follower, 700);
  ck_assert_int_eq(plog_end_offset(follower), plog_end_offset(leader));
  ck_assert_int_gt(plog_segment_count(follower), 2);
  check_all(follower, &h); /* byte for byte: offsets and epochs as the leader set them */
  check_same_epochs(leader, follower, 9);
  /* Survives a reopen that re-validates everything (CRCs, offsets). */
  plog_close(follower);
  run_a_while();
  follower = open_log_in(fdir, &cfg, 0);
  ck_assert_int_eq(plog_end_offset(follower), plog_end_offset(leader));
  check_all(follower, &h);
  check_same_epochs(leader, follower, 9);
  /* And carries on from there. */
  for (int i = 0; i < 5; i++) append(leader, &h, 2, 50, 200 + i, 11);
  replicate(leader, follower, 300);
  check_all(follower, &h);
  check_same_epochs(leader, follower, 11);
  plog_close(follower);
  plog_close(leader);
  history_free(&h);
}
END_TEST

/* The refused call leaves the log as it was. */
static void check_refused(struct plog *log, const uint8_t *bytes, size_t len, int want,
                          int64_t end, uint64_t size, int32_t epoch) {
  struct plog_append_info info;
  ck_assert_int_eq(plog_append_replica(log, bytes, len, 0, &info), want);
  ck_assert_int_eq(plog_end_offset(log), end);
  ck_assert_uint_eq(plog_size_bytes(log), size);
  ck_assert_int_eq(plog_latest_epoch(log), epoch);
}

START_TEST(replica_append_refuses_bad_batches) {
  struct log_config cfg = cfg_default();
  struct plog *log = open_log(&cfg, 0, 0);
  uint8_t buf[BATCH_BYTES_MAX];
  struct plog_append_info info;
  size_t a = make_leader_batch(buf, 0, 3, 2, 10);
  size_t b = make_leader_batch(buf + a, 2, 4, 3, 11);
  ck_assert_int_eq(plog_append_replica(log, buf, a + b, 0, &info), 0);
  ck_assert_int_eq(info.base_offset, 0);
  ck_assert_int_eq(info.last_offset, 4);
  ck_assert_int_eq(plog_latest_epoch(log), 4);
  int32_t e;
  int64_t o;
  plog_end_offset_for_epoch(log, 3, &e, &o);
  ck_assert_int_eq(e, 3);
  ck_assert_int_eq(o, 2);
  uint64_t size = plog_size_bytes(log);
  char path[256];
  seg_path(path, sizeof path, 0, ".log");
  off_t file_bytes = file_size(path);
  /* A good batch first, then the bad one: nothing of either goes in. */
  size_t good = make_leader_batch(buf, 5, 4, 1, 12);
  size_t n = make_leader_batch(buf + good, 7, 4, 1, 13); /* 6 is missing */
  check_refused(log, buf, good + n, PLOG_EGAP, 5, size, 4);
  n = make_leader_batch(buf + good, 5, 4, 1, 13); /* 5 again */
  check_refused(log, buf, good + n, PLOG_EOVERLAP, 5, size, 4);
  uint8_t alone[BATCH_BYTES_MAX];
  n = make_leader_batch(alone, 3, 4, 2, 13); /* the first batch already behind */
  check_refused(log, alone, n, PLOG_EOVERLAP, 5, size, 4);
  n = make_leader_batch(alone, 5, 2, 1, 13); /* below the log's latest */
  check_refused(log, alone, n, PLOG_EEPOCH, 5, size, 4);
  n = make_leader_batch(buf + good, 6, 3, 1, 13); /* epoch back below 4 */
  check_refused(log, buf, good + n, PLOG_EEPOCH, 5, size, 4);
  n = make_leader_batch(buf + good, 6, 4, 1, 13);
  buf[good + n - 3] ^= 0x40; /* a record byte: the CRC no longer matches */
  check_refused(log, buf, good + n, PLOG_ECORRUPT, 5, size, 4);
  n = make_leader_batch(buf + good, 6, 4, 1, 13);
  check_refused(log, buf, good + n - 1, PLOG_ECORRUPT, 5, size, 4); /* partial */
  buf[good + RB_OFF_MAGIC] = 1;
  check_refused(log, buf, good + n, PLOG_ECORRUPT, 5, size, 4);
  check_refused(log, buf, 0, ENV_EINVAL, 5, size, 4);
  ck_assert_int_eq(file_size(path), file_bytes);
  /* A newer epoch mid-call starts at its batch; the log goes on. */
  good = make_leader_batch(buf, 5, 4, 1, 12);
  n = make_leader_batch(buf + good, 6, 7, 2, 13);
  ck_assert_int_eq(plog_append_replica(log, buf, good + n, 0, &info), 0);
  ck_assert_int_eq(plog_end_offset(log), 8);
  plog_end_offset_for_epoch(log, 4, &e, &o);
  ck_assert_int_eq(o, 6);
  ck_assert_int_eq(plog_latest_epoch(log), 7);
  plog_close(log);
}
END_TEST

/* ---- truncation, epochs, timestamps ---- */

START_TEST(truncate_to_offsets) {
  struct log_config cfg = cfg_default();
  cfg.segment_bytes = 1500;
  cfg.index_interval_bytes = 100;
  struct plog *log = open_log(&cfg, 0, 0);
  struct history h = {0};
  for (int i = 0; i < 30; i++) append(log, &h, 3, 60, 10 * i, 0); /* offsets 3i..3i+2 */
  int64_t end;
  ck_assert_int_eq(plog_truncate_to(log, 90, &end), 0);
  ck_assert_int_eq(end, 90);
  ck_assert_int_eq(plog_truncate_to(log, 200, &end), 0);
  ck_assert_int_eq(end, 90);
  ck_assert_int_eq(plog_truncate_to(log, 60, &end), 0); /* a boundary */
  ck_assert_int_eq(end, 60);
  ck_assert_int_eq(plog_end_offset(log), 60);
  ck_assert_int_eq(plog_truncate_to(log, 31, &end), 0); /* inside 30..32 */
  ck_assert_int_eq(end, 30);
  history_cut(&h, 10);
  check_all(log, &h);
  /* The index tail was rebuilt: appends and reads carry on. */
  ck_assert_int_eq(append(log, &h, 3, 60, 1000, 0), 30);
  check_all(log, &h);
  int64_t ts, off;
  plog_max_timestamp(log, &ts, &off);
  ck_assert_int_eq(ts, 1002);
  ck_assert_int_eq(off, 32);
  /* Survives a reopen as trusted. */
  plog_close(log);
  log = open_log(&cfg, 33, 0);
  ck_assert_int_eq(plog_end_offset(log), 33);
  check_all(log, &h);
  ck_assert_int_eq(plog_truncate_to(log, 1, &end), 0);
  ck_assert_int_eq(end, 0);
  ck_assert_int_eq(plog_segment_count(log), 1);
  ck_assert_uint_eq(plog_size_bytes(log), 0);
  plog_close(log);
  history_free(&h);
}
END_TEST

static void cut_marker(char *out, size_t cap, int64_t base, int64_t cut) {
  snprintf(out, cap, "%s/%020lld.log.%020lld.truncating", dir, (long long)base, (long long)cut);
}

static bool flushed;
static void on_flushed(void *ctx, int err) {
  (void)ctx;
  ck_assert_int_eq(err, 0);
  flushed = true;
}

static void on_flushed_flag(void *ctx, int err) {
  ck_assert_int_eq(err, 0);
  *(bool *)ctx = true;
}

static void flush_and_wait(struct plog *log) {
  flushed = false;
  plog_flush(log, on_flushed, NULL);
  run_until(&flushed);
}

/* Lets the loop deliver completions until the file is gone (bounded). */
static void run_until_gone(const char *path) {
  for (int i = 0; i < LOOP_ROUNDS_MAX && exists(path); i++) os_world_run_once(world, 10);
  ck_assert(!exists(path));
}

/* The bytes a read handed out, read again through the file it named. */
static void check_lent(const struct plog_read_result *r, const uint8_t *want) {
  uint8_t *got = read_range(r);
  ck_assert_mem_eq(got, want, r->len);
  free(got);
}

START_TEST(truncate_copies_below_lent_bytes) {
  struct log_config cfg = cfg_default();
  cfg.index_interval_bytes = 100;
  struct plog *log = open_log(&cfg, 0, 0);
  struct history h = {0};
  for (int i = 0; i < 10; i++) append(log, &h, 3, 60, 10 * i, i < 4 ? 1 : 2); /* 3i..3i+2 */
  /* A fetch response holds everything, queued behind a slow consumer. */
  struct plog_read_result lent;
  ck_assert_int_eq(plog_read(log, 0, 1 << 20, true, INT64_MAX, &lent), 0);
  ck_assert_uint_eq(lent.len, (size_t)position_of(&h, 10));
  uint8_t *lent_bytes = read_range(&lent);
  int64_t end;
  ck_assert_int_eq(plog_truncate_to(log, 16, &end), 0); /* inside 15..17 */
  ck_assert_int_eq(end, 15);
  history_cut(&h, 5);
  /* The log is truncated; the lent file is not, and the cut is pending. */
  ck_assert_int_eq(plog_end_offset(log), 15);
  ck_assert_int_eq(plog_latest_epoch(log), 2);
  check_all(log, &h);
  struct plog_read_result now;
  ck_assert_int_eq(plog_read(log, 0, 1 << 20, true, INT64_MAX, &now), 0);
  ck_assert_int_ne(now.file, lent.file);
  ck_assert_uint_eq(now.len, (size_t)position_of(&h, 5));
  check_lent(&lent, lent_bytes);
  char marker[300], path[256];
  cut_marker(marker, sizeof marker, 0, 15);
  seg_path(path, sizeof path, 0, ".log");
  ck_assert(exists(marker));
  ck_assert_int_eq(file_size(path), position_of(&h, 10) + position_of(&h, 0));
  /* New appends at the cut go to the copy, never into the lent bytes. */
  ck_assert_int_eq(append(log, &h, 3, 60, 500, 3), 15);
  ck_assert_int_eq(append(log, &h, 3, 60, 510, 3), 18);
  check_lent(&lent, lent_bytes);
  check_all(log, &h);
  /* The truncation's flush makes the copy the .log. */
  run_until_gone(marker);
  ck_assert_int_eq(file_size(path), position_of(&h, 7));
  check_lent(&lent, lent_bytes); /* until the next maintain */
  flush_and_wait(log);
  ck_assert_int_eq(plog_recovery_point(log), 21);
  ck_assert_int_eq(plog_maintain(log, 600), 0);
  plog_close(log);
  /* Recovered from scratch: the new bytes, the epochs of the new history. */
  log = open_log(&cfg, 0, 0);
  ck_assert_int_eq(plog_end_offset(log), 21);
  check_all(log, &h);
  int32_t e;
  int64_t o;
  plog_end_offset_for_epoch(log, 2, &e, &o);
  ck_assert_int_eq(e, 2);
  ck_assert_int_eq(o, 15);
  ck_assert_int_eq(plog_latest_epoch(log), 3);
  plog_close(log);
  free(lent_bytes);
  history_free(&h);
}
END_TEST

START_TEST(truncate_in_place_above_lent_bytes) {
  struct log_config cfg = cfg_default();
  cfg.index_interval_bytes = 100;
  struct plog *log = open_log(&cfg, 0, 0);
  struct history h = {0};
  for (int i = 0; i < 10; i++) append(log, &h, 3, 60, 10 * i, 0);
  struct plog_read_result lent;
  ck_assert_int_eq(plog_read(log, 3, (size_t)position_of(&h, 2), true, INT64_MAX, &lent), 0);
  ck_assert_uint_eq(lent.file_offset, (size_t)position_of(&h, 1));
  uint8_t *lent_bytes = read_range(&lent);
  int64_t end;
  ck_assert_int_eq(plog_truncate_to(log, 18, &end), 0); /* past the lent batches 1 and 2 */
  ck_assert_int_eq(end, 18);
  history_cut(&h, 6);
  char path[256], marker[300];
  seg_path(path, sizeof path, 0, ".log");
  cut_marker(marker, sizeof marker, 0, 18);
  ck_assert(!exists(marker));
  ck_assert_int_eq(file_size(path), position_of(&h, 6)); /* cut in place */
  struct plog_read_result now;
  ck_assert_int_eq(plog_read(log, 0, 1 << 20, true, INT64_MAX, &now), 0);
  ck_assert_int_eq(now.file, lent.file);
  ck_assert_int_eq(append(log, &h, 3, 60, 500, 1), 18);
  check_lent(&lent, lent_bytes);
  check_all(log, &h);
  /* Lent past the next cut now: that one copies. */
  ck_assert_int_eq(plog_truncate_to(log, 12, &end), 0);
  ck_assert_int_eq(end, 12);
  history_cut(&h, 4);
  ck_assert_int_eq(plog_read(log, 0, 1 << 20, true, INT64_MAX, &now), 0);
  ck_assert_int_ne(now.file, lent.file);
  check_lent(&lent, lent_bytes);
  check_all(log, &h);
  plog_close(log);
  free(lent_bytes);
  history_free(&h);
}
END_TEST

/* What an index file holds, checked against the log: every entry below the
 * end offset, positions within the .log. */
static void check_index_files(int64_t base, int64_t end_offset, off_t log_bytes) {
  char path[256];
  size_t n;
  seg_path(path, sizeof path, base, ".index");
  uint8_t *ix = slurp(path, &n);
  ck_assert_uint_eq(n % 8, 0);
  for (size_t at = 0; at < n; at += 8) {
    ck_assert_int_lt(base + (int64_t)get_be(ix + at, 4), end_offset);
    ck_assert_int_lt((off_t)get_be(ix + at + 4, 4), log_bytes);
  }
  free(ix);
  seg_path(path, sizeof path, base, ".timeindex");
  ix = slurp(path, &n);
  ck_assert_uint_eq(n % 12, 0);
  for (size_t at = 0; at < n; at += 12)
    ck_assert_int_lt(base + (int64_t)get_be(ix + at + 8, 4), end_offset);
  free(ix);
}

START_TEST(truncate_keeps_indexes_and_epochs_consistent) {
  struct log_config cfg = cfg_default();
  cfg.segment_bytes = 1500;
  cfg.index_interval_bytes = 100;
  struct plog *log = open_log(&cfg, 0, 0);
  struct history h = {0};
  for (int i = 0; i < 30; i++) append(log, &h, 3, 60, 10 * i, i / 6); /* epochs 0..4 */
  ck_assert_int_gt(plog_segment_count(log), 4);
  int64_t ts, off;
  struct plog_read_result r;
  ck_assert_int_eq(plog_find_batch_by_timestamp(log, 100, &r), 0); /* lends batch 10 */
  ck_assert_int_eq(r.first_offset, 30);
  struct plog_read_result lent;
  ck_assert_int_eq(plog_read(log, 21, 1 << 20, true, INT64_MAX, &lent), 0);
  int64_t end;
  ck_assert_int_eq(plog_truncate_to(log, 28, &end), 0); /* batch 9, an older segment */
  ck_assert_int_eq(end, 27);
  ck_assert_int_eq(plog_read(log, 21, 1 << 20, true, INT64_MAX, &r), 0);
  ck_assert_int_ne(r.file, lent.file); /* copied: batches 7 and 8 were lent */
  history_cut(&h, 9);
  ck_assert_int_eq(plog_latest_epoch(log), 1);
  int32_t e;
  int64_t o;
  plog_end_offset_for_epoch(log, 1, &e, &o);
  ck_assert_int_eq(o, 27);
  plog_max_timestamp(log, &ts, &off);
  ck_assert_int_eq(ts, 82);
  ck_assert_int_eq(off, 26);
  ck_assert_int_eq(plog_find_batch_by_timestamp(log, 100, &r), -1);
  for (int i = 0; i < 4; i++) append(log, &h, 3, 60, 1000 + i, 7);
  check_all(log, &h);
  flush_and_wait(log);
  int32_t segs = plog_segment_count(log);
  plog_close(log);
  run_a_while();
  /* Trusted on reopen (everything below the recovery point): the indexes
   * as stored must describe the log. */
  log = open_log(&cfg, 39, 0);
  ck_assert_int_eq(plog_end_offset(log), 39);
  ck_assert_int_eq(plog_segment_count(log), segs);
  check_all(log, &h);
  ck_assert_int_eq(plog_find_batch_by_timestamp(log, 1004, &r), 0);
  ck_assert_int_eq(r.first_offset, 33);
  ck_assert_int_eq(plog_latest_epoch(log), 7);
  plog_end_offset_for_epoch(log, 1, &e, &o);
  ck_assert_int_eq(e, 1);
  ck_assert_int_eq(o, 27);
  plog_end_offset_for_epoch(log, 4, &e, &o);
  ck_assert_int_eq(e, 1);
  ck_assert_int_eq(o, 27);
  plog_close(log);
  char path[256];
  seg_path(path, sizeof path, h.b[0].base, ".log");
  int64_t last_base = 0;
  for (int i = 0; i < h.n; i++) {
    seg_path(path, sizeof path, h.b[i].base, ".log");
    if (exists(path)) last_base = h.b[i].base;
  }
  seg_path(path, sizeof path, last_base, ".log");
  check_index_files(last_base, 39, file_size(path));
  history_free(&h);
}
END_TEST

START_TEST(truncate_interrupted_is_finished_by_recovery) {
  struct log_config cfg = cfg_default();
  cfg.segment_bytes = 1200;
  struct plog *log = open_log(&cfg, 0, 0);
  struct history h = {0};
  for (int i = 0; i < 8; i++) append(log, &h, 3, 60, 10 * i, 0);
  flush_and_wait(log);
  struct plog_read_result lent;
  ck_assert_int_eq(plog_read(log, 12, 1 << 20, true, INT64_MAX, &lent), 0);
  int64_t base = lent.first_offset;
  int64_t end;
  ck_assert_int_eq(plog_truncate_to(log, 13, &end), 0);
  ck_assert_int_eq(end, 12);
  history_cut(&h, 4);
  /* A new leader's batches, a roll, then the process dies before the cut's
   * fsync completes: the .log still holds the old batches. */
  for (int i = 0; i < 8; i++) append(log, NULL, 3, 60, 500 + i, 1);
  ck_assert_int_gt(plog_end_offset(log), 30);
  plog_close(log);
  char marker[300];
  cut_marker(marker, sizeof marker, base, 12);
  ck_assert(exists(marker));
  log = open_log(&cfg, 30, 0);
  ck_assert_int_eq(plog_end_offset(log), 12);
  ck_assert_int_le(plog_recovery_point(log), 12);
  check_all(log, &h);
  ck_assert_int_eq(plog_latest_epoch(log), 0);
  run_until_gone(marker);
  ck_assert_int_eq(append(log, &h, 3, 60, 900, 1), 12);
  check_all(log, &h);
  plog_close(log);
  history_free(&h);
}
END_TEST

/* Reads near the end start from the segment's seek hints (its newest
 * batches' positions) rather than the sparse index: every offset still
 * reads its own batch, after appends of varied sizes, after a truncation
 * that puts other batches where the hinted ones were, and after a reopen. */
START_TEST(tail_reads_after_truncation) {
  struct log_config cfg = cfg_default();
  cfg.index_interval_bytes = 1 << 20; /* no index entries: only hints and scans */
  struct plog *log = open_log(&cfg, 0, 0);
  struct history h = {0};
  for (int i = 0; i < 40; i++) {
    append(log, &h, 1 + i % 4, 20 + (size_t)(i % 7) * 30, 10 * i, 0);
    check_read_at(log, &h, h.b[h.n - 1].last);              /* the newest batch */
    if (h.n > 3) check_read_at(log, &h, h.b[h.n - 4].base); /* a lagging reader */
  }
  check_all(log, &h);
  int64_t end;
  int64_t cut = h.b[33].base + 1; /* inside batch 33: it goes too */
  ck_assert_int_eq(plog_truncate_to(log, cut, &end), 0);
  ck_assert_int_eq(end, h.b[33].base);
  history_cut(&h, 33);
  for (int i = 0; i < 9; i++) { /* other sizes where the cut batches were */
    append(log, &h, 5 - i % 3, 200 - (size_t)i * 15, 2000 + 10 * i, 1);
    check_read_at(log, &h, h.b[h.n - 1].base);
    check_read_at(log, &h, h.b[h.n - 2].last);
  }
  check_all(log, &h);
  flush_and_wait(log); /* the cut and the appends durable: a reopen keeps them */
  int64_t log_end = plog_end_offset(log);
  plog_close(log);
  log = open_log(&cfg, log_end, 0);
  check_all(log, &h);
  plog_close(log);
  history_free(&h);
}
END_TEST

/* ---- the same on the simulated disk ---- */

static bool sim_exists(const char *path) {
  env_file f;
  int rc = env->open(env, path, 0, &f);
  if (rc == 0) env->file_close(env, f);
  ck_assert(rc == 0 || rc == ENV_ENOENT);
  return rc == 0;
}

static void sim_flush_and_wait(struct sim_world *w, struct plog *log) {
  bool done = false;
  plog_flush(log, on_flushed_flag, &done);
  for (int i = 0; i < LOOP_ROUNDS_MAX && !done; i++) ck_assert(sim_step(w));
  ck_assert(done);
}

/* A power loss while a cut is pending keeps every byte that was durable
 * below it (the old .log still holds them) and recovery finishes the cut;
 * a settled copy leaves the lent file readable through its descriptor. */
START_TEST(truncate_on_simulated_disk) {
  struct env *real_env = env;
  struct sim_world *w = sim_world_create(7);
  struct sim_node *n = sim_node_add(w, 1, "n1");
  env = sim_node_env(n);
  ck_assert_int_eq(env->mkdir(env, "/d"), 0);
  struct log_config cfg = cfg_default();
  struct plog *log = open_log_in("/d/t-0", &cfg, 0);
  struct history h = {0};
  for (int i = 0; i < 8; i++) append(log, &h, 3, 60, 10 * i, 0);
  sim_flush_and_wait(w, log);
  struct plog_read_result lent;
  ck_assert_int_eq(plog_read(log, 0, 1 << 20, true, INT64_MAX, &lent), 0);
  uint8_t *lent_bytes = read_range(&lent);
  int64_t end;
  ck_assert_int_eq(plog_truncate_to(log, 13, &end), 0);
  ck_assert_int_eq(end, 12);
  history_cut(&h, 4);
  ck_assert_int_eq(append(log, NULL, 3, 60, 500, 1), 12);
  check_lent(&lent, lent_bytes);
  const char *marker = "/d/t-0/00000000000000000000.log.00000000000000000012.truncating";
  ck_assert(sim_exists(marker));
  sim_node_crash(n); /* before the copy's fsync completes */
  plog_close(log);
  sim_node_restart(n);
  log = open_log_in("/d/t-0", &cfg, 24); /* a recovery point from before the cut */
  ck_assert_int_eq(plog_end_offset(log), 12);
  ck_assert_int_le(plog_recovery_point(log), 12);
  check_all(log, &h);
  for (int i = 0; i < LOOP_ROUNDS_MAX && sim_exists(marker); i++) ck_assert(sim_step(w));
  ck_assert(!sim_exists(marker));
  /* A settled copy: the .log is renamed over, the lent file lives on. */
  free(lent_bytes);
  ck_assert_int_eq(plog_read(log, 0, 1 << 20, true, INT64_MAX, &lent), 0);
  lent_bytes = read_range(&lent);
  ck_assert_int_eq(plog_truncate_to(log, 7, &end), 0);
  ck_assert_int_eq(end, 6);
  history_cut(&h, 2);
  ck_assert_int_eq(append(log, &h, 3, 60, 600, 2), 6);
  sim_flush_and_wait(w, log);
  marker = "/d/t-0/00000000000000000000.log.00000000000000000006.truncating";
  ck_assert(!sim_exists(marker));
  check_lent(&lent, lent_bytes);
  check_all(log, &h);
  ck_assert_int_eq(plog_recovery_point(log), 9);
  plog_close(log);
  log = open_log_in("/d/t-0", &cfg, 9);
  check_all(log, &h);
  plog_close(log);
  free(lent_bytes);
  history_free(&h);
  sim_world_destroy(w);
  env = real_env;
}
END_TEST

/* A flush round that fsynced a copy a second truncation has since replaced
 * must not move the recovery point past the pending cut: the .log on disk
 * is still the old one there. On the simulated disk, where the test decides
 * how far the fsyncs have got (the real world's fsyncs run on a thread). */
START_TEST(truncate_recovery_point_waits_for_cut) {
  struct env *real_env = env;
  struct sim_world *w = sim_world_create(11);
  struct sim_node *n = sim_node_add(w, 1, "n1");
  env = sim_node_env(n);
  ck_assert_int_eq(env->mkdir(env, "/d"), 0);
  struct log_config cfg = cfg_default();
  struct plog *log = open_log_in("/d/t-0", &cfg, 0);
  struct history h = {0};
  for (int i = 0; i < 8; i++) append(log, &h, 3, 60, 10 * i, 0);
  bool first_done = false;
  plog_flush(log, on_flushed_flag, &first_done); /* round 0, in flight */
  struct plog_read_result lent;
  ck_assert_int_eq(plog_read(log, 0, 1 << 20, true, INT64_MAX, &lent), 0);
  int64_t end;
  ck_assert_int_eq(plog_truncate_to(log, 16, &end), 0); /* copy; cut 15 */
  ck_assert_int_eq(end, 15);
  append(log, NULL, 3, 60, 500, 1);
  append(log, NULL, 3, 60, 510, 1);
  /* Round 0 done; round 1 (the copy's fsync) starts and is still in flight. */
  for (int i = 0; i < LOOP_ROUNDS_MAX && !first_done; i++) ck_assert(sim_step(w));
  ck_assert(first_done);
  ck_assert_int_le(plog_recovery_point(log), 15);
  ck_assert_int_eq(plog_read(log, 15, 1 << 20, true, INT64_MAX, &lent), 0);
  ck_assert_int_eq(plog_truncate_to(log, 18, &end), 0); /* another copy; cut stays 15 */
  ck_assert_int_eq(end, 18);
  const char *marker = "/d/t-0/00000000000000000000.log.00000000000000000015.truncating";
  ck_assert(sim_exists(marker));
  bool second_done = false;
  plog_flush(log, on_flushed_flag, &second_done); /* queued behind round 1 */
  for (int i = 0; i < LOOP_ROUNDS_MAX && !second_done; i++) {
    ck_assert(sim_step(w));
    /* Until the newest copy is durable, the cut is pending and bounds the
     * recovery point, whatever older rounds completed. */
    if (sim_exists(marker)) ck_assert_int_le(plog_recovery_point(log), 15);
  }
  for (int i = 0; i < LOOP_ROUNDS_MAX && sim_exists(marker); i++) ck_assert(sim_step(w));
  ck_assert(!sim_exists(marker));
  sim_flush_and_wait(w, log);
  ck_assert_int_eq(plog_recovery_point(log), 18);
  plog_close(log);
  log = open_log_in("/d/t-0", &cfg, 18);
  ck_assert_int_eq(plog_end_offset(log), 18);
  check_first(log, &h, 5);
  plog_close(log);
  history_free(&h);
  sim_world_destroy(w);
  env = real_env;
}
END_TEST

/* Recovery's cut outlives a power loss before its fsync (swarm seed 533):
 * a read fault makes recovery drop a good batch and the rest, new batches
 * take those offsets, and a power loss comes before any fsync. The file's
 * durable bytes are the old ones, valid again, so without the marker of the
 * cut the next recovery kept the old batches under the offsets the new ones
 * had been acknowledged at. With it, the log ends at the cut; once the
 * flush plog_open started has settled it, the new batches are durable. */
START_TEST(recovery_cut_survives_power_loss) {
  struct env *real_env = env;
  struct sim_world *w = sim_world_create(5);
  struct sim_node *n = sim_node_add(w, 1, "n1");
  env = sim_node_env(n);
  ck_assert_int_eq(env->mkdir(env, "/d"), 0);
  struct log_config cfg = cfg_default();
  struct plog *log = open_log_in("/d/t-0", &cfg, 0);
  struct history h = {0};
  for (int i = 0; i < 8; i++) append(log, &h, 3, 60, 10 * i, 0);
  sim_flush_and_wait(w, log);
  const char *path = "/d/t-0/00000000000000000000.log";
  /* In the base offset (12 reads as 4), which recovery's header read sees;
   * the stored bytes stay good. */
  ck_assert(sim_disk_flip_bit_on_read(n, path, (uint64_t)position_of(&h, 4) + 7, 3));
  sim_node_crash(n);
  plog_close(log);
  sim_node_restart(n);
  log = open_log_in("/d/t-0", &cfg, 0); /* reads the fault: cuts at batch 4 */
  ck_assert_int_eq(plog_end_offset(log), 12);
  history_cut(&h, 4);
  const char *marker = "/d/t-0/00000000000000000000.log.00000000000000000012.truncating";
  ck_assert(sim_exists(marker));
  struct history fresh = {0};
  ck_assert_int_eq(append(log, &fresh, 2, 60, 900, 1), 12);
  sim_node_crash(n); /* before the recovery's flush completes */
  plog_close(log);
  sim_node_restart(n);
  log = open_log_in("/d/t-0", &cfg, 0);
  ck_assert_int_eq(plog_end_offset(log), 12); /* not 24: the old batches stay cut */
  check_all(log, &h);
  for (int i = 0; i < LOOP_ROUNDS_MAX && sim_exists(marker); i++) ck_assert(sim_step(w));
  ck_assert(!sim_exists(marker));
  history_cut(&fresh, 0); /* lost with the power loss, as allowed */
  ck_assert_int_eq(append(log, &fresh, 2, 60, 950, 2), 12);
  sim_flush_and_wait(w, log);
  sim_node_crash(n);
  plog_close(log);
  sim_node_restart(n);
  log = open_log_in("/d/t-0", &cfg, 0);
  ck_assert_int_eq(plog_end_offset(log), 14);
  check_all(log, &h);
  check_all(log, &fresh);
  plog_close(log);
  history_free(&h);
  history_free(&fresh);
  sim_world_destroy(w);
  env = real_env;
}
END_TEST

static void on_flushed_err(void *ctx, int err) { *(int *)ctx = err; }

/* fsyncgate: a failed fsync that forgets its pages takes the log offline
 * (appends and flushes fail, the recovery point stays); a reopen without a
 * power loss, where the forgotten bytes still read back, writes them again
 * and its flush makes them durable, so a power loss then keeps them. */
START_TEST(flush_error_takes_the_log_offline) {
  struct env *real_env = env;
  struct sim_world *w = sim_world_create(9);
  struct sim_node *n = sim_node_add(w, 1, "n1");
  env = sim_node_env(n);
  ck_assert_int_eq(env->mkdir(env, "/d"), 0);
  struct log_config cfg = cfg_default();
  struct plog *log = open_log_in("/d/t-0", &cfg, 0);
  struct history h = {0};
  for (int i = 0; i < 4; i++) append(log, &h, 3, 60, 10 * i, 0);
  sim_flush_and_wait(w, log);
  ck_assert_int_eq(plog_recovery_point(log), 12);
  for (int i = 4; i < 8; i++) append(log, &h, 3, 60, 10 * i, 0);
  sim_disk_set_fsync_error_forgets(n, true);
  sim_disk_fail_fsyncs(n, 1);
  int err = 1, later = 1;
  plog_flush(log, on_flushed_err, &err);
  plog_flush(log, on_flushed_err, &later); /* queued behind the failing round */
  for (int i = 0; i < LOOP_ROUNDS_MAX && (err == 1 || later == 1); i++) ck_assert(sim_step(w));
  ck_assert_int_eq(err, ENV_EIO);
  ck_assert_int_eq(later, ENV_EIO);
  ck_assert(plog_offline(log));
  ck_assert(sim_exists("/d/t-0/flush-failed"));
  uint8_t buf[BATCH_BYTES_MAX];
  size_t len = make_batch(buf, 3, 60, 500);
  struct plog_append_info info;
  ck_assert_int_eq(plog_append(log, buf, len, 0, 500, &info), ENV_EIO);
  err = 1; /* the disk works again; the log stays offline */
  sim_disk_set_fsync_error_forgets(n, false);
  plog_flush(log, on_flushed_err, &err);
  for (int i = 0; i < LOOP_ROUNDS_MAX && err == 1; i++) ck_assert(sim_step(w));
  ck_assert_int_eq(err, ENV_EIO);
  ck_assert_int_eq(plog_recovery_point(log), 12);
  plog_close(log); /* a restart, no power loss: the pages still read back */
  log = open_log_in("/d/t-0", &cfg, 12);
  ck_assert(!plog_offline(log));
  ck_assert_int_eq(plog_end_offset(log), 24);
  for (int i = 0; i < LOOP_ROUNDS_MAX && sim_exists("/d/t-0/flush-failed"); i++)
    ck_assert(sim_step(w));
  ck_assert(!sim_exists("/d/t-0/flush-failed"));
  sim_node_crash(n);
  plog_close(log);
  sim_node_restart(n);
  log = open_log_in("/d/t-0", &cfg, 12);
  ck_assert_int_eq(plog_end_offset(log), 24); /* not cut at 12 by zeros */
  check_all(log, &h);
  plog_close(log);
  history_free(&h);
  sim_world_destroy(w);
  env = real_env;
}
END_TEST

START_TEST(truncate_below_first_segment) {
  struct log_config cfg = cfg_default();
  uint8_t probe[BATCH_BYTES_MAX];
  cfg.segment_bytes = (int64_t)make_batch(probe, 1, 50, 0);
  struct plog *log = open_log(&cfg, 0, 0);
  for (int i = 0; i < 4; i++) append(log, NULL, 1, 50, i, 0);
  ck_assert_int_eq(plog_set_start_offset(log, 2), 0);
  ck_assert_int_eq(plog_segment_count(log), 2);
  int64_t end;
  ck_assert_int_eq(plog_truncate_to(log, 1, &end), 0);
  ck_assert_int_eq(end, 1);
  ck_assert_int_eq(plog_start_offset(log), 1);
  ck_assert_int_eq(plog_segment_count(log), 1);
  ck_assert_int_eq(append(log, NULL, 1, 50, 9, 0), 1);
  plog_close(log);
  log = open_log(&cfg, 0, 1);
  ck_assert_int_eq(plog_start_offset(log), 1);
  ck_assert_int_eq(plog_end_offset(log), 2);
  plog_close(log);
}
END_TEST

START_TEST(leader_epochs) {
  struct log_config cfg = cfg_default();
  struct plog *log = open_log(&cfg, 0, 0);
  ck_assert_int_eq(plog_latest_epoch(log), -1);
  int32_t e;
  int64_t o;
  plog_end_offset_for_epoch(log, 0, &e, &o);
  ck_assert_int_eq(e, -1);
  ck_assert_int_eq(o, -1);
  for (int i = 0; i < 3; i++) append(log, NULL, 2, 10, i, 0); /* epoch 0 at 0 */
  for (int i = 0; i < 2; i++) append(log, NULL, 2, 10, i, 1); /* epoch 1 at 6 */
  for (int i = 0; i < 2; i++) append(log, NULL, 2, 10, i, 3); /* epoch 3 at 10 */
  ck_assert_int_eq(plog_latest_epoch(log), 3);
  struct {
    int32_t ask, epoch;
    int64_t end;
  } cases[] = {{0, 0, 6}, {1, 1, 10}, {2, 1, 10}, {3, 3, 14}, {4, -1, -1}, {-1, -1, -1}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    plog_end_offset_for_epoch(log, cases[i].ask, &e, &o);
    ck_assert_int_eq(e, cases[i].epoch);
    ck_assert_int_eq(o, cases[i].end);
  }
  run_a_while(); /* the checkpoint's fsync and rename */
  char path[256];
  snprintf(path, sizeof path, "%s/leader-epoch-checkpoint", dir);
  size_t n;
  char *text = (char *)slurp(path, &n);
  ck_assert_str_eq(text, "0\n3\n0 0\n1 6\n3 10\n");
  free(text);
  /* Truncation drops the epochs that started past the new end. */
  int64_t end;
  ck_assert_int_eq(plog_truncate_to(log, 8, &end), 0);
  ck_assert_int_eq(plog_latest_epoch(log), 1);
  plog_end_offset_for_epoch(log, 1, &e, &o);
  ck_assert_int_eq(o, 8);
  run_a_while();
  plog_close(log);
  text = (char *)slurp(path, &n);
  ck_assert_str_eq(text, "0\n2\n0 0\n1 6\n");
  free(text);
  log = open_log(&cfg, 0, 0);
  ck_assert_int_eq(plog_latest_epoch(log), 1);
  plog_end_offset_for_epoch(log, 0, &e, &o);
  ck_assert_int_eq(e, 0);
  ck_assert_int_eq(o, 6);
  /* Retention moving the start moves the first epoch's start with it. */
  ck_assert_int_eq(plog_set_start_offset(log, 7), 0);
  run_a_while();
  plog_close(log);
  text = (char *)slurp(path, &n);
  ck_assert_str_eq(text, "0\n1\n1 7\n");
  free(text);
  /* A malformed epoch file is refused, not guessed at. */
  write_text(path, "0\n2\n1 7\n");
  struct plog *bad = NULL;
  ck_assert_int_eq(plog_open(env, dir, &cfg, 0, 0, &bad), ENV_EINVAL);
  ck_assert_ptr_null(bad);
}
END_TEST

START_TEST(find_by_timestamp) {
  struct log_config cfg = cfg_default();
  cfg.segment_bytes = 800;
  cfg.index_interval_bytes = 100;
  struct plog *log = open_log(&cfg, 0, 0);
  struct history h = {0};
  for (int i = 0; i < 30; i++) append(log, &h, 1, 100, 1000 * (i + 1), 0);
  ck_assert_int_gt(plog_segment_count(log), 3);
  struct plog_read_result r;
  for (int i = 0; i < 30; i++) {
    int64_t want = 1000 * (i + 1);
    ck_assert_int_eq(plog_find_batch_by_timestamp(log, want, &r), 0);
    ck_assert_int_eq(r.first_offset, i);
    ck_assert_int_eq(plog_find_batch_by_timestamp(log, want - 500, &r), 0);
    ck_assert_int_eq(r.first_offset, i);
    ck_assert_uint_eq(r.len, h.b[i].len);
    uint8_t *got = read_range(&r);
    ck_assert_mem_eq(got, h.b[i].bytes, r.len);
    free(got);
  }
  ck_assert_int_eq(plog_find_batch_by_timestamp(log, 0, &r), 0);
  ck_assert_int_eq(r.first_offset, 0);
  ck_assert_int_eq(plog_find_batch_by_timestamp(log, 30001, &r), -1);
  int64_t ts, off;
  plog_max_timestamp(log, &ts, &off);
  ck_assert_int_eq(ts, 30000);
  ck_assert_int_eq(off, 29);
  ck_assert_int_eq(plog_set_start_offset(log, 12), 0);
  ck_assert_int_eq(plog_find_batch_by_timestamp(log, 0, &r), 0);
  ck_assert_int_eq(r.first_offset, 12);
  plog_close(log);
  history_free(&h);
}
END_TEST

/* ---- flush, errors, delete ---- */

struct done_flag {
  bool called;
  int err;
  int calls;
};

static void on_done(void *ctx, int err) {
  struct done_flag *d = ctx;
  d->called = true;
  d->err = err;
  d->calls++;
}

START_TEST(flush_group_commit) {
  struct log_config cfg = cfg_default();
  cfg.segment_bytes = 1000;
  struct plog *log = open_log(&cfg, 0, 0);
  for (int i = 0; i < 12; i++) append(log, NULL, 1, 100, i, 0);
  ck_assert_int_eq(plog_recovery_point(log), 0);
  struct done_flag a = {0}, b = {0}, c = {0};
  plog_flush(log, on_done, &a);
  ck_assert(!a.called); /* never from inside plog_flush */
  append(log, NULL, 1, 100, 99, 0);
  plog_flush(log, on_done, &b); /* waits for the round in flight */
  plog_flush(log, on_done, &c);
  run_until(&a.called);
  ck_assert_int_eq(a.err, 0);
  ck_assert_int_ge(plog_recovery_point(log), 12);
  run_until(&c.called);
  ck_assert(b.called);
  ck_assert_int_eq(b.err, 0);
  ck_assert_int_eq(c.calls, 1);
  ck_assert_int_eq(plog_recovery_point(log), 13);
  /* Nothing to sync: still answered, from the loop. */
  struct done_flag d = {0};
  plog_flush(log, on_done, &d);
  ck_assert(!d.called);
  run_until(&d.called);
  ck_assert_int_eq(d.err, 0);
  /* Closed with a flush in flight: the answer still comes. */
  struct done_flag e = {0}, f = {0};
  append(log, NULL, 1, 100, 100, 0);
  plog_flush(log, on_done, &e);
  plog_flush(log, on_done, &f);
  plog_close(log);
  run_until(&f.called);
  ck_assert(e.called);
  ck_assert_int_eq(e.err, 0);
  ck_assert_int_eq(f.err, ENV_EIO);
}
END_TEST

/* A world whose pwrite can be made to fail halfway, as a full disk does. */
static struct env faulty;
static int64_t (*real_pwrite)(struct env *, env_file, const void *, size_t, uint64_t);
static bool fail_writes;

static int64_t faulty_pwrite(struct env *e, env_file f, const void *buf, size_t len,
                             uint64_t offset) {
  if (!fail_writes) return real_pwrite(e, f, buf, len, offset);
  real_pwrite(e, f, buf, len / 2, offset);
  return ENV_ENOSPC;
}

START_TEST(append_disk_error_leaves_nothing) {
  faulty = *env;
  real_pwrite = env->pwrite;
  faulty.pwrite = faulty_pwrite;
  struct log_config cfg = cfg_default();
  cfg.index_interval_bytes = 50;
  struct plog *log = NULL;
  ck_assert_int_eq(plog_open(&faulty, dir, &cfg, 0, 0, &log), 0);
  struct history h = {0};
  for (int i = 0; i < 5; i++) append(log, &h, 2, 100, i, 0);
  char path[256], ipath[256];
  seg_path(path, sizeof path, 0, ".log");
  seg_path(ipath, sizeof ipath, 0, ".index");
  off_t size = file_size(path), isize = file_size(ipath);
  uint8_t buf[BATCH_BYTES_MAX];
  size_t len = make_batch(buf, 2, 100, 7);
  struct plog_append_info info;
  fail_writes = true;
  ck_assert_int_eq(plog_append(log, buf, len, 0, 7, &info), ENV_ENOSPC);
  fail_writes = false;
  ck_assert_int_eq(plog_end_offset(log), 10);
  ck_assert_int_eq(file_size(path), size);
  ck_assert_int_eq(file_size(ipath), isize);
  ck_assert_int_eq(append(log, &h, 2, 100, 8, 0), 10);
  check_all(log, &h);
  plog_close(log);
  log = open_log(&cfg, 0, 0);
  ck_assert_int_eq(plog_end_offset(log), 12);
  check_all(log, &h);
  plog_close(log);
  history_free(&h);
}
END_TEST

/* fsync that completes (through the loop) with EIO while fail_fsyncs. */
static void (*real_fsync)(struct env *, env_file, env_fsync_fn, void *);
static bool fail_fsyncs;

struct fsync_wrap {
  env_fsync_fn done;
  void *ctx;
};

static void fsync_wrapped(void *ctx, int err) {
  struct fsync_wrap w = *(struct fsync_wrap *)ctx;
  free(ctx);
  w.done(w.ctx, fail_fsyncs ? ENV_EIO : err);
}

static void faulty_fsync(struct env *e, env_file f, env_fsync_fn done, void *ctx) {
  struct fsync_wrap *w = malloc(sizeof *w);
  w->done = done;
  w->ctx = ctx;
  real_fsync(e, f, fsync_wrapped, w);
}

/* A failed flush is not retried: the log stays offline (its flushes fail
 * and the recovery point stays) until it is opened again, and the reopened
 * log flushes, once the marker of the failure is gone. */
START_TEST(flush_error_not_retried) {
  faulty = *env;
  real_fsync = env->fsync;
  faulty.fsync = faulty_fsync;
  struct log_config cfg = cfg_default();
  struct plog *log = NULL;
  ck_assert_int_eq(plog_open(&faulty, dir, &cfg, 0, 0, &log), 0);
  for (int i = 0; i < 3; i++) append(log, NULL, 1, 100, i, 0);
  fail_fsyncs = true;
  struct done_flag a = {0}, b = {0}, c = {0};
  plog_flush(log, on_done, &a);
  run_until(&a.called);
  ck_assert_int_eq(a.err, ENV_EIO);
  ck_assert_int_eq(plog_recovery_point(log), 0);
  ck_assert(plog_offline(log));
  fail_fsyncs = false;
  plog_flush(log, on_done, &b);
  run_until(&b.called);
  ck_assert_int_eq(b.err, ENV_EIO);
  ck_assert_int_eq(plog_recovery_point(log), 0);
  plog_close(log);
  char marker[256];
  snprintf(marker, sizeof marker, "%s/flush-failed", dir);
  ck_assert(exists(marker));
  ck_assert_int_eq(plog_open(&faulty, dir, &cfg, 0, 0, &log), 0);
  ck_assert(!plog_offline(log));
  run_until_gone(marker);
  plog_flush(log, on_done, &c);
  run_until(&c.called);
  ck_assert_int_eq(c.err, 0);
  ck_assert_int_eq(plog_recovery_point(log), 3);
  plog_close(log);
}
END_TEST

START_TEST(delete_removes_directory) {
  struct log_config cfg = cfg_default();
  cfg.segment_bytes = 500;
  struct plog *log = open_log(&cfg, 0, 0);
  for (int i = 0; i < 10; i++) append(log, NULL, 1, 100, i, i / 3);
  struct done_flag d = {0};
  plog_flush(log, on_done, &d); /* in flight while deleting */
  char other[256];
  snprintf(other, sizeof other, "%s/partition.metadata", dir);
  write_text(other, "version: 0\n");
  ck_assert(exists(dir));
  ck_assert_int_eq(plog_delete(log), 0);
  ck_assert(!exists(dir));
  run_until(&d.called);
  run_a_while();
  ck_assert(!exists(dir)); /* no late rename recreated anything */
}
END_TEST

/* ---- checkpoint files ---- */

START_TEST(checkpoint_round_trip) {
  char path[256];
  snprintf(path, sizeof path, "%s/recovery-point-offset-checkpoint", root);
  struct checkpoint_entry *got;
  int n;
  ck_assert_int_eq(checkpoint_read(env, path, &got, &n), 0); /* missing: empty */
  ck_assert_int_eq(n, 0);
  ck_assert_ptr_null(got);
  struct checkpoint_entry e[3] = {
      {"orders", 0, 42}, {"orders", 1, 0}, {"a.b_c-d", 7, 1LL << 40}};
  struct done_flag d = {0};
  ck_assert_int_eq(checkpoint_write_then(env, path, e, 3, on_done, &d), 0);
  run_until(&d.called);
  ck_assert_int_eq(d.err, 0);
  size_t len;
  char *text = (char *)slurp(path, &len);
  ck_assert_str_eq(text, "0\n3\norders 0 42\norders 1 0\na.b_c-d 7 1099511627776\n");
  free(text);
  ck_assert_int_eq(checkpoint_read(env, path, &got, &n), 0);
  ck_assert_int_eq(n, 3);
  for (int i = 0; i < 3; i++) {
    ck_assert_str_eq(got[i].topic, e[i].topic);
    ck_assert_int_eq(got[i].partition, e[i].partition);
    ck_assert_int_eq(got[i].offset, e[i].offset);
  }
  free(got);
  /* The fire-and-forget form, and an empty checkpoint. */
  ck_assert_int_eq(checkpoint_write(env, path, NULL, 0), 0);
  run_a_while();
  ck_assert_int_eq(checkpoint_read(env, path, &got, &n), 0);
  ck_assert_int_eq(n, 0);
  char tmp[300];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  ck_assert(!exists(tmp));
}
END_TEST

START_TEST(checkpoint_malformed) {
  static const char *const bad[] = {
      "",                     /* empty */
      "1\n1\nt 0 5\n",        /* version */
      "0\n2\nt 0 5\n",        /* fewer lines than the count */
      "0\n1\nt 0 5\nt 1 6\n", /* more */
      "0\n1\nt 0\n",          /* a field missing */
      "0\n1\nt 0 5 9\n",      /* one too many */
      "0\n1\nt x 5\n",        /* not a number */
      "0\n1\nt -1 5\n",       /* negative partition */
      "0\n1\nt 0 5x\n",       /* junk after the number */
      "0\n-1\n",              /* negative count */
      "0\nmany\n",            /* no count */
      "0\n1\nt  0 5\n",       /* double space */
  };
  char path[256];
  snprintf(path, sizeof path, "%s/log-start-offset-checkpoint", root);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    write_text(path, bad[i]);
    struct checkpoint_entry *got = NULL;
    int n = -1;
    ck_assert_msg(checkpoint_read(env, path, &got, &n) == ENV_EINVAL, "accepted: %s", bad[i]);
    ck_assert_ptr_null(got);
    ck_assert_int_eq(n, 0);
  }
  /* Windows line ends and a missing final newline are fine. */
  write_text(path, "0\r\n1\r\nt 3 5");
  struct checkpoint_entry *got;
  int n;
  ck_assert_int_eq(checkpoint_read(env, path, &got, &n), 0);
  ck_assert_int_eq(n, 1);
  ck_assert_int_eq(got[0].partition, 3);
  ck_assert_int_eq(got[0].offset, 5);
  free(got);
}
END_TEST

static Suite *log_suite(void) {
  Suite *s = suite_create("log");
  struct {
    const char *name;
    const TTest *test;
  } tests[] = {
      {"append", append_read_round_trip},
      {"large_batches", large_and_small_batches},
      {"read", read_limits},
      {"append_bad", append_rejects_bad_input},
      {"roll_size", roll_by_size},
      {"roll_time", roll_by_time},
      {"index", index_interval_and_reopen},
      {"index_rebuild", missing_indexes_rebuilt},
      {"retention_time", retention_by_time},
      {"retention_high_watermark", retention_stops_at_the_high_watermark},
      {"retention_size", retention_by_size},
      {"delete_records", delete_records_start_offset},
      {"recovery_clean", recovery_clean_reopen},
      {"recovery_torn", recovery_torn_tail},
      {"recovery_garbage", recovery_garbage_after_tail},
      {"recovery_hole", recovery_hole_between_segments},
      {"recovery_crc", recovery_crc_mismatch_last_batch},
      {"recovery_earlier", recovery_corrupt_earlier_batch},
      {"recovery_offsets", recovery_bad_offsets},
      {"truncate", truncate_to_offsets},
      {"truncate_fully", truncate_below_first_segment},
      {"recovery_cut_survives_power_loss", recovery_cut_survives_power_loss},
      {"flush_error_offline", flush_error_takes_the_log_offline},
      {"truncate_copy", truncate_copies_below_lent_bytes},
      {"truncate_in_place", truncate_in_place_above_lent_bytes},
      {"truncate_indexes", truncate_keeps_indexes_and_epochs_consistent},
      {"truncate_interrupted", truncate_interrupted_is_finished_by_recovery},
      {"truncate_recovery_point", truncate_recovery_point_waits_for_cut},
      {"truncate_sim", truncate_on_simulated_disk},
      {"tail_reads_truncation", tail_reads_after_truncation},
      {"epochs", leader_epochs},
      {"timestamps", find_by_timestamp},
      {"flush", flush_group_commit},
      {"disk_error", append_disk_error_leaves_nothing},
      {"flush_error", flush_error_not_retried},
      {"delete", delete_removes_directory},
      {"checkpoint", checkpoint_round_trip},
      {"checkpoint_bad", checkpoint_malformed},
      {"replica_append", replica_append_keeps_offsets_and_epochs},
      {"replica_refuses", replica_append_refuses_bad_batches},
  };
  for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
    TCase *tc = tcase_create(tests[i].name);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, tests[i].test);
    suite_add_tcase(s, tc);
  }
  return s;
}

TEST_MAIN(log_suite)
