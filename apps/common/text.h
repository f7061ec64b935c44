/* Growing text buffers and the escaping the apps need: JSON strings (RFC
 * 8259 section 7) and HTML text (the five characters that can end a text
 * node or an attribute). The apps run on real threads outside broker/, so
 * plain malloc; every buffer has a byte bound, past which appends fail. */
#ifndef SLUICE_APPS_TEXT_H
#define SLUICE_APPS_TEXT_H

#include <stdbool.h>
#include <stddef.h>

struct text {
  char *data; /* NUL-terminated while ok */
  size_t len;
  size_t cap;
  size_t bytes_max; /* appends past it fail and set ok = false */
  bool ok;
};

void text_init(struct text *t, size_t bytes_max);
void text_free(struct text *t);
bool text_add(struct text *t, const char *s, size_t n);
bool text_adds(struct text *t, const char *s);
bool text_addf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s[0..n) as a quoted JSON string; bytes that are not valid UTF-8 become
 * U+FFFD so the output is always valid JSON. */
bool text_add_json_string(struct text *t, const char *s, size_t n);
/* s[0..n) with & < > " ' as entities; invalid UTF-8 as U+FFFD. */
bool text_add_html(struct text *t, const char *s, size_t n);

/* The length of the valid UTF-8 sequence at s[0..n), or 0 if it is not one
 * (overlong forms, surrogates and code points past U+10FFFF are invalid). */
size_t utf8_sequence_len(const unsigned char *s, size_t n);

#endif
