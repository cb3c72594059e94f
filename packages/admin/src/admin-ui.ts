import { readFileSync } from "node:fs";
import path from "node:path";

/**
 * The web view's page: one self-contained HTML file (inline CSS and script, no external
 * resources) shipped beside the code in `packages/admin/ui/`. The same relative path holds from
 * `src/` (tests) and `dist/` (the built package).
 */
export const NETWORK_PAGE_FILE = path.join(__dirname, "..", "ui", "network.html");

let page: string | undefined;

/** The page's text, read once. Throws (the request answers 500) when the file is missing. */
export function networkPage(): string {
  if (page === undefined) {
    try {
      page = readFileSync(NETWORK_PAGE_FILE, "utf8");
    } catch (err) {
      throw new Error(`the web view's page '${NETWORK_PAGE_FILE}' cannot be read: ${(err as Error).message}`, { cause: err });
    }
  }
  return page;
}
