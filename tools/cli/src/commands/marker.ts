// `tracemesh marker`: a Honeycomb marker, or a range marker around a load test (--start … --end).
import { parseArgs } from "node:util";
import { createMarker, endMarker } from "../honeycomb.js";
import { HELP_OPTION, HelpRequested, UsageError, withoutUsageLine } from "./command.js";
import { honeycombOptions } from "./vendor-options.js";

export const usage = `usage:
  tracemesh marker [--start | --end] [--message TEXT] [--type TYPE] [--url URL] [--dataset SLUG]
      a Honeycomb marker; --start opens a range marker (type load-test by default), --end closes the newest open one
`;

export const summary = withoutUsageLine(usage);

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      start: { type: "boolean", default: false },
      end: { type: "boolean", default: false },
      message: { type: "string" },
      type: { type: "string" },
      url: { type: "string" },
      dataset: { type: "string" },
      "timeout-ms": { type: "string", default: "10000" },
      ...HELP_OPTION,
    },
  });
  if (values.help) throw new HelpRequested(usage);
  if (values.start && values.end) throw new UsageError("marker: --start or --end, not both");
  if (!values.start && !values.end && !values.message) throw new UsageError("marker: give --message, --start or --end");
  const options = honeycombOptions(values.dataset, Number(values["timeout-ms"]));
  const now = Math.floor(Date.now() / 1000);
  const type = values.type ?? (values.start || values.end ? "load-test" : "tracemesh");
  const marker = values.end
    ? await endMarker(options, type, now, values.message)
    : await createMarker(options, {
        message: values.message ?? "load test started",
        type,
        start_time: now,
        ...(values.url ? { url: values.url } : {}),
      });
  process.stdout.write(JSON.stringify(marker) + "\n");
  return 0;
}
