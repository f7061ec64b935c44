#include "base/assert.h"

#include <stdlib.h>

void (*sl_panic_hook)(const char *file, int line, const char *what) = 0;

_Noreturn void sl_panic(const char *file, int line, const char *what) {
  if (sl_panic_hook) sl_panic_hook(file, line, what);
  abort();
}
