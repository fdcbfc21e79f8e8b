import Testing
@testable import BerthEngine

/// A seeded generator, so a failure names a format that can be replayed.
private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Go templates: fuzz")
struct TemplateFuzzTests {
    /// Pieces of template syntax, valid and not, glued at random.
    private static let pieces = [
        "{{", "}}", "{{-", "-}}", " ", "\n", ".", ".Names", ".List", ".Map", ".Map.a", ".Nope", "$", "$x", "$x :=", ":=", "=",
        "|", "(", ")", ",", "\"s\"", "\"\\", "`r`", "'c'", "'", "1", "-1", "1.5", "0x", "1e", "nil", "true",
        "if", "else", "end", "range", "with", "break", "continue", "define", "/*", "*/", "index", "printf",
        "\"%v %d %5.2f %q %\"", "len", "slice", "eq", "lt", "and", "or", "not", "json", "split", "join", "upper",
        "title", "truncate", "pad", "print", "println", "html", "urlquery", "text", "é", "\\t",
    ]

    @Test("random formats either render or fail with one Template error line; never crash")
    func randomFormats() {
        var rng = SplitMix64(state: 24)
        for _ in 0..<20_000 {
            var format = ""
            for _ in 0..<Int.random(in: 1...14, using: &rng) { format += Self.pieces.randomElement(using: &rng)! }
            do throws(BerthError) {
                let template = try Template(format, style: .plain)
                _ = try template.render(TemplateFixtures.context)
                _ = try template.render(TemplateFixtures.inspect)
                _ = template.header(titles: ["Names": "NAMES"])
            } catch {
                #expect(
                    error.exitCode(engine: ExitCode.general) == 1
                        && error.message.hasPrefix("Template parsing error: template: :")
                        && !error.message.contains("\n") || error.message.contains("\n") && format.contains("\n"),
                    "\(format): \(error.message)")
            }
        }
    }
}
