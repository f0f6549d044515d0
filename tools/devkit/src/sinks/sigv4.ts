// AWS Signature Version 4, verified as AWS verifies it, for every AWS stand-in (X-Ray's PutTraceSegments and OTLP
// endpoints here and on the CI cluster, CloudWatch Logs): the canonical request is rebuilt from the request as it
// arrived — normalised path URI-encoded again, query sorted, the signed headers from the raw header list (values
// trimmed, inner spaces folded, repeats joined by commas), the body's SHA-256 — and signed with the known secret;
// the scope must name the expected service and region, and X-Amz-Date must be within 15 minutes. Each refusal
// carries the error code and message AWS sends for it, and awsAuthError() shapes the answer per protocol.
// (No AWS SDK here: @aws-sdk/signature-v4 signs, it does not verify; the tests sign with the real SDK.)
import crypto from "node:crypto";
import type http from "node:http";

const sha256 = (data: string | Buffer) => crypto.createHash("sha256").update(data).digest("hex");
const hmac = (key: string | Buffer, data: string) => crypto.createHmac("sha256", key).update(data).digest();

export interface SigV4Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** The error codes AWS answers an authentication failure with. */
export type SigV4ErrorCode =
  | "MissingAuthenticationTokenException"
  | "IncompleteSignatureException"
  | "UnrecognizedClientException"
  | "InvalidSignatureException";

export interface SigV4Result {
  /** Why AWS would refuse the request (its message), or undefined when the signature is valid. */
  problem?: string;
  /** AWS's error code for the refusal. */
  code?: SigV4ErrorCode;
  region?: string;
  /** `<date>/<region>/<service>/aws4_request`. */
  credentialScope?: string;
}

export interface SigV4Options {
  /** The region the stand-in serves: a scope naming another is refused. Unset: any region is accepted. */
  region?: string;
  /** The server's clock (tests). */
  now?: Date;
}

/** How far X-Amz-Date may be from the server's clock. */
const MAX_SKEW_MS = 15 * 60_000;

/** RFC 3986 encoding as SigV4 wants it: encodeURIComponent plus ! ' ( ) *. */
function uriEscape(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * The canonical URI of a path as it came on the wire: `.`/`..` and empty segments removed, then URI-encoded once
 * more (every service but S3 signs the path encoded twice: once into the URL, once here).
 */
export function canonicalPath(rawPath: string): string {
  const segments: string[] = [];
  for (const segment of rawPath.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") segments.pop();
    else segments.push(segment);
  }
  const normalized = `/${segments.join("/")}${rawPath.endsWith("/") && segments.length > 0 ? "/" : ""}`;
  return uriEscape(normalized).replace(/%2F/g, "/");
}

/** The canonical query: every parameter decoded, re-encoded per RFC 3986, sorted by name then value. */
export function canonicalQuery(rawQuery: string): string {
  if (!rawQuery) return "";
  return rawQuery
    .split("&")
    .filter(Boolean)
    .map((pair) => {
      const at = pair.indexOf("=");
      const [k, v] = at < 0 ? [pair, ""] : [pair.slice(0, at), pair.slice(at + 1)];
      return [uriEscape(safeDecode(k)), uriEscape(safeDecode(v))] as const;
    })
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
}

/** Header values by lowercase name from the raw list: trimmed, inner whitespace folded, repeats joined by ",". */
function rawHeaderValues(rawHeaders: readonly string[]): Map<string, string> {
  const values = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    values.set(name, [...(values.get(name) ?? []), rawHeaders[i + 1]!.trim().replace(/\s+/g, " ")]);
  }
  return new Map([...values].map(([name, list]) => [name, list.join(",")]));
}

/** `20250101T120000Z` → epoch ms, or NaN. */
function amzDateMs(amzDate: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : NaN;
}

const amzDate = (d: Date): string => d.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");

/** The parts of `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`, or the missing ones. */
function parseAuthorization(header: string): { credential: string; signedHeaders: string; signature: string } | { missing: string[] } {
  const params = new Map<string, string>();
  for (const part of header.slice("AWS4-HMAC-SHA256".length).split(",")) {
    const at = part.indexOf("=");
    if (at > 0) params.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
  }
  const missing = ["Credential", "Signature", "SignedHeaders"].filter((name) => !params.get(name));
  if (missing.length > 0) return { missing };
  return { credential: params.get("Credential")!, signedHeaders: params.get("SignedHeaders")!, signature: params.get("Signature")! };
}

/**
 * Verifies an AWS Signature Version 4 as AWS does for `service` (and `options.region`, when given): see the top of
 * this file. A refusal has `problem` (AWS's message) and `code` (AWS's error code); awsAuthError() turns it into
 * AWS's HTTP answer.
 */
export function verifySigV4(
  req: http.IncomingMessage,
  body: Buffer,
  service: string,
  credentials: SigV4Credentials,
  options: SigV4Options = {},
): SigV4Result {
  const refuse = (code: SigV4ErrorCode, problem: string, extra: Partial<SigV4Result> = {}): SigV4Result => ({ code, problem, ...extra });
  const authorization = String(req.headers.authorization ?? "");
  if (!authorization) return refuse("MissingAuthenticationTokenException", "Missing Authentication Token");
  if (!authorization.startsWith("AWS4-HMAC-SHA256 ")) {
    return refuse("IncompleteSignatureException", `Authorization header requires 'Credential' parameter. Authorization=${authorization}`);
  }
  const parsed = parseAuthorization(authorization);
  if ("missing" in parsed) {
    return refuse("IncompleteSignatureException", `${parsed.missing.map((p) => `Authorization header requires '${p}' parameter.`).join(" ")} Authorization=${authorization}`);
  }
  const scope = parsed.credential.split("/");
  if (scope.length !== 5 || scope[4] !== "aws4_request") {
    return refuse("IncompleteSignatureException", `Credential should have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${parsed.credential}'`);
  }
  const [accessKeyId, date, region, scopeService] = scope as [string, string, string, string, string];
  const credentialScope = `${date}/${region}/${scopeService}/aws4_request`;
  const signedAt = String(req.headers["x-amz-date"] ?? "");
  if (!signedAt) {
    return refuse("IncompleteSignatureException", `Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=${authorization}`, { credentialScope });
  }
  const signedAtMs = amzDateMs(signedAt);
  if (Number.isNaN(signedAtMs)) return refuse("IncompleteSignatureException", `X-Amz-Date must be in ISO 8601 basic format (yyyyMMdd'T'HHmmss'Z'), got '${signedAt}'`, { credentialScope });
  if (date !== signedAt.slice(0, 8)) {
    return refuse("InvalidSignatureException", `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${date}' != '${signedAt.slice(0, 8)}', from '${signedAt}'.`, { credentialScope });
  }
  if (scopeService !== service) return refuse("InvalidSignatureException", `Credential should be scoped to correct service: '${service}'. `, { credentialScope });
  if (options.region && region !== options.region) return refuse("InvalidSignatureException", `Credential should be scoped to a valid region, not '${region}'. `, { credentialScope });
  const now = options.now ?? new Date();
  if (signedAtMs < now.getTime() - MAX_SKEW_MS) {
    return refuse("InvalidSignatureException", `Signature expired: ${signedAt} is now earlier than ${amzDate(new Date(now.getTime() - MAX_SKEW_MS))} (${amzDate(now)} - 15 min.)`, { credentialScope });
  }
  if (signedAtMs > now.getTime() + MAX_SKEW_MS) {
    return refuse("InvalidSignatureException", `Signature not yet current: ${signedAt} is still later than ${amzDate(new Date(now.getTime() + MAX_SKEW_MS))} (${amzDate(now)} + 15 min.)`, { credentialScope });
  }
  const signedHeaders = parsed.signedHeaders.split(";");
  if (!signedHeaders.includes("host")) {
    return refuse("InvalidSignatureException", "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.", { credentialScope });
  }
  if (accessKeyId !== credentials.accessKeyId) return refuse("UnrecognizedClientException", "The security token included in the request is invalid.", { credentialScope });

  const headers = rawHeaderValues(req.rawHeaders);
  const declared = headers.get("x-amz-content-sha256");
  const payloadHash = declared === "UNSIGNED-PAYLOAD" ? declared : sha256(body);
  const url = req.url ?? "/";
  const queryAt = url.indexOf("?");
  const canonicalRequest = [
    req.method ?? "GET",
    canonicalPath(queryAt < 0 ? url : url.slice(0, queryAt)),
    canonicalQuery(queryAt < 0 ? "" : url.slice(queryAt + 1)),
    signedHeaders.map((h) => `${h}:${headers.get(h) ?? ""}\n`).join(""),
    parsed.signedHeaders,
    payloadHash,
  ].join("\n");
  const stringToSign = ["AWS4-HMAC-SHA256", signedAt, credentialScope, sha256(canonicalRequest)].join("\n");
  const key = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, date), region), scopeService), "aws4_request");
  const expected = crypto.createHmac("sha256", key).update(stringToSign).digest("hex");
  const given = Buffer.from(parsed.signature);
  if (given.length !== expected.length || !crypto.timingSafeEqual(Buffer.from(expected), given)) {
    return refuse(
      "InvalidSignatureException",
      "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n\n" +
        `The Canonical String for this request should have been\n'${canonicalRequest}'\n\nThe String-to-Sign should have been\n'${stringToSign}'\n`,
      { credentialScope, region },
    );
  }
  if (declared !== undefined && declared !== "UNSIGNED-PAYLOAD" && declared !== payloadHash) {
    return refuse("InvalidSignatureException", "The provided 'x-amz-content-sha256' header does not match what was computed.", { credentialScope, region });
  }
  return { credentialScope, region };
}

/**
 * AWS's answer to a refused signature. `rest-json` (X-Ray): 403 with `x-amzn-ErrorType` naming the code and a
 * `{"message"}` body. `json` (the awsJson1_1 APIs, CloudWatch Logs): 400 with `{"__type", "message"}` — those APIs
 * answer authentication failures 400, not 403.
 */
export function awsAuthError(
  result: Required<Pick<SigV4Result, "code" | "problem">>,
  protocol: "rest-json" | "json",
): { status: number; headers: Record<string, string>; body: Record<string, string> } {
  const headers = { "x-amzn-ErrorType": `${result.code}:http://internal.amazon.com/coral/com.amazon.coral.service/`, "x-amzn-RequestId": crypto.randomUUID() };
  return protocol === "rest-json"
    ? { status: 403, headers, body: { message: result.problem } }
    : { status: 400, headers, body: { __type: result.code, message: result.problem } };
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
  const signedAt = amzDate(opts.now ?? new Date());
  const date = signedAt.slice(0, 8);
  const headers: Record<string, string> = { ...opts.headers, host: url.host, "x-amz-date": signedAt };
  const names = Object.keys(headers).map((h) => h.toLowerCase()).sort();
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const scope = `${date}/${opts.region}/${opts.service}/aws4_request`;
  const canonicalRequest = [
    opts.method,
    canonicalPath(url.pathname),
    canonicalQuery(url.search.slice(1)),
    names.map((h) => `${h}:${lower[h]!.trim().replace(/\s+/g, " ")}\n`).join(""),
    names.join(";"),
    sha256(opts.body),
  ].join("\n");
  const stringToSign = ["AWS4-HMAC-SHA256", signedAt, scope, sha256(canonicalRequest)].join("\n");
  const key = hmac(hmac(hmac(hmac(`AWS4${opts.credentials.secretAccessKey}`, date), opts.region), opts.service), "aws4_request");
  const signature = crypto.createHmac("sha256", key).update(stringToSign).digest("hex");
  return {
    ...headers,
    authorization: `AWS4-HMAC-SHA256 Credential=${opts.credentials.accessKeyId}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`,
  };
}
