import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Hostile and careless inputs against `--userns=auto`: a ledger that is
/// corrupt must never hand out a range a running container holds (their
/// roots would be one host user).
@Suite("UserNamespaceAttackTests", .serialized)
struct UserNamespaceAttackTests {
    /// The first host id of a process's uid_map.
    private func mappedStart(_ pid: Int32) -> Int? {
        let fields = readFile("/proc/\(pid)/uid_map").split(whereSeparator: { $0 == " " || $0 == "\n" })
        return fields.count >= 3 ? Int(fields[1]) : nil
    }

    @Test("a corrupt userns.json: one warning line, the next range avoids the running container's, the ledger rebuilt")
    func corruptLedger() {
        let f = UserNamespaceTests.Fixture(start: 300000, ids: 131072)
        defer { f.cleanUp(sourceLocation: #_sourceLocation) }
        let first = f.berth("run", "-d", "--userns=auto", "busybox", "sleep", "1000")
        #expect(first.status == 0, "\(first.stderr)")
        let a = String(first.stdout.prefix(64))
        #expect(mappedStart(f.store.pid(a)) == 300000)
        let ledger = f.store.root + "/userns.json"
        writeFile(ledger, "{\"Ranges\": [{\"Container\": \"x\", \"Uid\": 3")
        let second = f.berth("run", "-d", "--userns=auto", "busybox", "sleep", "1000")
        #expect(second.status == 0, "\(second.stderr)")
        let b = String(second.stdout.prefix(64))
        #expect(mappedStart(f.store.pid(b)) == 365536, "the corrupt ledger must not give A's range again")
        let warning = lines(second.stderr)
        #expect(warning.count == 1 && warning[0].contains("userns.json"), "one line naming the ledger: \(second.stderr)")
        // Rebuilt: both containers' ranges are in it, and the next one is refused.
        let text = readFile(ledger)
        #expect(text.contains(a) && text.contains(b), "ledger rebuilt: \(text)")
        expectOneErrorLine(
            f.berth("run", "-d", "--userns=auto", "busybox", "sleep", "1000"), naming: ["no free range"], status: 125)
        // rm with a corrupt ledger neither crashes nor loses the other range.
        writeFile(ledger, "not json")
        #expect(f.berth("rm", "-f", a).status == 0)
        let third = f.berth("run", "-d", "--userns=auto", "busybox", "sleep", "1000")
        #expect(third.status == 0, "\(third.stderr)")
        #expect(mappedStart(f.store.pid(String(third.stdout.prefix(64)))) == 300000, "A's freed range, not B's")
    }

    @Test("two stores on one host: their --userns=auto containers get disjoint ranges of the one containers pool")
    func twoStores() {
        let a = UserNamespaceTests.Fixture(start: 300000, ids: 131072)
        let b = UserNamespaceTests.Fixture(start: 300000, ids: 131072)
        let shared = makeTempDirectory("stores")
        defer {
            a.cleanUp(sourceLocation: #_sourceLocation)
            b.cleanUp(sourceLocation: #_sourceLocation)
            removeTree(shared)
        }
        // One host: one list of stores, as /var/lib/berth-userns/stores.
        a.stores = shared + "/stores"
        b.stores = shared + "/stores"
        let inA = a.berth("run", "-d", "--userns=auto", "busybox", "sleep", "1000")
        let inB = b.berth("run", "-d", "--userns=auto", "busybox", "sleep", "1000")
        #expect(inA.status == 0 && inB.status == 0, "\(inA.stderr) \(inB.stderr)")
        let startA = mappedStart(a.store.pid(String(inA.stdout.prefix(64))))
        let startB = mappedStart(b.store.pid(String(inB.stdout.prefix(64))))
        #expect(
            startA == 300000 && startB == 365536,
            "disjoint across stores: \(String(describing: startA)) \(String(describing: startB))")
        #expect(lines(readFile(shared + "/stores")).count == 2, "both stores listed: \(readFile(shared + "/stores"))")
        // The pool is full: a create in either store is refused in one line.
        expectOneErrorLine(b.berth("create", "--userns=auto", "busybox", "true"), naming: ["no free range"], status: 125)
        // A's rm gives its range back to B.
        #expect(a.berth("rm", "-f", String(inA.stdout.prefix(64))).status == 0)
        let after = b.berth("run", "-d", "--userns=auto", "busybox", "sleep", "1000")
        #expect(after.status == 0, "\(after.stderr)")
        #expect(mappedStart(b.store.pid(String(after.stdout.prefix(64)))) == 300000, "A's freed range")
    }
}
