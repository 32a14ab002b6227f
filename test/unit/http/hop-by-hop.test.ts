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
});
