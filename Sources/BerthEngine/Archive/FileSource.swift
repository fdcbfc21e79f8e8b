#if canImport(Glibc)
import Glibc
#endif
import BerthCore

/// A source reading a file descriptor (a file, a pipe, standard input).
///
/// `peek` reads ahead without consuming, so `ArchiveInput` can sniff a
/// compression magic on a pipe, which cannot seek back.
public final class FileSource: ByteSource {
    /// The descriptor read from.
    public let descriptor: FileDescriptor
    /// What error messages call the stream, e.g. `busybox.tar`.
    public let name: String
    private let ownsDescriptor: Bool
    private var closed = false
    private var lookahead: [UInt8] = []

    /// Reads `descriptor`; closes it on `close()` or deinit if `owned`.
    public init(descriptor: FileDescriptor, name: String, owned: Bool = true) {
        self.descriptor = descriptor
        self.name = name
        self.ownsDescriptor = owned
    }

    /// Opens a file for reading.
    public convenience init(path: String) throws(BerthError) {
        do {
            self.init(descriptor: try FileDescriptor.open(path, O_RDONLY), name: path)
        } catch {
            throw .syscall("open archive", path, error, fix: "check the path and that it is readable")
        }
    }

    deinit { close() }

    /// Closes the descriptor if this source owns it; safe to call twice.
    public func close() {
        if ownsDescriptor && !closed { descriptor.close() }
        closed = true
    }

    /// Returns up to `count` upcoming bytes without consuming them (fewer only
    /// at the end of the stream).
    public func peek(_ count: Int) throws(BerthError) -> [UInt8] {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 1)
        defer { buffer.deallocate() }
        while lookahead.count < count {
            let n = try readDescriptor(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<(count - lookahead.count)]))
            if n == 0 { break }
            lookahead.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[..<n]))
        }
        return Array(lookahead.prefix(count))
    }

    /// Reads the next bytes.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(BerthError) -> Int {
        guard buffer.count > 0 else { return 0 }
        if !lookahead.isEmpty {
            let n = min(buffer.count, lookahead.count)
            lookahead.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[..<n])) }
            lookahead.removeFirst(n)
            return n
        }
        return try readDescriptor(into: buffer)
    }

    private func readDescriptor(into buffer: UnsafeMutableRawBufferPointer) throws(BerthError) -> Int {
        do {
            return try descriptor.read(into: buffer)
        } catch {
            throw .syscall("read archive", name, error, fix: error == .EISDIR ? "name a tar file, not a directory" : nil)
        }
    }
}
