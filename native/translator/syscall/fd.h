// Helpers shared by the handlers that take file descriptors.
#pragma once

#include <sys/stat.h>
#include <sys/statfs.h>

#include <memory>
#include <string>

#include "translator/syscall/types.h"
#include "translator/task/process.h"
#include "translator/vfs/file_table.h"
#include "translator/vfs/path.h"

namespace noah::syscall {

// 0, or -EROFS when `host_fd` is under a read-only mount or root. Files in /dev/shm stay
// writable, as that is a tmpfs in Docker's containers.
int check_writable(Thread& thread, int host_fd);

// The open file behind guest descriptor `fd`, or nullptr.
inline std::shared_ptr<vfs::OpenFile> file_of(Thread& thread, int fd) {
  return thread.process.files.get(fd);
}

// The host descriptor behind guest descriptor `fd`, or -EBADF.
inline int host_fd(Thread& thread, int fd) {
  auto file = file_of(thread, fd);
  return file ? file->host_fd : -EBADF;
}

// The host descriptor behind `fd` for a call that changes the file: -EROFS in a read-only root,
// and a file still shared with the image is copied up first.
inline int host_fd_to_change(Thread& thread, int fd) {
  int host = host_fd(thread, fd);
  if (host < 0) return host;
  int result = check_writable(thread, host);
  if (result < 0) return result;
  result = thread.process.fs.unshare(host);
  return result < 0 ? result : host;
}

// Gives a new host descriptor a guest number. On failure the host descriptor is closed.
int install_fd(Thread& thread, int host, std::string guest_path, bool cloexec, int minimum = 0);

// The starting directory of an *at call: the cwd for AT_FDCWD, else the directory `dirfd`
// names. Holds a reference so the descriptor stays open during the call.
class Directory {
 public:
  Directory(Thread& thread, DirFd dirfd);

  // 0, or -EBADF when dirfd is neither AT_FDCWD nor open.
  int error() const { return error_; }
  vfs::Base base() const { return vfs::Base{file_->host_fd, file_->guest_path}; }

 private:
  std::shared_ptr<vfs::OpenFile> file_;
  int error_ = 0;
};

// Opens a guest path, synthesized files (/dev, /proc) included. Returns the host descriptor or
// -errno, and the guest path of what was opened in `opened_path`.
int open_path(Thread& thread, DirFd dirfd, const std::string& path, int flags, mode_t mode,
              std::string* opened_path = nullptr);

// If `path` names a synthesized file, its host descriptor (or -errno) in `result`; returns
// false when the path is an ordinary one to resolve in the root.
bool open_special(Thread& thread, const std::string& absolute, int flags, mode_t mode, int& result);
// readlink of a synthesized symlink such as /proc/self/exe; false when not one.
bool read_special_link(Thread& thread, const std::string& absolute, std::string& target);
// Whether a path relative to `base` may reach /dev, /proc or /sys and needs the special lookup.
bool may_be_special(const vfs::Base& base, const std::string& path);
// getdents64 of a synthesized directory into guest `buffer`: false when `file` is not one.
bool read_special_directory(Thread& thread, vfs::OpenFile& file, uint64_t buffer, uint64_t count,
                            int64_t& result);
// Makes a host statfs result describe the guest's file system at `absolute` when that is
// proc, sysfs, devpts, mqueue or a tmpfs of /dev.
void adjust_special_statfs(const std::string& absolute, struct statfs& value);
// When `path` is a symlink of the root whose target is in /proc, /dev or /sys, which the root's
// own folders do not have, opens that target into `result` (a descriptor or -errno) and
// returns true.
bool open_special_link(Thread& thread, const vfs::Base& base, const std::string& path, int flags,
                       mode_t mode, std::string* opened_path, int& result);
// Makes stat results of /proc, /sys and /dev paths other than character devices show the
// device of their synthesized mount, so that st_dev matches /proc/PID/mountinfo as df expects.
void adjust_special_stat(const std::string& absolute, struct stat& value);
void adjust_special_statx(const std::string& absolute, struct statx& value);
// Whether lexical absolute path `absolute` is inside /dev/shm.
bool in_shm(const std::string& absolute);
// lseek of a synthesized directory: false when `file` is not one.
bool seek_special_directory(vfs::OpenFile& file, int64_t offset, int whence, int64_t& result);
// For calls that act on a path's last component (mkdir, unlink, rename...): the folder of a
// /dev/shm path, or an error for the rest of the synthesized trees. False for ordinary paths.
bool special_parent(Thread& thread, const std::string& absolute, vfs::UniqueFd& dir,
                    std::string& name, int& result);

}  // namespace noah::syscall
