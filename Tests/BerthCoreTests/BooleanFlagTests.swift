import Testing
import BerthCore

private let detach = Flag.bool("detach", short: "d", help: "Detach")
private let remove = Flag.bool("rm", help: "Remove")
private let quiet = Flag.bool("quiet", short: "q", help: "Quiet")
private let spec = CommandSpec(
    "run", summary: "Run", flags: [detach, remove, quiet], arguments: [ArgSpec("IMAGE")], min: 1, interspersed: false)

/// Boolean values as Go's strconv.ParseBool spells them, in long and short form.
@Suite("Boolean flag values")
struct BooleanFlagTests {
    @Test("every strconv.ParseBool spelling, after --NAME= and -X=")
    func spellings() throws {
        for (word, value) in [
            ("1", true), ("t", true), ("T", true), ("TRUE", true), ("true", true), ("True", true),
            ("0", false), ("f", false), ("F", false), ("FALSE", false), ("false", false), ("False", false),
        ] {
            let long = try ArgumentParser.parse(["--rm=\(word)", "--detach=\(word)", "img"], spec: spec)
            #expect(long[remove] == value && long[detach] == value, "--rm=\(word)")
            let short = try ArgumentParser.parse(["-d=\(word)", "img"], spec: spec)
            #expect(short[detach] == value, "-d=\(word)")
            let grouped = try ArgumentParser.parse(["-qd=\(word)", "img"], spec: spec)
            #expect(grouped[quiet] && grouped[detach] == value, "-qd=\(word)")
        }
        let bare = try ArgumentParser.parse(["-d", "--rm", "img"], spec: spec)
        #expect(bare[detach] && bare[remove])
    }

    @Test("a bad value is Docker's usage error naming the flag as pflag does")
    func badValues() {
        for (words, name, value) in [
            (["-d=x", "img"], "-d, --detach", "x"), (["--detach=yes", "img"], "-d, --detach", "yes"),
            (["--rm=", "img"], "--rm", ""), (["-qd=2", "img"], "-d, --detach", "2"),
        ] {
            do {
                _ = try ArgumentParser.parse(words, spec: spec)
                Issue.record("\(words) parsed")
            } catch {
                #expect(error.kind == .usage && error.exitCode == 125)
                #expect(
                    error.message.hasPrefix(
                        "invalid argument \"\(value)\" for \"\(name)\" flag: strconv.ParseBool: parsing \"\(value)\": invalid syntax"
                    ),
                    "\(error.message)")
            }
        }
    }
}
