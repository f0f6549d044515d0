import fs from "node:fs";
import path from "node:path";

export interface ServiceIdentity {
  name: string;
  version: string;
}

/** `@tracemesh/api` → `api`; an unscoped name is kept as is. */
export function serviceNameFromPackage(packageName: string): string {
  return packageName.replace(/^@[^/]+\//, "");
}

function readPackageJson(dir: string): { name?: string; version?: string } | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as { name?: string; version?: string };
  } catch {
    return undefined;
  }
}

/**
 * Which service this process is: OTEL_SERVICE_NAME, else the package name in TRACEMESH_SERVICE
 * (e.g. `@tracemesh/api`), else the name in the working directory's package.json (what
 * `pnpm --filter … start` runs in); the version from that package.json (or npm_package_version).
 */
export function serviceIdentity(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): ServiceIdentity {
  const pkg = readPackageJson(cwd);
  const explicit = env.OTEL_SERVICE_NAME?.trim();
  const fromEnvPackage = env.TRACEMESH_SERVICE?.trim();
  const name = explicit || serviceNameFromPackage(fromEnvPackage || pkg?.name || "unknown_service:node");
  const version = env.SERVICE_VERSION?.trim() || pkg?.version || env.npm_package_version || "0.0.0";
  return { name, version };
}

/**
 * The attributes tracemesh adds to the SDK's resource. OTEL_RESOURCE_ATTRIBUTES and
 * OTEL_SERVICE_NAME (the env detector) take precedence over these.
 */
export function serviceResourceAttributes(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Record<string, string> {
  const { name, version } = serviceIdentity(env, cwd);
  const attributes: Record<string, string> = {
    "service.name": name,
    "service.version": version,
    "deployment.environment.name": env.DEPLOYMENT_ENVIRONMENT?.trim() || "local",
  };
  // Filled through the downward API in Kubernetes; absent locally.
  const fromEnv: Array<[string, string | undefined]> = [
    ["k8s.pod.name", env.POD_NAME],
    ["k8s.namespace.name", env.POD_NAMESPACE],
    ["k8s.node.name", env.NODE_NAME],
  ];
  for (const [key, value] of fromEnv) if (value?.trim()) attributes[key] = value.trim();
  return attributes;
}
