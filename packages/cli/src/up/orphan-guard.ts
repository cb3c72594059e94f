/**
 * Preloaded (`node --require`) into every node `fedmq up` starts. `up` opens an IPC channel to
 * each node; if `up` dies without stopping its nodes (`kill -9`, a crash), the channel
 * disconnects and the node gets the SIGTERM that `up` could not send, so no node outlives it.
 * The channel is unref'd: it never keeps a node alive on its own.
 */
if (process.channel) {
  process.on("disconnect", () => process.kill(process.pid, "SIGTERM"));
  process.channel.unref();
}
