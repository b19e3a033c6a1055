// Typed system call arguments. A handler declares what each raw register means, and the
// dispatcher decodes the registers into those types; the tracer prints each type its own way.
#pragma once

#include <cstdint>
#include <type_traits>

namespace noah {
class Thread;
}

namespace noah::syscall {

// A guest address of a T. Never dereferenced directly: see guest.h for checked access.
template <typename T>
struct GuestPtr {
  uint64_t address;
  bool null() const { return address == 0; }
};

// A guest address of a NUL-terminated string that the call reads, such as a path.
struct GuestString {
  uint64_t address;
};

// Flag bits, printed in hexadecimal by the tracer.
struct Flags {
  uint64_t value;
};

// A directory descriptor argument of the *at calls, where AT_FDCWD (-100) means the cwd.
struct DirFd {
  int value;
};

enum class ArgKind : uint8_t { kSigned, kSigned32, kUnsigned, kHex, kPointer, kString, kDirFd };

template <typename T>
constexpr ArgKind kind_of() {
  if constexpr (std::is_same_v<T, GuestString>) {
    return ArgKind::kString;
  } else if constexpr (std::is_same_v<T, Flags>) {
    return ArgKind::kHex;
  } else if constexpr (std::is_same_v<T, DirFd>) {
    return ArgKind::kDirFd;
  } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T> && sizeof(T) == 4) {
    return ArgKind::kSigned32;
  } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    return ArgKind::kSigned;
  } else if constexpr (std::is_integral_v<T>) {
    return ArgKind::kUnsigned;
  } else {
    return ArgKind::kPointer;
  }
}

template <typename T>
T decode(uint64_t raw) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(raw);
  } else if constexpr (std::is_same_v<T, DirFd>) {
    return DirFd{static_cast<int>(raw)};
  } else {
    return T{raw};
  }
}

}  // namespace noah::syscall
