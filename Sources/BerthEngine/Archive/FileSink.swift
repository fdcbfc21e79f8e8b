import BerthCore

/// A sink writing to a file descriptor (a file, a pipe, standard output).
public final class FileSink: ByteSink {
    /// The descriptor written to; the caller owns and closes it.
    public let descriptor: FileDescriptor
    /// What error messages call the stream.
    public let name: String

    /// Writes to `descriptor`, which stays owned by the caller.
    public init(descriptor: FileDescriptor, name: String) {
        self.descriptor = descriptor
        self.name = name
    }

    /// Writes all of `bytes`.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(BerthError) {
        do {
            try descriptor.writeAll(bytes)
        } catch {
            throw .syscall("write", name, error, fix: "check free space on the target file system")
        }
    }
}
