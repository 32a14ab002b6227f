import { describe, expect, it } from "vitest";
import { HeaderList } from "../../../src/http/header-list.js";
import { formatGrpcStatus, hasGrpcContentType, httpToGrpcStatus, isGrpcContentType, responseGrpcMessage, responseGrpcStatus } from "../../../src/http/grpc/grpc-status.js";
import { percentEncodeGrpcMessage } from "../../../src/http/grpc/grpc-message.js";
import { TextFormatter } from "../../../src/observability/access-log/text-formatter.js";
import { JsonFormatter } from "../../../src/observability/access-log/json-formatter.js";
import { CelFilter } from "../../../src/observability/access-log/cel-filter.js";
import { httpInfo } from "../observability/access-log-fixture.js";

describe("what makes a request gRPC (Envoy's hasGrpcContentType)", () => {
  it.each([
    ["application/grpc", true],
    ["application/grpc+proto", true],
    ["application/grpc+json", true],
    ["application/grpc;charset=utf-8", false],
    ["application/grpc-web", false],
    ["application/grpc-web+proto", false],
    ["application/json", false],
    ["Application/grpc", false],
    [undefined, false],
  ])("%s → %s", (ct, want) => {
    expect(hasGrpcContentType(ct)).toBe(want);
  });

  it("telemetry's request_protocol also takes `;` parameters", () => {
    expect(isGrpcContentType("application/grpc;charset=utf-8")).toBe(true);
    expect(isGrpcContentType("application/grpc-web")).toBe(false);
  });
});

describe("httpToGrpcStatus: Envoy's table for local replies", () => {
  it.each([
    [400, 13],
    [401, 16],
    [403, 7],
    [404, 12],
    [429, 14],
    [502, 14],
    [503, 14],
    [504, 14],
    [200, 2],
    [408, 2],
    [500, 2],
    [507, 2],
  ])("HTTP %i → gRPC %i", (http, grpc) => {
    expect(httpToGrpcStatus(http)).toBe(grpc);
  });
});

describe("the response's grpc-status (Envoy's getGrpcStatus with the HTTP fallback)", () => {
  const h = (pairs: Array<[string, string]>): HeaderList => HeaderList.from(pairs);
  it("trailers first, then trailers-only headers, then the HTTP status mapped", () => {
    expect(responseGrpcStatus(h([["grpc-status", "5"]]), h([["grpc-status", "3"]]), 200)).toBe(5);
    expect(responseGrpcStatus(undefined, h([["grpc-status", "3"]]), 200)).toBe(3);
    expect(responseGrpcStatus(h([]), h([]), 503)).toBe(14);
    expect(responseGrpcStatus(undefined, undefined, 0)).toBeUndefined();
  });
  it("a grpc-status that is not a number is Envoy's InvalidCode", () => {
    expect(responseGrpcStatus(h([["grpc-status", "abc"]]), undefined, 200)).toBe(-1);
    expect(formatGrpcStatus(-1, "CAMEL_STRING")).toBe("18446744073709551615");
  });
  it("grpc-message from the trailers, or from a trailers-only response's headers", () => {
    expect(responseGrpcMessage(h([["grpc-status", "2"], ["grpc-message", "boom"]]), h([]))).toBe("boom");
    expect(responseGrpcMessage(undefined, h([["grpc-status", "14"], ["grpc-message", "no%20healthy"]]))).toBe("no%20healthy");
    expect(responseGrpcMessage(h([["grpc-status", "0"]]), h([["grpc-message", "stale"]]))).toBeUndefined();
  });
});

describe("grpc-message percent-encoding (Envoy's PercentEncoding::encode)", () => {
  it.each([
    ["no healthy upstream", "no healthy upstream"],
    ["100% sure", "100%25 sure"],
    ["tilde~", "tilde%7E"],
    ["line\nbreak", "line%0Abreak"],
    ["héllo", "h%C3%A9llo"],
    ["", ""],
  ])("%j → %j", (raw, enc) => {
    expect(percentEncodeGrpcMessage(raw)).toBe(enc);
  });
});

describe("%GRPC_STATUS% and response.grpc_status", () => {
  const grpcReq = HeaderList.from([
    ["content-type", "application/grpc"],
    ["te", "trailers"],
  ]);
  const fmt = (f: string, over: Parameters<typeof httpInfo>[0]): string => new TextFormatter(f).format(httpInfo(over));

  it("names the trailers' status in Envoy's three formats", () => {
    const info = { requestHeaders: grpcReq, responseTrailers: HeaderList.from([["grpc-status", "14"]]) };
    expect(fmt("%GRPC_STATUS% %GRPC_STATUS(CAMEL_STRING)% %GRPC_STATUS(SNAKE_STRING)% %GRPC_STATUS(NUMBER)%", info)).toBe("Unavailable Unavailable UNAVAILABLE 14");
  });

  it("reads a trailers-only response's headers, and maps the HTTP status when there is none", () => {
    expect(fmt("%GRPC_STATUS%", { requestHeaders: grpcReq, responseHeaders: HeaderList.from([["grpc-status", "1"]]) })).toBe("Canceled");
    expect(fmt("%GRPC_STATUS(SNAKE_STRING)%", { requestHeaders: grpcReq, responseHeaders: HeaderList.from([["grpc-status", "1"]]) })).toBe("CANCELLED");
    expect(fmt("%GRPC_STATUS%", { requestHeaders: grpcReq, responseHeaders: HeaderList.from([]), responseCode: 503 })).toBe("Unavailable");
  });

  it("JSON: NUMBER is a number, the names strings, null when not gRPC", () => {
    const info = httpInfo({ requestHeaders: grpcReq, responseTrailers: HeaderList.from([["grpc-status", "14"]]) });
    expect(JSON.parse(new JsonFormatter({ n: "%GRPC_STATUS(NUMBER)%", s: "%GRPC_STATUS%" }).format(info))).toEqual({ n: 14, s: "Unavailable" });
    expect(JSON.parse(new JsonFormatter({ n: "%GRPC_STATUS(NUMBER)%" }).format(httpInfo()))).toEqual({ n: null });
  });

  it("prints a user-defined code as its number", () => {
    expect(fmt("%GRPC_STATUS%", { requestHeaders: grpcReq, responseTrailers: HeaderList.from([["grpc-status", "42"]]) })).toBe("42");
  });

  it("is - for a request that is not gRPC", () => {
    expect(fmt("%GRPC_STATUS%", { responseTrailers: HeaderList.from([["grpc-status", "0"]]) })).toBe("-");
  });

  it("refuses an unknown format when the format is compiled", () => {
    expect(() => new TextFormatter("%GRPC_STATUS(LOUD)%")).toThrow(/CAMEL_STRING, SNAKE_STRING or NUMBER/);
  });

  it("CEL response.grpc_status: trailers, headers, else from the HTTP status", () => {
    const run = (expr: string, over: Parameters<typeof httpInfo>[0]): string => new CelFilter(expr).evaluate(httpInfo(over));
    expect(run("response.grpc_status == 5", { responseTrailers: HeaderList.from([["grpc-status", "5"]]) })).toBe("match");
    expect(run("response.grpc_status == 14", { responseHeaders: HeaderList.from([]), responseCode: 503 })).toBe("match");
    expect(run("response.grpc_status == 7", { responseHeaders: HeaderList.from([["grpc-status", "7"]]) })).toBe("match");
  });
});
