#include "apps/common/json.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "apps/common/text.h"

/* The apps do not link broker/ (its ASSERT needs sl_panic), so the
 * preconditions here are the C library's assert, which stays on: the
 * Makefile never defines NDEBUG. */

enum { WHOLE_DIGITS_MAX = 18 }; /* any 18 digits fit in a long long */

void json_init(struct json *j, const char *source, const char *text, size_t len) {
  assert(text != NULL || len == 0);
  memset(j, 0, sizeof *j);
  j->source = source;
  j->text = text;
  j->len = len;
}

/* ---- errors and the cursor ---- */

bool json_fail(struct json *j, const char *what) {
  if (j->failed) return false;
  j->failed = true;
  j->error_at = j->at;
  snprintf(j->reason, sizeof j->reason, "%s", what);
  if (j->source == NULL) return false;
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

bool json_fail_at(struct json *j, size_t at, const char *what) {
  if (j->failed) return false;
  assert(at <= j->len);
  j->at = at;
  return json_fail(j, what);
}

static bool is_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'; }

static void skip_space(struct json *j) {
  while (j->at < j->len && is_space(j->text[j->at])) j->at++;
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
    assert(j->depth > 0); /* every json_more(close) follows a json_open */
    j->depth--;
    j->at++;
    return false;
  }
  char what[64];
  snprintf(what, sizeof what, "expected ',' or '%c'", close);
  return json_fail(j, what);
}

bool json_open(struct json *j, char open, char close) {
  if (json_at(j, open) && j->depth >= JSON_DEPTH_MAX) return json_fail(j, "nested too deep");
  if (!json_expect(j, open)) return false;
  if (json_at(j, close)) {
    j->at++;
    return false;
  }
  if (j->failed) return false;
  j->depth++;
  return true;
}

bool json_end(struct json *j) {
  if (j->failed) return false;
  skip_space(j);
  return j->at == j->len || json_fail(j, "unexpected text after the end");
}

/* ---- strings (RFC 8259 section 7) ---- */

static bool hex4(const struct json *j, size_t at, unsigned *out) {
  if (at + 4 > j->len) return false;
  unsigned v = 0;
  for (size_t i = at; i < at + 4; i++) {
    char ch = j->text[i];
    unsigned d = ch >= '0' && ch <= '9'   ? (unsigned)(ch - '0')
                 : ch >= 'a' && ch <= 'f' ? (unsigned)(ch - 'a' + 10)
                 : ch >= 'A' && ch <= 'F' ? (unsigned)(ch - 'A' + 10)
                                          : 16;
    if (d == 16) return false;
    v = v * 16 + d;
  }
  *out = v;
  return true;
}

/* The low half of a surrogate pair: "\uDC00".."\uDFFF" at `at`. */
static bool low_surrogate(const struct json *j, size_t at, unsigned *out) {
  return at + 1 < j->len && j->text[at] == '\\' && j->text[at + 1] == 'u' &&
         hex4(j, at + 2, out) && *out >= 0xDC00 && *out <= 0xDFFF;
}

/* "\uXXXX" at j->at, with its low half if it is a high surrogate: a lone
 * half is no character (section 8.2), so it is refused. */
static bool unicode_escape(struct json *j, unsigned *cp) {
  size_t b = j->at;
  unsigned hi, lo;
  if (!hex4(j, b + 2, &hi)) return json_fail(j, "bad \\u escape");
  j->at = b + 6;
  if (hi < 0xD800 || hi > 0xDFFF) {
    *cp = hi;
    return true;
  }
  if (hi > 0xDBFF || !low_surrogate(j, j->at, &lo))
    return json_fail_at(j, b, "lone surrogate in a \\u escape");
  j->at += 6;
  *cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
  return true;
}

/* The escape at j->at (a backslash), decoded into *cp; moves past it. */
static bool escape(struct json *j, unsigned *cp) {
  static const char NAMED[] = "\"\\/bfnrt";
  static const char MEANS[] = "\"\\/\b\f\n\r\t";
  if (j->at + 1 >= j->len) return json_fail(j, "unterminated string");
  char e = j->text[j->at + 1];
  const char *hit = e != '\0' ? strchr(NAMED, e) : NULL;
  if (hit != NULL) {
    *cp = (unsigned char)MEANS[hit - NAMED];
    j->at += 2;
    return true;
  }
  if (e == 'u') return unicode_escape(j, cp);
  return json_fail(j, "bad escape in a string");
}

static size_t utf8_encode(unsigned cp, char out[4]) {
  assert(cp <= 0x10FFFF);
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

struct sink {
  char *out; /* NULL: only check */
  size_t cap, n;
};

static bool keep(struct json *j, size_t at, struct sink *s, const char *bytes, size_t k) {
  if (s->out == NULL) return true;
  if (s->n + k >= s->cap) return json_fail_at(j, at, "string too long");
  memcpy(s->out + s->n, bytes, k);
  s->n += k;
  return true;
}

/* One character of a string's body: an escape or a UTF-8 sequence. */
static bool string_char(struct json *j, struct sink *s) {
  size_t at = j->at;
  unsigned char ch = (unsigned char)j->text[at];
  if (ch < 0x20) return json_fail(j, "control character in a string");
  if (ch == '\\') {
    unsigned cp;
    if (!escape(j, &cp)) return false;
    if (cp == 0 && s->out != NULL) return json_fail_at(j, at, "\\u0000 in a string");
    char bytes[4];
    return keep(j, at, s, bytes, utf8_encode(cp, bytes));
  }
  size_t k = utf8_sequence_len((const unsigned char *)j->text + at, j->len - at);
  if (k == 0) return json_fail(j, "invalid UTF-8");
  j->at += k;
  return keep(j, at, s, j->text + at, k);
}

bool json_string(struct json *j, char *out, size_t cap) {
  assert(out == NULL || cap > 0);
  if (!json_expect(j, '"')) return false;
  struct sink s = {out, cap, 0};
  while (j->at < j->len && j->text[j->at] != '"')
    if (!string_char(j, &s)) return false;
  if (j->at >= j->len) return json_fail(j, "unterminated string");
  j->at++;
  if (out != NULL) out[s.n] = '\0';
  return true;
}

/* ---- numbers (section 6) and literals ---- */

static size_t digits(struct json *j) {
  size_t start = j->at;
  while (j->at < j->len && j->text[j->at] >= '0' && j->text[j->at] <= '9') j->at++;
  return j->at - start;
}

static bool at_char(const struct json *j, const char *set) {
  return j->at < j->len && j->text[j->at] != '\0' && strchr(set, j->text[j->at]) != NULL;
}

/* The number at j->at: NULL, or why not with j->at where it went wrong.
 * *whole is false past a fraction or an exponent. The caller decides how
 * to report (json_int names the whole token instead). */
static const char *lex_number(struct json *j, bool *whole) {
  *whole = true;
  if (at_char(j, "-")) j->at++;
  if (at_char(j, "0"))
    j->at++;
  else if (digits(j) == 0)
    return "bad number";
  if (at_char(j, ".")) {
    j->at++;
    *whole = false;
    if (digits(j) == 0) return "bad number fraction";
  }
  if (at_char(j, "eE")) {
    j->at++;
    *whole = false;
    if (at_char(j, "+-")) j->at++;
    if (digits(j) == 0) return "bad number exponent";
  }
  return NULL;
}

bool json_number(struct json *j) {
  if (j->failed) return false;
  skip_space(j);
  bool whole;
  const char *why = lex_number(j, &whole);
  return why == NULL || json_fail(j, why);
}

/* The value of a whole number token s[0..n) already lexed; false past
 * WHOLE_DIGITS_MAX digits (out of every range json_int is given). */
static bool whole_value(const char *s, size_t n, long long *out) {
  bool negative = n > 0 && s[0] == '-';
  size_t first = negative ? 1 : 0;
  if (n - first > WHOLE_DIGITS_MAX) return false;
  long long v = 0;
  for (size_t i = first; i < n; i++) v = v * 10 + (s[i] - '0');
  *out = negative ? -v : v;
  return true;
}

bool json_int(struct json *j, long lo, long hi, long *out) {
  if (j->failed) return false;
  size_t start = json_here(j);
  bool whole = false;
  if (lex_number(j, &whole) != NULL || !whole)
    return json_fail_at(j, start, "expected a whole number");
  long long v;
  if (!whole_value(j->text + start, j->at - start, &v) || v < lo || v > hi) {
    char what[96];
    snprintf(what, sizeof what, "number out of range [%ld, %ld]", lo, hi);
    return json_fail_at(j, start, what);
  }
  *out = (long)v;
  return true;
}

bool json_word(struct json *j, const char *word) {
  if (j->failed) return false;
  skip_space(j);
  size_t n = strlen(word);
  if (j->len - j->at < n || memcmp(j->text + j->at, word, n) != 0)
    return json_fail(j, "unexpected character");
  j->at += n;
  return true;
}

/* ---- skipping a value, and the validator on top of it ---- */

static bool skip_member_name(struct json *j) {
  if (!json_at(j, '"')) return json_fail(j, "expected a string key");
  return json_string(j, NULL, 0) && json_expect(j, ':');
}

/* Recursion through json_skip_value is bounded by json_open's depth. */
static bool skip_container(struct json *j, char open) {
  char close = open == '{' ? '}' : ']';
  if (!json_open(j, open, close)) return !j->failed;
  do {
    if (open == '{' && !skip_member_name(j)) return false;
    if (!json_skip_value(j)) return false;
  } while (json_more(j, close));
  return !j->failed;
}

bool json_skip_value(struct json *j) {
  if (j->failed) return false;
  skip_space(j);
  if (j->at >= j->len) return json_fail(j, "unexpected end");
  char ch = j->text[j->at];
  if (ch == '{' || ch == '[') return skip_container(j, ch);
  if (ch == '"') return json_string(j, NULL, 0);
  if (ch == '-' || (ch >= '0' && ch <= '9')) return json_number(j);
  if (ch == 't') return json_word(j, "true");
  if (ch == 'f') return json_word(j, "false");
  if (ch == 'n') return json_word(j, "null");
  return json_fail(j, "unexpected character");
}

static bool answer(const struct json *j, bool ok, struct json_error *err) {
  assert(ok != j->failed);
  if (!ok && err != NULL) {
    err->offset = j->error_at;
    snprintf(err->reason, sizeof err->reason, "%s", j->reason);
  }
  return ok;
}

bool json_valid(const char *s, size_t n, struct json_error *err) {
  struct json j;
  json_init(&j, NULL, s, n);
  bool ok = json_skip_value(&j) && json_end(&j);
  return answer(&j, ok, err);
}

bool json_valid_object(const char *s, size_t n, struct json_error *err) {
  struct json j;
  json_init(&j, NULL, s, n);
  bool ok = (json_at(&j, '{') || json_fail(&j, "the body must be a JSON object")) &&
            json_skip_value(&j) && json_end(&j);
  return answer(&j, ok, err);
}
