/**
 * @stomp/stompjs (the browser STOMP client) in Node, over a `ws` WebSocket offering the STOMP
 * subprotocols, as a browser page would connect to a node's `ws://…/stomp` listener.
 */
import { Client, type IFrame, type IMessage, type IStompSocket, type StompHeaders } from "@stomp/stompjs";
import WebSocket from "ws";
import { waitFor } from "../../src";

/** One connected stompjs client: what arrived, receipts awaited by id, and `close()` (DISCONNECT, then the socket closes). */
export interface StompJsSession {
  readonly client: Client;
  /** ERROR frames received. */
  readonly errors: IFrame[];
  /**
   * Resolves when RECEIPT `id` arrives (10 s at most). Call it before sending the frame that asks
   * for the receipt: stompjs only reports receipts watched for when they come.
   */
  receipt(id: string): Promise<void>;
  /** Subscribe; every MESSAGE goes into the returned array, in arrival order. */
  subscribe(destination: string, headers: StompHeaders): IMessage[];
  close(): Promise<void>;
}

/** The first `ws://` listener of a node (`node.listenUrls`). */
export function wsUrlOf(listenUrls: readonly string[]): string {
  const url = listenUrls.find((u) => u.startsWith("ws://"));
  if (url === undefined) throw new Error(`no ws:// listener among ${JSON.stringify(listenUrls)}: add 'ws://127.0.0.1:0' to the node's 'listen'`);
  return url;
}

/** Connect to `url` (heart-beats off, no reconnect) and resolve once CONNECTED arrived. */
export async function connectStompJs(url: string, connectHeaders: StompHeaders = {}): Promise<StompJsSession> {
  const errors: IFrame[] = [];
  const receipts = new Set<string>();
  let failure: string | undefined;
  const client = new Client({
    webSocketFactory: () => new WebSocket(url, ["v12.stomp", "v11.stomp", "v10.stomp"]) as unknown as IStompSocket,
    connectHeaders,
    heartbeatIncoming: 0,
    heartbeatOutgoing: 0,
    reconnectDelay: 0,
    debug: () => undefined,
  });
  client.onStompError = (frame) => errors.push(frame);
  client.onWebSocketError = () => {
    failure = `websocket error on ${url}`;
  };
  client.activate();
  try {
    await waitFor(() => {
      if (failure !== undefined || errors.length > 0) throw new Error(failure ?? `ERROR frame: ${errors[0]!.headers.message ?? ""}`);
      return client.connected;
    }, { what: `stompjs CONNECTED from ${url}` });
  } catch (err) {
    await client.deactivate({ force: true });
    throw err;
  }
  return {
    client,
    errors,
    receipt: (id) => {
      client.watchForReceipt(id, () => receipts.add(id));
      return waitFor(() => receipts.has(id), { what: `stompjs RECEIPT '${id}'` }).then(() => undefined);
    },
    subscribe: (destination, headers) => {
      const into: IMessage[] = [];
      client.subscribe(destination, (m) => into.push(m), headers);
      return into;
    },
    close: () => client.deactivate(),
  };
}
