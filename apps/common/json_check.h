/* A JSON validator (RFC 8259): the producer app refuses a body that is not
 * a JSON object with the reason and the byte where it went wrong; the
 * consumer app embeds a stored value in its JSON view only when it is
 * valid JSON. Nesting is bounded (JSON_DEPTH_MAX) so a hostile body cannot
 * exhaust the stack. */
#ifndef SLUICE_APPS_JSON_CHECK_H
#define SLUICE_APPS_JSON_CHECK_H

#include <stdbool.h>
#include <stddef.h>

enum { JSON_DEPTH_MAX = 64 };

struct json_error {
  size_t offset;      /* the byte where the input stopped being JSON */
  const char *reason; /* a static phrase, e.g. "expected ':'" */
};

/* True if s[0..n) is one JSON value, surrounded only by whitespace. */
bool json_valid(const char *s, size_t n, struct json_error *err);
/* The same, and the value is an object. */
bool json_valid_object(const char *s, size_t n, struct json_error *err);

#endif
