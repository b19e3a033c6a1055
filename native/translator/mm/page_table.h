// The guest's 4-level x86-64 page tables. They live in host memory registered with KVM at
// guest physical address = host virtual address, outside every guest mapping, so no guest
// virtual address reaches them.
#pragma once

#include <cstdint>
#include <vector>

namespace noah::kvm {
class Vm;
}

namespace noah::mm {

constexpr uint64_t kPageSize = 4096;
constexpr uint64_t kPageMask = kPageSize - 1;

inline uint64_t page_down(uint64_t address) {
  return address & ~kPageMask;
}
inline uint64_t page_up(uint64_t address) {
  return (address + kPageMask) & ~kPageMask;
}

// Access a guest mapping allows, in x86 page table terms.
struct PageAccess {
  bool present = false;
  bool writable = false;
  bool executable = false;
};

class PageTables {
 public:
  PageTables();
  ~PageTables();
  PageTables(const PageTables&) = delete;
  PageTables& operator=(const PageTables&) = delete;

  // Registers every page-table chunk with `vm` and with VMs that later chunks must join.
  void attach(kvm::Vm* vm);

  // Maps guest virtual [virt, virt+size) to guest physical [phys, ...) with `access`, or
  // clears the entries when access.present is false. Sizes are page multiples.
  void map(uint64_t virt, uint64_t phys, uint64_t size, PageAccess access);
  void unmap(uint64_t virt, uint64_t size) { map(virt, 0, size, PageAccess{}); }

  // The guest physical address of the top-level table, for CR3.
  uint64_t root() const { return root_; }

 private:
  uint64_t* table_at(uint64_t* parent, unsigned index, bool create);
  uint64_t* allocate_table();

  struct Chunk {
    uint8_t* base;
    uint64_t size;
  };
  std::vector<Chunk> chunks_;
  uint64_t chunk_used_ = 0;  // bytes used in the last chunk
  kvm::Vm* vm_ = nullptr;
  uint64_t root_ = 0;
};

}  // namespace noah::mm
