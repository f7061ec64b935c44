#include "apps/consumer/page.h"

#include <string.h>

#include "apps/consumer/messages.h"

static const char HEAD[] =
    "<!doctype html>\n<html><head><meta charset=utf-8><title>Kafka Messages</title>\n"
    "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
    "code{white-space:pre-wrap;word-break:break-all}</style></head>\n<body>\n"
    "<h1>Kafka Messages</h1>\n";

static const char TABLE[] =
    "<table><thead><tr><th>partition</th><th>offset</th><th>key</th><th>timestamp</th>"
    "<th>value</th></tr></thead>\n<tbody id=rows>\n";

/* Live updates: the rows the server rendered stay; each event adds one. */
static const char SCRIPT[] =
    "</tbody></table>\n<script>\n"
    "const keep = %d, rows = document.getElementById('rows');\n"
    "function when(ms) { return ms < 0 ? '' : new Date(Number(ms)).toISOString(); }\n"
    "for (const td of document.querySelectorAll('td.ts')) td.textContent = "
    "when(td.dataset.ms);\n"
    "function cell(tr, v, code) {\n"
    "  const td = tr.insertCell(); const el = code ? document.createElement('code') : td;\n"
    "  el.textContent = v; if (code) td.appendChild(el); }\n"
    "const es = new EventSource('/events?after=%llu');\n"
    "es.addEventListener('message', e => {\n"
    "  const m = JSON.parse(e.data), tr = rows.insertRow(0);\n"
    "  cell(tr, m.partition); cell(tr, m.offset); cell(tr, m.key === null ? '' : m.key);\n"
    "  cell(tr, when(m.timestamp));\n"
    "  cell(tr, typeof m.value === 'string' ? m.value : JSON.stringify(m.value), true);\n"
    "  while (rows.rows.length > keep) rows.deleteRow(-1);\n"
    "});\n</script>\n</body></html>\n";

void page_render(struct text *t, const char *topic, const char *group, const char *rows,
                 uint64_t seq) {
  text_adds(t, HEAD);
  text_adds(t, "<p>Topic <b>");
  text_add_html(t, topic, strlen(topic));
  text_adds(t, "</b>, group <b>");
  text_add_html(t, group, strlen(group));
  text_addf(t, "</b>: the last %d messages, newest first.</p>\n", MESSAGES_KEPT);
  text_adds(t, TABLE);
  text_adds(t, rows);
  text_addf(t, SCRIPT, MESSAGES_KEPT, (unsigned long long)seq);
}
