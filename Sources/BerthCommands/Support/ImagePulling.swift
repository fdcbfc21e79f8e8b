#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import BerthEngine

extension CommandContext {
    /// Pulls `ref` into the store, showing progress on `fd`.
    func pull(
        _ ref: RemoteReference, platform: String?, tlsVerify: Bool? = nil, display: ProgressDisplay
    ) throws(BerthError) -> ImagePuller.Result {
        var puller = ImagePuller(store: try images())
        if let platform { puller.platform = try Platform(parsing: platform) }
        puller.settings.tlsVerify = tlsVerify
        for endpoint in puller.settings.pullEndpoints(for: ref.domain) {
            if let warning = puller.settings.warning(for: endpoint.name) { warn(warning) }
        }
        return try puller.pull(ref) { display.handle($0) }
    }

    /// `create`/`run`: pulls the image first when `--pull` says so, printing
    /// Docker's lines on stderr. Returns the image name to create from.
    func implicitPull(_ image: String, policy: String, platform: String?, quiet: Bool = false) throws(BerthError) -> String {
        guard ["missing", "always", "never"].contains(policy) else {
            throw BerthError("invalid pull option: '\(policy)': must be one of \"always\", \"missing\" or \"never\"")
        }
        let wanted = try platform.map { (p) throws(BerthError) in try Platform(parsing: p) }
        let store = try images()
        let local = try? store.resolve(image)
        if let wanted, let local, policy != "always" {
            // Docker 20.10 refuses a local image of another platform rather
            // than run it under the wrong name; Berth runs only the host's.
            let os = local.config["os"]?.stringValue ?? "linux"
            let arch = local.config["architecture"]?.stringValue ?? ImageConfig.hostArchitecture
            let variant = local.config["variant"]?.stringValue
            if os != wanted.os || arch != wanted.architecture
                || (wanted.variant != nil && variant != nil && variant != wanted.variant)
            {
                throw BerthError(
                    "image with reference \(image) was found but does not match the specified platform: wanted \(wanted), actual: \(os)/\(arch)\(variant.map { "/" + $0 } ?? "")"
                )
            }
        }
        if policy == "never" { return image }
        let present = local != nil
        if present && policy == "missing" { return image }
        // An image ID (or a prefix of one) is never pulled.
        if image.hasPrefix("sha256:") { return image }
        let ref = try RemoteReference(parsing: image)
        if !present { warn("Unable to find image '\(ref)' locally") }
        let result = try pull(ref, platform: platform, display: ProgressDisplay(fd: stderr, quiet: quiet))
        return ref.tag == nil ? result.id : image
    }
}

extension RemoteReference {
    /// Parses a reference for pull or push, saying `Using default tag: latest`
    /// when the user gave none, as Docker does.
    static func announcing(_ text: String, quiet: Bool, _ ctx: CommandContext) throws(BerthError) -> RemoteReference {
        let ref = try RemoteReference(parsing: text)
        if !quiet && !text.contains("@") && ref.tag == "latest" && !text.hasSuffix(":latest") {
            ctx.print("Using default tag: latest")
        }
        return ref
    }
}

/// Podman's `--tls-verify` of pull, push and login.
enum RegistryFlags {
    static let tlsVerify = Flag.bool(
        "tls-verify", help: "Require HTTPS and verify certificates when contacting registries (--tls-verify=false: neither)",
        default: true)

    /// The flag's value when given, nil when not (the store's config decides).
    static func tlsVerify(_ args: ParsedArguments) -> Bool? { args.isSet(tlsVerify) ? args[tlsVerify] : nil }

    /// The docker CLI's `--disable-content-trust` (true unless
    /// DOCKER_CONTENT_TRUST is set): Berth never verifies Notary
    /// signatures, so the flag states what happens; `=false`, which asks
    /// for that verification, is refused rather than ignored.
    static let disableContentTrust = Flag.bool(
        "disable-content-trust", help: "Skip image verification (Berth verifies no Notary signatures; =false is refused)",
        default: true)

    static func checkContentTrust(_ args: ParsedArguments) throws(BerthError) {
        guard args.isSet(disableContentTrust), !args[disableContentTrust] else { return }
        throw .usage(
            "--disable-content-trust=false: Berth does not verify image signatures (Docker Content Trust, Notary); drop the flag, or sign and check images with a tool that does"
        )
    }
}
