// A minimal rtnetlink client (RTM_NEWLINK, RTM_DELLINK, RTM_NEWADDR,
// RTM_NEWROUTE), so creating a container's network costs a few system calls
// instead of a few `ip` processes. Stack buffers only: the cloned child of
// berth_spawn configures its own namespace with berth_nl_container.
#define _GNU_SOURCE
#include "CBerthNetlink.h"
#include <errno.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

struct request {
    struct nlmsghdr h;
    char body[1024];
};

static struct rtattr *attr(struct nlmsghdr *h, int type, const void *data, int len) {
    struct rtattr *a = (struct rtattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));
    a->rta_type = (unsigned short)type;
    a->rta_len = (unsigned short)RTA_LENGTH(len);
    if (len) memcpy(RTA_DATA(a), data, (size_t)len);
    h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(a->rta_len);
    return a;
}

static struct rtattr *nest(struct nlmsghdr *h, int type) { return attr(h, type, NULL, 0); }

static void end(struct nlmsghdr *h, struct rtattr *a) {
    a->rta_len = (unsigned short)((char *)h + h->nlmsg_len - (char *)a);
}

static void start(struct request *r, int type, int flags, int payload) {
    memset(r, 0, sizeof *r);
    r->h.nlmsg_len = NLMSG_LENGTH(payload);
    r->h.nlmsg_type = (unsigned short)type;
    r->h.nlmsg_flags = (unsigned short)(NLM_F_REQUEST | NLM_F_ACK | flags);
}

/// Sends the request and reads the ack.
static int transact(int fd, struct request *r) {
    static unsigned seq;
    r->h.nlmsg_seq = ++seq;
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    ssize_t n;
    do n = sendto(fd, r, r->h.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel);
    while (n < 0 && errno == EINTR);
    if (n < 0) return -1;
    char buf[4096];
    for (;;) {
        do n = recv(fd, buf, sizeof buf, 0);
        while (n < 0 && errno == EINTR);
        if (n < 0) return -1;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_seq != r->h.nlmsg_seq) continue;
            if (h->nlmsg_type == NLMSG_ERROR) {
                struct nlmsgerr *e = (struct nlmsgerr *)NLMSG_DATA(h);
                if (e->error == 0) return 0;
                errno = -e->error;
                return -1;
            }
        }
    }
}

int berth_nl_open(void) {
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0) return -1;
    struct sockaddr_nl local = { .nl_family = AF_NETLINK };
    if (bind(fd, (struct sockaddr *)&local, sizeof local) != 0) { int e = errno; close(fd); errno = e; return -1; }
    return fd;
}

int berth_nl_index(const char *name) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    int rc = ioctl(fd, SIOCGIFINDEX, &ifr);
    close(fd);
    return rc == 0 ? ifr.ifr_ifindex : 0;
}

int berth_nl_create_bridge(int fd, const char *name) {
    struct request r;
    start(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct ifinfomsg));
    attr(&r.h, IFLA_IFNAME, name, (int)strlen(name) + 1);
    struct rtattr *info = nest(&r.h, IFLA_LINKINFO);
    attr(&r.h, IFLA_INFO_KIND, "bridge", 6);
    end(&r.h, info);
    return transact(fd, &r);
}

int berth_nl_create_veth(int fd, const char *host, int master_index, const char *peer,
                         pid_t peer_pid, const uint8_t *peer_mac) {
    struct request r;
    start(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct ifinfomsg));
    struct ifinfomsg *ifi = NLMSG_DATA(&r.h);
    ifi->ifi_flags = IFF_UP;
    ifi->ifi_change = IFF_UP;
    attr(&r.h, IFLA_IFNAME, host, (int)strlen(host) + 1);
    uint32_t master = (uint32_t)master_index;
    attr(&r.h, IFLA_MASTER, &master, sizeof master);
    struct rtattr *info = nest(&r.h, IFLA_LINKINFO);
    attr(&r.h, IFLA_INFO_KIND, "veth", 4);
    struct rtattr *data = nest(&r.h, IFLA_INFO_DATA);
    struct rtattr *p = nest(&r.h, VETH_INFO_PEER);
    /* The peer is described by an ifinfomsg followed by its attributes. */
    r.h.nlmsg_len += NLMSG_ALIGN(sizeof(struct ifinfomsg));
    attr(&r.h, IFLA_IFNAME, peer, (int)strlen(peer) + 1);
    uint32_t pid = (uint32_t)peer_pid;
    attr(&r.h, IFLA_NET_NS_PID, &pid, sizeof pid);
    if (peer_mac) attr(&r.h, IFLA_ADDRESS, peer_mac, 6);
    end(&r.h, p);
    end(&r.h, data);
    end(&r.h, info);
    return transact(fd, &r);
}

int berth_nl_delete_link(int fd, const char *name) {
    struct request r;
    start(&r, RTM_DELLINK, 0, sizeof(struct ifinfomsg));
    attr(&r.h, IFLA_IFNAME, name, (int)strlen(name) + 1);
    return transact(fd, &r);
}

int berth_nl_link_up(int fd, int index) {
    struct request r;
    start(&r, RTM_NEWLINK, 0, sizeof(struct ifinfomsg));
    struct ifinfomsg *ifi = NLMSG_DATA(&r.h);
    ifi->ifi_index = index;
    ifi->ifi_flags = IFF_UP;
    ifi->ifi_change = IFF_UP;
    return transact(fd, &r);
}

int berth_nl_add_address(int fd, int index, uint32_t address, int prefix) {
    struct request r;
    start(&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct ifaddrmsg));
    struct ifaddrmsg *ifa = NLMSG_DATA(&r.h);
    ifa->ifa_family = AF_INET;
    ifa->ifa_prefixlen = (unsigned char)prefix;
    ifa->ifa_index = (unsigned)index;
    attr(&r.h, IFA_LOCAL, &address, 4);
    attr(&r.h, IFA_ADDRESS, &address, 4);
    uint32_t mask = prefix == 0 ? 0 : htonl(~0u << (32 - prefix));
    uint32_t broadcast = address | ~mask;
    attr(&r.h, IFA_BROADCAST, &broadcast, 4);
    return transact(fd, &r);
}

int berth_nl_add_default_route(int fd, int index, uint32_t gateway) {
    struct request r;
    start(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct rtmsg));
    struct rtmsg *rt = NLMSG_DATA(&r.h);
    rt->rtm_family = AF_INET;
    rt->rtm_table = RT_TABLE_MAIN;
    rt->rtm_protocol = RTPROT_BOOT;
    rt->rtm_scope = RT_SCOPE_UNIVERSE;
    rt->rtm_type = RTN_UNICAST;
    attr(&r.h, RTA_GATEWAY, &gateway, 4);
    uint32_t oif = (uint32_t)index;
    attr(&r.h, RTA_OIF, &oif, 4);
    return transact(fd, &r);
}

int berth_nl_container(const char *ifname, uint32_t address, int prefix, uint32_t gateway, const char **step) {
    *step = "open netlink";
    int fd = berth_nl_open();
    if (fd < 0) return -1;
    int rc = -1;
    *step = "bring lo up";
    if (berth_nl_link_up(fd, 1) != 0) goto out;   /* lo is always index 1 in a new namespace */
    if (ifname) {
        *step = "find the container's interface";
        int index = berth_nl_index(ifname);
        if (index == 0) { errno = ENODEV; goto out; }
        *step = "set the container's address";
        if (berth_nl_add_address(fd, index, address, prefix) != 0) goto out;
        *step = "bring the container's interface up";
        if (berth_nl_link_up(fd, index) != 0) goto out;
        /* A network joined later (eth1…) leaves the default route to eth0. */
        *step = "add the default route";
        if (gateway != 0 && berth_nl_add_default_route(fd, index, gateway) != 0) goto out;
    }
    rc = 0;
out:
    { int e = errno; close(fd); errno = e; }
    return rc;
}

#include <netinet/in.h>

int berth_port_bind(const char *ip, uint16_t port, int udp) {
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) { errno = EINVAL; return -1; }
    int fd = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || (!udp && listen(fd, 1) != 0)) {
        int e = errno; close(fd); errno = e; return -1;
    }
    return fd;
}

int berth_port_of(int fd) {
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    if (getsockname(fd, (struct sockaddr *)&a, &len) != 0) return 0;
    return ntohs(a.sin_port);
}

int berth_nl_container_of(pid_t pid, const char *ifname, uint32_t address, int prefix, uint32_t gateway,
                          const char **step) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/net", (int)pid);
    *step = "open the container's network namespace";
    int ns = open(path, O_RDONLY | O_CLOEXEC);
    if (ns < 0) return -1;
    /* Raw clone (fork without atfork handlers): the helper only makes system calls. */
    long child = syscall(SYS_clone, (unsigned long)SIGCHLD, NULL, NULL, NULL, NULL);
    if (child < 0) { close(ns); return -1; }
    if (child == 0) {
        const char *ignored;
        if (setns(ns, CLONE_NEWNET) != 0) _exit(errno ? errno : 1);
        if (berth_nl_container(ifname, address, prefix, gateway, &ignored) != 0) _exit(errno ? errno : 1);
        _exit(0);
    }
    close(ns);
    int status = 0;
    while (waitpid((pid_t)child, &status, 0) < 0) { if (errno != EINTR) return -1; }
    *step = "configure the network inside the container";
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
    errno = WIFEXITED(status) ? WEXITSTATUS(status) : EINTR;
    return -1;
}

int berth_nft_table_exists(const char *name) {
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
    if (fd < 0) return -1;
    struct sockaddr_nl local = { .nl_family = AF_NETLINK };
    if (bind(fd, (struct sockaddr *)&local, sizeof local) != 0) { int e = errno; close(fd); errno = e; return -1; }
    struct request r;
    start(&r, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETTABLE, 0, sizeof(struct nfgenmsg));
    struct nfgenmsg *g = (struct nfgenmsg *)NLMSG_DATA(&r.h);
    g->nfgen_family = NFPROTO_IPV4;
    g->version = NFNETLINK_V0;
    attr(&r.h, NFTA_TABLE_NAME, name, (int)strlen(name) + 1);
    int rc = transact(fd, &r);   /* the table, then the ack; or ENOENT */
    int e = errno;
    close(fd);
    if (rc == 0) return 1;
    if (e == ENOENT) return 0;
    errno = e;
    return -1;
}
