#if canImport(Glibc)
import Glibc
#endif

/// Moves a tree by archiving it into a private staging file and extracting
/// that with the safe extractor, so every path written is confined to the
/// destination whatever the source contains (cp, volume prefill, bundle).
public enum TarTransfer {
    /// Archives with `write` into a temp tar under the store's tmp/, then
    /// extracts it into `destination`. The temp file is always removed.
    /// `shownAs` is what errors call the destination (the user's
    /// `CONTAINER:PATH` rather than the container root's host path).
    public static func copy(
        layout: StoreLayout, label: String, into destination: String, shownAs: String? = nil, idMap: IDMap? = nil,
        _ write: (TarWriter) throws(BerthError) -> Void
    ) throws(BerthError) {
        let staging = try layout.makeStaging(label)
        defer { try? FileSystem.removeTree(staging) }
        let tar = staging + "/transfer.tar"
        let fd: FileDescriptor
        do { fd = try FileDescriptor.open(tar, O_WRONLY | O_CREAT | O_EXCL, mode: 0o600) } catch {
            throw .syscall("create", tar, error)
        }
        let writer = TarWriter(FileSink(descriptor: fd, name: tar))
        do throws(BerthError) {
            try write(writer)
            try writer.finish()
        } catch {
            fd.close()
            throw error
        }
        fd.close()
        // Never replace a directory of the user's with a file, or the reverse.
        // Errors name the destination, not this private staging file.
        var extractor = LayerExtractor(noOverwriteDirNonDir: true)
        extractor.idMap = idMap
        _ = try extractor.extract(
            from: try ArchiveInput.open(path: tar), name: "\(label) into \(shownAs ?? destination)", into: destination)
    }
}
