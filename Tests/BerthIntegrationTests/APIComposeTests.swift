import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Debian's docker-compose 1.29 (`make deps`) against the service: a
/// two-service project with its own network, a named volume, environment,
/// a published port, `init`, `depends_on`, a restart policy, a health check,
/// log options and ulimits (and a second network for one
/// service, which compose joins with `network connect`), brought up, checked from the
/// host and from inside, restarted, listed, its logs read, and torn down
/// with `down -v`, which must leave no container, network or volume.
@Suite(.serialized, .enabled(if: isRoot && hasDockerCLI, "needs root and the docker CLI (make deps)"))
struct APIComposeTests {
    static func composeFile(port: Int) -> String {
        """
        version: "3.8"
        services:
          web:
            image: busybox
            init: true
            command: sh -c 'echo web starting; mkdir -p /www && echo "hello $$GREETING" > /www/index.html && exec httpd -f -p 80 -h /www'
            environment:
              GREETING: compose
            ports:
              - "127.0.0.1:\(port):80"
            volumes:
              - data:/data
            networks: [back]
            restart: unless-stopped
            healthcheck:
              test: ["CMD", "wget", "-qO-", "http://127.0.0.1/"]
              interval: 1s
            logging:
              driver: json-file
              options:
                max-size: 1m
            ulimits:
              nofile: {soft: 1024, hard: 2048}
          client:
            image: busybox
            init: true
            command: sleep 3600
            depends_on: [web]
            links: ["web:frontdoor"]
            networks: [back, front]
        networks:
          back: {}
          front: {}
        volumes:
          data: {}

        """
    }

    @Test func composeUpRestartPsLogsDown() {
        guard fileExists("/usr/bin/docker-compose") else {
            Issue.record("docker-compose 1.29 (Debian's package) is needed; run 'make deps'")
            return
        }
        withService { s in
            let dir = makeTempDirectory("compose")
            let port = freePort()
            writeFile(dir + "/docker-compose.yml", Self.composeFile(port: port))
            func compose(_ args: String...) -> ProcessResult {
                let result = runProcess(
                    ["timeout", "120", "/usr/bin/docker-compose", "-f", dir + "/docker-compose.yml", "-p", "bt"] + args,
                    environment: ["DOCKER_HOST": "unix://" + s.socket, "DOCKER_CONFIG": s.dir + "/docker-config"])
                s.store.note(s.store.berth("ps", "-aq", "--no-trunc").stdout)
                return result
            }
            defer {
                // Whatever the test reached: containers, then the project's network and volume.
                let ids = s.store.berth("ps", "-aq").stdout.split(separator: "\n").map(String.init)
                if !ids.isEmpty { s.store.berth(["rm", "-f"] + ids) }
                s.store.berth("network", "rm", "bt_back", "bt_front")
                s.store.berth("volume", "rm", "bt_data")
                removeTree(dir)
            }

            let up = compose("up", "-d")
            #expect(up.status == 0, "up: \(up.stdout) \(up.stderr)")
            let running = s.store.berth("ps", "--format", "{{.Names}} {{.Status}}").stdout
            #expect(running.contains("bt_web_1 Up"), "\(running)")
            #expect(running.contains("bt_client_1 Up"), "\(running)")
            // depends_on: web started before client.
            let webStart = s.store.inspect("bt_web_1", "{{.State.StartedAt}}")
            let clientStart = s.store.inspect("bt_client_1", "{{.State.StartedAt}}")
            #expect(!webStart.isEmpty && webStart <= clientStart, "\(webStart) \(clientStart)")
            #expect(s.store.inspect("bt_web_1", "{{index .Config.Labels \"com.docker.compose.service\"}}") == "web")

            // The published port answers from the host.
            let page = sh(
                "for i in $(seq 30); do busybox wget -qO- http://127.0.0.1:\(port)/ && break; sleep 0.2; done")
            #expect(page.stdout == "hello compose\n", "host fetch: \(page.stdout) \(page.stderr)")
            // The client reaches web by its service name on the project network.
            let byName = compose("exec", "-T", "client", "wget", "-qO-", "http://web/")
            #expect(byName.stdout == "hello compose\n", "exec: \(byName.stdout) \(byName.stderr)")
            // links: web under another name.
            let byLink = compose("exec", "-T", "client", "wget", "-qO-", "http://frontdoor/")
            #expect(byLink.stdout == "hello compose\n", "link: \(byLink.stdout) \(byLink.stderr)")
            #expect(s.store.berth("exec", "bt_web_1", "sh", "-c", "echo $GREETING").stdout == "compose\n")
            #expect(s.store.inspect("bt_web_1", "{{.HostConfig.Init}}") == "true")
            // What the service asks beyond the basics reaches the engine.
            #expect(
                s.store.inspect(
                    "bt_web_1", "{{.HostConfig.RestartPolicy.Name}} {{index .HostConfig.LogConfig.Config \"max-size\"}}")
                    == "unless-stopped 1m")
            #expect(s.store.berth("exec", "bt_web_1", "sh", "-c", "ulimit -n").stdout == "1024\n")
            #expect(eventually(20) { compose("ps").stdout.contains("Up (healthy)") }, "\(compose("ps").stdout)")
            let networks = s.store.berth("network", "ls", "--format", "{{.Name}}").stdout
            #expect(networks.contains("bt_back\n"), "\(networks)")
            #expect(s.store.inspect("bt_client_1", "{{len .NetworkSettings.Networks}}") == "2")
            let label = s.store.berth("network", "inspect", "-f", "{{index .Labels \"com.docker.compose.project\"}}", "bt_back")
            #expect(label.stdout == "bt\n", "\(label.stdout) \(label.stderr)")

            // A second `up` finds everything as it left it (compose compares the
            // network's driver, options and labels, and the containers' config hash).
            let again = compose("up", "-d")
            #expect(again.status == 0 && again.stderr.contains("bt_web_1 is up-to-date"), "\(again.stdout) \(again.stderr)")

            // A file in the named volume survives a restart.
            #expect(s.store.berth("exec", "bt_web_1", "sh", "-c", "echo kept > /data/f").status == 0)
            let restart = compose("restart")
            #expect(restart.status == 0, "restart: \(restart.stdout) \(restart.stderr)")
            #expect(s.store.berth("exec", "bt_web_1", "cat", "/data/f").stdout == "kept\n")
            let served = sh(
                "for i in $(seq 30); do busybox wget -qO- http://127.0.0.1:\(port)/ && break; sleep 0.2; done")
            #expect(served.stdout == "hello compose\n", "after restart: \(served.stdout) \(served.stderr)")

            let ps = compose("ps")
            #expect(ps.status == 0, "ps: \(ps.stderr)")
            let rows = ps.stdout.split(separator: "\n").map(String.init)
            #expect(
                rows.contains { $0.hasPrefix("bt_web_1") && $0.contains("Up") && $0.contains("127.0.0.1:\(port)->80/tcp") },
                "\(ps.stdout)")
            #expect(rows.contains { $0.hasPrefix("bt_client_1") && $0.contains("Up") }, "\(ps.stdout)")

            let logs = compose("logs", "--no-color", "web")
            #expect(logs.status == 0, "logs: \(logs.stderr)")
            // Started twice (up, restart): the log keeps both runs, as dockerd's.
            let lines = logs.stdout.split(separator: "\n").filter { $0.hasPrefix("web_1 ") && $0.hasSuffix("| web starting") }
            #expect(lines.count == 2, "\(logs.stdout)")

            // A changed service is recreated (stop, rename, create, start, remove):
            // the new container has the new environment and the same volume.
            writeFile(
                dir + "/docker-compose.yml",
                Self.composeFile(port: port).replacingOccurrences("GREETING: compose", "GREETING: recreated"))
            let recreate = compose("up", "-d")
            #expect(
                recreate.status == 0 && recreate.stderr.contains("Recreating bt_web_1"), "\(recreate.stdout) \(recreate.stderr)")
            let fresh = sh(
                "for i in $(seq 30); do busybox wget -qO- http://127.0.0.1:\(port)/ && break; sleep 0.2; done")
            #expect(fresh.stdout == "hello recreated\n", "after recreate: \(fresh.stdout) \(fresh.stderr)")
            #expect(s.store.berth("exec", "bt_web_1", "cat", "/data/f").stdout == "kept\n")
            let names = s.store.berth("ps", "-a", "--format", "{{.Names}}").stdout
            #expect(names.split(separator: "\n").sorted() == ["bt_client_1", "bt_web_1"], "\(names)")

            let down = compose("down", "-v")
            #expect(down.status == 0, "down: \(down.stdout) \(down.stderr)")
            #expect(s.store.berth("ps", "-aq").stdout.isEmpty)
            let left = s.store.berth("network", "ls").stdout
            #expect(!left.contains("bt_back") && !left.contains("bt_front"), "\(left)")
            #expect(!s.store.berth("volume", "ls").stdout.contains("bt_data"))
            #expect(sh("busybox wget -T 1 -qO- http://127.0.0.1:\(port)/").status != 0, "the port is closed after down")
        }
    }
}
