import Testing
@testable import BerthEngine

@Suite("SHA-256")
struct SHA256Tests {
    private func hex(_ text: String) -> String { SHA256.hex(SHA256.hash(Array(text.utf8))) }

    @Test("the empty message hashes to the FIPS 180-4 vector")
    func empty() {
        #expect(hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test("\"abc\" hashes to the FIPS 180-4 vector")
    func abc() {
        #expect(hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test("the 448-bit two-block message hashes to the FIPS 180-4 vector")
    func twoBlocks() {
        #expect(
            hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test("a million 'a's hash to the FIPS 180-4 vector")
    func millionA() {
        var hash = SHA256()
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        for _ in 0..<1000 { hash.update(chunk) }
        #expect(hash.hexDigest == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test("hashing in odd-sized chunks gives the one-shot digest", arguments: [1, 3, 63, 64, 65, 1000])
    func chunked(size: Int) {
        let message = (0..<10_007).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        var hash = SHA256()
        var offset = 0
        while offset < message.count {
            let end = min(offset + size, message.count)
            hash.update(Array(message[offset..<end]))
            offset = end
        }
        #expect(hash.finalize() == SHA256.hash(message))
        #expect(hash.hexDigest.count == 64)
    }

    @Test("messages of every length around the padding boundary match sha256sum")
    func paddingBoundaries() {
        let dir = makeTempDirectory("sha")
        defer { removeTree(dir) }
        for length in [55, 56, 57, 63, 64, 119, 120] {
            let message = [UInt8](repeating: UInt8(ascii: "x"), count: length)
            writeBytes(dir + "/m", message)
            #expect(shell("sha256sum \(dir)/m | cut -c1-64 > \(dir)/out") == 0)
            let expected = String(decoding: readBytes(dir + "/out"), as: UTF8.self).split(separator: "\n").first.map(String.init)
            #expect(SHA256.hex(SHA256.hash(message)) == expected, "length \(length)")
        }
    }
}
