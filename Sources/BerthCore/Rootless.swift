#if canImport(Glibc)
import Glibc
#endif
import CBerthLinux

/// Rootless Berth: what a non-root user's `berth` changes.
///
/// Before `main`, `CBerthLinux/rootless.c` joins (or first creates) the user
/// and mount namespace held by the user's pause process, so from Swift's
/// point of view berth runs as uid 0 of that namespace. This type answers
/// whether that happened and what follows from it: where the store lives,
/// which overlay xattrs the kernel lets the namespace write, and the one
/// line for what cannot work without the host's root. See docs/rootless.md.
public enum Rootless {
    /// True when this process runs in the rootless namespace.
    public static var isActive: Bool { berth_rootless_active() != 0 }

    /// Puts the markers into the environment every process this one
    /// starts inherits. Each executable's main calls it right after
    /// reading `CommandLine.arguments`: the constructor may not (a
    /// statically linked Swift finds argv through the original `environ`,
    /// which `setenv` replaces).
    public static func exportMarkers() { berth_rootless_export_markers() }

    /// `info`'s `SecurityOptions`, Docker's strings: the default seccomp
    /// profile every container gets, and `name=rootless` when this berth
    /// runs in the user's namespace (what rootless dockerd reports, and
    /// what clients such as docker-compose and testcontainers look for).
    public static var securityOptions: [String] {
        ["name=seccomp,profile=default"] + (isActive ? ["name=rootless"] : [])
    }

    /// Why a non-root berth has no namespace (one line), or nil.
    public static var failure: String? {
        berth_rootless_error().map { String(cString: $0) }
    }

    /// True for a non-root user, whether or not its namespace came up.
    public static var isNonRoot: Bool { isActive || failure != nil }

    /// The user's own uid on the host.
    public static var hostUID: UInt32 { berth_rootless_host_uid() }

    /// `$XDG_RUNTIME_DIR/berth`, or `/tmp/berth-UID`: the pause process's
    /// pid file, slirp4netns's API sockets.
    public static var runtimeDirectory: String { String(cString: berth_rootless_runtime_dir()) }

    /// The store without `--root` or `$BERTH_ROOT`: `$XDG_DATA_HOME/berth`,
    /// else `~/.local/share/berth` (home from `$HOME`, else the password
    /// database: inside the namespace `getuid()` is 0, so it asks by host uid).
    public static func defaultRoot(environment: [String: String]) -> String {
        if let data = environment["XDG_DATA_HOME"], data.hasPrefix("/") { return data + "/berth" }
        var home = environment["HOME"] ?? ""
        if !home.hasPrefix("/"), let pw = getpwuid(hostUID), let dir = pw.pointee.pw_dir {
            home = String(cString: dir)
        }
        return home + "/.local/share/berth"
    }

    /// The xattr overlayfs reads for an opaque directory: a user namespace
    /// cannot write `trusted.*`, so rootless overlay mounts use `userxattr`
    /// and layers carry `user.overlay.opaque` instead (kernel 5.11+).
    public static var opaqueXattr: String { isActive ? "user.overlay.opaque" : "trusted.overlay.opaque" }

    /// Whether an xattr is one of overlayfs's own markers, in either namespace.
    public static func isOverlayMarker(_ name: String) -> Bool {
        name.hasPrefix("trusted.overlay.") || name.hasPrefix("user.overlay.")
    }

    /// What a berth started with an environment of its own (an external
    /// plugin calling `$BERTH_BIN`) needs to know it runs rootless: the
    /// markers, which `exportMarkers` put in `environ` but not in
    /// `/proc/self/environ`, where `CommandContext.environment` comes from.
    public static var childEnvironment: [String: String] {
        guard isActive else { return [:] }
        return ["_BERTH_ROOTLESS": "\(hostUID):\(berth_rootless_host_gid())", "_BERTH_ROOTLESS_RUNTIME": runtimeDirectory]
    }

    /// The refusal for what needs the host's root.
    public static func refusal(_ what: String, _ why: String) -> BerthError {
        .unavailable("\(what) does not work rootless: \(why); run berth as root for it (docs/rootless.md)")
    }
}
