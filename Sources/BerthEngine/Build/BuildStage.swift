#if canImport(Glibc)
import Glibc
#endif
import BerthCore

/// One stage's state while it is built.
struct StageState {
    /// The image the next step builds on (nil: `FROM scratch`, nothing stored yet).
    var parentID: String?
    /// That image's config, with what FROM adds (PATH) not yet committed.
    var config: JSON
    /// ARGs declared in this stage, with their values (nil: declared, unset).
    var args: [(String, String?)] = []
    /// Whether a CMD came earlier in this stage (ENTRYPOINT then keeps it).
    var cmdSet = false
    /// False after the first cache miss: later steps are not looked up.
    var useCache = true
    /// Whether a step has made an image in this stage.
    var committed = false
    /// The meta ARGs' values (before the first FROM): what `ARG NAME`
    /// without a default imports into the stage.
    var metaArgs: [String: String] = [:]

    var run: JSON { config["config"] ?? .object([]) }

    /// `Config.Shell`, or Docker's default.
    var shell: [String] {
        let s = run["Shell"]?.stringArray ?? []
        return s.isEmpty ? ["/bin/sh", "-c"] : s
    }

    /// ENV and the ARGs in scope, ENV winning (for expansion).
    var variables: [String: String] {
        var result: [String: String] = [:]
        for (k, v) in args { if let v { result[k] = v } }
        for e in run["Env"]?.stringArray ?? [] {
            if let eq = e.firstIndex(of: "=") { result[String(e[..<eq])] = String(e[e.index(after: eq)...]) }
        }
        return result
    }

    /// ARGs with a value that ENV does not shadow, sorted: what RUN sees and
    /// records (`|1 V=2 /bin/sh -c …`).
    var runArgs: [(String, String)] {
        let envNames = Set((run["Env"]?.stringArray ?? []).map { String($0.prefix { $0 != "=" }) })
        var seen: [String: String] = [:]
        for (k, v) in args { if let v, !envNames.contains(k) { seen[k] = v } }
        return seen.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    static func scratch() -> JSON {
        .object([
            ("architecture", .string(ImageConfig.hostArchitecture)),
            ("config", .object([])),
            ("created", .string(Timestamp.now.rfc3339)),
            ("history", .array([])),
            ("os", .string("linux")),
            ("rootfs", .object([("type", .string("layers")), ("diff_ids", .array([]))])),
        ])
    }
}

extension Builder {
    /// Builds one stage; returns its image ID.
    func buildStage(_ stage: Stage, index: Int, metaArgs: [String: String], isFinal: Bool) throws(BerthError) -> String {
        try step(stage.from.original)
        let meta = ShellWords(escape: dockerfile.escape, variables: metaArgs)
        let base = try meta.word(stage.base)
        // Berth builds for this machine only: any other platform is refused,
        // never silently ignored.
        if let text = stage.platform {
            let platform = try meta.word(text)
            let host = "linux/" + ImageConfig.hostArchitecture
            guard platform == host || platform == "linux" else {
                throw .invalid(
                    "FROM --platform=\(platform) on line \(stage.from.line): Berth builds only for this machine (\(host)); drop --platform or use \(host)"
                )
            }
        }
        var s: StageState
        if base.lowercased() == "scratch" {
            s = StageState(parentID: nil, config: StageState.scratch())
        } else {
            let id: String
            if let i = stageNames[..<index].firstIndex(where: { $0 == base.lowercased() }) {
                id = stageImages[i]
            } else {
                id = try lifecycle.images.resolve(try options.fetchImage?(base) ?? base).id
            }
            s = StageState(parentID: id, config: try lifecycle.images.load(id: id).config)
            say(" ---> \(Format.shortID(id))")
        }
        s.metaArgs = metaArgs
        // Classic and buildah give every stage a PATH when the base has none.
        var env = s.run["Env"]?.stringArray ?? []
        if !env.contains(where: { $0.hasPrefix("PATH=") }) {
            env.insert("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", at: 0)
            s.config = s.config.setting("config", s.run.setting("Env", .strings(env)))
        }
        // The base's ONBUILD triggers run now, in this context, then are gone.
        let triggers = s.run["OnBuild"]?.stringArray ?? []
        if s.run["OnBuild"] != nil { s.config = s.config.setting("config", s.run.removing("OnBuild")) }
        if !triggers.isEmpty {
            say("# Executing \(triggers.count) build trigger\(triggers.count == 1 ? "" : "s")")
            for text in triggers {
                let ins = try Instruction.parse(text, line: stage.from.line, escape: dockerfile.escape)
                try dispatch(ins, &s, stageIndex: index)
            }
        }
        var body = stage.body
        if isFinal && !options.labels.isEmpty {
            // Quoted with the file's escape character, so that the expander
            // gives the values back literally.
            let e = String(dockerfile.escape)
            func quoted(_ s: String) -> String {
                "\"" + s.replacing(e, with: e + e).replacing("\"", with: e + "\"").replacing("$", with: e + "$") + "\""
            }
            let text = options.labels.map { quoted($0.0) + "=" + quoted($0.1) }.joined(separator: " ")
            body.append(try Instruction.parse("LABEL " + text, line: 0, escape: dockerfile.escape))
        }
        for ins in body {
            try step(ins.original)
            try dispatch(ins, &s, stageIndex: index)
        }
        if let id = s.parentID { return id }
        // FROM scratch with nothing after it: an empty image.
        let id = try FileLock.withLock(lifecycle.layout.imageLock) { () throws(BerthError) -> String in
            try lifecycle.images.addImage(config: s.config)
        }
        return id
    }

    /// Runs one instruction.
    func dispatch(_ ins: Instruction, _ s: inout StageState, stageIndex: Int) throws(BerthError) {
        let words = ShellWords(escape: dockerfile.escape, variables: s.variables)
        switch ins.keyword {
        case "RUN":
            try ins.checkFlags([])
            try runStep(ins, &s)
        case "COPY":
            try ins.checkFlags(["chown", "chmod", "from"])
            try copyStep(ins, &s, add: false, stageIndex: stageIndex)
        case "ADD":
            try ins.checkFlags(["chown", "chmod"])
            try copyStep(ins, &s, add: true, stageIndex: stageIndex)
        case "WORKDIR":
            try ins.checkFlags([])
            try workdirStep(ins, &s, words)
        case "ARG":
            try ins.checkFlags([])
            for (name, value) in try argDeclarations(ins, variables: s.variables) {
                s.args.removeAll { $0.0 == name }
                s.args.append((name, buildArg(name) ?? value ?? s.metaArgs[name]))
            }
            try commitMetadata(&s, run: s.run, text: "ARG " + ins.text)
        default:
            try metadataStep(ins, &s, words)
        }
    }

    /// Instructions that change only the config.
    private func metadataStep(_ ins: Instruction, _ s: inout StageState, _ words: ShellWords) throws(BerthError) {
        try ins.checkFlags(
            ins.keyword == "HEALTHCHECK" ? ["interval", "timeout", "start-period", "start-interval", "retries"] : [])
        var run = s.run
        var text = ins.keyword + " " + ins.text
        switch ins.keyword {
        case "ENV", "LABEL":
            // One snapshot of the variables for the whole line, as Docker.
            let pairs = try ins.pairs(escape: dockerfile.escape).map { (p) throws(BerthError) -> (String, String) in
                (try words.word(p.0), try words.word(p.1))
            }
            if ins.keyword == "ENV" {
                run = run.setting("Env", .strings(ImageChanges.mergeEnv(run["Env"]?.stringArray ?? [], pairs)))
            } else {
                var labels = run["Labels"] ?? .object([])
                if labels == .null { labels = .object([]) }
                for (k, v) in pairs { labels = labels.setting(k, .string(v)) }
                run = run.setting("Labels", labels)
            }
            text = ins.keyword + " " + pairs.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
        case "CMD", "ENTRYPOINT":
            let command = try ins.execForm() ?? s.shell + [ins.text]
            let key = ins.keyword == "CMD" ? "Cmd" : "Entrypoint"
            run = run.setting(key, ins.keyword == "ENTRYPOINT" && command.isEmpty ? .null : .strings(command))
            if ins.keyword == "CMD" {
                s.cmdSet = true
            } else if !s.cmdSet {
                run = run.setting("Cmd", .null)
            }
            text = "\(ins.keyword) [\(command.map { Self.goQuote($0) }.joined(separator: " "))]"
        case "USER":
            let user = try words.word(ins.text)
            guard !user.isEmpty else {
                throw .invalid("dockerfile parse error on line \(ins.line): USER requires exactly one argument")
            }
            run = run.setting("User", .string(user))
            text = "USER \(user)"
        case "EXPOSE":
            var ports = run["ExposedPorts"] ?? .object([])
            if ports == .null { ports = .object([]) }
            var added: [String] = []
            for word in try words.words(ins.text) {
                for port in try Self.ports(word, line: ins.line) {
                    ports = ports.setting(port, .object([]))
                    added.append(port)
                }
            }
            guard !added.isEmpty else {
                throw .invalid("dockerfile parse error on line \(ins.line): EXPOSE requires at least one argument")
            }
            run = run.setting("ExposedPorts", ports)
            text = "EXPOSE " + added.sorted().joined(separator: " ")
        case "VOLUME":
            var volumes = run["Volumes"] ?? .object([])
            if volumes == .null { volumes = .object([]) }
            let paths = try ins.words().map { (w) throws(BerthError) in try words.word(w) }.filter { !$0.isEmpty }
            guard !paths.isEmpty else {
                throw .invalid("dockerfile parse error on line \(ins.line): VOLUME requires at least one argument")
            }
            for p in paths { volumes = volumes.setting(p, .object([])) }
            run = run.setting("Volumes", volumes)
            text = "VOLUME [" + paths.joined(separator: " ") + "]"
        case "STOPSIGNAL":
            let signal = try words.word(ins.text)
            guard Signals.number(signal) != nil else {
                throw .invalid(
                    "dockerfile parse error on line \(ins.line): STOPSIGNAL: invalid signal \"\(signal)\"; give a name like SIGTERM or a number"
                )
            }
            run = run.setting("StopSignal", .string(signal))
            text = "STOPSIGNAL \(signal)"
        case "SHELL":
            guard let shell = try ins.execForm(), !shell.isEmpty else {
                throw .invalid("dockerfile parse error on line \(ins.line): SHELL requires the arguments to be in JSON form")
            }
            run = run.setting("Shell", .strings(shell))
            text = "SHELL [\(shell.map { Self.goQuote($0) }.joined(separator: " "))]"
        case "HEALTHCHECK":
            run = run.setting("Healthcheck", try Healthcheck.parse(ins))
            text = ins.original
        case "ONBUILD":
            let inner = try Instruction.parse(ins.text, line: ins.line, escape: dockerfile.escape)
            guard !["ONBUILD", "FROM", "MAINTAINER"].contains(inner.keyword) else {
                throw .invalid("dockerfile parse error on line \(ins.line): \(inner.keyword) isn't allowed as an ONBUILD trigger")
            }
            run = run.setting("OnBuild", .strings((run["OnBuild"]?.stringArray ?? []) + [ins.text]))
            text = "ONBUILD " + ins.text
        case "MAINTAINER":
            try commitMetadata(&s, run: run, text: text, author: ins.text)
            return
        default:
            throw .invalid("dockerfile parse error on line \(ins.line): \(ins.keyword) is not supported here")
        }
        try commitMetadata(&s, run: run, text: text)
    }

    /// `80`, `80/udp`, `8000-8002/tcp` → `80/tcp`…
    static func ports(_ word: String, line: Int) throws(BerthError) -> [String] {
        let parts = word.split(separator: "/", maxSplits: 1).map(String.init)
        let proto = parts.count > 1 ? parts[1].lowercased() : "tcp"
        let range = (parts.first ?? "").split(separator: "-", maxSplits: 1).map { UInt16($0) }
        guard ["tcp", "udp", "sctp"].contains(proto), !range.isEmpty, range.allSatisfy({ $0 != nil }),
            let low = range[0], let high = range.count > 1 ? range[1] : range[0], low <= high
        else {
            throw .invalid(
                "dockerfile parse error on line \(line): invalid port \"\(word)\"; give PORT[/tcp|udp|sctp] or START-END/PROTO")
        }
        return (low...high).map { "\($0)/\(proto)" }
    }

    /// Go's `%q` of a string, as Docker's history shows CMD arrays.
    static func goQuote(_ s: String) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default: out.unicodeScalars.append(c)
            }
        }
        return out + "\""
    }

    /// A metadata step: the new run config, an `empty_layer` history entry.
    func commitMetadata(_ s: inout StageState, run: JSON, text: String, author: String? = nil) throws(BerthError) {
        let createdBy = s.shell.joined(separator: " ") + " #(nop)  " + text
        let key = createdBy + (text.hasPrefix("ENTRYPOINT") && !s.cmdSet ? "\u{0}nocmd" : "")
        try cachedStep(&s, key: key) { (s: inout StageState) throws(BerthError) -> String in
            var config = s.config.setting("config", run)
            if let author { config = config.setting("author", .string(author)) }
            return try storeImage(config, layer: nil, createdBy: createdBy)
        }
    }

    /// Looks a step up in the cache, else makes it; prints Docker's lines.
    func cachedStep(
        _ s: inout StageState, key: String,
        _ make: (inout StageState) throws(BerthError) -> String
    ) throws(BerthError) {
        let parent = s.parentID ?? "scratch"
        if s.useCache && !options.noCache, let hit = cache.lookup(parent: parent, step: key) {
            say(" ---> Using cache")
            try adopt(hit, &s)
            return
        }
        s.useCache = false
        let id = try make(&s)
        cache.record(parent: parent, step: key, image: id)
        try adopt(id, &s)
    }

    private func adopt(_ id: String, _ s: inout StageState) throws(BerthError) {
        s.parentID = id
        s.config = try lifecycle.images.load(id: id).config
        s.committed = true
        say(" ---> \(Format.shortID(id))")
    }

    /// Stores an image made from `config` (the parent's, changed) plus a
    /// history entry and, if the step changed files, its layer.
    func storeImage(_ config: JSON, layer: ImageCommitter.CapturedLayer?, createdBy: String) throws(BerthError) -> String {
        let now = Timestamp.now.rfc3339
        var entry: [(String, JSON)] = [("created", .string(now)), ("created_by", .string(createdBy))]
        let hasLayer = layer.map { !$0.isEmpty } ?? false
        if !hasLayer { entry.append(("empty_layer", .bool(true))) }
        var config = config.setting("created", .string(now))
        config = config.setting("history", .array((config["history"]?.arrayValue ?? []) + [.object(entry)]))
        if let layer, hasLayer {
            let ids = (config["rootfs"]?["diff_ids"]?.stringArray ?? []) + [layer.diffID]
            config = config.setting("rootfs", .object([("type", .string("layers")), ("diff_ids", .strings(ids))]))
        }
        let store = lifecycle.images
        do {
            return try FileLock.withLock(lifecycle.layout.imageLock) { () throws(BerthError) -> String in
                if let layer {
                    if hasLayer {
                        try store.commitLayer(staging: layer.staging, diffID: layer.diffID, size: layer.size)
                    } else {
                        try FileSystem.removeTree(layer.staging)
                    }
                }
                return try store.addImage(config: config)
            }
        } catch {
            if let layer { try? FileSystem.removeTree(layer.staging) }
            throw error
        }
    }
}
