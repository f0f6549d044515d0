import dgram from "node:dgram";
import fs from "node:fs";
import net from "node:net";

// Ports are picked at random BELOW the kernel's ephemeral range, then checked by binding. A port the OS picks
// (listen(0)) is ephemeral, and once released it can be handed to any outgoing connection of the tests running
// side by side before our server binds it (EADDRINUSE). Below the range nothing is handed out automatically.
const LOWEST = 10_000;

function ephemeralStart(): number {
  try {
    const first = Number(fs.readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(first) && first > LOWEST + 1000 ? first : 32_768;
  } catch {
    return 32_768;
  }
}

const HIGHEST = ephemeralStart() - 1;
// Never the same port twice from this process, even once its server is gone.
const handedOut = new Set<number>();

function candidate(): number {
  for (;;) {
    const port = LOWEST + Math.floor(Math.random() * (HIGHEST - LOWEST + 1));
    if (!handedOut.has(port)) return port;
  }
}

function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once("error", () => resolve(false));
    // The wildcard address: it conflicts with a listener on any address, 127.0.0.1 included.
    server.listen({ port, host: "0.0.0.0", exclusive: true }, () => server.close(() => resolve(true)));
  });
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket("udp4");
    socket.unref();
    socket.once("error", () => resolve(false));
    socket.bind({ port, address: "0.0.0.0", exclusive: true }, () => socket.close(() => resolve(true)));
  });
}

async function pick(isFree: (port: number) => Promise<boolean>, what: string): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = candidate();
    if (await isFree(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free ${what} port in ${LOWEST}..${HIGHEST} after 200 tries`);
}

/** A TCP port that was free on every address a moment ago, outside the ephemeral range. */
export function freePort(): Promise<number> {
  return pick(tcpFree, "TCP");
}

/** A UDP port that was free on every address a moment ago, outside the ephemeral range. */
export function freeUdpPort(): Promise<number> {
  return pick(udpFree, "UDP");
}
