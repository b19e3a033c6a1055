#include "translator/vfs/path.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace noah::vfs {
namespace {

int openat2(int dirfd, const char* path, int flags, mode_t mode, uint64_t resolve) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags) | O_CLOEXEC;
  // openat2 rejects a mode without O_CREAT or O_TMPFILE, where open ignores it.
  if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) how.mode = mode & 07777;
  how.resolve = resolve | RESOLVE_NO_MAGICLINKS;
  // With RESOLVE_IN_ROOT or RESOLVE_BENEATH the kernel answers EAGAIN when a rename or mount
  // anywhere on the host raced with a ".." step; openat2(2) says to retry.
  constexpr int kAttempts = 64;
  long fd = -1;
  for (int attempt = 0; attempt < kAttempts; attempt++) {
    fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    if (fd >= 0 || errno != EAGAIN) break;
  }
  return fd < 0 ? -errno : static_cast<int>(fd);
}

}  // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) reset(other.release());
  return *this;
}

int UniqueFd::release() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

std::string lexical_absolute(const std::string& base, const std::string& path) {
  std::string joined = (!path.empty() && path[0] == '/') ? path : base + "/" + path;
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= joined.size()) {
    size_t slash = joined.find('/', start);
    if (slash == std::string::npos) slash = joined.size();
    std::string part = joined.substr(start, slash - start);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    start = slash + 1;
  }
  std::string result;
  for (const auto& part : parts) result += "/" + part;
  return result.empty() ? "/" : result;
}

Filesystem::Filesystem(const std::string& host_root) {
  char resolved[PATH_MAX];
  if (realpath(host_root.c_str(), resolved) == nullptr) {
    throw std::runtime_error("root directory " + host_root + ": " + strerror(errno));
  }
  host_root_ = resolved;
  if (host_root_ == "/") host_root_.clear();
  int fd = ::open(resolved, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("open root directory " + host_root + ": " + strerror(errno));
  root_fd_.reset(fd);
  int cwd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (cwd < 0)
    throw std::runtime_error("duplicate root descriptor: " + std::string(strerror(errno)));
  cwd_ = std::make_shared<OpenFile>(cwd, "/");
}

std::shared_ptr<OpenFile> Filesystem::cwd() const {
  std::lock_guard lock(cwd_mutex_);
  return cwd_;
}

void Filesystem::set_cwd(std::shared_ptr<OpenFile> cwd) {
  std::shared_ptr<OpenFile> old;  // closed after the lock is released
  std::lock_guard lock(cwd_mutex_);
  old = std::move(cwd_);
  cwd_ = std::move(cwd);
}

int Filesystem::open_from_root(const std::string& absolute, int flags, mode_t mode) const {
  size_t skip = absolute.find_first_not_of('/');
  std::string relative = skip == std::string::npos ? "." : absolute.substr(skip);
  return openat2(root_fd_.get(), relative.c_str(), flags, mode, RESOLVE_IN_ROOT);
}

int Filesystem::open(const Base& base, const std::string& path, int flags, mode_t mode) const {
  if (path.empty()) return -ENOENT;
  if (path[0] == '/') return open_from_root(path, flags, mode);
  // A relative path first resolves beneath its directory. One that climbs out of it with ".."
  // or meets an absolute symlink gets EXDEV, and is then resolved again from the root.
  int fd = openat2(base.host_fd, path.c_str(), flags, mode, RESOLVE_BENEATH);
  if (fd != -EXDEV) return fd;
  std::string directory = guest_path(base.host_fd);
  if (directory.empty()) directory = base.guest_path;
  return open_from_root(directory + "/" + path, flags, mode);
}

int Filesystem::parent(const Base& base, const std::string& path, UniqueFd& dir,
                       std::string& name) const {
  if (path.empty()) return -ENOENT;
  size_t end = path.find_last_not_of('/');
  if (end == std::string::npos) {
    // "/" or "///": the root itself.
    name = ".";
    int fd = open_from_root("/", O_PATH | O_DIRECTORY, 0);
    if (fd < 0) return fd;
    dir.reset(fd);
    return 0;
  }
  size_t slash = path.rfind('/', end);
  size_t name_start = slash == std::string::npos ? 0 : slash + 1;
  name.assign(path, name_start, end - name_start + 1);
  // A trailing slash: the last component must be a directory; callers see it as "name/".
  if (end + 1 < path.size()) name.push_back('/');
  std::string directory;
  if (slash == std::string::npos) {
    directory = ".";
  } else if (slash == 0) {
    directory = "/";
  } else {
    directory.assign(path, 0, slash);
  }
  int fd = open(base, directory, O_PATH | O_DIRECTORY, 0);
  if (fd < 0) return fd;
  dir.reset(fd);
  return 0;
}

std::string Filesystem::guest_path(int host_fd) const {
  char link[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", host_fd);
  char target[PATH_MAX];
  ssize_t length = readlink(link, target, sizeof target - 1);
  if (length < 0) return "";
  std::string path(target, static_cast<size_t>(length));
  if (path.compare(0, host_root_.size(), host_root_) != 0) return "";
  std::string rest = path.substr(host_root_.size());
  if (rest.empty()) return "/";
  if (rest[0] != '/') return "";
  return rest;
}

void Filesystem::share_inodes_with_image(const std::string& file) {
  struct stat status;
  if (fstat(root_fd_.get(), &status) < 0) {
    throw std::runtime_error("stat root directory: " + std::string(strerror(errno)));
  }
  shared_inodes_.load(file, status.st_dev);
}

int Filesystem::unshare_at(int dir, const std::string& name) const {
  if (shared_inodes_.empty()) return 0;
  struct stat status;
  if (fstatat(dir, name.c_str(), &status, AT_SYMLINK_NOFOLLOW) < 0) {
    return errno == ENOENT ? 0 : -errno;
  }
  if (!shared_inodes_.shared(status)) return 0;
  return copy_up(dir, name, status);
}

int Filesystem::unshare(int host_fd) const {
  if (shared_inodes_.empty()) return 0;
  struct stat status;
  if (fstat(host_fd, &status) < 0) return -errno;
  if (!shared_inodes_.shared(status)) return 0;
  // Find the file's directory through the host path of the descriptor; a file the image
  // shares is always in the root's own tree.
  std::string guest = guest_path(host_fd);
  size_t slash = guest.rfind('/');
  if (guest.empty() || slash == std::string::npos || slash + 1 == guest.size()) return -EXDEV;
  std::string name = guest.substr(slash + 1);
  std::string directory = slash == 0 ? "." : guest.substr(1, slash - 1);
  int dir = openat2(root_fd_.get(), directory.c_str(), O_PATH | O_DIRECTORY, 0,
                    RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS);
  if (dir < 0) return dir;
  UniqueFd dir_fd(dir);
  struct stat entry;
  // The name may have been renamed or replaced since the descriptor was opened.
  if (fstatat(dir, name.c_str(), &entry, AT_SYMLINK_NOFOLLOW) < 0) return -errno;
  if (entry.st_ino != status.st_ino || entry.st_dev != status.st_dev) return -EXDEV;
  int result = copy_up(dir, name, status);
  if (result < 0) return result;
  int flags = fcntl(host_fd, F_GETFL);
  if (flags < 0) return -errno;
  int reopen_flags = (flags & O_PATH) ? O_PATH : (flags & (O_ACCMODE | O_APPEND | O_NONBLOCK));
  UniqueFd copy(openat(dir, name.c_str(), reopen_flags | O_NOFOLLOW | O_CLOEXEC));
  if (copy.get() < 0) return -errno;
  if (!(flags & O_PATH)) {
    off_t offset = lseek(host_fd, 0, SEEK_CUR);
    if (offset >= 0 && lseek(copy.get(), offset, SEEK_SET) < 0) return -errno;
  }
  // Every guest descriptor sharing this open file now sees the copy.
  if (dup3(copy.get(), host_fd, O_CLOEXEC) < 0) return -errno;
  return 0;
}

}  // namespace noah::vfs
