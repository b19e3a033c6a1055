// Socket addresses between the guest's form and the host's: Unix paths resolved inside the
// root on the way in, and guest paths given back for the host paths the kernel reports.
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <string>

#include "translator/syscall/guest.h"
#include "translator/syscall/socket.h"
#include "translator/util/log.h"

namespace noah::syscall::sockets {
namespace {

constexpr socklen_t kPathOffset = offsetof(sockaddr_un, sun_path);

// Whether `address` is a Unix address with a path (not unnamed, not abstract).
bool has_unix_path(const sockaddr_storage& address, socklen_t length) {
  const auto* unix_address = reinterpret_cast<const sockaddr_un*>(&address);
  return address.ss_family == AF_UNIX && length > kPathOffset && unix_address->sun_path[0] != '\0';
}

std::string unix_path(const sockaddr_storage& address, socklen_t length) {
  const auto* unix_address = reinterpret_cast<const sockaddr_un*>(&address);
  return std::string(unix_address->sun_path, strnlen(unix_address->sun_path, length - kPathOffset));
}

// Stores `path` as a Unix address, NUL included as Linux reports bound paths. Returns its length.
socklen_t set_unix_path(sockaddr_storage& address, const std::string& path) {
  auto* unix_address = reinterpret_cast<sockaddr_un*>(&address);
  size_t bytes = std::min(path.size(), sizeof unix_address->sun_path - 1);
  memset(unix_address->sun_path, 0, sizeof unix_address->sun_path);
  memcpy(unix_address->sun_path, path.data(), bytes);
  unix_address->sun_family = AF_UNIX;
  return static_cast<socklen_t>(kPathOffset + bytes + 1);
}

// The inode of a host socket, unique among live sockets; 0 when fstat fails.
ino_t socket_inode(int host_socket) {
  struct stat status;
  return fstat(host_socket, &status) == 0 ? status.st_ino : 0;
}

// The guest paths behind the host paths this process bound and connected to. The kernel
// keeps the host form, /proc/self/fd/N/NAME, which names a directory descriptor long closed,
// so the guest path cannot be worked out from it later. Entries are keyed by socket inode and
// checked against the kernel's current host path, because a closed socket's entry stays.
class UnixNames {
 public:
  UnixNames() {
    // A fork may happen while another thread holds the lock; the child starts unlocked.
    pthread_atfork(nullptr, nullptr, [] { new (&instance().mutex_) std::mutex(); });
  }

  static UnixNames& instance() {
    static UnixNames names;
    return names;
  }

  void remember(bool bound, ino_t socket, std::string host, const std::string& guest) {
    std::lock_guard lock(mutex_);
    auto& names = bound ? bound_ : peers_;
    if (names.size() >= kMaxNames && names.find(socket) == names.end()) evict_oldest(names);
    names[socket] = Name{std::move(host), guest, next_sequence_++};
  }

  // The guest path of `socket`'s own (bound) or peer name, when `host` is still what the
  // kernel reports for it.
  bool find(bool bound, ino_t socket, const std::string& host, std::string& guest) {
    std::lock_guard lock(mutex_);
    auto& names = bound ? bound_ : peers_;
    auto entry = names.find(socket);
    if (entry == names.end() || entry->second.host != host) return false;
    guest = entry->second.guest;
    return true;
  }

  // The guest path of the newest socket this process bound at `host`.
  bool find_bound_path(const std::string& host, std::string& guest) {
    std::lock_guard lock(mutex_);
    uint64_t newest = 0;
    for (const auto& [socket, name] : bound_) {
      if (name.host == host && name.sequence >= newest) {
        newest = name.sequence;
        guest = name.guest;
      }
    }
    return newest != 0;
  }

 private:
  struct Name {
    std::string host;
    std::string guest;
    uint64_t sequence;
  };
  // NOTE: this bounds the memory used. A process that binds more sockets than this over its
  // life loses the guest names of its oldest ones, which then read as their host paths.
  static constexpr size_t kMaxNames = 1024;

  static void evict_oldest(std::map<ino_t, Name>& names) {
    auto oldest = names.begin();
    for (auto entry = names.begin(); entry != names.end(); ++entry) {
      if (entry->second.sequence < oldest->second.sequence) oldest = entry;
    }
    if (oldest != names.end()) names.erase(oldest);
  }

  std::mutex mutex_;
  std::map<ino_t, Name> bound_;
  std::map<ino_t, Name> peers_;
  uint64_t next_sequence_ = 1;
};

// The guest path of a host path under the root or a mount source, or "" for one outside
// them. It is Filesystem::guest_path for a path instead of a descriptor: the longest of the
// root and the mount sources that contains the path names its place.
std::string guest_path_of(const vfs::Filesystem& fs, const std::string& host) {
  auto contains = [&host](const std::string& prefix) {
    return prefix.empty() || (host.compare(0, prefix.size(), prefix) == 0 &&
                              (host.size() == prefix.size() || host[prefix.size()] == '/'));
  };
  const vfs::Mount* best = nullptr;
  for (const auto& mount : fs.mounts()) {
    if (contains(mount.source) && (best == nullptr || mount.source.size() > best->source.size())) {
      best = &mount;
    }
  }
  const std::string& root = fs.host_root();
  if (best != nullptr && (!contains(root) || best->source.size() > root.size())) {
    std::string rest = best->source == "/" ? host : host.substr(best->source.size());
    if (rest.empty()) return best->target;
    return best->target == "/" ? rest : best->target + rest;
  }
  if (!contains(root)) return "";
  std::string rest = host.substr(root.size());
  return rest.empty() ? "/" : rest;
}

// Rewrites a guest Unix path address to a host path the kernel resolves to the same file
// inside the root. The host path goes through the descriptor of what openat2 resolved, so
// neither "..", nor a symlink, nor a rename racing with the call can lead outside the root.
int convert_unix_path(Thread& thread, UnixUse use, Address& out) {
  auto* unix_address = reinterpret_cast<sockaddr_un*>(&out.storage);
  std::string path = unix_path(out.storage, out.length);
  vfs::Filesystem& fs = thread.process.fs;
  auto cwd = fs.cwd();
  char host[sizeof unix_address->sun_path];
  int written;

  if (use == UnixUse::kCreate) {
    // bind creates the last component and fails on anything there, a symlink included, so
    // resolving the directory is enough.
    std::string name;
    int result = fs.parent(vfs::base_of(*cwd), path, out.target, name);
    if (result < 0) return result;
    result = fs.check_writable(out.target.get());
    if (result < 0) return result;
    written = snprintf(host, sizeof host, "/proc/self/fd/%d/%s", out.target.get(), name.c_str());
    if (written >= 0 && static_cast<size_t>(written) >= sizeof host) {
      // The name does not fit after /proc/self/fd/N/ in sun_path: bind at a short name in
      // the same directory, which sys_bind links to the real name.
      static std::atomic<uint64_t> counter{0};
      out.name = name;
      out.temporary_name =
          ".noah-bind-" + std::to_string(getpid()) + "-" + std::to_string(counter.fetch_add(1));
      written = snprintf(host, sizeof host, "/proc/self/fd/%d/%s", out.target.get(),
                         out.temporary_name.c_str());
    }
  } else {
    int fd = fs.open(vfs::base_of(*cwd), path, O_PATH, 0);
    if (fd < 0) return fd;
    out.target.reset(fd);
    written = snprintf(host, sizeof host, "/proc/self/fd/%d", fd);
  }

  if (written < 0 || static_cast<size_t>(written) >= sizeof host) return -ENAMETOOLONG;
  memset(unix_address->sun_path, 0, sizeof unix_address->sun_path);
  memcpy(unix_address->sun_path, host, static_cast<size_t>(written));
  out.length = static_cast<socklen_t>(kPathOffset + written + 1);
  return 0;
}

}  // namespace

int read_address(Thread& thread, uint64_t address, uint32_t length, UnixUse use, Address& out) {
  if (static_cast<int32_t>(length) < 0 || length > sizeof(sockaddr_storage)) return -EINVAL;
  if (!copy_from_guest(thread, &out.storage, address, length)) return -EFAULT;
  out.length = length;
  if (length < sizeof(sa_family_t) || out.storage.ss_family != AF_UNIX) return 0;
  if (length > sizeof(sockaddr_un)) return -EINVAL;
  // A bare family is an autobind for bind and EINVAL for connect. Abstract names, which start
  // with a NUL, belong to the host's network namespace and pass unchanged.
  if (!has_unix_path(out.storage, length)) return 0;
  return convert_unix_path(thread, use, out);
}

socklen_t to_guest_address(Thread& thread, sockaddr_storage& address, socklen_t length) {
  if (length > sizeof address || !has_unix_path(address, length)) return length;
  std::string host = unix_path(address, length);
  std::string guest;
  if (UnixNames::instance().find_bound_path(host, guest)) return set_unix_path(address, guest);
  guest = guest_path_of(thread.process.fs, host);
  return guest.empty() ? length : set_unix_path(address, guest);
}

int write_address(Thread& thread, const sockaddr_storage& address, socklen_t length,
                  uint64_t guest_address, uint64_t guest_length) {
  if (guest_address == 0) return 0;
  uint32_t room;
  if (!copy_from_guest(thread, &room, guest_length, sizeof room)) return -EFAULT;
  if (static_cast<int32_t>(room) < 0) return -EINVAL;
  if (!copy_to_guest(thread, guest_address, &address, std::min<uint32_t>(room, length))) {
    return -EFAULT;
  }
  if (!copy_to_guest(thread, guest_length, &length, sizeof length)) return -EFAULT;
  return 0;
}

void remember_peer(Thread& thread, int host_socket, const sockaddr_storage& guest,
                   socklen_t length) {
  if (!has_unix_path(guest, length)) return;
  sockaddr_storage peer{};
  socklen_t peer_length = sizeof peer;
  if (getpeername(host_socket, reinterpret_cast<sockaddr*>(&peer), &peer_length) < 0) return;
  if (!has_unix_path(peer, peer_length)) return;
  std::string host = unix_path(peer, peer_length);
  // Linux reports the name the server bound. The translator can work it out for a socket this
  // process bound and for a host path in the root or a mount. A name another translator bound
  // reads /proc/self/fd/N/NAME on the host, so the path the guest connected to replaces it.
  std::string name;
  if (!UnixNames::instance().find_bound_path(host, name) && host.rfind("/proc/self/fd/", 0) != 0) {
    name = guest_path_of(thread.process.fs, host);
  }
  if (name.empty()) name = unix_path(guest, length);
  UnixNames::instance().remember(false, socket_inode(host_socket), host, name);
}

int to_host_credentials(Thread& thread, ucred& credentials) {
  // Linux accepts the sender's own pid, and any uid and gid with CAP_SETUID and CAP_SETGID,
  // which root in a container has. Other users may name their real, effective or saved ids.
  const Credentials own = thread.process.credentials.get();
  bool root = own.euid == 0;
  if (credentials.pid != thread.process.pid) return -EPERM;
  bool own_uid =
      credentials.uid == own.uid || credentials.uid == own.euid || credentials.uid == own.suid;
  bool own_gid =
      credentials.gid == own.gid || credentials.gid == own.egid || credentials.gid == own.sgid;
  if (!root && (!own_uid || !own_gid)) return -EPERM;
  // A translator that is not host root may only send its own host ids, which stand for root
  // as in vfs::Ownership.
  if (geteuid() != 0) {
    credentials.uid = getuid();
    credentials.gid = getgid();
  }
  return 0;
}

// TODO: ids the kernel records itself (SO_PEERCRED, and SCM_CREDENTIALS that a sender did not
// pass explicitly) are the peer translator's host ids. On a host-root translator running a
// guest with --user they therefore read as 0, not as the guest's ids.
void to_guest_credentials(Thread&, ucred& credentials) {
  // As vfs::Ownership shows the host user's own files: a host user that is not root appears as
  // root, the way a user namespace that maps it to root would show it.
  if (geteuid() == 0) return;
  if (credentials.uid == getuid()) credentials.uid = 0;
  if (credentials.gid == getgid()) credentials.gid = 0;
}

// Gives a socket bound at a temporary name its real name. The link fails when the name exists,
// as bind would. NOTE: the socket then stays bound to the removed temporary name, so a second
// bind of it fails with EINVAL where Linux would allow it.
int link_bound_name(const Address& address) {
  if (address.temporary_name.empty()) return 0;
  int dir = address.target.get();
  int linked = linkat(dir, address.temporary_name.c_str(), dir, address.name.c_str(), 0);
  int error = errno;
  if (unlinkat(dir, address.temporary_name.c_str(), 0) < 0) {
    log::error("remove temporary socket name %s: %s", address.temporary_name.c_str(),
               strerror(errno));
  }
  if (linked == 0) return 0;
  return error == EEXIST ? -EADDRINUSE : -error;
}

void remember_bound(int host_socket, const Address& host, const sockaddr_storage& guest,
                    socklen_t length) {
  if (!has_unix_path(guest, length)) return;
  UnixNames::instance().remember(true, socket_inode(host_socket),
                                 unix_path(host.storage, host.length), unix_path(guest, length));
}

socklen_t to_guest_name(Thread& thread, int host_socket, bool own, sockaddr_storage& address,
                        socklen_t length) {
  std::string guest;
  if (has_unix_path(address, length) &&
      UnixNames::instance().find(own, socket_inode(host_socket), unix_path(address, length),
                                 guest)) {
    return set_unix_path(address, guest);
  }
  return to_guest_address(thread, address, length);
}

}  // namespace noah::syscall::sockets
