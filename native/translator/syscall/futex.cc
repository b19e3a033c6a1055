// futex: guest futex words are host addresses (one address translation), so after the words
// are checked against the guest's mappings the host kernel's futex does the waiting and waking.
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

#include "translator/syscall/guest.h"
#include "translator/syscall/handlers.h"

namespace noah::syscall {

int64_t sys_futex(Thread& thread, GuestPtr<uint32_t> word, int operation, uint32_t value,
                  uint64_t timeout_or_value2, GuestPtr<uint32_t> word2, uint32_t value3) {
  int command = operation & FUTEX_CMD_MASK;
  // Every operation reads (and some write) the first word; it must be the guest's, aligned.
  if (word.address & 3) return -EINVAL;
  if (!thread.process.mm.check(word.address, 4, mm::kRead | mm::kWrite)) return -EFAULT;
  timespec timeout{};
  const timespec* timeout_pointer = nullptr;
  uint64_t fourth = timeout_or_value2;
  switch (command) {
    case FUTEX_WAIT:
    case FUTEX_WAIT_BITSET:
    case FUTEX_LOCK_PI:
    case FUTEX_LOCK_PI2:
    case FUTEX_WAIT_REQUEUE_PI:
      if (timeout_or_value2 != 0) {
        if (!copy_from_guest(thread, &timeout, timeout_or_value2, sizeof timeout)) return -EFAULT;
        timeout_pointer = &timeout;
      }
      fourth = reinterpret_cast<uint64_t>(timeout_pointer);
      break;
    case FUTEX_WAKE:
    case FUTEX_WAKE_BITSET:
    case FUTEX_UNLOCK_PI:
    case FUTEX_TRYLOCK_PI:
      break;
    case FUTEX_REQUEUE:
    case FUTEX_CMP_REQUEUE:
    case FUTEX_WAKE_OP:
    case FUTEX_CMP_REQUEUE_PI:
      break;
    default:
      return -ENOSYS;
  }
  bool uses_second_word = command == FUTEX_REQUEUE || command == FUTEX_CMP_REQUEUE ||
                          command == FUTEX_WAKE_OP || command == FUTEX_CMP_REQUEUE_PI ||
                          command == FUTEX_WAIT_REQUEUE_PI;
  if (uses_second_word) {
    if (word2.address & 3) return -EINVAL;
    if (!thread.process.mm.check(word2.address, 4, mm::kRead | mm::kWrite)) return -EFAULT;
  }
  long result = ::syscall(SYS_futex, word.address, operation, value, fourth,
                          uses_second_word ? word2.address : 0, value3);
  return result < 0 ? -errno : result;
}

}  // namespace noah::syscall
