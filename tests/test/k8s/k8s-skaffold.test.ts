// tools: skaffold
// skaffold.yaml checked by skaffold itself (v2.16.1, scripts/tools/33-skaffold.sh), offline:
// `skaffold diagnose --yaml-only` (the effective config per module and profile, including activation by
// kube context from a throw-away kubeconfig) and `skaffold render --offline=true --digest-source=none`
// per profile, whose output must be exactly the kustomize overlay it names. A full `skaffold diagnose`
// also inspects each Dockerfile's base image through a registry, which this machine cannot reach.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { ROOT, id, kustomize, parseYamlStream, run, skaffoldModules, tool, type K8sObject } from "./k8s-helpers.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tracemesh-skaffold-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A kubeconfig naming the contexts users have (nothing listens: skaffold only reads the name). */
function kubeconfig(current: string): string {
  const file = path.join(tmp, `kubeconfig-${current}`);
  const contexts = ["kind-tracemesh", "minikube", "tracemesh-ci", "some-other-cluster"];
  fs.writeFileSync(
    file,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:9'}}]",
      "users: [{name: u, user: {}}]",
      "contexts:",
      ...contexts.map((c) => `  - {name: ${c}, context: {cluster: c, user: u}}`),
      `current-context: ${current}`,
      "",
    ].join("\n"),
  );
  return file;
}

function skaffold(args: string[], context = "some-other-cluster"): string {
  return run(tool("skaffold", "33-skaffold.sh"), args, {
    env: { ...process.env, KUBECONFIG: kubeconfig(context), SKAFFOLD_UPDATE_CHECK: "false", SKAFFOLD_INTERACTIVE: "false" },
    timeoutMs: 60_000,
  });
}

/** `skaffold render` into a file (its stdout also carries notices). */
function render(args: string[], context?: string): string {
  const out = path.join(tmp, `render-${Math.random().toString(36).slice(2)}.yaml`);
  skaffold(["render", "--offline=true", "--output", out, ...args], context);
  return fs.readFileSync(out, "utf8");
}

/** `skaffold diagnose --yaml-only -m MODULE`: the effective config of MODULE. */
function diagnose(module: string, args: string[] = [], context?: string): unknown {
  const configs = parseYamlStream(skaffold(["diagnose", "--yaml-only", "-m", module, ...args], context)) as unknown as Array<{ metadata: { name: string } }>;
  const own = configs.find((c) => c.metadata.name === module);
  assert.ok(own, `skaffold diagnose printed no config named ${module}`);
  return own;
}

function byId(objects: K8sObject[]): Map<string, K8sObject> {
  return new Map(objects.map((o) => [id(o), o]));
}

const MODULE_DIRS: Record<string, Record<string, string>> = {
  tracemesh: { kind: "deploy/k8s/overlays/kind", minikube: "deploy/k8s/overlays/minikube", none: "deploy/k8s/overlays/kind" },
  loadgen: { kind: "deploy/k8s/loadgen", minikube: "deploy/k8s/loadgen", none: "deploy/k8s/loadgen" },
};

describe("skaffold", { timeout: 240_000 }, () => {
  test("skaffold.yaml uses the newest schema this skaffold knows", { timeout: 30_000 }, () => {
    const versions = skaffold(["schema", "list"]).trim().split("\n");
    const latest = versions[versions.length - 1];
    for (const m of skaffoldModules()) assert.equal((m as unknown as { apiVersion: string }).apiVersion, latest);
  });

  for (const [module, dirs] of Object.entries(MODULE_DIRS)) {
    for (const profile of ["none", "kind", "minikube"]) {
      test(`diagnose + render: module ${module}, profile ${profile}`, { timeout: 60_000 }, () => {
        const selection = ["-m", module, ...(profile === "none" ? [] : ["-p", profile])];
        const effective = diagnose(module, profile === "none" ? [] : ["-p", profile]) as {
          build: { local: { push: boolean }; artifacts: Array<{ image: string }> };
          manifests: { kustomize: { paths: string[] } };
          deploy: { kubectl?: object };
          portForward?: Array<{ resourceType: string; resourceName: string; port: number }>;
        };
        assert.equal(effective.build.local.push, false, "images are built locally, never pushed");
        assert.deepEqual(effective.manifests.kustomize.paths, [path.join(ROOT, dirs[profile])]);
        assert.ok(effective.deploy.kubectl);
        if (module === "tracemesh") {
          assert.deepEqual(effective.portForward?.map((p) => `${p.resourceType}/${p.resourceName}:${p.port}`), ["service/api:8080", "service/frontend:3000"]);
        }

        const rendered = parseYamlStream(render(["--digest-source=none", ...selection]));
        const expected = kustomize(dirs[profile]);
        const got = byId(rendered);
        assert.deepEqual([...got.keys()].sort(), expected.map(id).sort());
        for (const o of expected) assert.deepEqual(got.get(id(o)), o, `${id(o)} differs from kubectl kustomize ${dirs[profile]}`);
      });
    }
  }

  test("module verify (CI cluster only): the verifier Job, built from the cli image, activated by the tracemesh-ci context", { timeout: 60_000 }, () => {
    const effective = diagnose("verify", [], "tracemesh-ci") as {
      build: { artifacts: Array<{ image: string }> };
      manifests: { kustomize: { paths: string[] } };
    };
    assert.deepEqual(effective.manifests.kustomize.paths, [path.join(ROOT, "deploy/k8s/overlays/ci/verify")]);
    assert.deepEqual(effective.build.artifacts.map((a) => a.image), ["tracemesh/cli"]);
    const rendered = parseYamlStream(render(["--digest-source=none", "-m", "verify"], "tracemesh-ci"));
    const job = rendered.find((o) => o.kind === "Job" && o.metadata.name === "verify");
    assert.ok(job, "the verify Job is rendered");
    assert.deepEqual(rendered.map(id).sort(), kustomize("deploy/k8s/overlays/ci/verify").map(id).sort());
  });

  test("the ci profile, in every module: Node images FROM the local bases, tags NAME:latest, loads the manifests' images into the node before each deploy", { timeout: 120_000 }, () => {
    type Effective = {
      build: { tagPolicy?: { sha256?: object }; artifacts: Array<{ image: string; docker?: { buildArgs?: Record<string, string> } }> };
      manifests?: { kustomize?: { paths: string[] } };
      deploy?: { kubectl?: { hooks?: { before?: Array<{ host?: { command: string[] } }> } } };
    };
    for (const [module, dir] of [["tracemesh", "deploy/k8s/overlays/ci"], ["loadgen", "deploy/k8s/loadgen"], ["verify", "deploy/k8s/overlays/ci/verify"]] as const) {
      const own = diagnose(module, [], "tracemesh-ci") as Effective;
      assert.ok(own.build.tagPolicy?.sha256, `${module}: tagPolicy sha256 (images are NAME:latest)`);
      for (const a of own.build.artifacts.filter((x) => x.docker)) {
        for (const arg of ["NODE_IMAGE", "BUILD_IMAGE"]) {
          assert.equal(a.docker?.buildArgs?.[arg], `{{cmd "bash" "scripts/ci-base-image.sh" "${arg}"}}`, `${module}: ${a.image} is built FROM the local ${arg}`);
        }
      }
      assert.deepEqual(own.deploy?.kubectl?.hooks?.before?.map((h) => h.host?.command.join(" ")), [`bash scripts/cluster.sh import-for ${dir}`], `${module}: the deploy loads its images`);
      if (own.manifests?.kustomize) assert.deepEqual(own.manifests.kustomize.paths, [path.join(ROOT, dir)]);
    }
    // Outside the CI cluster, users build FROM the official Node image (the Dockerfile's default).
    const kind = diagnose("tracemesh", [], "kind-tracemesh") as Effective;
    assert.deepEqual(kind.build.artifacts.filter((a) => a.docker?.buildArgs?.NODE_IMAGE !== undefined).map((a) => a.image), []);
  });

  test("profiles switch on by kube context", { timeout: 60_000 }, () => {
    for (const [context, overlay] of [["kind-tracemesh", "kind"], ["minikube", "minikube"]]) {
      const effective = diagnose("tracemesh", [], context) as { manifests: { kustomize: { paths: string[] } } };
      assert.deepEqual(effective.manifests.kustomize.paths, [path.join(ROOT, "deploy/k8s/overlays", overlay)], `context ${context}`);
      const rendered = parseYamlStream(render(["--digest-source=none", "-m", "tracemesh"], context));
      const config = rendered.find((o) => o.kind === "ConfigMap" && o.metadata.name === "tracemesh-config")!;
      assert.equal((config.data as Record<string, string>).DEPLOYMENT_ENVIRONMENT, overlay);
    }
  });

  test("skaffold swaps every tracemesh image for the tag it builds", { timeout: 60_000 }, () => {
    // --digest-source=tag computes the tags (git commit) without building: each image of ours must match an
    // artifact, or it would reach the cluster as 0.1.0, which kind has never seen.
    const rendered = render(["--digest-source=tag", "-p", "kind"]);
    const images = [...rendered.matchAll(/image: (\S+)/g)].map((m) => m[1]);
    const ours = images.filter((i) => i.startsWith("tracemesh/"));
    // api, users, activities, notifications, moderation, frontend + loadgen + the CI verifier's cli
    assert.equal(ours.length, 8, `tracemesh images: ${ours.join(", ")}`);
    for (const image of ours) assert.doesNotMatch(image, /:0\.1\.0$/, `${image} was not replaced by skaffold`);
  });
});
