import { Component, useCallback, useEffect, useRef, useState, type ErrorInfo, type ReactNode } from "react";
import { api } from "./api";
import { ActivityPage, HomePage, NotFoundPage, NotificationsPage, ProfilePage, SignupPage } from "./pages";
import { Link, navigate, useRoute, type Route } from "./router";
import { notificationsSeenAt, signOut, useAccount, type SignedIn } from "./session";

const UNREAD_POLL_MS = 30_000;

/** How many notifications arrived since the notifications page was last opened (polled). */
function useUnread(account: SignedIn | null, route: Route): [number, () => void] {
  const [unread, setUnread] = useState(0);
  const refresh = useCallback(() => {
    if (!account) return setUnread(0);
    api.notifications().then(
      (r) => setUnread(r.notifications.filter((n) => (n.created_at ?? "") > notificationsSeenAt()).length),
      () => undefined, // the count is a hint; the notifications page shows errors
    );
  }, [account]);
  useEffect(() => {
    if (route.page === "notifications") return;
    refresh();
    const timer = setInterval(refresh, UNREAD_POLL_MS);
    return () => clearInterval(timer);
  }, [refresh, route.page]);
  return [unread, useCallback(() => setUnread(0), [])];
}

function Page({ route, onSeen }: { route: Route; onSeen: () => void }) {
  switch (route.page) {
    case "home": return <HomePage />;
    case "profile": return <ProfilePage key={route.handle} handle={route.handle} />;
    case "activity": return <ActivityPage key={route.uuid} uuid={route.uuid} />;
    case "signup": return <SignupPage />;
    case "notifications": return <NotificationsPage onSeen={onSeen} />;
    case "not_found": return <NotFoundPage path={route.path} />;
  }
}

/** A render error shows a message and a way out instead of a blank page. */
class ErrorBoundary extends Component<{ children: ReactNode; resetKey: string }, { error: string; key: string }> {
  override state = { error: "", key: this.props.resetKey };
  static getDerivedStateFromError(err: unknown) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
  static getDerivedStateFromProps(props: { resetKey: string }, state: { error: string; key: string }) {
    return props.resetKey !== state.key ? { error: "", key: props.resetKey } : null;
  }
  override componentDidCatch(err: unknown, info: ErrorInfo) {
    console.error("render error", err, info.componentStack);
  }
  override render() {
    if (!this.state.error) return this.props.children;
    return (
      <div role="alert" className="error">
        <p>Something went wrong on this page: {this.state.error}</p>
        <p><Link to="/">Go home</Link></p>
      </div>
    );
  }
}

export function App() {
  const route = useRoute();
  const account = useAccount();
  const [unread, clearUnread] = useUnread(account, route);
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    main.current?.querySelector<HTMLElement>("h1")?.focus();
  }, [route]);
  const routeKey = JSON.stringify(route);
  return (
    <>
      <a className="skip" href="#main">Skip to content</a>
      <header className="top">
        <Link to="/" className="brand">Cruddur</Link>
        <nav aria-label="Main">
          <ul>
            <li><Link to="/" aria-current={route.page === "home" ? "page" : undefined}>Home</Link></li>
            <li>
              <Link to="/notifications" aria-current={route.page === "notifications" ? "page" : undefined}
                aria-label={unread > 0 ? `Notifications, ${unread} unread` : "Notifications"}>
                Notifications{unread > 0 && <span className="badge" aria-hidden="true">{unread}</span>}
              </Link>
            </li>
            {account && <li><Link to={`/@${account.handle}`}>@{account.handle}</Link></li>}
            <li>
              {account ? (
                <button type="button" className="link" data-action="sign-out" onClick={() => { signOut(); navigate("/"); }}>Sign out</button>
              ) : (
                <Link to="/signup" aria-current={route.page === "signup" ? "page" : undefined}>Sign up</Link>
              )}
            </li>
          </ul>
        </nav>
      </header>
      <main id="main" ref={main}>
        <ErrorBoundary resetKey={routeKey}>
          <Page route={route} onSeen={clearUnread} />
        </ErrorBoundary>
      </main>
    </>
  );
}
