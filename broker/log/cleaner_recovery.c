/* Opening a log after a crash in the middle of a cleaner's swap
 * (log/cleaner.h): .cleaned files were never whole and durable, so they go;
 * a .log.swap was renamed only after its indexes' .swap files, all three
 * fsynced, so the swap is completed: each index .swap renamed over its file,
 * or, if it is gone (already renamed, or a rename lost with the directory),
 * the index file removed for recovery to rebuild; then the .log.swap over
 * the .log. An index .swap without a .log.swap belongs to a swap that never
 * started: it goes. Kafka's LogLoader does the same with these suffixes. */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/str.h"
#include "log/cleaner.h"
#include "log/cleaner_internal.h"

enum { NAME_DIGITS = 20, LEFTOVERS_MAX = 1 << 16, PATH_BYTES = PLOG_DIR_BYTES + 64 };

struct leftover {
  int64_t base;
  int8_t file; /* 0..CLEAN_FILES-1 */
  bool swap;   /* .swap, else .cleaned */
};

struct leftovers {
  struct leftover *items;
  int32_t count;
  int32_t cap;
};

static bool parse_base(const char *name, int64_t *base) {
  char digits[NAME_DIGITS + 1];
  for (int i = 0; i < NAME_DIGITS; i++) {
    if (name[i] < '0' || name[i] > '9') return false;
    digits[i] = name[i];
  }
  digits[NAME_DIGITS] = 0;
  return str_to_i64(digits, base) && *base >= 0;
}

static void list_leftover(void *ctx, const char *name, bool is_dir) {
  static const char *const files[CLEAN_FILES] = {".log", ".index", ".timeindex"};
  struct leftovers *l = ctx;
  int64_t base;
  if (is_dir || strlen(name) <= NAME_DIGITS || !parse_base(name, &base)) return;
  if (l->count >= LEFTOVERS_MAX) return;
  for (int f = 0; f < CLEAN_FILES; f++) {
    size_t n = strlen(files[f]);
    if (strncmp(name + NAME_DIGITS, files[f], n) != 0) continue;
    const char *stage = name + NAME_DIGITS + n;
    bool swap = strcmp(stage, ".swap") == 0;
    if (!swap && strcmp(stage, ".cleaned") != 0) continue;
    if (l->count == l->cap) {
      l->cap = l->cap ? l->cap * 2 : 8;
      l->items = realloc(l->items, (size_t)l->cap * sizeof *l->items);
      ASSERT(l->items != NULL);
    }
    l->items[l->count++] = (struct leftover){.base = base, .file = (int8_t)f, .swap = swap};
  }
}

static bool has_log_swap(const struct leftovers *l, int64_t base) {
  for (int32_t i = 0; i < l->count; i++)
    if (l->items[i].base == base && l->items[i].file == 0 && l->items[i].swap) return true;
  return false;
}

static bool has_swap(const struct leftovers *l, int64_t base, int file) {
  for (int32_t i = 0; i < l->count; i++)
    if (l->items[i].base == base && l->items[i].file == file && l->items[i].swap) return true;
  return false;
}

/* Completes the swap of the segment at base. */
static int complete_swap(struct plog *log, const struct leftovers *l, int64_t base) {
  struct env *env = log->env;
  char from[PATH_BYTES], to[PATH_BYTES];
  int rc = 0;
  for (int f = 1; rc == 0 && f < CLEAN_FILES; f++) {
    cleaner_file_path(to, sizeof to, log->dir, base, f, "");
    if (has_swap(l, base, f)) {
      cleaner_file_path(from, sizeof from, log->dir, base, f, ".swap");
      rc = env->rename(env, from, to);
    } else {
      rc = env->unlink(env, to); /* rebuilt by recovery from the new .log */
      if (rc == ENV_ENOENT) rc = 0;
    }
  }
  cleaner_file_path(from, sizeof from, log->dir, base, 0, ".swap");
  cleaner_file_path(to, sizeof to, log->dir, base, 0, "");
  if (rc == 0) rc = env->rename(env, from, to);
  env_log(env, rc ? ENV_LOG_ERROR : ENV_LOG_WARN,
          "%s: completed the cleaner's swap of segment %020lld%s", log->dir, (long long)base,
          rc ? " failed" : "");
  return rc;
}

int plog_cleaner_recover(struct plog *log) {
  struct env *env = log->env;
  struct leftovers l = {0};
  int rc = env->list(env, log->dir, list_leftover, &l);
  bool changed = false;
  for (int32_t i = 0; rc == 0 && i < l.count; i++) {
    const struct leftover *x = &l.items[i];
    if (x->swap && has_log_swap(&l, x->base)) continue; /* completed below */
    char path[PATH_BYTES];
    cleaner_file_path(path, sizeof path, log->dir, x->base, x->file,
                      x->swap ? ".swap" : ".cleaned");
    int err = env->unlink(env, path);
    if (err != 0 && err != ENV_ENOENT) rc = err;
    changed = true;
  }
  for (int32_t i = 0; rc == 0 && i < l.count; i++) {
    if (l.items[i].file != 0 || !l.items[i].swap) continue;
    rc = complete_swap(log, &l, l.items[i].base);
    changed = true;
  }
  if (rc == 0 && changed) rc = env->dir_sync(env, log->dir);
  free(l.items);
  return rc;
}
