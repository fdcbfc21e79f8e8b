import Testing

/// docs/commands.md documents every command a user can run.
@Suite("Documentation")
struct DocsTests {
    @Test("every registered command has a section in docs/commands.md")
    func everyCommandIsDocumented() {
        let doc = readFile(packageRoot + "/docs/commands.md")
        let root = makeTempDirectory("docs")
        defer { removeTree(root) }
        let commands = berth(root, "plugin", "ls", "--kind", "command", "-q").stdout
            .split(separator: "\n").map(String.init)
        #expect(commands.count > 20)
        // Section headings: `## images` or `## pause, unpause`.
        let headings = Set(
            doc.split(separator: "\n").filter { $0.hasPrefix("## ") }
                .flatMap { $0.dropFirst(3).split(separator: ",").map { String($0).trimmingSpacesAndNewlines } })
        for command in commands {
            #expect(headings.contains(command), "docs/commands.md has no section for \(command)")
        }
    }
}
