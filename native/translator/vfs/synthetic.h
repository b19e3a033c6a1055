// Synthesized file trees: the guest's /proc, /dev and /sys, generated from the
// translator's state, the container's process directory (vfs/registry.h) and a few host files.
// A lookup turns a lexical absolute guest path into a Node; syscall/special.cc opens nodes as
// host descriptors, and getdents64 lists synthesized directories from list().
#pragma once

#include <sys/types.h>

#include <cerrno>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace noah {
class Thread;
}

namespace noah::vfs {

// One name in a synthesized directory, with its DT_* type as getdents64 reports it.
struct DirectoryEntry {
  std::string name;
  unsigned char type;
};

// The entries of a synthesized directory, read once at its first getdents64, and the index of
// the next one to return. Kept in the open file, so dup'ed descriptors share the position.
struct DirectoryListing {
  std::mutex mutex;
  bool filled = false;
  std::vector<DirectoryEntry> entries;
  size_t position = 0;
};

// A synthesized path: its kind and what opening it needs.
struct Node {
  enum class Type {
    kDirectory,   // listed by list()
    kFile,        // `text` is the contents; read-only
    kSymlink,     // `text` is the target
    kDescriptor,  // /proc/self/fd/N: a link to guest descriptor `number` of this process
    kHostDevice,  // `text` is the host device to open
    kShm,         // `text` is a path under the container's /dev/shm folder ("" for itself)
    kError,       // opening fails with `number`, a negative errno
  };
  Type type = Type::kError;
  std::string text;
  int number = -ENOENT;
  // A symlink in the middle of the path (/proc/self/cwd/x): followed even with O_NOFOLLOW.
  bool through = false;
};

namespace synthetic {

// Whether `absolute` is in a tree this file synthesizes: /proc, /sys or /dev.
bool in_tree(const std::string& absolute);
// The node for lexical absolute path `absolute`, or nothing when the path is an ordinary one
// inside the root (a /dev name that is not synthesized, for example). `flags` are the open
// flags, which choose what /dev/console opens.
std::optional<Node> lookup(Thread& thread, const std::string& absolute, int flags);
// The entries of synthesized directory `absolute`, "." and ".." included. False when it is not
// one.
bool list(Thread& thread, const std::string& absolute, std::vector<DirectoryEntry>& entries);

// Opens the scratch directory that stands for synthesized directory `absolute`: a private,
// empty host directory, one per path, so stat and fchdir work on it and two directories never
// share an inode. `flags` adds O_PATH when the guest asked for it.
int open_directory(const std::string& absolute, int flags);
// Whether host descriptor `host_fd` is one of the scratch directories.
bool is_scratch_directory(int host_fd);
// An O_PATH descriptor of a symlink to `target`, which fstat reports as a symlink.
int symlink_descriptor(const std::string& target);
// The host folder behind the guest's /dev/shm, made on first use; "" when it cannot be made.
std::string shm_directory();

}  // namespace synthetic

// Per-tree lookups and listings; `parts` are the components after "/proc", "/dev" or "/sys".
namespace procfs {
std::optional<Node> lookup(Thread& thread, const std::vector<std::string>& parts);
bool list(Thread& thread, const std::vector<std::string>& parts,
          std::vector<DirectoryEntry>& entries);
}  // namespace procfs
namespace devfs {
std::optional<Node> lookup(Thread& thread, const std::vector<std::string>& parts, int flags);
bool list(Thread& thread, const std::vector<std::string>& parts,
          std::vector<DirectoryEntry>& entries);
}  // namespace devfs
namespace sysfs {
std::optional<Node> lookup(const std::vector<std::string>& parts);
bool list(const std::vector<std::string>& parts, std::vector<DirectoryEntry>& entries);
}  // namespace sysfs

// A file tree given as a table of file paths, for the fixed parts of /proc/sys and /sys.
struct StaticFile {
  const char* path;           // below the tree's top, such as "kernel/pid_max"
  const char* host_path;      // copied from this host file, or nullptr
  std::string (*generate)();  // or generated; neither means an empty directory
};

// The node and the listing of `parts` in a static tree; nothing / false when absent.
std::optional<Node> static_lookup(const StaticFile* files, size_t count,
                                  const std::vector<std::string>& parts);
bool static_list(const StaticFile* files, size_t count, const std::vector<std::string>& parts,
                 std::vector<DirectoryEntry>& entries);
// Reads a small host file whole; "" when it cannot be read.
std::string read_host_file(const std::string& path);

}  // namespace noah::vfs
