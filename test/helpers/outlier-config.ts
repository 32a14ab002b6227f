// An outlier-detection config with Envoy's defaults (as Istio fills them), for tests to override.

import type { OutlierDetectionConfig } from "../../src/config/model/types.js";

export function outlierConfig(over: Partial<OutlierDetectionConfig> = {}): OutlierDetectionConfig {
  return {
    consecutive5xx: 5,
    enforcingConsecutive5xx: 100,
    consecutiveGatewayFailure: 5,
    enforcingConsecutiveGatewayFailure: 0,
    consecutiveLocalOriginFailure: 5,
    enforcingConsecutiveLocalOriginFailure: 100,
    splitExternalLocalOriginErrors: false,
    intervalMs: 10_000,
    baseEjectionTimeMs: 30_000,
    maxEjectionTimeMs: 300_000,
    maxEjectionPercent: 10,
    ...over,
  };
}
