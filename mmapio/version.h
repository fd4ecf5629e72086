// mmapio's version: the one place it is written. The CMake package, the
// pkg-config file and `mmapio --version` all read it from here.

#ifndef MMAPIO_VERSION_H_
#define MMAPIO_VERSION_H_

#define MMAPIO_VERSION_MAJOR 0
#define MMAPIO_VERSION_MINOR 2
#define MMAPIO_VERSION_PATCH 0
#define MMAPIO_VERSION_STRING "0.2.0"

#endif  // MMAPIO_VERSION_H_
