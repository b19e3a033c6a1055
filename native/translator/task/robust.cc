#include "translator/task/robust.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <shared_mutex>

#include "translator/task/process.h"

namespace noah {
namespace {

// Linux's ROBUST_LIST_LIMIT: a bound on a list the guest may have made circular.
constexpr int kMaxEntries = 2048;

struct RobustListHead {
  uint64_t next;
  int64_t futex_offset;
  uint64_t pending;
};

bool read_word(const mm::AddressSpace& mm, uint64_t address, uint64_t& value) {
  if (!mm.check_locked(address, sizeof value, mm::kRead)) return false;
  value = *reinterpret_cast<const uint64_t*>(address);
  return true;
}

// Marks one futex word owned by `tid` as owner-died and wakes a waiter.
void release_word(const mm::AddressSpace& mm, uint64_t address, pid_t tid) {
  if ((address & 3) || !mm.check_locked(address, 4, mm::kRead | mm::kWrite)) return;
  auto* word = reinterpret_cast<std::atomic<uint32_t>*>(address);
  uint32_t value = word->load();
  while ((value & FUTEX_TID_MASK) == static_cast<uint32_t>(tid)) {
    uint32_t died = (value & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
    if (word->compare_exchange_weak(value, died)) {
      if (value & FUTEX_WAITERS) syscall(SYS_futex, address, FUTEX_WAKE, 1, nullptr, nullptr, 0);
      return;
    }
  }
}

}  // namespace

void release_robust_futexes(Thread& thread) {
  if (thread.robust_list == 0) return;
  const mm::AddressSpace& mm = thread.process.mm;
  std::shared_lock lock(mm.mutex());
  if (!mm.check_locked(thread.robust_list, sizeof(RobustListHead), mm::kRead)) return;
  RobustListHead head = *reinterpret_cast<const RobustListHead*>(thread.robust_list);
  uint64_t entry = head.next;
  for (int i = 0; i < kMaxEntries && entry != thread.robust_list && entry != 0; i++) {
    uint64_t next;
    if (!read_word(mm, entry, next)) break;
    // The entry being added or removed right now is handled below, once.
    if (entry != head.pending) release_word(mm, entry + head.futex_offset, thread.tid);
    entry = next;
  }
  if (head.pending != 0) release_word(mm, head.pending + head.futex_offset, thread.tid);
  thread.robust_list = 0;
}

void release_all_robust_futexes(Process& process) {
  for (Thread* thread : process.live_thread_list()) release_robust_futexes(*thread);
}

}  // namespace noah
