// Checks over rendered manifests, as pure functions (so the tests can also prove each one catches a
// deliberately broken object). Used by tests/test/k8s/k8s-wiring.test.ts.
import {
  allContainers,
  id,
  workloads,
  type Container,
  type EnvVar,
  type K8sObject,
  type PodSpec,
  type Workload,
} from "./k8s-helpers.js";

/**
 * The Pod Security Standard "restricted" (which includes "baseline"), per
 * kubernetes.io/docs/concepts/security/pod-security-standards, plus our own rule of a read-only root
 * filesystem. Returns violations as `category: detail`; the category is what a DaemonSet may list in its
 * `tracemesh.dev/pss-exceptions` annotation.
 */
export function restrictedViolations(pod: PodSpec): string[] {
  const v: string[] = [];
  const podSc = pod.securityContext ?? {};
  if (pod.hostNetwork) v.push("hostNetwork: spec.hostNetwork");
  if (pod.hostPID) v.push("hostPID: spec.hostPID");
  if (pod.hostIPC) v.push("hostIPC: spec.hostIPC");
  const allowedVolumeTypes = new Set(["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"]);
  for (const volume of pod.volumes ?? []) {
    for (const key of Object.keys(volume)) {
      if (key === "name") continue;
      if (key === "hostPath") v.push(`hostPath: volume ${volume.name}`);
      else if (!allowedVolumeTypes.has(key)) v.push(`volumeType: volume ${volume.name} is ${key}`);
    }
  }
  if (podSc.sysctls && podSc.sysctls.length > 0) v.push("sysctls: spec.securityContext.sysctls");
  if (podSc.seLinuxOptions?.user || podSc.seLinuxOptions?.role) v.push("seLinux: pod seLinuxOptions user/role");
  if (podSc.runAsUser === 0) v.push("runAsRoot: spec.securityContext.runAsUser is 0");
  for (const c of allContainers(pod)) {
    const sc = c.securityContext ?? {};
    const where = `container ${c.name}`;
    if (sc.privileged) v.push(`privileged: ${where}`);
    for (const port of c.ports ?? []) if (port.hostPort) v.push(`hostPorts: ${where} hostPort ${port.hostPort}`);
    if (sc.allowPrivilegeEscalation !== false) v.push(`allowPrivilegeEscalation: ${where} must set allowPrivilegeEscalation: false`);
    const runAsNonRoot = sc.runAsNonRoot ?? podSc.runAsNonRoot;
    const runAsUser = sc.runAsUser ?? podSc.runAsUser;
    if (runAsNonRoot !== true || runAsUser === 0) {
      if (!v.some((x) => x.startsWith("runAsRoot:"))) v.push(`runAsRoot: ${where} must run with runAsNonRoot: true and a non-zero uid`);
    }
    const seccomp = sc.seccompProfile?.type ?? podSc.seccompProfile?.type;
    if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost") v.push(`seccomp: ${where} needs seccompProfile RuntimeDefault or Localhost`);
    const drop = sc.capabilities?.drop ?? [];
    if (!drop.includes("ALL")) v.push(`capabilities: ${where} must drop ALL`);
    const added = (sc.capabilities?.add ?? []).filter((cap) => cap !== "NET_BIND_SERVICE");
    if (added.length > 0) v.push(`capabilities: ${where} adds ${added.join(",")}`);
    if (sc.procMount && sc.procMount !== "Default") v.push(`procMount: ${where}`);
    if (sc.seLinuxOptions?.user || sc.seLinuxOptions?.role) v.push(`seLinux: ${where}`);
    // tracemesh's own rule (issue 4): read-only root filesystem, writable /tmp from an emptyDir.
    if (sc.readOnlyRootFilesystem !== true) v.push(`readOnlyRootFilesystem: ${where}`);
  }
  return v;
}

export function category(violation: string): string {
  return violation.slice(0, violation.indexOf(":"));
}

/** The exceptions a workload declares: its pod annotation tracemesh.dev/pss-exceptions (comma-separated). */
export function declaredExceptions(workload: Workload): string[] {
  const raw = workload.podAnnotations["tracemesh.dev/pss-exceptions"];
  return raw ? raw.split(",").map((s) => s.trim()).filter(Boolean).sort() : [];
}

/**
 * Pod Security for every workload: in namespace tracemesh nothing may deviate; a DaemonSet elsewhere may
 * deviate only in the categories it declares, and must declare exactly those it uses (no stale exceptions).
 */
export function podSecurityProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const w of workloads(objects)) {
    const violations = restrictedViolations(w.pod);
    const used = [...new Set(violations.map(category))].sort();
    const declared = declaredExceptions(w);
    const isDaemonSet = w.object.kind === "DaemonSet";
    if (!isDaemonSet || w.object.metadata.namespace === "tracemesh") {
      for (const violation of violations) problems.push(`${id(w.object)}: ${violation}`);
      if (declared.length > 0) problems.push(`${id(w.object)}: only node-agent DaemonSets may declare PSS exceptions`);
      continue;
    }
    for (const violation of violations) {
      if (!declared.includes(category(violation))) problems.push(`${id(w.object)}: undeclared ${violation}`);
    }
    for (const d of declared) if (!used.includes(d)) problems.push(`${id(w.object)}: declares exception ${d} it does not need`);
  }
  return problems;
}

/** `$(VAR)` references resolve only to variables defined earlier in the same env list. */
export function envReferenceProblems(container: Container): string[] {
  const problems: string[] = [];
  const defined = new Set<string>();
  for (const e of container.env ?? []) {
    for (const match of (e.value ?? "").matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)) {
      if (!defined.has(match[1])) problems.push(`${container.name}: ${e.name} uses $(${match[1]}) before it is defined`);
    }
    if (defined.has(e.name)) problems.push(`${container.name}: ${e.name} defined twice`);
    defined.add(e.name);
  }
  return problems;
}

export function envValue(container: Container, name: string): EnvVar | undefined {
  return container.env?.find((e) => e.name === name);
}

interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol?: string;
}

function servicePorts(objects: K8sObject[], namespace: string, name: string): ServicePort[] | undefined {
  const svc = objects.find((o) => o.kind === "Service" && o.metadata.name === name && o.metadata.namespace === namespace);
  return svc ? ((svc.spec as { ports: ServicePort[] }).ports ?? []) : undefined;
}

/** A mesh edge: `from` (the calling workload's app.kubernetes.io/name) → `to` (a Service) on port. */
export interface Edge {
  from: string;
  to: string;
  port: number;
}

/**
 * Resolves each address variable of each container to a Service and port in its namespace: *_ADDR
 * (host:port), REDIS_URL (redis://host:port), LOADGEN_BASE_URL, MODERATION_URL and API_URL (http://host:port). Returns the edges, and
 * problems for any address whose Service or port does not exist, or whose Service selects no pod that
 * exposes the target port.
 */
export function addressEdges(objects: K8sObject[]): { edges: Edge[]; problems: string[] } {
  const edges: Edge[] = [];
  const problems: string[] = [];
  const all = workloads(objects);
  for (const w of all) {
    const namespace = w.object.metadata.namespace ?? "default";
    const from = w.podLabels["app.kubernetes.io/name"];
    for (const c of allContainers(w.pod)) {
      for (const e of c.env ?? []) {
        let host: string | undefined;
        let port: number | undefined;
        if (/_ADDR$/.test(e.name)) {
          const m = /^([a-z0-9.-]+):([0-9]+)$/.exec(e.value ?? "");
          if (!m) { problems.push(`${id(w.object)} ${e.name}=${e.value ?? "(from a reference)"} is not host:port`); continue; }
          [host, port] = [m[1], Number(m[2])];
        } else if (e.name === "REDIS_URL" || e.name === "LOADGEN_BASE_URL" || e.name === "MODERATION_URL" || e.name === "API_URL") {
          let url: URL;
          try { url = new URL(e.value ?? ""); } catch { problems.push(`${id(w.object)} ${e.name}=${e.value} is not a URL`); continue; }
          host = url.hostname;
          port = Number(url.port || (url.protocol === "redis:" ? 6379 : url.protocol === "https:" ? 443 : 80));
        } else {
          continue;
        }
        const serviceName = host.split(".")[0];
        const ports = servicePorts(objects, namespace, serviceName);
        if (!ports) { problems.push(`${id(w.object)} ${e.name}=${e.value}: no Service ${serviceName} in ${namespace}`); continue; }
        const sp = ports.find((p) => p.port === port);
        if (!sp) { problems.push(`${id(w.object)} ${e.name}=${e.value}: Service ${serviceName} has no port ${port}`); continue; }
        // The Service must select a workload whose container exposes the target port.
        const svc = objects.find((o) => o.kind === "Service" && o.metadata.name === serviceName && o.metadata.namespace === namespace)!;
        const selector = (svc.spec as { selector?: Record<string, string> }).selector ?? {};
        const backends = all.filter((b) => (b.object.metadata.namespace ?? "default") === namespace && Object.entries(selector).every(([k, v]) => b.podLabels[k] === v));
        const target = sp.targetPort ?? sp.port;
        const served = backends.some((b) => b.pod.containers.some((bc) => (bc.ports ?? []).some((p) => p.containerPort === target || p.name === target)));
        if (!served) { problems.push(`${id(w.object)} ${e.name}=${e.value}: Service ${serviceName} selects no pod serving ${String(target)}`); continue; }
        edges.push({ from, to: serviceName, port });
      }
    }
  }
  return { edges, problems };
}

/**
 * Every container exporting OTLP does so to http://$(HOST_IP):4318 (or :4317), with HOST_IP from
 * status.hostIP, and a Collector DaemonSet exposes that port as a hostPort with the same protocol. A
 * container on the X-Ray SDK instead (AWS_XRAY_DAEMON_ADDRESS, no OpenTelemetry) sends to
 * $(HOST_IP):2000, a UDP hostPort of a Collector DaemonSet (its awsxray receiver).
 */
export function otlpProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const collectorHostPorts = new Set<number>();
  const collectorUdpHostPorts = new Set<number>();
  for (const w of workloads(objects)) {
    if (w.object.kind !== "DaemonSet") continue;
    for (const c of w.pod.containers) for (const p of c.ports ?? []) if (p.hostPort && (p.protocol ?? "TCP") === "TCP" && p.hostPort === p.containerPort) collectorHostPorts.add(p.hostPort);
    for (const c of w.pod.containers) for (const p of c.ports ?? []) if (p.hostPort && p.protocol === "UDP" && p.hostPort === p.containerPort) collectorUdpHostPorts.add(p.hostPort);
  }
  for (const w of workloads(objects)) {
    for (const c of allContainers(w.pod)) {
      const daemon = envValue(c, "AWS_XRAY_DAEMON_ADDRESS");
      if (daemon) {
        const where = `${id(w.object)}/${c.name}`;
        if (envValue(c, "OTEL_EXPORTER_OTLP_ENDPOINT")) problems.push(`${where}: both the X-Ray SDK and OTLP: one tracer per process`);
        const m = /^\$\(([A-Z_]+)\):([0-9]+)$/.exec(daemon.value ?? "");
        if (!m) { problems.push(`${where}: AWS_XRAY_DAEMON_ADDRESS=${daemon.value} is not $(HOST_IP):<port>`); continue; }
        if (envValue(c, m[1])?.valueFrom?.fieldRef?.fieldPath !== "status.hostIP") problems.push(`${where}: ${m[1]} is not the downward-API status.hostIP`);
        if (!collectorUdpHostPorts.has(Number(m[2]))) problems.push(`${where}: no DaemonSet has UDP hostPort ${m[2]} (awsxray receiver)`);
        continue;
      }
      const endpoint = envValue(c, "OTEL_EXPORTER_OTLP_ENDPOINT");
      if (!endpoint) {
        // Our own images (tracemesh/*) are instrumented and must export; third-party ones (Redis) are not.
        if (c.image.startsWith("tracemesh/")) problems.push(`${id(w.object)}/${c.name}: no OTEL_EXPORTER_OTLP_ENDPOINT`);
        continue;
      }
      const m = /^http:\/\/\$\(([A-Z_]+)\):([0-9]+)$/.exec(endpoint.value ?? "");
      if (!m) { problems.push(`${id(w.object)}/${c.name}: OTEL_EXPORTER_OTLP_ENDPOINT=${endpoint.value} is not http://$(HOST_IP):<port>`); continue; }
      const hostVar = envValue(c, m[1]);
      if (hostVar?.valueFrom?.fieldRef?.fieldPath !== "status.hostIP") problems.push(`${id(w.object)}/${c.name}: ${m[1]} is not the downward-API status.hostIP`);
      const port = Number(m[2]);
      if (port !== 4318) problems.push(`${id(w.object)}/${c.name}: OTLP/HTTP (the SDK default protocol) goes to 4318, not ${port}`);
      if (!collectorHostPorts.has(port)) problems.push(`${id(w.object)}/${c.name}: no DaemonSet has hostPort ${port}`);
      const name = envValue(c, "OTEL_SERVICE_NAME")?.value;
      if (!name) problems.push(`${id(w.object)}/${c.name}: no OTEL_SERVICE_NAME`);
      const attrs = envValue(c, "OTEL_RESOURCE_ATTRIBUTES")?.value ?? "";
      for (const key of ["k8s.pod.name=$(POD_NAME)", "k8s.namespace.name=$(POD_NAMESPACE)", "k8s.node.name=$(NODE_NAME)"]) {
        if (!attrs.split(",").includes(key)) problems.push(`${id(w.object)}/${c.name}: OTEL_RESOURCE_ATTRIBUTES lacks ${key}`);
      }
      const downward: Record<string, string> = { POD_NAME: "metadata.name", POD_NAMESPACE: "metadata.namespace", NODE_NAME: "spec.nodeName" };
      for (const [variable, field] of Object.entries(downward)) {
        if (envValue(c, variable)?.valueFrom?.fieldRef?.fieldPath !== field) problems.push(`${id(w.object)}/${c.name}: ${variable} is not the downward-API ${field}`);
      }
    }
  }
  return problems;
}

/** configMapKeyRef / secretKeyRef targets. ConfigMaps must exist with the key; Secrets are only referenced. */
export function referenceProblems(objects: K8sObject[]): { problems: string[]; secretKeys: Set<string> } {
  const problems: string[] = [];
  const secretKeys = new Set<string>();
  for (const w of workloads(objects)) {
    const namespace = w.object.metadata.namespace;
    for (const c of allContainers(w.pod)) {
      for (const e of c.env ?? []) {
        const cm = e.valueFrom?.configMapKeyRef;
        if (cm) {
          const map = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === cm.name && o.metadata.namespace === namespace);
          const data = (map?.data as Record<string, string> | undefined) ?? {};
          if (!map) problems.push(`${id(w.object)}: ConfigMap ${cm.name} does not exist in ${namespace}`);
          else if (!(cm.key in data)) problems.push(`${id(w.object)}: ConfigMap ${cm.name} has no key ${cm.key}`);
        }
        const secret = e.valueFrom?.secretKeyRef;
        if (secret) {
          secretKeys.add(secret.key);
          if (secret.name !== "tracemesh-secrets") problems.push(`${id(w.object)}: Secret ${secret.name} is not tracemesh-secrets`);
          if (secret.optional !== true) problems.push(`${id(w.object)}: ${e.name} must be optional (the mesh runs without keys)`);
          if (e.name !== secret.key) problems.push(`${id(w.object)}: ${e.name} reads key ${secret.key} (keep the names equal)`);
        }
      }
    }
    for (const v of w.pod.volumes ?? []) {
      if (v.configMap) {
        const exists = objects.some((o) => o.kind === "ConfigMap" && o.metadata.name === v.configMap!.name && o.metadata.namespace === namespace);
        if (!exists) problems.push(`${id(w.object)}: volume ${v.name} mounts missing ConfigMap ${v.configMap.name}`);
      }
    }
  }
  // Literal secrets never live in the repo.
  for (const o of objects) if (o.kind === "Secret") problems.push(`${id(o)}: a Secret object is rendered (reference it instead)`);
  return { problems, secretKeys };
}

/** The failure scenarios' flags on Kubernetes: the ConfigMap, where it is mounted, and the variable naming it. */
export const FLAGS = { configMap: "tracemesh-flags", key: "flags.json", dir: "/etc/tracemesh/flags", env: "FLAGD_OFFLINE_FLAG_SOURCE_PATH" } as const;

/**
 * The pods that act on a scenario (`readers`, by workload name) read the flag file of the ConfigMap
 * tracemesh-flags: FLAGD_OFFLINE_FLAG_SOURCE_PATH names a key of it inside a read-only directory mount
 * (never subPath, which never sees an update, nor `items`, which could leave the key out); no other pod
 * sets the variable. The ConfigMap has its fixed name (no kustomize hash suffix: the CLI replaces it by
 * name, and a new name would need a rollout).
 */
export function flagMountProblems(objects: K8sObject[], readers: readonly string[]): string[] {
  const problems: string[] = [];
  const maps = objects.filter((o) => o.kind === "ConfigMap" && o.metadata.name.startsWith(FLAGS.configMap));
  if (maps.length !== 1 || maps[0]!.metadata.name !== FLAGS.configMap) {
    problems.push(`ConfigMap ${FLAGS.configMap}: expected exactly one, named so (found ${maps.map((m) => m.metadata.name).join(", ") || "none"})`);
  }
  const keys = Object.keys((maps[0]?.data as Record<string, string> | undefined) ?? {});
  const seen = new Set<string>();
  for (const w of workloads(objects)) {
    const name = w.object.metadata.name;
    for (const c of allContainers(w.pod)) {
      const where = `${id(w.object)}/${c.name}`;
      const file = (c.env ?? []).find((e) => e.name === FLAGS.env)?.value;
      if (!readers.includes(name)) {
        if (file !== undefined) problems.push(`${where}: sets ${FLAGS.env} but acts on no scenario`);
        continue;
      }
      seen.add(name);
      if (file !== `${FLAGS.dir}/${FLAGS.key}`) {
        problems.push(`${where}: ${FLAGS.env} is ${file ?? "unset"}, not ${FLAGS.dir}/${FLAGS.key}`);
        continue;
      }
      if (!keys.includes(FLAGS.key)) problems.push(`${where}: ConfigMap ${FLAGS.configMap} has no key ${FLAGS.key}`);
      const volume = (w.pod.volumes ?? []).find((v) => v.configMap?.name === FLAGS.configMap);
      const mount = volume && (c.volumeMounts ?? []).find((m) => m.name === volume.name);
      if (!volume || !mount) problems.push(`${where}: ConfigMap ${FLAGS.configMap} is not mounted`);
      else {
        if (mount.mountPath !== FLAGS.dir) problems.push(`${where}: ${FLAGS.configMap} is mounted at ${mount.mountPath}, not ${FLAGS.dir}`);
        if (mount.subPath !== undefined || mount.subPathExpr !== undefined) problems.push(`${where}: ${FLAGS.configMap} is mounted with subPath, which never sees an update`);
        if (mount.readOnly !== true) problems.push(`${where}: ${FLAGS.configMap} must be mounted readOnly`);
        if (volume.configMap!.items) problems.push(`${where}: volume ${volume.name} selects items of ${FLAGS.configMap}`);
      }
    }
  }
  for (const name of readers) if (!seen.has(name)) problems.push(`${name}: no such workload (it should read the flags)`);
  return problems;
}

/**
 * The default checks of kube-linter that apply to our objects (kube-linter itself cannot be installed
 * here: the module proxy refuses it), reimplemented: dangling-service, mismatching-selector,
 * non-existent-service-account, deprecated-service-account-field, latest-tag, no-liveness-probe,
 * no-readiness-probe, unset-cpu-requirements, unset-memory-requirements, env-var-secret,
 * sensitive-host-mounts, docker-sock, drop-net-raw-capability, privileged-container, host-network/pid/ipc,
 * duplicate env vars, writable-host-mount (with the Fluent Bit state folder as its declared exception).
 */
export function lintProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const all = workloads(objects);
  for (const svc of objects.filter((o) => o.kind === "Service")) {
    const selector = (svc.spec as { selector?: Record<string, string> }).selector ?? {};
    const matched = all.some((w) => w.object.metadata.namespace === svc.metadata.namespace && Object.entries(selector).every(([k, v]) => w.podLabels[k] === v));
    if (!matched) problems.push(`dangling-service: ${id(svc)} selects no pods`);
  }
  for (const w of all) {
    const spec = w.object.spec as { selector?: { matchLabels?: Record<string, string> } };
    if (w.object.kind !== "Job" && w.object.kind !== "Pod") {
      const selector = spec.selector?.matchLabels ?? {};
      if (Object.keys(selector).length === 0 || !Object.entries(selector).every(([k, v]) => w.podLabels[k] === v)) {
        problems.push(`mismatching-selector: ${id(w.object)}`);
      }
    }
    const sa = w.pod.serviceAccountName;
    if ((w.pod as { serviceAccount?: string }).serviceAccount) problems.push(`deprecated-service-account-field: ${id(w.object)}`);
    if (!sa || !objects.some((o) => o.kind === "ServiceAccount" && o.metadata.name === sa && o.metadata.namespace === w.object.metadata.namespace)) {
      problems.push(`non-existent-service-account: ${id(w.object)} uses ${sa ?? "(default)"}`);
    }
    if (w.pod.hostNetwork) problems.push(`host-network: ${id(w.object)}`);
    if (w.pod.hostPID) problems.push(`host-pid: ${id(w.object)}`);
    if (w.pod.hostIPC) problems.push(`host-ipc: ${id(w.object)}`);
    const sensitive = /^(\/|\/boot|\/dev|\/etc|\/lib|\/proc|\/sys|\/usr|\/var\/run\/docker\.sock|\/run\/containerd\/containerd\.sock)$/;
    for (const v of w.pod.volumes ?? []) {
      if (v.hostPath && sensitive.test(v.hostPath.path.replace(/\/$/, "") || "/")) problems.push(`sensitive-host-mounts: ${id(w.object)} ${v.hostPath.path}`);
    }
    const hostPathVolumes = new Set((w.pod.volumes ?? []).filter((v) => v.hostPath).map((v) => v.name));
    for (const c of allContainers(w.pod)) {
      const where = `${id(w.object)}/${c.name}`;
      const tag = c.image.includes("@") ? "digest" : c.image.slice(c.image.lastIndexOf("/") + 1).split(":")[1];
      if (!tag || tag === "latest") problems.push(`latest-tag: ${where} image ${c.image}`);
      if (w.object.kind !== "Job") {
        if (!c.livenessProbe) problems.push(`no-liveness-probe: ${where}`);
        if (!c.readinessProbe) problems.push(`no-readiness-probe: ${where}`);
      }
      if (!c.resources?.requests?.cpu || !c.resources?.limits?.cpu) problems.push(`unset-cpu-requirements: ${where}`);
      if (!c.resources?.requests?.memory || !c.resources?.limits?.memory) problems.push(`unset-memory-requirements: ${where}`);
      for (const e of c.env ?? []) {
        if (/SECRET|PASSWORD|TOKEN|API_KEY/i.test(e.name) && e.value !== undefined && e.value !== "") problems.push(`env-var-secret: ${where} ${e.name} has a literal value`);
      }
      const drop = c.securityContext?.capabilities?.drop ?? [];
      if (!drop.includes("ALL") && !drop.includes("NET_RAW")) problems.push(`drop-net-raw-capability: ${where}`);
      if (c.securityContext?.privileged) problems.push(`privileged-container: ${where}`);
      for (const m of c.volumeMounts ?? []) {
        // Fluent Bit's tail offsets (its "state" hostPath) are the one writable host mount, by design.
        if (hostPathVolumes.has(m.name) && m.readOnly !== true && !(c.name === "fluent-bit" && m.name === "state")) {
          problems.push(`writable-host-mount: ${where} ${m.mountPath}`);
        }
      }
      envReferenceProblems(c).forEach((p) => problems.push(`env: ${id(w.object)} ${p}`));
    }
  }
  return problems;
}

/** Edges allowed by NetworkPolicies named allow-<from>-to-<to>-egress/-ingress (pod selectors on app.kubernetes.io/name). */
export function policyEdges(objects: K8sObject[]): { egress: Edge[]; ingress: Edge[] } {
  const egress: Edge[] = [];
  const ingress: Edge[] = [];
  type Peer = { podSelector?: { matchLabels?: Record<string, string> }; namespaceSelector?: unknown };
  type Rule = { to?: Peer[]; from?: Peer[]; ports?: Array<{ port: number; protocol?: string }> };
  for (const np of objects.filter((o) => o.kind === "NetworkPolicy")) {
    const spec = np.spec as { podSelector: { matchLabels?: Record<string, string> }; egress?: Rule[]; ingress?: Rule[] };
    const self = spec.podSelector.matchLabels?.["app.kubernetes.io/name"];
    if (!self) continue; // namespace-wide policies (deny, DNS, OTLP) are checked separately
    for (const rule of spec.egress ?? []) {
      for (const peer of rule.to ?? []) {
        const to = peer.namespaceSelector ? undefined : peer.podSelector?.matchLabels?.["app.kubernetes.io/name"];
        for (const p of rule.ports ?? []) if (to) egress.push({ from: self, to, port: p.port });
      }
    }
    for (const rule of spec.ingress ?? []) {
      for (const peer of rule.from ?? []) {
        const from = peer.namespaceSelector ? undefined : peer.podSelector?.matchLabels?.["app.kubernetes.io/name"];
        for (const p of rule.ports ?? []) if (from) ingress.push({ from, to: self, port: p.port });
      }
    }
  }
  return { egress, ingress };
}

export function edgeKey(e: Edge): string {
  return `${e.from}->${e.to}:${e.port}`;
}
