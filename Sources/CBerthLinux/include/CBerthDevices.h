#ifndef CBERTH_DEVICES_H
#define CBERTH_DEVICES_H
#include <stdint.h>

/// One device cgroup rule (`c 1:3 rwm`), for the cgroup v2 program.
struct berth_device_rule {
    int allow;          /* 1: allow; 0: deny (the program denies whatever no allow rule matches) */
    char type;          /* 'a' all, 'c' char, 'b' block */
    int access;         /* bits: 1 mknod, 2 read, 4 write (BPF_DEVCG_ACC_*) */
    int64_t major;      /* -1: any */
    int64_t minor;      /* -1: any */
};

struct bpf_insn;

/// Assembles the BPF_CGROUP_DEVICE program of an allowlist into `out`;
/// returns the number of instructions, or -1 (E2BIG) if they do not fit.
int berth_devices_program(const struct berth_device_rule *rules, int count,
                          struct bpf_insn *out, int capacity);

/// Loads the allowlist program and attaches it to the
/// cgroup v2 directory `cgroup_fd` (BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI).
/// The verifier's message, if any, goes to `log`. 0, or -1 with errno.
int berth_devices_attach(int cgroup_fd, const struct berth_device_rule *rules, int count,
                         char *log, unsigned log_size);

#endif
