// Preloaded by the process tests (`node --require dist/test/refuse-modules.js`): resolving any module whose
// specifier starts with one of the comma-separated prefixes in TRACEMESH_REFUSE_MODULES throws. A mode that
// must never load the X-Ray SDK (otel) or an OpenTelemetry SDK (xray-sdk) then fails to start if it does.
import { registerHooks } from "node:module";

const refused = (process.env.TRACEMESH_REFUSE_MODULES ?? "").split(",").map((s) => s.trim()).filter(Boolean);

registerHooks({
  resolve(specifier, context, nextResolve) {
    const match = refused.find((prefix) => specifier.startsWith(prefix));
    if (match) throw new Error(`refused module ${specifier} (TRACEMESH_REFUSE_MODULES=${refused.join(",")})`);
    return nextResolve(specifier, context);
  },
});
