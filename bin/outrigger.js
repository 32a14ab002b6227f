#!/usr/bin/env node
// outrigger: the CLI (bin/launch.js runs dist/cli/main.js on a Node >= 22.12).
import { launch } from "./launch.js";

await launch({ name: "outrigger", bin: import.meta.url, entry: "cli/main.js", run: "main" });
