import Testing
import BerthCore
import CBerthLinux
@testable import BerthEngine
#if canImport(Glibc)
import Glibc
#endif

/// The pieces both stream relays are built from: the bounded queue, the
/// frame codec, and the log's JSON encoder.
@Suite("Relay queue and frames")
struct RelayQueueTests {
    private func pipe(nonblocking: Bool) -> (read: Int32, write: Int32) {
        // Close-on-exec: tests run in parallel, and a child another test
        // spawns between pipe and close would otherwise keep the read end
        // open, so the "reader is gone" test would see its write succeed.
        var fds: [Int32] = [-1, -1]
        #expect(berth_pipe_cloexec(&fds) == 0)
        if nonblocking { _ = fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK) }
        return (fds[0], fds[1])
    }

    private func drain(_ fd: Int32) -> [UInt8] {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var all: [UInt8] = []
        while let bytes = readAvailable(fd), !bytes.isEmpty { all += bytes }
        return all
    }

    @Test("a full pipe leaves the rest queued instead of blocking, and all of it arrives in order")
    func fullPipe() {
        for nonblocking in [true, false] {
            let p = pipe(nonblocking: nonblocking)
            defer { close(p.read); close(p.write) }
            let data = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 * 7) }
            var queue = ByteQueue()
            queue.append(data)
            #expect(queue.isFull)
            // A blocking pipe gets PIPE_BUF-sized writes only while it polls writable.
            let result = queue.flush(to: p.write, chunk: nonblocking ? Int.max : Int(PIPE_BUF))
            #expect(result == .blocked, "a 64 KiB pipe cannot take 300 KB")
            #expect(queue.count > 0 && queue.count < data.count)
            var received = drain(p.read)
            while !queue.isEmpty {
                _ = queue.flush(to: p.write, chunk: nonblocking ? Int.max : Int(PIPE_BUF))
                received += drain(p.read)
            }
            #expect(received == data)
        }
    }

    @Test("a pipe whose reader is gone fails the flush, without SIGPIPE killing anyone")
    func closedReader() {
        let old = signal(SIGPIPE, SIG_IGN)
        defer { signal(SIGPIPE, old) }
        let p = pipe(nonblocking: true)
        close(p.read)
        defer { close(p.write) }
        var queue = ByteQueue()
        queue.append([1, 2, 3])
        #expect(queue.flush(to: p.write) == .failed)
    }

    @Test("frames survive being split anywhere, stdinClosed included; unknown types are skipped")
    func frames() {
        let frames: [Frame] = [
            .stdin([1, 2]), .stdout(Array("out".utf8)), .stdinClosed, .resize(40, 120),
            .stdinEOF, .exit(5),
        ]
        var bytes = frames.flatMap(\.encoded)
        bytes.insert(contentsOf: [9, 0, 0, 0, 0, 0, 0, 1, 42], at: 0)  // a type this version does not know
        for cut in [1, 7, 8, 13, bytes.count - 1] {
            var reader = FrameReader()
            let got = reader.feed(bytes[..<cut]) + reader.feed(bytes[cut...])
            #expect(got == frames, "split at \(cut)")
        }
    }

    @Test(
        "the log encoder writes what JSON.quote writes",
        arguments: [
            "plain", "a<b>&\"c\\\n", "\u{1b}[0m\t\r\u{0}\u{1f}", "héllo ✓ 😀", "", String(repeating: "x\n", count: 1000),
        ])
    func quoteBytes(text: String) {
        var bytes: [UInt8] = []
        JSON.quoteBytes(text, into: &bytes)
        var string = ""
        JSON.quote(text, into: &string)
        #expect(bytes == Array(string.utf8))
    }

    @Test("the log encoder repairs bytes that are not UTF-8 exactly as String(decoding:) does")
    func quoteRawBytes() {
        var samples: [[UInt8]] = [
            [0xff, 0xfe, 0x41], [0xe2, 0x82], [0xe2, 0x82, 0x41], [0xf0, 0x9f, 0x98], [0xf0, 0x9f, 0x98, 0x80],
            [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xf4, 0x90, 0x80, 0x80], [0xf5], [0x80, 0xbf],
            [0xc3], [0x3c, 0xc3, 0xa9, 0x0a, 0x00],
        ]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            samples.append(
                (0..<Int.random(in: 0..<64, using: &generator)).map { _ in
                    // Mostly high bytes, so every lead and continuation case comes up.
                    Bool.random(using: &generator)
                        ? UInt8.random(in: 0x80...0xff, using: &generator)
                        : UInt8.random(in: 0...0xff, using: &generator)
                })
        }
        for sample in samples {
            var bytes: [UInt8] = []
            JSON.quoteBytes(sample[...], into: &bytes)
            var string = ""
            JSON.quote(String(decoding: sample, as: UTF8.self), into: &string)
            #expect(bytes == Array(string.utf8), "\(sample)")
        }
    }

    @Test("window sizes travel as ROWSxCOLUMNS and refuse nonsense")
    func windowSize() {
        #expect(WindowSize(argument: "40x120") == WindowSize(rows: 40, columns: 120))
        #expect(WindowSize(argument: WindowSize(rows: 1, columns: 65535).argument) == WindowSize(rows: 1, columns: 65535))
        for bad in ["0x80", "40x0", "40", "x", "-1x5", "70000x10", "40x120x3"] {
            #expect(WindowSize(argument: bad) == nil, "\(bad)")
        }
    }
}
