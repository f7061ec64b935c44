#include "apps/common/json_check.h"

#include <string.h>

#include "apps/common/text.h"

struct cursor {
  const unsigned char *s;
  size_t n;
  size_t i;
  struct json_error *err;
};

static bool fail(struct cursor *c, const char *reason) {
  if (c->err) {
    c->err->offset = c->i;
    c->err->reason = reason;
  }
  return false;
}

static void skip_space(struct cursor *c) {
  while (c->i < c->n && strchr(" \t\r\n", c->s[c->i]) != NULL && c->s[c->i] != '\0') c->i++;
}

static bool is_hex(unsigned char ch) {
  return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

static bool parse_string(struct cursor *c) {
  c->i++; /* the opening quote */
  while (c->i < c->n) {
    unsigned char ch = c->s[c->i];
    if (ch == '"') {
      c->i++;
      return true;
    }
    if (ch < 0x20) return fail(c, "control character in a string");
    if (ch == '\\') {
      if (c->i + 1 >= c->n) break;
      unsigned char e = c->s[c->i + 1];
      if (e == 'u') {
        for (size_t k = 2; k < 6; k++)
          if (c->i + k >= c->n || !is_hex(c->s[c->i + k])) return fail(c, "bad \\u escape");
        c->i += 6;
      } else if (strchr("\"\\/bfnrt", e) != NULL && e != '\0') {
        c->i += 2;
      } else {
        return fail(c, "bad escape in a string");
      }
      continue;
    }
    size_t len = utf8_sequence_len(c->s + c->i, c->n - c->i);
    if (len == 0) return fail(c, "invalid UTF-8");
    c->i += len;
  }
  return fail(c, "unterminated string");
}

static size_t digits(struct cursor *c) {
  size_t start = c->i;
  while (c->i < c->n && c->s[c->i] >= '0' && c->s[c->i] <= '9') c->i++;
  return c->i - start;
}

static bool parse_number(struct cursor *c) {
  if (c->s[c->i] == '-') c->i++;
  if (c->i < c->n && c->s[c->i] == '0') {
    c->i++;
  } else if (digits(c) == 0) {
    return fail(c, "bad number");
  }
  if (c->i < c->n && c->s[c->i] == '.') {
    c->i++;
    if (digits(c) == 0) return fail(c, "bad number fraction");
  }
  if (c->i < c->n && (c->s[c->i] == 'e' || c->s[c->i] == 'E')) {
    c->i++;
    if (c->i < c->n && (c->s[c->i] == '+' || c->s[c->i] == '-')) c->i++;
    if (digits(c) == 0) return fail(c, "bad number exponent");
  }
  return true;
}

static bool parse_word(struct cursor *c, const char *word) {
  size_t len = strlen(word);
  if (c->n - c->i < len || memcmp(c->s + c->i, word, len) != 0)
    return fail(c, "unexpected character");
  c->i += len;
  return true;
}

static bool parse_value(struct cursor *c, int depth);

/* An object or an array: open, members separated by commas, close. */
static bool parse_container(struct cursor *c, int depth, bool object) {
  if (depth >= JSON_DEPTH_MAX) return fail(c, "nested too deep");
  char close = object ? '}' : ']';
  c->i++;
  skip_space(c);
  if (c->i < c->n && c->s[c->i] == (unsigned char)close) {
    c->i++;
    return true;
  }
  for (;;) {
    if (object) {
      if (c->i >= c->n || c->s[c->i] != '"') return fail(c, "expected a string key");
      if (!parse_string(c)) return false;
      skip_space(c);
      if (c->i >= c->n || c->s[c->i] != ':') return fail(c, "expected ':'");
      c->i++;
    }
    if (!parse_value(c, depth + 1)) return false;
    skip_space(c);
    if (c->i < c->n && c->s[c->i] == ',') {
      c->i++;
      skip_space(c);
      continue;
    }
    if (c->i < c->n && c->s[c->i] == (unsigned char)close) {
      c->i++;
      return true;
    }
    return fail(c, object ? "expected ',' or '}'" : "expected ',' or ']'");
  }
}

static bool parse_value(struct cursor *c, int depth) {
  skip_space(c);
  if (c->i >= c->n) return fail(c, "unexpected end");
  unsigned char ch = c->s[c->i];
  if (ch == '{' || ch == '[') return parse_container(c, depth, ch == '{');
  if (ch == '"') return parse_string(c);
  if (ch == '-' || (ch >= '0' && ch <= '9')) return parse_number(c);
  if (ch == 't') return parse_word(c, "true");
  if (ch == 'f') return parse_word(c, "false");
  if (ch == 'n') return parse_word(c, "null");
  return fail(c, "unexpected character");
}

bool json_valid(const char *s, size_t n, struct json_error *err) {
  struct cursor c = {(const unsigned char *)s, n, 0, err};
  if (!parse_value(&c, 0)) return false;
  skip_space(&c);
  if (c.i != n) return fail(&c, "trailing characters after the value");
  return true;
}

bool json_valid_object(const char *s, size_t n, struct json_error *err) {
  struct cursor c = {(const unsigned char *)s, n, 0, err};
  skip_space(&c);
  if (c.i >= n || s[c.i] != '{') return fail(&c, "the body must be a JSON object");
  return json_valid(s, n, err);
}
