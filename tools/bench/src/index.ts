export { runBench, settings, type BenchOptions, type BenchRun } from "./main.js";
