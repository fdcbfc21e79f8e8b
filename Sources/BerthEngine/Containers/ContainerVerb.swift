/// The verbs whose refusal depends on a container's state, checked in one
/// place before each acts (Podman's `libpod/container_api.go`: lock, sync,
/// ensure the state, act).
public enum ContainerVerb: Sendable {
    case start, pause, unpause, exec, attach, top, kill, remove

    /// The states in which the verb may act. An array: a `Set` of this
    /// type is made from its mangled name the first time a process uses
    /// it, a conformance scan every `run` paid (docs/benchmarks.md).
    var allowed: [ContainerStatus] {
        switch self {
        case .start: [.created, .exited, .running, .restarting]
        case .pause: [.running]
        case .unpause: [.paused]
        case .exec, .attach: [.running]
        case .top, .kill: [.running, .paused]
        case .remove: [.created, .exited, .dead]
        }
    }
}

extension Container {
    /// Throws Docker's refusal (kind `.invalidState`) when `verb` cannot act
    /// on the container in its present state; `ref` is what the user typed.
    public func ensureState(for verb: ContainerVerb, ref: String) throws(BerthError) {
        guard !verb.allowed.contains(state.status) else { return }
        throw .invalidState(refusal(verb, ref: ref))
    }

    /// Docker 20.10's wording for each refusal, so that scripts which match
    /// the first line of stderr keep working.
    private func refusal(_ verb: ContainerVerb, ref: String) -> String {
        let paused = state.status == .paused
        if state.status == .restarting, verb != .kill, verb != .remove {
            return "Container \(id) is restarting, wait until the container is running"
        }
        switch verb {
        case .start:
            return paused
                ? "cannot start a paused container, try unpause instead"
                : "cannot start container \(ref): it is dead: \(state.error)"
        case .pause:
            return paused ? "Container \(id) is already paused" : "Container \(id) is not running"
        case .unpause:
            return "Container \(id) is not paused"
        case .exec:
            return paused
                ? "Container \(ref) is paused, unpause the container before exec"
                : "Container \(id) is not running"
        case .attach:
            return paused
                ? "You cannot attach to a paused container, unpause it first"
                : "You cannot attach to a stopped container, start it first"
        case .top:
            return "Container \(id) is not running"
        case .kill:
            return "Cannot kill container: \(ref): Container \(id) is not running"
        case .remove:
            if state.status == .restarting {
                return
                    "You cannot remove a restarting container \(id). Stop the container before attempting removal or force remove"
            }
            return paused
                ? "You cannot remove a paused container \(id). Unpause and then stop the container before attempting removal or force remove"
                : "You cannot remove a running container \(id). Stop the container before attempting removal or force remove"
        }
    }
}
