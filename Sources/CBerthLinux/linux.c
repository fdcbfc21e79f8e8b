#define _GNU_SOURCE
#include "CBerthLinux.h"
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

int berth_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve) {
    struct open_how how = { .flags = flags, .mode = mode, .resolve = resolve };
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

uint64_t berth_resolve_in_root(void) { return RESOLVE_IN_ROOT; }
uint64_t berth_resolve_no_magiclinks(void) { return RESOLVE_NO_MAGICLINKS; }
uint64_t berth_resolve_no_symlinks(void) { return RESOLVE_NO_SYMLINKS; }
uint64_t berth_resolve_beneath(void) { return RESOLVE_BENEATH; }

int berth_o_path(void) { return O_PATH; }

uint64_t berth_makedev(uint32_t major, uint32_t minor) { return makedev(major, minor); }
uint32_t berth_major(uint64_t dev) { return major(dev); }
uint32_t berth_minor(uint64_t dev) { return minor(dev); }

long berth_copy_file_range(int fd_in, int fd_out, unsigned long len) {
    return (long)copy_file_range(fd_in, NULL, fd_out, NULL, len, 0);
}

pid_t berth_cgroup_touch(const char *procs) {
    long pid = syscall(SYS_clone, (unsigned long)SIGCHLD, NULL, NULL, NULL, NULL);
    if (pid != 0) return (pid_t)pid;
    int fd = open(procs, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t unused = write(fd, "0", 1);
        (void)unused;
    }
    _exit(0);
}

extern char **environ;

int berth_set_proctitle(int argc, char **argv, const char *title) {
    if (argc < 1 || !argv[0]) return -1;
    /* The argv strings, then the environment strings, lie end to end. */
    char *start = argv[0], *end = argv[0];
    for (int i = 0; i < argc; i++) {
        if (argv[i] != end) break;
        end = argv[i] + strlen(argv[i]) + 1;
    }
    int count = 0;
    while (environ[count]) count++;
    char **copy = malloc((size_t)(count + 1) * sizeof *copy);
    if (!copy) return -1;
    for (int i = 0; i < count; i++) {
        if (environ[i] == end) end = environ[i] + strlen(environ[i]) + 1;
        copy[i] = strdup(environ[i]);
        if (!copy[i]) return -1;
    }
    copy[count] = NULL;
    environ = copy;
    size_t room = (size_t)(end - start);
    if (room < 2) return -1;
    memset(start, 0, room);
    strncpy(start, title, room - 1);
    return 0;
}
