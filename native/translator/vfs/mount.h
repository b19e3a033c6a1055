// The translator's mount table: host directories and files that appear at guest paths inside
// the root, as bind and tmpfs mounts do in a Linux container. Path resolution crosses into a
// mount where it meets the mountpoint, and ".." at a mount's root leads back to the mountpoint's
// parent, so no path leaves the root or a mount's source.
#pragma once

#include <sys/types.h>

#include <string>

namespace noah::vfs {

struct Mount {
  std::string type;    // "bind" or "tmpfs", as /proc/mounts shows it
  std::string source;  // the host path, canonical
  std::string target;  // the guest path, absolute and without "." or ".." components
  bool read_only = false;
  int root_fd = -1;  // O_PATH descriptor of the source, owned by the Filesystem
  // The source's identity, to recognise ".." at its root.
  dev_t root_device = 0;
  ino_t root_inode = 0;
  // The mountpoint's identity in the tree below, to recognise crossing into the mount.
  dev_t point_device = 0;
  ino_t point_inode = 0;
};

// Parses a --mount value: type=bind|tmpfs,source=HOST,target=GUEST[,readonly]. Returns "" and
// fills `mount`, or the reason the value is invalid.
std::string parse_mount(const std::string& text, Mount& mount);

}  // namespace noah::vfs
