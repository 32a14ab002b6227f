import { describe, expect, it } from "vitest";
import { HeaderList } from "../../../src/http/header-list.js";
import { connectionTokens, stripHopByHop } from "../../../src/http/hop-by-hop.js";

describe("hop-by-hop headers", () => {
  it("reads Connection tokens exactly, not by substring", () => {
    expect(connectionTokens(HeaderList.from([["Connection", "Keep-Alive, Upgrade"]]))).toEqual({ close: false, keepAlive: true, upgrade: true });
    expect(connectionTokens(HeaderList.from([["Connection", "x-close-thing"]]))).toEqual({ close: false, keepAlive: false, upgrade: false });
    expect(connectionTokens(HeaderList.from([["connection", "keep-alive"], ["connection", "CLOSE"]]))).toMatchObject({ close: true });
  });

  it("strips hop-by-hop headers and those named by Connection, keeps te: trailers", () => {
    const h = HeaderList.from([
      ["Connection", "close, X-Secret"],
      ["X-Secret", "1"],
      ["Keep-Alive", "timeout=5"],
      ["TE", "trailers"],
      ["Upgrade", "websocket"],
      ["X-Keep", "yes"],
    ]);
    stripHopByHop(h, false);
    expect(h.names).toEqual(["TE", "X-Keep"]);
  });

  it("never lets Connection remove the headers framing and routing depend on", () => {
    const h = HeaderList.from([
      ["Connection", "Content-Length, Host, X-A"],
      ["Host", "x"],
      ["Content-Length", "3"],
      ["X-A", "1"],
    ]);
    stripHopByHop(h, false);
    expect(h.names).toEqual(["Host", "Content-Length"]);
  });

  it("reads tokens with SP/HTAB OWS only (NBSP is part of the token)", () => {
    expect(connectionTokens(HeaderList.from([["Connection", "\tclose "]]))).toMatchObject({ close: true });
    expect(connectionTokens(HeaderList.from([["Connection", "close\xa0"]]))).toMatchObject({ close: false });
  });
});
