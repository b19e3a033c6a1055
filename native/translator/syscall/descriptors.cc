// The descriptor table (close, dup, fcntl, pipes) and operations on one open descriptor.
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>

#include "translator/syscall/fd.h"
#include "translator/syscall/guest.h"
#include "translator/syscall/handlers.h"
#include "translator/tty/console.h"
#include "translator/vfs/registry.h"

namespace noah::syscall {
namespace {

int64_t host_result(long result) {
  return result < 0 ? -errno : result;
}

int64_t duplicate(Thread& thread, int fd, int minimum, bool cloexec) {
  auto file = file_of(thread, fd);
  if (!file) return -EBADF;
  return thread.process.files.install(file, cloexec, minimum);
}

// Size and direction of the terminal, descriptor and socket ioctls passed to the host. The
// argument is a guest pointer to `size` bytes the host reads (kIn), writes (kOut), or reads and
// writes (kInOut), or an integer value.
enum class IoctlArg { kValue, kIn, kOut, kInOut };
struct IoctlInfo {
  unsigned long request;
  IoctlArg arg;
  uint64_t size;
};

constexpr uint64_t kKernelTermiosSize = 36;  // the kernel's struct termios on x86-64
constexpr uint64_t kKernelTermios2Size = 44;

constexpr IoctlInfo kIoctls[] = {
    {TCGETS, IoctlArg::kOut, kKernelTermiosSize},
    {TCSETS, IoctlArg::kIn, kKernelTermiosSize},
    {TCSETSW, IoctlArg::kIn, kKernelTermiosSize},
    {TCSETSF, IoctlArg::kIn, kKernelTermiosSize},
    {0x802c542a, IoctlArg::kOut, kKernelTermios2Size},  // TCGETS2
    {0x402c542b, IoctlArg::kIn, kKernelTermios2Size},   // TCSETS2
    {TIOCGWINSZ, IoctlArg::kOut, sizeof(winsize)},
    {TIOCSWINSZ, IoctlArg::kIn, sizeof(winsize)},
    {TIOCGPGRP, IoctlArg::kOut, sizeof(int)},
    {TIOCSPGRP, IoctlArg::kIn, sizeof(int)},
    {TIOCGSID, IoctlArg::kOut, sizeof(int)},
    {TIOCOUTQ, IoctlArg::kOut, sizeof(int)},
    {FIONREAD, IoctlArg::kOut, sizeof(int)},
    {FIONBIO, IoctlArg::kIn, sizeof(int)},
    {FIOASYNC, IoctlArg::kIn, sizeof(int)},
    {TIOCGPTN, IoctlArg::kOut, sizeof(unsigned)},
    {TIOCSPTLCK, IoctlArg::kIn, sizeof(int)},
    {TIOCNOTTY, IoctlArg::kValue, 0},
    {TIOCEXCL, IoctlArg::kValue, 0},
    {TIOCNXCL, IoctlArg::kValue, 0},
    {TIOCGEXCL, IoctlArg::kOut, sizeof(int)},
    {TIOCPKT, IoctlArg::kIn, sizeof(int)},
    {TIOCGPKT, IoctlArg::kOut, sizeof(int)},
    {TIOCGETD, IoctlArg::kOut, sizeof(int)},
    {TIOCSETD, IoctlArg::kIn, sizeof(int)},
    {TIOCGDEV, IoctlArg::kOut, sizeof(unsigned)},
    {TIOCSIG, IoctlArg::kValue, 0},
    {TCFLSH, IoctlArg::kValue, 0},
    {TCXONC, IoctlArg::kValue, 0},
    {TCSBRK, IoctlArg::kValue, 0},
    {TCSBRKP, IoctlArg::kValue, 0},
    // Network interface queries: the host reads ifr_name and writes the result into the ifreq.
    {SIOCGIFNAME, IoctlArg::kInOut, sizeof(ifreq)},
    {SIOCGIFINDEX, IoctlArg::kInOut, sizeof(ifreq)},
    {SIOCGIFFLAGS, IoctlArg::kInOut, sizeof(ifreq)},
    {SIOCGIFADDR, IoctlArg::kInOut, sizeof(ifreq)},
    {SIOCGIFDSTADDR, IoctlArg::kInOut, sizeof(ifreq)},
    {SIOCGIFBRDADDR, IoctlArg::kInOut, sizeof(ifreq)},
    {SIOCGIFNETMASK, IoctlArg::kInOut, sizeof(ifreq)},
    {SIOCGIFMETRIC, IoctlArg::kInOut, sizeof(ifreq)},
    {SIOCGIFMTU, IoctlArg::kInOut, sizeof(ifreq)},
    {SIOCGIFHWADDR, IoctlArg::kInOut, sizeof(ifreq)},
    {SIOCGIFTXQLEN, IoctlArg::kInOut, sizeof(ifreq)},
    {SIOCGIFMAP, IoctlArg::kInOut, sizeof(ifreq)},
    {SIOCATMARK, IoctlArg::kOut, sizeof(int)},
    {SIOCGSTAMP, IoctlArg::kOut, sizeof(timeval)},
    {SIOCGSTAMPNS, IoctlArg::kOut, sizeof(timespec)},
};

// Lists the host's interfaces into the guest's ifconf. Guest memory is mapped at the same
// addresses in the translator, so the buffer pointer inside the ifconf is valid once checked.
int64_t interface_list(Thread& thread, int host, uint64_t arg) {
  ifconf list;
  if (!copy_from_guest(thread, &list, arg, sizeof list)) return -EFAULT;
  if (list.ifc_len < 0) return -EINVAL;
  auto buffer = reinterpret_cast<uint64_t>(list.ifc_buf);
  if (buffer != 0 &&
      !thread.process.mm.check(buffer, static_cast<uint64_t>(list.ifc_len), mm::kWrite)) {
    return -EFAULT;
  }
  if (::ioctl(host, SIOCGIFCONF, &list) < 0) return -errno;
  if (!copy_to_guest(thread, arg, &list, sizeof list)) return -EFAULT;
  return 0;
}

// Requests that change an interface, a route or an ARP entry need CAP_NET_ADMIN, which a
// container's root lacks.
constexpr unsigned long kNetworkChanges[] = {
    SIOCADDRT,      SIOCDELRT,          SIOCSIFLINK,   SIOCSIFFLAGS,  SIOCSIFADDR,  SIOCSIFDSTADDR,
    SIOCSIFBRDADDR, SIOCSIFNETMASK,     SIOCSIFMETRIC, SIOCSIFMEM,    SIOCSIFMTU,   SIOCSIFNAME,
    SIOCSIFHWADDR,  SIOCSIFENCAP,       SIOCSIFSLAVE,  SIOCADDMULTI,  SIOCDELMULTI, SIOCSIFPFLAGS,
    SIOCDIFADDR,    SIOCSIFHWBROADCAST, SIOCSIFBR,     SIOCSIFTXQLEN, SIOCSIFMAP,   SIOCSMIIREG,
    SIOCDARP,       SIOCSARP,           SIOCDRARP,     SIOCSRARP,
};

bool changes_network(unsigned long code) {
  for (unsigned long change : kNetworkChanges) {
    if (change == code) return true;
  }
  return false;
}

// TIOCGPTPEER: opens the slave of the pseudo-terminal master `host` with open flags `flags`.
// NOTE: stricter than Linux (checked on 6.18), which passes unknown flags on to the open.
int64_t open_terminal_peer(Thread& thread, int host, uint64_t flags) {
  constexpr uint64_t kValid = O_ACCMODE | O_NOCTTY | O_NONBLOCK | O_CLOEXEC;
  if (flags & ~kValid) return -EINVAL;
  int peer = ::ioctl(host, TIOCGPTPEER, static_cast<int>(flags) | O_CLOEXEC);
  if (peer < 0) return -errno;
  return install_fd(thread, peer, tty::terminal_name(peer), (flags & O_CLOEXEC) != 0);
}

}  // namespace

int install_fd(Thread& thread, int host, std::string guest_path, bool cloexec, int minimum) {
  auto file = std::make_shared<vfs::OpenFile>(host, std::move(guest_path));
  return thread.process.files.install(std::move(file), cloexec, minimum);
}

int64_t sys_close(Thread& thread, int fd) {
  return thread.process.files.close(fd);
}

int64_t sys_close_range(Thread& thread, unsigned first, unsigned last, Flags flags) {
  if (flags.value & ~uint64_t{CLOSE_RANGE_CLOEXEC | CLOSE_RANGE_UNSHARE}) return -EINVAL;
  if (first > last) return -EINVAL;
  for (int fd : thread.process.files.open_descriptors()) {
    if (static_cast<unsigned>(fd) < first || static_cast<unsigned>(fd) > last) continue;
    if (flags.value & CLOSE_RANGE_CLOEXEC) {
      thread.process.files.set_cloexec(fd, true);
    } else {
      thread.process.files.close(fd);
    }
  }
  return 0;
}

int64_t sys_dup(Thread& thread, int fd) {
  return duplicate(thread, fd, 0, false);
}

int64_t sys_dup2(Thread& thread, int fd, int new_fd) {
  auto file = file_of(thread, fd);
  if (!file) return -EBADF;
  if (fd == new_fd) return new_fd;
  return thread.process.files.install_at(new_fd, file, false);
}

int64_t sys_dup3(Thread& thread, int fd, int new_fd, Flags flags) {
  if (flags.value & ~uint64_t{O_CLOEXEC}) return -EINVAL;
  if (fd == new_fd) return -EINVAL;
  auto file = file_of(thread, fd);
  if (!file) return -EBADF;
  return thread.process.files.install_at(new_fd, file, (flags.value & O_CLOEXEC) != 0);
}

int64_t sys_fcntl(Thread& thread, int fd, int command, uint64_t arg) {
  int host = host_fd(thread, fd);
  if (host < 0) return host;
  auto& files = thread.process.files;
  switch (command) {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC:
      if (static_cast<int64_t>(arg) < 0 || arg >= static_cast<uint64_t>(files.limit()))
        return -EINVAL;
      return duplicate(thread, fd, static_cast<int>(arg), command == F_DUPFD_CLOEXEC);
    case F_GETFD:
      return files.cloexec(fd) ? FD_CLOEXEC : 0;
    case F_SETFD:
      return files.set_cloexec(fd, (arg & FD_CLOEXEC) != 0);
    case F_GETFL:
    case F_SETFL:
    case F_SETOWN:
    case F_GETOWN:
    case F_SETSIG:
    case F_GETSIG:
    case F_SETLEASE:
    case F_GETLEASE:
    case F_NOTIFY:
    case F_SETPIPE_SZ:
    case F_GETPIPE_SZ:
    case F_ADD_SEALS:
    case F_GET_SEALS:
      return host_result(::fcntl(host, command, static_cast<int>(arg)));
    case F_GETLK:
    case F_SETLK:
    case F_SETLKW:
    case F_OFD_GETLK:
    case F_OFD_SETLK:
    case F_OFD_SETLKW: {
      int access =
          (command == F_GETLK || command == F_OFD_GETLK) ? mm::kRead | mm::kWrite : mm::kRead;
      if (!thread.process.mm.check(arg, sizeof(struct flock), access)) return -EFAULT;
      return host_result(::fcntl(host, command, reinterpret_cast<struct flock*>(arg)));
    }
    case F_GETOWN_EX:
    case F_SETOWN_EX: {
      int access = command == F_GETOWN_EX ? mm::kWrite : mm::kRead;
      if (!thread.process.mm.check(arg, sizeof(f_owner_ex), access)) return -EFAULT;
      return host_result(::fcntl(host, command, reinterpret_cast<f_owner_ex*>(arg)));
    }
    default:
      return -EINVAL;
  }
}

int64_t sys_ioctl(Thread& thread, int fd, Flags request, uint64_t arg) {
  int host = host_fd(thread, fd);
  if (host < 0) return host;
  auto& files = thread.process.files;
  unsigned long code = static_cast<unsigned>(request.value);
  if (code == FIOCLEX) return files.set_cloexec(fd, true);
  if (code == FIONCLEX) return files.set_cloexec(fd, false);
  if (code == TIOCGPTPEER) return open_terminal_peer(thread, host, arg);
  // Taking a terminal from another session (argument 1) needs CAP_SYS_ADMIN on Linux, which a
  // container's root lacks. A translator running as host root must not take it either.
  if (code == TIOCSCTTY) return host_result(::ioctl(host, TIOCSCTTY, 0));
  if (code == SIOCGIFCONF) return interface_list(thread, host, arg);
  if (changes_network(code)) return -EPERM;
  for (const IoctlInfo& info : kIoctls) {
    if (info.request != code) continue;
    if (info.arg == IoctlArg::kValue) return host_result(::ioctl(host, code, arg));
    int access = info.arg == IoctlArg::kOut  ? mm::kWrite
                 : info.arg == IoctlArg::kIn ? mm::kRead
                                             : mm::kRead | mm::kWrite;
    if (!thread.process.mm.check(arg, info.size, access)) return -EFAULT;
    return host_result(::ioctl(host, code, reinterpret_cast<void*>(arg)));
  }
  // TODO: device-specific ioctls beyond terminals and sockets; each needs its argument layout
  // listed here.
  return -ENOTTY;
}

int64_t sys_pipe(Thread& thread, GuestPtr<int> fds) {
  return sys_pipe2(thread, fds, Flags{0});
}

int64_t sys_pipe2(Thread& thread, GuestPtr<int> fds, Flags flags) {
  if (flags.value & ~uint64_t{O_CLOEXEC | O_NONBLOCK | O_DIRECT}) return -EINVAL;
  if (!thread.process.mm.check(fds.address, 2 * sizeof(int), mm::kWrite)) return -EFAULT;
  int host[2];
  if (::pipe2(host, static_cast<int>(flags.value) | O_CLOEXEC) < 0) return -errno;
  bool cloexec = (flags.value & O_CLOEXEC) != 0;
  int read_end = install_fd(thread, host[0], "", cloexec);
  if (read_end < 0) {
    ::close(host[1]);
    return read_end;
  }
  int write_end = install_fd(thread, host[1], "", cloexec);
  if (write_end < 0) {
    thread.process.files.close(read_end);
    return write_end;
  }
  int guest[2] = {read_end, write_end};
  copy_to_guest(thread, fds.address, guest, sizeof guest);
  return 0;
}

int64_t sys_eventfd(Thread& thread, unsigned initial) {
  return sys_eventfd2(thread, initial, Flags{0});
}

int64_t sys_eventfd2(Thread& thread, unsigned initial, Flags flags) {
  if (flags.value & ~uint64_t{EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE}) return -EINVAL;
  int host = ::eventfd(initial, static_cast<int>(flags.value) | EFD_CLOEXEC);
  if (host < 0) return -errno;
  return install_fd(thread, host, "", (flags.value & EFD_CLOEXEC) != 0);
}

int64_t sys_memfd_create(Thread& thread, GuestString name, Flags flags) {
  std::string value;
  int result = read_string(thread, name.address, value, 249);
  if (result < 0) return result == -ENAMETOOLONG ? -EINVAL : result;
  int host = ::memfd_create(value.c_str(), static_cast<unsigned>(flags.value) | MFD_CLOEXEC);
  if (host < 0) return -errno;
  return install_fd(thread, host, "", (flags.value & MFD_CLOEXEC) != 0);
}

int64_t sys_flock(Thread& thread, int fd, int operation) {
  int host = host_fd(thread, fd);
  if (host < 0) return host;
  return host_result(::flock(host, operation));
}

int64_t sys_fsync(Thread& thread, int fd) {
  int host = host_fd(thread, fd);
  return host < 0 ? host : host_result(::fsync(host));
}

int64_t sys_fdatasync(Thread& thread, int fd) {
  int host = host_fd(thread, fd);
  return host < 0 ? host : host_result(::fdatasync(host));
}

int64_t sys_syncfs(Thread& thread, int fd) {
  int host = host_fd(thread, fd);
  return host < 0 ? host : host_result(::syncfs(host));
}

int64_t sys_sync(Thread&) {
  ::sync();
  return 0;
}

int64_t sys_ftruncate(Thread& thread, int fd, int64_t length) {
  int host = host_fd_to_change(thread, fd);
  return host < 0 ? host : host_result(::ftruncate(host, length));
}

int64_t sys_fallocate(Thread& thread, int fd, int mode, int64_t offset, int64_t length) {
  int host = host_fd(thread, fd);
  return host < 0 ? host : host_result(::fallocate(host, mode, offset, length));
}

int64_t sys_fadvise64(Thread& thread, int fd, int64_t offset, int64_t length, int advice) {
  int host = host_fd(thread, fd);
  if (host < 0) return host;
  return -::posix_fadvise(host, offset, length, advice);
}

int64_t sys_readahead(Thread& thread, int fd, int64_t offset, uint64_t count) {
  int host = host_fd(thread, fd);
  return host < 0 ? host : host_result(::readahead(host, offset, count));
}

int64_t sys_fstat(Thread& thread, int fd, GuestPtr<void> stat) {
  int host = host_fd(thread, fd);
  if (host < 0) return host;
  if (!thread.process.mm.check(stat.address, sizeof(struct stat), mm::kWrite)) return -EFAULT;
  auto* out = reinterpret_cast<struct stat*>(stat.address);
  if (::fstat(host, out) < 0) return -errno;
  if (auto file = file_of(thread, fd)) adjust_special_stat(file->guest_path, *out);
  if (thread.process.fs.ownership.in_xattrs()) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", host);
    thread.process.fs.ownership.present(path, !S_ISLNK(out->st_mode), out->st_uid, out->st_gid);
  }
  return 0;
}

int64_t sys_fstatfs(Thread& thread, int fd, GuestPtr<void> statfs) {
  auto file = file_of(thread, fd);
  if (!file) return -EBADF;
  struct statfs value;
  if (::fstatfs(file->host_fd, &value) < 0) return -errno;
  adjust_special_statfs(file->guest_path, value);
  return copy_to_guest(thread, statfs.address, &value, sizeof value) ? 0 : -EFAULT;
}

int64_t sys_fchmod(Thread& thread, int fd, unsigned mode) {
  int host = host_fd_to_change(thread, fd);
  return host < 0 ? host : host_result(::fchmod(host, mode));
}

int64_t sys_fchown(Thread& thread, int fd, int uid, int gid) {
  int host = host_fd_to_change(thread, fd);
  if (host < 0) return host;
  const vfs::Ownership& ownership = thread.process.fs.ownership;
  if (ownership.in_xattrs()) {
    struct stat status;
    if (::fstat(host, &status) < 0) return -errno;
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", host);
    return ownership.change(path, true, status, uid, gid);
  }
  return host_result(::fchown(host, uid, gid));
}

int64_t sys_fchdir(Thread& thread, int fd) {
  auto file = file_of(thread, fd);
  if (!file) return -EBADF;
  int host = file->host_fd;
  struct stat status;
  if (::fstat(host, &status) < 0) return -errno;
  if (!S_ISDIR(status.st_mode)) return -ENOTDIR;
  int copy = ::fcntl(host, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) return -errno;
  std::string path = thread.process.fs.guest_path(copy);
  // Synthesized directories (/proc) are outside the root; their guest path is as opened.
  if (path.empty()) path = file->guest_path.empty() ? "/" : file->guest_path;
  thread.process.fs.set_cwd(std::make_shared<vfs::OpenFile>(copy, path));
  vfs::registry::publish(thread.process);
  return 0;
}

int64_t sys_fgetxattr(Thread& thread, int fd, GuestString name, GuestPtr<void> value,
                      uint64_t size) {
  int host = host_fd(thread, fd);
  if (host < 0) return host;
  std::string key;
  int result = read_string(thread, name.address, key, 255);
  if (result < 0) return result == -ENAMETOOLONG ? -ERANGE : result;
  if (!thread.process.mm.check(value.address, size, mm::kWrite)) return -EFAULT;
  return host_result(::fgetxattr(host, key.c_str(), reinterpret_cast<void*>(value.address), size));
}

int64_t sys_fsetxattr(Thread& thread, int fd, GuestString name, GuestPtr<void> value, uint64_t size,
                      Flags flags) {
  int host = host_fd_to_change(thread, fd);
  if (host < 0) return host;
  std::string key;
  int result = read_string(thread, name.address, key, 255);
  if (result < 0) return result == -ENAMETOOLONG ? -ERANGE : result;
  if (size > 65536) return -E2BIG;
  if (!thread.process.mm.check(value.address, size, mm::kRead)) return -EFAULT;
  return host_result(::fsetxattr(host, key.c_str(), reinterpret_cast<void*>(value.address), size,
                                 static_cast<int>(flags.value)));
}

int64_t sys_flistxattr(Thread& thread, int fd, GuestPtr<void> list, uint64_t size) {
  int host = host_fd(thread, fd);
  if (host < 0) return host;
  if (!thread.process.mm.check(list.address, size, mm::kWrite)) return -EFAULT;
  return host_result(::flistxattr(host, reinterpret_cast<char*>(list.address), size));
}

int64_t sys_fremovexattr(Thread& thread, int fd, GuestString name) {
  int host = host_fd_to_change(thread, fd);
  if (host < 0) return host;
  std::string key;
  int result = read_string(thread, name.address, key, 255);
  if (result < 0) return result == -ENAMETOOLONG ? -ERANGE : result;
  return host_result(::fremovexattr(host, key.c_str()));
}

}  // namespace noah::syscall
