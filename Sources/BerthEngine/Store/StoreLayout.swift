#if canImport(Glibc)
import Glibc
#endif
import BerthCore

/// The on-disk store: one root directory (`--root`, `BERTH_ROOT`,
/// `/var/lib/berth`) holding layers, images, containers and driver state.
///
/// ```
/// ROOT/config.json                     defaults (isolation, storage, registries)
/// ROOT/auth.json                       registry logins (mode 0600)
/// ROOT/layers/sha256/HEX/diff/         an unpacked layer, shared by all users
/// ROOT/layers/sha256/HEX/layer.json    its diff ID and size
/// ROOT/images/sha256/HEX.json          an OCI image config; HEX = image ID
/// ROOT/images/repositories.json        tags → image IDs
/// ROOT/containers/ID/                  one container
/// ROOT/names/NAME                    symlink to the container ID that has NAME (an index)
/// ROOT/storage/DRIVER/                 a storage driver's private files
/// ROOT/tmp/                            staging; anything here is garbage
/// ROOT/locks/                          flock files
/// ROOT/cache/seccomp/KEY.bpf            compiled seccomp filters (a cache: safe to delete)
/// ROOT/cache/build/steps/KEY            build cache: (parent, step) → image (safe to delete)
/// ROOT/cache/build/parents/HEX          the image a built image was made from
/// ```
public struct StoreLayout: Sendable {
    /// The store root.
    public let root: String

    /// A layout rooted at `root` (nothing is created yet).
    public init(root: String) { self.root = root }

    public var layers: String { root + "/layers/sha256" }
    /// The images' layers of empty mount points (MountPointLayer), by image ID.
    public var mountPointLayers: String { root + "/layers/mountpoints" }
    public func mountPointLayer(_ imageID: String) -> String { mountPointLayers + "/" + Digest.hex(imageID) }
    public var images: String { root + "/images/sha256" }
    public var repositories: String { root + "/images/repositories.json" }
    /// `NAME@DIGEST` → image ID for what was pulled (Docker's RepoDigests).
    public var repoDigests: String { root + "/images/digests.json" }
    public var containers: String { root + "/containers" }
    /// The container name index: `NAME` → container ID links (`ContainerNameIndex`).
    public var containerNames: String { root + "/names" }
    public var tmp: String { root + "/tmp" }
    public var locks: String { root + "/locks" }
    public var config: String { root + "/config.json" }
    public var networks: String { root + "/networks" }
    /// Compiled seccomp filters, by a digest of everything that decides them.
    public var seccompCache: String { root + "/cache/seccomp" }
    /// `build`'s layer cache: one file per (parent image, step), naming the
    /// image that step made (a cache: safe to delete).
    public var buildCache: String { root + "/cache/build" }
    /// Registry logins (mode 0600).
    public var auth: String { root + "/auth.json" }
    /// The append-only event log `events` reads.
    public var events: String { root + "/events.log" }

    /// The directory of one layer.
    public func layer(_ diffID: String) -> String { layers + "/" + Digest.hex(diffID) }
    /// The unpacked content of one layer.
    public func layerDiff(_ diffID: String) -> String { layer(diffID) + "/diff" }
    /// One layer's diff ID and size.
    public func layerMeta(_ diffID: String) -> String { layer(diffID) + "/" + Self.layerMeta }
    /// The name of a layer's metadata file.
    public static let layerMeta = "layer.json"
    /// The config file of one image.
    public func image(_ id: String) -> String { images + "/" + Digest.hex(id) + ".json" }
    /// The directory of one container.
    public func container(_ id: String) -> String { containers + "/" + id }
    /// A container's record: Docker's inspect document.
    public func containerRecord(_ id: String) -> String { container(id) + "/" + Self.containerRecord }
    /// The record's name inside a container directory.
    public static let containerRecord = "container.json"
    /// A container's attach socket, served by its monitor (`ROOT/containers/ID/attach.sock`).
    public func attachSocket(_ id: String) -> String { container(id) + "/" + Self.attachSocket }
    /// A container's json-file log.
    public func containerLog(_ id: String) -> String { container(id) + "/" + Self.containerLog }
    /// The attach socket's name inside a container directory.
    public static let attachSocket = "attach.sock"
    /// The log's name inside a container directory.
    public static let containerLog = "container.log"
    /// A storage driver's private directory.
    public func driver(_ name: String) -> String { root + "/storage/" + name }
    /// The lock serialising changes to images, tags and layers.
    public var imageLock: String { locks + "/images.lock" }
    /// The lock serialising container names and creation.
    public var containerLock: String { locks + "/containers.lock" }
    /// The lock serialising volume creation and removal.
    public var volumeLock: String { locks + "/volumes.lock" }
    /// The lock serialising network creation, removal and leases.
    public var networkLock: String { locks + "/networks.lock" }

    /// Creates the directory skeleton (idempotent).
    public func ensure() throws(BerthError) {
        for dir in [layers, images, containers, tmp, locks] {
            try FileSystem.makeDirectories(dir, mode: 0o700)
        }
    }

    /// A new private staging directory under tmp/, named after this process so
    /// a later run can tell it is garbage once the process is gone.
    public func makeStaging(_ label: String) throws(BerthError) -> String {
        let path = "\(tmp)/\(label)-\(getpid())-\(RandomID.hex64().prefix(8))"
        if mkdir(path, 0o700) != 0 {
            throw .syscall("mkdir", path, .current, fix: "check that the store is writable")
        }
        return path
    }

    /// Removes staging directories left by processes that no longer exist
    /// (a `berth` killed mid-import). Never touches a live process's staging.
    public func sweepStaging() {
        for name in FileSystem.list(tmp) {
            let parts = name.split(separator: "-")
            guard parts.count >= 3, let pid = Int32(parts[parts.count - 2]), isDead(pid) else { continue }
            try? FileSystem.removeTree(tmp + "/" + name)
        }
        // `FILE.tmp-PID` files are half-written atomic writes of a killed process.
        for dir in [root + "/images", images, root, networks] { FileSystem.removeStaleTempFiles(in: dir) }
    }

    private func isDead(_ pid: Int32) -> Bool { kill(pid, 0) != 0 && errno == ESRCH }
}

/// Helpers for `sha256:HEX` digests.
public enum Digest {
    /// The hex part of `sha256:HEX` (or the argument if it has no prefix).
    public static func hex(_ digest: String) -> String {
        digest.hasPrefix("sha256:") ? String(digest.dropFirst(7)) : digest
    }

    /// `sha256:` + the SHA-256 of `bytes`.
    public static func sha256(_ bytes: [UInt8]) -> String {
        "sha256:" + SHA256.hex(SHA256.hash(bytes))
    }

    /// Whether `text` is a full `sha256:` + 64 hex digest.
    public static func isDigest(_ text: String) -> Bool {
        let hex = text.dropFirst(7)
        return text.hasPrefix("sha256:") && hex.count == 64 && hex.allSatisfy(\.isHexDigit)
    }
}
