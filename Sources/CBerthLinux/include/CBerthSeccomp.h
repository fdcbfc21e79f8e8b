#ifndef CBERTH_SECCOMP_H
#define CBERTH_SECCOMP_H
#include <stddef.h>
#include <stdint.h>

/// One comparison of a syscall argument (libseccomp's struct scmp_arg_cmp).
struct berth_seccomp_arg {
    uint32_t index;                     /* 0..5 */
    uint32_t op;                        /* enum scmp_compare: 1 NE … 7 MASKED_EQ */
    uint64_t value, value_two;
};

/// One rule of a resolved profile: a syscall by name, the kernel's
/// SECCOMP_RET_* action, and comparisons that must all hold.
struct berth_seccomp_rule {
    const char *name;
    uint32_t action;
    uint32_t nargs;
    const struct berth_seccomp_arg *args;
};

/// A compiled classic-BPF program (struct sock_filter[len]), malloc'd.
struct berth_seccomp_program {
    void *filter;
    unsigned short len;
};

/// Compiles a filter with libseccomp, which is dlopen'd here (and only
/// here: commands that start no container never load it). `arches` are
/// libseccomp names (`SCMP_ARCH_X86`), added beside the native one. A
/// syscall this libseccomp does not know is skipped (as Docker and runc do);
/// a rule whose action is the default one is skipped too. Call before any
/// fork: the child only loads the result (berth_spawn_config.seccomp_*).
/// Returns 0, or -1 with a message in `error` (sized `error_size`).
int berth_seccomp_compile(uint32_t default_action, const char *const *arches, int narches,
                          const struct berth_seccomp_rule *rules, int nrules,
                          struct berth_seccomp_program *out, char *error, size_t error_size);

/// Frees a compiled program.
void berth_seccomp_free(struct berth_seccomp_program *program);

/// This process's seccomp mode (prctl PR_GET_SECCOMP): 0 for none, 2 under
/// a filter, -1 when a filter refuses the question (so: under one).
int berth_seccomp_mode(void);

#endif
