#include "server/files.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/str.h"

bool properties_get(const char *text, size_t len, const char *key, char *out, size_t cap) {
  size_t klen = strlen(key);
  for (size_t at = 0; at < len;) {
    const char *line = text + at;
    const char *nl = memchr(line, '\n', len - at);
    size_t n = nl ? (size_t)(nl - line) : len - at;
    at += n + 1;
    if (n <= klen || memcmp(line, key, klen) != 0) continue;
    const char *v = line + klen;
    while (v < line + n && *v == ' ') v++;
    if (v == line + n || (*v != '=' && *v != ':')) continue;
    v++;
    while (v < line + n && *v == ' ') v++;
    size_t vlen = (size_t)(line + n - v);
    while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == ' ')) vlen--;
    if (vlen >= cap) return false;
    memcpy(out, v, vlen);
    out[vlen] = 0;
    return true;
  }
  return false;
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

struct kuuid uuid_random(struct env *env) {
  struct kuuid id;
  uint64_t hi = env->random_u64(env), lo = env->random_u64(env);
  for (int i = 0; i < 8; i++) {
    id.b[i] = (uint8_t)(hi >> (56 - 8 * i));
    id.b[8 + i] = (uint8_t)(lo >> (56 - 8 * i));
  }
  id.b[6] = (uint8_t)((id.b[6] & 0x0f) | 0x40); /* version 4, like Uuid.randomUuid */
  id.b[8] = (uint8_t)((id.b[8] & 0x3f) | 0x80);
  return id;
}

void uuid_to_string(struct kuuid id, char out[23]) {
  int o = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (int i = 0; i < 16; i++) {
    acc = (acc << 8) | id.b[i];
    bits += 8;
    while (bits >= 6) {
      out[o++] = b64url[(acc >> (bits - 6)) & 63];
      bits -= 6;
    }
  }
  out[o++] = b64url[(acc << (6 - bits)) & 63]; /* 128 = 21*6 + 2 */
  out[o] = 0;
  ASSERT(o == 22);
}

bool uuid_from_string(const char *s, struct kuuid *out) {
  if (strlen(s) != 22) return false;
  uint32_t acc = 0;
  int bits = 0, o = 0;
  for (int i = 0; i < 22; i++) {
    const char *p = strchr(b64url, s[i]);
    if (!p || !s[i]) return false;
    acc = (acc << 6) | (uint32_t)(p - b64url);
    bits += 6;
    if (bits >= 8) {
      if (o < 16) out->b[o++] = (uint8_t)(acc >> (bits - 8));
      bits -= 8;
    }
  }
  return o == 16;
}

bool uuid_is_zero(struct kuuid id) {
  for (int i = 0; i < 16; i++)
    if (id.b[i]) return false;
  return true;
}
