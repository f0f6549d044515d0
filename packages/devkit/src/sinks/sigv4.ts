import crypto from "node:crypto";
import type http from "node:http";

const sha256 = (data: string | Buffer) => crypto.createHash("sha256").update(data).digest("hex");
const hmac = (key: string | Buffer, data: string) => crypto.createHmac("sha256", key).update(data).digest();

const AUTH = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

export interface SigV4Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface SigV4Result {
  /** Why AWS would refuse the request (403), or undefined when the signature is valid. */
  problem?: string;
  region?: string;
  /** `<date>/<region>/<service>/aws4_request`. */
  credentialScope?: string;
}

function canonicalQuery(search: URLSearchParams): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return [...search.entries()].map(([k, v]) => `${enc(k)}=${enc(v)}`).sort().join("&");
}

/**
 * Verifies an AWS Signature Version 4 as AWS does: the Authorization header's scope names `service`,
 * the signing key derives from the known secret, the signature covers the method, path, query, the
 * signed headers (host and x-amz-date among them) and the SHA-256 of the body as received; X-Amz-Date
 * is within 15 minutes of now.
 */
export function verifySigV4(req: http.IncomingMessage, body: Buffer, service: string, credentials: SigV4Credentials): SigV4Result {
  const m = AUTH.exec(String(req.headers.authorization ?? ""));
  if (!m) return { problem: `missing or malformed SigV4 Authorization header for ${service}` };
  const [, accessKeyId, date, region, scopeService, signedHeaderList, signature] = m as unknown as string[];
  const credentialScope = `${date}/${region}/${scopeService}/aws4_request`;
  if (scopeService !== service) return { problem: `credential scope is for service ${scopeService}, not ${service}`, credentialScope };
  if (accessKeyId !== credentials.accessKeyId) return { problem: `unknown access key ${accessKeyId}`, credentialScope };
  const amzDate = String(req.headers["x-amz-date"] ?? "");
  if (!/^\d{8}T\d{6}Z$/.test(amzDate) || !amzDate.startsWith(date!)) return { problem: "X-Amz-Date missing or not the credential's date", credentialScope };
  const signedAt = Date.UTC(+amzDate.slice(0, 4), +amzDate.slice(4, 6) - 1, +amzDate.slice(6, 8), +amzDate.slice(9, 11), +amzDate.slice(11, 13), +amzDate.slice(13, 15));
  if (Math.abs(Date.now() - signedAt) > 15 * 60_000) return { problem: "signature expired (X-Amz-Date more than 15 minutes away)", credentialScope };
  const signedHeaders = signedHeaderList!.split(";");
  for (const required of ["host", "x-amz-date"]) if (!signedHeaders.includes(required)) return { problem: `${required} is not signed`, credentialScope };

  const bodyHash = sha256(body);
  const declared = req.headers["x-amz-content-sha256"];
  if (declared !== undefined && declared !== bodyHash && declared !== "UNSIGNED-PAYLOAD") return { problem: "x-amz-content-sha256 does not match the body", credentialScope };
  const url = new URL(req.url ?? "/", "http://stand-in");
  const headerValue = (name: string) => {
    const v = req.headers[name];
    return (Array.isArray(v) ? v.join(",") : String(v ?? "")).trim().replace(/\s+/g, " ");
  };
  const canonicalRequest = [
    req.method ?? "POST",
    url.pathname.split("/").map((s) => encodeURIComponent(decodeURIComponent(s))).join("/"),
    canonicalQuery(url.searchParams),
    signedHeaders.map((h) => `${h}:${headerValue(h)}\n`).join(""),
    signedHeaderList,
    declared === "UNSIGNED-PAYLOAD" ? "UNSIGNED-PAYLOAD" : bodyHash,
  ].join("\n");
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, credentialScope, sha256(canonicalRequest)].join("\n");
  const key = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, date!), region!), scopeService!), "aws4_request");
  const expected = crypto.createHmac("sha256", key).update(stringToSign).digest("hex");
  if (!crypto.timingSafeEqual(Buffer.from(expected), Buffer.from(signature!))) {
    return { problem: "The request signature we calculated does not match the signature you provided", credentialScope, region };
  }
  return { credentialScope, region };
}

/** Signs a request the same way (for tests that call a stand-in directly). */
export function signSigV4(opts: {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: Buffer;
  service: string;
  region: string;
  credentials: SigV4Credentials;
  now?: Date;
}): Record<string, string> {
  const url = new URL(opts.url);
  const amzDate = (opts.now ?? new Date()).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  const date = amzDate.slice(0, 8);
  const headers: Record<string, string> = { ...opts.headers, host: url.host, "x-amz-date": amzDate };
  const names = Object.keys(headers).map((h) => h.toLowerCase()).sort();
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const scope = `${date}/${opts.region}/${opts.service}/aws4_request`;
  const canonicalRequest = [
    opts.method,
    url.pathname,
    canonicalQuery(url.searchParams),
    names.map((h) => `${h}:${lower[h]!.trim()}\n`).join(""),
    names.join(";"),
    sha256(opts.body),
  ].join("\n");
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonicalRequest)].join("\n");
  const key = hmac(hmac(hmac(hmac(`AWS4${opts.credentials.secretAccessKey}`, date), opts.region), opts.service), "aws4_request");
  const signature = crypto.createHmac("sha256", key).update(stringToSign).digest("hex");
  return {
    ...headers,
    authorization: `AWS4-HMAC-SHA256 Credential=${opts.credentials.accessKeyId}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`,
  };
}
