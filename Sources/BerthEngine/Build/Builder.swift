#if canImport(Glibc)
import Glibc
#endif
import BerthCore

/// `build`: runs a Dockerfile on Berth's own engine, in the manner of
/// Docker's classic builder. Each instruction makes an image whose parent
/// is the previous one: RUN in a real container of the chosen backend and
/// driver, COPY/ADD/WORKDIR through a container's root (resolved inside it),
/// committed as one layer each; metadata instructions change only the config
/// and record an `empty_layer` history entry. Every step is looked up first
/// in the cache (`BuildCache`): same parent image, same step text (after
/// expansion, with the ARGs RUN sees, and COPY/ADD's content checksum).
public final class Builder {
    let lifecycle: Lifecycle
    let options: BuildOptions
    let output: BuildOutput
    let environment: [String: String]
    let context: BuildContext
    let cache: BuildCache
    var dockerfile = Dockerfile()
    var stageImages: [String] = []
    var stageNames: [String?] = []
    var stepNumber = 0
    var stepTotal = 0
    var usedBuildArgs = Set<String>()
    /// This build's lock, held while it runs; its containers are marked with it.
    var ownership: BuildOwnership?

    public init(
        lifecycle: Lifecycle, options: BuildOptions, output: BuildOutput,
        environment: [String: String]
    ) throws(BerthError) {
        self.lifecycle = lifecycle
        self.options = options
        self.output = output
        self.environment = environment
        let ignore = try BuildContext.ignorePatterns(in: options.contextPath)
        self.context = try BuildContext(path: options.contextPath, ignore: ignore)
        self.cache = BuildCache(layout: lifecycle.layout)
    }

    /// A stage: its FROM and the instructions after it.
    struct Stage {
        var from: Instruction
        var base: String
        var name: String?
        var platform: String?
        var body: [Instruction]
    }

    /// Builds and returns the final image's ID (`sha256:…`).
    public func build() throws(BerthError) -> String {
        // What a build killed earlier left behind goes first (its lock is free).
        for id in lifecycle.removeOrphanedBuildContainers() where !options.quiet {
            output.line("Removing intermediate container \(Format.shortID(id)) (left by an interrupted build)")
        }
        ownership = try BuildOwnership(layout: lifecycle.layout)
        defer { ownership = nil }
        dockerfile = try Dockerfile.parse(options.dockerfile)
        dockerfile.warnings.forEach(output.warn)
        let (metaArgs, stages) = try splitStages()
        let targetIndex = try resolveTarget(stages)
        let needed = try neededStages(stages, upTo: targetIndex, metaArgs: metaArgs)
        // `--label` becomes one more LABEL step at the end of the target stage.
        stepTotal = metaArgs.count + needed.reduce(0) { $0 + 1 + stages[$1].body.count } + (options.labels.isEmpty ? 0 : 1)
        if !options.quiet && options.announceContext {
            output.line("Sending build context to Docker daemon  \(Self.humanSize(context.transferSize()))")
        }
        var metaValues: [String: String] = [:]
        for arg in metaArgs {
            try step(arg.original)
            for (name, value) in try argDeclarations(arg, variables: metaValues) {
                if let v = buildArg(name) ?? value { metaValues[name] = v }
            }
        }
        stageImages = Array(repeating: "", count: stages.count)
        stageNames = stages.map(\.name)
        var finalID = ""
        for index in needed {
            let isFinal = index == targetIndex
            finalID = try buildStage(stages[index], index: index, metaArgs: metaValues, isFinal: isFinal)
            stageImages[index] = finalID
        }
        let unused = options.buildArgs.map(\.0).filter { !usedBuildArgs.contains($0) && !BuildArgs.isProxy($0) }
        if !unused.isEmpty {
            output.warn("[Warning] One or more build-args [\(unused.joined(separator: " "))] were not consumed")
        }
        try FileLock.withLock(lifecycle.layout.imageLock) { () throws(BerthError) in
            for tag in options.tags { try lifecycle.images.setTag(tag, to: finalID) }
        }
        if !options.quiet {
            output.line("Successfully built \(Format.shortID(finalID))")
            for tag in options.tags { output.line("Successfully tagged \(tag)") }
        }
        return finalID
    }

    /// Meta ARGs (before the first FROM) and the stages.
    func splitStages() throws(BerthError) -> ([Instruction], [Stage]) {
        var meta: [Instruction] = []
        var stages: [Stage] = []
        for ins in dockerfile.instructions {
            if ins.keyword == "FROM" {
                try ins.checkFlags(["platform"])
                let words = ins.text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
                guard words.count == 1 || (words.count == 3 && words[1].uppercased() == "AS") else {
                    throw .invalid(
                        "dockerfile parse error on line \(ins.line): FROM requires either one or three arguments (FROM IMAGE [AS NAME])"
                    )
                }
                var name: String?
                if words.count == 3 {
                    let n = words[2].lowercased()
                    guard Self.validStageName(n) else {
                        throw .invalid(
                            "dockerfile parse error on line \(ins.line): invalid name for build stage: \"\(words[2])\", name can't start with a number or contain symbols"
                        )
                    }
                    guard !stages.contains(where: { $0.name == n }) else {
                        throw .invalid("dockerfile parse error on line \(ins.line): duplicate name \(n)")
                    }
                    name = n
                }
                stages.append(Stage(from: ins, base: words[0], name: name, platform: ins.flag("platform"), body: []))
            } else if stages.isEmpty {
                guard ins.keyword == "ARG" else {
                    throw .invalid(
                        "dockerfile parse error on line \(ins.line): \(ins.keyword) before FROM; a Dockerfile must begin with FROM (only ARG may come before it)"
                    )
                }
                meta.append(ins)
            } else {
                stages[stages.count - 1].body.append(ins)
            }
        }
        guard !stages.isEmpty else {
            throw .invalid("the Dockerfile has no FROM instruction; add one (FROM busybox, or FROM scratch)")
        }
        return (meta, stages)
    }

    static func validStageName(_ name: String) -> Bool {
        guard let first = name.first, first.isASCII, first.isLetter else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
    }

    private func resolveTarget(_ stages: [Stage]) throws(BerthError) -> Int {
        guard let target = options.target else { return stages.count - 1 }
        if let i = stages.firstIndex(where: { $0.name == target.lowercased() }) { return i }
        throw .notFound("failed to reach build target \(target) in Dockerfile; name a stage (FROM IMAGE AS \(target))")
    }

    /// The stages the target needs (FROM a stage, COPY --from), in order;
    /// the others are skipped, as BuildKit and buildah do.
    private func neededStages(_ stages: [Stage], upTo target: Int, metaArgs: [Instruction]) throws(BerthError) -> [Int] {
        var needed = Set<Int>()
        func visit(_ i: Int) {
            guard needed.insert(i).inserted else { return }
            let s = stages[i]
            if let d = stages[..<i].firstIndex(where: { $0.name == s.base.lowercased() }) { visit(d) }
            for ins in s.body where ["COPY", "ADD"].contains(ins.keyword) {
                guard let from = ins.flag("from") else { continue }
                if let d = stages[..<i].firstIndex(where: { $0.name == from.lowercased() }) {
                    visit(d)
                } else if let n = Int(from), n >= 0, n < i {
                    visit(n)
                }
            }
        }
        visit(target)
        return needed.sorted()
    }

    /// Prints `Step N/M : TEXT`.
    /// Prints `Step N/M : TEXT`. Ctrl-C in the REPL ends the build here,
    /// between steps (during RUN it goes to the container).
    func step(_ text: String) throws(BerthError) {
        try Interruption.check()
        stepNumber += 1
        if !options.quiet { output.line("Step \(stepNumber)/\(stepTotal) : \(text)") }
    }

    func say(_ text: String) { if !options.quiet { output.line(text) } }

    /// The value of `--build-arg NAME`, marking it used.
    func buildArg(_ name: String) -> String? {
        guard let value = options.buildArgs.last(where: { $0.0 == name })?.1 else { return nil }
        usedBuildArgs.insert(name)
        return value
    }

    /// An ARG line's names and defaults (expanded).
    func argDeclarations(_ ins: Instruction, variables: [String: String]) throws(BerthError) -> [(String, String?)] {
        let words = ShellWords.splitKeepingQuotes(ins.text, escape: dockerfile.escape)
        guard !words.isEmpty else {
            throw .invalid("dockerfile parse error on line \(ins.line): ARG requires at least one argument")
        }
        let expander = ShellWords(escape: dockerfile.escape, variables: variables)
        var result: [(String, String?)] = []
        for word in words {
            if let eq = word.firstIndex(of: "=") {
                result.append((String(word[..<eq]), try expander.word(String(word[word.index(after: eq)...]))))
            } else {
                result.append((word, nil))
            }
        }
        return result
    }

    /// Docker's `units.HumanSize`: four significant digits (`2.048kB`).
    static func humanSize(_ bytes: Int64) -> String {
        let units = ["B", "kB", "MB", "GB", "TB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1000, unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        let decimals = value >= 1000 ? 0 : value >= 100 ? 1 : value >= 10 ? 2 : 3
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        var text = String(Int64((value * scale).rounded()))
        if decimals > 0 {
            while text.count <= decimals { text = "0" + text }
            text.insert(".", at: text.index(text.endIndex, offsetBy: -decimals))
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text + units[unit]
    }
}

/// Build arguments Docker passes to RUN without an ARG line.
enum BuildArgs {
    static let proxies: Set<String> = [
        "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
        "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy",
    ]

    static func isProxy(_ name: String) -> Bool { proxies.contains(name) }
}

extension JSON {
    /// The object without `key`.
    func removing(_ key: String) -> JSON {
        guard case .object(let members) = self else { return self }
        return .object(members.filter { $0.0 != key })
    }
}
