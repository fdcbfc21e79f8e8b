// Terminals: window sizes, bytes waiting on a descriptor, raw mode for the caller's terminal, and a pty
// made on the host (the chroot backend's -t).
#include "system.h"

int berth_get_winsize(int fd, unsigned short *rows, unsigned short *cols) {
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) != 0) return -1;
    *rows = ws.ws_row;
    *cols = ws.ws_col;
    return 0;
}

int berth_set_winsize(int fd, unsigned short rows, unsigned short cols) {
    struct winsize ws = { .ws_row = rows, .ws_col = cols };
    return ioctl(fd, TIOCSWINSZ, &ws);
}

int berth_termios_size(void) { return (int)sizeof(struct termios); }

int berth_make_raw(int fd, void *saved, int size) {
    if (size < (int)sizeof(struct termios)) { errno = EINVAL; return -1; }
    struct termios t;
    if (tcgetattr(fd, &t) != 0) return -1;
    memcpy(saved, &t, sizeof t);
    cfmakeraw(&t);
    return tcsetattr(fd, TCSADRAIN, &t);
}

int berth_restore_termios(int fd, const void *saved) {
    return tcsetattr(fd, TCSADRAIN, (const struct termios *)saved);
}

int berth_openpty(int *master, int *slave) {
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0) return -1;
    if (grantpt(m) != 0 || unlockpt(m) != 0) { close(m); return -1; }
    int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
    if (s < 0) { close(m); return -1; }
    *master = m;
    *slave = s;
    return 0;
}

int berth_bytes_readable(int fd) {
    int n = 0;
    return ioctl(fd, FIONREAD, &n) == 0 ? n : 0;
}
