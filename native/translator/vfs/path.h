// Path resolution confined to the guest's root directory. Every guest path, absolute or
// relative to a directory descriptor, through symlinks and "..", resolves to a host file inside
// the root: the host kernel enforces it with openat2(RESOLVE_IN_ROOT) and RESOLVE_BENEATH.
#pragma once

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "translator/vfs/copy_up.h"
#include "translator/vfs/file_table.h"
#include "translator/vfs/mount.h"
#include "translator/vfs/ownership.h"

namespace noah::vfs {

// A host descriptor closed when it goes out of scope.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  int get() const { return fd_; }
  int release();
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// The start of a relative guest path: a directory's host descriptor and its guest path.
struct Base {
  int host_fd;
  const std::string& guest_path;
};

inline Base base_of(const OpenFile& directory) {
  return Base{directory.host_fd, directory.guest_path};
}

// Joins `path` to `base` and removes ".", ".." and repeated slashes without looking at the
// filesystem. Used to recognise synthesized paths such as /dev/null, never to open files.
std::string lexical_absolute(const std::string& base, const std::string& path);

class Filesystem {
 public:
  // Opens `host_root` as the guest's "/" with "/" also as the working directory. Throws
  // std::runtime_error naming the folder when it cannot be opened.
  explicit Filesystem(const std::string& host_root);
  ~Filesystem();
  Filesystem(const Filesystem&) = delete;
  Filesystem& operator=(const Filesystem&) = delete;

  // Adds a mount, making its target in the root when missing (a directory, or an empty file
  // for a file source) as Docker does. Throws std::runtime_error naming the mount.
  void add_mount(Mount mount);
  const std::vector<Mount>& mounts() const { return mounts_; }
  // Whether a file with this identity is a mountpoint, so a lookup that found it by name in
  // its parent must go through the mount instead.
  bool is_mountpoint(dev_t device, ino_t inode) const;
  // 0, or -EROFS when `host_fd` is under a read-only mount or the root is read-only.
  int check_writable(int host_fd) const;
  // 0, or -EXDEV when the two descriptors are in different mounts (rename and link).
  int check_same_mount(int first, int second) const;

  // openat2 inside the root. `flags` are the guest's open flags; the host descriptor is always
  // close-on-exec. Returns the host descriptor or -errno.
  int open(const Base& base, const std::string& path, int flags, mode_t mode) const;
  // Resolves all but the last component of `path` to a directory. `name` gets the last
  // component ("." for a path that ends in "/" or names the root).
  int parent(const Base& base, const std::string& path, UniqueFd& dir, std::string& name) const;
  // Loads the inode list of the container's copy-on-write layer (--shared-inodes).
  void share_inodes_with_image(const std::string& file);
  // Before a change to the file `host_fd` refers to: when it is still the image's, copies it
  // up and makes `host_fd` refer to the copy (same access mode and offset). Returns 0 or -errno.
  int unshare(int host_fd) const;
  // The same for the entry `name` of the directory `dir`, without following a symlink.
  int unshare_at(int dir, const std::string& name) const;
  bool has_shared_inodes() const { return !shared_inodes_.empty(); }

  // The guest path of an open host descriptor inside the root, or "" when it is outside.
  std::string guest_path(int host_fd) const;

  int root_fd() const { return root_fd_.get(); }
  const std::string& host_root() const { return host_root_; }
  // The working directory; hold the pointer while using it, another thread may chdir.
  std::shared_ptr<OpenFile> cwd() const;
  void set_cwd(std::shared_ptr<OpenFile> cwd);
  // In a forked child, where the parent's threads that held the lock do not exist.
  void reset_lock_after_fork() { new (&cwd_mutex_) std::mutex(); }

  mode_t umask = 022;
  Ownership ownership;
  // A read-only root (docker run --read-only): every change to a file under it fails with
  // EROFS. Synthesized files such as /dev/null stay writable.
  bool read_only = false;

 private:
  int open_from_root(const std::string& absolute, int flags, mode_t mode) const;
  // Path resolution one component at a time, for roots with mounts.
  int open_walking(const Base& base, const std::string& path, int flags, mode_t mode) const;
  int walk(int start, const std::string& path, bool follow, int& links) const;
  int walk_dotdot(int current) const;
  const Mount* mount_at(dev_t device, ino_t inode) const;
  const Mount* mount_of_root(dev_t device, ino_t inode) const;
  bool under_mount(const std::string& absolute) const;
  // The mount whose source contains `host_fd`, or nullptr for the root's own tree.
  // `in_root_tree`, when given, tells whether the file is in the root's own tree.
  int mount_containing(int host_fd, const Mount*& mount, bool* in_root_tree = nullptr) const;

  SharedInodes shared_inodes_;
  std::vector<Mount> mounts_;
  bool read_only_mounts_ = false;
  UniqueFd root_fd_;
  std::string host_root_;  // the root's canonical host path
  mutable std::mutex cwd_mutex_;
  std::shared_ptr<OpenFile> cwd_;
};

}  // namespace noah::vfs
