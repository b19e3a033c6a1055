// sendmsg, recvmsg, sendmmsg and recvmmsg. Control messages pass through a buffer of the
// translator's own, never through guest memory, so another guest thread cannot change a
// descriptor number between its translation and the host call. SCM_RIGHTS carries guest
// descriptors that become host ones on the way out, and host descriptors that are installed in
// the guest's table on the way in. SCM_CREDENTIALS ids are checked as Linux checks them.
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "translator/syscall/fd.h"
#include "translator/syscall/guest.h"
#include "translator/syscall/handlers.h"
#include "translator/syscall/socket.h"

namespace noah::syscall {
namespace {

constexpr int kMaxIovecs = 1024;             // UIO_MAXIOV
constexpr uint64_t kMaxControl = 64 * 1024;  // the translator's bound on control data
constexpr size_t kMaxRights = 253;           // SCM_MAX_FD: descriptors in one message
constexpr int kScmPidfd = 4;                 // SCM_PIDFD (Linux 6.5): a pidfd of the sender

// A guest msghdr converted for the host: checked iovecs, the address, and control data.
// `header` points into the other members, so a Message is never moved once prepared.
struct Message {
  msghdr header{};
  std::vector<iovec> vectors;
  sockets::Address name;
  std::vector<uint64_t> control;  // 8-byte units keep the cmsghdrs aligned
  // The open files whose host descriptors an SCM_RIGHTS message carries, held until sent.
  std::vector<std::shared_ptr<vfs::OpenFile>> files;
  // Where the results go back in the guest's msghdr.
  uint64_t guest_header = 0;
  uint64_t guest_name = 0;
  uint64_t guest_control = 0;
};

int read_vectors(Thread& thread, const msghdr& guest, int access, Message& out) {
  if (guest.msg_iovlen > kMaxIovecs) return -EMSGSIZE;
  out.vectors.resize(guest.msg_iovlen);
  if (!copy_from_guest(thread, out.vectors.data(), reinterpret_cast<uint64_t>(guest.msg_iov),
                       guest.msg_iovlen * sizeof(iovec))) {
    return -EFAULT;
  }
  uint64_t total = 0;
  for (const iovec& vector : out.vectors) {
    if (static_cast<int64_t>(vector.iov_len) < 0) return -EINVAL;
    total += vector.iov_len;
    if (static_cast<int64_t>(total) < 0) return -EINVAL;
    if (!thread.process.mm.check(reinterpret_cast<uint64_t>(vector.iov_base), vector.iov_len,
                                 access)) {
      return -EFAULT;
    }
  }
  out.header.msg_iov = out.vectors.data();
  out.header.msg_iovlen = out.vectors.size();
  return 0;
}

char* control_bytes(Message& message) {
  return reinterpret_cast<char*>(message.control.data());
}

// SCM_RIGHTS on the way out: each guest descriptor becomes the host descriptor behind it.
int convert_sent_rights(Thread& thread, char* data, size_t bytes, Message& message) {
  size_t count = bytes / sizeof(int);
  if (message.files.size() + count > kMaxRights) return -EINVAL;
  for (size_t i = 0; i < count; i++) {
    int fd;
    memcpy(&fd, data + i * sizeof(int), sizeof fd);
    auto file = file_of(thread, fd);
    if (!file) return -EBADF;
    memcpy(data + i * sizeof(int), &file->host_fd, sizeof(int));
    message.files.push_back(std::move(file));
  }
  return 0;
}

// Converts the control messages of a send in place. The walk checks each length as Linux's
// CMSG_OK does, since the guest wrote them.
int convert_sent_control(Thread& thread, Message& message, size_t length) {
  char* buffer = control_bytes(message);
  size_t offset = 0;
  while (offset + sizeof(cmsghdr) <= length) {
    cmsghdr header;
    memcpy(&header, buffer + offset, sizeof header);
    if (header.cmsg_len < sizeof(cmsghdr) || header.cmsg_len > length - offset) return -EINVAL;
    char* data = buffer + offset + CMSG_LEN(0);
    size_t bytes = header.cmsg_len - CMSG_LEN(0);
    if (header.cmsg_level == SOL_SOCKET && header.cmsg_type == SCM_RIGHTS) {
      int result = convert_sent_rights(thread, data, bytes, message);
      if (result < 0) return result;
    } else if (header.cmsg_level == SOL_SOCKET && header.cmsg_type == SCM_CREDENTIALS) {
      if (bytes != sizeof(ucred)) return -EINVAL;
      ucred credentials;
      memcpy(&credentials, data, sizeof credentials);
      int result = sockets::to_host_credentials(thread, credentials);
      if (result < 0) return result;
      memcpy(data, &credentials, sizeof credentials);
    }
    offset += CMSG_ALIGN(header.cmsg_len);
  }
  return 0;
}

int prepare_send(Thread& thread, uint64_t address, Message& out) {
  msghdr guest;
  if (!copy_from_guest(thread, &guest, address, sizeof guest)) return -EFAULT;
  int result = read_vectors(thread, guest, mm::kRead, out);
  if (result < 0) return result;
  if (guest.msg_name != nullptr && guest.msg_namelen > 0) {
    result = sockets::read_address(thread, reinterpret_cast<uint64_t>(guest.msg_name),
                                   guest.msg_namelen, sockets::UnixUse::kReach, out.name);
    if (result < 0) return result;
    out.header.msg_name = &out.name.storage;
    out.header.msg_namelen = out.name.length;
  }
  if (guest.msg_controllen > kMaxControl) return -ENOBUFS;
  if (guest.msg_controllen == 0) return 0;
  out.control.resize((guest.msg_controllen + 7) / 8);
  if (!copy_from_guest(thread, out.control.data(), reinterpret_cast<uint64_t>(guest.msg_control),
                       guest.msg_controllen)) {
    return -EFAULT;
  }
  out.header.msg_control = out.control.data();
  out.header.msg_controllen = guest.msg_controllen;
  return convert_sent_control(thread, out, guest.msg_controllen);
}

int prepare_receive(Thread& thread, uint64_t address, Message& out) {
  msghdr guest;
  if (!copy_from_guest(thread, &guest, address, sizeof guest)) return -EFAULT;
  int result = read_vectors(thread, guest, mm::kWrite, out);
  if (result < 0) return result;
  out.guest_header = address;
  if (guest.msg_name != nullptr) {
    if (static_cast<int32_t>(guest.msg_namelen) < 0) return -EINVAL;
    // The host fills a whole sockaddr_storage, so that a Unix path can be converted before it
    // is cut to the guest's length.
    out.guest_name = reinterpret_cast<uint64_t>(guest.msg_name);
    out.header.msg_name = &out.name.storage;
    out.header.msg_namelen = sizeof out.name.storage;
  }
  uint64_t room = std::min<uint64_t>(guest.msg_controllen, kMaxControl);
  if (guest.msg_control != nullptr && room > 0) {
    // As on Linux, a bad buffer fails the call only when there is control data to write.
    out.guest_control = reinterpret_cast<uint64_t>(guest.msg_control);
    out.control.resize((room + 7) / 8);
    out.header.msg_control = out.control.data();
    out.header.msg_controllen = room;
  }
  return 0;
}

// Installs the host descriptors of a received SCM_RIGHTS or SCM_PIDFD message in the guest's
// table, in place. As Linux does when the table is full, the descriptors that do not fit are
// closed and MSG_CTRUNC is set. Returns how many were installed.
size_t install_received(Thread& thread, char* data, size_t count, bool cloexec, int& flags,
                        std::vector<int>& installed) {
  for (size_t i = 0; i < count; i++) {
    int host;
    memcpy(&host, data + i * sizeof(int), sizeof host);
    int guest = install_fd(thread, host, thread.process.fs.guest_path(host), cloexec);
    if (guest < 0) {
      for (size_t rest = i + 1; rest < count; rest++) {
        memcpy(&host, data + rest * sizeof(int), sizeof host);
        ::close(host);
      }
      flags |= MSG_CTRUNC;
      return i;
    }
    memcpy(data + i * sizeof(int), &guest, sizeof guest);
    installed.push_back(guest);
  }
  return count;
}

// Converts received control messages in place. Returns the control length the guest gets.
size_t convert_received_control(Thread& thread, msghdr& header, bool cloexec,
                                std::vector<int>& installed) {
  size_t used = header.msg_controllen;
  for (cmsghdr* cmsg = CMSG_FIRSTHDR(&header); cmsg != nullptr; cmsg = CMSG_NXTHDR(&header, cmsg)) {
    if (cmsg->cmsg_level != SOL_SOCKET) continue;
    char* data = reinterpret_cast<char*>(CMSG_DATA(cmsg));
    size_t bytes = cmsg->cmsg_len - CMSG_LEN(0);
    if (cmsg->cmsg_type == SCM_RIGHTS || cmsg->cmsg_type == kScmPidfd) {
      size_t count = bytes / sizeof(int);
      size_t kept = install_received(thread, data, count, cloexec, header.msg_flags, installed);
      if (kept == count) continue;
      // Linux puts SCM_RIGHTS last and leaves it out when no descriptor fits.
      size_t start = reinterpret_cast<char*>(cmsg) - static_cast<char*>(header.msg_control);
      cmsg->cmsg_len = CMSG_LEN(kept * sizeof(int));
      used = kept == 0 ? start : std::min(used, start + CMSG_SPACE(kept * sizeof(int)));
      break;
    }
    if (cmsg->cmsg_type == SCM_CREDENTIALS && bytes >= sizeof(ucred)) {
      ucred credentials;
      memcpy(&credentials, data, sizeof credentials);
      sockets::to_guest_credentials(thread, credentials);
      memcpy(data, &credentials, sizeof credentials);
    }
  }
  return used;
}

// Closes the host descriptors of SCM_RIGHTS messages that were received but not given to the
// guest.
void close_received(msghdr& header) {
  for (cmsghdr* cmsg = CMSG_FIRSTHDR(&header); cmsg != nullptr; cmsg = CMSG_NXTHDR(&header, cmsg)) {
    if (cmsg->cmsg_level != SOL_SOCKET ||
        (cmsg->cmsg_type != SCM_RIGHTS && cmsg->cmsg_type != kScmPidfd)) {
      continue;
    }
    size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; i++) {
      int host;
      memcpy(&host, CMSG_DATA(cmsg) + i * sizeof(int), sizeof host);
      ::close(host);
    }
  }
}

// Writes a received message's address, control data, lengths and flags back to the guest's
// msghdr, as Linux's recvmsg does. `header` is the host's result for `message`.
int finish_receive(Thread& thread, Message& message, msghdr& header, int guest_flags) {
  std::vector<int> installed;
  bool cloexec = (guest_flags & MSG_CMSG_CLOEXEC) != 0;
  size_t control_length = header.msg_control == nullptr
                              ? 0
                              : convert_received_control(thread, header, cloexec, installed);
  // Linux reports MSG_CMSG_CLOEXEC back in msg_flags when the caller passed it.
  int flags = (header.msg_flags & ~MSG_CMSG_CLOEXEC) | (guest_flags & MSG_CMSG_CLOEXEC);
  bool written = true;
  if (message.guest_name != 0) {
    socklen_t length = sockets::to_guest_address(thread, message.name.storage, header.msg_namelen);
    uint64_t field = message.guest_header + offsetof(msghdr, msg_namelen);
    written = sockets::write_address(thread, message.name.storage, length, message.guest_name,
                                     field) == 0;
  }
  if (control_length > 0) {
    written = written &&
              copy_to_guest(thread, message.guest_control, control_bytes(message), control_length);
  }
  uint64_t control_field = message.guest_header + offsetof(msghdr, msg_controllen);
  uint64_t flags_field = message.guest_header + offsetof(msghdr, msg_flags);
  written = written &&
            copy_to_guest(thread, control_field, &control_length, sizeof control_length) &&
            copy_to_guest(thread, flags_field, &flags, sizeof flags);
  if (written) return 0;
  for (int fd : installed) thread.process.files.close(fd);
  return -EFAULT;
}

}  // namespace

int64_t sys_sendmsg(Thread& thread, int fd, GuestPtr<void> message, Flags flags) {
  int host = host_fd(thread, fd);
  if (host < 0) return host;
  Message value;
  int result = prepare_send(thread, message.address, value);
  if (result < 0) return result;
  ssize_t sent = ::sendmsg(host, &value.header, static_cast<int>(flags.value));
  return sent < 0 ? -errno : sent;
}

int64_t sys_recvmsg(Thread& thread, int fd, GuestPtr<void> message, Flags flags) {
  int host = host_fd(thread, fd);
  if (host < 0) return host;
  Message value;
  int result = prepare_receive(thread, message.address, value);
  if (result < 0) return result;
  // Received host descriptors are always close-on-exec; the guest's flag applies to its own.
  int host_flags = static_cast<int>(flags.value) | MSG_CMSG_CLOEXEC;
  ssize_t received = ::recvmsg(host, &value.header, host_flags);
  if (received < 0) return -errno;
  result = finish_receive(thread, value, value.header, static_cast<int>(flags.value));
  return result < 0 ? result : received;
}

int64_t sys_sendmmsg(Thread& thread, int fd, GuestPtr<void> vector, unsigned count, Flags flags) {
  int host = host_fd(thread, fd);
  if (host < 0) return host;
  count = std::min<unsigned>(count, kMaxIovecs);
  std::vector<Message> messages(count);
  std::vector<mmsghdr> headers(count);
  unsigned prepared = 0;
  int error = 0;
  // As on Linux, a bad message after the first ends the batch and the ones before it are sent.
  for (; prepared < count; prepared++) {
    error = prepare_send(thread, vector.address + prepared * sizeof(mmsghdr), messages[prepared]);
    if (error < 0) break;
    headers[prepared].msg_hdr = messages[prepared].header;
  }
  if (prepared == 0) return error;
  int sent = ::sendmmsg(host, headers.data(), prepared, static_cast<int>(flags.value));
  if (sent < 0) return -errno;
  for (int i = 0; i < sent; i++) {
    uint64_t field = vector.address + i * sizeof(mmsghdr) + offsetof(mmsghdr, msg_len);
    if (!copy_to_guest(thread, field, &headers[i].msg_len, sizeof headers[i].msg_len)) break;
  }
  return sent;
}

int64_t sys_recvmmsg(Thread& thread, int fd, GuestPtr<void> vector, unsigned count, Flags flags,
                     GuestPtr<void> timeout) {
  int host = host_fd(thread, fd);
  if (host < 0) return host;
  timespec limit{};
  if (!timeout.null() && !copy_from_guest(thread, &limit, timeout.address, sizeof limit)) {
    return -EFAULT;
  }
  count = std::min<unsigned>(count, kMaxIovecs);
  std::vector<Message> messages(count);
  std::vector<mmsghdr> headers(count);
  unsigned prepared = 0;
  int error = 0;
  for (; prepared < count; prepared++) {
    uint64_t address = vector.address + prepared * sizeof(mmsghdr);
    error = prepare_receive(thread, address, messages[prepared]);
    if (error < 0) break;
    headers[prepared].msg_hdr = messages[prepared].header;
  }
  if (prepared == 0) return error;
  int host_flags = static_cast<int>(flags.value) | MSG_CMSG_CLOEXEC;
  int received =
      ::recvmmsg(host, headers.data(), prepared, host_flags, timeout.null() ? nullptr : &limit);
  if (received < 0) return -errno;
  // A message that cannot be written back ends the results there, as on Linux. The host
  // descriptors of the messages after it are closed.
  int finished = 0;
  bool failed = false;
  for (int i = 0; i < received; i++) {
    if (failed) {
      close_received(headers[i].msg_hdr);
      continue;
    }
    int result =
        finish_receive(thread, messages[i], headers[i].msg_hdr, static_cast<int>(flags.value));
    uint64_t field = vector.address + i * sizeof(mmsghdr) + offsetof(mmsghdr, msg_len);
    if (result < 0 ||
        !copy_to_guest(thread, field, &headers[i].msg_len, sizeof headers[i].msg_len)) {
      failed = true;
      continue;
    }
    finished++;
  }
  if (!timeout.null()) copy_to_guest(thread, timeout.address, &limit, sizeof limit);
  return finished > 0 ? finished : -EFAULT;
}

}  // namespace noah::syscall
