/**
 * A test step that runs once, on first use: every test that reads what the step makes awaits it, so each test
 * stands alone (e.g. under --test-name-pattern) and none relies on what an earlier test left behind. A step that
 * failed fails every test that awaits it, with its own error.
 */
export function sharedStep<T>(step: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | undefined;
  return () => (running ??= step());
}
