// Configure protobufjs before the generated module loads: 64-bit fields decode as JS numbers
// (message sequences and timestamps stay far below 2^53), never as Long objects.
import * as protobuf from "protobufjs/minimal";

protobuf.util.Long = undefined as unknown as typeof protobuf.util.Long;
protobuf.configure();

export { protobuf };
