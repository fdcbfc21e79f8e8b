import BerthCore

/// A stream of bytes read front to back: a file, standard input, or a
/// decompressor wrapping another source. Archives are always streamed, so a
/// multi-gigabyte layer never has to fit in memory.
public protocol ByteSource: AnyObject {
    /// Reads up to `buffer.count` bytes into `buffer`; returns 0 only at the
    /// end of the stream.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(BerthError) -> Int
}

extension ByteSource {
    /// Reads until `buffer` is full or the stream ends; returns the bytes read.
    public func readFully(into buffer: UnsafeMutableRawBufferPointer) throws(BerthError) -> Int {
        var filled = 0
        while filled < buffer.count {
            let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
            if n == 0 { break }
            filled += n
        }
        return filled
    }

    /// Reads the rest of the stream into memory (for small inputs and tests).
    public func readAll() throws(BerthError) -> [UInt8] {
        var out: [UInt8] = []
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 1)
        defer { chunk.deallocate() }
        while true {
            let n = try read(into: chunk)
            if n == 0 { return out }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[..<n]))
        }
    }
}
