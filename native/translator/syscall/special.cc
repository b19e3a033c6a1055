// Synthesized files: the nodes of /proc, /dev and /sys (vfs/synthetic.h) opened as host
// descriptors, their symlinks, and the listings of synthesized directories for getdents64.
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>

#include "translator/syscall/fd.h"
#include "translator/syscall/guest.h"
#include "translator/task/credentials.h"
#include "translator/vfs/mounts.h"
#include "translator/vfs/synthetic.h"

namespace noah::syscall {
namespace {

using vfs::Node;

// The open flags openat2 accepts, for files under /dev/shm.
constexpr int kValidOpenFlags = O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND |
                                O_NONBLOCK | O_DSYNC | FASYNC | O_DIRECT | O_LARGEFILE |
                                O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_CLOEXEC | O_SYNC | O_PATH |
                                O_TMPFILE;
// Symlinks followed inside synthesized trees before ELOOP, as Linux's limit of nested links.
constexpr int kMaxLinkDepth = 8;
thread_local int link_depth = 0;

// A read-only file whose contents are `text`, as a host descriptor.
int memory_file(const std::string& name, const std::string& text) {
  int fd = memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return -errno;
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      int error = errno;
      close(fd);
      return -error;
    }
    done += static_cast<size_t>(n);
  }
  // stat shows the mode of a /proc file, and the seals keep the contents as generated.
  if (lseek(fd, 0, SEEK_SET) < 0 || fchmod(fd, 0444) < 0 ||
      fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0) {
    int error = errno;
    close(fd);
    return -error;
  }
  return fd;
}

bool opens_for_writing(int flags) {
  return (flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC));
}

std::string parent_of(const std::string& absolute) {
  size_t slash = absolute.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : absolute.substr(0, slash);
}

// Runs `open` one link deeper, or fails with ELOOP past the limit.
int follow(const std::function<int()>& open) {
  if (link_depth >= kMaxLinkDepth) return -ELOOP;
  link_depth++;
  int result = open();
  link_depth--;
  return result;
}

int open_symlink(Thread& thread, const std::string& absolute, const Node& node, int flags,
                 mode_t mode) {
  if (!node.through && (flags & O_NOFOLLOW)) {
    if (!(flags & O_PATH)) return -ELOOP;
    return vfs::synthetic::symlink_descriptor(node.text);
  }
  std::string target =
      node.text.compare(0, 1, "/") == 0 ? node.text : parent_of(absolute) + "/" + node.text;
  return follow([&] { return open_path(thread, DirFd{AT_FDCWD}, target, flags, mode); });
}

// Returns the target readlink of /proc/self/fd/N shows for the file of a guest descriptor.
std::string descriptor_link(Thread& thread, const vfs::OpenFile& file) {
  std::string target = thread.process.fs.guest_path(file.host_fd);
  if (!target.empty()) return target;
  char link[64], host_target[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", file.host_fd);
  ssize_t length = readlink(link, host_target, sizeof host_target - 1);
  std::string host = length > 0 ? std::string(host_target, static_cast<size_t>(length)) : "";
  // Pipes, sockets and anonymous files ("pipe:[N]"), and the host's terminals, which the
  // guest's /dev/pts shows under the same names.
  if (!host.empty() && (host[0] != '/' || host.compare(0, 9, "/dev/pts/") == 0)) return host;
  // A host file the translator was given as a standard descriptor keeps its host name.
  return file.guest_path.empty() ? host : file.guest_path;
}

int open_descriptor(Thread& thread, const Node& node, int flags, mode_t mode) {
  auto file = thread.process.files.get(node.number);
  if (!file) return -ENOENT;
  if (node.through) {
    std::string directory = thread.process.fs.guest_path(file->host_fd);
    if (directory.empty()) return -ENOTDIR;
    return follow(
        [&] { return open_path(thread, DirFd{AT_FDCWD}, directory + node.text, flags, mode); });
  }
  if (flags & O_NOFOLLOW) {
    if (!(flags & O_PATH)) return -ELOOP;
    return vfs::synthetic::symlink_descriptor(descriptor_link(thread, *file));
  }
  // Like Linux, open a new description of the same file rather than duplicating the old.
  char link[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", file->host_fd);
  int host_flags = (flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOFOLLOW)) | O_CLOEXEC;
  int fd = ::open(link, host_flags);
  return fd < 0 ? -errno : fd;
}

int open_shm(Thread& thread, const std::string& path, int flags, mode_t mode) {
  std::string directory = vfs::synthetic::shm_directory();
  if (directory.empty()) return -EIO;
  vfs::UniqueFd root;
  {
    // The folder's parents are the translator's and the files in it the guest's, so only the
    // folder itself is opened with the translator's identity.
    credentials::OwnIdentity own_identity;
    root.reset(::open(directory.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (root.get() < 0) return -errno;
  }
  open_how how{};
  how.flags = static_cast<uint64_t>(flags & kValidOpenFlags) | O_CLOEXEC;
  if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) {
    how.mode = mode & ~thread.process.fs.umask & 07777;
  }
  // Confined to the folder: a symlink in /dev/shm cannot lead out of it. NOTE: so an absolute
  // symlink there resolves from /dev/shm, not from the container's root as on Linux.
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  const char* name = path.empty() ? "." : path.c_str();
  long fd;
  do {
    fd = ::syscall(SYS_openat2, root.get(), name, &how, sizeof how);
  } while (fd < 0 && errno == EAGAIN);
  return fd < 0 ? -errno : static_cast<int>(fd);
}

int open_node(Thread& thread, const std::string& absolute, const Node& node, int flags,
              mode_t mode) {
  switch (node.type) {
    case Node::Type::kDirectory:
      if (opens_for_writing(flags)) return -EISDIR;
      return vfs::synthetic::open_directory(absolute, flags);
    case Node::Type::kFile:
      if (opens_for_writing(flags)) return -EACCES;
      if (flags & O_DIRECTORY) return -ENOTDIR;
      return memory_file(absolute, node.text);
    case Node::Type::kSymlink:
      return open_symlink(thread, absolute, node, flags, mode);
    case Node::Type::kDescriptor:
      return open_descriptor(thread, node, flags, mode);
    case Node::Type::kHostDevice: {
      if (flags & O_DIRECTORY) return -ENOTDIR;
      int host_flags = (flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOFOLLOW)) | O_CLOEXEC;
      int fd = ::open(node.text.c_str(), host_flags);
      return fd < 0 ? -errno : fd;
    }
    case Node::Type::kShm:
      return open_shm(thread, node.text, flags, mode);
    case Node::Type::kError:
      return node.number;
  }
  return -ENOENT;
}

// Writes linux_dirent64 records of `listing` from its position into `out`, at most `count`
// bytes. Returns the bytes written, or -EINVAL when not even one record fits.
int64_t fill_dirents(const std::string& directory, vfs::DirectoryListing& listing,
                     std::vector<char>& out, uint64_t count) {
  size_t used = 0;
  while (listing.position < listing.entries.size()) {
    const vfs::DirectoryEntry& entry = listing.entries[listing.position];
    size_t length = (offsetof(dirent64, d_name) + entry.name.size() + 1 + 7) & ~size_t{7};
    if (used + length > count) break;
    out.resize(used + length);
    dirent64 header{};
    // A stable inode number per path; 0 would mark a deleted entry.
    header.d_ino = std::hash<std::string>{}(directory + "/" + entry.name) | 1;
    header.d_off = static_cast<int64_t>(listing.position + 1);
    header.d_reclen = static_cast<unsigned short>(length);
    header.d_type = entry.type;
    memcpy(out.data() + used, &header, offsetof(dirent64, d_name));
    memcpy(out.data() + used + offsetof(dirent64, d_name), entry.name.c_str(),
           entry.name.size() + 1);
    used += length;
    listing.position++;
  }
  if (used == 0 && listing.position < listing.entries.size()) return -EINVAL;
  return static_cast<int64_t>(used);
}

std::mutex listing_creation_mutex;

struct SyntheticMount {
  const char* target;
  unsigned long type;  // the f_type magic number of statfs(2)
  bool sized;          // tmpfs: a size and free space
};

// Most specific first.
constexpr SyntheticMount kSyntheticMounts[] = {
    {"/dev/shm", 0x01021994, true}, {"/dev/pts", 0x1cd1, false}, {"/dev/mqueue", 0x19800202, false},
    {"/dev", 0x01021994, true},     {"/proc", 0x9fa0, false},    {"/sys", 0x62656572, false},
};

}  // namespace

void adjust_special_statfs(const std::string& absolute, struct statfs& value) {
  for (const SyntheticMount& mount : kSyntheticMounts) {
    size_t length = strlen(mount.target);
    if (absolute.compare(0, length, mount.target) != 0 ||
        (absolute.size() > length && absolute[length] != '/')) {
      continue;
    }
    value.f_type = static_cast<__fsword_t>(mount.type);
    if (strcmp(mount.target, "/dev/shm") == 0) return;  // the host folder's real space
    // /dev as Docker mounts it: a 64 MiB tmpfs; the pseudo file systems have no blocks.
    uint64_t blocks = mount.sized ? 64 * 1024 * 1024 / 4096 : 0;
    value.f_bsize = 4096;
    value.f_frsize = 4096;
    value.f_blocks = value.f_bfree = value.f_bavail = blocks;
    value.f_files = value.f_ffree = mount.sized ? 16384 : 0;
    return;
  }
}

bool open_special_link(Thread& thread, const vfs::Base& base, const std::string& path, int flags,
                       mode_t mode, std::string* opened_path, int& result) {
  vfs::Filesystem& fs = thread.process.fs;
  vfs::UniqueFd link(fs.open(base, path, O_PATH | O_NOFOLLOW, 0));
  if (link.get() < 0) return false;
  char text[4096];
  ssize_t length = readlinkat(link.get(), "", text, sizeof text);
  if (length <= 0 || length == sizeof text) return false;
  std::string own_path = fs.guest_path(link.get());
  if (own_path.empty()) return false;
  std::string value(text, static_cast<size_t>(length));
  std::string target = vfs::lexical_absolute(parent_of(own_path), value);
  if (!vfs::synthetic::in_tree(target)) return false;
  result =
      follow([&] { return open_path(thread, DirFd{AT_FDCWD}, target, flags, mode, opened_path); });
  return true;
}

int check_writable(Thread& thread, int host_fd) {
  int result = thread.process.fs.check_writable(host_fd);
  if (result != -EROFS) return result;
  std::string shm = vfs::synthetic::shm_directory();
  char link[64], target[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", host_fd);
  ssize_t length = readlink(link, target, sizeof target - 1);
  if (shm.empty() || length < static_cast<ssize_t>(shm.size())) return result;
  std::string path(target, static_cast<size_t>(length));
  bool inside = path.compare(0, shm.size(), shm) == 0 &&
                (path.size() == shm.size() || path[shm.size()] == '/');
  return inside ? 0 : result;
}

// Character devices keep the host's st_dev: they are the host's own nodes, and ttyname compares
// stat of /dev/pts/N with fstat of a terminal descriptor that may come from the host.
void adjust_special_stat(const std::string& absolute, struct stat& value) {
  dev_t device = vfs::synthetic_mount_device(absolute);
  if (device != 0 && !S_ISCHR(value.st_mode)) value.st_dev = device;
}

void adjust_special_statx(const std::string& absolute, struct statx& value) {
  dev_t device = vfs::synthetic_mount_device(absolute);
  if (device == 0 || S_ISCHR(value.stx_mode)) return;
  value.stx_dev_major = major(device);
  value.stx_dev_minor = minor(device);
}

bool in_shm(const std::string& absolute) {
  return absolute.compare(0, 9, "/dev/shm/") == 0;
}

bool may_be_special(const vfs::Base& base, const std::string& path) {
  if (!path.empty() && path[0] == '/') return vfs::synthetic::in_tree(path);
  if (vfs::synthetic::in_tree(base.guest_path) || path.find("..") != std::string::npos) return true;
  // "proc/self" from the root directory.
  return base.guest_path == "/" && vfs::synthetic::in_tree(vfs::lexical_absolute("/", path));
}

bool open_special(Thread& thread, const std::string& absolute, int flags, mode_t mode,
                  int& result) {
  std::optional<Node> node = vfs::synthetic::lookup(thread, absolute, flags);
  if (!node) return false;
  result = open_node(thread, absolute, *node, flags, mode);
  return true;
}

bool read_special_link(Thread& thread, const std::string& absolute, std::string& target) {
  std::optional<Node> node = vfs::synthetic::lookup(thread, absolute, O_PATH);
  if (!node || node->through) return false;
  if (node->type == Node::Type::kSymlink) {
    target = node->text;
    return true;
  }
  if (node->type != Node::Type::kDescriptor) return false;
  auto file = thread.process.files.get(node->number);
  if (!file) return false;
  target = descriptor_link(thread, *file);
  return true;
}

bool read_special_directory(Thread& thread, vfs::OpenFile& file, uint64_t buffer, uint64_t count,
                            int64_t& result) {
  std::shared_ptr<vfs::DirectoryListing> listing;
  {
    std::lock_guard lock(listing_creation_mutex);
    if (!file.listing) {
      if (!vfs::synthetic::in_tree(file.guest_path) ||
          !vfs::synthetic::is_scratch_directory(file.host_fd)) {
        return false;
      }
      file.listing = std::make_shared<vfs::DirectoryListing>();
    }
    listing = file.listing;
  }
  std::lock_guard lock(listing->mutex);
  if (!listing->filled) {
    listing->entries.clear();
    if (!vfs::synthetic::list(thread, file.guest_path, listing->entries)) {
      result = -ENOENT;
      return true;
    }
    listing->filled = true;
  }
  std::vector<char> out;
  result = fill_dirents(file.guest_path, *listing, out, std::min<uint64_t>(count, 1 << 20));
  if (result > 0 && !copy_to_guest(thread, buffer, out.data(), out.size())) result = -EFAULT;
  return true;
}

bool seek_special_directory(vfs::OpenFile& file, int64_t offset, int whence, int64_t& result) {
  std::shared_ptr<vfs::DirectoryListing> listing;
  {
    std::lock_guard lock(listing_creation_mutex);
    listing = file.listing;
  }
  if (!listing) return false;
  std::lock_guard lock(listing->mutex);
  int64_t position = whence == SEEK_SET   ? offset
                     : whence == SEEK_CUR ? static_cast<int64_t>(listing->position) + offset
                                          : -1;
  if (position < 0) {
    result = -EINVAL;
    return true;
  }
  listing->position = static_cast<size_t>(position);
  // A rewind reads the directory again, as rewinddir shows processes started since.
  if (position == 0) listing->filled = false;
  result = position;
  return true;
}

bool special_parent(Thread& thread, const std::string& absolute, vfs::UniqueFd& dir,
                    std::string& name, int& result) {
  if (!vfs::synthetic::in_tree(absolute)) return false;
  if (in_shm(absolute)) {
    std::string rest = absolute.substr(9);
    size_t slash = rest.rfind('/');
    name = slash == std::string::npos ? rest : rest.substr(slash + 1);
    int fd = open_shm(thread, slash == std::string::npos ? "" : rest.substr(0, slash),
                      O_PATH | O_DIRECTORY, 0);
    if (fd >= 0) dir.reset(fd);
    result = fd < 0 ? fd : 0;
    return true;
  }
  if (absolute.compare(0, 5, "/dev/") == 0 && !vfs::synthetic::lookup(thread, absolute, O_PATH)) {
    return false;  // a name in the root's own /dev folder
  }
  // /proc, /sys and the synthesized /dev names cannot be created, removed or renamed.
  result = absolute == "/dev/shm" ? -EBUSY : -EACCES;
  return true;
}

}  // namespace noah::syscall
