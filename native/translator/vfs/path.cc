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
#include <deque>
#include <stdexcept>
#include <vector>

#include "translator/task/credentials.h"

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

bool opens_for_writing(int flags) {
  return (flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC)) ||
         (flags & O_TMPFILE) == O_TMPFILE;
}

// The names of a path in order, without empty components.
std::deque<std::string> components(const std::string& path) {
  std::deque<std::string> parts;
  size_t start = 0;
  while (start < path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    if (slash > start) parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

int duplicate(int fd) {
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  return copy < 0 ? -errno : copy;
}

// Linux's limit on symlinks followed in one lookup.
constexpr int kMaxSymlinks = 40;

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
  if (!mounts_.empty()) return open_walking(base, path, flags, mode);
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
  // The longest of the root and the mount sources that contains the file names its place.
  auto contains = [&path](const std::string& prefix) {
    return path.compare(0, prefix.size(), prefix) == 0 &&
           (path.size() == prefix.size() || path[prefix.size()] == '/' || prefix.empty());
  };
  const Mount* best = nullptr;
  for (const auto& mount : mounts_) {
    if (contains(mount.source) && (best == nullptr || mount.source.size() > best->source.size())) {
      best = &mount;
    }
  }
  if (best != nullptr && (!contains(host_root_) || best->source.size() > host_root_.size())) {
    std::string rest = path.substr(best->source.size());
    if (best->source == "/") rest = path;
    if (rest.empty()) return best->target;
    return best->target == "/" ? rest : best->target + rest;
  }
  if (!contains(host_root_)) return "";
  std::string rest = path.substr(host_root_.size());
  if (rest.empty()) return "/";
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
  // The guest already has `host_fd` open, so the copy is reopened with its access mode whatever
  // the guest's ids allow.
  credentials::OwnIdentity own_identity;
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
  // Every guest descriptor sharing this open file now refers to the copy.
  if (dup3(copy.get(), host_fd, O_CLOEXEC) < 0) return -errno;
  return 0;
}

Filesystem::~Filesystem() {
  for (auto& mount : mounts_) {
    if (mount.root_fd >= 0) ::close(mount.root_fd);
  }
}

void Filesystem::add_mount(Mount mount) {
  auto failed = [&mount](const std::string& what, int error) {
    return std::runtime_error("mount " + mount.source + " on " + mount.target + ": " + what + ": " +
                              strerror(error));
  };
  char resolved[PATH_MAX];
  if (realpath(mount.source.c_str(), resolved) == nullptr) throw failed("source", errno);
  mount.source = resolved;
  mount.target = lexical_absolute("/", mount.target);
  if (mount.target == "/") throw failed("target", EBUSY);
  UniqueFd source(::open(resolved, O_PATH | O_CLOEXEC));
  if (source.get() < 0) throw failed("source", errno);
  struct stat source_status;
  if (fstat(source.get(), &source_status) < 0) throw failed("source", errno);
  bool directory = S_ISDIR(source_status.st_mode);
  // The mountpoint: made in the root's own tree, through the mounts added before this one.
  std::string built;
  auto parts = components(mount.target);
  for (size_t i = 0; i < parts.size(); i++) {
    built += "/" + parts[i];
    bool last = i + 1 == parts.size();
    UniqueFd existing(open(Base{root_fd_.get(), "/"}, built, O_PATH, 0));
    if (existing.get() >= 0) continue;
    if (existing.get() != -ENOENT) throw failed("target", -existing.get());
    UniqueFd parent;
    std::string name;
    int result = this->parent(Base{root_fd_.get(), "/"}, built, parent, name);
    if (result < 0) throw failed("target", -result);
    if (!last || directory) {
      if (mkdirat(parent.get(), name.c_str(), 0755) < 0 && errno != EEXIST) {
        throw failed("target", errno);
      }
    } else {
      int file = openat(parent.get(), name.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
      if (file < 0) throw failed("target", errno);
      ::close(file);
    }
  }
  UniqueFd point(open(Base{root_fd_.get(), "/"}, mount.target, O_PATH, 0));
  if (point.get() < 0) throw failed("target", -point.get());
  struct stat point_status;
  if (fstat(point.get(), &point_status) < 0) throw failed("target", errno);
  if (S_ISDIR(point_status.st_mode) != directory) {
    throw failed("target", directory ? ENOTDIR : EISDIR);
  }
  mount.point_device = point_status.st_dev;
  mount.point_inode = point_status.st_ino;
  mount.root_device = source_status.st_dev;
  mount.root_inode = source_status.st_ino;
  mount.root_fd = source.release();
  if (mount.read_only) read_only_mounts_ = true;
  mounts_.push_back(std::move(mount));
}

bool Filesystem::is_mountpoint(dev_t device, ino_t inode) const {
  return mount_at(device, inode) != nullptr;
}

const Mount* Filesystem::mount_at(dev_t device, ino_t inode) const {
  // The last mount on a path hides earlier ones, as on Linux.
  for (auto it = mounts_.rbegin(); it != mounts_.rend(); ++it) {
    if (it->point_device == device && it->point_inode == inode) return &*it;
  }
  return nullptr;
}

const Mount* Filesystem::mount_of_root(dev_t device, ino_t inode) const {
  for (auto it = mounts_.rbegin(); it != mounts_.rend(); ++it) {
    if (it->root_device == device && it->root_inode == inode) return &*it;
  }
  return nullptr;
}

bool Filesystem::under_mount(const std::string& absolute) const {
  for (const auto& mount : mounts_) {
    const std::string& target = mount.target;
    if (absolute.compare(0, target.size(), target) == 0 &&
        (absolute.size() == target.size() || absolute[target.size()] == '/')) {
      return true;
    }
  }
  return false;
}

int Filesystem::mount_containing(int host_fd, const Mount*& mount, bool* in_root_tree) const {
  mount = nullptr;
  char link[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", host_fd);
  char target[PATH_MAX];
  ssize_t length = readlink(link, target, sizeof target - 1);
  if (length < 0) return -errno;
  std::string path(target, static_cast<size_t>(length));
  for (const auto& candidate : mounts_) {
    const std::string& source = candidate.source;
    bool inside = path.compare(0, source.size(), source) == 0 &&
                  (path.size() == source.size() || path[source.size()] == '/' || source == "/");
    if (inside && (mount == nullptr || source.size() > mount->source.size())) mount = &candidate;
  }
  bool in_root = path.compare(0, host_root_.size(), host_root_) == 0 &&
                 (path.size() == host_root_.size() || path[host_root_.size()] == '/');
  if (mount != nullptr && in_root && mount->source.size() <= host_root_.size()) mount = nullptr;
  if (in_root_tree != nullptr) *in_root_tree = mount == nullptr && in_root;
  return 0;
}

int Filesystem::check_writable(int host_fd) const {
  if (!read_only && !read_only_mounts_) return 0;
  const Mount* mount;
  bool in_root_tree;
  int result = mount_containing(host_fd, mount, &in_root_tree);
  if (result < 0) return result;
  // Pipes, sockets and memfds are in neither, and stay writable as on Linux.
  bool locked = mount != nullptr ? mount->read_only : read_only && in_root_tree;
  return locked ? -EROFS : 0;
}

int Filesystem::check_same_mount(int first, int second) const {
  if (mounts_.empty()) return 0;
  const Mount* one;
  const Mount* other;
  int result = mount_containing(first, one);
  if (result == 0) result = mount_containing(second, other);
  if (result < 0) return result;
  return one == other ? 0 : -EXDEV;
}

int Filesystem::walk_dotdot(int current) const {
  struct stat status;
  if (fstat(current, &status) < 0) return -errno;
  struct stat root;
  if (fstat(root_fd_.get(), &root) < 0) return -errno;
  if (status.st_dev == root.st_dev && status.st_ino == root.st_ino) return duplicate(current);
  if (const Mount* mount = mount_of_root(status.st_dev, status.st_ino)) {
    // ".." at a mount's root is the mountpoint's parent, never the source's host parent.
    int links = 0;
    int start = duplicate(root_fd_.get());
    if (start < 0) return start;
    return walk(start, lexical_absolute(mount->target, ".."), true, links);
  }
  int fd = openat(current, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
  return fd < 0 ? -errno : fd;
}

int Filesystem::walk(int start, const std::string& path, bool follow, int& links) const {
  UniqueFd current(start);
  if (!path.empty() && path[0] == '/') {
    int root = duplicate(root_fd_.get());
    if (root < 0) return root;
    current.reset(root);
  }
  std::deque<std::string> parts = components(path);
  bool must_be_directory = !path.empty() && path.back() == '/';
  while (!parts.empty()) {
    std::string name = std::move(parts.front());
    parts.pop_front();
    if (name == ".") continue;
    if (name == "..") {
      int up = walk_dotdot(current.get());
      if (up < 0) return up;
      current.reset(up);
      continue;
    }
    UniqueFd next(openat(current.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (next.get() < 0) return -errno;
    struct stat status;
    if (fstat(next.get(), &status) < 0) return -errno;
    bool last = parts.empty();
    if (S_ISLNK(status.st_mode) && (!last || follow || must_be_directory)) {
      if (++links > kMaxSymlinks) return -ELOOP;
      char target[PATH_MAX];
      ssize_t length = readlinkat(next.get(), "", target, sizeof target);
      if (length < 0) return -errno;
      if (length == 0 || length == sizeof target) return length == 0 ? -ENOENT : -ENAMETOOLONG;
      std::string value(target, static_cast<size_t>(length));
      auto more = components(value);
      parts.insert(parts.begin(), more.begin(), more.end());
      if (value[0] == '/') {
        int root = duplicate(root_fd_.get());
        if (root < 0) return root;
        current.reset(root);
      }
      continue;
    }
    if (const Mount* mount = mount_at(status.st_dev, status.st_ino)) {
      int root = duplicate(mount->root_fd);
      if (root < 0) return root;
      next.reset(root);
      if (fstat(next.get(), &status) < 0) return -errno;
    }
    if (!last && !S_ISDIR(status.st_mode)) return -ENOTDIR;
    current = std::move(next);
  }
  if (must_be_directory) {
    struct stat status;
    if (fstat(current.get(), &status) < 0) return -errno;
    if (!S_ISDIR(status.st_mode)) return -ENOTDIR;
  }
  return current.release();
}

int Filesystem::open_walking(const Base& base, const std::string& path, int flags,
                             mode_t mode) const {
  bool absolute = path[0] == '/';
  if (!under_mount(lexical_absolute(base.guest_path, path))) {
    // No mountpoint on the way by name, and with symlinks ruled out the names are the path.
    int fd;
    if (absolute) {
      size_t skip = path.find_first_not_of('/');
      std::string relative = skip == std::string::npos ? "." : path.substr(skip);
      fd = openat2(root_fd_.get(), relative.c_str(), flags, mode,
                   RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS);
    } else {
      fd = openat2(base.host_fd, path.c_str(), flags, mode, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
    }
    if (fd != -ELOOP && fd != -EXDEV) {
      if (fd >= 0 && opens_for_writing(flags)) {
        int writable = check_writable(fd);
        if (writable < 0) {
          ::close(fd);
          return writable;
        }
      }
      return fd;
    }
  }
  // The slow way: one name at a time, crossing into mounts and following symlinks here.
  int links = 0;
  int start = duplicate(absolute ? root_fd_.get() : base.host_fd);
  if (start < 0) return start;
  size_t end = path.find_last_not_of('/');
  std::string last;
  std::string directory;
  if (end != std::string::npos) {
    size_t slash = path.rfind('/', end);
    last = path.substr(slash == std::string::npos ? 0 : slash + 1,
                       slash == std::string::npos ? end + 1 : end - slash);
    directory = slash == std::string::npos ? "." : path.substr(0, slash + 1);
    if (end + 1 < path.size()) last += "/";
  } else {
    directory = "/";
    last = ".";
  }
  UniqueFd dir(walk(start, directory, true, links));
  if (dir.get() < 0) return dir.get();
  bool follow = !(flags & O_NOFOLLOW);
  UniqueFd target(openat(dir.get(), last.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (target.get() < 0) {
    if (errno != ENOENT || !(flags & O_CREAT) || last.back() == '/') return -errno;
    int writable = check_writable(dir.get());
    if (writable < 0) return writable;
    int fd = openat(dir.get(), last.c_str(), flags | O_CLOEXEC, mode);
    return fd < 0 ? -errno : fd;
  }
  target.reset();
  int copy = duplicate(dir.get());
  if (copy < 0) return copy;
  target.reset(walk(copy, last, follow, links));
  if (target.get() < 0) return target.get();
  if ((flags & O_CREAT) && (flags & O_EXCL)) return -EEXIST;
  struct stat status;
  if (fstat(target.get(), &status) < 0) return -errno;
  if ((flags & O_DIRECTORY) && !S_ISDIR(status.st_mode)) return -ENOTDIR;
  if (flags & O_PATH) return target.release();
  if (S_ISLNK(status.st_mode)) return -ELOOP;  // O_NOFOLLOW on a symlink
  if (opens_for_writing(flags)) {
    int writable = check_writable(target.get());
    if (writable < 0) return writable;
  }
  // Reopen the file found through its descriptor, with the guest's access mode and flags.
  char link[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", target.get());
  int fd = ::open(link, (flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW)) | O_CLOEXEC);
  return fd < 0 ? -errno : fd;
}

}  // namespace noah::vfs
