// Helpers shared by the handlers that take file descriptors.
#pragma once

#include <memory>
#include <string>

#include "translator/syscall/types.h"
#include "translator/task/process.h"
#include "translator/vfs/file_table.h"
#include "translator/vfs/path.h"

namespace noah::syscall {

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
  int result = thread.process.fs.check_writable(host);
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
bool open_special(Thread& thread, const std::string& absolute, int flags, int& result);
// readlink of a synthesized symlink such as /proc/self/exe; false when not one.
bool read_special_link(Thread& thread, const std::string& absolute, std::string& target);
// Whether a path relative to `base` may reach /dev or /proc and needs the special lookup.
bool may_be_special(const vfs::Base& base, const std::string& path);

}  // namespace noah::syscall
