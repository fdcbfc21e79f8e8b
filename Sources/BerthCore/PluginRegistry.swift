import Synchronization

/// The kinds of extension Berth has.
public enum PluginKind: String, Sendable, CaseIterable {
    case command, isolation, storage
}

/// Where a registration came from, shown by `plugin ls`.
public enum PluginOrigin: Sendable, Equatable, CustomStringConvertible {
    /// Compiled into the engine's own command set.
    case builtin
    /// An in-tree plugin target under plugins/NAME.
    case inTree(String)
    /// An executable or script found on disk.
    case external(String)
    /// A function defined in a Berth script.
    case script(String)

    /// `builtin`, `plugins/storage-overlay`, the executable's path…
    public var description: String {
        switch self {
        case .builtin: return "builtin"
        case .inTree(let dir): return "plugins/\(dir)"
        case .external(let path): return path
        case .script(let where_): return "script \(where_)"
        }
    }
}

/// What a plugin makes when it is asked for an instance.
public enum PluginFactory: Sendable {
    case command(@Sendable () -> any Command)
    case storage(@Sendable (StorageEnvironment) -> any StorageDriver)
    case isolation(@Sendable () -> any IsolationBackend)
}

/// One entry in the registry: a kind, an id, a description and a factory
/// (containerd's registration shape).
public struct Registration: Sendable {
    /// The kind of extension.
    public var kind: PluginKind
    /// The id, unique within its kind (`overlay`, `images`).
    public var id: String
    /// One line shown by `plugin ls` (a built-in command's is read from its
    /// spec when asked for, so registering does not make the command).
    public var description: String {
        get { summary() }
        set {
            let text = newValue
            summary = { text }
        }
    }
    private var summary: @Sendable () -> String
    /// Where it came from.
    public var origin: PluginOrigin
    /// Its version, for external plugins.
    public var version: String
    /// Makes the instance.
    public var factory: PluginFactory
    /// What a layer above the core knows how to make from this plugin,
    /// boxed in a type of that layer's own (the engine's `RuntimeFactory`),
    /// so it gets it back with a cast to a concrete type: a cast to a
    /// protocol it does not name here would scan every conformance in the
    /// binary the first time a process made it.
    public var typedFactory: (any Sendable)?
    /// A command's aliases, when known without making it (`Registration.command`
    /// reads them from the spec once); nil: make the command to learn them.
    public var aliases: [String]?

    /// Declares a registration.
    public init(
        kind: PluginKind, id: String, description: String, origin: PluginOrigin,
        version: String = "builtin", factory: PluginFactory
    ) {
        self.kind = kind
        self.id = id
        self.summary = { description }
        self.origin = origin
        self.version = version
        self.factory = factory
    }

    /// A command registration; id and description come from the spec.
    public static func command(
        _ make: @escaping @Sendable () -> any Command,
        origin: PluginOrigin = .builtin
    ) -> Registration {
        let spec = make().spec
        var registration = Registration(
            kind: .command, id: spec.name, description: spec.summary,
            origin: origin, factory: .command(make))
        registration.aliases = spec.aliases
        return registration
    }

    /// A command registration whose name and aliases are known without
    /// making it (the built-ins); its description comes from the spec when
    /// asked for.
    public static func command(
        name: String, aliases: [String], origin: PluginOrigin = .builtin, _ make: @escaping @Sendable () -> any Command
    ) -> Registration {
        var registration = Registration(kind: .command, id: name, description: "", origin: origin, factory: .command(make))
        registration.summary = { make().spec.summary }
        registration.aliases = aliases
        return registration
    }
}

/// Every command, isolation backend and storage driver, registered the same
/// way. The executable fills it at start-up; scripts may add commands later.
public final class PluginRegistry: Sendable {
    private let entries = Mutex<[Registration]>([])
    private let rejected = Mutex<[(path: String, reason: String)]>([])

    /// Records a plugin candidate that was not registered, and why
    /// (`plugin ls` lists them so a broken plugin is visible, not silent).
    public func reject(_ path: String, reason: String) { rejected.withLock { $0.append((path, reason)) } }

    /// Candidates that were refused, with the reason.
    public var rejections: [(path: String, reason: String)] { rejected.withLock { $0 } }

    /// An empty registry.
    public init() {}

    /// Adds a registration. A duplicate id of the same kind is a programmer
    /// error for built-ins; callers registering user code check `contains` first.
    public func register(_ registration: Registration) {
        entries.withLock { list in
            // A programming error (external and script plugins are checked
            // for clashes before they get here): checked in debug builds,
            // where the tests run, not on every start of the release binary,
            // where it compared each of the ~70 registrations with all before.
            assert(
                !list.contains { $0.kind == registration.kind && $0.id == registration.id },
                "duplicate \(registration.kind) registration: \(registration.id)")
            list.append(registration)
        }
    }

    /// Adds a registration, replacing one of the same kind and id (a script
    /// function defined again).
    public func replace(_ registration: Registration) {
        entries.withLock { list in
            list.removeAll { $0.kind == registration.kind && $0.id == registration.id }
            list.append(registration)
        }
    }

    /// Whether an id of that kind is registered.
    public func contains(_ kind: PluginKind, _ id: String) -> Bool {
        entries.withLock { $0.contains { $0.kind == kind && $0.id == id } }
    }

    /// Every registration, in registration order.
    public var all: [Registration] { entries.withLock { $0 } }

    /// Registrations of one kind.
    public func all(_ kind: PluginKind) -> [Registration] { all.filter { $0.kind == kind } }

    /// The default of a kind: the first one registered (main.swift registers
    /// the namespaces backend and the overlay driver first). The engine never
    /// names a backend or driver; a store's config.json can override this.
    public func defaultID(_ kind: PluginKind) -> String? { all(kind).first?.id }

    /// Every isolation backend, made.
    public var isolationBackends: [any IsolationBackend] {
        all(.isolation).compactMap { reg in
            if case .isolation(let make) = reg.factory { return make() }
            return nil
        }
    }

    /// Every command instance.
    public var commands: [any Command] {
        all(.command).compactMap { reg in
            if case .command(let make) = reg.factory { return make() }
            return nil
        }
    }

    /// Finds the command that `words` starts with, preferring two-word
    /// commands (`plugin ls`) and aliases (`image ls`). Returns the command
    /// and how many words its name used.
    public func command(for words: [String]) -> (any Command, Int)? {
        // Only the command found is made: making all of them (their specs,
        // flags and metadata) cost every `berth` start a fraction of a ms.
        // The list itself (copy-on-write, so no registration is copied),
        // read in place: filtering it into a new array copied all ~70.
        let list = entries.withLock { $0 }
        for count in [2, 1] where words.count >= count {
            let key = count == 2 ? words[0] + " " + words[1] : words[0]
            for i in list.indices where list[i].kind == .command {
                if let aliases = list[i].aliases {
                    guard list[i].id == key || aliases.contains(key), case .command(let make) = list[i].factory else {
                        continue
                    }
                    return (make(), count)
                }
                guard case .command(let make) = list[i].factory else { continue }
                let cmd = make()
                if cmd.spec.name == key || cmd.spec.aliases.contains(key) { return (cmd, count) }
            }
        }
        return nil
    }

    /// An isolation backend by id.
    public func isolationBackend(_ id: String) throws(BerthError) -> any IsolationBackend {
        for reg in all(.isolation) where reg.id == id {
            if case .isolation(let make) = reg.factory { return make() }
        }
        let known = all(.isolation).map(\.id).joined(separator: ", ")
        throw BerthError("no isolation backend \"\(id)\"; choose one of: \(known)")
    }

    /// A storage driver by id.
    public func storageDriver(_ id: String, _ env: StorageEnvironment) throws(BerthError) -> any StorageDriver {
        for reg in all(.storage) where reg.id == id {
            if case .storage(let make) = reg.factory { return make(env) }
        }
        let known = all(.storage).map(\.id).joined(separator: ", ")
        throw BerthError("no storage driver \"\(id)\"; choose one of: \(known)")
    }
}
