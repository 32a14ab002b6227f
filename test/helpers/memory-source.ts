// In-memory config source helpers: hand-built snapshots pushed as state-of-the-world updates, and a
// sink over a bare SnapshotStore (what the supervisor does, without workers).

import type { ConfigSink, ResourceUpdate } from "../../src/config/source/config-source.js";
import { stateOfTheWorld } from "../../src/config/source/config-source.js";
import { InMemorySource } from "../../src/config/source/in-memory-source.js";
import { SnapshotStore } from "../../src/config/source/snapshot-store.js";
import type { Snapshot } from "../../src/config/model/types.js";

/** A snapshot's resources as one SotW update per type. */
export function snapshotUpdates(s: Omit<Snapshot, "version">, version = "1"): ResourceUpdate[] {
  return stateOfTheWorld(version, s);
}

/** An InMemorySource that starts with `s` (nothing when absent). */
export function memorySource(s?: Omit<Snapshot, "version">): InMemorySource {
  return new InMemorySource(s !== undefined ? snapshotUpdates(s) : []);
}

/** A sink answering from a SnapshotStore whose snapshots are all stamped `version`. */
export function storeSink(version = "test"): { store: SnapshotStore; sink: ConfigSink } {
  const store = new SnapshotStore(() => version);
  const sink: ConfigSink = {
    push: async (u) => {
      const r = store.apply(u);
      return { accepted: r.accepted, errors: r.errors, version: store.snapshot?.version ?? null };
    },
  };
  return { store, sink };
}
