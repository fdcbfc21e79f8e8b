import Testing
import BerthCore
@testable import BerthShell

@Suite("Interpreter")
struct InterpreterTests {
    @Test("variables interpolate in double quotes and bare words, not in single quotes")
    func variables() {
        let shell = FakeShell()
        #expect(shell.run("x = hello\nname=world\necho \"$x ${name}!\" '$x' pre-$x-post\n") == 0)
        #expect(shell.io.output == "hello world! $x pre-hello-post\n")
    }

    @Test("every command is a statement written as at the CLI, words passed unchanged")
    func commandsAsAtTheCLI() {
        let shell = FakeShell()
        shell.run("run -it --name web busybox sh -c 'echo hi'\ninspect -f '{{.State.Status}}' web\n")
        #expect(
            shell.ran == [
                ["run", "-it", "--name", "web", "busybox", "sh", "-c", "echo hi"],
                ["inspect", "-f", "{{.State.Status}}", "web"],
            ])
    }

    @Test("$(…) captures a command's output without the trailing newline")
    func capture() {
        let shell = FakeShell()
        shell.run("id = $(create busybox)\nstate = \"$(inspect -f x $id)\"\necho $id $state\n")
        #expect(shell.io.output == "id1 running\n")
        #expect(shell.ran.last == ["inspect", "-f", "x", "id1"])
    }

    @Test("a large capture is read back whole")
    func bigCapture() {
        let shell = FakeShell()
        shell.run("b = \"$(big)\"\nif [ -n \"$b\" ] { echo ok }\n")
        #expect(shell.io.output == "ok\n")
    }

    @Test("lists: literals, captured lines split for for-loops, quoted join")
    func lists() {
        let shell = FakeShell()
        shell.run(
            """
            xs = [a b "c d"]
            for x in $xs { echo "<$x>" }
            for l in $(lines) { echo -n $l }
            echo
            echo "$xs"
            empty = []
            for e in $empty { echo never }
            ys = $(lines)
            for y in $ys 9 { echo -n $y }
            """)
        #expect(shell.io.output == "<a>\n<b>\n<c d>\nabc\na b c d\nabc9")
    }

    @Test("if/else if/else on exit status and on comparisons")
    func conditions() {
        let shell = FakeShell()
        shell.run(
            """
            if fail { echo A } else if [ 10 -gt 9 ] { echo B } else { echo C }
            if [ 10 > 9 ] { echo num }
            if [ b > a ] && [ abc != abd ] { echo str }
            if ! [ x == y ] { echo not }
            if test -z "" { echo empty }
            """)
        #expect(shell.io.output == "B\nnum\nstr\nnot\nempty\n")
    }

    @Test("while with break and continue")
    func whileLoop() {
        let shell = FakeShell()
        shell.run(
            """
            n = 0
            while [ $n -lt 10 ] {
              n = $(inc $n)
              if [ $n == 2 ] { continue }
              if [ $n == 4 ] { break }
              echo $n
            }
            echo done $n
            """)
        #expect(shell.io.output == "1\n3\ndone 4\n")
    }

    @Test("functions take named arguments, $1…, $#, $@, and return a status")
    func functions() {
        let shell = FakeShell()
        let status = shell.run(
            """
            fn fresh(name, image) {
              echo "$name from $image, $# args: $1 $2"
              return 4
            }
            fn all { for a in $@ { echo -n "[$a]" }; echo }
            try fresh web busybox
            echo "status $?"
            all x "y z"
            """)
        #expect(status == 0)
        #expect(shell.io.output == "web from busybox, 2 args: web busybox\nstatus 4\n[x][y z]\n")
        let registration = shell.registry.all(.command).first { $0.id == "fresh" }
        #expect(registration?.origin == .script("t.berth:1"))
        #expect(shell.registry.command(for: ["fresh"])?.0.spec.arguments.map(\.name) == ["NAME", "IMAGE"])
    }

    @Test("function variables are local; a wrong argument count is an error with the line")
    func functionScope() {
        let shell = FakeShell()
        let status = shell.run("x = outer\nfn f(a) { x = inner; echo $x }\nf 1\necho $x\nf\n")
        #expect(status == 125)
        #expect(shell.io.output == "inner\nouter\n")
        #expect(shell.io.errors == "t.berth:5: error: f takes 1 argument(s) (a), got 0\n")
    }

    @Test("redefining a built-in command or a shell word is refused")
    func refusesBuiltins() {
        let shell = FakeShell()
        shell.registry.register(.command { FakeCommand() })
        #expect(shell.run("fn ps { echo mine }\n") == 125)
        #expect(shell.io.errors.contains("t.berth:1: error: cannot define function \"ps\": a built-in command"))
        #expect(shell.run("fn echo { }\n") == 125)
        #expect(shell.io.errors.contains("it is a shell built-in"))
        #expect(shell.run("fn mine { }\nfn mine { echo again }\nmine\n") == 0, "a script function may be redefined")
        #expect(shell.io.output == "again\n")
    }

    @Test("$? is the last status; exit N ends the script with N")
    func statusAndExit() {
        let shell = FakeShell()
        #expect(shell.run("try fail\necho $?\nexit 7\necho no\n") == 7)
        #expect(shell.io.output == "3\n")
    }

    @Test("a failing command stops a script with FILE:LINE unless guarded by try, ||, && or a condition")
    func failures() {
        let shell = FakeShell()
        #expect(
            shell.run("try fail\nfail || echo or\nfail && echo never\nif fail { }\n! fail\ntry boom\necho ok\nfail\necho no\n")
                == 3)
        #expect(shell.io.output == "or\nok\n")
        #expect(shell.io.errors == "Error: no such container: nope\nt.berth:8: error: \"fail\" exited with status 3\n")
        let thrown = FakeShell()
        #expect(thrown.run("echo a\n\nboom x\n") == 125)
        #expect(thrown.io.errors == "t.berth:3: error: no such container: nope\n")
    }

    @Test("a failure inside a function names the function's line")
    func failureInFunction() {
        let shell = FakeShell()
        #expect(shell.run("fn f {\n  echo in\n  fail\n}\nf\n") == 3)
        #expect(shell.io.errors == "t.berth:3: error: \"fail\" exited with status 3\n")
    }

    @Test("without stopOnError (the REPL) failures only set $?")
    func replMode() {
        let shell = FakeShell()
        #expect(shell.run("fail\necho $?\nboom\necho $?\n", stopOnError: false) == 0)
        #expect(shell.io.output == "3\n125\n")
        #expect(shell.io.errors == "Error: no such container: nope\n")
    }

    @Test("undefined variables are errors")
    func undefined() {
        let shell = FakeShell()
        #expect(shell.run("echo $nope\n") == 125)
        #expect(shell.io.errors.hasPrefix("t.berth:1: error: undefined variable $nope"))
    }

    @Test("source runs a file here, relative to the sourcing script; its functions stay")
    func source() {
        let shell = FakeShell()
        shell.io.files["dir/lib.berth"] = "greeting = hi\nfn hello(who) { echo \"$greeting $who\" }\n"
        #expect(shell.run("source lib.berth\nhello you\n", name: "dir/main.berth") == 0)
        #expect(shell.io.output == "hi you\n")
        shell.io.files["dir/bad.berth"] = "if true {\n"
        #expect(shell.run("source bad.berth\n", name: "dir/main.berth") == 125)
        #expect(shell.io.errors == "dir/main.berth:1: error: dir/bad.berth:1:9: unterminated block (missing })\n")
    }

    @Test("source of a file that sources itself stops at the depth limit")
    func recursiveSource() {
        let shell = FakeShell()
        shell.io.files["loop.berth"] = "source loop.berth\n"
        #expect(shell.run("source loop.berth\n") == 125)
        #expect(shell.io.errors.contains("nested more than"))
    }

    @Test("endless recursion stops at the call-depth limit")
    func recursion() {
        let shell = FakeShell()
        #expect(shell.run("fn f { f }\nf\n") == 125)
        #expect(shell.io.errors.contains("function calls nested more than 100 deep"))
    }

    @Test("comments, ; and line continuation")
    func layout() {
        let shell = FakeShell()
        shell.run("# top\necho a; echo b # trailing\nrun \\\n  --name x \\\n  busybox\n")
        #expect(shell.io.output == "a\nb\n")
        #expect(shell.ran == [["run", "--name", "x", "busybox"]])
    }

    @Test("a function runs through the registry too")
    func viaRegistry() throws {
        let shell = FakeShell()
        let interpreter = shell.interpreter()
        _ = interpreter.run(source: "fn twice(w) { echo $w $w }\n", name: "t.berth")
        let (command, _) = try #require(shell.registry.command(for: ["twice"]))
        var args = ParsedArguments()
        args.positionals = ["hey"]
        #expect(try command.run(args, CommandContext(root: "/nonexistent", registry: shell.registry)) == 0)
        #expect(shell.io.output == "hey hey\n")
    }
}

private struct FakeCommand: Command {
    var spec: CommandSpec { CommandSpec("ps", summary: "List containers") }
    func run(_ args: ParsedArguments, _ context: CommandContext) throws(BerthError) -> Int32 { 0 }
}
