// The stand-ins' own certificate authority: a CA and a server certificate it signs, for a stand-in that must
// speak HTTPS (CloudWatch Logs: Fluent Bit's output always uses TLS). Clients trust the CA (Fluent Bit's
// tls.ca_file locally, the system bundle of its pod on the CI cluster), never `verify off`. node-forge makes the
// certificates in-process, so the stand-in in its distroless image needs no openssl.
import fs from "node:fs";
import path from "node:path";
import forge from "node-forge";
import type { StandInTls } from "./cloudwatch-logs.js";

/** The server names every stand-in certificate carries, besides the ones asked for. */
const LOCAL_NAMES = ["localhost", "127.0.0.1"];

function serial(): string {
  // Positive, 16 bytes.
  return "01" + forge.util.bytesToHex(forge.random.getBytesSync(15));
}

/**
 * A new CA and a server certificate for `names` (DNS names or IPv4 addresses; localhost and 127.0.0.1 always),
 * valid from an hour ago for `days`. Written to `dir` as ca.pem, tls.crt and tls.key (the key 0600).
 */
export function makeStandInTls(dir: string, names: readonly string[] = [], days = 30): StandInTls {
  const now = Date.now();
  const validity = (cert: forge.pki.Certificate) => {
    cert.validity.notBefore = new Date(now - 3600_000);
    cert.validity.notAfter = new Date(now + days * 24 * 3600_000);
  };
  const caKeys = forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
  const ca = forge.pki.createCertificate();
  ca.publicKey = caKeys.publicKey;
  ca.serialNumber = serial();
  validity(ca);
  const caName = [{ name: "commonName", value: "tracemesh stand-in CA" }, { name: "organizationName", value: "tracemesh" }];
  ca.setSubject(caName);
  ca.setIssuer(caName);
  ca.setExtensions([
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  ca.sign(caKeys.privateKey, forge.md.sha256.create());

  const keys = forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  validity(cert);
  const all = [...new Set([...names, ...LOCAL_NAMES])];
  cert.setSubject([{ name: "commonName", value: all[0]! }]);
  cert.setIssuer(caName);
  cert.setExtensions([
    { name: "basicConstraints", cA: false },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: true },
    { name: "subjectAltName", altNames: all.map((n) => (/^\d+\.\d+\.\d+\.\d+$/.test(n) ? { type: 7, ip: n } : { type: 2, value: n })) },
    { name: "authorityKeyIdentifier", keyIdentifier: ca.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKeys.privateKey, forge.md.sha256.create());

  const tls: StandInTls = {
    caCert: forge.pki.certificateToPem(ca),
    cert: forge.pki.certificateToPem(cert),
    key: forge.pki.privateKeyToPem(keys.privateKey),
    caFile: path.join(dir, "ca.pem"),
  };
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "tls.key"), tls.key, { mode: 0o600 });
  fs.writeFileSync(path.join(dir, "tls.crt"), tls.cert);
  // Last: a client waiting for ca.pem (the CI cluster's Fluent Bit mounts it) finds a complete set.
  fs.writeFileSync(tls.caFile + ".tmp", tls.caCert);
  fs.renameSync(tls.caFile + ".tmp", tls.caFile);
  return tls;
}

/** The CA and certificate in `dir` when they exist and the certificate is still valid for a day; else undefined. */
export function readStandInTls(dir: string): StandInTls | undefined {
  try {
    const tls: StandInTls = {
      caCert: fs.readFileSync(path.join(dir, "ca.pem"), "utf8"),
      cert: fs.readFileSync(path.join(dir, "tls.crt"), "utf8"),
      key: fs.readFileSync(path.join(dir, "tls.key"), "utf8"),
      caFile: path.join(dir, "ca.pem"),
    };
    const notAfter = forge.pki.certificateFromPem(tls.cert).validity.notAfter.getTime();
    return notAfter > Date.now() + 24 * 3600_000 ? tls : undefined;
  } catch {
    return undefined;
  }
}
