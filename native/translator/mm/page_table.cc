#include "translator/mm/page_table.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include "kvm/vm.h"

namespace noah::mm {
namespace {

constexpr uint64_t kPresent = 1ull << 0;
constexpr uint64_t kWritable = 1ull << 1;
// Every page is a user page, the system structures too, because PVM checks the CPL 0 stubs'
// accesses as user accesses. The guest may therefore write its own GDT, TSS and stacks. That
// changes only its own VM, and the host treats whatever it reads there as untrusted.
constexpr uint64_t kUser = 1ull << 2;
constexpr uint64_t kAccessed = 1ull << 5;
constexpr uint64_t kDirty = 1ull << 6;
constexpr uint64_t kNoExecute = 1ull << 63;
constexpr uint64_t kAddressMask = 0x000ffffffffff000ull;
// Tables are carved from 2 MiB chunks so that KVM gets one memory slot per 512 tables.
constexpr uint64_t kChunkSize = 2ull << 20;

unsigned index_at(uint64_t virt, int level) {
  return (virt >> (12 + 9 * level)) & 511;
}

}  // namespace

PageTables::PageTables() {
  root_ = reinterpret_cast<uint64_t>(allocate_table());
}

PageTables::~PageTables() {
  for (const Chunk& chunk : chunks_) munmap(chunk.base, chunk.size);
}

void PageTables::attach(kvm::Vm* vm) {
  vm_ = vm;
  for (const Chunk& chunk : chunks_) {
    vm_->add_slot(reinterpret_cast<uint64_t>(chunk.base), chunk.base, chunk.size);
  }
}

uint64_t* PageTables::allocate_table() {
  if (chunks_.empty() || chunk_used_ == kChunkSize) {
    void* base =
        mmap(nullptr, kChunkSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) throw kvm::Error("mmap", "page-table chunk", errno);
    chunks_.push_back({static_cast<uint8_t*>(base), kChunkSize});
    chunk_used_ = 0;
    if (vm_ != nullptr) vm_->add_slot(reinterpret_cast<uint64_t>(base), base, kChunkSize);
  }
  uint8_t* table = chunks_.back().base + chunk_used_;
  chunk_used_ += kPageSize;
  memset(table, 0, kPageSize);
  return reinterpret_cast<uint64_t*>(table);
}

uint64_t* PageTables::table_at(uint64_t* parent, unsigned index, bool create) {
  uint64_t entry = __atomic_load_n(&parent[index], __ATOMIC_RELAXED);
  if (entry & kPresent) return reinterpret_cast<uint64_t*>(entry & kAddressMask);
  if (!create) return nullptr;
  uint64_t* table = allocate_table();
  // Upper levels allow everything; the leaf entry decides the access.
  uint64_t value = reinterpret_cast<uint64_t>(table) | kPresent | kWritable | kUser | kAccessed;
  __atomic_store_n(&parent[index], value, __ATOMIC_RELEASE);
  return table;
}

void PageTables::map(uint64_t virt, uint64_t phys, uint64_t size, PageAccess access) {
  uint64_t leaf_bits = 0;
  if (access.present) {
    leaf_bits = kPresent | kUser | kAccessed | kDirty;
    if (access.writable) leaf_bits |= kWritable;
    if (!access.executable) leaf_bits |= kNoExecute;
  }
  uint64_t end = virt + size;
  while (virt < end) {
    auto* pml4 = reinterpret_cast<uint64_t*>(root_);
    uint64_t* pdpt = table_at(pml4, index_at(virt, 3), access.present);
    uint64_t* pd = pdpt ? table_at(pdpt, index_at(virt, 2), access.present) : nullptr;
    uint64_t* pt = pd ? table_at(pd, index_at(virt, 1), access.present) : nullptr;
    if (pt == nullptr) {
      // Nothing is mapped under this 2 MiB range: skip to its end.
      uint64_t next = (virt | ((1ull << 21) - 1)) + 1;
      phys += next - virt;
      virt = next;
      continue;
    }
    // Fill the entries of this page table in one pass.
    for (unsigned i = index_at(virt, 0); i < 512 && virt < end; i++) {
      uint64_t value = access.present ? ((phys & kAddressMask) | leaf_bits) : 0;
      __atomic_store_n(&pt[i], value, __ATOMIC_RELEASE);
      virt += kPageSize;
      phys += kPageSize;
    }
  }
}

}  // namespace noah::mm
