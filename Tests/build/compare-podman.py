#!/usr/bin/env python3
"""Builds the same Dockerfiles with `berth build` and `podman build` (buildah,
from Debian's packages) and compares the resulting images: every file's path,
type, mode, owner, size, link target and content digest, and the run config
(Env, Cmd, Entrypoint, WorkingDir, User, ExposedPorts, Labels, Volumes,
StopSignal, Healthcheck, OnBuild). Times are not compared.

usage: compare-podman.py BERTH_BIN BUSYBOX_TAR [FIXTURE...]
Exit 0 when every fixture matches; otherwise prints each difference.

Podman runs with its own root, run root and containers.conf in a temp
directory (as ../shared/PEERS.md describes), `--format docker` so that
Docker-only fields (Healthcheck, OnBuild) are kept, and the vfs driver.
Where buildah 1.28 and Docker's classic builder disagree (see
docs/build.md), the fixtures avoid the difference rather than hide it."""

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

FIXTURES = {
    "instructions": {
        "Dockerfile": """FROM busybox
ENV A=1 B="two words"
ARG REV=0
WORKDIR /app
COPY a.txt .
COPY dir /d3
RUN echo "run $A $REV" > /app/run.txt && mkdir -p /var/x && rm /bin/yes
LABEL x=y z="with space"
EXPOSE 80 443/udp
VOLUME /data
STOPSIGNAL SIGQUIT
HEALTHCHECK --interval=5m --timeout=3s --retries=4 CMD wget -q localhost || exit 1
USER nobody
ENTRYPOINT ["sh", "-c"]
CMD ["cat /app/run.txt"]
""",
        "files": {"a.txt": "hello\n", "dir/d.txt": "d\n", "dir/sub/c.txt": "c\n"},
        "args": ["--build-arg", "REV=7"],
    },
    "expansion": {
        "Dockerfile": """FROM busybox
ENV abc=hello
ENV abc=bye def=$abc
ENV ghi=$abc E= P="80 443/udp" SIG=SIGUSR1
ENV legacy  two  words  $abc
LABEL a=${abc:+set} b=${E:-dflt} d=${NOPE:-none} e=\\$abc f='$abc' g="$abc" h=${abc}_x i=$abc_x
WORKDIR /w/$abc
WORKDIR sub
EXPOSE $P 8080
VOLUME /v/$abc /v2
STOPSIGNAL $SIG
RUN echo "run:$abc" > run.txt
CMD echo $abc
USER ${abc}:0
""",
        "files": {},
    },
    "args": {
        "Dockerfile": """ARG V=1
ARG BASE=busybox
FROM $BASE
RUN echo "before=[$V]" > /before
ARG V
RUN echo "after=[$V]" > /after
ARG W=def
ENV W=env
RUN echo "w=$W" > /w
ARG X
RUN echo "x=[${X:-unset}] proxy=[$HTTP_PROXY]" > /x
FROM $BASE
COPY --from=0 /before /after /w /x /from0/
RUN echo "stage2=[$V][$W]" > /s2
""",
        "files": {},
        "args": ["--build-arg", "V=2", "--build-arg", "W=cli", "--build-arg", "HTTP_PROXY=http://p:3128"],
    },
    "copy-paths": {
        "Dockerfile": """FROM busybox
COPY a.txt /file1
COPY a.txt /d1/
COPY a.txt b.txt /d2/
COPY dir /d3
COPY dir/ /d4/
COPY *.txt /d5/
COPY ["with space.txt", "/d6/"]
COPY ./dir/../a.txt /d7/renamed
RUN mkdir /exists
COPY a.txt /exists
WORKDIR /wd
COPY a.txt rel/
COPY b.txt .
COPY dir/sub ./
""",
        "files": {"a.txt": "a\n", "b.txt": "b\n", "dir/d.txt": "d\n", "dir/sub/c.txt": "c\n", "with space.txt": "s\n"},
    },
    "ownership": {
        "Dockerfile": """FROM busybox
RUN echo 'alice:x:1234:5678::/home/alice:/bin/sh' >> /etc/passwd && echo 'grp:x:4321:' >> /etc/group && mkdir /cd
COPY f /default
COPY --chown=alice f /byname
COPY --chown=alice:grp f /both
COPY --chown=77 f /num
COPY --chown=7:8 dir /cd/new/
COPY --chmod=0755 f /mode
USER alice
RUN id > /tmp/id
""",
        "files": {"f": "f\n", "dir/sub/s": "s\n"},
        "setup": "chmod 640 f",
    },
    "multistage": {
        "Dockerfile": """FROM busybox AS base
RUN echo base > /base
FROM busybox AS unused
RUN echo SHOULD-NOT-RUN && false
FROM base AS build
RUN echo built > /art
FROM busybox
COPY --from=build /art /a1
COPY --from=0 /base /a2
""",
        "files": {},
    },
    "dockerignore": {
        "Dockerfile": "FROM busybox\nCOPY . /ctx/\n",
        "files": {
            "keep.md": "", "README.md": "r", "docs/a.md": "a", "docs/b.txt": "b", "secret/key": "k", "secret/pub": "p",
            "node_modules/x/y.js": "y", "a/b/c/deep.log": "l", "top.log": "t", "logs/keep.txt": "k",
            ".dockerignore": "# c\n*.md\n!README.md\n/secret\n!secret/pub\n**/*.log\nnode_modules/\nDockerfile\n.dockerignore\n./logs/../logs\n",
        },
    },
    "symlinks-and-add": {
        "Dockerfile": """FROM busybox
COPY link /l1
COPY dirlink /dl/
COPY sub /s/
ADD t.tar.gz /gz/
ADD plain.tar /plain
ADD fake.tar.gz /fake/
""",
        "files": {"real.txt": "real\n", "sub/f": "f\n", "src/x/y.txt": "y\n", "fake.tar.gz": "notatar\n"},
        "setup": "ln -s real.txt link && ln -s sub dirlink && ln -s ../real.txt sub/up && "
        + "tar --owner=0 --group=0 -C src -czf t.tar.gz x && tar --owner=0 --group=0 -C src -cf plain.tar x && rm -rf src",
    },
    "onbuild-shell": {
        "Dockerfile": """FROM busybox
SHELL ["/bin/sh", "-e", "-c"]
RUN echo "$0 $-" > /shellinfo
ONBUILD RUN echo child
HEALTHCHECK --interval=1m CMD ["true"]
ENTRYPOINT ["echo"]
""",
        "files": {},
    },
}

# Paths each engine manages itself in a container (not part of the image).
# podman also makes /run (a mount point) in every container it creates.
ENGINE_FILES = {"etc/hosts", "etc/hostname", "etc/resolv.conf", "run", "run/.containerenv", ".dockerenv"}
CONFIG_KEYS = ["Env", "Cmd", "Entrypoint", "WorkingDir", "User", "ExposedPorts", "Labels", "Volumes",
               "StopSignal", "Healthcheck", "OnBuild"]


def run(argv, env=None, cwd=None, check=True):
    p = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if check and p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s %s" % (" ".join(argv[:4]), p.returncode, p.stdout.decode(), p.stderr.decode()))
    return p.stdout


def tree(tar_bytes):
    """Every entry of a flat tar: path → (type, mode, uid, gid, size, link, sha256)."""
    result = {}
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as t:
        for m in t.getmembers():
            path = m.name.lstrip("./").rstrip("/")
            if not path or path in ENGINE_FILES:
                continue
            digest = ""
            if m.isfile():
                digest = hashlib.sha256(t.extractfile(m).read()).hexdigest()[:16]
            kind = "f" if m.isfile() else "d" if m.isdir() else "l" if m.issym() else "h" if m.islnk() else "o"
            result[path] = (kind, oct(m.mode & 0o7777), m.uid, m.gid, m.size if m.isfile() else 0, m.linkname, digest)
    return result


def saved_config(archive):
    """The image config inside a `save` archive (Docker's manifest.json), as stored."""
    with tarfile.open(archive) as t:
        manifest = json.load(t.extractfile("manifest.json"))
        return json.load(t.extractfile(manifest[0]["Config"].lstrip("./")))


def config_of(image_config):
    c = image_config.get("config") or {}
    out = {}
    for k in CONFIG_KEYS:
        v = c.get(k)
        if k == "Labels" and v:
            v = {a: b for a, b in v.items() if a != "io.buildah.version"}
        if v in ({}, [], "", None):
            v = None
        out[k] = v
    return out


class Podman:
    def __init__(self, d):
        self.d = d
        os.makedirs(d + "/tmp", exist_ok=True)
        with open(d + "/containers.conf", "w") as f:
            f.write('[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n'
                    '[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n')
        self.env = dict(os.environ, CONTAINERS_CONF=d + "/containers.conf", TMPDIR=d + "/tmp")

    def __call__(self, *args, cwd=None):
        argv = ["podman", "--root", self.d + "/root", "--runroot", self.d + "/runroot", "--tmpdir",
                self.d + "/tmp", "--storage-driver", "vfs"] + list(args)
        # buildah's chroot isolation re-executes itself from a sealed memfd
        # copy, and sealing it fails now and then with EBUSY while other
        # processes fork (seen under a parallel test run): Podman's own
        # flake, not a difference between the builds, so it is tried again.
        for attempt in range(3):
            try:
                return run(argv, env=self.env, cwd=cwd)
            except RuntimeError as e:
                if "sealing memfd copy" not in str(e) or attempt == 2:
                    raise


def make_context(directory, fixture):
    os.makedirs(directory)
    with open(directory + "/Dockerfile", "w") as f:
        f.write(fixture["Dockerfile"])
    for name, content in fixture["files"].items():
        path = os.path.join(directory, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(content)
    if fixture.get("setup"):
        run(["sh", "-c", fixture["setup"]], cwd=directory)


def berth_image(berth, root, ctx, fixture, tag):
    run([berth, "--root", root, "build", "-q", "-t", tag] + fixture.get("args", []) + [ctx])
    run([berth, "--root", root, "save", "-o", ctx + ".berth.tar", tag])
    config = saved_config(ctx + ".berth.tar")
    cid = run([berth, "--root", root, "create", tag, "true"]).decode().strip()
    try:
        files = run([berth, "--root", root, "export", cid])
    finally:
        run([berth, "--root", root, "rm", "-f", cid], check=False)
    return config, files


def podman_image(podman, ctx, fixture, tag):
    podman("build", "--format", "docker", "--isolation", "chroot", "-q", "-t", tag, *fixture.get("args", []), ctx)
    podman("save", "--format", "docker-archive", "-o", ctx + ".podman.tar", tag)
    config = saved_config(ctx + ".podman.tar")
    cid = podman("create", tag, "true").decode().strip()
    try:
        files = podman("export", cid)
    finally:
        podman("rm", "-f", cid)
    return config, files


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    berth, busybox = sys.argv[1], sys.argv[2]
    names = sys.argv[3:] or list(FIXTURES)
    work = tempfile.mkdtemp(prefix="compare-build-")
    podman = Podman(work + "/podman")
    root = work + "/berth"
    failures = 0
    try:
        run([berth, "--root", root, "import", "-c", 'CMD ["sh"]', busybox, "busybox"])
        podman("import", "--change", 'CMD ["sh"]', busybox, "docker.io/library/busybox:latest")
        for name in names:
            fixture = FIXTURES[name]
            ctx = work + "/ctx-" + name
            make_context(ctx, fixture)
            bconf, bfiles = berth_image(berth, root, ctx, fixture, name)
            pconf, pfiles = podman_image(podman, ctx, fixture, name)
            diffs = []
            bc, pc = config_of(bconf), config_of(pconf)
            for k in CONFIG_KEYS:
                if bc[k] != pc[k]:
                    diffs.append("config %s: berth %s, podman %s" % (k, json.dumps(bc[k]), json.dumps(pc[k])))
            bt, pt = tree(bfiles), tree(pfiles)
            for path in sorted(set(bt) | set(pt)):
                if bt.get(path) != pt.get(path):
                    diffs.append("/%s: berth %s, podman %s" % (path, bt.get(path), pt.get(path)))
            if diffs:
                failures += 1
                print("%s: %d differences" % (name, len(diffs)))
                for d in diffs:
                    print("  " + d)
            else:
                print("%s: same files (%d) and config" % (name, len(bt)))
    finally:
        try:
            podman("rm", "-af")
            podman("rmi", "-af")
        except RuntimeError:
            pass
        run(["sh", "-c", "grep -o ' %s[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l" % work], check=False)
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
