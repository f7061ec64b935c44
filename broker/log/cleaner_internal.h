/* What the cleaner's files share (cleaner.c, cleaner_recovery.c). */
#ifndef SLUICE_LOG_CLEANER_INTERNAL_H
#define SLUICE_LOG_CLEANER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log/log_internal.h"

/* A segment's three files: 0 the .log, 1 the .index, 2 the .timeindex. */
enum { CLEAN_FILES = 3 };

/* "<dir>/<20-digit base><.log|.index|.timeindex><stage>", stage "" (the
 * segment's own file), ".cleaned" or ".swap"; false if it does not fit. */
bool cleaner_file_path(char *out, size_t cap, const char *dir, int64_t base, int file,
                       const char *stage);

#endif
