/// What Docker gives every container by default (moby's oci/defaults.go and
/// oci/caps/defaults.go), shared by every backend that isolates so their
/// containers are comparable.
public enum DockerDefaults {
    /// The default capability set, by name and number.
    public static let capabilities: [(String, Int)] = [
        ("CAP_CHOWN", 0), ("CAP_DAC_OVERRIDE", 1), ("CAP_FOWNER", 3), ("CAP_FSETID", 4), ("CAP_KILL", 5),
        ("CAP_SETGID", 6), ("CAP_SETUID", 7), ("CAP_SETPCAP", 8), ("CAP_NET_BIND_SERVICE", 10),
        ("CAP_NET_RAW", 13), ("CAP_SYS_CHROOT", 18), ("CAP_MKNOD", 27), ("CAP_AUDIT_WRITE", 29),
        ("CAP_SETFCAP", 31),
    ]

    /// The capability set as a bit mask (bit N = capability N).
    public static var capabilityMask: UInt64 { capabilities.reduce(0) { $0 | (1 << UInt64($1.1)) } }

    /// Paths hidden from the container.
    public static let maskedPaths = [
        "/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
        "/sys/devices/virtual/powercap",
    ]

    /// Paths made read-only.
    public static let readonlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
}
