// Sockets on the host's network, as `docker run --network host` has it. Unix socket paths are
// resolved inside the guest's root, so a socket bound at /run/app.sock is a real socket file
// at ROOT/run/app.sock that host programs can reach too. Addresses are converted in
// socket_address.cc, and messages with their control data are handled in socket_msg.cc.
#include "translator/syscall/socket.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "translator/syscall/fd.h"
#include "translator/syscall/guest.h"
#include "translator/syscall/handlers.h"
#include "translator/util/log.h"

namespace noah::syscall {
namespace {

using sockets::Address;
using sockets::UnixUse;

// Linux's SO_PEERPIDFD (6.5): getsockopt stores a new pidfd of the peer in the value.
constexpr int kPeerPidfd = 77;
// Option values the translator copies through a buffer of its own, at most this many bytes.
constexpr uint32_t kMaxOptionLength = 64 * 1024;

int64_t host_result(long result) {
  return result < 0 ? -errno : result;
}

// Whether the guest may create a socket of this family, type and protocol. Raw and packet
// sockets give EPERM, as in a container without CAP_NET_RAW: with the host's network they
// would see all of the host's traffic. Protocols whose options carry pointers the translator
// does not check (SCTP, MPTCP) are reported as missing, and callers fall back to TCP.
int check_socket_kind(int domain, int type, int protocol) {
  int kind = type & 0xf;  // SOCK_TYPE_MASK
  switch (domain) {
    case AF_UNIX:
    case AF_NETLINK:
      return 0;
    case AF_INET:
    case AF_INET6:
      if (kind == SOCK_RAW || kind == SOCK_PACKET) return -EPERM;
      if (protocol == IPPROTO_SCTP || protocol == IPPROTO_MPTCP) return -EPROTONOSUPPORT;
      return 0;
    case AF_PACKET:
      return -EPERM;
    default:
      return -EAFNOSUPPORT;
  }
}

constexpr uint32_t bit(int capability) {
  return 1u << capability;
}

// The network capabilities of root in the container: the network part of Docker's default set
// without CAP_NET_RAW, because raw and packet sockets are rejected here.
constexpr uint32_t kRootNetwork = bit(CAP_NET_BIND_SERVICE) | bit(CAP_AUDIT_WRITE);
constexpr uint32_t kNetwork = bit(CAP_NET_BIND_SERVICE) | bit(CAP_NET_BROADCAST) |
                              bit(CAP_NET_ADMIN) | bit(CAP_NET_RAW) | bit(CAP_AUDIT_WRITE) |
                              bit(CAP_AUDIT_CONTROL);

// Removes `capabilities` (of the first 32) from the calling thread's effective set. Returns
// whether the set changed, and the set before in `saved`.
bool lower_effective(uint32_t capabilities, __user_cap_data_struct (&saved)[2]) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  if (::syscall(SYS_capget, &header, saved) < 0) return false;
  if ((saved[0].effective & capabilities) == 0) return false;
  __user_cap_data_struct lowered[2] = {saved[0], saved[1]};
  lowered[0].effective &= ~capabilities;
  return ::syscall(SYS_capset, &header, lowered) == 0;
}

// A translator running as host root must not lend the guest network capabilities that root in
// the container lacks, such as CAP_NET_ADMIN. rtnetlink checks CAP_NET_ADMIN of the thread that
// sends each message, and the guest may send with write(2), which this file does not see. So these
// capabilities leave the effective set before main() starts any thread, and every thread and forked
// child inherits that. They stay permitted, but nothing in the translator raises them again.
const bool network_capabilities_lowered = [] {
  __user_cap_data_struct saved[2];
  return lower_effective(kNetwork & ~kRootNetwork, saved);
}();

// Lowers the calling thread's effective network capabilities to the guest's for the lifetime
// of the object: a guest that is not root loses CAP_NET_BIND_SERVICE too, so binding a port
// below 1024 fails for it as on Linux.
class GuestNetworkCapabilities {
 public:
  explicit GuestNetworkCapabilities(const Thread& thread) {
    uint32_t allowed = thread.process.credentials.get().euid == 0 ? kRootNetwork : 0;
    changed_ = lower_effective(kNetwork & ~allowed, saved_);
  }
  ~GuestNetworkCapabilities() {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    if (changed_ && ::syscall(SYS_capset, &header, saved_) < 0) {
      log::error("restore capabilities after a socket call: %s", strerror(errno));
    }
  }
  GuestNetworkCapabilities(const GuestNetworkCapabilities&) = delete;
  GuestNetworkCapabilities& operator=(const GuestNetworkCapabilities&) = delete;

 private:
  __user_cap_data_struct saved_[2]{};
  bool changed_ = false;
};

}  // namespace

int64_t sys_socket(Thread& thread, int domain, int type, int protocol) {
  int allowed = check_socket_kind(domain, type, protocol);
  if (allowed < 0) return allowed;
  GuestNetworkCapabilities capabilities(thread);
  int host = ::socket(domain, type | SOCK_CLOEXEC, protocol);
  if (host < 0) return -errno;
  return install_fd(thread, host, "", (type & SOCK_CLOEXEC) != 0);
}

int64_t sys_socketpair(Thread& thread, int domain, int type, int protocol, GuestPtr<int> fds) {
  if (!thread.process.mm.check(fds.address, 2 * sizeof(int), mm::kWrite)) return -EFAULT;
  int allowed = check_socket_kind(domain, type, protocol);
  if (allowed < 0) return allowed;
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
  if (!copy_to_guest(thread, fds.address, guest, sizeof guest)) {
    thread.process.files.close(first);
    thread.process.files.close(second);
    return -EFAULT;
  }
  return 0;
}

int64_t sys_connect(Thread& thread, int fd, GuestPtr<void> address, unsigned length) {
  int host = host_fd(thread, fd);
  if (host < 0) return host;
  sockaddr_storage guest{};
  Address value;
  int result = sockets::read_address(thread, address.address, length, UnixUse::kReach, value);
  if (result < 0) return result;
  copy_from_guest(thread, &guest, address.address, length);
  if (::connect(host, reinterpret_cast<sockaddr*>(&value.storage), value.length) < 0) {
    return -errno;
  }
  sockets::remember_peer(thread, host, guest, length);
  return 0;
}

int64_t sys_bind(Thread& thread, int fd, GuestPtr<void> address, unsigned length) {
  int host = host_fd(thread, fd);
  if (host < 0) return host;
  Address value;
  int result = sockets::read_address(thread, address.address, length, UnixUse::kCreate, value);
  if (result < 0) return result;
  // The guest path as Linux stores it: the bytes up to the first NUL.
  sockaddr_storage guest{};
  copy_from_guest(thread, &guest, address.address, length);
  GuestNetworkCapabilities capabilities(thread);
  if (::bind(host, reinterpret_cast<sockaddr*>(&value.storage), value.length) < 0) return -errno;
  result = sockets::link_bound_name(value);
  if (result < 0) return result;
  sockets::remember_bound(host, value, guest, length);
  return 0;
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
  peer_length = sockets::to_guest_address(thread, peer, peer_length);
  int result = sockets::write_address(thread, peer, peer_length, address.address, length.address);
  if (result < 0) {
    ::close(accepted);
    return result;
  }
  return install_fd(thread, accepted, "", (flags.value & SOCK_CLOEXEC) != 0);
}

int64_t sys_accept(Thread& thread, int fd, GuestPtr<void> address, GuestPtr<uint32_t> length) {
  return sys_accept4(thread, fd, address, length, Flags{0});
}

// getsockname and getpeername: the socket's own or its peer's address as the guest named it.
static int64_t socket_address(Thread& thread, int fd, GuestPtr<void> address,
                              GuestPtr<uint32_t> length, bool own) {
  int host = host_fd(thread, fd);
  if (host < 0) return host;
  sockaddr_storage value{};
  socklen_t value_length = sizeof value;
  auto* name = reinterpret_cast<sockaddr*>(&value);
  int queried =
      own ? ::getsockname(host, name, &value_length) : ::getpeername(host, name, &value_length);
  if (queried < 0) return -errno;
  value_length = sockets::to_guest_name(thread, host, own, value, value_length);
  return sockets::write_address(thread, value, value_length, address.address, length.address);
}

int64_t sys_getsockname(Thread& thread, int fd, GuestPtr<void> address, GuestPtr<uint32_t> length) {
  return socket_address(thread, fd, address, length, true);
}

int64_t sys_getpeername(Thread& thread, int fd, GuestPtr<void> address, GuestPtr<uint32_t> length) {
  return socket_address(thread, fd, address, length, false);
}

int64_t sys_sendto(Thread& thread, int fd, GuestPtr<void> buffer, uint64_t length, Flags flags,
                   GuestPtr<void> address, unsigned address_length) {
  int host = host_fd(thread, fd);
  if (host < 0) return host;
  if (!thread.process.mm.check(buffer.address, length, mm::kRead)) return -EFAULT;
  Address value;
  sockaddr* target = nullptr;
  if (!address.null()) {
    int result =
        sockets::read_address(thread, address.address, address_length, UnixUse::kReach, value);
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
  peer_length = sockets::to_guest_address(thread, peer, peer_length);
  int result =
      sockets::write_address(thread, peer, peer_length, address.address, address_length.address);
  return result < 0 ? result : received;
}

int64_t sys_shutdown(Thread& thread, int fd, int how) {
  int host = host_fd(thread, fd);
  return host < 0 ? host : host_result(::shutdown(host, how));
}

// setsockopt values that hold a pointer or a descriptor, rewritten in the translator's copy:
// a classic BPF program's instructions move into `program`, an eBPF program's descriptor
// becomes the host's. Returns 0 or -errno.
static int convert_option_value(Thread& thread, int level, int name, std::vector<char>& value,
                                std::vector<sock_filter>& program,
                                std::shared_ptr<vfs::OpenFile>& file) {
  if (level != SOL_SOCKET) return 0;
  if (name == SO_ATTACH_FILTER || name == SO_ATTACH_REUSEPORT_CBPF) {
    if (value.size() < sizeof(sock_fprog)) return -EINVAL;
    sock_fprog filter;
    memcpy(&filter, value.data(), sizeof filter);
    if (filter.len > BPF_MAXINSNS) return -EINVAL;
    program.resize(filter.len);
    if (!copy_from_guest(thread, program.data(), reinterpret_cast<uint64_t>(filter.filter),
                         program.size() * sizeof(sock_filter))) {
      return -EFAULT;
    }
    filter.filter = program.data();
    memcpy(value.data(), &filter, sizeof filter);
  } else if (name == SO_ATTACH_BPF || name == SO_ATTACH_REUSEPORT_EBPF) {
    if (value.size() < sizeof(int)) return -EINVAL;
    int guest_fd;
    memcpy(&guest_fd, value.data(), sizeof guest_fd);
    file = file_of(thread, guest_fd);
    if (!file) return -EBADF;
    memcpy(value.data(), &file->host_fd, sizeof file->host_fd);
  }
  return 0;
}

int64_t sys_setsockopt(Thread& thread, int fd, int level, int name, GuestPtr<void> value,
                       unsigned length) {
  int host = host_fd(thread, fd);
  if (host < 0) return host;
  if (static_cast<int>(length) < 0) return -EINVAL;
  if (length > kMaxOptionLength) return -ENOBUFS;
  // The host reads the translator's copy, so another guest thread cannot change the value
  // between the checks here and the kernel's reads.
  std::vector<char> copy(length);
  if (!copy_from_guest(thread, copy.data(), value.address, length)) return -EFAULT;
  std::vector<sock_filter> program;
  std::shared_ptr<vfs::OpenFile> file;
  int converted = convert_option_value(thread, level, name, copy, program, file);
  if (converted < 0) return converted;
  GuestNetworkCapabilities capabilities(thread);
  return host_result(::setsockopt(host, level, name, copy.data(), length));
}

// Rewrites a getsockopt result that contains host values: SO_PEERCRED's ids and SO_PEERPIDFD's
// descriptor, which becomes a guest descriptor.
static int convert_option_result(Thread& thread, int level, int name, std::vector<char>& value,
                                 socklen_t length) {
  if (level != SOL_SOCKET) return 0;
  if (name == SO_PEERCRED && length >= sizeof(ucred)) {
    ucred credentials;
    memcpy(&credentials, value.data(), sizeof credentials);
    sockets::to_guest_credentials(thread, credentials);
    memcpy(value.data(), &credentials, sizeof credentials);
  } else if (name == kPeerPidfd && length >= sizeof(int)) {
    int pidfd;
    memcpy(&pidfd, value.data(), sizeof pidfd);
    // The kernel makes this pidfd without close-on-exec; the translator keeps all of its own.
    if (fcntl(pidfd, F_SETFD, FD_CLOEXEC) < 0) {
      int error = errno;
      ::close(pidfd);
      return -error;
    }
    int guest = install_fd(thread, pidfd, "", false);
    if (guest < 0) return guest;
    memcpy(value.data(), &guest, sizeof guest);
  }
  return 0;
}

int64_t sys_getsockopt(Thread& thread, int fd, int level, int name, GuestPtr<void> value,
                       GuestPtr<uint32_t> length) {
  int host = host_fd(thread, fd);
  if (host < 0) return host;
  // TCP_ZEROCOPY_RECEIVE maps pages and copies data to addresses inside its value.
  if (level == IPPROTO_TCP && name == TCP_ZEROCOPY_RECEIVE) return -EOPNOTSUPP;
  int32_t room;
  if (!copy_from_guest(thread, &room, length.address, sizeof room)) return -EFAULT;
  if (room < 0) return -EINVAL;
  // SO_GET_FILTER counts its length in BPF instructions, not bytes.
  bool filter = level == SOL_SOCKET && name == SO_GET_FILTER;
  uint64_t unit = filter ? sizeof(sock_filter) : 1;
  uint64_t bytes = std::min<uint64_t>(static_cast<uint64_t>(room) * unit, kMaxOptionLength);
  if (!thread.process.mm.check(value.address, bytes, mm::kWrite)) return -EFAULT;
  // Some options read their value first (IP_MSFILTER, PACKET_HDRLEN), so it is copied in when
  // the guest may read it.
  std::vector<char> copy(bytes);
  copy_from_guest(thread, copy.data(), value.address, bytes);
  socklen_t result_length = static_cast<socklen_t>(bytes / unit);
  if (::getsockopt(host, level, name, copy.data(), &result_length) < 0) {
    int error = errno;
    // SO_PEERSEC and SO_PEERGROUPS report the length they need with ERANGE.
    if (error == ERANGE) write_guest(thread, length, static_cast<uint32_t>(result_length));
    return -error;
  }
  int converted = convert_option_result(thread, level, name, copy, result_length);
  if (converted < 0) return converted;
  uint64_t written = std::min<uint64_t>(uint64_t{result_length} * unit, bytes);
  if (!copy_to_guest(thread, value.address, copy.data(), written)) return -EFAULT;
  return write_guest(thread, length, static_cast<uint32_t>(result_length)) ? 0 : -EFAULT;
}

}  // namespace noah::syscall
