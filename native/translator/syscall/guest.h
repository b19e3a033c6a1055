// Checked access to guest memory. Guest virtual addresses are host addresses, so after
// AddressSpace::check() passes, the host may use the pointer directly; nothing here touches a
// byte the guest's own mappings do not allow.
#pragma once

#include <cstdint>
#include <cstring>
#include <mutex>
#include <shared_mutex>
#include <string>

#include "translator/mm/address_space.h"
#include "translator/syscall/types.h"
#include "translator/task/process.h"

namespace noah::syscall {

// A host pointer to [address, address+length) when the guest may access it with `access`
// (mm::kRead, mm::kWrite), else nullptr. Only for passing to host calls, which fail with
// EFAULT should another thread unmap the memory meanwhile; never dereferenced here.
inline void* guest_buffer(Thread& thread, uint64_t address, uint64_t length, int access) {
  if (!thread.process.mm.check(address, length, access)) return nullptr;
  return reinterpret_cast<void*>(address);
}

// The copies hold the address space's lock shared, so another thread cannot unmap the memory
// between the check and the copy.
inline bool copy_from_guest(Thread& thread, void* to, uint64_t from, uint64_t length) {
  const mm::AddressSpace& mm = thread.process.mm;
  std::shared_lock lock(mm.mutex());
  if (!mm.check_locked(from, length, mm::kRead)) return false;
  if (length > 0) memcpy(to, reinterpret_cast<const void*>(from), length);
  return true;
}

inline bool copy_to_guest(Thread& thread, uint64_t to, const void* from, uint64_t length) {
  const mm::AddressSpace& mm = thread.process.mm;
  std::shared_lock lock(mm.mutex());
  if (!mm.check_locked(to, length, mm::kWrite)) return false;
  if (length > 0) memcpy(reinterpret_cast<void*>(to), from, length);
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
