import assert from "node:assert/strict";
import { randomInt } from "node:crypto";
import { describe, it } from "node:test";

import { canonicalBytes, canonicalize, isCanonical, parseCanonical } from "../../oracle/core/canonical.js";
import { CanonicalizeError, NonCanonicalJsonError } from "../../oracle/core/errors.js";

const enc = new TextEncoder();
const canon = (text: string) => canonicalize(JSON.parse(text));

/** Random JSON values: strings from characters that need escapes and some that do not, numbers of every spelling, nesting. */
const chars = ["a", "Z", "0", "1", "/", "é", "€", "😀", "\n", '"', "\\", "\u0001", "\u007f", "\ufb33", " "];
const randomString = () => Array.from({ length: randomInt(6) }, () => chars[randomInt(chars.length)]).join("");
function randomValue(depth: number): unknown {
  switch (randomInt(depth > 3 ? 5 : 7)) {
    case 0:
      return [null, true, false][randomInt(3)];
    case 1:
      return (
        [0, -1, 1.5, 1e21, 1e-7, 123456789, -0.000001, Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, 2 ** -1074][randomInt(10)] *
        (randomInt(2) ? 1 : -1)
      );
    case 2:
      return Math.random() * 10 ** randomInt(-25, 25);
    case 3:
      return randomString();
    case 4:
      return String(randomInt(20));
    case 5:
      return Array.from({ length: randomInt(4) }, () => randomValue(depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = randomInt(5); i > 0; i--) o[randomInt(3) === 0 ? String(randomInt(20)) : randomString()] = randomValue(depth + 1);
      return o;
    }
  }
}

describe("canonicalize (RFC 8785)", () => {
  it("matches the RFC 8785 §3.2.2 example", () => {
    const input = String.raw`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }`;
    const expected = String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`;
    assert.equal(canon(input), expected);
    // RFC 8785 §3.2.4: the UTF-8 bytes of this output.
    const rfcHex = `
      7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72
      75 65 2c 66 61 6c 73 65 5d 2c 22 6e 75 6d 62 65 72 73 22 3a
      5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31
      65 2b 33 30 2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37
      5d 2c 22 73 74 72 69 6e 67 22 3a 22 e2 82 ac 24 5c 75 30 30
      30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d`;
    const bytes = canonicalBytes(JSON.parse(input));
    assert.deepEqual(bytes, enc.encode(expected));
    assert.deepEqual(bytes, new Uint8Array(Buffer.from(rfcHex.replace(/\s+/g, ""), "hex")));
  });

  it("sorts keys by UTF-16 code units (RFC 8785 §3.2.3 example)", () => {
    const input = String.raw`{
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis"
    }`;
    // (Object.keys would list the integer-like key "1" first, so read the order off the text.)
    const keys = [...canon(input).matchAll(/"((?:[^"\\]|\\.)*)":"/g)].map((m) => JSON.parse(`"${m[1]}"`) as string);
    assert.deepEqual(keys, ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\ud83d\ude00", "\ufb33"]);
    assert.equal(
      canon(input),
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","ö":"Latin Small Letter O With Diaeresis",' +
        '"€":"Euro Sign","😀":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it("matches the JCS reference test data (cyberphone/json-canonicalization testdata)", () => {
    const cases: [string, string, string][] = [
      [
        "structures",
        String.raw`{
          "1": {"f": {"f": "hi","F": 5} ,"\n": 56.0},
          "10": { },
          "": "empty",
          "a": { },
          "111": [ { } ],
          "A": { }
        }`,
        String.raw`{"":"empty","1":{"\n":56,"f":{"F":5,"f":"hi"}},"10":{},"111":[{}],"A":{},"a":{}}`,
      ],
      [
        "values",
        String.raw`{
          "numbers": [1E30, 4.50, 333333333.33333329, 2e-3, 0.000000000000000000000000001],
          "escaping": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
          "literals": [null, true, false]
        }`,
        String.raw`{"escaping":"€$\u000f\nA'B\"\\\\\"/","literals":[null,true,false],"numbers":[1e+30,4.5,333333333.3333333,0.002,1e-27]}`,
      ],
      [
        "weird",
        String.raw`{
          "\u20ac": "Euro Sign",
          "1": "One",
          "\u0080": "Control\u007f",
          "\ud83d\ude02": "Smiley",
          "\u00f6": "Latin Small Letter O With Diaeresis",
          "\ufb33": "Hebrew Letter Dalet With Dagesh",
          "</script>": "Browser Challenge"
        }`,
        '{"1":"One","</script>":"Browser Challenge","\u0080":"Control\u007f","ö":"Latin Small Letter O With Diaeresis",' +
          '"€":"Euro Sign","😂":"Smiley","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
      ],
      [
        "french",
        `{
          "peach": "This sorting order",
          "péché": "is wrong according to French",
          "pêche": "but canonicalization MUST",
          "sin":   "ingnore locale"
        }`,
        '{"peach":"This sorting order","péché":"is wrong according to French","pêche":"but canonicalization MUST","sin":"ingnore locale"}',
      ],
      ["unicode", String.raw`{"Unnormalized Unicode":"\u1e0d\u0307"}`, '{"Unnormalized Unicode":"\u1e0d\u0307"}'],
    ];
    for (const [name, input, expected] of cases) {
      assert.equal(canon(input), expected, name);
      assert.ok(isCanonical(enc.encode(expected)), name);
    }
  });

  it("serializes numbers as RFC 8785 Appendix B", () => {
    // IEEE 754 bits → expected JCS text.
    const table: [string, string][] = [
      ["0000000000000000", "0"],
      ["8000000000000000", "0"],
      ["0000000000000001", "5e-324"],
      ["8000000000000001", "-5e-324"],
      ["7fefffffffffffff", "1.7976931348623157e+308"],
      ["ffefffffffffffff", "-1.7976931348623157e+308"],
      ["4340000000000000", "9007199254740992"],
      ["c340000000000000", "-9007199254740992"],
      ["4430000000000000", "295147905179352830000"],
      ["44b52d02c7e14af5", "9.999999999999997e+22"],
      ["44b52d02c7e14af6", "1e+23"],
      ["44b52d02c7e14af7", "1.0000000000000001e+23"],
      ["444b1ae4d6e2ef4e", "999999999999999700000"],
      ["444b1ae4d6e2ef4f", "999999999999999900000"],
      ["444b1ae4d6e2ef50", "1e+21"],
      ["3eb0c6f7a0b5ed8c", "9.999999999999997e-7"],
      ["3eb0c6f7a0b5ed8d", "0.000001"],
      ["41b3de4355555553", "333333333.3333332"],
      ["41b3de4355555554", "333333333.33333325"],
      ["41b3de4355555555", "333333333.3333333"],
      ["41b3de4355555556", "333333333.3333334"],
      ["41b3de4355555557", "333333333.33333343"],
      ["becbf647612f3696", "-0.0000033333333333333333"],
      ["43143ff3c1cb0959", "1424953923781206.2"],
    ];
    for (const [bits, expected] of table) {
      const x = Buffer.from(bits, "hex").readDoubleBE();
      assert.equal(canonicalize(x), expected, bits);
      assert.equal(canonicalize([x]), `[${expected}]`, bits);
    }
    for (const bits of ["7fffffffffffffff", "7ff0000000000000", "fff0000000000000"]) {
      assert.throws(() => canonicalize(Buffer.from(bits, "hex").readDoubleBE()), { name: "CanonicalizeError" }, bits);
    }
  });

  it("rejects values outside I-JSON", () => {
    class Point {
      x = 1;
    }
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const bad: [string, unknown][] = [
      ["NaN", { a: NaN }],
      ["Infinity", [Infinity]],
      ["-Infinity", -Infinity],
      ["lone high surrogate", "a\ud800"],
      ["lone low surrogate", ["\udc00b"]],
      ["reversed pair", "\ude00\ud83d"],
      ["lone surrogate key", { "\ud800": 1 }],
      ["bigint", { n: 1n }],
      ["undefined top level", undefined],
      ["undefined in array", [1, undefined]],
      ["hole in array", [1, , 3]], // eslint-disable-line no-sparse-arrays
      ["function", { f: () => 1 }],
      ["symbol", Symbol("s")],
      ["symbol key", { [Symbol("s")]: 1 }],
      ["Date", new Date(0)],
      ["Map", new Map()],
      ["class instance", new Point()],
      ["Uint8Array", new Uint8Array(1)],
      ["cycle", cyclic],
    ];
    for (const [what, value] of bad) {
      assert.throws(
        () => canonicalize(value),
        (err: unknown) => err instanceof CanonicalizeError && err.name === "CanonicalizeError" && err.code === "NOT_JSON_VALUE",
        what,
      );
    }
    assert.throws(() => canonicalize({ a: [{ b: NaN }] }), { details: { reason: "number NaN is not finite", path: "$.a[0].b" } });
  });

  it("accepts null-prototype objects, repeated (non-cyclic) references, and omits undefined members", () => {
    const shared = { x: 1 };
    const bare = Object.create(null) as Record<string, unknown>;
    bare.b = 2;
    bare.a = shared;
    assert.equal(canonicalize({ bare, again: shared, gone: undefined, z: -0 }), '{"again":{"x":1},"bare":{"a":{"x":1},"b":2},"z":0}');
    assert.equal(canonicalize("\ud83d\ude00"), '"😀"');
    assert.equal(canonicalize("\u2028\u2029"), '"\u2028\u2029"');
    assert.equal(canonicalize("\u001f\b\t\f\u0000"), '"\\u001f\\b\\t\\f\\u0000"');
  });
});

describe("isCanonical / parseCanonical", () => {
  it("rejects every non-canonical spelling", () => {
    const notCanonical: (string | Uint8Array)[] = [
      '{"a": 1}',
      '{ "a":1}',
      '{"a":1}\n',
      '{"b":1,"a":2}',
      '{"a":1,"a":1}',
      '{"a":1.0}',
      '{"a":1E3}',
      '{"a":1e3}',
      '{"a":-0}',
      '{"a":0.10}',
      '{"a":"\\u0041"}',
      '{"a":"\\/"}',
      '{"a":"\\u001F"}',
      '{"a":"\\ud800"}',
      '{"a":12345678901234567890}',
      "[1,2,]",
      "{'a':1}",
      "",
      "\ufeff{}",
      new Uint8Array([0x22, 0xc3, 0x28, 0x22]), // invalid UTF-8
      new Uint8Array([0x22, 0xed, 0xa0, 0x80, 0x22]), // UTF-8-encoded surrogate
    ];
    for (const text of notCanonical) {
      const bytes = typeof text === "string" ? enc.encode(text) : text;
      assert.equal(isCanonical(bytes), false, String(text));
      assert.throws(() => parseCanonical(bytes), { name: "NonCanonicalJsonError", code: "NON_CANONICAL_JSON" });
    }
    assert.throws(
      () => parseCanonical(enc.encode('{"b":1,"a":2}')),
      (e: unknown) => e instanceof NonCanonicalJsonError,
    );
  });

  it("accepts canonical text, including scalars", () => {
    for (const text of ['{"a":1,"b":[true,false,null]}', "1", '"x"', "[]", "{}", "null", '{"":0}', '{"a":1e+21}']) {
      assert.ok(isCanonical(enc.encode(text)), text);
    }
    assert.deepEqual(parseCanonical(enc.encode('{"a":[1,"2"]}')), { a: [1, "2"] });
  });

  it("round-trips random JSON values", () => {
    for (let i = 0; i < 300; i++) {
      const value = randomValue(0);
      const bytes = canonicalBytes(value);
      assert.ok(isCanonical(bytes));
      const back = parseCanonical(bytes);
      assert.equal(canonicalize(back), canonicalize(value));
      assert.deepEqual(back, JSON.parse(JSON.stringify(value)));
    }
  });

  it("answers exactly what re-serializing and comparing answers, on mutants of canonical text (checked in place)", () => {
    // The definition parseCanonical checks in place: the text is canonicalize(JSON.parse(text)).
    const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
    const reference = (bytes: Uint8Array): boolean => {
      try {
        const text = strict.decode(bytes);
        return canonicalize(JSON.parse(text)) === text;
      } catch {
        return false;
      }
    };
    const fixed = [
      '{"a":1e400}',
      '{"a":-1e400}',
      "1e-400",
      '"\\ud83d\\ude00"',
      '"😀"',
      '{"\\u0061":1}',
      '{"\\n":1,"a":2}',
      '{"a":2,"\\n":1}',
      '{"1":1,"b":2}',
      '{"b":2,"1":1}',
      '{"10":1,"9":2}',
      '{"9":2,"10":1}',
      '{"a":1,"ab":2}',
      '{"ab":2,"a":1}',
      '{"a":1,"a":2}',
      '{"\\n":1,"\\n":2}',
      '{"\\n":1,"\\u000a":2}',
      '{"\\u001f":1,"\\u001F":2}',
      '{"":1,"\\"":2}',
      '{"\\"":2,"":1}',
      '{"\\\\":1,"a":2}',
      '{"a":"\\u007f"}',
      '{"a":"\\u0008"}',
      '{"a":"\\b\\t\\n\\f\\r\\u000b\\u000e"}',
      '{"a":"\\u2028"}',
      '["\\u00e9"]',
      "[0,-0,0.0,1,1.5,-1.5e-7,1e21,1e+21,1E+21,100,1e2]",
      "[9007199254740993,9007199254740992,0.1,0.10,1.0e1]",
      "[true,false,null]",
      "[true ,false]",
      " []",
      "[] ",
      '[[],{},[{}],{"a":[]}]',
      "[[] ,{}]",
      '{"a":{} }',
      "\ufeff[]",
      `${"[".repeat(300)}1${"]".repeat(300)}`,
      `${"[".repeat(300)}1 ${"]".repeat(300)}`,
      `${"[".repeat(300)}1${"]".repeat(299)} ]`,
      `${'{"a":'.repeat(300)}1${"}".repeat(300)}`,
      `${"[".repeat(20_000)}${"]".repeat(20_000)}`,
    ];
    const pieces = [
      " ",
      "\n",
      "\t",
      "\\",
      "\\u0041",
      "\\u00e9",
      "\\u001F",
      "\\/",
      "0",
      "1",
      ".0",
      "e1",
      "E",
      "-",
      '"',
      ",",
      ":",
      "{}",
      "[]",
      '"a":1,',
    ];
    const mutate = (text: string): string => {
      const at = randomInt(text.length + 1);
      switch (randomInt(6)) {
        case 0: // insert a piece
          return text.slice(0, at) + pieces[randomInt(pieces.length)] + text.slice(at);
        case 1: // replace a character with a piece
          return text.slice(0, at) + pieces[randomInt(pieces.length)] + text.slice(at + 1);
        case 2: // delete a character
          return text.slice(0, at) + text.slice(at + 1);
        case 3: // another key order, or whitespace: JSON.stringify of the value
          try {
            return JSON.stringify(JSON.parse(text), randomInt(2) === 0 ? undefined : null, randomInt(3));
          } catch {
            return `${text} `;
          }
        case 4: // respell one number
          return text.replace(
            /-?\d+(\.\d+)?(e[+-]?\d+)?/i,
            (m) => [`${m}.0`, `${m}e0`, `0${m}`, `${m}0`, m.toUpperCase(), `${Number(m) * 10}e-1`][randomInt(6)],
          );
        default: // swap two adjacent characters
          return at + 1 < text.length ? text.slice(0, at) + text[at + 1] + text[at] + text.slice(at + 2) : text;
      }
    };
    const texts = [...fixed];
    for (let i = 0; i < 400; i++) {
      const canonical = canonicalize(randomValue(0));
      texts.push(canonical);
      let text = canonical;
      for (let k = 0; k < 5; k++) texts.push((text = mutate(text)));
    }
    let accepted = 0;
    for (const text of texts) {
      const bytes = enc.encode(text);
      const expected = reference(bytes);
      assert.equal(isCanonical(bytes), expected, JSON.stringify(text));
      if (expected) accepted++;
    }
    // Both answers are well represented (the mutants are not all rejected).
    assert.ok(accepted > 400 && accepted < texts.length - 400, `${accepted} accepted of ${texts.length}`);
  });
});
