import { describe, expect, it } from "vitest";
import { commands as commandTable } from "../../../src/cli/main.js";

const commands = await Promise.all(commandTable.map((c) => c.load()));
import { harness } from "./cli-harness.js";

describe("outrigger main", () => {
  it("no arguments: usage on stderr, exit 2", async () => {
    const r = await harness().run([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Usage: outrigger <command>");
  });

  it.each([["--help"], ["-h"], ["help"]])("%s: top-level help listing every command, exit 0", async (flag) => {
    const r = await harness().run([flag]);
    expect(r.code).toBe(0);
    for (const c of ["run", "validate", "config-dump", "demo", "version"]) expect(r.stdout).toMatch(new RegExp(`^  ${c} `, "m"));
  });

  it.each([["--version"], ["version"]])("%s prints the package version", async (arg) => {
    const r = await harness().run([arg]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^outrigger 0\.\d+\.\d+ \(node v\d+/);
  });

  it("unknown command: exit 2, names it", async () => {
    const r = await harness().run(["serve"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command "serve"');
    expect(r.stderr).toContain("see `outrigger --help`");
  });

  it("unknown top-level flag: exit 2", async () => {
    const r = await harness().run(["--frobnicate"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown flag "--frobnicate"');
  });

  it("the command table (loaded lazily) names and summarizes each command as its module does", () => {
    expect(commands.map((c) => [c.spec.name, c.summary])).toEqual(commandTable.map((c) => [c.name, c.summary]));
  });

  for (const command of commands) {
    const name = command.spec.name;
    it(`${name} --help / -h / help ${name}: lists every flag with its default, exit 0`, async () => {
      for (const argv of [[name, "--help"], [name, "-h"], ["help", name]]) {
        const r = await harness().run(argv);
        expect(r.code).toBe(0);
        expect(r.stdout).toContain(`Usage: outrigger ${name}`);
        for (const f of command.spec.flags) {
          const line = r.stdout.split("\n").find((l) => l.trimStart().startsWith(`--${f.name}`));
          expect(line, `${name} --${f.name}`).toBeDefined();
          if (f.default !== undefined) expect(line).toContain(`default: ${f.default}`);
        }
        expect(r.stdout).toContain("-h, --help");
      }
    });

    it(`${name}: unknown flag → exit 2 naming it and pointing at --help`, async () => {
      const r = await harness().run([name, "--bogus"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`outrigger ${name}: unknown flag --bogus\nsee \`outrigger ${name} --help\`\n`);
    });
  }

  it.each([
    [["run"], "outrigger run: --config is required"],
    [["run", "--config"], "outrigger run: flag --config needs a value <file|dir>"],
    [["run", "--config", "x", "--workers", "many"], 'outrigger run: --workers: expected an integer, got "many"'],
    [["run", "--config", "x", "--admin-port=http"], 'outrigger run: --admin-port: expected an integer, got "http"'],
    [["validate"], "outrigger validate: --config is required"],
    [["config-dump", "--config", "x", "--labels", "=v"], "outrigger config-dump: --labels: expected key=value pairs"],
    [["demo", "--workers", "-1"], "outrigger demo: flag --workers needs a value <n>"],
    [["demo", "--workers", "300"], "outrigger demo: --workers: 300 is out of range 0..256"],
    [["demo", "--admin-port"], "outrigger demo: flag --admin-port needs a value <port>"],
    [["version", "extra"], 'outrigger version: unexpected argument "extra"'],
  ])("%j → exit 2: %s", async (argv, message) => {
    const r = await harness().run(argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain(`see \`outrigger ${argv[0]} --help\``);
    expect(r.stdout).toBe("");
  });
});
