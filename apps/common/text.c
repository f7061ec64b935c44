#include "apps/common/text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void text_init(struct text *t, size_t bytes_max) {
  memset(t, 0, sizeof *t);
  t->bytes_max = bytes_max;
  t->ok = true;
}

void text_free(struct text *t) {
  free(t->data);
  memset(t, 0, sizeof *t);
}

static bool text_reserve(struct text *t, size_t more) {
  if (!t->ok) return false;
  if (more > t->bytes_max || t->len > t->bytes_max - more) return t->ok = false;
  if (t->len + more + 1 <= t->cap) return true;
  size_t cap = t->cap ? t->cap : 256;
  while (cap < t->len + more + 1) cap *= 2;
  char *data = realloc(t->data, cap);
  if (data == NULL) return t->ok = false;
  t->data = data;
  t->cap = cap;
  return true;
}

bool text_add(struct text *t, const char *s, size_t n) {
  if (!text_reserve(t, n)) return false;
  memcpy(t->data + t->len, s, n);
  t->len += n;
  t->data[t->len] = '\0';
  return true;
}

bool text_adds(struct text *t, const char *s) { return text_add(t, s, strlen(s)); }

bool text_addf(struct text *t, const char *fmt, ...) {
  char small[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) return t->ok = false;
  if ((size_t)n < sizeof small) return text_add(t, small, (size_t)n);
  if (!text_reserve(t, (size_t)n)) return false;
  va_start(ap, fmt);
  vsnprintf(t->data + t->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  t->len += (size_t)n;
  return true;
}

size_t utf8_sequence_len(const unsigned char *s, size_t n) {
  if (n == 0) return 0;
  unsigned c = s[0];
  if (c < 0x80) return 1;
  size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
  if (len == 0 || c > 0xF4 || len > n) return 0;
  for (size_t i = 1; i < len; i++)
    if ((s[i] & 0xC0) != 0x80) return 0;
  if (c == 0xE0 && s[1] < 0xA0) return 0;  /* overlong */
  if (c == 0xED && s[1] >= 0xA0) return 0; /* surrogate */
  if (c == 0xF0 && s[1] < 0x90) return 0;  /* overlong */
  if (c == 0xF4 && s[1] >= 0x90) return 0; /* past U+10FFFF */
  return len;
}

static const char REPLACEMENT[] = "\xEF\xBF\xBD";

bool text_add_json_string(struct text *t, const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  text_add(t, "\"", 1);
  for (size_t i = 0; i < n;) {
    unsigned char c = u[i];
    size_t len = utf8_sequence_len(u + i, n - i);
    if (len == 0) {
      text_add(t, REPLACEMENT, 3);
      i++;
      continue;
    }
    if (c == '"' || c == '\\') {
      char esc[2] = {'\\', (char)c};
      text_add(t, esc, 2);
    } else if (c < 0x20) {
      text_addf(t, "\\u%04x", c);
    } else {
      text_add(t, s + i, len);
    }
    i += len;
  }
  return text_add(t, "\"", 1);
}

bool text_add_html(struct text *t, const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  for (size_t i = 0; i < n;) {
    size_t len = utf8_sequence_len(u + i, n - i);
    if (len == 0) {
      text_add(t, REPLACEMENT, 3);
      i++;
      continue;
    }
    switch (s[i]) {
    case '&':
      text_adds(t, "&amp;");
      break;
    case '<':
      text_adds(t, "&lt;");
      break;
    case '>':
      text_adds(t, "&gt;");
      break;
    case '"':
      text_adds(t, "&quot;");
      break;
    case '\'':
      text_adds(t, "&#39;");
      break;
    default:
      text_add(t, s + i, len);
    }
    i += len;
  }
  return t->ok;
}
