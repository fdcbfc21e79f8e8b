/// Docker's legacy `--link NAME[:ALIAS]`: the linked container's address
/// under the alias in `/etc/hosts` and, on the default bridge, environment
/// variables naming its address, exposed ports and environment
/// (`DB_PORT_5432_TCP_ADDR`…), read at each start as dockerd does.
///
/// Recorded as Docker records it, `HostConfig.Links: ["/db:/web/alias"]`
/// (the linked container, then this container's name and the alias).
public struct ContainerLink: Sendable, Equatable {
    /// The linked container's name, without a slash.
    public var name: String
    /// The name this container reaches it by.
    public var alias: String

    public init(name: String, alias: String) {
        self.name = name
        self.alias = alias
    }

    /// `NAME`, `NAME:ALIAS`, or a record's `/NAME:/PARENT/ALIAS`, with the
    /// CLI's messages (`opts.ValidateLink`); a name or alias must be a
    /// container name (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`), so neither can put
    /// a line or a second name into `/etc/hosts` or a variable's name.
    public static func parse(_ text: String) throws(BerthError) -> ContainerLink {
        guard !text.isEmpty else {
            throw .usage("invalid argument \"\" for \"--link\" flag: empty string specified for links")
        }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count <= 2 else {
            throw .usage("invalid argument \(quoted(text)) for \"--link\" flag: bad format for links: \(text)")
        }
        var link = ContainerLink(name: parts[0], alias: parts.count == 2 ? parts[1] : parts[0])
        if parts.count == 2 && link.name.hasPrefix("/") {
            link.name.removeFirst()
            link.alias = String(link.alias.split(separator: "/").last ?? "")
        }
        for word in [link.name, link.alias] where !isName(word) {
            throw .usage(
                "invalid argument \(quoted(text)) for \"--link\" flag: \(quoted(word)) is not a container name; only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
            )
        }
        return link
    }

    static func isName(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, first.isASCIIAlphanumeric else { return false }
        return text.unicodeScalars.allSatisfy { $0.isASCIIAlphanumeric || $0 == "_" || $0 == "." || $0 == "-" }
    }

    /// The linked container, or dockerd's `could not get container for
    /// NAME` (a long name shortened, so the error stays one readable line).
    public func container(in containers: ContainerStore) throws(BerthError) -> Container {
        do { return try containers.find(name) } catch {
            let detail = error.kind == .notFound ? "No such container: \(shown(name))" : shown(error.message)
            throw BerthError(error.kind, "could not get container for \(shown(name)): \(detail)")
        }
    }

    /// Docker's record form.
    func recorded(parent: String) -> String { "/\(name):/\(parent)/\(alias)" }

    /// What a start refuses with, in dockerd's words.
    func notRunning(parent: String) -> BerthError {
        BerthError(
            .conflict, "Cannot link to a non running container: /\(shown(name)) AS /\(shown(parent))/\(shown(alias))")
    }
}

extension Unicode.Scalar {
    fileprivate var isASCIIAlphanumeric: Bool {
        (48...57).contains(value) || (65...90).contains(value) || (97...122).contains(value)
    }
}

/// What a container's links give it at start: the `/etc/hosts` lines and,
/// on the default bridge, the environment.
public struct ResolvedLinks: Sendable {
    /// `IP` and the names on its line.
    public var hosts: [(IPv4, String)] = []
    public var env: [String] = []

    /// Each link of `c`, its container looked up now. On the default
    /// bridge, with `strict` (a start), a link whose container is gone,
    /// stopped or not on the bridge refuses the start as dockerd does;
    /// without (a rewrite of the hosts file while `c` runs), such a link is
    /// left out. On a user network a link is an alias and never refuses.
    public static func resolve(_ c: Container, in containers: ContainerStore, strict: Bool) throws(BerthError)
        -> ResolvedLinks
    {
        var result = ResolvedLinks()
        for link in c.networkOptions.links {
            if c.networkMode != "bridge" {
                // A user network: the alias names the container's address on
                // a network both are on (dockerd's DNS alias), running or not
                // (its lease keeps the address); no variables.
                guard let child = try? containers.find(link.name) else { continue }
                let mine = Set(c.endpoints.map(\.network))
                guard let address = child.endpoints.first(where: { mine.contains($0.network) })?.address else { continue }
                result.hosts.append((address, link.alias))
                continue
            }
            let child: Container
            do { child = try link.container(in: containers) } catch {
                if !strict { continue }
                throw error
            }
            guard child.state.isActive else {
                if !strict { continue }
                throw link.notRunning(parent: c.name)
            }
            guard let address = child.endpoints.first(where: { $0.network == "bridge" })?.address else {
                if !strict { continue }
                throw BerthError(
                    .conflict,
                    "Cannot link to /\(child.name), as it does not belong to the default network; connect it to bridge or use a user network"
                )
            }
            var names = [link.alias, child.hostname]
            if link.alias != child.name { names.append(child.name) }
            result.hosts.append((address, names.joined(separator: " ")))
            result.env += environment(
                link: link, parent: c.name, address: address, exposed: child.exposedPorts, childEnv: child.env)
        }
        return result
    }

    /// The variables of one link, as dockerd's `links.ToEnv` makes them:
    /// `ALIAS_PORT` (the first port, TCP before others), four variables a
    /// port, `_START`/`_END` ones for each run of consecutive ports of one
    /// protocol, `ALIAS_NAME=/PARENT/ALIAS`, and `ALIAS_ENV_K` for each of
    /// the linked container's variables but HOME and PATH.
    static func environment(link: ContainerLink, parent: String, address: IPv4, exposed: [String], childEnv: [String])
        -> [String]
    {
        let prefix = String(link.alias.uppercased().map { $0 == "-" ? "_" : $0 })
        let ports: [(number: Int, proto: String)] = exposed.compactMap { text in
            let parts = text.split(separator: "/", maxSplits: 1).map(String.init)
            guard let n = Int(parts[0]) else { return nil }
            return (n, parts.count > 1 ? parts[1].lowercased() : "tcp")
        }.sorted { a, b in
            if a.proto == b.proto { return a.number < b.number }
            if a.proto == "tcp" || b.proto == "tcp" { return a.proto == "tcp" }
            return a.proto < b.proto
        }
        var env: [String] = []
        if let first = ports.first { env.append("\(prefix)_PORT=\(first.proto)://\(address):\(first.number)") }
        var start = 0
        for (i, p) in ports.enumerated() {
            let key = "\(prefix)_PORT_\(p.number)_\(p.proto.uppercased())"
            env += [
                "\(key)=\(p.proto)://\(address):\(p.number)", "\(key)_ADDR=\(address)", "\(key)_PORT=\(p.number)",
                "\(key)_PROTO=\(p.proto)",
            ]
            let next = i + 1 < ports.count ? ports[i + 1] : nil
            if let next, next.proto == p.proto, next.number == p.number + 1 { continue }
            if i > start {
                let s = ports[start]
                let startKey = "\(prefix)_PORT_\(s.number)_\(s.proto.uppercased())"
                env += [
                    "\(startKey)_START=\(s.proto)://\(address):\(s.number)", "\(startKey)_PORT_START=\(s.number)",
                    "\(startKey)_END=\(p.proto)://\(address):\(p.number)", "\(startKey)_PORT_END=\(p.number)",
                ]
            }
            start = i + 1
        }
        env.append("\(prefix)_NAME=/\(parent)/\(link.alias)")
        for variable in childEnv {
            guard let eq = variable.firstIndex(of: "=") else { continue }
            let name = String(variable[..<eq])
            // HOSTNAME: records before processEnvironment held it in Env; dockerd adds it at start.
            if name == "HOME" || name == "PATH" || name == "HOSTNAME" { continue }
            env.append("\(prefix)_ENV_\(name)=\(variable[variable.index(after: eq)...])")
        }
        return env
    }
}
