#include <fcntl.h>
#include <io.h>
#include <windows.h>
// After windows.h, which it needs.
#include <shellapi.h>

#include <algorithm>
#include <cstdio>

#include "tools/console.h"
#include "tools/utf16_windows.h"

namespace mmapio::cli {
namespace {

HANDLE StandardHandle(StandardStream stream) {
  return GetStdHandle(stream == StandardStream::kOut ? STD_OUTPUT_HANDLE
                                                     : STD_ERROR_HANDLE);
}

// Set by the console's control handler, waited for by WaitForStopSignal.
HANDLE StopEvent() {
  static const HANDLE event = CreateEventW(nullptr, FALSE, FALSE, nullptr);
  return event;
}

BOOL WINAPI OnControl(DWORD) {
  SetEvent(StopEvent());
  return TRUE;  // Handled: the process goes on to end cleanly.
}

}  // namespace

std::vector<std::string> StartConsole(int, char**) {
  for (FILE* stream : {stdin, stdout, stderr}) {
    _setmode(_fileno(stream), _O_BINARY);
  }
  SetConsoleOutputCP(CP_UTF8);
  for (StandardStream stream : {StandardStream::kOut, StandardStream::kErr}) {
    DWORD mode = 0;
    const HANDLE handle = StandardHandle(stream);
    if (GetConsoleMode(handle, &mode)) {
      SetConsoleMode(handle, mode | ENABLE_VIRTUAL_TERMINAL_PROCESSING);
    }
  }
  // argv is in the ANSI code page, which cannot hold every file name.
  std::vector<std::string> args;
  int argc = 0;
  wchar_t** wide = CommandLineToArgvW(GetCommandLineW(), &argc);
  if (wide == nullptr) return args;
  for (int i = 0; i < argc; ++i) args.push_back(Utf8(wide[i]));
  LocalFree(wide);
  return args;
}

bool IsTerminal(StandardStream stream) {
  DWORD mode = 0;
  return GetConsoleMode(StandardHandle(stream), &mode) != 0;
}

TerminalSize GetTerminalSize(StandardStream stream) {
  CONSOLE_SCREEN_BUFFER_INFO info;
  if (!GetConsoleScreenBufferInfo(StandardHandle(stream), &info)) {
    return {};
  }
  return {info.srWindow.Right - info.srWindow.Left + 1,
          info.srWindow.Bottom - info.srWindow.Top + 1};
}

void BlockStopSignals() {
  StopEvent();
  SetConsoleCtrlHandler(OnControl, TRUE);
}

bool WaitForStopSignal(absl::Duration timeout) {
  const DWORD milliseconds =
      timeout == absl::InfiniteDuration()
          ? INFINITE
          : static_cast<DWORD>(absl::ToInt64Milliseconds(
                std::max(timeout, absl::ZeroDuration())));
  return WaitForSingleObject(StopEvent(), milliseconds) == WAIT_OBJECT_0;
}

int ProcessId() { return static_cast<int>(GetCurrentProcessId()); }

absl::Status Detach() {
  return absl::UnimplementedError(
      "detach: Windows cannot fork a process to run apart from its console; "
      "run it as a service or a scheduled task instead");
}

void EndDetachedStart(int) {}

}  // namespace mmapio::cli
