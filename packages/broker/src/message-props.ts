import { fedwire, selectorLookup, type SelectorLookup } from "@fedmq/protocol";

/**
 * What a selector reads of a message: its headers and JMS fields. Decoded from the message's
 * bytes only when a selective subscription asks (a node without selectors never pays for it);
 * `correlation-id` and `type` are the headers STOMP and native clients set for JMSCorrelationID
 * and JMSType.
 */
export function propsOfBytes(bytes: Uint8Array): SelectorLookup {
  return propsOfMessage(fedwire.Message.decode(bytes));
}

export function propsOfMessage(m: fedwire.IMessage): SelectorLookup {
  const headers = m.headers ?? {};
  return selectorLookup({
    headers, priority: m.priority ?? 4, persistent: m.persistent === true, timestamp: Number(m.timestamp ?? 0), expiration: Number(m.expiration ?? 0),
    correlationId: headers["correlation-id"], type: headers["type"], messageId: `${m.producerId ?? ""}:${Number(m.producerSeq ?? 0)}`,
  });
}
