// poll, select and epoll. Guest descriptor numbers are translated to host descriptors for the
// host's own poll; select is carried out with ppoll so host descriptors above FD_SETSIZE work.
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>

#include <cerrno>
#include <vector>

#include "translator/syscall/fd.h"
#include "translator/syscall/guest.h"
#include "translator/syscall/handlers.h"
#include "translator/task/signal.h"

namespace noah::syscall {
namespace {

constexpr uint64_t kMaxPollDescriptors = 1 << 20;

// The signal mask a call such as ppoll or pselect6 waits with, in place of the thread's own:
// the host waits with its translation, as the guest's call waits with the mask itself.
struct WaitMask {
  bool given = false;
  uint64_t mask = 0;
  sigset_t host;
};

int read_wait_mask(Thread& thread, uint64_t address, uint64_t size, WaitMask& out) {
  if (address == 0) return 0;
  if (size != 8) return -EINVAL;
  if (!copy_from_guest(thread, &out.mask, address, 8)) return -EFAULT;
  out.mask &= ~signals::kUnblockable;
  out.given = true;
  sigemptyset(&out.host);
  for (int signal = 1; signal <= signals::kMaxSignal; signal++) {
    if (out.mask & signals::bit(signal)) sigaddset(&out.host, signal);
  }
  return 0;
}

// After a wait with a temporary mask was interrupted, the handler runs with that mask and its
// frame saves the thread's own, as Linux does for ppoll, pselect6 and epoll_pwait.
int64_t finish_wait(Thread& thread, const WaitMask& wait, int64_t result) {
  if (wait.given && result == -EINTR) {
    thread.restore_mask_after_signal = thread.signal_mask;
    thread.signal_mask = wait.mask;
  }
  return result;
}

int64_t poll_guest(Thread& thread, uint64_t fds, uint64_t count, const timespec* timeout,
                   const WaitMask& wait = WaitMask{}) {
  if (count > kMaxPollDescriptors || count > static_cast<uint64_t>(thread.process.files.limit())) {
    return -EINVAL;
  }
  std::vector<pollfd> guest(count), host(count);
  if (!copy_from_guest(thread, guest.data(), fds, count * sizeof(pollfd))) return -EFAULT;
  if (!thread.process.mm.check(fds, count * sizeof(pollfd), mm::kWrite)) return -EFAULT;
  int invalid = 0;
  for (uint64_t i = 0; i < count; i++) {
    host[i] = guest[i];
    host[i].revents = 0;
    if (guest[i].fd < 0) continue;
    int fd = host_fd(thread, guest[i].fd);
    host[i].fd = fd < 0 ? -1 : fd;
    if (fd < 0) invalid++;
  }
  int ready = 0;
  // With a bad descriptor Linux returns at once, reporting POLLNVAL for it.
  timespec zero{0, 0};
  int result =
      ::ppoll(host.data(), count, invalid > 0 ? &zero : timeout, wait.given ? &wait.host : nullptr);
  if (result < 0) return finish_wait(thread, wait, -errno);
  for (uint64_t i = 0; i < count; i++) {
    guest[i].revents = host[i].revents;
    if (guest[i].fd >= 0 && host[i].fd < 0) guest[i].revents = POLLNVAL;
    if (guest[i].revents != 0) ready++;
  }
  copy_to_guest(thread, fds, guest.data(), count * sizeof(pollfd));
  return ready;
}

int64_t select_guest(Thread& thread, int count, uint64_t read_set, uint64_t write_set,
                     uint64_t except_set, const timespec* timeout,
                     const WaitMask& wait = WaitMask{}) {
  if (count < 0 || count > thread.process.files.limit()) return -EINVAL;
  uint64_t bytes = (static_cast<uint64_t>(count) + 63) / 64 * 8;
  std::vector<uint64_t> sets[3];
  uint64_t addresses[3] = {read_set, write_set, except_set};
  for (int s = 0; s < 3; s++) {
    sets[s].assign(bytes / 8, 0);
    if (addresses[s] != 0 && !copy_from_guest(thread, sets[s].data(), addresses[s], bytes)) {
      return -EFAULT;
    }
  }
  std::vector<pollfd> host;
  std::vector<int> guest_numbers;
  for (int fd = 0; fd < count; fd++) {
    short events = 0;
    bool in[3];
    for (int s = 0; s < 3; s++) in[s] = (sets[s][fd / 64] >> (fd % 64)) & 1;
    if (in[0]) events |= POLLIN;
    if (in[1]) events |= POLLOUT;
    if (in[2]) events |= POLLPRI;
    if (events == 0) continue;
    int h = host_fd(thread, fd);
    if (h < 0) return -EBADF;
    host.push_back(pollfd{h, events, 0});
    guest_numbers.push_back(fd);
  }
  int result = ::ppoll(host.data(), host.size(), timeout, wait.given ? &wait.host : nullptr);
  if (result < 0) return finish_wait(thread, wait, -errno);
  for (auto& set : sets) std::fill(set.begin(), set.end(), 0);
  int ready = 0;
  for (size_t i = 0; i < host.size(); i++) {
    int fd = guest_numbers[i];
    short r = host[i].revents;
    auto mark = [&](int s) {
      sets[s][fd / 64] |= 1ull << (fd % 64);
      ready++;
    };
    if ((host[i].events & POLLIN) && (r & (POLLIN | POLLHUP | POLLERR))) mark(0);
    if ((host[i].events & POLLOUT) && (r & (POLLOUT | POLLERR))) mark(1);
    if ((host[i].events & POLLPRI) && (r & POLLPRI)) mark(2);
  }
  for (int s = 0; s < 3; s++) {
    if (addresses[s] != 0 && !copy_to_guest(thread, addresses[s], sets[s].data(), bytes)) {
      return -EFAULT;
    }
  }
  return ready;
}

}  // namespace

int64_t sys_poll(Thread& thread, GuestPtr<void> fds, uint64_t count, int timeout_ms) {
  timespec timeout{timeout_ms / 1000, (timeout_ms % 1000) * 1000000L};
  return poll_guest(thread, fds.address, count, timeout_ms < 0 ? nullptr : &timeout);
}

int64_t sys_ppoll(Thread& thread, GuestPtr<void> fds, uint64_t count, GuestPtr<void> timeout,
                  GuestPtr<void> sigmask, uint64_t sigset_size) {
  WaitMask wait;
  int result = read_wait_mask(thread, sigmask.address, sigset_size, wait);
  if (result < 0) return result;
  timespec value;
  if (!timeout.null() && !copy_from_guest(thread, &value, timeout.address, sizeof value)) {
    return -EFAULT;
  }
  return poll_guest(thread, fds.address, count, timeout.null() ? nullptr : &value, wait);
}

int64_t sys_select(Thread& thread, int count, GuestPtr<void> read_set, GuestPtr<void> write_set,
                   GuestPtr<void> except_set, GuestPtr<void> timeout) {
  timeval value;
  timespec converted;
  if (!timeout.null()) {
    if (!copy_from_guest(thread, &value, timeout.address, sizeof value)) return -EFAULT;
    if (value.tv_sec < 0 || value.tv_usec < 0) return -EINVAL;
    converted = {value.tv_sec + value.tv_usec / 1000000, (value.tv_usec % 1000000) * 1000};
  }
  return select_guest(thread, count, read_set.address, write_set.address, except_set.address,
                      timeout.null() ? nullptr : &converted);
}

int64_t sys_pselect6(Thread& thread, int count, GuestPtr<void> read_set, GuestPtr<void> write_set,
                     GuestPtr<void> except_set, GuestPtr<void> timeout, GuestPtr<void> sigmask) {
  // The sixth argument points to {const sigset_t* set; size_t size}.
  WaitMask wait;
  if (!sigmask.null()) {
    uint64_t pair[2];
    if (!copy_from_guest(thread, pair, sigmask.address, sizeof pair)) return -EFAULT;
    int result = read_wait_mask(thread, pair[0], pair[1], wait);
    if (result < 0) return result;
  }
  timespec value;
  if (!timeout.null() && !copy_from_guest(thread, &value, timeout.address, sizeof value)) {
    return -EFAULT;
  }
  return select_guest(thread, count, read_set.address, write_set.address, except_set.address,
                      timeout.null() ? nullptr : &value, wait);
}

int64_t sys_epoll_create(Thread& thread, int size) {
  if (size <= 0) return -EINVAL;
  return sys_epoll_create1(thread, Flags{0});
}

int64_t sys_epoll_create1(Thread& thread, Flags flags) {
  if (flags.value & ~uint64_t{EPOLL_CLOEXEC}) return -EINVAL;
  int host = ::epoll_create1(EPOLL_CLOEXEC);
  if (host < 0) return -errno;
  return install_fd(thread, host, "", (flags.value & EPOLL_CLOEXEC) != 0);
}

int64_t sys_epoll_ctl(Thread& thread, int epfd, int op, int fd, GuestPtr<void> event) {
  int host_epoll = host_fd(thread, epfd);
  if (host_epoll < 0) return host_epoll;
  int host = host_fd(thread, fd);
  if (host < 0) return host;
  epoll_event value{};
  if (op != EPOLL_CTL_DEL && !copy_from_guest(thread, &value, event.address, sizeof value)) {
    return -EFAULT;
  }
  return ::epoll_ctl(host_epoll, op, host, &value) < 0 ? -errno : 0;
}

int64_t sys_epoll_wait(Thread& thread, int epfd, GuestPtr<void> events, int max, int timeout_ms) {
  return sys_epoll_pwait(thread, epfd, events, max, timeout_ms, GuestPtr<void>{0}, 8);
}

int64_t sys_epoll_pwait(Thread& thread, int epfd, GuestPtr<void> events, int max, int timeout_ms,
                        GuestPtr<void> sigmask, uint64_t sigset_size) {
  WaitMask wait;
  int mask_result = read_wait_mask(thread, sigmask.address, sigset_size, wait);
  if (mask_result < 0) return mask_result;
  int host_epoll = host_fd(thread, epfd);
  if (host_epoll < 0) return host_epoll;
  if (max <= 0 || max > 1 << 20) return -EINVAL;
  if (!thread.process.mm.check(events.address, max * sizeof(epoll_event), mm::kWrite)) {
    return -EFAULT;
  }
  int result = ::epoll_pwait(host_epoll, reinterpret_cast<epoll_event*>(events.address), max,
                             timeout_ms, wait.given ? &wait.host : nullptr);
  return result < 0 ? finish_wait(thread, wait, -errno) : result;
}

}  // namespace noah::syscall
