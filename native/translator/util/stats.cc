#include "translator/util/stats.h"

#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "translator/syscall/table.h"
#include "translator/util/log.h"

namespace noah::stats {
namespace {

struct Counter {
  uint64_t count = 0;
  uint64_t nanoseconds = 0;
};

Counter syscalls[syscall::kMaxSyscall + 1];
Counter exits[64];
uint64_t start_ns = now_ns();

const char* exit_name(size_t reason) {
  switch (reason) {
    case 2:
      return "io (syscalls and exceptions)";
    case 5:
      return "hlt";
    case 6:
      return "mmio";
    case 8:
      return "shutdown";
    case 10:
      return "intr";
    case 17:
      return "internal error";
    default:
      return "other";
  }
}

}  // namespace

bool enabled = false;

void record_syscall(uint64_t number, uint64_t nanoseconds) {
  Counter& counter = syscalls[std::min<uint64_t>(number, syscall::kMaxSyscall)];
  counter.count++;
  counter.nanoseconds += nanoseconds;
}

void record_run(uint32_t exit_reason, uint64_t nanoseconds) {
  Counter& counter = exits[std::min<uint32_t>(exit_reason, 63)];
  counter.count++;
  counter.nanoseconds += nanoseconds;
}

void reset() {
  for (Counter& counter : syscalls) counter = Counter{};
  for (Counter& counter : exits) counter = Counter{};
  start_ns = now_ns();
}

void print() {
  if (!enabled) return;
  uint64_t total = now_ns() - start_ns;
  uint64_t in_run = 0, in_calls = 0, calls = 0;
  for (const Counter& counter : exits) in_run += counter.nanoseconds;
  for (const Counter& counter : syscalls) {
    in_calls += counter.nanoseconds;
    calls += counter.count;
  }
  pid_t pid = getpid();
  log::info(
      "stats [%d]: %.3f ms in all, %.3f ms in KVM_RUN (guest code, exits, entries), "
      "%.3f ms in system call handlers, %llu calls",
      pid, total / 1e6, in_run / 1e6, in_calls / 1e6, static_cast<unsigned long long>(calls));
  for (size_t reason = 0; reason < 64; reason++) {
    if (exits[reason].count == 0) continue;
    log::info("stats [%d]: exit %-28s %8llu  %10.3f ms", pid, exit_name(reason),
              static_cast<unsigned long long>(exits[reason].count),
              exits[reason].nanoseconds / 1e6);
  }
  std::vector<size_t> order;
  for (size_t number = 0; number <= syscall::kMaxSyscall; number++) {
    if (syscalls[number].count > 0) order.push_back(number);
  }
  std::sort(order.begin(), order.end(),
            [](size_t a, size_t b) { return syscalls[a].nanoseconds > syscalls[b].nanoseconds; });
  for (size_t number : order) {
    const char* name = syscall::name_of(number);
    log::info("stats [%d]: call %-22s %8llu  %10.3f ms", pid,
              name != nullptr ? name : std::to_string(number).c_str(),
              static_cast<unsigned long long>(syscalls[number].count),
              syscalls[number].nanoseconds / 1e6);
  }
}

}  // namespace noah::stats
