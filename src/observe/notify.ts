// Slack webhook notification after an export job (observability layer, spec 7.4).
//
// Never throws: every problem comes back as a warning string for the caller to log. The webhook
// URL is a secret and never appears in a returned message.
import type { NotifyTrigger, SlackConfig } from "../config/config_types.ts";

export type NotifyStatus = "success" | "failed" | "skipped" | "degraded" | "interrupted";

export interface NotifyEvent {
  readonly runId: string;
  readonly exportName: string;
  readonly status: NotifyStatus | string;
  readonly rows: number;
  readonly durationMs: number;
  readonly error?: string;
  readonly schemaChanged: boolean;
}

/** Environment lookup, e.g. `(k) => Deno.env.get(k)`. */
export type EnvLookup = (name: string) => string | undefined;

export interface NotifyResult {
  /** True when the webhook answered 2xx. */
  readonly sent: boolean;
  /** The triggers of `on` that matched the event (empty: nothing to send). */
  readonly triggers: readonly NotifyTrigger[];
  /** Set when a matching notification could not be sent. */
  readonly warning?: string;
}

export const NOTIFY_TIMEOUT_MS = 10_000;

/** The triggers of `on` that this event fires. */
export function matchingTriggers(
  on: readonly NotifyTrigger[],
  event: Pick<NotifyEvent, "status" | "schemaChanged">,
): NotifyTrigger[] {
  return on.filter((t) =>
    (t === "failure" && event.status === "failed") ||
    (t === "schema_change" && event.schemaChanged) ||
    (t === "degraded" && event.status === "degraded")
  );
}

/** The JSON body posted to the webhook. */
export function slackPayload(event: NotifyEvent): unknown {
  let text = `*${event.exportName}* | status: \`${event.status}\` | rows: ${event.rows}` +
    ` | duration: ${event.durationMs}ms`;
  if (event.error !== undefined) text += `\nerror: ${event.error}`;
  if (event.schemaChanged) text += "\nschema changed";
  return {
    attachments: [{
      color: event.status === "failed" ? "#e74c3c" : "#f39c12",
      title: `Rivet: ${event.runId}`,
      text,
      footer: "rivet export notification",
    }],
  };
}

/**
 * Posts the notification when a trigger in `config.on` matches. Returns what happened; a
 * `warning` for an unset URL, a non-2xx answer, a timeout or a transport error.
 */
export async function notifySlack(
  config: SlackConfig,
  env: EnvLookup,
  event: NotifyEvent,
  options: { readonly timeoutMs?: number } = {},
): Promise<NotifyResult> {
  const triggers = matchingTriggers(config.on ?? [], event);
  if (triggers.length === 0) return { sent: false, triggers };
  const where = `for export '${event.exportName}'`;
  let url = config.webhook_url;
  if (url === undefined && config.webhook_url_env !== undefined) {
    url = env(config.webhook_url_env);
    if (url === undefined || url === "") {
      return {
        sent: false,
        triggers,
        warning: `Slack notification ${where} skipped: environment variable ` +
          `${config.webhook_url_env} is not set`,
      };
    }
  }
  if (url === undefined || url === "") {
    return {
      sent: false,
      triggers,
      warning: `Slack notification ${where} skipped: set notifications.slack.webhook_url ` +
        "or webhook_url_env",
    };
  }
  const timeoutMs = options.timeoutMs ?? NOTIFY_TIMEOUT_MS;
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(slackPayload(event)),
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body?.cancel();
    if (res.status < 200 || res.status > 299) {
      return {
        sent: false,
        triggers,
        warning: `Slack notification ${where} failed: the webhook answered HTTP ${res.status}`,
      };
    }
    return { sent: true, triggers };
  } catch (err) {
    return { sent: false, triggers, warning: `Slack notification ${where} failed: ${reason(err)}` };
  }
}

/** Why a fetch failed, without the URL (which fetch errors may quote). */
function reason(err: unknown): string {
  if (err instanceof DOMException && (err.name === "TimeoutError" || err.name === "AbortError")) {
    return "no answer within the timeout";
  }
  if (err instanceof TypeError) {
    if (/invalid url|url parse/i.test(err.message)) return "the webhook URL is not a valid URL";
    return "could not reach the webhook (network error)";
  }
  return "unexpected error while posting";
}
