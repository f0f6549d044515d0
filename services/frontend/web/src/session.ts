// What the browser keeps: the signed-in user and their token (localStorage, survives reloads), the
// tracing session id (sessionStorage: one per tab), and when the notifications were last read.
import { useSyncExternalStore } from "react";

export interface SignedIn {
  token: string;
  handle: string;
  displayName: string;
}

const ACCOUNT_KEY = "tracemesh.account";
const SEEN_KEY = "tracemesh.notifications_seen_at";
const SESSION_KEY = "tracemesh.session_id";

const listeners = new Set<() => void>();
let account: SignedIn | null = readAccount();

function readAccount(): SignedIn | null {
  try {
    const value = JSON.parse(localStorage.getItem(ACCOUNT_KEY) ?? "null") as Partial<SignedIn> | null;
    return value && typeof value.token === "string" && typeof value.handle === "string"
      ? { token: value.token, handle: value.handle, displayName: value.displayName ?? value.handle }
      : null;
  } catch {
    return null;
  }
}

export function currentAccount(): SignedIn | null {
  return account;
}

export function signIn(next: SignedIn): void {
  account = next;
  localStorage.setItem(ACCOUNT_KEY, JSON.stringify(next));
  localStorage.removeItem(SEEN_KEY);
  listeners.forEach((l) => l());
}

export function signOut(): void {
  account = null;
  localStorage.removeItem(ACCOUNT_KEY);
  localStorage.removeItem(SEEN_KEY);
  listeners.forEach((l) => l());
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The signed-in account, re-rendering on sign-in and sign-out. */
export function useAccount(): SignedIn | null {
  return useSyncExternalStore(subscribe, currentAccount);
}

export function notificationsSeenAt(): string {
  return localStorage.getItem(SEEN_KEY) ?? "";
}

export function markNotificationsSeen(newest: string): void {
  if (newest > notificationsSeenAt()) localStorage.setItem(SEEN_KEY, newest);
}

/** A random id for this tab's session (crypto.getRandomValues works on plain http too, randomUUID does not). */
export function sessionId(): string {
  let id = sessionStorage.getItem(SESSION_KEY);
  if (!id) {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    id = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    sessionStorage.setItem(SESSION_KEY, id);
  }
  return id;
}
