/*
 * subs: an epoll subscriber client for SSE and WebSocket event streams, so that 1,000-10,000 subscribers cost the
 * load core little and a Node client does not measure itself (perf/ceilings.md: a Node `ws` client reads 2.8-5.4x
 * too low). Compiled by the bench at run time: cc -O2 -o subs subs.c
 *
 *   subs --port P [--host 127.0.0.1] [--sse N --sse-path /p] [--ws N --ws-path /p] [--header "K: V"]
 *        [--after K] [--max-pending 200]
 *
 * It opens every connection (at most --max-pending handshakes at once), prints {"ready":...} once all are open,
 * then obeys one command per stdin line and answers each with one JSON line on stdout:
 *   mark               zero the counters and the latency histograms; start the CPU clock
 *   wait <id> <ms>     wait until every open connection has received event <id> (or <ms> passed), print stats
 *   stats              print stats now
 *   quit (or EOF)      close everything and exit
 *
 * Per connection it checks that event ids arrive contiguously from --after + 1 (gaps and duplicates are counted).
 * Latency: an event whose data starts with {"t":<ns>} carries the sender's CLOCK_MONOTONIC (Node's
 * process.hrtime.bigint()); receive time minus t goes into a histogram of 10 us buckets.
 *
 * SSE: HTTP/1.1 GET, chunked or plain body, frames "id: n\nevent: x\ndata: {...}\n\n" (comments ignored).
 * WebSocket: RFC 6455 client handshake; server frames are unmasked; pings are answered with masked pongs; text
 * frames carry {"type":..,"data":{..},"eventId":n,...}; the first {"type":"connected"} frame marks it open.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define T_SSE 0
#define T_WS 1
#define LINE_MAX_ 2048
#define WSP_MAX 512
#define WS_BIG_MAX (8 << 20)
#define HBUF 8192
#define HIST_BUCKETS 100000 /* 10 us each: 0 .. 1 s, plus overflow */

enum { S_IDLE, S_CONNECTING, S_HEADERS, S_OPEN, S_CLOSED };

typedef struct {
  int fd;
  uint8_t type, state, ready, chunked, attempts;
  long long last_id;
  char *hbuf;
  int hlen;
  /* chunked decoding (SSE) */
  int cstate; /* 0 size line, 1 data, 2 CRLF after data */
  long long cleft;
  /* SSE line parsing */
  char *line;
  int llen;
  long long cur_id, cur_t;
  /* WebSocket frame parsing */
  uint8_t wh[14];
  int whlen, wneed;
  uint64_t wleft;
  uint8_t wop;
  char *wp;
  int wplen, wpcap;
  char *wbig; /* a frame longer than WSP_MAX (a replay page), kept whole; freed after parsing */
} conn_t;

typedef struct {
  long long events, bytes, gaps, missing, dups, other, closed, errors, replay;
  unsigned *hist;
  long long overflow, latn;
} stats_t;

static conn_t *conns;
static int nconns, nsse, nws, max_pending = 200;
static const char *host = "127.0.0.1", *sse_path = "/sse", *ws_path = "/ws", *extra_header = NULL;
static int port;
static long long after_id = 0;
static int epfd;
static stats_t st[2];
static int pending = 0, next_to_connect = 0, nready = 0, nopen_failed = 0, nretried = 0;
static int retry_queue[4096], nretry_queue = 0;
static struct sockaddr_in addr;
static char req_sse[HBUF], req_ws[HBUF];
static int req_sse_len, req_ws_len;
static struct timespec mark_ts;
static struct rusage mark_ru;

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void die(const char *m) {
  perror(m);
  exit(2);
}

static void record_latency(int type, long long t) {
  if (t <= 0) return;
  long long d = now_ns() - t;
  if (d < 0) d = 0;
  long long b = d / 10000;
  stats_t *s = &st[type];
  if (b >= HIST_BUCKETS) s->overflow++;
  else s->hist[b]++;
  s->latn++;
}

static void on_event(conn_t *c, long long id, long long t) {
  stats_t *s = &st[c->type];
  s->events++;
  if (id <= c->last_id) s->dups++;
  else {
    if (id != c->last_id + 1) {
      s->gaps++;
      s->missing += id - c->last_id - 1;
    }
    c->last_id = id;
  }
  record_latency(c->type, t);
}

static long long parse_num_after(const char *p, const char *end, const char *key) {
  size_t kl = strlen(key);
  const char *q = memmem(p, end - p, key, kl);
  if (!q) return -1;
  q += kl;
  long long v = 0;
  int any = 0;
  while (q < end && *q >= '0' && *q <= '9') {
    v = v * 10 + (*q - '0');
    q++;
    any = 1;
  }
  return any ? v : -1;
}

static void close_conn(conn_t *c, int error) {
  if (c->state == S_CLOSED) return;
  if (c->state != S_OPEN || !c->ready) {
    if (pending > 0 && c->state != S_IDLE) pending--;
    nopen_failed++;
    fprintf(stderr, "subs: %s connection %d failed while %s (%s, errno %d %s)\n", c->type == T_SSE ? "SSE" : "WebSocket", (int)(c - conns),
            c->state == S_CONNECTING ? "connecting" : c->state == S_HEADERS ? "awaiting the response" : "awaiting the first frame",
            error ? "error" : "closed by the server", errno, strerror(errno));
  }
  c->state = S_CLOSED;
  if (c->fd >= 0) {
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
  }
  c->fd = -1;
  if (c->ready) {
    if (error) st[c->type].errors++;
    else st[c->type].closed++;
    return;
  }
  /* A handshake that failed is tried again (at most 3 attempts per connection); reported as "retried". */
  if (c->attempts < 3 && nretry_queue < 4096) {
    free(c->hbuf);
    free(c->line);
    free(c->wp);
    free(c->wbig);
    c->hbuf = c->line = c->wp = c->wbig = NULL;
    c->llen = c->wplen = 0;
    c->cstate = 0;
    c->cleft = 0;
    c->state = S_IDLE;
    c->whlen = 0;
    c->wneed = 0;
    nopen_failed--;
    nretried++;
    retry_queue[nretry_queue++] = (int)(c - conns);
  }
}

static void mark_ready(conn_t *c) {
  if (c->ready) return;
  c->ready = 1;
  nready++;
  pending--;
}

/* ---- SSE ---- */

static void sse_line(conn_t *c) {
  char *l = c->line;
  int n = c->llen;
  if (n > 0 && l[n - 1] == '\r') n--;
  if (n == 0) {
    if (c->cur_id > 0) on_event(c, c->cur_id, c->cur_t);
    else if (c->cur_id == 0) {
    }
    c->cur_id = 0;
    c->cur_t = 0;
    return;
  }
  if (l[0] == ':') return; /* comment: connected, heartbeat */
  if (n > 4 && memcmp(l, "id: ", 4) == 0) {
    long long v = 0;
    for (int i = 4; i < n && l[i] >= '0' && l[i] <= '9'; i++) v = v * 10 + (l[i] - '0');
    c->cur_id = v;
  } else if (n > 6 && memcmp(l, "data: ", 6) == 0) {
    long long t = parse_num_after(l + 6, l + n, "{\"t\":");
    if (t > 0) c->cur_t = t;
  } else if (n > 7 && memcmp(l, "event: ", 7) == 0) {
    if (c->cur_id == 0) st[T_SSE].other++;
  }
}

static void sse_data(conn_t *c, const char *p, int n) {
  for (int i = 0; i < n; i++) {
    char ch = p[i];
    if (ch == '\n') {
      sse_line(c);
      c->llen = 0;
    } else if (c->llen < LINE_MAX_) c->line[c->llen++] = ch;
  }
}

static void sse_body(conn_t *c, const char *p, int n) {
  if (!c->chunked) {
    sse_data(c, p, n);
    return;
  }
  int i = 0;
  while (i < n) {
    if (c->cstate == 0) { /* hex size line up to \n */
      char ch = p[i++];
      if (ch == '\n') {
        c->cstate = c->cleft == 0 ? 3 : 1;
      } else if (ch >= '0' && ch <= '9') c->cleft = c->cleft * 16 + (ch - '0');
      else if (ch >= 'a' && ch <= 'f') c->cleft = c->cleft * 16 + (ch - 'a' + 10);
      else if (ch >= 'A' && ch <= 'F') c->cleft = c->cleft * 16 + (ch - 'A' + 10);
    } else if (c->cstate == 1) {
      int take = n - i < c->cleft ? n - i : (int)c->cleft;
      sse_data(c, p + i, take);
      i += take;
      c->cleft -= take;
      if (c->cleft == 0) c->cstate = 2;
    } else if (c->cstate == 2) { /* CRLF after chunk data */
      if (p[i++] == '\n') {
        c->cstate = 0;
        c->cleft = 0;
      }
    } else { /* last chunk: the server ended the stream */
      i = n;
    }
  }
}

/* ---- WebSocket ---- */

static void ws_send_pong(conn_t *c, const char *payload, int len) {
  unsigned char f[2 + 4 + 125];
  if (len > 125) len = 125;
  f[0] = 0x8A;
  f[1] = 0x80 | len;
  memset(f + 2, 0, 4); /* a zero masking key: the payload is sent as is */
  memcpy(f + 6, payload, len);
  ssize_t w = write(c->fd, f, 6 + len);
  (void)w;
}

static void ws_message(conn_t *c) {
  const char *p = c->wbig ? c->wbig : c->wp, *end = p + c->wplen;
  if (c->wop == 0x9) {
    ws_send_pong(c, p, c->wplen);
    return;
  }
  if (c->wop == 0x8) {
    if (!c->ready) {
      int code = c->wplen >= 2 ? ((unsigned char)p[0] << 8) | (unsigned char)p[1] : 0;
      fprintf(stderr, "subs: WebSocket connection %d got a close frame before its first message: code %d reason %.*s\n", (int)(c - conns), code,
              c->wplen > 2 ? c->wplen - 2 : 0, p + 2);
    }
    close_conn(c, 0);
    return;
  }
  if (c->wop != 0x1) return;
  long long id = parse_num_after(p, end, "\"eventId\":");
  if (id > 0) {
    long long t = parse_num_after(p, end, "\"data\":{\"t\":");
    on_event(c, id, t);
    return;
  }
  if (memmem(p, end - p, "\"type\":\"connected\"", 18)) {
    mark_ready(c);
    return;
  }
  if (memmem(p, end - p, "\"type\":\"replay\"", 15)) {
    /* Catch-up page: {"type":"replay","data":{"events":[{"id":n,"type":..,"data":{"t":..},...},...]}}. A socket
       that connects while events are being appended gets them here rather than as live frames. */
    st[T_WS].replay++;
    const char *q = p;
    for (;;) {
      const char *e = memmem(q, end - q, "{\"id\":", 6);
      if (!e) break;
      long long id = parse_num_after(e, end, "{\"id\":");
      const char *next = memmem(e + 6, end - e - 6, "{\"id\":", 6);
      long long t = parse_num_after(e, next ? next : end, "\"data\":{\"t\":");
      if (id > 0) on_event(c, id, t);
      q = e + 6;
    }
    return;
  }
  st[T_WS].other++;
}

static void ws_data(conn_t *c, const unsigned char *p, int n) {
  int i = 0;
  while (i < n && c->state != S_CLOSED) {
    if (c->wneed > 0) { /* reading the header */
      c->wh[c->whlen++] = p[i++];
      if (c->whlen == 2) {
        int l7 = c->wh[1] & 0x7f;
        c->wneed = l7 == 126 ? 4 : l7 == 127 ? 10 : 2;
        if (c->wh[1] & 0x80) c->wneed += 4;
      }
      if (c->whlen == c->wneed) {
        int l7 = c->wh[1] & 0x7f;
        uint64_t len = l7;
        if (l7 == 126) len = ((uint64_t)c->wh[2] << 8) | c->wh[3];
        else if (l7 == 127) {
          len = 0;
          for (int k = 2; k < 10; k++) len = (len << 8) | c->wh[k];
        }
        c->wop = c->wh[0] & 0x0f;
        c->wleft = len;
        c->wplen = 0;
        c->wneed = 0;
        c->wpcap = WSP_MAX;
        if (len > WSP_MAX && len <= WS_BIG_MAX) {
          c->wbig = malloc(len);
          c->wpcap = (int)len;
        }
        if (len == 0) {
          ws_message(c);
          c->whlen = 0;
          c->wneed = 2;
        }
      }
    } else {
      int take = (uint64_t)(n - i) < c->wleft ? n - i : (int)c->wleft;
      int room = c->wpcap - c->wplen;
      memcpy((c->wbig ? c->wbig : c->wp) + c->wplen, p + i, take < room ? take : room);
      c->wplen += take < room ? take : room;
      i += take;
      c->wleft -= take;
      if (c->wleft == 0) {
        ws_message(c);
        free(c->wbig);
        c->wbig = NULL;
        c->whlen = 0;
        c->wneed = 2;
      }
    }
  }
}

/* ---- connections ---- */

static void start_connect(conn_t *c) {
  c->attempts++;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) die("socket");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c->fd = fd;
  c->state = S_CONNECTING;
  pending++;
  int r = connect(fd, (struct sockaddr *)&addr, sizeof addr);
  if (r < 0 && errno != EINPROGRESS) {
    close_conn(c, 1);
    return;
  }
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.ptr = c};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
}

static void fill_pending(void) {
  while (pending < max_pending && nretry_queue > 0) start_connect(&conns[retry_queue[--nretry_queue]]);
  while (pending < max_pending && next_to_connect < nconns) start_connect(&conns[next_to_connect++]);
}

static void on_writable(conn_t *c) {
  if (c->state != S_CONNECTING) return;
  int err = 0;
  socklen_t el = sizeof err;
  getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
  if (err) {
    close_conn(c, 1);
    return;
  }
  const char *req = c->type == T_SSE ? req_sse : req_ws;
  int len = c->type == T_SSE ? req_sse_len : req_ws_len;
  if (write(c->fd, req, len) != len) {
    close_conn(c, 1);
    return;
  }
  c->state = S_HEADERS;
  c->hbuf = malloc(HBUF);
  c->hlen = 0;
  struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
  epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void on_body(conn_t *c, const char *p, int n) {
  st[c->type].bytes += n;
  if (c->type == T_SSE) sse_body(c, p, n);
  else ws_data(c, (const unsigned char *)p, n);
}

static void on_headers(conn_t *c, const char *p, int n) {
  int take = n < HBUF - 1 - c->hlen ? n : HBUF - 1 - c->hlen;
  memcpy(c->hbuf + c->hlen, p, take);
  c->hlen += take;
  c->hbuf[c->hlen] = 0;
  char *end = strstr(c->hbuf, "\r\n\r\n");
  if (!end) {
    if (c->hlen >= HBUF - 1) close_conn(c, 1);
    return;
  }
  int hdr_len = (int)(end - c->hbuf) + 4;
  int want = c->type == T_SSE ? 200 : 101;
  int status = 0;
  if (sscanf(c->hbuf, "HTTP/1.1 %d", &status) != 1 || status != want) {
    fprintf(stderr, "subs: unexpected response: %.200s\n", c->hbuf);
    close_conn(c, 1);
    return;
  }
  c->chunked = strcasestr(c->hbuf, "transfer-encoding: chunked") != NULL && strcasestr(c->hbuf, "transfer-encoding: chunked") < end;
  c->state = S_OPEN;
  int rest_off = hdr_len - (c->hlen - take); /* offset of the body within p */
  free(c->hbuf);
  c->hbuf = NULL;
  if (c->type == T_SSE) {
    c->line = malloc(LINE_MAX_);
    mark_ready(c);
  } else {
    c->wp = malloc(WSP_MAX);
    c->wneed = 2;
  }
  if (rest_off < n) on_body(c, p + rest_off, n - rest_off);
}

static void on_readable(conn_t *c) {
  static char buf[65536];
  for (;;) {
    ssize_t r = read(c->fd, buf, sizeof buf);
    if (r > 0) {
      if (c->state == S_HEADERS) on_headers(c, buf, (int)r);
      else if (c->state == S_OPEN) on_body(c, buf, (int)r);
      if (c->state == S_CLOSED) return;
      if (r < (ssize_t)sizeof buf) return;
    } else if (r == 0) {
      close_conn(c, 0);
      return;
    } else {
      if (errno == EAGAIN || errno == EINTR) return;
      close_conn(c, 1);
      return;
    }
  }
}

/* ---- reporting ---- */

static double pct(const stats_t *s, double q) {
  long long total = s->latn;
  if (total == 0) return -1;
  long long target = (long long)(q * (double)total);
  if (target >= total) target = total - 1;
  long long acc = 0;
  for (int b = 0; b < HIST_BUCKETS; b++) {
    acc += s->hist[b];
    if (acc > target) return (b + 1) * 0.01; /* upper edge of the bucket, ms */
  }
  return HIST_BUCKETS * 0.01;
}

static double max_lat(const stats_t *s) {
  if (s->overflow) return HIST_BUCKETS * 0.01;
  for (int b = HIST_BUCKETS - 1; b >= 0; b--)
    if (s->hist[b]) return (b + 1) * 0.01;
  return -1;
}

static void print_side(const char *name, int type, int count) {
  const stats_t *s = &st[type];
  long long minl = -1, maxl = -1;
  int open = 0;
  for (int i = 0; i < nconns; i++) {
    conn_t *c = &conns[i];
    if (c->type != type || c->state != S_OPEN) continue;
    open++;
    if (minl < 0 || c->last_id < minl) minl = c->last_id;
    if (c->last_id > maxl) maxl = c->last_id;
  }
  printf("\"%s\":{\"conns\":%d,\"open\":%d,\"events\":%lld,\"bytes\":%lld,\"gaps\":%lld,\"missing\":%lld,\"dups\":%lld,"
         "\"other\":%lld,\"replay\":%lld,\"closed\":%lld,\"errors\":%lld,\"minLast\":%lld,\"maxLast\":%lld,"
         "\"lat\":{\"n\":%lld,\"p50\":%.2f,\"p90\":%.2f,\"p99\":%.2f,\"p999\":%.2f,\"max\":%.2f}}",
         name, count, open, s->events, s->bytes, s->gaps, s->missing, s->dups, s->other, s->replay, s->closed, s->errors, minl,
         maxl, s->latn, pct(s, 0.5), pct(s, 0.9), pct(s, 0.99), pct(s, 0.999), max_lat(s));
}

static void print_stats(int reached) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  double cpu = (ru.ru_utime.tv_sec - mark_ru.ru_utime.tv_sec) + (ru.ru_utime.tv_usec - mark_ru.ru_utime.tv_usec) / 1e6 +
               (ru.ru_stime.tv_sec - mark_ru.ru_stime.tv_sec) + (ru.ru_stime.tv_usec - mark_ru.ru_stime.tv_usec) / 1e6;
  double el = (t.tv_sec - mark_ts.tv_sec) + (t.tv_nsec - mark_ts.tv_nsec) / 1e9;
  printf("{\"reached\":%s,\"cpuS\":%.4f,\"elapsedS\":%.4f,", reached ? "true" : "false", cpu, el);
  print_side("sse", T_SSE, nsse);
  printf(",");
  print_side("ws", T_WS, nws);
  printf("}\n");
  fflush(stdout);
}

static void do_mark(void) {
  for (int t = 0; t < 2; t++) {
    unsigned *h = st[t].hist;
    memset(&st[t], 0, sizeof st[t]);
    memset(h, 0, sizeof(unsigned) * HIST_BUCKETS);
    st[t].hist = h;
  }
  clock_gettime(CLOCK_MONOTONIC, &mark_ts);
  getrusage(RUSAGE_SELF, &mark_ru);
}

static int all_reached(long long id) {
  for (int i = 0; i < nconns; i++)
    if (conns[i].state == S_OPEN && conns[i].last_id < id) return 0;
  return 1;
}

static void poll_once(int timeout_ms) {
  struct epoll_event evs[1024];
  int n = epoll_wait(epfd, evs, 1024, timeout_ms);
  for (int i = 0; i < n; i++) {
    conn_t *c = evs[i].data.ptr;
    if (!c) continue; /* stdin: handled by the caller */
    if (c->state == S_CLOSED) continue;
    if (evs[i].events & EPOLLOUT) on_writable(c);
    if (c->state != S_CLOSED && (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
      if (c->state == S_CONNECTING && (evs[i].events & (EPOLLHUP | EPOLLERR))) close_conn(c, 1);
      else on_readable(c);
    }
  }
  fill_pending();
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) break;
    if (!strcmp(a, "--port")) port = atoi(v), i++;
    else if (!strcmp(a, "--host")) host = v, i++;
    else if (!strcmp(a, "--sse")) nsse = atoi(v), i++;
    else if (!strcmp(a, "--ws")) nws = atoi(v), i++;
    else if (!strcmp(a, "--sse-path")) sse_path = v, i++;
    else if (!strcmp(a, "--ws-path")) ws_path = v, i++;
    else if (!strcmp(a, "--header")) extra_header = v, i++;
    else if (!strcmp(a, "--after")) after_id = atoll(v), i++;
    else if (!strcmp(a, "--max-pending")) max_pending = atoi(v), i++;
  }
  if (!port) {
    fprintf(stderr, "usage: subs --port P [--sse N --sse-path P] [--ws N --ws-path P] [--header H] [--after K]\n");
    return 2;
  }
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rlim_t want = (rlim_t)(nsse + nws + 64);
  if (rl.rlim_cur < want) {
    rl.rlim_cur = want > rl.rlim_max ? rl.rlim_max : want;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  signal(SIGPIPE, SIG_IGN);
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  inet_pton(AF_INET, host, &addr.sin_addr);
  const char *xh = extra_header ? extra_header : "X-Bench: 1";
  req_sse_len = snprintf(req_sse, sizeof req_sse,
                         "GET %s HTTP/1.1\r\nHost: %s:%d\r\nAccept: text/event-stream\r\nLast-Event-ID: %lld\r\n%s\r\n\r\n", sse_path,
                         host, port, after_id, xh);
  req_ws_len = snprintf(req_ws, sizeof req_ws,
                        "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n%s\r\n\r\n",
                        ws_path, host, port, xh);
  nconns = nsse + nws;
  conns = calloc(nconns ? nconns : 1, sizeof(conn_t));
  for (int i = 0; i < nconns; i++) {
    conns[i].type = i < nsse ? T_SSE : T_WS;
    conns[i].fd = -1;
    conns[i].last_id = after_id;
  }
  for (int t = 0; t < 2; t++) st[t].hist = calloc(HIST_BUCKETS, sizeof(unsigned));
  epfd = epoll_create1(0);
  if (epfd < 0) die("epoll_create1");
  struct epoll_event sev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(epfd, EPOLL_CTL_ADD, 0, &sev);

  long long t0 = now_ns();
  fill_pending();
  while (nready + nopen_failed < nconns || nretry_queue > 0) poll_once(100);
  printf("{\"ready\":true,\"open\":%d,\"failed\":%d,\"retried\":%d,\"connectMs\":%.1f}\n", nready, nopen_failed, nretried, (now_ns() - t0) / 1e6);
  fflush(stdout);
  do_mark();

  char cmd[256];
  int clen = 0;
  long long wait_id = -1, wait_deadline = 0;
  for (;;) {
    poll_once(wait_id >= 0 ? 5 : 50);
    if (wait_id >= 0) {
      if (all_reached(wait_id) || now_ns() > wait_deadline) {
        print_stats(all_reached(wait_id));
        wait_id = -1;
      }
      continue;
    }
    /* stdin is non-blocking only in effect: epoll told us it is readable, or we read 0 bytes at EOF */
    struct epoll_event e;
    (void)e;
    fd_set fds;
    FD_ZERO(&fds);
    FD_SET(0, &fds);
    struct timeval tv = {0, 0};
    if (select(1, &fds, NULL, NULL, &tv) <= 0) continue;
    ssize_t r = read(0, cmd + clen, sizeof cmd - 1 - clen);
    if (r <= 0) break;
    clen += (int)r;
    cmd[clen] = 0;
    char *nl;
    while ((nl = strchr(cmd, '\n'))) {
      *nl = 0;
      if (!strncmp(cmd, "mark", 4)) {
        do_mark();
        printf("{\"marked\":true}\n");
        fflush(stdout);
      } else if (!strncmp(cmd, "wait ", 5)) {
        long long id = 0, ms = 0;
        sscanf(cmd + 5, "%lld %lld", &id, &ms);
        wait_id = id;
        wait_deadline = now_ns() + ms * 1000000LL;
      } else if (!strncmp(cmd, "stats", 5)) {
        print_stats(0);
      } else if (!strncmp(cmd, "quit", 4)) {
        goto out;
      }
      int rest = clen - (int)(nl + 1 - cmd);
      memmove(cmd, nl + 1, rest);
      clen = rest;
      cmd[clen] = 0;
    }
  }
out:
  for (int i = 0; i < nconns; i++)
    if (conns[i].fd >= 0) close(conns[i].fd);
  return 0;
}
