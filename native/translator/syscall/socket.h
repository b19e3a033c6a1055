// Helpers shared by the socket handlers (socket.cc) and the message calls (socket_msg.cc):
// socket addresses between guest and host form, and the credentials of SCM_CREDENTIALS.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <cstdint>
#include <string>

#include "translator/syscall/types.h"
#include "translator/vfs/path.h"

namespace noah::syscall::sockets {

// A socket address copied from the guest, in the form the host kernel takes. A Unix path is
// resolved inside the root, and `target` keeps the resolved file or directory open while the
// host call uses its /proc/self/fd path.
struct Address {
  sockaddr_storage storage{};
  socklen_t length = 0;
  vfs::UniqueFd target;
  // For a bind whose name is too long for the host path: the socket is bound at
  // `temporary_name` in `target`, and then linked to `name` there.
  std::string temporary_name;
  std::string name;
};

// The use of a Unix path in an address: bind creates a socket file and never follows a
// symlink in the last component, while connect and sendto reach an existing one.
enum class UnixUse { kCreate, kReach };

// Copies and converts the guest address at `address`. Returns 0 or -errno.
int read_address(Thread& thread, uint64_t address, uint32_t length, UnixUse use, Address& out);

// Rewrites a Unix address the host kernel returned into the guest's form: a name this process
// bound gets its guest path back, a path under the root loses the root's prefix. Other
// addresses are left as they are. Returns the new length.
socklen_t to_guest_address(Thread& thread, sockaddr_storage& address, socklen_t length);

// Copies an address to the guest as getsockname(2) does: truncated to the buffer, whose size
// is read from `guest_length`, with the full length stored there. A null `guest_address`
// copies nothing.
int write_address(Thread& thread, const sockaddr_storage& address, socklen_t length,
                  uint64_t guest_address, uint64_t guest_length);

// Gives a socket that bind put at a temporary name its real name. Returns 0 or -errno.
int link_bound_name(const Address& address);

// Remembers the guest address a host socket was bound at, which getsockname returns.
void remember_bound(int host_socket, const Address& host, const sockaddr_storage& guest,
                    socklen_t length);

// Rewrites the host socket's own (getsockname) or peer (getpeername) address as the guest
// named it when this process bound or connected it, else as to_guest_address does.
socklen_t to_guest_name(Thread& thread, int host_socket, bool own, sockaddr_storage& address,
                        socklen_t length);

// Remembers the guest address a host socket connected to, which getpeername returns.
void remember_peer(Thread& thread, int host_socket, const sockaddr_storage& guest,
                   socklen_t length);

// SCM_CREDENTIALS and SO_PEERCRED values between the guest's view and the host's.
// to_host_credentials returns 0, or -EPERM when the guest may not claim those ids.
int to_host_credentials(Thread& thread, ucred& credentials);
void to_guest_credentials(Thread& thread, ucred& credentials);

}  // namespace noah::syscall::sockets
