/* The web apps' pieces that need no cluster: the JSON reader (the cursor
 * sluicectl reads its files with, and the validator on top of it: what the
 * producer app refuses with 400 and why), the escaping that keeps a stored
 * value from becoming markup or breaking the JSON view, the .env reader,
 * and the consumer app's ring of the last messages (newest first, each
 * live event once, a slow viewer skipping what was overwritten). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apps/common/dotenv.h"
#include "apps/common/json.h"
#include "apps/common/text.h"
#include "apps/consumer/messages.h"
#include "testing.h"

static bool valid(const char *s) { return json_valid(s, strlen(s), NULL); }

/* A cursor over a NUL-terminated text, errors naming `source`. */
static struct json reader(const char *source, const char *text) {
  struct json j;
  json_init(&j, source, text, strlen(text));
  return j;
}

START_TEST(json_accepts_what_rfc_8259_accepts) {
  const char *good[] = {"{}",
                        " {\"key\": \"Hello Kafka\"} ",
                        "[1,-0.5e+3,true,false,null]",
                        "\"\\u00e9\\n\"",
                        "{\"a\":{\"b\":[{}]}}",
                        "0",
                        "\"caf\xc3\xa9\"",
                        "\"\\ud83d\\ude00\\u0000\"",
                        "[1E9,-0,0.25]"};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++)
    ck_assert_msg(valid(good[i]), "%s", good[i]);
  const char *bad[] = {"",
                       "{",
                       "{\"a\"}",
                       "{\"a\":1,}",
                       "[01]",
                       "1.",
                       "tru",
                       "\"\x01\"",
                       "{} {}",
                       "{'a':1}",
                       "\"\\x\"",
                       "\"\xc0\xaf\"",
                       "\"\xed\xa0\x80\"",
                       "[1 2]",
                       "-",
                       "\"\\ud800\"",
                       "\"\\udc00\"",
                       "\"\\udc00\\udc00\"",
                       "\"\\ud800\\u0041\""};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    ck_assert_msg(!valid(bad[i]), "%s", bad[i]);
}
END_TEST

START_TEST(json_errors_name_the_byte_and_the_reason) {
  struct json_error err = {0, ""};
  ck_assert(!json_valid_object("{\"a\" 1}", 7, &err));
  ck_assert_uint_eq(err.offset, 5);
  ck_assert_str_eq(err.reason, "expected ':'");
  ck_assert(!json_valid_object("[1]", 3, &err));
  ck_assert_str_eq(err.reason, "the body must be a JSON object");
  ck_assert(json_valid_object(" {\"n\":1}", 8, &err));
}
END_TEST

START_TEST(json_nesting_is_bounded) {
  char deep[2 * JSON_DEPTH_MAX + 8];
  size_t n = 0;
  for (int i = 0; i < JSON_DEPTH_MAX + 1; i++) deep[n++] = '[';
  for (int i = 0; i < JSON_DEPTH_MAX + 1; i++) deep[n++] = ']';
  struct json_error err = {0, ""};
  ck_assert(!json_valid(deep, n, &err));
  ck_assert_str_eq(err.reason, "nested too deep");
  ck_assert(json_valid(deep + 2, n - 4, NULL)); /* JSON_DEPTH_MAX - 1 levels: fine */
}
END_TEST

/* Each row: the input, where the validator says it stopped being JSON, and
 * why (the producer app's 400 answer is built from both). */
START_TEST(json_errors_point_at_the_offending_byte) {
  static const struct {
    const char *text;
    size_t offset;
    const char *reason;
  } rows[] = {
      {"{\"key\": ", 8, "unexpected end"},
      {"[1 2]", 3, "expected ',' or ']'"},
      {"{\"a\":1 \"b\"}", 7, "expected ',' or '}'"},
      {"{1:2}", 1, "expected a string key"},
      {"\"\\x\"", 1, "bad escape in a string"},
      {"\"ab\\u12G4\"", 3, "bad \\u escape"},
      {"[\"\\ud800\"]", 2, "lone surrogate in a \\u escape"},
      {"\"ab", 3, "unterminated string"},
      {"\"a\x01\"", 2, "control character in a string"},
      {"\"\xc0\xaf\"", 1, "invalid UTF-8"},
      {"[tru]", 1, "unexpected character"},
      {"-x", 1, "bad number"},
      {"[1.]", 3, "bad number fraction"},
      {"1e+", 3, "bad number exponent"},
      {"{} {}", 3, "unexpected text after the end"},
  };
  for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
    struct json_error err = {0, ""};
    ck_assert_msg(!json_valid(rows[i].text, strlen(rows[i].text), &err), "%s", rows[i].text);
    ck_assert_msg(err.offset == rows[i].offset, "%s: byte %zu", rows[i].text, err.offset);
    ck_assert_str_eq(err.reason, rows[i].reason);
  }
}
END_TEST

START_TEST(json_string_decodes_every_escape) {
  struct json j = reader(
      "f.json", "\"a\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\u20AC\\ud83d\\ude00\" \"\\u0000\"");
  char out[32];
  ck_assert(json_string(&j, out, sizeof out));
  ck_assert_str_eq(out, "a\"\\/\b\f\n\r\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
  ck_assert(!json_string(&j, out, sizeof out)); /* a C string cannot hold U+0000 */
  ck_assert_str_eq(j.reason, "\\u0000 in a string");
  ck_assert_uint_eq(j.error_at, 45); /* its backslash */
  json_init(&j, "f.json", "\"abcd\"", 6);
  ck_assert(!json_string(&j, out, 4)); /* three bytes and the NUL */
  ck_assert_str_eq(j.error, "f.json:1:5 (byte 4): string too long");
  json_init(&j, "f.json", "\"x\"", 3);
  ck_assert(json_string(&j, NULL, 0)); /* checked and skipped */
  ck_assert(json_end(&j));
}
END_TEST

START_TEST(json_int_takes_whole_numbers_in_bounds) {
  static const struct {
    const char *text;
    long lo, hi;
    const char *reason; /* NULL: read as `value` */
    long value;
  } rows[] = {
      {" 7", 0, 10, NULL, 7},
      {"-3", -5, 5, NULL, -3},
      {"2147483647", 0, 2147483647, NULL, 2147483647},
      {" 2147483648", 0, 2147483647, "number out of range [0, 2147483647]", 0},
      {" 12345678901234567890", 0, 9, "number out of range [0, 9]", 0},
      {" 1.5", 0, 9, "expected a whole number", 0},
      {" 1e3", 0, 9, "expected a whole number", 0},
      {" -", 0, 9, "expected a whole number", 0},
  };
  for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
    struct json j = reader("n.json", rows[i].text);
    long v = 0;
    bool ok = json_int(&j, rows[i].lo, rows[i].hi, &v);
    ck_assert_msg(ok == (rows[i].reason == NULL), "%s", rows[i].text);
    if (ok) {
      ck_assert_int_eq(v, rows[i].value);
      continue;
    }
    ck_assert_str_eq(j.reason, rows[i].reason);
    ck_assert_uint_eq(j.error_at, 1); /* the token's start, past the space */
  }
}
END_TEST

/* sluicectl's files: the error names the line and column (1-based, a tab
 * one column) as well as the byte, and the first error sticks. */
START_TEST(json_cursor_names_line_and_column) {
  struct json j = reader("plan.json", "{\n  \"a\": [1,\n\t2 x]}");
  char key[8];
  long v;
  ck_assert(json_open(&j, '{', '}'));
  ck_assert(json_string(&j, key, sizeof key) && json_expect(&j, ':'));
  ck_assert(json_open(&j, '[', ']'));
  ck_assert(json_int(&j, 0, 9, &v) && json_more(&j, ']'));
  ck_assert(json_int(&j, 0, 9, &v) && v == 2);
  ck_assert(!json_more(&j, ']'));
  ck_assert_str_eq(j.error, "plan.json:3:4 (byte 16): expected ',' or ']'");
  ck_assert(!json_fail_at(&j, 0, "later"));
  ck_assert_str_eq(j.error, "plan.json:3:4 (byte 16): expected ',' or ']'");
  json_init(&j, NULL, "[", 1); /* the validator's cursor: no file to name */
  ck_assert(!json_skip_value(&j));
  ck_assert_str_eq(j.error, "");
  ck_assert_str_eq(j.reason, "unexpected end");
}
END_TEST

/* The cursor itself bounds nesting: a caller's json_open fails past
 * JSON_DEPTH_MAX, and json_more's close gives a level back. */
START_TEST(json_cursor_bounds_nesting) {
  char text[JSON_DEPTH_MAX + 4];
  memset(text, '[', sizeof text);
  struct json j;
  json_init(&j, "d.json", text, sizeof text);
  for (int i = 0; i < JSON_DEPTH_MAX; i++) ck_assert(json_open(&j, '[', ']'));
  ck_assert(!json_open(&j, '[', ']'));
  ck_assert_str_eq(j.reason, "nested too deep");
  ck_assert_uint_eq(j.error_at, JSON_DEPTH_MAX);
  json_init(&j, "d.json", "[[1],[2]]", 9);
  long v;
  ck_assert(json_open(&j, '[', ']'));
  for (int k = 0; k < 2; k++) {
    ck_assert(json_open(&j, '[', ']'));
    ck_assert_int_eq(j.depth, 2);
    ck_assert(json_int(&j, 0, 9, &v) && v == k + 1);
    ck_assert(!json_more(&j, ']') && !j.failed);
    ck_assert_int_eq(j.depth, 1);
    ck_assert(json_more(&j, ']') == (k == 0));
  }
  ck_assert(!j.failed && j.depth == 0 && json_end(&j));
}
END_TEST

START_TEST(escaping_keeps_values_inert) {
  struct text t;
  text_init(&t, 1024);
  text_add_html(&t, "<script>\"a\" & 'b'</script>", 26);
  ck_assert_str_eq(t.data, "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;");
  text_free(&t);
  text_init(&t, 1024);
  text_add_json_string(&t, "a\"b\\c\n\x01\xff", 8);
  ck_assert_str_eq(t.data, "\"a\\\"b\\\\c\\u000a\\u0001\xEF\xBF\xBD\"");
  ck_assert(json_valid(t.data, t.len, NULL));
  text_free(&t);
}
END_TEST

START_TEST(text_stops_at_its_bound) {
  struct text t;
  text_init(&t, 8);
  ck_assert(text_adds(&t, "12345678"));
  ck_assert(!text_adds(&t, "9"));
  ck_assert(!t.ok);
  ck_assert_uint_eq(t.len, 8);
  text_free(&t);
}
END_TEST

START_TEST(dotenv_sets_what_the_environment_lacks) {
  char path[] = "/tmp/sluice-dotenv-XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  const char body[] =
      "# the seed's .env\nKAFKA_BOOTSTRAP_SERVERS=localhost:9092,localhost:9093\n"
      "export SLUICE_T_QUOTED=\"a b\" \nSLUICE_T_KEPT=from-file\nSLUICE_T_C=x # note\n\n";
  ck_assert_int_eq(write(fd, body, sizeof body - 1), (int)(sizeof body - 1));
  close(fd);
  unsetenv("KAFKA_BOOTSTRAP_SERVERS");
  setenv("SLUICE_T_KEPT", "from-environment", 1);
  ck_assert_int_eq(dotenv_load(path), 3);
  ck_assert_str_eq(getenv("KAFKA_BOOTSTRAP_SERVERS"), "localhost:9092,localhost:9093");
  ck_assert_str_eq(getenv("SLUICE_T_QUOTED"), "a b");
  ck_assert_str_eq(getenv("SLUICE_T_KEPT"), "from-environment");
  ck_assert_str_eq(getenv("SLUICE_T_C"), "x");
  FILE *f = fopen(path, "w");
  fputs("GOOD=1\nnot a line\n", f);
  fclose(f);
  ck_assert_int_eq(dotenv_load(path), -1);
  unlink(path);
  ck_assert_int_eq(dotenv_load(path), 0); /* no file: nothing to do */
}
END_TEST

static void add(struct messages *m, int64_t offset, const char *value) {
  messages_add(m, 0, offset, 1000 + offset, "k", 1, value, strlen(value));
}

START_TEST(ring_keeps_the_last_ten_newest_first) {
  struct messages m;
  messages_init(&m);
  char v[32];
  for (int i = 0; i < 25; i++) {
    snprintf(v, sizeof v, "{\"n\":%d}", i);
    add(&m, i, v);
  }
  struct text t;
  text_init(&t, 1 << 20);
  uint64_t seq = 0;
  ck_assert_int_eq(messages_render(&m, &t, true, &seq), MESSAGES_KEPT);
  ck_assert_uint_eq(seq, 25);
  ck_assert_ptr_nonnull(strstr(t.data, "\"offset\":24"));
  ck_assert_ptr_null(strstr(t.data, "\"offset\":14,"));
  ck_assert(strstr(t.data, "\"offset\":24") < strstr(t.data, "\"offset\":15"));
  ck_assert_ptr_nonnull(strstr(t.data, "\"value\":{\"n\":24}")); /* valid JSON embedded */
  text_free(&t);
  messages_destroy(&m);
}
END_TEST

START_TEST(live_events_come_once_and_a_slow_viewer_skips) {
  struct messages m;
  messages_init(&m);
  add(&m, 0, "not json <b>");
  struct text t;
  text_init(&t, 1 << 20);
  uint64_t seq = 0;
  ck_assert(messages_wait_events(&m, &t, &seq, 0));
  ck_assert_ptr_nonnull(strstr(t.data, "id: 1\nevent: message\ndata: "));
  ck_assert_ptr_nonnull(strstr(t.data, "\"value\":\"not json <b>\""));
  text_free(&t);
  text_init(&t, 1 << 20);
  ck_assert(!messages_wait_events(&m, &t, &seq, 1)); /* nothing new: times out */
  ck_assert_uint_eq(t.len, 0);
  for (int i = 1; i <= 30; i++) add(&m, i, "{}");
  ck_assert(messages_wait_events(&m, &t, &seq, 0));
  ck_assert_ptr_null(strstr(t.data, "id: 21\n"));
  ck_assert_ptr_nonnull(strstr(t.data, "id: 22\n"));
  ck_assert_ptr_nonnull(strstr(t.data, "id: 31\n"));
  ck_assert_uint_eq(seq, 31);
  text_free(&t);
  messages_stop(&m);
  text_init(&t, 1024);
  ck_assert(!messages_wait_events(&m, &t, &seq, 60000)); /* stop wakes a waiter at once */
  text_free(&t);
  messages_destroy(&m);
}
END_TEST

static Suite *apps_suite(void) {
  Suite *s = suite_create("apps");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, json_accepts_what_rfc_8259_accepts);
  tcase_add_test(tc, json_errors_name_the_byte_and_the_reason);
  tcase_add_test(tc, json_nesting_is_bounded);
  tcase_add_test(tc, json_errors_point_at_the_offending_byte);
  tcase_add_test(tc, json_string_decodes_every_escape);
  tcase_add_test(tc, json_int_takes_whole_numbers_in_bounds);
  tcase_add_test(tc, json_cursor_names_line_and_column);
  tcase_add_test(tc, json_cursor_bounds_nesting);
  tcase_add_test(tc, escaping_keeps_values_inert);
  tcase_add_test(tc, text_stops_at_its_bound);
  tcase_add_test(tc, dotenv_sets_what_the_environment_lacks);
  tcase_add_test(tc, ring_keeps_the_last_ten_newest_first);
  tcase_add_test(tc, live_events_come_once_and_a_slow_viewer_skips);
  suite_add_tcase(s, tc);
  return s;
}

TEST_MAIN(apps_suite)
