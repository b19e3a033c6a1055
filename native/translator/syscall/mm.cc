// Memory system calls: thin wrappers over AddressSpace, which owns the Linux semantics.
#include <sys/mman.h>
#include <sys/stat.h>

#include <cerrno>

#include "translator/syscall/fd.h"
#include "translator/syscall/guest.h"
#include "translator/syscall/handlers.h"

namespace noah::syscall {

int64_t sys_mmap(Thread& thread, GuestPtr<void> address, uint64_t length, Flags prot, Flags flags,
                 int fd, uint64_t offset) {
  mm::MapSource source;
  int map_flags = static_cast<int>(flags.value);
  std::shared_ptr<vfs::OpenFile> file;
  if (!(map_flags & MAP_ANONYMOUS)) {
    file = file_of(thread, fd);
    if (!file) return -EBADF;
    struct stat status;
    if (fstat(file->host_fd, &status) < 0) return -errno;
    source.host_fd = file->host_fd;
    source.offset = offset;
    source.device = status.st_dev;
    source.inode = status.st_ino;
    source.name = file->guest_path;
  }
  return thread.process.mm.mmap(address.address, length, static_cast<int>(prot.value), map_flags,
                                source);
}

int64_t sys_munmap(Thread& thread, GuestPtr<void> address, uint64_t length) {
  return thread.process.mm.munmap(address.address, length);
}

int64_t sys_mprotect(Thread& thread, GuestPtr<void> address, uint64_t length, Flags prot) {
  return thread.process.mm.mprotect(address.address, length, static_cast<int>(prot.value));
}

int64_t sys_mremap(Thread& thread, GuestPtr<void> old_address, uint64_t old_length,
                   uint64_t new_length, Flags flags, GuestPtr<void> new_address) {
  return thread.process.mm.mremap(old_address.address, old_length, new_length,
                                  static_cast<int>(flags.value), new_address.address);
}

int64_t sys_brk(Thread& thread, GuestPtr<void> address) {
  return static_cast<int64_t>(thread.process.mm.brk(address.address));
}

int64_t sys_madvise(Thread& thread, uint64_t address, uint64_t length, int advice) {
  if (address & mm::kPageMask) return -EINVAL;
  length = mm::page_up(length);
  if (length == 0) return 0;
  // Every page must be a guest mapping: the advice goes to the host's memory as it is.
  if (!thread.process.mm.check(address, length, 0)) return -ENOMEM;
  switch (advice) {
    case MADV_DONTNEED:
    case MADV_FREE:
    case MADV_REMOVE:
    case MADV_WILLNEED:
    case MADV_SEQUENTIAL:
    case MADV_RANDOM:
    case MADV_NORMAL:
    case MADV_DONTFORK:
    case MADV_DOFORK:
    case MADV_HUGEPAGE:
    case MADV_NOHUGEPAGE:
    case MADV_DONTDUMP:
    case MADV_DODUMP:
    case MADV_COLD:
    case MADV_PAGEOUT: {
      // The host mapping is the guest's memory, so the host applies the advice itself;
      // MADV_DONTNEED's zero-fill also reaches the guest this way.
      if (::madvise(reinterpret_cast<void*>(address), length, advice) < 0) return -errno;
      return 0;
    }
    default:
      return -EINVAL;
  }
}

int64_t sys_msync(Thread& thread, uint64_t address, uint64_t length, Flags flags) {
  if (address & mm::kPageMask) return -EINVAL;
  if (!thread.process.mm.check(address, length, 0)) return -ENOMEM;
  if (::msync(reinterpret_cast<void*>(address), length, static_cast<int>(flags.value)) < 0) {
    return -errno;
  }
  return 0;
}

int64_t sys_mincore(Thread& thread, uint64_t address, uint64_t length,
                    GuestPtr<unsigned char> vector) {
  if (address & mm::kPageMask) return -EINVAL;
  uint64_t pages = mm::page_up(length) / mm::kPageSize;
  if (!thread.process.mm.check(address, length, 0)) return -ENOMEM;
  if (!thread.process.mm.check(vector.address, pages, mm::kWrite)) return -EFAULT;
  if (::mincore(reinterpret_cast<void*>(address), length,
                reinterpret_cast<unsigned char*>(vector.address)) < 0) {
    return -errno;
  }
  return 0;
}

// The guest's memory cannot be locked for it: these succeed without effect, which Linux also
// allows within RLIMIT_MEMLOCK.
int64_t sys_mlock(Thread&, uint64_t, uint64_t) {
  return 0;
}
int64_t sys_munlock(Thread&, uint64_t, uint64_t) {
  return 0;
}
int64_t sys_mlockall(Thread&, Flags) {
  return 0;
}
int64_t sys_munlockall(Thread&) {
  return 0;
}

}  // namespace noah::syscall
