/* The consumer app's HTML page: the last messages as table rows (already
 * escaped by messages_render) and a script that prepends each live event
 * with textContent (never innerHTML: values are untrusted) and keeps 10. */
#ifndef SLUICE_APPS_PAGE_H
#define SLUICE_APPS_PAGE_H

#include <stdint.h>

#include "apps/common/text.h"

void page_render(struct text *t, const char *topic, const char *group, const char *rows,
                 uint64_t seq);

#endif
