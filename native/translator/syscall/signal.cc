// Signal dispositions, masks, sending and waiting, and the timers that send signals. Every
// guest action and mask is mirrored onto the host (task/signal.h), so sending and waiting are
// host calls.
#include "translator/task/signal.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include "translator/syscall/fd.h"
#include "translator/syscall/guest.h"
#include "translator/syscall/handlers.h"

namespace noah::syscall {
namespace {

constexpr int kStackAutoDisarm = 1 << 31;  // SS_AUTODISARM, missing from glibc's headers
constexpr size_t kMinSignalStack = 2048;   // Linux's MINSIGSTKSZ on x86-64

int64_t host_result(long result) {
  return result < 0 ? -errno : result;
}

bool valid_signal(int signal) {
  return signal >= 1 && signal <= signals::kMaxSignal;
}

sigset_t host_set(uint64_t mask) {
  sigset_t set;
  sigemptyset(&set);
  for (int signal = 1; signal <= signals::kMaxSignal; signal++) {
    if (mask & signals::bit(signal)) sigaddset(&set, signal);
  }
  return set;
}

int read_mask(Thread& thread, uint64_t address, uint64_t size, uint64_t& mask) {
  if (size != 8) return -EINVAL;
  if (!copy_from_guest(thread, &mask, address, sizeof mask)) return -EFAULT;
  return 0;
}

// The CPU-fault signals are not mirrored to the host; one the guest sends itself is acted on
// here.
bool deliver_fault_signal_to_self(Thread& thread, int signal) {
  if (signal != SIGSEGV && signal != SIGBUS && signal != SIGFPE && signal != SIGILL &&
      signal != SIGTRAP) {
    return false;
  }
  const SignalAction& action = thread.process.signal_actions[signal];
  if (action.handler == 1) return true;
  // NOTE: Linux keeps a blocked one pending; it is dropped here.
  if (thread.signal_mask & signals::bit(signal)) return true;
  // The default action, through the translator's own default disposition (a sanitizer build
  // would otherwise report the signal as a crash of its own).
  if (action.handler == 0) kill_process(thread.process, signal);
  siginfo_t info{};
  info.si_signo = signal;
  info.si_code = SI_USER;
  info.si_pid = thread.process.pid;
  signals::deliver_now(thread, signal, info);
  thread.registers_replaced = true;
  return true;
}

}  // namespace

int64_t sys_kill(Thread& thread, int pid, int signal) {
  if (signal < 0 || signal > signals::kMaxSignal) return -EINVAL;
  if (pid == thread.process.pid && signal != 0 && deliver_fault_signal_to_self(thread, signal)) {
    return 0;
  }
  return host_result(::kill(pid, signal));
}

int64_t sys_tgkill(Thread& thread, int tgid, int tid, int signal) {
  if (signal < 0 || signal > signals::kMaxSignal || tgid <= 0 || tid <= 0) return -EINVAL;
  if (tid == thread.tid && signal != 0 && deliver_fault_signal_to_self(thread, signal)) return 0;
  // Signals 32 and 33 to a thread of this process would reach the translator's own glibc,
  // which uses them for cancellation and set*id and crashes on a request it did not make. The
  // guest's glibc sends 33 to run a set*id call on each thread, and skips a thread whose
  // tgkill fails. Credentials are process-wide here, so the skipped threads need no call.
  // NOTE: pthread_cancel of another thread (signal 32) therefore fails with ESRCH.
  if ((signal == 32 || signal == 33) && tgid == thread.process.pid) return -ESRCH;
  return host_result(::syscall(SYS_tgkill, tgid, tid, signal));
}

int64_t sys_tkill(Thread& thread, int tid, int signal) {
  return sys_tgkill(thread, thread.process.pid, tid, signal);
}

int64_t sys_rt_sigaction(Thread& thread, int signal, GuestPtr<void> action,
                         GuestPtr<void> old_action, uint64_t size) {
  if (size != 8) return -EINVAL;
  if (!valid_signal(signal)) return -EINVAL;
  SignalAction& current = thread.process.signal_actions[signal];
  SignalAction wanted;
  if (!action.null()) {
    if (signal == SIGKILL || signal == SIGSTOP) return -EINVAL;
    if (!copy_from_guest(thread, &wanted, action.address, sizeof wanted)) return -EFAULT;
  }
  if (!old_action.null() && !copy_to_guest(thread, old_action.address, &current, sizeof current)) {
    return -EFAULT;
  }
  if (!action.null()) {
    wanted.mask &= ~signals::kUnblockable;
    current = wanted;
    signals::apply_action(signal, current);
  }
  return 0;
}

int64_t sys_rt_sigprocmask(Thread& thread, int how, GuestPtr<uint64_t> set,
                           GuestPtr<uint64_t> old_set, uint64_t size) {
  if (size != 8) return -EINVAL;
  uint64_t old = thread.signal_mask;
  if (!set.null()) {
    uint64_t value;
    if (!read_guest(thread, set, value)) return -EFAULT;
    switch (how) {
      case SIG_BLOCK:
        thread.signal_mask |= value;
        break;
      case SIG_UNBLOCK:
        thread.signal_mask &= ~value;
        break;
      case SIG_SETMASK:
        thread.signal_mask = value;
        break;
      default:
        return -EINVAL;
    }
    thread.signal_mask &= ~signals::kUnblockable;
  }
  if (!old_set.null() && !write_guest(thread, old_set, old)) return -EFAULT;
  // Unblocking a signal that is pending on the host runs the translator's handler here; the
  // guest's handler then runs on the return from this call.
  if (!set.null()) signals::apply_mask(thread.signal_mask);
  return 0;
}

int64_t sys_rt_sigreturn(Thread& thread) {
  return signals::sigreturn(thread);
}

int64_t sys_rt_sigsuspend(Thread& thread, GuestPtr<uint64_t> set, uint64_t size) {
  uint64_t mask;
  int result = read_mask(thread, set.address, size, mask);
  if (result < 0) return result;
  mask &= ~signals::kUnblockable;
  thread.restore_mask_after_signal = thread.signal_mask;
  thread.signal_mask = mask;
  sigset_t host = host_set(mask);
  ::sigsuspend(&host);
  return -EINTR;
}

int64_t sys_pause(Thread& thread) {
  sigset_t host = host_set(thread.signal_mask);
  ::sigsuspend(&host);
  return -EINTR;
}

int64_t sys_rt_sigpending(Thread& thread, GuestPtr<uint64_t> set, uint64_t size) {
  if (size > 8) return -EINVAL;
  sigset_t host;
  if (::sigpending(&host) < 0) return -errno;
  uint64_t mask = signals::pending_mask();
  for (int signal = 1; signal <= signals::kMaxSignal; signal++) {
    if (sigismember(&host, signal) == 1) mask |= signals::bit(signal);
  }
  mask &= thread.signal_mask | signals::pending_mask();
  return copy_to_guest(thread, set.address, &mask, size) ? 0 : -EFAULT;
}

int64_t sys_rt_sigtimedwait(Thread& thread, GuestPtr<uint64_t> set, GuestPtr<void> info,
                            GuestPtr<void> timeout, uint64_t size) {
  uint64_t mask;
  int result = read_mask(thread, set.address, size, mask);
  if (result < 0) return result;
  timespec wait{};
  if (!timeout.null() && !copy_from_guest(thread, &wait, timeout.address, sizeof wait)) {
    return -EFAULT;
  }
  sigset_t host = host_set(mask);
  siginfo_t received{};
  int signal = ::sigtimedwait(&host, &received, timeout.null() ? nullptr : &wait);
  if (signal < 0) return -errno;
  if (!info.null() && !copy_to_guest(thread, info.address, &received, sizeof received)) {
    return -EFAULT;
  }
  return signal;
}

int64_t sys_rt_sigqueueinfo(Thread& thread, int pid, int signal, GuestPtr<void> info) {
  siginfo_t value;
  if (!copy_from_guest(thread, &value, info.address, sizeof value)) return -EFAULT;
  return host_result(::syscall(SYS_rt_sigqueueinfo, pid, signal, &value));
}

int64_t sys_rt_tgsigqueueinfo(Thread& thread, int tgid, int tid, int signal, GuestPtr<void> info) {
  siginfo_t value;
  if (!copy_from_guest(thread, &value, info.address, sizeof value)) return -EFAULT;
  return host_result(::syscall(SYS_rt_tgsigqueueinfo, tgid, tid, signal, &value));
}

int64_t sys_sigaltstack(Thread& thread, GuestPtr<void> stack, GuestPtr<void> old_stack) {
  stack_t old = thread.alternate_stack;
  if (!stack.null()) {
    stack_t wanted;
    if (!copy_from_guest(thread, &wanted, stack.address, sizeof wanted)) return -EFAULT;
    if (wanted.ss_flags & ~(SS_DISABLE | kStackAutoDisarm)) return -EINVAL;
    if (!(wanted.ss_flags & SS_DISABLE) && wanted.ss_size < kMinSignalStack) return -ENOMEM;
    thread.alternate_stack = wanted;
  }
  if (!old_stack.null() && !copy_to_guest(thread, old_stack.address, &old, sizeof old)) {
    return -EFAULT;
  }
  return 0;
}

int64_t sys_signalfd4(Thread& thread, int fd, GuestPtr<uint64_t> set, uint64_t size, Flags flags) {
  uint64_t mask;
  int result = read_mask(thread, set.address, size, mask);
  if (result < 0) return result;
  if (flags.value & ~uint64_t{SFD_CLOEXEC | SFD_NONBLOCK}) return -EINVAL;
  sigset_t host = host_set(mask);
  if (fd != -1) {
    int existing = host_fd(thread, fd);
    if (existing < 0) return existing;
    return host_result(::signalfd(existing, &host, 0)) < 0 ? -errno : fd;
  }
  int created = ::signalfd(-1, &host, static_cast<int>(flags.value) | SFD_CLOEXEC);
  if (created < 0) return -errno;
  return install_fd(thread, created, "", (flags.value & SFD_CLOEXEC) != 0);
}

int64_t sys_signalfd(Thread& thread, int fd, GuestPtr<uint64_t> set, uint64_t size) {
  return sys_signalfd4(thread, fd, set, size, Flags{0});
}

int64_t sys_alarm(Thread&, unsigned seconds) {
  return ::alarm(seconds);
}

int64_t sys_setitimer(Thread& thread, int which, GuestPtr<void> value, GuestPtr<void> old) {
  itimerval wanted{}, previous{};
  if (!value.null() && !copy_from_guest(thread, &wanted, value.address, sizeof wanted)) {
    return -EFAULT;
  }
  if (::setitimer(static_cast<__itimer_which>(which), &wanted, &previous) < 0) return -errno;
  if (!old.null() && !copy_to_guest(thread, old.address, &previous, sizeof previous)) {
    return -EFAULT;
  }
  return 0;
}

int64_t sys_getitimer(Thread& thread, int which, GuestPtr<void> value) {
  itimerval current{};
  if (::getitimer(static_cast<__itimer_which>(which), &current) < 0) return -errno;
  return copy_to_guest(thread, value.address, &current, sizeof current) ? 0 : -EFAULT;
}

int64_t sys_timer_create(Thread& thread, int clock, GuestPtr<void> event, GuestPtr<int> id) {
  sigevent value{};
  sigevent* pointer = nullptr;
  if (!event.null()) {
    if (!copy_from_guest(thread, &value, event.address, sizeof value)) return -EFAULT;
    pointer = &value;
  }
  int timer = 0;
  if (::syscall(SYS_timer_create, clock, pointer, &timer) < 0) return -errno;
  return write_guest(thread, id, timer) ? 0 : -EFAULT;
}

int64_t sys_timer_settime(Thread& thread, int id, Flags flags, GuestPtr<void> value,
                          GuestPtr<void> old) {
  itimerspec wanted{}, previous{};
  if (!copy_from_guest(thread, &wanted, value.address, sizeof wanted)) return -EFAULT;
  if (::syscall(SYS_timer_settime, id, flags.value, &wanted, &previous) < 0) return -errno;
  if (!old.null() && !copy_to_guest(thread, old.address, &previous, sizeof previous)) {
    return -EFAULT;
  }
  return 0;
}

int64_t sys_timer_gettime(Thread& thread, int id, GuestPtr<void> value) {
  itimerspec current{};
  if (::syscall(SYS_timer_gettime, id, &current) < 0) return -errno;
  return copy_to_guest(thread, value.address, &current, sizeof current) ? 0 : -EFAULT;
}

int64_t sys_timer_getoverrun(Thread&, int id) {
  return host_result(::syscall(SYS_timer_getoverrun, id));
}

int64_t sys_timer_delete(Thread&, int id) {
  return host_result(::syscall(SYS_timer_delete, id));
}

int64_t sys_timerfd_create(Thread& thread, int clock, Flags flags) {
  if (flags.value & ~uint64_t{TFD_CLOEXEC | TFD_NONBLOCK}) return -EINVAL;
  int created = ::timerfd_create(clock, static_cast<int>(flags.value) | TFD_CLOEXEC);
  if (created < 0) return -errno;
  return install_fd(thread, created, "", (flags.value & TFD_CLOEXEC) != 0);
}

int64_t sys_timerfd_settime(Thread& thread, int fd, Flags flags, GuestPtr<void> value,
                            GuestPtr<void> old) {
  int host = host_fd(thread, fd);
  if (host < 0) return host;
  itimerspec wanted{}, previous{};
  if (!copy_from_guest(thread, &wanted, value.address, sizeof wanted)) return -EFAULT;
  if (::timerfd_settime(host, static_cast<int>(flags.value), &wanted, &previous) < 0) {
    return -errno;
  }
  if (!old.null() && !copy_to_guest(thread, old.address, &previous, sizeof previous)) {
    return -EFAULT;
  }
  return 0;
}

int64_t sys_timerfd_gettime(Thread& thread, int fd, GuestPtr<void> value) {
  int host = host_fd(thread, fd);
  if (host < 0) return host;
  itimerspec current{};
  if (::timerfd_gettime(host, &current) < 0) return -errno;
  return copy_to_guest(thread, value.address, &current, sizeof current) ? 0 : -EFAULT;
}

}  // namespace noah::syscall
