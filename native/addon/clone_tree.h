// A container's root as a hardlink farm of its image's tree: directories and special files are
// made anew, regular files and symlinks are hard links to the image's. Nothing large is copied,
// and the translator copies a shared file up before the container changes it.
#pragma once

#include <cstdint>
#include <string>

namespace noah::layer {

struct CloneCounts {
  uint64_t directories = 0;
  uint64_t files = 0;   // hard links made
  uint64_t others = 0;  // symlinks, FIFOs and device nodes made anew
};

// Fills the empty or missing directory `target` from `source`, and writes the sorted inode
// numbers of the linked files to `inodes_file` (native-endian uint64_t each) for the
// translator's --shared-inodes. Throws std::runtime_error naming the path that failed.
CloneCounts clone_tree(const std::string& source, const std::string& target,
                       const std::string& inodes_file);

}  // namespace noah::layer
