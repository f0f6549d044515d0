// A lean HTTP/1.1 keep-alive client for the hot path when nothing observes undici (no instrumentation on
// its diagnostics channels, e.g. with the SDK off): up to `connections` sockets, one request at a time on
// each (no pipelining), each request written in one go, responses parsed only as far as loadgen needs
// (status, framing, keep-alive, the body when asked for). Why: profiled against a trivial server, undici's
// per-request work (a Request object, header validation, a timer each, two setImmediate hops before a
// socket is reused) cost as much CPU as the syscalls themselves; loadgen is judged in requests per CPU second.
//
// Errors carry undici's codes (UND_ERR_HEADERS_TIMEOUT, UND_ERR_SOCKET…) so a summary's error kinds read the
// same whichever client sent the requests. Timeouts are checked by one sweep timer, not a timer per request:
// they never fire early, and late by at most a sweep interval (undici's own timers are coarse too).
import net from "node:net";
import { performance } from "node:perf_hooks";

export interface Http1Request {
  readonly method: string;
  /** Request line and headers, up to and including the blank line (latin1). */
  readonly head: string | Buffer;
  readonly body: Buffer | undefined;
  /** Buffer the response body; otherwise it is read and dropped. */
  readonly wantBody: boolean;
  /** Headers and body timeout of this request (ms); the pool's when undefined. */
  readonly timeoutMs?: number;
  onResponse(status: number, body: Buffer | undefined): void;
  onError(err: Error): void;
}

export interface Http1Options {
  connections: number;
  /** Longest wait for the response headers, and for each piece of the body after them. */
  timeoutMs: number;
  connectTimeoutMs: number;
  /** How long an idle socket is reused when the server gives no `keep-alive: timeout=` hint. */
  keepAliveTimeoutMs: number;
}

export class Http1Error extends Error {
  override readonly name = "Http1Error";
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

// Like undici: stop reusing an idle socket this long before the server's announced keep-alive timeout.
const KEEP_ALIVE_THRESHOLD_MS = 2000;
const KEEP_ALIVE_MAX_MS = 600_000;
const MAX_HEAD_BYTES = 16 * 1024; // Node's http.maxHeaderSize, undici's default
const MAX_LINE_BYTES = 1024; // a chunk-size or trailer line

// Every socket reads into this one buffer (net's `onread`): no allocation per read and no stream machinery.
// Its bytes are only valid during the callback, so whatever is kept (a partial head, a body) is copied.
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

// Parser states of a connection.
const HEAD = 0; // status line and headers
const FIXED = 1; // content-length body
const CHUNK_SIZE = 2;
const CHUNK_DATA = 3;
const CHUNK_END = 4; // the CRLF after a chunk's data
const TRAILERS = 5;
const UNTIL_CLOSE = 6; // no framing: the body ends when the server closes

class Conn {
  req: Http1Request | undefined;
  connected = false;
  closed = false;
  /** performance.now() time after which the pending step (connect, headers, next body piece) timed out; 0: none. */
  deadline = 0;
  deadlineCode = "";
  /** While idle: reusable until this time (the pool's clock, refreshed by each sweep). */
  idleUntil = 0;
  keepAliveMs: number;
  // Response parser.
  state = HEAD;
  pending: Buffer | undefined;
  status = 0;
  remaining = 0;
  keepAlive = true;
  chunks: Buffer[] | undefined;

  constructor(
    readonly socket: net.Socket,
    keepAliveMs: number,
  ) {
    this.keepAliveMs = keepAliveMs;
  }
}

export class Http1Pool {
  private readonly all = new Set<Conn>();
  /** Connected sockets without a request; the last released is reused first. */
  private readonly idle: Conn[] = [];
  /** Requests waiting for a socket (FIFO: an array and the index of its head). */
  private queue: Http1Request[] = [];
  private queueHead = 0;
  private readonly host: string;
  private readonly port: number;
  /** performance.now() as of the last sweep (for idle sockets; deadlines are set from the real clock). */
  private clock = performance.now();
  private readonly sweepTimer: NodeJS.Timeout;
  private destroyed = false;
  private closing: (() => void) | undefined;

  constructor(
    url: URL,
    private readonly opts: Http1Options,
  ) {
    if (url.protocol !== "http:") throw new Error(`Http1Pool speaks plain http, not ${url.protocol}`);
    this.host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
    this.port = url.port ? Number(url.port) : 80;
    const tickMs = Math.min(250, Math.max(5, Math.min(opts.timeoutMs, opts.connectTimeoutMs) / 10));
    this.sweepTimer = setInterval(() => this.sweep(), tickMs);
    this.sweepTimer.unref();
  }

  /** Sends req on an idle socket, a new one, or after the queued requests; the outcome goes to its callbacks. */
  dispatch(req: Http1Request): void {
    if (this.destroyed || this.closing) {
      req.onError(this.destroyed ? new Http1Error("UND_ERR_DESTROYED", "The client is destroyed") : new Http1Error("UND_ERR_CLOSED", "The client is closed"));
      return;
    }
    const conn = this.takeIdle();
    if (conn) this.send(conn, req);
    else if (this.all.size < this.opts.connections) this.open(req);
    else this.queue.push(req);
  }

  /** Lets queued and running requests finish, then closes every socket. */
  close(): Promise<void> {
    if (this.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      this.closing = resolve;
      this.closeIfDone();
    });
  }

  /** Fails queued and running requests (UND_ERR_DESTROYED, reported as "aborted") and closes every socket. */
  destroy(): Promise<void> {
    if (this.destroyed) return Promise.resolve();
    this.destroyed = true;
    clearInterval(this.sweepTimer);
    const err = new Http1Error("UND_ERR_DESTROYED", "The client is destroyed");
    const waiting = this.queue.slice(this.queueHead);
    this.queue = [];
    this.queueHead = 0;
    const running: Http1Request[] = [];
    for (const c of [...this.all]) {
      if (c.req) running.push(c.req);
      c.req = undefined;
      this.drop(c);
    }
    for (const r of running) r.onError(err);
    for (const r of waiting) r.onError(err);
    this.closing?.();
    return Promise.resolve();
  }

  private takeIdle(): Conn | undefined {
    let conn: Conn | undefined;
    while ((conn = this.idle.pop())) {
      if (this.clock <= conn.idleUntil) return conn;
      this.drop(conn); // idle for too long: the server may be closing it right now
    }
    return undefined;
  }

  private nextQueued(): Http1Request | undefined {
    if (this.queueHead >= this.queue.length) return undefined;
    const req = this.queue[this.queueHead]!;
    this.queue[this.queueHead++] = undefined as unknown as Http1Request;
    if (this.queueHead === this.queue.length) {
      this.queue.length = 0;
      this.queueHead = 0;
    } else if (this.queueHead >= 1024 && this.queueHead * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
    return req;
  }

  private open(req: Http1Request): void {
    let conn: Conn;
    const socket = net.connect({
      host: this.host,
      port: this.port,
      onread: {
        buffer: READ_BUFFER,
        callback: (n: number) => {
          this.onData(conn, READ_BUFFER, n);
          return true; // keep reading
        },
      },
    });
    socket.setNoDelay(true);
    conn = new Conn(socket, this.opts.keepAliveTimeoutMs);
    conn.req = req;
    conn.deadline = performance.now() + this.opts.connectTimeoutMs;
    conn.deadlineCode = "UND_ERR_CONNECT_TIMEOUT";
    this.all.add(conn);
    socket.on("connect", () => {
      conn.connected = true;
      if (conn.req) this.write(conn, conn.req);
      else this.release(conn);
    });
    socket.on("end", () => {
      if (conn.req && conn.state === UNTIL_CLOSE) this.complete(conn, false);
      else this.fail(conn, new Http1Error("UND_ERR_SOCKET", "other side closed"));
    });
    socket.on("error", (err) => this.fail(conn, err));
    socket.on("close", () => this.fail(conn, new Http1Error("UND_ERR_SOCKET", "closed")));
  }

  private send(conn: Conn, req: Http1Request): void {
    conn.req = req;
    this.write(conn, req);
  }

  private write(conn: Conn, req: Http1Request): void {
    conn.state = HEAD;
    conn.status = 0;
    conn.chunks = undefined;
    conn.deadline = performance.now() + (req.timeoutMs ?? this.opts.timeoutMs);
    conn.deadlineCode = "UND_ERR_HEADERS_TIMEOUT";
    const socket = conn.socket;
    if (req.body === undefined) {
      socket.write(req.head);
    } else {
      // One syscall for head and body.
      socket.cork();
      socket.write(req.head);
      socket.write(req.body);
      socket.uncork();
    }
  }

  /** Back to the idle list, or straight on to the next queued request. */
  private release(conn: Conn): void {
    const next = this.nextQueued();
    if (next) return this.send(conn, next);
    conn.deadline = 0;
    conn.idleUntil = this.clock + conn.keepAliveMs;
    this.idle.push(conn);
    if (this.closing) this.closeIfDone();
  }

  /** Closes the socket (once) and opens another for a queued request. */
  private drop(conn: Conn): void {
    if (conn.closed) return;
    conn.closed = true;
    this.all.delete(conn);
    const i = this.idle.lastIndexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    conn.socket.destroy();
    if (!this.destroyed) {
      const next = this.queue.length > this.queueHead && this.all.size < this.opts.connections ? this.nextQueued() : undefined;
      if (next) this.open(next);
      else if (this.closing) this.closeIfDone();
    }
  }

  private fail(conn: Conn, err: Error): void {
    const req = conn.req;
    conn.req = undefined;
    this.drop(conn);
    req?.onError(err);
  }

  private complete(conn: Conn, leftover: boolean): void {
    const req = conn.req!;
    const chunks = conn.chunks;
    const body = chunks ? (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)) : req.wantBody ? Buffer.alloc(0) : undefined;
    const status = conn.status;
    conn.req = undefined;
    conn.chunks = undefined;
    conn.pending = undefined;
    // With one request at a time, bytes after a complete response are a protocol error: never reuse that socket.
    if (conn.keepAlive && !leftover) this.release(conn);
    else this.drop(conn);
    req.onResponse(status, body);
  }

  private closeIfDone(): void {
    if (!this.closing || this.queue.length > this.queueHead) return;
    for (const c of this.all) if (c.req) return;
    const done = this.closing;
    this.closing = undefined;
    this.destroyed = true;
    clearInterval(this.sweepTimer);
    for (const c of [...this.all]) this.drop(c);
    done();
  }

  private sweep(): void {
    this.clock = performance.now();
    for (const c of this.all) {
      if (c.req) {
        if (c.deadline > 0 && this.clock > c.deadline) this.fail(c, new Http1Error(c.deadlineCode, timeoutMessage(c.deadlineCode)));
      } else if (c.connected && this.clock > c.idleUntil) {
        this.drop(c);
      }
    }
  }

  /** One read's bytes: chunk[0, length) (READ_BUFFER, so only valid during the call). */
  private onData(conn: Conn, chunk: Buffer, length: number): void {
    if (!conn.req) {
      // Bytes on an idle socket (a late 408, garbage): not a response to anything we sent.
      this.drop(conn);
      return;
    }
    let buf = chunk;
    let n = length;
    if (conn.pending) {
      buf = Buffer.concat([conn.pending, chunk.subarray(0, length)]);
      n = buf.length;
      conn.pending = undefined;
    }
    let i = 0;
    while (i < n) {
      switch (conn.state) {
        case HEAD: {
          const end = this.parseHead(conn, buf, i, n);
          if (typeof end !== "number") return this.fail(conn, end);
          if (end < 0) {
            if (n - i > MAX_HEAD_BYTES) return this.fail(conn, new Http1Error("UND_ERR_HEADERS_OVERFLOW", "Headers Overflow Error"));
            conn.pending = Buffer.from(buf.subarray(i, n));
            i = n;
            break;
          }
          if (end - i > MAX_HEAD_BYTES) return this.fail(conn, new Http1Error("UND_ERR_HEADERS_OVERFLOW", "Headers Overflow Error"));
          i = end;
          if (conn.state === HEAD) {
            // A complete response without a body (or an interim 1xx, after which the real one follows).
            if (conn.status >= 200) {
              this.complete(conn, i < n);
              return;
            }
            continue;
          }
          conn.deadlineCode = "UND_ERR_BODY_TIMEOUT"; // its deadline is set below, unless the body is complete
          if (conn.req.wantBody) conn.chunks = [];
          if (conn.state === FIXED && conn.remaining === 0) {
            this.complete(conn, i < n);
            return;
          }
          break;
        }
        case FIXED:
        case CHUNK_DATA: {
          const take = Math.min(conn.remaining, n - i);
          conn.chunks?.push(Buffer.from(buf.subarray(i, i + take)));
          conn.remaining -= take;
          i += take;
          if (conn.remaining > 0) break;
          if (conn.state === FIXED) {
            this.complete(conn, i < n);
            return;
          }
          conn.state = CHUNK_END;
          conn.remaining = 2;
          break;
        }
        case CHUNK_END: {
          // Exactly CRLF, possibly split across reads.
          const expected = conn.remaining === 2 ? 0x0d : 0x0a;
          if (buf[i] !== expected) return this.fail(conn, new Http1Error("HPE_STRICT", "Expected CRLF after chunk"));
          i++;
          if (--conn.remaining === 0) conn.state = CHUNK_SIZE;
          break;
        }
        case CHUNK_SIZE:
        case TRAILERS: {
          let eol = i;
          while (eol + 1 < n && !(buf[eol] === 0x0d && buf[eol + 1] === 0x0a)) eol++;
          if (eol + 1 >= n) {
            if (n - i > MAX_LINE_BYTES) return this.fail(conn, new Http1Error("HPE_INVALID_CHUNK_SIZE", "Chunk size line too long"));
            conn.pending = Buffer.from(buf.subarray(i, n));
            i = n;
            break;
          }
          const line = buf.toString("latin1", i, eol);
          i = eol + 2;
          if (conn.state === TRAILERS) {
            if (line.length === 0) {
              this.complete(conn, i < n);
              return;
            }
            break;
          }
          const semi = line.indexOf(";");
          const hex = (semi < 0 ? line : line.slice(0, semi)).trim();
          if (!/^[0-9a-fA-F]{1,12}$/.test(hex)) return this.fail(conn, new Http1Error("HPE_INVALID_CHUNK_SIZE", "Invalid character in chunk size"));
          const size = parseInt(hex, 16);
          if (size === 0) conn.state = TRAILERS;
          else {
            conn.state = CHUNK_DATA;
            conn.remaining = size;
          }
          break;
        }
        case UNTIL_CLOSE: {
          conn.chunks?.push(Buffer.from(buf.subarray(i, n)));
          i = n;
          break;
        }
      }
    }
    // The body goes on in a later read: the next piece is due within the timeout.
    if (conn.req && conn.state !== HEAD) conn.deadline = performance.now() + (conn.req.timeoutMs ?? this.opts.timeoutMs);
  }

  /**
   * Parses the status line and headers starting at b[p], up to n: the index just past the blank line ending
   * them (status, framing and keep-alive then set on conn), -1 while they are incomplete, or the error of what
   * is not HTTP/1.x. One pass over the bytes, no string per response, only four headers looked at.
   */
  private parseHead(conn: Conn, b: Buffer, p: number, n: number): number | Http1Error {
    // "HTTP/1.x SSS[ reason]"
    if (n - p < 13) return -1;
    if (!equalsLower(b, p, "http/1.") || b[p + 8] !== 0x20) return new Http1Error("HPE_INVALID_CONSTANT", "Expected HTTP/");
    const minor = digitAt(b, p + 7);
    const status = digitAt(b, p + 9) * 100 + digitAt(b, p + 10) * 10 + digitAt(b, p + 11);
    if (!(minor >= 0) || !(status >= 100) || (b[p + 12] !== 0x20 && b[p + 12] !== 0x0d)) {
      return new Http1Error("HPE_INVALID_STATUS", "Invalid response status");
    }
    let contentLength = -1;
    let chunked = false;
    let otherCoding = false;
    let close = false;
    let keepAlive = false;
    let keepAliveHint = -1;
    let i = p + 12;
    while (i < n && b[i] !== 0x0d) i++; // the CR ending the status line
    for (;;) {
      // b[i] is a CR ending a line.
      if (i + 3 >= n) return -1;
      if (b[i + 1] !== 0x0a) return new Http1Error("HPE_LF_EXPECTED", "Missing expected LF after header value");
      const ls = i + 2;
      if (b[ls] === 0x0d) {
        if (b[ls + 1] !== 0x0a) return new Http1Error("HPE_LF_EXPECTED", "Missing expected LF after headers");
        i = ls + 2; // past the blank line
        break;
      }
      let le = ls;
      while (le < n && b[le] !== 0x0d) le++;
      i = le;
      if (le >= n) return -1;
      let colon = ls;
      while (colon < le && b[colon] !== 0x3a) colon++;
      if (colon === le || colon === ls) return new Http1Error("HPE_INVALID_HEADER_TOKEN", "Invalid header token");
      const len = colon - ls;
      if (len !== 14 && len !== 17 && len !== 10) continue;
      let vs = colon + 1;
      let ve = le;
      while (vs < ve && (b[vs] === 0x20 || b[vs] === 0x09)) vs++;
      while (ve > vs && (b[ve - 1] === 0x20 || b[ve - 1] === 0x09)) ve--;
      if (len === 14 && equalsLower(b, ls, "content-length")) {
        let v = 0;
        for (let k = vs; k < ve; k++) {
          const d = b[k]! - 0x30;
          if (d < 0 || d > 9) return new Http1Error("HPE_INVALID_CONTENT_LENGTH", "Invalid character in Content-Length");
          v = v * 10 + d;
        }
        if (ve === vs || ve - vs > 15) return new Http1Error("HPE_INVALID_CONTENT_LENGTH", "Invalid Content-Length");
        if (contentLength >= 0 && v !== contentLength) return new Http1Error("HPE_UNEXPECTED_CONTENT_LENGTH", "Duplicate Content-Length");
        contentLength = v;
      } else if (len === 17 && equalsLower(b, ls, "transfer-encoding")) {
        const codings = b.toString("latin1", vs, ve).toLowerCase().split(",");
        chunked = codings[codings.length - 1]!.trim() === "chunked";
        otherCoding = !chunked;
      } else if (len === 10 && equalsLower(b, ls, "connection")) {
        if (indexAfterLower(b, vs, ve, "close") >= 0) close = true;
        if (indexAfterLower(b, vs, ve, "keep-alive") >= 0) keepAlive = true;
      } else if (len === 10 && equalsLower(b, ls, "keep-alive")) {
        let k = indexAfterLower(b, vs, ve, "timeout=");
        let v = 0;
        let digits = 0;
        for (; k >= 0 && k < ve && digits < 9; k++, digits++) {
          const d = b[k]! - 0x30;
          if (d < 0 || d > 9) break;
          v = v * 10 + d;
        }
        if (digits > 0) keepAliveHint = v * 1000;
      }
    }
    conn.status = status;
    if (status < 200) {
      conn.state = HEAD; // interim response: the final one follows
      return i;
    }
    conn.keepAlive = minor === 0 ? keepAlive && !close : !close;
    if (conn.keepAlive && keepAliveHint >= 0) {
      const ms = Math.min(keepAliveHint - KEEP_ALIVE_THRESHOLD_MS, KEEP_ALIVE_MAX_MS);
      if (ms <= 0) conn.keepAlive = false;
      else conn.keepAliveMs = ms;
    }
    if (status === 204 || status === 304 || conn.req!.method === "HEAD") conn.state = HEAD;
    else if (chunked) conn.state = CHUNK_SIZE;
    else if (otherCoding || contentLength < 0) {
      conn.state = UNTIL_CLOSE;
      conn.keepAlive = false;
    } else {
      conn.state = FIXED;
      conn.remaining = contentLength;
    }
    return i;
  }
}

/** Whether b at `at` holds the lowercase ASCII `lit`, letters in either case. */
function equalsLower(b: Buffer, at: number, lit: string): boolean {
  for (let k = 0; k < lit.length; k++) {
    const c = b[at + k];
    const l = lit.charCodeAt(k);
    if (c !== l && !(l >= 0x61 && l <= 0x7a && c === l - 0x20)) return false;
  }
  return true;
}

/** Index just past the first case-insensitive `lit` in b[from, to), or -1. */
function indexAfterLower(b: Buffer, from: number, to: number, lit: string): number {
  for (let i = from; i + lit.length <= to; i++) if (equalsLower(b, i, lit)) return i + lit.length;
  return -1;
}

/** The decimal digit at i, or NaN (so any arithmetic with it fails the checks). */
function digitAt(b: Buffer, i: number): number {
  const c = b[i]! - 0x30;
  return c >= 0 && c <= 9 ? c : NaN;
}

function timeoutMessage(code: string): string {
  return code === "UND_ERR_CONNECT_TIMEOUT" ? "Connect Timeout Error" : code === "UND_ERR_HEADERS_TIMEOUT" ? "Headers Timeout Error" : "Body Timeout Error";
}
