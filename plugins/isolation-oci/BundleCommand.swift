#if canImport(Glibc)
import Glibc
#endif
import BerthCore
import BerthEngine

/// `berth bundle CONTAINER DIR`: the container as a standard OCI bundle
/// (config.json + a copy of its root in rootfs/) that `runc run` and
/// `crun run` start unchanged.
struct BundleCommand: Command {
    let spec = CommandSpec(
        "bundle", summary: "Export a container as an OCI runtime bundle (config.json and rootfs/)",
        arguments: [ArgSpec("CONTAINER", completion: .containers(nil)), ArgSpec("DIR", completion: .files)],
        min: 2, max: 2)

    func run(_ args: ParsedArguments, _ ctx: CommandContext) throws(BerthError) -> Int32 {
        let lifecycle = try ctx.lifecycle()
        let container = try lifecycle.containers.find(args.positionals[0])
        let dir = args.positionals[1]
        if FileSystem.exists(dir) && !FileSystem.list(dir).isEmpty {
            throw BerthError("bundle: \(dir) is not empty; give a new or empty directory")
        }
        try FileSystem.makeDirectories(dir + "/rootfs")
        let files = ContainerFiles(lifecycle: lifecycle)
        try TarTransfer.copy(layout: lifecycle.layout, label: "bundle", into: dir + "/rootfs") { (writer) throws(BerthError) in
            try files.withRoot(container) { (root) throws(BerthError) in try TreeArchiver().archive(root: root, into: writer) }
        }
        // The bundle isolates as the oci backend does, whatever the container's own backend.
        let plan = try OCIBackend().plan(for: IsolationRequest(hostNetwork: container.hostNetwork))
            .confined(by: container.security)
        let user = try UserLookup.resolve(container.user, rootfs: dir + "/rootfs", groupAdd: container.groupAdd)
        let volumes = VolumeStore(layout: lifecycle.layout)
        let sources = container.mounts.map { MountPreparation(rootfs: dir + "/rootfs", volumes: volumes).source($0) }
        let initPath = container.process.initProcess ? try OCISpec.writeInit(into: FileSystem.realPath(dir)) : nil
        let spec = try OCISpec.spec(
            container, plan: plan, user: user, rootPath: "rootfs", mountSources: sources,
            cgroupsPath: nil, devices: try container.deviceNodes(), initPath: initPath)
        try FileSystem.writeAtomically(dir + "/config.json", text: spec.pretty(indent: 2) + "\n")
        ctx.print(dir)
        return 0
    }
}
