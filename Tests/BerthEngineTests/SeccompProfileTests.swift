import Testing
import BerthCore
@testable import BerthEngine

private let amd64 = SeccompProfile.Host(goArch: "amd64", seccompArch: "SCMP_ARCH_X86_64", kernel: [6, 1])
private let eperm: UInt32 = 0x0005_0001
private let allow: UInt32 = 0x7fff_0000

private func bit(_ name: String) -> UInt64 { 1 << UInt64(SeccompProfile.capabilityNumber(name)!) }

/// Docker's default profile, resolved as moby resolves it, and user profiles' errors.
@Suite("Seccomp profiles")
struct SeccompProfileTests {
    @Test("Docker's default with Docker's default capabilities: the dangerous calls get EPERM, the common ones are allowed")
    func defaultProfile() {
        let f = SeccompProfile.docker.filter(capabilities: DockerDefaults.capabilityMask, host: amd64)
        #expect(f.defaultAction == eperm && f.defaultActionName == "SCMP_ACT_ERRNO" && f.defaultErrno == 1)
        #expect(f.architectures == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"])
        for name in [
            "keyctl", "add_key", "request_key", "unshare", "setns", "mount", "perf_event_open", "userfaultfd",
            "io_uring_setup", "bpf", "reboot", "init_module", "kexec_load", "open_by_handle_at",
        ] {
            #expect(f.action(for: name) == eperm, "\(name) is refused")
        }
        for name in [
            "read", "execve", "chroot", "capset", "setresuid", "arch_prctl", "name_to_handle_at", "close_range", "ptrace",
        ] {
            #expect(f.action(for: name) == allow, "\(name) is allowed")
        }
        #expect(f.action(for: "clone3") == 0x0005_0026, "clone3 gets ENOSYS, so libc falls back to clone")
        let clone = f.rules.filter { $0.name == "clone" }
        #expect(
            clone.count == 1
                && clone[0].args == [
                    SeccompProfile.Argument(index: 0, value: 2_114_060_288, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ")
                ],
            "clone only without namespace flags: \(clone)")
        #expect(f.rules.filter { $0.name == "personality" }.map { $0.args[0].value } == [0, 8, 131_072, 131_080, 4_294_967_295])
        #expect(
            f.rules.filter { $0.name == "arm_fadvise64_64" || $0.name == "s390_runtime_instr" }.isEmpty,
            "other arches' rules are left out")
    }

    @Test("the capability groups follow the container's capabilities (includes all, excludes any)")
    func capabilityGroups() {
        let admin = SeccompProfile.docker.filter(capabilities: DockerDefaults.capabilityMask | bit("CAP_SYS_ADMIN"), host: amd64)
        for name in ["unshare", "setns", "mount", "clone3", "perf_event_open"] {
            #expect(admin.action(for: name) == allow, "\(name) with CAP_SYS_ADMIN")
        }
        #expect(admin.rules.filter { $0.name == "clone" }.allSatisfy { $0.args.isEmpty }, "clone unrestricted with CAP_SYS_ADMIN")
        let ptrace = SeccompProfile.docker.filter(
            capabilities: DockerDefaults.capabilityMask | bit("CAP_SYS_PTRACE"), host: amd64)
        #expect(ptrace.action(for: "ptrace") == allow && ptrace.action(for: "kcmp") == allow)
        let none = SeccompProfile.docker.filter(capabilities: 0, host: amd64)
        #expect(none.action(for: "chroot") == eperm, "chroot needs CAP_SYS_CHROOT")
        let old = SeccompProfile.docker.filter(
            capabilities: DockerDefaults.capabilityMask,
            host: .init(goArch: "amd64", seccompArch: "SCMP_ARCH_X86_64", kernel: [4, 4]))
        #expect(old.action(for: "ptrace") == eperm, "ptrace needs kernel 4.8 without CAP_SYS_PTRACE")
        let arm = SeccompProfile.docker.filter(
            capabilities: DockerDefaults.capabilityMask,
            host: .init(goArch: "arm64", seccompArch: "SCMP_ARCH_AARCH64", kernel: [6, 1]))
        #expect(
            arm.architectures == ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"] && arm.action(for: "arch_prctl") == eperm
                && arm.action(for: "cacheflush") == allow)
    }

    @Test("user profiles: errnoRet, the single name field, architectures, two comparisons of one argument")
    func userProfile() throws {
        let p = try SeccompProfile.parse(
            """
            {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
             "syscalls": [{"name": "mkdir", "action": "SCMP_ACT_ERRNO", "errnoRet": 28},
                          {"names": ["kill"], "action": "SCMP_ACT_KILL_PROCESS"},
                          {"names": ["socket"], "action": "SCMP_ACT_ERRNO",
                           "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_GE"}, {"index": 0, "value": 9, "op": "SCMP_CMP_LE"}]}]}
            """, source: "p.json")
        let f = p.filter(capabilities: 0, host: amd64)
        #expect(f.defaultAction == allow && f.defaultErrno == nil && f.architectures == ["SCMP_ARCH_X86_64"])
        #expect(f.action(for: "mkdir") == 0x0005_001c)
        #expect(f.action(for: "kill") == 0x8000_0000)
        #expect(f.rules.filter { $0.name == "socket" }.map(\.args.count) == [1, 1], "split as runc does: \(f.rules)")
    }

    @Test(
        "malformed profiles are refused with the field named",
        arguments: [
            ("{", "invalid JSON"),
            ("[]", "not a JSON object"),
            (#"{"syscalls": []}"#, "defaultAction is missing"),
            (#"{"defaultAction": "SCMP_ACT_NOTIFY"}"#, "seccomp agent"),
            (
                #"{"defaultAction": "SCMP_ACT_ALLOW", "archMap": [], "architectures": ["SCMP_ARCH_X86"], "syscalls": [{"names": ["a"], "action": "SCMP_ACT_ALLOW", "name": "b"}]}"#,
                "both \"name\" and \"names\""
            ),
            (
                #"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": [], "action": "SCMP_ACT_ALLOW"}]}"#,
                "syscalls[0] names no syscall"
            ),
            (
                #"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "errnoRet": 1}]}"#,
                "errnoRet"
            ),
            (
                #"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": -1, "op": "SCMP_CMP_EQ"}]}]}"#,
                "syscalls[0].args[0].value"
            ),
            (
                #"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 18446744073709551616, "op": "SCMP_CMP_EQ"}]}]}"#,
                "2^64-1"
            ),
            (
                #"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "EQ"}]}]}"#,
                "syscalls[0].args[0].op"
            ),
            (
                #"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "four"}}]}"#,
                "minKernel"
            ),
            (#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 99999}"#, "defaultErrnoRet"),
        ])
    func malformed(_ text: String, _ naming: String) {
        #expect {
            try SeccompProfile.parse(text, source: "bad.json")
        } throws: { error in
            guard let e = error as? BerthError else { return false }
            return e.message.contains("bad.json") && e.message.contains(naming) && e.kind == .invalidArgument
        }
    }

    @Test("the default profile compiles with libseccomp to a BPF program; the native and x86 arches are checked in it")
    func compiles() throws {
        let program = try SeccompProgram.compile(SeccompProfile.docker.filter(capabilities: DockerDefaults.capabilityMask))
        #expect(program.count > 50 && program.count < 4096, "\(program.count) instructions")
        #expect(program.bytes.count == program.count * 8)
    }

    @Test("the built-in profile's written-down digest is its text's, and the cache names a program by profile and capabilities")
    func cacheKey() {
        #expect(SHA256.hex(SHA256.hash(Array(DefaultSeccompProfile.json.utf8))) == DefaultSeccompProfile.sha256)
        let key = SecurityOptions.cacheKey(
            profileDigest: DefaultSeccompProfile.sha256, capabilities: DockerDefaults.capabilityMask)
        #expect(key.count == 64)
        #expect(
            key
                == SecurityOptions.cacheKey(
                    profileDigest: DefaultSeccompProfile.sha256, capabilities: DockerDefaults.capabilityMask))
        #expect(key != SecurityOptions.cacheKey(profileDigest: DefaultSeccompProfile.sha256, capabilities: 0))
        #expect(
            key
                != SecurityOptions.cacheKey(
                    profileDigest: String(repeating: "0", count: 64), capabilities: DockerDefaults.capabilityMask))
    }
}
