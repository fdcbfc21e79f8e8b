import BerthCommands
import BerthCore
import Testing

/// The built-ins register by name, without being made; a name or alias in
/// that table that drifted from the command's own spec would make a command
/// line find nothing, or the wrong command.
@Suite struct BuiltinsTests {
    @Test("each built-in's name and aliases are its spec's, and every one of them finds it")
    func tableMatchesSpecs() {
        let registry = PluginRegistry()
        Builtins.register(into: registry)
        #expect(registry.all(.command).count == Builtins.commands.count)
        let words = Builtins.commands.flatMap { [$0.name] + $0.aliases }
        #expect(Set(words).count == words.count, "a name or alias used twice")
        for entry in Builtins.commands {
            let spec = entry.make().spec
            #expect(spec.name == entry.name, "\(entry.name)")
            #expect(spec.aliases == entry.aliases, "\(entry.name)")
            for words in [entry.name] + entry.aliases {
                let found = registry.command(for: words.split(separator: " ").map(String.init))
                #expect(found?.0.spec.name == spec.name, "\(words)")
                #expect(found?.1 == words.split(separator: " ").count, "\(words)")
            }
            let registration = registry.all(.command).first { $0.id == entry.name }
            #expect(registration?.description == spec.summary, "\(entry.name)")
        }
    }
}
