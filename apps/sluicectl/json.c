#include "apps/sluicectl/json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/sluicectl/admin.h"
#include "base/assert.h"

void json_init(struct json *j, const char *source, const char *text, size_t len) {
  ASSERT(source != NULL && text != NULL);
  memset(j, 0, sizeof *j);
  j->source = source;
  j->text = text;
  j->len = len;
}

bool json_load(const char *path, char **text, size_t *len) {
  FILE *file = fopen(path, "rb");
  if (file == NULL) return fail("cannot open %s: %s", path, strerror(errno)), false;
  char *buf = malloc(JSON_FILE_BYTES_MAX + 1);
  ASSERT(buf != NULL);
  size_t n = fread(buf, 1, JSON_FILE_BYTES_MAX + 1, file);
  bool bad = ferror(file) != 0;
  fclose(file);
  if (bad || n > JSON_FILE_BYTES_MAX) {
    free(buf);
    if (bad) return fail("cannot read %s", path), false;
    return fail("%s is larger than %d bytes", path, JSON_FILE_BYTES_MAX), false;
  }
  buf[n] = '\0';
  *text = buf;
  *len = n;
  return true;
}

bool json_fail(struct json *j, const char *what) {
  if (j->failed) return false;
  j->failed = true;
  size_t line = 1, column = 1;
  for (size_t i = 0; i < j->at && i < j->len; i++) {
    if (j->text[i] == '\n') {
      line++;
      column = 1;
    } else {
      column++;
    }
  }
  snprintf(j->error, sizeof j->error, "%s:%zu:%zu (byte %zu): %s", j->source, line, column,
           j->at, what);
  return false;
}

static void skip_space(struct json *j) {
  while (j->at < j->len && strchr(" \t\r\n", j->text[j->at]) && j->text[j->at] != '\0') j->at++;
}

bool json_fail_at(struct json *j, size_t at, const char *what) {
  if (j->failed) return false;
  ASSERT(at <= j->len);
  j->at = at;
  return json_fail(j, what);
}

size_t json_here(struct json *j) {
  skip_space(j);
  return j->at;
}

bool json_at(struct json *j, char ch) {
  if (j->failed) return false;
  skip_space(j);
  return j->at < j->len && j->text[j->at] == ch;
}

bool json_expect(struct json *j, char ch) {
  if (j->failed) return false;
  if (!json_at(j, ch)) {
    char what[64];
    snprintf(what, sizeof what, "expected '%c'", ch);
    return json_fail(j, what);
  }
  j->at++;
  return true;
}

bool json_more(struct json *j, char close) {
  if (j->failed) return false;
  if (json_at(j, ',')) {
    j->at++;
    return true;
  }
  if (json_at(j, close)) {
    j->at++;
    return false;
  }
  char what[64];
  snprintf(what, sizeof what, "expected ',' or '%c'", close);
  return json_fail(j, what);
}

bool json_open(struct json *j, char open, char close) {
  if (!json_expect(j, open)) return false;
  if (!json_at(j, close)) return !j->failed;
  j->at++;
  return false;
}

bool json_string(struct json *j, char *out, size_t cap) {
  ASSERT(cap > 0);
  if (!json_expect(j, '"')) return false;
  size_t n = 0;
  while (j->at < j->len && j->text[j->at] != '"') {
    char ch = j->text[j->at];
    if ((unsigned char)ch < 0x20) return json_fail(j, "control character in a string");
    if (ch == '\\') {
      char next = j->at + 1 < j->len ? j->text[j->at + 1] : '\0';
      if (next != '"' && next != '\\' && next != '/')
        return json_fail(j, "unsupported escape in a string");
      ch = next;
      j->at++;
    }
    if (n + 1 >= cap) return json_fail(j, "string too long");
    out[n++] = ch;
    j->at++;
  }
  if (j->at >= j->len) return json_fail(j, "unterminated string");
  j->at++;
  out[n] = '\0';
  return true;
}

bool json_int(struct json *j, long lo, long hi, long *out) {
  if (j->failed) return false;
  skip_space(j);
  size_t start = j->at;
  if (j->at < j->len && j->text[j->at] == '-') j->at++;
  size_t digits = 0;
  long long v = 0;
  while (j->at < j->len && j->text[j->at] >= '0' && j->text[j->at] <= '9' && digits < 12) {
    v = v * 10 + (j->text[j->at++] - '0');
    digits++;
  }
  bool more = j->at < j->len && strchr("0123456789.eE", j->text[j->at]) && j->text[j->at];
  if (digits == 0 || more) {
    j->at = start;
    return json_fail(j, "expected a whole number");
  }
  if (j->text[start] == '-') v = -v;
  if (v < lo || v > hi) {
    j->at = start;
    char what[96];
    snprintf(what, sizeof what, "number out of range [%ld, %ld]", lo, hi);
    return json_fail(j, what);
  }
  *out = (long)v;
  return true;
}

bool json_end(struct json *j) {
  if (j->failed) return false;
  skip_space(j);
  return j->at == j->len || json_fail(j, "unexpected text after the end");
}
