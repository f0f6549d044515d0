// Preloaded by the process tests (`node --require dist/test/refuse-modules.js`): resolving a module named in
// TRACEMESH_REFUSE_MODULES (comma-separated; `name` exactly, `prefix*` any specifier starting so) throws. A mode
// that must never load the X-Ray SDK (otel) or an OpenTelemetry SDK (xray-sdk) then fails to start if it does.
// With TRACEMESH_REFUSE_ASYNC_HOOKS=true, creating an async hook throws too: the X-Ray SDK in manual mode needs
// none, and cls-hooked's (made when the SDK loads in automatic mode) would run on every async operation.
import asyncHooks from "node:async_hooks";
import { registerHooks } from "node:module";

if (process.env.TRACEMESH_REFUSE_ASYNC_HOOKS === "true") {
  asyncHooks.createHook = () => {
    throw new Error("refused async hook (TRACEMESH_REFUSE_ASYNC_HOOKS=true)");
  };
}

const refused = (process.env.TRACEMESH_REFUSE_MODULES ?? "").split(",").map((s) => s.trim()).filter(Boolean);

registerHooks({
  resolve(specifier, context, nextResolve) {
    const match = refused.find((name) => (name.endsWith("*") ? specifier.startsWith(name.slice(0, -1)) : specifier === name));
    if (match) throw new Error(`refused module ${specifier} (TRACEMESH_REFUSE_MODULES=${refused.join(",")})`);
    return nextResolve(specifier, context);
  },
});
