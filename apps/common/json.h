/* The apps' one JSON reader (RFC 8259): a cursor over the text with one
 * call per expected token, so a caller's code is its schema (sluicectl's
 * reassignment and topics-to-move files), and a validator written on top
 * of it as a walk that skips one value (the producer app refuses a body
 * that is not a JSON object with the reason and the byte where it went
 * wrong; the consumer app embeds a stored value in its JSON view only when
 * it is valid JSON). One lexer: strings with every escape (\uXXXX decoded
 * to UTF-8, surrogate pairs checked) and valid UTF-8 only, numbers with
 * fraction and exponent, true/false/null. Nesting through json_open is
 * bounded (JSON_DEPTH_MAX) so a hostile body cannot exhaust the stack. The
 * first error sticks, with the byte offset where the text went wrong. */
#ifndef SLUICE_APPS_JSON_H
#define SLUICE_APPS_JSON_H

#include <stdbool.h>
#include <stddef.h>

enum { JSON_DEPTH_MAX = 64, JSON_REASON_BYTES_MAX = 96 };

struct json {
  const char *source; /* the file name for error, or NULL for none */
  const char *text;
  size_t len, at;
  int depth; /* containers json_open entered and json_more has not left */
  bool failed;
  size_t error_at;                    /* the byte where the text went wrong */
  char reason[JSON_REASON_BYTES_MAX]; /* what, e.g. "expected ':'" */
  char error[512]; /* "FILE:LINE:COLUMN (byte N): what" once failed, if source */
};

void json_init(struct json *j, const char *source, const char *text, size_t len);

/* Records the error at the cursor (the first one wins); returns false. */
bool json_fail(struct json *j, const char *what);
/* The same, pointing at byte `at` (where the offending token starts). */
bool json_fail_at(struct json *j, size_t at, const char *what);
/* Skips whitespace and returns where the next token starts. */
size_t json_here(struct json *j);
/* Skips whitespace; true if the next character is ch (not consumed). */
bool json_at(struct json *j, char ch);
/* Consumes ch after whitespace, else fails. */
bool json_expect(struct json *j, char ch);
/* After a member or element: true past a ',', false past `close` (or on an
 * error, with j->failed set). */
bool json_more(struct json *j, char close);
/* Opens an object or array: true if it has a first member (false past an
 * empty one, or on an error: "nested too deep" past JSON_DEPTH_MAX). */
bool json_open(struct json *j, char open, char close);
/* A string, decoded into out[0..cap) NUL-terminated ("\u0000" is refused
 * there, as a C string cannot hold it); out == NULL only checks and skips
 * it. */
bool json_string(struct json *j, char *out, size_t cap);
/* A whole number in [lo, hi] (no fraction or exponent). */
bool json_int(struct json *j, long lo, long hi, long *out);
/* Any number; only checked and skipped. */
bool json_number(struct json *j);
/* The literal word ("true", "false" or "null"). */
bool json_word(struct json *j, const char *word);
/* Any one value, nested ones included; only checked and skipped. */
bool json_skip_value(struct json *j);
/* Only whitespace is left. */
bool json_end(struct json *j);

/* The validator's answer: where s stopped being JSON and why. */
struct json_error {
  size_t offset;
  char reason[JSON_REASON_BYTES_MAX];
};

/* True if s[0..n) is one JSON value, surrounded only by whitespace. */
bool json_valid(const char *s, size_t n, struct json_error *err);
/* The same, and the value is an object. */
bool json_valid_object(const char *s, size_t n, struct json_error *err);

#endif
