// Prints "ready ROWS COLS", then "winch ROWS COLS" with the terminal's size after each SIGWINCH
// (signals that arrive together count once, as Linux merges them), until SIGINT ends it.
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t resized;

static void on_winch(int signal) {
  (void)signal;
  resized = 1;
}

static int print_size(const char* label) {
  struct winsize size;
  if (ioctl(STDIN_FILENO, TIOCGWINSZ, &size) < 0) {
    perror("TIOCGWINSZ");
    return 1;
  }
  printf("%s %d %d\n", label, size.ws_row, size.ws_col);
  fflush(stdout);
  return 0;
}

int main(void) {
  struct sigaction action = {0};
  action.sa_handler = on_winch;
  if (sigaction(SIGWINCH, &action, NULL) < 0) {
    perror("sigaction");
    return 1;
  }
  if (print_size("ready") != 0) return 1;
  for (;;) {
    if (resized) {
      resized = 0;
      if (print_size("winch") != 0) return 1;
    }
    struct timespec pause = {0, 50 * 1000 * 1000};
    nanosleep(&pause, NULL);
  }
}
