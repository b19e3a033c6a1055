#include "translator/mm/address_space.h"

#include <fcntl.h>
#include <linux/mman.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <mutex>

#include "kvm/vm.h"
#include "translator/task/credentials.h"

namespace noah::mm {
namespace {

constexpr int kHostReserveFlags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
// The program break grows into room taken ahead of it in steps that double from this size, so
// a growing heap needs a logarithmic number of KVM slots.
constexpr uint64_t kBrkMinimumStep = 1ull << 20;
constexpr uint64_t kBrkMaximumStep = 1ull << 30;

// Host protection for a guest protection. x86 pages are readable whenever present, and the
// host never executes guest memory.
int host_prot(int prot) {
  int host = PROT_NONE;
  if (prot & (PROT_READ | PROT_WRITE | PROT_EXEC)) host |= PROT_READ;
  if (prot & PROT_WRITE) host |= PROT_WRITE;
  return host;
}

bool valid_range(uint64_t start, uint64_t length) {
  return length > 0 && start < kUserEnd && length <= kUserEnd - start;
}

}  // namespace

AddressSpace::~AddressSpace() = default;

void AddressSpace::attach(kvm::Vm* vm) {
  std::unique_lock lock(mutex_);
  vm_ = vm;
  for (auto& [start, region] : regions_) {
    region.slot = vm_->add_slot(start, reinterpret_cast<void*>(start), region.end - start);
  }
}

void AddressSpace::add_region(uint64_t start, uint64_t end) {
  uint32_t slot = 0;
  if (vm_ != nullptr) slot = vm_->add_slot(start, reinterpret_cast<void*>(start), end - start);
  regions_[start] = Region{end, slot};
}

void AddressSpace::drop_region(uint64_t start) {
  auto it = regions_.find(start);
  if (it == regions_.end()) return;
  if (vm_ != nullptr) vm_->remove_slot(it->second.slot);
  regions_.erase(it);
}

bool AddressSpace::owned(uint64_t start, uint64_t end) const {
  auto it = regions_.upper_bound(start);
  if (it == regions_.begin()) return false;
  --it;
  while (start < end) {
    if (it == regions_.end() || it->first > start || it->second.end <= start) return false;
    start = it->second.end;
    ++it;
  }
  return true;
}

// Makes [start, end) the guest's: every part not yet in a region is reserved on the host with
// MAP_FIXED_NOREPLACE, which fails where the translator's own memory lies. All or nothing.
bool AddressSpace::own(uint64_t start, uint64_t end) {
  std::vector<std::pair<uint64_t, uint64_t>> gaps;
  uint64_t cursor = start;
  auto it = regions_.upper_bound(start);
  if (it != regions_.begin()) {
    auto previous = std::prev(it);
    if (previous->second.end > cursor) cursor = previous->second.end;
  }
  for (; cursor < end; ++it) {
    uint64_t next = (it == regions_.end() || it->first >= end) ? end : it->first;
    if (next > cursor) gaps.emplace_back(cursor, next);
    if (it == regions_.end() || it->first >= end) break;
    cursor = std::max(cursor, it->second.end);
  }
  std::vector<std::pair<uint64_t, uint64_t>> reserved;
  for (auto [gap_start, gap_end] : gaps) {
    void* result = ::mmap(reinterpret_cast<void*>(gap_start), gap_end - gap_start, PROT_NONE,
                          kHostReserveFlags | MAP_FIXED_NOREPLACE, -1, 0);
    if (result != reinterpret_cast<void*>(gap_start)) {
      if (result != MAP_FAILED) ::munmap(result, gap_end - gap_start);
      for (auto [done_start, done_end] : reserved) {
        ::munmap(reinterpret_cast<void*>(done_start), done_end - done_start);
      }
      return false;
    }
    reserved.emplace_back(gap_start, gap_end);
  }
  for (auto [gap_start, gap_end] : reserved) add_region(gap_start, gap_end);
  return true;
}

bool AddressSpace::overlaps_vma(uint64_t start, uint64_t end) const {
  auto it = vmas_.lower_bound(start);
  if (it != vmas_.begin() && std::prev(it)->second.end > start) return true;
  return it != vmas_.end() && it->first < end;
}

bool AddressSpace::in_brk_area(uint64_t start, uint64_t end) const {
  return brk_reserved_end_ > brk_start_ && start < brk_reserved_end_ && end > brk_start_;
}

// Finds room for a mapping of `length` bytes: the hint when it is free, else a hole in a
// region, else a new region the host chooses.
int64_t AddressSpace::choose_address(uint64_t hint, uint64_t length, bool low_32bit) {
  hint = page_down(hint);
  if (hint != 0 && valid_range(hint, length) && !overlaps_vma(hint, hint + length) &&
      !in_brk_area(hint, hint + length) && own(hint, hint + length)) {
    return static_cast<int64_t>(hint);
  }
  if (!low_32bit) {
    for (const auto& [start, region] : regions_) {
      uint64_t cursor = start;
      auto vma = vmas_.lower_bound(start);
      if (vma != vmas_.begin() && std::prev(vma)->second.end > cursor) {
        cursor = std::prev(vma)->second.end;
      }
      while (cursor + length <= region.end) {
        uint64_t next = (vma == vmas_.end() || vma->first >= region.end) ? region.end : vma->first;
        if (next >= cursor + length && !in_brk_area(cursor, cursor + length)) {
          return static_cast<int64_t>(cursor);
        }
        if (vma == vmas_.end() || vma->first >= region.end) break;
        cursor = std::max(cursor, vma->second.end);
        ++vma;
      }
    }
  }
  int flags = kHostReserveFlags | (low_32bit ? MAP_32BIT : 0);
  void* result = ::mmap(nullptr, length, PROT_NONE, flags, -1, 0);
  if (result == MAP_FAILED) return -ENOMEM;
  auto start = reinterpret_cast<uint64_t>(result);
  if (!valid_range(start, length)) {
    ::munmap(result, length);
    return -ENOMEM;
  }
  add_region(start, start + length);
  return static_cast<int64_t>(start);
}

// Removes [start, end) from the vma table, splitting vmas that straddle its edges.
void AddressSpace::carve(uint64_t start, uint64_t end) {
  auto it = vmas_.lower_bound(start);
  if (it != vmas_.begin() && std::prev(it)->second.end > start) --it;
  while (it != vmas_.end() && it->first < end) {
    Vma vma = it->second;
    it = vmas_.erase(it);
    if (vma.start < start) {
      Vma head = vma;
      head.end = start;
      vmas_[head.start] = head;
    }
    if (vma.end > end) {
      Vma tail = vma;
      tail.start = end;
      if (!(tail.flags & MAP_ANONYMOUS)) tail.offset += end - vma.start;
      it = vmas_.emplace(tail.start, tail).first;
      ++it;
    }
  }
}

// Puts a PROT_NONE reservation over an owned range, dropping its contents. The host mapping
// change also makes KVM drop its cached translations for the range.
void AddressSpace::reserve(uint64_t start, uint64_t end) {
  ::mmap(reinterpret_cast<void*>(start), end - start, PROT_NONE, kHostReserveFlags | MAP_FIXED, -1,
         0);
}

void AddressSpace::set_access(uint64_t start, uint64_t end, int prot) {
  PageAccess access;
  access.present = (prot & (PROT_READ | PROT_WRITE | PROT_EXEC)) != 0;
  access.writable = (prot & PROT_WRITE) != 0;
  access.executable = (prot & PROT_EXEC) != 0;
  tables_.map(start, start, end - start, access);
}

int64_t AddressSpace::map_owned(uint64_t start, uint64_t length, int prot, int flags,
                                const MapSource& source) {
  bool anonymous = source.host_fd < 0;
  int host_flags = MAP_FIXED | (flags & MAP_SHARED ? MAP_SHARED : MAP_PRIVATE) |
                   (anonymous ? MAP_ANONYMOUS : 0) | (flags & (MAP_POPULATE | MAP_NORESERVE));
  uint64_t end = start + length;
  // Clear the old entries first: the host mapping change below then flushes KVM's copies.
  tables_.unmap(start, length);
  void* result = ::mmap(reinterpret_cast<void*>(start), length, host_prot(prot), host_flags,
                        anonymous ? -1 : source.host_fd, anonymous ? 0 : source.offset);
  carve(start, end);
  if (result == MAP_FAILED) {
    int error = errno;
    reserve(start, end);
    return -error;
  }
  Vma vma;
  vma.start = start;
  vma.end = end;
  vma.prot = prot;
  vma.flags = (flags & (MAP_SHARED | MAP_PRIVATE)) | (anonymous ? MAP_ANONYMOUS : 0);
  vma.offset = anonymous ? 0 : source.offset;
  vma.device = source.device;
  vma.inode = source.inode;
  vma.name = source.name;
  vmas_[start] = vma;
  set_access(start, end, prot);
  return static_cast<int64_t>(start);
}

int64_t AddressSpace::mmap(uint64_t address, uint64_t length, int prot, int flags,
                           const MapSource& source) {
  std::unique_lock lock(mutex_);
  int type = flags & MAP_TYPE;
  if (type != MAP_SHARED && type != MAP_PRIVATE && type != MAP_SHARED_VALIDATE) return -EINVAL;
  if (type == MAP_SHARED_VALIDATE) flags = (flags & ~MAP_TYPE) | MAP_SHARED;
  if (length == 0) return -EINVAL;
  if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM)) return -EINVAL;
  uint64_t aligned = page_up(length);
  if (aligned < length || aligned > kUserEnd) return -ENOMEM;
  length = aligned;
  bool anonymous = (flags & MAP_ANONYMOUS) != 0;
  if (!anonymous) {
    if (source.offset & kPageMask) return -EINVAL;
    if (source.offset + length < source.offset) return -EOVERFLOW;
    // Check the file's access mode here, as Linux does before touching the old mapping.
    int mode = fcntl(source.host_fd, F_GETFL);
    if (mode < 0) return -EBADF;
    if ((mode & O_PATH) == O_PATH) return -EBADF;
    if ((mode & O_ACCMODE) == O_WRONLY) return -EACCES;
    if ((flags & MAP_SHARED) && (prot & PROT_WRITE) && (mode & O_ACCMODE) != O_RDWR) {
      return -EACCES;
    }
  }
  MapSource effective = source;
  if (anonymous) effective.host_fd = -1;

  int64_t start;
  if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
    if (address & kPageMask) return -EINVAL;
    if (!valid_range(address, length)) return -ENOMEM;
    if ((flags & MAP_FIXED_NOREPLACE) && !(flags & MAP_FIXED) &&
        overlaps_vma(address, address + length)) {
      return -EEXIST;
    }
    // NOTE: a fixed address the translator itself occupies gets ENOMEM, where Linux would
    // succeed; programs that place mappings by hand rarely pick such addresses.
    if (!own(address, address + length)) return -ENOMEM;
    start = static_cast<int64_t>(address);
  } else {
    start = choose_address(address, length, (flags & MAP_32BIT) != 0);
    if (start < 0) return start;
  }
  return map_owned(static_cast<uint64_t>(start), length, prot, flags, effective);
}

int64_t AddressSpace::unmap_locked(uint64_t address, uint64_t length) {
  if ((address & kPageMask) || length == 0) return -EINVAL;
  length = page_up(length);
  if (!valid_range(address, length)) return -EINVAL;
  uint64_t end = address + length;
  auto it = vmas_.lower_bound(address);
  if (it != vmas_.begin() && std::prev(it)->second.end > address) --it;
  std::vector<std::pair<uint64_t, uint64_t>> mapped;
  for (; it != vmas_.end() && it->first < end; ++it) {
    mapped.emplace_back(std::max(it->first, address), std::min(it->second.end, end));
  }
  carve(address, end);
  for (auto [start, stop] : mapped) {
    tables_.unmap(start, stop - start);
    reserve(start, stop);
  }
  return 0;
}

int64_t AddressSpace::mprotect(uint64_t address, uint64_t length, int prot) {
  std::unique_lock lock(mutex_);
  if (address & kPageMask) return -EINVAL;
  if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM | PROT_GROWSDOWN | PROT_GROWSUP)) {
    return -EINVAL;
  }
  prot &= PROT_READ | PROT_WRITE | PROT_EXEC;
  length = page_up(length);
  if (length == 0) return 0;
  if (!valid_range(address, length)) return -ENOMEM;
  uint64_t end = address + length;
  // Every page must be mapped, else ENOMEM and nothing changes.
  uint64_t cursor = address;
  for (auto it = vmas_.upper_bound(address); cursor < end;) {
    if (it == vmas_.begin()) return -ENOMEM;
    const Vma& vma = std::prev(it)->second;
    if (vma.start > cursor || vma.end <= cursor) return -ENOMEM;
    if ((vma.flags & MAP_SHARED) && !(vma.flags & MAP_ANONYMOUS) && (prot & PROT_WRITE) &&
        !(vma.prot & PROT_WRITE)) {
      // The host mapping decides: a file opened read-only rejects PROT_WRITE with EACCES.
      uint64_t stop = std::min(vma.end, end);
      if (::mprotect(reinterpret_cast<void*>(cursor), stop - cursor, host_prot(prot)) < 0) {
        return -errno;
      }
    }
    cursor = vma.end;
    it = vmas_.upper_bound(cursor);
  }
  // Split at the edges, then update each piece.
  std::vector<Vma> pieces;
  auto it = vmas_.lower_bound(address);
  if (it != vmas_.begin() && std::prev(it)->second.end > address) --it;
  for (; it != vmas_.end() && it->first < end; ++it) pieces.push_back(it->second);
  carve(address, end);
  for (Vma piece : pieces) {
    Vma inside = piece;
    if (inside.start < address) {
      if (!(inside.flags & MAP_ANONYMOUS)) inside.offset += address - inside.start;
      inside.start = address;
    }
    if (inside.end > end) inside.end = end;
    Vma before = piece, after = piece;
    if (piece.start < inside.start) {
      before.end = inside.start;
      vmas_[before.start] = before;
    }
    if (piece.end > inside.end) {
      after.start = inside.end;
      if (!(after.flags & MAP_ANONYMOUS)) after.offset += inside.end - piece.start;
      vmas_[after.start] = after;
    }
    int old_prot = inside.prot;
    inside.prot = prot;
    vmas_[inside.start] = inside;
    set_access(inside.start, inside.end, prot);
    void* host = reinterpret_cast<void*>(inside.start);
    uint64_t size = inside.end - inside.start;
    // A host protection change flushes KVM's cached translations. When only PROT_EXEC goes
    // away the host protection stays the same, so pass through PROT_NONE to force the flush.
    if (host_prot(old_prot) == host_prot(prot) && (old_prot & ~prot)) {
      ::mprotect(host, size, PROT_NONE);
    }
    ::mprotect(host, size, host_prot(prot));
  }
  return 0;
}

int64_t AddressSpace::mremap(uint64_t old_address, uint64_t old_length, uint64_t new_length,
                             int flags, uint64_t new_address) {
  std::unique_lock lock(mutex_);
  if (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP)) return -EINVAL;
  if ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE)) return -EINVAL;
  // TODO: MREMAP_DONTUNMAP and duplicating a shared mapping with old_length 0 are unsupported.
  if (flags & MREMAP_DONTUNMAP) return -EINVAL;
  if (old_address & kPageMask) return -EINVAL;
  old_length = page_up(old_length);
  new_length = page_up(new_length);
  if (new_length == 0 || old_length == 0) return -EINVAL;
  const Vma* vma = find_locked(old_address);
  if (vma == nullptr || old_address + old_length > vma->end) return -EFAULT;
  Vma source = *vma;
  uint64_t old_end = old_address + old_length;

  if (!(flags & MREMAP_FIXED)) {
    if (new_length <= old_length) {
      if (new_length < old_length) unmap_locked(old_address + new_length, old_length - new_length);
      return static_cast<int64_t>(old_address);
    }
    // Grow in place when the pages after the mapping are free. Shared anonymous memory cannot
    // be extended with a second host mapping, so it always moves.
    uint64_t grown_end = old_address + new_length;
    bool shared_anonymous = (source.flags & MAP_SHARED) && (source.flags & MAP_ANONYMOUS);
    if (!shared_anonymous && old_end == source.end && valid_range(old_address, new_length) &&
        !overlaps_vma(old_end, grown_end) && !in_brk_area(old_end, grown_end) &&
        own(old_end, grown_end)) {
      MapSource extension{-1, 0, source.device, source.inode, source.name};
      int fd = -1;
      if (!(source.flags & MAP_ANONYMOUS)) {
        // The extension maps the same file further on, through the host's existing mapping.
        char path[64];
        snprintf(path, sizeof path, "/proc/self/map_files/%lx-%lx",
                 static_cast<unsigned long>(source.start), static_cast<unsigned long>(source.end));
        {
          // The translator reopens its own mapping, which is no file access of the guest.
          credentials::OwnIdentity own_identity;
          fd = open(path, O_RDONLY | O_CLOEXEC);
        }
        if (fd < 0) return -ENOMEM;
        extension.host_fd = fd;
        extension.offset = source.offset + (old_end - source.start);
      }
      int extension_flags = source.flags & ~MAP_ANONYMOUS;
      if (source.flags & MAP_ANONYMOUS) extension_flags |= MAP_ANONYMOUS;
      int64_t result =
          map_owned(old_end, grown_end - old_end, source.prot, extension_flags, extension);
      if (fd >= 0) close(fd);
      if (result < 0) return result;
      return static_cast<int64_t>(old_address);
    }
    if (!(flags & MREMAP_MAYMOVE)) return -ENOMEM;
    int64_t target = choose_address(0, new_length, false);
    if (target < 0) return target;
    new_address = static_cast<uint64_t>(target);
  } else {
    if (new_address & kPageMask) return -EINVAL;
    if (!valid_range(new_address, new_length)) return -EINVAL;
    uint64_t new_end = new_address + new_length;
    if (new_address < old_end && old_address < new_end) return -EINVAL;
    unmap_locked(new_address, new_length);
    if (!own(new_address, new_end)) return -ENOMEM;
  }

  // Move the host pages: the target is an owned reservation, which MREMAP_FIXED replaces.
  tables_.unmap(old_address, old_length);
  void* moved = ::mremap(reinterpret_cast<void*>(old_address), old_length, new_length,
                         MREMAP_MAYMOVE | MREMAP_FIXED, reinterpret_cast<void*>(new_address));
  if (moved == MAP_FAILED) {
    int error = errno;
    set_access(old_address, old_end, source.prot);
    return -error;
  }
  // The old range is now a hole in the host address space: take it back at once. If the host
  // gave it away in between, it stops being the guest's: its regions and slots go.
  void* back = ::mmap(reinterpret_cast<void*>(old_address), old_length, PROT_NONE,
                      kHostReserveFlags | MAP_FIXED_NOREPLACE, -1, 0);
  if (back != reinterpret_cast<void*>(old_address)) {
    if (back != MAP_FAILED) ::munmap(back, old_length);
    std::vector<uint64_t> lost;
    for (const auto& [start, region] : regions_) {
      if (start < old_end && region.end > old_address) lost.push_back(start);
    }
    for (uint64_t start : lost) drop_region(start);
  }
  carve(old_address, old_end);
  carve(new_address, new_address + new_length);
  Vma moved_vma = source;
  moved_vma.offset = source.offset + (old_address - source.start);
  if (source.flags & MAP_ANONYMOUS) moved_vma.offset = 0;
  moved_vma.start = new_address;
  moved_vma.end = new_address + new_length;
  vmas_[new_address] = moved_vma;
  set_access(moved_vma.start, moved_vma.end, moved_vma.prot);
  return static_cast<int64_t>(new_address);
}

void AddressSpace::set_brk_start(uint64_t start, uint64_t reserved_end) {
  std::unique_lock lock(mutex_);
  brk_start_ = brk_ = brk_reserved_end_ = page_up(start);
  if (reserved_end > brk_start_ && owned(brk_start_, reserved_end))
    brk_reserved_end_ = reserved_end;
}

// Takes the room after the break for it to grow into: as much as `wanted`, else exactly
// `needed`. Fails, as Linux's brk does, when a mapping or the translator is in the way.
bool AddressSpace::reserve_for_brk(uint64_t needed) {
  uint64_t step = std::clamp(brk_reserved_end_ - brk_start_, kBrkMinimumStep, kBrkMaximumStep);
  for (uint64_t end : {std::max(needed, brk_reserved_end_ + step), needed}) {
    if (!valid_range(brk_reserved_end_, end - brk_reserved_end_)) continue;
    if (overlaps_vma(brk_reserved_end_, end)) continue;
    if (own(brk_reserved_end_, end)) {
      brk_reserved_end_ = end;
      return true;
    }
  }
  return false;
}

uint64_t AddressSpace::brk(uint64_t address) {
  std::unique_lock lock(mutex_);
  if (address < brk_start_ || address >= kUserEnd) return brk_;
  uint64_t new_end = page_up(address);
  uint64_t old_end = page_up(brk_);
  if (new_end > old_end) {
    if (new_end > brk_reserved_end_ && !reserve_for_brk(new_end)) return brk_;
    MapSource heap{-1, 0, 0, 0, "[heap]"};
    if (map_owned(old_end, new_end - old_end, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                  heap) < 0) {
      return brk_;
    }
  } else if (new_end < old_end) {
    unmap_locked(new_end, old_end - new_end);
  }
  brk_ = address;
  return brk_;
}

void AddressSpace::clear() {
  std::unique_lock lock(mutex_);
  while (!vmas_.empty()) {
    const Vma& vma = vmas_.begin()->second;
    unmap_locked(vma.start, vma.end - vma.start);
  }
  brk_start_ = brk_ = brk_reserved_end_ = 0;
}

int64_t AddressSpace::munmap(uint64_t address, uint64_t length) {
  std::unique_lock lock(mutex_);
  return unmap_locked(address, length);
}

void AddressSpace::write_protect_private() {
  std::unique_lock lock(mutex_);
  for (const auto& [start, vma] : vmas_) {
    if ((vma.prot & PROT_WRITE) && !(vma.flags & MAP_SHARED)) {
      set_access(vma.start, vma.end, vma.prot & ~PROT_WRITE);
    }
  }
}

void AddressSpace::restore_page(uint64_t address) {
  std::unique_lock lock(mutex_);
  const Vma* vma = find_locked(address);
  if (vma != nullptr) set_access(page_down(address), page_down(address) + kPageSize, vma->prot);
}

bool AddressSpace::check(uint64_t address, uint64_t length, int access) const {
  std::shared_lock lock(mutex_);
  return check_locked(address, length, access);
}

std::optional<Vma> AddressSpace::find(uint64_t address) const {
  std::shared_lock lock(mutex_);
  const Vma* vma = find_locked(address);
  if (vma == nullptr) return std::nullopt;
  return *vma;
}

std::vector<Vma> AddressSpace::snapshot() const {
  std::shared_lock lock(mutex_);
  std::vector<Vma> result;
  for (const auto& [start, vma] : vmas_) result.push_back(vma);
  return result;
}

bool AddressSpace::check_locked(uint64_t address, uint64_t length, int access) const {
  if (length == 0) return true;
  if (address + length < address || address + length > kUserEnd) return false;
  uint64_t end = address + length;
  auto it = vmas_.upper_bound(address);
  if (it == vmas_.begin()) return false;
  --it;
  while (address < end) {
    if (it == vmas_.end() || it->first > address || it->second.end <= address) return false;
    int prot = it->second.prot;
    if ((access & kWrite) && !(prot & PROT_WRITE)) return false;
    if ((access & kRead) && !(prot & (PROT_READ | PROT_WRITE | PROT_EXEC))) return false;
    address = it->second.end;
    ++it;
  }
  return true;
}

const Vma* AddressSpace::find_locked(uint64_t address) const {
  auto it = vmas_.upper_bound(address);
  if (it == vmas_.begin()) return nullptr;
  --it;
  return address < it->second.end ? &it->second : nullptr;
}

}  // namespace noah::mm
