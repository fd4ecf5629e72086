// UTF-8, which the CLI speaks, to and from the UTF-16 of Windows' wide
// functions. Windows only.

#ifndef MMAPIO_TOOLS_UTF16_WINDOWS_H_
#define MMAPIO_TOOLS_UTF16_WINDOWS_H_

#include <windows.h>

#include <string>

namespace mmapio::cli {

inline std::wstring Widen(const std::string& text) {
  const int n = MultiByteToWideChar(CP_UTF8, 0, text.data(),
                                    static_cast<int>(text.size()), nullptr, 0);
  std::wstring wide(static_cast<size_t>(n), L'\0');
  MultiByteToWideChar(CP_UTF8, 0, text.data(), static_cast<int>(text.size()),
                      wide.data(), n);
  return wide;
}

inline std::string Utf8(const wchar_t* wide) {
  const int n =
      WideCharToMultiByte(CP_UTF8, 0, wide, -1, nullptr, 0, nullptr, nullptr);
  if (n <= 1) return "";
  std::string text(static_cast<size_t>(n - 1), '\0');
  WideCharToMultiByte(CP_UTF8, 0, wide, -1, text.data(), n, nullptr, nullptr);
  return text;
}

}  // namespace mmapio::cli

#endif  // MMAPIO_TOOLS_UTF16_WINDOWS_H_
