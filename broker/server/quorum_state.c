/* The quorum-state file's JSON (KIP-595; Kafka's FileQuorumStateStore
 * format). Writing is a fixed template. Reading is a small scanner for one
 * flat object: keys are strings, the values Sluice needs are integers, and
 * anything else (strings, arrays, objects, literals) is skipped whole, so
 * a version 1 file or a future field does not stop it. Every loop is
 * bounded by the text's length. */
#include "server/quorum_state.h"

#include <string.h>

#include "base/assert.h"
#include "base/str.h"

enum { NESTING_MAX = 16 };

size_t quorum_state_format(const struct raft_quorum_state *state, const int32_t *voters,
                           uint32_t voter_count, char *out, size_t cap) {
  ASSERT(state->leader_epoch >= 0 && state->voted_id >= -1 && state->leader_id >= -1);
  ASSERT(voter_count <= QUORUM_STATE_VOTERS_MAX && cap > 0);
  size_t n = str_fmt(out, cap,
                     "{\"clusterId\":\"\",\"leaderId\":%d,\"leaderEpoch\":%d,\"votedId\":%d,"
                     "\"appliedOffset\":0,\"currentVoters\":[",
                     state->leader_id, state->leader_epoch, state->voted_id);
  for (uint32_t i = 0; i < voter_count && n < cap; i++)
    n += str_fmt(out + n, cap - n, "%s{\"voterId\":%d}", i ? "," : "", voters[i]);
  if (n < cap) n += str_fmt(out + n, cap - n, "],\"data_version\":0}");
  return n < cap ? n : 0;
}

struct scan {
  const char *p, *end;
};

static void skip_space(struct scan *s) {
  while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
    s->p++;
}

static bool take(struct scan *s, char c) {
  skip_space(s);
  if (s->p < s->end && *s->p == c) {
    s->p++;
    return true;
  }
  return false;
}

/* A string: its contents (escapes kept as they are) in [*start, *start+*len). */
static bool string(struct scan *s, const char **start, size_t *len) {
  if (!take(s, '"')) return false;
  const char *begin = s->p;
  while (s->p < s->end && *s->p != '"') s->p += *s->p == '\\' && s->p + 1 < s->end ? 2 : 1;
  if (s->p >= s->end) return false;
  *start = begin;
  *len = (size_t)(s->p - begin);
  s->p++;
  return true;
}

static bool integer(struct scan *s, int64_t *out) {
  skip_space(s);
  char digits[24];
  size_t n = 0;
  while (s->p < s->end && n + 1 < sizeof digits &&
         ((*s->p >= '0' && *s->p <= '9') || (n == 0 && *s->p == '-')))
    digits[n++] = *s->p++;
  digits[n] = 0;
  return n > 0 && str_to_i64(digits, out);
}

/* Any value, skipped. Arrays and objects nest at most NESTING_MAX deep. */
static bool skip_value(struct scan *s, int depth) {
  skip_space(s);
  if (s->p >= s->end || depth > NESTING_MAX) return false;
  const char *str;
  size_t len;
  int64_t n;
  char c = *s->p;
  if (c == '"') return string(s, &str, &len);
  if (c == '-' || (c >= '0' && c <= '9')) return integer(s, &n);
  if (c == '[' || c == '{') {
    char close = c == '[' ? ']' : '}';
    s->p++;
    if (take(s, close)) return true;
    do {
      if (c == '{' && (!string(s, &str, &len) || !take(s, ':'))) return false;
      if (!skip_value(s, depth + 1)) return false;
    } while (take(s, ','));
    return take(s, close);
  }
  static const char *const literals[] = {"true", "false", "null"};
  for (size_t i = 0; i < ARRAY_LEN(literals); i++) {
    size_t l = strlen(literals[i]);
    if ((size_t)(s->end - s->p) >= l && memcmp(s->p, literals[i], l) == 0) {
      s->p += l;
      return true;
    }
  }
  return false;
}

enum field { F_LEADER_ID, F_LEADER_EPOCH, F_VOTED_ID, F_DATA_VERSION, F_COUNT };

static int field_of(const char *key, size_t len) {
  static const char *const names[F_COUNT] = {"leaderId", "leaderEpoch", "votedId",
                                             "data_version"};
  for (int i = 0; i < F_COUNT; i++)
    if (strlen(names[i]) == len && memcmp(names[i], key, len) == 0) return i;
  return -1;
}

bool quorum_state_parse(const char *text, size_t len, struct raft_quorum_state *out) {
  ASSERT(text != NULL || len == 0);
  struct scan s = {text, text + len};
  int64_t values[F_COUNT];
  bool seen[F_COUNT] = {false};
  if (!take(&s, '{')) return false;
  if (!take(&s, '}')) {
    do {
      const char *key;
      size_t key_len;
      if (!string(&s, &key, &key_len) || !take(&s, ':')) return false;
      int f = field_of(key, key_len);
      if (f >= 0 && !seen[f]) {
        if (!integer(&s, &values[f])) return false;
        seen[f] = true;
      } else if (!skip_value(&s, 0)) {
        return false;
      }
    } while (take(&s, ','));
    if (!take(&s, '}')) return false;
  }
  skip_space(&s);
  for (int f = 0; f < F_COUNT; f++)
    if (!seen[f]) return false;
  if (s.p != s.end || values[F_DATA_VERSION] < 0 || values[F_DATA_VERSION] > 1) return false;
  if (values[F_LEADER_EPOCH] < 0 || values[F_LEADER_EPOCH] > INT32_MAX) return false;
  if (values[F_LEADER_ID] < -1 || values[F_LEADER_ID] > INT32_MAX) return false;
  if (values[F_VOTED_ID] < -1 || values[F_VOTED_ID] > INT32_MAX) return false;
  *out = (struct raft_quorum_state){.leader_epoch = (int32_t)values[F_LEADER_EPOCH],
                                    .voted_id = (int32_t)values[F_VOTED_ID],
                                    .leader_id = (int32_t)values[F_LEADER_ID]};
  return true;
}
