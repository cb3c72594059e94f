/**
 * fedmq error classes. Each condition has its own class and a stable `code` ("FEDMQ_ERR_…")
 * that is never reused for another condition. The same codes travel in wire `Error` frames.
 */
export class FedmqError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "FedmqError";
    this.code = code;
  }
}

/** One error class per condition: `name` set, a stable `code`, `cause` chained. */
export function defineError(name: string, code: string) {
  const cls = class extends FedmqError {
    static readonly code = code;
    constructor(message: string, options?: { cause?: unknown }) {
      super(code, message, options);
      this.name = name;
    }
  };
  Object.defineProperty(cls, "name", { value: name });
  return cls;
}

/** A frame's declared length exceeds the configured maximum frame size. */
export const FrameTooLargeError = defineError("FrameTooLargeError", "FEDMQ_ERR_FRAME_TOO_LARGE");
/** A frame's bytes do not decode as a fedwire Frame. */
export const MalformedFrameError = defineError("MalformedFrameError", "FEDMQ_ERR_MALFORMED_FRAME");
/** A frame decoded but carries no body this version knows. */
export const UnknownFrameError = defineError("UnknownFrameError", "FEDMQ_ERR_UNKNOWN_FRAME");
/** A frame out of place: anything before Connect, a second Connect, a reply sent as a request. */
export const ProtocolError = defineError("ProtocolError", "FEDMQ_ERR_PROTOCOL");
/** No protocol version in common. */
export const VersionMismatchError = defineError("VersionMismatchError", "FEDMQ_ERR_VERSION");
/** A destination name or pattern that is not valid. */
export const InvalidDestinationError = defineError("InvalidDestinationError", "FEDMQ_ERR_INVALID_DESTINATION");
/** A URI that does not parse. */
export const InvalidUriError = defineError("InvalidUriError", "FEDMQ_ERR_INVALID_URI");
/** An Ack or Nack names a delivery tag the node does not have outstanding. */
export const UnknownDeliveryError = defineError("UnknownDeliveryError", "FEDMQ_ERR_UNKNOWN_DELIVERY");
/** A subscription id already in use, or unknown for Unsubscribe. */
export const InvalidSubscriptionError = defineError("InvalidSubscriptionError", "FEDMQ_ERR_INVALID_SUBSCRIPTION");
/** The connection is closed (or closed while the operation waited). */
export const ConnectionClosedError = defineError("ConnectionClosedError", "FEDMQ_ERR_CONNECTION_CLOSED");
/** An operation did not complete within its timeout. */
export const TimeoutError = defineError("TimeoutError", "FEDMQ_ERR_TIMEOUT");
/** A peer stopped answering pings. */
export const StalePeerError = defineError("StalePeerError", "FEDMQ_ERR_STALE_PEER");
/** The node could not store a message. */
export const StoreError = defineError("StoreError", "FEDMQ_ERR_STORE");
/**
 * A store's backend (Redis) did not acknowledge an operation in time or cannot be reached.
 * A write that failed this way may or may not have been applied; nothing acknowledged is lost.
 */
export const StoreUnavailableError = defineError("StoreUnavailableError", "FEDMQ_ERR_STORE_UNAVAILABLE");
/**
 * A new message was refused for lack of room: the journal is at its usage limit
 * (`maxStoreBytes`), or its disk is full (a write failed with ENOSPC). Nothing of it was stored.
 * Acks and metadata are still written (the journal keeps `reservedBytes` of headroom for them);
 * as acks free segments, messages are accepted again. When a remove (an ack) could not be
 * written even so, `flush()` and `close()` reject with this error.
 */
export const StoreFullError = defineError("StoreFullError", "FEDMQ_ERR_STORE_FULL");
/** A connection's handshake did not arrive in time. */
export const HandshakeTimeoutError = defineError("HandshakeTimeoutError", "FEDMQ_ERR_HANDSHAKE_TIMEOUT");
/** A message or option value outside its allowed range. */
export const InvalidArgumentError = defineError("InvalidArgumentError", "FEDMQ_ERR_INVALID_ARGUMENT");
/** The operation is not allowed (e.g. a client publishing on an advisory topic). */
export const ForbiddenError = defineError("ForbiddenError", "FEDMQ_ERR_FORBIDDEN");
/** The node already serves as many connections as it allows (option 'maxConnections'). */
export const TooManyConnectionsError = defineError("TooManyConnectionsError", "FEDMQ_ERR_TOO_MANY_CONNECTIONS");
/** An HA node lost its lease (or its term failed to start): it must not serve, and drops every connection. */
export const NodeFencedError = defineError("NodeFencedError", "FEDMQ_ERR_NODE_FENCED");

/** A login the node refused (unknown user, wrong password, no certificate naming a user): the connection closes. */
export const AuthenticationError = defineError("AuthenticationError", "FEDMQ_ERR_UNAUTHENTICATED");
/** A start-up step (the store opening and recovering) did not finish within its bound. */
export const StartupTimeoutError = defineError("StartupTimeoutError", "FEDMQ_ERR_STARTUP_TIMEOUT");
/** A fault inside the node (a bug, or a failure nothing else names); the message says what failed. */
export const InternalError = defineError("InternalError", "FEDMQ_ERR_INTERNAL");
/** A wire Error frame whose code this version does not know (or none): its message is the peer's. */
export const UnknownRemoteError = defineError("UnknownRemoteError", "FEDMQ_ERR_UNKNOWN");

/** A listener (client, admin) could not open its port. */
export const ListenError = defineError("ListenError", "FEDMQ_ERR_LISTEN");

/** Rebuild a typed error from a wire Error frame's code and message. */
export function errorFromWire(code: string, message: string): FedmqError {
  const known = [
    FrameTooLargeError, MalformedFrameError, UnknownFrameError, ProtocolError, VersionMismatchError,
    InvalidDestinationError, InvalidUriError, UnknownDeliveryError, InvalidSubscriptionError,
    ConnectionClosedError, TimeoutError, StalePeerError, StoreError, StoreUnavailableError, StoreFullError, HandshakeTimeoutError,
    InvalidArgumentError, ForbiddenError, TooManyConnectionsError, NodeFencedError, InternalError, AuthenticationError,
  ].find((c) => c.code === code);
  if (known) return new known(message);
  // An unknown code is kept as the peer sent it (a newer peer's condition); none at all is UnknownRemoteError's.
  return code ? new FedmqError(code, message) : new UnknownRemoteError(message);
}
