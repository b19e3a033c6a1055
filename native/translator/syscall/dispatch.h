#pragma once

#include <cstdint>

namespace noah {
class Thread;
}

namespace noah::syscall {

// Runs system call `number` with raw `args` for `thread` and returns the value for rax: the
// result, or -errno. Traces the call when tracing is on.
int64_t dispatch(Thread& thread, uint64_t number, const uint64_t args[6]);

}  // namespace noah::syscall
