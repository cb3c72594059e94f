export { main } from "./main";
export { serveNode, serveHaMember } from "./serve";
export type { ServedNode, ServedHaMember, ServeHaMemberOptions } from "./serve";
