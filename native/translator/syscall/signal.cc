// Signal dispositions, masks and sending. Until signal delivery exists, a signal the guest
// sends to itself takes its default action or is ignored.
#include <signal.h>

#include <cerrno>

#include "translator/syscall/guest.h"
#include "translator/syscall/handlers.h"

namespace noah::syscall {
namespace {

constexpr int kMaxSignal = 64;
constexpr int kStackAutoDisarm = 1 << 31;  // SS_AUTODISARM, missing from glibc's headers
constexpr size_t kMinSignalStack = 2048;   // Linux's MINSIGSTKSZ on x86-64
constexpr uint64_t kUnblockable = (1ull << (SIGKILL - 1)) | (1ull << (SIGSTOP - 1));

// Signals whose default action is to do nothing.
bool ignored_by_default(int signal) {
  return signal == SIGCHLD || signal == SIGURG || signal == SIGWINCH || signal == SIGCONT;
}

int64_t signal_self(Thread& thread, int signal) {
  if (signal == 0) return 0;
  const SignalAction& action = thread.process.signal_actions[signal];
  bool blocked = (thread.signal_mask >> (signal - 1)) & 1;
  if (action.handler == 1 /* SIG_IGN */ || blocked) return 0;
  if (action.handler == 0 /* SIG_DFL */) {
    if (ignored_by_default(signal)) return 0;
    kill_process(thread.process, signal);
  }
  // TODO: run the guest's handler once signal frames exist; it is dropped for now.
  return 0;
}

}  // namespace

int64_t sys_kill(Thread& thread, int pid, int signal) {
  if (signal < 0 || signal > kMaxSignal) return -EINVAL;
  if (pid == thread.process.pid) return signal_self(thread, signal);
  return ::kill(pid, signal) < 0 ? -errno : 0;
}

int64_t sys_tgkill(Thread& thread, int tgid, int tid, int signal) {
  if (signal < 0 || signal > kMaxSignal || tgid <= 0 || tid <= 0) return -EINVAL;
  if (tgid != thread.process.pid || tid != thread.tid) return -ESRCH;
  return signal_self(thread, signal);
}

int64_t sys_tkill(Thread& thread, int tid, int signal) {
  return sys_tgkill(thread, thread.process.pid, tid, signal);
}

int64_t sys_rt_sigaction(Thread& thread, int signal, GuestPtr<void> action,
                         GuestPtr<void> old_action, uint64_t size) {
  if (size != 8) return -EINVAL;
  if (signal < 1 || signal > kMaxSignal) return -EINVAL;
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
    wanted.mask &= ~kUnblockable;
    current = wanted;
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
    thread.signal_mask &= ~kUnblockable;
  }
  if (!old_set.null() && !write_guest(thread, old_set, old)) return -EFAULT;
  return 0;
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

}  // namespace noah::syscall
