import { describe, expect, it } from "vitest";
import { HeaderList } from "../../../src/http/header-list.js";
import { CelFilter } from "../../../src/observability/access-log/cel-filter.js";
import { ResponseFlag } from "../../../src/observability/stream-info.js";
import { httpInfo, tcpInfo } from "./access-log-fixture.js";

const run = (expr: string, info = httpInfo()): string => new CelFilter(expr).evaluate(info);

describe("access log filter expressions", () => {
  it.each([
    ["response.code >= 400", "no-match"],
    ["response.code == 200", "match"],
    ["response.code != 200", "no-match"],
    ["response.code < 300 && request.method == 'GET'", "match"],
    ["response.code >= 500 || request.method == \"GET\"", "match"],
    ["!(response.code == 200)", "no-match"],
    ["request.path.startsWith('/api/')", "match"],
    ["request.url_path.endsWith('/items')", "match"],
    ["request.host.contains('reviews')", "match"],
    ["request.path.matches('^/api/[a-z]+')", "match"],
    ["matches(request.url_path, 'items$')", "match"],
    ["request.method in ['GET', 'HEAD']", "match"],
    ["response.code in [500, 503]", "no-match"],
    ["request.headers['user-agent'] == 'curl/8.5.0'", "match"],
    ["request.headers['User-Agent'].startsWith('curl')", "match"],
    ["'x-request-id' in request.headers", "match"],
    ["has(request.headers.host)", "match"],
    ["has(request.headers.x_debug)", "no-match"],
    ["has(request.referer)", "no-match"],
    ["response.headers['content-type'] == 'application/json'", "match"],
    ["request.query == 'page=2'", "match"],
    ["request.scheme == 'http' && request.protocol == 'HTTP/1.1'", "match"],
    ["response.code_details == 'via_upstream'", "match"],
    ["response.flags == 0", "match"],
    ["xds.cluster_name == 'outbound|9080||reviews.default.svc.cluster.local' && xds.route_name == 'default'", "match"],
    ["upstream.address == '10.1.2.3:9080' && upstream.port == 9080", "match"],
    ["source.address.startsWith('10.1.0.5:') && destination.port == 9080", "match"],
    ["size(request.path) == 17 && request.path.size() == 17", "match"],
    ["int(response.headers['x-envoy-upstream-service-time']) > 2", "match"],
    ["string(response.code) == '200'", "match"],
    ["response.code == 200 ? request.method == 'GET' : false", "match"],
    ["response.code >= 200u && response.code < 3.0e2", "match"],
    ["response.code == -1", "no-match"],
    ["response.code == '200'", "no-match"],
  ])("%s → %s", (expr, want) => {
    expect(run(expr)).toBe(want);
  });

  it("response.flags is Envoy's bit field", () => {
    expect(run("response.flags == 256", httpInfo({ responseFlags: [ResponseFlag.NoRouteFound] }))).toBe("match");
  });

  it("a runtime error makes the filter false, never throws", () => {
    expect(run("request.headers['x-missing'] == 'on'")).toBe("error");
    expect(run("response.code > 'a'")).toBe("error");
    expect(run("request.method.startsWith(1)")).toBe("error");
    expect(run("response.code")).toBe("error");
    expect(run("request.method == 'GET'", tcpInfo())).toBe("error");
  });

  it("errors are absorbed by && and || as in CEL", () => {
    expect(run("request.headers['x-missing'] == 'on' || response.code == 200")).toBe("match");
    expect(run("response.code == 200 || request.headers['x-missing'] == 'on'")).toBe("match");
    expect(run("request.headers['x-missing'] == 'on' && response.code == 500")).toBe("no-match");
    expect(run("request.headers['x-missing'] == 'on' && response.code == 200")).toBe("error");
  });

  it("response.code is absent when no response was sent", () => {
    expect(run("has(response.code)", httpInfo({ responseCode: 0 }))).toBe("no-match");
    expect(run("response.code >= 400 || response.flags != 0", httpInfo({ responseCode: 0, responseFlags: [ResponseFlag.DownstreamConnectionTermination] }))).toBe("match");
  });

  it("headers with repeated values are joined with a comma", () => {
    const h = HeaderList.from([["x-tag", "a"], ["x-tag", "b"]]);
    expect(run("request.headers['x-tag'] == 'a,b'", httpInfo({ requestHeaders: h }))).toBe("match");
  });

  it.each([
    ["response.code >=", /unexpected end of expression/],
    ["response.code + 1 > 2", /arithmetic \('\+' at position 14\) is not supported/],
    ["foo.bar == 1", /unknown identifier 'foo'/],
    ["request.time > 0", /attribute 'request.time' is not supported/],
    ["connection.mtls", /attribute 'connection.mtls' is not supported/],
    ["request.path.lowerAscii() == 'x'", /function 'lowerAscii' is not supported/],
    ["request.path.matches(request.host)", /matches\(\) needs a string literal pattern/],
    ["request.path.matches('[')", /invalid regular expression/],
    ["{'a': 1}", /map literals/],
    ["r'raw' == 'raw'", /r-prefixed string literals are not supported/],
    ["'unterminated", /unterminated string/],
    ["response.code = 200", /unexpected character "="/],
    ["has(request)", /has\(\) takes one field selection/],
    ["response.code == 200 )", /unexpected input at position 21/],
  ])("refuses %j naming the construct", (expr, message) => {
    expect(() => new CelFilter(expr)).toThrow(message);
  });
});
