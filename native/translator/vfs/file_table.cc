#include "translator/vfs/file_table.h"

#include <unistd.h>

#include <cerrno>

namespace noah::vfs {

OpenFile::~OpenFile() {
  if (host_fd >= 0) ::close(host_fd);
}

int FileTable::install(std::shared_ptr<OpenFile> file, bool cloexec, int minimum) {
  std::lock_guard lock(mutex_);
  if (minimum < 0) return -EINVAL;
  for (int fd = minimum; fd < limit_; fd++) {
    if (fd >= static_cast<int>(entries_.size())) entries_.resize(fd + 1);
    if (!entries_[fd].file) {
      entries_[fd] = Entry{std::move(file), cloexec};
      return fd;
    }
  }
  return minimum >= limit_ ? -EINVAL : -EMFILE;
}

int FileTable::install_at(int fd, std::shared_ptr<OpenFile> file, bool cloexec) {
  std::lock_guard lock(mutex_);
  if (fd < 0 || fd >= limit_) return -EBADF;
  if (fd >= static_cast<int>(entries_.size())) entries_.resize(fd + 1);
  entries_[fd] = Entry{std::move(file), cloexec};
  return fd;
}

std::shared_ptr<OpenFile> FileTable::get(int fd) const {
  std::lock_guard lock(mutex_);
  if (fd < 0 || fd >= static_cast<int>(entries_.size())) return nullptr;
  return entries_[fd].file;
}

int FileTable::close(int fd) {
  if (!get(fd)) return -EBADF;
  entries_[fd] = Entry{};
  return 0;
}

bool FileTable::cloexec(int fd) const {
  return get(fd) && entries_[fd].cloexec;
}

int FileTable::set_cloexec(int fd, bool value) {
  if (!get(fd)) return -EBADF;
  entries_[fd].cloexec = value;
  return 0;
}

void FileTable::close_on_exec() {
  std::lock_guard lock(mutex_);
  for (auto& entry : entries_) {
    if (entry.cloexec) entry = Entry{};
  }
}

std::vector<int> FileTable::open_descriptors() const {
  std::lock_guard lock(mutex_);
  std::vector<int> result;
  for (size_t fd = 0; fd < entries_.size(); fd++) {
    if (entries_[fd].file) result.push_back(static_cast<int>(fd));
  }
  return result;
}

}  // namespace noah::vfs
