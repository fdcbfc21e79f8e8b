#ifndef CBERTH_LINUX_H
#define CBERTH_LINUX_H
#include <stdint.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <sys/random.h>
#include "CBerthSpawn.h"
#include "CBerthNetlink.h"

/// openat2(2) with RESOLVE_* flags. Glibc has no wrapper and syscall() is
/// variadic, so Swift cannot call it. Returns an fd, or -1 with errno set.
int berth_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve);

/// RESOLVE_* values from <linux/openat2.h>, exported as functions because the
/// header's macros do not import into Swift on every toolchain.
uint64_t berth_resolve_in_root(void);
uint64_t berth_resolve_no_magiclinks(void);
uint64_t berth_resolve_no_symlinks(void);
uint64_t berth_resolve_beneath(void);

/// O_PATH from <fcntl.h>, which glibc defines only under _GNU_SOURCE.
int berth_o_path(void);

/// makedev(3) is a macro in glibc.
uint64_t berth_makedev(uint32_t major, uint32_t minor);
uint32_t berth_major(uint64_t dev);
uint32_t berth_minor(uint64_t dev);

/// copy_file_range(2); glibc declares it only under _GNU_SOURCE.
long berth_copy_file_range(int fd_in, int fd_out, unsigned long len);

#endif
