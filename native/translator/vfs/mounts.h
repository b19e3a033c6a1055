// The guest's /proc/PID/mounts and /proc/PID/mountinfo: the container's fixed file systems
// (the root, proc, /dev and its sub-mounts, sysfs) followed by its mount table.
#pragma once

#include <string>
#include <vector>

namespace noah::vfs {

// One entry of the translator's mount table (--mount): `type` is "bind" or "tmpfs", `source`
// the host folder or file and `target` the guest path.
struct MountEntry {
  std::string type, source, target;
  bool read_only = false;
};

// The text of /proc/PID/mounts (`info` false) or /proc/PID/mountinfo (`info` true). `root_fd`
// is the root directory and `read_only_root` whether it is mounted read-only.
std::string mounts_text(const std::vector<MountEntry>& table, int root_fd, bool read_only_root,
                        bool info);

}  // namespace noah::vfs
