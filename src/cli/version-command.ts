// `outrigger version`: the package version and the Node.js runtime.

import { parseFlags, renderHelp } from "../bootstrap/flag-parser.js";
import type { CommandSpec } from "../bootstrap/flag-parser.js";
import type { Command } from "./command.js";
import { packageVersion } from "./package-root.js";

export const versionCommandSpec: CommandSpec = {
  name: "version",
  usage: "outrigger version",
  description: "Print the outrigger version and the Node.js version it runs on.",
  flags: [],
};

export function versionLine(): string {
  return `outrigger ${packageVersion()} (node ${process.version})\n`;
}

export const versionCommand: Command = {
  spec: versionCommandSpec,
  summary: "print the version",
  async run(argv, ctx) {
    if (parseFlags(versionCommandSpec, argv).help) ctx.stdout(renderHelp(versionCommandSpec));
    else ctx.stdout(versionLine());
    return 0;
  },
};
