// The fallback where idmapped layers are not available: a copy of an image
// layer with every owner shifted through a user namespace's maps, made once
// per layer chain and map and shared by the containers using that map.
#include "system.h"
#include <ftw.h>
#include <sys/xattr.h>

struct shift_map { const uint32_t *ranges; int count; };   /* triples: container, host, size */

static struct {
    const char *src, *dst;
    size_t src_len;
    struct shift_map uids, gids;
    const char **failed;
    char failed_path[4096];
    struct { dev_t dev; ino_t ino; char *path; } *links;
    size_t nlinks, cap;
} job;

static uint32_t shift(const struct shift_map *m, uint32_t id) {
    for (int i = 0; i < m->count; i++) {
        uint32_t c = m->ranges[3 * i], h = m->ranges[3 * i + 1], n = m->ranges[3 * i + 2];
        if (id >= c && (uint64_t)id < (uint64_t)c + n) return h + (id - c);
    }
    return id;   /* outside the map: it shows as the overflow id inside, as it would anyway */
}

static int copy_xattrs(const char *from, const char *to) {
    char names[65536];
    ssize_t n = llistxattr(from, names, sizeof names);
    if (n < 0) return errno == ENOTSUP ? 0 : -1;
    for (char *name = names; name < names + n; name += strlen(name) + 1) {
        char value[65536];
        ssize_t v = lgetxattr(from, name, value, sizeof value);
        if (v < 0) return -1;
        if (lsetxattr(to, name, value, (size_t)v, 0) != 0) return -1;
    }
    return 0;
}

static int copy_file(const char *from, const char *to, mode_t mode) {
    int in = open(from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (in < 0) return -1;
    int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 07777);
    if (out < 0) { int e = errno; close(in); errno = e; return -1; }
    int rc = 0;
    for (;;) {
        ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
        if (n == 0) break;
        if (n > 0) continue;
        if (errno != EXDEV && errno != ENOSYS && errno != EINVAL) { rc = -1; break; }
        char buf[65536];   /* no copy_file_range across these file systems: read and write */
        ssize_t r;
        while ((r = read(in, buf, sizeof buf)) > 0)
            if (write(out, buf, (size_t)r) != r) { rc = -1; break; }
        if (r < 0) rc = -1;
        break;
    }
    int e = errno;
    close(in);
    close(out);
    errno = e;
    return rc;
}

static int remember_link(const struct stat *st, const char *path) {
    if (job.nlinks == job.cap) {
        size_t cap = job.cap ? job.cap * 2 : 64;
        void *grown = realloc(job.links, cap * sizeof *job.links);
        if (!grown) return -1;
        job.links = grown;
        job.cap = cap;
    }
    job.links[job.nlinks].dev = st->st_dev;
    job.links[job.nlinks].ino = st->st_ino;
    job.links[job.nlinks].path = strdup(path);
    if (!job.links[job.nlinks].path) return -1;
    job.nlinks++;
    return 0;
}

static const char *linked(const struct stat *st) {
    for (size_t i = 0; i < job.nlinks; i++)
        if (job.links[i].dev == st->st_dev && job.links[i].ino == st->st_ino) return job.links[i].path;
    return NULL;
}

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw) {
    (void)ftw;
    char to[4096];
    if (snprintf(to, sizeof to, "%s%s", job.dst, path + job.src_len) >= (int)sizeof to) { errno = ENAMETOOLONG; goto failed; }
    if (type == FTW_NS || type == FTW_DNR) goto failed;
    mode_t kind = st->st_mode & S_IFMT;
    if (kind != S_IFDIR && st->st_nlink > 1) {
        const char *first = linked(st);
        if (first) { if (link(first, to) != 0) goto failed; return 0; }
        if (remember_link(st, to) != 0) goto failed;
    }
    int rc;
    switch (kind) {
    case S_IFDIR: rc = path[job.src_len] == 0 ? 0 : mkdir(to, st->st_mode & 07777); break;
    case S_IFREG: rc = copy_file(path, to, st->st_mode); break;
    case S_IFLNK: {
        char target[4096];
        ssize_t n = readlink(path, target, sizeof target - 1);
        if (n < 0) goto failed;
        target[n] = 0;
        rc = symlink(target, to);
        break;
    }
    default: rc = mknod(to, st->st_mode, st->st_rdev); break;
    }
    if (rc != 0) goto failed;
    if (copy_xattrs(path, to) != 0) goto failed;
    if (lchown(to, shift(&job.uids, st->st_uid), shift(&job.gids, st->st_gid)) != 0) goto failed;
    /* chown clears setuid and setgid: the mode goes on after it. */
    if (kind != S_IFLNK && chmod(to, st->st_mode & 07777) != 0) goto failed;
    struct timespec times[2] = {st->st_atim, st->st_mtim};
    utimensat(AT_FDCWD, to, times, AT_SYMLINK_NOFOLLOW);
    return 0;
failed:
    snprintf(job.failed_path, sizeof job.failed_path, "%s", path);
    *job.failed = job.failed_path;
    return -1;
}

/* Directory times again, deepest first: making their entries changed them. */
static int restore_dir_times(const char *path, const struct stat *st, int type, struct FTW *ftw) {
    (void)ftw;
    if (type != FTW_DP) return 0;
    char to[4096];
    if (snprintf(to, sizeof to, "%s%s", job.dst, path + job.src_len) >= (int)sizeof to) return 0;
    struct timespec times[2] = {st->st_atim, st->st_mtim};
    utimensat(AT_FDCWD, to, times, AT_SYMLINK_NOFOLLOW);
    return 0;
}

int berth_shifted_copy(const char *src, const char *dst, const uint32_t *uid_ranges, int nuid,
                       const uint32_t *gid_ranges, int ngid, const char **failed) {
    memset(&job, 0, sizeof job);
    job.src = src;
    job.dst = dst;
    job.src_len = strlen(src);
    job.uids.ranges = uid_ranges; job.uids.count = nuid;
    job.gids.ranges = gid_ranges; job.gids.count = ngid;
    job.failed = failed;
    *failed = src;
    int rc = nftw(src, visit, 64, FTW_PHYS);
    int err = errno;
    if (rc == 0) nftw(src, restore_dir_times, 64, FTW_PHYS | FTW_DEPTH);
    for (size_t i = 0; i < job.nlinks; i++) free(job.links[i].path);
    free(job.links);
    errno = err;
    return rc == 0 ? 0 : -1;
}
