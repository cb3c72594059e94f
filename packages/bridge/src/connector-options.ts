import { z } from "zod";
import { validateDestinationPattern } from "@fedmq/protocol";
import { DEFAULT_BRIDGE_OPTIONS, type BridgeOptions } from "./bridge-options";

/**
 * A list of destination patterns. A bad pattern's message is a whole sentence (it names the
 * pattern), so it is marked `standalone` for the topology's error text.
 */
const DestinationList = z.array(
  z.string().superRefine((value, ctx) => {
    const message = validateDestinationPattern(value);
    if (message !== null) ctx.addIssue({ code: "custom", message, params: { standalone: true } });
  }),
);
const Hops = z.number().int().min(1);

/**
 * The forwarding options a connector sets (ActiveMQ's networkConnector attributes), each
 * optional: the one schema a topology's connectors (and CLI flags) are validated with. Meanings
 * and defaults: `BridgeOptions` / `DEFAULT_BRIDGE_OPTIONS`. Adding an option: its field there, its
 * line here, its row in docs/topology.md.
 */
export const CONNECTOR_OPTIONS_SHAPE = Object.freeze({
  duplex: z.boolean().optional(),
  messageTTL: Hops.optional(),
  consumerTTL: Hops.optional(),
  conduitSubscriptions: z.boolean().optional(),
  decreaseNetworkConsumerPriority: z.boolean().optional(),
  prefetchSize: z.number().int().min(1).optional(),
  maxWindowBytes: z.number().int().min(0).optional(),
  dynamicOnly: z.boolean().optional(),
  staticBridge: z.boolean().optional(),
  dynamicallyIncludedDestinations: DestinationList.optional(),
  staticallyIncludedDestinations: DestinationList.optional(),
  excludedDestinations: DestinationList.optional(),
});

export type ConnectorOptionKey = keyof typeof CONNECTOR_OPTIONS_SHAPE;
/** A connector's forwarding options, resolved. */
export type ConnectorSettings = { readonly [K in ConnectorOptionKey]: BridgeOptions[K] };

export const CONNECTOR_OPTION_KEYS = Object.freeze(Object.keys(CONNECTOR_OPTIONS_SHAPE) as ConnectorOptionKey[]);

/** The bridge's defaults for the options a connector sets. */
export const DEFAULT_CONNECTOR_SETTINGS: ConnectorSettings = connectorSettings({});

/** `given`'s forwarding options over the bridge's defaults (lists copied: the result shares nothing with either). */
export function connectorSettings(given: Partial<Record<ConnectorOptionKey, unknown>>): ConnectorSettings {
  const out: Record<string, unknown> = {};
  for (const k of CONNECTOR_OPTION_KEYS) {
    const v = given[k] ?? DEFAULT_BRIDGE_OPTIONS[k];
    out[k] = Array.isArray(v) ? Object.freeze([...(v as string[])]) : v;
  }
  return Object.freeze(out) as ConnectorSettings;
}
