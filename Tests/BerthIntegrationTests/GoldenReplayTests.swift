import Testing
import BerthEngine
#if canImport(Glibc)
import Glibc
#endif

/// One step of the tutorial as real Docker 20.10 answered it
/// (Tests/golden/docker-20.10.jsonl, a copy of shared/golden/docker.jsonl).
struct GoldenStep: CustomStringConvertible {
    var id: String
    var command: String
    var status: Int32
    var stderr: String

    var description: String { "\(id) \(command)" }

    /// Every step of the transcript but `docker --version`.
    static func load() -> [GoldenStep] {
        let text = readFile(packageRoot + "/Tests/golden/docker-20.10.jsonl")
        return lines(text).compactMap { line in
            guard let step = try? JSONParser.parse(String(line)),
                let command = step["cmd"]?.stringValue, !command.hasPrefix("docker --version")
            else { return nil }
            return GoldenStep(
                id: step["id"]?.stringValue ?? "?", command: command,
                status: Int32(clamping: step["rc"]?.int64Value ?? -1),
                stderr: step["stderr"]?.stringValue ?? "")
        }
    }

    /// Docker's first stderr line as Berth words it: no daemon, so
    /// `Error response from daemon: X.` is `Error: X`; IDs differ run to run.
    var expectedFirstLine: String? {
        guard var line = stderr.split(separator: "\n").first.map(String.init) else { return nil }
        for prefix in ["docker: ", "Error response from daemon: "] {
            line = line.replacingOccurrences(prefix, "")
        }
        if !line.hasPrefix("Error") || line.contains("OCI runtime") { return nil }  // runc's own words
        if line.hasPrefix("Error:") == false { line = "Error: " + line }
        if line.hasSuffix(".") { line.removeLast() }
        return withoutIDs(line)
    }
}

/// Replaces 64-hex IDs, which differ run to run.
func withoutIDs(_ text: String) -> String {
    var words = text.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
    for (i, word) in words.enumerated() where word.count >= 64 && isHex(word.prefix(64), count: 64) {
        words[i] = "ID" + word.dropFirst(64)
    }
    return words.joined(separator: " ")
}

@Suite(
    "The tutorial against Docker 20.10's transcript", .serialized,
    .enabled(if: isRoot, "needs root for mounts, namespaces and cgroups"))
struct GoldenReplayTests {
    @Test("every step exits as Docker's did, and refusals start with Docker's words")
    func replay() {
        let steps = GoldenStep.load()
        #expect(steps.count > 80, "the transcript did not load: \(steps.count) steps")
        let root = makeTempDirectory("golden")
        let prefix = shellQuote(berthBinary) + " --root " + shellQuote(root) + " "
        defer {
            sh("\(prefix) rm -f $(\(prefix) ps -aq) >/dev/null 2>&1")
            sh("\(prefix) system reset -f >/dev/null 2>&1")
            removeTree(root)
        }
        for step in steps {
            var line = step.command.replacingOccurrences("bench/busybox.tar", shellQuote(busyboxTar))
            line = line.replacingOccurrences("/tmp/g.tar", shellQuote(root + "/g.tar"))
            line = prefix + line.dropFirst("docker ".count)
            let result = sh(line)
            #expect(
                result.status == step.status,
                "step \(step): Docker exited \(step.status), Berth \(result.status): \(result.stderr)")
            if let expected = step.expectedFirstLine {
                let got = withoutIDs(String(result.stderr.split(separator: "\n").first ?? ""))
                #expect(got.hasPrefix(expected), "step \(step): Docker said «\(expected)», Berth «\(got)»")
            }
        }
    }
}
