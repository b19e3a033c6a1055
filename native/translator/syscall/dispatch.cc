#include "translator/syscall/dispatch.h"

#include <fcntl.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <string>

#include "translator/syscall/guest.h"
#include "translator/syscall/table.h"
#include "translator/task/credentials.h"
#include "translator/task/process.h"
#include "translator/util/log.h"
#include "translator/util/stats.h"

namespace noah::syscall {
namespace {

void append_quoted(std::string& out, const std::string& value) {
  out += '"';
  for (size_t i = 0; i < value.size() && i < 64; i++) {
    unsigned char c = static_cast<unsigned char>(value[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char escaped[8];
      snprintf(escaped, sizeof escaped, "\\x%02x", c);
      out += escaped;
    }
  }
  out += value.size() > 64 ? "\"..." : "\"";
}

std::string format_call(Thread& thread, uint64_t number, const Entry* entry,
                        const uint64_t args[6]) {
  std::string out;
  const char* name = entry != nullptr ? entry->name : nullptr;
  out += name != nullptr ? name : "syscall_" + std::to_string(number);
  out += '(';
  int argc = (entry != nullptr && entry->handler != nullptr) ? entry->argc : 6;
  for (int i = 0; i < argc; i++) {
    if (i > 0) out += ", ";
    ArgKind kind =
        (entry != nullptr && entry->handler != nullptr) ? entry->kinds[i] : ArgKind::kHex;
    char buffer[32];
    switch (kind) {
      case ArgKind::kSigned:
        out += std::to_string(static_cast<int64_t>(args[i]));
        break;
      case ArgKind::kSigned32:
        out += std::to_string(static_cast<int32_t>(args[i]));
        break;
      case ArgKind::kUnsigned:
        out += std::to_string(args[i]);
        break;
      case ArgKind::kDirFd:
        if (static_cast<int>(args[i]) == AT_FDCWD) {
          out += "AT_FDCWD";
        } else {
          out += std::to_string(static_cast<int>(args[i]));
        }
        break;
      case ArgKind::kString: {
        std::string value;
        if (read_string(thread, args[i], value) == 0) {
          append_quoted(out, value);
          break;
        }
        [[fallthrough]];
      }
      case ArgKind::kHex:
      case ArgKind::kPointer:
        if (args[i] == 0 && kind == ArgKind::kPointer) {
          out += "NULL";
        } else {
          snprintf(buffer, sizeof buffer, "%#llx", static_cast<unsigned long long>(args[i]));
          out += buffer;
        }
        break;
    }
  }
  out += ')';
  return out;
}

// Writes one trace line. The thread id is taken now: a forked child reports its own.
void trace_result(Thread& thread, std::string call, int64_t result) {
  call.insert(0, "[" + std::to_string(thread.tid) + "] ");
  if (result < 0 && result > -4096) {
    const char* name = strerrorname_np(static_cast<int>(-result));
    call += " = -1 ";
    call += name != nullptr ? name : std::to_string(-result);
    call += " (";
    call += strerror(static_cast<int>(-result));
    call += ")";
  } else if (result > 0xffff) {
    char buffer[32];
    snprintf(buffer, sizeof buffer, " = %#llx", static_cast<unsigned long long>(result));
    call += buffer;
  } else {
    call += " = " + std::to_string(result);
  }
  log::info("%s", call.c_str());
}

// Logs each unimplemented system call once per name, with --trace or NOAH_DEBUG=1 only: the
// program's stderr is its own, and many programs probe for calls Linux may lack.
void report_unimplemented(uint64_t number, bool trace) {
  static const bool debug =
      getenv("NOAH_DEBUG") != nullptr && std::string(getenv("NOAH_DEBUG")) == "1";
  if (!trace && !debug) return;
  static std::mutex mutex;
  static std::set<uint64_t> reported;
  std::lock_guard lock(mutex);
  if (!reported.insert(number).second) return;
  const char* name = name_of(number);
  log::error("unimplemented system call %s (%llu): returning ENOSYS",
             name != nullptr ? name : "unknown", static_cast<unsigned long long>(number));
}

}  // namespace

int64_t dispatch(Thread& thread, uint64_t number, const uint64_t args[6]) {
  // The host checks the call's file access with the guest's ids as they are now, which a set*id
  // call on another thread may have changed since this thread's last call.
  credentials::follow(thread.process.credentials);
  const Entry* entry = lookup(number);
  bool trace = thread.process.options.trace;
  std::string call;
  if (trace) call = format_call(thread, number, entry, args);
  int64_t result;
  if (entry == nullptr || entry->handler == nullptr) {
    if (entry == nullptr || entry->support == Support::kMissing)
      report_unimplemented(number, trace);
    result = -ENOSYS;
  } else {
    // exit and exit_group never return, so their line is written first.
    if (trace && (number == 60 || number == 231)) {
      log::info("[%d] %s = ?", thread.tid, call.c_str());
    }
    uint64_t started = stats::enabled ? stats::now_ns() : 0;
    pid_t caller = thread.process.pid;
    result = entry->handler(thread, args);
    // A forked child started its counters afresh inside the call; the call is its parent's.
    if (stats::enabled && thread.process.pid == caller) {
      stats::record_syscall(number, stats::now_ns() - started);
    }
  }
  if (trace) trace_result(thread, call, result);
  return result;
}

}  // namespace noah::syscall
