// Preloaded with NODE_OPTIONS="--require …/cpu-profile-preload.js" (Node 20 refuses --cpu-prof in
// NODE_OPTIONS): SIGUSR2 starts the inspector's CPU profiler (so start-up is left out), and the
// profile is written to $BENCH_CPU_PROF_DIR/<pid>.cpuprofile when the process exits. Same-thread
// inspector calls complete synchronously, so this works from the 'exit' handler.
import fs from "node:fs";
import inspector from "node:inspector";
import path from "node:path";

const dir = process.env.BENCH_CPU_PROF_DIR;
if (dir) {
  const session = new inspector.Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.setSamplingInterval", { interval: 1000 });
  let started = false;
  process.on("SIGUSR2", () => {
    if (started) return;
    started = true;
    session.post("Profiler.start");
  });
  process.on("exit", () => {
    if (!started) return;
    session.post("Profiler.stop", (err, result) => {
      if (!err) fs.writeFileSync(path.join(dir, `${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
