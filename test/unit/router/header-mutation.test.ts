import { describe, expect, it } from "vitest";
import type { HeaderValueOption } from "../../../src/config/model/types.js";
import { HeaderList } from "../../../src/http/header-list.js";
import { applyHeaderMutations } from "../../../src/http/header-mutation.js";

const set = (key: string, value: string): HeaderValueOption => ({ key, value, appendAction: "OVERWRITE_IF_EXISTS_OR_ADD" });
const add = (key: string, value: string): HeaderValueOption => ({ key, value, appendAction: "APPEND_IF_EXISTS_OR_ADD" });
const pairs = (h: HeaderList) => h.names.map((n, i) => [n, h.values[i]]);

describe("applyHeaderMutations", () => {
  it("removes every occurrence, case-insensitively", () => {
    const h = HeaderList.from([["X-A", "1"], ["b", "2"], ["x-a", "3"]]);
    applyHeaderMutations(h, [], ["x-A"]);
    expect(pairs(h)).toEqual([["b", "2"]]);
  });

  it("set overwrites all values (keeping position) or adds", () => {
    const h = HeaderList.from([["X-Env", "a"], ["other", "o"], ["x-env", "b"]]);
    applyHeaderMutations(h, [set("x-env", "prod"), set("X-New", "n")], []);
    expect(h.getAll("x-env")).toEqual(["prod"]);
    expect(h.get("x-new")).toBe("n");
    expect(h.names.indexOf("x-new")).toBe(2); // added names are lower-case
  });

  it("add appends another line", () => {
    const h = HeaderList.from([["x-tag", "a"]]);
    applyHeaderMutations(h, [add("x-tag", "b"), add("x-fresh", "c")], []);
    expect(h.getAll("x-tag")).toEqual(["a", "b"]);
    expect(h.get("x-fresh")).toBe("c");
  });

  it("remove happens before add/set (remove-then-add re-adds)", () => {
    const h = HeaderList.from([["x-a", "old"]]);
    applyHeaderMutations(h, [add("x-a", "new")], ["x-a"]);
    expect(h.getAll("x-a")).toEqual(["new"]);
  });

  it("all overwrites apply before all appends, whatever the list order", () => {
    const h = HeaderList.from([["x-a", "orig"]]);
    applyHeaderMutations(h, [add("x-a", "appended"), set("x-a", "set")], []);
    expect(h.getAll("x-a")).toEqual(["set", "appended"]);
  });

  it("two sets of the same key: the last one wins", () => {
    const h = new HeaderList();
    applyHeaderMutations(h, [set("x-a", "1"), set("x-a", "2")], []);
    expect(h.getAll("x-a")).toEqual(["2"]);
  });

  it("skips empty values (Envoy keep_empty_value defaults to false)", () => {
    const h = HeaderList.from([["x-a", "keep"]]);
    applyHeaderMutations(h, [set("x-a", ""), add("x-b", "")], []);
    expect(pairs(h)).toEqual([["x-a", "keep"]]);
  });

  it("never touches pseudo-headers or host", () => {
    const h = HeaderList.from([["Host", "a"], [":path", "/"]]);
    applyHeaderMutations(h, [set("host", "b"), add(":path", "/x"), set(":authority", "c")], ["host", ":path"]);
    expect(pairs(h)).toEqual([["Host", "a"], [":path", "/"]]);
  });
});
