// read, write and their vector, positional and in-kernel copy forms. Guest buffers go straight
// to the host kernel once AddressSpace::check() has accepted them.
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <mutex>
#include <shared_mutex>
#include <vector>

#include "translator/syscall/fd.h"
#include "translator/syscall/guest.h"
#include "translator/syscall/handlers.h"

namespace noah::syscall {
namespace {

constexpr int kMaxIovecs = 1024;  // Linux's UIO_MAXIOV

int64_t host_result(ssize_t result) {
  return result < 0 ? -errno : result;
}

// How many bytes from `address`, up to `count`, the guest may access with `access`. Linux
// copies until the first inaccessible byte, so a buffer that runs past its mapping gives a
// short count, and EFAULT only when not even the first byte is accessible.
uint64_t accessible_prefix(Thread& thread, uint64_t address, uint64_t count, int access) {
  if (count == 0) return 0;
  const mm::AddressSpace& mm = thread.process.mm;
  std::shared_lock lock(mm.mutex());
  uint64_t done = 0;
  while (done < count) {
    const mm::Vma* vma = mm.find_locked(address + done);
    if (vma == nullptr || !mm.check_locked(address + done, 1, access)) break;
    done = std::min(count, vma->end - address);
  }
  return done;
}

// Whether an optional loff_t pointer of sendfile, splice or copy_file_range is usable: null,
// or eight bytes the host may read and update.
bool valid_offset(Thread& thread, GuestPtr<int64_t> offset) {
  return offset.null() || thread.process.mm.check(offset.address, 8, mm::kRead | mm::kWrite);
}

// Copies and checks a guest iovec array into host iovecs.
int64_t read_iovecs(Thread& thread, uint64_t address, int count, int access,
                    std::vector<iovec>& out) {
  if (count < 0 || count > kMaxIovecs) return -EINVAL;
  out.resize(static_cast<size_t>(count));
  if (!copy_from_guest(thread, out.data(), address, count * sizeof(iovec))) return -EFAULT;
  uint64_t total = 0;
  for (const iovec& vector : out) {
    uint64_t base = reinterpret_cast<uint64_t>(vector.iov_base);
    if (static_cast<int64_t>(vector.iov_len) < 0) return -EINVAL;
    total += vector.iov_len;
    if (static_cast<int64_t>(total) < 0) return -EINVAL;
    if (!thread.process.mm.check(base, vector.iov_len, access)) return -EFAULT;
  }
  return 0;
}

int64_t vector_io(Thread& thread, int fd, uint64_t iov, int count, int64_t offset, int flags,
                  bool write, bool positional) {
  int host = host_fd(thread, fd);
  if (host < 0) return host;
  std::vector<iovec> vectors;
  int64_t result = read_iovecs(thread, iov, count, write ? mm::kRead : mm::kWrite, vectors);
  if (result < 0) return result;
  ssize_t done;
  if (write) {
    done = positional ? pwritev2(host, vectors.data(), count, offset, flags)
                      : ::writev(host, vectors.data(), count);
    return (host_result(done));
  }
  done = positional ? preadv2(host, vectors.data(), count, offset, flags)
                    : ::readv(host, vectors.data(), count);
  return host_result(done);
}

int64_t join_offset(int64_t low, int64_t high) {
  return static_cast<int64_t>((static_cast<uint64_t>(high) << 32) << 32 |
                              static_cast<uint64_t>(low));
}

}  // namespace

int64_t sys_read(Thread& thread, int fd, GuestPtr<void> buffer, uint64_t count) {
  int host = host_fd(thread, fd);
  if (host < 0) return host;
  uint64_t size = accessible_prefix(thread, buffer.address, count, mm::kWrite);
  if (size == 0 && count > 0) return -EFAULT;
  return host_result(::read(host, reinterpret_cast<void*>(buffer.address), size));
}

int64_t sys_write(Thread& thread, int fd, GuestPtr<void> buffer, uint64_t count) {
  int host = host_fd(thread, fd);
  if (host < 0) return host;
  uint64_t size = accessible_prefix(thread, buffer.address, count, mm::kRead);
  if (size == 0 && count > 0) return -EFAULT;
  return (host_result(::write(host, reinterpret_cast<void*>(buffer.address), size)));
}

int64_t sys_pread64(Thread& thread, int fd, GuestPtr<void> buffer, uint64_t count, int64_t offset) {
  int host = host_fd(thread, fd);
  if (host < 0) return host;
  uint64_t size = accessible_prefix(thread, buffer.address, count, mm::kWrite);
  if (size == 0 && count > 0) return -EFAULT;
  return host_result(::pread(host, reinterpret_cast<void*>(buffer.address), size, offset));
}

int64_t sys_pwrite64(Thread& thread, int fd, GuestPtr<void> buffer, uint64_t count,
                     int64_t offset) {
  int host = host_fd(thread, fd);
  if (host < 0) return host;
  uint64_t size = accessible_prefix(thread, buffer.address, count, mm::kRead);
  if (size == 0 && count > 0) return -EFAULT;
  return (host_result(::pwrite(host, reinterpret_cast<void*>(buffer.address), size, offset)));
}

int64_t sys_readv(Thread& thread, int fd, GuestPtr<void> iov, int count) {
  return vector_io(thread, fd, iov.address, count, 0, 0, false, false);
}

int64_t sys_writev(Thread& thread, int fd, GuestPtr<void> iov, int count) {
  return vector_io(thread, fd, iov.address, count, 0, 0, true, false);
}

int64_t sys_preadv(Thread& thread, int fd, GuestPtr<void> iov, int count, int64_t low,
                   int64_t high) {
  return vector_io(thread, fd, iov.address, count, join_offset(low, high), 0, false, true);
}

int64_t sys_pwritev(Thread& thread, int fd, GuestPtr<void> iov, int count, int64_t low,
                    int64_t high) {
  return vector_io(thread, fd, iov.address, count, join_offset(low, high), 0, true, true);
}

int64_t sys_preadv2(Thread& thread, int fd, GuestPtr<void> iov, int count, int64_t low,
                    int64_t high, Flags flags) {
  int64_t offset = join_offset(low, high);
  return vector_io(thread, fd, iov.address, count, offset, static_cast<int>(flags.value), false,
                   offset != -1);
}

int64_t sys_pwritev2(Thread& thread, int fd, GuestPtr<void> iov, int count, int64_t low,
                     int64_t high, Flags flags) {
  int64_t offset = join_offset(low, high);
  return vector_io(thread, fd, iov.address, count, offset, static_cast<int>(flags.value), true,
                   offset != -1);
}

int64_t sys_lseek(Thread& thread, int fd, int64_t offset, int whence) {
  auto file = file_of(thread, fd);
  if (!file) return -EBADF;
  int64_t position;
  if (seek_special_directory(*file, offset, whence, position)) return position;
  return host_result(::lseek(file->host_fd, offset, whence));
}

int64_t sys_getdents64(Thread& thread, int fd, GuestPtr<void> buffer, uint64_t count) {
  auto file = file_of(thread, fd);
  if (!file) return -EBADF;
  if (!thread.process.mm.check(buffer.address, count, mm::kWrite)) return -EFAULT;
  int64_t listed;
  if (read_special_directory(thread, *file, buffer.address, count, listed)) return listed;
  return host_result(::syscall(SYS_getdents64, file->host_fd, buffer.address, count));
}

int64_t sys_sendfile(Thread& thread, int out_fd, int in_fd, GuestPtr<int64_t> offset,
                     uint64_t count) {
  int out = host_fd(thread, out_fd), in = host_fd(thread, in_fd);
  if (out < 0) return out;
  if (in < 0) return in;
  if (!valid_offset(thread, offset)) return -EFAULT;
  auto* position = reinterpret_cast<off_t*>(offset.address);
  return host_result(::sendfile(out, in, position, count));
}

int64_t sys_copy_file_range(Thread& thread, int in_fd, GuestPtr<int64_t> in_offset, int out_fd,
                            GuestPtr<int64_t> out_offset, uint64_t length, Flags flags) {
  int in = host_fd(thread, in_fd), out = host_fd(thread, out_fd);
  if (in < 0) return in;
  if (out < 0) return out;
  if (!valid_offset(thread, in_offset) || !valid_offset(thread, out_offset)) return -EFAULT;
  return host_result(::copy_file_range(in, reinterpret_cast<off_t*>(in_offset.address), out,
                                       reinterpret_cast<off_t*>(out_offset.address), length,
                                       static_cast<unsigned>(flags.value)));
}

int64_t sys_splice(Thread& thread, int in_fd, GuestPtr<int64_t> in_offset, int out_fd,
                   GuestPtr<int64_t> out_offset, uint64_t length, Flags flags) {
  int in = host_fd(thread, in_fd), out = host_fd(thread, out_fd);
  if (in < 0) return in;
  if (out < 0) return out;
  if (!valid_offset(thread, in_offset) || !valid_offset(thread, out_offset)) return -EFAULT;
  return (host_result(::splice(in, reinterpret_cast<loff_t*>(in_offset.address), out,
                               reinterpret_cast<loff_t*>(out_offset.address), length,
                               static_cast<unsigned>(flags.value))));
}

int64_t sys_tee(Thread& thread, int in_fd, int out_fd, uint64_t length, Flags flags) {
  int in = host_fd(thread, in_fd), out = host_fd(thread, out_fd);
  if (in < 0) return in;
  if (out < 0) return out;
  return host_result(::tee(in, out, length, static_cast<unsigned>(flags.value)));
}

}  // namespace noah::syscall
