import { describe, expect, it } from "vitest";
import { sessionIdOfDer } from "../../../src/tls/tls-session-id.js";

describe("sessionIdOfDer", () => {
  it("reads the fourth field of OpenSSL's SSL_SESSION (long-form lengths too)", () => {
    const id = Buffer.alloc(32, 0xab);
    const body = Buffer.concat([Buffer.from([0x02, 0x01, 0x01, 0x02, 0x02, 0x03, 0x03, 0x04, 0x02, 0xc0, 0x2b, 0x04, 0x20]), id, Buffer.from([0x04, 0x02, 0, 0]), Buffer.alloc(200)]);
    const der = Buffer.concat([Buffer.from([0x30, 0x81, body.length]), body]);
    expect(sessionIdOfDer(der)).toBe("ab".repeat(32));
  });

  it("'' for an empty id, a truncated or foreign encoding", () => {
    expect(sessionIdOfDer(Buffer.from([0x30, 0x0b, 0x02, 0x01, 0x01, 0x02, 0x02, 0x03, 0x03, 0x04, 0x00, 0x04, 0x00]))).toBe("");
    expect(sessionIdOfDer(Buffer.from([0x30, 0x05, 0x02, 0x01]))).toBe("");
    expect(sessionIdOfDer(Buffer.from([0x31, 0x00]))).toBe("");
    expect(sessionIdOfDer(Buffer.alloc(0))).toBe("");
  });
});

describe("sessionIdOfDer with Node 24's client session wrapper", () => {
  it("skips `\\0nodejs:tls:session:1\\0`, the 2-byte server name length and the name", () => {
    const der = Buffer.from([0x30, 0x0d, 0x02, 0x01, 0x01, 0x02, 0x02, 0x03, 0x03, 0x04, 0x00, 0x04, 0x02, 0x12, 0x34]);
    const wrapped = Buffer.concat([Buffer.from("\0nodejs:tls:session:1\0"), Buffer.from([0x00, 0x09]), Buffer.from("localhost"), der]);
    expect(sessionIdOfDer(wrapped)).toBe("1234");
    expect(sessionIdOfDer(wrapped.subarray(0, 25))).toBe("");
  });
});
