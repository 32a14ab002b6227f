// The telemetry factories a production worker runs with (tests pass their own to ProxyRuntime).
// Each kind of telemetry adds its factory here.

import type { TelemetryFactories } from "./worker-telemetry.js";

export interface WorkerTelemetryEnv {
  workerIndex: number;
}

export function productionTelemetryFactories(_env: WorkerTelemetryEnv): TelemetryFactories {
  return {};
}
