// The guest's address space: its mappings (vmas), the host memory behind them, the KVM memory
// slots that expose that memory, and the page tables that give the guest its permissions.
//
// One address translation: a guest virtual address is the guest physical address and the host
// virtual address of the same byte. The translator's own memory shares the host address space,
// so two rules keep it out of the guest's reach:
//  - Host ranges handed to the guest (regions) stay the guest's for the process's life. An
//    unmapped guest range is replaced by a PROT_NONE reservation instead of being returned to
//    the host, so the translator's allocations never land where a KVM slot or a stale pointer
//    check could reach them.
//  - Every guest pointer is checked against the vmas before the host touches it (check()).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <new>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "translator/mm/page_table.h"

namespace noah::kvm {
class Vm;
}

namespace noah::mm {

// Highest user address plus one, as Linux's TASK_SIZE on x86-64 with 4-level paging.
constexpr uint64_t kUserEnd = 0x7ffffffff000ull;

enum Access : int { kRead = 1, kWrite = 2 };

// One guest mapping, as /proc/PID/maps shows it.
struct Vma {
  uint64_t start = 0;
  uint64_t end = 0;
  int prot = 0;         // PROT_READ | PROT_WRITE | PROT_EXEC
  int flags = 0;        // MAP_SHARED or MAP_PRIVATE, plus MAP_ANONYMOUS
  uint64_t offset = 0;  // file offset of `start`
  dev_t device = 0;
  ino_t inode = 0;
  std::string name;  // guest path of the file, or "[heap]", "[stack]"
};

// The source of a new mapping's contents: a host file and offset, or anonymous memory.
struct MapSource {
  int host_fd = -1;  // -1 for anonymous memory
  uint64_t offset = 0;
  dev_t device = 0;
  ino_t inode = 0;
  std::string name;
};

class AddressSpace {
 public:
  explicit AddressSpace(PageTables& tables) : tables_(tables) {}
  ~AddressSpace();
  AddressSpace(const AddressSpace&) = delete;
  AddressSpace& operator=(const AddressSpace&) = delete;

  // Registers every region with `vm` as a memory slot, and later regions as they appear.
  void attach(kvm::Vm* vm);

  // mmap(2), munmap(2), mprotect(2), mremap(2) and brk(2) with Linux's semantics and errnos.
  // Each returns the address or 0, or -errno.
  int64_t mmap(uint64_t address, uint64_t length, int prot, int flags, const MapSource& source);
  int64_t munmap(uint64_t address, uint64_t length);
  int64_t mprotect(uint64_t address, uint64_t length, int prot);
  int64_t mremap(uint64_t old_address, uint64_t old_length, uint64_t new_length, int flags,
                 uint64_t new_address);
  uint64_t brk(uint64_t address);

  // Places the program break just after the loaded program, at `start`. Owned room up to
  // `reserved_end` is kept free for the break to grow into.
  void set_brk_start(uint64_t start, uint64_t reserved_end = 0);
  // Unmaps every mapping, as execve does before loading the new program. The host ranges stay
  // the guest's.
  void clear();
  // Makes every private writable page read-only in the page tables (the host memory stays
  // writable), so the program's first write to each page faults and can be recorded.
  void write_protect_private();
  // Gives the page at `address` back the write access its vma has.
  void restore_page(uint64_t address);
  uint64_t brk_start() const { return brk_start_; }

  // Whether every byte of [address, address+length) is mapped with `access` (kRead, kWrite).
  // A zero length is always valid. The result may be stale by the time it is used: pass the
  // pointer to host calls, which fail with EFAULT on memory unmapped since. To read or write
  // guest memory in the translator itself, hold mutex() shared around check_locked and the
  // access, as syscall/guest.h does.
  bool check(uint64_t address, uint64_t length, int access) const;
  bool check_locked(uint64_t address, uint64_t length, int access) const;
  // The vma containing `address`.
  std::optional<Vma> find(uint64_t address) const;
  const Vma* find_locked(uint64_t address) const;
  // A copy of every vma, for /proc/PID/maps.
  std::vector<Vma> snapshot() const;
  // Held exclusively by every change to the mappings; threads hold it shared while the
  // translator copies guest memory.
  std::shared_mutex& mutex() const { return mutex_; }
  // In a forked child, where the parent's threads that held the lock do not exist.
  void reset_lock_after_fork() { new (&mutex_) std::shared_mutex(); }

 private:
  struct Region {
    uint64_t end;
    uint32_t slot;
  };

  int64_t unmap_locked(uint64_t address, uint64_t length);
  bool own(uint64_t start, uint64_t end);
  void add_region(uint64_t start, uint64_t end);
  void drop_region(uint64_t start);
  bool owned(uint64_t start, uint64_t end) const;
  bool overlaps_vma(uint64_t start, uint64_t end) const;
  bool in_brk_area(uint64_t start, uint64_t end) const;
  bool reserve_for_brk(uint64_t needed);
  int64_t choose_address(uint64_t hint, uint64_t length, bool low_32bit);
  int64_t map_owned(uint64_t start, uint64_t length, int prot, int flags, const MapSource& source);
  void carve(uint64_t start, uint64_t end);
  void reserve(uint64_t start, uint64_t end);
  void set_access(uint64_t start, uint64_t end, int prot);

  mutable std::shared_mutex mutex_;
  PageTables& tables_;
  kvm::Vm* vm_ = nullptr;
  std::map<uint64_t, Region> regions_;  // keyed by start
  std::map<uint64_t, Vma> vmas_;        // keyed by start
  uint64_t brk_start_ = 0;
  uint64_t brk_ = 0;
  uint64_t brk_reserved_end_ = 0;  // owned room after the break, kept free for it
};

}  // namespace noah::mm
