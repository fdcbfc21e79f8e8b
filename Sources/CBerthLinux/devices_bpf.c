// The device allowlist of a container on cgroup v2, as a BPF_CGROUP_DEVICE
// program. cgroup v2 has no `devices` controller: the kernel instead runs
// the programs attached to a cgroup on every open and mknod of a device
// node by one of its processes, and refuses the access when one returns 0.
//
// The program is assembled here by hand (no clang, no libbpf), the way crun
// and runc do it: load the request from the context, then one block per
// allow rule that jumps to the next block on any mismatch and returns 1 on a
// match; the end returns 0 (deny). Order does not matter for an allowlist.
#define _GNU_SOURCE
#include "CBerthDevices.h"
#include <errno.h>
#include <linux/bpf.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Instructions are 8 bytes: opcode, dst:4 src:4, 16-bit offset, 32-bit immediate. */
static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    struct bpf_insn i;
    memset(&i, 0, sizeof i);
    i.code = code;
    i.dst_reg = dst & 0xf;
    i.src_reg = src & 0xf;
    i.off = off;
    i.imm = imm;
    return i;
}

/* Registers: r1 holds the context on entry; r2..r5 the request below. */
enum { R0 = 0, R1, R2, R3, R4, R5, R6 };

#define LOAD_CTX32(dst, field) insn(BPF_LDX | BPF_MEM | BPF_W, dst, R1, offsetof(struct bpf_cgroup_dev_ctx, field), 0)
#define ALU32_IMM(op, dst, imm) insn(BPF_ALU | (op) | BPF_K, dst, 0, 0, imm)
#define MOV32_REG(dst, src) insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0)
#define MOV64_IMM(dst, imm) insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm)
#define JNE_IMM(dst, imm, off) insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, off, imm)
#define JNE_REG(dst, src, off) insn(BPF_JMP | BPF_JNE | BPF_X, dst, src, off, 0)
#define EXIT() insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

int berth_devices_program(const struct berth_device_rule *rules, int count,
                          struct bpf_insn *out, int capacity) {
    int n = 0;
#define EMIT(i) do { if (n >= capacity) { errno = E2BIG; return -1; } out[n++] = (i); } while (0)
    /* r2 = device type (low 16 bits), r3 = access wanted (high 16 bits), r4 = major, r5 = minor. */
    EMIT(LOAD_CTX32(R2, access_type));
    EMIT(ALU32_IMM(BPF_AND, R2, 0xffff));
    EMIT(LOAD_CTX32(R3, access_type));
    EMIT(ALU32_IMM(BPF_RSH, R3, 16));
    EMIT(LOAD_CTX32(R4, major));
    EMIT(LOAD_CTX32(R5, minor));
    for (int r = 0; r < count; r++) {
        const struct berth_device_rule *rule = &rules[r];
        if (!rule->allow) continue;   /* default deny: only allow rules make code */
        int type = rule->type == 'b' ? BPF_DEVCG_DEV_BLOCK : rule->type == 'c' ? BPF_DEVCG_DEV_CHAR : 0;
        int access = rule->access & (BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE);
        int full = access == (BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE);
        /* The block's length decides the jump offsets: count its checks first. */
        int checks = (type ? 1 : 0) + (full ? 0 : 3) + (rule->major >= 0 ? 1 : 0) + (rule->minor >= 0 ? 1 : 0);
        int left = checks + 2;   /* instructions after the first check, up to and including the exit */
        if (type) { left--; EMIT(JNE_IMM(R2, type, (int16_t)left)); }
        if (!full) {
            /* Every bit asked for must be allowed: (wanted & allowed) == wanted. */
            EMIT(MOV32_REG(R6, R3)); left--;
            EMIT(ALU32_IMM(BPF_AND, R6, access)); left--;
            left--; EMIT(JNE_REG(R6, R3, (int16_t)left));
        }
        if (rule->major >= 0) { left--; EMIT(JNE_IMM(R4, (int32_t)rule->major, (int16_t)left)); }
        if (rule->minor >= 0) { left--; EMIT(JNE_IMM(R5, (int32_t)rule->minor, (int16_t)left)); }
        EMIT(MOV64_IMM(R0, 1));
        EMIT(EXIT());
    }
    EMIT(MOV64_IMM(R0, 0));
    EMIT(EXIT());
#undef EMIT
    return n;
}

static long sys_bpf(int cmd, union bpf_attr *attr) {
    return syscall(SYS_bpf, cmd, attr, sizeof *attr);
}

int berth_devices_attach(int cgroup_fd, const struct berth_device_rule *rules, int count,
                         char *log, unsigned log_size) {
    /* At most 8 instructions a rule, 6 before and 2 after; the kernel takes up to a million. */
    if (count < 0 || count > 65536) { errno = E2BIG; return -1; }
    int capacity = 8 + 8 * count;
    struct bpf_insn *program = calloc((size_t)capacity, sizeof *program);
    if (!program) return -1;
    int n = berth_devices_program(rules, count, program, capacity);
    if (n < 0) { free(program); return -1; }
    union bpf_attr load;
    memset(&load, 0, sizeof load);
    load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    load.insns = (uint64_t)(uintptr_t)program;
    load.insn_cnt = (uint32_t)n;
    load.license = (uint64_t)(uintptr_t)"MIT";
    if (log && log_size > 0) {
        log[0] = 0;
        load.log_buf = (uint64_t)(uintptr_t)log;
        load.log_size = log_size;
        load.log_level = 1;
    }
    int prog = (int)sys_bpf(BPF_PROG_LOAD, &load);
    if (prog < 0 && log && errno == ENOSPC) {
        /* The verifier's log did not fit: load again without it, for the errno alone. */
        load.log_buf = 0; load.log_size = 0; load.log_level = 0;
        prog = (int)sys_bpf(BPF_PROG_LOAD, &load);
    }
    int load_errno = errno;
    free(program);
    errno = load_errno;
    if (prog < 0) return -1;
    union bpf_attr attach;
    memset(&attach, 0, sizeof attach);
    attach.target_fd = (uint32_t)cgroup_fd;
    attach.attach_bpf_fd = (uint32_t)prog;
    attach.attach_type = BPF_CGROUP_DEVICE;
    /* Multi: programs of parent cgroups keep running too (all must allow),
       and a nested manager inside may add its own below. */
    attach.attach_flags = BPF_F_ALLOW_MULTI;
    int rc = (int)sys_bpf(BPF_PROG_ATTACH, &attach);
    int saved = errno;
    close(prog);   /* the attachment holds the program until the cgroup goes */
    errno = saved;
    return rc < 0 ? -1 : 0;
}
