/*
 * The websocket benchmarks' idle client in C (BENCH_WSS_CLIENT=c; suites/websocket.ts compiles it with
 * the machine's `cc -O2` on first use). It does the job of idleClients.ts, with the same messages, but
 * holds a connection in 16 bytes of user memory (struct conn) where Node holds a net.Socket: at a
 * million connections the Node clients were ~6 GB beside the edges' ~9 GB and the kernel's ~9.8 GB.
 *
 * One epoll loop over non-blocking sockets. Each connection is bound to one of the command's source
 * addresses, rotating, before it connects (IP_BIND_ADDRESS_NO_PORT: the port is picked at connect() for
 * the whole 4-tuple, so the port search stays short); at most `concurrency` are connecting at a time.
 * Each writes the upgrade request, checks for `HTTP/1.1 101`, and then reads server frames (RFC 6455,
 * unmasked) across any read boundaries: it counts the payload bytes of data frames and answers pings
 * (uWS's automatic pings, which carry no payload) with a masked empty pong.
 *
 * Parent -> child on stdin, child -> parent on stdout, one JSON object per line:
 *   {"type":"connect","host":"127.0.0.1","port":N,"path":"/prod","count":N,"addresses":["127.x.0.1",...],"concurrency":N}
 *     -> {"type":"connected","ok":N,"failed":N,"ms":N,"firstError":null|"..."} once all of them are open or failed
 *   {"type":"stats"} -> {"type":"stats","bytes":N,"open":N}
 *   {"type":"close"}, or stdin closing: exit (the kernel closes the sockets).
 * It writes {"type":"ready"} when it starts. Hosts and source addresses are IPv4 literals.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24 /* linux/in.h; glibc's netinet/in.h does not define it */
#endif

enum phase { CONNECTING, HANDSHAKE, FRAME_START, FRAME_LENGTH, FRAME_EXTENDED_LENGTH, FRAME_PAYLOAD };

/* The response head while a handshake is under way (allocated for at most `concurrency` connections at a
 * time): its status line, for the error text, and how much of the "\r\n\r\n" that ends it was seen. */
struct head {
    char status[128];
    uint8_t status_len;
    uint8_t status_done;
    uint8_t end_matched;
};

/* A connection, indexed by its file descriptor. */
struct conn {
    union {
        struct head *head;  /* CONNECTING, HANDSHAKE */
        uint64_t remaining; /* FRAME_EXTENDED_LENGTH: the length read so far; FRAME_PAYLOAD: payload bytes still to come */
    };
    uint8_t phase;
    uint8_t opcode;      /* of the frame being read */
    uint8_t length_left; /* FRAME_EXTENDED_LENGTH: length bytes still to come */
};

/* The connect command under way. */
static struct {
    int active;
    long count, started, in_flight, ok, failed, concurrency;
    char first_error[256];
    int has_error;
    struct timespec t0;
    struct sockaddr_in dest;
    struct sockaddr_in *sources;
    long source_count;
    char *request;
    size_t request_len;
} cmd;

static struct conn *conns;
static int max_fds;
static int epfd;
static uint64_t bytes;
static long open_count;

/* A masked, empty pong (clients must mask): the answer to uWS's automatic pings. */
static const unsigned char PONG[] = {0x8a, 0x80, 0, 0, 0, 0};
static const char KEY[] = "dGhlIHNhbXBsZSBub25jZQ==";
static const char STATUS_OK[] = "HTTP/1.1 101";
static const char HEAD_END[] = "\r\n\r\n";

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("idleClient: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void write_line(const char *line, size_t len) {
    while (len > 0) {
        ssize_t n = write(1, line, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) exit(0); /* the parent is gone */
        line += n;
        len -= (size_t)n;
    }
}

/* `s` as a JSON string into `out` (at least 6 * strlen(s) + 3 bytes). */
static void json_string(char *out, const char *s) {
    *out++ = '"';
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            *out++ = '\\';
            *out++ = (char)c;
        } else if (c < 0x20) {
            out += sprintf(out, "\\u%04x", c);
        } else {
            *out++ = (char)c;
        }
    }
    *out++ = '"';
    *out = 0;
}

static void record_failure(const char *fmt, ...) {
    cmd.failed++;
    if (cmd.has_error) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd.first_error, sizeof cmd.first_error, fmt, ap);
    va_end(ap);
    cmd.has_error = 1;
}

static const char *address_text(const struct sockaddr_in *a) {
    static char text[INET_ADDRSTRLEN];
    return inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
}

/* A connection that failed before its handshake completed. */
static void fail_connecting(int fd, const char *error) {
    free(conns[fd].head);
    conns[fd].head = NULL;
    close(fd);
    cmd.in_flight--;
    record_failure("%s", error);
}

static void close_open(int fd) {
    close(fd);
    open_count--;
}

static void start_one(void) {
    const struct sockaddr_in *source = &cmd.sources[cmd.started % cmd.source_count];
    cmd.started++;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        record_failure("socket: %s", strerror(errno));
        return;
    }
    if (fd >= max_fds) {
        close(fd);
        record_failure("socket: file descriptor %d over the open-files limit %d", fd, max_fds);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (cmd.source_count > 0 && bind(fd, (const struct sockaddr *)source, sizeof *source) < 0) {
        record_failure("bind %s: %s", address_text(source), strerror(errno));
        close(fd);
        return;
    }
    if (connect(fd, (const struct sockaddr *)&cmd.dest, sizeof cmd.dest) < 0 && errno != EINPROGRESS) {
        record_failure("connect %s:%d: %s", address_text(&cmd.dest), ntohs(cmd.dest.sin_port), strerror(errno));
        close(fd);
        return;
    }
    struct head *head = calloc(1, sizeof *head);
    if (!head) die("out of memory");
    conns[fd] = (struct conn){.head = head, .phase = CONNECTING};
    struct epoll_event ev = {.events = EPOLLOUT, .data.fd = fd};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl: %s", strerror(errno));
    cmd.in_flight++;
}

static void on_connect_done(int fd) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    char text[200];
    if (err) {
        snprintf(text, sizeof text, "connect %s:%d: %s", address_text(&cmd.dest), ntohs(cmd.dest.sin_port), strerror(err));
        fail_connecting(fd, text);
        return;
    }
    /* A few hundred bytes into an empty send buffer: all of it or an error, never part. */
    ssize_t n = send(fd, cmd.request, cmd.request_len, MSG_NOSIGNAL);
    if (n != (ssize_t)cmd.request_len) {
        snprintf(text, sizeof text, "writing the upgrade request: %s", n < 0 ? strerror(errno) : "short write");
        fail_connecting(fd, text);
        return;
    }
    conns[fd].phase = HANDSHAKE;
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev) < 0) die("epoll_ctl: %s", strerror(errno));
}

/* Reads frames from `data`; counts data frames' payload bytes, answers pings. Returns 0, or -1 when the
 * connection must close (a masked frame from the server, or a pong that could not be written). */
static int read_frames(int fd, const unsigned char *data, size_t len) {
    struct conn *c = &conns[fd];
    size_t i = 0;
    while (i < len) {
        switch (c->phase) {
        case FRAME_START:
            c->opcode = data[i++] & 0x0f;
            c->phase = FRAME_LENGTH;
            break;
        case FRAME_LENGTH: {
            unsigned char b = data[i++];
            if (b & 0x80) return -1; /* RFC 6455 5.1: a client closes on a masked frame from the server */
            unsigned char length = b & 0x7f;
            c->remaining = length < 126 ? length : 0;
            c->length_left = length == 126 ? 2 : length == 127 ? 8 : 0;
            c->phase = c->length_left ? FRAME_EXTENDED_LENGTH : FRAME_PAYLOAD;
            break;
        }
        case FRAME_EXTENDED_LENGTH:
            c->remaining = c->remaining << 8 | data[i++];
            if (--c->length_left == 0) c->phase = FRAME_PAYLOAD;
            break;
        case FRAME_PAYLOAD: {
            size_t n = len - i < c->remaining ? len - i : (size_t)c->remaining;
            if (c->opcode < 0x8) bytes += n; /* continuation, text, binary */
            c->remaining -= n;
            i += n;
            break;
        }
        }
        if (c->phase == FRAME_PAYLOAD && c->remaining == 0) {
            /* The frame is complete (its header was the last bytes for an empty one). */
            if (c->opcode == 0x9 && send(fd, PONG, sizeof PONG, MSG_NOSIGNAL) != (ssize_t)sizeof PONG) return -1;
            c->phase = FRAME_START;
        }
    }
    return 0;
}

/* The handshake response; bytes after its head are frames already. */
static void read_head(int fd, const unsigned char *data, size_t len) {
    struct head *h = conns[fd].head;
    size_t i = 0;
    while (i < len && h->end_matched < 4) {
        unsigned char b = data[i++];
        if (b == '\r' || b == '\n') h->status_done = 1;
        else if (!h->status_done && h->status_len < sizeof h->status - 1) h->status[h->status_len++] = (char)b;
        h->end_matched = b == (unsigned char)HEAD_END[h->end_matched] ? h->end_matched + 1 : b == '\r';
    }
    if (h->end_matched < 4) return;
    if (strncmp(h->status, STATUS_OK, strlen(STATUS_OK)) != 0) {
        char status[sizeof h->status];
        memcpy(status, h->status, sizeof status);
        fail_connecting(fd, status);
        return;
    }
    free(h);
    conns[fd].phase = FRAME_START;
    cmd.in_flight--;
    cmd.ok++;
    open_count++;
    if (read_frames(fd, data + i, len - i) < 0) close_open(fd);
}

static void on_readable(int fd) {
    static unsigned char buf[65536];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (conns[fd].phase == HANDSHAKE) {
        if (n > 0) read_head(fd, buf, (size_t)n);
        else fail_connecting(fd, n == 0 ? "connection closed before the handshake response" : strerror(errno));
        return;
    }
    if (n <= 0 || read_frames(fd, buf, (size_t)n) < 0) close_open(fd);
}

static double ms_since(const struct timespec *t0) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static void finish_command(void) {
    char error[sizeof cmd.first_error * 6 + 3];
    if (cmd.has_error) json_string(error, cmd.first_error);
    else strcpy(error, "null");
    char line[sizeof error + 200];
    int n = snprintf(line, sizeof line, "{\"type\":\"connected\",\"ok\":%ld,\"failed\":%ld,\"ms\":%.3f,\"firstError\":%s}\n", cmd.ok, cmd.failed, ms_since(&cmd.t0), error);
    write_line(line, (size_t)n);
    free(cmd.sources);
    free(cmd.request);
    cmd.sources = NULL;
    cmd.request = NULL;
    cmd.active = 0;
}

/* ---- the parent's messages: flat JSON objects of strings, numbers and arrays of strings ---- */

#define MAX_SOURCES 256

struct message {
    char type[16], host[64], path[1024];
    long port, count, concurrency;
    char sources[MAX_SOURCES][INET_ADDRSTRLEN];
    long source_count;
};

static const char *skip_space(const char *p) {
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
    return p;
}

/* A JSON string at `p` into `out` (NULL: skipped); returns the position after it, or NULL if it is not
 * one or does not fit. \u escapes are taken for ASCII only. */
static const char *parse_string(const char *p, char *out, size_t size) {
    if (*p++ != '"') return NULL;
    size_t n = 0;
    for (;;) {
        char c = *p++;
        if (c == 0) return NULL;
        if (c == '"') break;
        if (c == '\\') {
            char e = *p++;
            switch (e) {
            case '"': case '\\': case '/': c = e; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            case 'u': {
                unsigned v;
                if (sscanf(p, "%4x", &v) != 1 || v >= 0x80) return NULL;
                c = (char)v;
                p += 4;
                break;
            }
            default: return NULL;
            }
        }
        if (out) {
            if (n + 1 >= size) return NULL;
            out[n++] = c;
        }
    }
    if (out) out[n] = 0;
    return p;
}

static const char *parse_number(const char *p, long *out) {
    char *end;
    double v = strtod(p, &end);
    if (end == p) return NULL;
    if (out) *out = (long)v;
    return end;
}

/* Any value, skipped (nested objects and arrays are not expected here). */
static const char *skip_value(const char *p) {
    if (*p == '"') return parse_string(p, NULL, 0);
    if (strncmp(p, "null", 4) == 0 || strncmp(p, "true", 4) == 0) return p + 4;
    if (strncmp(p, "false", 5) == 0) return p + 5;
    return parse_number(p, NULL);
}

static const char *parse_sources(const char *p, struct message *m) {
    if (*p++ != '[') return NULL;
    p = skip_space(p);
    if (*p == ']') return p + 1;
    for (;;) {
        if (m->source_count == MAX_SOURCES) return NULL;
        p = parse_string(skip_space(p), m->sources[m->source_count++], INET_ADDRSTRLEN);
        if (!p) return NULL;
        p = skip_space(p);
        if (*p == ']') return p + 1;
        if (*p++ != ',') return NULL;
    }
}

static int parse_message(const char *p, struct message *m) {
    memset(m, 0, sizeof *m);
    p = skip_space(p);
    if (*p++ != '{') return -1;
    p = skip_space(p);
    if (*p == '}') return 0;
    for (;;) {
        char key[32];
        p = parse_string(skip_space(p), key, sizeof key);
        if (!p) return -1;
        p = skip_space(p);
        if (*p++ != ':') return -1;
        p = skip_space(p);
        if (!strcmp(key, "type")) p = parse_string(p, m->type, sizeof m->type);
        else if (!strcmp(key, "host")) p = parse_string(p, m->host, sizeof m->host);
        else if (!strcmp(key, "path")) p = parse_string(p, m->path, sizeof m->path);
        else if (!strcmp(key, "port")) p = parse_number(p, &m->port);
        else if (!strcmp(key, "count")) p = parse_number(p, &m->count);
        else if (!strcmp(key, "concurrency")) p = parse_number(p, &m->concurrency);
        else if (!strcmp(key, "addresses")) p = parse_sources(p, m);
        else p = skip_value(p);
        if (!p) return -1;
        p = skip_space(p);
        if (*p == '}') return 0;
        if (*p++ != ',') return -1;
    }
}

static void begin_connect(const struct message *m) {
    if (cmd.active) die("a connect command arrived while one is under way");
    memset(&cmd, 0, sizeof cmd);
    cmd.active = 1;
    clock_gettime(CLOCK_MONOTONIC, &cmd.t0);
    cmd.count = m->count;
    cmd.concurrency = m->concurrency > 0 ? m->concurrency : 1;
    cmd.dest.sin_family = AF_INET;
    cmd.dest.sin_port = htons((uint16_t)m->port);
    if (inet_pton(AF_INET, m->host, &cmd.dest.sin_addr) != 1) die("host %s is not an IPv4 address", m->host);
    cmd.source_count = m->source_count;
    cmd.sources = calloc(m->source_count ? (size_t)m->source_count : 1, sizeof *cmd.sources);
    if (!cmd.sources) die("out of memory");
    for (long i = 0; i < m->source_count; i++) {
        cmd.sources[i].sin_family = AF_INET;
        if (inet_pton(AF_INET, m->sources[i], &cmd.sources[i].sin_addr) != 1) die("source address %s is not an IPv4 address", m->sources[i]);
    }
    int n = asprintf(&cmd.request, "GET %s HTTP/1.1\r\nHost: %s:%ld\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", m->path, m->host, m->port, KEY);
    if (n < 0) die("out of memory");
    cmd.request_len = (size_t)n;
}

static void on_message(const char *line) {
    static struct message m; /* 4 KB of source addresses: not on the stack */
    if (parse_message(line, &m) < 0) die("cannot parse the message %s", line);
    if (!strcmp(m.type, "connect")) {
        begin_connect(&m);
    } else if (!strcmp(m.type, "stats")) {
        char out[100];
        int n = snprintf(out, sizeof out, "{\"type\":\"stats\",\"bytes\":%llu,\"open\":%ld}\n", (unsigned long long)bytes, open_count);
        write_line(out, (size_t)n);
    } else if (!strcmp(m.type, "close")) {
        exit(0);
    } else {
        die("unknown message type %s", m.type);
    }
}

static void on_stdin(void) {
    static char buf[65536];
    static size_t used;
    ssize_t n = read(0, buf + used, sizeof buf - 1 - used);
    if (n < 0 && errno == EINTR) return;
    if (n <= 0) exit(0); /* the parent closed stdin or is gone */
    used += (size_t)n;
    buf[used] = 0;
    char *line = buf, *nl;
    while ((nl = strchr(line, '\n'))) {
        *nl = 0;
        on_message(line);
        line = nl + 1;
    }
    used -= (size_t)(line - buf);
    memmove(buf, line, used);
    if (used == sizeof buf - 1) die("a message longer than %zu bytes", sizeof buf - 1);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    /* Like Node at startup: the soft open-files limit up to the hard one. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) die("getrlimit: %s", strerror(errno));
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    max_fds = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (1 << 24) ? 1 << 24 : (int)rl.rlim_cur;
    conns = calloc((size_t)max_fds, sizeof *conns);
    if (!conns) die("out of memory");
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) die("epoll_create1: %s", strerror(errno));
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = 0};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, 0, &ev) < 0) die("epoll_ctl on stdin: %s", strerror(errno));
    write_line("{\"type\":\"ready\"}\n", 17);

    struct epoll_event events[256];
    for (;;) {
        /* New sockets only between batches: a descriptor closed in a batch is not reused within it. */
        while (cmd.active && cmd.in_flight < cmd.concurrency && cmd.started < cmd.count) start_one();
        if (cmd.active && cmd.in_flight == 0 && cmd.started == cmd.count) finish_command();
        int n = epoll_wait(epfd, events, 256, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait: %s", strerror(errno));
        }
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            if (fd == 0) on_stdin();
            else if (conns[fd].phase == CONNECTING) on_connect_done(fd);
            else on_readable(fd);
        }
    }
}
