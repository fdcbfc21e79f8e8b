import BerthCore

/// A source reading from bytes held in memory: small manifests, tests.
public final class MemorySource: ByteSource {
    private let bytes: [UInt8]
    private var offset = 0

    /// A source that yields `bytes`, then ends.
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Copies the next bytes out.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(BerthError) -> Int {
        let n = min(buffer.count, bytes.count - offset)
        guard n > 0 else { return 0 }
        bytes.withUnsafeBytes { raw in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[offset..<offset + n]))
        }
        offset += n
        return n
    }
}
