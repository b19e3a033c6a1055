#include "translator/syscall/table.h"

#include "translator/syscall/handlers.h"

namespace noah::syscall {
namespace {

using enum Support;

struct Table {
  std::array<Entry, kMaxSyscall> entries{};

  Table() {
#define NAME(number, label) entries[number].name = #label;
#include "translator/syscall/names.inc"
#undef NAME
    // Each row: number, handler, support, note. The name comes from names.inc.
    add<sys_read>(0, kFull);
    add<sys_write>(1, kFull);
    add<sys_open>(2, kFull);
    add<sys_close>(3, kFull);
    add<sys_stat>(4, kFull);
    add<sys_fstat>(5, kFull);
    add<sys_lstat>(6, kFull);
    add<sys_poll>(7, kFull);
    add<sys_lseek>(8, kFull);
    add<sys_mmap>(9, kPartial, "a fixed address the translator occupies gives ENOMEM");
    add<sys_mprotect>(10, kFull);
    add<sys_munmap>(11, kFull);
    add<sys_brk>(12, kFull);
    add<sys_rt_sigaction>(13, kFull);
    add<sys_rt_sigreturn>(15, kFull);
    add<sys_pause>(34, kFull);
    add<sys_alarm>(37, kFull);
    add<sys_getitimer>(36, kFull);
    add<sys_setitimer>(38, kFull);
    add<sys_rt_sigpending>(127, kFull);
    add<sys_rt_sigtimedwait>(128, kFull);
    add<sys_rt_sigqueueinfo>(129, kFull);
    add<sys_rt_sigsuspend>(130, kFull);
    add<sys_timer_create>(222, kFull);
    add<sys_timer_settime>(223, kFull);
    add<sys_timer_gettime>(224, kFull);
    add<sys_timer_getoverrun>(225, kFull);
    add<sys_timer_delete>(226, kFull);
    add<sys_signalfd>(282, kFull);
    add<sys_timerfd_create>(283, kFull);
    add<sys_timerfd_settime>(286, kFull);
    add<sys_timerfd_gettime>(287, kFull);
    add<sys_signalfd4>(289, kFull);
    add<sys_rt_tgsigqueueinfo>(297, kFull);
    add<sys_rt_sigprocmask>(14, kFull);
    add<sys_ioctl>(16, kPartial, "terminal and descriptor requests only, others ENOTTY");
    add<sys_pread64>(17, kFull);
    add<sys_pwrite64>(18, kFull);
    add<sys_readv>(19, kFull);
    add<sys_writev>(20, kFull);
    add<sys_access>(21, kFull);
    add<sys_pipe>(22, kFull);
    add<sys_select>(23, kPartial, "the timeout is not updated with the time left");
    add<sys_sched_yield>(24, kFull);
    add<sys_mremap>(25, kPartial, "no MREMAP_DONTUNMAP");
    add<sys_msync>(26, kFull);
    add<sys_mincore>(27, kFull);
    add<sys_madvise>(28, kFull);
    add<sys_dup>(32, kFull);
    add<sys_dup2>(33, kFull);
    add<sys_nanosleep>(35, kFull);
    add<sys_getpid>(39, kFull);
    add<sys_sendfile>(40, kFull);
    add<sys_exit>(60, kFull);
    add<sys_kill>(62, kFull);
    add<sys_uname>(63, kFull);
    add<sys_fcntl>(72, kFull);
    add<sys_flock>(73, kFull);
    add<sys_fsync>(74, kFull);
    add<sys_fdatasync>(75, kFull);
    add<sys_truncate>(76, kFull);
    add<sys_ftruncate>(77, kFull);
    add<sys_getcwd>(79, kFull);
    add<sys_chdir>(80, kFull);
    add<sys_fchdir>(81, kFull);
    add<sys_rename>(82, kFull);
    add<sys_mkdir>(83, kFull);
    add<sys_rmdir>(84, kFull);
    add<sys_creat>(85, kFull);
    add<sys_link>(86, kFull);
    add<sys_unlink>(87, kFull);
    add<sys_symlink>(88, kFull);
    add<sys_readlink>(89, kFull);
    add<sys_chmod>(90, kFull);
    add<sys_fchmod>(91, kFull);
    add<sys_chown>(92, kPartial, "host ownership rules apply");
    add<sys_fchown>(93, kPartial, "host ownership rules apply");
    add<sys_lchown>(94, kPartial, "host ownership rules apply");
    add<sys_umask>(95, kFull);
    add<sys_gettimeofday>(96, kFull);
    add<sys_getrlimit>(97, kFull);
    add<sys_getrusage>(98, kFull);
    add<sys_sysinfo>(99, kFull);
    add<sys_times>(100, kFull);
    add<sys_getuid>(102, kFull);
    add<sys_getgid>(104, kFull);
    add<sys_setuid>(105, kPartial, "process-wide; only a root host enforces the ids");
    add<sys_setgid>(106, kPartial, "process-wide; only a root host enforces the ids");
    add<sys_geteuid>(107, kFull);
    add<sys_getegid>(108, kFull);
    add<sys_setpgid>(109, kFull);
    add<sys_getppid>(110, kFull);
    add<sys_getpgrp>(111, kFull);
    add<sys_setsid>(112, kFull);
    add<sys_setreuid>(113, kPartial, "process-wide; only a root host enforces the ids");
    add<sys_setregid>(114, kPartial, "process-wide; only a root host enforces the ids");
    add<sys_getgroups>(115, kFull);
    add<sys_setgroups>(116, kPartial, "process-wide; only a root host enforces the ids");
    add<sys_setresuid>(117, kPartial, "process-wide; only a root host enforces the ids");
    add<sys_getresuid>(118, kFull);
    add<sys_setresgid>(119, kPartial, "process-wide; only a root host enforces the ids");
    add<sys_getresgid>(120, kFull);
    add<sys_getpgid>(121, kFull);
    add<sys_setfsuid>(122, kPartial, "process-wide; only a root host enforces the ids");
    add<sys_setfsgid>(123, kPartial, "process-wide; only a root host enforces the ids");
    add<sys_getsid>(124, kFull);
    add<sys_capget>(125, kPartial, "reports Docker's default set for root");
    add<sys_capset>(126, kPartial, "accepted without effect");
    add<sys_sigaltstack>(131, kFull);
    add<sys_utime>(132, kFull);
    add<sys_mknod>(133, kFull);
    add<sys_statfs>(137, kFull);
    add<sys_fstatfs>(138, kFull);
    add<sys_getpriority>(140, kFull);
    add<sys_setpriority>(141, kFull);
    add<sys_sched_getparam>(143, kFull);
    add<sys_sched_getscheduler>(145, kFull);
    add<sys_sched_get_priority_max>(146, kFull);
    add<sys_sched_get_priority_min>(147, kFull);
    add<sys_mlock>(149, kPartial, "succeeds without locking");
    add<sys_munlock>(150, kPartial, "succeeds without locking");
    add<sys_mlockall>(151, kPartial, "succeeds without locking");
    add<sys_munlockall>(152, kPartial, "succeeds without locking");
    add<sys_prctl>(157, kPartial, "names, death signal, subreaper, no_new_privs, dumpable");
    add<sys_arch_prctl>(158, kFull);
    add<sys_setrlimit>(160, kFull);
    add<sys_chroot>(161, kNone, "EPERM: changing the root is not supported yet");
    add<sys_sync>(162, kFull);
    add<sys_sethostname>(170, kNone, "EPERM: the hostname is fixed");
    add<sys_gettid>(186, kFull);
    add<sys_readahead>(187, kFull);
    add<sys_setxattr>(188, kFull);
    add<sys_lsetxattr>(189, kFull);
    add<sys_fsetxattr>(190, kFull);
    add<sys_getxattr>(191, kFull);
    add<sys_lgetxattr>(192, kFull);
    add<sys_fgetxattr>(193, kFull);
    add<sys_listxattr>(194, kFull);
    add<sys_llistxattr>(195, kFull);
    add<sys_flistxattr>(196, kFull);
    add<sys_removexattr>(197, kFull);
    add<sys_lremovexattr>(198, kFull);
    add<sys_fremovexattr>(199, kFull);
    add<sys_tkill>(200, kFull);
    add<sys_time>(201, kFull);
    add<sys_sched_setaffinity>(203, kFull);
    add<sys_sched_getaffinity>(204, kFull);
    add<sys_epoll_create>(213, kFull);
    add<sys_getdents64>(217, kFull);
    add<sys_set_tid_address>(218, kFull);
    add<sys_fadvise64>(221, kFull);
    add<sys_clock_gettime>(228, kFull);
    add<sys_clock_getres>(229, kFull);
    add<sys_clock_nanosleep>(230, kFull);
    add<sys_exit_group>(231, kFull);
    add<sys_epoll_wait>(232, kFull);
    add<sys_epoll_ctl>(233, kFull);
    add<sys_tgkill>(234, kFull);
    add<sys_utimes>(235, kFull);
    add<sys_openat>(257, kFull);
    add<sys_mkdirat>(258, kFull);
    add<sys_mknodat>(259, kFull);
    add<sys_fchownat>(260, kPartial, "host ownership rules apply");
    add<sys_futimesat>(261, kFull);
    add<sys_newfstatat>(262, kFull);
    add<sys_unlinkat>(263, kFull);
    add<sys_renameat>(264, kFull);
    add<sys_linkat>(265, kFull);
    add<sys_symlinkat>(266, kFull);
    add<sys_readlinkat>(267, kFull);
    add<sys_fchmodat>(268, kFull);
    add<sys_faccessat>(269, kFull);
    add<sys_pselect6>(270, kPartial, "the timeout is not updated with the time left");
    add<sys_ppoll>(271, kFull);
    add<sys_set_robust_list>(273, kFull);
    add<sys_get_robust_list>(274, kFull);
    add<sys_splice>(275, kFull);
    add<sys_tee>(276, kFull);
    add<sys_utimensat>(280, kFull);
    add<sys_epoll_pwait>(281, kFull);
    add<sys_eventfd>(284, kFull);
    add<sys_fallocate>(285, kFull);
    add<sys_eventfd2>(290, kFull);
    add<sys_epoll_create1>(291, kFull);
    add<sys_dup3>(292, kFull);
    add<sys_pipe2>(293, kFull);
    add<sys_preadv>(295, kFull);
    add<sys_pwritev>(296, kFull);
    add<sys_prlimit64>(302, kFull);
    add<sys_syncfs>(306, kFull);
    add<sys_getcpu>(309, kFull);
    add<sys_renameat2>(316, kFull);
    add<sys_getrandom>(318, kFull);
    add<sys_memfd_create>(319, kFull);
    add<sys_preadv2>(327, kFull);
    add<sys_pwritev2>(328, kFull);
    add<sys_statx>(332, kFull);
    add<sys_copy_file_range>(326, kFull);
    add<sys_close_range>(436, kFull);
    add<sys_socket>(41, kPartial, "Unix, IPv4, IPv6, netlink; raw and packet sockets EPERM");
    add<sys_connect>(42, kFull);
    add<sys_accept>(43, kFull);
    add<sys_sendto>(44, kFull);
    add<sys_recvfrom>(45, kFull);
    add<sys_sendmsg>(46, kFull);
    add<sys_recvmsg>(47, kPartial, "credentials the kernel attaches itself carry host ids");
    add<sys_sendmmsg>(307, kFull);
    add<sys_recvmmsg>(299, kPartial, "credentials the kernel attaches itself carry host ids");
    add<sys_shutdown>(48, kFull);
    add<sys_bind>(49, kFull);
    add<sys_listen>(50, kFull);
    add<sys_getsockname>(51, kFull);
    add<sys_getpeername>(52, kFull);
    add<sys_socketpair>(53, kPartial, "the families of socket");
    add<sys_setsockopt>(54, kFull);
    add<sys_getsockopt>(55, kPartial, "SO_PEERCRED has host ids; no TCP_ZEROCOPY_RECEIVE");
    add<sys_accept4>(288, kFull);
    add<sys_clone>(56, kPartial, "CLONE_VM without CLONE_THREAD gives a copy of memory");
    add<sys_fork>(57, kFull);
    add<sys_vfork>(58, kPartial, "the child gets a copy of memory, the parent waits as usual");
    add<sys_wait4>(61, kFull);
    add<sys_waitid>(247, kFull);
    add<sys_clone3>(435, kPartial, "CLONE_VM without CLONE_THREAD gives a copy of memory");
    add<sys_futex>(202, kPartial, "waits are not yet interrupted by guest signals");
    add<sys_execve>(59, kFull);
    add<sys_execveat>(322, kFull);
    add<sys_openat2>(437, kFull);
    add<sys_faccessat2>(439, kFull);
    add<sys_fchmodat2>(452, kFull);
    // Calls that answer with an errno on purpose. Linux itself may give these errnos, and
    // the C libraries fall back when they do.
    none(334, "ENOSYS: rseq is optional; glibc runs without it");
    none(324, "ENOSYS: membarrier; callers fall back");
  }

  template <auto Fn>
  void add(int number, Support support, const char* note = "") {
    entries[number] = make_entry<Fn>(entries[number].name, support, note);
  }

  void none(int number, const char* note) {
    entries[number].support = kNone;
    entries[number].note = note;
  }
};

const Table& table() {
  static const Table instance;
  return instance;
}

}  // namespace

const Entry* lookup(uint64_t number) {
  if (number >= kMaxSyscall) return nullptr;
  return &table().entries[number];
}

const char* name_of(uint64_t number) {
  const Entry* entry = lookup(number);
  return entry != nullptr ? entry->name : nullptr;
}

}  // namespace noah::syscall
