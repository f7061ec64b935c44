#include "log/checkpoint.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/str.h"
#include "log/atomic_file.h"

/* One line of text into buf (without '\n' or a trailing '\r'); false at the
 * end of text or when the line does not fit. */
static bool next_line(const char *text, size_t len, size_t *at, char *buf, size_t cap,
                      bool *too_long) {
  *too_long = false;
  if (*at >= len) return false;
  const char *start = text + *at;
  const char *nl = memchr(start, '\n', len - *at);
  size_t n = nl ? (size_t)(nl - start) : len - *at;
  *at += n + (nl ? 1 : 0);
  if (n > 0 && start[n - 1] == '\r') n--;
  if (n >= cap) {
    *too_long = true;
    return false;
  }
  memcpy(buf, start, n);
  buf[n] = 0;
  return true;
}

/* Splits on single spaces into exactly `fields` non-empty tokens. */
static bool split_fields(char *line, int fields, char **out) {
  int n = 0;
  char *p = line;
  /* Each pass consumes one token; more than `fields` of them is an error. */
  for (; n <= fields; n++) {
    if (n == fields || *p == 0 || *p == ' ') return false;
    out[n] = p;
    char *sp = strchr(p, ' ');
    if (!sp) return n + 1 == fields;
    *sp = 0;
    p = sp + 1;
  }
  return false;
}

int checkpoint_text_parse(const char *text, size_t len, int fields, checkpoint_line_fn line,
                          void *ctx, int64_t *count_out) {
  ASSERT(fields > 0 && fields <= CHECKPOINT_FIELDS_MAX);
  ASSERT(text != NULL || len == 0);
  char buf[CHECKPOINT_LINE_BYTES];
  size_t at = 0;
  bool too_long;
  int64_t version, count;
  if (!next_line(text, len, &at, buf, sizeof buf, &too_long) || !str_to_i64(buf, &version) ||
      version != 0)
    return ENV_EINVAL;
  if (!next_line(text, len, &at, buf, sizeof buf, &too_long) || !str_to_i64(buf, &count) ||
      count < 0 || count > CHECKPOINT_ENTRIES_MAX)
    return ENV_EINVAL;
  for (int64_t i = 0; i < count; i++) {
    char *tokens[CHECKPOINT_FIELDS_MAX];
    if (!next_line(text, len, &at, buf, sizeof buf, &too_long)) return ENV_EINVAL;
    if (!split_fields(buf, fields, tokens)) return ENV_EINVAL;
    int rc = line(ctx, i, tokens);
    if (rc != 0) return rc;
  }
  /* Nothing but blank lines may follow: more entries than the count says
   * means the file is not what was written. */
  while (next_line(text, len, &at, buf, sizeof buf, &too_long))
    if (buf[0] != 0) return ENV_EINVAL;
  if (too_long) return ENV_EINVAL;
  *count_out = count;
  return 0;
}

struct parse_ctx {
  struct checkpoint_entry *entries;
};

static int parse_offset_line(void *ctx, int64_t index, char **f) {
  struct parse_ctx *p = ctx;
  struct checkpoint_entry *e = &p->entries[index];
  size_t tlen = strlen(f[0]);
  int64_t partition, offset;
  if (tlen >= sizeof e->topic) return ENV_EINVAL;
  if (!str_to_i64(f[1], &partition) || partition < 0 || partition > INT32_MAX)
    return ENV_EINVAL;
  if (!str_to_i64(f[2], &offset)) return ENV_EINVAL;
  memcpy(e->topic, f[0], tlen + 1);
  e->partition = (int32_t)partition;
  e->offset = offset;
  return 0;
}

/* Counts the entry lines a text can hold, to size the array before parsing
 * (the count line alone cannot be trusted). */
static int64_t count_lines(const char *text, size_t len) {
  int64_t n = 0;
  for (size_t i = 0; i < len; i++) n += text[i] == '\n';
  return n + 1;
}

int checkpoint_parse(const char *text, size_t len, struct checkpoint_entry **entries_out,
                     int *count_out) {
  ASSERT(entries_out != NULL && count_out != NULL);
  *entries_out = NULL;
  *count_out = 0;
  int64_t lines = count_lines(text, len);
  if (len == 0 || lines > CHECKPOINT_ENTRIES_MAX + 3) return ENV_EINVAL;
  /* The frame takes two lines before the entries, so count < lines. */
  struct parse_ctx p = {.entries = calloc((size_t)lines, sizeof(struct checkpoint_entry))};
  ASSERT(p.entries != NULL);
  int64_t count = 0;
  int rc = checkpoint_text_parse(text, len, 3, parse_offset_line, &p, &count);
  ASSERT(rc != 0 || count < lines);
  if (rc != 0 || count == 0) {
    free(p.entries);
    return rc;
  }
  *entries_out = p.entries;
  *count_out = (int)count;
  return 0;
}

int checkpoint_read(struct env *env, const char *path, struct checkpoint_entry **entries_out,
                    int *count_out) {
  ASSERT(env != NULL && path != NULL);
  *entries_out = NULL;
  *count_out = 0;
  struct buf text;
  buf_init(&text);
  int rc = atomic_file_read(env, path, &text);
  if (rc == ENV_ENOENT) {
    buf_free(&text);
    return 0;
  }
  if (rc == 0) rc = checkpoint_parse((const char *)text.data, text.len, entries_out, count_out);
  if (rc == ENV_EINVAL) env_log(env, ENV_LOG_ERROR, "malformed checkpoint file %s", path);
  buf_free(&text);
  return rc;
}

void checkpoint_format(const struct checkpoint_entry *entries, int count, struct buf *out) {
  ASSERT(count >= 0 && count <= CHECKPOINT_ENTRIES_MAX);
  ASSERT(entries != NULL || count == 0);
  char line[CHECKPOINT_LINE_BYTES];
  size_t n = str_fmt(line, sizeof line, "0\n%d\n", count);
  buf_append(out, line, n);
  for (int i = 0; i < count; i++) {
    n = str_fmt(line, sizeof line, "%s %d %lld\n", entries[i].topic, entries[i].partition,
                (long long)entries[i].offset);
    ASSERT(n < sizeof line);
    buf_append(out, line, n);
  }
}

int checkpoint_write_then(struct env *env, const char *path,
                          const struct checkpoint_entry *entries, int count, env_fsync_fn done,
                          void *ctx) {
  if (count < 0 || count > CHECKPOINT_ENTRIES_MAX) return ENV_EINVAL;
  for (int i = 0; i < count; i++)
    if (!memchr(entries[i].topic, 0, sizeof entries[i].topic) || !entries[i].topic[0] ||
        strchr(entries[i].topic, ' ') || strchr(entries[i].topic, '\n'))
      return ENV_EINVAL;
  struct buf text;
  buf_init(&text);
  checkpoint_format(entries, count, &text);
  int rc = atomic_file_write(env, path, text.data, text.len, done, ctx);
  buf_free(&text);
  return rc;
}

int checkpoint_write(struct env *env, const char *path, const struct checkpoint_entry *entries,
                     int count) {
  return checkpoint_write_then(env, path, entries, count, NULL, NULL);
}
