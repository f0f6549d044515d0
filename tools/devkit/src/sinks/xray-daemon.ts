import dgram from "node:dgram";
import type { XraySegment } from "@tracemesh/trace-model";

/**
 * Listens where an X-Ray SDK sends segments (AWS_XRAY_DAEMON_ADDRESS) and keeps what arrives, parsed
 * the way the X-Ray daemon and the Collector's awsxray receiver parse it: each UDP datagram is the
 * header line `{"format":"json","version":1}`, a newline, then one segment document. Datagrams
 * without that header are counted as malformed, not kept.
 */
export interface XrayDaemonCapture {
  /** host:port for AWS_XRAY_DAEMON_ADDRESS. */
  address: string;
  segments(): XraySegment[];
  malformed(): number;
  stop(): Promise<void>;
}

const HEADER = '{"format":"json","version":1}';

export function startXrayDaemonCapture(): Promise<XrayDaemonCapture> {
  const socket = dgram.createSocket("udp4");
  const segments: XraySegment[] = [];
  let malformed = 0;
  socket.on("message", (message) => {
    const text = message.toString("utf8");
    const newline = text.indexOf("\n");
    try {
      if (newline < 0 || JSON.stringify(JSON.parse(text.slice(0, newline))) !== HEADER) throw new Error("no daemon header");
      segments.push(JSON.parse(text.slice(newline + 1)) as XraySegment);
    } catch {
      malformed += 1;
    }
  });
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(0, "127.0.0.1", () => {
      resolve({
        address: `127.0.0.1:${socket.address().port}`,
        segments: () => [...segments],
        malformed: () => malformed,
        stop: () => new Promise<void>((done) => socket.close(() => done())),
      });
    });
  });
}
