// What the CLI asks of the terminal it runs in, of the signals an operator
// sends it and of its own process; one implementation per OS
// (console_linux.cc, console_windows.cc).

#ifndef MMAPIO_TOOLS_CONSOLE_H_
#define MMAPIO_TOOLS_CONSOLE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace mmapio::cli {

// Prepares the standard streams (on Windows: binary, so that output is the
// same bytes as on Linux; UTF-8 and escape sequences on a console) and
// returns the program's arguments, argv[0] included, in UTF-8.
std::vector<std::string> StartConsole(int argc, char** argv);

enum class StandardStream { kOut, kErr };

// Whether `stream` is a terminal.
bool IsTerminal(StandardStream stream);

// The size of the terminal that `stream` writes to; zeros when it is not a
// terminal.
struct TerminalSize {
  int columns = 0;
  int rows = 0;
};
TerminalSize GetTerminalSize(StandardStream stream = StandardStream::kOut);

// Makes the operator's stop requests (SIGINT, SIGTERM, SIGHUP on Linux;
// Ctrl-C, Ctrl-Break and closing the console on Windows) wait for
// WaitForStopSignal instead of killing the process, in every thread, so that
// commands that run until interrupted end cleanly. Call it before starting
// threads.
void BlockStopSignals();

// Waits up to `timeout` (absl::InfiniteDuration() for no limit) for a stop
// request that BlockStopSignals held back; true when one came.
bool WaitForStopSignal(absl::Duration timeout);

// This process's id, as the system's tools show it.
int ProcessId();

// Continues the program in a new process detached from the terminal (a
// daemon). The calling process waits and exits with the status the new one
// passes to EndDetachedStart, or 1 when it ends without doing so; the call
// returns OK in the new process only. Unimplemented on Windows, where a
// process cannot fork.
absl::Status Detach();

// In a process that Detach started: tells the waiting parent `exit_code`,
// then points the standard streams at the null device.
void EndDetachedStart(int exit_code);

}  // namespace mmapio::cli

#endif  // MMAPIO_TOOLS_CONSOLE_H_
