#include "log/segment_cache.h"

#include "base/assert.h"
#include "log/segment.h"

enum { EMFILE_LOG_INTERVAL_NS = 60 * NS_PER_S };

void seg_cache_init(struct seg_cache *c, struct env *env, int32_t limit) {
  ASSERT(c != NULL && env != NULL && limit >= 1);
  *c = (struct seg_cache){.env = env, .limit = limit, .limit_now = limit};
}

void seg_cache_free(struct seg_cache *c) {
  ASSERT(c->open_count == 0 && c->lru_head == NULL && c->lru_tail == NULL);
}

int32_t seg_cache_open_count(const struct seg_cache *c) { return c->open_count; }

static void lru_unlink(struct seg_cache *c, struct segment *s) {
  ASSERT(s->in_cache);
  if (s->lru_prev)
    s->lru_prev->lru_next = s->lru_next;
  else
    c->lru_head = s->lru_next;
  if (s->lru_next)
    s->lru_next->lru_prev = s->lru_prev;
  else
    c->lru_tail = s->lru_prev;
  s->lru_prev = s->lru_next = NULL;
}

static void lru_push_tail(struct seg_cache *c, struct segment *s) {
  s->lru_prev = c->lru_tail;
  s->lru_next = NULL;
  if (c->lru_tail)
    c->lru_tail->lru_next = s;
  else
    c->lru_head = s;
  c->lru_tail = s;
}

/* Closes least recently used segments, never `keep` nor a pinned one,
 * until at most `target` are open. */
static void shrink_to(struct seg_cache *c, int32_t target, const struct segment *keep) {
  struct segment *s = c->lru_head;
  for (int32_t n = c->open_count; s != NULL && n > 0 && c->open_count > target; n--) {
    struct segment *next = s->lru_next;
    if (s != keep && !segment_files_pinned(s)) {
      segment_files_close(c->env, s);
      c->closes++;
    }
    s = next;
  }
}

void seg_cache_opened(struct seg_cache *c, struct segment *s) {
  ASSERT(!s->in_cache && s->cache == c);
  ASSERT(c->open_count < INT32_MAX);
  s->in_cache = true;
  lru_push_tail(c, s);
  c->open_count++;
  c->opens++;
  if (c->limit_now < c->limit) c->limit_now++;
  shrink_to(c, c->limit_now, s);
}

void seg_cache_touch(struct seg_cache *c, struct segment *s) {
  ASSERT(s->in_cache && s->cache == c);
  if (c->lru_tail == s) return;
  lru_unlink(c, s);
  lru_push_tail(c, s);
}

void seg_cache_closed(struct seg_cache *c, struct segment *s) {
  ASSERT(s->in_cache && c->open_count > 0);
  lru_unlink(c, s);
  s->in_cache = false;
  c->open_count--;
}

void seg_cache_turn_trim(struct seg_cache *c) {
  if (c->open_count > c->limit_now) shrink_to(c, c->limit_now, NULL);
}

void seg_cache_turn_end(struct seg_cache *c) {
  ASSERT(c != NULL);
  c->turn++;
  if (c->open_count > c->limit_now) shrink_to(c, c->limit_now, NULL);
}

/* Rate-limited: a descriptor table that stays full would otherwise log on
 * every open. */
static void emfile_log(struct seg_cache *c, const char *path) {
  uint64_t now_ns = c->env->now_ns(c->env);
  c->emfile_count++;
  if (c->emfile_logged && now_ns - c->emfile_log_ns < EMFILE_LOG_INTERVAL_NS) return;
  env_log(c->env, ENV_LOG_WARN,
          "out of file descriptors for segment file %s: closing idle segments, %d of "
          "sluice.open.segments.max=%d now in use, %llu times since the last such line; "
          "raise the descriptor limit (ulimit -n) or lower sluice.open.segments.max",
          path, (int)c->open_count, (int)c->limit, (unsigned long long)c->emfile_count);
  c->emfile_logged = true;
  c->emfile_log_ns = now_ns;
  c->emfile_count = 0;
}

int seg_cache_open_file(struct seg_cache *c, const char *path, int flags, env_file *out) {
  int rc = c->env->open(c->env, path, flags, out);
  if (rc != ENV_EMFILE) return rc;
  int32_t half = c->open_count / 2;
  c->limit_now = half > 1 ? half : 1;
  shrink_to(c, c->limit_now, NULL);
  emfile_log(c, path);
  return c->env->open(c->env, path, flags, out);
}
