#if canImport(Glibc)
import Glibc
#endif
import BerthCore

/// What Tab should do with the word before the cursor.
public struct CompletionResult: Sendable, Equatable {
    /// The word being completed, quotes and escapes removed.
    public var word: String
    /// Where that word starts on the line, as a UTF-8 byte offset.
    public var wordStart: Int
    /// Every candidate, sorted, each a full replacement for `word`.
    public var candidates: [String]
    /// The quote the cursor is inside, if any.
    public var openQuote: Tokenizer.Quote?
    /// Whether the candidates are paths (listed by their last component).
    public var isPath: Bool

    /// Creates a result.
    public init(
        word: String, wordStart: Int, candidates: [String],
        openQuote: Tokenizer.Quote? = nil, isPath: Bool = false
    ) {
        self.word = word
        self.wordStart = wordStart
        self.candidates = candidates
        self.openQuote = openQuote
        self.isPath = isPath
    }

    /// The longest prefix every candidate shares (the word itself if none).
    public var commonPrefix: String {
        guard var prefix = candidates.first else { return word }
        for candidate in candidates.dropFirst() {
            while !candidate.hasPrefix(prefix) { prefix.removeLast() }
        }
        return prefix
    }
}

/// Completes a REPL line from the commands' own declarations: command names
/// and aliases, their flags, and each flag's and argument's `Completion`.
/// Pure logic: the store is reached only through the `CompletionSource`, the
/// file system only for `.files`.
public struct Completer: Sendable {
    let registry: PluginRegistry
    let source: any CompletionSource
    let builtins: [CommandSpec]
    let currentDirectory: String?
    let home: String?

    /// - Parameters:
    ///   - builtins: commands the shell itself handles (`help`, `exit`);
    ///     a registered command of the same name wins.
    ///   - currentDirectory: where relative paths are looked up (nil: the
    ///     process's working directory).
    ///   - home: what `~` means (nil: `$HOME`).
    public init(
        registry: PluginRegistry, source: any CompletionSource, builtins: [CommandSpec] = [],
        currentDirectory: String? = nil, home: String? = nil
    ) {
        self.registry = registry
        self.source = source
        self.builtins = builtins
        self.currentDirectory = currentDirectory
        self.home = home
    }

    /// Completes the text before the cursor.
    public func complete(_ textBeforeCursor: String) -> CompletionResult {
        let line = Tokenizer.partial(textBeforeCursor)
        var result = CompletionResult(
            word: line.current, wordStart: line.currentStart, candidates: [],
            openQuote: line.openQuote)
        if line.inComment { return result }
        let specs = allSpecs()
        let words = line.words

        if words.isEmpty {
            result.candidates = filter(firstWords(specs), line.current)
            return result
        }

        // Two-word commands first (`plugin ls`, `image ls`), then one word.
        var candidates: [String] = []
        var isPath = false
        if words.count >= 2, let spec = find(words[0] + " " + words[1], specs) {
            (candidates, isPath) = complete(spec, Array(words.dropFirst(2)), line.current)
        } else if let spec = find(words[0], specs) {
            (candidates, isPath) = complete(spec, Array(words.dropFirst(1)), line.current)
        }
        if words.count == 1 {
            // `plugin ` → the second words of the group.
            let group = specs.flatMap { [$0.name] + $0.aliases }.compactMap { name -> String? in
                let parts = name.split(separator: " ", maxSplits: 1)
                guard parts.count == 2, parts[0] == words[0] else { return nil }
                return String(parts[1])
            }
            if !group.isEmpty {
                candidates += filter(group, line.current)
                isPath = false
            }
        }
        result.candidates = Array(Set(candidates)).sorted()
        result.isPath = isPath
        return result
    }

    // MARK: - One command's words

    private func complete(_ spec: CommandSpec, _ args: [String], _ current: String) -> ([String], Bool) {
        var positional = 0
        var flagsDone = false
        var pendingValue: FlagSpec?
        for word in args {
            if let _ = pendingValue { pendingValue = nil; continue }
            if flagsDone || word == "-" || !word.hasPrefix("-") {
                positional += 1
                if !spec.interspersed { flagsDone = true }
                continue
            }
            if word == "--" { flagsDone = true; continue }
            if word.hasPrefix("--") {
                let body = word.dropFirst(2)
                if !body.contains("="), let flag = spec.flag(long: String(body)), !flag.isBoolean {
                    pendingValue = flag
                }
                continue
            }
            var letters = Substring(word.dropFirst())
            while let letter = letters.first {
                letters = letters.dropFirst()
                guard let flag = spec.flag(short: letter) else { continue }
                if !flag.isBoolean {
                    if letters.isEmpty { pendingValue = flag }
                    break
                }
            }
        }

        if let flag = pendingValue {
            return values(flag.completion, current)
        }
        if !flagsDone && current.hasPrefix("-") {
            if current.hasPrefix("--"), let eq = current.firstIndex(of: "=") {
                let name = String(current[current.index(current.startIndex, offsetBy: 2)..<eq])
                guard let flag = spec.flag(long: name), !flag.isBoolean else { return ([], false) }
                let head = String(current[...eq])
                let (found, isPath) = values(flag.completion, String(current[current.index(after: eq)...]))
                return (found.map { head + $0 }, isPath)
            }
            var names = ["--help"]
            for flag in spec.flags {
                names.append("--" + flag.long)
                if let short = flag.short { names.append("-" + String(short)) }
            }
            return (filter(names, current), false)
        }
        guard !spec.arguments.isEmpty else { return ([], false) }
        let arg: ArgSpec
        if positional < spec.arguments.count {
            arg = spec.arguments[positional]
        } else if let last = spec.arguments.last, last.repeats {
            arg = last
        } else {
            return ([], false)
        }
        return values(arg.completion, current)
    }

    /// The candidates a `Completion` offers for `prefix`.
    private func values(_ completion: Completion, _ prefix: String) -> ([String], Bool) {
        switch completion {
        case .none:
            return ([], false)
        case .files:
            return (paths(prefix), true)
        case .images:
            return (filter(source.imageNames(), prefix), false)
        case .containers(let states):
            return (filter(source.containerNames(states: states), prefix), false)
        case .commands:
            return (filter(firstWords(allSpecs()), prefix), false)
        case .plugins:
            return (filter(registry.all.map(\.id), prefix), false)
        case .pluginsOfKind(let kind):
            let ids = PluginKind(rawValue: kind).map { registry.all($0).map(\.id) } ?? []
            return (filter(ids, prefix), false)
        case .words(let words):
            return (filter(words, prefix), false)
        }
    }

    // MARK: - Helpers

    private func allSpecs() -> [CommandSpec] {
        let registered = registry.commands.map(\.spec)
        let names = Set(registered.map(\.name))
        return registered + builtins.filter { !names.contains($0.name) }
    }

    private func find(_ key: String, _ specs: [CommandSpec]) -> CommandSpec? {
        specs.first { $0.name == key || $0.aliases.contains(key) }
    }

    /// The words a line can start with: every name's and alias's first word.
    private func firstWords(_ specs: [CommandSpec]) -> [String] {
        specs.flatMap { [$0.name] + $0.aliases }.map { name in
            name.split(separator: " ").first.map(String.init) ?? name
        }
    }

    private func filter(_ names: [String], _ prefix: String) -> [String] {
        Array(Set(names.filter { $0.hasPrefix(prefix) })).sorted()
    }

    /// Paths starting with `prefix`, directories suffixed with `/`. A
    /// leading `~` is expanded, so the candidates carry the expanded path.
    private func paths(_ prefix: String) -> [String] {
        var typed = prefix
        if typed == "~" || typed.hasPrefix("~/") {
            let home = self.home ?? getenv("HOME").map { String(cString: $0) } ?? "/"
            typed = (home.hasSuffix("/") ? String(home.dropLast()) : home) + typed.dropFirst()
            if typed.isEmpty { typed = "/" }
        }
        let dirPart: String  // what stays in front of each name, as typed
        let base: String
        if let slash = typed.lastIndex(of: "/") {
            dirPart = String(typed[...slash])
            base = String(typed[typed.index(after: slash)...])
        } else {
            dirPart = ""
            base = typed
        }
        var lookIn = dirPart.isEmpty ? "." : dirPart
        if !lookIn.hasPrefix("/") {
            let cwd = currentDirectory ?? Self.workingDirectory()
            lookIn = cwd + "/" + lookIn
        }
        var found: [String] = []
        for name in FileSystem.list(lookIn) where name.hasPrefix(base) {
            if name.hasPrefix(".") && !base.hasPrefix(".") { continue }
            let isDir = FileSystem.isDirectory(lookIn + "/" + name)
            found.append(dirPart + name + (isDir ? "/" : ""))
        }
        return found.sorted()
    }

    private static func workingDirectory() -> String {
        guard let path = getcwd(nil, 0) else { return "." }
        defer { free(path) }
        return String(cString: path)
    }
}
