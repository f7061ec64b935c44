#include "base/str.h"

#include <string.h>

#include "base/assert.h"

struct out {
  char *p;
  size_t cap;
  size_t len;
};

static void put(struct out *o, char c) {
  if (o->len + 1 < o->cap) o->p[o->len] = c;
  o->len++;
}

static void put_padded(struct out *o, const char *s, size_t n, int width, bool left, char pad) {
  size_t fill = width > 0 && (size_t)width > n ? (size_t)width - n : 0;
  if (!left)
    while (fill--) put(o, pad);
  for (size_t i = 0; i < n; i++) put(o, s[i]);
  if (left)
    while (fill--) put(o, ' ');
}

static void put_number(struct out *o, uint64_t v, bool negative, unsigned base, int width,
                       bool left, bool zero) {
  char digits[24];
  size_t n = 0;
  do {
    digits[n++] = "0123456789abcdef"[v % base];
    v /= base;
  } while (v && n < sizeof digits);
  char text[26];
  size_t t = 0;
  if (negative) text[t++] = '-';
  if (zero && !left && negative && width > 0) {
    /* "-0042": the sign goes before the zero padding. */
    while ((int)(t + n) < width) text[t++] = '0';
  } else if (zero && !left) {
    while ((int)(t + n) < width && t < 24 - n) text[t++] = '0';
  }
  while (n) text[t++] = digits[--n];
  put_padded(o, text, t, width, left, ' ');
}

size_t str_vfmt(char *out, size_t cap, const char *fmt, va_list ap) {
  struct out o = {out, cap, 0};
  for (const char *f = fmt; *f; f++) {
    if (*f != '%') {
      put(&o, *f);
      continue;
    }
    f++;
    bool left = false, zero = false;
    for (;; f++) {
      if (*f == '-')
        left = true;
      else if (*f == '0')
        zero = true;
      else
        break;
    }
    int width = 0;
    while (*f >= '0' && *f <= '9') width = width * 10 + (*f++ - '0');
    int precision = -1;
    if (*f == '.') {
      f++;
      if (*f == '*') {
        precision = va_arg(ap, int);
        f++;
      } else {
        precision = 0;
        while (*f >= '0' && *f <= '9') precision = precision * 10 + (*f++ - '0');
      }
    }
    int longs = 0;
    bool size = false;
    for (;; f++) {
      if (*f == 'l')
        longs++;
      else if (*f == 'z' || *f == 'j')
        size = true;
      else
        break;
    }
    switch (*f) {
    case 's': {
      const char *s = va_arg(ap, const char *);
      if (!s) s = "(null)";
      size_t n = precision >= 0 ? strnlen(s, (size_t)precision) : strlen(s);
      put_padded(&o, s, n, width, left, ' ');
      break;
    }
    case 'c': {
      char c = (char)va_arg(ap, int);
      put_padded(&o, &c, 1, width, left, ' ');
      break;
    }
    case 'd':
    case 'i': {
      int64_t v = size || longs >= 2 ? va_arg(ap, int64_t)
                  : longs            ? va_arg(ap, long)
                                     : va_arg(ap, int);
      uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
      put_number(&o, mag, v < 0, 10, width, left, zero);
      break;
    }
    case 'u':
    case 'x': {
      uint64_t v = size || longs >= 2 ? va_arg(ap, uint64_t)
                   : longs            ? va_arg(ap, unsigned long)
                                      : va_arg(ap, unsigned);
      put_number(&o, v, false, *f == 'x' ? 16 : 10, width, left, zero);
      break;
    }
    case '%':
      put(&o, '%');
      break;
    default:
      ASSERT(!"unsupported format conversion");
    }
  }
  if (o.cap) o.p[o.len < o.cap ? o.len : o.cap - 1] = 0;
  return o.len;
}

size_t str_fmt(char *out, size_t cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  size_t n = str_vfmt(out, cap, fmt, ap);
  va_end(ap);
  return n;
}

bool str_to_i64(const char *s, int64_t *out) {
  bool negative = false;
  if (*s == '-' || *s == '+') negative = *s++ == '-';
  if (!*s) return false;
  uint64_t v = 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return false;
    unsigned d = (unsigned)(*s - '0');
    if (v > (UINT64_C(9223372036854775808) - d) / 10) return false;
    v = v * 10 + d;
  }
  if (!negative && v > (uint64_t)INT64_MAX) return false;
  *out = negative ? (int64_t)(0 - v) : (int64_t)v;
  return true;
}
