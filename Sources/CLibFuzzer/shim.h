// libFuzzer's driver, for a program with a main of its own (compiler-rt lib/fuzzer/FuzzerInterface.h).
// Defined by the libFuzzer runtime that -sanitize=fuzzer links in.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
