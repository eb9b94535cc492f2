/**
 * Browser stand-in for `node:module`: `createRequire` gives a `require` that finds nothing, so
 * oracle/core/secp256k1-native.ts finds no addon and the core runs its noble path for secp256k1 (the
 * native addon does not exist in a browser).
 *
 * @module
 */
export function createRequire(_url: string): (id: string) => never {
  return (id: string) => {
    throw new Error(`require(${JSON.stringify(id)}) is not available in the browser`);
  };
}

export default { createRequire };
