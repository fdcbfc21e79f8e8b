import Testing
import BerthCore
#if canImport(Glibc)
import Glibc
#endif
@testable import BerthEngine

/// `ContainerStore.load` asks whether a running container's monitor lives:
/// the monitor's flock on the container directory first, /proc (the
/// recorded PID and start time) when no one holds it. Both branches, with
/// this test process standing in for the monitor.
@Suite("monitor liveness: the claim, then /proc")
struct MonitorLivenessTests {
    func record(monitorPid: Int32, monitorStartTime: UInt64) -> Container {
        var c = Container(
            id: String(repeating: "ef", count: 32), name: "live", image: "sha256:3", imageName: "busybox",
            command: ["sleep", "1"], env: [], workingDir: "/", user: "", hostname: "h", tty: false,
            openStdin: false, autoRemove: false, isolation: "namespaces", storage: "overlay")
        // PID 1 is this process too: its liveness is not what is tested.
        c.state.setRunning(
            pid: getpid(), pidStartTime: ProcessTable.startTime(getpid()) ?? 0, monitorPid: monitorPid,
            monitorStartTime: monitorStartTime)
        return c
    }

    @Test("a held claim says alive without /proc; a free one falls back to the recorded PID and start time")
    func bothBranches() throws {
        let root = makeTempDirectory("liveness")
        defer { removeTree(root) }
        let store = ContainerStore(layout: StoreLayout(root: root))
        let me = getpid(), started = ProcessTable.startTime(getpid()) ?? 0
        func write(_ c: Container) throws {
            try FileSystem.makeDirectories(store.layout.container(c.id))
            try store.save(c)
        }
        // A monitor PID that cannot be alive (beyond pid_max), no claim: lost.
        var c = record(monitorPid: 4_194_304 + 1, monitorStartTime: 1)
        try write(c)
        #expect(try store.load(id: c.id).monitorLost)
        // The same record with the claim held: alive, /proc not asked.
        let claim = MonitorLiveness.claim(store.layout.container(c.id))
        #expect(claim >= 0)
        #expect(try !store.load(id: c.id).monitorLost)
        #expect(store.all(.listing).first?.monitorLost == false, "and through the listing")
        #expect(MonitorLiveness.claim(store.layout.container(c.id)) == -1, "a second claim is refused, never waited for")
        close(claim)
        #expect(try store.load(id: c.id).monitorLost, "released: /proc says the recorded monitor is gone")
        #expect(store.all().first?.monitorLost == true, "and through the listing's /proc descriptor")
        // No claim, but the recorded monitor lives (a monitor from before the claim): alive through /proc.
        c = record(monitorPid: me, monitorStartTime: started)
        try write(c)
        #expect(try !store.load(id: c.id).monitorLost)
        #expect(try store.load(id: c.id).state.status == .running)
        #expect(store.all(.listing).first?.monitorLost == false, "found through /proc relative to its descriptor")
        // Another start time is another process: a recycled PID is no monitor.
        try write(record(monitorPid: me, monitorStartTime: started + 1))
        #expect(store.all(.listing).first?.monitorLost == true)
    }
}
