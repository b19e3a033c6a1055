// The guest's file descriptor table. Guest descriptor numbers are allocated as Linux does
// (lowest free first) and map to host descriptors, which the translator keeps close-on-exec.
#pragma once

#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <vector>

namespace noah::vfs {

struct DirectoryListing;  // vfs/synthetic.h

// An open file description: shared by descriptors made with dup, like Linux's struct file.
struct OpenFile {
  explicit OpenFile(int host_fd, std::string guest_path = "")
      : host_fd(host_fd), guest_path(std::move(guest_path)) {}
  ~OpenFile();
  OpenFile(const OpenFile&) = delete;
  OpenFile& operator=(const OpenFile&) = delete;

  int host_fd;
  std::string guest_path;  // as opened; /proc/self/fd readlinks show it
  // The entries of a synthesized directory (/proc, /dev, /sys), from its first getdents64.
  std::shared_ptr<DirectoryListing> listing;
};

class FileTable {
 public:
  // Installs `file` at the lowest free number >= `minimum`. Returns it, or -EMFILE.
  int install(std::shared_ptr<OpenFile> file, bool cloexec, int minimum = 0);
  // Installs `file` at exactly `fd`, closing what was there.
  int install_at(int fd, std::shared_ptr<OpenFile> file, bool cloexec);
  std::shared_ptr<OpenFile> get(int fd) const;
  int close(int fd);
  bool cloexec(int fd) const;
  int set_cloexec(int fd, bool value);
  // Closes every descriptor marked close-on-exec, as execve does.
  void close_on_exec();
  int limit() const { return limit_; }
  void set_limit(int limit) { limit_ = limit; }
  // Copy for a vfork child, which must not change its parent's table.
  FileTable(const FileTable& other);
  FileTable() = default;
  // Descriptor numbers in use, ascending.
  std::vector<int> open_descriptors() const;
  // In a forked child, where the parent's threads that held the lock do not exist.
  void reset_lock_after_fork() { new (&mutex_) std::mutex(); }

 private:
  struct Entry {
    std::shared_ptr<OpenFile> file;
    bool cloexec = false;
  };
  mutable std::mutex mutex_;  // threads share the table
  std::vector<Entry> entries_;
  int limit_ = 1024;
};

}  // namespace noah::vfs
