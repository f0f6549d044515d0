// `tracemesh demo`: the whole mesh locally with the real Collector, the stand-ins for the backends it cannot reach,
// the web app and the logs step (../demo/).
import { DEMO_USAGE, parseDemoArgs, runDemo } from "../demo/demo.js";
import { frontendDemo } from "../demo/frontend.js";
import { logsDemo } from "../demo/logs.js";
import { DEFAULT_DEMO_OUT, telemetryDemo } from "../demo/telemetry.js";
import { HelpRequested, UsageError } from "./command.js";

export const usage = DEMO_USAGE;

export const summary = "  tracemesh demo [options]        the whole mesh locally with the real Collector (tracemesh demo --help)\n";

export async function run(args: string[]): Promise<number> {
  let opts: ReturnType<typeof parseDemoArgs>;
  try {
    opts = parseDemoArgs(args);
  } catch (err) {
    const e = err as Error & { code?: string };
    throw e.code?.startsWith("ERR_PARSE_ARGS") ? e : new UsageError(`demo: ${e.message}`);
  }
  if (opts === "help") throw new HelpRequested(usage);
  // The frontend first: extensions stop in order, so it flushes its spans before the Collector stops.
  const telemetry = telemetryDemo({ echo: opts.echo });
  // Logs need the Collector's export to tell which lines belong to exported traces: both, or neither.
  const logs = logsDemo({ tracesFile: () => telemetry.files().traces, outDir: DEFAULT_DEMO_OUT, echo: opts.echo });
  return runDemo(opts, [frontendDemo({ echo: opts.echo }), ...(opts.collector ? [telemetry, logs] : [])]);
}
