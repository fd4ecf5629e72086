// Which declarations a shared libmmapio exports. The library is compiled
// with hidden visibility, so that only the public API is in its dynamic
// symbol table and the internal layers stay free to change: each public
// header brackets its declarations with MMAPIO_BEGIN_EXPORTS and
// MMAPIO_END_EXPORTS, after the headers it includes, and so exports what it
// declares, and nothing of mmapio::internal. A member whose signature names
// an internal type is marked MMAPIO_HIDDEN; the few symbols that inline code
// of internal headers reaches are marked MMAPIO_EXPORT and have C names. In
// a static build these change nothing.

#ifndef MMAPIO_EXPORT_H_
#define MMAPIO_EXPORT_H_

#if defined(__GNUC__) && !defined(_WIN32)
#define MMAPIO_BEGIN_EXPORTS _Pragma("GCC visibility push(default)")
#define MMAPIO_END_EXPORTS _Pragma("GCC visibility pop")
#define MMAPIO_HIDDEN __attribute__((visibility("hidden")))
#define MMAPIO_EXPORT __attribute__((visibility("default")))
#else
#define MMAPIO_BEGIN_EXPORTS
#define MMAPIO_END_EXPORTS
#define MMAPIO_HIDDEN
#define MMAPIO_EXPORT
#endif

#endif  // MMAPIO_EXPORT_H_
