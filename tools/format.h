// Number formatting for the mmapio CLI.

#ifndef MMAPIO_TOOLS_FORMAT_H_
#define MMAPIO_TOOLS_FORMAT_H_

#include <cstdint>
#include <string>

namespace mmapio::cli {

// "0 B", "512 B", "4.0 KiB", "1.5 GiB": binary units, one decimal.
std::string HumanBytes(uint64_t bytes);

// `bytes` as HumanBytes, or as a plain integer when `exact`.
std::string FormatBytes(uint64_t bytes, bool exact);

// "37.5%", or "-" when `whole` is 0.
std::string Percent(uint64_t part, uint64_t whole);

}  // namespace mmapio::cli

#endif  // MMAPIO_TOOLS_FORMAT_H_
