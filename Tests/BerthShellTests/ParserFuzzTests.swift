import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import BerthShell

/// A small deterministic generator (SplitMix64), so a failure replays.
private struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

private func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// The parser's promise: any input gives a script or a positioned error,
/// quickly; never a crash or a hang. Bounded to a few seconds in `make test`.
@Suite("Script parser fuzz")
struct ParserFuzzTests {
    static let fragments = [
        "if", "else", "for", "in", "while", "fn", "try", "!", "{", "}", "{ ", " }", "(", ")", "$(", "${", "$",
        "\"", "'", "\\", "\n", ";", "&&", "||", "&", "|", "#", "=", "[", "]", "$?", "$#", "$@", "$1", "x",
        "f(a, b)", " ", "\t", "echo", "create", "-f", "{{.Id}}", "é", "😀", "\r", "\\\n", "[ a == b ]",
    ]

    /// Parses and checks the error, if any, points inside the text.
    private func check(_ text: String, budget: Double) {
        let start = now()
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).count
        if let error = syntaxError(text) {
            #expect(
                error.position.line >= 1 && error.position.line <= lines + 1, "line out of range for \(text.debugDescription)")
            #expect(error.position.column >= 1)
            #expect(!error.message.isEmpty)
        }
        _ = ScriptParser.isComplete(text)
        let took = now() - start
        #expect(took < budget, "parsing \(text.debugDescription) took \(took)s")
    }

    @Test("random bytes")
    func randomBytes() {
        var rng = SplitMix(state: 0xB3A7_0001)
        let deadline = now() + 2.0
        var count = 0
        while count < 3000 && now() < deadline {
            let length = Int.random(in: 0...120, using: &rng)
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            check(String(decoding: bytes, as: UTF8.self), budget: 0.5)
            count += 1
        }
        #expect(count >= 500, "only \(count) inputs in the time budget")
    }

    @Test("random token soups")
    func tokenSoup() {
        var rng = SplitMix(state: 0xB3A7_0002)
        let deadline = now() + 3.0
        var count = 0
        while count < 4000 && now() < deadline {
            let length = Int.random(in: 0...60, using: &rng)
            let text = (0..<length).map { _ in Self.fragments.randomElement(using: &rng) ?? "" }.joined()
            check(text, budget: 0.5)
            count += 1
        }
        #expect(count >= 500, "only \(count) inputs in the time budget")
    }

    @Test("deep and long inputs stay bounded")
    func pathological() {
        for fragment in ["$(", "\"$(", "{\n", "if a {", "${", "\\\n", "&& ", "fn f {", "'", "[", "\"\""] {
            check(String(repeating: fragment, count: 5000), budget: 2.0)
        }
    }
}
