// Messages from the translator itself (not the guest's output), written to the host's standard
// error as "noah: ...".
#pragma once

namespace noah::log {

void error(const char* format, ...) __attribute__((format(printf, 1, 2)));
void info(const char* format, ...) __attribute__((format(printf, 1, 2)));
// The descriptor messages go to; the guest never gets this descriptor.
void set_fd(int fd);
int fd();

}  // namespace noah::log
