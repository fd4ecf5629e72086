// A program that uses mmapio as an integrator would, built by each consumer
// project here (CMake find_package, pkg-config, a separate Bazel workspace)
// against an installed or imported mmapio: it maps a file, reads its
// residency and reads a record through AsyncEngine.
//
//   consumer FILE
//
// FILE must hold at least 8 bytes. Prints one line and exits 0, or names
// what failed and exits 1.

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "mmapio/async_engine.h"
#include "mmapio/region.h"
#include "mmapio/residency.h"
#include "mmapio/version.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: consumer FILE\n");
    return 2;
  }
  absl::StatusOr<mmapio::Region> region = mmapio::Region::Open(argv[1]);
  if (!region.ok()) {
    std::fprintf(stderr, "%s\n", region.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<mmapio::ResidencySummary> summary =
      mmapio::SummarizeResidency(*region);
  if (!summary.ok()) {
    std::fprintf(stderr, "%s\n", summary.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<std::unique_ptr<mmapio::AsyncEngine>> engine =
      mmapio::AsyncEngine::Create();
  if (!engine.ok()) {
    std::fprintf(stderr, "%s\n", engine.status().ToString().c_str());
    return 1;
  }
  // A thread without an event loop waits for the record.
  absl::StatusOr<mmapio::ResidentView> record =
      (*engine)->WaitResident(*region, {0, sizeof(uint64_t)});
  if (!record.ok()) {
    std::fprintf(stderr, "%s\n", record.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<uint64_t> first = record->Load<uint64_t>(0);
  if (!first.ok()) {
    std::fprintf(stderr, "%s\n", first.status().ToString().c_str());
    return 1;
  }
  std::printf(
      "mmapio %s: %llu of %llu pages resident (%s); first record %016llx\n",
      MMAPIO_VERSION_STRING,
      static_cast<unsigned long long>(summary->resident_pages),
      static_cast<unsigned long long>(summary->pages),
      std::string(mmapio::ResidencySourceName(summary->source)).c_str(),
      static_cast<unsigned long long>(*first));
  return 0;
}
