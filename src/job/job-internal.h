/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers shared by the files of the job area only. */
#ifndef SKIFF_JOB_INTERNAL_H
#define SKIFF_JOB_INTERNAL_H

#include <sys/types.h>

#include <jansson.h>

#include <skiff/image.h>
#include <skiff/job.h>
#include <skiff/runtime.h>
#include <skiff/sys.h>
#include <skiff/util.h>

#define _cleanup_json_ __attribute__((cleanup(json_decrefp)))

/* ---- user.c: -u / the image's User, through the image's own files ------- */

struct job_user {
	uid_t uid;
	gid_t gid;
	gid_t *groups;               /* supplementary, from /etc/group */
	size_t n_groups;
	char *home;                  /* from /etc/passwd, else "/" */
};
void job_user_clear(struct job_user *u);
/* Resolves USER ("", "uid", "name", "uid:gid", "name:group") against the
 * /etc/passwd and /etc/group the layers (lowest first) show together,
 * read without leaving each layer's tree.  "job.user.unknown". */
int job_user_resolve(const char *user, char *const *layers, size_t n_layers,
		     struct job_user *out, struct skiff_error **err);

/* ---- spec.c: the container's spec, in memory ----------------------------- */

struct job_spec_input {
	const struct job_options *o;
	json_t *config;              /* the image config's "config" object, or NULL */
	const struct image_layers *layers;
	enum image_owners owners;
	struct sys_id_map uid_map[2], gid_map[2];
	size_t n_map;
	const char *dir;             /* the container's directory (absolute) */
	const char *hostname;
	bool rootless;
	char **secret_env;           /* "NAME=value" of type=env secrets */
	/* networking: rootless --network ns:PATH runs in the user namespace
	 * that owns PATH (a path the runtime can open), or NULL */
	const char *join_userns;
};
/* The spec, and the stop signal the job gets on --timeout. */
int job_build_spec(const struct job_spec_input *in, struct spec **out, int *stop_signal,
		   struct skiff_error **err);

/* ---- files.c: what the container's directory holds ------------------------ */

struct job_net;
/* etc/hosts, etc/hostname, etc/resolv.conf and secrets/NAME for the
 * container in dirfd (hosts and resolv.conf as net's mode gives them); env
 * gets the "NAME=value" of type=env secrets. */
int job_write_files(int dirfd, const struct job_options *o, const struct job_net *net,
		    const char *hostname, char ***env, struct skiff_error **err);

/* ---- copy.c: files in and out of the container's root -------------------- */

/* In a child that joins the container's namespaces (user_ns -1: none of
 * its own): each HOST:CTR copied in, or each CTR:HOSTDIR copied out
 * (*copied gets the host paths written).  "job.copy*" errors. */
int job_copy_in(int user_ns, int mnt_ns, char *const *specs, struct skiff_error **err);
int job_copy_out(int user_ns, int mnt_ns, char *const *specs, char ***copied,
		 struct skiff_error **err);

/* ---- monitor.c: from start to exit ----------------------------------------- */

/* Starts the created container ID whose init is pid, streams or captures
 * its output (out_fd/err_fd: the read ends of its stdout and stderr, or
 * -1 when it writes to skiff's own), enforces --timeout, and waits for it.
 * Fills exit_code, signal, timed_out, duration and the captures of r. */
int job_monitor(const struct runtime_ctx *ctx, const char *id, pid_t pid,
		const struct job_options *o, int stop_signal, int out_fd, int err_fd,
		struct job_result *r, struct skiff_error **err);

/* ---- net.c, net_helper.c: networking (--network, -p, --add-host, --dns) -- */

/* pasta answers DNS there in the job's namespace, forwarded to the host's
 * first name server (as Podman 5 does). */
#define JOB_NET_PASTA_DNS "169.254.1.1"
const char *job_network_name(enum job_network m);
/* pasta and slirp4netns: a helper gives the job its link. */
bool job_network_user_mode(enum job_network m);

struct job_port {
	bool udp;
	int family;                  /* AF_INET, AF_INET6, or AF_UNSPEC: every address */
	char host_ip[48];            /* "" with AF_UNSPEC */
	uint16_t host_port, ctr_port;
};
/* -p [HOST_IP:]HOST_PORT:CTR_PORT[/tcp|udp]; HOST_IP an IPv4 address or
 * an IPv6 one in brackets.  "job.network.publish_invalid". */
int job_port_parse(const char *spec, struct job_port *p, struct skiff_error **err);
/* --add-host NAME:IP.  "job.network.add_host_invalid". */
int job_add_host_parse(const char *spec, char **name, char **ip, struct skiff_error **err);

/* The network of one job, from prepare (before anything is created) to
 * stop (after the job ended).  Passed along, never global: the end of a
 * job may run in another process than its start. */
struct job_net {
	enum job_network mode;       /* private resolved to pasta or slirp4netns */
	char *helper;                /* the helper's path (pasta, slirp4netns) */
	struct job_port *ports;
	size_t n_ports;
	char gateway[48];            /* reaches the host from the container, or "" */
	pid_t keeper;                /* supervises the helper; 0: none started */
	int stop_fd;                 /* the keeper's pipe: closing it stops the helper */
	int userns_fd;               /* rootless ns:PATH: the user namespace owning it */
	char *userns_path;           /* /proc/SKIFF_PID/fd/N of userns_fd */
};
#define JOB_NET_INIT { .stop_fd = -1, .userns_fd = -1 }
/* Checks the options against the mode, resolves private, finds the helper
 * ("job.network.helper_missing" names the Debian package) and checks that
 * each -p host port can be bound now ("job.network.port_busy"). */
int job_net_prepare(const struct job_options *o, bool rootless, struct job_net *n,
		    struct skiff_error **err);
/* The container's /etc/hosts and /etc/resolv.conf: text the caller frees. */
char *job_net_hosts(const struct job_net *n, const struct job_options *o, const char *hostname);
char *job_net_resolv_conf(const struct job_net *n, const struct job_options *o);
/* After create, before start: attaches the helper to the network namespace
 * of the container's init (and its user namespace), waits until it has
 * configured the interface, route and ports.  dirfd: the container's
 * directory (the helper's log, pid file and socket).  "job.network.helper_failed". */
int job_net_start(struct job_net *n, pid_t init, int dirfd, struct skiff_error **err);
/* Stops the helper (by the pid started, reaped); frees n.  Safe to call
 * on a net never started, and twice. */
void job_net_stop(struct job_net *n);

#endif
