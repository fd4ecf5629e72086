// What the CLI asks of the terminal it runs in and of the signals an
// operator sends it; one implementation per OS (console_linux.cc).

#ifndef MMAPIO_TOOLS_CONSOLE_H_
#define MMAPIO_TOOLS_CONSOLE_H_

#include "absl/time/time.h"

namespace mmapio::cli {

enum class StandardStream { kOut, kErr };

// Whether `stream` is a terminal.
bool IsTerminal(StandardStream stream);

// Columns of the terminal on stdout, or 0 when it is not a terminal.
int TerminalWidth();

// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread, and in threads
// it starts later, so that they wait for WaitForStopSignal instead of
// killing the process: commands that run until interrupted end cleanly.
void BlockStopSignals();

// Waits up to `timeout` (absl::InfiniteDuration() for no limit) for one of
// the signals BlockStopSignals blocked; true when one came.
bool WaitForStopSignal(absl::Duration timeout);

}  // namespace mmapio::cli

#endif  // MMAPIO_TOOLS_CONSOLE_H_
