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
        for command in commands {
            let documented = doc.contains("\n## \(command)\n") || doc.contains("\n## \(command),")
                || doc.contains(", \(command)\n") || doc.contains("berth \(command) ")
            #expect(documented, "docs/commands.md has no section for \(command)")
        }
    }
}
