// Preloaded by the process tests (`node --require dist/test/refuse-modules.js`): resolving a module named in
// TRACEMESH_REFUSE_MODULES (comma-separated; `name` exactly, `prefix*` any specifier starting so) throws. A mode
// that must never load the X-Ray SDK (otel) or an OpenTelemetry SDK (xray-sdk) then fails to start if it does.
import { registerHooks } from "node:module";

const refused = (process.env.TRACEMESH_REFUSE_MODULES ?? "").split(",").map((s) => s.trim()).filter(Boolean);

registerHooks({
  resolve(specifier, context, nextResolve) {
    const match = refused.find((name) => (name.endsWith("*") ? specifier.startsWith(name.slice(0, -1)) : specifier === name));
    if (match) throw new Error(`refused module ${specifier} (TRACEMESH_REFUSE_MODULES=${refused.join(",")})`);
    return nextResolve(specifier, context);
  },
});
