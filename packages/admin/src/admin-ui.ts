import { readFileSync } from "node:fs";
import path from "node:path";

/**
 * The web view's pages: self-contained HTML files (inline CSS and script, no external
 * resources) shipped beside the code in `packages/admin/ui/`. The same relative path holds from
 * `src/` (tests) and `dist/` (the built package).
 */
export const NETWORK_PAGE_FILE = path.join(__dirname, "..", "ui", "network.html");
export const LOGIN_PAGE_FILE = path.join(__dirname, "..", "ui", "login.html");

const pages = new Map<string, string>();

/** A page's text, read once. Throws (the request answers 500) when the file is missing. */
function uiPage(file: string): string {
  let page = pages.get(file);
  if (page === undefined) {
    try {
      page = readFileSync(file, "utf8");
    } catch (err) {
      throw new Error(`the web view's page '${file}' cannot be read: ${(err as Error).message}`, { cause: err });
    }
    pages.set(file, page);
  }
  return page;
}

/** The network page; with `auth`, its log-out button (`data-auth-only`) is shown. */
export function networkPage(auth = false): string {
  const page = uiPage(NETWORK_PAGE_FILE);
  return auth ? page.replaceAll("data-auth-only hidden", "data-auth-only") : page;
}

/** The login page; with `refused`, its message that the token was not accepted is shown. */
export function loginPage(refused = false): string {
  const page = uiPage(LOGIN_PAGE_FILE);
  return refused ? page.replace("data-login-error hidden", "data-login-error") : page;
}

/** Headers of every page: no other site may frame it (clickjacking the log-out or, later, controls). */
export const PAGE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "content-type": "text/html; charset=utf-8",
  "x-frame-options": "DENY",
  "content-security-policy": "frame-ancestors 'none'",
});
