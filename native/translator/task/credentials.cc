#include "translator/task/credentials.h"

#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "translator/util/log.h"

namespace noah {

void Credentials::apply_exec(int64_t file_uid, int64_t file_gid) {
  if (file_uid >= 0) euid = static_cast<uid_t>(file_uid);
  if (file_gid >= 0) egid = static_cast<gid_t>(file_gid);
  suid = fsuid = euid;
  sgid = fsgid = egid;
  bool root = uid == 0 || euid == 0;
  permitted = root ? kDockerCapabilities : 0;
  effective = euid == 0 ? permitted : 0;
  keep_capabilities = false;
}

void Credentials::adjust_capabilities_for_uid_change(const Credentials& old) {
  bool had_root = old.uid == 0 || old.euid == 0 || old.suid == 0;
  bool has_root = uid == 0 || euid == 0 || suid == 0;
  // Leaving uid 0 in all three ids drops every capability, unless PR_SET_KEEPCAPS keeps the
  // permitted set.
  if (had_root && !has_root && !keep_capabilities) permitted = effective = 0;
  if (old.euid == 0 && euid != 0) effective = 0;
  if (old.euid != 0 && euid == 0) effective = permitted;
}

Credentials GuestCredentials::get() const {
  std::lock_guard lock(mutex_);
  return value_;
}

Credentials GuestCredentials::get(uint64_t& generation) const {
  std::lock_guard lock(mutex_);
  generation = generation_.load(std::memory_order_relaxed);
  return value_;
}

void GuestCredentials::set(const Credentials& value) {
  std::lock_guard lock(mutex_);
  value_ = value;
  generation_.fetch_add(1, std::memory_order_release);
}

namespace credentials {
namespace {

bool host_root = false;
FilesystemIdentity own;

// The filesystem identity of the calling host thread, valid once `known`. A new thread reads it
// from the kernel.
thread_local bool known = false;
thread_local FilesystemIdentity current;
// The generation of the guest's credentials the thread last took, or 0 for none.
thread_local uint64_t followed_generation = 0;

// A thread that cannot change its identity could let the guest act with the wrong one, so the
// process ends instead.
[[noreturn]] void fail(const char* call, int error) {
  log::error(
      "%s on host thread %d failed: %s; ending the process, because its file access "
      "would be checked with the wrong identity",
      call, static_cast<int>(gettid()), strerror(error));
  _exit(125);
}

// Raw system calls, because they act on the calling thread only, where glibc's setgroups()
// and setfsuid() wrappers change every thread of the process.
FilesystemIdentity read_host_identity() {
  FilesystemIdentity ids;
  // An invalid id (-1) changes nothing, and the call returns the current value.
  ids.uid = static_cast<uid_t>(syscall(SYS_setfsuid, -1));
  ids.gid = static_cast<gid_t>(syscall(SYS_setfsgid, -1));
  long count = syscall(SYS_getgroups, 0, nullptr);
  if (count < 0) fail("getgroups", errno);
  ids.groups.resize(static_cast<size_t>(count));
  count = syscall(SYS_getgroups, count, ids.groups.data());
  if (count < 0) fail("getgroups", errno);
  ids.groups.resize(static_cast<size_t>(count));
  return ids;
}

// setfsuid and setfsgid report no error, so each change is read back.
void set_fsuid(uid_t uid) {
  syscall(SYS_setfsuid, uid);
  if (static_cast<uid_t>(syscall(SYS_setfsuid, -1)) != uid) fail("setfsuid", EPERM);
}

void set_fsgid(gid_t gid) {
  syscall(SYS_setfsgid, gid);
  if (static_cast<gid_t>(syscall(SYS_setfsgid, -1)) != gid) fail("setfsgid", EPERM);
}

void switch_to(const FilesystemIdentity& target) {
  if (!known) {
    current = read_host_identity();
    known = true;
  }
  if (current == target) return;
  // Linux makes a process non-dumpable when its fsuid or fsgid changes, which would also hand
  // its /proc files to root. The translator's identity does not really change, so the flag
  // goes back to what it was. A change of groups alone leaves it as it is.
  bool ids_change = current.uid != target.uid || current.gid != target.gid;
  int dumpable = ids_change ? prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) : -1;
  if (current.groups != target.groups &&
      syscall(SYS_setgroups, target.groups.size(), target.groups.data()) < 0) {
    fail("setgroups", errno);
  }
  if (current.gid != target.gid) set_fsgid(target.gid);
  if (current.uid != target.uid) set_fsuid(target.uid);
  current = target;
  if (dumpable == 1 && prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 1 &&
      prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0) {
    fail("prctl(PR_SET_DUMPABLE)", errno);
  }
}

}  // namespace

void init() {
  // TODO: a translator that is not host root cannot take other ids, so the guest's ids are
  // only what its calls report, and every file access is checked as the host user's.
  host_root = geteuid() == 0;
  if (!host_root) return;
  own = read_host_identity();
  current = own;
  known = true;
}

bool enforced() {
  return host_root;
}

void follow(const GuestCredentials& guest) {
  if (!host_root || guest.generation() == followed_generation) return;
  uint64_t generation;
  Credentials value = guest.get(generation);
  int saved_errno = errno;
  // With fsuid 0 the thread has CAP_DAC_OVERRIDE, CAP_CHOWN and CAP_FSETID, so its groups
  // change no check. A root guest therefore keeps the translator's groups, and its
  // OwnIdentity scopes switch nothing.
  const std::vector<gid_t>& groups = value.fsuid == 0 ? own.groups : value.groups;
  switch_to(FilesystemIdentity{value.fsuid, value.fsgid, groups});
  errno = saved_errno;
  followed_generation = generation;
}

OwnIdentity::OwnIdentity() {
  if (!host_root) return;
  int saved_errno = errno;
  if (!known) {
    current = read_host_identity();
    known = true;
  }
  if (current != own) {
    saved_ = current;
    switched_ = true;
    switch_to(own);
  }
  errno = saved_errno;
}

OwnIdentity::~OwnIdentity() {
  if (!switched_) return;
  int saved_errno = errno;
  switch_to(saved_);
  errno = saved_errno;
}

}  // namespace credentials
}  // namespace noah
