import BerthCore
import BerthEngine

/// `POST /containers/ID/update`: `docker update`, through the engine's
/// `Lifecycle.update` that `berth update` calls. The limits Berth has
/// (the fields `CreateRequest.resources` reads) and `RestartPolicy`; any
/// other field that asks for something is refused with a 400 naming it.
struct UpdateRoute {
    let engine: Engine

    static let keys: Set<String> = [
        "Memory", "MemorySwap", "MemoryReservation", "NanoCpus", "CpuShares", "CpuPeriod", "CpuQuota", "CpusetCpus",
        "CpusetMems", "PidsLimit", "RestartPolicy",
    ]

    func update(_ id: String, _ r: APIRequest) throws(BerthError) -> APIResponse {
        let body = try r.json()
        guard case .object(let members) = body else { throw .invalid("the request body needs to be a JSON object") }
        _ = try engine.lifecycle.containers.find(id)  // dockerd's 404 before any field is looked at
        for (key, value) in members where !Self.keys.contains(key) && !CreateRequest.isEmpty(value) {
            throw CreateRequest.unsupported(key)
        }
        let change = try CreateRequest.resources(body)
        var policy: RestartPolicy?
        // An empty `Name` is "not given": the CLI sends it for every update without --restart.
        if let p = body["RestartPolicy"], let name = CreateRequest.nonEmpty(p["Name"]) {
            let count = p["MaximumRetryCount"]?.intValue ?? 0
            policy = try RestartPolicy.parse(count > 0 ? "\(name):\(count)" : name)
        }
        try engine.lifecycle.update(id, change: change, policy: policy)
        return .json(.object([("Warnings", .array([]))]))
    }
}

/// `POST /auth {username, password, serveraddress}`: checks the login
/// against the registry as `berth login` does (its registries' settings,
/// HTTP for those listed insecure) and answers dockerd's `{"Status": "Login
/// Succeeded"}`, or 401 with the registry's refusal. As with dockerd, the
/// login is not kept by the service: the client stores it (the docker CLI
/// in its config.json).
struct AuthRoute {
    let engine: Engine

    func login(_ r: APIRequest) throws(BerthError) -> APIResponse {
        let body = try r.json()
        if let token = CreateRequest.nonEmpty(body["identitytoken"]), !token.isEmpty {
            throw CreateRequest.unsupported("identitytoken")
        }
        let server = AuthStore.key(body["serveraddress"]?.stringValue ?? "")
        guard let user = CreateRequest.nonEmpty(body["username"]) else {
            throw .invalid("Error: Non-null Username Required")
        }
        guard let password = CreateRequest.nonEmpty(body["password"]) else {
            throw .invalid("Error: Non-null Password Required")
        }
        let settings = StoreConfig.load(engine.layout).registries
        let client = RegistryClient(
            endpoint: settings.pushEndpoint(for: server), repository: "",
            credentials: Credentials(username: user, password: password), actions: "")
        do throws(BerthError) {
            try client.verifyLogin()
        } catch  where error.kind == .permission {
            return APIError.message(error.message, status: 401)  // dockerd's Unauthorized
        }
        return .json(.object([("Status", .string("Login Succeeded")), ("IdentityToken", .string(""))]))
    }
}
