import Testing
import BerthCore
#if canImport(Glibc)
import Glibc
#endif

/// The whole disk under the directory tests make their stores in, as
/// `/dev/NAME` and `MAJOR:MINOR`; nil when that is no block device (tmpfs).
let storeDisk: (path: String, numbers: String)? = {
    var st = stat()
    let base = makeTempDirectory("disk")
    defer { removeTree(base) }
    guard stat(base, &st) == 0 else { return nil }
    let dev = UInt64(st.st_dev)
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & ~UInt64(0xfff))
    let minor = (dev & 0xff) | ((dev >> 12) & ~UInt64(0xff))
    var sys = "/sys/dev/block/\(major):\(minor)"
    guard FileSystem.exists(sys) else { return nil }
    if FileSystem.exists(sys + "/partition") { sys += "/.." }
    let numbers = readFile(sys + "/dev").trimmingSpacesAndNewlines
    guard let name = readFile(sys + "/uevent").split(separator: "\n").first(where: { $0.hasPrefix("DEVNAME=") })
    else { return nil }
    let path = "/dev/" + name.dropFirst(8)
    var dst = stat()
    guard stat(path, &dst) == 0, (dst.st_mode & S_IFMT) == S_IFBLK, !numbers.isEmpty else { return nil }
    return (path, numbers)
}()

/// `--device-{read,write}-{bps,iops}`: the throttles in the cgroup, and a
/// write that is held to its rate.
@Suite(
    "block I/O throttles", .serialized,
    .enabled(if: isRoot && storeDisk != nil, "needs root and a store on a block device"))
struct BlockIOTests {
    @Test("--device-write-bps holds direct writes to the rate; every throttle reaches the cgroup and inspect; bad ones refused")
    func throttles() {
        let (disk, numbers) = storeDisk!
        let root = makeTempDirectory("bio")
        defer {
            for id in berth(root, "ps", "-aq").stdout.split(separator: "\n") { berth(root, "rm", "-f", String(id)) }
            removeTree(root)
        }
        importBusybox(root)
        let run = berth(
            root, "run", "-d", "--device-write-bps", disk + ":1mb", "--device-read-bps", disk + ":2mb",
            "--device-read-iops", disk + ":300", "--device-write-iops", disk + ":200", "busybox", "sleep", "300")
        #expect(run.status == 0, "\(run)")
        let id = run.stdout.trimmingSpacesAndNewlines
        #expect(
            berth(root, "inspect", "-f", "{{json .HostConfig.BlkioDeviceWriteBps}} {{json .HostConfig.BlkioDeviceReadIOps}}", id)
                .stdout == "[{\"Path\":\"\(disk)\",\"Rate\":1048576}] [{\"Path\":\"\(disk)\",\"Rate\":300}]\n")
        let cgroup = berth(root, "inspect", "-f", "{{.CgroupPath}}", id).stdout.trimmingSpacesAndNewlines
        if let range = cgroup.firstRange(of: "/freezer/") {
            let dir = String(cgroup[..<range.lowerBound]) + "/blkio/" + String(cgroup[range.upperBound...])
            #expect(readFile(dir + "/blkio.throttle.write_bps_device") == "\(numbers) 1048576\n")
            #expect(readFile(dir + "/blkio.throttle.read_bps_device") == "\(numbers) 2097152\n")
            #expect(readFile(dir + "/blkio.throttle.read_iops_device") == "\(numbers) 300\n")
            #expect(readFile(dir + "/blkio.throttle.write_iops_device") == "\(numbers) 200\n")
        } else {
            let max = readFile(cgroup + "/io.max")
            #expect(max.contains("\(numbers) rbps=2097152 wbps=1048576 riops=300 wiops=200"), "\(max)")
        }
        // 2 MiB written past the page cache at 1 MiB/s cannot take less than a
        // second (without the throttle it takes milliseconds).
        let start = now()
        let dd = berth(root, "exec", id, "dd", "if=/dev/zero", "of=/tmp/f", "bs=64k", "count=32", "oflag=direct")
        let elapsed = now() - start
        #expect(dd.status == 0, "\(dd)")
        #expect(elapsed >= 1.0, "2 MiB at 1 MiB/s took \(elapsed) s")
        for (value, words) in [
            ("/dev/null:1mb", ["/dev/null", "not a block device"]), (disk, ["bad format"]),
            (disk + ":lots", ["invalid rate for device"]), ("/dev/nosuch:1", ["/dev/nosuch"]),
            ("/dev/" + String(repeating: "x", count: 10_000) + ":1", ["(10005 characters)"]),
        ] {
            let refused = berth(root, "run", "--rm", "--device-write-bps", value, "busybox", "true")
            expectOneErrorLine(refused, naming: words, status: 125)
            #expect(refused.stderr.utf8.count < 400, "\(refused.stderr.utf8.count) bytes")
        }
        #expect(berth(root, "ps", "-aq").stdout.split(separator: "\n").count == 1)
    }
}
