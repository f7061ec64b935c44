/* Assertions that stay on in production (TigerBeetle style): a broken
 * invariant stops the node before it can acknowledge or corrupt data. */
#ifndef SLUICE_ASSERT_H
#define SLUICE_ASSERT_H

_Noreturn void sl_panic(const char *file, int line, const char *what);

/* The world may install a hook that reports the failure (stderr, the sim's
 * crash report) before the process aborts. The one mutable global in
 * broker/ (tools/lint.sh allows it by name): the world sets it once at
 * start, before any node runs, and nothing in broker/ reads it otherwise. */
extern void (*sl_panic_hook)(const char *file, int line, const char *what);

#define ASSERT(cond)                                                                           \
  do {                                                                                         \
    if (__builtin_expect(!(cond), 0)) sl_panic(__FILE__, __LINE__, #cond);                     \
  } while (0)

#define UNREACHABLE() sl_panic(__FILE__, __LINE__, "unreachable")

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
