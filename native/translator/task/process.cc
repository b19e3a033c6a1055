#include "translator/task/process.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>

namespace noah {

Process::Process(const std::string& host_root, const Options& options)
    : options(options), system(page_tables), mm(page_tables), fs(host_root), pid(getpid()) {
  page_tables.attach(&vm);
  system.attach(vm);
  mm.attach(&vm);
  rlimit files_limit{};
  if (getrlimit(RLIMIT_NOFILE, &files_limit) == 0 && files_limit.rlim_cur != RLIM_INFINITY) {
    files.set_limit(static_cast<int>(files_limit.rlim_cur));
  }
}

void exit_process(Process& process, int status) {
  (void)process;
  _exit(status & 0xff);
}

void kill_process(Process& process, int signal) {
  (void)process;
  // No host core file: the guest's crash is not the translator's.
  rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  struct sigaction action {};
  action.sa_handler = SIG_DFL;
  sigaction(signal, &action, nullptr);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, signal);
  sigprocmask(SIG_UNBLOCK, &set, nullptr);
  raise(signal);
  _exit(128 + signal);
}

}  // namespace noah
