// --intercept and its companion flags → Bootstrap.intercept → TranslateOptions.intercept; every
// usage error names the flag (or the environment variable) at fault.

import { describe, expect, it } from "vitest";
import { parseRunFlags, translateOptionsFrom, translationFromFlags, runCommandSpec } from "../../../src/bootstrap/parse-run-flags.js";
import { parseFlags, renderHelp } from "../../../src/bootstrap/flag-parser.js";
import { ErrorCode } from "../../../src/common/errors.js";

const ctx = { env: {}, cpuCount: () => 2, reusePortBalances: () => true };
const parse = (argv: string[], env: Record<string, string> = {}) => parseRunFlags(["--config", "a.yaml", ...argv], { ...ctx, env });

function usage(argv: string[], env: Record<string, string> = {}): string {
  try {
    parse(argv, env);
  } catch (e) {
    expect((e as { code: string }).code).toBe(ErrorCode.Usage);
    return (e as Error).message;
  }
  throw new Error("expected a usage error");
}

describe("--intercept flags", () => {
  it("off by default: no interception in the bootstrap or the translate options", () => {
    const b = parse([]);
    expect(b?.intercept).toBeUndefined();
    expect("intercept" in translateOptionsFrom(translationFromFlags(parseFlags(runCommandSpec, ["--config", "a"]), {}))).toBe(false);
  });

  it("--intercept alone: istio-iptables' defaults (15001, 15006, REDIRECT, uid 1337)", () => {
    expect(parse(["--intercept"])?.intercept).toEqual({ outboundPort: 15001, inboundPort: 15006, mode: "REDIRECT", proxyUid: 1337 });
  });

  it("every companion flag, both spellings; the translate options carry it", () => {
    const argv = ["--config", "a", "--intercept", "--outbound-port=16001", "--inbound-port", "16006", "--interception-mode", "TPROXY", "--proxy-uid=1500"];
    const want = { outboundPort: 16001, inboundPort: 16006, mode: "TPROXY", proxyUid: 1500 };
    expect(parseRunFlags(argv, ctx)?.intercept).toEqual(want);
    expect(translateOptionsFrom(translationFromFlags(parseFlags(runCommandSpec, argv), {})).intercept).toEqual(want);
  });

  it("the mode falls back to $ISTIO_META_INTERCEPTION_MODE (what Istio's injector sets); the flag wins", () => {
    expect(parse(["--intercept"], { ISTIO_META_INTERCEPTION_MODE: "TPROXY" })?.intercept?.mode).toBe("TPROXY");
    expect(parse(["--intercept", "--interception-mode", "REDIRECT"], { ISTIO_META_INTERCEPTION_MODE: "TPROXY" })?.intercept?.mode).toBe("REDIRECT");
    expect(parse(["--intercept"], { ISTIO_META_INTERCEPTION_MODE: "" })?.intercept?.mode).toBe("REDIRECT");
    // Without --intercept the variable is not read at all.
    expect(parse([], { ISTIO_META_INTERCEPTION_MODE: "bogus" })?.intercept).toBeUndefined();
  });

  it("$ISTIO_DUAL_STACK (as istio-agent and istio-iptables read it, Go ParseBool) makes the interception dual-stack", () => {
    expect(parse(["--intercept"], { ISTIO_DUAL_STACK: "true" })?.intercept?.dualStack).toBe(true);
    expect(parse(["--intercept"], { ISTIO_DUAL_STACK: "1" })?.intercept?.dualStack).toBe(true);
    expect(parse(["--intercept"], { ISTIO_DUAL_STACK: "false" })?.intercept).toEqual({ outboundPort: 15001, inboundPort: 15006, mode: "REDIRECT", proxyUid: 1337 });
    expect(usage(["--intercept"], { ISTIO_DUAL_STACK: "yes" })).toBe('$ISTIO_DUAL_STACK: expected true or false, got "yes"');
  });

  it("usage errors", () => {
    expect(usage(["--outbound-port", "16001"])).toBe("--outbound-port needs --intercept");
    expect(usage(["--proxy-uid", "1"])).toBe("--proxy-uid needs --intercept");
    expect(usage(["--intercept", "--outbound-port", "0"])).toBe("--outbound-port: 0 is out of range 1..65535");
    expect(usage(["--intercept", "--inbound-port", "70000"])).toBe("--inbound-port: 70000 is out of range 1..65535");
    expect(usage(["--intercept", "--inbound-port", "x"])).toBe('--inbound-port: expected an integer, got "x"');
    expect(usage(["--intercept", "--inbound-port", "15001"])).toBe("--outbound-port and --inbound-port must differ, both are 15001");
    expect(usage(["--intercept", "--interception-mode", "redirect"])).toBe('--interception-mode: expected REDIRECT or TPROXY, got "redirect"');
    expect(usage(["--intercept", "--interception-mode", "NONE"])).toBe("--interception-mode: NONE means no capture: leave --intercept off");
    expect(usage(["--intercept"], { ISTIO_META_INTERCEPTION_MODE: "NONE" })).toBe("$ISTIO_META_INTERCEPTION_MODE: NONE means no capture: leave --intercept off");
    expect(usage(["--intercept", "--proxy-uid=-1"])).toBe('--proxy-uid: expected an integer, got "-1"');
  });

  it("--help lists each flag with its default", () => {
    const help = renderHelp(runCommandSpec);
    for (const text of ["--intercept", "--outbound-port <port>", "--inbound-port <port>", "--interception-mode <REDIRECT|TPROXY>", "--proxy-uid <uid>", "$ISTIO_META_INTERCEPTION_MODE, else REDIRECT", "dual-stack (also on ::) when $ISTIO_DUAL_STACK is true"]) expect(help).toContain(text);
  });
});
