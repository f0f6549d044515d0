#!/usr/bin/env node
// The `tracemesh` command: finds the command in the table below (one module per command in commands/) and turns
// what it throws into the exit status. Arguments are parsed with node:util parseArgs (in Node itself, strict
// about unknown options, nothing to install for a few flags); every command and subcommand answers --help/-h
// with its own usage and exit 0.
import { InputError } from "@tracemesh/trace-model";
import { HelpRequested, UsageError, type Command } from "./commands/command.js";
import * as compare from "./commands/compare.js";
import * as demo from "./commands/demo.js";
import * as fault from "./commands/fault.js";
import * as marker from "./commands/marker.js";
import * as setup from "./commands/setup.js";
import * as standIn from "./commands/stand-in.js";
import * as trace from "./commands/trace.js";
import * as verify from "./commands/verify.js";

/** Every command by name, in the order `tracemesh help` lists them. */
const COMMANDS: ReadonlyMap<string, Command> = new Map<string, Command>([
  ["compare", compare],
  ["setup", setup],
  ["marker", marker],
  ["demo", demo],
  ["trace", trace],
  ["verify", verify],
  ["stand-in", standIn],
  ["fault", fault],
]);

const USAGE = `tracemesh — compare X-Ray with Honeycomb, set both up as code, run the local demo

usage:
${[...COMMANDS.values()].map((c) => c.summary).join("")}
Every command takes --help (-h). Exit status: 0 done, 1 a remote call failed, 2 bad usage or unreadable input.
`;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    process.stdout.write(USAGE);
    return name === undefined ? 2 : 0;
  }
  try {
    const command = COMMANDS.get(name);
    if (!command) throw new UsageError(`unknown command "${name}"`);
    return await command.run(rest);
  } catch (err) {
    return exitStatusOf(err);
  }
}

/** --help: the usage, 0. Bad usage or unreadable input: the message (and where usage is), 2. Anything else: 1. */
function exitStatusOf(err: unknown): number {
  if (err instanceof HelpRequested) {
    process.stdout.write(err.usage);
    return 0;
  }
  const e = err as Error & { code?: string };
  const badUsage = err instanceof UsageError || e.code?.startsWith("ERR_PARSE_ARGS") === true;
  if (badUsage || err instanceof InputError) {
    process.stderr.write(`tracemesh: ${e.message}\n`);
    if (badUsage) process.stderr.write("run `tracemesh help` for usage\n");
    return 2;
  }
  process.stderr.write(`tracemesh: ${e.name === "Error" ? "" : e.name + ": "}${e.message}\n`);
  return 1;
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  main(argv).then((code) => {
    process.exitCode = code;
    // The demo has stopped every process it started; it exits at once, as it always did, rather than wait
    // for a straggling handle (a lost child's pipe).
    if (argv[0] === "demo") process.exit(code);
  });
}
