#!/usr/bin/env node
// outrigger-envoy: Outrigger with Envoy's command line (what pilot-agent execs as its proxy binary);
// bin/launch.js runs dist/cli/envoy-main.js on a Node >= 22.12.
import { launch } from "./launch.js";

await launch({ name: "outrigger-envoy", bin: import.meta.url, entry: "cli/envoy-main.js", run: "envoyMain" });
