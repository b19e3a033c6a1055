#include "translator/vfs/copy_up.h"

#include <fcntl.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <stdexcept>

#include "translator/task/credentials.h"
#include "translator/vfs/path.h"

namespace noah::vfs {
namespace {

int copy_data(int from, int to, off_t size) {
  off_t done = 0;
  while (done < size) {
    ssize_t copied =
        copy_file_range(from, nullptr, to, nullptr, static_cast<size_t>(size - done), 0);
    if (copied < 0) {
      if (errno == EINTR) continue;
      if (errno != EXDEV && errno != EINVAL && errno != EOPNOTSUPP && errno != ENOSYS)
        return -errno;
      break;  // fall back to read and write below
    }
    if (copied == 0) return 0;  // the file shrank while we copied
    done += copied;
  }
  if (done >= size) return 0;
  if (lseek(from, done, SEEK_SET) < 0 || lseek(to, done, SEEK_SET) < 0) return -errno;
  char buffer[65536];
  while (true) {
    ssize_t got = read(from, buffer, sizeof buffer);
    if (got < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (got == 0) return 0;
    for (ssize_t offset = 0; offset < got;) {
      ssize_t written = write(to, buffer + offset, static_cast<size_t>(got - offset));
      if (written < 0) {
        if (errno == EINTR) continue;
        return -errno;
      }
      offset += written;
    }
  }
}

// Copies the extended attributes the host user may read and set. Others, such as trusted.* for
// a non-root host, are left behind as cp -a leaves them.
void copy_xattrs(int from, int to) {
  ssize_t size = flistxattr(from, nullptr, 0);
  if (size <= 0) return;
  std::string names(static_cast<size_t>(size), '\0');
  size = flistxattr(from, names.data(), names.size());
  if (size <= 0) return;
  for (size_t offset = 0; offset < static_cast<size_t>(size);) {
    const char* key = names.data() + offset;
    offset += strlen(key) + 1;
    ssize_t length = fgetxattr(from, key, nullptr, 0);
    if (length < 0) continue;
    std::string value(static_cast<size_t>(length), '\0');
    length = fgetxattr(from, key, value.data(), value.size());
    if (length >= 0) (void)fsetxattr(to, key, value.data(), static_cast<size_t>(length), 0);
  }
}

}  // namespace

void SharedInodes::load(const std::string& file, dev_t device) {
  FILE* in = fopen(file.c_str(), "rbe");
  if (in == nullptr) throw std::runtime_error("shared inodes " + file + ": " + strerror(errno));
  std::vector<uint64_t> inodes;
  uint64_t chunk[4096];
  size_t got;
  while ((got = fread(chunk, 1, sizeof chunk, in)) > 0) {
    if (got % sizeof(uint64_t) != 0) {
      fclose(in);
      throw std::runtime_error("shared inodes " + file + ": not a list of 64-bit numbers");
    }
    inodes.insert(inodes.end(), chunk, chunk + got / sizeof(uint64_t));
  }
  bool failed = ferror(in) != 0;
  fclose(in);
  if (failed) throw std::runtime_error("shared inodes " + file + ": read error");
  if (!std::is_sorted(inodes.begin(), inodes.end())) {
    throw std::runtime_error("shared inodes " + file + ": not sorted");
  }
  inodes_ = std::move(inodes);
  device_ = device;
}

bool SharedInodes::shared(const struct stat& status) const {
  // A file the container made has one link, and an image file also has the image's link.
  if (!S_ISREG(status.st_mode) && !S_ISLNK(status.st_mode)) return false;
  if (status.st_nlink < 2 || status.st_dev != device_) return false;
  return std::binary_search(inodes_.begin(), inodes_.end(), static_cast<uint64_t>(status.st_ino));
}

// A symlink copied up: the same target, owner and times under a temporary name, then renamed.
int copy_up_symlink(int dir, const std::string& name, const struct stat& status) {
  std::string target(static_cast<size_t>(status.st_size) + 1, '\0');
  ssize_t length = readlinkat(dir, name.c_str(), target.data(), target.size());
  if (length < 0) return -errno;
  if (static_cast<size_t>(length) >= target.size()) return -EAGAIN;  // changed while we read it
  target.resize(static_cast<size_t>(length));
  std::random_device random;
  char temporary[64];
  snprintf(temporary, sizeof temporary, ".noah-copy-up-%08x", random());
  if (symlinkat(target.c_str(), dir, temporary) < 0) return -errno;
  int result = 0;
  if (fchownat(dir, temporary, status.st_uid, status.st_gid, AT_SYMLINK_NOFOLLOW) < 0 &&
      errno != EPERM) {
    result = -errno;
  }
  timespec times[2] = {status.st_atim, status.st_mtim};
  if (result == 0 && utimensat(dir, temporary, times, AT_SYMLINK_NOFOLLOW) < 0) result = -errno;
  if (result == 0 && renameat(dir, temporary, dir, name.c_str()) < 0) result = -errno;
  if (result < 0) unlinkat(dir, temporary, 0);
  return result;
}

int copy_up(int dir, const std::string& name, const struct stat& status) {
  // Overlayfs copies up with the mounter's credentials, so a guest user who may write a file by
  // its mode gets a private copy even where that user could not create one.
  credentials::OwnIdentity own_identity;
  if (S_ISLNK(status.st_mode)) return copy_up_symlink(dir, name, status);
  UniqueFd from(openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (from.get() < 0) return -errno;
  std::random_device random;
  char temporary[64];
  snprintf(temporary, sizeof temporary, ".noah-copy-up-%08x", random());
  UniqueFd to(openat(dir, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (to.get() < 0) return -errno;
  int result = copy_data(from.get(), to.get(), status.st_size);
  // Ownership first: chown clears the set-user-ID and set-group-ID bits that fchmod then sets.
  if (result == 0 && fchown(to.get(), status.st_uid, status.st_gid) < 0 && errno != EPERM) {
    result = -errno;
  }
  // Extended attributes go on while the copy is still mode 0600, because setting a user.* one
  // (a non-root host keeps owners in user.noah.owner) needs write permission, which 0444 lacks.
  if (result == 0) copy_xattrs(from.get(), to.get());
  if (result == 0 && fchmod(to.get(), status.st_mode & 07777) < 0) result = -errno;
  if (result == 0) {
    timespec times[2] = {status.st_atim, status.st_mtim};
    if (futimens(to.get(), times) < 0) result = -errno;
  }
  if (result == 0 && renameat(dir, temporary, dir, name.c_str()) < 0) result = -errno;
  if (result < 0) unlinkat(dir, temporary, 0);
  return result;
}

}  // namespace noah::vfs
