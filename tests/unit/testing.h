/* Shared by the libcheck unit tests: each test_*.c builds into its own
 * binary and ends with TEST_MAIN(suite_function). */
#ifndef SLUICE_TESTING_H
#define SLUICE_TESTING_H

#include <check.h>
#include <stdlib.h>

#define TEST_MAIN(suite_fn)                                                                    \
  int main(void) {                                                                             \
    SRunner *runner = srunner_create(suite_fn());                                              \
    srunner_run_all(runner, CK_NORMAL);                                                        \
    int failed = srunner_ntests_failed(runner);                                                \
    srunner_free(runner);                                                                      \
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;                                          \
  }

#endif
