import Testing
import BerthEngine

/// `--filter` and `--format` as a Docker user types them, on the real binary:
/// repeated keys OR, different keys AND; Go templates with Docker's errors.
@Suite(
    "ps/events/inspect/images: filters and Go templates", .enabled(if: isRoot, "needs root for containers"),
    .serialized)
struct FormatFilterTests {
    /// web (created, bridge), db (created, no network, volume data), ok (exited 0), bad (exited 3).
    private func withContainers(_ body: (LifecycleStore) throws -> Void) rethrows {
        let s = LifecycleStore()
        defer { s.cleanUp() }
        #expect(s.berth("create", "--name", "web", "busybox").status == 0)
        #expect(s.berth("create", "--name", "db", "--network", "none", "-v", "data:/data", "busybox").status == 0)
        #expect(s.berth("run", "--name", "ok", "--network", "none", "busybox", "true").status == 0)
        #expect(s.berth("run", "--name", "bad", "--network", "none", "busybox", "sh", "-c", "exit 3").status == 3)
        try body(s)
    }

    private func names(_ s: LifecycleStore, _ filters: String...) -> String {
        s.berth(["ps", "-a", "--format", "{{.Names}}"] + filters.flatMap { ["-f", $0] }).stdout
    }

    @Test("ps: the same filter key twice is ORed, different keys are ANDed")
    func psOr() {
        withContainers { s in
            #expect(names(s, "status=created", "status=exited") == "bad\nok\ndb\nweb\n")
            #expect(names(s, "name=web", "name=db") == "db\nweb\n")
            #expect(names(s, "exited=0", "exited=3") == "bad\nok\n")
            #expect(names(s, "status=exited", "name=ok") == "ok\n")
            #expect(names(s, "status=created", "exited=3").isEmpty)
        }
    }

    @Test("ps: name= is an unanchored regular expression; a bad one is one error line, exit 1")
    func psNameRegex() {
        withContainers { s in
            #expect(names(s, "name=^w.b$") == "web\n")
            #expect(names(s, "name=^/db") == "db\n")
            #expect(names(s, "name=[ok]$") == "ok\n")
            #expect(names(s, "name=b") == "bad\ndb\nweb\n")
            let bad = s.berth("ps", "-a", "-f", "name=(")
            #expect(bad.status == 1)
            #expect(bad.stdout.isEmpty)
            #expect(
                bad.stderr.hasPrefix("Error: invalid filter 'name=(': error parsing regexp")
                    && bad.stderr.split(separator: "\n").count == 1,
                "\(bad.stderr)")
            // Go's RE2 never backtracks, nor does Berth's matcher: hostile patterns
            // against a 31-character near-miss name finish at once (Swift's Regex took minutes).
            let near = String(repeating: "a", count: 31) + "b"
            #expect(s.berth("create", "--name", near, "busybox").status == 0)
            for pattern in ["^(a|a)*$", "^/?(a+)+$", "^(a*)*$", "^((a|aa)+)+$"] {
                let start = now()
                let listed = s.berth("ps", "-a", "-f", "name=" + pattern, "--format", "{{.Names}}")
                let took = now() - start
                #expect(listed.status == 0 && listed.stdout.isEmpty && listed.stderr.isEmpty, "\(pattern): \(listed.stderr)")
                #expect(took < 5, "\(pattern) took \(took) s")
            }
            #expect(names(s, "name=^(a|a)*b$") == near + "\n")
            #expect(names(s, "name=(?i)^A{31}B$") == near + "\n")
            let unclosed = s.berth("ps", "-a", "-f", "name=[a")
            #expect(
                unclosed.status == 1
                    && unclosed.stderr == "Error: invalid filter 'name=[a': error parsing regexp: missing closing ]: `[a`\n",
                "\(unclosed.stderr)")
            #expect(s.berth("rm", near).status == 0)
            #expect(names(s, "name=^(web|db)+$", "name=(o[k]){1}") == "ok\ndb\nweb\n")
        }
    }

    @Test("ps: ancestor= matches name, name:tag, short and long image IDs; exited, before, since, volume, network")
    func psOtherKeys() {
        withContainers { s in
            let id = s.berth("images", "-q", "--no-trunc").stdout.trimmingSpacesAndNewlines
            for ancestor in ["busybox", "busybox:latest", Format.shortID(id), id] {
                #expect(names(s, "ancestor=" + ancestor) == "bad\nok\ndb\nweb\n", "ancestor=\(ancestor)")
            }
            #expect(names(s, "ancestor=alpine").isEmpty)
            #expect(names(s, "exited=3") == "bad\n")
            #expect(names(s, "since=db") == "bad\nok\n")
            #expect(names(s, "before=db") == "web\n")
            #expect(names(s, "before=/db") == "web\n", "a leading / as in Docker's names")
            for missing in ["before=", "since=nosuch"] {
                let refused = s.berth("ps", "-a", "--filter", missing)
                #expect(
                    refused.status == 1 && refused.stderr.hasPrefix("Error: No such container"), "\(missing): \(refused.stderr)")
            }
            #expect(names(s, "volume=data") == "db\n")
            #expect(names(s, "volume=/data") == "db\n")
            #expect(names(s, "network=none") == "bad\nok\ndb\n")
            #expect(names(s, "network=bridge") == "web\n")
            let unknown = s.berth("ps", "-f", "colour=red")
            #expect(unknown.status == 1 && unknown.stderr.hasPrefix("Error: invalid filter 'colour'"), "\(unknown.stderr)")
        }
    }

    @Test(
        "events: the same filter key twice is ORed; container= is a name prefix; typed fields .ID, .Status, .Actor.Attributes work"
    )
    func events() {
        withContainers { s in
            let out = s.berth(
                "events", "--since", "5m", "--until", "0s", "-f", "event=die", "-f", "event=start",
                "-f", "container=o", "--format", "{{.Status}} {{.Actor.Attributes.name}} {{len .ID}} {{.Type}}"
            ).stdout
            #expect(out == "start ok 64 container\ndie ok 64 container\n")
            let json = s.berth(
                "events", "--since", "5m", "--until", "0s", "-f", "event=create", "-f", "container=web",
                "--format", "json"
            ).stdout
            #expect(json.hasPrefix("{\"status\":\"create\",\"id\":\""), "\(json)")
            let bad = s.berth("events", "--since", "5m", "--until", "0s", "--format", "{{.Nope}}")
            #expect(bad.status == 1 && bad.stdout.isEmpty)
            #expect(
                bad.stderr
                    == "Error: template: :1:2: executing \"\" at <.Nope>: can't evaluate field Nope in type *events.Message\n")
        }
    }

    @Test("inspect -f: {{.ID}}, range over Networks, if/eq; an unknown key is Docker's error, exit 1; --format json")
    func inspect() {
        withContainers { s in
            let id = s.berth("ps", "-aq", "--no-trunc", "-f", "name=web").stdout.trimmingSpacesAndNewlines
            #expect(s.inspect("web", "{{.ID}}") == id && id.count == 64)
            let ip = s.inspect("web", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}")
            // The default bridge's subnet is whichever pool entry was free on this host.
            #expect(ip.split(separator: ".").count == 4 && ip == s.inspect("web", "{{.NetworkSettings.IPAddress}}"), "\(ip)")
            #expect(
                s.inspect("bad", #"{{if eq .State.Status "exited"}}exit {{.State.ExitCode}}{{end}} {{- /* trimmed */}}"#)
                    == "exit 3")
            #expect(
                s.inspect(
                    "db", #"{{range .Mounts}}{{.Name}}:{{.Destination}}{{end}} {{join .Config.Cmd ","}} {{printf "%.3s" .Name}}"#)
                    == "data:/data sh /db")
            let bad = s.berth("inspect", "-f", "{{.Foo}}", "web")
            #expect(bad.status == 1 && bad.stdout.isEmpty)
            #expect(
                bad.stderr
                    == "Error: Template parsing error: template: :1:2: executing \"\" at <.Foo>: map has no entry for key \"Foo\"\n"
            )
            #expect(s.berth("inspect", "--format", "json", "web").stdout == s.berth("inspect", "web").stdout)
        }
    }

    @Test("ps/images --format: table and json keywords; an unknown field is Docker's error, exit 1")
    func listings() {
        withContainers { s in
            #expect(agree(s.berth("ps", "-a", "--format", "table").stdout, s.berth("ps", "-a").stdout))
            #expect(agree(s.berth("images", "--format", "table").stdout, s.berth("images").stdout))
            let rows = s.berth("ps", "-a", "--format", "json").stdout.split(separator: "\n")
            #expect(rows.count == 4 && rows.allSatisfy { $0.hasPrefix("{\"Command\":\"\\\"") }, "\(rows)")
            #expect(rows.first?.contains("\"Names\":\"bad\"") == true)
            #expect(
                s.berth("ps", "-a", "-f", "name=web", "--format", "table {{.Names}}\\t{{upper .State}}").stdout
                    == "NAMES     STATE\nweb       CREATED\n")
            // ps runs the raw format on an empty row first, as Docker's: "table " counts in the column.
            let bad = s.berth("ps", "-a", "-f", "name=nothing", "--format", "table {{.Names}}\\t{{.Foo}}")
            #expect(bad.status == 1 && bad.stdout.isEmpty)
            #expect(
                bad.stderr
                    == "Error: failed to execute template: template: :1:20: executing \"\" at <.Foo>: can't evaluate field Foo in type *formatter.ContainerContext\n"
            )
            let unparsable = s.berth("ps", "--format", "{{.Names")
            #expect(
                unparsable.status == 1 && unparsable.stderr == "Error: failed to parse template: template: :1: unclosed action\n")
            #expect(s.berth("ps", "-a", "-f", "name=db", "--format", "{{.Names}} {{.Size}}").stdout.hasPrefix("db 0B"))
            #expect(
                s.berth("images", "--format", #"{{if eq .Tag "latest"}}{{.Repository | title}}{{end}}"#).stdout == "Busybox\n")
            let image = s.berth("images", "--format", "{{.Nope}}")
            #expect(image.status == 1 && image.stderr.contains("can't evaluate field Nope in type *formatter.ImageContext"))
            let parse = s.berth("images", "--format", "{{nope}}")
            #expect(
                parse.status == 1
                    && parse.stderr == "Error: Template parsing error: template: :1: function \"nope\" not defined\n")
        }
    }
}

/// Whether two listings agree but for their ages: the clock moves between
/// the two commands, so "Less than a second ago" may meet "1 second ago" (a
/// column then widens). Ages become "_ ago" and runs of spaces one space.
private func agree(_ first: String, _ second: String) -> Bool {
    func timeless(_ s: String) -> String {
        s.replacing(/(Less than a second|About a minute|About an hour|\d+ \w+) ago/, with: "_ ago")
            .replacing(/\ +/, with: " ")
    }
    return timeless(first) == timeless(second)
}
