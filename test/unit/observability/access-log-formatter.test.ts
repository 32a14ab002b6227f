import { hostname } from "node:os";
import { describe, expect, it } from "vitest";
import { HeaderList } from "../../../src/http/header-list.js";
import { ISTIO_JSON_LOG_FORMAT as ISTIO_DEFAULT_JSON_FORMAT, ISTIO_TEXT_LOG_FORMAT as ISTIO_DEFAULT_TEXT_FORMAT, textFormat as istioTextFormat } from "../../../src/config/istio/telemetry-access-log.js";
import { JsonFormatter } from "../../../src/observability/access-log/json-formatter.js";
import { TextFormatter } from "../../../src/observability/access-log/text-formatter.js";
import { ResponseFlag } from "../../../src/observability/stream-info.js";
import { httpInfo, START, tcpInfo } from "./access-log-fixture.js";

const fmt = (format: string, info = httpInfo()): string => new TextFormatter(format).format(info);

describe("Istio's default formats", () => {
  it("the TEXT format is Istio's EnvoyTextLogFormat byte for byte", () => {
    expect(ISTIO_DEFAULT_TEXT_FORMAT).toBe(
      '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%\n',
    );
  });

  it("renders a proxied request as Envoy does", () => {
    expect(fmt(ISTIO_DEFAULT_TEXT_FORMAT)).toBe(
      '[2026-11-30T17:00:00.123Z] "GET /api/items?page=2 HTTP/1.1" 200 - via_upstream - "-" 0 295 4 3 "-" "curl/8.5.0" "6d1e1f0e-3a2b-4c5d-9e8f-0a1b2c3d4e5f" "reviews:9080" "10.1.2.3:9080" outbound|9080||reviews.default.svc.cluster.local 10.1.0.5:41234 10.96.0.20:9080 10.1.0.5:50312 - default\n',
    );
  });

  it("renders a TCP connection with - for the request's fields", () => {
    expect(fmt(ISTIO_DEFAULT_TEXT_FORMAT, tcpInfo())).toBe(
      '[2026-11-30T17:00:00.123Z] "- - -" 0 - - - "-" 11 22 1500 - "-" "-" "-" "-" "10.1.2.9:3306" outbound|3306||mysql.db.svc.cluster.local 10.1.0.5:42000 10.96.0.30:3306 10.1.0.5:50400 - -\n',
    );
  });

  it("the JSON format has Istio's keys, typed values and nulls", () => {
    const line = new JsonFormatter(ISTIO_DEFAULT_JSON_FORMAT).format(httpInfo());
    // Alphabetical, as Istio's JSON lines print (the format reaches Envoy as a protobuf Struct).
    expect(line).toBe(
      '{"authority":"reviews:9080","bytes_received":0,"bytes_sent":295,"connection_termination_details":null,"downstream_local_address":"10.96.0.20:9080","downstream_remote_address":"10.1.0.5:50312","duration":4,"method":"GET","path":"/api/items?page=2","protocol":"HTTP/1.1","request_id":"6d1e1f0e-3a2b-4c5d-9e8f-0a1b2c3d4e5f","requested_server_name":null,"response_code":200,"response_code_details":"via_upstream","response_flags":"-","route_name":"default","start_time":"2026-11-30T17:00:00.123Z","upstream_cluster":"outbound|9080||reviews.default.svc.cluster.local","upstream_host":"10.1.2.3:9080","upstream_local_address":"10.1.0.5:41234","upstream_service_time":"3","upstream_transport_failure_reason":null,"user_agent":"curl/8.5.0","x_forwarded_for":null}\n',
    );
    expect(Object.keys(JSON.parse(line) as object)).toEqual(Object.keys(ISTIO_DEFAULT_JSON_FORMAT));
  });

  it("Istio appends the newline a user's TEXT format lacks, and an empty format is the default", () => {
    expect(istioTextFormat("%RESPONSE_CODE%")).toBe("%RESPONSE_CODE%\n");
    expect(istioTextFormat("%RESPONSE_CODE%\n")).toBe("%RESPONSE_CODE%\n");
    expect(istioTextFormat("")).toBe(ISTIO_DEFAULT_TEXT_FORMAT);
  });
});

describe("START_TIME", () => {
  it("defaults to Envoy's %Y-%m-%dT%H:%M:%E3SZ in UTC", () => {
    expect(fmt("%START_TIME%")).toBe("2026-11-30T17:00:00.123Z");
  });

  it("takes strftime specifiers with Envoy's %s and %f/%3f/%6f/%9f", () => {
    expect(fmt("%START_TIME(%Y/%m/%d %H:%M:%S.%3f %z)%")).toBe("2026/11/30 17:00:00.123 +0000");
    expect(fmt("%START_TIME(%s)%")).toBe(String(Math.floor(START / 1000)));
    expect(fmt("%START_TIME(%f|%3f|%6f|%9f|%1f)%")).toBe("123000000|123|123000|123000000|1");
    expect(fmt("%START_TIME(%E3S %Ez %F %T %a %b %j %Z %%)%")).toBe("00.123 +00:00 2026-11-30 17:00:00 Mon Nov 334 UTC %");
  });

  it("refuses an unknown specifier and a newline", () => {
    expect(() => fmt("%START_TIME(%Q)%")).toThrow(/unsupported specifier %Q/);
    expect(() => fmt("%START_TIME(%Y%n)%")).toThrow(/newline/);
  });
});

describe("header operators", () => {
  it("REQ reads a header case-insensitively, falls back to the alternative, truncates to :Z", () => {
    expect(fmt("%REQ(USER-AGENT)%")).toBe("curl/8.5.0");
    expect(fmt("%REQ(user-agent):4%")).toBe("curl");
    expect(fmt("%REQ(X-MISSING?USER-AGENT)%")).toBe("curl/8.5.0");
    expect(fmt("%REQ(X-MISSING)%")).toBe("-");
  });

  it("answers pseudo-headers from the record", () => {
    expect(fmt("%REQ(:METHOD)% %REQ(:PATH)% %REQ(:AUTHORITY)% %REQ(:SCHEME)% %REQ(HOST)%")).toBe("GET /api/items?page=2 reviews:9080 http reviews:9080");
    expect(fmt("%REQ_WITHOUT_QUERY(:PATH)% %REQ_WITHOUT_QUERY(X-ENVOY-ORIGINAL-PATH?:PATH):4%")).toBe("/api/items /api");
  });

  it("X-ENVOY-ORIGINAL-PATH wins when the route rewrote the path", () => {
    const h = httpInfo().requestHeaders!.clone();
    h.add("x-envoy-original-path", "/v1/items");
    expect(fmt("%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%", httpInfo({ requestHeaders: h }))).toBe("/v1/items");
  });

  it("RESP and TRAILER read the response's headers and trailers, :status the code", () => {
    expect(fmt("%RESP(content-type)% %RESP(:STATUS)% %TRAILER(grpc-status)%")).toBe("application/json 200 -");
    const info = httpInfo({ responseTrailers: HeaderList.from([["grpc-status", "0"]]) });
    expect(fmt("%TRAILER(GRPC-STATUS)% %TRAILER(GRPC-MESSAGE?GRPC-STATUS)%", info)).toBe("0 0");
  });

  it("everything from the request is - on a TCP connection", () => {
    expect(fmt("%REQ(:METHOD)% %REQ(:PATH)% %REQ(:AUTHORITY)% %REQ(USER-AGENT)% %RESP(:STATUS)% %PROTOCOL%", tcpInfo())).toBe("- - - - - -");
  });
});

describe("stream operators", () => {
  it("renders codes, bytes and attempts as numbers, 0 when no response was sent", () => {
    expect(fmt("%RESPONSE_CODE% %BYTES_RECEIVED% %BYTES_SENT% %UPSTREAM_REQUEST_ATTEMPT_COUNT%")).toBe("200 0 295 1");
    expect(fmt("%RESPONSE_CODE%", httpInfo({ responseCode: 0 }))).toBe("0");
  });

  it("renders durations in whole ms (truncated), - when the point was never reached", () => {
    expect(fmt("%DURATION% %REQUEST_DURATION% %REQUEST_TX_DURATION% %RESPONSE_DURATION% %RESPONSE_TX_DURATION%")).toBe("4 0 1 3 1");
    expect(fmt("%RESPONSE_DURATION% %RESPONSE_TX_DURATION% %REQUEST_TX_DURATION%", tcpInfo())).toBe("- - -");
  });

  it("renders flags in Envoy's order, long names, - when none", () => {
    const info = httpInfo({ responseFlags: [ResponseFlag.UpstreamRetryLimitExceeded, ResponseFlag.UpstreamConnectionFailure] });
    expect(fmt("%RESPONSE_FLAGS% %RESPONSE_FLAGS_LONG%", info)).toBe("UF,URX UpstreamConnectionFailure,UpstreamRetryLimitExceeded");
    expect(fmt("%RESPONSE_FLAGS% %RESPONSE_FLAGS_LONG%")).toBe("- -");
  });

  it("replaces whitespace in details and failure reasons unless ALLOW_WHITESPACES", () => {
    const info = httpInfo({ responseCodeDetails: "upstream_reset_before_response_started{connection failure}", upstreamTransportFailureReason: "delayed connect error: 111" });
    expect(fmt("%RESPONSE_CODE_DETAILS% %UPSTREAM_TRANSPORT_FAILURE_REASON%", info)).toBe("upstream_reset_before_response_started{connection_failure} delayed_connect_error:_111");
    expect(fmt("%RESPONSE_CODE_DETAILS(ALLOW_WHITESPACES)%", info)).toBe("upstream_reset_before_response_started{connection failure}");
    expect(fmt("%CONNECTION_TERMINATION_DETAILS%", httpInfo({ connectionTerminationDetails: "idle_timeout" }))).toBe("idle_timeout");
  });

  it("renders addresses with and without port, IPv6 in brackets", () => {
    const info = httpInfo({ downstreamRemoteAddress: "::1:50312", downstreamLocalAddress: "[fd00::2]:9080" });
    expect(fmt("%DOWNSTREAM_REMOTE_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% %DOWNSTREAM_REMOTE_PORT%", info)).toBe("[::1]:50312 ::1 50312");
    expect(fmt("%DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT% %DOWNSTREAM_LOCAL_PORT%", info)).toBe("[fd00::2]:9080 fd00::2 9080");
    expect(fmt("%DOWNSTREAM_DIRECT_REMOTE_ADDRESS% %UPSTREAM_HOST% %UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% %UPSTREAM_REMOTE_PORT% %UPSTREAM_LOCAL_ADDRESS_WITHOUT_PORT% %UPSTREAM_LOCAL_PORT%")).toBe(
      "10.1.0.5:50312 10.1.2.3:9080 10.1.2.3 9080 10.1.0.5 41234",
    );
    expect(fmt("%UPSTREAM_HOST% %UPSTREAM_LOCAL_ADDRESS% %UPSTREAM_REMOTE_PORT%", httpInfo({ upstreamHost: undefined, upstreamLocalAddress: undefined }))).toBe("- - -");
  });

  it("renders names, protocol, SNI, stream id, hostname and environment", () => {
    process.env["OUTRIGGER_AL_TEST"] = "pod-7";
    expect(fmt("%UPSTREAM_CLUSTER% %ROUTE_NAME% %VIRTUAL_CLUSTER_NAME% %FILTER_CHAIN_NAME% %PROTOCOL% %STREAM_ID%")).toBe(
      "outbound|9080||reviews.default.svc.cluster.local default - chain-http HTTP/1.1 6d1e1f0e-3a2b-4c5d-9e8f-0a1b2c3d4e5f",
    );
    expect(fmt("%REQUESTED_SERVER_NAME%", httpInfo({ requestedServerName: "reviews.default.svc" }))).toBe("reviews.default.svc");
    expect(fmt("%HOSTNAME% %ENVIRONMENT(OUTRIGGER_AL_TEST)% %ENVIRONMENT(OUTRIGGER_AL_TEST):3% %ENVIRONMENT(OUTRIGGER_AL_UNSET)%")).toBe(`${hostname()} pod-7 pod -`);
    expect(fmt("%UPSTREAM_CLUSTER% %ROUTE_NAME%", httpInfo({ clusterName: undefined, routeName: undefined }))).toBe("- -");
  });
});

describe("format parsing", () => {
  it("keeps literal text and %% as a literal %", () => {
    expect(fmt("100%% of %RESPONSE_CODE%!")).toBe("100% of 200!");
  });

  it.each([
    ["%NOT_AN_OPERATOR%", /unsupported command operator %NOT_AN_OPERATOR%/],
    ["50% done", /no valid command operator at position 2/],
    ["%RESPONSE_CODE", /no valid command operator at position 0/],
    ["%PROTOCOL(x)%", /%PROTOCOL% does not take parameters/],
    ["%REQ%", /%REQ% requires a parameter/],
    ["%DURATION:3%", /%DURATION% does not take a length/],
    ["%REQ(A?B?C)%", /More than 1 alternative header/],
    ["%RESPONSE_CODE_DETAILS(X)%", /ALLOW_WHITESPACES/],
    ["%UPSTREAM_WIRE_BYTES_SENT%", /unsupported command operator/],
  ])("refuses %j", (format, message) => {
    expect(() => new TextFormatter(format)).toThrow(message);
  });
});

describe("JSON format", () => {
  it("one operator keeps its type, null when unset; mixed values are strings with -; literals stay", () => {
    const f = new JsonFormatter({ code: "%RESPONSE_CODE%", port: "%DOWNSTREAM_REMOTE_PORT%", sni: "%REQUESTED_SERVER_NAME%", mixed: "%REQ(:METHOD)% %REQUESTED_SERVER_NAME%", fixed: "v1", env: "%ENVIRONMENT(OUTRIGGER_AL_UNSET)%" });
    expect(f.format(httpInfo())).toBe('{"code":200,"port":50312,"sni":null,"mixed":"GET -","fixed":"v1","env":"-"}\n');
  });

  it("escapes strings and keys", () => {
    const h = HeaderList.from([["user-agent", 'say "hi"\n\\']]);
    expect(new JsonFormatter({ 'a"b': "%REQ(USER-AGENT)%" }).format(httpInfo({ requestHeaders: h }))).toBe('{"a\\"b":"say \\"hi\\"\\n\\\\"}\n');
  });

  it("an empty format is an empty object", () => {
    expect(new JsonFormatter({}).format(httpInfo())).toBe("{}\n");
  });

  it("refuses a bad operator naming it", () => {
    expect(() => new JsonFormatter({ a: "%BOGUS%" })).toThrow(/unsupported command operator %BOGUS%/);
  });
});
