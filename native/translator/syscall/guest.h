// Checked access to guest memory. Guest virtual addresses are host addresses, so after
// AddressSpace::check() passes, the host may use the pointer directly; nothing here touches a
// byte the guest's own mappings do not allow.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

#include "translator/mm/address_space.h"
#include "translator/syscall/types.h"
#include "translator/task/process.h"

namespace noah::syscall {

// A host pointer to [address, address+length) when the guest may access it with `access`
// (mm::kRead, mm::kWrite), else nullptr. A zero length yields a non-null dummy pointer only
// when address is also valid or zero-length checks pass.
inline void* guest_buffer(Thread& thread, uint64_t address, uint64_t length, int access) {
  if (!thread.process.mm.check(address, length, access)) return nullptr;
  return reinterpret_cast<void*>(address);
}

inline bool copy_from_guest(Thread& thread, void* to, uint64_t from, uint64_t length) {
  void* source = guest_buffer(thread, from, length, mm::kRead);
  if (source == nullptr) return false;
  if (length > 0) memcpy(to, source, length);
  return true;
}

inline bool copy_to_guest(Thread& thread, uint64_t to, const void* from, uint64_t length) {
  void* target = guest_buffer(thread, to, length, mm::kWrite);
  if (target == nullptr) return false;
  if (length > 0) memcpy(target, from, length);
  return true;
}

template <typename T>
bool read_guest(Thread& thread, GuestPtr<T> pointer, T& value) {
  return copy_from_guest(thread, &value, pointer.address, sizeof(T));
}

template <typename T>
bool write_guest(Thread& thread, GuestPtr<T> pointer, const T& value) {
  return copy_to_guest(thread, pointer.address, &value, sizeof(T));
}

// Copies a NUL-terminated guest string of at most `max` bytes (NUL excluded). Returns 0,
// -EFAULT or -ENAMETOOLONG.
int read_string(Thread& thread, uint64_t address, std::string& out, size_t max = 4095);

// Reads a guest path argument: -EFAULT, -ENAMETOOLONG, or -ENOENT for an empty path.
int read_path(Thread& thread, GuestString path, std::string& out);

// Reads a NULL-terminated array of string pointers, such as execve's argv.
int read_string_array(Thread& thread, uint64_t address, std::vector<std::string>& out);

}  // namespace noah::syscall
