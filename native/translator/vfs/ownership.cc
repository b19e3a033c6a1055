#include "translator/vfs/ownership.h"

#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace noah::vfs {
namespace {

constexpr const char* kOwnerAttribute = "user.noah.owner";

}  // namespace

Ownership::Ownership() : in_xattrs_(geteuid() != 0), host_uid_(geteuid()), host_gid_(getegid()) {}

void Ownership::present(const std::string& xattr_path, bool follow, uid_t& uid, gid_t& gid) const {
  if (!in_xattrs_) return;
  char value[32];
  auto load = [&]() {
    return follow ? getxattr(xattr_path.c_str(), kOwnerAttribute, value, sizeof value - 1)
                  : lgetxattr(xattr_path.c_str(), kOwnerAttribute, value, sizeof value - 1);
  };
  ssize_t length = load();
  struct stat status;
  if (length < 0 && errno == EACCES && uid == host_uid_ &&
      (follow ? stat(xattr_path.c_str(), &status) : lstat(xattr_path.c_str(), &status)) == 0 &&
      !S_ISLNK(status.st_mode)) {
    // A file of the host user's with no read permission, such as one dpkg made with mode 0:
    // open the bits for the read, then put them back.
    if (chmod(xattr_path.c_str(), (status.st_mode & 07777) | S_IRUSR) == 0) {
      length = load();
      // NOTE: a chmod by another process between these two calls is undone.
      (void)chmod(xattr_path.c_str(), status.st_mode & 07777);
    }
  }
  if (length > 0) {
    value[length] = '\0';
    unsigned stored_uid, stored_gid;
    if (sscanf(value, "%u:%u", &stored_uid, &stored_gid) == 2) {
      uid = stored_uid;
      gid = stored_gid;
      return;
    }
  }
  // The host user's own files are root's in the container; others keep their host ids.
  if (uid == host_uid_) uid = 0;
  if (gid == host_gid_) gid = 0;
}

int Ownership::change(const std::string& xattr_path, bool follow, const struct stat& status,
                      int uid, int gid) const {
  uid_t current_uid = status.st_uid;
  gid_t current_gid = status.st_gid;
  present(xattr_path, follow, current_uid, current_gid);
  // Linux rejects user.* attributes on symlinks, so a symlink keeps showing as root's.
  if (S_ISLNK(status.st_mode)) return 0;
  char value[32];
  int length =
      snprintf(value, sizeof value, "%u:%u", uid == -1 ? current_uid : static_cast<uid_t>(uid),
               gid == -1 ? current_gid : static_cast<gid_t>(gid));
  auto store = [&]() {
    return follow ? setxattr(xattr_path.c_str(), kOwnerAttribute, value,
                             static_cast<size_t>(length), 0)
                  : lsetxattr(xattr_path.c_str(), kOwnerAttribute, value,
                              static_cast<size_t>(length), 0);
  };
  if (store() == 0) return 0;
  if (errno != EACCES) return -errno;
  // user.* attributes follow the file's permission bits, and dpkg chowns files it made with
  // mode 0. The host user owns the file, so it may open the bits for the write.
  if (chmod(xattr_path.c_str(), (status.st_mode & 07777) | S_IRUSR | S_IWUSR) < 0) return -errno;
  int result = store() == 0 ? 0 : -errno;
  if (chmod(xattr_path.c_str(), status.st_mode & 07777) < 0 && result == 0) result = -errno;
  return result;
}

}  // namespace noah::vfs
