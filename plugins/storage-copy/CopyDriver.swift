#if canImport(Glibc)
import Glibc
#endif
import BerthCore

/// The `copy` storage driver (Docker's `vfs`): every container gets a full
/// copy of its image's layers. Slow and disk-hungry on purpose: it is the
/// baseline that shows what copy-on-write saves.
public struct CopyDriver: StorageDriver {
    /// The driver's place in the store (unused: it needs no shared state).
    public let environment: StorageEnvironment
    public let name = "copy"

    /// A driver for one store.
    public init(environment: StorageEnvironment) { self.environment = environment }

    /// The registration the executable adds to the registry.
    public static let registration = Registration(
        kind: .storage, id: "copy",
        description: "naive full copy of every layer per container (Docker's vfs)",
        origin: .inTree("storage-copy"),
        factory: .storage { CopyDriver(environment: $0) })

    private func rootfs(_ dir: String) -> String { dir + "/rootfs" }

    public func create(containerDirectory dir: String, layers: [LayerDirectory]) throws(BerthError) {
        let root = rootfs(dir)
        if mkdir(root, 0o755) != 0 { throw .syscall("mkdir", root, .current) }
        for layer in layers {
            do throws(Errno) {
                var applier = LayerApplier()
                try applier.apply(layer.path, onto: root)
            } catch {
                throw .syscall(
                    "copy layer \(layer.digest) into", root, error,
                    fix: "check free disk space (the copy driver needs a full copy per container)")
            }
        }
    }

    public func mount(containerDirectory dir: String, layers: [LayerDirectory]) throws(BerthError) -> String {
        rootfs(dir)
    }

    public func unmount(containerDirectory dir: String) throws(BerthError) {}

    public func isMounted(containerDirectory dir: String) -> Bool { FileSystem.isDirectory(rootfs(dir)) }

    public func writableLayer(containerDirectory dir: String) -> String? { nil }

    public func size(containerDirectory dir: String) -> Int64 { FileSystem.contentSize(rootfs(dir)) }

    public func remove(containerDirectory dir: String) throws(BerthError) {
        try FileSystem.removeTree(rootfs(dir))
    }
}
