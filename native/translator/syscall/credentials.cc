// The guest's user and group ids, supplementary groups and capabilities. The set*id calls follow
// the rules of Linux's kernel/sys.c: a caller with CAP_SETUID (or CAP_SETGID) may take any id,
// as root in a container may, and another may only move among its real, effective and saved
// ids. The effective id also becomes the filesystem id, which a root host then checks the
// guest's file access with (task/credentials.h).
#include <linux/capability.h>

#include <cerrno>

#include "translator/syscall/guest.h"
#include "translator/syscall/handlers.h"
#include "translator/vfs/registry.h"

namespace noah::syscall {
namespace {

int64_t write_ids(Thread& thread, GuestPtr<uint32_t> a, GuestPtr<uint32_t> b, GuestPtr<uint32_t> c,
                  uint32_t x, uint32_t y, uint32_t z) {
  if (!write_guest(thread, a, x) || !write_guest(thread, b, y) || !write_guest(thread, c, z)) {
    return -EFAULT;
  }
  return 0;
}

// Publishes changed credentials for the /proc of the container's other processes. Returns
// `result`, which is 0 when the credentials changed.
int64_t published(Thread& thread, int64_t result) {
  if (result == 0) vfs::registry::publish(thread.process);
  return result;
}

// setreuid and setregid on one family of ids, where -1 keeps an id. Without the capability, the
// real id may become the real or effective id, and the effective id any of the three. The saved id
// follows the new effective id when the real id is set or the effective id moves off the old
// real one.
int64_t set_real_effective(uint32_t& real, uint32_t& effective, uint32_t& saved,
                           uint32_t& filesystem, int new_real, int new_effective, bool capable) {
  auto real_id = static_cast<uint32_t>(new_real);
  auto effective_id = static_cast<uint32_t>(new_effective);
  if (!capable) {
    if (new_real != -1 && real_id != real && real_id != effective) return -EPERM;
    if (new_effective != -1 && effective_id != real && effective_id != effective &&
        effective_id != saved) {
      return -EPERM;
    }
  }
  uint32_t old_real = real;
  if (new_real != -1) real = real_id;
  if (new_effective != -1) effective = effective_id;
  if (new_real != -1 || (new_effective != -1 && effective_id != old_real)) saved = effective;
  filesystem = effective;
  return 0;
}

// setresuid and setresgid: without the capability, each id may become any of the current three.
int64_t set_real_effective_saved(uint32_t& real, uint32_t& effective, uint32_t& saved,
                                 uint32_t& filesystem, int new_real, int new_effective,
                                 int new_saved, bool capable) {
  if (!capable) {
    for (int value : {new_real, new_effective, new_saved}) {
      auto id = static_cast<uint32_t>(value);
      if (value != -1 && id != real && id != effective && id != saved) return -EPERM;
    }
  }
  if (new_real != -1) real = static_cast<uint32_t>(new_real);
  if (new_effective != -1) effective = static_cast<uint32_t>(new_effective);
  if (new_saved != -1) saved = static_cast<uint32_t>(new_saved);
  filesystem = effective;
  return 0;
}

// Runs a change of uids and updates the capabilities as the change requires.
template <typename Change>
int64_t change_uids(Thread& thread, Change change) {
  return published(thread, thread.process.credentials.update([&](Credentials& c) -> int64_t {
    const Credentials old = c;
    int64_t result = change(c);
    if (result == 0) c.adjust_capabilities_for_uid_change(old);
    return result;
  }));
}

template <typename Change>
int64_t change_gids(Thread& thread, Change change) {
  return published(thread, thread.process.credentials.update(change));
}

bool valid_capability_version(uint32_t version) {
  return version == _LINUX_CAPABILITY_VERSION_3 || version == _LINUX_CAPABILITY_VERSION_2;
}

}  // namespace

int64_t sys_getuid(Thread& thread) {
  return thread.process.credentials.get().uid;
}
int64_t sys_geteuid(Thread& thread) {
  return thread.process.credentials.get().euid;
}
int64_t sys_getgid(Thread& thread) {
  return thread.process.credentials.get().gid;
}
int64_t sys_getegid(Thread& thread) {
  return thread.process.credentials.get().egid;
}

int64_t sys_getresuid(Thread& thread, GuestPtr<uint32_t> real, GuestPtr<uint32_t> effective,
                      GuestPtr<uint32_t> saved) {
  const Credentials c = thread.process.credentials.get();
  return write_ids(thread, real, effective, saved, c.uid, c.euid, c.suid);
}

int64_t sys_getresgid(Thread& thread, GuestPtr<uint32_t> real, GuestPtr<uint32_t> effective,
                      GuestPtr<uint32_t> saved) {
  const Credentials c = thread.process.credentials.get();
  return write_ids(thread, real, effective, saved, c.gid, c.egid, c.sgid);
}

int64_t sys_getgroups(Thread& thread, int size, GuestPtr<uint32_t> list) {
  const std::vector<gid_t> groups = thread.process.credentials.get().groups;
  if (size < 0) return -EINVAL;
  if (size == 0) return static_cast<int64_t>(groups.size());
  if (static_cast<size_t>(size) < groups.size()) return -EINVAL;
  if (!copy_to_guest(thread, list.address, groups.data(), groups.size() * sizeof(gid_t))) {
    return -EFAULT;
  }
  return static_cast<int64_t>(groups.size());
}

int64_t sys_setgroups(Thread& thread, int size, GuestPtr<uint32_t> list) {
  if (size < 0 || size > 65536) return -EINVAL;  // NGROUPS_MAX
  std::vector<gid_t> groups(static_cast<size_t>(size));
  if (!copy_from_guest(thread, groups.data(), list.address, groups.size() * sizeof(gid_t))) {
    return -EFAULT;
  }
  return change_gids(thread, [&](Credentials& c) -> int64_t {
    if (!c.capable(CAP_SETGID)) return -EPERM;
    c.groups = std::move(groups);
    return 0;
  });
}

int64_t sys_setuid(Thread& thread, int uid) {
  if (uid == -1) return -EINVAL;
  auto id = static_cast<uid_t>(uid);
  return change_uids(thread, [&](Credentials& c) -> int64_t {
    if (c.capable(CAP_SETUID)) {
      c.uid = c.suid = id;
    } else if (id != c.uid && id != c.suid) {
      return -EPERM;
    }
    c.euid = c.fsuid = id;
    return 0;
  });
}

int64_t sys_setgid(Thread& thread, int gid) {
  if (gid == -1) return -EINVAL;
  auto id = static_cast<gid_t>(gid);
  return change_gids(thread, [&](Credentials& c) -> int64_t {
    if (c.capable(CAP_SETGID)) {
      c.gid = c.sgid = id;
    } else if (id != c.gid && id != c.sgid) {
      return -EPERM;
    }
    c.egid = c.fsgid = id;
    return 0;
  });
}

int64_t sys_setreuid(Thread& thread, int real, int effective) {
  return change_uids(thread, [&](Credentials& c) -> int64_t {
    return set_real_effective(c.uid, c.euid, c.suid, c.fsuid, real, effective,
                              c.capable(CAP_SETUID));
  });
}

int64_t sys_setregid(Thread& thread, int real, int effective) {
  return change_gids(thread, [&](Credentials& c) -> int64_t {
    return set_real_effective(c.gid, c.egid, c.sgid, c.fsgid, real, effective,
                              c.capable(CAP_SETGID));
  });
}

int64_t sys_setresuid(Thread& thread, int real, int effective, int saved) {
  return change_uids(thread, [&](Credentials& c) -> int64_t {
    return set_real_effective_saved(c.uid, c.euid, c.suid, c.fsuid, real, effective, saved,
                                    c.capable(CAP_SETUID));
  });
}

int64_t sys_setresgid(Thread& thread, int real, int effective, int saved) {
  return change_gids(thread, [&](Credentials& c) -> int64_t {
    return set_real_effective_saved(c.gid, c.egid, c.sgid, c.fsgid, real, effective, saved,
                                    c.capable(CAP_SETGID));
  });
}

// setfsuid and setfsgid return the old id whether or not they change it, as on Linux.
// NOTE: the effective capabilities stay as they are, where Linux drops the filesystem ones from
// them for an fsuid other than 0. The host kernel still applies that drop to file access.
int64_t sys_setfsuid(Thread& thread, int uid) {
  uid_t old = 0;
  published(thread, thread.process.credentials.update([&](Credentials& c) -> int64_t {
    old = c.fsuid;
    auto id = static_cast<uid_t>(uid);
    bool allowed =
        id == c.uid || id == c.euid || id == c.suid || id == c.fsuid || c.capable(CAP_SETUID);
    if (uid == -1 || !allowed || id == c.fsuid) return -EPERM;  // keeps the credentials
    c.fsuid = id;
    return 0;
  }));
  return old;
}

int64_t sys_setfsgid(Thread& thread, int gid) {
  gid_t old = 0;
  published(thread, thread.process.credentials.update([&](Credentials& c) -> int64_t {
    old = c.fsgid;
    auto id = static_cast<gid_t>(gid);
    bool allowed =
        id == c.gid || id == c.egid || id == c.sgid || id == c.fsgid || c.capable(CAP_SETGID);
    if (gid == -1 || !allowed || id == c.fsgid) return -EPERM;  // keeps the credentials
    c.fsgid = id;
    return 0;
  }));
  return old;
}

int64_t sys_capget(Thread& thread, GuestPtr<void> header, GuestPtr<void> data) {
  __user_cap_header_struct head;
  if (!copy_from_guest(thread, &head, header.address, sizeof head)) return -EFAULT;
  if (!valid_capability_version(head.version)) {
    head.version = _LINUX_CAPABILITY_VERSION_3;
    copy_to_guest(thread, header.address, &head, sizeof head);
    return data.null() ? 0 : -EINVAL;
  }
  if (data.null()) return 0;
  const Credentials c = thread.process.credentials.get();
  __user_cap_data_struct caps[2];
  for (int half = 0; half < 2; half++) {
    int shift = 32 * half;
    caps[half].effective = static_cast<uint32_t>(c.effective >> shift);
    caps[half].permitted = static_cast<uint32_t>(c.permitted >> shift);
    caps[half].inheritable = static_cast<uint32_t>(c.inheritable >> shift);
  }
  if (!copy_to_guest(thread, data.address, caps, sizeof caps)) return -EFAULT;
  return 0;
}

// Changes the recorded sets under Linux's rules: the permitted set may only shrink, the
// effective set stays within the permitted one, and the inheritable set within the old
// inheritable and permitted ones. Nothing on the host changes.
int64_t sys_capset(Thread& thread, GuestPtr<void> header, GuestPtr<void> data) {
  __user_cap_header_struct head;
  if (!copy_from_guest(thread, &head, header.address, sizeof head)) return -EFAULT;
  if (!valid_capability_version(head.version)) return -EINVAL;
  if (head.pid != 0 && head.pid != thread.process.pid && head.pid != thread.tid) return -EPERM;
  __user_cap_data_struct caps[2];
  if (!copy_from_guest(thread, caps, data.address, sizeof caps)) return -EFAULT;
  auto join = [](uint32_t low, uint32_t high) { return (uint64_t{high} << 32) | low; };
  uint64_t effective = join(caps[0].effective, caps[1].effective);
  uint64_t permitted = join(caps[0].permitted, caps[1].permitted);
  uint64_t inheritable = join(caps[0].inheritable, caps[1].inheritable);
  return thread.process.credentials.update([&](Credentials& c) -> int64_t {
    uint64_t inheritable_limit =
        c.inheritable | (c.capable(CAP_SETPCAP) ? kDockerCapabilities : c.permitted);
    if ((permitted & ~c.permitted) != 0 || (effective & ~permitted) != 0 ||
        (inheritable & ~inheritable_limit) != 0) {
      return -EPERM;
    }
    c.effective = effective;
    c.permitted = permitted;
    c.inheritable = inheritable;
    return 0;
  });
}

int64_t prctl_get_keep_capabilities(Thread& thread) {
  return thread.process.credentials.get().keep_capabilities ? 1 : 0;
}

int64_t prctl_set_keep_capabilities(Thread& thread, uint64_t keep) {
  if (keep > 1) return -EINVAL;
  return thread.process.credentials.update([&](Credentials& c) -> int64_t {
    c.keep_capabilities = keep == 1;
    return 0;
  });
}

}  // namespace noah::syscall
