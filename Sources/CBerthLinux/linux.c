#define _GNU_SOURCE
#include "CBerthLinux.h"
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <signal.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <sys/mman.h>

int berth_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve) {
    struct open_how how = { .flags = flags, .mode = mode, .resolve = resolve };
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

int berth_rename_exchange(const char *from, const char *to) {
    return renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_EXCHANGE);
}

int berth_rename_noreplace(const char *from, const char *to) {
    return renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE);
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
    while (environ && environ[count]) count++;
    char *env_end = end;
    for (int i = 0; i < count && environ[i] == env_end; i++) env_end = environ[i] + strlen(environ[i]) + 1;
    size_t title_size = strlen(title) + 1;
    if ((size_t)(env_end - start) < title_size) { errno = ENOSPC; return -1; }   /* never a cut title */
    if ((size_t)(end - start) < title_size) {
        /* The title needs the environment's room too: move the environment first. */
        char **copy = calloc((size_t)count + 1, sizeof *copy);
        if (!copy) return -1;
        for (int i = 0; i < count; i++) {
            copy[i] = strdup(environ[i]);
            if (!copy[i]) {
                for (int j = 0; j < i; j++) free(copy[j]);
                free(copy);
                return -1;
            }
        }
        environ = copy;
        end = env_end;
    }
    memset(start, 0, (size_t)(end - start));
    memcpy(start, title, title_size);
    return 0;
}

int berth_mount_id(int fd, uint64_t *id) {
    struct statx stx;
    memset(&stx, 0, sizeof stx);
    if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx) != 0) return -1;
    if (!(stx.stx_mask & STATX_MNT_ID)) { errno = EOPNOTSUPP; return -1; }
    *id = stx.stx_mnt_id;
    return 0;
}

struct join_request { int count; char **paths; };

/* Moves still under way: a monitor must not exec berth-monitor while its
   thread writes, or the exec would cut the move short. */
static atomic_int joins_pending;

int berth_join_cgroups_pending(void) { return atomic_load(&joins_pending); }

static void *join_cgroups(void *arg) {
    struct join_request *r = arg;
    for (int i = 0; i < r->count; i++) {
        int fd = open(r->paths[i], O_WRONLY | O_CLOEXEC);
        if (fd >= 0) {
            ssize_t unused = write(fd, "0", 1);   /* "0": this whole process */
            (void)unused;
            close(fd);
        }
        free(r->paths[i]);
    }
    free(r->paths);
    free(r);
    atomic_fetch_sub(&joins_pending, 1);
    return NULL;
}

int berth_join_cgroups_async(const char *const *procs, int count) {
    struct join_request *r = calloc(1, sizeof *r);
    if (!r) return -1;
    r->paths = calloc((size_t)(count > 0 ? count : 1), sizeof *r->paths);
    if (!r->paths) { free(r); return -1; }
    for (int i = 0; i < count; i++) {
        r->paths[i] = strdup(procs[i]);
        if (r->paths[i]) r->count = i + 1; else break;
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t thread;
    atomic_fetch_add(&joins_pending, 1);
    int rc = pthread_create(&thread, &attr, join_cgroups, r);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        atomic_fetch_sub(&joins_pending, 1);
        for (int i = 0; i < r->count; i++) free(r->paths[i]);
        free(r->paths);
        free(r);
        errno = rc;
        return -1;
    }
    return 0;
}

int berth_file_contains(int fd, const char *text) {
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size <= 0 || st.st_size > (64 << 20)) return 0;
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) return 0;
    int found = memmem(map, (size_t)st.st_size, text, strlen(text)) != NULL;
    munmap(map, (size_t)st.st_size);
    return found;
}

int berth_memfd_holding(const char *name, const uint8_t *bytes, size_t n) {
    int fd = (int)syscall(SYS_memfd_create, name, 0);
    if (fd < 0) return -1;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, bytes + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) { close(fd); return -1; }
        done += (size_t)w;
    }
    if (lseek(fd, 0, SEEK_SET) != 0) { close(fd); return -1; }
    return fd;
}
