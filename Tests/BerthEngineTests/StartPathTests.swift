import Testing
import BerthCore
@testable import BerthEngine

/// Helpers on every `run`'s path, written without the generic wrappers the
/// runtime would build from mangled names (docs/benchmarks.md); they must
/// still answer as the obvious versions did.
@Suite("Start path: trimming and the typed backend lookup")
struct StartPathTests {
    @Test("trimmingSpaces drops leading and trailing spaces and tabs only")
    func trimming() {
        #expect("  0-1\t ".trimmingSpaces == "0-1")
        #expect("\t \t".trimmingSpaces == "")
        #expect("".trimmingSpaces == "")
        #expect("a b".trimmingSpaces == "a b")
        #expect(" héllo wörld ".trimmingSpaces == "héllo wörld")
        #expect("0-1\n".trimmingSpaces == "0-1\n")  // newlines are the callers' to split
        #expect(" \u{00A0}x\u{00A0} ".trimmingSpaces == "\u{00A0}x\u{00A0}")
    }

    private struct Fake: ContainerRuntime {
        let name: String
        var isolates: Bool { true }
        func unavailableReason() -> String? { nil }
        func plan(for request: IsolationRequest) throws(BerthError) -> IsolationPlan {
            throw .invalid("not used")
        }
    }

    private struct PlanOnly: IsolationBackend {
        var name: String { "plan-only" }
        var isolates: Bool { false }
        func unavailableReason() -> String? { nil }
        func plan(for request: IsolationRequest) throws(BerthError) -> IsolationPlan {
            throw .invalid("not used")
        }
    }

    @Test("a backend registered as a runtime, or only as a backend, is found; one that cannot run is refused")
    func runtimeLookup() throws {
        let registry = PluginRegistry()
        registry.register(.runtime(id: "typed", description: "d", origin: .builtin) { Fake(name: "typed") })
        registry.register(
            Registration(
                kind: .isolation, id: "cast", description: "d", origin: .builtin, factory: .isolation { Fake(name: "cast") }))
        registry.register(
            Registration(
                kind: .isolation, id: "plan-only", description: "d", origin: .builtin, factory: .isolation { PlanOnly() }))
        #expect(try registry.runtime("typed").name == "typed")
        #expect(try registry.isolationBackend("typed").name == "typed")
        #expect(try registry.runtime("cast").name == "cast")
        #expect(throws: BerthError.self) { try registry.runtime("plan-only") }
        #expect(throws: BerthError.self) { try registry.runtime("missing") }
    }
}
