// Robust futex lists (set_robust_list): when a thread ends, every futex it still owns is
// marked FUTEX_OWNER_DIED and one waiter is woken, so a robust mutex's next locker gets
// EOWNERDEAD instead of waiting for ever, as Linux does in exit_robust_list().
#pragma once

namespace noah {
class Thread;
class Process;

// Releases the robust futexes of `thread`.
void release_robust_futexes(Thread& thread);
// Releases those of every thread of `process`, as the process ends.
void release_all_robust_futexes(Process& process);

}  // namespace noah
