// The cgroup warm-up (cgroup_touch.c, CgroupWarmup.swift), started from an
// ELF constructor for the commands that start a container.
//
// On a cgroup v1 host the first move into a cgroup after a quiet spell waits
// for an RCU grace period (6 to 16 ms here) while holding the cgroup mutex,
// and everything a start does with cgroups waits behind it. The warm-up
// overlaps that wait with the rest of the start, so the sooner it begins the
// more of it is hidden. Begun from Swift, after the runtime, the registry,
// the arguments and the store were set up, it began about 3.4 ms after the
// exec of a `run` that came after 100 ms of idle; from here, about 1.4 ms
// (docs/benchmarks.md). CgroupWarmup takes the child over
// (berth_cgroup_touch_take_early) and reaps it; a command that fails before
// that leaves it to be reaped by its exit.
#define _GNU_SOURCE
#include "CBerthLinux.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pid_t early_pid = 0;

/* Whether the words after berth's global options start a container:
   run, start, restart or exec, alone or after `container`. The global
   options are only --root DIR, --root=DIR, --help, --version and `--`
   (Launcher.swift); anything else is left to the Swift side to refuse. */
static int starts_container(int argc, char **argv) {
    int i = 1;
    while (i < argc && argv[i][0] == '-' && argv[i][1] != '\0') {
        if (strcmp(argv[i], "--") == 0) { i++; break; }
        if (strcmp(argv[i], "--root") == 0) { i += 2; continue; }
        if (strncmp(argv[i], "--root=", 7) == 0) { i++; continue; }
        return 0;
    }
    if (i < argc && strcmp(argv[i], "container") == 0) i++;
    if (i >= argc) return 0;
    const char *verb = argv[i];
    return strcmp(verb, "run") == 0 || strcmp(verb, "start") == 0 || strcmp(verb, "restart") == 0
        || strcmp(verb, "exec") == 0;
}

int berth_own_freezer_procs(char *out, size_t size) {
    FILE *f = fopen("/proc/self/cgroup", "re");
    if (!f) return -1;
    char line[4096];
    int found = -1;
    while (fgets(line, sizeof line, f)) {
        char *first = strchr(line, ':');
        char *second = first ? strchr(first + 1, ':') : NULL;
        if (!second) continue;
        *second = '\0';
        int freezer = 0;
        for (char *save = NULL, *c = strtok_r(first + 1, ",", &save); c; c = strtok_r(NULL, ",", &save))
            if (strcmp(c, "freezer") == 0) freezer = 1;
        if (!freezer) continue;
        char *path = second + 1;
        path[strcspn(path, "\n")] = '\0';
        if (strcmp(path, "/") == 0) path = "";
        int n = snprintf(out, size, "/sys/fs/cgroup/freezer%s/cgroup.procs", path);
        found = n > 0 && (size_t)n < size && access(out, F_OK) == 0 ? 0 : -1;
        break;
    }
    fclose(f);
    return found;
}

__attribute__((constructor)) static void berth_cgroup_touch_early(int argc, char **argv, char **envp) {
    (void)envp;
    /* The CLI only: not berth-monitor, berth-service or a test binary. */
    if (strcmp(program_invocation_short_name, "berth") != 0 || !starts_container(argc, argv)) return;
    /* As Cgroup.forContainer decides: root outside a rootless namespace, on
       a host whose containers get v1 cgroups (not pure v2, not BERTH_CGROUP=v2
       where the unified hierarchy is mounted). */
    if (geteuid() != 0 || getenv("_BERTH_ROOTLESS") != NULL) return;
    if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0) return;
    const char *forced = getenv("BERTH_CGROUP");
    if (forced && strcmp(forced, "v2") == 0 && access("/sys/fs/cgroup/unified/cgroup.procs", F_OK) == 0) return;
    char procs[4200];
    if (berth_own_freezer_procs(procs, sizeof procs) != 0) return;
    int saved = errno;
    pid_t pid = berth_cgroup_touch(procs);
    errno = saved;
    if (pid > 0) early_pid = pid;
}

pid_t berth_cgroup_touch_take_early(void) {
    pid_t pid = early_pid;
    early_pid = 0;
    return pid;
}
