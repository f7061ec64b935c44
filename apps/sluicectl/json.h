/* A small JSON reader for the files sluicectl takes (kafka-reassign-
 * partitions.sh's reassignment and topics-to-move files): a cursor over the
 * text with one call per expected token, so the caller's code is the
 * schema. The first error sticks, with the file, line, column and byte
 * offset where the text went wrong. Strings are plain (escapes other than
 * \" \\ \/ are refused: topic names are [a-zA-Z0-9._-]); numbers are
 * integers. */
#ifndef SLUICECTL_JSON_H
#define SLUICECTL_JSON_H

#include <stdbool.h>
#include <stddef.h>

enum { JSON_FILE_BYTES_MAX = 4 << 20 };

struct json {
  const char *source; /* the file name, for errors */
  const char *text;
  size_t len, at;
  bool failed;
  char error[512]; /* "FILE:LINE:COLUMN (byte N): what" once failed */
};

void json_init(struct json *j, const char *source, const char *text, size_t len);
/* Reads a whole file (at most JSON_FILE_BYTES_MAX) into *text (malloc()ed,
 * NUL-terminated); false with "Error: ..." printed. */
bool json_load(const char *path, char **text, size_t *len);

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
 * empty one, or on an error). */
bool json_open(struct json *j, char open, char close);
bool json_string(struct json *j, char *out, size_t cap);
bool json_int(struct json *j, long lo, long hi, long *out);
/* Only whitespace is left. */
bool json_end(struct json *j);

#endif
