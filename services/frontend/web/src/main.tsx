// Order matters: the web vitals are registered first (their page-hide listeners must run before the
// flush), then tracing (before React adds its event listeners), then the app.
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { recordWebVitals } from "./vitals";
import { startTracing } from "./tracing";
import { App } from "./App";
import "./styles.css";

recordWebVitals();
try {
  startTracing();
} catch (err) {
  // Tracing must never keep the app from starting.
  console.error("tracing not started", err);
}
createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
