#if canImport(Glibc)
import Glibc
#endif
import CBerthLinux

/// `--device-read-bps`, `--device-write-bps`, `--device-read-iops`,
/// `--device-write-iops`: a block device's throttle, by the device's path
/// (Docker's `HostConfig.BlkioDevice{Read,Write}{Bps,IOps}` entries).
public struct ThrottleDevice: Sendable, Equatable {
    public var path: String
    /// Bytes or operations per second; 0 lifts the limit.
    public var rate: UInt64

    public init(path: String, rate: UInt64) {
        self.path = path
        self.rate = rate
    }

    /// `DEVICE:RATE` with the CLI's checks and messages
    /// (`opts.ValidateThrottleBpsDevice`, `ValidateThrottleIOpsDevice`):
    /// a rate in bytes takes Docker's units (`1mb`, `512k`), one in
    /// operations a plain number.
    public static func parse(_ text: String, flag: String, bytes: Bool) throws(BerthError) -> ThrottleDevice {
        let prefix = "invalid argument \(quoted(text)) for \"--\(flag)\" flag: "
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 else { throw .usage(prefix + "bad format: \(shown(text))") }
        guard parts[0].hasPrefix("/dev/"), !parts[0].contains(where: \.isNewline) else {
            throw .usage(prefix + "bad format for device path: \(shown(text))")
        }
        let format =
            bytes
            ? "<device-path>:<number>[<unit>]. Number must be a positive integer. Unit is optional and can be kb, mb, or gb"
            : "<device-path>:<number>. Number must be a positive integer"
        let invalid = BerthError.usage(prefix + "invalid rate for device: \(shown(text)). The correct format is \(format)")
        let rate: UInt64
        if bytes {
            guard let n = try? Resources.bytes(parts[1], flag: flag), n >= 0 else { throw invalid }
            rate = UInt64(n)
        } else {
            guard let n = UInt64(parts[1]), n <= UInt64(Int64.max) else { throw invalid }
            rate = n
        }
        return ThrottleDevice(path: parts[0], rate: rate)
    }

    /// The device's numbers now; refused unless the path is a block device.
    public func numbers(flag: String) throws(BerthError) -> (major: UInt32, minor: UInt32) {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw .syscall("stat", shown(path), .current, fix: "--\(flag) needs the path of a block device on this host")
        }
        guard (st.st_mode & S_IFMT) == S_IFBLK else {
            throw .invalid("invalid --\(flag) \(quoted(path)): it is not a block device; give a disk such as /dev/sda")
        }
        return (UInt32(berth_major(UInt64(st.st_rdev))), UInt32(berth_minor(UInt64(st.st_rdev))))
    }

    var json: JSON { .object([("Path", .string(path)), ("Rate", .int(Int64(clamping: rate)))]) }

    init?(json: JSON) {
        guard let path = json["Path"]?.stringValue, let rate = json["Rate"]?.int64Value, rate >= 0 else { return nil }
        self.init(path: path, rate: UInt64(rate))
    }
}

/// The four throttles of a container.
public struct BlockIOThrottle: Sendable, Equatable {
    public var readBps: [ThrottleDevice] = []
    public var writeBps: [ThrottleDevice] = []
    public var readIOps: [ThrottleDevice] = []
    public var writeIOps: [ThrottleDevice] = []

    public init() {}

    public var isEmpty: Bool { self == BlockIOThrottle() }

    /// Each list with its flag, its v1 file and its v2 `io.max` key.
    var lists: [(devices: [ThrottleDevice], flag: String, v1: String, v2: String)] {
        [
            (readBps, "device-read-bps", "blkio.throttle.read_bps_device", "rbps"),
            (writeBps, "device-write-bps", "blkio.throttle.write_bps_device", "wbps"),
            (readIOps, "device-read-iops", "blkio.throttle.read_iops_device", "riops"),
            (writeIOps, "device-write-iops", "blkio.throttle.write_iops_device", "wiops"),
        ]
    }

    /// Docker's HostConfig members (null when a list is empty).
    var json: [(String, JSON)] {
        func list(_ d: [ThrottleDevice]) -> JSON { d.isEmpty ? .null : .array(d.map(\.json)) }
        return [
            ("BlkioDeviceReadBps", list(readBps)), ("BlkioDeviceWriteBps", list(writeBps)),
            ("BlkioDeviceReadIOps", list(readIOps)), ("BlkioDeviceWriteIOps", list(writeIOps)),
        ]
    }

    init(json: JSON) {
        func list(_ key: String) -> [ThrottleDevice] { (json[key]?.arrayValue ?? []).compactMap(ThrottleDevice.init(json:)) }
        readBps = list("BlkioDeviceReadBps")
        writeBps = list("BlkioDeviceWriteBps")
        readIOps = list("BlkioDeviceReadIOps")
        writeIOps = list("BlkioDeviceWriteIOps")
    }

    /// Every path is a block device now (so a container that is created can start).
    func validate() throws(BerthError) {
        for (devices, flag, _, _) in lists {
            for d in devices { _ = try d.numbers(flag: flag) }
        }
    }

    /// v1: one line per device in each throttle file.
    func applyV1(_ write: (String, String) throws(BerthError) -> Void) throws(BerthError) {
        for (devices, flag, file, _) in lists {
            for d in devices {
                let n = try d.numbers(flag: flag)
                try write(file, "\(n.major):\(n.minor) \(d.rate)")
            }
        }
    }

    /// v2: one `io.max` line per device with each of its limits
    /// (`8:0 rbps=1048576 wiops=100`); a rate of 0 is `max`.
    func applyV2(_ write: (String, String) throws(BerthError) -> Void) throws(BerthError) {
        var lines: [(String, [String])] = []
        for (devices, flag, _, key) in lists {
            for d in devices {
                let n = try d.numbers(flag: flag)
                let device = "\(n.major):\(n.minor)"
                let setting = "\(key)=\(d.rate == 0 ? "max" : String(d.rate))"
                if let i = lines.firstIndex(where: { $0.0 == device }) {
                    lines[i].1.append(setting)
                } else {
                    lines.append((device, [setting]))
                }
            }
        }
        for (device, settings) in lines { try write("io.max", device + " " + settings.joined(separator: " ")) }
    }

    /// The OCI runtime spec's `blockIO` throttles.
    public func ociJSON() throws(BerthError) -> [(String, JSON)] {
        var members: [(String, JSON)] = []
        let keys = [
            "throttleReadBpsDevice", "throttleWriteBpsDevice", "throttleReadIOPSDevice", "throttleWriteIOPSDevice",
        ]
        for ((devices, flag, _, _), key) in zip(lists, keys) where !devices.isEmpty {
            var entries: [JSON] = []
            for d in devices {
                let n = try d.numbers(flag: flag)
                entries.append(
                    .object([
                        ("major", .int(Int64(n.major))), ("minor", .int(Int64(n.minor))),
                        ("rate", .int(Int64(clamping: d.rate))),
                    ]))
            }
            members.append((key, .array(entries)))
        }
        return members
    }
}
