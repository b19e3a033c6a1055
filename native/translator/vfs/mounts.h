// The guest's /proc/PID/mounts and /proc/PID/mountinfo: the container's fixed file systems
// (the root, proc, /dev and its sub-mounts, sysfs) followed by its mount table.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace noah::vfs {

// One entry of the translator's mount table (--mount): `type` is "bind" or "tmpfs", `source`
// the host folder or file and `target` the guest path.
struct MountEntry {
  std::string type, source, target;
  bool read_only = false;
};

// The device number of the synthesized file system that contains lexical absolute path
// `absolute` (proc, sysfs, devpts, mqueue, the /dev and /dev/shm tmpfs), as mountinfo shows it
// and stat reports it; 0 for paths outside them.
dev_t synthetic_mount_device(const std::string& absolute);

// The text of /proc/PID/mounts (`info` false) or /proc/PID/mountinfo (`info` true). `root_fd`
// is the root directory and `read_only_root` whether it is mounted read-only.
std::string mounts_text(const std::vector<MountEntry>& table, int root_fd, bool read_only_root,
                        bool info);

}  // namespace noah::vfs
