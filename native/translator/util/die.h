// Ending this host process by a signal, so its parent gets the signal that ended the guest program.
#pragma once

namespace noah {

// Dies of `signal` with its default action and no core file, because the guest's crash is not
// the translator's. Exits 128+signal if the signal does not end the process.
[[noreturn]] void die_by_signal(int signal);

}  // namespace noah
