// Test helper: reads a Parquet file with parquet-wasm in a worker, so a malformed file that makes the reader spin can be abandoned (tests only).
import * as pq from "parquet-wasm";

const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent<Uint8Array>) => void) | null;
  postMessage(m: unknown, transfer?: Transferable[]): void;
};

scope.onmessage = (e) => {
  try {
    const ipc = pq.readParquet(e.data).intoIPCStream();
    scope.postMessage({ ipc }, [ipc.buffer as ArrayBuffer]);
  } catch (err) {
    scope.postMessage({ error: String(err) });
  }
};
