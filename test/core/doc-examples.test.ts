import { describeDocExamples } from "../helpers/doc-examples.js";

describeDocExamples("oracle/core", new URL("../../oracle/core/", import.meta.url), [
  "errors",
  "address",
  "bytes",
  "keccak",
  "canonical",
  "eip712",
  "payload",
  "vocabulary",
  "reading",
  "merkle",
  "keys",
  "secp256k1-native",
  "signature-verify",
  "manifest",
  "receipt",
  "reward",
  "oracle-message",
  "bundle",
  "device-status",
]);
