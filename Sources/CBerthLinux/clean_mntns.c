// Berth's clean mount namespace: the template a container's mount namespace
// is copied from.
//
// unshare(CLONE_NEWNS) copies every mount of the caller's namespace, and a
// container then unmounts them all again after pivot_root. On a host that
// runs 1,000 containers, each with its overlay mounted, that is 1,000 mounts
// copied and 1,000 unmounted for every new container (about 2.5 ms here,
// docs/benchmarks.md "A clean mount namespace to copy"). So the first
// process of a container enters this namespace instead and copies it: it
// holds a small tmpfs as its root, with an empty /c for the container's root
// and the host's /proc (so /proc/self/fd paths work before pivot_root), and
// nothing else, however many containers run.
//
// It is kept alive by a bind mount of its nsfs file at `pin`, as
// `ip netns` keeps network namespaces (/run/netns) and Docker its
// /run/docker/netns/default: one mount a boot, made on first use, under a
// lock. Unmounting it is harmless; the next container makes it again.
#include "system.h"

#include <linux/nsfs.h>
#include <sys/file.h>

/* An fd of a mount namespace, or -1 (a plain file, another kind of namespace). */
static int open_mntns(const char *pin) {
    int fd = open(pin, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return -1;
    if (ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNS) {
        close(fd);
        errno = EINVAL;
        return -1;
    }
    return fd;
}

/* The helper: a private copy of our namespace, reduced to a tmpfs root with
   /c and /proc. It says `ready` on `report`, then waits until `hold` reads
   EOF (the caller has pinned its namespace, or given up). Raw system calls
   only: it is a child of a raw clone of a process that may have threads. */
static void build(const char *dir, int report, int hold) {
    char ok = 0;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
        mount("berth-clean", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700,size=16k,nr_inodes=16") == 0 &&
        chdir(dir) == 0 && mkdir("c", 0700) == 0 && mkdir("proc", 0555) == 0 &&
        mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0 &&
        syscall(SYS_pivot_root, ".", ".") == 0 && umount2(".", MNT_DETACH) == 0 && chdir("/") == 0)
        ok = 1;
    if (write(report, &ok, 1) != 1) _exit(1);
    char b;
    while (read(hold, &b, 1) < 0 && errno == EINTR) {}
    _exit(0);
}

/* Pins the namespace of process `pid` at `pin`. A mount namespace's file may
   not be bound onto a shared mount (the kernel would have to copy it into
   the peers' namespaces, EINVAL); then the pin's directory becomes a
   private mount of itself first, as `ip netns` does for /run/netns. */
static int pin_namespace(pid_t pid, const char *pin, const char *dir) {
    char source[64];
    snprintf(source, sizeof source, "/proc/%d/ns/mnt", (int)pid);
    int fd = open(pin, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return -1;
    close(fd);
    if (mount(source, pin, NULL, MS_BIND, NULL) == 0) return 0;
    if (errno != EINVAL) return -1;
    if (mount(dir, dir, NULL, MS_BIND | MS_REC, NULL) != 0) return -1;
    if (mount(NULL, dir, NULL, MS_PRIVATE, NULL) == 0 && mount(source, pin, NULL, MS_BIND, NULL) == 0) return 0;
    /* Not what refused it: take the bind of the directory off again, so a
       refusal does not stack one more of it at every start. */
    int e = errno;
    umount2(dir, MNT_DETACH);
    errno = e;
    return -1;
}

int berth_clean_mntns(const char *dir, const char *pin, const char *lock) {
    /* The child makes its clones private with mount_setattr (Linux 5.12);
       an older kernel answers ENOSYS, and the host's namespace is copied. */
    if (syscall(SYS_mount_setattr, -1, "", AT_EMPTY_PATH, NULL, 0) != 0 && errno == ENOSYS) return -1;
    int fd = open_mntns(pin);
    if (fd >= 0) return fd;
    mkdir(dir, 0755);   /* /run/berth, which networks make too; EEXIST is the usual answer */
    int lk = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (lk < 0) return -1;
    while (flock(lk, LOCK_EX) != 0) {
        if (errno != EINTR) { int e = errno; close(lk); errno = e; return -1; }
    }
    /* Another berth may have made it meanwhile. Something else bound over
       the pin (another kind of namespace, a file) is taken off, one mount at
       a time, until the pin below shows or nothing is mounted there. */
    for (int i = 0; i < 16; i++) {
        fd = open_mntns(pin);
        if (fd >= 0) { close(lk); return fd; }
        if (umount2(pin, MNT_DETACH | UMOUNT_NOFOLLOW) != 0) break;
    }
    int report[2], hold[2];
    if (pipe2(report, O_CLOEXEC) != 0) { int e = errno; close(lk); errno = e; return -1; }
    if (pipe2(hold, O_CLOEXEC) != 0) { int e = errno; close(report[0]); close(report[1]); close(lk); errno = e; return -1; }
    long pid = syscall(SYS_clone, (unsigned long)(CLONE_NEWNS | SIGCHLD), NULL, NULL, NULL, NULL);
    if (pid == 0) {
        close(report[0]);
        close(hold[1]);
        build(dir, report[1], hold[0]);
    }
    int err = errno;
    close(report[1]);
    close(hold[0]);
    int rc = -1;
    char ok = 0;
    if (pid > 0) {
        ssize_t n;
        while ((n = read(report[0], &ok, 1)) < 0 && errno == EINTR) {}
        if (n == 1 && ok == 1) {
            rc = pin_namespace((pid_t)pid, pin, dir);
            err = errno;
        } else {
            err = EPERM;
        }
    }
    close(report[0]);
    close(hold[1]);   /* the helper's EOF: it exits */
    if (pid > 0) while (waitpid((pid_t)pid, NULL, 0) < 0 && errno == EINTR) {}
    fd = rc == 0 ? open_mntns(pin) : -1;
    if (fd < 0 && rc == 0) err = errno;
    close(lk);
    errno = err;
    return fd;
}
