import Testing
#if canImport(Glibc)
import Glibc
#endif
import BerthCore
@testable import BerthEngine

/// A storage driver that makes nothing: the name logic needs no root filesystem.
private struct NoStorage: StorageDriver {
    var name: String { "none" }
    func create(containerDirectory: String, layers: [LayerDirectory]) throws(BerthError) {}
    func mount(containerDirectory: String, layers: [LayerDirectory]) throws(BerthError) -> String { containerDirectory }
    func unmount(containerDirectory: String) throws(BerthError) {}
    func isMounted(containerDirectory: String) -> Bool { true }
    func writableLayer(containerDirectory: String) -> String? { nil }
    func size(containerDirectory: String) -> Int64 { 0 }
    func remove(containerDirectory: String) throws(BerthError) {}
}

@Suite("Generated container names")
struct ContainerNameTests {
    private func container(_ name: String) -> Container {
        Container(
            id: RandomID.hex64(), name: name, image: "sha256:0", imageName: "busybox", command: ["sh"], env: [],
            workingDir: "/", user: "", hostname: "h", tty: false, openStdin: false, autoRemove: false,
            isolation: "namespaces", storage: "none")
    }

    private func withContainers(_ body: (ContainerStore) throws -> Void) rethrows {
        let root = makeTempDirectory("names")
        defer { removeTree(root) }
        let layout = StoreLayout(root: root)
        try? layout.ensure()
        try body(ContainerStore(layout: layout))
    }

    @Test("a generated name that is taken is drawn again under the lock, and the record keeps the new one")
    func takenGeneratedNameIsRetried() throws {
        try withContainers { store in
            _ = try store.create(container("elated_lovelace"), driver: NoStorage(), layers: [])
            var asked: [Int] = []
            // The generator repeats the taken name twice, as two concurrent runs would.
            let draws = ["elated_lovelace", "elated_lovelace", "jolly_curie"]
            let made = try store.create(container("elated_lovelace"), driver: NoStorage(), layers: []) { retry in
                asked.append(retry)
                return draws[retry]
            }
            #expect(asked == [0, 1, 2])
            #expect(made.name == "jolly_curie")
            #expect(try store.load(id: made.id).name == "jolly_curie", "the record on disk has the name it got")
            #expect(Set(store.all().map(\.name)) == ["elated_lovelace", "jolly_curie"])
        }
    }

    @Test(
        "all() lists newest first, ties in ID order, on one thread and on several (from 64 records)",
        arguments: [5, 70])
    func allNewestFirst(count: Int) throws {
        try withContainers { store in
            var made: [Container] = []
            for i in 0..<count {
                var c = container("c\(i)")
                // Three containers share each second: the ties.
                c.created = Timestamp(seconds: 1_700_000_000 + Int64(i / 3))
                made.append(try store.create(c, driver: NoStorage(), layers: []))
            }
            let expected = made.sorted { a, b in a.created != b.created ? a.created > b.created : a.id < b.id }.map(\.name)
            #expect(store.all().map(\.name) == expected)
            #expect(ContainerStore.parallelFrom <= 70, "the 70-record case takes the threaded path")
        }
    }

    @Test("a built name index never replaces the one another command put in place, even while it is empty")
    func indexInstallNeverReplaces() throws {
        try withContainers { store in
            let layout = store.layout
            #expect(mkdir(layout.containerNames, 0o700) == 0)
            var before = stat()
            #expect(stat(layout.containerNames, &before) == 0)
            let staging = try layout.makeStaging("names")
            #expect(symlink("0123", staging + "/late") == 0)
            try ContainerNameIndex(layout: layout).install(staging)
            var after = stat()
            #expect(stat(layout.containerNames, &after) == 0)
            #expect(after.st_ino == before.st_ino, "names/ is still the directory the first command made")
            #expect(FileSystem.list(layout.containerNames).isEmpty)
            #expect(!FileSystem.isDirectory(staging), "the loser's copy is dropped")
        }
    }

    @Test("a generator that only repeats falls back to the short ID, as Docker does")
    func fallsBackToShortID() throws {
        try withContainers { store in
            _ = try store.create(container("elated_lovelace"), driver: NoStorage(), layers: [])
            var tries = 0
            let made = try store.create(container("elated_lovelace"), driver: NoStorage(), layers: []) { _ in
                tries += 1
                return "elated_lovelace"
            }
            #expect(tries == ContainerNames.tries)
            #expect(made.name == String(made.id.prefix(12)))
        }
    }

    @Test("a name the user chose is never changed: it conflicts")
    func chosenNameConflicts() throws {
        try withContainers { store in
            let first = try store.create(container("web"), driver: NoStorage(), layers: [])
            let error = failure { () throws(BerthError) in try store.create(container("web"), driver: NoStorage(), layers: []) }
            #expect(
                error?.message.contains("Conflict. The container name \"/web\" is already in use by container \"\(first.id)\"")
                    == true,
                "\(String(describing: error))")
            #expect(store.all().count == 1)
            #expect(FileSystem.list(store.layout.tmp).isEmpty, "the loser's staging is gone")
        }
    }

    @Test("retries append a digit; boring_wozniak is never made")
    func generatorShape() {
        for _ in 0..<2000 {
            let plain = ContainerNames.generate()
            #expect(plain != "boring_wozniak" && plain.split(separator: "_").count == 2 && !plain.last!.isNumber)
            let retried = ContainerNames.generate(retry: 3)
            #expect(retried.last!.isNumber && retried.dropLast() != "boring_wozniak")
        }
    }
}
