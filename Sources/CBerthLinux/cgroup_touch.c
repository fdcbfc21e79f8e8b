// The cgroup warm-up's child (CgroupWarmup.swift): a process that writes "0"
// into the cgroup.procs of the cgroup it is already in.
//
// A start forks it, and a fork copies the page tables of the whole caller:
// for a `berth` of this size that, the child's faults and its exit were a
// third of a millisecond of every `run` (docs/benchmarks.md). On x86-64 the
// child shares the caller's memory instead (CLONE_VM, a process of its own,
// not a thread: the caller stays single-threaded for its own forks). It runs
// three raw system calls from registers, on a stack of its own, with every
// signal blocked, so it never touches the caller's stack, errno or heap, and
// reads only what this file keeps for it.
#define _GNU_SOURCE
#include "CBerthLinux.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
/* Signals are blocked, so nothing is ever pushed here; it is the child's
   stack only so that its stack pointer never points into the caller's. One
   child at a time: CgroupWarmup reaps it before it may start another. */
static char touch_stack[1024] __attribute__((aligned(16)));
static const char zero = '0';
/* The path, copied: the child reads it after this function has returned,
   when the caller's string may be gone. */
static char touch_path[4096];

pid_t berth_cgroup_touch(const char *procs) {
    size_t n = strlen(procs);
    if (n >= sizeof touch_path) { errno = ENAMETOOLONG; return -1; }
    memcpy(touch_path, procs, n + 1);
    sigset_t all, old;
    sigfillset(&all);
    if (pthread_sigmask(SIG_SETMASK, &all, &old) != 0) return -1;
    register long rax __asm__("rax") = SYS_clone;
    register long rdi __asm__("rdi") = CLONE_VM | SIGCHLD;
    register long rsi __asm__("rsi") = (long)(touch_stack + sizeof touch_stack);
    register long rdx __asm__("rdx") = 0;   /* parent_tid */
    register long r10 __asm__("r10") = 0;   /* child_tid */
    register long r8 __asm__("r8") = 0;     /* tls */
    register const char *r12 __asm__("r12") = touch_path;
    register const char *r13 __asm__("r13") = &zero;
    __asm__ volatile(
        "syscall\n\t"
        "test %%rax, %%rax\n\t"
        "jnz 1f\n\t"
        /* The child: open(procs, O_WRONLY | O_CLOEXEC) */
        "mov %[sys_open], %%eax\n\t"
        "mov %%r12, %%rdi\n\t"
        "mov %[flags], %%esi\n\t"
        "xor %%edx, %%edx\n\t"
        "syscall\n\t"
        "test %%rax, %%rax\n\t"
        "js 2f\n\t"
        /* write(fd, "0", 1); the kernel closes fd at the exit */
        "mov %%rax, %%rdi\n\t"
        "mov %[sys_write], %%eax\n\t"
        "mov %%r13, %%rsi\n\t"
        "mov $1, %%edx\n\t"
        "syscall\n\t"
        "2:\n\t"
        "mov %[sys_exit], %%eax\n\t"
        "xor %%edi, %%edi\n\t"
        "syscall\n\t"
        "hlt\n\t"
        "1:\n\t"
        : "+r"(rax)
        : "r"(rdi), "r"(rsi), "r"(rdx), "r"(r10), "r"(r8), "r"(r12), "r"(r13),
          [sys_open] "i"(SYS_open), [sys_write] "i"(SYS_write), [sys_exit] "i"(SYS_exit_group),
          [flags] "i"(O_WRONLY | O_CLOEXEC)
        : "rcx", "r11", "memory");
    long pid = rax;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (pid < 0) { errno = (int)-pid; return -1; }
    return (pid_t)pid;
}
#else
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
#endif
