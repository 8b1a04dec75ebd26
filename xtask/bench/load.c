/* ringside's bench load generator: tight loops of one kind of system call, timed around the loop.
 *
 * usage: load [--wait] MODE ARGS... [--rate OPS_PER_SEC]
 *   open N PATH        open(PATH, O_RDONLY) + close, N times
 *   seq-open N DIR     open DIR/seq-0 ... DIR/seq-(N-1) in order (+ close when one exists), so
 *                      every operation is named and a tracer's output can be counted exactly
 *   exec N             fork + exec /bin/true + waitpid, N times
 *   connect N PORT     listens on 127.0.0.1:PORT (0: any free port), then N times: connect,
 *                      accept, close both ends. The client end closes with SO_LINGER 0 (a RST),
 *                      so no TIME_WAIT sockets pile up and exhaust the ephemeral ports.
 *   write N PATH       opens PATH (O_WRONLY | O_CREAT | O_TRUNC) once, before the loop, then N
 *                      times: write(2) of 4096 bytes. Every 256 writes an lseek(fd, 0, SEEK_SET)
 *                      takes the offset back to the start, so the file stays at 1 MiB (in the page
 *                      cache) however large N is. write(2), not pwrite(2): the storm is about the
 *                      system call a resolver makes on a connected socket.
 *   send N PORT        listens on 127.0.0.1:PORT (0: any free port), connects to itself with
 *                      TCP_NODELAY, then N times: write(2) of 512 bytes to the client end and a
 *                      read of them at the server end: every write is a packet through the
 *                      loopback device, where ringside's DNS probes look at every packet.
 *
 * --wait   print "ready pid=<pid>" on stdout, then wait for a line on stdin before the loop:
 *          the bench starts its tracer on this pid meanwhile, so start-up (ld.so opens) is over.
 * --rate R pace the loop to R operations per second on average (absolute CLOCK_MONOTONIC
 *          deadlines, so the rate holds even when one sleep overshoots).
 *
 * Prints "ops=N elapsed_ns=E ns_per_op=X" with E measured on CLOCK_MONOTONIC around the loop.
 * Exit status 1 on usage errors or when a system call that must succeed fails.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
    fprintf(stderr, "load: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void usage(void) {
    fprintf(stderr,
            "usage: load [--wait] open N PATH | seq-open N DIR | exec N | connect N PORT"
            " | write N PATH | send N PORT [--rate OPS_PER_SEC]\n");
    exit(1);
}

/* Pacing: operation i may not start before start + i * interval. */
static uint64_t pace_start, pace_interval;

static void pace(uint64_t i) {
    if (pace_interval == 0) return;
    uint64_t due = pace_start + i * pace_interval;
    if (now_ns() >= due) return;
    struct timespec ts = {.tv_sec = (time_t)(due / 1000000000ull), .tv_nsec = (long)(due % 1000000000ull)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

static void run_open(uint64_t n, const char *path) {
    for (uint64_t i = 0; i < n; i++) {
        pace(i);
        int fd = open(path, O_RDONLY);
        if (fd < 0) die(path);
        close(fd);
    }
}

static void run_seq_open(uint64_t n, const char *dir) {
    char path[4096];
    for (uint64_t i = 0; i < n; i++) {
        pace(i);
        snprintf(path, sizeof path, "%s/seq-%llu", dir, (unsigned long long)i);
        int fd = open(path, O_RDONLY);
        if (fd >= 0) close(fd);
    }
}

static void run_exec(uint64_t n) {
    for (uint64_t i = 0; i < n; i++) {
        pace(i);
        pid_t child = fork();
        if (child < 0) die("fork");
        if (child == 0) {
            execl("/bin/true", "true", (char *)NULL);
            _exit(127);
        }
        int status;
        if (waitpid(child, &status, 0) < 0) die("waitpid");
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "load: /bin/true failed (status %d)\n", status);
            exit(1);
        }
    }
}

static int listener;
static struct sockaddr_in bound;

static void listen_loopback(int port) {
    listener = socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0) die("socket");
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in at = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listener, (struct sockaddr *)&at, sizeof at) < 0) die("bind 127.0.0.1");
    if (listen(listener, 128) < 0) die("listen");
    socklen_t len = sizeof bound;
    if (getsockname(listener, (struct sockaddr *)&bound, &len) < 0) die("getsockname");
}

static void run_connect(uint64_t n) {
    struct linger hard = {.l_onoff = 1, .l_linger = 0};
    for (uint64_t i = 0; i < n; i++) {
        pace(i);
        int client = socket(AF_INET, SOCK_STREAM, 0);
        if (client < 0) die("socket");
        if (connect(client, (struct sockaddr *)&bound, sizeof bound) < 0) die("connect");
        int server = accept(listener, NULL, NULL);
        if (server < 0) die("accept");
        setsockopt(client, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
        close(client);
        close(server);
    }
}

static int write_fd;

/* Writes per lseek back to the start: 256 * 4096 bytes, a file of 1 MiB. */
#define WRITES_PER_REWIND 256

static void open_for_writes(const char *path) {
    write_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (write_fd < 0) die(path);
}

static void run_write(uint64_t n) {
    static char block[4096];
    memset(block, 'w', sizeof block);
    for (uint64_t i = 0; i < n; i++) {
        pace(i);
        if (i > 0 && i % WRITES_PER_REWIND == 0 && lseek(write_fd, 0, SEEK_SET) < 0) die("lseek");
        ssize_t done = write(write_fd, block, sizeof block);
        if (done != (ssize_t)sizeof block) {
            if (done >= 0) errno = EIO;
            die("write");
        }
    }
}

static int send_client, send_server;

static void connect_to_self(void) {
    send_client = socket(AF_INET, SOCK_STREAM, 0);
    if (send_client < 0) die("socket");
    int one = 1;
    if (setsockopt(send_client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) die("TCP_NODELAY");
    if (connect(send_client, (struct sockaddr *)&bound, sizeof bound) < 0) die("connect");
    send_server = accept(listener, NULL, NULL);
    if (send_server < 0) die("accept");
}

static void run_send(uint64_t n) {
    static char block[512];
    memset(block, 's', sizeof block);
    for (uint64_t i = 0; i < n; i++) {
        pace(i);
        ssize_t done = write(send_client, block, sizeof block);
        if (done != (ssize_t)sizeof block) {
            if (done >= 0) errno = EIO;
            die("write");
        }
        size_t got = 0;
        while (got < sizeof block) {
            ssize_t r = read(send_server, block, sizeof block - got);
            if (r <= 0) {
                if (r == 0) errno = EPIPE;
                die("read");
            }
            got += (size_t)r;
        }
    }
}

int main(int argc, char **argv) {
    int wait_for_go = 0;
    double rate = 0;
    char *args[4];
    int nargs = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--wait") == 0) {
            wait_for_go = 1;
        } else if (strcmp(argv[i], "--rate") == 0 && i + 1 < argc) {
            rate = strtod(argv[++i], NULL);
            if (rate <= 0) usage();
        } else if (nargs < 4) {
            args[nargs++] = argv[i];
        } else {
            usage();
        }
    }
    if (nargs < 2) usage();
    const char *mode = args[0];
    char *end;
    uint64_t n = strtoull(args[1], &end, 10);
    if (*end != '\0' || n == 0) usage();
    int need = strcmp(mode, "exec") == 0 ? 2 : 3;
    if (nargs != need) usage();
    if (strcmp(mode, "connect") == 0) listen_loopback(atoi(args[2]));
    else if (strcmp(mode, "write") == 0) open_for_writes(args[2]);
    else if (strcmp(mode, "send") == 0) {
        listen_loopback(atoi(args[2]));
        connect_to_self();
    }
    else if (strcmp(mode, "open") != 0 && strcmp(mode, "seq-open") != 0 && strcmp(mode, "exec") != 0)
        usage();

    if (wait_for_go) {
        printf("ready pid=%d\n", (int)getpid());
        fflush(stdout);
        char line[16];
        if (read(0, line, sizeof line) <= 0) {
            fprintf(stderr, "load: stdin closed before the go\n");
            return 1;
        }
    }
    if (rate > 0) pace_interval = (uint64_t)(1e9 / rate);
    uint64_t start = now_ns();
    pace_start = start;
    if (strcmp(mode, "open") == 0) run_open(n, args[2]);
    else if (strcmp(mode, "seq-open") == 0) run_seq_open(n, args[2]);
    else if (strcmp(mode, "exec") == 0) run_exec(n);
    else if (strcmp(mode, "write") == 0) run_write(n);
    else if (strcmp(mode, "send") == 0) run_send(n);
    else run_connect(n);
    uint64_t elapsed = now_ns() - start;
    printf("ops=%llu elapsed_ns=%llu ns_per_op=%.1f\n", (unsigned long long)n,
           (unsigned long long)elapsed, (double)elapsed / (double)n);
    return 0;
}
