#ifndef CBERTH_IDMAP_H
#define CBERTH_IDMAP_H
#include <stdint.h>
#include <sys/types.h>

/// A user namespace holding `uid_map` and `gid_map` (the text of
/// /proc/PID/uid_map: "INSIDE OUTSIDE COUNT" lines), made by a short-lived
/// child and returned as an fd of its /proc/PID/ns/user (close-on-exec).
/// Idmapped mounts need such an fd; nothing ever runs in the namespace.
/// -1 with errno; *step names the call that failed.
int berth_userns_fd(const char *uid_map, const char *gid_map, const char **step);

/// Writes a map for process `pid` (`file`: "uid_map" or "gid_map"); 0 or -1 with errno.
int berth_write_id_map(pid_t pid, const char *file, const char *map);

/// An idmapped clone of the mount tree at `source` (open_tree OPEN_TREE_CLONE
/// + mount_setattr MOUNT_ATTR_IDMAP with `userns_fd`), attached on `target`
/// (move_mount). 0 or -1 with errno; *step names the failing call.
int berth_idmapped_bind(const char *source, const char *target, int userns_fd, const char **step);

/// mount(2) with the calling thread's filesystem ids set to uid:gid (and its
/// effective capabilities raised again, which setfsuid clears): overlayfs
/// records its mounter's credentials and makes its work dir and copy-ups
/// with them, and those must be ids an idmapped upper layer can store.
/// The thread's ids and capabilities are restored before returning.
int berth_mount_as(uint32_t uid, uint32_t gid, const char *source, const char *target,
                   const char *fstype, const char *data);

/// The basic device nodes (null, zero, full, random, urandom, tty; mode
/// 0666) made in `dir` and given to uid:gid, for a container with a user
/// namespace: it may not mknod, and binding the host's own nodes would
/// bring their host modes along (some hosts make /dev/null 0600). 0 or -1
/// with errno; *failed names the node.
int berth_make_dev_nodes(const char *dir, uint32_t uid, uint32_t gid, const char **failed);

/// Copies the tree `src` (which must exist) into `dst` (an existing, empty
/// directory, whose own owner and mode are set from `src`'s): contents,
/// modes, xattrs (overlayfs's opaque markers), device nodes (whiteouts),
/// hard links and times, with every owner shifted through the maps
/// (`nuid`/`ngid` triples of container id, host id, size). The fallback
/// where idmapped layers are not available. 0, or -1 with errno and
/// *failed the source path that failed. Not thread-safe.
int berth_shifted_copy(const char *src, const char *dst, const uint32_t *uid_ranges, int nuid,
                       const uint32_t *gid_ranges, int ngid, const char **failed);

/// Sets the calling thread's filesystem ids (setfsuid/setfsgid) and raises
/// its effective capabilities again (a change of fsuid away from 0 clears
/// the file capabilities): the monitor makes mount points and fills volumes
/// in a container's root as that container's root, whose ids an idmapped
/// upper layer can store. Call again with 0, 0 to go back.
void berth_set_fs_ids(uint32_t uid, uint32_t gid);

#endif
