// InMemorySource: resources built by hand and pushed as updates, as an xDS client would push them
// (per type, state of the world or delta, with versions). Tests drive the supervisor and runtime
// through it; it also records every answer, like a fake control plane records ACKs and NACKs.

import type { ConfigSink, ConfigSource, ConfigUpdate, ResourceUpdate, UpdateResult } from "./config-source.js";

export class InMemorySource implements ConfigSource {
  readonly name = "memory";
  private sink: ConfigSink | undefined;
  /** Every update pushed and what the sink answered (ACK: accepted, NACK: refused with errors). */
  readonly answers: Array<{ update: ConfigUpdate; result: UpdateResult }> = [];
  private last: UpdateResult = { accepted: true, errors: [], version: null };

  /** `initial`: the updates delivered on start (one atomic update). */
  constructor(private readonly initial: ResourceUpdate[] = []) {}

  async start(sink: ConfigSink): Promise<UpdateResult> {
    this.sink = sink;
    return this.push(this.initial);
  }

  /** Pushes updates applied together; resolves with the sink's answer. */
  async push(updates: ResourceUpdate[], errors: ConfigUpdate["errors"] = []): Promise<UpdateResult> {
    const sink = this.sink;
    if (sink === undefined) throw new Error("InMemorySource.push before start");
    const update: ConfigUpdate = { origin: this.name, updates, errors };
    const result = await sink.push(update);
    this.answers.push({ update, result });
    this.last = result;
    return result;
  }

  /** Nothing to re-read: answers with the last result. */
  async refresh(_reason: string): Promise<UpdateResult> {
    return this.last;
  }

  close(): void {
    this.sink = undefined;
  }
}
