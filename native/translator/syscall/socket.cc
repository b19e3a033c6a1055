// Sockets on the host's network, as `docker run --network host` has it. Unix socket paths are
// resolved inside the guest's root, so a socket bound at /tmp/app.sock is a real socket file
// under the root directory that host programs can reach too.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "translator/syscall/fd.h"
#include "translator/syscall/guest.h"
#include "translator/syscall/handlers.h"

namespace noah::syscall {
namespace {

constexpr int kMaxIovecs = 1024;
constexpr uint64_t kMaxControl = 64 * 1024;

int64_t host_result(long result) {
  return result < 0 ? -errno : result;
}

// A socket address copied from the guest, with Unix paths rewritten to host paths inside the
// root. `directory` keeps the parent directory open while the host call uses the path.
struct Address {
  sockaddr_storage storage{};
  socklen_t length = 0;
  vfs::UniqueFd directory;
};

int read_address(Thread& thread, uint64_t address, uint32_t length, Address& out) {
  if (length > sizeof(sockaddr_storage)) return -EINVAL;
  if (!copy_from_guest(thread, &out.storage, address, length)) return -EFAULT;
  out.length = length;
  if (out.storage.ss_family != AF_UNIX || length <= offsetof(sockaddr_un, sun_path)) return 0;
  auto* unix_address = reinterpret_cast<sockaddr_un*>(&out.storage);
  size_t path_bytes = length - offsetof(sockaddr_un, sun_path);
  if (unix_address->sun_path[0] == '\0') return 0;  // abstract names stay as they are
  std::string path(unix_address->sun_path, strnlen(unix_address->sun_path, path_bytes));
  std::string name;
  auto cwd = thread.process.fs.cwd();
  int result = thread.process.fs.parent(vfs::base_of(*cwd), path, out.directory, name);
  if (result < 0) return result;
  // The host reaches the socket file through the resolved directory's descriptor.
  char host_path[sizeof unix_address->sun_path];
  int written = snprintf(host_path, sizeof host_path, "/proc/self/fd/%d/%s", out.directory.get(),
                         name.c_str());
  if (written < 0 || static_cast<size_t>(written) >= sizeof host_path) return -ENAMETOOLONG;
  memset(unix_address->sun_path, 0, sizeof unix_address->sun_path);
  memcpy(unix_address->sun_path, host_path, static_cast<size_t>(written));
  out.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + written + 1);
  return 0;
}

// Copies a host socket address back to the guest as getsockname(2) does: truncated to the
// guest's buffer, with the full length stored.
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

// A guest msghdr with its iovecs and control data checked, ready for the host.
struct Message {
  msghdr header{};
  std::vector<iovec> vectors;
  Address name;
};

int read_message(Thread& thread, uint64_t address, bool sending, Message& out) {
  msghdr guest{};
  if (!copy_from_guest(thread, &guest, address, sizeof guest)) return -EFAULT;
  if (guest.msg_iovlen > kMaxIovecs) return -EMSGSIZE;
  out.vectors.resize(guest.msg_iovlen);
  if (!copy_from_guest(thread, out.vectors.data(), reinterpret_cast<uint64_t>(guest.msg_iov),
                       guest.msg_iovlen * sizeof(iovec))) {
    return -EFAULT;
  }
  int access = sending ? mm::kRead : mm::kWrite;
  for (const iovec& vector : out.vectors) {
    if (!thread.process.mm.check(reinterpret_cast<uint64_t>(vector.iov_base), vector.iov_len,
                                 access)) {
      return -EFAULT;
    }
  }
  out.header = guest;
  out.header.msg_iov = out.vectors.data();
  if (guest.msg_name != nullptr && guest.msg_namelen > 0) {
    if (sending) {
      int result = read_address(thread, reinterpret_cast<uint64_t>(guest.msg_name),
                                guest.msg_namelen, out.name);
      if (result < 0) return result;
      out.header.msg_name = &out.name.storage;
      out.header.msg_namelen = out.name.length;
    } else if (!thread.process.mm.check(reinterpret_cast<uint64_t>(guest.msg_name),
                                        guest.msg_namelen, mm::kWrite)) {
      return -EFAULT;
    }
  }
  if (guest.msg_controllen > kMaxControl) return -ENOBUFS;
  if (guest.msg_control != nullptr &&
      !thread.process.mm.check(reinterpret_cast<uint64_t>(guest.msg_control), guest.msg_controllen,
                               sending ? mm::kRead : mm::kWrite)) {
    return -EFAULT;
  }
  // TODO: SCM_RIGHTS carries guest descriptor numbers that must be mapped to host ones.
  if (sending && guest.msg_controllen > 0) return -EOPNOTSUPP;
  if (!sending) out.header.msg_controllen = 0;
  return 0;
}

}  // namespace

int64_t sys_socket(Thread& thread, int domain, int type, int protocol) {
  int host = ::socket(domain, type | SOCK_CLOEXEC, protocol);
  if (host < 0) return -errno;
  return install_fd(thread, host, "", (type & SOCK_CLOEXEC) != 0);
}

int64_t sys_socketpair(Thread& thread, int domain, int type, int protocol, GuestPtr<int> fds) {
  if (!thread.process.mm.check(fds.address, 2 * sizeof(int), mm::kWrite)) return -EFAULT;
  int host[2];
  if (::socketpair(domain, type | SOCK_CLOEXEC, protocol, host) < 0) return -errno;
  bool cloexec = (type & SOCK_CLOEXEC) != 0;
  int first = install_fd(thread, host[0], "", cloexec);
  if (first < 0) {
    ::close(host[1]);
    return first;
  }
  int second = install_fd(thread, host[1], "", cloexec);
  if (second < 0) {
    thread.process.files.close(first);
    return second;
  }
  int guest[2] = {first, second};
  copy_to_guest(thread, fds.address, guest, sizeof guest);
  return 0;
}

int64_t sys_connect(Thread& thread, int fd, GuestPtr<void> address, unsigned length) {
  int host = host_fd(thread, fd);
  if (host < 0) return host;
  Address value;
  int result = read_address(thread, address.address, length, value);
  if (result < 0) return result;
  return host_result(::connect(host, reinterpret_cast<sockaddr*>(&value.storage), value.length));
}

int64_t sys_bind(Thread& thread, int fd, GuestPtr<void> address, unsigned length) {
  int host = host_fd(thread, fd);
  if (host < 0) return host;
  Address value;
  int result = read_address(thread, address.address, length, value);
  if (result < 0) return result;
  return host_result(::bind(host, reinterpret_cast<sockaddr*>(&value.storage), value.length));
}

int64_t sys_listen(Thread& thread, int fd, int backlog) {
  int host = host_fd(thread, fd);
  return host < 0 ? host : host_result(::listen(host, backlog));
}

int64_t sys_accept4(Thread& thread, int fd, GuestPtr<void> address, GuestPtr<uint32_t> length,
                    Flags flags) {
  int host = host_fd(thread, fd);
  if (host < 0) return host;
  if (flags.value & ~uint64_t{SOCK_CLOEXEC | SOCK_NONBLOCK}) return -EINVAL;
  sockaddr_storage peer{};
  socklen_t peer_length = sizeof peer;
  int accepted = ::accept4(host, reinterpret_cast<sockaddr*>(&peer), &peer_length,
                           static_cast<int>(flags.value) | SOCK_CLOEXEC);
  if (accepted < 0) return -errno;
  int result = write_address(thread, peer, peer_length, address.address, length.address);
  if (result < 0) {
    ::close(accepted);
    return result;
  }
  return install_fd(thread, accepted, "", (flags.value & SOCK_CLOEXEC) != 0);
}

int64_t sys_accept(Thread& thread, int fd, GuestPtr<void> address, GuestPtr<uint32_t> length) {
  return sys_accept4(thread, fd, address, length, Flags{0});
}

// getsockname and getpeername: one of the socket's addresses, written back as Linux does.
static int64_t socket_address(Thread& thread, int fd, GuestPtr<void> address,
                              GuestPtr<uint32_t> length, int (*query)(int, sockaddr*, socklen_t*)) {
  int host = host_fd(thread, fd);
  if (host < 0) return host;
  sockaddr_storage value{};
  socklen_t value_length = sizeof value;
  if (query(host, reinterpret_cast<sockaddr*>(&value), &value_length) < 0) return -errno;
  return write_address(thread, value, value_length, address.address, length.address);
}

int64_t sys_getsockname(Thread& thread, int fd, GuestPtr<void> address, GuestPtr<uint32_t> length) {
  return socket_address(thread, fd, address, length, ::getsockname);
}

int64_t sys_getpeername(Thread& thread, int fd, GuestPtr<void> address, GuestPtr<uint32_t> length) {
  return socket_address(thread, fd, address, length, ::getpeername);
}

int64_t sys_sendto(Thread& thread, int fd, GuestPtr<void> buffer, uint64_t length, Flags flags,
                   GuestPtr<void> address, unsigned address_length) {
  int host = host_fd(thread, fd);
  if (host < 0) return host;
  if (!thread.process.mm.check(buffer.address, length, mm::kRead)) return -EFAULT;
  Address value;
  sockaddr* target = nullptr;
  if (!address.null()) {
    int result = read_address(thread, address.address, address_length, value);
    if (result < 0) return result;
    target = reinterpret_cast<sockaddr*>(&value.storage);
  }
  return host_result(::sendto(host, reinterpret_cast<void*>(buffer.address), length,
                              static_cast<int>(flags.value), target, target ? value.length : 0));
}

int64_t sys_recvfrom(Thread& thread, int fd, GuestPtr<void> buffer, uint64_t length, Flags flags,
                     GuestPtr<void> address, GuestPtr<uint32_t> address_length) {
  int host = host_fd(thread, fd);
  if (host < 0) return host;
  if (!thread.process.mm.check(buffer.address, length, mm::kWrite)) return -EFAULT;
  sockaddr_storage peer{};
  socklen_t peer_length = sizeof peer;
  ssize_t received =
      ::recvfrom(host, reinterpret_cast<void*>(buffer.address), length,
                 static_cast<int>(flags.value), reinterpret_cast<sockaddr*>(&peer), &peer_length);
  if (received < 0) return -errno;
  int result = write_address(thread, peer, peer_length, address.address, address_length.address);
  return result < 0 ? result : received;
}

int64_t sys_sendmsg(Thread& thread, int fd, GuestPtr<void> message, Flags flags) {
  int host = host_fd(thread, fd);
  if (host < 0) return host;
  Message value;
  int result = read_message(thread, message.address, true, value);
  if (result < 0) return result;
  return host_result(::sendmsg(host, &value.header, static_cast<int>(flags.value)));
}

int64_t sys_recvmsg(Thread& thread, int fd, GuestPtr<void> message, Flags flags) {
  int host = host_fd(thread, fd);
  if (host < 0) return host;
  Message value;
  int result = read_message(thread, message.address, false, value);
  if (result < 0) return result;
  ssize_t received = ::recvmsg(host, &value.header, static_cast<int>(flags.value));
  if (received < 0) return -errno;
  // Report the lengths back; control data is not passed yet, so its length is zero.
  msghdr guest{};
  copy_from_guest(thread, &guest, message.address, sizeof guest);
  guest.msg_namelen = value.header.msg_namelen;
  guest.msg_controllen = 0;
  guest.msg_flags = value.header.msg_flags;
  if (!copy_to_guest(thread, message.address, &guest, sizeof guest)) return -EFAULT;
  return received;
}

int64_t sys_shutdown(Thread& thread, int fd, int how) {
  int host = host_fd(thread, fd);
  return host < 0 ? host : host_result(::shutdown(host, how));
}

int64_t sys_setsockopt(Thread& thread, int fd, int level, int name, GuestPtr<void> value,
                       unsigned length) {
  int host = host_fd(thread, fd);
  if (host < 0) return host;
  if (length > 4096) return -EINVAL;
  if (!thread.process.mm.check(value.address, length, mm::kRead)) return -EFAULT;
  return host_result(
      ::setsockopt(host, level, name, reinterpret_cast<void*>(value.address), length));
}

int64_t sys_getsockopt(Thread& thread, int fd, int level, int name, GuestPtr<void> value,
                       GuestPtr<uint32_t> length) {
  int host = host_fd(thread, fd);
  if (host < 0) return host;
  uint32_t room;
  if (!read_guest(thread, length, room)) return -EFAULT;
  if (room > 4096) room = 4096;
  if (!thread.process.mm.check(value.address, room, mm::kWrite)) return -EFAULT;
  socklen_t result_length = room;
  if (::getsockopt(host, level, name, reinterpret_cast<void*>(value.address), &result_length) < 0) {
    return -errno;
  }
  return write_guest(thread, length, static_cast<uint32_t>(result_length)) ? 0 : -EFAULT;
}

}  // namespace noah::syscall
