// Seccomp filters: compiled from a resolved profile with libseccomp in the
// monitor (or the `exec` CLI) before any fork, so the container's child only
// has to hand the finished BPF program to the kernel.
//
// libseccomp is dlopen'd on first use instead of linked: `berth ps` and every
// other command that starts no container pay nothing for it, not even the
// dynamic loader's time to map it.
#define _GNU_SOURCE
#include "CBerthSeccomp.h"
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

static struct {
    int loaded;                       /* 0 not tried, 1 ok, -1 failed */
    char error[160];
    scmp_filter_ctx (*init)(uint32_t);
    void (*release)(scmp_filter_ctx);
    uint32_t (*arch_resolve_name)(const char *);
    int (*arch_add)(scmp_filter_ctx, uint32_t);
    int (*attr_set)(scmp_filter_ctx, enum scmp_filter_attr, uint32_t);
    int (*syscall_resolve_name)(const char *);
    int (*rule_add_array)(scmp_filter_ctx, uint32_t, int, unsigned int, const struct scmp_arg_cmp *);
    int (*export_bpf)(const scmp_filter_ctx, int);
} lib;

static int load_library(void) {
    if (lib.loaded) return lib.loaded > 0 ? 0 : -1;
    lib.loaded = -1;
    void *h = dlopen("libseccomp.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(lib.error, sizeof lib.error, "cannot load libseccomp.so.2 (%s)", dlerror());
        return -1;
    }
#define SYM(field, name) \
    if (!(*(void **)&lib.field = dlsym(h, name))) { \
        snprintf(lib.error, sizeof lib.error, "libseccomp.so.2 has no %s", name); \
        return -1; \
    }
    SYM(init, "seccomp_init")
    SYM(release, "seccomp_release")
    SYM(arch_resolve_name, "seccomp_arch_resolve_name")
    SYM(arch_add, "seccomp_arch_add")
    SYM(attr_set, "seccomp_attr_set")
    SYM(syscall_resolve_name, "seccomp_syscall_resolve_name")
    SYM(rule_add_array, "seccomp_rule_add_array")
    SYM(export_bpf, "seccomp_export_bpf")
#undef SYM
    lib.loaded = 1;
    return 0;
}

/* SCMP_ARCH_X86_64 -> x86_64, libseccomp's own spelling. */
static uint32_t arch_token(const char *name) {
    char lower[64];
    const char *p = strncmp(name, "SCMP_ARCH_", 10) == 0 ? name + 10 : name;
    size_t i = 0;
    for (; p[i] && i < sizeof lower - 1; i++) lower[i] = (char)tolower((unsigned char)p[i]);
    lower[i] = 0;
    return lib.arch_resolve_name(lower);
}

/* Reads everything libseccomp exported into a memfd. */
static int read_program(int fd, struct berth_seccomp_program *out) {
    struct stat st;
    if (fstat(fd, &st) != 0) return -1;
    if (st.st_size <= 0 || st.st_size % 8 != 0 || st.st_size / 8 > 4096) { errno = E2BIG; return -1; }   /* BPF_MAXINSNS */
    char *buf = malloc((size_t)st.st_size);
    if (!buf) return -1;
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) { free(buf); if (n == 0) errno = EIO; return -1; }
        got += (size_t)n;
    }
    out->filter = buf;
    out->len = (unsigned short)(st.st_size / 8);
    return 0;
}

int berth_seccomp_compile(uint32_t default_action, const char *const *arches, int narches,
                          const struct berth_seccomp_rule *rules, int nrules,
                          struct berth_seccomp_program *out, char *error, size_t error_size) {
    out->filter = NULL;
    out->len = 0;
    if (load_library() != 0) {
        snprintf(error, error_size, "%s", lib.error);
        return -1;
    }
    scmp_filter_ctx ctx = lib.init(default_action);
    if (!ctx) { snprintf(error, error_size, "seccomp_init refused the default action 0x%x", default_action); return -1; }
    int rc = 0;
    /* A binary tree of syscall numbers instead of a linear list: fewer
       comparisons for each syscall the container makes. Older libseccomp
       lacks the attribute; then the list it is. */
    lib.attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    for (int i = 0; i < narches; i++) {
        uint32_t token = arch_token(arches[i]);
        if (token == 0) continue;                      /* an architecture this libseccomp does not know */
        rc = lib.arch_add(ctx, token);
        if (rc != 0 && rc != -EEXIST) {
            snprintf(error, error_size, "seccomp_arch_add %s: %s", arches[i], strerror(-rc));
            goto out;
        }
    }
    for (int i = 0; i < nrules; i++) {
        const struct berth_seccomp_rule *r = &rules[i];
        if (r->action == default_action) continue;     /* libseccomp refuses these (EACCES); they change nothing */
        int nr = lib.syscall_resolve_name(r->name);
        if (nr == __NR_SCMP_ERROR) continue;           /* unknown here: skipped, as Docker does */
        struct scmp_arg_cmp cmp[6];
        unsigned n = r->nargs < 6 ? r->nargs : 6;
        for (unsigned j = 0; j < n; j++) {
            cmp[j].arg = r->args[j].index;
            cmp[j].op = (enum scmp_compare)r->args[j].op;
            cmp[j].datum_a = r->args[j].value;
            cmp[j].datum_b = r->args[j].value_two;
        }
        rc = lib.rule_add_array(ctx, r->action, nr, n, cmp);
        if (rc != 0) {
            snprintf(error, error_size, "seccomp_rule_add for %s: %s", r->name, strerror(-rc));
            goto out;
        }
    }
    int fd = memfd_create("berth-seccomp", MFD_CLOEXEC);
    if (fd < 0) { rc = -errno; snprintf(error, error_size, "memfd_create: %s", strerror(errno)); goto out; }
    rc = lib.export_bpf(ctx, fd);
    long instructions = rc == 0 ? (long)(lseek(fd, 0, SEEK_END) / 8) : 0;
    if (rc != 0) {
        snprintf(error, error_size, "seccomp_export_bpf: %s", strerror(-rc));
    } else if (instructions > 4096) {                        /* BPF_MAXINSNS */
        rc = -E2BIG;
        snprintf(error, error_size, "the filter has %ld instructions, more than the kernel's limit of 4096", instructions);
    } else if (read_program(fd, out) != 0) {
        rc = -errno;
        snprintf(error, error_size, "read the exported filter: %s", strerror(errno));
    }
    close(fd);
out:
    lib.release(ctx);
    return rc == 0 ? 0 : -1;
}

void berth_seccomp_free(struct berth_seccomp_program *program) {
    free(program->filter);
    program->filter = NULL;
    program->len = 0;
}

int berth_seccomp_mode(void) { return prctl(PR_GET_SECCOMP, 0, 0, 0, 0); }
