// The flood sender of bench/rawflood.ts in C: the same open loop (requests scheduled at a steady
// rate, sent on at most CONNECTIONS connections, latency from the schedule, each abandoned
// TIMEOUT_MS after it was scheduled, NOT_SENT when no connection was free before then), the same
// pre-built requests, kept-alive connections used again. Node's sockets cost the load process
// ~0.3 ms of CPU per connection (a socket object, its streams, a timer, promises), more than the
// gateway spends refusing it; here a connection costs its system calls. The bind is lazy
// (IP_BIND_ADDRESS_NO_PORT), so that connect picks the port as for any client.
//
// Usage: rawflood PORT LOCAL_ADDRESS RATE DURATION_MS MAX_REQUESTS TIMEOUT_MS CONNECTIONS REQUESTS_FILE
// (the file holds the requests, each ended by a NUL byte). Prints one JSON object: statuses,
// errors, every latency (ms), bytes read, up to 3 samples of non-2xx answers and its CPU time.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

enum { CONNECTING = 1, READING, IDLE };

typedef struct Conn {
  int fd;
  int state;
  double sched;
  int got;
  size_t idle_at; /* its place in idle[] while idle */
  struct Conn *prev, *next; /* in flight, in the order sent (so in the order their deadlines come) */
  char buf[2048];
} Conn;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static char **requests;
static size_t *request_len;
static size_t request_count, next_request;
static struct sockaddr_in target, local;
static int ep;
static Conn *head, *tail;
static Conn **idle;
static size_t idle_count;
static long inflight;
static double *latencies;
static long done, ok, bytes;
static long statuses[600];
static long errors_timeout, errors_closed, errors_not_sent, errors_connect;
static char samples[3][160];
static int sample_count;
static double timeout_ms;

static void unlink_conn(Conn *c) {
  if (c->prev) c->prev->next = c->next; else head = c->next;
  if (c->next) c->next->prev = c->prev; else tail = c->prev;
  c->prev = c->next = NULL;
  inflight--;
}

static void record(int status, const char *error, double latency, const char *body) {
  latencies[done++] = latency;
  if (status >= 0 && status < 600) statuses[status]++;
  if (status >= 200 && status < 300) { ok++; return; }
  if (sample_count < 3) {
    char *s = samples[sample_count++];
    int n = snprintf(s, sizeof samples[0], "GET -> %d%s%s ", status, error ? " " : "", error ? error : "");
    for (const char *p = body; p && *p && n < (int)sizeof samples[0] - 1; p++) s[n++] = (*p >= 32 && *p < 127 && *p != '"' && *p != '\\') ? *p : ' ';
    s[n] = 0;
  }
}

static void finish(Conn *c, int status, const char *error, int keep) {
  unlink_conn(c);
  const char *body = NULL;
  char *end = c->got > 0 ? memmem(c->buf, c->got, "\r\n\r\n", 4) : NULL;
  if (end) { c->buf[c->got < (int)sizeof c->buf ? c->got : (int)sizeof c->buf - 1] = 0; body = end + 4; }
  record(status, error, now_ms() - c->sched, body);
  if (error) { if (!strcmp(error, "TIMEOUT")) errors_timeout++; else if (!strcmp(error, "CLOSED")) errors_closed++; else errors_connect++; }
  if (keep) { c->state = IDLE; c->got = 0; c->idle_at = idle_count; idle[idle_count++] = c; return; }
  close(c->fd);
  free(c);
}

static void send_request(Conn *c) {
  const char *r = requests[next_request];
  size_t len = request_len[next_request];
  next_request = (next_request + 1) % request_count;
  ssize_t n = write(c->fd, r, len); /* a request of a few hundred bytes fits in an empty send buffer */
  if (n != (ssize_t)len) { finish(c, 0, "CLOSED", 0); return; }
  c->state = READING;
}

static void issue(double sched) {
  Conn *c = NULL;
  if (idle_count > 0) c = idle[--idle_count];
  if (c == NULL) {
    c = calloc(1, sizeof *c);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    if (local.sin_addr.s_addr != 0) bind(c->fd, (struct sockaddr *)&local, sizeof local);
    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c };
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    c->state = CONNECTING;
    if (connect(c->fd, (struct sockaddr *)&target, sizeof target) == 0) c->state = READING;
    else if (errno != EINPROGRESS) {
      c->sched = sched;
      c->prev = tail; if (tail) tail->next = c; else head = c; tail = c; inflight++;
      finish(c, 0, "CONNECT", 0);
      return;
    }
  }
  c->sched = sched;
  c->got = 0;
  c->prev = tail; c->next = NULL;
  if (tail) tail->next = c; else head = c;
  tail = c;
  inflight++;
  if (c->state != CONNECTING) send_request(c);
}

/** Whether the answer in c->buf is complete; then its status and whether the connection stays. */
static int complete(Conn *c, int *status, int *keep) {
  char *end = memmem(c->buf, c->got, "\r\n\r\n", 4);
  if (end == NULL) return 0;
  long length = 0;
  *keep = 1;
  for (char *line = memchr(c->buf, '\n', end - c->buf); line && line < end; line = memchr(line + 1, '\n', end - line)) {
    if (!strncasecmp(line + 1, "content-length:", 15)) length = strtol(line + 16, NULL, 10);
    else if (!strncasecmp(line + 1, "connection:", 11)) {
      const char *v = line + 12;
      while (*v == ' ') v++;
      if (!strncasecmp(v, "close", 5)) *keep = 0;
    }
  }
  if (c->got < (end - c->buf) + 4 + length && c->got < (int)sizeof c->buf) return 0;
  *status = atoi(c->buf + 9);
  return 1;
}

static void on_event(Conn *c, unsigned events) {
  if (c->state == CONNECTING && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) { finish(c, 0, "CLOSED", 0); return; }
    send_request(c);
    if (c->state != READING) return;
  }
  if (!(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) return;
  for (;;) {
    char scratch[2048];
    int room = (int)sizeof c->buf - 1 - c->got;
    char *into = room > 0 ? c->buf + c->got : scratch;
    ssize_t n = read(c->fd, into, room > 0 ? (size_t)room : sizeof scratch);
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {
      if (c->state == IDLE) { /* dropped while idle */
        idle[c->idle_at] = idle[--idle_count];
        idle[c->idle_at]->idle_at = c->idle_at;
        close(c->fd);
        free(c);
        return;
      }
      finish(c, 0, "CLOSED", 0);
      return;
    }
    bytes += n;
    if (c->state != READING) continue; /* idle: nothing is expected; read and dropped */
    if (room > 0) c->got += (int)n;
    int status, keep;
    if (complete(c, &status, &keep)) { finish(c, status, NULL, keep); return; }
  }
}

int main(int argc, char **argv) {
  if (argc != 9) { fprintf(stderr, "usage: rawflood PORT LOCAL RATE DURATION_MS MAX TIMEOUT_MS CONNECTIONS FILE\n"); return 2; }
  int port = atoi(argv[1]);
  double rate = atof(argv[3]), duration = atof(argv[4]);
  long max = atol(argv[5]);
  timeout_ms = atof(argv[6]);
  long connections = atol(argv[7]);
  FILE *f = fopen(argv[8], "rb");
  if (!f) { perror(argv[8]); return 2; }
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *all = malloc(size + 1);
  if (fread(all, 1, size, f) != (size_t)size) { perror("read"); return 2; }
  fclose(f);
  for (long i = 0; i < size; i++) if (all[i] == 0) request_count++;
  requests = calloc(request_count, sizeof *requests);
  request_len = calloc(request_count, sizeof *request_len);
  for (size_t i = 0, at = 0; i < request_count; i++) {
    requests[i] = all + at;
    request_len[i] = strlen(all + at);
    at += request_len[i] + 1;
  }
  target.sin_family = AF_INET;
  target.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &target.sin_addr);
  local.sin_family = AF_INET;
  if (strlen(argv[2]) > 0) inet_pton(AF_INET, argv[2], &local.sin_addr);
  latencies = calloc(max > 0 ? max : 1, sizeof *latencies);
  idle = calloc(connections > 0 ? connections : 1, sizeof *idle);
  ep = epoll_create1(0);

  double gap = 1000.0 / rate, start = now_ms(), stop_at = start + duration;
  long scheduled = 0, sent = 0;
  struct epoll_event events[256];
  for (;;) {
    double t = now_ms();
    while (scheduled < max && start + scheduled * gap <= t && start + scheduled * gap < stop_at) scheduled++;
    int ended = t >= stop_at || scheduled >= max;
    while (sent < scheduled && inflight < connections) {
      double s = start + sent * gap;
      sent++;
      if (t >= s + timeout_ms) { record(0, "NOT_SENT", t - s, NULL); errors_not_sent++; continue; }
      issue(s);
    }
    while (head && head->sched + timeout_ms <= t) finish(head, 0, "TIMEOUT", 0);
    if (ended && sent == scheduled && inflight == 0) break;
    double wake = t + 1000;
    if (!ended) wake = start + scheduled * gap;
    if (head && head->sched + timeout_ms < wake) wake = head->sched + timeout_ms;
    if (sent < scheduled && start + sent * gap + timeout_ms < wake) wake = start + sent * gap + timeout_ms;
    int wait = wake <= t ? 0 : (int)(wake - t + 0.999);
    int n = epoll_wait(ep, events, 256, wait);
    for (int i = 0; i < n; i++) on_event(events[i].data.ptr, events[i].events);
  }
  for (size_t i = 0; i < idle_count; i++) close(idle[i]->fd);

  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double cpu = ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 + ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3;
  printf("{\"cpuMs\":%.3f,\"scheduled\":%ld,\"ok\":%ld,\"bytes\":%ld,\"statuses\":{", cpu, scheduled, ok, bytes);
  int first = 1;
  for (int s = 0; s < 600; s++) if (statuses[s]) { printf("%s\"%d\":%ld", first ? "" : ",", s, statuses[s]); first = 0; }
  printf("},\"errors\":{");
  const char *names[] = { "TIMEOUT", "CLOSED", "NOT_SENT", "CONNECT" };
  long counts[] = { errors_timeout, errors_closed, errors_not_sent, errors_connect };
  first = 1;
  for (int i = 0; i < 4; i++) if (counts[i]) { printf("%s\"%s\":%ld", first ? "" : ",", names[i], counts[i]); first = 0; }
  printf("},\"samples\":[");
  for (int i = 0; i < sample_count; i++) printf("%s\"%s\"", i ? "," : "", samples[i]);
  printf("],\"latencies\":[");
  for (long i = 0; i < done; i++) printf("%s%.3f", i ? "," : "", latencies[i]);
  printf("]}\n");
  return 0;
}
