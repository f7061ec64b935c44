#include "sim/metrics_check.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/buf.h"
#include "server/node.h"

static bool name_char(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
         (!first && c >= '0' && c <= '9');
}

/* name{k="v",...} value: the length of the name and labels, or 0. */
static size_t sample_head(const char *s, size_t n) {
  size_t i = 0;
  while (i < n && name_char(s[i], i == 0)) i++;
  if (i == 0) return 0;
  if (i < n && s[i] == '{') {
    for (i++; i < n && s[i] != '}'; i++) {
      size_t k = i;
      while (i < n && name_char(s[i], i == k)) i++;
      if (i == k || i + 1 >= n || s[i] != '=' || s[i + 1] != '"') return 0;
      for (i += 2; i < n && s[i] != '"'; i++)
        if (s[i] == '\\') i++;
      if (i >= n) return 0;
      if (i + 1 < n && s[i + 1] == ',') i++;
    }
    if (i >= n) return 0;
    i++;
  }
  return i;
}

static bool number(const char *s, size_t n) {
  if (n == 4 && memcmp(s, "+Inf", 4) == 0) return true;
  char text[64];
  if (n == 0 || n >= sizeof text) return false;
  memcpy(text, s, n);
  text[n] = '\0';
  char *end;
  strtod(text, &end);
  return *end == '\0';
}

static bool line_valid(const char *s, size_t n) {
  if (n == 0) return false;
  if (s[0] == '#')
    return (n > 7 && memcmp(s, "# HELP ", 7) == 0) || (n > 7 && memcmp(s, "# TYPE ", 7) == 0);
  size_t head = sample_head(s, n);
  return head > 0 && head < n && s[head] == ' ' && number(s + head + 1, n - head - 1);
}

int64_t metrics_check_node(const struct node *node) {
  struct buf text;
  buf_init(&text);
  node_metrics_text(node, &text);
  ASSERT(text.len > 0);
  int64_t led = -1;
  const char *s = (const char *)text.data;
  for (size_t at = 0; at < text.len;) {
    const char *nl = memchr(s + at, '\n', text.len - at);
    ASSERT(nl != NULL); /* every line ends with a newline */
    size_t n = (size_t)(nl - (s + at));
    if (!line_valid(s + at, n)) {
      fprintf(stderr, "metrics-check: malformed line: %.*s\n", (int)n, s + at);
      ASSERT(false);
    }
    if (n > 21 && memcmp(s + at, "sluice_partitions_led ", 22) == 0)
      led = strtoll(s + at + 22, NULL, 10);
    at += n + 1;
  }
  buf_free(&text);
  ASSERT(led >= 0);
  return led;
}
