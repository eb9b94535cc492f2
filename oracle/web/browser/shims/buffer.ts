/** `Buffer` for the browser bundle (injected by esbuild wherever a module uses the global). */
export { Buffer } from "buffer";
