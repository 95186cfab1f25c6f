/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A job's network: --network none|host|pasta|slirp4netns|private|ns:PATH,
 * -p host ports, and what /etc/hosts and /etc/resolv.conf say.  The
 * helpers (pasta, slirp4netns) are started and stopped by net_helper.c. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "job/job-internal.h"

/* slirp4netns's fixed addresses (slirp4netns(1), DEFAULT CONFIGURATION). */
#define SLIRP_GATEWAY "10.0.2.2"
#define SLIRP_DNS "10.0.2.3"

/* ---- parsing --------------------------------------------------------------- */

int job_network_parse(const char *arg, struct job_options *o, struct skiff_error **err)
{
	static const struct { const char *name; enum job_network mode; } modes[] = {
		{ "none", JOB_NETWORK_NONE }, { "host", JOB_NETWORK_HOST },
		{ "pasta", JOB_NETWORK_PASTA }, { "slirp4netns", JOB_NETWORK_SLIRP4NETNS },
		{ "private", JOB_NETWORK_PRIVATE },
	};

	for (size_t i = 0; i < ARRAY_SIZE(modes); i++)
		if (strcmp(arg, modes[i].name) == 0) {
			o->network = modes[i].mode;
			o->network_ns = NULL;
			return 0;
		}
	if (strncmp(arg, "ns:", 3) == 0) {
		if (arg[3] != '/')
			return skiff_error_set(err, EINVAL, "job.network.invalid",
					       "--network %s: ns: takes the absolute path of a network "
					       "namespace, such as ns:/proc/PID/ns/net or "
					       "ns:/run/netns/NAME", arg);
		o->network = JOB_NETWORK_NS;
		o->network_ns = arg + 3;
		return 0;
	}
	return skiff_error_set(err, EINVAL, "job.network.invalid",
			       "--network %s: expected none, host, pasta, slirp4netns, private or "
			       "ns:PATH", arg);
}

static int parse_port_number(const char *s, uint16_t *out)
{
	int64_t v;

	if (parse_int64(s, 1, 65535, &v) < 0)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

int job_port_parse(const char *spec, struct job_port *p, struct skiff_error **err)
{
	_cleanup_free_ char *copy = xstrdup(spec);
	char *proto = strrchr(copy, '/'), *ports = copy, *colon;
	unsigned char addr[sizeof(struct in6_addr)];

	*p = (struct job_port){ .family = AF_UNSPEC };
	if (proto != NULL) {
		*proto++ = '\0';
		if (strcmp(proto, "udp") == 0)
			p->udp = true;
		else if (strcmp(proto, "tcp") != 0)
			goto bad;
	}
	if (copy[0] == '[') {
		char *end = strchr(copy, ']');

		if (end == NULL || end[1] != ':')
			goto bad;
		*end = '\0';
		if (inet_pton(AF_INET6, copy + 1, addr) != 1)
			goto bad_ip;
		p->family = AF_INET6;
		snprintf(p->host_ip, sizeof(p->host_ip), "%s", copy + 1);
		ports = end + 2;
	} else if ((colon = strchr(copy, ':')) != NULL && strchr(colon + 1, ':') != NULL) {
		*colon = '\0';
		if (inet_pton(AF_INET, copy, addr) != 1)
			goto bad_ip;
		p->family = AF_INET;
		snprintf(p->host_ip, sizeof(p->host_ip), "%s", copy);
		ports = colon + 1;
	}
	colon = strchr(ports, ':');
	if (colon == NULL)
		goto bad;
	*colon = '\0';
	if (parse_port_number(ports, &p->host_port) < 0 ||
	    parse_port_number(colon + 1, &p->ctr_port) < 0)
		goto bad;
	return 0;
bad_ip:
	return skiff_error_set(err, EINVAL, "job.network.publish_invalid",
			       "-p %s: the host address is not an IPv4 address nor an IPv6 one "
			       "in brackets ([::1]:8080:80)", spec);
bad:
	return skiff_error_set(err, EINVAL, "job.network.publish_invalid",
			       "-p %s: expected [HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|udp], "
			       "ports 1 to 65535 (such as 8080:80 or 127.0.0.1:5353:53/udp)", spec);
}

int job_add_host_parse(const char *spec, char **name, char **ip, struct skiff_error **err)
{
	const char *colon = strchr(spec, ':');
	unsigned char addr[sizeof(struct in6_addr)];
	_cleanup_free_ char *n = NULL, *a = NULL;

	if (colon == NULL || colon == spec)
		goto bad;
	n = xasprintf("%.*s", (int)(colon - spec), spec);
	a = xstrdup(colon + 1);
	/* Docker's --add-host also takes NAME:[IPV6]. */
	if (a[0] == '[' && a[strlen(a) - 1] == ']') {
		memmove(a, a + 1, strlen(a));
		a[strlen(a) - 1] = '\0';
	}
	for (const char *c = n; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '.' && *c != '_')
			goto bad;
	if (inet_pton(AF_INET, a, addr) != 1 && inet_pton(AF_INET6, a, addr) != 1)
		goto bad;
	*name = steal_pointer(&n);
	*ip = steal_pointer(&a);
	return 0;
bad:
	return skiff_error_set(err, EINVAL, "job.network.add_host_invalid",
			       "--add-host %s: expected NAME:IP, a host name (letters, digits, "
			       "'-', '.', '_') and an IPv4 or IPv6 address", spec);
}

/* ---- prepare ----------------------------------------------------------------- */

static char *find_in_path(const char *name)
{
	const char *path = getenv("PATH");
	_cleanup_free_ char *copy = xstrdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
	char *save = NULL;

	for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		char *full = xasprintf("%s/%s", *d ? d : ".", name);

		if (access(full, X_OK) == 0)
			return full;
		free(full);
	}
	return NULL;
}

const char *job_network_name(enum job_network m)
{
	switch (m) {
	case JOB_NETWORK_NONE: return "none";
	case JOB_NETWORK_HOST: return "host";
	case JOB_NETWORK_PASTA: return "pasta";
	case JOB_NETWORK_SLIRP4NETNS: return "slirp4netns";
	case JOB_NETWORK_PRIVATE: return "private";
	case JOB_NETWORK_NS: return "ns";
	}
	return "?";
}

bool job_network_user_mode(enum job_network m)
{
	return m == JOB_NETWORK_PASTA || m == JOB_NETWORK_SLIRP4NETNS;
}

static int find_helper(const struct job_options *o, struct job_net *n, struct skiff_error **err)
{
	if (o->network == JOB_NETWORK_PRIVATE) {
		n->helper = find_in_path("pasta");
		n->mode = JOB_NETWORK_PASTA;
		if (n->helper == NULL) {
			n->helper = find_in_path("slirp4netns");
			n->mode = JOB_NETWORK_SLIRP4NETNS;
		}
		if (n->helper == NULL)
			return skiff_error_set(err, ENOENT, "job.network.helper_missing",
					       "--network private needs pasta or slirp4netns, and "
					       "neither is in PATH: install the Debian package passt "
					       "(or slirp4netns), or use --network none");
		return 0;
	}
	n->helper = find_in_path(o->network == JOB_NETWORK_PASTA ? "pasta" : "slirp4netns");
	if (n->helper == NULL)
		return skiff_error_set(err, ENOENT, "job.network.helper_missing",
				       "--network %s: %s is not in PATH: install the Debian package "
				       "%s, or use --network private (whichever is installed)",
				       job_network_name(o->network), job_network_name(o->network),
				       o->network == JOB_NETWORK_PASTA ? "passt" : "slirp4netns");
	return 0;
}

/* The host's first IPv4 default gateway (/proc/net/route, in network order). */
static void default_gateway(char out[48])
{
	_cleanup_free_ char *text = NULL;
	char *save = NULL;

	out[0] = '\0';
	if (read_file_at(AT_FDCWD, "/proc/net/route", 1u << 20, &text, NULL, NULL) < 0)
		return;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char ifname[64];
		unsigned dest, gw, flags;
		struct in_addr a;

		if (sscanf(l, "%63s %x %x %x", ifname, &dest, &gw, &flags) == 4 && dest == 0 &&
		    (flags & 0x2 /* RTF_GATEWAY */)) {
			a.s_addr = gw;
			inet_ntop(AF_INET, &a, out, 48);
			return;
		}
	}
}

/* Binds the host port as the helper will, then lets it go: a busy port is
 * an error before anything is created, not a helper failing half-way. */
static int check_port_free(const struct job_port *p, const char *spec, struct skiff_error **err)
{
	int families[2] = { p->family == AF_UNSPEC ? AF_INET : p->family, AF_UNSPEC };
	int n_fam = 1;

	/* An address-less port is bound on IPv6 too where the host has it. */
	if (p->family == AF_UNSPEC)
		families[n_fam++] = AF_INET6;
	for (int i = 0; i < n_fam; i++) {
		_cleanup_close_ int s = socket(families[i], (p->udp ? SOCK_DGRAM : SOCK_STREAM) |
					      SOCK_CLOEXEC, 0);
		struct sockaddr_storage ss = { 0 };
		socklen_t len;
		int one = 1;

		if (s < 0) {
			if (families[i] == AF_INET6 && p->family == AF_UNSPEC)
				continue;
			return skiff_error_set(err, errno, "job.network.port_busy",
					       "-p %s: cannot make a socket to check the host port", spec);
		}
		if (families[i] == AF_INET) {
			struct sockaddr_in *a = (struct sockaddr_in *)&ss;

			a->sin_family = AF_INET;
			a->sin_port = htons(p->host_port);
			if (p->family == AF_INET)
				inet_pton(AF_INET, p->host_ip, &a->sin_addr);
			len = sizeof(*a);
		} else {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

			a->sin6_family = AF_INET6;
			a->sin6_port = htons(p->host_port);
			if (p->family == AF_INET6)
				inet_pton(AF_INET6, p->host_ip, &a->sin6_addr);
			setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
			len = sizeof(*a);
		}
		if (!p->udp)
			setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(s, (struct sockaddr *)&ss, len) == 0)
			continue;
		if (errno == EADDRINUSE)
			return skiff_error_set(err, errno, "job.network.port_busy",
					       "-p %s: host port %u/%s%s%s is in use by another "
					       "program: choose another host port", spec, p->host_port,
					       p->udp ? "udp" : "tcp", families[i] == AF_INET6 ? " (IPv6)" : "",
					       "");
		if (errno == EACCES)
			return skiff_error_set(err, errno, "job.network.port_denied",
					       "-p %s: host port %u is below "
					       "/proc/sys/net/ipv4/ip_unprivileged_port_start, which an "
					       "ordinary user cannot bind: choose a higher host port",
					       spec, p->host_port);
		if (families[i] == AF_INET6 && p->family == AF_UNSPEC &&
		    (errno == EADDRNOTAVAIL || errno == EAFNOSUPPORT))
			continue;
		return skiff_error_set(err, errno, "job.network.port_denied",
				       "-p %s: cannot bind host %s port %u%s", spec,
				       p->udp ? "UDP" : "TCP", p->host_port,
				       p->host_ip[0] ? " (is the address one of this host's?)" : "");
	}
	return 0;
}

/* --network ns:PATH.  Root joins any network namespace.  Rootless skiff
 * cannot join one from a user namespace of its own making (setns(2) needs
 * CAP_SYS_ADMIN over the namespace's owner): the job runs instead in the
 * user namespace that owns it (with that namespace's id mapping), which
 * works when the user made it (unshare -Urn, another rootless container).
 * One owned by the initial user namespace cannot be joined rootless. */
static int prepare_ns(const struct job_options *o, bool rootless, struct job_net *n,
		      struct skiff_error **err)
{
	_cleanup_close_ int fd = open(o->network_ns, O_RDONLY | O_CLOEXEC);
	struct stat own, owner;
	uid_t owner_uid;

	if (fd < 0)
		return skiff_error_set(err, errno, "job.network.ns_invalid",
				       "--network ns:%s: cannot open the namespace", o->network_ns);
	if (ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNET)
		return skiff_error_set(err, EINVAL, "job.network.ns_invalid",
				       "--network ns:%s: not a network namespace (give "
				       "/proc/PID/ns/net or a file bound to one)", o->network_ns);
	if (!rootless)
		return 0;
	n->userns_fd = ioctl(fd, NS_GET_USERNS);
	if (n->userns_fd < 0 || fstat(n->userns_fd, &owner) < 0 ||
	    stat("/proc/self/ns/user", &own) < 0)
		return skiff_error_set(err, errno, "job.network.ns_invalid",
				       "--network ns:%s: cannot find the user namespace that owns "
				       "it", o->network_ns);
	fcntl(n->userns_fd, F_SETFD, FD_CLOEXEC);
	if (own.st_ino == owner.st_ino || ioctl(n->userns_fd, NS_GET_OWNER_UID, &owner_uid) < 0 ||
	    owner_uid != geteuid())
		return skiff_error_set(err, EPERM, "job.network.ns_not_joinable",
				       "--network ns:%s: the namespace belongs to %s, which "
				       "rootless skiff cannot enter: give one made in a user "
				       "namespace of your own (unshare -Urn, a rootless "
				       "container's /proc/PID/ns/net), or run as root",
				       o->network_ns, own.st_ino == owner.st_ino
				       ? "the host's user namespace" : "another user's user namespace");
	n->userns_path = xasprintf("/proc/%d/fd/%d", getpid(), n->userns_fd);
	return 0;
}

int job_net_prepare(const struct job_options *o, bool rootless, struct job_net *n,
		    struct skiff_error **err)
{
	*n = (struct job_net)JOB_NET_INIT;
	n->mode = o->network;
	if (n->mode == JOB_NETWORK_NS && prepare_ns(o, rootless, n, err) < 0)
		return -1;
	for (char **h = o->add_hosts; h && *h; h++) {
		_cleanup_free_ char *name = NULL, *ip = NULL;

		if (job_add_host_parse(*h, &name, &ip, err) < 0)
			return -1;
	}
	for (char **d = o->dns; d && *d; d++) {
		unsigned char addr[sizeof(struct in6_addr)];

		if (inet_pton(AF_INET, *d, addr) != 1 && inet_pton(AF_INET6, *d, addr) != 1)
			return skiff_error_set(err, EINVAL, "job.network.dns_invalid",
					       "--dns %s: expected the IPv4 or IPv6 address of a name "
					       "server", *d);
	}
	if (o->publish != NULL && o->network != JOB_NETWORK_PASTA &&
	    o->network != JOB_NETWORK_SLIRP4NETNS && o->network != JOB_NETWORK_PRIVATE)
		return skiff_error_set(err, EINVAL, "job.network.publish_invalid",
				       "-p %s: publishing a port needs --network pasta, slirp4netns "
				       "or private (the job's network is %s)", o->publish[0],
				       job_network_name(o->network));
	if (o->network == JOB_NETWORK_PASTA || o->network == JOB_NETWORK_SLIRP4NETNS ||
	    o->network == JOB_NETWORK_PRIVATE) {
		if (find_helper(o, n, err) < 0)
			return -1;
	}
	n->ports = xzalloc((strv_length(o->publish) + 1) * sizeof(*n->ports));
	for (char **p = o->publish; p && *p; p++) {
		struct job_port *port = &n->ports[n->n_ports];

		if (job_port_parse(*p, port, err) < 0)
			return -1;
		if (n->mode == JOB_NETWORK_SLIRP4NETNS && port->family == AF_INET6)
			return skiff_error_set(err, EINVAL, "job.network.publish_invalid",
					       "-p %s: slirp4netns publishes IPv4 host addresses "
					       "only: give an IPv4 address, or use --network pasta", *p);
		for (size_t i = 0; i < n->n_ports; i++)
			if (n->ports[i].host_port == port->host_port && n->ports[i].udp == port->udp)
				return skiff_error_set(err, EINVAL, "job.network.publish_invalid",
						       "-p %s: host port %u/%s is published twice", *p,
						       port->host_port, port->udp ? "udp" : "tcp");
		if (check_port_free(port, *p, err) < 0)
			return -1;
		n->n_ports++;
	}
	if (n->mode == JOB_NETWORK_SLIRP4NETNS)
		snprintf(n->gateway, sizeof(n->gateway), "%s", SLIRP_GATEWAY);
	else if (n->mode == JOB_NETWORK_PASTA)
		default_gateway(n->gateway);
	return 0;
}

/* ---- /etc/hosts and /etc/resolv.conf ------------------------------------------ */

char *job_net_hosts(const struct job_net *n, const struct job_options *o, const char *hostname)
{
	char *out = xasprintf("127.0.0.1\tlocalhost\n"
			      "::1\tlocalhost ip6-localhost ip6-loopback\n"
			      "127.0.1.1\t%s\n", hostname);

	/* The name Podman gives the host as the job reaches it. */
	if (job_network_user_mode(n->mode) && n->gateway[0] != '\0')
		xstrappendf(&out, "%s\thost.containers.internal\n", n->gateway);
	for (char **h = o->add_hosts; h && *h; h++) {
		_cleanup_free_ char *name = NULL, *ip = NULL;

		if (job_add_host_parse(*h, &name, &ip, NULL) == 0)
			xstrappendf(&out, "%s\t%s\n", ip, name);
	}
	return out;
}

static bool loopback_server(const char *a)
{
	return strncmp(a, "127.", 4) == 0 || strcmp(a, "::1") == 0;
}

char *job_net_resolv_conf(const struct job_net *n, const struct job_options *o)
{
	_cleanup_free_ char *host = NULL;
	char *out = xstrdup(""), *save = NULL;

	if (o->dns != NULL)
		for (char **d = o->dns; *d; d++)
			xstrappendf(&out, "nameserver %s\n", *d);
	else if (n->mode == JOB_NETWORK_PASTA)
		xstrappendf(&out, "nameserver %s\n", JOB_NET_PASTA_DNS);
	else if (n->mode == JOB_NETWORK_SLIRP4NETNS)
		xstrappendf(&out, "nameserver %s\n", SLIRP_DNS);
	if (read_file_at(AT_FDCWD, "/etc/resolv.conf", 1u << 20, &host, NULL, NULL) < 0)
		return out;
	/* The host's other lines (search, options) always; its name servers
	 * when nothing replaces them, without the loopback ones a namespace
	 * of the job's own cannot reach. */
	for (char *l = strtok_r(host, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (strncmp(l, "nameserver", 10) == 0) {
			const char *a = l + 10;

			while (isspace((unsigned char)*a))
				a++;
			if (o->dns != NULL || job_network_user_mode(n->mode) ||
			    (n->mode != JOB_NETWORK_HOST && loopback_server(a)))
				continue;
		}
		xstrappendf(&out, "%s\n", l);
	}
	return out;
}

/* ---- the network namespace, made ahead ---------------------------------------- */

/* Made by a child (sys_netns_maker_start) while skiff prepares the
 * container, on another CPU, instead of in the container's set-up where
 * everything waits for it.  The child enters the user namespace the
 * container will be in first, so that the namespace is that one's, as it
 * would be made there; the runtime checks that before it joins it. */

void job_net_ahead_start(struct job_net *n, const struct job_options *o, int userns_fd)
{
	int sv[2];

	if (o->network == JOB_NETWORK_HOST || o->network == JOB_NETWORK_NS || n->ahead > 0)
		return;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return;
	n->ahead_maker = xmalloc(sizeof(*n->ahead_maker));
	n->ahead = sys_netns_maker_start(userns_fd, sv[1], n->ahead_maker);
	close(sv[1]);
	if (n->ahead < 0) {
		n->ahead = 0;
		close(sv[0]);
		free(n->ahead_maker);
		n->ahead_maker = NULL;
		return;
	}
	n->ahead_sock = sv[0];
}

int job_net_ahead_sock(const struct job_net *n)
{
	/* The maker brings lo up after sending: the socket reads the end
	 * of the stream once it has exited. */
	return n->ahead > 0 ? n->ahead_sock : -1;
}

void job_net_ahead_end(struct job_net *n)
{
	if (n->ahead_sock >= 0)
		close(steal_fd(&n->ahead_sock));
	/* Its stack is freed only once it is gone. */
	while (n->ahead > 0 && waitpid(n->ahead, NULL, 0) < 0 && errno == EINTR)
		;
	n->ahead = 0;
	free(n->ahead_maker);
	n->ahead_maker = NULL;
}
