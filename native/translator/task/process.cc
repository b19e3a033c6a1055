#include "translator/task/process.h"

#include <sys/resource.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <new>

#include "translator/task/robust.h"
#include "translator/task/signal.h"
#include "translator/util/die.h"
#include "translator/util/stats.h"
#include "translator/vfs/registry.h"

namespace noah {

Process::Process(const std::string& host_root, const Options& options)
    : options(options),
      system(page_tables),
      mm(page_tables),
      vm(std::make_unique<kvm::Vm>()),
      fs(host_root),
      pid(getpid()) {
  page_tables.attach(vm.get());
  system.attach(*vm);
  mm.attach(vm.get());
  for (const auto& leaf : vm->supported_cpuid()) {
    if (leaf.function == 0xd && leaf.index == 0) {
      xcr0 = ((uint64_t{leaf.edx} << 32) | leaf.eax) | 3;
      // ECX: the XSAVE area size for every supported feature; the kvm_xsave region is 4 KiB.
      if (leaf.ecx >= 576 && leaf.ecx <= 4096) xstate_size = leaf.ecx;
    }
  }
  rlimit files_limit{};
  if (getrlimit(RLIMIT_NOFILE, &files_limit) == 0 && files_limit.rlim_cur != RLIM_INFINITY) {
    files.set_limit(static_cast<int>(files_limit.rlim_cur));
  }
}

void Process::rebuild_vm_after_fork(Thread& thread) {
  stats::reset();
  pid = getpid();
  thread.tid = static_cast<pid_t>(gettid());
  // Closing the inherited descriptors leaves the parent's VM as it is.
  thread.vcpu.reset();
  // /dev/kvm is the translator's to open, whatever the guest's ids.
  credentials::OwnIdentity own_identity;
  vm = std::make_unique<kvm::Vm>();
  page_tables.attach(vm.get());
  system.attach(*vm);
  mm.attach(vm.get());
  thread.attach_new_vcpu();
  signals::retarget(thread);
}

void Process::reset_locks_after_fork() {
  mm.reset_lock_after_fork();
  files.reset_lock_after_fork();
  fs.reset_lock_after_fork();
  credentials.reset_lock_after_fork();
  new (&threads_mutex) std::mutex();
}

std::vector<Thread*> Process::live_thread_list() {
  std::vector<Thread*> result;
  if (main_thread != nullptr && !main_thread->exited) result.push_back(main_thread);
  std::lock_guard lock(threads_mutex);
  for (const auto& thread : threads) {
    if (!thread->exited) result.push_back(thread.get());
  }
  return result;
}

void Process::release_vfork_parent() {
  if (vfork_tracking) {
    // The parent waits for the pipe to close, so its memory is not in use meanwhile.
    std::vector<iovec> pages;
    for (uint64_t page : vfork_dirty_pages) {
      pages.push_back(iovec{reinterpret_cast<void*>(page), mm::kPageSize});
    }
    for (size_t done = 0; done < pages.size(); done += IOV_MAX) {
      size_t count = std::min<size_t>(IOV_MAX, pages.size() - done);
      // NOTE: where the host forbids writing another process's memory (Yama's ptrace scope),
      // the parent does not see the child's writes, as before this copy existed.
      process_vm_writev(getppid(), &pages[done], count, &pages[done], count, 0);
    }
    vfork_tracking = false;
    vfork_dirty_pages.clear();
  }
  if (vfork_done_fd >= 0) {
    close(vfork_done_fd);
    vfork_done_fd = -1;
  }
}

void exit_process(Process& process, int status) {
  vfs::registry::unpublish();
  process.release_vfork_parent();
  release_all_robust_futexes(process);
  stats::print();
  _exit(status & 0xff);
}

void kill_process(Process& process, int signal) {
  vfs::registry::unpublish();
  process.release_vfork_parent();
  release_all_robust_futexes(process);
  stats::print();
  die_by_signal(signal);
}

}  // namespace noah
