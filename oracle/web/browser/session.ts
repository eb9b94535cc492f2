/// <reference lib="dom" />
/**
 * The dashboard's sign-in panel: a consumer signs in with their own platform consumer API key (the
 * web service checks it against the platform and keeps it server-side behind an HttpOnly session
 * cookie; the page never sees it again), sees that they are signed in, and signs out.
 *
 * `#session-message` carries a machine-readable `data-code`: SIGNED_OUT, SIGNED_IN, SIGNING_IN,
 * SESSION_ENDED (the session expired or the platform stopped accepting the key), or the service's
 * error code (UNAUTHORIZED for a wrong key, FORBIDDEN for a key that may not read raw data,
 * INVALID_BODY, NETWORK, …). `body[data-session]` is `signed-in` or `signed-out`.
 *
 * @module
 */
import { api } from "./common.js";

/** The panel's controls. */
export interface SessionPanel {
  /** Whether the page is signed in. */
  readonly signedIn: boolean;
  /** Asks the service (GET /api/session) and shows the answer. */
  refresh(): Promise<boolean>;
  /** The service answered 401 on a raw-data route: the session is gone. */
  ended(): void;
}

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

/** Wires the sign-in form and the sign-out button; `onChange` runs after each change of state. */
export function sessionPanel(onChange: (signedIn: boolean) => void): SessionPanel {
  const form = $<HTMLFormElement>("sign-in");
  const keyField = $<HTMLInputElement>("api-key");
  const signedInBox = $("signed-in");
  const message = $("session-message");
  let signedIn = false;

  const say = (kind: "ok" | "warn" | "error" | "info", code: string, text: string) => {
    message.dataset.kind = kind;
    message.dataset.code = code;
    message.textContent = text;
  };
  const show = (state: boolean) => {
    const changed = state !== signedIn || document.body.dataset.session === undefined;
    signedIn = state;
    document.body.dataset.session = state ? "signed-in" : "signed-out";
    form.hidden = state;
    signedInBox.hidden = !state;
    if (changed) onChange(state);
  };

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void (async () => {
      const apiKey = keyField.value.trim();
      if (apiKey === "") return say("error", "INVALID_BODY", "Enter your platform consumer API key.");
      say("info", "SIGNING_IN", "Checking the key with the platform…");
      const answer = await api<{ signedIn: boolean }>("/api/session", { method: "POST", body: { apiKey } });
      keyField.value = "";
      if (!answer.ok) {
        const text =
          answer.code === "UNAUTHORIZED"
            ? "The platform does not accept this API key."
            : answer.code === "FORBIDDEN"
              ? `This key may not read raw data: ${answer.message}`
              : `Sign-in failed: ${answer.message}`;
        say("error", answer.code, text);
        return show(false);
      }
      say("ok", "SIGNED_IN", "Signed in: values and proofs are read from the platform with your key.");
      show(true);
    })();
  });

  $("sign-out").addEventListener("click", () => {
    void (async () => {
      const answer = await api("/api/session", { method: "DELETE" });
      if (!answer.ok) return say("error", answer.code, `Sign-out failed: ${answer.message}`);
      say("info", "SIGNED_OUT", "Signed out. Sign in with your platform consumer API key to see values.");
      show(false);
    })();
  });

  return {
    get signedIn() {
      return signedIn;
    },
    async refresh() {
      const answer = await api<{ signedIn: boolean }>("/api/session");
      const state = answer.ok && answer.body.signedIn;
      if (state) say("ok", "SIGNED_IN", "Signed in: values and proofs are read from the platform with your key.");
      else say("info", "SIGNED_OUT", "Sign in with your platform consumer API key to see values.");
      show(state);
      return state;
    },
    ended() {
      say("warn", "SESSION_ENDED", "Your session ended (expired, or the platform no longer accepts the key): sign in again.");
      show(false);
    },
  };
}
