import Testing

/// docker-py (PyPI's `docker`, which `make deps` installs) against the
/// service: the client other tools (compose 1.x, Testcontainers-python)
/// are built on. It sends no condition on wait, the legacy filter form, and
/// reads logs back only for a `json-file` container.
private let script = #"""
    import sys, time, docker
    c = docker.DockerClient(base_url=sys.argv[1])
    print(c.version()["ApiVersion"])
    print(c.containers.run("busybox", "echo hi", remove=True))
    ct = c.containers.create("busybox", "sh -c 'echo a; sleep 0.2; echo b >&2; sleep 300'", name="py1")
    ct.start()
    ct.reload()
    print(ct.status)
    r = ct.exec_run("sh -c 'echo x; exit 3'")
    print(r.exit_code, r.output)
    r = ct.exec_run(["sh", "-c", "echo out; echo err >&2"], demux=True)
    print(r.exit_code, r.output)
    time.sleep(0.6)
    print(ct.logs(stdout=True, stderr=False), ct.logs(stdout=False, stderr=True))
    print(list(ct.logs(stream=True, follow=False)))
    import io, tarfile
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as t:
        info = tarfile.TarInfo("put.txt"); payload = b"through put_archive\n"; info.size = len(payload)
        t.addfile(info, io.BytesIO(payload))
    print(ct.put_archive("/tmp", data.getvalue()))
    stream, stat = ct.get_archive("/tmp/put.txt")
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as t:
        print(stat["name"], stat["size"], t.extractfile("put.txt").read())
    print([x.name for x in c.containers.list(filters={"status": "running"})])
    print([x.name for x in c.containers.list(all=True, filters={"name": "nomatch"})])
    ct.stop(timeout=1)
    ct.reload()
    print(ct.status, ct.attrs["State"]["ExitCode"])
    ct.remove()
    try:
        c.containers.get("py1")
    except docker.errors.NotFound:
        print("gone")
    """#

/// `attach(logs=True)`: what was logged before the attach comes first,
/// then the live output, for both log formats. The container prints for 3 s
/// so that it still runs when the attach arrives on a loaded machine (an
/// attach with `stream=1` to an exited container waits for its next start,
/// as dockerd's does).
private let attachLogsScript = #"""
    import sys, time, docker
    c = docker.DockerClient(base_url=sys.argv[1])
    for driver in ["json-file", "k8s-file"]:
        ct = c.containers.run("busybox", "sh -c 'echo early; sleep 3; echo late; echo err >&2'", detach=True,
                              log_config=docker.types.LogConfig(type=driver))
        time.sleep(0.5)
        out = b"".join(ct.attach(stdout=True, stderr=True, stream=True, logs=True))
        print(driver, sorted(out.decode().split()))
        only = ct.attach(stdout=False, stderr=True, stream=False, logs=True)
        print(driver, only, ct.logs(stdout=True, stderr=False))
        ct.remove(force=True)
    """#

/// docker-py reads a `101` head through a buffered reader, then the bare
/// socket: what arrives with the head is lost unless the service waits for
/// the head to be read. Each response is read 0.3 s late here, as on a
/// loaded machine, so the log replay and the exec's output are certain to
/// be written before the client reads the head.
private let slowReaderScript = #"""
    import sys, time, http.client, docker
    begin = http.client.HTTPResponse.begin
    def late(self):
        time.sleep(0.3)
        return begin(self)
    http.client.HTTPResponse.begin = late
    c = docker.DockerClient(base_url=sys.argv[1])
    ct = c.containers.run("busybox", "sh -c 'echo early; echo err >&2; sleep 30'", detach=True)
    time.sleep(0.5)
    print(sorted(ct.attach(stdout=True, stderr=True, stream=False, logs=True).split()))
    print(ct.exec_run("echo hello").output)
    ct.remove(force=True)
    """#

@Suite(.serialized, .enabled(if: isRoot && hasDockerCLI && hasDockerPy, "needs root, docker-py (make deps)"))
struct APIDockerPyTests {
    @Test("a client that reads the 101 head late still gets the log replay and the exec's output")
    func slowReaderLosesNothing() {
        withService { s in
            let result = runProcess(["timeout", "120", "python3", "-c", slowReaderScript, "unix://" + s.socket])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout == "[b'early', b'err']\nb'hello\\n'\n", "\(result.stdout)")
        }
    }

    @Test("attach with logs=1 replays the log, json-file or k8s-file, then streams")
    func attachReplaysTheLog() {
        withService { s in
            let result = runProcess(["timeout", "120", "python3", "-c", attachLogsScript, "unix://" + s.socket])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(
                result.stdout == """
                    json-file ['early', 'err', 'late']
                    json-file b'err\\n' b'early\\nlate\\n'
                    k8s-file ['early', 'err', 'late']
                    k8s-file b'err\\n' b'early\\nlate\\n'

                    """, "\(result.stdout)")
        }
    }

    @Test func dockerPyCreatesStartsExecsAndStreamsLogs() {
        withService { s in
            let result = runProcess(["timeout", "120", "python3", "-c", script, "unix://" + s.socket])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(
                result.stdout == """
                    1.44
                    b'hi\\n'
                    running
                    3 b'x\\n'
                    0 (b'out\\n', b'err\\n')
                    b'a\\n' b'b\\n'
                    [b'a\\n', b'b\\n']
                    True
                    put.txt 20 b'through put_archive\\n'
                    ['py1']
                    []
                    exited 137
                    gone

                    """, "\(result.stdout)")
            #expect(s.store.berth("ps", "-aq").stdout.isEmpty)
        }
    }
}

/// docker-py is importable.
let hasDockerPy = runProcess(["python3", "-c", "import docker"]).status == 0
