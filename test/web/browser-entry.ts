/// <reference lib="dom" />
/**
 * Browser entry for browser-core.test.ts: exposes the core's signature and bundle checks, bundled
 * with the web service's esbuild settings (node built-ins → oracle/web/browser/shims). Importing
 * it in node does nothing.
 */
import { hexToBytes } from "../../oracle/core/bytes.js";
import { verifyDeviceSignature, type KeyScheme } from "../../oracle/core/keys.js";
import { keccak256Hex } from "../../oracle/core/keccak.js";

if (typeof window !== "undefined")
  (window as any).sensorsealCore = {
    verify: (cases: { scheme: KeyScheme; publicKey: string; digest: string; signature: string }[]) =>
      cases.map((c) =>
        verifyDeviceSignature({
          scheme: c.scheme,
          publicKey: hexToBytes(c.publicKey),
          digest: hexToBytes(c.digest),
          signature: hexToBytes(c.signature),
        }),
      ),
    keccak: (texts: string[]) => texts.map((t) => keccak256Hex(new TextEncoder().encode(t))),
  };
