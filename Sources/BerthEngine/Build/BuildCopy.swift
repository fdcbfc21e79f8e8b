#if canImport(Glibc)
import Glibc
#endif
import BerthCore

extension Builder {
    /// COPY and ADD. Sources come from the context (or `--from` a stage or
    /// image, through a never-started container's root), resolved inside it;
    /// the destination is resolved inside the new container's root, so a
    /// symlink on either side never leads out. ADD also fetches http:// URLs
    /// and unpacks local tar archives (plain or gzip, sniffed by content).
    func copyStep(_ ins: Instruction, _ s: inout StageState, add: Bool, stageIndex: Int) throws(BerthError) {
        let keyword = ins.keyword
        let words = ShellWords(escape: dockerfile.escape, variables: s.variables)
        let raw = ins.words()
        guard raw.count >= 2 else {
            throw .invalid(
                "dockerfile parse error on line \(ins.line): \(keyword) requires at least two arguments, but got \(raw.count)")
        }
        let expanded = try raw.map { (w) throws(BerthError) in try words.word(w) }
        var dest = expanded.last!
        // History shows the destination as written (`in . `), as Docker's does;
        // the WORKDIR it is relative to is in the parent image, hence the key.
        let writtenDest = dest
        let sourceTexts = Array(expanded.dropLast())
        let chown = try ins.flag("chown").map { (c) throws(BerthError) in try words.word(c) }
        var chmod: UInt32?
        if let text = try ins.flag("chmod").map({ (c) throws(BerthError) in try words.word(c) }) {
            guard let mode = UInt32(text, radix: 8), mode <= 0o7777 else {
                throw .invalid("dockerfile parse error on line \(ins.line): --chmod=\(text) is not an octal mode like 0755")
            }
            chmod = mode
        }
        let workdir = nonEmpty(s.run["WorkingDir"]) ?? "/"
        let trailingSlash = dest.hasSuffix("/") || dest == "." || dest.hasSuffix("/.")
        dest = IgnorePatterns.clean(dest.hasPrefix("/") ? dest : workdir + "/" + dest)

        // Where the sources come from.
        var fromImage: String?
        if let from = ins.flag("from") {
            fromImage = try resolveFrom(try words.word(from), stageIndex: stageIndex)
        }
        return try withSourceContext(fromImage) { (ctx) throws(BerthError) in
            var sources: [(BuildContext, BuildContext.Source, Bool)] = []
            var staging: [String] = []
            defer { for dir in staging { try? FileSystem.removeTree(dir) } }
            var keyParts: [String] = []
            for text in sourceTexts {
                if add && (text.hasPrefix("http://") || text.hasPrefix("https://")) {
                    let (dir, name) = try download(text)
                    staging.append(dir)
                    let urlContext = try BuildContext(path: dir, ignore: IgnorePatterns())
                    sources.append((urlContext, BuildContext.Source(relative: name, isDirectory: false), false))
                    keyParts.append(text)
                    continue
                }
                guard !text.hasPrefix("http://") && !text.hasPrefix("https://") else {
                    throw .invalid(
                        "dockerfile parse error on line \(ins.line): COPY cannot fetch URLs (\(text)); use ADD or download it in a RUN"
                    )
                }
                for src in try ctx.resolve(text, instruction: keyword) { sources.append((ctx, src, add)) }
            }
            if sources.count > 1 && !trailingSlash {
                throw .invalid(
                    "When using \(keyword) with more than one source file, the destination must be a directory and end with a /")
            }
            for (c, src, _) in sources { keyParts.append(try c.checksum([src])) }
            let checksum =
                keyParts.count == 1
                ? keyParts[0] : "multi:" + Digest.hex(Digest.sha256(Array(keyParts.joined(separator: ",").utf8)))
            var flags = ""
            if let chown { flags += "--chown=\(chown) " }
            if let chmod { flags += "--chmod=\(String(chmod, radix: 8)) " }
            if let fromImage { flags += "--from=\(fromImage) " }
            // As written, so a trailing `/` stays: `COPY f /x` and `COPY f /x/`
            // differ, and so do their keys.
            let createdBy = s.shell.joined(separator: " ") + " #(nop) \(keyword) \(flags)\(checksum) in \(writtenDest) "
            try cachedStep(&s, key: createdBy) { (s: inout StageState) throws(BerthError) -> String in
                let layer = try changeFiles(&s) { (root) throws(BerthError) in
                    try place(sources, dest: dest, directory: trailingSlash, root: root, chown: chown, chmod: chmod)
                }
                return try storeImage(s.config, layer: layer, createdBy: createdBy)
            }
        }
    }

    /// `--from=`: a stage name, a stage index, or an image.
    private func resolveFrom(_ from: String, stageIndex: Int) throws(BerthError) -> String {
        if let i = stageNames[..<stageIndex].firstIndex(where: { $0 == from.lowercased() }) { return stageImages[i] }
        if let n = Int(from) {
            guard n >= 0, n < stageIndex else {
                throw .invalid(
                    n == stageIndex
                        ? "COPY --from=\(from) refers to the current build stage; copy from an earlier one"
                        : "COPY --from=\(from): there is no earlier build stage \(from)")
            }
            return stageImages[n]
        }
        return try lifecycle.images.resolve(try options.fetchImage?(from) ?? from).id
    }

    /// The context, or an image's root (owners kept) for `--from`.
    private func withSourceContext(_ image: String?, _ body: (BuildContext) throws(BerthError) -> Void) throws(BerthError) {
        guard let image else { return try body(context) }
        try withContainer(image: image) { (_, root) throws(BerthError) in
            let ctx = try BuildContext(path: root, ignore: IgnorePatterns())
            ctx.keepOwners = true
            try body(ctx)
        }
    }

    /// Writes the sources into `root` at `dest` by Docker's rules: a
    /// directory's contents merge into dest; a file goes into dest when dest
    /// ends in `/` or is a directory, else becomes dest.
    private func place(
        _ sources: [(BuildContext, BuildContext.Source, Bool)], dest: String, directory: Bool, root: String,
        chown: String?, chmod: UInt32?
    ) throws(BerthError) {
        let rootFD: FileDescriptor
        do { rootFD = try FileDescriptor.open(root, O_RDONLY | O_DIRECTORY) } catch { throw .syscall("open", root, error) }
        defer { rootFD.close() }
        let destExists =
            (try? FileDescriptor.openInRoot(rootFD, dest, O_RDONLY | O_DIRECTORY)).map {
                $0.close(); return true
            } ?? false
        let owner: (UInt32, UInt32)? = try chown.map { (spec) throws(BerthError) in
            let u = try UserLookup.resolve(spec, rootfs: root)
            // A number alone means N:N, as Docker's --chown.
            if !spec.contains(":"), let n = UInt32(spec) { return (n, n) }
            return (u.uid, u.gid)
        }
        let target = String(dest.dropFirst())
        try TarTransfer.copy(layout: lifecycle.layout, label: "build", into: root) { (writer) throws(BerthError) in
            for (ctx, src, unpack) in sources {
                if src.isDirectory {
                    try ctx.archive(
                        src, as: target, into: writer, owner: owner, mode: chmod, withTop: !destExists && !target.isEmpty)
                    continue
                }
                let name = FileSystem.baseName("/" + src.relative)
                let intoDir = directory || destExists
                if unpack, try ctx.isArchive(src) {
                    try ctx.unpack(src, into: target, writer: writer, owner: owner)
                    continue
                }
                let path = intoDir ? (target.isEmpty ? name : target + "/" + name) : target
                try ctx.archive(src, as: path, into: writer, owner: owner, mode: chmod)
            }
        }
    }

    /// ADD URL: fetched into private staging, mode 0600, named after the URL.
    private func download(_ url: String) throws(BerthError) -> (String, String) {
        let staging = try lifecycle.layout.makeStaging("build-add")
        var name = String(url.split(separator: "?")[0].split(separator: "/").last ?? "")
        if name.isEmpty || name.contains(":") { name = "download" }
        do throws(BerthError) {
            _ = try ImageImporter.download(url, into: staging + "/" + name)
            chmod(staging + "/" + name, 0o600)
            return (staging, name)
        } catch {
            try? FileSystem.removeTree(staging)
            throw BerthError(error.kind, "ADD failed: " + error.message.replacingImport())
        }
    }
}

extension String {
    fileprivate func replacingImport() -> String {
        hasPrefix("import ") ? String(dropFirst(7)) : self
    }
}
