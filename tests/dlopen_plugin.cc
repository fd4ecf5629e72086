// A shared library that uses guarded access, for dlopen_test: the fault
// handler must work from a library loaded at run time, whose thread-local
// state lives in the static TLS block (initial-exec) and cannot allocate.

#include <cstdint>

#include "mmapio/export.h"
#include "mmapio/guarded.h"
#include "mmapio/region.h"

// Maps `path`; null when it cannot.
extern "C" MMAPIO_EXPORT void* mmapio_plugin_open(const char* path) {
  absl::StatusOr<mmapio::Region> region = mmapio::Region::Open(path);
  return region.ok() ? new mmapio::Region(*std::move(region)) : nullptr;
}

// The absl::StatusCode of a guarded 8-byte load at `offset`.
extern "C" MMAPIO_EXPORT int mmapio_plugin_guarded_load(void* region,
                                                        uint64_t offset) {
  return static_cast<int>(mmapio::GuardedLoad<uint64_t>(
                              *static_cast<mmapio::Region*>(region), offset)
                              .status()
                              .code());
}

extern "C" MMAPIO_EXPORT void mmapio_plugin_close(void* region) {
  delete static_cast<mmapio::Region*>(region);
}
