// System calls that take paths. Each path resolves inside the guest's root (vfs/path.h); calls
// that act on the last component itself (mkdir, unlink, rename, lchown...) resolve its parent
// and pass only the final name to the host, and calls that follow the last component open it
// first and act on the opened file through /proc/self/fd, so no host symlink walk can leave
// the root.
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <utime.h>

#include <cerrno>
#include <cstdio>

#include "translator/syscall/fd.h"
#include "translator/syscall/guest.h"
#include "translator/syscall/handlers.h"
#include "translator/vfs/registry.h"

namespace noah::syscall {
namespace {

// The open flags openat2 accepts; open ignores unknown bits, so they are dropped first.
constexpr int kValidOpenFlags = O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND |
                                O_NONBLOCK | O_DSYNC | FASYNC | O_DIRECT | O_LARGEFILE |
                                O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC | O_SYNC | O_PATH |
                                O_TMPFILE;

int64_t host_result(long result) {
  return result < 0 ? -errno : result;
}

// Whether a change to `path` fails with EROFS before any lookup: the root is read-only with no
// mounts, and the path is not in /dev/shm, a tmpfs in Docker's containers. With mounts, the
// check comes after the lookup (check_writable), because a mount may be writable in a
// read-only root.
bool read_only(Thread& thread, DirFd dirfd, GuestString path) {
  if (!thread.process.fs.read_only || !thread.process.fs.mounts().empty()) return false;
  std::string value;
  Directory directory(thread, dirfd);
  if (read_string(thread, path.address, value) < 0 || directory.error() < 0) return true;
  return !in_shm(vfs::lexical_absolute(directory.base().guest_path, value));
}

// Prepares a change to the file `fd` refers to: EROFS under a read-only mount or root, and a
// file still shared with the image is copied up.
int prepare_change(Thread& thread, int fd) {
  int result = check_writable(thread, fd);
  if (result < 0) return result;
  return thread.process.fs.unshare(fd);
}

// 0 when the guest may open the file `fd` refers to with `flags`, by the host's check with the
// guest's ids. As overlayfs checks permission before it copies a file up, an open the guest may
// not make leaves the image's file shared.
int check_write_access(int fd, int flags) {
  if ((flags & O_ACCMODE) == O_RDONLY && !(flags & O_TRUNC)) return 0;
  if (::syscall(SYS_faccessat2, fd, "", W_OK, AT_EACCESS | AT_EMPTY_PATH) == 0) return 0;
  // A host older than Linux 5.8 lacks faccessat2, and then the open itself checks.
  return errno == ENOSYS ? 0 : -errno;
}

bool opens_for_writing(int flags) {
  return (flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC)) ||
         (flags & O_TMPFILE) == O_TMPFILE;
}

std::string proc_fd_path(int host) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", host);
  return path;
}

bool single_component(const std::string& path) {
  return !path.empty() && path.find('/') == std::string::npos && path != "..";
}

// Opens `path` with O_PATH for calls that inspect or change the file it names.
int open_target(Thread& thread, DirFd dirfd, const std::string& path, bool follow,
                vfs::UniqueFd& out) {
  int fd = open_path(thread, dirfd, path, O_PATH | (follow ? 0 : O_NOFOLLOW), 0);
  if (fd < 0) return fd;
  out.reset(fd);
  return 0;
}

// Reads a path argument and opens it; AT_EMPTY_PATH with "" names dirfd itself.
int target_from_args(Thread& thread, DirFd dirfd, GuestString path, uint64_t flags,
                     vfs::UniqueFd& out) {
  std::string value;
  int result = read_string(thread, path.address, value);
  if (result < 0) return result;
  if (value.empty()) {
    if (!(flags & AT_EMPTY_PATH)) return -ENOENT;
    Directory directory(thread, dirfd);
    if (directory.error() < 0) return directory.error();
    int copy = fcntl(directory.base().host_fd, F_DUPFD_CLOEXEC, 0);
    if (copy < 0) return -errno;
    out.reset(copy);
    return 0;
  }
  return open_target(thread, dirfd, value, !(flags & AT_SYMLINK_NOFOLLOW), out);
}

// Resolves the parent of a path argument for calls that act on its last component.
int parent_from_args(Thread& thread, DirFd dirfd, GuestString path, vfs::UniqueFd& dir,
                     std::string& name) {
  std::string value;
  int result = read_path(thread, path, value);
  if (result < 0) return result;
  Directory directory(thread, dirfd);
  if (directory.error() < 0) return directory.error();
  if (may_be_special(directory.base(), value) &&
      special_parent(thread, vfs::lexical_absolute(directory.base().guest_path, value), dir, name,
                     result)) {
    return result;
  }
  return thread.process.fs.parent(directory.base(), value, dir, name);
}

int64_t stat_at(Thread& thread, DirFd dirfd, GuestString path, uint64_t buffer, uint64_t flags) {
  if (flags & ~uint64_t{AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT}) return -EINVAL;
  if (!thread.process.mm.check(buffer, sizeof(struct stat), mm::kWrite)) return -EFAULT;
  auto* out = reinterpret_cast<struct stat*>(buffer);
  std::string value;
  int result = read_string(thread, path.address, value);
  if (result < 0) return result;
  // Fast path for one name in a directory: fstatat without following cannot leave the
  // directory, and a result that is not a symlink is final either way.
  if (single_component(value)) {
    Directory directory(thread, dirfd);
    if (directory.error() < 0) return directory.error();
    if (!may_be_special(directory.base(), value)) {
      if (::fstatat(directory.base().host_fd, value.c_str(), out, AT_SYMLINK_NOFOLLOW) < 0) {
        return -errno;
      }
      const vfs::Ownership& ownership = thread.process.fs.ownership;
      if (ownership.in_xattrs()) {
        ownership.present(proc_fd_path(directory.base().host_fd) + "/" + value, false, out->st_uid,
                          out->st_gid);
      }
      // A mountpoint found by name in its parent stands for the mount's root.
      bool mountpoint = thread.process.fs.is_mountpoint(out->st_dev, out->st_ino);
      if (!mountpoint && ((flags & AT_SYMLINK_NOFOLLOW) || !S_ISLNK(out->st_mode))) return 0;
    }
  }
  vfs::UniqueFd fd;
  result = target_from_args(thread, dirfd, path, flags, fd);
  if (result < 0) return result;
  if (::fstat(fd.get(), out) < 0) return -errno;
  thread.process.fs.ownership.present(proc_fd_path(fd.get()), !S_ISLNK(out->st_mode), out->st_uid,
                                      out->st_gid);
  Directory directory(thread, dirfd);
  // With AT_EMPTY_PATH, value is "" and the path is dirfd's own, as fstat of it.
  if (directory.error() == 0 && may_be_special(directory.base(), value)) {
    adjust_special_stat(vfs::lexical_absolute(directory.base().guest_path, value), *out);
  }
  return 0;
}

}  // namespace

Directory::Directory(Thread& thread, DirFd dirfd) {
  if (dirfd.value == AT_FDCWD) {
    file_ = thread.process.fs.cwd();
    return;
  }
  file_ = thread.process.files.get(dirfd.value);
  if (!file_) error_ = -EBADF;
}

int open_path(Thread& thread, DirFd dirfd, const std::string& path, int flags, mode_t mode,
              std::string* opened_path) {
  Directory directory(thread, dirfd);
  if (directory.error() < 0) return directory.error();
  vfs::Base base = directory.base();
  if (may_be_special(base, path)) {
    std::string absolute = vfs::lexical_absolute(base.guest_path, path);
    // A trailing slash names the directory a symlink such as /proc/self leads to.
    int special_flags = path.back() == '/' ? (flags & ~O_NOFOLLOW) | O_DIRECTORY : flags;
    int result;
    if (open_special(thread, absolute, special_flags, mode, result)) {
      if (opened_path != nullptr) *opened_path = absolute;
      return result;
    }
  }
  vfs::Filesystem& fs = thread.process.fs;
  if (fs.read_only && fs.mounts().empty() && opens_for_writing(flags)) return -EROFS;
  if (fs.has_shared_inodes() && opens_for_writing(flags) && !(flags & O_EXCL)) {
    // An existing file of the image is copied up before it is opened for writing.
    vfs::UniqueFd existing(fs.open(base, path, O_PATH | (flags & O_NOFOLLOW), 0));
    if (existing.get() >= 0) {
      int result = check_write_access(existing.get(), flags);
      if (result == 0) result = fs.unshare(existing.get());
      if (result < 0) return result;
    }
  }
  int fd = fs.open(base, path, flags & kValidOpenFlags, mode & ~fs.umask);
  // A symlink of the root into /proc or /dev, such as /etc/mtab -> ../proc/self/mounts.
  if (fd == -ENOENT && !(flags & O_NOFOLLOW) &&
      open_special_link(thread, base, path, flags, mode, opened_path, fd)) {
    return fd;
  }
  if (fd >= 0 && opened_path != nullptr) {
    *opened_path = fs.guest_path(fd);
    if (opened_path->empty()) *opened_path = vfs::lexical_absolute(base.guest_path, path);
  }
  return fd;
}

int64_t sys_open(Thread& thread, GuestString path, Flags flags, unsigned mode) {
  return sys_openat(thread, DirFd{AT_FDCWD}, path, flags, mode);
}

int64_t sys_creat(Thread& thread, GuestString path, unsigned mode) {
  return sys_openat(thread, DirFd{AT_FDCWD}, path, Flags{O_CREAT | O_WRONLY | O_TRUNC}, mode);
}

int64_t sys_openat(Thread& thread, DirFd dirfd, GuestString path, Flags flags, unsigned mode) {
  std::string value;
  int result = read_path(thread, path, value);
  if (result < 0) return result;
  int open_flags = static_cast<int>(flags.value);
  std::string opened;
  int host = open_path(thread, dirfd, value, open_flags, mode, &opened);
  if (host < 0) return host;
  return install_fd(thread, host, opened, (open_flags & O_CLOEXEC) != 0);
}

int64_t sys_openat2(Thread& thread, DirFd dirfd, GuestString path, GuestPtr<void> how,
                    uint64_t size) {
  if (size < sizeof(open_how) || size > 4096) return -EINVAL;
  open_how request{};
  if (!copy_from_guest(thread, &request, how.address, sizeof request)) return -EFAULT;
  if (request.flags & ~uint64_t(kValidOpenFlags)) return -EINVAL;
  std::string value;
  int result = read_path(thread, path, value);
  if (result < 0) return result;
  int flags = static_cast<int>(request.flags);
  uint64_t confining = request.resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT);
  int host;
  std::string opened;
  if (confining != 0) {
    // The guest confines the walk to its own directory, which is inside the root already.
    Directory directory(thread, dirfd);
    if (directory.error() < 0) return directory.error();
    open_how host_how = request;
    host_how.flags |= O_CLOEXEC;
    host_how.resolve |= RESOLVE_NO_MAGICLINKS;
    host_how.mode &= ~thread.process.fs.umask;
    long fd =
        ::syscall(SYS_openat2, directory.base().host_fd, value.c_str(), &host_how, sizeof host_how);
    if (fd < 0) return -errno;
    host = static_cast<int>(fd);
    opened = thread.process.fs.guest_path(host);
  } else {
    host = open_path(thread, dirfd, value, flags, static_cast<mode_t>(request.mode), &opened);
    if (host < 0) return host;
  }
  return install_fd(thread, host, opened, (flags & O_CLOEXEC) != 0);
}

int64_t sys_stat(Thread& thread, GuestString path, GuestPtr<void> stat) {
  return stat_at(thread, DirFd{AT_FDCWD}, path, stat.address, 0);
}

int64_t sys_lstat(Thread& thread, GuestString path, GuestPtr<void> stat) {
  return stat_at(thread, DirFd{AT_FDCWD}, path, stat.address, AT_SYMLINK_NOFOLLOW);
}

int64_t sys_newfstatat(Thread& thread, DirFd dirfd, GuestString path, GuestPtr<void> stat,
                       Flags flags) {
  return stat_at(thread, dirfd, path, stat.address, flags.value);
}

int64_t sys_statx(Thread& thread, DirFd dirfd, GuestString path, Flags flags, unsigned mask,
                  GuestPtr<void> buffer) {
  constexpr uint64_t kSyncFlags = AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC;
  if (flags.value & ~uint64_t{AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | kSyncFlags}) {
    return -EINVAL;
  }
  if (!thread.process.mm.check(buffer.address, sizeof(struct statx), mm::kWrite)) return -EFAULT;
  auto* out = reinterpret_cast<struct statx*>(buffer.address);
  int sync = static_cast<int>(flags.value & kSyncFlags);
  std::string value;
  int result = read_string(thread, path.address, value);
  if (result < 0) return result;
  if (single_component(value)) {
    Directory directory(thread, dirfd);
    if (directory.error() < 0) return directory.error();
    if (!may_be_special(directory.base(), value)) {
      if (::statx(directory.base().host_fd, value.c_str(), AT_SYMLINK_NOFOLLOW | sync, mask, out) <
          0) {
        return -errno;
      }
      const vfs::Ownership& ownership = thread.process.fs.ownership;
      if (ownership.in_xattrs()) {
        ownership.present(proc_fd_path(directory.base().host_fd) + "/" + value, false, out->stx_uid,
                          out->stx_gid);
      }
      bool mountpoint = thread.process.fs.is_mountpoint(
          makedev(out->stx_dev_major, out->stx_dev_minor), out->stx_ino);
      if (!mountpoint && ((flags.value & AT_SYMLINK_NOFOLLOW) || !S_ISLNK(out->stx_mode))) {
        return 0;
      }
    }
  }
  vfs::UniqueFd fd;
  result = target_from_args(thread, dirfd, path, flags.value, fd);
  if (result < 0) return result;
  if (::statx(fd.get(), "", AT_EMPTY_PATH | sync, mask, out) < 0) return -errno;
  thread.process.fs.ownership.present(proc_fd_path(fd.get()), !S_ISLNK(out->stx_mode), out->stx_uid,
                                      out->stx_gid);
  Directory directory(thread, dirfd);
  if (directory.error() == 0 && may_be_special(directory.base(), value)) {
    adjust_special_statx(vfs::lexical_absolute(directory.base().guest_path, value), *out);
  }
  return 0;
}

int64_t sys_access(Thread& thread, GuestString path, int mode) {
  return sys_faccessat2(thread, DirFd{AT_FDCWD}, path, mode, Flags{0});
}

int64_t sys_faccessat(Thread& thread, DirFd dirfd, GuestString path, int mode) {
  return sys_faccessat2(thread, dirfd, path, mode, Flags{0});
}

int64_t sys_faccessat2(Thread& thread, DirFd dirfd, GuestString path, int mode, Flags flags) {
  if (mode & ~(R_OK | W_OK | X_OK)) return -EINVAL;
  if (flags.value & ~uint64_t{AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH}) return -EINVAL;
  vfs::UniqueFd fd;
  int result = target_from_args(thread, dirfd, path, flags.value, fd);
  if (result < 0) return result;
  return host_result(::faccessat(AT_FDCWD, proc_fd_path(fd.get()).c_str(), mode,
                                 static_cast<int>(flags.value & AT_EACCESS)));
}

int64_t sys_readlink(Thread& thread, GuestString path, GuestPtr<char> buffer, uint64_t size) {
  return sys_readlinkat(thread, DirFd{AT_FDCWD}, path, buffer, size);
}

int64_t sys_readlinkat(Thread& thread, DirFd dirfd, GuestString path, GuestPtr<char> buffer,
                       uint64_t size) {
  if (static_cast<int>(size) <= 0) return -EINVAL;
  std::string value;
  int result = read_string(thread, path.address, value);
  if (result < 0) return result;
  Directory directory(thread, dirfd);
  if (directory.error() < 0) return directory.error();
  std::string target;
  bool special = false;
  if (!value.empty() && may_be_special(directory.base(), value)) {
    special = read_special_link(thread, vfs::lexical_absolute(directory.base().guest_path, value),
                                target);
  }
  if (!special) {
    vfs::UniqueFd fd;
    if (value.empty()) {
      // readlinkat(fd, "") reads the symlink an O_PATH descriptor names.
      result = target_from_args(thread, dirfd, path, AT_EMPTY_PATH, fd);
    } else {
      result = open_target(thread, dirfd, value, false, fd);
    }
    if (result < 0) return result;
    char link[4096];
    ssize_t length = ::readlinkat(fd.get(), "", link, sizeof link);
    if (length < 0) return errno == ENOENT ? -EINVAL : -errno;
    target.assign(link, static_cast<size_t>(length));
  }
  uint64_t count = std::min<uint64_t>(size, target.size());
  if (!copy_to_guest(thread, buffer.address, target.data(), count)) return -EFAULT;
  return static_cast<int64_t>(count);
}

int64_t sys_mkdir(Thread& thread, GuestString path, unsigned mode) {
  return sys_mkdirat(thread, DirFd{AT_FDCWD}, path, mode);
}

int64_t sys_mkdirat(Thread& thread, DirFd dirfd, GuestString path, unsigned mode) {
  if (read_only(thread, dirfd, path)) return -EROFS;
  vfs::UniqueFd dir;
  std::string name;
  int result = parent_from_args(thread, dirfd, path, dir, name);
  if (result < 0) return result;
  result = check_writable(thread, dir.get());
  if (result < 0) return result;
  return host_result(::mkdirat(dir.get(), name.c_str(), mode & ~thread.process.fs.umask & 07777));
}

int64_t sys_mknod(Thread& thread, GuestString path, unsigned mode, uint64_t device) {
  return sys_mknodat(thread, DirFd{AT_FDCWD}, path, mode, device);
}

int64_t sys_mknodat(Thread& thread, DirFd dirfd, GuestString path, unsigned mode, uint64_t device) {
  if (read_only(thread, dirfd, path)) return -EROFS;
  vfs::UniqueFd dir;
  std::string name;
  int result = parent_from_args(thread, dirfd, path, dir, name);
  if (result < 0) return result;
  result = check_writable(thread, dir.get());
  if (result < 0) return result;
  mode_t permissions = mode & 07777 & ~thread.process.fs.umask;
  return host_result(::mknodat(dir.get(), name.c_str(), (mode & S_IFMT) | permissions, device));
}

int64_t sys_rmdir(Thread& thread, GuestString path) {
  return sys_unlinkat(thread, DirFd{AT_FDCWD}, path, Flags{AT_REMOVEDIR});
}

int64_t sys_unlink(Thread& thread, GuestString path) {
  return sys_unlinkat(thread, DirFd{AT_FDCWD}, path, Flags{0});
}

int64_t sys_unlinkat(Thread& thread, DirFd dirfd, GuestString path, Flags flags) {
  if (read_only(thread, dirfd, path)) return -EROFS;
  if (flags.value & ~uint64_t{AT_REMOVEDIR}) return -EINVAL;
  vfs::UniqueFd dir;
  std::string name;
  int result = parent_from_args(thread, dirfd, path, dir, name);
  if (result < 0) return result;
  result = check_writable(thread, dir.get());
  if (result < 0) return result;
  if (flags.value & AT_REMOVEDIR) {
    // rmdir of "." or a path ending in "/." is EINVAL on Linux, "/.." is ENOTEMPTY.
    if (name == "." || name == "./") return -EINVAL;
    if (name == ".." || name == "../") return -ENOTEMPTY;
  }
  return host_result(::unlinkat(dir.get(), name.c_str(), static_cast<int>(flags.value)));
}

int64_t sys_rename(Thread& thread, GuestString from, GuestString to) {
  return sys_renameat2(thread, DirFd{AT_FDCWD}, from, DirFd{AT_FDCWD}, to, Flags{0});
}

int64_t sys_renameat(Thread& thread, DirFd from_dir, GuestString from, DirFd to_dir,
                     GuestString to) {
  return sys_renameat2(thread, from_dir, from, to_dir, to, Flags{0});
}

int64_t sys_renameat2(Thread& thread, DirFd from_dir, GuestString from, DirFd to_dir,
                      GuestString to, Flags flags) {
  if (read_only(thread, from_dir, from) || read_only(thread, to_dir, to)) return -EROFS;
  vfs::UniqueFd old_dir, new_dir;
  std::string old_name, new_name;
  int result = parent_from_args(thread, from_dir, from, old_dir, old_name);
  if (result < 0) return result;
  result = parent_from_args(thread, to_dir, to, new_dir, new_name);
  if (result < 0) return result;
  vfs::Filesystem& fs = thread.process.fs;
  if ((result = check_writable(thread, old_dir.get())) < 0) return result;
  if ((result = check_writable(thread, new_dir.get())) < 0) return result;
  if ((result = fs.check_same_mount(old_dir.get(), new_dir.get())) < 0) return result;
  return host_result(::renameat2(old_dir.get(), old_name.c_str(), new_dir.get(), new_name.c_str(),
                                 static_cast<unsigned>(flags.value)));
}

int64_t sys_link(Thread& thread, GuestString from, GuestString to) {
  return sys_linkat(thread, DirFd{AT_FDCWD}, from, DirFd{AT_FDCWD}, to, Flags{0});
}

int64_t sys_linkat(Thread& thread, DirFd from_dir, GuestString from, DirFd to_dir, GuestString to,
                   Flags flags) {
  if (read_only(thread, to_dir, to)) return -EROFS;
  if (flags.value & ~uint64_t{AT_SYMLINK_FOLLOW | AT_EMPTY_PATH}) return -EINVAL;
  vfs::UniqueFd new_dir;
  std::string new_name;
  int result = parent_from_args(thread, to_dir, to, new_dir, new_name);
  if (result < 0) return result;
  result = check_writable(thread, new_dir.get());
  if (result < 0) return result;
  std::string source;
  result = read_string(thread, from.address, source);
  if (result < 0) return result;
  if ((flags.value & AT_SYMLINK_FOLLOW) || source.empty()) {
    // Link the file the source resolves to, through its /proc/self/fd entry.
    vfs::UniqueFd target;
    uint64_t target_flags =
        (flags.value & AT_EMPTY_PATH) | (flags.value & AT_SYMLINK_FOLLOW ? 0 : AT_SYMLINK_NOFOLLOW);
    result = target_from_args(thread, from_dir, from, target_flags, target);
    if (result < 0) return result;
    // Both names must share the container's own copy, not the image's file.
    result = prepare_change(thread, target.get());
    if (result < 0) return result;
    return host_result(::linkat(AT_FDCWD, proc_fd_path(target.get()).c_str(), new_dir.get(),
                                new_name.c_str(), AT_SYMLINK_FOLLOW));
  }
  vfs::UniqueFd old_dir;
  std::string old_name;
  result = parent_from_args(thread, from_dir, from, old_dir, old_name);
  if (result < 0) return result;
  result = thread.process.fs.unshare_at(old_dir.get(), old_name);
  if (result < 0) return result;
  return host_result(::linkat(old_dir.get(), old_name.c_str(), new_dir.get(), new_name.c_str(), 0));
}

int64_t sys_symlink(Thread& thread, GuestString target, GuestString path) {
  return sys_symlinkat(thread, target, DirFd{AT_FDCWD}, path);
}

int64_t sys_symlinkat(Thread& thread, GuestString target, DirFd dirfd, GuestString path) {
  if (read_only(thread, dirfd, path)) return -EROFS;
  std::string value;
  int result = read_path(thread, target, value);
  if (result < 0) return result;
  vfs::UniqueFd dir;
  std::string name;
  result = parent_from_args(thread, dirfd, path, dir, name);
  if (result < 0) return result;
  result = check_writable(thread, dir.get());
  if (result < 0) return result;
  return host_result(::symlinkat(value.c_str(), dir.get(), name.c_str()));
}

int64_t sys_chmod(Thread& thread, GuestString path, unsigned mode) {
  return sys_fchmodat2(thread, DirFd{AT_FDCWD}, path, mode, Flags{0});
}

int64_t sys_fchmodat(Thread& thread, DirFd dirfd, GuestString path, unsigned mode) {
  return sys_fchmodat2(thread, dirfd, path, mode, Flags{0});
}

int64_t sys_fchmodat2(Thread& thread, DirFd dirfd, GuestString path, unsigned mode, Flags flags) {
  if (read_only(thread, dirfd, path)) return -EROFS;
  if (flags.value & ~uint64_t{AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH}) return -EINVAL;
  vfs::UniqueFd fd;
  int result = target_from_args(thread, dirfd, path, flags.value, fd);
  if (result < 0) return result;
  result = prepare_change(thread, fd.get());
  if (result < 0) return result;
  struct stat status;
  if (::fstat(fd.get(), &status) < 0) return -errno;
  // Linux cannot change a symlink's mode.
  if (S_ISLNK(status.st_mode)) return -EOPNOTSUPP;
  return host_result(::chmod(proc_fd_path(fd.get()).c_str(), mode & 07777));
}

int64_t sys_chown(Thread& thread, GuestString path, int uid, int gid) {
  return sys_fchownat(thread, DirFd{AT_FDCWD}, path, uid, gid, Flags{0});
}

int64_t sys_lchown(Thread& thread, GuestString path, int uid, int gid) {
  return sys_fchownat(thread, DirFd{AT_FDCWD}, path, uid, gid, Flags{AT_SYMLINK_NOFOLLOW});
}

int64_t sys_fchownat(Thread& thread, DirFd dirfd, GuestString path, int uid, int gid, Flags flags) {
  if (read_only(thread, dirfd, path)) return -EROFS;
  if (flags.value & ~uint64_t{AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH}) return -EINVAL;
  vfs::UniqueFd fd;
  int result = target_from_args(thread, dirfd, path, flags.value, fd);
  if (result < 0) return result;
  result = prepare_change(thread, fd.get());
  if (result < 0) return result;
  const vfs::Ownership& ownership = thread.process.fs.ownership;
  if (ownership.in_xattrs()) {
    struct stat status;
    if (::fstat(fd.get(), &status) < 0) return -errno;
    return ownership.change(proc_fd_path(fd.get()), true, status, uid, gid);
  }
  return host_result(::fchownat(fd.get(), "", uid, gid, AT_EMPTY_PATH));
}

int64_t sys_truncate(Thread& thread, GuestString path, int64_t length) {
  if (read_only(thread, DirFd{AT_FDCWD}, path)) return -EROFS;
  vfs::UniqueFd fd;
  int result = target_from_args(thread, DirFd{AT_FDCWD}, path, 0, fd);
  if (result < 0) return result;
  result = prepare_change(thread, fd.get());
  if (result < 0) return result;
  struct stat status;
  if (::fstat(fd.get(), &status) < 0) return -errno;
  if (S_ISDIR(status.st_mode)) return -EISDIR;
  if (!S_ISREG(status.st_mode)) return -EINVAL;
  return host_result(::truncate(proc_fd_path(fd.get()).c_str(), length));
}

int64_t sys_utimensat(Thread& thread, DirFd dirfd, GuestString path, GuestPtr<void> times,
                      Flags flags) {
  if (read_only(thread, dirfd, path)) return -EROFS;
  if (flags.value & ~uint64_t{AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH}) return -EINVAL;
  timespec values[2];
  timespec* pointer = nullptr;
  if (!times.null()) {
    if (!copy_from_guest(thread, values, times.address, sizeof values)) return -EFAULT;
    pointer = values;
  }
  vfs::UniqueFd fd;
  if (path.address == 0) {
    // utimensat(fd, NULL, ...) changes the file fd names, as futimens does.
    Directory directory(thread, dirfd);
    if (directory.error() < 0 || dirfd.value == AT_FDCWD) return -EBADF;
    int host = host_fd_to_change(thread, dirfd.value);
    if (host < 0) return host;
    return host_result(::futimens(host, pointer));
  }
  int result = target_from_args(thread, dirfd, path, flags.value, fd);
  if (result < 0) return result;
  result = prepare_change(thread, fd.get());
  if (result < 0) return result;
  struct stat status;
  if (::fstat(fd.get(), &status) < 0) return -errno;
  if (S_ISLNK(status.st_mode)) {
    // A symlink's own times: through its parent directory, without following.
    vfs::UniqueFd dir;
    std::string name;
    result = parent_from_args(thread, dirfd, path, dir, name);
    if (result < 0) return result;
    result = thread.process.fs.unshare_at(dir.get(), name);
    if (result < 0) return result;
    return host_result(::utimensat(dir.get(), name.c_str(), pointer, AT_SYMLINK_NOFOLLOW));
  }
  return host_result(::utimensat(AT_FDCWD, proc_fd_path(fd.get()).c_str(), pointer, 0));
}

int64_t sys_futimesat(Thread& thread, DirFd dirfd, GuestString path, GuestPtr<void> times) {
  if (times.null()) return sys_utimensat(thread, dirfd, path, GuestPtr<void>{0}, Flags{0});
  timeval values[2];
  if (!copy_from_guest(thread, values, times.address, sizeof values)) return -EFAULT;
  for (const timeval& value : values) {
    if (value.tv_usec < 0 || value.tv_usec >= 1000000) return -EINVAL;
  }
  // Rewrite the timevals in place of the guest's as timespecs on the host side.
  vfs::UniqueFd fd;
  int result = target_from_args(thread, dirfd, path, 0, fd);
  if (result < 0) return result;
  timespec converted[2];
  for (int i = 0; i < 2; i++) {
    converted[i].tv_sec = values[i].tv_sec;
    converted[i].tv_nsec = values[i].tv_usec * 1000;
  }
  return host_result(::utimensat(AT_FDCWD, proc_fd_path(fd.get()).c_str(), converted, 0));
}

int64_t sys_utimes(Thread& thread, GuestString path, GuestPtr<void> times) {
  return sys_futimesat(thread, DirFd{AT_FDCWD}, path, times);
}

int64_t sys_utime(Thread& thread, GuestString path, GuestPtr<void> times) {
  vfs::UniqueFd fd;
  int result = target_from_args(thread, DirFd{AT_FDCWD}, path, 0, fd);
  if (result < 0) return result;
  if (times.null())
    return host_result(::utimensat(AT_FDCWD, proc_fd_path(fd.get()).c_str(), nullptr, 0));
  utimbuf value;
  if (!copy_from_guest(thread, &value, times.address, sizeof value)) return -EFAULT;
  timespec converted[2] = {{value.actime, 0}, {value.modtime, 0}};
  return host_result(::utimensat(AT_FDCWD, proc_fd_path(fd.get()).c_str(), converted, 0));
}

int64_t sys_statfs(Thread& thread, GuestString path, GuestPtr<void> statfs) {
  if (!thread.process.mm.check(statfs.address, sizeof(struct statfs), mm::kWrite)) return -EFAULT;
  vfs::UniqueFd fd;
  int result = target_from_args(thread, DirFd{AT_FDCWD}, path, 0, fd);
  if (result < 0) return result;
  struct statfs value;
  if (::fstatfs(fd.get(), &value) < 0) return -errno;
  std::string name;
  if (read_path(thread, path, name) == 0) {
    adjust_special_statfs(vfs::lexical_absolute(thread.process.fs.cwd()->guest_path, name), value);
  }
  return copy_to_guest(thread, statfs.address, &value, sizeof value) ? 0 : -EFAULT;
}

int64_t sys_chdir(Thread& thread, GuestString path) {
  std::string value;
  int result = read_path(thread, path, value);
  if (result < 0) return result;
  int fd = open_path(thread, DirFd{AT_FDCWD}, value, O_PATH | O_DIRECTORY, 0);
  if (fd < 0) return fd;
  std::string guest = thread.process.fs.guest_path(fd);
  if (guest.empty()) guest = vfs::lexical_absolute(thread.process.fs.cwd()->guest_path, value);
  thread.process.fs.set_cwd(std::make_shared<vfs::OpenFile>(fd, guest));
  vfs::registry::publish(thread.process);
  return 0;
}

int64_t sys_getcwd(Thread& thread, GuestPtr<char> buffer, uint64_t size) {
  vfs::Filesystem& fs = thread.process.fs;
  std::string path = fs.guest_path(fs.cwd()->host_fd);
  // A synthesized directory such as /proc is a host folder outside the root.
  if (path.empty() && may_be_special(vfs::Base{-1, "/"}, fs.cwd()->guest_path)) {
    path = fs.cwd()->guest_path;
  }
  if (path.empty()) return -ENOENT;
  if (size < path.size() + 1) return -ERANGE;
  if (!copy_to_guest(thread, buffer.address, path.c_str(), path.size() + 1)) return -EFAULT;
  return static_cast<int64_t>(path.size() + 1);
}

int64_t sys_umask(Thread& thread, unsigned mask) {
  mode_t old = thread.process.fs.umask;
  thread.process.fs.umask = mask & 0777;
  return old;
}

int64_t sys_chroot(Thread& thread, GuestString path) {
  vfs::UniqueFd fd;
  int result = target_from_args(thread, DirFd{AT_FDCWD}, path, 0, fd);
  if (result < 0) return result;
  // TODO: changing the guest's root directory inside the container is not supported yet.
  return -EPERM;
}

namespace {

int64_t path_xattr(Thread& thread, GuestString path, bool follow, vfs::UniqueFd& fd) {
  return target_from_args(thread, DirFd{AT_FDCWD}, path, follow ? 0 : AT_SYMLINK_NOFOLLOW, fd);
}

int read_xattr_name(Thread& thread, GuestString name, std::string& out) {
  int result = read_string(thread, name.address, out, 255);
  if (result == -ENAMETOOLONG) return -ERANGE;
  return result;
}

int64_t get_xattr(Thread& thread, GuestString path, GuestString name, GuestPtr<void> value,
                  uint64_t size, bool follow) {
  std::string key;
  int result = read_xattr_name(thread, name, key);
  if (result < 0) return result;
  if (!thread.process.mm.check(value.address, size, mm::kWrite)) return -EFAULT;
  vfs::UniqueFd fd;
  result = static_cast<int>(path_xattr(thread, path, follow, fd));
  if (result < 0) return result;
  return host_result(::getxattr(proc_fd_path(fd.get()).c_str(), key.c_str(),
                                reinterpret_cast<void*>(value.address), size));
}

int64_t set_xattr(Thread& thread, GuestString path, GuestString name, GuestPtr<void> value,
                  uint64_t size, Flags flags, bool follow) {
  if (read_only(thread, DirFd{AT_FDCWD}, path)) return -EROFS;
  std::string key;
  int result = read_xattr_name(thread, name, key);
  if (result < 0) return result;
  if (size > 65536) return -E2BIG;
  if (!thread.process.mm.check(value.address, size, mm::kRead)) return -EFAULT;
  vfs::UniqueFd fd;
  result = static_cast<int>(path_xattr(thread, path, follow, fd));
  if (result < 0) return result;
  result = prepare_change(thread, fd.get());
  if (result < 0) return result;
  return host_result(::setxattr(proc_fd_path(fd.get()).c_str(), key.c_str(),
                                reinterpret_cast<void*>(value.address), size,
                                static_cast<int>(flags.value)));
}

int64_t list_xattr(Thread& thread, GuestString path, GuestPtr<void> list, uint64_t size,
                   bool follow) {
  if (!thread.process.mm.check(list.address, size, mm::kWrite)) return -EFAULT;
  vfs::UniqueFd fd;
  int result = static_cast<int>(path_xattr(thread, path, follow, fd));
  if (result < 0) return result;
  return host_result(
      ::listxattr(proc_fd_path(fd.get()).c_str(), reinterpret_cast<char*>(list.address), size));
}

int64_t remove_xattr(Thread& thread, GuestString path, GuestString name, bool follow) {
  if (read_only(thread, DirFd{AT_FDCWD}, path)) return -EROFS;
  std::string key;
  int result = read_xattr_name(thread, name, key);
  if (result < 0) return result;
  vfs::UniqueFd fd;
  result = static_cast<int>(path_xattr(thread, path, follow, fd));
  if (result < 0) return result;
  result = prepare_change(thread, fd.get());
  if (result < 0) return result;
  return host_result(::removexattr(proc_fd_path(fd.get()).c_str(), key.c_str()));
}

}  // namespace

int64_t sys_getxattr(Thread& t, GuestString p, GuestString n, GuestPtr<void> v, uint64_t s) {
  return get_xattr(t, p, n, v, s, true);
}
int64_t sys_lgetxattr(Thread& t, GuestString p, GuestString n, GuestPtr<void> v, uint64_t s) {
  return get_xattr(t, p, n, v, s, false);
}
int64_t sys_setxattr(Thread& t, GuestString p, GuestString n, GuestPtr<void> v, uint64_t s,
                     Flags f) {
  return set_xattr(t, p, n, v, s, f, true);
}
int64_t sys_lsetxattr(Thread& t, GuestString p, GuestString n, GuestPtr<void> v, uint64_t s,
                      Flags f) {
  return set_xattr(t, p, n, v, s, f, false);
}
int64_t sys_listxattr(Thread& t, GuestString p, GuestPtr<void> l, uint64_t s) {
  return list_xattr(t, p, l, s, true);
}
int64_t sys_llistxattr(Thread& t, GuestString p, GuestPtr<void> l, uint64_t s) {
  return list_xattr(t, p, l, s, false);
}
int64_t sys_removexattr(Thread& t, GuestString p, GuestString n) {
  return remove_xattr(t, p, n, true);
}
int64_t sys_lremovexattr(Thread& t, GuestString p, GuestString n) {
  return remove_xattr(t, p, n, false);
}

}  // namespace noah::syscall
