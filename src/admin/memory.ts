// `/memory` in Envoy's envoy.admin.v3.Memory shape (uint64 fields are strings in proto3 JSON),
// filled from V8 rather than tcmalloc: allocated = JS heap in use in the main thread and every
// worker plus every thread's off-heap buffers (each isolate counts its own: a worker's request
// and response bodies are in its count, not the main thread's); heap_size = the heaps V8 reserved
// plus those buffers;
// pageheap_free = reserved but unused; total_physical_bytes = the process's resident set.
// pageheap_unmapped and total_thread_cache have no V8 counterpart: "0".

import type { WorkerHeap } from "../supervisor/supervisor-api.js";

export interface EnvoyMemory {
  allocated: string;
  heap_size: string;
  pageheap_unmapped: string;
  pageheap_free: string;
  total_thread_cache: string;
  total_physical_bytes: string;
}

export function memoryJson(main: NodeJS.MemoryUsage, workers: readonly WorkerHeap[]): EnvoyMemory {
  const used = main.heapUsed + workers.reduce((n, w) => n + w.used, 0);
  const total = main.heapTotal + workers.reduce((n, w) => n + w.total, 0);
  const external = main.external + workers.reduce((n, w) => n + w.external, 0);
  const allocated = used + external;
  const heapSize = Math.max(total + external, allocated);
  return {
    allocated: String(allocated),
    heap_size: String(heapSize),
    pageheap_unmapped: "0",
    pageheap_free: String(heapSize - allocated),
    total_thread_cache: "0",
    total_physical_bytes: String(main.rss),
  };
}
