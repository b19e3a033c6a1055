// Declarations of every system call handler, grouped by the file that defines them. Each takes
// the calling thread and typed arguments, and returns the result or -errno.
#pragma once

#include <sys/types.h>

#include <cstdint>

#include "translator/syscall/types.h"

namespace noah::syscall {

// file_io.cc: reading and writing open descriptors.
int64_t sys_read(Thread&, int fd, GuestPtr<void> buffer, uint64_t count);
int64_t sys_write(Thread&, int fd, GuestPtr<void> buffer, uint64_t count);
int64_t sys_pread64(Thread&, int fd, GuestPtr<void> buffer, uint64_t count, int64_t offset);
int64_t sys_pwrite64(Thread&, int fd, GuestPtr<void> buffer, uint64_t count, int64_t offset);
int64_t sys_readv(Thread&, int fd, GuestPtr<void> iov, int count);
int64_t sys_writev(Thread&, int fd, GuestPtr<void> iov, int count);
int64_t sys_preadv(Thread&, int fd, GuestPtr<void> iov, int count, int64_t low, int64_t high);
int64_t sys_pwritev(Thread&, int fd, GuestPtr<void> iov, int count, int64_t low, int64_t high);
int64_t sys_preadv2(Thread&, int fd, GuestPtr<void> iov, int count, int64_t low, int64_t high,
                    Flags flags);
int64_t sys_pwritev2(Thread&, int fd, GuestPtr<void> iov, int count, int64_t low, int64_t high,
                     Flags flags);
int64_t sys_lseek(Thread&, int fd, int64_t offset, int whence);
int64_t sys_getdents64(Thread&, int fd, GuestPtr<void> buffer, uint64_t count);
int64_t sys_sendfile(Thread&, int out_fd, int in_fd, GuestPtr<int64_t> offset, uint64_t count);
int64_t sys_copy_file_range(Thread&, int in_fd, GuestPtr<int64_t> in_offset, int out_fd,
                            GuestPtr<int64_t> out_offset, uint64_t length, Flags flags);
int64_t sys_splice(Thread&, int in_fd, GuestPtr<int64_t> in_offset, int out_fd,
                   GuestPtr<int64_t> out_offset, uint64_t length, Flags flags);
int64_t sys_tee(Thread&, int in_fd, int out_fd, uint64_t length, Flags flags);

// descriptors.cc: descriptor table calls and per-descriptor operations.
int64_t sys_close(Thread&, int fd);
int64_t sys_close_range(Thread&, unsigned first, unsigned last, Flags flags);
int64_t sys_dup(Thread&, int fd);
int64_t sys_dup2(Thread&, int fd, int new_fd);
int64_t sys_dup3(Thread&, int fd, int new_fd, Flags flags);
int64_t sys_fcntl(Thread&, int fd, int command, uint64_t arg);
int64_t sys_ioctl(Thread&, int fd, Flags request, uint64_t arg);
int64_t sys_pipe(Thread&, GuestPtr<int> fds);
int64_t sys_pipe2(Thread&, GuestPtr<int> fds, Flags flags);
int64_t sys_eventfd(Thread&, unsigned initial);
int64_t sys_eventfd2(Thread&, unsigned initial, Flags flags);
int64_t sys_memfd_create(Thread&, GuestString name, Flags flags);
int64_t sys_flock(Thread&, int fd, int operation);
int64_t sys_fsync(Thread&, int fd);
int64_t sys_fdatasync(Thread&, int fd);
int64_t sys_syncfs(Thread&, int fd);
int64_t sys_sync(Thread&);
int64_t sys_ftruncate(Thread&, int fd, int64_t length);
int64_t sys_fallocate(Thread&, int fd, int mode, int64_t offset, int64_t length);
int64_t sys_fadvise64(Thread&, int fd, int64_t offset, int64_t length, int advice);
int64_t sys_readahead(Thread&, int fd, int64_t offset, uint64_t count);
int64_t sys_fstat(Thread&, int fd, GuestPtr<void> stat);
int64_t sys_fstatfs(Thread&, int fd, GuestPtr<void> statfs);
int64_t sys_fchmod(Thread&, int fd, unsigned mode);
int64_t sys_fchown(Thread&, int fd, int uid, int gid);
int64_t sys_fchdir(Thread&, int fd);
int64_t sys_fgetxattr(Thread&, int fd, GuestString name, GuestPtr<void> value, uint64_t size);
int64_t sys_fsetxattr(Thread&, int fd, GuestString name, GuestPtr<void> value, uint64_t size,
                      Flags flags);
int64_t sys_flistxattr(Thread&, int fd, GuestPtr<void> list, uint64_t size);
int64_t sys_fremovexattr(Thread&, int fd, GuestString name);

// poll.cc: waiting on descriptors.
int64_t sys_poll(Thread&, GuestPtr<void> fds, uint64_t count, int timeout_ms);
int64_t sys_ppoll(Thread&, GuestPtr<void> fds, uint64_t count, GuestPtr<void> timeout,
                  GuestPtr<void> sigmask, uint64_t sigset_size);
int64_t sys_select(Thread&, int count, GuestPtr<void> read_set, GuestPtr<void> write_set,
                   GuestPtr<void> except_set, GuestPtr<void> timeout);
int64_t sys_pselect6(Thread&, int count, GuestPtr<void> read_set, GuestPtr<void> write_set,
                     GuestPtr<void> except_set, GuestPtr<void> timeout, GuestPtr<void> sigmask);
int64_t sys_epoll_create(Thread&, int size);
int64_t sys_epoll_create1(Thread&, Flags flags);
int64_t sys_epoll_ctl(Thread&, int epfd, int op, int fd, GuestPtr<void> event);
int64_t sys_epoll_wait(Thread&, int epfd, GuestPtr<void> events, int max, int timeout_ms);
int64_t sys_epoll_pwait(Thread&, int epfd, GuestPtr<void> events, int max, int timeout_ms,
                        GuestPtr<void> sigmask, uint64_t sigset_size);

// fs.cc: calls that take paths.
int64_t sys_open(Thread&, GuestString path, Flags flags, unsigned mode);
int64_t sys_openat(Thread&, DirFd dirfd, GuestString path, Flags flags, unsigned mode);
int64_t sys_openat2(Thread&, DirFd dirfd, GuestString path, GuestPtr<void> how, uint64_t size);
int64_t sys_creat(Thread&, GuestString path, unsigned mode);
int64_t sys_stat(Thread&, GuestString path, GuestPtr<void> stat);
int64_t sys_lstat(Thread&, GuestString path, GuestPtr<void> stat);
int64_t sys_newfstatat(Thread&, DirFd dirfd, GuestString path, GuestPtr<void> stat, Flags flags);
int64_t sys_statx(Thread&, DirFd dirfd, GuestString path, Flags flags, unsigned mask,
                  GuestPtr<void> statx);
int64_t sys_access(Thread&, GuestString path, int mode);
int64_t sys_faccessat(Thread&, DirFd dirfd, GuestString path, int mode);
int64_t sys_faccessat2(Thread&, DirFd dirfd, GuestString path, int mode, Flags flags);
int64_t sys_readlink(Thread&, GuestString path, GuestPtr<char> buffer, uint64_t size);
int64_t sys_readlinkat(Thread&, DirFd dirfd, GuestString path, GuestPtr<char> buffer,
                       uint64_t size);
int64_t sys_mkdir(Thread&, GuestString path, unsigned mode);
int64_t sys_mkdirat(Thread&, DirFd dirfd, GuestString path, unsigned mode);
int64_t sys_mknod(Thread&, GuestString path, unsigned mode, uint64_t device);
int64_t sys_mknodat(Thread&, DirFd dirfd, GuestString path, unsigned mode, uint64_t device);
int64_t sys_rmdir(Thread&, GuestString path);
int64_t sys_unlink(Thread&, GuestString path);
int64_t sys_unlinkat(Thread&, DirFd dirfd, GuestString path, Flags flags);
int64_t sys_rename(Thread&, GuestString from, GuestString to);
int64_t sys_renameat(Thread&, DirFd from_dir, GuestString from, DirFd to_dir, GuestString to);
int64_t sys_renameat2(Thread&, DirFd from_dir, GuestString from, DirFd to_dir, GuestString to,
                      Flags flags);
int64_t sys_link(Thread&, GuestString from, GuestString to);
int64_t sys_linkat(Thread&, DirFd from_dir, GuestString from, DirFd to_dir, GuestString to,
                   Flags flags);
int64_t sys_symlink(Thread&, GuestString target, GuestString path);
int64_t sys_symlinkat(Thread&, GuestString target, DirFd dirfd, GuestString path);
int64_t sys_chmod(Thread&, GuestString path, unsigned mode);
int64_t sys_fchmodat(Thread&, DirFd dirfd, GuestString path, unsigned mode);
int64_t sys_fchmodat2(Thread&, DirFd dirfd, GuestString path, unsigned mode, Flags flags);
int64_t sys_chown(Thread&, GuestString path, int uid, int gid);
int64_t sys_lchown(Thread&, GuestString path, int uid, int gid);
int64_t sys_fchownat(Thread&, DirFd dirfd, GuestString path, int uid, int gid, Flags flags);
int64_t sys_truncate(Thread&, GuestString path, int64_t length);
int64_t sys_utime(Thread&, GuestString path, GuestPtr<void> times);
int64_t sys_utimes(Thread&, GuestString path, GuestPtr<void> times);
int64_t sys_futimesat(Thread&, DirFd dirfd, GuestString path, GuestPtr<void> times);
int64_t sys_utimensat(Thread&, DirFd dirfd, GuestString path, GuestPtr<void> times, Flags flags);
int64_t sys_statfs(Thread&, GuestString path, GuestPtr<void> statfs);
int64_t sys_chdir(Thread&, GuestString path);
int64_t sys_getcwd(Thread&, GuestPtr<char> buffer, uint64_t size);
int64_t sys_umask(Thread&, unsigned mask);
int64_t sys_chroot(Thread&, GuestString path);
int64_t sys_getxattr(Thread&, GuestString path, GuestString name, GuestPtr<void> value,
                     uint64_t size);
int64_t sys_lgetxattr(Thread&, GuestString path, GuestString name, GuestPtr<void> value,
                      uint64_t size);
int64_t sys_setxattr(Thread&, GuestString path, GuestString name, GuestPtr<void> value,
                     uint64_t size, Flags flags);
int64_t sys_lsetxattr(Thread&, GuestString path, GuestString name, GuestPtr<void> value,
                      uint64_t size, Flags flags);
int64_t sys_listxattr(Thread&, GuestString path, GuestPtr<void> list, uint64_t size);
int64_t sys_llistxattr(Thread&, GuestString path, GuestPtr<void> list, uint64_t size);
int64_t sys_removexattr(Thread&, GuestString path, GuestString name);
int64_t sys_lremovexattr(Thread&, GuestString path, GuestString name);

// mm.cc: memory.
int64_t sys_mmap(Thread&, GuestPtr<void> address, uint64_t length, Flags prot, Flags flags, int fd,
                 uint64_t offset);
int64_t sys_munmap(Thread&, GuestPtr<void> address, uint64_t length);
int64_t sys_mprotect(Thread&, GuestPtr<void> address, uint64_t length, Flags prot);
int64_t sys_mremap(Thread&, GuestPtr<void> old_address, uint64_t old_length, uint64_t new_length,
                   Flags flags, GuestPtr<void> new_address);
int64_t sys_brk(Thread&, GuestPtr<void> address);
int64_t sys_madvise(Thread&, uint64_t address, uint64_t length, int advice);
int64_t sys_msync(Thread&, uint64_t address, uint64_t length, Flags flags);
int64_t sys_mincore(Thread&, uint64_t address, uint64_t length, GuestPtr<unsigned char> vector);
int64_t sys_mlock(Thread&, uint64_t address, uint64_t length);
int64_t sys_munlock(Thread&, uint64_t address, uint64_t length);
int64_t sys_mlockall(Thread&, Flags flags);
int64_t sys_munlockall(Thread&);

// credentials.cc: user and group ids, supplementary groups and capabilities.
int64_t sys_getuid(Thread&);
int64_t sys_geteuid(Thread&);
int64_t sys_getgid(Thread&);
int64_t sys_getegid(Thread&);
int64_t sys_getresuid(Thread&, GuestPtr<uint32_t> real, GuestPtr<uint32_t> effective,
                      GuestPtr<uint32_t> saved);
int64_t sys_getresgid(Thread&, GuestPtr<uint32_t> real, GuestPtr<uint32_t> effective,
                      GuestPtr<uint32_t> saved);
int64_t sys_getgroups(Thread&, int size, GuestPtr<uint32_t> list);
int64_t sys_setgroups(Thread&, int size, GuestPtr<uint32_t> list);
int64_t sys_setuid(Thread&, int uid);
int64_t sys_setgid(Thread&, int gid);
int64_t sys_setreuid(Thread&, int real, int effective);
int64_t sys_setregid(Thread&, int real, int effective);
int64_t sys_setresuid(Thread&, int real, int effective, int saved);
int64_t sys_setresgid(Thread&, int real, int effective, int saved);
int64_t sys_setfsuid(Thread&, int uid);
int64_t sys_setfsgid(Thread&, int gid);
int64_t sys_capget(Thread&, GuestPtr<void> header, GuestPtr<void> data);
int64_t sys_capset(Thread&, GuestPtr<void> header, GuestPtr<void> data);
// prctl's PR_GET_KEEPCAPS and PR_SET_KEEPCAPS.
int64_t prctl_get_keep_capabilities(Thread&);
int64_t prctl_set_keep_capabilities(Thread&, uint64_t keep);

// process.cc: limits and process-wide state.
int64_t sys_exit(Thread&, int status);
int64_t sys_exit_group(Thread&, int status);
int64_t sys_getpid(Thread&);
int64_t sys_getppid(Thread&);
int64_t sys_gettid(Thread&);
int64_t sys_getpgid(Thread&, int pid);
int64_t sys_getpgrp(Thread&);
int64_t sys_setpgid(Thread&, int pid, int pgid);
int64_t sys_getsid(Thread&, int pid);
int64_t sys_setsid(Thread&);
int64_t sys_uname(Thread&, GuestPtr<void> buffer);
int64_t sys_sethostname(Thread&, GuestPtr<char> name, uint64_t length);
int64_t sys_sysinfo(Thread&, GuestPtr<void> info);
int64_t sys_getrlimit(Thread&, int resource, GuestPtr<void> limit);
int64_t sys_setrlimit(Thread&, int resource, GuestPtr<void> limit);
int64_t sys_prlimit64(Thread&, int pid, int resource, GuestPtr<void> new_limit,
                      GuestPtr<void> old_limit);
int64_t sys_getrusage(Thread&, int who, GuestPtr<void> usage);
int64_t sys_times(Thread&, GuestPtr<void> buffer);
int64_t sys_prctl(Thread&, int option, uint64_t arg2, uint64_t arg3, uint64_t arg4, uint64_t arg5);
int64_t sys_arch_prctl(Thread&, int code, uint64_t address);
int64_t sys_set_tid_address(Thread&, uint64_t address);
int64_t sys_set_robust_list(Thread&, uint64_t head, uint64_t length);
int64_t sys_get_robust_list(Thread&, int pid, GuestPtr<uint64_t> head, GuestPtr<uint64_t> length);
int64_t sys_getrandom(Thread&, GuestPtr<void> buffer, uint64_t length, Flags flags);
int64_t sys_getcpu(Thread&, GuestPtr<unsigned> cpu, GuestPtr<unsigned> node, uint64_t cache);
int64_t sys_sched_yield(Thread&);
int64_t sys_sched_getaffinity(Thread&, int pid, uint64_t size, GuestPtr<void> mask);
int64_t sys_sched_setaffinity(Thread&, int pid, uint64_t size, GuestPtr<void> mask);
int64_t sys_sched_getscheduler(Thread&, int pid);
int64_t sys_sched_getparam(Thread&, int pid, GuestPtr<int> param);
int64_t sys_sched_get_priority_max(Thread&, int policy);
int64_t sys_sched_get_priority_min(Thread&, int policy);
int64_t sys_getpriority(Thread&, int which, int who);
int64_t sys_setpriority(Thread&, int which, int who, int priority);
int64_t sys_kill(Thread&, int pid, int signal);
int64_t sys_tgkill(Thread&, int tgid, int tid, int signal);
int64_t sys_tkill(Thread&, int tid, int signal);
int64_t sys_rt_sigaction(Thread&, int signal, GuestPtr<void> action, GuestPtr<void> old_action,
                         uint64_t size);
int64_t sys_rt_sigprocmask(Thread&, int how, GuestPtr<uint64_t> set, GuestPtr<uint64_t> old_set,
                           uint64_t size);
int64_t sys_sigaltstack(Thread&, GuestPtr<void> stack, GuestPtr<void> old_stack);

// signal.cc, continued: waiting for signals, and timers.
int64_t sys_rt_sigreturn(Thread&);
int64_t sys_rt_sigsuspend(Thread&, GuestPtr<uint64_t> set, uint64_t size);
int64_t sys_pause(Thread&);
int64_t sys_rt_sigpending(Thread&, GuestPtr<uint64_t> set, uint64_t size);
int64_t sys_rt_sigtimedwait(Thread&, GuestPtr<uint64_t> set, GuestPtr<void> info,
                            GuestPtr<void> timeout, uint64_t size);
int64_t sys_rt_sigqueueinfo(Thread&, int pid, int signal, GuestPtr<void> info);
int64_t sys_rt_tgsigqueueinfo(Thread&, int tgid, int tid, int signal, GuestPtr<void> info);
int64_t sys_signalfd(Thread&, int fd, GuestPtr<uint64_t> set, uint64_t size);
int64_t sys_signalfd4(Thread&, int fd, GuestPtr<uint64_t> set, uint64_t size, Flags flags);
int64_t sys_alarm(Thread&, unsigned seconds);
int64_t sys_setitimer(Thread&, int which, GuestPtr<void> value, GuestPtr<void> old);
int64_t sys_getitimer(Thread&, int which, GuestPtr<void> value);
int64_t sys_timer_create(Thread&, int clock, GuestPtr<void> event, GuestPtr<int> id);
int64_t sys_timer_settime(Thread&, int id, Flags flags, GuestPtr<void> value, GuestPtr<void> old);
int64_t sys_timer_gettime(Thread&, int id, GuestPtr<void> value);
int64_t sys_timer_getoverrun(Thread&, int id);
int64_t sys_timer_delete(Thread&, int id);
int64_t sys_timerfd_create(Thread&, int clock, Flags flags);
int64_t sys_timerfd_settime(Thread&, int fd, Flags flags, GuestPtr<void> value, GuestPtr<void> old);
int64_t sys_timerfd_gettime(Thread&, int fd, GuestPtr<void> value);

// time.cc: clocks and sleeping.
int64_t sys_clock_gettime(Thread&, int clock, GuestPtr<void> time);
int64_t sys_clock_getres(Thread&, int clock, GuestPtr<void> resolution);
int64_t sys_gettimeofday(Thread&, GuestPtr<void> time, GuestPtr<void> zone);
int64_t sys_time(Thread&, GuestPtr<int64_t> time);
int64_t sys_nanosleep(Thread&, GuestPtr<void> request, GuestPtr<void> remaining);
int64_t sys_clock_nanosleep(Thread&, int clock, Flags flags, GuestPtr<void> request,
                            GuestPtr<void> remaining);

// exec.cc: replacing the program.
int64_t sys_execve(Thread&, GuestString path, GuestPtr<uint64_t> argv, GuestPtr<uint64_t> envp);
int64_t sys_execveat(Thread&, DirFd dirfd, GuestString path, GuestPtr<uint64_t> argv,
                     GuestPtr<uint64_t> envp, Flags flags);

// clone.cc: creating and reaping processes.
int64_t sys_clone(Thread&, Flags flags, uint64_t stack, GuestPtr<int32_t> parent_tid,
                  GuestPtr<int32_t> child_tid, uint64_t tls);
int64_t sys_clone3(Thread&, GuestPtr<void> arguments, uint64_t size);
int64_t sys_fork(Thread&);
int64_t sys_vfork(Thread&);
int64_t sys_wait4(Thread&, int pid, GuestPtr<int> status, Flags options, GuestPtr<void> usage);
int64_t sys_waitid(Thread&, int type, int id, GuestPtr<void> info, Flags options,
                   GuestPtr<void> usage);

// futex.cc: futexes on guest words.
int64_t sys_futex(Thread&, GuestPtr<uint32_t> word, int operation, uint32_t value,
                  uint64_t timeout_or_value2, GuestPtr<uint32_t> word2, uint32_t value3);

// socket.cc and socket_msg.cc: sockets on the host network; Unix socket paths inside the root.
int64_t sys_socket(Thread&, int domain, int type, int protocol);
int64_t sys_socketpair(Thread&, int domain, int type, int protocol, GuestPtr<int> fds);
int64_t sys_connect(Thread&, int fd, GuestPtr<void> address, unsigned length);
int64_t sys_bind(Thread&, int fd, GuestPtr<void> address, unsigned length);
int64_t sys_listen(Thread&, int fd, int backlog);
int64_t sys_accept(Thread&, int fd, GuestPtr<void> address, GuestPtr<uint32_t> length);
int64_t sys_accept4(Thread&, int fd, GuestPtr<void> address, GuestPtr<uint32_t> length,
                    Flags flags);
int64_t sys_getsockname(Thread&, int fd, GuestPtr<void> address, GuestPtr<uint32_t> length);
int64_t sys_getpeername(Thread&, int fd, GuestPtr<void> address, GuestPtr<uint32_t> length);
int64_t sys_sendto(Thread&, int fd, GuestPtr<void> buffer, uint64_t length, Flags flags,
                   GuestPtr<void> address, unsigned address_length);
int64_t sys_recvfrom(Thread&, int fd, GuestPtr<void> buffer, uint64_t length, Flags flags,
                     GuestPtr<void> address, GuestPtr<uint32_t> address_length);
int64_t sys_sendmsg(Thread&, int fd, GuestPtr<void> message, Flags flags);
int64_t sys_recvmsg(Thread&, int fd, GuestPtr<void> message, Flags flags);
int64_t sys_sendmmsg(Thread&, int fd, GuestPtr<void> vector, unsigned count, Flags flags);
int64_t sys_recvmmsg(Thread&, int fd, GuestPtr<void> vector, unsigned count, Flags flags,
                     GuestPtr<void> timeout);
int64_t sys_shutdown(Thread&, int fd, int how);
int64_t sys_setsockopt(Thread&, int fd, int level, int name, GuestPtr<void> value, unsigned length);
int64_t sys_getsockopt(Thread&, int fd, int level, int name, GuestPtr<void> value,
                       GuestPtr<uint32_t> length);

}  // namespace noah::syscall
