#include "apps/common/dotenv.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { DOTENV_LINE_BYTES_MAX = 4096, DOTENV_LINES_MAX = 10000 };

static char *trim(char *s) {
  while (isspace((unsigned char)*s)) s++;
  char *end = s + strlen(s);
  while (end > s && isspace((unsigned char)end[-1])) *--end = '\0';
  return s;
}

static bool valid_name(const char *s) {
  if (*s == '\0' || isdigit((unsigned char)*s)) return false;
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && *s != '_') return false;
  return true;
}

/* One line: 1 if a variable was set, 0 for a blank or comment, -1 if bad. */
static int dotenv_line(char *line) {
  char *s = trim(line);
  if (*s == '\0' || *s == '#') return 0;
  if (strncmp(s, "export ", 7) == 0) s = trim(s + 7);
  char *eq = strchr(s, '=');
  if (eq == NULL) return -1;
  *eq = '\0';
  char *name = trim(s);
  char *value = trim(eq + 1);
  if (!valid_name(name)) return -1;
  size_t len = strlen(value);
  if (len >= 2 && (value[0] == '"' || value[0] == '\'') && value[len - 1] == value[0]) {
    value[len - 1] = '\0';
    value++;
  } else {
    char *hash = strstr(value, " #"); /* an inline comment after an unquoted value */
    if (hash) *hash = '\0';
    value = trim(value);
  }
  if (getenv(name) != NULL) return 0; /* the environment wins */
  if (setenv(name, value, 1) != 0) return -1;
  return 1;
}

int dotenv_load(const char *path) {
  FILE *f = fopen(path, "r");
  if (f == NULL) return errno == ENOENT ? 0 : -1;
  char line[DOTENV_LINE_BYTES_MAX];
  int set = 0;
  for (int n = 1; n <= DOTENV_LINES_MAX && fgets(line, sizeof line, f) != NULL; n++) {
    int rc = dotenv_line(line);
    if (rc < 0) {
      fprintf(stderr, "%s:%d: not a KEY=VALUE line\n", path, n);
      fclose(f);
      return -1;
    }
    set += rc;
  }
  fclose(f);
  return set;
}
