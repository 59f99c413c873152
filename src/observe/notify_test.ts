// Tests of the Slack notifier against a real local HTTP server: payload, triggers, failures as warnings (observability layer tests).
import assert from "node:assert/strict";
import { type NotifyEvent, notifySlack } from "./notify.ts";

interface Received {
  readonly method: string;
  readonly contentType: string | null;
  readonly body: unknown;
}

/** A local webhook that records every request and answers with `status`. */
async function withWebhook(
  status: number,
  fn: (url: string, received: Received[]) => Promise<void>,
): Promise<void> {
  const received: Received[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      received.push({
        method: req.method,
        contentType: req.headers.get("content-type"),
        body: await req.json(),
      });
      return new Response(status === 200 ? "ok" : "no", { status });
    },
  );
  try {
    await fn(`http://127.0.0.1:${server.addr.port}/services/T000/B000/secret-token`, received);
  } finally {
    await server.shutdown();
  }
}

const noEnv = () => undefined;

const failed: NotifyEvent = {
  runId: "orders_20260521T120000.123",
  exportName: "orders",
  status: "failed",
  rows: 42,
  durationMs: 1234,
  error: "connection refused",
  schemaChanged: true,
};

Deno.test("notifySlack posts the spec 7.4 payload for a failed run", async () => {
  await withWebhook(200, async (url, received) => {
    const result = await notifySlack({ webhook_url: url, on: ["failure"] }, noEnv, failed);
    assert.deepEqual(result, { sent: true, triggers: ["failure"] });
    assert.equal(received.length, 1);
    assert.equal(received[0]!.method, "POST");
    assert.equal(received[0]!.contentType, "application/json");
    assert.deepEqual(received[0]!.body, {
      attachments: [{
        color: "#e74c3c",
        title: "Rivet: orders_20260521T120000.123",
        text: "*orders* | status: `failed` | rows: 42 | duration: 1234ms\n" +
          "error: connection refused\nschema changed",
        footer: "rivet export notification",
      }],
    });
  });
});

Deno.test("notifySlack sends on schema_change with the amber colour and reads the URL from the env", async () => {
  await withWebhook(200, async (url, received) => {
    const env = (k: string) => (k === "SLACK_HOOK" ? url : undefined);
    const { error: _, ...succeeded } = { ...failed, status: "success" };
    const result = await notifySlack(
      { webhook_url_env: "SLACK_HOOK", on: ["schema_change"] },
      env,
      succeeded,
    );
    assert.deepEqual(result, { sent: true, triggers: ["schema_change"] });
    assert.deepEqual(received.map((r) => r.body), [{
      attachments: [{
        color: "#f39c12",
        title: "Rivet: orders_20260521T120000.123",
        text: "*orders* | status: `success` | rows: 42 | duration: 1234ms\nschema changed",
        footer: "rivet export notification",
      }],
    }]);
  });
});

Deno.test("notifySlack sends nothing when no trigger in `on` matches", async () => {
  await withWebhook(200, async (url, received) => {
    const ok = { ...failed, status: "success", schemaChanged: false };
    assert.deepEqual(
      await notifySlack({ webhook_url: url, on: ["failure", "schema_change"] }, noEnv, ok),
      {
        sent: false,
        triggers: [],
      },
    );
    assert.deepEqual(await notifySlack({ webhook_url: url }, noEnv, failed), {
      sent: false,
      triggers: [],
    });
    assert.deepEqual(
      (await notifySlack({ webhook_url: url, on: ["degraded"] }, noEnv, {
        ...ok,
        status: "degraded",
      }))
        .triggers,
      ["degraded"],
    );
    assert.equal(received.length, 1, "only the degraded event was posted");
  });
});

Deno.test("notifySlack turns a non-2xx answer into a warning without the webhook URL", async () => {
  await withWebhook(500, async (url, received) => {
    const result = await notifySlack({ webhook_url: url, on: ["failure"] }, noEnv, failed);
    assert.equal(result.sent, false);
    assert.equal(
      result.warning,
      "Slack notification for export 'orders' failed: the webhook answered HTTP 500",
    );
    assert.equal(received.length, 1);
  });
});

Deno.test("notifySlack turns an unreachable webhook into a warning without the webhook URL", async () => {
  // Bind a port, then close it so nothing listens there.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const url = `http://127.0.0.1:${port}/services/secret-token`;
  const result = await notifySlack({ webhook_url: url, on: ["failure"] }, noEnv, failed);
  assert.equal(result.sent, false);
  assert.match(result.warning ?? "", /^Slack notification for export 'orders' failed: /);
  assert.ok(!result.warning!.includes("secret-token"), result.warning);
  assert.ok(!result.warning!.includes(String(port)), result.warning);
});

Deno.test("notifySlack warns about a timeout after the configured time", async () => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    // Answer only once the client has given up.
    await new Promise((r) => req.signal.addEventListener("abort", r, { once: true }));
    return new Response("late");
  });
  try {
    const url = `http://127.0.0.1:${server.addr.port}/hook`;
    const result = await notifySlack({ webhook_url: url, on: ["failure"] }, noEnv, failed, {
      timeoutMs: 50,
    });
    assert.equal(
      result.warning,
      "Slack notification for export 'orders' failed: no answer within the timeout",
    );
  } finally {
    await server.shutdown();
  }
});

Deno.test("notifySlack warns and skips when the webhook env var is unset or no URL is configured", async () => {
  assert.deepEqual(await notifySlack({ webhook_url_env: "NOPE", on: ["failure"] }, noEnv, failed), {
    sent: false,
    triggers: ["failure"],
    warning: "Slack notification for export 'orders' skipped: environment variable NOPE is not set",
  });
  assert.equal(
    (await notifySlack({ on: ["failure"] }, noEnv, failed)).warning,
    "Slack notification for export 'orders' skipped: set notifications.slack.webhook_url or webhook_url_env",
  );
});
