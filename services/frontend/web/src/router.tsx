// A few routes over the History API: `/`, `/@handle`, `/activities/:uuid`, `/signup`, `/notifications`.
import { useEffect, useState, type AnchorHTMLAttributes, type MouseEvent } from "react";

export type Route =
  | { page: "home" }
  | { page: "profile"; handle: string }
  | { page: "activity"; uuid: string }
  | { page: "signup" }
  | { page: "notifications" }
  | { page: "not_found"; path: string };

export function parseRoute(pathname: string): Route {
  if (pathname === "/" || pathname === "") return { page: "home" };
  if (pathname === "/signup") return { page: "signup" };
  if (pathname === "/notifications") return { page: "notifications" };
  const profile = /^\/@([a-z0-9_]{1,40})\/?$/.exec(pathname);
  if (profile) return { page: "profile", handle: profile[1]! };
  const activity = /^\/activities\/([0-9a-fA-F-]{36})\/?$/.exec(pathname);
  if (activity) return { page: "activity", uuid: activity[1]!.toLowerCase() };
  return { page: "not_found", path: pathname };
}

export function navigate(to: string): void {
  if (to === location.pathname) return;
  history.pushState(null, "", to);
  dispatchEvent(new PopStateEvent("popstate"));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.pathname));
  useEffect(() => {
    const onPop = () => {
      setRoute(parseRoute(location.pathname));
      window.scrollTo(0, 0);
    };
    addEventListener("popstate", onPop);
    return () => removeEventListener("popstate", onPop);
  }, []);
  return route;
}

/** A real link (keyboard, middle-click, copy link all work) that navigates without a reload. */
export function Link({ to, onClick, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { to: string }) {
  const handle = (e: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return <a href={to} onClick={handle} {...rest} />;
}
