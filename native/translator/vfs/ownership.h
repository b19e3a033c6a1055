// File ownership as the guest sees it. A root host keeps it in the files themselves. A host user
// who cannot chown keeps what the guest sets in the user.noah.owner extended attribute, and
// shows its own files as owned by root, as a user namespace that maps it to root would.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <string>

namespace noah::vfs {

// TODO: a file that a guest running as a non-root user creates shows as root's until chowned,
// and a root guest gets the host user's permission checks, not root's.
class Ownership {
 public:
  Ownership();
  // Whether ownership lives in extended attributes: the host user is not root.
  bool in_xattrs() const { return in_xattrs_; }
  // Rewrites the owner of a host stat result for the guest. `xattr_path` names the file for
  // getxattr without following a final symlink (a /proc/self/fd/N path for a descriptor).
  void present(const std::string& xattr_path, bool follow, uid_t& uid, gid_t& gid) const;
  // Records a chown of the file at `xattr_path` whose host status is `status`; -1 keeps an id.
  // Returns 0 or -errno.
  int change(const std::string& xattr_path, bool follow, const struct stat& status, int uid,
             int gid) const;

 private:
  bool in_xattrs_;
  uid_t host_uid_;
  gid_t host_gid_;
};

}  // namespace noah::vfs
