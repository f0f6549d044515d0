// `tracemesh fault list | on NAME [--value V] | off NAME`: the named failure scenarios of @tracemesh/flags,
// switched where the mesh's services read them. Without --context it is the flag file of the demo running on
// this machine (--file, else FLAGD_OFFLINE_FLAG_SOURCE_PATH when set, else the demo's place in the run cache);
// with --context it is the ConfigMap tracemesh-flags that the Kubernetes manifests mount into the pods.
import { spawn } from "node:child_process";
import fs from "node:fs";
import { parseArgs } from "node:util";
import {
  FLAG_FILE_ENV,
  SCENARIOS,
  demoFlagFile,
  faultStates,
  formatFlagFile,
  parseFlagFile,
  readFlagFile,
  switchFault,
  writeFlagFile,
  type FlagFile,
  type Scenario,
} from "@tracemesh/flags";
import { ALL_DATASETS, DEFAULT_HONEYCOMB_API_URL, createMarker } from "./honeycomb.js";
import { liveOwner, ownerFile } from "./demo/owner.js";

/** The ConfigMap the manifests (deploy/k8s/base, charts/tracemesh) mount at /etc/tracemesh/flags, and its key. */
export const FLAGS_CONFIGMAP = "tracemesh-flags";
export const FLAGS_CONFIGMAP_KEY = "flags.json";
const DEFAULT_NAMESPACE = "tracemesh";

const FILE_PICKUP = "services pick it up within about 5 s";
// The kubelet rewrites a ConfigMap volume only when it syncs the pod (syncFrequency, 1 min by default, plus
// its cache), and the services then poll the file every ~5 s.
const CONFIGMAP_PICKUP = "pods pick it up within about a minute (the kubelet refreshes ConfigMap volumes on its pod sync, every minute with default settings) plus the ~5 s file poll";

export const FAULT_USAGE = `usage:
  tracemesh fault list [--file FILE | --context NAME [--namespace NS]]
  tracemesh fault on NAME [--value V] [--file FILE | --context NAME [--namespace NS]]
  tracemesh fault off NAME [--file FILE | --context NAME [--namespace NS]]
      the named failure scenarios (docs/faults.md) in the flag file of the mesh \`npm run demo\` runs on this
      machine (or --file, or ${FLAG_FILE_ENV}); services pick a switch up within about 5 s, no restart.
      --context NAME: the ConfigMap ${FLAGS_CONFIGMAP} in namespace NS (default ${DEFAULT_NAMESPACE}) of that kube
      context, through the kubectl on PATH (its kubeconfig and credentials); the pods see a switch within about
      a minute (the kubelet's ConfigMap volume refresh) plus 5 s, no restart. \`skaffold run\`, \`kubectl apply\`
      or \`helm upgrade\` of the mesh resets every flag to deploy/flags/flags.json.
      With HONEYCOMB_API_KEY set, on/off also posts a Honeycomb marker (type fault).
      scenarios: ${SCENARIOS.map((s) => s.name).join(", ")}
`;

/** A problem with the command line or with what it names (exit 2). */
export class FaultUsageError extends Error {}

export interface FaultIo {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

/** Where the flags live: the demo's (or a given) file, or a cluster's ConfigMap. */
interface FlagStore {
  /** First line of `list`. */
  readonly label: string;
  /** "in …" after a switch. */
  readonly where: string;
  /** How long until the services act on a switch. */
  readonly pickup: string;
  read(): Promise<FlagFile>;
  /** Stores `change` of the current flags; returns what was stored. */
  update(change: (flags: FlagFile) => FlagFile): Promise<FlagFile>;
  /** Printed after a command, when something is off (e.g. nobody reads the file). */
  warning(): string | undefined;
}

/** The flags as read from the file or the ConfigMap; unreadable → exit 2 ("unreadable input", as main.ts says). */
function readable(read: () => FlagFile): FlagFile {
  try {
    return read();
  } catch (err) {
    throw new FaultUsageError((err as Error).message);
  }
}

function fileStore(explicit: string | undefined, env: NodeJS.ProcessEnv): FlagStore {
  const file = explicit ?? (env[FLAG_FILE_ENV] || demoFlagFile(env));
  if (!fs.existsSync(file)) {
    throw new FaultUsageError(
      explicit || env[FLAG_FILE_ENV]
        ? `no flag file at ${file}`
        : `no local mesh: ${file} does not exist (start one with \`npm run demo -- --keep-running\`, or give --file)`,
    );
  }
  const read = () => readable(() => readFlagFile(file));
  return {
    label: `flag file: ${file}`,
    where: file,
    pickup: FILE_PICKUP,
    read: async () => read(),
    update: async (change) => {
      const next = change(read());
      writeFlagFile(file, next);
      return next;
    },
    warning: () => ownerWarning(file),
  };
}

/** A warning when the demo that wrote the file is gone (its services are not polling it any more). */
function ownerWarning(file: string): string | undefined {
  const owner = ownerFile(file);
  if (!fs.existsSync(owner) || liveOwner(file) !== undefined) return undefined;
  const pid = fs.readFileSync(owner, "utf8").trim();
  return `warning: the demo that wrote ${file} (pid ${pid}) is not running; no service reads this file\n`;
}

interface ConfigMap {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; [field: string]: unknown };
  data?: Record<string, string>;
  [field: string]: unknown;
}

interface KubectlResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

// A hung exec credential plugin or an unreachable apiserver must not hang the command.
const KUBECTL_TIMEOUT_MS = 120_000;

/**
 * The ConfigMap through the user's own `kubectl` (the one on PATH), not @kubernetes/client-node: kubectl
 * already authenticates exactly as the user does (exec plugins such as `aws eks get-token`, OIDC, whatever the
 * kubeconfig says), and the CLI (and its image) gains no new dependency tree.
 */
function configMapStore(context: string, namespace: string, env: NodeJS.ProcessEnv): FlagStore {
  const name = `configmap ${namespace}/${FLAGS_CONFIGMAP}`;
  const where = `${name} (context ${context})`;

  const kubectl = (args: string[], input?: string): Promise<KubectlResult> =>
    new Promise((resolve, reject) => {
      // spawn looks kubectl up on env.PATH: the caller's PATH decides which kubectl runs.
      const child = spawn("kubectl", ["--context", context, "-n", namespace, ...args], { env, stdio: ["pipe", "pipe", "pipe"], timeout: KUBECTL_TIMEOUT_MS });
      let stdout = "";
      let stderr = "";
      child.stdout.setEncoding("utf8").on("data", (t: string) => (stdout += t));
      child.stderr.setEncoding("utf8").on("data", (t: string) => (stderr += t));
      child.on("error", (err: NodeJS.ErrnoException) => {
        if (err.code === "ENOENT") reject(new FaultUsageError(`--context needs kubectl, and there is none on PATH (install it, or leave out --context for the local demo's flags)`));
        else reject(new Error(`kubectl: ${err.message}`));
      });
      child.on("close", (status, signal) => resolve({ status, stdout, stderr: signal ? `${stderr}\nkubectl stopped by ${signal} (no answer in ${KUBECTL_TIMEOUT_MS / 1000} s)` : stderr }));
      child.stdin.on("error", () => undefined); // kubectl may exit before reading its input; its status says why
      child.stdin.end(input);
    });

  const firstLine = (r: KubectlResult) => r.stderr.trim().split("\n").find((l) => l.trim() !== "") ?? `exit status ${r.status}`;

  const get = async (): Promise<{ object: ConfigMap; flags: FlagFile }> => {
    const r = await kubectl(["get", "configmap", FLAGS_CONFIGMAP, "-o", "json"]);
    if (r.status !== 0) {
      if (/\(NotFound\)|not found/i.test(r.stderr) && /configmaps?\b/i.test(r.stderr)) {
        throw new FaultUsageError(`${where} does not exist: deploy the mesh first (skaffold run -m tracemesh, kubectl apply -k deploy/k8s/overlays/…, or helm install)`);
      }
      if (/context .*(does not exist|not found)/i.test(r.stderr)) throw new FaultUsageError(`kubectl: ${firstLine(r)}`);
      throw new Error(`kubectl get ${name} (context ${context}): ${firstLine(r)}`);
    }
    let object: ConfigMap;
    try {
      object = JSON.parse(r.stdout) as ConfigMap;
    } catch {
      throw new Error(`kubectl get ${name} (context ${context}) printed no JSON`);
    }
    const text = object.data?.[FLAGS_CONFIGMAP_KEY];
    if (text === undefined) throw new FaultUsageError(`${where} has no key ${FLAGS_CONFIGMAP_KEY}`);
    return { object, flags: readable(() => parseFlagFile(text, `${where}, key ${FLAGS_CONFIGMAP_KEY}`)) };
  };

  return {
    label: `flags in ${where}`,
    where,
    pickup: CONFIGMAP_PICKUP,
    read: async () => (await get()).flags,
    update: async (change) => {
      // Read, change, replace with the resourceVersion that was read: the apiserver refuses the replace
      // (409 Conflict) if anyone changed the ConfigMap in between, instead of losing their change. Once
      // more on a fresh read, then give up.
      for (let attempt = 1; ; attempt++) {
        const { object, flags } = await get();
        const next = change(flags);
        const body: ConfigMap = { ...object, data: { ...object.data, [FLAGS_CONFIGMAP_KEY]: formatFlagFile(next) } };
        const r = await kubectl(["replace", "-f", "-"], JSON.stringify(body));
        if (r.status === 0) return next;
        const conflict = /\(Conflict\)|the object has been modified/.test(r.stderr);
        if (conflict && attempt < 2) continue;
        throw new Error(`kubectl replace ${name} (context ${context})${conflict ? `: changed by someone else twice while switching; try again` : ""}: ${firstLine(r)}`);
      }
    },
    warning: () => undefined,
  };
}

const describeValue = (s: Scenario, value: number) => (s.unit === "switch" ? "on" : `on (${value} ${s.unit})`);

function listText(label: string, flags: FlagFile): string {
  const states = faultStates(flags);
  const rows = states.map(({ scenario: s, value }) => [s.name, value === undefined ? "off" : describeValue(s, value), s.service, s.unit === "switch" ? s.summary : `${s.summary} (default ${s.defaultValue} ${s.unit})`]);
  const header = ["scenario", "state", "service", "what happens"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ") + "\n";
  return `${label}\n` + line(header) + line(widths.map((w) => "-".repeat(w))) + rows.map(line).join("");
}

async function postMarker(message: string, env: NodeJS.ProcessEnv, io: FaultIo): Promise<boolean> {
  if (!env.HONEYCOMB_API_KEY) return true;
  try {
    await createMarker(
      { apiKey: env.HONEYCOMB_API_KEY, apiUrl: env.HONEYCOMB_API_URL || DEFAULT_HONEYCOMB_API_URL, dataset: ALL_DATASETS, timeoutMs: 10_000 },
      { message, type: "fault", start_time: Math.floor(Date.now() / 1000) },
    );
    io.err(`Honeycomb marker: ${message}\n`);
    return true;
  } catch (err) {
    io.err(`the fault was switched, but the Honeycomb marker failed: ${(err as Error).message}\n`);
    return false;
  }
}

/** Runs `fault …`; resolves the exit code (0 done, 1 the marker failed). Throws FaultUsageError for bad usage. */
export async function faultCommand(args: string[], io: FaultIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      value: { type: "string" },
      file: { type: "string" },
      context: { type: "string" },
      namespace: { type: "string", short: "n" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const [action, name, ...extra] = positionals;
  if (values.help || action === "help") {
    io.out(FAULT_USAGE);
    return 0;
  }
  if (values.context !== undefined && values.file !== undefined) throw new FaultUsageError("fault: --context (a cluster's ConfigMap) and --file (a local flag file) exclude each other");
  if (values.context === "") throw new FaultUsageError("fault --context: give a kube context name");
  if (values.namespace !== undefined && values.context === undefined) throw new FaultUsageError("fault --namespace: only with --context");
  if (values.namespace === "") throw new FaultUsageError("fault --namespace: give a namespace");
  if (extra.length > 0) throw new FaultUsageError(`fault: unexpected arguments: ${extra.join(" ")}`);
  if (action !== "list" && action !== "on" && action !== "off") throw new FaultUsageError(`fault: "list", "on" or "off", got "${action ?? ""}"`);
  if (action === "list" && (name !== undefined || values.value !== undefined)) throw new FaultUsageError("fault list takes no NAME or --value");
  if (action !== "list" && !name) throw new FaultUsageError(`fault ${action}: give a scenario NAME (${SCENARIOS.map((s) => s.name).join(", ")})`);
  if (action === "off" && values.value !== undefined) throw new FaultUsageError("fault off takes no --value");
  let value: number | undefined;
  if (values.value !== undefined) {
    value = Number(values.value);
    if (!Number.isFinite(value)) throw new FaultUsageError(`--value: a number, got "${values.value}"`);
  }

  const store = values.context !== undefined ? configMapStore(values.context, values.namespace ?? DEFAULT_NAMESPACE, io.env) : fileStore(values.file, io.env);
  const printWarning = () => {
    const warning = store.warning();
    if (warning) io.err(warning);
  };
  if (action === "list") {
    io.out(listText(store.label, await store.read()));
    printWarning();
    return 0;
  }
  let next: FlagFile;
  try {
    next = await store.update((flags) => switchFault(flags, name!, value, action === "on"));
  } catch (err) {
    if (err instanceof RangeError) throw new FaultUsageError(err.message);
    throw err;
  }
  const state = faultStates(next).find((s) => s.scenario.name === name)!;
  const text = state.value === undefined ? `${name} off` : `${name} ${describeValue(state.scenario, state.value)}`;
  io.out(`${text} in ${store.where}; ${store.pickup}\n`);
  printWarning();
  return (await postMarker(`fault ${text}`, io.env, io)) ? 0 : 1;
}

/** `tracemesh fault …` as main.ts dispatches it: usage errors print one line and exit 2, like every command. */
export async function runFault(args: string[], io: FaultIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t), env: process.env }): Promise<number> {
  try {
    return await faultCommand(args, io);
  } catch (err) {
    const e = err as Error & { code?: string };
    if (!(err instanceof FaultUsageError) && !e.code?.startsWith("ERR_PARSE_ARGS")) throw err;
    io.err(`tracemesh: ${e.message}\nrun \`tracemesh fault --help\` for usage\n`);
    return 2;
  }
}
