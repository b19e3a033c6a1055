#include "translator/util/log.h"

#include <unistd.h>

#include <cstdarg>
#include <cstdio>

namespace noah::log {
namespace {

int log_fd = STDERR_FILENO;

void write_line(const char* prefix, const char* format, va_list args) {
  char buffer[2048];
  int length = snprintf(buffer, sizeof buffer, "%s", prefix);
  int body = vsnprintf(buffer + length, sizeof buffer - length - 1, format, args);
  if (body < 0) return;
  length += body;
  if (length > static_cast<int>(sizeof buffer) - 2) length = sizeof buffer - 2;
  buffer[length++] = '\n';
  // One write per line keeps lines whole when several processes share the descriptor.
  ssize_t ignored = ::write(log_fd, buffer, length);
  (void)ignored;
}

}  // namespace

void error(const char* format, ...) {
  va_list args;
  va_start(args, format);
  write_line("noah: ", format, args);
  va_end(args);
}

void info(const char* format, ...) {
  va_list args;
  va_start(args, format);
  write_line("noah: ", format, args);
  va_end(args);
}

void set_fd(int fd) {
  log_fd = fd;
}
int fd() {
  return log_fd;
}

}  // namespace noah::log
