/* skiff-recvtty: a --console-socket receiver for the tests, as runc's
 * recvtty: listens on a unix socket, accepts one connection, receives the
 * pty master the runtime sends (SCM_RIGHTS, with its name as payload),
 * optionally sets its window size and writes input to it, then copies what
 * the container prints to stdout until the pty closes.
 *
 *   skiff-recvtty [--size ROWSxCOLS] [--input TEXT] [--name FILE] SOCKET
 *
 * --name FILE: write the payload that came with the fd to FILE.
 * Exits 0 once the pty is closed (every slave fd of the container gone). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

static int die(const char *what)
{
    fprintf(stderr, "skiff-recvtty: %s: %s\n", what, strerror(errno));
    return 1;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* One message: the payload into name, the one fd into *fd. */
static int recv_fd(int sock, char *name, size_t size, int *fd)
{
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct iovec iov = { .iov_base = name, .iov_len = size - 1 };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                          .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
    struct cmsghdr *cm;
    ssize_t n;

    memset(&u, 0, sizeof(u));
    do
        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        return -1;
    name[n] = '\0';
    cm = CMSG_FIRSTHDR(&msg);
    if (cm == NULL || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
        cm->cmsg_len != CMSG_LEN(sizeof(int))) {
        errno = EPROTO;
        return -1;
    }
    memcpy(fd, CMSG_DATA(cm), sizeof(int));
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "size", required_argument, NULL, 's' },
        { "input", required_argument, NULL, 'i' },
        { "name", required_argument, NULL, 'n' },
        { 0 } };
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    const char *input = NULL, *name_file = NULL;
    struct winsize ws = { 0 };
    char name[4096], buf[4096];
    int c, lsock, conn, master;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (sscanf(optarg, "%hux%hu", &ws.ws_row, &ws.ws_col) != 2)
                return fprintf(stderr, "skiff-recvtty: --size ROWSxCOLS\n"), 2;
            break;
        case 'i': input = optarg; break;
        case 'n': name_file = optarg; break;
        default: return 2;
        }
    }
    if (optind + 1 != argc || strlen(argv[optind]) >= sizeof(sa.sun_path))
        return fprintf(stderr, "usage: skiff-recvtty [--size RxC] [--input T] [--name F] SOCKET\n"), 2;
    strcpy(sa.sun_path, argv[optind]);
    lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lsock < 0 || bind(lsock, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lsock, 1) < 0)
        return die(argv[optind]);
    conn = accept4(lsock, NULL, NULL, SOCK_CLOEXEC);
    if (conn < 0)
        return die("accept");
    if (recv_fd(conn, name, sizeof(name), &master) < 0)
        return die("receiving the pty master");
    close(conn);
    close(lsock);
    unlink(argv[optind]);
    if (name_file != NULL) {
        FILE *f = fopen(name_file, "w");
        if (f == NULL || fprintf(f, "%s\n", name) < 0 || fclose(f) != 0)
            return die(name_file);
    }
    if (ws.ws_row > 0 && ioctl(master, TIOCSWINSZ, &ws) < 0)
        return die("TIOCSWINSZ");
    if (input != NULL && write_all(master, input, strlen(input)) < 0)
        return die("writing the input");
    for (;;) {
        ssize_t n = read(master, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;   /* EIO: the container's side is closed */
        if (write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
            return die("stdout");
    }
    return 0;
}
