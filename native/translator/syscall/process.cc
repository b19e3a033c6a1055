// Limits and process-wide state. The guest's ids and capabilities are in credentials.cc.
#include <linux/capability.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/times.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "translator/syscall/guest.h"
#include "translator/syscall/handlers.h"
#include "translator/task/robust.h"
#include "translator/util/log.h"
#include "translator/vfs/registry.h"

namespace noah::syscall {
namespace {

constexpr int kArchSetGs = 0x1001, kArchSetFs = 0x1002, kArchGetFs = 0x1003, kArchGetGs = 0x1004;
constexpr int kArchGetCpuid = 0x1011, kArchSetCpuid = 0x1012;

int64_t host_result(long result) {
  return result < 0 ? -errno : result;
}

bool own_pid(Thread& thread, int pid) {
  return pid == 0 || pid == thread.process.pid || pid == thread.tid;
}

}  // namespace

int64_t sys_exit(Thread& thread, int status) {
  Process& process = thread.process;
  if (process.live_threads.fetch_sub(1) == 1) exit_process(process, status);
  release_robust_futexes(thread);
  // CLONE_CHILD_CLEARTID: zero the thread id word and wake a joiner waiting on it.
  if (thread.clear_child_tid != 0 &&
      write_guest(thread, GuestPtr<int32_t>{thread.clear_child_tid}, 0)) {
    ::syscall(SYS_futex, thread.clear_child_tid, FUTEX_WAKE, 1, nullptr, nullptr, 0);
  }
  thread.exited = true;
  pthread_exit(nullptr);
}

int64_t sys_exit_group(Thread& thread, int status) {
  exit_process(thread.process, status);
}

int64_t sys_getpid(Thread& thread) {
  return thread.process.pid;
}
int64_t sys_getppid(Thread&) {
  // TODO: guest pids are host pids with no PID namespace, so the first process of a container
  // gets its host parent here while /proc shows 0, and no process is PID 1.
  return getppid();
}
int64_t sys_gettid(Thread& thread) {
  return thread.tid;
}
int64_t sys_getpgid(Thread&, int pid) {
  return host_result(::getpgid(pid));
}
int64_t sys_getpgrp(Thread&) {
  return ::getpgrp();
}
int64_t sys_setpgid(Thread&, int pid, int pgid) {
  return host_result(::setpgid(pid, pgid));
}
int64_t sys_getsid(Thread&, int pid) {
  return host_result(::getsid(pid));
}
int64_t sys_setsid(Thread&) {
  return host_result(::setsid());
}

int64_t sys_uname(Thread& thread, GuestPtr<void> buffer) {
  utsname name{};
  if (::uname(&name) < 0) return -errno;
  // The guest gets a Linux of its own: a recent kernel version, whatever the host runs.
  strncpy(name.sysname, "Linux", sizeof name.sysname - 1);
  strncpy(name.release, "6.1.0-noah", sizeof name.release - 1);
  strncpy(name.version, "#1 SMP PREEMPT_DYNAMIC noah", sizeof name.version - 1);
  strncpy(name.machine, "x86_64", sizeof name.machine - 1);
  const std::string& hostname = thread.process.options.hostname;
  if (!hostname.empty()) {
    memset(name.nodename, 0, sizeof name.nodename);
    strncpy(name.nodename, hostname.c_str(), sizeof name.nodename - 1);
  }
  if (!copy_to_guest(thread, buffer.address, &name, sizeof name)) return -EFAULT;
  return 0;
}

int64_t sys_sethostname(Thread&, GuestPtr<char>, uint64_t) {
  // TODO: a hostname of the container's own; the host's stays as it is.
  return -EPERM;
}

int64_t sys_sysinfo(Thread& thread, GuestPtr<void> info) {
  struct sysinfo value {};
  if (::sysinfo(&value) < 0) return -errno;
  if (!copy_to_guest(thread, info.address, &value, sizeof value)) return -EFAULT;
  return 0;
}

int64_t sys_getrlimit(Thread& thread, int resource, GuestPtr<void> limit) {
  rlimit value;
  if (::getrlimit(static_cast<__rlimit_resource>(resource), &value) < 0) return -errno;
  if (!copy_to_guest(thread, limit.address, &value, sizeof value)) return -EFAULT;
  return 0;
}

int64_t sys_setrlimit(Thread& thread, int resource, GuestPtr<void> limit) {
  return sys_prlimit64(thread, 0, resource, limit, GuestPtr<void>{0});
}

int64_t sys_prlimit64(Thread& thread, int pid, int resource, GuestPtr<void> new_limit,
                      GuestPtr<void> old_limit) {
  if (!own_pid(thread, pid)) return -EPERM;
  rlimit wanted, old;
  rlimit* wanted_pointer = nullptr;
  if (!new_limit.null()) {
    if (!copy_from_guest(thread, &wanted, new_limit.address, sizeof wanted)) return -EFAULT;
    wanted_pointer = &wanted;
  }
  if (::prlimit(0, static_cast<__rlimit_resource>(resource), wanted_pointer, &old) < 0) {
    return -errno;
  }
  if (resource == RLIMIT_NOFILE && wanted_pointer != nullptr && wanted.rlim_cur != RLIM_INFINITY) {
    thread.process.files.set_limit(static_cast<int>(wanted.rlim_cur));
  }
  if (!old_limit.null() && !copy_to_guest(thread, old_limit.address, &old, sizeof old)) {
    return -EFAULT;
  }
  return 0;
}

int64_t sys_getrusage(Thread& thread, int who, GuestPtr<void> usage) {
  rusage value;
  if (::getrusage(who, &value) < 0) return -errno;
  if (!copy_to_guest(thread, usage.address, &value, sizeof value)) return -EFAULT;
  return 0;
}

int64_t sys_times(Thread& thread, GuestPtr<void> buffer) {
  tms value;
  clock_t now = ::times(&value);
  if (!buffer.null() && !copy_to_guest(thread, buffer.address, &value, sizeof value)) {
    return -EFAULT;
  }
  return now;
}

int64_t sys_prctl(Thread& thread, int option, uint64_t arg2, uint64_t, uint64_t, uint64_t) {
  switch (option) {
    case PR_SET_NAME: {
      std::string name;
      char buffer[16] = {};
      if (!copy_from_guest(thread, buffer, arg2, 1)) return -EFAULT;
      int result = read_string(thread, arg2, name, 4095);
      if (result < 0) return result;
      thread.process.comm = name.substr(0, 15);
      vfs::registry::publish(thread.process);
      return 0;
    }
    case PR_GET_NAME: {
      char buffer[16] = {};
      memcpy(buffer, thread.process.comm.c_str(), std::min<size_t>(15, thread.process.comm.size()));
      return copy_to_guest(thread, arg2, buffer, sizeof buffer) ? 0 : -EFAULT;
    }
    case PR_SET_PDEATHSIG:
    case PR_SET_CHILD_SUBREAPER:
    case PR_SET_NO_NEW_PRIVS:
    case PR_SET_DUMPABLE:
      return host_result(::prctl(option, arg2, 0, 0, 0));
    case PR_GET_DUMPABLE:
    case PR_GET_NO_NEW_PRIVS:
      return host_result(::prctl(option, 0, 0, 0, 0));
    case PR_SET_KEEPCAPS:
      return prctl_set_keep_capabilities(thread, arg2);
    case PR_GET_KEEPCAPS:
      return prctl_get_keep_capabilities(thread);
    case PR_CAPBSET_READ:
      return arg2 <= CAP_LAST_CAP ? 1 : -EINVAL;
    default:
      return -EINVAL;
  }
}

int64_t sys_arch_prctl(Thread& thread, int code, uint64_t address) {
  switch (code) {
    case kArchSetFs:
    case kArchSetGs:
      if (address >= mm::kUserEnd) return -EPERM;
      thread.vcpu->set_msr(code == kArchSetFs ? arch::kMsrFsBase : arch::kMsrGsBase, address);
      return 0;
    case kArchGetFs:
    case kArchGetGs: {
      uint64_t base =
          thread.vcpu->get_msr(code == kArchGetFs ? arch::kMsrFsBase : arch::kMsrGsBase);
      return write_guest(thread, GuestPtr<uint64_t>{address}, base) ? 0 : -EFAULT;
    }
    case kArchGetCpuid:
      return 1;
    case kArchSetCpuid:
      return -ENODEV;
    default:
      return -EINVAL;
  }
}

int64_t sys_set_tid_address(Thread& thread, uint64_t address) {
  thread.clear_child_tid = address;
  return thread.tid;
}

int64_t sys_set_robust_list(Thread& thread, uint64_t head, uint64_t length) {
  if (length != 24) return -EINVAL;  // sizeof(struct robust_list_head)
  thread.robust_list = head;
  return 0;
}

int64_t sys_get_robust_list(Thread& thread, int pid, GuestPtr<uint64_t> head,
                            GuestPtr<uint64_t> length) {
  if (!own_pid(thread, pid)) return -ESRCH;
  if (!write_guest(thread, head, thread.robust_list) ||
      !write_guest(thread, length, uint64_t{24})) {
    return -EFAULT;
  }
  return 0;
}

int64_t sys_getrandom(Thread& thread, GuestPtr<void> buffer, uint64_t length, Flags flags) {
  if (flags.value & ~uint64_t{GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE}) return -EINVAL;
  if (!thread.process.mm.check(buffer.address, length, mm::kWrite)) return -EFAULT;
  return host_result(::getrandom(reinterpret_cast<void*>(buffer.address), length,
                                 static_cast<unsigned>(flags.value)));
}

int64_t sys_getcpu(Thread& thread, GuestPtr<unsigned> cpu, GuestPtr<unsigned> node, uint64_t) {
  unsigned host_cpu = 0, host_node = 0;
  if (::getcpu(&host_cpu, &host_node) < 0) return -errno;
  if (!cpu.null() && !write_guest(thread, cpu, host_cpu)) return -EFAULT;
  if (!node.null() && !write_guest(thread, node, host_node)) return -EFAULT;
  return 0;
}

int64_t sys_sched_yield(Thread&) {
  return host_result(::sched_yield());
}

int64_t sys_sched_getaffinity(Thread& thread, int pid, uint64_t size, GuestPtr<void> mask) {
  if (!own_pid(thread, pid)) return -ESRCH;
  if (size < sizeof(cpu_set_t) / 16 || (size & 7)) return -EINVAL;
  cpu_set_t set;
  if (::sched_getaffinity(0, sizeof set, &set) < 0) return -errno;
  uint64_t count = std::min<uint64_t>(size, sizeof set);
  if (!copy_to_guest(thread, mask.address, &set, count)) return -EFAULT;
  return static_cast<int64_t>(count);
}

int64_t sys_sched_setaffinity(Thread& thread, int pid, uint64_t size, GuestPtr<void> mask) {
  if (!own_pid(thread, pid)) return -ESRCH;
  cpu_set_t set{};
  if (!copy_from_guest(thread, &set, mask.address, std::min<uint64_t>(size, sizeof set))) {
    return -EFAULT;
  }
  return host_result(::sched_setaffinity(0, sizeof set, &set));
}

int64_t sys_sched_getscheduler(Thread& thread, int pid) {
  return own_pid(thread, pid) ? SCHED_OTHER : -ESRCH;
}

int64_t sys_sched_getparam(Thread& thread, int pid, GuestPtr<int> param) {
  if (!own_pid(thread, pid)) return -ESRCH;
  return write_guest(thread, param, 0) ? 0 : -EFAULT;
}

int64_t sys_sched_get_priority_max(Thread&, int policy) {
  return host_result(::sched_get_priority_max(policy));
}

int64_t sys_sched_get_priority_min(Thread&, int policy) {
  return host_result(::sched_get_priority_min(policy));
}

int64_t sys_getpriority(Thread&, int which, int who) {
  errno = 0;
  int value = ::getpriority(static_cast<__priority_which>(which), who);
  if (value == -1 && errno != 0) return -errno;
  return 20 - value;  // the raw system call returns 20 - nice
}

int64_t sys_setpriority(Thread&, int which, int who, int priority) {
  return host_result(::setpriority(static_cast<__priority_which>(which), who, priority));
}

}  // namespace noah::syscall
