// The container's copy-on-write layer. A container's root is a hardlink farm of its image's
// tree (made by the addon's cloneTree): its regular files and symlinks are the image's own
// inodes until the container changes them. Before any change to the data or metadata of such a
// file, the translator replaces the link with a private copy, so the image and other containers
// never see the change.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace noah::vfs {

class SharedInodes {
 public:
  // Reads the sorted inode numbers cloneTree wrote; `device` is the root's st_dev. Throws
  // std::runtime_error naming the file when it cannot be read or is malformed.
  void load(const std::string& file, dev_t device);
  bool empty() const { return inodes_.empty(); }
  // Whether `status` describes a regular file or symlink still shared with the image.
  bool shared(const struct stat& status) const;

 private:
  std::vector<uint64_t> inodes_;
  dev_t device_ = 0;
};

// Replaces `name` in the directory `dir` (a regular file or symlink whose status is `status`)
// with a private copy of its data or target, mode, ownership, times and extended attributes,
// atomically by rename. Returns 0 or -errno.
int copy_up(int dir, const std::string& name, const struct stat& status);

}  // namespace noah::vfs
