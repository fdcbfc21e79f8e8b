#ifndef CBERTH_NETLINK_H
#define CBERTH_NETLINK_H
#include <stdint.h>
#include <sys/types.h>

/// A minimal rtnetlink client: the NLMSG_*, RTA_* and IFLA_* helpers are
/// macros Swift cannot use, so every request is built here. Addresses are
/// IPv4 in network byte order. Each call sends one request on `fd` (from
/// berth_nl_open) and waits for the kernel's ack: 0, or -1 with errno.
/// No malloc anywhere: the child of a clone calls berth_nl_container too.

/// A NETLINK_ROUTE socket in the caller's network namespace; -1 with errno.
int berth_nl_open(void);

/// Creates a bridge named `name` (EEXIST if it is there).
int berth_nl_create_bridge(int fd, const char *name);

/// Creates a veth pair: `host` in this namespace, enslaved to the bridge
/// `master_index` and up; its peer `peer` created directly in the network
/// namespace of `peer_pid` (IFLA_NET_NS_PID) with the 6-byte `peer_mac`.
int berth_nl_create_veth(int fd, const char *host, int master_index, const char *peer,
                         pid_t peer_pid, const uint8_t *peer_mac);

/// Deletes a link by name (ENODEV if it is not there). A veth goes with its peer.
int berth_nl_delete_link(int fd, const char *name);

/// Sets a link up.
int berth_nl_link_up(int fd, int index);

/// Adds an IPv4 address with its prefix length to a link (EEXIST if present).
int berth_nl_add_address(int fd, int index, uint32_t address, int prefix);

/// Adds a default route via `gateway` on link `index`.
int berth_nl_add_default_route(int fd, int index, uint32_t gateway);

/// The index of a link in the caller's namespace; 0 if there is none.
int berth_nl_index(const char *name);

/// Inside a new network namespace (the container's first process, before
/// anything else): brings `lo` up and, when `ifname` is not NULL, gives it
/// `address/prefix`, brings it up and routes by default via `gateway`
/// (not when `gateway` is 0: a network joined later leaves eth0's route).
/// Returns 0, or -1 with errno; `*step` names what failed.
int berth_nl_container(const char *ifname, uint32_t address, int prefix, uint32_t gateway, const char **step);

/// Whether the nftables table `name` (family ip) exists: 1 or 0, or -1 with
/// errno. One NFT_MSG_GETTABLE on a netfilter netlink socket, so checking
/// costs microseconds where `nft list table` costs a process.
int berth_nft_table_exists(const char *name);

/// berth_nl_container for a process started by someone else (an OCI
/// runtime's container, between `create` and `start`): a forked helper joins
/// the network namespace of `pid` and configures it there. 0, or -1 with
/// errno; `*step` names what failed.
int berth_nl_container_of(pid_t pid, const char *ifname, uint32_t address, int prefix, uint32_t gateway,
                          const char **step);

/// A socket bound to ip:port (TCP: also listening), close-on-exec, with
/// SO_REUSEADDR so TIME_WAIT does not count as in use; -1 with errno.
int berth_port_bind(const char *ip, uint16_t port, int udp);
/// The local port of a bound socket; 0 on error.
int berth_port_of(int fd);

#endif
