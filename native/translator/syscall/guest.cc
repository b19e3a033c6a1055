#include "translator/syscall/guest.h"

#include <cerrno>
#include <vector>

namespace noah::syscall {

int read_string(Thread& thread, uint64_t address, std::string& out, size_t max) {
  out.clear();
  const mm::AddressSpace& mm = thread.process.mm;
  std::shared_lock lock(mm.mutex());
  while (true) {
    const mm::Vma* vma = mm.find_locked(address);
    if (vma == nullptr || !mm.check_locked(address, 1, mm::kRead)) return -EFAULT;
    // Scan to the end of this vma at most; the string may continue in the next one.
    uint64_t limit = std::min<uint64_t>(vma->end - address, max + 1 - out.size());
    const char* start = reinterpret_cast<const char*>(address);
    const void* nul = memchr(start, 0, limit);
    if (nul != nullptr) {
      out.append(start, static_cast<const char*>(nul) - start);
      return out.size() > max ? -ENAMETOOLONG : 0;
    }
    out.append(start, limit);
    if (out.size() > max) return -ENAMETOOLONG;
    address += limit;
  }
}

int read_path(Thread& thread, GuestString path, std::string& out) {
  int result = read_string(thread, path.address, out);
  if (result < 0) return result;
  return out.empty() ? -ENOENT : 0;
}

int read_string_array(Thread& thread, uint64_t address, std::vector<std::string>& out) {
  out.clear();
  if (address == 0) return 0;
  // Linux's MAX_ARG_STRINGS.
  for (size_t i = 0; i < 0x7fffffff; i++) {
    uint64_t pointer;
    if (!copy_from_guest(thread, &pointer, address + i * 8, 8)) return -EFAULT;
    if (pointer == 0) return 0;
    std::string value;
    int result = read_string(thread, pointer, value, 128 * 1024);
    if (result == -ENAMETOOLONG) return -E2BIG;
    if (result < 0) return result;
    out.push_back(std::move(value));
  }
  return -E2BIG;
}

}  // namespace noah::syscall
