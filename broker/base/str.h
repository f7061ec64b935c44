/* String formatting without stdio (broker/ may not include it): a small
 * subset of printf: %s %.*s %c %% %d %i %u %x with l/ll/z/j length, width,
 * '0' and '-' flags. */
#ifndef SLUICE_STR_H
#define SLUICE_STR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Writes at most cap-1 chars and a NUL; returns the length it wanted. */
__attribute__((format(printf, 3, 4))) size_t str_fmt(char *out, size_t cap, const char *fmt,
                                                     ...);
size_t str_vfmt(char *out, size_t cap, const char *fmt, va_list ap);

/* Parses a whole decimal int64 (optional sign); false on junk or overflow. */
bool str_to_i64(const char *s, int64_t *out);

#endif
