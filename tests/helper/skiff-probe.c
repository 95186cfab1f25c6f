/* skiff-probe: placed inside test containers to report facts from the
 * inside, one subcommand per fact, in plain lines for shell tests.
 * Built static (make check), so it runs in any rootfs.  See usage(). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

static const char *prog = "skiff-probe";

static int usage(void)
{
    fprintf(stderr,
            "usage: %s COMMAND [ARG]\n"
            "  ids                 uid=U gid=G euid=U egid=G groups=a,b\n"
            "  rlimit NAME         SOFT HARD of RLIMIT_NAME (NOFILE, NPROC, CORE, ...)\n"
            "  fds                 open file descriptors, one per line\n"
            "  caps                capability sets, NoNewPrivs, Seccomp\n"
            "  mount PATH          ro|rw and the fs type of the mount holding PATH\n"
            "  netifs              network interface names, one per line\n"
            "  cwd | pid | umask   working directory; pid ppid; umask (octal)\n"
            "  read PATH           \"readable N bytes\", or the errno name and exit 1\n"
            "  write PATH          create/append PATH: \"ok\", or the errno name and exit 1\n"
            "  exit N              exit with status N\n"
            "  kill-self SIG       send SIG (number or name) to itself\n"
            "  sleep SECONDS       sleep\n"
            "  syscall NR [ARG..]  raw syscall NR with up to 6 integer arguments (0 for the\n"
            "                      others): result and errno name\n"
            "  seccomp-agent SOCKET VALUE\n"
            "                      (on the host) a SCMP_ACT_NOTIFY agent: listen on the unix\n"
            "                      SOCKET, print the state JSON the runtime sends with the\n"
            "                      notify fd, answer every notification with VALUE\n"
            "  hook LOG NAME [EXIT [MSG] | sleep S]\n"
            "                      (as an OCI hook) append to LOG one line: NAME, argv[0],\n"
            "                      the other args, the environment, the mount and pid\n"
            "                      namespaces, stdin (the state); print \"hook NAME stdout\"\n"
            "                      on stdout; then exit EXIT after printing MSG on stderr,\n"
            "                      or sleep S seconds\n"
            "  udp-echo PORT       answer one UDP datagram on PORT (every IPv4 address) with\n"
            "                      \"echo:\" and the datagram, print it, exit (30 s at most)\n"
            "  udp-send IPV4 PORT MSG\n"
            "                      send MSG to IPV4:PORT over UDP every 0.5 s until an answer\n"
            "                      comes (10 s at most); print the answer\n"
            "  tcp-sink PORT       listen on PORT (every IPv4 address), print \"ready\", take one\n"
            "                      connection, read it to its end, print the bytes read\n",
            prog);
    return 2;
}

static int fail(const char *what, const char *arg)
{
    fprintf(stderr, "%s: %s '%s'\n", prog, what, arg);
    return 2;
}

static const char *errno_name(int e)
{
    static const struct { int e; const char *name; } names[] = {
#define E(x) { x, #x }
        E(EPERM), E(ENOENT), E(ESRCH), E(EINTR), E(EIO), E(ENXIO), E(E2BIG),
        E(ENOEXEC), E(EBADF), E(ECHILD), E(EAGAIN), E(ENOMEM), E(EACCES),
        E(EFAULT), E(EBUSY), E(EEXIST), E(EXDEV), E(ENODEV), E(ENOTDIR),
        E(EISDIR), E(EINVAL), E(ENFILE), E(EMFILE), E(ENOTTY), E(ETXTBSY),
        E(EFBIG), E(ENOSPC), E(ESPIPE), E(EROFS), E(EMLINK), E(EPIPE),
        E(ERANGE), E(EDEADLK), E(ENAMETOOLONG), E(ENOSYS), E(ENOTEMPTY),
        E(ELOOP), E(EOVERFLOW), E(EOPNOTSUPP), E(EDQUOT), E(ESTALE),
        E(ECONNREFUSED), E(ENETUNREACH), E(EADDRNOTAVAIL), E(EAFNOSUPPORT),
#undef E
    };
    static char buf[32];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].e == e)
            return names[i].name;
    snprintf(buf, sizeof buf, "E%d", e);
    return buf;
}

static int parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 0);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int cmd_ids(void)
{
    gid_t groups[NGROUPS_MAX];
    int n = getgroups(NGROUPS_MAX, groups);
    if (n < 0) {
        perror("getgroups");
        return 1;
    }
    printf("uid=%u gid=%u euid=%u egid=%u groups=", (unsigned)getuid(), (unsigned)getgid(),
           (unsigned)geteuid(), (unsigned)getegid());
    for (int i = 0; i < n; i++)
        printf("%s%u", i ? "," : "", (unsigned)groups[i]);
    printf("\n");
    return 0;
}

static int cmd_rlimit(const char *name)
{
    static const struct { const char *name; int res; } limits[] = {
        { "AS", RLIMIT_AS }, { "CORE", RLIMIT_CORE }, { "CPU", RLIMIT_CPU },
        { "DATA", RLIMIT_DATA }, { "FSIZE", RLIMIT_FSIZE },
        { "LOCKS", RLIMIT_LOCKS }, { "MEMLOCK", RLIMIT_MEMLOCK },
        { "MSGQUEUE", RLIMIT_MSGQUEUE }, { "NICE", RLIMIT_NICE },
        { "NOFILE", RLIMIT_NOFILE }, { "NPROC", RLIMIT_NPROC }, { "RSS", RLIMIT_RSS },
        { "RTPRIO", RLIMIT_RTPRIO }, { "RTTIME", RLIMIT_RTTIME },
        { "SIGPENDING", RLIMIT_SIGPENDING }, { "STACK", RLIMIT_STACK },
    };
    if (strncmp(name, "RLIMIT_", 7) == 0)
        name += 7;
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        if (strcasecmp(name, limits[i].name) != 0)
            continue;
        struct rlimit rl;
        if (getrlimit(limits[i].res, &rl) < 0) {
            perror("getrlimit");
            return 1;
        }
        char soft[32], hard[32];
        snprintf(soft, sizeof soft, "%llu", (unsigned long long)rl.rlim_cur);
        snprintf(hard, sizeof hard, "%llu", (unsigned long long)rl.rlim_max);
        printf("%s %s\n", rl.rlim_cur == RLIM_INFINITY ? "unlimited" : soft,
               rl.rlim_max == RLIM_INFINITY ? "unlimited" : hard);
        return 0;
    }
    return fail("unknown resource limit", name);
}

static int cmd_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d) {
        perror("opendir /proc/self/fd");
        return 1;
    }
    int self = dirfd(d), n = 0, fds[4096];
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < (int)(sizeof fds / sizeof fds[0])) {
        long fd;
        if (parse_long(e->d_name, 0, INT_MAX, &fd) == 0 && fd != self)
            fds[n++] = (int)fd;
    }
    closedir(d);
    for (int i = 1; i < n; i++) /* insertion sort: the list is short */
        for (int j = i; j > 0 && fds[j - 1] > fds[j]; j--) {
            int t = fds[j];
            fds[j] = fds[j - 1];
            fds[j - 1] = t;
        }
    for (int i = 0; i < n; i++)
        printf("%d\n", fds[i]);
    return 0;
}

static int cmd_caps(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    if (!f) {
        perror("open /proc/self/status");
        return 1;
    }
    char line[512];
    static const char *keys[] = { "CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:",
                                  "NoNewPrivs:", "Seccomp:" };
    while (fgets(line, sizeof line, f))
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
            if (strncmp(line, keys[i], strlen(keys[i])) == 0)
                fputs(line, stdout);
    fclose(f);
    return 0;
}

/* Undo the octal escapes (\040 ...) of a mountinfo field, in place. */
static void unescape(char *s)
{
    char *out = s;
    for (; *s; s++) {
        if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
            s[3] >= '0' && s[3] <= '7') {
            *out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
            s += 3;
        } else {
            *out++ = *s;
        }
    }
    *out = '\0';
}

/* The mount holding PATH: the mountinfo entry whose mount point is the
 * longest prefix of PATH's real path, the last one on ties (a later mount
 * on the same point hides the earlier ones). */
static int cmd_mount(const char *path)
{
    struct statvfs sv;
    char real[PATH_MAX];
    if (statvfs(path, &sv) < 0 || !realpath(path, real)) {
        printf("%s\n", errno_name(errno));
        return 1;
    }
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f) {
        perror("open /proc/self/mountinfo");
        return 1;
    }
    char line[8192], best[256] = "unknown";
    size_t best_len = 0;
    while (fgets(line, sizeof line, f)) {
        char mnt[PATH_MAX], type[256];
        const char *sep = strstr(line, " - ");
        if (!sep || sscanf(line, "%*d %*d %*s %*s %4095s", mnt) != 1 ||
            sscanf(sep + 3, "%255s", type) != 1)
            continue;
        unescape(mnt);
        size_t len = strlen(mnt);
        int prefix = strcmp(mnt, "/") == 0 ||
                     (strncmp(real, mnt, len) == 0 && (real[len] == '/' || real[len] == '\0'));
        if (prefix && len >= best_len) {
            snprintf(best, sizeof best, "%s", type);
            best_len = len;
        }
    }
    fclose(f);
    printf("%s %s\n", (sv.f_flag & ST_RDONLY) ? "ro" : "rw", best);
    return 0;
}

static int cmd_netifs(void)
{
    struct if_nameindex *ifs = if_nameindex();
    if (!ifs) {
        perror("if_nameindex");
        return 1;
    }
    for (struct if_nameindex *i = ifs; i->if_index != 0; i++)
        printf("%s\n", i->if_name);
    if_freenameindex(ifs);
    return 0;
}

static int cmd_read(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        printf("%s\n", errno_name(errno));
        return 1;
    }
    char buf[65536];
    long long total = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            printf("%s\n", errno_name(errno));
            close(fd);
            return 1;
        }
        if (n == 0)
            break;
        total += n;
    }
    close(fd);
    printf("readable %lld bytes\n", total);
    return 0;
}

static int cmd_write(const char *path)
{
    static const char text[] = "skiff-probe\n";
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, text, sizeof text - 1) != (ssize_t)(sizeof text - 1)) {
        printf("%s\n", errno_name(errno));
        return 1;
    }
    if (close(fd) < 0) {
        printf("%s\n", errno_name(errno));
        return 1;
    }
    printf("ok\n");
    return 0;
}

static int cmd_kill_self(const char *arg)
{
    static const struct { const char *name; int sig; } sigs[] = {
        { "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT }, { "ABRT", SIGABRT },
        { "KILL", SIGKILL }, { "SEGV", SIGSEGV }, { "PIPE", SIGPIPE }, { "ALRM", SIGALRM },
        { "TERM", SIGTERM }, { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "STOP", SIGSTOP },
    };
    long sig = -1;
    if (strncasecmp(arg, "SIG", 3) == 0)
        arg += 3;
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        if (strcasecmp(arg, sigs[i].name) == 0)
            sig = sigs[i].sig;
    if (sig < 0 && parse_long(arg, 1, 64, &sig) < 0)
        return fail("unknown signal", arg);
    signal((int)sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, (int)sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    if (kill(getpid(), (int)sig) < 0) {
        printf("%s\n", errno_name(errno));
        return 1;
    }
    printf("still alive after signal %ld\n", sig);
    return 1;
}

/* A SCMP_ACT_NOTIFY agent, as runc's protocol has it: one connection
 * brings the state JSON and, as SCM_RIGHTS, the notify fd; each syscall
 * the filter sends here returns VALUE without running. */
static int cmd_seccomp_agent(const char *path, const char *value)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    long val;
    if (parse_long(value, 0, INT_MAX, &val) < 0 || strlen(path) >= sizeof addr.sun_path)
        return fail("bad agent arguments", path);
    strcpy(addr.sun_path, path);
    int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (ls < 0 || bind(ls, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(ls, 1) < 0) {
        perror("agent: listen");
        return 1;
    }
    int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
    char buf[65536], cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = { buf, sizeof buf - 1 };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                          .msg_controllen = sizeof cbuf };
    ssize_t n = c < 0 ? -1 : recvmsg(c, &msg, MSG_CMSG_CLOEXEC);
    struct cmsghdr *cm = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
    if (!cm || cm->cmsg_type != SCM_RIGHTS) {
        perror("agent: no fd received");
        return 1;
    }
    int fd;
    memcpy(&fd, CMSG_DATA(cm), sizeof fd);
    buf[n] = '\0';
    printf("%s\n", buf);
    struct seccomp_notif req;
    struct seccomp_notif_resp resp;
    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, -1) < 0 || (p.revents & (POLLHUP | POLLERR)) != 0)
            return 0; /* every process of the filter is gone */
        memset(&req, 0, sizeof req);
        if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0)
            continue; /* the caller died meanwhile */
        resp = (struct seccomp_notif_resp){ .id = req.id, .val = val };
        printf("notified %d\n", req.data.nr);
        ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
    }
}

/* hook LOG NAME [EXIT [MSG] | sleep S]: fields separated by tabs, lists
 * inside a field by '|'. */
static int cmd_hook(int argc, char **argv)
{
    extern char **environ;
    char state[65536], mnt[64] = "?", pidns[64] = "?";
    size_t n = 0;
    ssize_t r;
    ssize_t l;

    while (n < sizeof state - 1 && (r = read(0, state + n, sizeof state - 1 - n)) > 0)
        n += (size_t)r;
    state[n] = '\0';
    state[strcspn(state, "\n")] = '\0';
    if ((l = readlink("/proc/self/ns/mnt", mnt, sizeof mnt - 1)) > 0)
        mnt[l] = '\0';
    if ((l = readlink("/proc/self/ns/pid", pidns, sizeof pidns - 1)) > 0)
        pidns[l] = '\0';
    FILE *f = fopen(argv[2], "ae");
    if (f == NULL)
        return fail("cannot open", argv[2]);
    fprintf(f, "%s\targv0=%s\targs=", argv[3], argv[0]);
    for (int i = 4; i < argc; i++)
        fprintf(f, "%s%s", i > 4 ? "|" : "", argv[i]);
    fprintf(f, "\tenv=");
    for (char **e = environ; *e; e++)
        fprintf(f, "%s%s", e != environ ? "|" : "", *e);
    fprintf(f, "\tmnt=%s\tpidns=%s\tstate=%s\n", mnt, pidns, state);
    fclose(f);
    printf("hook %s stdout\n", argv[3]);
    fflush(stdout);
    if (argc > 5 && strcmp(argv[4], "sleep") == 0) {
        sleep((unsigned)atoi(argv[5]));
        return 0;
    }
    if (argc > 4) {
        if (argc > 5)
            fprintf(stderr, "%s\n", argv[5]);
        return atoi(argv[4]);
    }
    return 0;
}

/* udp-echo and udp-send: UDP from inside a container (busybox's nc has no -u). */
static int cmd_udp_echo(const char *port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };
    struct sockaddr_in from;
    socklen_t flen = sizeof(from);
    char buf[512], reply[520];
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct pollfd p = { .fd = s, .events = POLLIN };
    ssize_t n;

    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0)
        return fail("bind", port);
    if (poll(&p, 1, 30000) != 1)
        return fail("no datagram on", port);
    n = recvfrom(s, buf, sizeof(buf) - 1, 0, (struct sockaddr *)&from, &flen);
    if (n < 0)
        return fail("recvfrom", port);
    buf[n] = '\0';
    n = snprintf(reply, sizeof(reply), "echo:%s", buf);
    sendto(s, reply, (size_t)n, 0, (struct sockaddr *)&from, flen);
    printf("%s\n", buf);
    return 0;
}

static int cmd_udp_send(const char *addr, const char *port, const char *msg)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };
    char buf[520];
    int s = socket(AF_INET, SOCK_DGRAM, 0);

    if (s < 0 || inet_pton(AF_INET, addr, &a.sin_addr) != 1)
        return fail("bad address", addr);
    for (int i = 0; i < 20; i++) {
        struct pollfd p = { .fd = s, .events = POLLIN };
        ssize_t n;

        sendto(s, msg, strlen(msg), 0, (struct sockaddr *)&a, sizeof(a));
        if (poll(&p, 1, 500) == 1 && (n = recv(s, buf, sizeof(buf) - 1, 0)) >= 0) {
            buf[n] = '\0';
            printf("%s\n", buf);
            return 0;
        }
    }
    return fail("no answer from", addr);
}

/* tcp-sink: the receiving end of tests/bench/net.sh, reading in 1 MiB
 * chunks so that the reader is not what is measured. */
static int cmd_tcp_sink(const char *port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };
    static char buf[1 << 20];
    unsigned long long total = 0;
    int one = 1, s = socket(AF_INET, SOCK_STREAM, 0), c;
    ssize_t n;

    if (s < 0)
        return fail("socket", port);
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 1) < 0)
        return fail("bind", port);
    printf("ready\n");
    fflush(stdout);
    c = accept(s, NULL, NULL);
    if (c < 0)
        return fail("accept", port);
    while ((n = read(c, buf, sizeof(buf))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return fail("read", port);
        total += (unsigned long long)n;
    }
    close(c);
    printf("%llu\n", total);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    const char *cmd = argv[1], *arg = argc > 2 ? argv[2] : NULL;
    static const char *with_arg[] = { "rlimit", "mount", "read", "write", "exit",
                                      "kill-self", "sleep", "syscall" };
    int wants = 0;
    for (size_t i = 0; i < sizeof with_arg / sizeof with_arg[0]; i++)
        wants |= strcmp(cmd, with_arg[i]) == 0;
    if (strcmp(cmd, "syscall") == 0 && argc > 3 && argc <= 9)
        wants = argc - 2; /* NR and up to six arguments */
    if (strcmp(cmd, "seccomp-agent") == 0 && argc == 4)
        return cmd_seccomp_agent(argv[2], argv[3]);
    if (strcmp(cmd, "hook") == 0 && argc >= 4 && argc <= 6)
        return cmd_hook(argc, argv);
    if (strcmp(cmd, "tcp-sink") == 0 && argc == 3)
        return cmd_tcp_sink(argv[2]);
    if (strcmp(cmd, "udp-echo") == 0 && argc == 3)
        return cmd_udp_echo(argv[2]);
    if (strcmp(cmd, "udp-send") == 0 && argc == 5)
        return cmd_udp_send(argv[2], argv[3], argv[4]);
    if (argc != 2 + wants) {
        fprintf(stderr, "%s: '%s' takes %s\n", prog, cmd, wants ? "one argument" : "no argument");
        return usage();
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    long n;

    if (strcmp(cmd, "ids") == 0)
        return cmd_ids();
    if (strcmp(cmd, "rlimit") == 0)
        return cmd_rlimit(arg);
    if (strcmp(cmd, "fds") == 0)
        return cmd_fds();
    if (strcmp(cmd, "caps") == 0)
        return cmd_caps();
    if (strcmp(cmd, "mount") == 0)
        return cmd_mount(arg);
    if (strcmp(cmd, "netifs") == 0)
        return cmd_netifs();
    if (strcmp(cmd, "read") == 0)
        return cmd_read(arg);
    if (strcmp(cmd, "write") == 0)
        return cmd_write(arg);
    if (strcmp(cmd, "kill-self") == 0)
        return cmd_kill_self(arg);
    if (strcmp(cmd, "cwd") == 0) {
        char buf[PATH_MAX];
        if (!getcwd(buf, sizeof buf)) {
            printf("%s\n", errno_name(errno));
            return 1;
        }
        printf("%s\n", buf);
        return 0;
    }
    if (strcmp(cmd, "pid") == 0) {
        printf("%ld %ld\n", (long)getpid(), (long)getppid());
        return 0;
    }
    if (strcmp(cmd, "umask") == 0) {
        mode_t m = umask(0);
        umask(m);
        printf("%04o\n", (unsigned)m);
        return 0;
    }
    if (strcmp(cmd, "exit") == 0) {
        if (parse_long(arg, 0, 255, &n) < 0)
            return fail("exit status must be 0..255, not", arg);
        return (int)n;
    }
    if (strcmp(cmd, "sleep") == 0) {
        char *end;
        double s = strtod(arg, &end);
        if (end == arg || *end != '\0' || !(s >= 0 && s < 1e9))
            return fail("bad number of seconds", arg);
        struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
        return 0;
    }
    if (strcmp(cmd, "syscall") == 0) {
        if (parse_long(arg, 0, 4095, &n) < 0)
            return fail("bad syscall number", arg);
        unsigned long a[6] = { 0 };
        for (int i = 3; i < argc; i++) {
            char *end;
            errno = 0;
            a[i - 3] = strtoul(argv[i], &end, 0);
            if (errno != 0 || end == argv[i] || *end != '\0')
                return fail("bad syscall argument", argv[i]);
        }
        errno = 0;
        long r = syscall(n, a[0], a[1], a[2], a[3], a[4], a[5]);
        int e = errno;
        printf("%ld %s\n", r, r < 0 ? errno_name(e) : "ok");
        return r < 0 ? 1 : 0;
    }
    fprintf(stderr, "%s: unknown command '%s'\n", prog, cmd);
    return usage();
}
