import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Generated names under concurrency: two `run`s that draw the same
/// `adjective_surname` at once must both succeed (the loser draws again
/// under the containers lock); only a name the user chose can conflict.
@Suite("Generated names", .serialized, .enabled(if: isRoot, "needs root for namespaces"))
struct GeneratedNameTests {
    @Test("200 run -d without --name, 25 at a time, all succeed with 200 distinct names")
    func twoHundredConcurrentRuns() {
        withStore { store in
            let batch = 25
            var failures: [String] = []
            for _ in 0..<(200 / batch) {
                let results = runConcurrently(
                    Array(
                        repeating: [
                            berthBinary, "--root", store.root, "run", "-d",
                            "--network", "none", "busybox", "sleep", "60",
                        ],
                        count: batch))
                for r in results {
                    store.note(r.stdout)
                    if r.status != 0 { failures.append("exit \(r.status): \(r.stderr)") }
                }
            }
            #expect(failures.isEmpty, "\(failures.count) runs failed, first: \(failures.first ?? "")")
            let names = lines(store.berth("ps", "-a", "--format", "{{.Names}}").stdout).map(String.init)
            #expect(names.count == 200, "ps -a lists \(names.count) containers")
            #expect(Set(names).count == names.count, "duplicate names: \(names.count - Set(names).count)")
            #expect(
                names.allSatisfy { name in
                    name.contains("_") || (name.count == 12 && name.allSatisfy(\.isHexDigit))
                }, "generated names are adjective_surname[digit] or a short ID")
        }
    }

    @Test("a name the user chose still conflicts, with Docker's message")
    func chosenNameConflicts() {
        withStore { store in
            #expect(store.berth("create", "--name", "mine", "--network", "none", "busybox").status == 0)
            let again = store.berth("create", "--name", "mine", "--network", "none", "busybox")
            expectRefusal(again, naming: ["Conflict. The container name \"/mine\" is already in use"], status: 125)
            #expect(lines(store.berth("ps", "-aq").stdout).count == 1)
        }
    }
}
