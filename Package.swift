// swift-tools-version:6.0
// Berth: a daemonless Linux container engine driven from a scripting REPL.
// The CLI has no package dependencies: everything `berth` needs is in the
// toolchain, glibc, libedit and zlib (and libcurl, dlopen'd by
// Sources/CBerthLinux/curl.c only when a command talks to a registry). Only
// `berth-service` (the Docker Engine API, docs/api.md) links SwiftNIO's
// HTTP/1.1 server, so the CLI's start-up links nothing new.
import PackageDescription

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "Berth",
    products: [
        .executable(name: "berth", targets: ["berth"]),
        .executable(name: "berth-service", targets: ["berth-service"]),
        .executable(name: "berth-monitor", targets: ["berth-monitor"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.3")
    ],
    targets: [
        // C shims: only what Swift cannot call (variadic or macro-only APIs).
        .target(name: "CBerthLinux", path: "Sources/CBerthLinux"),
        // The container log's format (escaping, entries, rotation): shared by
        // the engine and the small C monitor, which links nothing else.
        .target(name: "CBerthLog", path: "Sources/CBerthLog"),
        .systemLibrary(name: "CLibEdit", path: "Sources/CLibEdit"),
        // libedit is dlopen'd by the REPL only (edit.c): its header comes from CLibEdit.
        .target(name: "CBerthEdit", dependencies: ["CLibEdit"], path: "Sources/CBerthEdit"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),

        // The protocols plugins implement, the registry, errors and syscall wrappers.
        .target(name: "BerthCore", dependencies: ["CBerthLinux"], swiftSettings: strict),
        // Store, images, layers, archives: everything about state on disk.
        .target(name: "BerthEngine", dependencies: ["BerthCore", "CBerthLinux", "CBerthLog", "CZlib"], swiftSettings: strict),
        // Built-in commands; they register exactly as plugins do.
        .target(name: "BerthCommands", dependencies: ["BerthCore", "BerthEngine", "CBerthLinux"], swiftSettings: strict),
        // REPL, line editing, completion, scripts.
        .target(name: "BerthShell", dependencies: ["BerthCore", "CBerthEdit", "CLibEdit"], swiftSettings: strict),

        // In-tree plugins: storage drivers need the core protocols only; isolation
        // backends also the engine's `ContainerRuntime` (what the monitor and the
        // lifecycle ask of them). A plugin never imports another plugin.
        .target(
            name: "StorageOverlay", dependencies: ["BerthCore", "CBerthLinux"], path: "plugins/storage-overlay",
            swiftSettings: strict),
        .target(
            name: "IsolationNamespaces", dependencies: ["BerthCore", "BerthEngine", "CBerthLinux"],
            path: "plugins/isolation-namespaces", swiftSettings: strict),
        .target(
            name: "IsolationOCI", dependencies: ["BerthCore", "BerthEngine", "CBerthLinux"],
            path: "plugins/isolation-oci", swiftSettings: strict),
        .target(
            name: "IsolationChroot", dependencies: ["BerthCore", "BerthEngine"], path: "plugins/isolation-chroot",
            swiftSettings: strict),
        .target(
            name: "StorageCopy", dependencies: ["BerthCore", "CBerthLinux"], path: "plugins/storage-copy",
            swiftSettings: strict),

        // The executable: the only place that wires plugins to the engine.
        .executableTarget(
            name: "berth",
            dependencies: [
                "BerthCore", "BerthEngine", "BerthCommands", "BerthShell",
                "StorageOverlay", "StorageCopy", "IsolationNamespaces", "IsolationChroot", "IsolationOCI",
            ],
            swiftSettings: strict),

        // The steady state of a long-running container's monitor (relay, log,
        // attach socket), in C as conmon is: the forked Swift monitor execs it
        // once PID 1 runs, so a running container costs a small process
        // instead of a copy of the CLI (docs/architecture.md, "The monitor").
        .executableTarget(
            name: "berth-monitor", dependencies: ["CBerthLog"], path: "Sources/berth-monitor",
            linkerSettings: [.unsafeFlags(["-nostartfiles", "-static-executable"])]),

        // `berth system service`: the Docker Engine API over SwiftNIO, a separate
        // executable that `berth` execs, wired to the same plugins as `berth`.
        .target(
            name: "BerthService",
            dependencies: [
                "BerthCore", "BerthEngine", "BerthCommands", "CBerthLinux",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict),
        .executableTarget(
            name: "berth-service",
            dependencies: [
                "BerthCore", "BerthEngine", "BerthService",
                "StorageOverlay", "StorageCopy", "IsolationNamespaces", "IsolationChroot", "IsolationOCI",
            ],
            path: "Sources/berth-service", swiftSettings: strict),

        .testTarget(name: "BerthCoreTests", dependencies: ["BerthCore"], swiftSettings: strict),
        .testTarget(name: "BerthEngineTests", dependencies: ["BerthEngine", "BerthCore", "CBerthLinux"], swiftSettings: strict),
        .testTarget(name: "BerthShellTests", dependencies: ["BerthShell", "BerthCore", "BerthCommands"], swiftSettings: strict),
        .testTarget(
            name: "BerthIntegrationTests",
            dependencies: [
                "BerthCore", "BerthEngine", "StorageOverlay", "StorageCopy",
                "IsolationNamespaces", "IsolationChroot",
            ],
            swiftSettings: strict),
    ]
)
